/*
 * rep_int.h — internal to reports/: one run's metadata and metric inputs
 * loaded from the store (rep_data.c), shared by the report and compare.
 */
#ifndef ZEVAL_REP_INT_H
#define ZEVAL_REP_INT_H

#include "../harness/metrics.h"
#include "../harness/published.h"

#include <sqlite3.h>
#include <stddef.h>

enum { REP_FIN_STOP, REP_FIN_LENGTH, REP_FIN_ERROR, REP_FIN_OTHER, REP_FIN_N };

typedef struct {
    long long id;
    char *name, *model, *weights, *dataset, *dataset_sha;
    char *setting, *spec; /* the preset or the shortest SPEC; the stored SPEC in full */
    const pub_ref *pub;               /* ZAYA1-8B's published score here, or NULL */
    int pub_sampling_differs;         /* the run sampled otherwise than ZR did */
    double started_at, finished_at;   /* finished_at < 0: incomplete */
    int nrounds;                      /* T + 1 (or the rounds present) */
    long beta, final_budget;          /* 0 when the configuration lacks them */
    size_t n;                         /* samples */
    met_sample *ms;                   /* n, ordered by problem, round */
    char **own;                       /* strings ms points to (nown) */
    size_t nown;
    met_round *mr;                    /* nrounds */
    long long gen_total;
    double wall, tok_s;
    long fin[REP_FIN_N];
    int max_gen;
    /* per problem, final round */
    size_t np;
    const char **pid;                 /* borrowed from ms */
    double *fmean;                    /* -1: no graded final sample */
} rep_run;

/* Opens path read-only; refuses a file without the runs table. */
int rep_db_open(const char *path, sqlite3 **db, char *err, size_t errlen);
/* Resolves selectors (ids or names, a name also selecting NAME/...) into
 * run ids in selector order, duplicates dropped; nsel 0: all runs by id.
 * *ids malloc'd.  0; 1 when a selector matches nothing (err names it); -1. */
int rep_resolve(sqlite3 *db, const char *path, const char *const *sel, int nsel,
                long long **ids, int *n, char *err, size_t errlen);
/* Loads run id with metrics computed.  0 or -1. */
int rep_run_load(sqlite3 *db, const char *path, long long id, rep_run *r, char *err,
                 size_t errlen);
void rep_run_free(rep_run *r);

#endif
