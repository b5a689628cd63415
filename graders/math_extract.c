/*
 * math_extract.c — answer extraction (grading.md A.3 Steps 0-2) and text
 * normalization (Step 3 items 1-7, 9-10) for math responses.
 *
 * Design.  Extraction is a handful of linear scans, no regex over the whole
 * response: the last `</think>` is found by a backward memrchr hop, the last
 * `\boxed`/`\fbox` likewise; brace matching is a byte loop.  The chosen box is
 * the *outermost complete box containing the last occurrence* of a box
 * command: for `\boxed{\boxed{5}}` that is the outer box; for
 * `\boxed{oops ... \boxed{5}` (an earlier box that never closes) it is
 * `\boxed{5}`.  Finding enclosing boxes walks backwards (unmatched `{`) and
 * forwards (unmatched `}`) at the same time, so the cost stays linear even
 * for a megabyte of nested `\boxed{`.
 *
 * The marker fallback (Step 2) searches each marker's keyword backwards
 * (case-insensitively) and confirms it with a JIT-compiled, compile-time
 * anchored PCRE2 pattern at that position; the first hit from the end is the
 * pattern's last match.
 *
 * Normalization is a pipeline of passes, each one linear in its input:
 * unicode mapping, a LaTeX command pass (removals, renames, unwrapping,
 * `\text{}`), `\frac12`/`\sqrt2` argument repair, trailing units and dots
 * (PCRE2 on the tail), `\approx`, `=`, digit grouping (PCRE2).  Brace
 * matching inside the command pass uses a precomputed match table, so
 * nested `\text{` cannot make it quadratic.
 *
 * Decisions on points grading.md leaves open (also in math_extract.h):
 * - The final-answer line is the physical line on which the chosen box
 *   *starts*; the boxes on it are the complete, top-level boxes that start
 *   between that line's start and the chosen box (a box may contain
 *   newlines; a box that starts on an earlier line is not on the line).
 *   Empty boxes on the line are not listed.
 * - `\boxed` followed by whitespace and `{` is the brace form.  `\boxed`
 *   followed by nothing but whitespace up to the end of the text is a
 *   truncated box.
 * - `\%` and `%` are deleted like a unit: `25\%` is 25, with no scaling.
 * - `\approx`: the part before it if non-empty, else the value after it,
 *   which Step 4 then judges exactly (a decimal for an irrational gold fails).
 * - `\text{and}`/`\text{or}` become the list separators " and "/" or ".
 */
#define _GNU_SOURCE
#define PCRE2_CODE_UNIT_WIDTH 8
#include "math_extract.h"

#include <pcre2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = 0;
    return p;
}

/* Trims ASCII whitespace: adjusts *s and *n in place. */
static void trim(const char **s, size_t *n)
{
    while (*n && is_space((unsigned char)**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && is_space((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

/* Length of s[0..n) without trailing ASCII whitespace. */
static size_t rtrim(const char *s, size_t n)
{
    while (n && is_space((unsigned char)s[n - 1]))
        n--;
    return n;
}

/* A growable output string; oom is sticky. */
typedef struct {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t k)
{
    if (b->oom || k == 0)
        return;
    if (b->n + k + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 64;
        while (c < b->n + k + 1) {
            if (c > SIZE_MAX / 2) {
                b->oom = 1;
                return;
            }
            c *= 2;
        }
        char *q = realloc(b->p, c);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = c;
    }
    memcpy(b->p + b->n, s, k);
    b->n += k;
    b->p[b->n] = 0;
}

static void sb_putc(sbuf *b, char c)
{
    sb_put(b, &c, 1);
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* The finished string (malloc'd, "" when nothing was written), or NULL on
 * allocation failure. */
static char *sb_take(sbuf *b)
{
    if (b->oom) {
        free(b->p);
        b->p = NULL;
        return NULL;
    }
    if (!b->p)
        return dup_n("", 0);
    char *p = b->p;
    b->p = NULL;
    return p;
}

/* A stack of size_t (brace depths, positions). */
typedef struct {
    size_t *v;
    size_t n, cap;
    int oom;
} zstack;

static void zs_push(zstack *s, size_t x)
{
    if (s->oom)
        return;
    if (s->n == s->cap) {
        size_t c = s->cap ? s->cap * 2 : 16;
        size_t *q = realloc(s->v, c * sizeof *q);
        if (!q) {
            s->oom = 1;
            return;
        }
        s->v = q;
        s->cap = c;
    }
    s->v[s->n++] = x;
}

/* A growable array of malloc'd strings; oom is sticky. */
typedef struct {
    char **v;
    size_t n, cap;
    int oom;
} strvec;

/* Appends s (taking it; NULL means an allocation failed). */
static int sv_add(strvec *sv, char *s)
{
    if (!s || sv->oom) {
        free(s);
        sv->oom = 1;
        return -1;
    }
    if (sv->n == sv->cap) {
        size_t c = sv->cap ? sv->cap * 2 : 4;
        char **q = realloc(sv->v, c * sizeof *q);
        if (!q) {
            free(s);
            sv->oom = 1;
            return -1;
        }
        sv->v = q;
        sv->cap = c;
    }
    sv->v[sv->n++] = s;
    return 0;
}

/* Length of the LaTeX command name (letters) at s[i..n). */
static size_t name_len(const char *s, size_t n, size_t i)
{
    size_t k = i;
    while (k < n && is_alpha((unsigned char)s[k]))
        k++;
    return k - i;
}

static int name_in(const char *nm, size_t k, const char *const *list)
{
    for (; *list; list++)
        if (strlen(*list) == k && memcmp(*list, nm, k) == 0)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* PCRE2 patterns, compiled once                                       */

enum { PAT_FINAL, PAT_THE_ANSWER, PAT_ANSWER, PAT_UNITS, PAT_GROUP, PAT_GROUP_LIST, PAT_COUNT };

static const char *const pat_src[PAT_COUNT] = {
    /* Step 2, anchored at a keyword hit: `final answer` then `is` or `:`
     * within 100 characters. */
    "\\bfinal answer[\\s\\S]{0,100}?(?:\\bis\\b|:)",
    "\\bthe answer is\\b",
    /* `answer:`, `**Answer:**`, and also `**Answer**:` */
    "\\banswer(?:[ \\t]*\\*\\*)?[ \\t]*:",
    /* Item 3: unit words after a number, at the end of the answer. */
    "(?<=[0-9}])[ \\t~]*(?:(?:square|sq\\.?|cubic)[ \\t]+)?"
    "(?:units?|degrees?|deg|minutes?|mins?|seconds?|secs?|hours?|hrs?|days?|weeks?|months?|"
    "years?|cm|mm|km|m|meters?|metres?|centimeters?|millimeters?|kilometers?|inch(?:es)?|"
    "feet|foot|ft|yards?|miles?|mph|dollars?|cents?|pounds?|lbs?|kg|kilograms?|grams?|"
    "liters?|litres?|ml|percent|radians?|ways|people|students|points|sq)"
    "(?:\\^\\{?[0-9]\\}?)?[ \\t]*\\.?\\z",
    /* Item 7: digit groups, one separator kind throughout. */
    "(?<![0-9.,])[0-9]{1,3}(,|\\{,\\}| )[0-9]{3}(?:\\1[0-9]{3})*(?![0-9])(?!\\1[0-9])",
    /* For list gold only `{,}` groups digits (a plain comma separates). */
    "(?<![0-9.,])[0-9]{1,3}(\\{,\\})[0-9]{3}(?:\\1[0-9]{3})*(?![0-9])",
};

static const uint32_t pat_opt[PAT_COUNT] = {
    PCRE2_CASELESS | PCRE2_ANCHORED,
    PCRE2_CASELESS | PCRE2_ANCHORED,
    PCRE2_CASELESS | PCRE2_ANCHORED,
    PCRE2_CASELESS,
    0,
    0,
};

static pcre2_code *pat[PAT_COUNT];
static pthread_once_t pat_once = PTHREAD_ONCE_INIT;

static void pat_compile(void)
{
    for (int i = 0; i < PAT_COUNT; i++) {
        int err;
        PCRE2_SIZE off;
        pat[i] = pcre2_compile((PCRE2_SPTR)pat_src[i], PCRE2_ZERO_TERMINATED, pat_opt[i], &err,
                               &off, NULL);
        if (pat[i])
            (void)pcre2_jit_compile(pat[i], PCRE2_JIT_COMPLETE); /* interpreter if no JIT */
    }
}

static pcre2_code *get_pat(int i)
{
    pthread_once(&pat_once, pat_compile);
    return pat[i];
}

void math_extract_cleanup(void)
{
    for (int i = 0; i < PAT_COUNT; i++) {
        pcre2_code_free(pat[i]);
        pat[i] = NULL;
    }
}

/* Runs pattern i on s[0..n) from off with match data md; on a match sets
 * [*ms, *me) (and group 1 in [*g1s, *g1e) when g1s is given) and returns
 * 1. */
static int pat_match_md(int i, pcre2_match_data *md, const char *s, size_t n, size_t off,
                        size_t *ms, size_t *me, size_t *g1s, size_t *g1e)
{
    pcre2_code *re = get_pat(i);
    if (!re || !md)
        return 0;
    int rc = pcre2_match(re, (PCRE2_SPTR)s, n, off, 0, md, NULL);
    if (rc <= 0)
        return 0;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    *ms = ov[0];
    *me = ov[1];
    if (g1s) {
        *g1s = rc > 1 ? ov[2] : ov[1];
        *g1e = rc > 1 ? ov[3] : ov[1];
    }
    return 1;
}

/* The same with match data of its own. */
static int pat_match(int i, const char *s, size_t n, size_t off, size_t *ms, size_t *me,
                     size_t *g1s, size_t *g1e)
{
    pcre2_match_data *md = pcre2_match_data_create(2, NULL);
    int ok = pat_match_md(i, md, s, n, off, ms, me, g1s, g1e);
    pcre2_match_data_free(md);
    return ok;
}

const char *math_reason_name(math_reason r)
{
    switch (r) {
    case MR_OK: return "ok";
    case MR_NO_ANSWER: return "no_answer";
    case MR_TRUNCATED_BOX: return "truncated_box";
    case MR_UNCLOSED_THINK: return "unclosed_think";
    case MR_HEDGE: return "hedge";
    case MR_PARSE_ERROR: return "parse_error";
    case MR_WRONG: return "wrong";
    }
    return "unknown";
}

/* ------------------------------------------------------------------ */
/* Step 0-1: think block and boxes                                     */

/* memrchr(h, c, n) in windows of 256 bytes: as fast, and keeps
 * AddressSanitizer's interceptor (which checks the whole range on every
 * call) from making a run of hops quadratic. */
static const char *rchr(const char *h, int c, size_t n)
{
    while (n > 0) {
        size_t lo = n > 256 ? n - 256 : 0;
        const char *p = memrchr(h + lo, c, n - lo);
        if (p)
            return p;
        n = lo;
    }
    return NULL;
}

/* Last occurrence of needle in h[0..n), or NULL. */
static const char *rfind(const char *h, size_t n, const char *nd, size_t nn)
{
    if (n < nn)
        return NULL;
    size_t lim = n - nn + 1; /* candidate starts are [0, lim) */
    while (lim > 0) {
        const char *p = rchr(h, nd[0], lim);
        if (!p)
            return NULL;
        if (memcmp(p, nd, nn) == 0)
            return p;
        lim = (size_t)(p - h);
    }
    return NULL;
}

/* First occurrence of needle in h[0..n), or NULL (memchr hops: faster
 * than memmem for a needle whose first byte is rare). */
static const char *find_fwd(const char *h, size_t n, const char *nd, size_t nn)
{
    const char *p = h, *e = h + n;
    while ((size_t)(e - p) >= nn && (p = memchr(p, nd[0], (size_t)(e - p) - nn + 1)) != NULL) {
        if (memcmp(p, nd, nn) == 0)
            return p;
        p++;
    }
    return NULL;
}

/* Length of the box command (`\boxed` or `\fbox`) at t[i], or 0.  The name
 * must end there: `\boxedx` is another command. */
static size_t box_cmd(const char *t, size_t n, size_t i)
{
    size_t k;
    if (i + 6 <= n && memcmp(t + i, "\\boxed", 6) == 0)
        k = 6;
    else if (i + 5 <= n && memcmp(t + i, "\\fbox", 5) == 0)
        k = 5;
    else
        return 0;
    if (i + k < n && is_alpha((unsigned char)t[i + k]))
        return 0;
    return k;
}

/* Start of the last box command that starts before lim; 0 if none. */
static int prev_box(const char *t, size_t n, size_t lim, size_t *pos)
{
    while (lim > 0) {
        const char *q = rchr(t, '\\', lim);
        if (!q)
            return 0;
        size_t k = (size_t)(q - t);
        if (box_cmd(t, n, k)) {
            *pos = k;
            return 1;
        }
        lim = k;
    }
    return 0;
}

/* t[j] == '{': the index of its matching '}' before lim, escapes (`\{`,
 * `\}`, `\\`) skipped.  0 if it does not close. */
static int match_brace(const char *t, size_t lim, size_t j, size_t *close)
{
    size_t depth = 0;
    for (size_t i = j; i < lim; i++) {
        char c = t[i];
        if (c == '\\')
            i++;
        else if (c == '{')
            depth++;
        else if (c == '}') {
            if (--depth == 0) {
                *close = i;
                return 1;
            }
        }
    }
    return 0;
}

typedef struct {
    size_t start;      /* the backslash of the command */
    size_t cs, ce;     /* content [cs, ce) */
    size_t end;        /* first byte after the box */
    int closed;        /* 0: braces never close (or nothing follows the command) */
} box;

/* Parses the box whose command starts at t[p], within t[0..lim). */
static void parse_box(const char *t, size_t lim, size_t p, box *b)
{
    size_t j = p + box_cmd(t, lim, p);
    size_t k = j;
    b->start = p;
    b->closed = 0;
    while (k < lim && is_space((unsigned char)t[k]))
        k++;
    if (k < lim && t[k] == '{') {
        size_t c;
        if (match_brace(t, lim, k, &c)) {
            b->cs = k + 1;
            b->ce = c;
            b->end = c + 1;
            b->closed = 1;
        } else {
            b->cs = b->ce = b->end = lim;
        }
        return;
    }
    if (k >= lim) { /* `\boxed` then only whitespace: cut off */
        b->cs = b->ce = b->end = lim;
        return;
    }
    /* Space form: the next token on the same line, up to whitespace or `$`
     * (or a `}` closing a group the token did not open). */
    while (j < lim && (t[j] == ' ' || t[j] == '\t'))
        j++;
    size_t e = j, depth = 0;
    while (e < lim && !is_space((unsigned char)t[e]) && t[e] != '$') {
        if (t[e] == '\\' && e + 1 < lim && !is_space((unsigned char)t[e + 1])) {
            e += 2;
            continue;
        }
        if (t[e] == '{')
            depth++;
        else if (t[e] == '}' && depth-- == 0)
            break;
        e++;
    }
    b->cs = j;
    b->ce = e;
    b->end = e;
    b->closed = 1;
}

/* 1 if the '{' or '}' at t[i] is escaped (odd run of backslashes before). */
static int escaped(const char *t, size_t i)
{
    size_t k = 0;
    while (k < i && t[i - 1 - k] == '\\')
        k++;
    return k & 1;
}

/* The chosen box: the outermost complete box that contains the last box
 * occurrence x.  Walks back over unmatched '{' and forward over unmatched
 * '}' in step (the j-th enclosing group opens at the j-th and closes at the
 * j-th), stopping when no box command lies further back. */
static void outermost_box(const char *t, size_t n, box *x)
{
    size_t pb;
    if (!x->closed || !prev_box(t, n, x->start, &pb))
        return;
    size_t bi = x->start; /* backward cursor: next byte to look at is bi-1 */
    size_t fi = x->end;   /* forward cursor */
    long bdepth = 0, fdepth = 0;
    for (;;) {
        /* next unmatched '{' going back */
        size_t open = SIZE_MAX;
        while (bi > 0) {
            if (bi <= pb && !prev_box(t, n, bi, &pb))
                return; /* no box command before: nothing can enclose */
            size_t i = --bi;
            char c = t[i];
            if ((c != '{' && c != '}') || escaped(t, i))
                continue;
            if (c == '}')
                bdepth++;
            else if (bdepth == 0) {
                open = i;
                break;
            } else
                bdepth--;
        }
        if (open == SIZE_MAX)
            return;
        /* its closing '}' going forward */
        size_t close = SIZE_MAX;
        while (fi < n) {
            char c = t[fi];
            if (c == '\\') {
                fi += 2;
                continue;
            }
            fi++;
            if (c == '{')
                fdepth++;
            else if (c == '}') {
                if (fdepth == 0) {
                    close = fi - 1;
                    break;
                }
                fdepth--;
            }
        }
        if (close == SIZE_MAX)
            return; /* this group and all outer ones never close */
        /* is the group the argument of a box command? */
        size_t k = open;
        while (k > 0 && is_space((unsigned char)t[k - 1]))
            k--;
        size_t cmd = SIZE_MAX;
        if (k >= 6 && box_cmd(t, n, k - 6) == 6)
            cmd = k - 6;
        else if (k >= 5 && box_cmd(t, n, k - 5) == 5)
            cmd = k - 5;
        if (cmd != SIZE_MAX) {
            x->start = cmd;
            x->cs = open + 1;
            x->ce = close;
            x->end = close + 1;
            bi = cmd;
        }
    }
}

/* Box content with nested boxes unwrapped and whitespace trimmed
 * (malloc'd), or NULL on allocation failure. */
static char *unwrap_boxes(const char *s, size_t n)
{
    trim(&s, &n);
    sbuf b = {0};
    zstack drop = {0};
    size_t depth = 0;
    for (size_t i = 0; i < n;) {
        char c = s[i];
        size_t k;
        if (c == '\\' && (k = box_cmd(s, n, i)) != 0) {
            size_t j = i + k;
            while (j < n && is_space((unsigned char)s[j]))
                j++;
            if (j < n && s[j] == '{') {
                depth++;
                zs_push(&drop, depth);
                i = j + 1;
            } else
                i = j;
            continue;
        }
        if (c == '\\') {
            sb_put(&b, s + i, i + 1 < n ? 2 : 1);
            i += 2;
            continue;
        }
        if (c == '{')
            depth++;
        if (c == '}') {
            if (drop.n && drop.v[drop.n - 1] == depth) {
                drop.n--;
                depth--;
                i++;
                continue;
            }
            if (depth)
                depth--;
        }
        sb_putc(&b, c);
        i++;
    }
    free(drop.v);
    if (drop.oom)
        b.oom = 1;
    char *r = sb_take(&b);
    if (!r)
        return NULL;
    const char *q = r;
    size_t m = strlen(r);
    trim(&q, &m);
    if (q != r || m != strlen(r)) {
        memmove(r, q, m);
        r[m] = 0;
    }
    return r;
}

/* Collects the other boxes of the final-answer line: complete top-level
 * boxes starting in [line start, chosen->start), non-empty ones only. */
static int line_boxes(const char *t, const box *ch, strvec *out)
{
    const char *nl = ch->start ? rchr(t, '\n', ch->start) : NULL;
    size_t ls = nl ? (size_t)(nl - t) + 1 : 0;
    size_t cs = ch->start;
    size_t depth = 0;
    for (size_t i = ls; i < cs;) {
        char c = t[i];
        if (c == '\\') {
            if (depth == 0 && box_cmd(t, cs, i)) {
                box b;
                parse_box(t, cs, i, &b);
                if (!b.closed)
                    break; /* it runs into the chosen box: nothing else on the line */
                char *s = unwrap_boxes(t + b.cs, b.ce - b.cs);
                if (!s || *s) {
                    if (sv_add(out, s)) /* sets out->oom */
                        return -1;
                } else
                    free(s);
                i = b.end > i ? b.end : i + 1;
                continue;
            }
            i += 2;
            continue;
        }
        if (c == '{')
            depth++;
        else if (c == '}' && depth)
            depth--;
        i++;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Step 2: markers                                                     */

/* Last start < lim of the lowercase needle in h[0..n), case-insensitive;
 * SIZE_MAX if none. */
static size_t ci_rfind(const char *h, size_t n, size_t lim, const char *nd)
{
    size_t nn = strlen(nd);
    if (n < nn)
        return SIZE_MAX;
    size_t i = n - nn + 1;
    if (lim < i)
        i = lim;
    int c0 = nd[0];
    while (i > 0) {
        i--;
        if (lower((unsigned char)h[i]) != c0)
            continue;
        size_t k = 1;
        while (k < nn && lower((unsigned char)h[i + k]) == nd[k])
            k++;
        if (k == nn)
            return i;
    }
    return SIZE_MAX;
}

static const struct {
    const char *keyword;
    int pat;
} markers[] = {
    {"final answer", PAT_FINAL},
    {"the answer is", PAT_THE_ANSWER},
    {"answer", PAT_ANSWER},
};

/* Cleans the marker text s[0..n): `**` removed, leading `:`, surrounding
 * `$...$`, `\(...\)`, `\[...\]` and a trailing `.` removed.  malloc'd. */
static char *clean_marker(const char *s, size_t n)
{
    sbuf b = {0};
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '*' && i + 1 < n && s[i + 1] == '*') {
            i++;
            continue;
        }
        sb_putc(&b, s[i]);
    }
    char *r = sb_take(&b);
    if (!r)
        return NULL;
    const char *q = r;
    size_t m = strlen(r);
    trim(&q, &m);
    while (m && *q == ':') {
        q++;
        m--;
        trim(&q, &m);
    }
    for (int round = 0; round < 2; round++) {
        while (m && q[m - 1] == '.') {
            m--;
            trim(&q, &m);
        }
        if (m >= 4 && !memcmp(q, "$$", 2) && !memcmp(q + m - 2, "$$", 2)) {
            q += 2;
            m -= 4;
        } else if (m >= 2 && q[0] == '$' && q[m - 1] == '$') {
            q++;
            m -= 2;
        } else if (m >= 4 && q[0] == '\\' && ((q[1] == '(' && !memcmp(q + m - 2, "\\)", 2)) ||
                                              (q[1] == '[' && !memcmp(q + m - 2, "\\]", 2)))) {
            q += 2;
            m -= 4;
        }
        trim(&q, &m);
    }
    memmove(r, q, m);
    r[m] = 0;
    return r;
}

/* Finds the marker answer in t[0..n): sets [*as, *ae).  0 if no marker. */
static int marker_answer(const char *t, size_t n, size_t *as, size_t *ae)
{
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    int found = 0;
    for (size_t m = 0; m < sizeof markers / sizeof markers[0]; m++) {
        size_t lim = n;
        for (;;) {
            size_t p = ci_rfind(t, n, lim, markers[m].keyword);
            if (p == SIZE_MAX)
                break;
            size_t ms, me;
            if (pat_match_md(markers[m].pat, md, t, n, p, &ms, &me, NULL, NULL)) {
                const char *nl = memchr(t + me, '\n', n - me);
                size_t e = nl ? (size_t)(nl - t) : n;
                const char *hope = memmem(t + me, e - me, ". I hope", 8);
                if (hope)
                    e = (size_t)(hope - t);
                *as = me;
                *ae = e;
                found = 1;
                goto done;
            }
            lim = p;
        }
    }
done:
    pcre2_match_data_free(md);
    return found;
}

/* ------------------------------------------------------------------ */
/* math_extract                                                        */

void math_extraction_free(math_extraction *x)
{
    if (!x)
        return;
    free(x->extracted);
    math_strings_free(x->line_boxes, x->n_line_boxes);
    memset(x, 0, sizeof *x);
}

int math_extract(const char *response, size_t len, int list, math_extraction *out)
{
    memset(out, 0, sizeof *out);
    out->reason = MR_NO_ANSWER;
    const char *t = response ? response : "";
    size_t n = response ? len : 0;

    /* Step 0 */
    const char *end_think = rfind(t, n, "</think>", 8);
    if (end_think) {
        size_t off = (size_t)(end_think - t) + 8;
        t += off;
        n -= off;
    } else if (find_fwd(t, n, "<think>", 7)) {
        out->reason = MR_UNCLOSED_THINK;
        return 0;
    }

    /* Step 1 */
    size_t last;
    if (prev_box(t, n, n, &last)) {
        box ch;
        parse_box(t, n, last, &ch);
        if (!ch.closed) {
            out->reason = MR_TRUNCATED_BOX;
            return 0;
        }
        outermost_box(t, n, &ch);
        char *chosen = unwrap_boxes(t + ch.cs, ch.ce - ch.cs);
        if (!chosen)
            goto oom;
        if (!*chosen) { /* an empty box: no answer, and no marker fallback */
            free(chosen);
            return 0;
        }
        strvec lb = {0};
        (void)line_boxes(t, &ch, &lb); /* failure: lb.oom */
        if (list && lb.n > 0) {
            sbuf b = {0};
            for (size_t i = 0; i < lb.n; i++) {
                sb_puts(&b, lb.v[i]);
                sb_putc(&b, ',');
            }
            sb_puts(&b, chosen);
            out->extracted = sb_take(&b);
        } else
            out->extracted = dup_n(chosen, strlen(chosen));
        if (!out->extracted)
            lb.oom = 1;
        sv_add(&lb, chosen); /* takes chosen, even on failure */
        out->line_boxes = lb.v;
        out->n_line_boxes = lb.n;
        if (lb.oom)
            goto oom;
        out->reason = MR_OK;
        return 0;
    }

    /* Step 2 */
    size_t as, ae;
    if (!marker_answer(t, n, &as, &ae))
        return 0;
    char *s = clean_marker(t + as, ae - as);
    if (!s)
        goto oom;
    if (!*s) {
        free(s);
        return 0;
    }
    out->extracted = s;
    out->from_marker = 1;
    out->reason = MR_OK;
    return 0;

oom:
    math_extraction_free(out);
    out->reason = MR_NO_ANSWER;
    return -1;
}

/* ------------------------------------------------------------------ */
/* Step 3 item 1: unicode                                              */

static const struct {
    const char *from, *to;
} uni_map[] = {
    {"\xe2\x88\x92", "-"},        /* U+2212 minus */
    {"\xe2\x80\x93", "-"},        /* U+2013 en dash */
    {"\xe2\x88\x9a", "\\sqrt"},   /* U+221A */
    {"\xcf\x80", "\\pi"},         /* U+03C0 */
    {"\xc3\x97", "\\cdot"},       /* U+00D7 times */
    {"\xc2\xb7", "\\cdot"},       /* U+00B7 middle dot */
    {"\xe2\x8b\x85", "\\cdot"},   /* U+22C5 dot operator */
    {"\xc2\xb0", ""},             /* U+00B0 degree */
    {"\xc2\xa0", " "},            /* U+00A0 no-break space */
    {"\xe2\x80\xaf", " "},        /* U+202F narrow no-break space */
    {"\xe2\x80\x89", " "},        /* U+2009 thin space */
    {"\xe2\x80\x8a", " "},        /* U+200A hair space */
    {"\xe2\x89\x88", "\\approx"}, /* U+2248 */
    {"\xc2\xb1", "\\pm"},         /* U+00B1 */
};

static char *norm_unicode(const char *s, size_t n)
{
    sbuf b = {0};
    size_t run = 0; /* start of the pending ASCII run */
    for (size_t i = 0; i < n;) {
        if (!((unsigned char)s[i] & 0x80)) {
            i++;
            continue;
        }
        size_t m;
        for (m = 0; m < sizeof uni_map / sizeof uni_map[0]; m++) {
            size_t k = strlen(uni_map[m].from);
            if (i + k <= n && memcmp(s + i, uni_map[m].from, k) == 0)
                break;
        }
        if (m == sizeof uni_map / sizeof uni_map[0]) {
            i++;
            continue;
        }
        sb_put(&b, s + run, i - run);
        const char *to = uni_map[m].to;
        sb_puts(&b, to);
        i += strlen(uni_map[m].from);
        /* `2πr` must not become the command `\pir` */
        if (to[0] == '\\' && i < n && is_alpha((unsigned char)s[i]))
            sb_putc(&b, ' ');
        run = i;
    }
    sb_put(&b, s + run, n - run);
    return sb_take(&b);
}

/* ------------------------------------------------------------------ */
/* Step 3 items 2-4: the LaTeX command pass                            */

static const char *const cmd_remove[] = {
    "left", "right", "displaystyle", "textstyle", "scriptstyle", "limits", "nolimits",
    "big", "Big", "bigg", "Bigg", "bigl", "bigr", "bigm", "Bigl", "Bigr", "Bigm",
    "biggl", "biggr", "biggm", "Biggl", "Biggr", "Biggm", "circ", "degree", NULL,
};
static const char *const cmd_space[] = {"quad", "qquad", NULL};
static const char *const cmd_frac[] = {"dfrac", "tfrac", "cfrac", NULL};
static const char *const cmd_unwrap[] = {
    "mathrm", "mathbf", "textbf", "boxed", "fbox", "mathit", "mathsf", "mathnormal",
    "bm", "boldsymbol", NULL,
};
static const char *const cmd_text[] = {
    "text", "textrm", "mbox", "textnormal", "textup", "textsf", "texttt", "textit", "emph",
    "hbox", NULL,
};

/* Match table of '{' -> '}' (SIZE_MAX if unclosed), and next digit
 * positions, built on first need. */
typedef struct {
    size_t *match, *nextdig;
    int failed;
} brace_aux;

static int aux_build(brace_aux *a, const char *s, size_t n)
{
    if (a->match || a->failed)
        return !a->failed;
    a->match = malloc((n + 1) * sizeof *a->match);
    a->nextdig = malloc((n + 1) * sizeof *a->nextdig);
    zstack st = {0};
    if (!a->match || !a->nextdig)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        a->match[i] = SIZE_MAX;
        if (s[i] == '\\') {
            i++;
            if (i < n)
                a->match[i] = SIZE_MAX;
        } else if (s[i] == '{')
            zs_push(&st, i);
        else if (s[i] == '}' && st.n)
            a->match[st.v[--st.n]] = i;
    }
    if (st.oom)
        goto fail;
    a->nextdig[n] = n;
    for (size_t i = n; i-- > 0;)
        a->nextdig[i] = is_digit((unsigned char)s[i]) ? i : a->nextdig[i + 1];
    free(st.v);
    return 1;
fail:
    free(st.v);
    a->failed = 1;
    return 0;
}

/* s[i] == '^': length of `^\circ`, `^{\circ}`, `^{}` (with spaces) there,
 * or 0. */
static size_t degree_sup(const char *s, size_t n, size_t i)
{
    size_t j = i + 1;
    while (j < n && s[j] == ' ')
        j++;
    int brace = j < n && s[j] == '{';
    if (brace) {
        j++;
        while (j < n && s[j] == ' ')
            j++;
    }
    if (j + 5 <= n && memcmp(s + j, "\\circ", 5) == 0 &&
        !(j + 5 < n && is_alpha((unsigned char)s[j + 5])))
        j += 5;
    else if (!brace)
        return 0;
    if (brace) {
        while (j < n && s[j] == ' ')
            j++;
        if (j >= n || s[j] != '}')
            return 0;
        j++;
    }
    return j - i;
}

/* Length of a unit exponent (`^2`, `^{3}`, spaces allowed) at s[i], or 0. */
static size_t unit_exponent(const char *s, size_t n, size_t i)
{
    size_t j = i;
    while (j < n && s[j] == ' ')
        j++;
    if (j >= n || s[j] != '^')
        return 0;
    j++;
    if (j < n && is_digit((unsigned char)s[j]))
        return j + 1 - i;
    if (j < n && s[j] == '{') {
        size_t k = j + 1;
        while (k < n && is_digit((unsigned char)s[k]))
            k++;
        if (k > j + 1 && k < n && s[k] == '}')
            return k + 1 - i;
    }
    return 0;
}

static char *norm_commands(const char *s, size_t n)
{
    sbuf b = {0};
    zstack drop = {0};
    brace_aux aux = {0};
    size_t depth = 0;
    size_t i = 0;
    while (i < n) {
        char c = s[i];
        if (c == '*' && i + 1 < n && s[i + 1] == '*') {
            i += 2;
            continue;
        }
        if (c == '$' || c == '%') {
            i++;
            continue;
        }
        if (c == '^') {
            size_t k = degree_sup(s, n, i);
            if (k) {
                i += k;
                continue;
            }
            sb_putc(&b, c);
            i++;
            continue;
        }
        if (c == '{') {
            depth++;
            sb_putc(&b, c);
            i++;
            continue;
        }
        if (c == '}') {
            if (drop.n && drop.v[drop.n - 1] == depth)
                drop.n--;
            else
                sb_putc(&b, c);
            if (depth)
                depth--;
            i++;
            continue;
        }
        if (c != '\\') {
            sb_putc(&b, c);
            i++;
            continue;
        }
        /* a backslash */
        if (i + 1 >= n) {
            sb_putc(&b, c);
            i++;
            continue;
        }
        char d = s[i + 1];
        if (!is_alpha((unsigned char)d)) {
            switch (d) {
            case '!': case ',': case '(': case ')': case '[': case ']': case '$': case '%':
                break;
            case ';': case ':': case ' ':
                sb_putc(&b, ' ');
                break;
            default: /* \{ \} \\ and the rest stay */
                sb_put(&b, s + i, 2);
            }
            i += 2;
            continue;
        }
        size_t k = name_len(s, n, i + 1);
        const char *nm = s + i + 1;
        size_t after = i + 1 + k;
        if (name_in(nm, k, cmd_remove)) {
            i = after;
            if ((k == 4 && !memcmp(nm, "left", 4)) || (k == 5 && !memcmp(nm, "right", 5))) {
                if (i < n && s[i] == '.') /* null delimiter */
                    i++;
            }
            continue;
        }
        if (name_in(nm, k, cmd_space)) {
            sb_putc(&b, ' ');
            i = after;
            continue;
        }
        if (name_in(nm, k, cmd_frac)) {
            sb_puts(&b, "\\frac");
            i = after;
            continue;
        }
        int is_text = name_in(nm, k, cmd_text);
        if (is_text || name_in(nm, k, cmd_unwrap)) {
            size_t j = after;
            while (j < n && is_space((unsigned char)s[j]))
                j++;
            if (j >= n || s[j] != '{') { /* `\mathbf x`: drop the command */
                i = after;
                continue;
            }
            if (is_text) {
                if (!aux_build(&aux, s, n)) {
                    b.oom = 1;
                    break;
                }
                size_t close = aux.match[j];
                if (close != SIZE_MAX && aux.nextdig[j] >= close) {
                    /* no digit: a unit or a word */
                    const char *w = s + j + 1;
                    size_t wn = close - j - 1;
                    trim(&w, &wn);
                    if ((wn == 3 && lower(w[0]) == 'a' && lower(w[1]) == 'n' && lower(w[2]) == 'd') ||
                        (wn == 2 && lower(w[0]) == 'o' && lower(w[1]) == 'r')) {
                        sb_putc(&b, ' ');
                        sb_put(&b, w, wn);
                        sb_putc(&b, ' ');
                        i = close + 1;
                    } else
                        i = close + 1 + unit_exponent(s, n, close + 1);
                    continue;
                }
            }
            depth++;
            zs_push(&drop, depth);
            i = j + 1;
            continue;
        }
        sb_put(&b, s + i, 1 + k);
        i = after;
    }
    free(aux.match);
    free(aux.nextdig);
    free(drop.v);
    if (drop.oom)
        b.oom = 1;
    return sb_take(&b);
}

/* ------------------------------------------------------------------ */
/* `\frac12` -> `\frac{1}{2}`, `\sqrt2` -> `\sqrt{2}`, `\binom52`      */

typedef struct {
    size_t depth;
    int rem;
} argwant;

static char *norm_repair(const char *s, size_t n)
{
    sbuf b = {0};
    argwant *st = NULL;
    size_t sn = 0, scap = 0;
    size_t depth = 0;
    int oom = 0;
    size_t i = 0;
    while (i < n) {
        char c = s[i];
        if (sn && st[sn - 1].depth == depth) { /* arguments expected here */
            if (c == ' ') {
                i++;
                continue;
            }
            if (c == '{') {
                sb_putc(&b, c);
                depth++;
                i++;
                continue;
            }
            if (is_alpha((unsigned char)c) || is_digit((unsigned char)c)) {
                sb_putc(&b, '{');
                sb_putc(&b, c);
                sb_putc(&b, '}');
                if (--st[sn - 1].rem == 0)
                    sn--;
                i++;
                continue;
            }
            if (c == '\\' && i + 1 < n && is_alpha((unsigned char)s[i + 1])) {
                size_t k = name_len(s, n, i + 1);
                const char *nm = s + i + 1;
                int takes_args = (k == 4 && (!memcmp(nm, "frac", 4) || !memcmp(nm, "sqrt", 4))) ||
                                 (k == 5 && !memcmp(nm, "binom", 5));
                if (!takes_args) {
                    sb_putc(&b, '{');
                    sb_put(&b, s + i, 1 + k);
                    sb_putc(&b, '}');
                    if (--st[sn - 1].rem == 0)
                        sn--;
                    i += 1 + k;
                    continue;
                }
            }
            sn--; /* not an argument: give up on this command */
            continue;
        }
        if (c == '\\' && i + 1 < n && is_alpha((unsigned char)s[i + 1])) {
            size_t k = name_len(s, n, i + 1);
            const char *nm = s + i + 1;
            sb_put(&b, s + i, 1 + k);
            i += 1 + k;
            int want = 0;
            if (k == 4 && !memcmp(nm, "frac", 4))
                want = 2;
            else if (k == 5 && !memcmp(nm, "binom", 5))
                want = 2;
            else if (k == 4 && !memcmp(nm, "sqrt", 4)) {
                want = 1;
                size_t j = i;
                while (j < n && s[j] == ' ')
                    j++;
                if (j < n && s[j] == '[') { /* index: copy through the matching ']' */
                    size_t bd = 0, e = j;
                    for (; e < n; e++) {
                        if (s[e] == '[')
                            bd++;
                        else if (s[e] == ']' && --bd == 0)
                            break;
                    }
                    if (e < n) {
                        sb_put(&b, s + j, e + 1 - j);
                        i = e + 1;
                    } else
                        want = 0;
                }
            }
            if (want) {
                if (sn == scap) {
                    size_t nc = scap ? scap * 2 : 8;
                    argwant *q = realloc(st, nc * sizeof *q);
                    if (!q) {
                        oom = 1;
                        break;
                    }
                    st = q;
                    scap = nc;
                }
                st[sn].depth = depth;
                st[sn].rem = want;
                sn++;
            }
            continue;
        }
        if (c == '\\') {
            sb_put(&b, s + i, i + 1 < n ? 2 : 1);
            i += 2;
            continue;
        }
        sb_putc(&b, c);
        i++;
        if (c == '{')
            depth++;
        else if (c == '}' && depth) {
            depth--;
            if (sn && st[sn - 1].depth == depth && --st[sn - 1].rem == 0)
                sn--;
        }
    }
    free(st);
    if (oom)
        b.oom = 1;
    return sb_take(&b);
}

/* ------------------------------------------------------------------ */
/* items 4-7 on a string in place                                      */

/* Position of the command \name (not a prefix of a longer name) in s, from
 * the start (first) or the end (last); SIZE_MAX if absent. */
static size_t find_cmd(const char *s, size_t n, const char *name, int last)
{
    size_t k = strlen(name);
    size_t found = SIZE_MAX;
    for (size_t i = 0; i + 1 + k <= n; i++) {
        if (s[i] != '\\')
            continue;
        if (memcmp(s + i + 1, name, k) == 0 && !(i + 1 + k < n && is_alpha((unsigned char)s[i + 1 + k]))) {
            found = i;
            if (!last)
                return i;
        }
        i++; /* skip the escaped byte */
    }
    return found;
}

/* Item 4 and the trailing units of item 3: strips a trailing `.` and unit
 * words after a number, repeatedly.  Returns the new length. */
static size_t strip_tail(const char *s, size_t n)
{
    for (int round = 0; round < 4; round++) {
        size_t m = rtrim(s, n);
        while (m && s[m - 1] == '.' && !(m >= 2 && s[m - 2] == '\\'))
            m = rtrim(s, m - 1);
        size_t off = m > 96 ? m - 96 : 0, ms, me;
        if (pat_match(PAT_UNITS, s, m, off, &ms, &me, NULL, NULL))
            m = ms;
        if (m == n)
            break;
        n = m;
    }
    return rtrim(s, n);
}

/* Items 5-6 on s[*start .. *start + *n): `\approx`, then `=`. */
static void approx_eq(const char *s, size_t *start, size_t *n)
{
    const char *q = s + *start;
    size_t m = *n;
    size_t p = find_cmd(q, m, "approx", 0);
    if (p != SIZE_MAX) {
        const char *bq = q;
        size_t bn = p;
        trim(&bq, &bn);
        if (bn) {
            q = bq;
            m = bn;
        } else {
            q += p + 7;
            m -= p + 7;
        }
    }
    trim(&q, &m);
    for (size_t i = m; i-- > 0;) {
        if (q[i] != '=' || (i > 0 && (q[i - 1] == '<' || q[i - 1] == '>' || q[i - 1] == '!')))
            continue;
        const char *aq = q + i + 1;
        size_t an = m - i - 1;
        trim(&aq, &an);
        if (an) {
            q = aq;
            m = an;
        } else {
            m = i;
            trim(&q, &m);
        }
        break;
    }
    *start = (size_t)(q - s);
    *n = m;
}

/* Item 7: digit groups lose their separators. */
static char *norm_groups(const char *s, size_t n, int list)
{
    sbuf b = {0};
    size_t pos = 0;
    pcre2_match_data *md = pcre2_match_data_create(2, NULL);
    if (!md)
        b.oom = 1;
    while (md && pos < n) {
        size_t ms, me;
        if (!pat_match_md(list ? PAT_GROUP_LIST : PAT_GROUP, md, s, n, pos, &ms, &me, NULL, NULL))
            break;
        sb_put(&b, s + pos, ms - pos);
        for (size_t i = ms; i < me; i++)
            if (is_digit((unsigned char)s[i]))
                sb_putc(&b, s[i]);
        pos = me > pos ? me : pos + 1;
    }
    pcre2_match_data_free(md);
    sb_put(&b, s + pos, n - pos);
    return sb_take(&b);
}

/* ------------------------------------------------------------------ */
/* list structure                                                      */

/* Length of a top-level separator at s[i] (',', ';', whole-word `and`,
 * `or`), or 0. */
static size_t sep_at(const char *s, size_t n, size_t i)
{
    char c = s[i];
    if (c == ',' || c == ';')
        return 1;
    size_t k = 0;
    if (i + 3 <= n && lower(c) == 'a' && lower(s[i + 1]) == 'n' && lower(s[i + 2]) == 'd')
        k = 3;
    else if (i + 2 <= n && lower(c) == 'o' && lower(s[i + 1]) == 'r')
        k = 2;
    if (!k)
        return 0;
    if (i > 0 && (is_alpha((unsigned char)s[i - 1]) || s[i - 1] == '\\'))
        return 0;
    if (i + k < n && is_alpha((unsigned char)s[i + k]))
        return 0;
    return k;
}

/* Calls back for each top-level element of s[0..n) (separators at bracket
 * depth 0); returns the number of elements, or with cb NULL just counts. */
typedef int (*elem_cb)(const char *s, size_t n, void *ctx);

static long split_top(const char *s, size_t n, elem_cb cb, void *ctx)
{
    size_t depth = 0, from = 0;
    long count = 0;
    for (size_t i = 0; i < n;) {
        char c = s[i];
        if (c == '\\') {
            if (i + 1 < n && (s[i + 1] == '{'))
                depth++;
            else if (i + 1 < n && s[i + 1] == '}' && depth)
                depth--;
            if (i + 1 < n && is_alpha((unsigned char)s[i + 1]))
                i += 1 + name_len(s, n, i + 1);
            else
                i += 2;
            continue;
        }
        if (c == '{' || c == '(' || c == '[') {
            depth++;
            i++;
            continue;
        }
        if (c == '}' || c == ')' || c == ']') {
            if (depth)
                depth--;
            i++;
            continue;
        }
        size_t k = depth == 0 ? sep_at(s, n, i) : 0;
        if (k) {
            if (cb && cb(s + from, i - from, ctx))
                return -1;
            count++;
            i += k;
            from = i;
            continue;
        }
        i++;
    }
    if (cb && cb(s + from, n - from, ctx))
        return -1;
    return count + 1;
}

/* If s[0..n) is one bracket pair around everything — (), [], \{\} — the
 * length of its opener (1 or 2), else 0. */
static size_t outer_pair(const char *s, size_t n)
{
    size_t ol, cl;
    char close;
    if (n >= 2 && s[0] == '(')
        ol = 1, cl = 1, close = ')';
    else if (n >= 2 && s[0] == '[')
        ol = 1, cl = 1, close = ']';
    else if (n >= 4 && s[0] == '\\' && s[1] == '{')
        ol = 2, cl = 2, close = '}';
    else
        return 0;
    if (cl == 1 ? (s[n - 1] != close || (n >= 2 && s[n - 2] == '\\'))
                : (s[n - 2] != '\\' || s[n - 1] != '}'))
        return 0;
    size_t depth = 0;
    for (size_t i = 0; i < n;) {
        char c = s[i];
        size_t step = 1;
        int open = 0, shut = 0;
        if (c == '\\' && i + 1 < n) {
            step = 2;
            open = s[i + 1] == '{';
            shut = s[i + 1] == '}';
        } else {
            open = c == '(' || c == '[' || c == '{';
            shut = c == ')' || c == ']' || c == '}';
        }
        if (open)
            depth++;
        if (shut) {
            if (depth == 0)
                return 0;
            if (--depth == 0 && i + step < n)
                return 0; /* the first group closes early */
        }
        i += step;
    }
    return depth == 0 ? ol : 0;
}

/* ------------------------------------------------------------------ */
/* math_normalize                                                      */

char *math_normalize(const char *s, size_t len, int list)
{
    if (!s)
        len = 0, s = "";
    char *a = norm_unicode(s, len);
    if (!a)
        return NULL;
    char *b = norm_commands(a, strlen(a));
    free(a);
    if (!b)
        return NULL;
    char *c = norm_repair(b, strlen(b));
    free(b);
    if (!c)
        return NULL;
    size_t n = strip_tail(c, strlen(c));
    size_t st = 0;
    if (!list || split_top(c, n, NULL, NULL) == 1)
        approx_eq(c, &st, &n);
    char *d = norm_groups(c + st, n, list);
    free(c);
    if (!d)
        return NULL;
    const char *q = d;
    size_t m = strlen(d);
    trim(&q, &m);
    memmove(d, q, m);
    d[m] = 0;
    return d;
}

/* ------------------------------------------------------------------ */
/* math_split                                                          */

/* Item 9: s with every \pm (\mp) replaced by sign (the other sign); a
 * leading `+` is dropped. */
static char *pm_subst(const char *s, size_t n, char sign)
{
    sbuf b = {0};
    for (size_t i = 0; i < n;) {
        if (s[i] == '\\' && i + 3 <= n && (s[i + 1] == 'p' || s[i + 1] == 'm') &&
            s[i + 2] == (s[i + 1] == 'p' ? 'm' : 'p') &&
            !(i + 3 < n && is_alpha((unsigned char)s[i + 3]))) {
            char sg = s[i + 1] == 'p' ? sign : (sign == '+' ? '-' : '+');
            int lead = b.n == 0;
            if (!(sg == '+' && lead))
                sb_putc(&b, sg);
            i += 3;
            while (lead && i < n && s[i] == ' ')
                i++;
            continue;
        }
        if (s[i] == '\\' && i + 1 < n) {
            size_t k = is_alpha((unsigned char)s[i + 1]) ? 1 + name_len(s, n, i + 1) : 2;
            sb_put(&b, s + i, k);
            i += k;
            continue;
        }
        sb_putc(&b, s[i]);
        i++;
    }
    return sb_take(&b);
}

/* Adds element s[0..n) (trimmed, items 5-6 for list elements, \pm
 * expanded); empty elements are dropped. */
static int add_elem(const char *s, size_t n, void *ctx)
{
    strvec *sv = ctx;
    size_t st = 0;
    approx_eq(s, &st, &n);
    s += st;
    while (n && s[n - 1] == '.' && !(n >= 2 && s[n - 2] == '\\')) {
        n--;
        trim(&s, &n);
    }
    if (!n)
        return 0;
    if (find_cmd(s, n, "pm", 0) != SIZE_MAX || find_cmd(s, n, "mp", 0) != SIZE_MAX) {
        if (sv_add(sv, pm_subst(s, n, '+')) || sv_add(sv, pm_subst(s, n, '-')))
            return -1;
        return 0;
    }
    return sv_add(sv, dup_n(s, n));
}

int math_split(const char *s, int list, char ***elems, size_t *n)
{
    *elems = NULL;
    *n = 0;
    strvec sv = {0};
    if (!s)
        s = "";
    const char *q = s;
    size_t m = strlen(s);
    trim(&q, &m);
    if (!list) {
        if (find_cmd(q, m, "pm", 0) != SIZE_MAX || find_cmd(q, m, "mp", 0) != SIZE_MAX) {
            if (!sv_add(&sv, pm_subst(q, m, '+')))
                sv_add(&sv, pm_subst(q, m, '-'));
        } else
            sv_add(&sv, dup_n(q, m));
    } else {
        if (split_top(q, m, NULL, NULL) == 1) {
            size_t st = 0;
            approx_eq(q, &st, &m);
            q += st;
            size_t ol = outer_pair(q, m);
            if (ol) {
                q += ol;
                m -= 2 * ol;
                trim(&q, &m);
            }
        }
        split_top(q, m, add_elem, &sv);
    }
    if (sv.oom) {
        math_strings_free(sv.v, sv.n);
        return -1;
    }
    *elems = sv.v;
    *n = sv.n;
    return 0;
}

void math_strings_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}
