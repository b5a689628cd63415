/*
 * rep_data.c — reading runs for reports/ (see rep_int.h).
 *
 * Samples are read without their texts, ordered by the unique index
 * (run_id, problem_id, round, candidate); problem ids and answers are
 * interned per run so the metrics see the same pointers as the rows.
 */
#include "rep_int.h"
#include "../engine/util.h"
#include "../harness/published.h"
#include "../harness/rsa.h"
#include "../graders/math_extract.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

int rep_db_open(const char *path, sqlite3 **db, char *err, size_t errlen)
{
    *db = NULL;
    if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        ut_err(err, errlen, "%s: cannot open the database: %s", path,
               *db ? sqlite3_errmsg(*db) : "out of memory");
        sqlite3_close(*db);
        *db = NULL;
        return -1;
    }
    sqlite3_busy_timeout(*db, 10000);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(*db, "SELECT count(*) FROM runs", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        ut_err(err, errlen, "%s: not a zeval database (%s)", path, sqlite3_errmsg(*db));
        sqlite3_finalize(st);
        sqlite3_close(*db);
        *db = NULL;
        return -1;
    }
    sqlite3_finalize(st);
    return 0;
}

static int push_id(long long **ids, int *n, int *cap, long long id)
{
    for (int i = 0; i < *n; i++)
        if ((*ids)[i] == id)
            return 0;
    if (*n == *cap) {
        int nc = *cap ? 2 * *cap : 8;
        long long *p = realloc(*ids, (size_t)nc * sizeof *p);
        if (!p)
            return -1;
        *ids = p;
        *cap = nc;
    }
    (*ids)[(*n)++] = id;
    return 0;
}

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

int rep_resolve(sqlite3 *db, const char *path, const char *const *sel, int nsel,
                long long **ids, int *n, char *err, size_t errlen)
{
    *ids = NULL;
    *n = 0;
    int cap = 0, rc = -1;
    sqlite3_stmt *all = NULL, *byid = NULL, *byname = NULL;
    if (sqlite3_prepare_v2(db, "SELECT id FROM runs ORDER BY id", -1, &all, NULL) ||
        sqlite3_prepare_v2(db, "SELECT id FROM runs WHERE id = ?", -1, &byid, NULL) ||
        sqlite3_prepare_v2(db, "SELECT id FROM runs WHERE name = ?1 OR substr(name, 1, "
                               "length(?1) + 1) = ?1 || '/' ORDER BY name", -1, &byname, NULL)) {
        ut_err(err, errlen, "%s: reading runs: %s", path, sqlite3_errmsg(db));
        goto done;
    }
    if (nsel == 0) {
        while (sqlite3_step(all) == SQLITE_ROW)
            if (push_id(ids, n, &cap, sqlite3_column_int64(all, 0)))
                goto oom;
        if (*n == 0) {
            ut_err(err, errlen, "%s: the database holds no runs", path);
            rc = 1;
            goto done;
        }
    }
    for (int i = 0; i < nsel; i++) {
        int found = 0;
        if (all_digits(sel[i])) {
            sqlite3_reset(byid);
            sqlite3_bind_int64(byid, 1, strtoll(sel[i], NULL, 10));
            if (sqlite3_step(byid) == SQLITE_ROW) {
                found = 1;
                if (push_id(ids, n, &cap, sqlite3_column_int64(byid, 0)))
                    goto oom;
            }
        }
        if (!found) {
            sqlite3_reset(byname);
            sqlite3_bind_text(byname, 1, sel[i], -1, SQLITE_TRANSIENT);
            while (sqlite3_step(byname) == SQLITE_ROW) {
                found = 1;
                if (push_id(ids, n, &cap, sqlite3_column_int64(byname, 0)))
                    goto oom;
            }
        }
        if (!found) {
            ut_err(err, errlen, "%s: no run with id or name '%s'", path, sel[i]);
            rc = 1;
            goto done;
        }
    }
    rc = 0;
    goto done;
oom:
    ut_err(err, errlen, "out of memory");
done:
    sqlite3_finalize(all);
    sqlite3_finalize(byid);
    sqlite3_finalize(byname);
    if (rc) {
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    return rc;
}

void rep_run_free(rep_run *r)
{
    if (!r)
        return;
    free(r->name);
    free(r->model);
    free(r->weights);
    free(r->dataset);
    free(r->dataset_sha);
    free(r->setting);
    free(r->spec);
    for (size_t i = 0; i < r->nown; i++)
        free(r->own[i]);
    free(r->own);
    free(r->ms);
    free(r->mr);
    free(r->pid);
    free(r->fmean);
    memset(r, 0, sizeof *r);
}

static char *col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? ut_strdup((const char *)t) : NULL;
}

static int own_push(rep_run *r, char *s, size_t *cap)
{
    if (!s)
        return -1;
    if (r->nown == *cap) {
        size_t nc = *cap ? 2 * *cap : 1024;
        char **p = realloc(r->own, nc * sizeof *p);
        if (!p) {
            free(s);
            return -1;
        }
        r->own = p;
        *cap = nc;
    }
    r->own[r->nown++] = s;
    return 0;
}

/* The configuration fields the report shows. */
static void read_config(rep_run *r, const char *config)
{
    cJSON *j = config ? cJSON_Parse(config) : NULL;
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "T")) && cJSON_IsNumber(v) && v->valueint >= 0 &&
        v->valueint < RSA_MAX_ROUNDS)
        r->nrounds = v->valueint + 1;
    long long x;
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "beta")) && cJSON_IsNumber(v) &&
        ut_double_to_ll(v->valuedouble, &x) && x >= 0 && x <= LONG_MAX)
        r->beta = (long)x;
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "final")) && cJSON_IsNumber(v) &&
        ut_double_to_ll(v->valuedouble, &x) && x >= 0 && x <= LONG_MAX)
        r->final_budget = (long)x;
    const char *preset = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "preset"));
    const char *spec = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "rsa"));
    rsa_params p;
    char e[256], shortspec[256];
    int parsed = spec && rsa_parse(spec, &p, e, sizeof e) == 0;
    if (parsed)
        rsa_format_short(&p, shortspec, sizeof shortspec);
    if (preset || spec)
        r->setting = ut_strdup(preset ? preset : parsed ? shortspec : spec);
    if (spec)
        r->spec = ut_strdup(spec);
    if (parsed && (r->pub = pub_find(r->dataset, &p))) {
        double num[4] = {1, 1, 0, 0};
        const char *key[4] = {"temperature", "top_p", "top_k", "min_p"};
        for (int i = 0; i < 4; i++)
            if ((v = cJSON_GetObjectItemCaseSensitive(j, key[i])) && cJSON_IsNumber(v))
                num[i] = v->valuedouble;
        r->pub_sampling_differs =
            pub_sampling_differs(r->pub, num[0], num[1], num[2] > 0 ? 1 : 0, num[3]);
    }
    cJSON_Delete(j);
}

int rep_run_load(sqlite3 *db, const char *path, long long id, rep_run *r, char *err,
                 size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->id = id;
    sqlite3_stmt *st = NULL;
    size_t cap = 0, owncap = 0;
    int rc = -1;
    if (sqlite3_prepare_v2(db, "SELECT name, config, model_path, weights_sha256, dataset,"
                               " dataset_sha256, started_at, finished_at FROM runs WHERE id = ?",
                           -1, &st, NULL) != SQLITE_OK)
        goto dberr;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        ut_err(err, errlen, "%s: no run with id %lld", path, id);
        goto done;
    }
    r->name = col(st, 0);
    r->model = col(st, 2);
    r->weights = col(st, 3);
    r->dataset = col(st, 4);
    r->dataset_sha = col(st, 5);
    r->started_at = sqlite3_column_double(st, 6);
    r->finished_at = sqlite3_column_type(st, 7) == SQLITE_NULL ? -1 : sqlite3_column_double(st, 7);
    read_config(r, (const char *)sqlite3_column_text(st, 1));
    sqlite3_finalize(st);
    st = NULL;
    if (!r->name)
        goto oom;
    if (sqlite3_prepare_v2(db, "SELECT problem_id, round, correct, extracted, gen_tokens,"
                               " finish_reason, started_at, finished_at FROM samples"
                               " WHERE run_id = ? ORDER BY problem_id, round, candidate",
                           -1, &st, NULL) != SQLITE_OK)
        goto dberr;
    sqlite3_bind_int64(st, 1, id);
    const char *last_pid = NULL;
    double t_hi = r->started_at;
    int s, maxround = -1;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (r->n == cap) {
            size_t nc = cap ? 2 * cap : 1024;
            met_sample *p = realloc(r->ms, nc * sizeof *p);
            if (!p)
                goto oom;
            r->ms = p;
            cap = nc;
        }
        met_sample *m = &r->ms[r->n];
        memset(m, 0, sizeof *m);
        const char *pid = (const char *)sqlite3_column_text(st, 0);
        if (!pid)
            pid = "";
        if (!last_pid || strcmp(last_pid, pid) != 0) {
            if (own_push(r, ut_strdup(pid), &owncap))
                goto oom;
            last_pid = r->own[r->nown - 1];
            r->np++;
        }
        m->problem_id = last_pid;
        m->round = sqlite3_column_int(st, 1);
        if (m->round < 0 || m->round >= RSA_MAX_ROUNDS) {
            ut_err(err, errlen, "%s: run %lld: a sample of problem '%.60s' has round %d, outside "
                   "0..%d", path, id, pid, m->round, RSA_MAX_ROUNDS - 1);
            goto done;
        }
        int ct = sqlite3_column_type(st, 2);
        m->correct = ct == SQLITE_NULL ? -1 : sqlite3_column_int(st, 2);
        if (ct != SQLITE_NULL && (ct != SQLITE_INTEGER || (unsigned)m->correct > 1)) {
            ut_err(err, errlen, "%s: run %lld: a sample of problem '%.60s' has correct '%.20s', "
                   "not 0, 1 or NULL", path, id, pid, (const char *)sqlite3_column_text(st, 2));
            goto done;
        }
        const char *ex = (const char *)sqlite3_column_text(st, 3);
        if (ex) {
            char *norm = math_normalize(ex, strlen(ex), 0);
            if (norm) {
                if (own_push(r, norm, &owncap))
                    goto oom;
                m->answer = norm;
            }
        }
        m->gen_tokens = sqlite3_column_int(st, 4);
        const char *fin = (const char *)sqlite3_column_text(st, 5);
        int f = !fin ? REP_FIN_OTHER : !strcmp(fin, "stop") ? REP_FIN_STOP
                : !strcmp(fin, "length") ? REP_FIN_LENGTH : !strcmp(fin, "error") ? REP_FIN_ERROR
                : REP_FIN_OTHER;
        r->fin[f]++;
        m->truncated = f == REP_FIN_LENGTH;
        r->gen_total += m->gen_tokens;
        if (m->gen_tokens > r->max_gen)
            r->max_gen = m->gen_tokens;
        if (m->round > maxround)
            maxround = m->round;
        double fa = sqlite3_column_double(st, 7);
        if (fa > t_hi)
            t_hi = fa;
        r->n++;
    }
    if (s != SQLITE_DONE)
        goto dberr;
    sqlite3_finalize(st);
    st = NULL;
    if (maxround + 1 > r->nrounds)
        r->nrounds = maxround + 1;
    if (r->nrounds < 1)
        r->nrounds = 1;
    r->mr = calloc((size_t)r->nrounds, sizeof *r->mr);
    r->pid = calloc(r->np + 1, sizeof *r->pid);
    r->fmean = calloc(r->np + 1, sizeof *r->fmean);
    if (!r->mr || !r->pid || !r->fmean || met_rounds(r->ms, r->n, r->nrounds, 1234, r->mr))
        goto oom;
    /* per-problem mean correctness of the graded final-round samples */
    int fr = r->nrounds - 1;
    size_t pi = 0;
    for (size_t i = 0; i < r->n;) {
        size_t j = i;
        int g = 0, c = 0;
        for (; j < r->n && r->ms[j].problem_id == r->ms[i].problem_id; j++)
            if (r->ms[j].round == fr && r->ms[j].correct >= 0) {
                g++;
                c += r->ms[j].correct;
            }
        r->pid[pi] = r->ms[i].problem_id;
        r->fmean[pi] = g ? (double)c / g : -1;
        pi++;
        i = j;
    }
    r->wall = r->finished_at >= 0 ? r->finished_at - r->started_at : t_hi - r->started_at;
    if (r->wall < 0)
        r->wall = 0;
    r->tok_s = r->wall > 0 ? (double)r->gen_total / r->wall : 0;
    rc = 0;
    goto done;
dberr:
    ut_err(err, errlen, "%s: reading run %lld: %s", path, id, sqlite3_errmsg(db));
    goto done;
oom:
    ut_err(err, errlen, "out of memory");
done:
    sqlite3_finalize(st);
    if (rc)
        rep_run_free(r);
    return rc;
}
