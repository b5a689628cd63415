/*
 * config.h — the ZAYA model configuration (config.json).
 *
 * Two schemas describe the same model (spec §2): the legacy/Megatron one
 * (num_hidden_layers counts sub-layers; has ffn_hidden_size) and the native
 * transformers one (num_hidden_layers counts blocks; has
 * moe_intermediate_size).  Both parse into one eng_config whose fields use
 * the legacy meaning.  Every field read is type- and range-checked, and a
 * bad one produces a message naming the file and the field.
 */
#ifndef ZEVAL_CONFIG_H
#define ZEVAL_CONFIG_H

#include <stddef.h>

typedef enum { ENG_LAYOUT_LEGACY, ENG_LAYOUT_NATIVE } eng_layout;

typedef struct {
    eng_layout schema;      /* which config.json schema was read */
    int n_sub;              /* sub-layers: even = attention, odd = MoE */
    int hidden;             /* H */
    int vocab;              /* V */
    int nq, nk, head_dim;   /* query heads, key/value heads, d */
    int rot;                /* rotary dims = floor(d * partial_rotary_factor) */
    double partial_rotary;
    double rope_theta;
    double eps;
    int n_experts;          /* E */
    int topk;
    int inter;              /* I: expert intermediate width (ffn_hidden_size / 2) */
    int router;             /* R */
    int use_mod, use_eda, scale_residual;
    int tie_embeddings, lm_head_bias;
    int cca_k0, cca_k1;
    int clamp_temp;
    int bos_id, eos_id, pad_id;
    int max_pos;
} eng_config;

/* Derived sizes. */
static inline int eng_cfg_conv_channels(const eng_config *c) { return (c->nq + c->nk) * c->head_dim; }
static inline int eng_cfg_slots(const eng_config *c) { return c->n_experts + (c->use_mod ? 1 : 0); }

/* Parses config text (path only for messages). */
int eng_config_parse(const char *text, const char *path, eng_config *cfg, char *err,
                     size_t errlen);
/* Reads and parses a config.json file. */
int eng_config_load(const char *path, eng_config *cfg, char *err, size_t errlen);

#endif
