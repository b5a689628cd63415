/*
 * test_fetch.c — sha256 against the FIPS 180-4 vectors, and `zeval fetch
 * model` against a real HTTP server on loopback (tests/hub_server.py)
 * serving files in the Hugging Face hub layout, with injected failures:
 * a transfer cut off mid-file (resumed with Range), wrong content (checksum
 * error), 404, 401 without/with a wrong/with the right token, a stalled
 * server (low-speed timeout), redirects, transient 500s, offline mode and
 * a hostile shard index.  After every failure the cache must hold no file
 * under its final name for what failed (a .part is allowed only where a
 * later run may resume it).
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "hub_helper.h"
#include "../harness/sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hub_srv srv;
static char tmp[512], cache[700], outp[700];
static char errbuf[16384];

/* ------------------------------------------------------------ sha256 */

static void test_sha256(int portable)
{
    ck_begin("sha256 FIPS 180-4 vectors and streaming (%s)", portable ? "portable" : "default");
    sha256_force_portable(portable);
    static const struct {
        const char *msg;
        const char *hex;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopq"
         "rlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    char h[65];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        sha256_hex_of(v[i].msg, strlen(v[i].msg), h);
        CK(!strcmp(h, v[i].hex), "vector %zu: got %s", i, h);
    }
    size_t n = 1000000;
    char *a = malloc(n);
    memset(a, 'a', n);
    sha256_hex_of(a, n, h);
    CK(!strcmp(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
       "one million 'a': got %s", h);
    /* the same bytes in uneven pieces */
    sha256_ctx c;
    sha256_init(&c);
    for (size_t off = 0, step = 1; off < n; off += step, step = step * 3 % 1000 + 1)
        sha256_update(&c, a + off, off + step > n ? n - off : step);
    unsigned char d[32];
    sha256_final(&c, d);
    sha256_hex(d, h);
    CK(!strcmp(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
       "streamed: got %s", h);
    free(a);
    CK(sha256_is_hex("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") &&
           !sha256_is_hex("xyz") &&
           !sha256_is_hex("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd"),
       "sha256_is_hex");
    sha256_force_portable(0);
    ck_end();
}

/* ------------------------------------------------------------ helpers */

/* Random-ish bytes (deterministic). */
static char *blob(size_t n, unsigned seed)
{
    char *b = malloc(n);
    unsigned long long x = 0x9e3779b97f4a7c15ULL * (seed + 1);
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b[i] = (char)(x >> 24);
    }
    return b;
}

static void put_model_file(const char *repo, const char *path, const void *d, size_t n)
{
    char rel[512];
    snprintf(rel, sizeof rel, "%s/resolve/main/%s", repo, path);
    if (hub_put(&srv, rel, d, n))
        fprintf(stderr, "cannot write %s\n", rel);
}

static void put_text(const char *repo, const char *path, const char *s)
{
    put_model_file(repo, path, s, strlen(s));
}

/* Runs zeval fetch model REPO [extra...] with the cache dir; stdout to outp. */
static int fetch_model(const char *repo, const char *extra1, const char *extra2)
{
    char *argv[12];
    int k = 0;
    argv[k++] = (char *)ck_zeval();
    argv[k++] = "fetch";
    argv[k++] = "model";
    argv[k++] = (char *)repo;
    argv[k++] = "--cache-dir";
    argv[k++] = cache;
    argv[k++] = "--no-progress";
    if (extra1)
        argv[k++] = (char *)extra1;
    if (extra2)
        argv[k++] = (char *)extra2;
    argv[k] = NULL;
    return ck_run(argv, outp, errbuf, sizeof errbuf);
}

/* Path of repo's cached file. */
static const char *cached(const char *repo, const char *path)
{
    static char b[4][1200];
    static int k;
    char *p = b[k++ & 3];
    char owner[128];
    const char *slash = strchr(repo, '/');
    snprintf(owner, sizeof owner, "%.*s", (int)(slash - repo), repo);
    snprintf(p, sizeof b[0], "%s/models--%s--%s/snapshots/main/%s", cache, owner, slash + 1,
             path);
    return p;
}

/* 1 if the cached copy of repo/path equals the served file. */
static int same_as_served(const char *repo, const char *path)
{
    char src[1200];
    snprintf(src, sizeof src, "%s/%s/resolve/main/%s", srv.root, repo, path);
    size_t a, b;
    char *x = ck_slurp(src, &a), *y = ck_slurp(cached(repo, path), &b);
    int same = x && y && a == b && memcmp(x, y, a) == 0;
    free(x);
    free(y);
    return same;
}

/* Files of repo's cache directory: complete and .part. */
static void repo_files(const char *repo, int *complete, int *partial)
{
    char d[1200], owner[128];
    const char *slash = strchr(repo, '/');
    snprintf(owner, sizeof owner, "%.*s", (int)(slash - repo), repo);
    snprintf(d, sizeof d, "%s/models--%s--%s", cache, owner, slash + 1);
    *complete = *partial = 0;
    hub_count_files(d, complete, partial);
}

/* Number of logged requests whose JSON line contains all of a and b. */
static int log_count(const char *a, const char *b)
{
    size_t n;
    char *s = ck_slurp(srv.log, &n);
    int c = 0;
    for (char *p = s, *e; s && p < s + n; p = e + 1) {
        e = strchr(p, '\n');
        if (!e)
            break;
        *e = 0;
        if (strstr(p, a) && (!b || strstr(p, b)))
            c++;
    }
    free(s);
    return c;
}

/* ------------------------------------------------------------ cases */

static const char ZERO_SHA[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

static void setup_server_files(void)
{
    char *a = blob(200000, 1), *b = blob(150000, 2), *big = blob(2500000, 3);
    put_text("acme/sharded", "config.json", "{\"model_type\": \"zaya\"}\n");
    put_text("acme/sharded", "model.safetensors.index.json",
             "{\"metadata\": {\"total_size\": 350000}, \"weight_map\": {"
             "\"a.weight\": \"model-00001-of-00002.safetensors\", "
             "\"b.weight\": \"model-00002-of-00002.safetensors\", "
             "\"c.weight\": \"model-00001-of-00002.safetensors\"}}\n");
    put_model_file("acme/sharded", "model-00001-of-00002.safetensors", a, 200000);
    put_model_file("acme/sharded", "model-00002-of-00002.safetensors", b, 150000);
    put_text("acme/sharded", "tokenizer.json", "{\"model\": {}}\n");
    put_text("acme/sharded", "chat_template.jinja", "{{ messages }}\n");
    const char *singles[] = {"acme/drop", "acme/drop2", "acme/badsum", "acme/private",
                             "acme/stall", "acme/flaky", "acme/badredir"};
    for (size_t i = 0; i < sizeof singles / sizeof singles[0]; i++) {
        put_text(singles[i], "config.json", "{}\n");
        put_model_file(singles[i], "model.safetensors", big, 2500000);
    }
    put_text("acme/redir", "config.json", "{}\n");
    hub_put(&srv, "cdn/blobs/config-redir", "{\"redirected\": true}\n", 20);
    hub_put(&srv, "cdn/blobs/weights-redir", big, 2500000);
    put_text("acme/evil", "config.json", "{}\n");
    put_text("acme/evil", "model.safetensors.index.json",
             "{\"weight_map\": {\"x\": \"../../../../tmp/zeval-evil\"}}\n");
    char etag[65];
    sha256_hex_of(big, 2500000, etag);
    char ctl[4096];
    snprintf(ctl, sizeof ctl,
             "{\"/acme/drop/resolve/main/model.safetensors\": [{\"mode\": \"drop\", \"after\": "
             "700000, \"times\": 1}, {\"mode\": \"etag\", \"value\": \"auto\"}],\n"
             "\"/acme/drop2/resolve/main/model.safetensors\": [{\"mode\": \"drop\", \"after\": "
             "900000, \"times\": 1}],\n"
             "\"/acme/badsum/resolve/main/model.safetensors\": [{\"mode\": \"etag\", \"value\": "
             "\"%s\"}],\n"
             "\"/acme/private/resolve/main/config.json\": [{\"mode\": \"auth\", \"token\": "
             "\"sekrit\"}],\n"
             "\"/acme/private/resolve/main/model.safetensors\": [{\"mode\": \"auth\", \"token\": "
             "\"sekrit\"}],\n"
             "\"/acme/stall/resolve/main/model.safetensors\": [{\"mode\": \"stall\", "
             "\"seconds\": 30}],\n"
             "\"/acme/flaky/resolve/main/config.json\": [{\"mode\": \"status\", \"code\": 503, "
             "\"times\": 2}],\n"
             "\"/acme/redir/resolve/main/config.json\": [{\"mode\": \"redirect\", \"to\": "
             "\"/cdn/blobs/config-redir\"}],\n"
             "\"/acme/redir/resolve/main/model.safetensors\": [{\"mode\": \"redirect\", \"to\": "
             "\"/cdn/blobs/weights-redir\"}, {\"mode\": \"etag\", \"value\": \"%s\"}],\n"
             "\"/acme/badredir/resolve/main/model.safetensors\": [{\"mode\": \"redirect\", "
             "\"to\": \"/cdn/blobs/weights-redir\"}, {\"mode\": \"etag\", \"value\": \"%s\"}]}\n",
             ZERO_SHA, etag, ZERO_SHA);
    ck_write(srv.control, ctl, strlen(ctl));
    free(a);
    free(b);
    free(big);
}

static void test_sharded(void)
{
    ck_begin("fetch model: config, index, every shard once, optional files (404 is fine)");
    int rc = fetch_model("acme/sharded", NULL, NULL);
    CK(rc == 0, "exit %d: %s", rc, errbuf);
    const char *files[] = {"config.json", "model.safetensors.index.json",
                           "model-00001-of-00002.safetensors",
                           "model-00002-of-00002.safetensors", "tokenizer.json",
                           "chat_template.jinja"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        CK(same_as_served("acme/sharded", files[i]), "%s: missing or different", files[i]);
    CK(!hub_exists(cached("acme/sharded", "generation_config.json")),
       "a file the server does not have was created");
    CK(log_count("model-00001-of-00002.safetensors", NULL) == 1, "shard 1 fetched %d times",
       log_count("model-00001-of-00002.safetensors", NULL));
    int c, p;
    repo_files("acme/sharded", &c, &p);
    CK(c == 6 && p == 0, "%d complete and %d partial files", c, p);
    char *out = ck_slurp(outp, NULL);
    char want[1200];
    snprintf(want, sizeof want, "%s/models--acme--sharded/snapshots/main\n", cache);
    CK(out && !strcmp(out, want), "stdout '%s', expected the snapshot directory", out);
    free(out);
    ck_end();
}

static void test_resume(void)
{
    ck_begin("interrupted transfer: retried with Range from the .part, sha256 (X-Linked-Etag) "
             "verified");
    int rc = fetch_model("acme/drop", NULL, NULL);
    CK(rc == 0, "exit %d: %s", rc, errbuf);
    CK(same_as_served("acme/drop", "model.safetensors"), "content differs");
    CK(log_count("/acme/drop/resolve/main/model.safetensors", "\"range\": \"bytes=700000-\"") ==
           1, "no resumed request with Range: bytes=700000-");
    CK(strstr(errbuf, "resuming model.safetensors at byte 700000") != NULL,
       "no resume message: %s", errbuf);
    ck_end();

    ck_begin("interrupted transfer with no retries: no complete file; the next run resumes");
    rc = fetch_model("acme/drop2", "--retries", "0");
    CK(rc == 1, "first run exit %d, expected 1", rc);
    CK(!hub_exists(cached("acme/drop2", "model.safetensors")),
       "a failed download left a file under its final name");
    char part[1300];
    snprintf(part, sizeof part, "%s.part", cached("acme/drop2", "model.safetensors"));
    CK(hub_exists(part), "the partial download was not kept for resuming");
    rc = fetch_model("acme/drop2", NULL, NULL);
    CK(rc == 0, "second run exit %d: %s", rc, errbuf);
    CK(same_as_served("acme/drop2", "model.safetensors"), "content differs");
    CK(log_count("/acme/drop2/resolve/main/model.safetensors", "bytes=900000-") == 1,
       "the second run did not resume at byte 900000");
    CK(!hub_exists(part), "the .part is still there after success");
    ck_end();
}

static void test_badsum(void)
{
    ck_begin("wrong content: checksum error, nothing left in the cache");
    int rc = fetch_model("acme/badsum", NULL, NULL);
    CK(rc == 1, "exit %d, expected 1", rc);
    CK(strstr(errbuf, "checksum mismatch") != NULL, "message: %s", errbuf);
    CK(!hub_exists(cached("acme/badsum", "model.safetensors")), "the bad file was kept");
    int c, p;
    repo_files("acme/badsum", &c, &p);
    CK(c == 1 && p == 0, "%d complete (only config.json expected) and %d partial files", c, p);
    ck_end();

    ck_begin("redirect whose X-Linked-Etag does not match: checksum error, nothing left");
    rc = fetch_model("acme/badredir", NULL, NULL);
    CK(rc == 1 && strstr(errbuf, "checksum mismatch"), "exit %d: %s", rc, errbuf);
    repo_files("acme/badredir", &c, &p);
    CK(c == 1 && p == 0, "%d complete and %d partial files", c, p);
    ck_end();
}

static void test_404(void)
{
    ck_begin("404: clear error, nothing in the cache");
    int rc = fetch_model("acme/nothing", NULL, NULL);
    CK(rc == 1, "exit %d, expected 1", rc);
    CK(strstr(errbuf, "404") != NULL, "message: %s", errbuf);
    CK(log_count("/acme/nothing/", NULL) == 1, "404 was retried (%d requests)",
       log_count("/acme/nothing/", NULL));
    int c, p;
    repo_files("acme/nothing", &c, &p);
    CK(c == 0 && p == 0, "%d complete and %d partial files", c, p);
    ck_end();
}

static void test_401(void)
{
    ck_begin("401 without a token / with a wrong token; the right HF_TOKEN works");
    unsetenv("HF_TOKEN");
    int rc = fetch_model("acme/private", NULL, NULL);
    CK(rc == 1 && strstr(errbuf, "401") && strstr(errbuf, "HF_TOKEN"), "no token: exit %d: %s",
       rc, errbuf);
    CK(log_count("/acme/private/resolve/main/config.json", NULL) == 1, "401 was retried");
    int c, p;
    repo_files("acme/private", &c, &p);
    CK(c == 0 && p == 0, "no token: %d complete and %d partial files", c, p);
    setenv("HF_TOKEN", "wrong", 1);
    rc = fetch_model("acme/private", NULL, NULL);
    CK(rc == 1 && strstr(errbuf, "401") && strstr(errbuf, "not accepted"),
       "wrong token: exit %d: %s", rc, errbuf);
    repo_files("acme/private", &c, &p);
    CK(c == 0 && p == 0, "wrong token: %d complete and %d partial files", c, p);
    setenv("HF_TOKEN", "sekrit", 1);
    rc = fetch_model("acme/private", NULL, NULL);
    CK(rc == 0, "right token: exit %d: %s", rc, errbuf);
    CK(same_as_served("acme/private", "model.safetensors"), "content differs");
    CK(log_count("/acme/private/resolve/main/model.safetensors\"", "Bearer sekrit") == 1,
       "the bearer header was not sent");
    unsetenv("HF_TOKEN");
    ck_end();
}

static void test_stall(void)
{
    ck_begin("a server that stalls after the headers: low-speed timeout, retried, no file");
    int rc = fetch_model("acme/stall", "--retries", "1");
    CK(rc == 1, "exit %d, expected 1", rc);
    CK(strstr(errbuf, "Timeout") || strstr(errbuf, "timeout") || strstr(errbuf, "too slow"),
       "message: %s", errbuf);
    CK(strstr(errbuf, "giving up after 2 tries") != NULL, "not retried once: %s", errbuf);
    CK(!hub_exists(cached("acme/stall", "model.safetensors")), "a complete-looking file");
    ck_end();
}

static void test_redirect(void)
{
    ck_begin("302 redirects are followed; X-Linked-Etag of the redirect verifies the body");
    int rc = fetch_model("acme/redir", NULL, NULL);
    CK(rc == 0, "exit %d: %s", rc, errbuf);
    size_t n;
    char *s = ck_slurp(cached("acme/redir", "config.json"), &n);
    CK(s && strstr(s, "redirected"), "config.json is not the redirect target");
    free(s);
    char *w = ck_slurp(cached("acme/redir", "model.safetensors"), &n);
    char *want = blob(2500000, 3);
    CK(w && n == 2500000 && !memcmp(w, want, n), "weights differ");
    free(w);
    free(want);
    ck_end();
}

static void test_transient(void)
{
    ck_begin("HTTP 503 twice, then 200: retried with backoff");
    int rc = fetch_model("acme/flaky", NULL, NULL);
    CK(rc == 0, "exit %d: %s", rc, errbuf);
    CK(log_count("/acme/flaky/resolve/main/config.json", NULL) == 3,
       "%d requests, expected 3", log_count("/acme/flaky/resolve/main/config.json", NULL));
    ck_end();
}

static void test_offline(void)
{
    ck_begin("offline mode: cached model with no request; missing one fails clearly");
    int before = log_count("\"path\"", NULL);
    setenv("ZEVAL_OFFLINE", "1", 1);
    int rc = fetch_model("acme/sharded", NULL, NULL);
    CK(rc == 0, "cached: exit %d: %s", rc, errbuf);
    unsetenv("ZEVAL_OFFLINE");
    rc = fetch_model("acme/uncached", "--offline", NULL);
    CK(rc == 1 && strstr(errbuf, "offline") && strstr(errbuf, "not in the cache"),
       "uncached: exit %d: %s", rc, errbuf);
    CK(log_count("\"path\"", NULL) == before, "offline mode made requests");
    ck_end();
}

static void test_hostile(void)
{
    ck_begin("hostile index (shard '../../..'), bad repo ids and revisions are rejected");
    int rc = fetch_model("acme/evil", NULL, NULL);
    CK(rc == 1 && strstr(errbuf, "not a safe relative file path"), "evil index: exit %d: %s",
       rc, errbuf);
    CK(!hub_exists("/tmp/zeval-evil"), "wrote outside the cache");
    rc = fetch_model("../etc", NULL, NULL);
    CK(rc == 1 && strstr(errbuf, "not a repository id"), "bad repo: exit %d: %s", rc, errbuf);
    rc = fetch_model("acme/sharded@../../x", NULL, NULL);
    CK(rc == 1 && strstr(errbuf, "revision"), "bad revision: exit %d: %s", rc, errbuf);
    ck_end();
}

int main(void)
{
    test_sha256(0);
    test_sha256(1);
    snprintf(tmp, sizeof tmp, "%s", ck_tmpdir());
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    snprintf(outp, sizeof outp, "%s/stdout", tmp);
    if (hub_start(&srv, tmp)) {
        ck_begin("loopback hub server");
        CK(0, "could not start python3 tests/hub_server.py");
        ck_end();
        ck_rmtree(tmp);
        return ck_status();
    }
    setenv("HF_ENDPOINT", srv.url, 1);
    char gh[128];
    snprintf(gh, sizeof gh, "%s/gh", srv.url);
    setenv("ZEVAL_GITHUB_RAW", gh, 1);
    setenv("ZEVAL_FETCH_BACKOFF_MS", "20", 1);
    setenv("ZEVAL_FETCH_RETRIES", "3", 1);
    setenv("ZEVAL_FETCH_STALL_TIMEOUT", "2", 1);
    setenv("ZEVAL_FETCH_CONNECT_TIMEOUT", "5", 1);
    unsetenv("HF_TOKEN");
    unsetenv("ZEVAL_OFFLINE");
    setup_server_files();
    test_sharded();
    test_resume();
    test_badsum();
    test_404();
    test_401();
    test_stall();
    test_redirect();
    test_transient();
    test_offline();
    test_hostile();
    hub_stop(&srv);
    if (!getenv("ZEVAL_TEST_KEEP"))
        ck_rmtree(tmp);
    return ck_status();
}
