/*
 * test_tokenizer.c — the C tokenizer against Hugging Face's outputs for
 * the Gemma 3 tokenizer (../shared/tokenizer/gemma3): every golden
 * encoding, every golden decoding, round trips, and hostile inputs.
 */
#include "check.h"
#include "../engine/tokenizer.h"
#include "../engine/util.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

static tok_tokenizer *tk;

/* Calls fn on every parsed line of a JSONL file; returns the line count. */
static int each_line(const char *path, void (*fn)(const cJSON *, int *, int *), int *ok, int *bad)
{
    size_t n;
    char *b = ck_slurp(path, &n);
    if (!b)
        return -1;
    int lines = 0;
    for (char *p = b, *e; p < b + n; p = e + 1) {
        e = memchr(p, '\n', (size_t)(b + n - p));
        if (!e)
            e = b + n;
        *e = 0;
        /* cJSON strings end at a NUL: carry \u0000 through as U+FDD0 (a
         * noncharacter absent from the goldens) and map it back in unnul(). */
        for (char *q = strstr(p, "\\u0000"); q; q = strstr(q, "\\u0000"))
            memcpy(q, "\\uFDD0", 6);
        cJSON *j = cJSON_Parse(p);
        if (j) {
            fn(j, ok, bad);
            lines++;
        }
        cJSON_Delete(j);
    }
    free(b);
    return lines;
}

/* Copies s with every U+FDD0 turned back into a NUL byte; *n the length. */
static char *unnul(const char *s, size_t *n)
{
    size_t l = strlen(s), k = 0;
    char *o = malloc(l + 1);
    for (size_t i = 0; i < l;) {
        if (i + 3 <= l && memcmp(s + i, "\xEF\xB7\x90", 3) == 0) {
            o[k++] = 0;
            i += 3;
        } else
            o[k++] = s[i++];
    }
    o[k] = 0;
    *n = k;
    return o;
}

static int same_text(const char *got, size_t gl, const char *want_json)
{
    size_t wl;
    char *w = unnul(want_json, &wl);
    int r = gl == wl && memcmp(got, w, wl) == 0;
    free(w);
    return r;
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

static void enc_case(const cJSON *j, int *ok, int *bad)
{
    size_t tlen;
    char *text = unnul(cJSON_GetObjectItem(j, "text")->valuestring, &tlen);
    size_t nw, ng;
    int32_t *want = json_ids(cJSON_GetObjectItem(j, "ids"), &nw), *got = NULL;
    char err[256];
    int match = tok_encode(tk, text, tlen, 0, &got, &ng, err, sizeof err) == 0 &&
                ng == nw && memcmp(got, want, nw * sizeof *got) == 0;
    /* decode and decode(skip special) of the golden ids */
    char *txt = NULL;
    size_t tl;
    const cJSON *dec = cJSON_GetObjectItem(j, "decoded");
    if (match && cJSON_IsString(dec))
        match = tok_decode(tk, want, nw, 0, &txt, &tl, err, sizeof err) == 0 &&
                same_text(txt, tl, dec->valuestring);
    free(txt);
    txt = NULL;
    const cJSON *decs = cJSON_GetObjectItem(j, "decoded_skip_special");
    if (match && cJSON_IsString(decs))
        match = tok_decode(tk, want, nw, 1, &txt, &tl, err, sizeof err) == 0 &&
                same_text(txt, tl, decs->valuestring);
    free(txt);
    if (match && cJSON_IsTrue(cJSON_GetObjectItem(j, "roundtrip")))
        match = same_text(text, tlen, dec->valuestring);
    if (match)
        (*ok)++;
    else {
        if (*bad < 3)
            printf("  mismatch on golden id %d\n", cJSON_GetObjectItem(j, "id")->valueint);
        (*bad)++;
    }
    free(want);
    free(got);
    free(text);
}

static void dec_case(const cJSON *j, int *ok, int *bad)
{
    size_t n;
    int32_t *ids = json_ids(cJSON_GetObjectItem(j, "ids"), &n);
    int skip = cJSON_IsTrue(cJSON_GetObjectItem(j, "skip_special_tokens"));
    char *txt = NULL, err[256];
    size_t tl;
    const char *want = cJSON_GetObjectItem(j, "expected")->valuestring;
    if (tok_decode(tk, ids, n, skip, &txt, &tl, err, sizeof err) == 0 && same_text(txt, tl, want))
        (*ok)++;
    else {
        if (*bad < 3)
            printf("  decode mismatch: %s\n", cJSON_GetObjectItem(j, "note")->valuestring);
        (*bad)++;
    }
    free(txt);
    free(ids);
}

static int enc_eq(const char *s, size_t n, int add, const int32_t *want, size_t nw)
{
    int32_t *got = NULL;
    size_t ng;
    char err[256];
    int r = tok_encode(tk, s, n, add, &got, &ng, err, sizeof err) == 0 && ng == nw &&
            memcmp(got, want, nw * sizeof *got) == 0;
    free(got);
    return r;
}

/* The one cache file in dir (static buffer), or NULL. */
static const char *cache_file(const char *dir)
{
    static char p[1200];
    DIR *d = opendir(dir);
    struct dirent *e;
    const char *found = NULL;
    while (d && (e = readdir(d)))
        if (strncmp(e->d_name, "tok-", 4) == 0) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            found = p;
        }
    if (d)
        closedir(d);
    return found;
}

static void goldens(const char *how)
{
    int ok = 0, bad = 0;
    ck_begin("golden.jsonl (%s): ids, decode, decode skip-special and round trip identical", how);
    int lines = each_line(ck_shared("tokenizer/gemma3/golden.jsonl"), enc_case, &ok, &bad);
    CK(lines > 100 && bad == 0, "%d of %d lines differ", bad, lines);
    printf("# golden.jsonl (%s): %d/%d identical\n", how, ok, lines);
    ck_end();
    ok = bad = 0;
    ck_begin("decode_golden.jsonl (%s): text identical (U+FFFD per byte of a broken run)", how);
    lines = each_line(ck_shared("tokenizer/gemma3/decode_golden.jsonl"), dec_case, &ok, &bad);
    CK(lines > 20 && bad == 0, "%d of %d lines differ", bad, lines);
    ck_end();
}

int main(void)
{
    char err[1024], cdir[600], tjb[1024];
    snprintf(tjb, sizeof tjb, "%s", ck_shared("tokenizer/gemma3/tokenizer.json"));
    const char *tj = tjb;
    snprintf(cdir, sizeof cdir, "%s", ck_tmpdir());
    setenv("ZEVAL_CACHE_DIR", cdir, 1);
    ck_begin("load the Gemma 3 tokenizer.json (parse, then write the cache)");
    double t0 = ut_now();
    int rc = tok_load(tj, &tk, err, sizeof err);
    CK(rc == 0, "%s", err);
    if (rc == 0)
        CK(tok_vocab_size(tk) == 262145, "vocab size %d", tok_vocab_size(tk));
    printf("# parsed in %.3f s\n", ut_now() - t0);
    CK(cache_file(cdir) != NULL, "no cache written in %s", cdir);
    if (!ck_end())
        return 1;
    goldens("parsed");
    tok_free(tk);

    ck_begin("load again from the binary cache");
    t0 = ut_now();
    rc = tok_load(tj, &tk, err, sizeof err);
    CK(rc == 0 && tok_vocab_size(tk) == 262145, "%s", err);
    printf("# loaded from cache in %.3f s\n", ut_now() - t0);
    if (!ck_end())
        return 1;
    goldens("cached");

    ck_begin("a corrupt cache is ignored and rewritten");
    {
        const char *cf = cache_file(cdir);
        size_t cl = 0;
        char *cb = cf ? ck_slurp(cf, &cl) : NULL;
        CK(cb && cl > 4096, "cache unreadable");
        if (cb) {
            memset(cb + cl / 2, 0x5a, 4096); /* garbage in the tables */
            ck_write(cf, cb, cl);
            tok_tokenizer *t2 = NULL;
            rc = tok_load(tj, &t2, err, sizeof err);
            int32_t *ids = NULL;
            size_t n = 0;
            CK(rc == 0 && tok_encode(t2, "Hello, world!", 13, 0, &ids, &n, err, sizeof err) == 0 &&
                   n == 4 && ids[0] == 9259 && ids[3] == 236888, "wrong encoding after a corrupt cache");
            free(ids);
            tok_free(t2);
            size_t nl = 0;
            char *nb = ck_slurp(cf, &nl);
            CK(nb && nl == cl && memcmp(nb, cb, cl) != 0, "cache was not rewritten");
            free(nb);
            ck_write(cf, "ZTOK", 4); /* truncated */
            rc = tok_load(tj, &t2, err, sizeof err);
            CK(rc == 0, "truncated cache: %s", err);
            tok_free(t2);
        }
        free(cb);
    }
    ck_end();

    ck_begin("README examples, BOS from the post-processor, NUL and invalid UTF-8");
    CK(enc_eq("Hello, world!", 13, 1, (int32_t[]){2, 9259, 236764, 1902, 236888}, 5), "bos");
    CK(enc_eq("\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n", 40, 0,
              (int32_t[]){137, 115}, 2), "newline runs");
    CK(enc_eq("\xF0\x9D\x94\x98", 4, 0, (int32_t[]){478, 395, 386, 390}, 4), "byte fallback");
    CK(enc_eq("\0", 1, 0, (int32_t[]){238}, 1), "NUL");
    CK(enc_eq("\xFF" "a\xC3", 3, 0, (int32_t[]){238 + 0xFF, 236746, 238 + 0xC3}, 3),
       "invalid UTF-8 bytes go through byte fallback");
    ck_end();

    ck_begin("hostile: 4 MB single word and 100k added-token occurrences");
    size_t big = 4u << 20;
    char *w = malloc(big);
    memset(w, 'a', big);
    int32_t *ids = NULL;
    size_t n = 0;
    double t1 = ut_now();
    CK(tok_encode(tk, w, big, 0, &ids, &n, err, sizeof err) == 0 && n > 0 && n < big, "long word");
    char *txt = NULL;
    size_t tl = 0;
    CK(tok_decode(tk, ids, n, 0, &txt, &tl, err, sizeof err) == 0 && tl == big &&
           memcmp(txt, w, big) == 0, "long word round trip");
    printf("# 4 MB word: %zu ids in %.2f s\n", n, ut_now() - t1);
    free(txt);
    free(ids);
    const char *tag = "<start_of_turn>";
    size_t tagl = strlen(tag), reps = 100000;
    for (size_t i = 0; i < reps; i++)
        memcpy(w + i * tagl, tag, tagl);
    CK(tok_encode(tk, w, reps * tagl, 0, &ids, &n, err, sizeof err) == 0 && n == reps &&
           ids[0] == 105 && ids[reps - 1] == 105, "added tokens: %zu ids", n);
    free(ids);
    free(w);
    ck_end();

    ck_begin("cli: zeval tokenize / detokenize / --jsonl through the real binary");
    {
        const char *d = ck_tmpdir();
        char dir[600], cmd[4096], out[700], e2[2048];
        snprintf(dir, sizeof dir, "%s", d);
        snprintf(out, sizeof out, "%s/out", dir);

        snprintf(cmd, sizeof cmd, "printf ' Hello, world!\\n' | '%s' tokenize --tokenizer '%s' --add-special",
                 ck_zeval(), tj);
        char *argv1[] = {"sh", "-c", cmd, NULL};
        int r = ck_run(argv1, out, e2, sizeof e2);
        char *got = ck_slurp(out, NULL);
        CK(r == 0 && got && strcmp(got, "2 26352 236764 1902 236888 107\n") == 0,
           "tokenize: exit %d, output '%s' %s", r, got ? got : "", e2);
        free(got);
        snprintf(cmd, sizeof cmd, "echo '2 26352 236764 1902 236888 107' | '%s' detokenize --tokenizer '%s' --skip-special",
                 ck_zeval(), tj);
        r = ck_run(argv1, out, e2, sizeof e2);
        got = ck_slurp(out, NULL);
        CK(r == 0 && got && strcmp(got, " Hello, world!\n") == 0, "detokenize: '%s'", got ? got : "");
        free(got);
        snprintf(cmd, sizeof cmd, "printf '{\"text\": \"a  b\"}\\nnot json\\n' | '%s' tokenize --tokenizer '%s' --jsonl",
                 ck_zeval(), tj);
        r = ck_run(argv1, out, e2, sizeof e2);
        got = ck_slurp(out, NULL);
        CK(r == 1 && got && strcmp(got, "{\"ids\": [236746, 138, 236763]}\n") == 0 &&
               strstr(e2, "line 2"), "jsonl: exit %d, '%s', %s", r, got ? got : "", e2);
        free(got);
        ck_rmtree(dir);
    }
    ck_end();

    ck_begin("cli: generate --prompt equals generate --ids of the encoded prompt, decoded");
    {
        const char *d = ck_tmpdir();
        char dir[600], mdir[700], cmd[16384], out[700], e2[2048];
        snprintf(dir, sizeof dir, "%s", d);
        snprintf(mdir, sizeof mdir, "%s/m", dir);
        snprintf(out, sizeof out, "%s/out", dir);

        const char *z = ck_zeval();
        snprintf(cmd, sizeof cmd,
                 "'%s' init-model --config tiny --set num_hidden_layers=2 --dtype bf16 --seed 5 "
                 "--out '%s' --quiet && cp '%s' '%s/' && "
                 "'%s' generate --model '%s' --prompt 'Find x.' --max-tokens 6 --temperature 1 "
                 "--seed 9 --ignore-eos > '%s/a' && "
                 "'%s' generate --model '%s' --ids 2,11823,1123,236761 --max-tokens 6 --temperature 1 "
                 "--seed 9 --ignore-eos | '%s' detokenize --tokenizer '%s' --skip-special > '%s/b' && "
                 "echo >> '%s/b' && cmp '%s/a' '%s/b' && test -s '%s/a'",
                 z, mdir, tj, mdir, z, mdir, dir, z, mdir, z, tj, dir, dir, dir, dir, dir);
        char *argv1[] = {"sh", "-c", cmd, NULL};
        int r = ck_run(argv1, out, e2, sizeof e2);
        CK(r == 0, "exit %d: %s", r, e2);
        ck_rmtree(dir);
    }
    ck_end();

    ck_begin("malformed tokenizer.json is rejected with its file name");
    const char *tmp = ck_tmpdir();
    char p[600];
    snprintf(p, sizeof p, "%s/tokenizer.json", tmp);
    ck_write(p, "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [[\"a\", \"zz\"]]}}", 71);
    tok_tokenizer *bt = NULL;
    CK(tok_load(tmp, &bt, err, sizeof err) != 0 && strstr(err, "merges[0]") && strstr(err, "tokenizer.json"),
       "message: %s", err);
    ck_write(p, "{\"model\": ", 10);
    CK(tok_load(p, &bt, err, sizeof err) != 0 && strstr(err, "malformed JSON"), "message: %s", err);
    ck_rmtree(tmp);
    ck_end();
    tok_free(tk);
    ck_rmtree(cdir);
    return ck_status();
}
