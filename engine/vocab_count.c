/* vocab_count.c — see vocab_count.h. */
#include "vocab_count.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define TOKENIZER_MAX_BYTES ((size_t)1 << 30)

typedef struct {
    const char *p, *start, *end;
} scan;

static void ws(scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

/* Skips a string at s->p (which must be '"'); key, if non-NULL, gets up
 * to n-1 raw bytes of it (escapes left as written). */
static int str(scan *s, char *key, size_t n)
{
    if (s->p >= s->end || *s->p != '"')
        return -1;
    const char *b = ++s->p;
    while (s->p < s->end && *s->p != '"') {
        if (*s->p == '\\')
            s->p++;
        s->p++;
    }
    if (s->p >= s->end)
        return -1;
    if (key) {
        size_t l = (size_t)(s->p - b);
        if (l >= n)
            l = n - 1;
        memcpy(key, b, l);
        key[l] = 0;
    }
    s->p++;
    return 0;
}

/* Skips any value. */
static int skip(scan *s)
{
    ws(s);
    if (s->p >= s->end)
        return -1;
    char c = *s->p;
    if (c == '"')
        return str(s, NULL, 0);
    if (c == '{' || c == '[') {
        long depth = 0;
        while (s->p < s->end) {
            c = *s->p;
            if (c == '"') {
                if (str(s, NULL, 0))
                    return -1;
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if ((c == '}' || c == ']') && --depth == 0) {
                s->p++;
                return 0;
            }
            s->p++;
        }
        return -1;
    }
    const char *b = s->p;
    while (s->p < s->end && !strchr(",}] \t\r\n", *s->p))
        s->p++;
    return s->p > b ? 0 : -1;
}

/* An integer value (ids); anything else is an error. */
static int integer(scan *s, long *v)
{
    ws(s);
    errno = 0;
    char *e;
    long x = strtol(s->p, &e, 10);
    if (e == s->p || errno || e > s->end || (e < s->end && strchr(".eE", *e)))
        return -1;
    s->p = e;
    *v = x;
    return 0;
}

/* Expects c (after blanks). */
static int expect(scan *s, char c)
{
    ws(s);
    if (s->p >= s->end || *s->p != c)
        return -1;
    s->p++;
    return 0;
}

/* After a member or element: 1 at the closing bracket, 0 after a comma. */
static int next(scan *s, char close)
{
    ws(s);
    if (s->p < s->end && *s->p == ',') {
        s->p++;
        return 0;
    }
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return 1;
    }
    return -1;
}

/* Opens an object or array; 1 if it is empty (and consumed). */
static int open_(scan *s, char open, char close)
{
    if (expect(s, open))
        return -1;
    ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return 1;
    }
    return 0;
}

static int added_tokens(scan *s, long *maxid)
{
    int r = open_(s, '[', ']');
    while (r == 0) {
        int q = open_(s, '{', '}');
        while (q == 0) {
            char key[16];
            ws(s);
            if (str(s, key, sizeof key) || expect(s, ':'))
                return -1;
            if (strcmp(key, "id") == 0) {
                long v;
                if (integer(s, &v) || v < 0)
                    return -1;
                if (v > *maxid)
                    *maxid = v;
            } else if (skip(s)) {
                return -1;
            }
            q = next(s, '}');
        }
        if (q < 0)
            return -1;
        r = next(s, ']');
    }
    return r < 0 ? -1 : 0;
}

static int vocab(scan *s, long *maxid)
{
    ws(s);
    if (s->p < s->end && *s->p == '[') { /* Unigram: [[piece, score], ...] */
        long n = 0;
        int r = open_(s, '[', ']');
        while (r == 0) {
            if (skip(s))
                return -1;
            n++;
            r = next(s, ']');
        }
        if (r < 0)
            return -1;
        if (n - 1 > *maxid)
            *maxid = n - 1;
        return 0;
    }
    int r = open_(s, '{', '}');
    while (r == 0) {
        long v;
        ws(s);
        if (str(s, NULL, 0) || expect(s, ':') || integer(s, &v) || v < 0)
            return -1;
        if (v > *maxid)
            *maxid = v;
        r = next(s, '}');
    }
    return r < 0 ? -1 : 0;
}

static int model(scan *s, long *maxid)
{
    int r = open_(s, '{', '}');
    while (r == 0) {
        char key[16];
        ws(s);
        if (str(s, key, sizeof key) || expect(s, ':'))
            return -1;
        if (strcmp(key, "vocab") == 0 ? vocab(s, maxid) : skip(s))
            return -1;
        r = next(s, '}');
    }
    return r < 0 ? -1 : 0;
}

int eng_tokenizer_json_ids(const char *path, long *n_ids, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    *n_ids = 0;
    if (ut_read_file(path, TOKENIZER_MAX_BYTES, &text, &len, err, errlen))
        return -1;
    scan s = {text, text, text + len};
    long maxid = -1;
    int r = open_(&s, '{', '}');
    while (r == 0) {
        char key[16];
        ws(&s);
        if (str(&s, key, sizeof key) || expect(&s, ':')) {
            r = -1;
            break;
        }
        int bad;
        if (strcmp(key, "added_tokens") == 0)
            bad = added_tokens(&s, &maxid);
        else if (strcmp(key, "model") == 0)
            bad = model(&s, &maxid);
        else
            bad = skip(&s);
        if (bad) {
            r = -1;
            break;
        }
        r = next(&s, '}');
    }
    if (r < 0) {
        ut_err(err, errlen, "%s: malformed JSON near byte %zu", path,
               (size_t)(s.p - s.start));
        free(text);
        return -1;
    }
    free(text);
    *n_ids = maxid + 1;
    return 0;
}
