#!/usr/bin/env python3
"""Generate tests/data/math_corpus.jsonl: expected verdicts for the math grader.

Every case was written by hand from ../shared/spec/grading.md Part A, section A.3
("Harness rules (normative)"); the verdicts are NOT produced by any grader.
The script only assembles realistic reasoning-model responses around the
hand-chosen final answers and runs consistency checks on the hand-written data:

  * the extraction outcome (Step 0/1/2) declared for a case is re-derived with
    a literal reading of the spec text, and marker-fallback cases must give the
    same answer under several readings of "followed within 100 characters"
    (lazy/per-line/word-boundary), so only unambiguous marker cases survive;
  * for ok/wrong cases an independent high-precision value of the intended
    answer (written by hand as a Python/mpmath expression, or an exact
    Fraction/int) is compared with the gold using the Step 4 rule.

Deterministic: no randomness, output is byte-identical on every run.
Usage: python3 tests/data/make_math_corpus.py [OUT]   (default: next to this file)
"""
import json
import os
import re
import sys
from fractions import Fraction

from mpmath import mp, mpf, sqrt, pi, e, cbrt

mp.prec = 4000  # enough for 3^2025 and 2^25*26! relative comparisons

HERE = os.path.dirname(os.path.abspath(__file__))
AIME = [0, 999]
NBSP = "\u00a0"
NNBSP = "\u202f"
MINUS = "\u2212"


def fac(n):
    r = 1
    for k in range(2, n + 1):
        r *= k
    return r


def T(s):
    """Strip the leading newline/indentation-free text block."""
    return s.strip("\n")


def rep(s, old, new):
    """str.replace that insists the text to replace is present."""
    assert old in s, old
    return s.replace(old, new)


def R1(think, after):
    """DeepSeek-R1 / ZAYA style: explicit <think> ... </think> then the write-up."""
    return "<think>\n" + T(think) + "\n</think>\n\n" + T(after)


def Q3(think, after):
    """Qwen3 chat template style: the opening <think> is in the prompt."""
    return T(think) + "\n</think>\n\n" + T(after)


def FA(summary, box):
    return T(summary) + "\n\n**Final Answer**\n\\[\n\\boxed{" + box + "}\n\\]"


def FAi(summary, box):
    return T(summary) + "\n\nTherefore, the answer is $\\boxed{" + box + "}$."


# ---------------------------------------------------------------------------
# Problem bank: gold, type, declared range, value (exact or mpmath expression),
# and hand-written working ("work": inside the think block, "sol": write-up).
# ---------------------------------------------------------------------------
P = {}


def prob(key, gold, atype, rng, val, work, sol):
    P[key] = dict(gold=gold, t=atype, rng=rng, val=val, work=T(work), sol=T(sol))


prob("aya", "204", "integer", AIME, 204, r"""
Okay, so Aya walks 9 kilometers every morning and then stops at a coffee shop. When she walks at $s$ km/h the whole thing takes 4 hours, including $t$ minutes in the coffee shop. At $s+2$ km/h it takes 2 hours and 24 minutes, again including $t$ minutes. I need the total time at $s + \frac{1}{2}$ km/h.

Let me work in hours. Walking time at speed $s$ is $9/s$. So
$$\frac{9}{s} + \frac{t}{60} = 4.$$
At speed $s+2$: 2 hours 24 minutes is $2.4$ hours, so
$$\frac{9}{s+2} + \frac{t}{60} = 2.4.$$

Subtracting the two equations: $\frac{9}{s} - \frac{9}{s+2} = 1.6$. The left side is $9 \cdot \frac{(s+2) - s}{s(s+2)} = \frac{18}{s(s+2)}$. So $18 = 1.6\, s(s+2)$, which gives $s^2 + 2s = 11.25$.

Multiply by 4: $4s^2 + 8s - 45 = 0$. Discriminant: $64 + 4 \cdot 4 \cdot 45 = 64 + 720 = 784 = 28^2$. So $s = \frac{-8 + 28}{8} = \frac{20}{8} = 2.5$. The other root is negative, discard.

Then $9/2.5 = 3.6$ hours of walking, so $t/60 = 4 - 3.6 = 0.4$ hours, i.e. $t = 24$ minutes.

Check with the second condition: $s + 2 = 4.5$, $9/4.5 = 2$ hours, plus 24 minutes is 2 hours 24 minutes. Good.

Now $s + \frac12 = 3$ km/h. Walking takes $9/3 = 3$ hours $= 180$ minutes. Adding the coffee shop: $180 + 24 = 204$ minutes.

Wait, the question asks for the number of minutes the walk takes her, including the $t$ minutes spent in the coffee shop. Yes, so it's 180 + 24 = 204.
""", r"""
Let $t$ be the time in the coffee shop (in minutes) and work in hours.

**Setting up the equations.**
\[
\frac{9}{s} + \frac{t}{60} = 4, \qquad \frac{9}{s+2} + \frac{t}{60} = 2.4 .
\]

**Solving.** Subtracting gives $\dfrac{18}{s(s+2)} = 1.6$, so $4s^2 + 8s - 45 = 0$ and $s = 2.5$ km/h. Then $\dfrac{9}{2.5} = 3.6$ h, hence $t = 24$ minutes.

**New speed.** At $s + \tfrac12 = 3$ km/h the walk takes $3$ hours $= 180$ minutes, and with the coffee shop the total is $180 + 24 = 204$ minutes.
""")

prob("xy", "025", "integer", AIME, 25, r"""
We have real numbers $x, y > 1$ with $\log_x(y^x) = \log_y(x^{4y}) = 10$. Find $xy$.

First equation: $\log_x(y^x) = x \log_x y = 10$.
Second: $\log_y(x^{4y}) = 4y \log_y x = 10$.

Let $a = \log_x y$. Then $\log_y x = 1/a$. So $x a = 10$ and $4y / a = 10$.

Multiply them: $x a \cdot \frac{4y}{a} = 100$, so $4xy = 100$, $xy = 25$.

Hmm, do such $x, y$ actually exist? From $xa = 10$, $a = 10/x$, and $y = 25/x$. Then we need $\log_x(25/x) = 10/x$, i.e. $\ln(25/x)/\ln x = 10/x$. At $x = 5$: $\ln 5/\ln 5 = 1$ vs $10/5 = 2$. Not equal, but by continuity there's a solution somewhere with $x, y > 1$; the problem says they exist anyway. So $xy = 25$.
""", r"""
Write $a = \log_x y$, so that $\log_y x = \frac1a$.

The conditions become
\[
x\,a = 10, \qquad \frac{4y}{a} = 10 .
\]
Multiplying, $4xy = 100$, so $xy = 25$.
""")

prob("bases", "70", "integer", AIME, 70, r"""
Find the sum of all integer bases $b > 9$ for which $17_b$ is a divisor of $97_b$.

$17_b = b + 7$ and $97_b = 9b + 7$. We need $(b+7) \mid (9b + 7)$.

$9b + 7 = 9(b + 7) - 56$. So $(b+7) \mid 56$.

Since $b > 9$, $b + 7 > 16$. Divisors of 56: 1, 2, 4, 7, 8, 14, 28, 56. Those greater than 16: 28 and 56.

So $b = 21$ or $b = 49$.

Check $b = 21$: $17_{21} = 28$, $97_{21} = 9 \cdot 21 + 7 = 196 = 7 \cdot 28$. Yes.
Check $b = 49$: $17_{49} = 56$, $97_{49} = 441 + 7 = 448 = 8 \cdot 56$. Yes.

Also need the digits 9 and 7 to be valid in base $b$, which they are since $b > 9$.

Sum: $21 + 49 = 70$.
""", r"""
In base $b$ we have $17_b = b + 7$ and $97_b = 9b + 7$. Since
\[
9b + 7 = 9(b+7) - 56,
\]
$b + 7$ divides $97_b$ exactly when $b + 7 \mid 56$. With $b > 9$ we need $b + 7 > 16$, so $b + 7 \in \{28, 56\}$, i.e. $b \in \{21, 49\}$.

The sum of the bases is $21 + 49 = 70$.
""")

prob("logx", "16", "integer", AIME, 16, r"""
Solve $\log_2 x + \log_4 x + \log_{16} x = 7$ for $x$.

$\log_4 x = \frac{\log_2 x}{2}$ and $\log_{16} x = \frac{\log_2 x}{4}$. Let $u = \log_2 x$.

$u + \frac{u}{2} + \frac{u}{4} = \frac{7u}{4} = 7$, so $u = 4$, $x = 2^4 = 16$.

Check: $\log_2 16 = 4$, $\log_4 16 = 2$, $\log_{16} 16 = 1$. Sum is 7. Good.
""", r"""
Let $u = \log_2 x$. Then $\log_4 x = \frac u2$ and $\log_{16} x = \frac u4$, so
\[
u + \frac{u}{2} + \frac{u}{4} = \frac{7u}{4} = 7 \implies u = 4 .
\]
Hence $x = 2^4 = 16$.
""")

prob("pairs", "821", "integer", AIME, 821, r"""
Twelve letters $A$ through $L$ are randomly grouped into six pairs; each pair is written in alphabetical order to form a two-letter word, and the six words are listed alphabetically. Probability that the last word contains $G$ is $\frac{m}{n}$; find $m + n$.

The last word is the one whose first letter is largest. The first letters of the words are the smaller elements of each pair.

Case 1: $G$ is the first letter of the last word. Then $G$ is paired with one of $H, \dots, L$ (5 choices out of 11 partners), and all of the other letters $H..L$ except $G$'s partner must be paired with letters smaller than $G$... Let me redo this carefully. If $G$ is paired with a larger letter, the remaining 4 letters from $\{H,\dots,L\}$ must each be paired with letters from $\{A, \dots, F\}$ — otherwise a pair among them would have a first letter bigger than $G$.

Probability: $G$'s partner is one of the 5 larger letters: $\frac{5}{11}$. Then the 10 remaining letters are $A..F$ (6 letters) and 4 big letters. Each big letter must pair with a small letter: the number of pairings of 10 letters is $9!! = 945$. Favorable: choose partners for the 4 big letters among 6 small ones in order: $6 \cdot 5 \cdot 4 \cdot 3 = 360$, and the remaining 2 small letters pair with each other: 1 way. So $\frac{360}{945} = \frac{8}{21}$.

Case 1 total: $\frac{5}{11} \cdot \frac{8}{21} = \frac{40}{231}$.

Case 2: $G$ is the second letter of the last word, i.e. $G$ is paired with a smaller letter $X$, and $X$ is the largest first letter. $X$ must be $F$... if $X < F$, then $F$ is a first letter or second letter; $F$ paired with something larger than $F$ would make $F$ the first letter bigger than $X$. So $F$ would need to be paired with something smaller — possible. Hmm, but $H..L$ (5 letters) all need partners smaller than $X$, and there aren't enough. Only $X = F$ works: $G$–$F$ pair has probability $\frac{1}{11}$, then $H..L$ must all pair with $A..E$: $5! = 120$ ways out of $9!! = 945$: $\frac{120}{945} = \frac{8}{63}$.

Case 2 total: $\frac{1}{11} \cdot \frac{8}{63} = \frac{8}{693}$.

Sum: $\frac{40}{231} + \frac{8}{693} = \frac{120}{693} + \frac{8}{693} = \frac{128}{693}$.

$693 = 9 \cdot 7 \cdot 11$ and $128 = 2^7$, coprime. So $m + n = 128 + 693 = 821$.
""", r"""
The last word is the pair with the largest smaller letter.

* If $G$ is the smaller letter of its pair, its partner is one of $H,\dots,L$ (probability $\frac{5}{11}$) and the other four of $H,\dots,L$ must be matched with letters from $A,\dots,F$: probability $\frac{6\cdot5\cdot4\cdot3}{945} = \frac{8}{21}$.
* If $G$ is the larger letter, it must be paired with $F$ (probability $\frac1{11}$) and $H,\dots,L$ must all be matched with $A,\dots,E$: probability $\frac{5!}{945} = \frac{8}{63}$.

Hence
\[
P = \frac{5}{11}\cdot\frac{8}{21} + \frac{1}{11}\cdot\frac{8}{63} = \frac{128}{693},
\]
and $m + n = 128 + 693 = 821$.
""")

prob("ad", "26", "integer", AIME, 26, r"""
Place $A$ at the origin with $AB$ along the $x$-axis. The height of the trapezoid is 24 (from the area: $\frac{(AB + CD)}{2} \cdot h = 24 \cdot 24$... let me recompute). Area is 576 and $AB + CD = 48$, so $h = \frac{2 \cdot 576}{48} = 24$.

The foot of the perpendicular from $D$ lands at $x = 10$ because $AB - CD = 20$ and the trapezoid is isosceles, so each overhang is 10.

So $D = (10, 24)$ and $AD = \sqrt{10^2 + 24^2} = \sqrt{100 + 576} = \sqrt{676} = 26$.
""", r"""
From the area, $h = \frac{2\cdot 576}{48} = 24$. The trapezoid is isosceles with $AB - CD = 20$, so each leg projects onto $AB$ with length $10$. With $A = (0,0)$ we get $D = (10, 24)$, and
\[
AD = \sqrt{10^2 + 24^2} = \sqrt{676} = 26 .
\]
""")

prob("mark", "3375", "integer", None, 3375, r"""
Mark writes $\sqrt{\underline{abcd}}$ and Derek moves the $a$, giving $a \sqrt{\underline{bcd}}$, and these are equal. Find the four-digit number $\underline{abcd}$.

Let $n = \underline{bcd}$ (between 0 and 999). Then $\sqrt{1000a + n} = a\sqrt{n}$, so $1000a + n = a^2 n$, so $n(a^2 - 1) = 1000a$, $n = \frac{1000a}{a^2 - 1}$.

$a \neq 1$. Try $a = 2$: $2000/3$ not an integer. $a = 3$: $3000/8 = 375$. Integer! $a = 4$: $4000/15$ no. $a = 5$: $5000/24$ no. $a = 6$: $6000/35$ no. $a = 7$: $7000/48$ no. $a = 8$: $8000/63$ no. $a = 9$: $9000/80 = 112.5$ no.

So $a = 3$, $n = 375$, the number is 3375.

Check: $\sqrt{3375} = \sqrt{225 \cdot 15} = 15\sqrt{15}$ and $3\sqrt{375} = 3\sqrt{25 \cdot 15} = 15\sqrt{15}$. Yes.
""", r"""
Let $n = \underline{bcd}$. The condition $\sqrt{1000a + n} = a\sqrt{n}$ gives
\[
n = \frac{1000a}{a^2 - 1}.
\]
Checking $a = 2,\dots,9$, only $a = 3$ gives an integer, $n = 375$. Indeed $\sqrt{3375} = 15\sqrt{15} = 3\sqrt{375}$, so the number is $3375$.
""")

prob("floor", "-984", "integer", None, -984, r"""
Compute $\sum_{j=-1000}^{1000} \left\lfloor \frac{2025}{j + 0.5} \right\rfloor$.

Pair $j$ with $-1-j$: $j + 0.5$ and $-j - 0.5$ are negatives. For $x = \frac{2025}{j + 0.5}$, the pair contributes $\lfloor x \rfloor + \lfloor -x \rfloor$, which is $0$ if $x$ is an integer and $-1$ otherwise.

$j$ from $0$ to $999$ pairs with $-1$ down to $-1000$. That covers $j = -1000, \dots, 999$. Left over: $j = 1000$, giving $\lfloor 2025 / 1000.5 \rfloor = \lfloor 2.0239... \rfloor = 2$.

For the 1000 pairs, count those with $\frac{2025}{j + 0.5} = \frac{4050}{2j + 1}$ an integer: $2j + 1$ is an odd divisor of $4050 = 2 \cdot 3^4 \cdot 5^2$, between 1 and 1999. Odd divisors of $4050$: divisors of $2025 = 3^4 \cdot 5^2$: there are $5 \cdot 3 = 15$ of them: 1, 3, 5, 9, 15, 25, 27, 45, 75, 81, 135, 225, 405, 675, 2025. All except 2025 are at most 1999, so 14 of them.

So the pairs contribute $-(1000 - 14) = -986$. Total: $-986 + 2 = -984$.
""", r"""
Pair the terms for $j$ and $-1-j$ ($0 \le j \le 999$): with $x = \frac{2025}{j+0.5}$ the pair contributes $\lfloor x\rfloor + \lfloor -x\rfloor$, which is $0$ when $x \in \mathbb{Z}$ and $-1$ otherwise. $x$ is an integer iff $2j+1$ divides $2025$ and $2j + 1 \le 1999$: 14 values. The unpaired term $j = 1000$ gives $\lfloor 2025/1000.5\rfloor = 2$.

Total: $-(1000 - 14) + 2 = -984$.
""")

prob("abc", r"\frac{9 \sqrt{23}}{23}", "expression", None, "9/sqrt(23)", r"""
There's a unique triple $(a, b, c)$ of positive reals with $2(a^2+1) = 3(b^2+1) = 4(c^2+1)$ and $ab + bc + ca = 1$. Compute $a + b + c$.

Let the common value be $k$. Then $a^2 = \frac{k}{2} - 1$, $b^2 = \frac{k}{3} - 1$, $c^2 = \frac{k}{4} - 1$.

$(a + b + c)^2 = a^2 + b^2 + c^2 + 2(ab + bc + ca) = \frac{13k}{12} - 3 + 2 = \frac{13k}{12} - 1$.

Need another relation to pin down $k$. Let me guess the values are nice: try $k = \frac{96}{23}$. Then $a^2 = \frac{48}{23} - 1 = \frac{25}{23}$, $b^2 = \frac{32}{23} - 1 = \frac{9}{23}$, $c^2 = \frac{24}{23} - 1 = \frac{1}{23}$. So $a = \frac{5}{\sqrt{23}}$, $b = \frac{3}{\sqrt{23}}$, $c = \frac{1}{\sqrt{23}}$.

$ab + bc + ca = \frac{15 + 3 + 5}{23} = 1$. 

Since $ab + bc + ca$ is increasing in $k$, the solution is unique. Then $a + b + c = \frac{9}{\sqrt{23}} = \frac{9\sqrt{23}}{23}$.
""", r"""
Let $2(a^2+1) = 3(b^2+1) = 4(c^2+1) = k$. For $k = \frac{96}{23}$,
\[
a = \frac{5}{\sqrt{23}}, \quad b = \frac{3}{\sqrt{23}}, \quad c = \frac{1}{\sqrt{23}}, \qquad ab + bc + ca = \frac{15 + 3 + 5}{23} = 1,
\]
and since $ab+bc+ca$ is strictly increasing in $k$ this is the only solution. Therefore
\[
a + b + c = \frac{9}{\sqrt{23}} = \frac{9\sqrt{23}}{23}.
\]
""")

prob("sgn", r"1-\frac{2}{\pi}", "expression", None, "1-2/pi", r"""
Compute $\sum_{n=1}^{\infty} \frac{\operatorname{sgn}(\sin(2^n))}{2^n}$.

$\sin(2^n) > 0$ iff $2^n \bmod 2\pi \in (0, \pi)$, i.e. iff the fractional part of $\frac{2^n}{2\pi} = 2^{n-1} \cdot \frac{1}{\pi}$ is less than $\frac12$. That's the $n$-th binary digit of $\frac{1}{\pi}$ after the point... precisely, $\{2^{n-1}/\pi\} < 1/2$ iff bit $b_n$ of $1/\pi = 0.b_1 b_2 b_3\ldots$ is 0.

So $\operatorname{sgn}(\sin 2^n) = 1 - 2b_n$, and $\sum \frac{1 - 2b_n}{2^n} = 1 - 2\sum \frac{b_n}{2^n} = 1 - \frac{2}{\pi}$.

Numerically: $1 - 0.63662 = 0.36338$. Quick sanity: $\sin 2 > 0$, $\sin 4 < 0$, $\sin 8 > 0$, $\sin 16 < 0$: partial sum $\frac12 - \frac14 + \frac18 - \frac1{16} = 0.3125$, then $\sin 32 > 0$: $+\frac{1}{32}$ gives $0.34375$... heading towards 0.363. Plausible.
""", r"""
Write $\frac1\pi = \sum_{n\ge1} b_n 2^{-n}$ in binary. Then $\sin(2^n) > 0$ exactly when $b_n = 0$, so $\operatorname{sgn}(\sin 2^n) = 1 - 2b_n$ and
\[
\sum_{n=1}^{\infty} \frac{1 - 2b_n}{2^n} = 1 - \frac{2}{\pi}.
\]
""")

prob("geo1", r"\sqrt{23}-2 \sqrt{3}", "expression", None, "sqrt(23)-2*sqrt(3)", r"""
$P$ lies on segment $AB$ with $AP = 2\sqrt{3}$ (from the 30-60-90 triangle $APQ$ with hypotenuse $4$... wait, the short leg is 2 and the long leg is $2\sqrt3$). And $AB = \sqrt{23}$ from the Pythagorean theorem in triangle $ABC$: $AB^2 = 4^2 + (\sqrt{7})^2 = 23$.

So $PB = AB - AP = \sqrt{23} - 2\sqrt{3}$.

Numerically $\sqrt{23} \approx 4.7958$ and $2\sqrt3 \approx 3.4641$, so $PB \approx 1.3317 > 0$. Good, $P$ is between $A$ and $B$.
""", r"""
From triangle $ABC$, $AB = \sqrt{4^2 + 7} = \sqrt{23}$; from the $30^\circ$-$60^\circ$-$90^\circ$ triangle, $AP = 2\sqrt3$. Hence
\[
PB = AB - AP = \sqrt{23} - 2\sqrt{3}.
\]
""")

prob("geo2", r"14+4\sqrt{37}", "expression", None, "14+4*sqrt(37)", r"""
The two parallel sides are 4 and 10, total 14. Each slanted side has horizontal run 3 and vertical rise... hmm, the legs are $\sqrt{3^2 + (\ldots)^2}$. From the coordinates: $B = (0, 0)$, $C = (3, \sqrt{139})$? No wait. Let me recompute with the distances given: the leg satisfies $\ell^2 = 1^2 + 6^2 \cdot \ldots$. I had $\ell = 2\sqrt{37}$ from $\ell^2 = 12^2 + 2^2 = 148 = 4 \cdot 37$.

Perimeter $= 4 + 10 + 2 \cdot 2\sqrt{37} = 14 + 4\sqrt{37}$.
""", r"""
The parallel sides have lengths $4$ and $10$, and each leg has length $\sqrt{12^2 + 2^2} = \sqrt{148} = 2\sqrt{37}$. The perimeter is
\[
4 + 10 + 2\cdot 2\sqrt{37} = 14 + 4\sqrt{37}.
\]
""")

prob("prism", r"\sqrt{\frac{95}{24}}", "expression", None, "sqrt(mpf(95)/24)", r"""
The plane cuts the prism in a hexagon with sides 45, 66, 63, 55, 54, 77. Opposite sides pair up: $(45, 54)$, $(66, 77)$, $(63, 55)$... For a plane at distance $d$ from the center of a box with half-dimensions, the sum of squares of the opposite sides relates to the dimensions.

After normalizing the scale so that the box is the unit setup used above, I get $d^2 = \frac{95}{24}$. So $d = \sqrt{\frac{95}{24}} = \frac{\sqrt{570}}{12} \approx 1.9896$.
""", r"""
Pairing opposite sides of the hexagonal cross-section and using the three projections of the box, the squared distance from the centre of the prism to the plane is $d^2 = \frac{95}{24}$, so
\[
d = \sqrt{\frac{95}{24}} .
\]
""")

prob("cube", r"(3+\sqrt{6})^{-1/3}", "expression", None, "(3+sqrt(6))**(-mpf(1)/3)", r"""
We need $r$ with $r^3 (3 + \sqrt 6) = 1$. So $r^3 = \frac{1}{3 + \sqrt6} = \frac{3 - \sqrt6}{9 - 6} = \frac{3 - \sqrt 6}{3}$.

So $r = \left(\frac{3-\sqrt6}{3}\right)^{1/3} = (3 + \sqrt 6)^{-1/3}$.

Numerically $3 + \sqrt 6 \approx 5.449$, cube root $\approx 1.7594$, so $r \approx 0.5684$.
""", r"""
The ratio satisfies $r^3(3+\sqrt6) = 1$, hence
\[
r^3 = \frac{1}{3+\sqrt6} = \frac{3-\sqrt6}{3}, \qquad r = (3+\sqrt6)^{-1/3}.
\]
""")

prob("exp50", r"50(1 - \frac{1}{2^{101} - 1})", "expression", None,
     Fraction(50) * (1 - Fraction(1, 2**101 - 1)), r"""
By linearity, the expected number is $\sum_{k} P(\text{piece } k \text{ survives})$. Each of the 50 pairs contributes $1 - \frac{1}{2^{101}-1}$ by the symmetry argument above, since the only bad configuration among the $2^{101} - 1$ nonempty subsets is the one where everything merges.

So the expectation is $50\left(1 - \frac{1}{2^{101} - 1}\right)$. This is extremely close to 50 but not equal to it.
""", r"""
By linearity of expectation each of the $50$ pairs contributes $1 - \frac{1}{2^{101}-1}$, so the expected value is
\[
50\left(1 - \frac{1}{2^{101} - 1}\right).
\]
""")

prob("area", r"5\pi + 6\sqrt{3}", "expression", None, "5*pi+6*sqrt(3)", r"""
The region is the union of the hexagon of side 2 minus... no. Let me recount. The region consists of a sector of angle $\frac{5\pi}{6}$... Adding up: three sectors of radius 2 and angle $\frac{5\pi}{6}$ give $3 \cdot \frac12 \cdot 4 \cdot \frac{5\pi}{6} = 5\pi$. The central part is an equilateral triangle of side $2\sqrt{6}$, hmm, area $\frac{\sqrt3}{4} \cdot 24 = 6\sqrt3$.

Total $5\pi + 6\sqrt 3 \approx 15.708 + 10.392 = 26.100$.
""", r"""
The region splits into three circular sectors of radius $2$ and angle $\frac{5\pi}{6}$, with total area $5\pi$, and an equilateral triangle of side $2\sqrt6$, with area $6\sqrt3$. The area is
\[
5\pi + 6\sqrt{3}.
\]
""")

prob("pow3", r"3^{2025}", "expression", None, 3**2025, r"""
Each of the 2025 positions independently has 3 valid choices once the first row is fixed, as shown above: the constraint propagates uniquely and never forces a contradiction. So the count is $3^{2025}$.

Double-check with a small case: for $n = 1$ there are 3 configurations and for $n = 2$ I listed 9 by hand. Consistent with $3^n$.
""", r"""
The choices in the $2025$ positions are independent with $3$ options each, so the number of configurations is
\[
3^{2025}.
\]
""")

prob("letters", r"2^{25} \cdot 26!", "expression", None, 2**25 * fac(26), r"""
The condition forces the three copies of each letter to be equally spaced in a strong sense: for the arrangement to work, all letters have to be in the "pattern" where the occurrences interleave like $x_1 x_2 \dots x_{26} x_1 \dots$. Order the letters by first occurrence: $26!$ ways. Then for each consecutive block there's a binary choice of orientation, except the first is fixed, giving $2^{25}$.

So the total is $2^{25} \cdot 26!$.
""", r"""
Ordering the letters by their first occurrence gives $26!$ choices, and each of the remaining $25$ blocks can be placed in one of two orientations. The number of arrangements is
\[
2^{25} \cdot 26!.
\]
""")

prob("p1311", r"\frac{1311}{2017}", "expression", None, Fraction(1311, 2017), r"""
The probability is $\frac{2622}{4034}$ from the count above: 2622 favourable outcomes out of 4034. Simplify: both even, $\frac{1311}{2017}$. Is 2017 prime? Yes, 2017 is prime. And $1311 = 3 \cdot 19 \cdot 23$. So the fraction is reduced.
""", r"""
Out of the $4034$ equally likely outcomes, $2622$ are favourable, so the probability is
\[
\frac{2622}{4034} = \frac{1311}{2017}.
\]
""")

prob("f448", r"\frac{448}{3}", "expression", None, Fraction(448, 3), r"""
The volume is $\frac13 \cdot \text{base} \cdot h = \frac13 \cdot 64 \cdot 7 = \frac{448}{3}$. As a mixed number that is $149\frac13 \approx 149.33$.
""", r"""
The solid is a pyramid with base area $64$ and height $7$, so its volume is
\[
\frac13 \cdot 64 \cdot 7 = \frac{448}{3}.
\]
""")

prob("half", r"\frac{17}{2}", "expression", None, Fraction(17, 2), r"""
The expected number of steps satisfies $E = 1 + \frac12 E_1 + \frac12 E_2$ with $E_1 = 7$ and $E_2 = 8$. So $E = 1 + 3.5 + 4 = 8.5 = \frac{17}{2}$.
""", r"""
Conditioning on the first step, $E = 1 + \frac12\cdot 7 + \frac12 \cdot 8 = \frac{17}{2}$.
""")

prob("third", r"\frac{1}{3}", "expression", None, Fraction(1, 3), r"""
By symmetry each of the three players is equally likely to win the last round, so the probability is $\frac13$.
""", r"""
By symmetry among the three players the probability is $\frac13$.
""")

prob("quad", r"\frac{-1+\sqrt{17}}{2}, \frac{-1-\sqrt{17}}{2}", "list", None,
     ["(-1+sqrt(17))/2", "(-1-sqrt(17))/2"], r"""
Let $a^2 = b + 6$, $b^2 = c + 6$, $c^2 = a + 6$ with $a, b, c$ pairwise distinct. Let $S = a + b + c$.

Adding: $a^2 + b^2 + c^2 = S + 18$.

Subtracting pairs: $a^2 - b^2 = b - c$, so $(a - b)(a + b) = b - c$. Similarly $(b - c)(b + c) = c - a$ and $(c - a)(c + a) = a - b$. Multiply all three: $(a-b)(b-c)(c-a)(a+b)(b+c)(c+a) = (b-c)(c-a)(a-b)$. Since they're distinct, $(a+b)(b+c)(c+a) = 1$.

$(a+b)(b+c)(c+a) = (S - c)(S - a)(S - b) = S^3 - S^2 \cdot S + S \cdot e_2 - e_3 = S e_2 - e_3$, where $e_2 = ab + bc + ca$, $e_3 = abc$.

Also $e_2 = \frac{S^2 - (S + 18)}{2}$.

Hmm, need $e_3$. Multiply the original equations... Alternatively, the known approach: $S$ satisfies $S^2 + S - 4 = 0$ after eliminating (the degenerate roots $S = 9$ and $S = -6$ come from $a = b = c \in \{3, -2\}$, which are excluded).

So $S = \frac{-1 \pm \sqrt{17}}{2}$.
""", r"""
Subtracting the equations pairwise and using that $a, b, c$ are distinct gives $(a+b)(b+c)(c+a) = 1$. Together with $a^2 + b^2 + c^2 = S + 18$ this leads to
\[
S^2 + S - 4 = 0
\]
(the cases $a = b = c$, which would give $S = 9$ or $S = -6$, are excluded). Hence
\[
a + b + c = \frac{-1+\sqrt{17}}{2} \quad\text{or}\quad \frac{-1-\sqrt{17}}{2}.
\]
""")

prob("roots", "2, 5", "list", None, ["2", "5"], r"""
$x^2 - 7x + 10 = 0$ factors as $(x - 2)(x - 5) = 0$. Both roots satisfy the domain condition $x > 1$. So the solutions are $x = 2$ and $x = 5$.
""", r"""
The equation reduces to $x^2 - 7x + 10 = (x-2)(x-5) = 0$, and both roots satisfy $x > 1$.
""")

prob("sqrt2", r"1+\sqrt{2}, 1-\sqrt{2}", "list", None, ["1+sqrt(2)", "1-sqrt(2)"], r"""
$t^2 - 2t - 1 = 0$ gives $t = 1 \pm \sqrt 2$. Both are allowed since $t$ can be any real.
""", r"""
The quadratic $t^2 - 2t - 1 = 0$ has the two real roots $1 \pm \sqrt{2}$.
""")

prob("arcs", "336", "integer", AIME, 336, r"""
The six arcs of the nine-point circle: $\widehat{DE} = 72^\circ$, $\widehat{HJ} = 24^\circ$, $\widehat{FG} = 72^\circ$. The requested combination is $\widehat{DE} + 2\widehat{HJ} + 3\widehat{FG} = 72 + 48 + 216 = 336$ degrees.
""", r"""
Using the angles of $\triangle ABC$ ($84^\circ$, $60^\circ$, $36^\circ$) the arcs are $\widehat{DE} = 72^\circ$, $\widehat{HJ} = 24^\circ$ and $\widehat{FG} = 72^\circ$, so
\[
\widehat{DE} + 2\cdot\widehat{HJ} + 3\cdot\widehat{FG} = 72^\circ + 48^\circ + 216^\circ = 336^\circ.
\]
""")

prob("hept", "588", "integer", AIME, 588, r"""
On $AB$: $AD = 4$, $DE = 16$, $EB = 8$, so $AB = 28$. On $AC$: $AF = 13$, $FG = 52$, $GC = 26$, so $AC = 91$.

$\frac{AD}{AB} = \frac{4}{28} = \frac17$ and $\frac{AF}{AC} = \frac{13}{91} = \frac17$, so $[ADF] = \frac{1}{49}[ABC]$.
$\frac{AE}{AB} = \frac{20}{28} = \frac57$ and $\frac{AG}{AC} = \frac{65}{91} = \frac57$, so $[AEG] = \frac{25}{49}[ABC]$.

Then $[DEGF] = [AEG] - [ADF] = \frac{24}{49}[ABC] = 288$, so $[ABC] = 288 \cdot \frac{49}{24} = 588$.

The reflections $M$ (of $D$ through $F$) and $N$ (of $G$ through $E$) just rearrange pieces: $[AFM] = [AFD]$-type equalities show the heptagon $AFNBCEM$ has area exactly $[ABC] = 588$.
""", r"""
Reflections preserve area, and decomposing the heptagon $AFNBCEM$ shows that its area equals $[ABC]$. From $[DEGF] = 288$ and the side ratios, $[ABC] = 588$.
""")

prob("div9", "103", "integer", None, 103, r"""
$9! = 2^7 \cdot 3^4 \cdot 5 \cdot 7$. Divisors with units digit 1 cannot be even or divisible by 5, so they divide $3^4 \cdot 7 = 567$. Divisors of 567: $3^i 7^j$. Units digits: $1, 3, 9, 7, 1$ for $3^0..3^4$ and times 7: $7, 1, 3, 9, 7$. Units digit 1: $1$, $81$, $21$. Sum $= 1 + 81 + 21 = 103$.
""", r"""
A divisor of $9!$ ending in $1$ is odd and not divisible by $5$, so it divides $3^4\cdot 7$. Among these, $1$, $21$ and $81$ end in $1$, and $1 + 21 + 81 = 103$.
""")

prob("grid", "2304", "integer", None, 2304, r"""
Each of the two independent choices has 48 options (computed above as $4 \cdot 12$), so the total is $48^2 = 2304$.
""", r"""
The two choices are independent and each has $48$ options, giving $48^2 = 2304$ configurations.
""")

prob("angle", "60", "integer", None, 60, r"""
Since $\triangle ABD$ is equilateral (all sides equal to the radius), $\angle ABD = 60^\circ$.
""", r"""
All three sides of $\triangle ABD$ equal the radius, so the triangle is equilateral and $\angle ABD = 60^\circ$.
""")

prob("euler", r"\frac{e-1}{e}", "expression", None, "(e-1)/e", r"""
The integral is $\int_0^1 e^{-x}\,dx = 1 - e^{-1} = \frac{e - 1}{e} \approx 0.6321$.
""", r"""
The probability is
\[
\int_0^1 e^{-x}\,dx = 1 - e^{-1}.
\]
""")

# Extra AIME golds with short working, used mostly for extraction-rule cases.
SHORT = {
    "a588": ("588", 588), "a117": ("117", 117), "a279": ("279", 279),
    "a504": ("504", 504), "a077": ("77", 77), "a062": ("62", 62),
    "a081": ("81", 81), "a259": ("259", 259), "a510": ("510", 510),
    "a060": ("60", 60), "a735": ("735", 735), "a468": ("468", 468),
    "a049": ("49", 49), "a082": ("82", 82), "a106": ("106", 106),
    "a293": ("293", 293), "a237": ("237", 237), "a610": ("610", 610),
    "a149": ("149", 149), "a907": ("907", 907), "a113": ("113", 113),
    "a019": ("19", 19), "a248": ("248", 248), "a104": ("104", 104),
    "a240": ("240", 240), "a809": ("809", 809), "a294": ("294", 294),
    "a540": ("540", 540), "a197": ("197", 197), "a480": ("480", 480),
    "a371": ("371", 371), "a385": ("385", 385), "a110": ("110", 110),
    "a721": ("721", 721), "a073": ("073", 73), "a236": ("236", 236),
    "a045": ("045", 45), "a033": ("033", 33), "a080": ("080", 80),
    "a055": ("055", 55), "a699": ("699", 699), "a127": ("127", 127),
    "a601": ("601", 601), "a023": ("023", 23), "a321": ("321", 321),
    "a211": ("211", 211), "a315": ("315", 315), "a116": ("116", 116),
    "a902": ("902", 902),
}
for k, (g, v) in SHORT.items():
    prob(k, g, "integer", AIME, v, "", "")

# Longer second passes appended to some think blocks, so that responses vary
# in length (a few KB), the way real reasoning traces re-verify themselves.
EXTRA = {
    "pairs": r"""
Hmm, let me double check this with a cleaner counting argument, because the case analysis is easy to get wrong.

Total number of ways to pair 12 letters: $11!! = 11 \cdot 9 \cdot 7 \cdot 5 \cdot 3 \cdot 1 = 10395$.

Case 1 count: $G$ paired with one of $H, I, J, K, L$: 5 ways. The other 4 big letters each need a partner among $A$–$F$: $6 \cdot 5 \cdot 4 \cdot 3 = 360$ ways. The remaining 2 small letters pair together: 1 way. Total $5 \cdot 360 = 1800$.

Case 2 count: $G$ paired with $F$: 1 way. The 5 big letters $H$–$L$ each need a partner among $A$–$E$: $5! = 120$ ways. Total $120$.

Favourable: $1800 + 120 = 1920$. Probability $\frac{1920}{10395}$. Simplify: $\gcd(1920, 10395)$: $10395 = 3^3 \cdot 5 \cdot 7 \cdot 11$, $1920 = 2^7 \cdot 3 \cdot 5$, gcd $= 15$. So $\frac{128}{693}$. Same as before. 

So $m = 128$, $n = 693$, and $m + n = 821$.
""",
    "bases": r"""
Hmm, wait. Let me make sure I haven't missed any divisor. $56 = 2^3 \cdot 7$, so its divisors are $2^a 7^b$ with $a \in \{0,1,2,3\}$, $b \in \{0, 1\}$: that's $1, 2, 4, 8, 7, 14, 28, 56$. Eight divisors, matches my list.

Also, should I double check the direction of the reduction? $(b + 7) \mid (9b + 7)$. Since $9b + 7 - 9(b+7) = 9b + 7 - 9b - 63 = -56$, we need $(b+7) \mid 56$. Yes.

What about $b + 7 = 16$ exactly, i.e. $b = 9$? Not allowed since $b > 9$ strictly, and 16 doesn't divide 56 anyway ($56/16 = 3.5$).

Let me also try a brute-force style check for a few bases to be safe:
- $b = 10$: $17 \mid 97$? $97 = 5 \cdot 17 + 12$. No.
- $b = 11$: $18 \mid 106$? $106 = 5 \cdot 18 + 16$. No.
- $b = 14$: $21 \mid 133$? $133 = 6 \cdot 21 + 7$. No.
- $b = 21$: $28 \mid 196$. Yes, $7 \cdot 28$.
- $b = 49$: $56 \mid 448$. Yes, $8 \cdot 56$.
- $b = 105$: $112 \mid 952$? $952 = 8 \cdot 112 + 56$. No, consistent with $112 \nmid 56$.

Great, so only 21 and 49, and their sum is 70.
""",
    "mark": r"""
Let me double-check the cases more carefully, since it's easy to slip on the arithmetic.

For $n = \frac{1000a}{a^2-1}$ to be an integer we need $(a^2 - 1) \mid 1000a$. Since $\gcd(a^2 - 1, a) = 1$, this means $(a^2 - 1) \mid 1000 = 2^3 \cdot 5^3$. So $a^2 - 1 \in \{3, 8, 15, 24, 35, 48, 63, 80\}$ must be of the form $2^x 5^y$:
- $3$: no.
- $8 = 2^3$: yes, $a = 3$.
- $15 = 3 \cdot 5$: no.
- $24 = 2^3 \cdot 3$: no.
- $35$: no. $48$: no. $63$: no.
- $80 = 2^4 \cdot 5$: $2^4$ doesn't divide $2^3$, no.

So $a = 3$ is the unique choice, $n = 375$, and we also need $n$ to be a valid three-digit string $\underline{bcd}$, which 375 is (and $a \neq 0$). So the number is 3375.

Numerically: $\sqrt{3375} \approx 58.09$, and $3 \sqrt{375} \approx 3 \cdot 19.365 = 58.09$.
""",
    "floor": r"""
Let me double check the pairing claim with a tiny example. Take $j = 0$: $\lfloor 2025/0.5 \rfloor = 4050$. Its partner $j = -1$: $\lfloor 2025 / (-0.5) \rfloor = -4050$. Sum $0$, and indeed $4050$ is an integer, $2j + 1 = 1$ divides 2025. Good.

$j = 1$: $2025/1.5 = 1350$, integer ($2j+1 = 3$). Partner $j = -2$: $2025/(-1.5) = -1350$. Sum 0. Good.

$j = 2$: $2025 / 2.5 = 810$, integer ($5 \mid 2025$). Partner: $-810$. Sum 0.

$j = 3$: $2025/3.5 = 578.57\ldots$, floor 578. Partner $j = -4$: $2025 / (-3.5) = -578.57\ldots$, floor $-579$. Sum $-1$. Good, $7 \nmid 2025$.

So the rule holds. Now list the odd divisors $d = 2j + 1 \le 1999$ of 2025 again: $2025 = 3^4 5^2$, divisors $3^a 5^b$:
$1, 3, 9, 27, 81, 5, 15, 45, 135, 405, 25, 75, 225, 675, 2025$. Excluding 2025 that's 14 values, each giving $j = (d - 1)/2 \in [0, 999]$: $0, 1, 4, 13, 40, 2, 7, 22, 67, 202, 12, 37, 112, 337$. All in range.

So $1000 - 14 = 986$ pairs contribute $-1$ each, total $-986$, plus $\lfloor 2025 / 1000.5 \rfloor = 2$ for $j = 1000$. Sum $= -984$.
""",
    "abc": r"""
Let me verify uniqueness more carefully. As $k$ increases from $4$ (the smallest value with $c^2 \ge 0$), each of $a, b, c$ increases, so $ab + bc + ca$ is strictly increasing in $k$. At $k = 4$: $a = 1$, $b = \frac{1}{\sqrt{3}}$, $c = 0$, so $ab + bc + ca = \frac{1}{\sqrt3} \approx 0.577 < 1$. As $k \to \infty$ it goes to infinity. So exactly one $k$ works, and $k = \frac{96}{23} \approx 4.174$ is it.

Double-check the numbers: $2(a^2 + 1) = 2 \cdot \frac{48}{23} = \frac{96}{23}$. $3(b^2 + 1) = 3 \cdot \frac{32}{23} = \frac{96}{23}$. $4(c^2+1) = 4 \cdot \frac{24}{23} = \frac{96}{23}$. All equal.

And $ab = \frac{15}{23}$, $bc = \frac{3}{23}$, $ca = \frac{5}{23}$; the sum is $\frac{23}{23} = 1$.

So $a + b + c = \frac{5 + 3 + 1}{\sqrt{23}} = \frac{9}{\sqrt{23}}$. Rationalizing: $\frac{9\sqrt{23}}{23} \approx \frac{9 \cdot 4.7958}{23} \approx 1.8766$.
""",
    "quad": r"""
Let me actually derive $S^2 + S - 4 = 0$ instead of quoting it. From $a^2 = b + 6$ etc., $a^4 = (b+6)^2 = b^2 + 12 b + 36 = c + 6 + 12b + 36$. Hmm, that gets messy. Alternative: we have $(a+b)(b+c)(c+a) = 1$ and we want another symmetric relation.

From $a^2 - b^2 = b - c$: $a + b = \frac{b - c}{a - b}$. Sum of the three equations $a^2 + b^2 + c^2 = a + b + c + 18$ gives $S^2 - 2e_2 = S + 18$.

Let me use: $(a + b) = \frac{b-c}{a-b}$, $(b + c) = \frac{c - a}{b - c}$, $(c + a) = \frac{a - b}{c - a}$. Adding: $2S = \frac{b-c}{a-b} + \frac{c-a}{b-c} + \frac{a-b}{c-a}$.

I recall the cleaner route: multiplying $(a^2 - 6)(b^2 - 6)(c^2 - 6) = abc$ expresses $e_3$ through $S$, and everything collapses to $(S - 9)(S + 6)(S^2 + S - 4) = 0$; the first two factors correspond to $a = b = c$.

Numerically checking: $S = \frac{-1 + \sqrt{17}}{2} \approx 1.5616$ and $S = \frac{-1 - \sqrt{17}}{2} \approx -2.5616$. I'm fairly confident in these two values.
""",
    "letters": r"""
Let me sanity-check the structure on a smaller alphabet. With 2 letters $a, b$, 3 copies each: the condition says the number of $b$'s between the first and second $a$ equals the number between the second and third $a$, and symmetrically. Valid: $aaabbb$ (0 and 0 for $a$; for $b$: 0 and 0), $bbbaaa$, $ababab$ (1 and 1 for $a$; for $b$ between its occurrences: 1 and 1). Also $bababa$. Any others? $abbaab$: first $a$ at 1, second at 4, third at 5: $b$'s between 1 and 4: two; between 4 and 5: zero. No. So 4 arrangements, and the formula gives $2^{1} \cdot 2! = 4$.

With 1 letter: $2^0 \cdot 1! = 1$. Good.

So for 26 letters: $2^{25} \cdot 26!$.
""",
}
for k, extra in EXTRA.items():
    P[k]["work"] = P[k]["work"] + "\n\n" + T(extra)


# ---------------------------------------------------------------------------
# Case collection
# ---------------------------------------------------------------------------
UNSET = object()
CASES = []
RULES = {}  # Step 3 rule number -> list of case ids (coverage bookkeeping)


def case(cid, pkey, response, correct, reason, note, extracted=UNSET, gold=None,
         t=None, rng=UNSET, val=UNSET, ans=UNSET, rules=(), marker=None,
         same_line_ok=False):
    """Register one hand-written case.

    ans    : intended value of the extracted answer (int, Fraction, mpmath
             expression string, or list of those) for the Step 4 self-check.
    marker : expected marker-fallback answer text (self-check only).
    rules  : Step 3 rule numbers the case exercises (coverage bookkeeping).
    """
    p = P[pkey]
    c = {
        "id": cid,
        "response": response,
        "gold": gold if gold is not None else p["gold"],
        "answer_type": t if t is not None else p["t"],
    }
    r = p["rng"] if rng is UNSET else rng
    if r is not None and c["answer_type"] == "integer":
        c["integer_range"] = list(r)
    c["correct"] = correct
    c["reason"] = reason
    if extracted is not UNSET:
        c["extracted"] = extracted
    c["note"] = note
    meta = dict(val=p["val"] if val is UNSET else val, ans=ans, marker=marker,
                same_line_ok=same_line_ok)
    CASES.append((c, meta))
    for n in rules:
        RULES.setdefault(n, []).append(cid)


# ---------------------------------------------------------------------------
# Self-checks (a literal reading of A.3 Steps 0-2 and the Step 4 tolerance).
# They only validate the hand-written expectations; they are not a grader.
# ---------------------------------------------------------------------------
BOX_RE = re.compile(r"\\(?:boxed|fbox)")


def _read_box(text, i):
    """Return (content, end) for the box whose command starts at i; content
    None if the braces never close."""
    m = BOX_RE.match(text, i)
    j = m.end()
    if j < len(text) and text[j] == "{":
        depth, k = 0, j
        while k < len(text):
            ch = text[k]
            if ch == "\\" and k + 1 < len(text) and text[k + 1] in "{}":
                k += 2
                continue
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    return text[j + 1:k], k + 1
            k += 1
        return None, len(text)
    if j < len(text) and text[j] == " ":
        mm = re.match(r" +([^\s$]+)", text[j:])
        return (mm.group(1) if mm else ""), j + (mm.end() if mm else 0)
    return "", j


def _boxes_on_line(line):
    out, pos = [], 0
    while True:
        m = BOX_RE.search(line, pos)
        if not m:
            return out
        content, end = _read_box(line, m.start())
        out.append(content)
        pos = end


MARKERS = [
    [r"final answer.{0,100}?(?:is|:)", r"final answer[\s\S]{0,100}?(?:is|:)",
     r"final answer.{0,100}?(?:\bis\b|:)"],
    [r"the answer is"],
    [r"answer:"],
]


def _clean_marker(s):
    s = s.split(". I hope")[0].strip()
    s = s.replace("**", "").strip()
    s = s.rstrip(".").strip()
    for a, b in (("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if s.startswith(a) and s.endswith(b) and len(s) >= len(a) + len(b):
            s = s[len(a):len(s) - len(b)].strip()
    return s.rstrip(".").strip()


def _marker(text):
    for variants in MARKERS:
        results = set()
        for rx in variants:
            ms = list(re.finditer(rx, text, re.I))
            if ms:
                m = ms[-1]
                rest = text[m.end():].split("\n")[0]
                results.add(_clean_marker(rest))
            else:
                results.add(None)
        if results != {None}:
            assert len(results) == 1, ("ambiguous marker reading", results)
            return results.pop()
    return None


def sc_extract(resp):
    if "</think>" in resp:
        text = resp.rsplit("</think>", 1)[1]
    elif "<think>" in resp:
        return ("unclosed_think", None)
    else:
        text = resp
    starts = [m.start() for m in BOX_RE.finditer(text)]
    if not starts:
        mk = _marker(text)
        return ("marker", mk) if mk is not None else ("no_answer", None)
    i = starts[-1]
    content, _ = _read_box(text, i)
    if content is None:
        return ("truncated_box", None)
    if content.strip() == "":
        return ("no_answer", None)
    line_start = text.rfind("\n", 0, i) + 1
    line_end = text.find("\n", i)
    line = text[line_start:line_end if line_end >= 0 else len(text)]
    return ("box", content, _boxes_on_line(line))


def _val(x):
    if isinstance(x, (int, Fraction)):
        return x
    return eval(x, {"mpf": mpf, "sqrt": sqrt, "pi": pi, "e": e, "cbrt": cbrt,
                    "fac": fac, "Fraction": Fraction})


def _equal(a, b):
    a, b = _val(a), _val(b)
    if isinstance(a, (int, Fraction)) and isinstance(b, (int, Fraction)):
        return Fraction(a) == Fraction(b)
    a = mpf(a.numerator) / a.denominator if isinstance(a, Fraction) else mpf(a)
    b = mpf(b.numerator) / b.denominator if isinstance(b, Fraction) else mpf(b)
    return abs(a - b) <= mpf("1e-30") * max(1, abs(b))


def _list_equal(xs, ys):
    if len(xs) != len(ys):
        return False
    ys = list(ys)
    for x in xs:
        for k, y in enumerate(ys):
            if _equal(x, y):
                del ys[k]
                break
        else:
            return False
    return True


def self_check(c, meta):
    cid, resp, reason = c["id"], c["response"], c["reason"]
    assert (reason == "ok") == c["correct"], cid
    ex = sc_extract(resp)
    kind = ex[0]
    if reason in ("unclosed_think", "truncated_box"):
        assert kind == reason, (cid, ex)
        assert c.get("extracted", UNSET) in (None, UNSET), cid
        return
    if reason == "no_answer":
        assert kind == "no_answer", (cid, ex)
        assert c.get("extracted", UNSET) in (None, UNSET), cid
        return
    assert kind in ("box", "marker"), (cid, ex)
    if kind == "marker":
        assert meta["marker"] is not None, (cid, "marker case needs marker=", ex)
        assert ex[1] == meta["marker"], (cid, ex[1], meta["marker"])
        assert "extracted" not in c, cid
    else:
        assert meta["marker"] is None, (cid, "box found but marker declared")
        content, line_boxes = ex[1], ex[2]
        if "extracted" in c and c["answer_type"] != "list":
            assert c["extracted"] == content, (cid, content, c["extracted"])
        if c["answer_type"] == "list" and "extracted" in c:
            assert c["extracted"] == ",".join(line_boxes), (cid, line_boxes)
        distinct = len(set(b.strip() for b in line_boxes)) > 1
        if c["answer_type"] != "list":
            if reason == "hedge":
                assert distinct, cid
            elif distinct:
                assert meta["same_line_ok"], (cid, "other boxes on the final line", line_boxes)
    if reason == "hedge":
        assert c["answer_type"] != "list", cid
        return
    if meta["ans"] is UNSET:
        assert reason == "parse_error", (cid, "ok/wrong cases need ans=")
        return
    assert reason in ("ok", "wrong"), cid
    ans, val = meta["ans"], meta["val"]
    if c["answer_type"] == "list":
        got = isinstance(ans, list) and _list_equal(ans, val)
    elif isinstance(ans, list):
        got = False  # several values for a single-valued gold
    else:
        got = _equal(ans, val)
        if c["answer_type"] == "integer" and got:
            v = _val(ans)
            assert isinstance(v, int) or (isinstance(v, Fraction) and v.denominator == 1), cid
            rg = c.get("integer_range")
            if rg and not (rg[0] <= v <= rg[1]):
                got = False
    assert got == c["correct"], (cid, "value check disagrees", ans, val)


# ===========================================================================
# Cases
# ===========================================================================
A = P["aya"]

AYA_EXTRA = r"""
Hmm, let me double-check by a different route, because the numbers look a bit too clean and I want to be sure I didn't mix minutes and hours anywhere.

Let the walking speed be $s$ and let $T = t/60$ be the coffee time in hours. Then
- $9/s = 4 - T$,
- $9/(s+2) = 2.4 - T$.

Dividing the first by the second: $\frac{s+2}{s} = \frac{4 - T}{2.4 - T}$. If $T = 0.4$: right side is $\frac{3.6}{2} = 1.8$, and $\frac{s+2}{s} = 1.8$ means $2 = 0.8 s$, $s = 2.5$. Consistent.

Another sanity check: at 2.5 km/h, 9 km takes 3.6 h = 3 h 36 min, plus 24 min is exactly 4 h. At 4.5 km/h, 9 km takes exactly 2 h, plus 24 min is 2 h 24 min. Both conditions hold.

At 3 km/h: 9 km takes 3 h = 180 min. Add 24 min: 204 min. That's 3 hours and 24 minutes.

Could the problem intend $s + \frac12$ to mean something else, like $s$ plus half of $s$? No, "$s+\frac{1}{2}$ kilometers per hour" is unambiguous: 3 km/h.
"""

A["work"] = A["work"] + "\n\n" + T(AYA_EXTRA)

# --- Step 0: reasoning block ------------------------------------------------
case("aya-r1-basic", "aya", R1(A["work"], FA(A["sol"], "204")), True, "ok",
     "Step 0/1: closed think block, single box in a **Final Answer** display after </think>.",
     extracted="204", ans=204)
case("aya-r1-long-verify", "aya", R1(A["work"] + "\n\n" + rep(AYA_EXTRA, "Hmm, let me double-check by a different route", "One more pass, slowly") + "\n\n" + rep(AYA_EXTRA, "Hmm, let me double-check by a different route", "Let me redo the algebra from scratch, in minutes this time"), FA(A["sol"], "204")),
     True, "ok", "Step 0: long think block (several KB) with repeated verification; only the text after </think> is graded.",
     extracted="204", ans=204)
case("aya-qwen3-no-open-tag", "aya", Q3(A["work"], FAi(A["sol"], "204")), True, "ok",
     "Step 0: Qwen3 template (opening <think> in the prompt): response has </think> but no <think>; grade text after </think>.",
     extracted="204", ans=204)
case("aya-think-box-ignored", "aya",
     R1(rep(A["work"], "Now $s + \\frac12 = 3$ km/h.", "So the walk alone at the new speed would be $\\boxed{180}$ minutes? No, I still need the coffee shop.\n\nNow $s + \\frac12 = 3$ km/h."),
        FA(A["sol"], "204")),
     True, "ok", "Step 0: a wrong intermediate box inside the think block is ignored; the box after </think> is used.",
     extracted="204", ans=204)
case("aya-after-think-wrong-box", "aya",
     R1(A["work"] + "\n\nSo the total is $\\boxed{204}$ minutes.",
        FA(rep(A["sol"], "and with the coffee shop the total is $180 + 24 = 204$ minutes.", "which is the time asked for."), "180")),
     False, "wrong", "Step 0: the correct box is only inside think; after </think> the model boxes 180 (forgot the coffee shop). Only the text after </think> counts.",
     extracted="180", ans=180)
case("aya-box-only-in-think", "aya",
     R1(A["work"] + "\n\n**Final Answer**\n\\[\n\\boxed{204}\n\\]", A["sol"]),
     False, "no_answer", "Step 0 + Step 2: the only box is inside the think block; the write-up after </think> has no box and no marker -> no answer (no last-number fallback even though the text ends with 204).",
     extracted=None)
case("aya-empty-after-think", "aya",
     "<think>\n" + A["work"] + "\n\n**Final Answer**\n\\[\n\\boxed{204}\n\\]\n</think>\n\n",
     False, "no_answer", "Step 0: nothing after </think> (output stopped right after the think block); the box inside think does not count.",
     extracted=None)

B = P["bases"]
case("bases-two-think-blocks", "bases",
     "<think>\n" + rep(B["work"], "Sum: $21 + 49 = 70$.", "So the bases are 21 and 49, i.e. $\\boxed{21}$ and $\\boxed{49}$.") +
     "\n</think>\n\nThe valid bases are $21$ and $49$.\n\n<think>\nWait, the question asks for the sum of the bases, not the bases themselves. $21 + 49 = 70$.\n</think>\n\n" +
     FA(B["sol"], "70"),
     True, "ok", "Step 0: several </think> tags; grade only after the LAST one (earlier boxes 21/49 are ignored).",
     extracted="70", ans=70)
case("bases-box-between-thinks", "bases",
     "<think>\n" + B["work"] + "\n</think>\n\nThe sum is $\\boxed{70}$.\n\n<think>\nLet me double check the divisibility for $b = 49$: $448 / 56 = 8$. Fine. And $b = 21$: $196/28 = 7$. Fine.\n</think>\n\nBoth bases check out, and no other divisor of 56 exceeds 16.",
     False, "no_answer", "Step 0: the box sits between two think blocks; after the last </think> there is neither a box nor a marker -> no answer.",
     extracted=None)

L = P["logx"]
case("logx-marker-only-in-think", "logx",
     R1(L["work"] + "\n\nSo the answer is 16.", L["sol"]),
     False, "no_answer", "Step 0 + Step 2: 'the answer is 16' occurs only inside the think block; the write-up has no box and no marker -> no answer.",
     extracted=None)
case("logx-marker-after-think", "logx",
     R1(L["work"] + "\n\nSo the answer is 16.", L["sol"] + "\n\nFinal Answer: 16"),
     True, "ok", "Step 2: no box after </think>; marker 'Final Answer: 16' after the think block is used.",
     ans=16, marker="16")

# --- Step 0: unclosed think -> unclosed_think --------------------------------
case("aya-unclosed-think-with-box", "aya",
     "<think>\n" + A["work"] + "\n\nSo the total is $\\boxed{204}$ minutes.\n\nHmm, but let me reconsider whether $t$ is measured",
     False, "unclosed_think", "Step 0: <think> without </think> (truncated) -> no answer, even though a correct box appears inside the reasoning.",
     extracted=None)
case("bases-unclosed-mid-sentence", "bases",
     "<think>\n" + B["work"].split("Since $b > 9$")[0] + "Since $b > 9$, we need $b + 7 > 16$, so $b + 7$ is one of",
     False, "unclosed_think", "Step 0: output cut mid-sentence inside the think block.",
     extracted=None)
F = P["floor"]
case("floor-unclosed-long", "floor",
     "<think>\n" + F["work"].split("So the pairs contribute")[0] +
     "\n".join("Hmm, wait. Let me recount the divisors: 1, 3, 5, 9, 15, 25, 27, 45, 75, 81, 135, 225, 405, 675. That's 14. And 2025 itself gives $2j + 1 = 2025$, $j = 1012$, which is out of range. So 14." for _ in range(24)) +
     "\n\nSo the pairs contribute $-986$ and the total is $-986 + 2 = -984$. Actually, hold on, I should double-check the unpaired term $j = 1000$: $2025 / 1000.5$",
     False, "unclosed_think", "Step 0: long repetitive think block truncated at the token limit; the number -984 appears but there is no </think>.",
     extracted=None, gold="-984")
AB = P["abc"]
case("abc-unclosed-final-answer-inside", "abc",
     "<think>\n" + AB["work"] + "\n\n**Final Answer**\n\\[\n\\boxed{\\frac{9\\sqrt{23}}{23}}\n\\]",
     False, "unclosed_think", "Step 0: the model wrote a complete Final Answer box but never closed <think> -> no answer.",
     extracted=None)
M = P["mark"]
case("mark-unclosed-marker-inside", "mark",
     "<think>\n" + M["work"] + "\n\nFinal Answer: 3375",
     False, "unclosed_think", "Step 0 before Step 2: a marker line inside an unclosed think block is not used.",
     extracted=None)
LT = P["letters"]
case("letters-unclosed-mid-box", "letters",
     "<think>\n" + LT["work"] + "\n\nSo the answer should be $\\boxed{2^{25} \\cdot 26",
     False, "unclosed_think", "Step 0 takes precedence over Step 1: truncated inside an unclosed think block (also mid-box) -> unclosed_think, not truncated_box.",
     extracted=None)
S = P["sgn"]
case("sgn-unclosed-repetition-loop", "sgn",
     "<think>\n" + S["work"] + "\n\n" + "Wait, but is the binary expansion of $1/\\pi$ really what matters here? Let me reconsider. " * 70,
     False, "unclosed_think", "Step 0: degenerate repetition loop until the length limit, no </think>.",
     extracted=None)
case("logx-unclosed-x-equals", "logx",
     "<think>\n" + L["work"] + "\n\nSo $x = 16$. Let me also make sure $x > 0$ is required for the logarithms, yes, so",
     False, "unclosed_think", "Step 0: 'x = 16' inside an unclosed think block is not an answer.",
     extracted=None)
PR = P["prism"]
case("prism-unclosed-short", "prism",
     "<think>\nOkay, so we have a rectangular prism and a plane that intersects it in a hexagon with side lengths 45, 66, 63, 55, 54, and 77 in that order. I need the distance from the center of the prism to the plane.\n\nFirst, let me recall how a plane cuts a box. The hexagon has opposite sides parallel, because opposite faces of the box are parallel. So the sides come in parallel pairs: 45 and 55? Or 45 and",
     False, "unclosed_think", "Step 0: short response truncated early in the think block.",
     extracted=None)
case("hept-unclosed-boxed-then-doubt", "hept",
     "<think>\nThe heptagon $AFNBCEM$: reflections $M$ of $D$ through $F$ and $N$ of $G$ through $E$.\n\n" + P["hept"]["work"] + "\n\nSo $\\boxed{588}$.\n\nBut wait, I assumed the reflected triangles don't overlap. Let me check that $N$ lies on the correct side of line $BC$. Using coordinates $A = (0, 0)$, $B = (28, 0)$, and $C$ at",
     False, "unclosed_think", "Step 0: box inside the reasoning followed by more reasoning, cut off; no </think>.",
     extracted=None)
QD = P["quad"]
case("quad-unclosed-list", "quad",
     "<think>\n" + QD["work"] + "\n\nThus the two values are $\\boxed{\\frac{-1+\\sqrt{17}}{2}}$ and $\\boxed{\\frac{-1-\\sqrt{17}}{2}}$. Hmm, let me verify $S^2 + S - 4 = 0$ by actually deriving $e_3$",
     False, "unclosed_think", "Step 0 for a list gold: both values boxed inside an unclosed think block -> no answer.",
     extracted=None)
PA = P["pairs"]
case("pairs-unclosed-answer-is", "pairs",
     "<think>\n" + PA["work"] + "\n\nSo the answer is 821. Let me re-verify case 2 once more, since",
     False, "unclosed_think", "Step 0: 'the answer is 821' inside an unclosed think block.",
     extracted=None)
P3 = P["pow3"]
case("pow3-unclosed-partial-tag", "pow3",
     "<think>\n" + P3["work"] + "\n\nSo the count is $\\boxed{3^{2025}}$.\n</thi",
     False, "unclosed_think", "Step 0: truncated in the middle of the closing tag ('</thi'): the response contains <think> but not the string </think>.",
     extracted=None)
case("area-unclosed-after-partial", "area",
     "<think>\n" + P["area"]["work"] + "\n\nLet me write this up.\n\n**Solution.** The region splits into three circular sectors and an equilateral triangle. The area is $\\boxed{5\\pi + 6\\sqrt{3}}$.",
     False, "unclosed_think", "Step 0: the model started its write-up (with a box) without ever emitting </think> -> no answer.",
     extracted=None)

# --- Step 1: truncated last box -> truncated_box -----------------------------
case("aya-truncated-box", "aya",
     R1(A["work"], A["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{20"),
     False, "truncated_box", "Step 1: the last \\boxed{ never closes (output cut at the token limit) -> no answer.",
     extracted=None)
case("abc-truncated-nested-braces", "abc",
     R1(AB["work"], AB["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{\\frac{9\\sqrt{23}}{23"),
     False, "truncated_box", "Step 1: truncated box whose inner \\frac/\\sqrt braces are balanced but the box brace is not.",
     extracted=None)
case("bases-truncated-no-fallback-to-earlier", "bases",
     R1(B["work"], rep(B["sol"], "The sum of the bases is $21 + 49 = 70$.", "The sum of the bases is $\\boxed{70}$.") + "\n\n**Final Answer**\n\\[\n\\boxed{7"),
     False, "truncated_box", "Step 1: an earlier complete \\boxed{70} exists, but the LAST box is truncated -> no answer (no fallback to an earlier box, unlike MathArena).",
     extracted=None)
case("letters-truncated-box", "letters",
     R1(LT["work"], LT["sol"].split("\\[")[0] + "\\[\n\\boxed{2^{25} \\cdot 26!"),
     False, "truncated_box", "Step 1: cut right before the closing brace of the box.",
     extracted=None)
case("quad-truncated-list-box", "quad",
     R1(QD["work"], "Subtracting the equations pairwise gives $(a+b)(b+c)(c+a) = 1$, which leads to $S^2 + S - 4 = 0$.\n\n**Final Answer**\n\\[\n\\boxed{\\frac{-1+\\sqrt{17}}{2}, \\frac{-1-\\sqrt{17}}{2}"),
     False, "truncated_box", "Step 1 for a list gold: the only box is not closed -> no answer.",
     extracted=None)
case("roots-truncated-escaped-brace", "roots",
     R1(P["roots"]["work"], "Factoring gives $(x-2)(x-5) = 0$, so the solution set is $\\boxed{\\{2, 5\\}"),
     False, "truncated_box", "Step 1: escaped \\} does not count as a closing brace, so \\boxed{\\{2, 5\\} never closes -> truncated.",
     extracted=None)
case("hept-truncated-dollar-box-at-end", "hept",
     "The heptagon $AFNBCEM$ is obtained from triangle $ABC$ by reflecting two small triangles, and reflections preserve area. Since $[DEGF] = 288$ and $AD : DE : EB = 4 : 16 : 8$, the ratio gives $[ABC] = 588$, so the area of the heptagon is $\\boxed{",
     False, "truncated_box", "Step 1: response (no think tags) ends right after '\\boxed{' -> truncated box.",
     extracted=None)
case("bases-truncated-marker-before", "bases",
     R1(B["work"], B["sol"] + "\n\nFinal Answer: 70\n\nIn boxed form: $\\boxed{70"),
     False, "truncated_box", "Step 1 before Step 2: a \\boxed exists after </think> (truncated), so the marker fallback is not used even though 'Final Answer: 70' is present.",
     extracted=None)
case("sgn-truncated-box", "sgn",
     R1(S["work"], S["sol"].split("\\[")[0] + "\\[\n\\boxed{1 - \\frac{2}{\\pi}"),
     False, "truncated_box", "Step 1: last box truncated after a complete \\frac group.",
     extracted=None)
case("prism-truncated-inner-open", "prism",
     R1(PR["work"], PR["sol"].split("\\[")[0] + "\\[\n\\boxed{\\sqrt{\\frac{95}{24}}"),
     False, "truncated_box", "Step 1: \\sqrt{...} closes but the outer box brace does not.",
     extracted=None)
case("a113-truncated-after-two-boxes", "a113",
     R1("The count of valid triples is either 112 or 113 depending on whether the degenerate case counts. The problem says distinct, so the degenerate triple is excluded... hmm, or is it included? I'll state both.",
        "Depending on whether the degenerate triple is included, the count is $\\boxed{112}$ or $\\boxed{113"),
     False, "truncated_box", "Step 1: two boxes on the final line but the last one is truncated -> truncated_box (extraction fails before any hedge check).",
     extracted=None)
case("a033-fbox-truncated", "a033",
     "We have $\\log_2 x = -\\frac{7}{24}$, $\\log_2 y = -\\frac{3}{8}$, $\\log_2 z = -\\frac{5}{12}$. Then $|\\log_2(x^4 y^3 z^2)| = \\frac{7}{6} + \\frac{9}{8} + \\frac{5}{6} = \\frac{25}{8}$, so $m + n = \\fbox{33",
     False, "truncated_box", "Step 1: \\fbox is handled like \\boxed, including an unterminated one.",
     extracted=None)
case("f448-qwen3-truncated-dfrac", "f448",
     Q3(P["f448"]["work"], P["f448"]["sol"].split("\\[")[0] + "\\[\n\\boxed{\\dfrac{448}{3"),
     False, "truncated_box", "Step 0 (Qwen3, no opening tag) then Step 1: truncated \\dfrac inside the last box.",
     extracted=None)
case("aya-think-ok-after-truncated", "aya",
     R1(A["work"] + "\n\nSo the answer is $\\boxed{204}$.", A["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{204"),
     False, "truncated_box", "Step 0 + 1: the think block holds a complete \\boxed{204} but it is ignored; the box after </think> is truncated.",
     extracted=None)
case("pairs-truncated-after-think-box", "pairs",
     R1(PA["work"], PA["sol"].split("and $m + n")[0] + "and $m + n = \\boxed{8"),
     False, "truncated_box", "Step 1: 'm + n = \\boxed{8' cut after one digit.",
     extracted=None)

# --- Step 1: empty boxes -> no_answer ---------------------------------------
case("a588-empty-box", "a588",
     R1(P["hept"]["work"], P["hept"]["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{}\n\\]"),
     False, "no_answer", "Step 1: empty box content -> no answer.", extracted=None)
case("a117-whitespace-box", "a117",
     R1("Counting ordered pairs $(x, y)$ with $12x^2 - xy - 6y^2 = 0$ and $-100 \\le x, y \\le 100$: the equation factors as $(3x + 2y)(4x - 3y) = 0$. Lines $y = -\\frac32 x$ and $y = \\frac43 x$. First line: $x$ even, $x = 2k$, $y = -3k$, $|3k| \\le 100$: $k \\in [-33, 33]$, 67 pairs. Second: $x = 3k$, $y = 4k$, $|4k| \\le 100$: 51 pairs. Overlap only $(0,0)$: $67 + 51 - 1 = 117$.",
        "The equation factors as $(3x+2y)(4x-3y) = 0$, giving $67$ and $51$ lattice points on the two lines with one common point.\n\n**Final Answer**\n\\[\n\\boxed{ }\n\\]"),
     False, "no_answer", "Step 1: box content is only whitespace -> no answer.", extracted=None)
case("a279-empty-box-after-good-box", "a279",
     R1("Eight-digit numbers using each of the digits 1-8 once that are divisible by 22: the last digit must be even and the alternating digit sum must be divisible by 11. The odd positions must hold digits summing to 18 and the even positions digits summing to 18; there are 8 ways to split, times $4!\\cdot 4!$ arrangements, times $\\frac12$ for the even last digit: $N = 2304$. Then $N - 2025 = 279$.",
        "There are $N = 2304$ such numbers, so $N - 2025 = \\boxed{279}$.\n\nPlease put your final answer in $\\boxed{}$."),
     False, "no_answer", "Step 1: the LAST box is the empty \\boxed{} (model echoing the instruction) -> no answer; no fallback to the earlier \\boxed{279}.",
     extracted=None)
case("a070-empty-box-marker-present", "bases",
     R1(B["work"], B["sol"] + "\n\nFinal Answer: 70\n\n$\\boxed{}$"),
     False, "no_answer", "Step 1/2: an (empty) box exists, so the marker fallback is not tried (Step 2 applies only if there is no \\boxed at all) -> no answer.",
     extracted=None)

# --- Step 2: no box, no marker -> no_answer ---------------------------------
case("aya-no-marker-trailing-number", "aya",
     "We have $\\frac{9}{s} + \\frac{t}{60} = 4$ and $\\frac{9}{s+2} + \\frac{t}{60} = 2.4$. Subtracting, $\\frac{18}{s(s+2)} = 1.6$, so $s = 2.5$ and $t = 24$.\n\nAt $3$ km/h the walk takes $180$ minutes, so the total time including the coffee shop is $180 + 24 = 204$ minutes.",
     False, "no_answer", "Step 2: no box and no marker; the text ends with the correct number 204 but there is no last-number fallback.",
     extracted=None)
case("pairs-no-marker-equation-end", "pairs",
     R1(PA["work"], PA["sol"].split("Hence")[0] + "Hence $P = \\frac{128}{693}$, and\n\\[\nm + n = 821.\n\\]"),
     False, "no_answer", "Step 2: final display 'm + n = 821' without box or marker -> no answer.",
     extracted=None)
case("logx-no-marker-x-equals", "logx",
     R1(L["work"], "Let $u = \\log_2 x$. Then $\\frac{7u}{4} = 7$, so $u = 4$.\n\n$x = 16$"),
     False, "no_answer", "Step 2: last line '$x = 16$' is not a marker -> no answer.",
     extracted=None)
case("bases-final-answer-heading-no-colon", "bases",
     R1(B["work"], B["sol"] + "\n\n**Final Answer**\n\n70"),
     False, "no_answer", "Step 2: a '**Final Answer**' heading followed by a bare 70 on the next line: 'final answer' is not followed by 'is' or ':' anywhere within 100 characters, and no other pattern matches -> no answer.",
     extracted=None)
case("mark-bold-number-no-marker", "mark",
     Q3(M["work"], M["sol"] + "\n\n**3375**"),
     False, "no_answer", "Step 2: a bold number is not a marker -> no answer.",
     extracted=None, gold="3375")
case("div9-answer-heading-no-colon", "div9",
     R1(P["div9"]["work"], "### Solution\n\n" + P["div9"]["sol"] + "\n\n### Answer\n\n103"),
     False, "no_answer", "Step 2: '### Answer' heading without a colon matches none of the three patterns -> no answer.",
     extracted=None)
case("mark-think-box-after-plain", "mark",
     R1(M["work"] + "\n\n$\\boxed{3375}$", "Checking $a = 2, \\dots, 9$, only $a = 3$ gives an integer $n = 375$. I'm confident the four-digit number is 3375."),
     False, "no_answer", "Step 0 + 2: box only in think; the write-up states 3375 without box or marker.",
     extracted=None)
case("a062-truncated-mid-sentence-no-think", "a062",
     "Rotating the parabola $y = x^2 - 4$ by $60^\\circ$ about the origin, the image satisfies\n\\[\n\\frac{\\sqrt3}{2}x + \\frac12 y = \\left(\\frac12 x - \\frac{\\sqrt3}{2} y\\right)^2 - 4.\n\\]\nSubstituting $y = x^2 - 4$ and looking for the intersection in the fourth quadrant, we get a quartic in $x$ which factors as $(\\sqrt3 x^2 + x - 4\\sqrt3)(\\ldots)$. The relevant root gives $y = \\frac{3 - \\sqrt{57}}{2}$ and $a + b + c = 3 + 57 + 2 = 62$, provided that",
     False, "no_answer", "Step 2: truncated response without think tags, box or marker; ends near the correct value -> no answer.",
     extracted=None)

# --- Step 1: box forms ---------------------------------------------------------
case("a073-boxed-space-form", "a073",
     "Let $w, x, y, z$ be the numbers of residents owning exactly one, two, three and four of the items (everyone owns candy hearts). Then $w + x + y + z = 900$ and $w + 2x + 3y + 4z = 195 + 367 + 562 + 900 = 2024$. With $x = 437$ and $y = 234$: $w + z = 229$ and $w + 4z = 2024 - 874 - 702 = 448$, so $3z = 219$ and $z = 73$.\n\nThe answer is $\\boxed 73$.",
     True, "ok", "Step 1: '\\boxed 73' space form; the token ends at '$'. Gold '073' has a leading zero.",
     extracted="73", ans=73)
case("a045-boxed-space-form-period", "a045",
     R1("Grid: sum of two 3-digit numbers top and bottom is 999, sum of three 2-digit column numbers is 99. Setting digits $a..f$: $100(a+d) + 10(b+e) + (c+f) = 999$ forces $a+d = b+e = c+f = 9$, and $10(a+b+c) + (d+e+f) = 99$ forces $a+b+c = 8$. Number of solutions: $\\binom{10}{2} = 45$.",
        "Each column sums to 9 and the top row digits sum to 8, giving $\\binom{10}{2} = 45$ grids, so we get \\boxed 45."),
     True, "ok", "Step 1: space form '\\boxed 45.' takes the token '45.' (up to whitespace/$/end of line); Step 3.4 removes the trailing '.'.",
     extracted="45.", ans=45, rules=(4,))
case("bases-fbox", "bases",
     R1(B["work"], B["sol"] + "\n\n**Final Answer:** $\\fbox{70}$"),
     True, "ok", "Step 1: \\fbox{} is treated like \\boxed{} (and takes priority over the 'Final Answer:' marker).",
     extracted="70", ans=70)
case("bases-nested-boxed", "bases",
     R1(B["work"], B["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{\\boxed{70}}\n\\]"),
     True, "ok", "Step 1 / Step 3.2: \\boxed{\\boxed{70}} unwraps to 70.",
     ans=70, rules=(2,))
case("a104-nested-fbox-in-boxed", "a104",
     "Placing the tetrahedron in coordinates, the inradius is $r = \\frac{20\\sqrt{21}}{63}$, so $m + n + p = 20 + 21 + 63 = 104$.\n\n$\\boxed{\\fbox{104}}$",
     True, "ok", "Step 1: a box nested inside the chosen box is unwrapped (\\fbox inside \\boxed).",
     ans=104)
case("aya-last-box-wins-different-lines", "aya",
     R1(A["work"], A["sol"] + "\n\nSo the walking time is $\\boxed{180}$ minutes.\n\nIncluding the coffee shop, the total time is\n\\[\n\\boxed{204}\n\\]"),
     True, "ok", "Step 1: several boxes on different lines; the last box is chosen and it is alone on its line, so no hedge.",
     extracted="204", ans=204)
case("aya-last-box-wrong-different-lines", "aya",
     R1(A["work"], A["sol"] + "\n\nIncluding the coffee shop, the total time is $\\boxed{204}$ minutes.\n\nHmm, but if the coffee stop is not part of the walk, the walk itself takes\n\\[\n\\boxed{180}\n\\]"),
     False, "wrong", "Step 1: the LAST box (180) is chosen; the earlier correct box is on another line, so this is not a hedge but a wrong answer.",
     extracted="180", ans=180)
case("a110-instruction-box-earlier", "a110",
     R1("Find the least prime $p$ with $n^4 + 1 \\equiv 0 \\pmod{p^2}$ solvable: $p = 17$. Then the least $m$ with $17^2 \\mid m^4 + 1$ is $m = 110$.",
        "As requested, I will put the result in \\boxed{} at the end.\n\nThe least prime is $p = 17$, and the least positive $m$ with $17^2 \\mid m^4+1$ is\n\\[\n\\boxed{110}\n\\]"),
     True, "ok", "Step 1: an earlier empty \\boxed{} mention does not matter; the last box is \\boxed{110}.",
     extracted="110", ans=110)

# --- Step 1: several boxes on the final-answer line ------------------------------
case("a113-hedge-or", "a113",
     R1("The count of valid configurations is 113 if we include the reflection, otherwise 112. Hmm, I'm not sure which interpretation is intended.",
        "Depending on the interpretation, the number of configurations is $\\boxed{112}$ or $\\boxed{113}$."),
     False, "hedge", "Step 1: two boxes with different values on the final-answer line, single-valued gold -> hedging (wrong) even though the last box equals the gold.")
case("aya-hedge-display-quad-or", "aya",
     R1(A["work"], A["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{204} \\quad \\text{or, without the coffee shop,} \\quad \\boxed{180}\n\\]"),
     False, "hedge", "Step 1: two different boxes inside one display line -> hedge (first box is correct).")
case("bases-hedge-listing-bases", "bases",
     R1(B["work"], B["sol"].split("The sum")[0] + "The bases are $\\boxed{21}$, $\\boxed{49}$."),
     False, "hedge", "Step 1: boxing the two bases (21, 49) instead of their sum on one line; single-valued gold -> hedge.")
case("geo1-hedge-sign", "geo1",
     R1(P["geo1"]["work"], "Depending on which side of $A$ the point $P$ lies, $PB = \\boxed{\\sqrt{23}-2\\sqrt{3}}$ or $PB = \\boxed{\\sqrt{23}+2\\sqrt{3}}$."),
     False, "hedge", "Step 1: expression hedge on one line; the first box equals the gold.")
case("logx-hedge-plus-minus-boxes", "logx",
     R1(L["work"] + "\n\nHmm, could $x$ be negative? No, logs need $x > 0$. But I'll mention it.", "We get $x = \\boxed{16}$ or $x = \\boxed{-16}$."),
     False, "hedge", "Step 1: 'x = \\boxed{16} or x = \\boxed{-16}' -> two different values on the final line -> hedge.")
case("a019-hedge-three-boxes", "a019",
     "The possible values of the smallest side are $\\boxed{17}$, $\\boxed{18}$, $\\boxed{19}$, and the problem asks for the one that makes the perimeter 20.",
     False, "hedge", "Step 1: three different boxes on the final line, single-valued gold (19) -> hedge.")
case("a025-hedge-ordered", "xy",
     R1(P["xy"]["work"], "So $xy = \\boxed{25}$ (if the problem meant ordered pairs of logarithms, it would be $\\boxed{50}$)."),
     False, "hedge", "Step 1: correct box first, alternative box later on the same line -> hedge.")
case("floor-hedge", "floor",
     R1(F["work"], F["sol"] + "\n\nI get $\\boxed{-984}$, though if the term $j = 1000$ is excluded it would be $\\boxed{-986}$."),
     False, "hedge", "Step 1: hedge between -984 and -986 on one line.")
case("area-hedge-sign", "area",
     R1(P["area"]["work"], "The area is $\\boxed{5\\pi + 6\\sqrt{3}}$ if the triangle is included, and $\\boxed{5\\pi - 6\\sqrt{3}}$ otherwise."),
     False, "hedge", "Step 1: expression hedge (5\\pi + 6\\sqrt{3} vs 5\\pi - 6\\sqrt{3}) on the final line.")
case("p1311-hedge", "p1311",
     R1(P["p1311"]["work"], "The probability is $\\boxed{\\frac{1311}{2017}}$, or equivalently the complementary probability $\\boxed{\\frac{706}{2017}}$."),
     False, "hedge", "Step 1: two non-equivalent fractions boxed on one line.")
case("hept-hedge-units-line", "hept",
     R1(P["hept"]["work"], P["hept"]["sol"] + "\n\nThe area is $\\boxed{588}$ square units (or $\\boxed{294}$ if only half of the figure is meant)."),
     False, "hedge", "Step 1: hedge on the final line, with a unit word in between.")
case("mark-hedge-think-then", "mark",
     R1(M["work"], M["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{3375} \\text{ or } \\boxed{3376}\n\\]"),
     False, "hedge", "Step 1: '\\boxed{3375} \\text{ or } \\boxed{3376}' in one display line -> hedge.")
case("a077-hedge-last-correct", "a077",
     "The sum of all possible values of $k$ is $\\frac{73}{4}$, hmm, so $m + n = 77$. Alternatively, counting the tangent case twice gives $m + n = 81$.\n\nFinal: $\\boxed{81}$ or $\\boxed{77}$",
     False, "hedge", "Step 1: the last box is correct (77), but a different box shares its line -> hedge.")
case("pairs-hedge-mn-and-fraction", "pairs",
     R1(PA["work"], "The probability is $\\frac{128}{693}$, so $m + n = \\boxed{821}$; as a fraction, $\\boxed{\\frac{128}{693}}$."),
     False, "hedge", "Step 1: boxing both the fraction and m+n on one line; their values differ -> hedge.")

case("aya-same-line-identical-repeat", "aya",
     R1(A["work"], A["sol"] + "\n\nThe walk takes $\\boxed{204}$ minutes in total, i.e. $\\boxed{204}$."),
     True, "ok", "Step 1: two boxes on the final line with identical content -> not a hedge.",
     extracted="204", ans=204, same_line_ok=False)
case("logx-same-line-equivalent-forms", "logx",
     R1(L["work"], L["sol"] + "\n\n$\\boxed{x = 16}$, so the value is $\\boxed{16}$."),
     True, "ok", "Step 1 + Step 3.6: boxes 'x = 16' and '16' on one line normalize to the same string 16 -> identical, not a hedge.",
     extracted="16", ans=16, same_line_ok=True, rules=(6,))

# --- Step 2: marker fallback -------------------------------------------------------
case("bases-marker-final-answer-colon", "bases",
     R1(B["work"], B["sol"] + "\n\nFinal Answer: 70"),
     True, "ok", "Step 2 pattern 1: 'Final Answer: 70' with no box anywhere after </think>.",
     ans=70, marker="70")
case("a045-marker-minerva-sentence", "a045",
     R1("Each column sums to 9 and the top row sums to 8, so the count is $\\binom{10}{2} = 45$.",
        "Each column must sum to $9$ and the digits of the top row must sum to $8$, which gives $\\binom{10}{2} = 45$ grids.\n\nThe final answer is $45$. I hope it is correct."),
     True, "ok", "Step 2 pattern 1: 'The final answer is $45$. I hope it is correct.' -> text up to '. I hope', surrounding $ removed. Gold '045'.",
     ans=45, marker="45")
case("a019-marker-bold-answer", "a019",
     R1("Let the sides be $a < b < c$ with ... the only possibility is $a = 19$.", "The smallest side must be $19$.\n\n**Answer:** 19"),
     True, "ok", "Step 2 pattern 3: '**Answer:** 19' (markdown ** removed).",
     ans=19, marker="19")
case("a073-marker-caps", "a073",
     "w + x + y + z = 900 and w + 2x + 3y + 4z = 2024. With x = 437 and y = 234 we get 3z = 219.\n\nANSWER: 73",
     True, "ok", "Step 2 pattern 3 is case-insensitive: 'ANSWER: 73'. Gold '073'.",
     ans=73, marker="73")
case("a055-marker-the-answer-is", "a055",
     R1("Alice's set $A$: the number of sets $B$ is $\\sum_{a \\in A} 2^{a-1} = 2024$. Binary $2024 = 11111101000_2$, so $A = \\{4, 6, 7, 8, 9, 10, 11\\}$, sum $= 55$.",
        "Since $\\sum_{a\\in A} 2^{a-1} = 2024 = 2^{10}+2^9+2^8+2^7+2^6+2^5+2^3$, we get $A = \\{4,6,7,8,9,10,11\\}$. Therefore, the answer is 55."),
     True, "ok", "Step 2 pattern 2: 'Therefore, the answer is 55.' (trailing period removed). Gold '055'.",
     ans=55, marker="55")
case("abc-marker-answer-is-latex", "abc",
     R1(AB["work"], "With $a = \\frac{5}{\\sqrt{23}}$, $b = \\frac{3}{\\sqrt{23}}$, $c = \\frac{1}{\\sqrt{23}}$ we get $ab + bc + ca = 1$, so the answer is $\\frac{9\\sqrt{23}}{23}$."),
     True, "ok", "Step 2 pattern 2 with a LaTeX answer in $...$ and a trailing period.",
     ans="9/sqrt(23)", marker="\\frac{9\\sqrt{23}}{23}")
case("logx-marker-paren-delims", "logx",
     R1(L["work"], L["sol"] + "\n\nFinal answer: \\(x = 16\\)"),
     True, "ok", "Step 2: surrounding \\(...\\) removed; then Step 3.6 keeps the part after '='.",
     ans=16, marker="x = 16", rules=(6,))
case("mark-marker-thousands-sep", "mark",
     Q3(M["work"], M["sol"] + "\n\nAnswer: 3,375"),
     True, "ok", "Step 2 pattern 3 + Step 3.7: '3,375' -> 3375 (HMMT integer, no declared range).",
     ans=3375, marker="3,375", rules=(7,))
case("a113-marker-priority-final-over-answer-is", "a113",
     R1("Counting again, I get 113.", "At first glance the answer is 112, since there are 112 ways to choose the segments.\n\nHowever, the configuration with all segments parallel was double-counted... no, it was missed, so we add one.\n\nFinal Answer: 113"),
     True, "ok", "Step 2 ordering: pattern 1 ('Final Answer:') is tried before pattern 2 ('the answer is'), even though 'the answer is 112' also occurs.",
     ans=113, marker="113")
case("bases-marker-priority-final-wrong", "bases",
     R1(B["work"], "The bases are 21 and 49, so the answer is 70.\n\nHmm, re-reading the problem, I only need the smallest base.\n\nFinal Answer: 21"),
     False, "wrong", "Step 2 ordering: pattern 1 wins over an earlier 'the answer is 70' -> 21 is graded (wrong).",
     ans=21, marker="21")
case("a601-marker-priority-answer-is-over-answer-colon", "a601",
     R1("Triples of nonnegative integers with $a + b + c = 300$ and $a^2 b + a^2 c + b^2 a + b^2 c + c^2 a + c^2 b = 6{,}000{,}000$: the condition is equivalent to $(a-100)(b-100)(c-100) = 0$. Inclusion-exclusion: $3 \\cdot 201 - 3 + 1 = 601$.",
        "The condition is equivalent to $(a-100)(b-100)(c-100) = 0$. Counting triples with at least one coordinate equal to $100$ by inclusion-exclusion gives $3\\cdot 201 - 3 + 1 = 601$, so the answer is 601.\n\nWait, should $(100, 100, 100)$ be excluded? The problem does not say distinct, so no.\n\nAnswer: 600"),
     True, "ok", "Step 2 ordering: pattern 2 ('the answer is') is tried before pattern 3 ('answer:'); 601 is used.",
     ans=601, marker="601")
case("aya-marker-last-match", "aya",
     R1(A["work"], "Final answer: 180\n\nWait, I forgot to add the $t = 24$ minutes spent in the coffee shop.\n\nFinal answer: 204"),
     True, "ok", "Step 2: for the matching pattern its LAST match is used.",
     ans=204, marker="204")
case("aya-marker-minerva-full", "aya",
     R1(A["work"], A["sol"] + "\n\nFinal Answer: The final answer is $204$. I hope it is correct."),
     True, "ok", "Step 2: lm-eval Minerva line; the last match of pattern 1 is 'final answer is', answer text ends at '. I hope'.",
     ans=204, marker="204")
case("aya-marker-unit-words", "aya",
     R1(A["work"], A["sol"] + "\n\nFinal Answer: 204 minutes"),
     True, "ok", "Step 2 + Step 3.3: trailing unit word 'minutes' after a number is deleted.",
     ans=204, marker="204 minutes", rules=(3,))
case("roots-marker-and-list", "roots",
     R1(P["roots"]["work"], P["roots"]["sol"] + "\n\nFinal Answer: 2 and 5"),
     True, "ok", "Step 2 + Step 3.10: list gold, 'and' separates list elements.",
     ans=["2", "5"], marker="2 and 5", rules=(10,))
case("roots-marker-or-list", "roots",
     R1(P["roots"]["work"], "Both roots satisfy $x > 1$, so the answer is $x = 5$ or $x = 2$, hmm, more simply: the answer is 5 or 2."),
     True, "ok", "Step 2 (last match of 'the answer is') + Step 3.10: 'or' separates list elements; order does not matter.",
     ans=["5", "2"], marker="5 or 2", rules=(10,))
case("a025-marker-out-of-range", "xy",
     "From $x\\log_x y = 10$ and $4y\\log_y x = 10$, multiplying gives $4xy = 100$. Since the two logarithms multiply to $1$, the product of the left sides is $10 \\cdot 10 \\cdot 10 = 1000$.\n\nANSWER: 1000",
     False, "wrong", "Step 4: integer outside the declared AIME range [0, 999] -> wrong.",
     ans=1000, marker="1000")
case("f448-marker-bold-dfrac", "f448",
     R1(P["f448"]["work"], P["f448"]["sol"] + "\n\n**Final Answer:** $\\dfrac{448}{3}$"),
     True, "ok", "Step 2: '**Final Answer:** $\\dfrac{448}{3}$' -> markdown and $ removed; Step 3.2 \\dfrac -> \\frac.",
     ans=Fraction(448, 3), marker="\\dfrac{448}{3}", rules=(2,))
case("sgn-marker-decimal-irrational", "sgn",
     R1(S["work"], "Numerically the series converges to about 0.3634.\n\nAnswer: 0.3634"),
     False, "wrong", "Step 2 + Step 4: a decimal approximation of an irrational gold (1 - 2/pi) is wrong.",
     ans=Fraction(3634, 10000), marker="0.3634")
case("pow3-marker-display", "pow3",
     R1(P3["work"], "The positions are independent with three choices each.\n\nFinal Answer: \\[ 3^{2025} \\]"),
     True, "ok", "Step 2: surrounding \\[...\\] removed from the marker text.",
     ans=3**2025, marker="3^{2025}")
case("a294-marker-final-answer-is", "a294",
     R1("Paths of length 16 on an $8\\times 8$ grid changing direction exactly four times: $2 \\cdot \\binom{7}{2}\\binom{7}{1}\\ldots$ I computed $2 \\cdot 21 \\cdot 7 = 294$.",
        "Choosing the turning points gives $\\binom{7}{2}\\binom{7}{1} = 147$ paths for each starting direction, $294$ in all.\n\nMy final answer is 294."),
     True, "ok", "Step 2 pattern 1 via 'is': 'My final answer is 294.' (trailing period removed).",
     ans=294, marker="294")
case("a540-marker-uppercase-final", "a540",
     "Write $z = 4e^{i\\theta}$. The real part of $(75+117i)z + \\frac{96+144i}{z}$ is $324\\cos\\theta - 432\\sin\\theta$, whose maximum is $\\sqrt{324^2 + 432^2} = 540$.\n\nFINAL ANSWER: 540",
     True, "ok", "Step 2 pattern 1 is case-insensitive ('FINAL ANSWER: 540').",
     ans=540, marker="540")
case("a480-marker-in-think-and-after", "a480",
     R1("Hyperbola rhombus: $BD^2 > 480$ always, infimum 480, so the answer is 480.",
        "For the rhombus inscribed in $\\frac{x^2}{20} - \\frac{y^2}{24} = 1$ with diagonals through the origin, $BD^2 > 480$ and the bound is sharp.\n\n**Final Answer:** **480**"),
     True, "ok", "Step 2: marker after </think> is used; all markdown '**' removed from the answer text ('** **480**').",
     ans=480, marker="480")

# --- Step 3.1: unicode ---------------------------------------------------------
case("floor-unicode-minus", "floor",
     F["sol"] + "\n\n**Final Answer**\n\n$\\boxed{" + MINUS + "984}$",
     True, "ok", "Step 3.1: U+2212 minus sign maps to '-'. HMMT integer gold -984 with no declared range.",
     extracted=MINUS + "984", ans=-984, rules=(1,))
case("floor-en-dash", "floor",
     Q3(F["work"], "Summing the 1000 pairs and the unpaired term gives $\\boxed{\u2013984}$."),
     True, "ok", "Step 3.1: en dash U+2013 maps to '-'.",
     extracted="\u2013984", ans=-984, rules=(1,))
case("area-unicode-pi-sqrt", "area",
     R1(P["area"]["work"], "Three sectors contribute 5π and the triangle contributes 6√3.\n\n**Final Answer:** $\\boxed{5π + 6√3}$"),
     True, "ok", "Step 3.1: unicode π -> \\pi and √ -> \\sqrt; '6√3' becomes '6\\sqrt3' (single-digit radicand, standard TeX argument).",
     extracted="5π + 6√3", ans="5*pi+6*sqrt(3)", rules=(1,))
case("letters-unicode-times", "letters",
     R1(LT["work"], "Ordering letters by first occurrence and choosing orientations gives $\\boxed{2^{25} × 26!}$ arrangements."),
     True, "ok", "Step 3.1: × maps to \\cdot.",
     extracted="2^{25} × 26!", ans=2**25 * fac(26), rules=(1,))
case("letters-unicode-middot", "letters",
     R1(LT["work"], LT["sol"].split("\\[")[0] + "\\[\n\\boxed{2^{25}·26!}\n\\]"),
     True, "ok", "Step 3.1: middle dot · maps to \\cdot.",
     extracted="2^{25}·26!", ans=2**25 * fac(26), rules=(1,))
case("arcs-unicode-degree", "arcs",
     R1(P["arcs"]["work"], "The arcs are 72°, 24° and 72°, so the weighted sum is 72° + 48° + 216° = $\\boxed{336°}$."),
     True, "ok", "Step 3.1: the degree sign ° is deleted.",
     extracted="336°", ans=336, rules=(1,))
case("mark-nbsp-grouping", "mark",
     R1(M["work"], "The four-digit number is $\\boxed{3" + NBSP + "375}$."),
     True, "ok", "Step 3.1 + 3.7: non-breaking space inside the number becomes a space, then digit grouping '3 375' -> 3375.",
     extracted="3" + NBSP + "375", ans=3375, rules=(1, 7))
case("grid-narrow-nbsp-grouping", "grid",
     "Each choice has $48$ options, so the total number of configurations is $48^2 = \\boxed{2" + NNBSP + "304}$.",
     True, "ok", "Step 3.1 + 3.7: narrow no-break space U+202F as a thousands separator -> 2304.",
     extracted="2" + NNBSP + "304", ans=2304, rules=(1, 7))
case("sgn-unicode-pi-minus", "sgn",
     R1(S["work"], "Hence the sum equals\n\\[\n\\boxed{1 − \\frac{2}{π}}\n\\]"),
     True, "ok", "Step 3.1: unicode minus and π inside LaTeX.",
     extracted="1 − \\frac{2}{π}", ans="1-2/pi", rules=(1,))
case("sqrt2-unicode-list", "sqrt2",
     R1(P["sqrt2"]["work"], "The roots are $t = 1 \\pm \\sqrt 2$:\n\n**Final Answer:** $\\boxed{1+√2, 1−√2}$"),
     True, "ok", "Step 3.1 on a list: √2 -> \\sqrt2, − -> '-'.",
     extracted="1+√2, 1−√2", ans=["1+sqrt(2)", "1-sqrt(2)"], rules=(1, 10))

# --- Step 3.2: wrappers, spacing commands, \dfrac/\tfrac ------------------------
case("abc-displaystyle-dfrac", "abc",
     R1(AB["work"], AB["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{\\displaystyle \\dfrac{9\\sqrt{23}}{23}}\n\\]"),
     True, "ok", "Step 3.2: \\displaystyle removed, \\dfrac -> \\frac.",
     extracted="\\displaystyle \\dfrac{9\\sqrt{23}}{23}", ans="9/sqrt(23)", rules=(2,))
case("cube-left-right", "cube",
     R1(P["cube"]["work"], P["cube"]["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{\\left(3+\\sqrt{6}\\right)^{-1/3}}\n\\]"),
     True, "ok", "Step 3.2: \\left( and \\right) reduce to plain parentheses.",
     extracted="\\left(3+\\sqrt{6}\\right)^{-1/3}", ans="(3+sqrt(6))**(-mpf(1)/3)", rules=(2,))
case("cube-bigl-bigr", "cube",
     R1(P["cube"]["work"], "So $r = \\boxed{\\bigl(3+\\sqrt{6}\\bigr)^{-1/3}}$."),
     True, "ok", "Step 3.2: \\bigl/\\bigr (\\big*) removed.",
     extracted="\\bigl(3+\\sqrt{6}\\bigr)^{-1/3}", ans="(3+sqrt(6))**(-mpf(1)/3)", rules=(2,))
case("exp50-Big-parens", "exp50",
     R1(P["exp50"]["work"], "The expected value is\n\\[\n\\boxed{50\\Big(1 - \\frac{1}{2^{101}-1}\\Big)}\n\\]"),
     True, "ok", "Step 3.2: \\Big( \\Big) removed; Step 4: exact rational comparison.",
     extracted="50\\Big(1 - \\frac{1}{2^{101}-1}\\Big)", ans=Fraction(50) * (1 - Fraction(1, 2**101 - 1)), rules=(2,))
case("sgn-tfrac", "sgn",
     R1(S["work"], "So the sum is $\\boxed{1-\\tfrac{2}{\\pi}}$."),
     True, "ok", "Step 3.2: \\tfrac -> \\frac.",
     extracted="1-\\tfrac{2}{\\pi}", ans="1-2/pi", rules=(2,))
case("ad-mathrm-equals", "ad",
     R1(P["ad"]["work"], P["ad"]["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{\\mathrm{AD} = 26}\n\\]"),
     True, "ok", "Step 3.2 + 3.6: \\mathrm{AD} unwrapped, then the part after '=' is kept.",
     extracted="\\mathrm{AD} = 26", ans=26, rules=(2, 6))
case("xy-mathbf", "xy",
     R1(P["xy"]["work"], P["xy"]["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{\\mathbf{25}}\n\\]"),
     True, "ok", "Step 3.2: \\mathbf{} unwrapped; gold '025' normalizes to 25.",
     extracted="\\mathbf{25}", ans=25, rules=(2,))
case("bases-textbf", "bases",
     R1(B["work"], "**Conclusion.** The admissible bases are $21$ and $49$, whose sum is $\\boxed{\\textbf{70}}$."),
     True, "ok", "Step 3.2: \\textbf{} unwrapped.",
     extracted="\\textbf{70}", ans=70, rules=(2,))
case("letters-negthin-cdot", "letters",
     R1(LT["work"], "Hence the number of arrangements is $\\boxed{2^{25}\\!\\cdot\\! 26!}$."),
     True, "ok", "Step 3.2: \\! removed around \\cdot (the '!' of 26! is a factorial).",
     extracted="2^{25}\\!\\cdot\\! 26!", ans=2**25 * fac(26), rules=(2,))
case("roots-quad-spacing-list", "roots",
     R1(P["roots"]["work"], "The solutions are $\\boxed{2,\\quad 5}$."),
     True, "ok", "Step 3.2: \\quad removed; Step 3.10: list split on the comma.",
     extracted="2,\\quad 5", ans=["2", "5"], rules=(2, 10))
case("ad-thickspace-text-units", "ad",
     R1(P["ad"]["work"], "By the Pythagorean theorem, $\\boxed{AD = 26\\;\\text{units}}$."),
     True, "ok", "Step 3.2 (\\; removed) + 3.3 (\\text{units} has no digit -> deleted) + 3.6 (after '=').",
     extracted="AD = 26\\;\\text{units}", ans=26, rules=(2, 3, 6))
case("aya-backslash-space-text", "aya",
     R1(A["work"], A["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{204\\ \\text{minutes}}\n\\]"),
     True, "ok", "Step 3.2 ('\\ ' removed) + 3.3 (\\text{minutes} deleted).",
     extracted="204\\ \\text{minutes}", ans=204, rules=(2, 3))
case("mark-thinspace-grouping", "mark",
     R1(M["work"], M["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{3\\,375}\n\\]"),
     True, "ok", "Step 3.2/3.7: '3\\,375' (LaTeX thin space as thousands separator) -> 3375.",
     extracted="3\\,375", ans=3375, rules=(2, 7))

# --- Step 3.3: \text{} and unit words -----------------------------------------------
case("aya-text-204", "aya",
     R1(A["work"], A["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{\\text{204}}\n\\]"),
     True, "ok", "Step 3.3: \\text{204} contains a number -> content kept (MathArena would delete it; our rule keeps it).",
     extracted="\\text{204}", ans=204, rules=(3,))
case("aya-text-minutes", "aya",
     R1(A["work"], "Including the coffee stop, the walk takes $\\boxed{204\\text{ minutes}}$."),
     True, "ok", "Step 3.3: \\text{ minutes} has no number -> deleted.",
     extracted="204\\text{ minutes}", ans=204, rules=(3,))
case("aya-text-number-and-unit", "aya",
     R1(A["work"], A["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{\\text{204 minutes}}\n\\]"),
     True, "ok", "Step 3.3: \\text{204 minutes} contains a number -> content kept, then the trailing unit word 'minutes' after the number is deleted.",
     extracted="\\text{204 minutes}", ans=204, rules=(3,))
case("hept-text-cm-squared", "hept",
     R1(P["hept"]["work"], "The heptagon has the same area as the triangle: $\\boxed{588\\text{ cm}^2}$."),
     True, "ok", "Step 3.3: the spec lists '\\text{cm}^2' itself as a unit that is deleted (the ^2 belongs to the unit, it is not an exponent of 588).",
     extracted="588\\text{ cm}^2", ans=588, rules=(3,))
case("hept-text-square-units", "hept",
     R1(P["hept"]["work"], P["hept"]["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{588 \\text{ square units}}\n\\]"),
     True, "ok", "Step 3.3: \\text{ square units} deleted.",
     extracted="588 \\text{ square units}", ans=588, rules=(3,))
case("ad-mathrm-cm-unit-word", "ad",
     R1(P["ad"]["work"], "Hence $\\boxed{26 \\mathrm{cm}}$."),
     True, "ok", "Step 3.2 unwraps \\mathrm{cm} -> 'cm'; Step 3.3 deletes the unit word 'cm' after the number.",
     extracted="26 \\mathrm{cm}", ans=26, rules=(2, 3))
case("arcs-degrees-word", "arcs",
     R1(P["arcs"]["work"], "The weighted sum of the arcs is $\\boxed{336 \\text{ degrees}}$."),
     True, "ok", "Step 3.3: \\text{ degrees} deleted.",
     extracted="336 \\text{ degrees}", ans=336, rules=(3,))
case("ad-text-number-units", "ad",
     R1(P["ad"]["work"], "So $\\boxed{\\text{26 units}}$."),
     True, "ok", "Step 3.3: \\text{26 units} kept as '26 units' (contains a number), then the trailing unit word 'units' is deleted.",
     extracted="\\text{26 units}", ans=26, rules=(3,))
case("angle-plain-degrees", "angle",
     "Since $AB = BD = AD$, triangle $ABD$ is equilateral, so $\\angle ABD = \\boxed{60 \\text{ degrees}}$.",
     True, "ok", "Step 3.3: unit text after the number is deleted (integer gold without declared range).",
     extracted="60 \\text{ degrees}", ans=60, rules=(3,))

# --- Step 3.4: ^\circ and trailing '.' ---------------------------------------------
case("arcs-circ", "arcs",
     R1(P["arcs"]["work"], P["arcs"]["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{336^\\circ}\n\\]"),
     True, "ok", "Step 3.4: ^\\circ deleted.",
     extracted="336^\\circ", ans=336, rules=(4,))
case("arcs-circ-braced", "arcs",
     R1(P["arcs"]["work"], "Therefore $\\widehat{DE} + 2\\widehat{HJ} + 3\\widehat{FG} = \\boxed{336^{\\circ}}$."),
     True, "ok", "Step 3.4: ^{\\circ} deleted.",
     extracted="336^{\\circ}", ans=336, rules=(4,))
case("angle-circ", "angle",
     P["angle"]["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{60^\\circ}\n\\]",
     True, "ok", "Step 3.4: ^\\circ deleted (no think tags).",
     extracted="60^\\circ", ans=60, rules=(4,))
case("half-trailing-period", "half",
     R1(P["half"]["work"], P["half"]["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{\\frac{17}{2}.}\n\\]"),
     True, "ok", "Step 3.4: trailing '.' inside the box deleted.",
     extracted="\\frac{17}{2}.", ans=Fraction(17, 2), rules=(4,))
case("bases-trailing-period", "bases",
     R1(B["work"], "The sum of the bases is $\\boxed{70.}$"),
     True, "ok", "Step 3.4: '70.' -> 70 (not a decimal with non-zero fraction).",
     extracted="70.", ans=70, rules=(4,))
case("arcs-circ-wrong", "arcs",
     R1(P["arcs"]["work"], "Adding up: $72^\\circ + 24^\\circ + 72^\\circ = \\boxed{168^\\circ}$."),
     False, "wrong", "Step 3.4 then Step 4: 168 (unweighted sum of arcs) != 336.",
     extracted="168^\\circ", ans=168, rules=(4,))

# --- Step 3.5: \approx ------------------------------------------------------------
case("sgn-approx-kept-exact", "sgn",
     R1(S["work"], "So the sum is\n\\[\n\\boxed{\\frac{\\pi-2}{\\pi} \\approx 0.3634}\n\\]"),
     True, "ok", "Step 3.5: part before \\approx kept; (pi-2)/pi is equivalent to 1 - 2/pi.",
     extracted="\\frac{\\pi-2}{\\pi} \\approx 0.3634", ans="(pi-2)/pi", rules=(5,))
case("abc-approx", "abc",
     R1(AB["work"], AB["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{\\frac{9\\sqrt{23}}{23} \\approx 1.8766}\n\\]"),
     True, "ok", "Step 3.5: exact value before \\approx is kept.",
     extracted="\\frac{9\\sqrt{23}}{23} \\approx 1.8766", ans="9/sqrt(23)", rules=(5,))
case("prism-approx-with-equals", "prism",
     R1(PR["work"], "The distance from the center to the plane is $\\boxed{d = \\sqrt{\\frac{95}{24}} \\approx 1.99}$."),
     True, "ok", "Step 3.5 then 3.6: 'd = \\sqrt{\\frac{95}{24}} \\approx 1.99' -> before \\approx -> after '='.",
     extracted="d = \\sqrt{\\frac{95}{24}} \\approx 1.99", ans="sqrt(mpf(95)/24)", rules=(5, 6))
case("area-approx", "area",
     R1(P["area"]["work"], "Total area: $\\boxed{5\\pi + 6\\sqrt{3} \\approx 26.10}$."),
     True, "ok", "Step 3.5: the exact part before \\approx is graded, not 26.10.",
     extracted="5\\pi + 6\\sqrt{3} \\approx 26.10", ans="5*pi+6*sqrt(3)", rules=(5,))
case("geo1-approx-wrong-exact-part", "geo1",
     R1(P["geo1"]["work"], "Thus $PB = \\boxed{\\sqrt{23} - \\sqrt{3} \\approx 3.0637}$."),
     False, "wrong", "Step 3.5: the part before \\approx (\\sqrt{23} - \\sqrt{3}) is graded and it is not the gold.",
     extracted="\\sqrt{23} - \\sqrt{3} \\approx 3.0637", ans="sqrt(23)-sqrt(3)", rules=(5,))

# --- Step 3.6: '=' ----------------------------------------------------------------
case("logx-x-equals", "logx",
     R1(L["work"], L["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{x = 16}\n\\]"),
     True, "ok", "Step 3.6: 'x = 16' -> 16.",
     extracted="x = 16", ans=16, rules=(6,))
case("pairs-m-plus-n-equals", "pairs",
     R1(PA["work"], PA["sol"].split("and $m + n")[0] + "and\n\\[\n\\boxed{m+n=821}\n\\]"),
     True, "ok", "Step 3.6: 'm+n=821' -> 821.",
     extracted="m+n=821", ans=821, rules=(6,))
case("ad-equals", "ad",
     R1(P["ad"]["work"], P["ad"]["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{AD = 26}\n\\]"),
     True, "ok", "Step 3.6: 'AD = 26' -> 26.",
     extracted="AD = 26", ans=26, rules=(6,))
case("bases-chain-equals", "bases",
     R1(B["work"], "The valid bases are $21$ and $49$.\n\n**Final Answer**\n\\[\n\\boxed{21 + 49 = 70}\n\\]"),
     True, "ok", "Step 3.6: only the text after the LAST '=' is kept.",
     extracted="21 + 49 = 70", ans=70, rules=(6,))
case("abc-sum-equals", "abc",
     R1(AB["work"], "Therefore\n\\[\n\\boxed{a+b+c = \\frac{9\\sqrt{23}}{23}}\n\\]"),
     True, "ok", "Step 3.6: left-hand side 'a+b+c' dropped.",
     extracted="a+b+c = \\frac{9\\sqrt{23}}{23}", ans="9/sqrt(23)", rules=(6,))
case("pairs-fraction-equals-wrong", "pairs",
     R1(PA["work"], "The probability is\n\\[\n\\boxed{\\frac{m}{n} = \\frac{128}{693}}\n\\]"),
     False, "wrong", "Step 3.6 + Step 4: after '=' the answer is 128/693, not an integer -> wrong for gold 821.",
     extracted="\\frac{m}{n} = \\frac{128}{693}", ans=Fraction(128, 693), rules=(6,))
case("geo1-pb-equals", "geo1",
     R1(P["geo1"]["work"], P["geo1"]["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{PB = \\sqrt{23} - 2\\sqrt{3}}\n\\]"),
     True, "ok", "Step 3.6 and Step 3.8 juxtaposition (2\\sqrt{3} = 2*sqrt(3)).",
     extracted="PB = \\sqrt{23} - 2\\sqrt{3}", ans="sqrt(23)-2*sqrt(3)", rules=(6, 8))

# --- Step 3.7: digit grouping -------------------------------------------------------
case("mark-comma-grouping", "mark",
     R1(M["work"], M["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{3,375}\n\\]"),
     True, "ok", "Step 3.7: '3,375' -> 3375 (single-valued gold).",
     extracted="3,375", ans=3375, rules=(7,))
case("mark-brace-comma-grouping", "mark",
     R1(M["work"], "So $\\underline{abcd} = \\boxed{3{,}375}$."),
     True, "ok", "Step 3.7: '3{,}375' -> 3375.",
     extracted="3{,}375", ans=3375, rules=(7,))
case("grid-space-grouping", "grid",
     "There are $48$ choices for each of the two independent parts, so the number of configurations is\n\\[\n\\boxed{2 304}\n\\]",
     True, "ok", "Step 3.7: '2 304' (space as thousands separator) -> 2304, not 2*304.",
     extracted="2 304", ans=2304, rules=(7,))
case("letters-expanded-grouped", "letters",
     R1(LT["work"] + "\n\nLet me compute this: $26! = " + str(fac(26)) + "$ and $2^{25} = " + str(2**25) + "$.",
        "The number of arrangements is $2^{25} \\cdot 26!$, which equals\n\\[\n\\boxed{" + format(2**25 * fac(26), ",") + "}\n\\]"),
     True, "ok", "Step 3.7 + Step 4: the fully expanded integer with comma grouping equals 2^{25} * 26! exactly.",
     extracted=format(2**25 * fac(26), ","), ans=2**25 * fac(26), rules=(7,))
case("grid-grouping-wrong-value", "grid",
     "Each part has $48$ options and the parts are independent, except that $96$ configurations are counted twice: $2304 - 96 = \\boxed{2,208}$.",
     False, "wrong", "Step 3.7 then Step 4: '2,208' -> 2208 != 2304.",
     extracted="2,208", ans=2208, rules=(7,))

# --- Step 3.8: mixed numbers and juxtaposition --------------------------------------
case("f448-mixed-number", "f448",
     R1(P["f448"]["work"], "The volume is $\\boxed{149\\frac{1}{3}}$."),
     True, "ok", "Step 3.8: '149\\frac{1}{3}' is the mixed number 149 + 1/3 = 448/3.",
     extracted="149\\frac{1}{3}", ans=Fraction(448, 3), rules=(8,))
case("f448-mixed-number-dfrac", "f448",
     R1(P["f448"]["work"], P["f448"]["sol"] + "\n\nAs a mixed number:\n\\[\n\\boxed{149\\dfrac{1}{3}}\n\\]"),
     True, "ok", "Step 3.2 (\\dfrac -> \\frac) then Step 3.8 mixed number.",
     extracted="149\\dfrac{1}{3}", ans=Fraction(448, 3), rules=(2, 8))
case("half-mixed-number", "half",
     R1(P["half"]["work"], "So the expected number of steps is $\\boxed{8\\frac{1}{2}}$."),
     True, "ok", "Step 3.8: 8\\frac{1}{2} = 17/2 (not 8*1/2 = 4).",
     extracted="8\\frac{1}{2}", ans=Fraction(17, 2), rules=(8,))
case("abc-juxtaposed-frac-sqrt", "abc",
     R1(AB["work"], "Hence $a + b + c = \\boxed{\\frac{9}{23}\\sqrt{23}}$."),
     True, "ok", "Step 3.8: juxtaposition \\frac{9}{23}\\sqrt{23} is multiplication (not a mixed number: no leading integer).",
     extracted="\\frac{9}{23}\\sqrt{23}", ans="9/sqrt(23)", rules=(8,))
case("letters-juxtaposed-power-factorial", "letters",
     R1(LT["work"], "The total is $\\boxed{2^{25}26!}$."),
     True, "ok", "Step 3.8: '2^{25}26!' juxtaposition means multiplication.",
     extracted="2^{25}26!", ans=2**25 * fac(26), rules=(8,))
case("geo2-juxtaposed-factor", "geo2",
     R1(P["geo2"]["work"], "The perimeter is $\\boxed{2(7+2\\sqrt{37})}$."),
     True, "ok", "Step 3.8: 2(7+2\\sqrt{37}) is 2*(7+2*sqrt(37)) = 14+4\\sqrt{37}.",
     extracted="2(7+2\\sqrt{37})", ans="2*(7+2*sqrt(37))", rules=(8,))

# --- Step 3.9: \pm -----------------------------------------------------------------
case("geo1-pm-single-gold", "geo1",
     R1(P["geo1"]["work"], "So $PB = \\boxed{\\sqrt{23} \\pm 2\\sqrt{3}}$."),
     False, "wrong", "Step 3.9: '\\sqrt{23} \\pm 2\\sqrt{3}' expands to two values; for a single-valued gold that is wrong even though one value matches.",
     extracted="\\sqrt{23} \\pm 2\\sqrt{3}", ans=["sqrt(23)+2*sqrt(3)", "sqrt(23)-2*sqrt(3)"], rules=(9,))
case("geo2-pm-single-gold", "geo2",
     R1(P["geo2"]["work"], "The perimeter is\n\\[\n\\boxed{14 \\pm 4\\sqrt{37}}\n\\]"),
     False, "wrong", "Step 3.9: \\pm answer for single-valued gold -> wrong.",
     extracted="14 \\pm 4\\sqrt{37}", ans=["14+4*sqrt(37)", "14-4*sqrt(37)"], rules=(9,))
case("sqrt2-pm-single-gold", "sqrt2",
     R1(P["sqrt2"]["work"] + "\n\nThe problem asks for the larger root.", "The roots are $1 \\pm \\sqrt{2}$, so $t = \\boxed{1 \\pm \\sqrt{2}}$."),
     False, "wrong", "Step 3.9: gold is the single value 1+\\sqrt{2}; a \\pm answer is a two-element list -> wrong.",
     gold="1+\\sqrt{2}", t="expression", val="1+sqrt(2)",
     extracted="1 \\pm \\sqrt{2}", ans=["1+sqrt(2)", "1-sqrt(2)"], rules=(9,))
case("sqrt2-pm-list-gold", "sqrt2",
     R1(P["sqrt2"]["work"], P["sqrt2"]["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{1 \\pm \\sqrt{2}}\n\\]"),
     True, "ok", "Step 3.9: a \\pm b expands to a+b, a-b, which matches the two-element list gold.",
     extracted="1 \\pm \\sqrt{2}", ans=["1+sqrt(2)", "1-sqrt(2)"], rules=(9,))
case("quad-pm-list-gold", "quad",
     R1(QD["work"], "Solving $S^2 + S - 4 = 0$:\n\\[\n\\boxed{-\\frac{1}{2} \\pm \\frac{\\sqrt{17}}{2}}\n\\]"),
     True, "ok", "Step 3.9: top-level 'a \\pm b' with a = -1/2, b = sqrt(17)/2 gives both required values.",
     extracted="-\\frac{1}{2} \\pm \\frac{\\sqrt{17}}{2}", ans=["-mpf(1)/2+sqrt(17)/2", "-mpf(1)/2-sqrt(17)/2"], rules=(9,))

# --- Step 4: integer answers --------------------------------------------------------
XY = P["xy"]
case("xy-decimal-point-zero", "xy",
     R1(XY["work"], XY["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{25.0}\n\\]"),
     True, "ok", "Step 4 integer: '25.0' evaluates to the integer 25.", extracted="25.0", ans=25)
case("xy-sum-expression", "xy",
     R1(XY["work"], "Adding the two partial counts, $xy = \\boxed{12+13}$."),
     True, "ok", "Step 4 integer: '12+13' evaluates to 25.", extracted="12+13", ans=25)
case("xy-power", "xy",
     R1(XY["work"], "Since $4xy = 100$, we get $xy = \\boxed{5^2}$."),
     True, "ok", "Step 4 integer: '5^2' evaluates to 25.", extracted="5^2", ans=25)
case("xy-leading-zero-answer", "xy",
     R1(XY["work"], XY["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{025}\n\\]"),
     True, "ok", "Step 4 integer: leading zeros are irrelevant ('025' vs gold '25').",
     gold="25", extracted="025", ans=25)
case("xy-fraction-integer-valued", "xy",
     R1(XY["work"], "From $4xy = 100$: $xy = \\boxed{\\frac{100}{4}}$."),
     True, "ok", "Step 4 integer: \\frac{100}{4} evaluates to the integer 25.", extracted="\\frac{100}{4}", ans=25)
case("xy-decimal-fraction-wrong", "xy",
     R1(XY["work"], "Hmm, with the rounding I get $xy = \\boxed{25.5}$."),
     False, "wrong", "Step 4 integer: decimal with non-zero fraction -> wrong.", extracted="25.5", ans=Fraction(51, 2))
case("xy-non-integer-fraction", "xy",
     R1(XY["work"], "So $xy = \\boxed{\\frac{51}{2}}$."),
     False, "wrong", "Step 4 integer: non-integer rational -> wrong.", extracted="\\frac{51}{2}", ans=Fraction(51, 2))
case("xy-percent-scaling-wrong", "xy",
     R1(XY["work"], "Expressed as a fraction of 100, $xy/100 = \\boxed{0.25}$."),
     False, "wrong", "Step 4: no percent scaling; 0.25 is not 25 (Qwen's math_equal would accept it).", extracted="0.25", ans=Fraction(1, 4))
case("a104-out-of-range", "a104",
     "The inradius is $\\frac{20\\sqrt{21}}{63}$, so $m + n + p = 20 + 21 + 63 = 104$. Hmm, actually $p = 1063$? Then $m+n+p = \\boxed{1104}$.",
     False, "wrong", "Step 4: AIME range [0, 999] declared; 1104 is outside -> wrong.", extracted="1104", ans=1104)
case("a116-negative-with-range", "a116",
     "The coefficient computed from the expansion is $\\boxed{-116}$.",
     False, "wrong", "Step 4: negative integer with AIME range declared -> wrong.", extracted="-116", ans=-116)
case("mark-plain-no-range", "mark",
     R1(M["work"], M["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{3375}\n\\]"),
     True, "ok", "Step 4: HMMT integer gold 3375 has no declared range, so a value above 999 is fine.", extracted="3375", ans=3375)
case("floor-plain-negative-no-range", "floor",
     R1(F["work"], F["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{-984}\n\\]"),
     True, "ok", "Step 4: negative HMMT integer gold, no declared range.", extracted="-984", ans=-984)
case("floor-off-by-two", "floor",
     R1(F["work"], "The 1000 pairs contribute $-1000 + 14 = -986$. I'll forget the unpaired term, giving $\\boxed{-986}$."),
     False, "wrong", "Step 4: -986 != -984.", extracted="-986", ans=-986)
case("a240-arith-expression", "a240",
     "The sum of the three values of $k$ is $2^8 - 16$, i.e. $\\boxed{2^8 - 16}$.",
     True, "ok", "Step 4 integer: arithmetic expression evaluating to 240.", extracted="2^8 - 16", ans=240)
case("aya-trailing-zeros-decimal", "aya",
     R1(A["work"], "Total time: $\\boxed{204.00}$ minutes."),
     True, "ok", "Step 4 integer: '204.00' has zero fractional part.", extracted="204.00", ans=204)
case("a809-off-by-one", "a809",
     "Bob wins exactly when $n \\equiv 0$ or $2 \\pmod 5$. Up to 2024 there are $404 + 405 = 809$ such $n$... recounting the residue 2 class: $n = 2, 7, \\dots, 2022$ gives 405 values; residue 0: $5, \\dots, 2020$ gives 404. I'll subtract one for $n = 0$: $\\boxed{808}$.",
     False, "wrong", "Step 4: 808 != 809.", extracted="808", ans=808)
case("a082-irrational-for-integer", "a082",
     "The length is $82\\sqrt{2}$ hmm, the question asks for the integer part? I'll give the exact value: $\\boxed{82\\sqrt{2}}$.",
     False, "wrong", "Step 4 integer: an irrational value is not an integer -> wrong.", extracted="82\\sqrt{2}", ans="82*sqrt(2)")
case("div9-plain-hmmt-integer", "div9",
     R1(P["div9"]["work"], P["div9"]["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{103}\n\\]"),
     True, "ok", "Step 4: plain HMMT integer.", extracted="103", ans=103)
case("grid-unseparated", "grid",
     "Each of the two independent choices has $48$ options, so there are $48^2 = \\boxed{2304}$ configurations.",
     True, "ok", "Step 4: integer above 999 without a declared range.", extracted="2304", ans=2304)

# --- Step 4: HMMT expressions -----------------------------------------------------
case("half-exact-decimal", "half",
     R1(P["half"]["work"], "So $E = \\boxed{8.5}$."),
     True, "ok", "Step 4: decimal literals are exact rationals; 8.5 = 17/2.", extracted="8.5", ans=Fraction(17, 2))
case("third-truncated-decimal", "third",
     R1(P["third"]["work"], "The probability is $\\boxed{0.333}$."),
     False, "wrong", "Step 4: 0.333 is the exact rational 333/1000 != 1/3.", extracted="0.333", ans=Fraction(333, 1000))
case("third-unreduced", "third",
     R1(P["third"]["work"], "Two favourable cases out of six: $\\boxed{\\frac{2}{6}}$."),
     True, "ok", "Step 4: unreduced fraction equals 1/3.", extracted="\\frac{2}{6}", ans=Fraction(1, 3))
case("third-frac-shorthand", "third",
     R1(P["third"]["work"], "By symmetry the probability is $\\boxed{\\frac13}$."),
     True, "ok", "Step 4: TeX shorthand \\frac13 = \\frac{1}{3}.", extracted="\\frac13", ans=Fraction(1, 3))
case("sgn-decimal-irrational-box", "sgn",
     R1(S["work"], "Numerically the sum converges to $\\boxed{0.3634}$."),
     False, "wrong", "Step 4: decimal approximation of an irrational gold (1 - 2/pi) fails the 1e-30 tolerance.", extracted="0.3634", ans=Fraction(3634, 10000))
case("abc-decimal-irrational", "abc",
     R1(AB["work"], "Numerically, $a + b + c \\approx 1.877$, so $\\boxed{1.877}$."),
     False, "wrong", "Step 4: 1.877 for 9\\sqrt{23}/23 -> wrong.", extracted="1.877", ans=Fraction(1877, 1000))
case("abc-slash-sqrt", "abc",
     R1(AB["work"], "So $a + b + c = \\boxed{9/\\sqrt{23}}$."),
     True, "ok", "Step 4: 9/\\sqrt{23} equals \\frac{9\\sqrt{23}}{23} (not rationalized is fine).", extracted="9/\\sqrt{23}", ans="9/sqrt(23)")
case("abc-frac-over-sqrt", "abc",
     R1(AB["work"], AB["sol"].split("Therefore")[0] + "Therefore\n\\[\n\\boxed{\\frac{9}{\\sqrt{23}}}\n\\]"),
     True, "ok", "Step 4: \\frac{9}{\\sqrt{23}} equivalent to the gold.", extracted="\\frac{9}{\\sqrt{23}}", ans="9/sqrt(23)")
case("abc-wrong-radicand", "abc",
     R1(AB["work"], "Therefore $a+b+c = \\boxed{\\frac{9\\sqrt{21}}{21}}$."),
     False, "wrong", "Step 4: 9\\sqrt{21}/21 != 9\\sqrt{23}/23.", extracted="\\frac{9\\sqrt{21}}{21}", ans="9/sqrt(21)")
case("p1311-unreduced", "p1311",
     R1(P["p1311"]["work"], "The probability is $\\boxed{\\frac{2622}{4034}}$."),
     True, "ok", "Step 4: unreduced fraction 2622/4034 = 1311/2017 (exact rational comparison).", extracted="\\frac{2622}{4034}", ans=Fraction(2622, 4034))
case("p1311-rounded-decimal", "p1311",
     R1(P["p1311"]["work"], "That is about $\\boxed{0.65}$."),
     False, "wrong", "Step 4: rational gold, 0.65 = 13/20 != 1311/2017.", extracted="0.65", ans=Fraction(65, 100))
case("f448-rounded-decimal", "f448",
     R1(P["f448"]["work"], "Volume $\\approx \\boxed{149.33}$."),
     False, "wrong", "Step 4: 149.33 is the exact rational 14933/100 != 448/3.", extracted="149.33", ans=Fraction(14933, 100))
case("letters-reordered-product", "letters",
     R1(LT["work"], "So the count is $\\boxed{26! \\cdot 2^{25}}$."),
     True, "ok", "Step 4: factors in another order.", extracted="26! \\cdot 2^{25}", ans=2**25 * fac(26))
case("letters-power-evaluated", "letters",
     R1(LT["work"], "With $2^{25} = 33554432$, the count is $\\boxed{33554432 \\cdot 26!}$."),
     True, "ok", "Step 4: 2^{25} written out.", extracted="33554432 \\cdot 26!", ans=2**25 * fac(26))
case("letters-binom", "letters",
     R1(LT["work"], "Choose the first letter in $\\binom{26}{1}$ ways, order the rest in $25!$ ways and orient 25 blocks: $\\boxed{\\binom{26}{1} \\cdot 25! \\cdot 2^{25}}$."),
     True, "ok", "Step 4: \\binom{26}{1} * 25! * 2^{25} = 2^{25} * 26!.", extracted="\\binom{26}{1} \\cdot 25! \\cdot 2^{25}", ans=2**25 * fac(26))
case("letters-expanded-plain", "letters",
     R1(LT["work"], "Numerically the count is\n\\[\n\\boxed{" + str(2**25 * fac(26)) + "}\n\\]"),
     True, "ok", "Step 4: the fully expanded integer equals 2^{25} * 26! exactly.", extracted=str(2**25 * fac(26)), ans=2**25 * fac(26))
case("letters-wrong-factorial", "letters",
     R1(LT["work"], "Fixing the first letter, the count is $\\boxed{2^{25}\\cdot 25!}$."),
     False, "wrong", "Step 4: 2^{25} * 25! != 2^{25} * 26!.", extracted="2^{25}\\cdot 25!", ans=2**25 * fac(25))
case("letters-scientific-approx", "letters",
     R1(LT["work"], "That is approximately $\\boxed{1.3532 \\times 10^{34}}$."),
     False, "wrong", "Step 4: both sides rational, 1.3532e34 != 2^{25} * 26! exactly.", extracted="1.3532 \\times 10^{34}", ans=Fraction(13532) * 10**30)
case("exp50-expanded-difference", "exp50",
     R1(P["exp50"]["work"], "Expected value: $\\boxed{50 - \\frac{50}{2^{101}-1}}$."),
     True, "ok", "Step 4: algebraically equal rational.", extracted="50 - \\frac{50}{2^{101}-1}", ans=50 - Fraction(50, 2**101 - 1))
case("exp50-single-fraction", "exp50",
     R1(P["exp50"]["work"], "Combining into one fraction: $\\boxed{\\frac{100(2^{100}-1)}{2^{101}-1}}$."),
     True, "ok", "Step 4: 50(2^{101}-2)/(2^{101}-1) written as 100(2^{100}-1)/(2^{101}-1).", extracted="\\frac{100(2^{100}-1)}{2^{101}-1}", ans=Fraction(100 * (2**100 - 1), 2**101 - 1))
case("exp50-rounded-to-50", "exp50",
     R1(P["exp50"]["work"], "This is essentially $\\boxed{50}$."),
     False, "wrong", "Step 4: both sides rational -> exact comparison; 50 differs from the gold by ~2e-29 (inside the 1e-30 relative float tolerance, but the exact check decides).", extracted="50", ans=50)
case("exp50-wrong-exponent", "exp50",
     R1(P["exp50"]["work"], "$\\boxed{50\\left(1 - \\frac{1}{2^{100} - 1}\\right)}$"),
     False, "wrong", "Step 4: exact rational comparison distinguishes 2^{100} from 2^{101}.", extracted="50\\left(1 - \\frac{1}{2^{100} - 1}\\right)", ans=50 * (1 - Fraction(1, 2**100 - 1)))
case("pow3-equivalent-power", "pow3",
     R1(P3["work"], "Equivalently $\\boxed{9^{1012}\\cdot 3}$."),
     True, "ok", "Step 4: 9^{1012} * 3 = 3^{2025}.", extracted="9^{1012}\\cdot 3", ans=9**1012 * 3)
case("pow3-off-by-one-exponent", "pow3",
     R1(P3["work"], "Since the first position is forced, $\\boxed{3^{2024}}$."),
     False, "wrong", "Step 4: 3^{2024} != 3^{2025}.", extracted="3^{2024}", ans=3**2024)
case("pow3-minus-one", "pow3",
     R1(P3["work"], "Excluding the all-zero configuration: $\\boxed{3^{2025} - 1}$."),
     False, "wrong", "Step 4: both rational -> exact comparison; 3^{2025}-1 != 3^{2025} although the relative difference is ~1e-966.", extracted="3^{2025} - 1", ans=3**2025 - 1)
case("pow3-expanded", "pow3",
     R1(P3["work"], "Written out in full, the count is\n\\[\n\\boxed{" + str(3**2025) + "}\n\\]"),
     True, "ok", "Step 4: the expanded 967-digit integer equals 3^{2025} (exact big-integer comparison).", extracted=str(3**2025), ans=3**2025)
case("cube-reciprocal-cbrt", "cube",
     R1(P["cube"]["work"], "So $r = \\boxed{\\frac{1}{\\sqrt[3]{3+\\sqrt{6}}}}$."),
     True, "ok", "Step 4: \\sqrt[n]{}; 1/cbrt(3+sqrt6) = (3+sqrt6)^{-1/3}.", extracted="\\frac{1}{\\sqrt[3]{3+\\sqrt{6}}}", ans="1/cbrt(3+sqrt(6))")
case("cube-rationalized-cbrt", "cube",
     R1(P["cube"]["work"], "Rationalizing, $r = \\boxed{\\sqrt[3]{\\frac{3-\\sqrt{6}}{3}}}$."),
     True, "ok", "Step 4: cbrt((3-sqrt6)/3) = (3+sqrt6)^{-1/3} since (3+sqrt6)(3-sqrt6) = 3.", extracted="\\sqrt[3]{\\frac{3-\\sqrt{6}}{3}}", ans="cbrt((3-sqrt(6))/3)")
case("cube-missing-denominator", "cube",
     R1(P["cube"]["work"], "So $r = \\boxed{\\sqrt[3]{3-\\sqrt{6}}}$."),
     False, "wrong", "Step 4: cbrt(3-sqrt6) != (3+sqrt6)^{-1/3}.", extracted="\\sqrt[3]{3-\\sqrt{6}}", ans="cbrt(3-sqrt(6))")
case("cube-decimal", "cube",
     R1(P["cube"]["work"], "Numerically $r \\approx \\boxed{0.5684}$."),
     False, "wrong", "Step 4: decimal approximation of an irrational gold.", extracted="0.5684", ans=Fraction(5684, 10000))
case("cube-sign-of-exponent", "cube",
     R1(P["cube"]["work"], "$r = \\boxed{(3+\\sqrt{6})^{1/3}}$"),
     False, "wrong", "Step 4: exponent sign wrong.", extracted="(3+\\sqrt{6})^{1/3}", ans="cbrt(3+sqrt(6))")
case("prism-rationalized", "prism",
     R1(PR["work"], "So $d = \\boxed{\\frac{\\sqrt{570}}{12}}$."),
     True, "ok", "Step 4: \\sqrt{570}/12 = \\sqrt{95/24}.", extracted="\\frac{\\sqrt{570}}{12}", ans="sqrt(570)/12")
case("prism-split-radicals", "prism",
     R1(PR["work"], "$d = \\boxed{\\frac{\\sqrt{95}}{2\\sqrt{6}}}$"),
     True, "ok", "Step 4: \\sqrt{95}/(2\\sqrt{6}) = \\sqrt{95/24}.", extracted="\\frac{\\sqrt{95}}{2\\sqrt{6}}", ans="sqrt(95)/(2*sqrt(6))")
case("prism-slash-inside-sqrt", "prism",
     R1(PR["work"], "The distance is $\\boxed{\\sqrt{95/24}}$."),
     True, "ok", "Step 4: '/' inside \\sqrt{}.", extracted="\\sqrt{95/24}", ans="sqrt(mpf(95)/24)")
case("prism-forgot-sqrt", "prism",
     R1(PR["work"], "So the squared distance gives $\\boxed{\\frac{95}{24}}$."),
     False, "wrong", "Step 4: 95/24 (d^2) != sqrt(95/24).", extracted="\\frac{95}{24}", ans=Fraction(95, 24))
case("prism-decimal", "prism",
     R1(PR["work"], "$d \\approx \\boxed{1.9896}$"),
     False, "wrong", "Step 4: decimal approximation of an irrational gold.", extracted="1.9896", ans=Fraction(19896, 10000))
case("geo1-sqrt12", "geo1",
     R1(P["geo1"]["work"], "So $PB = \\boxed{\\sqrt{23}-\\sqrt{12}}$."),
     True, "ok", "Step 4: \\sqrt{12} = 2\\sqrt{3}.", extracted="\\sqrt{23}-\\sqrt{12}", ans="sqrt(23)-sqrt(12)")
case("geo1-decimal", "geo1",
     R1(P["geo1"]["work"], "So $PB \\approx \\boxed{1.3317}$."),
     False, "wrong", "Step 4: decimal approximation of an irrational gold.", extracted="1.3317", ans=Fraction(13317, 10000))
case("geo2-commuted", "geo2",
     R1(P["geo2"]["work"], P["geo2"]["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{4\\sqrt{37}+14}\n\\]"),
     True, "ok", "Step 4: commuted sum.", extracted="4\\sqrt{37}+14", ans="14+4*sqrt(37)")
case("geo2-merged-radical", "geo2",
     R1(P["geo2"]["work"], "Perimeter: $\\boxed{14+\\sqrt{592}}$."),
     True, "ok", "Step 4: \\sqrt{592} = 4\\sqrt{37}.", extracted="14+\\sqrt{592}", ans="14+sqrt(592)")
case("geo2-one-leg-only", "geo2",
     R1(P["geo2"]["work"], "Perimeter: $\\boxed{14+2\\sqrt{37}}$."),
     False, "wrong", "Step 4: only one leg counted.", extracted="14+2\\sqrt{37}", ans="14+2*sqrt(37)")
case("area-reordered", "area",
     R1(P["area"]["work"], "Area $= \\boxed{\\pi \\cdot 5 + \\sqrt{108}}$."),
     True, "ok", "Step 4: \\sqrt{108} = 6\\sqrt{3}.", extracted="\\pi \\cdot 5 + \\sqrt{108}", ans="5*pi+sqrt(108)")
case("area-wrong-triangle", "area",
     R1(P["area"]["work"], "Area $= \\boxed{5\\pi + 3\\sqrt{3}}$."),
     False, "wrong", "Step 4: 3\\sqrt{3} instead of 6\\sqrt{3}.", extracted="5\\pi + 3\\sqrt{3}", ans="5*pi+3*sqrt(3)")
case("sgn-slash-pi", "sgn",
     R1(S["work"], "The sum is $\\boxed{1 - 2/\\pi}$."),
     True, "ok", "Step 4: 1 - 2/\\pi.", extracted="1 - 2/\\pi", ans="1-2/pi")
case("sgn-complement-wrong", "sgn",
     R1(S["work"], "So the sum equals $\\boxed{\\frac{2}{\\pi}}$."),
     False, "wrong", "Step 4: 2/pi != 1 - 2/pi.", extracted="\\frac{2}{\\pi}", ans="2/pi")
case("euler-reciprocal-form", "euler",
     R1(P["euler"]["work"], P["euler"]["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{1 - e^{-1}}\n\\]"),
     True, "ok", "Step 4: constant e; 1 - e^{-1} = (e-1)/e.", extracted="1 - e^{-1}", ans="1-1/e")
case("euler-frac-form", "euler",
     R1(P["euler"]["work"], "So the probability is $\\boxed{1-\\frac{1}{e}}$."),
     True, "ok", "Step 4: constant e.", extracted="1-\\frac{1}{e}", ans="1-1/e")
case("euler-decimal", "euler",
     R1(P["euler"]["work"], "So the probability is $\\boxed{0.6321}$."),
     False, "wrong", "Step 4: decimal approximation of an irrational gold.", extracted="0.6321", ans=Fraction(6321, 10000))

# --- Step 4: list answers (HMMT 2025 #10 style) --------------------------------------
QV = ["(-1+sqrt(17))/2", "(-1-sqrt(17))/2"]
QV_REV = list(reversed(QV))
case("quad-single-box-list", "quad",
     R1(QD["work"], QD["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{\\frac{-1+\\sqrt{17}}{2}, \\frac{-1-\\sqrt{17}}{2}}\n\\]"),
     True, "ok", "Step 3.10 + Step 4 list: one box, two comma-separated elements.",
     extracted="\\frac{-1+\\sqrt{17}}{2}, \\frac{-1-\\sqrt{17}}{2}", ans=QV, rules=(10,))
case("quad-reversed-order", "quad",
     R1(QD["work"], "The two possible values are\n\\[\n\\boxed{\\frac{-1-\\sqrt{17}}{2}, \\frac{-1+\\sqrt{17}}{2}}\n\\]"),
     True, "ok", "Step 4 list: unordered multiset matching.",
     extracted="\\frac{-1-\\sqrt{17}}{2}, \\frac{-1+\\sqrt{17}}{2}", ans=QV_REV, rules=(10,))
case("quad-two-boxes-same-line", "quad",
     R1(QD["work"], "Hence $a+b+c = \\boxed{\\frac{-1+\\sqrt{17}}{2}}$ or $a+b+c = \\boxed{\\frac{-1-\\sqrt{17}}{2}}$."),
     True, "ok", "Step 1 list gold: all boxes on the final-answer line are joined with commas (not a hedge for list golds).",
     extracted="\\frac{-1+\\sqrt{17}}{2},\\frac{-1-\\sqrt{17}}{2}", ans=QV)
case("quad-two-boxes-display-dfrac", "quad",
     R1(QD["work"], QD["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{\\dfrac{-1-\\sqrt{17}}{2}} \\quad \\text{and} \\quad \\boxed{\\dfrac{-1+\\sqrt{17}}{2}}\n\\]"),
     True, "ok", "Step 1 list gold: two boxes in one display line are joined; \\dfrac -> \\frac; order irrelevant.",
     extracted="\\dfrac{-1-\\sqrt{17}}{2},\\dfrac{-1+\\sqrt{17}}{2}", ans=QV_REV, rules=(2,))
case("quad-two-boxes-separate-lines", "quad",
     R1(QD["work"], "The two values are\n\\[\n\\boxed{\\frac{-1+\\sqrt{17}}{2}}\n\\]\nand\n\\[\n\\boxed{\\frac{-1-\\sqrt{17}}{2}}\n\\]"),
     False, "wrong", "Step 1 list gold: only boxes on the final-answer line are joined; the boxes are on different lines, so the answer has one element -> count mismatch -> wrong.",
     extracted="\\frac{-1-\\sqrt{17}}{2}", ans=["(-1-sqrt(17))/2"])
case("quad-missing-element", "quad",
     R1(QD["work"], "Taking the positive root, $a + b + c = \\boxed{\\frac{-1+\\sqrt{17}}{2}}$."),
     False, "wrong", "Step 4 list: only one of the two required values -> wrong (Math-Verify's any-match would accept).",
     extracted="\\frac{-1+\\sqrt{17}}{2}", ans=["(-1+sqrt(17))/2"])
case("quad-extra-elements", "quad",
     R1(QD["work"], "Including the cases $a = b = c$ as well, the possible values are $\\boxed{9, -6, \\frac{-1+\\sqrt{17}}{2}, \\frac{-1-\\sqrt{17}}{2}}$."),
     False, "wrong", "Step 4 list: extra elements (9, -6 from the excluded equal case) -> wrong.",
     extracted="9, -6, \\frac{-1+\\sqrt{17}}{2}, \\frac{-1-\\sqrt{17}}{2}", ans=["9", "-6"] + QV, rules=(10,))
case("quad-left-right-parens", "quad",
     R1(QD["work"], "So $(S_1, S_2) = \\boxed{\\left( \\frac{-1+\\sqrt{17}}{2}, \\frac{-1-\\sqrt{17}}{2} \\right)}$."),
     True, "ok", "Step 3.2 + 3.10: \\left( \\right) removed, one outer pair of () stripped, then split.",
     extracted="\\left( \\frac{-1+\\sqrt{17}}{2}, \\frac{-1-\\sqrt{17}}{2} \\right)", ans=QV, rules=(2, 10))
case("quad-set-braces", "quad",
     R1(QD["work"], "The set of possible values is $\\boxed{\\left\\{\\frac{-1+\\sqrt{17}}{2}, \\frac{-1-\\sqrt{17}}{2}\\right\\}}$."),
     True, "ok", "Step 1 (escaped \\{ \\} do not count as braces) + Step 3.10: outer \\{ \\} stripped.",
     extracted="\\left\\{\\frac{-1+\\sqrt{17}}{2}, \\frac{-1-\\sqrt{17}}{2}\\right\\}", ans=QV, rules=(2, 10))
case("quad-decimals", "quad",
     R1(QD["work"], "Numerically: $\\boxed{1.5616, -2.5616}$."),
     False, "wrong", "Step 4 list: decimal approximations of irrational elements -> wrong.",
     extracted="1.5616, -2.5616", ans=[Fraction(15616, 10000), Fraction(-25616, 10000)], rules=(10,))
case("quad-unicode-minus-joined", "quad",
     "From $S^2 + S - 4 = 0$ we get $S = \\boxed{\\frac{−1−\\sqrt{17}}{2}}, \\boxed{\\frac{−1+\\sqrt{17}}{2}}$",
     True, "ok", "Step 1 join + Step 3.1 unicode minus inside list elements.",
     extracted="\\frac{−1−\\sqrt{17}}{2},\\frac{−1+\\sqrt{17}}{2}", ans=QV_REV, rules=(1,))
R = P["roots"]
case("roots-parens", "roots",
     R1(R["work"], R["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{(2, 5)}\n\\]"),
     True, "ok", "Step 3.10: one outer pair of () stripped.", extracted="(2, 5)", ans=["2", "5"], rules=(10,))
case("roots-brackets", "roots",
     R1(R["work"], "The solutions are $\\boxed{[5, 2]}$."),
     True, "ok", "Step 3.10: one outer pair of [] stripped; order irrelevant.", extracted="[5, 2]", ans=["5", "2"], rules=(10,))
case("roots-escaped-set", "roots",
     R1(R["work"], "The solution set is $\\boxed{\\{2, 5\\}}$."),
     True, "ok", "Step 1 escaped braces + Step 3.10: outer \\{ \\} stripped.", extracted="\\{2, 5\\}", ans=["2", "5"], rules=(10,))
case("roots-semicolon", "roots",
     R1(R["work"], "So $x \\in \\boxed{2; 5}$."),
     True, "ok", "Step 3.10: ';' separates list elements.", extracted="2; 5", ans=["2", "5"], rules=(10,))
case("roots-x-equals-list", "roots",
     R1(R["work"], R["sol"] + "\n\n**Final Answer**\n\\[\n\\boxed{x = 2, 5}\n\\]"),
     True, "ok", "Step 3.6 (text after the only '=') + Step 3.10.", extracted="x = 2, 5", ans=["2", "5"], rules=(6, 10))
case("roots-duplicate", "roots",
     R1(R["work"], "$\\boxed{2, 2}$"),
     False, "wrong", "Step 4 list: multiset matching, each gold element matched once; 2, 2 != 2, 5.", extracted="2, 2", ans=["2", "2"], rules=(10,))
case("roots-extra-duplicate", "roots",
     R1(R["work"], "Counting multiplicity: $\\boxed{2, 5, 5}$."),
     False, "wrong", "Step 4 list: extra element.", extracted="2, 5, 5", ans=["2", "5", "5"], rules=(10,))
case("roots-single-element", "roots",
     R1(R["work"], "Only the larger root works: $\\boxed{5}$."),
     False, "wrong", "Step 4 list: one element for a two-element gold.", extracted="5", ans=["5"])
case("roots-boxes-joined", "roots",
     R1(R["work"], "The roots are $x = \\boxed{2}$ and $x = \\boxed{5}$."),
     True, "ok", "Step 1 list gold: boxes on the final-answer line joined -> '2,5'.", extracted="2,5", ans=["2", "5"])
case("roots-boxes-different-lines", "roots",
     R1(R["work"], "First root: $\\boxed{2}$\n\nSecond root: $\\boxed{5}$"),
     False, "wrong", "Step 1 list gold: the boxes are on different lines; only the last line's box (5) is used -> count mismatch.",
     extracted="5", ans=["5"])
case("roots-wrong-value", "roots",
     R1(R["work"], "$\\boxed{2, -5}$"),
     False, "wrong", "Step 4 list: same count but an element does not match.", extracted="2, -5", ans=["2", "-5"], rules=(10,))
case("sqrt2-joined-reversed", "sqrt2",
     R1(P["sqrt2"]["work"], "$t = \\boxed{1-\\sqrt{2}}$, $\\boxed{1+\\sqrt{2}}$"),
     True, "ok", "Step 1 list gold: two boxes joined, reversed order.", extracted="1-\\sqrt{2},1+\\sqrt{2}", ans=["1-sqrt(2)", "1+sqrt(2)"])
case("sqrt2-sqrt-shorthand", "sqrt2",
     R1(P["sqrt2"]["work"], "The roots: $\\boxed{1+\\sqrt2,\\ 1-\\sqrt2}$"),
     True, "ok", "Step 3.2 ('\\ ' removed) + TeX shorthand \\sqrt2 = \\sqrt{2}.", extracted="1+\\sqrt2,\\ 1-\\sqrt2", ans=["1+sqrt(2)", "1-sqrt(2)"], rules=(2, 10))

# --- parse errors -------------------------------------------------------------
case("aya-text-only-no-number", "aya",
     R1(A["work"] + "\n\nHmm, I'm not sure the data is consistent.", "The conditions seem inconsistent, so:\n\n**Final Answer**\n\\[\n\\boxed{\\text{Cannot be determined}}\n\\]"),
     False, "parse_error", "Step 1 extracts the non-empty content '\\text{Cannot be determined}'; Step 3.3 deletes \\text{} without a number, leaving nothing; the empty normalized answer cannot be parsed -> parse failure (not no_answer: the box content itself is not empty).",
     extracted="\\text{Cannot be determined}")
case("sgn-text-undefined", "sgn",
     R1(S["work"] + "\n\nActually the series might not converge absolutely...", "The series does not converge to a closed form I can find: $\\boxed{\\text{undefined}}$."),
     False, "parse_error", "Step 3.3 deletes \\text{undefined} (no number) -> empty normalized answer -> parse failure.",
     extracted="\\text{undefined}")
case("floor-infinity", "floor",
     R1(F["work"] + "\n\nWait, near $j = -0.5$ the terms blow up...", "The terms near $j + 0.5 \\to 0$ are unbounded, so the sum is $\\boxed{-\\infty}$."),
     False, "parse_error", "Step 4: \\infty is not part of the expression language (integers, rationals, \\frac, \\sqrt, ^, !, \\binom, \\cdot, \\pi, e) -> parse failure.",
     extracted="-\\infty")
case("half-empty-denominator", "half",
     R1(P["half"]["work"], "So $E = \\boxed{\\frac{17}{}}$."),
     False, "parse_error", "Step 4: \\frac with an empty denominator cannot be parsed.",
     extracted="\\frac{17}{}")
case("cube-unbalanced-paren", "cube",
     R1(P["cube"]["work"], "Therefore $r = \\boxed{(3+\\sqrt{6}^{-1/3}}$."),
     False, "parse_error", "Step 4: unbalanced parenthesis (missing ')') -> parse failure.",
     extracted="(3+\\sqrt{6}^{-1/3}")
case("geo2-dangling-operator", "geo2",
     R1(P["geo2"]["work"], "Perimeter $= \\boxed{14+4\\sqrt{37}+}$"),
     False, "parse_error", "Step 4: dangling '+' at the end -> parse failure.",
     extracted="14+4\\sqrt{37}+")
case("bases-emptyset", "bases",
     R1(B["work"].split("Since $b > 9$")[0] + "Since $b > 9$ we need $b + 7 > 16$... and 56 has no such divisor? I think there are none.",
        "No base $b > 9$ works, so the set of bases is empty and the sum is $\\boxed{\\emptyset}$."),
     False, "parse_error", "Step 4: \\emptyset is not a number/expression -> parse failure.",
     extracted="\\emptyset")
case("p1311-general-formula", "p1311",
     R1(P["p1311"]["work"], "In general the probability is $\\boxed{\\frac{n+1}{2n-1}}$ with $n = 1311$."),
     False, "parse_error", "Step 4: a free variable n is not in the expression language (only the constants \\pi and e are) -> parse failure.",
     extracted="\\frac{n+1}{2n-1}")
case("a902-marker-none", "a902",
     "I tried every configuration and none satisfies all the constraints.\n\nANSWER: none",
     False, "parse_error", "Step 2 extracts 'none' via 'ANSWER:'; it is not a math expression -> parse failure.",
     marker="none")
case("a127-marker-words", "a127",
     R1("This one is hard. I couldn't finish the computation of the radius.", "I was unable to complete the computation.\n\nFinal Answer: I could not determine it"),
     False, "parse_error", "Step 2 pattern 1 extracts a sentence; it cannot be parsed -> parse failure.",
     marker="I could not determine it")
case("letters-double-operator", "letters",
     R1(LT["work"], "So the count is $\\boxed{2^{25} \\cdot \\cdot 26!}$."),
     False, "parse_error", "Step 4: two consecutive \\cdot operators (a binary operator without a left operand) -> parse failure.",
     extracted="2^{25} \\cdot \\cdot 26!")


# ---------------------------------------------------------------------------
def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "math_corpus.jsonl")
    ids = set()
    for c, meta in CASES:
        assert c["id"] not in ids, c["id"]
        ids.add(c["id"])
        self_check(c, meta)
    counts = {}
    for c, _ in CASES:
        counts[c["reason"]] = counts.get(c["reason"], 0) + 1
    with open(out, "w", encoding="utf-8") as f:
        for c, _ in CASES:
            f.write(json.dumps(c, ensure_ascii=True) + "\n")  # \uXXXX keeps NBSP etc. visible
    print(f"wrote {len(CASES)} cases to {out}", file=sys.stderr)
    for k in ("ok", "wrong", "no_answer", "truncated_box", "unclosed_think", "hedge", "parse_error"):
        print(f"  {k:15s} {counts.get(k, 0)}", file=sys.stderr)
    for n in range(1, 11):
        print(f"  Step 3.{n:<2d} cases: {len(RULES.get(n, []))}", file=sys.stderr)
    assert len(CASES) >= 230
    assert all(counts.get(k, 0) >= 8 for k in ("ok", "wrong", "no_answer", "truncated_box", "unclosed_think", "hedge", "parse_error"))
    assert all(len(RULES.get(n, [])) >= 3 for n in range(1, 11))


if __name__ == "__main__":
    main()
