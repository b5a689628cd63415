/*
 * test_init.c — `zeval init-model` (random checkpoints), the streaming
 * safetensors writer, the tokenizer-size check of the loader, and the
 * output format of `zeval bench`.
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "../engine/model.h"
#include "../engine/util.h"
#include "../engine/vocab_count.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[512]; /* temp dir holding every checkpoint of this run */

static int run_zeval(const char *const *args, const char *out, char *errbuf, size_t errlen)
{
    return ck_zeval_run(args, out, errbuf, errlen);
}

/* 1 if the two files have the same bytes (streamed, they can be large). */
static int same_file(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    static char ba[1 << 16], bb[1 << 16];
    while (same) {
        size_t na = fread(ba, 1, sizeof ba, fa), nb = fread(bb, 1, sizeof bb, fb);
        same = na == nb && memcmp(ba, bb, na) == 0;
        if (na == 0)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

static long file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static char *path2(const char *dir, const char *name)
{
    static char buf[4][1024];
    static int k;
    char *b = buf[k++ & 3];
    snprintf(b, sizeof buf[0], "%s/%s", dir, name);
    return b;
}

static int init_model(const char *out, const char *seed, const char *dtype,
                      const char *const *extra, char *err, size_t errlen)
{
    const char *a[48] = {"init-model", "--config", "tiny", "--seed", seed, "--dtype", dtype,
                         "--out", out, "--quiet"};
    int n = 10;
    for (int i = 0; extra && extra[i] && n < 46; i++)
        a[n++] = extra[i];
    a[n] = NULL;
    return run_zeval(a, NULL, err, errlen);
}

/* Random ids in [0, V). */
static void random_ids(int32_t *ids, int n, int V, uint64_t s)
{
    for (int i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        ids[i] = (int32_t)((s >> 33) % (uint64_t)V);
    }
}

/* Prefill logits (all rows) of a random prompt; NULL on failure. */
static float *prefill(const eng_model *m, int n, char *err, size_t errlen)
{
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    float *lg = malloc((size_t)n * (size_t)m->cfg.vocab * sizeof *lg);
    eng_seq *s = eng_seq_new(m);
    random_ids(ids, n, m->cfg.vocab, 12345);
    eng_chunk c = {s, ids, n, lg, 1};
    if (eng_forward(m, &c, 1, err, errlen)) {
        free(lg);
        lg = NULL;
    }
    eng_seq_free(s);
    free(ids);
    return lg;
}

/* ------------------------------------------------------------------ cases */

static char tinyA[600], tinyB[600], tinyC[600];

static void test_deterministic(void)
{
    ck_begin("init-model tiny f32: same seed -> identical bytes, other seed -> different");
    char err[4096];
    snprintf(tinyA, sizeof tinyA, "%s/tinyA", root);
    snprintf(tinyB, sizeof tinyB, "%s/tinyB", root);
    snprintf(tinyC, sizeof tinyC, "%s/tinyC", root);
    const char *t1[] = {"--threads", "2", NULL}, *t2[] = {"--threads", "1", NULL};
    int r1 = init_model(tinyA, "5", "f32", t1, err, sizeof err);
    CK(r1 == 0, "init-model exit %d: %s", r1, err);
    int r2 = init_model(tinyB, "5", "f32", t2, err, sizeof err);
    CK(r2 == 0, "init-model exit %d: %s", r2, err);
    int r3 = init_model(tinyC, "6", "f32", t1, err, sizeof err);
    CK(r3 == 0, "init-model exit %d: %s", r3, err);
    if (r1 == 0 && r2 == 0 && r3 == 0) {
        const char *w = "model.safetensors", *cj = "config.json";
        CK(file_size(path2(tinyA, w)) > 200000000, "model.safetensors is %ld bytes",
           file_size(path2(tinyA, w)));
        CK(same_file(path2(tinyA, w), path2(tinyB, w)), "same seed, different weights "
           "(1 vs 2 generator threads)");
        CK(same_file(path2(tinyA, cj), path2(tinyB, cj)), "same seed, different config.json");
        CK(file_size(path2(tinyA, w)) == file_size(path2(tinyC, w)), "sizes differ");
        CK(!same_file(path2(tinyA, w), path2(tinyC, w)), "seeds 5 and 6 gave the same weights");
    }
    ck_end();
}

static void test_config_keys(void)
{
    ck_begin("init-model config.json has the golden key set, dtype and vocab_size 262272");
    char *mine = ck_slurp(path2(tinyA, "config.json"), NULL);
    char *gold = ck_slurp(ck_shared("golden/zaya-tiny/config.json"), NULL);
    cJSON *a = mine ? cJSON_Parse(mine) : NULL, *b = gold ? cJSON_Parse(gold) : NULL;
    CK(a && b, "cannot read the configs");
    if (a && b) {
        CK(cJSON_GetArraySize(a) == cJSON_GetArraySize(b), "%d keys, golden has %d",
           cJSON_GetArraySize(a), cJSON_GetArraySize(b));
        for (cJSON *e = b->child; e; e = e->next)
            CK(cJSON_GetObjectItemCaseSensitive(a, e->string), "key '%s' missing", e->string);
        cJSON *dt = cJSON_GetObjectItemCaseSensitive(a, "dtype");
        CK(cJSON_IsString(dt) && strcmp(dt->valuestring, "float32") == 0, "dtype not float32");
        cJSON *vs = cJSON_GetObjectItemCaseSensitive(a, "vocab_size");
        CK(cJSON_IsNumber(vs) && vs->valuedouble == 262272, "vocab_size not 262272");
        /* the math fields of the tiny preset are the golden ones */
        const char *same[] = {"hidden_size", "num_hidden_layers", "num_experts", "head_dim",
                              "ffn_hidden_size", "zaya_mlp_expansion", "num_attention_heads",
                              "num_key_value_heads", "rope_theta"};
        for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
            CK(cJSON_GetObjectItemCaseSensitive(a, same[i])->valuedouble ==
                   cJSON_GetObjectItemCaseSensitive(b, same[i])->valuedouble,
               "'%s' differs from the golden config", same[i]);
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(mine);
    free(gold);
    ck_end();
}

/* Routing over a 64-token random prompt: every expert hit somewhere, none
 * taking more than half of all decisions. */
static void check_routing(const eng_model *m)
{
    int S = eng_cfg_slots(&m->cfg), E = m->cfg.n_experts, nm = m->cfg.n_sub / 2;
    uint64_t *rc = calloc((size_t)nm * S, sizeof *rc), *tot = calloc((size_t)S, sizeof *tot);
    char err[1024];
    ((eng_model *)m)->route_counts = rc;
    float *lg = prefill(m, 64, err, sizeof err);
    ((eng_model *)m)->route_counts = NULL;
    CK(lg != NULL, "forward: %s", err);
    uint64_t all = 0;
    for (int j = 0; j < nm; j++)
        for (int e = 0; e < S; e++) {
            tot[e] += rc[(size_t)j * S + e];
            all += rc[(size_t)j * S + e];
        }
    CK(all == (uint64_t)64 * nm, "%llu decisions, expected %d", (unsigned long long)all, 64 * nm);
    for (int e = 0; e < E; e++) {
        CK(tot[e] > 0, "expert %d never chosen in %d MoE sub-layers", e, nm);
        CK(2 * tot[e] <= all, "expert %d took %llu of %llu decisions", e,
           (unsigned long long)tot[e], (unsigned long long)all);
    }
    free(lg);
    free(rc);
    free(tot);
}

static void test_load_tiny(void)
{
    ck_begin("init-model tiny loads; prefill logits finite and spread; routing uses all experts");
    char err[1024];
    eng_model *m = NULL;
    int rc = eng_model_load(tinyA, NULL, &m, err, sizeof err);
    CK(rc == 0, "load: %s", err);
    if (rc == 0) {
        CK(m->cfg.vocab == 262272 && m->weight_dtype == ST_F32, "vocab %d dtype %s",
           m->cfg.vocab, st_dtype_name(m->weight_dtype));
        float *lg = prefill(m, 8, err, sizeof err);
        CK(lg != NULL, "forward: %s", err);
        if (lg) {
            size_t n = (size_t)8 * m->cfg.vocab, bad = 0;
            double ss = 0;
            for (size_t i = 0; i < n; i++) {
                bad += !isfinite(lg[i]);
                ss += (double)lg[i] * lg[i];
            }
            double rms = sqrt(ss / (double)n);
            CK(bad == 0, "%zu non-finite logits", bad);
            CK(rms > 0.1 && rms < 100, "logit rms %.3g", rms);
            free(lg);
        }
        check_routing(m);
    }
    eng_model_free(m);
    ck_end();
}

static void test_bf16(void)
{
    ck_begin("init-model bf16 (dtype field bfloat16) loads and matches the f32 values to bf16 rounding");
    char err[4096], dir[700];
    snprintf(dir, sizeof dir, "%s/small-bf16", root);
    const char *x[] = {"--set", "vocab_size=4096", NULL};
    int r = init_model(dir, "5", "bf16", x, err, sizeof err);
    CK(r == 0, "init-model exit %d: %s", r, err);
    char *cfg = ck_slurp(path2(dir, "config.json"), NULL);
    CK(cfg && strstr(cfg, "\"bfloat16\""), "config.json lacks dtype bfloat16");
    free(cfg);
    eng_model *m = NULL, *ref = NULL;
    if (r == 0 && eng_model_load(dir, NULL, &m, err, sizeof err) == 0 &&
        eng_model_load(tinyA, NULL, &ref, err, sizeof err) == 0) {
        CK(m->weight_dtype == ST_BF16, "weights are %s", st_dtype_name(m->weight_dtype));
        /* same seed and names: layer 0's q projection is the f32 one rounded */
        const uint16_t *b = m->sub[0].wq.p;
        const float *f = ref->sub[0].wq.p;
        size_t n = (size_t)m->sub[0].wq.rows * m->sub[0].wq.cols, bad = 0;
        for (size_t i = 0; i < n; i++)
            bad += b[i] != ut_f32_to_bf16(f[i]);
        CK(bad == 0, "%zu of %zu elements are not the bf16 rounding of the f32 file", bad, n);
        float *lg = prefill(m, 4, err, sizeof err);
        CK(lg != NULL, "forward: %s", err);
        for (size_t i = 0; lg && i < (size_t)4 * m->cfg.vocab; i++)
            if (!isfinite(lg[i])) {
                CK(0, "non-finite logit at %zu", i);
                break;
            }
        free(lg);
    } else {
        CK(0, "load: %s", err);
    }
    eng_model_free(m);
    eng_model_free(ref);
    ck_end();
}

static void test_sharded(void)
{
    ck_begin("init-model shards with --shard-bytes; shards load and equal the single file");
    char err[4096], one[700], sh[700];
    snprintf(one, sizeof one, "%s/small-one", root);
    snprintf(sh, sizeof sh, "%s/small-sharded", root);
    const char *base[] = {"--set", "num_hidden_layers=4", "--set", "hidden_size=64",
                          "--set", "vocab_size=1000", "--set=num_experts=16", NULL, NULL};
    int r1 = init_model(one, "9", "f32", base, err, sizeof err);
    CK(r1 == 0, "init-model exit %d: %s", r1, err);
    base[7] = "--shard-bytes=1000000";
    int r2 = init_model(sh, "9", "f32", base, err, sizeof err);
    CK(r2 == 0, "init-model exit %d: %s", r2, err);
    if (r1 || r2) {
        ck_end();
        return;
    }
    CK(file_size(path2(sh, "model.safetensors")) < 0, "sharded dir has model.safetensors");
    CK(file_size(path2(sh, "model.safetensors.index.json")) > 0, "no index");
    int nshard = 0, other = 0;
    long total = 0;
    DIR *d = opendir(sh);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int k, n;
        char tail[64];
        if (sscanf(e->d_name, "model-%5d-of-%5d.%63s", &k, &n, tail) == 3 &&
            strcmp(tail, "safetensors") == 0 && strlen(e->d_name) == 32) {
            nshard++;
            long sz = file_size(path2(sh, e->d_name));
            CK(sz > 0 && sz <= 1000000, "%s is %ld bytes", e->d_name, sz);
            total += sz;
        } else if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
                   strcmp(e->d_name, "config.json") &&
                   strcmp(e->d_name, "model.safetensors.index.json")) {
            other++;
            CK(0, "unexpected file %s", e->d_name);
        }
    }
    if (d)
        closedir(d);
    CK(nshard >= 2, "%d shards", nshard);
    CK(total > file_size(path2(one, "model.safetensors")) / 2, "shards hold %ld bytes, single "
       "file %ld", total, file_size(path2(one, "model.safetensors")));
    char *itxt = ck_slurp(path2(sh, "model.safetensors.index.json"), NULL);
    cJSON *idx = itxt ? cJSON_Parse(itxt) : NULL;
    cJSON *ts = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(idx, "metadata"),
                                                 "total_size");
    double total_size = cJSON_IsNumber(ts) ? ts->valuedouble : -1;
    cJSON_Delete(idx);
    free(itxt);
    /* no staging directory left beside the checkpoints */
    d = opendir(root);
    while (d && (e = readdir(d)))
        CK(!strstr(e->d_name, ".tmp"), "leftover %s", e->d_name);
    if (d)
        closedir(d);
    eng_model *a = NULL, *b = NULL;
    int la = eng_model_load(one, NULL, &a, err, sizeof err);
    CK(la == 0, "load single: %s", err);
    int lb = eng_model_load(sh, NULL, &b, err, sizeof err);
    CK(lb == 0, "load sharded: %s", err);
    if (la == 0 && lb == 0) {
        CK(b->nfiles == nshard, "%d files mapped, %d shards", b->nfiles, nshard);
        CK(a->weight_bytes == b->weight_bytes && total_size == (double)b->weight_bytes,
           "tensor bytes: single %llu, shards %llu, index total_size %.0f",
           (unsigned long long)a->weight_bytes, (unsigned long long)b->weight_bytes, total_size);
        float *x = prefill(a, 16, err, sizeof err), *y = prefill(b, 16, err, sizeof err);
        CK(x && y && memcmp(x, y, (size_t)16 * a->cfg.vocab * sizeof(float)) == 0,
           "sharded logits differ from the single-file ones");
        free(x);
        free(y);
        check_routing(b); /* 16 experts */
    }
    eng_model_free(a);
    eng_model_free(b);
    ck_end();
}

static void test_cli_errors(void)
{
    ck_begin("init-model rejects unknown --set keys, bad values, invalid configs, non-empty --out");
    char err[4096], dir[700];
    snprintf(dir, sizeof dir, "%s/never", root);
    const char *unk[] = {"--set", "no_such_field=3", NULL};
    int r = init_model(dir, "1", "f32", unk, err, sizeof err);
    CK(r == 2 && strstr(err, "unknown config field 'no_such_field'"), "exit %d: %s", r, err);
    const char *frac[] = {"--set", "hidden_size=64.5", NULL};
    r = init_model(dir, "1", "f32", frac, err, sizeof err);
    CK(r == 2 && strstr(err, "expected an integer"), "exit %d: %s", r, err);
    const char *str[] = {"--set", "model_type=llama", NULL};
    r = init_model(dir, "1", "f32", str, err, sizeof err);
    CK(r == 2 && strstr(err, "cannot be set"), "exit %d: %s", r, err);
    const char *odd[] = {"--set", "num_hidden_layers=3", NULL};
    r = init_model(dir, "1", "f32", odd, err, sizeof err);
    CK(r == 1 && strstr(err, "num_hidden_layers"), "exit %d: %s", r, err);
    CK(file_size(dir) < 0, "a failed run left %s", dir);
    r = init_model(tinyB, "1", "f32", NULL, err, sizeof err);
    CK(r == 1 && strstr(err, "refusing"), "exit %d: %s", r, err);
    const char *bad[] = {"init-model", "--config", "/nonexistent/config.json", "--out", dir, NULL};
    r = run_zeval(bad, NULL, err, sizeof err);
    CK(r == 1 && strstr(err, "/nonexistent/config.json"), "exit %d: %s", r, err);
    ck_end();
}

static void test_missing_parents(void)
{
    ck_begin("init-model --out creates the missing directories above the checkpoint");
    char err[4096], dir[700], cfgp[760];
    snprintf(dir, sizeof dir, "%s/not/yet/there", root);
    int r = init_model(dir, "1", "bf16", NULL, err, sizeof err);
    snprintf(cfgp, sizeof cfgp, "%s/config.json", dir);
    CK(r == 0 && file_size(cfgp) > 0, "exit %d: %s", r, err);
    ck_end();
}

static void test_config_file(void)
{
    ck_begin("init-model --config FILE takes a config.json (native schema too) plus --set");
    char err[4096], dir[700], cfgp[700];
    snprintf(cfgp, sizeof cfgp, "%s/native-config.json", root);
    snprintf(dir, sizeof dir, "%s/from-file", root);
    const char *native =
        "{\"model_type\":\"zaya\",\"num_hidden_layers\":2,\"hidden_size\":64,"
        "\"vocab_size\":300,\"num_attention_heads\":2,\"num_key_value_heads\":1,"
        "\"head_dim\":128,\"num_experts\":3,\"moe_intermediate_size\":32,"
        "\"router_hidden_size\":16,\"rms_norm_eps\":1e-6}";
    ck_write(cfgp, native, strlen(native));
    const char *a[] = {"init-model", "--config", cfgp,   "--set", "num_experts=5",
                       "--out",      dir,        "--quiet", NULL};
    int r = run_zeval(a, NULL, err, sizeof err);
    CK(r == 0, "exit %d: %s", r, err);
    eng_model *m = NULL;
    if (r == 0) {
        int l = eng_model_load(dir, NULL, &m, err, sizeof err);
        CK(l == 0, "load: %s", err);
        if (l == 0) {
            CK(m->cfg.schema == ENG_LAYOUT_LEGACY && m->cfg.n_sub == 4 &&
                   m->cfg.n_experts == 5 && m->cfg.inter == 32 && m->cfg.router == 16 &&
                   m->cfg.eps == 1e-6 && m->cfg.nk == 1,
               "config not carried over (n_sub %d, E %d, I %d, R %d)", m->cfg.n_sub,
               m->cfg.n_experts, m->cfg.inter, m->cfg.router);
            CK(m->weight_dtype == ST_BF16, "default dtype is not bf16");
        }
    }
    eng_model_free(m);
    ck_end();
}

/* element i of a generated test tensor is (float)(i % 1000) */
static int gen_fill(void *c, uint64_t first, uint64_t count, void *out)
{
    (void)c;
    for (uint64_t i = 0; i < count; i++)
        ((float *)out)[i] = (float)((first + i) % 1000);
    return 0;
}

static void test_writer_gen(void)
{
    ck_begin("st_writer_add_gen streams generated tensors beside borrowed ones");
    char err[512], path[700];
    snprintf(path, sizeof path, "%s/gen.safetensors", root);
    st_writer *w = st_writer_new();
    float small[3] = {1, 2, 3};
    int64_t s1 = 3, s2[2] = {3, (int64_t)ST_GEN_CHUNK}; /* 3 chunks */
    int rc = st_writer_add(w, "a", ST_F32, 1, &s1, small, err, sizeof err);
    rc |= st_writer_add_gen(w, "b", ST_F32, 2, s2, gen_fill, NULL, err, sizeof err);
    rc |= st_writer_save(w, path, err, sizeof err);
    CK(rc == 0, "write: %s", err);
    CK((uint64_t)file_size(path) == st_writer_size(w), "size %ld, writer said %llu",
       file_size(path), (unsigned long long)st_writer_size(w));
    st_writer_free(w);
    st_file *f = NULL;
    if (rc == 0 && st_open(path, &f, err, sizeof err) == 0) {
        const st_tensor *a = st_find(f, "a"), *b = st_find(f, "b");
        CK(a && b && memcmp(a->data, small, sizeof small) == 0, "tensor a wrong");
        size_t bad = 0, n = b ? (size_t)st_numel(b) : 0;
        for (size_t i = 0; i < n; i++)
            bad += ((const float *)b->data)[i] != (float)(i % 1000);
        CK(n == 3 * ST_GEN_CHUNK && bad == 0, "tensor b: %zu of %zu wrong", bad, n);
        st_close(f);
    } else {
        CK(0, "open: %s", err);
    }
    unlink(path);
    ck_end();
}

/* A checkpoint dir with the golden tiny weights (vocab 512) and tok. */
static int tok_case(const char *tok, char *err, size_t errlen)
{
    char dir[700];
    snprintf(dir, sizeof dir, "%s/tok", root);
    ck_rmtree(dir);
    mkdir(dir, 0755);
    ck_copy(ck_shared("golden/zaya-tiny/config.json"), path2(dir, "config.json"));
    ck_copy(ck_shared("golden/zaya-tiny/model.safetensors"), path2(dir, "model.safetensors"));
    ck_write(path2(dir, "tokenizer.json"), tok, strlen(tok));
    eng_model *m = NULL;
    int r = eng_model_load(dir, NULL, &m, err, errlen);
    eng_model_free(m);
    return r;
}

static void test_tokenizer_size(void)
{
    ck_begin("loader rejects a tokenizer.json with more ids than vocab_size");
    char err[1024];
    const char *big_vocab =
        "{\"version\":\"1.0\",\"added_tokens\":[{\"id\":0,\"content\":\"<pad>\"}],"
        "\"model\":{\"type\":\"BPE\",\"merges\":[[\"a\",\"b\"],\"c d\"],"
        "\"vocab\":{\"<pad>\":0,\"a\\\"}\":1,\"b\":600}}}";
    int r = tok_case(big_vocab, err, sizeof err);
    CK(r != 0 && strstr(err, "tokenizer.json has 601 ids, more than vocab_size 512"),
       "vocab past V: %s", r ? err : "loaded");
    const char *big_added =
        "{\"added_tokens\":[{\"content\":\"<x>\",\"special\":true,\"id\":512}],"
        "\"model\":{\"vocab\":{\"a\":0,\"b\":1}}}";
    r = tok_case(big_added, err, sizeof err);
    CK(r != 0 && strstr(err, "tokenizer.json has 513 ids"), "added past V: %s",
       r ? err : "loaded");
    const char *fits = "{\"added_tokens\":[{\"id\":511}],\"model\":{\"vocab\":{\"a\":0}}}";
    r = tok_case(fits, err, sizeof err);
    CK(r == 0, "512 ids rejected: %s", err);
    /* Unigram: a list of [piece, score]; 513 entries */
    size_t cap = 20000, k = 0;
    char *uni = malloc(cap);
    k += (size_t)snprintf(uni + k, cap - k, "{\"model\":{\"type\":\"Unigram\",\"vocab\":[");
    for (int i = 0; i < 513; i++)
        k += (size_t)snprintf(uni + k, cap - k, "%s[\"p%d\",-1.5]", i ? "," : "", i);
    snprintf(uni + k, cap - k, "]}}");
    r = tok_case(uni, err, sizeof err);
    CK(r != 0 && strstr(err, "has 513 ids"), "unigram: %s", r ? err : "loaded");
    free(uni);
    r = tok_case("{\"model\":{\"vocab\":{\"a\":0,", err, sizeof err);
    CK(r != 0 && strstr(err, "malformed"), "truncated tokenizer: %s", r ? err : "loaded");
    char dir[700];
    snprintf(dir, sizeof dir, "%s/tok", root);
    ck_rmtree(dir);
    ck_end();

    ck_begin("Gemma-3 tokenizer.json counts 262145 ids and fits the init-model tiny vocab");
    const char *gem = ck_shared("tokenizer/gemma3/tokenizer.json");
    if (file_size(gem) < 0) {
        ck_skip("gemma3 tokenizer", "../shared/tokenizer/gemma3/tokenizer.json not present");
        return;
    }
    long n = 0;
    double t0 = ut_now();
    r = eng_tokenizer_json_ids(gem, &n, err, sizeof err);
    double dt = ut_now() - t0;
    CK(r == 0 && n == 262145, "count %ld (%s)", n, r ? err : "ok");
    printf("# gemma3 tokenizer.json scanned in %.3f s\n", dt);
    ck_copy(gem, path2(tinyA, "tokenizer.json"));
    eng_model *m = NULL;
    r = eng_model_load(tinyA, NULL, &m, err, sizeof err);
    CK(r == 0, "load with the gemma3 tokenizer: %s", err);
    eng_model_free(m);
    unlink(path2(tinyA, "tokenizer.json"));
    ck_end();
}

/* The last stdout line is exactly tok_s=… bytes_per_tok=… bw_GBs=… roofline=…,
 * and for prefill (compute) also gflops=… peak_gflops=… peak_frac=… with
 * peak_frac = gflops / peak_gflops. */
static int measurement_line(const char *out, int compute, char *why, size_t n)
{
    char *txt = ck_slurp(out, NULL);
    if (!txt)
        return snprintf(why, n, "no output"), 0;
    size_t len = strlen(txt);
    while (len && txt[len - 1] == '\n')
        txt[--len] = 0;
    char *last = strrchr(txt, '\n');
    last = last ? last + 1 : txt;
    double a, b, c, d, g = 1, pk = 1, fr = 1;
    char tail[8];
    int ok = compute ? sscanf(last, "tok_s=%lf bytes_per_tok=%lf bw_GBs=%lf roofline=%lf gflops=%lf "
                                    "peak_gflops=%lf peak_frac=%lf%7s",
                              &a, &b, &c, &d, &g, &pk, &fr, tail) == 7
                     : sscanf(last, "tok_s=%lf bytes_per_tok=%lf bw_GBs=%lf roofline=%lf%7s", &a, &b,
                              &c, &d, tail) == 4;
    ok = ok && a > 0 && b > 0 && c > 0 && d > 0 && g > 0 && pk > 0 && fr > 0 &&
         fabs(fr - g / pk) <= 1e-3 * fr && !strstr(txt, "nan");
    ok = ok && strstr(txt, "routing histogram") && strstr(txt, "kv_cache");
    ok = ok && (!compute || strstr(txt, "f32 FMA peak:"));
    if (!ok)
        snprintf(why, n, "last line '%.200s'", last);
    free(txt);
    return ok;
}

static void test_bench(void)
{
    ck_begin("bench decode and prefill print the breakdown, histogram and a key=value line");
    char err[4096], dir[700], out[700], why[300];
    snprintf(dir, sizeof dir, "%s/small-sharded", root);
    snprintf(out, sizeof out, "%s/bench.out", root);
    const char *dec[] = {"bench",   "decode", "--model",    dir,        "--batch",
                         "2",       "--context", "8",       "--tokens", "2",
                         "--bw-bytes", "16000000", "--bw-passes", "1",  NULL};
    int r = run_zeval(dec, out, err, sizeof err);
    CK(r == 0, "bench decode exit %d: %s", r, err);
    CK(r || measurement_line(out, 0, why, sizeof why), "decode: %s", why);
    const char *pre[] = {"bench", "prefill", "--model", dir, "--context", "16",
                         "--bw-bytes", "16000000", "--bw-passes", "1", NULL};
    r = run_zeval(pre, out, err, sizeof err);
    CK(r == 0, "bench prefill exit %d: %s", r, err);
    CK(r || measurement_line(out, 1, why, sizeof why), "prefill: %s", why);
    const char *bad[] = {"bench", "sideways", "--model", dir, NULL};
    r = run_zeval(bad, NULL, err, sizeof err);
    CK(r == 2 && strstr(err, "'sampler'"), "unknown mode exit %d: %s", r, err);
    unlink(out);
    ck_end();

    ck_begin("bench sampler times both draws on three rows, each draw valid; bad sizes refused");
    const char *smp[] = {"bench", "sampler", "--vocab", "5000", "--draws", "3", NULL};
    r = run_zeval(smp, out, err, sizeof err);
    char *txt = ck_slurp(out, NULL);
    int rows = 0;
    for (const char *q = txt; q && (q = strstr(q, "), sorted walk ")); q++)
        rows++;
    CK(r == 0 && txt && strstr(txt, "sampler: 5000 ids, 3 draws a row") && rows == 3 &&
           !strstr(txt, "bad draw") && !strstr(txt, "nan") && !strstr(txt, "inf"),
       "exit %d: %s%s", r, txt ? txt : "", err);
    free(txt);
    const char *tiny[] = {"bench", "sampler", "--vocab", "1", NULL};
    r = run_zeval(tiny, NULL, err, sizeof err);
    CK(r == 2 && strstr(err, "--vocab must be"), "--vocab 1: exit %d: %s", r, err);
    unlink(out);
    ck_end();
}

int main(void)
{
    snprintf(root, sizeof root, "%s", ck_tmpdir());
    test_writer_gen();
    test_deterministic();
    test_config_keys();
    test_load_tiny();
    test_bf16();
    test_sharded();
    test_missing_parents();
    test_config_file();
    test_cli_errors();
    test_tokenizer_size();
    test_bench();
    ck_rmtree(root);
    return ck_status();
}
