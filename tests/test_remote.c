/*
 * test_remote.c — `zeval run --endpoint` against tests/openai_server.py, a
 * loopback OpenAI-compatible server with scripted completions and faults
 * (issue 9 acceptance 1 and 2):
 *
 *   1. normal runs (streamed and one-body, two endpoints, ids and text
 *      prompts): every sample stored, seeds and prompts as sent, Bearer key,
 *      reproducible; 5xx then success, stalls, dropped connections: retried,
 *      rows equal to the clean run; 400 and malformed bodies: error rows,
 *      not retried, resume completes them; stalls that never end: error rows
 *      (no hang); a server that dies mid-run: error rows, and after it
 *      returns `--resume` gives the clean run's rows (timings aside).
 *   2. tails: completions with and without `</think>` under tail=reasoning,
 *      hybrid and full; every stored tail equals the spec's definition
 *      (§3.2), computed here from the stored ids; also with a text-only
 *      server (ids tokenized locally).
 *
 * Completions depend only on (prompt ids, seed, max_tokens), so two runs of
 * the same configuration store the same rows.
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "../engine/tokenizer.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[512], tokdir[600], data[600], script[600];
static char errbuf[16384];
static tok_tokenizer *tk;
static int32_t think_ids[16];
static int nthink;

/* ------------------------------------------------------------ server */

typedef struct {
    pid_t pid;
    int port;
    char url[64], log[700];
} srv;

/* Starts the server with extra args (NULL-terminated); port 0 = any. */
static int srv_start(srv *s, int port, const char *const *extra)
{
    static int nlog;
    memset(s, 0, sizeof *s);
    snprintf(s->log, sizeof s->log, "%s/server%d.log", dir, nlog++);
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    const char *argv[40];
    int n = 0;
    argv[n++] = "python3";
    argv[n++] = "tests/openai_server.py";
    argv[n++] = "--port";
    argv[n++] = ps;
    argv[n++] = "--script";
    argv[n++] = script;
    argv[n++] = "--log";
    argv[n++] = s->log;
    for (int i = 0; extra && extra[i] && n < 38; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    int p[2];
    if (pipe(p))
        return -1;
    fflush(stdout);
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execvp("python3", (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    char line[32] = {0};
    size_t k = 0;
    while (k < sizeof line - 1) {
        ssize_t r = read(p[0], line + k, 1);
        if (r <= 0 || line[k] == '\n')
            break;
        k++;
    }
    close(p[0]);
    s->port = atoi(line);
    if (s->port <= 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
        return -1;
    }
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    return 0;
}

static void srv_stop(srv *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

/* ------------------------------------------------------------ helpers */

static int zeval(const char *const *args)
{
    return ck_zeval_run(args, NULL, errbuf, sizeof errbuf);
}

#define RETRY_OPTS "retries=3,backoff=0.05,stall=5,connect=2,timeout=60"

/* A run named "r" into db against url with spec and remote options. */
static int run_remote(const char *db, const char *url, const char *spec, const char *ropts)
{
    const char *a[] = {"run", "--endpoint", url, "--served-model", "scripted", "--tokenizer",
                       tokdir, "--dataset", data, "--rsa", spec, "--seed", "7", "--db", db,
                       "--name", "r", "--remote", ropts, "--progress", "off", NULL};
    return zeval(a);
}

static int resume_remote(const char *db, const char *url)
{
    const char *a[] = {"run", "--resume", "r", "--db", db, "--endpoint", url, "--progress", "off",
                       NULL};
    return zeval(a);
}

static long long q1(const char *db, const char *sql)
{
    sqlite3 *h;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(h);
        return -1;
    }
    sqlite3_busy_timeout(h, 5000);
    sqlite3_stmt *st;
    long long v = -1;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    } else {
        fprintf(stderr, "sql error: %s\n", sqlite3_errmsg(h));
    }
    sqlite3_close(h);
    return v;
}

#define COLS "problem_id, round, candidate, parents, seed, prompt_tokens, gen_tokens, gen_ids, " \
             "finish_reason, text, tail, tail_tokens, extracted, correct, reason"

/* Rows of db a (of its run named run, or all when NULL) and of db b that
 * differ (every column but timings); *na gets a's row count. */
static long long diff_run(const char *a, const char *run, const char *b, long long *na)
{
    sqlite3 *h;
    if (sqlite3_open_v2(a, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(h);
        return -1;
    }
    char sql[2400];
    snprintf(sql, sizeof sql, "ATTACH '%s' AS b", b);
    sqlite3_exec(h, sql, NULL, NULL, NULL);
    const char *w = run ? " WHERE run_id = (SELECT id FROM main.runs WHERE name = ?1)" : "";
    snprintf(sql, sizeof sql,
             "SELECT (SELECT count(*) FROM (SELECT " COLS " FROM main.samples%s EXCEPT SELECT "
             COLS " FROM b.samples)) + (SELECT count(*) FROM (SELECT " COLS " FROM b.samples "
             "EXCEPT SELECT " COLS " FROM main.samples%s)), (SELECT count(*) FROM main.samples%s)",
             w, w, w);
    sqlite3_stmt *st;
    long long v = -1;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
        if (run)
            sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            v = sqlite3_column_int64(st, 0);
            *na = sqlite3_column_int64(st, 1);
        }
        sqlite3_finalize(st);
    } else {
        fprintf(stderr, "sql error: %s\n", sqlite3_errmsg(h));
    }
    sqlite3_close(h);
    return v;
}

static long long diff_rows(const char *a, const char *b, long long *na)
{
    return diff_run(a, NULL, b, na);
}

static const char *dbp(const char *name)
{
    static char b[8][700];
    static int k;
    k = (k + 1) % 8;
    snprintf(b[k], sizeof b[k], "%s/%s.db", dir, name);
    return b[k];
}

/* Attempts logged by a server, and those with attempt > 1. */
static void log_counts(const srv *s, int *total, int *retried)
{
    *total = *retried = 0;
    size_t len;
    char *t = ck_slurp(s->log, &len);
    if (!t)
        return;
    for (char *p = t; (p = strstr(p, "\"attempt\": ")); p++) {
        (*total)++;
        *retried += atoi(p + 11) > 1;
    }
    free(t);
}

/* ------------------------------------------------------------ setup */

static int setup(void)
{
    snprintf(dir, sizeof dir, "%s", ck_tmpdir());
    snprintf(tokdir, sizeof tokdir, "%s/tok", dir);
    snprintf(data, sizeof data, "%s/aime3.jsonl", dir);
    snprintf(script, sizeof script, "%s/script.json", dir);
    char p[700];
    if (mkdir(tokdir, 0755))
        return -1;
    snprintf(p, sizeof p, "%s/tokenizer.json", tokdir);
    if (ck_copy(ck_shared("tokenizer/gemma3/tokenizer.json"), p))
        return -1;
    snprintf(p, sizeof p, "%s/tokenizer_config.json", tokdir);
    if (ck_copy(ck_shared("tokenizer/gemma3/tokenizer_config.json"), p))
        return -1;
    /* three problems */
    size_t len;
    char *all = ck_slurp(ck_shared("datasets/math/aime_2025.jsonl"), &len);
    if (!all)
        return -1;
    char *e = all;
    for (int i = 0; i < 3 && e; i++)
        e = strchr(e + 1, '\n');
    if (!e || ck_write(data, all, (size_t)(e - all + 1))) {
        free(all);
        return -1;
    }
    free(all);
    /* the script: single-token words and the ids of </think> */
    snprintf(p, sizeof p, "%s/tokenizer.json", tokdir);
    if (tok_load(p, &tk, errbuf, sizeof errbuf))
        return -1;
    static const char *words[] = {" apple", " river", " stone", " cloud", " green", " music",
                                  " paper", " light", " water", " north", " house", " table",
                                  " seven", " blue", " fast", " answer", " so", " the", " is",
                                  " 42", " and", " then", "\n", " Wait"};
    cJSON *j = cJSON_CreateObject(), *wa = cJSON_AddArrayToObject(j, "words");
    int nw = 0;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        int32_t *ids = NULL;
        size_t n = 0;
        if (tok_encode(tk, words[i], strlen(words[i]), 0, &ids, &n, errbuf, sizeof errbuf))
            return -1;
        if (n == 1) {
            cJSON *w = cJSON_CreateArray();
            cJSON_AddItemToArray(w, cJSON_CreateNumber(ids[0]));
            cJSON_AddItemToArray(w, cJSON_CreateString(words[i]));
            cJSON_AddItemToArray(wa, w);
            nw++;
        }
        free(ids);
    }
    int32_t *ids = NULL;
    size_t n = 0;
    if (nw < 8 || tok_encode(tk, "</think>", 8, 0, &ids, &n, errbuf, sizeof errbuf) || n < 1 ||
        n > 16)
        return -1;
    cJSON *th = cJSON_AddArrayToObject(j, "think"), *ta = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        think_ids[i] = ids[i];
        cJSON_AddItemToArray(ta, cJSON_CreateNumber(ids[i]));
    }
    nthink = (int)n;
    free(ids);
    cJSON_AddItemToArray(th, ta);
    cJSON_AddItemToArray(th, cJSON_CreateString("</think>"));
    char *txt = cJSON_PrintUnformatted(j);
    int rc = ck_write(script, txt, strlen(txt));
    free(txt);
    cJSON_Delete(j);
    return rc;
}

/* ------------------------------------------------------------ tails */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The spec's tail (§3.2) of ids under mode ("reasoning", "hybrid",
 * "full"), malloc'd; *nt its token count; *has_think whether </think> is
 * in the trace. */
static char *spec_tail(const int32_t *ids, int n, const int32_t *stop, int nstop, int tau,
                       const char *mode, int *nt, int *has_think)
{
    /* strip trailing end-of-turn / EOS ids */
    for (;;) {
        int s = 0;
        for (int i = 0; n > 0 && i < nstop; i++)
            s |= ids[n - 1] == stop[i];
        if (!s)
            break;
        n--;
    }
    int pos = -1;
    for (int i = 0; i + nthink <= n && pos < 0; i++)
        if (!memcmp(ids + i, think_ids, (size_t)nthink * sizeof *ids))
            pos = i;
    *has_think = pos >= 0;
    int lo = 0, hi = n;
    if (pos >= 0 && !strcmp(mode, "reasoning"))
        hi = pos; /* the thinking segment */
    else if (pos >= 0 && !strcmp(mode, "hybrid"))
        lo = pos + nthink; /* the post-think answer section */
    if (hi - lo > tau)
        lo = hi - tau; /* the last tau tokens */
    *nt = hi - lo;
    char *s = NULL;
    size_t l = 0;
    if (tok_decode(tk, ids + lo, (size_t)(hi - lo), 1, &s, &l, errbuf, sizeof errbuf))
        return NULL;
    size_t a = 0;
    while (a < l && is_space(s[a]))
        a++;
    while (l > a && is_space(s[l - 1]))
        l--;
    memmove(s, s + a, l - a);
    s[l - a] = 0;
    return s;
}

/* Checks every stored tail of db's run against spec_tail; counts rows
 * with and without </think> and hybrid rows that used the answer section. */
static void check_tails(const char *db, const char *mode, int tau, int *with, int *without,
                        int *answer_used)
{
    sqlite3 *h;
    sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL);
    sqlite3_stmt *st;
    /* the stop ids of the run's configuration */
    int32_t stop[16];
    int nstop = 0;
    if (sqlite3_prepare_v2(h, "SELECT config FROM runs WHERE name = 'r'", -1, &st, NULL) ==
            SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        cJSON *c = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
        const cJSON *x;
        cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(c, "stop_ids"))
            if (nstop < 16)
                stop[nstop++] = (int32_t)x->valuedouble;
        cJSON_Delete(c);
    }
    sqlite3_finalize(st);
    CK(nstop >= 1, "no stop ids in the configuration");
    CK(sqlite3_prepare_v2(h, "SELECT gen_ids, gen_tokens, tail, tail_tokens FROM samples", -1,
                          &st, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(h));
    int rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int n = sqlite3_column_int(st, 1);
        const int32_t *ids = sqlite3_column_blob(st, 0);
        CK(sqlite3_column_bytes(st, 0) == n * 4, "gen_ids holds %d bytes for %d tokens",
           sqlite3_column_bytes(st, 0), n);
        int nt, ht;
        char *want = spec_tail(ids, n, stop, nstop, tau, mode, &nt, &ht);
        const char *got = (const char *)sqlite3_column_text(st, 2);
        CK(want && got && !strcmp(want, got), "tail=%s: stored tail '%s', spec says '%s'", mode,
           got ? got : "(null)", want ? want : "(null)");
        CK(sqlite3_column_int(st, 3) == nt, "tail=%s: tail_tokens %d, spec says %d", mode,
           sqlite3_column_int(st, 3), nt);
        *with += ht;
        *without += !ht;
        if (ht && !strcmp(mode, "hybrid")) {
            int nr, h2;
            char *r = spec_tail(ids, n, stop, nstop, tau, "reasoning", &nr, &h2);
            *answer_used += r && want && strcmp(r, want) != 0;
            free(r);
        }
        free(want);
        rows++;
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    CK(rows > 0, "no rows");
}

/* ------------------------------------------------------------ cases */

static const char *SPEC = "N=4,C=2,T=1,beta=24,tau=6";

static void case_normal(void)
{
    ck_begin("normal: every sample stored, seeds/prompts/key as sent, reproducible");
    srv s;
    if (srv_start(&s, 0, NULL)) {
        CK(0, "cannot start the server");
        ck_end();
        return;
    }
    setenv("ZEVAL_API_KEY", "test-key-1", 1);
    int rc = run_remote(dbp("normal"), s.url, SPEC, RETRY_OPTS);
    CK(rc == 0, "run: status %d: %s", rc, errbuf);
    CK(q1(dbp("normal"), "SELECT count(*) FROM samples") == 3 * 4 * 2, "rows %lld",
       q1(dbp("normal"), "SELECT count(*) FROM samples"));
    CK(q1(dbp("normal"), "SELECT count(*) FROM samples WHERE finish_reason NOT IN ('stop',"
          "'length')") == 0, "unexpected finish reasons");
    CK(q1(dbp("normal"), "SELECT count(*) FROM samples WHERE finish_reason = 'length'") > 0 &&
       q1(dbp("normal"), "SELECT count(*) FROM samples WHERE finish_reason = 'stop'") > 0,
       "expected both stop and length");
    CK(q1(dbp("normal"), "SELECT count(*) FROM runs WHERE backend = 'remote' AND model_path = "
          "'scripted'") == 1, "run row: backend/model");
    /* the server saw what the store holds */
    size_t len;
    char *log = ck_slurp(s.log, &len);
    int lines = 0, bad = 0;
    sqlite3 *h;
    sqlite3_open_v2(dbp("normal"), &h, SQLITE_OPEN_READONLY, NULL);
    for (char *p = log, *e; p && *p; p = e ? e + 1 : NULL) {
        e = strchr(p, '\n');
        if (e)
            *e = 0;
        /* the seed as written (a double would lose its low bits) */
        const char *sk = strstr(p, "\"seed\": ");
        long long seed = sk ? strtoll(sk + 8, NULL, 10) : 0;
        cJSON *j = cJSON_Parse(p);
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "body");
        const cJSON *auth = cJSON_GetObjectItemCaseSensitive(j, "auth");
        const cJSON *pr = cJSON_GetObjectItemCaseSensitive(b, "prompt");
        lines++;
        if (!cJSON_IsString(auth) || strcmp(auth->valuestring, "Bearer test-key-1") ||
            !cJSON_IsArray(pr) ||
            !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "return_token_ids")) ||
            !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(b, "stop_token_ids")) ||
            strcmp(cJSON_GetObjectItemCaseSensitive(b, "model")->valuestring, "scripted") ||
            cJSON_GetObjectItemCaseSensitive(b, "max_tokens")->valueint != 24) {
            bad++;
        } else {
            /* seed: the stored 64-bit seed as a signed integer; prompt as
             * many ids as prompt_tokens */
            char sql[512];
            snprintf(sql, sizeof sql, "SELECT count(*) FROM samples WHERE seed = %lld AND "
                     "prompt_tokens = %d", seed, cJSON_GetArraySize(pr));
            sqlite3_stmt *st;
            int ok = 0;
            if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
                sqlite3_step(st) == SQLITE_ROW)
                ok = sqlite3_column_int(st, 0) == 1;
            sqlite3_finalize(st);
            bad += !ok;
        }
        cJSON_Delete(j);
    }
    sqlite3_close(h);
    free(log);
    CK(lines == 24 && bad == 0, "server log: %d requests, %d not matching the store", lines,
       bad);
    /* the same configuration again, one-body responses, over two endpoints */
    srv s2;
    if (srv_start(&s2, 0, NULL) == 0) {
        char eps[160];
        snprintf(eps, sizeof eps, "%s,%s/", s.url, s2.url);
        rc = run_remote(dbp("normal2"), eps, SPEC, RETRY_OPTS ",stream=off,concurrency=2");
        CK(rc == 0, "run over two endpoints: status %d: %s", rc, errbuf);
        int t1, r1, t2, r2;
        log_counts(&s, &t1, &r1);
        log_counts(&s2, &t2, &r2);
        CK(t1 > 24 && t2 > 0, "requests not spread: %d and %d", t1 - 24, t2);
        long long na = 0;
        CK(diff_rows(dbp("normal"), dbp("normal2"), &na) == 0 && na == 24,
           "a second run differs from the first");
        srv_stop(&s2);
    }
    /* prompts as text: the server gets a string */
    rc = run_remote(dbp("normal3"), s.url, SPEC, RETRY_OPTS ",prompt=text");
    CK(rc == 0, "prompt=text: status %d: %s", rc, errbuf);
    CK(q1(dbp("normal3"), "SELECT count(*) FROM samples") == 24, "prompt=text: rows");
    log = ck_slurp(s.log, &len);
    CK(log && strstr(log, "\"prompt\": \"<bos><start_of_turn>user"),
       "prompt=text: no text prompt in the server log");
    free(log);
    srv_stop(&s);
    unsetenv("ZEVAL_API_KEY");
    ck_end();
}

static void case_tails(void)
{
    static const char *modes[] = {"reasoning", "hybrid", "full"};
    srv s;
    if (srv_start(&s, 0, NULL)) {
        ck_begin("tails");
        CK(0, "cannot start the server");
        ck_end();
        return;
    }
    for (int m = 0; m < 3; m++) {
        ck_begin("tail=%s: stored tails equal the spec's definition (with and without </think>)",
                 modes[m]);
        char spec[128], name[32];
        snprintf(spec, sizeof spec, "N=6,C=2,T=1,beta=32,tau=5,tail=%s", modes[m]);
        snprintf(name, sizeof name, "tail_%s", modes[m]);
        int rc = run_remote(dbp(name), s.url, spec, RETRY_OPTS);
        CK(rc == 0, "status %d: %s", rc, errbuf);
        int with = 0, without = 0, ans = 0;
        check_tails(dbp(name), modes[m], 5, &with, &without, &ans);
        CK(with > 0 && without > 0, "rows with </think>: %d, without: %d", with, without);
        if (m == 1)
            CK(ans > 0, "no hybrid row forwarded its answer section");
        ck_end();
    }
    srv_stop(&s);
    ck_begin("text-only server: ids tokenized locally, tails as the spec says");
    const char *to[] = {"--text-only", NULL};
    if (srv_start(&s, 0, to)) {
        CK(0, "cannot start the server");
    } else {
        int rc = run_remote(dbp("textonly"), s.url, "N=6,C=2,T=1,beta=32,tau=5,tail=hybrid",
                            RETRY_OPTS);
        CK(rc == 0, "status %d: %s", rc, errbuf);
        int with = 0, without = 0, ans = 0;
        check_tails(dbp("textonly"), "hybrid", 5, &with, &without, &ans);
        CK(with > 0 && without > 0, "rows with </think>: %d, without: %d", with, without);
        /* the same completions as with ids (the words re-tokenize alike);
         * the stop id comes from vLLM's stop_reason */
        long long na = 0;
        CK(diff_rows(dbp("textonly"), dbp("tail_hybrid"), &na) == 0 && na > 0,
           "text-only rows differ from the id rows");
        srv_stop(&s);
    }
    ck_end();
}

/* A fault that is retried: rows equal the clean run. */
static void case_retried(const char *what, const char *const *extra, const char *ropts)
{
    ck_begin("%s: retried, rows equal the clean run", what);
    srv s;
    if (srv_start(&s, 0, extra)) {
        CK(0, "cannot start the server");
        ck_end();
        return;
    }
    static int k;
    char name[64];
    snprintf(name, sizeof name, "retry_%s_%d", extra[1], k++);
    int rc = run_remote(dbp(name), s.url, SPEC, ropts);
    CK(rc == 0, "status %d: %s", rc, errbuf);
    int total, retried;
    log_counts(&s, &total, &retried);
    CK(retried > 0, "no request was retried (%d requests)", total);
    long long na = 0, d = diff_rows(dbp(name), dbp("normal"), &na);
    CK(d == 0 && na == 24, "%lld rows differ from the clean run (%lld rows)", d, na);
    srv_stop(&s);
    ck_end();
}

/* A fault that is not retried (or never ends): error rows, then a resume
 * against a healthy server completes the run. */
static void case_failed(const char *what, const char *const *extra, const char *ropts,
                        const char *msg, int expect_retries)
{
    ck_begin("%s: error rows with the message, resume completes the run", what);
    srv s;
    if (srv_start(&s, 0, extra)) {
        CK(0, "cannot start the server");
        ck_end();
        return;
    }
    char name[64];
    snprintf(name, sizeof name, "fail_%s", extra[1]);
    const char *db = dbp(name);
    int rc = run_remote(db, s.url, SPEC, ropts);
    CK(rc == 1, "status %d (expected 1): %s", rc, errbuf);
    CK(strstr(errbuf, "finish_reason error"), "stderr: %s", errbuf);
    long long ne = q1(db, "SELECT count(*) FROM samples WHERE finish_reason = 'error'");
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM samples WHERE finish_reason = 'error' AND "
             "text LIKE '%%%s%%' AND gen_tokens = 0 AND tail = ''", msg);
    CK(ne > 0 && q1(db, sql) == ne, "%lld error rows, %lld with '%s'", ne, q1(db, sql), msg);
    int total, retried;
    log_counts(&s, &total, &retried);
    CK(expect_retries ? retried > 0 : retried == 0, "%d retried attempts", retried);
    srv_stop(&s);
    srv ok;
    if (srv_start(&ok, 0, NULL)) {
        CK(0, "cannot start the server");
    } else {
        rc = resume_remote(db, ok.url);
        CK(rc == 0, "resume: status %d: %s", rc, errbuf);
        long long na = 0, d = diff_rows(db, dbp("normal"), &na);
        CK(d == 0 && na == 24, "after resume %lld rows differ from the clean run (%lld rows)", d,
           na);
        srv_stop(&ok);
    }
    ck_end();
}

/* Two settings alike in round 0 (C differs) through the server. */
static const char *SPEC2 = "N=4,C=1,T=1,beta=24,tau=6";

static int run_sweep(const char *db, const char *url, const char *ropts)
{
    const char *a[] = {"run", "--endpoint", url, "--served-model", "scripted", "--tokenizer",
                       tokdir, "--dataset", data, "--rsa", SPEC, "--rsa", SPEC2, "--seed", "7",
                       "--db", db, "--name", "r", "--remote", ropts, "--progress", "off", NULL};
    return zeval(a);
}

static void case_sweep(void)
{
    ck_begin("a sweep through the server: round 0, alike in both settings, is asked once (36 "
             "requests for 48 samples) and the first setting's rows equal it run alone; a "
             "failed shared request is an error row in both runs, and the resume completes both");
    srv s;
    if (srv_start(&s, 0, NULL)) {
        CK(0, "cannot start the server");
        ck_end();
        return;
    }
    const char *db = dbp("sweep");
    int rc = run_sweep(db, s.url, RETRY_OPTS);
    CK(rc == 0 && strstr(errbuf, "12 samples generated once for several settings"),
       "status %d: %s", rc, errbuf);
    int total, retried;
    log_counts(&s, &total, &retried);
    CK(total == 36 && q1(db, "SELECT count(*) FROM samples") == 48, "%d requests, %lld rows",
       total, q1(db, "SELECT count(*) FROM samples"));
    long long na = 0, d = diff_run(db, "r/N=4,C=2,T=1,beta=24", dbp("normal"), &na);
    CK(d == 0 && na == 24, "%lld rows differ from the setting run alone (%lld rows)", d, na);
    srv_stop(&s);
    const char *f4[] = {"--fault", "400", "--fault-every", "3", NULL};
    if (srv_start(&s, 0, f4)) {
        CK(0, "cannot start the server");
        ck_end();
        return;
    }
    const char *fdb = dbp("sweep-fail");
    rc = run_sweep(fdb, s.url, RETRY_OPTS);
    CK(rc == 1 && strstr(errbuf, "finish_reason error"), "status %d: %s", rc, errbuf);
    CK(q1(fdb, "SELECT count(*) FROM samples a JOIN samples b ON a.problem_id = b.problem_id "
               "AND a.round = 0 AND b.round = 0 AND a.candidate = b.candidate AND a.run_id < "
               "b.run_id WHERE a.finish_reason = 'error' AND b.finish_reason = 'error'") > 0,
       "no failed round-0 request stored in both runs");
    srv_stop(&s);
    if (srv_start(&s, 0, NULL)) {
        CK(0, "cannot start the server");
        ck_end();
        return;
    }
    rc = resume_remote(fdb, s.url);
    CK(rc == 0, "resume: status %d: %s", rc, errbuf);
    d = diff_rows(fdb, db, &na);
    CK(d == 0 && na == 48, "after resume %lld rows differ from the clean sweep (%lld rows)", d,
       na);
    srv_stop(&s);
    ck_end();
}

static void case_dies(void)
{
    ck_begin("server dies mid-run: error rows, no hang; after it returns --resume completes");
    const char *die[] = {"--die-after", "7", NULL};
    srv s;
    if (srv_start(&s, 0, die)) {
        CK(0, "cannot start the server");
        ck_end();
        return;
    }
    const char *db = dbp("dies");
    int rc = run_remote(db, s.url, SPEC, "retries=2,backoff=0.05,stall=5,connect=1,timeout=30");
    CK(rc == 1, "status %d (expected 1): %s", rc, errbuf);
    long long ne = q1(db, "SELECT count(*) FROM samples WHERE finish_reason = 'error'");
    long long nok = q1(db, "SELECT count(*) FROM samples WHERE finish_reason <> 'error'");
    CK(ne > 0 && nok >= 7 && nok < 24, "%lld error rows, %lld others", ne, nok);
    CK(q1(db, "SELECT count(*) FROM runs WHERE finished_at IS NULL") == 1,
       "the run is not marked incomplete");
    int port = s.port;
    srv_stop(&s); /* reaps it */
    srv back;
    if (srv_start(&back, port, NULL)) {
        CK(0, "cannot restart the server on port %d", port);
    } else {
        const char *a[] = {"run", "--resume", "r", "--db", db, "--progress", "off", NULL};
        rc = zeval(a);
        CK(rc == 0, "resume: status %d: %s", rc, errbuf);
        long long na = 0, d = diff_rows(db, dbp("normal"), &na);
        CK(d == 0 && na == 24, "after resume %lld rows differ from the clean run (%lld rows)", d,
           na);
        CK(q1(db, "SELECT count(*) FROM runs WHERE finished_at IS NOT NULL") == 1,
           "the run is not marked complete");
        srv_stop(&back);
    }
    ck_end();
}

static void case_usage(void)
{
    ck_begin("usage: --endpoint needs --served-model and --tokenizer, not --model");
    const char *a[] = {"run", "--endpoint", "http://127.0.0.1:9", "--dataset", data, "--rsa",
                       SPEC, "--db", dbp("usage"), NULL};
    CK(zeval(a) == 2, "missing --served-model accepted");
    const char *b[] = {"run", "--endpoint", "ftp://127.0.0.1:9", "--served-model", "m",
                       "--tokenizer", tokdir, "--dataset", data, "--rsa", SPEC, "--db",
                       dbp("usage"), "--name", "u1", "--progress", "off", NULL};
    CK(zeval(b) == 1 && strstr(errbuf, "http://"), "ftp:// accepted: %s", errbuf);
    const char *c[] = {"run", "--endpoint", "http://127.0.0.1:9", "--served-model", "m",
                       "--tokenizer", tokdir, "--dataset", data, "--rsa", SPEC, "--db",
                       dbp("usage"), "--name", "u2", "--remote", "retries=x", NULL};
    CK(zeval(c) == 2 && strstr(errbuf, "retries"), "bad --remote accepted: %s", errbuf);
    ck_end();
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (setup()) {
        ck_begin("setup");
        CK(0, "setup failed: %s", errbuf);
        ck_end();
        return ck_status();
    }
    unsetenv("OPENAI_API_KEY");
    case_normal();
    case_tails();
    const char *f5[] = {"--fault", "5xx", NULL};
    case_retried("HTTP 503 then success", f5, RETRY_OPTS);
    const char *fd[] = {"--fault", "drop", "--fault-every", "2", NULL};
    case_retried("dropped connections (event stream)", fd, RETRY_OPTS);
    const char *fd2[] = {"--fault", "drop", "--fault-every", "3", NULL};
    case_retried("dropped connections (one body)", fd2, RETRY_OPTS ",stream=off");
    const char *fs[] = {"--fault", "stall", "--fault-every", "4", "--stall-seconds", "3", NULL};
    case_retried("stalls", fs, "retries=3,backoff=0.05,stall=0.4,connect=2,timeout=60");
    const char *f4[] = {"--fault", "400", "--fault-every", "3", NULL};
    case_failed("HTTP 400 (not retried)", f4, RETRY_OPTS, "HTTP 400", 0);
    const char *fm[] = {"--fault", "malformed", "--fault-every", "3", NULL};
    case_failed("malformed bodies (not retried)", fm, RETRY_OPTS ",stream=off", "malformed", 0);
    const char *fsx[] = {"--fault", "stall", "--fault-every", "5", "--fault-times", "99",
                         "--stall-seconds", "3", NULL};
    case_failed("stalls that never end", fsx,
                "retries=1,backoff=0.05,stall=0.3,connect=2,timeout=60", "stalled", 1);
    case_sweep();
    case_dies();
    case_usage();
    tok_free(tk);
    ck_rmtree(dir);
    return ck_status();
}
