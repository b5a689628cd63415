/*
 * hip/hip_runtime.h for nvcc — the project's own "HIP on CUDA" header
 * (spec/hip-toolchain.md, appendix A).  `make GPU=cuda` compiles the
 * engine's HIP sources with `nvcc -x cu -isystem engine/gpu/compat/nvidia`,
 * so `#include <hip/hip_runtime.h>` lands here and every HIP name the
 * engine uses maps onto the CUDA runtime.  hipcc builds use the real HIP
 * headers; the CPU emulation uses compat/cpu/.
 *
 * Only names that exist with the same meaning in HIP 5.2 (Debian bookworm)
 * and in CUDA 13 belong here, so that one source compiles on both: a name
 * missing here is a compile error under nvcc, which CI's nvcc build
 * catches.  Add one line per new API.  Nothing here needs AMD packages.
 *
 * Notes for kernel authors:
 *   - hipDeviceProp_t *is* cudaDeviceProp: use only the fields common to
 *     both (name, totalGlobalMem, sharedMemPerBlock, warpSize,
 *     multiProcessorCount, major, minor, maxThreadsPerBlock, ...).
 *   - Shuffles take no mask (HIP < 6.2 has no *_sync forms); here they
 *     become the *_sync forms over the full 32-lane mask.  Pass the width.
 *   - hipLaunchKernelGGL is a statement (do {} while (0)) as on AMD; wrap
 *     a template kernel's name in HIP_KERNEL_NAME(...).
 *   - Without a driver, cudaGetDeviceCount fails (cudaErrorInsufficientDriver
 *     or cudaErrorNoDevice) and leaves the count unwritten: initialise it.
 */
#ifndef ZEVAL_COMPAT_NVIDIA_HIP_RUNTIME_H
#define ZEVAL_COMPAT_NVIDIA_HIP_RUNTIME_H

#include <cuda_runtime.h>

#ifndef __HIP_PLATFORM_NVIDIA__
#define __HIP_PLATFORM_NVIDIA__ 1
#endif

/* ---- errors */
typedef cudaError_t hipError_t;
#define hipSuccess cudaSuccess
#define hipErrorInvalidValue cudaErrorInvalidValue
#define hipErrorOutOfMemory cudaErrorMemoryAllocation
#define hipErrorMemoryAllocation cudaErrorMemoryAllocation
#define hipErrorNoDevice cudaErrorNoDevice
#define hipErrorInvalidConfiguration cudaErrorInvalidConfiguration
#define hipErrorNotSupported cudaErrorNotSupported
#define hipGetErrorName cudaGetErrorName
#define hipGetErrorString cudaGetErrorString
#define hipGetLastError cudaGetLastError
#define hipPeekAtLastError cudaPeekAtLastError

/* ---- devices */
typedef cudaDeviceProp hipDeviceProp_t;
#define hipGetDeviceCount cudaGetDeviceCount
#define hipSetDevice cudaSetDevice
#define hipGetDevice cudaGetDevice
#define hipGetDeviceProperties cudaGetDeviceProperties
#define hipMemGetInfo cudaMemGetInfo
#define hipDeviceSynchronize cudaDeviceSynchronize

/* ---- memory */
typedef cudaMemcpyKind hipMemcpyKind;
#define hipMemcpyHostToHost cudaMemcpyHostToHost
#define hipMemcpyHostToDevice cudaMemcpyHostToDevice
#define hipMemcpyDeviceToHost cudaMemcpyDeviceToHost
#define hipMemcpyDeviceToDevice cudaMemcpyDeviceToDevice
#define hipMemcpyDefault cudaMemcpyDefault
#define hipMalloc cudaMalloc
#define hipFree cudaFree
#define hipMemcpy cudaMemcpy
#define hipMemcpyAsync cudaMemcpyAsync
#define hipMemset cudaMemset
#define hipMemsetAsync cudaMemsetAsync
/* Pinned host memory: always pass the flags (HIP defaults them, CUDA does
 * not); the flag values are the same on both (0, 1, 2, 4). */
#define hipHostMallocDefault cudaHostAllocDefault
#define hipHostMallocPortable cudaHostAllocPortable
#define hipHostMallocMapped cudaHostAllocMapped
#define hipHostMallocWriteCombined cudaHostAllocWriteCombined
#define hipHostMalloc cudaHostAlloc
#define hipHostFree cudaFreeHost

/* ---- streams and events */
typedef cudaStream_t hipStream_t;
typedef cudaEvent_t hipEvent_t;
#define hipStreamDefault cudaStreamDefault
#define hipStreamNonBlocking cudaStreamNonBlocking
#define hipStreamCreate cudaStreamCreate
#define hipStreamCreateWithFlags cudaStreamCreateWithFlags
#define hipStreamDestroy cudaStreamDestroy
#define hipStreamSynchronize cudaStreamSynchronize
#define hipEventDefault cudaEventDefault
#define hipEventCreate cudaEventCreate
#define hipEventRecord cudaEventRecord
#define hipEventSynchronize cudaEventSynchronize
#define hipEventElapsedTime cudaEventElapsedTime
#define hipEventDestroy cudaEventDestroy

/* ---- graphs (stream capture) */
typedef cudaGraph_t hipGraph_t;
typedef cudaGraphExec_t hipGraphExec_t;
typedef cudaStreamCaptureMode hipStreamCaptureMode;
#define hipStreamCaptureModeGlobal cudaStreamCaptureModeGlobal
#define hipStreamCaptureModeThreadLocal cudaStreamCaptureModeThreadLocal
#define hipStreamCaptureModeRelaxed cudaStreamCaptureModeRelaxed
#define hipStreamBeginCapture cudaStreamBeginCapture
#define hipStreamEndCapture cudaStreamEndCapture
#define hipGraphInstantiateWithFlags cudaGraphInstantiateWithFlags
#define hipGraphLaunch cudaGraphLaunch
#define hipGraphDestroy cudaGraphDestroy
#define hipGraphExecDestroy cudaGraphExecDestroy

/* ---- launches */
#define HIP_KERNEL_NAME(...) __VA_ARGS__
#define hipLaunchKernelGGL(kernel, grid, block, shmem, stream, ...)                                \
    do {                                                                                           \
        kernel<<<(grid), (block), (shmem), (stream)>>>(__VA_ARGS__);                               \
    } while (0)

/* Cooperative launches (every block resident at once) and occupancy. */
#define hipLaunchCooperativeKernel cudaLaunchCooperativeKernel
#define hipOccupancyMaxActiveBlocksPerMultiprocessor cudaOccupancyMaxActiveBlocksPerMultiprocessor

/* ---- shuffles: HIP's have no mask; CUDA (sm_70+) has only the *_sync
 * forms.  The optional width argument is passed through. */
#define __shfl(v, lane, ...) __shfl_sync(0xffffffffu, (v), (lane), ##__VA_ARGS__)
#define __shfl_down(v, delta, ...) __shfl_down_sync(0xffffffffu, (v), (delta), ##__VA_ARGS__)
#define __shfl_xor(v, mask, ...) __shfl_xor_sync(0xffffffffu, (v), (mask), ##__VA_ARGS__)

#endif
