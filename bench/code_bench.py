#!/usr/bin/env python3
"""Wall time per test of the code grader vs a bare python3 subprocess per test.

usage: python3 bench/code_bench.py ZEVAL_BIN  (bench/code.sh calls it)

Uses the LiveCodeBench public tests of the problems with a hand-written
solution in tests/data/lcb_solutions/ (all of them pass).  Reference, as
LiveCodeBench does it: one `python3 prog.py < input` subprocess per test,
with the same import prelude prepended.  Then `zeval grade-code` cold (one
sandbox per test) and --warm (one sandboxed server per pool worker, reused
across problems, a fork per test), one worker (--jobs 1) so that all three
are serial.  Each zeval time is the whole command (process start, the
sandbox probe, and for warm the one server start) divided by the number of
tests: warm is amortised over the run.  Warm is also run with every
problem's tests repeated 10 times: the difference gives the marginal cost
of one more test once the server is up (information only).
"""
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

ZEVAL = sys.argv[1] if len(sys.argv) > 1 else "build/rel/zeval"
PY = "/usr/bin/python3"
SHARED = os.environ.get("ZEVAL_SHARED", "../shared")
PRELUDE = ("from string import *\nfrom re import *\nfrom datetime import *\nfrom collections import *\n"
           "from heapq import *\nfrom bisect import *\nfrom copy import *\nfrom math import *\n"
           "from random import *\nfrom statistics import *\nfrom itertools import *\n"
           "from functools import *\nfrom operator import *\nfrom io import *\nfrom sys import *\n"
           "from json import *\nfrom builtins import *\nfrom typing import *\nimport string\nimport re\n"
           "import datetime\nimport collections\nimport heapq\nimport bisect\nimport copy\nimport math\n"
           "import random\nimport statistics\nimport itertools\nimport functools\nimport operator\n"
           "import io\nimport sys\nimport json\nsys.setrecursionlimit(50000)\n")

probs = {}
for line in open(os.path.join(SHARED, "datasets/code/livecodebench_2408_2502_public.jsonl")):
    r = json.loads(line)
    probs[r["id"]] = r
sols = []
for path in sorted(glob.glob("tests/data/lcb_solutions/*.py")):
    name = os.path.basename(path)[:-3]
    if "." in name or name not in probs:
        continue
    sols.append((probs[name], open(path).read()))
ntests = sum(len(p["tests"]) for p, _ in sols)

tmp = tempfile.mkdtemp(prefix="zeval-codebench-")


def bare():
    t0 = time.monotonic()
    for p, src in sols:
        f = os.path.join(tmp, "prog.py")
        if p["test_format"] == "stdin_stdout":
            body = PRELUDE + "\n" + src
        else:
            body = (PRELUDE + "\n" + src + "\nimport json as _j, sys as _s\n"
                    "_a = [_j.loads(l) for l in _s.stdin.read().split('\\n') if l.strip()]\n"
                    "_r = getattr(Solution(), %r)(*_a)\nprint(_j.dumps(list(_r) if isinstance(_r, tuple) else _r))\n"
                    % p["entry_point"])
        open(f, "w").write(body)
        for t in p["tests"]:
            subprocess.run([PY, f], input=t["input"].encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
    return time.monotonic() - t0


def zeval(extra, repeat=1):
    f = os.path.join(tmp, "in.jsonl")
    with open(f, "w") as out:
        for p, src in sols:
            q = dict(p)
            q["tests"] = p["tests"] * repeat
            out.write(json.dumps({"problem": q, "response": "```python\n" + src + "```\n"}) + "\n")
    t0 = time.monotonic()
    r = subprocess.run([ZEVAL, "grade-code", "--jsonl", f, "--jobs", "1", "--all-tests"] + extra,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    dt = time.monotonic() - t0
    res = [json.loads(l) for l in r.stdout.decode().splitlines()]
    bad = [x["problem"]["id"] for x in res if x["verdict"] != "pass"]
    if r.returncode != 0 or bad or len(res) != len(sols):
        print("zeval grade-code %s failed: rc=%d bad=%s %s" % (extra, r.returncode, bad, r.stderr.decode()[-500:]))
    return dt


bare()  # warm the page cache
tb = bare()
tc = zeval([])
tw = zeval(["--warm"])
tw10 = zeval(["--warm"], 10)
ms = lambda t, n=ntests: 1000.0 * t / n
marg = (tw10 - tw) / (9 * ntests)
ok = lambda c: "ok" if c else "MISSED"
print("code bench: %d LiveCodeBench problems, %d public tests, serial (--jobs 1)" % (len(sols), ntests))
print("  bare python3 subprocess per test   : %7.2f ms/test" % ms(tb))
print("  sandboxed, cold (sandbox per test) : %7.2f ms/test   %.2fx bare     (target <= 1.2x: %s)"
      % (ms(tc), tc / tb, ok(tc / tb <= 1.2)))
print("  sandboxed, warm, amortised         : %7.2f ms/test   %.2fx faster   (target >= 5x: %s)"
      % (ms(tw), tb / tw, ok(tb / tw >= 5)))
print("      (whole command / tests: one server per worker, started once, included)")
print("  sandboxed, warm, per extra test    : %7.2f ms/test   %.2fx faster   (information)"
      % (1000.0 * marg, (tb / ntests) / marg if marg > 0 else float("inf")))
print("code_bench bare_ms=%.2f cold_ms=%.2f warm_ms=%.2f warm_marginal_ms=%.2f cold_ratio=%.2f "
      "warm_speedup=%.2f" % (ms(tb), ms(tc), ms(tw), 1000.0 * marg, tc / tb, tb / tw))
import shutil
shutil.rmtree(tmp, ignore_errors=True)
