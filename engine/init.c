/*
 * init.c — random ZAYA checkpoints; see init.h.
 *
 * Random numbers.  Every element is a pure function of (seed, tensor
 * name, element index): key = mix(mix(seed) ^ fnv1a64(name)), and the
 * pair of elements 2p, 2p+1 of a tensor are the two Box-Muller normals of
 * the 64-bit word h = splitmix64-finalizer(key + (p+1)·γ) (24 high bits
 * for the radius, 24 low bits for the angle; float32 math, so tails end
 * at 5.8σ).  Uniform values use one word per element.  Nothing depends on
 * write order, chunking or threads, so the same seed gives the same bytes
 * (with the same C library; libm's logf/sinf/cosf are not guaranteed to
 * round identically across versions).
 *
 * Initial values (N = num_hidden_layers sub-layers, H hidden, R router
 * width, I expert width; "N(m, s)" = normal with mean m and sd s):
 *
 *   embed_tokens (tied LM head)      N(0, 1/√H): logits = E·rms(res) have
 *                                    sd ≈ 1; the embedding rows entering the
 *                                    stream have rms 1/√H.
 *   q/k/value projections            N(0, 1/√H): unit-variance latents
 *                                    (every sub-layer input x̂ is RMS-
 *                                    normalised, so fan-in scaling suffices).
 *   conv_qk.0 (depthwise, K0 taps)   N(0, 1/√K0); conv_qk.1 (d·K1 inputs per
 *                                    output) N(0, 1/√(d·K1)): unit-variance
 *                                    conv outputs; conv biases N(0, 0.02).
 *   key temperature                  uniform [1, 3).
 *   o_proj, expert linear_fc2        N(0, 1/√fan_in · 1/√N): the output
 *                                    projections are scaled down by depth
 *                                    (as GPT-2 does), so the sum of N branch
 *                                    outputs in the residual stream stays
 *                                    O(1) instead of growing like √N.
 *   expert linear_fc1                N(0, 1/√H).
 *   norm weights (input, final,      1 + N(0, 0.02).
 *   router rmsnorm_eda)
 *   residual scales (both sides)     1 + N(0, 0.02); residual biases
 *                                    N(0, 0.1/√H), small against the
 *                                    embedding rows they are added to.
 *   router down_proj                 N(0, 1/√H), bias N(0, 0.02).
 *   router_states_scale (EDA)        0.5 + N(0, 0.02): the depth recurrence
 *                                    r ← r + 0.5·eda stays bounded (a
 *                                    geometric sum) over 40 MoE sub-layers.
 *   router_mlp.0 / .2                N(0, √2/√R) (He scaling before GELU),
 *                                    biases N(0, 0.02).
 *   router_mlp.4 (E+1 logits)        N(0, 4/√R) with every row centred
 *                                    (its mean subtracted).  Centring removes
 *                                    the part of the logits that comes from
 *                                    the positive mean of the GELU outputs
 *                                    (≈ 0.28 for unit inputs) — the same for
 *                                    every token, it would otherwise favour a
 *                                    few experts for all tokens.  What is left
 *                                    varies per token with sd ≈ 2–3 across the
 *                                    slots, so the argmax (the routed expert)
 *                                    changes from token to token and every
 *                                    expert is used (tests/test_init.c checks
 *                                    the histogram).
 *   balancing_biases                 0 for the E experts, −1 for the skip
 *                                    slot (the reference default): the skip
 *                                    slot never wins, so every MoE sub-layer
 *                                    runs exactly one expert per token.
 */
#define _POSIX_C_SOURCE 200809L
#include "init.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* ------------------------------------------------------------ config text */

static const char tiny_json[] =
    "{\"ffn_hidden_size\":128,\"hidden_size\":192,\"head_dim\":128,\"num_attention_heads\":4,"
    "\"num_key_value_heads\":2,\"num_experts\":4,\"num_hidden_layers\":8,\"vocab_size\":262272,"
    "\"zaya_mlp_expansion\":64,\"rope_theta\":10000,\"max_position_embeddings\":4096,"
    "\"norm_epsilon\":1e-05,\"partial_rotary_factor\":0.5,\"bos_token_id\":2,"
    "\"eos_token_id\":106,\"pad_token_id\":0}";

static const char zaya8b_json[] =
    "{\"ffn_hidden_size\":4096,\"hidden_size\":2048,\"head_dim\":128,\"num_attention_heads\":8,"
    "\"num_key_value_heads\":2,\"num_experts\":16,\"num_hidden_layers\":80,"
    "\"vocab_size\":262272,\"zaya_mlp_expansion\":256,\"rope_theta\":5000000,"
    "\"max_position_embeddings\":131072,\"norm_epsilon\":1e-05,\"partial_rotary_factor\":0.5,"
    "\"bos_token_id\":2,\"eos_token_id\":106,\"pad_token_id\":0}";

/* The legacy config of c, with the key set of the golden zaya-tiny file
 * (and the optional keys only where they differ from their defaults). */
static cJSON *legacy_json(const eng_config *c, const char *dtype)
{
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    cJSON_AddStringToObject(j, "activation_func", "swiglu");
    cJSON_AddBoolToObject(j, "activation_func_fp8_input_store", 0);
    cJSON_AddBoolToObject(j, "add_bias_linear", 0);
    cJSON *arch = cJSON_AddArrayToObject(j, "architectures");
    if (arch)
        cJSON_AddItemToArray(arch, cJSON_CreateString("ZayaForCausalLM"));
    cJSON_AddBoolToObject(j, "attention_bias", 0);
    cJSON_AddNumberToObject(j, "attention_dropout", 0.0);
    cJSON_AddBoolToObject(j, "bias_activation_fusion", 1);
    cJSON_AddNumberToObject(j, "bos_token_id", c->bos_id);
    cJSON_AddBoolToObject(j, "cca", 1);
    if (c->cca_k0 != 2)
        cJSON_AddNumberToObject(j, "cca_time0", c->cca_k0);
    if (c->cca_k1 != 2)
        cJSON_AddNumberToObject(j, "cca_time1", c->cca_k1);
    if (c->clamp_temp)
        cJSON_AddBoolToObject(j, "clamp_temp", 1);
    cJSON_AddStringToObject(j, "dtype", dtype);
    cJSON_AddNumberToObject(j, "eos_token_id", c->eos_id);
    cJSON_AddNumberToObject(j, "ffn_hidden_size", 2.0 * c->inter);
    cJSON_AddBoolToObject(j, "gated_linear_unit", 1);
    cJSON_AddNumberToObject(j, "head_dim", c->head_dim);
    cJSON_AddNumberToObject(j, "hidden_size", c->hidden);
    cJSON_AddNumberToObject(j, "kv_channels", c->head_dim);
    cJSON_AddBoolToObject(j, "lm_head_bias", c->lm_head_bias);
    cJSON_AddStringToObject(j, "mamba_cache_dtype", "float32");
    cJSON_AddNumberToObject(j, "max_position_embeddings", c->max_pos);
    cJSON_AddStringToObject(j, "model_type", "zaya");
    cJSON_AddNumberToObject(j, "moe_router_topk", c->topk);
    cJSON_AddNumberToObject(j, "norm_epsilon", c->eps);
    cJSON_AddStringToObject(j, "normalization", "RMSNorm");
    cJSON_AddNumberToObject(j, "num_attention_heads", c->nq);
    cJSON_AddNumberToObject(j, "num_experts", c->n_experts);
    cJSON_AddNumberToObject(j, "num_hidden_layers", c->n_sub);
    cJSON_AddNumberToObject(j, "num_key_value_heads", c->nk);
    cJSON_AddNumberToObject(j, "num_query_groups", c->nk);
    cJSON_AddNumberToObject(j, "pad_token_id", c->pad_id);
    cJSON_AddNumberToObject(j, "partial_rotary_factor", c->partial_rotary);
    cJSON_AddBoolToObject(j, "residual_in_fp32", 1);
    cJSON_AddBoolToObject(j, "rope_scaling", 0);
    cJSON_AddNumberToObject(j, "rope_theta", c->rope_theta);
    cJSON_AddBoolToObject(j, "scale_residual_merge", c->scale_residual);
    cJSON_AddNullToObject(j, "sliding_window");
    if (!c->tie_embeddings)
        cJSON_AddBoolToObject(j, "tie_word_embeddings", 0);
    cJSON_AddBoolToObject(j, "use_cache", 1);
    cJSON_AddNumberToObject(j, "vocab_size", c->vocab);
    cJSON_AddNumberToObject(j, "zaya_mlp_expansion", c->router);
    cJSON_AddBoolToObject(j, "zaya_use_eda", c->use_eda);
    cJSON_AddBoolToObject(j, "zaya_use_mod", c->use_mod);
    return j;
}

/* Keys that may be set although the file leaves them out (defaults). */
static const struct {
    const char *key;
    int is_bool;
} optional_keys[] = {
    {"cca_time0", 0}, {"cca_time1", 0}, {"clamp_temp", 1}, {"tie_word_embeddings", 1}};

static const char *const float_keys[] = {"attention_dropout", "norm_epsilon",
                                         "partial_rotary_factor", "rope_theta"};

static int is_float_key(const char *k)
{
    for (size_t i = 0; i < sizeof float_keys / sizeof float_keys[0]; i++)
        if (strcmp(k, float_keys[i]) == 0)
            return 1;
    return 0;
}

/* Applies one "key=value" to root. */
static int apply_set(cJSON *root, const char *kv, char *err, size_t errlen)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return ut_err(err, errlen, "--set '%s': expected key=value", kv);
    char key[128];
    size_t kl = (size_t)(eq - kv);
    if (kl >= sizeof key)
        return ut_err(err, errlen, "--set '%s': key too long", kv);
    memcpy(key, kv, kl);
    key[kl] = 0;
    const char *val = eq + 1;
    cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);
    int want_bool = -1; /* 1 bool, 0 number */
    if (it) {
        if (cJSON_IsBool(it))
            want_bool = 1;
        else if (cJSON_IsNumber(it))
            want_bool = 0;
        else if (strcmp(key, "dtype") == 0)
            return ut_err(err, errlen, "--set dtype: use --dtype bf16|f32");
        else
            return ut_err(err, errlen, "--set %s: field '%s' cannot be set (only integer, "
                          "number and boolean fields can)", key, key);
    } else {
        for (size_t i = 0; i < sizeof optional_keys / sizeof optional_keys[0]; i++)
            if (strcmp(key, optional_keys[i].key) == 0)
                want_bool = optional_keys[i].is_bool;
        if (want_bool < 0)
            return ut_err(err, errlen, "--set %s: unknown config field '%s'", key, key);
    }
    cJSON *nv;
    if (want_bool) {
        if (strcmp(val, "true") != 0 && strcmp(val, "false") != 0)
            return ut_err(err, errlen, "--set %s: expected true or false, found '%s'", key, val);
        nv = cJSON_CreateBool(strcmp(val, "true") == 0);
    } else {
        errno = 0;
        char *end;
        double v = strtod(val, &end);
        if (end == val || *end || errno || !isfinite(v))
            return ut_err(err, errlen, "--set %s: expected a number, found '%s'", key, val);
        if (!is_float_key(key) && (v != floor(v) || fabs(v) > 9007199254740992.0))
            return ut_err(err, errlen, "--set %s: expected an integer, found '%s'", key, val);
        nv = cJSON_CreateNumber(v);
    }
    if (!nv)
        return ut_err(err, errlen, "out of memory");
    if (it)
        cJSON_ReplaceItemInObjectCaseSensitive(root, key, nv);
    else
        cJSON_AddItemToObject(root, key, nv);
    return 0;
}

static int cmp_item(const void *a, const void *b)
{
    return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

/* Reorders an object's members by key (as the golden file is). */
static int sort_object(cJSON *o)
{
    int n = cJSON_GetArraySize(o);
    cJSON **v = malloc((size_t)(n ? n : 1) * sizeof *v);
    if (!v)
        return -1;
    for (int i = 0; i < n; i++)
        v[i] = cJSON_DetachItemViaPointer(o, o->child);
    qsort(v, (size_t)n, sizeof *v, cmp_item);
    for (int i = 0; i < n; i++)
        cJSON_AddItemToObject(o, v[i]->string, v[i]);
    free(v);
    return 0;
}

int eng_init_config(const char *source, const char *const *sets, int nsets, st_dtype dtype,
                    char **text, eng_config *cfg, char *err, size_t errlen)
{
    *text = NULL;
    eng_config src;
    if (strcmp(source, "tiny") == 0) {
        if (eng_config_parse(tiny_json, "preset tiny", &src, err, errlen))
            return -1;
    } else if (strcmp(source, "zaya1-8b") == 0) {
        if (eng_config_parse(zaya8b_json, "preset zaya1-8b", &src, err, errlen))
            return -1;
    } else if (eng_config_load(source, &src, err, errlen)) {
        return -1;
    }
    if (dtype != ST_F32 && dtype != ST_BF16)
        return ut_err(err, errlen, "init-model: dtype must be bf16 or f32");
    cJSON *j = legacy_json(&src, dtype == ST_BF16 ? "bfloat16" : "float32");
    if (!j)
        return ut_err(err, errlen, "out of memory");
    int rc = -1, set_hd = 0, set_kvc = 0, set_nk = 0, set_nqg = 0;
    for (int i = 0; i < nsets; i++) {
        if (apply_set(j, sets[i], err, errlen))
            goto done;
        const char *k = sets[i];
        set_hd |= strncmp(k, "head_dim=", 9) == 0;
        set_kvc |= strncmp(k, "kv_channels=", 12) == 0;
        set_nk |= strncmp(k, "num_key_value_heads=", 20) == 0;
        set_nqg |= strncmp(k, "num_query_groups=", 17) == 0;
    }
    /* Redundant copies follow the field they copy unless set themselves. */
    if (set_hd && !set_kvc)
        cJSON_ReplaceItemInObjectCaseSensitive(
            j, "kv_channels",
            cJSON_CreateNumber(cJSON_GetObjectItemCaseSensitive(j, "head_dim")->valuedouble));
    if (set_nk && !set_nqg)
        cJSON_ReplaceItemInObjectCaseSensitive(
            j, "num_query_groups",
            cJSON_CreateNumber(
                cJSON_GetObjectItemCaseSensitive(j, "num_key_value_heads")->valuedouble));
    if (sort_object(j)) {
        ut_err(err, errlen, "out of memory");
        goto done;
    }
    char *t = cJSON_Print(j);
    if (!t) {
        ut_err(err, errlen, "out of memory");
        goto done;
    }
    if (eng_config_parse(t, "config (after --set)", cfg, err, errlen)) {
        free(t);
        goto done;
    }
    *text = t;
    rc = 0;
done:
    cJSON_Delete(j);
    return rc;
}

/* ------------------------------------------------------------------ RNG */

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

#define GAMMA 0x9e3779b97f4a7c15ull

static uint64_t name_key(uint64_t seed, const char *name)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return mix64(mix64(seed + GAMMA) ^ h);
}

/* Normals z[0..n) of elements a, a+1, ... of the stream key. */
static void normals(uint64_t key, uint64_t a, size_t n, float *z)
{
    size_t k = 0;
    uint64_t i = a;
    while (k < n) {
        uint64_t h = mix64(key + ((i >> 1) + 1) * GAMMA);
        float u1 = (float)((h >> 40) + 1) * (1.0f / 16777216.0f);   /* (0, 1] */
        float u2 = (float)(h & 0xffffffu) * (1.0f / 16777216.0f);   /* [0, 1) */
        float r = sqrtf(-2.0f * logf(u1)), th = 6.28318530717958648f * u2;
        if ((i & 1) == 0) {
            z[k++] = r * cosf(th);
            i++;
            if (k == n)
                break;
        }
        z[k++] = r * sinf(th);
        i++;
    }
}

/* Uniform [0, 1) of element i. */
static inline float uniform(uint64_t key, uint64_t i)
{
    return (float)(mix64(key + (i + 1) * GAMMA) >> 40) * (1.0f / 16777216.0f);
}

/* ------------------------------------------------------------ tensor plan */

typedef enum { G_NORMAL, G_UNIFORM, G_CENTERED_ROWS, G_BALANCE } gkind;

typedef struct {
    char *name;
    int ndim;
    int64_t shape[3];
    gkind kind;
    float mean, sd;         /* NORMAL: mean + sd·z; UNIFORM: mean + sd·u */
    int64_t rowlen;         /* CENTERED_ROWS: row length; BALANCE: skip index or -1 */
    uint64_t key, numel, nbytes;
    int shard;
    st_dtype dtype;
    int threads;
} tspec;

typedef struct {
    tspec *t;
    int n, cap;
} tplan;

static void plan_free(tplan *p)
{
    for (int i = 0; i < p->n; i++)
        free(p->t[i].name);
    free(p->t);
    memset(p, 0, sizeof *p);
}

static tspec *add_t(tplan *p, const eng_init_opts *o, gkind kind, float mean, float sd,
                    int ndim, int64_t d0, int64_t d1, int64_t d2, const char *fmt, ...)
    UT_PRINTF(10, 11);

static tspec *add_t(tplan *p, const eng_init_opts *o, gkind kind, float mean, float sd,
                    int ndim, int64_t d0, int64_t d1, int64_t d2, const char *fmt, ...)
{
    if (p->n == p->cap) {
        int nc = p->cap ? 2 * p->cap : 256;
        tspec *nt = realloc(p->t, (size_t)nc * sizeof *nt);
        if (!nt)
            return NULL;
        p->t = nt;
        p->cap = nc;
    }
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    tspec *t = &p->t[p->n];
    memset(t, 0, sizeof *t);
    if (!(t->name = ut_strdup(name)))
        return NULL;
    p->n++;
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->shape[2] = d2;
    t->kind = kind;
    t->mean = mean;
    t->sd = sd;
    t->rowlen = ndim >= 2 ? (ndim == 2 ? d1 : d1 * d2) : d0;
    t->key = name_key(o->seed, name);
    t->numel = 1;
    for (int i = 0; i < ndim; i++)
        t->numel *= (uint64_t)t->shape[i];
    t->dtype = o->dtype;
    t->nbytes = t->numel * st_dtype_size(o->dtype);
    t->threads = o->threads;
    return t;
}

#define NOISE 0.02f

/* The legacy tensor list (spec §3.1) for c, in file order. */
static int build_plan(const eng_config *c, const eng_init_opts *o, tplan *p, char *err,
                      size_t errlen)
{
    memset(p, 0, sizeof *p);
    int64_t H = c->hidden, V = c->vocab, d = c->head_dim, nq = c->nq, nk = c->nk;
    int64_t C = eng_cfg_conv_channels(c), R = c->router, E = c->n_experts, I = c->inter;
    int64_t S = eng_cfg_slots(c), N = c->n_sub;
    float sH = 1.0f / sqrtf((float)H), depth = 1.0f / sqrtf((float)N);
    float bias_res = 0.1f * sH;
#define T(...) do { if (!add_t(p, o, __VA_ARGS__)) goto oom; } while (0)
    T(G_NORMAL, 0, sH, 2, V, H, 0, "model.embed_tokens.weight");
    for (int64_t n = 0; n < N; n++) {
        T(G_NORMAL, 1, NOISE, 1, H, 0, 0, "model.layers.%lld.input_norm.weight", (long long)n);
        if (c->scale_residual) {
            T(G_NORMAL, 1, NOISE, 1, H, 0, 0, "model.layers.%lld.res_scale.hidden_states_scale",
              (long long)n);
            T(G_NORMAL, 0, bias_res, 1, H, 0, 0, "model.layers.%lld.res_scale.hidden_states_bias",
              (long long)n);
            if (n > 0) {
                T(G_NORMAL, 1, NOISE, 1, H, 0, 0, "model.layers.%lld.res_scale.residual_scale",
                  (long long)n);
                T(G_NORMAL, 0, bias_res, 1, H, 0, 0, "model.layers.%lld.res_scale.residual_bias",
                  (long long)n);
            }
        }
        if (n % 2 == 0) {
            const char *a = "model.layers.%lld.self_attn.";
            char f[160];
#define A(suffix) (snprintf(f, sizeof f, "%s%s", a, suffix), f)
            T(G_NORMAL, 0, sH, 2, nq * d, H, 0, A("qkv.linear_q.weight"), (long long)n);
            T(G_NORMAL, 0, sH, 2, nk * d, H, 0, A("qkv.linear_k.weight"), (long long)n);
            T(G_NORMAL, 0, sH, 2, nk * d / 2, H, 0, A("qkv.val_proj1.weight"), (long long)n);
            T(G_NORMAL, 0, sH, 2, nk * d / 2, H, 0, A("qkv.val_proj2.weight"), (long long)n);
            T(G_NORMAL, 0, 1.0f / sqrtf((float)c->cca_k0), 3, C, 1, c->cca_k0,
              A("qkv.conv_qk.0.weight"), (long long)n);
            T(G_NORMAL, 0, NOISE, 1, C, 0, 0, A("qkv.conv_qk.0.bias"), (long long)n);
            T(G_NORMAL, 0, 1.0f / sqrtf((float)(d * c->cca_k1)), 3, C, d, c->cca_k1,
              A("qkv.conv_qk.1.weight"), (long long)n);
            T(G_NORMAL, 0, NOISE, 1, C, 0, 0, A("qkv.conv_qk.1.bias"), (long long)n);
            T(G_UNIFORM, 1, 2, 1, nk, 0, 0, A("qkv.temp"), (long long)n);
            T(G_NORMAL, 0, depth / sqrtf((float)(nq * d)), 2, H, nq * d, 0, A("o_proj.weight"),
              (long long)n);
#undef A
        } else {
            const char *r = "model.layers.%lld.zaya_block.router.";
            char f[160];
#define RT(suffix) (snprintf(f, sizeof f, "%s%s", r, suffix), f)
            float he = sqrtf(2.0f / (float)R);
            T(G_NORMAL, 0, sH, 2, R, H, 0, RT("down_proj.weight"), (long long)n);
            T(G_NORMAL, 0, NOISE, 1, R, 0, 0, RT("down_proj.bias"), (long long)n);
            if (c->use_eda && n > 1)
                T(G_NORMAL, 0.5f, NOISE, 1, R, 0, 0, RT("router_states_scale"), (long long)n);
            T(G_NORMAL, 1, NOISE, 1, R, 0, 0, RT("rmsnorm_eda.weight"), (long long)n);
            T(G_NORMAL, 0, he, 2, R, R, 0, RT("router_mlp.0.weight"), (long long)n);
            T(G_NORMAL, 0, NOISE, 1, R, 0, 0, RT("router_mlp.0.bias"), (long long)n);
            T(G_NORMAL, 0, he, 2, R, R, 0, RT("router_mlp.2.weight"), (long long)n);
            T(G_NORMAL, 0, NOISE, 1, R, 0, 0, RT("router_mlp.2.bias"), (long long)n);
            T(G_CENTERED_ROWS, 0, 4.0f / sqrtf((float)R), 2, S, R, 0, RT("router_mlp.4.weight"),
              (long long)n);
            tspec *b = NULL;
            if (!(b = add_t(p, o, G_BALANCE, 0, 0, 1, S, 0, 0, RT("balancing_biases"),
                            (long long)n)))
                goto oom;
            b->rowlen = c->use_mod ? E : -1;
#undef RT
            for (int64_t e = 0; e < E; e++) {
                T(G_NORMAL, 0, sH, 2, 2 * I, H, 0,
                  "model.layers.%lld.zaya_block.experts.local_experts.%lld.linear_fc1.weight",
                  (long long)n, (long long)e);
                T(G_NORMAL, 0, depth / sqrtf((float)I), 2, H, I, 0,
                  "model.layers.%lld.zaya_block.experts.local_experts.%lld.linear_fc2.weight",
                  (long long)n, (long long)e);
            }
        }
    }
    if (c->scale_residual) {
        T(G_NORMAL, 1, NOISE, 1, H, 0, 0, "model.res_scale.hidden_states_scale");
        T(G_NORMAL, 0, bias_res, 1, H, 0, 0, "model.res_scale.hidden_states_bias");
        T(G_NORMAL, 1, NOISE, 1, H, 0, 0, "model.res_scale.residual_scale");
        T(G_NORMAL, 0, bias_res, 1, H, 0, 0, "model.res_scale.residual_bias");
    }
    T(G_NORMAL, 1, NOISE, 1, H, 0, 0, "model.final_norm.weight");
    if (!c->tie_embeddings)
        T(G_NORMAL, 0, sH, 2, V, H, 0, "lm_head.weight");
    if (c->lm_head_bias)
        T(G_NORMAL, 0, NOISE, 1, V, 0, 0, "lm_head.bias");
#undef T
    return 0;
oom:
    plan_free(p);
    return ut_err(err, errlen, "out of memory");
}

/* ------------------------------------------------------------ generation */

/* Fills elements [first, first+count) of t, single-threaded. */
static void fill_range(const tspec *t, uint64_t first, uint64_t count, void *out)
{
    enum { B = 1024 };
    float v[B];
    double rowmean = 0;
    int64_t cur_row = -1;
    float *rowbuf = NULL;
    for (uint64_t done = 0; done < count;) {
        size_t n = count - done < B ? (size_t)(count - done) : B;
        uint64_t a = first + done;
        switch (t->kind) {
        case G_NORMAL:
            normals(t->key, a, n, v);
            for (size_t k = 0; k < n; k++)
                v[k] = t->mean + t->sd * v[k];
            break;
        case G_UNIFORM:
            for (size_t k = 0; k < n; k++)
                v[k] = t->mean + t->sd * uniform(t->key, a + k);
            break;
        case G_CENTERED_ROWS:
            normals(t->key, a, n, v);
            for (size_t k = 0; k < n; k++) {
                int64_t row = (int64_t)((a + k) / (uint64_t)t->rowlen);
                if (row != cur_row) {
                    if (!rowbuf)
                        rowbuf = malloc((size_t)t->rowlen * sizeof *rowbuf);
                    rowmean = 0;
                    if (rowbuf) {
                        normals(t->key, (uint64_t)row * (uint64_t)t->rowlen, (size_t)t->rowlen,
                                rowbuf);
                        for (int64_t j = 0; j < t->rowlen; j++)
                            rowmean += rowbuf[j];
                        rowmean /= (double)t->rowlen;
                    }
                    cur_row = row;
                }
                v[k] = t->sd * (float)(v[k] - rowmean);
            }
            break;
        case G_BALANCE:
            for (size_t k = 0; k < n; k++)
                v[k] = (int64_t)(a + k) == t->rowlen ? -1.0f : 0.0f;
            break;
        }
        if (t->dtype == ST_BF16) {
            uint16_t *o = (uint16_t *)out + done;
            for (size_t k = 0; k < n; k++)
                o[k] = ut_f32_to_bf16(v[k]);
        } else {
            memcpy((float *)out + done, v, n * sizeof(float));
        }
        done += n;
    }
    free(rowbuf);
}

typedef struct {
    const tspec *t;
    uint64_t first, count;
    void *out;
} fill_job;

static void *fill_thread(void *arg)
{
    fill_job *j = arg;
    fill_range(j->t, j->first, j->count, j->out);
    return NULL;
}

#define MAX_THREADS 64

/* st_fill_fn: splits the chunk over the generator threads. */
static int fill_tensor(void *ctx, uint64_t first, uint64_t count, void *out)
{
    const tspec *t = ctx;
    int nt = t->threads;
    if (nt > MAX_THREADS)
        nt = MAX_THREADS;
    if (nt < 2 || count < ((uint64_t)1 << 16)) {
        fill_range(t, first, count, out);
        return 0;
    }
    fill_job jobs[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    size_t es = st_dtype_size(t->dtype);
    for (int i = 0; i < nt; i++) {
        uint64_t a = count * (uint64_t)i / (uint64_t)nt, b = count * (uint64_t)(i + 1) / (uint64_t)nt;
        jobs[i] = (fill_job){t, first + a, b - a, (char *)out + a * es};
    }
    for (int i = 1; i < nt; i++)
        started[i] = pthread_create(&th[i], NULL, fill_thread, &jobs[i]) == 0;
    fill_thread(&jobs[0]);
    for (int i = 1; i < nt; i++) {
        if (started[i])
            pthread_join(th[i], NULL);
        else
            fill_thread(&jobs[i]); /* could not start a thread: do it here */
    }
    return 0;
}

/* ------------------------------------------------------------ sharding */

/* Upper bound of a tensor's header entry. */
static uint64_t entry_bound(const tspec *t)
{
    return strlen(t->name) + 160;
}

/* Assigns shards; returns the number of files. */
static int assign_shards(tplan *p, uint64_t limit)
{
    uint64_t fixed = 8 + 64 + 8; /* length, metadata and braces, padding */
    uint64_t total = fixed;
    for (int i = 0; i < p->n; i++)
        total += p->t[i].nbytes + entry_bound(&p->t[i]);
    if (total <= limit) {
        for (int i = 0; i < p->n; i++)
            p->t[i].shard = 0;
        return 1;
    }
    int sh = 0;
    uint64_t cur = fixed;
    int in_cur = 0;
    for (int i = 0; i < p->n; i++) {
        uint64_t add = p->t[i].nbytes + entry_bound(&p->t[i]);
        if (in_cur && cur + add > limit) {
            sh++;
            cur = fixed;
            in_cur = 0;
        }
        p->t[i].shard = sh;
        cur += add;
        in_cur++;
    }
    return sh + 1;
}

int eng_init_plan_sizes(const eng_config *cfg, const eng_init_opts *o, eng_init_plan *plan,
                        char *err, size_t errlen)
{
    tplan p;
    if (build_plan(cfg, o, &p, err, errlen))
        return -1;
    memset(plan, 0, sizeof *plan);
    plan->ntensors = p.n;
    for (int i = 0; i < p.n; i++) {
        plan->params += p.t[i].numel;
        plan->data_bytes += p.t[i].nbytes;
    }
    plan->nfiles = assign_shards(&p, o->shard_bytes ? o->shard_bytes : ENG_INIT_SHARD_BYTES);
    plan_free(&p);
    return 0;
}

/* ------------------------------------------------------------ output */

/* Writes text to dir/name through a temporary name. */
static int write_text(const char *dir, const char *name, const char *text, char *err,
                      size_t errlen)
{
    char *path = ut_path_join(dir, name);
    char *tmp = path ? malloc(strlen(path) + 8) : NULL;
    if (!tmp) {
        free(path);
        return ut_err(err, errlen, "out of memory");
    }
    sprintf(tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    int ok = f != NULL;
    if (f) {
        size_t n = strlen(text);
        ok = fwrite(text, 1, n, f) == n && fputc('\n', f) != EOF;
        ok = fclose(f) == 0 && ok;
    }
    if (!ok || rename(tmp, path) != 0) {
        ut_err(err, errlen, "%s: write failed: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        free(path);
        return -1;
    }
    free(tmp);
    free(path);
    return 0;
}

/* Removes a staging directory and the plain files in it. */
static void remove_staging(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *p = ut_path_join(dir, e->d_name);
        if (p)
            unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

static int dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    int empty = 1;
    while (empty && (e = readdir(d)))
        empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
    closedir(d);
    return empty;
}

static int write_shards(const char *stage, tplan *p, int nfiles, const eng_init_opts *o,
                        char *err, size_t errlen)
{
    cJSON *idx = NULL, *wm = NULL;
    uint64_t total = 0;
    if (nfiles > 1) {
        idx = cJSON_CreateObject();
        cJSON *meta = idx ? cJSON_AddObjectToObject(idx, "metadata") : NULL;
        for (int i = 0; i < p->n; i++)
            total += p->t[i].nbytes;
        if (!meta || !cJSON_AddNumberToObject(meta, "total_size", (double)total) ||
            !(wm = cJSON_AddObjectToObject(idx, "weight_map"))) {
            cJSON_Delete(idx);
            return ut_err(err, errlen, "out of memory");
        }
    }
    int rc = -1;
    double t0 = ut_now();
    for (int sh = 0; sh < nfiles; sh++) {
        char fn[64];
        if (nfiles == 1)
            snprintf(fn, sizeof fn, "model.safetensors");
        else
            snprintf(fn, sizeof fn, "model-%05d-of-%05d.safetensors", sh + 1, nfiles);
        st_writer *w = st_writer_new();
        if (!w || st_writer_meta(w, "format", "pt")) {
            st_writer_free(w);
            ut_err(err, errlen, "out of memory");
            goto done;
        }
        int bad = 0;
        for (int i = 0; i < p->n && !bad; i++) {
            tspec *t = &p->t[i];
            if (t->shard != sh)
                continue;
            bad = st_writer_add_gen(w, t->name, t->dtype, t->ndim, t->shape, fill_tensor, t,
                                    err, errlen) != 0;
            if (!bad && wm && !cJSON_AddStringToObject(wm, t->name, fn))
                bad = ut_err(err, errlen, "out of memory");
        }
        char *path = bad ? NULL : ut_path_join(stage, fn);
        uint64_t fsz = st_writer_size(w);
        if (!bad && !path)
            ut_err(err, errlen, "out of memory");
        if (!path || st_writer_save(w, path, err, errlen)) {
            free(path);
            st_writer_free(w);
            goto done;
        }
        free(path);
        st_writer_free(w);
        if (o->log)
            fprintf(o->log, "init-model: wrote %s (%.2f GB) [%d/%d, %.0f s]\n", fn, fsz / 1e9,
                    sh + 1, nfiles, ut_now() - t0);
    }
    if (idx) {
        char *txt = cJSON_Print(idx);
        if (!txt) {
            ut_err(err, errlen, "out of memory");
            goto done;
        }
        int r = write_text(stage, "model.safetensors.index.json", txt, err, errlen);
        free(txt);
        if (r)
            goto done;
    }
    rc = 0;
done:
    cJSON_Delete(idx);
    return rc;
}

int eng_init_write(const char *dir_in, const char *config_text, const eng_config *cfg,
                   const eng_init_opts *o_in, char *err, size_t errlen)
{
    eng_init_opts o = *o_in;
    if (o.dtype != ST_F32 && o.dtype != ST_BF16)
        return ut_err(err, errlen, "init-model: dtype must be bf16 or f32");
    if (!o.shard_bytes)
        o.shard_bytes = ENG_INIT_SHARD_BYTES;
    if (o.threads <= 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        o.threads = nc > 0 ? (int)nc : 1;
    }
    char *dir = ut_strdup(dir_in);
    if (!dir)
        return ut_err(err, errlen, "out of memory");
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dir[--dl] = 0;
    char *stage = NULL;
    tplan p = {0};
    int rc = -1, staged = 0;
    struct stat st;
    if (stat(dir, &st) == 0 && (!S_ISDIR(st.st_mode) || !dir_is_empty(dir))) {
        ut_err(err, errlen, "%s: already exists and is not an empty directory; refusing to "
               "overwrite it", dir);
        goto done;
    }
    if (build_plan(cfg, &o, &p, err, errlen))
        goto done;
    int nfiles = assign_shards(&p, o.shard_bytes);
    uint64_t need = 0;
    for (int i = 0; i < p.n; i++)
        need += p.t[i].nbytes;
    stage = malloc(dl + 32);
    if (!stage) {
        ut_err(err, errlen, "out of memory");
        goto done;
    }
    snprintf(stage, dl + 32, "%s.tmp-%ld", dir, (long)getpid());
    char *slash = strrchr(stage, '/');
    if (slash && slash != stage) { /* the directories above the checkpoint */
        *slash = 0;
        int bad = ut_mkdirs(stage, err, errlen);
        *slash = '/';
        if (bad)
            goto done;
    }
    if (mkdir(stage, 0755) != 0) {
        ut_err(err, errlen, "%s: cannot create the staging directory: %s", stage,
               strerror(errno));
        goto done;
    }
    staged = 1;
    struct statvfs vfs;
    if (statvfs(stage, &vfs) == 0 &&
        (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize < need + (need >> 6)) {
        ut_err(err, errlen, "%s: needs %.2f GB of disk space, only %.2f GB free", dir,
               need / 1e9, (double)vfs.f_bavail * (double)vfs.f_frsize / 1e9);
        goto done;
    }
    if (write_text(stage, "config.json", config_text, err, errlen) ||
        write_shards(stage, &p, nfiles, &o, err, errlen))
        goto done;
    if (rename(stage, dir) != 0) {
        ut_err(err, errlen, "%s: cannot move the finished checkpoint from %s into place: %s",
               dir, stage, strerror(errno));
        goto done;
    }
    staged = 0;
    rc = 0;
done:
    if (staged)
        remove_staging(stage);
    plan_free(&p);
    free(stage);
    free(dir);
    return rc;
}
