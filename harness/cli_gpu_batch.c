/*
 * cli_gpu_batch.c — the batched GPU engine's checks (part of `zeval
 * gpu-selftest --model`) and `zeval bench gpu-batch`.
 *
 * The checks: a sequence through the batched engine against the CPU
 * backend, its K/V rounded as the device's cache holds them (logits
 * within 1e-2, greedy tokens identical); the same
 * sequence again, its prompt cut into other runs, forked from a shared
 * prefix and batched with two other sequences, giving bit-identical
 * logits at every step; and a full K/V cache refusing a step with a
 * message while keeping every sequence as it was.
 */
#include "cli.h"

#include "../engine/gpu/gpu.h"
#include "../engine/model.h"
#include "../engine/sampler.h"
#include "../engine/util.h"
#include "args.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A random prompt of n tokens starting with BOS. */
static void rand_prompt(const eng_model *m, int32_t *p, int n, uint64_t seed)
{
    int V = m->cfg.vocab;
    p[0] = m->cfg.bos_id >= 0 && m->cfg.bos_id < V ? m->cfg.bos_id : 0;
    for (int i = 1; i < n; i++)
        p[i] = (int32_t)(smp_rng(seed, (uint64_t)i) % (uint64_t)V);
}

/* Feeds A's prompt (L tokens) in runs of `run` tokens, the last of them
 * alone, alongside B and C decoding; A is a fork of a sequence holding
 * its first L-1 tokens when fork is set.  Then decodes A's N tokens
 * greedily, B and C leaving part-way.  Logits of A's N+1 steps (the last
 * prompt token, then each decode token) to out, its greedy tokens to
 * toks.
 * Returns 0, or -1 with a message. */
static int run_mixed(gpu_batch *b, const eng_model *m, const int32_t *pa, int L, int N, int run,
                     int fork, float *out, int32_t *toks, char *err, size_t errlen)
{
    int V = m->cfg.vocab, rc = -1;
    int32_t pb[40], pc[7];
    rand_prompt(m, pb, 40, 77);
    rand_prompt(m, pc, 7, 78);
    int sa = -1, sb = gpu_batch_seq_new(b, err, errlen), sc = gpu_batch_seq_new(b, err, errlen);
    int holder = -1;
    float *lb = malloc((size_t)V * sizeof(float));
    if (sb < 0 || sc < 0 || !lb)
        goto out;
    int32_t tb = 0, tc = 0;
    /* B's prompt and C's prompt first, in one step. */
    gpu_run r0[2] = {{sb, pb, 40, NULL, 0, &tb, 0.0, 0.0, 0, 0.0, 0.0}, {sc, pc, 7, lb, 0, &tc, 0.0, 0.0, 0, 0.0, 0.0}};
    if (gpu_batch_step(b, r0, 2, err, errlen))
        goto out;
    if (fork) {
        if ((holder = gpu_batch_seq_new(b, err, errlen)) < 0)
            goto out;
        for (int at = 0; at < L - 1; at += run) {
            int n = L - 1 - at < run ? L - 1 - at : run;
            gpu_run r = {holder, pa + at, n, NULL, 0, NULL, 0.0, 0.0, 0, 0.0, 0.0};
            if (gpu_batch_step(b, &r, 1, err, errlen))
                goto out;
        }
        if ((sa = gpu_batch_seq_fork(b, holder, err, errlen)) < 0)
            goto out;
        gpu_batch_seq_free(b, holder); /* the fork keeps the shared pages */
        holder = -1;
    } else {
        if ((sa = gpu_batch_seq_new(b, err, errlen)) < 0)
            goto out;
        for (int at = 0; at < L - 1; at += run) {
            int n = L - 1 - at < run ? L - 1 - at : run;
            int32_t nbt = tb, nct = tc;
            gpu_run r[3] = {{sa, pa + at, n, NULL, 0, NULL, 0.0, 0.0, 0, 0.0, 0.0},
                            {sb, &nbt, 1, NULL, 0, &tb, 0.0, 0.0, 0, 0.0, 0.0},
                            {sc, &nct, 1, NULL, 0, &tc, 0.0, 0.0, 0, 0.0, 0.0}};
            if (gpu_batch_step(b, r, 3, err, errlen))
                goto out;
        }
    }
    int32_t cur = pa[L - 1];
    for (int k = 0; k <= N; k++) {
        int32_t nbt = tb, nct = tc, am;
        gpu_run r[3];
        int nr = 0;
        /* B and C leave part-way, so A's later steps run with fewer. */
        if (k < N / 2)
            r[nr++] = (gpu_run){sb, &nbt, 1, NULL, 0, &tb, 0.0, 0.0, 0, 0.0, 0.0};
        r[nr++] = (gpu_run){sa, &cur, 1, out + (size_t)k * V, 0, &am, 0.0, 0.0, 0, 0.0, 0.0};
        if (k < 3 * N / 4)
            r[nr++] = (gpu_run){sc, &nct, 1, lb, 0, &tc, 0.0, 0.0, 0, 0.0, 0.0};
        if (gpu_batch_step(b, r, nr, err, errlen))
            goto out;
        toks[k] = am;
        cur = am;
    }
    rc = 0;
out:
    gpu_batch_seq_free(b, sa);
    gpu_batch_seq_free(b, sb);
    gpu_batch_seq_free(b, sc);
    gpu_batch_seq_free(b, holder);
    free(lb);
    return rc;
}

int gpu_batch_selftest(const eng_model *m, long Ll, long Nl, unsigned long long seed)
{
    char err[1024];
    int V = m->cfg.vocab, fails = 0, L = (int)Ll, N = (int)Nl;
    int32_t *pa = malloc((size_t)(L + N + 1) * sizeof *pa);
    int32_t *cpu_tok = malloc((size_t)(N + 1) * sizeof *cpu_tok);
    int32_t *gt = malloc((size_t)(N + 1) * sizeof *gt), *gt2 = malloc((size_t)(N + 1) * sizeof *gt2);
    float *lc = malloc((size_t)V * sizeof(float));
    float *lcs = malloc((size_t)(N + 1) * V * sizeof(float)); /* the CPU's, every step */
    float *lg = malloc((size_t)(N + 1) * V * sizeof(float));
    float *lg2 = malloc((size_t)(N + 1) * V * sizeof(float));
    float *lc32 = malloc((size_t)V * sizeof(float));
    eng_seq *s = eng_seq_new(m), *s32 = eng_seq_new(m);
    gpu_batch *b = NULL, *small = NULL;
    if (!pa || !cpu_tok || !gt || !gt2 || !lc || !lcs || !lg || !lg2 || !lc32 || !s || !s32) {
        printf("FAIL batch: out of memory\n");
        fails++;
        goto done;
    }
    rand_prompt(m, pa, L, seed);
    if (!(b = gpu_batch_open(m, 8, L + N + 64, L + 64,
                             (long long)8 * ((L + N + 64 + GPU_PAGE - 1) / GPU_PAGE * GPU_PAGE),
                             err, sizeof err))) {
        printf("FAIL batch open: %s\n", err);
        fails++;
        goto done;
    }
    /* 1. The prompt as one run, then greedy decoding, against the CPU,
     * which rounds its K/V as the device cache holds them; an f32-cache
     * CPU run beside it says what a bf16 cache itself costs. */
    int kvb = strcmp(gpu_batch_kv_dtype(b), "bf16") == 0;
    eng_seq_kv_bf16(s, kvb);
    int sa = gpu_batch_seq_new(b, err, sizeof err);
    int32_t am = 0;
    gpu_run r = {sa, pa, L, lg, 0, &am, 0.0, 0.0, 0, 0.0, 0.0};
    if (sa < 0 || gpu_batch_step(b, &r, 1, err, sizeof err)) {
        printf("FAIL batch prefill: %s\n", err);
        fails++;
        goto done;
    }
    gt[0] = am;
    int graphed = 0;
    for (int k = 1; k <= N; k++) {
        gpu_run d = {sa, &gt[k - 1], 1, lg + (size_t)k * V, 0, &gt[k], 0.0, 0.0, 0, 0.0, 0.0};
        if (gpu_batch_step(b, &d, 1, err, sizeof err)) {
            printf("FAIL batch decode step %d: %s\n", k, err);
            fails++;
            goto done;
        }
        graphed += gpu_batch_ran_graph(b);
    }
    gpu_batch_seq_free(b, sa);
    /* A repeated step shape runs as a captured graph from its second step. */
    fails += N >= 2 && graphed < N - 1;
    printf("%s batch graphs: %d of %d decode steps ran as captured graphs\n",
           N < 2 || graphed >= N - 1 ? "PASS" : "FAIL", graphed, N);
    eng_chunk ch[2] = {{s, pa, L, lc, 0}, {s32, pa, L, lc32, 0}};
    double worst = 0, worst32 = 0;
    int worst_at = 0, diverged = -1;
    for (int k = 0; k <= N; k++) {
        if (eng_forward(m, ch, kvb ? 2 : 1, err, sizeof err)) {
            printf("FAIL batch CPU forward: %s\n", err);
            fails++;
            goto done;
        }
        double e = cli_relerr(lg + (size_t)k * V, lc, (size_t)V);
        if (e > worst)
            worst = e, worst_at = k;
        if (kvb && (e = cli_relerr(lg + (size_t)k * V, lc32, (size_t)V)) > worst32)
            worst32 = e;
        memcpy(lcs + (size_t)k * V, lc, (size_t)V * sizeof(float));
        cpu_tok[k] = (int32_t)smp_argmax(lc, V);
        if (diverged < 0 && cpu_tok[k] != gt[k])
            diverged = k;
        if (gt[k] != smp_argmax(lg + (size_t)k * V, V)) {
            printf("FAIL batch device argmax at step %d\n", k);
            fails++;
        }
        ch[0].ids = ch[1].ids = &cpu_tok[k];
        ch[0].n = ch[1].n = 1;
    }
    fails += worst > 1e-2;
    printf("%s batch logits: worst relative error %.3g at step %d against the CPU backend "
           "(limit 1e-2; a %d-token prompt as one run, then %d decode steps; K/V cache %s%s)\n",
           worst <= 1e-2 ? "PASS" : "FAIL", worst, worst_at, L, N, gpu_batch_kv_dtype(b),
           kvb ? ", the CPU's rounded alike" : "");
    if (kvb) { /* the device rounds as the CPU was told to: nearer it than to f32 */
        fails += !(worst < worst32);
        printf("%s batch K/V cache bf16: logits within %.3g of the CPU's rounded alike, %.3g of "
               "an f32-cache CPU run's (the cache's own rounding)\n",
               worst < worst32 ? "PASS" : "FAIL", worst, worst32);
    }
    fails += diverged >= 0;
    if (diverged < 0)
        printf("PASS batch greedy tokens: %d of %d identical to the CPU backend\n", N + 1, N + 1);
    else
        printf("FAIL batch greedy tokens: first difference at step %d (CPU %d, GPU %d)\n",
               diverged, cpu_tok[diverged], gt[diverged]);
    /* 2. Batch invariance: other runs, other company, a fork.  The SIMT
     * attention kernels (tile, warp, pipe) give the same logits bit for
     * bit; the tensor-core one sums in another order, so where the variant
     * and the batch's own kernel are not of one kind, the variant is held
     * to the CPU instead (the limit and greedy tokens of part 1); its own
     * invariance is checked by a run with ZEVAL_GPU_ATTN=mma. */
    /* attn: the attention kernel, -1 for the one the batch was opened with */
    struct { int run, fork, graphs, attn; const char *what; } var[] = {
        {3, 0, 1, -1, "prompt in runs of 3 tokens, batched with 2 other sequences"},
        {5, 1, 1, -1, "forked from a shared prefix fed in runs of 5"},
        {1, 0, 1, -1, "prompt one token per step, batched with 2 other sequences"},
        {2, 0, 0, -1, "plain launches (no graphs), prompt in runs of 2"},
        {3, 0, 1, GPU_ATTN_TILE, "attention in tiles (ZEVAL_GPU_ATTN=tile), prompt in runs of 3"},
        {3, 0, 1, GPU_ATTN_WARP, "attention a warp per token (ZEVAL_GPU_ATTN=warp), prompt in runs of 3"},
        {2, 0, 1, GPU_ATTN_PIPE, "attention tiles pipelined (ZEVAL_GPU_ATTN=pipe), prompt in runs of 2"},
        {3, 0, 1, GPU_ATTN_MMA, "attention on tensor cores (ZEVAL_GPU_ATTN=mma), prompt in runs of 3"},
    };
    int attn0 = gpu_batch_attn(b);
    for (size_t v = 0; v < sizeof var / sizeof var[0]; v++) {
        gpu_batch_use_graphs(b, var[v].graphs);
        if (gpu_batch_set_attn(b, var[v].attn < 0 ? attn0 : var[v].attn, err, sizeof err)) {
            printf("SKIP batch invariance (%s): %s\n", var[v].what, err);
            continue;
        }
        memset(lg2, 0, (size_t)(N + 1) * V * sizeof(float));
        if (run_mixed(b, m, pa, L, N, var[v].run, var[v].fork, lg2, gt2, err, sizeof err)) {
            printf("FAIL batch invariance (%s): %s\n", var[v].what, err);
            fails++;
            continue;
        }
        int kind = gpu_batch_attn(b);
        if ((kind == GPU_ATTN_MMA) != (attn0 == GPU_ATTN_MMA)) {
            double we = 0;
            for (int k = 0; k <= N; k++) {
                double e = cli_relerr(lg2 + (size_t)k * V, lcs + (size_t)k * V, (size_t)V);
                we = e > we ? e : we;
            }
            int toks = memcmp(cpu_tok, gt2, (size_t)(N + 1) * sizeof *gt2) == 0;
            int ok = we <= 1e-2 && toks;
            fails += !ok;
            printf("%s batch, another attention kind: %s: worst relative error %.3g against the "
                   "CPU backend (limit 1e-2), greedy tokens %s\n", ok ? "PASS" : "FAIL",
                   var[v].what, we, toks ? "identical" : "differ");
            continue;
        }
        int same = memcmp(lg, lg2, (size_t)(N + 1) * V * sizeof(float)) == 0 &&
                   memcmp(gt, gt2, (size_t)(N + 1) * sizeof *gt) == 0;
        fails += !same;
        printf("%s batch invariance: %s: logits of all %d steps %s\n", same ? "PASS" : "FAIL",
               var[v].what, N + 1, same ? "bit-identical" : "differ");
    }
    gpu_batch_use_graphs(b, 1);
    (void)gpu_batch_set_attn(b, attn0, err, sizeof err);
    long long fp = gpu_batch_free_pages(b);
    int nopages = fp == (L + N + 64 + GPU_PAGE - 1) / GPU_PAGE * 8;
    fails += !nopages;
    printf("%s batch pages: %lld free after every sequence ended (of %d)\n",
           nopages ? "PASS" : "FAIL", fp, (L + N + 64 + GPU_PAGE - 1) / GPU_PAGE * 8);
    /* 3. A full cache: the step is refused, nothing changes. */
    if (!(small = gpu_batch_open(m, 2, 4 * GPU_PAGE, 256, 2 * GPU_PAGE, err, sizeof err))) {
        printf("FAIL batch open (2 pages): %s\n", err);
        fails++;
        goto done;
    }
    int s1 = gpu_batch_seq_new(small, err, sizeof err), s2 = gpu_batch_seq_new(small, err, sizeof err);
    int32_t *fill = malloc(2 * GPU_PAGE * sizeof *fill);
    int ok = s1 >= 0 && s2 >= 0 && fill;
    if (ok) {
        rand_prompt(m, fill, 2 * GPU_PAGE, seed + 1);
        gpu_run f = {s1, fill, GPU_PAGE + 1, NULL, 0, NULL, 0.0, 0.0, 0, 0.0, 0.0};
        ok = gpu_batch_step(small, &f, 1, err, sizeof err) == 0;
    }
    int refused = 0;
    char msg[1024] = "";
    if (ok) {
        gpu_run g2[2] = {{s1, fill, 1, NULL, 0, NULL, 0.0, 0.0, 0, 0.0, 0.0},
                         {s2, fill, 2, NULL, 0, NULL, 0.0, 0.0, 0, 0.0, 0.0}};
        refused = gpu_batch_step(small, g2, 2, msg, sizeof msg) != 0;
    }
    int kept = ok && gpu_batch_seq_len(small, s1) == GPU_PAGE + 1 && gpu_batch_seq_len(small, s2) == 0 &&
               gpu_batch_free_pages(small) == 0;
    int named = strstr(msg, "K/V cache is full") != NULL;
    fails += !(refused && kept && named);
    printf("%s batch full cache: %s\n", refused && kept && named ? "PASS" : "FAIL",
           !ok ? err : refused ? msg : "a step past the last page was accepted");
    free(fill);
done:
    gpu_batch_close(b);
    gpu_batch_close(small);
    eng_seq_free(s);
    eng_seq_free(s32);
    free(lc32);
    free(pa);
    free(cpu_tok);
    free(gt);
    free(gt2);
    free(lc);
    free(lcs);
    free(lg);
    free(lg2);
    return fails;
}

/* ---------------------------------------------------------------- bench */

static const char bb_usage[] =
    "usage: zeval bench gpu-batch --model DIR [--weights FILE] [--batch B1,B2,...]\n"
    "                             [--context L] [--tokens N] [--prefill P] [--step S]\n"
    "                             [--gemm-tflops R] [--bw-bytes BYTES] [--attn K1,K2,...]\n"
    "                             [--bmm M1,M2,...]\n"
    "  aggregate decode throughput of B sequences at context L (N timed steps, every\n"
    "  sequence one token per step) on the batched GPU engine, each against its roofline:\n"
    "  max(bytes per step / measured copy bandwidth, FLOPs per step / GEMM rate); then the\n"
    "  prefill of one P-token prompt in runs of S tokens against the GEMM rate.  R: a bf16\n"
    "  GEMM rate measured elsewhere in the same run (TFLOP/s, e.g. by bench/hf_zaya.py);\n"
    "  without it, the engine's own product on 4096^3 is measured and used.  --attn K1,K2:\n"
    "  all of it for each attention kind named (tile, warp, pipe, mma), in one upload.\n"
    "  --bmm M1,M2: all of that for each set of product kernels named (tensor, direct,\n"
    "  simt, plain, blas: ZEVAL_GPU_BMM's values), in the same upload.\n";

/* Decode step st of the bench: one pseudo-random token of each of the B
 * sequences (the same tokens for the same st), greedy. */
static int decode_step(gpu_batch *b, const int *seqs, int B, long st, int V, int32_t *toks,
                       gpu_run *runs, int32_t *am, char *err, size_t errlen)
{
    for (int k = 0; k < B; k++) {
        toks[k] = (int32_t)(smp_rng(7 + (uint64_t)k, (uint64_t)st) % (uint64_t)V);
        runs[k] = (gpu_run){seqs[k], &toks[k], 1, NULL, 0, &am[k], 0.0, 0.0, 0, 0.0, 0.0};
    }
    return gpu_batch_step(b, runs, B, err, errlen);
}

/* The decode rows of bench gpu-batch (each batch size of bs at context
 * ctx, N timed steps, then 3 profiled) and the P-token prefill in runs of
 * S with its last run profiled, on b's attention as it is set.  0, or -1
 * with a message in err. */
static int bench_rows(gpu_batch *b, const eng_model *m, const int *bs, int nb, long ctx, long N,
                      long P, long S, double bw, double rate, int *seqs, gpu_run *runs,
                      int32_t *toks, int32_t *am, int32_t *prompt, char *err, size_t errlen)
{
    int V = m->cfg.vocab;
    for (int i = 0; i < nb; i++) {
        int B = bs[i];
        for (int k = 0; k < B; k++)
            seqs[k] = -1;
        int bad = 0;
        for (int k = 0; k < B && !bad; k++)
            bad = (seqs[k] = gpu_batch_seq_new(b, err, errlen)) < 0 ||
                  gpu_batch_seek(b, seqs[k], (int)ctx - 1, err, errlen);
        double t = 0, bytes = 0, flops = 0;
        int graphs = 0;
        for (long st = 0; st <= N && !bad; st++) {
            double ts = ut_now();
            bad = decode_step(b, seqs, B, st, V, toks, runs, am, err, errlen) != 0;
            if (st == 0 || bad)
                continue; /* the first step is untimed */
            t += ut_now() - ts;
            graphs += gpu_batch_ran_graph(b);
            bytes += gpu_batch_step_bytes(b, B, (int)ctx + (int)st);
            flops += gpu_batch_step_flops(b, B, (int)ctx + (int)st);
        }
        /* where the time goes: 3 more steps with an event after each kind */
        if (!bad)
            bad = gpu_batch_profile(b, 1, err, errlen) != 0;
        for (long st = N + 1; st <= N + 3 && !bad; st++)
            bad = decode_step(b, seqs, B, st, V, toks, runs, am, err, errlen) != 0;
        for (int k = 0; k < B; k++)
            gpu_batch_seq_free(b, seqs[k]);
        if (bad)
            return -1;
        double ms = t / (double)N * 1e3, gb = bytes / (double)N / 1e9, tf = flops / (double)N / 1e12;
        double roof = fmax(gb / bw, tf / rate) * 1e3; /* ms */
        printf("decode batch %d, context %ld: %.0f tok/s, %.3f ms/step; %.3f GB/step (%.0f GB/s, "
               "%.3f of the copy bandwidth), %.3f TFLOP/step (%.2f TFLOP/s, %.3f of the GEMM rate); "
               "roofline %.3f ms/step (%s-bound): %.3f of it; %d of %ld steps as graphs\n",
               B, ctx, (double)B * N / t, ms, gb, gb / (ms * 1e-3), gb / (ms * 1e-3) / bw, tf,
               tf / (ms * 1e-3), tf / (ms * 1e-3) / rate, roof,
               gb / bw >= tf / rate ? "bandwidth" : "compute", roof / ms, graphs, N);
        printf("decode batch %d, context %ld, time per kind of kernel:\n", B, ctx);
        gpu_batch_profile_print(b, stdout);
        if (gpu_batch_profile(b, 0, err, errlen))
            return -1;
        fflush(stdout);
    }
    if (P > 0) {
        int sq = gpu_batch_seq_new(b, err, errlen);
        if (sq < 0)
            return -1;
        for (long k = 0; k < P; k++)
            prompt[k] = (int32_t)(smp_rng(99, (uint64_t)k) % (uint64_t)V);
        double ts = ut_now(), flops = 0;
        int bad = 0;
        for (long at = 0; at < P && !bad; at += S) {
            int n = (int)(P - at < S ? P - at : S);
            gpu_run r = {sq, prompt + at, n, NULL, 0, at + n == P ? &am[0] : NULL, 0.0, 0.0, 0, 0.0, 0.0};
            bad = gpu_batch_step(b, &r, 1, err, errlen) != 0;
            /* per token at its own context: the dense path plus attention */
            for (int j = 0; j < n && !bad; j += 64)
                flops += gpu_batch_step_flops(b, n - j < 64 ? n - j : 64, (int)at + j + 1);
        }
        gpu_batch_seq_free(b, sq);
        if (bad)
            return -1;
        double t = ut_now() - ts;
        printf("prefill %ld tokens in runs of %ld: %.2f s, %.0f tok/s, %.2f TFLOP (%.2f TFLOP/s, "
               "%.3f of the GEMM rate)\n", P, S, t, (double)P / t, flops / 1e12,
               flops / t / 1e12, flops / t / 1e12 / rate);
        /* where the time goes: the last run again (the longest context,
         * where attention weighs most), on a new sequence fed the runs
         * before it unprofiled */
        int n0 = (int)(P - (P - 1) / S * S);
        long at0 = P - n0;
        if ((sq = gpu_batch_seq_new(b, err, errlen)) < 0)
            return -1;
        for (long at = 0; at < at0 && !bad; at += S) {
            gpu_run r = {sq, prompt + at, (int)S, NULL, 0, NULL, 0.0, 0.0, 0, 0.0, 0.0};
            bad = gpu_batch_step(b, &r, 1, err, errlen) != 0;
        }
        if (!bad)
            bad = gpu_batch_profile(b, 1, err, errlen) != 0;
        gpu_run r0 = {sq, prompt + at0, n0, NULL, 0, NULL, 0.0, 0.0, 0, 0.0, 0.0};
        if (!bad)
            bad = gpu_batch_step(b, &r0, 1, err, errlen) != 0;
        gpu_batch_seq_free(b, sq);
        if (bad)
            return -1;
        printf("prefill run of %d tokens at context %ld, time per kind of kernel:\n", n0, at0);
        gpu_batch_profile_print(b, stdout);
        if (gpu_batch_profile(b, 0, err, errlen))
            return -1;
    }
    return 0;
}

/* The kinds of a comma-separated list (each known to named, at most
 * once) into kinds[*n]; 0, or -1 having said why on stderr. */
static int kind_list(const char *opt, const char *list, int (*named)(const char *),
                     const char *known, int *kinds, int max, int *n)
{
    *n = 0;
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        char name[16];
        snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), p);
        int k = len < sizeof name ? named(name) : -1;
        if (k < 0 || *n == max) {
            fprintf(stderr, "zeval bench gpu-batch: %s '%s': a list of %s, each at most once\n",
                    opt, list, known);
            return -1;
        }
        for (int i = 0; i < *n; i++)
            if (kinds[i] == k) {
                fprintf(stderr, "zeval bench gpu-batch: %s '%s': %.*s twice\n", opt, list,
                        (int)len, p);
                return -1;
            }
        kinds[(*n)++] = k;
        p += len + (p[len] == ',');
    }
    if (*n == 0) {
        fprintf(stderr, "zeval bench gpu-batch: %s: no kind given\n", opt);
        return -1;
    }
    return 0;
}

int cli_gpu_batch_bench(int argc, char **argv)
{
    args_opt o[] = {{"model", 1, NULL},   {"weights", 1, NULL}, {"batch", 1, NULL},
                    {"context", 1, NULL}, {"tokens", 1, NULL},  {"prefill", 1, NULL},
                    {"step", 1, NULL},    {"gemm-tflops", 1, NULL}, {"bw-bytes", 1, NULL},
                    {"gemm-n", 1, NULL},  {"attn", 1, NULL},    {"bmm", 1, NULL},
                    {"help", 0, NULL}};
    int no = (int)(sizeof o / sizeof o[0]);
    char err[2048];
    if (args_parse(argc, argv, o, no, err, sizeof err)) {
        fprintf(stderr, "zeval bench gpu-batch: %s\n%s", err, bb_usage);
        return 2;
    }
    if (args_get(o, no, "help")) {
        fputs(bb_usage, stdout);
        return 0;
    }
    const char *dir = args_get(o, no, "model"), *v;
    if (!dir) {
        fprintf(stderr, "zeval bench gpu-batch: --model is required\n%s", bb_usage);
        return 2;
    }
    long ctx = 4096, N = 8, P = 8192, S = 2048, bwb = 1L << 30, gn = 4096;
    double rate = 0;
    int *bs = NULL, nb = 0;
    if (((v = args_get(o, no, "context")) && args_count(v, "--context", &ctx, err, sizeof err)) ||
        ((v = args_get(o, no, "tokens")) && args_count(v, "--tokens", &N, err, sizeof err)) ||
        ((v = args_get(o, no, "prefill")) && args_count(v, "--prefill", &P, err, sizeof err)) ||
        ((v = args_get(o, no, "step")) && args_count(v, "--step", &S, err, sizeof err)) ||
        ((v = args_get(o, no, "bw-bytes")) && args_count(v, "--bw-bytes", &bwb, err, sizeof err)) ||
        ((v = args_get(o, no, "gemm-n")) && args_count(v, "--gemm-n", &gn, err, sizeof err)) ||
        args_ids(args_get(o, no, "batch") ? args_get(o, no, "batch") : "64,256", &bs, &nb, err,
                 sizeof err)) {
        fprintf(stderr, "zeval bench gpu-batch: %s\n", err);
        free(bs);
        return 2;
    }
    if ((v = args_get(o, no, "gemm-tflops")) && (sscanf(v, "%lf", &rate) != 1 || rate <= 0)) {
        fprintf(stderr, "zeval bench gpu-batch: --gemm-tflops: '%s' is not a positive rate\n", v);
        free(bs);
        return 2;
    }
    /* --attn, --bmm: the kinds to time, in order (default: the one the batch opens with) */
    const char *attn_list = args_get(o, no, "attn"), *bmm_list = args_get(o, no, "bmm");
    int kinds[GPU_ATTN_KINDS], na = 1, bmms[GPU_BMM_KINDS], nm = 1;
    if ((attn_list && kind_list("--attn", attn_list, gpu_attn_named, "tile, warp, pipe and mma",
                                kinds, GPU_ATTN_KINDS, &na)) ||
        (bmm_list && kind_list("--bmm", bmm_list, gpu_bmm_named,
                               "tensor, direct, simt, plain and blas", bmms, GPU_BMM_KINDS,
                               &nm))) {
        free(bs);
        return 2;
    }
    int maxb = 1;
    for (int i = 0; i < nb; i++)
        maxb = bs[i] > maxb ? bs[i] : maxb;
    if (ctx < 2 || N < 1 || S < 1 || maxb < 1) {
        fprintf(stderr, "zeval bench gpu-batch: --context >= 2, --tokens, --step and --batch >= 1\n");
        free(bs);
        return 2;
    }
    char desc[512];
    if (!gpu_probe(desc, sizeof desc)) {
        free(bs);
        return cli_fail(1, desc);
    }
    eng_model *m = NULL;
    if (eng_model_load(dir, args_get(o, no, "weights"), &m, err, sizeof err)) {
        free(bs);
        return cli_fail(1, err);
    }
    int status = 1;
    /* a sequence holds ctx - 1 tokens, then the untimed step, N timed and 3 profiled */
    int mctx = (int)(ctx + N + 3 > P + 1 ? ctx + N + 3 : P + 1);
    int step = (int)(S > maxb ? S : maxb);
    long long kvt = (long long)maxb * (ctx + N + 3 + GPU_PAGE) + P + GPU_PAGE;
    double t0 = ut_now();
    gpu_batch *b = gpu_batch_open(m, maxb, mctx, step, kvt, err, sizeof err);
    int *seqs = malloc((size_t)maxb * sizeof *seqs);
    gpu_run *runs = malloc((size_t)maxb * sizeof *runs);
    int32_t *toks = malloc((size_t)maxb * sizeof *toks), *am = malloc((size_t)maxb * sizeof *am);
    int32_t *prompt = malloc((size_t)(P > 0 ? P : 1) * sizeof *prompt);
    if (!b || !seqs || !runs || !toks || !am || !prompt) {
        if (b)
            snprintf(err, sizeof err, "out of memory");
        goto done;
    }
    printf("device: %s\nupload: %.1f s; K/V cache %s; products on %s; attention by %s\n", desc,
           ut_now() - t0, gpu_batch_kv_dtype(b), gpu_batch_gemm_kind(b), gpu_batch_attn_kind(b));
    double bw = gpu_copy_bandwidth((size_t)bwb, 5, err, sizeof err);
    if (bw < 0)
        goto done;
    printf("copy bandwidth: %.0f GB/s (device to device, read + write, %.2f GB, best of 5)\n", bw,
           (double)bwb / 1e9);
    if (rate > 0) {
        printf("bf16 GEMM rate: %.1f TFLOP/s (given with --gemm-tflops)\n", rate);
    } else {
        rate = gpu_gemm_tflops((int)gn, err, sizeof err);
        if (rate < 0)
            goto done;
        printf("bf16 GEMM rate: %.3f TFLOP/s (this engine's own product, %ld^3, best of 3)\n", rate,
               gn);
    }
    fflush(stdout);
    for (int mi = 0; mi < nm; mi++) {
        if (bmm_list) { /* likewise (blas without cuBLAS) */
            if (gpu_batch_set_bmm(b, bmms[mi], err, sizeof err)) {
                printf("products %s: skipped: %s\n", gpu_bmm_name(bmms[mi]), err);
                continue;
            }
            printf("products: %s (ZEVAL_GPU_BMM=%s)\n", gpu_batch_gemm_kind(b),
                   gpu_bmm_name(bmms[mi]));
        }
        for (int ai = 0; ai < na; ai++) {
            if (attn_list) { /* a kind this cache or model cannot run is said and passed over */
                if (gpu_batch_set_attn(b, kinds[ai], err, sizeof err)) {
                    printf("attention %s: skipped: %s\n", gpu_attn_name(kinds[ai]), err);
                    continue;
                }
                printf("attention: %s (ZEVAL_GPU_ATTN=%s)\n", gpu_batch_attn_kind(b),
                       gpu_attn_name(kinds[ai]));
            }
            if (bench_rows(b, m, bs, nb, ctx, N, P, S, bw, rate, seqs, runs, toks, am, prompt,
                           err, sizeof err))
                goto done;
        }
    }
    cli_print_routing(gpu_batch_routing(b), &m->cfg);
    status = 0;
done:
    if (status)
        cli_fail(1, err);
    gpu_batch_close(b);
    eng_model_free(m);
    free(bs);
    free(seqs);
    free(runs);
    free(toks);
    free(am);
    free(prompt);
    return status;
}
