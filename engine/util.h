/*
 * util.h — small helpers shared by the engine: error messages, number
 * formats (bf16/f16 widening), bounded file reading.
 *
 * Error convention: fallible functions return 0 on success and -1 on
 * failure, writing a message a user can act on into a caller-provided
 * buffer (`err`, `errlen`).  The message names the file or field and says
 * what was expected and what was found.
 */
#ifndef ZEVAL_UTIL_H
#define ZEVAL_UTIL_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__)
#define UT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define UT_PRINTF(a, b)
#endif

/* Formats a message into err (if err != NULL) and returns -1. */
int ut_err(char *err, size_t errlen, const char *fmt, ...) UT_PRINTF(3, 4);

/* Prepends "prefix: " to the message already in err. Returns -1. */
int ut_err_prefix(char *err, size_t errlen, const char *fmt, ...) UT_PRINTF(3, 4);

/* Reads a whole file of at most cap bytes into a NUL-terminated malloc'd
 * buffer (*out, caller frees); *len gets the size. */
int ut_read_file(const char *path, size_t cap, char **out, size_t *len,
                 char *err, size_t errlen);

/* Reads all of f (at most max bytes) into a malloc'd, NUL-terminated
 * buffer; *n is its length.  NULL when memory runs out or f holds more
 * than max bytes. */
char *ut_read_stream(FILE *f, size_t max, size_t *n);

/* Writes s in w columns (one a UTF-8 character): cut with an ellipsis in the
 * last column when longer, padded with spaces when shorter; control
 * characters print as '?'. */
void ut_put_cols(FILE *f, const char *s, int w);

/* Joins dir and name into a malloc'd path ("dir/name"). NULL on OOM. */
char *ut_path_join(const char *dir, const char *name);

/* A strdup that is part of C11's portable subset. NULL on OOM. */
char *ut_strdup(const char *s);

/* Creates dir and every missing directory above it (mkdir -p, mode 0755).
 * 0, or -1 with a message naming the directory that could not be made. */
int ut_mkdirs(const char *dir, char *err, size_t errlen);

static inline float ut_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Round-to-nearest-even float -> bf16 (NaN stays NaN). */
static inline uint16_t ut_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float ut_f16_to_f32(uint16_t h);

/* Monotonic wall-clock seconds. */
double ut_now(void);

/* 1 with *out = v when v is a whole number a long long holds; 0 for
 * fractions, NaN, infinities and magnitudes of 2^63 or more (converting
 * those would be undefined behaviour).  For numbers read from JSON. */
int ut_double_to_ll(double v, long long *out);

#endif
