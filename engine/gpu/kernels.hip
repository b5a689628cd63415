/*
 * kernels.hip — the decode-step kernels of the HIP backend (kern.h).
 *
 * One dialect for AMD, NVIDIA and the CPU emulation (gpu_compat.h).
 * Products are bf16 weights times f32 activations with f32 accumulation:
 * a group of 32 threads owns one output row, each thread reading 8
 * weights (16 bytes) per load, and the group's partial sums are reduced
 * by a butterfly.  Reductions over a block go through lanes_sum and one
 * shared slot per group, summed in group order by every thread, so every
 * result is a fixed-order computation (the same on every run).  The
 * persistent step (k_step, at the end) runs the same bodies as the
 * launches, over virtual blocks, phase after phase of one launch.
 */
#include "kern_dev.h"

#include <string.h>

/* ------------------------------------------------------------ launches */

/* With gpu_pdl set (ZEVAL_GPU_PDL=1, read by gpu_open) the kernels of
 * this file are launched with programmatic dependent launch on NVIDIA:
 * each lets the next start at once (GPU_DEP_LAUNCH) and waits for the one
 * before (GPU_DEP_WAIT) only where it first needs its results, so a
 * kernel's launch and its weight loads overlap the end of the one before.
 * Before its wait a kernel reads only what no kernel of the step writes
 * (weights, the step's position), except the expert down projection,
 * which reads the router's choice: the up/gate product before it lets it
 * start only after its own wait.  Elsewhere a plain launch. */
int gpu_pdl;

#ifdef __HIP_PLATFORM_NVIDIA__
template <typename... P, typename... A>
static void pdl_launch(void (*k)(P...), dim3 grid, dim3 block, size_t shmem, hipStream_t s,
                       A... a)
{
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = grid;
    cfg.blockDim = block;
    cfg.dynamicSmemBytes = shmem;
    cfg.stream = s;
    cudaLaunchAttribute at[1];
    at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    at[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = at;
    cfg.numAttrs = 1;
    (void)cudaLaunchKernelEx(&cfg, k, a...);
}
#define KL_LAUNCH(kernel, grid, block, shmem, stream, ...)                                         \
    do {                                                                                           \
        if (gpu_pdl)                                                                               \
            pdl_launch(kernel, grid, block, shmem, stream, __VA_ARGS__);                           \
        else                                                                                       \
            hipLaunchKernelGGL(kernel, grid, block, shmem, stream, __VA_ARGS__);                   \
    } while (0)
#else
#define KL_LAUNCH hipLaunchKernelGGL
#endif

/* ------------------------------------------------------ L2 prefetch */

/* bytes at p (16-byte aligned, bytes % 16 == 0) asked into L2 by the
 * calling block (NVIDIA: one bulk prefetch per 32 KB on sm_90, a prefetch
 * per 128-byte line before; a hint, nothing on AMD).  The emulation reads
 * the range's first and last byte instead, so a sanitizer build checks
 * that every prefetch stays inside its allocation. */
__device__ __forceinline__ void l2_block(const void *p, size_t bytes)
{
    const char *a = (const char *)p;
    size_t n = bytes;
    if (!p || n == 0)
        return;
#if defined(__HIP_PLATFORM_NVIDIA__) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    if (threadIdx.x == 0)
        for (size_t off = 0; off < n; off += 32768) {
            unsigned c = (unsigned)(n - off < 32768 ? n - off : 32768);
            asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(a + off), "r"(c)
                         : "memory");
        }
#elif defined(__HIP_PLATFORM_NVIDIA__) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    for (size_t off = threadIdx.x * 128; off < n; off += blockDim.x * 128)
        asm volatile("prefetch.global.L2 [%0];" ::"l"(a + off));
#elif defined(ZEVAL_GPU_EMU)
    if (threadIdx.x == 0) {
        volatile const char *v = a;
        (void)v[0];
        (void)v[n - 1];
    }
#else
    (void)a;
    (void)n;
#endif
}

/* This block's share (a 1/gridDim.x slice in 16-byte units) of bytes at p
 * asked into L2 (l2_block). */
__device__ __forceinline__ void l2_share(const void *p, size_t bytes)
{
    size_t units = bytes / 16, per = (units + gridDim.x - 1) / gridDim.x;
    size_t u0 = per * blockIdx.x, u1 = u0 + per < units ? u0 + per : units;
    if (p && u0 < u1)
        l2_block((const char *)p + u0 * 16, (u1 - u0) * 16);
}

/* The ranges and cached keys and values of pf (kern.h, gpu_pf), this
 * block's share; pos: the step's position. */
__device__ __forceinline__ void pf_ranges(const gpu_pf &pf, int pos)
{
    for (int i = 0; i < PF_RANGES; i++)
        l2_share(pf.r[i].p, pf.r[i].bytes);
    if (pf.kv_k) {
        size_t kv = (size_t)(pos < PK_KV_PF ? pos + 1 : PK_KV_PF) * (size_t)pf.kv_d * sizeof(float);
        for (int g = 0; g < pf.kv_heads; g++) {
            l2_share(pf.kv_k + (size_t)g * pf.kv_stride, kv);
            l2_share(pf.kv_v + (size_t)g * pf.kv_stride, kv);
        }
    }
}

/* All the prefetches of pf, this block's share: pf_ranges, and the
 * expert chosen in *pf.sel. */
__device__ __forceinline__ void pf_run(const gpu_pf &pf, int pos)
{
    pf_ranges(pf, pos);
    if (pf.sel) {
        int e = *pf.sel;
        if (e >= 0 && e < pf.E)
            l2_share(pf.expert + (size_t)e * pf.expert_n, pf.expert_n * sizeof(bf16));
    }
}

/* A gpu_pf that asks for nothing (what a NULL one means). */
static gpu_pf pf_or_none(const gpu_pf *pf)
{
    gpu_pf none;
    memset(&none, 0, sizeof none);
    return pf ? *pf : none;
}

/* -------------------------------------------------- embedding and norms */

__global__ void k_embed(const bf16 *embed, int H, const gpu_io *io, const float *hs,
                        const float *hb, float *res, gpu_pf pf)
{
    pf_run(pf, io->pos);
    GPU_DEP_LAUNCH();
    GPU_DEP_WAIT();
    int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    if (i >= H)
        return;
    float e = bf16f(embed[(size_t)io->token * (size_t)H + (size_t)i]);
    res[i] = hs ? (e + hb[i]) * hs[i] : e;
}

void kl_embed(hipStream_t s, const bf16 *embed, int H, const gpu_io *io, const float *hs,
              const float *hb, float *res, const gpu_pf *pf)
{
    KL_LAUNCH(k_embed, dim3((unsigned)((H + 255) / 256)), dim3(256), 0, s, embed, H, io,
                       hs, hb, res, pf_or_none(pf));
}

__global__ void __launch_bounds__(1024) k_router(router_w w, float *r, float *eda, int *sel,
                                                float *gate)
{
    GPU_DYN_SHARED(float, sm);
    __shared__ float red[GPU_MAX_GROUPS];
    /* Its weights into L2 while the input is made: each of the MLP's
     * three layers then waits on L2 rather than device memory. */
    size_t rr = (size_t)w.R * (size_t)w.R * sizeof(bf16);
    l2_block(w.w0, rr);
    l2_block(w.w2, rr);
    l2_block(w.w4, (size_t)w.S * (size_t)w.R * sizeof(bf16));
    GPU_DEP_LAUNCH();
    GPU_DEP_WAIT();
    router_block(w, r, eda, sel, gate, sm, red);
}

void kl_router(hipStream_t s, const router_w *w, float *r, float *eda, int *sel, float *gate)
{
    KL_LAUNCH(k_router, dim3(1), dim3(1024), (size_t)(3 * w->R + w->S) * sizeof(float), s,
                       *w, r, eda, sel, gate);
}

/* ------------------------------------------------------------ products */

/* GV_PRE: 16-byte pieces of its row a lane loads before its input is
 * ready (GV_PRE * 256 columns: the whole row at ZAYA1-8B's 2048). */
enum { GV_THREADS = 256, GV_ROWS = GV_THREADS / GPU_LANES, GV_PRE = 8 };

/* The product of a gemv_set launch that block b works on (first blocks
 * of product i at b0[i]), selected without indexing the parameter arrays
 * at run time (which would move them to local memory). */
struct gemv_one {
    const bf16 *w;
    const float *bias;
    float *y;
    int rows, ps, first;
};

__device__ __forceinline__ gemv_one gemv_pick(const gemv_set &set, const gemv_blocks &bl, int b)
{
    gemv_one o = {set.w[0], set.bias[0], set.y[0], set.rows[0], set.pslot[0], bl.b0[0]};
    if (set.n > 1 && b >= bl.b0[1])
        o = {set.w[1], set.bias[1], set.y[1], set.rows[1], set.pslot[1], bl.b0[1]};
    if (set.n > 2 && b >= bl.b0[2])
        o = {set.w[2], set.bias[2], set.y[2], set.rows[2], set.pslot[2], bl.b0[2]};
    if (set.n > 3 && b >= bl.b0[3])
        o = {set.w[3], set.bias[3], set.y[3], set.rows[3], set.pslot[3], bl.b0[3]};
    return o;
}

/* The sub-layer input of nin (kern.h) into xs (cols floats of shared
 * memory) by the whole block; with store, also into res_out and xn. */
/* NI_U elements a thread at a time, every load of them issued before the
 * first store to shared memory (which the compiler cannot move loads
 * past), so a block waits for memory about cols / (NI_U * threads) times
 * rather than cols / threads; each thread still sums its elements in
 * index order, so the result does not depend on NI_U. */
template <int NI_U>
__device__ void norm_input(const norm_in &nin, int cols, float *xs, float *red, bool store)
{
    float ss = 0.0f;
    int bd = (int)blockDim.x;
    bool hs = nin.mw.hs != NULL;
    for (int i0 = (int)threadIdx.x; i0 < cols; i0 += NI_U * bd) {
        float r[NI_U], y[NI_U], rb[NI_U], rs[NI_U], hb[NI_U], h[NI_U];
        GPU_UNROLL
        for (int u = 0; u < NI_U; u++) {
            int i = i0 + u * bd;
            if (i >= cols)
                continue;
            r[u] = nin.res_in[i];
            if (nin.merge) {
                y[u] = nin.y[i];
                if (hs) {
                    rb[u] = nin.mw.rb[i];
                    rs[u] = nin.mw.rs[i];
                    hb[u] = nin.mw.hb[i];
                    h[u] = nin.mw.hs[i];
                }
            }
        }
        GPU_UNROLL
        for (int u = 0; u < NI_U; u++) {
            int i = i0 + u * bd;
            if (i >= cols)
                continue;
            float v = r[u];
            if (nin.merge)
                v = hs ? (v + rb[u]) * rs[u] + (y[u] + hb[u]) * h[u] : v + y[u];
            xs[i] = v;
            ss += v * v;
        }
    }
    ss = block_sum(ss, red);
    float inv = 1.0f / sqrtf(ss / (float)cols + nin.eps);
    for (int i0 = (int)threadIdx.x; i0 < cols; i0 += NI_U * bd) {
        float nw[NI_U];
        GPU_UNROLL
        for (int u = 0; u < NI_U; u++)
            if (i0 + u * bd < cols)
                nw[u] = nin.norm[i0 + u * bd];
        GPU_UNROLL
        for (int u = 0; u < NI_U; u++) {
            int i = i0 + u * bd;
            if (i >= cols)
                continue;
            float r = xs[i], v = nw[u] * (r * inv);
            xs[i] = v;
            if (store) {
                nin.res_out[i] = r;
                nin.xn[i] = v;
            }
        }
    }
    __syncthreads();
}

/* NORM: the input is the sub-layer's (nin), computed by every block; a
 * template argument, so that the products on a ready input (the LM head,
 * the attention output) keep the registers it needs for other blocks. */
template <bool TAIL, bool NORM>
__global__ void __launch_bounds__(GV_THREADS) k_gemv(gemv_set set, gemv_blocks bl, const float *x,
                                                     int cols, norm_in nin, const gpu_io *io,
                                                     router_tail rt, gpu_pf pf)
{
    GPU_DYN_SHARED(float, xs);
    __shared__ float red[GPU_MAX_GROUPS];
    __shared__ int last;
    int b = (int)blockIdx.x;
    gemv_one o = gemv_pick(set, bl, b);
    int lane = (int)threadIdx.x % GPU_LANES;
    int row = (b - o.first) * GV_ROWS + (int)threadIdx.x / GPU_LANES;
    int live = set.n > 0 && row < o.rows; /* the whole group or none of it */
    const bf16 *wr = o.w + (size_t)(live ? row : 0) * (size_t)cols;
    /* The row's weights (all of them up to GV_PRE * 256 columns) are on
     * their way while the kernel before ends and the input is computed. */
    u32x4 pre[GV_PRE];
    row_load<GV_PRE>(wr, live ? cols : 0, lane, pre);
    if (io)
        pf_run(pf, io->pos);
    GPU_DEP_LAUNCH();
    GPU_DEP_WAIT(); /* the inputs are the kernel before's */
    if (NORM) {
        norm_input<4>(nin, cols, xs, red, b == 0);
        x = xs;
    }
    if (set.n == 0)
        return; /* kl_norm: the input only */
    if (live) {
        float acc = row_dot_pre<GV_PRE>(pre, wr, x, cols, lane);
        float *y = o.y;
        if (o.ps)
            y += (size_t)((io->pos + 1) & 1) * (size_t)o.ps;
        if (lane == 0)
            y[row] = o.bias ? acc + o.bias[row] : acc;
    }
    if (!TAIL)
        return;
    /* The router on product 0's output, by the last block to finish. */
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) {
        __threadfence();
        last = atomicAdd(rt.count, 1) == (int)gridDim.x - 1;
    }
    __syncthreads();
    if (!last)
        return;
    __threadfence();
    router_block(rt.w, set.y[0], rt.eda, rt.sel, rt.gate, xs, red);
    if (threadIdx.x == 0)
        *rt.count = 0;
}

static void gemv_launch(hipStream_t s, const gemv_set *set, const float *x, int cols,
                        const norm_in *nin, const gpu_io *io, const router_tail *tail,
                        const gpu_pf *pf)
{
    gemv_blocks bl;
    bl.b0[0] = 0;
    for (int i = 0; i < GEMV_SET; i++)
        bl.b0[i + 1] = bl.b0[i] + (i < set->n ? (set->rows[i] + GV_ROWS - 1) / GV_ROWS : 0);
    norm_in none;
    memset(&none, 0, sizeof none);
    router_tail off;
    memset(&off, 0, sizeof off);
    size_t sh = nin ? (size_t)cols : 0;
    if (tail && (size_t)(3 * tail->w.R + tail->w.S) > sh)
        sh = (size_t)(3 * tail->w.R + tail->w.S);
    unsigned nb = bl.b0[GEMV_SET] > 0 ? (unsigned)bl.b0[GEMV_SET] : 1;
    norm_in in = nin ? *nin : none;
    gpu_pf f = pf_or_none(pf);
    if (tail && nin)
        KL_LAUNCH((k_gemv<true, true>), dim3(nb), dim3(GV_THREADS), sh * sizeof(float), s, *set, bl,
                  x, cols, in, io, *tail, f);
    else if (tail)
        KL_LAUNCH((k_gemv<true, false>), dim3(nb), dim3(GV_THREADS), sh * sizeof(float), s, *set,
                  bl, x, cols, in, io, *tail, f);
    else if (nin)
        KL_LAUNCH((k_gemv<false, true>), dim3(nb), dim3(GV_THREADS), sh * sizeof(float), s, *set,
                  bl, x, cols, in, io, off, f);
    else
        KL_LAUNCH((k_gemv<false, false>), dim3(nb), dim3(GV_THREADS), sh * sizeof(float), s, *set,
                  bl, x, cols, in, io, off, f);
}

void kl_gemv(hipStream_t s, const gemv_set *set, const float *x, int cols, const norm_in *nin,
             const gpu_io *io, const gpu_pf *pf)
{
    gemv_launch(s, set, x, cols, nin, io, NULL, pf);
}

void kl_gemv_router(hipStream_t s, const gemv_set *set, const norm_in *nin, int cols,
                    const gpu_io *io, const router_tail *tail)
{
    gemv_launch(s, set, NULL, cols, nin, io, tail, NULL);
}

void kl_norm(hipStream_t s, const norm_in *nin, int H)
{
    gemv_set none;
    memset(&none, 0, sizeof none);
    kl_gemv(s, &none, NULL, H, nin, NULL, NULL);
}

__global__ void __launch_bounds__(GV_THREADS) k_gemv_expert(const bf16 *all, const int *sel,
                                                            int E, int rows, int cols,
                                                            const float *x, float *y, gpu_pf pf)
{
    /* The next kernel (the down projection) may start only once this one
     * has waited: by then the router before this one is done, so that
     * one may read *sel before its own wait. */
    GPU_DEP_WAIT();
    GPU_DEP_LAUNCH();
    pf_run(pf, 0); /* after the wait: its expert is *sel's */
    int e = *sel;
    if (e < 0 || e >= E)
        return;
    int lane = (int)threadIdx.x % GPU_LANES;
    int row = (int)blockIdx.x * GV_ROWS + (int)threadIdx.x / GPU_LANES;
    if (row >= rows)
        return;
    const bf16 *w = all + ((size_t)e * (size_t)rows + (size_t)row) * (size_t)cols;
    u32x4 pre[GV_PRE]; /* the row's loads all in flight at once */
    row_load<GV_PRE>(w, cols, lane, pre);
    float acc = row_dot_pre<GV_PRE>(pre, w, x, cols, lane);
    if (lane == 0)
        y[row] = acc;
}

void kl_gemv_expert(hipStream_t s, const bf16 *all, const int *sel, int E, int rows,
                    int cols, const float *x, float *y, const gpu_pf *pf)
{
    KL_LAUNCH(k_gemv_expert, dim3((unsigned)((rows + GV_ROWS - 1) / GV_ROWS)),
                       dim3(GV_THREADS), 0, s, all, sel, E, rows, cols, x, y, pf_or_none(pf));
}

/* act[i] = SwiGLU of the up/gate outputs a (2I values) by the block, U
 * elements a thread at a time with every load issued before the first
 * store (which the compiler cannot move loads past): one wait on memory
 * per U elements rather than per element; the same values for any U. */
template <int U>
__device__ __forceinline__ void swiglu_into(const float *a, int I, float *act)
{
    for (int i0 = (int)threadIdx.x; i0 < I; i0 += U * (int)blockDim.x) {
        float ga[U], ua[U];
        GPU_UNROLL
        for (int u = 0; u < U; u++) {
            int i = i0 + u * (int)blockDim.x;
            ga[u] = i < I ? a[i] : 0.0f;
            ua[u] = i < I ? a[I + i] : 0.0f;
        }
        GPU_UNROLL
        for (int u = 0; u < U; u++) {
            int i = i0 + u * (int)blockDim.x;
            if (i < I)
                act[i] = silu_mul(ga[u], ua[u]);
        }
    }
}

__global__ void __launch_bounds__(GV_THREADS) k_expert_down(const bf16 *all, const int *sel,
                                                            int E, int H, int I, const float *a,
                                                            const float *gate, const float *xn,
                                                            int skip_zero, float *y, gpu_pf pf)
{
    GPU_DYN_SHARED(float, act);
    /* The expert and its gate are the router's, two kernels back: under
     * PDL this kernel starts only after the up/gate product before it has
     * waited for the router (k_gemv_expert), so they may be read, and the
     * row's weights loaded, while that product runs (volatile reads: from
     * L2, never a line this multiprocessor's L1 kept from an earlier step). */
    int e = *(const volatile int *)sel;
    float g = *(const volatile float *)gate;
    int lane = (int)threadIdx.x % GPU_LANES;
    int row = (int)blockIdx.x * GV_ROWS + (int)threadIdx.x / GPU_LANES;
    int use = e >= 0 && e < E && row < H; /* a group past H, or the skip slot, loads none */
    const bf16 *w = all + ((size_t)(use ? e : 0) * (size_t)H + (size_t)(use ? row : 0)) * (size_t)I;
    u32x4 pre[GV_PRE];
    row_load<GV_PRE>(w, use ? I : 0, lane, pre);
    GPU_DEP_LAUNCH();
    GPU_DEP_WAIT();
    pf_run(pf, 0);
    if (e < 0 || e >= E) { /* the skip slot */
        if (row < H && lane == 0)
            y[row] = skip_zero ? 0.0f : g * xn[row];
        return;
    }
    swiglu_into<8>(a, I, act);
    __syncthreads();
    if (row >= H)
        return;
    float acc = row_dot_pre<GV_PRE>(pre, w, act, I, lane);
    if (lane == 0)
        y[row] = g * acc;
}

void kl_expert_down(hipStream_t s, const bf16 *all, const int *sel, int E, int H, int I,
                    const float *a, const float *gate, const float *xn, int skip_zero, float *y,
                    const gpu_pf *pf)
{
    KL_LAUNCH(k_expert_down, dim3((unsigned)((H + GV_ROWS - 1) / GV_ROWS)),
                       dim3(GV_THREADS), (size_t)I * sizeof(float), s, all, sel, E, H, I, a, gate,
                       xn, skip_zero, y, pf_or_none(pf));
}

/* ----------------------------------------------------------------- CCA */

/* Head b (queries 0..nq-1, then keys) for the token at io->pos, by the
 * block's threads e < d (all threads take part in the norm): the
 * convolution output z mixed with the pre-conv projections (spec 6.3), L2
 * norm to sqrt(d), key temperature, RoPE; the query to q, or the key and
 * the value (vc, then slot pos % 2 of vd) to Kc/Vc at pos; the head's raw
 * projections u into ring slot pos % (K0+K1-1).  vs: d floats of shared
 * memory. */
__device__ void qk_head(const cca_w &w, int b, int pos, const float *u, const float *z,
                        float *ring, const float *vc, const float *vd, float *q, float *Kc,
                        float *Vc, float *vs, float *red)
{
    int d = w.d, nq = w.nq, nk = w.nk, G = nq / nk, qw = nq * d, C = (nq + nk) * d;
    int e = (int)threadIdx.x, c = b * d + e, nr = w.K0 + w.K1 - 1;
    int g = b < nq ? b / G : b - nq;
    float v = 0.0f;
    if (e < d) {
        if (b < nq) {
            v = z[c] + (u[b * d + e] + u[qw + g * d + e]) * 0.5f;
        } else {
            float ksum = 0.0f;
            for (int r = 0; r < G; r++)
                ksum += (u[(g * G + r) * d + e] + u[qw + g * d + e]) * 0.5f;
            v = z[c] + ksum / (float)G;
        }
    }
    float nrm = sqrtf(block_sum(v * v, red));
    float scale = sqrtf((float)d) / nrm;
    if (b >= nq)
        scale *= w.temp[g];
    v *= scale;
    if (e < d)
        vs[e] = v;
    __syncthreads();
    if (e >= d)
        return;
    int half = w.rot / 2;
    if (e < w.rot) {
        int i = e < half ? e : e - half;
        float a = (float)pos * w.inv_freq[i], cs = cosf(a), sn = sinf(a);
        v = e < half ? vs[e] * cs - vs[e + half] * sn : vs[e] * cs + vs[e - half] * sn;
    }
    if (b < nq) {
        q[b * d + e] = v;
    } else {
        size_t at = ((size_t)g * (size_t)w.cap + (size_t)pos) * (size_t)d + (size_t)e;
        Kc[at] = v;
        int idx = g * d + e, hv = nk * d / 2;
        Vc[at] = idx < hv ? vc[idx] : vd[(size_t)(pos & 1) * hv + idx - hv];
    }
    ring[(size_t)(pos % nr) * C + c] = u[c];
}

/* A lane's first pieces of its stage-2 filter row, loaded early
 * (row_load; n: how many, 0 for none). */
struct conv_pre {
    u32x4 v[2];
    int n;
};

/* Both convolutions for the token at pos, as a product: virtual block vb
 * computes output channels vb*rpb .. +rpb-1 (rpb = the block's groups, all
 * in head group g),
 * first stage 1 (depthwise) of group g's d channels for the K1 frames
 * pos-K1+1 .. pos into shared memory (frame f reads raw projections
 * pos-nh+f .. pos-nh+f+K0-1: zero before the sequence, the current one
 * from u, older ones from the ring), then stage 2 (grouped, one dense
 * d x K1*d filter per head) as row products into z.  The last of head g's
 * d/rpb virtual blocks to finish (count[g]) then finishes the head
 * (qk_head) and resets count[g].  No block reads the ring slot qk_head
 * writes.  ms: K1*d floats of shared memory. */
__device__ void conv_vb(const cca_w &w, int pos, int vb, int rpb, const float *u, float *ring,
                        float *z, const float *vc, const float *vd, float *q, float *Kc,
                        float *Vc, int *count, float *ms, conv_pre pre)
{
    __shared__ float red[GPU_MAX_GROUPS], vs[128];
    __shared__ int last;
    int d = w.d, C = (w.nq + w.nk) * d, K0 = w.K0, K1 = w.K1, kd = K1 * d;
    int nh = K0 + K1 - 2, nr = nh + 1;
    int o0 = vb * rpb, g = o0 / d;
    for (int idx = (int)threadIdx.x; idx < kd; idx += (int)blockDim.x) {
        int f = idx / d, c = g * d + idx % d;
        float acc = w.conv0_b[c];
        for (int tap = 0; tap < K0; tap++) {
            int t = pos - nh + f + tap;
            float uv = t == pos ? u[c] : t < 0 ? 0.0f : ring[(size_t)(t % nr) * C + c];
            acc += w.conv0_w[c * K0 + tap] * uv;
        }
        ms[idx] = acc; /* tap-major, as conv1_w's rows */
    }
    __syncthreads();
    int lane = (int)threadIdx.x % GPU_LANES, o = o0 + (int)threadIdx.x / GPU_LANES;
    const bf16 *wr = w.conv1_w + (size_t)o * (size_t)kd;
    float acc = pre.n ? row_dot_pre<2>(pre.v, wr, ms, kd, lane) : row_dot(wr, ms, kd, lane);
    if (lane == 0)
        z[o] = acc + w.conv1_b[o];
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) {
        __threadfence();
        last = atomicAdd(&count[g], 1) == d / rpb - 1;
    }
    __syncthreads();
    if (!last)
        return;
    __threadfence();
    qk_head(w, g, pos, u, z, ring, vc, vd, q, Kc, Vc, vs, red);
    if (threadIdx.x == 0)
        count[g] = 0;
}

__global__ void __launch_bounds__(GV_THREADS) k_conv(cca_w w, const gpu_io *io, const float *u,
                                                     float *ring, float *z, const float *vc,
                                                     const float *vd, float *q, float *Kc,
                                                     float *Vc, int *count)
{
    GPU_DYN_SHARED(float, ms);
    /* The group's filter row on its way while the kernel before ends. */
    int kd = w.K1 * w.d, o = (int)blockIdx.x * GV_ROWS + (int)threadIdx.x / GPU_LANES;
    conv_pre pre;
    pre.n = 2;
    row_load<2>(w.conv1_w + (size_t)o * (size_t)kd, kd, (int)threadIdx.x % GPU_LANES, pre.v);
    GPU_DEP_LAUNCH();
    GPU_DEP_WAIT();
    conv_vb(w, io->pos, (int)blockIdx.x, GV_ROWS, u, ring, z, vc, vd, q, Kc, Vc, count, ms, pre);
}

void kl_cca(hipStream_t s, const cca_w *w, const gpu_io *io, const float *u, float *ring,
            const float *vc, const float *vd, float *z, float *q, float *Kc, float *Vc,
            int *count)
{
    int C = (w->nq + w->nk) * w->d;
    KL_LAUNCH(k_conv, dim3((unsigned)(C / GV_ROWS)), dim3(GV_THREADS),
                       (size_t)w->K1 * (size_t)w->d * sizeof(float), s, *w, io, u, ring, z, vc,
                       vd, q, Kc, Vc, count);
}

/* ----------------------------------------------------------- attention */

enum { ATT_GMAX = 8, ATT_THREADS = 128, ATT_GROUPS = ATT_THREADS / GPU_LANES,
       ATT_TILE = GPU_LANES, ATT_MIN_CHUNK = ATT_GROUPS * ATT_TILE, A8_KEYS = 8,
       A8_MIN_CHUNK = ATT_GROUPS * A8_KEYS };

/* Split `split`'s keys [*t0, *t1) of the context of the token at pos, and
 * the number of splits used (the split has keys iff split < that); a
 * split has at least minc keys (ATT_MIN_CHUNK, or A8_MIN_CHUNK for the
 * 8-key steps). */
__device__ __forceinline__ int attn_keys(int split, int pos, int minc, int *t0, int *t1)
{
    int ctx = pos + 1, chunk = (ctx + ATT_SPLITS - 1) / ATT_SPLITS;
    chunk = chunk < minc ? minc : chunk;
    *t0 = split * chunk;
    *t1 = *t0 + chunk < ctx ? *t0 + chunk : ctx;
    return (ctx + chunk - 1) / chunk;
}

/* The keys and values of KV head g that split `split` reads, asked into
 * L2 (l2_block). */
__device__ __forceinline__ void attn_ask(int g, int split, const float *Kc, const float *Vc, int d,
                                         int cap, int pos, int minc)
{
    int t0, t1;
    if (split >= attn_keys(split, pos, minc, &t0, &t1))
        return;
    size_t at = ((size_t)g * (size_t)cap + (size_t)t0) * (size_t)d;
    l2_block(Kc + at, (size_t)(t1 - t0) * (size_t)d * sizeof(float));
    l2_block(Vc + at, (size_t)(t1 - t0) * (size_t)d * sizeof(float));
}

/* Keys [ts, ts + nt) (nt <= 8) of one 8-key step, loaded by the calling
 * group (oct_step_run's layout): lane 8qq + kk holds quarter qq of key kk's
 * row (d/4 floats, 2*DPL 16-byte loads) and its own DPL dimensions of
 * all 8 value rows (zeros past nt).  Every load of the step is issued
 * here, before any is used. */
template <int DPL>
struct oct_step {
    f32x4 k[2 * DPL];
    float v[A8_KEYS][DPL];
};

template <int DPL>
__device__ __forceinline__ void oct_load(const float *Kg, const float *Vg, int ts, int nt,
                                         int lane, oct_step<DPL> &st)
{
    const int d = GPU_LANES * DPL;
    int kk = lane % A8_KEYS, qq = lane / A8_KEYS;
    const f32x4 *kr = (const f32x4 *)(Kg + (size_t)(ts + (kk < nt ? kk : 0)) * (size_t)d +
                                      (size_t)(qq * (d / 4)));
    GPU_UNROLL
    for (int i = 0; i < 2 * DPL; i++)
        st.k[i] = kr[i];
    GPU_UNROLL
    for (int j = 0; j < A8_KEYS; j++) {
        const float *row = Vg + (size_t)(ts + (j < nt ? j : 0)) * (size_t)d + (size_t)lane * DPL;
        if (DPL % 4 == 0) {
            GPU_UNROLL
            for (int k = 0; k < DPL; k += 4) {
                f32x4 a = *(const f32x4 *)(row + k);
                st.v[j][k] = a.a, st.v[j][k + 1] = a.b, st.v[j][k + 2] = a.c, st.v[j][k + 3] = a.d;
            }
        } else {
            GPU_UNROLL
            for (int k = 0; k < DPL; k++)
                st.v[j][k] = row[k];
        }
    }
}

/* One 8-key step of the calling group's running softmax (m, l) and
 * unnormalised output o (DPL dimensions a lane, as the 32-key tiles hold
 * them) for the G query heads in qs.  Scores: each lane dots its quarter
 * of its key with the heads' queries (the 8 lanes of a quarter read the
 * same query words: one broadcast a 16-byte shared load), and the four
 * quarters are added by two exchanges (xor 8, then 16: the same sum in
 * every lane of the key).  The step's maximum and sum over its keys go by
 * exchanges among the 8 keys; then each value row adds in key order with
 * its probability from the key's lane. */
template <int DPL>
__device__ __forceinline__ void oct_step_run(const oct_step<DPL> &st, int nt, int G,
                                             const float (*qs)[GPU_LANES * DPL], float inv_sqrtd,
                                             int lane, float (*o)[DPL], float *m, float *l)
{
    const int d = GPU_LANES * DPL;
    int kk = lane % A8_KEYS, qq = lane / A8_KEYS;
    GPU_UNROLL
    for (int h = 0; h < ATT_GMAX; h++) {
        if (h >= G)
            continue;
        const f32x4 *qv = (const f32x4 *)&qs[h][qq * (d / 4)];
        float sc = 0.0f;
        GPU_UNROLL
        for (int i = 0; i < 2 * DPL; i++) {
            f32x4 a = qv[i];
            sc = fmaf(a.a, st.k[i].a, sc);
            sc = fmaf(a.b, st.k[i].b, sc);
            sc = fmaf(a.c, st.k[i].c, sc);
            sc = fmaf(a.d, st.k[i].d, sc);
        }
        sc += __shfl_xor(sc, 8, GPU_LANES);
        sc += __shfl_xor(sc, 16, GPU_LANES);
        float s = kk < nt ? sc * inv_sqrtd : -INFINITY, mx = s;
        for (int off = A8_KEYS / 2; off > 0; off >>= 1)
            mx = fmaxf(mx, __shfl_xor(mx, off, GPU_LANES));
        float mn = fmaxf(m[h], mx); /* finite: the step has a key */
        float old = expf(m[h] - mn), p = expf(s - mn), ps = p;
        for (int off = A8_KEYS / 2; off > 0; off >>= 1)
            ps += __shfl_xor(ps, off, GPU_LANES);
        l[h] = l[h] * old + ps;
        m[h] = mn;
        GPU_UNROLL
        for (int k = 0; k < DPL; k++)
            o[h][k] *= old;
        GPU_UNROLL
        for (int j = 0; j < A8_KEYS; j++) {
            float pj = lanes_bcast(p, j); /* 0 for keys past nt */
            GPU_UNROLL
            for (int k = 0; k < DPL; k++)
                o[h][k] = fmaf(pj, st.v[j][k], o[h][k]);
        }
    }
}

/* Block (g, split) of ATT_THREADS threads: keys [split*chunk, (split+1)*chunk) of the context,
 * chunk = max(ceil(ctx / ATT_SPLITS), ATT_MIN_CHUNK), for the G query
 * heads of KV head g.  Each group of 32 threads takes tiles of 32 keys
 * (tiles grp, grp + ATT_GROUPS, ... of the chunk): lane j scores key j of
 * the tile against the G queries (its K row read straight from memory,
 * the queries from shared memory), the tile's maximum and sum rescale the
 * group's running (max, sum, output) once per tile, and the output adds
 * the tile's V rows (read whole by the group, DPL dimensions a lane)
 * weighted by the broadcast probabilities; the block asks its chunk's
 * keys and values into L2 first.  The groups merge into one
 * partial (max, sum, unnormalised output) per head at
 * part[(split*nq + h)*(d+ATT_PAD)] (kern.h).  Blocks past the used splits return at
 * once; the last used one of head g to finish (counted in count[g])
 * combines their partials of its G heads into out, every split's weight
 * computed once, 4 outputs a thread at a time, and resets count[g].
 * asked: the block has made attn_ask already (k_attn, before its wait).
 * OCT: the groups take steps of 8 keys (oct_step_run; splits of at least
 * A8_MIN_CHUNK keys, each group's next step loaded during this one)
 * instead of tiles of 32 keys a lane each.  CU: splits whose partials the
 * combine loads at once (the same sums for any CU; 8 in the persistent
 * step, whose registers are capped). */
template <int DPL, bool OCT, int CU>
__device__ void attn_vb(int g, int split, const float *q, const float *Kc, const float *Vc,
                        int nq, int nk, int cap, int pos, float *part, int *count, float *out,
                        bool asked)
{
    const int d = GPU_LANES * DPL;
    __shared__ __attribute__((aligned(16))) float qs[ATT_GMAX][GPU_LANES * DPL];
    __shared__ float sm_m[ATT_GROUPS][ATT_GMAX], sm_l[ATT_GROUPS][ATT_GMAX];
    __shared__ float sm_o[ATT_GROUPS][ATT_GMAX][GPU_LANES * DPL];
    __shared__ float fs[ATT_GMAX][ATT_SPLITS], ls[ATT_GMAX];
    __shared__ int last;
    int G = nq / nk;
    int grp = (int)threadIdx.x / GPU_LANES, lane = (int)threadIdx.x % GPU_LANES;
    const int minc = OCT ? A8_MIN_CHUNK : ATT_MIN_CHUNK;
    int t0, t1, nsp = attn_keys(split, pos, minc, &t0, &t1);
    if (split >= nsp)
        return; /* no keys: not counted, the combine waits for nsp blocks */
    {
        const float *Kg = Kc + (size_t)g * (size_t)cap * (size_t)d;
        const float *Vg = Vc + (size_t)g * (size_t)cap * (size_t)d;
        if (!asked) /* the chunk's keys and values into L2 before anything waits */
            attn_ask(g, split, Kc, Vc, d, cap, pos, minc);
        float inv_sqrtd = 1.0f / sqrtf((float)d);
        for (int i = (int)threadIdx.x; i < G * d; i += ATT_THREADS)
            qs[i / d][i % d] = q[(size_t)g * G * d + (size_t)i];
        __syncthreads();
        float o[ATT_GMAX][DPL], m[ATT_GMAX], l[ATT_GMAX];
        GPU_UNROLL
        for (int h = 0; h < ATT_GMAX; h++) {
            m[h] = -INFINITY;
            l[h] = 0.0f;
            GPU_UNROLL
            for (int k = 0; k < DPL; k++)
                o[h][k] = 0.0f;
        }
        if (OCT) {
            int ts = t0 + grp * A8_KEYS;
            oct_step<DPL> cur, nxt;
            if (ts < t1)
                oct_load<DPL>(Kg, Vg, ts, t1 - ts < A8_KEYS ? t1 - ts : A8_KEYS, lane, cur);
            for (; ts < t1; ts += ATT_GROUPS * A8_KEYS) {
                int tn = ts + ATT_GROUPS * A8_KEYS, nt = t1 - ts < A8_KEYS ? t1 - ts : A8_KEYS;
                if (tn < t1) /* the next step's loads in flight during this one */
                    oct_load<DPL>(Kg, Vg, tn, t1 - tn < A8_KEYS ? t1 - tn : A8_KEYS, lane, nxt);
                oct_step_run<DPL>(cur, nt, G, qs, inv_sqrtd, lane, o, m, l);
                cur = nxt;
            }
        }
        for (int ts = t0 + grp * ATT_TILE; !OCT && ts < t1; ts += ATT_GROUPS * ATT_TILE) {
            int nt = t1 - ts < ATT_TILE ? t1 - ts : ATT_TILE, key = ts + lane;
            /* scores of key `key` (lane) for the G heads */
            float sc[ATT_GMAX];
            GPU_UNROLL
            for (int h = 0; h < ATT_GMAX; h++)
                sc[h] = 0.0f;
            if (lane < nt) {
                const float *kr = Kg + (size_t)key * (size_t)d;
                for (int k0 = 0; k0 < d; k0 += 32) { /* 8 loads in flight */
                    f32x4 kv[8];
                    GPU_UNROLL
                    for (int i = 0; i < 8; i++)
                        kv[i] = *(const f32x4 *)(kr + k0 + 4 * i);
                    GPU_UNROLL
                    for (int i = 0; i < 8; i++)
                        GPU_UNROLL
                        for (int h = 0; h < ATT_GMAX; h++) {
                            if (h >= G)
                                continue;
                            f32x4 qv = *(const f32x4 *)&qs[h][k0 + 4 * i];
                            sc[h] = fmaf(qv.a, kv[i].a, sc[h]);
                            sc[h] = fmaf(qv.b, kv[i].b, sc[h]);
                            sc[h] = fmaf(qv.c, kv[i].c, sc[h]);
                            sc[h] = fmaf(qv.d, kv[i].d, sc[h]);
                        }
                }
            }
            float p[ATT_GMAX];
            GPU_UNROLL
            for (int h = 0; h < ATT_GMAX; h++) {
                p[h] = 0.0f;
                if (h >= G)
                    continue;
                float s = lane < nt ? sc[h] * inv_sqrtd : -INFINITY;
                float mn = fmaxf(m[h], lanes_max(s)); /* finite: the tile has a key */
                float old = expf(m[h] - mn);
                p[h] = expf(s - mn);
                l[h] = l[h] * old + lanes_sum(p[h]);
                GPU_UNROLL
                for (int k = 0; k < DPL; k++)
                    o[h][k] *= old;
                m[h] = mn;
            }
            /* V rows 8 at a time, all loaded before they are used (rows
             * past the tile's keys read as zeros, with probability 0) */
            const float *vr = Vg + (size_t)ts * (size_t)d + (size_t)lane * DPL;
            for (int j0 = 0; j0 < nt; j0 += 8) {
                float vv[8][DPL];
                GPU_UNROLL
                for (int i = 0; i < 8; i++) {
                    const float *row = vr + (size_t)(j0 + i) * d;
                    int ok = j0 + i < nt;
                    if (DPL % 4 == 0) {
                        GPU_UNROLL
                        for (int k = 0; k < DPL; k += 4) {
                            f32x4 a = {0, 0, 0, 0};
                            if (ok)
                                a = *(const f32x4 *)(row + k);
                            vv[i][k] = a.a, vv[i][k + 1] = a.b, vv[i][k + 2] = a.c;
                            vv[i][k + 3] = a.d;
                        }
                    } else {
                        GPU_UNROLL
                        for (int k = 0; k < DPL; k++)
                            vv[i][k] = ok ? row[k] : 0.0f;
                    }
                }
                GPU_UNROLL
                for (int i = 0; i < 8; i++)
                    GPU_UNROLL
                    for (int h = 0; h < ATT_GMAX; h++) {
                        if (h >= G)
                            continue;
                        float pj = lanes_bcast(p[h], j0 + i);
                        GPU_UNROLL
                        for (int k = 0; k < DPL; k++)
                            o[h][k] = fmaf(pj, vv[i][k], o[h][k]);
                    }
            }
        }
        GPU_UNROLL
        for (int h = 0; h < ATT_GMAX; h++) {
            if (h >= G)
                continue;
            if (lane == 0) {
                sm_m[grp][h] = m[h];
                sm_l[grp][h] = l[h];
            }
            GPU_UNROLL
            for (int k = 0; k < DPL; k++)
                sm_o[grp][h][lane * DPL + k] = o[h][k];
        }
        __syncthreads();
        for (int idx = (int)threadIdx.x; idx < G * d; idx += ATT_THREADS) {
            int h = idx / d, e = idx % d;
            float M = -INFINITY;
            for (int i = 0; i < ATT_GROUPS; i++)
                M = fmaxf(M, sm_m[i][h]);
            float L = 0.0f, O = 0.0f;
            for (int i = 0; i < ATT_GROUPS; i++) {
                float f = sm_m[i][h] == -INFINITY ? 0.0f : expf(sm_m[i][h] - M);
                L += sm_l[i][h] * f;
                O += sm_o[i][h][e] * f;
            }
            float *pp = part + ((size_t)split * nq + (size_t)(g * G + h)) * (size_t)(d + ATT_PAD);
            if (e == 0) {
                pp[0] = M;
                pp[1] = L;
            }
            pp[ATT_PAD + e] = O;
        }
    }
    /* Publish the partial; the last block of head g combines. */
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) {
        __threadfence();
        last = atomicAdd(&count[g], 1) == nsp - 1;
    }
    __syncthreads();
    if (!last)
        return;
    __threadfence();
    /* each head's split weights once (group h: lanes over the splits) */
    for (int h = grp; h < G; h += ATT_GROUPS) {
        const float *ph = part + (size_t)(g * G + h) * (size_t)(d + ATT_PAD);
        float M = -INFINITY;
        for (int sp = lane; sp < nsp; sp += GPU_LANES)
            M = fmaxf(M, ph[(size_t)sp * nq * (d + ATT_PAD)]);
        M = lanes_max(M);
        float L = 0.0f;
        for (int sp = lane; sp < nsp; sp += GPU_LANES) {
            float ms = ph[(size_t)sp * nq * (d + ATT_PAD)];
            float f = ms == -INFINITY ? 0.0f : expf(ms - M);
            fs[h][sp] = f;
            L += ph[(size_t)sp * nq * (d + ATT_PAD) + 1] * f;
        }
        L = lanes_sum(L);
        if (lane == 0)
            ls[h] = L;
    }
    __syncthreads();
    /* 4 outputs a thread at a time (one 16-byte load a split; d % 4 ==
     * 0, so they are of one head), each summed over the splits in order,
     * CU splits' loads in flight */
    for (int i4 = (int)threadIdx.x * 4; i4 < G * d; i4 += ATT_THREADS * 4) {
        int h = i4 / d, e = i4 % d;
        const float *pe = part + (size_t)(g * G + h) * (size_t)(d + ATT_PAD) + ATT_PAD + (size_t)e;
        float O0 = 0.0f, O1 = 0.0f, O2 = 0.0f, O3 = 0.0f;
        if (CU <= 8) /* the compiler's unrolling, which spills least */
            GPU_UNROLL8
            for (int sp = 0; sp < nsp; sp++) {
                f32x4 v = *(const f32x4 *)(pe + (size_t)sp * nq * (size_t)(d + ATT_PAD));
                float f = fs[h][sp];
                O0 = fmaf(v.a, f, O0);
                O1 = fmaf(v.b, f, O1);
                O2 = fmaf(v.c, f, O2);
                O3 = fmaf(v.d, f, O3);
            }
        for (int s0 = 0; CU > 8 && s0 < nsp; s0 += CU) {
            f32x4 v[CU];
            GPU_UNROLL
            for (int i = 0; i < CU; i++)
                if (s0 + i < nsp)
                    v[i] = *(const f32x4 *)(pe + (size_t)(s0 + i) * nq * (size_t)(d + ATT_PAD));
            GPU_UNROLL
            for (int i = 0; i < CU; i++) {
                if (s0 + i >= nsp)
                    break;
                float f = fs[h][s0 + i];
                O0 = fmaf(v[i].a, f, O0);
                O1 = fmaf(v[i].b, f, O1);
                O2 = fmaf(v[i].c, f, O2);
                O3 = fmaf(v[i].d, f, O3);
            }
        }
        float *o = out + (size_t)(g * G + h) * d + e, L = ls[h];
        o[0] = O0 / L;
        o[1] = O1 / L;
        o[2] = O2 / L;
        o[3] = O3 / L;
    }
    if (threadIdx.x == 0)
        count[g] = 0;
}

template <int DPL, bool OCT>
__global__ void __launch_bounds__(ATT_THREADS) k_attn(const float *q, const float *Kc,
                                                      const float *Vc, int nq, int nk, int cap,
                                                      const gpu_io *io, float *part, int *count,
                                                      float *out)
{
    /* The keys and values before this token's are there already: asked
     * into L2 while the kernel before (which adds this token's) ends. */
    attn_ask((int)blockIdx.x, (int)blockIdx.y, Kc, Vc, GPU_LANES * DPL, cap, io->pos,
             OCT ? A8_MIN_CHUNK : ATT_MIN_CHUNK);
    GPU_DEP_LAUNCH();
    GPU_DEP_WAIT();
    attn_vb<DPL, OCT, 16>((int)blockIdx.x, (int)blockIdx.y, q, Kc, Vc, nq, nk, cap, io->pos, part,
                      count, out, true);
}

template <bool OCT>
static void attn_launch(hipStream_t s, const float *q, const float *Kc, const float *Vc, int nq,
                        int nk, int d, int cap, const gpu_io *io, float *part, int *count,
                        float *out)
{
    dim3 grid((unsigned)nk, ATT_SPLITS), blk(ATT_THREADS);
    switch (d / GPU_LANES) {
    case 1: KL_LAUNCH((k_attn<1, OCT>), grid, blk, 0, s, q, Kc, Vc, nq, nk, cap, io, part, count, out); break;
    case 2: KL_LAUNCH((k_attn<2, OCT>), grid, blk, 0, s, q, Kc, Vc, nq, nk, cap, io, part, count, out); break;
    default: KL_LAUNCH((k_attn<4, OCT>), grid, blk, 0, s, q, Kc, Vc, nq, nk, cap, io, part, count, out); break; /* d = 128 */
    }
}

void kl_attention(hipStream_t s, const float *q, const float *Kc, const float *Vc, int nq, int nk,
                  int d, int cap, const gpu_io *io, float *part, int *count, float *out, int oct)
{
    if (oct)
        attn_launch<true>(s, q, Kc, Vc, nq, nk, d, cap, io, part, count, out);
    else
        attn_launch<false>(s, q, Kc, Vc, nq, nk, d, cap, io, part, count, out);
}

/* -------------------------------------------------------------- argmax */

__global__ void __launch_bounds__(1024) k_argmax(const float *x, int n, const gpu_io *io, int *out)
{
    GPU_DEP_LAUNCH();
    GPU_DEP_WAIT();
    if (io && io->n_valid > 0 && io->n_valid < n)
        n = io->n_valid;
    __shared__ float bv[1024];
    __shared__ int bi[1024];
    int tid = (int)threadIdx.x;
    float v = -INFINITY;
    int idx = n;
    for (int i = tid; i < n; i += (int)blockDim.x) {
        float xi = x[i];
        if (xi > v || (xi == v && i < idx)) {
            v = xi;
            idx = i;
        }
    }
    bv[tid] = v;
    bi[tid] = idx;
    __syncthreads();
    for (int w = (int)blockDim.x / 2; w > 0; w >>= 1) {
        if (tid < w) {
            float ov = bv[tid + w];
            int oi = bi[tid + w];
            if (ov > bv[tid] || (ov == bv[tid] && oi < bi[tid])) {
                bv[tid] = ov;
                bi[tid] = oi;
            }
        }
        __syncthreads();
    }
    if (tid == 0)
        *out = bi[0] < n ? bi[0] : 0;
}

void kl_argmax(hipStream_t s, const float *x, int n, const gpu_io *io, int *out)
{
    KL_LAUNCH(k_argmax, dim3(1), dim3(1024), 0, s, x, n, io, out);
}

/* ------------------------------------------------ the persistent step */

/* Every block waits here until all gridDim.x blocks have arrived, and
 * then sees every write made before the barrier (a generation count: the
 * last to arrive resets the arrivals and moves the generation on).  Only
 * in a cooperative launch, where all blocks run at once.  A block that
 * waits more than about 2^33 cycles (seconds) traps, failing the launch
 * rather than hanging the device: a barrier some block never reaches is
 * a bug. */
__device__ void grid_sync(unsigned *bar)
{
    __syncthreads();
    if (threadIdx.x == 0) {
        volatile unsigned *gen = bar + 1;
        unsigned g0 = *gen;
        __threadfence();
        if (atomicAdd(bar, 1u) == gridDim.x - 1) {
            atomicExch(bar, 0u);
            __threadfence();
            atomicAdd(bar + 1, 1u);
        } else {
            long long t0 = clock64();
            while (*gen == g0) {
                GPU_SPIN_PAUSE();
                if (clock64() - t0 > (1ll << 33))
                    GPU_TRAP();
            }
        }
        __threadfence();
    }
    __syncthreads();
}

/* Rows r0, r0+1 of one product by the calling group, each plus its bias,
 * into y and out (r0 + 1 may be past rows: then only out[0] means
 * anything, and y gets one row). */
__device__ __forceinline__ void pk_rows2(const bf16 *w, const float *bias, int rows, int r0,
                                         const float *x, int cols, int lane, float *y,
                                         float out[2])
{
    int two = r0 + 1 < rows;
    rows_dot_deep<2>(w + (size_t)r0 * (size_t)cols, two ? (size_t)cols : 0, x, cols, lane, out);
    out[0] = bias ? out[0] + bias[r0] : out[0];
    out[1] = two && bias ? out[1] + bias[r0 + 1] : out[1];
    if (lane == 0) {
        y[r0] = out[0];
        if (two)
            y[r0 + 1] = out[1];
    }
}

/* One phase of the step (pk_phase in kern.h) by this block.  xs: the
 * dynamic shared memory (at least max(cols, I, 3R+S, K1*d) floats). */
template <int DPL>
__device__ void pk_phase_run(const pk_phase &P, const gpu_io *io, float *xs, float *red)
{
    __shared__ int sh_sel, sh_last;
    __shared__ float sh_gate, sh_v[PK_THREADS];
    __shared__ int sh_i[PK_THREADS];
    int kind = P.kind, nvb = P.nvb, b = (int)blockIdx.x, nb = (int)gridDim.x;
    int lane = (int)threadIdx.x % GPU_LANES, grp = (int)threadIdx.x / GPU_LANES;
    int pos = io->pos;
    pf_ranges(P.pf, pos); /* its expert: FC1, once chosen */
    switch (kind) {
    case PK_EMBED: {
        int H = P.cols;
        const bf16 *row = P.emb + (size_t)io->token * (size_t)H;
        for (int i = b * PK_THREADS + (int)threadIdx.x; i < H; i += nb * PK_THREADS) {
            float e = bf16f(row[i]);
            P.set.y[0][i] = P.nin.mw.hs ? (e + P.nin.mw.hb[i]) * P.nin.mw.hs[i] : e;
        }
        break;
    }
    case PK_QKV:
    case PK_O:
    case PK_RDOWN:
    case PK_LM: {
        int cols = P.cols, lm = kind == PK_LM, n = P.set.rows[0];
        if (lm && io->n_valid > 0 && io->n_valid < n)
            n = io->n_valid;
        float bv = -INFINITY; /* LM: this group's largest logit below n */
        int bi = n;
        if (b < nvb) {
            const float *x = P.x;
            if (P.use_norm) {
                norm_input<1>(P.nin, cols, xs, red, b == 0); /* 4 spills registers here */
                x = xs;
            }
            for (int vb = b; vb < nvb; vb += nb) {
                gemv_one o = gemv_pick(P.set, P.bl, vb);
                int r0 = (vb - o.first) * PK_ROWS + 2 * grp;
                if (r0 >= o.rows)
                    continue;
                float *y = o.y;
                if (o.ps)
                    y += (size_t)((pos + 1) & 1) * (size_t)o.ps;
                float acc[2];
                pk_rows2(o.w, o.bias, o.rows, r0, x, cols, lane, y, acc);
                for (int k = 0; k < 2; k++) /* rows in increasing order */
                    if (lm && r0 + k < n && acc[k] > bv) {
                        bv = acc[k];
                        bi = r0 + k;
                    }
            }
        }
        if (!lm)
            break;
        /* the block's argmax, then the last block's over the blocks'
         * (the largest value, the lowest index among equals) */
        int t = (int)threadIdx.x;
        sh_v[t] = lane == 0 ? bv : -INFINITY;
        sh_i[t] = lane == 0 ? bi : n;
        __syncthreads();
        if (t == 0) {
            for (int k = 0; k < PK_THREADS; k += GPU_LANES)
                if (sh_v[k] > bv || (sh_v[k] == bv && sh_i[k] < bi)) {
                    bv = sh_v[k];
                    bi = sh_i[k];
                }
            P.am_v[b] = bv;
            P.am_i[b] = bi;
            __threadfence();
            sh_last = atomicAdd(P.am_count, 1) == nb - 1;
        }
        __syncthreads();
        if (!sh_last)
            break;
        __threadfence();
        bv = -INFINITY;
        bi = n;
        for (int k = t; k < nb; k += PK_THREADS) {
            float v = ((volatile float *)P.am_v)[k];
            int i = ((volatile int *)P.am_i)[k];
            if (v > bv || (v == bv && i < bi)) {
                bv = v;
                bi = i;
            }
        }
        __syncthreads(); /* every thread has read its sh_v, sh_i above */
        sh_v[t] = bv;
        sh_i[t] = bi;
        __syncthreads();
        if (t == 0) {
            for (int k = 0; k < PK_THREADS; k++)
                if (sh_v[k] > bv || (sh_v[k] == bv && sh_i[k] < bi)) {
                    bv = sh_v[k];
                    bi = sh_i[k];
                }
            *P.am_out = bi < n ? bi : 0;
            *P.am_count = 0;
        }
        break;
    }
    case PK_CONV:
        for (int vb = b; vb < nvb; vb += nb) {
            conv_vb(P.cca, pos, vb, PK_THREADS / GPU_LANES, P.u, P.ring, P.z, P.vc, P.vd, P.q,
                    P.K, P.V, P.count, xs, conv_pre{});
            __syncthreads();
        }
        break;
    case PK_ATTN:
        for (int vb = b; vb < nvb; vb += nb) {
            attn_vb<DPL, false, 8>(vb % P.cca.nk, vb / P.cca.nk, P.q, P.K, P.V, P.cca.nq, P.cca.nk,
                         P.cca.cap, pos, P.part, P.count, P.att, false);
            __syncthreads();
        }
        break;
    case PK_R0:
    case PK_R1: {
        if (b >= nvb)
            break;
        int R = P.rt.R, r0 = kind == PK_R0;
        if (r0) {
            router_rho(P.rt, P.r, P.eda_in, b == 0 ? P.eda_out : NULL, xs, red);
        } else {
            for (int i = (int)threadIdx.x; i < R; i += PK_THREADS)
                xs[i] = P.h1[i];
            __syncthreads();
        }
        const bf16 *w = r0 ? P.rt.w0 : P.rt.w2;
        const float *bias = r0 ? P.rt.b0 : P.rt.b2;
        float *out = r0 ? P.h1 : P.h2;
        for (int vb = b; vb < nvb; vb += nb) {
            int rr = vb * PK_ROWS + 2 * grp;
            if (rr >= R)
                continue;
            float acc[2];
            rows_dot_deep<2>(w + (size_t)rr * R, rr + 1 < R ? (size_t)R : 0, xs, R, lane, acc);
            if (lane == 0)
                for (int k = 0; k < 2 && rr + k < R; k++)
                    out[rr + k] = gelu(acc[k] + bias[rr + k]);
        }
        break;
    }
    case PK_FC1: {
        int R = P.rt.R, S = P.rt.S;
        float *lg = xs + R;
        for (int i = (int)threadIdx.x; i < R; i += PK_THREADS)
            xs[i] = P.h2[i];
        __syncthreads();
        for (int e = grp; e < S; e += PK_THREADS / GPU_LANES) {
            float v = row_dot(P.rt.w4 + (size_t)e * R, xs, R, lane);
            if (lane == 0)
                lg[e] = v;
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            router_pick(P.rt, lg, &sh_sel, &sh_gate);
            if (b == 0) {
                *P.sel = sh_sel;
                *P.gate = sh_gate;
            }
        }
        __syncthreads();
        int e = sh_sel, rows = 2 * P.I, H = P.cols;
        if (e >= P.E)
            break;
        l2_share(P.pf.expert + (size_t)e * P.pf.expert_n, P.pf.expert_n * sizeof(bf16));
        const bf16 *w = P.fc1 + (size_t)e * (size_t)rows * (size_t)H;
        for (int vb = b; vb < nvb; vb += nb) {
            int r0 = vb * PK_ROWS + 2 * grp;
            if (r0 >= rows)
                continue;
            float acc[2];
            pk_rows2(w, NULL, rows, r0, P.xn, H, lane, P.a, acc);
        }
        break;
    }
    case PK_FC2: {
        int e = *P.sel, H = P.cols, I = P.I;
        float g = *P.gate;
        if (e < 0 || e >= P.E) { /* the skip slot */
            for (int i = b * PK_THREADS + (int)threadIdx.x; i < H; i += nb * PK_THREADS)
                P.y[i] = P.skip_zero ? 0.0f : g * P.xn[i];
            break;
        }
        if (b >= nvb)
            break;
        swiglu_into<4>(P.a, I, xs); /* 4: at d = 128 no more spills than 1 (8 adds some) */
        __syncthreads();
        const bf16 *w = P.fc2 + (size_t)e * (size_t)H * (size_t)I;
        for (int vb = b; vb < nvb; vb += nb) {
            int r0 = vb * PK_ROWS + 2 * grp;
            if (r0 >= H)
                continue;
            float acc[2];
            rows_dot_deep<2>(w + (size_t)r0 * I, r0 + 1 < H ? (size_t)I : 0, xs, I, lane, acc);
            if (lane == 0)
                for (int k = 0; k < 2 && r0 + k < H; k++)
                    P.y[r0 + k] = g * acc[k];
        }
        break;
    }
    default:
        break;
    }
}

/* Nanoseconds of the device's global timer (NVIDIA), else 0. */
__device__ __forceinline__ unsigned long long global_ns(void)
{
#if defined(__HIP_PLATFORM_NVIDIA__) && defined(__CUDA_ARCH__)
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
#else
    return 0;
#endif
}

/* NVIDIA: registers capped for 4 blocks a multiprocessor (the attention
 * spills a few words); AMD's compilers take the hint as a waves-per-EU
 * target they cannot meet, so there the cap is theirs. */
#ifdef __HIP_PLATFORM_NVIDIA__
#define PK_BOUNDS __launch_bounds__(PK_THREADS, 4)
#else
#define PK_BOUNDS __launch_bounds__(PK_THREADS)
#endif

/* Phases ph[p0..p1) with a grid barrier between consecutive ones; with
 * tm, block 0 stamps tm[p] as it starts phase p (after the barrier) and
 * tm[p1] after a barrier at the end. */
template <int DPL>
__global__ void PK_BOUNDS k_step(const pk_phase *ph, int p0, int p1, const gpu_io *io,
                                 unsigned *bar, unsigned long long *tm)
{
    GPU_DYN_SHARED(float, xs);
    __shared__ float red[GPU_MAX_GROUPS];
    int stamp = tm && blockIdx.x == 0 && threadIdx.x == 0;
    for (int p = p0; p < p1; p++) {
        if (p > p0)
            grid_sync(bar);
        if (stamp)
            tm[p] = global_ns();
        pk_phase_run<DPL>(ph[p], io, xs, red);
        __syncthreads(); /* the next phase reuses shared memory */
    }
    if (tm) {
        grid_sync(bar);
        if (stamp)
            tm[p1] = global_ns();
    }
}

/* n grid barriers in a row (kl_barriers). */
__global__ void __launch_bounds__(PK_THREADS) k_barriers(unsigned *bar, int n)
{
    for (int i = 0; i < n; i++)
        grid_sync(bar);
}

hipError_t kl_barriers(hipStream_t s, int grid, unsigned *bar, int n)
{
#ifndef ZEVAL_GPU_EMU
    void *args[] = {(void *)&bar, (void *)&n};
    return hipLaunchCooperativeKernel((const void *)k_barriers, dim3((unsigned)grid),
                                      dim3(PK_THREADS), args, 0u, s);
#else
    zemuLaunchCooperativeGGL(k_barriers, dim3((unsigned)grid), dim3(PK_THREADS), 0, s, bar, n);
    return hipGetLastError();
#endif
}

int kl_step_grid(int d, size_t shmem, int per_sm)
{
#ifdef ZEVAL_GPU_EMU
    (void)d;
    (void)shmem;
    (void)per_sm;
    return 6; /* several virtual blocks each, and OS threads for a 2-core machine */
#else
    int dev = 0, per = 0;
    hipDeviceProp_t p;
    if (hipGetDevice(&dev) != hipSuccess || hipGetDeviceProperties(&p, dev) != hipSuccess) {
        (void)hipGetLastError();
        return 0;
    }
    hipError_t e = d == 32 ? hipOccupancyMaxActiveBlocksPerMultiprocessor(&per, (const void *)k_step<1>, PK_THREADS, shmem)
                 : d == 64 ? hipOccupancyMaxActiveBlocksPerMultiprocessor(&per, (const void *)k_step<2>, PK_THREADS, shmem)
                           : hipOccupancyMaxActiveBlocksPerMultiprocessor(&per, (const void *)k_step<4>, PK_THREADS, shmem);
    if (e != hipSuccess) {
        (void)hipGetLastError();
        return 0;
    }
    if (per_sm > 0 && per_sm < per)
        per = per_sm;
    return per * p.multiProcessorCount;
#endif
}

hipError_t kl_step(hipStream_t s, int d, int grid, size_t shmem, const pk_phase *ph, int n,
                   const gpu_io *io, unsigned *bar, unsigned long long *tm, int phases)
{
    void (*k)(const pk_phase *, int, int, const gpu_io *, unsigned *, unsigned long long *) =
        d == 32 ? k_step<1> : d == 64 ? k_step<2> : k_step<4>;
    if (phases) {
        for (int p = 0; p < n; p++)
            hipLaunchKernelGGL(k, dim3((unsigned)grid), dim3(PK_THREADS), shmem, s, ph, p,
                               p + 1, io, bar, (unsigned long long *)NULL);
        return hipGetLastError();
    }
#ifndef ZEVAL_GPU_EMU
    int p0 = 0;
    void *args[] = {(void *)&ph, (void *)&p0, (void *)&n, (void *)&io, (void *)&bar, (void *)&tm};
    return hipLaunchCooperativeKernel((const void *)k, dim3((unsigned)grid), dim3(PK_THREADS), args,
                                      (unsigned)shmem, s);
#else
    zemuLaunchCooperativeGGL(k, dim3((unsigned)grid), dim3(PK_THREADS), shmem, s, ph, 0, n, io,
                             bar, tm);
    return hipGetLastError();
#endif
}
