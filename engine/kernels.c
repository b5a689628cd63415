/*
 * kernels.c — dot products and matrix-row products for the scalar, AVX2+FMA
 * and AVX-512 paths (see kernels.h for the determinism contract).
 *
 * The SIMD functions carry __attribute__((target(...))) so the rest of the
 * build stays generic x86-64; they only run after __builtin_cpu_supports
 * said yes.  Each path's reduction for one output element:
 *   scalar  8 interleaved partial sums (mul then add), then a fixed tree
 *   avx2    dot products (kn_dot, dot_avx2): 4 x 8-lane FMA accumulators over
 *           32-element blocks, leftover 8-blocks and a zero-padded tail
 *           into accumulators 0,1,2,3 in turn, then (a0+a1)+(a2+a3) and a
 *           fixed horizontal tree; matrix products: one 8-lane accumulator
 *           per element over 16-element blocks of activations laid out by
 *           kn_xprep (see ker8), then the fixed horizontal tree
 *   avx512  the same with 16 lanes: kn_dot over 64-element blocks, matrix
 *           products over 32-element blocks (see ker16)
 * A matrix-product tile of MR weight rows x NT activation rows shares its
 * loads, but every element keeps its own accumulator and runs the very
 * same sequence of operations as when it is alone, so T, the tile shape
 * and the row split never matter (rows_tiled).
 */
#include "kernels.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define KN_X86 1
#include <immintrin.h>
#else
#define KN_X86 0
#endif

static kn_path cur = KN_SCALAR;

const char *kn_path_name(kn_path p)
{
    return p == KN_AVX512 ? "avx512" : p == KN_AVX2 ? "avx2" : "scalar";
}

int kn_supported(kn_path p)
{
    if (p == KN_SCALAR)
        return 1;
#if KN_X86
    __builtin_cpu_init();
    if (p == KN_AVX2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (p == KN_AVX512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
#endif
    return 0;
}

kn_path kn_current(void)
{
    return cur;
}

int kn_force(kn_path p, char *err, size_t errlen)
{
    if (!kn_supported(p))
        return ut_err(err, errlen, "SIMD path %s is not supported by this CPU", kn_path_name(p));
    cur = p;
    return 0;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static char init_err[256];
static int init_rc;

static void init_path(void)
{
    const char *e = getenv("ZEVAL_SIMD");
    kn_path p;
    if (e && *e) {
        if (strcmp(e, "avx512") == 0)
            p = KN_AVX512;
        else if (strcmp(e, "avx2") == 0)
            p = KN_AVX2;
        else if (strcmp(e, "scalar") == 0)
            p = KN_SCALAR;
        else {
            init_rc = ut_err(init_err, sizeof init_err,
                             "ZEVAL_SIMD=%s: expected avx512, avx2 or scalar", e);
            return;
        }
        if (!kn_supported(p)) {
            init_rc = ut_err(init_err, sizeof init_err,
                             "ZEVAL_SIMD=%s: this CPU does not support that path", e);
            return;
        }
    } else {
        p = kn_supported(KN_AVX512) ? KN_AVX512 : kn_supported(KN_AVX2) ? KN_AVX2 : KN_SCALAR;
    }
    cur = p;
    fprintf(stderr, "engine: cpu kernels %s%s\n", kn_path_name(p),
            e && *e ? " (forced by ZEVAL_SIMD)" : "");
}

int kn_init(char *err, size_t errlen)
{
    pthread_once(&init_once, init_path);
    if (init_rc)
        return ut_err(err, errlen, "%s", init_err);
    return 0;
}

/* ------------------------------------------------------------------ scalar */

static float dot_f32(const float *a, const float *b, int n)
{
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            s[k] += a[i + k] * b[i + k];
    for (; i < n; i++)
        s[0] += a[i] * b[i];
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

/* Same order as dot_f32 over the widened weight row. */
static float dot_bf16(const uint16_t *w, const float *x, int n)
{
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            s[k] += ut_bf16_to_f32(w[i + k]) * x[i + k];
    for (; i < n; i++)
        s[0] += ut_bf16_to_f32(w[i]) * x[i];
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

static float dot_f16(const uint16_t *w, const float *x, int n)
{
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            s[k] += ut_f16_to_f32(w[i + k]) * x[i + k];
    for (; i < n; i++)
        s[0] += ut_f16_to_f32(w[i]) * x[i];
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

static void axpy_scalar(float *y, float a, const float *x, int n)
{
    for (int i = 0; i < n; i++)
        y[i] += a * x[i];
}
static void wsum_scalar(float *o, const float *w, const float *v, size_t ldv, int n, int d)
{
    memset(o, 0, (size_t)d * sizeof(float));
    for (int t = 0; t < n; t++)
        axpy_scalar(o, w[t], v + (size_t)t * ldv, d);
}
#define YROW(t) (yrows ? yrows[t] : y + (size_t)(t) * ldy)

static void rows_scalar(float *y, size_t ldy, float *const *yrows, const float *x, size_t ldx,
                        int T, const eng_mat *w, const float *bias, int o0, int o1)
{
    int n = w->cols;
    for (int o = o0; o < o1; o++) {
        size_t off = (size_t)o * (size_t)n;
        float b = bias ? bias[o] : 0.0f;
        for (int t = 0; t < T; t++) {
            const float *xt = x + (size_t)t * ldx;
            float d;
            if (w->dt == ST_F32)
                d = dot_f32((const float *)w->p + off, xt, n);
            else if (w->dt == ST_BF16)
                d = dot_bf16((const uint16_t *)w->p + off, xt, n);
            else
                d = dot_f16((const uint16_t *)w->p + off, xt, n);
            YROW(t)[o] = d + b;
        }
    }
}

#if KN_X86
/* ------------------------------------------------------------------- avx2 */

#define T2 __attribute__((target("avx2,fma")))
#define T2I __attribute__((target("avx2,fma"), always_inline)) inline

/* 8 weights at w[i..i+8) as floats. */
static T2I float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static T2 void axpy_avx2(float *y, float a, const float *x, int n)
{
    __m256 va = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++)
        y[i] = __builtin_fmaf(a, x[i], y[i]);
}
/* a · b: 4 accumulators over 32-element blocks; fewer than 32 left go as
 * up to three 8-blocks, then a zero-padded tail, into accumulators 0, 1,
 * 2, 3 in turn; then (a0+a1)+(a2+a3) and the horizontal tree. */
static T2 float dot_avx2(const float *a, const float *b, int n)
{
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    int i = 0;
    for (; i + 32 <= n; i += 32)
        for (int k = 0; k < 4; k++)
            acc[k] = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8 * k), _mm256_loadu_ps(b + i + 8 * k),
                                     acc[k]);
    for (int k = 0; k < 4 && i < n; k++) {
        if (i + 8 <= n) {
            acc[k] = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc[k]);
            i += 8;
        } else {
            float at[8] = {0}, bt[8] = {0};
            memcpy(at, a + i, (size_t)(n - i) * sizeof(float));
            memcpy(bt, b + i, (size_t)(n - i) * sizeof(float));
            acc[k] = _mm256_fmadd_ps(_mm256_loadu_ps(at), _mm256_loadu_ps(bt), acc[k]);
            i = n;
        }
    }
    return hsum8(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
}

/*
 * The AVX2 matrix product, as the AVX-512 one (see ker16) with 8 lanes:
 * activations laid out by kn_xprep in 16-blocks (for bf16 weights the 8
 * even then the 8 odd elements), one 8-lane accumulator per element, tiles
 * of up to 4 weight rows x 3 activation rows (12 accumulators + 4 weights
 * fill the 16 registers).
 */
static T2I void ker8(const void *w, int bf, size_t ldw, const float *xp, size_t ldx, int K,
                     int MR, int NT, float *out, const char *pf)
{
    __m256 acc[4][3];
    const __m256i hi = _mm256_set1_epi32((int)0xFFFF0000u);
    size_t esz = bf ? 2 : 4;
#pragma GCC unroll 4
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 3
        for (int t = 0; t < NT; t++)
            acc[r][t] = _mm256_setzero_ps();
    int k = 0;
    for (; k + 16 <= K; k += 16) {
        __m256 wv[4];
        if (pf)
#pragma GCC unroll 4
            for (int r = 0; r < MR; r++)
                _mm_prefetch(pf + ((size_t)r * ldw + (size_t)k) * esz, _MM_HINT_T1);
#pragma GCC unroll 4
        for (int r = 0; r < MR; r++) {
            const char *wr = (const char *)w + ((size_t)r * ldw + (size_t)k) * esz;
            wv[r] = bf ? _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)wr), 16))
                       : _mm256_loadu_ps((const float *)wr);
        }
#pragma GCC unroll 3
        for (int t = 0; t < NT; t++) {
            __m256 xe = _mm256_loadu_ps(xp + (size_t)t * ldx + k);
#pragma GCC unroll 4
            for (int r = 0; r < MR; r++)
                acc[r][t] = _mm256_fmadd_ps(wv[r], xe, acc[r][t]);
        }
#pragma GCC unroll 4
        for (int r = 0; r < MR; r++) {
            const char *wr = (const char *)w + ((size_t)r * ldw + (size_t)k) * esz;
            wv[r] = bf ? _mm256_castsi256_ps(_mm256_and_si256(_mm256_loadu_si256((const __m256i *)wr), hi))
                       : _mm256_loadu_ps((const float *)wr + 8);
        }
#pragma GCC unroll 3
        for (int t = 0; t < NT; t++) {
            __m256 xo = _mm256_loadu_ps(xp + (size_t)t * ldx + k + 8);
#pragma GCC unroll 4
            for (int r = 0; r < MR; r++)
                acc[r][t] = _mm256_fmadd_ps(wv[r], xo, acc[r][t]);
        }
    }
    if (k < K) { /* last partial block: weights copied zero-padded */
        int rem = K - k;
        __m256 we[4], wo[4];
#pragma GCC unroll 4
        for (int r = 0; r < MR; r++) {
            const char *wr = (const char *)w + ((size_t)r * ldw + (size_t)k) * esz;
            if (bf) {
                uint16_t tmp[16] = {0};
                memcpy(tmp, wr, (size_t)rem * 2);
                __m256i v = _mm256_loadu_si256((const __m256i *)tmp);
                we[r] = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
                wo[r] = _mm256_castsi256_ps(_mm256_and_si256(v, hi));
            } else {
                float tmp[16] = {0};
                memcpy(tmp, wr, (size_t)rem * 4);
                we[r] = _mm256_loadu_ps(tmp);
                wo[r] = _mm256_loadu_ps(tmp + 8);
            }
        }
#pragma GCC unroll 3
        for (int t = 0; t < NT; t++) {
            __m256 xe = _mm256_loadu_ps(xp + (size_t)t * ldx + k);
            __m256 xo = _mm256_loadu_ps(xp + (size_t)t * ldx + k + 8);
#pragma GCC unroll 4
            for (int r = 0; r < MR; r++) {
                acc[r][t] = _mm256_fmadd_ps(we[r], xe, acc[r][t]);
                acc[r][t] = _mm256_fmadd_ps(wo[r], xo, acc[r][t]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 3
        for (int t = 0; t < NT; t++)
            out[r * NT + t] = hsum8(acc[r][t]);
}
/* The bf16 and f32 tile functions of kernel KER for an MR x NT tile. */
#define TILE_FNS(ATTR, KER, MR, NT)                                                            \
    static ATTR void KER##_bf_##MR##x##NT(const void *w, size_t ldw, const float *xp,         \
                                          size_t ldx, int K, float *out, const char *pf)      \
    {                                                                                          \
        KER(w, 1, ldw, xp, ldx, K, MR, NT, out, pf);                                           \
    }                                                                                          \
    static ATTR void KER##_f_##MR##x##NT(const void *w, size_t ldw, const float *xp,          \
                                         size_t ldx, int K, float *out, const char *pf)       \
    {                                                                                          \
        KER(w, 0, ldw, xp, ldx, K, MR, NT, out, pf);                                           \
    }
#define KER8(MR, NT) TILE_FNS(T2, ker8, MR, NT)
KER8(4, 3)
KER8(4, 2)
KER8(1, 3)
KER8(1, 2)
KER8(1, 1)
#undef KER8
#endif /* KN_X86 */

/* ------------------------------------------------------------ tiled rows */
/* A kernel computing a tile of MR weight rows x NT activation rows into
 * out[r*NT + t]; pf, when non-NULL, is the next row group to prefetch. */
typedef void (*tile_fn)(const void *w, size_t ldw, const float *xp, size_t ldx, int K,
                        float *out, const char *pf);
/* One path's kernels: k1[n-1] is 1 x n, k4[n-1] is 4 x n (k4[0] unused);
 * nt is the widest tile. */
typedef struct {
    tile_fn k1[6], k4[6];
    int nt;
} tile_set;

/* Activation rows go in blocks of at most 48 (48 x 8 KB stays in L2), of
 * balanced sizes.  Within a block, groups of 4 weight rows take the
 * activations in the fewest tiles of at most nt, of balanced sizes (15 as
 * 5+5+5, not 6+6+3); a block of a single activation (a decode step) goes
 * one weight row at a time, so that the weights stream through memory in
 * order.  Every element is computed by its kernel in the same
 * sequence whatever the tile, so the split never matters. */
static void rows_tiled(const tile_set *ks, float *y, size_t ldy, float *const *yrows,
                       const float *xp, size_t ldx, int T, const eng_mat *w, const float *bias,
                       int o0, int o1)
{
    enum { TB = 48 };
    int K = w->cols, nt = ks->nt, nblk = (T + TB - 1) / TB;
    size_t esz = w->dt == ST_BF16 ? 2 : 4, ldw = (size_t)K;
    float out[24];
    for (int bi = 0, tb = 0; bi < nblk; bi++) {
        int n = T / nblk + (bi < T % nblk), ntile = (n + nt - 1) / nt;
        for (int o = o0; o < o1;) {
            int mr = o + 4 <= o1 ? 4 : 1;
            const char *wr = (const char *)w->p + (size_t)o * ldw * esz;
            /* The first tile of a 4-row group prefetches the next group into L2. */
            const char *pf = mr == 4 && o + 8 <= o1 ? wr + 4 * ldw * esz : NULL;
            for (int ti = 0, t = tb; ti < ntile; ti++) {
                int sz = n / ntile + (ti < n % ntile);
                const float *xt = xp + (size_t)t * ldx;
                if (mr == 4 && sz > 1) {
                    ks->k4[sz - 1](wr, ldw, xt, ldx, K, out, pf);
                    pf = NULL;
                    for (int r = 0; r < 4; r++) {
                        float b = bias ? bias[o + r] : 0.0f;
                        for (int j = 0; j < sz; j++)
                            YROW(t + j)[o + r] = out[r * sz + j] + b;
                    }
                } else {
                    for (int r = 0; r < mr; r++) {
                        ks->k1[sz - 1](wr + (size_t)r * ldw * esz, ldw, xt, ldx, K, out, NULL);
                        float b = bias ? bias[o + r] : 0.0f;
                        for (int j = 0; j < sz; j++)
                            YROW(t + j)[o + r] = out[j] + b;
                    }
                }
                t += sz;
            }
            o += mr;
        }
        tb += n;
    }
}

#if KN_X86
/* ----------------------------------------------------------------- avx512 */

#define T5 __attribute__((target("avx512f,avx512bw")))
#define T5I __attribute__((target("avx512f,avx512bw"), always_inline)) inline

static T5 void axpy_avx512(float *y, float a, const float *x, int n)
{
    __m512 va = _mm512_set1_ps(a);
    int i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1u);
        _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i),
                                                        _mm512_maskz_loadu_ps(m, y + i)));
    }
}
/* o = sum over t of w[t] * v[t] in t order, 128 columns at a time held in
 * registers (the same fused sequence as repeated axpy_avx512). */
static T5 void wsum_avx512(float *o, const float *w, const float *v, size_t ldv, int n, int d)
{
    int j = 0;
    for (; j + 128 <= d; j += 128) {
        __m512 a[8];
        for (int q = 0; q < 8; q++)
            a[q] = _mm512_setzero_ps();
        for (int t = 0; t < n; t++) {
            __m512 wt = _mm512_set1_ps(w[t]);
            const float *vt = v + (size_t)t * ldv + j;
#pragma GCC unroll 8
            for (int q = 0; q < 8; q++)
                a[q] = _mm512_fmadd_ps(wt, _mm512_loadu_ps(vt + 16 * q), a[q]);
        }
        for (int q = 0; q < 8; q++)
            _mm512_storeu_ps(o + j + 16 * q, a[q]);
    }
    if (j < d) {
        memset(o + j, 0, (size_t)(d - j) * sizeof(float));
        for (int t = 0; t < n; t++)
            axpy_avx512(o + j, w[t], v + (size_t)t * ldv + j, d - j);
    }
}
/* a · b: as dot_avx2 with 16 lanes (64-element blocks, a masked tail). */
static T5 float dot_avx512(const float *a, const float *b, int n)
{
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
    int i = 0;
    for (; i + 64 <= n; i += 64)
        for (int k = 0; k < 4; k++)
            acc[k] = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16 * k),
                                     _mm512_loadu_ps(b + i + 16 * k), acc[k]);
    for (int k = 0; k < 4 && i < n; k++) {
        __mmask16 m = (__mmask16)(i + 16 <= n ? 0xFFFFu : (1u << (n - i)) - 1u);
        acc[k] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i),
                                 acc[k]);
        i = i + 16 <= n ? i + 16 : n;
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]),
                                              _mm512_add_ps(acc[2], acc[3])));
}

/*
 * The matrix product: each output element keeps ONE 16-lane accumulator.
 * Activations are laid out by kn_xprep in rows of K32 = K rounded up to 32
 * floats, zero-padded; for bf16 weights each 32-block is stored as its 16
 * even then its 16 odd elements, so one 64-byte load of 32 bf16 weights
 * widens with a shift (even) and a mask (odd) and meets its activations
 * without shuffles.  Per 32-block: acc += w_even*x_even, then acc +=
 * w_odd*x_odd; the last partial block loads its weights masked.  A tile of
 * MR weight rows x NT activation rows shares loads, and every element runs
 * this same sequence, so T, the tile shape and the row split never matter.
 */
static T5I void ker16(const void *w, int bf, size_t ldw, const float *xp, size_t ldx, int K,
                      int MR, int NT, float *out, const char *pf)
{
    __m512 acc[4][6];
    const __m512i hi = _mm512_set1_epi32((int)0xFFFF0000u);
    size_t esz = bf ? 2 : 4;
#pragma GCC unroll 4
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 6
        for (int t = 0; t < NT; t++)
            acc[r][t] = _mm512_setzero_ps();
    /* Full 32-blocks: the even halves of all MR rows, then the odd halves
     * (reloaded rather than kept: 24 accumulators + 4 weights + the mask
     * fit the 32 registers without spilling). */
    int k = 0;
    for (; k + 32 <= K; k += 32) {
        __m512 wv[4];
        if (pf)
#pragma GCC unroll 4
            for (int r = 0; r < MR; r++) {
                const char *q = pf + ((size_t)r * ldw + (size_t)k) * esz;
                _mm_prefetch(q, _MM_HINT_T1);
                if (!bf)
                    _mm_prefetch(q + 64, _MM_HINT_T1);
            }
#pragma GCC unroll 4
        for (int r = 0; r < MR; r++) {
            const char *wr = (const char *)w + ((size_t)r * ldw + (size_t)k) * esz;
            wv[r] = bf ? _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_loadu_si512((const void *)wr), 16))
                       : _mm512_loadu_ps((const float *)wr);
        }
#pragma GCC unroll 6
        for (int t = 0; t < NT; t++) {
            __m512 xe = _mm512_loadu_ps(xp + (size_t)t * ldx + k);
#pragma GCC unroll 4
            for (int r = 0; r < MR; r++)
                acc[r][t] = _mm512_fmadd_ps(wv[r], xe, acc[r][t]);
        }
#pragma GCC unroll 4
        for (int r = 0; r < MR; r++) {
            const char *wr = (const char *)w + ((size_t)r * ldw + (size_t)k) * esz;
            wv[r] = bf ? _mm512_castsi512_ps(_mm512_and_si512(_mm512_loadu_si512((const void *)wr), hi))
                       : _mm512_loadu_ps((const float *)wr + 16);
        }
#pragma GCC unroll 6
        for (int t = 0; t < NT; t++) {
            __m512 xo = _mm512_loadu_ps(xp + (size_t)t * ldx + k + 16);
#pragma GCC unroll 4
            for (int r = 0; r < MR; r++)
                acc[r][t] = _mm512_fmadd_ps(wv[r], xo, acc[r][t]);
        }
    }
    /* The last partial block: weights loaded masked (activations are
     * zero-padded), same even-then-odd order. */
    if (k < K) {
        int rem = K - k;
        __m512 we[4], wo[4];
#pragma GCC unroll 4
        for (int r = 0; r < MR; r++) {
            const char *wr = (const char *)w + ((size_t)r * ldw + (size_t)k) * esz;
            if (bf) {
                __m512i v = _mm512_maskz_loadu_epi16((__mmask32)((1ull << rem) - 1u), wr);
                we[r] = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
                wo[r] = _mm512_castsi512_ps(_mm512_and_si512(v, hi));
            } else {
                __mmask16 m0 = (__mmask16)(rem >= 16 ? 0xFFFFu : (1u << rem) - 1u);
                __mmask16 m1 = (__mmask16)(rem > 16 ? (1u << (rem - 16)) - 1u : 0u);
                we[r] = _mm512_maskz_loadu_ps(m0, wr);
                wo[r] = _mm512_maskz_loadu_ps(m1, (const float *)wr + 16);
            }
        }
#pragma GCC unroll 6
        for (int t = 0; t < NT; t++) {
            __m512 xe = _mm512_loadu_ps(xp + (size_t)t * ldx + k);
            __m512 xo = _mm512_loadu_ps(xp + (size_t)t * ldx + k + 16);
#pragma GCC unroll 4
            for (int r = 0; r < MR; r++) {
                acc[r][t] = _mm512_fmadd_ps(we[r], xe, acc[r][t]);
                acc[r][t] = _mm512_fmadd_ps(wo[r], xo, acc[r][t]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 6
        for (int t = 0; t < NT; t++)
            out[r * NT + t] = _mm512_reduce_add_ps(acc[r][t]);
}
#define KER16(MR, NT) TILE_FNS(T5, ker16, MR, NT)
KER16(4, 6)
KER16(4, 5)
KER16(4, 4)
KER16(4, 3)
KER16(4, 2)
KER16(1, 6)
KER16(1, 5)
KER16(1, 4)
KER16(1, 3)
KER16(1, 2)
KER16(1, 1)
#undef KER16
#undef TILE_FNS

static const tile_set tiles512_bf = {
    {ker16_bf_1x1, ker16_bf_1x2, ker16_bf_1x3, ker16_bf_1x4, ker16_bf_1x5, ker16_bf_1x6},
    {NULL, ker16_bf_4x2, ker16_bf_4x3, ker16_bf_4x4, ker16_bf_4x5, ker16_bf_4x6}, 6};
static const tile_set tiles512_f = {
    {ker16_f_1x1, ker16_f_1x2, ker16_f_1x3, ker16_f_1x4, ker16_f_1x5, ker16_f_1x6},
    {NULL, ker16_f_4x2, ker16_f_4x3, ker16_f_4x4, ker16_f_4x5, ker16_f_4x6}, 6};
static const tile_set tiles256_bf = {
    {ker8_bf_1x1, ker8_bf_1x2, ker8_bf_1x3}, {NULL, ker8_bf_4x2, ker8_bf_4x3}, 3};
static const tile_set tiles256_f = {
    {ker8_f_1x1, ker8_f_1x2, ker8_f_1x3}, {NULL, ker8_f_4x2, ker8_f_4x3}, 3};
#endif /* KN_X86 */

/* ------------------------------------------------------------- FMA peak */
/* 12 independent multiply-add chains: enough to cover the latency of two
 * FMA pipes, so the loop runs at the core's f32 FMA throughput. */
#if KN_X86
static T5 double peak_avx512(long iters)
{
    __m512 a[12], m = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++)
        a[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++)
            a[i] = _mm512_fmadd_ps(a[i], m, b);
    __m512 s = a[0];
    for (int i = 1; i < 12; i++)
        s = _mm512_add_ps(s, a[i]);
    volatile float sink = _mm512_reduce_add_ps(s);
    (void)sink;
    return (double)iters * 12 * 16 * 2;
}
static T2 double peak_avx2(long iters)
{
    __m256 a[12], m = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++)
        a[i] = _mm256_set1_ps((float)i);
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++)
            a[i] = _mm256_fmadd_ps(a[i], m, b);
    __m256 s = a[0];
    for (int i = 1; i < 12; i++)
        s = _mm256_add_ps(s, a[i]);
    volatile float sink = hsum8(s);
    (void)sink;
    return (double)iters * 12 * 8 * 2;
}
#endif
static double peak_scalar(long iters)
{
    float a[12];
    for (int i = 0; i < 12; i++)
        a[i] = (float)i;
    for (long it = 0; it < iters; it++)
        for (int i = 0; i < 12; i++)
            a[i] = a[i] * 0.999999f + 1e-7f;
    volatile float sink = a[0] + a[11];
    (void)sink;
    return (double)iters * 12 * 2;
}

double kn_fma_burn(long iters, const char **isa)
{
#if KN_X86
    if (kn_supported(KN_AVX512)) {
        *isa = "avx512";
        return peak_avx512(iters);
    }
    if (kn_supported(KN_AVX2)) {
        *isa = "avx2";
        return peak_avx2(iters);
    }
#endif
    *isa = "scalar";
    return peak_scalar(iters);
}

/* ---------------------------------------------------------------- dispatch */
#if KN_X86
/* The full 32-blocks of one activation row as 16 even then 16 odd
 * elements; returns how many elements were done. */
static T5 size_t split512(float *dst, const float *src, size_t K)
{
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    size_t k = 0;
    for (; k + 32 <= K; k += 32) {
        __m512 a = _mm512_loadu_ps(src + k), b = _mm512_loadu_ps(src + k + 16);
        _mm512_storeu_ps(dst + k, _mm512_permutex2var_ps(a, ev, b));
        _mm512_storeu_ps(dst + k + 16, _mm512_permutex2var_ps(a, od, b));
    }
    return k;
}
/* The same with 16-blocks as 8 even then 8 odd elements. */
static T2 size_t split256(float *dst, const float *src, size_t K)
{
    const __m256i perm = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
    size_t k = 0;
    for (; k + 16 <= K; k += 16) {
        __m256 a = _mm256_loadu_ps(src + k), b = _mm256_loadu_ps(src + k + 8);
        /* shuffle_ps picks evens (2,0 pattern) and odds within 128-bit lanes:
         * [a0 a2 b0 b2 | a4 a6 b4 b6], then a lane permute orders them. */
        __m256 e = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
        __m256 o = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
        _mm256_storeu_ps(dst + k, _mm256_castsi256_ps(
                                      _mm256_permutevar8x32_epi32(_mm256_castps_si256(e), perm)));
        _mm256_storeu_ps(dst + k + 8, _mm256_castsi256_ps(
                                          _mm256_permutevar8x32_epi32(_mm256_castps_si256(o), perm)));
    }
    return k;
}
#endif

static int xprep_needed(const eng_mat *w)
{
    return (cur == KN_AVX512 || cur == KN_AVX2) && (w->dt == ST_F32 || w->dt == ST_BF16);
}

static size_t xprep_ld(const eng_mat *w)
{
    return ((size_t)w->cols + 31) & ~(size_t)31;
}

size_t kn_xprep_floats(const eng_mat *w, int T)
{
    return xprep_needed(w) ? xprep_ld(w) * (size_t)(T > 0 ? T : 0) : 0;
}

const float *kn_xprep(float *buf, const float *x, size_t *ldx, int T, const eng_mat *w)
{
    if (!xprep_needed(w))
        return x;
    size_t K = (size_t)w->cols, ld = xprep_ld(w);
    for (int t = 0; t < T; t++) {
        const float *src = x + (size_t)t * *ldx;
        float *dst = buf + (size_t)t * ld;
        if (w->dt == ST_F32) {
            memcpy(dst, src, K * sizeof(float));
            memset(dst + K, 0, (ld - K) * sizeof(float));
            continue;
        }
        /* bf16: each block of 2h (32 for AVX-512, 16 for AVX2) as its h even
         * then its h odd elements. */
        size_t h = cur == KN_AVX512 ? 16 : 8, k = 0;
#if KN_X86
        k = cur == KN_AVX512 ? split512(dst, src, K) : split256(dst, src, K);
#endif
        for (; k < ld; k += 2 * h)
            for (size_t l = 0; l < h; l++) {
                dst[k + l] = k + 2 * l < K ? src[k + 2 * l] : 0.0f;
                dst[k + h + l] = k + 2 * l + 1 < K ? src[k + 2 * l + 1] : 0.0f;
            }
    }
    *ldx = ld;
    return buf;
}


float kn_dot(const float *a, const float *b, int n)
{
#if KN_X86
    if (cur == KN_AVX512)
        return dot_avx512(a, b, n);
    if (cur == KN_AVX2)
        return dot_avx2(a, b, n);
#endif
    return dot_f32(a, b, n);
}

void kn_axpy(float *y, float a, const float *x, int n)
{
#if KN_X86
    if (cur == KN_AVX512) {
        axpy_avx512(y, a, x, n);
        return;
    }
    if (cur == KN_AVX2) {
        axpy_avx2(y, a, x, n);
        return;
    }
#endif
    axpy_scalar(y, a, x, n);
}

void kn_wsum(float *o, const float *w, const float *v, size_t ldv, int n, int d)
{
#if KN_X86
    if (cur == KN_AVX512) {
        wsum_avx512(o, w, v, ldv, n, d);
        return;
    }
    if (cur == KN_AVX2) {
        memset(o, 0, (size_t)d * sizeof(float));
        for (int t = 0; t < n; t++)
            axpy_avx2(o, w[t], v + (size_t)t * ldv, d);
        return;
    }
#endif
    wsum_scalar(o, w, v, ldv, n, d);
}

void kn_matmul_rows(float *y, size_t ldy, float *const *yrows, const float *x, size_t ldx, int T,
                    const eng_mat *w, const float *bias, int o0, int o1)
{
#if KN_X86
    if (w->dt == ST_F32 || w->dt == ST_BF16) {
        int bf = w->dt == ST_BF16;
        if (cur == KN_AVX512) {
            rows_tiled(bf ? &tiles512_bf : &tiles512_f, y, ldy, yrows, x, ldx, T, w, bias, o0, o1);
            return;
        }
        if (cur == KN_AVX2) {
            rows_tiled(bf ? &tiles256_bf : &tiles256_f, y, ldy, yrows, x, ldx, T, w, bias, o0, o1);
            return;
        }
    }
#endif
    rows_scalar(y, ldy, yrows, x, ldx, T, w, bias, o0, o1);
}
