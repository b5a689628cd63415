/*
 * cli_logits.c — `zeval logits`: raw float32 logits of the built-in engine,
 * one row of vocab_size per input id (a stable contract for external
 * checks).
 *
 * Modes: prefill (one forward over all ids), step (one token at a time
 * through the cache), prefix:P (prefill P ids, then step), chunks:K (K
 * nearly equal chunks through the cache; chunked prefill).
 */
#define _POSIX_C_SOURCE 200809L
#include "args.h"
#include "cli.h"
#include "../engine/model.h"
#include "../engine/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: zeval logits --model DIR [--weights FILE] --ids 2,17,5,...\n"
    "                    [--mode prefill|step|prefix:P|chunks:K] [--out FILE]\n"
    "                    [--skip-output scaled-input|zero] [--threads N]\n";

/* Feeds ids[0..n) in pieces of the given sizes, writing n logits rows. */
static int run_pieces(const eng_model *m, eng_seq *s, const int32_t *ids, const int *sizes,
                      int npieces, float *logits, char *err, size_t errlen)
{
    size_t V = (size_t)m->cfg.vocab;
    int off = 0;
    for (int i = 0; i < npieces; i++) {
        eng_chunk c = {s, ids + off, sizes[i], logits + (size_t)off * V, 1};
        if (eng_forward(m, &c, 1, err, errlen))
            return -1;
        off += sizes[i];
    }
    return 0;
}

int cli_logits(int argc, char **argv)
{
    args_opt o[] = {{"model", 1, NULL}, {"weights", 1, NULL}, {"ids", 1, NULL},
                    {"mode", 1, NULL},  {"out", 1, NULL},     {"skip-output", 1, NULL},
                    {"threads", 1, NULL}, {"help", 0, NULL}};
    int no = (int)(sizeof o / sizeof o[0]);
    char err[2048];
    if (args_parse(argc, argv, o, no, err, sizeof err)) {
        fprintf(stderr, "zeval logits: %s\n%s", err, usage);
        return 2;
    }
    if (args_get(o, no, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    const char *dir = args_get(o, no, "model"), *ids_s = args_get(o, no, "ids");
    const char *mode = args_get(o, no, "mode"), *out = args_get(o, no, "out");
    const char *skip = args_get(o, no, "skip-output");
    if (!dir || !ids_s) {
        fprintf(stderr, "zeval logits: --model and --ids are required\n%s", usage);
        return 2;
    }
    if (cli_threads(args_get(o, no, "threads"), err, sizeof err)) {
        fprintf(stderr, "zeval logits: %s\n", err);
        return 2;
    }
    if (!mode)
        mode = "prefill";
    eng_skip_mode sm = ENG_SKIP_SCALED_INPUT;
    if (skip && strcmp(skip, "zero") == 0)
        sm = ENG_SKIP_ZERO;
    else if (skip && strcmp(skip, "scaled-input") != 0) {
        fprintf(stderr, "zeval logits: --skip-output must be scaled-input or zero\n");
        return 2;
    }
    int *ids = NULL, n = 0;
    if (args_ids(ids_s, &ids, &n, err, sizeof err)) {
        fprintf(stderr, "zeval logits: %s\n", err);
        return 2;
    }
    /* Pieces by mode. */
    int *sizes = malloc((size_t)n * sizeof *sizes), np = 0;
    if (!sizes) {
        free(ids);
        return cli_fail(1, "out of memory");
    }
    long P = 0;
    if (strcmp(mode, "prefill") == 0) {
        sizes[np++] = n;
    } else if (strcmp(mode, "step") == 0) {
        for (int i = 0; i < n; i++)
            sizes[np++] = 1;
    } else if (strncmp(mode, "prefix:", 7) == 0 &&
               args_count(mode + 7, "--mode prefix:P", &P, err, sizeof err) == 0 && P <= n) {
        if (P > 0)
            sizes[np++] = (int)P;
        for (long i = P; i < n; i++)
            sizes[np++] = 1;
    } else if (strncmp(mode, "chunks:", 7) == 0 &&
               args_count(mode + 7, "--mode chunks:K", &P, err, sizeof err) == 0 && P >= 1 &&
               P <= n) {
        for (long i = 0; i < P; i++)
            sizes[np++] = (int)((i + 1) * n / P - i * n / P);
    } else {
        fprintf(stderr, "zeval logits: --mode '%s': expected prefill, step, prefix:P (0 <= P <= "
                        "%d) or chunks:K (1 <= K <= %d)\n", mode, n, n);
        free(ids);
        free(sizes);
        return 2;
    }
    if (!out && isatty(STDOUT_FILENO)) {
        free(ids);
        free(sizes);
        return cli_fail(2, "logits: refusing to write binary float32 to a terminal; use --out "
                           "FILE or redirect stdout");
    }

    int status = 1;
    eng_model *m = NULL;
    eng_seq *s = NULL;
    float *logits = NULL;
    int32_t *ids32 = malloc((size_t)n * sizeof *ids32);
    if (!ids32) {
        snprintf(err, sizeof err, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++)
        ids32[i] = ids[i];
    if (eng_model_load(dir, args_get(o, no, "weights"), &m, err, sizeof err))
        goto done;
    m->skip_mode = sm;
    s = eng_seq_new(m);
    logits = malloc((size_t)n * (size_t)m->cfg.vocab * sizeof(float));
    if (!s || !logits) {
        snprintf(err, sizeof err, "out of memory for %d x %d logits", n, m->cfg.vocab);
        goto done;
    }
    if (run_pieces(m, s, ids32, sizes, np, logits, err, sizeof err))
        goto done;
    FILE *f = out ? fopen(out, "wb") : stdout;
    if (!f) {
        snprintf(err, sizeof err, "%s: cannot create: %s", out, strerror(errno));
        goto done;
    }
    size_t cnt = (size_t)n * (size_t)m->cfg.vocab;
    /* float32 little-endian: the in-memory layout on every supported host */
    int ok = fwrite(logits, sizeof(float), cnt, f) == cnt;
    ok = (out ? fclose(f) == 0 : fflush(f) == 0) && ok;
    if (!ok) {
        snprintf(err, sizeof err, "%s: write failed", out ? out : "stdout");
        goto done;
    }
    status = 0;
done:
    if (status)
        cli_fail(1, err);
    free(logits);
    eng_seq_free(s);
    eng_model_free(m);
    free(ids32);
    free(ids);
    free(sizes);
    return status;
}
