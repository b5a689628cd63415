/*
 * cli_report.c — `zeval report` (self-contained HTML of runs) and
 * `zeval compare` (paired comparison and regression gate); the work is in
 * reports/ (report.h).
 *
 * Exit status of compare: 0 no significant regression, 1 the gate fails
 * (drop of more than --max-drop points with McNemar p < --alpha), 2 usage
 * or data errors (unknown run, different datasets, unreadable database).
 */
#define _POSIX_C_SOURCE 200809L
#include "args.h"
#include "cli.h"
#include "store.h"
#include "../reports/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char report_usage[] =
    "usage: zeval report [--db FILE] [--run ID|NAME ...] [--out report.html]\n"
    "                    [--text-bytes N] [--text-budget BYTES]\n"
    "                    [--by FIELD [--dataset FILE|NAME]]\n"
    "  one self-contained HTML file: summary table (with --by, each run's metrics per value\n"
    "  of FIELD in its dataset's records, as `zeval show --by`), plots (accuracy by round, compute\n"
    "  curves, problems x runs, generated length, finish reasons) and a per-problem\n"
    "  drill-down of every candidate.  --run may repeat (a NAME also selects NAME/...);\n"
    "  default: every run of the database (default zeval.db).  Each sample's text is cut\n"
    "  to min(--text-bytes (4000), --text-budget (6 MB) / samples), at least 64 bytes.\n";

static const char compare_usage[] =
    "usage: zeval compare [--db FILE] RUN_A RUN_B [--max-drop POINTS] [--alpha P]\n"
    "                     [--format text|json|html] [--seed N] [--by FIELD [--dataset F]]\n"
    "  paired per-problem comparison of B against A (final round), paired-bootstrap CI,\n"
    "  McNemar's test and the problems that flipped.  Exit 1 when B is worse than A by more\n"
    "  than --max-drop points (default 2) with p < --alpha (default 0.05); 2 for usage or\n"
    "  data errors; else 0.  A NAME with NAME/... runs (several datasets, a sweep) compares\n"
    "  each of them with B's run of the same name past B (Holm-adjusted p-values).\n"
    "  --by FIELD adds the same comparison per value of FIELD in A's dataset records\n"
    "  (for orientation; the gate stays on the whole pair).\n";

/* report --by: the labels of a run's problems, from its dataset's records. */
typedef struct {
    store *db;
    const char *field, *dataset;
} by_ctx;

static int by_labels(void *ctx, const char *run, const char *const *pids, size_t n,
                     char **labels, int *order, char *err, size_t errlen)
{
    by_ctx *c = ctx;
    return cli_field_labels(c->db, run, c->field, c->dataset, pids, n, labels, order, err,
                            errlen);
}

int cli_report(int argc, char **argv)
{
    char err[4096];
    if (argc >= 1 && !strcmp(argv[0], "gen-bench-db")) {
        /* hidden: the synthetic database of bench/report.sh */
        args_opt o[] = {{"out", 1, NULL}, {"samples", 1, NULL}};
        long n = 100000;
        if (args_parse(argc - 1, argv + 1, o, 2, err, sizeof err) || !args_get(o, 2, "out") ||
            (args_get(o, 2, "samples") &&
             args_count(args_get(o, 2, "samples"), "--samples", &n, err, sizeof err))) {
            fprintf(stderr, "usage: zeval report gen-bench-db --out FILE [--samples N]\n");
            return 2;
        }
        return rep_bench_db(args_get(o, 2, "out"), n, err, sizeof err) ? cli_fail(1, err) : 0;
    }
    const char **runs = NULL;
    int nruns = 0;
    if (args_take(&argc, argv, "run", &runs, &nruns, err, sizeof err)) {
        free(runs);
        fprintf(stderr, "zeval report: %s\n%s", err, report_usage);
        return 2;
    }
    args_opt o[] = {{"db", 1, NULL},          {"out", 1, NULL}, {"text-bytes", 1, NULL},
                    {"text-budget", 1, NULL}, {"help", 0, NULL}, {"by", 1, NULL},
                    {"dataset", 1, NULL}};
    int no = 7;
    long tb = 0, tbud = 0;
    if (args_parse(argc, argv, o, no, err, sizeof err) ||
        (args_get(o, no, "text-bytes") &&
         args_count(args_get(o, no, "text-bytes"), "--text-bytes", &tb, err, sizeof err)) ||
        (args_get(o, no, "text-budget") &&
         args_count(args_get(o, no, "text-budget"), "--text-budget", &tbud, err, sizeof err))) {
        free(runs);
        fprintf(stderr, "zeval report: %s\n%s", err, report_usage);
        return 2;
    }
    if (args_get(o, no, "help")) {
        free(runs);
        fputs(report_usage, stdout);
        return 0;
    }
    rep_opts ro = {0};
    ro.db = args_get(o, no, "db") ? args_get(o, no, "db") : "zeval.db";
    ro.out = args_get(o, no, "out") ? args_get(o, no, "out") : "report.html";
    ro.runs = runs;
    ro.nruns = nruns;
    ro.text_bytes = tb;
    ro.text_budget = tbud;
    by_ctx bc = {NULL, args_get(o, no, "by"), args_get(o, no, "dataset")};
    if ((bc.field && !cli_field_ok(bc.field)) || (bc.dataset && !bc.field)) {
        free(runs);
        fprintf(stderr, "zeval report: %s\n%s",
                bc.field ? "--by: a field name, or names joined by dots "
                           "(metadata.platform_inferred)"
                         : "--dataset goes with --by FIELD", report_usage);
        return 2;
    }
    if (access(ro.db, F_OK) != 0) {
        free(runs);
        snprintf(err, sizeof err, "%s: no such database", ro.db);
        return cli_fail(1, err);
    }
    if (bc.field) {
        if (cli_db_open(ro.db, &bc.db, err, sizeof err)) {
            free(runs);
            return cli_fail(1, err);
        }
        ro.by = bc.field;
        ro.labels = by_labels;
        ro.labels_ctx = &bc;
    }
    rep_stats st;
    int rc = rep_report(&ro, &st, err, sizeof err);
    if (bc.db)
        store_close(bc.db);
    free(runs);
    if (rc)
        return cli_fail(1, err);
    fprintf(stderr, "zeval report: %s: %d runs, %d problems, %lld samples, %lld bytes "
                    "(%lld texts cut at %ld bytes)\n", ro.out, st.runs, st.problems, st.samples,
            st.bytes, st.truncated, st.text_cap);
    return 0;
}

int cli_compare(int argc, char **argv)
{
    char err[4096];
    args_opt o[] = {{"db", 1, NULL},     {"max-drop", 1, NULL}, {"alpha", 1, NULL},
                    {"format", 1, NULL}, {"seed", 1, NULL},     {"help", 0, NULL},
                    {"by", 1, NULL},     {"dataset", 1, NULL}};
    int no = 8;
    const char *pos[2] = {NULL, NULL};
    int npos = 0, w = 0;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0) {
            if (npos == 2) {
                fprintf(stderr, "zeval compare: unexpected argument '%s'\n%s", argv[i],
                        compare_usage);
                return 2;
            }
            pos[npos++] = argv[i];
            continue;
        }
        argv[w++] = argv[i];
        if (!strchr(argv[i], '=') && strcmp(argv[i], "--help") != 0 && i + 1 < argc)
            argv[w++] = argv[++i];
    }
    double max_drop = 2, alpha = 0.05;
    unsigned long long seed = 1234;
    if (args_parse(w, argv, o, no, err, sizeof err) ||
        (args_get(o, no, "max-drop") &&
         args_float(args_get(o, no, "max-drop"), "--max-drop", &max_drop, err, sizeof err)) ||
        (args_get(o, no, "alpha") &&
         args_float(args_get(o, no, "alpha"), "--alpha", &alpha, err, sizeof err)) ||
        (args_get(o, no, "seed") &&
         args_u64(args_get(o, no, "seed"), "--seed", &seed, err, sizeof err))) {
        fprintf(stderr, "zeval compare: %s\n%s", err, compare_usage);
        return 2;
    }
    if (args_get(o, no, "help")) {
        fputs(compare_usage, stdout);
        return 0;
    }
    const char *fmt = args_get(o, no, "format") ? args_get(o, no, "format") : "text";
    if (npos != 2 || (strcmp(fmt, "text") && strcmp(fmt, "json") && strcmp(fmt, "html")) ||
        max_drop < 0 || alpha <= 0 || alpha > 1) {
        fprintf(stderr, "zeval compare: %s\n%s",
                npos != 2 ? "two runs are needed" : "bad --format, --max-drop or --alpha",
                compare_usage);
        return 2;
    }
    const char *db = args_get(o, no, "db") ? args_get(o, no, "db") : "zeval.db";
    if (access(db, F_OK) != 0) {
        snprintf(err, sizeof err, "%s: no such database", db);
        return cli_fail(2, err);
    }
    by_ctx bc = {NULL, args_get(o, no, "by"), args_get(o, no, "dataset")};
    if ((bc.field && !cli_field_ok(bc.field)) || (bc.dataset && !bc.field)) {
        fprintf(stderr, "zeval compare: %s\n%s",
                bc.field ? "--by: a field name, or names joined by dots "
                           "(metadata.platform_inferred)"
                         : "--dataset goes with --by FIELD", compare_usage);
        return 2;
    }
    rep_by_opts bo = {bc.field, by_labels, &bc};
    if (bc.field && cli_db_open(db, &bc.db, err, sizeof err))
        return cli_fail(2, err);
    rep_cmp_set cs;
    int e = rep_compare_set(db, pos[0], pos[1], seed, bc.field ? &bo : NULL, &cs, err,
                            sizeof err);
    if (bc.db)
        store_close(bc.db);
    if (e)
        return cli_fail(2, err);
    int gate = 0, bad = 0;
    for (int i = 0; i < cs.n; i++)
        gate |= rep_cmp_gate(&cs.c[i], max_drop, alpha);
    if (cs.n == 1 && !cs.n_only_a && !cs.n_only_b) { /* two runs */
        if (!strcmp(fmt, "json"))
            bad = rep_cmp_json(&cs.c[0], max_drop, alpha, gate, stdout);
        else if (!strcmp(fmt, "html"))
            rep_cmp_html(&cs.c[0], max_drop, alpha, gate, stdout);
        else
            rep_cmp_text(&cs.c[0], max_drop, alpha, gate, stdout);
    } else if (!strcmp(fmt, "json")) {
        bad = rep_cmp_set_json(&cs, pos[0], pos[1], max_drop, alpha, stdout);
    } else if (!strcmp(fmt, "html")) {
        rep_cmp_set_html(&cs, pos[0], pos[1], max_drop, alpha, stdout);
    } else {
        rep_cmp_set_text(&cs, pos[0], pos[1], max_drop, alpha, stdout);
    }
    rep_cmp_set_free(&cs);
    if (bad)
        return cli_fail(2, "out of memory");
    if (fflush(stdout))
        return cli_fail(2, "cannot write the output");
    return gate ? 1 : 0;
}
