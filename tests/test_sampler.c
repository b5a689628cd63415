/*
 * test_sampler.c — the sampler on constructed distributions: seeds
 * reproduce, filters keep exactly the tokens they should, draws follow the
 * kept distribution, and padded vocabulary rows are never sampled.
 */
#include "check.h"
#include "../engine/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Logits whose softmax is the given probabilities (at temperature 1). */
static void from_probs(float *lg, const double *p, int n)
{
    for (int i = 0; i < n; i++)
        lg[i] = p[i] > 0 ? (float)log(p[i]) : -1e30f;
}

static int kept(const double *p, int n, smp_params sp, int *ids)
{
    float lg[64];
    double pr[64];
    from_probs(lg, p, n);
    smp_scratch *s = smp_scratch_new(n);
    int k = smp_candidates(lg, n, &sp, s, ids, pr);
    smp_scratch_free(s);
    return k;
}

static int same_set(const int *a, int na, const int *want, int nw)
{
    if (na != nw)
        return 0;
    for (int i = 0; i < nw; i++) {
        int f = 0;
        for (int j = 0; j < na; j++)
            f |= a[j] == want[i];
        if (!f)
            return 0;
    }
    return 1;
}

/* Draws (the radix select) against the sorted walk (smp_sample_sorted), without filters and
 * with each filter and their combinations: spread, tied, peaked, flat and
 * limited rows, a 262K vocabulary, several temperatures and seeds. */
static void test_draws(void)
{
    ck_begin("draws equal the walk over tokens sorted by probability, without filters and with "
             "top-k, top-p, min-p and their combinations (spread, tied, peaked, flat and "
             "limited rows; 262K ids; temperatures 0.5 to 1.3)");
    enum { N = 262144, KINDS = 7, PER = 12 };
    const double temps[KINDS] = {1.0, 0.7, 1.0, 0.5, 1.3, 1.0, 1.0};
    static const smp_params filt[] = {
        {1, 0, 1.0f, 0.0f},   {1, 50, 1.0f, 0.0f},  {1, 1000, 1.0f, 0.0f}, {1, 0, 0.95f, 0.0f},
        {1, 0, 0.5f, 0.0f},   {1, 0, 1.0f, 0.05f},  {1, 0, 1.0f, 0.5f},    {1, 40, 0.9f, 0.0f},
        {1, 0, 0.9f, 0.1f},   {1, 64, 0.8f, 0.02f}, {1, 2, 1.0f, 0.0f},
    };
    const int NF = (int)(sizeof filt / sizeof filt[0]);
    float *lg = malloc((size_t)N * sizeof *lg);
    smp_scratch *s = smp_scratch_new(N);
    int same = 0, total = 0, spread = 0;
    char first[200] = "";
    for (int k = 0; lg && s && k < KINDS; k++) {
        int n = k == 6 ? N : 20000, lim = k == 4 ? n - 777 : n;
        for (int i = 0; i < n; i++) {
            float v = (float)(smp_uniform(99 + (uint64_t)k, (uint64_t)i) * 6.0 - 3.0);
            if (k == 1)
                v *= 0.3f;
            if (k == 2)
                v = roundf(v); /* 7 distinct values: long runs of ties */
            if (k == 3)
                v *= 4.0f;
            if (k == 5)
                v = 0.25f;
            if (k == 6 && i % 97 == 0)
                v = -INFINITY;
            lg[i] = v;
        }
        if (k == 3)
            lg[12345] = 40.0f; /* most ids fall under the 1e-12 cut */
        for (int f = 0; f < NF; f++) {
            smp_params sp = filt[f];
            sp.temperature = (float)temps[k];
            int seen = -1;
            for (int j = 0; j < PER; j++) {
                uint64_t seed = 1000 + (uint64_t)(k * NF + f);
                int got = smp_sample(lg, lim, &sp, seed, (uint64_t)j, s);
                int want = smp_sample_sorted(lg, lim, &sp, smp_uniform(seed, (uint64_t)j), s);
                same += got == want;
                total++;
                spread += seen >= 0 && got != seen;
                seen = got;
                if (got != want && !*first)
                    snprintf(first, sizeof first, "row kind %d, top-k %d top-p %g min-p %g, draw "
                             "%d: %d, the walk %d", k, sp.top_k, sp.top_p, sp.min_p, j, got,
                             want);
            }
        }
    }
    CK(total == KINDS * NF * PER && same == total, "%d of %d draws equal the walk; %s", same,
       total, first);
    CK(spread > total / 3, "draws hardly vary (%d changes in %d)", spread, total);
    /* no finite logit: the argmax's rule */
    float dead[4] = {-INFINITY, NAN, -INFINITY, -INFINITY};
    for (int f = 0; f < NF; f++)
        CK(s && smp_sample(dead, 4, &filt[f], 1, 1, s) == 0, "a row without finite logits");
    free(lg);
    smp_scratch_free(s);
    ck_end();
}

int main(void)
{
    test_draws();
    static const double P[6] = {0.05, 0.40, 0.10, 0.25, 0.15, 0.05};
    int ids[64];
    smp_params base = {1.0f, 0, 1.0f, 0.0f};

    ck_begin("top-k keeps the k most likely tokens");
    smp_params sp = base;
    sp.top_k = 3;
    int k = kept(P, 6, sp, ids);
    CK(same_set(ids, k, (int[]){1, 3, 4}, 3), "kept %d tokens", k);
    ck_end();

    ck_begin("top-p keeps the smallest prefix reaching p");
    sp = base;
    sp.top_p = 0.65f; /* 0.40 + 0.25 = 0.65 */
    k = kept(P, 6, sp, ids);
    CK(same_set(ids, k, (int[]){1, 3}, 2), "p=0.65 kept %d", k);
    sp.top_p = 0.66f;
    k = kept(P, 6, sp, ids);
    CK(same_set(ids, k, (int[]){1, 3, 4}, 3), "p=0.66 kept %d", k);
    ck_end();

    ck_begin("top-p applies to the distribution renormalised after top-k");
    sp = base;
    sp.top_k = 2;     /* {0.40, 0.25} -> {0.615, 0.385} */
    sp.top_p = 0.6f;
    k = kept(P, 6, sp, ids);
    CK(same_set(ids, k, (int[]){1}, 1), "kept %d", k);
    ck_end();

    ck_begin("min-p keeps tokens with p >= min_p * p_max");
    sp = base;
    sp.min_p = 0.3f; /* threshold 0.12 */
    k = kept(P, 6, sp, ids);
    CK(same_set(ids, k, (int[]){1, 3, 4}, 3), "kept %d", k);
    sp.min_p = 0.7f; /* threshold 0.28 */
    k = kept(P, 6, sp, ids);
    CK(same_set(ids, k, (int[]){1}, 1), "kept %d", k);
    ck_end();

    ck_begin("temperature sharpens and flattens");
    float lg[6];
    double pr[6];
    from_probs(lg, P, 6);
    smp_scratch *s = smp_scratch_new(64);
    sp = base;
    sp.temperature = 0.5f;
    k = smp_candidates(lg, 6, &sp, s, ids, pr);
    /* p^2 renormalised: 0.16 / (0.0025+0.16+0.01+0.0625+0.0225+0.0025) */
    CK(ids[0] == 1 && fabs(pr[0] - 0.16 / 0.26) < 1e-6, "top prob %g", pr[0]);
    sp.temperature = 2.0f;
    k = smp_candidates(lg, 6, &sp, s, ids, pr);
    double z = 0;
    for (int i = 0; i < 6; i++)
        z += sqrt(P[i]);
    CK(k == 6 && fabs(pr[0] - sqrt(0.40) / z) < 1e-6, "flattened top prob %g", pr[0]);
    ck_end();

    ck_begin("same seed and counter give the same token; draws follow the distribution");
    sp = base;
    int counts[6] = {0};
    int draws = 40000;
    for (int i = 0; i < draws; i++) {
        int t = smp_sample(lg, 6, &sp, 42, (uint64_t)i, s);
        CK(t == smp_sample(lg, 6, &sp, 42, (uint64_t)i, s), "draw %d not reproducible", i);
        counts[t]++;
    }
    for (int i = 0; i < 6; i++) {
        double sd = sqrt(draws * P[i] * (1 - P[i]));
        CK(fabs(counts[i] - draws * P[i]) < 5 * sd, "token %d drawn %d times, expected %.0f", i,
           counts[i], draws * P[i]);
    }
    int diff = 0;
    for (int i = 0; i < 100; i++)
        diff += smp_sample(lg, 6, &sp, 42, (uint64_t)i, s) != smp_sample(lg, 6, &sp, 43, (uint64_t)i, s);
    CK(diff > 20, "seeds 42 and 43 agree on %d of 100 draws", 100 - diff);
    ck_end();

    ck_begin("padded vocabulary rows are never sampled");
    float pad[16];
    for (int i = 0; i < 16; i++)
        pad[i] = i < 10 ? 0.0f : 50.0f; /* padding rows 10..15 dominate */
    int bad = 0;
    sp = base;
    for (int i = 0; i < 5000; i++)
        bad += smp_sample(pad, 10, &sp, 7, (uint64_t)i, s) >= 10;
    smp_params g = smp_greedy();
    bad += smp_sample(pad, 10, &g, 7, 0, s) >= 10;
    CK(bad == 0, "%d draws landed on padding", bad);
    ck_end();

    ck_begin("greedy takes the lowest id among equal maxima");
    float tie[5] = {1, 3, 2, 3, 0};
    CK(smp_sample(tie, 5, &g, 1, 1, s) == 1, "greedy tie");
    ck_end();

    ck_begin("out-of-range sampling parameters are rejected by name");
    char err[256];
    smp_params badp = base;
    badp.top_p = 0;
    CK(smp_validate(&badp, err, sizeof err) != 0 && strstr(err, "top-p"), "top-p 0 accepted");
    badp = base;
    badp.temperature = -1;
    CK(smp_validate(&badp, err, sizeof err) != 0 && strstr(err, "temperature"), "temperature");
    badp = base;
    badp.min_p = 1.5f;
    CK(smp_validate(&badp, err, sizeof err) != 0 && strstr(err, "min-p"), "min-p");
    CK(smp_validate(&base, err, sizeof err) == 0, "valid params rejected");
    ck_end();
    smp_scratch_free(s);
    return ck_status();
}
