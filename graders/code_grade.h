/*
 * code_grade.h — grading of code answers (spec/grading.md Part B) by
 * execution in the sandbox (graders/sandbox.h).
 *
 * A problem is a record of the code schema of ../shared/datasets
 * (test_format stdin_stdout, functional_call or assert_code).  The
 * program is extracted from the model response (code_extract), completed
 * per benchmark (LiveCodeBench import prelude; HumanEval prompt; MBPP
 * setup code) and run once per test by graders/code_driver.py inside a
 * fresh sandbox (cold) or by a sandboxed server that forks a fresh child per
 * test (warm): one server per pool worker, started lazily and reused
 * across problems (each request carries the program and the limits), and
 * restarted after a test killed or broke it.  Tests stop at the first failure unless
 * all_tests is set.
 */
#ifndef ZEVAL_CODE_GRADE_H
#define ZEVAL_CODE_GRADE_H

#include <cjson/cJSON.h>
#include <stddef.h>

typedef enum {
    CODE_PASS = 0,
    CODE_WRONG_ANSWER,
    CODE_RUNTIME_ERROR,
    CODE_TIMEOUT,
    CODE_MEMORY_LIMIT,
    CODE_OUTPUT_LIMIT,
    CODE_COMPILE_ERROR,
    CODE_NO_CODE,
    CODE_SANDBOX_ERROR
} code_verdict;

typedef enum { CODE_FMT_STDIN = 0, CODE_FMT_FUNC, CODE_FMT_ASSERT } code_format;

typedef struct {
    char *input;     /* stdin / JSON argument lines (NULL for assert_code) */
    char *output;    /* expected stdout / JSON value (NULL for assert_code) */
    char *code;      /* assert_code test program (NULL otherwise) */
} code_test;

typedef struct {
    char *id;
    char *benchmark;
    code_format fmt;
    char *entry_point;   /* NULL for stdin problems */
    char *prompt;
    char *starter_code;
    char *setup;         /* test_setup_code ("" if none) */
    code_test *tests;
    int ntests;
    double time_limit_s; /* 0: the default for the format */
    double memory_mb;    /* 0: 4 GiB */
} code_problem;

typedef struct {
    const char *python;  /* NULL: /usr/bin/python3 */
    int unsafe;          /* --unsafe-no-sandbox */
    int warm;            /* one sandboxed server per pool worker, a fork per test */
    int all_tests;       /* run every test even after a failure */
    double timeout_s;    /* > 0: overrides every per-test time limit */
    const char *tag;     /* exported into the sandbox as ZEVAL_SBX_TAG (tests) */
} code_options;

typedef struct {
    code_verdict verdict;
    int passed_tests;    /* tests run that passed */
    int total_tests;     /* tests in the problem */
    int tests_run;
    int servers_started; /* warm: sandboxed servers started while grading it */
    char first_failure[512]; /* "" when passed */
    double time_ms;
} code_result;

/* Fills p from a JSON record (borrowed; copied).  0, or -1 with a message
 * naming the field.  code_problem_free releases it. */
int code_problem_from_json(const cJSON *o, code_problem *p, char *err, size_t errlen);
void code_problem_free(code_problem *p);

/* The program inside a response: text after the last </think>, then the
 * last fenced block tagged python/py (else the last fenced block); a
 * response without any fence is itself the program.  Returns a malloc'd
 * string, or NULL for no code (empty / blank program). */
char *code_extract(const char *response);

/* The full program run for problem p given extracted code (malloc'd):
 * LiveCodeBench prelude + code; HumanEval prompt + code (prompt + "\n" +
 * code when the code defines the entry point itself); MBPP setup + code. */
char *code_build_program(const code_problem *p, const char *code);

/* LiveCodeBench stdout comparison (spec/grading.md B.2): 1 equal, 0 not. */
int code_stdout_equal(const char *got, size_t got_len, const char *want, size_t want_len);

/* Python Decimal(a) == Decimal(b) for two tokens; 1 equal, 0 not equal,
 * -1 if either is not a valid Decimal string. */
int code_decimal_equal(const char *a, size_t alen, const char *b, size_t blen);

/* Python == on two JSON texts (int/float/bool cross-type rules, exact
 * integers); 1 equal, 0 not, -1 if either does not parse. */
int code_json_equal(const char *a, size_t alen, const char *b, size_t blen);

/* Grades one response; fills r.  Returns 0, or -1 with err for failures of
 * the harness itself (out of memory).  Sandbox failures are verdicts. */
int code_grade(const code_problem *p, const char *response, const code_options *o,
               code_result *r, char *err, size_t errlen);

/* Grades n (problem, response) pairs on a pool of jobs threads (jobs <= 0:
 * the number of CPUs); results[i] belongs to problems[i].  0 or -1. */
int code_grade_many(const code_problem *const *problems, const char *const *responses, int n,
                    const code_options *o, int jobs, code_result *results, char *err,
                    size_t errlen);

const char *code_verdict_name(code_verdict v);

/* The embedded graders/code_driver.py (code_driver.c). */
extern const char code_driver_py[];

#endif
