/*
 * cli_export.c — `zeval export`: a run's samples as JSON Lines, for
 * analysis outside zeval (pandas, jq).
 *
 * Samples stream from the store one at a time, so memory stays bounded
 * whatever the run's size.  With --out the file is written beside its
 * destination and renamed into place only when complete, so a failed
 * export never leaves a truncated file that looks whole.
 */
#define _POSIX_C_SOURCE 200809L
#include "args.h"
#include "cli.h"
#include "store.h"
#include "../engine/util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: zeval export NAME [--db FILE] [--out FILE] [--ids] [--problem ID] [--round R]\n"
    "  the samples of run NAME (and of NAME/...) as JSON Lines, one sample a line;\n"
    "  --problem and --round keep those of one problem, of one round\n";

typedef struct {
    FILE *f;
    const char *run, *path;
    int ids;
    int round; /* keep only this round, or -1 */
    int werr; /* errno of a failed write, or 0 */
    long long n;
} export_ctx;

/* One sample as one line of JSON. */
static int export_one(const store_sample *x, void *vctx)
{
    export_ctx *c = vctx;
    if (c->round >= 0 && x->round != c->round)
        return 0;
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return -1;
    char seed[24];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)x->seed);
    cJSON_AddStringToObject(j, "run", c->run);
    cJSON_AddStringToObject(j, "problem_id", x->problem_id);
    cJSON_AddNumberToObject(j, "round", x->round);
    cJSON_AddNumberToObject(j, "candidate", x->candidate);
    cJSON *parents = cJSON_Parse(x->parents);
    if (parents)
        cJSON_AddItemToObject(j, "parents", parents);
    else
        cJSON_AddStringToObject(j, "parents", x->parents);
    cJSON_AddStringToObject(j, "seed", seed);
    cJSON_AddNumberToObject(j, "prompt_tokens", x->prompt_tokens);
    cJSON_AddNumberToObject(j, "gen_tokens", x->gen_tokens);
    cJSON_AddStringToObject(j, "finish_reason", x->finish_reason);
    if (x->correct < 0)
        cJSON_AddNullToObject(j, "correct");
    else
        cJSON_AddBoolToObject(j, "correct", x->correct);
    if (x->extracted)
        cJSON_AddStringToObject(j, "extracted", x->extracted);
    else
        cJSON_AddNullToObject(j, "extracted");
    if (x->reason)
        cJSON_AddStringToObject(j, "reason", x->reason);
    cJSON_AddStringToObject(j, "text", x->text ? x->text : "");
    cJSON_AddStringToObject(j, "tail", x->tail ? x->tail : "");
    cJSON_AddNumberToObject(j, "tail_tokens", x->tail_tokens);
    if (x->prompt)
        cJSON_AddStringToObject(j, "prompt", x->prompt);
    cJSON_AddNumberToObject(j, "started_at", x->started_at);
    cJSON_AddNumberToObject(j, "finished_at", x->finished_at);
    if (c->ids) {
        cJSON *a = cJSON_AddArrayToObject(j, "gen_ids");
        for (int i = 0; a && i < x->gen_tokens; i++)
            cJSON_AddItemToArray(a, cJSON_CreateNumber(x->gen_ids[i]));
    }
    char *t = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!t)
        return -1;
    errno = 0;
    int bad = fputs(t, c->f) == EOF || fputc('\n', c->f) == EOF;
    free(t);
    if (bad) {
        c->werr = errno ? errno : EIO;
        return -1;
    }
    c->n++;
    return 0;
}

int cli_export(int argc, char **argv)
{
    args_opt o[] = {{"db", 1, NULL},      {"out", 1, NULL},   {"ids", 0, NULL},
                    {"problem", 1, NULL}, {"round", 1, NULL}, {"help", 0, NULL}};
    int no = 6;
    char err[4096];
    const char *name = NULL;
    if (argc >= 1 && strncmp(argv[0], "--", 2) != 0) {
        name = argv[0];
        argc--;
        argv++;
    }
    if (args_parse(argc, argv, o, no, err, sizeof err)) {
        fprintf(stderr, "zeval export: %s\n%s", err, usage);
        return 2;
    }
    if (args_get(o, no, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!name) {
        fputs(usage, stderr);
        return 2;
    }
    long round = -1;
    if (args_get(o, no, "round") &&
        args_count(args_get(o, no, "round"), "--round", &round, err, sizeof err)) {
        fprintf(stderr, "zeval export: %s\n%s", err, usage);
        return 2;
    }
    const char *problem = args_get(o, no, "problem");
    const char *dbpath = args_get(o, no, "db") ? args_get(o, no, "db") : "zeval.db";
    const char *out = args_get(o, no, "out");
    store *db = NULL;
    char **names = NULL, *tmp = NULL;
    size_t nn = 0;
    int status = 1;
    export_ctx c = {stdout, NULL, out ? out : "standard output", args_get(o, no, "ids") != NULL,
                    round > 1 << 20 ? 1 << 20 : (int)round, 0, 0};
    if (cli_db_open(dbpath, &db, err, sizeof err) ||
        cli_run_names(db, name, &names, &nn, err, sizeof err))
        goto done;
    if (out) {
        size_t k = strlen(out) + 16;
        if (!(tmp = malloc(k))) {
            snprintf(err, sizeof err, "out of memory");
            goto done;
        }
        snprintf(tmp, k, "%s.part", out);
        if (!(c.f = fopen(tmp, "w"))) {
            ut_err(err, sizeof err, "%s: cannot write: %s", tmp, strerror(errno));
            goto done;
        }
    }
    for (size_t i = 0; i < nn; i++) {
        store_run r;
        int e = store_run_get(db, names[i], &r, err, sizeof err);
        if (e != 1)
            goto done;
        c.run = names[i];
        err[0] = 0;
        e = store_samples_each(db, r.id, problem, 1, export_one, &c, err, sizeof err);
        store_run_free(&r);
        if (e) {
            if (c.werr)
                snprintf(err, sizeof err, "%s: write failed: %s", c.path, strerror(c.werr));
            else if (!err[0])
                snprintf(err, sizeof err, "out of memory");
            goto done;
        }
    }
    if ((problem || round >= 0) && c.n == 0) { /* a filter that matches nothing: a typo? */
        char what[600] = "", rd[32] = "";
        if (round >= 0)
            snprintf(rd, sizeof rd, "round %ld", round);
        if (problem)
            snprintf(what, sizeof what, "problem '%.500s'%s%s", problem, rd[0] ? ", " : "", rd);
        else
            snprintf(what, sizeof what, "%s", rd);
        snprintf(err, sizeof err, "%s: no sample of %s in run %s", dbpath, what, name);
        goto done;
    }
    if (fflush(c.f) != 0 || ferror(c.f)) {
        snprintf(err, sizeof err, "%s: write failed: %s", c.path, strerror(errno ? errno : EIO));
        goto done;
    }
    if (out) {
        FILE *f = c.f;
        c.f = stdout;
        if (fclose(f) != 0 || rename(tmp, out) != 0) {
            ut_err(err, sizeof err, "%s: cannot write: %s", out, strerror(errno));
            unlink(tmp);
            goto done;
        }
        fprintf(stderr, "zeval export: %lld samples of %zu run%s to %s\n", c.n, nn,
                nn == 1 ? "" : "s", out);
    }
    status = 0;
done:
    if (c.f && c.f != stdout) {
        fclose(c.f);
        unlink(tmp);
    }
    if (status)
        cli_fail(1, err);
    free(tmp);
    store_names_free(names, nn);
    store_close(db);
    return status;
}
