/* args.c — see args.h. */
#include "args.h"
#include "cli.h"
#include "../engine/pool.h"
#include "../engine/util.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int args_parse(int argc, char **argv, args_opt *opts, int nopts, char *err, size_t errlen)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0)
            return ut_err(err, errlen, "unexpected argument '%s'", a);
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        args_opt *o = NULL;
        for (int k = 0; k < nopts; k++)
            if (strlen(opts[k].name) == nl && strncmp(opts[k].name, name, nl) == 0)
                o = &opts[k];
        if (!o)
            return ut_err(err, errlen, "unknown option '--%.*s'", (int)nl, name);
        if (o->value)
            return ut_err(err, errlen, "option '--%s' given twice", o->name);
        if (!o->takes_value) {
            if (eq)
                return ut_err(err, errlen, "option '--%s' takes no value", o->name);
            o->value = "1";
        } else if (eq) {
            o->value = eq + 1;
        } else {
            if (i + 1 >= argc)
                return ut_err(err, errlen, "option '--%s' needs a value", o->name);
            o->value = argv[++i];
        }
    }
    return 0;
}

const char *args_get(const args_opt *opts, int nopts, const char *name)
{
    for (int k = 0; k < nopts; k++)
        if (strcmp(opts[k].name, name) == 0)
            return opts[k].value;
    return NULL;
}

int args_ids(const char *s, int **out, int *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    int *ids = malloc(cap * sizeof *ids);
    if (!ids)
        return ut_err(err, errlen, "out of memory");
    int k = 0;
    const char *p = s;
    for (;;) {
        while (*p == ' ')
            p++;
        if (*p < '0' || *p > '9') {
            free(ids);
            return ut_err(err, errlen, "--ids: expected a token id at character %d of '%.60s'",
                          (int)(p - s) + 1, s);
        }
        errno = 0;
        char *end;
        long v = strtol(p, &end, 10);
        if (errno || v > INT_MAX) {
            free(ids);
            return ut_err(err, errlen, "--ids: id '%.20s' is too large", p);
        }
        ids[k++] = (int)v;
        p = end;
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        if (*p != ',') {
            free(ids);
            return ut_err(err, errlen, "--ids: unexpected '%c' at character %d", *p,
                          (int)(p - s) + 1);
        }
        p++;
    }
    *out = ids;
    *n = k;
    return 0;
}

int args_count(const char *s, const char *what, long *out, char *err, size_t errlen)
{
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || errno || v < 0)
        return ut_err(err, errlen, "%s: expected a non-negative integer, found '%s'", what, s);
    if (*end == 'K' || *end == 'k') {
        if (v > LONG_MAX / 1024)
            return ut_err(err, errlen, "%s: '%s' is too large", what, s);
        v *= 1024;
        end++;
    }
    if (*end)
        return ut_err(err, errlen, "%s: expected a non-negative integer, found '%s'", what, s);
    *out = v;
    return 0;
}

int cli_fail(int status, const char *msg)
{
    fprintf(stderr, "zeval: %s\n", msg);
    return status;
}

int args_float(const char *s, const char *what, double *out, char *err, size_t errlen)
{
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v))
        return ut_err(err, errlen, "%s: expected a number, found '%s'", what, s);
    *out = v;
    return 0;
}

int args_u64(const char *s, const char *what, unsigned long long *out, char *err, size_t errlen)
{
    errno = 0;
    char *end;
    if (*s == '-')
        return ut_err(err, errlen, "%s: expected a non-negative integer, found '%s'", what, s);
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || errno)
        return ut_err(err, errlen, "%s: expected a non-negative integer, found '%s'", what, s);
    *out = v;
    return 0;
}

int cli_threads(const char *v, char *err, size_t errlen)
{
    long n;
    if (!v)
        return 0;
    if (args_count(v, "--threads", &n, err, errlen))
        return -1;
    if (n < 1 || n > 256)
        return ut_err(err, errlen, "--threads must be in [1, 256], got %s", v);
    return pool_set_threads((int)n, err, errlen);
}

int args_take(int *argc, char **argv, const char *name, const char ***vals, int *nvals,
              char *err, size_t errlen)
{
    size_t nl = strlen(name);
    *vals = malloc((size_t)(*argc + 1) * sizeof **vals);
    *nvals = 0;
    if (!*vals)
        return snprintf(err, errlen, "out of memory"), -1;
    int w = 0;
    for (int i = 0; i < *argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1] == '-' && !strncmp(a + 2, name, nl) && a[2 + nl] == 0) {
            if (i + 1 >= *argc)
                return snprintf(err, errlen, "option '--%s' needs a value", name), -1;
            (*vals)[(*nvals)++] = argv[++i];
        } else if (a[0] == '-' && a[1] == '-' && !strncmp(a + 2, name, nl) && a[2 + nl] == '=') {
            (*vals)[(*nvals)++] = a + 3 + nl;
        } else {
            argv[w++] = argv[i];
        }
    }
    *argc = w;
    return 0;
}
