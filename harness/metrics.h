/*
 * metrics.h — scores of a run (../shared/spec/grading.md Part C,
 * ../shared/spec/markovian-rsa.md §5-§6).
 *
 *   avg@k   per problem c/n over its graded samples of one round, averaged
 *           over problems (for the final round: mean@final, pass@1).
 *   maj@k   per problem, answers grouped by equivalence (math_same_answer
 *           on normalized answers); samples without an answer are dropped;
 *           the largest group wins, ties go to the group whose first member
 *           comes first; score = that member's verdict.
 *   pass@k  unbiased estimator 1 - C(n-c,k)/C(n,k), computed as
 *           1 - prod_{i=n-c+1}^{n} (1 - k/i) (1 when n - c < k).
 *   D(q)    generated tokens per problem summed over all stages so far
 *           (paper eq. 24: decode tokens only, no prompts or tails).
 * Confidence intervals: percentile bootstrap over problems, seeded, so the
 * same data always gives the same interval.
 */
#ifndef ZEVAL_METRICS_H
#define ZEVAL_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* The unbiased pass@k of n samples with c correct; -1 when n < k or k < 1. */
double met_pass_at_k(int n, int c, int k);

/* Majority vote over n samples: answers[i] (normalized, NULL = none) and
 * correct[i] (1/0).  Returns the winner's verdict (0 when no sample has
 * an answer); *rep gets the winning group's first member or -1. */
int met_majority(const char *const *answers, const int *correct, int n, int list, int *rep);

/* Mean of x[0..n) (0 when n == 0). */
double met_mean(const double *x, int n);

/* Percentile bootstrap interval of the mean of x[0..n): iters resamples
 * drawn with the counter RNG from seed; level e.g. 0.95. */
void met_bootstrap(const double *x, int n, int iters, uint64_t seed, double level, double *lo,
                   double *hi);

/* One sample as the metrics see it. */
typedef struct {
    const char *problem_id;
    int round;
    int correct;        /* 1, 0, -1 = not graded */
    const char *answer; /* normalized extracted answer, NULL = none */
    int list;           /* the gold is a list (for equivalence) */
    int gen_tokens;
    int truncated;      /* finish reason length */
} met_sample;

typedef struct {
    int round;
    int problems;        /* problems with at least one sample in this round */
    int samples, graded;
    int n_min, n_max;    /* samples per problem */
    double avg, avg_lo, avg_hi; /* avg@n with a 95% bootstrap interval */
    double maj;          /* maj@n */
    double pass_n;       /* pass@n_min */
    double no_answer_rate, trunc_rate;
    double tokens_round; /* mean generated tokens per problem in this round */
    double tokens_cum;   /* mean D(q) through this round */
} met_round;

/* Per-round metrics of samples x[0..n), which must be ordered by
 * problem_id and then round.  out has nrounds entries.  0, or -1 on OOM. */
int met_rounds(const met_sample *x, size_t n, int nrounds, uint64_t seed, met_round *out);

/* Groups n problems by their labels (labels[i]; NULL: "(none)"), the
 * groups in the order the problems' records first give them (order[i]:
 * problem i's record index).  *values gets the *ng labels (malloc'd array of
 * malloc'd strings), gof[i] problem i's group.  0, or -1 when out of memory
 * (nothing left allocated). */
int met_groups(char *const *labels, const int *order, size_t n, char ***values, int *ng,
               int *gof);
/* Frees met_groups' values. */
void met_groups_free(char **values, int ng);

/* Labels problems pids[0..n): labels[i] (malloc'd; NULL: none) and order[i]
 * (the index of the problem's record).  0, or -1 with err. */
typedef int (*met_labeller)(void *ctx, const char *const *pids, size_t n, char **labels,
                            int *order, char *err, size_t errlen);

/* met_rounds of samples x[0..n) (ordered as met_rounds wants) for each
 * group of their problems by label (met_groups): *values and *ng as there,
 * *gm (malloc'd) ng * nrounds entries, group g's at gm[g * nrounds].  0, or
 * -1 with err (nothing left allocated). */
int met_rounds_by(const met_sample *x, size_t n, int nrounds, uint64_t seed, met_labeller lab,
                  void *ctx, char ***values, int *ng, met_round **gm, char *err, size_t errlen);

#endif
