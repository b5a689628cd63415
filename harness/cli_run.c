/*
 * cli_run.c — `zeval run` (Markovian RSA over benchmark sets into the
 * SQLite store, with --resume), `zeval show`, `zeval regrade` and
 * `zeval presets`.
 *
 * A run belongs to one dataset; several datasets in one command make one
 * run each (NAME/DATASET), and all of their problems go to one scheduler
 * so the engine batches across them.  The run row is written before the
 * first sample; each sample is graded and committed as it finishes.
 * --resume NAME reads the stored configuration (NAME, or every NAME/...
 * run), loads the stored samples and generates only the missing ones;
 * flags that would change the configuration are refused.
 */
#define _POSIX_C_SOURCE 200809L
#include "args.h"
#include "cli.h"
#include "metrics.h"
#include "published.h"
#include "remote.h"
#include "rsa.h"
#include "sha256.h"
#include "store.h"
#include "version.h"
#include "../datasets/registry.h"
#include "../engine/backend.h"
#include "../engine/chat.h"
#include "../engine/model.h"
#include "../engine/tokenizer.h"
#include "../engine/util.h"
#include "../graders/code_grade.h"
#include "../graders/math_grade.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The code grader is built by another module; link against it when it is
 * present (weak references are NULL otherwise) so code datasets are
 * graded where it exists and stored ungraded where it does not. */
#pragma weak code_problem_from_json
#pragma weak code_problem_free
#pragma weak code_grade
#pragma weak code_verdict_name

#define DEFAULT_DB "zeval.db"

/* --backend of this invocation (auto, cpu or gpu; NULL: auto).  Not part
 * of a run's stored configuration: each run row records the backend and
 * device that produced it. */
static const char *backend_spec;

static const char run_usage[] =
    "usage: zeval run --model DIR --dataset NAME|FILE[,...] (--rsa SPEC ... | --preset NAME[,...])\n"
    "                 [--where FIELD=VALUE ...] [--limit K] [--samples K] [--temperature X]\n"
    "                 [--top-p X] [--top-k N]\n"
    "                 [--min-p X] [--seed S] [--db FILE] [--name NAME | --resume NAME]\n"
    "                 [--weights FILE] [--chat-template NAME|FILE] [--thinking on|off]\n"
    "                 [--prompt-template FILE] [--store-prompts] [--max-inflight K]\n"
    "                 [--progress auto|tty|plain|off]\n"
    "                 [--threads N] [--backend auto|cpu|gpu] [--dry-run]\n"
    "       zeval run --endpoint URL[,URL...] --served-model NAME --tokenizer DIR\n"
    "                 [--remote KEY=VAL,...] (all other options as with --model)\n"
    "       zeval run --resume NAME [--db FILE] [--endpoint URL,...] [--remote ...]\n"
    "  SPEC: N=..,C=..,T=..,beta=..[,final=..][,tau=..][,tail=reasoning|hybrid|full]"
    "[,c1=own|random]\n"
    "  (token counts take a K suffix: 16K = 16384; `zeval presets` lists the presets)\n"
    "  Several settings (--rsa repeated, --preset A,B, or both) sweep: one run per setting\n"
    "  and dataset, named NAME/SETTING[/DATASET], scheduled together.\n"
    "  --where keeps the problems whose record has FIELD (a key, or keys joined by dots) equal\n"
    "  to VALUE; repeated, the same field is any of its values, other fields all must hold.\n"
    "  --remote: concurrency=64 (per endpoint),connect=10,stall=300,timeout=3600 (s, per\n"
    "            request),retries=4,backoff=0.5,prompt=ids|text,stream=on|off\n";

/* ------------------------------------------------------------ datasets */

typedef struct {
    char *label;          /* run suffix: the benchmark name */
    char *spec;           /* what the user gave (NAME or FILE) */
    char *file;           /* the file read, or NULL for a cached registry set */
    char sha[65];         /* sha256 of the file, or of the records */
    const ds_entry *e;    /* registry entry (may be NULL) */
    ds_set set;
    int is_code;
} dataset;

static void dataset_free(dataset *d)
{
    free(d->label);
    free(d->spec);
    free(d->file);
    ds_set_free(&d->set);
    memset(d, 0, sizeof *d);
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Appends to the message in err. */
static void err_add(char *err, size_t errlen, const char *fmt, ...)
{
    size_t l = strnlen(err, errlen);
    if (l + 1 >= errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + l, errlen - l, fmt, ap);
    va_end(ap);
}

static char *field_label(const cJSON *rec, const char *path, int *oom);

/* Whether rec meets the conditions where[0..n) ("FIELD=VALUE", sorted): for
 * each field, one of its values.  -1 when out of memory. */
static int where_match(const cJSON *rec, char *const *where, int n)
{
    for (int i = 0; i < n;) {
        size_t fl = (size_t)(strchr(where[i], '=') - where[i]);
        char field[256];
        snprintf(field, sizeof field, "%.*s", (int)fl, where[i]);
        int oom = 0, hit = 0;
        char *l = field_label(rec, field, &oom);
        if (oom)
            return -1;
        for (; i < n && !strncmp(where[i], field, fl) && where[i][fl] == '='; i++)
            hit |= l && !strcmp(l, where[i] + fl + 1);
        free(l);
        if (!hit)
            return 0;
    }
    return 1;
}

static int dataset_open(const char *spec, long limit, char *const *where, int nwhere, dataset *d,
                        char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    if (!(d->spec = ut_strdup(spec)))
        return ut_err(err, errlen, "out of memory");
    struct stat sb;
    if (stat(spec, &sb) == 0 && S_ISREG(sb.st_mode)) {
        if (!(d->file = ut_strdup(spec)))
            return ut_err(err, errlen, "out of memory");
        if (ds_load_normalized(spec, &d->set, err, errlen))
            return -1;
        if (sha256_file(spec, d->sha, err, errlen))
            return -1;
        const char *b = d->set.n ? jstr(d->set.rec[0], "benchmark") : NULL;
        d->e = b ? ds_find(b) : NULL;
        if (b) {
            d->label = ut_strdup(b);
        } else {
            const char *base = strrchr(spec, '/');
            base = base ? base + 1 : spec;
            d->label = ut_strdup(base);
            char *dot = d->label ? strrchr(d->label, '.') : NULL;
            if (dot && dot != d->label)
                *dot = 0;
        }
    } else {
        d->e = ds_find(spec);
        if (!d->e)
            return ut_err(err, errlen, "--dataset: '%s' is neither a file nor a known dataset "
                          "name (see `zeval datasets`)", spec);
        fetch_opts o;
        if (fetch_opts_init(&o, NULL, err, errlen))
            return -1;
        int cached = ds_is_cached(&o, d->e);
        int rc = cached ? ds_fetch(&o, d->e, NULL, NULL, &d->set, err, errlen) : -1;
        fetch_opts_free(&o);
        if (!cached)
            return ut_err(err, errlen, "--dataset: '%s' is not in the cache; run `zeval fetch "
                          "%s` first, or pass a JSONL file", spec, spec);
        if (rc)
            return -1;
        ds_records_sha256(&d->set, d->sha);
        d->label = ut_strdup(d->e->name);
    }
    if (!d->label)
        return ut_err(err, errlen, "out of memory");
    if (d->set.n == 0)
        return ut_err(err, errlen, "--dataset %s: no records", spec);
    if (nwhere > 0) {
        size_t w = 0;
        for (size_t i = 0; i < d->set.n; i++) {
            int m = where_match(d->set.rec[i], where, nwhere);
            if (m < 0)
                return ut_err(err, errlen, "out of memory");
            if (m)
                d->set.rec[w++] = d->set.rec[i];
            else
                cJSON_Delete(d->set.rec[i]);
        }
        d->set.n = w;
        if (w == 0) {
            ut_err(err, errlen, "--dataset %s: no record meets", spec);
            for (int i = 0; i < nwhere; i++)
                err_add(err, errlen, "%s --where %s", i ? " and" : "", where[i]);
            return -1;
        }
    }
    if (limit > 0 && (size_t)limit < d->set.n) {
        for (size_t i = (size_t)limit; i < d->set.n; i++)
            cJSON_Delete(d->set.rec[i]);
        d->set.n = (size_t)limit;
    }
    const char *task = jstr(d->set.rec[0], "task");
    d->is_code = task && !strcmp(task, "code");
    return 0;
}

/* The fields a prompt template may name, each replaced by the record's
 * field of that name ({problem}: math; {prompt}, {starter_code}: code);
 * any other text, braces included, is kept as it is. */
static const char *const tmpl_fields[] = {"{problem}", "{prompt}", "{starter_code}"};

/* Whether template t names the field a record of d's task is asked with. */
static int template_fits(const char *t, const dataset *d)
{
    return strstr(t, d->is_code ? "{prompt}" : "{problem}") != NULL;
}

/* Template t with r's fields put in (malloc'd; NULL on OOM). */
static char *template_apply(const char *t, const cJSON *r)
{
    size_t cap = strlen(t) + 1, n = 0;
    char *o = malloc(cap);
    if (!o)
        return NULL;
    for (const char *p = t; *p;) {
        const char *val = NULL;
        size_t fl = 0;
        for (size_t k = 0; k < sizeof tmpl_fields / sizeof *tmpl_fields && !val; k++) {
            fl = strlen(tmpl_fields[k]);
            if (!strncmp(p, tmpl_fields[k], fl)) {
                char key[32];
                snprintf(key, sizeof key, "%.*s", (int)(fl - 2), tmpl_fields[k] + 1);
                val = jstr(r, key) ? jstr(r, key) : "";
            }
        }
        size_t add = val ? strlen(val) : 1;
        if (n + add + 1 > cap) {
            cap = 2 * (n + add + 1);
            char *g = realloc(o, cap);
            if (!g) {
                free(o);
                return NULL;
            }
            o = g;
        }
        if (val) {
            memcpy(o + n, val, add);
            p += fl;
        } else {
            o[n] = *p++;
        }
        n += add;
    }
    o[n] = 0;
    return o;
}

/* The round-0 prompt of a record: the run's template, else the registry's
 * prompt format, or a default by task when the set is unknown. */
static char *record_prompt(const dataset *d, const cJSON *r, const char *tmpl)
{
    if (tmpl)
        return template_apply(tmpl, r);
    if (d->e)
        return ds_prompt(d->e, r);
    ds_entry e = {0};
    e.grader = d->is_code ? "code" : "math";
    e.prompt_format = d->is_code ? "lcb" : "math_boxed";
    return ds_prompt(&e, r);
}

/* ------------------------------------------------------------ config */

typedef struct {
    rsa_params p;
    char spec[256];
    char preset[64];
    int samples;
    smp_params sp;
    unsigned long long seed;
    long limit;
    char *model, *weights, *chat_template;
    char *prompt_template;   /* the round-0 message's template (--prompt-template), or NULL */
    char **where;            /* --where FIELD=VALUE conditions (nwhere), sorted */
    int nwhere;
    int thinking;
    int store_prompts;
    int max_inflight;
    /* remote backend (served_model non-NULL): model is the tokenizer DIR */
    char *endpoints, *served_model, *remote;
} runcfg;

static void runcfg_free(runcfg *c)
{
    for (int i = 0; i < c->nwhere; i++)
        free(c->where[i]);
    free(c->where);
    free(c->model);
    free(c->weights);
    free(c->chat_template);
    free(c->prompt_template);
    free(c->endpoints);
    free(c->served_model);
    free(c->remote);
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds condition "FIELD=VALUE" to c->where, kept sorted (so one field's
 * conditions are next to each other).  0, or -1 naming what is wrong. */
static int where_add(runcfg *c, const char *cond, char *err, size_t errlen)
{
    const char *eq = strchr(cond, '=');
    char field[256];
    if (!eq || eq == cond || (size_t)(eq - cond) >= sizeof field)
        return ut_err(err, errlen, "--where '%s': FIELD=VALUE, e.g. round=Geometry", cond);
    snprintf(field, sizeof field, "%.*s", (int)(eq - cond), cond);
    if (!cli_field_ok(field))
        return ut_err(err, errlen, "--where '%s': '%s' is not a field name or names joined by "
                      "dots (metadata.difficulty)", cond, field);
    char **nw = realloc(c->where, (size_t)(c->nwhere + 1) * sizeof *nw);
    if (!nw)
        return ut_err(err, errlen, "out of memory");
    c->where = nw;
    if (!(c->where[c->nwhere] = ut_strdup(cond)))
        return ut_err(err, errlen, "out of memory");
    c->nwhere++;
    qsort(c->where, (size_t)c->nwhere, sizeof *c->where, cmp_strp);
    return 0;
}

/* c->where = the conditions v[0..n) (replacing any). */
static int where_set(runcfg *c, const char *const *v, int n, char *err, size_t errlen)
{
    for (int i = 0; i < c->nwhere; i++)
        free(c->where[i]);
    free(c->where);
    c->where = NULL;
    c->nwhere = 0;
    for (int i = 0; i < n; i++)
        if (where_add(c, v[i], err, errlen))
            return -1;
    return 0;
}

static int where_same(const runcfg *a, const runcfg *b)
{
    if (a->nwhere != b->nwhere)
        return 0;
    for (int i = 0; i < a->nwhere; i++)
        if (strcmp(a->where[i], b->where[i]))
            return 0;
    return 1;
}

/* The conditions as "A, B" (for messages; "none" without any). */
static void where_text(const runcfg *c, char *b, size_t n)
{
    size_t l = 0;
    b[0] = 0;
    for (int i = 0; i < c->nwhere && l + 1 < n; i++)
        l += (size_t)snprintf(b + l, n - l, "%s%s", i ? ", " : "", c->where[i]);
    if (!c->nwhere)
        snprintf(b, n, "none");
}

static cJSON *config_json(const runcfg *c, const dataset *d, const char *round0_example,
                          const char *ct_name, const int32_t *stop, int nstop)
{
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    cJSON_AddStringToObject(j, "rsa", c->spec);
    if (c->preset[0])
        cJSON_AddStringToObject(j, "preset", c->preset);
    cJSON_AddNumberToObject(j, "N", c->p.N);
    cJSON_AddNumberToObject(j, "C", c->p.C);
    cJSON_AddNumberToObject(j, "T", c->p.T);
    cJSON_AddNumberToObject(j, "stages", c->p.T + 1);
    cJSON_AddNumberToObject(j, "beta", (double)c->p.beta);
    cJSON_AddNumberToObject(j, "final", (double)c->p.final_budget);
    cJSON_AddNumberToObject(j, "tau", (double)c->p.tau);
    cJSON_AddStringToObject(j, "tail", rsa_tail_name(c->p.tail));
    cJSON_AddStringToObject(j, "c1", c->p.c1 == RSA_C1_OWN ? "own" : "random");
    cJSON_AddNumberToObject(j, "samples", c->samples);
    cJSON_AddNumberToObject(j, "temperature", c->sp.temperature);
    cJSON_AddNumberToObject(j, "top_p", c->sp.top_p);
    cJSON_AddNumberToObject(j, "top_k", c->sp.top_k);
    cJSON_AddNumberToObject(j, "min_p", c->sp.min_p);
    char sb[32];
    snprintf(sb, sizeof sb, "%llu", c->seed);
    cJSON_AddStringToObject(j, "seed", sb);
    cJSON_AddNumberToObject(j, "limit", (double)c->limit);
    if (c->nwhere) {
        cJSON *w = cJSON_AddArrayToObject(j, "where");
        for (int i = 0; w && i < c->nwhere; i++)
            cJSON_AddItemToArray(w, cJSON_CreateString(c->where[i]));
    }
    cJSON_AddStringToObject(j, "model", c->model);
    if (c->weights)
        cJSON_AddStringToObject(j, "weights", c->weights);
    if (c->chat_template)
        cJSON_AddStringToObject(j, "chat_template_spec", c->chat_template);
    cJSON_AddStringToObject(j, "chat_template", ct_name);
    cJSON_AddBoolToObject(j, "thinking", c->thinking);
    cJSON_AddBoolToObject(j, "store_prompts", c->store_prompts);
    cJSON_AddNumberToObject(j, "max_inflight", c->max_inflight);
    if (c->served_model) {
        cJSON_AddStringToObject(j, "backend", "remote");
        cJSON_AddStringToObject(j, "served_model", c->served_model);
        cJSON_AddStringToObject(j, "endpoints", c->endpoints);
        cJSON_AddStringToObject(j, "remote", c->remote);
    }
    cJSON_AddStringToObject(j, "dataset", d->label);
    cJSON_AddStringToObject(j, "dataset_spec", d->spec);
    if (d->file)
        cJSON_AddStringToObject(j, "dataset_file", d->file);
    cJSON_AddStringToObject(j, "dataset_sha256", d->sha);
    cJSON_AddNumberToObject(j, "problems", (double)d->set.n);
    if (c->prompt_template) {
        cJSON_AddStringToObject(j, "prompt_format", "template");
        cJSON_AddStringToObject(j, "prompt_template", c->prompt_template);
    } else {
        cJSON_AddStringToObject(j, "prompt_format",
                                d->e ? d->e->prompt_format : d->is_code ? "lcb" : "math_boxed");
    }
    cJSON_AddStringToObject(j, "round0_example", round0_example ? round0_example : "");
    cJSON_AddStringToObject(j, "aggregation_style", rsa_prompt_style());
    const char *tails[] = {"{tail 1}", "{tail 2}", "{tail 3}", "{tail 4}"};
    char *a1 = rsa_agg_prompt("{problem}", tails, 1, d->is_code);
    char *a4 = rsa_agg_prompt("{problem}", tails, 4, d->is_code);
    cJSON_AddStringToObject(j, "aggregation_template_c1", a1 ? a1 : "");
    cJSON_AddStringToObject(j, "aggregation_template_c4", a4 ? a4 : "");
    free(a1);
    free(a4);
    cJSON *st = cJSON_AddArrayToObject(j, "stop_ids");
    for (int i = 0; st && i < nstop; i++)
        cJSON_AddItemToArray(st, cJSON_CreateNumber(stop[i]));
    cJSON_AddNumberToObject(j, "cost_cap_tokens_per_problem", rsa_cost_cap(&c->p, c->samples));
    return j;
}

static double jnum(const cJSON *o, const char *k, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* Integer field k of a stored configuration, dflt where absent: 0, or -1
 * (naming k in err) when it is not an integer in [lo, hi]. */
static int jint(const cJSON *o, const char *k, long long dflt, long long lo, long long hi,
                long long *out, const char *name, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    *out = dflt;
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || !ut_double_to_ll(v->valuedouble, out) || *out < lo || *out > hi)
        return ut_err(err, errlen, "run %s: the stored configuration's field '%s' is not an "
                      "integer in [%lld, %lld]", name, k, lo, hi);
    return 0;
}

/* Reads a stored configuration back into c. */
static int config_read(const char *text, const char *name, runcfg *c, char **dataset_spec,
                       char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    *dataset_spec = NULL;
    cJSON *j = cJSON_Parse(text);
    if (!j)
        return ut_err(err, errlen, "run %s: the stored configuration is not JSON", name);
    const char *spec = jstr(j, "rsa"), *model = jstr(j, "model"), *ds = jstr(j, "dataset_spec"),
               *seed = jstr(j, "seed");
    if (!spec || !model || !ds || !seed || rsa_parse(spec, &c->p, err, errlen)) {
        cJSON_Delete(j);
        return ut_err(err, errlen, "run %s: the stored configuration lacks rsa, model, "
                      "dataset_spec or seed", name);
    }
    snprintf(c->spec, sizeof c->spec, "%s", spec);
    if (jstr(j, "preset"))
        snprintf(c->preset, sizeof c->preset, "%s", jstr(j, "preset"));
    long long samples, top_k, limit, inflight;
    if (jint(j, "samples", 0, 0, RSA_MAX_WIDTH, &samples, name, err, errlen) ||
        jint(j, "top_k", 0, 0, INT_MAX, &top_k, name, err, errlen) ||
        jint(j, "limit", 0, 0, LONG_MAX, &limit, name, err, errlen) ||
        jint(j, "max_inflight", 0, 0, INT_MAX, &inflight, name, err, errlen)) {
        cJSON_Delete(j);
        return -1;
    }
    c->samples = (int)samples;
    c->sp.temperature = (float)jnum(j, "temperature", 1);
    c->sp.top_p = (float)jnum(j, "top_p", 1);
    c->sp.top_k = (int)top_k;
    c->sp.min_p = (float)jnum(j, "min_p", 0);
    c->seed = strtoull(seed, NULL, 10);
    c->limit = (long)limit;
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(j, "where"), *x;
    cJSON_ArrayForEach(x, w)
    {
        const char *v = cJSON_GetStringValue(x);
        if (!v || where_add(c, v, err, errlen)) {
            cJSON_Delete(j);
            return v ? -1 : ut_err(err, errlen, "run %s: the stored configuration's where is "
                                                "not a list of strings", name);
        }
    }
    c->model = ut_strdup(model);
    c->weights = jstr(j, "weights") ? ut_strdup(jstr(j, "weights")) : NULL;
    c->chat_template = jstr(j, "chat_template_spec") ? ut_strdup(jstr(j, "chat_template_spec"))
                                                     : NULL;
    c->prompt_template = jstr(j, "prompt_template") ? ut_strdup(jstr(j, "prompt_template"))
                                                    : NULL;
    c->thinking = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "thinking"));
    c->store_prompts = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "store_prompts"));
    c->max_inflight = (int)inflight;
    if (jstr(j, "served_model")) {
        c->served_model = ut_strdup(jstr(j, "served_model"));
        c->endpoints = ut_strdup(jstr(j, "endpoints") ? jstr(j, "endpoints") : "");
        c->remote = ut_strdup(jstr(j, "remote") ? jstr(j, "remote") : "");
        if (!c->served_model || !c->endpoints || !c->remote) {
            cJSON_Delete(j);
            return ut_err(err, errlen, "out of memory");
        }
    }
    *dataset_spec = ut_strdup(ds);
    cJSON_Delete(j);
    if (!c->model || !*dataset_spec)
        return ut_err(err, errlen, "out of memory");
    return 0;
}

/* ------------------------------------------------------------ grading */

typedef struct {
    int ok;                  /* 0: ungraded (correct NULL) */
    int correct;
    char *extracted;         /* malloc'd or NULL */
    const char *reason;      /* static */
} grade;

static int grade_text(const dataset *d, const cJSON *rec, const char *text, grade *g, char *err,
                      size_t errlen)
{
    memset(g, 0, sizeof *g);
    if (d->is_code) {
        if (!code_grade || !code_problem_from_json) {
            g->reason = "not_graded: no code grader in this build";
            return 0;
        }
        code_problem cp;
        char e2[512];
        if (code_problem_from_json(rec, &cp, e2, sizeof e2)) {
            g->reason = "not_graded: bad code record";
            return 0;
        }
        code_options o = {0};
        code_result r;
        int rc = code_grade(&cp, text, &o, &r, err, errlen);
        code_problem_free(&cp);
        if (rc)
            return -1;
        g->ok = 1;
        g->correct = r.verdict == CODE_PASS;
        g->reason = code_verdict_name ? code_verdict_name(r.verdict) : "graded";
        return 0;
    }
    const char *gold = jstr(rec, "answer"), *at = jstr(rec, "answer_type");
    if (!gold) {
        g->reason = "not_graded: record has no answer";
        return 0;
    }
    if (d->e && d->e->integer_only && (!at || strcmp(at, "integer") != 0)) {
        g->reason = "not_graded: needs a judge (not an integer answer)";
        return 0;
    }
    math_gold_spec spec = {MA_EXPRESSION, 0, 0, 0};
    int t = at ? math_answer_type_parse(at) : -1;
    if (t >= 0)
        spec.type = (math_answer_type)t;
    if (d->e && d->e->has_range) {
        spec.has_range = 1;
        spec.range_lo = d->e->range_lo;
        spec.range_hi = d->e->range_hi;
    }
    math_verdict v;
    if (math_grade(text, strlen(text), gold, &spec, &v))
        return ut_err(err, errlen, "out of memory grading");
    g->ok = 1;
    g->correct = v.correct;
    g->reason = math_reason_name(v.reason);
    g->extracted = v.extracted ? ut_strdup(v.extracted) : NULL;
    math_verdict_free(&v);
    return 0;
}

/* ------------------------------------------------------------ runs */

typedef struct {
    char *name;
    const char *label;       /* what the progress line calls it: the name past the base */
    long long id;
    dataset d;
    rsa_params p;            /* its setting (a sweep runs several at once) */
    char spec[256];
    char preset[64];
    int samples;
    int first;               /* index of its first problem in the scheduler */
    long long done[RSA_MAX_ROUNDS], total[RSA_MAX_ROUNDS];
} job;

typedef struct {
    job *jobs;
    int nj;
    rsa_problem *pr;
    int np;
    int *pjob;               /* problem -> job */
    char **owned;            /* prompt strings */
    store *db;
    tok_tokenizer *tk;
    rsa_tailer *tailer;
    const int32_t *stop;
    int nstop;
    int store_prompts;
    int mode;                /* 0 off, 1 plain lines, 2 tty */
    double last_print, t0;
    long long done0;         /* samples done before this process */
    int err_seen;
    rsa_stats last;          /* the scheduler's, as of its last step */
} runctx;

static int on_sample(void *vctx, const rsa_done *x, char *err, size_t errlen)
{
    runctx *c = vctx;
    job *J = &c->jobs[c->pjob[x->problem]];
    const cJSON *rec = J->d.set.rec[x->problem - J->first];
    if (x->finish == ENG_FINISH_ERROR) { /* a failed request: the message in text */
        char ep[8192];
        snprintf(ep, sizeof ep, "[]");
        store_sample s = {(char *)c->pr[x->problem].id, x->round, x->cand, ep, x->seed,
                          x->prompt_tokens, 0, NULL, "error", (char *)x->error, "", 0,
                          c->store_prompts ? (char *)x->prompt : NULL, NULL, -1,
                          "not_graded: request failed", x->started_at, x->finished_at};
        if (x->nparents > 0) {
            size_t l = 0;
            ep[l++] = '[';
            for (int i = 0; i < x->nparents && l + 16 < sizeof ep; i++)
                l += (size_t)snprintf(ep + l, sizeof ep - l, "%s%d", i ? "," : "", x->parents[i]);
            snprintf(ep + l, sizeof ep - l, "]");
        }
        if (!c->err_seen++)
            fprintf(stderr, "zeval run: problem %s round %d candidate %d failed: %s\n",
                    x->problem < c->np ? c->pr[x->problem].id : "?", x->round, x->cand,
                    x->error);
        return store_sample_put(c->db, J->id, &s, err, errlen);
    }
    int n = x->n_ids;
    while (n > 0) { /* the text without the trailing end-of-turn */
        int s = 0;
        for (int i = 0; i < c->nstop; i++)
            s |= x->ids[n - 1] == c->stop[i];
        if (!s)
            break;
        n--;
    }
    char *text = NULL, parents[8192];
    size_t tl;
    if (tok_decode(c->tk, x->ids, (size_t)n, 0, &text, &tl, err, errlen))
        return -1;
    grade g;
    if (grade_text(&J->d, rec, text, &g, err, errlen)) {
        free(text);
        return -1;
    }
    size_t pl = 0;
    parents[pl++] = '[';
    for (int i = 0; i < x->nparents && pl + 16 < sizeof parents; i++)
        pl += (size_t)snprintf(parents + pl, sizeof parents - pl, "%s%d", i ? "," : "",
                               x->parents[i]);
    parents[pl++] = ']';
    parents[pl] = 0;
    store_sample s = {(char *)c->pr[x->problem].id, x->round, x->cand, parents, x->seed,
                      x->prompt_tokens, x->n_ids, (int32_t *)x->ids,
                      (char *)eng_finish_name(x->finish), text, (char *)x->tail, x->tail_tokens,
                      c->store_prompts ? (char *)x->prompt : NULL, g.extracted,
                      g.ok ? g.correct : -1, (char *)g.reason, x->started_at, x->finished_at};
    int rc = store_sample_put(c->db, J->id, &s, err, errlen);
    free(text);
    free(g.extracted);
    if (rc)
        return -1;
    J->done[x->round]++;
    return 0;
}

static void fmt_eta(double s, char *b, size_t n)
{
    if (!(s >= 0) || s > 1e8)
        snprintf(b, n, "?");
    else if (s >= 3600)
        snprintf(b, n, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    else
        snprintf(b, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
}

static void progress(runctx *c, const rsa_stats *st, int final)
{
    double now = ut_now();
    if (c->mode == 0 || (!final && now - c->last_print < (c->mode == 2 ? 0.5 : 10.0)))
        return;
    c->last_print = now;
    double el = now - c->t0;
    long long here = st->done - c->done0;
    double rate = el > 0 ? (double)here / el : 0;
    char eta[32];
    fmt_eta(rate > 0 ? (double)(st->total - st->done) / rate : -1, eta, sizeof eta);
    char line[1024];
    size_t l = 0;
    for (int j = 0; j < c->nj && l + 80 < sizeof line; j++) {
        job *J = &c->jobs[j];
        int r = 0;
        while (r < J->p.T && J->done[r] >= J->total[r])
            r++;
        l += (size_t)snprintf(line + l, sizeof line - l, "%s%s stage %d/%d %lld/%lld",
                              j ? " | " : "", J->label, r, J->p.T, J->done[r], J->total[r]);
    }
    if (c->mode == 2) {
        /* A redrawn line must fit the terminal, or each redraw adds lines:
         * the totals first, then as much of the runs as fits. */
        char tl[1200];
        int n = snprintf(tl, sizeof tl, "%lld/%lld samples, %.1f tok/s, ETA %s | %s", st->done,
                         st->total, el > 0 ? (double)st->tokens / el : 0.0, eta, line);
        struct winsize ws;
        size_t cols = ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 0;
        size_t len = n < 0 ? 0 : (size_t)n < sizeof tl ? (size_t)n : sizeof tl - 1;
        if (cols > 4 && len > cols - 1) { /* cut at a character boundary, mark it */
            len = cols - 4;
            while (len > 0 && ((unsigned char)tl[len] & 0xC0) == 0x80)
                len--;
            memcpy(tl + len, "...", 4);
            len += 3;
        }
        fprintf(stderr, "\r\033[K%.*s%s", (int)len, tl, final ? "\n" : "");
    } else
        fprintf(stderr, "zeval run: %s | %lld/%lld samples, %.1f tok/s, ETA %s\n", line,
                st->done, st->total, el > 0 ? (double)st->tokens / el : 0.0, eta);
    fflush(stderr);
}

static void on_step(void *vctx, const rsa_stats *st)
{
    ((runctx *)vctx)->last = *st;
    progress(vctx, st, 0);
}

static char *gen_name(void)
{
    char b[64];
    time_t t = time(NULL);
    struct tm tmv;
    localtime_r(&t, &tmv);
    size_t l = strftime(b, sizeof b, "run-%Y%m%d-%H%M%S", &tmv);
    snprintf(b + l, sizeof b - l, "-%04x", (unsigned)(smp_rng((uint64_t)getpid(),
                                                               (uint64_t)t) & 0xffff));
    return ut_strdup(b);
}

static void print_hist(const eng_backend *b)
{
    uint64_t calls, hist[1025];
    eng_backend_cpu_stats(b, &calls, hist, 1025);
    uint64_t rows = 0;
    int mx = 0;
    for (int i = 1; i < 1025; i++) {
        rows += hist[i] * (uint64_t)i;
        if (hist[i])
            mx = i;
    }
    fprintf(stderr, "zeval run: engine batches: %llu forward calls, mean %.1f sequences, max %d%s\n",
            (unsigned long long)calls, calls ? (double)rows / (double)calls : 0.0, mx,
            mx == 1024 ? "+" : "");
    fprintf(stderr, "zeval run: batch-size histogram (sequences per call: calls):");
    for (int lo = 1; lo < 1025; lo *= 2) {
        int hi = lo * 2 - 1 < 1024 ? lo * 2 - 1 : 1024;
        uint64_t s = 0;
        for (int i = lo; i <= hi; i++)
            s += hist[i];
        if (s)
            fprintf(stderr, " %d-%d:%llu", lo, hi, (unsigned long long)s);
    }
    fprintf(stderr, "\n");
}

/* zeval show --by FIELD: the metrics grouped by a field of the dataset's
 * records. */
typedef struct {
    const char *field;
    const char *dataset; /* --dataset: the records to read the field from */
} show_by;

/* Prints the metrics of one stored run (grouped too, with by). */
static int show_run(store *db, const char *name, FILE *out, cJSON *arr, const show_by *by,
                    char *err, size_t errlen);
static int runs_print(FILE *out, store *db, char **names, size_t n, int json, char *err,
                      size_t errlen);

/* The BLAS library a GPU device record says its products ran on
 * (ZEVAL_GPU_BMM=blas: "cuBLAS" or "rocBLAS"), or NULL. */
static const char *blas_device(const char *device)
{
    if (device && strstr(device, "products cuBLAS"))
        return "cuBLAS";
    if (device && strstr(device, "products rocBLAS"))
        return "rocBLAS";
    return NULL;
}

/* Whether a GPU device record `now` gives other values than `stored` (the
 * part from ", K/V cache " on: the cache type, then the products' and the
 * attention's kinds; a record from before those were added is held to
 * its cache type).  Records without that part (the CPU) never differ. */
static int numerics_differ(const char *stored, const char *now)
{
    const char *vs = stored ? strstr(stored, ", K/V cache ") : NULL;
    const char *vn = now ? strstr(now, ", K/V cache ") : NULL;
    if (!vs || !vn)
        return 0;
    if (strstr(vs, ", products "))
        return strcmp(vs, vn) != 0;
    size_t n = strlen(vs);
    return strncmp(vs, vn, n) != 0 || (vn[n] && vn[n] != ',');
}

/* What SIGINT or SIGTERM prints before the run dies of it: every finished
 * sample is already committed, so the resume command is all that's left
 * to say.  Written with write(2) alone (async-signal-safe). */
static char interrupt_msg[2048];
static size_t interrupt_len;

static void on_interrupt(int sig)
{
    ssize_t w = write(2, interrupt_msg, interrupt_len);
    (void)w;
    signal(sig, SIG_DFL);
    raise(sig);
}

static void interrupt_arm(const char *base, const char *db)
{
    int n = snprintf(interrupt_msg, sizeof interrupt_msg,
                     "\nzeval run: interrupted; every finished sample is stored, and `zeval run "
                     "--resume %s --db %s` generates the rest\n", base, db);
    interrupt_len = n < 0 ? 0 : (size_t)n < sizeof interrupt_msg ? (size_t)n
                                                                   : sizeof interrupt_msg - 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void interrupt_disarm(void)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
}

/* Sets up jobs for runs that exist (resume) or are new, then generates.
 * base is the name `--resume` takes (for the interrupt message). */
static int execute(runcfg *cfg, job *jobs, int nj, store *db, const char *base, int resume,
                   int progress_mode, char *err, size_t errlen)
{
    int rc = -1;
    eng_model *m = NULL;
    tok_tokenizer *tk = NULL;
    chat_template *ct = NULL;
    eng_backend *be = NULL;
    runctx c = {0};
    rsa_prior *prior = NULL;
    store_sample **stored = calloc((size_t)nj, sizeof *stored);
    size_t *nstored = calloc((size_t)nj, sizeof *nstored), nprior = 0;
    char *tpath = NULL;
    if (!stored || !nstored) {
        ut_err(err, errlen, "out of memory");
        goto done;
    }
    int remote_be = cfg->served_model != NULL; /* cfg->model is then the tokenizer DIR */
    if (!remote_be && eng_model_load(cfg->model, cfg->weights, &m, err, errlen))
        goto done;
    tpath = ut_path_join(cfg->model, "tokenizer.json");
    if (!tpath || tok_load(tpath, &tk, err, errlen))
        goto done;
    char why[1024];
    if (cli_chat_open(cfg->chat_template, cfg->model, &ct, why, sizeof why, err, errlen))
        goto done;
    chat_opts co = chat_default_opts();
    co.thinking = cfg->thinking;
    int32_t stop[8];
    int nstop = 0;
    int vocab = m ? m->cfg.vocab : tok_vocab_size(tk);
    int32_t eos = m ? m->cfg.eos_id : rmt_eos_id(cfg->model, tk);
    if (eos >= 0)
        stop[nstop++] = eos;
    static const char *stop_pieces[] = {"<eos>", "<end_of_turn>", "<|im_end|>", "<|endoftext|>"};
    for (size_t i = 0; i < sizeof stop_pieces / sizeof stop_pieces[0]; i++) {
        int32_t id = tok_piece_id(tk, stop_pieces[i], strlen(stop_pieces[i]));
        int dup = 0;
        for (int k = 0; k < nstop; k++)
            dup |= stop[k] == id;
        if (id >= 0 && !dup && id < vocab)
            stop[nstop++] = id;
    }
    int vlimit = tok_vocab_size(tk) < vocab ? tok_vocab_size(tk) : vocab;
    int be_kind = ENG_BE_CPU;
    char be_note[600] = "";
    if (!remote_be) {
        if ((be_kind = eng_backend_pick(backend_spec, be_note, sizeof be_note, err, errlen)) < 0)
            goto done;
        if (be_note[0])
            fprintf(stderr, "zeval run: %s\n", be_note);
    }
    /* The device as the run rows record it: the probe's description. */
    char *be_device = be_note;
    if (strncmp(be_device, "GPU backend on ", 15) == 0)
        be_device += 15;
    if (!resume && blas_device(be_device))
        fprintf(stderr, "zeval run: products on %s (ZEVAL_GPU_BMM=blas): its values depend on "
                "how many tokens share a step, so this run cannot be resumed if it stops\n",
                blas_device(be_device));

    /* Problems of every job, in job order. */
    for (int j = 0; j < nj; j++)
        c.np += (int)jobs[j].d.set.n;
    c.pr = calloc((size_t)c.np, sizeof *c.pr);
    c.pjob = calloc((size_t)c.np, sizeof *c.pjob);
    c.owned = calloc((size_t)c.np * 2, sizeof *c.owned);
    if (!c.pr || !c.pjob || !c.owned) {
        ut_err(err, errlen, "out of memory");
        goto done;
    }
    int k = 0;
    for (int j = 0; j < nj; j++) {
        job *J = &jobs[j];
        J->first = k;
        for (int r = 0; r <= J->p.T; r++)
            J->total[r] = (long long)J->d.set.n * rsa_width(&J->p, J->samples, r);
        for (size_t i = 0; i < J->d.set.n; i++, k++) {
            const cJSON *rec = J->d.set.rec[i];
            c.pjob[k] = j;
            c.pr[k].id = jstr(rec, "id");
            char *p0 = record_prompt(&J->d, rec, cfg->prompt_template);
            const char *q = jstr(rec, J->d.is_code ? "prompt" : "problem");
            char *qq = J->d.is_code ? (p0 ? ut_strdup(p0) : NULL) : (q ? ut_strdup(q) : NULL);
            c.owned[2 * k] = p0;
            c.owned[2 * k + 1] = qq;
            if (!c.pr[k].id || !p0 || !qq) {
                ut_err(err, errlen, "%s: record %zu has no id or no problem text", J->d.spec,
                       i + 1);
                goto done;
            }
            c.pr[k].round0 = p0;
            c.pr[k].question = qq;
            c.pr[k].code = J->d.is_code;
            c.pr[k].p = &J->p;
            c.pr[k].samples = J->samples;
        }
    }
    /* New runs: record configuration and provenance; resumed ones: check
     * that the weights, tokenizer and dataset are the ones recorded, so a
     * run never holds samples of two models or two problem sets. */
    char wsha[65] = "", tsha[65] = "", csha[65] = "";
    if ((m && sha256_file(m->weights_path, wsha, err, errlen)) ||
        sha256_file(tpath, tsha, err, errlen))
        goto done;
    for (int j = 0; resume && j < nj; j++) {
        store_run r;
        if (store_run_get(db, jobs[j].name, &r, err, errlen) != 1)
            goto done;
        const char *what = NULL, *path = NULL, *had = NULL, *now = NULL;
        if (m && r.weights_sha256 && *r.weights_sha256 && strcmp(r.weights_sha256, wsha))
            what = "weights", path = m->weights_path, had = r.weights_sha256, now = wsha;
        else if (r.tokenizer_sha256 && *r.tokenizer_sha256 && strcmp(r.tokenizer_sha256, tsha))
            what = "tokenizer", path = tpath, had = r.tokenizer_sha256, now = tsha;
        else if (r.dataset_sha256 && *r.dataset_sha256 && strcmp(r.dataset_sha256, jobs[j].d.sha))
            what = "dataset", path = jobs[j].d.spec, had = r.dataset_sha256, now = jobs[j].d.sha;
        const char *bk = be_kind == ENG_BE_GPU ? "gpu" : "cpu";
        if (what) {
            ut_err(err, errlen, "--resume %s: %s (the run's %s) has changed since run %s started "
                   "(sha256 %.12s.., recorded %.12s..); resuming would mix samples of both",
                   jobs[j].name, path, what, jobs[j].name, now, had);
        } else if (!remote_be && r.backend && strcmp(r.backend, "remote") &&
                   strcmp(r.backend, bk)) {
            what = "backend";
            ut_err(err, errlen, "--resume %s: run %s ran on the %s backend; on the %s backend "
                   "the samples still to come would not be the ones it would have stored "
                   "(--backend %s)", jobs[j].name, jobs[j].name, r.backend, bk, r.backend);
        } else if (!remote_be && blas_device(r.device)) {
            what = "numerics";
            ut_err(err, errlen, "--resume %s: run %s's products ran on %s "
                   "(ZEVAL_GPU_BMM=blas), whose values depend on how many tokens shared each "
                   "step, so no resume can reproduce the samples still to come; start a new run",
                   jobs[j].name, jobs[j].name, blas_device(r.device));
        } else if (!remote_be && numerics_differ(r.device, be_device)) {
            what = "numerics";
            ut_err(err, errlen, "--resume %s: run %s's values came from%s; this device gives%s, "
                   "so the samples still to come would not be the ones it would have stored "
                   "(set ZEVAL_GPU_KV_DTYPE, ZEVAL_GPU_BMM, ZEVAL_GPU_ATTN as the run had them)",
                   jobs[j].name, jobs[j].name, strstr(r.device, ", K/V cache ") + 1,
                   strstr(be_device, ", K/V cache ") + 1);
        }
        store_run_free(&r);
        if (what) {
            rc = -2;
            goto done;
        }
    }
    if (!resume) {
        chat_msg probe = {"user", "{content}"};
        char *pt = NULL;
        size_t ptl;
        if (chat_render(ct, &probe, 1, &co, &pt, &ptl, err, errlen))
            goto done;
        sha256_hex_of(pt, ptl, csha);
        free(pt);
    }
    for (int j = 0; j < nj; j++) {
        job *J = &jobs[j];
        if (resume) {
            long long dropped = 0; /* failed requests are generated again */
            if (store_samples_drop_errors(db, J->id, &dropped, err, errlen))
                goto done;
            if (dropped)
                fprintf(stderr, "zeval run: %s: retrying %lld failed samples\n", J->name,
                        dropped);
            if (store_samples_get(db, J->id, 0, &stored[j], &nstored[j], err, errlen))
                goto done;
            nprior += nstored[j];
            if (store_run_finish(db, J->id, -1, err, errlen))
                goto done;
            continue;
        }
        /* the rendered round-0 chat text of the first problem, for the record */
        chat_msg m0 = {"user", c.pr[J->first].round0};
        char *ex = NULL;
        size_t exl;
        if (chat_render(ct, &m0, 1, &co, &ex, &exl, err, errlen))
            goto done;
        runcfg jc = *cfg; /* the job's setting; the strings stay cfg's */
        jc.p = J->p;
        jc.samples = J->samples;
        memcpy(jc.spec, J->spec, sizeof jc.spec);
        memcpy(jc.preset, J->preset, sizeof jc.preset);
        cJSON *cj = config_json(&jc, &J->d, ex, chat_name(ct), stop, nstop);
        free(ex);
        char *ctext = cj ? cJSON_PrintUnformatted(cj) : NULL;
        cJSON_Delete(cj);
        if (!ctext) {
            ut_err(err, errlen, "out of memory");
            goto done;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        store_run r = {0};
        r.name = J->name;
        r.config = ctext;
        r.zeval_version = ZEVAL_VERSION;
        r.model_path = remote_be ? cfg->served_model : cfg->model;
        r.weights_sha256 = remote_be ? NULL : wsha;
        r.tokenizer_sha256 = tsha;
        r.chat_template = (char *)chat_name(ct);
        r.chat_template_sha256 = csha;
        r.dataset = J->d.label;
        r.dataset_file = J->d.file;
        r.dataset_sha256 = J->d.sha;
        r.dataset_revision = J->d.e && !J->d.file ? (char *)J->d.e->revision : NULL;
        r.backend = remote_be ? "remote" : be_kind == ENG_BE_GPU ? "gpu" : "cpu";
        r.device = remote_be ? cfg->endpoints : be_kind == ENG_BE_GPU ? be_device : "cpu";
        r.started_at = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
        int e = store_run_create(db, &r, &J->id, err, errlen);
        free(ctext);
        if (e)
            goto done;
        fprintf(stderr, "zeval run: run %s (%zu problems, %s)\n", J->name, J->d.set.n, J->spec);
    }
    /* Stored samples become priors (their ids rebuild tails). */
    if (nprior) {
        prior = calloc(nprior, sizeof *prior);
        if (!prior) {
            ut_err(err, errlen, "out of memory");
            goto done;
        }
        size_t w = 0;
        for (int j = 0; j < nj; j++) {
            job *J = &jobs[j];
            for (size_t i = 0; i < nstored[j]; i++) {
                store_sample *x = &stored[j][i];
                int pi = -1;
                for (size_t q = 0; q < J->d.set.n; q++)
                    if (!strcmp(c.pr[J->first + (int)q].id, x->problem_id)) {
                        pi = J->first + (int)q;
                        break;
                    }
                if (pi < 0) {
                    ut_err(err, errlen, "run %s: stored problem %s is not in %s", J->name,
                           x->problem_id, J->d.spec);
                    goto done;
                }
                prior[w++] = (rsa_prior){pi, x->round, x->candidate, x->gen_ids, x->gen_tokens};
                if (x->round >= 0 && x->round < RSA_MAX_ROUNDS)
                    J->done[x->round]++;
            }
        }
        fprintf(stderr, "zeval run: resuming with %zu stored samples\n", nprior);
    }
    if (remote_be) {
        rmt_opts ro;
        rmt_opts_default(&ro);
        if (rmt_opts_parse(cfg->remote, &ro, err, errlen) ||
            !(be = rmt_backend_new(cfg->endpoints, cfg->served_model, tk, &ro, err, errlen)))
            goto done;
    } else if (be_kind == ENG_BE_GPU) {
        if (!(be = eng_backend_gpu(m, err, errlen)))
            goto done;
    } else if (!(be = eng_backend_cpu(m, 0))) {
        ut_err(err, errlen, "out of memory");
        goto done;
    }
    c.jobs = jobs;
    c.nj = nj;
    c.db = db;
    c.tk = tk;
    c.stop = stop;
    c.nstop = nstop;
    c.store_prompts = cfg->store_prompts;
    c.mode = progress_mode;
    c.t0 = ut_now();
    c.done0 = (long long)nprior;
    rsa_sched s = {cfg->p, cfg->samples, cfg->sp, cfg->seed, tk, ct, co, stop, nstop, vlimit,
                   cfg->max_inflight, on_sample, on_step, &c,
                   1 /* keep_errors: failed requests become error rows; --resume retries them */};
    interrupt_arm(base, store_path(db));
    int failed = rsa_run(&s, be, c.pr, c.np, prior, nprior, err, errlen);
    interrupt_disarm();
    if (failed) {
        if (c.mode == 2)
            fprintf(stderr, "\n");
        goto done;
    }
    rsa_stats fin = c.last; /* this process's tokens; the runs' samples from the store */
    fin.done = fin.total = 0;
    for (int j = 0; j < nj; j++)
        for (int r = 0; r <= jobs[j].p.T; r++) {
            fin.done += jobs[j].done[r];
            fin.total += jobs[j].total[r];
        }
    progress(&c, &fin, 1);
    if (fin.shared > 0)
        fprintf(stderr, "zeval run: %lld samples generated once for several settings (the "
                "same problem, round, candidate and prompt: the same sample, cut to each "
                "budget): %lld tokens not generated again\n", fin.shared, fin.shared_tokens);
    if (remote_be) {
        rmt_stats rs;
        rmt_backend_stats(be, &rs);
        fprintf(stderr, "zeval run: remote: %lld requests, %lld attempts (%lld retries), %lld "
                "failed\n", rs.requests, rs.attempts, rs.retries, rs.errors);
    } else if (strcmp(be->name, "cpu") == 0) {
        print_hist(be);
    } else if (strcmp(be->name, "gpu") == 0) {
        uint64_t steps, hits;
        double pool, peak, dev;
        eng_backend_gpu_stats(be, &steps, &hits, &pool, &peak, &dev);
        /* The pool takes the free memory up front: what the run needed is
         * the device memory in use less the pages it never filled. */
        fprintf(stderr, "zeval run: GPU engine: %llu steps; %llu requests found their prompt "
                "prefix already cached; K/V cache (%s) peak %.3f of %.2f GB; device memory in "
                "use %.2f GB, of which the run needed at its peak %.2f GB (weights, buffers and "
                "the K/V cache's peak)\n", (unsigned long long)steps, (unsigned long long)hits,
                eng_backend_gpu_kv_dtype(be), peak, pool, dev, dev - pool + peak);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    for (int j = 0; j < nj; j++)
        if (store_run_finish(db, jobs[j].id, (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9, err,
                             errlen))
            goto done;
    for (int j = 0; j < nj; j++)
        if (show_run(db, jobs[j].name, stdout, NULL, NULL, err, errlen))
            goto done;
    if (nj > 1) { /* the runs side by side: settings against their compute */
        char **names = malloc((size_t)nj * sizeof *names);
        if (!names) {
            ut_err(err, errlen, "out of memory");
            goto done;
        }
        for (int j = 0; j < nj; j++)
            names[j] = jobs[j].name;
        printf("\n");
        int e = runs_print(stdout, db, names, (size_t)nj, 0, err, errlen);
        free(names);
        if (e)
            goto done;
    }
    rc = 0;
done:
    if (c.owned)
        for (int i = 0; i < 2 * c.np; i++)
            free(c.owned[i]);
    free(c.owned);
    free(c.pr);
    free(c.pjob);
    free(prior);
    for (int j = 0; stored && j < nj; j++)
        store_samples_free(stored[j], nstored[j]);
    free(stored);
    free(nstored);
    free(tpath);
    if (be)
        be->free(be);
    chat_free(ct);
    tok_free(tk);
    eng_model_free(m);
    return rc;
}

static int parse_sampling(const args_opt *o, int no, smp_params *sp, int *given, char *err,
                          size_t errlen)
{
    struct { const char *name; float *dst; } fl[] = {
        {"temperature", &sp->temperature}, {"top-p", &sp->top_p}, {"min-p", &sp->min_p}};
    const char *v;
    for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++) {
        if (!(v = args_get(o, no, fl[i].name)))
            continue;
        char what[32];
        double x;
        snprintf(what, sizeof what, "--%s", fl[i].name);
        if (args_float(v, what, &x, err, errlen))
            return -1;
        *fl[i].dst = (float)x;
        *given = 1;
    }
    if ((v = args_get(o, no, "top-k"))) {
        long k;
        if (args_count(v, "--top-k", &k, err, errlen))
            return -1;
        if (k > (1 << 24))
            return ut_err(err, errlen, "--top-k: too large");
        sp->top_k = (int)k;
        *given = 1;
    }
    return smp_validate(sp, err, errlen);
}

static int progress_mode_of(const char *v)
{
    if (!v || !strcmp(v, "auto"))
        return isatty(2) ? 2 : 1;
    if (!strcmp(v, "tty"))
        return 2;
    if (!strcmp(v, "plain"))
        return 1;
    if (!strcmp(v, "off"))
        return 0;
    return -1;
}

/* A setting as listings and run names give it: the preset, or the
 * shortest SPEC (with ",samples=K" for T = 0 when samples > 0). */
static void setting_name(char *b, size_t n, const char *preset, const rsa_params *p,
                         long long samples)
{
    if (preset && *preset) {
        snprintf(b, n, "%s", preset);
        return;
    }
    rsa_format_short(p, b, n);
    if (p->T == 0 && samples > 0) {
        size_t l = strlen(b);
        snprintf(b + l, n - l, ",samples=%lld", samples);
    }
}

/* The first run of jobs[0..j] whose requests of round r job j's equal: the
 * same dataset and a setting with the same prompts in round r
 * (rsa_same_prompts).  A sweep makes such requests once, at the largest
 * budget (rsa.h). */
static int round_leader(const job *jobs, int j, int r)
{
    const job *J = &jobs[j];
    for (int i = 0; i < j; i++)
        if (jobs[i].d.set.n == J->d.set.n && !strcmp(jobs[i].d.spec, J->d.spec) &&
            rsa_same_prompts(&jobs[i].p, jobs[i].samples, &J->p, J->samples, r))
            return i;
    return j;
}

/* --dry-run: what the run would generate, per run and in all, and stores
 * nothing.  For a resume, what is still missing.  Rounds that settings of a
 * sweep share count once in the totals (as many as the run that misses the
 * most of them: runs resumed together miss the same ones), at the largest
 * budget among them. */
static int plan(const job *jobs, int nj, store *db, int resume, char *err, size_t errlen)
{
    long long tot_samples = 0, tot_missing = 0, tot_gen = 0;
    double tot_cap = 0;
    int wn = 3, ws = 7;
    char (*set)[256] = calloc((size_t)nj + 1, sizeof *set); /* the preset or shortest SPEC */
    long long (*left)[RSA_MAX_ROUNDS] = calloc((size_t)nj + 1, sizeof *left);
    if (!set || !left) {
        free(set);
        free(left);
        return ut_err(err, errlen, "out of memory");
    }
    for (int j = 0; j < nj; j++) {
        setting_name(set[j], sizeof set[j], jobs[j].preset, &jobs[j].p, jobs[j].samples);
        if ((int)strlen(jobs[j].name) > wn)
            wn = (int)strlen(jobs[j].name);
        if ((int)strlen(set[j]) > ws)
            ws = (int)strlen(set[j]);
    }
    printf("%-*s  %-*s  %8s  %10s  %10s  %12s\n", wn, "RUN", ws, "SETTING", "PROBLEMS",
           "SAMPLES", "TO GENERATE", "MAX TOKENS");
    for (int j = 0; j < nj; j++) {
        const job *J = &jobs[j];
        long long stored[RSA_MAX_ROUNDS] = {0}, expected = 0, todo = 0;
        double cap = 0;
        if (resume && store_round_counts(db, J->id, stored, J->p.T + 1, err, errlen)) {
            free(set);
            free(left);
            return -1;
        }
        for (int r = 0; r <= J->p.T; r++) {
            long long want = (long long)J->d.set.n * rsa_width(&J->p, J->samples, r);
            left[j][r] = want > stored[r] ? want - stored[r] : 0;
            expected += want;
            todo += left[j][r];
            cap += (double)left[j][r] * (double)rsa_budget(&J->p, r);
        }
        printf("%-*s  %-*s  %8zu  %10lld  %10lld  %12.0f\n", wn, J->name, ws, set[j],
               J->d.set.n, expected, todo, cap);
        tot_samples += expected;
        tot_missing += todo;
    }
    for (int j = 0; j < nj; j++) /* each shared round once, at its first run */
        for (int r = 0; r <= jobs[j].p.T; r++) {
            if (round_leader(jobs, j, r) != j)
                continue;
            long long most = left[j][r];
            long budget = rsa_budget(&jobs[j].p, r);
            for (int k = j + 1; k < nj; k++)
                if (round_leader(jobs, k, r) == j) {
                    most = left[k][r] > most ? left[k][r] : most;
                    budget = rsa_budget(&jobs[k].p, r) > budget ? rsa_budget(&jobs[k].p, r)
                                                                : budget;
                }
            tot_gen += most;
            tot_cap += (double)most * (double)budget;
        }
    printf("%d run%s: %lld samples to generate of %lld", nj, nj == 1 ? "" : "s", tot_missing,
           tot_samples);
    if (tot_gen < tot_missing)
        printf(", %lld of them shared with another setting (%lld requests)",
               tot_missing - tot_gen, tot_gen);
    printf(", at most %.0f generated tokens (each request's budget; requests that stop early "
           "use less)\n", tot_cap);
    printf("(--dry-run: nothing generated or stored)\n");
    free(set);
    free(left);
    return 0;
}

/* One RSA setting of a run command: several make a sweep, one run each
 * (per dataset), scheduled together. */
typedef struct {
    rsa_params p;
    char spec[256];   /* canonical SPEC, as stored */
    char preset[64];  /* "" unless from --preset */
    char label[256];  /* in run names: the preset, or the shortest SPEC */
} setting;

#define MAX_SETTINGS 64

/* The settings of --preset A,B,... then of every --rsa, in order. */
static int settings_parse(const char *presets, const char *const *rsas, int nrsa, setting *st,
                          int *n, char *err, size_t errlen)
{
    *n = 0;
    char *list = presets ? ut_strdup(presets) : NULL;
    if (presets && !list)
        return ut_err(err, errlen, "out of memory");
    int rc = 0;
    char *save = NULL;
    for (char *t = list ? strtok_r(list, ",", &save) : NULL; t && !rc;
         t = strtok_r(NULL, ",", &save)) {
        const rsa_preset *ps = rsa_preset_find(t);
        if (!ps) {
            rc = ut_err(err, errlen, "unknown preset '%s' (see `zeval presets`)", t);
        } else if (*n == MAX_SETTINGS) {
            rc = ut_err(err, errlen, "more than %d settings", MAX_SETTINGS);
        } else {
            setting *x = &st[(*n)++];
            rc = rsa_parse(ps->spec, &x->p, err, errlen);
            snprintf(x->preset, sizeof x->preset, "%s", t);
            setting_name(x->label, sizeof x->label, x->preset, &x->p, 0);
        }
    }
    free(list);
    for (int i = 0; i < nrsa && !rc; i++) {
        if (*n == MAX_SETTINGS) {
            rc = ut_err(err, errlen, "more than %d settings", MAX_SETTINGS);
            break;
        }
        setting *x = &st[*n];
        if ((rc = rsa_parse(rsas[i], &x->p, err, errlen)))
            break;
        x->preset[0] = 0;
        setting_name(x->label, sizeof x->label, NULL, &x->p, 0);
        (*n)++;
    }
    for (int i = 0; i < *n && !rc; i++) {
        rsa_format(&st[i].p, st[i].spec, sizeof st[i].spec);
        for (int j = 0; j < i && !rc; j++)
            if (!strcmp(st[i].label, st[j].label))
                rc = ut_err(err, errlen, "setting %s is given twice", st[i].label);
    }
    return rc;
}

static int run_main(int argc, char **argv, const char *const *rsas, int nrsa,
                    const char *const *wheres, int nwhere);

int cli_run(int argc, char **argv)
{
    const char **rsas = NULL, **wheres = NULL;
    int nrsa = 0, nwhere = 0;
    char err[256];
    if (args_take(&argc, argv, "rsa", &rsas, &nrsa, err, sizeof err) ||
        args_take(&argc, argv, "where", &wheres, &nwhere, err, sizeof err)) {
        free(rsas);
        free(wheres);
        fprintf(stderr, "zeval run: %s\n%s", err, run_usage);
        return 2;
    }
    int rc = run_main(argc, argv, rsas, nrsa, wheres, nwhere);
    free(rsas);
    free(wheres);
    return rc;
}

static int run_main(int argc, char **argv, const char *const *rsas, int nrsa,
                    const char *const *wheres, int nwhere)
{
    args_opt o[] = {{"model", 1, NULL},       {"weights", 1, NULL},     {"dataset", 1, NULL},
                    {"limit", 1, NULL},       {"preset", 1, NULL},
                    {"samples", 1, NULL},     {"temperature", 1, NULL}, {"top-p", 1, NULL},
                    {"top-k", 1, NULL},       {"min-p", 1, NULL},       {"seed", 1, NULL},
                    {"db", 1, NULL},          {"name", 1, NULL},        {"resume", 1, NULL},
                    {"chat-template", 1, NULL}, {"thinking", 1, NULL}, {"store-prompts", 0, NULL},
                    {"dry-run", 0, NULL},       {"prompt-template", 1, NULL},
                    {"max-inflight", 1, NULL}, {"progress", 1, NULL},  {"help", 0, NULL},
                    {"endpoint", 1, NULL},    {"served-model", 1, NULL}, {"tokenizer", 1, NULL},
                    {"remote", 1, NULL},      {"threads", 1, NULL},     {"backend", 1, NULL}};
    int no = (int)(sizeof o / sizeof o[0]);
    char err[4096];
    if (args_parse(argc, argv, o, no, err, sizeof err)) {
        fprintf(stderr, "zeval run: %s\n%s", err, run_usage);
        return 2;
    }
    if (args_get(o, no, "help")) {
        fputs(run_usage, stdout);
        return 0;
    }
    if (cli_threads(args_get(o, no, "threads"), err, sizeof err)) {
        fprintf(stderr, "zeval run: %s\n", err);
        return 2;
    }
    backend_spec = args_get(o, no, "backend");
    int pmode = progress_mode_of(args_get(o, no, "progress"));
    if (pmode < 0) {
        fprintf(stderr, "zeval run: --progress must be auto, tty, plain or off\n");
        return 2;
    }
    const char *dbpath = args_get(o, no, "db") ? args_get(o, no, "db") : DEFAULT_DB;
    const char *resume = args_get(o, no, "resume"), *name = args_get(o, no, "name");
    const char *preset = args_get(o, no, "preset");
    if (resume && name) {
        fprintf(stderr, "zeval run: give --name or --resume, not both\n");
        return 2;
    }
    setting sets[MAX_SETTINGS];
    int nset = 0;
    if (settings_parse(preset, rsas, nrsa, sets, &nset, err, sizeof err)) {
        fprintf(stderr, "zeval run: %s\n", err);
        return 2;
    }
    /* Parse every flag that defines a configuration. */
    runcfg cfg = {0};
    char *tmpl = NULL; /* --prompt-template's text, until cfg takes it */
    cfg.sp = smp_greedy();
    cfg.sp.temperature = 1.0f; /* paper Table XII: T 1.0, top-p 1.0 for TTC runs */
    cfg.thinking = 1;
    int sampling_given = 0, status = 2;
    const char *v;
    long lv;
    unsigned long long seed = 0;
    if (nset) { /* the first; every job carries its own */
        cfg.p = sets[0].p;
        memcpy(cfg.spec, sets[0].spec, sizeof cfg.spec);
        memcpy(cfg.preset, sets[0].preset, sizeof cfg.preset);
    }
    if (parse_sampling(o, no, &cfg.sp, &sampling_given, err, sizeof err))
        goto usage_err;
    if ((v = args_get(o, no, "samples"))) {
        if (args_count(v, "--samples", &lv, err, sizeof err))
            goto usage_err;
        if (lv < 1 || lv > RSA_MAX_WIDTH) {
            snprintf(err, sizeof err, "--samples must be 1..%d", RSA_MAX_WIDTH);
            goto usage_err;
        }
        cfg.samples = (int)lv;
    }
    if ((v = args_get(o, no, "limit"))) {
        if (args_count(v, "--limit", &lv, err, sizeof err))
            goto usage_err;
        cfg.limit = lv;
    }
    if (where_set(&cfg, wheres, nwhere, err, sizeof err))
        goto usage_err;
    if ((v = args_get(o, no, "max-inflight"))) {
        if (args_count(v, "--max-inflight", &lv, err, sizeof err))
            goto usage_err;
        cfg.max_inflight = lv > 1000000 ? 1000000 : (int)lv;
    }
    if ((v = args_get(o, no, "seed")) && args_u64(v, "--seed", &seed, err, sizeof err))
        goto usage_err;
    cfg.seed = seed;
    if ((v = args_get(o, no, "thinking"))) {
        chat_opts co = chat_default_opts();
        if (cli_chat_opts(v, &co, err, sizeof err))
            goto usage_err;
        cfg.thinking = co.thinking;
    }
    cfg.store_prompts = args_get(o, no, "store-prompts") != NULL;
    if ((v = args_get(o, no, "prompt-template"))) {
        size_t tl;
        if (ut_read_file(v, 1 << 20, &tmpl, &tl, err, sizeof err)) {
            ut_err_prefix(err, sizeof err, "--prompt-template");
            goto usage_err;
        }
        if (tl == 0 || strlen(tmpl) != tl) {
            snprintf(err, sizeof err, "--prompt-template %s: %s", v,
                     tl ? "holds a NUL byte" : "is empty");
            goto usage_err; /* which frees tmpl */
        }
    }

    store *db = NULL;
    job *jobs = NULL;
    int nj = 0;
    char **names = NULL;
    size_t nnames = 0;
    char *dspec_list = NULL;
    runcfg stored0 = {0};
    char basebuf[512] = ""; /* the name --resume takes */
    int dry = args_get(o, no, "dry-run") != NULL;
    if (resume) {
        if (cli_db_open(dbpath, &db, err, sizeof err))
            goto fail;
        if (store_run_names(db, resume, &names, &nnames, err, sizeof err))
            goto fail;
        if (nnames == 0) {
            snprintf(err, sizeof err, "%s: no run named '%s' (or '%s/...')", dbpath, resume,
                     resume);
            goto fail;
        }
        jobs = calloc(nnames, sizeof *jobs);
        if (!jobs)
            goto oom;
        for (size_t i = 0; i < nnames; i++) {
            store_run r;
            if (store_run_get(db, names[i], &r, err, sizeof err) != 1)
                goto fail;
            runcfg sc;
            char *ds = NULL;
            int e = config_read(r.config, names[i], &sc, &ds, err, sizeof err);
            long long rid = r.id;
            store_run_free(&r);
            if (e) {
                free(ds);
                runcfg_free(&sc);
                goto fail;
            }
            /* Flags may repeat the stored configuration, never change it. */
            const char *conflict = NULL;
            char a[512] = "", b[512] = "";
            int listed = 0;
            for (int k = 0; k < nset; k++)
                listed |= !strcmp(sets[k].spec, sc.spec);
            if (nset && !listed) {
                conflict = !nrsa ? "--preset" : !preset ? "--rsa" : "--rsa/--preset";
                size_t al = 0;
                for (int k = 0; k < nset && al + 1 < sizeof a; k++)
                    al += (size_t)snprintf(a + al, sizeof a - al, "%s%s", k ? "; " : "",
                                           sets[k].label);
                snprintf(b, sizeof b, "%s", sc.spec);
            } else if (args_get(o, no, "samples") && cfg.samples != sc.samples) {
                conflict = "--samples";
                snprintf(a, sizeof a, "%d", cfg.samples);
                snprintf(b, sizeof b, "%d", sc.samples);
            } else if (args_get(o, no, "seed") && cfg.seed != sc.seed) {
                conflict = "--seed";
                snprintf(a, sizeof a, "%llu", cfg.seed);
                snprintf(b, sizeof b, "%llu", sc.seed);
            } else if (nwhere && !where_same(&cfg, &sc)) {
                conflict = "--where";
                where_text(&cfg, a, sizeof a);
                where_text(&sc, b, sizeof b);
            } else if (args_get(o, no, "limit") && cfg.limit != sc.limit) {
                conflict = "--limit";
                snprintf(a, sizeof a, "%ld", cfg.limit);
                snprintf(b, sizeof b, "%ld", sc.limit);
            } else if (sampling_given && memcmp(&cfg.sp, &sc.sp, sizeof cfg.sp)) {
                conflict = "--temperature/--top-p/--top-k/--min-p";
                snprintf(a, sizeof a, "%g/%g/%d/%g", cfg.sp.temperature, cfg.sp.top_p,
                         cfg.sp.top_k, cfg.sp.min_p);
                snprintf(b, sizeof b, "%g/%g/%d/%g", sc.sp.temperature, sc.sp.top_p,
                         sc.sp.top_k, sc.sp.min_p);
            } else if ((args_get(o, no, "endpoint") || args_get(o, no, "remote") ||
                        args_get(o, no, "served-model") || args_get(o, no, "tokenizer")) &&
                       !sc.served_model) {
                conflict = "--endpoint/--remote/--served-model/--tokenizer";
                snprintf(a, sizeof a, "(remote)");
                snprintf(b, sizeof b, "the built-in engine");
            } else if (args_get(o, no, "served-model") &&
                       strcmp(args_get(o, no, "served-model"), sc.served_model)) {
                conflict = "--served-model";
                snprintf(a, sizeof a, "%s", args_get(o, no, "served-model"));
                snprintf(b, sizeof b, "%s", sc.served_model);
            } else if (args_get(o, no, "tokenizer") &&
                       strcmp(args_get(o, no, "tokenizer"), sc.model)) {
                conflict = "--tokenizer";
                snprintf(a, sizeof a, "%s", args_get(o, no, "tokenizer"));
                snprintf(b, sizeof b, "%s", sc.model);
            } else if (args_get(o, no, "model") && strcmp(args_get(o, no, "model"), sc.model)) {
                conflict = "--model";
                snprintf(a, sizeof a, "%s", args_get(o, no, "model"));
                snprintf(b, sizeof b, "%s", sc.model);
            } else if (args_get(o, no, "thinking") && cfg.thinking != sc.thinking) {
                conflict = "--thinking";
                snprintf(a, sizeof a, "%s", cfg.thinking ? "on" : "off");
                snprintf(b, sizeof b, "%s", sc.thinking ? "on" : "off");
            } else if (args_get(o, no, "chat-template") &&
                       (!sc.chat_template ||
                        strcmp(args_get(o, no, "chat-template"), sc.chat_template))) {
                conflict = "--chat-template";
                snprintf(a, sizeof a, "%s", args_get(o, no, "chat-template"));
                snprintf(b, sizeof b, "%s", sc.chat_template ? sc.chat_template : "(detected)");
            } else if (tmpl && (!sc.prompt_template || strcmp(tmpl, sc.prompt_template))) {
                conflict = "--prompt-template";
                snprintf(a, sizeof a, "%s", args_get(o, no, "prompt-template"));
                snprintf(b, sizeof b, "%s", sc.prompt_template ? "another template"
                                                               : "the dataset's prompt format");
            } else if (args_get(o, no, "store-prompts") && !sc.store_prompts) {
                conflict = "--store-prompts";
                snprintf(a, sizeof a, "on");
                snprintf(b, sizeof b, "off");
            } else if (args_get(o, no, "weights") &&
                       (!sc.weights || strcmp(args_get(o, no, "weights"), sc.weights))) {
                conflict = "--weights";
                snprintf(a, sizeof a, "%s", args_get(o, no, "weights"));
                snprintf(b, sizeof b, "%s", sc.weights ? sc.weights : "(default)");
            } else if (args_get(o, no, "dataset") && !strstr(args_get(o, no, "dataset"), ds)) {
                conflict = "--dataset";
                snprintf(a, sizeof a, "%s", args_get(o, no, "dataset"));
                snprintf(b, sizeof b, "%s", ds);
            }
            if (conflict) {
                snprintf(err, sizeof err, "--resume %s: %s %s conflicts with the stored "
                         "configuration of run %s (%s); drop the flag or start a new run",
                         resume, conflict, a, names[i], b);
                free(ds);
                runcfg_free(&sc);
                status = 2;
                goto fail_quiet;
            }
            jobs[nj].p = sc.p;
            jobs[nj].samples = sc.samples;
            memcpy(jobs[nj].spec, sc.spec, sizeof jobs[nj].spec);
            memcpy(jobs[nj].preset, sc.preset, sizeof jobs[nj].preset);
            if (i == 0) {
                stored0 = sc;
            } else {
                /* one scheduler for all: the configurations may differ in
                 * their RSA setting (a sweep) but in nothing else */
                int same = sc.seed == stored0.seed &&
                           !memcmp(&sc.sp, &stored0.sp, sizeof sc.sp) &&
                           !strcmp(sc.model, stored0.model) && sc.thinking == stored0.thinking &&
                           sc.limit == stored0.limit && where_same(&sc, &stored0) &&
                           sc.store_prompts == stored0.store_prompts &&
                           !strcmp(sc.weights ? sc.weights : "",
                                   stored0.weights ? stored0.weights : "") &&
                           !strcmp(sc.chat_template ? sc.chat_template : "",
                                   stored0.chat_template ? stored0.chat_template : "") &&
                           !strcmp(sc.served_model ? sc.served_model : "",
                                   stored0.served_model ? stored0.served_model : "") &&
                           !strcmp(sc.prompt_template ? sc.prompt_template : "",
                                   stored0.prompt_template ? stored0.prompt_template : "");
                runcfg_free(&sc);
                if (!same) {
                    free(ds);
                    snprintf(err, sizeof err, "--resume %s: its runs have different "
                             "configurations; resume them one at a time", resume);
                    goto fail;
                }
            }
            jobs[nj].name = ut_strdup(names[i]);
            jobs[nj].id = rid;
            nj++;
            e = dataset_open(ds, stored0.limit, stored0.where, stored0.nwhere, &jobs[nj - 1].d, err,
                             sizeof err);
            free(ds);
            if (e || !jobs[nj - 1].name)
                goto fail;
        }
        runcfg_free(&cfg);
        cfg = stored0;
        memset(&stored0, 0, sizeof stored0);
        /* endpoints and transport options may change between attempts (a
         * fleet moves); the served model and the tokenizer may not */
        if (cfg.served_model && (args_get(o, no, "endpoint") || args_get(o, no, "remote"))) {
            rmt_opts ro;
            char rs[512];
            rmt_opts_default(&ro);
            if (rmt_opts_parse(cfg.remote, &ro, err, sizeof err) ||
                rmt_opts_parse(args_get(o, no, "remote"), &ro, err, sizeof err)) {
                status = 2;
                goto fail_quiet;
            }
            rmt_opts_format(&ro, rs, sizeof rs);
            char *ne = ut_strdup(args_get(o, no, "endpoint") ? args_get(o, no, "endpoint")
                                                             : cfg.endpoints);
            char *nr = ut_strdup(rs);
            if (!ne || !nr) {
                free(ne);
                free(nr);
                goto oom;
            }
            free(cfg.endpoints);
            free(cfg.remote);
            cfg.endpoints = ne;
            cfg.remote = nr;
        }
        if (cfg.max_inflight == 0 && args_get(o, no, "max-inflight")) {
            long mi;
            if (!args_count(args_get(o, no, "max-inflight"), "--max-inflight", &mi, err,
                            sizeof err))
                cfg.max_inflight = (int)mi;
        }
        goto run;
    }
    /* a new run */
    const char *endpoint = args_get(o, no, "endpoint"), *served = args_get(o, no, "served-model");
    const char *tokdir = args_get(o, no, "tokenizer");
    if ((endpoint || served || tokdir || args_get(o, no, "remote")) &&
        (!endpoint || !served || !tokdir || args_get(o, no, "model"))) {
        fprintf(stderr, "zeval run: the remote backend takes --endpoint, --served-model and "
                "--tokenizer together, instead of --model\n%s", run_usage);
        runcfg_free(&cfg);
        free(tmpl);
        return 2;
    }
    if ((!args_get(o, no, "model") && !endpoint) || !args_get(o, no, "dataset") || !nset) {
        fprintf(stderr, "zeval run: --model (or --endpoint), --dataset and --rsa or --preset are "
                "required\n%s", run_usage);
        runcfg_free(&cfg);
        free(tmpl);
        return 2;
    }
    if (endpoint) {
        rmt_opts ro;
        char rs[512];
        rmt_opts_default(&ro);
        if (rmt_opts_parse(args_get(o, no, "remote"), &ro, err, sizeof err))
            goto usage_err;
        rmt_opts_format(&ro, rs, sizeof rs);
        if (!(cfg.endpoints = ut_strdup(endpoint)) || !(cfg.served_model = ut_strdup(served)) ||
            !(cfg.remote = ut_strdup(rs)))
            goto oom;
    }
    for (int k = 0; k < nset; k++)
        if (cfg.samples && sets[k].p.T != 0) {
            fprintf(stderr, "zeval run: --samples goes with T=0 (with T >= 1, N sets the "
                    "width)%s%s\n", nset > 1 ? ": " : "", nset > 1 ? sets[k].label : "");
            runcfg_free(&cfg);
            free(tmpl);
            return 2;
        }
    if (!(cfg.model = ut_strdup(endpoint ? tokdir : args_get(o, no, "model"))))
        goto oom;
    if ((v = args_get(o, no, "weights")) && !(cfg.weights = ut_strdup(v)))
        goto oom;
    if ((v = args_get(o, no, "chat-template")) && !(cfg.chat_template = ut_strdup(v)))
        goto oom;
    cfg.prompt_template = tmpl; /* cfg owns it now */
    tmpl = NULL;
    /* a plan needs no database: one that does not exist is not created */
    if ((!dry || access(dbpath, F_OK) == 0) && store_open(dbpath, &db, err, sizeof err))
        goto fail;
    if (!(dspec_list = ut_strdup(args_get(o, no, "dataset"))))
        goto oom;
    size_t nds = 0;
    char *dss[256], *save = NULL;
    for (char *tok = strtok_r(dspec_list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (nds == sizeof dss / sizeof dss[0]) {
            snprintf(err, sizeof err, "--dataset: more than %zu datasets", nds);
            goto usage_err;
        }
        dss[nds++] = tok;
    }
    if (nds == 0) {
        snprintf(err, sizeof err, "--dataset: no dataset named");
        goto usage_err;
    }
    jobs = calloc(nds * (size_t)nset, sizeof *jobs);
    if (!jobs)
        goto oom;
    char *gen = name ? NULL : gen_name();
    const char *base = name ? name : gen;
    if (!base)
        goto oom;
    snprintf(basebuf, sizeof basebuf, "%s", base);
    if (!name)
        fprintf(stderr, "zeval run: name %s\n", base);
    /* one run per (setting, dataset): NAME, NAME/DATASET, NAME/SETTING or
     * NAME/SETTING/DATASET as there are several of either */
    for (int si = 0; si < nset; si++)
        for (size_t di = 0; di < nds; di++) {
            job *J = &jobs[nj++];
            J->p = sets[si].p;
            J->samples = cfg.samples;
            memcpy(J->spec, sets[si].spec, sizeof J->spec);
            memcpy(J->preset, sets[si].preset, sizeof J->preset);
            if (dataset_open(dss[di], cfg.limit, cfg.where, cfg.nwhere, &J->d, err, sizeof err)) {
                free(gen);
                goto fail;
            }
            if (cfg.prompt_template && !template_fits(cfg.prompt_template, &J->d)) {
                snprintf(err, sizeof err, "--prompt-template %s: has no %s, where %s's %s "
                         "goes", args_get(o, no, "prompt-template"),
                         J->d.is_code ? "{prompt}" : "{problem}", J->d.label,
                         J->d.is_code ? "prompt" : "problem");
                free(gen);
                status = 2;
                goto fail_quiet;
            }
            char full[1024];
            if (nset > 1 && nds > 1)
                snprintf(full, sizeof full, "%s/%s/%s", base, sets[si].label, J->d.label);
            else if (nset > 1)
                snprintf(full, sizeof full, "%s/%s", base, sets[si].label);
            else if (nds > 1)
                snprintf(full, sizeof full, "%s/%s", base, J->d.label);
            else
                snprintf(full, sizeof full, "%s", base);
            for (int j = 0; j < nj - 1; j++)
                if (!strcmp(jobs[j].name, full)) {
                    snprintf(err, sizeof err, "--dataset: two datasets would both make run '%s'",
                             full);
                    free(gen);
                    goto fail;
                }
            store_run r;
            int e = db ? store_run_get(db, full, &r, err, sizeof err) : 0;
            if (db)
                store_run_free(&r);
            if (e) {
                if (e > 0)
                    snprintf(err, sizeof err, "%s: a run named '%s' exists already (use --resume "
                             "%s, or another --name)", dbpath, full, name ? name : full);
                free(gen);
                goto fail;
            }
            if (!(J->name = ut_strdup(full))) {
                free(gen);
                goto oom;
            }
            J->label = nset > 1 || nds > 1 ? J->name + strlen(base) + 1 : J->d.label;
        }
    free(gen);
run:
    /* progress names a job by its name past the base (SETTING/DATASET) */
    for (int j = 0; resume && j < nj; j++) {
        size_t bl = strlen(resume);
        jobs[j].label = jobs[j].d.label;
        if (nj > 1 && !strncmp(jobs[j].name, resume, bl) && jobs[j].name[bl] == '/')
            jobs[j].label = jobs[j].name + bl + 1;
    }
    if (dry) {
        status = plan(jobs, nj, db, resume != NULL, err, sizeof err) ? 1 : 0;
        if (status)
            cli_fail(status, err);
        goto out;
    }
    status = execute(&cfg, jobs, nj, db, resume ? resume : basebuf, resume != NULL, pmode, err,
                     sizeof err);
    status = status == -2 ? 2 : status ? 1 : 0; /* 2: the stored run refuses this resume */
    if (status)
        cli_fail(status, err);
    goto out;
usage_err:
    fprintf(stderr, "zeval run: %s\n", err);
    runcfg_free(&cfg);
    free(tmpl);
    return 2;
oom:
    snprintf(err, sizeof err, "out of memory");
fail:
    status = 1;
fail_quiet:
    if (status == 2)
        fprintf(stderr, "zeval run: %s\n", err);
    else
        cli_fail(1, err);
out:
    for (int j = 0; j < nj; j++) {
        free(jobs[j].name);
        dataset_free(&jobs[j].d);
    }
    free(jobs);
    store_names_free(names, nnames);
    free(dspec_list);
    store_close(db);
    runcfg_free(&cfg);
    runcfg_free(&stored0);
    free(tmpl);
    return status;
}

/* ------------------------------------------------------------ show / regrade */

/* Orders sample time spans by their start. */
static int span_cmp(const void *a, const void *b)
{
    double x = ((const double *)a)[0], y = ((const double *)b)[0];
    return (x > y) - (x < y);
}

/* Seconds in which at least one of the n spans [s[2i], s[2i+1]] was open
 * (sorts s): a run resumed after a pause counts its sittings, not the
 * pause between them. */
static double spans_busy(double *s, size_t n)
{
    qsort(s, n, 2 * sizeof *s, span_cmp);
    double busy = 0, lo = 0, hi = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || s[2 * i] > hi) {
            busy += hi - lo;
            lo = s[2 * i], hi = s[2 * i + 1];
        } else if (s[2 * i + 1] > hi) {
            hi = s[2 * i + 1];
        }
    }
    return n ? busy + hi - lo : 0;
}

/* The published ZAYA1-8B score for the run's benchmark and setting, if
 * ZR has one (published.h), against the final round's avg@n m. */
static void show_published(FILE *out, const char *bench, const runcfg *c, const met_round *m)
{
    const pub_ref *p = pub_find(bench, &c->p);
    if (!p)
        return;
    const ds_entry *e = ds_find(bench);
    int total = e ? e->nrecords : 0;
    fprintf(out, "  published: ZAYA1-8B %s, %s: %.1f%% (%s; %s checkpoint", p->benchmark,
            p->setting, p->score, p->source, p->checkpoint);
    if (p->temperature >= 0)
        fprintf(out, "; temperature %g, top-p %g", p->temperature, p->top_p);
    else
        fprintf(out, "; sampling not stated");
    fprintf(out, "%s%s)\n", p->note ? "; " : "", p->note ? p->note : "");
    pub_verdict v = pub_compare(p, m->avg_lo, m->avg_hi, m->problems);
    fprintf(out, "  this run: %.2f%% [%.2f, %.2f] over %d", 100 * m->avg, 100 * m->avg_lo,
            100 * m->avg_hi, m->problems);
    if (total > 0)
        fprintf(out, " of %d", total);
    if (v == PUB_SUBSET)
        fprintf(out, " problems: part of the benchmark, not comparable");
    else
        fprintf(out, " problems: the published score is %s the 95%% CI", pub_verdict_name(v));
    if (pub_sampling_differs(p, c->sp.temperature, c->sp.top_p, c->sp.top_k, c->sp.min_p))
        fprintf(out, "; this run sampled otherwise (temperature %g, top-p %g, top-k %d, "
                     "min-p %g)", c->sp.temperature, c->sp.top_p, c->sp.top_k, c->sp.min_p);
    if (c->prompt_template)
        fprintf(out, "; this run asked with its own prompt template");
    fprintf(out, "\n");
    if (p->tokens > 0) {
        double d = m->tokens_cum;
        fprintf(out, "  compute: ZR reports about %.0fK generated tokens per problem (%s); "
                     "this run's D(q) is %.*f%s, %.3g times that\n", p->tokens / 1e3,
                p->tokens_src, d >= 1e4 ? 1 : 0, d >= 1e4 ? d / 1e3 : d, d >= 1e4 ? "K" : "",
                d / p->tokens);
    }
}

/* The double with the fewest digits that is the float v (0.8, not
 * 0.800000011920929). */
static double f32_shortest(float v)
{
    char b[32];
    for (int p = 1; p < 9; p++) {
        snprintf(b, sizeof b, "%.*g", p, (double)v);
        if ((float)strtod(b, NULL) == v)
            return strtod(b, NULL);
    }
    return (double)v;
}

/* One run's metrics as `zeval show --format json` gives them, appended to
 * arr: the text output's fields, by name.  0 or -1 (out of memory). */
static int show_json(cJSON *arr, const store_run *r, const runcfg *c, const met_round *mr,
                     int nr, size_t n, long long toks, double wall, double busy)
{
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return -1;
    cJSON_AddItemToArray(arr, j);
    cJSON_AddStringToObject(j, "name", r->name);
    cJSON_AddStringToObject(j, "rsa", c->spec);
    if (c->preset[0])
        cJSON_AddStringToObject(j, "preset", c->preset);
    cJSON_AddStringToObject(j, "dataset", r->dataset ? r->dataset : "");
    cJSON_AddStringToObject(j, "model", r->model_path ? r->model_path : "");
    const char *prov[][2] = {{"weights_sha256", r->weights_sha256},
                             {"tokenizer_sha256", r->tokenizer_sha256},
                             {"dataset_sha256", r->dataset_sha256},
                             {"zeval_version", r->zeval_version},
                             {"backend", r->backend},
                             {"device", r->device}};
    for (size_t i = 0; i < sizeof prov / sizeof prov[0]; i++)
        if (prov[i][1])
            cJSON_AddStringToObject(j, prov[i][0], prov[i][1]);
    char seed[24];
    snprintf(seed, sizeof seed, "%llu", c->seed);
    cJSON_AddStringToObject(j, "seed", seed);
    cJSON_AddNumberToObject(j, "temperature", f32_shortest(c->sp.temperature));
    cJSON_AddNumberToObject(j, "top_p", f32_shortest(c->sp.top_p));
    cJSON_AddNumberToObject(j, "top_k", c->sp.top_k);
    cJSON_AddNumberToObject(j, "min_p", f32_shortest(c->sp.min_p));
    if (c->prompt_template)
        cJSON_AddStringToObject(j, "prompt_template", c->prompt_template);
    if (c->nwhere) {
        cJSON *w = cJSON_AddArrayToObject(j, "where");
        for (int i = 0; w && i < c->nwhere; i++)
            cJSON_AddItemToArray(w, cJSON_CreateString(c->where[i]));
    }
    cJSON_AddNumberToObject(j, "samples", (double)n);
    cJSON_AddBoolToObject(j, "complete", r->finished_at >= 0);
    cJSON_AddNumberToObject(j, "final_round", nr - 1);
    cJSON *rounds = cJSON_AddArrayToObject(j, "rounds");
    if (!rounds)
        return -1;
    for (int i = 0; i < nr; i++) {
        const met_round *m = &mr[i];
        cJSON *o = cJSON_CreateObject();
        if (!o)
            return -1;
        cJSON_AddItemToArray(rounds, o);
        cJSON_AddNumberToObject(o, "round", m->round);
        cJSON_AddNumberToObject(o, "problems", m->problems);
        cJSON_AddNumberToObject(o, "n", m->n_min);
        cJSON_AddNumberToObject(o, "samples", m->samples);
        cJSON_AddNumberToObject(o, "graded", m->graded);
        cJSON_AddNumberToObject(o, "avg", m->avg);
        cJSON_AddNumberToObject(o, "avg_lo", m->avg_lo);
        cJSON_AddNumberToObject(o, "avg_hi", m->avg_hi);
        cJSON_AddNumberToObject(o, "maj", m->maj);
        cJSON_AddNumberToObject(o, "pass_n", m->pass_n);
        cJSON_AddNumberToObject(o, "no_answer", m->no_answer_rate);
        cJSON_AddNumberToObject(o, "truncated", m->trunc_rate);
        cJSON_AddNumberToObject(o, "tokens_round", m->tokens_round);
        cJSON_AddNumberToObject(o, "tokens_cum", m->tokens_cum);
    }
    cJSON_AddNumberToObject(j, "generated_tokens", (double)toks);
    cJSON_AddNumberToObject(j, "wall_s", wall);
    cJSON_AddNumberToObject(j, "tok_s", wall > 0 ? (double)toks / wall : 0.0);
    cJSON_AddNumberToObject(j, "in_flight_s", busy);
    cJSON_AddNumberToObject(j, "in_flight_tok_s", busy > 0 ? (double)toks / busy : 0.0);
    const pub_ref *p = pub_find(r->dataset, &c->p);
    if (p) {
        const met_round *m = &mr[nr - 1];
        cJSON *o = cJSON_AddObjectToObject(j, "published");
        if (!o)
            return -1;
        cJSON_AddNumberToObject(o, "score", p->score / 100.0);
        cJSON_AddStringToObject(o, "benchmark", p->benchmark);
        cJSON_AddStringToObject(o, "setting", p->setting);
        cJSON_AddStringToObject(o, "source", p->source);
        cJSON_AddStringToObject(o, "checkpoint", p->checkpoint);
        if (p->tokens > 0) {
            cJSON_AddNumberToObject(o, "tokens_per_problem", p->tokens);
            cJSON_AddStringToObject(o, "tokens_source", p->tokens_src);
        }
        cJSON_AddStringToObject(o, "verdict", pub_verdict_name(pub_compare(
                                                  p, m->avg_lo, m->avg_hi, m->problems)));
        cJSON_AddBoolToObject(o, "sampled_otherwise",
                              pub_sampling_differs(p, c->sp.temperature, c->sp.top_p,
                                                   c->sp.top_k, c->sp.min_p));
    }
    return 0;
}


/* ------------------------------------------------------- show --by FIELD */

/* The value of rec's field (a key, or a dotted path into nested objects)
 * as a label: strings as they are, other values as JSON; NULL where the
 * field is absent or null.  *oom is set when a copy fails. */
static char *field_label(const cJSON *rec, const char *path, int *oom)
{
    const cJSON *v = rec;
    char key[256];
    for (const char *p = path; v && *p;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n == 0 || n >= sizeof key || !cJSON_IsObject(v))
            return NULL;
        memcpy(key, p, n);
        key[n] = 0;
        v = cJSON_GetObjectItemCaseSensitive(v, key);
        p += n + (dot != NULL);
    }
    if (!v || cJSON_IsNull(v))
        return NULL;
    char *l = cJSON_IsString(v) ? ut_strdup(v->valuestring) : cJSON_PrintUnformatted(v);
    *oom |= l == NULL;
    return l;
}



/* For each problem pids[0..n) of run r, the value of by->field in its
 * dataset record (labels[i], malloc'd; NULL where absent) and the record's
 * index (order[i]).  The records are by->dataset's, or those the run was
 * made with (ds), which must match the run's digest.  *spec gets a copy of
 * what was read.  0, or -1 with err (labels then all NULL). */
static int record_labels(const show_by *by, const store_run *r, const char *ds,
                         const char *const *pids, size_t n, char **labels, int *order,
                         char **spec_out, char *err, size_t errlen)
{
    const char *spec = by->dataset ? by->dataset : ds;
    const char *elsewhere = by->dataset ? "" : "; --dataset FILE|NAME gives the same records "
                                               "elsewhere";
    memset(labels, 0, n * sizeof *labels);
    *spec_out = NULL;
    if (!spec || !*spec)
        return ut_err(err, errlen, "--by %s: run %s's configuration names no dataset; pass "
                      "--dataset FILE|NAME", by->field, r->name);
    dataset d;
    if (dataset_open(spec, 0, NULL, 0, &d, err, errlen)) {
        ut_err_prefix(err, errlen, "--by %s: run %s's dataset", by->field, r->name);
        err_add(err, errlen, "%s", elsewhere);
        dataset_free(&d);
        return -1;
    }
    int rc = -1, oom = 0, found = 0;
    if (r->dataset_sha256 && *r->dataset_sha256 && strcmp(d.sha, r->dataset_sha256)) {
        char rs[65];
        ds_records_sha256(&d.set, rs);
        if (strcmp(rs, r->dataset_sha256)) {
            ut_err(err, errlen, "--by %s: %s is not the dataset run %s used (sha256 %.12s, the "
                   "run's %.12s)%s", by->field, spec, r->name, d.sha, r->dataset_sha256,
                   elsewhere);
            goto done;
        }
    }
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < d.set.n &&
               !(jstr(d.set.rec[k], "id") && !strcmp(jstr(d.set.rec[k], "id"), pids[i])))
            k++;
        if (k == d.set.n) {
            ut_err(err, errlen, "--by %s: problem %s of run %s is not in %s%s", by->field,
                   pids[i], r->name, spec, elsewhere);
            goto done;
        }
        labels[i] = field_label(d.set.rec[k], by->field, &oom);
        found += labels[i] != NULL;
        order[i] = (int)k;
    }
    if (oom) {
        ut_err(err, errlen, "out of memory");
        goto done;
    }
    if (!found && n > 0) {
        ut_err(err, errlen, "--by %s: no problem of run %s has that field in %s", by->field,
               r->name, spec);
        const cJSON *f, *first = d.set.n ? d.set.rec[0] : NULL;
        const char *sep = " (its records have: ";
        cJSON_ArrayForEach(f, first)
        {
            err_add(err, errlen, "%s%s", sep, f->string);
            sep = ", ";
        }
        err_add(err, errlen, "%s", first ? "; a dot reaches inside an object: metadata.KEY)" : "");
        goto done;
    }
    if (!(*spec_out = ut_strdup(spec))) {
        ut_err(err, errlen, "out of memory");
        goto done;
    }
    rc = 0;
done:
    dataset_free(&d);
    if (rc)
        for (size_t i = 0; i < n; i++) {
            free(labels[i]);
            labels[i] = NULL;
        }
    return rc;
}

int cli_field_labels(store *db, const char *run, const char *field, const char *records,
                     const char *const *pids, size_t n, char **labels, int *order, char *err,
                     size_t errlen)
{
    store_run r;
    int e = store_run_get(db, run, &r, err, errlen);
    if (e <= 0)
        return e < 0 ? -1 : ut_err(err, errlen, "%s: no run named '%s'", store_path(db), run);
    runcfg c;
    char *ds = NULL, *spec = NULL;
    show_by by = {field, records};
    int rc = config_read(r.config, run, &c, &ds, err, errlen) ||
                     record_labels(&by, &r, ds, pids, n, labels, order, &spec, err, errlen)
                 ? -1
                 : 0;
    free(spec);
    free(ds);
    runcfg_free(&c);
    store_run_free(&r);
    return rc;
}

int cli_field_ok(const char *f)
{
    return f && *f && f[0] != '.' && !strstr(f, "..") && f[strlen(f) - 1] != '.';
}

/* A run's metrics per value of by->field (met_rounds_by). */
typedef struct {
    int ng;
    char **lab;    /* [ng] the groups' values */
    met_round *gm; /* [ng * rounds] */
    char *spec;    /* the dataset read */
} groups;

static void groups_free(groups *G)
{
    met_groups_free(G->lab, G->ng);
    free(G->gm);
    free(G->spec);
    memset(G, 0, sizeof *G);
}

/* met_labeller over record_labels. */
typedef struct {
    const show_by *by;
    const store_run *r;
    const char *ds;
    char **spec;
} rec_lab;

static int rec_label(void *ctx, const char *const *pids, size_t n, char **labels, int *order,
                     char *err, size_t errlen)
{
    const rec_lab *c = ctx;
    return record_labels(c->by, c->r, c->ds, pids, n, labels, order, c->spec, err, errlen);
}

static int groups_build(const show_by *by, const store_run *r, const char *ds,
                        const met_sample *ms, size_t n, int nr, groups *G, char *err,
                        size_t errlen)
{
    memset(G, 0, sizeof *G);
    rec_lab c = {by, r, ds, &G->spec};
    if (met_rounds_by(ms, n, nr, 1234, rec_label, &c, &G->lab, &G->ng, &G->gm, err, errlen)) {
        groups_free(G);
        return -1;
    }
    return 0;
}

/* The metrics of each group: a table (text), or a "by" object in the
 * run's JSON j. */
static int groups_show(const show_by *by, const groups *G, int nr, FILE *out, cJSON *j,
                       char *err, size_t errlen)
{
    cJSON *jg = NULL;
    int w = 5;
    for (int g = 0; g < G->ng; g++) {
        int cols = 0;
        for (const char *p = G->lab[g]; *p; p++)
            cols += ((unsigned char)*p & 0xc0) != 0x80;
        w = cols > w ? cols : w;
    }
    w = w > 40 ? 40 : w;
    if (j) {
        cJSON *o = cJSON_AddObjectToObject(j, "by");
        if (!o || !cJSON_AddStringToObject(o, "field", by->field) ||
            !cJSON_AddStringToObject(o, "dataset", G->spec) ||
            !(jg = cJSON_AddArrayToObject(o, "groups")))
            goto oom;
    } else {
        fprintf(out, "  by %s (%s):\n  ", by->field, G->spec);
        ut_put_cols(out, "value", w);
        if (nr > 1)
            fprintf(out, "  problems  n   round 0 avg@n  final avg@n [95%% CI]        maj@n   "
                         "pass@n\n");
        else
            fprintf(out, "  problems  n   avg@n  [95%% CI]         maj@n   pass@n\n");
    }
    for (int g = 0; g < G->ng; g++) {
        const met_round *gm = G->gm + (size_t)g * (size_t)nr, *f = &gm[nr - 1];
        const char *part = f->graded < f->samples ? " (partly ungraded)" : "";
        if (!j) {
            fputs("  ", out);
            ut_put_cols(out, G->lab[g], w);
            if (nr > 1)
                fprintf(out, "  %8d  %-3d %12.2f%%  %6.2f%% [%6.2f, %6.2f]  %6.2f%% %6.2f%%%s\n",
                        f->problems, f->n_min, 100 * gm[0].avg, 100 * f->avg, 100 * f->avg_lo,
                        100 * f->avg_hi, 100 * f->maj, 100 * f->pass_n, part);
            else
                fprintf(out, "  %8d  %-3d %6.2f%% [%6.2f, %6.2f]  %6.2f%% %6.2f%%%s\n",
                        f->problems, f->n_min, 100 * f->avg, 100 * f->avg_lo, 100 * f->avg_hi,
                        100 * f->maj, 100 * f->pass_n, part);
            continue;
        }
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(jg, o)) {
            cJSON_Delete(o);
            goto oom;
        }
        cJSON *rs = cJSON_AddArrayToObject(o, "rounds");
        if (!rs || !cJSON_AddStringToObject(o, "value", G->lab[g]) ||
            !cJSON_AddNumberToObject(o, "problems", f->problems))
            goto oom;
        for (int t = 0; t < nr; t++) {
            cJSON *x = cJSON_CreateObject();
            if (!x || !cJSON_AddItemToArray(rs, x)) {
                cJSON_Delete(x);
                goto oom;
            }
            const met_round *m = &gm[t];
            const struct {
                const char *k;
                double v;
            } kv[] = {{"round", m->round}, {"problems", m->problems}, {"n", m->n_min},
                      {"samples", m->samples}, {"graded", m->graded}, {"avg", m->avg},
                      {"avg_lo", m->avg_lo}, {"avg_hi", m->avg_hi}, {"maj", m->maj},
                      {"pass_n", m->pass_n}};
            for (size_t q = 0; q < sizeof kv / sizeof kv[0]; q++)
                if (!cJSON_AddNumberToObject(x, kv[q].k, kv[q].v))
                    goto oom;
        }
    }
    return 0;
oom:
    return ut_err(err, errlen, "out of memory");
}

/* Loads run name's samples into metrics form (answers normalized). */
static int show_run(store *db, const char *name, FILE *out, cJSON *arr, const show_by *by,
                    char *err, size_t errlen)
{
    store_run r;
    int e = store_run_get(db, name, &r, err, errlen);
    if (e <= 0)
        return e < 0 ? -1 : ut_err(err, errlen, "%s: no run named '%s'", store_path(db), name);
    runcfg c;
    char *ds = NULL;
    if (config_read(r.config, name, &c, &ds, err, errlen)) {
        free(ds);
        runcfg_free(&c);
        store_run_free(&r);
        return -1;
    }
    store_sample *x = NULL;
    size_t n = 0;
    int rc = -1;
    met_sample *ms = NULL;
    double *spans = NULL;
    char **norm = NULL;
    met_round mr[RSA_MAX_ROUNDS];
    groups G = {0};
    if (store_samples_get(db, r.id, 0, &x, &n, err, errlen))
        goto done;
    /* list-typed answers need the gold; the store keeps it in the
     * dataset, so equivalence here treats answers as single values. */
    ms = calloc(n + 1, sizeof *ms);
    norm = calloc(n + 1, sizeof *norm);
    spans = calloc(2 * n + 2, sizeof *spans);
    if (!ms || !norm || !spans) {
        ut_err(err, errlen, "out of memory");
        goto done;
    }
    double t_lo = 0, t_hi = 0;
    long long toks = 0;
    for (size_t i = 0; i < n; i++) {
        if (x[i].extracted)
            norm[i] = math_normalize(x[i].extracted, strlen(x[i].extracted), 0);
        ms[i] = (met_sample){x[i].problem_id, x[i].round, x[i].correct,
                             norm[i] ? norm[i] : NULL, 0, x[i].gen_tokens,
                             !strcmp(x[i].finish_reason, "length")};
        toks += x[i].gen_tokens;
        spans[2 * i] = x[i].started_at;
        spans[2 * i + 1] = x[i].finished_at > x[i].started_at ? x[i].finished_at : x[i].started_at;
        if (i == 0 || x[i].started_at < t_lo)
            t_lo = x[i].started_at;
        if (x[i].finished_at > t_hi)
            t_hi = x[i].finished_at;
    }
    int nr = c.p.T + 1;
    if (met_rounds(ms, n, nr, 1234, mr)) {
        ut_err(err, errlen, "out of memory");
        goto done;
    }
    if (by && groups_build(by, &r, ds, ms, n, nr, &G, err, errlen))
        goto done;
    double wall = r.finished_at >= 0 ? r.finished_at - r.started_at : t_hi - r.started_at;
    double busy = spans_busy(spans, n);
    if (arr) {
        if (show_json(arr, &r, &c, mr, nr, n, toks, wall, busy)) {
            ut_err(err, errlen, "out of memory");
            goto done;
        }
        if (!by || !groups_show(by, &G, nr, out,
                                cJSON_GetArrayItem(arr, cJSON_GetArraySize(arr) - 1), err,
                                errlen))
            rc = 0;
        goto done;
    }
    fprintf(out, "run %s: %s, dataset %s, %s, %zu samples%s\n", name, c.spec,
            r.dataset ? r.dataset : "?", r.model_path ? r.model_path : "?", n,
            r.finished_at >= 0 ? "" : " (incomplete)");
    fprintf(out, "  weights %.12s, tokenizer %.12s, dataset %.12s (sha256); zeval %s, backend %s"
                 " (%s); seed %llu, temperature %g, top-p %g, top-k %d, min-p %g\n",
            r.weights_sha256 ? r.weights_sha256 : "?", r.tokenizer_sha256 ? r.tokenizer_sha256
                                                                          : "?",
            r.dataset_sha256 ? r.dataset_sha256 : "?", r.zeval_version ? r.zeval_version : "?",
            r.backend ? r.backend : "?", r.device ? r.device : "?", c.seed, c.sp.temperature,
            c.sp.top_p, c.sp.top_k, c.sp.min_p);
    if (c.nwhere) {
        char wt[1024];
        where_text(&c, wt, sizeof wt);
        fprintf(out, "  problems: the dataset's records with --where %s\n", wt);
    }
    if (c.prompt_template) {
        char th[65];
        sha256_hex_of(c.prompt_template, strlen(c.prompt_template), th);
        fprintf(out, "  round-0 prompt: the run's own template (--prompt-template, sha256 %.12s)\n",
                th);
    }
    fprintf(out, "  round  problems  n   avg@n  [95%% CI]         maj@n   pass@n  no-answer  "
                 "truncated  tokens/problem (round, cumulative D(q))\n");
    for (int i = 0; i < nr; i++) {
        met_round *m = &mr[i];
        fprintf(out, "  %5d  %8d  %-3d %6.2f%% [%6.2f, %6.2f]  %6.2f%% %6.2f%%  %8.1f%%  %8.1f%%  "
                     "%.0f, %.0f%s\n",
                m->round, m->problems, m->n_min, 100 * m->avg, 100 * m->avg_lo,
                100 * m->avg_hi, 100 * m->maj, 100 * m->pass_n, 100 * m->no_answer_rate,
                100 * m->trunc_rate, m->tokens_round, m->tokens_cum,
                m->graded < m->samples ? " (partly ungraded)" : "");
    }
    fprintf(out, "  final (round %d): avg@%d %.2f%%, maj@%d %.2f%%, pass@%d %.2f%%; "
                 "D(q) %.0f generated tokens/problem; wall %.1f s, %.1f tok/s; samples in "
                 "flight %.1f s, %.1f tok/s\n",
            nr - 1, mr[nr - 1].n_min, 100 * mr[nr - 1].avg, mr[nr - 1].n_min,
            100 * mr[nr - 1].maj, mr[nr - 1].n_min, 100 * mr[nr - 1].pass_n,
            mr[nr - 1].tokens_cum, wall, wall > 0 ? (double)toks / wall : 0.0, busy,
            busy > 0 ? (double)toks / busy : 0.0);
    show_published(out, r.dataset, &c, &mr[nr - 1]);
    if (!by || !groups_show(by, &G, nr, out, NULL, err, errlen))
        rc = 0;
done:
    groups_free(&G);
    free(ds);
    if (norm)
        for (size_t i = 0; i < n; i++)
            free(norm[i]);
    free(norm);
    free(ms);
    free(spans);
    store_samples_free(x, n);
    runcfg_free(&c);
    store_run_free(&r);
    return rc;
}

/* `zeval show NAME --problem ID`: every sample of one problem, in
 * (round, candidate) order, with its verdict and the end of its text. */
typedef struct {
    FILE *out;
    long text_bytes;   /* of each text, its last this many bytes (0: all) */
    long long n;
} problem_ctx;

/* s to a terminal: model output may hold escape sequences, so control
 * characters print as '?' (newlines too unless keep_nl, which indents the
 * next line by 6). */
static void term_put(FILE *f, const char *s, int keep_nl)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '\n' && keep_nl) {
            fputc('\n', f);
            if (s[1])
                fputs("      ", f);
        } else if (ch == '\t') {
            fputc('\t', f);
        } else {
            fputc(ch < 0x20 || ch == 0x7f ? '?' : ch, f);
        }
    }
}

static int show_sample(const store_sample *x, void *vc)
{
    problem_ctx *c = vc;
    char who[96];
    const char *pa = x->parents ? x->parents : "";
    pa += pa[0] == '[';
    if (x->round > 0)
        snprintf(who, sizeof who, "r%d c%d <- %.*s", x->round, x->candidate,
                 (int)strcspn(pa, "]"), pa);
    else
        snprintf(who, sizeof who, "r%d c%d", x->round, x->candidate);
    for (char *w = who; *w; w++) /* parents come from the database: no escapes */
        if ((unsigned char)*w < 0x20 || *w == 0x7f)
            *w = '?';
    const char *v = x->correct == 1 ? "correct" : x->correct == 0 ? "wrong" : "ungraded";
    fprintf(c->out, "    %-16s %-8s answer ", who, v);
    if (x->extracted) {
        fputc('\'', c->out);
        term_put(c->out, x->extracted, 0);
        fputc('\'', c->out);
    } else {
        fputs("none", c->out);
    }
    fputs(" (", c->out);
    term_put(c->out, x->reason ? x->reason : "-", 0);
    fprintf(c->out, "); %d tokens, ", x->gen_tokens);
    term_put(c->out, x->finish_reason ? x->finish_reason : "?", 0);
    fputc('\n', c->out);
    const char *t = x->text ? x->text : "";
    size_t n = strlen(t);
    if (c->text_bytes > 0 && n > (size_t)c->text_bytes) {
        t += n - (size_t)c->text_bytes;
        while (((unsigned char)*t & 0xC0) == 0x80) /* from a character boundary */
            t++;
        fprintf(c->out, "      ...");
    } else {
        fprintf(c->out, "      ");
    }
    term_put(c->out, t, 1); /* indented, as a block under its line */
    fputc('\n', c->out);
    c->n++;
    return 0;
}

static int show_or_regrade(int argc, char **argv, int regrade)
{
    const char *cmd = regrade ? "regrade" : "show";
    const char *use = regrade ? "[--db FILE] [--format text|json]"
                              : "[--db FILE] [--format text|json] [--by FIELD [--dataset "
                                "FILE|NAME]]\n       [--problem ID [--text-bytes N]]";
    args_opt o[] = {{"db", 1, NULL},      {"format", 1, NULL},     {"help", 0, NULL},
                    {"problem", 1, NULL}, {"text-bytes", 1, NULL}, {"by", 1, NULL},
                    {"dataset", 1, NULL}};
    int no = 7;
    char err[4096];
    const char *name = NULL;
    if (argc >= 1 && strncmp(argv[0], "--", 2) != 0) {
        name = argv[0];
        argc--;
        argv++;
    }
    if (args_parse(argc, argv, o, no, err, sizeof err)) {
        fprintf(stderr, "zeval %s: %s\nusage: zeval %s NAME %s\n", cmd, err, cmd, use);
        return 2;
    }
    if (args_get(o, no, "help")) {
        printf("usage: zeval %s NAME %s\n", cmd, use);
        return 0;
    }
    if (!name) {
        fprintf(stderr, "usage: zeval %s NAME %s\n(zeval runs [--db FILE] lists the stored "
                        "runs)\n", cmd, use);
        return 2;
    }
    const char *fmt = args_get(o, no, "format") ? args_get(o, no, "format") : "text";
    if (strcmp(fmt, "text") != 0 && strcmp(fmt, "json") != 0) {
        fprintf(stderr, "zeval %s: --format must be text or json, not '%s'\n", cmd, fmt);
        return 2;
    }
    const char *problem = args_get(o, no, "problem");
    problem_ctx pc = {stdout, 600, 0};
    if ((problem || args_get(o, no, "text-bytes")) && (regrade || strcmp(fmt, "text"))) {
        fprintf(stderr, "zeval %s: --problem and --text-bytes go with `zeval show`'s text output "
                        "(`zeval export NAME --problem ID` gives the samples as JSON)\n", cmd);
        return 2;
    }
    show_by by = {args_get(o, no, "by"), args_get(o, no, "dataset")};
    if ((by.field || by.dataset) && regrade) {
        fprintf(stderr, "zeval regrade: --by and --dataset go with `zeval show`\n");
        return 2;
    }
    if (by.dataset && !by.field) {
        fprintf(stderr, "zeval show: --dataset goes with --by FIELD\n");
        return 2;
    }
    if (by.field && !cli_field_ok(by.field)) {
        fprintf(stderr, "zeval show: --by '%s': a field name, or names joined by dots "
                        "(metadata.platform_inferred)\n", by.field);
        return 2;
    }
    char perr[256];
    if (args_get(o, no, "text-bytes") &&
        args_count(args_get(o, no, "text-bytes"), "--text-bytes", &pc.text_bytes, perr,
                   sizeof perr)) {
        fprintf(stderr, "zeval %s: %s\n", cmd, perr);
        return 2;
    }
    cJSON *arr = NULL;
    if (!strcmp(fmt, "json") && !(arr = cJSON_CreateArray()))
        return cli_fail(1, "out of memory");
    const char *dbpath = args_get(o, no, "db") ? args_get(o, no, "db") : DEFAULT_DB;
    store *db = NULL;
    char **names = NULL;
    size_t nn = 0;
    int status = 1;
    if (cli_db_open(dbpath, &db, err, sizeof err) ||
        cli_run_names(db, name, &names, &nn, err, sizeof err))
        goto done;
    for (size_t i = 0; i < nn; i++) {
        if (regrade) {
            store_run r;
            if (store_run_get(db, names[i], &r, err, sizeof err) != 1)
                goto done;
            runcfg c;
            char *ds = NULL;
            dataset d = {0};
            store_sample *x = NULL;
            size_t n = 0;
            int e = config_read(r.config, names[i], &c, &ds, err, sizeof err) ||
                    dataset_open(ds, c.limit, c.where, c.nwhere, &d, err, sizeof err) ||
                    store_samples_get(db, r.id, 1, &x, &n, err, sizeof err) ||
                    store_begin(db, err, sizeof err);
            long changed = 0;
            for (size_t k = 0; !e && k < n; k++) {
                const cJSON *rec = NULL;
                for (size_t q = 0; q < d.set.n && !rec; q++)
                    if (jstr(d.set.rec[q], "id") && !strcmp(jstr(d.set.rec[q], "id"),
                                                            x[k].problem_id))
                        rec = d.set.rec[q];
                if (!rec) {
                    e = ut_err(err, sizeof err, "run %s: problem %s is not in %s", names[i],
                               x[k].problem_id, ds);
                    break;
                }
                grade g;
                if (grade_text(&d, rec, x[k].text ? x[k].text : "", &g, err, sizeof err)) {
                    e = -1;
                    break;
                }
                int nc = g.ok ? g.correct : -1;
                changed += nc != x[k].correct;
                e = store_sample_grade(db, r.id, x[k].problem_id, x[k].round, x[k].candidate,
                                       g.extracted, nc, g.reason, err, sizeof err);
                free(g.extracted);
            }
            if (!e)
                e = store_commit(db, err, sizeof err);
            if (!e)
                fprintf(stderr, "zeval regrade: %s: %zu samples re-graded, %ld verdicts "
                        "changed\n", names[i], n, changed);
            store_samples_free(x, n);
            dataset_free(&d);
            free(ds);
            runcfg_free(&c);
            store_run_free(&r);
            if (e)
                goto done;
        }
        if (show_run(db, names[i], stdout, arr, by.field ? &by : NULL, err, sizeof err))
            goto done;
        if (problem) {
            store_run r;
            if (store_run_get(db, names[i], &r, err, sizeof err) != 1)
                goto done;
            long long before = pc.n;
            printf("  problem %s:\n", problem);
            int e = store_samples_each(db, r.id, problem, 1, show_sample, &pc, err, sizeof err);
            store_run_free(&r);
            if (e)
                goto done;
            if (pc.n == before)
                printf("    (no samples of this problem in this run)\n");
        }
    }
    if (problem && pc.n == 0) {
        snprintf(err, sizeof err, "%s: no sample of problem '%s' in %s", dbpath, problem, name);
        goto done;
    }
    if (arr) {
        char *t = cJSON_Print(arr);
        if (!t) {
            snprintf(err, sizeof err, "out of memory");
            goto done;
        }
        printf("%s\n", t);
        free(t);
    }
    status = 0;
done:
    if (status)
        cli_fail(1, err);
    cJSON_Delete(arr);
    store_names_free(names, nn);
    store_close(db);
    return status;
}

int cli_db_open(const char *path, store **db, char *err, size_t errlen)
{
    *db = NULL;
    if (access(path, F_OK) != 0)
        return ut_err(err, errlen, "%s: no such database", path);
    return store_open(path, db, err, errlen);
}

int cli_run_names(store *db, const char *name, char ***names, size_t *n, char *err,
                  size_t errlen)
{
    if (store_run_names(db, name, names, n, err, errlen))
        return -1;
    if (*n == 0)
        return ut_err(err, errlen, "%s: no run named '%s' (zeval runs --db %s lists them)",
                      store_path(db), name, store_path(db));
    return 0;
}

/* ------------------------------------------------------------ zeval runs */

/* One listed run, every field formatted. */
typedef struct {
    char id[24], name[512], dataset[128], setting[300], backend[32], samples[64];
    char state[64], final[96], tokens[32], published[16], started[24];
    cJSON *json;
} run_row;

/* Fills w with run name's line (and its JSON object). 0 or -1. */
static int runs_row(store *db, const char *name, run_row *w, char *err, size_t errlen)
{
    store_run r;
    int e = store_run_get(db, name, &r, err, errlen);
    if (e <= 0)
        return e < 0 ? -1 : ut_err(err, errlen, "%s: run '%s' vanished", store_path(db), name);
    store_counts k = {0};
    int rc = -1;
    /* Only what the listing shows is read from the configuration (the
     * setting, and the sample and problem counts); a run whose setting
     * cannot be read is still listed, saying so. */
    rsa_params p;
    memset(&p, 0, sizeof p);
    char why[512] = "";
    long long samples = 0, problems = -1;
    cJSON *cfg = cJSON_Parse(r.config);
    const char *spec = cfg ? jstr(cfg, "rsa") : NULL;
    int bad = 1; /* 1: the configuration, 2: the samples cannot be read */
    if (!cfg)
        snprintf(why, sizeof why, "the stored configuration is not JSON");
    else if (!spec)
        snprintf(why, sizeof why, "the stored configuration has no rsa setting");
    else if (!rsa_parse(spec, &p, why, sizeof why) &&
             !jint(cfg, "samples", 0, 0, RSA_MAX_WIDTH, &samples, name, why, sizeof why) &&
             !jint(cfg, "problems", -1, 0, INT_MAX, &problems, name, why, sizeof why))
        bad = 0;
    const char *preset = bad ? NULL : jstr(cfg, "preset");
    int nr = bad ? 0 : p.T + 1;
    if (store_run_counts(db, r.id, nr - 1, &k, why, sizeof why)) {
        /* listed all the same, with the reason */
        bad = 2;
        nr = 0;
        store_counts_free(&k);
    }
    long long expected = 0;
    for (int t = 0; t < nr; t++)
        expected += rsa_width(&p, (int)samples, t);
    expected = problems >= 0 && !bad ? expected * problems : -1;
    const pub_ref *pub = bad ? NULL : pub_find(r.dataset, &p);
    double avg = met_mean(k.mean, (int)k.problems);

    snprintf(w->id, sizeof w->id, "%lld", r.id);
    snprintf(w->name, sizeof w->name, "%s", r.name);
    snprintf(w->dataset, sizeof w->dataset, "%s", r.dataset ? r.dataset : "?");
    if (bad == 1)
        snprintf(w->setting, sizeof w->setting, "?");
    else
        setting_name(w->setting, sizeof w->setting, preset, &p, samples);
    snprintf(w->backend, sizeof w->backend, "%s", r.backend ? r.backend : "?");
    if (bad == 2)
        snprintf(w->samples, sizeof w->samples, "?");
    else if (expected >= 0)
        snprintf(w->samples, sizeof w->samples, "%lld/%lld", k.samples - k.failed, expected);
    else
        snprintf(w->samples, sizeof w->samples, "%lld", k.samples - k.failed);
    const char *state = bad == 2           ? "unreadable samples"
                        : bad              ? "unreadable configuration"
                        : r.finished_at < 0 ? "incomplete"
                        : k.failed          ? "finished"
                                            : "complete";
    if (k.failed)
        snprintf(w->state, sizeof w->state, "%s, %lld failed", state, k.failed);
    else
        snprintf(w->state, sizeof w->state, "%s", state);
    if (k.problems == 0)
        snprintf(w->final, sizeof w->final, "-");
    else if (problems >= 0 && (long long)k.problems < problems)
        snprintf(w->final, sizeof w->final, "%.2f%% (%zu/%lld)", 100 * avg, k.problems,
                 problems);
    else
        snprintf(w->final, sizeof w->final, "%.2f%%", 100 * avg);
    /* generated tokens per problem: D(q) of the last round reached */
    double tpp = k.gen_problems ? (double)k.gen_tokens / (double)k.gen_problems : 0;
    if (bad == 2 || k.gen_problems == 0)
        snprintf(w->tokens, sizeof w->tokens, "-");
    else
        snprintf(w->tokens, sizeof w->tokens, "%.0f", tpp);
    if (pub)
        snprintf(w->published, sizeof w->published, "%.1f%%", pub->score);
    else
        snprintf(w->published, sizeof w->published, "-");
    time_t t0 = (time_t)r.started_at;
    struct tm tm;
    if (gmtime_r(&t0, &tm))
        strftime(w->started, sizeof w->started, "%Y-%m-%d %H:%M:%S", &tm);
    else
        snprintf(w->started, sizeof w->started, "?");

    cJSON *j = w->json = cJSON_CreateObject();
    if (!j)
        goto oom;
    cJSON_AddNumberToObject(j, "id", (double)r.id);
    cJSON_AddStringToObject(j, "name", r.name);
    cJSON_AddStringToObject(j, "dataset", w->dataset);
    if (bad)
        cJSON_AddStringToObject(j, "error", why);
    if (bad != 1)
        cJSON_AddStringToObject(j, "rsa", spec);
    if (preset)
        cJSON_AddStringToObject(j, "preset", preset);
    cJSON_AddStringToObject(j, "backend", w->backend);
    if (r.device)
        cJSON_AddStringToObject(j, "device", r.device);
    cJSON_AddStringToObject(j, "model", r.model_path ? r.model_path : "");
    if (bad != 2) {
        cJSON_AddNumberToObject(j, "samples", (double)(k.samples - k.failed));
        cJSON_AddNumberToObject(j, "failed", (double)k.failed);
    }
    if (expected >= 0)
        cJSON_AddNumberToObject(j, "expected", (double)expected);
    cJSON_AddStringToObject(j, "state", state);
    if (k.problems)
        cJSON_AddNumberToObject(j, "final_avg", avg);
    cJSON_AddNumberToObject(j, "final_problems", (double)k.problems);
    if (bad != 2 && k.gen_problems)
        cJSON_AddNumberToObject(j, "tokens_per_problem", tpp);
    if (problems >= 0)
        cJSON_AddNumberToObject(j, "problems", (double)problems);
    if (pub) {
        cJSON *o = cJSON_AddObjectToObject(j, "published");
        if (!o)
            goto oom;
        cJSON_AddNumberToObject(o, "score", pub->score / 100.0); /* a fraction, as final_avg */
        cJSON_AddStringToObject(o, "source", pub->source);
        cJSON_AddStringToObject(o, "checkpoint", pub->checkpoint);
    }
    cJSON_AddNumberToObject(j, "started_at", r.started_at);
    if (r.finished_at >= 0)
        cJSON_AddNumberToObject(j, "finished_at", r.finished_at);
    else
        cJSON_AddNullToObject(j, "finished_at");
    rc = 0;
    goto done;
oom:
    ut_err(err, errlen, "out of memory");
done:
    cJSON_Delete(cfg);
    store_counts_free(&k);
    store_run_free(&r);
    return rc;
}

enum { RUNS_COLS = 11 };

/* Row i's cells (i == 0: the header; row i - 1 of w otherwise). */
static void runs_cells(const run_row *w, size_t i, const char **v)
{
    static const char *const head[RUNS_COLS] = {
        "ID", "NAME", "DATASET", "SETTING", "BACKEND", "SAMPLES", "STATE", "FINAL avg@n",
        "TOKENS/PROBLEM", "PUBLISHED", "STARTED (UTC)"};
    if (i == 0) {
        memcpy(v, head, sizeof head);
        return;
    }
    const run_row *r = &w[i - 1];
    const char *c[RUNS_COLS] = {r->id,      r->name,  r->dataset, r->setting,
                                r->backend, r->samples, r->state, r->final,
                                r->tokens,  r->published, r->started};
    memcpy(v, c, sizeof c);
}

/* The header and the n rows, each column as wide as its widest cell. */
static void runs_table(FILE *out, const run_row *w, size_t n)
{
    int width[RUNS_COLS] = {0};
    const char *v[RUNS_COLS];
    for (size_t i = 0; i <= n; i++) {
        runs_cells(w, i, v);
        for (int k = 0; k < RUNS_COLS; k++)
            if ((int)strlen(v[k]) > width[k])
                width[k] = (int)strlen(v[k]);
    }
    for (size_t i = 0; i <= n; i++) {
        runs_cells(w, i, v);
        for (int k = 0; k + 1 < RUNS_COLS; k++)
            fprintf(out, "%-*s  ", width[k], v[k]);
        fprintf(out, "%s\n", v[RUNS_COLS - 1]);
    }
}

/* The listing of runs names[0..n) (all of db's when NULL) to out, as
 * text or JSON.  0 or -1. */
static int runs_print(FILE *out, store *db, char **names, size_t n, int json, char *err,
                      size_t errlen)
{
    char **all = NULL;
    size_t nall = 0, nw = 0;
    if (!names && store_run_names(db, NULL, &all, &nall, err, errlen))
        return -1;
    if (!names)
        names = all, n = nall;
    int rc = -1;
    run_row *w = calloc(n + 1, sizeof *w);
    if (!w) {
        ut_err(err, errlen, "out of memory");
        goto done;
    }
    for (; nw < n; nw++)
        if (runs_row(db, names[nw], &w[nw], err, errlen))
            goto done;
    if (json) {
        cJSON *a = cJSON_CreateArray();
        for (size_t i = 0; a && i < nw; i++) {
            cJSON_AddItemToArray(a, w[i].json);
            w[i].json = NULL;
        }
        char *t = a ? cJSON_Print(a) : NULL;
        cJSON_Delete(a);
        if (!t) {
            ut_err(err, errlen, "out of memory");
            goto done;
        }
        fprintf(out, "%s\n", t);
        free(t);
    } else if (nw == 0) {
        fprintf(out, "%s: no runs\n", store_path(db));
    } else {
        runs_table(out, w, nw);
    }
    rc = 0;
done:
    for (size_t i = 0; w && i <= nw && i < n + 1; i++)
        cJSON_Delete(w[i].json);
    free(w);
    store_names_free(all, nall);
    return rc;
}

int cli_runs(int argc, char **argv)
{
    static const char usage[] = "usage: zeval runs [NAME ...] [--db FILE] [--format text|json]\n"
                                "  every run of the database, or the named ones (a NAME also "
                                "selects NAME/...)\n";
    args_opt o[] = {{"db", 1, NULL}, {"format", 1, NULL}, {"help", 0, NULL}};
    int no = 3, nsel = 0;
    char err[4096];
    char **sel = calloc((size_t)argc + 1, sizeof *sel);
    if (!sel)
        return cli_fail(1, "out of memory");
    int w = 0; /* the options, moved to the front of argv */
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0) {
            sel[nsel++] = argv[i];
            continue;
        }
        argv[w++] = argv[i];
        if ((!strcmp(argv[i], "--db") || !strcmp(argv[i], "--format")) && i + 1 < argc)
            argv[w++] = argv[++i];
    }
    if (args_parse(w, argv, o, no, err, sizeof err)) {
        fprintf(stderr, "zeval runs: %s\n%s", err, usage);
        free(sel);
        return 2;
    }
    if (args_get(o, no, "help")) {
        fputs(usage, stdout);
        free(sel);
        return 0;
    }
    const char *fmt = args_get(o, no, "format") ? args_get(o, no, "format") : "text";
    if (strcmp(fmt, "text") != 0 && strcmp(fmt, "json") != 0) {
        fprintf(stderr, "zeval runs: --format must be text or json, not '%s'\n%s", fmt, usage);
        free(sel);
        return 2;
    }
    const char *dbpath = args_get(o, no, "db") ? args_get(o, no, "db") : DEFAULT_DB;
    store *db = NULL;
    char **names = NULL;
    size_t nn = 0;
    int status = 1;
    if (cli_db_open(dbpath, &db, err, sizeof err))
        goto done;
    for (int i = 0; i < nsel; i++) { /* an unknown name is an error */
        char **one = NULL;
        size_t n1 = 0;
        int e = cli_run_names(db, sel[i], &one, &n1, err, sizeof err);
        store_names_free(one, n1);
        if (e)
            goto done;
    }
    /* every run in id order, those a name selects kept (each once) */
    if (nsel && store_run_names(db, NULL, &names, &nn, err, sizeof err))
        goto done;
    size_t k = 0;
    for (size_t i = 0; i < nn; i++) {
        int in = 0;
        for (int q = 0; q < nsel && !in; q++) {
            size_t l = strlen(sel[q]);
            in = !strncmp(names[i], sel[q], l) && (!names[i][l] || names[i][l] == '/');
        }
        if (in)
            names[k++] = names[i];
        else
            free(names[i]);
    }
    nn = k;
    if (runs_print(stdout, db, nsel ? names : NULL, nn, !strcmp(fmt, "json"), err, sizeof err))
        goto done;
    status = 0;
done:
    store_names_free(names, nn);
    store_close(db);
    free(sel);
    if (status)
        fprintf(stderr, "zeval runs: %s\n", err);
    return status;
}

/* ---------------------------------------------------------- zeval delete */

int cli_delete(int argc, char **argv)
{
    static const char usage[] = "usage: zeval delete NAME [NAME ...] [--db FILE] [--force]\n";
    args_opt o[] = {{"db", 1, NULL}, {"force", 0, NULL}, {"help", 0, NULL}};
    int no = 3, nsel = 0;
    char err[4096];
    char **sel = calloc((size_t)argc + 1, sizeof *sel);
    if (!sel)
        return cli_fail(1, "out of memory");
    int w = 0; /* the options, moved to the front of argv as compare does */
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0) {
            sel[nsel++] = argv[i];
            continue;
        }
        argv[w++] = argv[i];
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            argv[w++] = argv[++i];
    }
    int status = 2;
    store *db = NULL;
    char ***names = calloc((size_t)nsel + 1, sizeof *names);
    size_t *nn = calloc((size_t)nsel + 1, sizeof *nn);
    if (!names || !nn) {
        snprintf(err, sizeof err, "out of memory");
        status = 1;
        goto done;
    }
    if (args_parse(w, argv, o, no, err, sizeof err)) {
        fprintf(stderr, "zeval delete: %s\n%s", err, usage);
        goto quiet;
    }
    if (args_get(o, no, "help")) {
        fputs(usage, stdout);
        status = 0;
        goto quiet;
    }
    if (nsel == 0) {
        fputs(usage, stderr);
        goto quiet;
    }
    status = 1;
    const char *dbpath = args_get(o, no, "db") ? args_get(o, no, "db") : DEFAULT_DB;
    int force = args_get(o, no, "force") != NULL;
    if (cli_db_open(dbpath, &db, err, sizeof err))
        goto done;
    /* Every name is checked before anything is deleted. */
    for (int i = 0; i < nsel; i++) {
        if (cli_run_names(db, sel[i], &names[i], &nn[i], err, sizeof err)) {
            snprintf(err + strlen(err), sizeof err - strlen(err), "; nothing deleted");
            goto done;
        }
        for (size_t k = 0; k < nn[i] && !force; k++) {
            store_run r;
            if (store_run_get(db, names[i][k], &r, err, sizeof err) != 1)
                goto done;
            int open_run = r.finished_at < 0;
            store_run_free(&r);
            if (open_run) {
                snprintf(err, sizeof err, "%s: run '%s' is incomplete (still running, or to be "
                         "resumed with --resume); --force deletes it anyway; nothing deleted",
                         dbpath, names[i][k]);
                goto done;
            }
        }
    }
    for (int i = 0; i < nsel; i++)
        for (size_t k = 0; k < nn[i]; k++) {
            store_run r;
            int e = store_run_get(db, names[i][k], &r, err, sizeof err);
            if (e < 0)
                goto done;
            if (e == 0)
                continue; /* named twice */
            long long ns = 0;
            e = store_run_delete(db, r.id, &ns, err, sizeof err);
            store_run_free(&r);
            if (e)
                goto done;
            printf("deleted run %s (%lld samples)\n", names[i][k], ns);
        }
    status = 0;
done:
    if (status)
        cli_fail(status, err);
quiet:
    for (int i = 0; names && i < nsel; i++)
        store_names_free(names[i], nn[i]);
    free(names);
    free(nn);
    free(sel);
    store_close(db);
    return status;
}

int cli_show(int argc, char **argv)
{
    return show_or_regrade(argc, argv, 0);
}

int cli_regrade(int argc, char **argv)
{
    return show_or_regrade(argc, argv, 1);
}

int cli_presets(int argc, char **argv)
{
    static const char usage[] = "usage: zeval presets\n"
                                "  the named RSA settings, with their spec and token cap\n";
    if (argc > 0) {
        int help = strcmp(argv[0], "--help") == 0;
        fputs(usage, help ? stdout : stderr);
        return help ? 0 : 2;
    }
    size_t n;
    const rsa_preset *p = rsa_presets(&n);
    printf("%-18s %-44s %14s  %s\n", "preset", "SPEC (tokens; K = 1024)", "cap tokens/prob",
           "notes");
    for (size_t i = 0; i < n; i++) {
        rsa_params rp;
        char e[256];
        if (rsa_parse(p[i].spec, &rp, e, sizeof e))
            continue;
        printf("%-18s %-44s %14.0f  %s\n", p[i].name, p[i].spec, rsa_cost_cap(&rp, 0),
               p[i].note);
    }
    printf("\ncap = N*T*beta + N*final generated tokens per problem (spec section 6); realized "
           "cost is lower when candidates stop early.\n");
    return 0;
}
