/*
 * test_golden.c — the CPU forward pass against Zyphra's reference outputs
 * for the tiny random-weight checkpoint (../shared/golden/zaya-tiny).
 *
 * For each of the three golden prompts: prefill, token-by-token,
 * prefix-then-decode, chunked prefill (3 chunks) and greedy continuation,
 * with f32 and bf16 weights; the same through the `zeval logits` CLI; and
 * the same checkpoint re-laid out as native names and as shards.
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "../engine/model.h"
#include "../engine/util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-4

static const char *gdir;
static st_file *gold;
static cJSON *gjson;

static int argmax(const float *v, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[b])
            b = i;
    return b;
}

/* Runs ids through a fresh sequence in pieces; returns n x V logits. */
static float *run(const eng_model *m, const int32_t *ids, int n, const int *sizes, int np)
{
    int V = m->cfg.vocab;
    float *lg = calloc((size_t)n * V, sizeof(float));
    eng_seq *s = eng_seq_new(m);
    char err[512];
    int off = 0;
    for (int i = 0; i < np; i++) {
        eng_chunk c = {s, ids + off, sizes[i], lg + (size_t)off * V, 1};
        if (eng_forward(m, &c, 1, err, sizeof err)) {
            fprintf(stderr, "forward: %s\n", err);
            exit(1);
        }
        off += sizes[i];
    }
    eng_seq_free(s);
    return lg;
}

static void check_seq(const eng_model *m, const eng_model *mb, int k)
{
    const st_tensor *ti = ck_tensor(gold, "seq%d.input_ids", k);
    int n = (int)ti->shape[0], V = m->cfg.vocab;
    const int32_t *ids = ti->data;
    cJSON *seqs = cJSON_GetObjectItem(gjson, "sequences");
    int P = cJSON_GetObjectItem(cJSON_GetArrayItem(seqs, k), "prefix_len_for_prefix_then_decode")->valueint;
    size_t nv = (size_t)n * V;
    int *sizes = malloc((size_t)n * sizeof *sizes);

    ck_begin("seq%d prefill logits (f32 weights, T=%d)", k, n);
    sizes[0] = n;
    float *pre = run(m, ids, n, sizes, 1);
    double d = ck_maxdiff(pre, ck_tensor(gold, "seq%d.prefill_logits", k)->data, nv);
    CK(d <= TOL, "max abs diff %.3g > %g", d, TOL);
    ck_end();

    ck_begin("seq%d token-by-token logits", k);
    for (int i = 0; i < n; i++)
        sizes[i] = 1;
    float *tbt = run(m, ids, n, sizes, n);
    d = ck_maxdiff(tbt, ck_tensor(gold, "seq%d.token_by_token_logits", k)->data, nv);
    CK(d <= TOL, "max abs diff %.3g > %g", d, TOL);
    ck_end();

    ck_begin("seq%d prefix(%d)-then-decode logits", k, P);
    sizes[0] = P;
    for (int i = 1; i <= n - P; i++)
        sizes[i] = 1;
    float *ptd = run(m, ids, n, sizes, 1 + n - P);
    d = ck_maxdiff(ptd, ck_tensor(gold, "seq%d.prefix_then_decode_logits", k)->data, nv);
    CK(d <= TOL, "max abs diff %.3g > %g", d, TOL);
    ck_end();

    ck_begin("seq%d chunked prefill (3 chunks) vs full prefill and golden", k);
    for (int i = 0; i < 3; i++)
        sizes[i] = (i + 1) * n / 3 - i * n / 3;
    float *chk = run(m, ids, n, sizes, 3);
    d = ck_maxdiff(chk, pre, nv);
    double dg = ck_maxdiff(chk, ck_tensor(gold, "seq%d.prefill_logits", k)->data, nv);
    CK(d <= TOL && dg <= TOL, "vs prefill %.3g, vs golden %.3g", d, dg);
    ck_end();

    /* Greedy: prefill, then 16 argmax steps, comparing each step's logits. */
    for (int w = 0; w < 2; w++) {
        const eng_model *mm = w ? mb : m;
        const st_tensor *gtok = ck_tensor(gold, w ? "seq%d.bf16w.greedy_tokens" : "seq%d.greedy_tokens", k);
        const int32_t *want = gtok->data;
        int steps = (int)gtok->shape[0];
        const float *gsl = w ? NULL : ck_tensor(gold, "seq%d.greedy_step_logits", k)->data;
        ck_begin("seq%d greedy %d tokens (%s weights)", k, steps, w ? "bf16" : "f32");
        eng_seq *s = eng_seq_new(mm);
        float *lg = malloc((size_t)V * sizeof(float));
        char err[512];
        eng_chunk c = {s, ids, n, lg, 0};
        int rc = eng_forward(mm, &c, 1, err, sizeof err);
        CK(rc == 0, "forward: %s", err);
        double worst = 0;
        for (int i = 0; i < steps && rc == 0; i++) {
            if (gsl) {
                double dd = ck_maxdiff(lg, gsl + (size_t)i * V, (size_t)V);
                if (dd > worst)
                    worst = dd;
            }
            int32_t tok = argmax(lg, V);
            CK(tok == want[i], "step %d: token %d, golden %d", i, tok, want[i]);
            eng_chunk c1 = {s, &tok, 1, lg, 0};
            rc = eng_forward(mm, &c1, 1, err, sizeof err);
        }
        CK(worst <= TOL, "greedy step logits max abs diff %.3g", worst);
        ck_end();
        free(lg);
        eng_seq_free(s);
    }

    ck_begin("seq%d prefill logits (bf16 weights)", k);
    sizes[0] = n;
    float *pb = run(mb, ids, n, sizes, 1);
    d = ck_maxdiff(pb, ck_tensor(gold, "seq%d.bf16w.prefill_logits", k)->data, nv);
    CK(d <= TOL, "max abs diff %.3g > %g", d, TOL);
    ck_end();

    free(pre);
    free(tbt);
    free(ptd);
    free(chk);
    free(pb);
    free(sizes);
}

/* Runs `zeval logits` with the given mode on seq k and compares its
 * output to the golden tensor. */
static void check_cli(int k, const char *mode, const char *golden, const char *weights)
{
    const st_tensor *ti = ck_tensor(gold, "seq%d.input_ids", k);
    int n = (int)ti->shape[0];
    const int32_t *ids = ti->data;
    char idstr[4096];
    size_t o = 0;
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(idstr + o, sizeof idstr - o, "%s%d", i ? "," : "", ids[i]);
    const char *tmp = ck_tmpdir();
    char out[512], err[4096];
    snprintf(out, sizeof out, "%s/logits.bin", tmp);
    ck_begin("cli: zeval logits --mode %s%s on seq%d", mode, weights ? " --weights bf16" : "", k);
    char *argv[12];
    int a = 0;
    argv[a++] = (char *)ck_zeval();
    argv[a++] = "logits";
    argv[a++] = "--model";
    argv[a++] = (char *)gdir;
    argv[a++] = "--ids";
    argv[a++] = idstr;
    argv[a++] = "--mode";
    argv[a++] = (char *)mode;
    if (weights) {
        argv[a++] = "--weights";
        argv[a++] = (char *)weights;
    }
    argv[a] = NULL;
    int rc = ck_run(argv, out, err, sizeof err);
    CK(rc == 0, "exit %d: %s", rc, err);
    size_t len = 0;
    char *b = ck_slurp(out, &len);
    const st_tensor *g = ck_tensor(gold, golden, k);
    CK(b && len == g->nbytes, "output is %zu bytes, expected %zu", len, g->nbytes);
    if (b && len == g->nbytes) {
        double d = ck_maxdiff((const float *)(const void *)b, g->data, len / 4);
        CK(d <= TOL, "max abs diff %.3g", d);
    }
    free(b);
    ck_end();
    ck_rmtree(tmp);
}

int main(void)
{
    static char dirbuf[4000];
    snprintf(dirbuf, sizeof dirbuf, "%s", ck_shared("golden/zaya-tiny"));
    gdir = dirbuf;
    char err[2048], path[4200];
    snprintf(path, sizeof path, "%s/golden.safetensors", gdir);
    if (st_open(path, &gold, err, sizeof err)) {
        ck_skip("golden", err);
        return 1;
    }
    snprintf(path, sizeof path, "%s/golden.json", gdir);
    char *js = ck_slurp(path, NULL);
    gjson = js ? cJSON_Parse(js) : NULL;
    free(js);
    eng_model *m = NULL, *mb = NULL;
    snprintf(path, sizeof path, "%s/model-bf16.safetensors", gdir);
    ck_begin("load zaya-tiny (f32 and bf16 weights)");
    CK(gjson != NULL, "golden.json unreadable");
    int rc = eng_model_load(gdir, NULL, &m, err, sizeof err);
    CK(rc == 0, "f32: %s", err);
    if (rc == 0) {
        CK(m->embed.dt == ST_F32, "f32 embedding dtype");
        CK(m->embed.p == st_find(m->files[0], "model.embed_tokens.weight")->data,
           "f32 weights must be used in place from the mapping");
    }
    int rc2 = eng_model_load(gdir, path, &mb, err, sizeof err);
    CK(rc2 == 0, "bf16: %s", err);
    if (rc2 == 0)
        CK(mb->embed.dt == ST_BF16 &&
               mb->embed.p == st_find(mb->files[0], "model.embed_tokens.weight")->data,
           "bf16 weights must be used in place from the mapping");
    if (!ck_end())
        return 1;

    for (int k = 0; k < 3; k++)
        check_seq(m, mb, k);

    check_cli(1, "prefill", "seq%d.prefill_logits", NULL);
    check_cli(1, "step", "seq%d.token_by_token_logits", NULL);
    check_cli(1, "prefix:17", "seq%d.prefix_then_decode_logits", NULL);
    check_cli(2, "chunks:3", "seq%d.prefill_logits", NULL);
    check_cli(0, "prefill", "seq%d.bf16w.prefill_logits", path);

    eng_model_free(m);
    eng_model_free(mb);
    st_close(gold);
    cJSON_Delete(gjson);
    return ck_status();
}
