/*
 * safetensors.h — read (mmap) and write safetensors files.
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON mapping
 * tensor names to {dtype, shape, data_offsets:[begin,end]} (offsets
 * relative to the byte after the header), optional "__metadata__", then
 * the raw little-endian data.
 *
 * st_open() validates everything a hostile file could get wrong before any
 * tensor is handed out: header length against the file size, JSON syntax,
 * every field's type, dtype names, shape × dtype size = byte span, spans
 * inside the data region, no two spans overlapping, no duplicate names.
 * Tensor data is used in place from the read-only mapping.
 */
#ifndef ZEVAL_SAFETENSORS_H
#define ZEVAL_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    ST_F32, ST_BF16, ST_F16, ST_F64, ST_I64, ST_I32, ST_I16, ST_I8,
    ST_U64, ST_U32, ST_U16, ST_U8, ST_BOOL, ST_F8_E4M3, ST_F8_E5M2,
    ST_NDTYPES
} st_dtype;

#define ST_MAX_DIMS 8

typedef struct {
    char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data;   /* borrowed from the mapping */
    size_t nbytes;
    size_t offset;      /* from the start of the data region */
} st_tensor;

typedef struct {
    char *path;
    void *map;
    size_t size;        /* file size */
    const uint8_t *data;/* start of the data region */
    size_t ndata;
    st_tensor *tensors; /* sorted by name */
    int ntensors;
    int borrowed;       /* map is the caller's buffer (st_parse): not unmapped */
} st_file;

/* Largest header st_open accepts (the format's own limit is 100 MB). */
#define ST_MAX_HEADER (100u * 1000u * 1000u)

/* Maps and validates path; *out owns the mapping (st_close). */
int st_open(const char *path, st_file **out, char *err, size_t errlen);
/* Validates the len bytes at buf as a whole safetensors file (name is used
 * in messages and as f->path).  *out borrows buf, which must outlive it;
 * st_close leaves buf alone.  st_open maps the file and calls this. */
int st_parse(const void *buf, size_t len, const char *name, st_file **out, char *err,
             size_t errlen);
void st_close(st_file *f);

/* Finds a tensor by exact name; NULL if absent. Borrowed. */
const st_tensor *st_find(const st_file *f, const char *name);

/* "F32", "BF16", ...; element size in bytes. */
const char *st_dtype_name(st_dtype t);
size_t st_dtype_size(st_dtype t);
/* Parses a dtype name; -1 if unknown. */
int st_dtype_parse(const char *s);

int64_t st_numel(const st_tensor *t);

/*
 * Writer: collect tensors (data copied or borrowed), then st_writer_save
 * writes them in insertion order with an 8-byte-aligned header so every
 * tensor starts 8-byte aligned.  The writer never holds more than the
 * caller gives it.
 */
typedef struct st_writer st_writer;

st_writer *st_writer_new(void);
/* data is borrowed and must stay valid until st_writer_save returns. */
int st_writer_add(st_writer *w, const char *name, st_dtype dtype, int ndim,
                  const int64_t *shape, const void *data, char *err, size_t errlen);
/*
 * Generated tensor data: fill(ctx, first, count, out) writes elements
 * [first, first + count) of the tensor (row-major element index) into out,
 * in the tensor's dtype, and returns 0 (or -1 to abort the save).  The
 * writer calls it in chunks of at most ST_GEN_CHUNK elements, in order,
 * from the saving thread, so a tensor of any size is written through two
 * chunk buffers (one is written out by a helper thread while the next is
 * filled).
 */
typedef int (*st_fill_fn)(void *ctx, uint64_t first, uint64_t count, void *out);
#define ST_GEN_CHUNK ((uint64_t)1 << 22)
/* ctx is borrowed and must stay valid until st_writer_save returns. */
int st_writer_add_gen(st_writer *w, const char *name, st_dtype dtype, int ndim,
                      const int64_t *shape, st_fill_fn fill, void *ctx, char *err,
                      size_t errlen);
/* Adds an entry to __metadata__ (string values only, as the format says). */
int st_writer_meta(st_writer *w, const char *key, const char *value);
/* Total bytes the file will have. */
uint64_t st_writer_size(const st_writer *w);
int st_writer_save(st_writer *w, const char *path, char *err, size_t errlen);
void st_writer_free(st_writer *w);

#endif
