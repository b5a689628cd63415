/*
 * test_datasets.c — the dataset registry and loaders.
 *
 * Every ../shared/datasets file loads through the normalized reader (read
 * in place, never copied).  Every registry entry loads from a loopback copy
 * of its source format: tests/ds_sources.py turns the matching ../shared
 * file back into that format, tests/hub_server.py serves it in the hub /
 * GitHub-raw layout, `zeval fetch dataset NAME --out` fetches and maps it,
 * and the records must equal the ../shared ones (ids, problems, answers and
 * the other mapped fields; tests for code sets).  Pinned file and record
 * checksums are enforced, errors name file, line and field, and offline
 * mode and `zeval datasets` work from the cache.
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "hub_helper.h"
#include "../datasets/registry.h"
#include "../engine/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hub_srv srv;
static char tmp[512], cache[700], outp[700];
static char errbuf[16384];

/* ../shared records of e: the normalized file, filtered like the entry.
 * livecodebench_v6 has no copy: its loopback source is built from the v5
 * window file. */
static const char *shared_of(const ds_entry *e)
{
    static char b[600];
    snprintf(b, sizeof b, "datasets/%s",
             e->shared_file ? e->shared_file : "code/livecodebench_2408_2502_public.jsonl");
    return ck_shared(b);
}

static int load_shared(const ds_entry *e, ds_set *s, char *err, size_t errlen)
{
    char rel[300];
    snprintf(rel, sizeof rel, "datasets/%s",
             e->shared_file ? e->shared_file : "code/livecodebench_2408_2502_public.jsonl");
    if (ds_load_normalized(ck_shared(rel), s, err, errlen))
        return -1;
    if (e->max_problem_number) {
        size_t k = 0;
        for (size_t i = 0; i < s->n; i++) {
            const cJSON *pn = cJSON_GetObjectItemCaseSensitive(s->rec[i], "problem_number");
            if (cJSON_IsNumber(pn) && pn->valueint > e->max_problem_number)
                cJSON_Delete(s->rec[i]);
            else
                s->rec[k++] = s->rec[i];
        }
        s->n = k;
    }
    return 0;
}

static void test_normalized(void)
{
    static const struct {
        const char *file;
        size_t n;
    } files[] = {{"math/aime_2024.jsonl", 30},      {"math/aime_2025.jsonl", 30},
                 {"math/aime_2026.jsonl", 30},      {"math/hmmt_feb_2025.jsonl", 30},
                 {"math/hmmt_feb_2026.jsonl", 33},  {"math/hmmt_nov_2025.jsonl", 30},
                 {"math/imo_answerbench.jsonl", 400}, {"code/humaneval.jsonl", 164},
                 {"code/mbpp_sanitized.jsonl", 427},
                 {"code/livecodebench_2408_2502_public.jsonl", 279}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        ck_begin("normalized reader: ../shared/datasets/%s", files[i].file);
        char rel[300], err[1024];
        snprintf(rel, sizeof rel, "datasets/%s", files[i].file);
        ds_set s;
        int rc = ds_load_normalized(ck_shared(rel), &s, err, sizeof err);
        CK(rc == 0, "%s", err);
        if (rc == 0) {
            CK(s.n == files[i].n, "%zu records, expected %zu", s.n, files[i].n);
            ds_set_free(&s);
        }
        ck_end();
    }
}

static void test_pins(void)
{
    size_t n;
    const ds_entry *r = ds_registry(&n);
    for (size_t i = 0; i < n; i++) {
        const ds_entry *e = &r[i];
        if (!e->shared_file)
            continue;
        ck_begin("registry %s: records_sha256 pins the ../shared/datasets/%s content", e->name,
                 e->shared_file);
        ds_set s;
        char err[1024], dig[65];
        int rc = load_shared(e, &s, err, sizeof err);
        CK(rc == 0, "%s", err);
        if (rc == 0) {
            ds_records_sha256(&s, dig);
            CK(e->records_sha256 && !strcmp(dig, e->records_sha256),
               "records sha256 of the shared copy is %s, registry has %s", dig,
               e->records_sha256 ? e->records_sha256 : "(none)");
            CK(s.n == (size_t)e->nrecords, "%zu records, registry says %d", s.n, e->nrecords);
            char *p = ds_prompt(e, s.rec[0]);
            const cJSON *body = cJSON_GetObjectItemCaseSensitive(
                s.rec[0], e->grader[0] == 'm' ? "problem" : "prompt");
            CK(p && cJSON_IsString(body) && strstr(p, body->valuestring),
               "prompt format %s does not contain the problem", e->prompt_format);
            free(p);
            ds_set_free(&s);
        }
        ck_end();
    }
}

/* ------------------------------------------------------------ loopback */

static const char *fmt_name(ds_format f)
{
    switch (f) {
    case DS_FMT_MATHARENA_TEX: return "matharena_tex";
    case DS_FMT_MATHAI_JSONL: return "mathai_jsonl";
    case DS_FMT_MATHARENA_JSONL: return "matharena_jsonl";
    case DS_FMT_HUMANEVAL_GZ: return "humaneval_gz";
    case DS_FMT_MBPP_JSON: return "mbpp_json";
    case DS_FMT_RLLM_LCB_JSON: return "rllm_lcb_json";
    case DS_FMT_LCB_JSONL: return "lcb_jsonl";
    case DS_FMT_IMOBENCH_CSV: return "imobench_csv";
    default: return "?";
    }
}

/* Writes e's source files into the served tree; 0 or -1. */
static int make_source(const ds_entry *e, const fetch_opts *served)
{
    char *argv[8];
    int k = 0;
    argv[k++] = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    argv[k++] = "tests/ds_sources.py";
    argv[k++] = (char *)fmt_name(e->format);
    argv[k++] = (char *)shared_of(e);
    char *outs[2] = {NULL, NULL};
    for (int p = 0; p < e->nparts; p++)
        argv[k++] = outs[p] = fetch_url(served, e->host, e->repo, e->revision, e->parts[p].path);
    argv[k] = NULL;
    int rc = ck_run(argv, NULL, errbuf, sizeof errbuf);
    free(outs[0]);
    free(outs[1]);
    return rc;
}

static int run_fetch(const char *name, const char *cdir, const char *a1, const char *a2,
                     const char *a3, const char *a4)
{
    char *argv[16];
    int k = 0;
    argv[k++] = (char *)ck_zeval();
    argv[k++] = "fetch";
    argv[k++] = "dataset";
    argv[k++] = (char *)name;
    argv[k++] = "--cache-dir";
    argv[k++] = (char *)cdir;
    argv[k++] = "--no-progress";
    const char *extra[] = {a1, a2, a3, a4};
    for (int i = 0; i < 4; i++)
        if (extra[i])
            argv[k++] = (char *)extra[i];
    argv[k] = NULL;
    return ck_run(argv, outp, errbuf, sizeof errbuf);
}

static int same_field(const cJSON *a, const cJSON *b, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(a, k);
    const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, k);
    if (!x || !y)
        return !x && !y;
    return cJSON_Compare(x, y, 1);
}

static void compare_sets(const ds_entry *e, const ds_set *got, const ds_set *want)
{
    CK(got->n == want->n, "%zu records, expected %zu", got->n, want->n);
    static const char *math_f[] = {"id", "benchmark", "task", "index", "contest", "year",
                                   "problem_number", "round", "round_problem_number",
                                   "problem", "answer", "answer_type", "answer_int",
                                   "answer_raw", "answer_list", "answer_list_ordered",
                                   "has_figure_code"};
    static const char *code_f[] = {"id", "benchmark", "task", "index", "source_id",
                                   "language", "prompt", "starter_code", "entry_point",
                                   "test_format", "tests", "test_setup_code",
                                   "canonical_solution", "time_limit_s", "memory_limit_mb",
                                   "metadata"};
    int math = !strcmp(e->task, "math"), v6 = !e->shared_file;
    const char **f = math ? math_f : code_f;
    size_t nf = math ? sizeof math_f / sizeof *math_f : sizeof code_f / sizeof *code_f;
    for (size_t i = 0; i < got->n && i < want->n; i++)
        for (size_t k = 0; k < nf; k++) {
            /* the v6 entry is fed v5 records: only content fields can match */
            if (v6 && (!strcmp(f[k], "id") || !strcmp(f[k], "benchmark") ||
                       !strcmp(f[k], "metadata")))
                continue;
            if (!same_field(got->rec[i], want->rec[i], f[k])) {
                const char *id = cJSON_GetObjectItemCaseSensitive(want->rec[i], "id")->valuestring;
                CK(0, "record %zu (%s): field '%s' differs", i, id, f[k]);
                return;
            }
        }
}

/* code_generation_lite rows keep their upstream difficulty, platform,
 * question id and date in the metadata (ds_sources.py: the record index,
 * its difficulty cycling easy, medium, hard). */
static void check_upstream_meta(const ds_set *got)
{
    static const char *const diff[] = {"easy", "medium", "hard"};
    for (size_t i = 0; i < got->n; i++) {
        const cJSON *md = cJSON_GetObjectItemCaseSensitive(got->rec[i], "metadata");
        const char *d = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "difficulty"));
        const char *p = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "platform"));
        const char *q = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "question_id"));
        const char *pi = cJSON_GetStringValue(
            cJSON_GetObjectItemCaseSensitive(md, "platform_inferred"));
        char qi[32];
        snprintf(qi, sizeof qi, "%zu", i);
        if (!d || strcmp(d, diff[i % 3]) || !p || !pi || strcmp(p, pi) || !q || strcmp(q, qi) ||
            !cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "contest_date"))) {
            CK(0, "record %zu: upstream metadata not kept (difficulty %s, platform %s, "
                  "question_id %s)", i, d ? d : "-", p ? p : "-", q ? q : "-");
            return;
        }
    }
}

static void test_loopback(void)
{
    fetch_opts served;
    char err[1024];
    if (fetch_opts_init(&served, NULL, err, sizeof err))
        return;
    free(served.hf_endpoint);
    free(served.github_endpoint);
    served.hf_endpoint = ut_strdup(srv.root);
    char gh[700];
    snprintf(gh, sizeof gh, "%s/gh", srv.root);
    served.github_endpoint = ut_strdup(gh);
    size_t n;
    const ds_entry *r = ds_registry(&n);
    for (size_t i = 0; i < n; i++) {
        const ds_entry *e = &r[i];
        ck_begin("registry %s: loopback copy of its source (%s, %s) gives the ../shared "
                 "records", e->name, fmt_name(e->format), e->repo);
        int rc = make_source(e, &served);
        CK(rc == 0, "ds_sources.py failed: %s", errbuf);
        char out[800];
        snprintf(out, sizeof out, "%s/%s.jsonl", tmp, e->name);
        char outarg[820];
        snprintf(outarg, sizeof outarg, "--out=%s", out);
        /* A gzip stream (HumanEval) and the v6 file (built from v5 records) cannot be
         * byte-identical to upstream: skip only their file pin.  The reconstructions of
         * math-ai/aime26 and rllm's livecodebench.json are byte-identical to the pinned
         * upstream files, so their pins are checked here. */
        int nopin = e->sha256 && (e->format == DS_FMT_HUMANEVAL_GZ ||
                                  e->format == DS_FMT_LCB_JSONL);
        rc = run_fetch(e->name, cache, outarg, nopin ? "--sha256=any" : NULL,
                       e->records_sha256 ? NULL : "--records-sha256=any", NULL);
        CK(rc == 0, "zeval fetch dataset %s: exit %d: %s", e->name, rc, errbuf);
        ds_set got, want;
        if (rc == 0 && ds_load_normalized(out, &got, err, sizeof err) == 0) {
            if (load_shared(e, &want, err, sizeof err) == 0) {
                compare_sets(e, &got, &want);
                if (e->format == DS_FMT_LCB_JSONL)
                    check_upstream_meta(&got);
                ds_set_free(&want);
            } else
                CK(0, "%s", err);
            ds_set_free(&got);
        } else if (rc == 0)
            CK(0, "%s", err);
        ck_end();
    }
    fetch_opts_free(&served);
    int c = 0, p = 0;
    hub_count_files(cache, &c, &p);
    ck_begin("dataset cache: no partial files after the loopback fetches");
    CK(p == 0 && c > 0, "%d complete, %d partial files", c, p);
    ck_end();
}

static void test_pinned_file(void)
{
    ck_begin("pinned file sha256 (humaneval, livecodebench_v6): a different file is refused "
             "and nothing is cached");
    char c2[800];
    snprintf(c2, sizeof c2, "%s/cache-pin", tmp);
    int rc = run_fetch("livecodebench_v6", c2, NULL, NULL, NULL, NULL);
    CK(rc == 1 && strstr(errbuf, "checksum mismatch"), "livecodebench_v6: exit %d: %s", rc,
       errbuf);
    rc = run_fetch("humaneval", c2, NULL, NULL, NULL, NULL);
    CK(rc == 1 && strstr(errbuf, "checksum mismatch"), "humaneval: exit %d: %s", rc, errbuf);
    int c = 0, p = 0;
    hub_count_files(c2, &c, &p);
    CK(c == 0 && p == 0, "%d complete, %d partial files left", c, p);
    ck_end();
}

static void test_records_pin(void)
{
    ck_begin("pinned records sha256: a changed answer upstream is refused, source uncached");
    size_t n;
    char *path = NULL, *orig = NULL;
    fetch_opts served;
    char err[1024];
    if (fetch_opts_init(&served, NULL, err, sizeof err) == 0) {
        free(served.github_endpoint);
        char gh[700];
        snprintf(gh, sizeof gh, "%s/gh", srv.root);
        served.github_endpoint = ut_strdup(gh);
        const ds_entry *e = ds_find("hmmt_nov_2025");
        path = fetch_url(&served, e->host, e->repo, e->revision, e->parts[0].path);
        fetch_opts_free(&served);
    }
    orig = path ? ck_slurp(path, &n) : NULL;
    CK(orig != NULL, "no served copy of hmmt_nov_2025");
    if (orig) {
        char *t = malloc(n + 1);
        memcpy(t, orig, n + 1);
        char *a = strstr(t, "\"answer\": \"3\"");
        if (a)
            a[11] = '4';
        ck_write(path, t, n);
        free(t);
        char c3[800];
        snprintf(c3, sizeof c3, "%s/cache-rec", tmp);
        int rc = run_fetch("hmmt_nov_2025", c3, NULL, NULL, NULL, NULL);
        CK(rc == 1 && strstr(errbuf, "records differ"), "exit %d: %s", rc, errbuf);
        int c = 0, p = 0;
        hub_count_files(c3, &c, &p);
        CK(c == 0 && p == 0, "%d complete, %d partial files left", c, p);
        ck_write(path, orig, n);
    }
    free(orig);
    free(path);
    ck_end();
}

static void test_offline_and_list(void)
{
    ck_begin("offline: a cached set loads without the server; an uncached one fails clearly");
    setenv("ZEVAL_OFFLINE", "1", 1);
    int rc = run_fetch("aime_2024", cache, NULL, NULL, NULL, NULL);
    CK(rc == 0, "cached: exit %d: %s", rc, errbuf);
    char c4[800];
    snprintf(c4, sizeof c4, "%s/cache-empty", tmp);
    rc = run_fetch("aime_2024", c4, NULL, NULL, NULL, NULL);
    CK(rc == 1 && strstr(errbuf, "offline") && strstr(errbuf, "not in the cache"),
       "uncached: exit %d: %s", rc, errbuf);
    unsetenv("ZEVAL_OFFLINE");
    ck_end();

    ck_begin("zeval datasets lists every entry, cached state and record counts");
    char *argv[] = {(char *)ck_zeval(), "datasets", "--cache-dir", cache, NULL};
    rc = ck_run(argv, outp, errbuf, sizeof errbuf);
    CK(rc == 0, "exit %d: %s", rc, errbuf);
    char *out = ck_slurp(outp, NULL);
    size_t n;
    const ds_entry *r = ds_registry(&n);
    for (size_t i = 0; out && i < n; i++) {
        char want[200];
        /* the v6 loopback source was built from the 279 v5-window records */
        snprintf(want, sizeof want, "\n%-24s %-5s %-7s %8d  yes", r[i].name, r[i].task,
                 r[i].grader, r[i].shared_file ? r[i].nrecords : 279);
        CK(strstr(out, want) != NULL, "no line '%s' in:\n%s", want + 1, out);
    }
    free(out);
    char *argv2[] = {(char *)ck_zeval(), "datasets", "--cache-dir", tmp, NULL};
    rc = ck_run(argv2, outp, errbuf, sizeof errbuf);
    out = ck_slurp(outp, NULL);
    CK(rc == 0 && out && strstr(out, "aime_2024") && strstr(out, "(30)  no"),
       "empty cache listing: %s", out ? out : "");
    free(out);
    ck_end();
}

/* ------------------------------------------------------------ hostile sources */

static void expect_load_error(const char *name, const char *content, size_t len,
                              const char *must1, const char *must2)
{
    const ds_entry *e = ds_find(name);
    char path[800], err[1024] = "";
    snprintf(path, sizeof path, "%s/hostile-%s", tmp, name);
    ck_write(path, content, len);
    char *files[] = {path};
    ds_set s;
    int rc = ds_load_source(e, files, 1, &s, err, sizeof err);
    CK(rc == -1, "%s: accepted", name);
    if (rc == 0)
        ds_set_free(&s);
    CK(strstr(err, path) && strstr(err, must1) && (!must2 || strstr(err, must2)),
       "%s: message '%s' lacks the file, '%s'%s%s", name, err, must1, must2 ? " or " : "",
       must2 ? must2 : "");
}

static void test_hostile(void)
{
    ck_begin("hostile sources: errors name the file, line and field");
    const char *aime = "{\"problem\": \"p\", \"answer\": 5, \"id\": 1}\n"
                       "{\"problem\": \"q\", \"answer\": 1000, \"id\": 2}\n";
    expect_load_error("aime_2026", aime, strlen(aime), ":2: field 'answer'", "[0, 999]");
    const char *bad = "{\"problem\": \"p\", \"answer\": 5, \"id\": 1}\n\n{\"problem\": \n";
    expect_load_error("aime_2026", bad, strlen(bad), ":3: not a JSON object", NULL);
    const char *noid = "{\"problem\": \"p\", \"answer\": 5}\n";
    expect_load_error("aime_2026", noid, strlen(noid), ":1: field 'id'", NULL);
    /* numbers no integer type holds: an error, not an undefined conversion
     * (found by tests/fuzz/fuzz_dataset.c; UBSan stopped the sanitizer build) */
    const char *huge = "{\"problem\": \"p\", \"answer\": 2.2e56, \"id\": 1}\n";
    expect_load_error("aime_2026", huge, strlen(huge), ":1: field 'answer'", NULL);
    const char *hugeid = "{\"problem\": \"p\", \"answer\": 5, \"id\": -1e300}\n";
    expect_load_error("aime_2026", hugeid, strlen(hugeid), ":1: field 'id'", NULL);
    const char *fracid = "{\"problem\": \"p\", \"answer\": 5, \"problem_idx\": 1.5}\n";
    expect_load_error("hmmt_nov_2025", fracid, strlen(fracid), ":1: field 'problem_idx'", NULL);
    const char *hugema = "{\"problem\": \"p\", \"answer\": 1e19, \"problem_idx\": 1}\n";
    expect_load_error("hmmt_nov_2025", hugema, strlen(hugema), ":1: field 'answer'", NULL);
    const char *ma = "{\"problem\": 7, \"answer\": \"1\", \"problem_idx\": 1}\n";
    expect_load_error("hmmt_nov_2025", ma, strlen(ma), ":1: field 'problem'", NULL);
    const char *he = "{\"task_id\": \"HumanEval/0\", \"prompt\": \"x\"}\n";
    expect_load_error("humaneval", he, strlen(he), "field 'canonical_solution'", NULL);
    expect_load_error("humaneval", "not gzip at all\n", 16, "not a JSON object", NULL);
    const char *mb = "[{\"task_id\": 2, \"prompt\": \"p\", \"code\": \"def f(x):\\n  return x\","
                     " \"test_imports\": [], \"test_list\": [\"assert g(1) == 1\"]}]";
    expect_load_error("mbpp_sanitized", mb, strlen(mb), "record 1: field 'code'", NULL);
    const char *lc = "[{\"problem\": \"p\", \"starter_code\": \"\", \"tests\": "
                     "[{\"input\": \"1\", \"output\": 2, \"testtype\": \"stdin\"}]}]";
    expect_load_error("livecodebench_2408_2502", lc, strlen(lc), "record 1: field 'tests'",
                      NULL);
    const char *norm = "{\"id\": \"x\", \"benchmark\": \"b\", \"task\": \"math\", \"index\": 0, "
                       "\"answer\": \"1\"}\n";
    char npath[800], err[1024] = "";
    snprintf(npath, sizeof npath, "%s/hostile-normalized.jsonl", tmp);
    ck_write(npath, norm, strlen(norm));
    ds_set s;
    CK(ds_load_normalized(npath, &s, err, sizeof err) == -1 && strstr(err, npath) &&
           strstr(err, ":1: field 'problem'"),
       "normalized: '%s'", err);

    /* MathArena directory: a missing answer and an out-of-range one */
    const ds_entry *e = ds_find("hmmt_feb_2025");
    char **paths;
    size_t np;
    CK(ds_source_paths(e, &paths, &np) == 0 && np == 31, "hmmt_feb_2025: %zu paths", np);
    char **local = calloc(np, sizeof *local);
    for (size_t i = 0; i < np; i++) {
        char p[900];
        snprintf(p, sizeof p, "%s/ma-%zu", tmp, i);
        local[i] = ut_strdup(p);
        ck_write(p, "Compute $x$.\n", 13);
    }
    const char *csv = "id,answer\n1,2\n2,\"3, 4\"\n";
    ck_write(local[0], csv, strlen(csv));
    CK(ds_load_source(e, local, np, &s, err, sizeof err) == -1 &&
           strstr(err, "no answer for problem 3") && strstr(err, local[0]),
       "answers.csv: '%s'", err);
    const char *csv2 = "id,answer\n1,2\n99,3\n";
    ck_write(local[0], csv2, strlen(csv2));
    CK(ds_load_source(e, local, np, &s, err, sizeof err) == -1 && strstr(err, ":3: field 'id'"),
       "answers.csv id: '%s'", err);
    ds_paths_free(local, np);
    ds_paths_free(paths, np);
    ck_end();
}

int main(void)
{
    test_normalized();
    test_pins();
    snprintf(tmp, sizeof tmp, "%s", ck_tmpdir());
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    snprintf(outp, sizeof outp, "%s/stdout", tmp);
    test_hostile();
    if (hub_start(&srv, tmp)) {
        ck_begin("loopback hub server");
        CK(0, "could not start python3 tests/hub_server.py");
        ck_end();
        ck_rmtree(tmp);
        return ck_status();
    }
    setenv("HF_ENDPOINT", srv.url, 1);
    char gh[128];
    snprintf(gh, sizeof gh, "%s/gh", srv.url);
    setenv("ZEVAL_GITHUB_RAW", gh, 1);
    setenv("ZEVAL_FETCH_BACKOFF_MS", "20", 1);
    setenv("ZEVAL_FETCH_RETRIES", "2", 1);
    setenv("ZEVAL_FETCH_STALL_TIMEOUT", "5", 1);
    unsetenv("HF_TOKEN");
    unsetenv("ZEVAL_OFFLINE");
    test_loopback();
    test_pinned_file();
    test_records_pin();
    test_offline_and_list();
    hub_stop(&srv);
    if (!getenv("ZEVAL_TEST_KEEP"))
        ck_rmtree(tmp);
    return ck_status();
}
