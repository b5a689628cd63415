/*
 * gpu_backend.c — the backend interface over the batched HIP engine
 * (gpu/gpu.h, gpu_batch), and the choice between it and the CPU engine.
 *
 * Continuous batching: every pump is one device step.  Each running
 * request contributes one token (its last prompt token, then each token
 * it samples); prompts still being cached contribute runs of up to
 * GB_RUN tokens while the step has room.  Requests are admitted in
 * submission order while a sequence slot and their worst-case pages
 * (prompt + budget) are free, so a step never runs out of cache.
 *
 * Shared prompts: a request's prompt minus its last token is cached once
 * per distinct prefix, in a holder sequence; each request then forks it
 * (sharing its full pages) and feeds its own last token.  All N round-0
 * candidates of a problem thus share one prefill.  The engine's kernels
 * are batch-invariant (gpu/bkern.h), so neither the fork nor the company
 * of a step changes a number: a request's tokens depend only on
 * (weights, prompt, sampling, seed).
 *
 * Sampling is the CPU backend's rule, smp_sample with the request's seed
 * and the token index as counter.  Greedy requests take the device's
 * argmax (the lowest id among the largest logits below the vocabulary
 * limit); the others draw on the device by the same rule, top-k, top-p
 * and min-p included (gpu.h), so no logits leave it.  The two draws agree
 * except where rounding of the masses' sums (summed in another order on
 * the device) moves u across a boundary.
 */
#include "backend.h"
#include "gpu/gpu.h"
#include "model.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    GB_SEQS = 320,      /* sequence slots (requests and prompt holders) */
    GB_CTX = 65536,     /* tokens per sequence */
    GB_STEP = 2048,     /* tokens per step */
    GB_RUN = 512,       /* prompt tokens a holder feeds per step */
};

typedef struct gpfx gpfx;

typedef struct {
    eng_request r;
    int32_t *prompt, *stops, *out;
    int n_out, seq, admitted, done;
    long long pages;    /* reserved: the worst case of prompt + budget */
    gpfx *pfx;          /* waiting to fork it */
    double t_submit, t_first;
    eng_finish finish;
} greq;

/* A cached prompt prefix (all but the last token of some prompts). */
struct gpfx {
    const int32_t *ids; /* the first attached request's prompt */
    int n, fed, seq, users;
    long long pages;
    uint64_t hash;
    gpfx *next;
};

typedef struct {
    eng_backend base;
    const eng_model *m;
    gpu_batch *b;
    long long total_pages, reserved;
    int slots_used;
    greq **req;             /* submission order */
    int nreq, capreq;
    greq **retire;          /* finished; their ids live until the next pump */
    int nretire;
    gpfx *pfx;
    eng_evq queue;
    gpu_run *runs;
    greq **owner;           /* per run: its request, or NULL for a holder */
    gpfx **howner;
    int32_t *tok, *am;
    int caprun;
    uint64_t steps, prefix_hits;
} gpu_backend;

static long long pages_for(long long tokens)
{
    return (tokens + GPU_PAGE - 1) / GPU_PAGE;
}

static uint64_t ids_hash(const int32_t *ids, int n)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < n; i++)
        h = (h ^ (uint32_t)ids[i]) * 1099511628211ull;
    return h;
}

static void greq_free(greq *q)
{
    if (!q)
        return;
    free(q->prompt);
    free(q->stops);
    free(q->out);
    free(q);
}

static int gb_submit(eng_backend *be, const eng_request *r, char *err, size_t errlen)
{
    gpu_backend *c = (gpu_backend *)be;
    if (eng_request_check(r, c->m->cfg.vocab, err, errlen))
        return -1;
    if ((long long)r->n_prompt + r->max_new > GB_CTX)
        return ut_err(err, errlen, "request: %d prompt + %d new tokens; the GPU backend holds at "
                      "most %d tokens per sequence", r->n_prompt, r->max_new, GB_CTX);
    long long need = pages_for((long long)r->n_prompt + r->max_new) + 1 +
                     pages_for(r->n_prompt);
    if (need > c->total_pages)
        return ut_err(err, errlen, "request: %d prompt + %d new tokens need %lld pages of the "
                      "GPU K/V cache, which has %lld", r->n_prompt, r->max_new, need,
                      c->total_pages);
    if (c->nreq == c->capreq) {
        int nc = c->capreq ? 2 * c->capreq : 64;
        greq **nr = realloc(c->req, (size_t)nc * sizeof *nr);
        if (!nr)
            return ut_err(err, errlen, "out of memory");
        c->req = nr;
        greq **nt = realloc(c->retire, (size_t)nc * sizeof *nt);
        if (!nt)
            return ut_err(err, errlen, "out of memory");
        c->retire = nt;
        c->capreq = nc;
    }
    greq *q = calloc(1, sizeof *q);
    if (!q || eng_request_copy(r, c->m->cfg.vocab, &q->r, &q->prompt, &q->stops, &q->out)) {
        greq_free(q);
        return ut_err(err, errlen, "out of memory");
    }
    q->seq = -1;
    q->t_submit = ut_now();
    c->req[c->nreq++] = q;
    return 0;
}

/* The holder of q's prompt prefix, attaching q (a new holder when none
 * caches it and a slot and its pages are free); NULL when q must wait. */
static gpfx *prefix_attach(gpu_backend *c, greq *q, char *err, size_t errlen, int *fail)
{
    int n = q->r.n_prompt - 1;
    uint64_t h = ids_hash(q->prompt, n);
    for (gpfx *p = c->pfx; p; p = p->next)
        if (p->hash == h && p->n == n && memcmp(p->ids, q->prompt, (size_t)n * sizeof *q->prompt) == 0) {
            p->users++;
            c->prefix_hits++;
            return p;
        }
    long long pages = pages_for(n);
    if (c->slots_used + 2 > GB_SEQS || c->reserved + pages + q->pages > c->total_pages)
        return NULL;
    gpfx *p = calloc(1, sizeof *p);
    if (!p) {
        *fail = ut_err(err, errlen, "out of memory");
        return NULL;
    }
    if ((p->seq = gpu_batch_seq_new(c->b, err, errlen)) < 0) {
        free(p);
        *fail = -1;
        return NULL;
    }
    p->ids = q->prompt;
    p->n = n;
    p->hash = h;
    p->users = 1;
    p->pages = pages;
    c->reserved += pages;
    c->slots_used++;
    p->next = c->pfx;
    c->pfx = p;
    return p;
}

static void prefix_release(gpu_backend *c, gpfx *p)
{
    if (--p->users > 0)
        return;
    gpu_batch_seq_free(c->b, p->seq);
    c->reserved -= p->pages;
    c->slots_used--;
    for (gpfx **pp = &c->pfx; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    free(p);
}

static int ensure_runs(gpu_backend *c, int n, char *err, size_t errlen)
{
    if (n <= c->caprun)
        return 0;
    int nc = n + 64;
    gpu_run *r = realloc(c->runs, (size_t)nc * sizeof *r);
    if (r)
        c->runs = r;
    greq **o = realloc(c->owner, (size_t)nc * sizeof *o);
    if (o)
        c->owner = o;
    gpfx **ho = realloc(c->howner, (size_t)nc * sizeof *ho);
    if (ho)
        c->howner = ho;
    int32_t *t = realloc(c->tok, (size_t)nc * sizeof *t);
    if (t)
        c->tok = t;
    int32_t *a = realloc(c->am, (size_t)nc * sizeof *a);
    if (a)
        c->am = a;
    if (!r || !o || !ho || !t || !a)
        return ut_err(err, errlen, "out of memory for %d runs", nc);
    c->caprun = nc;
    return 0;
}

/* Ends q: its events, its sequence and its reservation. */
static int finish(gpu_backend *c, greq *q, eng_finish f, double now, char *err, size_t errlen)
{
    q->done = 1;
    q->finish = f;
    gpu_batch_seq_free(c->b, q->seq);
    q->seq = -1;
    c->slots_used--;
    c->reserved -= q->pages;
    eng_event e = {ENG_EV_FINISHED, q->r.user, q->n_out ? q->out[q->n_out - 1] : 0, f, q->out,
                   q->n_out, q->t_first, now - q->t_submit, NULL};
    return eng_evq_push(&c->queue, &e) ? ut_err(err, errlen, "out of memory") : 0;
}

static int gb_pump(eng_backend *be, eng_event *ev, int maxev, int *nev, char *err, size_t errlen)
{
    gpu_backend *c = (gpu_backend *)be;
    *nev = 0;
    if (c->queue.n > 0) {
        eng_evq_drain(&c->queue, ev, maxev, nev);
        return 0;
    }
    for (int i = 0; i < c->nretire; i++)
        greq_free(c->retire[i]);
    c->nretire = 0;

    /* Admit in submission order while slots and pages last. */
    for (int i = 0; i < c->nreq; i++) {
        greq *q = c->req[i];
        if (q->admitted || q->done)
            continue;
        long long pages = pages_for((long long)q->r.n_prompt + q->r.max_new) + 1;
        if (c->slots_used + 1 > GB_SEQS || c->reserved + pages > c->total_pages)
            break;
        q->pages = pages;
        if (q->r.n_prompt > 1) {
            int fail = 0;
            if (!(q->pfx = prefix_attach(c, q, err, errlen, &fail))) {
                if (fail)
                    return -1;
                break;
            }
        } else if ((q->seq = gpu_batch_seq_new(c->b, err, errlen)) < 0) {
            return -1;
        }
        q->admitted = 1;
        c->reserved += pages;
        c->slots_used++;
    }
    /* Requests whose prefix is cached fork it. */
    for (int i = 0; i < c->nreq; i++) {
        greq *q = c->req[i];
        if (q->pfx && q->pfx->fed == q->pfx->n) {
            if ((q->seq = gpu_batch_seq_fork(c->b, q->pfx->seq, err, errlen)) < 0)
                return -1;
            prefix_release(c, q->pfx);
            q->pfx = NULL;
        }
    }
    /* The step: a token of every running request, then prompt runs. */
    if (ensure_runs(c, GB_SEQS, err, errlen)) /* a run per slot at most */
        return -1;
    int nr = 0, budget = GB_STEP;
    for (int i = 0; i < c->nreq && budget > 0; i++) {
        greq *q = c->req[i];
        if (q->seq < 0 || q->done)
            continue;
        const smp_params *sp = &q->r.sampling;
        int greedy = sp->temperature == 0.0f || sp->top_k == 1;
        c->tok[nr] = q->n_out ? q->out[q->n_out - 1] : q->prompt[q->r.n_prompt - 1];
        c->runs[nr] = (gpu_run){q->seq, &c->tok[nr], 1, NULL, q->r.vocab_limit, &c->am[nr],
                                0.0, 0.0, 0, 1.0, 0.0};
        if (!greedy) { /* drawn on the device */
            c->runs[nr].inv_t = 1.0 / sp->temperature;
            c->runs[nr].u = smp_uniform(q->r.seed, (uint64_t)q->n_out);
            c->runs[nr].top_k = sp->top_k;
            c->runs[nr].top_p = sp->top_p;
            c->runs[nr].min_p = sp->min_p;
        }
        c->owner[nr] = q;
        c->howner[nr++] = NULL;
        budget--;
    }
    for (gpfx *p = c->pfx; p && budget > 0; p = p->next) {
        if (p->fed == p->n)
            continue;
        int n = p->n - p->fed < GB_RUN ? p->n - p->fed : GB_RUN;
        n = n < budget ? n : budget;
        c->runs[nr] = (gpu_run){p->seq, p->ids + p->fed, n, NULL, 0, NULL, 0.0, 0.0, 0, 0.0, 0.0};
        c->owner[nr] = NULL;
        c->howner[nr++] = p;
        budget -= n;
    }
    if (nr == 0)
        return 0;
    if (gpu_batch_step(c->b, c->runs, nr, err, errlen))
        return -1;
    c->steps++;
    double now = ut_now();
    for (int k = 0; k < nr; k++) {
        if (c->howner[k]) {
            c->howner[k]->fed += c->runs[k].n;
            continue;
        }
        greq *q = c->owner[k];
        int32_t t = c->am[k];
        if (q->n_out == 0)
            q->t_first = now - q->t_submit;
        q->out[q->n_out++] = t;
        eng_event e = {ENG_EV_TOKEN, q->r.user, t, ENG_FINISH_STOP, NULL, 0, 0, 0, NULL};
        if (eng_evq_push(&c->queue, &e))
            return ut_err(err, errlen, "out of memory");
        int stop = eng_request_stops_at(&q->r, t);
        if ((stop || q->n_out >= q->r.max_new) &&
            finish(c, q, stop ? ENG_FINISH_STOP : ENG_FINISH_LENGTH, now, err, errlen))
            return -1;
    }
    int w = 0;
    for (int i = 0; i < c->nreq; i++) {
        if (c->req[i]->done)
            c->retire[c->nretire++] = c->req[i];
        else
            c->req[w++] = c->req[i];
    }
    c->nreq = w;
    eng_evq_drain(&c->queue, ev, maxev, nev);
    return 0;
}

static int gb_pending(const eng_backend *be)
{
    const gpu_backend *c = (const gpu_backend *)be;
    return c->nreq + eng_evq_finished(&c->queue);
}

static void gb_free(eng_backend *be)
{
    gpu_backend *c = (gpu_backend *)be;
    if (!c)
        return;
    for (int i = 0; i < c->nreq; i++)
        greq_free(c->req[i]);
    for (int i = 0; i < c->nretire; i++)
        greq_free(c->retire[i]);
    while (c->pfx) {
        gpfx *n = c->pfx->next;
        free(c->pfx);
        c->pfx = n;
    }
    eng_evq_free(&c->queue);
    free(c->req);
    free(c->retire);
    free(c->runs);
    free(c->owner);
    free(c->howner);
    free(c->tok);
    free(c->am);
    gpu_batch_close(c->b);
    free(c);
}

eng_backend *eng_backend_gpu(const eng_model *m, char *err, size_t errlen)
{
    /* The K/V pool: ZEVAL_GPU_KV_TOKENS tokens, else what the device has free. */
    long long kv = 0;
    const char *env = getenv("ZEVAL_GPU_KV_TOKENS");
    if (env && *env) {
        char *end;
        kv = strtoll(env, &end, 10);
        if (*end || kv < GPU_PAGE) {
            ut_err(err, errlen, "ZEVAL_GPU_KV_TOKENS='%s': a token count of at least %d", env,
                   GPU_PAGE);
            return NULL;
        }
    }
    gpu_batch *b = gpu_batch_open(m, GB_SEQS, GB_CTX, GB_STEP, kv, err, errlen); /* says why no GPU */
    if (!b)
        return NULL;
    gpu_backend *c = calloc(1, sizeof *c);
    if (!c) {
        gpu_batch_close(b);
        ut_err(err, errlen, "out of memory");
        return NULL;
    }
    c->b = b;
    c->total_pages = gpu_batch_free_pages(b);
    c->base.submit = gb_submit;
    c->base.pump = gb_pump;
    c->base.pending = gb_pending;
    c->base.free = gb_free;
    c->base.name = "gpu";
    c->base.tokens_final = 1;
    c->m = m;
    return &c->base;
}

void eng_backend_gpu_stats(const eng_backend *be, uint64_t *steps, uint64_t *prefix_hits,
                           double *pool_gb, double *peak_gb, double *device_gb)
{
    const gpu_backend *c = (const gpu_backend *)be;
    *steps = c->steps;
    *prefix_hits = c->prefix_hits;
    gpu_batch_memory(c->b, pool_gb, peak_gb, device_gb);
}

const char *eng_backend_gpu_kv_dtype(const eng_backend *be)
{
    return gpu_batch_kv_dtype(((const gpu_backend *)be)->b);
}

int eng_backend_pick(const char *spec, char *note, size_t notelen, char *err, size_t errlen)
{
    char why[512];
    note[0] = 0;
    if (spec && strcmp(spec, "cpu") == 0)
        return ENG_BE_CPU;
    if (spec && strcmp(spec, "gpu") != 0 && strcmp(spec, "auto") != 0)
        return ut_err(err, errlen, "backend '%s': use cpu, gpu or auto", spec);
    int want_gpu = spec && strcmp(spec, "gpu") == 0;
    if (!want_gpu && strcmp(gpu_build(), "none") == 0)
        return ENG_BE_CPU; /* a CPU build: nothing to say */
    if (gpu_probe(why, sizeof why)) {
        const char *kvd = gpu_kv_dtype_env();
        if (!kvd)
            return ut_err(err, errlen, "ZEVAL_GPU_KV_DTYPE='%s': f32 or bf16",
                          getenv("ZEVAL_GPU_KV_DTYPE"));
        /* the run rows record this as the device: with what decides the
         * values (a resume must find the same) */
        snprintf(note, notelen, "GPU backend on %s, K/V cache %s, %s", why, kvd,
                 gpu_numerics_env());
        return ENG_BE_GPU;
    }
    if (want_gpu)
        return ut_err(err, errlen, "--backend gpu: %s", why);
    snprintf(note, notelen, "%s; using the CPU backend", why);
    return ENG_BE_CPU;
}
