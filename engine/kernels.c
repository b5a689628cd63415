/*
 * kernels.c — dot products and matrix-row products for the scalar, AVX2+FMA
 * and AVX-512 paths (see kernels.h for the determinism contract).
 *
 * The SIMD functions carry __attribute__((target(...))) so the rest of the
 * build stays generic x86-64; they only run after __builtin_cpu_supports
 * said yes.  Each path's reduction for one output element:
 *   scalar  8 interleaved partial sums (mul then add), then a fixed tree
 *   avx2    4 x 8-lane FMA accumulators over 32-element blocks, leftover
 *           8-blocks and a zero-padded tail into accumulators 0,1,2,3 in
 *           turn, then (a0+a1)+(a2+a3) and a fixed horizontal tree
 *   avx512  the same with 4 x 16 lanes over 64-element blocks
 * A tile of NT activation rows shares each widened weight vector, but each
 * row keeps its own accumulators and runs the very same sequence of
 * operations as when it is alone, so T and the row split never matter.
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
static T2I __m256 w8(const void *w, int bf, int i)
{
    if (bf)
        return _mm256_castsi256_ps(_mm256_slli_epi32(
            _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + i))), 16));
    return _mm256_loadu_ps((const float *)w + i);
}

static T2I float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* out[j] = w · x_j for j < NT (NT a compile-time constant at each call). */
static T2I void tile8(const void *w, int bf, const float *x, size_t ldx, int n, int NT, float *out)
{
    __m256 acc[3][4];
#pragma GCC unroll 3
    for (int j = 0; j < NT; j++)
        for (int k = 0; k < 4; k++)
            acc[j][k] = _mm256_setzero_ps();
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 a0 = w8(w, bf, i), a1 = w8(w, bf, i + 8), a2 = w8(w, bf, i + 16),
               a3 = w8(w, bf, i + 24);
#pragma GCC unroll 3
        for (int j = 0; j < NT; j++) {
            const float *xj = x + (size_t)j * ldx + i;
            acc[j][0] = _mm256_fmadd_ps(a0, _mm256_loadu_ps(xj), acc[j][0]);
            acc[j][1] = _mm256_fmadd_ps(a1, _mm256_loadu_ps(xj + 8), acc[j][1]);
            acc[j][2] = _mm256_fmadd_ps(a2, _mm256_loadu_ps(xj + 16), acc[j][2]);
            acc[j][3] = _mm256_fmadd_ps(a3, _mm256_loadu_ps(xj + 24), acc[j][3]);
        }
    }
    /* Fewer than 32 left: up to three 8-blocks, then a zero-padded tail,
     * into accumulators 0, 1, 2, 3 in turn (constant indices keep acc in
     * registers). */
#define AVX2_STEP(K)                                                                         \
    if (i + 8 <= n) {                                                                        \
        __m256 a = w8(w, bf, i);                                                             \
        _Pragma("GCC unroll 3") for (int j = 0; j < NT; j++) acc[j][K] =                     \
            _mm256_fmadd_ps(a, _mm256_loadu_ps(x + (size_t)j * ldx + i), acc[j][K]);         \
        i += 8;                                                                              \
    } else if (i < n) {                                                                      \
        float wt[8] = {0}, xt[8];                                                            \
        for (int q = 0; q < n - i; q++)                                                      \
            wt[q] = bf ? ut_bf16_to_f32(((const uint16_t *)w)[i + q]) : ((const float *)w)[i + q]; \
        __m256 a = _mm256_loadu_ps(wt);                                                      \
        _Pragma("GCC unroll 3") for (int j = 0; j < NT; j++) {                               \
            memset(xt, 0, sizeof xt);                                                        \
            memcpy(xt, x + (size_t)j * ldx + i, (size_t)(n - i) * sizeof(float));           \
            acc[j][K] = _mm256_fmadd_ps(a, _mm256_loadu_ps(xt), acc[j][K]);                  \
        }                                                                                    \
        i = n;                                                                               \
    }
    AVX2_STEP(0) AVX2_STEP(1) AVX2_STEP(2) AVX2_STEP(3)
#undef AVX2_STEP
#pragma GCC unroll 3
    for (int j = 0; j < NT; j++)
        out[j] = hsum8(_mm256_add_ps(_mm256_add_ps(acc[j][0], acc[j][1]),
                                     _mm256_add_ps(acc[j][2], acc[j][3])));
}

static T2 float dot_avx2(const float *a, const float *b, int n)
{
    float r;
    tile8(a, 0, b, 0, n, 1, &r);
    return r;
}

static T2 void rows_avx2(float *y, size_t ldy, float *const *yrows, const float *x, size_t ldx,
                         int T, const eng_mat *w, const float *bias, int o0, int o1)
{
    int n = w->cols, bf = w->dt == ST_BF16;
    size_t esz = bf ? 2 : 4;
    for (int o = o0; o < o1; o++) {
        const void *wr = (const char *)w->p + (size_t)o * (size_t)n * esz;
        float b = bias ? bias[o] : 0.0f, r[3];
        int t = 0;
        for (; t + 3 <= T; t += 3) {
            tile8(wr, bf, x + (size_t)t * ldx, ldx, n, 3, r);
            for (int j = 0; j < 3; j++)
                YROW(t + j)[o] = r[j] + b;
        }
        for (; t < T; t++) {
            tile8(wr, bf, x + (size_t)t * ldx, ldx, n, 1, r);
            YROW(t)[o] = r[0] + b;
        }
    }
}

/* ----------------------------------------------------------------- avx512 */

#define T5 __attribute__((target("avx512f,avx512bw")))
#define T5I __attribute__((target("avx512f,avx512bw"), always_inline)) inline

static T5I __m512 w16(const void *w, int bf, int i)
{
    if (bf)
        return _mm512_castsi512_ps(_mm512_slli_epi32(
            _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)((const uint16_t *)w + i))), 16));
    return _mm512_loadu_ps((const float *)w + i);
}

static T5I void tile16(const void *w, int bf, const float *x, size_t ldx, int n, int NT, float *out)
{
    __m512 acc[4][4];
#pragma GCC unroll 4
    for (int j = 0; j < NT; j++)
        for (int k = 0; k < 4; k++)
            acc[j][k] = _mm512_setzero_ps();
    int i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512 a0 = w16(w, bf, i), a1 = w16(w, bf, i + 16), a2 = w16(w, bf, i + 32),
               a3 = w16(w, bf, i + 48);
#pragma GCC unroll 4
        for (int j = 0; j < NT; j++) {
            const float *xj = x + (size_t)j * ldx + i;
            acc[j][0] = _mm512_fmadd_ps(a0, _mm512_loadu_ps(xj), acc[j][0]);
            acc[j][1] = _mm512_fmadd_ps(a1, _mm512_loadu_ps(xj + 16), acc[j][1]);
            acc[j][2] = _mm512_fmadd_ps(a2, _mm512_loadu_ps(xj + 32), acc[j][2]);
            acc[j][3] = _mm512_fmadd_ps(a3, _mm512_loadu_ps(xj + 48), acc[j][3]);
        }
    }
    /* Fewer than 64 left: as in tile8, with 16-blocks and a masked tail. */
#define AVX512_STEP(K)                                                                       \
    if (i + 16 <= n) {                                                                       \
        __m512 a = w16(w, bf, i);                                                            \
        _Pragma("GCC unroll 4") for (int j = 0; j < NT; j++) acc[j][K] =                     \
            _mm512_fmadd_ps(a, _mm512_loadu_ps(x + (size_t)j * ldx + i), acc[j][K]);         \
        i += 16;                                                                             \
    } else if (i < n) {                                                                      \
        __mmask16 msk = (__mmask16)((1u << (n - i)) - 1u);                                   \
        float wt[16] = {0};                                                                  \
        for (int q = 0; q < n - i; q++)                                                      \
            wt[q] = bf ? ut_bf16_to_f32(((const uint16_t *)w)[i + q]) : ((const float *)w)[i + q]; \
        __m512 a = _mm512_loadu_ps(wt);                                                      \
        _Pragma("GCC unroll 4") for (int j = 0; j < NT; j++) acc[j][K] = _mm512_fmadd_ps(    \
            a, _mm512_maskz_loadu_ps(msk, x + (size_t)j * ldx + i), acc[j][K]);              \
        i = n;                                                                               \
    }
    AVX512_STEP(0) AVX512_STEP(1) AVX512_STEP(2) AVX512_STEP(3)
#undef AVX512_STEP
#pragma GCC unroll 4
    for (int j = 0; j < NT; j++)
        out[j] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[j][0], acc[j][1]),
                                                    _mm512_add_ps(acc[j][2], acc[j][3])));
}

static T5 float dot_avx512(const float *a, const float *b, int n)
{
    float r;
    tile16(a, 0, b, 0, n, 1, &r);
    return r;
}

static T5 void rows_avx512(float *y, size_t ldy, float *const *yrows, const float *x, size_t ldx,
                           int T, const eng_mat *w, const float *bias, int o0, int o1)
{
    int n = w->cols, bf = w->dt == ST_BF16;
    size_t esz = bf ? 2 : 4;
    for (int o = o0; o < o1; o++) {
        const void *wr = (const char *)w->p + (size_t)o * (size_t)n * esz;
        float b = bias ? bias[o] : 0.0f, r[4];
        int t = 0;
        for (; t + 4 <= T; t += 4) {
            tile16(wr, bf, x + (size_t)t * ldx, ldx, n, 4, r);
            for (int j = 0; j < 4; j++)
                YROW(t + j)[o] = r[j] + b;
        }
        for (; t < T; t++) {
            tile16(wr, bf, x + (size_t)t * ldx, ldx, n, 1, r);
            YROW(t)[o] = r[0] + b;
        }
    }
}
#endif /* KN_X86 */

/* ---------------------------------------------------------------- dispatch */

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

void kn_matmul_rows(float *y, size_t ldy, float *const *yrows, const float *x, size_t ldx, int T,
                    const eng_mat *w, const float *bias, int o0, int o1)
{
#if KN_X86
    if (w->dt == ST_F32 || w->dt == ST_BF16) {
        if (cur == KN_AVX512) {
            rows_avx512(y, ldy, yrows, x, ldx, T, w, bias, o0, o1);
            return;
        }
        if (cur == KN_AVX2) {
            rows_avx2(y, ldy, yrows, x, ldx, T, w, bias, o0, o1);
            return;
        }
    }
#endif
    rows_scalar(y, ldy, yrows, x, ldx, T, w, bias, o0, o1);
}
