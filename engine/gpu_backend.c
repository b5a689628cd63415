/*
 * gpu_backend.c — the backend interface over the HIP engine (gpu/gpu.h),
 * and the choice between it and the CPU engine.
 *
 * Requests run one at a time, in submission order, on one device
 * sequence: the prompt is fed token by token, then each pump generates
 * one token.  Sampling is the CPU backend's: greedy requests take the
 * device's argmax (the lowest id among the largest logits below the
 * request's vocabulary limit, as smp_sample does), the others copy the
 * logits back and call smp_sample with the request's seed and the token
 * index as counter, so a request's tokens follow the same rule on both
 * backends.
 */
#include "backend.h"
#include "gpu/gpu.h"
#include "model.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    eng_request r;
    int32_t *prompt, *stops, *out;
    int n_out, started;
    double t_submit, t_first;
} greq;

typedef struct {
    eng_backend base;
    const eng_model *m;
    gpu_ctx *g;
    greq **req;             /* FIFO; req[0] runs */
    int nreq, capreq;
    greq *retired;          /* finished; its ids live until the next pump */
    eng_evq queue;
    float *logits;
    smp_scratch *smp;
} gpu_backend;

static void greq_free(greq *q)
{
    if (!q)
        return;
    free(q->prompt);
    free(q->stops);
    free(q->out);
    free(q);
}

static int gb_submit(eng_backend *b, const eng_request *r, char *err, size_t errlen)
{
    gpu_backend *c = (gpu_backend *)b;
    if (eng_request_check(r, c->m->cfg.vocab, err, errlen))
        return -1;
    if (c->nreq == c->capreq) {
        int nc = c->capreq ? 2 * c->capreq : 16;
        greq **nr = realloc(c->req, (size_t)nc * sizeof *nr);
        if (!nr)
            return ut_err(err, errlen, "out of memory");
        c->req = nr;
        c->capreq = nc;
    }
    greq *q = calloc(1, sizeof *q);
    if (!q || eng_request_copy(r, c->m->cfg.vocab, &q->r, &q->prompt, &q->stops, &q->out)) {
        greq_free(q);
        return ut_err(err, errlen, "out of memory");
    }
    q->t_submit = ut_now();
    c->req[c->nreq++] = q;
    return 0;
}

static int gb_pump(eng_backend *b, eng_event *ev, int maxev, int *nev, char *err, size_t errlen)
{
    gpu_backend *c = (gpu_backend *)b;
    *nev = 0;
    if (c->queue.n > 0) {
        eng_evq_drain(&c->queue, ev, maxev, nev);
        return 0;
    }
    greq_free(c->retired);
    c->retired = NULL;
    if (c->nreq == 0)
        return 0;
    greq *q = c->req[0];
    int32_t last;
    if (!q->started) {
        if (gpu_reset(c->g, q->r.n_prompt + q->r.max_new, err, errlen))
            return -1;
        for (int i = 0; i + 1 < q->r.n_prompt; i++)
            if (gpu_step(c->g, q->prompt[i], NULL, 0, NULL, err, errlen))
                return -1;
        last = q->prompt[q->r.n_prompt - 1];
        q->started = 1;
    } else {
        last = q->out[q->n_out - 1];
    }
    int greedy = q->r.sampling.temperature == 0.0f;
    int32_t t;
    if (gpu_step(c->g, last, greedy ? NULL : c->logits, q->r.vocab_limit, &t, err, errlen))
        return -1;
    if (!greedy)
        t = (int32_t)smp_sample(c->logits, q->r.vocab_limit, &q->r.sampling, q->r.seed,
                                (uint64_t)q->n_out, c->smp);
    double now = ut_now();
    if (q->n_out == 0)
        q->t_first = now - q->t_submit;
    q->out[q->n_out++] = t;
    eng_event e = {ENG_EV_TOKEN, q->r.user, t, ENG_FINISH_STOP, NULL, 0, 0, 0, NULL};
    if (eng_evq_push(&c->queue, &e))
        return ut_err(err, errlen, "out of memory");
    int stop = eng_request_stops_at(&q->r, t);
    if (stop || q->n_out >= q->r.max_new) {
        eng_event f = {ENG_EV_FINISHED, q->r.user, t, stop ? ENG_FINISH_STOP : ENG_FINISH_LENGTH,
                       q->out, q->n_out, q->t_first, now - q->t_submit, NULL};
        if (eng_evq_push(&c->queue, &f))
            return ut_err(err, errlen, "out of memory");
        c->retired = q;
        memmove(c->req, c->req + 1, (size_t)(c->nreq - 1) * sizeof *c->req);
        c->nreq--;
    }
    eng_evq_drain(&c->queue, ev, maxev, nev);
    return 0;
}

static int gb_pending(const eng_backend *b)
{
    const gpu_backend *c = (const gpu_backend *)b;
    return c->nreq + eng_evq_finished(&c->queue);
}

static void gb_free(eng_backend *b)
{
    gpu_backend *c = (gpu_backend *)b;
    if (!c)
        return;
    for (int i = 0; i < c->nreq; i++)
        greq_free(c->req[i]);
    greq_free(c->retired);
    eng_evq_free(&c->queue);
    free(c->req);
    free(c->logits);
    smp_scratch_free(c->smp);
    gpu_close(c->g);
    free(c);
}

eng_backend *eng_backend_gpu(const eng_model *m, char *err, size_t errlen)
{
    gpu_ctx *g = gpu_open(m, 4096, err, errlen); /* first: it says why there is no GPU */
    if (!g)
        return NULL;
    gpu_backend *c = calloc(1, sizeof *c);
    if (!c) {
        gpu_close(g);
        ut_err(err, errlen, "out of memory");
        return NULL;
    }
    c->g = g;
    c->base.submit = gb_submit;
    c->base.pump = gb_pump;
    c->base.pending = gb_pending;
    c->base.free = gb_free;
    c->base.name = "gpu";
    c->m = m;
    c->logits = malloc((size_t)m->cfg.vocab * sizeof(float));
    c->smp = smp_scratch_new(m->cfg.vocab);
    if (!c->logits || !c->smp) {
        ut_err(err, errlen, "out of memory");
        gb_free(&c->base);
        return NULL;
    }
    return &c->base;
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
        snprintf(note, notelen, "GPU backend on %s", why);
        return ENG_BE_GPU;
    }
    if (want_gpu)
        return ut_err(err, errlen, "--backend gpu: %s", why);
    snprintf(note, notelen, "%s; using the CPU backend", why);
    return ENG_BE_CPU;
}
