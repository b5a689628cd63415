/*
 * engine.hip — the HIP backend's host side (gpu.h): device probing,
 * weight upload, one sequence's decode state, and the decode step as a
 * sequence of launches (kern.h), captured once as a graph and replayed,
 * or as the phases of one persistent launch (pk_build, kl_step).
 *
 * Device memory per sequence: the K/V cache [n_attn][nk][cap][d] f32
 * each, a ring of the last K0+K1-1 raw projections per attention
 * sub-layer, and the delayed value vd = Wv2 x̂ of the previous token.
 * Everything that differs between steps (token, position, argmax limit)
 * lives in a device gpu_io written before each step, so the captured
 * graph is valid for every position below the capacity.
 */
#include "ctx.h"
#include "gpu.h"

extern "C" {
#include "../util.h"
}

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A MoE sub-layer's router runs as its own launch of 1024 threads after
 * the down projection (one pass per router layer) unless
 * ZEVAL_GPU_ROUTER=tail asks for the projection's last block to run it
 * (256 threads, 4 passes per layer, one launch fewer).  Same values.
 * On an H200 (zeval bench gpu, context 1K) the router took 1.58 ms of a
 * 4.65 ms step as the tail and 1.18 ms as its own launch. */
static int router_split(void)
{
    static int v = -1;
    if (v < 0) {
        const char *e = getenv("ZEVAL_GPU_ROUTER");
        v = !(e && strcmp(e, "tail") == 0);
    }
    return v;
}

static int gerr(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

#define TRY(call, what)                                                                      \
    do {                                                                                     \
        hipError_t e_ = (call);                                                              \
        if (e_ != hipSuccess)                                                                \
            return gerr(err, errlen, "%s: %s (%s)", what, hipGetErrorString(e_),             \
                        hipGetErrorName(e_));                                                \
    } while (0)

extern "C" const char *gpu_build(void)
{
#if defined(ZEVAL_GPU_EMU)
    return "emu";
#elif defined(__HIP_PLATFORM_AMD__)
    return "hip";
#else
    return "cuda";
#endif
}

extern "C" int gpu_probe(char *desc, size_t len)
{
    int n = 0;
    hipError_t e = hipGetDeviceCount(&n);
    if (e != hipSuccess || n <= 0) {
        gerr(desc, len, "no GPU (%s build): hipGetDeviceCount: %s", gpu_build(),
             e != hipSuccess ? hipGetErrorString(e) : "0 devices");
        (void)hipGetLastError();
        return 0;
    }
    hipDeviceProp_t p;
    if (hipGetDeviceProperties(&p, 0) != hipSuccess) {
        (void)hipGetLastError();
        gerr(desc, len, "no GPU (%s build): hipGetDeviceProperties failed", gpu_build());
        return 0;
    }
    gerr(desc, len, "%s, %.1f GB, %d multiprocessors (%s build)", p.name,
         (double)p.totalGlobalMem / 1e9, p.multiProcessorCount, gpu_build());
    return 1;
}

/* ------------------------------------------------------------- context */

static const char *const pr_name[PR_KINDS] = {
    "embedding",          "q/k/v products (+merge, norm)", "CCA convs + q/k finish",
    "attention",          "attention output product",      "router (+merge, norm)",
    "expert up/gate",     "expert down (+SwiGLU)",         "final norm",
    "LM head",            "argmax"};

static const char *const pk_name[PK_KINDS] = {
    "embedding",                 "q/k/v products (+merge, norm)", "CCA convs + q/k finish",
    "attention (+combine)",      "attention output product",      "router down proj. (+merge, norm)",
    "router hidden layer 1",     "router hidden layer 2",         "slot + expert up/gate",
    "expert down (+SwiGLU)",     "LM head (+norm, argmax)"};

/* A device allocation owned by the context's weight set. */
static void *dev_alloc(gpu_ctx *g, size_t bytes)
{
    if (g->nallocs == g->capallocs) {
        int nc = g->capallocs ? 2 * g->capallocs : 256;
        void **na = (void **)realloc(g->allocs, (size_t)nc * sizeof *na);
        if (!na)
            return NULL;
        g->allocs = na;
        g->capallocs = nc;
    }
    void *p = NULL;
    if (hipMalloc(&p, bytes ? bytes : 16) != hipSuccess) {
        (void)hipGetLastError();
        return NULL;
    }
    g->allocs[g->nallocs++] = p;
    return p;
}

static const float *up_f32(gpu_ctx *g, const float *h, size_t n, int *bad)
{
    if (!h || *bad)
        return NULL;
    float *d = (float *)dev_alloc(g, n * sizeof(float));
    if (!d || hipMemcpy(d, h, n * sizeof(float), hipMemcpyHostToDevice) != hipSuccess) {
        *bad = 1;
        return NULL;
    }
    return d;
}

/* An [rows][cols] matrix as bf16 on the device (f32 and f16 rounded to
 * bf16), staged through buf (stage floats) in row blocks. */
/* n values (bf16 kept, f32 and f16 rounded to bf16) into device memory
 * at d, staged in blocks. */
static void up_into(bf16 *d, const void *p, st_dtype dt, size_t n, int *bad)
{
    if (*bad)
        return;
    if (dt == ST_BF16) {
        if (hipMemcpy(d, p, n * sizeof(bf16), hipMemcpyHostToDevice) != hipSuccess)
            *bad = 1;
        return;
    }
    size_t blk = 1 << 20;
    bf16 *tmp = (bf16 *)malloc(blk * sizeof(bf16));
    if (!tmp) {
        *bad = 1;
        return;
    }
    for (size_t i0 = 0; i0 < n && !*bad; i0 += blk) {
        size_t cnt = n - i0 < blk ? n - i0 : blk;
        for (size_t i = 0; i < cnt; i++) {
            float f = dt == ST_F32 ? ((const float *)p)[i0 + i]
                                   : ut_f16_to_f32(((const uint16_t *)p)[i0 + i]);
            tmp[i] = f2bf16(f);
        }
        if (hipMemcpy(d + i0, tmp, cnt * sizeof(bf16), hipMemcpyHostToDevice) != hipSuccess)
            *bad = 1;
    }
    free(tmp);
}

/* An [rows][cols] matrix as bf16 on the device. */
static bf16 *up_rows(gpu_ctx *g, const void *p, st_dtype dt, size_t rows, size_t cols, int *bad)
{
    if (*bad)
        return NULL;
    bf16 *d = (bf16 *)dev_alloc(g, rows * cols * sizeof(bf16));
    if (!d)
        *bad = 1;
    else
        up_into(d, p, dt, rows * cols, bad);
    return d;
}

/* E matrices of one shape, one after the other in one allocation (an
 * expert's weights are base + e * rows * cols: no pointer table to read
 * on the device). */
static bf16 *up_experts(gpu_ctx *g, const eng_mat *w, int E, int *bad)
{
    if (*bad)
        return NULL;
    size_t n = (size_t)w[0].rows * (size_t)w[0].cols;
    bf16 *d = (bf16 *)dev_alloc(g, (size_t)E * n * sizeof(bf16));
    if (!d)
        *bad = 1;
    for (int e = 0; e < E && !*bad; e++)
        up_into(d + (size_t)e * n, w[e].p, w[e].dt, n, bad);
    return d;
}

static bf16 *up_mat(gpu_ctx *g, const eng_mat *w, int *bad)
{
    return up_rows(g, w->p, w->dt, (size_t)w->rows, (size_t)w->cols, bad);
}

static void free_state(gpu_ctx *g)
{
    float *bufs[] = {g->K, g->V};
    for (int i = 0; i < 2; i++)
        if (bufs[i])
            (void)hipFree(bufs[i]);
    g->K = g->V = NULL;
    if (g->have_exec)
        (void)hipGraphExecDestroy(g->exec);
    g->have_exec = 0;
}

extern "C" void gpu_close(gpu_ctx *g)
{
    if (!g)
        return;
    free_state(g);
    for (int i = 0; i < g->nallocs; i++)
        (void)hipFree(g->allocs[i]);
    free(g->allocs);
    if (g->st)
        (void)hipStreamDestroy(g->st);
    free(g->sub);
    free(g->out_host);
    free(g->routing);
    for (int i = 0; i < g->capev; i++)
        (void)hipEventDestroy(g->ev[i]);
    free(g->ev);
    free(g->evkind);
    free(g->pk_tm_host);
    free(g->pk_kind);
    free(g);
}

/* Floats of dynamic shared memory the launches need at most: a
 * product's input (hidden), the expert activations, the router's
 * vectors, the convolution's first stage. */
static int shared_floats(const eng_config *c)
{
    int sh = c->hidden;
    if (3 * c->router + eng_cfg_slots(c) > sh)
        sh = 3 * c->router + eng_cfg_slots(c);
    if (c->inter > sh)
        sh = c->inter;
    if (c->cca_k1 * c->head_dim > sh)
        sh = c->cca_k1 * c->head_dim;
    return sh;
}

/* Shapes the kernels handle (kern.h). */
static int check_shapes(const eng_config *c, char *err, size_t errlen)
{
    int d = c->head_dim;
    if (d != 32 && d != 64 && d != 128)
        return gerr(err, errlen, "GPU backend: head_dim %d (32, 64 or 128 supported)", d);
    if (c->nq % c->nk || c->nq / c->nk > 8)
        return gerr(err, errlen, "GPU backend: %d query heads per KV head (at most 8)",
                    c->nq / c->nk);
    if (c->hidden % 8 || c->inter % 8 || c->router % 8 || (c->nq * d) % 8)
        return gerr(err, errlen, "GPU backend: hidden %d, expert width %d and router width %d "
                    "must be multiples of 8", c->hidden, c->inter, c->router);
    if (c->rot > d || c->rot % 2)
        return gerr(err, errlen, "GPU backend: rotary dims %d", c->rot);
    if ((c->nk * d) % 2)
        return gerr(err, errlen, "GPU backend: odd value width");
    /* the batched convolution's 8 tokens of K1 frames and a 64-input
     * slice of the filter (kb_cca) */
    if (8 * c->cca_k1 * d * 4 + 64 * (d + 2) * 2 > 48 * 1024)
        return gerr(err, errlen, "GPU backend: second convolution of %d taps over head_dim %d "
                    "(at most %d taps)", c->cca_k1, d, (48 * 1024 - 64 * (d + 2) * 2) / (32 * d));
    /* Dynamic shared memory of the launches (floats), within the 48 KB
     * every device gives without opting in. */
    int sh = shared_floats(c);
    if (sh > 12 * 1024 - 64)
        return gerr(err, errlen, "GPU backend: a launch would need %d floats of shared memory "
                    "(hidden %d, expert width %d, router 3*%d+%d); at most %d", sh, c->hidden,
                    c->inter, c->router, eng_cfg_slots(c), 12 * 1024 - 64);
    return 0;
}

static int alloc_state(gpu_ctx *g, int cap, char *err, size_t errlen)
{
    const eng_config *c = &g->c;
    size_t per = (size_t)(c->n_sub / 2) * (size_t)c->nk * (size_t)cap * (size_t)c->head_dim;
    free_state(g);
    g->cap = 0; /* no cache until both halves exist: gpu_step refuses to run */
    if (hipMalloc((void **)&g->K, per * sizeof(float)) != hipSuccess ||
        hipMalloc((void **)&g->V, per * sizeof(float)) != hipSuccess ||
        hipMemset(g->K, 0, per * sizeof(float)) != hipSuccess ||
        hipMemset(g->V, 0, per * sizeof(float)) != hipSuccess) {
        hipError_t e = hipGetLastError();
        free_state(g);
        return gerr(err, errlen, "GPU backend: allocating the K/V cache for %d tokens (2 x %.2f "
                    "GB): %s", cap, (double)per * sizeof(float) / 1e9, hipGetErrorString(e));
    }
    g->cap = cap;
    for (int n = 0; n < c->n_sub; n += 2)
        g->sub[n].cca.cap = cap;
    g->ph_stale = 1;
    return 0;
}

extern "C" gpu_ctx *gpu_open(const eng_model *m, int max_ctx, char *err, size_t errlen)
{
    char why[256];
    if (!gpu_probe(why, sizeof why)) {
        gerr(err, errlen, "%s", why);
        return NULL;
    }
    const eng_config *c = &m->cfg;
    if (check_shapes(c, err, errlen))
        return NULL;
    const char *pdl = getenv("ZEVAL_GPU_PDL"), *step = getenv("ZEVAL_GPU_STEP");
    if (pdl && *pdl && strcmp(pdl, "0") != 0 && strcmp(pdl, "1") != 0) {
        gerr(err, errlen, "ZEVAL_GPU_PDL=%s: not 0 or 1", pdl);
        return NULL;
    }
    gpu_pdl = pdl && strcmp(pdl, "1") == 0;
    int mode = step && *step ? gpu_step_mode(step) : GPU_STEP_GRAPH;
    if (mode < 0) {
        gerr(err, errlen, "ZEVAL_GPU_STEP=%s: not a step mode (graph, plain, persistent or "
             "phases)", step);
        return NULL;
    }
    const char *spm = getenv("ZEVAL_GPU_STEP_BLOCKS");
    long per_sm = 0;
    if (spm && *spm) {
        char *end;
        per_sm = strtol(spm, &end, 10);
        if (*end || per_sm < 1 || per_sm > 64) {
            gerr(err, errlen, "ZEVAL_GPU_STEP_BLOCKS=%s: not a number of blocks per "
                 "multiprocessor (1 to 64)", spm);
            return NULL;
        }
    }
    const char *pfe = getenv("ZEVAL_GPU_PREFETCH");
    if (pfe && *pfe && strcmp(pfe, "0") != 0 && strcmp(pfe, "1") != 0) {
        gerr(err, errlen, "ZEVAL_GPU_PREFETCH=%s: not 0 or 1", pfe);
        return NULL;
    }
    const char *sa = getenv("ZEVAL_GPU_SEQ_ATTN");
    if (sa && *sa && strcmp(sa, "tile") != 0 && strcmp(sa, "step8") != 0) {
        gerr(err, errlen, "ZEVAL_GPU_SEQ_ATTN=%s: tile or step8", sa);
        return NULL;
    }
    if (max_ctx < 1)
        max_ctx = 1;
    gpu_ctx *g = (gpu_ctx *)calloc(1, sizeof *g);
    if (!g) {
        gerr(err, errlen, "out of memory");
        return NULL;
    }
    g->m = m;
    g->c = *c;
    g->mode = mode;
    g->prefetch = pfe && strcmp(pfe, "1") == 0;
    g->attn8 = sa && strcmp(sa, "step8") == 0;
    g->pk_per_sm = (int)per_sm;
    g->nph = 2 + 4 * ((c->n_sub + 1) / 2) + 5 * (c->n_sub / 2);
    g->pk_shmem = (size_t)shared_floats(c) * sizeof(float);
    int H = c->hidden, d = c->head_dim, nq = c->nq, nk = c->nk, C = eng_cfg_conv_channels(c);
    int R = c->router, S = eng_cfg_slots(c), E = c->n_experts, I = c->inter;
    int K0 = c->cca_k0, K1 = c->cca_k1, nmoe = c->n_sub / 2, natt = (c->n_sub + 1) / 2;
    g->sub = (dev_sub *)calloc((size_t)c->n_sub, sizeof *g->sub);
    g->out_host = (int *)calloc((size_t)(1 + nmoe), sizeof(int));
    g->routing = (uint64_t *)calloc((size_t)(nmoe ? nmoe : 1) * (size_t)S, sizeof(uint64_t));
    if (!g->sub || !g->out_host || !g->routing || hipStreamCreate(&g->st) != hipSuccess) {
        gerr(err, errlen, "GPU backend: out of memory creating the context");
        gpu_close(g);
        return NULL;
    }
    int bad = 0;
    double wb = 0, fb = 0;
    for (int n = 0; n < c->n_sub; n++) {
        const eng_sublayer *L = &m->sub[n];
        dev_sub *D = &g->sub[n];
        D->mw.hs = up_f32(g, L->hs, (size_t)H, &bad);
        D->mw.hb = up_f32(g, L->hb, (size_t)H, &bad);
        D->mw.rs = up_f32(g, L->rs, (size_t)H, &bad);
        D->mw.rb = up_f32(g, L->rb, (size_t)H, &bad);
        D->norm = up_f32(g, L->norm, (size_t)H, &bad);
        fb += 5.0 * H * 4;
        if (n % 2 == 0) {
            /* q, k, v1, v2 one after the other: the batched engine runs
             * them as one product of (nq+nk)*d + nk*d rows. */
            const eng_mat *qkv[4] = {&L->wq, &L->wk, &L->wv1, &L->wv2};
            size_t rows = 0;
            for (int i = 0; i < 4; i++)
                rows += (size_t)qkv[i]->rows;
            bf16 *all = bad ? NULL : (bf16 *)dev_alloc(g, rows * (size_t)H * sizeof(bf16));
            bad |= !all;
            bf16 **dst[4] = {&D->wq, &D->wk, &D->wv1, &D->wv2};
            for (size_t i = 0, at = 0; i < 4 && !bad; at += (size_t)qkv[i]->rows * H, i++) {
                *dst[i] = all + at;
                up_into(all + at, qkv[i]->p, qkv[i]->dt, (size_t)qkv[i]->rows * H, &bad);
            }
            D->wo = up_mat(g, &L->wo, &bad);
            cca_w *w = &D->cca;
            w->nq = nq;
            w->nk = nk;
            w->d = d;
            w->rot = c->rot;
            w->K0 = K0;
            w->K1 = K1;
            w->conv0_w = up_f32(g, L->conv0_w, (size_t)C * K0, &bad);
            w->conv0_b = up_f32(g, L->conv0_b, (size_t)C, &bad);
            w->conv1_w = up_rows(g, L->conv1_w, ST_F32, (size_t)C, (size_t)K1 * d, &bad);
            w->conv1_b = up_f32(g, L->conv1_b, (size_t)C, &bad);
            w->temp = up_f32(g, L->temp, (size_t)nk, &bad);
            fb += 2.0 * ((double)L->wq.rows * L->wq.cols + (double)L->wk.rows * L->wk.cols +
                         (double)L->wv1.rows * L->wv1.cols + (double)L->wv2.rows * L->wv2.cols +
                         (double)L->wo.rows * L->wo.cols + (double)C * K1 * d) +
                  4.0 * ((double)C * K0 + 2.0 * C + nk);
        } else {
            D->rdown = up_mat(g, &L->rdown, &bad);
            D->rdown_b = up_f32(g, L->rdown_b, (size_t)R, &bad);
            router_w *w = &D->rt;
            w->R = R;
            w->S = S;
            w->E = E;
            w->eps = (float)c->eps;
            w->state_scale = up_f32(g, L->rstate_scale, (size_t)R, &bad);
            w->norm = up_f32(g, L->reda_norm, (size_t)R, &bad);
            w->w0 = up_mat(g, &L->r0, &bad);
            w->w2 = up_mat(g, &L->r2, &bad);
            w->w4 = up_mat(g, &L->r4, &bad);
            w->b0 = up_f32(g, L->r0_b, (size_t)R, &bad);
            w->b2 = up_f32(g, L->r2_b, (size_t)R, &bad);
            w->balance = up_f32(g, L->balance, (size_t)S, &bad);
            D->fc1 = up_experts(g, L->fc1, E, &bad);
            D->fc2 = up_experts(g, L->fc2, E, &bad);
            fb += 2.0 * ((double)R * H + 2.0 * R * R + (double)S * R) + 4.0 * (5.0 * R + S);
            wb = 2.0 * (3.0 * I * H);
        }
    }
    g->embed = up_mat(g, &m->embed, &bad);
    g->lm_head = m->lm_head.p == m->embed.p ? g->embed : up_mat(g, &m->lm_head, &bad);
    g->lm_b = up_f32(g, m->lm_head_b, (size_t)c->vocab, &bad);
    g->fmw.hs = up_f32(g, m->final_hs, (size_t)H, &bad);
    g->fmw.hb = up_f32(g, m->final_hb, (size_t)H, &bad);
    g->fmw.rs = up_f32(g, m->final_rs, (size_t)H, &bad);
    g->fmw.rb = up_f32(g, m->final_rb, (size_t)H, &bad);
    g->fnorm = up_f32(g, m->final_norm, (size_t)H, &bad);
    g->inv_freq = up_f32(g, m->inv_freq, (size_t)(c->rot / 2 > 0 ? c->rot / 2 : 1), &bad);
    for (int n = 0; n < c->n_sub; n += 2)
        g->sub[n].cca.inv_freq = g->inv_freq;
    fb += 2.0 * H + 2.0 * (double)c->vocab * H + 5.0 * H * 4;
    g->fixed_bytes = fb;
    g->expert_bytes = wb;
    /* scratch and fixed-size state */
    size_t nr = (size_t)(K0 + K1 - 1), kvh = (size_t)nk * d / 2;
    struct { float **p; size_t n; } f[] = {
        {&g->res, (size_t)2 * H}, {&g->xn, (size_t)H}, {&g->y, (size_t)H}, {&g->u, (size_t)C}, {&g->z, (size_t)C},
        {&g->vc, kvh}, {&g->q, (size_t)nq * d}, {&g->att, (size_t)nq * d},
        {&g->part, (size_t)ATT_SPLITS * nq * (d + ATT_PAD)}, {&g->r, (size_t)R},
        {&g->a, (size_t)2 * I}, {&g->logits, (size_t)c->vocab}, {&g->gate, (size_t)nmoe + 1},
        {&g->ring, (size_t)natt * nr * C}, {&g->vdst, (size_t)natt * 2 * kvh}, {&g->eda, (size_t)R},
        {&g->eda2, (size_t)2 * R}, {&g->h12, (size_t)2 * R},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0] && !bad; i++)
        if (!(*f[i].p = (float *)dev_alloc(g, f[i].n * sizeof(float))))
            bad = 1;
    if (!bad) {
        g->out = (int *)dev_alloc(g, (size_t)(1 + nmoe) * sizeof(int));
        g->io = (gpu_io *)dev_alloc(g, sizeof(gpu_io));
        size_t ncount = (size_t)(2 * nk + nq + 2);
        g->count = (int *)dev_alloc(g, ncount * sizeof(int));
        g->bar = (unsigned *)dev_alloc(g, 2 * sizeof(unsigned));
        g->ph = (pk_phase *)dev_alloc(g, (size_t)g->nph * sizeof(pk_phase));
        if (!g->out || !g->io || !g->count || !g->bar || !g->ph ||
            hipMemset(g->count, 0, ncount * sizeof(int)) != hipSuccess ||
            hipMemset(g->bar, 0, 2 * sizeof(unsigned)) != hipSuccess)
            bad = 1;
    }
    if (bad) {
        size_t fr = 0, tot = 0;
        (void)hipMemGetInfo(&fr, &tot);
        (void)hipGetLastError();
        gerr(err, errlen, "GPU backend: uploading the weights failed (out of device memory? "
             "%.2f of %.2f GB free)", (double)fr / 1e9, (double)tot / 1e9);
        gpu_close(g);
        return NULL;
    }
    if (alloc_state(g, max_ctx, err, errlen) || gpu_reset(g, max_ctx, err, errlen)) {
        gpu_close(g);
        return NULL;
    }
    return g;
}

extern "C" int gpu_reset(gpu_ctx *g, int need, char *err, size_t errlen)
{
    const eng_config *c = &g->c;
    if (need > g->cap) {
        int nc = g->cap;
        while (nc < need)
            nc = nc > (1 << 28) ? need : 2 * nc;
        if (alloc_state(g, nc, err, errlen))
            return -1;
    }
    size_t natt = (size_t)(c->n_sub + 1) / 2, C = (size_t)eng_cfg_conv_channels(c);
    size_t nr = (size_t)(c->cca_k0 + c->cca_k1 - 1), kvh = (size_t)c->nk * c->head_dim / 2;
    TRY(hipMemsetAsync(g->ring, 0, natt * nr * C * sizeof(float), g->st), "clearing the state");
    TRY(hipMemsetAsync(g->vdst, 0, natt * 2 * kvh * sizeof(float), g->st), "clearing the state");
    TRY(hipStreamSynchronize(g->st), "clearing the state");
    g->len = 0;
    return 0;
}

extern "C" int gpu_len(const gpu_ctx *g)
{
    return g->len;
}

extern "C" int gpu_seek(gpu_ctx *g, int pos, char *err, size_t errlen)
{
    if (pos < 0 || pos >= g->cap)
        return gerr(err, errlen, "gpu_seek: position %d outside [0, %d)", pos, g->cap);
    g->len = pos;
    return 0;
}

extern "C" void gpu_set_step(gpu_ctx *g, int mode)
{
    if (gpu_step_name(mode))
        g->mode = mode;
}

/* *flag = on (0 or 1); a graph captured with the other value is dropped,
 * to be captured anew by the next step. */
static void set_captured(gpu_ctx *g, int *flag, int on)
{
    if (*flag == !!on)
        return;
    *flag = !!on;
    if (g->have_exec)
        (void)hipGraphExecDestroy(g->exec);
    g->have_exec = 0;
}

extern "C" void gpu_set_prefetch(gpu_ctx *g, int on)
{
    set_captured(g, &g->prefetch, on);
}

extern "C" void gpu_set_seq_attn(gpu_ctx *g, int step8)
{
    set_captured(g, &g->attn8, step8);
}

extern "C" void gpu_set_pdl(gpu_ctx *g, int on)
{
    set_captured(g, &gpu_pdl, on);
}

extern "C" int gpu_pdl_built(void)
{
#ifdef __HIP_PLATFORM_NVIDIA__
    return 1;
#else
    return 0;
#endif
}

extern "C" int gpu_ran_step(const gpu_ctx *g)
{
    return g->ran_mode;
}

/* ---------------------------------------------------------------- step */

/* gpu_profile: an event after the launch just enqueued (the first call
 * of a step marks its start). */
static void mark(gpu_ctx *g, int kind)
{
    if (!g->prof_on || g->nev >= g->capev)
        return;
    if (hipEventRecord(g->ev[g->nev], g->st) == hipSuccess)
        g->evkind[g->nev++] = kind;
}

/* The input of sub-layer n as its first product computes it (kern.h,
 * norm_in), n == n_sub: the final norm's.  The residual stream
 * alternates between two buffers: sub-layer n reads res[n % 2] and its
 * first product writes the merged stream to the other. */
static norm_in sub_input(const gpu_ctx *g, int n)
{
    const eng_config *c = &g->c;
    float *res[2] = {g->res, g->res + c->hidden};
    int last = n == c->n_sub;
    norm_in nin = {res[n % 2], g->y, res[(n + 1) % 2], g->xn,
                   last ? g->fmw : g->sub[n].mw, n > 0, last ? g->fnorm : g->sub[n].norm,
                   (float)c->eps};
    return nin;
}

/* One product y = W x (+ b) as a gemv_set. */
static gemv_set one_product(const bf16 *w, const float *b, float *y, int rows)
{
    gemv_set set = {{w}, {b}, {y}, {rows}, {0}, 1};
    return set;
}

/* Attention sub-layer n's q0, k0, the current value half, and the
 * delayed half of the next token (slot (pos + 1) % 2 of its vd). */
static gemv_set qkv_products(const gpu_ctx *g, int n)
{
    const eng_config *c = &g->c;
    const dev_sub *D = &g->sub[n];
    int d = c->head_dim, qw = c->nq * d, kvh = c->nk * d / 2;
    float *vd = g->vdst + (size_t)(n / 2) * 2 * (size_t)kvh;
    gemv_set set = {{D->wq, D->wk, D->wv1, D->wv2}, {NULL, NULL, NULL, NULL},
                    {g->u, g->u + qw, g->vc, vd}, {qw, c->nk * d, kvh, kvh}, {0, 0, 0, kvh}, 4};
    return set;
}

/* Attention sub-layer n's K/V cache [nk][cap][d] and raw-projection ring. */
static float *sub_cache(const gpu_ctx *g, int n, float *base)
{
    const eng_config *c = &g->c;
    return base + (size_t)(n / 2) * (size_t)c->nk * (size_t)g->cap * (size_t)c->head_dim;
}

static float *sub_ring(const gpu_ctx *g, int n)
{
    const eng_config *c = &g->c;
    size_t nr = (size_t)(c->cca_k0 + c->cca_k1 - 1), C = (size_t)eng_cfg_conv_channels(c);
    return g->ring + (size_t)(n / 2) * nr * C;
}

/* ------------------------------------------------- prefetches of a step */

/* With ZEVAL_GPU_PREFETCH=1 the graph's launches ask later launches'
 * weights into L2 (gpu_pf), so those read L2 instead of waiting on
 * device memory at their start: the embedding asks for sub-layer 0's
 * q/k/v products and convolution filter; an attention sub-layer's q/k/v
 * product for its output product, its cached keys and values and the
 * next sub-layer's router; a MoE sub-layer's expert up/gate product for
 * the chosen expert's down projection; that down projection for the
 * next attention sub-layer's q/k/v products and filter.  Each range is
 * asked for at least one launch before the one that reads it. */
static void pf_add(gpu_pf *pf, const void *p, size_t bytes)
{
    for (int i = 0; i < PF_RANGES; i++)
        if (!pf->r[i].p) {
            pf->r[i].p = p;
            pf->r[i].bytes = bytes;
            return;
        }
}

/* Attention sub-layer n's q/k/v products (one allocation) and
 * convolution filter into pf; nothing past the last sub-layer. */
static void pf_qkv(const gpu_ctx *g, int n, gpu_pf *pf)
{
    const eng_config *c = &g->c;
    if (n >= c->n_sub)
        return;
    size_t H = (size_t)c->hidden, d = (size_t)c->head_dim, b = sizeof(bf16);
    size_t C = (size_t)eng_cfg_conv_channels(c), K1 = (size_t)c->cca_k1;
    pf_add(pf, g->sub[n].wq, ((size_t)c->nq + 2 * (size_t)c->nk) * d * H * b);
    pf_add(pf, g->sub[n].cca.conv1_w, C * K1 * d * b);
}

/* Attention sub-layer n's output product into pf. */
static void pf_wo(const gpu_ctx *g, int n, gpu_pf *pf)
{
    const eng_config *c = &g->c;
    pf_add(pf, g->sub[n].wo, (size_t)c->hidden * (size_t)c->nq * (size_t)c->head_dim * sizeof(bf16));
}

/* MoE sub-layer n's router (down projection and MLP) into pf; nothing
 * past the last sub-layer. */
static void pf_router(const gpu_ctx *g, int n, gpu_pf *pf)
{
    const eng_config *c = &g->c;
    if (n >= c->n_sub)
        return;
    const dev_sub *M = &g->sub[n];
    size_t H = (size_t)c->hidden, R = (size_t)c->router, b = sizeof(bf16);
    pf_add(pf, M->rdown, R * H * b);
    pf_add(pf, M->rt.w0, R * R * b);
    pf_add(pf, M->rt.w2, R * R * b);
    pf_add(pf, M->rt.w4, (size_t)M->rt.S * R * b);
}

/* Attention sub-layer n's cached keys and values (of up to PK_KV_PF
 * positions) into pf; nothing past the last sub-layer or for a MoE one. */
static void pf_kv(const gpu_ctx *g, int n, gpu_pf *pf)
{
    const eng_config *c = &g->c;
    if (n >= c->n_sub || n % 2)
        return;
    pf->kv_k = sub_cache(g, n, g->K);
    pf->kv_v = sub_cache(g, n, g->V);
    pf->kv_heads = c->nk;
    pf->kv_d = c->head_dim;
    pf->kv_stride = (size_t)g->cap * (size_t)c->head_dim;
}

/* Sub-layer n's weights into pf (none past the last): what the
 * persistent step's earlier phases ask into L2 for it. */
static void pf_sub(const gpu_ctx *g, int n, gpu_pf *pf)
{
    if (n >= g->c.n_sub)
        return;
    if (n % 2) {
        pf_router(g, n, pf);
    } else {
        pf_qkv(g, n, pf);
        pf_wo(g, n, pf);
    }
}

/* The prefetches of attention sub-layer n's q/k/v launch. */
static void pf_attention(const gpu_ctx *g, int n, gpu_pf *pf)
{
    pf_wo(g, n, pf);
    pf_router(g, n + 1, pf);
    pf_kv(g, n, pf);
}

/* Enqueues one decode step on g->st (the token and position in g->io). */
static void enqueue_step(gpu_ctx *g)
{
    const eng_config *c = &g->c;
    hipStream_t s = g->st;
    int H = c->hidden, d = c->head_dim, nq = c->nq, nk = c->nk, qw = nq * d;
    int E = c->n_experts, I = c->inter, N = c->n_sub;
    int skip_zero = g->m->skip_mode == ENG_SKIP_ZERO;

    int pf = g->prefetch;
    gpu_pf pe;
    memset(&pe, 0, sizeof pe);
    pf_qkv(g, 0, &pe);

    g->nev = 0;
    mark(g, PR_EMBED);
    kl_embed(s, g->embed, H, g->io, g->sub[0].mw.hs, g->sub[0].mw.hb, g->res, pf ? &pe : NULL);
    mark(g, PR_EMBED);
    for (int n = 0; n < N; n++) {
        const dev_sub *D = &g->sub[n];
        norm_in nin = sub_input(g, n);
        if (n % 2 == 0) {
            float *K = sub_cache(g, n, g->K), *V = sub_cache(g, n, g->V);
            gemv_set qkv = qkv_products(g, n);
            gpu_pf pa;
            memset(&pa, 0, sizeof pa);
            pf_attention(g, n, &pa);
            kl_gemv(s, &qkv, NULL, H, &nin, g->io, pf ? &pa : NULL);
            mark(g, PR_QKV);
            kl_cca(s, &D->cca, g->io, g->u, sub_ring(g, n), g->vc, qkv.y[3], g->z, g->q, K, V,
                   g->count + nk);
            mark(g, PR_CCA);
            kl_attention(s, g->q, K, V, nq, nk, d, g->cap, g->io, g->part, g->count, g->att,
                         g->attn8);
            mark(g, PR_ATTN);
            gemv_set o = one_product(D->wo, NULL, g->y, H);
            kl_gemv(s, &o, g->att, qw, NULL, g->io, NULL);
            mark(g, PR_O);
        } else {
            int j = n / 2;
            gemv_set rd = one_product(D->rdown, D->rdown_b, g->r, c->router);
            if (router_split()) { /* the product, then the router on 1024 threads */
                kl_gemv(s, &rd, NULL, H, &nin, g->io, NULL);
                kl_router(s, &D->rt, g->r, g->eda, g->out + 1 + j, g->gate + j);
            } else { /* the router by the product's last block */
                router_tail rt = {D->rt, g->eda, g->out + 1 + j, g->gate + j,
                                  g->count + 2 * nk + nq};
                kl_gemv_router(s, &rd, &nin, H, g->io, &rt);
            }
            mark(g, PR_ROUTER);
            gpu_pf p1, p2;
            memset(&p1, 0, sizeof p1);
            memset(&p2, 0, sizeof p2);
            p1.expert = D->fc2;
            p1.sel = g->out + 1 + j;
            p1.expert_n = (size_t)H * (size_t)I;
            p1.E = E;
            pf_qkv(g, n + 1, &p2);
            kl_gemv_expert(s, D->fc1, g->out + 1 + j, E, 2 * I, H, g->xn, g->a, pf ? &p1 : NULL);
            mark(g, PR_FC1);
            kl_expert_down(s, D->fc2, g->out + 1 + j, E, H, I, g->a, g->gate + j, g->xn,
                           skip_zero, g->y, pf ? &p2 : NULL);
            mark(g, PR_FC2);
        }
    }
    norm_in fin = sub_input(g, N);
    kl_norm(s, &fin, H); /* once: the LM head has V/8 blocks */
    mark(g, PR_NORM);
    gemv_set lm = one_product(g->lm_head, g->lm_b, g->logits, c->vocab);
    kl_gemv(s, &lm, g->xn, H, NULL, g->io, NULL);
    mark(g, PR_LM);
    kl_argmax(s, g->logits, c->vocab, g->io, g->out);
    mark(g, PR_ARGMAX);
}

/* ------------------------------------------------- the persistent step */

/* Virtual blocks of PK_ROWS rows over set's products. */
static gemv_blocks pk_blocks(const gemv_set *set)
{
    gemv_blocks bl;
    bl.b0[0] = 0;
    for (int i = 0; i < GEMV_SET; i++)
        bl.b0[i + 1] = bl.b0[i] + (i < set->n ? (set->rows[i] + PK_ROWS - 1) / PK_ROWS : 0);
    return bl;
}

/* The phases of one step (g->nph of them) into ph, as enqueue_step's
 * launches compute them: the embedding; per attention sub-layer the
 * q/k/v products, the convolutions with the heads' finish, attention
 * with its combine, the output product; per MoE sub-layer the router's
 * down projection, its two hidden layers, the slot with the expert's
 * up/gate product, the down projection; the LM head with the argmax.
 * The embedding asks the first two sub-layers' weights into L2, and each
 * expert up/gate phase the next two sub-layers' (the LM head's first
 * 16 MB after the last) and the chosen expert's down projection; both
 * also the next attention sub-layer's keys and values of the first
 * PK_KV_PF positions. */
static void pk_build(const gpu_ctx *g, pk_phase *ph)
{
    const eng_config *c = &g->c;
    int H = c->hidden, d = c->head_dim, nq = c->nq, nk = c->nk, qw = nq * d;
    int R = c->router, I = c->inter, N = c->n_sub, k = 0;
    int C = eng_cfg_conv_channels(c), ng = PK_THREADS / GPU_LANES;
    memset(ph, 0, (size_t)g->nph * sizeof *ph);
    pk_phase *P = &ph[k++];
    P->kind = PK_EMBED;
    P->nvb = 1;
    P->cols = H;
    P->emb = g->embed;
    P->nin.mw = g->sub[0].mw;
    P->set.y[0] = g->res;
    pf_sub(g, 0, &P->pf);
    pf_sub(g, 1, &P->pf);
    pf_kv(g, 0, &P->pf);
    for (int n = 0; n < N; n++) {
        const dev_sub *D = &g->sub[n];
        if (n % 2 == 0) {
            float *K = sub_cache(g, n, g->K), *V = sub_cache(g, n, g->V);
            P = &ph[k++];
            P->kind = PK_QKV;
            P->set = qkv_products(g, n);
            P->nin = sub_input(g, n);
            P->use_norm = 1;
            P->cols = H;
            P = &ph[k++];
            P->kind = PK_CONV;
            P->nvb = C / ng;
            P->cca = D->cca;
            P->u = g->u;
            P->vc = g->vc;
            P->vd = ph[k - 2].set.y[3];
            P->ring = sub_ring(g, n);
            P->z = g->z;
            P->q = g->q;
            P->K = K;
            P->V = V;
            P->count = g->count + nk;
            P = &ph[k++];
            P->kind = PK_ATTN;
            P->nvb = nk * ATT_SPLITS;
            P->cca = D->cca;
            P->q = g->q;
            P->K = K;
            P->V = V;
            P->part = g->part;
            P->count = g->count;
            P->att = g->att;
            P = &ph[k++];
            P->kind = PK_O;
            P->set = one_product(D->wo, NULL, g->y, H);
            P->x = g->att;
            P->cols = qw;
        } else {
            int j = n / 2;
            P = &ph[k++];
            P->kind = PK_RDOWN;
            P->set = one_product(D->rdown, D->rdown_b, g->r, R);
            P->nin = sub_input(g, n);
            P->use_norm = 1;
            P->cols = H;
            for (int r = 0; r < 2; r++) {
                P = &ph[k++];
                P->kind = r ? PK_R1 : PK_R0;
                P->nvb = (R + PK_ROWS - 1) / PK_ROWS;
                P->rt = D->rt;
                P->r = g->r;
                P->eda_in = g->eda2 + (size_t)((j + 1) % 2) * R;
                P->eda_out = g->eda2 + (size_t)(j % 2) * R;
                P->h1 = g->h12;
                P->h2 = g->h12 + R;
            }
            P = &ph[k++];
            P->kind = PK_FC1;
            P->nvb = (2 * I + PK_ROWS - 1) / PK_ROWS;
            P->rt = D->rt;
            P->h2 = g->h12 + R;
            P->sel = g->out + 1 + j;
            P->gate = g->gate + j;
            P->fc1 = D->fc1;
            P->E = c->n_experts;
            P->I = I;
            P->cols = H;
            P->xn = g->xn;
            P->a = g->a;
            pf_sub(g, n + 1, &P->pf);
            pf_sub(g, n + 2, &P->pf);
            pf_kv(g, n + 1, &P->pf);
            if (n + 1 == N) {
                size_t lm = (size_t)c->vocab * (size_t)H * sizeof(bf16);
                pf_add(&P->pf, g->lm_head, lm < (16u << 20) ? lm : (16u << 20));
            }
            P->pf.expert = D->fc2;
            P->pf.expert_n = (size_t)H * (size_t)I;
            P = &ph[k++];
            P->kind = PK_FC2;
            P->nvb = (H + PK_ROWS - 1) / PK_ROWS;
            P->sel = g->out + 1 + j;
            P->gate = g->gate + j;
            P->fc2 = D->fc2;
            P->E = c->n_experts;
            P->I = I;
            P->cols = H;
            P->skip_zero = g->m->skip_mode == ENG_SKIP_ZERO;
            P->xn = g->xn;
            P->a = g->a;
            P->y = g->y;
        }
    }
    P = &ph[k++];
    P->kind = PK_LM;
    P->set = one_product(g->lm_head, g->lm_b, g->logits, c->vocab);
    P->nin = sub_input(g, N);
    P->use_norm = 1;
    P->cols = H;
    P->am_v = g->am_v;
    P->am_i = g->am_i;
    P->am_count = g->count + 2 * nk + nq + 1;
    P->am_out = g->out;
    for (int i = 0; i < k; i++)
        if (ph[i].set.n)
            ph[i].bl = pk_blocks(&ph[i].set), ph[i].nvb = ph[i].bl.b0[GEMV_SET];
}

/* The persistent step's grid and phases, ready to launch. */
static int pk_prepare(gpu_ctx *g, char *err, size_t errlen)
{
    if (!g->pk_grid) {
        int grid = kl_step_grid(g->c.head_dim, g->pk_shmem, g->pk_per_sm);
        if (grid <= 0)
            return gerr(err, errlen, "GPU backend: the runtime cannot say how many blocks of the "
                        "persistent step fit on the device");
        g->am_v = (float *)dev_alloc(g, (size_t)grid * sizeof(float));
        g->am_i = (int *)dev_alloc(g, (size_t)grid * sizeof(int));
        g->pk_tm = (unsigned long long *)dev_alloc(g, (size_t)(g->nph + 1) * sizeof *g->pk_tm);
        g->pk_tm_host = (unsigned long long *)calloc((size_t)g->nph + 1, sizeof *g->pk_tm_host);
        g->pk_kind = (int *)calloc((size_t)g->nph, sizeof *g->pk_kind);
        if (!g->am_v || !g->am_i || !g->pk_tm || !g->pk_tm_host || !g->pk_kind)
            return gerr(err, errlen, "GPU backend: out of memory for the persistent step");
        g->pk_grid = grid;
        g->ph_stale = 1;
    }
    if (g->ph_stale) {
        pk_phase *ph = (pk_phase *)malloc((size_t)g->nph * sizeof *ph);
        if (!ph)
            return gerr(err, errlen, "out of memory");
        pk_build(g, ph);
        for (int i = 0; i < g->nph; i++)
            g->pk_kind[i] = ph[i].kind;
        hipError_t e = hipMemcpy(g->ph, ph, (size_t)g->nph * sizeof *ph, hipMemcpyHostToDevice);
        free(ph);
        TRY(e, "uploading the persistent step's phases");
        g->ph_stale = 0;
    }
    return 0;
}

/* Captures one step as a graph; 0, or -1 when the runtime cannot. */
static int capture(gpu_ctx *g)
{
    hipGraph_t graph;
    if (hipStreamBeginCapture(g->st, hipStreamCaptureModeThreadLocal) != hipSuccess)
        return -1;
    enqueue_step(g);
    if (hipStreamEndCapture(g->st, &graph) != hipSuccess)
        return -1;
    hipError_t e = hipGraphInstantiateWithFlags(&g->exec, graph, 0);
    (void)hipGraphDestroy(graph);
    if (e != hipSuccess)
        return -1;
    g->have_exec = 1;
    return 0;
}

extern "C" int gpu_step(gpu_ctx *g, int32_t token, float *logits, int n_valid, int32_t *argmax,
                        char *err, size_t errlen)
{
    const eng_config *c = &g->c;
    if (token < 0 || token >= c->vocab)
        return gerr(err, errlen, "token id %d is outside the vocabulary [0, %d)", token, c->vocab);
    if (g->len >= g->cap)
        return gerr(err, errlen, "GPU backend: the sequence is full (%d tokens)", g->cap);
    g->io_host.token = token;
    g->io_host.pos = g->len;
    g->io_host.n_valid = n_valid;
    TRY(hipMemcpyAsync(g->io, &g->io_host, sizeof(gpu_io), hipMemcpyHostToDevice, g->st),
        "writing the step");
    /* profiling times the persistent step's phases in the kernel, the
     * graph's launches by events between plain launches */
    int persist = g->mode == GPU_STEP_PERSISTENT || g->mode == GPU_STEP_PHASES;
    int mode = g->prof_on && !persist ? GPU_STEP_PLAIN : g->mode, timed = 0;
    if (mode == GPU_STEP_PERSISTENT || mode == GPU_STEP_PHASES) {
        if (pk_prepare(g, err, errlen))
            return -1;
        int phases = mode == GPU_STEP_PHASES;
        timed = g->prof_on && !phases;
        hipError_t e = kl_step(g->st, c->head_dim, g->pk_grid, g->pk_shmem, g->ph, g->nph, g->io,
                               g->bar, timed ? g->pk_tm : NULL, phases);
        if (e != hipSuccess && !phases) {
            /* nothing ran: say so once, and take graphs from now on */
            (void)hipGetLastError();
            fprintf(stderr, "zeval: GPU backend: the persistent step's cooperative launch of %d "
                    "blocks failed (%s); captured graphs from now on\n", g->pk_grid,
                    hipGetErrorString(e));
            g->mode = mode = GPU_STEP_GRAPH;
            timed = 0;
        } else {
            TRY(e, "launching the persistent step");
            g->ran_mode = phases ? GPU_STEP_PHASES : GPU_STEP_PERSISTENT;
        }
    }
    if (mode == GPU_STEP_GRAPH && !g->have_exec && !g->capture_failed && capture(g)) {
        hipError_t e = hipGetLastError();
        fprintf(stderr, "zeval: GPU backend: capturing the decode step as a graph failed (%s); "
                "plain launches from now on\n", hipGetErrorString(e));
        g->capture_failed = 1;
    }
    if (mode == GPU_STEP_GRAPH && g->have_exec) {
        TRY(hipGraphLaunch(g->exec, g->st), "launching the step graph");
        g->ran_mode = GPU_STEP_GRAPH;
    } else if (mode == GPU_STEP_GRAPH || mode == GPU_STEP_PLAIN) {
        enqueue_step(g);
        g->ran_mode = GPU_STEP_PLAIN;
    }
    TRY(hipGetLastError(), "launching the step");
    int nmoe = c->n_sub / 2;
    TRY(hipMemcpyAsync(g->out_host, g->out, (size_t)(1 + nmoe) * sizeof(int),
                       hipMemcpyDeviceToHost, g->st), "reading the step");
    if (logits)
        TRY(hipMemcpyAsync(logits, g->logits, (size_t)c->vocab * sizeof(float),
                           hipMemcpyDeviceToHost, g->st), "reading the logits");
    if (timed)
        TRY(hipMemcpyAsync(g->pk_tm_host, g->pk_tm, (size_t)(g->nph + 1) * sizeof *g->pk_tm,
                           hipMemcpyDeviceToHost, g->st), "reading the phase times");
    TRY(hipStreamSynchronize(g->st), "running the step");
    if (argmax)
        *argmax = g->out_host[0];
    if (g->prof_on && persist) {
        int untimed = !timed || g->pk_tm_host[g->nph] == 0;
        for (int p = 0; p < g->nph && !untimed; p++)
            g->pk_ms[g->pk_kind[p]] += (double)(g->pk_tm_host[p + 1] - g->pk_tm_host[p]) * 1e-6;
        g->pk_untimed += untimed;
        g->pk_prof_steps++;
    } else if (g->prof_on) {
        for (int k = 1; k < g->nev; k++) {
            float ms = 0;
            if (hipEventElapsedTime(&ms, g->ev[k - 1], g->ev[k]) == hipSuccess)
                g->prof_ms[g->evkind[k]] += ms;
        }
        g->prof_steps++;
    }
    g->last_experts = 0;
    int S = eng_cfg_slots(c);
    for (int j = 0; j < nmoe; j++) {
        int e = g->out_host[1 + j];
        g->last_experts += e < c->n_experts;
        if (e >= 0 && e < S)
            g->routing[(size_t)j * S + e]++;
    }
    g->len++;
    return 0;
}

extern "C" int gpu_step_shape(gpu_ctx *g, int *blocks, int *phases, char *err, size_t errlen)
{
    if (pk_prepare(g, err, errlen))
        return -1;
    *blocks = g->pk_grid;
    *phases = g->nph;
    return 0;
}

extern "C" double gpu_barrier_us(gpu_ctx *g, int n, char *err, size_t errlen)
{
    if (pk_prepare(g, err, errlen))
        return -1;
    hipEvent_t e0, e1;
    TRY(hipEventCreate(&e0), "timing the grid barrier");
    if (hipEventCreate(&e1) != hipSuccess) {
        (void)hipEventDestroy(e0);
        return gerr(err, errlen, "timing the grid barrier: %s", hipGetErrorString(hipGetLastError()));
    }
    double best = -1;
    hipError_t e = hipSuccess;
    for (int r = 0; r < 4 && e == hipSuccess; r++) { /* run 0 warms up */
        float ms = 0;
        if ((e = hipEventRecord(e0, g->st)) == hipSuccess &&
            (e = kl_barriers(g->st, g->pk_grid, g->bar, n)) == hipSuccess &&
            (e = hipEventRecord(e1, g->st)) == hipSuccess &&
            (e = hipEventSynchronize(e1)) == hipSuccess &&
            (e = hipEventElapsedTime(&ms, e0, e1)) == hipSuccess && r > 0) {
            double us = 1e3 * ms / n;
            best = best < 0 || us < best ? us : best;
        }
    }
    (void)hipEventDestroy(e0);
    (void)hipEventDestroy(e1);
    if (e != hipSuccess)
        return gerr(err, errlen, "timing the grid barrier (%d blocks): %s", g->pk_grid,
                    hipGetErrorString(e));
    return best;
}

extern "C" int gpu_profile(gpu_ctx *g, int on, char *err, size_t errlen)
{
    int need = 4 * g->c.n_sub + 16;
    if (on && g->capev < need) {
        hipEvent_t *ev = (hipEvent_t *)realloc(g->ev, (size_t)need * sizeof *ev);
        int *kind = (int *)realloc(g->evkind, (size_t)need * sizeof *kind);
        if (ev)
            g->ev = ev;
        if (kind)
            g->evkind = kind;
        if (!ev || !kind)
            return gerr(err, errlen, "out of memory");
        for (; g->capev < need; g->capev++)
            TRY(hipEventCreate(&g->ev[g->capev]), "creating the profiling events");
    }
    g->prof_on = on;
    if (on) {
        memset(g->prof_ms, 0, sizeof g->prof_ms);
        memset(g->pk_ms, 0, sizeof g->pk_ms);
        g->prof_steps = g->pk_prof_steps = g->pk_untimed = 0;
    }
    return 0;
}

/* Milliseconds per step of each of n kinds, with its share. */
static void print_kinds(FILE *out, const char *const *name, const double *ms, int n, int steps)
{
    double tot = 0;
    for (int k = 0; k < n; k++)
        tot += ms[k];
    for (int k = 0; k < n; k++)
        fprintf(out, "  %-32s %8.3f ms/step  %5.1f%%\n", name[k], ms[k] / steps,
                tot > 0 ? 100.0 * ms[k] / tot : 0.0);
    fprintf(out, "  %-32s %8.3f ms/step", "total", tot / steps);
}

extern "C" void gpu_profile_print(const gpu_ctx *g, FILE *out)
{
    if (g->prof_steps || !g->pk_prof_steps) {
        print_kinds(out, pr_name, g->prof_ms, PR_KINDS, g->prof_steps ? g->prof_steps : 1);
        fprintf(out, " (%d steps, plain launches with an event after each)\n", g->prof_steps);
    }
    int timed = g->pk_prof_steps - g->pk_untimed;
    if (timed > 0) {
        print_kinds(out, pk_name, g->pk_ms, PK_KINDS, timed);
        fprintf(out, " (%d persistent steps, %d blocks; each phase from block 0's exit of the "
                "barrier before it to its exit of the next)\n", timed, g->pk_grid);
    }
    if (g->pk_untimed)
        fprintf(out, "  (%d persistent steps untimed: only a cooperative launch on NVIDIA reads "
                "the device timer)\n", g->pk_untimed);
}

extern "C" const uint64_t *gpu_routing(const gpu_ctx *g)
{
    return g->routing;
}

extern "C" double gpu_step_bytes(const gpu_ctx *g, int ctx)
{
    const eng_config *c = &g->c;
    double kv = 2.0 * (double)(c->n_sub / 2) * c->nk * (double)ctx * c->head_dim * 4.0;
    return g->fixed_bytes + g->expert_bytes * g->last_experts + kv;
}

extern "C" double gpu_copy_bandwidth(size_t bytes, int passes, char *err, size_t errlen)
{
    void *a = NULL, *b = NULL;
    hipEvent_t e0, e1;
    double best = 0;
    if (hipMalloc(&a, bytes) != hipSuccess || hipMalloc(&b, bytes) != hipSuccess) {
        (void)hipGetLastError();
        if (a)
            (void)hipFree(a);
        gerr(err, errlen, "GPU: cannot allocate 2 x %.2f GB for the bandwidth test",
             (double)bytes / 1e9);
        return -1;
    }
    int ok = hipEventCreate(&e0) == hipSuccess && hipEventCreate(&e1) == hipSuccess &&
             hipMemset(a, 1, bytes) == hipSuccess && hipMemset(b, 0, bytes) == hipSuccess;
    for (int p = 0; ok && p <= passes; p++) {
        float ms = 0;
        ok = hipEventRecord(e0, 0) == hipSuccess &&
             hipMemcpyAsync(b, a, bytes, hipMemcpyDeviceToDevice, 0) == hipSuccess &&
             hipEventRecord(e1, 0) == hipSuccess && hipEventSynchronize(e1) == hipSuccess &&
             hipEventElapsedTime(&ms, e0, e1) == hipSuccess;
        if (ok && p > 0 && ms > 0) { /* pass 0 warms up */
            double gbs = 2.0 * (double)bytes / (ms * 1e-3) / 1e9;
            best = gbs > best ? gbs : best;
        }
    }
    (void)hipFree(a);
    (void)hipFree(b);
    if (!ok) {
        (void)hipGetLastError();
        gerr(err, errlen, "GPU: the bandwidth test failed");
        return -1;
    }
    (void)hipEventDestroy(e0);
    (void)hipEventDestroy(e1);
    return best;
}
