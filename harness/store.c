/* store.c — see store.h. */
#include "store.h"
#include "rsa.h"
#include "sha256.h"
#include "../engine/util.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define STORE_SCHEMA_VERSION 1

struct store {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *ins; /* the sample insert, prepared once */
};

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS runs("
    " id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, config TEXT NOT NULL,"
    " config_hash TEXT NOT NULL, zeval_version TEXT, model_path TEXT, weights_sha256 TEXT,"
    " tokenizer_sha256 TEXT, chat_template TEXT, chat_template_sha256 TEXT, dataset TEXT,"
    " dataset_file TEXT, dataset_sha256 TEXT, dataset_revision TEXT, backend TEXT, device TEXT,"
    " started_at REAL, finished_at REAL);"
    "CREATE TABLE IF NOT EXISTS samples("
    " run_id INTEGER NOT NULL REFERENCES runs(id), problem_id TEXT NOT NULL,"
    " round INTEGER NOT NULL, candidate INTEGER NOT NULL, parents TEXT NOT NULL,"
    " seed INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL, gen_tokens INTEGER NOT NULL,"
    " gen_ids BLOB NOT NULL, finish_reason TEXT NOT NULL, text TEXT NOT NULL, tail TEXT,"
    " tail_tokens INTEGER NOT NULL, prompt TEXT, extracted TEXT, correct INTEGER, reason TEXT,"
    " started_at REAL, finished_at REAL);"
    "CREATE UNIQUE INDEX IF NOT EXISTS samples_key"
    " ON samples(run_id, problem_id, round, candidate);";

static int db_err(store *s, char *err, size_t errlen, const char *what)
{
    return ut_err(err, errlen, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

const char *store_path(const store *s)
{
    return s->path;
}

void store_close(store *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->ins);
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

int store_open(const char *path, store **out, char *err, size_t errlen)
{
    *out = NULL;
    store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = ut_strdup(path))) {
        free(s);
        return ut_err(err, errlen, "out of memory");
    }
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        ut_err(err, errlen, "%s: cannot open the database: %s", path,
               s->db ? sqlite3_errmsg(s->db) : "out of memory");
        store_close(s);
        return -1;
    }
    sqlite3_busy_timeout(s->db, 10000);
    char *msg = NULL;
    if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                            "PRAGMA foreign_keys=ON;", NULL, NULL, &msg) != SQLITE_OK) {
        ut_err(err, errlen, "%s: not a usable SQLite database (%s)", path, msg ? msg : "?");
        goto fail;
    }
    /* Refuse a database from another schema version before touching it. */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key='schema_version'", -1, &st,
                           NULL) == SQLITE_OK) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            int v = atoi((const char *)sqlite3_column_text(st, 0));
            if (v != STORE_SCHEMA_VERSION) {
                sqlite3_finalize(st);
                ut_err(err, errlen, "%s: schema version %d, this zeval reads version %d", path,
                       v, STORE_SCHEMA_VERSION);
                goto fail;
            }
        }
        sqlite3_finalize(st);
    }
    if (sqlite3_exec(s->db, schema_sql, NULL, NULL, &msg) != SQLITE_OK) {
        ut_err(err, errlen, "%s: creating the schema failed: %s", path, msg ? msg : "?");
        goto fail;
    }
    if (sqlite3_exec(s->db, "INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version','1')",
                     NULL, NULL, &msg) != SQLITE_OK) {
        ut_err(err, errlen, "%s: writing the schema version failed: %s", path, msg ? msg : "?");
        goto fail;
    }
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO samples(run_id, problem_id, round, candidate, parents,"
                           " seed, prompt_tokens, gen_tokens, gen_ids, finish_reason, text, tail,"
                           " tail_tokens, prompt, extracted, correct, reason, started_at,"
                           " finished_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &s->ins, NULL) != SQLITE_OK) {
        db_err(s, err, errlen, "preparing the sample insert");
        goto fail;
    }
    *out = s;
    return 0;
fail:
    sqlite3_free(msg);
    store_close(s);
    return -1;
}

static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
    return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

int store_run_create(store *s, const store_run *r, long long *id, char *err, size_t errlen)
{
    store_run tmp;
    if (store_run_get(s, r->name, &tmp, err, errlen) != 0) {
        if (tmp.name) {
            store_run_free(&tmp);
            return ut_err(err, errlen, "%s: a run named '%s' exists already (use --resume %s, "
                          "or another --name)", s->path, r->name, r->name);
        }
        return -1;
    }
    char hash[65];
    if (!r->config_hash)
        sha256_hex_of(r->config, strlen(r->config), hash);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO runs(name, config, config_hash, zeval_version, model_path,"
                           " weights_sha256, tokenizer_sha256, chat_template, chat_template_sha256,"
                           " dataset, dataset_file, dataset_sha256, dataset_revision, backend,"
                           " device, started_at, finished_at)"
                           " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,NULL)",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(s, err, errlen, "preparing the run insert");
    const char *v[] = {r->name, r->config, r->config_hash ? r->config_hash : hash,
                       r->zeval_version, r->model_path, r->weights_sha256, r->tokenizer_sha256,
                       r->chat_template, r->chat_template_sha256, r->dataset, r->dataset_file,
                       r->dataset_sha256, r->dataset_revision, r->backend, r->device};
    for (int i = 0; i < (int)(sizeof v / sizeof v[0]); i++)
        bind_text(st, i + 1, v[i]);
    sqlite3_bind_double(st, 16, r->started_at);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_err(s, err, errlen, "inserting the run");
    *id = (long long)sqlite3_last_insert_rowid(s->db);
    return 0;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return NULL;
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? ut_strdup((const char *)t) : NULL;
}

void store_run_free(store_run *r)
{
    if (!r)
        return;
    char **f[] = {&r->name, &r->config, &r->config_hash, &r->zeval_version, &r->model_path,
                  &r->weights_sha256, &r->tokenizer_sha256, &r->chat_template,
                  &r->chat_template_sha256, &r->dataset, &r->dataset_file, &r->dataset_sha256,
                  &r->dataset_revision, &r->backend, &r->device};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        free(*f[i]);
        *f[i] = NULL;
    }
}

int store_run_get(store *s, const char *name, store_run *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, name, config, config_hash, zeval_version, model_path,"
                           " weights_sha256, tokenizer_sha256, chat_template, chat_template_sha256,"
                           " dataset, dataset_file, dataset_sha256, dataset_revision, backend,"
                           " device, started_at, finished_at FROM runs WHERE name = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(s, err, errlen, "reading runs");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        return 0;
    }
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return db_err(s, err, errlen, "reading runs");
    }
    out->id = sqlite3_column_int64(st, 0);
    char **f[] = {&out->name, &out->config, &out->config_hash, &out->zeval_version,
                  &out->model_path, &out->weights_sha256, &out->tokenizer_sha256,
                  &out->chat_template, &out->chat_template_sha256, &out->dataset,
                  &out->dataset_file, &out->dataset_sha256, &out->dataset_revision,
                  &out->backend, &out->device};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        *f[i] = col_dup(st, (int)i + 1);
    out->started_at = sqlite3_column_double(st, 16);
    out->finished_at = sqlite3_column_type(st, 17) == SQLITE_NULL ? -1
                                                                   : sqlite3_column_double(st, 17);
    sqlite3_finalize(st);
    if (!out->name || !out->config) {
        store_run_free(out);
        return ut_err(err, errlen, "out of memory");
    }
    return 1;
}

void store_names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int store_run_names(store *s, const char *prefix, char ***names, size_t *n, char *err,
                    size_t errlen)
{
    *names = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    const char *q = prefix ? "SELECT name FROM runs WHERE name = ?1 OR substr(name, 1,"
                             " length(?1) + 1) = ?1 || '/' ORDER BY name"
                           : "SELECT name FROM runs ORDER BY id";
    if (sqlite3_prepare_v2(s->db, q, -1, &st, NULL) != SQLITE_OK)
        return db_err(s, err, errlen, "listing runs");
    if (prefix)
        sqlite3_bind_text(st, 1, prefix, -1, SQLITE_TRANSIENT);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 8;
            char **nn = realloc(*names, cap * sizeof *nn);
            if (!nn)
                goto oom;
            *names = nn;
        }
        if (!((*names)[*n] = col_dup(st, 0)))
            goto oom;
        (*n)++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        store_names_free(*names, *n);
        *names = NULL;
        *n = 0;
        return db_err(s, err, errlen, "listing runs");
    }
    return 0;
oom:
    sqlite3_finalize(st);
    store_names_free(*names, *n);
    *names = NULL;
    *n = 0;
    return ut_err(err, errlen, "out of memory");
}

int store_run_finish(store *s, long long id, double t, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "UPDATE runs SET finished_at = ? WHERE id = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return db_err(s, err, errlen, "updating the run");
    if (t >= 0)
        sqlite3_bind_double(st, 1, t);
    else
        sqlite3_bind_null(st, 1);
    sqlite3_bind_int64(st, 2, id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_err(s, err, errlen, "updating the run");
}

int store_sample_put(store *s, long long run_id, const store_sample *x, char *err, size_t errlen)
{
    sqlite3_stmt *st = s->ins;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    unsigned char *blob = malloc((size_t)x->gen_tokens * 4 + 1);
    if (!blob)
        return ut_err(err, errlen, "out of memory");
    for (int i = 0; i < x->gen_tokens; i++) {
        uint32_t u = (uint32_t)x->gen_ids[i];
        blob[4 * i] = (unsigned char)u;
        blob[4 * i + 1] = (unsigned char)(u >> 8);
        blob[4 * i + 2] = (unsigned char)(u >> 16);
        blob[4 * i + 3] = (unsigned char)(u >> 24);
    }
    sqlite3_bind_int64(st, 1, run_id);
    bind_text(st, 2, x->problem_id);
    sqlite3_bind_int(st, 3, x->round);
    sqlite3_bind_int(st, 4, x->candidate);
    bind_text(st, 5, x->parents ? x->parents : "[]");
    sqlite3_bind_int64(st, 6, (sqlite3_int64)x->seed);
    sqlite3_bind_int(st, 7, x->prompt_tokens);
    sqlite3_bind_int(st, 8, x->gen_tokens);
    sqlite3_bind_blob(st, 9, blob, x->gen_tokens * 4, free);
    bind_text(st, 10, x->finish_reason);
    bind_text(st, 11, x->text ? x->text : "");
    bind_text(st, 12, x->tail);
    sqlite3_bind_int(st, 13, x->tail_tokens);
    bind_text(st, 14, x->prompt);
    bind_text(st, 15, x->extracted);
    if (x->correct >= 0)
        sqlite3_bind_int(st, 16, x->correct);
    else
        sqlite3_bind_null(st, 16);
    bind_text(st, 17, x->reason);
    sqlite3_bind_double(st, 18, x->started_at);
    sqlite3_bind_double(st, 19, x->finished_at);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_CONSTRAINT)
        return ut_err(err, errlen, "%s: sample (run %lld, problem %s, round %d, candidate %d) "
                      "is stored already", s->path, run_id, x->problem_id, x->round,
                      x->candidate);
    if (rc != SQLITE_DONE)
        return db_err(s, err, errlen, "inserting a sample");
    return 0;
}

/* Frees the strings and ids of one sample (not x itself). */
static void sample_clear(store_sample *x)
{
    free(x->problem_id);
    free(x->parents);
    free(x->gen_ids);
    free(x->finish_reason);
    free(x->text);
    free(x->tail);
    free(x->prompt);
    free(x->extracted);
    free(x->reason);
    memset(x, 0, sizeof *x);
}

void store_samples_free(store_sample *x, size_t n)
{
    if (!x)
        return;
    for (size_t i = 0; i < n; i++)
        sample_clear(&x[i]);
    free(x);
}

/* The samples query of run_id (texts left NULL unless with_text), in
 * (problem_id, round, candidate) order.  0 or -1. */
static int samples_query(store *s, long long run_id, const char *problem, int with_text,
                         sqlite3_stmt **st, char *err, size_t errlen)
{
    const char *sql = with_text
        ? "SELECT problem_id, round, candidate, parents, seed, prompt_tokens, gen_tokens, gen_ids,"
          " finish_reason, text, tail, tail_tokens, prompt, extracted, correct, reason,"
          " started_at, finished_at FROM samples WHERE run_id = ?1"
          " AND (?2 IS NULL OR problem_id = ?2) ORDER BY problem_id, round, candidate"
        : "SELECT problem_id, round, candidate, parents, seed, prompt_tokens, gen_tokens, gen_ids,"
          " finish_reason, NULL, NULL, tail_tokens, NULL, extracted, correct, reason,"
          " started_at, finished_at FROM samples WHERE run_id = ?1"
          " AND (?2 IS NULL OR problem_id = ?2) ORDER BY problem_id, round, candidate";
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
        return db_err(s, err, errlen, "reading samples");
    sqlite3_bind_int64(*st, 1, run_id);
    if (problem)
        sqlite3_bind_text(*st, 2, problem, -1, SQLITE_TRANSIENT);
    return 0;
}

/* The current row of samples_query into x (zeroed first; sample_clear
 * frees it, also after a failure).  0 or -1. */
static int sample_read(store *s, sqlite3_stmt *st, store_sample *x, char *err, size_t errlen)
{
    memset(x, 0, sizeof *x);
    x->problem_id = col_dup(st, 0);
    x->round = sqlite3_column_int(st, 1);
    x->candidate = sqlite3_column_int(st, 2);
    x->parents = col_dup(st, 3);
    x->seed = (uint64_t)sqlite3_column_int64(st, 4);
    x->prompt_tokens = sqlite3_column_int(st, 5);
    int nb = sqlite3_column_bytes(st, 7);
    const unsigned char *b = sqlite3_column_blob(st, 7);
    x->gen_tokens = nb / 4;
    x->gen_ids = malloc((size_t)(nb / 4 + 1) * sizeof(int32_t));
    if (!x->gen_ids)
        return ut_err(err, errlen, "out of memory reading samples of %s", s->path);
    for (int i = 0; i < nb / 4; i++)
        x->gen_ids[i] = (int32_t)((uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 |
                                  (uint32_t)b[4 * i + 2] << 16 | (uint32_t)b[4 * i + 3] << 24);
    if (sqlite3_column_int(st, 6) != x->gen_tokens)
        return ut_err(err, errlen, "%s: sample (%s, round %d, candidate %d): gen_tokens %d but "
                      "gen_ids holds %d ids", s->path, x->problem_id ? x->problem_id : "?",
                      x->round, x->candidate, sqlite3_column_int(st, 6), x->gen_tokens);
    x->finish_reason = col_dup(st, 8);
    x->text = col_dup(st, 9);
    x->tail = col_dup(st, 10);
    x->tail_tokens = sqlite3_column_int(st, 11);
    x->prompt = col_dup(st, 12);
    x->extracted = col_dup(st, 13);
    x->correct = sqlite3_column_type(st, 14) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 14);
    x->reason = col_dup(st, 15);
    x->started_at = sqlite3_column_double(st, 16);
    x->finished_at = sqlite3_column_double(st, 17);
    if (!x->problem_id || !x->parents || !x->finish_reason)
        return ut_err(err, errlen, "out of memory reading samples of %s", s->path);
    /* What zeval never writes is refused rather than counted. */
    int t = sqlite3_column_type(st, 14), col = -1;
    if (x->round < 0 || x->round >= RSA_MAX_ROUNDS)
        col = 1;
    else if (x->candidate < 0 || x->candidate >= RSA_MAX_WIDTH)
        col = 2;
    else if (t != SQLITE_NULL && (t != SQLITE_INTEGER || (unsigned)x->correct > 1))
        col = 14;
    if (col >= 0)
        return ut_err(err, errlen, "%s: a sample of problem '%.60s' has %s '%.20s', outside what "
                      "zeval stores (round 0..%d, candidate 0..%d, correct 0, 1 or NULL)",
                      s->path, x->problem_id, sqlite3_column_name(st, col),
                      (const char *)sqlite3_column_text(st, col), RSA_MAX_ROUNDS - 1,
                      RSA_MAX_WIDTH - 1);
    return 0;
}

int store_samples_get(store *s, long long run_id, int with_text, store_sample **out, size_t *n,
                      char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    if (samples_query(s, run_id, NULL, with_text, &st, err, errlen))
        return -1;
    size_t cap = 0;
    store_sample *v = NULL;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            store_sample *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                ut_err(err, errlen, "out of memory reading samples of %s", s->path);
                goto fail;
            }
            v = nv;
        }
        if (sample_read(s, st, &v[(*n)++], err, errlen))
            goto fail;
    }
    if (rc != SQLITE_DONE) {
        db_err(s, err, errlen, "reading samples");
        goto fail;
    }
    sqlite3_finalize(st);
    *out = v;
    return 0;
fail:
    sqlite3_finalize(st);
    store_samples_free(v, *n);
    *n = 0;
    return -1;
}

int store_samples_each(store *s, long long run_id, const char *problem, int with_text,
                       int (*fn)(const store_sample *x, void *ctx), void *ctx, char *err,
                       size_t errlen)
{
    sqlite3_stmt *st = NULL;
    if (samples_query(s, run_id, problem, with_text, &st, err, errlen))
        return -1;
    int rc, e = 0;
    while (!e && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_sample x;
        e = sample_read(s, st, &x, err, errlen) || fn(&x, ctx) ? -1 : 0;
        sample_clear(&x);
    }
    if (!e && rc != SQLITE_DONE)
        e = db_err(s, err, errlen, "reading samples");
    sqlite3_finalize(st);
    return e;
}

int store_sample_grade(store *s, long long run_id, const char *problem_id, int round,
                       int candidate, const char *extracted, int correct, const char *reason,
                       char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "UPDATE samples SET extracted = ?, correct = ?, reason = ? WHERE"
                           " run_id = ? AND problem_id = ? AND round = ? AND candidate = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(s, err, errlen, "updating a grade");
    bind_text(st, 1, extracted);
    if (correct >= 0)
        sqlite3_bind_int(st, 2, correct);
    else
        sqlite3_bind_null(st, 2);
    bind_text(st, 3, reason);
    sqlite3_bind_int64(st, 4, run_id);
    bind_text(st, 5, problem_id);
    sqlite3_bind_int(st, 6, round);
    sqlite3_bind_int(st, 7, candidate);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_err(s, err, errlen, "updating a grade");
}

int store_samples_drop_errors(store *s, long long run_id, long long *n, char *err,
                              size_t errlen)
{
    sqlite3_stmt *st = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(s->db, "DELETE FROM samples WHERE run_id = ? AND finish_reason ="
                           " 'error'", -1, &st, NULL) != SQLITE_OK)
        return db_err(s, err, errlen, "deleting failed samples");
    sqlite3_bind_int64(st, 1, run_id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_err(s, err, errlen, "deleting failed samples");
    *n = sqlite3_changes(s->db);
    return 0;
}

int store_run_counts(store *s, long long run_id, int round, store_counts *out, char *err,
                     size_t errlen)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*), coalesce(sum(finish_reason = 'error'), 0),"
                           " coalesce(sum(CASE WHEN finish_reason <> 'error' THEN gen_tokens"
                           " END), 0), count(DISTINCT CASE WHEN finish_reason <> 'error' THEN"
                           " problem_id END) FROM samples WHERE run_id = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return db_err(s, err, errlen, "counting samples");
    sqlite3_bind_int64(st, 1, run_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return db_err(s, err, errlen, "counting samples");
    }
    out->samples = sqlite3_column_int64(st, 0);
    out->failed = sqlite3_column_int64(st, 1);
    out->gen_tokens = sqlite3_column_int64(st, 2);
    out->gen_problems = sqlite3_column_int64(st, 3);
    sqlite3_finalize(st);
    /* The same refusal as sample_read's, for the verdicts summed below. */
    if (sqlite3_prepare_v2(s->db, "SELECT problem_id, correct FROM samples WHERE run_id = ? AND"
                           " correct IS NOT NULL AND (typeof(correct) <> 'integer' OR correct"
                           " NOT IN (0, 1)) LIMIT 1", -1, &st, NULL) != SQLITE_OK)
        return db_err(s, err, errlen, "counting samples");
    sqlite3_bind_int64(st, 1, run_id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        ut_err(err, errlen, "%s: a sample of problem '%.60s' has correct '%.20s', not 0, 1 or "
               "NULL", s->path, (const char *)sqlite3_column_text(st, 0),
               (const char *)sqlite3_column_text(st, 1));
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(s->db, "SELECT count(*), sum(correct) FROM samples WHERE run_id = ?"
                           " AND round = ? AND correct IS NOT NULL GROUP BY problem_id"
                           " ORDER BY problem_id", -1, &st, NULL) != SQLITE_OK)
        return db_err(s, err, errlen, "counting samples");
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int(st, 2, round);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->problems == cap) {
            cap = cap ? 2 * cap : 64;
            double *m = realloc(out->mean, cap * sizeof *m);
            if (!m) {
                sqlite3_finalize(st);
                store_counts_free(out);
                return ut_err(err, errlen, "out of memory");
            }
            out->mean = m;
        }
        long long g = sqlite3_column_int64(st, 0), c = sqlite3_column_int64(st, 1);
        out->mean[out->problems++] = (double)c / (double)g;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        store_counts_free(out);
        return db_err(s, err, errlen, "counting samples");
    }
    return 0;
}

int store_round_counts(store *s, long long run_id, long long *counts, int nrounds, char *err,
                       size_t errlen)
{
    for (int r = 0; r < nrounds; r++)
        counts[r] = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT round, count(*) FROM samples WHERE run_id = ? AND"
                           " finish_reason <> 'error' GROUP BY round", -1, &st, NULL) != SQLITE_OK)
        return db_err(s, err, errlen, "counting samples");
    sqlite3_bind_int64(st, 1, run_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        long long r = sqlite3_column_int64(st, 0);
        if (r >= 0 && r < nrounds)
            counts[r] = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_err(s, err, errlen, "counting samples");
}

void store_counts_free(store_counts *c)
{
    free(c->mean);
    memset(c, 0, sizeof *c);
}

int store_run_delete(store *s, long long run_id, long long *nsamples, char *err, size_t errlen)
{
    *nsamples = 0;
    if (store_begin(s, err, errlen))
        return -1;
    static const char *const q[2] = {"DELETE FROM samples WHERE run_id = ?",
                                     "DELETE FROM runs WHERE id = ?"};
    for (int i = 0; i < 2; i++) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, q[i], -1, &st, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, run_id);
            rc = sqlite3_step(st);
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            db_err(s, err, errlen, "deleting a run");
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        if (i == 0)
            *nsamples = sqlite3_changes(s->db);
    }
    return store_commit(s, err, errlen);
}

int store_begin(store *s, char *err, size_t errlen)
{
    return sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK
               ? 0 : db_err(s, err, errlen, "BEGIN");
}

int store_commit(store *s, char *err, size_t errlen)
{
    return sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK
               ? 0 : db_err(s, err, errlen, "COMMIT");
}
