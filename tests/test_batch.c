/*
 * test_batch.c — batching never changes a sequence's results.
 *
 * The three golden prompts run together in one batch, at mixed positions
 * and mixed prefill/decode, and each sequence's logits must be bit-for-bit
 * those of the sequence run alone; a sampled generation must be the same
 * alone and among 15 other requests with other seeds and prompts.
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "../engine/backend.h"
#include "../engine/model.h"

#include <stdlib.h>
#include <string.h>

static st_file *gold;
static eng_model *m;

static const int32_t *prompt(int k, int *n)
{
    char name[64];
    snprintf(name, sizeof name, "seq%d.input_ids", k);
    const st_tensor *t = st_find(gold, name);
    *n = (int)t->shape[0];
    return t->data;
}

/* Alone: one full prefill. */
static float *alone(int k)
{
    int n;
    const int32_t *ids = prompt(k, &n);
    float *lg = malloc((size_t)n * m->cfg.vocab * sizeof(float));
    eng_seq *s = eng_seq_new(m);
    char err[256];
    eng_chunk c = {s, ids, n, lg, 1};
    if (eng_forward(m, &c, 1, err, sizeof err))
        CK(0, "forward: %s", err);
    eng_seq_free(s);
    return lg;
}

static void test_mixed_batch(void)
{
    ck_begin("3 golden prompts batched at mixed positions: logits bit-identical to alone");
    /* Chunk schedules per sequence (sizes); steps run all three together
     * while each has chunks left. */
    static const int sched[3][8] = {
        {3, 1, 1, 1, 1, 0},          /* seq0, T=7: prefill 3 then decode */
        {10, 1, 7, 1, 1, 13, 0},     /* seq1, T=33: prefill, decode, chunk, ... */
        {1, 40, 1, 5, 17, 0},        /* seq2, T=64: decode first, then long chunks */
    };
    int V = m->cfg.vocab, n[3], pos[3] = {0, 0, 0}, step[3] = {0, 0, 0};
    const int32_t *ids[3];
    float *lg[3], *ref[3];
    eng_seq *s[3];
    for (int k = 0; k < 3; k++) {
        ids[k] = prompt(k, &n[k]);
        lg[k] = malloc((size_t)n[k] * V * sizeof(float));
        s[k] = eng_seq_new(m);
        ref[k] = alone(k);
    }
    char err[256];
    int sizes_of_batches = 0;
    for (;;) {
        eng_chunk ch[3];
        int nch = 0;
        for (int k = 0; k < 3; k++) {
            int sz = step[k] < 8 ? sched[k][step[k]] : 0;
            if (pos[k] >= n[k])
                continue;
            if (sz == 0)
                sz = n[k] - pos[k]; /* the rest in one chunk */
            if (sz > n[k] - pos[k])
                sz = n[k] - pos[k];
            eng_chunk c = {s[k], ids[k] + pos[k], sz, lg[k] + (size_t)pos[k] * V, 1};
            ch[nch++] = c;
            pos[k] += sz;
            step[k]++;
        }
        if (!nch)
            break;
        sizes_of_batches += nch == 3;
        if (eng_forward(m, ch, nch, err, sizeof err)) {
            CK(0, "forward: %s", err);
            break;
        }
    }
    CK(sizes_of_batches >= 3, "only %d steps had all three sequences", sizes_of_batches);
    for (int k = 0; k < 3; k++) {
        CK(memcmp(lg[k], ref[k], (size_t)n[k] * V * sizeof(float)) == 0,
           "seq%d logits differ from the sequence alone", k);
        free(lg[k]);
        free(ref[k]);
        eng_seq_free(s[k]);
    }
    ck_end();
}

typedef struct {
    int32_t ids[64];
    int n;
} gen;

/* Runs requests (prompt k % 3, seed seeds[i]) and collects outputs. */
static void run_requests(int nreq, const uint64_t *seeds, const int *which, gen *out,
                         uint64_t *max_batch)
{
    eng_backend *b = eng_backend_cpu(m, 0);
    smp_params sp = {0.9f, 50, 0.95f, 0.0f};
    char err[256];
    for (int i = 0; i < nreq; i++) {
        int n;
        const int32_t *ids = prompt(which[i], &n);
        eng_request r = {ids, n, 24, sp, seeds[i], NULL, 0, 0, &out[i]};
        if (b->submit(b, &r, err, sizeof err))
            CK(0, "submit: %s", err);
    }
    eng_event ev[64];
    while (b->pending(b) > 0) {
        int nev;
        if (b->pump(b, ev, 64, &nev, err, sizeof err)) {
            CK(0, "pump: %s", err);
            break;
        }
        for (int i = 0; i < nev; i++)
            if (ev[i].kind == ENG_EV_FINISHED) {
                gen *g = ev[i].user;
                g->n = ev[i].n_ids;
                memcpy(g->ids, ev[i].ids, (size_t)g->n * sizeof(int32_t));
                CK(ev[i].finish == ENG_FINISH_LENGTH, "finish %s", eng_finish_name(ev[i].finish));
            }
    }
    uint64_t calls, hist[32];
    eng_backend_cpu_stats(b, &calls, hist, 32);
    *max_batch = 0;
    for (int k = 0; k < 32; k++)
        if (hist[k])
            *max_batch = (uint64_t)k;
    b->free(b);
}

static void test_generation_alone_vs_crowd(void)
{
    ck_begin("sampled generation identical alone and among 15 others with other seeds");
    uint64_t seeds[16];
    int which[16];
    gen crowd[16], solo[1];
    for (int i = 0; i < 16; i++) {
        seeds[i] = 1000 + (uint64_t)i * 7919;
        which[i] = (i * 5 + 1) % 3;
    }
    uint64_t mb_crowd, mb_solo;
    run_requests(16, seeds, which, crowd, &mb_crowd);
    CK(mb_crowd == 16, "largest batch %llu, expected all 16 together",
       (unsigned long long)mb_crowd);
    int distinct = 0;
    for (int i = 0; i < 16; i++) {
        run_requests(1, &seeds[i], &which[i], solo, &mb_solo);
        CK(solo[0].n == 24 && crowd[i].n == 24, "lengths %d / %d", solo[0].n, crowd[i].n);
        CK(memcmp(solo[0].ids, crowd[i].ids, 24 * sizeof(int32_t)) == 0,
           "request %d generates differently alone", i);
        for (int j = 0; j < i; j++)
            if (which[j] == which[i] && memcmp(crowd[j].ids, crowd[i].ids, 24 * 4) != 0) {
                distinct++;
                break;
            }
    }
    CK(distinct > 0, "different seeds never produced different samples (sampling inert?)");
    ck_end();
}

int main(void)
{
    char path[4200], err[1024];
    snprintf(path, sizeof path, "%s/golden.safetensors", ck_shared("golden/zaya-tiny"));
    if (st_open(path, &gold, err, sizeof err) ||
        eng_model_load(ck_shared("golden/zaya-tiny"), NULL, &m, err, sizeof err)) {
        printf("FAIL setup: %s\n", err);
        return 1;
    }
    test_mixed_batch();
    test_generation_alone_vs_crowd();
    eng_model_free(m);
    st_close(gold);
    return ck_status();
}
