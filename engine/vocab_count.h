/*
 * vocab_count.h — how many token ids a Hugging Face tokenizer.json uses,
 * without building the tokenizer.
 *
 * One pass over the file with a small structural JSON scanner (strings,
 * nesting and numbers only): the Gemma-3 file (33 MB) takes a few tens of
 * milliseconds and no memory beyond the file itself.  The loader uses it
 * to refuse a checkpoint whose tokenizer can emit ids past vocab_size.
 */
#ifndef ZEVAL_VOCAB_COUNT_H
#define ZEVAL_VOCAB_COUNT_H

#include <stddef.h>

/*
 * *n_ids = 1 + the largest id in model.vocab (an object of token -> id,
 * as in BPE/WordPiece/WordLevel models; for a Unigram list of [piece,
 * score] pairs, the list length counts) and in added_tokens[].id; 0 when
 * neither has any.  Malformed JSON is an error naming the byte offset.
 */
int eng_tokenizer_json_ids(const char *path, long *n_ids, char *err, size_t errlen);

#endif
