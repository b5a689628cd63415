/* util.c — see util.h. */
#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int ut_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int ut_err_prefix(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return -1;
    char prefix[1024], old[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    snprintf(old, sizeof old, "%s", err);
    snprintf(err, errlen, "%s: %s", prefix, old);
    return -1;
}

int ut_read_file(const char *path, size_t cap, char **out, size_t *len,
                 char *err, size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ut_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return ut_err(err, errlen, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > cap) {
        fclose(f);
        return ut_err(err, errlen, "%s: file is %lld bytes, more than the %zu allowed",
                      path, (long long)st.st_size, cap);
    }
    size_t n = (size_t)st.st_size;
    char *buf = malloc(n + 1);
    if (!buf) {
        fclose(f);
        return ut_err(err, errlen, "%s: out of memory", path);
    }
    if (n && fread(buf, 1, n, f) != n) {
        free(buf);
        fclose(f);
        return ut_err(err, errlen, "%s: read error", path);
    }
    fclose(f);
    buf[n] = 0;
    *out = buf;
    if (len)
        *len = n;
    return 0;
}

char *ut_path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    size_t k = a;
    if (a && dir[a - 1] != '/')
        p[k++] = '/';
    memcpy(p + k, name, b + 1);
    return p;
}

char *ut_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

float ut_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t u;
    if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else { /* subnormal: renormalise */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400u));
            u = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        u = sign | 0x7f800000u | (man << 13);
    } else {
        u = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

int ut_double_to_ll(double v, long long *out)
{
    if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0) || v != floor(v))
        return 0;
    *out = (long long)v;
    return 1;
}

double ut_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

char *ut_read_stream(FILE *f, size_t max, size_t *n)
{
    size_t cap = 1 << 16, len = 0;
    char *b = malloc(cap + 1);
    while (b) {
        len += fread(b + len, 1, cap - len, f);
        if (len < cap)
            break;
        if (cap >= max) {
            free(b);
            return NULL;
        }
        char *nb = realloc(b, 2 * cap + 1);
        if (!nb)
            free(b);
        b = nb;
        cap *= 2;
    }
    if (b)
        b[len] = 0;
    *n = len;
    return b;
}

int ut_mkdirs(const char *dir, char *err, size_t errlen)
{
    char *d = ut_strdup(dir);
    if (!d)
        return ut_err(err, errlen, "out of memory");
    for (char *p = d + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(d, 0755) != 0 && errno != EEXIST) {
                int e = errno;
                ut_err(err, errlen, "%s: cannot create directory: %s", d, strerror(e));
                free(d);
                return -1;
            }
            *p = c;
            if (!c)
                break;
        }
    }
    free(d);
    return 0;
}

void ut_put_cols(FILE *out, const char *s, int w)
{
    int n = 0, cols = 0;
    while (s[n]) {
        int len = 1;
        unsigned char ch = (unsigned char)s[n];
        if (ch >= 0xc0)
            while ((s[n + len] & 0xc0) == 0x80)
                len++;
        if (cols + 1 > w || (cols + 1 == w && s[n + len]))
            break;
        if (ch < 0x20 || ch == 0x7f)
            fputc('?', out);
        else
            fwrite(s + n, 1, (size_t)len, out);
        n += len;
        cols++;
    }
    if (s[n]) { /* cut: an ellipsis in the last column */
        fputs("\xe2\x80\xa6", out);
        cols++;
    }
    for (; cols < w; cols++)
        fputc(' ', out);
}
