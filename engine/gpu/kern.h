/*
 * kern.h — the HIP backend's kernels as host-callable launches (defined
 * in kernels.hip; used by engine.hip and selftest.hip).
 *
 * Every launch is asynchronous on stream s and takes device pointers.
 * Weights are bf16 [rows][cols] row-major with cols a multiple of 8 and
 * 16-byte aligned rows; activations and the K/V cache are f32.
 * Per-step values that change between decode steps (the token and its
 * position) are read on the device from a gpu_io, so one captured graph
 * serves every step.
 */
#ifndef ZEVAL_GPU_KERN_H
#define ZEVAL_GPU_KERN_H

#include "gpu_compat.h"

/* A range of device memory to ask into L2. */
typedef struct {
    const void *p;
    size_t bytes;
} pk_range;

/* What a launch of the decode step asks into L2 for the launches after
 * it, every block its 1/grid share of each range: up to PF_RANGES
 * ranges; with sel, the chosen expert's matrix (expert + *sel *
 * expert_n values, nothing for the skip slot *sel >= E); with kv_k, the
 * cached keys and values of positions 0..min(io->pos, PK_KV_PF - 1)
 * (kv_heads heads kv_stride floats apart, kv_d floats a position).  A
 * hint: the launch computes the same either way.  NULL: none. */
enum { PF_RANGES = 8 };
typedef struct {
    pk_range r[PF_RANGES];
    const bf16 *expert;
    const int *sel;
    size_t expert_n;
    int E;
    const float *kv_k, *kv_v;
    int kv_heads, kv_d;
    size_t kv_stride;
} gpu_pf;

/* What a decode step reads on the device. */
typedef struct {
    int token;
    int pos;
    int n_valid;    /* argmax over ids below this (<= 0: all) */
} gpu_io;

/* Up to 4 products y_i = W_i x (+ b_i) over the same x, in one launch.
 * A product with pslot > 0 writes y_i + ((pos + 1) % 2) * pslot: the
 * slot of the next position, for state the current step still reads. */
enum { GEMV_SET = 4 };
typedef struct {
    const bf16 *w[GEMV_SET];
    const float *bias[GEMV_SET];  /* NULL: none */
    float *y[GEMV_SET];
    int rows[GEMV_SET];
    int pslot[GEMV_SET];
    int n;
} gemv_set;

/* First block of each product of a gemv_set launch, and the end. */
typedef struct {
    int b0[GEMV_SET + 1];
} gemv_blocks;

/* Merge parameters of one sub-layer (NULL scale: plain addition). */
typedef struct {
    const float *hs, *hb, *rs, *rb;
} merge_w;

/* The sub-layer input a product can compute itself: with merge,
 * r = (res_in + rb) * rs + (y + hb) * hs (or res_in + y), else r =
 * res_in; x = rmsnorm(r; norm, eps).  Every block computes x (H = the
 * product's cols) in shared memory; block 0 also stores r to res_out and
 * x to xn for the kernels that follow.  res_in and res_out must differ
 * (the other blocks still read res_in). */
typedef struct {
    const float *res_in, *y;
    float *res_out, *xn;
    merge_w mw;
    int merge;
    const float *norm;
    float eps;
} norm_in;

/* Shapes and weights of one attention sub-layer's CCA step. */
typedef struct {
    int nq, nk, d, rot, K0, K1, cap;
    const float *conv0_w, *conv0_b;   /* [C*K0], [C] */
    const bf16 *conv1_w;              /* [C][K1*d], tap-major */
    const float *conv1_b, *temp;      /* [C], [nk] */
    const float *inv_freq;            /* [rot/2] */
} cca_w;

/* The router of one MoE sub-layer. */
typedef struct {
    int R, S, E;
    float eps;
    const float *state_scale;         /* NULL: first MoE sub-layer or no EDA */
    const float *norm;
    const bf16 *w0, *w2, *w4;         /* [R][R], [R][R], [S][R] */
    const float *b0, *b2, *balance;
} router_w;

/* The router run by the last block of a product (kl_gemv_router). */
typedef struct {
    router_w w;
    float *eda;
    int *sel;
    float *gate;
    int *count;     /* zero before the launch, zero again after it */
} router_tail;

/* Attention splits of the decode kernel (fixed, so graphs stay valid),
 * and where a split's partial of a head keeps its outputs: after its
 * maximum, its sum and 2 floats of padding, so that they start 16-byte
 * aligned (d + ATT_PAD floats a partial). */
enum { ATT_SPLITS = 128, ATT_PAD = 4 };

/* res = (embed[token] + hb) * hs  (or the row itself without scaling). */
void kl_embed(hipStream_t s, const bf16 *embed, int H, const gpu_io *io, const float *hs,
              const float *hb, float *res, const gpu_pf *pf);
/* The products of set over x (cols wide), or, when nin is non-NULL, over
 * the normalised sub-layer input it describes (x unused). */
void kl_gemv(hipStream_t s, const gemv_set *set, const float *x, int cols, const norm_in *nin,
             const gpu_io *io, const gpu_pf *pf);
/* The router's down projection (set: one product, its output r) on the
 * sub-layer input of nin, and the rest of the router (kl_router on r) in
 * the same launch, by its last block to finish. */
void kl_gemv_router(hipStream_t s, const gemv_set *set, const norm_in *nin, int cols,
                    const gpu_io *io, const router_tail *tail);
/* The sub-layer input of nin alone (res_out and xn, H wide), in one
 * block: for a product with so many blocks that each computing the norm
 * would cost more than a launch (the LM head). */
void kl_norm(hipStream_t s, const norm_in *nin, int H);
/* y = W[*sel] x for the expert chosen in *sel (nothing when *sel >= E);
 * all: the E experts' [rows][cols] matrices one after the other. */
void kl_gemv_expert(hipStream_t s, const bf16 *all, const int *sel, int E, int rows,
                    int cols, const float *x, float *y, const gpu_pf *pf);
/* The expert's down projection (all: E matrices [H][I]) of SiLU(a[:I]) *
 * a[I:], times *gate, into y (H rows); for the skip slot (*sel == E)
 * y = *gate * xn, or 0 when skip_zero. */
void kl_expert_down(hipStream_t s, const bf16 *all, const int *sel, int E, int H, int I,
                    const float *a, const float *gate, const float *xn, int skip_zero, float *y,
                    const gpu_pf *pf);
/* The router on r (R, down-projection output with bias): EDA update of
 * eda, RMSNorm, the MLP, softmax over S slots, biased top-1; writes *sel
 * and *gate (the unbiased probability). */
void kl_router(hipStream_t s, const router_w *w, float *r, float *eda, int *sel, float *gate);
/* CCA for the token at io->pos: both convolutions over the ring of raw
 * projections (ring: [K0+K1-1][C], slot pos % (K0+K1-1)), the mixing
 * with the pre-conv projections, L2 norms, key temperature, RoPE; queries
 * to q [nq*d]; key and value (vc, then the delayed half from slot pos % 2
 * of vd [2][nk*d/2], split per head) into Kc/Vc [nk][cap][d] at pos; u (C)
 * stored into the ring.  z: C floats of scratch (the convolution output).
 * One launch: the convolutions as a product over C/8 blocks, each head
 * finished by the last of its blocks; count: nq+nk ints, zero before the
 * launch and zero again after it. */
void kl_cca(hipStream_t s, const cca_w *w, const gpu_io *io, const float *u, float *ring,
            const float *vc, const float *vd, float *z, float *q, float *Kc, float *Vc,
            int *count);
/* Causal attention of the queries q [nq*d] over keys 0..io->pos of Kc/Vc
 * (G = nq/nk query heads per KV head), split in ATT_SPLITS parts; the
 * last part of a KV head to finish combines them into out [nq*d].
 * part: ATT_SPLITS*nq*(d+ATT_PAD) floats of scratch; count: nk ints, zero
 * before the launch and zero again after it.  oct: each group of 32
 * threads takes its keys in steps of 8 (4 lanes a key, every load of a
 * step issued at once, the next step's during this one; parts of at least
 * 32 keys), else in tiles of 32 (a lane a key; parts of at least 128):
 * other sums, both within 1e-5 of exact. */
void kl_attention(hipStream_t s, const float *q, const float *Kc, const float *Vc, int nq, int nk,
                  int d, int cap, const gpu_io *io, float *part, int *count, float *out, int oct);
/* *out = the lowest index of the largest x[i] for i < n, and i below
 * io->n_valid when that is positive. */
void kl_argmax(hipStream_t s, const float *x, int n, const gpu_io *io, int *out);

/* ------------------------------------------------ the persistent step */

/* A whole decode step as one launch of k_step (kl_step): PK_THREADS
 * threads a block, as many blocks as fit on the device at once, running
 * the step's phases in order with a grid barrier between them.  A phase
 * is nvb virtual blocks of work, block b taking b, b + grid, ...; its
 * weights are read where they were asked into L2 by an earlier phase's
 * prefetches (pf: each block asks for its 1/grid share of each range). */
enum { PK_EMBED, PK_QKV, PK_CONV, PK_ATTN, PK_O, PK_RDOWN, PK_R0, PK_R1, PK_FC1, PK_FC2, PK_LM,
       PK_KINDS };
enum { PK_THREADS = 128, PK_ROWS = 8, PK_KV_PF = 2048 }; /* product rows: 2 a group */
typedef struct {
    int kind, nvb;
    /* EMBED: res (set.y[0]) = embedding row of io->token (emb), merged by
     * nin.mw's hs/hb.  Products (QKV, O, RDOWN, LM): set over the input
     * of nin (use_norm; block 0 stores it) or x, cols wide; bl in
     * PK_ROWS-row virtual blocks. */
    const bf16 *emb;
    gemv_set set;
    gemv_blocks bl;
    norm_in nin;
    int use_norm, cols;
    const float *x;
    /* CONV, ATTN: as kl_cca and kl_attention */
    cca_w cca;
    const float *u, *vc, *vd;
    float *ring, *z, *q, *K, *V, *part, *att;
    int *count;
    /* R0: eda_out = r + eda_in * state_scale, h1 = gelu(W0 rmsnorm + b0);
     * R1: h2 = gelu(W2 h1 + b2); FC1: the slot from W4 h2 (every block),
     * *sel and *gate by block 0, then the chosen expert's up/gate product
     * of xn into a; FC2: its down projection (or the skip slot) into y. */
    router_w rt;
    const float *r, *eda_in;
    float *eda_out, *h1, *h2;
    int *sel;
    float *gate;
    const bf16 *fc1, *fc2;
    int E, I, skip_zero;
    const float *xn;
    float *a, *y;
    /* LM: the argmax of the logits (set.y[0]) over ids below io->n_valid
     * into *am_out, through per-block partials am_v/am_i [grid] and the
     * last block (am_count, zero before and after) */
    float *am_v;
    int *am_i, *am_count, *am_out;
    /* what the phase asks into L2 (gpu_pf; its sel unused: FC1 asks for
     * pf.expert + e * pf.expert_n values once it has chosen e itself) */
    gpu_pf pf;
} pk_phase;

/* Blocks of k_step (head width d, shmem bytes of dynamic shared memory)
 * that fit on the device at once, at most per_sm on each multiprocessor
 * (0: no cap); 0 where the runtime cannot say. */
int kl_step_grid(int d, size_t shmem, int per_sm);
/* Phases ph[0..n) (device memory) of a step, as one cooperative launch of
 * grid blocks (bar: 2 unsigned, zero at first; phases = 0) or one launch
 * per phase (phases = 1).  tm (NULL:
 * none; ignored by phases): n + 1 device nanoseconds, the start of each
 * phase and the end, as block 0 saw them (0 off NVIDIA). */
hipError_t kl_step(hipStream_t s, int d, int grid, size_t shmem, const pk_phase *ph, int n,
                   const gpu_io *io, unsigned *bar, unsigned long long *tm, int phases);

/* n grid barriers of k_step's kind, alone, in one cooperative launch of
 * grid blocks: what a barrier costs. */
hipError_t kl_barriers(hipStream_t s, int grid, unsigned *bar, int n);

/* Launch the kernels above with programmatic dependent launch (NVIDIA;
 * kernels.hip says how); gpu_open sets it from ZEVAL_GPU_PDL, gpu_set_pdl
 * changes it. */
extern int gpu_pdl;

#endif
