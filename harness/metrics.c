/* metrics.c — see metrics.h. */
#include "metrics.h"
#include "../engine/sampler.h"
#include "../engine/util.h"
#include "../graders/math_grade.h"

#include <stdlib.h>
#include <string.h>

double met_pass_at_k(int n, int c, int k)
{
    if (k < 1 || n < k || c < 0 || c > n)
        return -1;
    if (n - c < k)
        return 1.0;
    double prod = 1.0;
    for (int i = n - c + 1; i <= n; i++)
        prod *= 1.0 - (double)k / (double)i;
    return 1.0 - prod;
}

int met_majority(const char *const *answers, const int *correct, int n, int list, int *rep)
{
    *rep = -1;
    int best = -1, bestn = 0;
    /* group[i]: the first member of i's group (quadratic; n is a population) */
    int *first = malloc((size_t)(n > 0 ? n : 1) * sizeof *first);
    int *count = calloc((size_t)(n > 0 ? n : 1), sizeof *count);
    if (!first || !count) {
        free(first);
        free(count);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        first[i] = -1;
        if (!answers[i])
            continue;
        for (int j = 0; j < i; j++)
            if (answers[j] && first[j] == j && math_same_answer(answers[j], answers[i], list)) {
                first[i] = j;
                break;
            }
        if (first[i] < 0)
            first[i] = i;
        count[first[i]]++;
    }
    for (int i = 0; i < n; i++)
        if (answers[i] && first[i] == i && count[i] > bestn) {
            bestn = count[i];
            best = i;
        }
    free(first);
    free(count);
    *rep = best;
    return best >= 0 && correct[best] == 1;
}

double met_mean(const double *x, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += x[i];
    return n > 0 ? s / n : 0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void met_bootstrap(const double *x, int n, int iters, uint64_t seed, double level, double *lo,
                   double *hi)
{
    *lo = *hi = met_mean(x, n);
    if (n < 2 || iters < 2)
        return;
    double *m = malloc((size_t)iters * sizeof *m);
    if (!m)
        return;
    uint64_t ctr = 0;
    for (int b = 0; b < iters; b++) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            int k = (int)(smp_uniform(seed, ctr++) * n);
            s += x[k < n ? k : n - 1];
        }
        m[b] = s / n;
    }
    qsort(m, (size_t)iters, sizeof *m, cmp_d);
    double a = (1 - level) / 2;
    int il = (int)(a * (iters - 1) + 0.5), ih = (int)((1 - a) * (iters - 1) + 0.5);
    *lo = m[il];
    *hi = m[ih];
    free(m);
}

int met_rounds(const met_sample *x, size_t n, int nrounds, uint64_t seed, met_round *out)
{
    size_t np = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(x[i].problem_id, x[i - 1].problem_id) != 0)
            np++;
    double *per = malloc((np + 1) * sizeof *per);
    double *cum = calloc(np + 1, sizeof *cum);
    const char **ans = malloc((n + 1) * sizeof *ans);
    int *cor = malloc((n + 1) * sizeof *cor);
    if (!per || !cum || !ans || !cor) {
        free(per);
        free(cum);
        free(ans);
        free(cor);
        return -1;
    }
    for (int r = 0; r < nrounds; r++) {
        met_round *o = &out[r];
        memset(o, 0, sizeof *o);
        o->round = r;
        o->n_min = -1;
        int nper = 0, nans = 0, ntr = 0;
        double maj = 0, passn = 0, tok = 0;
        size_t pi = 0, i = 0;
        while (i < n) {
            size_t j = i;
            while (j < n && strcmp(x[j].problem_id, x[i].problem_id) == 0)
                j++;
            int m = 0, g = 0, c = 0, list = 0;
            long long t = 0;
            for (size_t k = i; k < j; k++) {
                if (x[k].round != r)
                    continue;
                ans[m] = x[k].correct >= 0 ? x[k].answer : NULL;
                cor[m] = x[k].correct;
                list = x[k].list;
                m++;
                t += x[k].gen_tokens;
                nans += x[k].answer == NULL;
                ntr += x[k].truncated;
                if (x[k].correct >= 0) {
                    g++;
                    c += x[k].correct;
                }
            }
            cum[pi] += (double)t;
            if (m > 0) {
                o->problems++;
                o->samples += m;
                o->graded += g;
                if (o->n_min < 0 || m < o->n_min)
                    o->n_min = m;
                if (m > o->n_max)
                    o->n_max = m;
                tok += (double)t;
                o->tokens_cum += cum[pi];
                if (g > 0) {
                    per[nper++] = (double)c / g;
                    int rep;
                    maj += met_majority(ans, cor, m, list, &rep);
                    passn += c > 0;
                }
            }
            pi++;
            i = j;
        }
        if (o->n_min < 0)
            o->n_min = 0;
        o->avg = met_mean(per, nper);
        met_bootstrap(per, nper, 1000, seed + (uint64_t)r, 0.95, &o->avg_lo, &o->avg_hi);
        o->maj = nper ? maj / nper : 0;
        o->pass_n = nper ? passn / nper : 0;
        o->no_answer_rate = o->samples ? (double)nans / o->samples : 0;
        o->trunc_rate = o->samples ? (double)ntr / o->samples : 0;
        o->tokens_round = o->problems ? tok / o->problems : 0;
        o->tokens_cum = o->problems ? o->tokens_cum / o->problems : 0;
    }
    free(per);
    free(cum);
    free(ans);
    free(cor);
    return 0;
}

int met_groups(char *const *labels, const int *order, size_t n, char ***values, int *ng,
               int *gof)
{
    size_t *rank = malloc((n + 1) * sizeof *rank);
    char **v = calloc(n + 1, sizeof *v);
    int k = 0;
    if (!rank || !v)
        goto oom;
    for (size_t i = 0; i < n; i++) { /* problems in record order (insertion sort) */
        size_t m = i;
        while (m > 0 && order[rank[m - 1]] > order[i]) {
            rank[m] = rank[m - 1];
            m--;
        }
        rank[m] = i;
    }
    for (size_t r = 0; r < n; r++) {
        size_t i = rank[r];
        const char *l = labels[i] ? labels[i] : "(none)";
        int g = 0;
        while (g < k && strcmp(v[g], l))
            g++;
        if (g == k && !(v[k++] = strdup(l)))
            goto oom;
        gof[i] = g;
    }
    free(rank);
    *values = v;
    *ng = k;
    return 0;
oom:
    met_groups_free(v, k);
    free(rank);
    return -1;
}

void met_groups_free(char **values, int ng)
{
    for (int g = 0; values && g < ng; g++)
        free(values[g]);
    free(values);
}

int met_rounds_by(const met_sample *x, size_t n, int nrounds, uint64_t seed, met_labeller lab,
                  void *ctx, char ***values, int *ng, met_round **gm, char *err, size_t errlen)
{
    size_t np = 0;
    const char **pids = calloc(n + 1, sizeof *pids);
    char **labels = calloc(n + 1, sizeof *labels);
    int *order = calloc(n + 1, sizeof *order), *pof = calloc(n + 1, sizeof *pof);
    int *pg = calloc(n + 1, sizeof *pg), rc = -1;
    met_sample *sub = calloc(n + 1, sizeof *sub);
    *values = NULL;
    *ng = 0;
    *gm = NULL;
    if (!pids || !labels || !order || !pof || !pg || !sub)
        goto oom;
    for (size_t i = 0; i < n; i++) { /* each sample's problem */
        if (i == 0 || strcmp(x[i].problem_id, x[i - 1].problem_id))
            pids[np++] = x[i].problem_id;
        pof[i] = (int)np - 1;
    }
    if (lab(ctx, pids, np, labels, order, err, errlen))
        goto done;
    if (met_groups(labels, order, np, values, ng, pg) ||
        !(*gm = calloc((size_t)(*ng * nrounds) + 1, sizeof **gm)))
        goto oom;
    for (int g = 0; g < *ng; g++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (pg[pof[i]] == g)
                sub[k++] = x[i];
        if (met_rounds(sub, k, nrounds, seed, *gm + (size_t)g * (size_t)nrounds))
            goto oom;
    }
    rc = 0;
    goto done;
oom:
    ut_err(err, errlen, "out of memory");
done:
    for (size_t k = 0; labels && k < np; k++)
        free(labels[k]);
    free(labels);
    free(pids);
    free(order);
    free(pof);
    free(pg);
    free(sub);
    if (rc) {
        met_groups_free(*values, *ng);
        free(*gm);
        *values = NULL;
        *ng = 0;
        *gm = NULL;
    }
    return rc;
}
