/*
 * test_metrics.c — harness/metrics.h against hand-computed values
 * (../shared/spec/grading.md Part C; markovian-rsa.md §5-§6).
 */
#include "check.h"
#include "../harness/metrics.h"
#include "../graders/math_extract.h"

#include <math.h>
#include <string.h>

static int near(double a, double b)
{
    return fabs(a - b) < 1e-12;
}

static void test_pass_at_k(void)
{
    ck_begin("pass@k: unbiased estimator, stable product form");
    /* n=5, c=2: k=1 -> 2/5; k=2 -> 1 - C(3,2)/C(5,2) = 1 - 3/10; k=3 -> 1 - 1/10; k=4 -> 1 */
    CK(near(met_pass_at_k(5, 2, 1), 0.4), "k=1 %g", met_pass_at_k(5, 2, 1));
    CK(near(met_pass_at_k(5, 2, 2), 0.7), "k=2 %g", met_pass_at_k(5, 2, 2));
    CK(near(met_pass_at_k(5, 2, 3), 0.9), "k=3 %g", met_pass_at_k(5, 2, 3));
    CK(met_pass_at_k(5, 2, 4) == 1.0, "n-c < k gives 1");
    CK(met_pass_at_k(10, 0, 5) == 0.0, "no correct sample gives 0");
    CK(met_pass_at_k(16, 16, 16) == 1.0, "all correct");
    /* n=200, c=3, k=100: 1 - C(197,100)/C(200,100) = 1 - (100*99*98)/(200*199*198) */
    CK(fabs(met_pass_at_k(200, 3, 100) - (1 - 100.0 * 99 * 98 / (200.0 * 199 * 198))) < 1e-12,
       "n=200 %g", met_pass_at_k(200, 3, 100));
    CK(met_pass_at_k(3, 1, 4) < 0 && met_pass_at_k(3, 1, 0) < 0, "n < k or k < 1 is -1");
    ck_end();
}

static void test_majority(void)
{
    ck_begin("maj@k: equivalence classes, ties to the earliest first member, no-answer dropped");
    const char *a1[] = {"6", "5", "\\frac{10}{2}", NULL, "6"};
    int c1[] = {0, 1, 1, 0, 0}, rep;
    /* groups {6: 0,4} and {5: 1,2} tie at 2; the 6 group's first member comes first */
    CK(met_majority(a1, c1, 5, 0, &rep) == 0 && rep == 0, "tie: rep %d", rep);
    const char *a2[] = {"7", "5", "10/2", NULL, NULL};
    int c2[] = {0, 1, 1, 0, 0};
    CK(met_majority(a2, c2, 5, 0, &rep) == 1 && rep == 1, "5 == 10/2 wins: rep %d", rep);
    const char *a3[] = {NULL, NULL};
    int c3[] = {0, 0};
    CK(met_majority(a3, c3, 2, 0, &rep) == 0 && rep == -1, "no answers: rep %d", rep);
    const char *a4[] = {"1,2", "2,1", "3"};
    int c4[] = {1, 1, 0};
    CK(met_majority(a4, c4, 3, 1, &rep) == 1 && rep == 0, "lists compare unordered: rep %d",
       rep);
    ck_end();
}

static void test_bootstrap(void)
{
    ck_begin("bootstrap CI: seeded, contains the mean, degenerate data gives a point");
    double x[6] = {0, 1, 1, 0, 1, 1}, lo, hi, lo2, hi2;
    met_bootstrap(x, 6, 1000, 42, 0.95, &lo, &hi);
    met_bootstrap(x, 6, 1000, 42, 0.95, &lo2, &hi2);
    CK(lo == lo2 && hi == hi2, "not reproducible");
    double m = met_mean(x, 6);
    CK(near(m, 4.0 / 6) && lo <= m && m <= hi && lo >= 0 && hi <= 1 && lo < hi,
       "mean %g in [%g, %g]", m, lo, hi);
    double y[4] = {0.5, 0.5, 0.5, 0.5};
    met_bootstrap(y, 4, 500, 1, 0.95, &lo, &hi);
    CK(lo == 0.5 && hi == 0.5, "constant: [%g, %g]", lo, hi);
    ck_end();
}

static void test_rounds(void)
{
    ck_begin("per-round metrics of a tiny hand-computed run");
    /* P1 r0: correct 1,0 (answers 3, 7), tokens 10,20; r1: 1,1 (3, 3), tokens 5,5
     * P2 r0: 0,0 (8, 9), tokens 30,40, one truncated; r1: 1 (4), no answer; tokens 1,2 */
    met_sample s[] = {
        {"p1", 0, 1, "3", 0, 10, 0}, {"p1", 0, 0, "7", 0, 20, 0},
        {"p1", 1, 1, "3", 0, 5, 0},  {"p1", 1, 1, "3", 0, 5, 0},
        {"p2", 0, 0, "8", 0, 30, 1}, {"p2", 0, 0, "9", 0, 40, 0},
        {"p2", 1, 1, "4", 0, 1, 0},  {"p2", 1, 0, NULL, 0, 2, 0},
    };
    met_round r[2];
    CK(met_rounds(s, 8, 2, 7, r) == 0, "failed");
    CK(r[0].problems == 2 && r[0].n_min == 2 && r[0].samples == 4 && r[0].graded == 4,
       "counts %d %d %d", r[0].problems, r[0].n_min, r[0].samples);
    CK(near(r[0].avg, 0.25) && near(r[1].avg, 0.75), "avg %g %g", r[0].avg, r[1].avg);
    CK(near(r[0].maj, 0.5) && near(r[1].maj, 1.0), "maj %g %g", r[0].maj, r[1].maj);
    CK(near(r[0].pass_n, 0.5) && near(r[1].pass_n, 1.0), "pass %g %g", r[0].pass_n, r[1].pass_n);
    CK(near(r[0].trunc_rate, 0.25) && near(r[1].trunc_rate, 0), "trunc");
    CK(near(r[0].no_answer_rate, 0) && near(r[1].no_answer_rate, 0.25), "no answer %g",
       r[1].no_answer_rate);
    /* D(q): P1 30 then 40; P2 70 then 73 -> means 50 / 56.5; per round 50 / 6.5 */
    CK(near(r[0].tokens_round, 50) && near(r[1].tokens_round, 6.5), "tokens per round %g %g",
       r[0].tokens_round, r[1].tokens_round);
    CK(near(r[0].tokens_cum, 50) && near(r[1].tokens_cum, 56.5), "D(q) %g %g", r[0].tokens_cum,
       r[1].tokens_cum);
    CK(r[1].avg_lo <= 0.75 && r[1].avg_hi >= 0.75, "CI [%g, %g]", r[1].avg_lo, r[1].avg_hi);
    ck_end();

    ck_begin("ungraded samples (correct NULL) do not count as wrong");
    met_sample u[] = {{"p", 0, -1, NULL, 0, 3, 0}, {"p", 0, 1, "2", 0, 3, 0}};
    CK(met_rounds(u, 2, 1, 1, r) == 0 && near(r[0].avg, 1.0) && r[0].graded == 1 &&
       r[0].samples == 2, "avg %g graded %d", r[0].avg, r[0].graded);
    ck_end();
}

static void test_groups(void)
{
    ck_begin("met_groups: problems grouped by label in the order of their records, a missing "
             "label as (none)");
    /* records: problem 1 first (no label), then 3, 0 ("b"), then 2 ("a") */
    char *labels[4] = {"b", NULL, "a", "b"};
    int order[4] = {2, 0, 3, 1}, gof[4] = {-1, -1, -1, -1}, ng = 0;
    char **v = NULL;
    int rc = met_groups(labels, order, 4, &v, &ng, gof);
    CK(rc == 0 && ng == 3 && !strcmp(v[0], "(none)") && !strcmp(v[1], "b") &&
           !strcmp(v[2], "a") && gof[0] == 1 && gof[1] == 0 && gof[2] == 2 && gof[3] == 1,
       "rc %d, %d groups, gof %d %d %d %d", rc, ng, gof[0], gof[1], gof[2], gof[3]);
    met_groups_free(v, ng);
    CK(met_groups(labels, order, 0, &v, &ng, gof) == 0 && ng == 0, "no problems: %d groups", ng);
    met_groups_free(v, ng);
    ck_end();
}

int main(void)
{
    test_pass_at_k();
    test_majority();
    test_bootstrap();
    test_rounds();
    test_groups();
    math_extract_cleanup();
    return ck_status();
}
