/*
 * cli_grade_code.c — `zeval grade-code --jsonl FILE|-`: run code answers
 * in the sandbox, one verdict line per input line, in input order.
 *
 * Each input line is {"problem": <code-schema record>, "response": "..."};
 * the output line is the same object plus "verdict", "passed_tests",
 * "total_tests", "first_failure" (null when passed) and "time_ms".  Lines
 * are graded in parallel (--jobs, default: the number of CPUs).  A
 * malformed line is reported on stderr with its number and skipped (exit
 * status 1).  The sandbox is probed once, beside the grading: if the kernel
 * refuses an isolation feature the command fails naming it (no result is
 * printed), unless --unsafe-no-sandbox is given.
 */
#include "args.h"
#include "cli.h"
#include "../graders/code_grade.h"
#include "../graders/sandbox.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: zeval grade-code --jsonl FILE [--warm] [--all-tests] [--timeout S] [--jobs N]\n"
    "                        [--python PATH] [--unsafe-no-sandbox]\n"
    "  FILE '-' reads stdin; each line {\"problem\": {...}, \"response\": \"...\"}\n";

#define LINE_MAX_BYTES ((size_t)256 << 20)

typedef struct {
    const char *python;
    int ok;
    char why[512];
    pthread_t th;
} probe_job;

static void *probe_main(void *arg)
{
    probe_job *j = arg;
    j->ok = sbx_probe(j->python, j->why, sizeof j->why);
    return NULL;
}

/* Waits for the probe; 0 if the sandbox can be built (or was not asked). */
static int probe_wait(probe_job *j, int *probing)
{
    if (*probing) {
        pthread_join(j->th, NULL);
        *probing = 0;
    }
    if (j->ok)
        return 0;
    fprintf(stderr,
            "zeval grade-code: the sandbox cannot be built here: %s\n"
            "  (refusing to run untrusted code; --unsafe-no-sandbox runs it without "
            "isolation)\n",
            j->why);
    return -1;
}

typedef struct {
    cJSON *obj;          /* NULL: a malformed line (already reported) */
    code_problem prob;
    const char *resp;    /* borrowed from obj */
} item;

int cli_grade_code(int argc, char **argv)
{
    args_opt o[] = {{"jsonl", 1, NULL},   {"warm", 0, NULL},   {"all-tests", 0, NULL},
                    {"timeout", 1, NULL}, {"jobs", 1, NULL},   {"python", 1, NULL},
                    {"unsafe-no-sandbox", 0, NULL}, {"help", 0, NULL}};
    int no = (int)(sizeof o / sizeof o[0]);
    char err[1024];
    if (args_parse(argc, argv, o, no, err, sizeof err)) {
        fprintf(stderr, "zeval grade-code: %s\n%s", err, usage);
        return 2;
    }
    if (args_get(o, no, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    const char *path = args_get(o, no, "jsonl");
    if (!path) {
        fprintf(stderr, "zeval grade-code: --jsonl FILE is required\n%s", usage);
        return 2;
    }
    code_options opt;
    memset(&opt, 0, sizeof opt);
    opt.warm = args_get(o, no, "warm") != NULL;
    opt.all_tests = args_get(o, no, "all-tests") != NULL;
    opt.unsafe = args_get(o, no, "unsafe-no-sandbox") != NULL;
    opt.python = args_get(o, no, "python");
    long jobs = 0;
    const char *v;
    if ((v = args_get(o, no, "timeout")) != NULL) {
        if (args_float(v, "--timeout", &opt.timeout_s, err, sizeof err) || opt.timeout_s <= 0 ||
            opt.timeout_s > 3600) {
            fprintf(stderr, "zeval grade-code: --timeout must be a number of seconds in (0, 3600]\n");
            return 2;
        }
    }
    if ((v = args_get(o, no, "jobs")) != NULL) {
        if (args_count(v, "--jobs", &jobs, err, sizeof err) || jobs < 1 || jobs > 256) {
            fprintf(stderr, "zeval grade-code: --jobs must be an integer in [1, 256]\n");
            return 2;
        }
    }
    /* The probe runs beside the reading and grading (it costs as much as a
     * sandbox start); its verdict is awaited before any result is printed. */
    probe_job probe;
    memset(&probe, 0, sizeof probe);
    probe.python = opt.python;
    probe.ok = 1;
    int probing = 0;
    if (!opt.unsafe) {
        probing = pthread_create(&probe.th, NULL, probe_main, &probe) == 0;
        if (!probing)
            probe_main(&probe);
    } else {
        fprintf(stderr, "zeval grade-code: WARNING: --unsafe-no-sandbox: programs run without "
                        "isolation (rlimits only)\n");
    }

    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        if (probe_wait(&probe, &probing))
            return 1;
        snprintf(err, sizeof err, "cannot open %s", path);
        return cli_fail(1, err);
    }
    const char *name = f == stdin ? "<stdin>" : path;
    item *items = NULL;
    size_t nitems = 0, cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t n;
    long lineno = 0, bad = 0;
    int status = 0;
    while ((n = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = 0;
        if (strspn(line, " \t") == (size_t)n)
            continue;
        if ((size_t)n > LINE_MAX_BYTES) {
            fprintf(stderr, "zeval grade-code: %s:%ld: line longer than %zu bytes\n", name, lineno,
                    LINE_MAX_BYTES);
            bad++;
            continue;
        }
        cJSON *obj = cJSON_ParseWithLength(line, (size_t)n);
        const cJSON *pr = obj ? cJSON_GetObjectItemCaseSensitive(obj, "problem") : NULL;
        const cJSON *rs = obj ? cJSON_GetObjectItemCaseSensitive(obj, "response") : NULL;
        code_problem prob;
        if (!obj) {
            fprintf(stderr, "zeval grade-code: %s:%ld: malformed JSON\n", name, lineno);
        } else if (!cJSON_IsObject(pr) || !cJSON_IsString(rs)) {
            fprintf(stderr,
                    "zeval grade-code: %s:%ld: need \"problem\" (object) and \"response\" "
                    "(string)\n",
                    name, lineno);
        } else if (code_problem_from_json(pr, &prob, err, sizeof err)) {
            fprintf(stderr, "zeval grade-code: %s:%ld: %s\n", name, lineno, err);
        } else {
            if (nitems == cap) {
                cap = cap ? cap * 2 : 64;
                item *ni = realloc(items, cap * sizeof *ni);
                if (!ni) {
                    code_problem_free(&prob);
                    cJSON_Delete(obj);
                    status = cli_fail(1, "out of memory");
                    goto done;
                }
                items = ni;
            }
            items[nitems].obj = obj;
            items[nitems].prob = prob;
            items[nitems].resp = rs->valuestring;
            nitems++;
            continue;
        }
        cJSON_Delete(obj);
        bad++;
    }
    if (ferror(f)) {
        fprintf(stderr, "zeval grade-code: read error on %s\n", name);
        status = 1;
    }
    {
        const code_problem **probs = calloc(nitems ? nitems : 1, sizeof *probs);
        const char **resps = calloc(nitems ? nitems : 1, sizeof *resps);
        code_result *res = calloc(nitems ? nitems : 1, sizeof *res);
        if (!probs || !resps || !res) {
            free(probs);
            free(resps);
            free(res);
            status = cli_fail(1, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < nitems; i++) {
            probs[i] = &items[i].prob;
            resps[i] = items[i].resp;
        }
        int graded = code_grade_many(probs, resps, (int)nitems, &opt, (int)jobs, res, err,
                                     sizeof err);
        if (probe_wait(&probe, &probing)) {
            status = 1; /* nothing graded in a refused sandbox is printed */
        } else if (graded) {
            fprintf(stderr, "zeval grade-code: %s\n", err);
            status = 1;
        } else {
            for (size_t i = 0; i < nitems; i++) {
                cJSON *ob = items[i].obj;
                const char *keys[] = {"verdict", "passed_tests", "total_tests", "first_failure",
                                      "time_ms"};
                for (size_t k = 0; k < 5; k++)
                    cJSON_DeleteItemFromObjectCaseSensitive(ob, keys[k]);
                cJSON_AddStringToObject(ob, "verdict", code_verdict_name(res[i].verdict));
                cJSON_AddNumberToObject(ob, "passed_tests", res[i].passed_tests);
                cJSON_AddNumberToObject(ob, "total_tests", res[i].total_tests);
                if (res[i].verdict == CODE_PASS)
                    cJSON_AddNullToObject(ob, "first_failure");
                else
                    cJSON_AddStringToObject(ob, "first_failure", res[i].first_failure);
                cJSON_AddNumberToObject(ob, "time_ms", (double)(long)(res[i].time_ms * 10) / 10);
                char *out = cJSON_PrintUnformatted(ob);
                if (!out) {
                    fprintf(stderr, "zeval grade-code: out of memory\n");
                    status = 1;
                    continue;
                }
                fputs(out, stdout);
                fputc('\n', stdout);
                cJSON_free(out);
            }
        }
        free(probs);
        free(resps);
        free(res);
    }
done:
    if (probing)
        pthread_join(probe.th, NULL);
    for (size_t i = 0; i < nitems; i++) {
        code_problem_free(&items[i].prob);
        cJSON_Delete(items[i].obj);
    }
    free(items);
    free(line);
    if (f != stdin)
        fclose(f);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "zeval grade-code: cannot write the output\n");
        status = 1;
    }
    if (bad) {
        fprintf(stderr, "zeval grade-code: %ld malformed line%s skipped\n", bad,
                bad == 1 ? "" : "s");
        status = 1;
    }
    return status;
}
