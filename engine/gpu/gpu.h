/*
 * gpu.h — the HIP backend's C interface (engine/gpu/).
 *
 * The kernels are written once in HIP (kernels.hip) and built three ways:
 * `make GPU=hip` with hipcc for AMD, `make GPU=cuda` with nvcc through the
 * project's own HIP-on-CUDA header (compat/nvidia/), and `make GPU=emu`
 * with the host C++ compiler through a CPU emulation of the HIP runtime
 * (compat/cpu/), which is how the kernels are tested on machines without
 * a GPU.  The default CPU build links none.c instead, whose calls all say
 * that the binary was built without GPU support.
 *
 * Numerics: bf16 weights (f32 and f16 checkpoints are rounded to bf16 on
 * upload), f32 activations, f32 accumulation, f32 K/V cache, f32 logits.
 *
 * gpu_ctx runs one sequence, a token per step (the single-sequence decode
 * path, captured as a graph); gpu_batch runs many (below).
 */
#ifndef ZEVAL_GPU_H
#define ZEVAL_GPU_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

struct eng_model;
typedef struct gpu_ctx gpu_ctx;

/* "none", "cuda", "hip" or "emu": what this binary was built with. */
const char *gpu_build(void);

/* 1 when a device is usable (desc: its name, memory and build), 0 when
 * not (desc: why, e.g. "no GPU: hipGetDeviceCount: no device"). */
int gpu_probe(char *desc, size_t len);

/* Uploads m's weights (bf16) and allocates one sequence's state for up to
 * max_ctx tokens.  NULL with a message on error (no device, out of device
 * memory, an unsupported shape). */
gpu_ctx *gpu_open(const struct eng_model *m, int max_ctx, char *err, size_t errlen);
void gpu_close(gpu_ctx *g);

/* Empties the sequence (position 0), growing the capacity to at least
 * need tokens (the K/V cache is reallocated when it grows). */
int gpu_reset(gpu_ctx *g, int need, char *err, size_t errlen);
/* Tokens in the sequence so far. */
int gpu_len(const gpu_ctx *g);

/* One decode step: feeds token at position gpu_len(g).  When logits is
 * non-NULL the step's V logits are copied there; when argmax is non-NULL
 * it gets the lowest id among the largest logits below n_valid (0: all),
 * computed on the device.  0, or -1 with a message. */
int gpu_step(gpu_ctx *g, int32_t token, float *logits, int n_valid, int32_t *argmax, char *err,
             size_t errlen);

/* For benchmarks: continue as if pos tokens were cached (0 <= pos < cap;
 * the cache holds whatever it held, zeros after gpu_open). */
int gpu_seek(gpu_ctx *g, int pos, char *err, size_t errlen);

/* How decode steps run (the same values up to the last bits of sums):
 *   GPU_STEP_GRAPH       the step's launches (4 per sub-layer) captured once
 *                        as a graph and replayed: the default;
 *   GPU_STEP_PLAIN       the same launches, not captured;
 *   GPU_STEP_PERSISTENT  one cooperative launch for the whole step: as many
 *                        blocks as fit on the device at once run its phases
 *                        with a grid barrier between them, each phase's
 *                        weights asked into L2 by an earlier one;
 *   GPU_STEP_PHASES      those phases as one launch each, no barriers.
 * gpu_open starts with ZEVAL_GPU_STEP=graph|plain|persistent|phases
 * (default graph); ZEVAL_GPU_STEP_BLOCKS=N caps the persistent step at N
 * blocks per multiprocessor (default: as many as fit).  A mode the runtime cannot run (a graph that fails to
 * capture, a cooperative launch refused) is said on stderr once, and the
 * steps run as plain launches, or as graphs, instead. */
enum { GPU_STEP_GRAPH, GPU_STEP_PLAIN, GPU_STEP_PERSISTENT, GPU_STEP_PHASES };
void gpu_set_step(gpu_ctx *g, int mode);
/* Whether the graph and plain steps' launches ask later launches'
 * weights, and the attention's cached keys and values, into L2 (engine.hip
 * says which; the same values either way).  gpu_open starts with
 * ZEVAL_GPU_PREFETCH=0|1 (default 0). */
void gpu_set_prefetch(gpu_ctx *g, int on);
/* Whether the graph and plain steps' kernels are launched with
 * programmatic dependent launch (each loads its weights while the one
 * before ends; kernels.hip says how; the same values either way).  Only
 * an NVIDIA build can (gpu_pdl_built); elsewhere the launches stay plain.
 * One setting for the process (another context's graph captured before
 * keeps the launches it was captured with).  gpu_open starts with
 * ZEVAL_GPU_PDL=0|1 (default 0). */
void gpu_set_pdl(gpu_ctx *g, int on);
/* Whether the graph and plain steps' attention takes its keys in steps of
 * 8 (kl_attention's oct: 4 lanes a key, all of a step's loads at once)
 * rather than in tiles of 32 (a lane a key); other sums (the persistent
 * step keeps the tiles).  gpu_open starts with ZEVAL_GPU_SEQ_ATTN=tile|step8
 * (default tile). */
void gpu_set_seq_attn(gpu_ctx *g, int step8);
int gpu_pdl_built(void);
/* How the last step ran (a GPU_STEP_ value). */
int gpu_ran_step(const gpu_ctx *g);
/* "graph", "plain", "persistent", "phases" (NULL for another value), and
 * the mode of such a name (-1 for another). */
static inline const char *gpu_step_name(int mode)
{
    static const char *const name[] = {"graph", "plain", "persistent", "phases"};
    return mode >= 0 && mode < 4 ? name[mode] : NULL;
}
static inline int gpu_step_mode(const char *name)
{
    for (int i = 0; name && gpu_step_name(i); i++)
        if (strcmp(name, gpu_step_name(i)) == 0)
            return i;
    return -1;
}

/* For measurements: the persistent step's grid (blocks of 128 threads)
 * and phases, and the microseconds one of its grid barriers takes alone
 * (the best of 3 launches of n barriers each).  0, or -1 with a message. */
int gpu_step_shape(gpu_ctx *g, int *blocks, int *phases, char *err, size_t errlen);
double gpu_barrier_us(gpu_ctx *g, int n, char *err, size_t errlen);

/* Per-kernel timing, for measurements: while on, steps run as plain
 * launches with an event recorded after each, and the time between
 * consecutive events is summed per kind of kernel; gpu_profile_print
 * prints each kind's milliseconds per step and share.  Turning it on
 * clears the sums.  0, or -1 with a message. */
int gpu_profile(gpu_ctx *g, int on, char *err, size_t errlen);
void gpu_profile_print(const gpu_ctx *g, FILE *out);

/* Device-to-device copy bandwidth in GB/s (10^9 bytes/s), read + write,
 * over a buffer of bytes, best of passes.  -1 with a message on error. */
double gpu_copy_bandwidth(size_t bytes, int passes, char *err, size_t errlen);

/* Routing decisions of every step so far, [n_sub/2][E+1] (MoE sub-layer
 * j's slot counts at j*(E+1)); NULL for a CPU-only build. */
const uint64_t *gpu_routing(const gpu_ctx *g);

/* Bytes one decode step reads at context ctx (DESIGN.md's roofline
 * definition: weights of one token's path, the one routed expert per MoE
 * layer, the LM head, the K/V cache as stored on the device). */
double gpu_step_bytes(const gpu_ctx *g, int ctx);

/*
 * Compares every kernel with a host reference on fresh random inputs
 * (relative norm error <= 1e-5 for f32 paths, <= 1e-2 where bf16 operands
 * are involved; NaN never passes), printing one line per check to out:
 * "PASS name: detail" or "FAIL name: detail".  Returns the failures
 * (0: all passed), or -1 with a message when no device is usable.
 */
int gpu_selftest_kernels(FILE *out, uint64_t seed, char *err, size_t errlen);

/*
 * The batched engine (batch.hip, kernels in bkernels.hip): many sequences
 * in flight, each step a decode token or a run of prompt tokens per
 * sequence, over a paged K/V cache (pages of GPU_PAGE tokens, shared by
 * reference between forked sequences).  A sequence's logits are
 * bit-identical whatever else runs in its steps and however its prompt
 * is cut into runs (bkern.h says how), so forking from a shared prefix
 * changes no number.
 */
enum { GPU_PAGE = 64 };
typedef struct gpu_batch gpu_batch;

/* Uploads m's weights and allocates: seqs sequence slots, each up to
 * max_ctx tokens, steps of up to max_step tokens, and a K/V pool of
 * kv_tokens tokens (rounded up to pages; 0: what the device has free,
 * less a margin for the step buffers).  NULL with a message on error. */
gpu_batch *gpu_batch_open(const struct eng_model *m, int seqs, int max_ctx, int max_step,
                          long long kv_tokens, char *err, size_t errlen);
void gpu_batch_close(gpu_batch *b);

/* A new empty sequence (its slot, >= 0), or -1 with a message when every
 * slot is taken. */
int gpu_batch_seq_new(gpu_batch *b, char *err, size_t errlen);
/* A new sequence holding a copy of parent's (the full pages shared, a
 * partly filled last page copied); -1 with a message when no slot or
 * page is left. */
int gpu_batch_seq_fork(gpu_batch *b, int parent, char *err, size_t errlen);
void gpu_batch_seq_free(gpu_batch *b, int seq);
int gpu_batch_seq_len(const gpu_batch *b, int seq);
/* Pages (of GPU_PAGE tokens) not in use. */
long long gpu_batch_free_pages(const gpu_batch *b);
/* For benchmarks: sets seq's length to len, taking pages as needed (the
 * cache holds whatever those pages held). */
int gpu_batch_seek(gpu_batch *b, int seq, int len, char *err, size_t errlen);

/* One run of new tokens of a sequence in a step.  logits (V floats) and
 * argmax, when non-NULL, get the last token's logits and the lowest id
 * among their largest values below n_valid (<= 0: all).  With inv_t > 0,
 * *argmax gets a draw instead, made on the device: smp_sample's rule with
 * temperature 1/inv_t and the filters top_k, top_p and min_p (top_k 0,
 * top_p 0 or 1, min_p 0: off), from the uniform u in [0, 1) (smp_uniform
 * of the request's seed and counter). */
typedef struct {
    int seq;
    const int32_t *ids;
    int n;
    float *logits;
    int n_valid;
    int32_t *argmax;
    double inv_t, u;
    int top_k;
    double top_p, min_p;
} gpu_run;

/* Runs the runs (distinct sequences, at most max_step tokens in all) as
 * one step.  On error nothing is fed.  0, or -1 with a message. */
int gpu_batch_step(gpu_batch *b, const gpu_run *runs, int n, char *err, size_t errlen);

/* Steps whose shape (tokens, logits rows, attention work rounded up to
 * 64) repeats the step before run as captured graphs (up to 8 shapes
 * kept), 1 by default; 0: always plain launches.  gpu_batch_ran_graph:
 * whether the last step ran as a graph. */
void gpu_batch_use_graphs(gpu_batch *b, int on);
/* How attention runs (ZEVAL_GPU_ATTN=tile|warp|pipe|mma when the batch is
 * opened; the same partials bit for bit the first three ways):
 *   GPU_ATTN_TILE  tiles of up to 4 tokens sharing each K/V tile, loaded,
 *                  converted to f32 in shared memory, then computed (the
 *                  default);
 *   GPU_ATTN_WARP  a warp per token holding its query heads together,
 *                  reading the cache directly;
 *   GPU_ATTN_PIPE  the tiles copied as the bf16 cache holds them, the next
 *                  tile's copy in flight while one is computed (cp.async
 *                  on NVIDIA); a bf16 cache only;
 *   GPU_ATTN_MMA   bf16 tile products with f32 sums on tensor cores (the
 *                  queries and probabilities split in three bf16 each),
 *                  up to 8 rows of a KV head a block; a bf16 cache and
 *                  head_dim 128 only; its sums run in another order, so
 *                  its logits differ from the others' in the last bits
 *                  (and are as batch-invariant).
 * gpu_batch_set_attn: 0, or -1 with a message (pipe or mma over an f32
 * cache, mma at a head_dim other than 128).
 * gpu_batch_attn gives the one in use, gpu_batch_attn_kind names it. */
enum { GPU_ATTN_TILE, GPU_ATTN_WARP, GPU_ATTN_PIPE, GPU_ATTN_MMA, GPU_ATTN_KINDS };
/* A kind's name as ZEVAL_GPU_ATTN gives it ("tile", "warp", "pipe",
 * "mma"; NULL for no kind), and the kind of such a name (-1 for none). */
static inline const char *gpu_attn_name(int kind)
{
    static const char *const names[GPU_ATTN_KINDS] = {"tile", "warp", "pipe", "mma"};
    return kind >= 0 && kind < GPU_ATTN_KINDS ? names[kind] : NULL;
}

/* The kind k < n whose name(k) is name, or -1. */
static inline int gpu_kind_named(const char *(*kname)(int), int n, const char *name)
{
    for (int k = 0; k < n; k++)
        if (strcmp(name, kname(k)) == 0)
            return k;
    return -1;
}

static inline int gpu_attn_named(const char *name)
{
    return gpu_kind_named(gpu_attn_name, GPU_ATTN_KINDS, name);
}
int gpu_batch_set_attn(gpu_batch *b, int kind, char *err, size_t errlen);
int gpu_batch_attn(const gpu_batch *b);
const char *gpu_batch_attn_kind(const gpu_batch *b);
/* Per-kernel timing of batched steps, as gpu_profile does it for the
 * single-sequence path: while on, steps run as plain launches with an
 * event after each kind of kernel; gpu_batch_profile_print prints each
 * kind's milliseconds per step and share.  Turning it on clears the sums.
 * 0, or -1 with a message. */
int gpu_batch_profile(gpu_batch *b, int on, char *err, size_t errlen);
void gpu_batch_profile_print(const gpu_batch *b, FILE *out);
int gpu_batch_ran_graph(const gpu_batch *b);

/* Bytes a decode step of seqs sequences at context ctx reads (DESIGN.md:
 * weights once, each distinct expert used by the last step once, the K/V
 * of every sequence), and its multiply-add FLOPs (2 per weight per
 * token, plus attention's 4 * ctx * nq * d per token per layer). */
double gpu_batch_step_bytes(const gpu_batch *b, int seqs, int ctx);
double gpu_batch_step_flops(const gpu_batch *b, int seqs, int ctx);
/* The batched engine's own product (bf16 weights times f32 activations)
 * on n x n x n, in TFLOP/s (best of 3); -1 with a message on error. */
double gpu_gemm_tflops(int n, char *err, size_t errlen);
/* The K/V pool (GB), the most of it ever in use, and the device memory in
 * use now by everything (this process's weights, pool and buffers and any
 * other user; 0 when the runtime cannot say). */
void gpu_batch_memory(const gpu_batch *b, double *pool_gb, double *peak_gb, double *total_gb);
/* Routing decisions so far, [n_sub/2][E+1] as gpu_routing. */
const uint64_t *gpu_batch_routing(gpu_batch *b);
/* The K/V cache type ZEVAL_GPU_KV_DTYPE asks for: "bf16" (unset, empty or
 * "bf16") or "f32"; NULL for any other value. */
const char *gpu_kv_dtype_env(void);
/* What decides the batched engine's values beyond the K/V cache type, as
 * the environment and the device set it: "products tensor cores|SIMT,
 * attention SIMT|tensor cores" (tile, warp and pipe attention sum alike,
 * as do the two SIMT product kernels).  A run records it with its device,
 * and a resume refuses another one. */
const char *gpu_numerics_env(void);
/* What the K/V cache stores: "bf16" (the default, as the reference model
 * keeps it: each value rounded once as it is stored) or "f32"
 * (environment ZEVAL_GPU_KV_DTYPE=f32 when the batch was opened: twice
 * the bytes). */
const char *gpu_batch_kv_dtype(const gpu_batch *b);
/* Which kernels run its products: "tensor cores" (the default on NVIDIA
 * sm_80 and later; also ZEVAL_GPU_BMM=direct) or "SIMT" (ZEVAL_GPU_BMM=simt|plain,
 * AMD). */
const char *gpu_batch_gemm_kind(const gpu_batch *b);
/* The product kernels, by ZEVAL_GPU_BMM's names:
 *   GPU_BMM_TENSOR  tensor cores, big tiles staged through shared memory;
 *   GPU_BMM_SIMT    register-tiled SIMT kernels;
 *   GPU_BMM_PLAIN   SIMT, one output column a thread (simt's values);
 *   GPU_BMM_DIRECT  tensor cores, every warp reading its own operands
 *                   (tensor's values);
 *   GPU_BMM_BLAS    cuBLAS (rocBLAS on AMD) for every product of a step
 *                   of 64 tokens or more (each input split in three bf16
 *                   parts, three products summed in f32; the experts' one
 *                   per expert, the step not captured), direct's kernels
 *                   below: values that depend on the step's token count,
 *                   so not batch-invariant, and a run made so cannot be
 *                   resumed.
 * gpu_batch_set_bmm switches them for every batch of the process from the
 * next step on (b's captured steps are dropped); 0, or -1 with a message
 * for a kind out of range. */
enum { GPU_BMM_TENSOR, GPU_BMM_SIMT, GPU_BMM_PLAIN, GPU_BMM_DIRECT, GPU_BMM_BLAS, GPU_BMM_KINDS };
static inline const char *gpu_bmm_name(int kind)
{
    static const char *const names[GPU_BMM_KINDS] = {"tensor", "simt", "plain", "direct", "blas"};
    return kind >= 0 && kind < GPU_BMM_KINDS ? names[kind] : NULL;
}

static inline int gpu_bmm_named(const char *name)
{
    return gpu_kind_named(gpu_bmm_name, GPU_BMM_KINDS, name);
}
int gpu_batch_set_bmm(gpu_batch *b, int kind, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
