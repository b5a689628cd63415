/*
 * store.h — the SQLite store of runs and samples (DESIGN.md, "Store").
 *
 * One database file holds many runs.  It is opened in WAL mode with
 * synchronous=NORMAL: a committed sample survives a kill -9 of the process
 * (WAL is durable against application crashes), and readers (report,
 * show) never block the writer.  Every finished sample is inserted in its
 * own transaction, so a killed run loses only in-flight work.  A unique
 * index on (run_id, problem_id, round, candidate) makes duplicate samples
 * impossible; store_sample_put reports an attempt as an error.
 *
 * Schema (version 1; the `meta` table holds schema_version):
 *
 *   runs(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, config TEXT
 *        (JSON, the full configuration), config_hash TEXT (sha256 of
 *        config), zeval_version, model_path, weights_sha256,
 *        tokenizer_sha256, chat_template, chat_template_sha256, dataset,
 *        dataset_file, dataset_sha256, dataset_revision, backend, device,
 *        started_at REAL, finished_at REAL (NULL until complete))
 *
 *   samples(run_id INTEGER REFERENCES runs(id), problem_id TEXT, round
 *        INTEGER, candidate INTEGER, parents TEXT (JSON array), seed
 *        INTEGER (the 64-bit request seed, stored two's-complement),
 *        prompt_tokens INTEGER, gen_tokens INTEGER, gen_ids BLOB (int32
 *        little-endian), finish_reason TEXT, text TEXT, tail TEXT,
 *        tail_tokens INTEGER, prompt TEXT (NULL unless the run stores
 *        prompts), extracted TEXT, correct INTEGER (1, 0 or NULL), reason
 *        TEXT, started_at REAL, finished_at REAL)
 *
 * A request that failed (remote backend) is a row with finish_reason
 * 'error', no ids, the error message in text and an empty tail; resume
 * deletes such rows and generates them again.
 *
 * Every error message names the database file.
 */
#ifndef ZEVAL_STORE_H
#define ZEVAL_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct store store;

/* Opens (creating if needed) the database at path and checks or creates
 * the schema.  *out owned by the caller (store_close). 0 or -1. */
int store_open(const char *path, store **out, char *err, size_t errlen);
void store_close(store *s);
/* The path given to store_open (borrowed). */
const char *store_path(const store *s);

/* One run's row; strings malloc'd by store_run_get (store_run_free),
 * borrowed for store_run_create (NULL allowed except name and config). */
typedef struct {
    long long id;
    char *name, *config, *config_hash, *zeval_version, *model_path, *weights_sha256;
    char *tokenizer_sha256, *chat_template, *chat_template_sha256;
    char *dataset, *dataset_file, *dataset_sha256, *dataset_revision, *backend, *device;
    double started_at, finished_at; /* finished_at < 0: NULL */
} store_run;

/* Inserts a run (id is assigned: *id).  A name that exists is an error
 * that says so.  config_hash is computed here when NULL. */
int store_run_create(store *s, const store_run *r, long long *id, char *err, size_t errlen);
/* Looks a run up by name: 1 found (*out filled), 0 not found, -1 error. */
int store_run_get(store *s, const char *name, store_run *out, char *err, size_t errlen);
void store_run_free(store_run *r);
/* The names of runs equal to prefix or starting with prefix + "/", in
 * name order (prefix NULL: every run, in id order): *names malloc'd array
 * of malloc'd strings. 0 or -1. */
int store_run_names(store *s, const char *prefix, char ***names, size_t *n, char *err,
                    size_t errlen);
void store_names_free(char **names, size_t n);
/* Sets finished_at (t >= 0) or clears it (t < 0). */
int store_run_finish(store *s, long long id, double t, char *err, size_t errlen);

typedef struct {
    char *problem_id;
    int round, candidate;
    char *parents;          /* JSON array text, e.g. "[0,3]" */
    uint64_t seed;
    int prompt_tokens, gen_tokens;
    int32_t *gen_ids;       /* gen_tokens ids */
    char *finish_reason, *text, *tail;
    int tail_tokens;
    char *prompt;           /* may be NULL */
    char *extracted;        /* may be NULL */
    int correct;            /* 1, 0, or -1 for NULL */
    char *reason;           /* may be NULL */
    double started_at, finished_at;
} store_sample;

/* Inserts one sample of run_id in its own transaction (strings and ids
 * borrowed).  A duplicate (run, problem, round, candidate) is an error. */
int store_sample_put(store *s, long long run_id, const store_sample *x, char *err,
                     size_t errlen);
/* All samples of a run ordered by (problem_id, round, candidate); with
 * with_text 0 the text, tail and prompt columns are left NULL (cheaper).
 * *out malloc'd (store_samples_free). */
int store_samples_get(store *s, long long run_id, int with_text, store_sample **out,
                      size_t *n, char *err, size_t errlen);
void store_samples_free(store_sample *x, size_t n);
/* The same samples one at a time, without holding them all (only those
 * of problem when it is not NULL): fn gets each (borrowed for the call) and
 * stops the walk by returning nonzero (its message in err).  0 or -1. */
int store_samples_each(store *s, long long run_id, const char *problem, int with_text,
                       int (*fn)(const store_sample *x, void *ctx), void *ctx, char *err,
                       size_t errlen);
/* Updates the grading columns of one sample (extracted/reason may be
 * NULL; correct -1 = NULL). */
int store_sample_grade(store *s, long long run_id, const char *problem_id, int round,
                       int candidate, const char *extracted, int correct, const char *reason,
                       char *err, size_t errlen);
/* Deletes run_id's samples whose finish_reason is 'error' (a failed
 * request: its text holds the message), so a resume generates them again;
 * *n gets the count.  0 or -1. */
int store_samples_drop_errors(store *s, long long run_id, long long *n, char *err,
                              size_t errlen);
/* What `zeval runs` lists of a run without reading its samples: every
 * stored row, the failed requests among them, the generated tokens of the
 * others and how many problems they cover, and for one round each
 * problem's mean correctness over its graded samples (problems with none
 * left out), in problem_id order. */
typedef struct {
    long long samples, failed;
    long long gen_tokens, gen_problems;
    double *mean;   /* problems entries, malloc'd (store_counts_free) */
    size_t problems;
} store_counts;
int store_run_counts(store *s, long long run_id, int round, store_counts *out, char *err,
                     size_t errlen);
void store_counts_free(store_counts *c);
/* The samples stored per round (counts[0..nrounds)), failed requests not
 * counted.  0 or -1. */
int store_round_counts(store *s, long long run_id, long long *counts, int nrounds, char *err,
                       size_t errlen);

/* Deletes run_id and its samples in one transaction (*nsamples gets the
 * samples' count); on failure nothing is deleted.  0 or -1. */
int store_run_delete(store *s, long long run_id, long long *nsamples, char *err, size_t errlen);

/* Runs fn inside one transaction (for bulk updates such as regrade). */
int store_begin(store *s, char *err, size_t errlen);
int store_commit(store *s, char *err, size_t errlen);

#endif
