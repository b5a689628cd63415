/*
 * config.c — config.json parsing for both ZAYA schemas (spec §2).
 *
 * Fields that change the math are validated strictly; fields that are
 * documented as informational are accepted when absent.  Features the
 * engine does not implement (sliding-window layers, top-k > 1, biased
 * linears, rope scaling) are rejected by name rather than silently
 * computed wrong.
 */
#include "config.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define CONFIG_MAX_BYTES (16u << 20)

typedef struct {
    const cJSON *root;
    const char *path;
    char *err;
    size_t errlen;
} cfg_ctx;

static int field_err(cfg_ctx *c, const char *field, const char *what)
{
    return ut_err(c->err, c->errlen, "%s: field '%s': %s", c->path, field, what);
}

/* An integer field; lists (older dev configs) yield their first non-zero
 * entry.  Absent: *out = def, or an error when def < INT_MIN sentinel. */
#define REQUIRED (-2147483647 - 1)

static int get_int(cfg_ctx *c, const cJSON *obj, const char *field, int def, int min, int max,
                   int *out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (!j || cJSON_IsNull(j)) {
        if (def == REQUIRED)
            return field_err(c, field, "missing (required)");
        *out = def;
        return 0;
    }
    if (cJSON_IsArray(j)) {
        const cJSON *pick = NULL;
        cJSON_ArrayForEach(pick, j)
        {
            if (!cJSON_IsNumber(pick))
                return field_err(c, field, "list entries must be integers");
            if (pick->valuedouble != 0)
                break;
        }
        if (!pick)
            return field_err(c, field, "list has no non-zero entry");
        j = pick;
    }
    if (!cJSON_IsNumber(j))
        return field_err(c, field, "expected an integer");
    double v = j->valuedouble;
    if (v != floor(v))
        return field_err(c, field, "expected an integer, found a fraction");
    if (v < min || v > max) {
        char buf[128];
        snprintf(buf, sizeof buf, "value %.17g out of range [%d, %d]", v, min, max);
        return field_err(c, field, buf);
    }
    *out = (int)v;
    return 0;
}

static int get_num(cfg_ctx *c, const cJSON *obj, const char *field, double def, double lo,
                   double hi, int lo_open, double *out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (!j || cJSON_IsNull(j)) {
        if (isnan(def))
            return field_err(c, field, "missing (required)");
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(j))
        return field_err(c, field, "expected a number");
    double v = j->valuedouble;
    if (!(lo_open ? v > lo : v >= lo) || !(v <= hi)) {
        char buf[128];
        snprintf(buf, sizeof buf, "value %.17g out of range %c%g, %g]", v, lo_open ? '(' : '[',
                 lo, hi);
        return field_err(c, field, buf);
    }
    *out = v;
    return 0;
}

static int get_bool(cfg_ctx *c, const cJSON *obj, const char *field, int def, int *out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (!j || cJSON_IsNull(j)) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsBool(j))
        return field_err(c, field, "expected true or false");
    *out = cJSON_IsTrue(j);
    return 0;
}

/* Requires a boolean field, when present, to have one value. */
static int want_bool(cfg_ctx *c, const char *field, int want, const char *why)
{
    int v;
    if (get_bool(c, c->root, field, want, &v))
        return -1;
    if (v != want)
        return field_err(c, field, why);
    return 0;
}

static int parse_common(cfg_ctx *c, eng_config *g)
{
    const cJSON *r = c->root;
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(r, "model_type");
    if (mt && (!cJSON_IsString(mt) || strcmp(mt->valuestring, "zaya") != 0))
        return field_err(c, "model_type", "expected \"zaya\"");
    if (get_int(c, r, "hidden_size", 2048, 1, 1 << 16, &g->hidden) ||
        get_int(c, r, "vocab_size", 262272, 1, 1 << 24, &g->vocab) ||
        get_int(c, r, "num_attention_heads", 8, 1, 1024, &g->nq) ||
        get_int(c, r, "num_key_value_heads", 2, 1, 1024, &g->nk) ||
        get_int(c, r, "head_dim", 128, 2, 4096, &g->head_dim) ||
        get_int(c, r, "num_experts", 16, 1, 4096, &g->n_experts) ||
        get_int(c, r, "cca_time0", 2, 1, 64, &g->cca_k0) ||
        get_int(c, r, "cca_time1", 2, 1, 64, &g->cca_k1) ||
        get_int(c, r, "max_position_embeddings", 131072, 1, 1 << 30, &g->max_pos) ||
        get_int(c, r, "bos_token_id", 2, 0, 1 << 24, &g->bos_id) ||
        get_int(c, r, "pad_token_id", 0, 0, 1 << 24, &g->pad_id) ||
        get_bool(c, r, "tie_word_embeddings", 1, &g->tie_embeddings) ||
        get_bool(c, r, "lm_head_bias", 0, &g->lm_head_bias) ||
        get_bool(c, r, "clamp_temp", 0, &g->clamp_temp))
        return -1;
    const cJSON *eos = cJSON_GetObjectItemCaseSensitive(r, "eos_token_id");
    if (cJSON_IsArray(eos)) /* several end ids: the first is the primary one */
        eos = cJSON_GetArrayItem(eos, 0);
    g->eos_id = 106;
    if (eos && !cJSON_IsNull(eos)) {
        if (!cJSON_IsNumber(eos) || eos->valuedouble < 0 || eos->valuedouble != floor(eos->valuedouble))
            return field_err(c, "eos_token_id", "expected an integer or a list of integers");
        if (eos->valuedouble > 1 << 24) /* the same bound as the other ids; no int overflow */
            return field_err(c, "eos_token_id", "value out of range [0, 16777216]");
        g->eos_id = (int)eos->valuedouble;
    }
    if (g->nq % g->nk != 0)
        return field_err(c, "num_attention_heads",
                         "must be a multiple of num_key_value_heads (GQA groups)");
    if (g->head_dim % 2 != 0)
        return field_err(c, "head_dim", "must be even");
    if ((g->nk * g->head_dim) % 2 != 0)
        return field_err(c, "num_key_value_heads", "num_key_value_heads*head_dim must be even");
    int nqg;
    if (get_int(c, r, "num_query_groups", g->nk, 1, 1024, &nqg))
        return -1;
    if (nqg != g->nk)
        return field_err(c, "num_query_groups", "must equal num_key_value_heads");
    if (want_bool(c, "attention_bias", 0, "biased attention projections are not supported") ||
        want_bool(c, "add_bias_linear", 0, "biased expert linears are not supported") ||
        want_bool(c, "gated_linear_unit", 1, "only SwiGLU experts are supported"))
        return -1;
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(r, "rope_scaling");
    if (cJSON_IsObject(rs))
        return field_err(c, "rope_scaling", "rope scaling is not supported (plain RoPE only)");
    const cJSON *sw = cJSON_GetObjectItemCaseSensitive(r, "sliding_window");
    if (sw && !cJSON_IsNull(sw) && !(cJSON_IsNumber(sw) && sw->valuedouble == 0))
        return field_err(c, "sliding_window", "sliding-window attention is not supported");
    const cJSON *swa = cJSON_GetObjectItemCaseSensitive(r, "swa_layers");
    if (swa && !cJSON_IsNull(swa)) {
        if (!cJSON_IsArray(swa))
            return field_err(c, "swa_layers", "expected a list or null");
        const cJSON *e;
        cJSON_ArrayForEach(e, swa) if (!cJSON_IsNumber(e) || e->valuedouble != 0)
            return field_err(c, "swa_layers", "sliding-window attention is not supported");
    }
    return 0;
}

static int parse_legacy(cfg_ctx *c, eng_config *g)
{
    const cJSON *r = c->root;
    int ffn;
    if (get_int(c, r, "num_hidden_layers", 80, 2, 1 << 16, &g->n_sub) ||
        get_int(c, r, "ffn_hidden_size", REQUIRED, 2, 1 << 20, &ffn) ||
        get_int(c, r, "zaya_mlp_expansion", 256, 1, 1 << 16, &g->router) ||
        get_int(c, r, "moe_router_topk", 1, 1, 64, &g->topk) ||
        get_num(c, r, "norm_epsilon", 1e-5, 0, 1, 1, &g->eps) ||
        get_num(c, r, "rope_theta", 5000000, 0, 1e30, 1, &g->rope_theta) ||
        get_num(c, r, "partial_rotary_factor", 0.5, 0, 1, 1, &g->partial_rotary) ||
        get_bool(c, r, "zaya_use_mod", 1, &g->use_mod) ||
        get_bool(c, r, "zaya_use_eda", 1, &g->use_eda) ||
        get_bool(c, r, "scale_residual_merge", 1, &g->scale_residual))
        return -1;
    if (g->n_sub % 2 != 0)
        return field_err(c, "num_hidden_layers",
                         "must be even (sub-layers alternate attention and MoE)");
    if (ffn % 2 != 0)
        return field_err(c, "ffn_hidden_size", "must be even (fused gate+up projection)");
    g->inter = ffn / 2;
    const cJSON *norm = cJSON_GetObjectItemCaseSensitive(r, "normalization");
    if (norm && (!cJSON_IsString(norm) || strcmp(norm->valuestring, "RMSNorm") != 0))
        return field_err(c, "normalization", "only \"RMSNorm\" is supported");
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(r, "activation_func");
    if (act && (!cJSON_IsString(act) || strcmp(act->valuestring, "swiglu") != 0))
        return field_err(c, "activation_func", "only \"swiglu\" is supported");
    return 0;
}

static int parse_native(cfg_ctx *c, eng_config *g)
{
    const cJSON *r = c->root;
    int blocks;
    if (get_int(c, r, "num_hidden_layers", 40, 1, 1 << 15, &blocks) ||
        get_int(c, r, "moe_intermediate_size", REQUIRED, 1, 1 << 20, &g->inter) ||
        get_int(c, r, "router_hidden_size", 256, 1, 1 << 16, &g->router) ||
        get_int(c, r, "num_experts_per_tok", 1, 1, 64, &g->topk) ||
        get_num(c, r, "rms_norm_eps", 1e-5, 0, 1, 1, &g->eps))
        return -1;
    g->n_sub = 2 * blocks;
    g->use_mod = g->use_eda = g->scale_residual = 1;
    /* RoPE: rope_parameters.hybrid, falling back to top-level fields. */
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(r, "rope_parameters");
    const cJSON *hy = cJSON_IsObject(rp) ? cJSON_GetObjectItemCaseSensitive(rp, "hybrid") : NULL;
    if (rp && !cJSON_IsNull(rp) && !cJSON_IsObject(rp))
        return field_err(c, "rope_parameters", "expected an object");
    const cJSON *src = cJSON_IsObject(hy) ? hy : r;
    if (get_num(c, src, "rope_theta", 5000000, 0, 1e30, 1, &g->rope_theta) ||
        get_num(c, src, "partial_rotary_factor", 0.5, 0, 1, 1, &g->partial_rotary))
        return -1;
    if (cJSON_IsObject(hy)) {
        const cJSON *rt = cJSON_GetObjectItemCaseSensitive(hy, "rope_type");
        if (rt && (!cJSON_IsString(rt) || strcmp(rt->valuestring, "default") != 0))
            return field_err(c, "rope_parameters.hybrid.rope_type",
                             "only \"default\" (plain RoPE) is supported");
    }
    const cJSON *lt = cJSON_GetObjectItemCaseSensitive(r, "layer_types");
    if (lt && !cJSON_IsNull(lt)) {
        if (!cJSON_IsArray(lt) || cJSON_GetArraySize(lt) != blocks)
            return field_err(c, "layer_types", "expected a list with one entry per layer");
        const cJSON *e;
        cJSON_ArrayForEach(e, lt)
        {
            if (!cJSON_IsString(e))
                return field_err(c, "layer_types", "entries must be strings");
            if (strcmp(e->valuestring, "hybrid") != 0)
                return field_err(c, "layer_types",
                                 "only \"hybrid\" layers are supported (no sliding window)");
        }
    }
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(r, "hidden_act");
    if (act && (!cJSON_IsString(act) || strcmp(act->valuestring, "silu") != 0))
        return field_err(c, "hidden_act", "only \"silu\" (SwiGLU experts) is supported");
    return 0;
}

int eng_config_parse(const char *text, const char *path, eng_config *g, char *err, size_t errlen)
{
    memset(g, 0, sizeof *g);
    cJSON *root = cJSON_Parse(text);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        return ut_err(err, errlen, "%s: malformed JSON near byte %zu", path,
                      at && at >= text ? (size_t)(at - text) : (size_t)0);
    }
    cfg_ctx c = {root, path, err, errlen};
    int rc = -1;
    if (!cJSON_IsObject(root)) {
        ut_err(err, errlen, "%s: top level is not a JSON object", path);
        goto done;
    }
    int legacy = cJSON_GetObjectItemCaseSensitive(root, "ffn_hidden_size") != NULL;
    int native = cJSON_GetObjectItemCaseSensitive(root, "moe_intermediate_size") != NULL;
    if (!legacy && !native) {
        ut_err(err, errlen,
               "%s: field 'ffn_hidden_size' (legacy schema) or 'moe_intermediate_size' (native "
               "schema): missing (required)",
               path);
        goto done;
    }
    g->schema = legacy ? ENG_LAYOUT_LEGACY : ENG_LAYOUT_NATIVE;
    if (parse_common(&c, g) || (legacy ? parse_legacy(&c, g) : parse_native(&c, g)))
        goto done;
    if (g->topk != 1) {
        field_err(&c, legacy ? "moe_router_topk" : "num_experts_per_tok",
                  "only top-1 routing is supported");
        goto done;
    }
    g->rot = (int)floor(g->head_dim * g->partial_rotary);
    if (g->rot % 2 != 0 || g->rot < 2) {
        field_err(&c, "partial_rotary_factor", "rotary dimensions must be an even number >= 2");
        goto done;
    }
    if (g->bos_id >= g->vocab || g->eos_id >= g->vocab || g->pad_id >= g->vocab) {
        ut_err(err, errlen, "%s: field 'bos_token_id/eos_token_id/pad_token_id': id past vocab_size %d",
               path, g->vocab);
        goto done;
    }
    rc = 0;
done:
    cJSON_Delete(root);
    return rc;
}

int eng_config_load(const char *path, eng_config *cfg, char *err, size_t errlen)
{
    char *text = NULL;
    if (ut_read_file(path, CONFIG_MAX_BYTES, &text, NULL, err, errlen) != 0)
        return -1;
    int rc = eng_config_parse(text, path, cfg, err, errlen);
    free(text);
    return rc;
}
