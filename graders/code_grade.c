/*
 * code_grade.c — program extraction, per-benchmark program assembly, test
 * execution through the sandbox (cold or warm) and the LiveCodeBench
 * comparison rules, done in C so that a program cannot patch them:
 * stdout lines with Python's str.strip/split and Decimal equality, and
 * functional results compared as parsed JSON with Python's == (1 == 1.0,
 * True == 1, exact big integers).
 */
#define _GNU_SOURCE
#include "code_grade.h"
#include "sandbox.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

/* LiveCodeBench's testing_util.py import_string, verbatim. */
static const char lcb_prelude[] =
    "from string import *\nfrom re import *\nfrom datetime import *\nfrom collections import *\n"
    "from heapq import *\nfrom bisect import *\nfrom copy import *\nfrom math import *\n"
    "from random import *\nfrom statistics import *\nfrom itertools import *\n"
    "from functools import *\nfrom operator import *\nfrom io import *\nfrom sys import *\n"
    "from json import *\nfrom builtins import *\nfrom typing import *\nimport string\nimport re\n"
    "import datetime\nimport collections\nimport heapq\nimport bisect\nimport copy\nimport math\n"
    "import random\nimport statistics\nimport itertools\nimport functools\nimport operator\n"
    "import io\nimport sys\nimport json\nsys.setrecursionlimit(50000)\n";

#define EXIT_COMPILE 97
#define EXIT_MEMORY 98
#define EXIT_UNSERIALISABLE 96

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

const char *code_verdict_name(code_verdict v)
{
    static const char *const names[] = {"pass",         "wrong_answer",  "runtime_error",
                                        "timeout",      "memory_limit",  "output_limit",
                                        "compile_error", "no_code",      "sandbox_error"};
    return (unsigned)v < sizeof names / sizeof names[0] ? names[v] : "?";
}

/* ------------------------------------------------------------------ */
/* problems                                                             */

static char *dup_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

void code_problem_free(code_problem *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->ntests; i++) {
        free(p->tests[i].input);
        free(p->tests[i].output);
        free(p->tests[i].code);
    }
    free(p->tests);
    free(p->id);
    free(p->benchmark);
    free(p->entry_point);
    free(p->prompt);
    free(p->starter_code);
    free(p->setup);
    memset(p, 0, sizeof *p);
}

int code_problem_from_json(const cJSON *o, code_problem *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (!cJSON_IsObject(o)) {
        snprintf(err, errlen, "problem: not a JSON object");
        return -1;
    }
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(o, "test_format");
    if (!cJSON_IsString(fmt)) {
        snprintf(err, errlen, "problem: field 'test_format' must be a string");
        return -1;
    }
    if (strcmp(fmt->valuestring, "stdin_stdout") == 0)
        p->fmt = CODE_FMT_STDIN;
    else if (strcmp(fmt->valuestring, "functional_call") == 0)
        p->fmt = CODE_FMT_FUNC;
    else if (strcmp(fmt->valuestring, "assert_code") == 0)
        p->fmt = CODE_FMT_ASSERT;
    else {
        snprintf(err, errlen,
                 "problem: field 'test_format' must be stdin_stdout, functional_call or "
                 "assert_code (found \"%.40s\")",
                 fmt->valuestring);
        return -1;
    }
    p->id = dup_str(o, "id");
    p->benchmark = dup_str(o, "benchmark");
    p->entry_point = dup_str(o, "entry_point");
    p->prompt = dup_str(o, "prompt");
    p->starter_code = dup_str(o, "starter_code");
    p->setup = dup_str(o, "test_setup_code");
    if (!p->id)
        p->id = strdup("");
    if (!p->prompt)
        p->prompt = strdup("");
    if (!p->starter_code)
        p->starter_code = strdup("");
    if (!p->setup)
        p->setup = strdup("");
    if (!p->id || !p->prompt || !p->starter_code || !p->setup)
        goto oom;
    if (p->fmt == CODE_FMT_FUNC && !p->entry_point) {
        snprintf(err, errlen, "problem %s: functional_call needs 'entry_point'", p->id);
        goto fail;
    }
    const cJSON *tl = cJSON_GetObjectItemCaseSensitive(o, "time_limit_s");
    if (cJSON_IsNumber(tl) && tl->valuedouble > 0 && tl->valuedouble <= 3600)
        p->time_limit_s = tl->valuedouble;
    const cJSON *ml = cJSON_GetObjectItemCaseSensitive(o, "memory_limit_mb");
    if (cJSON_IsNumber(ml) && ml->valuedouble > 0 && ml->valuedouble <= 1 << 20)
        p->memory_mb = ml->valuedouble;
    const cJSON *tests = cJSON_GetObjectItemCaseSensitive(o, "tests");
    if (!cJSON_IsArray(tests) || cJSON_GetArraySize(tests) == 0) {
        snprintf(err, errlen, "problem %s: field 'tests' must be a non-empty array", p->id);
        goto fail;
    }
    int n = cJSON_GetArraySize(tests);
    p->tests = calloc((size_t)n, sizeof *p->tests);
    if (!p->tests)
        goto oom;
    const cJSON *t;
    cJSON_ArrayForEach(t, tests)
    {
        code_test *ct = &p->tests[p->ntests];
        if (p->fmt == CODE_FMT_ASSERT) {
            ct->code = dup_str(t, "code");
            if (!ct->code) {
                snprintf(err, errlen, "problem %s: test %d: field 'code' must be a string", p->id,
                         p->ntests + 1);
                goto fail;
            }
        } else {
            ct->input = dup_str(t, "input");
            ct->output = dup_str(t, "output");
            if (!ct->input || !ct->output) {
                snprintf(err, errlen,
                         "problem %s: test %d: fields 'input' and 'output' must be strings", p->id,
                         p->ntests + 1);
                free(ct->input);
                free(ct->output);
                ct->input = ct->output = NULL;
                goto fail;
            }
        }
        p->ntests++;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    code_problem_free(p);
    return -1;
}

/* ------------------------------------------------------------------ */
/* extraction                                                           */

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i]))
            return 0;
    return 1;
}

char *code_extract(const char *resp)
{
    const char *s = resp;
    for (const char *t = strstr(resp, "</think>"); t; t = strstr(t + 1, "</think>"))
        s = t + 8;
    size_t n = strlen(s);
    /* fenced blocks: a line whose first non-blank characters are ``` */
    const char *best = NULL, *best_any = NULL;
    size_t best_len = 0, best_any_len = 0;
    int nfence = 0, open = 0, is_py = 0;
    const char *body = NULL;
    for (const char *line = s; line < s + n;) {
        const char *eol = memchr(line, '\n', (size_t)(s + n - line));
        const char *end = eol ? eol : s + n;
        const char *q = line;
        while (q < end && (*q == ' ' || *q == '\t'))
            q++;
        if (end - q >= 3 && memcmp(q, "```", 3) == 0) {
            nfence++;
            if (!open) {
                open = 1;
                const char *tag = q + 3;
                while (tag < end && *tag == '`')
                    tag++;
                while (tag < end && (*tag == ' ' || *tag == '\t'))
                    tag++;
                const char *te = tag;
                while (te < end && !isspace((unsigned char)*te) && *te != '{')
                    te++;
                size_t tl = (size_t)(te - tag);
                is_py = (tl == 6 && strncasecmp(tag, "python", 6) == 0) ||
                        (tl == 2 && strncasecmp(tag, "py", 2) == 0) ||
                        (tl == 7 && strncasecmp(tag, "python3", 7) == 0);
                body = eol ? eol + 1 : end;
            } else {
                open = 0;
                size_t bl = (size_t)(line - body);
                best_any = body;
                best_any_len = bl;
                if (is_py) {
                    best = body;
                    best_len = bl;
                }
            }
        }
        line = eol ? eol + 1 : s + n;
    }
    if (open) { /* an unclosed last fence (truncated output): the rest */
        size_t bl = (size_t)(s + n - body);
        best_any = body;
        best_any_len = bl;
        if (is_py) {
            best = body;
            best_len = bl;
        }
    }
    const char *src = s;
    size_t len = n;
    if (nfence > 0) {
        src = best ? best : best_any;
        len = best ? best_len : best_any_len;
    }
    if (!src || is_blank(src, len))
        return NULL;
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    memcpy(out, src, len);
    out[len] = 0;
    return out;
}

/* 1 if code has a top-level "def NAME(" line. */
static int defines(const char *code, const char *name)
{
    size_t nl = strlen(name);
    for (const char *l = code; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        const char *q = l;
        if (strncmp(q, "async ", 6) == 0)
            q += 6;
        if (strncmp(q, "def ", 4) != 0)
            continue;
        q += 4;
        while (*q == ' ')
            q++;
        if (strncmp(q, name, nl) == 0) {
            q += nl;
            while (*q == ' ')
                q++;
            if (*q == '(')
                return 1;
        }
    }
    return 0;
}

static char *concat3(const char *a, const char *sep, const char *b)
{
    size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
    char *o = malloc(la + ls + lb + 1);
    if (!o)
        return NULL;
    memcpy(o, a, la);
    memcpy(o + la, sep, ls);
    memcpy(o + la + ls, b, lb + 1);
    return o;
}

char *code_build_program(const code_problem *p, const char *code)
{
    if (p->fmt != CODE_FMT_ASSERT)
        return concat3(lcb_prelude, "\n", code);
    if (p->starter_code[0]) { /* HumanEval: the prompt is the function header */
        if (p->entry_point && defines(code, p->entry_point))
            return concat3(p->prompt, "\n", code);
        return concat3(p->prompt, "", code);
    }
    return concat3(p->setup, "\n", code); /* MBPP */
}

/* ------------------------------------------------------------------ */
/* stdout comparison (Python str semantics on UTF-8 bytes)              */

/* Length of the Python whitespace character at s (s < e), or 0. */
static size_t py_space(const unsigned char *s, const unsigned char *e)
{
    unsigned c = s[0];
    if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f))
        return 1;
    if (c == 0xc2 && e - s >= 2 && (s[1] == 0x85 || s[1] == 0xa0))
        return 2;
    if (e - s >= 3) {
        unsigned c1 = s[1], c2 = s[2];
        if (c == 0xe1 && c1 == 0x9a && c2 == 0x80)
            return 3;
        if (c == 0xe2 && c1 == 0x80 && ((c2 >= 0x80 && c2 <= 0x8a) || c2 == 0xa8 || c2 == 0xa9 ||
                                        c2 == 0xaf))
            return 3;
        if (c == 0xe2 && c1 == 0x81 && c2 == 0x9f)
            return 3;
        if (c == 0xe3 && c1 == 0x80 && c2 == 0x80)
            return 3;
    }
    return 0;
}

/* Python str.strip(): narrows [*b, *e). */
static void py_strip(const unsigned char **b, const unsigned char **e)
{
    size_t k;
    while (*b < *e && (k = py_space(*b, *e)) > 0)
        *b += k;
    const unsigned char *last = *b; /* end of the last non-space char */
    for (const unsigned char *q = *b; q < *e;) {
        k = py_space(q, *e);
        if (k) {
            q += k;
        } else {
            q++;
            while (q < *e && (*q & 0xc0) == 0x80)
                q++;
            last = q;
        }
    }
    *e = last;
}

/* Parses a Python Decimal string (underscores ignored, as CPython's C
 * decimal does); 0 or -1.  dbuf receives the digits (capacity >= n). */
static int decimal_parse(const char *s, size_t n, char *dbuf, int *kind, int *neg,
                         size_t *ndig, long long *exp)
{
    char t[64];
    size_t m = 0;
    const char *p = s, *e = s + n;
    *neg = 0;
    *kind = 0;
    *exp = 0;
    *ndig = 0;
    /* compact copy without underscores for the special words */
    if (p < e && (*p == '+' || *p == '-')) {
        *neg = *p == '-';
        p++;
    }
    for (const char *q = p; q < e && m < sizeof t - 1; q++)
        if (*q != '_')
            t[m++] = (char)tolower((unsigned char)*q);
    t[m] = 0;
    if (strcmp(t, "inf") == 0 || strcmp(t, "infinity") == 0) {
        *kind = 1;
        return 0;
    }
    if (strncmp(t, "nan", 3) == 0 || strncmp(t, "snan", 4) == 0) {
        size_t k = t[0] == 's' ? 4 : 3;
        for (size_t i = k; i < m; i++)
            if (!isdigit((unsigned char)t[i]))
                return -1;
        if (m == sizeof t - 1)
            return -1;
        *kind = t[0] == 's' ? 3 : 2;
        return 0;
    }
    size_t nd = 0, nfrac = 0;
    int seen_digit = 0, in_frac = 0;
    for (; p < e; p++) {
        if (*p == '_')
            continue;
        if (isdigit((unsigned char)*p)) {
            seen_digit = 1;
            if (nd > 0 || *p != '0')
                dbuf[nd++] = *p;
            if (in_frac)
                nfrac++;
        } else if (*p == '.' && !in_frac) {
            in_frac = 1;
        } else {
            break;
        }
    }
    if (!seen_digit)
        return -1;
    long long x = 0;
    if (p < e) {
        if (*p != 'e' && *p != 'E')
            return -1;
        p++;
        int eneg = 0;
        while (p < e && *p == '_')
            p++;
        if (p < e && (*p == '+' || *p == '-')) {
            eneg = *p == '-';
            p++;
        }
        int ed = 0;
        for (; p < e; p++) {
            if (*p == '_')
                continue;
            if (!isdigit((unsigned char)*p))
                return -1;
            if (x > 99999999999999999LL)
                return -1; /* beyond the decimal context's exponent range */
            x = x * 10 + (*p - '0');
            ed++;
        }
        if (!ed)
            return -1;
        if (eneg)
            x = -x;
    }
    x -= (long long)nfrac;
    while (nd > 0 && dbuf[nd - 1] == '0') {
        nd--;
        x++;
    }
    *ndig = nd;
    *exp = nd ? x : 0;
    return 0;
}

int code_decimal_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    char *da = malloc(alen + 1), *db = malloc(blen + 1);
    int r = -1;
    if (!da || !db)
        goto out;
    int ka, kb, na, nb;
    size_t la, lb;
    long long ea, eb;
    if (decimal_parse(a, alen, da, &ka, &na, &la, &ea) ||
        decimal_parse(b, blen, db, &kb, &nb, &lb, &eb))
        goto out;
    if (ka >= 2 || kb >= 2)
        r = 0; /* NaN never equals (sNaN raises; upstream counts it unequal) */
    else if (ka != kb)
        r = 0;
    else if (ka == 1)
        r = na == nb;
    else if (la == 0 || lb == 0)
        r = la == 0 && lb == 0; /* 0 == -0 */
    else
        r = na == nb && la == lb && ea == eb && memcmp(da, db, la) == 0;
out:
    free(da);
    free(db);
    return r;
}

/* Next whitespace-separated token of [*p, e); 0 at the end. */
static int next_token(const unsigned char **p, const unsigned char *e, const unsigned char **tb,
                      const unsigned char **te)
{
    size_t k;
    while (*p < e && (k = py_space(*p, e)) > 0)
        *p += k;
    if (*p >= e)
        return 0;
    *tb = *p;
    while (*p < e && py_space(*p, e) == 0)
        (*p)++;
    *te = *p;
    return 1;
}

/* One line pair of grade_stdio: equal, or both all-Decimal and equal. */
static int line_equal(const unsigned char *a, const unsigned char *ae, const unsigned char *b,
                      const unsigned char *be)
{
    if (ae - a == be - b && memcmp(a, b, (size_t)(ae - a)) == 0)
        return 1;
    const unsigned char *pa = a, *pb = b, *ta, *tae, *tb, *tbe;
    /* every token of each line must convert (checked before comparing) */
    const unsigned char *q = a;
    while (next_token(&q, ae, &ta, &tae))
        if (code_decimal_equal((const char *)ta, (size_t)(tae - ta), "0", 1) < 0)
            return 0;
    q = b;
    while (next_token(&q, be, &tb, &tbe))
        if (code_decimal_equal((const char *)tb, (size_t)(tbe - tb), "0", 1) < 0)
            return 0;
    for (;;) {
        int ga = next_token(&pa, ae, &ta, &tae), gb = next_token(&pb, be, &tb, &tbe);
        if (!ga || !gb)
            return ga == gb;
        if (code_decimal_equal((const char *)ta, (size_t)(tae - ta), (const char *)tb,
                               (size_t)(tbe - tb)) != 1)
            return 0;
    }
}

int code_stdout_equal(const char *got, size_t got_len, const char *want, size_t want_len)
{
    const unsigned char *a = (const unsigned char *)got, *ae = a + got_len;
    const unsigned char *b = (const unsigned char *)want, *be = b + want_len;
    py_strip(&a, &ae);
    py_strip(&b, &be);
    for (;;) {
        const unsigned char *na = memchr(a, '\n', (size_t)(ae - a));
        const unsigned char *nb = memchr(b, '\n', (size_t)(be - b));
        const unsigned char *la = a, *lae = na ? na : ae, *lb = b, *lbe = nb ? nb : be;
        py_strip(&la, &lae);
        py_strip(&lb, &lbe);
        if (!line_equal(la, lae, lb, lbe))
            return 0;
        if (!na || !nb)
            return !na && !nb; /* line counts must match */
        a = na + 1;
        b = nb + 1;
    }
}

/* ------------------------------------------------------------------ */
/* JSON values with Python == semantics                                 */

typedef enum { JV_NULL, JV_BOOL, JV_INT, JV_FLOAT, JV_STR, JV_LIST, JV_DICT } jv_kind;

typedef struct jv {
    jv_kind kind;
    int b;             /* bool */
    char *s;           /* string bytes (unescaped) or number text */
    size_t slen;
    double f;
    struct jv *items;  /* list items, or dict values */
    char **keys;       /* dict keys (unescaped, NUL-terminated) */
    size_t *klens;
    size_t n;
} jv;

static void jv_free(jv *v)
{
    free(v->s);
    for (size_t i = 0; i < v->n; i++) {
        if (v->items)
            jv_free(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->klens);
}

typedef struct {
    const char *p, *e;
    int depth;
} jparser;

static void jskip(jparser *j)
{
    while (j->p < j->e && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int put_utf8(char *o, size_t *n, unsigned cp)
{
    if (cp < 0x80) {
        o[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        o[(*n)++] = (char)(0xc0 | (cp >> 6));
        o[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        o[(*n)++] = (char)(0xe0 | (cp >> 12));
        o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        o[(*n)++] = (char)(0xf0 | (cp >> 18));
        o[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[(*n)++] = (char)(0x80 | (cp & 0x3f));
    }
    return 0;
}

static int hex4(const char *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        *v = *v * 16 + (unsigned)d;
    }
    return 0;
}

static int jstring(jparser *j, char **out, size_t *olen)
{
    j->p++; /* the quote */
    const char *q = j->p;
    while (q < j->e && *q != '"')
        q += *q == '\\' ? 2 : 1;
    if (q >= j->e)
        return -1;
    char *o = malloc((size_t)(q - j->p) * 2 + 1);
    if (!o)
        return -1;
    size_t n = 0;
    while (j->p < q) {
        char c = *j->p++;
        if (c != '\\') {
            o[n++] = c;
            continue;
        }
        c = *j->p++;
        switch (c) {
        case 'n': o[n++] = '\n'; break;
        case 't': o[n++] = '\t'; break;
        case 'r': o[n++] = '\r'; break;
        case 'b': o[n++] = '\b'; break;
        case 'f': o[n++] = '\f'; break;
        case '/': o[n++] = '/'; break;
        case '\\': o[n++] = '\\'; break;
        case '"': o[n++] = '"'; break;
        case 'u': {
            unsigned cp;
            if (q - j->p < 4 || hex4(j->p, &cp))
                goto bad;
            j->p += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && q - j->p >= 6 && j->p[0] == '\\' &&
                j->p[1] == 'u') {
                unsigned lo;
                if (!hex4(j->p + 2, &lo) && lo >= 0xdc00 && lo < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    j->p += 6;
                }
            }
            put_utf8(o, &n, cp);
            break;
        }
        default: goto bad;
        }
    }
    j->p = q + 1;
    o[n] = 0;
    *out = o;
    *olen = n;
    return 0;
bad:
    free(o);
    return -1;
}

static int jvalue(jparser *j, jv *v)
{
    memset(v, 0, sizeof *v);
    jskip(j);
    if (j->p >= j->e || ++j->depth > 2000)
        return -1;
    const char *p = j->p;
    size_t left = (size_t)(j->e - p);
    int rc = 0;
    if (*p == '"') {
        v->kind = JV_STR;
        rc = jstring(j, &v->s, &v->slen);
    } else if (*p == '[' || *p == '{') {
        int dict = *p == '{';
        v->kind = dict ? JV_DICT : JV_LIST;
        j->p++;
        size_t cap = 0;
        jskip(j);
        if (j->p < j->e && *j->p == (dict ? '}' : ']')) {
            j->p++;
        } else {
            for (;;) {
                if (v->n == cap) {
                    cap = cap ? cap * 2 : 4;
                    jv *ni = realloc(v->items, cap * sizeof *ni);
                    if (!ni)
                        return -1;
                    v->items = ni;
                    if (dict) {
                        char **nk = realloc(v->keys, cap * sizeof *nk);
                        if (!nk)
                            return -1;
                        v->keys = nk;
                        size_t *nl = realloc(v->klens, cap * sizeof *nl);
                        if (!nl)
                            return -1;
                        v->klens = nl;
                    }
                }
                if (dict) {
                    jskip(j);
                    v->keys[v->n] = NULL;
                    memset(&v->items[v->n], 0, sizeof v->items[0]);
                    if (j->p >= j->e || *j->p != '"') {
                        return -1;
                    }
                    if (jstring(j, &v->keys[v->n], &v->klens[v->n])) {
                        v->keys[v->n] = NULL;
                        return -1;
                    }
                    v->n++; /* owned now; value filled below */
                    jskip(j);
                    if (j->p >= j->e || *j->p != ':')
                        return -1;
                    j->p++;
                    if (jvalue(j, &v->items[v->n - 1]))
                        return -1;
                } else {
                    v->n++;
                    if (jvalue(j, &v->items[v->n - 1]))
                        return -1;
                }
                jskip(j);
                if (j->p < j->e && *j->p == ',') {
                    j->p++;
                    continue;
                }
                if (j->p < j->e && *j->p == (dict ? '}' : ']')) {
                    j->p++;
                    break;
                }
                return -1;
            }
        }
    } else if (left >= 4 && memcmp(p, "true", 4) == 0) {
        v->kind = JV_BOOL;
        v->b = 1;
        j->p += 4;
    } else if (left >= 5 && memcmp(p, "false", 5) == 0) {
        v->kind = JV_BOOL;
        j->p += 5;
    } else if (left >= 4 && memcmp(p, "null", 4) == 0) {
        v->kind = JV_NULL;
        j->p += 4;
    } else if (left >= 3 && memcmp(p, "NaN", 3) == 0) {
        v->kind = JV_FLOAT;
        v->f = NAN;
        j->p += 3;
    } else if (left >= 8 && memcmp(p, "Infinity", 8) == 0) {
        v->kind = JV_FLOAT;
        v->f = INFINITY;
        j->p += 8;
    } else if (left >= 9 && memcmp(p, "-Infinity", 9) == 0) {
        v->kind = JV_FLOAT;
        v->f = -INFINITY;
        j->p += 9;
    } else if (*p == '-' || isdigit((unsigned char)*p)) {
        const char *q = p + (*p == '-');
        int isf = 0;
        if (q >= j->e || !isdigit((unsigned char)*q))
            return -1;
        while (q < j->e && isdigit((unsigned char)*q))
            q++;
        if (q < j->e && *q == '.') {
            isf = 1;
            q++;
            if (q >= j->e || !isdigit((unsigned char)*q))
                return -1;
            while (q < j->e && isdigit((unsigned char)*q))
                q++;
        }
        if (q < j->e && (*q == 'e' || *q == 'E')) {
            isf = 1;
            q++;
            if (q < j->e && (*q == '+' || *q == '-'))
                q++;
            if (q >= j->e || !isdigit((unsigned char)*q))
                return -1;
            while (q < j->e && isdigit((unsigned char)*q))
                q++;
        }
        v->slen = (size_t)(q - p);
        v->s = malloc(v->slen + 1);
        if (!v->s)
            return -1;
        memcpy(v->s, p, v->slen);
        v->s[v->slen] = 0;
        v->kind = isf ? JV_FLOAT : JV_INT;
        if (isf)
            v->f = strtod(v->s, NULL);
        j->p = q;
    } else {
        rc = -1;
    }
    j->depth--;
    return rc;
}

static int jparse(const char *s, size_t n, jv *v)
{
    jparser j = {s, s + n, 0};
    if (jvalue(&j, v)) {
        jv_free(v);
        return -1;
    }
    jskip(&j);
    if (j.p != j.e) {
        jv_free(v);
        return -1;
    }
    return 0;
}

/* Integer text (optional '-', digits) → sign and digits without leading zeros. */
static void int_norm(const char *s, int *neg, const char **d, size_t *n)
{
    *neg = *s == '-';
    if (*neg)
        s++;
    while (*s == '0' && s[1])
        s++;
    *d = s;
    *n = strlen(s);
    if (*n == 1 && *s == '0')
        *neg = 0;
}

/* Python int == float: exact. */
static int int_eq_float(const char *itext, double f)
{
    if (!isfinite(f) || f != floor(f))
        return 0;
    char buf[400];
    snprintf(buf, sizeof buf, "%.0f", f); /* exact for integral doubles */
    int n1, n2;
    const char *d1, *d2;
    size_t l1, l2;
    int_norm(itext, &n1, &d1, &l1);
    int_norm(buf, &n2, &d2, &l2);
    return n1 == n2 && l1 == l2 && memcmp(d1, d2, l1) == 0;
}

/* numeric view: bool → int text "1"/"0" */
static int jv_numeric(const jv *v, const char **itext, double *f, int *isf)
{
    if (v->kind == JV_BOOL) {
        *itext = v->b ? "1" : "0";
        *isf = 0;
        return 1;
    }
    if (v->kind == JV_INT) {
        *itext = v->s;
        *isf = 0;
        return 1;
    }
    if (v->kind == JV_FLOAT) {
        *f = v->f;
        *isf = 1;
        return 1;
    }
    return 0;
}

static int jv_equal(const jv *a, const jv *b)
{
    const char *ia = NULL, *ib = NULL;
    double fa = 0, fb = 0;
    int xa, xb;
    if (jv_numeric(a, &ia, &fa, &xa) && jv_numeric(b, &ib, &fb, &xb)) {
        if (xa && xb)
            return fa == fb;
        if (xa)
            return int_eq_float(ib, fa);
        if (xb)
            return int_eq_float(ia, fb);
        int n1, n2;
        const char *d1, *d2;
        size_t l1, l2;
        int_norm(ia, &n1, &d1, &l1);
        int_norm(ib, &n2, &d2, &l2);
        return n1 == n2 && l1 == l2 && memcmp(d1, d2, l1) == 0;
    }
    if (a->kind != b->kind)
        return 0;
    switch (a->kind) {
    case JV_NULL: return 1;
    case JV_STR: return a->slen == b->slen && memcmp(a->s, b->s, a->slen) == 0;
    case JV_LIST:
        if (a->n != b->n)
            return 0;
        for (size_t i = 0; i < a->n; i++)
            if (!jv_equal(&a->items[i], &b->items[i]))
                return 0;
        return 1;
    case JV_DICT: {
        /* json.loads keeps the last of duplicate keys; compare key sets */
        size_t na = 0, nb = 0;
        for (size_t i = 0; i < a->n; i++) {
            int last = 1;
            for (size_t k = i + 1; k < a->n; k++)
                if (a->klens[k] == a->klens[i] && memcmp(a->keys[k], a->keys[i], a->klens[i]) == 0)
                    last = 0;
            if (!last)
                continue;
            na++;
            size_t found = (size_t)-1;
            for (size_t k = 0; k < b->n; k++)
                if (b->klens[k] == a->klens[i] && memcmp(b->keys[k], a->keys[i], a->klens[i]) == 0)
                    found = k; /* the last one */
            if (found == (size_t)-1 || !jv_equal(&a->items[i], &b->items[found]))
                return 0;
        }
        for (size_t i = 0; i < b->n; i++) {
            int last = 1;
            for (size_t k = i + 1; k < b->n; k++)
                if (b->klens[k] == b->klens[i] && memcmp(b->keys[k], b->keys[i], b->klens[i]) == 0)
                    last = 0;
            nb += last;
        }
        return na == nb;
    }
    default: return 0;
    }
}

int code_json_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    jv va, vb;
    if (jparse(a, alen, &va))
        return -1;
    if (jparse(b, blen, &vb)) {
        jv_free(&va);
        return -1;
    }
    int r = jv_equal(&va, &vb);
    jv_free(&va);
    jv_free(&vb);
    return r;
}

/* ------------------------------------------------------------------ */
/* running tests                                                        */

static double test_limit(const code_problem *p, const code_options *o)
{
    if (o->timeout_s > 0)
        return o->timeout_s;
    if (p->time_limit_s > 0)
        return p->time_limit_s;
    return p->fmt == CODE_FMT_ASSERT ? 3.0 : 6.0;
}

static const char *mode_name(code_format f)
{
    return f == CODE_FMT_STDIN ? "stdin" : f == CODE_FMT_FUNC ? "func" : "assert";
}

/* The stdin payload of test i (malloc'd, length in *len). */
static char *payload(const code_problem *p, int i, const char *token, size_t *len)
{
    const code_test *t = &p->tests[i];
    if (p->fmt == CODE_FMT_STDIN) {
        *len = strlen(t->input);
        return strdup(t->input);
    }
    char *r = concat3(token, "\n", p->fmt == CODE_FMT_FUNC ? t->input : t->code);
    *len = r ? strlen(r) : 0;
    return r;
}

/* Short printable excerpt of s for messages. */
static void excerpt(char *out, size_t cap, const char *s, size_t n, size_t max)
{
    size_t o = 0;
    if (cap == 0)
        return;
    for (size_t i = 0; i < n && i < max && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (c < 0x20 || c == 0x7f) {
            out[o++] = '?';
        } else {
            out[o++] = (char)c;
        }
    }
    if (n > max && o + 4 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = 0;
}

/* Last non-empty line of stderr, for details. */
static void last_line(char *out, size_t cap, const char *s, size_t n)
{
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r'))
        n--;
    size_t b = n;
    while (b > 0 && s[b - 1] != '\n')
        b--;
    excerpt(out, cap, s + b, n - b, 200);
}

/* Verdict of one finished test from the sandbox outcome and its output. */
static code_verdict judge(const code_problem *p, int i, const char *token, const sbx_result *r,
                          char *detail, size_t dcap)
{
    char line[256];
    detail[0] = 0;
    switch (r->outcome) {
    case SBX_ERROR:
        last_line(line, sizeof line, r->err, r->err_len);
        snprintf(detail, dcap, "%s", line);
        return CODE_SANDBOX_ERROR;
    case SBX_TIMEOUT: return CODE_TIMEOUT;
    case SBX_OUTPUT_LIMIT: return CODE_OUTPUT_LIMIT;
    case SBX_SIGNALED:
        if (r->code == 24 /* SIGXCPU */)
            return CODE_TIMEOUT;
        snprintf(detail, dcap, "killed by signal %d", r->code);
        return r->code == 9 ? CODE_MEMORY_LIMIT : CODE_RUNTIME_ERROR;
    case SBX_EXITED: break;
    }
    last_line(line, sizeof line, r->err, r->err_len);
    if (r->code == EXIT_COMPILE) {
        snprintf(detail, dcap, "%s", line);
        return CODE_COMPILE_ERROR;
    }
    if (r->code == EXIT_MEMORY || (r->code != 0 && strstr(line, "MemoryError") == line)) {
        snprintf(detail, dcap, "MemoryError");
        return CODE_MEMORY_LIMIT;
    }
    if (r->code == EXIT_UNSERIALISABLE && p->fmt == CODE_FMT_FUNC) {
        snprintf(detail, dcap, "%s", line);
        return CODE_WRONG_ANSWER;
    }
    if (r->code != 0) {
        snprintf(detail, dcap, "exit %d: %s", r->code, line);
        return CODE_RUNTIME_ERROR;
    }
    const code_test *t = &p->tests[i];
    char got[120], want[120];
    if (p->fmt == CODE_FMT_STDIN) {
        if (code_stdout_equal(r->out, r->out_len, t->output, strlen(t->output)))
            return CODE_PASS;
        excerpt(got, sizeof got, r->out, r->out_len, 80);
        excerpt(want, sizeof want, t->output, strlen(t->output), 80);
        snprintf(detail, dcap, "expected '%s', got '%s'", want, got);
        return CODE_WRONG_ANSWER;
    }
    if (p->fmt == CODE_FMT_FUNC) {
        size_t n = r->out_len;
        while (n > 0 && r->out[n - 1] == '\n')
            n--;
        if (n == 0) {
            snprintf(detail, dcap, "no result (the program ended before returning)");
            return CODE_RUNTIME_ERROR;
        }
        int eq = code_json_equal(r->out, n, t->output, strlen(t->output));
        if (eq == 1)
            return CODE_PASS;
        excerpt(got, sizeof got, r->out, n, 80);
        excerpt(want, sizeof want, t->output, strlen(t->output), 80);
        snprintf(detail, dcap, "expected %s, got %s%s", want, got,
                 eq < 0 ? " (unparsable expected value)" : "");
        return CODE_WRONG_ANSWER;
    }
    /* assert_code: the driver writes the token once the test code finished */
    size_t tl = strlen(token);
    if (r->out_len == tl + 1 && memcmp(r->out, token, tl) == 0 && r->out[tl] == '\n')
        return CODE_PASS;
    snprintf(detail, dcap, "the test did not finish");
    return CODE_RUNTIME_ERROR;
}

static void make_token(char *tok, size_t cap)
{
    unsigned char rnd[16];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        uint64_t x = (uint64_t)now_s() * 6364136223846793005ULL ^ (uint64_t)getpid();
        memcpy(rnd, &x, 8);
        memcpy(rnd + 8, &x, 8);
    }
    static const char hx[] = "0123456789abcdef";
    size_t o = 0;
    memcpy(tok, "ZEVAL-OK-", 9);
    o = 9;
    for (size_t i = 0; i < sizeof rnd && o + 2 < cap; i++) {
        tok[o++] = hx[rnd[i] >> 4];
        tok[o++] = hx[rnd[i] & 15];
    }
    tok[o] = 0;
}

/* Parses a warm reply "R outcome code outlen errlen\n" + out + err. */
static int warm_reply(sbx_session *s, sbx_result *r)
{
    char line[256], oc[32];
    int code;
    size_t ol, el;
    memset(r, 0, sizeof *r);
    if (sbx_session_readline(s, line, sizeof line))
        return -1;
    if (sscanf(line, "R %31s %d %zu %zu", oc, &code, &ol, &el) != 4)
        return -1;
    if (ol > SBX_OUT_CAP + 1 || el > SBX_ERR_CAP * 4)
        return -1;
    r->out = malloc(ol + 1);
    r->err = malloc(el + 1);
    if (!r->out || !r->err || sbx_session_read(s, r->out, ol) || sbx_session_read(s, r->err, el)) {
        sbx_result_free(r);
        return -1;
    }
    r->out[ol] = 0;
    r->err[el] = 0;
    r->out_len = ol;
    r->err_len = el;
    r->code = code;
    if (strcmp(oc, "exit") == 0)
        r->outcome = SBX_EXITED;
    else if (strcmp(oc, "signal") == 0)
        r->outcome = SBX_SIGNALED;
    else if (strcmp(oc, "timeout") == 0)
        r->outcome = SBX_TIMEOUT;
    else if (strcmp(oc, "output_limit") == 0)
        r->outcome = SBX_OUTPUT_LIMIT;
    else
        return sbx_result_free(r), -1;
    return 0;
}

/* A warm server: one sandboxed driver.py serve, reused across problems by
 * one pool worker (started lazily, restarted after it dies). */
typedef struct {
    sbx_session *s;
    size_t as_bytes; /* its RLIMIT_AS: children may only lower it */
} warm_server;

#define AS_DEFAULT_BYTES ((size_t)4 << 30)

static void warm_close(warm_server *w)
{
    if (w->s)
        sbx_session_close(w->s, NULL);
    w->s = NULL;
}

/* Runs test i on the warm server (starting one if needed).  0 with *r
 * filled (a dead server becomes a verdict), or -1 (harness failure). */
static int warm_test(warm_server *w, const code_problem *p, const char *prog, const char *pl,
                     size_t plen, double limit, const code_options *o, code_result *res,
                     sbx_result *r, char *err, size_t errlen)
{
    size_t as = p->memory_mb > 0 ? (size_t)(p->memory_mb * 1048576.0) : AS_DEFAULT_BYTES;
    if (w->s && as > w->as_bytes)
        warm_close(w); /* a problem allowed more memory than this server has */
    int fresh = 0;
    if (!w->s) {
        sbx_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.python = o->python;
        cfg.unsafe = o->unsafe;
        cfg.tag = o->tag;
        cfg.as_bytes = as > AS_DEFAULT_BYTES ? as : AS_DEFAULT_BYTES;
        cfg.wall_s = 60;
        cfg.cpu_s = 1e6; /* its own CPU time only: each child sets its own limit */
        sbx_file files[1] = {{"driver.py", code_driver_py, strlen(code_driver_py)}};
        const char *argv[] = {"python3", "/sbx/driver.py", "serve",
                              o->unsafe ? "--no-ns" : NULL, NULL};
        if (sbx_session_open(&cfg, argv, files, 1, &w->s, err, errlen))
            return -1;
        w->as_bytes = cfg.as_bytes;
        res->servers_started++;
        fresh = 1;
    }
    /* the server enforces the limit; ours only catches a stuck server */
    sbx_session_deadline(w->s, limit + (fresh ? 15.0 : 5.0));
    const char *func = p->fmt == CODE_FMT_FUNC ? p->entry_point : "-";
    size_t prl = strlen(prog);
    char hdr[512];
    int hl = snprintf(hdr, sizeof hdr, "T %s %s %ld %ld %zu %zu %zu %zu\n", mode_name(p->fmt),
                      func, (long)(limit * 1000.0 + 0.5), (long)(limit + 1.999), as,
                      (size_t)SBX_OUT_CAP, prl, plen);
    if (hl > 0 && (size_t)hl < sizeof hdr && sbx_session_write(w->s, hdr, (size_t)hl) == 0 &&
        sbx_session_write(w->s, prog, prl) == 0 && sbx_session_write(w->s, pl, plen) == 0 &&
        warm_reply(w->s, r) == 0)
        return 0;
    /* The server is gone or broke the protocol: killed or corrupted by the
     * test (its children can signal it), or it could not be set up.  Kill
     * what is left; the next test gets a fresh server. */
    sbx_result fin;
    sbx_session_close(w->s, &fin);
    w->s = NULL;
    *r = fin;
    if (fin.outcome != SBX_ERROR && fin.outcome != SBX_TIMEOUT) {
        static const char msg[] = "the warm server died during the test";
        r->outcome = SBX_EXITED;
        r->code = 1;
        free(r->err);
        r->err = strdup(msg);
        r->err_len = r->err ? strlen(msg) : 0;
    }
    return 0;
}

static int grade_one(const code_problem *p, const char *response, const code_options *o,
                     warm_server *w, code_result *res, char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    double t0 = now_s();
    res->total_tests = p->ntests;
    char *code = code_extract(response ? response : "");
    if (!code) {
        res->verdict = CODE_NO_CODE;
        snprintf(res->first_failure, sizeof res->first_failure, "no program in the response");
        res->time_ms = (now_s() - t0) * 1000.0;
        return 0;
    }
    char *prog = code_build_program(p, code);
    free(code);
    if (!prog) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char token[64];
    make_token(token, sizeof token);
    double limit = test_limit(p, o);
    sbx_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.python = o->python;
    cfg.unsafe = o->unsafe;
    cfg.tag = o->tag;
    cfg.as_bytes = p->memory_mb > 0 ? (size_t)(p->memory_mb * 1048576.0) : 0;
    sbx_file files[2] = {{"driver.py", code_driver_py, strlen(code_driver_py)},
                         {"prog.py", prog, strlen(prog)}};
    const char *mode = mode_name(p->fmt);
    const char *func = p->fmt == CODE_FMT_FUNC ? p->entry_point : NULL;
    res->verdict = CODE_PASS;
    int rc = 0;
    for (int i = 0; i < p->ntests; i++) {
        size_t plen;
        char *pl = payload(p, i, token, &plen);
        if (!pl) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }
        sbx_result r;
        char detail[400];
        if (o->warm) {
            rc = warm_test(w, p, prog, pl, plen, limit, o, res, &r, err, errlen);
        } else {
            cfg.wall_s = limit + 0.5;
            cfg.cpu_s = limit + 1.0;
            const char *argv[] = {"python3", "/sbx/driver.py", "one", mode, func, NULL};
            rc = sbx_run(&cfg, argv, files, 2, pl, plen, &r, err, errlen);
        }
        free(pl);
        if (rc)
            break;
        code_verdict v = judge(p, i, token, &r, detail, sizeof detail);
        sbx_result_free(&r);
        res->tests_run++;
        if (v == CODE_PASS) {
            res->passed_tests++;
        } else if (res->verdict == CODE_PASS) {
            res->verdict = v;
            snprintf(res->first_failure, sizeof res->first_failure, "test %d: %s%s%s", i + 1,
                     code_verdict_name(v), detail[0] ? ": " : "", detail);
        }
        if (v != CODE_PASS && !o->all_tests)
            break;
        if (v == CODE_SANDBOX_ERROR)
            break; /* the next test would fail the same way */
    }
    free(prog);
    res->time_ms = (now_s() - t0) * 1000.0;
    return rc;
}

int code_grade(const code_problem *p, const char *response, const code_options *o,
               code_result *res, char *err, size_t errlen)
{
    warm_server w = {NULL, 0};
    int rc = grade_one(p, response, o, &w, res, err, errlen);
    warm_close(&w);
    return rc;
}

/* ------------------------------------------------------------------ */
/* the pool                                                             */

typedef struct {
    const code_problem *const *problems;
    const char *const *responses;
    int n;
    const code_options *o;
    code_result *results;
    pthread_mutex_t mu;
    int next;
    int failed;
    char err[256];
} pool;

static void *pool_worker(void *arg)
{
    pool *pl = arg;
    warm_server w = {NULL, 0}; /* this worker's, for all its problems */
    for (;;) {
        pthread_mutex_lock(&pl->mu);
        int i = pl->failed ? pl->n : pl->next++;
        pthread_mutex_unlock(&pl->mu);
        if (i >= pl->n) {
            warm_close(&w);
            return NULL;
        }
        char e[256];
        if (grade_one(pl->problems[i], pl->responses[i], pl->o, &w, &pl->results[i], e,
                      sizeof e)) {
            pthread_mutex_lock(&pl->mu);
            if (!pl->failed)
                snprintf(pl->err, sizeof pl->err, "%s", e);
            pl->failed = 1;
            pthread_mutex_unlock(&pl->mu);
        }
    }
}

int code_grade_many(const code_problem *const *problems, const char *const *responses, int n,
                    const code_options *o, int jobs, code_result *results, char *err,
                    size_t errlen)
{
    if (jobs <= 0)
        jobs = get_nprocs();
    if (jobs < 1)
        jobs = 1;
    if (jobs > n)
        jobs = n > 0 ? n : 1;
    if (jobs > 256)
        jobs = 256;
    pool pl = {problems, responses, n, o, results, PTHREAD_MUTEX_INITIALIZER, 0, 0, ""};
    pthread_t th[256];
    int started = 0;
    for (int i = 0; i < jobs; i++) {
        if (pthread_create(&th[i], NULL, pool_worker, &pl) != 0)
            break;
        started++;
    }
    if (started == 0)
        pool_worker(&pl);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&pl.mu);
    if (pl.failed) {
        snprintf(err, errlen, "%s", pl.err);
        return -1;
    }
    return 0;
}
