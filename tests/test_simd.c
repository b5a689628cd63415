/*
 * test_simd.c — every SIMD kernel path the CPU supports is as right as the
 * reference and as deterministic as the design promises.
 *
 * For each path (avx512, avx2, scalar; forced through kn_force, and once
 * through the real binary with ZEVAL_SIMD): golden prefill logits within
 * 1e-4 and exact greedy tokens with f32 and bf16 weights; the three golden
 * prompts batched at mixed positions bit-identical to each alone; and the
 * same logits bit-identical with 1 and 3 threads.  A path the CPU lacks is
 * skipped with the reason.
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "../engine/kernels.h"
#include "../engine/model.h"
#include "../engine/pool.h"
#include "../engine/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-4

static const char *gdir;
static st_file *gold;
static eng_model *mf, *mb;

static int argmax(const float *v, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[b])
            b = i;
    return b;
}

static const int32_t *prompt(int k, int *n)
{
    const st_tensor *t = ck_tensor(gold, "seq%d.input_ids", k);
    *n = (int)t->shape[0];
    return t->data;
}

/* One full prefill of prompt k alone: n x V logits (malloc'd). */
static float *alone(const eng_model *m, int k)
{
    int n;
    const int32_t *ids = prompt(k, &n);
    float *lg = malloc((size_t)n * m->cfg.vocab * sizeof(float));
    eng_seq *s = eng_seq_new(m);
    char err[256];
    eng_chunk c = {s, ids, n, lg, 1};
    if (eng_forward(m, &c, 1, err, sizeof err))
        CK(0, "forward: %s", err);
    eng_seq_free(s);
    return lg;
}

/* The three prompts together, in chunks of mixed sizes per step (decode
 * steps among prefills); out[k] gets n_k x V logits. */
static int batched(const eng_model *m, float *out[3])
{
    static const int sched[3][6] = {{3, 1, 1, 1, 1, 0}, {10, 1, 7, 1, 1, 0}, {1, 40, 1, 5, 17, 0}};
    int V = m->cfg.vocab, n[3], pos[3] = {0, 0, 0}, step[3] = {0, 0, 0};
    const int32_t *ids[3];
    eng_seq *s[3];
    int rc = 0;
    for (int k = 0; k < 3; k++) {
        ids[k] = prompt(k, &n[k]);
        out[k] = malloc((size_t)n[k] * V * sizeof(float));
        s[k] = eng_seq_new(m);
    }
    char err[256];
    for (;;) {
        eng_chunk ch[3];
        int nch = 0;
        for (int k = 0; k < 3; k++) {
            if (pos[k] >= n[k])
                continue;
            int sz = step[k] < 6 ? sched[k][step[k]] : 0;
            if (sz == 0 || sz > n[k] - pos[k])
                sz = n[k] - pos[k];
            eng_chunk c = {s[k], ids[k] + pos[k], sz, out[k] + (size_t)pos[k] * V, 1};
            ch[nch++] = c;
            pos[k] += sz;
            step[k]++;
        }
        if (!nch)
            break;
        if (eng_forward(m, ch, nch, err, sizeof err)) {
            CK(0, "forward: %s", err);
            rc = -1;
            break;
        }
    }
    for (int k = 0; k < 3; k++)
        eng_seq_free(s[k]);
    return rc;
}

static void check_golden(const char *path)
{
    ck_begin("[%s] golden prefill logits within %g (3 prompts, f32 and bf16 weights)", path, TOL);
    for (int w = 0; w < 2; w++)
        for (int k = 0; k < 3; k++) {
            int n;
            prompt(k, &n);
            float *lg = alone(w ? mb : mf, k);
            double d = ck_maxdiff(lg, ck_tensor(gold, w ? "seq%d.bf16w.prefill_logits" : "seq%d.prefill_logits", k)->data,
                               (size_t)n * mf->cfg.vocab);
            CK(d <= TOL, "seq%d %s weights: max abs diff %.3g", k, w ? "bf16" : "f32", d);
            free(lg);
        }
    ck_end();

    ck_begin("[%s] greedy tokens exact (3 prompts, f32 and bf16 weights)", path);
    for (int w = 0; w < 2; w++)
        for (int k = 0; k < 3; k++) {
            const eng_model *m = w ? mb : mf;
            const st_tensor *gtok = ck_tensor(gold, w ? "seq%d.bf16w.greedy_tokens" : "seq%d.greedy_tokens", k);
            const int32_t *want = gtok->data;
            int n, steps = (int)gtok->shape[0], V = m->cfg.vocab;
            const int32_t *ids = prompt(k, &n);
            eng_seq *s = eng_seq_new(m);
            float *lg = malloc((size_t)V * sizeof(float));
            char err[256];
            eng_chunk c = {s, ids, n, lg, 0};
            int rc = eng_forward(m, &c, 1, err, sizeof err);
            CK(rc == 0, "forward: %s", err);
            for (int i = 0; i < steps && rc == 0; i++) {
                int32_t tok = argmax(lg, V);
                CK(tok == want[i], "seq%d %s step %d: token %d, golden %d", k, w ? "bf16" : "f32",
                   i, tok, want[i]);
                eng_chunk c1 = {s, &tok, 1, lg, 0};
                rc = eng_forward(m, &c1, 1, err, sizeof err);
            }
            free(lg);
            eng_seq_free(s);
        }
    ck_end();
}

static void check_batch_threads(const char *path)
{
    int base = pool_threads();
    char err[256];
    for (int w = 0; w < 2; w++) {
        const eng_model *m = w ? mb : mf;
        int V = m->cfg.vocab;
        ck_begin("[%s] 3 prompts batched at mixed positions bit-identical to alone (%s weights)",
                 path, w ? "bf16" : "f32");
        float *b[3], *a[3];
        int ok = batched(m, b) == 0;
        for (int k = 0; k < 3; k++) {
            int n;
            prompt(k, &n);
            a[k] = alone(m, k);
            CK(ok && memcmp(a[k], b[k], (size_t)n * V * sizeof(float)) == 0,
               "seq%d logits differ from the sequence alone", k);
        }
        ck_end();

        ck_begin("[%s] 1 vs 3 threads bit-identical, alone and batched (%s weights)", path,
                 w ? "bf16" : "f32");
        for (int nt = 1; nt <= 3; nt += 2) {
            CK(pool_set_threads(nt, err, sizeof err) == 0, "%s", err);
            float *b2[3];
            int ok2 = batched(m, b2) == 0;
            for (int k = 0; k < 3; k++) {
                int n;
                prompt(k, &n);
                float *a2 = alone(m, k);
                CK(ok2 && memcmp(b2[k], b[k], (size_t)n * V * sizeof(float)) == 0,
                   "%d threads: batched seq%d differs", nt, k);
                CK(memcmp(a2, a[k], (size_t)n * V * sizeof(float)) == 0,
                   "%d threads: seq%d alone differs", nt, k);
                free(a2);
                free(b2[k]);
            }
        }
        CK(pool_set_threads(base, err, sizeof err) == 0, "%s", err);
        ck_end();
        for (int k = 0; k < 3; k++) {
            free(a[k]);
            free(b[k]);
        }
    }
}

/* `zeval logits` with ZEVAL_SIMD=path on seq1 against the golden prefill. */
static void check_cli(const char *path)
{
    int n;
    const int32_t *ids = prompt(1, &n);
    char idstr[4096];
    size_t o = 0;
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(idstr + o, sizeof idstr - o, "%s%d", i ? "," : "", ids[i]);
    const char *tmp = ck_tmpdir();
    char out[512], err[4096], want[64];
    snprintf(out, sizeof out, "%s/logits.bin", tmp);
    ck_begin("[%s] cli: ZEVAL_SIMD=%s zeval logits --mode prefill on seq1", path, path);
    char *argv[] = {(char *)ck_zeval(), "logits", "--model", (char *)gdir, "--ids", idstr,
                    "--mode", "prefill", NULL};
    setenv("ZEVAL_SIMD", path, 1);
    int rc = ck_run(argv, out, err, sizeof err);
    unsetenv("ZEVAL_SIMD");
    CK(rc == 0, "exit %d: %s", rc, err);
    snprintf(want, sizeof want, "cpu kernels %s", path);
    CK(strstr(err, want) != NULL, "stderr does not name the path: %s", err);
    size_t len = 0;
    char *bb = ck_slurp(out, &len);
    const st_tensor *g = ck_tensor(gold, "seq%d.prefill_logits", 1);
    CK(bb && len == g->nbytes, "output is %zu bytes, expected %zu", len, g->nbytes);
    if (bb && len == g->nbytes) {
        double d = ck_maxdiff((const float *)(const void *)bb, g->data, len / 4);
        CK(d <= TOL, "max abs diff %.3g", d);
    }
    free(bb);
    ck_end();
    ck_rmtree(tmp);
}

/* Odd sizes hit every tail: a tile of T rows must equal each row alone
 * bit for bit, any row split must equal the whole, and all must be close
 * to a double-precision reference. */
static void check_kernel_tails(const char *path)
{
    ck_begin("[%s] kn_matmul_rows: T rows together == each alone, any split; n = 1..150", path);
    enum { R = 7, NMAX = 150, TMAX = 15 };
    static float wf[R * NMAX], x[TMAX * NMAX], y1[TMAX * R], y2[TMAX * R], bias[R];
    static float xp[TMAX * (NMAX + 32)];
    static uint16_t wb[R * NMAX];
    unsigned s = 12345;
    for (int i = 0; i < R * NMAX; i++) {
        s = s * 1103515245u + 12345u;
        wf[i] = (float)((int)(s >> 16) % 2001 - 1000) / 1000.0f;
        wb[i] = ut_f32_to_bf16(wf[i]);
    }
    for (int i = 0; i < TMAX * NMAX; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = (float)((int)(s >> 16) % 2001 - 1000) / 500.0f;
    }
    for (int o = 0; o < R; o++)
        bias[o] = 0.25f * (float)o;
    int bad = 0;
    for (int bf = 0; bf < 2 && !bad; bf++)
        for (int n = 1; n <= NMAX && !bad; n++) {
            eng_mat w = {bf ? (const void *)wb : (const void *)wf, bf ? ST_BF16 : ST_F32, R, n};
            for (int T = 1; T <= TMAX && !bad; T++) {
                size_t ld = (size_t)n;
                const float *xa = kn_xprep(xp, x, &ld, T, &w);
                kn_matmul_rows(y1, R, NULL, xa, ld, T, &w, bias, 0, R);
                for (int t = 0; t < T; t++) /* each row alone, rows split 0..3, 3..R */
                    for (int part = 0; part < 2; part++) {
                        ld = (size_t)n;
                        xa = kn_xprep(xp, x + (size_t)t * n, &ld, 1, &w);
                        kn_matmul_rows(y2 + (size_t)t * R, R, NULL, xa, ld, 1, &w, bias,
                                       part ? 3 : 0, part ? R : 3);
                    }
                if (memcmp(y1, y2, (size_t)T * R * sizeof(float))) {
                    CK(0, "%s n=%d T=%d: tile differs from rows alone", bf ? "bf16" : "f32", n, T);
                    bad = 1;
                }
                for (int t = 0; t < T && !bad; t++)
                    for (int o = 0; o < R; o++) {
                        double ref = bias[o];
                        for (int i = 0; i < n; i++)
                            ref += (double)(bf ? ut_bf16_to_f32(wb[o * n + i]) : wf[o * n + i]) *
                                   (double)x[t * n + i];
                        if (fabs(ref - (double)y1[t * R + o]) > 1e-4 * (1 + n)) {
                            CK(0, "%s n=%d T=%d: %g vs reference %g", bf ? "bf16" : "f32", n, T,
                               (double)y1[t * R + o], ref);
                            bad = 1;
                            break;
                        }
                    }
            }
        }
    ck_end();
}

/* kn_wsum must equal zeroing and repeated kn_axpy bit for bit (attention
 * relies on it), for widths that hit the 128-column blocks and the tails. */
static void check_wsum(const char *path)
{
    ck_begin("[%s] kn_wsum == repeated kn_axpy, d = 1..300, n = 1..9", path);
    enum { NMAX = 9, DMAX = 300, LD = 311 };
    static float v[NMAX * LD], w[NMAX], o1[DMAX], o2[DMAX];
    unsigned s = 777;
    for (int i = 0; i < NMAX * LD; i++) {
        s = s * 1103515245u + 12345u;
        v[i] = (float)((int)(s >> 16) % 2001 - 1000) / 300.0f;
    }
    for (int t = 0; t < NMAX; t++)
        w[t] = 1.0f / (float)(t + 3);
    int bad = 0;
    for (int d = 1; d <= DMAX && !bad; d++)
        for (int n = 1; n <= NMAX && !bad; n++) {
            kn_wsum(o1, w, v, LD, n, d);
            memset(o2, 0, sizeof o2);
            for (int t = 0; t < n; t++)
                kn_axpy(o2, w[t], v + (size_t)t * LD, d);
            if (memcmp(o1, o2, (size_t)d * sizeof(float))) {
                CK(0, "d=%d n=%d differ", d, n);
                bad = 1;
            }
        }
    ck_end();
}

static void check_cli_bad(const char *value, const char *why)
{
    char err[4096];
    ck_begin("cli: ZEVAL_SIMD=%s is refused (%s)", value, why);
    char *argv[] = {(char *)ck_zeval(), "logits", "--model", (char *)gdir, "--ids", "1,2,3",
                    "--mode", "prefill", NULL};
    setenv("ZEVAL_SIMD", value, 1);
    int rc = ck_run(argv, NULL, err, sizeof err);
    unsetenv("ZEVAL_SIMD");
    CK(rc != 0, "exit 0, expected a failure");
    CK(strstr(err, "ZEVAL_SIMD") != NULL, "message does not name ZEVAL_SIMD: %s", err);
    ck_end();
}

/* --threads on the command line: any count gives the same bytes; a bad
 * count is refused with a message naming the option. */
static void check_cli_threads(void)
{
    const char *tmp = ck_tmpdir();
    char out1[512], out2[512], err[4096];
    snprintf(out1, sizeof out1, "%s/t1.bin", tmp);
    snprintf(out2, sizeof out2, "%s/t3.bin", tmp);
    ck_begin("cli: zeval logits --threads 1 and --threads 3 write identical logits; 0 is refused");
    char *a1[] = {(char *)ck_zeval(), "logits", "--model", (char *)gdir, "--ids", "5,9,2,7,1,3",
                  "--mode", "prefill", "--threads", "1", "--out", out1, NULL};
    char *a3[] = {(char *)ck_zeval(), "logits", "--model", (char *)gdir, "--ids", "5,9,2,7,1,3",
                  "--mode", "prefill", "--threads", "3", "--out", out2, NULL};
    char *a0[] = {(char *)ck_zeval(), "logits", "--model", (char *)gdir, "--ids", "5,9,2",
                  "--threads", "0", NULL};
    int r1 = ck_run(a1, NULL, err, sizeof err);
    CK(r1 == 0, "--threads 1: exit %d: %s", r1, err);
    int r3 = ck_run(a3, NULL, err, sizeof err);
    CK(r3 == 0, "--threads 3: exit %d: %s", r3, err);
    size_t l1 = 0, l3 = 0;
    char *b1 = ck_slurp(out1, &l1), *b3 = ck_slurp(out2, &l3);
    CK(b1 && b3 && l1 > 0 && l1 == l3 && memcmp(b1, b3, l1) == 0,
       "outputs differ (%zu vs %zu bytes)", l1, l3);
    free(b1);
    free(b3);
    int r0 = ck_run(a0, NULL, err, sizeof err);
    CK(r0 == 2 && strstr(err, "--threads"), "--threads 0: exit %d: %s", r0, err);
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
        ck_skip("simd paths", err);
        return 1;
    }
    ck_begin("load zaya-tiny (f32 and bf16 weights), select the default path");
    int rc = eng_model_load(gdir, NULL, &mf, err, sizeof err);
    CK(rc == 0, "f32: %s", err);
    snprintf(path, sizeof path, "%s/model-bf16.safetensors", gdir);
    int rc2 = eng_model_load(gdir, path, &mb, err, sizeof err);
    CK(rc2 == 0, "bf16: %s", err);
    CK(kn_init(err, sizeof err) == 0, "%s", err);
    if (!ck_end())
        return 1;
    kn_path def = kn_current();

    static const kn_path paths[] = {KN_AVX512, KN_AVX2, KN_SCALAR};
    for (int i = 0; i < 3; i++) {
        const char *name = kn_path_name(paths[i]);
        if (!kn_supported(paths[i])) {
            char what[96], why[160];
            snprintf(what, sizeof what, "[%s] golden, greedy, batch and thread invariance, cli", name);
            snprintf(why, sizeof why, "this CPU does not support the %s instructions", name);
            ck_skip(what, why);
            check_cli_bad(name, "unsupported on this CPU");
            continue;
        }
        ck_begin("[%s] force the path", name);
        CK(kn_force(paths[i], err, sizeof err) == 0 && kn_current() == paths[i], "%s", err);
        if (!ck_end())
            continue;
        check_kernel_tails(name);
        check_wsum(name);
        check_golden(name);
        check_batch_threads(name);
        check_cli(name);
    }
    check_cli_bad("sse9", "unknown path");
    check_cli_threads();
    kn_force(def, err, sizeof err);

    eng_model_free(mf);
    eng_model_free(mb);
    st_close(gold);
    return ck_status();
}
