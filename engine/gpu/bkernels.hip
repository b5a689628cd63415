/*
 * bkernels.hip — the batched kernels (bkern.h): T tokens of many
 * sequences per step, over a paged K/V cache.
 *
 * The invariance bkern.h promises rests on three rules kept here: a
 * product's output is one thread's running sum over k in order; a
 * query's attention visits the same key tiles (aligned to absolute
 * positions) with the same masks whichever tokens share its block; and
 * nothing a token computes reads another token's values except through
 * the sequence's own cache and conv frames, which hold the same numbers
 * whichever step produced them.
 */
#include "bkern.h"
#include "kern_dev.h"

#include <stdlib.h>
#include <string.h>

enum { BV_THREADS = 256 };

/* ------------------------------------------------------------ products */

/* BN weight rows against a tile of TB token rows: thread (row group rg,
 * token tt) owns rows rg*RW .. +RW-1 of the block for token tt, each
 * output one running sum over k = 0, 1, ..., K-1 in order (fmaf), so the
 * launch shape (chosen from the step's token count) never changes a
 * value.  Weights (bf16, widened) and activations are staged through
 * shared memory BK columns at a time; each staged weight serves TB
 * tokens.  No lane exchanges: a sum is one thread's. */
/* Element k of a product's input row (silu(x[k]) * x[K + k] with swiglu):
 * one expression for every kernel, so every shape stages the same value. */
static __device__ __forceinline__ float bmm_x(const bgemm &p, int row, int k)
{
    const float *xr = p.x + (size_t)row * (size_t)p.ldx;
    if (!p.swiglu)
        return xr[k];
    float a = xr[k];
    return a / (1.0f + expf(-a)) * xr[p.K + k];
}

template <int BN, int TB, int BK>
__global__ void __launch_bounds__(BG_THREADS) k_bmm(bgemm p)
{
    constexpr int RW = BN * TB / BG_THREADS;
    __shared__ float ws[BN][BK + 1];
    __shared__ float xs[BK][TB];
    __shared__ int rowx[TB], rowy[TB];
    int n0 = (int)blockIdx.x * BN, tid = (int)threadIdx.x;
    const bf16 *w = p.w;
    int r0, nr;
    if (p.tiles) {
        int j = (int)blockIdx.y;
        if (j >= *p.ntiles)
            return;
        w += (size_t)p.tiles[3 * j] * p.estride;
        r0 = p.tiles[3 * j + 1];
        nr = p.tiles[3 * j + 2]; /* <= BG_BT == TB */
    } else {
        r0 = (int)blockIdx.y * TB;
        nr = p.T - r0 < TB ? p.T - r0 : TB;
    }
    if (tid < TB) {
        int r = r0 + tid;
        rowx[tid] = tid < nr ? (p.xidx ? p.xidx[r] : r) : -1;
        rowy[tid] = tid < nr ? (p.yidx ? p.yidx[r] : r) : -1;
    }
    __syncthreads();
    int tt = tid % TB, rg = tid / TB;
    float acc[RW];
    GPU_UNROLL
    for (int r = 0; r < RW; r++)
        acc[r] = 0.0f;
    for (int k0 = 0; k0 < p.K; k0 += BK) {
        for (int c = tid; c < BN * BK / 8; c += BG_THREADS) {
            int rr = c / (BK / 8), kk = c % (BK / 8) * 8, n = n0 + rr, k = k0 + kk;
            u32x4 v = {0, 0, 0, 0};
            if (n < p.N && k < p.K) /* K % 8 == 0 */
                v = *(const u32x4 *)(w + (size_t)n * (size_t)p.K + (size_t)k);
            float *d = &ws[rr][kk];
            d[0] = bits_f(v.a << 16), d[1] = bits_f(v.a & 0xffff0000u);
            d[2] = bits_f(v.b << 16), d[3] = bits_f(v.b & 0xffff0000u);
            d[4] = bits_f(v.c << 16), d[5] = bits_f(v.c & 0xffff0000u);
            d[6] = bits_f(v.d << 16), d[7] = bits_f(v.d & 0xffff0000u);
        }
        for (int c = tid; c < TB * BK; c += BG_THREADS) {
            int rr = c / BK, kk = c % BK, k = k0 + kk;
            xs[kk][rr] = rowx[rr] >= 0 && k < p.K ? bmm_x(p, rowx[rr], k) : 0.0f;
        }
        __syncthreads();
        int kn = p.K - k0 < BK ? p.K - k0 : BK;
        if (tt < nr)
            for (int kk = 0; kk < kn; kk++) {
                float xv = xs[kk][tt];
                GPU_UNROLL
                for (int r = 0; r < RW; r++)
                    acc[r] = fmaf(ws[rg * RW + r][kk], xv, acc[r]);
            }
        __syncthreads();
    }
    int ry = rowy[tt];
    if (ry < 0)
        return;
    float sc = p.yscale ? p.yscale[ry] : 1.0f;
    GPU_UNROLL
    for (int r = 0; r < RW; r++) {
        int n = n0 + rg * RW + r;
        if (n >= p.N)
            continue;
        float v = p.bias ? acc[r] + p.bias[n] : acc[r];
        p.y[(size_t)ry * (size_t)p.ldy + (size_t)n] = p.yscale ? v * sc : v;
    }
}

/* A product register-tiled: BN weight rows against TB tokens (BN * TB =
 * 16 * BG_THREADS: 128 x 32 for plain products of many tokens, 256 x 16
 * for the grouped expert tiles), thread (rg, tg) owning rows rg*4 .. +3
 * for tokens tg*4 .. +3 (16 sums).  Weights are staged transposed (ws[k][n])
 * and activations as xs[k][token], so a thread reads its 4 weights and 4
 * inputs of each k as two 16-byte loads (the warp's tokens are the same:
 * a broadcast) and makes 16 multiply-adds of them, against k_bmm's one
 * shared load per multiply-add.  Each output is still one thread's
 * running sum over k in order, so it equals k_bmm's bit for bit. */
enum { B4_BK = 32 };
template <int B4_BN, int B4_TB>
__global__ void __launch_bounds__(BG_THREADS) k_bmm4(bgemm p)
{
    static_assert(B4_BN / 4 * (B4_TB / 4) == BG_THREADS, "one thread per 4 x 4 sums");
    __shared__ __attribute__((aligned(16))) float ws[B4_BK][B4_BN];
    __shared__ __attribute__((aligned(16))) float xs[B4_BK][B4_TB];
    __shared__ int rowx[B4_TB], rowy[B4_TB];
    int n0 = (int)blockIdx.x * B4_BN, tid = (int)threadIdx.x;
    const bf16 *w = p.w;
    int r0, nr;
    if (p.tiles) {
        int j = (int)blockIdx.y;
        if (j >= *p.ntiles)
            return;
        w += (size_t)p.tiles[3 * j] * p.estride;
        r0 = p.tiles[3 * j + 1];
        nr = p.tiles[3 * j + 2]; /* <= BG_BT == B4_TB */
    } else {
        r0 = (int)blockIdx.y * B4_TB;
        nr = p.T - r0 < B4_TB ? p.T - r0 : B4_TB;
    }
    if (tid < B4_TB) {
        int r = r0 + tid;
        rowx[tid] = tid < nr ? (p.xidx ? p.xidx[r] : r) : -1;
        rowy[tid] = tid < nr ? (p.yidx ? p.yidx[r] : r) : -1;
    }
    __syncthreads();
    int rg = tid % (B4_BN / 4), tg = tid / (B4_BN / 4);
    float acc[4][4];
    GPU_UNROLL
    for (int j = 0; j < 4; j++)
        GPU_UNROLL
        for (int r = 0; r < 4; r++)
            acc[j][r] = 0.0f;
    for (int k0 = 0; k0 < p.K; k0 += B4_BK) {
        /* weights: a lane per row (consecutive rows: no bank conflicts on
         * the transposed stores), 8 k at a time */
        for (int c = tid; c < B4_BN * B4_BK / 8; c += BG_THREADS) {
            int rr = c % B4_BN, kk = c / B4_BN * 8, n = n0 + rr, k = k0 + kk;
            u32x4 v = {0, 0, 0, 0};
            if (n < p.N && k < p.K) /* K % 8 == 0 */
                v = *(const u32x4 *)(w + (size_t)n * (size_t)p.K + (size_t)k);
            ws[kk + 0][rr] = bits_f(v.a << 16), ws[kk + 1][rr] = bits_f(v.a & 0xffff0000u);
            ws[kk + 2][rr] = bits_f(v.b << 16), ws[kk + 3][rr] = bits_f(v.b & 0xffff0000u);
            ws[kk + 4][rr] = bits_f(v.c << 16), ws[kk + 5][rr] = bits_f(v.c & 0xffff0000u);
            ws[kk + 6][rr] = bits_f(v.d << 16), ws[kk + 7][rr] = bits_f(v.d & 0xffff0000u);
        }
        for (int c = tid; c < B4_TB * B4_BK; c += BG_THREADS) {
            int rr = c % B4_TB, kk = c / B4_TB, k = k0 + kk;
            xs[kk][rr] = rowx[rr] >= 0 && k < p.K ? bmm_x(p, rowx[rr], k) : 0.0f;
        }
        __syncthreads();
        int kn = p.K - k0 < B4_BK ? p.K - k0 : B4_BK;
        if (tg * 4 < nr)
            for (int kk = 0; kk < kn; kk++) {
                f32x4 w4 = *(const f32x4 *)&ws[kk][rg * 4];
                f32x4 x4 = *(const f32x4 *)&xs[kk][tg * 4];
                float wv[4] = {w4.a, w4.b, w4.c, w4.d}, xv[4] = {x4.a, x4.b, x4.c, x4.d};
                GPU_UNROLL
                for (int j = 0; j < 4; j++)
                    GPU_UNROLL
                    for (int r = 0; r < 4; r++)
                        acc[j][r] = fmaf(wv[r], xv[j], acc[j][r]);
            }
        __syncthreads();
    }
    GPU_UNROLL
    for (int j = 0; j < 4; j++) {
        int t = tg * 4 + j;
        int ry = t < nr ? rowy[t] : -1;
        if (ry < 0)
            continue;
        float sc = p.yscale ? p.yscale[ry] : 1.0f;
        GPU_UNROLL
        for (int r = 0; r < 4; r++) {
            int n = n0 + rg * 4 + r;
            if (n >= p.N)
                continue;
            float v = p.bias ? acc[j][r] + p.bias[n] : acc[j][r];
            p.y[(size_t)ry * (size_t)p.ldy + (size_t)n] = p.yscale ? v * sc : v;
        }
    }
}

/* ZEVAL_GPU_BMM=plain keeps k_bmm for every product (for
 * measuring k_bmm4 against it); the values are the same either way. */
static int bmm4_on(void)
{
    static int v = -1;
    if (v < 0) {
        const char *e = getenv("ZEVAL_GPU_BMM");
        v = !(e && strcmp(e, "plain") == 0);
    }
    return v;
}

/* Multiprocessors of device 0 (read once; 1 if unknown). */
static int sm_count(void)
{
    static int n = 0;
    if (n == 0) {
        hipDeviceProp_t pr;
        n = hipGetDeviceProperties(&pr, 0) == hipSuccess && pr.multiProcessorCount > 0
                ? pr.multiProcessorCount
                : 1;
        (void)hipGetLastError();
    }
    return n;
}

/* The shape of a product: the register-tiled kernel where its grid still
 * fills the device (it has 4 times fewer blocks than k_bmm for the
 * same product), k_bmm's narrower blocks where few tokens leave too few.
 * Every kernel gives the same values, so this choice is free. */
void kb_gemm(hipStream_t s, const bgemm *p)
{
    dim3 blk(BG_THREADS);
    if (p->tiles) {
        if (p->max_tiles <= 0)
            return;
        if (bmm4_on() && (p->N + 255) / 256 * p->max_tiles >= sm_count())
            hipLaunchKernelGGL((k_bmm4<256, BG_BT>), dim3((unsigned)((p->N + 255) / 256),
                               (unsigned)p->max_tiles), blk, 0, s, *p);
        else
            hipLaunchKernelGGL((k_bmm<64, BG_BT, 64>), dim3((unsigned)((p->N + 63) / 64),
                               (unsigned)p->max_tiles), blk, 0, s, *p);
        return;
    }
    if (p->T <= 0)
        return;
    /* The shape: one token, a row per thread (two shared loads per
     * multiply-add, as few as it gets for one token); more tokens, the
     * register-tiled kernel where its grid fills the device (its warps
     * without tokens skip the sums: two 16-byte loads per 16 multiply-adds
     * for those with), else fewer rows per block as more tokens share each
     * weight. */
    if (p->T == 1)
        hipLaunchKernelGGL((k_bmm<256, 1, 32>), dim3((unsigned)((p->N + 255) / 256), 1u), blk, 0, s,
                           *p);
    else if (bmm4_on() && (p->N + 127) / 128 * ((p->T + 31) / 32) >= sm_count())
        hipLaunchKernelGGL((k_bmm4<128, 32>), dim3((unsigned)((p->N + 127) / 128),
                           (unsigned)((p->T + 31) / 32)), blk, 0, s, *p);
    else if (p->T <= 4)
        hipLaunchKernelGGL((k_bmm<64, 4, 64>), dim3((unsigned)((p->N + 63) / 64), 1u), blk, 0, s,
                           *p);
    else
        hipLaunchKernelGGL((k_bmm<64, 16, 64>), dim3((unsigned)((p->N + 63) / 64),
                           (unsigned)((p->T + 15) / 16)), blk, 0, s, *p);
}

/* -------------------------------------------------- embedding and norms */

__global__ void k_bembed(const bf16 *embed, int H, btok t, const float *hs, const float *hb,
                         float *res)
{
    int i = (int)blockIdx.y, c = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    if (c >= H)
        return;
    float e = bf16f(embed[(size_t)t.tok[i] * (size_t)H + (size_t)c]);
    res[(size_t)i * H + c] = hs ? (e + hb[c]) * hs[c] : e;
}

void kb_embed(hipStream_t s, const bf16 *embed, int H, btok t, const float *hs, const float *hb,
              float *res)
{
    hipLaunchKernelGGL(k_bembed, dim3((unsigned)((H + 255) / 256), (unsigned)t.T), dim3(256), 0,
                       s, embed, H, t, hs, hb, res);
}

__global__ void __launch_bounds__(BV_THREADS) k_bnorm(int H, const float *res_in, const float *y,
                                                      float *res_out, float *xn, merge_w mw,
                                                      int merge, const float *norm, float eps)
{
    GPU_DYN_SHARED(float, xs);
    __shared__ float red[GPU_MAX_GROUPS];
    size_t o = (size_t)blockIdx.x * (size_t)H;
    float ss = 0.0f;
    for (int i = (int)threadIdx.x; i < H; i += (int)blockDim.x) {
        float r = res_in[o + i];
        if (merge)
            r = mw.hs ? (r + mw.rb[i]) * mw.rs[i] + (y[o + i] + mw.hb[i]) * mw.hs[i] : r + y[o + i];
        xs[i] = r;
        ss += r * r;
    }
    ss = block_sum(ss, red);
    float inv = 1.0f / sqrtf(ss / (float)H + eps);
    for (int i = (int)threadIdx.x; i < H; i += (int)blockDim.x) {
        float r = xs[i];
        res_out[o + i] = r;
        xn[o + i] = norm[i] * (r * inv);
    }
}

void kb_norm(hipStream_t s, int T, int H, const float *res_in, const float *y, float *res_out,
             float *xn, merge_w mw, int merge, const float *norm, float eps)
{
    hipLaunchKernelGGL(k_bnorm, dim3((unsigned)T), dim3(BV_THREADS), (size_t)H * sizeof(float), s,
                       H, res_in, y, res_out, xn, mw, merge, norm, eps);
}

/* ----------------------------------------------------------------- CCA */

/* Both convolutions of head group blockIdx.x (d channels) for the tokens
 * blockIdx.y * BC_TT ..: stage 1 (depthwise, K0 taps) of the K1 frames
 * each token needs into shared memory, the frames of this step's run
 * from u, older ones from the sequence's ring, none before position 0 (as
 * k_conv); then stage 2 (one dense d x K1*d filter per head), thread
 * (output o, token slot) summing over the K1*d inputs in order. */
enum { BC_TT = 8 };

__global__ void __launch_bounds__(BV_THREADS) k_bconv(cca_w w, int a, btok t, const float *u,
                                                      int ldu, const float *ring, int natt,
                                                      float *z)
{
    GPU_DYN_SHARED(float, ms); /* [BC_TT][K1*d] */
    int d = w.d, C = (w.nq + w.nk) * d, K0 = w.K0, K1 = w.K1, kd = K1 * d;
    int nh = K0 + K1 - 2, nr = nh + 1, g = (int)blockIdx.x, i0 = (int)blockIdx.y * BC_TT;
    int nt = t.T - i0 < BC_TT ? t.T - i0 : BC_TT;
    for (int idx = (int)threadIdx.x; idx < nt * kd; idx += (int)blockDim.x) {
        int tt = idx / kd, j = idx % kd, i = i0 + tt, f = j / d, c = g * d + j % d;
        int pos = t.pos[i], cs = t.cs[i];
        const float *rg = ring + ((size_t)t.seq[i] * natt + a) * (size_t)nr * C;
        float acc = w.conv0_b[c];
        for (int tap = 0; tap < K0; tap++) {
            int tp = pos - nh + f + tap;
            float uv = tp < 0     ? 0.0f
                       : tp >= cs ? u[(size_t)(i - (pos - tp)) * ldu + c]
                                  : rg[(size_t)(tp % nr) * C + c];
            acc += w.conv0_w[c * K0 + tap] * uv;
        }
        ms[idx] = acc; /* tap-major, as conv1_w's rows */
    }
    __syncthreads();
    int per = (int)blockDim.x / d; /* token slots per output channel */
    int o = (int)threadIdx.x % d, slot = (int)threadIdx.x / d;
    if (slot >= per)
        return;
    const bf16 *wr = w.conv1_w + (size_t)(g * d + o) * (size_t)kd;
    for (int tt = slot; tt < nt; tt += per) {
        const float *x = ms + (size_t)tt * kd;
        float acc = 0.0f;
        for (int j = 0; j < kd; j++)
            acc = fmaf(bf16f(wr[j]), x[j], acc);
        z[(size_t)(i0 + tt) * C + g * d + o] = acc + w.conv1_b[g * d + o];
    }
}

/* Head blockIdx.x of token blockIdx.y (as qk_head): mixing, L2 norm,
 * temperature, RoPE; the query to q, or key and value into the page. */
__global__ void __launch_bounds__(128) k_bhead(cca_w w, int a, btok t, const float *u, int ldu,
                                               const float *z, const float *vlast, int natt,
                                               float *q, bkv kv)
{
    __shared__ float red[GPU_MAX_GROUPS], vs[128];
    int b = (int)blockIdx.x, i = (int)blockIdx.y;
    int d = w.d, nq = w.nq, nk = w.nk, G = nq / nk, qw = nq * d, C = (nq + nk) * d;
    int e = (int)threadIdx.x, c = b * d + e, g = b < nq ? b / G : b - nq;
    int pos = t.pos[i], sq = t.seq[i];
    const float *ur = u + (size_t)i * ldu, *zr = z + (size_t)i * C;
    float v = 0.0f;
    if (e < d) {
        if (b < nq) {
            v = zr[c] + (ur[b * d + e] + ur[qw + g * d + e]) * 0.5f;
        } else {
            float ksum = 0.0f;
            for (int r = 0; r < G; r++)
                ksum += (ur[(g * G + r) * d + e] + ur[qw + g * d + e]) * 0.5f;
            v = zr[c] + ksum / (float)G;
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
        int j = e < half ? e : e - half;
        float an = (float)pos * w.inv_freq[j], cs = cosf(an), sn = sinf(an);
        v = e < half ? vs[e] * cs - vs[e + half] * sn : vs[e] * cs + vs[e - half] * sn;
    }
    if (b < nq) {
        q[(size_t)i * qw + c] = v;
        return;
    }
    int page = kv.bt[(size_t)sq * kv.max_pages + pos / kv.P];
    size_t at = ((((size_t)page * natt + a) * nk + g) * kv.P + (size_t)(pos % kv.P)) * d + e;
    kv.K[at] = v;
    int idx = g * d + e, hv = nk * d / 2;
    float vv;
    if (idx < hv)
        vv = ur[C + idx];
    else if (pos == 0)
        vv = 0.0f;
    else if (pos - 1 >= t.cs[i])
        vv = u[(size_t)(i - 1) * ldu + C + hv + (idx - hv)];
    else
        vv = vlast[((size_t)sq * natt + a) * hv + (idx - hv)];
    kv.V[at] = vv;
}

void kb_cca(hipStream_t s, const cca_w *w, int a, btok t, const float *u, int ldu,
            const float *ring, const float *vlast, int natt, float *z, float *q, bkv kv)
{
    hipLaunchKernelGGL(k_bconv, dim3((unsigned)(w->nq + w->nk), (unsigned)((t.T + BC_TT - 1) / BC_TT)),
                       dim3(BV_THREADS), (size_t)BC_TT * w->K1 * w->d * sizeof(float), s, *w, a, t,
                       u, ldu, ring, natt, z);
    hipLaunchKernelGGL(k_bhead, dim3((unsigned)(w->nq + w->nk), (unsigned)t.T), dim3(128), 0, s,
                       *w, a, t, u, ldu, z, vlast, natt, q, kv);
}

__global__ void k_bstate(cca_w w, int a, btok t, const float *u, int ldu, float *ring,
                         float *vlast, int natt)
{
    int i = (int)blockIdx.y, c = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    int C = (w.nq + w.nk) * w.d, hv = w.nk * w.d / 2, nr = w.K0 + w.K1 - 1;
    int pos = t.pos[i], ce = t.ce[i];
    size_t sa = (size_t)t.seq[i] * natt + a;
    const float *ur = u + (size_t)i * ldu;
    if (c < C) {
        if (pos > ce - nr)
            ring[(sa * nr + (size_t)(pos % nr)) * C + c] = ur[c];
    } else if (c < C + hv && pos == ce) {
        vlast[sa * hv + (c - C)] = ur[C + hv + (c - C)];
    }
}

void kb_cca_state(hipStream_t s, const cca_w *w, int a, btok t, const float *u, int ldu,
                  float *ring, float *vlast, int natt)
{
    int n = (w->nq + w->nk) * w->d + w->nk * w->d / 2;
    hipLaunchKernelGGL(k_bstate, dim3((unsigned)((n + 255) / 256), (unsigned)t.T), dim3(256), 0, s,
                       *w, a, t, u, ldu, ring, vlast, natt);
}

/* ----------------------------------------------------------- attention */

enum { BA_ROWS = 16, BA_GROUPS = BA_THREADS / GPU_LANES, BA_RPG = BA_ROWS / BA_GROUPS, BA_DMAX = 128 };

/* Work item blockIdx.x = (first token, tokens, split) for KV head
 * blockIdx.y: the tokens' G query heads (rows, at most BA_ROWS) over the
 * split's keys, a tile of BA_KT keys at a time from shared memory: lane j
 * scores key j of the tile against the row's query, the tile's maximum
 * rescales the row's running (max, sum, output), and the output adds the
 * tile's values weighted by the broadcast probabilities.  Keys after a
 * row's position are masked; tiles wholly after it are skipped. */
template <int DPL>
__global__ void __launch_bounds__(BA_THREADS) k_battn(int a, btok t, const int *work,
                                                      const int *nwork, const float *q, int nq,
                                                      bkv kv, float *part)
{
    const int d = GPU_LANES * DPL;
    __shared__ float kst[BA_DMAX][BA_KT + 1], vsm[BA_KT][BA_DMAX], qs[BA_ROWS][BA_DMAX];
    int wi = (int)blockIdx.x, g = (int)blockIdx.y, tid = (int)threadIdx.x;
    if (wi >= *nwork)
        return;
    int i0 = work[3 * wi], nt = work[3 * wi + 1], sp = work[3 * wi + 2];
    int nk = kv.nk, G = nq / nk, nrows = nt * G, natt = kv.natt;
    int grp = tid / GPU_LANES, lane = tid % GPU_LANES;
    int sq = t.seq[i0];
    for (int idx = tid; idx < nrows * d; idx += BA_THREADS) {
        int r = idx / d, e = idx % d;
        qs[r][e] = q[(size_t)(i0 + r / G) * nq * d + (size_t)(g * G + r % G) * d + e];
    }
    int k0 = sp * BA_SPL, maxpos = t.pos[i0 + nt - 1];
    int k1 = k0 + BA_SPL < maxpos + 1 ? k0 + BA_SPL : maxpos + 1;
    float inv_sqrtd = 1.0f / sqrtf((float)d);
    float o[BA_RPG][DPL], m[BA_RPG], l[BA_RPG];
    int qp[BA_RPG];
    GPU_UNROLL
    for (int k = 0; k < BA_RPG; k++) {
        int r = grp + BA_GROUPS * k;
        qp[k] = r < nrows ? t.pos[i0 + r / G] : -1;
        m[k] = -INFINITY;
        l[k] = 0.0f;
        GPU_UNROLL
        for (int e = 0; e < DPL; e++)
            o[k][e] = 0.0f;
    }
    for (int t0 = k0; t0 < k1; t0 += BA_KT) {
        __syncthreads();
        for (int idx = tid; idx < BA_KT * d; idx += BA_THREADS) {
            int j = idx / d, e = idx % d, key = t0 + j;
            float kvv = 0.0f, vvv = 0.0f;
            if (key < k1) {
                int page = kv.bt[(size_t)sq * kv.max_pages + key / kv.P];
                size_t at = ((((size_t)page * natt + a) * nk + g) * kv.P + (size_t)(key % kv.P)) *
                                (size_t)d + (size_t)e;
                kvv = kv.K[at];
                vvv = kv.V[at];
            }
            kst[e][j] = kvv;
            vsm[j][e] = vvv;
        }
        __syncthreads();
        GPU_UNROLL
        for (int k = 0; k < BA_RPG; k++) {
            int r = grp + BA_GROUPS * k;
            if (r >= nrows || t0 > qp[k])
                continue; /* the whole group alike */
            float sc = -INFINITY;
            if (t0 + lane <= qp[k]) {
                float dt = 0.0f;
                for (int e = 0; e < d; e++)
                    dt = fmaf(qs[r][e], kst[e][lane], dt);
                sc = dt * inv_sqrtd;
            }
            float mn = fmaxf(m[k], lanes_max(sc));
            float resc = expf(m[k] - mn), p = expf(sc - mn);
            l[k] = l[k] * resc + lanes_sum(p);
            GPU_UNROLL
            for (int e = 0; e < DPL; e++)
                o[k][e] *= resc;
            for (int j = 0; j < BA_KT; j++) {
                float pj = lanes_bcast(p, j);
                GPU_UNROLL
                for (int e = 0; e < DPL; e++)
                    o[k][e] = fmaf(pj, vsm[j][lane + GPU_LANES * e], o[k][e]);
            }
            m[k] = mn;
        }
    }
    GPU_UNROLL
    for (int k = 0; k < BA_RPG; k++) {
        int r = grp + BA_GROUPS * k;
        if (r >= nrows || k0 > qp[k])
            continue;
        int i = i0 + r / G, h = g * G + r % G;
        float *pp = part + ((size_t)(t.poff[i] + sp) * nq + h) * (size_t)(d + 2);
        if (lane == 0) {
            pp[0] = m[k];
            pp[1] = l[k];
        }
        GPU_UNROLL
        for (int e = 0; e < DPL; e++)
            pp[2 + lane + GPU_LANES * e] = o[k][e];
    }
}

/* Token blockIdx.x, query head blockIdx.y: its splits' partials merged in
 * split order. */
__global__ void k_bcombine(btok t, int nq, int d, const float *part, float *out)
{
    int i = (int)blockIdx.x, h = (int)blockIdx.y, e = (int)threadIdx.x;
    if (e >= d)
        return;
    int ns = t.pos[i] / BA_SPL + 1;
    const float *base = part + (size_t)t.poff[i] * nq * (size_t)(d + 2);
    float M = -INFINITY;
    for (int sp = 0; sp < ns; sp++)
        M = fmaxf(M, base[((size_t)sp * nq + h) * (d + 2)]);
    float L = 0.0f, O = 0.0f;
    for (int sp = 0; sp < ns; sp++) {
        const float *pp = base + ((size_t)sp * nq + h) * (d + 2);
        float f = expf(pp[0] - M);
        L += pp[1] * f;
        O += pp[2 + e] * f;
    }
    out[(size_t)i * nq * d + (size_t)h * d + e] = O / L;
}

void kb_attention(hipStream_t s, int a, btok t, const int *work, const int *nwork, int grid,
                  const float *q, int nq, bkv kv, float *part, float *out)
{
    if (grid > 0) {
        dim3 g((unsigned)grid, (unsigned)kv.nk), blk(BA_THREADS);
        switch (kv.d / GPU_LANES) {
        case 1: hipLaunchKernelGGL(k_battn<1>, g, blk, 0, s, a, t, work, nwork, q, nq, kv, part); break;
        case 2: hipLaunchKernelGGL(k_battn<2>, g, blk, 0, s, a, t, work, nwork, q, nq, kv, part); break;
        default: hipLaunchKernelGGL(k_battn<4>, g, blk, 0, s, a, t, work, nwork, q, nq, kv, part); break;
        }
    }
    hipLaunchKernelGGL(k_bcombine, dim3((unsigned)t.T, (unsigned)nq), dim3(128), 0, s, t, nq,
                       kv.d, part, out);
}

/* ---------------------------------------------------------------- MoE */

__global__ void __launch_bounds__(BV_THREADS) k_brouter(router_w w, float *r, float *eda,
                                                        int *sel, float *gate)
{
    GPU_DYN_SHARED(float, sm);
    __shared__ float red[GPU_MAX_GROUPS];
    size_t i = blockIdx.x;
    router_block(w, r + i * w.R, eda + i * w.R, sel + i, gate + i, sm, red);
}

void kb_router(hipStream_t s, const router_w *w, int T, float *r, float *eda, int *sel,
               float *gate)
{
    hipLaunchKernelGGL(k_brouter, dim3((unsigned)T), dim3(BV_THREADS),
                       (size_t)(3 * w->R + w->S) * sizeof(float), s, *w, r, eda, sel, gate);
}

enum { BS_MAX = 64 };

__global__ void __launch_bounds__(1024) k_bsort(int T, int S, int E, const int *sel, int *perm,
                                                int *tiles, int *ntiles, unsigned long long *hist)
{
    __shared__ int cnt[BS_MAX], off[BS_MAX + 1], cur[BS_MAX];
    int tid = (int)threadIdx.x;
    if (tid < S)
        cnt[tid] = cur[tid] = 0;
    __syncthreads();
    for (int i = tid; i < T; i += (int)blockDim.x)
        atomicAdd(&cnt[sel[i]], 1);
    __syncthreads();
    if (tid == 0) {
        int nt = 0;
        off[0] = 0;
        for (int e = 0; e < S; e++) {
            off[e + 1] = off[e] + cnt[e];
            hist[e] += (unsigned long long)cnt[e];
        }
        for (int e = 0; e < E; e++)
            for (int s0 = 0; s0 < cnt[e]; s0 += BG_BT, nt++) {
                tiles[3 * nt] = e;
                tiles[3 * nt + 1] = off[e] + s0;
                tiles[3 * nt + 2] = cnt[e] - s0 < BG_BT ? cnt[e] - s0 : BG_BT;
            }
        *ntiles = nt;
    }
    __syncthreads();
    /* Placement order within an expert does not change any row's value. */
    for (int i = tid; i < T; i += (int)blockDim.x) {
        int e = sel[i];
        perm[off[e] + atomicAdd(&cur[e], 1)] = i;
    }
}

void kb_sort(hipStream_t s, int T, int S, int E, const int *sel, int *perm, int *tiles,
             int *ntiles, unsigned long long *hist)
{
    hipLaunchKernelGGL(k_bsort, dim3(1), dim3(1024), 0, s, T, S, E, sel, perm, tiles, ntiles, hist);
}

__global__ void k_bskip(int H, int E, const int *sel, const float *gate, const float *xn,
                        int skip_zero, float *y)
{
    int i = (int)blockIdx.y, c = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    if (c >= H || sel[i] < E)
        return;
    size_t o = (size_t)i * H + c;
    y[o] = skip_zero ? 0.0f : gate[i] * xn[o];
}

void kb_skip(hipStream_t s, int T, int H, int E, const int *sel, const float *gate,
             const float *xn, int skip_zero, float *y)
{
    hipLaunchKernelGGL(k_bskip, dim3((unsigned)((H + 255) / 256), (unsigned)T), dim3(256), 0, s, H,
                       E, sel, gate, xn, skip_zero, y);
}

/* ------------------------------------------------- argmax and sampling */

/* A float's order as an unsigned key (larger float, larger key; -0 as +0,
 * since the two are equal logits). */
static __device__ unsigned flt_key(float f)
{
    unsigned u;
    f = f == 0.0f ? 0.0f : f;
    memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : u | 0x80000000u;
}

/* The sum of v over the block's 1024 threads, in a fixed order; every
 * thread gets it. */
static __device__ double dsum(double v, double *sd)
{
    int tid = (int)threadIdx.x;
    __syncthreads();
    sd[tid] = v;
    __syncthreads();
    for (int w = 512; w > 0; w >>= 1) {
        if (tid < w)
            sd[tid] += sd[tid + w];
        __syncthreads();
    }
    double r = sd[0];
    __syncthreads();
    return r;
}

/* Row j: the lowest index of its largest value below its limit, or, where
 * sp[j].inv_t > 0, a draw by smp_sample's rule without filters: candidates
 * are the ids with p = exp((x - max) * inv_t) >= 1e-12, walked by
 * decreasing p (lower id first on ties), and the draw is the first whose
 * running mass passes u * the total.  The walk's place is found without
 * sorting: 8 passes fix the crossing logit's key 4 bits at a time (16
 * bucket masses per pass), then a scan in id order runs over the logits
 * equal to it.  Every sum has a fixed order, so a row's draw does not
 * depend on the other rows. */
__global__ void __launch_bounds__(1024) k_bpick(const float *x, int n, const int *n_valid,
                                                const bsamp *sp, int *out)
{
    __shared__ float bv[1024];
    __shared__ int bi[1024];
    __shared__ double sd[1024];
    __shared__ int bj[1024];
    int row = (int)blockIdx.x, tid = (int)threadIdx.x;
    int lim = n_valid[row] > 0 && n_valid[row] < n ? n_valid[row] : n;
    const float *xr = x + (size_t)row * n;
    float v = -INFINITY;
    int idx = lim;
    for (int i = tid; i < lim; i += (int)blockDim.x) {
        float xi = xr[i];
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
    int best = bi[0] < lim ? bi[0] : 0;
    double inv_t = sp ? sp[row].inv_t : 0.0;
    if (!(inv_t > 0.0)) {
        if (tid == 0)
            out[row] = best;
        return;
    }
    double mx = (double)bv[0], cut = log(1e-12);
    /* the total mass, then the crossing key, 4 bits a pass */
    double m = 0.0;
    for (int i = tid; i < lim; i += 1024) {
        double z = ((double)xr[i] - mx) * inv_t;
        m += z >= cut ? exp(z) : 0.0;
    }
    double target = sp[row].u * dsum(m, sd), before = 0.0;
    unsigned key = 0;
    for (int sh = 28; sh >= 0; sh -= 4) {
        double bm[16];
        for (int d = 0; d < 16; d++)
            bm[d] = 0.0;
        for (int i = tid; i < lim; i += 1024) {
            unsigned k = flt_key(xr[i]);
            if (sh < 28 && (k >> (sh + 4)) != (key >> (sh + 4)))
                continue;
            double z = ((double)xr[i] - mx) * inv_t;
            if (z >= cut)
                bm[(k >> sh) & 15] += exp(z);
        }
        int pick = -1, last = -1;
        double lastm = 0.0;
        for (int d = 15; d >= 0; d--) {
            double t = dsum(bm[d], sd);
            if (pick >= 0 || t <= 0.0)
                continue;
            last = d;
            lastm = t;
            if (before + t > target)
                pick = d;
            else
                before += t;
        }
        if (pick < 0) { /* rounding: the last bucket with mass */
            pick = last >= 0 ? last : 0;
            before -= lastm;
        }
        key |= (unsigned)pick << sh;
    }
    /* the logits equal to the crossing key, in id order: the first whose
     * running mass passes the target, else (rounding) the last of them */
    int hit = lim, lastid = -1;
    for (int c0 = 0; c0 < lim && hit == lim; c0 += 1024) {
        int i = c0 + tid;
        double p = 0.0;
        if (i < lim && flt_key(xr[i]) == key) {
            double z = ((double)xr[i] - mx) * inv_t;
            p = z >= cut ? exp(z) : 0.0;
        }
        sd[tid] = p;
        __syncthreads();
        for (int w = 1; w < 1024; w <<= 1) { /* inclusive scan, fixed order */
            double o = tid >= w ? sd[tid - w] : 0.0;
            __syncthreads();
            sd[tid] += o;
            __syncthreads();
        }
        bi[tid] = p > 0.0 && before + sd[tid] > target ? i : lim;
        bj[tid] = p > 0.0 ? i : -1;
        double chunk = sd[1023];
        __syncthreads();
        for (int w = 512; w > 0; w >>= 1) {
            if (tid < w) {
                bi[tid] = bi[tid + w] < bi[tid] ? bi[tid + w] : bi[tid];
                bj[tid] = bj[tid + w] > bj[tid] ? bj[tid + w] : bj[tid];
            }
            __syncthreads();
        }
        hit = bi[0];
        lastid = bj[0] > lastid ? bj[0] : lastid;
        before += chunk;
        __syncthreads();
    }
    if (tid == 0)
        out[row] = hit < lim ? hit : lastid >= 0 ? lastid : best;
}

void kb_argmax(hipStream_t s, int rows, const float *x, int n, const int *n_valid,
               const bsamp *sp, int *out)
{
    if (rows > 0)
        hipLaunchKernelGGL(k_bpick, dim3((unsigned)rows), dim3(1024), 0, s, x, n, n_valid, sp, out);
}
