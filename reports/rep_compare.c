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
    for (int g = 0; g < c->ngroups; g++)
        free(c->groups[g].value);
    free(c->groups);
    free(c->by);
    memset(c, 0, sizeof *c);
}

static int same(const char *x, const char *y)
{
    return !x || !y || !strcmp(x, y);
}

/* compare --by: c's paired problems grouped by the value of by->field in
 * run A's records, each group compared as the pair is. */
static int compare_groups(const rep_by_opts *by, rep_cmp *c, char *err, size_t errlen)
{
    int n = c->paired, rc = -1;
    const char **pids = calloc((size_t)n + 1, sizeof *pids);
    char **labels = calloc((size_t)n + 1, sizeof *labels), **values = NULL;
    int *order = calloc((size_t)n + 1, sizeof *order), *pg = calloc((size_t)n + 1, sizeof *pg);
    double *d = calloc((size_t)n + 1, sizeof *d);
    if (!(c->by = ut_strdup(by->field)) || !pids || !labels || !order || !pg || !d)
        goto oom;
    for (int i = 0; i < n; i++)
        pids[i] = c->pairs[i].problem_id;
    if (by->labels(by->ctx, c->name_a, pids, (size_t)n, labels, order, err, errlen))
        goto done;
    int ng;
    if (met_groups(labels, order, (size_t)n, &values, &ng, pg))
        goto oom;
    if (!(c->groups = calloc((size_t)ng + 1, sizeof *c->groups))) {
        for (int g = 0; g < ng; g++)
            free(values[g]);
        goto oom;
    }
    c->ngroups = ng;
    for (int g = 0; g < ng; g++) {
        rep_group *x = &c->groups[g];
        x->value = values[g];
        for (int i = 0; i < n; i++) {
            if (pg[i] != g)
                continue;
            const rep_pair *p = &c->pairs[i];
            d[x->paired++] = 100 * (p->b - p->a);
            x->mean_a += p->a;
            x->mean_b += p->b;
            x->lost += p->a >= 0.5 && p->b < 0.5;
            x->gained += p->b >= 0.5 && p->a < 0.5;
        }
        x->mean_a /= x->paired;
        x->mean_b /= x->paired;
        x->delta = met_mean(d, x->paired);
        met_bootstrap(d, x->paired, c->iters, c->seed, 0.95, &x->delta_lo, &x->delta_hi);
        x->p = rep_mcnemar(x->lost, x->gained, NULL, NULL);
    }
    rc = 0;
    goto done;
oom:
    ut_err(err, errlen, "out of memory");
done:
    for (int i = 0; labels && i < n; i++)
        free(labels[i]);
    free(labels);
    free(values);
    free(pids);
    free(order);
    free(pg);
    free(d);
    return rc;
}

/* Compares runs ia (A) and ib (B) of db; returns as rep_compare_set. */
static int compare_ids(sqlite3 *db, const char *path, long long ia, long long ib, uint64_t seed,
                       const rep_by_opts *by, rep_cmp *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    rep_run ra = {0}, rb = {0};
    int rc = -1;
    double *d = NULL;
    if (rep_run_load(db, path, ia, &ra, err, errlen) ||
        rep_run_load(db, path, ib, &rb, err, errlen))
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
    c->p_adj = c->p;
    c->m = 1;
    if (by && compare_groups(by, c, err, errlen))
        goto done;
    rc = 0;
    goto done;
oom:
    ut_err(err, errlen, "out of memory");
done:
    if (rc)
        rep_cmp_free(c);
    free(d);
    rep_run_free(&ra);
    rep_run_free(&rb);
    return rc;
}

int rep_cmp_gate(const rep_cmp *c, double max_drop, double alpha)
{
    return -c->delta > max_drop && c->p_adj < alpha;
}

void rep_cmp_set_free(rep_cmp_set *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++)
        rep_cmp_free(&s->c[i]);
    free(s->c);
    for (int i = 0; i < s->n_only_a; i++)
        free(s->only_a[i]);
    for (int i = 0; i < s->n_only_b; i++)
        free(s->only_b[i]);
    free(s->only_a);
    free(s->only_b);
    memset(s, 0, sizeof *s);
}

/* The names of runs ids[0..n) (malloc'd array of malloc'd strings). */
static char **run_names(sqlite3 *db, const long long *ids, int n)
{
    char **v = calloc((size_t)n + 1, sizeof *v);
    sqlite3_stmt *st = NULL;
    if (!v || sqlite3_prepare_v2(db, "SELECT name FROM runs WHERE id = ?", -1, &st, NULL)) {
        free(v);
        return NULL;
    }
    int ok = 1;
    for (int i = 0; i < n && ok; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, ids[i]);
        const char *t = sqlite3_step(st) == SQLITE_ROW
                            ? (const char *)sqlite3_column_text(st, 0) : NULL;
        ok = (v[i] = ut_strdup(t ? t : "")) != NULL;
    }
    sqlite3_finalize(st);
    if (!ok) {
        for (int i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return NULL;
    }
    return v;
}

/* What follows the selector sel in run name (sel itself, or an id: "") */
static const char *past(const char *name, const char *sel)
{
    size_t l = strlen(sel);
    return !strncmp(name, sel, l) && name[l] == '/' ? name + l : "";
}

static int by_p(const void *x, const void *y)
{
    const rep_cmp *a = *(const rep_cmp *const *)x, *b = *(const rep_cmp *const *)y;
    return (a->p > b->p) - (a->p < b->p);
}

int rep_compare_set(const char *path, const char *a, const char *b, uint64_t seed,
                    const rep_by_opts *by, rep_cmp_set *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    sqlite3 *db = NULL;
    long long *ia = NULL, *ib = NULL;
    char **na_ = NULL, **nb_ = NULL;
    int na = 0, nb = 0, rc = -1;
    int *used = NULL;
    rep_cmp **ord = NULL;
    if (rep_db_open(path, &db, err, errlen))
        goto done;
    int e = rep_resolve(db, path, &a, 1, &ia, &na, err, errlen);
    if (!e)
        e = rep_resolve(db, path, &b, 1, &ib, &nb, err, errlen);
    if (e) {
        rc = e > 0 ? -2 : -1;
        goto done;
    }
    out->c = calloc((size_t)(na < nb ? na : nb) + 1, sizeof *out->c);
    out->only_a = calloc((size_t)na + 1, sizeof *out->only_a);
    out->only_b = calloc((size_t)nb + 1, sizeof *out->only_b);
    used = calloc((size_t)nb + 1, sizeof *used);
    if (!out->c || !out->only_a || !out->only_b || !used)
        goto oom;
    if (na == 1 && nb == 1) { /* two runs, whatever their names */
        if ((rc = compare_ids(db, path, ia[0], ib[0], seed, by, &out->c[0], err, errlen)))
            goto done;
        out->n = 1;
        goto done;
    }
    if (!(na_ = run_names(db, ia, na)) || !(nb_ = run_names(db, ib, nb)))
        goto oom;
    for (int i = 0; i < na; i++) {
        int j = 0;
        while (j < nb && (used[j] || strcmp(past(na_[i], a), past(nb_[j], b))))
            j++;
        if (j == nb) {
            out->only_a[out->n_only_a++] = na_[i];
            na_[i] = NULL;
            continue;
        }
        used[j] = 1;
        if ((rc = compare_ids(db, path, ia[i], ib[j], seed, by, &out->c[out->n], err, errlen)))
            goto done;
        out->n++;
        rc = -1;
    }
    for (int j = 0; j < nb; j++)
        if (!used[j]) {
            out->only_b[out->n_only_b++] = nb_[j];
            nb_[j] = NULL;
        }
    if (out->n == 0) {
        ut_err(err, errlen, "%s: no run of '%s' pairs with one of '%s' (runs pair by the "
               "name past each: %s/X with %s/X)", path, a, b, a, b);
        rc = -2;
        goto done;
    }
    /* Holm: the k-th smallest p times (m - k), made monotone, at most 1 */
    if (!(ord = malloc((size_t)out->n * sizeof *ord)))
        goto oom;
    for (int i = 0; i < out->n; i++)
        ord[i] = &out->c[i];
    qsort(ord, (size_t)out->n, sizeof *ord, by_p);
    double run = 0;
    for (int k = 0; k < out->n; k++) {
        double v = fmin(1, (double)(out->n - k) * ord[k]->p);
        run = fmax(run, v);
        ord[k]->p_adj = run;
        ord[k]->m = out->n;
    }
    rc = 0;
    goto done;
oom:
    ut_err(err, errlen, "out of memory");
done:
    if (rc)
        rep_cmp_set_free(out);
    for (int i = 0; na_ && i < na; i++)
        free(na_[i]);
    for (int j = 0; nb_ && j < nb; j++)
        free(nb_[j]);
    free(na_);
    free(nb_);
    free(ord);
    free(used);
    free(ia);
    free(ib);
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
    if (c->by) {
        int w = 5;
        for (int g = 0; g < c->ngroups; g++) {
            int cols = 0;
            for (const char *q = c->groups[g].value; *q; q++)
                cols += ((unsigned char)*q & 0xc0) != 0x80;
            w = cols > w ? cols : w;
        }
        w = w > 40 ? 40 : w;
        fprintf(f, "  by %s (for orientation: p not adjusted, not part of the gate):\n    ",
                c->by);
        ut_put_cols(f, "value", w);
        fputs("  problems  A        B        delta B-A [95% CI]       lost gained  p\n", f);
        for (int g = 0; g < c->ngroups; g++) {
            const rep_group *x = &c->groups[g];
            fputs("    ", f);
            ut_put_cols(f, x->value, w);
            fprintf(f, "  %8d  %6.2f%%  %6.2f%%  %+7.2f [%+7.2f, %+7.2f]  %4d %6d  %.4g\n",
                    x->paired, 100 * x->mean_a, 100 * x->mean_b, x->delta, x->delta_lo,
                    x->delta_hi, x->lost, x->gained, x->p);
        }
    }
    if (c->m > 1)
        fprintf(f, "  gate: drop %.2f points (max %.2f), Holm-adjusted p = %.4g over %d "
                   "comparisons (alpha %.3g): %s\n", -c->delta + 0.0, max_drop, c->p_adj, c->m,
                alpha, gate ? "FAIL (significant regression)" : "pass");
    else
        fprintf(f, "  gate: drop %.2f points (max %.2f), p = %.4g (alpha %.3g): %s\n",
                -c->delta + 0.0, max_drop, c->p, alpha,
                gate ? "FAIL (significant regression)" : "pass");
}

static cJSON *cmp_json(const rep_cmp *c, double max_drop, double alpha, int gate)
{
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
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
    if (c->m > 1) {
        cJSON_AddNumberToObject(j, "p_holm", c->p_adj);
        cJSON_AddNumberToObject(j, "comparisons", c->m);
    }
    cJSON_AddNumberToObject(j, "max_drop", max_drop);
    cJSON_AddNumberToObject(j, "alpha", alpha);
    cJSON_AddBoolToObject(j, "regression", gate);
    if (c->by) {
        cJSON *o = cJSON_AddObjectToObject(j, "by");
        cJSON *gs = o ? cJSON_AddArrayToObject(o, "groups") : NULL;
        if (!gs) {
            cJSON_Delete(j);
            return NULL;
        }
        cJSON_AddStringToObject(o, "field", c->by);
        for (int g = 0; g < c->ngroups; g++) {
            const rep_group *x = &c->groups[g];
            cJSON *e = cJSON_CreateObject();
            if (!e || !cJSON_AddItemToArray(gs, e)) {
                cJSON_Delete(e);
                cJSON_Delete(j);
                return NULL;
            }
            cJSON_AddStringToObject(e, "value", x->value);
            cJSON_AddNumberToObject(e, "paired", x->paired);
            cJSON_AddNumberToObject(e, "mean_a", x->mean_a);
            cJSON_AddNumberToObject(e, "mean_b", x->mean_b);
            cJSON_AddNumberToObject(e, "delta_points", x->delta);
            cJSON_AddNumberToObject(e, "delta_lo", x->delta_lo);
            cJSON_AddNumberToObject(e, "delta_hi", x->delta_hi);
            cJSON_AddNumberToObject(e, "lost", x->lost);
            cJSON_AddNumberToObject(e, "gained", x->gained);
            cJSON_AddNumberToObject(e, "p", x->p);
        }
    }
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
    return j;
}

static int print_json(cJSON *j, FILE *f)
{
    char *s = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    if (!s)
        return -1;
    fprintf(f, "%s\n", s);
    free(s);
    return 0;
}

int rep_cmp_json(const rep_cmp *c, double max_drop, double alpha, int gate, FILE *f)
{
    return print_json(cmp_json(c, max_drop, alpha, gate), f);
}

static int set_gates(const rep_cmp_set *s, double max_drop, double alpha)
{
    int n = 0;
    for (int i = 0; i < s->n; i++)
        n += rep_cmp_gate(&s->c[i], max_drop, alpha);
    return n;
}

void rep_cmp_set_text(const rep_cmp_set *s, const char *a, const char *b, double max_drop,
                      double alpha, FILE *f)
{
    fprintf(f, "compare %s (A) -> %s (B): %d pairs of runs, paired by the names past %s and "
               "%s\n\n", a, b, s->n, a, b);
    for (int i = 0; i < s->n; i++) {
        rep_cmp_text(&s->c[i], max_drop, alpha, rep_cmp_gate(&s->c[i], max_drop, alpha), f);
        fputc('\n', f);
    }
    int w = 5;
    for (int i = 0; i < s->n; i++)
        if ((int)strlen(s->c[i].name_b) > w)
            w = (int)strlen(s->c[i].name_b);
    fprintf(f, "summary (p-values Holm-adjusted over %d comparisons):\n", s->n);
    fprintf(f, "  %-*s  %8s  %8s  %8s  %-18s  %8s  %8s  %s\n", w, "run B", "avg A", "avg B",
            "delta", "95% CI", "p", "p(Holm)", "gate");
    for (int i = 0; i < s->n; i++) {
        const rep_cmp *c = &s->c[i];
        char ci[48];
        snprintf(ci, sizeof ci, "[%+.2f, %+.2f]", c->delta_lo, c->delta_hi);
        fprintf(f, "  %-*s  %7.2f%%  %7.2f%%  %+8.2f  %-18s  %8.4g  %8.4g  %s\n", w, c->name_b,
                100 * c->mean_a, 100 * c->mean_b, c->delta, ci, c->p, c->p_adj,
                rep_cmp_gate(c, max_drop, alpha) ? "FAIL" : "pass");
    }
    for (int i = 0; i < s->n_only_a; i++)
        fprintf(f, "  not compared: %s (A; no run of B past %s)\n", s->only_a[i], b);
    for (int i = 0; i < s->n_only_b; i++)
        fprintf(f, "  not compared: %s (B; no run of A past %s)\n", s->only_b[i], a);
    int g = set_gates(s, max_drop, alpha);
    if (g)
        fprintf(f, "gate: FAIL (%d of %d pairs: significant regression)\n", g, s->n);
    else
        fprintf(f, "gate: pass (%d pairs)\n", s->n);
}

int rep_cmp_set_json(const rep_cmp_set *s, const char *a, const char *b, double max_drop,
                     double alpha, FILE *f)
{
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return -1;
    cJSON_AddStringToObject(j, "a", a);
    cJSON_AddStringToObject(j, "b", b);
    cJSON_AddStringToObject(j, "adjustment", "holm");
    cJSON *arr = cJSON_AddArrayToObject(j, "comparisons");
    for (int i = 0; arr && i < s->n; i++) {
        cJSON *o = cmp_json(&s->c[i], max_drop, alpha, rep_cmp_gate(&s->c[i], max_drop, alpha));
        if (!o) {
            cJSON_Delete(j);
            return -1;
        }
        cJSON_AddItemToArray(arr, o);
    }
    cJSON *oa = cJSON_AddArrayToObject(j, "unpaired_a"), *ob = cJSON_AddArrayToObject(j,
                                                                                   "unpaired_b");
    for (int i = 0; oa && i < s->n_only_a; i++)
        cJSON_AddItemToArray(oa, cJSON_CreateString(s->only_a[i]));
    for (int i = 0; ob && i < s->n_only_b; i++)
        cJSON_AddItemToArray(ob, cJSON_CreateString(s->only_b[i]));
    cJSON_AddNumberToObject(j, "max_drop", max_drop);
    cJSON_AddNumberToObject(j, "alpha", alpha);
    cJSON_AddBoolToObject(j, "regression", set_gates(s, max_drop, alpha) > 0);
    if (!arr || !oa || !ob) {
        cJSON_Delete(j);
        return -1;
    }
    return print_json(j, f);
}

static void esc(FILE *f, const char *s)
{
    rep_esc(f, s, strlen(s));
}

static void html_head(FILE *f)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'\">\n<title>zeval compare</title><style>"
          "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse}"
          "td,th{border:1px solid #ddd;padding:3px 6px}.fail{color:#b22}.pass{color:#2a7a2a}"
          "</style></head><body>\n<h1>zeval compare</h1>\n", f);
}

static void html_flipped(const rep_cmp *c, FILE *f);

/* One pair's section (h: the heading level of its flipped problems). */
static void html_pair(const rep_cmp *c, double max_drop, double alpha, int gate, int h, FILE *f)
{
    fputs("<p>A = <b>", f);
    esc(f, c->name_a);
    fputs("</b>, B = <b>", f);
    esc(f, c->name_b);
    fputs("</b>, dataset ", f);
    esc(f, c->dataset);
    fprintf(f, ", %d paired problems (%d only in A, %d only in B).</p>\n<table>"
               "<tr><th>final-round avg A</th><td>%.2f%%</td></tr>"
               "<tr><th>final-round avg B</th><td>%.2f%%</td></tr>"
               "<tr><th>delta B-A</th><td>%+.2f points [95%% CI %+.2f, %+.2f]</td></tr>"
               "<tr><th>McNemar (%s)</th><td>%d lost, %d gained, p = %.4g</td></tr>",
            c->paired, c->only_a, c->only_b, 100 * c->mean_a, 100 * c->mean_b, c->delta,
            c->delta_lo, c->delta_hi, test_name(c), c->lost, c->gained, c->p);
    if (c->m > 1)
        fprintf(f, "<tr><th>Holm-adjusted over %d comparisons</th><td>p = %.4g</td></tr>",
                c->m, c->p_adj);
    fprintf(f, "<tr><th>gate (max drop %.2f, alpha %.3g)</th><td class=\"%s\">%s</td></tr>"
               "</table>\n<h%d>Flipped problems</h%d>\n<table><tr><th>problem</th><th>change</th>"
               "<th>A</th><th>B</th></tr>\n",
            max_drop, alpha, gate ? "fail" : "pass", gate ? "FAIL: significant regression" : "pass",
            h, h);
    html_flipped(c, f);
    if (c->by) {
        fprintf(f, "<h%d>By ", h);
        esc(f, c->by);
        fprintf(f, "</h%d>\n<p><small>For orientation: p-values not adjusted, not part of the "
                   "gate.</small></p>\n<table><tr><th>", h);
        esc(f, c->by);
        fputs("</th><th>problems</th><th>A</th><th>B</th><th>delta B-A [95% CI]</th>"
              "<th>lost</th><th>gained</th><th>p</th></tr>\n", f);
        for (int g = 0; g < c->ngroups; g++) {
            const rep_group *x = &c->groups[g];
            fputs("<tr><td>", f);
            esc(f, x->value);
            fprintf(f, "</td><td>%d</td><td>%.2f%%</td><td>%.2f%%</td><td>%+.2f [%+.2f, %+.2f]"
                       "</td><td>%d</td><td>%d</td><td>%.4g</td></tr>\n", x->paired,
                    100 * x->mean_a, 100 * x->mean_b, x->delta, x->delta_lo, x->delta_hi,
                    x->lost, x->gained, x->p);
        }
        fputs("</table>\n", f);
    }
}

/* Pair c's flipped problems, as table rows closed by </table>. */
static void html_flipped(const rep_cmp *c, FILE *f)
{
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
    fputs("</table>\n", f);
}

void rep_cmp_html(const rep_cmp *c, double max_drop, double alpha, int gate, FILE *f)
{
    html_head(f);
    html_pair(c, max_drop, alpha, gate, 2, f);
    fputs("</body></html>\n", f);
}

void rep_cmp_set_html(const rep_cmp_set *s, const char *a, const char *b, double max_drop,
                      double alpha, FILE *f)
{
    html_head(f);
    fputs("<p>A = <b>", f);
    esc(f, a);
    fputs("</b>, B = <b>", f);
    esc(f, b);
    fprintf(f, "</b>: %d pairs of runs, paired by the names past them; p-values Holm-adjusted "
               "over the %d comparisons.</p>\n<table><tr><th>B</th><th>A</th><th>B</th>"
               "<th>delta</th><th>95%% CI</th><th>p</th><th>p (Holm)</th><th>gate</th></tr>\n",
            s->n, s->n);
    for (int i = 0; i < s->n; i++) {
        const rep_cmp *c = &s->c[i];
        int g = rep_cmp_gate(c, max_drop, alpha);
        fputs("<tr><td>", f);
        esc(f, c->name_b);
        fprintf(f, "</td><td>%.2f%%</td><td>%.2f%%</td><td>%+.2f</td><td>[%+.2f, %+.2f]</td>"
                   "<td>%.4g</td><td>%.4g</td><td class=\"%s\">%s</td></tr>\n",
                100 * c->mean_a, 100 * c->mean_b, c->delta, c->delta_lo, c->delta_hi, c->p,
                c->p_adj, g ? "fail" : "pass", g ? "FAIL" : "pass");
    }
    fputs("</table>\n", f);
    for (int i = 0; i < s->n_only_a + s->n_only_b; i++) {
        fputs("<p>not compared: ", f);
        esc(f, i < s->n_only_a ? s->only_a[i] : s->only_b[i - s->n_only_a]);
        fputs(i < s->n_only_a ? " (A)</p>\n" : " (B)</p>\n", f);
    }
    int g = set_gates(s, max_drop, alpha);
    fprintf(f, "<p class=\"%s\">gate: %s</p>\n", g ? "fail" : "pass",
            g ? "FAIL (significant regression)" : "pass");
    for (int i = 0; i < s->n; i++) {
        fputs("<h2>", f);
        esc(f, s->c[i].name_b);
        fputs("</h2>\n", f);
        html_pair(&s->c[i], max_drop, alpha, rep_cmp_gate(&s->c[i], max_drop, alpha), 3, f);
    }
    fputs("</body></html>\n", f);
}
