/*
 * load.c — source-format readers and the normalized JSONL reader/writer
 * (declared in registry.h).
 *
 * Every reader builds records with the field order of ../shared/datasets
 * and fills what its source provides; fields that only the curated copies
 * carry (alt_problems, note, hf) are left out.  Every error names the file,
 * the line (JSONL/CSV) or record number (JSON arrays), and the field.
 */
#define _POSIX_C_SOURCE 200809L
#include "registry.h"
#include "../engine/util.h"
#include "../harness/sha256.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define SOURCE_MAX ((size_t)1 << 30) /* 1 GiB: LiveCodeBench test5.jsonl is 558 MB */
#define GZ_MAX ((size_t)1 << 30)

void ds_set_free(ds_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        cJSON_Delete(s->rec[i]);
    free(s->rec);
    memset(s, 0, sizeof *s);
}

/* Takes ownership of r (deleted on failure). */
static int push(ds_set *s, cJSON *r, char *err, size_t errlen)
{
    if (!r)
        return ut_err(err, errlen, "out of memory");
    if (s->n == s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 64;
        cJSON **nr = realloc(s->rec, nc * sizeof *nr);
        if (!nr) {
            cJSON_Delete(r);
            return ut_err(err, errlen, "out of memory");
        }
        s->rec = nr;
        s->cap = nc;
    }
    s->rec[s->n++] = r;
    return 0;
}

/* ------------------------------------------------------------ small helpers */

static const char *str_field(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Trimmed copy of s[0..n) (malloc'd). */
static char *trim_dup(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

/* 1 if s is an optional '-' and decimal digits. */
static int is_int_text(const char *s)
{
    if (*s == '-')
        s++;
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

static int has_figure(const char *p)
{
    return strstr(p, "<asy>") || strstr(p, "[asy]") || strstr(p, "tikzpicture");
}

/* Splits "a, b" at top-level commas (outside (), [], {}); returns a JSON
 * array of trimmed parts, or NULL when there is no top-level comma. */
static cJSON *split_list(const char *a)
{
    int depth = 0, commas = 0;
    for (const char *p = a; *p; p++) {
        if (*p == '(' || *p == '[' || *p == '{')
            depth++;
        else if ((*p == ')' || *p == ']' || *p == '}') && depth > 0)
            depth--;
        else if (*p == ',' && depth == 0)
            commas++;
    }
    if (!commas)
        return NULL;
    cJSON *arr = cJSON_CreateArray();
    const char *start = a;
    depth = 0;
    for (const char *p = a;; p++) {
        if (*p == '(' || *p == '[' || *p == '{')
            depth++;
        else if ((*p == ')' || *p == ']' || *p == '}') && depth > 0)
            depth--;
        else if ((*p == ',' && depth == 0) || !*p) {
            char *part = trim_dup(start, (size_t)(p - start));
            if (!part || !cJSON_AddItemToArray(arr, cJSON_CreateString(part))) {
                free(part);
                cJSON_Delete(arr);
                return NULL;
            }
            free(part);
            if (!*p)
                break;
            start = p + 1;
        }
    }
    return arr;
}

/* ------------------------------------------------------------ math records */

typedef struct {
    const char *contest, *tag;
    const char *id;                   /* the source's own id, or NULL: PREFIX-TAG-NN */
    int number;
    const char *problem, *answer_raw; /* answer_raw: as stored by the source */
    const char *path, *answer_path;   /* repository paths, for "source" */
    const char *file;                 /* local file, for messages */
    long line;                        /* line or record number, for messages */
} math_in;

/* Builds one math record from a source row; NULL with err set. */
static cJSON *math_record(const ds_entry *e, size_t index, const math_in *in, char *err,
                          size_t errlen)
{
    char id[128];
    if (in->id)
        snprintf(id, sizeof id, "%s", in->id);
    else if (in->tag)
        snprintf(id, sizeof id, "%s-%s-%02d", e->id_prefix, in->tag, in->number);
    else
        snprintf(id, sizeof id, "%s-%02d", e->id_prefix, in->number);
    char *answer = trim_dup(in->answer_raw, strlen(in->answer_raw));
    if (!answer) {
        ut_err(err, errlen, "out of memory");
        return NULL;
    }
    if (!*answer) {
        ut_err(err, errlen, "%s:%ld: field 'answer': empty answer for %s", in->file, in->line,
               id);
        free(answer);
        return NULL;
    }
    int is_int = is_int_text(answer);
    long long ival = 0;
    if (is_int) {
        char *p = answer + (answer[0] == '-');
        size_t nz = 0;
        while (p[nz] == '0' && p[nz + 1])
            nz++;
        memmove(p, p + nz, strlen(p + nz) + 1);
        if (!strcmp(answer, "-0"))
            memmove(answer, answer + 1, 2);
        errno = 0;
        ival = strtoll(answer, NULL, 10);
        if (errno)
            is_int = 0; /* too large for answer_int: keep as an expression */
    }
    if (e->has_range) {
        if (!is_int || ival < e->range_lo || ival > e->range_hi) {
            ut_err(err, errlen, "%s:%ld: field 'answer': %s needs an integer in [%ld, %ld], "
                                "found '%.60s'", in->file, in->line, id, e->range_lo,
                   e->range_hi, in->answer_raw);
            free(answer);
            return NULL;
        }
    }
    cJSON *list = (!is_int && e->answer_lists) ? split_list(answer) : NULL;
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "id", id);
    cJSON_AddStringToObject(r, "benchmark", e->benchmark);
    cJSON_AddStringToObject(r, "task", "math");
    cJSON_AddNumberToObject(r, "index", (double)index);
    cJSON_AddStringToObject(r, "contest", in->contest);
    if (e->year)
        cJSON_AddNumberToObject(r, "year", e->year);
    else
        cJSON_AddNullToObject(r, "year"); /* problems of many years */
    cJSON_AddNumberToObject(r, "problem_number", in->number);
    if (!strncmp(in->contest, "HMMT", 4)) {
        static const char *rounds[] = {"Algebra and Number Theory", "Combinatorics",
                                       "Geometry"};
        if (e->hmmt_rounds && in->number >= 1 && in->number <= 30) {
            cJSON_AddStringToObject(r, "round", rounds[(in->number - 1) / 10]);
            cJSON_AddNumberToObject(r, "round_problem_number", (in->number - 1) % 10 + 1);
        } else {
            cJSON_AddNullToObject(r, "round");
            cJSON_AddNullToObject(r, "round_problem_number");
        }
    }
    cJSON_AddStringToObject(r, "problem", in->problem);
    cJSON_AddStringToObject(r, "answer", answer);
    cJSON_AddStringToObject(r, "answer_type", is_int ? "integer" : list ? "list" : "expression");
    if (is_int)
        cJSON_AddNumberToObject(r, "answer_int", (double)ival);
    else
        cJSON_AddNullToObject(r, "answer_int");
    cJSON_AddStringToObject(r, "answer_raw", in->answer_raw);
    if (list) {
        cJSON_AddItemToObject(r, "answer_list", list);
        cJSON_AddBoolToObject(r, "answer_list_ordered", 0);
    }
    cJSON_AddBoolToObject(r, "has_figure_code", has_figure(in->problem) != 0);
    cJSON *src = cJSON_AddObjectToObject(r, "source");
    if (src) {
        cJSON_AddStringToObject(src, "repo", e->repo);
        cJSON_AddStringToObject(src, "commit", e->revision);
        cJSON_AddStringToObject(src, "path", in->path);
        cJSON_AddStringToObject(src, "answer_path", in->answer_path);
    }
    free(answer);
    /* cJSON's adders fail silently on OOM: check the last one */
    if (!cJSON_GetObjectItemCaseSensitive(r, "source")) {
        cJSON_Delete(r);
        ut_err(err, errlen, "out of memory");
        return NULL;
    }
    return r;
}

/* Adds a math record unless the entry's problem-number filter drops it. */
static int add_math(const ds_entry *e, ds_set *out, const math_in *in, char *err,
                    size_t errlen)
{
    if (e->max_problem_number && in->number > e->max_problem_number)
        return 0;
    cJSON *r = math_record(e, out->n, in, err, errlen);
    if (!r)
        return -1;
    return push(out, r, err, errlen);
}

/* ------------------------------------------------------------ CSV */

/* RFC 4180 reader over a NUL-terminated buffer: fills up to maxf fields of
 * the next row (malloc'd strings), advances *pp, counts lines in *line.
 * Returns the field count, 0 at the end, -1 on a malformed row. */
static int csv_row(const char **pp, long *line, char **f, int maxf)
{
    const char *p = *pp;
    if (!*p)
        return 0;
    int nf = 0;
    for (;;) {
        size_t cap = 64, n = 0;
        char *b = malloc(cap);
        if (!b)
            goto bad;
        int quoted = *p == '"';
        if (quoted)
            p++;
        for (;;) {
            char c = *p;
            if (!c) {
                if (quoted) {
                    free(b);
                    goto bad;
                }
                break;
            }
            if (quoted && c == '"') {
                if (p[1] == '"') {
                    p += 2;
                    c = '"';
                } else {
                    p++;
                    quoted = 0;
                    if (*p != ',' && *p != '\n' && *p != '\r' && *p) {
                        free(b);
                        goto bad;
                    }
                    continue;
                }
            } else if (!quoted && (c == ',' || c == '\n' || c == '\r')) {
                break;
            } else {
                if (c == '\n')
                    (*line)++;
                p++;
            }
            if (n + 2 > cap) {
                char *nb = realloc(b, cap *= 2);
                if (!nb) {
                    free(b);
                    goto bad;
                }
                b = nb;
            }
            b[n++] = c;
        }
        b[n] = 0;
        if (nf < maxf)
            f[nf++] = b;
        else
            free(b);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '\r')
            p++;
        if (*p == '\n') {
            p++;
            (*line)++;
        }
        break;
    }
    *pp = p;
    return nf;
bad:
    for (int i = 0; i < nf; i++)
        free(f[i]);
    return -1;
}

static void free_fields(char **f, int n)
{
    for (int i = 0; i < n; i++)
        free(f[i]);
}

/* ------------------------------------------------------------ MathArena .tex + answers.csv */

/* files: answers.csv then problems/1..N.tex for each part, in order. */
static int load_matharena_tex(const ds_entry *e, char *const *files, size_t nfiles,
                              ds_set *out, char *err, size_t errlen)
{
    size_t fi = 0;
    for (int pi = 0; pi < e->nparts; pi++) {
        const ds_part *part = &e->parts[pi];
        if (fi + 1 + (size_t)part->nproblems > nfiles)
            return ut_err(err, errlen, "%s: expected answers.csv and %d problem files",
                          part->path, part->nproblems);
        const char *csv_path = files[fi++];
        char *csv;
        if (ut_read_file(csv_path, SOURCE_MAX, &csv, NULL, err, errlen))
            return -1;
        char **answers = calloc((size_t)part->nproblems + 1, sizeof *answers);
        if (!answers) {
            free(csv);
            return ut_err(err, errlen, "out of memory");
        }
        const char *p = csv;
        long line = 1;
        int rc = -1;
        char *f[4];
        int nf = csv_row(&p, &line, f, 4);
        if (nf < 2 || strcmp(f[0], "id") != 0 || strcmp(f[1], "answer") != 0) {
            ut_err(err, errlen, "%s:1: expected the header 'id,answer'", csv_path);
            if (nf > 0)
                free_fields(f, nf);
            goto part_done;
        }
        free_fields(f, nf);
        for (;;) {
            long at = line;
            nf = csv_row(&p, &line, f, 4);
            if (nf == 0)
                break;
            if (nf < 0) {
                ut_err(err, errlen, "%s:%ld: malformed CSV row", csv_path, at);
                goto part_done;
            }
            if (nf == 1 && !f[0][0]) { /* blank line */
                free_fields(f, nf);
                continue;
            }
            char *end;
            long id = nf >= 2 ? strtol(f[0], &end, 10) : 0;
            if (nf < 2 || *end || id < 1 || id > part->nproblems) {
                ut_err(err, errlen, "%s:%ld: field 'id': expected 1..%d, found '%.20s'",
                       csv_path, at, part->nproblems, nf ? f[0] : "");
                free_fields(f, nf);
                goto part_done;
            }
            if (answers[id]) {
                ut_err(err, errlen, "%s:%ld: field 'id': problem %ld listed twice", csv_path,
                       at, id);
                free_fields(f, nf);
                goto part_done;
            }
            answers[id] = f[1];
            f[1] = NULL;
            free_fields(f, nf);
        }
        for (int k = 1; k <= part->nproblems; k++) {
            if (!answers[k]) {
                ut_err(err, errlen, "%s: field 'answer': no answer for problem %d", csv_path,
                       k);
                goto part_done;
            }
            const char *tex_path = files[fi + (size_t)k - 1];
            char *tex;
            size_t tl;
            if (ut_read_file(tex_path, SOURCE_MAX, &tex, &tl, err, errlen))
                goto part_done;
            char *problem = trim_dup(tex, tl);
            free(tex);
            char rp[512], ap[512];
            snprintf(rp, sizeof rp, "%s/problems/%d.tex", part->path, k);
            snprintf(ap, sizeof ap, "%s/answers.csv", part->path);
            math_in in = {part->contest, part->tag, NULL, k, problem ? problem : "",
                          answers[k], rp, ap, tex_path, 1};
            int r = problem ? add_math(e, out, &in, err, errlen)
                            : ut_err(err, errlen, "out of memory");
            free(problem);
            if (r)
                goto part_done;
        }
        rc = 0;
    part_done:
        for (int k = 0; k <= part->nproblems; k++)
            free(answers[k]);
        free(answers);
        free(csv);
        if (rc)
            return -1;
        fi += (size_t)part->nproblems;
    }
    return 0;
}

/* ------------------------------------------------------------ IMO-Bench CSV */

/* answerbench CSV: a header naming the columns (Problem ID, Problem, Short
 * Answer, Category, Subcategory, Source; others, such as v1's Level, are
 * ignored), one problem a row in order.  The statement is kept as the
 * source has it (its trailing newline included), the answer trimmed. */
static int load_imobench_csv(const ds_entry *e, const char *file, ds_set *out, char *err,
                             size_t errlen)
{
    static const char *const want[] = {"Problem ID", "Problem", "Short Answer", "Category",
                                       "Subcategory", "Source"};
    enum { NW = 6, MAXF = 16 };
    char *csv;
    if (ut_read_file(file, SOURCE_MAX, &csv, NULL, err, errlen))
        return -1;
    const char *rpath = e->parts[0].path;
    const char *p = csv;
    long line = 1;
    int col[NW], rc = -1;
    char *f[MAXF];
    int nf = csv_row(&p, &line, f, MAXF);
    for (int k = 0; k < NW; k++) {
        col[k] = -1;
        for (int i = 0; i < nf; i++)
            if (!strcmp(f[i], want[k]))
                col[k] = i;
    }
    if (nf > 0)
        free_fields(f, nf);
    for (int k = 0; k < NW; k++)
        if (col[k] < 0) {
            ut_err(err, errlen, "%s:1: the header has no column '%s'", file, want[k]);
            goto done;
        }
    for (;;) {
        long at = line;
        nf = csv_row(&p, &line, f, MAXF);
        if (nf == 0)
            break;
        if (nf < 0) {
            ut_err(err, errlen, "%s:%ld: malformed CSV row", file, at);
            goto done;
        }
        if (nf == 1 && !f[0][0]) { /* blank line */
            free_fields(f, nf);
            continue;
        }
        const char *v[NW];
        for (int k = 0; k < NW; k++)
            v[k] = col[k] < nf ? f[col[k]] : NULL;
        int bad = -1;
        for (int k = 0; k < 3 && bad < 0; k++)
            if (!v[k] || !*v[k])
                bad = k;
        if (bad >= 0) {
            ut_err(err, errlen, "%s:%ld: field '%s': missing or empty", file, at, want[bad]);
            free_fields(f, nf);
            goto done;
        }
        size_t index = out->n;
        math_in in = {e->parts[0].contest, NULL, v[0], (int)index + 1, v[1], v[2], rpath, rpath,
                      file, at};
        cJSON *r = math_record(e, index, &in, err, errlen);
        cJSON *hf = r ? cJSON_AddObjectToObject(r, "hf") : NULL;
        if (hf) {
            cJSON_AddStringToObject(hf, "dataset", "Hwilner/imo-answerbench");
            cJSON_AddNumberToObject(hf, "problem_idx", (double)index);
            for (int k = 3; k < NW; k++) { /* an empty cell is null */
                const char *key = k == 5 ? "origin" : k == 4 ? "subcategory" : "category";
                if (v[k] && *v[k])
                    cJSON_AddStringToObject(r, key, v[k]);
                else
                    cJSON_AddNullToObject(r, key);
            }
        }
        free_fields(f, nf);
        if (!r)
            goto done;
        if (!cJSON_GetObjectItemCaseSensitive(r, "origin")) {
            cJSON_Delete(r);
            ut_err(err, errlen, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < out->n; i++)
            if (!strcmp(str_field(out->rec[i], "id"), str_field(r, "id"))) {
                ut_err(err, errlen, "%s:%ld: field 'Problem ID': '%.60s' listed twice", file,
                       at, str_field(r, "id"));
                cJSON_Delete(r);
                goto done;
            }
        if (push(out, r, err, errlen))
            goto done;
    }
    rc = 0;
done:
    free(csv);
    return rc;
}

/* ------------------------------------------------------------ JSONL helpers */

/* Calls fn(obj, line) for each non-blank line of path. */
static int each_jsonl(const char *path, const char *buf, size_t n,
                      int (*fn)(void *, const cJSON *, long, char *, size_t), void *ctx,
                      char *err, size_t errlen)
{
    long line = 0;
    const char *p = buf, *endb = buf + n;
    while (p < endb) {
        const char *e = memchr(p, '\n', (size_t)(endb - p));
        if (!e)
            e = endb;
        line++;
        size_t len = (size_t)(e - p);
        const char *q = p;
        while (q < e && isspace((unsigned char)*q))
            q++;
        if (q < e) {
            cJSON *j = cJSON_ParseWithLength(p, len);
            if (!cJSON_IsObject(j)) {
                cJSON_Delete(j);
                return ut_err(err, errlen, "%s:%ld: not a JSON object", path, line);
            }
            int r = fn(ctx, j, line, err, errlen);
            cJSON_Delete(j);
            if (r)
                return -1;
        }
        p = e + 1;
    }
    return 0;
}

typedef struct {
    const ds_entry *e;
    ds_set *out;
    const char *file;   /* local path */
    const char *rpath;  /* repository path */
} jctx;

/* math-ai/aime26: {"problem": str, "answer": number|str, "id": 1..30}. */
static int row_mathai(void *vc, const cJSON *j, long line, char *err, size_t errlen)
{
    jctx *c = vc;
    const char *problem = str_field(j, "problem");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "answer");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    if (!problem)
        return ut_err(err, errlen, "%s:%ld: field 'problem': missing or not a string", c->file,
                      line);
    long long n, av;
    if (!cJSON_IsNumber(id) || !ut_double_to_ll(id->valuedouble, &n) || n < 1 || n > 30)
        return ut_err(err, errlen, "%s:%ld: field 'id': expected an integer 1..30", c->file,
                      line);
    char ans[64];
    if (cJSON_IsNumber(a) && ut_double_to_ll(a->valuedouble, &av))
        snprintf(ans, sizeof ans, "%lld", av);
    else if (cJSON_IsString(a) && strlen(a->valuestring) < sizeof ans)
        snprintf(ans, sizeof ans, "%s", a->valuestring);
    else
        return ut_err(err, errlen, "%s:%ld: field 'answer': expected an integer", c->file,
                      line);
    math_in in = {n <= 15 ? "AIME I" : "AIME II", n <= 15 ? "I" : "II", NULL,
                  (int)(n <= 15 ? n : n - 15), problem, ans, c->rpath, c->rpath, c->file, line};
    return add_math(c->e, c->out, &in, err, errlen);
}

/* MathArena Hugging Face export rows: {"problem", "answer", "problem_idx", ...}. */
static int row_matharena(void *vc, const cJSON *j, long line, char *err, size_t errlen)
{
    jctx *c = vc;
    const char *problem = str_field(j, "problem");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "answer");
    const cJSON *idx = cJSON_GetObjectItemCaseSensitive(j, "problem_idx");
    if (!problem)
        return ut_err(err, errlen, "%s:%ld: field 'problem': missing or not a string", c->file,
                      line);
    long long pidx, av;
    if (!cJSON_IsNumber(idx) || !ut_double_to_ll(idx->valuedouble, &pidx) || pidx < 1 ||
        pidx > 1000)
        return ut_err(err, errlen, "%s:%ld: field 'problem_idx': expected a positive integer",
                      c->file, line);
    char num[64];
    const char *ans = NULL;
    if (cJSON_IsString(a))
        ans = a->valuestring;
    else if (cJSON_IsNumber(a) && ut_double_to_ll(a->valuedouble, &av)) {
        snprintf(num, sizeof num, "%lld", av);
        ans = num;
    }
    if (!ans)
        return ut_err(err, errlen, "%s:%ld: field 'answer': missing or not a string", c->file,
                      line);
    char *pt = trim_dup(problem, strlen(problem)), *at = trim_dup(ans, strlen(ans));
    int r;
    if (!pt || !at)
        r = ut_err(err, errlen, "out of memory");
    else {
        math_in in = {c->e->parts[0].contest, NULL, NULL, (int)pidx, pt, at, c->rpath,
                      c->rpath, c->file, line};
        r = add_math(c->e, c->out, &in, err, errlen);
    }
    free(pt);
    free(at);
    return r;
}

/* ------------------------------------------------------------ code records */

static cJSON *code_head(const ds_entry *e, const char *id, size_t index, const char *source_id)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "id", id);
    cJSON_AddStringToObject(r, "benchmark", e->benchmark);
    cJSON_AddStringToObject(r, "task", "code");
    cJSON_AddNumberToObject(r, "index", (double)index);
    if (source_id)
        cJSON_AddStringToObject(r, "source_id", source_id);
    else
        cJSON_AddNullToObject(r, "source_id");
    cJSON_AddStringToObject(r, "language", "python");
    return r;
}

static void code_tail(cJSON *r, const char *setup, const char *canonical)
{
    cJSON_AddStringToObject(r, "test_setup_code", setup);
    if (canonical)
        cJSON_AddStringToObject(r, "canonical_solution", canonical);
    else
        cJSON_AddNullToObject(r, "canonical_solution");
    cJSON_AddNullToObject(r, "time_limit_s");
    cJSON_AddNullToObject(r, "memory_limit_mb");
}

/* Checks that the last adder succeeded (cJSON fails silently on OOM). */
static int finish(ds_set *out, cJSON *r, const char *last, char *err, size_t errlen)
{
    if (!r || !cJSON_GetObjectItemCaseSensitive(r, last)) {
        cJSON_Delete(r);
        return ut_err(err, errlen, "out of memory");
    }
    return push(out, r, err, errlen);
}

/* HumanEval: {task_id "HumanEval/N", prompt, canonical_solution, test, entry_point}. */
static int row_humaneval(void *vc, const cJSON *j, long line, char *err, size_t errlen)
{
    jctx *c = vc;
    static const char *need[] = {"task_id", "prompt", "canonical_solution", "test",
                                 "entry_point"};
    for (int i = 0; i < 5; i++)
        if (!str_field(j, need[i]))
            return ut_err(err, errlen, "%s:%ld: field '%s': missing or not a string", c->file,
                          line, need[i]);
    const char *tid = str_field(j, "task_id"), *ep = str_field(j, "entry_point");
    const char *test = str_field(j, "test"), *prompt = str_field(j, "prompt");
    char id[64];
    snprintf(id, sizeof id, "%s-%03zu", c->e->id_prefix, c->out->n);
    size_t tl = strlen(test) + strlen(ep) + 16;
    char *code = malloc(tl);
    if (!code)
        return ut_err(err, errlen, "out of memory");
    snprintf(code, tl, "%s\n\ncheck(%s)\n", test, ep);
    cJSON *r = code_head(c->e, id, c->out->n, tid);
    cJSON_AddStringToObject(r, "prompt", prompt);
    cJSON_AddStringToObject(r, "starter_code", prompt);
    cJSON_AddStringToObject(r, "entry_point", ep);
    cJSON_AddStringToObject(r, "test_format", "assert_code");
    cJSON *tests = cJSON_AddArrayToObject(r, "tests");
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "code", code);
    cJSON_AddBoolToObject(t, "public", 0);
    cJSON_AddItemToArray(tests, t);
    free(code);
    code_tail(r, "", str_field(j, "canonical_solution"));
    cJSON *md = cJSON_AddObjectToObject(r, "metadata");
    cJSON_AddStringToObject(md, "raw_test", test);
    return finish(c->out, r, "metadata", err, errlen);
}

/* Name of the first top-level "def NAME(" of code that tests[0] calls. */
static char *mbpp_entry_point(const char *code, const char *test0)
{
    for (const char *p = code; p && *p;) {
        if (!strncmp(p, "def ", 4)) {
            const char *s = p + 4;
            while (*s == ' ')
                s++;
            const char *e = s;
            while (isalnum((unsigned char)*e) || *e == '_')
                e++;
            size_t n = (size_t)(e - s);
            const char *q = e;
            while (*q == ' ')
                q++;
            if (n && *q == '(') {
                /* called as NAME( with no identifier character before it */
                for (const char *h = test0; *h; h++) {
                    if (strncmp(h, s, n) != 0 ||
                        (h > test0 && (isalnum((unsigned char)h[-1]) || h[-1] == '_')))
                        continue;
                    const char *a = h + n;
                    while (*a == ' ')
                        a++;
                    if (*a == '(') {
                        char *name = malloc(n + 1);
                        if (name) {
                            memcpy(name, s, n);
                            name[n] = 0;
                        }
                        return name;
                    }
                }
            }
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return NULL;
}

/* MBPP sanitized: {task_id int, prompt, code, test_imports [str], test_list [str], source_file}. */
static int row_mbpp(jctx *c, const cJSON *j, long recno, char *err, size_t errlen)
{
    const cJSON *tid = cJSON_GetObjectItemCaseSensitive(j, "task_id");
    const char *prompt = str_field(j, "prompt"), *code = str_field(j, "code");
    const cJSON *imports = cJSON_GetObjectItemCaseSensitive(j, "test_imports");
    const cJSON *tl = cJSON_GetObjectItemCaseSensitive(j, "test_list");
    const char *bad = !cJSON_IsNumber(tid) ? "task_id" : !prompt ? "prompt" : !code ? "code"
                      : !cJSON_IsArray(imports) ? "test_imports"
                      : (!cJSON_IsArray(tl) || !cJSON_GetArraySize(tl)) ? "test_list" : NULL;
    if (bad)
        return ut_err(err, errlen, "%s: record %ld: field '%s': missing or of the wrong type",
                      c->file, recno, bad);
    const cJSON *it;
    cJSON_ArrayForEach(it, tl) if (!cJSON_IsString(it)) return ut_err(
        err, errlen, "%s: record %ld: field 'test_list': not a list of strings", c->file,
        recno);
    size_t setup_len = 1;
    cJSON_ArrayForEach(it, imports)
    {
        if (!cJSON_IsString(it))
            return ut_err(err, errlen, "%s: record %ld: field 'test_imports': not a list of "
                                       "strings", c->file, recno);
        setup_len += strlen(it->valuestring) + 1;
    }
    int task = tid->valueint;
    char *ep = mbpp_entry_point(code, cJSON_GetArrayItem(tl, 0)->valuestring);
    if (!ep)
        return ut_err(err, errlen, "%s: record %ld: field 'code': no function defined in it is "
                                   "called by the first test", c->file, recno);
    char *setup = malloc(setup_len);
    if (!setup) {
        free(ep);
        return ut_err(err, errlen, "out of memory");
    }
    setup[0] = 0;
    cJSON_ArrayForEach(it, imports)
    {
        if (setup[0])
            strcat(setup, "\n");
        strcat(setup, it->valuestring);
    }
    char id[64], sid[32];
    snprintf(id, sizeof id, "%s-%d", c->e->id_prefix, task);
    snprintf(sid, sizeof sid, "%d", task);
    cJSON *r = code_head(c->e, id, c->out->n, sid);
    cJSON_AddStringToObject(r, "prompt", prompt);
    cJSON_AddStringToObject(r, "starter_code", "");
    cJSON_AddStringToObject(r, "entry_point", ep);
    cJSON_AddStringToObject(r, "test_format", "assert_code");
    cJSON *tests = cJSON_AddArrayToObject(r, "tests");
    cJSON_ArrayForEach(it, tl)
    {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "code", it->valuestring);
        cJSON_AddBoolToObject(t, "public", 1);
        cJSON_AddItemToArray(tests, t);
    }
    code_tail(r, setup, code);
    cJSON *md = cJSON_AddObjectToObject(r, "metadata");
    /* MBPP README: 1-10 prompt, 11-510 test, 511-600 validation, 601-974 train */
    cJSON_AddStringToObject(md, "split", task <= 10 ? "prompt" : task <= 510 ? "test"
                                         : task <= 600 ? "validation" : "train");
    const char *sf = str_field(j, "source_file");
    cJSON_AddStringToObject(md, "source_file", sf ? sf : "");
    free(ep);
    free(setup);
    return finish(c->out, r, "metadata", err, errlen);
}

/* "class Solution:\n    def NAME(self, ..." -> NAME (malloc'd), or NULL. */
static char *method_name(const char *starter)
{
    const char *d = strstr(starter, "def ");
    if (!d)
        return NULL;
    d += 4;
    while (*d == ' ')
        d++;
    const char *e = d;
    while (isalnum((unsigned char)*e) || *e == '_')
        e++;
    if (e == d)
        return NULL;
    char *n = malloc((size_t)(e - d) + 1);
    if (n) {
        memcpy(n, d, (size_t)(e - d));
        n[e - d] = 0;
    }
    return n;
}

/* One LiveCodeBench problem: statement, starter code and a JSON array of
 * {input, output, testtype: "stdin"|"functional"} tests.  src, when not
 * NULL, is the upstream row (code_generation_lite), whose difficulty,
 * platform, question id and contest date go into the metadata. */
static int lcb_record(jctx *c, const char *problem, const char *starter, const cJSON *tests,
                      const cJSON *src, const char *where, long recno, char *err,
                      size_t errlen)
{
    if (!cJSON_IsArray(tests) || !cJSON_GetArraySize(tests))
        return ut_err(err, errlen, "%s: %s %ld: field 'tests': expected a non-empty list",
                      c->file, where, recno);
    const cJSON *t;
    int functional = -1;
    cJSON_ArrayForEach(t, tests)
    {
        const char *tt = str_field(t, "testtype");
        if (!str_field(t, "input") || !str_field(t, "output") || !tt ||
            (strcmp(tt, "stdin") && strcmp(tt, "functional")))
            return ut_err(err, errlen, "%s: %s %ld: field 'tests': each test needs string "
                                       "input, output and testtype stdin|functional",
                          c->file, where, recno);
        int f = !strcmp(tt, "functional");
        if (functional >= 0 && f != functional)
            return ut_err(err, errlen, "%s: %s %ld: field 'tests': mixed test types", c->file,
                          where, recno);
        functional = f;
    }
    char sha[65], id[96];
    sha256_hex_of(problem, strlen(problem), sha);
    snprintf(id, sizeof id, "%s-%03zu-%.10s", c->e->id_prefix, c->out->n, sha);
    char *ep = functional ? method_name(starter) : NULL;
    if (functional && !ep)
        return ut_err(err, errlen, "%s: %s %ld: field 'starter_code': functional tests need a "
                                   "'def NAME(self, ...)' stub", c->file, where, recno);
    cJSON *r = code_head(c->e, id, c->out->n, NULL);
    cJSON_AddStringToObject(r, "prompt", problem);
    cJSON_AddStringToObject(r, "starter_code", starter);
    if (ep)
        cJSON_AddStringToObject(r, "entry_point", ep);
    else
        cJSON_AddNullToObject(r, "entry_point");
    free(ep);
    cJSON_AddStringToObject(r, "test_format", functional ? "functional_call" : "stdin_stdout");
    cJSON *arr = cJSON_AddArrayToObject(r, "tests");
    cJSON_ArrayForEach(t, tests)
    {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "input", str_field(t, "input"));
        cJSON_AddStringToObject(o, "output", str_field(t, "output"));
        cJSON_AddBoolToObject(o, "public", 1);
        cJSON_AddItemToArray(arr, o);
    }
    code_tail(r, "", NULL);
    cJSON *md = cJSON_AddObjectToObject(r, "metadata");
    cJSON_AddStringToObject(md, "platform_inferred", functional ? "leetcode" : "atcoder");
    cJSON_AddStringToObject(md, "question_content_sha256", sha);
    cJSON_AddBoolToObject(md, "private_tests_included", 0);
    cJSON_AddStringToObject(md, "lcb_release", c->e->lcb_release ? c->e->lcb_release : "");
    cJSON_AddStringToObject(md, "contest_date_window", c->e->lcb_window ? c->e->lcb_window : "");
    static const char *const up[] = {"difficulty", "platform", "question_id", "contest_date"};
    for (size_t k = 0; src && k < sizeof up / sizeof up[0]; k++) {
        const char *v = str_field(src, up[k]);
        if (v && *v)
            cJSON_AddStringToObject(md, up[k], v);
    }
    return finish(c->out, r, "metadata", err, errlen);
}

/* code_generation_lite row: question_content, starter_code, public_test_cases
 * (a JSON string).  Hidden tests (private_test_cases: base64 zlib pickle)
 * are not decoded. */
static int row_lcb(void *vc, const cJSON *j, long line, char *err, size_t errlen)
{
    jctx *c = vc;
    const char *q = str_field(j, "question_content"), *st = str_field(j, "starter_code");
    const char *pub = str_field(j, "public_test_cases");
    if (!q || !st || !pub)
        return ut_err(err, errlen, "%s:%ld: field '%s': missing or not a string", c->file, line,
                      !q ? "question_content" : !st ? "starter_code" : "public_test_cases");
    cJSON *tests = cJSON_Parse(pub);
    if (!tests) {
        return ut_err(err, errlen, "%s:%ld: field 'public_test_cases': not valid JSON", c->file,
                      line);
    }
    int r = lcb_record(c, q, st, tests, j, "line", line, err, errlen);
    cJSON_Delete(tests);
    return r;
}

/* ------------------------------------------------------------ whole-file loaders */

static int read_gz(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
    gzFile g = gzopen(path, "rb");
    if (!g)
        return ut_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 20, n = 0;
    char *b = malloc(cap + 1);
    for (;;) {
        if (!b) {
            gzclose(g);
            return ut_err(err, errlen, "%s: out of memory", path);
        }
        int r = gzread(g, b + n, (unsigned)(cap - n));
        if (r < 0) {
            int zerr;
            const char *m = gzerror(g, &zerr);
            ut_err(err, errlen, "%s: gzip data is corrupt: %s", path, m);
            free(b);
            gzclose(g);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == cap) {
            if (cap >= GZ_MAX) {
                free(b);
                gzclose(g);
                return ut_err(err, errlen, "%s: decompresses to more than %zu bytes", path,
                              GZ_MAX);
            }
            char *nb = realloc(b, 2 * cap + 1);
            if (!nb)
                free(b);
            b = nb;
            cap *= 2;
        }
    }
    gzclose(g);
    b[n] = 0;
    *out = b;
    *len = n;
    return 0;
}

static int load_json_array(const ds_entry *e, const char *file, const char *rpath,
                           ds_set *out, char *err, size_t errlen)
{
    char *buf;
    size_t n;
    if (ut_read_file(file, SOURCE_MAX, &buf, &n, err, errlen))
        return -1;
    cJSON *arr = cJSON_ParseWithLength(buf, n);
    free(buf);
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(arr);
        return ut_err(err, errlen, "%s: expected a JSON array of records", file);
    }
    jctx c = {e, out, file, rpath};
    long recno = 0;
    const cJSON *it;
    int rc = 0;
    cJSON_ArrayForEach(it, arr)
    {
        recno++;
        if (!cJSON_IsObject(it)) {
            rc = ut_err(err, errlen, "%s: record %ld: not a JSON object", file, recno);
            break;
        }
        if (e->format == DS_FMT_MBPP_JSON)
            rc = row_mbpp(&c, it, recno, err, errlen);
        else
            rc = lcb_record(&c, str_field(it, "problem") ? str_field(it, "problem") : "",
                            str_field(it, "starter_code") ? str_field(it, "starter_code") : "",
                            cJSON_GetObjectItemCaseSensitive(it, "tests"), NULL, "record", recno,
                            err, errlen);
        if (!rc && e->format == DS_FMT_RLLM_LCB_JSON && !str_field(it, "problem"))
            rc = ut_err(err, errlen, "%s: record %ld: field 'problem': missing or not a string",
                        file, recno);
        if (rc)
            break;
    }
    cJSON_Delete(arr);
    return rc;
}

int ds_load_source(const ds_entry *e, char *const *files, size_t nfiles, ds_set *out,
                   char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int rc = -1;
    if (e->format == DS_FMT_MATHARENA_TEX) {
        rc = load_matharena_tex(e, files, nfiles, out, err, errlen);
    } else if (nfiles < 1) {
        rc = ut_err(err, errlen, "%s: no source file", e->name);
    } else if (e->format == DS_FMT_MBPP_JSON || e->format == DS_FMT_RLLM_LCB_JSON) {
        rc = load_json_array(e, files[0], e->parts[0].path, out, err, errlen);
    } else if (e->format == DS_FMT_NORMALIZED) {
        rc = ds_load_normalized(files[0], out, err, errlen);
    } else if (e->format == DS_FMT_IMOBENCH_CSV) {
        rc = load_imobench_csv(e, files[0], out, err, errlen);
    } else {
        char *buf;
        size_t n;
        int r = e->format == DS_FMT_HUMANEVAL_GZ
                    ? read_gz(files[0], &buf, &n, err, errlen)
                    : ut_read_file(files[0], SOURCE_MAX, &buf, &n, err, errlen);
        if (r == 0) {
            jctx c = {e, out, files[0], e->parts[0].path};
            int (*fn)(void *, const cJSON *, long, char *, size_t) =
                e->format == DS_FMT_MATHAI_JSONL      ? row_mathai
                : e->format == DS_FMT_MATHARENA_JSONL ? row_matharena
                : e->format == DS_FMT_HUMANEVAL_GZ    ? row_humaneval
                                                      : row_lcb;
            rc = each_jsonl(files[0], buf, n, fn, &c, err, errlen);
            free(buf);
        }
    }
    if (rc == 0 && out->n == 0)
        rc = ut_err(err, errlen, "%s: the source holds no records", e->name);
    if (rc)
        ds_set_free(out);
    return rc;
}

/* ------------------------------------------------------------ normalized JSONL */

typedef struct {
    ds_set *out;
    const char *file;
} nctx;

static int row_normalized(void *vc, const cJSON *j, long line, char *err, size_t errlen)
{
    nctx *c = vc;
    static const char *common[] = {"id", "benchmark", "task"};
    for (int i = 0; i < 3; i++)
        if (!str_field(j, common[i]))
            return ut_err(err, errlen, "%s:%ld: field '%s': missing or not a string", c->file,
                          line, common[i]);
    const cJSON *ix = cJSON_GetObjectItemCaseSensitive(j, "index");
    if (!cJSON_IsNumber(ix) || ix->valuedouble < 0 || ix->valuedouble > INT_MAX)
        return ut_err(err, errlen, "%s:%ld: field 'index': expected a non-negative integer",
                      c->file, line);
    const char *task = str_field(j, "task");
    if (!strcmp(task, "math")) {
        if (!str_field(j, "problem") || !str_field(j, "answer"))
            return ut_err(err, errlen, "%s:%ld: field '%s': missing or not a string", c->file,
                          line, str_field(j, "problem") ? "answer" : "problem");
    } else if (!strcmp(task, "code")) {
        if (!str_field(j, "prompt"))
            return ut_err(err, errlen, "%s:%ld: field 'prompt': missing or not a string",
                          c->file, line);
        if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "tests")))
            return ut_err(err, errlen, "%s:%ld: field 'tests': missing or not a list", c->file,
                          line);
    } else {
        return ut_err(err, errlen, "%s:%ld: field 'task': expected \"math\" or \"code\", "
                                   "found \"%.20s\"", c->file, line, task);
    }
    return push(c->out, cJSON_Duplicate(j, 1), err, errlen);
}

int ds_load_normalized(const char *path, ds_set *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char *buf;
    size_t n;
    if (ut_read_file(path, SOURCE_MAX, &buf, &n, err, errlen))
        return -1;
    nctx c = {out, path};
    int rc = each_jsonl(path, buf, n, row_normalized, &c, err, errlen);
    free(buf);
    if (rc)
        ds_set_free(out);
    return rc;
}

/* ------------------------------------------------------------ digest, output */

static void hash_str(sha256_ctx *c, const char *s)
{
    if (s)
        sha256_update(c, s, strlen(s) + 1); /* the NUL separates fields */
    else
        sha256_update(c, "\xff", 1);        /* null: not a valid UTF-8 string */
}

void ds_records_sha256(const ds_set *s, char out[65])
{
    sha256_ctx c;
    sha256_init(&c);
    for (size_t i = 0; i < s->n; i++) {
        const cJSON *r = s->rec[i];
        hash_str(&c, str_field(r, "id"));
        if (str_field(r, "problem")) {
            hash_str(&c, str_field(r, "problem"));
            hash_str(&c, str_field(r, "answer"));
            continue;
        }
        hash_str(&c, str_field(r, "prompt"));
        hash_str(&c, str_field(r, "entry_point"));
        const cJSON *t;
        cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(r, "tests"))
        {
            hash_str(&c, str_field(t, "code"));
            hash_str(&c, str_field(t, "input"));
            hash_str(&c, str_field(t, "output"));
        }
        hash_str(&c, NULL); /* end of the record's tests */
    }
    unsigned char d[32];
    sha256_final(&c, d);
    sha256_hex(d, out);
}

int ds_write_jsonl(const ds_set *s, FILE *f)
{
    for (size_t i = 0; i < s->n; i++) {
        char *line = cJSON_PrintUnformatted(s->rec[i]);
        if (!line)
            return -1;
        int ok = fputs(line, f) >= 0 && fputc('\n', f) != EOF;
        free(line);
        if (!ok)
            return -1;
    }
    return fflush(f) == 0 ? 0 : -1;
}
