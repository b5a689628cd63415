/*
 * kernels.hip — the decode-step kernels of the HIP backend (kern.h).
 *
 * One dialect for AMD, NVIDIA and the CPU emulation (gpu_compat.h).
 * Products are bf16 weights times f32 activations with f32 accumulation:
 * a group of 32 threads owns one output row, each thread reading 8
 * weights (16 bytes) per load, and the group's partial sums are reduced
 * by a butterfly.  Reductions over a block go through lanes_sum and one
 * shared slot per group, summed in group order by every thread, so every
 * result is a fixed-order computation (the same on every run).
 */
#include "kern_dev.h"

#include <string.h>

/* ------------------------------------------------------------ launches */

/* With gpu_pdl set (ZEVAL_GPU_PDL=1, read by gpu_open) the kernels of
 * this file are launched with programmatic dependent launch on NVIDIA:
 * each lets the next start at once (GPU_DEP_LAUNCH) and waits for the one
 * before (GPU_DEP_WAIT) only where it first needs its results, so a
 * kernel's launch and its first weight loads overlap the end of the one
 * before.  Elsewhere a plain launch. */
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

/* -------------------------------------------------- embedding and norms */

__global__ void k_embed(const bf16 *embed, int H, const gpu_io *io, const float *hs,
                        const float *hb, float *res)
{
    GPU_DEP_LAUNCH();
    GPU_DEP_WAIT();
    int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    if (i >= H)
        return;
    float e = bf16f(embed[(size_t)io->token * (size_t)H + (size_t)i]);
    res[i] = hs ? (e + hb[i]) * hs[i] : e;
}

void kl_embed(hipStream_t s, const bf16 *embed, int H, const gpu_io *io, const float *hs,
              const float *hb, float *res)
{
    KL_LAUNCH(k_embed, dim3((unsigned)((H + 255) / 256)), dim3(256), 0, s, embed, H, io,
                       hs, hb, res);
}

__global__ void __launch_bounds__(1024) k_router(router_w w, float *r, float *eda, int *sel,
                                                float *gate)
{
    GPU_DYN_SHARED(float, sm);
    __shared__ float red[GPU_MAX_GROUPS];
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

enum { GV_THREADS = 256, GV_ROWS = GV_THREADS / GPU_LANES };

/* Block b of a gemv_set launch: product m (first blocks of product i at
 * b0[i]), output rows from (b - b0[m]) * GV_ROWS. */
typedef struct {
    int b0[GEMV_SET + 1];
} gemv_blocks;

template <bool TAIL>
__global__ void __launch_bounds__(GV_THREADS) k_gemv(gemv_set set, gemv_blocks bl, const float *x,
                                                     int cols, norm_in nin, int use_norm,
                                                     const gpu_io *io, router_tail rt)
{
    GPU_DYN_SHARED(float, xs);
    __shared__ float red[GPU_MAX_GROUPS];
    __shared__ int last;
    int b = (int)blockIdx.x;
    /* The product this block works on (selected without indexing the
     * parameter arrays at run time, which would move them to local
     * memory). */
    const bf16 *w = set.w[0];
    const float *bias = set.bias[0];
    float *y = set.y[0];
    int rows = set.rows[0], ps = set.pslot[0], first = bl.b0[0];
    if (set.n > 1 && b >= bl.b0[1]) {
        w = set.w[1], bias = set.bias[1], y = set.y[1], rows = set.rows[1], ps = set.pslot[1];
        first = bl.b0[1];
    }
    if (set.n > 2 && b >= bl.b0[2]) {
        w = set.w[2], bias = set.bias[2], y = set.y[2], rows = set.rows[2], ps = set.pslot[2];
        first = bl.b0[2];
    }
    if (set.n > 3 && b >= bl.b0[3]) {
        w = set.w[3], bias = set.bias[3], y = set.y[3], rows = set.rows[3], ps = set.pslot[3];
        first = bl.b0[3];
    }
    int lane = (int)threadIdx.x % GPU_LANES;
    int row = (b - first) * GV_ROWS + (int)threadIdx.x / GPU_LANES;
    int live = set.n > 0 && row < rows; /* the whole group or none of it */
    const bf16 *wr = w + (size_t)(live ? row : 0) * (size_t)cols;
    /* The first weights are on their way while the input is computed. */
    u32x4 w0 = {0, 0, 0, 0};
    if (live && lane * 8 < cols)
        w0 = *(const u32x4 *)(wr + lane * 8);
    GPU_DEP_LAUNCH();
    GPU_DEP_WAIT(); /* the inputs are the kernel before's */
    if (use_norm) { /* the sub-layer input, computed by every block */
        float ss = 0.0f;
        for (int i = (int)threadIdx.x; i < cols; i += (int)blockDim.x) {
            float r = nin.res_in[i];
            if (nin.merge)
                r = nin.mw.hs ? (r + nin.mw.rb[i]) * nin.mw.rs[i] + (nin.y[i] + nin.mw.hb[i]) * nin.mw.hs[i]
                              : r + nin.y[i];
            xs[i] = r;
            ss += r * r;
        }
        ss = block_sum(ss, red);
        float inv = 1.0f / sqrtf(ss / (float)cols + nin.eps);
        for (int i = (int)threadIdx.x; i < cols; i += (int)blockDim.x) {
            float r = xs[i], v = nin.norm[i] * (r * inv);
            xs[i] = v;
            if (b == 0) {
                nin.res_out[i] = r;
                nin.xn[i] = v;
            }
        }
        __syncthreads();
        x = xs;
    }
    if (set.n == 0)
        return; /* kl_norm: the input only */
    if (live) {
        float acc = row_dot_from(w0, wr, x, cols, lane);
        if (ps)
            y += (size_t)((io->pos + 1) & 1) * (size_t)ps;
        if (lane == 0)
            y[row] = bias ? acc + bias[row] : acc;
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
                        const norm_in *nin, const gpu_io *io, const router_tail *tail)
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
    if (tail)
        KL_LAUNCH(k_gemv<true>, dim3(nb), dim3(GV_THREADS), sh * sizeof(float), s, *set,
                           bl, x, cols, nin ? *nin : none, nin != NULL, io, *tail);
    else
        KL_LAUNCH(k_gemv<false>, dim3(nb), dim3(GV_THREADS), sh * sizeof(float), s, *set,
                           bl, x, cols, nin ? *nin : none, nin != NULL, io, off);
}

void kl_gemv(hipStream_t s, const gemv_set *set, const float *x, int cols, const norm_in *nin,
             const gpu_io *io)
{
    gemv_launch(s, set, x, cols, nin, io, NULL);
}

void kl_gemv_router(hipStream_t s, const gemv_set *set, const norm_in *nin, int cols,
                    const gpu_io *io, const router_tail *tail)
{
    gemv_launch(s, set, NULL, cols, nin, io, tail);
}

void kl_norm(hipStream_t s, const norm_in *nin, int H)
{
    gemv_set none;
    memset(&none, 0, sizeof none);
    kl_gemv(s, &none, NULL, H, nin, NULL);
}

__global__ void __launch_bounds__(GV_THREADS) k_gemv_expert(const bf16 *all, const int *sel,
                                                            int E, int rows, int cols,
                                                            const float *x, float *y)
{
    GPU_DEP_LAUNCH();
    GPU_DEP_WAIT();
    int e = *sel;
    if (e < 0 || e >= E)
        return;
    int lane = (int)threadIdx.x % GPU_LANES;
    int row = (int)blockIdx.x * GV_ROWS + (int)threadIdx.x / GPU_LANES;
    if (row >= rows)
        return;
    const bf16 *w = all + (size_t)e * (size_t)rows * (size_t)cols;
    float acc = row_dot(w + (size_t)row * (size_t)cols, x, cols, lane);
    if (lane == 0)
        y[row] = acc;
}

void kl_gemv_expert(hipStream_t s, const bf16 *all, const int *sel, int E, int rows,
                    int cols, const float *x, float *y)
{
    KL_LAUNCH(k_gemv_expert, dim3((unsigned)((rows + GV_ROWS - 1) / GV_ROWS)),
                       dim3(GV_THREADS), 0, s, all, sel, E, rows, cols, x, y);
}

__global__ void __launch_bounds__(GV_THREADS) k_expert_down(const bf16 *all, const int *sel,
                                                            int E, int H, int I, const float *a,
                                                            const float *gate, const float *xn,
                                                            int skip_zero, float *y)
{
    GPU_DYN_SHARED(float, act);
    GPU_DEP_LAUNCH();
    GPU_DEP_WAIT();
    int e = *sel;
    float g = *gate;
    int lane = (int)threadIdx.x % GPU_LANES;
    int row = (int)blockIdx.x * GV_ROWS + (int)threadIdx.x / GPU_LANES;
    if (e < 0 || e >= E) { /* the skip slot */
        if (row < H && lane == 0)
            y[row] = skip_zero ? 0.0f : g * xn[row];
        return;
    }
    for (int i = (int)threadIdx.x; i < I; i += (int)blockDim.x) {
        act[i] = silu_mul(a[i], a[I + i]);
    }
    __syncthreads();
    if (row >= H)
        return;
    const bf16 *w = all + (size_t)e * (size_t)H * (size_t)I;
    float acc = row_dot(w + (size_t)row * (size_t)I, act, I, lane);
    if (lane == 0)
        y[row] = g * acc;
}

void kl_expert_down(hipStream_t s, const bf16 *all, const int *sel, int E, int H, int I,
                    const float *a, const float *gate, const float *xn, int skip_zero, float *y)
{
    KL_LAUNCH(k_expert_down, dim3((unsigned)((H + GV_ROWS - 1) / GV_ROWS)),
                       dim3(GV_THREADS), (size_t)I * sizeof(float), s, all, sel, E, H, I, a, gate,
                       xn, skip_zero, y);
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

/* Both convolutions for the token at io->pos, as a product: block b
 * computes output channels b*GV_ROWS .. +GV_ROWS-1 (all in head group g),
 * first stage 1 (depthwise) of group g's d channels for the K1 frames
 * pos-K1+1 .. pos into shared memory (frame f reads raw projections
 * pos-nh+f .. pos-nh+f+K0-1: zero before the sequence, the current one
 * from u, older ones from the ring), then stage 2 (grouped, one dense
 * d x K1*d filter per head) as row products into z.  The last of head g's
 * d/GV_ROWS blocks to finish (count[g]) then finishes the head (qk_head)
 * and resets count[g].  No block reads the ring slot qk_head writes. */
__global__ void __launch_bounds__(GV_THREADS) k_conv(cca_w w, const gpu_io *io, const float *u,
                                                     float *ring, float *z, const float *vc,
                                                     const float *vd, float *q, float *Kc,
                                                     float *Vc, int *count)
{
    GPU_DYN_SHARED(float, ms);
    __shared__ float red[GPU_MAX_GROUPS], vs[128];
    __shared__ int last;
    GPU_DEP_LAUNCH();
    GPU_DEP_WAIT();
    int d = w.d, C = (w.nq + w.nk) * d, K0 = w.K0, K1 = w.K1, kd = K1 * d;
    int nh = K0 + K1 - 2, nr = nh + 1, pos = io->pos;
    int o0 = (int)blockIdx.x * GV_ROWS, g = o0 / d;
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
    float acc = row_dot(w.conv1_w + (size_t)o * (size_t)kd, ms, kd, lane);
    if (lane == 0)
        z[o] = acc + w.conv1_b[o];
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) {
        __threadfence();
        last = atomicAdd(&count[g], 1) == d / GV_ROWS - 1;
    }
    __syncthreads();
    if (!last)
        return;
    __threadfence();
    qk_head(w, g, pos, u, z, ring, vc, vd, q, Kc, Vc, vs, red);
    if (threadIdx.x == 0)
        count[g] = 0;
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
       ATT_TILE = GPU_LANES, ATT_MIN_CHUNK = ATT_GROUPS * ATT_TILE };

/* Block (g, split): keys [split*chunk, (split+1)*chunk) of the context,
 * chunk = max(ceil(ctx / ATT_SPLITS), ATT_MIN_CHUNK), for the G query
 * heads of KV head g.  Each group of 32 threads takes tiles of 32 keys
 * (tiles grp, grp + ATT_GROUPS, ... of the chunk): lane j scores key j of
 * the tile against the G queries (its K row read straight from memory,
 * the queries from shared memory), the tile's maximum and sum rescale the
 * group's running (max, sum, output) once per tile, and the output adds
 * the tile's V rows (read whole by the group, DPL dimensions a lane)
 * weighted by the broadcast probabilities.  The groups merge into one
 * partial (max, sum, unnormalised output) per head at
 * part[(split*nq + h)*(d+2)].  The last block of head g to finish (counted
 * in count[g]) combines the used splits' partials of its G heads into
 * out, every split's weight computed once, and resets count[g]. */
template <int DPL>
__global__ void __launch_bounds__(ATT_THREADS) k_attn(const float *q, const float *Kc,
                                                      const float *Vc, int nq, int nk, int cap,
                                                      const gpu_io *io, float *part, int *count,
                                                      float *out)
{
    const int d = GPU_LANES * DPL;
    __shared__ __attribute__((aligned(16))) float qs[ATT_GMAX][GPU_LANES * DPL];
    __shared__ float sm_m[ATT_GROUPS][ATT_GMAX], sm_l[ATT_GROUPS][ATT_GMAX];
    __shared__ float sm_o[ATT_GROUPS][ATT_GMAX][GPU_LANES * DPL];
    __shared__ float fs[ATT_GMAX][ATT_SPLITS], ls[ATT_GMAX];
    __shared__ int last;
    GPU_DEP_LAUNCH();
    GPU_DEP_WAIT();
    int g = (int)blockIdx.x, split = (int)blockIdx.y, G = nq / nk;
    int grp = (int)threadIdx.x / GPU_LANES, lane = (int)threadIdx.x % GPU_LANES;
    int ctx = io->pos + 1, chunk = (ctx + ATT_SPLITS - 1) / ATT_SPLITS;
    chunk = chunk < ATT_MIN_CHUNK ? ATT_MIN_CHUNK : chunk;
    int nsp = (ctx + chunk - 1) / chunk;
    if (split < nsp) {
        int t0 = split * chunk, t1 = t0 + chunk < ctx ? t0 + chunk : ctx;
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
        const float *Kg = Kc + (size_t)g * (size_t)cap * (size_t)d;
        const float *Vg = Vc + (size_t)g * (size_t)cap * (size_t)d;
        for (int ts = t0 + grp * ATT_TILE; ts < t1; ts += ATT_GROUPS * ATT_TILE) {
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
            float *pp = part + ((size_t)split * nq + (size_t)(g * G + h)) * (size_t)(d + 2);
            if (e == 0) {
                pp[0] = M;
                pp[1] = L;
            }
            pp[2 + e] = O;
        }
    }
    /* Publish the partial; the last block of head g combines. */
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) {
        __threadfence();
        last = atomicAdd(&count[g], 1) == ATT_SPLITS - 1;
    }
    __syncthreads();
    if (!last)
        return;
    __threadfence();
    /* each head's split weights once (group h: lanes over the splits) */
    for (int h = grp; h < G; h += ATT_GROUPS) {
        const float *ph = part + (size_t)(g * G + h) * (size_t)(d + 2);
        float M = -INFINITY;
        for (int sp = lane; sp < nsp; sp += GPU_LANES)
            M = fmaxf(M, ph[(size_t)sp * nq * (d + 2)]);
        M = lanes_max(M);
        float L = 0.0f;
        for (int sp = lane; sp < nsp; sp += GPU_LANES) {
            float ms = ph[(size_t)sp * nq * (d + 2)];
            float f = ms == -INFINITY ? 0.0f : expf(ms - M);
            fs[h][sp] = f;
            L += ph[(size_t)sp * nq * (d + 2) + 1] * f;
        }
        L = lanes_sum(L);
        if (lane == 0)
            ls[h] = L;
    }
    __syncthreads();
    for (int idx = (int)threadIdx.x; idx < G * d; idx += ATT_THREADS) {
        int h = idx / d, e = idx % d;
        const float *pe = part + (size_t)(g * G + h) * (size_t)(d + 2) + 2 + (size_t)e;
        float O = 0.0f;
        GPU_UNROLL4
        for (int sp = 0; sp < nsp; sp++)
            O = fmaf(pe[(size_t)sp * nq * (d + 2)], fs[h][sp], O);
        out[(size_t)(g * G + h) * d + e] = O / ls[h];
    }
    if (threadIdx.x == 0)
        count[g] = 0;
}

void kl_attention(hipStream_t s, const float *q, const float *Kc, const float *Vc, int nq, int nk,
                  int d, int cap, const gpu_io *io, float *part, int *count, float *out)
{
    dim3 grid((unsigned)nk, ATT_SPLITS), blk(ATT_THREADS);
    switch (d / GPU_LANES) {
    case 1: KL_LAUNCH(k_attn<1>, grid, blk, 0, s, q, Kc, Vc, nq, nk, cap, io, part, count, out); break;
    case 2: KL_LAUNCH(k_attn<2>, grid, blk, 0, s, q, Kc, Vc, nq, nk, cap, io, part, count, out); break;
    default: KL_LAUNCH(k_attn<4>, grid, blk, 0, s, q, Kc, Vc, nq, nk, cap, io, part, count, out); break; /* d = 128 */
    }
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
