/*
 * test_tokstream.c — streaming decode, and hostile input through the
 * `zeval tokenize` command line: NUL bytes and invalid UTF-8 on stdin,
 * "\u0000", surrogate pairs and lone surrogates in --jsonl, a long single
 * word and many added-token occurrences (no crash, bounded memory).
 *
 * Streaming invariant: for every golden.jsonl line and every
 * decode_golden.jsonl case, with and without skip_special, the chunks the
 * stream hands out, joined, equal tok_decode of the whole id list, and
 * every chunk is whole UTF-8 characters.
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "../engine/tokenizer.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static tok_tokenizer *tk;
static const char *tj;
static char dir[600]; /* this run's scratch directory */

/* Is s[0..n) a sequence of whole, valid UTF-8 characters? */
static int whole_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t l = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
                 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        if (!l || i + l > n)
            return 0;
        for (size_t k = 1; k < l; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
        i += l;
    }
    return 1;
}

/* Streams ids one by one; 1 if the joined chunks equal tok_decode and
 * every chunk is whole characters. */
static int stream_ok(const int32_t *ids, size_t n, int skip, char *why, size_t whylen)
{
    char *want = NULL, err[200];
    size_t wl;
    if (tok_decode(tk, ids, n, skip, &want, &wl, err, sizeof err)) {
        snprintf(why, whylen, "tok_decode: %.200s", err);
        return 0;
    }
    tok_stream *st = tok_stream_new(tk, skip);
    char *got = malloc(wl + 1);
    size_t gl = 0;
    int ok = st && got;
    for (size_t i = 0; ok && i <= n; i++) {
        const char *c;
        size_t cl;
        if ((i < n ? tok_stream_push(st, ids[i], &c, &cl) : tok_stream_finish(st, &c, &cl)) ||
            gl + cl > wl || !whole_utf8((const unsigned char *)c, cl) || strlen(c) > cl) {
            snprintf(why, whylen, "chunk %zu: too long, not whole UTF-8, or push failed", i);
            ok = 0;
            break;
        }
        memcpy(got + gl, c, cl);
        gl += cl;
    }
    if (ok && (gl != wl || memcmp(got, want, wl) != 0)) {
        snprintf(why, whylen, "joined chunks differ from tok_decode (%zu vs %zu bytes)", gl, wl);
        ok = 0;
    }
    tok_stream_free(st);
    free(got);
    free(want);
    return ok;
}

static int32_t *json_ids(const cJSON *a, size_t *n)
{
    *n = (size_t)cJSON_GetArraySize(a);
    int32_t *v = malloc((*n + 1) * sizeof *v);
    size_t k = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) v[k++] = (int32_t)e->valuedouble;
    return v;
}

/* Streams the "ids" of every line of a JSONL file; returns lines checked. */
static int stream_file(const char *rel)
{
    size_t n;
    char *b = ck_slurp(ck_shared(rel), &n), why[256];
    int lines = 0;
    for (char *p = b, *e; b && p < b + n; p = e + 1) {
        e = memchr(p, '\n', (size_t)(b + n - p));
        if (!e)
            e = b + n;
        *e = 0;
        cJSON *j = cJSON_Parse(p);
        const cJSON *a = j ? cJSON_GetObjectItem(j, "ids") : NULL;
        if (cJSON_IsArray(a)) {
            size_t k;
            int32_t *ids = json_ids(a, &k);
            for (int skip = 0; skip < 2; skip++)
                CK(stream_ok(ids, k, skip, why, sizeof why), "%s line %d (skip_special %d): %s",
                   rel, lines + 1, skip, why);
            free(ids);
            lines++;
        }
        cJSON_Delete(j);
    }
    free(b);
    return lines;
}

/* Runs sh -c cmd; its stdout is returned (malloc'd), *rc the status. */
static char *sh(const char *cmd, int *rc, char *e2, size_t e2len)
{
    char out[700];
    snprintf(out, sizeof out, "%s/out", dir);
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    *rc = ck_run(argv, out, e2, e2len);
    return ck_slurp(out, NULL);
}

/* zeval tokenize of a file; its output, *rc the exit status. */
static char *tokenize_file(const char *path, const char *flags, int *rc, char *e2, size_t e2len)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' tokenize --tokenizer '%s' %s < '%s'", ck_zeval(), tj, flags, path);
    return sh(cmd, rc, e2, e2len);
}

/* Runs zeval tokenize < in > out; returns its peak RSS in bytes
 * (wait4's ru_maxrss, which includes what the forked child held before
 * exec: call this while the test process is still small), -1 if it did
 * not exit with status 0. */
static double tokenize_peak(const char *in, const char *out)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fi = open(in, O_RDONLY), fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fi < 0 || fo < 0 || dup2(fi, 0) < 0 || dup2(fo, 1) < 0)
            _exit(127);
        execl(ck_zeval(), ck_zeval(), "tokenize", "--tokenizer", tj, (char *)NULL);
        _exit(127);
    }
    int st;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    return (double)ru.ru_maxrss * 1024.0;
}

int main(void)
{
    char err[1024], tjb[1024], e2[2048];
    snprintf(tjb, sizeof tjb, "%s", ck_shared("tokenizer/gemma3/tokenizer.json"));
    tj = tjb;
    char f[700];
    int rc;
    char *got;
    snprintf(dir, sizeof dir, "%s", ck_tmpdir());
    snprintf(f, sizeof f, "%s/in", dir);

    /* First, while this process is small (see tokenize_peak). */
#if defined(__SANITIZE_ADDRESS__)
    const size_t word = 1u << 20, reps = 100000; /* keep the sanitizer run short */
    const int check_mem = 0;
#else
    const size_t word = 10u << 20, reps = 1000000;
    const int check_mem = 1;
#endif
    ck_begin("cli: a %zu MB single word and %zu added tokens: no crash, peak RSS < 20x input + vocab",
             word >> 20, reps);
    {
        ck_write(f, "", 0);
        got = tokenize_file(f, "", &rc, e2, sizeof e2); /* writes the binary cache */
        free(got);
        char of[720];
        snprintf(of, sizeof of, "%s/ids", dir);
        double base = tokenize_peak(f, of); /* the loaded tokenizer's footprint */
        char *w = malloc(word);
        for (size_t i = 0; i < word; i++)
            w[i] = "abcdefghijklmnopqrstuvwxyz"[(i * 2654435761u >> 7) % 26];
        ck_write(f, w, word);
        free(w);
        double peak = tokenize_peak(f, of);
        got = ck_slurp(of, NULL);
        CK(got && strlen(got) > word / 8 && base > 0 && peak > 0, "tokenize failed");
        printf("# %zu MB word: peak RSS %.0f MB, base %.0f MB, (peak - base) / input = %.1f\n",
               word >> 20, peak / 1e6, base / 1e6, (peak - base) / (double)word);
        if (check_mem)
            CK(peak < base + 20.0 * (double)word, "peak %.0f MB", peak / 1e6);
        free(got);
        const char *tag = "<start_of_turn>";
        size_t tl = strlen(tag);
        w = malloc(reps * tl);
        CK(w != NULL, "out of memory");
        if (w) {
            for (size_t i = 0; i < reps; i++)
                memcpy(w + i * tl, tag, tl);
            ck_write(f, w, reps * tl);
            got = tokenize_file(f, "", &rc, e2, sizeof e2);
            size_t cnt = 0;
            for (char *q = got; q && (q = strstr(q, "105")); q += 3)
                cnt++;
            CK(rc == 0 && cnt == reps, "exit %d, %zu ids of 105 %s", rc, cnt, e2);
            free(got);
        }
        free(w);
    }
    ck_end();
    ck_begin("load the Gemma 3 tokenizer");
    CK(tok_load(tj, &tk, err, sizeof err) == 0, "%s", err);
    if (!ck_end())
        return 1;

    ck_begin("stream: every golden.jsonl line joins to tok_decode, chunks whole UTF-8");
    int lines = stream_file("tokenizer/gemma3/golden.jsonl");
    CK(lines > 100, "only %d lines", lines);
    ck_end();
    ck_begin("stream: every decode_golden.jsonl case joins to tok_decode, chunks whole UTF-8");
    lines = stream_file("tokenizer/gemma3/decode_golden.jsonl");
    CK(lines > 20, "only %d lines", lines);
    ck_end();

    ck_begin("stream: a byte-fallback run is held until it ends, then printed whole");
    {
        /* "𝔘" as <0xF0><0x9D><0x94><0x98>, then "a", then a broken run */
        int32_t ids[] = {478, 395, 386, 390, 236746, 238 + 0xC3, 238 + 0xA9, 238 + 0xFF};
        tok_stream *st = tok_stream_new(tk, 0);
        const char *c;
        size_t cl;
        for (int i = 0; i < 4; i++)
            CK(tok_stream_push(st, ids[i], &c, &cl) == 0 && cl == 0, "byte %d printed early", i);
        CK(tok_stream_push(st, ids[4], &c, &cl) == 0 && cl == 5 && memcmp(c, "\xF0\x9D\x94\x98" "a", 5) == 0,
           "run + 'a' not printed whole");
        for (int i = 5; i < 8; i++)
            CK(tok_stream_push(st, ids[i], &c, &cl) == 0 && cl == 0, "byte %d printed early", i);
        /* é then 0xFF: the whole run is broken -> one U+FFFD per byte */
        CK(tok_stream_finish(st, &c, &cl) == 0 && cl == 9 &&
               memcmp(c, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 9) == 0, "finish: %zu bytes", cl);
        CK(tok_stream_finish(st, &c, &cl) == 0 && cl == 0, "second finish not empty");
        /* special ids skipped do not end a run; unknown ids print nothing */
        tok_stream_free(st);
        st = tok_stream_new(tk, 1);
        int32_t ids2[] = {238 + 0xC3, 2, 999999, 238 + 0xA9, 106};
        size_t tot = 0;
        char buf[16];
        for (int i = 0; i < 5; i++) {
            CK(tok_stream_push(st, ids2[i], &c, &cl) == 0, "push");
            if (tot + cl < sizeof buf)
                memcpy(buf + tot, c, cl);
            tot += cl;
        }
        CK(tok_stream_finish(st, &c, &cl) == 0, "finish");
        if (tot + cl < sizeof buf)
            memcpy(buf + tot, c, cl);
        tot += cl;
        CK(tot == 2 && memcmp(buf, "\xC3\xA9", 2) == 0, "skipped specials split the run (%zu bytes)", tot);
        tok_stream_free(st);
    }
    ck_end();

    ck_begin("cli: NUL bytes and invalid UTF-8 on stdin go through byte fallback");
    ck_write(f, "a\0b\xFF\xC3", 5);
    got = tokenize_file(f, "", &rc, e2, sizeof e2);
    CK(rc == 0 && got && strcmp(got, "236746 238 236763 493 433\n") == 0, "exit %d, '%s' %s", rc,
       got ? got : "", e2);
    free(got);
    ck_end();

    ck_begin("cli: --jsonl decodes \\u0000, surrogate pairs and lone surrogates (U+FFFD)");
    {
        const char *j = "{\"id\": 1, \"text\": \"a\\u0000b\\ud835\\udd18\", \"meta\": [1, {\"x\": null}]}\n"
                        "{\"text\": \"\\ud800x\\\"\\n\", \"text\": \"ignored\"}\n";
        ck_write(f, j, strlen(j));
        got = tokenize_file(f, "--jsonl", &rc, e2, sizeof e2);
        /* "a" NUL "b" U+1D518 (byte fallback) / U+FFFD "x" quote newline */
        CK(rc == 0 && got && strcmp(got, "{\"ids\": [236746, 238, 236763, 478, 395, 386, 390]}\n"
                                          "{\"ids\": [238479, 236781, 236775, 107]}\n") == 0,
           "exit %d, '%s' %s", rc, got ? got : "", e2);
        free(got);
        ck_write(f, "\xEF\xBF\xBDx\"\n", 6); /* the same text as raw bytes */
        got = tokenize_file(f, "", &rc, e2, sizeof e2);
        CK(rc == 0 && got && strcmp(got, "238479 236781 236775 107\n") == 0, "raw: '%s'", got ? got : "");
        free(got);
        const char *badj[] = {"{\"text\": \"a\\u00\"}\n", "{\"text\": \"a\n", "{\"text\": \"a\"} x\n",
                              "[\"text\"]\n", "{\"txt\": \"a\"}\n"};
        for (size_t i = 0; i < sizeof badj / sizeof badj[0]; i++) {
            ck_write(f, badj[i], strlen(badj[i]));
            got = tokenize_file(f, "--jsonl", &rc, e2, sizeof e2);
            CK(rc == 1 && strstr(e2, "line 1"), "bad line %zu accepted: exit %d %s", i, rc, e2);
            free(got);
        }
    }
    ck_end();

    ck_rmtree(dir);
    tok_free(tk);
    return ck_status();
}
