/*
 * cli_tokenize.c — `zeval tokenize` and `zeval detokenize`.
 *
 * tokenize: stdin verbatim (nothing stripped) -> ids on one line; with
 * --jsonl, each line {"text": ...} -> {"ids": [...]}.  detokenize: ids
 * separated by whitespace -> the text, no newline added.
 */
#include "args.h"
#include "cli.h"
#include "../engine/tokenizer.h"
#include "../engine/util.h"

#include <cjson/cJSON.h>
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

/* Reads all of stdin into a malloc'd buffer. */
static char *read_stdin(size_t *n)
{
    size_t cap = 1 << 16, len = 0;
    char *b = malloc(cap + 1);
    while (b) {
        size_t r = fread(b + len, 1, cap - len, stdin);
        len += r;
        if (len < cap)
            break;
        if (cap >= STDIN_MAX) {
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
    char *in = read_stdin(&n);
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
        *e = 0;
        if (p == e || (e == p + 1 && *p == '\r'))
            continue;
        cJSON *j = cJSON_Parse(p);
        const cJSON *tx = j ? cJSON_GetObjectItemCaseSensitive(j, "text") : NULL;
        if (!cJSON_IsString(tx)) {
            snprintf(err, sizeof err, "stdin line %ld: expected a JSON object with a string "
                                      "field 'text'", line);
            cJSON_Delete(j);
            goto done;
        }
        int r = tok_encode(t, tx->valuestring, strlen(tx->valuestring), add, &ids, &nids, err,
                           sizeof err);
        cJSON_Delete(j);
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
    char *in = read_stdin(&n);
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
