/*
 * ctx.h — the HIP backend's device context (engine.hip), shared with the
 * batched engine (batch.hip), which runs on the same uploaded weights.
 */
#ifndef ZEVAL_GPU_CTX_H
#define ZEVAL_GPU_CTX_H

#include "kern.h"

extern "C" {
#include "../model.h"
}

/* Kinds of kernel for gpu_profile. */
enum { PR_EMBED, PR_QKV, PR_CCA, PR_ATTN, PR_O, PR_ROUTER, PR_FC1, PR_FC2, PR_NORM, PR_LM,
       PR_ARGMAX, PR_KINDS };
typedef struct {
    merge_w mw;
    const float *norm;
    bf16 *wq, *wk, *wv1, *wv2, *wo;         /* attention */
    cca_w cca;
    bf16 *rdown;                            /* MoE */
    const float *rdown_b;
    router_w rt;
    const bf16 *fc1, *fc2;                  /* all E experts' [2I][H] / [H][I] */
} dev_sub;

struct gpu_ctx {
    const eng_model *m;
    eng_config c;
    hipStream_t st;
    void **allocs;                          /* every weight allocation */
    int nallocs, capallocs;
    dev_sub *sub;
    const bf16 *embed, *lm_head;
    const float *lm_b, *fnorm, *inv_freq;
    merge_w fmw;
    /* sequence state */
    float *K, *V, *ring, *vdst, *eda;
    int cap, len;
    /* scratch */
    float *res, *xn, *y, *u, *z, *vc, *q, *att, *part, *r, *a, *logits, *gate;
    int *count;                             /* last-block counters: attention [nk], */
                                            /* CCA heads [nq+nk], router [1], argmax [1] */
    int *out;                               /* [0] argmax, [1 + j] MoE j's slot */
    gpu_io *io;
    gpu_io io_host;
    int *out_host;
    uint64_t *routing;                      /* [nmoe][slots] decisions so far */
    hipGraphExec_t exec;
    int have_exec, capture_failed, mode, ran_mode; /* GPU_STEP_ values */
    int prefetch;                           /* ZEVAL_GPU_PREFETCH: the graph's L2 asks */
    int attn8;                              /* ZEVAL_GPU_SEQ_ATTN=step8 (kl_attention's oct) */
    /* the persistent step (kl_step): its phases on the device, rebuilt
     * when the K/V cache moves */
    pk_phase *ph;
    int nph, ph_stale, pk_grid, coop_failed;
    int pk_per_sm;                          /* ZEVAL_GPU_STEP_BLOCKS; 0: all that fit */
    size_t pk_shmem;
    unsigned *bar;                          /* the grid barrier's 2 counters */
    float *eda2, *h12;                      /* EDA state by MoE parity, router hidden */
    float *am_v;                            /* argmax partials [pk_grid] */
    int *am_i;
    unsigned long long *pk_tm, *pk_tm_host; /* gpu_profile: phase start times [nph+1] */
    int *pk_kind;                           /* each phase's kind (host) */
    double fixed_bytes, expert_bytes;       /* per step, for gpu_step_bytes */
    hipEvent_t *ev;                         /* gpu_profile: events of one step, */
    int *evkind, nev, capev, prof_on, prof_steps;
    double prof_ms[PR_KINDS];
    int pk_prof_steps, pk_untimed;          /* the persistent step's, by phase kind */
    double pk_ms[PK_KINDS];
    int last_experts;
};

#endif
