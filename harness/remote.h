/*
 * remote.h — the backend interface (engine/backend.h) over OpenAI-compatible
 * completion servers (vLLM, SGLang): `zeval run --endpoint URL[,URL...]`.
 *
 * Each request is one `POST {url}/v1/completions` with the prompt as token
 * ids (or as text, see rmt_opts.prompt), the sampling parameters, the
 * request's own seed and the stop ids, and asks for the generated token ids
 * back (`"return_token_ids": true`, vLLM).  The ids are read from
 * `choices[0].token_ids` where the server returns them; otherwise
 * `choices[0].text` is tokenized locally with the run's tokenizer, so tails
 * are cut in tokens either way.  Transfers run on one libcurl multi handle
 * in the caller's thread, inside pump().
 *
 * Failures: 5xx, 429, dropped connections, stalls (no byte for stall_s) and
 * a stream that ends before its finish_reason are retried with exponential
 * backoff and jitter, up to `retries` more attempts, preferring another
 * endpoint; other 4xx, malformed bodies and bad token ids are not.  A
 * request that still fails, or whose overall deadline passes, finishes with
 * ENG_FINISH_ERROR and a message: a dead server never hangs a run.
 */
#ifndef ZEVAL_REMOTE_H
#define ZEVAL_REMOTE_H

#include "../engine/backend.h"
#include "../engine/tokenizer.h"

#include <stddef.h>
#include <stdint.h>

typedef enum { RMT_PROMPT_IDS, RMT_PROMPT_TEXT } rmt_prompt_mode;

typedef struct {
    int concurrency;       /* requests in flight per endpoint (default 64) */
    double connect_s;      /* TCP/TLS connect timeout per attempt (10) */
    double stall_s;        /* an attempt with no byte received for this long is retried (300) */
    double deadline_s;     /* per request, over all attempts, from submit (3600) */
    int retries;           /* attempts after the first (4) */
    double backoff_s;      /* first retry delay; doubles per attempt, capped at 30 s (0.5) */
    rmt_prompt_mode prompt;/* ids (default) or text (decoded, add_special_tokens false) */
    int stream;            /* 1: server-sent events (default), 0: one JSON body */
} rmt_opts;

void rmt_opts_default(rmt_opts *o);
/* Applies "key=value,..." (keys concurrency, connect, stall, timeout,
 * retries, backoff, prompt=ids|text, stream=on|off) over *o.  0 or -1
 * naming the key. */
int rmt_opts_parse(const char *spec, rmt_opts *o, char *err, size_t errlen);
/* The canonical spec of o (every key). */
void rmt_opts_format(const rmt_opts *o, char *buf, size_t n);

/* A backend over endpoints ("URL[,URL...]", each http:// or https://, the
 * base without /v1) serving model.  tk is borrowed (must outlive the
 * backend); it decodes text prompts and tokenizes text-only responses.
 * The API key comes from $ZEVAL_API_KEY, else $OPENAI_API_KEY (Bearer).
 * NULL with a message on bad arguments or OOM. */
eng_backend *rmt_backend_new(const char *endpoints, const char *model, const tok_tokenizer *tk,
                             const rmt_opts *o, char *err, size_t errlen);

typedef struct {
    long long requests;    /* finished (any reason) */
    long long attempts;    /* HTTP attempts started */
    long long retries;     /* attempts after a retryable failure */
    long long errors;      /* requests finished with ENG_FINISH_ERROR */
    long long timed;       /* successful requests with a server-time header */
    double latency_s;      /* sum over successful requests: last attempt's time */
    double server_s;       /* sum of X-Server-Time over the timed ones */
    double added_s;        /* sum of (attempt time - X-Server-Time) over the timed ones */
} rmt_stats;

void rmt_backend_stats(const eng_backend *b, rmt_stats *st);

/* The id of tokenizer_config.json's eos_token in dir (a string or
 * {"content": ...}), or -1 when absent or not one token of tk. */
int32_t rmt_eos_id(const char *dir, const tok_tokenizer *tk);

/* `zeval bench remote --endpoint URL --requests N --concurrency C
 * [--tokens K]`: requests/s and added latency (client time minus the
 * server's X-Server-Time) against a loopback server.  Exit status. */
int rmt_bench_cli(int argc, char **argv);

#endif
