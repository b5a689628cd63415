/*
 * test_report.c — `zeval report` and `zeval compare` (issue 10).
 *
 *   1. The report of a constructed database (runs and samples written
 *      through store.h; some texts, answers and problem ids hostile:
 *      <script>window.pwned=1</script>, </textarea>, "><img ... onerror>,
 *      &amp;) is one self-contained file: five SVG plots, no script, no
 *      external reference, every hostile string escaped, long texts cut
 *      with a note; --run selects runs; bad input gives clear errors.
 *   2. The same file rendered in headless Chromium (Debian's chromium
 *      driven by tests/report_browser.js through puppeteer-core, installed
 *      with npm into build/report-node on first use): no console errors,
 *      no network requests, five plots with drawn data points, a
 *      drill-down that opens on click and shows the sample's text, the
 *      hostile strings shown as text and window.pwned unset.  Missing
 *      node or chromium: FAIL under CI=true, SKIP otherwise.
 *   3. compare on runs with known flips: deltas, hand-computed McNemar
 *      p-values (exact binomial and chi-square), the flipped list, the
 *      gate's exit status 0/1 and status 2 for usage and data errors.
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "../harness/store.h"
#include "../reports/report.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[512], errbuf[16384];

#define HOSTILE_TEXT                                                                       \
    "Careful: <script>window.pwned=1</script> then </textarea> and "                      \
    "\"><img src=x onerror=window.pwned=2> and &amp; so the answer is \\boxed{7}."
#define HOSTILE_ANSWER "\"><img src=x onerror=window.pwned=2> and some more padding text"
#define HOSTILE_PID "hostile-\"><img src=x onerror=window.pwned=3>"

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

static long long make_run(store *s, const char *name, const char *dataset, int T, int N)
{
    char conf[256];
    snprintf(conf, sizeof conf, "{\"rsa\":\"N=%d,C=2,T=%d,beta=64\",\"N\":%d,\"T\":%d,"
             "\"beta\":64,\"final\":96}", N, T, N, T);
    store_run r = {0};
    r.name = (char *)name;
    r.config = conf;
    r.model_path = "models/tiny";
    r.weights_sha256 = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
    r.dataset = (char *)dataset;
    r.started_at = 100;
    long long id = -1;
    char e[512];
    if (store_run_create(s, &r, &id, e, sizeof e))
        CK(0, "%s", e);
    return id;
}

static int32_t zeros[4096];

static void put(store *s, long long run, const char *pid, int round, int cand, int correct,
                const char *text, const char *answer, const char *finish, int gen)
{
    store_sample x = {0};
    char parents[32] = "[]";
    if (round > 0)
        snprintf(parents, sizeof parents, "[%d,%d]", cand, cand + 1);
    x.problem_id = (char *)pid;
    x.round = round;
    x.candidate = cand;
    x.parents = parents;
    x.gen_tokens = gen;
    x.gen_ids = zeros;
    x.finish_reason = (char *)finish;
    x.text = (char *)text;
    x.extracted = (char *)answer;
    x.correct = correct;
    x.reason = correct == 1 ? "equivalent" : correct == 0 ? "different" : NULL;
    x.started_at = 100 + round;
    x.finished_at = 101 + round;
    char e[512];
    if (store_sample_put(s, run, &x, e, sizeof e))
        CK(0, "%s", e);
}

/* Two runs (T=1, N=2) over five problems, hostile and long texts. */
static void build_report_db(const char *db)
{
    store *s;
    char e[512];
    if (store_open(db, &s, e, sizeof e)) {
        CK(0, "%s", e);
        return;
    }
    static char longtext[12000];
    for (size_t i = 0; i + 1 < sizeof longtext; i++)
        longtext[i] = "abcdefghij klmnop\n"[i % 18];
    memcpy(longtext + 9000, "TAIL-MARKER", 11);
    const char *names[2] = {"base", "cand/rsa"};
    for (int k = 0; k < 2; k++) {
        long long id = make_run(s, names[k], "mini", 1, 2);
        store_begin(s, e, sizeof e);
        put(s, id, HOSTILE_PID, 0, 0, 1, HOSTILE_TEXT, HOSTILE_ANSWER, "stop", 30);
        put(s, id, HOSTILE_PID, 0, 1, 0, "plain text", "8", "length", 64);
        put(s, id, HOSTILE_PID, 1, 0, 1, HOSTILE_TEXT, "7", "stop", 40);
        put(s, id, HOSTILE_PID, 1, 1, k, "aggregated", "7", "stop", 50);
        for (int p = 0; p < 4; p++) {
            char pid[16];
            snprintf(pid, sizeof pid, "p%02d", p);
            for (int r = 0; r < 2; r++)
                for (int c = 0; c < 2; c++)
                    put(s, id, pid, r, c, (p + c + k) % 3 == 0,
                        p == 1 && c == 0 ? longtext : "Solution text with a < b and \\boxed{3}.",
                        (p + c) % 2 ? "3" : NULL, c ? "stop" : p == 3 ? "error" : "length",
                        10 + 20 * p + 5 * c + 7 * k);
        }
        store_commit(s, e, sizeof e);
        store_run_finish(s, id, 160, e, sizeof e);
    }
    store_close(s);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_report_file(const char *db, const char *html)
{
    ck_begin("report_file");
    const char *a[] = {"report", "--db", db, "--out", html, "--text-bytes", "2000", NULL};
    int rc = zeval(NULL, a);
    CK(rc == 0, "zeval report exited %d: %s", rc, errbuf);
    size_t n = 0;
    char *h = ck_slurp(html, &n);
    CK(h != NULL, "no report written");
    if (h) {
        CK(count(h, "<svg class=\"plot\"") == 5, "%d plots", count(h, "<svg class=\"plot\""));
        CK(strstr(h, "&lt;script&gt;window.pwned=1&lt;/script&gt;") != NULL,
           "the <script> text is not escaped as expected");
        CK(strstr(h, "&lt;/textarea&gt;") != NULL, "</textarea> not escaped");
        CK(strstr(h, "&quot;&gt;&lt;img src=x onerror=window.pwned=2&gt;") != NULL,
           "the attribute-breaking string is not escaped");
        CK(strstr(h, "hostile-&quot;&gt;&lt;img src=x onerror=window.pwned=3&gt;") != NULL,
           "the hostile problem id is not escaped");
        CK(strstr(h, "&amp;amp;") != NULL, "&amp; in model text is not escaped");
        CK(!strstr(h, "<script") && !strstr(h, "<img") && !strstr(h, "</textarea") &&
           !strstr(h, "<textarea"), "raw markup from the database reached the page");
        CK(!strstr(h, "href=") && !strstr(h, "src=\"") && !strstr(h, "url("),
           "the page references an external resource");
        CK(strstr(h, "default-src 'none'") != NULL, "no Content-Security-Policy");
        CK(strstr(h, "<i>2000/11999B</i>") != NULL,
           "the long text is not cut with a note");
        CK(!strstr(h, "TAIL-MARKER"), "the cut part of a long text is in the file");
        CK(strstr(h, ">base<") && strstr(h, ">cand/rsa<"), "run names missing");
        CK(strstr(h, "budget 64") && strstr(h, "budget 96"), "the budgets are not marked");
        CK(strstr(h, "abcdef012345") != NULL, "the checkpoint checksum is missing");
        /* every sample has a drill-down entry: 2 runs x 5 problems x 4 */
        CK(count(h, "</summary><pre>") == 40, "%d sample entries",
           count(h, "</summary><pre>"));
        CK(count(h, "<details class=y>") == 15 && count(h, "<details class=n>") == 25,
           "verdicts: %d correct, %d wrong", count(h, "<details class=y>"),
           count(h, "<details class=n>"));
        CK(strstr(h, "r1 c0\u21d00,1") != NULL, "the lineage of r1 c0 is missing");
    }
    free(h);
    ck_end();
}

static void test_report_select(const char *db)
{
    ck_begin("report_select_runs");
    const char *out = path("one.html");
    const char *a[] = {"report", "--db", db, "--run", "cand", "--out", out, NULL};
    int rc = zeval(NULL, a);
    CK(rc == 0, "exit %d: %s", rc, errbuf);
    char *h = ck_slurp(out, NULL);
    CK(h && strstr(h, ">cand/rsa<") && !strstr(h, ">base<"), "--run cand did not select "
       "exactly cand/rsa");
    free(h);
    const char *b[] = {"report", "--db", db, "--run", "1", "--run=cand/rsa", "--out", out, NULL};
    rc = zeval(NULL, b);
    h = ck_slurp(out, NULL);
    CK(rc == 0 && h && strstr(h, ">cand/rsa<") && strstr(h, ">base<"), "id + name: %d %s", rc,
       errbuf);
    free(h);
    ck_end();

    ck_begin("report_errors");
    const char *c[] = {"report", "--db", db, "--run", "nope", "--out", out, NULL};
    rc = zeval(NULL, c);
    CK(rc == 1 && strstr(errbuf, "'nope'"), "unknown run: exit %d, %s", rc, errbuf);
    const char *d[] = {"report", "--db", path("missing.db"), "--out", out, NULL};
    rc = zeval(NULL, d);
    CK(rc == 1 && strstr(errbuf, "no such database"), "missing db: exit %d, %s", rc, errbuf);
    const char *e[] = {"report", "--db", db, "--bogus", NULL};
    rc = zeval(NULL, e);
    CK(rc == 2, "unknown option: exit %d", rc);
    const char *f[] = {"report", "--db", db, "--out", path("no/such/dir/x.html"), NULL};
    rc = zeval(NULL, f);
    CK(rc == 1 && strstr(errbuf, "cannot write"), "unwritable out: exit %d, %s", rc, errbuf);
    ck_write(path("junk.db"), "this is not sqlite at all, not even close......", 48);
    const char *g[] = {"report", "--db", path("junk.db"), "--out", out, NULL};
    rc = zeval(NULL, g);
    CK(rc == 1, "junk db: exit %d, %s", rc, errbuf);
    /* a database whose configuration and rows no run could have written:
     * numbers past every integer type, a round past T's limit */
    store *s;
    char em[512];
    if (store_open(path("odd.db"), &s, em, sizeof em) == 0) {
        store_run r = {0};
        r.name = "odd";
        r.config = "{\"rsa\":\"N=2,C=2,T=1,beta=64\",\"T\":2147483647,\"beta\":1e300,"
                   "\"final\":-1e300}";
        r.model_path = "m";
        r.dataset = "mini";
        long long id = -1;
        CK(store_run_create(s, &r, &id, em, sizeof em) == 0, "%s", em);
        put(s, id, "p00", 0, 0, 1, "text", "3", "stop", 5);
        put(s, id, "p00", 64, 0, 1, "text", "3", "stop", 5);
        store_close(s);
    } else
        CK(0, "%s", em);
    const char *odd[] = {"report", "--db", path("odd.db"), "--out", out, NULL};
    rc = zeval(NULL, odd);
    CK(rc == 1 && strstr(errbuf, "run 1: a sample of problem 'p00' has round 64, outside 0..63"),
       "odd db: exit %d, %s", rc, errbuf);
    ck_end();
}

/* ------------------------------------------------------------ browser */

static int have(const char *prog)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
    char *argv[] = {"sh", "-c", cmd, NULL};
    return ck_run(argv, NULL, NULL, 0) == 0;
}

static void not_here(const char *name, const char *why)
{
    const char *ci = getenv("CI");
    if (ci && !strcmp(ci, "true")) {
        ck_begin("%s", name);
        CK(0, "%s (CI=true: scripts/deps.sh installs chromium, nodejs and npm)", why);
        ck_end();
    } else
        ck_skip(name, why);
}

static void test_browser(const char *html)
{
    const char *chromium = getenv("CHROMIUM") ? getenv("CHROMIUM") : "/usr/bin/chromium";
    if (!have("node") || !have("npm")) {
        not_here("browser", "node or npm not found (Debian packages nodejs, npm)");
        return;
    }
    if (access(chromium, X_OK) != 0) {
        char why[600];
        snprintf(why, sizeof why, "chromium not found at %s (Debian package chromium)",
                 chromium);
        not_here("browser", why);
        return;
    }
    const char *nd = getenv("ZEVAL_REPORT_NODE") ? getenv("ZEVAL_REPORT_NODE")
                                                 : "build/report-node";
    char pkg[700];
    snprintf(pkg, sizeof pkg, "%s/node_modules/puppeteer-core/package.json", nd);
    if (access(pkg, R_OK) != 0) {
        char *argv[] = {"npm", "install", "--prefix", (char *)nd, "--no-audit", "--no-fund",
                        "--loglevel=error", "puppeteer-core@24.43.1", NULL};
        int rc = ck_run(argv, NULL, errbuf, sizeof errbuf);
        if (rc != 0 || access(pkg, R_OK) != 0) {
            char why[600];
            snprintf(why, sizeof why, "npm install puppeteer-core into %s failed (%d): %.300s",
                     nd, rc, errbuf);
            not_here("browser", why);
            return;
        }
    }
    const char *out = path("browser.txt");
    char *argv[] = {"node", "tests/report_browser.js", (char *)nd, (char *)html, "5",
                    "hostile-", "window.pwned=1", NULL};
    int rc = ck_run(argv, out, errbuf, sizeof errbuf);
    char *res = ck_slurp(out, NULL);
    int lines = 0;
    for (char *line = res ? strtok(res, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        if (!strncmp(line, "OK ", 3)) {
            ck_begin("browser_%s", line + 3);
            ck_end();
            lines++;
        } else if (!strncmp(line, "BAD ", 4)) {
            char *colon = strchr(line + 4, ':');
            if (colon)
                *colon = 0;
            ck_begin("browser_%s", line + 4);
            CK(0, "%s", colon ? colon + 1 : "failed");
            ck_end();
            lines++;
        }
    }
    if (rc != 0 || lines < 10) {
        ck_begin("browser_run");
        CK(0, "node exited %d after %d checks: %.1000s", rc, lines, errbuf);
        ck_end();
    }
    free(res);
}

/* ------------------------------------------------------------ compare */

/* One run of n problems q000.. with one final-round sample each (T=0):
 * problem i solved iff solved(i). */
static void cmp_run(store *s, const char *name, const char *ds, int n, int lo1, int hi1,
                    int lo2, int hi2)
{
    long long id = make_run(s, name, ds, 0, 1);
    char e[256], pid[16];
    store_begin(s, e, sizeof e);
    for (int i = 0; i < n; i++) {
        snprintf(pid, sizeof pid, "q%03d", i);
        int ok = (i >= lo1 && i < hi1) || (i >= lo2 && i < hi2);
        put(s, id, pid, 0, 0, ok, "t", "1", "stop", 5);
    }
    store_commit(s, e, sizeof e);
}

static void build_compare_db(const char *db)
{
    store *s;
    char e[512];
    if (store_open(db, &s, e, sizeof e)) {
        CK(0, "%s", e);
        return;
    }
    cmp_run(s, "A", "mini", 30, 0, 20, 0, 0);     /* 20 of 30 */
    cmp_run(s, "B<i>", "mini", 30, 6, 21, 0, 0);  /* loses q000-q005, gains q020 */
    cmp_run(s, "C", "mini", 30, 8, 20, 0, 0);     /* loses q000-q007 */
    cmp_run(s, "D", "big", 100, 0, 60, 0, 0);     /* 60 of 100 */
    cmp_run(s, "E", "big", 100, 30, 70, 0, 0);    /* loses 30, gains 10 */
    cmp_run(s, "H", "other", 30, 0, 20, 0, 0);
    /* Two suites, pairing by the names past old and new: mini alone would
     * fail the gate (6 lost, p = 0.03125), not with Holm over three
     * pairs; big fails either way; extra and more have no partner. */
    cmp_run(s, "old/mini", "mini", 30, 0, 20, 0, 0);
    cmp_run(s, "old/big", "big", 100, 0, 60, 0, 0);
    cmp_run(s, "old/other", "other", 30, 0, 20, 0, 0);
    cmp_run(s, "old/extra", "mini", 30, 0, 20, 0, 0);
    cmp_run(s, "new/mini", "mini", 30, 6, 20, 0, 0);
    cmp_run(s, "new/big", "big", 100, 30, 70, 0, 0);
    cmp_run(s, "new/other", "other", 30, 0, 20, 0, 0);
    cmp_run(s, "new/more", "mini", 30, 0, 20, 0, 0);
    /* F, G: four problems, four final-round samples each (T=1); round 0
     * all correct so that using it would show */
    static const int fc[4] = {4, 3, 2, 0}, gc[4] = {3, 1, 2, 1};
    const int *cs[2] = {fc, gc};
    const char *nm[2] = {"F", "G"};
    for (int k = 0; k < 2; k++) {
        long long id = make_run(s, nm[k], "frac", 1, 4);
        store_begin(s, e, sizeof e);
        for (int p = 0; p < 4; p++) {
            char pid[16];
            snprintf(pid, sizeof pid, "f%d", p);
            for (int c = 0; c < 4; c++) {
                put(s, id, pid, 0, c, 1, "t", "1", "stop", 5);
                put(s, id, pid, 1, c, c < cs[k][p], "t", "1", "stop", 5);
            }
        }
        store_commit(s, e, sizeof e);
    }
    store_close(s);
}

static cJSON *cmp_json(const char *db, const char *a, const char *b, int *rc)
{
    const char *out = path("cmp.json");
    const char *args[] = {"compare", "--db", db, a, b, "--format", "json", NULL};
    *rc = zeval(out, args);
    char *t = ck_slurp(out, NULL);
    cJSON *j = t ? cJSON_Parse(t) : NULL;
    free(t);
    return j;
}

static double jnum(const cJSON *j, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void test_mcnemar(void)
{
    ck_begin("mcnemar_values");
    int ex;
    double chi2;
    double p = rep_mcnemar(6, 1, &ex, &chi2);
    CK(ex && fabs(p - 0.125) < 1e-12, "b=6 c=1: p %.10g exact %d", p, ex);
    p = rep_mcnemar(8, 0, &ex, NULL);
    CK(ex && fabs(p - 0.0078125) < 1e-12, "b=8 c=0: p %.10g", p);
    p = rep_mcnemar(30, 10, &ex, &chi2);
    CK(!ex && fabs(chi2 - 9.025) < 1e-12 && fabs(p - 0.002663119259138554) < 1e-9,
       "b=30 c=10: chi2 %.6g p %.10g", chi2, p);
    CK(rep_mcnemar(0, 0, NULL, NULL) == 1.0, "no discordant pairs: p must be 1");
    CK(rep_mcnemar(12, 12, NULL, NULL) == 1.0, "b=c=12: p must be 1 (clipped)");
    p = rep_mcnemar(13, 12, &ex, &chi2);
    CK(!ex && chi2 == 0 && p == 1.0, "b=13 c=12: chi2 %g p %g", chi2, p);
    p = rep_mcnemar(1, 0, &ex, NULL);
    CK(ex && p == 1.0, "b=1 c=0: p %g", p);
    ck_end();
}

static void test_compare(const char *db)
{
    int rc;
    ck_begin("compare_small_not_significant");
    cJSON *j = cmp_json(db, "A", "B<i>", &rc);
    CK(rc == 0, "exit %d (drop 16.7 points but p = 0.125): %s", rc, errbuf);
    CK(j != NULL, "no JSON");
    if (j) {
        CK(fabs(jnum(j, "delta_points") - (-50.0 / 3)) < 1e-9, "delta %g",
           jnum(j, "delta_points"));
        CK(jnum(j, "lost") == 6 && jnum(j, "gained") == 1, "lost %g gained %g", jnum(j, "lost"),
           jnum(j, "gained"));
        CK(fabs(jnum(j, "p") - 0.125) < 1e-12, "p %g", jnum(j, "p"));
        CK(jnum(j, "paired") == 30, "paired %g", jnum(j, "paired"));
        CK(jnum(j, "delta_lo") <= jnum(j, "delta_points") &&
           jnum(j, "delta_points") <= jnum(j, "delta_hi") && jnum(j, "delta_lo") < jnum(j, "delta_hi"),
           "CI [%g, %g]", jnum(j, "delta_lo"), jnum(j, "delta_hi"));
        const cJSON *fl = cJSON_GetObjectItemCaseSensitive(j, "flipped");
        CK(cJSON_GetArraySize(fl) == 7, "%d flipped", cJSON_GetArraySize(fl));
        const cJSON *f0 = cJSON_GetArrayItem(fl, 0), *f6 = cJSON_GetArrayItem(fl, 6);
        CK(f0 && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(f0, "problem")), "q000") &&
           !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(f0, "change")), "lost"),
           "first flip");
        CK(f6 && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(f6, "problem")), "q020") &&
           !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(f6, "change")), "gained"),
           "last flip");
        CK(cJSON_IsFalse(cJSON_GetObjectItem(j, "regression")), "regression flag");
    }
    /* the same data gives the same interval (seeded bootstrap) */
    cJSON *j2 = cmp_json(db, "A", "B<i>", &rc);
    CK(j && j2 && jnum(j, "delta_lo") == jnum(j2, "delta_lo") && jnum(j, "delta_hi") ==
       jnum(j2, "delta_hi"), "the bootstrap interval is not reproducible");
    cJSON_Delete(j);
    cJSON_Delete(j2);
    ck_end();

    ck_begin("compare_significant_drop");
    j = cmp_json(db, "A", "C", &rc);
    CK(rc == 1, "exit %d: drop 26.7 points with p = 0.0078 must fail the gate", rc);
    CK(j && fabs(jnum(j, "delta_points") + 80.0 / 3) < 1e-9 &&
       fabs(jnum(j, "p") - 0.0078125) < 1e-12 && jnum(j, "lost") == 8 && jnum(j, "gained") == 0,
       "delta %g p %g", j ? jnum(j, "delta_points") : 0, j ? jnum(j, "p") : 0);
    CK(j && cJSON_IsTrue(cJSON_GetObjectItem(j, "regression")), "regression flag");
    cJSON_Delete(j);
    const char *a1[] = {"compare", "--db", db, "A", "C", "--max-drop", "30", NULL};
    rc = zeval(NULL, a1);
    CK(rc == 0, "--max-drop 30: exit %d", rc);
    const char *a2[] = {"compare", "--db", db, "--alpha", "0.005", "A", "C", NULL};
    rc = zeval(NULL, a2);
    CK(rc == 0, "--alpha 0.005: exit %d", rc);
    j = cmp_json(db, "C", "A", &rc);
    CK(rc == 0 && j && fabs(jnum(j, "delta_points") - 80.0 / 3) < 1e-9 && jnum(j, "gained") == 8,
       "an improvement: exit %d", rc);
    cJSON_Delete(j);
    ck_end();

    ck_begin("compare_chi_square");
    const char *out = path("cmp.txt");
    const char *a3[] = {"compare", "--db", db, "D", "E", NULL};
    rc = zeval(out, a3);
    char *t = ck_slurp(out, NULL);
    CK(rc == 1, "exit %d: 20-point drop with p = 0.0027", rc);
    CK(t && strstr(t, "30 lost, 10 gained") && strstr(t, "chi-square") &&
       strstr(t, "chi2 = 9.0250") && strstr(t, "p = 0.00266312") &&
       strstr(t, "delta B-A: -20.00 points"), "text output:\n%s", t ? t : "");
    free(t);
    ck_end();

    ck_begin("compare_fractional_final_round");
    j = cmp_json(db, "F", "G", &rc);
    CK(rc == 0, "exit %d: one discordant problem is never significant", rc);
    CK(j && fabs(jnum(j, "delta_points") + 12.5) < 1e-9 && fabs(jnum(j, "mean_a") - 0.5625) < 1e-12 &&
       fabs(jnum(j, "mean_b") - 0.4375) < 1e-12 && jnum(j, "lost") == 1 && jnum(j, "gained") == 0 &&
       jnum(j, "p") == 1.0, "delta %g means %g %g", j ? jnum(j, "delta_points") : 0,
       j ? jnum(j, "mean_a") : 0, j ? jnum(j, "mean_b") : 0);
    cJSON_Delete(j);
    ck_end();

    ck_begin("compare_html_escapes");
    const char *a4[] = {"compare", "--db", db, "A", "B<i>", "--format", "html", NULL};
    out = path("cmp.html");
    rc = zeval(out, a4);
    t = ck_slurp(out, NULL);
    CK(rc == 0 && t && strstr(t, "B&lt;i&gt;") && !strstr(t, "B<i>") && strstr(t, "q020"),
       "exit %d", rc);
    free(t);
    ck_end();

    ck_begin("compare_suites_pair_by_name_with_holm");
    j = cmp_json(db, "old", "new", &rc);
    cJSON *cs = j ? cJSON_GetObjectItem(j, "comparisons") : NULL;
    CK(rc == 1 && cJSON_GetArraySize(cs) == 3, "exit %d, %d comparisons", rc,
       cJSON_GetArraySize(cs));
    double holm[3] = {NAN, NAN, NAN};
    int reg[3] = {-1, -1, -1};
    static const char *const sub[3] = {"new/mini", "new/big", "new/other"};
    for (int i = 0; i < cJSON_GetArraySize(cs); i++) {
        cJSON *c = cJSON_GetArrayItem(cs, i);
        const char *nb = cJSON_GetStringValue(cJSON_GetObjectItem(c, "run_b"));
        const char *na = cJSON_GetStringValue(cJSON_GetObjectItem(c, "run_a"));
        for (int k = 0; k < 3; k++)
            if (nb && na && !strcmp(nb, sub[k]) && !strcmp(na + 3, nb + 3)) {
                holm[k] = jnum(c, "p_holm");
                reg[k] = cJSON_IsTrue(cJSON_GetObjectItem(c, "regression"));
            }
    }
    /* p: big 0.00266312 (rank 1: x3), mini 0.03125 (rank 2: x2), other 1 */
    CK(fabs(holm[1] - 3 * 0.00266311630) < 1e-8 && fabs(holm[0] - 0.0625) < 1e-12 &&
           holm[2] == 1.0 && reg[0] == 0 && reg[1] == 1 && reg[2] == 0,
       "holm %g %g %g, regression %d %d %d", holm[0], holm[1], holm[2], reg[0], reg[1], reg[2]);
    cJSON *ua = j ? cJSON_GetObjectItem(j, "unpaired_a") : NULL;
    cJSON *ub = j ? cJSON_GetObjectItem(j, "unpaired_b") : NULL;
    CK(cJSON_GetArraySize(ua) == 1 && cJSON_GetArraySize(ub) == 1 &&
           !strcmp(cJSON_GetArrayItem(ua, 0)->valuestring, "old/extra") &&
           !strcmp(cJSON_GetArrayItem(ub, 0)->valuestring, "new/more") &&
           cJSON_IsTrue(cJSON_GetObjectItem(j, "regression")), "unpaired or regression flag");
    cJSON_Delete(j);
    /* alone, mini's drop fails the gate */
    j = cmp_json(db, "old/mini", "new/mini", &rc);
    CK(rc == 1 && j && fabs(jnum(j, "p") - 0.03125) < 1e-12 && !cJSON_GetObjectItem(j, "p_holm"),
       "old/mini vs new/mini alone: exit %d", rc);
    cJSON_Delete(j);
    const char *s1[] = {"compare", "--db", db, "old", "new", NULL};
    out = path("suite.txt");
    rc = zeval(out, s1);
    t = ck_slurp(out, NULL);
    CK(rc == 1 && t && strstr(t, "summary (p-values Holm-adjusted over 3 comparisons)") &&
           strstr(t, "not compared: old/extra (A") && strstr(t, "not compared: new/more (B") &&
           strstr(t, "gate: FAIL (1 of 3 pairs: significant regression)") &&
           strstr(t, "Holm-adjusted p = 0.0625 over 3 comparisons"), "exit %d:\n%s", rc,
       t ? t : "");
    free(t);
    const char *s2[] = {"compare", "--db", db, "old", "new", "--format", "html", NULL};
    out = path("suite.html");
    rc = zeval(out, s2);
    t = ck_slurp(out, NULL);
    CK(rc == 1 && t && strstr(t, "<th>p (Holm)</th>") && count(t, "<h2>") == 3 &&
           strstr(t, "not compared: old/extra (A)") && strstr(t, "</body></html>"),
       "exit %d", rc);
    free(t);
    const char *s3[] = {"compare", "--db", db, "old", "A", NULL};
    rc = zeval(NULL, s3);
    CK(rc == 2 && strstr(errbuf, "no run of 'old' pairs with one of 'A'"), "exit %d: %s", rc,
       errbuf);
    ck_end();

    ck_begin("compare_usage_and_data_errors");
    const char *e1[] = {"compare", "--db", db, "A", "nope", NULL};
    rc = zeval(NULL, e1);
    CK(rc == 2 && strstr(errbuf, "nope"), "unknown run: exit %d %s", rc, errbuf);
    const char *e2[] = {"compare", "--db", db, "A", "H", NULL};
    rc = zeval(NULL, e2);
    CK(rc == 2 && strstr(errbuf, "different datasets"), "different datasets: exit %d %s", rc,
       errbuf);
    const char *e3[] = {"compare", "--db", db, "A", NULL};
    rc = zeval(NULL, e3);
    CK(rc == 2, "one run: exit %d", rc);
    const char *e4[] = {"compare", "--db", db, "A", "C", "--format", "xml", NULL};
    rc = zeval(NULL, e4);
    CK(rc == 2, "bad format: exit %d", rc);
    const char *e5[] = {"compare", "--db", path("missing.db"), "A", "C", NULL};
    rc = zeval(NULL, e5);
    CK(rc == 2, "missing db: exit %d", rc);
    const char *e6[] = {"compare", "--db", db, "A", "C", "--max-drop", "x", NULL};
    rc = zeval(NULL, e6);
    CK(rc == 2, "bad --max-drop: exit %d", rc);
    ck_end();
}

/* Runs of a sweep share the start of their names: a plot's row label
 * keeps the end, from a character boundary, with the whole name on hover. */
static void test_report_labels(void)
{
    ck_begin("report_long_names_keep_their_end");
    const char *db = path("sweep.db"), *out = path("sweep.html");
    static const char *const names[] = {
        "sweep-20261202/N=16,C=4,T=2,beta=4K,tau=1K/aime_2025",
        "sweep-20261202/N=16,C=4,T=2,beta=4K,tau=1K/hmmt_feb_2025",
        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
        "\xc3\xa9\xc3\xa9\xc3\xa9", /* 12 x U+00E9: 24 bytes */
        "short"};
    store *s;
    char e[512];
    if (store_open(db, &s, e, sizeof e)) {
        CK(0, "%s", e);
        ck_end();
        return;
    }
    for (int k = 0; k < 4; k++) {
        long long id = make_run(s, names[k], "mini", 0, 2);
        put(s, id, "p00", 0, 0, 1, "\\boxed{3}", "3", "stop", 10);
        put(s, id, "p00", 0, 1, 0, "\\boxed{4}", "4", "length", 64);
        store_run_finish(s, id, 160, e, sizeof e);
    }
    store_close(s);
    const char *a[] = {"report", "--db", db, "--out", out, NULL};
    int rc = zeval(NULL, a);
    char *h = ck_slurp(out, NULL);
    CK(rc == 0 && h, "exit %d: %s", rc, errbuf);
    /* each label is in two plots: the heat map and the finish reasons */
    for (int k = 0; h && k < 4; k++) {
        char want[400];
        size_t nl = strlen(names[k]);
        if (k == 3) {
            snprintf(want, sizeof want, "\">short</text>");
        } else {
            const char *t = names[k] + nl - 21;
            if (k == 2)
                t++; /* 21 bytes back is the middle of a character */
            snprintf(want, sizeof want, "<title>%s</title>\xe2\x80\xa6%s</text>", names[k], t);
        }
        CK(count(h, want) == 2, "label of %s: %d times '%s'", names[k], count(h, want), want);
    }
    free(h);
    ck_end();
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s", ck_tmpdir());
    char db[700], html[700], cdb[700];
    snprintf(db, sizeof db, "%s/r.db", dir);
    snprintf(html, sizeof html, "%s/report.html", dir);
    snprintf(cdb, sizeof cdb, "%s/c.db", dir);
    ck_begin("build_databases");
    build_report_db(db);
    build_compare_db(cdb);
    ck_end();
    test_report_file(db, html);
    test_report_select(db);
    test_report_labels();
    test_browser(html);
    test_mcnemar();
    test_compare(cdb);
    ck_rmtree(dir);
    return ck_status();
}
