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
 * malloc'd (caller frees).  Exact (Hugging Face's ids); working memory is
 * about 12 bytes per character of the longest word plus 4 per id, time
 * O(n log n) in the longest word.  Safe to call from several threads on
 * one tokenizer. */
int tok_encode(const tok_tokenizer *t, const char *text, size_t len, int add_special,
               int32_t **ids, size_t *n, char *err, size_t errlen);

/* Decodes ids (unknown ids contribute nothing); *text malloc'd and
 * NUL-terminated, *len its length. */
int tok_decode(const tok_tokenizer *t, const int32_t *ids, size_t n, int skip_special,
               char **text, size_t *len, char *err, size_t errlen);

/*
 * Streaming decode, for printing ids as they are generated.  The
 * concatenation of everything tok_stream_push and tok_stream_finish hand
 * out equals tok_decode of the same ids, and every chunk is whole UTF-8
 * characters (pieces are valid UTF-8).  A run of byte pieces (<0xNN>) is
 * held back until a piece that is not a byte piece ends it (or until
 * finish): Hugging Face's rule turns the whole run into one U+FFFD per
 * byte when any part of it is invalid, so no prefix of a run is final
 * before the run ends.  Unknown ids, and special ids when skip_special,
 * neither print nor end a run, as in tok_decode.
 */
typedef struct tok_stream tok_stream;

/* A decoder for t (borrowed: it must outlive the stream); NULL on OOM. */
tok_stream *tok_stream_new(const tok_tokenizer *t, int skip_special);
/* Feeds one id; *out (NUL-terminated, owned by st, valid until the next
 * call on st) and *outlen get the text this id completes, possibly
 * empty.  0, or -1 when out of memory. */
int tok_stream_push(tok_stream *st, int32_t id, const char **out, size_t *outlen);
/* Flushes a pending byte run (valid UTF-8 as is, else U+FFFD per byte).
 * The stream can be fed again afterwards. */
int tok_stream_finish(tok_stream *st, const char **out, size_t *outlen);
void tok_stream_free(tok_stream *st);

/* The id of a piece or added token string, or -1. */
int32_t tok_piece_id(const tok_tokenizer *t, const char *s, size_t len);

#endif
