/*
 * bkern.h — the batched kernels of the HIP backend (bkernels.hip; used by
 * batch.hip): one step runs T tokens of many sequences at once, a decode
 * token or a run of prompt tokens per sequence, over a paged K/V cache.
 *
 * Batch invariance: every per-token value is computed by the same
 * arithmetic in the same order whatever else is in the step and however
 * a prompt is cut into chunks.  Products accumulate each output in an
 * order fixed by its row and K alone; attention walks a query's keys in splits and tiles fixed by
 * absolute position; the MoE sort only decides which block computes a
 * row, never how.  So a sequence's logits are bit-identical alone, in any
 * batch, prefilled whole or in pieces, or forked from a shared prefix.
 *
 * Tokens of one sequence in a step are consecutive, in position order.
 */
#ifndef ZEVAL_GPU_BKERN_H
#define ZEVAL_GPU_BKERN_H

#include "kern.h"

/* What the kernels know of each token of a step (device arrays, T each). */
typedef struct {
    const int *tok, *pos, *seq;
    const int *cs, *ce;     /* first and last position of the token's run in this step */
    const int *poff;        /* attention partials of the token start at poff * nq */
    int T;
} btok;

/* The paged K/V cache: page p of attention sub-layer a, head g holds
 * positions [P*j, P*j + P) of the sequence whose block table entry j is p,
 * at element (((p * natt + a) * nk + g) * P + t % P) * d of K and V, f32
 * or (bf16 set) bf16 rounded from the f32 values. */
typedef struct {
    void *K, *V;
    const int *bt;          /* [seqs][max_pages] */
    int max_pages, natt, nk, d, P, bf16;
} bkv;

/* Tiles of a product (tokens per block) and of attention. */
enum { BG_BT = 16, BG_THREADS = 256 };
enum { BA_QT = 4, BA_KT = 32, BA_SPL = 256, BA_THREADS = 256, BA_GMAX = 8 };

/* Y[r] = W X[r] (+ bias) for rows r of the product:
 *   x row: x + (xidx ? xidx[r] : r) * ldx, or, with swiglu, silu(x[k]) *
 *          x[K + k] of that row;
 *   y row: y + (yidx ? yidx[r] : r) * ldy, times yscale[that index] when
 *          yscale is non-NULL.
 * Plain: rows 0..T-1 and one W.  Grouped (tiles non-NULL): the device
 * table tiles[3 * j] = (expert, first row, rows) for j < *ntiles, expert
 * e's W at w + e * estride; at most max_tiles entries. */
typedef struct {
    const bf16 *w;
    size_t estride;
    const float *bias;
    int N, K;
    const float *x;
    int ldx, swiglu;
    const int *xidx;
    float *y;
    int ldy;
    const int *yidx;
    const float *yscale;
    int T;
    const int *tiles, *ntiles;
    int max_tiles;
    /* Scratch of T * K * 6 bytes (or NULL): where the tensor-core kernel
     * may leave each product row's inputs split into bf16 parts once,
     * rather than in every block of weight rows.  Same values either way.
     * ZEVAL_GPU_BMM=blas puts the three parts there as three T x K bf16
     * matrices for cuBLAS. */
    uint32_t *split;
    /* Scratch of T * N floats (or NULL): where ZEVAL_GPU_BMM=blas leaves
     * a product's rows before they are scattered (yidx). */
    float *yt;
} bgemm;

void kb_gemm(hipStream_t s, const bgemm *p);
/* Which kernels kb_gemm runs (ZEVAL_GPU_BMM or the device's default). */
const char *kb_gemm_kind(void);
/* 1 when ZEVAL_GPU_BMM is unset, empty or one of tensor, direct, simt,
 * plain; else 0 (kb_gemm would take the default). */
int kb_gemm_env_ok(void);
/* The kernels from now on: a GPU_BMM_ kind (gpu.h). */
void kb_gemm_set(int kind);
/* 1 when big tiles with split inputs take the staged kernel (k_bmms). */
int kb_gemm_staged(void);
/* The GPU_BMM_ kind in use (GPU_BMM_BLAS: cuBLAS or rocBLAS, gblas.h). */
int kb_gemm_mode(void);
/* 1 when a step of T tokens waits on the device inside kb_gemm (blas's
 * grouped products read the experts' row counts back): such a step cannot
 * be captured as a graph. */
int kb_gemm_host_sync(int T);
/* The first error of a product on the BLAS library since the last call (0: none;
 * -1 with its message), cleared by the call. */
int kb_gemm_error(char *err, size_t errlen);

/* res[i] = (embed[tok[i]] + hb) * hs, or the row itself. */
void kb_embed(hipStream_t s, const bf16 *embed, int H, btok t, const float *hs, const float *hb,
              float *res);

/* Per token: r = merge(res_in, y) (or res_in), res_out = r, xn =
 * rmsnorm(r).  Rows H apart. */
void kb_norm(hipStream_t s, int T, int H, const float *res_in, const float *y, float *res_out,
             float *xn, merge_w mw, int merge, const float *norm, float eps);

/* CCA of attention sub-layer a for every token:
 *   u: [T][ldu] with the raw projections (C), then vc (hv), then v2 (hv);
 *   ring: [seqs][natt][nr][C] raw projections of the last nr positions,
 *   vlast: [seqs][natt][hv] v2 of the last position;
 *   z: [T][C] scratch; q: [T][nq*d] out; K/V written into the pages.
 * kb_cca_state then stores each run's last frames and v2 (after every
 * reader of the old ones). */
void kb_cca(hipStream_t s, const cca_w *w, int a, btok t, const float *u, int ldu,
            const float *ring, const float *vlast, int natt, float *z, float *q, bkv kv);
void kb_cca_state(hipStream_t s, const cca_w *w, int a, btok t, const float *u, int ldu,
                  float *ring, float *vlast, int natt);

/* Attention of sub-layer a: work[3 * j] = (first token, tokens <= BA_QT,
 * split) for j < *nwork (read on the device; the launch has grid blocks,
 * grid >= *nwork, so a captured step serves every count up to grid),
 * tokens of one sequence; partials into part, then combined into out
 * [T][nq*d].  kind: the kernel, a GPU_ATTN_ value (gpu.h; PIPE needs a
 * bf16 cache, MMA that and d = 128, a warp takes items of one token);
 * wide: some item has more than 8 rows (MMA then takes two column tiles
 * a block, else one). */
void kb_attention(hipStream_t s, int a, btok t, const int *work, const int *nwork, int grid,
                  int kind, int wide, const float *q, int nq, bkv kv, float *part, float *out);

/* The router of every token (r: [T][R], eda: [T][R]) into sel[T],
 * gate[T]. */
void kb_router(hipStream_t s, const router_w *w, int T, float *r, float *eda, int *sel,
               float *gate);

/* Tokens grouped by expert: perm (rows in expert order), the grouped
 * products' tile table (tiles of BG_BT rows, experts only) and its count;
 * hist[slot] += tokens routed there. */
void kb_sort(hipStream_t s, int T, int S, int E, const int *sel, int *perm, int *tiles,
             int *ntiles, unsigned long long *hist);

/* y[i] for the tokens on the skip slot: gate * xn (0 with skip_zero). */
void kb_skip(hipStream_t s, int T, int H, int E, const int *sel, const float *gate,
             const float *xn, int skip_zero, float *y);

/* A logits row's pick: inv_t <= 0, the argmax; else a draw from u with
 * the filters (top_k 0, top_p 1, min_p 0: off). */
typedef struct {
    double u, inv_t, top_p, min_p;
    int top_k;
} bsamp;

/* out[j] = the lowest index of the largest x[j][i], i < n_valid[j] (or
 * n when that is <= 0); where sp (may be NULL) has sp[j].inv_t > 0, a
 * draw from row j's softmax at that inverse temperature instead, by
 * smp_sample's rule with sp[j]'s filters and uniform u. */
void kb_argmax(hipStream_t s, int rows, const float *x, int n, const int *n_valid,
               const bsamp *sp, int *out);

#endif
