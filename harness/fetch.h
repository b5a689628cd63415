/*
 * fetch.h — the Hugging Face / GitHub file fetcher (libcurl).
 *
 * Files land in a cache directory laid out like huggingface_hub's snapshots:
 *
 *   <cache>/models--OWNER--NAME/snapshots/REVISION/PATH
 *   <cache>/datasets--OWNER--NAME/snapshots/REVISION/PATH
 *   <cache>/github--OWNER--NAME/snapshots/COMMIT/PATH      (raw repository files)
 *
 * <cache> is --cache-dir, else $ZEVAL_CACHE_DIR/hub, else $HF_HUB_CACHE, else
 * $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
 * ~/.cache/huggingface/hub.  A download goes to PATH.part (resumed with an
 * HTTP Range request on the next try), is verified (sha256 when one is
 * expected) and is renamed onto PATH only when complete, so a file under
 * its final name is always whole.  URLs:
 *
 *   {HF_ENDPOINT}/{repo}/resolve/{revision}/{path}            models
 *   {HF_ENDPOINT}/datasets/{repo}/resolve/{revision}/{path}   datasets
 *   {ZEVAL_GITHUB_RAW}/{repo}/{commit}/{path}                 GitHub raw files
 *
 * HF_TOKEN, when set, is sent as "Authorization: Bearer" to the Hugging Face
 * endpoint only.  Transient failures (connection errors, timeouts, a
 * transfer cut short, HTTP 408/429/5xx) are retried with exponential
 * backoff; 401/403/404 are not.
 */
#ifndef ZEVAL_FETCH_H
#define ZEVAL_FETCH_H

#include <stddef.h>

typedef enum { FETCH_MODEL, FETCH_DATASET, FETCH_GITHUB } fetch_kind;

/* Status codes (0 = success). */
enum {
    FETCH_OK = 0,
    FETCH_ERR = -1,        /* any failure; the message says which */
    FETCH_NOT_FOUND = -2,  /* HTTP 404 (or missing from the cache in offline mode) */
};

typedef struct {
    char *hf_endpoint;      /* no trailing slash */
    char *github_endpoint;  /* no trailing slash */
    char *token;            /* HF_TOKEN or NULL */
    char *cache_dir;        /* the hub cache root */
    int offline;            /* use the cache only */
    long connect_timeout_s;
    long stall_timeout_s;   /* abort when under 1 byte/s for this long */
    int retries;            /* extra tries after the first */
    long backoff_ms;        /* first retry delay; doubles each time, capped at 30 s */
    int progress;           /* draw a progress bar on stderr (default: stderr is a TTY) */
    int quiet;              /* no per-file lines on stderr */
} fetch_opts;

/* Fills o from the environment (HF_ENDPOINT, HF_TOKEN, ZEVAL_GITHUB_RAW,
 * ZEVAL_OFFLINE, ZEVAL_FETCH_RETRIES, ZEVAL_FETCH_BACKOFF_MS,
 * ZEVAL_FETCH_CONNECT_TIMEOUT, ZEVAL_FETCH_STALL_TIMEOUT, the cache
 * variables above).  cache_dir overrides the cache root when not NULL.
 * Returns 0, or -1 (out of memory / no usable cache directory / a bad
 * number in a variable, named in err).  Free with fetch_opts_free. */
int fetch_opts_init(fetch_opts *o, const char *cache_dir, char *err, size_t errlen);
void fetch_opts_free(fetch_opts *o);

/* Call once per process around all fetches (curl_global_init/cleanup). */
int fetch_global_init(void);
void fetch_global_cleanup(void);

/* The cache path of one file (malloc'd; NULL on OOM). */
char *fetch_cache_path(const fetch_opts *o, fetch_kind kind, const char *repo,
                       const char *revision, const char *path);

/* The URL of one file (malloc'd; NULL on OOM). */
char *fetch_url(const fetch_opts *o, fetch_kind kind, const char *repo, const char *revision,
                const char *path);

/* Makes sure one file of a repository is in the cache and returns its path
 * in *out (malloc'd, caller frees).  sha256: the expected hex digest, or
 * NULL (then the Hub's X-Linked-Etag, when it is a sha256, is used).  A file
 * already in the cache is used as is (verified again when sha256 is given).
 * Returns FETCH_OK, FETCH_NOT_FOUND (404, or offline and not cached; err
 * says which), or FETCH_ERR. */
int fetch_file(const fetch_opts *o, fetch_kind kind, const char *repo, const char *revision,
               const char *path, const char *sha256, char **out, char *err, size_t errlen);

/* Downloads url to dest (via dest.part, renamed when complete and
 * verified) with the retry/resume/timeout policy of o.  Ignores the cache
 * and offline mode.  Returns FETCH_OK, FETCH_NOT_FOUND or FETCH_ERR. */
int fetch_url_to(const fetch_opts *o, const char *url, const char *dest, const char *sha256,
                 int send_token, char *err, size_t errlen);


#endif
