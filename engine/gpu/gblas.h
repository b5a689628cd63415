/*
 * gblas.h — the one BLAS call the HIP backend makes (gblas.hip): a
 * product of bf16 matrices with f32 sums and an f32 result, for the
 * batched products of many tokens (ZEVAL_GPU_BMM=blas, bkernels.hip).
 *
 *   NVIDIA: cuBLAS's cublasGemmEx (bf16 in, f32 out, CUBLAS_COMPUTE_32F),
 *           from libcublas loaded at run time (dlopen), so the binary
 *           links and starts without it and says so when it is missing;
 *   AMD: rocBLAS's rocblas_gemm_ex (bf16 in, f32 out and sums), from
 *           librocblas loaded the same way;
 *   the CPU emulation: a reference kernel (one output a thread, the sum
 *           in k order), so the calls around it are tested without a GPU.
 */
#ifndef ZEVAL_GPU_GBLAS_H
#define ZEVAL_GPU_GBLAS_H

#include "gpu_compat.h"

/* The library's name, as run records and messages give it. */
#if defined(ZEVAL_GPU_EMU) || defined(__HIP_PLATFORM_NVIDIA__)
#define GBLAS_LIB "cuBLAS"
#else
#define GBLAS_LIB "rocBLAS"
#endif

/* 1 when gblas_gemm can run (loads the library and makes a handle on the
 * first call); else 0 with the reason in why (e.g. the dlopen error). */
int gblas_ready(char *why, size_t whylen);

/* Column-major, as BLAS has it: C[m x n] (ldc) = A^T B + beta C, where A
 * is k x m (lda) and B is k x n (ldb), beta 0 or 1.  Row-major that is
 * Y[n][m] = X[n][k] W[m][k]^T: W's rows are A's columns.  On stream s,
 * asynchronous; 0, or -1 with a message. */
int gblas_gemm(hipStream_t s, int m, int n, int k, const bf16 *A, int lda, const bf16 *B, int ldb,
               int beta, float *C, int ldc, char *err, size_t errlen);

/* "cuBLAS 130100" or "rocBLAS 4.3.0..." (the loaded library's version),
 * "reference kernel (emulation)" or "none". */
const char *gblas_name(void);

#endif
