/*
 * rsa.h — Markovian RSA (../shared/spec/markovian-rsa.md, normative): the
 * parameter SPEC, the named presets (§7), tails (§3.2), parent choice
 * (§3.3), budgets (§3.4), aggregation prompts (§4) and the scheduler.
 *
 * The scheduler keeps every problem's current stage in flight at once:
 * stages of one problem are sequential (round t starts when all of round
 * t-1 has finished), everything else is submitted to the backend together
 * so the engine batches across candidates and problems.  Nothing depends
 * on completion order: a request's seed and its parents come from the
 * counter RNG keyed by (run seed, problem id, round, candidate), and its
 * prompt from its parents' tails, so a resumed run reproduces exactly the
 * samples an uninterrupted one would have produced.
 *
 * Problems of one id (a sweep's settings of one problem) whose requests
 * agree -- round, candidate and prompt text, hence seed -- get one request
 * at the largest budget among them: the engine generates the sample once
 * and each problem stores it, cut to its own budget.  Tokens are drawn one
 * by one from (seed, index), so that is the sample each would have
 * generated alone: sharing changes the work and nothing stored.
 */
#ifndef ZEVAL_RSA_H
#define ZEVAL_RSA_H

#include "../engine/backend.h"
#include "../engine/chat.h"
#include "../engine/tokenizer.h"

#include <stddef.h>
#include <stdint.h>

#define RSA_MAX_ROUNDS 64   /* T <= 63 */
#define RSA_MAX_WIDTH 1024  /* N, --samples */

typedef enum { RSA_TAIL_REASONING, RSA_TAIL_HYBRID, RSA_TAIL_FULL } rsa_tail_mode;
typedef enum { RSA_C1_OWN, RSA_C1_RANDOM } rsa_c1_mode;

typedef struct {
    int N, C, T;
    long beta, final_budget, tau;
    rsa_tail_mode tail;
    rsa_c1_mode c1;
} rsa_params;

/* Parses SPEC: comma-separated key=value, keys N, C, T, beta (required),
 * final (default beta), tau (default beta/4), tail (reasoning|hybrid|full),
 * c1 (own|random).  Token counts take a K suffix (x1024).  Checks
 * 1 <= C <= N, 0 <= T < RSA_MAX_ROUNDS, 1 <= tau, beta, final; errors name
 * the key.  0 or -1. */
int rsa_parse(const char *spec, rsa_params *out, char *err, size_t errlen);
/* The canonical SPEC text of p ("N=16,C=4,T=2,beta=16384,..."). */
void rsa_format(const rsa_params *p, char *buf, size_t n);
/* The shortest SPEC text that parses back to p: defaults left out, token
 * counts that are multiples of 1024 with a K ("N=16,C=4,T=2,beta=16K,
 * final=40K"). */
void rsa_format_short(const rsa_params *p, char *buf, size_t n);
const char *rsa_tail_name(rsa_tail_mode m);

typedef struct {
    const char *name;
    const char *spec;
    const char *note;   /* Zyphra's name / what it reproduces */
} rsa_preset;

/* The presets of spec §7 (static); *n gets the count. */
const rsa_preset *rsa_presets(size_t *n);
const rsa_preset *rsa_preset_find(const char *name);

/* Candidates generated in round t: N, or samples (when > 0) for T = 0. */
int rsa_width(const rsa_params *p, int samples, int round);
/* Max new tokens of round t: B_final in round T, beta before. */
long rsa_budget(const rsa_params *p, int round);
/* Worst-case generated tokens per problem (spec §6): N*T*beta +
 * N_final*B_final (T = 0: width * B_final). */
double rsa_cost_cap(const rsa_params *p, int samples);

/* Whether settings a and b (with their T = 0 samples) give a problem the
 * same prompts in round `round`: the same widths through it, the same
 * budgets before it, and past round 0 the same parents and tails of them
 * (C, the C = 1 lineage, tau, tail).  A sweep makes such a round's requests
 * once, at the larger budget; the smaller budget's samples are their
 * first tokens. */
int rsa_same_prompts(const rsa_params *a, int sa, const rsa_params *b, int sb, int round);
/* The same samples in rounds 0..round: the same prompts and budget. */
int rsa_same_through(const rsa_params *a, int sa, const rsa_params *b, int sb, int round);

/* The sampling seed of (run seed, problem id, round, candidate). */
uint64_t rsa_seed(uint64_t run_seed, const char *problem_id, int round, int cand);
/* The parents of (round >= 1, cand) among prev_width candidates of round-1:
 * C = 1 own -> [cand mod prev_width]; otherwise min(C, prev_width)
 * distinct indices drawn without replacement in drawn order.  Writes
 * them to out; returns the count. */
int rsa_parents(const rsa_params *p, uint64_t run_seed, const char *problem_id, int round,
                int cand, int prev_width, int *out);

/* Tail cutting (§3.2) for one tokenizer. */
typedef struct rsa_tailer rsa_tailer;
/* stop: the end-of-turn / EOS ids stripped from the end of a trace
 * (copied).  NULL on OOM. */
rsa_tailer *rsa_tailer_new(const tok_tokenizer *tk, const int32_t *stop, int nstop);
void rsa_tailer_free(rsa_tailer *t);
/* The tail of ids[0..n) under mode and tau: *text malloc'd (decoded with
 * special tokens skipped, leading partial UTF-8 character dropped,
 * whitespace-stripped), *ntail the tail's token count, *start its first
 * index in ids.  0 or -1. */
int rsa_tail(const rsa_tailer *t, const int32_t *ids, int n, long tau, rsa_tail_mode mode,
             char **text, int *ntail, int *start, char *err, size_t errlen);

/* The aggregation user message.  Math (code == 0): Zyphra's Markovian RSA
 * template (rsa_proxy_server.py create_aggregation_prompt): question is
 * cut at "Let's think", tails are numbered 1..n in the given order; n == 1
 * uses the single-candidate refine wording.  Code (code != 0): the code
 * variant of spec §4.2 (see CODE_* in rsa.c): no problem header, question
 * is the whole round-0 prompt with its code-format instruction.  malloc'd;
 * NULL on OOM. */
char *rsa_agg_prompt(const char *question, const char *const *tails, int n, int code);
/* The fixed texts of the template, for the run record. */
const char *rsa_prompt_style(void);

/* --- the scheduler */

typedef struct {
    const char *id;        /* problem id (keys seeds and parents) */
    const char *round0;    /* the round-0 user message */
    const char *question;  /* problem text for aggregation prompts */
    int code;              /* a code problem: the code aggregation wording */
    /* The problem's own setting (a sweep schedules several at once), or
     * NULL for the scheduler's p and samples. */
    const rsa_params *p;
    int samples;           /* with p: T = 0 samples per problem (0: N) */
} rsa_problem;

/* A sample already stored (resume): its ids rebuild its tail. */
typedef struct {
    int problem, round, cand;
    const int32_t *ids;
    int n_ids;
} rsa_prior;

/* A finished sample (all pointers valid during the callback only). */
typedef struct {
    int problem, round, cand;
    const int *parents;
    int nparents;
    uint64_t seed;
    const char *prompt;    /* the rendered prompt text */
    int prompt_tokens;
    const int32_t *ids;
    int n_ids;
    eng_finish finish;
    const char *tail;
    int tail_tokens;
    double started_at, finished_at; /* unix seconds */
    const char *error;     /* finish == ENG_FINISH_ERROR: the message (tail "") */
} rsa_done;

typedef struct {
    long long tokens;      /* generated so far (this process) */
    int inflight;
    long long done, total; /* samples (including prior ones) */
    double elapsed;        /* seconds since rsa_run started */
    long long shared;      /* samples done without a request of their own: problems
                              of one id whose request (round, candidate, prompt)
                              another made alike at a budget no smaller, as a
                              sweep's settings do up to the round where they part */
    long long shared_tokens; /* their generated tokens */
} rsa_stats;

typedef struct {
    rsa_params p;
    int samples;           /* T = 0: samples per problem (0: N) */
    smp_params sampling;
    uint64_t seed;
    const tok_tokenizer *tk;
    const chat_template *ct;
    chat_opts co;
    const int32_t *stop;   /* request stop ids (also stripped from tails) */
    int nstop;
    int vocab_limit;
    int max_inflight;      /* 0: no limit */
    /* Called once per finished sample; nonzero stops the run with err. */
    int (*on_sample)(void *ctx, const rsa_done *d, char *err, size_t errlen);
    /* Called after every engine step and once at the end (may be NULL). */
    void (*on_step)(void *ctx, const rsa_stats *st);
    void *ctx;
    /* 1: a request that finishes with ENG_FINISH_ERROR is passed to
     * on_sample (finish error, no tail) and the run goes on; its problem
     * stops at that round, and rsa_run returns -1 at the end naming the
     * count (a resume retries them).  0: the first error stops the run. */
    int keep_errors;
} rsa_sched;

/* Runs every missing sample of problems[0..np) through be.  prior lists
 * samples stored earlier (any order; duplicates are an error).  Returns 0
 * when every sample of every problem is done, -1 on an error (backend,
 * tokenizer, a finish reason of error, or on_sample). */
int rsa_run(const rsa_sched *s, eng_backend *be, const rsa_problem *problems, int np,
            const rsa_prior *prior, size_t nprior, char *err, size_t errlen);

#endif
