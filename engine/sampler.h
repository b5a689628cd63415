/*
 * sampler.h — next-token sampling: greedy, temperature, top-k, top-p,
 * min-p, driven by a counter-based RNG.
 *
 * A draw depends only on (logits, params, seed, counter): the engine uses
 * the request's seed and the index of the token being generated as the
 * counter, so a request's tokens never depend on what else is batched
 * with it or on how many draws other requests made.
 *
 * Filters apply in this order: temperature, top-k, top-p (on the
 * distribution renormalised after top-k), min-p (relative to the most
 * likely token).  Only ids below n_valid are candidates: rows past the
 * tokenizer's vocabulary (padding) are never sampled.
 */
#ifndef ZEVAL_SAMPLER_H
#define ZEVAL_SAMPLER_H

#include <stdint.h>

typedef struct {
    float temperature;  /* 0: greedy */
    int top_k;          /* 0: off */
    float top_p;        /* 1: off */
    float min_p;        /* 0: off */
} smp_params;

/* The defaults: greedy, no filters. */
smp_params smp_greedy(void);

/* 64 random bits from (seed, counter); a bijective mix, no state. */
uint64_t smp_rng(uint64_t seed, uint64_t counter);
/* A uniform double in [0, 1) from (seed, counter). */
double smp_uniform(uint64_t seed, uint64_t counter);

/* The lowest id among the largest logits. */
int smp_argmax(const float *logits, int n);

/* Checks ranges; 0 or -1 with a message naming the parameter. */
int smp_validate(const smp_params *p, char *err, unsigned long errlen);

typedef struct smp_scratch smp_scratch;
smp_scratch *smp_scratch_new(int n);
void smp_scratch_free(smp_scratch *s);

/* Picks a token id in [0, n_valid).  scratch must hold n_valid entries.
 * Greedy (temperature 0) takes the lowest id among equal maxima. */
int smp_sample(const float *logits, int n_valid, const smp_params *p, uint64_t seed,
               uint64_t counter, smp_scratch *scratch);

/* The rule by its definition, for tests and benchmarks: sort the kept
 * tokens, apply the filters, and walk them to the first whose running mass
 * passes u times the mass kept.  smp_sample draws the same token (up to
 * the rounding of sums in another order) without sorting. */
int smp_sample_sorted(const float *logits, int n_valid, const smp_params *p, double u,
                      smp_scratch *s);

/* For tests: the kept candidates and their renormalised probabilities,
 * sorted by probability (descending, lower id first on ties); returns the
 * count written (at most n_valid). */
int smp_candidates(const float *logits, int n_valid, const smp_params *p, smp_scratch *s,
                   int *ids, double *probs);

#endif
