/*
 * registry.h — the benchmark sets zeval knows, and their loaders.
 *
 * Each entry names where its source lives (a Hugging Face dataset file or a
 * raw file of a public repository, at a pinned revision), the source's
 * format and how its fields map onto the normalized record schema of
 * ../shared/datasets/README.md, the checksums zeval expects, the integer
 * answer range, the prompt format and the grader.
 *
 * A loaded set is an array of normalized records, each a cJSON object with
 * the same fields (and field order) as the ../shared/datasets files, as far
 * as the source provides them.  Loaders name file, line and field in every
 * error.
 */
#ifndef ZEVAL_DS_REGISTRY_H
#define ZEVAL_DS_REGISTRY_H

#include "../harness/fetch.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>

typedef enum {
    DS_FMT_MATHARENA_TEX,   /* data/<comp>/<set>/problems/N.tex + answers.csv (id,answer) */
    DS_FMT_MATHAI_JSONL,    /* math-ai/aime26: {"problem","answer":number,"id":1..30} */
    DS_FMT_MATHARENA_JSONL, /* MathArena HF export: {"problem","answer","problem_idx",...} */
    DS_FMT_HUMANEVAL_GZ,    /* HumanEval.jsonl.gz: task_id, prompt, canonical_solution, test, entry_point */
    DS_FMT_MBPP_JSON,       /* sanitized-mbpp.json: [{task_id, prompt, code, test_imports, test_list, source_file}] */
    DS_FMT_RLLM_LCB_JSON,   /* rllm livecodebench.json: [{problem, starter_code, tests:[{input,output,testtype}]}] */
    DS_FMT_LCB_JSONL,       /* livecodebench/code_generation_lite testN.jsonl (public tests only) */
    DS_FMT_IMOBENCH_CSV,    /* IMO-Bench answerbench CSV: Problem ID, Problem, Short Answer,
                               Category, [Level,] Subcategory, Source */
    DS_FMT_NORMALIZED,      /* the normalized JSONL of ../shared/datasets */
} ds_format;

/* One source file group.  For DS_FMT_MATHARENA_TEX `path` is a directory
 * holding answers.csv and problems/1..nproblems.tex; otherwise a file. */
typedef struct {
    const char *path;
    int nproblems;          /* MathArena directories: problems in it */
    const char *contest;    /* "AIME I", "HMMT February", ... */
    const char *tag;        /* id part for this group ("I", "II"), or NULL */
} ds_part;

typedef struct {
    const char *name;         /* registry name, e.g. "aime_2024" */
    const char *benchmark;    /* normalized "benchmark" field */
    const char *task;         /* "math" or "code" */
    const char *description;
    fetch_kind host;          /* FETCH_DATASET (Hugging Face) or FETCH_GITHUB */
    const char *repo;
    const char *revision;     /* pinned commit */
    ds_format format;
    ds_part parts[2];
    int nparts;
    const char *sha256;       /* of the single source file; NULL if unknown */
    const char *records_sha256; /* ds_records_sha256 of the mapped records; NULL if unknown */
    int nrecords;             /* expected record count (after the filter) */
    int year;
    const char *id_prefix;    /* ids: PREFIX-TAG-NN / PREFIX-NN (math), PREFIX-NNN (HumanEval),
                                 PREFIX-TASKID (MBPP), PREFIX-NNN-SHA10 (LiveCodeBench) */
    int has_range;            /* integer answers must lie in [range_lo, range_hi] */
    long range_lo, range_hi;
    int max_problem_number;   /* keep problem_number <= this (0: all) */
    int hmmt_rounds;          /* 1..10/11..20/21..30 = ANT/Comb/Geo */
    int answer_lists;         /* "a, b" answers are unordered lists */
    int integer_only;         /* only integer answers are graded: the others need a judge */
    const char *prompt_format; /* see ds_prompt */
    const char *grader;       /* "math" or "code" */
    const char *lcb_release;  /* LiveCodeBench: metadata.lcb_release */
    const char *lcb_window;   /* LiveCodeBench: metadata.contest_date_window */
    const char *shared_file;  /* the matching file under ../shared/datasets, or NULL */
    const char *note;         /* caveats (unverified mapping, wording differences) */
} ds_entry;

/* The registry (static, never freed); *n gets the count. */
const ds_entry *ds_registry(size_t *n);
/* The entry named name, or NULL. */
const ds_entry *ds_find(const char *name);

/* A loaded set.  Free with ds_set_free. */
typedef struct {
    cJSON **rec;
    size_t n, cap;
} ds_set;

void ds_set_free(ds_set *s);

/* Reads the normalized JSONL of ../shared/datasets (or one written by
 * ds_write_jsonl).  Checks id, benchmark, task, index and the problem /
 * answer (math) or prompt / tests (code) fields; errors name path, line and
 * field.  0 or -1. */
int ds_load_normalized(const char *path, ds_set *out, char *err, size_t errlen);

/* Maps the source files of e (files[i] is the local copy of the i-th path
 * of ds_source_paths) into normalized records.  0 or -1. */
int ds_load_source(const ds_entry *e, char *const *files, size_t nfiles, ds_set *out,
                   char *err, size_t errlen);

/* The repository paths of e's source files, in the order ds_load_source
 * wants them: a malloc'd array of malloc'd strings (free with
 * ds_paths_free).  0 or -1 (OOM). */
int ds_source_paths(const ds_entry *e, char ***paths, size_t *n);
void ds_paths_free(char **paths, size_t n);

/* sha256 over the fields that identify a set's content, in order: for each
 * record its id, problem and answer (math) or its id, prompt, entry_point
 * and every test (code).  Independent of JSON formatting and key order. */
void ds_records_sha256(const ds_set *s, char out[65]);

/* Writes the records as JSONL (one compact object per line).  0 or -1. */
int ds_write_jsonl(const ds_set *s, FILE *f);

/* Fetches every source file of e through the cache and loads it.
 * file_sha256 / records_sha256 override the registry's expected digests
 * ("any" skips the check; NULL keeps the registry's).  0 or -1. */
int ds_fetch(const fetch_opts *o, const ds_entry *e, const char *file_sha256,
             const char *records_sha256, ds_set *out, char *err, size_t errlen);

/* 1 if every source file of e is in the cache of o. */
int ds_is_cached(const fetch_opts *o, const ds_entry *e);

/* The prompt for one record under e's prompt format (malloc'd; NULL on
 * OOM or a record without the needed field). */
char *ds_prompt(const ds_entry *e, const cJSON *rec);

#endif
