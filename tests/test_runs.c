/*
 * test_runs.c — `zeval runs` and the published scores in `zeval show`.
 *
 * A database written through store.h holds runs a user would meet: the
 * headline zaya-40k setting on all of AIME 2025 (scoring near and far from
 * ZR's 91.9), the same on three problems only, one sampled at another
 * temperature, a single-rollout run on AIME 2026, an incomplete run with
 * failed requests, and a run on a benchmark ZR never reported.
 *
 *   1. `zeval runs` lists each (and one whose stored configuration no zeval
 *      wrote, saying so) with its setting, stored/expected samples,
 *      state, final-round avg@n, generated tokens per problem and the
 *      published score, in aligned columns; --format json gives the same
 *      fields; NAME arguments select runs (in id order); an empty database
 *      says so; a missing database, a bad --format, an unknown name are
 *      errors.
 *   2. The final avg@n `zeval runs` lists is the one `zeval show` prints.
 *   3. `zeval show` names the published score, its source and sampling,
 *      and says whether it lies within the run's 95% CI, whether the run
 *      covers only part of the benchmark, and whether it sampled otherwise.
 *   4. `zeval show --format json` gives the same by field name; `zeval
 *      report`'s summary has the published score per run.
 *   5. `zeval delete` removes runs with their samples, refuses an incomplete
 *      one without --force and an unknown name, deleting nothing then.
 *   6. `zeval export` writes every sample as a JSON line, bounded in memory;
 *      a failed write is an error that leaves no file.
 *   7. Values zeval never stores (a verdict of 7, round 64) are refused by
 *      every reader with the sample named, and `zeval runs` goes on.
 *   8. pub_find matches only the exact published setting.
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "../harness/published.h"
#include "../harness/sha256.h"
#include "../harness/store.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[512], errbuf[16384];

static int zeval(const char *out, const char *const *args)
{
    return ck_zeval_run(args, out, errbuf, sizeof errbuf);
}

static const char *path(const char *name)
{
    static char b[8][700];
    static int k;
    k = (k + 1) % 8;
    snprintf(b[k], sizeof b[k], "%s/%s", dir, name);
    return b[k];
}

static long long make_run(store *s, const char *name, const char *dataset, const char *rsa,
                          const char *preset, int samples, int problems, double temperature)
{
    char conf[1024];
    snprintf(conf, sizeof conf,
             "{\"rsa\":\"%s\",%s%s%s\"samples\":%d,\"temperature\":%g,\"top_p\":1,"
             "\"seed\":\"1\",\"model\":\"models/zaya\",\"dataset\":\"%s\","
             "\"dataset_spec\":\"%s\",\"problems\":%d}",
             rsa, preset ? "\"preset\":\"" : "", preset ? preset : "", preset ? "\"," : "",
             samples, temperature, dataset, dataset, problems);
    store_run r = {0};
    r.name = (char *)name;
    r.config = conf;
    r.model_path = "models/zaya";
    r.weights_sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    r.zeval_version = "9.9.9";
    r.dataset = (char *)dataset;
    r.backend = "cpu";
    r.started_at = 1796153762; /* 2026-12-01 19:36:02 UTC */
    long long id = -1;
    char e[512];
    if (store_run_create(s, &r, &id, e, sizeof e))
        CK(0, "%s", e);
    return id;
}

static int32_t zeros[8];

static void put(store *s, long long run, int problem, int round, int cand, int correct,
                const char *finish)
{
    store_sample x = {0};
    char pid[32];
    snprintf(pid, sizeof pid, "p%03d", problem);
    x.problem_id = pid;
    x.round = round;
    x.candidate = cand;
    x.parents = "[]";
    x.gen_tokens = 4;
    x.gen_ids = zeros;
    x.finish_reason = (char *)finish;
    x.text = "\\boxed{1}";
    x.extracted = correct >= 0 ? "1" : NULL;
    x.correct = correct;
    x.started_at = 1796153762 + round;
    x.finished_at = 1796153763 + round;
    char e[512];
    if (store_sample_put(s, run, &x, e, sizeof e))
        CK(0, "%s", e);
}

/* Every sample of P problems x (T+1) rounds x W candidates; candidate c of
 * problem p correct when (p * W + c) % 100 < pct. */
static void fill(store *s, long long id, int P, int T, int W, int pct)
{
    char e[512];
    store_begin(s, e, sizeof e);
    for (int p = 0; p < P; p++)
        for (int t = 0; t <= T; t++)
            for (int c = 0; c < W; c++)
                put(s, id, p, t, c, (p * W + c) % 100 < pct, "stop");
    store_commit(s, e, sizeof e);
}

#define ZAYA40K "N=16,C=4,T=2,beta=40K,final=40K,tau=4K"

static void build_db(const char *db)
{
    store *s;
    char e[512];
    if (store_open(db, &s, e, sizeof e)) {
        CK(0, "%s", e);
        return;
    }
    /* 92 of every 100 correct: 91.9 lies within the CI. */
    long long id = make_run(s, "near", "aime_2025", ZAYA40K, "zaya-40k", 0, 30, 1.0);
    fill(s, id, 30, 2, 16, 92);
    store_run_finish(s, id, 1796160000, e, sizeof e);
    /* 25 of 100: far below. */
    id = make_run(s, "far", "aime_2025", ZAYA40K, "zaya-40k", 0, 30, 1.0);
    fill(s, id, 30, 2, 16, 25);
    store_run_finish(s, id, 1796160000, e, sizeof e);
    id = make_run(s, "few", "aime_2025", ZAYA40K, "zaya-40k", 0, 3, 1.0);
    fill(s, id, 3, 2, 16, 92);
    store_run_finish(s, id, 1796160000, e, sizeof e);
    id = make_run(s, "cold", "aime_2025", ZAYA40K, NULL, 0, 30, 0.6);
    fill(s, id, 30, 2, 16, 92);
    store_run_finish(s, id, 1796160000, e, sizeof e);
    /* Single rollouts, 8 samples each. */
    id = make_run(s, "single", "aime_2026", "N=16,C=1,T=0,beta=40K", NULL, 8, 30, 1.0);
    fill(s, id, 30, 0, 8, 50);
    store_run_finish(s, id, 1796160000, e, sizeof e);
    /* Incomplete: 2 problems through round 1 of T=1, N=4 over 5 problems,
     * two failed requests. */
    id = make_run(s, "killed", "mini", "N=4,C=2,T=1,beta=64", NULL, 0, 5, 1.0);
    store_begin(s, e, sizeof e);
    for (int p = 0; p < 2; p++)
        for (int t = 0; t < 2; t++)
            for (int c = 0; c < 4; c++)
                put(s, id, p, t, c, p == 0 ? c < 3 : c < 1, "stop");
    put(s, id, 2, 0, 0, -1, "error");
    put(s, id, 2, 0, 1, -1, "error");
    put(s, id, 2, 0, 2, 1, "stop");
    store_commit(s, e, sizeof e);
    /* A configuration no zeval wrote. */
    store_run r = {.name = "broken", .config = "{\"rsa\": 3}", .dataset = "mini",
                   .started_at = 1796153762};
    CK(store_run_create(s, &r, &id, e, sizeof e) == 0, "%s", e);
    put(s, id, 0, 0, 0, 1, "stop");
    store_close(s);
}

/* avg@n of fill's final round: the mean over problems of each one's share. */
static double expect_avg(int P, int W, int pct)
{
    double sum = 0;
    for (int p = 0; p < P; p++) {
        int c = 0;
        for (int k = 0; k < W; k++)
            c += (p * W + k) % 100 < pct;
        sum += (double)c / W;
    }
    return sum / P;
}

/* The line of `zeval runs` text output that starts with "id  name". */
static const char *row_of(const char *txt, const char *id_name)
{
    for (const char *l = txt; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        const char *sp = strchr(l, ' ');
        size_t idl = strcspn(id_name, " ");
        if (sp && (size_t)(sp - l) == idl && !strncmp(l, id_name, idl)) {
            const char *nm = sp;
            while (*nm == ' ')
                nm++;
            size_t nl = strlen(id_name + idl + 1);
            if (!strncmp(nm, id_name + idl + 1, nl) && nm[nl] == ' ')
                return l;
        }
    }
    return NULL;
}

/* Whether the line at l (up to its newline) contains s. */
static int line_has(const char *l, const char *s)
{
    if (!l)
        return 0;
    size_t n = strcspn(l, "\n");
    const char *f = strstr(l, s);
    return f && f < l + n;
}

static void test_runs_text(const char *db)
{
    ck_begin("runs_lists_every_run");
    const char *a[] = {"runs", "--db", db, NULL};
    const char *out = path("runs.txt");
    int rc = zeval(out, a);
    char *t = ck_slurp(out, NULL);
    CK(rc == 0 && t, "exit %d: %s", rc, errbuf);
    if (!t)
        return;
    CK(!strncmp(t, "ID  NAME", 8) && strstr(t, "SAMPLES") && strstr(t, "FINAL avg@n") &&
           strstr(t, "TOKENS/PROBLEM") && strstr(t, "PUBLISHED"), "header: %s", t);
    const char *near = row_of(t, "1 near"), *far = row_of(t, "2 far"), *few = row_of(t, "3 few");
    const char *cold = row_of(t, "4 cold"), *single = row_of(t, "5 single");
    const char *killed = row_of(t, "6 killed"), *broken = row_of(t, "7 broken");
    CK(near && far && few && cold && single && killed && broken, "rows missing:\n%s", t);
    CK(line_has(broken, " ? ") && line_has(broken, " 1 ") &&
           line_has(broken, "unreadable configuration"), "broken row: %.200s", broken);
    /* near: 92 of 100 over 30 x 16 (p * 16 + c) % 100 < 92 */
    char want[32];
    snprintf(want, sizeof want, "%.2f%%", 100 * expect_avg(30, 16, 92));
    /* 3 rounds x 16 candidates x 4 tokens a problem */
    CK(line_has(near, "  192  "), "near tokens/problem: %.200s", near);
    CK(line_has(near, "zaya-40k") && line_has(near, "1440/1440") &&
           line_has(near, " complete ") && line_has(near, want) && line_has(near, "91.9%") &&
           line_has(near, "2026-12-01 19:36:02"), "near row (want %s): %.200s", want, near);
    CK(line_has(few, "144/144") && line_has(few, "91.9%"), "few row: %.200s", few);
    /* No preset: the shortest spec (final = beta left out). */
    CK(line_has(cold, "N=16,C=4,T=2,beta=40K,tau=4K ") && line_has(cold, "91.9%"),
       "cold row: %.200s", cold);
    snprintf(want, sizeof want, "%.2f%%", 100 * expect_avg(30, 8, 50));
    CK(line_has(single, "N=16,C=1,T=0,beta=40K,samples=8") && line_has(single, "240/240") &&
           line_has(single, want) && line_has(single, "89.1%"), "single row: %.200s", single);
    /* killed: 8 + 8 + 1 stored (the 2 failed ones not counted) of 5 x 8;
     * final round: p000 3/4, p001 1/4 -> 50% over 2 of 5 problems. */
    /* 17 samples of 4 tokens over the 3 problems they cover (failed ones
     * have none) */
    CK(line_has(killed, "  23  "), "killed tokens/problem: %.200s", killed);
    CK(line_has(killed, "17/40") && line_has(killed, "incomplete, 2 failed") &&
           line_has(killed, "50.00% (2/5)") && line_has(killed, " -  "),
       "killed row: %.200s", killed);
    /* Columns line up: each row's FINAL avg@n starts where the header's does. */
    const char *hf = strstr(t, "FINAL avg@n");
    size_t col = (size_t)(hf - t);
    const char *rows[] = {near, far, few, cold, single, killed, broken};
    for (int i = 0; i < 7; i++) {
        const char *r = rows[i];
        CK(r && (r[col - 1] == ' ' && r[col - 2] == ' ' && r[col] != ' '),
           "row %d not aligned at column %zu: %.200s", i + 1, col, r);
    }
    free(t);
    ck_end();
}

static void test_runs_json(const char *db)
{
    ck_begin("runs_json");
    const char *a[] = {"runs", "--db", db, "--format", "json", NULL};
    const char *out = path("runs.json");
    int rc = zeval(out, a);
    char *t = ck_slurp(out, NULL);
    cJSON *j = t ? cJSON_Parse(t) : NULL;
    CK(rc == 0 && cJSON_IsArray(j) && cJSON_GetArraySize(j) == 7, "exit %d: %s", rc, errbuf);
    cJSON *b = cJSON_GetArrayItem(j, 6);
    const char *why = b ? cJSON_GetStringValue(cJSON_GetObjectItem(b, "error")) : NULL;
    CK(why && strstr(why, "the stored configuration has no rsa setting") &&
           !cJSON_GetObjectItem(b, "expected"), "broken: %s", t);
    cJSON *k = cJSON_GetArrayItem(j, 5), *n = cJSON_GetArrayItem(j, 0);
    CK(k && !strcmp(cJSON_GetObjectItem(k, "name")->valuestring, "killed") &&
           cJSON_GetObjectItem(k, "samples")->valueint == 17 &&
           cJSON_GetObjectItem(k, "expected")->valueint == 40 &&
           cJSON_GetObjectItem(k, "failed")->valueint == 2 &&
           !strcmp(cJSON_GetObjectItem(k, "state")->valuestring, "incomplete") &&
           fabs(cJSON_GetObjectItem(k, "final_avg")->valuedouble - 0.5) < 1e-12 &&
           cJSON_GetObjectItem(k, "final_problems")->valueint == 2 &&
           fabs(cJSON_GetObjectItem(k, "tokens_per_problem")->valuedouble - 68.0 / 3) < 1e-9 &&
           cJSON_IsNull(cJSON_GetObjectItem(k, "finished_at")) &&
           !cJSON_GetObjectItem(k, "published"), "killed: %s", t);
    cJSON *p = n ? cJSON_GetObjectItem(n, "published") : NULL;
    CK(p && fabs(cJSON_GetObjectItem(p, "score")->valuedouble - 0.919) < 1e-12 &&
           !strcmp(cJSON_GetObjectItem(p, "source")->valuestring, "ZR Table XII") &&
           !strcmp(cJSON_GetObjectItem(n, "preset")->valuestring, "zaya-40k") &&
           !strcmp(cJSON_GetObjectItem(n, "rsa")->valuestring, ZAYA40K), "near: %s", t);
    cJSON_Delete(j);
    free(t);
    ck_end();

    ck_begin("runs_select_by_name");
    const char *s1[] = {"runs", "killed", "--db", db, "near", NULL};
    out = path("runs-sel.txt");
    rc = zeval(out, s1);
    t = ck_slurp(out, NULL);
    const char *rn = t ? row_of(t, "1 near") : NULL, *rk = t ? row_of(t, "6 killed") : NULL;
    CK(rc == 0 && rn && rk && rn < rk && !row_of(t, "2 far") && !row_of(t, "7 broken"),
       "exit %d: %s %s", rc, t ? t : "", errbuf);
    free(t);
    const char *s2[] = {"runs", "near", "nope", "--db", db, NULL};
    rc = zeval(NULL, s2);
    CK(rc == 1 && strstr(errbuf, "no run named 'nope'"), "exit %d: %s", rc, errbuf);
    /* the listing's tokens per problem is the D(q) `zeval show` prints */
    const char *s3[] = {"show", "near", "--db", db, NULL};
    out = path("show-near.txt");
    rc = zeval(out, s3);
    t = ck_slurp(out, NULL);
    CK(rc == 0 && t && strstr(t, "D(q) 192 generated tokens/problem"), "exit %d: %s", rc,
       t ? t : errbuf);
    free(t);
    ck_end();

    ck_begin("runs_errors");
    const char *e1[] = {"runs", "--db", path("none.db"), NULL};
    rc = zeval(NULL, e1);
    CK(rc == 1 && strstr(errbuf, "none.db: no such database"), "exit %d: %s", rc, errbuf);
    const char *e2[] = {"runs", "--db", db, "--format", "xml", NULL};
    rc = zeval(NULL, e2);
    CK(rc == 2 && strstr(errbuf, "--format must be text or json"), "exit %d: %s", rc, errbuf);
    store *s;
    char e[512];
    CK(store_open(path("empty.db"), &s, e, sizeof e) == 0, "%s", e);
    store_close(s);
    const char *e3[] = {"runs", "--db", path("empty.db"), NULL};
    out = path("empty.txt");
    rc = zeval(out, e3);
    t = ck_slurp(out, NULL);
    CK(rc == 0 && t && strstr(t, "empty.db: no runs"), "exit %d: %s", rc, t ? t : errbuf);
    free(t);
    const char *e4[] = {"show", "nope", "--db", db, NULL};
    rc = zeval(NULL, e4);
    CK(rc == 1 && strstr(errbuf, "no run named 'nope'") && strstr(errbuf, "zeval runs"),
       "exit %d: %s", rc, errbuf);
    ck_end();
}

/* `zeval show NAME` into a malloc'd string. */
static char *show(const char *db, const char *name)
{
    const char *a[] = {"show", name, "--db", db, NULL};
    const char *out = path("show.txt");
    int rc = zeval(out, a);
    char *t = ck_slurp(out, NULL);
    CK(rc == 0 && t, "show %s: exit %d: %s", name, rc, errbuf);
    return t;
}

static void test_show_published(const char *db)
{
    ck_begin("show_published_within_ci");
    char *t = show(db, "near");
    CK(t && strstr(t, "published: ZAYA1-8B AIME'25, Markovian RSA 40K/4K: 91.9% (ZR Table XII; "
                      "pre-behavioral checkpoint; temperature 1, top-p 1;") &&
           strstr(t, "over 30 of 30 problems: the published score is within the 95% CI") &&
           !strstr(t, "sampled otherwise"), "%s", t);
    /* 3 rounds x 16 samples x 4 tokens a problem */
    CK(t && strstr(t, "\n  compute: ZR reports about 740K generated tokens per problem (ZR "
                      "section VI-C, over AIME'25 and HMMT'25); this run's D(q) is 192, "
                      "0.000259 times that\n"), "compute line: %s", t);
    CK(t && strstr(t, "\n  weights 0123456789ab, tokenizer ?, dataset ? (sha256); zeval 9.9.9, "
                      "backend cpu (?); seed 1, temperature 1, top-p 1, top-k 0, min-p 0\n"),
       "provenance: %s", t);
    /* The listed final avg@n is show's. */
    const char *f = t ? strstr(t, "final (round 2): avg@16 ") : NULL;
    double avg = f ? atof(f + strlen("final (round 2): avg@16 ")) : -1;
    char *l = NULL;
    const char *a[] = {"runs", "--db", db, "--format", "json", NULL};
    if (zeval(path("r.json"), a) == 0)
        l = ck_slurp(path("r.json"), NULL);
    cJSON *j = l ? cJSON_Parse(l) : NULL;
    cJSON *n = cJSON_GetArrayItem(j, 0);
    double lavg = n ? cJSON_GetObjectItem(n, "final_avg")->valuedouble : -2;
    CK(fabs(100 * lavg - avg) < 0.006, "runs %.4f vs show %.2f", 100 * lavg, avg);
    cJSON_Delete(j);
    free(l);
    free(t);
    ck_end();

    ck_begin("show_published_outside_ci");
    t = show(db, "far");
    CK(t && strstr(t, "the published score is above the 95% CI"), "%s", t);
    free(t);
    ck_end();

    ck_begin("show_published_subset_and_sampling");
    t = show(db, "few");
    CK(t && strstr(t, "over 3 of 30 problems: part of the benchmark, not comparable"), "%s", t);
    free(t);
    t = show(db, "cold");
    CK(t && strstr(t, "91.9%") && strstr(t, "this run sampled otherwise (temperature 0.6, "
                                             "top-p 1, top-k 0, min-p 0)"), "%s", t);
    free(t);
    t = show(db, "single");
    CK(t && strstr(t, "published: ZAYA1-8B AIME'26, single rollout, avg@64: 89.1% (ZR Table VII; "
                      "final (released) checkpoint; temperature 1, top-p 0.95") &&
           strstr(t, "the published score is above the 95% CI") &&
           strstr(t, "this run sampled otherwise (temperature 1, top-p 1"), "%s", t);
    free(t);
    t = show(db, "killed");
    CK(t && !strstr(t, "published"), "%s", t);
    free(t);
    ck_end();
}

/* The report's summary row of run name (from "<tr><td>" up to "</tr>"),
 * malloc'd; NULL when missing. */
static char *summary_row(const char *html, const char *name)
{
    char key[128];
    snprintf(key, sizeof key, "></span>%s", name);
    const char *a = html;
    while ((a = strstr(a, key)) && a[strlen(key)] != '<' && a[strlen(key)] != ' ')
        a += strlen(key);
    const char *b = a ? strstr(a, "</tr>") : NULL;
    if (!b)
        return NULL;
    char *r = malloc((size_t)(b - a) + 1);
    if (r) {
        memcpy(r, a, (size_t)(b - a));
        r[b - a] = 0;
    }
    return r;
}

static void test_report_published(const char *db)
{
    ck_begin("report_summary_published");
    const char *out = path("report.html");
    const char *a[] = {"report", "--db", db, "--out", out, NULL};
    int rc = zeval(NULL, a);
    char *h = ck_slurp(out, NULL);
    CK(rc == 0 && h && strstr(h, "<th>ZAYA1-8B published</th>"), "exit %d: %s", rc, errbuf);
    static const struct {
        const char *run, *want;
    } rows[] = {
        {"near", "91.9% <small class=\"pub-within\">within the CI</small>"},
        {"far", "91.9% <small class=\"pub-above\">above the CI</small>"},
        {"few", "91.9% <small class=\"pub-subset\">subset: not comparable</small>"},
        {"cold", "91.9% <small class=\"pub-within\">within the CI; sampled otherwise</small>"},
        {"single", "89.1% <small class=\"pub-above\">above the CI; sampled otherwise</small>"},
        {"killed", "<td class=\"n\">-</td>"},
    };
    /* A diamond at the last round of each run with a published score. */
    int diamonds = 0;
    for (const char *q = h; q && (q = strstr(q, "<path class=\"pub\"")); q++)
        diamonds++;
    CK(h && diamonds == 5 &&
           strstr(h, "<title>near: ZAYA1-8B published AIME'25, Markovian RSA 40K/4K: 91.9% "
                     "(ZR Table XII)</title></path>"), "%d diamonds", diamonds);
    for (size_t i = 0; h && i < sizeof rows / sizeof rows[0]; i++) {
        char *r = summary_row(h, rows[i].run);
        CK(r && strstr(r, rows[i].want), "%s: want %s in %s", rows[i].run, rows[i].want,
           r ? r : "(no row)");
        if (i == 0)
            CK(r && strstr(r, "title=\"AIME&#39;25, Markovian RSA 40K/4K: ZR Table XII; "
                              "pre-behavioral checkpoint; temperature 1, top-p 1; 40K-token"),
               "near's title: %s", r ? r : "(no row)");
        /* the setting: the preset or the shortest SPEC, the stored SPEC on hover */
        if (i == 0)
            CK(r && strstr(r, "<td title=\"" ZAYA40K "\">zaya-40k</td>"), "near's setting: %s",
               r ? r : "(no row)");
        if (i == 3)
            CK(r && strstr(r, "<td title=\"" ZAYA40K "\">N=16,C=4,T=2,beta=40K,tau=4K</td>"),
               "cold's setting: %s", r ? r : "(no row)");
        free(r);
    }
    free(h);
    ck_end();
}

static void test_show_json(const char *db)
{
    ck_begin("show_json");
    const char *a[] = {"show", "near", "--db", db, "--format", "json", NULL};
    const char *out = path("show.json");
    int rc = zeval(out, a);
    char *t = ck_slurp(out, NULL);
    cJSON *j = t ? cJSON_Parse(t) : NULL, *r = cJSON_GetArrayItem(j, 0);
    cJSON *rounds = cJSON_GetObjectItem(r, "rounds"), *fin = cJSON_GetArrayItem(rounds, 2);
    cJSON *pub = cJSON_GetObjectItem(r, "published");
    CK(rc == 0 && cJSON_GetArraySize(j) == 1 && cJSON_GetArraySize(rounds) == 3 && fin &&
           cJSON_GetObjectItem(r, "final_round")->valueint == 2 &&
           cJSON_GetObjectItem(r, "samples")->valueint == 1440 &&
           cJSON_IsTrue(cJSON_GetObjectItem(r, "complete")),
       "exit %d: %s %s", rc, errbuf, t ? t : "");
    CK(fin && fabs(cJSON_GetObjectItem(fin, "avg")->valuedouble - expect_avg(30, 16, 92)) <
                  1e-12 && cJSON_GetObjectItem(fin, "n")->valueint == 16 &&
           cJSON_GetObjectItem(fin, "problems")->valueint == 30 &&
           cJSON_GetObjectItem(fin, "avg_lo")->valuedouble <= 0.919 &&
           cJSON_GetObjectItem(fin, "avg_hi")->valuedouble >= 0.919,
       "final round: %s", t ? t : "");
    CK(pub && fabs(cJSON_GetObjectItem(pub, "score")->valuedouble - 0.919) < 1e-12 &&
           !strcmp(cJSON_GetObjectItem(pub, "verdict")->valuestring, "within") &&
           cJSON_IsFalse(cJSON_GetObjectItem(pub, "sampled_otherwise")) &&
           cJSON_GetNumberValue(cJSON_GetObjectItem(pub, "tokens_per_problem")) == 740e3,
       "published: %s", t ? t : "");
    cJSON_Delete(j);
    free(t);
    const char *b[] = {"show", "cold", "--db", db, "--format", "json", NULL};
    rc = zeval(out, b);
    t = ck_slurp(out, NULL);
    j = t ? cJSON_Parse(t) : NULL;
    pub = cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "published");
    r = cJSON_GetArrayItem(j, 0);
    CK(rc == 0 && pub && cJSON_IsTrue(cJSON_GetObjectItem(pub, "sampled_otherwise")) &&
           cJSON_GetObjectItem(r, "temperature")->valuedouble == 0.6 &&
           !strcmp(cJSON_GetObjectItem(r, "weights_sha256")->valuestring,
                   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef") &&
           !strcmp(cJSON_GetObjectItem(r, "seed")->valuestring, "1"), "cold: %s", t ? t : "");
    cJSON_Delete(j);
    free(t);
    const char *c[] = {"show", "killed", "--db", db, "--format", "json", NULL};
    rc = zeval(out, c);
    t = ck_slurp(out, NULL);
    j = t ? cJSON_Parse(t) : NULL;
    r = cJSON_GetArrayItem(j, 0);
    CK(rc == 0 && r && cJSON_IsFalse(cJSON_GetObjectItem(r, "complete")) &&
           !cJSON_GetObjectItem(r, "published"), "killed: %s", t ? t : "");
    cJSON_Delete(j);
    free(t);
    const char *d[] = {"show", "near", "--db", db, "--format", "yaml", NULL};
    rc = zeval(NULL, d);
    CK(rc == 2 && strstr(errbuf, "--format must be text or json"), "exit %d: %s", rc, errbuf);
    ck_end();
}

/* SELECT count(*) ... on db; -1 on error. */
static long long count(const char *db, const char *sql)
{
    sqlite3 *h;
    long long v = -1;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW)
                v = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
        }
    }
    sqlite3_close(h);
    return v;
}

static void test_delete(const char *db0)
{
    ck_begin("delete");
    const char *db = path("del.db");
    CK(ck_copy(db0, db) == 0, "copy");
    long long runs = count(db, "SELECT count(*) FROM runs");
    long long samples = count(db, "SELECT count(*) FROM samples");
    CK(runs == 7 && samples > 2880, "%lld runs, %lld samples", runs, samples);
    /* Nothing is deleted when any name is refused. */
    const char *a1[] = {"delete", "near", "killed", "--db", db, NULL};
    int rc = zeval(NULL, a1);
    CK(rc == 1 && strstr(errbuf, "run 'killed' is incomplete") && strstr(errbuf, "--force") &&
           strstr(errbuf, "nothing deleted"), "exit %d: %s", rc, errbuf);
    const char *a2[] = {"delete", "near", "nope", "--db", db, NULL};
    rc = zeval(NULL, a2);
    CK(rc == 1 && strstr(errbuf, "no run named 'nope'") && strstr(errbuf, "; nothing deleted"),
       "exit %d: %s", rc, errbuf);
    CK(count(db, "SELECT count(*) FROM runs") == 7 &&
           count(db, "SELECT count(*) FROM samples") == samples, "a refused delete deleted");
    const char *a3[] = {"delete", "--db", db, "near", "far", NULL};
    const char *out = path("del.txt");
    rc = zeval(out, a3);
    char *t = ck_slurp(out, NULL);
    CK(rc == 0 && t && strstr(t, "deleted run near (1440 samples)\ndeleted run far (1440 "
                                 "samples)\n"), "exit %d: %s %s", rc, errbuf, t ? t : "");
    free(t);
    CK(count(db, "SELECT count(*) FROM runs") == 5 &&
           count(db, "SELECT count(*) FROM samples") == samples - 2880 &&
           count(db, "SELECT count(*) FROM runs WHERE name IN ('near', 'far')") == 0 &&
           count(db, "SELECT count(*) FROM samples WHERE run_id NOT IN (SELECT id FROM runs)") ==
               0, "after deleting near and far");
    const char *a4[] = {"delete", "killed", "--force", "--db", db, NULL};
    rc = zeval(out, a4);
    t = ck_slurp(out, NULL);
    CK(rc == 0 && t && strstr(t, "deleted run killed (19 samples)"), "exit %d: %s %s", rc,
       errbuf, t ? t : "");
    free(t);
    /* What is left still shows and lists. */
    const char *a5[] = {"show", "few", "--db", db, NULL};
    rc = zeval(NULL, a5);
    CK(rc == 0, "show after delete: exit %d: %s", rc, errbuf);
    const char *a6[] = {"delete", "--db", db, NULL};
    rc = zeval(NULL, a6);
    CK(rc == 2 && strstr(errbuf, "usage: zeval delete NAME"), "exit %d: %s", rc, errbuf);
    ck_end();
}

static void test_export(const char *db)
{
    ck_begin("export_jsonl");
    const char *out = path("near.jsonl");
    const char *a[] = {"export", "near", "--db", db, "--ids", NULL};
    int rc = zeval(out, a);
    char *t = ck_slurp(out, NULL);
    CK(rc == 0 && t, "exit %d: %s", rc, errbuf);
    int lines = 0, ok = 0, correct = 0;
    for (char *l = t, *e; l && *l; l = e + 1) {
        if (!(e = strchr(l, '\n')))
            break;
        *e = 0;
        cJSON *j = cJSON_Parse(l);
        lines++;
        cJSON *ids = cJSON_GetObjectItem(j, "gen_ids");
        ok += j && !strcmp(cJSON_GetObjectItem(j, "run")->valuestring, "near") &&
              cJSON_GetArraySize(ids) == cJSON_GetObjectItem(j, "gen_tokens")->valueint &&
              cJSON_IsArray(cJSON_GetObjectItem(j, "parents")) &&
              cJSON_IsString(cJSON_GetObjectItem(j, "seed")) &&
              !strcmp(cJSON_GetObjectItem(j, "text")->valuestring, "\\boxed{1}");
        correct += cJSON_IsTrue(cJSON_GetObjectItem(j, "correct"));
        cJSON_Delete(j);
    }
    /* fill(): 92 of every 100 (problem, candidate) pairs, in each of 3 rounds */
    int want = 0;
    for (int p = 0; p < 30; p++)
        for (int c = 0; c < 16; c++)
            want += 3 * ((p * 16 + c) % 100 < 92);
    CK(lines == 1440 && ok == 1440 && correct == want, "%d lines, %d well-formed, %d correct "
       "(want 1440, 1440, %d)", lines, ok, correct, want);
    free(t);
    /* killed: its failed requests too, correct null */
    const char *b[] = {"export", "killed", "--db", db, "--out", path("k.jsonl"), NULL};
    rc = zeval(NULL, b);
    t = ck_slurp(path("k.jsonl"), NULL);
    CK(rc == 0 && t && strstr(errbuf, "19 samples of 1 run to ") &&
           strstr(t, "\"finish_reason\":\"error\",\"correct\":null"), "exit %d: %s", rc,
       errbuf);
    free(t);
    ck_end();

    ck_begin("export_errors");
    const char *c[] = {"export", "nope", "--db", db, NULL};
    rc = zeval(NULL, c);
    CK(rc == 1 && strstr(errbuf, "no run named 'nope'"), "exit %d: %s", rc, errbuf);
    /* A write that fails is an error, and --out leaves no file behind. */
    const char *d[] = {"export", "near", "--db", db, NULL};
    rc = zeval("/dev/full", d);
    CK(rc == 1 && strstr(errbuf, "write failed"), "stdout full: exit %d: %s", rc, errbuf);
    const char *f = path("no-such-dir/x.jsonl");
    const char *e[] = {"export", "near", "--db", db, "--out", f, NULL};
    rc = zeval(NULL, e);
    CK(rc == 1 && strstr(errbuf, "x.jsonl.part: cannot write") && access(f, F_OK) != 0,
       "exit %d: %s", rc, errbuf);
    ck_end();
}

/* Runs sql on db; 0 or -1. */
static int exec(const char *db, const char *sql)
{
    sqlite3 *h;
    int rc = sqlite3_open(db, &h) == SQLITE_OK &&
             sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
    sqlite3_close(h);
    return rc;
}

/* Values zeval never stores, written behind its back: every reader names
 * the sample and the value instead of counting it (a verdict of 7 once
 * made avg@n 233%). */
static void test_odd_values(const char *db0)
{
    ck_begin("odd_values_refused");
    static const struct {
        const char *sql, *want;
    } odd[] = {
        {"UPDATE samples SET correct = 7 WHERE candidate = 2 AND run_id = 1",
         "has correct '7'"},
        {"UPDATE samples SET correct = 'yes' WHERE candidate = 2 AND run_id = 1",
         "has correct 'yes'"},
        {"UPDATE samples SET round = 64 WHERE candidate = 2 AND round = 2 AND run_id = 1",
         "round '64'"},
        {"UPDATE samples SET candidate = -1 WHERE candidate = 2 AND round = 2 AND problem_id ="
         " 'p000' AND run_id = 1", "candidate '-1'"},
    };
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        const char *db = path("odd.db");
        unlink(db);
        CK(ck_copy(db0, db) == 0 && exec(db, odd[i].sql) == 0, "%s", odd[i].sql);
        const char *show[] = {"show", "near", "--db", db, NULL};
        int rc = zeval(NULL, show);
        CK(rc == 1 && strstr(errbuf, "a sample of problem 'p0") && strstr(errbuf, odd[i].want),
           "show after %s: exit %d: %s", odd[i].sql, rc, errbuf);
        const char *exp[] = {"export", "near", "--db", db, "--out", path("odd.jsonl"), NULL};
        rc = zeval(NULL, exp);
        CK(rc == 1 && strstr(errbuf, odd[i].want) && access(path("odd.jsonl"), F_OK) != 0,
           "export after %s: exit %d: %s", odd[i].sql, rc, errbuf);
        const char *rep[] = {"report", "--db", db, "--run", "near", "--out", path("o.html"),
                             NULL};
        rc = zeval(NULL, rep);
        if (i < 3) /* the report counts verdicts and rounds; it only shows candidates */
            CK(rc == 1 && strstr(errbuf, "a sample of problem 'p0"),
               "report after %s: exit %d: %s", odd[i].sql, rc, errbuf);
        if (i < 2) { /* the listing names the run and goes on */
            const char *runs[] = {"runs", "--db", db, NULL};
            const char *out = path("odd.txt");
            rc = zeval(out, runs);
            char *t = ck_slurp(out, NULL);
            const char *near = t ? row_of(t, "1 near") : NULL;
            CK(rc == 0 && line_has(near, "unreadable samples") && row_of(t, "2 far"),
               "runs after %s: exit %d: %s", odd[i].sql, rc, t ? t : errbuf);
            free(t);
        }
    }
    ck_end();
}

static void test_pub_find(void)
{
    ck_begin("pub_find_exact_setting");
    rsa_params p;
    char e[256];
    CK(rsa_parse(ZAYA40K, &p, e, sizeof e) == 0, "%s", e);
    const pub_ref *r = pub_find("aime_2025", &p);
    CK(r && r->score == 91.9, "aime_2025 zaya-40k");
    r = pub_find("hmmt_feb_2025", &p);
    CK(r && r->score == 89.6, "hmmt_feb_2025 zaya-40k");
    CK(!pub_find("aime_2024", &p) && !pub_find(NULL, &p), "no reference for AIME'24");
    p.final_budget = 32 * 1024;
    CK(!pub_find("aime_2025", &p), "another final budget matched");
    CK(rsa_parse(ZAYA40K ",tail=full", &p, e, sizeof e) == 0 && !pub_find("aime_2025", &p),
       "another tail mode matched");
    CK(rsa_parse("N=16,C=4,T=2,beta=16K,final=40K,tau=4K", &p, e, sizeof e) == 0 &&
           (r = pub_find("aime_2025", &p)) && r->score == 88.8, "zaya-16k");
    CK(rsa_parse("N=1,C=1,T=0,beta=1K", &p, e, sizeof e) == 0 &&
           (r = pub_find("hmmt_feb_2025", &p)) && r->score == 82.7 && r->temperature < 0,
       "single rollout HMMT'25");
    /* Every reference's setting parses, and every preset ZR scored finds its numbers. */
    size_t n;
    const pub_ref *all = pub_refs(&n);
    for (size_t i = 0; i < n; i++)
        CK(!all[i].spec || rsa_parse(all[i].spec, &p, e, sizeof e) == 0, "%s: %s",
           all[i].spec, e);
    /* Presets whose note quotes an AIME'25 score find that score;
     * delethink-c1 is zaya-c1-baseline's setting under another name. */
    size_t np;
    const rsa_preset *ps = rsa_presets(&np);
    int found = 0;
    for (size_t i = 0; i < np; i++) {
        CK(rsa_parse(ps[i].spec, &p, e, sizeof e) == 0, "%s", e);
        const pub_ref *a = pub_find("aime_2025", &p);
        const char *q = strstr(ps[i].note, "AIME'25 ");
        if (q) {
            CK(a && a->spec && fabs(atof(q + 8) - a->score) < 1e-9, "preset %s: %s vs %.1f",
               ps[i].name, q, a ? a->score : -1.0);
            found++;
        }
        if (!strcmp(ps[i].name, "delethink-c1"))
            CK(a && a->score == 82.1, "delethink-c1");
    }
    CK(found == 5, "presets quoting AIME'25: %d", found);
    /* The verdict. */
    r = pub_find("aime_2025", &p);
    CK(rsa_parse(ZAYA40K, &p, e, sizeof e) == 0 && (r = pub_find("aime_2025", &p)), "ref");
    if (r) {
        CK(pub_compare(r, 0.90, 0.95, 30) == PUB_INSIDE, "inside");
        CK(pub_compare(r, 0.80, 0.9186, 30) == PUB_INSIDE, "within rounding");
        CK(pub_compare(r, 0.80, 0.918, 30) == PUB_ABOVE, "above");
        CK(pub_compare(r, 0.925, 0.99, 30) == PUB_BELOW, "below");
        CK(pub_compare(r, 0.90, 0.95, 29) == PUB_SUBSET, "subset");
        CK(!pub_sampling_differs(r, 1.0, 1.0, 0, 0) && pub_sampling_differs(r, 1.0, 0.95, 0, 0) &&
               pub_sampling_differs(r, 1.0, 1.0, 20, 0), "sampling");
    }
    ck_end();
}

/* Lines of text t that start with prefix. */
static int lines_with(const char *t, const char *prefix)
{
    int n = 0;
    size_t pl = strlen(prefix);
    for (const char *l = t; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        n += !strncmp(l, prefix, pl);
    return n;
}

static void test_one_problem(const char *db)
{
    ck_begin("show_and_export_one_problem");
    /* export: --problem keeps one problem's 48 samples, --round one round's 16 */
    const char *a[] = {"export", "near", "--db", db, "--problem", "p003", NULL};
    const char *out = path("p3.jsonl");
    int rc = zeval(out, a);
    char *t = ck_slurp(out, NULL);
    CK(rc == 0 && t && lines_with(t, "{\"run\":\"near\",\"problem_id\":\"p003\",") == 48 &&
           lines_with(t, "{") == 48, "exit %d: %d lines", rc, t ? lines_with(t, "{") : -1);
    free(t);
    const char *b[] = {"export", "near", "--db", db, "--problem", "p003", "--round", "2", NULL};
    rc = zeval(out, b);
    t = ck_slurp(out, NULL);
    CK(rc == 0 && t && lines_with(t, "{") == 16 && strstr(t, "\"round\":2,") &&
           !strstr(t, "\"round\":1,"), "exit %d", rc);
    free(t);
    const char *c[] = {"export", "near", "--db", db, "--problem", "p999", "--out",
                       path("none.jsonl"), NULL};
    rc = zeval(NULL, c);
    CK(rc == 1 && strstr(errbuf, "no sample of problem 'p999' in run near") &&
           access(path("none.jsonl"), F_OK) != 0 && access(path("none.jsonl.part"), F_OK) != 0,
       "exit %d: %s", rc, errbuf);
    /* show: the run, then each sample of the problem with its verdict and text's end */
    const char *d[] = {"show", "near", "--db", db, "--problem", "p003", "--text-bytes", "4",
                       NULL};
    out = path("p3.txt");
    rc = zeval(out, d);
    t = ck_slurp(out, NULL);
    /* fill(): problem 3's candidates 0..15 are 48..63 mod 100: all correct */
    CK(rc == 0 && t && strstr(t, "run near:") && strstr(t, "  problem p003:\n") &&
           lines_with(t, "    r0 c") == 16 && lines_with(t, "    r2 c") == 16 &&
           strstr(t, "    r0 c0            correct  answer '1' (-); 4 tokens, stop\n      ...d{1}\n"),
       "exit %d:\n%s", rc, t ? t : errbuf);
    free(t);
    const char *e[] = {"show", "near", "--db", db, "--problem", "p003", "--format", "json", NULL};
    rc = zeval(NULL, e);
    CK(rc == 2 && strstr(errbuf, "export"), "--problem with json: exit %d: %s", rc, errbuf);
    const char *f[] = {"show", "near", "--db", db, "--problem", "nope", NULL};
    rc = zeval(NULL, f);
    CK(rc == 1 && strstr(errbuf, "no sample of problem 'nope'"), "exit %d: %s", rc, errbuf);
    /* a text with terminal escapes prints them as '?' */
    store *s;
    char em[512];
    if (store_open(db, &s, em, sizeof em) == 0) {
        long long id = make_run(s, "esc", "mini", "N=1,C=1,T=0,beta=8", NULL, 0, 1, 1.0);
        store_sample x = {0};
        x.problem_id = "p000";
        x.parents = "[]";
        x.gen_tokens = 2;
        x.gen_ids = zeros;
        x.finish_reason = "stop";
        x.text = "a\033[2Jb\nnext\x07";
        x.extracted = "\033]0;title\007";
        x.correct = 0;
        CK(store_sample_put(s, id, &x, em, sizeof em) == 0, "%s", em);
        store_close(s);
    }
    const char *g[] = {"show", "esc", "--db", db, "--problem", "p000", NULL};
    out = path("esc.txt");
    rc = zeval(out, g);
    t = ck_slurp(out, NULL);
    CK(rc == 0 && t && !strchr(t, '\033') && !strchr(t, '\007') &&
           strstr(t, "answer '?]0;title?'") && strstr(t, "      a?[2Jb\n      next?\n"),
       "exit %d:\n%s", rc, t ? t : errbuf);
    free(t);
    const char *h[] = {"delete", "esc", "--db", db, "--force", NULL};
    CK(zeval(NULL, h) == 0, "delete esc: %s", errbuf);
    ck_end();
}

/* A run over six problems whose records carry a subject ("round") and,
 * inside "metadata", a platform; two problems have no subject.  Round 0:
 * Algebra all correct, Geometry none, the others one of two; round 1:
 * Algebra one of two, Geometry all, the others none. */
static void test_show_by(void)
{
    ck_begin("show --by FIELD: the metrics of each value of a field of the dataset's records "
             "(a dotted path reaches inside objects), in the order the records give them, "
             "absent values as (none); text and JSON; an unknown field, a moved or another "
             "dataset are errors naming it, and --dataset points to the same records elsewhere; "
             "report --by has the same groups in its summary; compare --by compares each");
    char db[700], data[700], moved[700]; /* path() reuses its buffers */
    snprintf(db, sizeof db, "%s", path("by.db"));
    snprintf(data, sizeof data, "%s", path("by.jsonl"));
    snprintf(moved, sizeof moved, "%s", path("by-moved.jsonl"));
    static const int order[6] = {2, 3, 0, 1, 4, 5};
    static const char *subj[6] = {"Algebra", "Algebra", "Geometry", "Geometry", NULL, NULL};
    static const char *plat[6] = {"atcoder", "atcoder", "leetcode", "leetcode", "atcoder",
                                  "atcoder"};
    FILE *f = fopen(data, "w");
    for (int i = 0; f && i < 6; i++) {
        int p = order[i];
        fprintf(f, "{\"id\":\"p%03d\",\"benchmark\":\"bytest\",\"task\":\"math\",\"index\":%d,"
                   "\"problem\":\"What is %d?\",\"answer\":\"1\"%s%s%s,\"metadata\":{\"platform\":"
                   "\"%s\"}%s}\n", p, i, p, subj[p] ? ",\"round\":\"" : "", subj[p] ? subj[p] : "",
                subj[p] ? "\"" : "", plat[p],
                p == 0 ? ",\"note\":\"<script>window.pwned=1</script>\"" : "");
    }
    CK(f && fclose(f) == 0, "writing %s", data);
    char sha[65], e[512];
    CK(sha256_file(data, sha, e, sizeof e) == 0, "%s", e);
    store *st;
    if (store_open(db, &st, e, sizeof e)) {
        CK(0, "%s", e);
        ck_end();
        return;
    }
    /* "by": the file's sha256; "other": a digest it is not; "byb": the
     * file's, its final round Geometry and the others all correct, Algebra
     * none */
    for (int k = 0; k < 3; k++) {
        char conf[1200];
        snprintf(conf, sizeof conf, "{\"rsa\":\"N=2,C=2,T=1,beta=8,tau=4\",\"samples\":0,"
                 "\"temperature\":1,\"top_p\":1,\"seed\":\"1\",\"model\":\"m\",\"dataset\":"
                 "\"bytest\",\"dataset_spec\":\"%s\",\"problems\":6}", data);
        store_run r = {0};
        r.name = k == 2 ? "byb" : k ? "other" : "by";
        r.config = conf;
        r.dataset = "bytest";
        r.dataset_file = data;
        r.dataset_sha256 = k == 1
                               ? "00000000000000000000000000000000000000000000000000000000deadbeef"
                               : sha;
        r.backend = "cpu";
        r.started_at = 1796153762;
        long long id = -1;
        CK(store_run_create(st, &r, &id, e, sizeof e) == 0, "%s", e);
        store_begin(st, e, sizeof e);
        for (int p = 0; p < 6; p++)
            for (int c = 0; c < 2; c++) {
                int g = subj[p] ? subj[p][0] == 'A' ? 0 : 1 : 2;
                int ok0 = g == 0 || (g == 2 && c == 0), ok1 = g == 1 || (g == 0 && c == 0);
                if (k == 2)
                    ok1 = g != 0;
                put(st, id, p, 0, c, ok0, "stop");
                put(st, id, p, 1, c, ok1, "stop");
            }
        store_commit(st, e, sizeof e);
        store_run_finish(st, id, 1796160000, e, sizeof e);
    }
    store_close(st);

    const char *a[] = {"show", "by", "--db", db, "--by", "round", NULL};
    int rc = zeval(path("by.txt"), a);
    char *out = ck_slurp(path("by.txt"), NULL);
    const char *l1 = out ? strstr(out, "  by round (") : NULL;
    const char *g = l1 ? strstr(l1, "\n  Geometry ") : NULL;
    const char *al = g ? strstr(g, "\n  Algebra ") : NULL;
    const char *no = al ? strstr(al, "\n  (none) ") : NULL;
    double r0[3] = {-1, -1, -1}, fin[3] = {-1, -1, -1};
    int np[3] = {0};
    const char *ln[3] = {g, al, no}, *lab[3] = {"\n  Geometry", "\n  Algebra", "\n  (none)"};
    for (int i = 0; i < 3; i++) /* problems, n, round 0 and final avg@n */
        if (ln[i])
            sscanf(ln[i] + strlen(lab[i]), " %d %*d %lf%% %lf%%", &np[i], &r0[i], &fin[i]);
    CK(rc == 0 && g && al && no && np[0] == 2 && np[1] == 2 && np[2] == 2 && r0[0] == 0 &&
           fin[0] == 100 && r0[1] == 100 && fin[1] == 50 && r0[2] == 50 && fin[2] == 0,
       "exit %d: Geometry %d %g %g, Algebra %d %g %g, (none) %d %g %g:\n%s%s", rc, np[0], r0[0],
       fin[0], np[1], r0[1], fin[1], np[2], r0[2], fin[2], out ? out : "", errbuf);
    free(out);

    const char *aj[] = {"show", "by", "--db", db, "--by", "metadata.platform", "--format",
                        "json", NULL};
    rc = zeval(path("by.json"), aj);
    out = ck_slurp(path("by.json"), NULL);
    cJSON *j = out ? cJSON_Parse(out) : NULL;
    const cJSON *by = cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "by");
    const cJSON *gs = cJSON_GetObjectItem(by, "groups");
    const cJSON *g0 = cJSON_GetArrayItem(gs, 0), *g1 = cJSON_GetArrayItem(gs, 1);
    const cJSON *f1 = cJSON_GetArrayItem(cJSON_GetObjectItem(g1, "rounds"), 1);
    /* atcoder: the two Algebra problems and the two without a subject; in
     * the final round 1 of 2 samples correct for each Algebra one, none for
     * the others: 2 of 8 */
    CK(rc == 0 && cJSON_GetArraySize(gs) == 2 &&
           !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(by, "field")), "metadata.platform") &&
           !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(g0, "value")), "leetcode") &&
           !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(g1, "value")), "atcoder") &&
           cJSON_GetObjectItem(g1, "problems")->valuedouble == 4 &&
           fabs(cJSON_GetObjectItem(f1, "avg")->valuedouble - 0.25) < 1e-12,
       "exit %d: %s%s", rc, out ? out : "", errbuf);
    cJSON_Delete(j);
    free(out);

    const char *au[] = {"show", "by", "--db", db, "--by", "nope", NULL};
    rc = zeval(NULL, au);
    CK(rc == 1 && strstr(errbuf, "--by nope: no problem of run by has that field") &&
           strstr(errbuf, "metadata"), "exit %d: %s", rc, errbuf);
    const char *ao[] = {"show", "other", "--db", db, "--by", "round", NULL};
    rc = zeval(NULL, ao);
    CK(rc == 1 && strstr(errbuf, "is not the dataset run other used"), "exit %d: %s", rc,
       errbuf);
    CK(rename(data, moved) == 0, "rename");
    rc = zeval(NULL, a);
    CK(rc == 1 && strstr(errbuf, "by.jsonl") && strstr(errbuf, "--dataset FILE|NAME"),
       "moved: exit %d: %s", rc, errbuf);
    const char *am[] = {"show", "by", "--db", db, "--by", "round", "--dataset", moved, NULL};
    rc = zeval(path("by2.txt"), am);
    out = ck_slurp(path("by2.txt"), NULL);
    CK(rc == 0 && out && strstr(out, "\n  Geometry "), "--dataset: exit %d: %s%s", rc,
       out ? out : "", errbuf);
    free(out);
    /* zeval report --by: the same groups, a row each, in the HTML summary */
    const char *rp[] = {"report", "--db", db, "--run", "by", "--by", "round", "--dataset", moved,
                        "--out", path("by.html"), NULL};
    rc = zeval(NULL, rp);
    out = ck_slurp(path("by.html"), NULL);
    const char *tb = out ? strstr(out, "<h2>By round</h2>") : NULL;
    const char *rg = tb ? strstr(tb, "<td>Geometry</td><td class=\"n\">2</td><td class=\"n\">2"
                                     "</td><td class=\"n\">0.00%</td><td class=\"n\">100.00% [")
                        : NULL;
    const char *ra = rg ? strstr(rg, "<td>Algebra</td><td class=\"n\">2</td><td class=\"n\">2"
                                     "</td><td class=\"n\">100.00%</td><td class=\"n\">50.00% [")
                        : NULL;
    const char *rn = ra ? strstr(ra, "<td>(none)</td><td class=\"n\">2</td><td class=\"n\">2"
                                     "</td><td class=\"n\">50.00%</td><td class=\"n\">0.00% [")
                        : NULL;
    CK(rc == 0 && rn && strstr(rn, "</table>") < strstr(rn, "<h2>Plots</h2>"),
       "report --by: exit %d, table %s, rows %d%d%d: %s", rc, tb ? "found" : "missing", !!rg,
       !!ra, !!rn, errbuf);
    free(out);
    /* a value from the records is text in the HTML, never markup */
    const char *rh[] = {"report", "--db", db, "--run", "by", "--by", "note", "--dataset", moved,
                        "--out", path("by-note.html"), NULL};
    rc = zeval(NULL, rh);
    out = ck_slurp(path("by-note.html"), NULL);
    CK(rc == 0 && out && strstr(out, "<td>&lt;script&gt;window.pwned=1&lt;/script&gt;</td>") &&
           !strstr(out, "<script>") && strstr(out, "<td>(none)</td>"),
       "report --by note: exit %d: %s", rc, errbuf);
    free(out);
    const char *rq[] = {"report", "--db", db, "--run", "by", "--by", "nope", "--dataset", moved,
                        "--out", path("by-nope.html"), NULL};
    rc = zeval(NULL, rq);
    CK(rc == 1 && strstr(errbuf, "--by nope") && access(path("by-nope.html"), F_OK) != 0,
       "report --by nope: exit %d: %s", rc, errbuf);
    /* zeval compare --by: per subject, B's Algebra lost, the others gained */
    const char *cp[] = {"compare", "--db", db, "by", "byb", "--by", "round", "--dataset", moved,
                        "--format", "json", NULL};
    rc = zeval(path("cmp.json"), cp);
    out = ck_slurp(path("cmp.json"), NULL);
    j = out ? cJSON_Parse(out) : NULL;
    gs = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "by"), "groups");
    const char *want_v[3] = {"Geometry", "Algebra", "(none)"};
    const double want_d[3] = {0, -50, 100};
    const int want_l[3] = {0, 2, 0}, want_g[3] = {0, 0, 2};
    int good = cJSON_GetArraySize(gs) == 3;
    for (int k = 0; good && k < 3; k++) {
        const cJSON *x = cJSON_GetArrayItem(gs, k);
        good = !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(x, "value")), want_v[k]) &&
               cJSON_GetObjectItem(x, "paired")->valuedouble == 2 &&
               fabs(cJSON_GetObjectItem(x, "delta_points")->valuedouble - want_d[k]) < 1e-9 &&
               cJSON_GetObjectItem(x, "lost")->valuedouble == want_l[k] &&
               cJSON_GetObjectItem(x, "gained")->valuedouble == want_g[k];
    }
    CK(rc == 0 && good, "compare --by: exit %d: %s%s", rc, out ? out : "", errbuf);
    cJSON_Delete(j);
    free(out);
    const char *ct[] = {"compare", "--db", db, "by", "byb", "--by", "round", "--dataset", moved,
                        NULL};
    rc = zeval(path("cmp.txt"), ct);
    out = ck_slurp(path("cmp.txt"), NULL);
    const char *ln2 = out ? strstr(out, "\n    Algebra ") : NULL;
    int pa = 0;
    double ma = -1, mb = -1, dl = 0;
    if (ln2)
        sscanf(ln2 + strlen("\n    Algebra "), " %d %lf%% %lf%% %lf", &pa, &ma, &mb, &dl);
    CK(rc == 0 && strstr(out, "  by round (for orientation") && pa == 2 && ma == 50 && mb == 0 &&
           dl == -50, "compare --by text: exit %d: %s%s", rc, out ? out : "", errbuf);
    free(out);
    const char *ch[] = {"compare", "--db", db, "by", "byb", "--by", "round", "--dataset", moved,
                        "--format", "html", NULL};
    rc = zeval(path("cmp.html"), ch);
    out = ck_slurp(path("cmp.html"), NULL);
    CK(rc == 0 && out && strstr(out, "<h2>By round</h2>") &&
           strstr(out, "<tr><td>Algebra</td><td>2</td><td>50.00%</td><td>0.00%</td><td>-50.00 ["),
       "compare --by html: exit %d: %s", rc, errbuf);
    free(out);
    const char *ar[] = {"regrade", "by", "--db", db, "--by", "round", NULL};
    CK(zeval(NULL, ar) == 2 && strstr(errbuf, "--by"), "regrade --by: %s", errbuf);
    ck_end();
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s", ck_tmpdir());
    char db[700];
    snprintf(db, sizeof db, "%s/runs.db", dir);
    ck_begin("build_database");
    build_db(db);
    ck_end();
    test_runs_text(db);
    test_runs_json(db);
    test_show_published(db);
    test_show_json(db);
    test_report_published(db);
    test_export(db);
    test_one_problem(db);
    test_odd_values(db);
    test_delete(db);
    test_pub_find();
    test_show_by();
    ck_rmtree(dir);
    return ck_status();
}
