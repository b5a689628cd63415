/*
 * test_layouts.c — the same golden weights in every on-disk form the loader
 * accepts must give the same logits: native (transformers >= 5.13) names
 * and config schema, sharded with an index, a misaligned data region (the
 * copy fallback), and the --skip-output switch.
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "../engine/model.h"
#include "../engine/util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static char gdir[4000];
static st_file *gold, *src;

static double prefill_diff(const eng_model *m, int k)
{
    char name[64];
    snprintf(name, sizeof name, "seq%d.input_ids", k);
    const st_tensor *ti = st_find(gold, name);
    snprintf(name, sizeof name, "seq%d.prefill_logits", k);
    const float *want = st_find(gold, name)->data;
    int n = (int)ti->shape[0], V = m->cfg.vocab;
    float *lg = malloc((size_t)n * V * sizeof(float));
    eng_seq *s = eng_seq_new(m);
    char err[512];
    eng_chunk c = {s, ti->data, n, lg, 1};
    double d = INFINITY;
    if (eng_forward(m, &c, 1, err, sizeof err) == 0) {
        d = 0;
        for (size_t i = 0; i < (size_t)n * V; i++)
            if (!(fabs(lg[i] - want[i]) <= d))
                d = isnan(lg[i]) ? INFINITY : fabs(lg[i] - want[i]);
    }
    free(lg);
    eng_seq_free(s);
    return d;
}

/* ------------------------------------------------------------ native form */

typedef struct {
    const char *leg, *nat;
} rule;

/* Maps a legacy tensor name to its native name (spec §3.2); experts are
 * handled separately.  Returns 0 when the name is an expert weight. */
static int native_name(const char *leg, int nsub, char *out, size_t n)
{
    int L;
    char rest[200];
    if (strcmp(leg, "model.final_norm.weight") == 0)
        return snprintf(out, n, "model.norm.weight"), 1;
    if (strncmp(leg, "model.res_scale.", 16) == 0)
        return snprintf(out, n, "model.layers.%d.post_mlp_residual_scale.%s", nsub / 2 - 1, leg + 16), 1;
    if (sscanf(leg, "model.layers.%d.%199s", &L, rest) != 2)
        return snprintf(out, n, "%s", leg), 1;
    int i = L / 2;
    static const rule attn[] = {
        {"self_attn.qkv.linear_q.weight", "self_attn.qkv_proj.q_proj.weight"},
        {"self_attn.qkv.linear_k.weight", "self_attn.qkv_proj.k_proj.weight"},
        {"self_attn.qkv.val_proj1.weight", "self_attn.qkv_proj.v_proj_current.weight"},
        {"self_attn.qkv.val_proj2.weight", "self_attn.qkv_proj.v_proj_delayed.weight"},
        {"self_attn.qkv.conv_qk.0.weight", "self_attn.qkv_proj.conv_qk_depthwise.weight"},
        {"self_attn.qkv.conv_qk.0.bias", "self_attn.qkv_proj.conv_qk_depthwise.bias"},
        {"self_attn.qkv.conv_qk.1.weight", "self_attn.qkv_proj.conv_qk_grouped.weight"},
        {"self_attn.qkv.conv_qk.1.bias", "self_attn.qkv_proj.conv_qk_grouped.bias"},
        {"self_attn.qkv.temp", "self_attn.qk_norm.temp"},
        {"self_attn.o_proj.weight", "self_attn.o_proj.weight"},
        {"zaya_block.router.down_proj.weight", "mlp.gate.down_proj.weight"},
        {"zaya_block.router.down_proj.bias", "mlp.gate.down_proj.bias"},
        {"zaya_block.router.router_states_scale", "mlp.gate.router_states_scale"},
        {"zaya_block.router.balancing_biases", "mlp.gate.balancing_biases"},
        {"zaya_block.router.rmsnorm_eda.weight", "mlp.gate.router_mlp.norm.weight"},
        {"zaya_block.router.router_mlp.0.weight", "mlp.gate.router_mlp.fc1.weight"},
        {"zaya_block.router.router_mlp.0.bias", "mlp.gate.router_mlp.fc1.bias"},
        {"zaya_block.router.router_mlp.2.weight", "mlp.gate.router_mlp.fc2.weight"},
        {"zaya_block.router.router_mlp.2.bias", "mlp.gate.router_mlp.fc2.bias"},
        {"zaya_block.router.router_mlp.4.weight", "mlp.gate.router_mlp.out_proj.weight"},
    };
    for (size_t r = 0; r < sizeof attn / sizeof attn[0]; r++)
        if (strcmp(rest, attn[r].leg) == 0)
            return snprintf(out, n, "model.layers.%d.%s", i, attn[r].nat), 1;
    if (strstr(rest, "local_experts"))
        return 0;
    if (strcmp(rest, "input_norm.weight") == 0)
        return snprintf(out, n, L % 2 ? "model.layers.%d.post_attention_layernorm.weight"
                                       : "model.layers.%d.input_layernorm.weight", i), 1;
    if (strncmp(rest, "res_scale.", 10) == 0) {
        if (L == 0)
            return snprintf(out, n, "model.input_%s", rest + 10), 1;
        if (L % 2)
            return snprintf(out, n, "model.layers.%d.post_attention_residual_scale.%s", i, rest + 10), 1;
        return snprintf(out, n, "model.layers.%d.post_mlp_residual_scale.%s", i - 1, rest + 10), 1;
    }
    return snprintf(out, n, "UNMAPPED.%s", leg), 1;
}

static int write_native(const char *dir, const eng_config *c, void ***bufs, int *nbufs)
{
    char err[512], path[4200], name[512];
    st_writer *w = st_writer_new();
    int E = c->n_experts, I = c->inter, H = c->hidden;
    *bufs = calloc((size_t)c->n_sub, sizeof(void *));
    *nbufs = 0;
    for (int k = 0; k < src->ntensors; k++) {
        const st_tensor *t = &src->tensors[k];
        if (!native_name(t->name, c->n_sub, name, sizeof name))
            continue;
        if (st_writer_add(w, name, t->dtype, t->ndim, t->shape, t->data, err, sizeof err))
            return -1;
    }
    for (int L = 1; L < c->n_sub; L += 2) {
        size_t g1 = (size_t)2 * I * H * 4, g2 = (size_t)H * I * 4;
        char *gu = malloc(E * g1), *dn = malloc(E * g2);
        (*bufs)[(*nbufs)++] = gu;
        (*bufs)[(*nbufs)++] = dn;
        for (int e = 0; e < E; e++) {
            snprintf(name, sizeof name, "model.layers.%d.zaya_block.experts.local_experts.%d.linear_fc1.weight", L, e);
            memcpy(gu + e * g1, st_find(src, name)->data, g1);
            snprintf(name, sizeof name, "model.layers.%d.zaya_block.experts.local_experts.%d.linear_fc2.weight", L, e);
            memcpy(dn + e * g2, st_find(src, name)->data, g2);
        }
        int64_t s1[3] = {E, 2 * I, H}, s2[3] = {E, H, I};
        snprintf(name, sizeof name, "model.layers.%d.mlp.experts.gate_up_proj", L / 2);
        st_writer_add(w, name, ST_F32, 3, s1, gu, err, sizeof err);
        snprintf(name, sizeof name, "model.layers.%d.mlp.experts.down_proj", L / 2);
        st_writer_add(w, name, ST_F32, 3, s2, dn, err, sizeof err);
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int rc = st_writer_save(w, path, err, sizeof err);
    st_writer_free(w);
    if (rc)
        return -1;
    /* Native config: blocks, moe_intermediate_size, rope_parameters.hybrid. */
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model_type", "zaya");
    cJSON_AddNumberToObject(j, "num_hidden_layers", c->n_sub / 2);
    cJSON_AddNumberToObject(j, "hidden_size", H);
    cJSON_AddNumberToObject(j, "vocab_size", c->vocab);
    cJSON_AddNumberToObject(j, "num_attention_heads", c->nq);
    cJSON_AddNumberToObject(j, "num_key_value_heads", c->nk);
    cJSON_AddNumberToObject(j, "head_dim", c->head_dim);
    cJSON_AddNumberToObject(j, "num_experts", E);
    cJSON_AddNumberToObject(j, "num_experts_per_tok", 1);
    cJSON_AddNumberToObject(j, "moe_intermediate_size", I);
    cJSON_AddNumberToObject(j, "router_hidden_size", c->router);
    cJSON_AddNumberToObject(j, "rms_norm_eps", c->eps);
    cJSON_AddStringToObject(j, "hidden_act", "silu");
    cJSON *rp = cJSON_AddObjectToObject(j, "rope_parameters");
    cJSON *hy = cJSON_AddObjectToObject(rp, "hybrid");
    cJSON_AddStringToObject(hy, "rope_type", "default");
    cJSON_AddNumberToObject(hy, "rope_theta", c->rope_theta);
    cJSON_AddNumberToObject(hy, "partial_rotary_factor", c->partial_rotary);
    cJSON *lt = cJSON_AddArrayToObject(j, "layer_types");
    for (int i = 0; i < c->n_sub / 2; i++)
        cJSON_AddItemToArray(lt, cJSON_CreateString("hybrid"));
    char *txt = cJSON_Print(j);
    snprintf(path, sizeof path, "%s/config.json", dir);
    rc = ck_write(path, txt, strlen(txt));
    free(txt);
    cJSON_Delete(j);
    return rc;
}

static void test_native(const eng_model *ref)
{
    ck_begin("native layout and config schema give the golden logits");
    const char *tmp = ck_tmpdir();
    char dir[512], err[1024];
    snprintf(dir, sizeof dir, "%s", tmp);
    void **bufs;
    int nb;
    CK(write_native(dir, &ref->cfg, &bufs, &nb) == 0, "writing the native checkpoint failed");
    eng_model *m = NULL;
    int rc = eng_model_load(dir, NULL, &m, err, sizeof err);
    CK(rc == 0, "load: %s", err);
    if (rc == 0) {
        CK(m->layout == ENG_LAYOUT_NATIVE && m->cfg.schema == ENG_LAYOUT_NATIVE,
           "layout/schema not detected as native");
        CK(m->cfg.n_sub == ref->cfg.n_sub && m->cfg.inter == ref->cfg.inter,
           "native config maps to n_sub %d inter %d", m->cfg.n_sub, m->cfg.inter);
        for (int k = 0; k < 3; k++) {
            double d = prefill_diff(m, k);
            CK(d <= 1e-4, "seq%d max abs diff %.3g", k, d);
        }
    }
    eng_model_free(m);
    for (int i = 0; i < nb; i++)
        free(bufs[i]);
    free(bufs);
    ck_rmtree(dir);
    ck_end();
}

/* ------------------------------------------------------------------ shards */

static void test_sharded(void)
{
    ck_begin("sharded checkpoint with model.safetensors.index.json");
    const char *tmp = ck_tmpdir();
    char dir[512], path[4200], err[1024], fn[64];
    snprintf(dir, sizeof dir, "%s", tmp);
    cJSON *idx = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(idx, "metadata");
    cJSON_AddNumberToObject(meta, "total_size", 0);
    cJSON *wm = cJSON_AddObjectToObject(idx, "weight_map");
    for (int sh = 0; sh < 3; sh++) {
        st_writer *w = st_writer_new();
        snprintf(fn, sizeof fn, "model-%05d-of-00003.safetensors", sh + 1);
        for (int k = sh; k < src->ntensors; k += 3) {
            const st_tensor *t = &src->tensors[k];
            st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data, err, sizeof err);
            cJSON_AddStringToObject(wm, t->name, fn);
        }
        snprintf(path, sizeof path, "%s/%s", dir, fn);
        CK(st_writer_save(w, path, err, sizeof err) == 0, "save: %s", err);
        st_writer_free(w);
    }
    char *txt = cJSON_Print(idx);
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    ck_write(path, txt, strlen(txt));
    free(txt);
    cJSON_Delete(idx);
    snprintf(path, sizeof path, "%s/config.json", dir);
    char from[4200];
    snprintf(from, sizeof from, "%s/config.json", gdir);
    ck_copy(from, path);
    eng_model *m = NULL;
    int rc = eng_model_load(dir, NULL, &m, err, sizeof err);
    CK(rc == 0, "load: %s", err);
    if (rc == 0) {
        CK(m->nfiles == 3, "%d files mapped, expected 3", m->nfiles);
        double d = prefill_diff(m, 1);
        CK(d <= 1e-4, "max abs diff %.3g", d);
    }
    eng_model_free(m);
    ck_rmtree(dir);
    ck_end();
}

/* ------------------------------------------------------ misaligned data */

static void test_misaligned(void)
{
    ck_begin("misaligned F32 data region is copied, results unchanged");
    char path[4200], err[1024];
    snprintf(path, sizeof path, "%s/model.safetensors", gdir);
    size_t len;
    unsigned char *b = (unsigned char *)ck_slurp(path, &len);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = (hl << 8) | b[i];
    /* One more header byte (a trailing space) shifts the data by one. */
    unsigned char *nb = malloc(len + 1);
    uint64_t nhl = hl + 1;
    for (int i = 0; i < 8; i++)
        nb[i] = (unsigned char)(nhl >> (8 * i));
    memcpy(nb + 8, b + 8, hl);
    nb[8 + hl] = ' ';
    memcpy(nb + 9 + hl, b + 8 + hl, len - 8 - hl);
    const char *tmp = ck_tmpdir();
    char dir[512], wpath[600];
    snprintf(dir, sizeof dir, "%s", tmp);
    snprintf(wpath, sizeof wpath, "%s/odd.safetensors", dir);
    ck_write(wpath, nb, len + 1);
    eng_model *m = NULL;
    int rc = eng_model_load(gdir, wpath, &m, err, sizeof err);
    CK(rc == 0, "load: %s", err);
    if (rc == 0) {
        const void *mapped = st_find(m->files[0], "model.embed_tokens.weight")->data;
        CK(m->embed.p != mapped && (uintptr_t)m->embed.p % 4 == 0, "embedding not realigned");
        double d = prefill_diff(m, 0);
        CK(d <= 1e-4, "max abs diff %.3g", d);
    }
    eng_model_free(m);
    free(b);
    free(nb);
    ck_rmtree(dir);
    ck_end();
}

static void test_skip_zero(eng_model *m)
{
    ck_begin("--skip-output=zero changes the logits of prompts that route to the skip slot");
    m->skip_mode = ENG_SKIP_ZERO;
    double d = prefill_diff(m, 0);
    m->skip_mode = ENG_SKIP_SCALED_INPUT;
    double d0 = prefill_diff(m, 0);
    CK(d > 0.1 && d0 <= 1e-4, "zero-skip diff %.3g, scaled-input diff %.3g", d, d0);
    ck_end();
}

int main(void)
{
    snprintf(gdir, sizeof gdir, "%s", ck_shared("golden/zaya-tiny"));
    char path[4200], err[1024];
    snprintf(path, sizeof path, "%s/golden.safetensors", gdir);
    if (st_open(path, &gold, err, sizeof err)) {
        printf("FAIL golden: %s\n", err);
        return 1;
    }
    snprintf(path, sizeof path, "%s/model.safetensors", gdir);
    if (st_open(path, &src, err, sizeof err)) {
        printf("FAIL golden: %s\n", err);
        return 1;
    }
    eng_model *m = NULL;
    if (eng_model_load(gdir, NULL, &m, err, sizeof err)) {
        printf("FAIL load: %s\n", err);
        return 1;
    }
    test_native(m);
    test_sharded();
    test_misaligned();
    test_skip_zero(m);
    eng_model_free(m);
    st_close(src);
    st_close(gold);
    return ck_status();
}
