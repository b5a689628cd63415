/*
 * kern_dev.h — device helpers shared by the decode kernels (kernels.hip)
 * and the batched kernels (bkernels.hip): packed bf16 dot products, the
 * fixed-order block reduction, and the router MLP run by one block.
 */
#ifndef ZEVAL_GPU_KERN_DEV_H
#define ZEVAL_GPU_KERN_DEV_H

#include "kern.h"

/* ------------------------------------------------------------ helpers */

struct alignas(16) u32x4 {
    uint32_t a, b, c, d;
};
struct alignas(16) f32x4 {
    float a, b, c, d;
};

__device__ __forceinline__ float bits_f(uint32_t u)
{
    union { uint32_t u; float f; } c;
    c.u = u;
    return c.f;
}

/* SwiGLU of one pair: silu(a) * b, one expression for every kernel so all
 * of them compute the same value. */
__device__ __forceinline__ float silu_mul(float a, float b)
{
    return a / (1.0f + expf(-a)) * b;
}

/* acc + the 8 products of 8 bf16 weights (packed two per word, the lower
 * half first) with 8 activations, in element order. */
__device__ __forceinline__ float dot8(float acc, u32x4 w, f32x4 x0, f32x4 x1)
{
    acc = fmaf(bits_f(w.a << 16), x0.a, acc);
    acc = fmaf(bits_f(w.a & 0xffff0000u), x0.b, acc);
    acc = fmaf(bits_f(w.b << 16), x0.c, acc);
    acc = fmaf(bits_f(w.b & 0xffff0000u), x0.d, acc);
    acc = fmaf(bits_f(w.c << 16), x1.a, acc);
    acc = fmaf(bits_f(w.c & 0xffff0000u), x1.b, acc);
    acc = fmaf(bits_f(w.d << 16), x1.c, acc);
    acc = fmaf(bits_f(w.d & 0xffff0000u), x1.d, acc);
    return acc;
}

/* Row w (cols bf16, cols % 8 == 0) times x, reduced over the 32 threads
 * of the calling group; every thread gets the sum. */
__device__ __forceinline__ float row_dot(const bf16 *w, const float *x, int cols, int lane)
{
    float acc = 0.0f;
GPU_UNROLL4
    for (int j = lane * 8; j < cols; j += GPU_LANES * 8) {
        u32x4 wv = *(const u32x4 *)(w + j);
        f32x4 x0 = *(const f32x4 *)(x + j), x1 = *(const f32x4 *)(x + j + 4);
        acc = dot8(acc, wv, x0, x1);
    }
    return lanes_sum(acc);
}

/* A lane's first NP 16-byte pieces of row w (cols bf16, cols % 8 == 0):
 * piece i holds columns lane*8 + i*256 .. +7 (past cols it holds columns
 * 0 .. 7 instead, which row_dot_pre does not use; nothing is loaded for
 * cols <= 0, where w may be NULL).  The loads carry no condition of their
 * own, so all NP are in flight at once.  Made before a kernel's input
 * exists, they let its weight stream overlap the input's computation
 * (and, under PDL, the kernel before). */
template <int NP>
__device__ __forceinline__ void row_load(const bf16 *w, int cols, int lane, u32x4 pre[NP])
{
    if (cols <= 0)
        return;
    GPU_UNROLL
    for (int i = 0; i < NP; i++) {
        int j = (i * GPU_LANES + lane) * 8;
        pre[i] = *(const u32x4 *)(w + (j < cols ? j : 0));
    }
}

/* row_dot with the lane's first NP pieces already in pre (row_load): the
 * same sum in the same order. */
template <int NP>
__device__ __forceinline__ float row_dot_pre(const u32x4 pre[NP], const bf16 *w, const float *x,
                                             int cols, int lane)
{
    float acc = 0.0f;
    GPU_UNROLL
    for (int i = 0; i < NP; i++) {
        int j = (i * GPU_LANES + lane) * 8;
        if (j < cols)
            acc = dot8(acc, pre[i], *(const f32x4 *)(x + j), *(const f32x4 *)(x + j + 4));
    }
    GPU_UNROLL4
    for (int j = (NP * GPU_LANES + lane) * 8; j < cols; j += GPU_LANES * 8) {
        u32x4 wv = *(const u32x4 *)(w + j);
        f32x4 x0 = *(const f32x4 *)(x + j), x1 = *(const f32x4 *)(x + j + 4);
        acc = dot8(acc, wv, x0, x1);
    }
    return lanes_sum(acc);
}

/* NR rows of w (row stride ld) times x at once: every row's loads are
 * issued before any of its products, so a group keeps NR loads in
 * flight; out[r] as row_dot would give it. */
template <int NR>
__device__ __forceinline__ void rows_dot(const bf16 *w, size_t ld, const float *x, int cols,
                                         int lane, float *out)
{
    float acc[NR];
    GPU_UNROLL
    for (int r = 0; r < NR; r++)
        acc[r] = 0.0f;
    for (int j = lane * 8; j < cols; j += GPU_LANES * 8) {
        u32x4 wv[NR];
        GPU_UNROLL
        for (int r = 0; r < NR; r++)
            wv[r] = *(const u32x4 *)(w + (size_t)r * ld + j);
        f32x4 x0 = *(const f32x4 *)(x + j), x1 = *(const f32x4 *)(x + j + 4);
        GPU_UNROLL
        for (int r = 0; r < NR; r++)
            acc[r] = dot8(acc[r], wv[r], x0, x1);
    }
    GPU_UNROLL
    for (int r = 0; r < NR; r++)
        out[r] = lanes_sum(acc[r]);
}

/* rows_dot with every load of a lane's next 8 u32x4 of each row issued
 * before any product (8*NR loads in flight, NR rows sharing x's loads):
 * the same sums in the same order as row_dot gives each row. */
template <int NR>
__device__ __forceinline__ void rows_dot_deep(const bf16 *w, size_t ld, const float *x, int cols,
                                              int lane, float *out)
{
    enum { DEPTH = 8, SPAN = DEPTH * GPU_LANES * 8 };
    float acc[NR];
    GPU_UNROLL
    for (int r = 0; r < NR; r++)
        acc[r] = 0.0f;
    for (int j0 = 0; j0 < cols; j0 += SPAN) {
        u32x4 wv[NR][DEPTH];
        GPU_UNROLL
        for (int i = 0; i < DEPTH; i++) {
            int j = j0 + (i * GPU_LANES + lane) * 8;
            GPU_UNROLL
            for (int r = 0; r < NR; r++)
                wv[r][i] = j < cols ? *(const u32x4 *)(w + (size_t)r * ld + j) : u32x4{0, 0, 0, 0};
        }
        GPU_UNROLL
        for (int i = 0; i < DEPTH; i++) {
            int j = j0 + (i * GPU_LANES + lane) * 8;
            if (j >= cols)
                break;
            f32x4 x0 = *(const f32x4 *)(x + j), x1 = *(const f32x4 *)(x + j + 4);
            GPU_UNROLL
            for (int r = 0; r < NR; r++)
                acc[r] = dot8(acc[r], wv[r][i], x0, x1);
        }
    }
    GPU_UNROLL
    for (int r = 0; r < NR; r++)
        out[r] = lanes_sum(acc[r]);
}

/* ------------------------------------------------- tensor-core tiles */

/* Two bf16 (the lower index in the lower half) in one word. */
__device__ __forceinline__ uint32_t bf16x2(bf16 lo, bf16 hi)
{
    return (uint32_t)lo | (uint32_t)hi << 16;
}

/* c += A B for one 16 x 8 x 16 tile held across a 32-lane group, bf16
 * operands and f32 sums, in the register layout of PTX's
 * mma.m16n8k16.row.col: lane 4g + t holds
 *   a[0] = A[g][2t, 2t+1]     a[1] = A[g+8][2t, 2t+1]
 *   a[2] = A[g][2t+8, 2t+9]   a[3] = A[g+8][2t+8, 2t+9]
 *   b[0] = B[2t, 2t+1][g]     b[1] = B[2t+8, 2t+9][g]
 *   c[0], c[1] = C[g][2t, 2t+1]   c[2], c[3] = C[g+8][2t, 2t+1]
 * (two bf16 per word, the lower index in the lower half).
 * mma_bf16_16816_lanes does it without tensor cores: the lanes exchange
 * their operands by shuffles and each sums its four values over k in
 * order.  All 32 lanes must call either together. */
__device__ __forceinline__ void mma_bf16_16816_lanes(float c[4], const uint32_t a[4],
                                                     const uint32_t b[2])
{
    int lane = (int)threadIdx.x % GPU_LANES, g = lane >> 2, t = lane & 3;
    float ar[2][16], bc[2][16]; /* A rows g, g+8 and B columns 2t, 2t+1 over k */
    for (int s = 0; s < 4; s++) {
        uint32_t w[4], v[2][2];
        for (int i = 0; i < 4; i++)
            w[i] = __shfl(a[i], 4 * g + s, GPU_LANES);
        for (int j = 0; j < 2; j++)
            for (int i = 0; i < 2; i++)
                v[j][i] = __shfl(b[i], 4 * (2 * t + j) + s, GPU_LANES);
        for (int h = 0; h < 2; h++) { /* h = 1: k + 8 */
            int k = 2 * s + 8 * h;
            for (int r = 0; r < 2; r++) {
                ar[r][k] = bits_f(w[2 * h + r] << 16);
                ar[r][k + 1] = bits_f(w[2 * h + r] & 0xffff0000u);
                bc[r][k] = bits_f(v[r][h] << 16);
                bc[r][k + 1] = bits_f(v[r][h] & 0xffff0000u);
            }
        }
    }
    for (int k = 0; k < 16; k++) {
        c[0] = fmaf(ar[0][k], bc[0][k], c[0]);
        c[1] = fmaf(ar[0][k], bc[1][k], c[1]);
        c[2] = fmaf(ar[1][k], bc[0][k], c[2]);
        c[3] = fmaf(ar[1][k], bc[1][k], c[3]);
    }
}

/* The same on tensor cores where there are (an NVIDIA build for sm_80 or
 * later), by the emulation's own version of the instruction (one warp
 * exchange), else (AMD) by mma_bf16_16816_lanes.  Either way an output
 * depends only on its own row of A, column of B and c, never on where in
 * the tile they sit or what the other lanes hold. */
__device__ __forceinline__ void mma_bf16_16816(float c[4], const uint32_t a[4], const uint32_t b[2])
{
#if defined(__HIP_PLATFORM_NVIDIA__) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                 "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#elif defined(ZEVAL_GPU_EMU)
    zemu::mma_bf16_16816(c, a, b);
#else
    mma_bf16_16816_lanes(c, a, b);
#endif
}

/* The sum of v over the block, in every thread (red: GPU_MAX_GROUPS
 * floats of shared memory; blockDim.x a multiple of 32). */
__device__ __forceinline__ float block_sum(float v, float *red)
{
    v = lanes_sum(v);
    int ng = (int)blockDim.x / GPU_LANES;
    if (threadIdx.x % GPU_LANES == 0)
        red[threadIdx.x / GPU_LANES] = v;
    __syncthreads();
    float t = 0.0f;
    for (int i = 0; i < ng; i++)
        t += red[i];
    __syncthreads();
    return t;
}

__device__ __forceinline__ float gelu(float x)
{
    return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}

/* -------------------------------------------------------------- router */

/* out[r] = act(W[r] . x (+ b[r])) for r < rows, rows spread over the
 * block's groups in runs of 8 (cols % 8 == 0); x and out in shared
 * memory. */
static __device__ inline void mlp_rows(const bf16 *w, const float *b, const float *x, float *out,
                                       int rows, int cols, int use_gelu)
{
    int lane = (int)threadIdx.x % GPU_LANES, ng = (int)blockDim.x / GPU_LANES;
    for (int r0 = (int)threadIdx.x / GPU_LANES * 8; r0 < rows; r0 += ng * 8) {
        float acc[8];
        int n = rows - r0 < 8 ? rows - r0 : 8;
        if (n == 8)
            rows_dot<8>(w + (size_t)r0 * (size_t)cols, (size_t)cols, x, cols, lane, acc);
        else
            for (int r = 0; r < n; r++)
                acc[r] = row_dot(w + (size_t)(r0 + r) * (size_t)cols, x, cols, lane);
        if (lane == 0)
            for (int r = 0; r < n; r++) {
                float v = b ? acc[r] + b[r0 + r] : acc[r];
                out[r0 + r] = use_gelu ? gelu(v) : v;
            }
    }
}

/* The router's input by the whole block: the EDA update of r (R values,
 * the down projection with its bias) with eda_in into eda_out (when not
 * NULL; may be eda_in), RMSNorm into rho (R floats of shared memory). */
static __device__ inline void router_rho(const router_w &w, const float *r, const float *eda_in,
                                         float *eda_out, float *rho, float *red)
{
    int R = w.R;
    float ss = 0.0f;
    for (int i = (int)threadIdx.x; i < R; i += (int)blockDim.x) {
        float v = r[i];
        if (w.state_scale)
            v += eda_in[i] * w.state_scale[i];
        if (eda_out)
            eda_out[i] = v;
        rho[i] = v;
        ss += v * v;
    }
    ss = block_sum(ss, red);
    float inv = 1.0f / sqrtf(ss / (float)R + w.eps);
    for (int i = (int)threadIdx.x; i < R; i += (int)blockDim.x)
        rho[i] = w.norm[i] * (rho[i] * inv);
    __syncthreads();
}

/* Softmax over the S slot logits lg (overwritten with the
 * probabilities) and the top-1 of probability + balance: one thread. */
static __device__ inline void router_pick(const router_w &w, float *lg, int *sel, float *gate)
{
    int S = w.S;
    float mx = lg[0];
    for (int e = 1; e < S; e++)
        mx = lg[e] > mx ? lg[e] : mx;
    float sum = 0.0f;
    for (int e = 0; e < S; e++) {
        lg[e] = expf(lg[e] - mx);
        sum += lg[e];
    }
    int best = 0;
    float bestv = -INFINITY;
    for (int e = 0; e < S; e++) {
        lg[e] /= sum;
        float v = lg[e] + w.balance[e];
        if (v > bestv) { /* strict: the lowest index wins ties */
            bestv = v;
            best = e;
        }
    }
    *sel = best;
    *gate = lg[best];
}

/* The router on r (R values, the down projection with its bias) by the
 * whole block: EDA update of eda, RMSNorm, the MLP, softmax over the S
 * slots and the biased top-1 into *sel and *gate.  sm: 3R+S floats of
 * shared memory; red: GPU_MAX_GROUPS floats. */
static __device__ inline void router_block(const router_w &w, const float *r, float *eda, int *sel,
                                           float *gate, float *sm, float *red)
{
    int R = w.R, S = w.S;
    float *rho = sm, *h1 = sm + R, *h2 = sm + 2 * R, *lg = sm + 3 * R;
    router_rho(w, r, eda, eda, rho, red);
    mlp_rows(w.w0, w.b0, rho, h1, R, R, 1);
    __syncthreads();
    mlp_rows(w.w2, w.b2, h1, h2, R, R, 1);
    __syncthreads();
    mlp_rows(w.w4, NULL, h2, lg, S, R, 0);
    __syncthreads();
    if (threadIdx.x == 0)
        router_pick(w, lg, sel, gate);
}

#endif
