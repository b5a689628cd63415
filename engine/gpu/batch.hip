/*
 * batch.hip — the batched engine's host side (gpu.h, gpu_batch_*): the
 * page allocator and block tables, sequence slots and forks, and one
 * step as a sequence of batched launches (bkern.h) over the weights a
 * gpu_ctx uploaded.
 *
 * Device memory: the K/V pool [pages][natt][nk][GPU_PAGE][d] f32 each,
 * per slot the conv frames of the last K0+K1-1 positions and the delayed
 * value of every attention sub-layer, and step buffers sized for
 * max_step tokens.  Pages are reference counted: a fork shares its
 * parent's full pages and copies the partly filled last one, so a shared
 * page is never written.
 */
#include "bkern.h"
#include "ctx.h"
#include "gblas.h"
#include "gpu.h"

extern "C" {
#include "../util.h"
}

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int berr(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* -1 with the loader's reason when product kernels `kind` need a BLAS
 * library that cannot be used here (ZEVAL_GPU_BMM=blas); else 0. */
static int bmm_unready(int kind, char *err, size_t errlen)
{
    char why[256];
    if (kind == GPU_BMM_BLAS && !gblas_ready(why, sizeof why))
        return berr(err, errlen, "ZEVAL_GPU_BMM=blas: %s", why);
    return 0;
}

#define BTRY(call, what)                                                                     \
    do {                                                                                     \
        hipError_t e_ = (call);                                                              \
        if (e_ != hipSuccess)                                                                \
            return berr(err, errlen, "%s: %s (%s)", what, hipGetErrorString(e_),             \
                        hipGetErrorName(e_));                                                \
    } while (0)

enum { GB_GRAPHS = 8, GB_GRID = 64 };

/* Kinds of kernel for gpu_batch_profile. */
enum { BP_EMBED, BP_NORM, BP_QKV, BP_CCA, BP_ATTN, BP_O, BP_RDOWN, BP_ROUTER, BP_SORT, BP_FC1,
       BP_FC2, BP_SKIP, BP_LM, BP_PICK, BP_KINDS };
static const char *const bp_name[BP_KINDS] = {
    "embedding",         "merges + norms",       "q/k/v products",     "CCA convs + state",
    "attention",         "attention output",     "router down product", "router MLP + top-1",
    "sort by expert",    "expert up/gate",       "expert down",        "skip slot",
    "LM head",           "argmax / draws"};

struct gpu_batch {
    gpu_ctx *g;
    int seqs, max_ctx, max_step, max_pages, natt, nmoe, nr, C, hv, ldu, qt;
    int attn;               /* the attention kernel, a GPU_ATTN_ value */
    long long npages;
    size_t page_vals, ring_floats, vlast_floats; /* per page (of K, of V) / per slot */
    size_t kv_es;                                /* bytes per K/V value: 4 (f32) or 2 (bf16) */
    /* device */
    char *K, *V;
    float *ring, *vlast;
    int *bt;
    float *res, *xn, *y, *u, *z, *q, *att, *r, *eda, *a, *gate, *logits, *part;
    size_t part_cap;
    int *sel, *perm, *tiles, *ntiles, *am, *in;
    uint32_t *split; /* bgemm.split of every product: max_step x the widest k */
    float *yt;       /* bgemm.yt of the scattered products: max_step x H */
    bsamp *sp; /* per logits row: argmax or a draw */
    size_t in_cap;
    unsigned long long *hist;
    /* host */
    int *bt_h, *ref, *freel, *len, *am_h, *stage, *mark;
    bsamp *sp_h;
    char *used, *dirty;
    long long nfree, min_free;
    size_t stage_cap;
    unsigned long long *hist_h;
    uint64_t *routing;
    int last_experts, last_nonskip, last_tokens, stamp;
    /* gpu_batch_profile: the step's events and their kinds, the sums */
    hipEvent_t *ev;
    int *evk, nev, capev, prof_on, prof_steps;
    double prof_ms[BP_KINDS];
    /* Captured steps, by shape (T, logits rows, attention grid, wide:
     * attention items of more than 8 rows, which take the tensor-core
     * kernel's two column tiles). */
    struct {
        int T, nl, grid, wide;
        hipGraphExec_t exec;
        unsigned long long used;
    } gc[GB_GRAPHS];
    int ngc, use_graphs, capture_failed, ran_graph;
    int last_T, last_nl, last_grid, last_wide, wide;
    unsigned long long tick;
};

static void *bmalloc(size_t bytes, int *bad)
{
    void *p = NULL;
    if (*bad)
        return NULL;
    if (hipMalloc(&p, bytes ? bytes : 16) != hipSuccess) {
        (void)hipGetLastError();
        *bad = 1;
        return NULL;
    }
    return p;
}

/* What the K/V cache holds: bf16 by default, as the reference model keeps
 * it (half the bytes of f32 per token and per step; each value rounded
 * once from the f32 the CCA computes, attention widens it back), or f32
 * with ZEVAL_GPU_KV_DTYPE=f32. */
extern "C" const char *gpu_kv_dtype_env(void)
{
    const char *e = getenv("ZEVAL_GPU_KV_DTYPE");
    if (!e || !*e || strcmp(e, "bf16") == 0)
        return "bf16";
    return strcmp(e, "f32") == 0 ? "f32" : NULL;
}

extern "C" const char *gpu_numerics_env(void)
{
    static char s[64];
    const char *att = getenv("ZEVAL_GPU_ATTN");
    const char *pk = kb_gemm_kind();
    int mma = att && strcmp(att, "mma") == 0;
    snprintf(s, sizeof s, "products %s, attention %s",
             !strcmp(pk, "tensor cores") || !strcmp(pk, GBLAS_LIB) ? pk : "SIMT",
             mma ? "tensor cores" : "SIMT");
    return s;
}

extern "C" const char *gpu_batch_kv_dtype(const gpu_batch *b)
{
    return b->kv_es == sizeof(bf16) ? "bf16" : "f32";
}

extern "C" const char *gpu_batch_gemm_kind(const gpu_batch *b)
{
    (void)b;
    return kb_gemm_kind();
}

extern "C" void gpu_batch_close(gpu_batch *b)
{
    if (!b)
        return;
    void *dev[] = {b->K, b->V, b->ring, b->vlast, b->bt, b->res, b->xn, b->y, b->u, b->z, b->q,
                   b->att, b->r, b->eda, b->a, b->gate, b->logits, b->part, b->sel, b->perm,
                   b->tiles, b->ntiles, b->am, b->in, b->hist, b->sp, b->split, b->yt};
    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++)
        if (dev[i])
            (void)hipFree(dev[i]);
    for (int i = 0; i < b->ngc; i++)
        (void)hipGraphExecDestroy(b->gc[i].exec);
    for (int i = 0; i < b->capev; i++)
        (void)hipEventDestroy(b->ev[i]);
    free(b->ev);
    free(b->evk);
    gpu_close(b->g);
    free(b->bt_h);
    free(b->ref);
    free(b->freel);
    free(b->len);
    free(b->am_h);
    free(b->sp_h);
    free(b->stage);
    free(b->mark);
    free(b->used);
    free(b->dirty);
    free(b->hist_h);
    free(b->routing);
    free(b);
}

/* Tokens of a run per attention work item: 1 for the warp kernel, else
 * as many as keep the rows (tokens x query heads per KV head) within 16
 * (the tiles; the tensor-core kernel's two column tiles of 8).
 * (gpu_open's check_shapes keeps the query heads per KV head within 8,
 * BA_GMAX, so every kernel takes any model it opens.) */
static int attn_qt(const eng_config *c, int kind)
{
    int G = c->nq / c->nk;
    return kind == GPU_ATTN_WARP ? 1 : BA_QT * G <= 16 ? BA_QT : 16 / G;
}

/* Why kind cannot run over this model and cache (NULL: it can). */
static const char *attn_unfit(int kind, const eng_config *c, int kv_bf16)
{
    if ((kind == GPU_ATTN_PIPE || kind == GPU_ATTN_MMA) && !kv_bf16)
        return "needs the bf16 K/V cache";
    if (kind == GPU_ATTN_MMA && c->head_dim != 128)
        return "needs head_dim 128";
    return NULL;
}

extern "C" gpu_batch *gpu_batch_open(const eng_model *m, int seqs, int max_ctx, int max_step,
                                     long long kv_tokens, char *err, size_t errlen)
{
    const eng_config *c = &m->cfg;
    if (seqs < 1 || max_ctx < 1 || max_step < 1) {
        berr(err, errlen, "GPU batch: %d sequences of %d tokens, steps of %d tokens", seqs,
             max_ctx, max_step);
        return NULL;
    }
    const char *kvd = gpu_kv_dtype_env();
    if (!kvd) {
        berr(err, errlen, "ZEVAL_GPU_KV_DTYPE='%s': f32 or bf16", getenv("ZEVAL_GPU_KV_DTYPE"));
        return NULL;
    }
    if (!kb_gemm_env_ok()) {
        berr(err, errlen, "ZEVAL_GPU_BMM='%s': tensor, direct, simt, plain or blas",
             getenv("ZEVAL_GPU_BMM"));
        return NULL;
    }
    if (bmm_unready(kb_gemm_mode(), err, errlen))
        return NULL;
    const char *att = getenv("ZEVAL_GPU_ATTN");
    int attn = GPU_ATTN_TILE;
    if (att && *att) {
        if ((attn = gpu_attn_named(att)) < 0) {
            berr(err, errlen, "ZEVAL_GPU_ATTN='%s': tile, warp, pipe or mma", att);
            return NULL;
        }
        const char *why = attn_unfit(attn, c, strcmp(kvd, "bf16") == 0);
        if (why) {
            berr(err, errlen, "ZEVAL_GPU_ATTN=%s %s (ZEVAL_GPU_KV_DTYPE=%s, head_dim %d)", att,
                 why, kvd, c->head_dim);
            return NULL;
        }
    }
    if (c->nq / c->nk > 16 || eng_cfg_slots(c) > 64) {
        berr(err, errlen, "GPU batch: %d query heads per KV head (at most 16), %d router slots "
             "(at most 64)", c->nq / c->nk, eng_cfg_slots(c));
        return NULL;
    }
    gpu_batch *b = (gpu_batch *)calloc(1, sizeof *b);
    if (!b) {
        berr(err, errlen, "out of memory");
        return NULL;
    }
    if (!(b->g = gpu_open(m, 1, err, errlen))) {
        free(b);
        return NULL;
    }
    int H = c->hidden, d = c->head_dim, nq = c->nq, nk = c->nk, R = c->router, I = c->inter;
    int V = c->vocab, S = eng_cfg_slots(c), E = c->n_experts;
    b->seqs = seqs;
    b->max_ctx = max_ctx;
    b->max_step = max_step;
    b->max_pages = (max_ctx + GPU_PAGE - 1) / GPU_PAGE;
    b->natt = (c->n_sub + 1) / 2;
    b->nmoe = c->n_sub / 2;
    b->nr = c->cca_k0 + c->cca_k1 - 1;
    b->C = eng_cfg_conv_channels(c);
    b->hv = nk * d / 2;
    b->ldu = b->C + 2 * b->hv;
    b->attn = attn;
    b->qt = attn_qt(c, attn);
    b->page_vals = (size_t)b->natt * nk * GPU_PAGE * d;
    b->kv_es = strcmp(kvd, "bf16") == 0 ? sizeof(bf16) : sizeof(float);
    b->ring_floats = (size_t)b->natt * b->nr * b->C;
    b->vlast_floats = (size_t)b->natt * b->hv;
    int nl = seqs < max_step ? seqs : max_step, T = max_step;
    int maxtiles = (T + BG_BT - 1) / BG_BT + E;
    int bad = 0;
    size_t fT = (size_t)T;
    b->res = (float *)bmalloc(2 * fT * H * sizeof(float), &bad);
    b->xn = (float *)bmalloc(fT * H * sizeof(float), &bad);
    b->y = (float *)bmalloc(fT * H * sizeof(float), &bad);
    b->u = (float *)bmalloc(fT * b->ldu * sizeof(float), &bad);
    b->z = (float *)bmalloc(fT * b->C * sizeof(float), &bad);
    b->q = (float *)bmalloc(fT * nq * d * sizeof(float), &bad);
    b->att = (float *)bmalloc(fT * nq * d * sizeof(float), &bad);
    b->r = (float *)bmalloc(fT * R * sizeof(float), &bad);
    b->eda = (float *)bmalloc(fT * R * sizeof(float), &bad);
    b->a = (float *)bmalloc(fT * 2 * I * sizeof(float), &bad);
    b->gate = (float *)bmalloc(fT * sizeof(float), &bad);
    b->logits = (float *)bmalloc((size_t)nl * V * sizeof(float), &bad);
    b->sel = (int *)bmalloc(fT * sizeof(int), &bad);
    b->perm = (int *)bmalloc(fT * sizeof(int), &bad);
    int kmax = H > nq * d ? H : nq * d;
    kmax = kmax > I ? kmax : I;
    b->split = (uint32_t *)bmalloc(fT * (size_t)kmax * 6, &bad);
    b->yt = (float *)bmalloc(fT * H * sizeof(float), &bad);
    b->tiles = (int *)bmalloc((size_t)3 * maxtiles * sizeof(int), &bad);
    b->ntiles = (int *)bmalloc(sizeof(int), &bad);
    b->am = (int *)bmalloc((size_t)nl * sizeof(int), &bad);
    b->sp = (bsamp *)bmalloc((size_t)nl * sizeof(bsamp), &bad);
    b->hist = (unsigned long long *)bmalloc((size_t)(b->nmoe + 1) * S * sizeof(unsigned long long),
                                            &bad);
    b->ring = (float *)bmalloc((size_t)seqs * b->ring_floats * sizeof(float), &bad);
    b->vlast = (float *)bmalloc((size_t)seqs * b->vlast_floats * sizeof(float), &bad);
    b->bt = (int *)bmalloc((size_t)seqs * b->max_pages * sizeof(int), &bad);
    if (!bad && hipMemset(b->hist, 0, (size_t)(b->nmoe + 1) * S * sizeof(unsigned long long)) !=
                    hipSuccess)
        bad = 1;
    /* The pool: what was asked for, or what is free less 1 GB, never more
     * than every slot full. */
    long long want = kv_tokens > 0 ? (kv_tokens + GPU_PAGE - 1) / GPU_PAGE
                                   : (long long)seqs * b->max_pages;
    size_t page_bytes = 2 * b->page_vals * b->kv_es;
    if (!bad && kv_tokens <= 0) {
        size_t fr = 0, tot = 0;
        if (hipMemGetInfo(&fr, &tot) == hipSuccess) {
            long long fit = fr > (size_t)1 << 30 ? (long long)((fr - ((size_t)1 << 30)) / page_bytes) : 0;
            want = want < fit ? want : fit;
        }
        (void)hipGetLastError();
    }
#ifdef ZEVAL_GPU_EMU
    /* The emulation's memory is the host's: 512 MB of pages at most. */
    if (kv_tokens <= 0 && want > (long long)(((size_t)512 << 20) / page_bytes))
        want = (long long)(((size_t)512 << 20) / page_bytes);
#endif
    if (!bad && want < 1) {
        berr(err, errlen, "GPU batch: no device memory left for the K/V cache (a page of %d tokens "
             "is %.1f MB)", GPU_PAGE, (double)page_bytes / 1e6);
        gpu_batch_close(b);
        return NULL;
    }
    b->npages = want;
    size_t half = (size_t)want * b->page_vals * b->kv_es; /* K, and V */
    b->K = (char *)bmalloc(half, &bad);
    b->V = (char *)bmalloc(half, &bad);
    if (!bad && (hipMemset(b->K, 0, half) != hipSuccess || hipMemset(b->V, 0, half) != hipSuccess))
        bad = 1;
    b->bt_h = (int *)calloc((size_t)seqs * b->max_pages, sizeof(int));
    b->ref = (int *)calloc((size_t)want, sizeof(int));
    b->freel = (int *)malloc((size_t)want * sizeof(int));
    b->len = (int *)calloc((size_t)seqs, sizeof(int));
    b->am_h = (int *)calloc((size_t)nl, sizeof(int));
    b->sp_h = (bsamp *)calloc((size_t)nl, sizeof(bsamp));
    b->mark = (int *)calloc((size_t)seqs, sizeof(int));
    b->used = (char *)calloc((size_t)seqs, 1);
    b->dirty = (char *)calloc((size_t)seqs, 1);
    b->hist_h = (unsigned long long *)calloc((size_t)(b->nmoe + 1) * S, sizeof(unsigned long long));
    b->routing = (uint64_t *)calloc((size_t)(b->nmoe + 1) * S, sizeof(uint64_t));
    if (bad || !b->bt_h || !b->ref || !b->freel || !b->len || !b->am_h || !b->sp_h || !b->mark ||
        !b->used || !b->dirty || !b->hist_h || !b->routing) {
        size_t fr = 0, tot = 0;
        (void)hipMemGetInfo(&fr, &tot);
        (void)hipGetLastError();
        berr(err, errlen, "GPU batch: allocating %d sequences x %d tokens, steps of %d tokens and "
             "%lld K/V pages (%.2f GB) failed (%.2f of %.2f GB free)", seqs, max_ctx, max_step,
             want, (double)want * page_bytes / 1e9, (double)fr / 1e9, (double)tot / 1e9);
        gpu_batch_close(b);
        return NULL;
    }
    for (long long p = 0; p < want; p++)
        b->freel[p] = (int)(want - 1 - p); /* low pages first */
    b->nfree = b->min_free = want;
    b->use_graphs = 1;
    return b;
}

/* ------------------------------------------------------------ sequences */

static int page_take(gpu_batch *b)
{
    if (b->nfree == 0)
        return -1;
    int p = b->freel[--b->nfree];
    b->ref[p] = 1;
    if (b->nfree < b->min_free)
        b->min_free = b->nfree;
    return p;
}

static void page_drop(gpu_batch *b, int p)
{
    if (--b->ref[p] == 0)
        b->freel[b->nfree++] = p;
}

static int npages_of(int len)
{
    return (len + GPU_PAGE - 1) / GPU_PAGE;
}

static int slot_take(gpu_batch *b, char *err, size_t errlen)
{
    for (int s = 0; s < b->seqs; s++)
        if (!b->used[s]) {
            b->used[s] = 1;
            b->len[s] = 0;
            return s;
        }
    return berr(err, errlen, "GPU batch: all %d sequence slots are in use", b->seqs);
}

extern "C" int gpu_batch_seq_new(gpu_batch *b, char *err, size_t errlen)
{
    int s = slot_take(b, err, errlen);
    if (s < 0)
        return -1;
    hipStream_t st = b->g->st;
    if (hipMemsetAsync(b->ring + (size_t)s * b->ring_floats, 0, b->ring_floats * sizeof(float),
                       st) != hipSuccess ||
        hipMemsetAsync(b->vlast + (size_t)s * b->vlast_floats, 0, b->vlast_floats * sizeof(float),
                       st) != hipSuccess) {
        b->used[s] = 0;
        return berr(err, errlen, "GPU batch: clearing a sequence: %s",
                    hipGetErrorString(hipGetLastError()));
    }
    return s;
}

extern "C" int gpu_batch_seq_fork(gpu_batch *b, int parent, char *err, size_t errlen)
{
    if (parent < 0 || parent >= b->seqs || !b->used[parent])
        return berr(err, errlen, "GPU batch: fork of sequence %d, which is not in use", parent);
    int len = b->len[parent], full = len / GPU_PAGE, part = len % GPU_PAGE != 0;
    if (part && b->nfree == 0)
        return berr(err, errlen, "GPU batch: the K/V cache is full (%lld pages of %d tokens)",
                    b->npages, GPU_PAGE);
    int s = slot_take(b, err, errlen);
    if (s < 0)
        return -1;
    hipStream_t st = b->g->st;
    int *src = b->bt_h + (size_t)parent * b->max_pages, *dst = b->bt_h + (size_t)s * b->max_pages;
    for (int j = 0; j < full; j++) {
        dst[j] = src[j];
        b->ref[src[j]]++;
    }
    int ok = 1;
    if (part) {
        int p = page_take(b);
        dst[full] = p;
        size_t n = b->page_vals * b->kv_es;
        ok = hipMemcpyAsync(b->K + (size_t)p * n, b->K + (size_t)src[full] * n, n,
                            hipMemcpyDeviceToDevice, st) == hipSuccess &&
             hipMemcpyAsync(b->V + (size_t)p * n, b->V + (size_t)src[full] * n, n,
                            hipMemcpyDeviceToDevice, st) == hipSuccess;
    }
    ok = ok &&
         hipMemcpyAsync(b->ring + (size_t)s * b->ring_floats, b->ring + (size_t)parent * b->ring_floats,
                        b->ring_floats * sizeof(float), hipMemcpyDeviceToDevice, st) == hipSuccess &&
         hipMemcpyAsync(b->vlast + (size_t)s * b->vlast_floats,
                        b->vlast + (size_t)parent * b->vlast_floats,
                        b->vlast_floats * sizeof(float), hipMemcpyDeviceToDevice, st) == hipSuccess;
    b->len[s] = len;
    b->dirty[s] = 1;
    if (!ok) {
        gpu_batch_seq_free(b, s);
        return berr(err, errlen, "GPU batch: copying a forked sequence's state: %s",
                    hipGetErrorString(hipGetLastError()));
    }
    return s;
}

extern "C" void gpu_batch_seq_free(gpu_batch *b, int seq)
{
    if (!b || seq < 0 || seq >= b->seqs || !b->used[seq])
        return;
    const int *t = b->bt_h + (size_t)seq * b->max_pages;
    for (int j = 0; j < npages_of(b->len[seq]); j++)
        page_drop(b, t[j]);
    b->used[seq] = 0;
    b->len[seq] = 0;
}

extern "C" int gpu_batch_seq_len(const gpu_batch *b, int seq)
{
    return seq >= 0 && seq < b->seqs && b->used[seq] ? b->len[seq] : 0;
}

extern "C" long long gpu_batch_free_pages(const gpu_batch *b)
{
    return b->nfree;
}

/* Pages for seq to hold len tokens; on failure none taken. */
static int grow_to(gpu_batch *b, int seq, int len, char *err, size_t errlen)
{
    int have = npages_of(b->len[seq]), need = npages_of(len);
    if (need - have > b->nfree)
        return berr(err, errlen, "GPU batch: the K/V cache is full (%lld pages of %d tokens, %lld "
                    "free; %d more needed)", b->npages, GPU_PAGE, b->nfree, need - have);
    int *t = b->bt_h + (size_t)seq * b->max_pages;
    for (int j = have; j < need; j++)
        t[j] = page_take(b);
    if (need > have)
        b->dirty[seq] = 1;
    return 0;
}

extern "C" int gpu_batch_seek(gpu_batch *b, int seq, int len, char *err, size_t errlen)
{
    if (seq < 0 || seq >= b->seqs || !b->used[seq] || len < b->len[seq] || len >= b->max_ctx)
        return berr(err, errlen, "gpu_batch_seek: sequence %d to %d tokens", seq, len);
    if (grow_to(b, seq, len, err, errlen))
        return -1;
    b->len[seq] = len;
    return 0;
}

/* ---------------------------------------------------------------- step */

static int grow_dev(void **p, size_t *cap, size_t need, char *err, size_t errlen, const char *what)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 4096;
    while (nc < need)
        nc *= 2;
    if (*p)
        (void)hipFree(*p);
    *p = NULL;
    *cap = 0;
    if (hipMalloc(p, nc) != hipSuccess) {
        (void)hipGetLastError();
        *p = NULL;
        return berr(err, errlen, "GPU batch: allocating %.1f MB for %s", (double)nc / 1e6, what);
    }
    *cap = nc;
    return 0;
}

static void graphs_drop(gpu_batch *b)
{
    for (int i = 0; i < b->ngc; i++)
        (void)hipGraphExecDestroy(b->gc[i].exec);
    b->ngc = 0;
}

/* gpu_batch_profile: an event after the launches just enqueued. */
static void bmark(gpu_batch *b, int kind)
{
    if (!b->prof_on || b->nev >= b->capev)
        return;
    if (hipEventRecord(b->ev[b->nev], b->g->st) == hipSuccess)
        b->evk[b->nev++] = kind;
}

/* The launches of one step of T tokens; in: the uploaded ints (btok
 * arrays, then nl logits rows and their limits, then the work count and
 * the work items); grid: attention blocks per KV head (>= the count). */
static void enqueue(gpu_batch *b, int T, int nl, int grid)
{
    gpu_ctx *g = b->g;
    const eng_config *c = &g->c;
    hipStream_t s = g->st;
    int H = c->hidden, d = c->head_dim, nq = c->nq, qw = nq * d, I = c->inter, N = c->n_sub;
    int E = c->n_experts, S = eng_cfg_slots(c), R = c->router, V = c->vocab;
    float eps = (float)c->eps, *res[2] = {b->res, b->res + (size_t)T * H};
    int skip_zero = g->m->skip_mode == ENG_SKIP_ZERO;
    btok t = {b->in, b->in + T, b->in + 2 * T, b->in + 3 * T, b->in + 4 * T, b->in + 5 * T, T};
    const int *lrow = b->in + 6 * T, *nvalid = lrow + nl, *nwork = nvalid + nl, *work = nwork + 1;
    bkv kv = {b->K, b->V, b->bt, b->max_pages, b->natt, c->nk, d, GPU_PAGE,
              b->kv_es == sizeof(bf16)};
    int maxtiles = (T + BG_BT - 1) / BG_BT + E;

    b->nev = 0;
    bmark(b, BP_EMBED);
    kb_embed(s, g->embed, H, t, g->sub[0].mw.hs, g->sub[0].mw.hb, res[0]);
    bmark(b, BP_EMBED);
    for (int n = 0; n < N; n++) {
        const dev_sub *D = &g->sub[n];
        kb_norm(s, T, H, res[n % 2], b->y, res[(n + 1) % 2], b->xn, D->mw, n > 0, D->norm, eps);
        bmark(b, BP_NORM);
        if (n % 2 == 0) {
            int a = n / 2;
            bgemm qkv = {D->wq, 0, NULL, b->ldu, H, b->xn, H, 0, NULL, b->u, b->ldu, NULL, NULL,
                         T, NULL, NULL, 0, b->split, NULL};
            kb_gemm(s, &qkv);
            bmark(b, BP_QKV);
            kb_cca(s, &D->cca, a, t, b->u, b->ldu, b->ring, b->vlast, b->natt, b->z, b->q, kv);
            kb_cca_state(s, &D->cca, a, t, b->u, b->ldu, b->ring, b->vlast, b->natt);
            bmark(b, BP_CCA);
            kb_attention(s, a, t, work, nwork, grid, b->attn, b->wide, b->q, nq, kv, b->part,
                         b->att);
            bmark(b, BP_ATTN);
            bgemm o = {D->wo, 0, NULL, H, qw, b->att, qw, 0, NULL, b->y, H, NULL, NULL, T, NULL,
                       NULL, 0, b->split, NULL};
            kb_gemm(s, &o);
            bmark(b, BP_O);
        } else {
            int j = n / 2;
            bgemm rd = {D->rdown, 0, D->rdown_b, R, H, b->xn, H, 0, NULL, b->r, R, NULL, NULL, T,
                        NULL, NULL, 0, b->split, NULL};
            kb_gemm(s, &rd);
            bmark(b, BP_RDOWN);
            kb_router(s, &D->rt, T, b->r, b->eda, b->sel, b->gate);
            bmark(b, BP_ROUTER);
            kb_sort(s, T, S, E, b->sel, b->perm, b->tiles, b->ntiles, b->hist + (size_t)j * S);
            bmark(b, BP_SORT);
            bgemm f1 = {D->fc1, (size_t)2 * I * H, NULL, 2 * I, H, b->xn, H, 0, b->perm, b->a,
                        2 * I, NULL, NULL, T, b->tiles, b->ntiles, maxtiles, b->split,
                        NULL};
            kb_gemm(s, &f1);
            bmark(b, BP_FC1);
            bgemm f2 = {D->fc2, (size_t)H * I, NULL, H, I, b->a, 2 * I, 1, NULL, b->y, H, b->perm,
                        b->gate, T, b->tiles, b->ntiles, maxtiles, b->split, b->yt};
            kb_gemm(s, &f2);
            bmark(b, BP_FC2);
            kb_skip(s, T, H, E, b->sel, b->gate, b->xn, skip_zero, b->y);
            bmark(b, BP_SKIP);
        }
    }
    kb_norm(s, T, H, res[N % 2], b->y, res[(N + 1) % 2], b->xn, g->fmw, 1, g->fnorm, eps);
    bmark(b, BP_NORM);
    if (nl > 0) {
        bgemm lm = {g->lm_head, 0, g->lm_b, V, H, b->xn, H, 0, lrow, b->logits, V, NULL, NULL,
                    nl, NULL, NULL, 0, b->split, NULL};
        kb_gemm(s, &lm);
        bmark(b, BP_LM);
        kb_argmax(s, nl, b->logits, V, nvalid, b->sp, b->am);
        bmark(b, BP_PICK);
    }
}

/* The step as a graph when its shape (T, nl, grid) ran the step before
 * too or was captured already (steady decode repeats it: capturing pays),
 * else as plain launches. */
static hipError_t run_step(gpu_batch *b, int T, int nl, int grid)
{
    hipStream_t st = b->g->st;
    int same = T == b->last_T && nl == b->last_nl && grid == b->last_grid &&
               b->wide == b->last_wide;
    b->last_T = T, b->last_nl = nl, b->last_grid = grid, b->last_wide = b->wide;
    b->ran_graph = 0;
    b->tick++;
    int k = -1;
    for (int i = 0; i < b->ngc; i++)
        if (b->gc[i].T == T && b->gc[i].nl == nl && b->gc[i].grid == grid &&
            b->gc[i].wide == b->wide)
            k = i;
    if (b->prof_on) { /* plain launches, events between them */
        enqueue(b, T, nl, grid);
        return hipGetLastError();
    }
    if (k < 0 && same && b->use_graphs && !b->capture_failed && !kb_gemm_host_sync(T)) {
        hipGraph_t graph;
        hipGraphExec_t exec;
        int ok = hipStreamBeginCapture(st, hipStreamCaptureModeThreadLocal) == hipSuccess;
        if (ok) {
            enqueue(b, T, nl, grid);
            ok = hipStreamEndCapture(st, &graph) == hipSuccess;
        }
        if (ok) {
            ok = hipGraphInstantiateWithFlags(&exec, graph, 0) == hipSuccess;
            (void)hipGraphDestroy(graph);
        }
        if (!ok) {
            hipError_t e = hipGetLastError();
            fprintf(stderr, "zeval: GPU batch: capturing a step as a graph failed (%s); plain "
                    "launches from now on\n", hipGetErrorString(e));
            b->capture_failed = 1;
        } else {
            if (b->ngc == GB_GRAPHS) { /* the least recently used goes */
                int old = 0;
                for (int i = 1; i < b->ngc; i++)
                    if (b->gc[i].used < b->gc[old].used)
                        old = i;
                (void)hipGraphExecDestroy(b->gc[old].exec);
                b->gc[old] = b->gc[--b->ngc];
            }
            k = b->ngc++;
            b->gc[k].T = T, b->gc[k].nl = nl, b->gc[k].grid = grid, b->gc[k].wide = b->wide;
            b->gc[k].exec = exec;
        }
    }
    if (k >= 0 && b->use_graphs) {
        b->gc[k].used = b->tick;
        b->ran_graph = 1;
        return hipGraphLaunch(b->gc[k].exec, st);
    }
    enqueue(b, T, nl, grid);
    return hipGetLastError();
}

extern "C" int gpu_batch_profile(gpu_batch *b, int on, char *err, size_t errlen)
{
    int need = 8 * b->g->c.n_sub + 16;
    if (on && b->capev < need) {
        hipEvent_t *ev = (hipEvent_t *)realloc(b->ev, (size_t)need * sizeof *ev);
        if (ev)
            b->ev = ev;
        int *kind = (int *)realloc(b->evk, (size_t)need * sizeof *kind);
        if (kind)
            b->evk = kind;
        if (!ev || !kind)
            return berr(err, errlen, "out of memory");
        for (; b->capev < need; b->capev++)
            BTRY(hipEventCreate(&b->ev[b->capev]), "creating the profiling events");
    }
    b->prof_on = on;
    if (on) {
        memset(b->prof_ms, 0, sizeof b->prof_ms);
        b->prof_steps = 0;
    }
    return 0;
}

extern "C" void gpu_batch_profile_print(const gpu_batch *b, FILE *out)
{
    double tot = 0;
    for (int k = 0; k < BP_KINDS; k++)
        tot += b->prof_ms[k];
    int n = b->prof_steps ? b->prof_steps : 1;
    for (int k = 0; k < BP_KINDS; k++)
        fprintf(out, "  %-32s %8.3f ms/step  %5.1f%%\n", bp_name[k], b->prof_ms[k] / n,
                tot > 0 ? 100.0 * b->prof_ms[k] / tot : 0.0);
    fprintf(out, "  %-32s %8.3f ms/step (%d steps, plain launches with an event after each)\n",
            "total", tot / n, b->prof_steps);
}

extern "C" void gpu_batch_use_graphs(gpu_batch *b, int on)
{
    b->use_graphs = on;
}

extern "C" int gpu_batch_set_attn(gpu_batch *b, int kind, char *err, size_t errlen)
{
    if (kind < GPU_ATTN_TILE || kind > GPU_ATTN_MMA)
        return berr(err, errlen, "GPU batch: attention kind %d", kind);
    const char *why = attn_unfit(kind, &b->g->m->cfg, b->kv_es == sizeof(bf16));
    if (why)
        return berr(err, errlen, "GPU batch: attention %s %s", gpu_attn_name(kind), why);
    if (kind == b->attn)
        return 0;
    (void)hipStreamSynchronize(b->g->st);
    graphs_drop(b); /* they launch the other kernel */
    b->attn = kind;
    b->qt = attn_qt(&b->g->m->cfg, kind);
    return 0;
}

extern "C" int gpu_batch_set_bmm(gpu_batch *b, int kind, char *err, size_t errlen)
{
    if (!gpu_bmm_name(kind))
        return berr(err, errlen, "GPU batch: product kernels %d", kind);
    if (bmm_unready(kind, err, errlen))
        return -1;
    (void)hipStreamSynchronize(b->g->st);
    graphs_drop(b); /* they launch the other kernels */
    kb_gemm_set(kind);
    return 0;
}

extern "C" int gpu_batch_attn(const gpu_batch *b)
{
    return b->attn;
}

extern "C" const char *gpu_batch_attn_kind(const gpu_batch *b)
{
    static const char *const name[] = {"tiles of tokens", "a warp per token",
                                       "tiles of tokens, pipelined", "tensor cores"};
    return name[b->attn];
}

extern "C" int gpu_batch_ran_graph(const gpu_batch *b)
{
    return b->ran_graph;
}

extern "C" int gpu_batch_step(gpu_batch *b, const gpu_run *runs, int n, char *err, size_t errlen)
{
    const eng_config *c = &b->g->c;
    int T = 0, nl = 0, V = c->vocab, nq = c->nq, nwork = 0, splits = 0, maxnt = 0;
    int stamp = ++b->stamp;
    for (int k = 0; k < n; k++) {
        const gpu_run *r = &runs[k];
        if (r->seq < 0 || r->seq >= b->seqs || !b->used[r->seq])
            return berr(err, errlen, "GPU batch: run %d names sequence %d, which is not in use", k,
                        r->seq);
        if (b->mark[r->seq] == stamp)
            return berr(err, errlen, "GPU batch: sequence %d appears twice in one step", r->seq);
        b->mark[r->seq] = stamp;
        if (r->n < 1)
            return berr(err, errlen, "GPU batch: run %d has %d tokens", k, r->n);
        if (b->len[r->seq] + r->n > b->max_ctx)
            return berr(err, errlen, "GPU batch: sequence %d would hold %d tokens (at most %d)",
                        r->seq, b->len[r->seq] + r->n, b->max_ctx);
        for (int i = 0; i < r->n; i++)
            if (r->ids[i] < 0 || r->ids[i] >= V)
                return berr(err, errlen, "token id %d is outside the vocabulary [0, %d)",
                            r->ids[i], V);
        T += r->n;
        nl += r->logits || r->argmax;
        int len = b->len[r->seq];
        for (int j = 0; j < r->n; j++)
            splits += (len + j) / BA_SPL + 1;
        for (int j0 = 0; j0 < r->n; j0 += b->qt) {
            int nt = r->n - j0 < b->qt ? r->n - j0 : b->qt;
            nwork += (len + j0 + nt - 1) / BA_SPL + 1;
            maxnt = nt > maxnt ? nt : maxnt;
        }
    }
    b->wide = maxnt * (c->nq / c->nk) > 8;
    if (T == 0)
        return 0;
    if (T > b->max_step)
        return berr(err, errlen, "GPU batch: a step of %d tokens (at most %d)", T, b->max_step);
    /* The step's ints: btok arrays, logits rows, their limits, work. */
    int grid = (nwork + GB_GRID - 1) / GB_GRID * GB_GRID;
    size_t nints = (size_t)6 * T + 2 * nl + 1 + 3 * (size_t)nwork;
    if (nints > b->stage_cap) {
        int *ns = (int *)realloc(b->stage, nints * 2 * sizeof(int));
        if (!ns)
            return berr(err, errlen, "out of memory");
        b->stage = ns;
        b->stage_cap = nints * 2;
    }
    size_t part_need = (size_t)splits * nq * (c->head_dim + 2) * sizeof(float);
    /* Room for the attention grid's worth of work (a captured step may
     * meet up to grid items). */
    size_t in_need = (nints + 3 * (size_t)(grid - nwork)) * sizeof(int);
    if (part_need > b->part_cap || in_need > b->in_cap) {
        BTRY(hipStreamSynchronize(b->g->st), "finishing the last step");
        graphs_drop(b); /* they hold the old buffers */
    }
    if (grow_dev((void **)&b->part, &b->part_cap, part_need, err, errlen, "attention partials") ||
        grow_dev((void **)&b->in, &b->in_cap, in_need, err, errlen, "the step's tokens"))
        return -1;
    /* Pages last of what can fail for want of memory: on failure give
     * back what this step took, so a refused step changes nothing. */
    for (int k = 0; k < n; k++) {
        int sq = runs[k].seq;
        if (grow_to(b, sq, b->len[sq] + runs[k].n, err, errlen)) {
            for (int j = 0; j < k; j++) {
                int sj = runs[j].seq, *bt = b->bt_h + (size_t)sj * b->max_pages;
                for (int p = npages_of(b->len[sj]); p < npages_of(b->len[sj] + runs[j].n); p++)
                    page_drop(b, bt[p]);
            }
            return -1;
        }
    }
    int *tok = b->stage, *pos = tok + T, *seq = pos + T, *cs = seq + T, *ce = cs + T, *poff = ce + T;
    int *lrow = poff + T, *nvalid = lrow + nl, *work = nvalid + nl + 1;
    nvalid[nl] = nwork;
    int i = 0, il = 0, iw = 0;
    splits = 0;
    for (int k = 0; k < n; k++) {
        const gpu_run *r = &runs[k];
        int len = b->len[r->seq], first = i;
        for (int j = 0; j < r->n; j++, i++) {
            tok[i] = r->ids[j];
            pos[i] = len + j;
            seq[i] = r->seq;
            cs[i] = len;
            ce[i] = len + r->n - 1;
            poff[i] = splits;
            splits += (len + j) / BA_SPL + 1;
        }
        for (int j0 = 0; j0 < r->n; j0 += b->qt) {
            int nt = r->n - j0 < b->qt ? r->n - j0 : b->qt;
            for (int sp = 0; sp <= (len + j0 + nt - 1) / BA_SPL; sp++, iw++) {
                work[3 * iw] = first + j0;
                work[3 * iw + 1] = nt;
                work[3 * iw + 2] = sp;
            }
        }
        if (r->logits || r->argmax) {
            lrow[il] = i - 1;
            b->sp_h[il].inv_t = r->argmax && r->inv_t > 0 ? r->inv_t : 0.0;
            b->sp_h[il].u = r->u;
            b->sp_h[il].top_k = r->top_k;
            b->sp_h[il].top_p = r->top_p > 0 && r->top_p < 1 ? r->top_p : 1.0;
            b->sp_h[il].min_p = r->min_p > 0 ? r->min_p : 0.0;
            nvalid[il++] = r->n_valid;
        }
    }
    hipStream_t st = b->g->st;
    BTRY(hipMemcpyAsync(b->in, b->stage, nints * sizeof(int), hipMemcpyHostToDevice, st),
         "writing the step");
    if (nl > 0)
        BTRY(hipMemcpyAsync(b->sp, b->sp_h, (size_t)nl * sizeof(bsamp), hipMemcpyHostToDevice, st),
             "writing the step's draws");
    for (int s = 0; s < b->seqs; s++)
        if (b->dirty[s]) {
            size_t o = (size_t)s * b->max_pages;
            BTRY(hipMemcpyAsync(b->bt + o, b->bt_h + o, (size_t)b->max_pages * sizeof(int),
                                hipMemcpyHostToDevice, st), "writing the block tables");
            b->dirty[s] = 0;
        }
    BTRY(run_step(b, T, nl, grid), "launching the step");
    int S = eng_cfg_slots(c);
    BTRY(hipMemcpyAsync(b->hist_h, b->hist, (size_t)b->nmoe * S * sizeof(unsigned long long),
                        hipMemcpyDeviceToHost, st), "reading the routing");
    if (nl > 0)
        BTRY(hipMemcpyAsync(b->am_h, b->am, (size_t)nl * sizeof(int), hipMemcpyDeviceToHost, st),
             "reading the step");
    il = 0;
    for (int k = 0; k < n; k++) {
        const gpu_run *r = &runs[k];
        if (!r->logits && !r->argmax)
            continue;
        if (r->logits)
            BTRY(hipMemcpyAsync(r->logits, b->logits + (size_t)il * V, (size_t)V * sizeof(float),
                                hipMemcpyDeviceToHost, st), "reading the logits");
        il++;
    }
    BTRY(hipStreamSynchronize(st), "running the step");
    if (kb_gemm_error(err, errlen))
        return -1;
    if (b->prof_on) {
        for (int e = 1; e < b->nev; e++) {
            float ms = 0;
            if (hipEventElapsedTime(&ms, b->ev[e - 1], b->ev[e]) == hipSuccess)
                b->prof_ms[b->evk[e]] += ms;
        }
        b->prof_steps++;
    }
    il = 0;
    for (int k = 0; k < n; k++) {
        const gpu_run *r = &runs[k];
        b->len[r->seq] += r->n;
        if (r->logits || r->argmax) {
            if (r->argmax)
                *r->argmax = b->am_h[il];
            il++;
        }
    }
    b->last_experts = b->last_nonskip = 0;
    for (int j = 0; j < b->nmoe; j++)
        for (int e = 0; e < S; e++) {
            uint64_t now = b->hist_h[(size_t)j * S + e], was = b->routing[(size_t)j * S + e];
            if (e < c->n_experts) {
                b->last_experts += now > was;
                b->last_nonskip += (int)(now - was);
            }
            b->routing[(size_t)j * S + e] = now;
        }
    b->last_tokens = T;
    return 0;
}

extern "C" void gpu_batch_memory(const gpu_batch *b, double *pool_gb, double *peak_gb,
                                 double *total_gb)
{
    double page = 2.0 * (double)b->page_vals * (double)b->kv_es;
    size_t fr = 0, tot = 0;
    if (hipMemGetInfo(&fr, &tot) != hipSuccess) {
        (void)hipGetLastError();
        fr = tot = 0;
    }
    *pool_gb = (double)b->npages * page / 1e9;
    *peak_gb = (double)(b->npages - b->min_free) * page / 1e9;
    *total_gb = (double)(tot - fr) / 1e9;
}

extern "C" const uint64_t *gpu_batch_routing(gpu_batch *b)
{
    return b->routing;
}

extern "C" double gpu_batch_step_bytes(const gpu_batch *b, int seqs, int ctx)
{
    const eng_config *c = &b->g->c;
    double kv = 2.0 * b->natt * c->nk * (double)ctx * c->head_dim * (double)b->kv_es * seqs;
    return b->g->fixed_bytes + b->g->expert_bytes * b->last_experts + kv;
}

extern "C" double gpu_batch_step_flops(const gpu_batch *b, int seqs, int ctx)
{
    const eng_config *c = &b->g->c;
    double dense = b->g->fixed_bytes / 2.0; /* bf16 weights of every token's path */
    double routed = b->last_tokens > 0 ? (double)b->last_nonskip / b->last_tokens : 0.0;
    double expert = b->g->expert_bytes / 2.0 * routed;
    double att = 4.0 * ctx * c->nq * c->head_dim * b->natt;
    return (double)seqs * (2.0 * (dense + expert) + att);
}

extern "C" double gpu_gemm_tflops(int n, char *err, size_t errlen)
{
    bf16 *w = NULL;
    float *x = NULL, *y = NULL;
    hipStream_t st = NULL;
    hipEvent_t e0 = NULL, e1 = NULL;
    double best = -1;
    size_t nn = (size_t)n * n;
    if (n < 64 || n % 64) {
        berr(err, errlen, "gpu_gemm_tflops: n = %d (a multiple of 64)", n);
        return -1;
    }
    int ok = hipMalloc((void **)&w, nn * sizeof(bf16)) == hipSuccess &&
             hipMalloc((void **)&x, nn * sizeof(float)) == hipSuccess &&
             hipMalloc((void **)&y, nn * sizeof(float)) == hipSuccess &&
             hipMemset(w, 0x3f, nn * sizeof(bf16)) == hipSuccess &&
             hipMemset(x, 0, nn * sizeof(float)) == hipSuccess &&
             hipStreamCreate(&st) == hipSuccess && hipEventCreate(&e0) == hipSuccess &&
             hipEventCreate(&e1) == hipSuccess;
    uint32_t *split = NULL;
    ok = ok && hipMalloc((void **)&split, nn * 6) == hipSuccess;
    bgemm p = {w, 0, NULL, n, n, x, n, 0, NULL, y, n, NULL, NULL, n, NULL, NULL, 0, split, NULL};
    for (int pass = 0; ok && pass < 4; pass++) {
        float ms = 0;
        ok = hipEventRecord(e0, st) == hipSuccess;
        kb_gemm(st, &p);
        ok = ok && hipEventRecord(e1, st) == hipSuccess && hipEventSynchronize(e1) == hipSuccess &&
             hipEventElapsedTime(&ms, e0, e1) == hipSuccess;
        if (ok && pass > 0 && ms > 0) {
            double tf = 2.0 * (double)nn * n / (ms * 1e-3) / 1e12;
            best = tf > best ? tf : best;
        }
    }
    if (!ok) {
        berr(err, errlen, "gpu_gemm_tflops: %s", hipGetErrorString(hipGetLastError()));
        best = -1;
    }
    if (e0)
        (void)hipEventDestroy(e0);
    if (e1)
        (void)hipEventDestroy(e1);
    if (st)
        (void)hipStreamDestroy(st);
    (void)hipFree(w);
    (void)hipFree(x);
    (void)hipFree(y);
    (void)hipFree(split);
    return best;
}
