/*
 * gpu_compat.h — the portable layer every HIP source of the engine
 * includes: one kernel dialect for AMD (hipcc, real HIP headers), NVIDIA
 * (nvcc, compat/nvidia/hip/hip_runtime.h) and the CPU emulation
 * (host C++, compat/cpu/hip/hip_runtime.h).
 *
 * Kernels use only: __global__/__device__/__host__/__forceinline__,
 * __launch_bounds__, threadIdx/blockIdx/blockDim/gridDim, static
 * __shared__ arrays, GPU_DYN_SHARED for dynamic shared memory,
 * __syncthreads, the 32-lane reductions and broadcast below (no other
 * shuffles but the word shuffles of mma_bf16_16816_lanes in kern_dev.h),
 * and the
 * f32 math functions expf, erff, sqrtf, cosf, sinf, fmaxf.  Launches go
 * through hipLaunchKernelGGL.
 */
#ifndef ZEVAL_GPU_COMPAT_H
#define ZEVAL_GPU_COMPAT_H

#include <hip/hip_runtime.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>

/* Reductions work on groups of 32 consecutive threads (a whole warp on
 * NVIDIA, half a wave64 on AMD: shuffles with width 32 stay inside the
 * group on both), so no host-side launch size depends on the device's
 * warp width.  Blocks are multiples of 32 threads. */
#define GPU_LANES 32
#define GPU_MAX_GROUPS 32 /* 1024 threads */

/* Loop unrolling hints (the host compiler of the emulation has none). */
#ifdef ZEVAL_GPU_EMU
#define GPU_UNROLL
#define GPU_UNROLL4
#define GPU_UNROLL8
#else
#define GPU_UNROLL _Pragma("unroll")
#define GPU_UNROLL4 _Pragma("unroll 4")
#define GPU_UNROLL8 _Pragma("unroll 8")
#endif

/* Dynamic shared memory of a launch, as a typed pointer. */
#ifdef ZEVAL_GPU_EMU
#define GPU_DYN_SHARED(type, name) type *name = (type *)zemu_dyn_shared()
#else
/* 16-byte aligned: hip-clang places it right after the static shared
 * variables, aligned only to its type, and the products read it with
 * 16-byte loads. */
#define GPU_DYN_SHARED(type, name) extern __shared__ __attribute__((aligned(16))) type name[]
#endif

/* Programmatic dependent launch (NVIDIA, sm_90 and later): a kernel
 * launched with it may start while the kernel before it in the stream is
 * still running.  GPU_DEP_LAUNCH lets the next kernel start; GPU_DEP_WAIT
 * waits until the kernel before has finished and its writes are visible:
 * a kernel must not read what an earlier kernel wrote, nor write anything,
 * before it.  Without such a launch (and on AMD and the emulation) both
 * do nothing. */
#if defined(__HIP_PLATFORM_NVIDIA__) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define GPU_DEP_WAIT() asm volatile("griddepcontrol.wait;" ::: "memory")
#define GPU_DEP_LAUNCH() asm volatile("griddepcontrol.launch_dependents;" ::: "memory")
#else
#define GPU_DEP_WAIT() ((void)0)
#define GPU_DEP_LAUNCH() ((void)0)
#endif

/* In the body of a loop that waits for another block's write. */
#ifdef ZEVAL_GPU_EMU
#define GPU_SPIN_PAUSE() zemu_spin_pause()
#else
#define GPU_SPIN_PAUSE() ((void)0)
#endif

/* Stop the kernel with an error (the launch fails). */
#if defined(__HIP_PLATFORM_NVIDIA__)
#define GPU_TRAP() __trap()
#else
#define GPU_TRAP() __builtin_trap()
#endif

/* The sum / max over the 32 threads of a group, in every thread (a fixed
 * butterfly order). */
__device__ __forceinline__ float lanes_sum(float v)
{
    for (int off = GPU_LANES / 2; off > 0; off >>= 1)
        v += __shfl_xor(v, off, GPU_LANES);
    return v;
}

__device__ __forceinline__ float lanes_max(float v)
{
    for (int off = GPU_LANES / 2; off > 0; off >>= 1)
        v = fmaxf(v, __shfl_xor(v, off, GPU_LANES));
    return v;
}

/* v of lane src of the calling group, in every thread of it. */
__device__ __forceinline__ float lanes_bcast(float v, int src)
{
    return __shfl(v, src, GPU_LANES);
}

/* bf16 as raw bits, identical on every vendor and on the host. */
typedef uint16_t bf16;

__host__ __device__ __forceinline__ float bf16f(bf16 h)
{
    union { uint32_t u; float f; } c;
    c.u = (uint32_t)h << 16;
    return c.f;
}

/* Round to nearest even (NaN stays NaN). */
__host__ __device__ __forceinline__ bf16 f2bf16(float f)
{
    union { uint32_t u; float f; } c;
    c.f = f;
    if ((c.u & 0x7fffffffu) > 0x7f800000u)
        return (bf16)((c.u >> 16) | 0x40);
    c.u += 0x7fffu + ((c.u >> 16) & 1u);
    return (bf16)(c.u >> 16);
}

#endif
