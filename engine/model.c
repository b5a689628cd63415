/*
 * model.c — checkpoint loading: files, layout detection, tensor binding
 * and validation against the config.  See model.h.
 *
 * Binding goes through one table of expected tensors built from the
 * config in the layout the files use; every expected tensor must exist
 * with the exact shape and a float dtype, and every tensor in the files
 * must be expected (so a stray or misnamed tensor is reported, not
 * ignored).
 */
#define _POSIX_C_SOURCE 200809L
#include "model.h"
#include "util.h"
#include "vocab_count.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define INDEX_MAX_BYTES (64u << 20)

/* Where a tensor of the checkpoint lives. */
typedef struct {
    const st_tensor *t;
    const st_file *f;
    int used;
} tref;

typedef struct {
    eng_model *m;
    tref *refs;             /* all tensors of all files, sorted by name */
    int nrefs;
    char *err;
    size_t errlen;
} binder;

static void *own(eng_model *m, void *p)
{
    if (!p)
        return NULL;
    if (m->nowned == m->capowned) {
        int nc = m->capowned ? 2 * m->capowned : 256;
        void **no = realloc(m->owned, (size_t)nc * sizeof *no);
        if (!no) {
            free(p);
            return NULL;
        }
        m->owned = no;
        m->capowned = nc;
    }
    m->owned[m->nowned++] = p;
    return p;
}

static int cmp_tref(const void *a, const void *b)
{
    return strcmp(((const tref *)a)->t->name, ((const tref *)b)->t->name);
}

static tref *find_ref(binder *b, const char *name)
{
    size_t lo = 0, hi = (size_t)b->nrefs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(b->refs[mid].t->name, name);
        if (c == 0)
            return &b->refs[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int is_float(st_dtype d)
{
    return d == ST_F32 || d == ST_BF16 || d == ST_F16;
}

static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape)
{
    size_t k = 0;
    k += (size_t)snprintf(buf + k, n - k, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
}

/* Looks up name and checks its shape and dtype; NULL (with a message) if
 * absent and required, or wrong. *missing set when absent. */
static const st_tensor *lookup(binder *b, const char *name, int ndim, const int64_t *shape,
                               const st_file **file)
{
    tref *r = find_ref(b, name);
    if (!r) {
        ut_err(b->err, b->errlen, "%s: missing tensor '%s'", b->m->weights_path, name);
        return NULL;
    }
    const st_tensor *t = r->t;
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        ok = t->shape[i] == shape[i];
    if (!ok) {
        char want[128], got[128];
        shape_str(want, sizeof want, ndim, shape);
        shape_str(got, sizeof got, t->ndim, t->shape);
        ut_err(b->err, b->errlen, "%s: tensor '%s' has shape %s, the config implies %s",
               r->f->path, name, got, want);
        return NULL;
    }
    if (!is_float(t->dtype)) {
        ut_err(b->err, b->errlen, "%s: tensor '%s' has dtype %s; weights must be F32, BF16 or F16",
               r->f->path, name, st_dtype_name(t->dtype));
        return NULL;
    }
    r->used = 1;
    if (file)
        *file = r->f;
    return t;
}

/* Widens a float tensor's elements [off, off+n) to an owned float array. */
static float *widen(eng_model *m, const st_tensor *t, size_t off, size_t n)
{
    float *out = own(m, malloc((n ? n : 1) * sizeof(float)));
    if (!out)
        return NULL;
    const uint8_t *p = (const uint8_t *)t->data;
    for (size_t i = 0; i < n; i++) {
        if (t->dtype == ST_F32) {
            memcpy(&out[i], p + 4 * (off + i), 4);
        } else {
            uint16_t h;
            memcpy(&h, p + 2 * (off + i), 2);
            out[i] = t->dtype == ST_BF16 ? ut_bf16_to_f32(h) : ut_f16_to_f32(h);
        }
    }
    return out;
}

/* Binds a vector tensor of n elements as float32. */
static float *vec(binder *b, const char *name, int64_t n)
{
    const st_tensor *t = lookup(b, name, 1, &n, NULL);
    if (!t)
        return NULL;
    float *v = widen(b->m, t, 0, (size_t)n);
    if (!v)
        ut_err(b->err, b->errlen, "out of memory");
    return v;
}

/* Binds any-rank tensor as float32. */
static float *arr(binder *b, const char *name, int ndim, const int64_t *shape)
{
    const st_tensor *t = lookup(b, name, ndim, shape, NULL);
    if (!t)
        return NULL;
    float *v = widen(b->m, t, 0, (size_t)st_numel(t));
    if (!v)
        ut_err(b->err, b->errlen, "out of memory");
    return v;
}

/* Makes a matrix view of rows x cols elements at element offset off of t,
 * in place when aligned, else copied. */
static int mat_view(binder *b, const st_tensor *t, size_t off, int rows, int cols, eng_mat *out)
{
    size_t es = st_dtype_size(t->dtype);
    const uint8_t *p = (const uint8_t *)t->data + off * es;
    out->dt = t->dtype;
    out->rows = rows;
    out->cols = cols;
    if ((uintptr_t)p % es == 0) {
        out->p = p;
        return 0;
    }
    size_t nb = (size_t)rows * (size_t)cols * es;
    void *cp = own(b->m, malloc(nb ? nb : 1));
    if (!cp)
        return ut_err(b->err, b->errlen, "out of memory");
    memcpy(cp, p, nb);
    out->p = cp;
    return 0;
}

static int mat(binder *b, const char *name, int rows, int cols, eng_mat *out)
{
    int64_t shape[2] = {rows, cols};
    const st_tensor *t = lookup(b, name, 2, shape, NULL);
    if (!t)
        return -1;
    return mat_view(b, t, 0, rows, cols, out);
}

/* ------------------------------------------------------------- name tables */

typedef struct {
    char hs[160], hb[160], rs[160], rb[160], norm[160];
} merge_names;

/* Names of the merge and norm tensors in front of sub-layer n (n == n_sub
 * means the final merge). */
static void merge_name(const eng_model *m, int n, merge_names *o)
{
    int N = m->cfg.n_sub;
    memset(o, 0, sizeof *o);
    if (m->layout == ENG_LAYOUT_LEGACY) {
        char pre[96];
        if (n == N)
            snprintf(pre, sizeof pre, "model.res_scale");
        else
            snprintf(pre, sizeof pre, "model.layers.%d.res_scale", n);
        snprintf(o->hs, sizeof o->hs, "%s.hidden_states_scale", pre);
        snprintf(o->hb, sizeof o->hb, "%s.hidden_states_bias", pre);
        snprintf(o->rs, sizeof o->rs, "%s.residual_scale", pre);
        snprintf(o->rb, sizeof o->rb, "%s.residual_bias", pre);
        if (n == N)
            snprintf(o->norm, sizeof o->norm, "model.final_norm.weight");
        else
            snprintf(o->norm, sizeof o->norm, "model.layers.%d.input_norm.weight", n);
        return;
    }
    char pre[96];
    if (n == 0) {
        snprintf(o->hs, sizeof o->hs, "model.input_hidden_states_scale");
        snprintf(o->hb, sizeof o->hb, "model.input_hidden_states_bias");
    } else {
        if (n % 2 == 1)
            snprintf(pre, sizeof pre, "model.layers.%d.post_attention_residual_scale", n / 2);
        else
            snprintf(pre, sizeof pre, "model.layers.%d.post_mlp_residual_scale", n / 2 - 1);
        snprintf(o->hs, sizeof o->hs, "%s.hidden_states_scale", pre);
        snprintf(o->hb, sizeof o->hb, "%s.hidden_states_bias", pre);
        snprintf(o->rs, sizeof o->rs, "%s.residual_scale", pre);
        snprintf(o->rb, sizeof o->rb, "%s.residual_bias", pre);
    }
    if (n == N)
        snprintf(o->norm, sizeof o->norm, "model.norm.weight");
    else if (n % 2 == 0)
        snprintf(o->norm, sizeof o->norm, "model.layers.%d.input_layernorm.weight", n / 2);
    else
        snprintf(o->norm, sizeof o->norm, "model.layers.%d.post_attention_layernorm.weight",
                 n / 2);
}

static int bind_merge(binder *b, int n, float **hs, float **hb, float **rs, float **rb,
                      float **norm)
{
    const eng_config *c = &b->m->cfg;
    merge_names nm;
    merge_name(b->m, n, &nm);
    int64_t H = c->hidden;
    if (c->scale_residual) {
        if (!(*hs = vec(b, nm.hs, H)) || !(*hb = vec(b, nm.hb, H)))
            return -1;
        if (n > 0 && (!(*rs = vec(b, nm.rs, H)) || !(*rb = vec(b, nm.rb, H))))
            return -1;
    }
    return (*norm = vec(b, nm.norm, H)) ? 0 : -1;
}

static int bind_attention(binder *b, int n, eng_sublayer *s)
{
    const eng_config *c = &b->m->cfg;
    int H = c->hidden, d = c->head_dim, C = eng_cfg_conv_channels(c);
    char pre[96], nm[200];
    int native = b->m->layout == ENG_LAYOUT_NATIVE;
    if (native)
        snprintf(pre, sizeof pre, "model.layers.%d.self_attn.qkv_proj.", n / 2);
    else
        snprintf(pre, sizeof pre, "model.layers.%d.self_attn.qkv.", n);
#define NM(leg, nat) (snprintf(nm, sizeof nm, "%s%s", pre, native ? (nat) : (leg)), nm)
    if (mat(b, NM("linear_q.weight", "q_proj.weight"), c->nq * d, H, &s->wq) ||
        mat(b, NM("linear_k.weight", "k_proj.weight"), c->nk * d, H, &s->wk) ||
        mat(b, NM("val_proj1.weight", "v_proj_current.weight"), c->nk * d / 2, H, &s->wv1) ||
        mat(b, NM("val_proj2.weight", "v_proj_delayed.weight"), c->nk * d / 2, H, &s->wv2))
        return -1;
    int64_t sh0[3] = {C, 1, c->cca_k0}, sh1[3] = {C, d, c->cca_k1};
    if (!(s->conv0_w = arr(b, NM("conv_qk.0.weight", "conv_qk_depthwise.weight"), 3, sh0)) ||
        !(s->conv0_b = vec(b, NM("conv_qk.0.bias", "conv_qk_depthwise.bias"), C)) ||
        !(s->conv1_w = arr(b, NM("conv_qk.1.weight", "conv_qk_grouped.weight"), 3, sh1)) ||
        !(s->conv1_b = vec(b, NM("conv_qk.1.bias", "conv_qk_grouped.bias"), C)))
        return -1;
#undef NM
    /* conv1_w [C, d, K1] -> [C, K1*d], tap-major, so that each output
     * channel's filter is one row over its group's K1 frames (forward.c). */
    {
        int K1 = c->cca_k1;
        float *row = malloc((size_t)d * (size_t)K1 * sizeof(float));
        if (!row)
            return ut_err(b->err, b->errlen, "out of memory");
        for (int o = 0; o < C; o++) {
            float *w = s->conv1_w + (size_t)o * (size_t)d * (size_t)K1;
            for (int j = 0; j < d; j++)
                for (int tap = 0; tap < K1; tap++)
                    row[tap * d + j] = w[j * K1 + tap];
            memcpy(w, row, (size_t)d * (size_t)K1 * sizeof(float));
        }
        free(row);
    }
    if (native)
        snprintf(nm, sizeof nm, "model.layers.%d.self_attn.qk_norm.temp", n / 2);
    else
        snprintf(nm, sizeof nm, "%stemp", pre);
    if (!(s->temp = vec(b, nm, c->nk)))
        return -1;
    if (c->clamp_temp)
        for (int g = 0; g < c->nk; g++)
            s->temp[g] = expf(fminf(fmaxf(s->temp[g], 1e-7f), 2.0f));
    snprintf(nm, sizeof nm, "model.layers.%d.self_attn.o_proj.weight", native ? n / 2 : n);
    return mat(b, nm, H, c->nq * d, &s->wo);
}

static int bind_moe(binder *b, int n, eng_sublayer *s)
{
    const eng_config *c = &b->m->cfg;
    int H = c->hidden, R = c->router, E = c->n_experts, I = c->inter;
    int native = b->m->layout == ENG_LAYOUT_NATIVE;
    char pre[96], nm[200];
    if (native)
        snprintf(pre, sizeof pre, "model.layers.%d.mlp.gate.", n / 2);
    else
        snprintf(pre, sizeof pre, "model.layers.%d.zaya_block.router.", n);
#define NM(leg, nat) (snprintf(nm, sizeof nm, "%s%s", pre, native ? (nat) : (leg)), nm)
    if (mat(b, NM("down_proj.weight", "down_proj.weight"), R, H, &s->rdown) ||
        !(s->rdown_b = vec(b, NM("down_proj.bias", "down_proj.bias"), R)) ||
        !(s->reda_norm = vec(b, NM("rmsnorm_eda.weight", "router_mlp.norm.weight"), R)) ||
        mat(b, NM("router_mlp.0.weight", "router_mlp.fc1.weight"), R, R, &s->r0) ||
        !(s->r0_b = vec(b, NM("router_mlp.0.bias", "router_mlp.fc1.bias"), R)) ||
        mat(b, NM("router_mlp.2.weight", "router_mlp.fc2.weight"), R, R, &s->r2) ||
        !(s->r2_b = vec(b, NM("router_mlp.2.bias", "router_mlp.fc2.bias"), R)) ||
        mat(b, NM("router_mlp.4.weight", "router_mlp.out_proj.weight"), eng_cfg_slots(c), R,
            &s->r4) ||
        !(s->balance = vec(b, NM("balancing_biases", "balancing_biases"), eng_cfg_slots(c))))
        return -1;
    if (c->use_eda && n > 1 &&
        !(s->rstate_scale = vec(b, NM("router_states_scale", "router_states_scale"), R)))
        return -1;
#undef NM
    s->fc1 = own(b->m, calloc((size_t)E, sizeof *s->fc1));
    s->fc2 = own(b->m, calloc((size_t)E, sizeof *s->fc2));
    if (!s->fc1 || !s->fc2)
        return ut_err(b->err, b->errlen, "out of memory");
    if (native) {
        int64_t sgu[3] = {E, 2 * I, H}, sdn[3] = {E, H, I};
        snprintf(nm, sizeof nm, "model.layers.%d.mlp.experts.gate_up_proj", n / 2);
        const st_tensor *gu = lookup(b, nm, 3, sgu, NULL);
        if (!gu)
            return -1;
        snprintf(nm, sizeof nm, "model.layers.%d.mlp.experts.down_proj", n / 2);
        const st_tensor *dn = lookup(b, nm, 3, sdn, NULL);
        if (!dn)
            return -1;
        for (int e = 0; e < E; e++)
            if (mat_view(b, gu, (size_t)e * 2 * I * H, 2 * I, H, &s->fc1[e]) ||
                mat_view(b, dn, (size_t)e * H * I, H, I, &s->fc2[e]))
                return -1;
        return 0;
    }
    for (int e = 0; e < E; e++) {
        snprintf(nm, sizeof nm, "model.layers.%d.zaya_block.experts.local_experts.%d.linear_fc1.weight", n, e);
        if (mat(b, nm, 2 * I, H, &s->fc1[e]))
            return -1;
        snprintf(nm, sizeof nm, "model.layers.%d.zaya_block.experts.local_experts.%d.linear_fc2.weight", n, e);
        if (mat(b, nm, H, I, &s->fc2[e]))
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ files */

static int add_file(eng_model *m, const char *path, char *err, size_t errlen)
{
    st_file **nf = realloc(m->files, (size_t)(m->nfiles + 1) * sizeof *nf);
    if (!nf)
        return ut_err(err, errlen, "out of memory");
    m->files = nf;
    if (st_open(path, &m->files[m->nfiles], err, errlen) != 0)
        return -1;
    m->nfiles++;
    return 0;
}

static int has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void eng_index_free(char **names, char **files, int n)
{
    for (int i = 0; i < n; i++) {
        free(names ? names[i] : NULL);
        free(files ? files[i] : NULL);
    }
    free(names);
    free(files);
}

int eng_index_parse(const char *text, const char *path, char ***names, char ***files, int *n,
                    char *err, size_t errlen)
{
    const char *index = path;
    char **nm = NULL, **fl = NULL, **sorted = NULL;
    int cnt = 0, rc = -1;
    *names = NULL;
    *files = NULL;
    *n = 0;
    cJSON *root = cJSON_Parse(text);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        return ut_err(err, errlen, "%s: malformed JSON near byte %zu", index,
                      at && at >= text ? (size_t)(at - text) : (size_t)0);
    }
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!cJSON_IsObject(wm)) {
        ut_err(err, errlen, "%s: field 'weight_map': missing or not an object", index);
        goto done;
    }
    int size = cJSON_GetArraySize(wm);
    nm = calloc(size ? (size_t)size : 1, sizeof *nm);
    fl = calloc(size ? (size_t)size : 1, sizeof *fl);
    if (!nm || !fl) {
        ut_err(err, errlen, "out of memory");
        goto done;
    }
    for (const cJSON *e = wm->child; e && cnt < size; e = e->next) {
        if (!cJSON_IsString(e)) {
            ut_err(err, errlen, "%s: weight_map['%s'] is not a file name", index, e->string);
            goto done;
        }
        const char *fn = e->valuestring;
        if (!*fn || strchr(fn, '/') || strcmp(fn, "..") == 0) {
            ut_err(err, errlen, "%s: weight_map['%s'] = '%s' is not a plain file name", index,
                   e->string, fn);
            goto done;
        }
        nm[cnt] = ut_strdup(e->string);
        fl[cnt] = ut_strdup(fn);
        cnt++;
        if (!nm[cnt - 1] || !fl[cnt - 1]) {
            ut_err(err, errlen, "out of memory");
            goto done;
        }
    }
    if (cnt == 0) {
        ut_err(err, errlen, "%s: weight_map is empty", index);
        goto done;
    }
    sorted = malloc((size_t)cnt * sizeof *sorted);
    if (!sorted) {
        ut_err(err, errlen, "out of memory");
        goto done;
    }
    memcpy(sorted, nm, (size_t)cnt * sizeof *sorted);
    qsort(sorted, (size_t)cnt, sizeof *sorted, cmp_str);
    for (int i = 1; i < cnt; i++)
        if (strcmp(sorted[i - 1], sorted[i]) == 0) {
            ut_err(err, errlen, "%s: weight_map lists tensor '%s' more than once", index,
                   sorted[i]);
            goto done;
        }
    *names = nm;
    *files = fl;
    *n = cnt;
    rc = 0;
done:
    free(sorted);
    cJSON_Delete(root);
    if (rc)
        eng_index_free(nm, fl, cnt);
    return rc;
}

/* Opens every shard named by an index file and checks the weight_map
 * against what the shards hold. */
static int open_index(eng_model *m, const char *index, char *err, size_t errlen)
{
    char *text = NULL;
    char **names = NULL, **files = NULL, **sorted = NULL;
    int n = 0;
    char *dir = NULL;
    int rc = -1;
    if (ut_read_file(index, INDEX_MAX_BYTES, &text, NULL, err, errlen))
        return -1;
    if (eng_index_parse(text, index, &names, &files, &n, err, errlen))
        goto done;
    dir = ut_strdup(index);
    if (!dir) {
        ut_err(err, errlen, "out of memory");
        goto done;
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[1] = 0;
    else
        strcpy(dir, "./");
    /* Open each distinct shard once, in first-mention order. */
    for (int j = 0; j < n; j++) {
        char *p = ut_path_join(dir, files[j]);
        if (!p) {
            ut_err(err, errlen, "out of memory");
            goto done;
        }
        int seen = 0;
        for (int i = 0; i < m->nfiles && !seen; i++)
            seen = strcmp(m->files[i]->path, p) == 0;
        int r = seen ? 0 : add_file(m, p, err, errlen);
        free(p);
        if (r) {
            ut_err_prefix(err, errlen, "shard of %s", index);
            goto done;
        }
    }
    /* Every mapped tensor must be in the shard the map names, and every
     * shard tensor must be mapped (the names are distinct: eng_index_parse). */
    int total = 0;
    for (int i = 0; i < m->nfiles; i++)
        total += m->files[i]->ntensors;
    for (int j = 0; j < n; j++) {
        char *p = ut_path_join(dir, files[j]);
        const st_file *f = NULL;
        for (int i = 0; p && i < m->nfiles; i++)
            if (strcmp(m->files[i]->path, p) == 0)
                f = m->files[i];
        free(p);
        if (!f || !st_find(f, names[j])) {
            ut_err(err, errlen, "%s: weight_map puts tensor '%s' in %s, which has no such tensor",
                   index, names[j], files[j]);
            goto done;
        }
    }
    if (n != total) {
        sorted = malloc((size_t)n * sizeof *sorted);
        if (!sorted) {
            ut_err(err, errlen, "out of memory");
            goto done;
        }
        memcpy(sorted, names, (size_t)n * sizeof *sorted);
        qsort(sorted, (size_t)n, sizeof *sorted, cmp_str);
        for (int i = 0; i < m->nfiles; i++)
            for (int k = 0; k < m->files[i]->ntensors; k++) {
                const char *tn = m->files[i]->tensors[k].name;
                if (!bsearch(&tn, sorted, (size_t)n, sizeof *sorted, cmp_str)) {
                    ut_err(err, errlen, "%s: tensor '%s' is not listed in the weight_map of %s",
                           m->files[i]->path, tn, index);
                    goto done;
                }
            }
        ut_err(err, errlen, "%s: a tensor is stored in more than one shard", index);
        goto done;
    }
    rc = 0;
done:
    free(sorted);
    free(dir);
    eng_index_free(names, files, n);
    free(text);
    return rc;
}

static int open_weights(eng_model *m, const char *weights, char *err, size_t errlen)
{
    char *path = NULL;
    if (weights) {
        path = ut_strdup(weights);
    } else {
        path = ut_path_join(m->dir, "model.safetensors.index.json");
        if (path && !file_exists(path)) {
            free(path);
            path = ut_path_join(m->dir, "model.safetensors");
            if (path && !file_exists(path)) {
                ut_err(err, errlen,
                       "%s: no weights: neither model.safetensors nor "
                       "model.safetensors.index.json exists",
                       m->dir);
                free(path);
                return -1;
            }
        }
    }
    if (!path)
        return ut_err(err, errlen, "out of memory");
    m->weights_path = path;
    if (has_suffix(path, ".json"))
        return open_index(m, path, err, errlen);
    return add_file(m, path, err, errlen);
}

/* ------------------------------------------------------------------- load */

static int bind_all(eng_model *m, char *err, size_t errlen)
{
    const eng_config *c = &m->cfg;
    binder b = {m, NULL, 0, err, errlen};
    int rc = -1;
    for (int i = 0; i < m->nfiles; i++)
        b.nrefs += m->files[i]->ntensors;
    b.refs = calloc(b.nrefs ? (size_t)b.nrefs : 1, sizeof *b.refs);
    if (!b.refs)
        return ut_err(err, errlen, "out of memory");
    int k = 0;
    for (int i = 0; i < m->nfiles; i++)
        for (int j = 0; j < m->files[i]->ntensors; j++) {
            b.refs[k].t = &m->files[i]->tensors[j];
            b.refs[k].f = m->files[i];
            k++;
            m->weight_bytes += m->files[i]->tensors[j].nbytes;
        }
    qsort(b.refs, (size_t)b.nrefs, sizeof *b.refs, cmp_tref);
    for (int i = 1; i < b.nrefs; i++)
        if (strcmp(b.refs[i - 1].t->name, b.refs[i].t->name) == 0) {
            ut_err(err, errlen, "tensor '%s' is stored twice (%s and %s)", b.refs[i].t->name,
                   b.refs[i - 1].f->path, b.refs[i].f->path);
            goto done;
        }

    /* Layout: decided by the first sub-layer's norm name. */
    if (find_ref(&b, "model.layers.0.input_norm.weight"))
        m->layout = ENG_LAYOUT_LEGACY;
    else if (find_ref(&b, "model.layers.0.input_layernorm.weight"))
        m->layout = ENG_LAYOUT_NATIVE;
    else {
        ut_err(err, errlen,
               "%s: missing tensor 'model.layers.0.input_norm.weight' (legacy layout) or "
               "'model.layers.0.input_layernorm.weight' (native layout)",
               m->weights_path);
        goto done;
    }

    int H = c->hidden;
    const st_tensor *et = lookup(&b, "model.embed_tokens.weight", 2,
                                 (int64_t[]){c->vocab, H}, NULL);
    if (!et || mat_view(&b, et, 0, c->vocab, H, &m->embed))
        goto done;
    m->weight_dtype = et->dtype;
    if (c->tie_embeddings) {
        m->lm_head = m->embed;
        tref *lh = find_ref(&b, "lm_head.weight");
        if (lh) /* some exporters store the tied copy; it must agree in shape */
            if (!lookup(&b, "lm_head.weight", 2, (int64_t[]){c->vocab, H}, NULL))
                goto done;
    } else if (mat(&b, "lm_head.weight", c->vocab, H, &m->lm_head)) {
        goto done;
    }
    if (c->lm_head_bias && !(m->lm_head_b = vec(&b, "lm_head.bias", c->vocab)))
        goto done;

    m->sub = own(m, calloc((size_t)c->n_sub, sizeof *m->sub));
    if (!m->sub) {
        ut_err(err, errlen, "out of memory");
        goto done;
    }
    for (int n = 0; n < c->n_sub; n++) {
        eng_sublayer *s = &m->sub[n];
        if (bind_merge(&b, n, &s->hs, &s->hb, &s->rs, &s->rb, &s->norm))
            goto done;
        if ((n % 2 == 0 ? bind_attention(&b, n, s) : bind_moe(&b, n, s)))
            goto done;
    }
    if (bind_merge(&b, c->n_sub, &m->final_hs, &m->final_hb, &m->final_rs, &m->final_rb,
                   &m->final_norm))
        goto done;

    for (int i = 0; i < b.nrefs; i++)
        if (!b.refs[i].used) {
            ut_err(err, errlen, "%s: unexpected tensor '%s' (not part of a %s-layout ZAYA model "
                   "with this config)",
                   b.refs[i].f->path, b.refs[i].t->name,
                   m->layout == ENG_LAYOUT_LEGACY ? "legacy" : "native");
            goto done;
        }
    rc = 0;
done:
    free(b.refs);
    return rc;
}

int eng_model_load(const char *dir, const char *weights, eng_model **out, char *err,
                   size_t errlen)
{
    *out = NULL;
    eng_model *m = calloc(1, sizeof *m);
    if (!m)
        return ut_err(err, errlen, "out of memory");
    m->dir = ut_strdup(dir);
    char *cfgpath = ut_path_join(dir, "config.json");
    if (!m->dir || !cfgpath) {
        free(cfgpath);
        ut_err(err, errlen, "out of memory");
        goto fail;
    }
    int r = eng_config_load(cfgpath, &m->cfg, err, errlen);
    free(cfgpath);
    if (r || open_weights(m, weights, err, errlen) || bind_all(m, err, errlen))
        goto fail;

    const eng_config *c = &m->cfg;
    m->inv_freq = own(m, malloc((size_t)(c->rot / 2) * sizeof(float)));
    if (!m->inv_freq) {
        ut_err(err, errlen, "out of memory");
        goto fail;
    }
    /* float32 exponent and power, as the reference computes it (spec §5) */
    for (int i = 0; i < c->rot / 2; i++) {
        float e = (float)(2 * i) / (float)c->rot;
        m->inv_freq[i] = 1.0f / powf((float)c->rope_theta, e);
    }
    /* A tokenizer shipped with the checkpoint must not emit ids past the
     * embedding table. */
    char *tokpath = ut_path_join(dir, "tokenizer.json");
    if (!tokpath) {
        ut_err(err, errlen, "out of memory");
        goto fail;
    }
    if (file_exists(tokpath)) {
        long nids = 0;
        r = eng_tokenizer_json_ids(tokpath, &nids, err, errlen);
        if (r == 0 && nids > c->vocab)
            r = ut_err(err, errlen, "%s: tokenizer.json has %ld ids, more than vocab_size %d",
                       dir, nids, c->vocab);
        if (r) {
            free(tokpath);
            goto fail;
        }
    }
    free(tokpath);
    *out = m;
    return 0;
fail:
    eng_model_free(m);
    return -1;
}

void eng_model_free(eng_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->nowned; i++)
        free(m->owned[i]);
    free(m->owned);
    for (int i = 0; i < m->nfiles; i++)
        st_close(m->files[i]);
    free(m->files);
    free(m->weights_path);
    free(m->dir);
    free(m);
}
