/*
 * bkernels.hip — the batched kernels (bkern.h): T tokens of many
 * sequences per step, over a paged K/V cache.
 *
 * The invariance bkern.h promises rests on three rules kept here: a
 * product's output is made by a sequence of operations fixed by its row
 * and K alone (one thread's running sum over k in order, or k_bmma's
 * fixed order of tile products); a
 * query's attention visits the same key tiles (aligned to absolute
 * positions) with the same masks, in the same order, whichever tokens
 * share its block (or in a warp of its own, k_battn_w); and
 * nothing a token computes reads another token's values except through
 * the sequence's own cache and conv frames, which hold the same numbers
 * whichever step produced them.
 */
#include "bkern.h"
#include "gblas.h"
#include "gpu.h"
#include "kern_dev.h"

#include <limits.h>
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
/* Element k of a product's input row (silu(x[k]) * x[K + k] with swiglu). */
static __device__ __forceinline__ float bmm_x(const bgemm &p, int row, int k)
{
    const float *xr = p.x + (size_t)row * (size_t)p.ldx;
    if (!p.swiglu)
        return xr[k];
    return silu_mul(xr[k], xr[p.K + k]);
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

/* A product on tensor cores (mma_bf16_16816): a block of BM_GROUPS
 * 32-lane groups computes 16 * MT weight rows for a tile of 8 * NT tokens.
 *
 * Operands.  The weights are bf16 already.  An activation x is split into
 * three bf16, x0 = bf16(x), x1 = bf16(x - x0), x2 = bf16(x - x0 - x1),
 * whose sum is x itself (24 significant bits; only inputs below 2^-110
 * or so lose bits, to underflow), and every tile product is made three
 * times, x0, x1, x2: f32 inputs on bf16 tensor cores.  Lane t of a row
 * group loads columns 8t .. 8t+7 of each 32-column chunk of its rows (one
 * 16-byte load per row and chunk, straight from memory: no staging) and
 * of its tokens' inputs; the two tile products of the chunk take them as
 * k = 2t, 2t+1,
 * 2t+8, 2t+9 (columns 8t .. 8t+3, then 8t+4 .. 8t+7).  That renames k the
 * same way in both operands, so each sum is still the sum of its row's
 * products.  Chunks go in rounds of PD, the next round's weights loaded
 * during this one: PD = 4 for the small grids of few tokens, whose groups
 * must each keep more bytes in flight.
 *
 * Order.  Group w takes chunks w, w + BM_GROUPS, ... in increasing order
 * (per chunk: first half x0, x1, x2, second half x0, x1, x2), and the
 * groups' sums are added in group order at the end.  An output's arithmetic is
 * thus fixed by its row, its token's inputs and K alone: the same for
 * every MT and NT, token count, tile position and neighbour, so kb_gemm
 * may pick the shape from the token count and stay batch-invariant. */
enum { BM_GROUPS = 4, BM_KC = 32, BM_SPLIT = 3 };

/* Two inputs as BM_SPLIT words of two bf16 each (the parts, largest
 * first). */
static __device__ __forceinline__ void bm_split(float u, float v, uint32_t out[BM_SPLIT])
{
    GPU_UNROLL
    for (int i = 0; i < BM_SPLIT; i++) {
        bf16 a = f2bf16(u), b = f2bf16(v);
        out[i] = bf16x2(a, b);
        u -= bf16f(a);
        v -= bf16f(b);
    }
}

/* Inputs k .. k+7 of row `row` (bmm_x's values) as split words for the
 * two halves of a chunk: xs[h][0][] = columns 4h, 4h+1, xs[h][1][] =
 * 4h+2, 4h+3.  Zeros for no row or k >= K. */
static __device__ __forceinline__ void bm_x(const bgemm &p, int row, int k,
                                            uint32_t xs[2][2][BM_SPLIT])
{
    float v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    if (row >= 0 && k < p.K) {
        const float *xr = p.x + (size_t)row * (size_t)p.ldx + k;
        f32x4 a = *(const f32x4 *)xr, b = *(const f32x4 *)(xr + 4);
        v[0] = a.a, v[1] = a.b, v[2] = a.c, v[3] = a.d;
        v[4] = b.a, v[5] = b.b, v[6] = b.c, v[7] = b.d;
        if (p.swiglu) {
            f32x4 c = *(const f32x4 *)(xr + p.K), d = *(const f32x4 *)(xr + p.K + 4);
            float u[8] = {c.a, c.b, c.c, c.d, d.a, d.b, d.c, d.d};
            GPU_UNROLL
            for (int i = 0; i < 8; i++)
                v[i] = silu_mul(v[i], u[i]);
        }
    }
    GPU_UNROLL
    for (int h = 0; h < 2; h++) {
        bm_split(v[4 * h], v[4 * h + 1], xs[h][0]);
        bm_split(v[4 * h + 2], v[4 * h + 3], xs[h][1]);
    }
}

/* p.split: product row r's inputs (x row xidx[r] or r, through bm_x) as
 * K/8 octets of 3 x 4 words: part i of an octet is xs[0][0][i],
 * xs[0][1][i], xs[1][0][i], xs[1][1][i]. */
__global__ void k_bsplit(bgemm p)
{
    int r = (int)blockIdx.y, o = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    if (o >= p.K / 8)
        return;
    uint32_t xs[2][2][BM_SPLIT];
    bm_x(p, p.xidx ? p.xidx[r] : r, 8 * o, xs);
    u32x4 *d = (u32x4 *)(p.split + ((size_t)r * (size_t)(p.K / 8) + (size_t)o) * 4 * BM_SPLIT);
    GPU_UNROLL
    for (int i = 0; i < BM_SPLIT; i++) {
        u32x4 v = {xs[0][0][i], xs[0][1][i], xs[1][0][i], xs[1][1][i]};
        d[i] = v;
    }
}

/* Product row r's split inputs for columns k .. k+7 (zeros for r < 0 or
 * k >= K), as bm_x gives them. */
static __device__ __forceinline__ void bm_xs(const bgemm &p, int r, int k,
                                             uint32_t xs[2][2][BM_SPLIT])
{
    GPU_UNROLL
    for (int i = 0; i < BM_SPLIT; i++) {
        u32x4 v = {0, 0, 0, 0};
        if (r >= 0 && k < p.K)
            v = *(const u32x4 *)(p.split +
                                 ((size_t)r * (size_t)(p.K / 8) + (size_t)(k / 8)) * 4 * BM_SPLIT +
                                 4 * i);
        xs[0][0][i] = v.a, xs[0][1][i] = v.b, xs[1][0][i] = v.c, xs[1][1][i] = v.d;
    }
}

template <int MT>
static __device__ __forceinline__ void bm_w(const bf16 *const wr[MT][2], const int wok[MT][2],
                                            int k, int K, u32x4 av[MT][2])
{
    GPU_UNROLL
    for (int m = 0; m < MT; m++)
        GPU_UNROLL
        for (int r = 0; r < 2; r++) {
            u32x4 z = {0, 0, 0, 0};
            av[m][r] = wok[m][r] && k < K ? *(const u32x4 *)(wr[m][r] + k) : z;
        }
}

template <int MT, int NT, int PD>
__global__ void __launch_bounds__(BM_GROUPS * GPU_LANES) k_bmma(bgemm p)
{
    __shared__ float part[BM_GROUPS - 1][MT * NT * 4][GPU_LANES];
    __shared__ int rowx[8 * NT], rowy[8 * NT];
    int tid = (int)threadIdx.x, grp = tid / GPU_LANES, lane = tid % GPU_LANES;
    int g = lane >> 2, t = lane & 3;
    const bf16 *w = p.w;
    int r0, nr;
    if (p.tiles) {
        int j = (int)blockIdx.x;
        if (j >= *p.ntiles)
            return;
        w += (size_t)p.tiles[3 * j] * p.estride;
        r0 = p.tiles[3 * j + 1];
        nr = p.tiles[3 * j + 2]; /* <= BG_BT <= 8 * NT */
    } else {
        r0 = (int)blockIdx.x * 8 * NT;
        nr = p.T - r0 < 8 * NT ? p.T - r0 : 8 * NT;
    }
    if (tid < 8 * NT) {
        int r = r0 + tid;
        rowx[tid] = tid < nr ? (p.xidx ? p.xidx[r] : r) : -1;
        rowy[tid] = tid < nr ? (p.yidx ? p.yidx[r] : r) : -1;
    }
    __syncthreads();
    int n0 = (int)blockIdx.y * 16 * MT, xrow[NT];
    GPU_UNROLL
    for (int nt = 0; nt < NT; nt++) /* with p.split: the product row */
        xrow[nt] = p.split ? (8 * nt + g < nr ? r0 + 8 * nt + g : -1) : rowx[8 * nt + g];
    const bf16 *wr[MT][2];
    int wok[MT][2];
    GPU_UNROLL
    for (int m = 0; m < MT; m++)
        GPU_UNROLL
        for (int r = 0; r < 2; r++) {
            int n = n0 + 16 * m + 8 * r + g;
            wok[m][r] = n < p.N;
            wr[m][r] = w + (size_t)(n < p.N ? n : 0) * (size_t)p.K + 8 * t;
        }
    float acc[MT][NT][4];
    GPU_UNROLL
    for (int m = 0; m < MT; m++)
        GPU_UNROLL
        for (int nt = 0; nt < NT; nt++)
            GPU_UNROLL
            for (int i = 0; i < 4; i++)
                acc[m][nt][i] = 0.0f;
    /* Rounds of PD chunks (this group's chunks kc, kc + S, ..., S =
     * BM_GROUPS * BM_KC): the round's weights were loaded during the round
     * before, its inputs are loaded before its first tile product. */
    constexpr int S = BM_GROUPS * BM_KC;
    u32x4 av[PD][MT][2];
    int kt = 8 * t; /* this lane's first column of a chunk */
    GPU_UNROLL
    for (int u = 0; u < PD; u++)
        bm_w<MT>(wr, wok, grp * BM_KC + u * S, p.K - kt, av[u]);
    for (int kc0 = grp * BM_KC; kc0 < p.K; kc0 += PD * S) {
        u32x4 nx[PD][MT][2]; /* the next round's weights, in flight during this one */
        GPU_UNROLL
        for (int u = 0; u < PD; u++)
            bm_w<MT>(wr, wok, kc0 + (PD + u) * S, p.K - kt, nx[u]);
        uint32_t xs[PD][NT][2][2][BM_SPLIT];
        GPU_UNROLL
        for (int u = 0; u < PD; u++)
            GPU_UNROLL
            for (int nt = 0; nt < NT; nt++) {
                if (p.split)
                    bm_xs(p, xrow[nt], kc0 + u * S + kt, xs[u][nt]);
                else
                    bm_x(p, xrow[nt], kc0 + u * S + kt, xs[u][nt]);
            }
        GPU_UNROLL
        for (int u = 0; u < PD; u++) {
            if (kc0 + u * S >= p.K)
                break; /* the group alike */
            GPU_UNROLL
            for (int h = 0; h < 2; h++)
                GPU_UNROLL
                for (int m = 0; m < MT; m++) {
                    const u32x4 *w0 = &av[u][m][0], *w1 = &av[u][m][1];
                    uint32_t a[4] = {h ? w0->c : w0->a, h ? w1->c : w1->a, h ? w0->d : w0->b,
                                     h ? w1->d : w1->b};
                    GPU_UNROLL
                    for (int nt = 0; nt < NT; nt++)
                        GPU_UNROLL
                        for (int i = 0; i < BM_SPLIT; i++) {
                            uint32_t b[2] = {xs[u][nt][h][0][i], xs[u][nt][h][1][i]};
                            mma_bf16_16816(acc[m][nt], a, b);
                        }
                }
        }
        GPU_UNROLL
        for (int u = 0; u < PD; u++)
            GPU_UNROLL
            for (int m = 0; m < MT; m++)
                GPU_UNROLL
                for (int r = 0; r < 2; r++)
                    av[u][m][r] = nx[u][m][r];
    }
    if (grp > 0)
        GPU_UNROLL
        for (int m = 0; m < MT; m++)
            GPU_UNROLL
            for (int nt = 0; nt < NT; nt++)
                GPU_UNROLL
                for (int i = 0; i < 4; i++)
                    part[grp - 1][(m * NT + nt) * 4 + i][lane] = acc[m][nt][i];
    __syncthreads();
    if (grp > 0)
        return;
    GPU_UNROLL
    for (int m = 0; m < MT; m++)
        GPU_UNROLL
        for (int nt = 0; nt < NT; nt++)
            GPU_UNROLL
            for (int i = 0; i < 4; i++) {
                float v = acc[m][nt][i];
                for (int q = 0; q < BM_GROUPS - 1; q++)
                    v += part[q][(m * NT + nt) * 4 + i][lane];
                int n = n0 + 16 * m + 8 * (i >> 1) + g, tt = 8 * nt + 2 * t + (i & 1);
                int ry = n < p.N ? rowy[tt] : -1;
                if (ry < 0)
                    continue;
                if (p.bias)
                    v += p.bias[n];
                if (p.yscale)
                    v *= p.yscale[ry];
                p.y[(size_t)ry * (size_t)p.ldy + (size_t)n] = v;
            }
}

/* k_bmma's products for big tiles, staged through shared memory: the
 * same tile products on the same operands into the same sums, so every
 * output has k_bmma's bits.  k_bmma's 4 groups each read their own
 * weights and inputs straight from memory (L2), so a block's bytes per
 * tile product are set by its one group's tile: 16 rows x 16 tokens for
 * the experts' grouped tiles.  Here 8 groups share a stage of 128 columns
 * (one 32-column chunk per K-group, as k_bmma's groups take them):
 * group w has K-group w % 4 and sub-tile w / 4 (WR x WT = 2 sub-tiles of
 * 16 * MT rows x 8 * NT tokens), so each staged weight serves WT groups'
 * tokens and each staged input WR groups' rows.  The inputs come split
 * (p.split, k_bsplit), three 16-byte parts an octet; a stage is RB rows
 * and TB tokens of 16 units (16 bytes) each, the unit index XORed with 4
 * on odd rows and tokens so the 8 lanes of a 16-byte load phase (rows g
 * and g + 1, units 4w + t) hit 8 bank groups.  Every thread loads its
 * share of the next stage into registers while the stage in shared
 * memory is used.  The groups' sums are added in group order at the end,
 * as k_bmma adds them. */
enum { BS_THREADS = 2 * BM_GROUPS * GPU_LANES, BS_KS = BM_GROUPS * BM_KC, BS_U = BS_KS / 8 };

/* One thread's share of a stage at column k0 into registers: column
 * offset c (8 * its unit) of weight rows n, n + 16, ... (wl at row n,
 * column c) and of the split inputs of the tile's tokens 0, 16, ... after
 * its own (xl at its token, octet c / 8; xn of them are in the tile);
 * zeros past N, K and the tile's tokens. */
template <int WU, int XP>
static __device__ __forceinline__ void bs_load(const bgemm &p, const bf16 *wl, const u32x4 *xl,
                                               int n, int xn, int c, int k0, u32x4 lw[WU],
                                               u32x4 lx[XP][BM_SPLIT])
{
    int kin = k0 + c < p.K;
    size_t ko = (size_t)(p.K / 8);
    GPU_UNROLL
    for (int q = 0; q < WU; q++) {
        u32x4 z = {0, 0, 0, 0};
        lw[q] = kin && n + 16 * q < p.N ? *(const u32x4 *)(wl + (size_t)16 * q * (size_t)p.K + k0)
                                        : z;
    }
    GPU_UNROLL
    for (int q = 0; q < XP; q++)
        GPU_UNROLL
        for (int i = 0; i < BM_SPLIT; i++) {
            u32x4 z = {0, 0, 0, 0};
            lx[q][i] = kin && 16 * q < xn ? xl[((size_t)16 * q * ko + (size_t)(k0 / 8)) * 3 + i] : z;
        }
}

template <int MT, int NT, int WR, int WT>
__global__ void __launch_bounds__(BS_THREADS) k_bmms(bgemm p)
{
    static_assert(WR * WT == 2, "k_bmms: two sub-tiles");
    constexpr int RB = WR * 16 * MT, TB = WT * 8 * NT;
    constexpr int WU = RB * BS_U / BS_THREADS, XP = TB * BS_U / BS_THREADS;
    constexpr int NUNIT = (RB + 3 * TB) * BS_U, NACC = MT * NT * 4;
    static_assert(WU * BS_THREADS == RB * BS_U && XP * BS_THREADS == TB * BS_U, "whole loads");
    static_assert((BM_GROUPS - 1) * 2 * NACC * GPU_LANES * 4 <= NUNIT * 16, "partials fit");
    __shared__ u32x4 sm[NUNIT];
    __shared__ int rowy[TB];
    u32x4 *sw = sm, *sx = sm + RB * BS_U; /* sx[(part * TB + token) * BS_U + unit] */
    int tid = (int)threadIdx.x, wid = tid / GPU_LANES, lane = tid % GPU_LANES;
    int g = lane >> 2, t = lane & 3, grp = wid % BM_GROUPS, sub = wid / BM_GROUPS;
    int rw = (sub % WR) * 16 * MT, tw = (sub / WR) * 8 * NT; /* the group's sub-tile */
    const bf16 *w = p.w;
    int r0, nr;
    if (p.tiles) {
        int j = (int)blockIdx.x;
        if (j >= *p.ntiles)
            return;
        w += (size_t)p.tiles[3 * j] * p.estride;
        r0 = p.tiles[3 * j + 1];
        nr = p.tiles[3 * j + 2]; /* <= BG_BT <= TB */
    } else {
        r0 = (int)blockIdx.x * TB;
        nr = p.T - r0 < TB ? p.T - r0 : TB;
    }
    if (tid < TB)
        rowy[tid] = tid < nr ? (p.yidx ? p.yidx[r0 + tid] : r0 + tid) : -1;
    int n0 = (int)blockIdx.y * RB, K = p.K, ko = K / 8;
    /* This thread's loads of a stage: unit u (columns 8u .. 8u + 7) of
     * weight rows lr + 16q and of the split inputs of tokens lr + 16q. */
    int u = tid % BS_U, lr = tid / BS_U;
    const bf16 *wl = w + (size_t)(n0 + lr) * (size_t)K + 8 * u;
    const u32x4 *xl = (const u32x4 *)(p.split + ((size_t)(r0 + lr) * (size_t)ko + (size_t)u) * 12);
    u32x4 lw[WU], lx[XP][BM_SPLIT];
    float acc[MT][NT][4];
    GPU_UNROLL
    for (int m = 0; m < MT; m++)
        GPU_UNROLL
        for (int nt = 0; nt < NT; nt++)
            GPU_UNROLL
            for (int i = 0; i < 4; i++)
                acc[m][nt][i] = 0.0f;
    /* This lane's unit of its group's chunk (rows and tokens g and g + 8
     * have g's parity). */
    int su = (4 * grp + t) ^ ((g & 1) << 2), ss = u ^ ((lr & 1) << 2);
    int xn = lr < nr ? nr - lr : 0; /* the tile's tokens from this thread's on */
    bs_load<WU, XP>(p, wl, xl, n0 + lr, xn, 8 * u, 0, lw, lx);
    for (int k0 = 0; k0 < K; k0 += BS_KS) {
        __syncthreads(); /* the stage before is used */
        GPU_UNROLL
        for (int q = 0; q < WU; q++)
            sw[(lr + 16 * q) * BS_U + ss] = lw[q];
        GPU_UNROLL
        for (int q = 0; q < XP; q++)
            GPU_UNROLL
            for (int i = 0; i < BM_SPLIT; i++)
                sx[(i * TB + lr + 16 * q) * BS_U + ss] = lx[q][i];
        __syncthreads();
        if (k0 + BS_KS < K)
            bs_load<WU, XP>(p, wl, xl, n0 + lr, xn, 8 * u, k0 + BS_KS, lw, lx);
        if (k0 + BM_KC * grp >= K)
            continue; /* the group alike, as in k_bmma */
        u32x4 xb[NT][BM_SPLIT];
        GPU_UNROLL
        for (int nt = 0; nt < NT; nt++)
            GPU_UNROLL
            for (int i = 0; i < BM_SPLIT; i++)
                xb[nt][i] = sx[(i * TB + tw + 8 * nt + g) * BS_U + su];
        GPU_UNROLL
        for (int m = 0; m < MT; m++) {
            u32x4 w0 = sw[(rw + 16 * m + g) * BS_U + su], w1 = sw[(rw + 16 * m + 8 + g) * BS_U + su];
            GPU_UNROLL
            for (int h = 0; h < 2; h++) {
                uint32_t a[4] = {h ? w0.c : w0.a, h ? w1.c : w1.a, h ? w0.d : w0.b,
                                 h ? w1.d : w1.b};
                GPU_UNROLL
                for (int nt = 0; nt < NT; nt++)
                    GPU_UNROLL
                    for (int i = 0; i < BM_SPLIT; i++) {
                        uint32_t b[2] = {h ? xb[nt][i].c : xb[nt][i].a,
                                         h ? xb[nt][i].d : xb[nt][i].b};
                        mma_bf16_16816(acc[m][nt], a, b);
                    }
            }
        }
    }
    __syncthreads(); /* the stages are done with: their memory holds the partials */
    float *part = (float *)sm; /* [(grp - 1) * 2 + sub][NACC][lanes] */
    if (grp > 0)
        GPU_UNROLL
        for (int m = 0; m < MT; m++)
            GPU_UNROLL
            for (int nt = 0; nt < NT; nt++)
                GPU_UNROLL
                for (int i = 0; i < 4; i++)
                    part[(((grp - 1) * 2 + sub) * NACC + (m * NT + nt) * 4 + i) * GPU_LANES +
                         lane] = acc[m][nt][i];
    __syncthreads();
    if (grp > 0)
        return;
    GPU_UNROLL
    for (int m = 0; m < MT; m++)
        GPU_UNROLL
        for (int nt = 0; nt < NT; nt++)
            GPU_UNROLL
            for (int i = 0; i < 4; i++) {
                float v = acc[m][nt][i];
                for (int q = 0; q < BM_GROUPS - 1; q++)
                    v += part[((q * 2 + sub) * NACC + (m * NT + nt) * 4 + i) * GPU_LANES + lane];
                int n = n0 + rw + 16 * m + 8 * (i >> 1) + g, tt = tw + 8 * nt + 2 * t + (i & 1);
                int ry = n < p.N ? rowy[tt] : -1;
                if (ry < 0)
                    continue;
                if (p.bias)
                    v += p.bias[n];
                if (p.yscale)
                    v *= p.yscale[ry];
                p.y[(size_t)ry * (size_t)p.ldy + (size_t)n] = v;
            }
}

/* Which kernels run the products: ZEVAL_GPU_BMM=tensor (k_bmma, and
 * k_bmms for the big tiles), direct (k_bmma only: the same values), simt
 * (k_bmm4 where its grid fills the device, else k_bmm) or plain (k_bmm
 * only).  The default is tensor where the device has bf16 tensor cores
 * (NVIDIA, compute capability 8.0 or later) and in the emulation (which
 * runs its portable path, to check it), simt elsewhere.  simt and plain
 * give the same values, tensor and direct the same values; tensor's differ
 * from simt's (another order of sums, 16-bit inputs) but never with the
 * step's tokens. */
enum { BMM_TENSOR = GPU_BMM_TENSOR, BMM_SIMT = GPU_BMM_SIMT, BMM_PLAIN = GPU_BMM_PLAIN,
       BMM_DIRECT = GPU_BMM_DIRECT, BMM_BLAS = GPU_BMM_BLAS };
static int bmm_v = -1;
static int bmm_mode(void)
{
    if (bmm_v < 0) {
        const char *e = getenv("ZEVAL_GPU_BMM");
        int k = e ? gpu_bmm_named(e) : -1;
        if (k >= 0)
            bmm_v = k;
        else {
#if defined(ZEVAL_GPU_EMU)
            bmm_v = BMM_TENSOR;
#elif defined(__HIP_PLATFORM_NVIDIA__)
            hipDeviceProp_t pr;
            bmm_v = hipGetDeviceProperties(&pr, 0) == hipSuccess && pr.major >= 8 ? BMM_TENSOR
                                                                                  : BMM_SIMT;
            (void)hipGetLastError();
#else
            bmm_v = BMM_SIMT;
#endif
        }
    }
    return bmm_v;
}

int kb_gemm_env_ok(void)
{
    const char *e = getenv("ZEVAL_GPU_BMM");
    return !e || !*e || gpu_bmm_named(e) >= 0;
}

void kb_gemm_set(int kind)
{
    bmm_v = kind;
}

int kb_gemm_staged(void)
{
    return bmm_mode() == BMM_TENSOR;
}

static int bmm4_on(void)
{
    return bmm_mode() == BMM_SIMT;
}

const char *kb_gemm_kind(void)
{
    static const char *const name[] = {"tensor cores", "SIMT", "SIMT, one column a thread",
                                       "tensor cores", GBLAS_LIB};
    return name[bmm_mode()];
}

int kb_gemm_mode(void)
{
    return bmm_mode();
}

/* k_bmma reads inputs 8 at a time as 16-byte loads and puts rows on the
 * grid's second axis.  Neither depends on the token count, so a product
 * that does not fit runs on k_bmm at every step. */
static int bmma_fits(const bgemm *p)
{
    return p->ldx % 4 == 0 && (uintptr_t)p->x % 16 == 0 && (p->N + 15) / 16 <= 65535;
}

/* Steps of at least this many tokens run the experts' grouped products
 * on k_bmms (fewer leave most of its 16-token tiles nearly empty). */
enum { BS_GROUPED_MIN = 128 };

/* The tensor-core shape for a product: 8 * NT tokens per block (16 for
 * the grouped tiles), 16 * MT rows; k_bmms's 128 x 16 (grouped) and
 * 64 x 32 (more than 64 tokens) where the inputs are split first. */
static void bmma_launch(hipStream_t s, const bgemm *p0)
{
    dim3 blk(BM_GROUPS * GPU_LANES);
    /* 16 tokens or more: their inputs split once (the split is the same
     * wherever it is made, so this choice changes no value) */
    bgemm pp = *p0;
    const bgemm *p = &pp;
    if (pp.split && pp.T >= 16 && pp.K % 8 == 0)
        hipLaunchKernelGGL(k_bsplit, dim3((unsigned)((pp.K / 8 + 127) / 128), (unsigned)pp.T),
                           dim3(128), 0, s, pp);
    else
        pp.split = NULL;
    int staged = pp.split && kb_gemm_staged();
    if (p->tiles) {
        static_assert(BG_BT <= 16, "k_bmms<4, 2, 2, 1> takes 16-token tiles");
        if (staged && p->T >= BS_GROUPED_MIN)
            hipLaunchKernelGGL((k_bmms<4, 2, 2, 1>), dim3((unsigned)p->max_tiles,
                               (unsigned)((p->N + 127) / 128)), dim3(BS_THREADS), 0, s, *p);
        else
            hipLaunchKernelGGL((k_bmma<1, BG_BT / 8, 2>), dim3((unsigned)p->max_tiles,
                               (unsigned)((p->N + 15) / 16)), blk, 0, s, *p);
        return;
    }
    unsigned rows1 = (unsigned)((p->N + 15) / 16), rows2 = (unsigned)((p->N + 31) / 32);
    if (p->T <= 8)
        hipLaunchKernelGGL((k_bmma<1, 1, 4>), dim3(1u, rows1), blk, 0, s, *p);
    else if (p->T <= 16)
        hipLaunchKernelGGL((k_bmma<1, 2, 4>), dim3(1u, rows1), blk, 0, s, *p);
    else if (p->T <= 64)
        hipLaunchKernelGGL((k_bmma<1, 4, 1>), dim3((unsigned)((p->T + 31) / 32), rows1), blk, 0, s,
                           *p);
    else if (staged)
        hipLaunchKernelGGL((k_bmms<4, 2, 1, 2>), dim3((unsigned)((p->T + 31) / 32),
                           (unsigned)((p->N + 63) / 64)), dim3(BS_THREADS), 0, s, *p);
    else
        hipLaunchKernelGGL((k_bmma<2, 4, 1>), dim3((unsigned)((p->T + 31) / 32), rows2), blk, 0, s,
                           *p);
}

/* ------------------------- products on cuBLAS or rocBLAS (blas) */

/* ZEVAL_GPU_BMM=blas: products of at least BL_MIN tokens run as three
 * bf16 products on cuBLAS or rocBLAS (gblas.h), one per part of the inputs'
 * three-way split (bm_split's: each f32 input is the sum of its parts),
 * summed into the output in f32; so the inputs lose nothing, as on the
 * tensor-core kernels, but the sums' order is the library's and may change
 * with the token count.  The experts' grouped products read the tile
 * table back and run one product per expert over its rows (the stream
 * waits there, so such steps are not captured as graphs: kb_gemm_host_sync).
 * Fewer tokens, and a scattered product without the yt scratch, run on the
 * direct kernels. */
enum { BL_MIN = 64 };

static char bl_err[256];
static int bl_failed;

int kb_gemm_error(char *err, size_t errlen)
{
    if (!bl_failed)
        return 0;
    if (err && errlen)
        snprintf(err, errlen, "%s", bl_err);
    bl_failed = 0;
    return -1;
}

/* Part i of product row r's input k (bmm_x's value split as bm_split
 * does) at split + (i * T + r) * K + k, as bf16. */
__global__ void k_blpack(bgemm p)
{
    int r = (int)blockIdx.y, k = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    if (k >= p.K)
        return;
    float v = bmm_x(p, p.xidx ? p.xidx[r] : r, k);
    bf16 *d = (bf16 *)p.split + (size_t)r * (size_t)p.K + (size_t)k;
    size_t part = (size_t)p.T * (size_t)p.K;
    GPU_UNROLL
    for (int i = 0; i < BM_SPLIT; i++) {
        bf16 h = f2bf16(v);
        d[(size_t)i * part] = h;
        v -= bf16f(h);
    }
}

/* The bias and the row's scale on what the library left: in y's row r, or in
 * yt's row r for y's row yidx[r] (scaled by yscale of that index). */
__global__ void k_blepi(bgemm p)
{
    int r = (int)blockIdx.y, n = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    if (n >= p.N)
        return;
    int ry = p.yidx ? p.yidx[r] : r;
    float v = p.yidx ? p.yt[(size_t)r * (size_t)p.N + (size_t)n]
                     : p.y[(size_t)r * (size_t)p.ldy + (size_t)n];
    if (p.bias)
        v += p.bias[n];
    if (p.yscale)
        v *= p.yscale[ry];
    p.y[(size_t)ry * (size_t)p.ldy + (size_t)n] = v;
}

int kb_gemm_host_sync(int T)
{
    return bmm_mode() == BMM_BLAS && T >= BL_MIN;
}

/* 1 when p takes the library path. */
static int blas_fits(const bgemm *p)
{
    return bmm_mode() == BMM_BLAS && p->split && p->T >= BL_MIN && p->ldy >= p->N &&
           (!p->yidx || p->yt);
}

static void blas_fail(const char *what, const char *e)
{
    if (!bl_failed) {
        bl_failed = 1;
        snprintf(bl_err, sizeof bl_err, "a product on " GBLAS_LIB ": %s%s", what, e);
    }
}

/* Rows r0 .. r0 + n - 1 of the product with weights w: the three parts'
 * products summed into y rows (or yt's where rows are scattered). */
static void blas_rows(hipStream_t s, const bgemm *p, const bf16 *w, int r0, int n)
{
    const bf16 *x = (const bf16 *)p->split + (size_t)r0 * (size_t)p->K;
    size_t part = (size_t)p->T * (size_t)p->K;
    float *y = p->yidx ? p->yt + (size_t)r0 * (size_t)p->N : p->y + (size_t)r0 * (size_t)p->ldy;
    int ldy = p->yidx ? p->N : p->ldy;
    char e[200];
    for (int i = 0; i < BM_SPLIT; i++)
        if (gblas_gemm(s, p->N, n, p->K, w, p->K, x + (size_t)i * part, p->K, i > 0, y, ldy, e,
                       sizeof e))
            blas_fail("", e);
}

/* Plain: one product of T rows.  Grouped: the tile table read back (the
 * stream waits for it), then one product per expert over its rows, which
 * the table lists consecutively in tiles. */
static void blas_launch(hipStream_t s, const bgemm *p)
{
    hipLaunchKernelGGL(k_blpack, dim3((unsigned)((p->K + 255) / 256), (unsigned)p->T), dim3(256),
                       0, s, *p);
    int rows = p->T; /* rows made: the grouped products' experts' rows come first */
    if (!p->tiles)
        blas_rows(s, p, p->w, 0, p->T);
    else {
        rows = 0;
        int nt = 0;
        int *tl = (int *)malloc((size_t)3 * (size_t)p->max_tiles * sizeof(int));
        if (!tl) {
            blas_fail("out of memory for the tile table", "");
            return;
        }
        /* the count, then as many entries (the table may hold no more) */
        int ok = hipMemcpyAsync(&nt, p->ntiles, sizeof nt, hipMemcpyDeviceToHost, s) ==
                     hipSuccess &&
                 hipStreamSynchronize(s) == hipSuccess;
        nt = nt < 0 ? 0 : nt < p->max_tiles ? nt : p->max_tiles;
        ok = ok && (nt == 0 || (hipMemcpyAsync(tl, p->tiles, (size_t)3 * (size_t)nt * sizeof(int),
                                               hipMemcpyDeviceToHost, s) == hipSuccess &&
                                hipStreamSynchronize(s) == hipSuccess));
        if (!ok) {
            blas_fail("reading the tile table back: ", hipGetErrorString(hipGetLastError()));
            free(tl);
            return;
        }
        for (int j = 0; j < nt;) {
            int e = tl[3 * j], r0 = tl[3 * j + 1], n = 0;
            for (; j < nt && tl[3 * j] == e && tl[3 * j + 1] == r0 + n; j++)
                n += tl[3 * j + 2];
            if (n > 0 && r0 >= 0 && r0 + n <= p->T) {
                blas_rows(s, p, p->w + (size_t)e * p->estride, r0, n);
                rows = r0 + n > rows ? r0 + n : rows;
            }
        }
        free(tl);
    }
    if (rows <= 0)
        return;
    if (p->yidx || p->bias || p->yscale)
        hipLaunchKernelGGL(k_blepi, dim3((unsigned)((p->N + 255) / 256), (unsigned)rows),
                           dim3(256), 0, s, *p);
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

/* The kernel of a product: k_bmma in tensor mode (its shape by the token
 * count); else the register-tiled kernel where its grid still fills the
 * device (it has 4 times fewer blocks than k_bmm for the same product),
 * k_bmm's narrower blocks where few tokens leave too few.  Within a mode
 * every shape gives the same values, so this choice is free. */
void kb_gemm(hipStream_t s, const bgemm *p)
{
    dim3 blk(BG_THREADS);
    if (blas_fits(p)) {
        blas_launch(s, p);
        return;
    }
    int tensor = bmm_mode() == BMM_TENSOR || bmm_mode() == BMM_DIRECT || bmm_mode() == BMM_BLAS;
    if (tensor && bmma_fits(p)) {
        if (p->tiles ? p->max_tiles > 0 : p->T > 0)
            bmma_launch(s, p);
        return;
    }
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

/* Both convolutions of head group blockIdx.x (d <= 128 channels) for the
 * tokens blockIdx.y * 8*TPW ..: stage 1 (depthwise, K0 taps) of the K1
 * frames each token needs into shared memory, the frames of this step's
 * run from u, older ones from the sequence's ring, none before position 0
 * (as k_conv); then stage 2 (one dense d x K1*d filter per head) as a
 * register-tiled product: warp w takes tokens w, w+8, .. (TPW of them),
 * lane l outputs l, l+32, l+64, l+96, each a running sum over the K1*d
 * inputs in order (so a token's outputs do not depend on its tile).  The
 * filter passes through shared memory BC_JC inputs at a time, transposed
 * (input-major, rows padded by 2) so that a warp reads 32 outputs' weights
 * of one input without bank conflicts while the input is a broadcast; a
 * thread loads 8 inputs of a row at once, the next chunk's loads in
 * flight while one is used (the first's during stage 1). */
enum { BC_JC = 64, BC_WARPS = BV_THREADS / GPU_LANES, BC_DMAX = 128,
       BC_LD = BC_JC / 8 * BC_DMAX / BV_THREADS };

/* A chunk of the filter (inputs j0 .. j0+jn of every output's row, jn and
 * kd multiples of 8, d <= BC_DMAX) as this thread's share: up to BC_LD
 * pieces of 8 inputs of one row, one 16-byte load each. */
static __device__ __forceinline__ void bc_load(u32x4 (&v)[BC_LD], const bf16 *wg, int kd, int d,
                                               int j0, int jn)
{
    GPU_UNROLL
    for (int u = 0; u < BC_LD; u++) {
        int idx = (int)threadIdx.x + u * BV_THREADS;
        if (idx < d * (jn / 8))
            v[u] = *(const u32x4 *)(wg + (size_t)(idx / (jn / 8)) * (size_t)kd +
                                    (size_t)(j0 + idx % (jn / 8) * 8));
    }
}

/* The pieces bc_load gave, stored input-major: piece (o, jj) down input
 * rows jj .. jj+7 of column o (rows ws apart). */
static __device__ __forceinline__ void bc_store(const u32x4 (&v)[BC_LD], bf16 *sw, int ws, int d,
                                                int jn)
{
    GPU_UNROLL
    for (int u = 0; u < BC_LD; u++) {
        int idx = (int)threadIdx.x + u * BV_THREADS;
        if (idx >= d * (jn / 8))
            continue;
        bf16 *dst = sw + idx % (jn / 8) * 8 * ws + idx / (jn / 8);
        dst[0] = (bf16)(v[u].a & 0xffffu);
        dst[ws] = (bf16)(v[u].a >> 16);
        dst[2 * ws] = (bf16)(v[u].b & 0xffffu);
        dst[3 * ws] = (bf16)(v[u].b >> 16);
        dst[4 * ws] = (bf16)(v[u].c & 0xffffu);
        dst[5 * ws] = (bf16)(v[u].c >> 16);
        dst[6 * ws] = (bf16)(v[u].d & 0xffffu);
        dst[7 * ws] = (bf16)(v[u].d >> 16);
    }
}

template <int TPW>
__global__ void __launch_bounds__(BV_THREADS) k_bconv(cca_w w, int a, btok t, const float *u,
                                                      int ldu, const float *ring, int natt,
                                                      float *z)
{
    GPU_DYN_SHARED(float, ms); /* [8*TPW][K1*d] floats, then [BC_JC][d+2] bf16 */
    enum { TT = BC_WARPS * TPW };
    int d = w.d, C = (w.nq + w.nk) * d, K0 = w.K0, K1 = w.K1, kd = K1 * d, ws = d + 2;
    int nh = K0 + K1 - 2, nr = nh + 1, g = (int)blockIdx.x, i0 = (int)blockIdx.y * TT;
    int nt = t.T - i0 < TT ? t.T - i0 : TT;
    bf16 *sw = (bf16 *)(ms + (size_t)TT * kd);
    /* the filter's first chunk on its way while stage 1 is computed */
    const bf16 *wg = w.conv1_w + (size_t)g * (size_t)d * (size_t)kd;
    u32x4 pc[BC_LD] = {};
    bc_load(pc, wg, kd, d, 0, kd < BC_JC ? kd : BC_JC);
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
    int lane = (int)threadIdx.x % GPU_LANES, wp = (int)threadIdx.x / GPU_LANES;
    float acc[TPW][4];
    for (int n = 0; n < TPW; n++)
        for (int m = 0; m < 4; m++)
            acc[n][m] = 0.0f;
    for (int j0 = 0; j0 < kd; j0 += BC_JC) {
        int jn = kd - j0 < BC_JC ? kd - j0 : BC_JC;
        __syncthreads(); /* stage 1 written; the chunk before read */
        bc_store(pc, sw, ws, d, jn);
        __syncthreads();
        if (j0 + BC_JC < kd) /* the next chunk's loads in flight while this one is used */
            bc_load(pc, wg, kd, d, j0 + BC_JC, kd - j0 - BC_JC < BC_JC ? kd - j0 - BC_JC : BC_JC);
        for (int n = 0; n < TPW; n++) {
            int tt = wp + n * BC_WARPS;
            if (tt >= nt)
                break; /* the whole warp */
            const float *x = ms + (size_t)tt * kd + j0;
            for (int jj = 0; jj < jn; jj++) {
                float xv = x[jj];
                const bf16 *wr = sw + jj * ws + lane;
                for (int m = 0; m < 4; m++)
                    if (lane + m * GPU_LANES < d)
                        acc[n][m] = fmaf(bf16f(wr[m * GPU_LANES]), xv, acc[n][m]);
            }
        }
    }
    for (int n = 0; n < TPW; n++) {
        int tt = wp + n * BC_WARPS;
        if (tt >= nt)
            break;
        for (int m = 0; m < 4; m++) {
            int o = lane + m * GPU_LANES;
            if (o < d)
                z[(size_t)(i0 + tt) * C + g * d + o] = acc[n][m] + w.conv1_b[g * d + o];
        }
    }
}


/* Element at of a K/V cache array, as the cache stores it. */
static __device__ __forceinline__ void kv_put(const bkv &kv, void *base, size_t at, float v)
{
    if (kv.bf16)
        ((bf16 *)base)[at] = f2bf16(v);
    else
        ((float *)base)[at] = v;
}

/* Elements at .. at+7 of a K/V cache array as f32 (at % 8 == 0). */
static __device__ __forceinline__ void kv_get8(const bkv &kv, const void *base, size_t at,
                                               float v[8])
{
    if (kv.bf16) {
        u32x4 w = *(const u32x4 *)((const bf16 *)base + at);
        v[0] = bits_f(w.a << 16), v[1] = bits_f(w.a & 0xffff0000u);
        v[2] = bits_f(w.b << 16), v[3] = bits_f(w.b & 0xffff0000u);
        v[4] = bits_f(w.c << 16), v[5] = bits_f(w.c & 0xffff0000u);
        v[6] = bits_f(w.d << 16), v[7] = bits_f(w.d & 0xffff0000u);
    } else {
        f32x4 a = *(const f32x4 *)((const float *)base + at);
        f32x4 b = *(const f32x4 *)((const float *)base + at + 4);
        v[0] = a.a, v[1] = a.b, v[2] = a.c, v[3] = a.d;
        v[4] = b.a, v[5] = b.b, v[6] = b.c, v[7] = b.d;
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
    kv_put(kv, kv.K, at, v);
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
    kv_put(kv, kv.V, at, vv);
}

void kb_cca(hipStream_t s, const cca_w *w, int a, btok t, const float *u, int ldu,
            const float *ring, const float *vlast, int natt, float *z, float *q, bkv kv)
{
    /* 16 tokens a block once there are enough of them to fill the
     * device with a head group each (and the frames fit); 8 below, which
     * check_shapes (engine.hip) makes sure fit. */
    size_t kd = (size_t)w->K1 * (size_t)w->d, wsh = (size_t)BC_JC * (size_t)(w->d + 2) * sizeof(bf16);
    unsigned heads = (unsigned)(w->nq + w->nk);
    if (t.T >= 512 && 2 * BC_WARPS * kd * sizeof(float) + wsh <= 48 * 1024)
        hipLaunchKernelGGL(k_bconv<2>, dim3(heads, (unsigned)((t.T + 2 * BC_WARPS - 1) / (2 * BC_WARPS))),
                           dim3(BV_THREADS), 2 * BC_WARPS * kd * sizeof(float) + wsh, s, *w, a, t,
                           u, ldu, ring, natt, z);
    else
        hipLaunchKernelGGL(k_bconv<1>, dim3(heads, (unsigned)((t.T + BC_WARPS - 1) / BC_WARPS)),
                           dim3(BV_THREADS), BC_WARPS * kd * sizeof(float) + wsh, s, *w, a, t, u,
                           ldu, ring, natt, z);
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
/* k_battn<true>'s staged tiles: key rows of bf16 BA_KROW apart (8 more
 * than the widest head, so the 16-byte reads of 8 lanes hit 32 banks),
 * then value rows d apart; two stages. */
enum { BA_KROW = BA_DMAX + 8, BA_STAGE = BA_KT * (BA_KROW + BA_DMAX) };

/* A key tile as k_battn<false> holds it in shared memory: f32 keys as
 * rows 4 floats apart in banks (16-byte reads of 8 lanes hit 32 banks),
 * values padded by one (a lane per key on the transposing stores). */
struct ba_tf32 {
    const float (*ks)[BA_DMAX + 4];
    const float (*vs)[BA_DMAX + 1];
    /* key j against query row qr, summed over the dimensions in order */
    __device__ __forceinline__ float dot(int j, const float *qr, int d) const
    {
        float dt = 0.0f;
        const float *kr = &ks[j][0];
        for (int e = 0; e < d; e += 4) {
            f32x4 kv4 = *(const f32x4 *)(kr + e), q4 = *(const f32x4 *)(qr + e);
            dt = fmaf(q4.a, kv4.a, dt);
            dt = fmaf(q4.b, kv4.b, dt);
            dt = fmaf(q4.c, kv4.c, dt);
            dt = fmaf(q4.d, kv4.d, dt);
        }
        return dt;
    }
    __device__ __forceinline__ float val(int j, int e) const { return vs[j][e]; }
};

/* The same tile as k_battn<true> stages it: the bf16 cache's values as
 * they are (keys BA_KROW apart, values d apart).  The same floats in the
 * same order as ba_tf32, so the same sums. */
struct ba_tbf16 {
    const bf16 *k, *v;
    int d;
    __device__ __forceinline__ float dot(int j, const float *qr, int dd) const
    {
        float dt = 0.0f;
        const bf16 *kr = k + j * BA_KROW;
        for (int e = 0; e < dd; e += 8) {
            u32x4 w = *(const u32x4 *)(kr + e);
            f32x4 qa = *(const f32x4 *)(qr + e), qb = *(const f32x4 *)(qr + e + 4);
            dt = fmaf(qa.a, bits_f(w.a << 16), dt);
            dt = fmaf(qa.b, bits_f(w.a & 0xffff0000u), dt);
            dt = fmaf(qa.c, bits_f(w.b << 16), dt);
            dt = fmaf(qa.d, bits_f(w.b & 0xffff0000u), dt);
            dt = fmaf(qb.a, bits_f(w.c << 16), dt);
            dt = fmaf(qb.b, bits_f(w.c & 0xffff0000u), dt);
            dt = fmaf(qb.c, bits_f(w.d << 16), dt);
            dt = fmaf(qb.d, bits_f(w.d & 0xffff0000u), dt);
        }
        return dt;
    }
    __device__ __forceinline__ float val(int j, int e) const { return bf16f(v[j * d + e]); }
};

/* 16 bytes from global src to shared dst, zeros when !ok: on NVIDIA
 * (sm_80 on) an asynchronous copy (cp.async, waited for by ba_wait), in
 * the CPU emulation one that lands as late as that (zemu::async_copy16),
 * elsewhere a load and a store. */
__device__ __forceinline__ void ba_copy16(void *dst, const void *src, bool ok)
{
#if defined(__HIP_PLATFORM_NVIDIA__) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    unsigned sa = (unsigned)__cvta_generic_to_shared(dst);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(sa), "l"(src),
                 "r"(ok ? 16 : 0)
                 : "memory");
#elif defined(ZEVAL_GPU_EMU)
    zemu::async_copy16(dst, src, ok);
#else
    u32x4 v = {0, 0, 0, 0};
    if (ok)
        v = *(const u32x4 *)src;
    *(u32x4 *)dst = v;
#endif
}

/* The copies this thread issued since the last ba_commit, as one group. */
__device__ __forceinline__ void ba_commit(void)
{
#if defined(__HIP_PLATFORM_NVIDIA__) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("cp.async.commit_group;" ::: "memory");
#elif defined(ZEVAL_GPU_EMU)
    zemu::async_commit();
#endif
}

/* Until at most one of this thread's groups is still in flight (a
 * barrier after it shows every thread's finished copies to the block). */
__device__ __forceinline__ void ba_wait1(void)
{
#if defined(__HIP_PLATFORM_NVIDIA__) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("cp.async.wait_group 1;" ::: "memory");
#elif defined(ZEVAL_GPU_EMU)
    zemu::async_wait(1);
#endif
}

/* Keys [t0, t0 + BA_KT) of KV head g of sequence sq as stored (bf16),
 * zeros from k1 on, into stage st: a lane per 16 bytes of a key row, so a
 * warp reads whole rows. */
static __device__ __forceinline__ void ba_stage(const bkv &kv, int a, int g, int sq, int t0, int k1,
                                                bf16 *st)
{
    const int d = kv.d, cpr = d / 8; /* 16-byte pieces a row */
    bf16 *ks = st, *vs = st + BA_KT * BA_KROW;
    for (int idx = (int)threadIdx.x; idx < BA_KT * cpr; idx += BA_THREADS) {
        int j = idx / cpr, e0 = idx % cpr * 8, key = t0 + j;
        bool ok = key < k1;
        size_t at = 0;
        if (ok) {
            int page = kv.bt[(size_t)sq * kv.max_pages + key / kv.P];
            at = ((((size_t)page * kv.natt + a) * kv.nk + g) * kv.P + (size_t)(key % kv.P)) *
                     (size_t)d + (size_t)e0;
        }
        ba_copy16(ks + j * BA_KROW + e0, (const bf16 *)kv.K + at, ok);
        ba_copy16(vs + j * d + e0, (const bf16 *)kv.V + at, ok);
    }
    ba_commit();
}

/* The calling group's rows over one key tile [t0, t0 + BA_KT) held by tl:
 * lane j scores key j against the row's query, the tile's maximum
 * rescales the row's running (max, sum, output), and the output adds the
 * tile's values weighted by the broadcast probabilities (each value read
 * once for the group's rows).  Keys after a row's position are masked;
 * a row wholly before the tile is left alone. */
template <int DPL, typename TILE>
__device__ __forceinline__ void ba_tile(const TILE &tl, const float (*qs)[BA_DMAX], int t0,
                                        int nrows, const int (&qp)[BA_RPG], float inv_sqrtd,
                                        float (&o)[BA_RPG][DPL], float (&m)[BA_RPG],
                                        float (&l)[BA_RPG])
{
    const int d = GPU_LANES * DPL;
    int grp = (int)threadIdx.x / GPU_LANES, lane = (int)threadIdx.x % GPU_LANES;
    float p[BA_RPG];
    int on[BA_RPG];
    GPU_UNROLL
    for (int k = 0; k < BA_RPG; k++) {
        int r = grp + BA_GROUPS * k;
        p[k] = 0.0f;
        on[k] = r < nrows && t0 <= qp[k]; /* the whole group alike */
        if (!on[k])
            continue;
        float sc = -INFINITY;
        if (t0 + lane <= qp[k])
            sc = tl.dot(lane, qs[r], d) * inv_sqrtd;
        float mn = fmaxf(m[k], lanes_max(sc));
        float resc = expf(m[k] - mn);
        p[k] = expf(sc - mn);
        l[k] = l[k] * resc + lanes_sum(p[k]);
        GPU_UNROLL
        for (int e = 0; e < DPL; e++)
            o[k][e] *= resc;
        m[k] = mn;
    }
    for (int j = 0; j < BA_KT; j++) {
        float v[DPL];
        GPU_UNROLL
        for (int e = 0; e < DPL; e++)
            v[e] = tl.val(j, lane + GPU_LANES * e);
        GPU_UNROLL
        for (int k = 0; k < BA_RPG; k++) {
            if (!on[k])
                continue;
            float pj = lanes_bcast(p[k], j);
            GPU_UNROLL
            for (int e = 0; e < DPL; e++)
                o[k][e] = fmaf(pj, v[e], o[k][e]);
        }
    }
}

/* Work item blockIdx.x = (first token, tokens, split) for KV head
 * blockIdx.y: the tokens' G query heads (rows, at most BA_ROWS) over the
 * split's keys, a tile of BA_KT keys at a time from shared memory
 * (ba_tile); tiles wholly after the last row's position are skipped.
 * PIPE (bf16 cache only): each tile is copied as the cache holds it, the
 * next one's copy in flight (cp.async on NVIDIA) while this one is
 * computed; else loaded, converted to f32 and stored, then computed.
 * Either way the same floats meet in the same order: the same partials. */
template <int DPL, bool PIPE>
__global__ void __launch_bounds__(BA_THREADS) k_battn(int a, btok t, const int *work,
                                                      const int *nwork, const float *q, int nq,
                                                      bkv kv, float *part)
{
    const int d = GPU_LANES * DPL;
    union ba_smem {
        struct {
            float ks[BA_KT][BA_DMAX + 4];
            float vs[BA_KT][BA_DMAX + 1];
        } f;
        bf16 st[2][BA_STAGE];
    };
    __shared__ __attribute__((aligned(16))) ba_smem sm;
    __shared__ __attribute__((aligned(16))) float qs[BA_ROWS][BA_DMAX];
    int wi = (int)blockIdx.x, g = (int)blockIdx.y, tid = (int)threadIdx.x;
    if (wi >= *nwork)
        return;
    int i0 = work[3 * wi], nt = work[3 * wi + 1], sp = work[3 * wi + 2];
    int nk = kv.nk, G = nq / nk, nrows = nt * G, natt = kv.natt;
    int grp = tid / GPU_LANES;
    int sq = t.seq[i0];
    int k0 = sp * BA_SPL, maxpos = t.pos[i0 + nt - 1];
    int k1 = k0 + BA_SPL < maxpos + 1 ? k0 + BA_SPL : maxpos + 1;
    if (PIPE && k0 < k1)
        ba_stage(kv, a, g, sq, k0, k1, sm.st[0]); /* the first tile on its way */
    for (int idx = tid; idx < nrows * d; idx += BA_THREADS) {
        int r = idx / d, e = idx % d;
        qs[r][e] = q[(size_t)(i0 + r / G) * nq * d + (size_t)(g * G + r % G) * d + e];
    }
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
    for (int t0 = k0, s = 0; t0 < k1; t0 += BA_KT, s ^= 1) {
        if (PIPE) {
            /* stage s^1 was last read in the tile before, behind its
             * closing barrier */
            if (t0 + BA_KT < k1)
                ba_stage(kv, a, g, sq, t0 + BA_KT, k1, sm.st[s ^ 1]);
            else
                ba_commit(); /* an empty group: the wait below still means this tile */
            ba_wait1();
            __syncthreads();
            ba_tbf16 tl = {sm.st[s], sm.st[s] + BA_KT * BA_KROW, d};
            ba_tile<DPL>(tl, qs, t0, nrows, qp, inv_sqrtd, o, m, l);
            __syncthreads();
            continue;
        }
        __syncthreads();
        for (int idx = tid; idx < BA_KT * d / 8; idx += BA_THREADS) {
            /* a lane per key (a 32-byte sector of each, or 16 with bf16),
             * so the transposing stores below hit 32 banks */
            int j = idx % BA_KT, e0 = idx / BA_KT * 8, key = t0 + j;
            float kvv[8] = {0, 0, 0, 0, 0, 0, 0, 0}, vvv[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            if (key < k1) {
                int page = kv.bt[(size_t)sq * kv.max_pages + key / kv.P];
                size_t at = ((((size_t)page * natt + a) * nk + g) * kv.P + (size_t)(key % kv.P)) *
                                (size_t)d + (size_t)e0;
                kv_get8(kv, kv.K, at, kvv);
                kv_get8(kv, kv.V, at, vvv);
            }
            f32x4 k0v = {kvv[0], kvv[1], kvv[2], kvv[3]}, k1v = {kvv[4], kvv[5], kvv[6], kvv[7]};
            *(f32x4 *)&sm.f.ks[j][e0] = k0v;
            *(f32x4 *)&sm.f.ks[j][e0 + 4] = k1v;
            GPU_UNROLL
            for (int i = 0; i < 8; i++)
                sm.f.vs[j][e0 + i] = vvv[i];
        }
        __syncthreads();
        ba_tf32 tl = {sm.f.ks, sm.f.vs};
        ba_tile<DPL>(tl, qs, t0, nrows, qp, inv_sqrtd, o, m, l);
    }
    int lane = tid % GPU_LANES;
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

/* The same partials as k_battn, a warp per work item of one token (work
 * built with one token an item): warp w of block blockIdx.x takes item
 * blockIdx.x * BA_GROUPS + w for KV head blockIdx.y, its G <= BA_GMAX
 * query heads held together, so each key and value is read once for all
 * of them, straight from the cache, with no shared memory and no barrier.
 * Every row runs k_battn's arithmetic in k_battn's order (lane = key of a
 * 32-key tile, the score summed over the dimensions in order, the tile's
 * maximum and sum by the same lane reductions, values added key by key),
 * so the partials, and the logits, are bit-identical to k_battn's; keys
 * after the token's position, which add +0 there, are skipped.  (Loops
 * over the rows skip r >= G with continue: a break keeps AMD's compiler
 * from unrolling them.) */
template <int DPL>
__global__ void __launch_bounds__(BA_THREADS) k_battn_w(int a, btok t, const int *work,
                                                        const int *nwork, const float *q,
                                                        int nq, bkv kv, float *part)
{
    const int d = GPU_LANES * DPL;
    int lane = (int)threadIdx.x % GPU_LANES;
    int wi = (int)blockIdx.x * BA_GROUPS + (int)threadIdx.x / GPU_LANES, g = (int)blockIdx.y;
    if (wi >= *nwork)
        return; /* the whole warp */
    int i = work[3 * wi], sp = work[3 * wi + 2];
    int nk = kv.nk, G = nq / nk, natt = kv.natt, sq = t.seq[i], qp = t.pos[i];
    int k0 = sp * BA_SPL, k1 = k0 + BA_SPL < qp + 1 ? k0 + BA_SPL : qp + 1;
    const float *qr = q + (size_t)i * nq * d + (size_t)g * G * d;
    const int *bt = kv.bt + (size_t)sq * kv.max_pages;
    float inv_sqrtd = 1.0f / sqrtf((float)d);
    float o[BA_GMAX][DPL], m[BA_GMAX], l[BA_GMAX];
    GPU_UNROLL
    for (int r = 0; r < BA_GMAX; r++) {
        m[r] = -INFINITY;
        l[r] = 0.0f;
        GPU_UNROLL
        for (int e = 0; e < DPL; e++)
            o[r][e] = 0.0f;
    }
    for (int t0 = k0; t0 < k1; t0 += BA_KT) {
        int key = t0 + lane, live = key < k1;
        size_t at = 0;
        if (live)
            at = ((((size_t)bt[key / kv.P] * natt + a) * nk + g) * kv.P + (size_t)(key % kv.P)) *
                 (size_t)d;
        float dt[BA_GMAX];
        GPU_UNROLL
        for (int r = 0; r < BA_GMAX; r++)
            dt[r] = 0.0f;
        for (int e0 = 0; e0 < d; e0 += 8) {
            float kk[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            if (live)
                kv_get8(kv, kv.K, at + (size_t)e0, kk);
            GPU_UNROLL
            for (int r = 0; r < BA_GMAX; r++) {
                if (r >= G)
                    continue;
                f32x4 qa = *(const f32x4 *)(qr + r * d + e0), qb = *(const f32x4 *)(qr + r * d + e0 + 4);
                dt[r] = fmaf(qa.a, kk[0], dt[r]);
                dt[r] = fmaf(qa.b, kk[1], dt[r]);
                dt[r] = fmaf(qa.c, kk[2], dt[r]);
                dt[r] = fmaf(qa.d, kk[3], dt[r]);
                dt[r] = fmaf(qb.a, kk[4], dt[r]);
                dt[r] = fmaf(qb.b, kk[5], dt[r]);
                dt[r] = fmaf(qb.c, kk[6], dt[r]);
                dt[r] = fmaf(qb.d, kk[7], dt[r]);
            }
        }
        float p[BA_GMAX];
        GPU_UNROLL
        for (int r = 0; r < BA_GMAX; r++) {
            p[r] = 0.0f;
            if (r >= G)
                continue;
            float sc = live ? dt[r] * inv_sqrtd : -INFINITY;
            float mn = fmaxf(m[r], lanes_max(sc));
            float resc = expf(m[r] - mn);
            p[r] = expf(sc - mn);
            l[r] = l[r] * resc + lanes_sum(p[r]);
            GPU_UNROLL
            for (int e = 0; e < DPL; e++)
                o[r][e] *= resc;
            m[r] = mn;
        }
        int jn = k1 - t0 < BA_KT ? k1 - t0 : BA_KT;
        for (int j = 0; j < jn; j++) {
            int kj = t0 + j;
            size_t vat = ((((size_t)bt[kj / kv.P] * natt + a) * nk + g) * kv.P +
                          (size_t)(kj % kv.P)) * (size_t)d + (size_t)lane;
            float v[DPL];
            GPU_UNROLL
            for (int e = 0; e < DPL; e++)
                v[e] = kv.bf16 ? bf16f(((const bf16 *)kv.V)[vat + (size_t)(GPU_LANES * e)])
                               : ((const float *)kv.V)[vat + (size_t)(GPU_LANES * e)];
            GPU_UNROLL
            for (int r = 0; r < BA_GMAX; r++) {
                if (r >= G)
                    continue;
                float pj = lanes_bcast(p[r], j);
                GPU_UNROLL
                for (int e = 0; e < DPL; e++)
                    o[r][e] = fmaf(pj, v[e], o[r][e]);
            }
        }
    }
    GPU_UNROLL
    for (int r = 0; r < BA_GMAX; r++) {
        if (r >= G)
            continue;
        float *pp = part + ((size_t)(t.poff[i] + sp) * nq + g * G + r) * (size_t)(d + 2);
        if (lane == 0) {
            pp[0] = m[r];
            pp[1] = l[r];
        }
        GPU_UNROLL
        for (int e = 0; e < DPL; e++)
            pp[2 + lane + GPU_LANES * e] = o[r][e];
    }
}

/* Attention on tensor cores (ZEVAL_GPU_ATTN=mma; a bf16 cache and d = 128):
 * the same work items and partials as k_battn, up to 16 rows (tokens x
 * query heads of KV head blockIdx.y) in NC column tiles of 8: one for
 * decode (4 heads of a token), two where prompt runs give items of more
 * than 8 rows, so a block reads its keys once for as many tokens as the
 * SIMT tiles do.  Each of the block's MA_WARPS
 * warps takes a quarter of the split's keys, 16 a step, as two bf16 tile
 * products (mma_bf16_16816) with f32 sums:
 *   scores S^T = K Q^T: A = 16 key rows straight from the cache, B = the
 *     queries (8 columns a tile, the rows past nrows zero), each split into three
 *     bf16 whose sum is the f32 query (as the products split activations);
 *     lane t of a key row loads dims 8t .. 8t+7 of each 32-dim chunk, and
 *     both operands rename them k = 2t, 2t+1, 2t+8, 2t+9 (bm_split's
 *     scheme), so each score is still the sum of its 128 products;
 *   output O^T += V^T P^T: A = the 16 keys' values transposed in registers
 *     (lane group g holds dims 16g .. 16g+15, m-tile j its dims 16g+2j and
 *     16g+2j+1), B = the probabilities, split in three alike and moved
 *     from the scores' layout to the operand's by shuffles.
 * The running maximum and sum of a column are reduced over the 8 lane
 * groups that hold its keys, and the same lanes hold its outputs, so the
 * rescaling needs no exchange.  The warps' (max, sum, output) are merged
 * in warp order through shared memory into the split's partial.  The sums
 * differ from the SIMT kernels' in their order (so the logits differ from
 * theirs in the last bits), but an output depends only on its row's
 * query, its keys and the split, not on its column or tile (an mma output
 * depends only on its own row of A and column of B): the same in any
 * batch, however a prompt is cut. */
enum { MA_WARPS = 4, MA_THREADS = MA_WARPS * GPU_LANES, MA_D = 128, MA_COLS = 8, MA_KS = 16 };
static_assert(MA_THREADS == MA_D, "k_battn_mma merges a dim a thread");
static_assert(BA_SPL % (MA_WARPS * MA_KS) == 0, "k_battn_mma: whole steps a warp");

/* Key `key`'s row of KV head g of sequence sq in cache array base, or
 * NULL from k1 on. */
static __device__ __forceinline__ const bf16 *ma_row(const bkv &kv, const void *base, int a, int g,
                                                     int sq, int key, int k1)
{
    if (key >= k1)
        return nullptr;
    int page = kv.bt[(size_t)sq * kv.max_pages + key / kv.P];
    return (const bf16 *)base +
           ((((size_t)page * kv.natt + a) * kv.nk + g) * kv.P + (size_t)(key % kv.P)) * MA_D;
}

/* Eight values of a row from e on (zeros for no row). */
static __device__ __forceinline__ u32x4 ma_ld(const bf16 *row, int e)
{
    u32x4 z = {0, 0, 0, 0};
    return row ? *(const u32x4 *)(row + e) : z;
}

static __device__ __forceinline__ uint32_t ma_word(const u32x4 &v, int i)
{
    return i == 0 ? v.a : i == 1 ? v.b : i == 2 ? v.c : v.d;
}

/* NC column tiles of 8 (rows nrows <= 8 * NC; a tile with no rows is
 * skipped, block-wide). */
template <int NC>
__global__ void __launch_bounds__(MA_THREADS) k_battn_mma(int a, btok t, const int *work,
                                                          const int *nwork, const float *q,
                                                          int nq, bkv kv, float *part)
{
    /* the split queries in operand order: [chunk][half][part][tile][lane][b0, b1] */
    __shared__ __attribute__((aligned(16))) uint32_t qsl[4][2][BM_SPLIT][NC][GPU_LANES][2];
    __shared__ float wm[MA_WARPS][MA_COLS * NC], wl[MA_WARPS][MA_COLS * NC];
    __shared__ float wo[MA_WARPS][MA_COLS * NC][MA_D];
    int wi = (int)blockIdx.x, gk = (int)blockIdx.y, tid = (int)threadIdx.x;
    if (wi >= *nwork)
        return;
    int i0 = work[3 * wi], nt = work[3 * wi + 1], sp = work[3 * wi + 2];
    int G = nq / kv.nk, nrows = nt * G, sq = t.seq[i0];
    int k0 = sp * BA_SPL, maxpos = t.pos[i0 + nt - 1];
    int k1 = k0 + BA_SPL < maxpos + 1 ? k0 + BA_SPL : maxpos + 1;
    for (int idx = tid; idx < MA_COLS * NC * 4 * 4 * 2; idx += MA_THREADS) {
        int n = idx / 32, c = idx / 8 % 4, tt = idx / 2 % 4, h = idx % 2;
        f32x4 x = {0.0f, 0.0f, 0.0f, 0.0f};
        if (n < nrows)
            x = *(const f32x4 *)(q + (size_t)(i0 + n / G) * nq * MA_D +
                                 (size_t)(gk * G + n % G) * MA_D + 32 * c + 8 * tt + 4 * h);
        uint32_t s0[BM_SPLIT], s1[BM_SPLIT];
        bm_split(x.a, x.b, s0);
        bm_split(x.c, x.d, s1);
        GPU_UNROLL
        for (int i = 0; i < BM_SPLIT; i++) {
            qsl[c][h][i][n / 8][4 * (n % 8) + tt][0] = s0[i];
            qsl[c][h][i][n / 8][4 * (n % 8) + tt][1] = s1[i];
        }
    }
    __syncthreads();
    int w = tid / GPU_LANES, lane = tid % GPU_LANES, g = lane >> 2, tq = lane & 3;
    bool act[NC]; /* column tile nc holds rows (the whole block alike) */
    int qp[NC][2]; /* the positions of this lane's columns 2tq, 2tq+1 (-1: none) */
    GPU_UNROLL
    for (int nc = 0; nc < NC; nc++) {
        act[nc] = 8 * nc < nrows;
        GPU_UNROLL
        for (int cc = 0; cc < 2; cc++) {
            int r = 8 * nc + 2 * tq + cc;
            qp[nc][cc] = r < nrows ? t.pos[i0 + r / G] : -1;
        }
    }
    const float inv_sqrtd = 1.0f / sqrtf((float)MA_D);
    float m[NC][2], l[NC][2], o[8][NC][4];
    GPU_UNROLL
    for (int nc = 0; nc < NC; nc++) {
        m[nc][0] = m[nc][1] = -INFINITY;
        l[nc][0] = l[nc][1] = 0.0f;
        GPU_UNROLL
        for (int j = 0; j < 8; j++)
            o[j][nc][0] = o[j][nc][1] = o[j][nc][2] = o[j][nc][3] = 0.0f;
    }
    int kw0 = k0 + w * (BA_SPL / MA_WARPS);
    for (int kb = kw0; kb < k1 && kb < kw0 + BA_SPL / MA_WARPS; kb += MA_KS) {
        /* this step's keys and values, all loads in flight at once */
        const bf16 *kr0 = ma_row(kv, kv.K, a, gk, sq, kb + g, k1);
        const bf16 *kr1 = ma_row(kv, kv.K, a, gk, sq, kb + g + 8, k1);
        u32x4 kx[2][4], vx[4][2];
        GPU_UNROLL
        for (int c = 0; c < 4; c++) {
            kx[0][c] = ma_ld(kr0, 32 * c + 8 * tq);
            kx[1][c] = ma_ld(kr1, 32 * c + 8 * tq);
        }
        GPU_UNROLL
        for (int r = 0; r < 4; r++) { /* keys 2tq, 2tq+1, 2tq+8, 2tq+9 */
            const bf16 *vr = ma_row(kv, kv.V, a, gk, sq, kb + 2 * tq + (r & 1) + 8 * (r >> 1), k1);
            vx[r][0] = ma_ld(vr, 16 * g);
            vx[r][1] = ma_ld(vr, 16 * g + 8);
        }
        /* scores: s[nc][0], [1] = key g, columns 2tq, 2tq+1 of tile nc;
         * s[nc][2], [3] = key g+8 */
        float s[NC][4];
        GPU_UNROLL
        for (int nc = 0; nc < NC; nc++)
            s[nc][0] = s[nc][1] = s[nc][2] = s[nc][3] = 0.0f;
        GPU_UNROLL
        for (int c = 0; c < 4; c++) {
            GPU_UNROLL
            for (int h = 0; h < 2; h++) {
                uint32_t af[4] = {ma_word(kx[0][c], 2 * h), ma_word(kx[1][c], 2 * h),
                                  ma_word(kx[0][c], 2 * h + 1), ma_word(kx[1][c], 2 * h + 1)};
                GPU_UNROLL
                for (int nc = 0; nc < NC; nc++) {
                    if (NC > 1 && !act[nc])
                        continue;
                    GPU_UNROLL
                    for (int i = 0; i < BM_SPLIT; i++) {
                        uint32_t bf[2] = {qsl[c][h][i][nc][lane][0], qsl[c][h][i][nc][lane][1]};
                        mma_bf16_16816(s[nc], af, bf);
                    }
                }
            }
        }
        /* online softmax per column over the step's 16 keys, then P^T as
         * the B operand: lane (g, tq) takes column g's probabilities of
         * keys 2tq, 2tq+1 (from lanes 8tq + g/2, 8tq + 4 + g/2, which hold
         * them as key g' = 2tq, 2tq+1 of their column pair) and of keys
         * 2tq+8, 2tq+9 (the same lanes' second key) */
        uint32_t pb0[NC][BM_SPLIT], pb1[NC][BM_SPLIT];
        GPU_UNROLL
        for (int nc = 0; nc < NC; nc++) {
            if (NC > 1 && !act[nc])
                continue;
            float p[2][2];
            GPU_UNROLL
            for (int cc = 0; cc < 2; cc++) {
                int kl = kb + g, kh = kb + g + 8;
                float s0 = kl < k1 && kl <= qp[nc][cc] ? s[nc][cc] * inv_sqrtd : -INFINITY;
                float s1 = kh < k1 && kh <= qp[nc][cc] ? s[nc][2 + cc] * inv_sqrtd : -INFINITY;
                float mx = fmaxf(s0, s1);
                GPU_UNROLL
                for (int off = 4; off < GPU_LANES; off <<= 1)
                    mx = fmaxf(mx, __shfl_xor(mx, off, GPU_LANES));
                float mn = fmaxf(m[nc][cc], mx);
                float resc = mn == -INFINITY ? 1.0f : expf(m[nc][cc] - mn);
                p[cc][0] = mn == -INFINITY ? 0.0f : expf(s0 - mn);
                p[cc][1] = mn == -INFINITY ? 0.0f : expf(s1 - mn);
                float ps = p[cc][0] + p[cc][1];
                GPU_UNROLL
                for (int off = 4; off < GPU_LANES; off <<= 1)
                    ps += __shfl_xor(ps, off, GPU_LANES);
                l[nc][cc] = l[nc][cc] * resc + ps;
                m[nc][cc] = mn;
                GPU_UNROLL
                for (int j = 0; j < 8; j++) {
                    o[j][nc][cc] *= resc;
                    o[j][nc][2 + cc] *= resc;
                }
            }
            int sa = 8 * tq + (g >> 1), sb = sa + 4, odd = g & 1;
            float a0 = __shfl(p[0][0], sa, GPU_LANES), a1 = __shfl(p[1][0], sa, GPU_LANES);
            float a2 = __shfl(p[0][1], sa, GPU_LANES), a3 = __shfl(p[1][1], sa, GPU_LANES);
            float b0 = __shfl(p[0][0], sb, GPU_LANES), b1 = __shfl(p[1][0], sb, GPU_LANES);
            float b2 = __shfl(p[0][1], sb, GPU_LANES), b3 = __shfl(p[1][1], sb, GPU_LANES);
            bm_split(odd ? a1 : a0, odd ? b1 : b0, pb0[nc]); /* keys 2tq, 2tq+1 */
            bm_split(odd ? a3 : a2, odd ? b3 : b2, pb1[nc]); /* keys 2tq+8, 2tq+9 */
        }
        GPU_UNROLL
        for (int j = 0; j < 8; j++) {
            /* dims 16g+2j (low halves) and 16g+2j+1 (high) of the four keys */
            uint32_t x0 = ma_word(vx[0][j / 4], j % 4), x1 = ma_word(vx[1][j / 4], j % 4);
            uint32_t x2 = ma_word(vx[2][j / 4], j % 4), x3 = ma_word(vx[3][j / 4], j % 4);
            uint32_t af[4] = {(x0 & 0xffffu) | (x1 << 16), (x0 >> 16) | (x1 & 0xffff0000u),
                              (x2 & 0xffffu) | (x3 << 16), (x2 >> 16) | (x3 & 0xffff0000u)};
            GPU_UNROLL
            for (int nc = 0; nc < NC; nc++) {
                if (NC > 1 && !act[nc])
                    continue;
                GPU_UNROLL
                for (int i = 0; i < BM_SPLIT; i++) {
                    uint32_t bf[2] = {pb0[nc][i], pb1[nc][i]};
                    mma_bf16_16816(o[j][nc], af, bf);
                }
            }
        }
    }
    /* the warps' states, merged in warp order */
    GPU_UNROLL
    for (int nc = 0; nc < NC; nc++)
        GPU_UNROLL
        for (int cc = 0; cc < 2; cc++) {
            int r = 8 * nc + 2 * tq + cc;
            if (g == 0) {
                wm[w][r] = m[nc][cc];
                wl[w][r] = l[nc][cc];
            }
            GPU_UNROLL
            for (int j = 0; j < 8; j++) {
                wo[w][r][16 * g + 2 * j] = o[j][nc][cc];
                wo[w][r][16 * g + 2 * j + 1] = o[j][nc][2 + cc];
            }
        }
    __syncthreads();
    int e = tid; /* MA_THREADS == MA_D */
    for (int r = 0; r < nrows; r++) {
        float M = -INFINITY;
        for (int v = 0; v < MA_WARPS; v++)
            M = fmaxf(M, wm[v][r]);
        if (M == -INFINITY)
            continue; /* the row's position is before the split */
        float L = 0.0f, O = 0.0f;
        for (int v = 0; v < MA_WARPS; v++) {
            float f = expf(wm[v][r] - M);
            L += wl[v][r] * f;
            O += wo[v][r][e] * f;
        }
        int i = i0 + r / G, h = gk * G + r % G;
        float *pp = part + ((size_t)(t.poff[i] + sp) * nq + h) * (size_t)(MA_D + 2);
        if (e == 0) {
            pp[0] = M;
            pp[1] = L;
        }
        pp[2 + e] = O;
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
                  int kind, int wide, const float *q, int nq, bkv kv, float *part, float *out)
{
    if (grid > 0 && kind == GPU_ATTN_WARP) {
        dim3 g((unsigned)((grid + BA_GROUPS - 1) / BA_GROUPS), (unsigned)kv.nk), blk(BA_THREADS);
        switch (kv.d / GPU_LANES) {
        case 1: hipLaunchKernelGGL(k_battn_w<1>, g, blk, 0, s, a, t, work, nwork, q, nq, kv, part); break;
        case 2: hipLaunchKernelGGL(k_battn_w<2>, g, blk, 0, s, a, t, work, nwork, q, nq, kv, part); break;
        default: hipLaunchKernelGGL(k_battn_w<4>, g, blk, 0, s, a, t, work, nwork, q, nq, kv, part); break;
        }
    } else if (grid > 0 && kind == GPU_ATTN_MMA && kv.bf16 && kv.d == MA_D) {
        if (wide)
            hipLaunchKernelGGL(k_battn_mma<2>, dim3((unsigned)grid, (unsigned)kv.nk),
                               dim3(MA_THREADS), 0, s, a, t, work, nwork, q, nq, kv, part);
        else
            hipLaunchKernelGGL(k_battn_mma<1>, dim3((unsigned)grid, (unsigned)kv.nk),
                               dim3(MA_THREADS), 0, s, a, t, work, nwork, q, nq, kv, part);
    } else if (grid > 0 && kind == GPU_ATTN_PIPE && kv.bf16) {
        dim3 g((unsigned)grid, (unsigned)kv.nk), blk(BA_THREADS);
        switch (kv.d / GPU_LANES) {
        case 1: hipLaunchKernelGGL((k_battn<1, true>), g, blk, 0, s, a, t, work, nwork, q, nq, kv, part); break;
        case 2: hipLaunchKernelGGL((k_battn<2, true>), g, blk, 0, s, a, t, work, nwork, q, nq, kv, part); break;
        default: hipLaunchKernelGGL((k_battn<4, true>), g, blk, 0, s, a, t, work, nwork, q, nq, kv, part); break;
        }
    } else if (grid > 0) {
        dim3 g((unsigned)grid, (unsigned)kv.nk), blk(BA_THREADS);
        switch (kv.d / GPU_LANES) {
        case 1: hipLaunchKernelGGL((k_battn<1, false>), g, blk, 0, s, a, t, work, nwork, q, nq, kv, part); break;
        case 2: hipLaunchKernelGGL((k_battn<2, false>), g, blk, 0, s, a, t, work, nwork, q, nq, kv, part); break;
        default: hipLaunchKernelGGL((k_battn<4, false>), g, blk, 0, s, a, t, work, nwork, q, nq, kv, part); break;
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

/* What a draw keeps of a row: the tokens up to (key1, id1) and up to
 * (key2, id2) in the walk's order (decreasing logit, lower id first on
 * ties: key > K, or key == K and id <= I), with p >= minp.  {0, INT_MAX}
 * keeps every token. */
typedef struct {
    unsigned k1, k2;
    int i1, i2;
    double minp;
} bkeep;

/* Token i's weight under keep: its mass p = exp((x - mx) * inv_t) where
 * that is >= 1e-12 and keep holds it (1 each by_count), else 0. */
static __device__ double bweight(const float *xr, int i, double mx, double inv_t,
                                 const bkeep &kp, int by_count)
{
    float xi = xr[i];
    double z = ((double)xi - mx) * inv_t;
    if (!(z >= log(1e-12)))
        return 0.0;
    unsigned k = flt_key(xi);
    if (k < kp.k1 || (k == kp.k1 && i > kp.i1) || k < kp.k2 || (k == kp.k2 && i > kp.i2))
        return 0.0;
    double p = exp(z);
    if (p < kp.minp)
        return 0.0;
    return by_count ? 1.0 : p;
}

/* The place in the walk's order of a row's kept tokens where the running
 * weight (total `total`) passes target (exceeds it; reaches it when
 * inclusive): *key and *id of that token.  8 passes fix its key 4 bits at a
 * time (16 bucket weights per pass), then a scan in id order runs over the
 * tokens of that key.  Where rounding leaves target past the total: the
 * last token with weight (or fallback when there is none).  Every sum has a
 * fixed order, so the place does not depend on other rows. */
static __device__ void blocate(const float *xr, int lim, double mx, double inv_t,
                               const bkeep &kp, int by_count, double target, int inclusive,
                               int fallback, double *sd, int *bi, int *bj, unsigned *key_out,
                               int *id_out)
{
    int tid = (int)threadIdx.x;
    double before = 0.0;
    unsigned key = 0;
    for (int sh = 28; sh >= 0; sh -= 4) {
        double bm[16];
        for (int d = 0; d < 16; d++)
            bm[d] = 0.0;
        for (int i = tid; i < lim; i += 1024) {
            unsigned k = flt_key(xr[i]);
            if (sh < 28 && (k >> (sh + 4)) != (key >> (sh + 4)))
                continue;
            bm[(k >> sh) & 15] += bweight(xr, i, mx, inv_t, kp, by_count);
        }
        int pick = -1, last = -1;
        double lastm = 0.0;
        for (int d = 15; d >= 0; d--) {
            double t = dsum(bm[d], sd);
            if (pick >= 0 || t <= 0.0)
                continue;
            last = d;
            lastm = t;
            if (inclusive ? before + t >= target : before + t > target)
                pick = d;
            else
                before += t;
        }
        if (pick < 0) { /* rounding: the last bucket with weight */
            pick = last >= 0 ? last : 0;
            before -= lastm;
        }
        key |= (unsigned)pick << sh;
    }
    /* the tokens of that key, in id order: the first whose running weight
     * passes the target, else (rounding) the last of them */
    int hit = lim, lastid = -1;
    for (int c0 = 0; c0 < lim && hit == lim; c0 += 1024) {
        int i = c0 + tid;
        double p = i < lim && flt_key(xr[i]) == key ? bweight(xr, i, mx, inv_t, kp, by_count)
                                                    : 0.0;
        sd[tid] = p;
        __syncthreads();
        for (int w = 1; w < 1024; w <<= 1) { /* inclusive scan, fixed order */
            double o = tid >= w ? sd[tid - w] : 0.0;
            __syncthreads();
            sd[tid] += o;
            __syncthreads();
        }
        double run = before + sd[tid];
        bi[tid] = p > 0.0 && (inclusive ? run >= target : run > target) ? i : lim;
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
    *key_out = key;
    *id_out = hit < lim ? hit : lastid >= 0 ? lastid : fallback;
}

/* The total weight of a row's kept tokens (every thread gets it). */
static __device__ double btotal(const float *xr, int lim, double mx, double inv_t,
                                const bkeep &kp, int by_count, double *sd)
{
    double m = 0.0;
    for (int i = (int)threadIdx.x; i < lim; i += 1024)
        m += bweight(xr, i, mx, inv_t, kp, by_count);
    return dsum(m, sd);
}

/* Row j: the lowest index of its largest value below its limit, or, where
 * sp[j].inv_t > 0, a draw by smp_sample's rule: the tokens with p = exp((x
 * - max) * inv_t) >= 1e-12, in the walk's order (decreasing p, lower id
 * first on ties); top-k keeps the first k, top-p the shortest prefix whose
 * mass reaches top_p of the total, min-p those with p >= min_p; the draw is
 * the first whose running mass passes u times the mass kept.  Each place
 * (the k-th token, where the mass reaches top_p, the draw) is found by
 * blocate, without sorting. */
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
    if (!(inv_t > 0.0) || !(bv[0] > -INFINITY)) { /* greedy, or no finite logit */
        if (tid == 0)
            out[row] = best;
        return;
    }
    __syncthreads();
    double mx = (double)bv[0];
    bsamp q = sp[row];
    bkeep kp = {0u, 0u, INT_MAX, INT_MAX, 0.0};
    unsigned key;
    int id;
    if (q.top_k > 0 && (double)q.top_k < btotal(xr, lim, mx, inv_t, kp, 1, sd)) {
        blocate(xr, lim, mx, inv_t, kp, 1, (double)q.top_k, 1, best, sd, bi, bj, &key, &id);
        kp.k1 = key;
        kp.i1 = id;
    }
    if (q.top_p > 0.0 && q.top_p < 1.0) {
        double t = q.top_p * btotal(xr, lim, mx, inv_t, kp, 0, sd);
        blocate(xr, lim, mx, inv_t, kp, 0, t, 1, best, sd, bi, bj, &key, &id);
        kp.k2 = key;
        kp.i2 = id;
    }
    kp.minp = q.min_p > 0.0 ? q.min_p : 0.0;
    double target = q.u * btotal(xr, lim, mx, inv_t, kp, 0, sd);
    blocate(xr, lim, mx, inv_t, kp, 0, target, 0, best, sd, bi, bj, &key, &id);
    if (tid == 0)
        out[row] = id;
}

void kb_argmax(hipStream_t s, int rows, const float *x, int n, const int *n_valid,
               const bsamp *sp, int *out)
{
    if (rows > 0)
        hipLaunchKernelGGL(k_bpick, dim3((unsigned)rows), dim3(1024), 0, s, x, n, n_valid, sp, out);
}
