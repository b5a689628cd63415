/*
 * cli_bench.c — `zeval bench decode|prefill`: throughput of the built-in
 * engine against the memory bandwidth measured in the same run.
 *
 * Bytes a decode step must read (DESIGN.md, Conventions): the attention
 * and router weights of every layer, norms (and the residual scales),
 * the LM head, the routed expert of each MoE sub-layer — each distinct
 * expert once per step however many sequences of the batch chose it, none
 * for the skip slot — and every sequence's K/V cache up to its current
 * context.  The experts are counted from the routing the measured steps
 * actually took (eng_model.route_counts, reset before each step), so a
 * batch is charged exactly the experts it used.  Weight bytes are the
 * tensors' sizes in the checkpoint (bf16 = 2 bytes); the K/V cache is
 * counted as this engine stores it (float32).
 *
 * Output: a header, the bytes breakdown, the routing histogram, then one
 * line per measurement made only of key=value pairs:
 *   tok_s=… bytes_per_tok=… bw_GBs=… roofline=…
 * roofline = (bytes_per_tok × tok_s) / (bw_GBs × 1e9), a fraction.
 *
 * Bandwidth: a streaming sum of doubles over a buffer far larger than
 * the caches (1 GB by default), split over all online CPUs, best of
 * several passes.
 */
#define _POSIX_C_SOURCE 200809L
#include "args.h"
#include "cli.h"
#include "remote.h"
#include "../engine/kernels.h"
#include "../engine/model.h"
#include "../engine/pool.h"
#include "../engine/sampler.h"
#include "../engine/tokenizer.h"
#include "../engine/util.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

static const char usage[] =
    "usage: zeval bench decode|prefill --model DIR [--weights FILE] [--batch B]\n"
    "                   [--context L] [--tokens N] [--seed S] [--threads N]\n"
    "  decode   prefill B random prompts of L tokens (default 128), run one decode step\n"
    "           untimed, then time N decode steps (default 8), each one forward call\n"
    "           over all B sequences; compared with the measured memory bandwidth\n"
    "  prefill  time one forward call over B random prompts of L tokens (after the same\n"
    "           call once untimed); compared with the bandwidth and the f32 FMA peak\n"
    "  --threads N  engine threads (default $ZEVAL_THREADS or all CPUs); the kernel\n"
    "           path is $ZEVAL_SIMD (avx512|avx2|scalar) or the best the CPU has\n"
    "usage: zeval bench gpu --model DIR [--context L1,L2] [--tokens N]   (GPU builds; see --help there)\n"
    "       zeval bench gpu-batch --model DIR [--batch B1,B2] [--context L] [--prefill P]   (likewise)\n"
    "usage: zeval bench tokenizer --tokenizer FILE --corpus FILE [--runs N]\n"
    "  tokenizer  load time without and with the binary cache, then encode FILE in one\n"
    "             call on one thread (best of N runs, default 3): MB/s, token count and\n"
    "             an FNV-1a hash of the ids (bench/tok_hf.js prints the same for HF)\n"
    "usage: zeval bench sampler [--vocab V] [--draws N]\n"
    "  sampler    time a draw from V logits (default 262144, Gemma 3's vocabulary) at\n"
    "             temperature 1 (radix select; without filters and with top-p 0.95)\n"
    "             against sorting and walking them, on flat, bell-shaped and peaked rows\n";

/* ------------------------------------------------------------ bandwidth */

typedef struct {
    const double *p;
    size_t n;
    double sum;
    int fill;
} bw_job;

static void *bw_thread(void *arg)
{
    bw_job *j = arg;
    if (j->fill) {
        double *w = (double *)j->p;
        for (size_t i = 0; i < j->n; i++)
            w[i] = (double)(i & 1023);
        return NULL;
    }
    /* eight independent sums keep enough loads in flight */
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= j->n; i += 8)
        for (int k = 0; k < 8; k++)
            s[k] += j->p[i + k];
    for (; i < j->n; i++)
        s[0] += j->p[i];
    j->sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    return NULL;
}

static void bw_run(double *buf, size_t n, int nt, int fill, double *sum)
{
    bw_job jobs[64];
    pthread_t th[64];
    int ok[64] = {0};
    for (int i = 0; i < nt; i++) {
        size_t a = n * (size_t)i / (size_t)nt, b = n * (size_t)(i + 1) / (size_t)nt;
        jobs[i] = (bw_job){buf + a, b - a, 0, fill};
    }
    for (int i = 1; i < nt; i++)
        ok[i] = pthread_create(&th[i], NULL, bw_thread, &jobs[i]) == 0;
    bw_thread(&jobs[0]);
    double s = jobs[0].sum;
    for (int i = 1; i < nt; i++) {
        if (ok[i])
            pthread_join(th[i], NULL);
        else
            bw_thread(&jobs[i]);
        s += jobs[i].sum;
    }
    *sum += s;
}

/* Best-of-passes streaming read bandwidth in bytes/s; 0 on failure. */
static double measure_bw(size_t bytes, int passes, int *threads_out)
{
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    int nt = nc < 1 ? 1 : nc > 64 ? 64 : (int)nc;
    *threads_out = nt;
    size_t n = bytes / sizeof(double);
    double *buf = malloc(n * sizeof(double));
    if (!buf || n == 0) {
        free(buf);
        return 0;
    }
    double sink = 0, best = 0;
    bw_run(buf, n, nt, 1, &sink); /* touch every page first */
    for (int p = 0; p < passes; p++) {
        double t0 = ut_now();
        bw_run(buf, n, nt, 0, &sink);
        double dt = ut_now() - t0;
        if (dt > 0 && (double)(n * sizeof(double)) / dt > best)
            best = (double)(n * sizeof(double)) / dt;
    }
    free(buf);
    volatile double keep = sink;
    (void)keep;
    return best;
}

/* ---------------------------------------------------------------- FMA peak */

typedef struct {
    long iters;
    double flops;
    const char *isa;
} peak_job;

static void *peak_thread(void *arg)
{
    peak_job *j = arg;
    j->flops = kn_fma_burn(j->iters, &j->isa);
    return NULL;
}

/* f32 FMA peak of nt threads (flops/s, best of passes); *isa as kn_fma_burn. */
static double measure_peak(int nt, int passes, const char **isa)
{
    enum { MAXT = 256 };
    pthread_t th[MAXT];
    peak_job jobs[MAXT];
    int ok[MAXT];
    if (nt > MAXT)
        nt = MAXT;
    double best = 0;
    *isa = "?";
    for (int p = 0; p < passes; p++) {
        double t0 = ut_now();
        for (int i = 0; i < nt; i++) {
            jobs[i] = (peak_job){20000000, 0, NULL};
            ok[i] = i > 0 && pthread_create(&th[i], NULL, peak_thread, &jobs[i]) == 0;
        }
        peak_thread(&jobs[0]);
        double flops = jobs[0].flops;
        for (int i = 1; i < nt; i++) {
            if (ok[i])
                pthread_join(th[i], NULL);
            else
                peak_thread(&jobs[i]);
            flops += jobs[i].flops;
        }
        double dt = ut_now() - t0;
        if (dt > 0 && flops / dt > best)
            best = flops / dt;
        *isa = jobs[0].isa;
    }
    return best;
}

/* Multiply-adds of one prefill call of B sequences of L tokens, last-row
 * logits only: every dense matrix (attention projections, grouped conv,
 * router) once per token, each token's routed expert (from the routing
 * counts rc of the call; none for the skip slot), Q·K and P·V over the
 * causal pairs, and the LM head once per sequence. */
static double prefill_macs(const eng_model *m, long B, long L, const uint64_t *rc)
{
    const eng_config *c = &m->cfg;
    int S = eng_cfg_slots(c), C = eng_cfg_conv_channels(c);
    double dense = 0, experts = 0, att = 0, tokens = (double)B * (double)L;
#define MN(w) ((double)(w).rows * (double)(w).cols)
    for (int n = 0; n < c->n_sub; n++) {
        const eng_sublayer *l = &m->sub[n];
        if (n % 2 == 0) {
            dense += MN(l->wq) + MN(l->wk) + MN(l->wv1) + MN(l->wv2) + MN(l->wo) +
                     (double)C * c->cca_k0 + (double)C * c->cca_k1 * c->head_dim;
            att += 2.0 * (double)B * (double)L * (double)(L + 1) / 2.0 * c->nq * c->head_dim;
        } else {
            dense += MN(l->rdown) + MN(l->r0) + MN(l->r2) + MN(l->r4);
            for (int e = 0; e < c->n_experts; e++)
                experts += (double)rc[(size_t)(n / 2) * (size_t)S + (size_t)e] *
                           (MN(l->fc1[e]) + MN(l->fc2[e]));
        }
    }
    return dense * tokens + experts + att + (double)B * MN(m->lm_head);
#undef MN
}

/* ------------------------------------------------------------ weight bytes */

typedef struct {
    uint64_t attn, router, norms, head, embed_row;
    uint64_t *expert;       /* [n_moe]: bytes of all experts of MoE sub-layer j */
    int n_moe;
} wbytes;

static int classify(const eng_model *m, wbytes *w)
{
    const eng_config *c = &m->cfg;
    w->n_moe = c->n_sub / 2;
    w->expert = calloc((size_t)w->n_moe + 1, sizeof *w->expert);
    if (!w->expert)
        return -1;
    int native = m->layout == ENG_LAYOUT_NATIVE;
    for (int f = 0; f < m->nfiles; f++)
        for (int k = 0; k < m->files[f]->ntensors; k++) {
            const st_tensor *t = &m->files[f]->tensors[k];
            const char *nm = t->name;
            uint64_t nb = t->nbytes;
            int L = -1;
            sscanf(nm, "model.layers.%d.", &L);
            if (strcmp(nm, "model.embed_tokens.weight") == 0) {
                if (c->tie_embeddings)
                    w->head += nb;
                else
                    w->embed_row += nb / (uint64_t)c->vocab;
            } else if (strncmp(nm, "lm_head.", 8) == 0) {
                w->head += nb;
            } else if (strstr(nm, ".local_experts.") || strstr(nm, ".mlp.experts.")) {
                int j = native ? L : L / 2;
                if (j >= 0 && j < w->n_moe)
                    w->expert[j] += nb;
            } else if (strstr(nm, ".self_attn.")) {
                w->attn += nb;
            } else if (strstr(nm, ".zaya_block.router.") || strstr(nm, ".mlp.gate.")) {
                w->router += nb;
            } else {
                w->norms += nb;
            }
        }
    return 0;
}

/* ------------------------------------------------------------ helpers */

static void mb_line(const char *what, const char *detail, double bytes)
{
    printf("  %-13s %-52s %12.3f MB\n", what, detail, bytes / 1e6);
}

/* Adds one step's per-layer routing to the histogram; returns the expert
 * bytes the step read (each distinct expert of each layer once). */
static double charge_experts(const eng_model *m, const wbytes *w, const uint64_t *rc,
                             uint64_t *hist, double *distinct)
{
    int S = eng_cfg_slots(&m->cfg), E = m->cfg.n_experts;
    double bytes = 0;
    for (int j = 0; j < w->n_moe; j++) {
        int used = 0;
        for (int e = 0; e < S; e++) {
            hist[(size_t)j * S + e] += rc[(size_t)j * S + e];
            if (e < E && rc[(size_t)j * S + e])
                used++;
        }
        *distinct += used;
        bytes += (double)used * ((double)w->expert[j] / E);
    }
    return bytes;
}

static void print_hist(const eng_model *m, const wbytes *w, const uint64_t *hist,
                       const char *what)
{
    int S = eng_cfg_slots(&m->cfg), E = m->cfg.n_experts;
    uint64_t tot = 0, mx = 0;
    uint64_t *sum = calloc((size_t)S, sizeof *sum);
    if (!sum)
        return;
    for (int j = 0; j < w->n_moe; j++)
        for (int e = 0; e < S; e++)
            sum[e] += hist[(size_t)j * S + e];
    for (int e = 0; e < S; e++) {
        tot += sum[e];
        if (sum[e] > mx)
            mx = sum[e];
    }
    printf("routing histogram (%s; %llu decisions over %d MoE sub-layers):\n", what,
           (unsigned long long)tot, w->n_moe);
    int hit = 0, minl = S, maxl = 0;
    for (int e = 0; e < S; e++) {
        char bar[41];
        int nb = mx ? (int)(40.0 * (double)sum[e] / (double)mx + 0.5) : 0;
        memset(bar, '#', (size_t)nb);
        bar[nb] = 0;
        if (e < E)
            printf("  expert %3d %10llu %6.2f%%  %s\n", e, (unsigned long long)sum[e],
                   tot ? 100.0 * (double)sum[e] / (double)tot : 0.0, bar);
        else
            printf("  skip       %10llu %6.2f%%  %s\n", (unsigned long long)sum[e],
                   tot ? 100.0 * (double)sum[e] / (double)tot : 0.0, bar);
        hit += e < E && sum[e] > 0;
    }
    for (int j = 0; j < w->n_moe; j++) {
        int used = 0;
        for (int e = 0; e < E; e++)
            used += hist[(size_t)j * S + e] > 0;
        if (used < minl)
            minl = used;
        if (used > maxl)
            maxl = used;
    }
    printf("  experts used: %d of %d overall; per MoE sub-layer %d..%d distinct\n", hit, E,
           minl, maxl);
    free(sum);
}

/* ------------------------------------------------------------ command */

/* ------------------------------------------------------------ tokenizer */

/* Removes dir and the files directly in it (the bench's cache dir). */
static void rm_flat_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[4096];
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* Times one tok_load; -1 on failure (message in err). */
static double time_load(const char *path, char *err, size_t errlen)
{
    tok_tokenizer *t = NULL;
    double t0 = ut_now();
    if (tok_load(path, &t, err, errlen))
        return -1;
    double s = ut_now() - t0;
    tok_free(t);
    return s;
}

/* `zeval bench tokenizer`: load times (cold = parsing the JSON, cached =
 * the binary cache in a fresh private directory) and single-thread encode
 * throughput of the whole corpus in one tok_encode call. */
static int bench_tokenizer(int argc, char **argv)
{
    args_opt o[] = {{"tokenizer", 1, NULL}, {"corpus", 1, NULL}, {"runs", 1, NULL},
                    {"help", 0, NULL}};
    int no = (int)(sizeof o / sizeof o[0]);
    char err[2048];
    if (args_parse(argc, argv, o, no, err, sizeof err)) {
        fprintf(stderr, "zeval bench tokenizer: %s\n%s", err, usage);
        return 2;
    }
    if (args_get(o, no, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    const char *tp = args_get(o, no, "tokenizer"), *cp = args_get(o, no, "corpus"), *v;
    long runs = 3;
    if (!tp || !cp) {
        fprintf(stderr, "zeval bench tokenizer: --tokenizer and --corpus are required\n%s", usage);
        return 2;
    }
    if ((v = args_get(o, no, "runs")) && (args_count(v, "--runs", &runs, err, sizeof err) ||
                                          runs < 1 || runs > 100)) {
        fprintf(stderr, "zeval bench tokenizer: --runs must be 1..100\n");
        return 2;
    }
    int status = 1;
    char *text = NULL;
    tok_tokenizer *t = NULL;
    int32_t *ids = NULL;
    size_t n = 0, nids = 0;
    char dir[] = "/tmp/zeval-tokbench-XXXXXX";
    const char *old_dir = getenv("ZEVAL_CACHE_DIR");
    char *saved = old_dir ? strdup(old_dir) : NULL;
    if (!mkdtemp(dir)) {
        snprintf(err, sizeof err, "cannot create a temporary cache directory");
        goto done;
    }
    setenv("ZEVAL_CACHE_DIR", dir, 1);
    setenv("ZEVAL_NO_TOKCACHE", "1", 1);
    double cold = time_load(tp, err, sizeof err);
    unsetenv("ZEVAL_NO_TOKCACHE");
    double write = cold < 0 ? -1 : time_load(tp, err, sizeof err); /* parses, writes the cache */
    double cached = 1e9;
    for (int i = 0; i < 3 && write >= 0; i++) {
        double s = time_load(tp, err, sizeof err);
        if (s < 0) {
            write = -1;
            break;
        }
        cached = s < cached ? s : cached;
    }
    if (write >= 0 && tok_load(tp, &t, err, sizeof err))
        write = -1;
    rm_flat_dir(dir);
    if (saved)
        setenv("ZEVAL_CACHE_DIR", saved, 1);
    else
        unsetenv("ZEVAL_CACHE_DIR");
    if (cold < 0 || write < 0)
        goto done;
    if (ut_read_file(cp, (size_t)1 << 32, &text, &n, err, sizeof err))
        goto done;
    double best = 1e9;
    for (long r = 0; r < runs; r++) {
        free(ids);
        ids = NULL;
        double t0 = ut_now();
        if (tok_encode(t, text, n, 0, &ids, &nids, err, sizeof err))
            goto done;
        double s = ut_now() - t0;
        best = s < best ? s : best;
    }
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < nids; i++)
        h = (h ^ (uint32_t)ids[i]) * 16777619u;
    printf("zeval: load_cold_s=%.3f load_cached_s=%.3f bytes=%zu tokens=%zu best_s=%.3f "
           "MB_s=%.2f ids_fnv=%08x\n", cold, cached, n, nids, best, (double)n / 1e6 / best, h);
    fflush(stdout);
    status = 0;
done:
    if (status)
        cli_fail(1, err);
    free(saved);
    free(ids);
    free(text);
    tok_free(t);
    return status;
}

/* ------------------------------------------------------------ sampler */

/* `zeval bench sampler`: the time of one draw (radix select) without
 * filters and with top-p 0.95, against the rule's definition: sort the
 * tokens, then walk them (smp_sample_sorted). */
static int bench_sampler(int argc, char **argv)
{
    args_opt o[] = {{"vocab", 1, NULL}, {"draws", 1, NULL}, {"help", 0, NULL}};
    int no = (int)(sizeof o / sizeof o[0]);
    char err[512];
    long V = 262144, N = 100;
    const char *v;
    if (args_parse(argc, argv, o, no, err, sizeof err) ||
        ((v = args_get(o, no, "vocab")) && args_count(v, "--vocab", &V, err, sizeof err)) ||
        ((v = args_get(o, no, "draws")) && args_count(v, "--draws", &N, err, sizeof err))) {
        fprintf(stderr, "zeval bench sampler: %s\n%s", err, usage);
        return 2;
    }
    if (args_get(o, no, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    if (V < 2 || V > (1L << 24) || N < 1 || N > 100000) {
        fprintf(stderr, "zeval bench sampler: --vocab must be 2..16777216, --draws 1..100000\n");
        return 2;
    }
    float *lg = malloc((size_t)V * sizeof *lg);
    smp_scratch *s = smp_scratch_new((int)V);
    if (!lg || !s) {
        free(lg);
        smp_scratch_free(s);
        return cli_fail(1, "out of memory");
    }
    static const char *const rows[] = {"flat (uniform in [-3, 3])",
                                       "bell (normal, sd 3, top +20)",
                                       "peaked (one logit 40 above)"};
    printf("sampler: %ld ids, %ld draws a row, temperature 1\n", V, N);
    for (int r = 0; r < 3; r++) {
        for (long i = 0; i < V; i++) {
            double u1 = smp_uniform(7 + (uint64_t)r, 2 * (uint64_t)i) + 1e-300;
            double u2 = smp_uniform(7 + (uint64_t)r, 2 * (uint64_t)i + 1);
            double g = sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
            lg[i] = r == 0 ? (float)(6 * u2 - 3) : (float)(3 * g);
        }
        if (r == 1)
            lg[V / 3] = 20.0f;
        if (r == 2)
            lg[V / 3] = 40.0f;
        smp_params plain = {1.0f, 0, 1.0f, 0.0f}, topp = {1.0f, 0, 0.95f, 0.0f};
        double t[3];
        long bad = 0;
        for (int m = 0; m < 3; m++) {
            double t0 = ut_now();
            for (long d = 0; d < N; d++) {
                int id = m < 2 ? smp_sample(lg, (int)V, m ? &topp : &plain, 1, (uint64_t)d, s)
                               : smp_sample_sorted(lg, (int)V, &plain,
                                                   smp_uniform(1, (uint64_t)d), s);
                bad += id < 0 || id >= V;
            }
            t[m] = (ut_now() - t0) / (double)N;
        }
        printf("  %-30s radix %7.3f ms/draw (top-p 0.95: %7.3f), sorted walk %8.3f ms/draw: "
               "%.1fx%s\n", rows[r], t[0] * 1e3, t[1] * 1e3, t[2] * 1e3, t[2] / t[0],
               bad ? " (bad draw)" : "");
    }
    free(lg);
    smp_scratch_free(s);
    return 0;
}

int cli_bench(int argc, char **argv)
{
    char err[2048];
    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc >= 1 && strcmp(argv[0], "tokenizer") == 0)
        return bench_tokenizer(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "sampler") == 0)
        return bench_sampler(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "gpu") == 0)
        return cli_gpu_bench(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "gpu-batch") == 0)
        return cli_gpu_batch_bench(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "remote") == 0) /* hidden: bench/remote.sh */
        return rmt_bench_cli(argc - 1, argv + 1);
    if (argc < 1 || (strcmp(argv[0], "decode") != 0 && strcmp(argv[0], "prefill") != 0)) {
        fprintf(stderr, "zeval bench: expected 'decode', 'prefill', 'tokenizer' or 'sampler' first\n%s", usage);
        return 2;
    }
    int decode = strcmp(argv[0], "decode") == 0;
    /* bw-bytes and bw-passes are for tests: not in the usage text */
    args_opt o[] = {{"model", 1, NULL},    {"weights", 1, NULL}, {"batch", 1, NULL},
                    {"context", 1, NULL},  {"tokens", 1, NULL},  {"seed", 1, NULL},
                    {"bw-bytes", 1, NULL}, {"bw-passes", 1, NULL}, {"help", 0, NULL},
                    {"threads", 1, NULL}};
    int no = (int)(sizeof o / sizeof o[0]);
    if (args_parse(argc - 1, argv + 1, o, no, err, sizeof err)) {
        fprintf(stderr, "zeval bench: %s\n%s", err, usage);
        return 2;
    }
    if (args_get(o, no, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    const char *dir = args_get(o, no, "model"), *v;
    if (!dir) {
        fprintf(stderr, "zeval bench: --model is required\n%s", usage);
        return 2;
    }
    long B = 1, L = 128, N = 8, bwb = 1000000000L, passes = 5, threads = 0;
    unsigned long long seed = 1;
    struct {
        const char *name;
        long *dst, lo, hi;
    } nums[] = {{"batch", &B, 1, 4096},
                {"context", &L, 1, 1 << 24},
                {"tokens", &N, 1, 1 << 24},
                {"bw-bytes", &bwb, 1 << 20, 1L << 40},
                {"bw-passes", &passes, 1, 100},
                {"threads", &threads, 1, 256}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        if ((v = args_get(o, no, nums[i].name))) {
            char what[32];
            snprintf(what, sizeof what, "--%s", nums[i].name);
            if (args_count(v, what, nums[i].dst, err, sizeof err)) {
                fprintf(stderr, "zeval bench: %s\n", err);
                return 2;
            }
            if (*nums[i].dst < nums[i].lo || *nums[i].dst > nums[i].hi) {
                fprintf(stderr, "zeval bench: %s must be in [%ld, %ld]\n", what, nums[i].lo,
                        nums[i].hi);
                return 2;
            }
        }
    if ((v = args_get(o, no, "seed")) && args_u64(v, "--seed", &seed, err, sizeof err)) {
        fprintf(stderr, "zeval bench: %s\n", err);
        return 2;
    }

    if ((threads && pool_set_threads((int)threads, err, sizeof err)) || pool_init(err, sizeof err) ||
        kn_init(err, sizeof err)) {
        fprintf(stderr, "zeval bench: %s\n", err);
        return 2;
    }
    int status = 1;
    eng_model *m = NULL;
    eng_seq **seqs = NULL;
    int32_t *ids = NULL, *tok = NULL;
    float *lg = NULL;
    uint64_t *rc = NULL, *hist = NULL;
    eng_chunk *ch = NULL;
    wbytes w = {0};
    if (eng_model_load(dir, args_get(o, no, "weights"), &m, err, sizeof err))
        goto done;
    const eng_config *c = &m->cfg;
    int V = c->vocab, S = eng_cfg_slots(c), n_attn = c->n_sub / 2;
    double kv_tok = 2.0 * c->nk * c->head_dim * sizeof(float) * n_attn; /* per token, all layers */
    if (classify(m, &w)) {
        snprintf(err, sizeof err, "out of memory");
        goto done;
    }
    printf("bench %s: model %s (%s, %d sub-layers, hidden %d, %d experts%s, vocab %d, %.3f GB "
           "of weights)\n",
           decode ? "decode" : "prefill", dir, st_dtype_name(m->weight_dtype), c->n_sub,
           c->hidden, c->n_experts, c->use_mod ? " + skip" : "", V, m->weight_bytes / 1e9);
    if (decode)
        printf("  batch %ld, context %ld (random prompt ids, seed %llu), %ld decode steps "
               "(greedy), 1 token per sequence per forward call\n",
               B, L, seed, N);
    else
        printf("  batch %ld, %ld random prompt tokens per sequence (seed %llu), one forward "
               "call\n", B, L, seed);
    printf("  engine: %s kernels, %d threads\n", kn_path_name(kn_current()), pool_threads());
    fflush(stdout);
    int bw_threads = 0;
    double bw = measure_bw((size_t)bwb, (int)passes, &bw_threads);
    if (bw <= 0) {
        snprintf(err, sizeof err, "could not allocate %ld bytes to measure bandwidth", bwb);
        goto done;
    }
    printf("memory bandwidth: %.2f GB/s (streaming sum of doubles over %.2f GB, %d threads, "
           "best of %ld passes)\n", bw / 1e9, bwb / 1e9, bw_threads, passes);
    fflush(stdout);
    double peak = 0;
    if (!decode) {
        const char *isa;
        peak = measure_peak(pool_threads(), 3, &isa);
        printf("f32 FMA peak: %.1f GFLOP/s (%s, 12 independent FMA chains per thread, %d threads, "
               "best of 3)\n", peak / 1e9, isa, pool_threads());
        fflush(stdout);
    }

    seqs = calloc((size_t)B, sizeof *seqs);
    ids = malloc((size_t)B * (size_t)L * sizeof *ids);
    tok = malloc((size_t)B * sizeof *tok);
    lg = malloc((size_t)B * (size_t)V * sizeof *lg);
    rc = calloc((size_t)w.n_moe * S + 1, sizeof *rc);
    hist = calloc((size_t)w.n_moe * S + 1, sizeof *hist);
    ch = calloc((size_t)B, sizeof *ch);
    if (!seqs || !ids || !tok || !lg || !rc || !hist || !ch) {
        snprintf(err, sizeof err, "out of memory");
        goto done;
    }
    for (long i = 0; i < B * L; i++)
        ids[i] = (int32_t)(smp_rng(seed, (uint64_t)i) % (uint64_t)V);
    for (long b = 0; b < B; b++)
        if (!(seqs[b] = eng_seq_new(m))) {
            snprintf(err, sizeof err, "out of memory");
            goto done;
        }
    double shared = (double)(w.attn + w.router + w.norms + w.head);
    double t_fwd = 0, expert_b = 0, kv_b = 0, distinct = 0, rows = 0;
    long steps = decode ? N : 1;
    if (decode) {
        for (long b = 0; b < B; b++) {
            eng_chunk pc = {seqs[b], ids + b * L, (int)L, lg + b * V, 0};
            if (eng_forward(m, &pc, 1, err, sizeof err))
                goto done;
            tok[b] = smp_argmax(lg + b * V, V);
        }
        /* One untimed step first: its weights' pages are mapped in, as in any
         * run past its first tokens. */
        for (long b = 0; b < B; b++)
            ch[b] = (eng_chunk){seqs[b], &tok[b], 1, lg + b * V, 0};
        if (eng_forward(m, ch, (int)B, err, sizeof err))
            goto done;
        for (long b = 0; b < B; b++)
            tok[b] = smp_argmax(lg + b * V, V);
        m->route_counts = rc;
        for (long st = 0; st < N; st++) {
            memset(rc, 0, ((size_t)w.n_moe * S + 1) * sizeof *rc);
            for (long b = 0; b < B; b++) {
                ch[b] = (eng_chunk){seqs[b], &tok[b], 1, lg + b * V, 0};
                kv_b += kv_tok * (eng_seq_len(seqs[b]) + 1);
            }
            double t0 = ut_now();
            if (eng_forward(m, ch, (int)B, err, sizeof err))
                goto done;
            t_fwd += ut_now() - t0;
            expert_b += charge_experts(m, &w, rc, hist, &distinct);
            for (long b = 0; b < B; b++)
                tok[b] = smp_argmax(lg + b * V, V);
        }
        rows = (double)B * N;
    } else {
        for (long b = 0; b < B; b++) {
            ch[b] = (eng_chunk){seqs[b], ids + b * L, (int)L, lg + b * V, 0};
            kv_b += kv_tok * (double)L * (double)(L + 1) / 2.0;
        }
        /* The same call once untimed first, so that the weights' pages are
         * mapped in (a cold mapping costs page faults, once per process). */
        if (eng_forward(m, ch, (int)B, err, sizeof err))
            goto done;
        for (long b = 0; b < B; b++)
            eng_seq_reset(seqs[b]);
        m->route_counts = rc;
        double t0 = ut_now();
        if (eng_forward(m, ch, (int)B, err, sizeof err))
            goto done;
        t_fwd = ut_now() - t0;
        expert_b = charge_experts(m, &w, rc, hist, &distinct);
        rows = (double)B * L;
    }
    m->route_counts = NULL;

    /* Breakdown, per step (decode) or per forward call (prefill). */
    double per = (double)steps;
    double embed_rows = (double)w.embed_row * rows / per;
    double step_bytes = shared + embed_rows + expert_b / per + kv_b / per;
    double tok_per_call = rows / per;
    char d[160];
    if (decode)
        printf("bytes read per decode step (batch %ld; mean over %ld steps at contexts "
               "%ld..%ld, after one untimed step):\n", B, N, L + 2, L + N + 1);
    else
        printf("bytes read by the prefill call (weights once per call; %ld tokens; timed after "
               "the same call once untimed):\n", (long)rows);
    snprintf(d, sizeof d, "%d attention sub-layers (q, k, v, o, convs, temp)", n_attn);
    mb_line("attention", d, (double)w.attn);
    snprintf(d, sizeof d, "%d MoE routers (down_proj, MLP, EDA, biases)", w.n_moe);
    mb_line("router", d, (double)w.router);
    snprintf(d, sizeof d, "%d input norms, final norm, residual scales", c->n_sub);
    mb_line("norms", d, (double)w.norms);
    snprintf(d, sizeof d, "%s [%d, %d]", c->tie_embeddings ? "tied embedding" : "lm_head.weight",
             V, c->hidden);
    mb_line("lm_head", d, (double)w.head);
    if (w.embed_row)
        mb_line("embed rows", "one untied embedding row per token", embed_rows);
    double one_exp = 0;
    for (int j = 0; j < w.n_moe; j++)
        one_exp += (double)w.expert[j] / c->n_experts;
    one_exp /= w.n_moe > 0 ? w.n_moe : 1;
    snprintf(d, sizeof d, "%.2f distinct (of %d layers x %d) x %.3f MB", distinct / per,
             w.n_moe, c->n_experts, one_exp / 1e6);
    mb_line("experts", d, expert_b / per);
    snprintf(d, sizeof d, "f32, %.0f B/token x %.1f %s", kv_tok, kv_b / per / kv_tok,
             decode ? "tokens attended" : "token reads (causal)");
    mb_line("kv_cache", d, kv_b / per);
    mb_line("total", decode ? "per step" : "per call", step_bytes);
    snprintf(d, sizeof d, "per token (%.0f token%s per %s)", tok_per_call,
             tok_per_call == 1 ? "" : "s", decode ? "step" : "call");
    mb_line("total", d, step_bytes / tok_per_call);
    print_hist(m, &w, hist, decode ? "measured decode steps" : "prefill");

    double tok_s = rows / t_fwd;
    double bpt = step_bytes / tok_per_call;
    if (decode) {
        printf("tok_s=%.4f bytes_per_tok=%.0f bw_GBs=%.3f roofline=%.5f\n", tok_s, bpt, bw / 1e9,
               bpt * tok_s / bw);
    } else {
        double flops = 2.0 * prefill_macs(m, B, L, rc);
        printf("compute: %.2f GFLOP in the call (dense %s, routed experts, causal attention, "
               "last-row LM head) at %.1f GFLOP/s\n", flops / 1e9, "matrices per token",
               flops / t_fwd / 1e9);
        printf("tok_s=%.4f bytes_per_tok=%.0f bw_GBs=%.3f roofline=%.5f gflops=%.3f "
               "peak_gflops=%.3f peak_frac=%.5f\n", tok_s, bpt, bw / 1e9, bpt * tok_s / bw,
               flops / t_fwd / 1e9, peak / 1e9, flops / t_fwd / peak);
    }
    fflush(stdout);
    status = 0;
done:
    if (status)
        cli_fail(1, err);
    if (seqs)
        for (long b = 0; b < B; b++)
            eng_seq_free(seqs[b]);
    free(seqs);
    free(ids);
    free(tok);
    free(lg);
    free(rc);
    free(hist);
    free(ch);
    free(w.expert);
    eng_model_free(m);
    return status;
}
