/*
 * gblas.hip — gblas.h: cuBLAS by dlopen on NVIDIA, a reference kernel in
 * the CPU emulation, nothing on AMD.
 *
 * cuBLAS is loaded rather than linked: the bundle a GPU machine gets
 * carries no 600 MB of BLAS libraries, a machine without them still runs
 * every other product kernel, and the names used below are declared here
 * with the values of cuBLAS 12 and 13's headers (cublas_api.h,
 * library_types.h), so the build needs only nvcc.
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

#elif defined(__HIP_PLATFORM_NVIDIA__)

#include <dlfcn.h>

/* cuBLAS's names, declared with its headers' values. */
typedef struct gb_ctx *gb_handle;
enum { GB_OP_N = 0, GB_OP_T = 1, GB_R_32F = 0, GB_R_16BF = 14, GB_COMPUTE_32F = 68,
       GB_GEMM_DEFAULT = -1 };
typedef int (*gb_create_f)(gb_handle *);
typedef int (*gb_stream_f)(gb_handle, cudaStream_t);
typedef int (*gb_workspace_f)(gb_handle, void *, size_t);
typedef int (*gb_version_f)(gb_handle, int *);
typedef int (*gb_gemm_f)(gb_handle, int, int, int, int, int, const void *, const void *, int, int,
                         const void *, int, int, const void *, void *, int, int, int, int);

/* A fixed workspace: cuBLAS allocates none of its own while a step is
 * captured as a graph. */
enum { GB_WORKSPACE = 32 << 20 };

static struct {
    int tried, ok, version;
    char why[256];
    gb_handle h;
    gb_stream_f set_stream;
    gb_gemm_f gemm;
} gb;

int gblas_ready(char *why, size_t whylen)
{
    if (!gb.tried) {
        gb.tried = 1;
        /* ZEVAL_CUBLAS (a file), the library path, then the toolkit's */
        static const char *const lib[] = {"libcublas.so.13", "libcublas.so.12",
                                          "/usr/local/cuda/lib64/libcublas.so.13",
                                          "/usr/local/cuda/lib64/libcublas.so.12"};
        const char *env = getenv("ZEVAL_CUBLAS");
        void *so = env && *env ? dlopen(env, RTLD_NOW | RTLD_LOCAL) : NULL;
        const char *e = so || !(env && *env) ? NULL : dlerror();
        if (e)
            snprintf(gb.why, sizeof gb.why, "ZEVAL_CUBLAS=%s: %s", env, e);
        for (size_t i = 0; !so && !e && i < sizeof lib / sizeof *lib; i++)
            so = dlopen(lib[i], RTLD_NOW | RTLD_LOCAL);
        if (!so && !e) {
            e = dlerror();
            snprintf(gb.why, sizeof gb.why, "cuBLAS not found (libcublas.so.13 or .12 on the "
                     "library path or in /usr/local/cuda/lib64, or ZEVAL_CUBLAS=FILE: %s)",
                     e ? e : "?");
        } else if (so) {
            gb_create_f create = (gb_create_f)dlsym(so, "cublasCreate_v2");
            gb_workspace_f ws = (gb_workspace_f)dlsym(so, "cublasSetWorkspace_v2");
            gb_version_f ver = (gb_version_f)dlsym(so, "cublasGetVersion_v2");
            gb.set_stream = (gb_stream_f)dlsym(so, "cublasSetStream_v2");
            gb.gemm = (gb_gemm_f)dlsym(so, "cublasGemmEx");
            void *buf = NULL;
            int st = -1;
            if (!create || !ws || !ver || !gb.set_stream || !gb.gemm)
                snprintf(gb.why, sizeof gb.why, "cuBLAS: a function is missing from the library");
            else if ((st = create(&gb.h)) != 0)
                snprintf(gb.why, sizeof gb.why, "cuBLAS: cublasCreate failed (status %d)", st);
            else if (hipMalloc(&buf, GB_WORKSPACE) != hipSuccess) {
                (void)hipGetLastError();
                snprintf(gb.why, sizeof gb.why, "cuBLAS: no device memory for its workspace");
            } else if ((st = ws(gb.h, buf, GB_WORKSPACE)) != 0)
                snprintf(gb.why, sizeof gb.why, "cuBLAS: cublasSetWorkspace failed (status %d)",
                         st);
            else {
                (void)ver(gb.h, &gb.version);
                gb.ok = 1;
            }
        }
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
        st = gb.gemm(gb.h, GB_OP_T, GB_OP_N, m, n, k, &one, A, GB_R_16BF, lda, B, GB_R_16BF, ldb,
                     beta ? &one : &zero, C, GB_R_32F, ldc, GB_COMPUTE_32F, GB_GEMM_DEFAULT);
    return st == 0 ? 0 : gb_err(err, errlen, "cublasGemmEx (%d x %d x %d): status %d", m, n, k, st);
}

const char *gblas_name(void)
{
    static char name[32];
    if (!gblas_ready(NULL, 0))
        return "none";
    snprintf(name, sizeof name, "cuBLAS %d", gb.version);
    return name;
}

#else /* AMD */

int gblas_ready(char *why, size_t whylen)
{
    if (why && whylen)
        snprintf(why, whylen, "no BLAS in the AMD build (Debian has no hipBLAS or rocBLAS)");
    return 0;
}

int gblas_gemm(hipStream_t s, int m, int n, int k, const bf16 *A, int lda, const bf16 *B, int ldb,
               int beta, float *C, int ldc, char *err, size_t errlen)
{
    (void)s, (void)m, (void)n, (void)k, (void)A, (void)lda, (void)B, (void)ldb, (void)beta;
    (void)C, (void)ldc;
    return gb_err(err, errlen, "no BLAS in the AMD build (Debian has no hipBLAS or rocBLAS)");
}

const char *gblas_name(void)
{
    return "none";
}

#endif
