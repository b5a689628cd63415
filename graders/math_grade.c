/*
 * math_grade.c — one verdict per response: extract (Steps 0-2), normalize
 * (Step 3), split into values (items 9-10), then compare with the gold
 * (Step 4).  The hedge rule of Step 1 compares every box on the final
 * line with the chosen one under the same equivalence.
 */
#include "math_grade.h"
#include "math_expr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int math_answer_type_parse(const char *s)
{
    if (!s)
        return -1;
    if (strcmp(s, "integer") == 0)
        return MA_INTEGER;
    if (strcmp(s, "expression") == 0)
        return MA_EXPRESSION;
    if (strcmp(s, "list") == 0)
        return MA_LIST;
    return -1;
}

/* The values of one normalized answer: its elements, each parsed. */
typedef struct {
    char **text;
    mx_expr **expr;
    size_t n;
} values;

static void values_free(values *v)
{
    for (size_t i = 0; i < v->n; i++)
        mx_free(v->expr ? v->expr[i] : NULL);
    free(v->expr);
    math_strings_free(v->text, v->n);
    memset(v, 0, sizeof *v);
}

/* Splits and parses a normalized answer.  0 on success; -1 with a message
 * in err when an element does not parse (or there is none). */
static int values_parse(const char *norm, int list, values *v, char *err, size_t errlen)
{
    memset(v, 0, sizeof *v);
    if (math_split(norm, list, &v->text, &v->n) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (v->n == 0) {
        snprintf(err, errlen, "empty after normalization");
        return -1;
    }
    v->expr = calloc(v->n, sizeof *v->expr);
    if (!v->expr) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < v->n; i++) {
        char e[256];
        v->expr[i] = mx_parse(v->text[i], strlen(v->text[i]), e, sizeof e);
        if (!v->expr[i]) {
            snprintf(err, errlen, "'%.200s': %s", v->text[i], e);
            return -1;
        }
    }
    return 0;
}

/* Multiset equality: same count, each element of a matched once in b. */
static int values_equal(const values *a, const values *b)
{
    if (a->n != b->n)
        return 0;
    if (a->n == 1)
        return mx_equal(a->expr[0], b->expr[0]) == 1;
    unsigned char used[64];
    unsigned char *u = b->n <= sizeof used ? used : calloc(b->n, 1);
    if (!u)
        return 0;
    memset(u, 0, b->n <= sizeof used ? b->n : 0);
    int ok = 1;
    for (size_t i = 0; i < a->n && ok; i++) {
        size_t j = 0;
        while (j < b->n && (u[j] || mx_equal(a->expr[i], b->expr[j]) != 1))
            j++;
        if (j == b->n)
            ok = 0;
        else
            u[j] = 1;
    }
    if (u != used)
        free(u);
    return ok;
}

int math_same_answer(const char *a, const char *b, int list)
{
    values va, vb;
    char e[64];
    int ra = values_parse(a, list, &va, e, sizeof e);
    int rb = values_parse(b, list, &vb, e, sizeof e);
    int same = (ra == 0 && rb == 0) ? values_equal(&va, &vb) : strcmp(a, b) == 0;
    values_free(&va);
    values_free(&vb);
    return same;
}

static char *dup_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return strdup(buf);
}

/* Parses a decimal integer string that fits in long long. */
static int dec_to_ll(const char *s, long long *out)
{
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s)
        return -1;
    *out = v;
    return 0;
}

/* Step 4 for the integer type.  Sets v->correct/reason/detail. */
static void grade_integer(const values *ans, const values *gold, const math_gold_spec *spec,
                          math_verdict *v)
{
    v->reason = MR_WRONG;
    if (gold->n != 1) {
        v->reason = MR_PARSE_ERROR;
        v->detail = dup_printf("gold has %zu values, an integer answer has one", gold->n);
        return;
    }
    char *gd = NULL, *ad = NULL;
    if (mx_integer(gold->expr[0], &gd) != 1) {
        v->reason = MR_PARSE_ERROR;
        v->detail = dup_printf("gold '%.200s' is not an integer", gold->text[0]);
        goto done;
    }
    if (ans->n != 1) {
        v->detail = dup_printf("%zu values for a single integer", ans->n);
        goto done;
    }
    int r = mx_integer(ans->expr[0], &ad);
    if (r != 1) {
        v->detail = strdup(r == 0 ? "not an integer" : "cannot be evaluated");
        goto done;
    }
    if (spec->has_range) {
        long long x;
        if (dec_to_ll(ad, &x) != 0 || x < spec->range_lo || x > spec->range_hi) {
            v->detail = dup_printf("outside the declared range [%lld, %lld]", spec->range_lo,
                                   spec->range_hi);
            goto done;
        }
    }
    if (strcmp(ad, gd) == 0) {
        v->correct = 1;
        v->reason = MR_OK;
    }
done:
    free(gd);
    free(ad);
}

int math_grade(const char *response, size_t len, const char *gold, const math_gold_spec *spec,
               math_verdict *v)
{
    memset(v, 0, sizeof *v);
    int list = spec->type == MA_LIST;
    math_extraction x;
    if (math_extract(response, len, list, &x) != 0)
        return -1;
    values va = {0}, vg = {0};
    char err[512];
    int rc = 0;

    v->reason = x.reason;
    if (x.reason != MR_OK)
        goto done;
    if (!(v->extracted = strdup(x.extracted)) ||
        !(v->normalized = math_normalize(x.extracted, strlen(x.extracted), list))) {
        rc = -1;
        goto done;
    }

    /* Step 1, single-valued gold: different values boxed on the final line
     * are a hedge. */
    if (!list && x.n_line_boxes > 1) {
        for (size_t i = 0; i + 1 < x.n_line_boxes; i++) {
            const char *b = x.line_boxes[i];
            char *nb = math_normalize(b, strlen(b), 0);
            int same = !nb || !*nb || math_same_answer(nb, v->normalized, 0);
            free(nb);
            if (!same) {
                v->reason = MR_HEDGE;
                goto done;
            }
        }
    }

    char *ng = math_normalize(gold, strlen(gold), list);
    if (!ng) {
        rc = -1;
        goto done;
    }
    int gbad = values_parse(ng, list, &vg, err, sizeof err);
    free(ng);
    if (gbad) {
        v->reason = MR_PARSE_ERROR;
        v->detail = dup_printf("gold %s", err);
        goto done;
    }
    if (values_parse(v->normalized, list, &va, err, sizeof err)) {
        v->reason = MR_PARSE_ERROR;
        v->detail = dup_printf("answer %s", err);
        goto done;
    }
    if (spec->type == MA_INTEGER) {
        grade_integer(&va, &vg, spec, v);
    } else if (values_equal(&va, &vg)) {
        v->correct = 1;
        v->reason = MR_OK;
    } else {
        v->reason = MR_WRONG;
        if (va.n != vg.n)
            v->detail = dup_printf("%zu values, the gold has %zu", va.n, vg.n);
    }
done:
    values_free(&va);
    values_free(&vg);
    math_extraction_free(&x);
    return rc;
}

void math_verdict_free(math_verdict *v)
{
    free(v->extracted);
    free(v->normalized);
    free(v->detail);
    memset(v, 0, sizeof *v);
}
