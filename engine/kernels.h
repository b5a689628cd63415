/*
 * kernels.h — the engine's hot inner loops (dot products and the rows of a
 * weight-times-activations product) with runtime CPU dispatch.
 *
 * Three paths: AVX-512 (avx512f+avx512bw), AVX2+FMA and portable scalar C.
 * The path is chosen once, by ZEVAL_SIMD (avx512|avx2|scalar) or else the
 * best the CPU supports, and logged once to stderr.
 *
 * Determinism contract: on a given path, every output element is one
 * fixed-order reduction that depends only on its own weight row, its own
 * activation row and the length n — never on how many activation rows
 * are processed together (T) nor on which row range a thread was given.
 * That is what keeps the forward pass batch- and thread-count-invariant.
 * Different paths may differ in the last bits (FMA, lane count).
 */
#ifndef ZEVAL_KERNELS_H
#define ZEVAL_KERNELS_H

#include "model.h"

#include <stddef.h>

typedef enum { KN_SCALAR = 0, KN_AVX2 = 1, KN_AVX512 = 2 } kn_path;

/* Selects the path on first call (ZEVAL_SIMD or the best supported) and
 * logs it to stderr.  Returns 0, or -1 with a message when ZEVAL_SIMD names
 * an unknown path or one this CPU lacks.  Thread-safe; cheap afterwards. */
int kn_init(char *err, size_t errlen);

/* Forces a path (tests, benchmarks).  Returns 0, or -1 with a message when
 * the CPU lacks it.  Must not race with running kernels. */
int kn_force(kn_path p, char *err, size_t errlen);

/* 1 if this CPU (and OS) can run path p. */
int kn_supported(kn_path p);

/* The path in use (after kn_init/kn_force; KN_SCALAR before). */
kn_path kn_current(void);

/* "avx512", "avx2" or "scalar". */
const char *kn_path_name(kn_path p);

/* Fixed-order f32 dot product of a and b (n elements) on the current path. */
float kn_dot(const float *a, const float *b, int n);

/* y[i] += a * x[i] for i < n (fused on the SIMD paths; each element on its
 * own, so the order of a sum built by repeated calls is the call order). */
void kn_axpy(float *y, float a, const float *x, int n);

/* o[j] = sum over t < n of w[t] * v[t*ldv + j], for j < d, summed in t
 * order: bit-identical to zeroing o and calling kn_axpy for t = 0, 1, ... */
void kn_wsum(float *o, const float *w, const float *v, size_t ldv, int n, int d);

/*
 * Activations for kn_matmul_rows with weights w, laid out for the current
 * path.  kn_xprep_floats(w, T) is the size of the buffer kn_xprep needs (0
 * when the path reads activations in place).  kn_xprep reads T rows of
 * w->cols floats at stride *ldx and returns either x itself or buf, with
 * *ldx set to the stride of what it returns.
 */
size_t kn_xprep_floats(const eng_mat *w, int T);
const float *kn_xprep(float *buf, const float *x, size_t *ldx, int T, const eng_mat *w);

/* For o in [o0, o1) and t < T:
 *   Y[t][o] = W[o, :] · x[t] (+ bias[o])
 * where x and ldx are what kn_xprep returned for these T rows and w, and
 * Y[t] is yrows[t] when yrows is non-NULL, else y + t*ldy.
 * W is f32, bf16 (widened to f32) or f16 (scalar on every path). */
void kn_matmul_rows(float *y, size_t ldy, float *const *yrows, const float *x, size_t ldx, int T,
                    const eng_mat *w, const float *bias, int o0, int o1);

/* The machine's f32 FMA peak, for benchmarks: runs iters rounds of 12
 * independent fused multiply-adds on the widest vectors this CPU has
 * (whatever path is selected) and returns the flops done (2 per lane per
 * FMA); *isa names the vector width used. */
double kn_fma_burn(long iters, const char **isa);

#endif
