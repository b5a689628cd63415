/*
 * cli_grade.c — `zeval grade --jsonl FILE|-`: one verdict per input line.
 *
 * Each line is an object with "response", "gold", "answer_type"
 * ("integer", "expression" or "list") and optionally "integer_range"
 * ([lo, hi]).  The output line, in input order, is the same object with
 * "extracted", "normalized", "correct" and "reason" set.  A malformed line
 * is reported on stderr with its line number and skipped; the others are
 * still graded, and the exit status is then 1.
 */
#include "args.h"
#include "cli.h"
#include "../engine/util.h"
#include "../graders/math_grade.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "usage: zeval grade --jsonl FILE   (FILE '-' reads stdin)\n";

/* Lines longer than this are rejected (a response is at most a few MB). */
#define LINE_MAX_BYTES ((size_t)256 << 20)

static void set_string(cJSON *o, const char *key, const char *val)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    if (val)
        cJSON_AddStringToObject(o, key, val);
    else
        cJSON_AddNullToObject(o, key);
}

/* Reads the gold spec fields of one line; 0 or -1 with a message. */
static int read_spec(const cJSON *o, math_gold_spec *spec, char *err, size_t errlen)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "answer_type");
    int type = cJSON_IsString(t) ? math_answer_type_parse(t->valuestring) : -1;
    if (type < 0) {
        snprintf(err, errlen,
                 "field 'answer_type' must be \"integer\", \"expression\" or \"list\"");
        return -1;
    }
    memset(spec, 0, sizeof *spec);
    spec->type = (math_answer_type)type;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "integer_range");
    if (r && !cJSON_IsNull(r)) {
        const cJSON *lo = cJSON_GetArrayItem(r, 0), *hi = cJSON_GetArrayItem(r, 1);
        long long l, h;
        if (!cJSON_IsArray(r) || cJSON_GetArraySize(r) != 2 || !cJSON_IsNumber(lo) ||
            !cJSON_IsNumber(hi) || !ut_double_to_ll(lo->valuedouble, &l) ||
            !ut_double_to_ll(hi->valuedouble, &h) || l > h) {
            snprintf(err, errlen, "field 'integer_range' must be [lo, hi] with integers lo <= hi");
            return -1;
        }
        spec->has_range = 1;
        spec->range_lo = l;
        spec->range_hi = h;
    }
    return 0;
}

/* Grades one parsed line in place; 0 or -1 with a message. */
static int grade_line(cJSON *o, char *err, size_t errlen)
{
    if (!cJSON_IsObject(o)) {
        snprintf(err, errlen, "not a JSON object");
        return -1;
    }
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(o, "response");
    const cJSON *gold = cJSON_GetObjectItemCaseSensitive(o, "gold");
    if (!cJSON_IsString(resp)) {
        snprintf(err, errlen, "field 'response' must be a string");
        return -1;
    }
    char numbuf[64];
    const char *g = NULL;
    long long gi;
    if (cJSON_IsString(gold)) {
        g = gold->valuestring;
    } else if (cJSON_IsNumber(gold) && ut_double_to_ll(gold->valuedouble, &gi)) {
        snprintf(numbuf, sizeof numbuf, "%lld", gi);
        g = numbuf;
    } else {
        snprintf(err, errlen, "field 'gold' must be a string (or an integer)");
        return -1;
    }
    math_gold_spec spec;
    if (read_spec(o, &spec, err, errlen))
        return -1;
    math_verdict v;
    if (math_grade(resp->valuestring, strlen(resp->valuestring), g, &spec, &v)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    set_string(o, "extracted", v.extracted);
    set_string(o, "normalized", v.normalized);
    cJSON_DeleteItemFromObjectCaseSensitive(o, "correct");
    cJSON_AddBoolToObject(o, "correct", v.correct);
    set_string(o, "reason", math_reason_name(v.reason));
    math_verdict_free(&v);
    return 0;
}

int cli_grade(int argc, char **argv)
{
    args_opt o[] = {{"jsonl", 1, NULL}, {"help", 0, NULL}};
    int no = (int)(sizeof o / sizeof o[0]);
    char err[1024];
    if (args_parse(argc, argv, o, no, err, sizeof err)) {
        fprintf(stderr, "zeval grade: %s\n%s", err, usage);
        return 2;
    }
    if (args_get(o, no, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    const char *path = args_get(o, no, "jsonl");
    if (!path) {
        fprintf(stderr, "zeval grade: --jsonl FILE is required\n%s", usage);
        return 2;
    }
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        snprintf(err, sizeof err, "cannot open %s", path);
        return cli_fail(1, err);
    }
    const char *name = f == stdin ? "<stdin>" : path;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0, bad = 0;
    int status = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if ((size_t)n > LINE_MAX_BYTES) {
            fprintf(stderr, "zeval grade: %s:%ld: line longer than %zu bytes\n", name, lineno,
                    LINE_MAX_BYTES);
            bad++;
            continue;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = 0;
        if (strspn(line, " \t") == (size_t)n)
            continue;
        cJSON *obj = cJSON_ParseWithLength(line, (size_t)n);
        if (!obj) {
            fprintf(stderr, "zeval grade: %s:%ld: malformed JSON\n", name, lineno);
            bad++;
            continue;
        }
        if (grade_line(obj, err, sizeof err)) {
            fprintf(stderr, "zeval grade: %s:%ld: %s\n", name, lineno, err);
            bad++;
        } else {
            char *out = cJSON_PrintUnformatted(obj);
            if (!out) {
                fprintf(stderr, "zeval grade: %s:%ld: out of memory\n", name, lineno);
                status = 1;
            } else {
                fputs(out, stdout);
                fputc('\n', stdout);
                cJSON_free(out);
            }
        }
        cJSON_Delete(obj);
    }
    if (ferror(f)) {
        fprintf(stderr, "zeval grade: read error on %s\n", name);
        status = 1;
    }
    free(line);
    if (f != stdin)
        fclose(f);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "zeval grade: cannot write the output\n");
        status = 1;
    }
    if (bad) {
        fprintf(stderr, "zeval grade: %ld malformed line%s skipped\n", bad, bad == 1 ? "" : "s");
        status = 1;
    }
    return status;
}
