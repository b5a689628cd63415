#!/usr/bin/env python3
"""Converts a normalized ../shared/datasets JSONL file back into the source
format a registry entry downloads, so tests can serve it on loopback and
check that the registry's mapping gives back the same records.

usage: ds_sources.py FORMAT SHARED.jsonl OUT [OUT2]

FORMAT             OUT
matharena_tex      one directory per part: answers.csv + problems/N.tex
                   (AIME: OUT = AIME I, OUT2 = AIME II; HMMT: OUT only)
mathai_jsonl       math-ai/aime26 aime2026.jsonl  {"problem","answer":int,"id"}
matharena_jsonl    MathArena HF export rows {"id","problem","answer","competition",
                   "problem_idx","problem_type","source"}
humaneval_gz       HumanEval.jsonl.gz
mbpp_json          sanitized-mbpp.json
rllm_lcb_json      rllm livecodebench.json
lcb_jsonl          livecodebench/code_generation_lite testN.jsonl rows
imobench_csv       google-deepmind/superhuman imobench/answerbench_v2.csv
                   (Problem ID, Problem, Short Answer, Category, Subcategory, Source)

The layouts follow what MANIFEST.json and README.md of ../shared/datasets
say about each source; where the real upstream bytes are unknown (CSV
quoting, JSON spacing) this writes one plausible encoding of them.
"""
import csv
import gzip
import json
import os
import sys


def records(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write(path, data, mode="w"):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""})) as f:
        f.write(data)


def matharena_tex(recs, outs):
    groups = {}
    for r in recs:
        groups.setdefault(r["contest"], []).append(r)
    contests = list(groups)
    if len(contests) != len(outs):
        sys.exit("matharena_tex: %d contests, %d output dirs" % (len(contests), len(outs)))
    for contest, out in zip(contests, outs):
        os.makedirs(os.path.join(out, "problems"), exist_ok=True)
        with open(os.path.join(out, "answers.csv"), "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["id", "answer"])
            for r in groups[contest]:
                w.writerow([r["problem_number"], r["answer_raw"]])
        for r in groups[contest]:
            write(os.path.join(out, "problems", "%d.tex" % r["problem_number"]),
                  r["problem"] + "\n")


def main():
    fmt, shared, outs = sys.argv[1], sys.argv[2], sys.argv[3:]
    recs = records(shared)
    out = outs[0]
    if fmt == "matharena_tex":
        matharena_tex(recs, outs)
    elif fmt == "mathai_jsonl":
        rows = []
        for r in recs:
            n = r["problem_number"] + (15 if r["contest"] == "AIME II" else 0)
            rows.append(json.dumps({"problem": r["problem"], "answer": int(r["answer_raw"]),
                                    "id": n}))
        write(out, "\n".join(rows) + "\n")
    elif fmt == "matharena_jsonl":
        rows = []
        for r in recs:
            rows.append(json.dumps({
                "id": "%s-%02d" % (r["benchmark"].replace("_", "-"), r["problem_number"] - 1),
                "problem": r["problem"], "answer": r["answer_raw"],
                "competition": r["contest"] + " %d" % r["year"],
                "problem_idx": r["problem_number"], "problem_type": None,
                "source": r["hf"]["dataset"]}))
        write(out, "\n".join(rows) + "\n")
    elif fmt == "humaneval_gz":
        rows = []
        for r in recs:
            rows.append(json.dumps({"task_id": r["source_id"], "prompt": r["prompt"],
                                    "entry_point": r["entry_point"],
                                    "canonical_solution": r["canonical_solution"],
                                    "test": r["metadata"]["raw_test"]}))
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with gzip.open(out, "wt", encoding="utf-8") as f:
            f.write("\n".join(rows) + "\n")
    elif fmt == "mbpp_json":
        rows = []
        for r in recs:
            rows.append({"source_file": r["metadata"]["source_file"],
                         "task_id": int(r["source_id"]), "prompt": r["prompt"],
                         "code": r["canonical_solution"],
                         "test_imports": r["test_setup_code"].split("\n")
                         if r["test_setup_code"] else [],
                         "test_list": [t["code"] for t in r["tests"]]})
        write(out, json.dumps(rows))
    elif fmt == "rllm_lcb_json":
        rows = []
        for r in recs:
            tt = "functional" if r["test_format"] == "functional_call" else "stdin"
            rows.append({"problem": r["prompt"], "starter_code": r["starter_code"],
                         "tests": [{"input": t["input"], "output": t["output"], "testtype": tt}
                                   for t in r["tests"]]})
        write(out, json.dumps(rows, indent=4))
    elif fmt == "imobench_csv":
        os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
        with open(out, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["Problem ID", "Problem", "Short Answer", "Category", "Subcategory",
                        "Source"])
            for r in recs:
                w.writerow([r["id"], r["problem"], r["answer_raw"], r["category"],
                            r["subcategory"], r["origin"]])
    elif fmt == "lcb_jsonl":
        rows = []
        for r in recs:
            tt = "functional" if r["test_format"] == "functional_call" else "stdin"
            pub = [{"input": t["input"], "output": t["output"], "testtype": tt}
                   for t in r["tests"]]
            rows.append(json.dumps({
                "question_title": "", "question_content": r["prompt"],
                "platform": r["metadata"]["platform_inferred"], "question_id": str(r["index"]),
                "contest_id": "", "contest_date": "2025-02-01T00:00:00",
                "starter_code": r["starter_code"],
                "difficulty": ("easy", "medium", "hard")[r["index"] % 3],
                "public_test_cases": json.dumps(pub), "private_test_cases": "",
                "metadata": json.dumps({"func_name": r["entry_point"]}
                                       if r["entry_point"] else {})}))
        write(out, "\n".join(rows) + "\n")
    else:
        sys.exit("unknown format " + fmt)
    return 0


if __name__ == "__main__":
    sys.exit(main())
