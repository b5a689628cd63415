#!/usr/bin/python3
"""math_expr_sympy.py — sympy's verdicts on generated LaTeX expression
pairs, for the cross-check in tests/test_math_expr.c.

Run with Debian's /usr/bin/python3 (python3-sympy).  Every expression is
built once, from one structure, as both a LaTeX string (what the C parser
reads) and a sympy-syntax string (what sympy evaluates), so the two sides
of the cross-check never share a parser.  Pairs are equal by construction
(unreduced fractions, rationalized denominators, expansions, power and root
rewrites, pi/e forms, mixed numbers, factorial/binomial expansions, log and
trig identities) or near misses (off by a small rational, decimal
approximations of irrationals, sign flips, wrong mixed-number readings).
sympy's verdict, following grading.md Step 4: two rationals compare
exactly ("exact"); otherwise numerically different (|a-b| > 1e-30 *
max(1, |b|) at 60 digits) -> 0 ("numeric"); otherwise 1, recording whether
sympy also proved the difference zero with simplify ("symbolic") or only
numerically ("numeric").

Output, one line per pair: id TAB verdict TAB how TAB latex_a TAB latex_b.
Deterministic (fixed seed).  Exit status 77 if sympy is missing.
"""
import random
import sys

try:
    import sympy
except ImportError:
    sys.stderr.write("python3-sympy is not installed\n")
    sys.exit(77)

ATOM, POW, NEG, PROD, SUM = 4, 3, 2, 1, 0


class X:
    """An expression as LaTeX and as sympy syntax; prec of its LaTeX form."""

    def __init__(self, tex, py, prec=ATOM, intlit=False, mixable=False):
        self.tex, self.py, self.prec = tex, py, prec
        self.intlit = intlit      # a plain non-negative integer literal
        self.mixable = mixable    # \frac{p}{q}, integer literals 0 < p < q


def paren(x, style=0):
    return X(r"\left(" + x.tex + r"\right)" if style else "(" + x.tex + ")", x.py)


def at_least(x, prec):
    return x if x.prec >= prec else paren(x)


def num(n):
    if n < 0:
        return neg(num(-n))
    return X(str(n), "Integer(%d)" % n, intlit=True)


def dec(s):
    """A decimal literal, exact on both sides."""
    return X(s, "Rational('%s')" % s)


def frac(a, b, cmd=r"\frac"):
    if isinstance(a, int):
        a, b = num(a), num(b)
    m = a.intlit and b.intlit and 0 < int(a.tex) < int(b.tex)
    if cmd == "short" and len(a.tex) == 1 and len(b.tex) == 1:
        return X(r"\frac" + a.tex + b.tex, "(%s)/(%s)" % (a.py, b.py), mixable=m)
    if cmd == "short":
        cmd = r"\frac"
    return X(cmd + "{" + a.tex + "}{" + b.tex + "}", "(%s)/(%s)" % (a.py, b.py), mixable=m)


def slash(a, b):
    a, b = at_least(a, PROD), at_least(b, POW)
    return X(a.tex + "/" + b.tex, "(%s)/(%s)" % (a.py, b.py), PROD)


def mul(a, b, style="cdot"):
    a, b = at_least(a, PROD), at_least(b, POW if style != "cdot" else NEG)
    juxt_ok = b.tex[0] not in "0123456789.-+" and not (a.intlit and b.mixable)
    if style == "juxt" and juxt_ok:
        op = ""
    elif style == "times":
        op = r" \times "
    elif style == "star":
        op = "*"
    else:
        op = r" \cdot "
    return X(a.tex + op + b.tex, "(%s)*(%s)" % (a.py, b.py), PROD)


def add(a, b):
    b = at_least(b, PROD)
    return X(a.tex + " + " + b.tex, "(%s)+(%s)" % (a.py, b.py), SUM)


def sub(a, b):
    b = at_least(b, PROD)
    return X(a.tex + " - " + b.tex, "(%s)-(%s)" % (a.py, b.py), SUM)


def neg(a):
    a = at_least(a, PROD)
    return X("-" + a.tex, "-(%s)" % a.py, NEG)


def pw(b, e, braces=True):
    b = at_least(b, ATOM)
    et = e.tex if not braces and len(e.tex) == 1 else "{" + e.tex + "}"
    return X(b.tex + "^" + et, "(%s)**(%s)" % (b.py, e.py), POW)


def sqrt(a, short=False):
    if short and len(a.tex) == 1:
        return X(r"\sqrt" + a.tex, "sqrt(%s)" % a.py)
    return X(r"\sqrt{" + a.tex + "}", "sqrt(%s)" % a.py)


def root(a, n):
    return X(r"\sqrt[%d]{%s}" % (n, a.tex), "real_root(%s, %d)" % (a.py, n))


PI = X(r"\pi", "pi")
E = X("e", "E")


def fact(n):
    return X("%d!" % n, "factorial(%d)" % n, POW)


def binom(n, k, style=0):
    if style:
        return X(r"{%d \choose %d}" % (n, k), "binomial(%d, %d)" % (n, k))
    return X(r"\binom{%d}{%d}" % (n, k), "binomial(%d, %d)" % (n, k))


def fn(name, a, style=0):
    body = r"\left(" + a.tex + r"\right)" if style else "(" + a.tex + ")"
    py = {"ln": "log", "exp": "exp"}.get(name, name)
    return X("\\" + name + body, "%s(%s)" % (py, a.py))


def logb(b, a):
    return X(r"\log_{%s}\left(%s\right)" % (b.tex, a.tex), "log(%s, %s)" % (a.py, b.py))


def mixed(w, p, q):
    return X("%d\\frac{%d}{%d}" % (w, p, q), "Integer(%d) + Rational(%d, %d)" % (w, p, q))


def rnd_dec(v, digits):
    """v (sympy number) rounded to `digits` decimals, as a decimal literal."""
    return dec(str(sympy.N(v, digits + 25).round(digits)))


def generate(rng):
    """Yields (latex_a-expression, latex_b-expression) pairs."""
    R = rng.randint
    style = lambda: rng.choice(["cdot", "juxt", "times", "star"])
    fcmd = lambda: rng.choice([r"\frac", r"\dfrac", r"\tfrac", "short"])
    for _ in range(8):  # unreduced fractions
        p, q, k = R(1, 60), R(2, 60), R(2, 90)
        yield frac(p, q, fcmd()), frac(k * p, k * q, fcmd())
        yield frac(k * p, k * q), frac(k * p + 1, k * q)
        yield slash(num(k * p), num(k * q)), frac(p, q)
    for _ in range(6):  # rationalized denominators
        a, b, c = R(1, 20), R(1, 9), rng.choice([2, 3, 5, 6, 7, 10, 11, 13, 23])
        lhs = frac(num(a), mul(num(b), sqrt(num(c), R(0, 1)), "juxt"), fcmd())
        yield lhs, frac(mul(num(a), sqrt(num(c)), "juxt"), num(b * c))
        yield lhs, frac(mul(num(a), sqrt(num(c)), "juxt"), num(b * c + 1))
        yield slash(num(a), sqrt(num(c))), frac(mul(num(a), sqrt(num(c)), style()), num(c))
    for _ in range(6):  # conjugates
        a, c = R(1, 9), rng.choice([2, 3, 5, 7, 11])
        if a * a == c:
            a += 1
        den = a * a - c
        yield (frac(num(1), add(num(a), sqrt(num(c)))),
               frac(sub(num(a), sqrt(num(c))), num(den)))
        yield (frac(num(1), add(num(a), sqrt(num(c)))),
               frac(add(num(a), sqrt(num(c))), num(den)))
        yield (mul(paren(add(num(a), sqrt(num(c), True))), paren(sub(num(a), sqrt(num(c), True))), "juxt"),
               num(den))
    for _ in range(6):  # expansions
        a, b, c = R(1, 9), R(1, 9), rng.choice([2, 3, 5, 6, 7])
        sq = pw(paren(add(num(a), mul(num(b), sqrt(num(c)), "juxt"))), num(2), R(0, 1))
        yield sq, add(num(a * a + b * b * c), mul(num(2 * a * b), sqrt(num(c)), style()))
        yield sq, add(num(a * a + b * b * c + 1), mul(num(2 * a * b), sqrt(num(c)), style()))
        n = R(3, 8)
        s = sympy.expand((1 + sympy.sqrt(2)) ** n + (1 - sympy.sqrt(2)) ** n)
        yield (add(pw(paren(add(num(1), sqrt(num(2)))), num(n)), pw(paren(sub(num(1), sqrt(num(2)))), num(n))),
               num(int(s)))
    for _ in range(6):  # power and root rewrites
        k, m = R(2, 12), rng.choice([2, 3, 5, 6, 7, 10])
        yield sqrt(num(k * k * m)), mul(num(k), sqrt(num(m)), "juxt")
        yield sqrt(num(k * k * m)), mul(num(k), sqrt(num(m + 1)), "juxt")
        yield root(num(k ** 3 * m), 3), mul(num(k), root(num(m), 3), "juxt")
        yield pw(num(m), frac(3, 2)), mul(num(m), sqrt(num(m)), style())
        yield pw(num(k ** 3), frac(2, 3)), num(k * k)
        yield sqrt(frac(k * k, (k + 1) ** 2)), frac(k, k + 1)
        yield mul(pw(num(2), frac(1, 2)), pw(num(2), frac(1, 3)), style()), pw(num(2), frac(5, 6))
        yield root(num(m), 4), sqrt(sqrt(num(m)))
    for _ in range(5):  # pi
        a, b = R(1, 9), R(2, 12)
        yield sub(num(1), frac(num(2), PI)), frac(sub(PI, num(2)), PI)
        yield sub(num(1), frac(num(2), PI)), dec("0.3634")
        yield (add(frac(mul(num(a), PI, "juxt"), num(b)), frac(PI, num(b))),
               frac(mul(num(a + 1), PI, "juxt"), num(b)))
        yield frac(pw(PI, num(2)), num(6)), rnd_dec(sympy.pi ** 2 / 6, R(4, 12))
        yield mul(num(a), PI, "juxt"), frac(mul(num(a * b), PI, "juxt"), num(b))
    for _ in range(3):  # e
        a = R(2, 6)
        yield mul(pw(E, num(a)), E, "juxt"), pw(E, num(a + 1))
        yield pw(paren(add(E, num(1))), num(2)), add(add(pw(E, num(2)), mul(num(2), E, "juxt")), num(1))
        yield E, rnd_dec(sympy.E, R(6, 15))
    for _ in range(4):  # factorials and binomials
        n, k = R(5, 30), R(1, 4)
        yield fact(n), num(int(sympy.factorial(n)))
        yield binom(n, k, R(0, 1)), frac(fact(n), mul(fact(k), fact(n - k)))
        yield binom(n, k), binom(n, n - k)
        yield binom(n, k), binom(n, k + 1)
        a, m = R(10, 30), R(10, 30)
        big = 2 ** a * int(sympy.factorial(m))
        yield mul(pw(num(2), num(a)), fact(m)), num(big)
        yield mul(pw(num(2), num(a)), fact(m)), num(big + 1)
    for _ in range(4):  # decimals
        p, k = R(1, 999), R(1, 4)
        yield dec(str(sympy.Rational(p, 10 ** k).evalf(20)).rstrip("0")), frac(p, 10 ** k)
        yield dec("0." + "3" * R(3, 20)), frac(1, 3)
        yield dec("%d.0" % p), num(p)
    for _ in range(4):  # mixed numbers
        w, q = R(1, 200), R(2, 9)
        p = R(1, q - 1)
        yield mixed(w, p, q), frac(w * q + p, q)
        yield mixed(w, p, q), frac(w * p, q)
        yield neg(mixed(w, p, q)), neg(frac(w * q + p, q))
    for _ in range(4):  # sign flips
        a, b, c = R(1, 30), R(31, 60), rng.choice([2, 3, 5])
        x, y = num(a), mul(num(b), sqrt(num(c)), "juxt")
        yield sub(x, y), sub(y, x)
        yield neg(paren(sub(x, y))), sub(y, x)
    for _ in range(2):  # nested radicals and the spec's examples
        k = R(1, 5)
        yield sqrt(add(num(k * k + 2), mul(num(2 * k), sqrt(num(2)), "juxt"))), add(num(k), sqrt(num(2)))
    yield frac(mul(num(9), sqrt(num(23)), "juxt"), num(23)), slash(num(9), sqrt(num(23)))
    yield frac(mul(num(9), sqrt(num(23)), "juxt"), num(23)), dec("1.877")
    yield frac(2622, 4034), frac(1311, 2017)
    for _ in range(3):  # logarithms
        b, n = R(2, 5), R(2, 6)
        yield fn("ln", num(b ** n)), mul(num(n), fn("ln", num(b), 1), "juxt")
        yield logb(num(b), num(b ** n)), num(n)
        yield logb(num(b * b), num(b ** 3)), frac(3, 2)
        yield fn("ln", num(b)), rnd_dec(sympy.log(b), 16)
    for name, arg, val in [("sin", frac(PI, num(6)), frac(1, 2)),
                           ("cos", frac(PI, num(4)), frac(sqrt(num(2)), num(2))),
                           ("tan", frac(PI, num(3)), sqrt(num(3))),
                           ("sin", frac(PI, num(5)), dec("0.587785252292473")),
                           ("cos", frac(PI, num(3)), frac(1, 3))]:
        yield fn(name, arg, 1), val
    # below the 1e-30 tolerance: equal for us, unequal for exact sympy
    yield add(sqrt(num(2)), pw(num(10), num(-40))), sqrt(num(2))
    yield add(PI, pw(num(10), num(-25))), PI


def main():
    rng = random.Random(20250301)
    tol = sympy.Float("1e-30", 60)
    for i, (a, b) in enumerate(generate(rng)):
        A = sympy.sympify(a.py)
        B = sympy.sympify(b.py)
        d = A - B
        if A.is_Rational and B.is_Rational:
            verdict, how = int(A == B), "exact"
        elif abs(sympy.N(d, 60)) > tol * max(1, abs(sympy.N(B, 60))):
            verdict, how = 0, "numeric"
        else:
            verdict = 1
            z = d == 0 or sympy.simplify(d) == 0
            how = "symbolic" if z else "numeric"
        for s in (a.tex, b.tex):
            assert "\t" not in s and "\n" not in s
        print("%d\t%d\t%s\t%s\t%s" % (i, verdict, how, a.tex, b.tex))


if __name__ == "__main__":
    main()
