/*
 * selftest.hip — gpu_selftest_kernels (gpu.h): every kernel of kern.h on
 * fresh random inputs against a host reference written from the model
 * specification (double accumulation), one PASS/FAIL line per check.
 *
 * Limits: relative norm error ||gpu - ref|| / ||ref|| <= 1e-5 where only
 * f32 values are involved, <= 1e-2 where bf16 operands are; NaN or Inf
 * in a result never passes.  Integer results (routing, argmax) must be
 * equal.
 */
#include "bkern.h"
#include "gblas.h"
#include "kern.h"
#include "kern_dev.h"

#include "gpu.h"
extern "C" {
#include "../sampler.h"
}

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

typedef std::vector<float> vecf;
typedef std::vector<bf16> vecb;

static uint64_t rng_state;

static double urand(void) /* [0, 1) */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (double)((z ^ (z >> 31)) >> 11) * (1.0 / 9007199254740992.0);
}

static vecf rnd(size_t n, float lo, float hi)
{
    vecf v(n);
    for (size_t i = 0; i < n; i++)
        v[i] = lo + (hi - lo) * (float)urand();
    return v;
}

static vecb rnd_bf16(size_t n, float scale)
{
    vecb v(n);
    for (size_t i = 0; i < n; i++)
        v[i] = f2bf16(scale * (float)(2.0 * urand() - 1.0));
    return v;
}

/* Device copies freed at the end of the self-test. */
static std::vector<void *> owned;
static int dev_failed;

template <typename T> static T *dev(const std::vector<T> &h)
{
    void *p = NULL;
    size_t bytes = h.size() * sizeof(T);
    if (hipMalloc(&p, bytes ? bytes : 16) != hipSuccess) {
        dev_failed = 1;
        return NULL;
    }
    owned.push_back(p);
    if (bytes && hipMemcpy(p, h.data(), bytes, hipMemcpyHostToDevice) != hipSuccess)
        dev_failed = 1;
    return (T *)p;
}

template <typename T> static std::vector<T> host(const T *d, size_t n)
{
    std::vector<T> h(n);
    if (hipGetLastError() != hipSuccess || hipDeviceSynchronize() != hipSuccess ||
        hipMemcpy(h.data(), d, n * sizeof(T), hipMemcpyDeviceToHost) != hipSuccess)
        dev_failed = 1;
    return h;
}

static double relerr(const vecf &got, const vecf &ref)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < ref.size(); i++) {
        if (!isfinite(got[i]))
            return INFINITY;
        double dd = (double)got[i] - (double)ref[i];
        num += dd * dd;
        den += (double)ref[i] * ref[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static int fails;

static void report(FILE *out, const char *name, double err, double lim, const char *fmt = NULL,
                   ...)
{
    char extra[256] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(extra, sizeof extra, fmt, ap);
        va_end(ap);
    }
    int ok = err <= lim && !dev_failed;
    fails += !ok;
    fprintf(out, "%s %s: relative error %.3g (limit %.0e)%s%s%s\n", ok ? "PASS" : "FAIL", name, err,
            lim, extra[0] ? ", " : "", extra, dev_failed ? " [a device call failed]" : "");
}

static void report_eq(FILE *out, const char *name, int ok, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ok = ok && !dev_failed;
    fails += !ok;
    fprintf(out, "%s %s: %s%s\n", ok ? "PASS" : "FAIL", name, msg,
            dev_failed ? " [a device call failed]" : "");
}

static float bf(bf16 h)
{
    return bf16f(h);
}

static double dot_ref(const bf16 *w, const float *x, int n)
{
    double s = 0;
    for (int j = 0; j < n; j++)
        s += (double)bf(w[j]) * x[j];
    return s;
}

static gpu_io *dev_io(int token, int pos, int n_valid)
{
    std::vector<gpu_io> h(1);
    h[0].token = token;
    h[0].pos = pos;
    h[0].n_valid = n_valid;
    return dev(h);
}

/* ---------------------------------------------------------------- checks */

static void check_embed_norm(FILE *out)
{
    int H = 320, V = 7, rows[2] = {40, 9};
    vecb emb = rnd_bf16((size_t)V * H, 1.0f);
    vecf hs = rnd(H, 0.5f, 1.5f), hb = rnd(H, -0.1f, 0.1f), rs = rnd(H, 0.5f, 1.5f),
         rb = rnd(H, -0.1f, 0.1f), nw = rnd(H, 0.5f, 1.5f), y = rnd(H, -1, 1);
    float *res = dev(vecf(H)), *res2 = dev(vecf(H)), *xn = dev(vecf(H));
    float *dy = dev(y);
    const float *dhs = dev(hs), *dhb = dev(hb), *drs = dev(rs), *drb = dev(rb), *dn = dev(nw);
    gpu_io *io = dev_io(5, 0, 0);
    vecb w[2];
    gemv_set set;
    memset(&set, 0, sizeof set);
    for (int i = 0; i < 2; i++) {
        w[i] = rnd_bf16((size_t)rows[i] * H, 0.1f);
        set.w[i] = dev(w[i]);
        set.y[i] = dev(vecf(rows[i]));
        set.rows[i] = rows[i];
    }
    set.n = 2;
    if (dev_failed)
        return;
    kl_embed(0, dev(emb), H, io, dhs, dhb, res, NULL);
    vecf r0(H);
    for (int i = 0; i < H; i++)
        r0[i] = (bf(emb[(size_t)5 * H + i]) + hb[i]) * hs[i];
    report(out, "embed", relerr(host(res, H), r0), 1e-5, "H=%d", H);
    merge_w mw = {dhs, dhb, drs, drb};
    for (int merge = 0; merge < 2; merge++) {
        norm_in nin = {res, dy, res2, xn, mw, merge, dn, 1e-5f};
        kl_gemv(0, &set, NULL, H, &nin, io, NULL);
        vecf r1 = r0;
        if (merge)
            for (int i = 0; i < H; i++)
                r1[i] = (r0[i] + rb[i]) * rs[i] + (y[i] + hb[i]) * hs[i];
        double ss = 0;
        for (int i = 0; i < H; i++)
            ss += (double)r1[i] * r1[i];
        double inv = 1.0 / sqrt(ss / H + 1e-5);
        vecf ref(H);
        for (int i = 0; i < H; i++)
            ref[i] = (float)(nw[i] * r1[i] * inv);
        double e1 = relerr(host(xn, H), ref), e2 = relerr(host(res2, H), r1);
        report(out, merge ? "merge + rmsnorm (in a product)" : "rmsnorm (in a product)",
               e1 > e2 ? e1 : e2, 1e-5, "H=%d", H);
        double worst = 0;
        for (int i = 0; i < 2; i++) {
            vecf yr(rows[i]);
            for (int r = 0; r < rows[i]; r++)
                yr[r] = (float)dot_ref(&w[i][(size_t)r * H], ref.data(), H);
            double e = relerr(host(set.y[i], rows[i]), yr);
            worst = e > worst ? e : worst;
        }
        report(out, merge ? "gemv on the merged, normalised input" : "gemv on the normalised input",
               worst, 1e-2);
        r0 = r1;
        float *t = res;
        res = res2;
        res2 = t;
    }
}

static void check_gemv(FILE *out)
{
    int cols = 2048, rows[3] = {1000, 37, 8};
    vecf x = rnd(cols, -1, 1);
    float *dx = dev(x);
    gemv_set set;
    memset(&set, 0, sizeof set);
    vecb w[3];
    vecf b[3];
    for (int i = 0; i < 3; i++) {
        w[i] = rnd_bf16((size_t)rows[i] * cols, 0.05f);
        b[i] = rnd(rows[i], -1, 1);
        set.w[i] = dev(w[i]);
        set.bias[i] = i == 1 ? NULL : dev(b[i]);
        set.y[i] = dev(vecf(rows[i]));
        set.rows[i] = rows[i];
    }
    set.n = 3;
    set.pslot[2] = rows[2]; /* into slot (pos + 1) % 2 = 0 of y[2] */
    set.y[2] = dev(vecf(2 * rows[2], -7.0f));
    if (dev_failed)
        return;
    kl_gemv(0, &set, dx, cols, NULL, dev_io(0, 3, 0), NULL);
    double worst = 0;
    for (int i = 0; i < 3; i++) {
        vecf ref(rows[i]);
        for (int r = 0; r < rows[i]; r++)
            ref[r] = (float)(dot_ref(&w[i][(size_t)r * cols], x.data(), cols) + (i == 1 ? 0 : b[i][r]));
        double e = relerr(host(set.y[i], rows[i]), ref);
        worst = e > worst ? e : worst;
    }
    vecf other = host(set.y[2] + rows[2], rows[2]); /* slot 1: untouched */
    for (int r = 0; r < rows[2]; r++)
        worst = other[r] != -7.0f ? INFINITY : worst;
    report(out, "gemv bf16 (3 products, 2048 cols, one into a position slot)", worst, 1e-2);
    /* a narrow one */
    int c2 = 8, r2 = 5;
    vecb w2 = rnd_bf16((size_t)r2 * c2, 1.0f);
    vecf x2 = rnd(c2, -1, 1);
    gemv_set one;
    memset(&one, 0, sizeof one);
    one.w[0] = dev(w2);
    one.y[0] = dev(vecf(r2));
    one.rows[0] = r2;
    one.n = 1;
    if (dev_failed)
        return;
    kl_gemv(0, &one, dev(x2), c2, NULL, dev_io(0, 0, 0), NULL);
    vecf ref2(r2);
    for (int r = 0; r < r2; r++)
        ref2[r] = (float)dot_ref(&w2[(size_t)r * c2], x2.data(), c2);
    report(out, "gemv bf16 (8 cols)", relerr(host(one.y[0], r2), ref2), 1e-2);
}

/* One 16 x 8 x 16 tile product, D = A B + C, by mma_bf16_16816 (which =
 * 0: the tensor cores where there are) or mma_bf16_16816_lanes (1), the
 * fragments built from A [16][16], B [16][8] and C [16][8] in memory by
 * the layout kern_dev.h states. */
__global__ void k_mma_check(const bf16 *A, const bf16 *B, const float *C, float *D, int which)
{
    int lane = (int)threadIdx.x, g = lane >> 2, t = lane & 3;
    uint32_t a[4] = {bf16x2(A[g * 16 + 2 * t], A[g * 16 + 2 * t + 1]),
                     bf16x2(A[(g + 8) * 16 + 2 * t], A[(g + 8) * 16 + 2 * t + 1]),
                     bf16x2(A[g * 16 + 2 * t + 8], A[g * 16 + 2 * t + 9]),
                     bf16x2(A[(g + 8) * 16 + 2 * t + 8], A[(g + 8) * 16 + 2 * t + 9])};
    uint32_t b[2] = {bf16x2(B[2 * t * 8 + g], B[(2 * t + 1) * 8 + g]),
                     bf16x2(B[(2 * t + 8) * 8 + g], B[(2 * t + 9) * 8 + g])};
    float c[4] = {C[g * 8 + 2 * t], C[g * 8 + 2 * t + 1], C[(g + 8) * 8 + 2 * t],
                  C[(g + 8) * 8 + 2 * t + 1]};
    if (which)
        mma_bf16_16816_lanes(c, a, b);
    else
        mma_bf16_16816(c, a, b);
    D[g * 8 + 2 * t] = c[0];
    D[g * 8 + 2 * t + 1] = c[1];
    D[(g + 8) * 8 + 2 * t] = c[2];
    D[(g + 8) * 8 + 2 * t + 1] = c[3];
}

/* The tile product of the tensor-core products and its lane-exchange
 * version against the double reference: a wrong register layout shows as
 * an error of order 1. */
static void check_mma(FILE *out)
{
    const char *name[2] = {"tile product mma.m16n8k16 (bf16, f32 sums)",
                           "tile product by lane exchanges (16 x 8 x 16)"};
    for (int which = 0; which < 2; which++) {
        double worst = 0;
        for (int trial = 0; trial < 4 && !dev_failed; trial++) {
            vecb A = rnd_bf16(16 * 16, 1.0f), B = rnd_bf16(16 * 8, 1.0f);
            vecf C = rnd(16 * 8, -1, 1);
            float *dD = dev(vecf(16 * 8, NAN));
            const bf16 *dA = dev(A), *dB = dev(B);
            const float *dC = dev(C);
            if (dev_failed)
                return;
            hipLaunchKernelGGL(k_mma_check, dim3(1), dim3(32), 0, 0, dA, dB, dC, dD, which);
            vecf got = host(dD, 16 * 8), ref(16 * 8);
            for (int i = 0; i < 16; i++)
                for (int j = 0; j < 8; j++) {
                    double acc = C[i * 8 + j];
                    for (int k = 0; k < 16; k++)
                        acc += (double)bf(A[i * 16 + k]) * bf(B[k * 8 + j]);
                    ref[i * 8 + j] = (float)acc;
                }
            double e = relerr(got, ref);
            worst = e > worst ? e : worst;
        }
        report(out, name[which], worst, 1e-5, "4 random tiles");
    }
}

static void check_bgemm_kernels(FILE *out);

/* The batched products (kb_gemm, whichever kernels ZEVAL_GPU_BMM picks):
 * against the double reference, and every token's outputs bit-identical
 * whatever the step's token count and the token's place in it. */
static void check_bgemm(FILE *out)
{
    /* under ZEVAL_GPU_BMM=blas, whose values are not invariant (check_blas
     * checks them), the direct kernels it falls back to */
    int was = kb_gemm_mode();
    if (was == GPU_BMM_BLAS)
        kb_gemm_set(GPU_BMM_DIRECT);
    check_bgemm_kernels(out);
    kb_gemm_set(was);
}

static void check_bgemm_kernels(FILE *out)
{
    /* plain: N and K not multiples of the tiles, with a bias */
    int N = 200, K = 1032, Ts[4] = {1, 5, 37, 300}, Tmax = 300;
    vecb w = rnd_bf16((size_t)N * K, 0.05f);
    vecf x = rnd((size_t)Tmax * K, -1, 1), bias = rnd(N, -1, 1);
    const bf16 *dw = dev(w);
    float *dx = dev(x), *db = dev(bias), *dy = dev(vecf((size_t)Tmax * N));
    if (dev_failed)
        return;
    vecf ref((size_t)Tmax * N);
    for (int t = 0; t < Tmax; t++)
        for (int n = 0; n < N; n++)
            ref[(size_t)t * N + n] =
                (float)(dot_ref(&w[(size_t)n * K], &x[(size_t)t * K], K) + bias[n]);
    vecf first; /* token 0's outputs alone: every later run must repeat them */
    double worst = 0;
    int same = 1, split_same = 1;
    uint32_t *dsplit = (uint32_t *)dev(std::vector<float>((size_t)Tmax * K * 3 / 2 + 16));
    if (dev_failed)
        return;
    for (int i = 0; i < 4; i++) {
        int T = Ts[i];
        /* T tokens starting at row Tmax - T of x, so token Tmax - 1 sits
         * at every place from first to last across the runs */
        bgemm p = {dw, 0, db, N, K, dx + (size_t)(Tmax - T) * K, K, 0, NULL, dy, N, NULL, NULL, T,
                   NULL, NULL, 0, NULL, NULL};
        kb_gemm(0, &p);
        vecf got = host(dy, (size_t)T * N);
        vecf want(ref.begin() + (ptrdiff_t)(Tmax - T) * N, ref.end());
        double e = relerr(got, want);
        worst = e > worst ? e : worst;
        /* again with a scratch for the split inputs: the same bits */
        p.split = dsplit;
        kb_gemm(0, &p);
        vecf again = host(dy, (size_t)T * N);
        split_same &= memcmp(got.data(), again.data(), got.size() * sizeof(float)) == 0;
        vecf last(got.end() - N, got.end());
        if (i == 0)
            first = last;
        else
            same &= memcmp(first.data(), last.data(), (size_t)N * sizeof(float)) == 0;
    }
    report(out, "batched product (200 x 1032, 1, 5, 37 and 300 tokens)", worst, 1e-2,
           "one token's outputs %s at places 0, 4, 36 and 299; with a split scratch%s %s",
           same ? "bit-identical" : "DIFFER",
           kb_gemm_staged() ? " (the staged kernel for 300 tokens)" : "",
           split_same ? "bit-identical" : "DIFFERENT");
    if (!same || !split_same) {
        fails++;
        fprintf(out, "FAIL batched product invariance: %s\n",
                !same ? "a token's outputs changed with the token count or its place"
                      : "the outputs changed with a scratch for the split inputs");
    }

    /* grouped: 3 experts, SwiGLU input gathered by xidx, scaled rows
     * scattered by yidx, tiles of up to BG_BT rows; enough tokens that the
     * split inputs take the staged kernel (k_bmms: 128 rows a block, so
     * H = 136 leaves the second block 8; K = 200, a stage and a part, the
     * last chunk a single octet) */
    int E = 3, H = 136, I = 200, T = 160;
    vecb we = rnd_bf16((size_t)E * H * I, 0.1f);
    vecf a = rnd((size_t)T * 2 * I, -2, 2), sc = rnd(T, 0.2f, 1);
    std::vector<int> sel(T), perm, tiles;
    for (int t = 0; t < T; t++)
        sel[t] = (int)(urand() * E);
    for (int e = 0; e < E; e++) {
        int start = (int)perm.size();
        for (int t = 0; t < T; t++)
            if (sel[t] == e)
                perm.push_back(t);
        for (int r = start; r < (int)perm.size(); r += BG_BT) {
            int n = (int)perm.size() - r < BG_BT ? (int)perm.size() - r : BG_BT;
            tiles.insert(tiles.end(), {e, r, n});
        }
    }
    int nt = (int)tiles.size() / 3;
    std::vector<int> hnt(1, nt);
    const bf16 *dwe = dev(we);
    float *da = dev(a), *dsc = dev(sc), *dye = dev(vecf((size_t)T * H, NAN));
    int *dperm = dev(perm), *dtiles = dev(tiles), *dnt = dev(hnt);
    if (dev_failed)
        return;
    bgemm q = {dwe, (size_t)H * I, NULL, H, I, da, 2 * I, 1, dperm, dye, H, dperm, dsc, T, dtiles,
               dnt, nt + 2, NULL, NULL};
    kb_gemm(0, &q);
    vecf got = host(dye, (size_t)T * H), want((size_t)T * H);
    q.split = dsplit;
    kb_gemm(0, &q);
    vecf again = host(dye, (size_t)T * H);
    int gsame = memcmp(got.data(), again.data(), got.size() * sizeof(float)) == 0;
    for (int t = 0; t < T; t++) {
        vecf act(I);
        for (int j = 0; j < I; j++) {
            float u = a[(size_t)t * 2 * I + j];
            act[j] = u / (1.0f + expf(-u)) * a[(size_t)t * 2 * I + I + j];
        }
        for (int n = 0; n < H; n++)
            want[(size_t)t * H + n] =
                (float)(sc[t] * dot_ref(&we[((size_t)sel[t] * H + n) * I], act.data(), I));
    }
    report(out, "batched grouped product (3 experts, SwiGLU, gathered, scaled, 160 tokens)",
           gsame ? relerr(got, want) : INFINITY, 1e-2,
           "%d tiles; with a split scratch%s %s", nt,
           kb_gemm_staged() ? " (the staged kernel)" : "",
           gsame ? "bit-identical" : "DIFFERENT");
}

/* ZEVAL_GPU_BMM=blas's products (cuBLAS, or the emulation's reference
 * kernel): plain ones of at least 64 tokens against the double reference
 * (their inputs are split in three bf16 parts, so they lose nothing to
 * bf16: 1e-6, where two parts give 2.5e-6), through a gathered SwiGLU
 * input with scaled rows too; fewer tokens keep the direct kernels' bits. */
static void check_blas(FILE *out)
{
    char why[256];
    if (!gblas_ready(why, sizeof why)) {
        fprintf(out, "SKIP products on " GBLAS_LIB " (ZEVAL_GPU_BMM=blas): %s\n", why);
        return;
    }
    int was = kb_gemm_mode();
    int N = 200, K = 1032, T = 300;
    vecb w = rnd_bf16((size_t)N * K, 0.05f);
    vecf x = rnd((size_t)T * 2 * K, -2, 2), bias = rnd(N, -1, 1), sc = rnd(T, 0.2f, 1);
    std::vector<int> idx(T);
    for (int t = 0; t < T; t++)
        idx[t] = (t * 7) % T;
    const bf16 *dw = dev(w);
    float *dx = dev(x), *db = dev(bias), *dsc = dev(sc), *dy = dev(vecf((size_t)T * N, NAN));
    int *didx = dev(idx);
    uint32_t *dsplit = (uint32_t *)dev(std::vector<float>((size_t)T * 2 * K * 3 / 2 + 16));
    if (dev_failed)
        return;
    /* plain, with a bias: rows of x 2K apart */
    vecf ref((size_t)T * N), ref2((size_t)T * N), act(K);
    for (int t = 0; t < T; t++)
        for (int n = 0; n < N; n++)
            ref[(size_t)t * N + n] =
                (float)(dot_ref(&w[(size_t)n * K], &x[(size_t)t * 2 * K], K) + bias[n]);
    for (int t = 0; t < T; t++) {
        const float *xr = &x[(size_t)idx[t] * 2 * K];
        for (int k = 0; k < K; k++)
            act[k] = xr[k] / (1.0f + expf(-xr[k])) * xr[K + k];
        for (int n = 0; n < N; n++)
            ref2[(size_t)t * N + n] = (float)(sc[t] * dot_ref(&w[(size_t)n * K], act.data(), K));
    }
    kb_gemm_set(GPU_BMM_BLAS);
    bgemm p = {dw, 0, db, N, K, dx, 2 * K, 0, NULL, dy, N, NULL, NULL, T, NULL, NULL, 0, dsplit,
               NULL};
    kb_gemm(0, &p);
    vecf got = host(dy, (size_t)T * N);
    bgemm q = {dw, 0, NULL, N, K, dx, 2 * K, 1, didx, dy, N, NULL, dsc, T, NULL, NULL, 0, dsplit,
               NULL};
    kb_gemm(0, &q);
    vecf got2 = host(dy, (size_t)T * N);
    /* 37 tokens: the direct kernels, bit for bit */
    p.T = 37;
    kb_gemm(0, &p);
    vecf few = host(dy, (size_t)37 * N);
    kb_gemm_set(GPU_BMM_DIRECT);
    kb_gemm(0, &p);
    vecf direct = host(dy, (size_t)37 * N);

    /* grouped, as the experts' down projection: 3 experts and the skip
     * slot (its tokens last in perm, in no tile: their rows untouched),
     * SwiGLU input in expert order, rows scaled and scattered by perm */
    int E = 3, H = 136, I = 200, TG = 160;
    vecb we = rnd_bf16((size_t)E * H * I, 0.1f);
    vecf a = rnd((size_t)TG * 2 * I, -2, 2), gsc = rnd(TG, 0.2f, 1);
    std::vector<int> sel(TG), perm, tiles;
    for (int t = 0; t < TG; t++)
        sel[t] = (int)(urand() * (E + 1));
    for (int e = 0; e <= E; e++) {
        int start = (int)perm.size();
        for (int t = 0; t < TG; t++)
            if (sel[t] == e)
                perm.push_back(t);
        for (int r = start; e < E && r < (int)perm.size(); r += BG_BT) {
            int n = (int)perm.size() - r < BG_BT ? (int)perm.size() - r : BG_BT;
            tiles.insert(tiles.end(), {e, r, n});
        }
    }
    int nt = (int)tiles.size() / 3;
    std::vector<int> hnt(1, nt);
    const bf16 *dwe = dev(we);
    float *da = dev(a), *dgsc = dev(gsc), *dye = dev(vecf((size_t)TG * H, 7.0f));
    float *dyt = dev(vecf((size_t)TG * H));
    int *dperm = dev(perm), *dtiles = dev(tiles), *dnt = dev(hnt);
    if (dev_failed)
        return;
    bgemm g = {dwe, (size_t)H * I, NULL, H, I, da, 2 * I, 1, NULL, dye, H, dperm, dgsc, TG, dtiles,
               dnt, nt + 2, dsplit, dyt};
    kb_gemm_set(GPU_BMM_BLAS);
    kb_gemm(0, &g);
    vecf gotg = host(dye, (size_t)TG * H), wantg((size_t)TG * H, 7.0f), acts(I);
    for (int r = 0; r < TG; r++) {
        int t = perm[r];
        if (sel[t] == E)
            continue;
        for (int j = 0; j < I; j++) {
            float u = a[(size_t)r * 2 * I + j];
            acts[j] = u / (1.0f + expf(-u)) * a[(size_t)r * 2 * I + I + j];
        }
        for (int n = 0; n < H; n++)
            wantg[(size_t)t * H + n] =
                (float)(gsc[t] * dot_ref(&we[((size_t)sel[t] * H + n) * I], acts.data(), I));
    }
    int untouched = 1;
    for (int t = 0; t < TG; t++)
        for (int n = 0; sel[t] == E && n < H; n++)
            untouched &= gotg[(size_t)t * H + n] == 7.0f;

    kb_gemm_set(was);
    char e[256];
    int bad = kb_gemm_error(e, sizeof e);
    double e1 = relerr(got, ref), e2 = relerr(got2, ref2), e3 = relerr(gotg, wantg);
    double worst = e1 > e2 ? e1 : e2;
    worst = e3 > worst ? e3 : worst;
    int same = memcmp(few.data(), direct.data(), few.size() * sizeof(float)) == 0;
    report(out, "products on " GBLAS_LIB " (ZEVAL_GPU_BMM=blas, 200 x 1032, 300 tokens; 3 experts)",
           bad || !untouched ? INFINITY : worst, 1e-6,
           "%s; plain with a bias %.2g, gathered SwiGLU input with scaled rows %.2g, grouped "
           "(%d tiles, SwiGLU, scaled, scattered) %.2g, skip-slot rows %s; 37 tokens %s the "
           "direct kernels'%s%s", gblas_name(), e1, e2, nt, e3,
           untouched ? "untouched" : "WRITTEN", same ? "bit-identical to" : "DIFFER from",
           bad ? "; " : "", bad ? e : "");
    if (!same) {
        fails++;
        fprintf(out, "FAIL products on " GBLAS_LIB ": 37 tokens did not take the direct kernels\n");
    }
}

static void check_experts(FILE *out)
{
    int E = 3, H = 136, I = 64;
    std::vector<vecb> w1(E), w2(E);
    vecb all1, all2; /* the experts one after the other, as the engine stores them */
    for (int e = 0; e < E; e++) {
        w1[e] = rnd_bf16((size_t)2 * I * H, 0.1f);
        w2[e] = rnd_bf16((size_t)H * I, 0.1f);
        all1.insert(all1.end(), w1[e].begin(), w1[e].end());
        all2.insert(all2.end(), w2[e].begin(), w2[e].end());
    }
    const bf16 *d1 = dev(all1), *d2 = dev(all2);
    vecf xn = rnd(H, -1, 1);
    float *dxn = dev(xn), *da = dev(vecf(2 * I)), *dy = dev(vecf(H));
    vecf gate(1, 0.37f);
    float *dg = dev(gate);
    for (int sel = 0; sel <= E; sel++)
        for (int skip_zero = 0; skip_zero < (sel == E ? 2 : 1); skip_zero++) {
            std::vector<int> hs(1, sel);
            int *ds = dev(hs);
            if (dev_failed)
                return;
            kl_gemv_expert(0, d1, ds, E, 2 * I, H, dxn, da, NULL);
            kl_expert_down(0, d2, ds, E, H, I, da, dg, dxn, skip_zero, dy, NULL);
            vecf ref(H);
            if (sel == E) {
                for (int i = 0; i < H; i++)
                    ref[i] = skip_zero ? 0.0f : gate[0] * xn[i];
            } else {
                vecf a(2 * I), act(I);
                for (int r = 0; r < 2 * I; r++)
                    a[r] = (float)dot_ref(&w1[sel][(size_t)r * H], xn.data(), H);
                for (int j = 0; j < I; j++)
                    act[j] = a[j] / (1.0f + expf(-a[j])) * a[I + j];
                for (int r = 0; r < H; r++)
                    ref[r] = (float)(gate[0] * dot_ref(&w2[sel][(size_t)r * I], act.data(), I));
            }
            char name[80];
            snprintf(name, sizeof name, "expert %s", sel == E ? (skip_zero ? "skip slot (zero)"
                     : "skip slot (scaled input)") : sel == 0 ? "0 (SwiGLU, gate)" : sel == 1 ? "1" : "2");
            double e = relerr(host(dy, H), ref);
            report(out, name, e, sel == E && !skip_zero ? 1e-5 : 1e-2);
        }
}

static double gelu_ref(double x)
{
    return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
}

static void check_router(FILE *out)
{
    int R = 64, E = 6, S = E + 1;
    for (int eda_on = 0; eda_on < 2; eda_on++)
        for (int trial = 0; trial < 4; trial++) {
            vecb w0 = rnd_bf16((size_t)R * R, 0.3f), w2 = rnd_bf16((size_t)R * R, 0.3f),
                 w4 = rnd_bf16((size_t)S * R, 1.0f);
            vecf b0 = rnd(R, -0.2f, 0.2f), b2 = rnd(R, -0.2f, 0.2f), nw = rnd(R, 0.5f, 1.5f);
            vecf scale = rnd(R, 0.2f, 1.0f), bal = rnd(S, -0.05f, 0.05f);
            vecf r = rnd(R, -2, 2), eda = rnd(R, -2, 2);
            router_w w;
            w.R = R;
            w.S = S;
            w.E = E;
            w.eps = 1e-5f;
            w.state_scale = eda_on ? dev(scale) : NULL;
            w.norm = dev(nw);
            w.w0 = dev(w0);
            w.w2 = dev(w2);
            w.w4 = dev(w4);
            w.b0 = dev(b0);
            w.b2 = dev(b2);
            w.balance = dev(bal);
            float *dr = dev(r), *de = dev(eda), *dg = dev(vecf(1));
            int *ds = dev(std::vector<int>(1, -1));
            int fused = trial % 2, *cnt = dev(std::vector<int>(1, 0));
            if (dev_failed)
                return;
            if (!fused) {
                kl_router(0, &w, dr, de, ds, dg);
            } else {
                /* The down projection of a normalised input, then the
                 * router in its last block (kl_gemv_router), as the
                 * decode step runs it: r is that product's output. */
                int H = 96;
                vecf x = rnd(H, -1, 1), nwi = rnd(H, 0.5f, 1.5f), bd = rnd(R, -0.5f, 0.5f);
                vecb wd = rnd_bf16((size_t)R * H, 0.2f);
                double sx = 0;
                for (int i = 0; i < H; i++)
                    sx += (double)x[i] * x[i];
                double ix = 1.0 / sqrt(sx / H + 1e-5);
                vecf xh(H);
                for (int i = 0; i < H; i++)
                    xh[i] = (float)(nwi[i] * x[i] * ix);
                for (int i = 0; i < R; i++)
                    r[i] = (float)(dot_ref(&wd[(size_t)i * H], xh.data(), H) + bd[i]);
                merge_w none = {NULL, NULL, NULL, NULL};
                norm_in nin = {dev(x), NULL, dev(vecf(H)), dev(vecf(H)), none, 0, dev(nwi), 1e-5f};
                gemv_set set;
                memset(&set, 0, sizeof set);
                set.w[0] = dev(wd);
                set.bias[0] = dev(bd);
                set.y[0] = dr;
                set.rows[0] = R;
                set.n = 1;
                router_tail tail = {w, de, ds, dg, cnt};
                if (dev_failed)
                    return;
                kl_gemv_router(0, &set, &nin, H, dev_io(0, 0, 0), &tail);
            }
            /* reference */
            vecf rr = r;
            if (eda_on)
                for (int i = 0; i < R; i++)
                    rr[i] = r[i] + eda[i] * scale[i];
            double ss = 0;
            for (int i = 0; i < R; i++)
                ss += (double)rr[i] * rr[i];
            double inv = 1.0 / sqrt(ss / R + 1e-5);
            vecf rho(R), h1(R), h2(R);
            for (int i = 0; i < R; i++)
                rho[i] = (float)(nw[i] * rr[i] * inv);
            for (int i = 0; i < R; i++)
                h1[i] = (float)gelu_ref(dot_ref(&w0[(size_t)i * R], rho.data(), R) + b0[i]);
            for (int i = 0; i < R; i++)
                h2[i] = (float)gelu_ref(dot_ref(&w2[(size_t)i * R], h1.data(), R) + b2[i]);
            std::vector<double> lg(S);
            double mx = -INFINITY, sum = 0;
            for (int e = 0; e < S; e++) {
                lg[e] = dot_ref(&w4[(size_t)e * R], h2.data(), R);
                mx = lg[e] > mx ? lg[e] : mx;
            }
            for (int e = 0; e < S; e++)
                sum += (lg[e] = exp(lg[e] - mx));
            int best = 0;
            double bestv = -INFINITY, margin = INFINITY;
            for (int e = 0; e < S; e++) {
                double v = lg[e] / sum + bal[e];
                if (v > bestv) {
                    margin = v - bestv;
                    bestv = v;
                    best = e;
                } else if (bestv - v < margin) {
                    margin = bestv - v;
                }
            }
            int got = host(ds, 1)[0];
            double eg = fabs(host(dg, 1)[0] - lg[best] / sum) / (lg[best] / sum);
            double ee = relerr(host(de, R), rr);
            int left = host(cnt, 1)[0];
            ee = left ? INFINITY : ee; /* the last-block counter must be reset */
            char name[80];
            snprintf(name, sizeof name, "router %s #%d%s", eda_on ? "with EDA" : "first layer", trial,
                     fused ? " (in the down projection's last block)" : "");
            if (margin < 1e-4) { /* a near-tie: the choice is not a test of the kernel */
                report_eq(out, name, ee <= 1e-5, "near-tie (margin %.1e): slot not compared, "
                          "state error %.2g", margin, ee);
                continue;
            }
            report_eq(out, name, got == best && eg <= 1e-2 && ee <= 1e-5,
                      "slot %d (ref %d), gate error %.2g, state error %.2g", got, best, eg, ee);
        }
}

/* Host reference of the CCA step for one token (spec 6.2-6.6) given the
 * raw projections of every position so far (us[t], t <= pos). */
static void cca_ref(const std::vector<vecf> &us, int pos, int nq, int nk, int d, int rot, int K0,
                    int K1, const vecf &c0w, const vecf &c0b, const vecb &c1w, const vecf &c1b,
                    const vecf &temp, const vecf &invf, vecf &q, vecf &k)
{
    int C = (nq + nk) * d, nh = K0 + K1 - 2, G = nq / nk, qw = nq * d;
    vecf ms((size_t)K1 * C), z(C);
    for (int f = 0; f < K1; f++)
        for (int c = 0; c < C; c++) {
            double acc = c0b[c];
            for (int tap = 0; tap < K0; tap++) {
                int t = pos - nh + f + tap;
                acc += (double)c0w[(size_t)c * K0 + tap] * (t < 0 ? 0.0 : us[t][c]);
            }
            ms[(size_t)f * C + c] = (float)acc;
        }
    for (int o = 0; o < C; o++) {
        int grp = o / d;
        double acc = c1b[o];
        for (int tap = 0; tap < K1; tap++)
            for (int j = 0; j < d; j++)
                acc += (double)bf(c1w[(size_t)o * K1 * d + (size_t)tap * d + j]) *
                       ms[(size_t)tap * C + (size_t)grp * d + j];
        z[o] = (float)acc;
    }
    const vecf &u = us[pos];
    q.assign(qw, 0);
    k.assign((size_t)nk * d, 0);
    for (int h = 0; h < nq; h++)
        for (int e = 0; e < d; e++)
            q[h * d + e] = z[h * d + e] + (u[h * d + e] + u[qw + (h / G) * d + e]) * 0.5f;
    for (int g = 0; g < nk; g++)
        for (int e = 0; e < d; e++) {
            double ks = 0;
            for (int r = 0; r < G; r++)
                ks += (u[(g * G + r) * d + e] + u[qw + g * d + e]) * 0.5;
            k[g * d + e] = (float)(z[qw + g * d + e] + ks / G);
        }
    for (int hh = 0; hh < nq + nk; hh++) {
        float *v = hh < nq ? &q[hh * d] : &k[(hh - nq) * d];
        double ss = 0;
        for (int e = 0; e < d; e++)
            ss += (double)v[e] * v[e];
        double sc = sqrt((double)d) / sqrt(ss) * (hh < nq ? 1.0 : temp[hh - nq]);
        for (int e = 0; e < d; e++)
            v[e] = (float)(v[e] * sc);
        int half = rot / 2;
        for (int i = 0; i < half; i++) {
            double a = (double)(float)((float)pos * invf[i]);
            double x0 = v[i], x1 = v[i + half];
            v[i] = (float)(x0 * cos(a) - x1 * sin(a));
            v[i + half] = (float)(x1 * cos(a) + x0 * sin(a));
        }
    }
}

static void check_cca(FILE *out)
{
    int nq = 4, nk = 2, d = 64, rot = 32, K0 = 2, K1 = 2, cap = 16, steps = 7;
    int C = (nq + nk) * d, nr = K0 + K1 - 1, kvh = nk * d / 2;
    vecf c0w = rnd((size_t)C * K0, -1, 1), c0b = rnd(C, -0.5f, 0.5f), c1b = rnd(C, -0.5f, 0.5f);
    vecb c1w = rnd_bf16((size_t)C * K1 * d, 0.1f);
    vecf temp = rnd(nk, 0.5f, 2.0f), invf(rot / 2);
    for (int i = 0; i < rot / 2; i++)
        invf[i] = (float)(1.0 / pow(10000.0, 2.0 * i / rot));
    cca_w w;
    w.nq = nq;
    w.nk = nk;
    w.d = d;
    w.rot = rot;
    w.K0 = K0;
    w.K1 = K1;
    w.cap = cap;
    w.conv0_w = dev(c0w);
    w.conv0_b = dev(c0b);
    w.conv1_w = dev(c1w);
    w.conv1_b = dev(c1b);
    w.temp = dev(temp);
    w.inv_freq = dev(invf);
    float *ring = dev(vecf((size_t)nr * C)), *q = dev(vecf((size_t)nq * d)), *zbuf = dev(vecf(C));
    int *cnt = dev(std::vector<int>(nq + nk, 0));
    float *K = dev(vecf((size_t)nk * cap * d)), *V = dev(vecf((size_t)nk * cap * d));
    std::vector<vecf> us;
    double worst = 0;
    int vbad = 0;
    for (int pos = 0; pos < steps && !dev_failed; pos++) {
        us.push_back(rnd(C, -1, 1));
        vecf vc = rnd(kvh, -1, 1), vd = rnd(kvh, -1, 1);
        gpu_io *io = dev_io(0, pos, 0);
        if (dev_failed)
            return;
        vecf vd2(2 * kvh, NAN); /* the kernel must read slot pos % 2 */
        for (int i = 0; i < kvh; i++)
            vd2[(size_t)(pos & 1) * kvh + i] = vd[i];
        kl_cca(0, &w, io, dev(us[pos]), ring, dev(vc), dev(vd2), zbuf, q, K, V, cnt);
        vecf rq, rk;
        cca_ref(us, pos, nq, nk, d, rot, K0, K1, c0w, c0b, c1w, c1b, temp, invf, rq, rk);
        vecf gq = host(q, (size_t)nq * d), gK = host(K, (size_t)nk * cap * d),
             gV = host(V, (size_t)nk * cap * d), gk((size_t)nk * d);
        for (int g = 0; g < nk; g++)
            for (int e = 0; e < d; e++) {
                gk[g * d + e] = gK[((size_t)g * cap + pos) * d + e];
                int idx = g * d + e;
                float want = idx < kvh ? vc[idx] : vd[idx - kvh];
                vbad += gV[((size_t)g * cap + pos) * d + e] != want;
            }
        double e1 = relerr(gq, rq), e2 = relerr(gk, rk);
        worst = e1 > worst ? e1 : worst;
        worst = e2 > worst ? e2 : worst;
    }
    std::vector<int> left = host(cnt, nq + nk);
    for (int i = 0; i < nq + nk; i++)
        worst = left[i] ? INFINITY : worst; /* the counters must be reset */
    report(out, "cca (2 convs, mixing, L2 norm, temperature, RoPE) over 7 positions", worst, 1e-2,
           "%d value elements misplaced", vbad);
    if (vbad)
        fails++;
}

static void check_attention(FILE *out)
{
    int shapes[3][3] = {{8, 2, 128}, {4, 4, 64}, {2, 1, 32}};
    /* up to 20000 keys: every one of the ATT_SPLITS splits in use */
    int poss[] = {0, 3, 63, 64, 65, 127, 128, 129, 700, 2047, 16383, 16384, 19999};
    for (int si = 0; si < 6; si++) {
        int oct = si >= 3, nq = shapes[si % 3][0], nk = shapes[si % 3][1], d = shapes[si % 3][2];
        int cap = 20000, G = nq / nk;
        vecf K = rnd((size_t)nk * cap * d, -1, 1), V = rnd((size_t)nk * cap * d, -1, 1);
        float *dK = dev(K), *dV = dev(V), *part = dev(vecf((size_t)ATT_SPLITS * nq * (d + ATT_PAD)));
        float *dout = dev(vecf((size_t)nq * d));
        int *cnt = dev(std::vector<int>(nk, 0));
        double worst = 0;
        for (size_t pi = 0; pi < sizeof poss / sizeof poss[0] && !dev_failed; pi++) {
            int pos = poss[pi];
            vecf q = rnd((size_t)nq * d, -2, 2);
            gpu_io *io = dev_io(0, pos, 0);
            float *dq = dev(q);
            if (dev_failed)
                return;
            kl_attention(0, dq, dK, dV, nq, nk, d, cap, io, part, cnt, dout, oct);
            vecf ref((size_t)nq * d);
            for (int h = 0; h < nq; h++) {
                int g = h / G;
                std::vector<double> s(pos + 1);
                double mx = -INFINITY, sum = 0;
                for (int t = 0; t <= pos; t++) {
                    double acc = 0;
                    for (int e = 0; e < d; e++)
                        acc += (double)q[h * d + e] * K[((size_t)g * cap + t) * d + e];
                    s[t] = acc / sqrt((double)d);
                    mx = s[t] > mx ? s[t] : mx;
                }
                for (int t = 0; t <= pos; t++)
                    sum += (s[t] = exp(s[t] - mx));
                for (int e = 0; e < d; e++) {
                    double o = 0;
                    for (int t = 0; t <= pos; t++)
                        o += s[t] / sum * V[((size_t)g * cap + t) * d + e];
                    ref[h * d + e] = (float)o;
                }
            }
            double e = relerr(host(dout, (size_t)nq * d), ref);
            worst = e > worst ? e : worst;
        }
        std::vector<int> left = host(cnt, nk);
        for (int g = 0; g < nk; g++)
            worst = left[g] ? INFINITY : worst; /* the counters must be reset */
        char name[96];
        snprintf(name, sizeof name,
                 "attention%s (%d query heads, %d KV heads, d=%d, contexts 1..20000)",
                 oct ? " in 8-key steps" : "", nq, nk, d);
        report(out, name, worst, 1e-5);
    }
}

static void check_argmax(FILE *out)
{
    int n = 70000;
    vecf x = rnd(n, -5, 5);
    x[40000] = 9.0f;
    x[50001] = 9.0f; /* a tie: the lower id wins */
    x[60000] = 11.0f; /* past n_valid below */
    float *dx = dev(x);
    int *dout = dev(std::vector<int>(1, -1));
    if (dev_failed)
        return;
    kl_argmax(0, dx, n, dev_io(0, 0, 0), dout);
    int a = host(dout, 1)[0];
    kl_argmax(0, dx, n, dev_io(0, 0, 55000), dout);
    int b = host(dout, 1)[0];
    vecf ninf(33, -INFINITY);
    kl_argmax(0, dev(ninf), 33, dev_io(0, 0, 0), dout);
    int c = host(dout, 1)[0];
    report_eq(out, "argmax", a == 60000 && b == 40000 && c == 0,
              "%d (want 60000), below 55000: %d (want 40000), all -inf: %d (want 0)", a, b, c);
}

/* The batched engine's draw (kb_argmax with a bsamp row) against
 * smp_sample: spread, tied, peaked and flat rows at several
 * temperatures, a vocabulary limit, uniforms near 0 and 1, without filters
 * and with top-k, top-p, min-p and their combinations. */
static void check_draw(FILE *out)
{
    const int n = 20000, per = 24, kinds = 6, nf = 8;
    static const smp_params filt[nf] = {
        {1, 0, 1.0f, 0.0f},  {1, 50, 1.0f, 0.0f},  {1, 0, 0.95f, 0.0f}, {1, 0, 0.5f, 0.0f},
        {1, 0, 1.0f, 0.05f}, {1, 40, 0.9f, 0.0f},  {1, 0, 0.9f, 0.1f},  {1, 64, 0.8f, 0.02f},
    };
    const double temps[kinds] = {1.0, 0.7, 1.0, 0.5, 1.3, 1.0};
    std::vector<vecf> base(kinds);
    for (int k = 0; k < kinds; k++) {
        base[k] = rnd(n, -3, 3);
        for (int i = 0; i < n; i++) {
            float &v = base[k][i];
            if (k == 1)
                v *= 0.3f;
            if (k == 2)
                v = roundf(v); /* 7 distinct values: long runs of ties */
            if (k == 3)
                v *= 4.0f;
            if (k == 5)
                v = 0.25f;
        }
        if (k == 3)
            base[k][12345] = 40.0f; /* most ids fall under the 1e-12 cut */
    }
    int rows = kinds * per;
    vecf x((size_t)rows * n);
    std::vector<int> nv(rows);
    std::vector<bsamp> sp(rows);
    std::vector<int> want(rows);
    smp_scratch *scr = smp_scratch_new(n);
    if (!scr)
        return;
    for (int r = 0; r < rows; r++) {
        int k = r / per, j = r % per;
        memcpy(&x[(size_t)r * n], base[k].data(), (size_t)n * sizeof(float));
        nv[r] = k == 4 ? n - 777 : 0;
        uint64_t seed = 1000 + (uint64_t)k, ctr = (uint64_t)j;
        smp_params p = filt[j % nf];
        p.temperature = (float)temps[k];
        sp[r].inv_t = 1.0 / p.temperature;
        sp[r].u = smp_uniform(seed, ctr);
        sp[r].top_k = p.top_k;
        sp[r].top_p = p.top_p;
        sp[r].min_p = p.min_p;
        int lim = nv[r] > 0 ? nv[r] : n;
        if (j >= 2 * nf) {
            want[r] = smp_sample(&x[(size_t)r * n], lim, &p, seed, ctr, scr);
            continue;
        }
        /* the ends of [0, 1), which seeds rarely give: the sorted walk for that u */
        sp[r].u = j < nf ? 0.0 : 1.0 - 1e-6;
        want[r] = smp_sample_sorted(&x[(size_t)r * n], lim, &p, sp[r].u, scr);
    }
    smp_scratch_free(scr);
    float *dx = dev(x);
    int *dnv = dev(nv), *dout = dev(std::vector<int>(rows, -1));
    bsamp *dsp = NULL;
    if (hipMalloc((void **)&dsp, (size_t)rows * sizeof(bsamp)) != hipSuccess) {
        dev_failed = 1;
        return;
    }
    owned.push_back(dsp);
    if (dev_failed || hipMemcpy(dsp, sp.data(), (size_t)rows * sizeof(bsamp),
                                hipMemcpyHostToDevice) != hipSuccess)
        return;
    kb_argmax(0, rows, dx, n, dnv, dsp, dout);
    std::vector<int> got = host(dout, rows);
    int same = 0, first_bad = -1;
    for (int r = 0; r < rows; r++) {
        if (got[r] == want[r])
            same++;
        else if (first_bad < 0)
            first_bad = r;
    }
    report_eq(out, "draw", same == rows,
              "%d of %d draws equal smp_sample's (%d rows of %d ids: spread, tied, peaked, "
              "limited, flat; top-k, top-p, min-p)%s", same, rows, rows, n,
              same == rows ? "" : "; first differing row");
    if (first_bad >= 0)
        fprintf(out, "  row %d: device %d, smp_sample %d\n", first_bad, got[first_bad],
                want[first_bad]);
}

extern "C" int gpu_selftest_kernels(FILE *out, uint64_t seed, char *err, size_t errlen)
{
    char why[256];
    if (!gpu_probe(why, sizeof why)) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    rng_state = seed;
    fails = 0;
    dev_failed = 0;
    check_embed_norm(out);
    check_gemv(out);
    check_experts(out);
    check_mma(out);
    check_bgemm(out);
    check_blas(out);
    check_router(out);
    check_cca(out);
    check_attention(out);
    check_argmax(out);
    check_draw(out);
    hipError_t e = hipDeviceSynchronize();
    if (e != hipSuccess || dev_failed) {
        fprintf(out, "FAIL device: %s\n", hipGetErrorString(e != hipSuccess ? e : hipGetLastError()));
        fails++;
    }
    for (size_t i = 0; i < owned.size(); i++)
        (void)hipFree(owned[i]);
    owned.clear();
    return fails;
}
