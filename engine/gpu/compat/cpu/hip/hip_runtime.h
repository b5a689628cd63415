/*
 * hip_runtime.h — the CPU emulation of the HIP subset the engine uses
 * (see gpu_compat.h), so the same .hip sources build with the host g++
 * (-DZEVAL_GPU_EMU -isystem engine/gpu/compat/cpu -x c++) and run without
 * a GPU.  The runtime lives in emu.cc.
 *
 * Execution model: every launch, copy and memset runs to completion when
 * it is called (streams and events are handles only).  A launch runs its
 * blocks one after another on the calling OS thread, x fastest; a
 * cooperative launch (zemuLaunchCooperativeGGL) runs each block on an OS
 * thread of its own, all at once, so blocks can wait for each other.  The
 * threads of a block are fibers run round-robin, each until it returns or
 * waits at a barrier.  __syncthreads counts returned threads as arrived.
 * Shuffles exchange values among the 32 consecutive linear thread ids of a
 * warp and need every lane of it.  A block that can never finish, or a
 * warp lane that returns while its warp shuffles, aborts naming the
 * kernel.  __shared__ is `static thread_local` (one copy per OS thread,
 * so per block of a cooperative launch), atomics are the host's, and
 * __threadfence a full fence.  A race-check build (emu.cc with ZEMU_RACE,
 * the kernels with -fsanitize=thread's instrumentation) aborts on a
 * shared-memory race between threads of a block.  While a stream captures,
 * its launches, async copies/memsets, event records and graph launches
 * become graph nodes, replayed in order by hipGraphLaunch (a copy reads its
 * source then); a synchronous call (hipMemcpy, hipMemset, a device or that
 * stream's synchronize) fails meanwhile and spoils the capture, in every
 * capture mode.
 */
#ifndef ZEVAL_EMU_HIP_RUNTIME_H
#define ZEVAL_EMU_HIP_RUNTIME_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

/* ---- kernel language ---- */

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static thread_local

struct dim3 {
    uint32_t x, y, z;
    constexpr dim3(uint32_t x_ = 1, uint32_t y_ = 1, uint32_t z_ = 1) : x(x_), y(y_), z(z_) {}
};

namespace zemu {

struct uint3 {
    uint32_t x, y, z;
};

/* The running GPU thread's index and its launch's shape (set by emu.cc). */
inline thread_local const uint3 *t_thread_idx = nullptr;
inline thread_local uint3 t_block_idx, t_block_dim, t_grid_dim;

inline const uint3 &thread_idx() { return *t_thread_idx; }
inline const uint3 &block_idx() { return t_block_idx; }
inline const uint3 &block_dim() { return t_block_dim; }
inline const uint3 &grid_dim() { return t_grid_dim; }

enum class Shfl { Xor, Down, Idx, Mma };

/* One lane's part of a warp shuffle: returns the bits of the source lane. */
uint32_t shuffle(Shfl kind, uint32_t bits, int arg, int width);

/* One lane's part of a warp's bf16 tile product c += A B (16 x 8 x 16, the
 * register layout of PTX's mma.m16n8k16.row.col; kern_dev.h). */
void mma_bf16_16816(float c[4], const uint32_t a[4], const uint32_t b[2]);

/* PTX's cp.async, as NVIDIA runs it: a 16-byte copy (zeros where !ok) from
 * global src to shared dst that lands only when the issuing thread's
 * async_wait retires its group (or when the thread returns), so a read
 * before that wait sees the old bytes (and, in a race-check build, is
 * reported); async_commit closes the thread's copies since the last one
 * into a group, async_wait(n) retires all but its n newest groups. */
void async_copy16(void *dst, const void *src, bool ok);
void async_commit();
void async_wait(int n);

template <typename T> inline T shuffle_as(Shfl kind, T v, int arg, int width)
{
    static_assert(sizeof(T) == 4, "shuffles move 32-bit values");
    uint32_t u;
    memcpy(&u, &v, 4);
    u = shuffle(kind, u, arg, width);
    memcpy(&v, &u, 4);
    return v;
}

} // namespace zemu

#define threadIdx (zemu::thread_idx())
#define blockIdx (zemu::block_idx())
#define blockDim (zemu::block_dim())
#define gridDim (zemu::grid_dim())

void __syncthreads(void);
void *zemu_dyn_shared(void);

/* Atomics and fences (the blocks of a cooperative launch run at once). */
inline int atomicAdd(int *p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
inline unsigned atomicAdd(unsigned *p, unsigned v)
{
    return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}
inline unsigned atomicExch(unsigned *p, unsigned v)
{
    return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}
inline void __threadfence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
/* A cycle counter: here, a count of the calls (the race check, which sees
 * every thread of a block write it, is told to look away). */
__attribute__((no_sanitize("thread"))) inline long long clock64(void)
{
    static thread_local long long n;
    return ++n;
}
/* In a loop that waits for another block's write: lets the OS run it. */
void zemu_spin_pause(void);

#define ZEMU_SHUFFLES(T)                                                                  \
    inline T __shfl_xor(T v, int lane_mask, int width = 32)                              \
    { return zemu::shuffle_as(zemu::Shfl::Xor, v, lane_mask, width); }                   \
    inline T __shfl_down(T v, unsigned delta, int width = 32)                            \
    { return zemu::shuffle_as(zemu::Shfl::Down, v, (int)delta, width); }                 \
    inline T __shfl(T v, int src_lane, int width = 32)                                   \
    { return zemu::shuffle_as(zemu::Shfl::Idx, v, src_lane, width); }
ZEMU_SHUFFLES(float)
ZEMU_SHUFFLES(int)
ZEMU_SHUFFLES(unsigned)
#undef ZEMU_SHUFFLES

/* ---- runtime types ---- */

typedef enum [[nodiscard]] hipError_t {
    hipSuccess = 0,
    hipErrorInvalidValue = 1,
    hipErrorOutOfMemory = 2,
    hipErrorMemoryAllocation = 2,
    hipErrorInvalidConfiguration = 9,
    hipErrorNoDevice = 100,
    hipErrorInvalidDevice = 101,
    hipErrorInvalidHandle = 400,
    hipErrorIllegalState = 401,
    hipErrorNotSupported = 801,
    hipErrorStreamCaptureUnsupported = 900,
    hipErrorStreamCaptureInvalidated = 901,
    hipErrorUnknown = 999,
} hipError_t;

typedef enum hipMemcpyKind {
    hipMemcpyHostToHost = 0,
    hipMemcpyHostToDevice = 1,
    hipMemcpyDeviceToHost = 2,
    hipMemcpyDeviceToDevice = 3,
    hipMemcpyDefault = 4,
} hipMemcpyKind;

typedef enum hipStreamCaptureMode {
    hipStreamCaptureModeGlobal = 0,
    hipStreamCaptureModeThreadLocal = 1,
    hipStreamCaptureModeRelaxed = 2,
} hipStreamCaptureMode;

#define hipStreamDefault 0x0u
#define hipStreamNonBlocking 0x1u
#define hipHostMallocDefault 0x0u

typedef struct ihipStream_t *hipStream_t;
typedef struct ihipEvent_t *hipEvent_t;
typedef struct ihipGraph *hipGraph_t;
typedef struct hipGraphExec *hipGraphExec_t;

typedef struct hipDeviceProp_t {
    char name[256];
    size_t totalGlobalMem;
    size_t sharedMemPerBlock;
    int regsPerBlock;
    int warpSize;
    int maxThreadsPerBlock;
    int maxThreadsDim[3];
    int maxGridSize[3];
    int major;
    int minor;
    int multiProcessorCount;
} hipDeviceProp_t;

/* ---- runtime API (emu.cc) ---- */

extern "C" {
const char *hipGetErrorName(hipError_t e);
const char *hipGetErrorString(hipError_t e);
hipError_t hipGetLastError(void);
hipError_t hipPeekAtLastError(void);

hipError_t hipGetDeviceCount(int *count);
hipError_t hipSetDevice(int device);
hipError_t hipGetDevice(int *device);
hipError_t hipGetDeviceProperties(hipDeviceProp_t *prop, int device);
hipError_t hipMemGetInfo(size_t *free_bytes, size_t *total_bytes);
hipError_t hipDeviceSynchronize(void);

hipError_t hipMalloc(void **ptr, size_t size);
hipError_t hipFree(void *ptr);
hipError_t hipHostMalloc(void **ptr, size_t size, unsigned flags);
hipError_t hipHostFree(void *ptr);
hipError_t hipMemcpy(void *dst, const void *src, size_t size, hipMemcpyKind kind);
hipError_t hipMemcpyAsync(void *dst, const void *src, size_t size, hipMemcpyKind kind,
                          hipStream_t stream);
hipError_t hipMemset(void *dst, int value, size_t size);
hipError_t hipMemsetAsync(void *dst, int value, size_t size, hipStream_t stream);

hipError_t hipStreamCreate(hipStream_t *stream);
hipError_t hipStreamCreateWithFlags(hipStream_t *stream, unsigned flags);
hipError_t hipStreamDestroy(hipStream_t stream);
hipError_t hipStreamSynchronize(hipStream_t stream);

hipError_t hipEventCreate(hipEvent_t *event);
hipError_t hipEventRecord(hipEvent_t event, hipStream_t stream);
hipError_t hipEventSynchronize(hipEvent_t event);
hipError_t hipEventElapsedTime(float *ms, hipEvent_t start, hipEvent_t stop);
hipError_t hipEventDestroy(hipEvent_t event);

hipError_t hipStreamBeginCapture(hipStream_t stream, hipStreamCaptureMode mode);
hipError_t hipStreamEndCapture(hipStream_t stream, hipGraph_t *graph);
hipError_t hipGraphInstantiateWithFlags(hipGraphExec_t *exec, hipGraph_t graph,
                                        unsigned long long flags);
hipError_t hipGraphLaunch(hipGraphExec_t exec, hipStream_t stream);
hipError_t hipGraphDestroy(hipGraph_t graph);
hipError_t hipGraphExecDestroy(hipGraphExec_t exec);
}

/* Typed forms, as HIP and CUDA provide for C++. */
template <typename T> inline hipError_t hipMalloc(T **ptr, size_t size)
{
    return hipMalloc(reinterpret_cast<void **>(ptr), size);
}

template <typename T> inline hipError_t hipHostMalloc(T **ptr, size_t size, unsigned flags = 0)
{
    return hipHostMalloc(reinterpret_cast<void **>(ptr), size, flags);
}

/* ---- launches ---- */

namespace zemu {

struct Launch {
    const char *name;
    dim3 grid, block;
    size_t shmem;
    std::function<void()> thread; /* one GPU thread: the kernel on its own copy of the args */
    bool cooperative = false;     /* every block at once, each on an OS thread */
};

/* Checks the shape, then runs the launch now or records it into the
 * stream's capture; a bad shape only sets the last error. */
void launch(hipStream_t stream, Launch &&l);

template <typename... P, typename... A>
inline void launch_kernel(bool cooperative, const char *name, void (*kernel)(P...), dim3 grid,
                          dim3 block, size_t shmem, hipStream_t stream, A &&...args)
{
    static_assert(sizeof...(P) == sizeof...(A), "wrong number of kernel arguments");
    std::tuple<std::decay_t<P>...> copy(std::forward<A>(args)...);
    launch(stream, Launch{name, grid, block, shmem, [kernel, copy] { std::apply(kernel, copy); },
                          cooperative});
}

} // namespace zemu

#define hipLaunchKernelGGL(kernel, ...) zemu::launch_kernel(false, #kernel, kernel, __VA_ARGS__)
/* The emulation's form of hipLaunchCooperativeKernel (arguments as for
 * hipLaunchKernelGGL; at most 64 blocks). */
#define zemuLaunchCooperativeGGL(kernel, ...) zemu::launch_kernel(true, #kernel, kernel, __VA_ARGS__)

#endif
