/*
 * hip_api.hip — compile-only check (tests/gpu/run.sh) that every HIP name
 * the engine may use, as listed in engine/gpu/compat/nvidia/hip/hip_runtime.h,
 * compiles the same way with hipcc (the real HIP headers) and with nvcc
 * (the project's shim), under the build's -Werror flags.  Never run.
 * A name added to the shim belongs here too.
 */
#include <hip/hip_runtime.h>

#include <stdio.h>

#define CK(x)                                                                                      \
    do {                                                                                           \
        hipError_t e_ = (x);                                                                       \
        if (e_ != hipSuccess) {                                                                    \
            fprintf(stderr, "%s: %s\n", hipGetErrorName(e_), hipGetErrorString(e_));               \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

__global__ void k_shuffles(float *o, const float *in, int n)
{
    int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    float v = i < n ? in[i] : 0.0f;
    v += __shfl_xor(v, 1, 32);
    v += __shfl_down(v, 2, 32);
    v += __shfl(v, 0, 32);
    v += __shfl_xor(v, 4);
    if (i < n)
        o[i] = v;
}

template <int W> __global__ void k_template(float *o)
{
    o[threadIdx.x] = (float)W;
}

__global__ void k_noargs() {}

extern "C" int hip_api_check(void)
{
    hipError_t codes[] = {hipSuccess,       hipErrorInvalidValue,         hipErrorOutOfMemory,
                          hipErrorMemoryAllocation, hipErrorNoDevice, hipErrorInvalidConfiguration,
                          hipErrorNotSupported};
    printf("%d\n", (int)codes[1]);
    int n = 0, dev = 0;
    CK(hipGetDeviceCount(&n));
    CK(hipSetDevice(0));
    CK(hipGetDevice(&dev));
    hipDeviceProp_t p;
    CK(hipGetDeviceProperties(&p, 0));
    printf("%s %d %d %zu %zu %d %d\n", p.name, p.warpSize, p.multiProcessorCount, p.totalGlobalMem,
           p.sharedMemPerBlock, p.major, p.minor);
    size_t mfree = 0, mtotal = 0;
    CK(hipMemGetInfo(&mfree, &mtotal));

    float *a = NULL, *b = NULL, *h = NULL, *h2 = NULL;
    CK(hipMalloc(&a, 1024));
    CK(hipMalloc((void **)&b, 1024));
    CK(hipHostMalloc((void **)&h, 1024, hipHostMallocDefault));
    CK(hipHostMalloc(&h2, 1024, hipHostMallocPortable));
    hipStream_t s, s2;
    CK(hipStreamCreate(&s));
    CK(hipStreamCreateWithFlags(&s2, hipStreamNonBlocking));
    hipMemcpyKind kinds[] = {hipMemcpyHostToHost, hipMemcpyHostToDevice, hipMemcpyDeviceToHost,
                             hipMemcpyDeviceToDevice, hipMemcpyDefault};
    printf("%d\n", (int)kinds[4]);
    CK(hipMemcpy(a, h, 1024, hipMemcpyHostToDevice));
    CK(hipMemcpyAsync(b, a, 1024, hipMemcpyDefault, s));
    CK(hipMemset(a, 0, 1024));
    CK(hipMemsetAsync(a, 0, 1024, s));

    hipEvent_t e0, e1;
    CK(hipEventCreate(&e0));
    CK(hipEventCreate(&e1));
    CK(hipEventRecord(e0, s));
    hipLaunchKernelGGL(k_shuffles, dim3(1), dim3(256), 0, s, b, a, 256);
    hipLaunchKernelGGL(HIP_KERNEL_NAME(k_template<32>), dim3(1), dim3(32), 0, s, b);
    hipLaunchKernelGGL(k_template<64>, dim3(1), dim3(64), 0, s, b);
    hipLaunchKernelGGL(k_noargs, dim3(1), dim3(32), 0, s);
    CK(hipGetLastError());
    CK(hipPeekAtLastError());
    CK(hipEventRecord(e1, s));
    CK(hipEventSynchronize(e1));
    float ms = 0;
    CK(hipEventElapsedTime(&ms, e0, e1));

    hipGraph_t g;
    hipGraphExec_t ge;
    hipStreamCaptureMode modes[] = {hipStreamCaptureModeGlobal, hipStreamCaptureModeThreadLocal,
                                    hipStreamCaptureModeRelaxed};
    CK(hipStreamBeginCapture(s2, modes[n % 3]));
    hipLaunchKernelGGL(k_shuffles, dim3(1), dim3(256), 0, s2, b, a, 256);
    CK(hipStreamEndCapture(s2, &g));
    CK(hipGraphInstantiateWithFlags(&ge, g, 0));
    CK(hipGraphLaunch(ge, s2));
    CK(hipStreamSynchronize(s2));
    CK(hipDeviceSynchronize());
    CK(hipGraphExecDestroy(ge));
    CK(hipGraphDestroy(g));

    CK(hipEventDestroy(e0));
    CK(hipEventDestroy(e1));
    CK(hipStreamDestroy(s));
    CK(hipStreamDestroy(s2));
    CK(hipHostFree(h));
    CK(hipHostFree(h2));
    CK(hipFree(a));
    CK(hipFree(b));
    return (int)ms;
}
