/*
 * tokenizer.h — Hugging Face tokenizer.json (BPE with merges, byte
 * fallback, added tokens) in C: exact encode and decode for the Gemma 3
 * family (../shared/tokenizer/gemma3/README.md describes the algorithm).
 *
 * Nothing is tied to Gemma's ids: added tokens, byte pieces (<0xNN>), the
 * space replacement of the normalizer and the post-processor template are
 * all read from the file.
 */
#ifndef ZEVAL_TOKENIZER_H
#define ZEVAL_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

typedef struct tok_tokenizer tok_tokenizer;

/* Loads a tokenizer.json file, or DIR/tokenizer.json when path is a
 * directory. */
int tok_load(const char *path, tok_tokenizer **out, char *err, size_t errlen);
void tok_free(tok_tokenizer *t);

/* Number of ids (max id + 1). */
int tok_vocab_size(const tok_tokenizer *t);

/* Encodes text[0..len) (any bytes; invalid UTF-8 goes through byte
 * fallback).  add_special adds the post-processor's tokens.  *ids is
 * malloc'd (caller frees). */
int tok_encode(const tok_tokenizer *t, const char *text, size_t len, int add_special,
               int32_t **ids, size_t *n, char *err, size_t errlen);

/* Decodes ids (unknown ids contribute nothing); *text malloc'd and
 * NUL-terminated, *len its length. */
int tok_decode(const tok_tokenizer *t, const int32_t *ids, size_t n, int skip_special,
               char **text, size_t *len, char *err, size_t errlen);

/* The id of a piece or added token string, or -1. */
int32_t tok_piece_id(const tok_tokenizer *t, const char *s, size_t len);

#endif
