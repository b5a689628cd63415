/*
 * cli_gpu.c — `zeval gpu-selftest` and `zeval bench gpu`: the HIP
 * backend checked against the CPU backend, and its decode speed against
 * the device's copy bandwidth.
 *
 * gpu-selftest prints one "PASS name: detail" / "FAIL name: detail" line
 * per check (the kernels on random inputs, then, with --model, a whole
 * checkpoint: logits per position and greedy tokens against the CPU
 * engine, the persistent step and its phases against the CPU, and the
 * captured graph against plain launches) and exits 0 only when every
 * check passed.
 */
#include "args.h"
#include "cli.h"
#include "../engine/gpu/gpu.h"
#include "../engine/model.h"
#include "../engine/sampler.h"
#include "../engine/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char st_usage[] =
    "usage: zeval gpu-selftest [--model DIR [--weights FILE]] [--tokens N] [--prompt-len L]\n"
    "                          [--seed S] [--only kernels,model,batch]\n"
    "  every GPU kernel against a host reference on random inputs; with --model, a bf16\n"
    "  checkpoint through both backends: a random prompt of L tokens (default 12), then N\n"
    "  greedy tokens (default 16): logits at every position and the tokens must agree,\n"
    "  in the single-sequence engine (model) and the batched one (batch); --only runs\n"
    "  just the parts named\n";

/* The single-sequence bench's rows, in order: the graph; with its L2
 * prefetches; with programmatic dependent launch (NVIDIA builds), without
 * and with them; with the attention in 8-key steps, without and with PDL;
 * the persistent step; plain launches, also with the 8-key attention (the
 * last three with their time per phase or kernel kind). */
static const struct {
    int mode, pf, pdl, attn8;
} bench_rows[] = {
    {GPU_STEP_GRAPH, 0, 0, 0},      {GPU_STEP_GRAPH, 1, 0, 0},      {GPU_STEP_GRAPH, 0, 1, 0},
    {GPU_STEP_GRAPH, 1, 1, 0},      {GPU_STEP_GRAPH, 0, 0, 1},      {GPU_STEP_GRAPH, 0, 1, 1},
    {GPU_STEP_PERSISTENT, 0, 0, 0}, {GPU_STEP_PLAIN, 0, 0, 0},      {GPU_STEP_PLAIN, 0, 0, 1},
};

static const char bench_usage[] =
    "usage: zeval bench gpu --model DIR [--weights FILE] [--context L1,L2,...] [--tokens N]\n"
    "  single-sequence decode on the GPU at each context (default 1024,16384): N timed\n"
    "  steps (default 32) after one untimed, as a captured graph (also with L2 prefetches,\n"
    "  on NVIDIA with programmatic dependent launch, without and with them, and with the\n"
    "  attention in 8-key steps), as the persistent step and as plain launches (also with\n"
    "  the 8-key attention);\n"
    "  bytes per step (DESIGN.md's roofline definition) over the device-to-device copy\n"
    "  bandwidth measured in the same run; after the persistent step and the plain\n"
    "  launches the time per phase kind (device timer) or kernel kind (events between\n"
    "  the launches); then the routing of every step\n";

double cli_relerr(const float *got, const float *ref, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(got[i]))
            return INFINITY;
        double d = (double)got[i] - (double)ref[i];
        num += d * d;
        den += (double)ref[i] * ref[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* What replay found: the worst relative error against the CPU's logits,
 * the first position whose device argmax is not the host argmax of the
 * same logits or, from the prompt's last token on, not the CPU's next
 * token, and the first whose logits differ from `same` (-1: none). */
typedef struct {
    double worst;
    long bad, differ;
} replay_out;

/* Resets g and steps it through the T tokens tok (the prompt is the first
 * L) as it is set, holding its logits to the CPU's (cpu_all, T rows of V)
 * and, with same, to those rows bit for bit; with keep, each position's
 * logits are copied there.  lg: V floats of scratch.  0, or -1 with a
 * message naming the position. */
static int replay(gpu_ctx *g, const int32_t *tok, long T, long L, int V, const float *cpu_all,
                  const float *same, float *keep, float *lg, replay_out *r, char *err,
                  size_t errlen)
{
    r->worst = 0;
    r->bad = r->differ = -1;
    if (gpu_reset(g, (int)T, err, errlen))
        return -1;
    for (long p = 0; p < T; p++) {
        int32_t am;
        char why[768];
        if (gpu_step(g, tok[p], lg, 0, &am, why, sizeof why)) {
            snprintf(err, errlen, "at position %ld: %s", p, why);
            return -1;
        }
        size_t row = (size_t)p * (size_t)V, bytes = (size_t)V * sizeof(float);
        double e = cli_relerr(lg, cpu_all + row, (size_t)V);
        r->worst = e > r->worst ? e : r->worst;
        if (keep)
            memcpy(keep + row, lg, bytes);
        if (same && r->differ < 0 && memcmp(same + row, lg, bytes) != 0)
            r->differ = p;
        if (r->bad < 0 && (am != smp_argmax(lg, V) || (p + 1 >= L && p + 1 < T && am != tok[p + 1])))
            r->bad = p;
    }
    return 0;
}

/* The checkpoint through both backends; returns the failed checks. */
static int selftest_model(const eng_model *m, long L, long N, unsigned long long seed)
{
    char err[1024];
    int V = m->cfg.vocab, fails = 0;
    long T = L + N;
    int32_t *cpu_tok = calloc((size_t)T + 1, sizeof *cpu_tok);
    int32_t *gpu_tok = calloc((size_t)T + 1, sizeof *gpu_tok);
    float *lc = malloc((size_t)V * sizeof(float)), *lg = malloc((size_t)V * sizeof(float));
    float *first = malloc((size_t)V * 4 * sizeof(float));
    float *cpu_all = malloc((size_t)V * (size_t)T * sizeof(float));
    float *pk_all = malloc((size_t)V * (size_t)T * sizeof(float));
    float *gr_all = malloc((size_t)V * (size_t)T * sizeof(float));
    eng_seq *s = eng_seq_new(m);
    gpu_ctx *g = NULL;
    if (!cpu_tok || !gpu_tok || !lc || !lg || !first || !cpu_all || !pk_all || !gr_all || !s) {
        printf("FAIL model: out of memory\n");
        fails++;
        goto done;
    }
    if (!(g = gpu_open(m, (int)T, err, sizeof err))) {
        printf("FAIL model upload: %s\n", err);
        fails++;
        goto done;
    }
    gpu_set_step(g, GPU_STEP_GRAPH);
    cpu_tok[0] = gpu_tok[0] = m->cfg.bos_id >= 0 && m->cfg.bos_id < V ? m->cfg.bos_id : 0;
    for (long i = 1; i < L; i++)
        cpu_tok[i] = gpu_tok[i] = (int32_t)(smp_rng(seed, (uint64_t)i) % (uint64_t)V);
    double worst = 0;
    long diverged = -1, worst_at = 0;
    int graphed = 1;
    for (long p = 0; p < T; p++) {
        eng_chunk ch = {s, &cpu_tok[p], 1, lc, 0};
        if (eng_forward(m, &ch, 1, err, sizeof err)) {
            printf("FAIL model CPU forward: %s\n", err);
            fails++;
            goto done;
        }
        int32_t am;
        if (gpu_step(g, gpu_tok[p], lg, 0, &am, err, sizeof err)) {
            printf("FAIL model GPU step at position %ld: %s\n", p, err);
            fails++;
            goto done;
        }
        if (p < 4)
            memcpy(first + (size_t)p * V, lg, (size_t)V * sizeof(float));
        memcpy(cpu_all + (size_t)p * V, lc, (size_t)V * sizeof(float));
        memcpy(gr_all + (size_t)p * V, lg, (size_t)V * sizeof(float));
        graphed &= gpu_ran_step(g) == GPU_STEP_GRAPH;
        double e = cli_relerr(lg, lc, (size_t)V);
        if (e > worst) {
            worst = e;
            worst_at = p;
        }
        int32_t ca = (int32_t)smp_argmax(lc, V);
        if (am != smp_argmax(lg, V)) {
            printf("FAIL model device argmax: %d, host argmax of the same logits %d (position %ld)\n",
                   am, smp_argmax(lg, V), p);
            fails++;
        }
        if (p + 1 >= L && p + 1 < T) {
            cpu_tok[p + 1] = ca;
            gpu_tok[p + 1] = am;
            if (diverged < 0 && ca != am)
                diverged = p + 1;
        }
    }
    fails += worst > 1e-2;
    printf("%s model logits: worst relative error %.3g at position %ld (limit 1e-2, %ld "
           "positions)\n", worst <= 1e-2 ? "PASS" : "FAIL", worst, worst_at, T);
    fails += diverged >= 0;
    if (diverged < 0)
        printf("PASS model greedy tokens: %ld of %ld identical to the CPU backend\n", N, N);
    else
        printf("FAIL model greedy tokens: first difference at position %ld (CPU %d, GPU %d)\n",
               diverged, cpu_tok[diverged], gpu_tok[diverged]);
    /* The persistent step, and its phases as a launch each, on the same
     * tokens: logits against the CPU's, the device argmax against the
     * tokens the CPU chose; the two the same bits (the grid barrier
     * shows every write before it, and the grid's size changes no
     * value). */
    long differ = -1;
    for (int mode = GPU_STEP_PERSISTENT; mode <= GPU_STEP_PHASES; mode++) {
        replay_out r;
        gpu_set_step(g, mode);
        int persistent = mode == GPU_STEP_PERSISTENT;
        if (replay(g, cpu_tok, T, L, V, cpu_all, persistent ? NULL : pk_all,
                   persistent ? pk_all : NULL, lg, &r, err, sizeof err)) {
            printf("FAIL model %s step: %s\n", gpu_step_name(mode), err);
            fails++;
            goto done;
        }
        if (!persistent)
            differ = r.differ;
        int ran = gpu_ran_step(g), ok = r.worst <= 1e-2 && r.bad < 0 && ran == mode;
        fails += !ok;
        printf("%s model %s step (ran as %s): worst relative error %.3g (limit 1e-2); ",
               ok ? "PASS" : "FAIL", gpu_step_name(mode), gpu_step_name(ran), r.worst);
        if (r.bad < 0)
            printf("device argmax = the CPU's greedy token at every position\n");
        else
            printf("device argmax differs from the CPU's token from position %ld\n", r.bad);
    }
    fails += differ >= 0;
    if (differ < 0)
        printf("PASS model persistent step = its phases: logits of all %ld positions bit-identical\n",
               T);
    else
        printf("FAIL model persistent step = its phases: logits differ from position %ld\n",
               differ);
    /* Plain launches against the graph: the same kernels, the same bits. */
    gpu_set_step(g, GPU_STEP_PLAIN);
    int same = 1;
    if (gpu_reset(g, (int)T, err, sizeof err))
        same = 0;
    for (long p = 0; p < 4 && p < T && same; p++) {
        if (gpu_step(g, gpu_tok[p], lg, 0, NULL, err, sizeof err))
            same = 0;
        else
            same = memcmp(lg, first + (size_t)p * V, (size_t)V * sizeof(float)) == 0;
    }
    fails += !same;
    printf("%s model graph replay: logits of the first 4 positions %s plain launches\n",
           same ? "PASS" : "FAIL", same ? "bit-identical to" : "differ from");
    fails += !graphed;
    if (!graphed)
        printf("FAIL model graph: the steps did not run as a captured graph (see stderr)\n");
    /* The graph with its L2 prefetches, with programmatic dependent
     * launch, and with both: the same bits as the graph.  Prefetches are
     * hints (the emulation reads each prefetched range's ends, so a
     * sanitizer build also checks the ranges stay inside their
     * allocations); under PDL each kernel loads its weights before it
     * waits for the one before, so on a device a read of anything that
     * kernel writes before the wait would show here as other bits. */
    static const struct {
        int pf, pdl;
        const char *what;
    } variants[] = {{1, 0, "with L2 prefetches"},
                    {0, 1, "with programmatic dependent launch"},
                    {1, 1, "with L2 prefetches and programmatic dependent launch"}};
    gpu_set_step(g, GPU_STEP_GRAPH);
    for (size_t vi = 0; vi < sizeof variants / sizeof variants[0]; vi++) {
        if (variants[vi].pdl && !gpu_pdl_built()) {
            /* such a build launches plainly: the same graph again */
            printf("SKIP model graph %s: this build has no programmatic dependent launch "
                   "(NVIDIA's): its launches would be those checked above\n", variants[vi].what);
            continue;
        }
        gpu_set_prefetch(g, variants[vi].pf);
        gpu_set_pdl(g, variants[vi].pdl);
        err[0] = 0;
        long vdiffer = gpu_reset(g, (int)T, err, sizeof err) ? 0 : -1;
        int vgraphed = 1;
        for (long p = 0; p < T && vdiffer < 0; p++) {
            if (gpu_step(g, gpu_tok[p], lg, 0, NULL, err, sizeof err) ||
                memcmp(lg, gr_all + (size_t)p * V, (size_t)V * sizeof(float)) != 0)
                vdiffer = p;
            vgraphed &= gpu_ran_step(g) == GPU_STEP_GRAPH;
        }
        gpu_set_prefetch(g, 0);
        gpu_set_pdl(g, 0);
        fails += vdiffer >= 0 || !vgraphed;
        if (vdiffer >= 0)
            printf("FAIL model graph %s: logits differ from position %ld%s%s\n",
                   variants[vi].what, vdiffer, *err ? ": " : "", err);
        else
            printf("%s model graph %s: logits of all %ld positions bit-identical to the "
                   "graph's%s\n", vgraphed ? "PASS" : "FAIL", variants[vi].what, T,
                   vgraphed ? "" : ", but the steps did not run as a graph");
    }
    /* The graph with the attention in 8-key steps: other sums, so held to
     * the CPU's logits and greedy tokens as the graph is. */
    gpu_set_seq_attn(g, 1);
    replay_out ra;
    int arc = replay(g, cpu_tok, T, L, V, cpu_all, NULL, NULL, lg, &ra, err, sizeof err);
    gpu_set_seq_attn(g, 0);
    int aok = arc == 0 && ra.worst <= 1e-2 && ra.bad < 0;
    fails += !aok;
    if (arc)
        printf("FAIL model graph, attention in 8-key steps: %s\n", err);
    else if (ra.bad < 0)
        printf("%s model graph, attention in 8-key steps (ZEVAL_GPU_SEQ_ATTN=step8): worst "
               "relative error %.3g (limit 1e-2); device argmax = the CPU's greedy token at "
               "every position\n", aok ? "PASS" : "FAIL", ra.worst);
    else
        printf("FAIL model graph, attention in 8-key steps (ZEVAL_GPU_SEQ_ATTN=step8): worst "
               "relative error %.3g; device argmax differs from the CPU's token from position "
               "%ld\n", ra.worst, ra.bad);
done:
    gpu_close(g);
    eng_seq_free(s);
    free(cpu_tok);
    free(gpu_tok);
    free(lc);
    free(lg);
    free(first);
    free(cpu_all);
    free(pk_all);
    free(gr_all);
    return fails;
}

void cli_print_routing(const uint64_t *rc, const eng_config *c)
{
    int S = eng_cfg_slots(c), nmoe = c->n_sub / 2;
    uint64_t tot = 0;
    for (int j = 0; j < nmoe * S; j++)
        tot += rc[j];
    printf("routing (all MoE sub-layers, every step above), slot: share\n ");
    for (int e = 0; e < S; e++) {
        uint64_t n = 0;
        for (int j = 0; j < nmoe; j++)
            n += rc[(size_t)j * S + e];
        char label[16];
        snprintf(label, sizeof label, e == c->n_experts ? "skip" : "%d", e);
        printf(" %s: %.3f", label, tot ? (double)n / (double)tot : 0.0);
    }
    printf("\n");
}

/* The self-test's parts, as --only names them. */
enum { ST_KERNELS = 1, ST_MODEL = 2, ST_BATCH = 4, ST_ALL = 7 };

/* --only's comma-separated part names into *parts; -1 with a message
 * naming a part that is not one. */
static int st_parts(const char *s, int *parts, char *err, size_t errlen)
{
    static const char *const names[] = {"kernels", "model", "batch"};
    *parts = 0;
    while (*s) {
        size_t n = strcspn(s, ",");
        int k = -1;
        for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
            if (strlen(names[i]) == n && strncmp(s, names[i], n) == 0)
                k = i;
        if (k < 0) {
            snprintf(err, errlen, "--only: '%.*s' is not a part (kernels, model or batch)",
                     (int)n, s);
            return -1;
        }
        *parts |= 1 << k;
        s += n + (s[n] == ',');
    }
    if (!*parts) {
        snprintf(err, errlen, "--only: name at least one part (kernels, model or batch)");
        return -1;
    }
    return 0;
}

int cli_gpu_selftest(int argc, char **argv)
{
    args_opt o[] = {{"model", 1, NULL},      {"weights", 1, NULL}, {"tokens", 1, NULL},
                    {"prompt-len", 1, NULL}, {"seed", 1, NULL},    {"only", 1, NULL},
                    {"help", 0, NULL}};
    int no = (int)(sizeof o / sizeof o[0]);
    char err[2048];
    if (args_parse(argc, argv, o, no, err, sizeof err)) {
        fprintf(stderr, "zeval gpu-selftest: %s\n%s", err, st_usage);
        return 2;
    }
    if (args_get(o, no, "help")) {
        fputs(st_usage, stdout);
        return 0;
    }
    long N = 16, L = 12;
    unsigned long long seed = 1;
    const char *v;
    if (((v = args_get(o, no, "tokens")) && args_count(v, "--tokens", &N, err, sizeof err)) ||
        ((v = args_get(o, no, "prompt-len")) && args_count(v, "--prompt-len", &L, err, sizeof err)) ||
        ((v = args_get(o, no, "seed")) && args_u64(v, "--seed", &seed, err, sizeof err))) {
        fprintf(stderr, "zeval gpu-selftest: %s\n", err);
        return 2;
    }
    if (L < 1 || N < 1 || L + N > 1 << 20) {
        fprintf(stderr, "zeval gpu-selftest: --prompt-len and --tokens must be >= 1\n");
        return 2;
    }
    const char *dir = args_get(o, no, "model");
    int parts = ST_ALL;
    if ((v = args_get(o, no, "only")) && st_parts(v, &parts, err, sizeof err)) {
        fprintf(stderr, "zeval gpu-selftest: %s\n", err);
        return 2;
    }
    if (!dir && (parts & (ST_MODEL | ST_BATCH)) && v) {
        fprintf(stderr, "zeval gpu-selftest: --only %s needs --model\n", v);
        return 2;
    }
    char desc[512];
    if (!gpu_probe(desc, sizeof desc))
        return cli_fail(1, desc);
    printf("device: %s\n", desc);
    fflush(stdout);
    int fails = 0;
    if ((parts & ST_KERNELS) && (fails = gpu_selftest_kernels(stdout, seed, err, sizeof err)) < 0)
        return cli_fail(1, err);
    if (dir && (parts & (ST_MODEL | ST_BATCH))) {
        eng_model *m = NULL;
        if (eng_model_load(dir, args_get(o, no, "weights"), &m, err, sizeof err))
            return cli_fail(1, err);
        if (m->weight_dtype != ST_BF16) {
            eng_model_free(m);
            return cli_fail(1, "gpu-selftest --model needs bf16 weights (the GPU rounds others to "
                               "bf16, so the CPU would compute with different weights): pass a "
                               "bf16 file with --weights");
        }
        if (parts & ST_MODEL)
            fails += selftest_model(m, L, N, seed);
        if (parts & ST_BATCH)
            fails += gpu_batch_selftest(m, L, N, seed);
        eng_model_free(m);
    }
    printf("%d check%s failed\n", fails, fails == 1 ? "" : "s");
    return fails ? 1 : 0;
}

/* ---------------------------------------------------------------- bench */

int cli_gpu_bench(int argc, char **argv)
{
    args_opt o[] = {{"model", 1, NULL}, {"weights", 1, NULL}, {"context", 1, NULL},
                    {"tokens", 1, NULL}, {"bw-bytes", 1, NULL}, {"help", 0, NULL}};
    int no = (int)(sizeof o / sizeof o[0]);
    char err[2048];
    if (args_parse(argc, argv, o, no, err, sizeof err)) {
        fprintf(stderr, "zeval bench gpu: %s\n%s", err, bench_usage);
        return 2;
    }
    if (args_get(o, no, "help")) {
        fputs(bench_usage, stdout);
        return 0;
    }
    const char *dir = args_get(o, no, "model"), *v;
    if (!dir) {
        fprintf(stderr, "zeval bench gpu: --model is required\n%s", bench_usage);
        return 2;
    }
    long N = 32, bwb = 1L << 30;
    int *ctxs = NULL, nctx = 0;
    if (((v = args_get(o, no, "tokens")) && args_count(v, "--tokens", &N, err, sizeof err)) ||
        ((v = args_get(o, no, "bw-bytes")) && args_count(v, "--bw-bytes", &bwb, err, sizeof err)) ||
        args_ids(args_get(o, no, "context") ? args_get(o, no, "context") : "1024,16384", &ctxs,
                 &nctx, err, sizeof err)) {
        fprintf(stderr, "zeval bench gpu: %s\n", err);
        free(ctxs);
        return 2;
    }
    char desc[512];
    if (!gpu_probe(desc, sizeof desc)) {
        free(ctxs);
        return cli_fail(1, desc);
    }
    int maxctx = 0;
    for (int i = 0; i < nctx; i++)
        maxctx = ctxs[i] > maxctx ? ctxs[i] : maxctx;
    eng_model *m = NULL;
    if (eng_model_load(dir, args_get(o, no, "weights"), &m, err, sizeof err)) {
        free(ctxs);
        return cli_fail(1, err);
    }
    double t0 = ut_now();
    gpu_ctx *g = gpu_open(m, maxctx + (int)N + 2, err, sizeof err);
    if (!g) {
        eng_model_free(m);
        free(ctxs);
        return cli_fail(1, err);
    }
    printf("device: %s\nupload: %.1f s\n", desc, ut_now() - t0);
    double bw = gpu_copy_bandwidth((size_t)bwb, 5, err, sizeof err);
    if (bw < 0) {
        gpu_close(g);
        eng_model_free(m);
        free(ctxs);
        return cli_fail(1, err);
    }
    printf("copy bandwidth: %.0f GB/s (device to device, read + write, %.2f GB, best of 5)\n", bw,
           (double)bwb / 1e9);
    int blocks = 0, phases = 0;
    double bar_us = -1;
    if (gpu_step_shape(g, &blocks, &phases, err, sizeof err) ||
        (bar_us = gpu_barrier_us(g, 1000, err, sizeof err)) < 0) {
        gpu_close(g);
        eng_model_free(m);
        free(ctxs);
        return cli_fail(1, err);
    }
    printf("persistent step: %d phases on %d blocks of 128 threads; one grid barrier alone "
           "%.2f us (best of 3 x 1000), %.3f ms for the step's %d\n", phases, blocks, bar_us,
           bar_us * (phases - 1) * 1e-3, phases - 1);
    int status = 0;
    for (int i = 0; i < nctx && !status; i++)
        for (size_t mi = 0; mi < sizeof bench_rows / sizeof bench_rows[0] && !status; mi++) {
            int ctx = ctxs[i], pf = bench_rows[mi].pf, pdl = bench_rows[mi].pdl;
            int a8 = bench_rows[mi].attn8;
            if (pdl && !gpu_pdl_built())
                continue;
            gpu_set_step(g, bench_rows[mi].mode);
            gpu_set_prefetch(g, pf);
            gpu_set_pdl(g, pdl);
            gpu_set_seq_attn(g, a8);
            double bytes = 0, t = 0;
            if (gpu_reset(g, maxctx + (int)N + 2, err, sizeof err) ||
                gpu_seek(g, ctx > 0 ? ctx - 1 : 0, err, sizeof err) ||
                gpu_step(g, 2, NULL, 0, NULL, err, sizeof err)) { /* untimed */
                status = 1;
                break;
            }
            for (long k = 0; k < N; k++) {
                int32_t tok = (int32_t)(smp_rng(7, (uint64_t)k) % (uint64_t)m->cfg.vocab);
                double ts = ut_now();
                if (gpu_step(g, tok, NULL, 0, NULL, err, sizeof err)) {
                    status = 1;
                    break;
                }
                t += ut_now() - ts;
                bytes += gpu_step_bytes(g, gpu_len(g));
            }
            if (status)
                break;
            double gbs = bytes / t / 1e9;
            const char *ran = gpu_step_name(gpu_ran_step(g));
            printf("decode context %d, %s%s%s%s: %.1f tok/s, %.3f ms/step, %.3f GB/step, %.0f GB/s "
                   "= %.3f of the copy bandwidth\n", ctx,
                   ran ? ran : "?", a8 ? " with attention in 8-key steps" : "",
                   pdl ? " with PDL" : "", pf ? " with L2 prefetches" : "",
                   (double)N / t, t / (double)N * 1e3, bytes / (double)N / 1e9, gbs, gbs / bw);
            fflush(stdout);
            if (bench_rows[mi].mode == GPU_STEP_GRAPH)
                continue;
            /* Where the time goes: the same steps with an event per launch. */
            if (gpu_profile(g, 1, err, sizeof err) ||
                gpu_reset(g, maxctx + (int)N + 2, err, sizeof err) ||
                gpu_seek(g, ctx > 0 ? ctx - 1 : 0, err, sizeof err)) {
                status = 1;
                break;
            }
            for (long k = 0; k <= N && !status; k++)
                status = gpu_step(g, 2, NULL, 0, NULL, err, sizeof err) != 0;
            if (status)
                break;
            printf("decode context %d, %s%s, time per kind of %s:\n", ctx,
                   gpu_step_name(gpu_ran_step(g)), a8 ? " with attention in 8-key steps" : "",
                   gpu_ran_step(g) == GPU_STEP_PLAIN ? "kernel" : "phase");
            gpu_profile_print(g, stdout);
            if (gpu_profile(g, 0, err, sizeof err)) {
                status = 1;
                break;
            }
        }
    if (!status)
        cli_print_routing(gpu_routing(g), &m->cfg);
    if (status)
        cli_fail(1, err);
    gpu_close(g);
    eng_model_free(m);
    free(ctxs);
    return status;
}
