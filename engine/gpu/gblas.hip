/*
 * gblas.hip — gblas.h: cuBLAS on NVIDIA and rocBLAS on AMD, both by
 * dlopen, and a reference kernel in the CPU emulation.
 *
 * The libraries are loaded rather than linked: the bundle a GPU machine
 * gets carries no 600 MB of BLAS libraries, a machine without them still
 * runs every other product kernel, and the few names used below are
 * declared here with the values of the libraries' headers, so the build
 * needs only nvcc or hipcc (Debian packages no rocBLAS or hipBLAS).
 */
#include "gblas.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int gb_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

#if defined(ZEVAL_GPU_EMU)

/* C[j][i] (column j, row i) = sum over l in order of A[i][l] B[j][l]
 * (f32 fmaf), plus C when beta. */
__global__ void k_gblas_ref(int m, int n, int k, const bf16 *A, int lda, const bf16 *B, int ldb,
                            int beta, float *C, int ldc)
{
    int i = (int)(blockIdx.x * blockDim.x + threadIdx.x), j = (int)blockIdx.y;
    if (i >= m || j >= n)
        return;
    const bf16 *a = A + (size_t)i * (size_t)lda, *b = B + (size_t)j * (size_t)ldb;
    float acc = 0.0f;
    for (int l = 0; l < k; l++)
        acc = fmaf(bf16f(a[l]), bf16f(b[l]), acc);
    float *c = C + (size_t)j * (size_t)ldc + i;
    *c = beta ? *c + acc : acc;
}

int gblas_ready(char *why, size_t whylen)
{
    (void)why;
    (void)whylen;
    return 1;
}

int gblas_gemm(hipStream_t s, int m, int n, int k, const bf16 *A, int lda, const bf16 *B, int ldb,
               int beta, float *C, int ldc, char *err, size_t errlen)
{
    if (m <= 0 || n <= 0 || k <= 0)
        return gb_err(err, errlen, "gblas_gemm: %d x %d x %d", m, n, k);
    hipLaunchKernelGGL(k_gblas_ref, dim3((unsigned)((m + 127) / 128), (unsigned)n), dim3(128), 0,
                       s, m, n, k, A, lda, B, ldb, beta, C, ldc);
    return 0;
}

const char *gblas_name(void)
{
    return "reference kernel (emulation)";
}

#else /* NVIDIA: cuBLAS; AMD: rocBLAS */

#include <dlfcn.h>

/* The library: the file named by the environment variable env, else the
 * first of lib[] that loads; NULL with the reason in why. */
static void *gb_load(const char *env, const char *const *lib, size_t nlib, const char *missing,
                     char *why, size_t whylen)
{
    const char *file = getenv(env);
    if (file && *file) {
        void *so = dlopen(file, RTLD_NOW | RTLD_LOCAL);
        if (!so)
            snprintf(why, whylen, "%s=%s: %s", env, file, dlerror());
        return so;
    }
    for (size_t i = 0; i < nlib; i++) {
        void *so = dlopen(lib[i], RTLD_NOW | RTLD_LOCAL);
        if (so)
            return so;
    }
    const char *e = dlerror();
    snprintf(why, whylen, "%s (%s=FILE names one): %s", missing, env, e ? e : "?");
    return NULL;
}

typedef struct gb_ctx *gb_handle;

static struct {
    int tried, ok;
    char why[256], version[64];
    gb_handle h;
    int (*set_stream)(gb_handle, hipStream_t);
    void *gemm;
} gb;

#if defined(__HIP_PLATFORM_NVIDIA__)

/* cuBLAS's names, declared with the values of its headers (cublas_api.h,
 * library_types.h of CUDA 12 and 13). */
enum { GB_OP_N = 0, GB_OP_T = 1, GB_R_32F = 0, GB_R_16BF = 14, GB_COMPUTE_32F = 68,
       GB_GEMM_DEFAULT = -1 };
typedef int (*gb_gemm_f)(gb_handle, int, int, int, int, int, const void *, const void *, int, int,
                         const void *, int, int, const void *, void *, int, int, int, int);

/* A fixed workspace: cuBLAS allocates none of its own while a step is
 * captured as a graph. */
enum { GB_WORKSPACE = 32 << 20 };

static void gb_init(void)
{
    static const char *const lib[] = {"libcublas.so.13", "libcublas.so.12",
                                      "/usr/local/cuda/lib64/libcublas.so.13",
                                      "/usr/local/cuda/lib64/libcublas.so.12"};
    void *so = gb_load("ZEVAL_CUBLAS", lib, sizeof lib / sizeof *lib,
                       "cuBLAS not found (libcublas.so.13 or .12 on the library path or in "
                       "/usr/local/cuda/lib64)", gb.why, sizeof gb.why);
    if (!so)
        return;
    int (*create)(gb_handle *) = (int (*)(gb_handle *))dlsym(so, "cublasCreate_v2");
    int (*ws)(gb_handle, void *, size_t) =
        (int (*)(gb_handle, void *, size_t))dlsym(so, "cublasSetWorkspace_v2");
    int (*ver)(gb_handle, int *) = (int (*)(gb_handle, int *))dlsym(so, "cublasGetVersion_v2");
    gb.set_stream = (int (*)(gb_handle, hipStream_t))dlsym(so, "cublasSetStream_v2");
    gb.gemm = dlsym(so, "cublasGemmEx");
    void *buf = NULL;
    int st = -1, v = 0;
    if (!create || !ws || !ver || !gb.set_stream || !gb.gemm)
        snprintf(gb.why, sizeof gb.why, "cuBLAS: a function is missing from the library");
    else if ((st = create(&gb.h)) != 0)
        snprintf(gb.why, sizeof gb.why, "cuBLAS: cublasCreate failed (status %d)", st);
    else if (hipMalloc(&buf, GB_WORKSPACE) != hipSuccess) {
        (void)hipGetLastError();
        snprintf(gb.why, sizeof gb.why, "cuBLAS: no device memory for its workspace");
    } else if ((st = ws(gb.h, buf, GB_WORKSPACE)) != 0)
        snprintf(gb.why, sizeof gb.why, "cuBLAS: cublasSetWorkspace failed (status %d)", st);
    else {
        (void)ver(gb.h, &v);
        snprintf(gb.version, sizeof gb.version, "cuBLAS %d", v);
        gb.ok = 1;
    }
}

static int gb_call(int m, int n, int k, const bf16 *A, int lda, const bf16 *B, int ldb,
                   const float *beta, float *C, int ldc)
{
    const float one = 1.0f;
    return ((gb_gemm_f)gb.gemm)(gb.h, GB_OP_T, GB_OP_N, m, n, k, &one, A, GB_R_16BF, lda, B,
                                GB_R_16BF, ldb, beta, C, GB_R_32F, ldc, GB_COMPUTE_32F,
                                GB_GEMM_DEFAULT);
}

#else /* AMD */

/* rocBLAS's names, declared with the values of its headers
 * (rocblas-types.h, rocblas-functions.h of ROCm 5 to 7): D = op(A) op(B)
 * + beta C with D = C, bf16 inputs, f32 output and sums. */
enum { GB_OP_N = 111, GB_OP_T = 112, GB_R_32F = 151, GB_R_16BF = 168, GB_ALGO_STANDARD = 0 };
typedef int (*gb_gemm_f)(gb_handle, int, int, int, int, int, const void *, const void *, int, int,
                         const void *, int, int, const void *, const void *, int, int, void *,
                         int, int, int, int, int32_t, uint32_t);

static void gb_init(void)
{
    static const char *const lib[] = {"librocblas.so.4", "librocblas.so.3",
                                      "/opt/rocm/lib/librocblas.so.4",
                                      "/opt/rocm/lib/librocblas.so.3"};
    void *so = gb_load("ZEVAL_ROCBLAS", lib, sizeof lib / sizeof *lib,
                       "rocBLAS not found (librocblas.so.4 or .3 on the library path or in "
                       "/opt/rocm/lib)", gb.why, sizeof gb.why);
    if (!so)
        return;
    int (*create)(gb_handle *) = (int (*)(gb_handle *))dlsym(so, "rocblas_create_handle");
    int (*ver)(char *, size_t) = (int (*)(char *, size_t))dlsym(so, "rocblas_get_version_string");
    gb.set_stream = (int (*)(gb_handle, hipStream_t))dlsym(so, "rocblas_set_stream");
    gb.gemm = dlsym(so, "rocblas_gemm_ex");
    int st = -1;
    char v[48] = "?";
    if (!create || !ver || !gb.set_stream || !gb.gemm)
        snprintf(gb.why, sizeof gb.why, "rocBLAS: a function is missing from the library");
    else if ((st = create(&gb.h)) != 0)
        snprintf(gb.why, sizeof gb.why, "rocBLAS: rocblas_create_handle failed (status %d)", st);
    else {
        (void)ver(v, sizeof v);
        snprintf(gb.version, sizeof gb.version, "rocBLAS %s", v);
        gb.ok = 1;
    }
}

static int gb_call(int m, int n, int k, const bf16 *A, int lda, const bf16 *B, int ldb,
                   const float *beta, float *C, int ldc)
{
    const float one = 1.0f;
    return ((gb_gemm_f)gb.gemm)(gb.h, GB_OP_T, GB_OP_N, m, n, k, &one, A, GB_R_16BF, lda, B,
                                GB_R_16BF, ldb, beta, C, GB_R_32F, ldc, C, GB_R_32F, ldc,
                                GB_R_32F, GB_ALGO_STANDARD, 0, 0);
}

#endif

int gblas_ready(char *why, size_t whylen)
{
    if (!gb.tried) {
        gb.tried = 1;
        gb_init();
    }
    if (!gb.ok && why && whylen)
        snprintf(why, whylen, "%s", gb.why);
    return gb.ok;
}

int gblas_gemm(hipStream_t s, int m, int n, int k, const bf16 *A, int lda, const bf16 *B, int ldb,
               int beta, float *C, int ldc, char *err, size_t errlen)
{
    if (!gblas_ready(err, errlen))
        return -1;
    if (m <= 0 || n <= 0 || k <= 0)
        return gb_err(err, errlen, "gblas_gemm: %d x %d x %d", m, n, k);
    const float one = 1.0f, zero = 0.0f;
    int st = gb.set_stream(gb.h, s);
    if (st == 0)
        st = gb_call(m, n, k, A, lda, B, ldb, beta ? &one : &zero, C, ldc);
    return st == 0 ? 0 : gb_err(err, errlen, "%s GEMM (%d x %d x %d): status %d", GBLAS_LIB, m, n,
                                k, st);
}

const char *gblas_name(void)
{
    return gblas_ready(NULL, 0) ? gb.version : "none";
}

#endif
