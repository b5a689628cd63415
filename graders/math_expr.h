/*
 * math_expr.h — exact equivalence of math answers written in LaTeX
 * (../shared/spec/grading.md, A.3 Step 3 item 8 and Step 4).
 *
 * Input is an answer string after the text normalization of
 * math_extract.h: no `$`, `\left`, `\dfrac`, units or `x =` prefixes, but
 * still LaTeX.  The parser builds an expression over integers, decimal
 * literals (exact rationals), \frac, \sqrt{}, \sqrt[n]{}, ^, !, \binom,
 * \cdot/\times, juxtaposition (multiplication), mixed numbers (149\frac{1}{3}),
 * unary minus, parentheses, \pi and e.  Equality is exact (GMP) when both
 * sides are rational and otherwise numeric with MPFR at >= 256 bits
 * (|a-b| <= 1e-30 * max(1, |b|)).  Nothing here crashes or hangs on any
 * input: sizes of intermediate integers are bounded and an expression that
 * exceeds them is an evaluation error, not a verdict.
 */
#ifndef ZEVAL_MATH_EXPR_H
#define ZEVAL_MATH_EXPR_H

#include <stddef.h>

typedef struct mx_expr mx_expr;

/* Parses s[0..len).  NULL on failure, with a message in err. */
mx_expr *mx_parse(const char *s, size_t len, char *err, size_t errlen);
void mx_free(mx_expr *e);

/* 1 if a and b denote the same number, 0 if not, -1 if either cannot be
 * evaluated (division by zero, even root of a negative, too large). */
int mx_equal(const mx_expr *a, const mx_expr *b);

/* 1 if e is exactly an integer (after exact evaluation), writing its
 * decimal digits to *dec (malloc'd); 0 if it is not an integer; -1 if it
 * cannot be evaluated. */
int mx_integer(const mx_expr *e, char **dec);

#endif
