/*
 * fetch.c — see fetch.h.
 *
 * One download = a loop of tries.  Each try appends to PATH.part from its
 * current size (Range: bytes=N-), hashing as it writes; a server that
 * ignores the Range (200 instead of 206) makes the try start the file over.
 * Bodies of non-2xx responses never reach the .part file.  When a try
 * completes, the digest is checked against the expected sha256 (given, or
 * the Hub's X-Linked-Etag) and the file is renamed into place; a mismatch
 * deletes the .part so nothing that looks complete, and nothing that a
 * later resume would build on, stays behind.
 */
#define _POSIX_C_SOURCE 200809L
#include "fetch.h"
#include "sha256.h"
#include "version.h"
#include "../engine/util.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BACKOFF_CAP_MS 30000L

/* ------------------------------------------------------------ options */

static char *dup_trim_slash(const char *s)
{
    char *d = ut_strdup(s);
    if (d) {
        size_t n = strlen(d);
        while (n > 1 && d[n - 1] == '/')
            d[--n] = 0;
    }
    return d;
}

static int env_long(const char *name, long lo, long hi, long *out, char *err, size_t errlen)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end || x < lo || x > hi)
        return ut_err(err, errlen, "%s: expected an integer in [%ld, %ld], found '%.40s'", name,
                      lo, hi, v);
    *out = x;
    return 0;
}

int fetch_opts_init(fetch_opts *o, const char *cache_dir, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->connect_timeout_s = 30;
    o->stall_timeout_s = 60;
    o->retries = 5;
    o->backoff_ms = 1000;
    o->progress = isatty(2);
    const char *e = getenv("HF_ENDPOINT");
    o->hf_endpoint = dup_trim_slash(e && *e ? e : "https://huggingface.co");
    e = getenv("ZEVAL_GITHUB_RAW");
    o->github_endpoint = dup_trim_slash(e && *e ? e : "https://raw.githubusercontent.com");
    e = getenv("HF_TOKEN");
    if (e && *e)
        o->token = ut_strdup(e);
    e = getenv("ZEVAL_OFFLINE");
    o->offline = e && *e && strcmp(e, "0") != 0;
    if (!o->hf_endpoint || !o->github_endpoint || ((e = getenv("HF_TOKEN")) && *e && !o->token))
        goto oom;
    long retries = o->retries;
    if (env_long("ZEVAL_FETCH_RETRIES", 0, 100, &retries, err, errlen) ||
        env_long("ZEVAL_FETCH_BACKOFF_MS", 0, 600000, &o->backoff_ms, err, errlen) ||
        env_long("ZEVAL_FETCH_CONNECT_TIMEOUT", 1, 3600, &o->connect_timeout_s, err, errlen) ||
        env_long("ZEVAL_FETCH_STALL_TIMEOUT", 1, 3600, &o->stall_timeout_s, err, errlen))
        goto fail;
    o->retries = (int)retries;

    char buf[4096];
    const char *z = getenv("ZEVAL_CACHE_DIR"), *hc = getenv("HF_HUB_CACHE"),
               *hh = getenv("HF_HOME"), *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (cache_dir && *cache_dir)
        snprintf(buf, sizeof buf, "%s", cache_dir);
    else if (z && *z)
        snprintf(buf, sizeof buf, "%s/hub", z);
    else if (hc && *hc)
        snprintf(buf, sizeof buf, "%s", hc);
    else if (hh && *hh)
        snprintf(buf, sizeof buf, "%s/hub", hh);
    else if (x && *x)
        snprintf(buf, sizeof buf, "%s/huggingface/hub", x);
    else if (home && *home)
        snprintf(buf, sizeof buf, "%s/.cache/huggingface/hub", home);
    else {
        ut_err(err, errlen, "no cache directory: set --cache-dir, ZEVAL_CACHE_DIR, HF_HOME, "
                            "XDG_CACHE_HOME or HOME");
        goto fail;
    }
    o->cache_dir = dup_trim_slash(buf);
    if (!o->cache_dir)
        goto oom;
    return 0;
oom:
    ut_err(err, errlen, "out of memory");
fail:
    fetch_opts_free(o);
    return -1;
}

void fetch_opts_free(fetch_opts *o)
{
    free(o->hf_endpoint);
    free(o->github_endpoint);
    if (o->token)
        memset(o->token, 0, strlen(o->token));
    free(o->token);
    free(o->cache_dir);
    memset(o, 0, sizeof *o);
}

int fetch_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void fetch_global_cleanup(void)
{
    curl_global_cleanup();
}

/* ------------------------------------------------------------ names */

/* Repository ids are OWNER/NAME of [A-Za-z0-9._-], neither part "." or "..". */
static int valid_repo(const char *r)
{
    const char *slash = strchr(r, '/');
    if (!slash || slash == r || !slash[1] || strchr(slash + 1, '/'))
        return 0;
    for (const char *p = r; *p; p++)
        if (!(*p == '/' || *p == '.' || *p == '_' || *p == '-' || (*p >= '0' && *p <= '9') ||
              (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return 0;
    return strncmp(r, "./", 2) && strncmp(r, "../", 3) && strcmp(slash, "/.") &&
           strcmp(slash, "/..");
}

static int valid_revision(const char *r)
{
    if (!*r || strlen(r) > 200 || !strcmp(r, ".") || !strcmp(r, ".."))
        return 0;
    for (const char *p = r; *p; p++)
        if (!(*p == '.' || *p == '_' || *p == '-' || (*p >= '0' && *p <= '9') ||
              (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return 0;
    return 1;
}

/* A relative path without empty, "." or ".." components, backslashes or
 * control characters (file names come from index files we download). */
static int valid_relpath(const char *p)
{
    if (!*p || *p == '/' || strlen(p) > 1000)
        return 0;
    const char *c = p;
    for (;;) {
        const char *e = strchr(c, '/');
        size_t n = e ? (size_t)(e - c) : strlen(c);
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return 0;
        if (!e)
            break;
        c = e + 1;
    }
    for (; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '\\' || *p == 0x7f || *p == '?' || *p == '#' ||
            *p == '%')
            return 0;
    return 1;
}

static const char *kind_dir(fetch_kind k)
{
    return k == FETCH_MODEL ? "models" : k == FETCH_DATASET ? "datasets" : "github";
}

static char *xasprintf(const char *fmt, ...) UT_PRINTF(1, 2);
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

char *fetch_cache_path(const fetch_opts *o, fetch_kind kind, const char *repo,
                       const char *revision, const char *path)
{
    const char *slash = strchr(repo, '/');
    if (!slash)
        return NULL;
    return xasprintf("%s/%s--%.*s--%s/snapshots/%s/%s", o->cache_dir, kind_dir(kind),
                     (int)(slash - repo), repo, slash + 1, revision, path);
}

char *fetch_url(const fetch_opts *o, fetch_kind kind, const char *repo, const char *revision,
                const char *path)
{
    if (kind == FETCH_GITHUB)
        return xasprintf("%s/%s/%s/%s", o->github_endpoint, repo, revision, path);
    return xasprintf("%s/%s%s/resolve/%s/%s", o->hf_endpoint,
                     kind == FETCH_DATASET ? "datasets/" : "", repo, revision, path);
}

/* ------------------------------------------------------------ one transfer */

typedef struct {
    const fetch_opts *o;
    const char *label;      /* shown in the progress bar */
    const char *part;       /* path of the .part file */
    int fd;                 /* the .part file, opened for append */
    int want_hash;          /* a pinned sha256 is expected */
    int hashing;            /* sha covers the .part so far (decided at the first body byte) */
    long long offset;       /* bytes in the .part when this response's body started */
    long long written;      /* bytes in the .part now */
    sha256_ctx sha;
    int status;             /* HTTP status of the response being received */
    int body_started;       /* a body byte of the current response was seen */
    int range_bad;          /* 206 with a Content-Range that does not start at offset */
    int io_error;           /* write to the .part failed (errno in io_errno) */
    int io_errno;
    char linked_etag[65];   /* X-Linked-Etag when it is a sha256 */
    char repo_commit[65];   /* X-Repo-Commit */
    long long cr_start;     /* Content-Range start of a 206, -1 if none */
    double t0, last_draw;
    long long total;        /* expected final size, -1 unknown */
} xfer;

/* Copies a header value (trimmed, quotes removed) into out. */
static void header_value(const char *v, size_t n, char *out, size_t cap)
{
    while (n && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
        n--;
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v++;
        n -= 2;
    }
    if (n >= 2 && v[0] == 'W' && v[1] == '/')
        n = 0; /* weak etags are not digests */
    if (n >= cap)
        n = 0;
    memcpy(out, v, n);
    out[n] = 0;
}

static size_t on_header(char *b, size_t size, size_t nitems, void *ud)
{
    xfer *x = ud;
    size_t n = size * nitems;
    if (n >= 5 && memcmp(b, "HTTP/", 5) == 0) {
        const char *sp = memchr(b, ' ', n);
        x->status = sp ? atoi(sp + 1) : 0;
        x->body_started = 0;
        x->cr_start = -1;
        return n;
    }
    const char *colon = memchr(b, ':', n);
    if (!colon)
        return n;
    size_t kl = (size_t)(colon - b);
    const char *v = colon + 1;
    size_t vl = n - kl - 1;
    if (kl == 13 && strncasecmp(b, "x-linked-etag", 13) == 0) {
        char t[80];
        header_value(v, vl, t, sizeof t);
        if (sha256_is_hex(t)) {
            for (int i = 0; i < 64; i++)
                x->linked_etag[i] = (char)((t[i] >= 'A' && t[i] <= 'F') ? t[i] + 32 : t[i]);
            x->linked_etag[64] = 0;
        }
    } else if (kl == 13 && strncasecmp(b, "x-repo-commit", 13) == 0) {
        header_value(v, vl, x->repo_commit, sizeof x->repo_commit);
    } else if (kl == 13 && strncasecmp(b, "content-range", 13) == 0) {
        char t[128];
        header_value(v, vl, t, sizeof t);
        long long s, e, tot;
        if (sscanf(t, "bytes %lld-%lld/%lld", &s, &e, &tot) == 3) {
            x->cr_start = s;
            x->total = tot;
        }
    }
    return n;
}

static void draw_progress(xfer *x, int final)
{
    double now = ut_now();
    if (!final && now - x->last_draw < 0.2)
        return;
    x->last_draw = now;
    double el = now - x->t0;
    double mb = (double)x->written / 1e6;
    double rate = el > 0 ? (double)(x->written - x->offset) / 1e6 / el : 0;
    char eta[32] = "--:--";
    if (x->total > 0 && rate > 0) {
        long s = (long)((double)(x->total - x->written) / 1e6 / rate);
        snprintf(eta, sizeof eta, "%ld:%02ld", s / 60, s % 60);
    }
    if (x->total > 0)
        fprintf(stderr, "\r  %-40.40s %9.1f / %.1f MB  %7.1f MB/s  ETA %s ", x->label, mb,
                (double)x->total / 1e6, rate, eta);
    else
        fprintf(stderr, "\r  %-40.40s %9.1f MB  %7.1f MB/s ", x->label, mb, rate);
    if (final)
        fputc('\n', stderr);
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ul,
                       curl_off_t un)
{
    (void)dlnow;
    (void)ul;
    (void)un;
    xfer *x = ud;
    if (x->total < 0 && dltotal > 0 && x->status == 200)
        x->total = (long long)dltotal;
    else if (x->total < 0 && dltotal > 0 && x->status == 206)
        x->total = x->offset + (long long)dltotal;
    draw_progress(x, 0);
    return 0;
}

static int hash_prefix(int fd, long long n, sha256_ctx *c);

static size_t on_body(char *b, size_t size, size_t nitems, void *ud)
{
    xfer *x = ud;
    size_t n = size * nitems;
    if (x->status != 200 && x->status != 206)
        return n; /* an error page: never into the file */
    if (!x->body_started) {
        x->body_started = 1;
        if (x->status == 200 && x->written > 0) {
            /* the server ignored our Range: start over */
            if (ftruncate(x->fd, 0) != 0 || lseek(x->fd, 0, SEEK_SET) != 0) {
                x->io_error = 1;
                x->io_errno = errno;
                return 0;
            }
            x->written = x->offset = 0;
            sha256_init(&x->sha);
        } else if (x->status == 206 && x->cr_start != x->written) {
            x->range_bad = 1;
            return 0;
        }
        /* hash only when a digest is known: pinned, or the Hub's X-Linked-Etag (headers
         * precede the body, so it is known by now) */
        if (!x->hashing && (x->want_hash || x->linked_etag[0])) {
            int rfd = x->written > 0 ? open(x->part, O_RDONLY) : -1;
            if (x->written > 0 && (rfd < 0 || hash_prefix(rfd, x->written, &x->sha) != 0)) {
                if (rfd >= 0)
                    close(rfd);
                x->io_error = 1;
                x->io_errno = EIO;
                return 0;
            }
            if (rfd >= 0)
                close(rfd);
            x->hashing = 1;
        }
    }
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(x->fd, b + done, n - done);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            x->io_error = 1;
            x->io_errno = errno;
            return 0;
        }
        done += (size_t)w;
    }
    if (x->hashing)
        sha256_update(&x->sha, b, n);
    x->written += (long long)n;
    return n;
}

/* Hashes the first n bytes of fd into c. */
static int hash_prefix(int fd, long long n, sha256_ctx *c)
{
    size_t cap = (size_t)1 << 20;
    unsigned char *buf = malloc(cap);
    if (!buf)
        return -1;
    long long done = 0;
    while (done < n) {
        size_t want = (size_t)(n - done < (long long)cap ? n - done : (long long)cap);
        ssize_t r = pread(fd, buf, want, (off_t)done);
        if (r <= 0) {
            free(buf);
            return -1;
        }
        sha256_update(c, buf, (size_t)r);
        done += r;
    }
    free(buf);
    return 0;
}

enum { TRY_OK, TRY_TRANSIENT, TRY_RESTART, TRY_FATAL, TRY_NOT_FOUND };

static int transient_curl(CURLcode c)
{
    switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
        return 1;
    default:
        return 0;
    }
}

/* One try of url into the open .part (x->fd at x->written). */
static int one_try(xfer *x, const char *url, int send_token, char *err, size_t errlen)
{
    const fetch_opts *o = x->o;
    CURL *h = curl_easy_init();
    if (!h) {
        ut_err(err, errlen, "curl_easy_init failed");
        return TRY_FATAL;
    }
    struct curl_slist *hdrs = NULL;
    char *auth = NULL;
    if (send_token && o->token) {
        auth = xasprintf("Authorization: Bearer %s", o->token);
        struct curl_slist *n = auth ? curl_slist_append(NULL, auth) : NULL;
        if (!n) {
            free(auth);
            curl_easy_cleanup(h);
            ut_err(err, errlen, "out of memory");
            return TRY_FATAL;
        }
        hdrs = n;
    }
    char range[64];
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "zeval/" ZEVAL_VERSION);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, o->connect_timeout_s);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, o->stall_timeout_s);
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 128L * 1024);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    if (o->progress) {
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
    }
    if (hdrs)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (x->written > 0) {
        snprintf(range, sizeof range, "%lld-", x->written);
        curl_easy_setopt(h, CURLOPT_RANGE, range);
    }
    x->offset = x->written;
    x->t0 = ut_now();
    x->status = 0;
    CURLcode c = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    if (auth) {
        memset(auth, 0, strlen(auth));
        free(auth);
    }
    if (o->progress && x->written > x->offset)
        draw_progress(x, 1);
    if (x->io_error) {
        ut_err(err, errlen, "writing the download failed: %s", strerror(x->io_errno));
        return TRY_FATAL;
    }
    if (x->range_bad) {
        ut_err(err, errlen, "%s: the server resumed at the wrong offset (Content-Range)", url);
        return TRY_RESTART;
    }
    if (code == 404 || code == 410) {
        ut_err(err, errlen, "%s: HTTP %ld (not found)", url, code);
        return TRY_NOT_FOUND;
    }
    if (code == 401 || code == 403) {
        ut_err(err, errlen, "%s: HTTP %ld (%s)%s", url, code,
               code == 401 ? "unauthorized" : "forbidden",
               o->token ? ": HF_TOKEN was sent but not accepted (gated or private repository?)"
                        : ": set HF_TOKEN for gated or private repositories");
        return TRY_FATAL;
    }
    if (code == 416) {
        ut_err(err, errlen, "%s: HTTP 416 (range not satisfiable) resuming at byte %lld", url,
               x->written);
        return TRY_RESTART;
    }
    if (c != CURLE_OK) {
        ut_err(err, errlen, "%s: %s (after %lld bytes)", url, curl_easy_strerror(c),
               x->written);
        return transient_curl(c) ? TRY_TRANSIENT : TRY_FATAL;
    }
    if (code == 408 || code == 429 || code >= 500) {
        ut_err(err, errlen, "%s: HTTP %ld", url, code);
        return TRY_TRANSIENT;
    }
    if (code != 200 && code != 206) {
        ut_err(err, errlen, "%s: unexpected HTTP status %ld", url, code);
        return TRY_FATAL;
    }
    return TRY_OK;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int fetch_url_to(const fetch_opts *o, const char *url, const char *dest, const char *sha256,
                 int send_token, char *err, size_t errlen)
{
    if (sha256 && !sha256_is_hex(sha256))
        return ut_err(err, errlen, "expected sha256 '%.80s' is not 64 hex digits", sha256);
    char *part = xasprintf("%s.part", dest);
    if (!part)
        return ut_err(err, errlen, "out of memory");
    int rc = FETCH_ERR;
    xfer x;
    memset(&x, 0, sizeof x);
    x.o = o;
    x.fd = -1;
    x.total = -1;
    x.cr_start = -1;
    const char *base = strrchr(dest, '/');
    x.label = base ? base + 1 : dest;
    x.part = part;
    x.want_hash = sha256 != NULL;
    long backoff = o->backoff_ms;
    int restarts = 0;
    for (int attempt = 0;; attempt++) {
        x.fd = open(part, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (x.fd < 0) {
            ut_err(err, errlen, "%s: cannot open: %s", part, strerror(errno));
            goto done;
        }
        struct stat st;
        if (fstat(x.fd, &st) != 0) {
            ut_err(err, errlen, "%s: cannot stat: %s", part, strerror(errno));
            goto done;
        }
        x.written = (long long)st.st_size;
        x.range_bad = x.io_error = x.hashing = 0;
        x.linked_etag[0] = 0;
        sha256_init(&x.sha);
        if (x.written > 0 && !o->quiet)
            fprintf(stderr, "zeval: resuming %s at byte %lld\n", x.label, x.written);
        int t = one_try(&x, url, send_token, err, errlen);
        if (t == TRY_OK) {
            if (close(x.fd) != 0) {
                x.fd = -1;
                ut_err(err, errlen, "%s: write failed: %s", part, strerror(errno));
                goto done;
            }
            x.fd = -1;
            unsigned char d[32];
            char got[65] = "";
            const char *want = sha256 ? sha256 : (x.linked_etag[0] ? x.linked_etag : NULL);
            if (want && x.hashing) {
                sha256_final(&x.sha, d);
                sha256_hex(d, got);
            } else if (want && sha256_file(part, got, err, errlen)) { /* e.g. an empty body */
                unlink(part);
                goto done;
            }
            if (want && strcasecmp(want, got) != 0) {
                unlink(part);
                ut_err(err, errlen,
                       "%s: checksum mismatch: expected sha256 %s (%s), got %s (%lld bytes); "
                       "the download was discarded",
                       url, want, sha256 ? "pinned" : "X-Linked-Etag", got, x.written);
                goto done;
            }
            if (rename(part, dest) != 0) {
                ut_err(err, errlen, "%s: cannot rename into place: %s", dest, strerror(errno));
                unlink(part);
                goto done;
            }
            if (x.repo_commit[0] && !o->quiet)
                fprintf(stderr, "zeval: %s (revision resolves to commit %s)\n", x.label,
                        x.repo_commit);
            rc = FETCH_OK;
            goto done;
        }
        close(x.fd);
        x.fd = -1;
        if (t == TRY_NOT_FOUND || t == TRY_FATAL) {
            unlink(part);
            rc = t == TRY_NOT_FOUND ? FETCH_NOT_FOUND : FETCH_ERR;
            goto done;
        }
        if (t == TRY_RESTART) {
            unlink(part);
            if (++restarts > 2)
                goto done;
            attempt--; /* starting over is not a network failure */
            continue;
        }
        if (attempt >= o->retries) {
            ut_err_prefix(err, errlen, "giving up after %d tries", attempt + 1);
            goto done; /* the .part stays: the next run resumes it */
        }
        if (!o->quiet)
            fprintf(stderr, "zeval: %s; retrying in %.1f s\n", err, (double)backoff / 1000);
        sleep_ms(backoff);
        backoff = backoff * 2 > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : backoff * 2;
    }
done:
    if (x.fd >= 0)
        close(x.fd);
    free(part);
    return rc;
}

/* ------------------------------------------------------------ cache */

int fetch_file(const fetch_opts *o, fetch_kind kind, const char *repo, const char *revision,
               const char *path, const char *sha256, char **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!valid_repo(repo))
        return ut_err(err, errlen, "'%.200s': not a repository id (OWNER/NAME of letters, "
                                   "digits, '.', '_', '-')", repo);
    if (!valid_revision(revision))
        return ut_err(err, errlen, "'%.200s': not a usable revision (a commit, tag or branch "
                                   "name without '/')", revision);
    if (!valid_relpath(path))
        return ut_err(err, errlen, "'%.200s': not a safe relative file path", path);
    char *dest = fetch_cache_path(o, kind, repo, revision, path);
    char *url = fetch_url(o, kind, repo, revision, path);
    int rc = FETCH_ERR;
    if (!dest || !url) {
        ut_err(err, errlen, "out of memory");
        goto done;
    }
    struct stat st;
    if (stat(dest, &st) == 0 && S_ISREG(st.st_mode)) {
        if (sha256) {
            char got[65];
            if (sha256_file(dest, got, err, errlen))
                goto done;
            if (strcasecmp(got, sha256) != 0) {
                ut_err(err, errlen, "%s: cached file has sha256 %s, expected %s; delete it "
                                    "to download again", dest, got, sha256);
                goto done;
            }
        }
        *out = dest;
        dest = NULL;
        rc = FETCH_OK;
        goto done;
    }
    if (o->offline) {
        ut_err(err, errlen, "offline mode (--offline / ZEVAL_OFFLINE): %s is not in the cache "
                            "(%s); run without offline mode to download it from %s",
               path, dest, url);
        rc = FETCH_NOT_FOUND;
        goto done;
    }
    char *dir = ut_strdup(dest);
    if (!dir) {
        ut_err(err, errlen, "out of memory");
        goto done;
    }
    *strrchr(dir, '/') = 0;
    int mk = ut_mkdirs(dir, err, errlen);
    free(dir);
    if (mk)
        goto done;
    if (!o->quiet)
        fprintf(stderr, "zeval: fetching %s\n", url);
    rc = fetch_url_to(o, url, dest, sha256, kind != FETCH_GITHUB, err, errlen);
    if (rc == FETCH_OK) {
        *out = dest;
        dest = NULL;
    }
done:
    free(dest);
    free(url);
    return rc;
}
