/*
 * serve.c — the built-in engine behind the backend interface: continuous
 * batching on the CPU.
 *
 * Every pump builds one batch: each request still in its prompt
 * contributes its next prefill chunk, each decoding request one token.
 * Prefill chunks have a fixed size (SERVE_CHUNK) that does not depend on
 * the other requests, and the forward pass computes each row
 * independently, so a request's logits — and, with its own seed and the
 * token index as RNG counter, its tokens — are the same alone or batched.
 */
#include "backend.h"
#include "model.h"
#include "pool.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define SERVE_CHUNK 256
#define SERVE_HIST 1025
#define SERVE_DRAWERS 16  /* threads drawing a step's tokens */

typedef struct {
    eng_request r;
    int32_t *prompt, *stops, *out;
    int fed;            /* prompt tokens already in the cache */
    int n_out;
    int32_t next;       /* sampled, not yet fed */
    eng_seq *seq;
    double t_submit, t_first;
    int done;
    eng_finish finish;
} sreq;

typedef struct {
    eng_backend base;
    const eng_model *m;
    int max_step;
    sreq **req;
    int nreq, capreq;
    eng_evq queue;      /* events not yet handed out */
    sreq **retire;      /* finished requests freed at the next pump */
    int nretire;
    smp_scratch *smp[SERVE_DRAWERS]; /* [0] always; the others on first need */
    float *logits;
    int caplogits;
    eng_chunk *ch;
    int capch;
    uint64_t calls, hist[SERVE_HIST];
} cpu_backend;

/* A step's draws: row i of the logits for inb[i] (NULL: no token this
 * step) into its next, one task per scratch; a row's draw depends on
 * nothing but the row, so not on the thread. */
typedef struct {
    cpu_backend *c;
    sreq **inb;
    int n;
} drawjob;

static void draw_rows(void *arg, int task, int ntasks)
{
    drawjob *j = arg;
    size_t V = (size_t)j->c->m->cfg.vocab;
    for (int i = task; i < j->n; i += ntasks) {
        sreq *q = j->inb[i];
        if (q)
            q->next = (int32_t)smp_sample(j->c->logits + (size_t)i * V, q->r.vocab_limit,
                                          &q->r.sampling, q->r.seed, (uint64_t)q->n_out,
                                          j->c->smp[task]);
    }
}

const char *eng_finish_name(eng_finish f)
{
    return f == ENG_FINISH_STOP ? "stop" : f == ENG_FINISH_LENGTH ? "length" : "error";
}

static void sreq_free(sreq *q)
{
    if (!q)
        return;
    eng_seq_free(q->seq);
    free(q->prompt);
    free(q->stops);
    free(q->out);
    free(q);
}

int eng_request_check(const eng_request *r, int vocab, char *err, size_t errlen)
{
    if (r->n_prompt < 1)
        return ut_err(err, errlen, "request: empty prompt");
    if (r->max_new < 1)
        return ut_err(err, errlen, "request: max new tokens must be >= 1");
    if (r->n_stop < 0 || r->n_stop > 4096)
        return ut_err(err, errlen, "request: %d stop ids", r->n_stop);
    if (smp_validate(&r->sampling, err, errlen))
        return -1;
    if (vocab <= 0)
        return 0;
    if (r->vocab_limit < 0 || r->vocab_limit > vocab)
        return ut_err(err, errlen, "request: vocab limit %d outside [0, %d]", r->vocab_limit,
                      vocab);
    for (int i = 0; i < r->n_prompt; i++)
        if (r->prompt[i] < 0 || r->prompt[i] >= vocab)
            return ut_err(err, errlen, "request: prompt token %d at position %d is outside the "
                          "vocabulary [0, %d)", r->prompt[i], i, vocab);
    return 0;
}

int eng_request_copy(const eng_request *r, int vocab, eng_request *dst, int32_t **prompt,
                     int32_t **stops, int32_t **out)
{
    *dst = *r;
    *prompt = malloc((size_t)r->n_prompt * sizeof(int32_t));
    *stops = malloc((size_t)(r->n_stop > 0 ? r->n_stop : 1) * sizeof(int32_t));
    if (out)
        *out = malloc((size_t)r->max_new * sizeof(int32_t));
    if (!*prompt || !*stops || (out && !*out)) {
        free(*prompt);
        free(*stops);
        if (out)
            free(*out);
        *prompt = *stops = NULL;
        if (out)
            *out = NULL;
        return -1;
    }
    memcpy(*prompt, r->prompt, (size_t)r->n_prompt * sizeof(int32_t));
    if (r->n_stop > 0)
        memcpy(*stops, r->stop_ids, (size_t)r->n_stop * sizeof(int32_t));
    dst->prompt = *prompt;
    dst->stop_ids = *stops;
    if (!dst->vocab_limit && vocab > 0)
        dst->vocab_limit = vocab;
    return 0;
}

int eng_request_stops_at(const eng_request *r, int32_t t)
{
    for (int i = 0; i < r->n_stop; i++)
        if (r->stop_ids[i] == t)
            return 1;
    return 0;
}

int eng_evq_push(eng_evq *q, const eng_event *e)
{
    if (q->n == q->cap) {
        int nc = q->cap ? 2 * q->cap : 64;
        eng_event *ne = realloc(q->ev, (size_t)nc * sizeof *ne);
        if (!ne)
            return -1;
        q->ev = ne;
        q->cap = nc;
    }
    q->ev[q->n++] = *e;
    return 0;
}

void eng_evq_drain(eng_evq *q, eng_event *ev, int maxev, int *nev)
{
    int k = q->n < maxev ? q->n : maxev;
    *nev = k;
    if (k == 0)
        return; /* q->ev may still be NULL */
    memcpy(ev, q->ev, (size_t)k * sizeof *ev);
    memmove(q->ev, q->ev + k, (size_t)(q->n - k) * sizeof *q->ev);
    q->n -= k;
}

int eng_evq_finished(const eng_evq *q)
{
    int n = 0;
    for (int i = 0; i < q->n; i++)
        n += q->ev[i].kind == ENG_EV_FINISHED;
    return n;
}

void eng_evq_free(eng_evq *q)
{
    free(q->ev);
    q->ev = NULL;
    q->n = q->cap = 0;
}

static int cpu_submit(eng_backend *b, const eng_request *r, char *err, size_t errlen)
{
    cpu_backend *c = (cpu_backend *)b;
    if (eng_request_check(r, c->m->cfg.vocab, err, errlen))
        return -1;
    if (c->nreq == c->capreq) {
        int nc = c->capreq ? 2 * c->capreq : 16;
        sreq **nr = realloc(c->req, (size_t)nc * sizeof *nr);
        if (!nr)
            return ut_err(err, errlen, "out of memory");
        c->req = nr;
        sreq **nt = realloc(c->retire, (size_t)nc * sizeof *nt);
        if (!nt)
            return ut_err(err, errlen, "out of memory");
        c->retire = nt;
        c->capreq = nc;
    }
    sreq *q = calloc(1, sizeof *q);
    if (!q || eng_request_copy(r, c->m->cfg.vocab, &q->r, &q->prompt, &q->stops, &q->out) ||
        !(q->seq = eng_seq_new(c->m))) {
        sreq_free(q);
        return ut_err(err, errlen, "out of memory");
    }
    q->t_submit = ut_now();
    c->req[c->nreq++] = q;
    return 0;
}

static int cpu_pump(eng_backend *b, eng_event *ev, int maxev, int *nev, char *err, size_t errlen)
{
    cpu_backend *c = (cpu_backend *)b;
    const eng_model *m = c->m;
    int V = m->cfg.vocab;
    *nev = 0;
    if (c->queue.n > 0) { /* hand out what the last step produced first */
        eng_evq_drain(&c->queue, ev, maxev, nev);
        return 0;
    }
    for (int i = 0; i < c->nretire; i++)
        sreq_free(c->retire[i]);
    c->nretire = 0;

    /* Build the batch: a token budget, at least one token per request. */
    int nch = 0, budget = c->max_step;
    if (c->capch < c->nreq || c->caplogits < c->nreq) {
        int nc = c->nreq;
        eng_chunk *nchk = realloc(c->ch, (size_t)nc * sizeof *nchk);
        if (!nchk)
            return ut_err(err, errlen, "out of memory");
        c->ch = nchk;
        c->capch = nc;
        float *nl = realloc(c->logits, (size_t)nc * (size_t)V * sizeof(float));
        if (!nl)
            return ut_err(err, errlen, "out of memory for %d logits rows", nc);
        c->logits = nl;
        c->caplogits = nc;
    }
    sreq **inb = malloc((size_t)(c->nreq ? c->nreq : 1) * sizeof *inb);
    if (!inb)
        return ut_err(err, errlen, "out of memory");
    for (int i = 0; i < c->nreq; i++) {
        sreq *q = c->req[i];
        if (q->done)
            continue;
        eng_chunk *k = &c->ch[nch];
        k->seq = q->seq;
        k->all_logits = 0;
        k->logits = c->logits + (size_t)nch * V;
        if (q->fed < q->r.n_prompt) {
            int left = q->r.n_prompt - q->fed;
            int n = left < SERVE_CHUNK ? left : SERVE_CHUNK;
            if (n > budget && nch > 0)
                continue; /* next step; chunk size itself never changes */
            k->ids = q->prompt + q->fed;
            k->n = n;
        } else {
            k->ids = &q->next;
            k->n = 1;
        }
        budget -= k->n;
        inb[nch++] = q;
    }
    if (nch == 0) {
        free(inb);
        return 0;
    }
    if (eng_forward(m, c->ch, nch, err, errlen)) {
        free(inb);
        return -1;
    }
    c->calls++;
    c->hist[nch < SERVE_HIST ? nch : SERVE_HIST - 1]++;
    double now = ut_now();
    int rows = 0;
    for (int i = 0; i < nch; i++) {
        sreq *q = inb[i];
        if (q->fed < q->r.n_prompt) {
            q->fed += c->ch[i].n;
            if (q->fed < q->r.n_prompt) {
                inb[i] = NULL; /* more prompt to feed */
                continue;
            }
        } else {
            q->n_out++; /* q->next is now in the cache */
        }
        rows++;
    }
    /* The logits predict the next tokens: drawn over the thread pool. */
    int nt = 1, want = pool_threads() < SERVE_DRAWERS ? pool_threads() : SERVE_DRAWERS;
    want = want < rows ? want : rows;
    while (nt < want && (c->smp[nt] || (c->smp[nt] = smp_scratch_new(m->cfg.vocab))))
        nt++;
    drawjob dj = {c, inb, nch};
    if (nt > 1)
        pool_run(draw_rows, &dj, nt);
    else
        draw_rows(&dj, 0, 1);
    for (int i = 0; i < nch; i++) {
        sreq *q = inb[i];
        if (!q)
            continue;
        int32_t t = q->next;
        q->out[q->n_out] = t;
        if (q->n_out == 0)
            q->t_first = now - q->t_submit;
        eng_event e = {ENG_EV_TOKEN, q->r.user, t, ENG_FINISH_STOP, NULL, 0, 0, 0, NULL};
        int fin = 0;
        if (eng_request_stops_at(&q->r, t)) {
            fin = 1;
            q->finish = ENG_FINISH_STOP;
        } else if (q->n_out + 1 >= q->r.max_new) {
            fin = 1;
            q->finish = ENG_FINISH_LENGTH;
        }
        if (eng_evq_push(&c->queue, &e)) {
            free(inb);
            return ut_err(err, errlen, "out of memory");
        }
        if (fin) {
            q->n_out++;
            q->done = 1;
            eng_event f = {ENG_EV_FINISHED, q->r.user, t, q->finish, q->out, q->n_out,
                           q->t_first, now - q->t_submit, NULL};
            if (eng_evq_push(&c->queue, &f)) {
                free(inb);
                return ut_err(err, errlen, "out of memory");
            }
        }
    }
    free(inb);
    /* Move finished requests to the retire list (freed next pump). */
    int w = 0;
    for (int i = 0; i < c->nreq; i++) {
        if (c->req[i]->done) {
            eng_seq_free(c->req[i]->seq);
            c->req[i]->seq = NULL;
            c->retire[c->nretire++] = c->req[i];
        } else {
            c->req[w++] = c->req[i];
        }
    }
    c->nreq = w;
    eng_evq_drain(&c->queue, ev, maxev, nev);
    return 0;
}

static int cpu_pending(const eng_backend *b)
{
    const cpu_backend *c = (const cpu_backend *)b;
    int n = 0;
    for (int i = 0; i < c->nreq; i++)
        n += !c->req[i]->done;
    return n + eng_evq_finished(&c->queue);
}

static void cpu_free(eng_backend *b)
{
    cpu_backend *c = (cpu_backend *)b;
    if (!c)
        return;
    for (int i = 0; i < c->nreq; i++)
        sreq_free(c->req[i]);
    for (int i = 0; i < c->nretire; i++)
        sreq_free(c->retire[i]);
    free(c->req);
    free(c->retire);
    eng_evq_free(&c->queue);
    free(c->logits);
    free(c->ch);
    for (int i = 0; i < SERVE_DRAWERS; i++)
        smp_scratch_free(c->smp[i]);
    free(c);
}

eng_backend *eng_backend_cpu(const eng_model *m, int max_step_tokens)
{
    cpu_backend *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->base.submit = cpu_submit;
    c->base.pump = cpu_pump;
    c->base.pending = cpu_pending;
    c->base.free = cpu_free;
    c->base.name = "cpu";
    c->base.tokens_final = 1;
    c->m = m;
    c->max_step = max_step_tokens > 0 ? max_step_tokens : 2048;
    c->smp[0] = smp_scratch_new(m->cfg.vocab);
    if (!c->smp[0]) {
        free(c);
        return NULL;
    }
    return &c->base;
}

void eng_backend_cpu_stats(const eng_backend *b, uint64_t *calls, uint64_t *hist, int nhist)
{
    const cpu_backend *c = (const cpu_backend *)b;
    *calls = c->calls;
    for (int i = 0; i < nhist; i++)
        hist[i] = i < SERVE_HIST ? c->hist[i] : 0;
}
