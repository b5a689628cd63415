/*
 * remote.c — the OpenAI-compatible remote backend (remote.h).
 *
 * Life of a request: submit() copies it and builds its JSON body once; it
 * waits in the queue until an endpoint has a free slot (least loaded,
 * round robin among equals; a retry prefers another endpoint than the one
 * that failed), runs as one libcurl easy handle on the shared multi
 * handle, and on completion is parsed (SSE lines as they arrive, or one
 * JSON body).  A retryable failure puts it back in the queue with a
 * not-before time (exponential backoff with jitter); success or a final
 * failure moves it to the ready list, from which pump() hands out one
 * ENG_EV_TOKEN per generated id and then ENG_EV_FINISHED.  A request
 * whose FINISHED event was handed out is freed at the next pump, so the
 * event's ids stay valid until then, as the contract requires.
 *
 * Everything runs in the caller's thread; pump() waits on the sockets for
 * at most ~100 ms so the scheduler's loop neither spins nor stalls.
 * Untrusted input is bounded: the SSE line buffer, the text and the id
 * list each have a cap derived from max_tokens, and error bodies keep
 * their first 2 KB only.
 */
#define _POSIX_C_SOURCE 200809L
#include "remote.h"
#include "args.h"
#include "version.h"
#include "../engine/util.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RMT_LINE_CAP (4u << 20)     /* one SSE line / JSON body overhead */
#define RMT_ERRBODY_CAP 2048
#define RMT_BACKOFF_CAP 30.0
#define RMT_POLL_MS 100

typedef enum { RQ_QUEUED, RQ_ACTIVE, RQ_READY } rq_state;

typedef struct rq {
    eng_request r;
    int32_t *prompt, *stops;
    char *body;               /* the JSON request body */
    rq_state state;
    double t_submit, t_first, t_done, deadline, not_before;
    int attempt;              /* attempts started */
    int ep;                   /* endpoint of the current or last attempt (-1 none) */
    CURL *h;
    /* the response of the current attempt */
    long status;
    char *line;               /* SSE line / whole JSON body */
    size_t nline, capline;
    char errbody[RMT_ERRBODY_CAP];
    size_t nerrbody;
    char *text;
    size_t ntext, captext;
    int32_t *ids;
    int nids, capids;
    int got_ids;              /* token_ids seen in the response */
    int got_done;             /* SSE [DONE] seen */
    char finish[24];          /* the server's finish_reason ("" = none yet) */
    long stop_reason;         /* vLLM stop_reason when an integer, else -1 */
    double last_rx;
    double server_time;       /* X-Server-Time (s), < 0 when absent */
    char fail[512];           /* set by a callback that aborted the transfer */
    int fail_retry;
    /* the outcome */
    eng_finish finish_kind;
    char error[768];
    int emitted;              /* TOKEN events handed out */
    const void *owner;        /* the remote backend (for the curl callbacks) */
    struct rq *next;          /* queue / ready / retire list */
} rq;

typedef struct {
    char *url;                /* {base}/v1/completions */
    int inflight;
} endpoint;

typedef struct {
    eng_backend base;
    rmt_opts o;
    char *model;
    const tok_tokenizer *tk;
    endpoint *ep;
    int nep, rr;
    CURLM *multi;
    struct curl_slist *hdrs;
    rq **all;                 /* every live request (any state), submit order */
    int nall, capall;
    rq *ready_head, *ready_tail;
    rq *retire;
    int live;                 /* submitted and FINISHED not yet handed out */
    uint64_t jitter_ctr;
    rmt_stats st;
} remote;

/* ------------------------------------------------------------ options */

void rmt_opts_default(rmt_opts *o)
{
    o->concurrency = 64;
    o->connect_s = 10;
    o->stall_s = 300;
    o->deadline_s = 3600;
    o->retries = 4;
    o->backoff_s = 0.5;
    o->prompt = RMT_PROMPT_IDS;
    o->stream = 1;
}

static int parse_secs(const char *key, const char *v, double lo, double hi, double *out,
                      char *err, size_t errlen)
{
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || !(x >= lo && x <= hi))
        return ut_err(err, errlen, "--remote %s: expected seconds in [%g, %g], found '%s'", key, lo,
                      hi, v);
    *out = x;
    return 0;
}

int rmt_opts_parse(const char *spec, rmt_opts *o, char *err, size_t errlen)
{
    if (!spec || !*spec)
        return 0;
    char *s = ut_strdup(spec);
    if (!s)
        return ut_err(err, errlen, "out of memory");
    int rc = 0;
    char *save = NULL;
    for (char *kv = strtok_r(s, ",", &save); kv && !rc; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) {
            rc = ut_err(err, errlen, "--remote: expected key=value, found '%s'", kv);
            break;
        }
        *eq = 0;
        const char *k = kv, *v = eq + 1;
        char *end;
        if (!strcmp(k, "concurrency") || !strcmp(k, "retries")) {
            long x = strtol(v, &end, 10);
            long lo = !strcmp(k, "retries") ? 0 : 1, hi = !strcmp(k, "retries") ? 100 : 65536;
            if (end == v || *end || x < lo || x > hi)
                rc = ut_err(err, errlen, "--remote %s: expected an integer in [%ld, %ld], found "
                            "'%s'", k, lo, hi, v);
            else if (!strcmp(k, "retries"))
                o->retries = (int)x;
            else
                o->concurrency = (int)x;
        } else if (!strcmp(k, "connect")) {
            rc = parse_secs(k, v, 0.01, 86400, &o->connect_s, err, errlen);
        } else if (!strcmp(k, "stall")) {
            rc = parse_secs(k, v, 0.01, 864000, &o->stall_s, err, errlen);
        } else if (!strcmp(k, "timeout")) {
            rc = parse_secs(k, v, 0.01, 8640000, &o->deadline_s, err, errlen);
        } else if (!strcmp(k, "backoff")) {
            rc = parse_secs(k, v, 0, 3600, &o->backoff_s, err, errlen);
        } else if (!strcmp(k, "prompt")) {
            if (!strcmp(v, "ids"))
                o->prompt = RMT_PROMPT_IDS;
            else if (!strcmp(v, "text"))
                o->prompt = RMT_PROMPT_TEXT;
            else
                rc = ut_err(err, errlen, "--remote prompt: expected ids or text, found '%s'", v);
        } else if (!strcmp(k, "stream")) {
            if (!strcmp(v, "on"))
                o->stream = 1;
            else if (!strcmp(v, "off"))
                o->stream = 0;
            else
                rc = ut_err(err, errlen, "--remote stream: expected on or off, found '%s'", v);
        } else {
            rc = ut_err(err, errlen, "--remote: unknown key '%s' (concurrency, connect, stall, "
                        "timeout, retries, backoff, prompt, stream)", k);
        }
    }
    free(s);
    return rc;
}

void rmt_opts_format(const rmt_opts *o, char *buf, size_t n)
{
    snprintf(buf, n, "concurrency=%d,connect=%g,stall=%g,timeout=%g,retries=%d,backoff=%g,"
             "prompt=%s,stream=%s", o->concurrency, o->connect_s, o->stall_s, o->deadline_s,
             o->retries, o->backoff_s, o->prompt == RMT_PROMPT_IDS ? "ids" : "text",
             o->stream ? "on" : "off");
}

/* ------------------------------------------------------------ requests */

static void rq_free(rq *q)
{
    if (!q)
        return;
    free(q->prompt);
    free(q->stops);
    free(q->body);
    free(q->line);
    free(q->text);
    free(q->ids);
    free(q);
}

/* Caps on what one response may hold. */
static size_t text_cap(const rq *q)
{
    return (size_t)q->r.max_new * 64 + 65536;
}

static int ids_cap(const rq *q)
{
    return q->r.max_new;
}

static void reset_response(rq *q)
{
    q->status = 0;
    q->nline = 0;
    q->nerrbody = 0;
    q->ntext = 0;
    q->nids = 0;
    q->got_ids = 0;
    q->got_done = 0;
    q->finish[0] = 0;
    q->stop_reason = -1;
    q->server_time = -1;
    q->fail[0] = 0;
    q->fail_retry = 0;
}

static cJSON *ids_array(const int32_t *ids, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) {
        cJSON *x = cJSON_CreateNumber(ids[i]);
        if (!x || !cJSON_AddItemToArray(a, x)) {
            cJSON_Delete(x);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

/* The request body (malloc'd) or NULL with a message. */
static char *build_body(const remote *R, const rq *q, char *err, size_t errlen)
{
    cJSON *j = cJSON_CreateObject();
    char *txt = NULL, *out = NULL;
    if (!j)
        goto oom;
    cJSON_AddStringToObject(j, "model", R->model);
    if (R->o.prompt == RMT_PROMPT_IDS) {
        cJSON *a = ids_array(q->prompt, q->r.n_prompt);
        if (!a)
            goto oom;
        cJSON_AddItemToObject(j, "prompt", a);
    } else {
        size_t tl;
        if (!R->tk) {
            ut_err(err, errlen, "prompt=text needs a tokenizer");
            goto fail;
        }
        if (tok_decode(R->tk, q->prompt, (size_t)q->r.n_prompt, 0, &txt, &tl, err, errlen))
            goto fail;
        cJSON_AddStringToObject(j, "prompt", txt);
        /* the text already holds bos and the template's markers */
        cJSON_AddBoolToObject(j, "add_special_tokens", 0);
    }
    cJSON_AddNumberToObject(j, "max_tokens", q->r.max_new);
    cJSON_AddNumberToObject(j, "temperature", q->r.sampling.temperature);
    cJSON_AddNumberToObject(j, "top_p", q->r.sampling.top_p);
    if (q->r.sampling.top_k > 0)
        cJSON_AddNumberToObject(j, "top_k", q->r.sampling.top_k);
    if (q->r.sampling.min_p > 0)
        cJSON_AddNumberToObject(j, "min_p", q->r.sampling.min_p);
    /* vLLM takes a signed 64-bit seed: the two's-complement of ours, exact
     * (a raw item, not a double) */
    char sb[32];
    snprintf(sb, sizeof sb, "%" PRId64, (int64_t)q->r.seed);
    cJSON_AddRawToObject(j, "seed", sb);
    if (q->r.n_stop > 0) {
        cJSON *a = ids_array(q->stops, q->r.n_stop);
        if (!a)
            goto oom;
        cJSON_AddItemToObject(j, "stop_token_ids", a);
    }
    cJSON_AddBoolToObject(j, "return_token_ids", 1);
    /* keep </think> and other special tokens in the text (used only when
     * the server returns no ids) */
    cJSON_AddBoolToObject(j, "skip_special_tokens", 0);
    cJSON_AddBoolToObject(j, "stream", R->o.stream);
    out = cJSON_PrintUnformatted(j);
    if (!out)
        goto oom;
    cJSON_Delete(j);
    free(txt);
    return out;
oom:
    ut_err(err, errlen, "out of memory");
fail:
    cJSON_Delete(j);
    free(txt);
    return NULL;
}

/* ------------------------------------------------------------ parsing */

static void set_fail(rq *q, int retry, const char *fmt, const char *a, long b)
{
    if (q->fail[0])
        return;
    snprintf(q->fail, sizeof q->fail, fmt, a, b);
    q->fail_retry = retry;
}

/* Applies one completion object (a stream chunk or the whole body).
 * 0, or -1 with q->fail set. */
static int apply_object(const remote *R, rq *q, const char *s, size_t n)
{
    cJSON *j = cJSON_ParseWithLength(s, n);
    if (!j) {
        char head[80];
        snprintf(head, sizeof head, "%.*s", (int)(n < 60 ? n : 60), s);
        set_fail(q, 0, "malformed response: not JSON: '%s'%.0ld", head, 0);
        return -1;
    }
    int rc = -1;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (e && !cJSON_IsNull(e)) {
        const cJSON *m = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : e;
        set_fail(q, 0, "server error: %s%.0ld", cJSON_IsString(m) ? m->valuestring : "(no message)",
                 0);
        goto done;
    }
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(j, "choices");
    const cJSON *c0 = cJSON_IsArray(ch) ? cJSON_GetArrayItem(ch, 0) : NULL;
    if (!cJSON_IsObject(c0)) {
        if (cJSON_IsArray(ch) && cJSON_GetArraySize(ch) == 0 && R->o.stream) {
            rc = 0; /* a usage-only chunk */
            goto done;
        }
        set_fail(q, 0, "malformed response: no choices[0] object%s%.0ld", "", 0);
        goto done;
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(c0, "text");
    if (t && !cJSON_IsNull(t)) {
        if (!cJSON_IsString(t)) {
            set_fail(q, 0, "malformed response: choices[0].text is not a string%s%.0ld", "", 0);
            goto done;
        }
        size_t l = strlen(t->valuestring);
        if (q->ntext + l + 1 > text_cap(q)) {
            set_fail(q, 0, "response text over %s%ld bytes", "", (long)text_cap(q));
            goto done;
        }
        if (q->ntext + l + 1 > q->captext) {
            size_t nc = q->captext ? q->captext : 256;
            while (nc < q->ntext + l + 1)
                nc *= 2;
            char *nt = realloc(q->text, nc);
            if (!nt) {
                set_fail(q, 0, "out of memory%s%.0ld", "", 0);
                goto done;
            }
            q->text = nt;
            q->captext = nc;
        }
        memcpy(q->text + q->ntext, t->valuestring, l + 1);
        q->ntext += l;
    }
    const cJSON *ti = cJSON_GetObjectItemCaseSensitive(c0, "token_ids");
    if (ti && !cJSON_IsNull(ti)) {
        if (!cJSON_IsArray(ti)) {
            set_fail(q, 0, "malformed response: choices[0].token_ids is not an array%s%.0ld", "", 0);
            goto done;
        }
        q->got_ids = 1;
        int vocab = q->r.vocab_limit > 0 ? q->r.vocab_limit
                    : R->tk                ? tok_vocab_size(R->tk)
                                           : INT32_MAX;
        const cJSON *x;
        cJSON_ArrayForEach(x, ti) {
            if (!cJSON_IsNumber(x) || x->valuedouble < 0 || x->valuedouble >= vocab ||
                x->valuedouble != floor(x->valuedouble)) {
                set_fail(q, 0, "malformed response: token id %s outside the vocabulary [0, %ld)",
                         cJSON_IsNumber(x) ? "(number)" : "(not a number)", (long)vocab);
                goto done;
            }
            if (q->nids >= ids_cap(q)) {
                set_fail(q, 0, "server returned more token ids than max_tokens%s (%ld)", "",
                         (long)q->r.max_new);
                goto done;
            }
            if (q->nids == q->capids) {
                int nc = q->capids ? 2 * q->capids : 64;
                if (nc > ids_cap(q))
                    nc = ids_cap(q);
                int32_t *ni = realloc(q->ids, (size_t)nc * sizeof *ni);
                if (!ni) {
                    set_fail(q, 0, "out of memory%s%.0ld", "", 0);
                    goto done;
                }
                q->ids = ni;
                q->capids = nc;
            }
            q->ids[q->nids++] = (int32_t)x->valuedouble;
        }
    }
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(c0, "finish_reason");
    if (cJSON_IsString(f))
        snprintf(q->finish, sizeof q->finish, "%s", f->valuestring[0] ? f->valuestring : "?");
    const cJSON *sr = cJSON_GetObjectItemCaseSensitive(c0, "stop_reason");
    if (cJSON_IsNumber(sr) && sr->valuedouble >= 0 && sr->valuedouble < INT32_MAX)
        q->stop_reason = (long)sr->valuedouble;
    rc = 0;
done:
    cJSON_Delete(j);
    return rc;
}

/* One SSE line (without its newline). */
static int sse_line(const remote *R, rq *q, char *s, size_t n)
{
    if (n && s[n - 1] == '\r')
        n--;
    if (n < 5 || memcmp(s, "data:", 5) != 0)
        return 0; /* blank separator, comment, event:, id: */
    s += 5;
    n -= 5;
    if (n && *s == ' ') {
        s++;
        n--;
    }
    if (n == 6 && !memcmp(s, "[DONE]", 6)) {
        q->got_done = 1;
        return 0;
    }
    return apply_object(R, q, s, n);
}

static int buf_add(rq *q, const char *p, size_t n, size_t cap)
{
    if (q->nline + n + 1 > cap)
        return -1;
    if (q->nline + n + 1 > q->capline) {
        size_t nc = q->capline ? q->capline : 4096;
        while (nc < q->nline + n + 1)
            nc *= 2;
        char *nb = realloc(q->line, nc);
        if (!nb)
            return -1;
        q->line = nb;
        q->capline = nc;
    }
    memcpy(q->line + q->nline, p, n);
    q->nline += n;
    q->line[q->nline] = 0;
    return 0;
}

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    rq *q = ud;
    const remote *R = q->owner;
    size_t n = sz * nm;
    q->last_rx = ut_now();
    if (q->status != 200) { /* keep the head of an error body for the message */
        size_t k = sizeof q->errbody - 1 - q->nerrbody;
        k = n < k ? n : k;
        memcpy(q->errbody + q->nerrbody, p, k);
        q->nerrbody += k;
        q->errbody[q->nerrbody] = 0;
        return n;
    }
    if (!R->o.stream) {
        if (buf_add(q, p, n, RMT_LINE_CAP + text_cap(q) * 2 + (size_t)ids_cap(q) * 12)) {
            set_fail(q, 0, "response body over its size cap%s%.0ld", "", 0);
            return 0;
        }
        return n;
    }
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr(p + i, '\n', n - i);
        size_t k = nl ? (size_t)(nl - (p + i)) : n - i;
        if (buf_add(q, p + i, k, RMT_LINE_CAP + (size_t)ids_cap(q) * 12)) {
            set_fail(q, 0, "a server-sent event line over its size cap%s%.0ld", "", 0);
            return 0;
        }
        i += k;
        if (nl) {
            i++;
            int rc = sse_line(R, q, q->line, q->nline);
            q->nline = 0;
            if (rc)
                return 0;
        }
    }
    if (q->nids > 0 && q->t_first <= 0)
        q->t_first = ut_now() - q->t_submit;
    return n;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
    rq *q = ud;
    size_t n = sz * nm;
    q->last_rx = ut_now();
    char h[256];
    size_t k = n < sizeof h - 1 ? n : sizeof h - 1;
    memcpy(h, p, k);
    h[k] = 0;
    if (!strncmp(h, "HTTP/", 5)) {
        const char *sp = strchr(h, ' ');
        q->status = sp ? strtol(sp + 1, NULL, 10) : 0;
    } else if (!strncasecmp(h, "x-server-time:", 14)) {
        double v = strtod(h + 14, NULL);
        if (v >= 0 && v < 1e9)
            q->server_time = v;
    }
    return n;
}

/* ------------------------------------------------------------ scheduling */

static double backoff_delay(remote *R, const rq *q)
{
    double d = R->o.backoff_s * pow(2.0, q->attempt - 1);
    if (d > RMT_BACKOFF_CAP)
        d = RMT_BACKOFF_CAP;
    /* jitter: uniform in [d/2, d), keyed by the request's seed */
    return d * (0.5 + 0.5 * smp_uniform(q->r.seed ^ 0x9e3779b97f4a7c15ull, R->jitter_ctr++));
}

static void make_ready(remote *R, rq *q, eng_finish f, const char *msg)
{
    q->state = RQ_READY;
    q->finish_kind = f;
    q->t_done = ut_now() - q->t_submit;
    if (f == ENG_FINISH_ERROR) {
        snprintf(q->error, sizeof q->error, "%s", msg ? msg : "unknown error");
        q->nids = 0; /* partial output of a failed request is not kept */
        R->st.errors++;
    }
    R->st.requests++;
    q->next = NULL;
    if (R->ready_tail)
        R->ready_tail->next = q;
    else
        R->ready_head = q;
    R->ready_tail = q;
}

static void detach(remote *R, rq *q)
{
    if (q->h) {
        curl_multi_remove_handle(R->multi, q->h);
        curl_easy_cleanup(q->h);
        q->h = NULL;
        if (q->ep >= 0)
            R->ep[q->ep].inflight--;
    }
}

/* A failed attempt: retried when retryable, attempts and deadline allow. */
static void attempt_failed(remote *R, rq *q, int retry, const char *msg)
{
    detach(R, q);
    double now = ut_now();
    char m[768];
    if (retry && q->attempt <= R->o.retries) {
        double d = backoff_delay(R, q);
        if (now + d < q->deadline) {
            q->state = RQ_QUEUED;
            q->not_before = now + d;
            R->st.retries++;
            snprintf(q->error, sizeof q->error, "%s", msg);
            return;
        }
        snprintf(m, sizeof m, "%.600s (attempt %d; no retry: the %.0f s deadline would pass)", msg,
                 q->attempt, R->o.deadline_s);
    } else if (retry) {
        snprintf(m, sizeof m, "%.600s (after %d attempts)", msg, q->attempt);
    } else {
        snprintf(m, sizeof m, "%.700s", msg);
    }
    make_ready(R, q, ENG_FINISH_ERROR, m);
}

static int pick_endpoint(remote *R, int avoid)
{
    int best = -1;
    for (int k = 0; k < R->nep; k++) {
        int i = (R->rr + k) % R->nep;
        if (R->ep[i].inflight >= R->o.concurrency)
            continue;
        if (best < 0 || R->ep[i].inflight < R->ep[best].inflight ||
            (best == avoid && i != avoid && R->ep[i].inflight <= R->ep[best].inflight))
            best = i;
    }
    if (best >= 0)
        R->rr = (best + 1) % R->nep;
    return best;
}

static int start_attempt(remote *R, rq *q, int ep, char *err, size_t errlen)
{
    reset_response(q);
    CURL *h = curl_easy_init();
    if (!h)
        return ut_err(err, errlen, "out of memory (curl handle)");
    q->h = h;
    q->ep = ep;
    q->attempt++;
    R->st.attempts++;
    R->ep[ep].inflight++;
    q->state = RQ_ACTIVE;
    q->last_rx = ut_now();
    double left = q->deadline - q->last_rx;
    long left_ms = left > 1 ? (long)(left * 1000) : 1;
    curl_easy_setopt(h, CURLOPT_URL, R->ep[ep].url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "zeval/" ZEVAL_VERSION);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, R->hdrs);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(q->body));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(R->o.connect_s * 1000));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, left_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, q);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, q);
    curl_easy_setopt(h, CURLOPT_PRIVATE, q);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    if (curl_multi_add_handle(R->multi, h) != CURLM_OK) {
        detach(R, q);
        q->state = RQ_QUEUED;
        return ut_err(err, errlen, "curl: cannot add a transfer");
    }
    return 0;
}

/* Finishes a completed transfer. */
static void completed(remote *R, rq *q, CURLcode cc)
{
    char m[768];
    if (q->fail[0]) { /* a callback aborted it */
        attempt_failed(R, q, q->fail_retry, q->fail);
        return;
    }
    if (cc != CURLE_OK) {
        int retry = cc == CURLE_COULDNT_CONNECT || cc == CURLE_GOT_NOTHING ||
                    cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR || cc == CURLE_PARTIAL_FILE ||
                    cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_COULDNT_RESOLVE_HOST;
        if (cc == CURLE_OPERATION_TIMEDOUT && ut_now() >= q->deadline - 0.001) {
            snprintf(m, sizeof m, "%s: no complete response within the %.0f s deadline "
                     "(%d attempts)", R->ep[q->ep].url, R->o.deadline_s, q->attempt);
            detach(R, q);
            make_ready(R, q, ENG_FINISH_ERROR, m);
            return;
        }
        snprintf(m, sizeof m, "%s: %s", R->ep[q->ep].url, curl_easy_strerror(cc));
        attempt_failed(R, q, retry, m);
        return;
    }
    if (q->status != 200) {
        int retry = q->status >= 500 || q->status == 429;
        char *b = q->errbody;
        for (char *p = b; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        snprintf(m, sizeof m, "%s: HTTP %ld: %.400s", R->ep[q->ep].url, q->status,
                 q->nerrbody ? b : "(empty body)");
        attempt_failed(R, q, retry, m);
        return;
    }
    if (R->o.stream) {
        if (q->nline > 0 && sse_line(R, q, q->line, q->nline)) { /* a last unterminated line */
            attempt_failed(R, q, q->fail_retry, q->fail);
            return;
        }
        if (!q->finish[0]) { /* the stream ended early: a dropped connection */
            snprintf(m, sizeof m, "%s: the event stream ended before a finish_reason%s",
                     R->ep[q->ep].url, q->got_done ? " ([DONE] without one)" : "");
            attempt_failed(R, q, !q->got_done, m);
            return;
        }
    } else {
        if (apply_object(R, q, q->line ? q->line : "", q->nline)) {
            attempt_failed(R, q, q->fail_retry, q->fail);
            return;
        }
        if (!q->finish[0]) {
            snprintf(m, sizeof m, "%s: malformed response: no choices[0].finish_reason",
                     R->ep[q->ep].url);
            attempt_failed(R, q, 0, m);
            return;
        }
    }
    eng_finish f;
    if (!strcmp(q->finish, "stop"))
        f = ENG_FINISH_STOP;
    else if (!strcmp(q->finish, "length"))
        f = ENG_FINISH_LENGTH;
    else {
        snprintf(m, sizeof m, "%s: finish_reason '%s'", R->ep[q->ep].url, q->finish);
        attempt_failed(R, q, 0, m);
        return;
    }
    if (!q->got_ids) { /* text only: tokenize it here */
        if (!R->tk) {
            snprintf(m, sizeof m, "%s: the server returned no token_ids and there is no "
                     "tokenizer", R->ep[q->ep].url);
            attempt_failed(R, q, 0, m);
            return;
        }
        int32_t *ids = NULL;
        size_t n = 0;
        char e2[256];
        if (tok_encode(R->tk, q->text ? q->text : "", q->ntext, 0, &ids, &n, e2, sizeof e2) ||
            n > (size_t)INT_MAX - 2) {
            free(ids);
            snprintf(m, sizeof m, "tokenizing the response text: %s", e2);
            attempt_failed(R, q, 0, m);
            return;
        }
        /* vLLM's stop_reason names the stop id that ended the text; keep it
         * as the built-in engine does */
        int is_stop = 0;
        for (int i = 0; i < q->r.n_stop; i++)
            is_stop |= q->stop_reason == q->stops[i];
        if (f == ENG_FINISH_STOP && is_stop) {
            int32_t *n2 = realloc(ids, (n + 1) * sizeof *n2);
            if (!n2) {
                free(ids);
                attempt_failed(R, q, 0, "out of memory");
                return;
            }
            ids = n2;
            ids[n++] = (int32_t)q->stop_reason;
        }
        free(q->ids);
        q->ids = ids;
        q->nids = (int)n;
        q->capids = (int)n;
    }
    double total = 0;
    curl_off_t us = 0;
    if (curl_easy_getinfo(q->h, CURLINFO_TOTAL_TIME_T, &us) == CURLE_OK)
        total = (double)us * 1e-6;
    R->st.latency_s += total;
    if (q->server_time >= 0) {
        R->st.timed++;
        R->st.server_s += q->server_time;
        R->st.added_s += total - q->server_time;
    }
    detach(R, q);
    if (q->t_first <= 0)
        q->t_first = ut_now() - q->t_submit;
    make_ready(R, q, f, NULL);
}

/* ------------------------------------------------------------ interface */

static int rmt_submit(eng_backend *b, const eng_request *r, char *err, size_t errlen)
{
    remote *R = (remote *)b;
    if (eng_request_check(r, 0, err, errlen)) /* the server owns the vocabulary */
        return -1;
    if (R->nall == R->capall) {
        int nc = R->capall ? 2 * R->capall : 64;
        rq **na = realloc(R->all, (size_t)nc * sizeof *na);
        if (!na)
            return ut_err(err, errlen, "out of memory");
        R->all = na;
        R->capall = nc;
    }
    rq *q = calloc(1, sizeof *q);
    if (!q)
        return ut_err(err, errlen, "out of memory");
    if (eng_request_copy(r, 0, &q->r, &q->prompt, &q->stops, NULL)) {
        rq_free(q);
        return ut_err(err, errlen, "out of memory");
    }
    q->ep = -1;
    q->stop_reason = -1;
    q->owner = R;
    if (!(q->body = build_body(R, q, err, errlen))) {
        rq_free(q);
        return -1;
    }
    q->t_submit = ut_now();
    q->deadline = q->t_submit + R->o.deadline_s;
    q->state = RQ_QUEUED;
    R->all[R->nall++] = q;
    R->live++;
    return 0;
}

/* Hands out ready events: each request's ids as TOKEN events, then its
 * FINISHED event (the request moves to the retire list). */
static void drain(remote *R, eng_event *ev, int maxev, int *nev)
{
    int k = 0;
    while (R->ready_head && k < maxev) {
        rq *q = R->ready_head;
        while (q->emitted < q->nids && k < maxev) {
            eng_event e = {ENG_EV_TOKEN, q->r.user, q->ids[q->emitted], ENG_FINISH_STOP, NULL, 0,
                           0, 0, NULL};
            ev[k++] = e;
            q->emitted++;
        }
        if (k == maxev)
            break;
        eng_event f = {ENG_EV_FINISHED, q->r.user, q->nids ? q->ids[q->nids - 1] : -1,
                       q->finish_kind, q->ids, q->nids, q->t_first, q->t_done,
                       q->finish_kind == ENG_FINISH_ERROR ? q->error : NULL};
        ev[k++] = f;
        R->ready_head = q->next;
        if (!R->ready_head)
            R->ready_tail = NULL;
        q->next = R->retire;
        R->retire = q;
        R->live--;
    }
    *nev = k;
}

/* Starts queued requests whose time has come, as slots allow; fails those
 * whose deadline passed while queued. */
static int start_queued(remote *R, double now, double *next_wake, char *err, size_t errlen)
{
    for (int i = 0; i < R->nall; i++) {
        rq *q = R->all[i];
        if (q->state != RQ_QUEUED)
            continue;
        if (now >= q->deadline) {
            char m[768];
            snprintf(m, sizeof m, "the %.0f s deadline passed before a complete response "
                     "(%d attempts; last: %.600s)", R->o.deadline_s, q->attempt,
                     q->error[0] ? q->error : "none");
            make_ready(R, q, ENG_FINISH_ERROR, m);
            continue;
        }
        if (q->not_before > now) {
            if (q->not_before < *next_wake)
                *next_wake = q->not_before;
            continue;
        }
        int ep = pick_endpoint(R, q->attempt ? q->ep : -1);
        if (ep < 0)
            break; /* every endpoint is full */
        if (start_attempt(R, q, ep, err, errlen))
            return -1;
    }
    return 0;
}

static void compact(remote *R)
{
    int w = 0;
    for (int i = 0; i < R->nall; i++)
        if (R->all[i]->state != RQ_READY)
            R->all[w++] = R->all[i];
    R->nall = w;
}

static int rmt_pump(eng_backend *b, eng_event *ev, int maxev, int *nev, char *err, size_t errlen)
{
    remote *R = (remote *)b;
    *nev = 0;
    while (R->retire) {
        rq *q = R->retire;
        R->retire = q->next;
        rq_free(q);
    }
    double t_end = ut_now() + RMT_POLL_MS * 1e-3;
    while (!R->ready_head) {
        double now = ut_now(), wake = t_end;
        if (start_queued(R, now, &wake, err, errlen))
            return -1;
        int running = 0;
        if (curl_multi_perform(R->multi, &running) != CURLM_OK)
            return ut_err(err, errlen, "curl: multi perform failed");
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(R->multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            char *pv = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &pv);
            completed(R, (rq *)(void *)pv, msg->data.result);
        }
        /* stalls and deadlines of transfers in flight */
        now = ut_now();
        for (int i = 0; i < R->nall; i++) {
            rq *q = R->all[i];
            if (q->state != RQ_ACTIVE)
                continue;
            if (now - q->last_rx > R->o.stall_s) {
                char m[512];
                snprintf(m, sizeof m, "%s: stalled: no data for %.1f s", R->ep[q->ep].url,
                         now - q->last_rx);
                attempt_failed(R, q, 1, m);
            }
        }
        compact(R);
        if (R->ready_head || now >= t_end || R->live == 0)
            break;
        int ms = (int)((wake - now) * 1000) + 1;
        if (ms > RMT_POLL_MS)
            ms = RMT_POLL_MS;
        if (ms < 1)
            ms = 1;
        if (curl_multi_poll(R->multi, NULL, 0, ms, NULL) != CURLM_OK)
            return ut_err(err, errlen, "curl: multi poll failed");
    }
    drain(R, ev, maxev, nev);
    return 0;
}

static int rmt_pending(const eng_backend *b)
{
    return ((const remote *)b)->live;
}

static void rmt_free(eng_backend *b)
{
    remote *R = (remote *)b;
    if (!R)
        return;
    for (int i = 0; i < R->nall; i++) {
        rq *q = R->all[i];
        detach(R, q);
        if (q->state != RQ_READY)
            rq_free(q);
    }
    while (R->ready_head) {
        rq *q = R->ready_head;
        R->ready_head = q->next;
        rq_free(q);
    }
    while (R->retire) {
        rq *q = R->retire;
        R->retire = q->next;
        rq_free(q);
    }
    free(R->all);
    if (R->multi)
        curl_multi_cleanup(R->multi);
    curl_slist_free_all(R->hdrs);
    for (int i = 0; i < R->nep; i++)
        free(R->ep[i].url);
    free(R->ep);
    free(R->model);
    free(R);
    curl_global_cleanup();
}

eng_backend *rmt_backend_new(const char *endpoints, const char *model, const tok_tokenizer *tk,
                             const rmt_opts *o, char *err, size_t errlen)
{
    if (!endpoints || !*endpoints || !model || !*model) {
        ut_err(err, errlen, "--endpoint and --served-model are required");
        return NULL;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ut_err(err, errlen, "curl: global initialisation failed");
        return NULL;
    }
    remote *R = calloc(1, sizeof *R);
    char *list = ut_strdup(endpoints);
    if (!R || !list) {
        free(R);
        free(list);
        curl_global_cleanup();
        ut_err(err, errlen, "out of memory");
        return NULL;
    }
    R->base.submit = rmt_submit;
    R->base.pump = rmt_pump;
    R->base.pending = rmt_pending;
    R->base.free = rmt_free;
    R->base.name = "remote";
    R->base.tokens_final = 0; /* a failed request's partial ids come as tokens too */
    R->o = *o;
    R->tk = tk;
    R->model = ut_strdup(model);
    size_t n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    R->ep = calloc(n, sizeof *R->ep);
    R->multi = curl_multi_init();
    if (!R->model || !R->ep || !R->multi)
        goto oom;
    char *save = NULL;
    for (char *u = strtok_r(list, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
        size_t l = strlen(u);
        while (l && u[l - 1] == '/')
            u[--l] = 0;
        if (strncmp(u, "http://", 7) && strncmp(u, "https://", 8)) {
            ut_err(err, errlen, "--endpoint '%s': expected http://HOST[:PORT] or https://...", u);
            goto fail;
        }
        if (l > 4096) {
            ut_err(err, errlen, "--endpoint: a URL over 4096 bytes");
            goto fail;
        }
        size_t cap = l + 32;
        char *full = malloc(cap);
        if (!full)
            goto oom;
        /* a base that already ends in /v1 gets only /completions */
        snprintf(full, cap, "%s%s", u,
                 l >= 3 && !strcmp(u + l - 3, "/v1") ? "/completions" : "/v1/completions");
        R->ep[R->nep++].url = full;
    }
    if (R->nep == 0) {
        ut_err(err, errlen, "--endpoint: no URL given");
        goto fail;
    }
    curl_multi_setopt(R->multi, CURLMOPT_MAXCONNECTS, (long)R->nep * o->concurrency + 8);
    struct curl_slist *h = NULL, *t;
    const char *key = getenv("ZEVAL_API_KEY");
    if (!key || !*key)
        key = getenv("OPENAI_API_KEY");
#define ADDH(s)                              \
    do {                                     \
        if (!(t = curl_slist_append(h, s)))  \
            goto oom_h;                      \
        h = t;                               \
    } while (0)
    ADDH("Content-Type: application/json");
    ADDH(o->stream ? "Accept: text/event-stream" : "Accept: application/json");
    ADDH("Expect:");
    if (key && *key) {
        size_t kl = strlen(key) + 32;
        char *ah = malloc(kl);
        if (!ah)
            goto oom_h;
        snprintf(ah, kl, "Authorization: Bearer %s", key);
        t = curl_slist_append(h, ah);
        memset(ah, 0, strlen(ah));
        free(ah);
        if (!t)
            goto oom_h;
        h = t;
    }
#undef ADDH
    R->hdrs = h;
    free(list);
    return &R->base;
oom_h:
    curl_slist_free_all(h);
oom:
    ut_err(err, errlen, "out of memory");
fail:
    free(list);
    rmt_free(&R->base);
    return NULL;
}

void rmt_backend_stats(const eng_backend *b, rmt_stats *st)
{
    *st = ((const remote *)b)->st;
}

int32_t rmt_eos_id(const char *dir, const tok_tokenizer *tk)
{
    char *path = ut_path_join(dir, "tokenizer_config.json"), *txt = NULL;
    size_t len;
    char e[256];
    int32_t id = -1;
    if (!path || ut_read_file(path, 64u << 20, &txt, &len, e, sizeof e)) {
        free(path);
        return -1;
    }
    cJSON *j = cJSON_ParseWithLength(txt, len);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "eos_token");
    if (cJSON_IsObject(v))
        v = cJSON_GetObjectItemCaseSensitive(v, "content");
    if (cJSON_IsString(v))
        id = tok_piece_id(tk, v->valuestring, strlen(v->valuestring));
    cJSON_Delete(j);
    free(txt);
    free(path);
    return id;
}

/* ------------------------------------------------------------ bench */

int rmt_bench_cli(int argc, char **argv)
{
    static const char usage[] =
        "usage: zeval bench remote --endpoint URL[,URL...] --requests N --concurrency C\n"
        "                          [--tokens K] [--prompt-tokens P] [--served-model NAME]\n";
    args_opt o[] = {{"endpoint", 1, NULL},      {"requests", 1, NULL},
                    {"concurrency", 1, NULL},   {"tokens", 1, NULL},
                    {"prompt-tokens", 1, NULL}, {"served-model", 1, NULL},
                    {"help", 0, NULL}};
    int no = (int)(sizeof o / sizeof o[0]);
    char err[1024];
    if (args_parse(argc, argv, o, no, err, sizeof err)) {
        fprintf(stderr, "zeval bench remote: %s\n%s", err, usage);
        return 2;
    }
    if (args_get(o, no, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    long N = 256, C = 64, K = 16, P = 64;
    const char *ep = args_get(o, no, "endpoint"), *v;
    struct {
        const char *name;
        long *dst, lo, hi;
    } nums[] = {{"requests", &N, 1, 10000000},
                {"concurrency", &C, 1, 65536},
                {"tokens", &K, 1, 1 << 20},
                {"prompt-tokens", &P, 1, 1 << 20}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (!(v = args_get(o, no, nums[i].name)))
            continue;
        char what[40];
        snprintf(what, sizeof what, "--%s", nums[i].name);
        if (args_count(v, what, nums[i].dst, err, sizeof err) || *nums[i].dst < nums[i].lo ||
            *nums[i].dst > nums[i].hi) {
            fprintf(stderr, "zeval bench remote: --%s must be %ld..%ld\n", nums[i].name,
                    nums[i].lo, nums[i].hi);
            return 2;
        }
    }
    if (!ep) {
        fprintf(stderr, "zeval bench remote: --endpoint is required\n%s", usage);
        return 2;
    }
    rmt_opts ro;
    rmt_opts_default(&ro);
    ro.concurrency = (int)C;
    ro.retries = 0;
    ro.deadline_s = 600;
    ro.stall_s = 120;
    ro.stream = 0; /* the bench server answers with one pre-built JSON body */
    const char *model = args_get(o, no, "served-model") ? args_get(o, no, "served-model") : "bench";
    eng_backend *be = rmt_backend_new(ep, model, NULL, &ro, err, sizeof err);
    if (!be) {
        fprintf(stderr, "zeval bench remote: %s\n", err);
        return 1;
    }
    int32_t *prompt = malloc((size_t)P * sizeof *prompt);
    eng_event *ev = malloc(1024 * sizeof *ev);
    int rc = 1;
    if (!prompt || !ev) {
        fprintf(stderr, "zeval bench remote: out of memory\n");
        goto done;
    }
    smp_params sp = smp_greedy();
    int32_t stop = 1;
    double t0 = ut_now();
    long submitted = 0, finished = 0, errors = 0;
    while (finished < N) {
        /* keep 2C submitted so the backend's queue never runs dry */
        while (submitted < N && submitted - finished < 2 * C) {
            for (long i = 0; i < P; i++)
                prompt[i] = (int32_t)((submitted * 31 + i * 7) % 1000 + 2);
            eng_request r = {prompt, (int)P, (int)K, sp, (uint64_t)submitted, &stop, 1, 0, NULL};
            if (be->submit(be, &r, err, sizeof err)) {
                fprintf(stderr, "zeval bench remote: %s\n", err);
                goto done;
            }
            submitted++;
        }
        int nev = 0;
        if (be->pump(be, ev, 1024, &nev, err, sizeof err)) {
            fprintf(stderr, "zeval bench remote: %s\n", err);
            goto done;
        }
        for (int i = 0; i < nev; i++)
            if (ev[i].kind == ENG_EV_FINISHED) {
                finished++;
                if (ev[i].finish == ENG_FINISH_ERROR) {
                    if (errors++ == 0)
                        fprintf(stderr, "zeval bench remote: first error: %s\n", ev[i].error);
                }
            }
    }
    double wall = ut_now() - t0;
    rmt_stats st;
    rmt_backend_stats(be, &st);
    long ok = N - errors;
    printf("remote: requests=%ld concurrency=%ld tokens=%ld prompt_tokens=%ld errors=%ld "
           "wall_s=%.3f req_s=%.1f client_ms=%.3f server_ms=%.3f added_ms=%.3f\n",
           N, C, K, P, errors, wall, (double)N / wall, ok ? 1e3 * st.latency_s / (double)ok : 0.0,
           st.timed ? 1e3 * st.server_s / (double)st.timed : 0.0,
           st.timed ? 1e3 * st.added_s / (double)st.timed : 0.0);
    rc = errors ? 1 : 0;
done:
    free(prompt);
    free(ev);
    be->free(be);
    return rc;
}
