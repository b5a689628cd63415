/*
 * report.h — HTML reports and run comparison (DESIGN.md, reports/).
 *
 * Both read the SQLite store directly (read-only, one connection): the
 * report streams the drill-down one (run, problem) at a time, so memory is
 * bounded by the number of samples' metadata (a few dozen bytes each),
 * never by their texts.
 */
#ifndef ZEVAL_REPORT_H
#define ZEVAL_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    const char *db;              /* database path (borrowed) */
    const char *const *runs;     /* run ids or names (a name also selects NAME/...) */
    int nruns;                   /* 0: every run in the database */
    const char *out;             /* output HTML path */
    long text_bytes;             /* max bytes of one sample's text shown (<= 0: 4000) */
    long text_budget;            /* total text bytes over all samples (<= 0: 6 MB) */
    /* --by FIELD: a table of each run's metrics per value of FIELD in its
     * dataset's records (NULL: none).  labels gives, for problems pids[0..n)
     * of run `run`, each one's value (labels[i] malloc'd, NULL where absent)
     * and its record's index (order[i]); 0, or -1 with err. */
    const char *by;
    int (*labels)(void *ctx, const char *run, const char *const *pids, size_t n, char **labels,
                  int *order, char *err, size_t errlen);
    void *labels_ctx;
} rep_opts;

typedef struct {
    int runs, problems, plots;
    long long samples;
    long text_cap;               /* the per-sample text cap used */
    long long truncated;         /* samples whose text was cut */
    long long bytes;             /* size of the written file */
} rep_stats;

/* Writes the report of o->runs to o->out (via a temporary file renamed
 * into place).  st may be NULL.  0, or -1 with a message in err. */
int rep_report(const rep_opts *o, rep_stats *st, char *err, size_t errlen);

/* ------------------------------------------------------------ compare */

typedef struct {
    char *problem_id;
    double a, b;                 /* per-problem mean correctness, final round */
} rep_pair;

/* One value of compare --by's field: the paired problems whose record has
 * it, compared as the whole pair is (p unadjusted). */
typedef struct {
    char *value;
    int paired, lost, gained;
    double mean_a, mean_b, delta, delta_lo, delta_hi, p;
} rep_group;

typedef struct {
    char *name_a, *name_b, *dataset;
    int paired, only_a, only_b;  /* problems in both / only one run */
    rep_pair *pairs;             /* paired problems, in problem order */
    double mean_a, mean_b;       /* fractions */
    double delta, delta_lo, delta_hi; /* points (100 x), B - A, paired bootstrap 95% CI */
    int lost, gained;            /* McNemar discordant counts (solved: mean >= 0.5) */
    double p;                    /* McNemar two-sided p-value */
    double p_adj;                /* p adjusted (Holm) over the m comparisons of a set */
    int m;
    int exact;                   /* 1: exact binomial, 0: chi-square with correction */
    double chi2;
    uint64_t seed;
    int iters;
    char *by;                    /* --by FIELD, or NULL */
    rep_group *groups;           /* ngroups, in the order A's records give them */
    int ngroups;
} rep_cmp;

/* compare --by: the field, and how to label a run's problems (rep_opts's
 * labels). */
typedef struct {
    const char *field;
    int (*labels)(void *ctx, const char *run, const char *const *pids, size_t n, char **labels,
                  int *order, char *err, size_t errlen);
    void *ctx;
} rep_by_opts;

void rep_cmp_free(rep_cmp *c);

/* Compares runs a (baseline) and b (candidate) of db.  Each names one run,
 * or a NAME with its NAME/... runs (a sweep, a suite of datasets): then the
 * runs pair up by what follows NAME (A/aime_2025 with B/aime_2025), each
 * pair is compared, and the p-values get Holm's adjustment over the pairs.
 * Runs without a partner are listed.  by (may be NULL) also compares each
 * pair per value of a field of its records.  Returns 0; -2 for data errors the
 * user must fix (unknown run, a pair on different datasets, nothing
 * paired); -1 for other failures; err says why. */
typedef struct {
    rep_cmp *c;                  /* n pairs, in the order of A's names */
    int n;
    char **only_a, **only_b;     /* names of the runs left without a partner */
    int n_only_a, n_only_b;
} rep_cmp_set;
int rep_compare_set(const char *db, const char *a, const char *b, uint64_t seed,
                    const rep_by_opts *by, rep_cmp_set *out, char *err, size_t errlen);
void rep_cmp_set_free(rep_cmp_set *s);
/* Whether pair c fails the gate: B worse by more than max_drop points with
 * its (adjusted) p below alpha. */
int rep_cmp_gate(const rep_cmp *c, double max_drop, double alpha);

/* McNemar's test of lost vs gained discordant pairs: exact two-sided
 * binomial (p = min(1, 2 P[X <= min(b,c)]), X ~ Bin(b+c, 1/2)) when
 * b + c < 25, else chi-square with continuity correction
 * (|b-c|-1)^2/(b+c), 1 degree of freedom.  *exact and *chi2 may be NULL. */
double rep_mcnemar(int lost, int gained, int *exact, double *chi2);

/* Writes the comparison as text, JSON or a self-contained HTML page;
 * gate (1 = the regression gate fails) and max_drop / alpha are printed
 * with it. */
void rep_cmp_text(const rep_cmp *c, double max_drop, double alpha, int gate, FILE *f);
int rep_cmp_json(const rep_cmp *c, double max_drop, double alpha, int gate, FILE *f);
void rep_cmp_html(const rep_cmp *c, double max_drop, double alpha, int gate, FILE *f);
/* The same for a set: every pair, then a summary with the adjusted
 * p-values and each pair's gate. */
void rep_cmp_set_text(const rep_cmp_set *s, const char *a, const char *b, double max_drop,
                      double alpha, FILE *f);
int rep_cmp_set_json(const rep_cmp_set *s, const char *a, const char *b, double max_drop,
                     double alpha, FILE *f);
void rep_cmp_set_html(const rep_cmp_set *s, const char *a, const char *b, double max_drop,
                      double alpha, FILE *f);

/* HTML-escapes s[0..n) (& < > " ' and control characters) to f: safe in
 * text and in quoted attributes. */
void rep_esc(FILE *f, const char *s, size_t n);

/* Writes a database of synthetic runs for bench/report.sh: nsamples
 * samples over several runs with texts of a few KB.  0 or -1. */
int rep_bench_db(const char *path, long nsamples, char *err, size_t errlen);

#endif
