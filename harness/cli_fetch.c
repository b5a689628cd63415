/*
 * cli_fetch.c — `zeval fetch dataset NAME`, `zeval fetch model
 * OWNER/REPO[@REVISION]` and `zeval datasets`.
 *
 * fetch model: config.json (required), model.safetensors.index.json and
 * every shard it names (or a single model.safetensors), plus tokenizer.json,
 * tokenizer_config.json, chat_template.jinja, generation_config.json when
 * the repository has them (404 is fine for those).  Prints the snapshot
 * directory.  fetch dataset: the registry's source files, mapped and
 * checked; prints a summary, and with --out writes the normalized JSONL.
 */
#include "args.h"
#include "cli.h"
#include "fetch.h"
#include "sha256.h"
#include "../datasets/registry.h"
#include "../engine/util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INDEX_MAX ((size_t)64 << 20)
#define MAX_SHARDS 10000

static const char usage_fetch[] =
    "usage: zeval fetch dataset NAME [--out FILE.jsonl] [--sha256 HEX|any]\n"
    "                   [--records-sha256 HEX|any] [options]\n"
    "       zeval fetch model OWNER/REPO[@REVISION] [options]\n"
    "options: --cache-dir DIR  --offline  --retries N  --backoff-ms MS\n"
    "         --connect-timeout S  --stall-timeout S  --progress | --no-progress  --quiet\n"
    "environment: HF_ENDPOINT, HF_TOKEN, HF_HOME, HF_HUB_CACHE, XDG_CACHE_HOME,\n"
    "         ZEVAL_CACHE_DIR, ZEVAL_OFFLINE=1, ZEVAL_GITHUB_RAW (see README.md)\n";

static const char usage_datasets[] = "usage: zeval datasets [--cache-dir DIR]\n";

/* Applies the common options to o (after fetch_opts_init). */
static int apply_opts(fetch_opts *o, const args_opt *a, int na, char *err, size_t errlen)
{
    long v;
    const char *s;
    if (args_get(a, na, "offline"))
        o->offline = 1;
    if ((s = args_get(a, na, "retries"))) {
        if (args_count(s, "--retries", &v, err, errlen))
            return -1;
        o->retries = v > 100 ? 100 : (int)v;
    }
    if ((s = args_get(a, na, "backoff-ms"))) {
        if (args_count(s, "--backoff-ms", &v, err, errlen))
            return -1;
        o->backoff_ms = v;
    }
    if ((s = args_get(a, na, "connect-timeout"))) {
        if (args_count(s, "--connect-timeout", &v, err, errlen) || v < 1)
            return ut_err(err, errlen, "--connect-timeout: expected seconds >= 1");
        o->connect_timeout_s = v;
    }
    if ((s = args_get(a, na, "stall-timeout"))) {
        if (args_count(s, "--stall-timeout", &v, err, errlen) || v < 1)
            return ut_err(err, errlen, "--stall-timeout: expected seconds >= 1");
        o->stall_timeout_s = v;
    }
    if (args_get(a, na, "progress"))
        o->progress = 1;
    if (args_get(a, na, "no-progress"))
        o->progress = 0;
    if (args_get(a, na, "quiet"))
        o->quiet = 1;
    return 0;
}

static int fetch_dataset(const fetch_opts *o, const char *name, const args_opt *a, int na)
{
    char err[2048];
    const ds_entry *e = ds_find(name);
    if (!e) {
        size_t n;
        const ds_entry *r = ds_registry(&n);
        fprintf(stderr, "zeval fetch: unknown dataset '%s'; known:", name);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, " %s", r[i].name);
        fprintf(stderr, "\n");
        return 2;
    }
    const char *fs = args_get(a, na, "sha256"), *rs = args_get(a, na, "records-sha256");
    if (fs && strcmp(fs, "any") && !sha256_is_hex(fs))
        return cli_fail(2, "--sha256: expected 64 hex digits or 'any'");
    if (rs && strcmp(rs, "any") && !sha256_is_hex(rs))
        return cli_fail(2, "--records-sha256: expected 64 hex digits or 'any'");
    ds_set s;
    if (ds_fetch(o, e, fs, rs, &s, err, sizeof err))
        return cli_fail(1, err);
    char dig[65];
    ds_records_sha256(&s, dig);
    int rc = 0;
    const char *out = args_get(a, na, "out");
    if (out) {
        FILE *f = fopen(out, "w");
        if (!f || ds_write_jsonl(&s, f) != 0) {
            snprintf(err, sizeof err, "%s: cannot write", out);
            rc = 1;
        }
        if (f && fclose(f) != 0 && rc == 0) {
            snprintf(err, sizeof err, "%s: write failed", out);
            rc = 1;
        }
    }
    if (rc == 0)
        printf("%s: %zu records, records sha256 %s, grader %s, prompt format %s\n", e->name,
               s.n, dig, e->grader, e->prompt_format);
    ds_set_free(&s);
    return rc ? cli_fail(rc, err) : 0;
}

/* Fetches repo/path; optional files may be missing (404). Returns 0, 1 on error. */
static int model_file(const fetch_opts *o, const char *repo, const char *rev, const char *path,
                      int optional, char **local, int *missing)
{
    char err[2048];
    *local = NULL;
    if (missing)
        *missing = 0;
    int r = fetch_file(o, FETCH_MODEL, repo, rev, path, NULL, local, err, sizeof err);
    if (r == FETCH_OK)
        return 0;
    if (r == FETCH_NOT_FOUND && optional) {
        if (missing)
            *missing = 1;
        if (!o->quiet)
            fprintf(stderr, "zeval: %s: not in the repository%s (optional)\n", path,
                    o->offline ? " cache" : "");
        return 0;
    }
    cli_fail(1, err);
    return 1;
}

static int fetch_model(const fetch_opts *o, const char *spec)
{
    char repo[512], rev[256] = "main";
    const char *at = strchr(spec, '@');
    size_t rl = at ? (size_t)(at - spec) : strlen(spec);
    if (rl == 0 || rl >= sizeof repo || (at && (!at[1] || strlen(at + 1) >= sizeof rev)))
        return cli_fail(2, "expected OWNER/REPO[@REVISION]");
    memcpy(repo, spec, rl);
    repo[rl] = 0;
    if (at)
        snprintf(rev, sizeof rev, "%s", at + 1);
    char *local = NULL, *index = NULL, *snap = NULL;
    cJSON *j = NULL;
    const char **shards = NULL;
    int nshards = 0, rc = 1, missing;
    if (model_file(o, repo, rev, "config.json", 0, &local, NULL))
        goto done;
    snap = local;
    *strrchr(snap, '/') = 0;
    local = NULL;
    if (model_file(o, repo, rev, "model.safetensors.index.json", 1, &index, &missing))
        goto done;
    if (index) {
        char err[1024], *buf;
        size_t n;
        if (ut_read_file(index, INDEX_MAX, &buf, &n, err, sizeof err)) {
            cli_fail(1, err);
            goto done;
        }
        j = cJSON_ParseWithLength(buf, n);
        free(buf);
        const cJSON *wm = cJSON_GetObjectItemCaseSensitive(j, "weight_map");
        if (!cJSON_IsObject(wm)) {
            fprintf(stderr, "zeval: %s: field 'weight_map': missing or not an object\n", index);
            goto done;
        }
        shards = calloc((size_t)cJSON_GetArraySize(wm) + 1, sizeof *shards);
        if (!shards) {
            cli_fail(1, "out of memory");
            goto done;
        }
        const cJSON *it;
        cJSON_ArrayForEach(it, wm)
        {
            if (!cJSON_IsString(it)) {
                fprintf(stderr, "zeval: %s: field 'weight_map.%s': not a file name\n", index,
                        it->string);
                goto done;
            }
            int seen = 0;
            for (int k = 0; k < nshards && !seen; k++)
                seen = !strcmp(shards[k], it->valuestring);
            if (!seen) {
                if (nshards >= MAX_SHARDS) {
                    fprintf(stderr, "zeval: %s: more than %d shards\n", index, MAX_SHARDS);
                    goto done;
                }
                shards[nshards++] = it->valuestring;
            }
        }
        if (nshards == 0) {
            fprintf(stderr, "zeval: %s: field 'weight_map': empty\n", index);
            goto done;
        }
    }
    static const char *optional[] = {"tokenizer.json", "tokenizer_config.json",
                                     "chat_template.jinja", "generation_config.json"};
    for (size_t i = 0; i < sizeof optional / sizeof optional[0]; i++) {
        if (model_file(o, repo, rev, optional[i], 1, &local, NULL))
            goto done;
        free(local);
        local = NULL;
    }
    if (!index) {
        if (model_file(o, repo, rev, "model.safetensors", 0, &local, NULL))
            goto done;
        free(local);
        local = NULL;
    }
    for (int k = 0; k < nshards; k++) {
        if (model_file(o, repo, rev, shards[k], 0, &local, NULL))
            goto done;
        free(local);
        local = NULL;
    }
    printf("%s\n", snap);
    rc = 0;
done:
    free(local);
    free(index);
    free(snap);
    free(shards);
    cJSON_Delete(j);
    return rc;
}

int cli_fetch(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_fetch, stdout);
            return 0;
        }
    if (argc < 2 || (strcmp(argv[0], "dataset") && strcmp(argv[0], "model"))) {
        fputs(usage_fetch, stderr);
        return 2;
    }
    args_opt a[] = {{"cache-dir", 1, NULL},   {"offline", 0, NULL},
                    {"retries", 1, NULL},     {"backoff-ms", 1, NULL},
                    {"connect-timeout", 1, NULL}, {"stall-timeout", 1, NULL},
                    {"progress", 0, NULL},    {"no-progress", 0, NULL},
                    {"quiet", 0, NULL},       {"out", 1, NULL},
                    {"sha256", 1, NULL},      {"records-sha256", 1, NULL}};
    int na = (int)(sizeof a / sizeof a[0]);
    char err[1024];
    if (args_parse(argc - 2, argv + 2, a, na, err, sizeof err)) {
        fprintf(stderr, "zeval fetch: %s\n%s", err, usage_fetch);
        return 2;
    }
    int model = !strcmp(argv[0], "model");
    if (model && (args_get(a, na, "out") || args_get(a, na, "sha256") ||
                  args_get(a, na, "records-sha256"))) {
        fprintf(stderr, "zeval fetch model: --out, --sha256 and --records-sha256 are for "
                        "datasets\n%s", usage_fetch);
        return 2;
    }
    fetch_opts o;
    if (fetch_opts_init(&o, args_get(a, na, "cache-dir"), err, sizeof err))
        return cli_fail(1, err);
    if (apply_opts(&o, a, na, err, sizeof err)) {
        fetch_opts_free(&o);
        fprintf(stderr, "zeval fetch: %s\n", err);
        return 2;
    }
    if (fetch_global_init()) {
        fetch_opts_free(&o);
        return cli_fail(1, "libcurl initialisation failed");
    }
    int rc = model ? fetch_model(&o, argv[1]) : fetch_dataset(&o, argv[1], a, na);
    fetch_global_cleanup();
    fetch_opts_free(&o);
    return rc;
}

int cli_datasets(int argc, char **argv)
{
    args_opt a[] = {{"cache-dir", 1, NULL}, {"help", 0, NULL}};
    int na = 2;
    char err[2048];
    if (args_parse(argc, argv, a, na, err, sizeof err)) {
        fprintf(stderr, "zeval datasets: %s\n%s", err, usage_datasets);
        return 2;
    }
    if (args_get(a, na, "help")) {
        fputs(usage_datasets, stdout);
        return 0;
    }
    fetch_opts o;
    if (fetch_opts_init(&o, args_get(a, na, "cache-dir"), err, sizeof err))
        return cli_fail(1, err);
    size_t n;
    const ds_entry *r = ds_registry(&n);
    printf("%-24s %-5s %-7s %8s  %-6s  %s\n", "NAME", "TASK", "GRADER", "RECORDS", "CACHED",
           "SOURCE");
    for (size_t i = 0; i < n; i++) {
        const ds_entry *e = &r[i];
        char recs[32], src[600];
        int cached = ds_is_cached(&o, e);
        snprintf(recs, sizeof recs, "(%d)", e->nrecords);
        if (cached) {
            char **paths, **local;
            size_t np;
            if (ds_source_paths(e, &paths, &np) == 0) {
                local = calloc(np, sizeof *local);
                int ok = local != NULL;
                for (size_t k = 0; ok && k < np; k++)
                    ok = (local[k] = fetch_cache_path(&o, e->host, e->repo, e->revision,
                                                      paths[k])) != NULL;
                ds_set s;
                if (ok && ds_load_source(e, local, np, &s, err, sizeof err) == 0) {
                    snprintf(recs, sizeof recs, "%zu", s.n);
                    ds_set_free(&s);
                } else {
                    snprintf(recs, sizeof recs, "error");
                    fprintf(stderr, "zeval datasets: %s: %s\n", e->name, err);
                }
                if (local)
                    ds_paths_free(local, np);
                ds_paths_free(paths, np);
            }
        }
        snprintf(src, sizeof src, "%s%s@%.12s:%s%s",
                 e->host == FETCH_DATASET ? "hf:" : "github:", e->repo, e->revision,
                 e->parts[0].path, e->nparts > 1 || e->format == DS_FMT_MATHARENA_TEX ? "/..." : "");
        printf("%-24s %-5s %-7s %8s  %-6s  %s\n", e->name, e->task, e->grader, recs,
               cached ? "yes" : "no", src);
    }
    printf("cache: %s   (records in parentheses: expected, not cached)\n", o.cache_dir);
    fetch_opts_free(&o);
    return 0;
}
