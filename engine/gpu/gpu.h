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
 * Part 1 scope: one sequence in flight per gpu_ctx; a step is one token.
 */
#ifndef ZEVAL_GPU_H
#define ZEVAL_GPU_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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

/* Decode steps run as one captured graph (1, the default where the
 * runtime supports it) or as plain launches (0); for measurements. */
void gpu_use_graphs(gpu_ctx *g, int on);
/* Whether the last step ran as a graph (0 also when capturing failed: the
 * runtime said why on stderr, once). */
int gpu_ran_graph(const gpu_ctx *g);

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

#ifdef __cplusplus
}
#endif

#endif
