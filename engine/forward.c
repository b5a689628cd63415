/*
 * forward.c — the float32 CPU forward pass of ZAYA (spec §4–§9) and the
 * per-sequence decode state (spec §7).
 *
 * One call processes a batch of chunks.  Row-wise work (projections, norms,
 * router, experts, LM head) runs over all rows of the batch at once; the
 * sequence-wise work (the two causal convolutions, the delayed value, the
 * attention over the cache) runs per chunk against that chunk's state.
 * Every output value is a fixed-order reduction over its own row's inputs
 * (kernels.h), so results do not depend on what else is in the batch; the
 * big products are split over the thread pool by output rows, so they do
 * not depend on the thread count either.
 */
#include "kernels.h"
#include "model.h"
#include "pool.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct eng_seq {
    int len, cap;           /* tokens cached; K/V capacity in tokens */
    int n_attn, nh, C, H, kvw;
    float *U;               /* [n_attn][nh][C]: last nh raw packed projections */
    float *prevx;           /* [n_attn][H]: x̂ of the last token (delayed value input) */
    float **K, **V;         /* [n_attn] -> [nk][cap][d]: each KV head's rows contiguous */
    int nk, d;
    int kv_bf16;            /* K/V rounded to bf16 as they are stored */
};

eng_seq *eng_seq_new(const eng_model *m)
{
    const eng_config *c = &m->cfg;
    eng_seq *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->n_attn = c->n_sub / 2;
    s->nh = c->cca_k0 + c->cca_k1 - 2;
    s->C = eng_cfg_conv_channels(c);
    s->H = c->hidden;
    s->kvw = c->nk * c->head_dim;
    s->nk = c->nk;
    s->d = c->head_dim;
    size_t nu = (size_t)s->n_attn * (size_t)s->nh * (size_t)s->C;
    s->U = calloc(nu ? nu : 1, sizeof(float));
    s->prevx = calloc((size_t)s->n_attn * (size_t)s->H, sizeof(float));
    s->K = calloc((size_t)s->n_attn, sizeof(float *));
    s->V = calloc((size_t)s->n_attn, sizeof(float *));
    if (!s->U || !s->prevx || !s->K || !s->V) {
        eng_seq_free(s);
        return NULL;
    }
    return s;
}

void eng_seq_free(eng_seq *s)
{
    if (!s)
        return;
    for (int a = 0; s->K && a < s->n_attn; a++)
        free(s->K[a]);
    for (int a = 0; s->V && a < s->n_attn; a++)
        free(s->V[a]);
    free(s->K);
    free(s->V);
    free(s->U);
    free(s->prevx);
    free(s);
}

void eng_seq_reset(eng_seq *s)
{
    s->len = 0;
    memset(s->U, 0, (size_t)s->n_attn * (size_t)s->nh * (size_t)s->C * sizeof(float));
    memset(s->prevx, 0, (size_t)s->n_attn * (size_t)s->H * sizeof(float));
}

void eng_seq_kv_bf16(eng_seq *s, int on)
{
    s->kv_bf16 = on != 0;
}

int eng_seq_len(const eng_seq *s)
{
    return s->len;
}

/* Grows every layer's K/V to hold need tokens.  All buffers are grown
 * first and the KV heads moved to the new stride only when every growth
 * succeeded, so a failure leaves the cache as it was. */
static int seq_reserve(eng_seq *s, int need)
{
    if (need <= s->cap)
        return 0;
    int nc = s->cap ? s->cap : 64;
    while (nc < need)
        nc = nc > (1 << 29) ? need : 2 * nc;
    size_t bytes = (size_t)nc * (size_t)s->kvw * sizeof(float);
    for (int a = 0; a < s->n_attn; a++) {
        float *k = realloc(s->K[a], bytes);
        if (!k)
            return -1;
        s->K[a] = k;
        float *v = realloc(s->V[a], bytes);
        if (!v)
            return -1;
        s->V[a] = v;
    }
    size_t row = (size_t)s->len * (size_t)s->d * sizeof(float);
    for (int a = 0; a < s->n_attn; a++)
        for (int g = s->nk - 1; g > 0; g--) {
            memmove(s->K[a] + (size_t)g * nc * s->d, s->K[a] + (size_t)g * s->cap * s->d, row);
            memmove(s->V[a] + (size_t)g * nc * s->d, s->V[a] + (size_t)g * s->cap * s->d, row);
        }
    s->cap = nc;
    return 0;
}

/* ------------------------------------------------------------------ kernels */

/* Widens row r of w into buf (cols floats) unless it is already f32;
 * returns a pointer to the float row. */
static const float *mat_row(const eng_mat *w, int r, float *buf)
{
    size_t off = (size_t)r * (size_t)w->cols;
    if (w->dt == ST_F32)
        return (const float *)w->p + off;
    const uint16_t *h = (const uint16_t *)w->p + off;
    if (w->dt == ST_BF16)
        for (int i = 0; i < w->cols; i++)
            buf[i] = ut_bf16_to_f32(h[i]);
    else
        for (int i = 0; i < w->cols; i++)
            buf[i] = ut_f16_to_f32(h[i]);
    return buf;
}

/* Per-call buffers of eng_forward (scratch_alloc). */
typedef struct scratch {
    float *res, *xn, *y, *rowbuf;
    float *u, *q0, *k0, *obuf, *xprev, *vc, *vd, *att;      /* attention */
    float *uext, *mbuf, *z, *scores;
    float *r, *eda, *rho, *h1, *h2, *lg;          /* router */
    int *expert;
    float *gate;
    int *order;
    float *xg, *xnp, *a, *act, *eo;               /* experts */
    float *hfin;
    float *xpk;                                   /* kn_xprep's layout */
    float *xcat;                                  /* grouped-conv inputs */
    const eng_seq **rowseq;                       /* attention: each row's */
    int *rowpos;                                  /* sequence and position, */
    int *chr0;                                    /* each chunk's first row, */
    int *blk0;                                    /* each attention block's */
    int nblk;
    float *qbuf;                                  /* attention queries */
    size_t qld;
    int maxctx, maxn;
    int conv_tasks;                               /* frame buffers uext/mbuf */
    void *blk;
} scratch;

/* Attention tasks at most (each has its own scores, query and output
 * buffers), and query rows per block. */
enum { ATT_TASKS = 32, ATT_QB = 4 };

typedef struct {
    float *y;
    size_t ldy;
    float *const *yrows;
    const float *x;
    size_t ldx;
    int T;
    const eng_mat *w;
    const float *bias;
} mm_job;

/* Task i of n: output rows [rows*i/n, rows*(i+1)/n), all T activation rows. */
static void mm_task(void *arg, int i, int n)
{
    const mm_job *j = arg;
    int rows = j->w->rows;
    int o0 = (int)((long long)rows * i / n), o1 = (int)((long long)rows * (i + 1) / n);
    kn_matmul_rows(j->y, j->ldy, j->yrows, j->x, j->ldx, j->T, j->w, j->bias, o0, o1);
}

/* Y[t][o] = W[o, :] · x[t, :] (+ bias[o]) for t < T; x rows have stride
 * w->cols; Y[t] is yrows[t] if given, else y + t*w->rows.  The activations
 * are laid out for the kernels once (in sc's buffer), then large products
 * are split over the pool by output rows; each element is computed by one
 * thread in the same order whatever the split. */
/* The product on activations already laid out by kn_xprep (x, ldx). */
static void matmul_pre(float *y, size_t ldy, float *const *yrows, const float *x, size_t ldx,
                       int T, const eng_mat *w, const float *bias)
{
    mm_job j = {y, ldy, yrows, x, ldx, T, w, bias};
    double work = (double)w->rows * (double)w->cols * (double)T;
    int nt = pool_threads();
    int ntasks = work < 65536.0 || nt <= 1 ? 1 : 4 * nt;
    if (ntasks > w->rows)
        ntasks = w->rows;
    pool_run(mm_task, &j, ntasks);
}

static void matmul_rows(const scratch *sc, float *y, size_t ldy, float *const *yrows,
                        const float *x, int T, const eng_mat *w, const float *bias)
{
    size_t ldx = (size_t)w->cols;
    x = kn_xprep(sc->xpk, x, &ldx, T, w);
    matmul_pre(y, ldy, yrows, x, ldx, T, w, bias);
}

/* Whether kn_xprep lays out activations the same way for a and b. */
static int same_layout(const eng_mat *a, const eng_mat *b)
{
    return a->dt == b->dt && a->cols == b->cols;
}

static void matmul(const scratch *sc, float *y, const float *x, int T, const eng_mat *w,
                   const float *bias)
{
    matmul_rows(sc, y, (size_t)w->rows, NULL, x, T, w, bias);
}

/* The same with output rows at stride ldy. */
static void matmul_ld(const scratch *sc, float *y, size_t ldy, const float *x, int T,
                      const eng_mat *w, const float *bias)
{
    matmul_rows(sc, y, ldy, NULL, x, T, w, bias);
}

static void rmsnorm(float *out, const float *x, const float *w, int n, float eps)
{
    double ss = 0;
    for (int i = 0; i < n; i++)
        ss += (double)x[i] * (double)x[i];
    float r = 1.0f / sqrtf((float)(ss / n) + eps);
    for (int i = 0; i < n; i++)
        out[i] = w[i] * (x[i] * r);
}

static float gelu(float x)
{
    return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}

static float silu(float x)
{
    return x / (1.0f + expf(-x));
}

/* res = (res + rb) * rs + (y + hb) * hs, or res + y without scaling. */
static void merge(float *res, const float *y, const float *hs, const float *hb, const float *rs,
                  const float *rb, int H)
{
    if (!hs) {
        for (int i = 0; i < H; i++)
            res[i] += y[i];
        return;
    }
    for (int i = 0; i < H; i++)
        res[i] = (res[i] + rb[i]) * rs[i] + (y[i] + hb[i]) * hs[i];
}

/* ---------------------------------------------------------------- scratch */


static int scratch_alloc(scratch *s, const eng_model *m, int T, int nch, int maxn, int maxctx)
{
    const eng_config *c = &m->cfg;
    size_t H = (size_t)c->hidden, C = (size_t)eng_cfg_conv_channels(c);
    size_t kvw = (size_t)c->nk * (size_t)c->head_dim, qw = (size_t)c->nq * (size_t)c->head_dim;
    size_t R = (size_t)c->router, S = (size_t)eng_cfg_slots(c), I = (size_t)c->inter;
    size_t nh = (size_t)(c->cca_k0 + c->cca_k1 - 2), t = (size_t)T;
    /* Chunks convolve in parallel, each task with its own frame buffers,
     * when they are short (decode steps); one task otherwise. */
    int ctasks = maxn <= 64 ? (nch < pool_threads() ? nch : pool_threads()) : 1;
    if (ctasks > 16)
        ctasks = 16;
    if (ctasks < 1)
        ctasks = 1;
    size_t qld = ((size_t)c->head_dim + 31) & ~(size_t)31;
    size_t maxcols = H;
    if (qw > maxcols) maxcols = qw;
    if (I > maxcols) maxcols = I;
    if (R > maxcols) maxcols = R;
    if ((size_t)c->cca_k1 * (size_t)c->head_dim > maxcols)
        maxcols = (size_t)c->cca_k1 * (size_t)c->head_dim;
    struct { float **p; size_t n; } f[] = {
        {&s->res, t * H}, {&s->xn, t * H}, {&s->y, t * H}, {&s->rowbuf, maxcols},
        {&s->u, t * C}, {&s->q0, t * qw}, {&s->k0, t * kvw}, {&s->obuf, (size_t)ATT_TASKS * (size_t)c->head_dim},
        {&s->qbuf, (size_t)ATT_TASKS * ATT_QB * (size_t)(c->nq / c->nk) * qld}, {&s->xprev, t * H}, {&s->vc, t * kvw / 2},
        {&s->vd, t * kvw / 2}, {&s->att, t * qw},
        {&s->uext, (size_t)ctasks * (nh + (size_t)maxn) * C},
        {&s->mbuf, (size_t)ctasks * (nh + (size_t)maxn) * C},
        {&s->z, t * C}, {&s->scores, (size_t)ATT_TASKS * ATT_QB * (size_t)(c->nq / c->nk) * (size_t)maxctx},
        {&s->xcat, t * C * (size_t)c->cca_k1},
        {&s->r, t * R}, {&s->eda, t * R}, {&s->rho, t * R}, {&s->h1, t * R}, {&s->h2, t * R},
        {&s->lg, t * S}, {&s->gate, t},
        {&s->xg, t * ((H + 31) & ~(size_t)31)}, {&s->xnp, t * ((H + 31) & ~(size_t)31)},
        {&s->a, t * 2 * I}, {&s->act, t * I}, {&s->eo, t * H},
        {&s->hfin, t * H}, {&s->xpk, t * ((maxcols + 31) & ~(size_t)31)},
    };
    size_t nf = sizeof f / sizeof f[0], total = 0;
    for (size_t i = 0; i < nf; i++)
        total += (f[i].n + 15) & ~(size_t)15;
    size_t ints = 5 * t + 18;
    s->blk = malloc(total * sizeof(float) + t * sizeof(eng_seq *) + ints * sizeof(int));
    if (!s->blk)
        return -1;
    float *p = s->blk;
    for (size_t i = 0; i < nf; i++) {
        *f[i].p = p;
        p += (f[i].n + 15) & ~(size_t)15;
    }
    s->rowseq = (const eng_seq **)(void *)p;
    s->expert = (int *)(void *)(s->rowseq + t);
    s->order = s->expert + t;
    s->rowpos = s->order + t;
    s->chr0 = s->rowpos + t;
    s->blk0 = s->chr0 + t + 1;
    s->qld = qld;
    s->maxctx = maxctx;
    s->maxn = maxn;
    s->conv_tasks = ctasks;
    return 0;
}

/* ------------------------------------------------------------- sub-layers */

typedef struct {
    const eng_model *m;
    int n, a_idx, T;
    eng_chunk *ch;
    int nch;
    scratch *sc;
} att_job;

/* Task i of n: chunks [nch*i/n, nch*(i+1)/n), each with its own frame
 * buffers (region i): stage 1 of the convolutions (depthwise) over the
 * chunk's conv window, gathering for every row the K1 frames each group's
 * filter reads, xcat[g][row] = [m_t[g], .., m_{t+K1-1}[g]]; then the new
 * conv window and delayed input of the sequence. */
static void conv_task(void *arg, int i, int ntasks)
{
    const att_job *j = arg;
    const eng_config *c = &j->m->cfg;
    const eng_sublayer *L = &j->m->sub[j->n];
    scratch *sc = j->sc;
    int H = c->hidden, d = c->head_dim, C = eng_cfg_conv_channels(c), T = j->T;
    int K0 = c->cca_k0, K1 = c->cca_k1, nh = K0 + K1 - 2, ngrp = C / d, kd = K1 * d;
    size_t frames = (size_t)(nh + sc->maxn) * (size_t)C;
    float *uext = sc->uext + (size_t)i * frames, *mbuf = sc->mbuf + (size_t)i * frames;
    int k0 = (int)((long long)j->nch * i / ntasks), k1 = (int)((long long)j->nch * (i + 1) / ntasks);
    for (int k = k0; k < k1; k++) {
        eng_seq *s = j->ch[k].seq;
        int cn = j->ch[k].n, r0 = sc->chr0[k];
        float *U = s->U + (size_t)j->a_idx * (size_t)nh * (size_t)C;
        /* Frames: nh history frames, then this chunk's rows. */
        memcpy(uext, U, (size_t)nh * (size_t)C * sizeof(float));
        memcpy(uext + (size_t)nh * C, sc->u + (size_t)r0 * C, (size_t)cn * (size_t)C * sizeof(float));
        /* Stage 1, depthwise: m frames f = 0 .. cn+K1-2 (ext frame f+K0-1). */
        int nm = cn + K1 - 1;
        for (int f = 0; f < nm; f++) {
            float *mo = mbuf + (size_t)f * C;
            for (int ci = 0; ci < C; ci++) {
                float acc = L->conv0_b[ci];
                for (int tap = 0; tap < K0; tap++)
                    acc += L->conv0_w[ci * K0 + tap] * uext[(size_t)(f + tap) * C + ci];
                mo[ci] = acc;
            }
        }
        for (int t = 0; t < cn; t++)
            for (int g = 0; g < ngrp; g++)
                for (int tap = 0; tap < K1; tap++)
                    memcpy(sc->xcat + ((size_t)g * T + (size_t)(r0 + t)) * kd + (size_t)tap * d,
                           mbuf + (size_t)(t + tap) * C + (size_t)g * d, (size_t)d * sizeof(float));
        /* New conv window: the last nh frames. */
        memcpy(U, uext + (size_t)cn * C, (size_t)nh * (size_t)C * sizeof(float));
        memcpy(s->prevx + (size_t)j->a_idx * H, sc->xn + (size_t)(r0 + cn - 1) * H,
               (size_t)H * sizeof(float));
    }
}

/* Rotate-half RoPE on the first rot dims of v, with the cosines and sines
 * of one position's angles. */
static void rope_with(float *v, int rot, const float *cs, const float *sn)
{
    int half = rot / 2;
    for (int i = 0; i < half; i++) {
        float x0 = v[i], x1 = v[i + half];
        v[i] = x0 * cs[i] - x1 * sn[i];
        v[i + half] = x1 * cs[i] + x0 * sn[i];
    }
}

/* Task i of n: rows [T*i/n, T*(i+1)/n): the queries and keys (mixing with
 * the pre-conv projections, L2 norms, temperature, rotary) and the values,
 * written into each row's sequence cache at its position. */
static void qkv_task(void *arg, int i, int ntasks)
{
    const att_job *j = arg;
    const eng_model *m = j->m;
    const eng_config *c = &m->cfg;
    const eng_sublayer *L = &m->sub[j->n];
    scratch *sc = j->sc;
    int d = c->head_dim, nq = c->nq, nk = c->nk, G = nq / nk, qw = nq * d, kvw = nk * d;
    int C = eng_cfg_conv_channels(c), half = c->rot / 2;
    float sqrtd = sqrtf((float)d), cs[2048], sn[2048]; /* rot/2 <= head_dim/2 <= 2048 */
    int t0 = (int)((long long)j->T * i / ntasks), t1 = (int)((long long)j->T * (i + 1) / ntasks);
    for (int row = t0; row < t1; row++) {
        const eng_seq *s = sc->rowseq[row];
        int p = sc->rowpos[row];
        const float *q0 = sc->u + (size_t)row * C, *k0 = q0 + qw;
        const float *z = sc->z + (size_t)row * C;
        float *q = sc->att + (size_t)row * qw;
        /* Head g's key and value at position p: K/V + (g*cap + p)*d. */
        float *Kp = s->K[j->a_idx] + (size_t)p * d, *Vp = s->V[j->a_idx] + (size_t)p * d;
        size_t gs = (size_t)s->cap * (size_t)d;
        for (int h = 0; h < half; h++) {
            float a = (float)p * m->inv_freq[h];
            cs[h] = cosf(a);
            sn[h] = sinf(a);
        }
        for (int g = 0; g < nk; g++) {
            for (int e = 0; e < d; e++) {
                float ksum = 0;
                for (int r = 0; r < G; r++) {
                    int h = g * G + r;
                    float mq = (q0[h * d + e] + k0[g * d + e]) * 0.5f;
                    q[h * d + e] = z[h * d + e] + mq;
                    ksum += mq;
                }
                Kp[g * gs + e] = z[qw + g * d + e] + ksum / (float)G;
            }
        }
        for (int h = 0; h < nq; h++) {
            float *qh = q + h * d;
            float nrm = sqrtf(kn_dot(qh, qh, d));
            float sc_q = sqrtd / nrm;
            for (int e = 0; e < d; e++)
                qh[e] *= sc_q;
            rope_with(qh, c->rot, cs, sn);
        }
        for (int g = 0; g < nk; g++) {
            float *kh = Kp + g * gs;
            float nrm = sqrtf(kn_dot(kh, kh, d));
            float sc_k = sqrtd / nrm * L->temp[g];
            for (int e = 0; e < d; e++)
                kh[e] *= sc_k;
            rope_with(kh, c->rot, cs, sn);
        }
        /* v = [vc; vd], split into the KV heads' d-wide slices */
        const float *vc = sc->vc + (size_t)row * (kvw / 2), *vd = sc->vd + (size_t)row * (kvw / 2);
        for (int e = 0; e < kvw; e++)
            Vp[(size_t)(e / d) * gs + (size_t)(e % d)] = e < kvw / 2 ? vc[e] : vd[e - kvw / 2];
        if (s->kv_bf16)
            for (int g = 0; g < nk; g++)
                for (int e = 0; e < d; e++) {
                    float *k = Kp + g * gs + e, *v = Vp + g * gs + e;
                    *k = ut_bf16_to_f32(ut_f32_to_bf16(*k));
                    *v = ut_bf16_to_f32(ut_f32_to_bf16(*v));
                }
    }
}

/* Task i of n: units [units*i/n, units*(i+1)/n) of (block of up to ATT_QB
 * consecutive rows of one sequence, KV head g).  The scores of the block's
 * rows x the G query heads of g against the keys 0..pmax are one product
 * (kn_matmul_rows, the keys as the weight rows: each score is the same
 * fixed-order reduction whatever the block), scaled by 1/sqrt(d); then per
 * (row, head), over its causal prefix 0..p: max, exp, sum, normalise, and
 * the values weighted in cache order (kn_wsum), written over the query. */
static void att_task(void *arg, int i, int n)
{
    const att_job *j = arg;
    const eng_config *c = &j->m->cfg;
    scratch *sc = j->sc;
    int d = c->head_dim, nq = c->nq, nk = c->nk, G = nq / nk, qw = nq * d;
    float inv_sqrtd = 1.0f / sqrtf((float)d);
    size_t per = (size_t)ATT_QB * (size_t)G;
    float *scores = sc->scores + (size_t)i * per * (size_t)sc->maxctx;
    float *xb = sc->qbuf + (size_t)i * per * (size_t)sc->qld, *o = sc->obuf + (size_t)i * d;
    int units = sc->nblk * nk, u0 = (int)((long long)units * i / n),
        u1 = (int)((long long)units * (i + 1) / n);
    for (int u = u0; u < u1; u++) {
        int b = u / nk, g = u % nk, r0 = sc->blk0[b], nr = sc->blk0[b + 1] - r0;
        const eng_seq *s = sc->rowseq[r0];
        int pmax = sc->rowpos[r0 + nr - 1];
        const float *Kg = s->K[j->a_idx] + (size_t)g * s->cap * d;
        const float *Vg = s->V[j->a_idx] + (size_t)g * s->cap * d;
        eng_mat km = {Kg, ST_F32, pmax + 1, d};
        /* The block's queries of head group g, nr*G rows at stride ld. */
        size_t ld = kn_xprep_floats(&km, 1);
        for (int r = 0; r < nr; r++) {
            const float *q = sc->att + (size_t)(r0 + r) * qw + (size_t)g * G * d;
            if (ld) {
                size_t l = (size_t)d;
                kn_xprep(xb + (size_t)r * G * ld, q, &l, G, &km);
            } else {
                memcpy(xb + (size_t)r * G * d, q, (size_t)G * d * sizeof(float));
            }
        }
        if (!ld)
            ld = (size_t)d;
        kn_matmul_rows(scores, (size_t)sc->maxctx, NULL, xb, ld, nr * G, &km, NULL, 0, pmax + 1);
        for (int r = 0; r < nr; r++)
            for (int e = 0; e < G; e++) {
                int p = sc->rowpos[r0 + r], h = g * G + e;
                float *sr = scores + (size_t)(r * G + e) * (size_t)sc->maxctx;
                float mx = -INFINITY;
                for (int tau = 0; tau <= p; tau++) {
                    sr[tau] *= inv_sqrtd;
                    if (sr[tau] > mx)
                        mx = sr[tau];
                }
                float sum = 0;
                for (int tau = 0; tau <= p; tau++) {
                    sr[tau] = expf(sr[tau] - mx);
                    sum += sr[tau];
                }
                float inv = 1.0f / sum;
                for (int tau = 0; tau <= p; tau++)
                    sr[tau] *= inv;
                kn_wsum(o, sr, Vg, (size_t)d, p + 1, d);
                memcpy(sc->att + (size_t)(r0 + r) * qw + (size_t)h * d, o, (size_t)d * sizeof(float));
            }
    }
}

/* CCA attention of sub-layer n over all chunks; reads sc->xn, writes sc->y. */
static void attention(const eng_model *m, int n, eng_chunk *ch, int nch, int T, scratch *sc)
{
    const eng_config *c = &m->cfg;
    const eng_sublayer *L = &m->sub[n];
    int a_idx = n / 2, H = c->hidden, d = c->head_dim, nq = c->nq, nk = c->nk;
    int C = eng_cfg_conv_channels(c), qw = nq * d, kvw = nk * d, K1 = c->cca_k1;

    /* Latent projections packed as u = [q0; k0] per row. */
    /* wq, wk and wv1 read the same rows: laid out once when they agree. */
    size_t ldx = (size_t)L->wq.cols;
    const float *xq = kn_xprep(sc->xpk, sc->xn, &ldx, T, &L->wq);
    matmul_pre(sc->q0, (size_t)L->wq.rows, NULL, xq, ldx, T, &L->wq, NULL);
    if (same_layout(&L->wk, &L->wq))
        matmul_pre(sc->k0, (size_t)L->wk.rows, NULL, xq, ldx, T, &L->wk, NULL);
    else
        matmul(sc, sc->k0, sc->xn, T, &L->wk, NULL);
    for (int t = 0; t < T; t++) {
        memcpy(sc->u + (size_t)t * C, sc->q0 + (size_t)t * qw, (size_t)qw * sizeof(float));
        memcpy(sc->u + (size_t)t * C + qw, sc->k0 + (size_t)t * kvw, (size_t)kvw * sizeof(float));
    }
    /* Delayed-value inputs: each row's previous x̂ within its sequence. */
    int r0 = 0;
    for (int k = 0; k < nch; k++) {
        const float *px = ch[k].seq->prevx + (size_t)a_idx * H;
        memcpy(sc->xprev + (size_t)r0 * H, px, (size_t)H * sizeof(float));
        if (ch[k].n > 1)
            memcpy(sc->xprev + (size_t)(r0 + 1) * H, sc->xn + (size_t)r0 * H,
                   (size_t)(ch[k].n - 1) * (size_t)H * sizeof(float));
        r0 += ch[k].n;
    }
    if (same_layout(&L->wv1, &L->wq))
        matmul_pre(sc->vc, (size_t)L->wv1.rows, NULL, xq, ldx, T, &L->wv1, NULL);
    else
        matmul(sc, sc->vc, sc->xn, T, &L->wv1, NULL);
    matmul(sc, sc->vd, sc->xprev, T, &L->wv2, NULL);

    /* Rows of each chunk, and each row's sequence and position. */
    r0 = 0;
    for (int k = 0; k < nch; k++) {
        sc->chr0[k] = r0;
        for (int t = 0; t < ch[k].n; t++) {
            sc->rowseq[r0 + t] = ch[k].seq;
            sc->rowpos[r0 + t] = ch[k].seq->len + t;
        }
        r0 += ch[k].n;
    }
    /* The two convolutions: stage 1 (depthwise) per chunk, chunks spread
     * over the pool (conv_task); stage 2 (grouped) one product per group
     * over all rows: z[row][g*d + o] = conv1_w[g*d + o] . xcat[g][row]. */
    att_job j = {m, n, a_idx, T, ch, nch, sc};
    int nt = pool_threads(), ctasks = nch < sc->conv_tasks ? nch : sc->conv_tasks;
    int ngrp = C / d, kd = K1 * d;
    pool_run(conv_task, &j, ctasks);
    for (int g = 0; g < ngrp; g++) {
        eng_mat w1 = {L->conv1_w + (size_t)g * d * kd, ST_F32, d, kd};
        matmul_ld(sc, sc->z + (size_t)g * d, (size_t)C, sc->xcat + (size_t)g * T * kd, T, &w1,
                  L->conv1_b + (size_t)g * d);
    }

    /* Queries and keys (mixing, norms, temperature, rotary) and values,
     * appended to each sequence's cache. */
    pool_run(qkv_task, &j, T >= 4 && nt > 1 ? (nt < T ? nt : T) : 1);

    /* Causal attention over each sequence's cache (now holding P0 + cn
     * tokens), in blocks of up to ATT_QB consecutive rows of one sequence
     * per KV head, spread over the pool. */
    int nb = 0;
    for (int r = 0; r < T; r++)
        if (r == 0 || sc->rowseq[r] != sc->rowseq[r - 1] || r - sc->blk0[nb - 1] == ATT_QB)
            sc->blk0[nb++] = r;
    sc->blk0[nb] = T;
    sc->nblk = nb;
    int units = nb * nk;
    int ntasks = nt <= 1 ? 1 : 4 * nt;
    if (ntasks > ATT_TASKS)
        ntasks = ATT_TASKS;
    if (ntasks > units)
        ntasks = units;
    pool_run(att_task, &j, ntasks);
    matmul(sc, sc->y, sc->att, T, &L->wo, NULL);
}

/* Top-1 MoE of sub-layer n; reads sc->xn, updates sc->eda, writes sc->y. */
static void moe(const eng_model *m, int n, int T, scratch *sc)
{
    const eng_config *c = &m->cfg;
    const eng_sublayer *L = &m->sub[n];
    int H = c->hidden, R = c->router, E = c->n_experts, S = eng_cfg_slots(c), I = c->inter;

    matmul(sc, sc->r, sc->xn, T, &L->rdown, L->rdown_b);
    for (int t = 0; t < T; t++) {
        float *r = sc->r + (size_t)t * R, *eda = sc->eda + (size_t)t * R;
        if (L->rstate_scale)
            for (int i = 0; i < R; i++)
                r[i] += eda[i] * L->rstate_scale[i];
        memcpy(eda, r, (size_t)R * sizeof(float));
        rmsnorm(sc->rho + (size_t)t * R, r, L->reda_norm, R, (float)c->eps);
    }
    matmul(sc, sc->h1, sc->rho, T, &L->r0, L->r0_b);
    for (size_t i = 0; i < (size_t)T * R; i++)
        sc->h1[i] = gelu(sc->h1[i]);
    matmul(sc, sc->h2, sc->h1, T, &L->r2, L->r2_b);
    for (size_t i = 0; i < (size_t)T * R; i++)
        sc->h2[i] = gelu(sc->h2[i]);
    matmul(sc, sc->lg, sc->h2, T, &L->r4, NULL);
    for (int t = 0; t < T; t++) {
        float *lg = sc->lg + (size_t)t * S;
        float mx = lg[0];
        for (int e = 1; e < S; e++)
            if (lg[e] > mx)
                mx = lg[e];
        float sum = 0;
        for (int e = 0; e < S; e++) {
            lg[e] = expf(lg[e] - mx);
            sum += lg[e];
        }
        int best = 0;
        float bestv = -INFINITY;
        for (int e = 0; e < S; e++) {
            lg[e] /= sum;
            float v = lg[e] + L->balance[e];
            if (v > bestv) { /* strict: lowest index wins ties */
                bestv = v;
                best = e;
            }
        }
        sc->expert[t] = best;
        sc->gate[t] = lg[best];
        if (m->route_counts)
            m->route_counts[(size_t)(n / 2) * (size_t)S + (size_t)best]++;
    }
    /* Skip slot. */
    for (int t = 0; t < T; t++)
        if (sc->expert[t] == E) {
            float *y = sc->y + (size_t)t * H;
            const float *x = sc->xn + (size_t)t * H;
            float g = m->skip_mode == ENG_SKIP_ZERO ? 0.0f : sc->gate[t];
            for (int i = 0; i < H; i++)
                y[i] = g * x[i];
        }
    /* Experts, tokens grouped per expert: the rows are laid out for the
     * kernels once, and each expert's gathered from that layout (an expert
     * whose weights differ in layout from expert 0 gathers raw rows). */
    size_t ld = (size_t)H;
    const float *xl = kn_xprep(sc->xnp, sc->xn, &ld, T, &L->fc1[0]);
    for (int e = 0; e < E; e++) {
        int same = same_layout(&L->fc1[e], &L->fc1[0]), cnt = 0;
        size_t lg = same ? ld : (size_t)H;
        for (int t = 0; t < T; t++)
            if (sc->expert[t] == e) {
                sc->order[cnt] = t;
                memcpy(sc->xg + (size_t)cnt * lg, same ? xl + (size_t)t * ld : sc->xn + (size_t)t * H,
                       lg * sizeof(float));
                cnt++;
            }
        if (!cnt)
            continue;
        if (same)
            matmul_pre(sc->a, (size_t)2 * I, NULL, sc->xg, ld, cnt, &L->fc1[e], NULL);
        else
            matmul(sc, sc->a, sc->xg, cnt, &L->fc1[e], NULL);
        for (int i = 0; i < cnt; i++) {
            const float *ar = sc->a + (size_t)i * 2 * I;
            float *o = sc->act + (size_t)i * I;
            for (int j = 0; j < I; j++)
                o[j] = silu(ar[j]) * ar[I + j];
        }
        matmul(sc, sc->eo, sc->act, cnt, &L->fc2[e], NULL);
        for (int i = 0; i < cnt; i++) {
            int t = sc->order[i];
            float g = sc->gate[t];
            float *y = sc->y + (size_t)t * H;
            const float *eo = sc->eo + (size_t)i * H;
            for (int j = 0; j < H; j++)
                y[j] = g * eo[j];
        }
    }
}

/* ------------------------------------------------------------------ driver */

int eng_forward(const eng_model *m, eng_chunk *ch, int nch, char *err, size_t errlen)
{
    const eng_config *c = &m->cfg;
    int H = c->hidden, V = c->vocab;
    if (nch <= 0)
        return ut_err(err, errlen, "forward: empty batch");
    if (kn_init(err, errlen) || pool_init(err, errlen))
        return -1;
    int T = 0, maxn = 0, maxctx = 0;
    for (int k = 0; k < nch; k++) {
        if (!ch[k].seq || ch[k].n <= 0 || !ch[k].ids)
            return ut_err(err, errlen, "forward: chunk %d is empty", k);
        for (int j = 0; j < k; j++)
            if (ch[j].seq == ch[k].seq)
                return ut_err(err, errlen, "forward: chunks %d and %d continue the same sequence", j, k);
        for (int i = 0; i < ch[k].n; i++)
            if (ch[k].ids[i] < 0 || ch[k].ids[i] >= V)
                return ut_err(err, errlen, "token id %d (chunk %d, position %d) is outside the "
                              "vocabulary [0, %d)", ch[k].ids[i], k, i, V);
        if (ch[k].n > (1 << 30) - ch[k].seq->len || T > (1 << 30) - ch[k].n)
            return ut_err(err, errlen, "forward: too many tokens");
        T += ch[k].n;
        if (ch[k].n > maxn)
            maxn = ch[k].n;
        if (ch[k].seq->len + ch[k].n > maxctx)
            maxctx = ch[k].seq->len + ch[k].n;
    }
    for (int k = 0; k < nch; k++)
        if (seq_reserve(ch[k].seq, ch[k].seq->len + ch[k].n))
            return ut_err(err, errlen, "out of memory growing the KV cache to %d tokens",
                          ch[k].seq->len + ch[k].n);
    scratch sc;
    if (scratch_alloc(&sc, m, T, nch, maxn, maxctx))
        return ut_err(err, errlen, "out of memory for a batch of %d tokens", T);

    /* Embeddings and the first merge (branch side only). */
    int row = 0;
    for (int k = 0; k < nch; k++)
        for (int i = 0; i < ch[k].n; i++, row++) {
            float *x = sc.res + (size_t)row * H;
            const float *e = mat_row(&m->embed, ch[k].ids[i], sc.rowbuf);
            if (m->sub[0].hs)
                for (int j = 0; j < H; j++)
                    x[j] = (e[j] + m->sub[0].hb[j]) * m->sub[0].hs[j];
            else
                memcpy(x, e, (size_t)H * sizeof(float));
        }
    for (int n = 0; n < c->n_sub; n++) {
        const eng_sublayer *L = &m->sub[n];
        for (int t = 0; t < T; t++) {
            float *res = sc.res + (size_t)t * H;
            if (n > 0)
                merge(res, sc.y + (size_t)t * H, L->hs, L->hb, L->rs, L->rb, H);
            rmsnorm(sc.xn + (size_t)t * H, res, L->norm, H, (float)c->eps);
        }
        if (n % 2 == 0)
            attention(m, n, ch, nch, T, &sc);
        else
            moe(m, n, T, &sc);
    }
    for (int t = 0; t < T; t++) {
        float *res = sc.res + (size_t)t * H;
        merge(res, sc.y + (size_t)t * H, m->final_hs, m->final_hb, m->final_rs, m->final_rb, H);
    }
    /* LM head over the rows whose logits were asked for, all chunks in one
     * product so its weights are read once per call. */
    int nout = 0;
    for (int k = 0; k < nch; k++)
        if (ch[k].logits)
            nout += ch[k].all_logits ? ch[k].n : 1;
    float **yrows = malloc((size_t)(nout ? nout : 1) * sizeof *yrows);
    if (!yrows) {
        free(sc.blk);
        return ut_err(err, errlen, "out of memory for a batch of %d tokens", T);
    }
    row = 0;
    int o = 0;
    for (int k = 0; k < nch; k++) {
        if (ch[k].logits) {
            int first = ch[k].all_logits ? 0 : ch[k].n - 1;
            for (int i = first; i < ch[k].n; i++, o++) {
                rmsnorm(sc.hfin + (size_t)o * H, sc.res + (size_t)(row + i) * H,
                        m->final_norm, H, (float)c->eps);
                yrows[o] = ch[k].logits + (size_t)(i - first) * (size_t)V;
            }
        }
        row += ch[k].n;
    }
    if (nout)
        matmul_rows(&sc, NULL, 0, yrows, sc.hfin, nout, &m->lm_head, m->lm_head_b);
    free(yrows);
    for (int k = 0; k < nch; k++)
        ch[k].seq->len += ch[k].n;
    free(sc.blk);
    return 0;
}
