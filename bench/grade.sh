#!/bin/sh
# Grading throughput: `zeval grade --jsonl` over N synthetic 8 KB reasoning
# responses (think block, LaTeX working, a boxed final answer in one of
# several forms), one process, one thread.  Prints responses/s and the ratio
# to the target of 10,000 responses/s per core.
#   usage: sh bench/grade.sh [BUILD_DIR] [N]
set -eu
B=${1:-build/rel}
N=${2:-20000}
Z="$B/zeval"
[ -x "$Z" ] || { echo "bench/grade.sh: $Z not found; run 'make' first" >&2; exit 1; }
mkdir -p bench/out
IN=bench/out/grade-$N.jsonl
if [ ! -f "$IN" ]; then
  python3 - "$N" >"$IN" <<'PY'
import json, random, sys
n = int(sys.argv[1])
rng = random.Random(1)
para = [
    "Let $f(x) = x^2 - 5x + 6$. Then $f(x) = (x-2)(x-3)$, so the roots are $x=2$ and $x=3$. ",
    "We compute $\\binom{10}{3} = \\frac{10 \\cdot 9 \\cdot 8}{6} = 120$ ways to choose the triple. ",
    "By the Cauchy-Schwarz inequality, $(a^2+b^2)(c^2+d^2) \\geq (ac+bd)^2$, with equality when $ad = bc$. ",
    "Wait, let me double-check this step: if $n \\equiv 3 \\pmod 4$ then $n^2 \\equiv 1$, so the sum is even. ",
    "So the area is $\\frac{1}{2} \\cdot 12 \\cdot 5 = 30$, and the hypotenuse is $\\sqrt{12^2+5^2} = 13$. ",
    "Hmm, that contradicts the earlier bound. Let's recount: there are $3 \\cdot 4 = 12$ pairs in total. ",
]
answers = [("\\boxed{%d}", "%d", "integer"), ("\\boxed{\\frac{%d}{7}}", "\\frac{%d}{7}", "expression"),
            ("\\boxed{%d\\sqrt{3}}", "%d\\sqrt{3}", "expression"), ("\\boxed{0%d}", "%d", "integer")]
for i in range(n):
    body = []
    size = 0
    while size < 7600:
        p = rng.choice(para)
        body.append(p)
        size += len(p)
    v = rng.randrange(1, 999)
    af, gf, t = answers[i % len(answers)]
    gold_v = v if rng.random() < 0.7 else v + 1
    resp = "<think>\n" + "".join(body) + "\n</think>\n\nThe answer is $" + (af % v) + "$."
    rec = {"response": resp, "gold": gf % gold_v, "answer_type": t}
    if t == "integer":
        rec["integer_range"] = [0, 999]
    print(json.dumps(rec))
PY
fi
bytes=$(wc -c <"$IN")
start=$(date +%s.%N)
"$Z" grade --jsonl "$IN" >bench/out/grade-out.jsonl
end=$(date +%s.%N)
awk -v n="$N" -v s="$start" -v e="$end" -v b="$bytes" 'BEGIN {
  t = e - s; r = n / t;
  printf "grade: %d responses (%.1f KB each) in %.3f s: %.0f responses/s, %.1f MB/s\n", n, b / n / 1024, t, r, b / t / 1e6;
  printf "grade_rps=%.0f target=10000 ratio=%.2f\n", r, r / 10000 }'
ok=$(grep -c '"correct":true' bench/out/grade-out.jsonl || true)
echo "graded correct: $ok of $N (the generator makes ~70% match their gold)"
