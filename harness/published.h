/*
 * published.h — ZAYA1-8B's published scores (../shared/spec/published-results.md)
 * that a stored run can be set against.
 *
 * A reference applies to a run when the run's benchmark is the one the
 * number was published on and its Markovian RSA setting is the published
 * one (N, C, T, beta, final, tau, tail, c1 all equal); for single rollouts
 * (T = 0) any budget and sample count applies, since ZR gives neither
 * (avg@k estimates the same single-sample pass rate for every k).  The
 * sampling of the publication is recorded with each number, so a run that
 * sampled otherwise can say so next to it.
 */
#ifndef ZEVAL_PUBLISHED_H
#define ZEVAL_PUBLISHED_H

#include "rsa.h"

typedef struct {
    const char *dataset;   /* registry name the number was published on */
    const char *spec;      /* RSA SPEC, or NULL: single rollout (T = 0) */
    double score;          /* percent */
    const char *benchmark; /* as ZR names it: "AIME'25" */
    const char *setting;   /* "Markovian RSA 40K/4K", "single rollout" */
    const char *checkpoint;/* "pre-behavioral", "final" */
    const char *source;    /* "ZR Table XII" */
    double temperature, top_p; /* published sampling; < 0: not stated */
    const char *note;      /* caveat, or NULL */
    double tokens;         /* generated tokens per problem ZR reports (about; 0: none) */
    const char *tokens_src;
} pub_ref;

/* The reference for a run of dataset (a registry name) with RSA setting p,
 * or NULL when ZR publishes none for it.  Static storage. */
const pub_ref *pub_find(const char *dataset, const rsa_params *p);

/* Where the published score lies against a run's final-round avg@n and
 * its 95% interval (fractions in [0, 1]) over `problems` problems: fewer
 * than the registry's count for r's benchmark is a subset. */
typedef enum {
    PUB_INSIDE,  /* within the interval */
    PUB_ABOVE,   /* above the interval: the run scores lower */
    PUB_BELOW,   /* below the interval: the run scores higher */
    PUB_SUBSET   /* the run has only part of the benchmark: not comparable */
} pub_verdict;
pub_verdict pub_compare(const pub_ref *r, double lo, double hi, int problems);
/* "within", "above", "below", "subset": the verdict in words. */
const char *pub_verdict_name(pub_verdict v);
/* Whether a run's sampling differs from r's published one (an unstated
 * one never differs; where it is stated, top-k and min-p are off). */
int pub_sampling_differs(const pub_ref *r, double temperature, double top_p, int top_k,
                         double min_p);

/* Every reference (static); *n gets the count. */
const pub_ref *pub_refs(size_t *n);

#endif
