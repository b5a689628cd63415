/*
 * fuzz_tokjson.c — libFuzzer target for loading tokenizer.json files: the
 * input is the file.  Loading must not crash or leak and must fail with a
 * message; a loaded tokenizer encodes a few strings (ids within its
 * vocabulary) and decodes them, whole and streamed, to the same text.
 */
#define _GNU_SOURCE
#include "../../engine/tokenizer.h"
#include "fuzz_file.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void use(const tok_tokenizer *t, const char *s)
{
    int vocab = tok_vocab_size(t);
    char err[512];
    for (int special = 0; special < 2; special++) {
        int32_t *ids = NULL;
        size_t n = 0;
        err[0] = 0;
        if (tok_encode(t, s, strlen(s), special, &ids, &n, err, sizeof err) != 0) {
            if (!err[0])
                abort();
            continue;
        }
        for (size_t i = 0; i < n; i++)
            if (ids[i] < 0 || ids[i] >= vocab)
                abort();
        char *text = NULL;
        size_t len = 0;
        if (tok_decode(t, ids, n, 0, &text, &len, err, sizeof err) == 0) {
            tok_stream *st = tok_stream_new(t, 0);
            size_t got = 0;
            int same = st != NULL;
            for (size_t i = 0; same && i <= n; i++) {
                const char *p;
                size_t pl;
                same = (i < n ? tok_stream_push(st, ids[i], &p, &pl)
                              : tok_stream_finish(st, &p, &pl)) == 0 &&
                       got + pl <= len && !memcmp(text + got, p, pl);
                got += pl;
            }
            if (!same || got != len)
                abort();
            tok_stream_free(st);
            free(text);
        }
        free(ids);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], err[512] = "";
    int fd = fuzz_mem_file(data, size, path);
    if (fd < 0)
        return 0;
    tok_tokenizer *t = NULL;
    if (tok_load(path, &t, err, sizeof err) != 0) {
        if (!err[0])
            abort();
    } else {
        use(t, "Hello, world!  <bos>abc ab\n\t\xc3\xa9\xff end");
        use(t, "");
        use(t, "   ");
        tok_free(t);
    }
    close(fd);
    return 0;
}
