/*
 * sha256.h — SHA-256 (FIPS 180-4), streaming, no external dependency.
 *
 * Used by the fetcher to verify downloads and by the dataset registry for
 * checksums over files and normalized records.  On x86-64 CPUs with the SHA
 * extensions the compression function uses them (about 5x faster); the
 * portable code is used otherwise, or when ZEVAL_SHA256_PORTABLE=1.
 */
#ifndef ZEVAL_SHA256_H
#define ZEVAL_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];
    uint64_t nbytes;      /* total bytes hashed so far */
    unsigned char buf[64];
    size_t nbuf;          /* bytes waiting in buf */
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t n);
/* Writes the 32-byte digest; the context must be re-initialised to reuse it. */
void sha256_final(sha256_ctx *c, unsigned char out[32]);

/* Lowercase hex of a 32-byte digest into out (65 bytes incl. NUL). */
void sha256_hex(const unsigned char digest[32], char out[65]);

/* One-shot: hex digest of data[0..n). */
void sha256_hex_of(const void *data, size_t n, char out[65]);

/* Hashes a whole file into out (hex); 0, or -1 with a message naming it. */
int sha256_file(const char *path, char out[65], char *err, size_t errlen);

/* 1 if s is 64 hex digits (either case). */
int sha256_is_hex(const char *s);

/* Tests: 1 forces the portable code even where SHA-NI is available. */
void sha256_force_portable(int on);

/* Name of the compression code in use: "sha-ni" or "portable". */
const char *sha256_impl(void);

#endif
