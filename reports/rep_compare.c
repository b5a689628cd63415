/*
 * rep_compare.c — `zeval compare`: a paired comparison of two runs and
 * the regression gate (see report.h).
 *
 * Per problem, the outcome of a run is the mean correctness of its graded
 * final-round samples; problems are paired by id (only problems graded in
 * both runs count).  delta = mean(b_i - a_i) in points, with a percentile
 * bootstrap over problems of the paired differences (seeded, 2000
 * resamples).  McNemar's test needs binary outcomes: a problem counts as
 * solved when its mean is >= 0.5 (with one sample per problem this is the
 * sample's verdict); "lost" = solved by A only, "gained" = solved by B only.
 * The flipped problems are those lost or gained.
 */
#include "report.h"
#include "rep_int.h"
#include "../engine/util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

double rep_mcnemar(int lost, int gained, int *exact, double *chi2)
{
    int n = lost + gained, k = lost < gained ? lost : gained;
    if (exact)
        *exact = n < 25;
    if (chi2)
        *chi2 = 0;
    if (n == 0)
        return 1.0;
    if (n < 25) {
        /* 2 * P[X <= k], X ~ Bin(n, 1/2), summed in log space */
        double s = 0;
        for (int i = 0; i <= k; i++)
            s += exp(lgamma(n + 1.0) - lgamma(i + 1.0) - lgamma(n - i + 1.0) - n * log(2.0));
        double p = 2 * s;
        return p > 1 ? 1 : p;
    }
    double d = fabs((double)(lost - gained)) - 1;
    if (d < 0)
        d = 0;
    double x = d * d / n;
    if (chi2)
        *chi2 = x;
    return erfc(sqrt(x / 2));
}

void rep_cmp_free(rep_cmp *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->paired; i++)
        free(c->pairs[i].problem_id);
    free(c->pairs);
    free(c->name_a);
    free(c->name_b);
    free(c->dataset);
    memset(c, 0, sizeof *c);
}

static int same(const char *x, const char *y)
{
    return !x || !y || !strcmp(x, y);
}

int rep_compare(const char *path, const char *a, const char *b, uint64_t seed, rep_cmp *c,
                char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    sqlite3 *db = NULL;
    rep_run ra = {0}, rb = {0};
    long long *ia = NULL, *ib = NULL;
    int na = 0, nb = 0, rc = -1;
    double *d = NULL;
    if (rep_db_open(path, &db, err, errlen))
        goto done;
    int e = rep_resolve(db, path, &a, 1, &ia, &na, err, errlen);
    if (!e)
        e = rep_resolve(db, path, &b, 1, &ib, &nb, err, errlen);
    if (e) {
        rc = e > 0 ? -2 : -1;
        goto done;
    }
    if (na != 1 || nb != 1) {
        ut_err(err, errlen, "%s: '%s' names %d runs: compare takes exactly one run each side",
               path, na != 1 ? a : b, na != 1 ? na : nb);
        rc = -2;
        goto done;
    }
    if (rep_run_load(db, path, ia[0], &ra, err, errlen) ||
        rep_run_load(db, path, ib[0], &rb, err, errlen))
        goto done;
    if (!same(ra.dataset, rb.dataset) || !same(ra.dataset_sha, rb.dataset_sha)) {
        ut_err(err, errlen, "%s: runs %s and %s are on different datasets (%s, %s)", path,
               ra.name, rb.name, ra.dataset ? ra.dataset : "?", rb.dataset ? rb.dataset : "?");
        rc = -2;
        goto done;
    }
    c->name_a = ut_strdup(ra.name);
    c->name_b = ut_strdup(rb.name);
    c->dataset = ut_strdup(ra.dataset ? ra.dataset : "?");
    c->pairs = calloc(ra.np + 1, sizeof *c->pairs);
    d = calloc(ra.np + 1, sizeof *d);
    if (!c->name_a || !c->name_b || !c->dataset || !c->pairs || !d)
        goto oom;
    /* both pid lists are sorted (strcmp order): merge */
    size_t i = 0, j = 0;
    while (i < ra.np || j < rb.np) {
        int k = i >= ra.np ? 1 : j >= rb.np ? -1 : strcmp(ra.pid[i], rb.pid[j]);
        if (k < 0) {
            c->only_a += ra.fmean[i++] >= 0;
            continue;
        }
        if (k > 0) {
            c->only_b += rb.fmean[j++] >= 0;
            continue;
        }
        if (ra.fmean[i] >= 0 && rb.fmean[j] >= 0) {
            rep_pair *p = &c->pairs[c->paired];
            if (!(p->problem_id = ut_strdup(ra.pid[i])))
                goto oom;
            p->a = ra.fmean[i];
            p->b = rb.fmean[j];
            d[c->paired] = 100 * (p->b - p->a);
            c->mean_a += p->a;
            c->mean_b += p->b;
            int sa = p->a >= 0.5, sb = p->b >= 0.5;
            c->lost += sa && !sb;
            c->gained += sb && !sa;
            c->paired++;
        } else {
            c->only_a += ra.fmean[i] >= 0;
            c->only_b += rb.fmean[j] >= 0;
        }
        i++;
        j++;
    }
    if (c->paired == 0) {
        ut_err(err, errlen, "%s: runs %s and %s have no graded final-round problem in common",
               path, ra.name, rb.name);
        rc = -2;
        goto done;
    }
    c->mean_a /= c->paired;
    c->mean_b /= c->paired;
    c->delta = met_mean(d, c->paired);
    c->seed = seed;
    c->iters = 2000;
    met_bootstrap(d, c->paired, c->iters, seed, 0.95, &c->delta_lo, &c->delta_hi);
    c->p = rep_mcnemar(c->lost, c->gained, &c->exact, &c->chi2);
    rc = 0;
    goto done;
oom:
    ut_err(err, errlen, "out of memory");
done:
    if (rc)
        rep_cmp_free(c);
    free(d);
    free(ia);
    free(ib);
    rep_run_free(&ra);
    rep_run_free(&rb);
    sqlite3_close(db);
    return rc;
}

static const char *test_name(const rep_cmp *c)
{
    return c->exact ? "exact binomial" : "chi-square with continuity correction";
}

void rep_cmp_text(const rep_cmp *c, double max_drop, double alpha, int gate, FILE *f)
{
    fprintf(f, "compare %s (A) -> %s (B) on %s: %d paired problems", c->name_a, c->name_b,
            c->dataset, c->paired);
    if (c->only_a || c->only_b)
        fprintf(f, " (%d only in A, %d only in B: not compared)", c->only_a, c->only_b);
    fprintf(f, "\n  final-round avg: A %.2f%%  B %.2f%%\n", 100 * c->mean_a, 100 * c->mean_b);
    fprintf(f, "  delta B-A: %+.2f points [95%% CI %+.2f, %+.2f] (paired bootstrap, %d "
               "resamples, seed %llu)\n", c->delta, c->delta_lo, c->delta_hi, c->iters,
            (unsigned long long)c->seed);
    fprintf(f, "  McNemar (solved = mean >= 0.5): %d lost, %d gained; %s", c->lost, c->gained,
            test_name(c));
    if (!c->exact)
        fprintf(f, " chi2 = %.4f", c->chi2);
    fprintf(f, ", p = %.6g\n", c->p);
    int nf = c->lost + c->gained;
    fprintf(f, "  flipped problems: %d\n", nf);
    for (int i = 0; i < c->paired; i++) {
        const rep_pair *p = &c->pairs[i];
        int sa = p->a >= 0.5, sb = p->b >= 0.5;
        if (sa != sb)
            fprintf(f, "    %-6s %s  %.2f -> %.2f\n", sa ? "lost" : "gained", p->problem_id,
                    p->a, p->b);
    }
    fprintf(f, "  gate: drop %.2f points (max %.2f), p = %.4g (alpha %.3g): %s\n", -c->delta,
            max_drop, c->p, alpha, gate ? "FAIL (significant regression)" : "pass");
}

int rep_cmp_json(const rep_cmp *c, double max_drop, double alpha, int gate, FILE *f)
{
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return -1;
    cJSON_AddStringToObject(j, "run_a", c->name_a);
    cJSON_AddStringToObject(j, "run_b", c->name_b);
    cJSON_AddStringToObject(j, "dataset", c->dataset);
    cJSON_AddNumberToObject(j, "paired", c->paired);
    cJSON_AddNumberToObject(j, "only_a", c->only_a);
    cJSON_AddNumberToObject(j, "only_b", c->only_b);
    cJSON_AddNumberToObject(j, "mean_a", c->mean_a);
    cJSON_AddNumberToObject(j, "mean_b", c->mean_b);
    cJSON_AddNumberToObject(j, "delta_points", c->delta);
    cJSON_AddNumberToObject(j, "delta_lo", c->delta_lo);
    cJSON_AddNumberToObject(j, "delta_hi", c->delta_hi);
    cJSON_AddNumberToObject(j, "bootstrap_resamples", c->iters);
    cJSON_AddNumberToObject(j, "seed", (double)c->seed);
    cJSON_AddNumberToObject(j, "lost", c->lost);
    cJSON_AddNumberToObject(j, "gained", c->gained);
    cJSON_AddStringToObject(j, "test", c->exact ? "mcnemar-exact" : "mcnemar-chi2-cc");
    if (!c->exact)
        cJSON_AddNumberToObject(j, "chi2", c->chi2);
    cJSON_AddNumberToObject(j, "p", c->p);
    cJSON_AddNumberToObject(j, "max_drop", max_drop);
    cJSON_AddNumberToObject(j, "alpha", alpha);
    cJSON_AddBoolToObject(j, "regression", gate);
    cJSON *fl = cJSON_AddArrayToObject(j, "flipped");
    for (int i = 0; fl && i < c->paired; i++) {
        const rep_pair *p = &c->pairs[i];
        int sa = p->a >= 0.5, sb = p->b >= 0.5;
        if (sa == sb)
            continue;
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddStringToObject(o, "problem", p->problem_id);
        cJSON_AddStringToObject(o, "change", sa ? "lost" : "gained");
        cJSON_AddNumberToObject(o, "a", p->a);
        cJSON_AddNumberToObject(o, "b", p->b);
        cJSON_AddItemToArray(fl, o);
    }
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    if (!s)
        return -1;
    fprintf(f, "%s\n", s);
    free(s);
    return 0;
}

static void esc(FILE *f, const char *s)
{
    rep_esc(f, s, strlen(s));
}

void rep_cmp_html(const rep_cmp *c, double max_drop, double alpha, int gate, FILE *f)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'\">\n<title>zeval compare</title><style>"
          "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse}"
          "td,th{border:1px solid #ddd;padding:3px 6px}.fail{color:#b22}.pass{color:#2a7a2a}"
          "</style></head><body>\n<h1>zeval compare</h1>\n<p>A = <b>", f);
    esc(f, c->name_a);
    fputs("</b>, B = <b>", f);
    esc(f, c->name_b);
    fputs("</b>, dataset ", f);
    esc(f, c->dataset);
    fprintf(f, ", %d paired problems (%d only in A, %d only in B).</p>\n<table>"
               "<tr><th>final-round avg A</th><td>%.2f%%</td></tr>"
               "<tr><th>final-round avg B</th><td>%.2f%%</td></tr>"
               "<tr><th>delta B-A</th><td>%+.2f points [95%% CI %+.2f, %+.2f]</td></tr>"
               "<tr><th>McNemar (%s)</th><td>%d lost, %d gained, p = %.4g</td></tr>"
               "<tr><th>gate (max drop %.2f, alpha %.3g)</th><td class=\"%s\">%s</td></tr>"
               "</table>\n<h2>Flipped problems</h2>\n<table><tr><th>problem</th><th>change</th>"
               "<th>A</th><th>B</th></tr>\n",
            c->paired, c->only_a, c->only_b, 100 * c->mean_a, 100 * c->mean_b, c->delta,
            c->delta_lo, c->delta_hi, test_name(c), c->lost, c->gained, c->p, max_drop, alpha,
            gate ? "fail" : "pass", gate ? "FAIL: significant regression" : "pass");
    for (int i = 0; i < c->paired; i++) {
        const rep_pair *p = &c->pairs[i];
        int sa = p->a >= 0.5, sb = p->b >= 0.5;
        if (sa == sb)
            continue;
        fputs("<tr><td>", f);
        esc(f, p->problem_id);
        fprintf(f, "</td><td>%s</td><td>%.2f</td><td>%.2f</td></tr>\n", sa ? "lost" : "gained",
                p->a, p->b);
    }
    fputs("</table></body></html>\n", f);
}
