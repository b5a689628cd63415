/*
 * fuzz_store.c — libFuzzer target for everything that reads stored runs:
 * `zeval runs`, `show` (text, JSON, one problem's samples), `export`, `compare`,
 * `report` and `delete`, called as the command line calls them.
 *
 * The input builds a database behind the store's back, with raw SQL, so
 * values zeval never writes get in: a run configuration, NUL, a dataset
 * name, NUL, then sample rows, one a line, of tab-separated fields
 *
 *   problem  round  candidate  correct  gen_tokens  id_bytes  finish
 *   extracted  text  started_at  finished_at
 *
 * bound as text (the columns' INTEGER and REAL affinities turn numbers into
 * numbers and leave anything else text); an empty correct or extracted is
 * NULL, gen_ids is id_bytes zero bytes.  Run "a" gets every row and run
 * "a/b" every other one.  `show`, `compare` and `report` also run with
 * --by over a dataset file of problems p0..p9 (a subject for most, one
 * nested value, one holding markup).  Every command must return 0, 1 or 2,
 * and never crash, read out of bounds or leak.
 */
#define _GNU_SOURCE
#include "../../harness/cli.h"
#include "../../harness/store.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64], db[96], html[96], records[96];

static void remove_db(void);

static void remove_dir(void)
{
    remove_db();
    unlink(records);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(dir, sizeof dir, "%s/zeval-fuzz-XXXXXX", access("/dev/shm", W_OK) ? "/tmp"
                                                                                 : "/dev/shm");
    if (!mkdtemp(dir))
        abort();
    snprintf(db, sizeof db, "%s/f.db", dir);
    snprintf(html, sizeof html, "%s/f.html", dir);
    snprintf(records, sizeof records, "%s/d.jsonl", dir);
    FILE *f = fopen(records, "w");
    if (!f)
        abort();
    static const char *const subj[] = {"Algebra", "Geometry", "<b>x</b>", NULL};
    for (int i = 0; i < 10; i++)
        fprintf(f, "{\"id\":\"p%d\",\"benchmark\":\"b\",\"task\":\"math\",\"index\":%d,"
                   "\"problem\":\"q\",\"answer\":\"1\"%s%s%s,\"metadata\":{\"k\":%d}}\n", i, i,
                subj[i % 4] ? ",\"round\":\"" : "", subj[i % 4] ? subj[i % 4] : "",
                subj[i % 4] ? "\"" : "", i % 3);
    if (fclose(f))
        abort();
    if (!freopen("/dev/null", "w", stdout)) /* the commands' output */
        abort();
    atexit(remove_dir);
    return 0;
}

static void remove_db(void)
{
    static const char *const sfx[] = {"", "-wal", "-shm", ".part"};
    char p[128];
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        snprintf(p, sizeof p, "%s%s", db, sfx[i]);
        unlink(p);
    }
    unlink(html);
}

/* The next field of *s up to sep or the end; NUL-terminated in place. */
static char *field(char **s, char sep)
{
    char *f = *s;
    if (!f)
        return NULL;
    char *e = strchr(f, sep);
    if (e) {
        *e = 0;
        *s = e + 1;
    } else {
        *s = NULL;
    }
    return f;
}

static void insert_rows(sqlite3 *h, long long run, char *rows, int every)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h, "INSERT INTO samples(run_id, problem_id, round, candidate, parents,"
                           " seed, prompt_tokens, gen_tokens, gen_ids, finish_reason, text, tail,"
                           " tail_tokens, extracted, correct, started_at, finished_at) VALUES"
                           " (?1, ?2, ?3, ?4, '[]', 1, 3, ?5, zeroblob(?6), ?7, ?8, '', 0, ?9,"
                           " ?10, ?11, ?12)", -1, &st, NULL) != SQLITE_OK)
        return;
    int k = 0;
    for (char *line; (line = field(&rows, '\n')) != NULL; k++) {
        if (k % every)
            continue;
        char *f[11] = {0}, *p = line;
        for (int i = 0; i < 11; i++)
            f[i] = field(&p, '\t');
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        sqlite3_bind_int64(st, 1, run);
        sqlite3_bind_text(st, 2, f[0] ? f[0] : "p", -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, f[1] ? f[1] : "0", -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, f[2] ? f[2] : "0", -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, f[4] ? f[4] : "0", -1, SQLITE_TRANSIENT);
        long nb = f[5] ? atol(f[5]) : 0;
        sqlite3_bind_int(st, 6, nb < 0 ? 0 : nb > 65536 ? 65536 : (int)nb);
        sqlite3_bind_text(st, 7, f[6] ? f[6] : "stop", -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 8, f[8] ? f[8] : "", -1, SQLITE_TRANSIENT);
        if (f[7] && *f[7])
            sqlite3_bind_text(st, 9, f[7], -1, SQLITE_TRANSIENT);
        if (f[3] && *f[3])
            sqlite3_bind_text(st, 10, f[3], -1, SQLITE_TRANSIENT);
        if (f[9])
            sqlite3_bind_text(st, 11, f[9], -1, SQLITE_TRANSIENT);
        if (f[10])
            sqlite3_bind_text(st, 12, f[10], -1, SQLITE_TRANSIENT);
        sqlite3_step(st); /* a row the schema refuses is just not there */
    }
    sqlite3_finalize(st);
}

/* Runs a zeval command with args (NULL-terminated); its status must be
 * one of the three the commands return. */
static void command(int (*fn)(int, char **), const char *const *args)
{
    char *argv[16];
    int n = 0;
    while (args[n] && n < 15) {
        argv[n] = (char *)args[n];
        n++;
    }
    argv[n] = NULL;
    int rc = fn(n, argv);
    if (rc < 0 || rc > 2) {
        fprintf(stderr, "zeval %s...: exit status %d\n", n ? argv[0] : "", rc);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size + 2);
    if (!in)
        return 0;
    memcpy(in, data, size);
    in[size] = in[size + 1] = 0;
    /* config NUL dataset NUL rows */
    char *config = in, *dataset = memchr(in, 0, size + 1) + 1;
    char *rows = dataset <= in + size ? dataset + strlen(dataset) + 1 : in + size + 1;
    if (rows > in + size)
        rows = in + size + 1;
    remove_db();
    store *s;
    char err[512];
    if (store_open(db, &s, err, sizeof err)) {
        free(in);
        return 0;
    }
    store_run r = {0};
    r.config = config;
    r.dataset = dataset <= in + size ? dataset : "aime_2025";
    r.backend = "cpu";
    r.started_at = 1796153762;
    long long id[2] = {-1, -1};
    r.name = "a";
    store_run_create(s, &r, &id[0], err, sizeof err);
    r.name = "a/b";
    store_run_create(s, &r, &id[1], err, sizeof err);
    store_run_finish(s, id[1], 1796160000, err, sizeof err);
    store_close(s);
    sqlite3 *h;
    if (sqlite3_open(db, &h) == SQLITE_OK) {
        sqlite3_exec(h, "BEGIN", NULL, NULL, NULL);
        size_t nr = strlen(rows);
        char *copy = malloc(nr + 1);
        if (copy) {
            memcpy(copy, rows, nr + 1);
            insert_rows(h, id[0], copy, 1);
            memcpy(copy, rows, nr + 1);
            insert_rows(h, id[1], copy, 2);
            free(copy);
        }
        sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
    }
    sqlite3_close(h);

    const char *runs[] = {"--db", db, NULL};
    const char *runs_json[] = {"a/b", "--db", db, "--format", "json", "a", NULL};
    const char *show[] = {"a", "--db", db, NULL};
    const char *show_json[] = {"a", "--db", db, "--format", "json", NULL};
    const char *show_p[] = {"a", "--db", db, "--problem", "p1", "--text-bytes", "5", NULL};
    const char *export[] = {"a", "--db", db, "--ids", "--round", "0", NULL};
    const char *compare[] = {"--db", db, "a", "a/b", "--format", "json", NULL};
    const char *report[] = {"--db", db, "--out", html, NULL};
    const char *del[] = {"a/b", "--db", db, "--force", NULL};
    const char *show_by[] = {"a", "--db", db, "--by", "round", "--dataset", records, NULL};
    const char *compare_by[] = {"--db", db, "a", "a/b", "--by", "metadata.k", "--dataset", records,
                                "--format", "html", NULL};
    const char *report_by[] = {"--db", db, "--out", html, "--by", "round", "--dataset", records,
                               NULL};
    command(cli_runs, runs);
    command(cli_runs, runs_json);
    command(cli_show, show);
    command(cli_show, show_json);
    command(cli_show, show_p);
    command(cli_export, export);
    command(cli_compare, compare);
    command(cli_report, report);
    command(cli_show, show_by);
    command(cli_compare, compare_by);
    command(cli_report, report_by);
    command(cli_delete, del);
    command(cli_runs, runs);
    free(in);
    return 0;
}
