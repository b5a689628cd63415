/*
 * sampler.c — see sampler.h.
 *
 * Softmax runs in double.  Tokens whose probability is below 1e-12 of the
 * most likely one are dropped (their total mass is below 3e-7 even over a
 * 262K vocabulary).  The rule: order the kept tokens by decreasing
 * probability (lower id first on ties); top-k keeps the first k, top-p the
 * shortest prefix whose mass reaches p times the total, min-p those at
 * least min_p times the most likely; the draw is the first token whose
 * running mass passes u times the mass kept.
 *
 * Nothing is sorted.  At temperature 1 most of a 262K vocabulary is within
 * 1e-12 of the top, and sorting it cost ~50 ms a token.  Each place in the
 * order (the k-th token, where the mass reaches p, where it passes u) is
 * found by a radix select on the logits' bits, 8 bits a pass, as the GPU
 * engine does (gpu/bkernels.hip k_bpick); only the masses' summation order
 * differs from the sorted walk (smp_sample_sorted), which moves a draw only
 * where u falls within rounding of a boundary.
 */
#include "sampler.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double p;
    int id;
    unsigned key;  /* flt_key of the logit (draws) */
} cand;

struct smp_scratch {
    int n;
    cand *c, *w;   /* the candidates; working space of locate */
};

smp_params smp_greedy(void)
{
    smp_params p = {0.0f, 0, 1.0f, 0.0f};
    return p;
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t smp_rng(uint64_t seed, uint64_t counter)
{
    return mix64(mix64(seed + 0x9e3779b97f4a7c15ull) ^ (counter * 0xd1b54a32d192ed03ull + 1));
}

double smp_uniform(uint64_t seed, uint64_t counter)
{
    return (double)(smp_rng(seed, counter) >> 11) * (1.0 / 9007199254740992.0);
}

int smp_validate(const smp_params *p, char *err, unsigned long errlen)
{
    if (!(p->temperature >= 0) || p->temperature > 100)
        return ut_err(err, errlen, "temperature %g out of range [0, 100]", p->temperature);
    if (p->top_k < 0)
        return ut_err(err, errlen, "top-k %d must be >= 0 (0 = off)", p->top_k);
    if (!(p->top_p > 0 && p->top_p <= 1))
        return ut_err(err, errlen, "top-p %g out of range (0, 1]", p->top_p);
    if (!(p->min_p >= 0 && p->min_p <= 1))
        return ut_err(err, errlen, "min-p %g out of range [0, 1]", p->min_p);
    return 0;
}

smp_scratch *smp_scratch_new(int n)
{
    smp_scratch *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->n = n;
    s->c = malloc((size_t)(n > 0 ? n : 1) * sizeof *s->c);
    s->w = malloc((size_t)(n > 0 ? n : 1) * sizeof *s->w);
    if (!s->c || !s->w) {
        smp_scratch_free(s);
        return NULL;
    }
    return s;
}

void smp_scratch_free(smp_scratch *s)
{
    if (!s)
        return;
    free(s->c);
    free(s->w);
    free(s);
}

/* An order-preserving unsigned key of a float (-0 and +0 alike). */
static unsigned flt_key(float f)
{
    unsigned u;
    f = f == 0.0f ? 0.0f : f;
    memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : u | 0x80000000u;
}

static int cmp_desc(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->p != y->p)
        return x->p > y->p ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

int smp_argmax(const float *logits, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (logits[i] > logits[b])
            b = i;
    return b;
}

/* The tokens within 1e-12 of the most likely at inverse temperature inv_t,
 * in id order, with their unnormalised masses and keys; returns the count
 * (0 when no logit is finite). */
static int kept(const float *logits, int n, double inv_t, cand *c)
{
    double mx = -INFINITY, cut = log(1e-12);
    for (int i = 0; i < n; i++) /* NaN never compares greater */
        if (logits[i] > mx)
            mx = logits[i];
    int k = 0;
    for (int i = 0; i < n; i++) {
        double z = ((double)logits[i] - mx) * inv_t;
        if (z >= cut) {
            c[k].p = exp(z);
            c[k].id = i;
            c[k].key = flt_key(logits[i]);
            k++;
        }
    }
    return k;
}

/* Fills s->c with the kept candidates sorted by probability (unnormalised);
 * returns the count and their total mass in *mass.  The rule's definition,
 * for smp_sample_sorted and smp_candidates; draws find the same places
 * without sorting. */
static int filter(const float *logits, int n, const smp_params *p, smp_scratch *s, double *mass)
{
    int k = kept(logits, n, 1.0 / p->temperature, s->c);
    *mass = 0;
    if (k == 0)
        return 0;
    qsort(s->c, (size_t)k, sizeof *s->c, cmp_desc);
    if (p->top_k > 0 && p->top_k < k)
        k = p->top_k;
    double total = 0;
    for (int i = 0; i < k; i++)
        total += s->c[i].p;
    if (p->top_p < 1) {
        double cum = 0, need = p->top_p * total;
        int keep = k;
        for (int i = 0; i < k; i++) {
            cum += s->c[i].p;
            if (cum >= need) {
                keep = i + 1;
                break;
            }
        }
        k = keep;
    }
    if (p->min_p > 0) {
        double thr = p->min_p * s->c[0].p;
        int keep = 1;
        while (keep < k && s->c[keep].p >= thr)
            keep++;
        k = keep;
    }
    total = 0;
    for (int i = 0; i < k; i++)
        total += s->c[i].p;
    *mass = total;
    return k;
}

/* The place in the order (key descending, id ascending) of c[0..k): the
 * first token whose running weight (its mass, or 1 each by_count) passes
 * target (exceeds it; reaches it when inclusive).  *at gets that token;
 * where rounding leaves target past the total, the last one.  w (k entries)
 * is working space. */
static void locate(const cand *c, int k, cand *w, int by_count, double target, int inclusive,
                   cand *at)
{
    double before = 0;
    const cand *src = c;
    for (int sh = 24; sh >= 0; sh -= 8) {
        double bm[256] = {0};
        for (int i = 0; i < k; i++)
            bm[(src[i].key >> sh) & 255] += by_count ? 1.0 : src[i].p;
        int pick = -1, last = -1;
        for (int d = 255; d >= 0 && pick < 0; d--) {
            if (!(bm[d] > 0))
                continue;
            last = d;
            double after = before + bm[d];
            if (inclusive ? after >= target : after > target)
                pick = d;
            else
                before = after;
        }
        if (pick < 0) { /* rounding: the last bucket with mass */
            pick = last;
            before -= bm[last];
        }
        int n = 0; /* the bucket's tokens, still in id order */
        for (int i = 0; i < k; i++)
            if ((int)((src[i].key >> sh) & 255) == pick)
                w[n++] = src[i];
        k = n;
        src = w;
    }
    for (int i = 0; i < k; i++) { /* equal logits, in id order */
        before += by_count ? 1.0 : src[i].p;
        if (inclusive ? before >= target : before > target) {
            *at = src[i];
            return;
        }
    }
    *at = src[k - 1];
}

/* Keeps the tokens of c[0..k) up to t in the order; returns the count. */
static int keep_upto(cand *c, int k, const cand *t)
{
    int n = 0;
    for (int i = 0; i < k; i++)
        if (c[i].key > t->key || (c[i].key == t->key && c[i].id <= t->id))
            c[n++] = c[i];
    return n;
}

static double mass_of(const cand *c, int k)
{
    double m = 0;
    for (int i = 0; i < k; i++)
        m += c[i].p;
    return m;
}

/* A draw at a temperature > 0 (see the top of the file). */
static int draw(const float *logits, int n, const smp_params *p, double u, smp_scratch *s)
{
    int k = kept(logits, n, 1.0 / p->temperature, s->c);
    if (k == 0) /* no finite logits */
        return smp_argmax(logits, n);
    cand t;
    if (p->top_k > 0 && p->top_k < k) {
        locate(s->c, k, s->w, 1, (double)p->top_k, 1, &t);
        k = keep_upto(s->c, k, &t);
    }
    if (p->top_p < 1) {
        locate(s->c, k, s->w, 0, p->top_p * mass_of(s->c, k), 1, &t);
        k = keep_upto(s->c, k, &t);
    }
    if (p->min_p > 0) { /* the most likely token has p = 1 and stays */
        int w = 0;
        for (int i = 0; i < k; i++)
            if (s->c[i].p >= p->min_p)
                s->c[w++] = s->c[i];
        k = w;
    }
    locate(s->c, k, s->w, 0, u * mass_of(s->c, k), 0, &t);
    return t.id;
}

int smp_sample(const float *logits, int n, const smp_params *p, uint64_t seed, uint64_t counter,
               smp_scratch *s)
{
    if (p->temperature == 0 || p->top_k == 1)
        return smp_argmax(logits, n);
    return draw(logits, n, p, smp_uniform(seed, counter), s);
}

int smp_sample_sorted(const float *logits, int n, const smp_params *p, double u, smp_scratch *s)
{
    if (p->temperature == 0 || p->top_k == 1)
        return smp_argmax(logits, n);
    double mass, cum = 0;
    int k = filter(logits, n, p, s, &mass);
    if (k == 0) /* no finite logits */
        return smp_argmax(logits, n);
    for (int i = 0; i < k; i++) {
        cum += s->c[i].p;
        if (u * mass < cum)
            return s->c[i].id;
    }
    return s->c[k - 1].id;
}

int smp_candidates(const float *logits, int n, const smp_params *p, smp_scratch *s, int *ids,
                   double *probs)
{
    if (p->temperature == 0 || p->top_k == 1) {
        ids[0] = smp_argmax(logits, n);
        probs[0] = 1;
        return 1;
    }
    double mass;
    int k = filter(logits, n, p, s, &mass);
    for (int i = 0; i < k; i++) {
        ids[i] = s->c[i].id;
        probs[i] = s->c[i].p / mass;
    }
    return k;
}
