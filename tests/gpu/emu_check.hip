/*
 * emu_check.hip — the CPU emulation of HIP (engine/gpu/compat/cpu) runs
 * kernels as the engine's dialect (gpu_compat.h) promises, checked against
 * host loops; prints one PASS/FAIL line per check and the cost of launches
 * and fiber switches, and exits non-zero on any failure.
 *
 * Build and run from the repository root, plain and with ASan + UBSan:
 *   mkdir -p build && g++ -std=c++17 -O2 -Wall -Wextra -Werror -DZEVAL_GPU_EMU -isystem engine/gpu/compat/cpu -Iengine/gpu -x c++ tests/gpu/emu_check.hip -x none engine/gpu/compat/cpu/emu.cc -o build/emu_check && build/emu_check
 *   mkdir -p build && g++ -std=c++17 -O1 -g -fsanitize=address,undefined -Wall -Wextra -Werror -DZEVAL_GPU_EMU -isystem engine/gpu/compat/cpu -Iengine/gpu -x c++ tests/gpu/emu_check.hip -x none engine/gpu/compat/cpu/emu.cc -o build/emu_check_asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 build/emu_check_asan
 * (ASan prints once that it "doesn't fully support makecontext/swapcontext":
 * expected, the fiber switches are annotated for it.)
 *
 * ZEMU_CHECK_OOB=1 instead runs one kernel that reads past a hipMalloc'd
 * buffer, which an ASan build must report.
 */
#include "gpu_compat.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

static int g_failures;

static void expect(bool ok, const char *what)
{
    if (!ok) {
        printf("FAIL %s\n", what);
        g_failures++;
    }
}

#define HIP(call) expect((call) == hipSuccess, #call)

static void report(const char *name, int failures_before)
{
    if (g_failures == failures_before)
        printf("PASS %s\n", name);
}

static uint32_t g_rng = 12345;

static float rnd(void)
{
    g_rng = g_rng * 1664525u + 1013904223u;
    return (float)(g_rng >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---- device and memory ---- */

static void check_device(void)
{
    int before = g_failures, n = 0, dev = -1;
    hipDeviceProp_t p;
    HIP(hipGetDeviceCount(&n));
    expect(n == 1, "one device");
    HIP(hipSetDevice(0));
    HIP(hipGetDevice(&dev));
    expect(dev == 0, "hipGetDevice is 0");
    HIP(hipGetDeviceProperties(&p, 0));
    expect(!strcmp(p.name, "zeval CPU emulator"), "device name");
    expect(p.warpSize == 32 && p.maxThreadsPerBlock == 1024 && p.sharedMemPerBlock == 65536 &&
               p.multiProcessorCount == 1 && p.major == 0 && p.minor == 0 &&
               p.totalGlobalMem > ((size_t)1 << 28),
           "device properties");
    size_t fr = 0, tot = 0;
    HIP(hipMemGetInfo(&fr, &tot));
    expect(fr > 0 && fr <= tot && tot == p.totalGlobalMem, "hipMemGetInfo");
    expect(hipSetDevice(1) == hipErrorInvalidDevice, "hipSetDevice(1) fails");
    expect(hipPeekAtLastError() == hipErrorInvalidDevice, "peek sees the error");
    expect(hipGetLastError() == hipErrorInvalidDevice, "get returns the error");
    expect(hipGetLastError() == hipSuccess, "get cleared it");
    expect(!strcmp(hipGetErrorName(hipErrorInvalidConfiguration), "hipErrorInvalidConfiguration") &&
               hipErrorMemoryAllocation == hipErrorOutOfMemory &&
               strlen(hipGetErrorString(hipErrorNoDevice)) > 0 &&
               !strcmp(hipGetErrorName(hipSuccess), "hipSuccess"),
           "error names");
    HIP(hipDeviceSynchronize());
    report("device: count, properties, last error, error names", before);
}

static void check_memory(void)
{
    int before = g_failures;
    const size_t sizes[] = {1, 3, 100, 4097, 1 << 20};
    for (size_t sz : sizes) {
        void *p = nullptr;
        HIP(hipMalloc(&p, sz));
        expect(p && ((uintptr_t)p % 256) == 0, "hipMalloc is 256-byte aligned");
        HIP(hipFree(p));
    }
    float *zero = (float *)1;
    HIP(hipMalloc(&zero, 0));
    expect(zero == nullptr, "hipMalloc of 0 bytes gives NULL");
    HIP(hipFree(nullptr));

    enum { N = 1000 };
    float *d1, *d2, *h;
    std::vector<float> src(N), back(N, 0.0f);
    for (int i = 0; i < N; i++)
        src[i] = rnd();
    HIP(hipMalloc(&d1, N * sizeof(float)));
    HIP(hipMalloc(&d2, N * sizeof(float)));
    HIP(hipHostMalloc(&h, N * sizeof(float), 0));
    HIP(hipMemcpy(d1, src.data(), N * sizeof(float), hipMemcpyHostToDevice));
    HIP(hipMemcpy(d2, d1, N * sizeof(float), hipMemcpyDeviceToDevice));
    HIP(hipMemcpy(h, d2, N * sizeof(float), hipMemcpyDeviceToHost));
    HIP(hipMemcpy(back.data(), h, N * sizeof(float), hipMemcpyHostToHost));
    expect(!memcmp(back.data(), src.data(), N * sizeof(float)), "memcpy round trip");

    hipStream_t s;
    HIP(hipStreamCreate(&s));
    HIP(hipMemsetAsync(d1, 0x3f, N * sizeof(float), s));
    HIP(hipMemcpyAsync(h, d1, N * sizeof(float), hipMemcpyDefault, s));
    HIP(hipStreamSynchronize(s));
    expect(((unsigned char *)h)[0] == 0x3f && ((unsigned char *)h)[N * 4 - 1] == 0x3f,
           "memsetAsync + memcpyAsync on a stream");
    HIP(hipMemset(d2, 0, N * sizeof(float)));
    HIP(hipMemcpyAsync(h, d2, N * sizeof(float), hipMemcpyDeviceToHost, 0));
    expect(h[0] == 0.0f && h[N - 1] == 0.0f, "memset + memcpyAsync on the null stream");
    expect(hipMemcpy(d1, d2, 4, (hipMemcpyKind)7) == hipErrorInvalidValue, "bad memcpy kind");
    expect(hipMemcpy(nullptr, d2, 4, hipMemcpyDeviceToDevice) == hipErrorInvalidValue,
           "memcpy to NULL");
    (void)hipGetLastError();
    HIP(hipStreamDestroy(s));
    HIP(hipHostFree(h));
    HIP(hipFree(d1));
    HIP(hipFree(d2));
    report("memory: alignment, copies of every kind, memsets, sync and async", before);
}

/* ---- indexing and launch order ---- */

struct Ids {
    unsigned tx, ty, tz, bx, by, bz, dx, dy, dz, gx, gy, gz, order;
};

static unsigned g_block_order, g_thread_order;

__global__ void k_ids(Ids *out)
{
    unsigned t = threadIdx.x + threadIdx.y * blockDim.x + threadIdx.z * blockDim.x * blockDim.y;
    unsigned b = blockIdx.x + blockIdx.y * gridDim.x + blockIdx.z * gridDim.x * gridDim.y;
    Ids &o = out[b * blockDim.x * blockDim.y * blockDim.z + t];
    if (t == 0)
        o.order = g_block_order++;
    else
        o.order = g_thread_order++;
    o.tx = threadIdx.x, o.ty = threadIdx.y, o.tz = threadIdx.z;
    o.bx = blockIdx.x, o.by = blockIdx.y, o.bz = blockIdx.z;
    o.dx = blockDim.x, o.dy = blockDim.y, o.dz = blockDim.z;
    o.gx = gridDim.x, o.gy = gridDim.y, o.gz = gridDim.z;
}

static void check_indexing(void)
{
    int before = g_failures;
    const dim3 grid(3, 2, 2), block(4, 3, 2);
    const unsigned nb = 12, nt = 24;
    Ids *d;
    HIP(hipMalloc(&d, nb * nt * sizeof(Ids)));
    g_block_order = g_thread_order = 0;
    hipLaunchKernelGGL(k_ids, grid, block, 0, 0, d);
    HIP(hipGetLastError());
    bool ok = true, order = true;
    for (unsigned b = 0; b < nb; b++)
        for (unsigned t = 0; t < nt; t++) {
            const Ids &o = d[b * nt + t];
            ok &= o.tx == t % 4 && o.ty == t / 4 % 3 && o.tz == t / 12 && o.bx == b % 3 &&
                  o.by == b / 3 % 2 && o.bz == b / 6 && o.dx == 4 && o.dy == 3 && o.dz == 2 &&
                  o.gx == 3 && o.gy == 2 && o.gz == 2;
            /* blocks x-fastest, one after another; threads in linear order */
            order &= t == 0 ? o.order == b : o.order == b * (nt - 1) + t - 1;
        }
    expect(ok, "threadIdx/blockIdx/blockDim/gridDim in a 3-D grid of 3-D blocks");
    expect(order, "blocks run one at a time, x fastest; threads start in linear order");
    hipLaunchKernelGGL(k_ids, 2, 5, 0, 0, d); /* plain integers as shapes */
    expect(d[9].tx == 4 && d[9].bx == 1 && d[9].dy == 1 && d[9].gz == 1, "integer shapes");
    HIP(hipFree(d));
    report("indexing: 3-D shapes, block order, integer shapes", before);
}

/* ---- arguments by value ---- */

struct Params {
    float scale;
    int bias[3];
};

__global__ void k_args(int n, Params p, float *out)
{
    n += (int)threadIdx.x; /* each thread has its own copy */
    p.scale *= 2.0f;
    p.bias[1] += n;
    out[threadIdx.x] = (float)n + p.scale + (float)p.bias[1];
}

template <int K> __global__ void k_template(int *out) { out[threadIdx.x] = K * (int)threadIdx.x; }

static int g_no_args_runs;

__global__ void k_no_args(void) { g_no_args_runs++; }

static void check_args(void)
{
    int before = g_failures;
    float *d;
    int *di;
    HIP(hipMalloc(&d, 64 * sizeof(float)));
    HIP(hipMalloc(&di, 64 * sizeof(int)));
    Params p = {1.5f, {1, 10, 100}};
    size_t n = 5;
    hipLaunchKernelGGL(k_args, 1, 64, 0, 0, n, p, d);
    bool ok = p.scale == 1.5f && p.bias[1] == 10;
    for (int t = 0; t < 64; t++)
        ok &= d[t] == (float)(5 + t) + 3.0f + (float)(10 + 5 + t);
    expect(ok, "arguments are copied per thread, converted to the parameter types");
    hipLaunchKernelGGL(k_template<7>, 1, 64, 0, 0, di);
    expect(di[63] == 7 * 63, "template kernel");
    hipLaunchKernelGGL(k_no_args, 3, 2, 0, 0);
    expect(g_no_args_runs == 6, "kernel without arguments");
    HIP(hipFree(d));
    HIP(hipFree(di));
    report("arguments: by value, per-thread copies, conversions, templates, none", before);
}

/* ---- barriers and static shared memory ---- */

static __device__ float block_sum(float v)
{
    __shared__ float part[256];
    unsigned t = threadIdx.x;
    part[t] = v;
    __syncthreads();
    for (unsigned half = blockDim.x / 2; half > 0; half >>= 1) {
        if (t < half)
            part[t] += part[t + half];
        __syncthreads();
    }
    float r = part[0];
    __syncthreads(); /* part is reused by the next call */
    return r;
}

static __global__ void k_reduce(const float *x, float *sums, float *sums_sq)
{
    float v = x[blockIdx.x * blockDim.x + threadIdx.x];
    float s = block_sum(v);
    float q = block_sum(v * v);
    if (threadIdx.x == 0) {
        sums[blockIdx.x] = s;
        sums_sq[blockIdx.x] = q;
    }
}

/* Threads past n return at once; the rest still meet at barriers. */
__global__ void k_early_return(int n, int *out)
{
    __shared__ int buf[1024];
    int t = (int)threadIdx.x;
    if (t >= n)
        return;
    buf[t] = t * 3;
    __syncthreads();
    int v = buf[n - 1 - t];
    __syncthreads();
    buf[t] = v + 1;
    __syncthreads();
    out[t] = buf[n - 1 - t];
}

static void check_barriers(void)
{
    int before = g_failures;
    enum { B = 256, G = 5 };
    float *x, *s, *q;
    HIP(hipMalloc(&x, B * G * sizeof(float)));
    HIP(hipMalloc(&s, G * sizeof(float)));
    HIP(hipMalloc(&q, G * sizeof(float)));
    for (int i = 0; i < B * G; i++)
        x[i] = (float)((int)(rnd() * 64)); /* integers: sums are exact */
    hipLaunchKernelGGL(k_reduce, G, B, 0, 0, x, s, q);
    bool ok = true;
    for (int g = 0; g < G; g++) {
        double hs = 0, hq = 0;
        for (int i = 0; i < B; i++) {
            hs += x[g * B + i];
            hq += (double)x[g * B + i] * x[g * B + i];
        }
        ok &= s[g] == (float)hs && q[g] == (float)hq;
    }
    expect(ok, "tree reductions over static __shared__ with 18 barriers per block");

    int *out;
    HIP(hipMalloc(&out, 1024 * sizeof(int)));
    const int ns[] = {100, 1, 1024, 255};
    for (int n : ns) {
        hipLaunchKernelGGL(k_early_return, 2, n == 1024 ? 1024 : 256, 0, 0, n, out);
        bool good = true;
        for (int t = 0; t < n; t++)
            good &= out[t] == t * 3 + 1;
        expect(good, "returned threads count as arrived at __syncthreads");
    }
    HIP(hipFree(out));
    HIP(hipFree(x));
    HIP(hipFree(s));
    HIP(hipFree(q));
    report("barriers: block reductions, early-returning threads, 1024-thread blocks", before);
}

/* ---- shuffles ---- */

__global__ void k_lanes(const float *x, float *sum, float *mx)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    sum[i] = lanes_sum(x[i]);
    mx[i] = lanes_max(x[i]);
}

/* Every shuffle form, every width: out[k][tid]. */
__global__ void k_shuffles(int *out, int arg)
{
    unsigned t = threadIdx.x + threadIdx.y * blockDim.x;
    unsigned n = blockDim.x * blockDim.y;
    int k = 0;
    for (int w = 1; w <= 32; w *= 2) {
        out[n * k++ + t] = __shfl_xor((int)t * 7, arg % w, w);
        out[n * k++ + t] = (int)__shfl_down(t * 5u, (unsigned)arg, w);
        out[n * k++ + t] = (int)__shfl((float)t, arg, w);
    }
    out[n * k++ + t] = __shfl_xor((int)t, 16, 8); /* partner past the group: own value */
    out[n * k++ + t] = __shfl_xor((int)t, 8 + arg % 8, 16);
}

/* The reference: which lane each shuffle reads, from HIP's definitions. */
static unsigned ref_lane(int kind, unsigned lane, int arg, unsigned w)
{
    unsigned group = lane / w * w;
    if (kind == 0) {
        unsigned p = lane ^ (unsigned)arg;
        return p >= group + w ? lane : p;
    }
    if (kind == 1)
        return lane % w + (unsigned)arg >= w ? lane : lane + (unsigned)arg;
    return group + (unsigned)arg % w;
}

static void check_shuffles(void)
{
    int before = g_failures;
    enum { N = 256 * 3 };
    float *x, *s, *m;
    HIP(hipMalloc(&x, N * sizeof(float)));
    HIP(hipMalloc(&s, N * sizeof(float)));
    HIP(hipMalloc(&m, N * sizeof(float)));
    for (int i = 0; i < N; i++)
        x[i] = rnd();
    hipLaunchKernelGGL(k_lanes, 3, 256, 0, 0, x, s, m);
    bool ok = true;
    for (int g = 0; g < N / 32; g++) {
        float v[32], mv[32];
        for (int l = 0; l < 32; l++)
            v[l] = mv[l] = x[g * 32 + l];
        for (int off = 16; off > 0; off /= 2) { /* the same butterfly */
            float nv[32], nm[32];
            for (int l = 0; l < 32; l++) {
                nv[l] = v[l] + v[l ^ off];
                nm[l] = fmaxf(mv[l], mv[l ^ off]);
            }
            memcpy(v, nv, sizeof v);
            memcpy(mv, nm, sizeof mv);
        }
        for (int l = 0; l < 32; l++)
            ok &= s[g * 32 + l] == v[l] && m[g * 32 + l] == mv[l];
    }
    expect(ok, "lanes_sum / lanes_max equal the host butterfly bit for bit");

    /* 16x4 blocks: each warp spans two rows */
    enum { T = 64, K = 20 };
    int *out;
    HIP(hipMalloc(&out, K * T * sizeof(int)));
    for (int arg = 0; arg < 40; arg += 3) {
        hipLaunchKernelGGL(k_shuffles, 1, dim3(16, 4), 0, 0, out, arg);
        for (unsigned t = 0; t < T; t++) {
            unsigned lane = t % 32, base = t - lane;
            int k = 0;
            for (unsigned w = 1; w <= 32; w *= 2) {
                ok &= out[T * k++ + t] == (int)(base + ref_lane(0, lane, arg % (int)w, w)) * 7;
                ok &= out[T * k++ + t] == (int)(base + ref_lane(1, lane, arg, w)) * 5;
                ok &= out[T * k++ + t] == (int)(base + ref_lane(2, lane, arg, w));
            }
            ok &= out[T * k++ + t] == (int)(base + ref_lane(0, lane, 16, 8));
            ok &= out[T * k++ + t] == (int)(base + ref_lane(0, lane, 8 + arg % 8, 16));
        }
    }
    expect(ok, "__shfl_xor/__shfl_down/__shfl for int, unsigned, float at every width");
    HIP(hipFree(out));
    HIP(hipFree(x));
    HIP(hipFree(s));
    HIP(hipFree(m));
    report("shuffles: 32-lane reductions and every form and width", before);
}

/* ---- dynamic shared memory ---- */

__global__ void k_dyn(unsigned bytes, uintptr_t *ptrs, int *garbage_ok, float *out)
{
    GPU_DYN_SHARED(float, sh);
    unsigned t = threadIdx.x, n = bytes / sizeof(float);
    ptrs[blockIdx.x * blockDim.x + t] = (uintptr_t)sh;
    if (t == 0) {
        int ok = 1;
#ifndef ZEMU_CHECK_RACE /* where that read is a bug it reports */
        for (unsigned i = 0; i < bytes; i++)
            ok &= ((unsigned char *)sh)[i] == 0xcd;
#endif
        garbage_ok[blockIdx.x] = ok;
    }
    __syncthreads();
    for (unsigned i = t; i < n; i += blockDim.x)
        sh[i] = (float)(i + blockIdx.x);
    __syncthreads();
    for (unsigned i = t; i < n; i += blockDim.x)
        out[blockIdx.x * n + i] = sh[n - 1 - i];
}

static void check_dyn_shared(void)
{
    int before = g_failures;
    enum { G = 3, B = 64, BYTES = 1000 };
    const unsigned n = BYTES / sizeof(float);
    uintptr_t *ptrs;
    int *garbage;
    float *out;
    HIP(hipMalloc(&ptrs, G * B * sizeof(uintptr_t)));
    HIP(hipMalloc(&garbage, G * sizeof(int)));
    HIP(hipMalloc(&out, G * n * sizeof(float)));
    hipLaunchKernelGGL(k_dyn, G, B, BYTES, 0, (unsigned)BYTES, ptrs, garbage, out);
    HIP(hipGetLastError());
    bool same = ptrs[0] % 16 == 0, vals = true;
    for (int i = 0; i < G * B; i++)
        same &= ptrs[i] == ptrs[0];
    for (int g = 0; g < G; g++) {
        expect(garbage[g], "each block's shared memory starts as 0xcd garbage");
        for (unsigned i = 0; i < n; i++)
            vals &= out[g * n + i] == (float)(n - 1 - i + (unsigned)g);
    }
    expect(same, "one 16-byte aligned buffer for all threads");
    expect(vals, "values exchanged through dynamic shared memory");
    HIP(hipFree(ptrs));
    HIP(hipFree(garbage));
    HIP(hipFree(out));
    report("dynamic shared memory: size, alignment, garbage fill, sharing", before);
}

/* ---- math ---- */

__global__ void k_math(const float *x, float *y)
{
    unsigned i = threadIdx.x;
    float v = x[i];
    y[i] = expf(v) + erff(v) + sqrtf(fabsf(v)) + cosf(v) * sinf(v) + fmaxf(v, 0.25f) +
           fminf(v, -0.25f) + floorf(v * 3.0f) + (v > 2.0f ? INFINITY : 0.0f);
}

static void check_math(void)
{
    int before = g_failures;
    float *x, *y;
    HIP(hipMalloc(&x, 32 * sizeof(float)));
    HIP(hipMalloc(&y, 32 * sizeof(float)));
    for (int i = 0; i < 32; i++)
        x[i] = rnd();
    hipLaunchKernelGGL(k_math, 1, 32, 0, 0, x, y);
    bool ok = true;
    for (int i = 0; i < 32; i++) {
        float v = x[i];
        float r = expf(v) + erff(v) + sqrtf(fabsf(v)) + cosf(v) * sinf(v) + fmaxf(v, 0.25f) +
                  fminf(v, -0.25f) + floorf(v * 3.0f);
        ok &= fabsf(y[i] - r) <= 1e-6f * fabsf(r);
    }
    expect(ok, "math functions");
    HIP(hipFree(x));
    HIP(hipFree(y));
    report("math: expf erff sqrtf cosf sinf fmaxf fminf fabsf floorf INFINITY", before);
}

/* ---- launch configuration errors ---- */

__global__ void k_flag(int *flag) { *flag = 1; }

static void check_config(void)
{
    int before = g_failures;
    int *flag;
    HIP(hipMalloc(&flag, sizeof(int)));
    *flag = 0;
    struct {
        dim3 grid, block;
        size_t shmem;
        hipError_t want;
    } bad[] = {
        {1, 0, 0, hipErrorInvalidConfiguration},
        {1, 1025, 0, hipErrorInvalidConfiguration},
        {1, dim3(32, 32, 2), 0, hipErrorInvalidConfiguration},
        {1, dim3(1, 1, 65), 0, hipErrorInvalidConfiguration},
        {0, 32, 0, hipErrorInvalidConfiguration},
        {dim3(1, 0), 32, 0, hipErrorInvalidConfiguration},
        {1, 32, 65537, hipErrorInvalidValue},
    };
    for (auto &b : bad) {
        hipLaunchKernelGGL(k_flag, b.grid, b.block, b.shmem, 0, flag);
        expect(hipPeekAtLastError() == b.want, "bad launch sets the last error");
        expect(hipGetLastError() == b.want && hipGetLastError() == hipSuccess,
               "hipGetLastError returns and clears it");
    }
    expect(*flag == 0, "bad launches run nothing");
    hipLaunchKernelGGL(k_flag, 1, 1024, 65536, 0, flag);
    expect(hipGetLastError() == hipSuccess && *flag == 1, "largest legal launch runs");
    HIP(hipFree(flag));
    report("launch configuration: limits and errors", before);
}

/* ---- streams, events, graphs ---- */

__global__ void k_axpb(float *y, const float *x, float a, float b, int n)
{
    int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    if (i < n)
        y[i] = a * x[i] + b;
}

static void check_streams_events(void)
{
    int before = g_failures;
    hipStream_t s;
    hipEvent_t e0, e1, never;
    HIP(hipStreamCreateWithFlags(&s, hipStreamNonBlocking));
    HIP(hipEventCreate(&e0));
    HIP(hipEventCreate(&e1));
    HIP(hipEventCreate(&never));
    enum { N = 1 << 16 };
    float *x, *y;
    HIP(hipMalloc(&x, N * sizeof(float)));
    HIP(hipMalloc(&y, N * sizeof(float)));
    HIP(hipMemsetAsync(x, 0, N * sizeof(float), s));
    HIP(hipEventRecord(e0, s));
    hipLaunchKernelGGL(k_axpb, N / 256, 256, 0, s, y, x, 2.0f, 3.0f, N);
    HIP(hipEventRecord(e1, s));
    expect(y[N - 1] == 3.0f, "a launch has finished when it returns");
    HIP(hipEventSynchronize(e1));
    float ms = -1;
    HIP(hipEventElapsedTime(&ms, e0, e1));
    expect(ms > 0 && ms < 10000, "hipEventElapsedTime measures the launch");
    expect(hipEventElapsedTime(&ms, e0, never) == hipErrorInvalidHandle,
           "elapsed time of an unrecorded event fails");
    (void)hipGetLastError();
    HIP(hipStreamSynchronize(s));
    HIP(hipEventDestroy(e0));
    HIP(hipEventDestroy(e1));
    HIP(hipEventDestroy(never));
    HIP(hipStreamDestroy(s));
    HIP(hipFree(x));
    HIP(hipFree(y));
    report("streams and events", before);
}

static void check_graphs(void)
{
    int before = g_failures;
    enum { N = 300 };
    hipStream_t s;
    hipGraph_t graph;
    hipGraphExec_t exec;
    hipEvent_t e0, e1;
    HIP(hipStreamCreate(&s));
    HIP(hipEventCreate(&e0));
    HIP(hipEventCreate(&e1));
    float *dx, *dy, *host_in, *host_out;
    HIP(hipMalloc(&dx, N * sizeof(float)));
    HIP(hipMalloc(&dy, N * sizeof(float)));
    HIP(hipHostMalloc(&host_in, N * sizeof(float)));
    HIP(hipHostMalloc(&host_out, N * sizeof(float)));
    for (int i = 0; i < N; i++)
        host_in[i] = (float)i, host_out[i] = -1.0f;
    HIP(hipMemset(dy, 0, N * sizeof(float)));

    HIP(hipStreamBeginCapture(s, hipStreamCaptureModeGlobal));
    HIP(hipEventRecord(e0, s));
    HIP(hipMemcpyAsync(dx, host_in, N * sizeof(float), hipMemcpyHostToDevice, s));
    hipLaunchKernelGGL(k_axpb, (N + 127) / 128, 128, 0, s, dy, dx, 2.0f, 1.0f, N);
    HIP(hipMemsetAsync(dx, 0, N * sizeof(float), s));
    hipLaunchKernelGGL(k_axpb, (N + 127) / 128, 128, 0, s, dy, dy, 1.0f, 0.5f, N);
    hipLaunchKernelGGL(k_axpb, 1, 2048, 0, s, dy, dy, 1.0f, 0.5f, N); /* bad: not recorded */
    expect(hipGetLastError() == hipErrorInvalidConfiguration, "bad launch in a capture fails");
    HIP(hipMemcpyAsync(host_out, dy, N * sizeof(float), hipMemcpyDeviceToHost, s));
    HIP(hipEventRecord(e1, s));
    HIP(hipStreamEndCapture(s, &graph));
    expect(host_out[5] == -1.0f && dy[5] == 0.0f, "captured work does not run");
    HIP(hipGraphInstantiateWithFlags(&exec, graph, 0));
    HIP(hipGraphDestroy(graph)); /* the executable graph is independent */

    for (int rep = 0; rep < 3; rep++) {
        for (int i = 0; i < N; i++)
            host_in[i] = (float)(i * (rep + 1)); /* read when the graph runs */
        HIP(hipGraphLaunch(exec, s));
        HIP(hipStreamSynchronize(s));
        bool ok = true;
        for (int i = 0; i < N; i++)
            ok &= host_out[i] == 2.0f * (float)(i * (rep + 1)) + 1.5f && dx[i] == 0.0f;
        expect(ok, "graph replays the captured work in order, reading sources at replay");
    }
    float ms = -1;
    HIP(hipEventElapsedTime(&ms, e0, e1));
    expect(ms >= 0, "captured event records run at replay");

    /* a graph launched into a capture becomes part of the new graph */
    hipGraph_t outer;
    hipGraphExec_t outer_exec;
    HIP(hipStreamBeginCapture(s, hipStreamCaptureModeRelaxed));
    HIP(hipGraphLaunch(exec, s));
    HIP(hipGraphLaunch(exec, s));
    HIP(hipStreamEndCapture(s, &outer));
    HIP(hipGraphInstantiateWithFlags(&outer_exec, outer, 0));
    HIP(hipGraphExecDestroy(exec));
    for (int i = 0; i < N; i++)
        host_in[i] = 1.0f;
    HIP(hipGraphLaunch(outer_exec, s));
    expect(host_out[7] == 3.5f, "graph inside a graph");
    HIP(hipGraphExecDestroy(outer_exec));
    HIP(hipGraphDestroy(outer));

    /* synchronous calls are refused during a capture and spoil it */
    void (*spoilers[])(hipStream_t, int *) = {
        [](hipStream_t, int *r) { *r = hipMemcpy(nullptr, nullptr, 0, hipMemcpyDefault); },
        [](hipStream_t, int *r) { *r = hipDeviceSynchronize(); },
        [](hipStream_t st, int *r) { *r = hipStreamSynchronize(st); },
        [](hipStream_t, int *r) { *r = hipStreamSynchronize(0); },
        [](hipStream_t, int *r) { *r = hipMemset(nullptr, 0, 0); },
    };
    for (auto spoil : spoilers) {
        int r = 0;
        HIP(hipStreamBeginCapture(s, hipStreamCaptureModeThreadLocal));
        spoil(s, &r);
        expect(r == hipErrorStreamCaptureUnsupported, "synchronous call during capture fails");
        hipLaunchKernelGGL(k_axpb, 1, 32, 0, s, dy, dy, 1.0f, 0.0f, N);
        expect(hipGetLastError() == hipErrorStreamCaptureInvalidated,
               "work on an invalidated capture fails");
        graph = (hipGraph_t)1;
        expect(hipStreamEndCapture(s, &graph) == hipErrorStreamCaptureInvalidated && !graph,
               "ending an invalidated capture fails");
        (void)hipGetLastError();
    }
    expect(hipStreamBeginCapture(0, hipStreamCaptureModeGlobal) ==
               hipErrorStreamCaptureUnsupported,
           "the null stream cannot capture");
    expect(hipStreamEndCapture(s, &graph) == hipErrorIllegalState, "end without begin fails");
    (void)hipGetLastError();
    HIP(hipStreamBeginCapture(s, hipStreamCaptureModeGlobal)); /* destroyed while capturing */
    HIP(hipStreamDestroy(s));
    HIP(hipDeviceSynchronize());

    HIP(hipEventDestroy(e0));
    HIP(hipEventDestroy(e1));
    HIP(hipFree(dx));
    HIP(hipFree(dy));
    HIP(hipHostFree(host_in));
    HIP(hipHostFree(host_out));
    report("graphs: capture, replay, sources read at replay, nesting, invalidation", before);
}

/* ---- kernel bugs abort, naming the kernel ---- */

__global__ void k_deadlock(float *out)
{
    float v = (float)threadIdx.x;
    if (threadIdx.x % 32 < 16) /* half of each warp */
        __syncthreads();
    else
        v = lanes_sum(v);
    out[threadIdx.x] = v;
}

__global__ void k_lane_gone_first(float *out)
{
    if (threadIdx.x % 32 == 0)
        return;
    out[threadIdx.x] = lanes_sum(1.0f);
}

__global__ void k_lane_gone_last(float *out)
{
    if (threadIdx.x % 32 == 31)
        return;
    out[threadIdx.x] = lanes_sum(1.0f);
}

__global__ void k_divergent(float *out)
{
    float v = 1.0f;
    out[threadIdx.x] = threadIdx.x < 16 ? __shfl_xor(v, 1) : __shfl_down(v, 1);
}

__global__ void k_bad_width(float *out) { out[threadIdx.x] = __shfl_xor(1.0f, 1, 12); }

__global__ void k_partial_warp(float *out) { out[threadIdx.x] = lanes_sum(1.0f); }

__global__ void k_nested(float *out) { hipLaunchKernelGGL(k_flag, 1, 1, 0, 0, (int *)out); }

static float *g_buf;

static void abort_deadlock(void) { hipLaunchKernelGGL(k_deadlock, 2, 128, 0, 0, g_buf); }
static void abort_gone_first(void) { hipLaunchKernelGGL(k_lane_gone_first, 1, 64, 0, 0, g_buf); }
static void abort_gone_last(void) { hipLaunchKernelGGL(k_lane_gone_last, 1, 64, 0, 0, g_buf); }
static void abort_divergent(void) { hipLaunchKernelGGL(k_divergent, 1, 32, 0, 0, g_buf); }
static void abort_bad_width(void) { hipLaunchKernelGGL(k_bad_width, 1, 32, 0, 0, g_buf); }
static void abort_partial(void) { hipLaunchKernelGGL(k_partial_warp, 1, 40, 0, 0, g_buf); }
static void abort_nested(void) { hipLaunchKernelGGL(k_nested, 1, 1, 0, 0, g_buf); }
static void abort_host_sync(void) { __syncthreads(); }

/* Runs fn in a child; true if it aborted with all of `needles` on stderr. */
static bool aborts_with(void (*fn)(void), const char *const *needles, std::string *msg)
{
    int fds[2];
    if (pipe(fds) != 0)
        return false;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        fn();
        _exit(0);
    }
    close(fds[1]);
    char buf[4096];
    ssize_t got;
    while ((got = read(fds[0], buf, sizeof buf)) > 0)
        msg->append(buf, (size_t)got);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    bool ok = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
    for (; *needles; needles++)
        ok &= msg->find(*needles) != std::string::npos;
    return ok;
}

static void check_aborts(void)
{
    int before = g_failures;
    HIP(hipMalloc(&g_buf, 1024 * sizeof(float)));
    struct {
        void (*fn)(void);
        const char *needles[4];
    } cases[] = {
        {abort_deadlock, {"kernel k_deadlock", "deadlocks", "64 wait at __syncthreads", nullptr}},
        {abort_gone_first, {"kernel k_lane_gone_first", "has returned", nullptr}},
        {abort_gone_last,
         {"kernel k_lane_gone_last", "thread (31,0,0)", "returned while", nullptr}},
        {abort_divergent, {"kernel k_divergent", "different shuffles", nullptr}},
        {abort_bad_width, {"kernel k_bad_width", "width 12", nullptr}},
        {abort_partial, {"kernel k_partial_warp", "warp of 8 threads", nullptr}},
        {abort_nested, {"kernel k_flag launched from inside kernel k_nested", nullptr}},
        {abort_host_sync, {"__syncthreads called outside a kernel", nullptr}},
    };
    for (auto &c : cases) {
        std::string msg;
        if (!aborts_with(c.fn, c.needles, &msg)) {
            printf("FAIL abort case %s: got \"%s\"\n", c.needles[0], msg.c_str());
            g_failures++;
        }
    }
    HIP(hipFree(g_buf));
    report("kernel bugs abort naming the kernel: deadlock, lanes gone, divergence", before);
}

/* ---- asynchronous copies (cp.async) land at the wait that retires them ---- */

/* Each thread copies 16 bytes of src into its slot of a stage holding a
 * sentinel, in two groups (slot halves); out gets, per thread: its slot's
 * first word before any wait, after waiting for all but the newest group
 * (the first half landed, the second not), after waiting for all, and a
 * neighbour's slot after a barrier. */
__global__ void k_async(const uint32_t *src, uint32_t *out)
{
    __shared__ __attribute__((aligned(16))) uint32_t stage[64][8];
    unsigned t = threadIdx.x;
    for (int i = 0; i < 8; i++)
        stage[t][i] = 0xdeadu;
    zemu::async_copy16(&stage[t][0], src + 8 * t, true);
    zemu::async_commit();
    zemu::async_copy16(&stage[t][4], src + 8 * t + 4, t % 2 == 0); /* odd threads: zeros */
    zemu::async_commit();
    out[5 * t] = stage[t][0];
    zemu::async_wait(1);
    out[5 * t + 1] = stage[t][0];
    out[5 * t + 2] = stage[t][4];
    zemu::async_wait(0);
    out[5 * t + 3] = stage[t][4];
    __syncthreads();
    out[5 * t + 4] = stage[(t + 1) % 64][4];
}

static void check_async(void)
{
    int before = g_failures;
    uint32_t *src, *out;
    HIP(hipMalloc(&src, 64 * 8 * sizeof(uint32_t)));
    HIP(hipMalloc(&out, 64 * 5 * sizeof(uint32_t)));
    for (uint32_t i = 0; i < 64 * 8; i++)
        src[i] = 1000 + i;
    hipLaunchKernelGGL(k_async, 1, 64, 0, 0, src, out);
    HIP(hipGetLastError());
    bool ok = true;
    for (uint32_t t = 0; t < 64; t++) {
        uint32_t n = (t + 1) % 64, hi = t % 2 ? 0 : 1000 + 8 * t + 4;
        ok &= out[5 * t] == 0xdeadu && out[5 * t + 1] == 1000 + 8 * t &&
              out[5 * t + 2] == 0xdeadu && out[5 * t + 3] == hi &&
              out[5 * t + 4] == (n % 2 ? 0 : 1000 + 8 * n + 4);
    }
    expect(ok, "copies land at the wait that retires their group, zeros where not ok");
    HIP(hipFree(src));
    HIP(hipFree(out));
    report("asynchronous copies: groups, waits, zero fill", before);
}

/* ---- the race check (built with ZEMU_CHECK_RACE: the kernels under
 * -fsanitize=thread's instrumentation, emu.cc with ZEMU_RACE) ---- */

#ifdef ZEMU_CHECK_RACE
/* warp 1 reads what warp 0 wrote, no barrier between */
__global__ void k_race_raw(float *out)
{
    __shared__ float s[64];
    unsigned t = threadIdx.x;
    s[t] = (float)t;
    if (t >= 32)
        out[t] = s[t - 32];
}

/* after the barrier, each thread reads another's slot and overwrites its own */
__global__ void k_race_war(float *out)
{
    __shared__ float s[64];
    unsigned t = threadIdx.x;
    s[t] = (float)t;
    __syncthreads();
    float v = s[63 - t];
    s[t] = v + 1.0f;
    out[t] = v;
}

/* two warps write one word in one interval */
__global__ void k_race_waw(float *out)
{
    __shared__ int flag;
    if (threadIdx.x % 32 == 0)
        flag = (int)threadIdx.x;
    __syncthreads();
    out[threadIdx.x] = (float)flag;
}

/* every thread reads a word only thread 1 writes: thread 0 too */
__global__ void k_race_uninit(float *out)
{
    __shared__ float s[64];
    unsigned t = threadIdx.x;
    if (t)
        s[t] = (float)t;
    __syncthreads();
    out[t] = s[t ^ 1];
}

/* lanes of one warp read each other's writes with no exchange between */
__global__ void k_race_lanes(float *out)
{
    __shared__ float s[64];
    unsigned t = threadIdx.x;
    s[t] = (float)t;
    out[t] = s[t ^ 1];
}

/* an asynchronous copy waited for but no barrier after it: thread 0
 * reads thread 1's slot before thread 1 has even issued its copy */
__global__ void k_race_async(float *out)
{
    __shared__ __attribute__((aligned(16))) float s[64][4];
    unsigned t = threadIdx.x;
    zemu::async_copy16(s[t], out + 4 * t, true);
    zemu::async_commit();
    zemu::async_wait(0);
    out[t] = s[(t + 1) % 64][0];
}

/* dynamic shared memory: warp 0 reads warp 1's half */
__global__ void k_race_dyn(float *out)
{
    GPU_DYN_SHARED(float, s);
    unsigned t = threadIdx.x;
    s[t] = (float)t;
    out[t] = s[(t + 32) % 64];
}

/* clean: a warp exchange between lanes' write and read; the warp sums of
 * a block reduction, a barrier, then one thread's read; a barrier between
 * stages reused in a loop */
__global__ void k_race_clean(float *out)
{
    __shared__ float s[64], red[2], stage[64];
    unsigned t = threadIdx.x;
    s[t] = (float)t;
    float x = __shfl_xor((float)t, 1);
    float v = s[t ^ 1] + x;
    v += __shfl_xor(v, 16);
    if (t % 32 == 0)
        red[t / 32] = v;
    __syncthreads();
    float acc = 0.0f;
    for (int k = 0; k < 3; k++) {
        stage[t] = (float)(t + k);
        __syncthreads();
        acc += stage[63 - t];
        __syncthreads();
    }
    out[t] = acc + (t == 0 ? red[0] + red[1] : 0.0f);
}

static void race_raw(void) { hipLaunchKernelGGL(k_race_raw, 2, 64, 0, 0, g_buf); }
/* the blocks of a cooperative launch run on OS threads of their own */
static void race_coop(void) { zemuLaunchCooperativeGGL(k_race_raw, 3, 64, 0, 0, g_buf); }
static void race_war(void) { hipLaunchKernelGGL(k_race_war, 2, 64, 0, 0, g_buf); }
static void race_waw(void) { hipLaunchKernelGGL(k_race_waw, 2, 64, 0, 0, g_buf); }
static void race_uninit(void) { hipLaunchKernelGGL(k_race_uninit, 2, 64, 0, 0, g_buf); }
static void race_lanes(void) { hipLaunchKernelGGL(k_race_lanes, 1, 64, 0, 0, g_buf); }
static void race_dyn(void) { hipLaunchKernelGGL(k_race_dyn, 1, 64, 64 * sizeof(float), 0, g_buf); }
static void race_async(void) { hipLaunchKernelGGL(k_race_async, 1, 64, 0, 0, g_buf); }

static void check_races(void)
{
    int before = g_failures;
    HIP(hipMalloc(&g_buf, 1024 * sizeof(float)));
    struct {
        void (*fn)(void);
        const char *needles[5];
    } cases[] = {
        {race_raw,
         {"kernel k_race_raw, block (0,0,0): shared-memory race: thread (32,0,0) at emu_check.hip:",
          "reads what thread (0,0,0) at emu_check.hip:", " wrote, with no __syncthreads",
          "static shared memory", nullptr}},
        {race_coop, {"kernel k_race_raw", "thread (32,0,0)", "reads what thread (0,0,0)", nullptr}},
        {race_war, {"kernel k_race_war", "reads what thread (63,0,0)", "wrote", nullptr}},
        {race_waw,
         {"kernel k_race_waw", "thread (32,0,0)", "writes what thread (0,0,0)", "wrote", nullptr}},
        {race_uninit,
         {"kernel k_race_uninit", "thread (1,0,0)",
          "reads shared memory that no thread of this block wrote", nullptr}},
        {race_lanes,
         {"kernel k_race_lanes", "thread (0,0,0)", "no thread of this block wrote", nullptr}},
        {race_dyn,
         {"kernel k_race_dyn", "thread (0,0,0)", "(dynamic shared memory, byte 128)", nullptr}},
        {race_async, {"kernel k_race_async", "thread (0,0,0)", "no thread of this block wrote", nullptr}},
    };
    for (auto &c : cases) {
        std::string msg;
        if (!aborts_with(c.fn, c.needles, &msg)) {
            printf("FAIL race case %s: got \"%s\"\n", c.needles[0], msg.c_str());
            g_failures++;
        }
    }
    hipLaunchKernelGGL(k_race_clean, 3, 64, 0, 0, g_buf);
    float got[64];
    HIP(hipMemcpy(got, g_buf, sizeof got, hipMemcpyDeviceToHost));
    /* thread t: stage values (63 - t) * 3 + 3; thread 0 adds red[0] +
     * red[1], lane 0's v = 2 (t ^ 1) + 2 ((t ^ 16) ^ 1) of each warp: 36 + 164 */
    bool ok = true;
    for (int t = 0; t < 64; t++)
        ok &= got[t] == (float)((63 - t) * 3 + 3) + (t == 0 ? 200.0f : 0.0f);
    expect(ok, "race check: a clean kernel runs to its values");
    HIP(hipFree(g_buf));
    report("race check: races and reads of unwritten shared memory abort, naming threads and "
           "lines; a clean kernel runs",
           before);
}
#endif

/* ---- cost ---- */

__global__ void k_four_barriers(float *x)
{
    __shared__ float buf[256];
    unsigned t = threadIdx.x;
    buf[t] = x[t];
    for (int i = 0; i < 4; i++) {
        __syncthreads();
        buf[t] += 1.0f;
    }
    x[t] = buf[t];
}

__global__ void k_ping(int rounds)
{
    for (int i = 0; i < rounds; i++)
        __syncthreads();
}

static void measure(void)
{
    float *x;
    HIP(hipMalloc(&x, 256 * sizeof(float)));
    const int reps = 2000;
    hipLaunchKernelGGL(k_four_barriers, 1, 256, 0, 0, x);
    double t0 = now_s();
    for (int i = 0; i < reps; i++)
        hipLaunchKernelGGL(k_four_barriers, 1, 256, 0, 0, x);
    double per_launch = (now_s() - t0) / reps;
    HIP(hipFree(x));

    /* two threads alternate: one switch per barrier */
    const int rounds = 1000000;
    t0 = now_s();
    hipLaunchKernelGGL(k_ping, 1, 2, 0, 0, rounds);
    double per_switch = (now_s() - t0) / rounds;
    printf("INFO one launch of 256 threads with 4 __syncthreads: %.1f us\n", per_launch * 1e6);
    printf("INFO one fiber switch (incl. barrier bookkeeping): %.1f ns\n", per_switch * 1e9);
}

/* ---- cooperative launches ---- */

/* R rounds: every block publishes round r in its slot, all meet at a
 * grid barrier (arrival count + generation, as kernels.hip's), then each
 * checks every block's slot and its own static __shared__ copy of its
 * index; bad counts the mismatches. */
__global__ void k_coop(unsigned *bar, int *slot, int *bad, int rounds)
{
    __shared__ int mine;
    int b = (int)blockIdx.x, nb = (int)gridDim.x;
    if (threadIdx.x == 0)
        mine = b;
    for (int r = 0; r < 2 * rounds; r++) {
        if (r % 2 == 0 && threadIdx.x == 0)
            slot[b] = r / 2 * 100 + b;
        __syncthreads();
        if (threadIdx.x == 0) {
            volatile unsigned *gen = bar + 1;
            unsigned g0 = *gen;
            __threadfence();
            if (atomicAdd(bar, 1u) == (unsigned)nb - 1) {
                atomicExch(bar, 0u);
                __threadfence();
                atomicAdd(bar + 1, 1u);
            } else {
                while (*gen == g0)
                    GPU_SPIN_PAUSE();
            }
            __threadfence();
        }
        __syncthreads();
        if (r % 2 == 0 && (int)threadIdx.x < nb) {
            int o = (int)threadIdx.x;
            if (((volatile int *)slot)[o] != r / 2 * 100 + o || mine != b)
                atomicAdd(bad, 1);
        }
    }
}

static void check_cooperative(void)
{
    int before = g_failures;
    enum { G = 8, R = 50 };
    unsigned *bar;
    int *slot, *bad;
    HIP(hipMalloc(&bar, 2 * sizeof(unsigned)));
    HIP(hipMalloc(&slot, G * sizeof(int)));
    HIP(hipMalloc(&bad, sizeof(int)));
    HIP(hipMemset(bar, 0, 2 * sizeof(unsigned)));
    HIP(hipMemset(bad, 0, sizeof(int)));
    zemuLaunchCooperativeGGL(k_coop, G, 64, 0, 0, bar, slot, bad, R);
    HIP(hipGetLastError());
    expect(*bad == 0 && bar[0] == 0 && bar[1] == 2 * R,
           "cooperative launch: 8 blocks meet at 100 grid barriers, each with its own shared memory");
    zemuLaunchCooperativeGGL(k_coop, 65, 64, 0, 0, bar, slot, bad, 1);
    expect(hipGetLastError() == hipErrorInvalidConfiguration,
           "cooperative launch of 65 blocks: hipErrorInvalidConfiguration");
    HIP(hipFree(bar));
    HIP(hipFree(slot));
    HIP(hipFree(bad));
    report("cooperative launches: blocks at once, grid barriers, shared memory per block", before);
}

/* ---- ASan probe ---- */

__global__ void k_oob(const float *x, float *y, int n) { y[0] = x[n]; }

static void oob_probe(void)
{
    float *x, *y;
    HIP(hipMalloc(&x, 100 * sizeof(float)));
    HIP(hipMalloc(&y, sizeof(float)));
    memset(x, 0, 100 * sizeof(float));
    hipLaunchKernelGGL(k_oob, 1, 32, 0, 0, x, y, 100);
    printf("FAIL out-of-bounds read in a kernel went unreported (is this an ASan build?)\n");
    HIP(hipFree(x));
    HIP(hipFree(y));
}

int main(void)
{
    setvbuf(stdout, nullptr, _IOLBF, 0);
    if (getenv("ZEMU_CHECK_OOB")) {
        oob_probe();
        return 1;
    }
    check_device();
    check_memory();
    check_indexing();
    check_args();
    check_barriers();
    check_shuffles();
    check_dyn_shared();
    check_async();
    check_math();
    check_config();
    check_streams_events();
    check_graphs();
#ifdef ZEMU_CHECK_RACE
    check_races(); /* before any cooperative launch: a forked child has no pool threads */
#endif
    check_cooperative();
    check_aborts();
    measure();
    printf("%s: %d failure(s)\n", g_failures ? "FAIL" : "PASS", g_failures);
    return g_failures != 0;
}
