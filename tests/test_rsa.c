/*
 * test_rsa.c — Markovian RSA building blocks (harness/rsa.h) against
 * ../shared/spec/markovian-rsa.md: SPEC parsing and validation, presets
 * and their token cost, seeds and parent choice (§3.3), budgets (§3.4),
 * tails cut in tokens of the real Gemma 3 tokenizer (§3.2) and the
 * aggregation prompt (§4.2).
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "../harness/rsa.h"

#include <stdlib.h>
#include <string.h>

static void test_parse(void)
{
    char err[512];
    rsa_params p;
    ck_begin("SPEC: required keys, defaults (final = beta, tau = beta/4), K suffix");
    CK(rsa_parse("N=16,C=4,T=2,beta=16K", &p, err, sizeof err) == 0, "%s", err);
    CK(p.N == 16 && p.C == 4 && p.T == 2 && p.beta == 16384, "parsed %d %d %d %ld", p.N, p.C,
       p.T, p.beta);
    CK(p.final_budget == 16384 && p.tau == 4096, "defaults final %ld tau %ld", p.final_budget,
       p.tau);
    CK(p.tail == RSA_TAIL_REASONING && p.c1 == RSA_C1_OWN, "default modes");
    CK(rsa_parse("N=8,C=1,T=4,beta=8k,final=40K,tau=4K,tail=hybrid,c1=random", &p, err,
                 sizeof err) == 0, "%s", err);
    CK(p.final_budget == 40960 && p.tau == 4096 && p.tail == RSA_TAIL_HYBRID &&
       p.c1 == RSA_C1_RANDOM, "all keys");
    char buf[256];
    rsa_format(&p, buf, sizeof buf);
    CK(!strcmp(buf, "N=8,C=1,T=4,beta=8192,final=40960,tau=4096,tail=hybrid,c1=random"),
       "canonical '%s'", buf);
    rsa_params q;
    CK(rsa_parse(buf, &q, err, sizeof err) == 0 && p.N == q.N && p.C == q.C && p.T == q.T &&
       p.beta == q.beta && p.final_budget == q.final_budget && p.tau == q.tau &&
       p.tail == q.tail && p.c1 == q.c1,
       "canonical text parses back to the same parameters");
    ck_end();

    ck_begin("SPEC: the short form leaves defaults out and parses back the same");
    static const struct { const char *spec, *want; } shortf[] = {
        {"N=16,C=4,T=2,beta=16K", "N=16,C=4,T=2,beta=16K"},
        {"N=16,C=4,T=2,beta=16384,final=16384,tau=4096,tail=reasoning,c1=own",
         "N=16,C=4,T=2,beta=16K"},
        {"N=16,C=4,T=2,beta=40K,final=40K,tau=4K", "N=16,C=4,T=2,beta=40K,tau=4K"},
        {"N=8,C=1,T=4,beta=8k,final=40K,tau=4K,tail=hybrid,c1=random",
         "N=8,C=1,T=4,beta=8K,final=40K,tau=4K,tail=hybrid,c1=random"},
        {"N=4,C=2,T=1,beta=3", "N=4,C=2,T=1,beta=3"},
        {"N=4,C=2,T=1,beta=3,tau=1", "N=4,C=2,T=1,beta=3"},
        {"N=4,C=2,T=1,beta=3,tau=2", "N=4,C=2,T=1,beta=3,tau=2"},
        {"N=4,C=2,T=1,beta=1500,final=2048,tail=full", "N=4,C=2,T=1,beta=1500,final=2K,tail=full"},
    };
    for (size_t i = 0; i < sizeof shortf / sizeof shortf[0]; i++) {
        rsa_params a, b;
        CK(rsa_parse(shortf[i].spec, &a, err, sizeof err) == 0, "%s", err);
        rsa_format_short(&a, buf, sizeof buf);
        CK(!strcmp(buf, shortf[i].want), "'%s' -> '%s' (want '%s')", shortf[i].spec, buf,
           shortf[i].want);
        CK(rsa_parse(buf, &b, err, sizeof err) == 0 && a.N == b.N && a.C == b.C && a.T == b.T &&
               a.beta == b.beta && a.final_budget == b.final_budget && a.tau == b.tau &&
               a.tail == b.tail && a.c1 == b.c1,
           "'%s' does not parse back to '%s'", buf, shortf[i].spec);
    }
    ck_end();

    ck_begin("SPEC: bad input names the key");
    static const struct { const char *spec, *want; } bad[] = {
        {"N=4,C=2,T=2", "'beta' is required"},
        {"N=4,C=5,T=2,beta=8", "C=5 must be between 1 and N=4"},
        {"N=4,C=0,T=2,beta=8", "C=0"},
        {"N=4,C=2,T=2,beta=8,tail=middle", "tail: expected reasoning"},
        {"N=4,C=2,T=2,beta=8,c1=mine", "c1: expected own or random"},
        {"N=4,C=2,T=2,beta=8,gamma=3", "unknown key 'gamma'"},
        {"N=4,C=2,T=2,beta=-8", "beta: expected a non-negative integer"},
        {"N=4,C=2,T=2,beta=8x", "beta: expected"},
        {"N=4,N=5,C=2,T=2,beta=8", "'N' given twice"},
        {"N=4,C=2,T=2,beta=8,", "trailing ','"},
        {"N=4,C=2,T=2,beta", "not key=value"},
        {"N=4,C=2,T=99,beta=8", "T=99 is larger"},
        {"N=4,C=2,T=2,beta=8,tau=0", "tau must be"},
        {"", "empty SPEC"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        int rc = rsa_parse(bad[i].spec, &p, err, sizeof err);
        CK(rc == -1 && strstr(err, bad[i].want), "'%s': rc %d, message '%s' (want '%s')",
           bad[i].spec, rc, err, bad[i].want);
    }
    ck_end();
}

static void test_presets(void)
{
    ck_begin("presets (spec §7): every one parses; headline numbers");
    size_t n;
    const rsa_preset *ps = rsa_presets(&n);
    CK(n >= 12, "%zu presets", n);
    char err[256];
    for (size_t i = 0; i < n; i++) {
        rsa_params p;
        CK(rsa_parse(ps[i].spec, &p, err, sizeof err) == 0, "%s: %s", ps[i].name, err);
    }
    static const char *need[] = {"zaya-40k", "zaya-16k", "zaya-8k", "zaya-apex-light",
                                 "zaya-apex-high", "zaya-apex-xhigh", "independent",
                                 "delethink-c1", "full-chain-rsa", "zaya-c1-baseline"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        CK(rsa_preset_find(need[i]) != NULL, "preset %s missing", need[i]);
    rsa_params p;
    rsa_parse(rsa_preset_find("zaya-40k")->spec, &p, err, sizeof err);
    CK(p.N == 16 && p.C == 4 && p.T == 2 && p.beta == 40960 && p.tau == 4096 &&
       p.final_budget == 40960, "zaya-40k");
    /* §6: 16*2*40960 + 16*40960 = 1,966,080 */
    CK(rsa_cost_cap(&p, 0) == 1966080.0, "zaya-40k cap %.0f", rsa_cost_cap(&p, 0));
    rsa_parse(rsa_preset_find("zaya-16k")->spec, &p, err, sizeof err);
    CK(p.beta == 16384 && p.final_budget == 40960 &&
       rsa_cost_cap(&p, 0) == 16.0 * 2 * 16384 + 16.0 * 40960, "zaya-16k");
    rsa_parse(rsa_preset_find("independent")->spec, &p, err, sizeof err);
    CK(p.T == 0 && rsa_budget(&p, 0) == p.final_budget && rsa_width(&p, 64, 0) == 64 &&
       rsa_cost_cap(&p, 64) == 64.0 * p.final_budget, "independent: T=0, budget B_final, "
       "--samples sets the width");
    rsa_parse(rsa_preset_find("full-chain-rsa")->spec, &p, err, sizeof err);
    CK(p.tau >= p.beta, "full-chain-rsa has tau >= beta");
    ck_end();
}

static void test_budgets_and_seeds(void)
{
    char err[256];
    rsa_params p;
    rsa_parse("N=16,C=4,T=2,beta=8K,final=40K", &p, err, sizeof err);
    ck_begin("budgets: beta in rounds 0..T-1, B_final in round T; width N (samples ignored)");
    CK(rsa_budget(&p, 0) == 8192 && rsa_budget(&p, 1) == 8192 && rsa_budget(&p, 2) == 40960,
       "budgets");
    CK(rsa_width(&p, 64, 0) == 16 && rsa_width(&p, 0, 2) == 16, "width");
    ck_end();

    ck_begin("settings alike through a round: the same widths and budgets so far, and past "
             "round 0 the same parents and tails; the same prompts in a round: budgets may "
             "differ in it");
    static const struct { const char *a; int sa; const char *b; int sb; int through; } alike[] = {
        /* the presets: zaya-8k and zaya-apex-light part at the final round's budget */
        {"N=16,C=4,T=2,beta=8K,final=40K,tau=4K", 0, "N=16,C=4,T=2,beta=8K,final=8K,tau=4K", 0, 1},
        {"N=16,C=4,T=2,beta=8K,final=40K,tau=4K", 0, "N=16,C=4,T=2,beta=16K,final=40K,tau=4K", 0,
         -1},
        /* T sweeps with final = beta share every round of the shorter */
        {"N=4,C=2,T=1,beta=64", 0, "N=4,C=2,T=3,beta=64", 0, 1},
        /* tau and C matter from round 1 on only */
        {"N=4,C=2,T=2,beta=64,tau=8", 0, "N=4,C=2,T=2,beta=64,tau=16", 0, 0},
        {"N=4,C=2,T=2,beta=64", 0, "N=4,C=3,T=2,beta=64", 0, 0},
        {"N=4,C=2,T=2,beta=64", 0, "N=4,C=2,T=2,beta=64,tail=full", 0, 0},
        /* c1 matters only at C = 1 */
        {"N=4,C=1,T=2,beta=64,c1=own", 0, "N=4,C=1,T=2,beta=64,c1=random", 0, 0},
        {"N=4,C=2,T=2,beta=64,c1=own", 0, "N=4,C=2,T=2,beta=64,c1=random", 0, 2},
        /* T = 0 samples with its round-0 budget (final) and width (samples) */
        {"N=4,C=1,T=0,beta=64", 0, "N=4,C=2,T=2,beta=64,final=99", 0, 0},
        {"N=4,C=1,T=0,beta=64", 8, "N=4,C=2,T=2,beta=64", 0, -1},
        {"N=4,C=1,T=0,beta=64,final=99", 0, "N=4,C=2,T=2,beta=64", 0, -1},
        {"N=8,C=2,T=2,beta=64", 0, "N=4,C=2,T=2,beta=64", 0, -1},
    };
    /* the same prompts in a round whose budgets differ: that round is cut from the larger */
    static const struct { const char *a, *b; int prompts, through; } cut[] = {
        {"N=16,C=4,T=2,beta=8K,final=40K,tau=4K", "N=16,C=4,T=2,beta=16K,final=40K,tau=4K", 0,
         -1},
        {"N=16,C=4,T=2,beta=8K,final=40K,tau=4K", "N=16,C=4,T=2,beta=8K,final=8K,tau=4K", 2, 1},
        {"N=4,C=1,T=0,beta=8", "N=4,C=1,T=0,beta=64", 0, -1},
        {"N=4,C=2,T=1,beta=64", "N=4,C=2,T=3,beta=64", 1, 1},
    };
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
        rsa_params a, b;
        CK(rsa_parse(cut[i].a, &a, err, sizeof err) == 0 &&
               rsa_parse(cut[i].b, &b, err, sizeof err) == 0, "%s", err);
        for (int r = 0; r <= 3; r++) {
            int want = r <= cut[i].prompts && r <= a.T && r <= b.T &&
                       (r == cut[i].prompts || r <= cut[i].through);
            CK(rsa_same_prompts(&a, 0, &b, 0, r) == want &&
                   rsa_same_prompts(&b, 0, &a, 0, r) == want,
               "%s / %s round %d: same prompts should be %d", cut[i].a, cut[i].b, r, want);
        }
    }
    for (size_t i = 0; i < sizeof alike / sizeof alike[0]; i++) {
        rsa_params a, b;
        CK(rsa_parse(alike[i].a, &a, err, sizeof err) == 0 &&
               rsa_parse(alike[i].b, &b, err, sizeof err) == 0, "%s", err);
        for (int r = 0; r <= 3; r++) {
            int want = r <= alike[i].through;
            CK(rsa_same_through(&a, alike[i].sa, &b, alike[i].sb, r) == want &&
                   rsa_same_through(&b, alike[i].sb, &a, alike[i].sa, r) == want,
               "%s / %s round %d: want %d", alike[i].a, alike[i].b, r, want);
        }
    }
    ck_end();

    ck_begin("seeds depend only on (run seed, problem, round, candidate) and all differ");
    CK(rsa_seed(1, "aime2025-I-01", 0, 0) == rsa_seed(1, "aime2025-I-01", 0, 0), "stable");
    uint64_t s[5] = {rsa_seed(1, "aime2025-I-01", 0, 0), rsa_seed(2, "aime2025-I-01", 0, 0),
                     rsa_seed(1, "aime2025-I-02", 0, 0), rsa_seed(1, "aime2025-I-01", 1, 0),
                     rsa_seed(1, "aime2025-I-01", 0, 1)};
    for (int i = 0; i < 5; i++)
        for (int j = i + 1; j < 5; j++)
            CK(s[i] != s[j], "seed %d == seed %d", i, j);
    ck_end();

    ck_begin("parents: C distinct indices of the previous round, deterministic, all used");
    int used[16] = {0}, first_pos[16] = {0};
    for (int j = 0; j < 16; j++) {
        int par[16], par2[16];
        int k = rsa_parents(&p, 7, "x", 1, j, 16, par);
        int k2 = rsa_parents(&p, 7, "x", 1, j, 16, par2);
        CK(k == 4 && k2 == 4 && !memcmp(par, par2, sizeof(int) * 4), "cand %d: k %d", j, k);
        for (int a = 0; a < k; a++) {
            CK(par[a] >= 0 && par[a] < 16, "index %d out of range", par[a]);
            for (int b = a + 1; b < k; b++)
                CK(par[a] != par[b], "cand %d: parent %d twice", j, par[a]);
            used[par[a]]++;
            first_pos[par[a]] += a == 0;
        }
    }
    /* 64 draws over 16 candidates: none should dominate */
    for (int i = 0; i < 16; i++)
        CK(used[i] <= 14, "candidate %d used %d times of 64", i, used[i]);
    int par[16];
    CK(rsa_parents(&p, 7, "x", 1, 0, 3, par) == 3, "C is capped by the previous width");
    rsa_params q;
    rsa_parse("N=4,C=1,T=4,beta=8", &q, err, sizeof err);
    for (int j = 0; j < 4; j++)
        CK(rsa_parents(&q, 7, "x", 2, j, 4, par) == 1 && par[0] == j, "C=1 own: [%d]", j);
    rsa_parse("N=4,C=1,T=4,beta=8,c1=random", &q, err, sizeof err);
    int differs = 0;
    for (int j = 0; j < 32; j++) {
        CK(rsa_parents(&q, 7, "y", 1, j % 4, 4, par) == 1 && par[0] >= 0 && par[0] < 4,
           "C=1 random: one parent in range");
        differs += par[0] != j % 4;
    }
    CK(differs > 0, "C=1 random never left its own lineage");
    ck_end();
}

static tok_tokenizer *tk;

static int32_t *enc(const char *s, size_t *n)
{
    int32_t *ids = NULL;
    char err[256];
    if (tok_encode(tk, s, strlen(s), 0, &ids, n, err, sizeof err))
        return NULL;
    return ids;
}

static void test_tails(void)
{
    char err[512];
    if (tok_load(ck_shared("tokenizer/gemma3/tokenizer.json"), &tk, err, sizeof err)) {
        ck_skip("tails with the Gemma 3 tokenizer", err);
        return;
    }
    int32_t stop[2] = {106, 1}; /* <end_of_turn>, <eos> */
    rsa_tailer *t = rsa_tailer_new(tk, stop, 2);
    size_t n;
    int32_t *ids = enc("one two three four five six seven eight nine ten", &n);
    char *text = NULL;
    int nt = 0, st = 0;

    ck_begin("tail: the last tau tokens (ids), whole trace when shorter, stop ids stripped");
    CK(n == 10, "%zu ids", n);
    int32_t *ids2 = malloc((n + 2) * sizeof *ids2);
    memcpy(ids2, ids, n * sizeof *ids);
    ids2[n] = 106;
    ids2[n + 1] = 1;
    CK(rsa_tail(t, ids2, (int)n + 2, 3, RSA_TAIL_REASONING, &text, &nt, &st, err, sizeof err) == 0,
       "%s", err);
    CK(nt == 3 && st == 7 && !strcmp(text, "eight nine ten"), "tail '%s' (%d from %d)", text, nt,
       st);
    free(text);
    rsa_tail(t, ids2, (int)n + 2, 100, RSA_TAIL_REASONING, &text, &nt, &st, err, sizeof err);
    CK(nt == 10 && st == 0 && !strcmp(text, "one two three four five six seven eight nine ten"),
       "tau >= length: the whole (stripped) trace, got '%s' (%d)", text, nt);
    free(text);
    free(ids2);
    free(ids);
    ck_end();

    ck_begin("tail sources: reasoning (before </think>), hybrid (answer), full");
    ids = enc("alpha beta gamma delta</think>The answer is \\boxed{5}.", &n);
    rsa_tail(t, ids, (int)n, 2, RSA_TAIL_REASONING, &text, &nt, &st, err, sizeof err);
    CK(!strcmp(text, "gamma delta") && nt == 2, "reasoning: '%s' (%d)", text, nt);
    free(text);
    rsa_tail(t, ids, (int)n, 1000, RSA_TAIL_REASONING, &text, &nt, &st, err, sizeof err);
    CK(!strcmp(text, "alpha beta gamma delta"), "reasoning, tau >= beta: '%s'", text);
    free(text);
    rsa_tail(t, ids, (int)n, 1000, RSA_TAIL_HYBRID, &text, &nt, &st, err, sizeof err);
    CK(!strcmp(text, "The answer is \\boxed{5}."), "hybrid: '%s'", text);
    free(text);
    rsa_tail(t, ids, (int)n, 1000, RSA_TAIL_FULL, &text, &nt, &st, err, sizeof err);
    /* Gemma 3 has no </think> token: it is ordinary text of the completion */
    CK(!strcmp(text, "alpha beta gamma delta</think>The answer is \\boxed{5}."), "full: '%s'",
       text);
    CK(nt == (int)n, "full: all %zu ids (%d)", n, nt);
    free(text);
    free(ids);
    ids = enc("no delimiter here at all", &n);
    rsa_tail(t, ids, (int)n, 2, RSA_TAIL_HYBRID, &text, &nt, &st, err, sizeof err);
    CK(!strcmp(text, "at all"), "hybrid without </think>: reasoning tail, got '%s'", text);
    free(text);
    free(ids);
    ck_end();

    ck_begin("tail: a cut inside a UTF-8 character drops the partial character");
    /* U+1F600 is not a Gemma piece: byte fallback gives 4 byte pieces */
    ids = enc("x \xF0\x9F\x98\x80", &n);
    int bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += ids[i] >= 0;
    rsa_tail(t, ids, (int)n, 2, RSA_TAIL_FULL, &text, &nt, &st, err, sizeof err);
    CK(strstr(text, "\xEF\xBF\xBD") == NULL, "tail '%s' contains U+FFFD", text);
    CK(nt <= 2, "at most tau ids (%d)", nt);
    free(text);
    free(ids);
    ck_end();
    rsa_tailer_free(t);
    tok_free(tk);
}

static void test_prompt(void)
{
    ck_begin("aggregation prompt (Zyphra template): numbered tails in order, question cut");
    const char *tails[] = {"first tail", "  second tail\n", "third"};
    char *s = rsa_agg_prompt("What is 1+1?\n\nLet's think step by step.", tails, 3, 0);
    CK(s != NULL, "NULL");
    const char *want =
        "You are given a math problem and several candidate solutions. Some candidates may be "
        "incorrect or contain errors. Aggregate the useful ideas and produce a single, "
        "high-quality solution. Reason carefully; if candidates disagree, choose the correct "
        "path. If all are incorrect, then attempt a different strategy. Do not restate the "
        "problem or the candidate solutions.\n[[ Problem ]]:\n\nWhat is 1+1?\n\n"
        "[[ Candidate solutions (may contain mistakes) ]]:\n\n---- Solution 1 ----\nfirst tail\n"
        "\n---- Solution 2 ----\nsecond tail\n\n---- Solution 3 ----\nthird\n\n"
        "Now write a single improved solution. Provide clear reasoning and end with the final "
        "answer in \\boxed{}.";
    CK(s && !strcmp(s, want), "got:\n%s", s ? s : "");
    free(s);
    s = rsa_agg_prompt("Q", tails, 1, 0);
    CK(s && strstr(s, "a candidate solution. The candidate may be incomplete") &&
       strstr(s, "---- Candidate ----\nfirst tail\n") && !strstr(s, "Solution 1") &&
       strstr(s, "reference response above"), "C=1 wording: %s", s ? s : "");
    free(s);
    /* code problems: code wording, no \boxed, no problem header, the whole
     * round-0 prompt (format instruction included) kept */
    const char *q0 = "Write f(x).\n\nReturn the code in a single ```python code block.";
    s = rsa_agg_prompt(q0, tails, 2, 1);
    CK(s && !strncmp(s, "You are given a code implementation problem and several candidate code "
                        "blocks", 75) &&
           strstr(s, "strategy.\nWrite f(x).\n\nReturn the code in a single ```python code "
                     "block.\n\nCandidate solutions (may contain mistakes):\n---- Solution 1 "
                     "----\nfirst tail\n---- Solution 2 ----\nsecond tail\nNow write") &&
           !strstr(s, "boxed") && !strstr(s, "[[ Problem ]]"),
       "code wording: %s", s ? s : "");
    free(s);
    s = rsa_agg_prompt(q0, tails, 1, 1);
    CK(s && strstr(s, "a candidate code block with its reasoning") &&
           strstr(s, "---- Candidate ----\nfirst tail\nNow refine") && !strstr(s, "boxed"),
       "code C=1 wording: %s", s ? s : "");
    free(s);
    ck_end();
}

int main(void)
{
    test_parse();
    test_presets();
    test_budgets_and_seeds();
    test_tails();
    test_prompt();
    return ck_status();
}
