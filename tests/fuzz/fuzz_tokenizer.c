/*
 * fuzz_tokenizer.c — libFuzzer target for the tokenizer on the real Gemma 3
 * tokenizer.json ($ZEVAL_FUZZ_TOKENIZER).  The first byte picks the case:
 *   even: the rest is text: encode (with and without the special tokens)
 *         never fails; every id is in the vocabulary; valid UTF-8 without
 *         U+2581 (the normalizer's space) decodes back to itself;
 *   odd:  the rest is 3-byte ids (modulo vocabulary + 8, so some are
 *         unknown): the streaming decoder's pieces, concatenated, equal
 *         tok_decode of the same ids, with and without special tokens.
 */
#include "../../engine/tokenizer.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tok_tokenizer *g_tok;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *path = getenv("ZEVAL_FUZZ_TOKENIZER");
    char err[512];
    if (!path || tok_load(path, &g_tok, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_tokenizer: set ZEVAL_FUZZ_TOKENIZER to a tokenizer.json (%s)\n",
                path ? err : "unset");
        exit(2);
    }
    return 0;
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF)
 * without U+2581. */
static int plain_utf8(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t k = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                              : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (!k || i + k > n)
            return 0;
        uint32_t cp = k == 1 ? c : c & (0x7f >> k);
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < least[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0x2581)
            return 0;
        i += k;
    }
    return 1;
}

static void text_case(const uint8_t *data, size_t size)
{
    int vocab = tok_vocab_size(g_tok);
    char err[512];
    for (int special = 0; special < 2; special++) {
        int32_t *ids = NULL;
        size_t n = 0;
        if (tok_encode(g_tok, (const char *)data, size, special, &ids, &n, err, sizeof err) != 0) {
            fprintf(stderr, "encode failed: %s\n", err);
            abort();
        }
        for (size_t i = 0; i < n; i++)
            if (ids[i] < 0 || ids[i] >= vocab)
                abort();
        if (!special && plain_utf8(data, size)) {
            char *text = NULL;
            size_t len = 0;
            if (tok_decode(g_tok, ids, n, 0, &text, &len, err, sizeof err) != 0)
                abort();
            if (len != size || memcmp(text, data, size) != 0) {
                fprintf(stderr, "decode(encode(x)) != x: %zu bytes in, %zu out\n", size, len);
                abort();
            }
            free(text);
        }
        free(ids);
    }
}

static void ids_case(const uint8_t *data, size_t size)
{
    int vocab = tok_vocab_size(g_tok);
    size_t n = size / 3;
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids)
        return;
    for (size_t i = 0; i < n; i++)
        ids[i] = (int32_t)(((uint32_t)data[3 * i] | (uint32_t)data[3 * i + 1] << 8 |
                            (uint32_t)data[3 * i + 2] << 16) % (uint32_t)(vocab + 8));
    char err[512];
    for (int skip = 0; skip < 2; skip++) {
        char *text = NULL;
        size_t len = 0;
        if (tok_decode(g_tok, ids, n, skip, &text, &len, err, sizeof err) != 0)
            abort();
        tok_stream *st = tok_stream_new(g_tok, skip);
        char *cat = malloc(len + 1);
        size_t got = 0;
        if (!st || !cat)
            abort();
        for (size_t i = 0; i <= n; i++) {
            const char *piece;
            size_t plen;
            if ((i < n ? tok_stream_push(st, ids[i], &piece, &plen)
                       : tok_stream_finish(st, &piece, &plen)) != 0)
                abort();
            if (got + plen > len || piece[plen] != 0) { /* <0x00> is a NUL inside */
                fprintf(stderr, "stream gave more than decode, or a piece not terminated\n");
                abort();
            }
            memcpy(cat + got, piece, plen);
            got += plen;
        }
        if (got != len || memcmp(cat, text, len) != 0) {
            fprintf(stderr, "stream pieces != tok_decode (%zu vs %zu bytes)\n", got, len);
            abort();
        }
        tok_stream_free(st);
        free(cat);
        free(text);
    }
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] % 2 == 0)
        text_case(data + 1, size - 1);
    else
        ids_case(data + 1, size - 1);
    return 0;
}
