/* rsa.c — see rsa.h. */
#define _POSIX_C_SOURCE 200809L
#include "rsa.h"
#include "../engine/util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ SPEC */

const char *rsa_tail_name(rsa_tail_mode m)
{
    return m == RSA_TAIL_HYBRID ? "hybrid" : m == RSA_TAIL_FULL ? "full" : "reasoning";
}

static int parse_count(const char *key, const char *v, size_t vl, long *out, char *err,
                       size_t errlen)
{
    char buf[32];
    if (vl == 0 || vl >= sizeof buf)
        return ut_err(err, errlen, "--rsa: %s: expected a non-negative integer (K = x1024), "
                      "found '%.*s'", key, (int)(vl < 40 ? vl : 40), v);
    memcpy(buf, v, vl);
    buf[vl] = 0;
    errno = 0;
    char *end;
    long x = strtol(buf, &end, 10);
    if (end == buf || errno || x < 0 || buf[0] == '-' || buf[0] == '+')
        goto bad;
    if (*end == 'K' || *end == 'k') {
        if (x > LONG_MAX / 1024 / 2)
            goto bad;
        x *= 1024;
        end++;
    }
    if (*end)
        goto bad;
    *out = x;
    return 0;
bad:
    return ut_err(err, errlen, "--rsa: %s: expected a non-negative integer (K = x1024), "
                  "found '%s'", key, buf);
}

int rsa_parse(const char *spec, rsa_params *out, char *err, size_t errlen)
{
    rsa_params p = {0, 0, 0, 0, -1, -1, RSA_TAIL_REASONING, RSA_C1_OWN};
    int seen[8] = {0};
    static const char *keys[] = {"N", "C", "T", "beta", "final", "tau", "tail", "c1"};
    const char *s = spec;
    if (!*s)
        return ut_err(err, errlen, "--rsa: empty SPEC (expected N=..,C=..,T=..,beta=..)");
    while (*s) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        const char *eq = memchr(s, '=', len);
        if (!eq)
            return ut_err(err, errlen, "--rsa: '%.*s' is not key=value", (int)len, s);
        size_t kl = (size_t)(eq - s);
        const char *v = eq + 1;
        size_t vl = len - kl - 1;
        int k = -1;
        for (int i = 0; i < 8; i++)
            if (strlen(keys[i]) == kl && strncmp(keys[i], s, kl) == 0)
                k = i;
        if (k < 0)
            return ut_err(err, errlen, "--rsa: unknown key '%.*s' (keys: N, C, T, beta, final, "
                          "tau, tail, c1)", (int)kl, s);
        if (seen[k]++)
            return ut_err(err, errlen, "--rsa: key '%s' given twice", keys[k]);
        long x = 0;
        if (k <= 5 && parse_count(keys[k], v, vl, &x, err, errlen))
            return -1;
        switch (k) {
        case 0:
        case 1:
        case 2:
            if (x > (k == 2 ? RSA_MAX_ROUNDS - 1 : RSA_MAX_WIDTH))
                return ut_err(err, errlen, "--rsa: %s=%ld is larger than %d", keys[k], x,
                              k == 2 ? RSA_MAX_ROUNDS - 1 : RSA_MAX_WIDTH);
            if (k == 0)
                p.N = (int)x;
            else if (k == 1)
                p.C = (int)x;
            else
                p.T = (int)x;
            break;
        case 3: p.beta = x; break;
        case 4: p.final_budget = x; break;
        case 5: p.tau = x; break;
        case 6:
            if (vl == 9 && !strncmp(v, "reasoning", 9))
                p.tail = RSA_TAIL_REASONING;
            else if (vl == 6 && !strncmp(v, "hybrid", 6))
                p.tail = RSA_TAIL_HYBRID;
            else if (vl == 4 && !strncmp(v, "full", 4))
                p.tail = RSA_TAIL_FULL;
            else
                return ut_err(err, errlen, "--rsa: tail: expected reasoning, hybrid or full, "
                              "found '%.*s'", (int)vl, v);
            break;
        default:
            if (vl == 3 && !strncmp(v, "own", 3))
                p.c1 = RSA_C1_OWN;
            else if (vl == 6 && !strncmp(v, "random", 6))
                p.c1 = RSA_C1_RANDOM;
            else
                return ut_err(err, errlen, "--rsa: c1: expected own or random, found '%.*s'",
                              (int)vl, v);
        }
        s += len;
        if (*s == ',') {
            s++;
            if (!*s)
                return ut_err(err, errlen, "--rsa: trailing ','");
        }
    }
    for (int i = 0; i < 4; i++)
        if (!seen[i])
            return ut_err(err, errlen, "--rsa: key '%s' is required (SPEC needs N, C, T, beta)",
                          keys[i]);
    if (p.N < 1)
        return ut_err(err, errlen, "--rsa: N must be at least 1");
    if (p.C < 1 || p.C > p.N)
        return ut_err(err, errlen, "--rsa: C=%d must be between 1 and N=%d", p.C, p.N);
    if (p.beta < 1 || p.beta > (1L << 24))
        return ut_err(err, errlen, "--rsa: beta must be 1..16384K tokens");
    if (p.final_budget < 0)
        p.final_budget = p.beta;
    if (p.final_budget < 1 || p.final_budget > (1L << 24))
        return ut_err(err, errlen, "--rsa: final must be 1..16384K tokens");
    if (p.tau < 0)
        p.tau = p.beta / 4 > 0 ? p.beta / 4 : 1;
    if (p.tau < 1 || p.tau > (1L << 24))
        return ut_err(err, errlen, "--rsa: tau must be 1..16384K tokens");
    *out = p;
    return 0;
}

void rsa_format(const rsa_params *p, char *buf, size_t n)
{
    snprintf(buf, n, "N=%d,C=%d,T=%d,beta=%ld,final=%ld,tau=%ld,tail=%s,c1=%s", p->N, p->C, p->T,
             p->beta, p->final_budget, p->tau, rsa_tail_name(p->tail),
             p->c1 == RSA_C1_OWN ? "own" : "random");
}

/* n tokens, as a multiple of 1024 with a K where it is one. */
static void tok_count(char *buf, size_t n, long v)
{
    if (v >= 1024 && v % 1024 == 0)
        snprintf(buf, n, "%ldK", v / 1024);
    else
        snprintf(buf, n, "%ld", v);
}

void rsa_format_short(const rsa_params *p, char *buf, size_t n)
{
    char b[24], f[24], t[24];
    tok_count(b, sizeof b, p->beta);
    tok_count(f, sizeof f, p->final_budget);
    tok_count(t, sizeof t, p->tau);
    long tau0 = p->beta / 4 > 0 ? p->beta / 4 : 1;
    snprintf(buf, n, "N=%d,C=%d,T=%d,beta=%s%s%s%s%s%s%s%s", p->N, p->C, p->T, b,
             p->final_budget != p->beta ? ",final=" : "", p->final_budget != p->beta ? f : "",
             p->tau != tau0 ? ",tau=" : "", p->tau != tau0 ? t : "",
             p->tail != RSA_TAIL_REASONING ? ",tail=" : "",
             p->tail != RSA_TAIL_REASONING ? rsa_tail_name(p->tail) : "",
             p->c1 == RSA_C1_RANDOM ? ",c1=random" : "");
}

static const rsa_preset PRESETS[] = {
    {"zaya-40k", "N=16,C=4,T=2,beta=40K,final=40K,tau=4K",
     "headline \"40K/4K\": AIME'25 91.9, HMMT'25 89.6, LCB-v6 69.2; ~740K tokens/problem realized"},
    {"zaya-16k", "N=16,C=4,T=2,beta=16K,final=40K,tau=4K",
     "recommended deployment configuration: AIME'25 88.8, HMMT'25 87.1; ~440K tokens/problem"},
    {"zaya-8k", "N=16,C=4,T=2,beta=8K,final=40K,tau=4K", "AIME'25 86.5, HMMT'25 80.8"},
    {"zaya-40k-tail8k", "N=16,C=4,T=2,beta=40K,final=40K,tau=8K", "AIME'25 90.8, HMMT'25 89.2"},
    {"zaya-apex-light", "N=16,C=4,T=2,beta=8K,final=8K,tau=4K",
     "APEX \"light\": APEX-shortlist 33.3 (B_final not stated: = beta)"},
    {"zaya-apex-high", "N=16,C=4,T=8,beta=16K,final=16K,tau=4K",
     "APEX \"high\": APEX-shortlist 46.1 (B_final not stated: = beta)"},
    {"zaya-apex-xhigh", "N=32,C=4,T=8,beta=32K,final=32K,tau=4K",
     "APEX \"extra-high\": APEX-shortlist 51.8; ~5.5M tokens/problem (B_final = beta)"},
    {"zaya-c1-baseline", "N=16,C=1,T=4,beta=8K,final=40K,tau=4K,c1=own",
     "\"Markovian baseline\" (C=1 continuation): AIME'25 82.1, HMMT'25 75.0"},
    {"zaya-serve-lite", "N=8,C=4,T=2,beta=8K,final=40K,tau=4K",
     "\"lightweight\" serving config (no accuracy published)"},
    {"independent", "N=16,C=1,T=0,beta=40K,final=40K",
     "degenerate T=0: N independent single rollouts (plain avg@N), budget B_final"},
    {"delethink-c1", "N=16,C=1,T=4,beta=8K,final=40K,tau=4K,c1=own",
     "degenerate C=1: bounded continuation of each candidate's own tail"},
    {"full-chain-rsa", "N=16,C=4,T=2,beta=8K,final=8K,tau=8K,tail=full",
     "degenerate tau >= beta: whole candidates forwarded (original RSA)"},
    {"rsa-paper-default", "N=16,C=4,T=9,beta=8K,final=8K,tau=8K,tail=full",
     "RSA paper main setting (loops=10 = T 9), full candidates"},
};

const rsa_preset *rsa_presets(size_t *n)
{
    *n = sizeof PRESETS / sizeof PRESETS[0];
    return PRESETS;
}

const rsa_preset *rsa_preset_find(const char *name)
{
    for (size_t i = 0; i < sizeof PRESETS / sizeof PRESETS[0]; i++)
        if (!strcmp(PRESETS[i].name, name))
            return &PRESETS[i];
    return NULL;
}

int rsa_width(const rsa_params *p, int samples, int round)
{
    (void)round;
    return p->T == 0 && samples > 0 ? samples : p->N;
}

long rsa_budget(const rsa_params *p, int round)
{
    return round == p->T ? p->final_budget : p->beta;
}

double rsa_cost_cap(const rsa_params *p, int samples)
{
    return (double)p->N * p->T * (double)p->beta +
           (double)rsa_width(p, samples, p->T) * (double)p->final_budget;
}

int rsa_same_prompts(const rsa_params *a, int sa, const rsa_params *b, int sb, int round)
{
    if (round > a->T || round > b->T)
        return 0;
    for (int t = 0; t <= round; t++)
        if (rsa_width(a, sa, t) != rsa_width(b, sb, t) ||
            (t < round && rsa_budget(a, t) != rsa_budget(b, t)))
            return 0;
    if (round == 0)
        return 1;
    /* later rounds: the same parents (C, and the C = 1 lineage) and the
     * same tails of them (tau, tail) */
    return a->C == b->C && (a->C > 1 || a->c1 == b->c1) && a->tau == b->tau &&
           a->tail == b->tail;
}

int rsa_same_through(const rsa_params *a, int sa, const rsa_params *b, int sb, int round)
{
    return rsa_same_prompts(a, sa, b, sb, round) && rsa_budget(a, round) == rsa_budget(b, round);
}

/* ------------------------------------------------------------ seeds */

static uint64_t key_of(uint64_t run_seed, const char *pid, int round, int cand, uint64_t domain)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a 64 of the problem id */
    for (const unsigned char *q = (const unsigned char *)pid; *q; q++) {
        h ^= *q;
        h *= 1099511628211ull;
    }
    uint64_t k = smp_rng(run_seed, h);
    k = smp_rng(k, ((uint64_t)(uint32_t)round << 32) | (uint32_t)cand);
    return smp_rng(k, domain);
}

uint64_t rsa_seed(uint64_t run_seed, const char *problem_id, int round, int cand)
{
    return key_of(run_seed, problem_id, round, cand, 0);
}

int rsa_parents(const rsa_params *p, uint64_t run_seed, const char *problem_id, int round,
                int cand, int prev_width, int *out)
{
    if (p->C == 1 && p->c1 == RSA_C1_OWN) {
        out[0] = cand % prev_width;
        return 1;
    }
    int k = p->C < prev_width ? p->C : prev_width;
    uint64_t key = key_of(run_seed, problem_id, round, cand, 1);
    int pool[RSA_MAX_WIDTH];
    for (int i = 0; i < prev_width; i++)
        pool[i] = i;
    for (int i = 0; i < k; i++) { /* partial Fisher-Yates: drawn order */
        int r = i + (int)(smp_uniform(key, (uint64_t)i) * (double)(prev_width - i));
        if (r >= prev_width)
            r = prev_width - 1;
        int t = pool[i];
        pool[i] = pool[r];
        pool[r] = t;
        out[i] = pool[i];
    }
    return k;
}

/* ------------------------------------------------------------ tails */

struct rsa_tailer {
    const tok_tokenizer *tk;
    int32_t *stop;
    int nstop;
    int32_t think_end;      /* "</think>" as one token, or -1 */
    int32_t cont_ids[64];   /* byte pieces <0x80>..<0xBF> (-1 if absent) */
};

rsa_tailer *rsa_tailer_new(const tok_tokenizer *tk, const int32_t *stop, int nstop)
{
    rsa_tailer *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->tk = tk;
    t->stop = malloc((size_t)(nstop > 0 ? nstop : 1) * sizeof *t->stop);
    if (!t->stop) {
        free(t);
        return NULL;
    }
    if (nstop > 0)
        memcpy(t->stop, stop, (size_t)nstop * sizeof *stop);
    t->nstop = nstop;
    t->think_end = tok_piece_id(tk, "</think>", 8);
    for (int b = 0; b < 64; b++) {
        char piece[8];
        snprintf(piece, sizeof piece, "<0x%02X>", 0x80 + b);
        t->cont_ids[b] = tok_piece_id(tk, piece, 6);
    }
    return t;
}

void rsa_tailer_free(rsa_tailer *t)
{
    if (!t)
        return;
    free(t->stop);
    free(t);
}

static int is_in(const int32_t *v, int n, int32_t x)
{
    for (int i = 0; i < n; i++)
        if (v[i] == x)
            return 1;
    return 0;
}

/* Length of the decoded text of ids[0..k) (special tokens kept), or -1. */
static long prefix_len(const tok_tokenizer *tk, const int32_t *ids, int k)
{
    char *s = NULL;
    size_t l = 0;
    char e[64];
    if (tok_decode(tk, ids, (size_t)k, 0, &s, &l, e, sizeof e))
        return -1;
    free(s);
    return (long)l;
}

/* Finds the </think> delimiter in ids[0..n): *rend = ids before it,
 * *astart = first id after it.  0 none, 1 found, -1 error. */
static int find_think(const rsa_tailer *t, const int32_t *ids, int n, int *rend, int *astart,
                      char *err, size_t errlen)
{
    if (t->think_end >= 0) {
        for (int i = 0; i < n; i++)
            if (ids[i] == t->think_end) {
                *rend = i;
                *astart = i + 1;
                return 1;
            }
        return 0;
    }
    /* Several tokens: locate it in the text, then map back to token
     * boundaries by binary search on decoded prefix lengths. */
    char *s = NULL;
    size_t l = 0;
    if (tok_decode(t->tk, ids, (size_t)n, 0, &s, &l, err, errlen))
        return -1;
    const char *hit = strstr(s, "</think>");
    long pos = hit ? (long)(hit - s) : -1;
    free(s);
    if (pos < 0)
        return 0;
    int lo = 0, hi = n; /* largest k with prefix_len(k) <= pos */
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        long pl = prefix_len(t->tk, ids, mid);
        if (pl < 0)
            return ut_err(err, errlen, "out of memory");
        if (pl <= pos)
            lo = mid;
        else
            hi = mid - 1;
    }
    *rend = lo;
    int a = lo, b = n; /* smallest k with prefix_len(k) >= pos + 8 */
    while (a < b) {
        int mid = a + (b - a) / 2;
        long pl = prefix_len(t->tk, ids, mid);
        if (pl < 0)
            return ut_err(err, errlen, "out of memory");
        if (pl >= pos + 8)
            b = mid;
        else
            a = mid + 1;
    }
    *astart = a;
    return 1;
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int rsa_tail(const rsa_tailer *t, const int32_t *ids, int n, long tau, rsa_tail_mode mode,
             char **text, int *ntail, int *start, char *err, size_t errlen)
{
    *text = NULL;
    while (n > 0 && is_in(t->stop, t->nstop, ids[n - 1]))
        n--;
    int lo = 0, hi = n, rend = 0, astart = 0;
    if (mode != RSA_TAIL_FULL) {
        int f = find_think(t, ids, n, &rend, &astart, err, errlen);
        if (f < 0)
            return -1;
        if (f == 1) {
            if (mode == RSA_TAIL_REASONING)
                hi = rend;
            else
                lo = astart; /* hybrid: the post-think answer section */
        }
    }
    if (hi - lo > tau)
        lo = hi - (int)tau;
    /* Drop a leading partial UTF-8 character (continuation bytes). */
    while (lo < hi && is_in(t->cont_ids, 64, ids[lo]))
        lo++;
    char *s = NULL;
    size_t l = 0;
    if (tok_decode(t->tk, ids + lo, (size_t)(hi - lo), 1, &s, &l, err, errlen))
        return -1;
    size_t a = 0;
    while (a < l && is_space((unsigned char)s[a]))
        a++;
    while (l > a && is_space((unsigned char)s[l - 1]))
        l--;
    memmove(s, s + a, l - a);
    s[l - a] = 0;
    *text = s;
    *ntail = hi - lo;
    *start = lo;
    return 0;
}

/* ------------------------------------------------------------ prompts */

typedef struct {
    char *b;
    size_t n, cap;
    int oom;
} buf;

static void badd(buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = (b->n + n + 1) * 2;
        char *nb = realloc(b->b, nc);
        if (!nb) {
            b->oom = 1;
            return;
        }
        b->b = nb;
        b->cap = nc;
    }
    memcpy(b->b + b->n, s, n);
    b->n += n;
    b->b[b->n] = 0;
}

static void bstr(buf *b, const char *s)
{
    badd(b, s, strlen(s));
}

/* Appends s[0..n) without leading/trailing whitespace (Python strip()). */
static void bstrip(buf *b, const char *s, size_t n)
{
    size_t a = 0;
    while (a < n && is_space((unsigned char)s[a]))
        a++;
    while (n > a && is_space((unsigned char)s[n - 1]))
        n--;
    badd(b, s + a, n - a);
}

static const char AGG_MANY[] =
    "You are given a math problem and several candidate solutions. "
    "Some candidates may be incorrect or contain errors. Aggregate the "
    "useful ideas and produce a single, high-quality solution. Reason "
    "carefully; if candidates disagree, choose the correct path. If all "
    "are incorrect, then attempt a different strategy. Do not restate "
    "the problem or the candidate solutions.";
static const char AGG_ONE[] =
    "You are given a math problem and a candidate solution. "
    "The candidate may be incomplete or contain errors. Refine this "
    "trajectory and produce an improved, higher-quality solution. "
    "If it is entirely wrong, attempt a new strategy. End with the "
    "final result in \\boxed{}.\n";
static const char CLOSE_MANY[] =
    "Now write a single improved solution. Provide clear reasoning "
    "and end with the final answer in \\boxed{}.";
static const char CLOSE_ONE[] =
    "Now, based on the original problem and the reference response "
    "above, please provide your own comprehensive solution.";

/* Code problems (spec §4.2, "RSA code (LiveCodeBench)": eval_code.py's
 * aggregate_prompt of the RSA repository).  That file's exact text was not
 * available when this was written; these strings follow the spec's
 * description of it — a code-specific instruction about candidate code
 * blocks with their reasoning, no problem header, a closing that asks for an
 * improved, correct solution — and keep the math template's sentences where
 * the description matches them.  Replace them with the published strings
 * when they are at hand.  The benchmark's code-format instruction reaches
 * the model through the question (the whole round-0 prompt). */
static const char CODE_MANY[] =
    "You are given a code implementation problem and several candidate code blocks with "
    "their reasoning. Some candidates may be incorrect or contain errors. Aggregate the "
    "useful ideas and produce a single, correct implementation. Reason carefully; if "
    "candidates disagree, choose the correct path. If all are incorrect, then attempt a "
    "different strategy.\n";
static const char CODE_ONE[] =
    "You are given a code implementation problem and a candidate code block with its "
    "reasoning. The candidate may be incomplete or contain errors. Refine it and produce "
    "an improved, correct implementation. If it is entirely wrong, attempt a new "
    "strategy.\n";
static const char CODE_CLOSE_MANY[] =
    "Now write a single improved, correct solution. Provide clear reasoning.";
static const char CODE_CLOSE_ONE[] =
    "Now refine the candidate into an improved, correct solution. Provide clear reasoning.";

/* The code variant of rsa_agg_prompt. */
static char *code_agg_prompt(const char *question, const char *const *tails, int n)
{
    buf b = {0};
    bstr(&b, n == 1 ? CODE_ONE : CODE_MANY);
    bstrip(&b, question, strlen(question));
    bstr(&b, n == 1 ? "\n\nCandidate solution (may contain mistakes):\n"
                    : "\n\nCandidate solutions (may contain mistakes):\n");
    for (int i = 0; i < n; i++) {
        char h[48];
        if (n == 1)
            snprintf(h, sizeof h, "---- Candidate ----\n");
        else
            snprintf(h, sizeof h, "---- Solution %d ----\n", i + 1);
        bstr(&b, h);
        bstrip(&b, tails[i], strlen(tails[i]));
        bstr(&b, "\n");
    }
    bstr(&b, n == 1 ? CODE_CLOSE_ONE : CODE_CLOSE_MANY);
    if (b.oom) {
        free(b.b);
        return NULL;
    }
    return b.b;
}

const char *rsa_prompt_style(void)
{
    return "zyphra-markovian-rsa (Zyphra/vllm examples/markovian_rsa/rsa_proxy_server.py "
           "create_aggregation_prompt, commit ea2a7e98b1b6; question cut at \"Let's think\"; "
           "parts joined with \\n)";
}

char *rsa_agg_prompt(const char *question, const char *const *tails, int n, int code)
{
    if (code)
        return code_agg_prompt(question, tails, n);
    buf b = {0};
    const char *cut = strstr(question, "Let's think");
    size_t ql = cut ? (size_t)(cut - question) : strlen(question);
    bstr(&b, n == 1 ? AGG_ONE : AGG_MANY);
    bstr(&b, "\n[[ Problem ]]:\n");
    bstr(&b, "\n");
    bstrip(&b, question, ql);
    bstr(&b, "\n\n");
    if (n == 1) {
        bstr(&b, "[[ Candidate solutions (may contain mistakes) ]]\n");
        bstr(&b, "\n---- Candidate ----\n");
        bstrip(&b, tails[0], strlen(tails[0]));
        bstr(&b, "\n\n");
        bstr(&b, CLOSE_ONE);
    } else {
        bstr(&b, "[[ Candidate solutions (may contain mistakes) ]]:\n");
        for (int i = 0; i < n; i++) {
            char h[48];
            snprintf(h, sizeof h, "\n---- Solution %d ----\n", i + 1);
            bstr(&b, h);
            bstrip(&b, tails[i], strlen(tails[i]));
            bstr(&b, "\n");
        }
        bstr(&b, "\n");
        bstr(&b, CLOSE_MANY);
    }
    if (b.oom) {
        free(b.b);
        return NULL;
    }
    return b.b;
}

/* ------------------------------------------------------------ scheduler */

typedef struct {
    int round;            /* the stage in progress; T + 1 when all are done */
    int prev_width;
    char **prev_tails;    /* tails of round - 1 */
    char **cur_tails;     /* tails of the current round, as they finish */
    int cur_left;         /* candidates of the current round not yet done */
    const rsa_prior **prior; /* [round * RSA_MAX_WIDTH + cand] or NULL */
} pstate;

struct share;

typedef struct sreq {
    int problem, round, cand;
    int *parents;
    int nparents;
    uint64_t seed;
    char *prompt;
    int prompt_tokens;
    long budget;              /* its round's max new tokens */
    double started;
    struct sreq *prev, *next; /* the list of requests in flight; a follower's next */
    struct share *slot;       /* the request others follow, or NULL */
    struct sreq *followers;   /* problems whose identical request this one makes */
} sreq;

/* A request several problems of one family make alike: the same problem id
 * (so the same seed), round, candidate and prompt text, as the settings of
 * a sweep do up to the round where they part.  The engine generates it
 * once, at the largest budget asked; every problem stores the sample, cut
 * to its own budget (tokens are drawn one by one from (seed, index), so a
 * smaller budget's sample is the larger one's first tokens, finished by
 * length where it was cut).  While the leader is in flight, later askers
 * with no larger budget wait on it as followers; once it has finished, its
 * result stays until every problem of the family is past that round, for
 * askers the queue (max_inflight) held back.
 *
 * A follower with a smaller budget does not wait for the leader to finish:
 * where the backend's tokens are final as they come (the built-in
 * engines), its sample is known once the leader has gone past its budget
 * (its first tokens, finished by length: a stop among them would have
 * ended the leader there), and it is stored then, so its problem's next
 * round overlaps the rest of the leader's. */
typedef struct share {
    int round, cand;
    long budget;
    char *prompt;
    sreq *leader;             /* in flight; NULL once finished */
    int32_t *ids;             /* finished: the result */
    int n_ids, prompt_tokens;
    eng_finish finish;
    double started, finished_at;
    long cut;                 /* the largest smaller budget of the family's
                               * problems at this round (0: none) */
    long n_live;              /* in flight: tokens generated so far */
    int32_t *live;            /* the first min(n_live, cut) of them */
    struct share *next;       /* the family's list */
} share;

typedef struct {
    int p, r, c;
} item;

typedef struct {
    const rsa_sched *s;
    eng_backend *be;
    const rsa_problem *pr;
    int np;
    pstate *ps;
    rsa_tailer *tailer;
    item *q;              /* ready to submit */
    size_t qhead, qn, qcap;
    rsa_stats st;
    double t0;
    sreq *live;           /* submitted, not finished */
    long long failed;     /* errors kept (keep_errors) */
    int *fam;             /* [p]: the first problem of p's id (its family) */
    int *fam_next;        /* [p]: the family's next problem, or -1 */
    share **shares;       /* [family head]: its requests made alike */
} run;

/* Problem p's setting and its T = 0 width. */
static const rsa_params *prm(const run *R, int p)
{
    return R->pr[p].p ? R->pr[p].p : &R->s->p;
}

static int nsamples(const run *R, int p)
{
    return R->pr[p].p ? R->pr[p].samples : R->s->samples;
}

/* Candidates of problem p in round r. */
static int width(const run *R, int p, int r)
{
    return rsa_width(prm(R, p), nsamples(R, p), r);
}

static double unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void free_tails(char **t, int n)
{
    if (!t)
        return;
    for (int i = 0; i < n; i++)
        free(t[i]);
    free(t);
}

static void unlink_req(run *R, sreq *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else if (R->live == r)
        R->live = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
}

static void sreq_free(sreq *r)
{
    if (!r)
        return;
    for (sreq *f = r->followers, *n; f; f = n) {
        n = f->next;
        sreq_free(f);
    }
    if (r->slot)
        r->slot->leader = NULL;
    free(r->parents);
    free(r->prompt);
    free(r);
}

static void share_free(share *h)
{
    if (h) {
        free(h->prompt);
        free(h->ids);
        free(h->live);
        free(h);
    }
}

/* Drops the finished shares of p's family that no problem of it can ask
 * for any more: those of rounds every problem of the family is past. */
static void shares_prune(run *R, int p)
{
    int f = R->fam[p];
    if (!R->shares[f])
        return;
    int low = INT_MAX;
    for (int q = f; q >= 0; q = R->fam_next[q])
        if (R->ps[q].round < low)
            low = R->ps[q].round;
    for (share **h = &R->shares[f]; *h;) {
        if (!(*h)->leader && (*h)->round < low) {
            share *d = *h;
            *h = d->next;
            share_free(d);
        } else {
            h = &(*h)->next;
        }
    }
}

static int enqueue(run *R, int p, int r, int c)
{
    if (R->qn == R->qcap) {
        size_t nc = R->qcap ? 2 * R->qcap : 256;
        item *nq = malloc(nc * sizeof *nq);
        if (!nq)
            return -1;
        for (size_t i = 0; i < R->qn; i++)
            nq[i] = R->q[(R->qhead + i) % (R->qcap ? R->qcap : 1)];
        free(R->q);
        R->q = nq;
        R->qhead = 0;
        R->qcap = nc;
    }
    R->q[(R->qhead + R->qn) % R->qcap] = (item){p, r, c};
    R->qn++;
    return 0;
}

/* Starts rounds of problem p until one has work left (or all are done). */
static int advance(run *R, int p, char *err, size_t errlen)
{
    const rsa_params *rp = prm(R, p);
    pstate *P = &R->ps[p];
    for (;;) {
        if (P->cur_tails && P->cur_left == 0) { /* the round is complete */
            free_tails(P->prev_tails, P->prev_width);
            P->prev_tails = P->cur_tails;
            P->prev_width = width(R, p, P->round);
            P->cur_tails = NULL;
            P->round++;
            shares_prune(R, p);
        }
        if (P->round > rp->T) {
            free_tails(P->prev_tails, P->prev_width);
            P->prev_tails = NULL;
            return 0;
        }
        int w = width(R, p, P->round);
        P->cur_tails = calloc((size_t)w, sizeof *P->cur_tails);
        if (!P->cur_tails)
            return ut_err(err, errlen, "out of memory");
        P->cur_left = w;
        for (int c = 0; c < w; c++) {
            const rsa_prior *pr = P->prior ? P->prior[P->round * RSA_MAX_WIDTH + c] : NULL;
            if (pr) {
                int nt, st0;
                if (rsa_tail(R->tailer, pr->ids, pr->n_ids, rp->tau, rp->tail,
                             &P->cur_tails[c], &nt, &st0, err, errlen))
                    return -1;
                P->cur_left--;
            } else if (enqueue(R, p, P->round, c)) {
                return ut_err(err, errlen, "out of memory");
            }
        }
        if (P->cur_left > 0)
            return 0;
    }
}

static int complete(run *R, sreq *q, const int32_t *ids, int n_ids, eng_finish finish,
                    const char *error, double started, double fin, int *advance_p, char *err,
                    size_t errlen);

static int submit_one(run *R, item it, char *err, size_t errlen)
{
    const rsa_sched *s = R->s;
    const rsa_problem *pb = &R->pr[it.p];
    const rsa_params *rp = prm(R, it.p);
    pstate *P = &R->ps[it.p];
    sreq *q = calloc(1, sizeof *q);
    char *msg = NULL, *text = NULL;
    int32_t *ids = NULL;
    share *h = NULL;
    if (!q)
        return ut_err(err, errlen, "out of memory");
    q->problem = it.p;
    q->round = it.r;
    q->cand = it.c;
    q->seed = rsa_seed(s->seed, pb->id, it.r, it.c);
    if (it.r > 0) {
        q->parents = malloc((size_t)rp->C * sizeof *q->parents);
        const char **tails = malloc((size_t)rp->C * sizeof *tails);
        if (!q->parents || !tails) {
            free(tails);
            goto oom;
        }
        q->nparents = rsa_parents(rp, s->seed, pb->id, it.r, it.c, P->prev_width, q->parents);
        for (int i = 0; i < q->nparents; i++)
            tails[i] = P->prev_tails[q->parents[i]];
        msg = rsa_agg_prompt(pb->question, tails, q->nparents, pb->code);
        free(tails);
        if (!msg)
            goto oom;
    }
    chat_msg m = {"user", it.r > 0 ? msg : pb->round0};
    size_t tl, nids;
    if (chat_render(s->ct, &m, 1, &s->co, &text, &tl, err, errlen))
        goto fail;
    int f = R->fam[it.p];
    long budget = rsa_budget(rp, it.r);
    q->budget = budget;
    if (R->fam_next[f] >= 0) { /* a family: the same request may be made already */
        for (h = R->shares[f]; h; h = h->next)
            if (h->round == it.r && h->cand == it.c && h->budget >= budget &&
                !strcmp(h->prompt, text))
                break;
        if (h) {
            free(msg);
            q->prompt = text;
            if (h->leader && R->be->tokens_final && h->n_live > budget) { /* past it */
                q->prompt_tokens = h->leader->prompt_tokens;
                R->st.shared++;
                R->st.shared_tokens += budget;
                return complete(R, q, h->live, (int)budget, ENG_FINISH_LENGTH, NULL,
                                h->leader->started, unix_now(), NULL, err, errlen);
            }
            if (h->leader) { /* in flight: wait for it */
                sreq **t = &h->leader->followers;
                while (*t)
                    t = &(*t)->next;
                *t = q;
                q->prompt_tokens = h->leader->prompt_tokens;
                q->started = h->leader->started;
                return 0;
            }
            q->prompt_tokens = h->prompt_tokens;
            R->st.shared++;
            R->st.shared_tokens += h->n_ids < q->budget ? h->n_ids : q->budget;
            return complete(R, q, h->ids, h->n_ids, h->finish, NULL, h->started,
                            h->finished_at, NULL, err, errlen);
        }
        if (!(h = calloc(1, sizeof *h)) || !(h->prompt = strdup(text))) {
            free(h);
            h = NULL;
            goto oom;
        }
        h->round = it.r;
        h->cand = it.c;
        h->budget = budget;
        for (int o = f; o >= 0; o = R->fam_next[o]) {
            const rsa_params *op = prm(R, o);
            long b = it.r <= op->T ? rsa_budget(op, it.r) : 0;
            if (b < budget && b > h->cut)
                h->cut = b;
        }
    }
    if (tok_encode(s->tk, text, tl, chat_add_special(s->ct), &ids, &nids, err, errlen))
        goto fail;
    if (nids == 0 || nids > INT_MAX) {
        ut_err(err, errlen, "problem %s round %d: the prompt encodes to %zu tokens", pb->id, it.r,
               nids);
        goto fail;
    }
    q->prompt = text;
    text = NULL;
    q->prompt_tokens = (int)nids;
    q->started = unix_now();
    eng_request rq = {ids, (int)nids, (int)budget, s->sampling, q->seed,
                      s->stop, s->nstop, s->vocab_limit, q};
    if (R->be->submit(R->be, &rq, err, errlen)) {
        ut_err_prefix(err, errlen, "problem %s round %d candidate %d", pb->id, it.r, it.c);
        goto fail;
    }
    free(ids);
    free(msg);
    if (h) { /* others of the family follow this request */
        h->leader = q;
        q->slot = h;
        h->next = R->shares[f];
        R->shares[f] = h;
    }
    q->next = R->live;
    if (R->live)
        R->live->prev = q;
    R->live = q;
    R->st.inflight++;
    return 0;
oom:
    ut_err(err, errlen, "out of memory");
fail:
    share_free(h);
    free(ids);
    free(msg);
    free(text);
    sreq_free(q);
    return -1;
}

/* Stores the sample of q's request (generated for q, or for the request
 * q followed) and frees q.  Reads ids before the problem advances, never
 * after: advancing may drop the share that holds them. */
static int complete(run *R, sreq *q, const int32_t *ids, int n_ids, eng_finish finish,
                    const char *error, double started, double fin, int *advance_p, char *err,
                    size_t errlen)
{
    const rsa_sched *s = R->s;
    if (finish != ENG_FINISH_ERROR && n_ids > q->budget) { /* a larger budget's sample */
        n_ids = (int)q->budget;
        finish = ENG_FINISH_LENGTH;
    }
    const rsa_problem *pb = &R->pr[q->problem];
    pstate *P = &R->ps[q->problem];
    if (finish == ENG_FINISH_ERROR && s->keep_errors) {
        rsa_done d = {q->problem, q->round, q->cand, q->parents, q->nparents, q->seed, q->prompt,
                      q->prompt_tokens, ids, n_ids, finish, "", 0, started, fin,
                      error ? error : "unknown error"};
        int rc = s->on_sample ? s->on_sample(s->ctx, &d, err, errlen) : 0;
        R->failed++; /* the problem's round stays incomplete */
        sreq_free(q);
        return rc ? -1 : 0;
    }
    if (finish == ENG_FINISH_ERROR) {
        ut_err(err, errlen, "problem %s round %d candidate %d: engine error: %s", pb->id,
               q->round, q->cand, error ? error : "unknown");
        sreq_free(q);
        return -1;
    }
    char *tail = NULL;
    int nt = 0, t0 = 0;
    const rsa_params *rp = prm(R, q->problem);
    if (rsa_tail(R->tailer, ids, n_ids, rp->tau, rp->tail, &tail, &nt, &t0, err, errlen)) {
        sreq_free(q);
        return -1;
    }
    rsa_done d = {q->problem, q->round, q->cand, q->parents, q->nparents, q->seed, q->prompt,
                  q->prompt_tokens, ids, n_ids, finish, tail, nt, started, fin, NULL};
    if (s->on_sample && s->on_sample(s->ctx, &d, err, errlen)) {
        free(tail);
        sreq_free(q);
        return -1;
    }
    R->st.done++;
    P->cur_tails[q->cand] = tail;
    P->cur_left--;
    int p = q->problem;
    sreq_free(q);
    if (P->cur_left > 0)
        return 0;
    if (advance_p) { /* the caller advances it */
        *advance_p = p;
        return 0;
    }
    return advance(R, p, err, errlen);
}

static void share_unlink(run *R, int p, share *h)
{
    for (share **x = &R->shares[R->fam[p]]; *x; x = &(*x)->next)
        if (*x == h) {
            *x = h->next;
            share_free(h);
            return;
        }
}

/* The budget of problem p's round after the current one (0 past T). */
static long next_budget(const run *R, int p)
{
    int r = R->ps[p].round + 1;
    return r <= prm(R, p)->T ? rsa_budget(prm(R, p), r) : 0;
}

/* Advances the problems adv[0..n) whose rounds just completed, larger
 * next budgets first: a request asked alike at several budgets is then
 * made at the largest, and the others follow it. */
static int advance_all(run *R, int *adv, int n, char *err, size_t errlen)
{
    for (int i = 1; i < n; i++) { /* insertion sort: a handful */
        int p = adv[i], j = i;
        while (j > 0 && next_budget(R, adv[j - 1]) < next_budget(R, p)) {
            adv[j] = adv[j - 1];
            j--;
        }
        adv[j] = p;
    }
    for (int i = 0; i < n; i++)
        if (advance(R, adv[i], err, errlen))
            return -1;
    return 0;
}

static int finished(run *R, const eng_event *e, char *err, size_t errlen)
{
    sreq *q = e->user;
    unlink_req(R, q);
    R->st.inflight--;
    sreq *fl = q->followers;
    share *h = q->slot;
    double now = unix_now(), started = q->started;
    q->followers = NULL;
    q->slot = NULL;
    if (h) { /* keep the result for askers still to come */
        h->leader = NULL;
        free(h->live);
        h->live = NULL;
        size_t n = e->n_ids > 0 ? (size_t)e->n_ids : 0;
        if (e->finish == ENG_FINISH_ERROR || !(h->ids = malloc((n ? n : 1) * sizeof *h->ids))) {
            share_unlink(R, q->problem, h); /* later askers make their own request */
        } else {
            if (n)
                memcpy(h->ids, e->ids, n * sizeof *h->ids);
            h->n_ids = (int)n;
            h->prompt_tokens = q->prompt_tokens;
            h->finish = e->finish;
            h->started = started;
            h->finished_at = now;
        }
    }
    /* The problems whose round this completes advance after all are
     * stored (advance_all). */
    int nadv = 0, cap = 1;
    for (sreq *x = fl; x; x = x->next)
        cap++;
    int *adv = malloc((size_t)cap * sizeof *adv);
    int rc = adv ? 0 : ut_err(err, errlen, "out of memory");
    for (sreq *x = q, *n; x; x = n) {
        n = x == q ? fl : x->next;
        x->next = NULL;
        if (rc) {
            sreq_free(x);
            continue;
        }
        if (x != q) {
            R->st.shared++;
            R->st.shared_tokens += e->n_ids < x->budget ? e->n_ids : x->budget;
        }
        int p = -1;
        rc = complete(R, x, e->ids, e->n_ids, e->finish, e->error, started, now, &p, err,
                      errlen);
        if (p >= 0)
            adv[nadv++] = p;
    }
    if (!rc)
        rc = advance_all(R, adv, nadv, err, errlen);
    free(adv);
    return rc;
}

/* A token of e's request.  Where it leads a share, the followers whose
 * budget it has gone past are stored now, cut from the tokens so far. */
static int token(run *R, const eng_event *e, char *err, size_t errlen)
{
    sreq *q = e->user;
    share *h = q->slot;
    if (!h || !h->cut || !R->be->tokens_final)
        return 0;
    if (h->n_live < h->cut) {
        if (!h->live && !(h->live = malloc((size_t)h->cut * sizeof *h->live)))
            return ut_err(err, errlen, "out of memory");
        h->live[h->n_live] = e->token;
    }
    h->n_live++;
    int nadv = 0, cap = 0, rc = 0;
    for (sreq *x = q->followers; x; x = x->next)
        cap += x->budget < h->n_live;
    if (!cap)
        return 0;
    int *adv = malloc((size_t)cap * sizeof *adv);
    if (!adv)
        return ut_err(err, errlen, "out of memory");
    double now = unix_now();
    for (sreq **t = &q->followers; *t && !rc;) {
        sreq *x = *t;
        if (x->budget >= h->n_live) {
            t = &x->next;
            continue;
        }
        *t = x->next;
        x->next = NULL;
        R->st.shared++;
        R->st.shared_tokens += x->budget;
        int p = -1;
        rc = complete(R, x, h->live, (int)x->budget, ENG_FINISH_LENGTH, NULL, q->started, now,
                      &p, err, errlen);
        if (p >= 0)
            adv[nadv++] = p;
    }
    if (!rc)
        rc = advance_all(R, adv, nadv, err, errlen);
    free(adv);
    return rc;
}

typedef struct {
    const char *id;
    int p;
} idref;

static int idx_cmp(const void *a, const void *b)
{
    const idref *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->p > y->p) - (x->p < y->p);
}

/* Groups the problems by id (a sweep has one problem per setting). */
static int families(run *R)
{
    int np = R->np;
    idref *ix = malloc((size_t)(np > 0 ? np : 1) * sizeof *ix);
    R->fam = malloc((size_t)(np > 0 ? np : 1) * sizeof *R->fam);
    R->fam_next = malloc((size_t)(np > 0 ? np : 1) * sizeof *R->fam_next);
    R->shares = calloc((size_t)(np > 0 ? np : 1), sizeof *R->shares);
    if (!ix || !R->fam || !R->fam_next || !R->shares) {
        free(ix);
        return -1;
    }
    for (int p = 0; p < np; p++) {
        ix[p].id = R->pr[p].id;
        ix[p].p = p;
        R->fam_next[p] = -1;
    }
    qsort(ix, (size_t)np, sizeof *ix, idx_cmp);
    for (int i = 0; i < np; i++) {
        int same = i > 0 && !strcmp(ix[i].id, ix[i - 1].id);
        R->fam[ix[i].p] = same ? R->fam[ix[i - 1].p] : ix[i].p;
        if (same)
            R->fam_next[ix[i - 1].p] = ix[i].p;
    }
    free(ix);
    return 0;
}

int rsa_run(const rsa_sched *s, eng_backend *be, const rsa_problem *problems, int np,
            const rsa_prior *prior, size_t nprior, char *err, size_t errlen)
{
    run R = {0};
    int rc = -1;
    R.s = s;
    R.be = be;
    R.pr = problems;
    R.np = np;
    R.t0 = ut_now();
    R.ps = calloc((size_t)(np > 0 ? np : 1), sizeof *R.ps);
    R.tailer = rsa_tailer_new(s->tk, s->stop, s->nstop);
    eng_event *ev = malloc(256 * sizeof *ev);
    if (!R.ps || !R.tailer || !ev || families(&R)) {
        ut_err(err, errlen, "out of memory");
        goto done;
    }
    for (int p = 0; p < np; p++)
        for (int r = 0; r <= prm(&R, p)->T; r++)
            R.st.total += width(&R, p, r);
    for (size_t i = 0; i < nprior; i++) {
        const rsa_prior *x = &prior[i];
        if (x->problem < 0 || x->problem >= np || x->round < 0 ||
            x->round > prm(&R, x->problem)->T || x->cand < 0 ||
            x->cand >= width(&R, x->problem, x->round)) {
            ut_err(err, errlen, "stored sample (problem %d, round %d, candidate %d) is outside "
                   "this run's configuration", x->problem, x->round, x->cand);
            goto done;
        }
        pstate *P = &R.ps[x->problem];
        if (!P->prior) {
            P->prior = calloc((size_t)(prm(&R, x->problem)->T + 1) * RSA_MAX_WIDTH,
                              sizeof *P->prior);
            if (!P->prior) {
                ut_err(err, errlen, "out of memory");
                goto done;
            }
        }
        const rsa_prior **slot = &P->prior[x->round * RSA_MAX_WIDTH + x->cand];
        if (*slot) {
            ut_err(err, errlen, "problem %s round %d candidate %d is stored twice",
                   problems[x->problem].id, x->round, x->cand);
            goto done;
        }
        *slot = x;
        R.st.done++;
    }
    /* larger round-0 budgets first (see share) */
    int *order = malloc((size_t)(np > 0 ? np : 1) * sizeof *order);
    if (!order) {
        ut_err(err, errlen, "out of memory");
        goto done;
    }
    for (int p = 0; p < np; p++) {
        int j = p;
        while (j > 0 && rsa_budget(prm(&R, order[j - 1]), 0) < rsa_budget(prm(&R, p), 0)) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = p;
    }
    for (int i = 0; i < np; i++)
        if (advance(&R, order[i], err, errlen)) {
            free(order);
            goto done;
        }
    free(order);
    for (;;) {
        while (R.qn > 0 && (s->max_inflight <= 0 || R.st.inflight < s->max_inflight)) {
            item it = R.q[R.qhead];
            R.qhead = (R.qhead + 1) % R.qcap;
            R.qn--;
            if (submit_one(&R, it, err, errlen))
                goto done;
        }
        if (be->pending(be) == 0)
            break;
        int nev = 0;
        if (be->pump(be, ev, 256, &nev, err, errlen))
            goto done;
        for (int i = 0; i < nev; i++) {
            if (ev[i].kind == ENG_EV_TOKEN) {
                R.st.tokens++;
                if (token(&R, &ev[i], err, errlen))
                    goto done;
            } else if (finished(&R, &ev[i], err, errlen))
                goto done;
        }
        R.st.elapsed = ut_now() - R.t0;
        if (s->on_step)
            s->on_step(s->ctx, &R.st);
    }
    R.st.elapsed = ut_now() - R.t0;
    if (s->on_step) /* the samples a last submission completed from shares */
        s->on_step(s->ctx, &R.st);
    if (R.failed) {
        ut_err(err, errlen, "%lld requests failed (stored with finish_reason error); "
               "`zeval run --resume` retries them", R.failed);
        goto done;
    }
    if (R.st.done != R.st.total) {
        ut_err(err, errlen, "internal error: %lld of %lld samples done", R.st.done, R.st.total);
        goto done;
    }
    rc = 0;
done:
    if (R.ps) {
        for (int p = 0; p < np; p++) {
            pstate *P = &R.ps[p];
            free_tails(P->prev_tails, P->prev_width);
            int T = prm(&R, p)->T;
            if (P->cur_tails)
                free_tails(P->cur_tails, width(&R, p, P->round <= T ? P->round : T));
            free(P->prior);
        }
    }
    while (R.live) {
        sreq *q = R.live;
        unlink_req(&R, q);
        sreq_free(q);
    }
    for (int p = 0; R.shares && p < np; p++)
        for (share *h = R.shares[p], *n; h; h = n) {
            n = h->next;
            share_free(h);
        }
    free(R.shares);
    free(R.fam);
    free(R.fam_next);
    free(R.ps);
    free(R.q);
    free(ev);
    rsa_tailer_free(R.tailer);
    return rc;
}
