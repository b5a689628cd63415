/*
 * args.h — a small command-line option reader shared by the subcommands.
 *
 * Options are `--name value` or `--name=value`; flags are `--name`.  Each
 * subcommand declares its options in a table; unknown options and missing
 * values are errors that name the option.
 */
#ifndef ZEVAL_ARGS_H
#define ZEVAL_ARGS_H

#include <stddef.h>

typedef struct {
    const char *name;     /* without the leading dashes */
    int takes_value;
    const char *value;    /* filled in: the value, or "1" for a flag; NULL if absent */
} args_opt;

/* Parses argv[0..argc) against opts; returns 0 or -1 with a message. */
int args_parse(int argc, char **argv, args_opt *opts, int nopts, char *err, size_t errlen);

/* Moves every `--NAME X` / `--NAME=X` out of argv into *vals (malloc'd, in
 * order; free it also on error): for options that may repeat.  The rest
 * stays in argv, compacted, with *argc updated.  0, or -1 with a message. */
int args_take(int *argc, char **argv, const char *name, const char ***vals, int *nvals,
              char *err, size_t errlen);

/* The option's value or NULL. */
const char *args_get(const args_opt *opts, int nopts, const char *name);

/* Parses a comma-separated list of non-negative integers (token ids) into a
 * malloc'd array. */
int args_ids(const char *s, int **out, int *n, char *err, size_t errlen);

/* Parses a non-negative integer (optionally with a K = x1024 suffix). */
int args_count(const char *s, const char *what, long *out, char *err, size_t errlen);

/* Parses a finite floating-point number. */
int args_float(const char *s, const char *what, double *out, char *err, size_t errlen);

/* Parses an unsigned 64-bit integer (decimal). */
int args_u64(const char *s, const char *what, unsigned long long *out, char *err, size_t errlen);

#endif
