/*
 * cli_tokenize.c — `zeval tokenize` and `zeval detokenize`.
 *
 * tokenize: stdin verbatim (nothing stripped) -> ids on one line; with
 * --jsonl, each line {"text": ...} -> {"ids": [...]}.  detokenize: ids
 * separated by whitespace -> the text, no newline added.
 *
 * The JSONL lines are read by a small JSON reader of our own rather than
 * cJSON, whose strings end at the first NUL: "\u0000" must reach the
 * tokenizer as a NUL byte.  Surrogate pairs become one 4-byte character; a
 * lone surrogate (not representable in UTF-8) becomes U+FFFD, as does any
 * \u escape of one; raw bytes inside strings are passed through as they
 * are (invalid UTF-8 goes to the tokenizer's byte fallback).  When "text"
 * appears twice, the first one counts.
 */
#include "args.h"
#include "cli.h"
#include "../engine/tokenizer.h"
#include "../engine/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STDIN_MAX ((size_t)4 << 30)

static const char usage_tok[] =
    "usage: zeval tokenize (--tokenizer FILE | --model DIR) [--add-special] [--jsonl] < text\n";
static const char usage_detok[] =
    "usage: zeval detokenize (--tokenizer FILE | --model DIR) [--skip-special] < ids\n";

static int open_tok(const args_opt *o, int no, tok_tokenizer **t, const char *usage)
{
    const char *f = args_get(o, no, "tokenizer"), *d = args_get(o, no, "model");
    if (!f == !d) {
        fprintf(stderr, "zeval: give exactly one of --tokenizer FILE and --model DIR\n%s", usage);
        return 2;
    }
    char err[1024];
    if (tok_load(f ? f : d, t, err, sizeof err))
        return cli_fail(1, err);
    return 0;
}

/* ------------------------------------------------------------ JSON reading */

typedef struct {
    const char *p, *end;
    char *err;
    size_t errlen;
} jrd;

static void j_ws(jrd *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\r' || *r->p == '\n'))
        r->p++;
}

static int j_fail(jrd *r, const char *what)
{
    snprintf(r->err, r->errlen, "%s", what);
    return -1;
}

static int hex4(const char *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int c = p[i], d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return -1;
        *v = *v * 16 + (unsigned)d;
    }
    return 0;
}

static size_t put_utf8(char *o, unsigned c)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xC0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* Reads a JSON string at r->p (the opening quote).  With out != NULL,
 * decodes it into *out (malloc'd; no longer than the source) and *outlen. */
static int j_string(jrd *r, char **out, size_t *outlen)
{
    if (r->p >= r->end || *r->p != '"')
        return j_fail(r, "expected a string");
    const char *p = ++r->p;
    char *o = NULL;
    size_t k = 0;
    if (out) {
        /* every escape decodes to no more bytes than it takes */
        o = malloc((size_t)(r->end - p) + 4);
        if (!o)
            return j_fail(r, "out of memory");
    }
    while (p < r->end && *p != '"') {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20) {
            free(o);
            return j_fail(r, "control character inside a string (must be escaped)");
        }
        if (c != '\\') {
            if (o)
                o[k++] = (char)c;
            p++;
            continue;
        }
        if (p + 1 >= r->end) {
            free(o);
            return j_fail(r, "unterminated string");
        }
        char e = p[1];
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            static const char val[] = "\"\\/\b\f\n\r\t";
            if (o)
                o[k++] = val[simple - "\"\\/bfnrt"];
            p += 2;
            continue;
        }
        unsigned u, u2;
        if (e != 'u' || r->end - p < 6 || hex4(p + 2, &u)) {
            free(o);
            return j_fail(r, "invalid escape in a string");
        }
        p += 6;
        if (u >= 0xD800 && u <= 0xDBFF && r->end - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
            hex4(p + 2, &u2) == 0 && u2 >= 0xDC00 && u2 <= 0xDFFF) {
            u = 0x10000 + ((u - 0xD800) << 10) + (u2 - 0xDC00);
            p += 6;
        } else if (u >= 0xD800 && u <= 0xDFFF)
            u = 0xFFFD; /* a lone surrogate */
        if (o)
            k += put_utf8(o + k, u);
    }
    if (p >= r->end) {
        free(o);
        return j_fail(r, "unterminated string");
    }
    r->p = p + 1;
    if (out) {
        o[k] = 0;
        *out = o;
        *outlen = k;
    }
    return 0;
}

/* Skips any JSON value (depth-limited). */
static int j_skip(jrd *r, int depth)
{
    j_ws(r);
    if (r->p >= r->end)
        return j_fail(r, "expected a value");
    if (depth > 256)
        return j_fail(r, "nested too deeply");
    char c = *r->p;
    if (c == '"')
        return j_string(r, NULL, NULL);
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        r->p++;
        j_ws(r);
        if (r->p < r->end && *r->p == close) {
            r->p++;
            return 0;
        }
        for (;;) {
            if (c == '{') {
                j_ws(r);
                if (j_string(r, NULL, NULL))
                    return -1;
                j_ws(r);
                if (r->p >= r->end || *r->p != ':')
                    return j_fail(r, "expected ':'");
                r->p++;
            }
            if (j_skip(r, depth + 1))
                return -1;
            j_ws(r);
            if (r->p < r->end && *r->p == ',') {
                r->p++;
                continue;
            }
            if (r->p < r->end && *r->p == close) {
                r->p++;
                return 0;
            }
            return j_fail(r, "expected ',' or a closing bracket");
        }
    }
    const char *s = r->p;
    while (r->p < r->end && (strchr("+-.eE", *r->p) || (*r->p >= '0' && *r->p <= '9') ||
                             (*r->p >= 'a' && *r->p <= 'z')))
        r->p++;
    size_t n = (size_t)(r->p - s);
    if ((n == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "null", 4))) ||
        (n == 5 && !memcmp(s, "false", 5)))
        return 0;
    char num[64];
    if (n == 0 || n >= sizeof num)
        return j_fail(r, "invalid value");
    memcpy(num, s, n);
    num[n] = 0;
    char *e;
    strtod(num, &e);
    if (*e || !(num[0] == '-' || (num[0] >= '0' && num[0] <= '9')))
        return j_fail(r, "invalid value");
    return 0;
}

/* From one JSON object line[0..n), the string field "text" (malloc'd,
 * may contain NULs).  Fails with a message in err. */
static int jsonl_text(const char *line, size_t n, char **text, size_t *tlen, char *err,
                      size_t errlen)
{
    jrd r = {line, line + n, err, errlen};
    *text = NULL;
    j_ws(&r);
    if (r.p >= r.end || *r.p != '{')
        return j_fail(&r, "expected a JSON object");
    r.p++;
    j_ws(&r);
    if (r.p < r.end && *r.p == '}')
        r.p++;
    else
        for (;;) {
            char *key = NULL;
            size_t kl;
            j_ws(&r);
            if (j_string(&r, &key, &kl))
                goto fail;
            int want = !*text && kl == 4 && memcmp(key, "text", 4) == 0;
            free(key);
            j_ws(&r);
            if (r.p >= r.end || *r.p != ':') {
                j_fail(&r, "expected ':'");
                goto fail;
            }
            r.p++;
            j_ws(&r);
            if (want) {
                if (r.p >= r.end || *r.p != '"') {
                    j_fail(&r, "field 'text' is not a string");
                    goto fail;
                }
                if (j_string(&r, text, tlen))
                    goto fail;
            } else if (j_skip(&r, 0))
                goto fail;
            j_ws(&r);
            if (r.p < r.end && *r.p == ',') {
                r.p++;
                continue;
            }
            if (r.p < r.end && *r.p == '}') {
                r.p++;
                break;
            }
            j_fail(&r, "expected ',' or '}'");
            goto fail;
        }
    j_ws(&r);
    if (r.p != r.end) {
        j_fail(&r, "text after the JSON object");
        goto fail;
    }
    if (!*text)
        return j_fail(&r, "no string field 'text'");
    return 0;
fail:
    free(*text);
    *text = NULL;
    return -1;
}

/* ------------------------------------------------------------ commands */

static void print_ids(const int32_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf(i ? " %d" : "%d", ids[i]);
}

int cli_tokenize(int argc, char **argv)
{
    args_opt o[] = {{"tokenizer", 1, NULL}, {"model", 1, NULL}, {"add-special", 0, NULL},
                    {"jsonl", 0, NULL},     {"help", 0, NULL}};
    int no = (int)(sizeof o / sizeof o[0]);
    char err[1024];
    if (args_parse(argc, argv, o, no, err, sizeof err)) {
        fprintf(stderr, "zeval tokenize: %s\n%s", err, usage_tok);
        return 2;
    }
    if (args_get(o, no, "help")) {
        fputs(usage_tok, stdout);
        return 0;
    }
    tok_tokenizer *t = NULL;
    int rc = open_tok(o, no, &t, usage_tok);
    if (rc)
        return rc;
    int add = args_get(o, no, "add-special") != NULL;
    size_t n;
    char *in = ut_read_stream(stdin, STDIN_MAX, &n);
    if (!in) {
        tok_free(t);
        return cli_fail(1, "stdin: out of memory or larger than 4 GiB");
    }
    int32_t *ids = NULL;
    size_t nids;
    rc = 1;
    if (!args_get(o, no, "jsonl")) {
        if (tok_encode(t, in, n, add, &ids, &nids, err, sizeof err))
            goto done;
        print_ids(ids, nids);
        printf("\n");
        free(ids);
        rc = 0;
        goto done;
    }
    long line = 0;
    for (char *p = in, *e; p < in + n; p = e + 1) {
        e = memchr(p, '\n', (size_t)(in + n - p));
        if (!e)
            e = in + n;
        line++;
        if (p == e || (e == p + 1 && *p == '\r'))
            continue;
        char *tx = NULL, jerr[256];
        size_t tl;
        if (jsonl_text(p, (size_t)(e - p), &tx, &tl, jerr, sizeof jerr)) {
            snprintf(err, sizeof err, "stdin line %ld: %s (expected a JSON object with a string "
                                      "field 'text')", line, jerr);
            goto done;
        }
        int r = tok_encode(t, tx, tl, add, &ids, &nids, err, sizeof err);
        free(tx);
        if (r)
            goto done;
        printf("{\"ids\": [");
        for (size_t i = 0; i < nids; i++)
            printf(i ? ", %d" : "%d", ids[i]);
        printf("]}\n");
        free(ids);
    }
    rc = 0;
done:
    if (fflush(stdout) != 0 && rc == 0) {
        snprintf(err, sizeof err, "stdout: write failed");
        rc = 1;
    }
    if (rc)
        cli_fail(1, err);
    free(in);
    tok_free(t);
    return rc;
}

int cli_detokenize(int argc, char **argv)
{
    args_opt o[] = {{"tokenizer", 1, NULL}, {"model", 1, NULL}, {"skip-special", 0, NULL},
                    {"help", 0, NULL}};
    int no = (int)(sizeof o / sizeof o[0]);
    char err[1024];
    if (args_parse(argc, argv, o, no, err, sizeof err)) {
        fprintf(stderr, "zeval detokenize: %s\n%s", err, usage_detok);
        return 2;
    }
    if (args_get(o, no, "help")) {
        fputs(usage_detok, stdout);
        return 0;
    }
    tok_tokenizer *t = NULL;
    int rc = open_tok(o, no, &t, usage_detok);
    if (rc)
        return rc;
    size_t n;
    char *in = ut_read_stream(stdin, STDIN_MAX, &n);
    int32_t *ids = in ? malloc((n / 2 + 1) * sizeof *ids) : NULL;
    size_t k = 0;
    rc = 1;
    if (!ids) {
        snprintf(err, sizeof err, "stdin: out of memory");
        goto done;
    }
    for (char *p = in; *p;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        errno = 0;
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT32_MAX ||
            (*end && !isspace((unsigned char)*end))) {
            snprintf(err, sizeof err, "stdin: '%.20s' at byte %zu is not a token id", p,
                     (size_t)(p - in));
            goto done;
        }
        ids[k++] = (int32_t)v;
        p = end;
    }
    char *text = NULL;
    size_t tl;
    if (tok_decode(t, ids, k, args_get(o, no, "skip-special") != NULL, &text, &tl, err, sizeof err))
        goto done;
    rc = fwrite(text, 1, tl, stdout) == tl && fflush(stdout) == 0 ? 0 : 1;
    if (rc)
        snprintf(err, sizeof err, "stdout: write failed");
    free(text);
done:
    if (rc)
        cli_fail(1, err);
    free(ids);
    free(in);
    tok_free(t);
    return rc;
}
