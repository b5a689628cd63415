/*
 * safetensors.c — see safetensors.h.
 *
 * Validation is done once, at open, so that the rest of the engine can
 * trust every st_tensor it is handed.
 */
#define _POSIX_C_SOURCE 200809L
#include "safetensors.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *name;
    size_t size;
} dtypes[ST_NDTYPES] = {
    [ST_F32] = {"F32", 4},   [ST_BF16] = {"BF16", 2}, [ST_F16] = {"F16", 2},
    [ST_F64] = {"F64", 8},   [ST_I64] = {"I64", 8},   [ST_I32] = {"I32", 4},
    [ST_I16] = {"I16", 2},   [ST_I8] = {"I8", 1},     [ST_U64] = {"U64", 8},
    [ST_U32] = {"U32", 4},   [ST_U16] = {"U16", 2},   [ST_U8] = {"U8", 1},
    [ST_BOOL] = {"BOOL", 1}, [ST_F8_E4M3] = {"F8_E4M3", 1},
    [ST_F8_E5M2] = {"F8_E5M2", 1},
};

const char *st_dtype_name(st_dtype t)
{
    return (unsigned)t < ST_NDTYPES ? dtypes[t].name : "?";
}

size_t st_dtype_size(st_dtype t)
{
    return (unsigned)t < ST_NDTYPES ? dtypes[t].size : 0;
}

int st_dtype_parse(const char *s)
{
    for (int i = 0; i < ST_NDTYPES; i++)
        if (strcmp(s, dtypes[i].name) == 0)
            return i;
    return -1;
}

int64_t st_numel(const st_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const st_tensor *)a)->name, ((const st_tensor *)b)->name);
}

static int cmp_offset(const void *a, const void *b)
{
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

/* Reads a JSON number that must be a non-negative integer below 2^53. */
static int json_u64(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsNumber(j))
        return -1;
    double v = j->valuedouble;
    if (!(v >= 0) || v > 9007199254740992.0 || v != (double)(uint64_t)v)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

/* Parses one header entry into t; path/name are for messages. */
static int parse_entry(const cJSON *e, st_tensor *t, size_t ndata, const char *path,
                       char *err, size_t errlen)
{
    const char *name = e->string;
    if (!cJSON_IsObject(e))
        return ut_err(err, errlen, "%s: tensor '%s': header entry is not an object", path, name);
    const cJSON *jd = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *js = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *jo = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(jd))
        return ut_err(err, errlen, "%s: tensor '%s': missing or non-string 'dtype'", path, name);
    int dt = st_dtype_parse(jd->valuestring);
    if (dt < 0)
        return ut_err(err, errlen, "%s: tensor '%s': unknown dtype '%.40s'", path, name,
                      jd->valuestring);
    t->dtype = (st_dtype)dt;
    if (!cJSON_IsArray(js))
        return ut_err(err, errlen, "%s: tensor '%s': missing or non-array 'shape'", path, name);
    int nd = cJSON_GetArraySize(js);
    if (nd > ST_MAX_DIMS)
        return ut_err(err, errlen, "%s: tensor '%s': %d dimensions, at most %d supported",
                      path, name, nd, ST_MAX_DIMS);
    t->ndim = nd;
    uint64_t numel = 1;
    for (int i = 0; i < nd; i++) {
        uint64_t v;
        if (json_u64(cJSON_GetArrayItem(js, i), &v) != 0)
            return ut_err(err, errlen, "%s: tensor '%s': shape[%d] is not a non-negative integer",
                          path, name, i);
        t->shape[i] = (int64_t)v;
        if (v && numel > UINT64_MAX / v)
            return ut_err(err, errlen, "%s: tensor '%s': shape overflows", path, name);
        numel *= v;
    }
    uint64_t esz = st_dtype_size(t->dtype);
    if (numel > UINT64_MAX / esz)
        return ut_err(err, errlen, "%s: tensor '%s': shape overflows", path, name);
    if (!cJSON_IsArray(jo) || cJSON_GetArraySize(jo) != 2)
        return ut_err(err, errlen, "%s: tensor '%s': 'data_offsets' must be [begin, end]", path,
                      name);
    uint64_t b, en;
    if (json_u64(cJSON_GetArrayItem(jo, 0), &b) || json_u64(cJSON_GetArrayItem(jo, 1), &en))
        return ut_err(err, errlen, "%s: tensor '%s': data_offsets are not non-negative integers",
                      path, name);
    if (b > en)
        return ut_err(err, errlen, "%s: tensor '%s': data_offsets [%llu, %llu] end before begin",
                      path, name, (unsigned long long)b, (unsigned long long)en);
    if (en > ndata)
        return ut_err(err, errlen,
                      "%s: tensor '%s': data_offsets [%llu, %llu] out of range: the data region "
                      "has %zu bytes (file truncated?)",
                      path, name, (unsigned long long)b, (unsigned long long)en, ndata);
    if (en - b != numel * esz)
        return ut_err(err, errlen,
                      "%s: tensor '%s': data_offsets span %llu bytes but shape x %s needs %llu",
                      path, name, (unsigned long long)(en - b), st_dtype_name(t->dtype),
                      (unsigned long long)(numel * esz));
    t->offset = (size_t)b;
    t->nbytes = (size_t)(en - b);
    return 0;
}

int st_parse(const void *buf, size_t len, const char *name, st_file **out, char *err,
             size_t errlen)
{
    const char *path = name;
    *out = NULL;
    st_file *f = calloc(1, sizeof *f);
    cJSON *root = NULL;
    char *hdr = NULL;
    st_tensor **byoff = NULL;
    if (!f)
        return ut_err(err, errlen, "%s: out of memory", path);
    f->map = (void *)buf;
    f->size = len;
    f->borrowed = 1;
    f->path = ut_strdup(path);
    if (!f->path) {
        ut_err(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    if (f->size < 8) {
        ut_err(err, errlen, "%s: file is %zu bytes, too short for a safetensors header (truncated?)",
               path, f->size);
        goto fail;
    }

    const uint8_t *p = f->map;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | p[i];
    if (hlen > f->size - 8) {
        ut_err(err, errlen,
               "%s: header length %llu runs past the end of the file (%zu bytes; truncated?)",
               path, (unsigned long long)hlen, f->size);
        goto fail;
    }
    if (hlen > ST_MAX_HEADER) {
        ut_err(err, errlen, "%s: header length %llu exceeds the %u-byte limit", path,
               (unsigned long long)hlen, ST_MAX_HEADER);
        goto fail;
    }
    if (hlen < 2) {
        ut_err(err, errlen, "%s: header length %llu is too small for a JSON object", path,
               (unsigned long long)hlen);
        goto fail;
    }
    f->data = p + 8 + hlen;
    f->ndata = f->size - 8 - (size_t)hlen;

    hdr = malloc((size_t)hlen + 1);
    if (!hdr) {
        ut_err(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    memcpy(hdr, p + 8, (size_t)hlen);
    hdr[hlen] = 0;
    if (strlen(hdr) != hlen) {
        /* The format pads with spaces; a NUL inside the header is corruption. */
        ut_err(err, errlen, "%s: malformed header JSON: NUL byte at offset %zu", path,
               (size_t)8 + strlen(hdr));
        goto fail;
    }
    const char *endp = NULL;
    root = cJSON_ParseWithOpts(hdr, &endp, 0);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = at && at >= hdr && at <= hdr + hlen ? (size_t)(at - hdr) : 0;
        ut_err(err, errlen, "%s: malformed header JSON near byte %zu of the header", path, off);
        goto fail;
    }
    for (const char *q = endp; q && *q; q++)
        if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r') {
            ut_err(err, errlen, "%s: malformed header JSON: trailing bytes after the object", path);
            goto fail;
        }
    if (!cJSON_IsObject(root)) {
        ut_err(err, errlen, "%s: malformed header JSON: top level is not an object", path);
        goto fail;
    }

    int n = 0;
    for (cJSON *e = root->child; e; e = e->next)
        if (strcmp(e->string, "__metadata__") != 0)
            n++;
    f->tensors = calloc(n ? (size_t)n : 1, sizeof *f->tensors);
    byoff = calloc(n ? (size_t)n : 1, sizeof *byoff);
    if (!f->tensors || !byoff) {
        ut_err(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    for (cJSON *e = root->child; e; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) {
            if (!cJSON_IsObject(e)) {
                ut_err(err, errlen, "%s: '__metadata__' is not an object", path);
                goto fail;
            }
            continue;
        }
        st_tensor *t = &f->tensors[f->ntensors];
        t->name = ut_strdup(e->string);
        if (!t->name) {
            ut_err(err, errlen, "%s: out of memory", path);
            goto fail;
        }
        f->ntensors++;
        if (parse_entry(e, t, f->ndata, path, err, errlen) != 0)
            goto fail;
        t->data = f->data + t->offset;
    }
    qsort(f->tensors, (size_t)f->ntensors, sizeof *f->tensors, cmp_name);
    for (int i = 1; i < f->ntensors; i++)
        if (strcmp(f->tensors[i - 1].name, f->tensors[i].name) == 0) {
            ut_err(err, errlen, "%s: tensor '%s' appears twice in the header", path,
                   f->tensors[i].name);
            goto fail;
        }
    for (int i = 0; i < f->ntensors; i++)
        byoff[i] = &f->tensors[i];
    qsort(byoff, (size_t)f->ntensors, sizeof *byoff, cmp_offset);
    /* By offset, each non-empty span is checked against the last non-empty
     * one before it (which, with no overlap so far, reaches furthest); an
     * empty span in between must not hide an overlap, and overlaps none. */
    const st_tensor *far = NULL;
    for (int i = 0; i < f->ntensors; i++) {
        const st_tensor *a = far, *b = byoff[i];
        if (!b->nbytes)
            continue;
        if (a && a->offset + a->nbytes > b->offset) {
            ut_err(err, errlen, "%s: tensors '%s' and '%s' overlap (bytes %zu-%zu and %zu-%zu)",
                   path, a->name, b->name, a->offset, a->offset + a->nbytes, b->offset,
                   b->offset + b->nbytes);
            goto fail;
        }
        far = b;
    }
    free(byoff);
    free(hdr);
    cJSON_Delete(root);
    *out = f;
    return 0;

fail:
    free(byoff);
    free(hdr);
    cJSON_Delete(root);
    st_close(f);
    return -1;
}

int st_open(const char *path, st_file **out, char *err, size_t errlen)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ut_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ut_err(err, errlen, "%s: not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    if (size < 8) {
        close(fd);
        return ut_err(err, errlen,
                      "%s: file is %zu bytes, too short for a safetensors header (truncated?)",
                      path, size);
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int merr = errno;
    close(fd);
    if (map == MAP_FAILED)
        return ut_err(err, errlen, "%s: mmap failed: %s", path, strerror(merr));
    st_file *f = NULL;
    if (st_parse(map, size, path, &f, err, errlen) != 0) {
        munmap(map, size);
        return -1;
    }
    f->borrowed = 0;    /* the mapping is f's now */
    *out = f;
    return 0;
}

void st_close(st_file *f)
{
    if (!f)
        return;
    if (f->map && !f->borrowed)
        munmap(f->map, f->size);
    for (int i = 0; i < f->ntensors; i++)
        free(f->tensors[i].name);
    free(f->tensors);
    free(f->path);
    free(f);
}

const st_tensor *st_find(const st_file *f, const char *name)
{
    size_t lo = 0, hi = (size_t)f->ntensors;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(f->tensors[mid].name, name);
        if (c == 0)
            return &f->tensors[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---------------------------------------------------------------- writer */

typedef struct {
    char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data;
    size_t nbytes;
    st_fill_fn fill;    /* generated data (data == NULL) */
    void *fill_ctx;
} w_entry;

struct st_writer {
    w_entry *e;
    int n, cap;
    cJSON *meta;
};

st_writer *st_writer_new(void)
{
    return calloc(1, sizeof(st_writer));
}

int st_writer_add(st_writer *w, const char *name, st_dtype dtype, int ndim,
                  const int64_t *shape, const void *data, char *err, size_t errlen)
{
    if (ndim < 0 || ndim > ST_MAX_DIMS)
        return ut_err(err, errlen, "tensor '%s': bad rank %d", name, ndim);
    if (w->n == w->cap) {
        int nc = w->cap ? 2 * w->cap : 64;
        w_entry *ne = realloc(w->e, (size_t)nc * sizeof *ne);
        if (!ne)
            return ut_err(err, errlen, "out of memory");
        w->e = ne;
        w->cap = nc;
    }
    w_entry *x = &w->e[w->n];
    memset(x, 0, sizeof *x);
    x->name = ut_strdup(name);
    if (!x->name)
        return ut_err(err, errlen, "out of memory");
    x->dtype = dtype;
    x->ndim = ndim;
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        x->shape[i] = shape[i];
        numel *= (size_t)shape[i];
    }
    x->data = data;
    x->nbytes = numel * st_dtype_size(dtype);
    w->n++;
    return 0;
}

int st_writer_add_gen(st_writer *w, const char *name, st_dtype dtype, int ndim,
                      const int64_t *shape, st_fill_fn fill, void *ctx, char *err,
                      size_t errlen)
{
    if (!fill)
        return ut_err(err, errlen, "tensor '%s': no fill function", name);
    if (st_writer_add(w, name, dtype, ndim, shape, NULL, err, errlen))
        return -1;
    w->e[w->n - 1].fill = fill;
    w->e[w->n - 1].fill_ctx = ctx;
    return 0;
}

/* Generated data goes out through two chunk buffers: while one chunk is
 * written by a helper thread, the next is generated into the other. */
typedef struct {
    FILE *f;
    const void *p;
    size_t n;
    int ok;
} gen_job;

typedef struct {
    void *buf[2];
    int cur, active;
    pthread_t th;
    gen_job job;
} gen_io;

static void *gen_job_run(void *arg)
{
    gen_job *j = arg;
    j->ok = fwrite(j->p, 1, j->n, j->f) == j->n;
    return NULL;
}

/* Waits for the write in flight, if any. */
static int gen_wait(gen_io *g)
{
    if (!g->active)
        return 0;
    pthread_join(g->th, NULL);
    g->active = 0;
    return g->job.ok ? 0 : -1;
}

static int gen_write(gen_io *g, FILE *f, const void *p, size_t n)
{
    if (gen_wait(g))
        return -1;
    g->job = (gen_job){f, p, n, 0};
    if (pthread_create(&g->th, NULL, gen_job_run, &g->job) != 0)
        return fwrite(p, 1, n, f) == n ? 0 : -1;
    g->active = 1;
    return 0;
}

static int write_gen(FILE *f, const w_entry *x, gen_io *g)
{
    size_t es = st_dtype_size(x->dtype);
    for (int i = 0; i < 2; i++)
        if (!g->buf[i] && !(g->buf[i] = malloc(ST_GEN_CHUNK * 8)))
            return -1;
    uint64_t numel = es ? x->nbytes / es : 0;
    for (uint64_t first = 0; first < numel; first += ST_GEN_CHUNK) {
        uint64_t cnt = numel - first < ST_GEN_CHUNK ? numel - first : ST_GEN_CHUNK;
        void *b = g->buf[g->cur];  /* not in flight: gen_write joined its last write */
        if (x->fill(x->fill_ctx, first, cnt, b) != 0)
            return -1;
        if (gen_write(g, f, b, (size_t)cnt * es))
            return -1;
        g->cur ^= 1;
    }
    return 0;
}

int st_writer_meta(st_writer *w, const char *key, const char *value)
{
    if (!w->meta && !(w->meta = cJSON_CreateObject()))
        return -1;
    cJSON_DeleteItemFromObjectCaseSensitive(w->meta, key);
    return cJSON_AddStringToObject(w->meta, key, value) ? 0 : -1;
}

/* Builds the padded header text; *len gets its length (a multiple of 8). */
static char *build_header(const st_writer *w, size_t *len)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    if (w->meta)
        cJSON_AddItemToObject(root, "__metadata__", cJSON_Duplicate(w->meta, 1));
    size_t off = 0;
    for (int i = 0; i < w->n; i++) {
        const w_entry *x = &w->e[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "dtype", st_dtype_name(x->dtype));
        cJSON *sh = cJSON_AddArrayToObject(o, "shape");
        for (int d = 0; d < x->ndim; d++)
            cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)x->shape[d]));
        cJSON *of = cJSON_AddArrayToObject(o, "data_offsets");
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)(off + x->nbytes)));
        cJSON_AddItemToObject(root, x->name, o);
        off += x->nbytes;
    }
    char *txt = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!txt)
        return NULL;
    size_t n = strlen(txt), padded = (n + 7) & ~(size_t)7;
    char *h = malloc(padded + 1);
    if (h) {
        memcpy(h, txt, n);
        memset(h + n, ' ', padded - n);
        h[padded] = 0;
        *len = padded;
    }
    free(txt);
    return h;
}

uint64_t st_writer_size(const st_writer *w)
{
    size_t hl = 0;
    char *h = build_header(w, &hl);
    free(h);
    uint64_t total = 8 + hl;
    for (int i = 0; i < w->n; i++)
        total += w->e[i].nbytes;
    return total;
}

int st_writer_save(st_writer *w, const char *path, char *err, size_t errlen)
{
    size_t hl = 0;
    char *h = build_header(w, &hl);
    if (!h)
        return ut_err(err, errlen, "%s: out of memory building the header", path);
    char *tmp = malloc(strlen(path) + 8);
    if (!tmp) {
        free(h);
        return ut_err(err, errlen, "%s: out of memory", path);
    }
    sprintf(tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        ut_err(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
        free(h);
        free(tmp);
        return -1;
    }
    uint8_t lenb[8];
    for (int i = 0; i < 8; i++)
        lenb[i] = (uint8_t)((uint64_t)hl >> (8 * i));
    int ok = fwrite(lenb, 1, 8, f) == 8 && fwrite(h, 1, hl, f) == hl;
    gen_io g = {{NULL, NULL}, 0, 0, 0, {0}};
    for (int i = 0; ok && i < w->n; i++)
        if (w->e[i].fill)
            ok = w->e[i].nbytes == 0 || write_gen(f, &w->e[i], &g) == 0;
        else if (w->e[i].nbytes)
            ok = gen_wait(&g) == 0 &&
                 fwrite(w->e[i].data, 1, w->e[i].nbytes, f) == w->e[i].nbytes;
    ok = gen_wait(&g) == 0 && ok;
    free(g.buf[0]);
    free(g.buf[1]);
    ok = (fclose(f) == 0) && ok;
    free(h);
    if (!ok || rename(tmp, path) != 0) {
        ut_err(err, errlen, "%s: write failed: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

void st_writer_free(st_writer *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->n; i++)
        free(w->e[i].name);
    free(w->e);
    cJSON_Delete(w->meta);
    free(w);
}
