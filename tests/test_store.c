/*
 * test_store.c — the SQLite store (harness/store.h): schema, WAL, the
 * sample contract (gen_ids as int32 little-endian), uniqueness, errors
 * that name the database file.
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "../harness/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[512], path[600];

static void test_roundtrip(void)
{
    char err[1024];
    store *s = NULL;
    ck_begin("open creates the schema in WAL mode; runs and samples round-trip");
    CK(store_open(path, &s, err, sizeof err) == 0, "%s", err);
    if (!s) {
        ck_end();
        return;
    }
    store_run r = {0};
    r.name = "exp/aime_2025";
    r.config = "{\"rsa\":\"N=2\"}";
    r.dataset = "aime_2025";
    r.started_at = 1000.5;
    long long id = 0;
    CK(store_run_create(s, &r, &id, err, sizeof err) == 0 && id > 0, "%s", err);
    long long id2;
    CK(store_run_create(s, &r, &id2, err, sizeof err) == -1 && strstr(err, "exists already") &&
       strstr(err, path), "duplicate name: %s", err);
    int32_t ids[4] = {0, -1, 262143, 106};
    store_sample x = {"aime2025-I-01", 1, 3, "[2,0]", 0xfedcba9876543210ull, 77, 4, ids,
                      "length", "text é", "tail", 2, NULL, "42", 1, "ok", 1.25, 2.5};
    CK(store_sample_put(s, id, &x, err, sizeof err) == 0, "%s", err);
    CK(store_sample_put(s, id, &x, err, sizeof err) == -1 && strstr(err, "stored already"),
       "duplicate sample: %s", err);
    store_sample *got = NULL;
    size_t n = 0;
    CK(store_samples_get(s, id, 1, &got, &n, err, sizeof err) == 0 && n == 1, "%s", err);
    if (n == 1) {
        store_sample *g = &got[0];
        CK(!strcmp(g->problem_id, x.problem_id) && g->round == 1 && g->candidate == 3 &&
           !strcmp(g->parents, "[2,0]") && g->seed == x.seed && g->prompt_tokens == 77 &&
           g->gen_tokens == 4 && !memcmp(g->gen_ids, ids, sizeof ids) &&
           !strcmp(g->finish_reason, "length") && !strcmp(g->text, "text é") &&
           !strcmp(g->tail, "tail") && g->tail_tokens == 2 && g->prompt == NULL &&
           !strcmp(g->extracted, "42") && g->correct == 1 && !strcmp(g->reason, "ok") &&
           g->started_at == 1.25 && g->finished_at == 2.5, "fields differ");
    }
    store_samples_free(got, n);
    CK(store_sample_grade(s, id, "aime2025-I-01", 1, 3, NULL, -1, "not_graded", err,
                          sizeof err) == 0, "%s", err);
    store_samples_get(s, id, 0, &got, &n, err, sizeof err);
    CK(n == 1 && got[0].correct == -1 && got[0].extracted == NULL && got[0].text == NULL,
       "grade update / text-less read");
    store_samples_free(got, n);
    char **names;
    size_t nn;
    CK(store_run_names(s, "exp", &names, &nn, err, sizeof err) == 0 && nn == 1 &&
       !strcmp(names[0], "exp/aime_2025"), "names");
    store_names_free(names, nn);
    CK(store_run_names(s, "ex", &names, &nn, err, sizeof err) == 0 && nn == 0,
       "prefix must end at a '/'");
    store_names_free(names, nn);
    store_run rr;
    CK(store_run_get(s, "exp/aime_2025", &rr, err, sizeof err) == 1 && rr.id == id &&
       rr.finished_at < 0 && rr.config_hash && strlen(rr.config_hash) == 64, "run get");
    store_run_free(&rr);
    CK(store_run_finish(s, id, 2000, err, sizeof err) == 0, "%s", err);
    store_run_get(s, "exp/aime_2025", &rr, err, sizeof err);
    CK(rr.finished_at == 2000, "finished_at %g", rr.finished_at);
    store_run_free(&rr);
    store_close(s);

    /* the raw contract, read with plain SQL */
    sqlite3 *db;
    sqlite3_open(path, &db);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
    sqlite3_step(st);
    CK(!strcmp((const char *)sqlite3_column_text(st, 0), "wal"), "journal mode %s",
       sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_prepare_v2(db, "SELECT hex(gen_ids), typeof(correct), seed FROM samples", -1, &st,
                       NULL);
    CK(sqlite3_step(st) == SQLITE_ROW, "no row");
    CK(!strcmp((const char *)sqlite3_column_text(st, 0), "00000000FFFFFFFFFFFF03006A000000"),
       "gen_ids blob %s", sqlite3_column_text(st, 0));
    CK(!strcmp((const char *)sqlite3_column_text(st, 1), "null"), "correct NULL");
    sqlite3_finalize(st);
    const char *cols[] = {"run_id", "problem_id", "round", "candidate", "parents", "seed",
                          "prompt_tokens", "gen_tokens", "gen_ids", "finish_reason", "text",
                          "tail_tokens", "extracted", "correct", "reason", "started_at",
                          "finished_at"};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        char q[128];
        snprintf(q, sizeof q, "SELECT %s FROM samples", cols[i]);
        CK(sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK, "column %s missing", cols[i]);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    ck_end();
}

static void test_errors(void)
{
    char err[1024], p2[700];
    store *s = NULL;
    ck_begin("errors name the file: not a database, another schema version, unwritable");
    snprintf(p2, sizeof p2, "%s/junk.db", dir);
    ck_write(p2, "this is not sqlite at all, just text padding padding padding padding", 68);
    CK(store_open(p2, &s, err, sizeof err) == -1 && strstr(err, p2), "junk: %s", err);
    snprintf(p2, sizeof p2, "%s/v9.db", dir);
    sqlite3 *db;
    sqlite3_open(p2, &db);
    sqlite3_exec(db, "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
                     "INSERT INTO meta VALUES('schema_version','9')", NULL, NULL, NULL);
    sqlite3_close(db);
    CK(store_open(p2, &s, err, sizeof err) == -1 && strstr(err, "schema version 9") &&
       strstr(err, p2), "v9: %s", err);
    snprintf(p2, sizeof p2, "%s/no/such/dir/x.db", dir);
    CK(store_open(p2, &s, err, sizeof err) == -1 && strstr(err, p2), "no dir: %s", err);
    ck_end();
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s", ck_tmpdir());
    snprintf(path, sizeof path, "%s/runs.db", dir);
    test_roundtrip();
    test_errors();
    ck_rmtree(dir);
    return ck_status();
}
