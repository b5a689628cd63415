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
 *
 * Also accepted (leniency toward unnormalized input): \dfrac, \tfrac,
 * \left/\right, \cdot, \times, *, /, \div, [] and \{\} brackets,
 * {n \choose k}, {a \over b}, \ln, \log_b, \exp, \sin, \cos, \tan,
 * \arcsin, \arccos, \arctan, and the unicode minus, times, divide, pi and
 * root signs.  Conventions (details in math_expr.c): an unbraced TeX
 * argument is one token and a split digit run (2^10, \frac123) is a parse
 * error; a digit never starts a juxtaposed factor (`2 3`, `1e5` are
 * errors); odd roots of negatives are real (\sqrt[3]{-8} = -2); \log
 * needs a base; 0^0 = 1.  Parse errors are messages naming the problem
 * and its offset.  Thread use: each thread should call mpfr_free_cache()
 * before it exits (MPFR caches pi per thread).
 */
#ifndef ZEVAL_MATH_EXPR_H
#define ZEVAL_MATH_EXPR_H

#include <stddef.h>

typedef struct mx_expr mx_expr;

/* Parses s[0..len).  NULL on failure, with a message in err. */
mx_expr *mx_parse(const char *s, size_t len, char *err, size_t errlen);
void mx_free(mx_expr *e);

/* 1 if a and b denote the same number, 0 if not, -1 if either cannot be
 * evaluated (division by zero, even root of a negative, too large).  b is
 * the reference (the gold): the numeric tolerance is 1e-30 * max(1, |b|). */
int mx_equal(const mx_expr *a, const mx_expr *b);

/* 1 if e is exactly an integer (after exact evaluation), writing its
 * decimal digits to *dec (malloc'd); 0 if it is not an integer; -1 if it
 * cannot be evaluated.  An expression that is not exactly evaluable but
 * lies within mx_equal's tolerance of an integer (\sqrt{8}\sqrt{2},
 * \log_2 8) counts as that integer, so mx_integer agrees with mx_equal. */
int mx_integer(const mx_expr *e, char **dec);

/* 0 if e evaluates, else -1 with the reason ("division by zero", "number
 * too large", ...) in err, for logging a failed comparison. */
int mx_check(const mx_expr *e, char *err, size_t errlen);

/* A canonical string for e's value, for grouping equal answers (majority
 * voting): "p/q" or "p" for rationals (lowest terms), the integer for
 * values within mx_equal's tolerance of one, else 40 significant digits
 * ("3.141592653589793238462643383279502884197e+00").  malloc'd; NULL if e
 * cannot be evaluated.  Two values equal under mx_equal get the same string
 * except in the rare case where they round differently at the 40th digit. */
char *mx_canonical(const mx_expr *e);

#endif
