/*
 * math_grade.h — the verdict on one math response (../shared/spec/grading.md,
 * A.3, normative): extraction and normalization (math_extract.h), then
 * equivalence of the answer and the gold (math_expr.h).
 */
#ifndef ZEVAL_MATH_GRADE_H
#define ZEVAL_MATH_GRADE_H

#include "math_extract.h"

#include <stddef.h>

typedef enum {
    MA_INTEGER,    /* the answer must evaluate to the gold integer */
    MA_EXPRESSION, /* exact (GMP) or 256-bit (MPFR) equality of one value */
    MA_LIST,       /* unordered multiset of values, each matched once */
} math_answer_type;

/* Parses "integer", "expression" or "list"; -1 if it is none of them. */
int math_answer_type_parse(const char *s);

typedef struct {
    math_answer_type type;
    int has_range;       /* the benchmark declares an integer range (AIME: 0-999) */
    long long range_lo, range_hi;
} math_gold_spec;

typedef struct {
    int correct;
    math_reason reason;  /* MR_OK iff correct */
    char *extracted;     /* the answer as extracted, or NULL (malloc'd) */
    char *normalized;    /* its normalized form, or NULL (malloc'd) */
    char *detail;        /* why a parse failed (for logs), or NULL (malloc'd) */
} math_verdict;

/* Grades response[0..len) against gold.  Never fails on any input: a gold
 * that does not parse gives MR_PARSE_ERROR with the reason in detail.
 * Returns 0, or -1 only when memory runs out. */
int math_grade(const char *response, size_t len, const char *gold, const math_gold_spec *spec,
               math_verdict *out);
void math_verdict_free(math_verdict *v);

/* Whether two normalized answers denote the same value(s) under the Step 4
 * rule (for majority voting and the hedge rule): 1 yes, 0 no. */
int math_same_answer(const char *a, const char *b, int list);

#endif
