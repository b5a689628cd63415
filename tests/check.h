/*
 * check.h — the test harness: named cases, assertions, subprocesses.
 *
 * A test program runs cases; each prints one line "PASS name", "FAIL name:
 * why" or "SKIP name: why".  tests/run.sh counts those lines over every
 * program and build variant and prints the closing "N passed, N failed,
 * N skipped" line.  A program that dies without finishing is counted as a
 * failure by run.sh.
 */
#ifndef ZEVAL_CHECK_H
#define ZEVAL_CHECK_H

#include <stddef.h>
#include <stdio.h>

#include "../engine/safetensors.h"

void ck_begin(const char *fmt, ...);
/* Records a failure of the current case (first message kept). */
void ck_fail_at(const char *file, int line, const char *fmt, ...);
/* Ends the current case, printing its line; returns 1 if it passed. */
int ck_end(void);
void ck_skip(const char *name, const char *why);
/* Exit status for main: 1 if any case failed. */
int ck_status(void);

#define CK(cond, ...)                                   \
    do {                                                \
        if (!(cond))                                    \
            ck_fail_at(__FILE__, __LINE__, __VA_ARGS__); \
    } while (0)

/* ../shared (or $ZEVAL_SHARED) joined with rel; static buffer. */
const char *ck_shared(const char *rel);
/* The zeval binary under test ($ZEVAL_BIN, default ./zeval). */
const char *ck_zeval(void);
/* A fresh temporary directory (removed by ck_rmtree). Static buffer. */
const char *ck_tmpdir(void);
void ck_rmtree(const char *dir);

/* Runs argv (NULL-terminated) with stdout to out_path (or /dev/null) and
 * stderr captured into errbuf; returns the exit status, or 128+signal. */
int ck_run(char *const argv[], const char *out_path, char *errbuf, size_t errlen);

/* Runs the zeval binary under test with args (NULL-terminated, at most
 * 62), like ck_run. */
int ck_zeval_run(const char *const *args, const char *out_path, char *errbuf, size_t errlen);

/* Reads a whole file (malloc'd, NUL-terminated); NULL on failure. */
char *ck_slurp(const char *path, size_t *len);
int ck_write(const char *path, const void *data, size_t len);
int ck_copy(const char *from, const char *to);

/* Largest |a[i] - b[i]| over n floats; a NaN anywhere gives INFINITY. */
double ck_maxdiff(const float *a, const float *b, size_t n);

/* The tensor named by fmt with %d = k in a golden file; exits naming the
 * tensor when it is missing (the golden data is unusable then). */
const st_tensor *ck_tensor(const st_file *f, const char *fmt, int k);

#endif
