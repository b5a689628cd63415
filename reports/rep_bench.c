/*
 * rep_bench.c — a synthetic database for bench/report.sh (report.h,
 * rep_bench_db).  Four runs of different RSA settings over the same
 * problems, 120 samples per problem in all; texts of 0.5-6 KB of filler
 * prose with a boxed answer (and, now and then, markup that must be
 * escaped), gen_ids of the matching length, tails for non-final rounds.
 * Written through store.h in transactions of 2,000 samples.
 */
#include "report.h"
#include "../engine/sampler.h"
#include "../engine/util.h"
#include "../harness/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const words[] = {
    "Let", "us", "consider", "the", "sum", "of", "all", "integers", "such", "that", "divides",
    "therefore", "we", "obtain", "modulo", "prime", "factor", "hence", "so", "equation",
    "\\frac{a}{b}", "x^2", "+", "=", "check", "case", "wait,", "recompute", "triangle", "area",
    "<script>alert(1)</script>", "a < b", "&", "</textarea>"};
#define NWORDS (sizeof words / sizeof words[0])

int rep_bench_db(const char *path, long nsamples, char *err, size_t errlen)
{
    static const struct {
        const char *name, *spec;
        int N, T;
    } cfg[4] = {{"bench/n8-t0", "N=8,C=1,T=0,beta=2048", 8, 0},
                {"bench/n8-t2", "N=8,C=2,T=2,beta=2048", 8, 2},
                {"bench/n16-t2", "N=16,C=4,T=2,beta=2048", 16, 2},
                {"bench/n8-t4", "N=8,C=2,T=4,beta=2048", 8, 4}};
    const int per_problem = 8 * 1 + 8 * 3 + 16 * 3 + 8 * 5;
    long problems = (nsamples + per_problem - 1) / per_problem;
    store *s = NULL;
    char *text = malloc(8192);
    int32_t *ids = calloc(4096, sizeof *ids);
    int rc = -1;
    if (!text || !ids) {
        ut_err(err, errlen, "out of memory");
        goto done;
    }
    remove(path);
    if (store_open(path, &s, err, errlen))
        goto done;
    uint64_t ctr = 0;
    long inserted = 0;
    for (int k = 0; k < 4; k++) {
        char conf[256];
        snprintf(conf, sizeof conf, "{\"rsa\":\"%s\",\"N\":%d,\"T\":%d,\"beta\":2048,"
                 "\"final\":2048}", cfg[k].spec, cfg[k].N, cfg[k].T);
        store_run r = {0};
        r.name = (char *)cfg[k].name;
        r.config = conf;
        r.model_path = "bench/out/model";
        r.weights_sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        r.dataset = "bench-math";
        r.started_at = 1000;
        long long id;
        if (store_run_create(s, &r, &id, err, errlen) || store_begin(s, err, errlen))
            goto done;
        for (long p = 0; p < problems; p++) {
            char pid[32];
            snprintf(pid, sizeof pid, "bench-%05ld", p);
            double skill = smp_uniform(7, (uint64_t)p);
            for (int round = 0; round <= cfg[k].T; round++)
                for (int c = 0; c < cfg[k].N; c++) {
                    size_t target = 512 + (size_t)(smp_uniform(11, ctr++) * 5632), len = 0;
                    while (len + 40 < target) {
                        const char *w = words[(size_t)(smp_uniform(13, ctr++) * NWORDS) % NWORDS];
                        size_t wl = strlen(w);
                        memcpy(text + len, w, wl);
                        text[len + wl] = ' ';
                        len += wl + 1;
                    }
                    int correct = smp_uniform(17, ctr++) < skill + 0.05 * round;
                    char ans[16];
                    snprintf(ans, sizeof ans, "%d", correct ? 42 : (int)(ctr % 97));
                    len += (size_t)snprintf(text + len, 8192 - len, "\\boxed{%s}", ans);
                    int gen = (int)(len / 4);
                    int trunc = len > 5800;
                    if (trunc)
                        gen = 2048;
                    char parents[32] = "[]";
                    if (round > 0)
                        snprintf(parents, sizeof parents, "[%d,%d]", c, (c + 1) % cfg[k].N);
                    store_sample x = {0};
                    x.problem_id = pid;
                    x.round = round;
                    x.candidate = c;
                    x.parents = parents;
                    x.seed = ctr;
                    x.prompt_tokens = 200;
                    x.gen_tokens = gen;
                    x.gen_ids = ids;
                    x.finish_reason = trunc ? "length" : "stop";
                    text[len] = 0;
                    x.text = text;
                    x.tail = round < cfg[k].T ? text + (len > 800 ? len - 800 : 0) : NULL;
                    x.tail_tokens = round < cfg[k].T ? 200 : 0;
                    x.extracted = trunc ? NULL : ans;
                    x.correct = trunc ? 0 : correct;
                    x.reason = trunc ? "no answer" : correct ? "equivalent" : "different";
                    x.started_at = 1000 + (double)inserted * 0.01;
                    x.finished_at = x.started_at + 5;
                    if (store_sample_put(s, id, &x, err, errlen))
                        goto done;
                    if (++inserted % 2000 == 0 &&
                        (store_commit(s, err, errlen) || store_begin(s, err, errlen)))
                        goto done;
                }
        }
        if (store_commit(s, err, errlen) ||
            store_run_finish(s, id, 1000 + (double)inserted * 0.01 + 5, err, errlen))
            goto done;
    }
    fprintf(stderr, "zeval report: wrote %ld samples (%ld problems, 4 runs) to %s\n", inserted,
            problems, path);
    rc = 0;
done:
    store_close(s);
    free(text);
    free(ids);
    return rc;
}
