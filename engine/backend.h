/*
 * backend.h — the one interface the harness drives generation through
 * (DESIGN.md, "The backend contract").  The built-in CPU engine implements
 * it here; the remote OpenAI-compatible client implements the same calls.
 *
 * Use: submit any number of requests, then call pump until pending() is 0.
 * Each pump advances every request in flight by one engine step and
 * returns the events of that step.  A request's tokens depend only on
 * (weights, prompt, sampling, seed), never on what else is in flight.
 */
#ifndef ZEVAL_BACKEND_H
#define ZEVAL_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "sampler.h"

typedef struct {
    const int32_t *prompt;  /* copied at submit */
    int n_prompt;
    int max_new;            /* generation budget in tokens (>= 1) */
    smp_params sampling;
    uint64_t seed;
    const int32_t *stop_ids;/* copied at submit; a stop id ends the request (it is kept) */
    int n_stop;
    int vocab_limit;        /* ids >= this are never sampled; 0 = model vocabulary */
    void *user;             /* opaque, returned in events */
} eng_request;

typedef enum { ENG_FINISH_STOP, ENG_FINISH_LENGTH, ENG_FINISH_ERROR } eng_finish;

const char *eng_finish_name(eng_finish f);

/* The checks every backend's submit makes: a non-empty prompt, a budget of
 * at least one token, 0..4096 stop ids, valid sampling parameters and, when
 * vocab > 0, prompt ids and vocab_limit inside the vocabulary.  0, or -1
 * with a message naming the field. */
int eng_request_check(const eng_request *r, int vocab, char *err, size_t errlen);

/* What a backend's submit keeps of a request: dst = *r with its prompt and
 * stop ids moved into fresh copies (*prompt, *stops; freed by the caller),
 * vocab_limit 0 replaced by vocab when vocab > 0, and, when out is
 * non-NULL, room for max_new generated ids.  0, or -1 when out of memory
 * (nothing left allocated). */
int eng_request_copy(const eng_request *r, int vocab, eng_request *dst, int32_t **prompt,
                     int32_t **stops, int32_t **out);

/* Whether t is one of r's stop ids. */
int eng_request_stops_at(const eng_request *r, int32_t t);

typedef enum { ENG_EV_TOKEN, ENG_EV_FINISHED } eng_event_kind;

typedef struct {
    eng_event_kind kind;
    void *user;
    int32_t token;          /* ENG_EV_TOKEN: the new token */
    /* ENG_EV_FINISHED: */
    eng_finish finish;
    const int32_t *ids;     /* all generated ids; valid until the next pump */
    int n_ids;
    double t_first;         /* seconds from submit to the first token */
    double t_total;         /* seconds from submit to finish */
    const char *error;      /* ENG_FINISH_ERROR: the message */
} eng_event;

/* Events a backend produced and has not handed out yet (a growing FIFO). */
typedef struct {
    eng_event *ev;
    int n, cap;
} eng_evq;

/* 0, or -1 when out of memory. */
int eng_evq_push(eng_evq *q, const eng_event *e);
/* Moves up to maxev events, oldest first, to ev; *nev gets the count. */
void eng_evq_drain(eng_evq *q, eng_event *ev, int maxev, int *nev);
/* FINISHED events waiting in q. */
int eng_evq_finished(const eng_evq *q);
void eng_evq_free(eng_evq *q);

typedef struct eng_backend eng_backend;
struct eng_backend {
    int (*submit)(eng_backend *b, const eng_request *r, char *err, size_t errlen);
    /* Runs one step; writes up to maxev events (*nev).  Events that do not
     * fit stay queued for the next call. */
    int (*pump)(eng_backend *b, eng_event *ev, int maxev, int *nev, char *err, size_t errlen);
    /* Requests submitted and not yet reported finished. */
    int (*pending)(const eng_backend *b);
    void (*free)(eng_backend *b);
    const char *name;
    /* 1: each ENG_EV_TOKEN is a token of the request's final result, handed
     * out as it is generated (the built-in engines); 0: tokens may come from
     * an attempt that later fails, so only ENG_EV_FINISHED is final. */
    int tokens_final;
};

struct eng_model;
/* The built-in engine over a loaded model (borrowed; must outlive the
 * backend).  max_step_tokens bounds the tokens of one forward call
 * (prefill chunks are cut to fit; at least one token per request). */
eng_backend *eng_backend_cpu(const struct eng_model *m, int max_step_tokens);

/* Statistics of the CPU backend: forward calls and the histogram of
 * sequences per call (hist[k] = calls with k sequences, k < nhist). */
void eng_backend_cpu_stats(const eng_backend *b, uint64_t *calls, uint64_t *hist, int nhist);

/* The batched HIP engine (engine/gpu/) behind the same interface:
 * continuous batching, prompt prefixes cached once and forked, the same
 * tokens whatever else runs (gpu_backend.c).  The K/V pool takes what the
 * device has free, or ZEVAL_GPU_KV_TOKENS tokens; bf16 values, or f32
 * with ZEVAL_GPU_KV_DTYPE=f32 (twice the bytes).  NULL with a message
 * when no device is usable or the binary was built without GPU support. */
eng_backend *eng_backend_gpu(const struct eng_model *m, char *err, size_t errlen);
/* Device steps run, requests that found their prompt prefix already
 * cached by another, the K/V pool and the most of it ever in use, and the
 * device memory in use (GB; gpu_batch_memory). */
void eng_backend_gpu_stats(const eng_backend *b, uint64_t *steps, uint64_t *prefix_hits,
                           double *pool_gb, double *peak_gb, double *device_gb);
/* What its K/V cache stores: "bf16", or "f32" under ZEVAL_GPU_KV_DTYPE=f32. */
const char *eng_backend_gpu_kv_dtype(const eng_backend *b);

/* Which built-in engine to use.  spec "cpu", "gpu" or "auto" (NULL is
 * auto): auto takes the GPU when this binary has GPU support and a device
 * answers, else the CPU.  Returns ENG_BE_CPU or ENG_BE_GPU, with note set
 * to a line worth printing (empty when there is nothing to say: a CPU
 * build choosing the CPU), or -1 with a message (a bad spec, or gpu
 * asked for and unavailable). */
enum { ENG_BE_CPU = 0, ENG_BE_GPU = 1 };
int eng_backend_pick(const char *spec, char *note, size_t notelen, char *err, size_t errlen);

#endif
