/*
 * none.c — the GPU interface of a binary built without GPU support (the
 * default `make`): every call says so.  See gpu.h.
 */
#include "gpu.h"

#include "../util.h"

static const char why[] = "this zeval was built without GPU support (build with make GPU=cuda "
                          "or make GPU=hip)";

const char *gpu_build(void)
{
    return "none";
}

int gpu_probe(char *desc, size_t len)
{
    ut_err(desc, len, "%s", why);
    return 0;
}

gpu_ctx *gpu_open(const struct eng_model *m, int max_ctx, char *err, size_t errlen)
{
    (void)m;
    (void)max_ctx;
    ut_err(err, errlen, "%s", why);
    return NULL;
}

void gpu_close(gpu_ctx *g)
{
    (void)g;
}

int gpu_reset(gpu_ctx *g, int need, char *err, size_t errlen)
{
    (void)g;
    (void)need;
    return ut_err(err, errlen, "%s", why);
}

int gpu_len(const gpu_ctx *g)
{
    (void)g;
    return 0;
}

int gpu_step(gpu_ctx *g, int32_t token, float *logits, int n_valid, int32_t *argmax, char *err,
             size_t errlen)
{
    (void)g;
    (void)token;
    (void)logits;
    (void)n_valid;
    (void)argmax;
    return ut_err(err, errlen, "%s", why);
}

int gpu_seek(gpu_ctx *g, int pos, char *err, size_t errlen)
{
    (void)g;
    (void)pos;
    return ut_err(err, errlen, "%s", why);
}

void gpu_set_step(gpu_ctx *g, int mode)
{
    (void)g;
    (void)mode;
}

void gpu_set_prefetch(gpu_ctx *g, int on)
{
    (void)g;
    (void)on;
}

void gpu_set_pdl(gpu_ctx *g, int on)
{
    (void)g;
    (void)on;
}

void gpu_set_seq_attn(gpu_ctx *g, int step8)
{
    (void)g;
    (void)step8;
}

int gpu_pdl_built(void)
{
    return 0;
}

int gpu_ran_step(const gpu_ctx *g)
{
    (void)g;
    return GPU_STEP_PLAIN;
}

int gpu_step_shape(gpu_ctx *g, int *blocks, int *phases, char *err, size_t errlen)
{
    (void)g;
    (void)blocks;
    (void)phases;
    return ut_err(err, errlen, "%s", why);
}

double gpu_barrier_us(gpu_ctx *g, int n, char *err, size_t errlen)
{
    (void)g;
    (void)n;
    ut_err(err, errlen, "%s", why);
    return -1;
}

int gpu_profile(gpu_ctx *g, int on, char *err, size_t errlen)
{
    (void)g;
    (void)on;
    return ut_err(err, errlen, "%s", why);
}

void gpu_profile_print(const gpu_ctx *g, FILE *out)
{
    (void)g;
    (void)out;
}

double gpu_copy_bandwidth(size_t bytes, int passes, char *err, size_t errlen)
{
    (void)bytes;
    (void)passes;
    ut_err(err, errlen, "%s", why);
    return -1;
}

const uint64_t *gpu_routing(const gpu_ctx *g)
{
    (void)g;
    return NULL;
}

double gpu_step_bytes(const gpu_ctx *g, int ctx)
{
    (void)g;
    (void)ctx;
    return 0;
}

int gpu_selftest_kernels(FILE *out, uint64_t seed, char *err, size_t errlen)
{
    (void)out;
    (void)seed;
    return ut_err(err, errlen, "%s", why);
}

gpu_batch *gpu_batch_open(const struct eng_model *m, int seqs, int max_ctx, int max_step,
                          long long kv_tokens, char *err, size_t errlen)
{
    (void)m;
    (void)seqs;
    (void)max_ctx;
    (void)max_step;
    (void)kv_tokens;
    ut_err(err, errlen, "%s", why);
    return NULL;
}

void gpu_batch_close(gpu_batch *b)
{
    (void)b;
}

int gpu_batch_seq_new(gpu_batch *b, char *err, size_t errlen)
{
    (void)b;
    return ut_err(err, errlen, "%s", why);
}

int gpu_batch_seq_fork(gpu_batch *b, int parent, char *err, size_t errlen)
{
    (void)b;
    (void)parent;
    return ut_err(err, errlen, "%s", why);
}

void gpu_batch_seq_free(gpu_batch *b, int seq)
{
    (void)b;
    (void)seq;
}

int gpu_batch_seq_len(const gpu_batch *b, int seq)
{
    (void)b;
    (void)seq;
    return 0;
}

long long gpu_batch_free_pages(const gpu_batch *b)
{
    (void)b;
    return 0;
}

int gpu_batch_seek(gpu_batch *b, int seq, int len, char *err, size_t errlen)
{
    (void)b;
    (void)seq;
    (void)len;
    return ut_err(err, errlen, "%s", why);
}

int gpu_batch_step(gpu_batch *b, const gpu_run *runs, int n, char *err, size_t errlen)
{
    (void)b;
    (void)runs;
    (void)n;
    return ut_err(err, errlen, "%s", why);
}

double gpu_batch_step_bytes(const gpu_batch *b, int seqs, int ctx)
{
    (void)b;
    (void)seqs;
    (void)ctx;
    return 0;
}

double gpu_batch_step_flops(const gpu_batch *b, int seqs, int ctx)
{
    (void)b;
    (void)seqs;
    (void)ctx;
    return 0;
}

const uint64_t *gpu_batch_routing(gpu_batch *b)
{
    (void)b;
    return NULL;
}

const char *gpu_batch_kv_dtype(const gpu_batch *b)
{
    (void)b;
    return "bf16";
}

const char *gpu_kv_dtype_env(void)
{
    return "bf16"; /* no cache to hold anything */
}

const char *gpu_numerics_env(void)
{
    return "none";
}

const char *gpu_batch_gemm_kind(const gpu_batch *b)
{
    (void)b;
    return "none";
}

double gpu_gemm_tflops(int n, char *err, size_t errlen)
{
    (void)n;
    ut_err(err, errlen, "%s", why);
    return -1;
}

void gpu_batch_memory(const gpu_batch *b, double *pool_gb, double *peak_gb, double *total_gb)
{
    (void)b;
    *pool_gb = *peak_gb = *total_gb = 0;
}

void gpu_batch_use_graphs(gpu_batch *b, int on)
{
    (void)b;
    (void)on;
}

int gpu_batch_set_attn(gpu_batch *b, int kind, char *err, size_t errlen)
{
    (void)b;
    (void)kind;
    return ut_err(err, errlen, "%s", why);
}

int gpu_batch_set_bmm(gpu_batch *b, int kind, char *err, size_t errlen)
{
    (void)b;
    (void)kind;
    return ut_err(err, errlen, "%s", why);
}

int gpu_batch_attn(const gpu_batch *b)
{
    (void)b;
    return GPU_ATTN_TILE;
}

const char *gpu_batch_attn_kind(const gpu_batch *b)
{
    (void)b;
    return "none";
}

int gpu_batch_ran_graph(const gpu_batch *b)
{
    (void)b;
    return 0;
}

int gpu_batch_profile(gpu_batch *b, int on, char *err, size_t errlen)
{
    (void)b;
    (void)on;
    return ut_err(err, errlen, "%s", why);
}

void gpu_batch_profile_print(const gpu_batch *b, FILE *out)
{
    (void)b;
    (void)out;
}
