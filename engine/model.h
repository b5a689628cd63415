/*
 * model.h — a loaded ZAYA checkpoint and the CPU forward pass.
 *
 * eng_model_load() reads config.json, maps the safetensors file(s) (single
 * file or sharded through model.safetensors.index.json), recognises the
 * legacy or native tensor-name layout (spec §3), and checks every tensor's
 * name, shape and dtype against the config before anything is computed.
 * Matrices are used in place from the mapping (F32, BF16 or F16); the
 * small vectors (norms, biases, scales) are widened to float32 copies.
 *
 * The forward pass (forward.c) runs in float32 and takes a batch of
 * chunks, each a run of new tokens of one sequence continuing that
 * sequence's decode state (eng_seq).  A chunk of n tokens on an empty
 * state is a prefill; n = 1 is a decode step; n > 1 on a non-empty state
 * is chunked prefill.  Every per-token value is computed in a fixed order
 * that does not depend on the other rows of the batch, so a sequence's
 * logits are bit-identical whatever else runs with it.
 */
#ifndef ZEVAL_MODEL_H
#define ZEVAL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "safetensors.h"

/* A weight matrix [rows, cols] borrowed from a mapping (or owned, when the
 * file's alignment forced a copy). */
typedef struct {
    const void *p;
    st_dtype dt;
    int rows, cols;
} eng_mat;

typedef struct {
    /* merge into the residual stream before this sub-layer (spec §4) */
    float *hs, *hb;         /* branch-side scale/bias [H] (NULL without scaling) */
    float *rs, *rb;         /* residual-side scale/bias [H] (NULL for n = 0) */
    float *norm;            /* input RMSNorm weight [H] */
    /* attention (even n) */
    eng_mat wq, wk, wv1, wv2, wo;
    float *conv0_w, *conv0_b;   /* [C, K0], [C] */
    float *conv1_w, *conv1_b;   /* [C, K1*d] (tap-major: [o][tap*d + j]), [C] */
    float *temp;                /* [nk] (after clamp_temp, if set) */
    /* MoE (odd n) */
    eng_mat rdown, r0, r2, r4;
    float *rdown_b, *r0_b, *r2_b;
    float *rstate_scale;        /* [R]; NULL for the first MoE sub-layer or without EDA */
    float *reda_norm;           /* [R] */
    float *balance;             /* [E+1] */
    eng_mat *fc1, *fc2;         /* E each: [2I, H], [H, I] */
} eng_sublayer;

typedef enum { ENG_SKIP_SCALED_INPUT, ENG_SKIP_ZERO } eng_skip_mode;

typedef struct eng_model {
    eng_config cfg;
    eng_layout layout;          /* tensor-name layout found in the files */
    char *dir;                  /* checkpoint directory */
    char *weights_path;         /* file or index actually loaded */
    st_file **files;
    int nfiles;
    eng_sublayer *sub;          /* n_sub */
    eng_mat embed, lm_head;     /* lm_head aliases embed when tied */
    float *lm_head_b;           /* NULL unless lm_head_bias */
    float *final_hs, *final_hb, *final_rs, *final_rb, *final_norm;
    float *inv_freq;            /* [rot/2] */
    eng_skip_mode skip_mode;
    /* Optional routing histogram, [n_sub/2][slots]: when non-NULL, every
     * routing decision of MoE sub-layer 2j+1 increments [j][slot]. */
    uint64_t *route_counts;
    st_dtype weight_dtype;      /* dtype of the embedding (for reports) */
    uint64_t weight_bytes;      /* bytes of all tensors in the files */
    void **owned;               /* allocations freed with the model */
    int nowned, capowned;
} eng_model;

/*
 * Loads the checkpoint in dir.  weights, if non-NULL, overrides the weights
 * file (a .safetensors file or an index .json, as a path); otherwise dir's
 * model.safetensors.index.json or model.safetensors is used.  *out owns
 * everything (eng_model_free).
 */
int eng_model_load(const char *dir, const char *weights, eng_model **out, char *err,
                   size_t errlen);
void eng_model_free(eng_model *m);

/*
 * Parses and checks the text of a model.safetensors.index.json (path only
 * for messages) without opening any shard: 'weight_map' must be a
 * non-empty object whose values are plain file names (non-empty, no '/',
 * not ".."), each tensor listed once.  On success *names and *files (n
 * entries each, in the map's order) are malloc'd; free with
 * eng_index_free.  eng_model_load's index path goes through this.
 */
int eng_index_parse(const char *text, const char *path, char ***names, char ***files, int *n,
                    char *err, size_t errlen);
void eng_index_free(char **names, char **files, int n);

/* ------------------------------------------------------------ decode state */

/* Per-sequence decode state: conv window, delayed input and K/V of every
 * attention sub-layer (spec §7). */
typedef struct eng_seq eng_seq;

eng_seq *eng_seq_new(const eng_model *m);
void eng_seq_free(eng_seq *s);
void eng_seq_reset(eng_seq *s);
/* With on, every key and value is rounded to bf16 as it is stored (what
 * a bf16 K/V cache holds; the GPU batch engine's default), so a device
 * run with such a cache can be checked against this engine exactly.  Off
 * by default; kept across eng_seq_reset. */
void eng_seq_kv_bf16(eng_seq *s, int on);
/* Tokens already in the cache (the next token's position). */
int eng_seq_len(const eng_seq *s);

/* One chunk of a batched forward call. */
typedef struct {
    eng_seq *seq;           /* state to continue (borrowed, updated) */
    const int32_t *ids;     /* n new tokens (borrowed) */
    int n;
    float *logits;          /* NULL: none; else n x V (all_logits) or V (last row) */
    int all_logits;
} eng_chunk;

/*
 * Runs the chunks through the model as one batch.  Ids are checked
 * against the vocabulary first; on any error no state is changed.
 * The chunks must name distinct sequences.
 */
int eng_forward(const eng_model *m, eng_chunk *chunks, int nchunks, char *err, size_t errlen);

#endif
