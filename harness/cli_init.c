/*
 * cli_init.c — `zeval init-model`: write a random ZAYA checkpoint (legacy
 * config schema and tensor names) for tests and benchmarks.  The work is
 * in engine/init.c; this file reads the options.
 *
 * --set may be repeated, so it is taken out of argv before the common
 * option reader (which rejects repeated options) sees the rest.
 */
#include "args.h"
#include "cli.h"
#include "../engine/init.h"
#include "../engine/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: zeval init-model --config tiny|zaya1-8b|FILE [--set key=value ...]\n"
    "                        [--seed S] [--dtype bf16|f32] --out DIR\n"
    "  --config   tiny: the golden zaya-tiny shape with vocab_size 262272;\n"
    "             zaya1-8b: the full ZAYA1-8B shape; FILE: a config.json (either schema)\n"
    "  --set      override an integer, number or boolean config field (repeatable)\n"
    "  --seed     generator seed (default 0); the same seed gives byte-identical files\n"
    "  --dtype    storage dtype (default bf16)\n"
    "  --out      new directory (must not exist, or be empty)\n";

int cli_init_model(int argc, char **argv)
{
    char err[2048];
    const char **sets = malloc((size_t)(argc + 1) * sizeof *sets);
    char **rest = malloc((size_t)(argc + 1) * sizeof *rest);
    if (!sets || !rest) {
        free(sets);
        free(rest);
        return cli_fail(1, "out of memory");
    }
    int nsets = 0, nrest = 0, status = 2;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--set") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "zeval init-model: option '--set' needs a value\n%s", usage);
                goto done;
            }
            sets[nsets++] = argv[++i];
        } else if (strncmp(argv[i], "--set=", 6) == 0) {
            sets[nsets++] = argv[i] + 6;
        } else {
            rest[nrest++] = argv[i];
        }
    }
    /* shard-bytes and threads are for tests: not in the usage text */
    args_opt o[] = {{"config", 1, NULL},      {"seed", 1, NULL},    {"dtype", 1, NULL},
                    {"out", 1, NULL},         {"help", 0, NULL},    {"shard-bytes", 1, NULL},
                    {"threads", 1, NULL},     {"quiet", 0, NULL}};
    int no = (int)(sizeof o / sizeof o[0]);
    if (args_parse(nrest, rest, o, no, err, sizeof err)) {
        fprintf(stderr, "zeval init-model: %s\n%s", err, usage);
        goto done;
    }
    if (args_get(o, no, "help")) {
        fputs(usage, stdout);
        status = 0;
        goto done;
    }
    const char *src = args_get(o, no, "config"), *out = args_get(o, no, "out");
    if (!src || !out) {
        fprintf(stderr, "zeval init-model: --config and --out are required\n%s", usage);
        goto done;
    }
    eng_init_opts io = {0, ST_BF16, 0, 0, stderr};
    const char *dt = args_get(o, no, "dtype"), *v;
    if (dt && strcmp(dt, "f32") != 0 && strcmp(dt, "bf16") != 0) {
        fprintf(stderr, "zeval init-model: --dtype must be bf16 or f32, found '%s'\n", dt);
        goto done;
    }
    if (dt && strcmp(dt, "f32") == 0)
        io.dtype = ST_F32;
    unsigned long long u;
    long l;
    if ((v = args_get(o, no, "seed"))) {
        if (args_u64(v, "--seed", &u, err, sizeof err))
            goto usage_err;
        io.seed = u;
    }
    if ((v = args_get(o, no, "shard-bytes"))) {
        if (args_u64(v, "--shard-bytes", &u, err, sizeof err))
            goto usage_err;
        if (u < 1024) {
            snprintf(err, sizeof err, "--shard-bytes: at least 1024");
            goto usage_err;
        }
        io.shard_bytes = u;
    }
    if ((v = args_get(o, no, "threads"))) {
        if (args_count(v, "--threads", &l, err, sizeof err))
            goto usage_err;
        io.threads = (int)(l > 64 ? 64 : l);
    }
    if (args_get(o, no, "quiet"))
        io.log = NULL;

    status = 1;
    char *text = NULL;
    eng_config cfg;
    if (eng_init_config(src, sets, nsets, io.dtype, &text, &cfg, err, sizeof err)) {
        /* a bad --set is a usage error; a bad FILE or config a failure */
        status = strncmp(err, "--set", 5) == 0 ? 2 : 1;
        cli_fail(status, err);
        goto done;
    }
    eng_init_plan plan;
    if (eng_init_plan_sizes(&cfg, &io, &plan, err, sizeof err) == 0 && io.log)
        fprintf(io.log,
                "init-model: %d tensors, %.3f B parameters, %.2f GB %s in %d file%s -> %s\n",
                plan.ntensors, plan.params / 1e9, plan.data_bytes / 1e9,
                io.dtype == ST_BF16 ? "bf16" : "f32", plan.nfiles, plan.nfiles > 1 ? "s" : "",
                out);
    double t0 = ut_now();
    if (eng_init_write(out, text, &cfg, &io, err, sizeof err)) {
        free(text);
        cli_fail(1, err);
        goto done;
    }
    free(text);
    if (io.log)
        fprintf(io.log, "init-model: done in %.1f s\n", ut_now() - t0);
    status = 0;
    goto done;
usage_err:
    fprintf(stderr, "zeval init-model: %s\n%s", err, usage);
    status = 2;
done:
    free(sets);
    free(rest);
    return status;
}
