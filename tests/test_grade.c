/*
 * test_grade.c — whole verdicts (../shared/spec/grading.md, A.2 and A.3):
 * the "our rule" column of A.2 row by row, the Step 4 examples, the case
 * corpus in tests/data/math_corpus.jsonl through the real `zeval grade`,
 * and every AIME / HMMT gold answer of ../shared/datasets against itself
 * written three other ways and against near misses.
 */
#include "check.h"
#include "../graders/math_expr.h"
#include "../graders/math_grade.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const math_gold_spec INTEGER = {MA_INTEGER, 0, 0, 0};
static const math_gold_spec AIME = {MA_INTEGER, 1, 0, 999};
static const math_gold_spec EXPR = {MA_EXPRESSION, 0, 0, 0};
static const math_gold_spec LIST = {MA_LIST, 0, 0, 0};

/* Grades and checks the verdict and reason; extracted is checked when not
 * NULL ("" means: no extraction expected). */
static void expect(const char *response, const char *gold, const math_gold_spec *spec,
                   int correct, math_reason reason, const char *extracted)
{
    math_verdict v;
    if (math_grade(response, strlen(response), gold, spec, &v)) {
        CK(0, "math_grade failed");
        return;
    }
    CK(v.correct == correct && v.reason == reason,
       "response %.80s / gold %s: got correct=%d reason=%s (extracted '%s', normalized '%s'%s%s), "
       "want correct=%d reason=%s",
       response, gold, v.correct, math_reason_name(v.reason), v.extracted ? v.extracted : "(null)",
       v.normalized ? v.normalized : "(null)", v.detail ? ", " : "", v.detail ? v.detail : "",
       correct, math_reason_name(reason));
    if (extracted) {
        const char *got = v.extracted ? v.extracted : "";
        CK(strcmp(got, extracted) == 0, "extracted '%s', want '%s'", got, extracted);
    }
    math_verdict_free(&v);
}

static void spec_table_rows(void)
{
    ck_begin("A.2: last \\boxed{ unterminated (truncated) -> no answer");
    expect("So \\boxed{12} is a candidate. Checking again, the answer is \\boxed{12", "12", &AIME, 0,
           MR_TRUNCATED_BOX, "");
    ck_end();

    ck_begin("A.2: no box, \"Final Answer: 70\" -> accept marker");
    expect("We sum the bases 21 and 49.\n\nFinal Answer: 70", "70", &AIME, 1, MR_OK, "70");
    ck_end();

    ck_begin("A.2: no box, no marker, number at the end -> no answer");
    expect("Adding the two bases gives 21 + 49 = 70", "70", &AIME, 0, MR_NO_ANSWER, "");
    ck_end();

    ck_begin("A.2: two different boxes on the final line, single-answer problem -> wrong (hedge)");
    expect("It is either \\boxed{12} or \\boxed{13}.", "12", &AIME, 0, MR_HEDGE, NULL);
    expect("The answer is \\boxed{12}, i.e. \\boxed{012}.", "12", &AIME, 1, MR_OK, NULL);
    ck_end();

    ck_begin("A.2: \\text{204} -> kept");
    expect("Therefore \\boxed{\\text{204}}", "204", &AIME, 1, MR_OK, "\\text{204}");
    ck_end();

    ck_begin("A.2: 0.25 for gold 25 -> wrong");
    expect("\\boxed{0.25}", "25", &INTEGER, 0, MR_WRONG, "0.25");
    expect("\\boxed{0.25}", "25", &EXPR, 0, MR_WRONG, "0.25");
    ck_end();

    ck_begin("A.2: only one of two required values -> wrong");
    expect("\\boxed{\\frac{-1+\\sqrt{17}}{2}}", "\\frac{-1+\\sqrt{17}}{2}, \\frac{-1-\\sqrt{17}}{2}",
           &LIST, 0, MR_WRONG, NULL);
    expect("\\boxed{\\frac{-1-\\sqrt{17}}{2}, \\frac{-1+\\sqrt{17}}{2}}",
           "\\frac{-1+\\sqrt{17}}{2}, \\frac{-1-\\sqrt{17}}{2}", &LIST, 1, MR_OK, NULL);
    ck_end();
}

static void step4_examples(void)
{
    ck_begin("A.3 Step 4: integer answers 025, 25.0, 12+13, 5^2 equal 25");
    expect("\\boxed{025}", "25", &AIME, 1, MR_OK, "025");
    expect("\\boxed{25.0}", "25", &AIME, 1, MR_OK, NULL);
    expect("\\boxed{12+13}", "25", &AIME, 1, MR_OK, NULL);
    expect("\\boxed{5^2}", "25", &AIME, 1, MR_OK, NULL);
    ck_end();

    ck_begin("A.3 Step 4: non-integers and decimals with a non-zero fraction are wrong");
    expect("\\boxed{25.5}", "25", &AIME, 0, MR_WRONG, NULL);
    expect("\\boxed{\\frac{51}{2}}", "25", &AIME, 0, MR_WRONG, NULL);
    ck_end();

    ck_begin("A.3 Step 4: the 0-999 range applies only where declared (HMMT 3375, -984)");
    expect("\\boxed{3375}", "3375", &INTEGER, 1, MR_OK, NULL);
    expect("\\boxed{-984}", "-984", &INTEGER, 1, MR_OK, NULL);
    expect("\\boxed{1000}", "1000", &AIME, 0, MR_WRONG, NULL);
    expect("\\boxed{3375}", "3375", &AIME, 0, MR_WRONG, NULL);
    ck_end();

    ck_begin("A.3 Step 4: 0.3634 for 1-\\frac{2}{\\pi} and 1.877 for \\frac{9\\sqrt{23}}{23} fail");
    expect("\\boxed{0.3634}", "1-\\frac{2}{\\pi}", &EXPR, 0, MR_WRONG, NULL);
    expect("\\boxed{1.877}", "\\frac{9\\sqrt{23}}{23}", &EXPR, 0, MR_WRONG, NULL);
    ck_end();

    ck_begin("A.3 Step 4: \\frac{\\pi-2}{\\pi}, 9/\\sqrt{23}, \\frac{2622}{4034} (unreduced) pass");
    expect("\\boxed{\\frac{\\pi-2}{\\pi}}", "1-\\frac{2}{\\pi}", &EXPR, 1, MR_OK, NULL);
    expect("\\boxed{9/\\sqrt{23}}", "\\frac{9\\sqrt{23}}{23}", &EXPR, 1, MR_OK, NULL);
    expect("\\boxed{\\frac{2622}{4034}}", "\\frac{1311}{2017}", &EXPR, 1, MR_OK, NULL);
    ck_end();

    ck_begin("A.3 Step 4: the fully expanded integer for 2^{25}\\cdot 26! passes");
    expect("\\boxed{13532215908553332190020108288000000}", "2^{25} \\cdot 26!", &EXPR, 1, MR_OK,
           NULL);
    expect("\\boxed{13532215908553332190020108288000001}", "2^{25} \\cdot 26!", &EXPR, 0, MR_WRONG,
           NULL);
    ck_end();

    ck_begin("A.3 Step 3: mixed number 149\\frac{1}{3} is 149 + 1/3; \\pm is two values");
    expect("\\boxed{149\\frac{1}{3}}", "\\frac{448}{3}", &EXPR, 1, MR_OK, NULL);
    expect("\\boxed{1 \\pm \\sqrt{2}}", "1+\\sqrt{2}", &EXPR, 0, MR_WRONG, NULL);
    expect("\\boxed{1 \\pm \\sqrt{2}}", "1+\\sqrt{2}, 1-\\sqrt{2}", &LIST, 1, MR_OK, NULL);
    ck_end();

    ck_begin("A.3 Step 4: anything that fails to parse is wrong (parse_error), never a crash");
    expect("\\boxed{x^2+}", "4", &INTEGER, 0, MR_PARSE_ERROR, NULL);
    expect("\\boxed{4}", "\\frac{1}{", &EXPR, 0, MR_PARSE_ERROR, NULL);
    ck_end();
}

/* ---- the corpus, through the real binary ---- */

static void corpus(void)
{
    const char *path = "tests/data/math_corpus.jsonl";
    char out[512], err[4096];
    snprintf(out, sizeof out, "%s/graded.jsonl", ck_tmpdir());
    char *argv[] = {(char *)ck_zeval(), "grade", "--jsonl", (char *)path, NULL};
    int rc = ck_run(argv, out, err, sizeof err);
    size_t n;
    char *in = ck_slurp(path, &n), *got = ck_slurp(out, NULL);

    const char *codes[] = {"ok", "no_answer", "truncated_box", "unclosed_think",
                           "hedge", "parse_error", "wrong"};
    int total = 0;
    for (size_t c = 0; c < sizeof codes / sizeof *codes; c++) {
        ck_begin("corpus (tests/data/math_corpus.jsonl): every case expecting '%s'", codes[c]);
        CK(rc == 0, "zeval grade exited %d: %s", rc, err);
        CK(in && got, "cannot read the corpus or the output");
        int cases = 0, fails = 0;
        char *ip = in, *op = got;
        while (in && got && *ip) {
            char *ie = strchr(ip, '\n'), *oe = strchr(op, '\n');
            if (ie)
                *ie = 0;
            if (oe)
                *oe = 0;
            cJSON *want = cJSON_Parse(ip), *have = cJSON_Parse(op);
            const cJSON *wr = cJSON_GetObjectItem(want, "reason");
            if (want && cJSON_IsString(wr) && strcmp(wr->valuestring, codes[c]) == 0) {
                cases++;
                const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(want, "id"));
                const cJSON *hr = cJSON_GetObjectItem(have, "reason");
                const cJSON *wc = cJSON_GetObjectItem(want, "correct");
                const cJSON *hc = cJSON_GetObjectItem(have, "correct");
                const cJSON *hid = cJSON_GetObjectItem(have, "id");
                int ok = have && cJSON_IsString(hid) && strcmp(hid->valuestring, id) == 0 &&
                         cJSON_IsString(hr) && strcmp(hr->valuestring, codes[c]) == 0 &&
                         cJSON_IsBool(hc) && cJSON_IsTrue(hc) == cJSON_IsTrue(wc);
                const cJSON *wx = cJSON_GetObjectItem(want, "extracted");
                const cJSON *hx = cJSON_GetObjectItem(have, "extracted");
                if (ok && wx) {
                    if (cJSON_IsNull(wx))
                        ok = cJSON_IsNull(hx);
                    else
                        ok = cJSON_IsString(hx) && strcmp(hx->valuestring, wx->valuestring) == 0;
                }
                if (!ok && ++fails <= 10) {
                    const cJSON *hn = cJSON_GetObjectItem(have, "normalized");
                    CK(0, "%s: got reason %s correct %d extracted '%s' normalized '%s'", id,
                       cJSON_IsString(hr) ? hr->valuestring : "?", cJSON_IsTrue(hc),
                       cJSON_IsString(hx) ? hx->valuestring : "null",
                       cJSON_IsString(hn) ? hn->valuestring : "null");
                }
            }
            cJSON_Delete(want);
            cJSON_Delete(have);
            if (ie)
                *ie = '\n';
            if (oe)
                *oe = '\n';
            ip = ie ? ie + 1 : ip + strlen(ip);
            op = oe ? oe + 1 : op + strlen(op);
        }
        CK(cases >= 8, "only %d cases expect '%s'", cases, codes[c]);
        CK(fails == 0, "%d of %d cases wrong", fails, cases);
        total += cases;
        ck_end();
    }
    ck_begin("corpus: at least 200 cases, one output line per input line");
    CK(total >= 200, "%d cases", total);
    int lines_in = 0, lines_out = 0;
    for (char *p = in; p && *p; p++)
        lines_in += *p == '\n';
    for (char *p = got; p && *p; p++)
        lines_out += *p == '\n';
    CK(lines_in == lines_out && lines_in == total, "%d input lines, %d output lines, %d cases",
       lines_in, lines_out, total);
    ck_end();
    free(in);
    free(got);
}

static void cli_errors(void)
{
    ck_begin("cli: a malformed line is named by its line number; the other lines are graded");
    const char *d = ck_tmpdir();
    char in[512], out[512], err[4096];
    snprintf(in, sizeof in, "%s/in.jsonl", d);
    snprintf(out, sizeof out, "%s/out.jsonl", d);
    const char *text =
        "{\"response\": \"\\\\boxed{70}\", \"gold\": \"70\", \"answer_type\": \"integer\", "
        "\"integer_range\": [0, 999], \"id\": 1}\n"
        "{\"response\": \"\\\\boxed{70}\", \"gold\": \"70\"\n"
        "\n"
        "{\"response\": \"\\\\boxed{7}\", \"gold\": \"70\", \"answer_type\": \"number\"}\n"
        "{\"response\": \"x \\\\boxed{\\\\frac{1}{2}}\", \"gold\": \"0.5\", \"answer_type\": "
        "\"expression\", \"id\": 5}\n"
        /* numbers no integer type holds (an undefined conversion before) */
        "{\"response\": \"\\\\boxed{7}\", \"gold\": \"7\", \"answer_type\": \"integer\", "
        "\"integer_range\": [-1e300, 9]}\n"
        "{\"response\": \"\\\\boxed{7}\", \"gold\": 9.3e18}\n";
    ck_write(in, text, strlen(text));
    char *argv[] = {(char *)ck_zeval(), "grade", "--jsonl", in, NULL};
    int rc = ck_run(argv, out, err, sizeof err);
    char *got = ck_slurp(out, NULL);
    CK(rc == 1, "exit %d, want 1", rc);
    CK(strstr(err, "in.jsonl:2: malformed JSON") != NULL, "stderr: %s", err);
    CK(strstr(err, "in.jsonl:4: field 'answer_type'") != NULL, "stderr: %s", err);
    CK(strstr(err, "in.jsonl:6: field 'integer_range'") != NULL, "stderr: %s", err);
    CK(strstr(err, "in.jsonl:7: field 'gold'") != NULL, "stderr: %s", err);
    CK(got && strstr(got, "\"id\":1,\"extracted\":\"70\",\"normalized\":\"70\",\"correct\":true,"
                          "\"reason\":\"ok\"}\n") != NULL,
       "output: %s", got ? got : "(none)");
    CK(got && strstr(got, "\"id\":5,\"extracted\":\"\\\\frac{1}{2}\"") != NULL &&
           strstr(got, "\"correct\":true") != NULL,
       "output: %s", got ? got : "(none)");
    free(got);
    ck_rmtree(d);
    ck_end();
}

/* ---- every AIME / HMMT gold against three rewritings and near misses ---- */

static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, f, ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s)
        vsnprintf(s, (size_t)n + 1, f, aq);
    va_end(aq);
    va_end(ap);
    return s;
}

/* Rewrites every "\frac{A}{B}" of s as "(A)/(B)" (top level of each
 * argument only; nested fracs keep their form). */
static char *frac_to_slash(const char *s)
{
    size_t n = strlen(s);
    char *o = malloc(4 * n + 16), *w = o;
    for (size_t i = 0; i < n;) {
        if (strncmp(s + i, "\\frac{", 6) == 0) {
            size_t a0 = i + 6, a1 = a0;
            for (int dep = 1; a1 < n; a1++) {
                dep += s[a1] == '{';
                dep -= s[a1] == '}';
                if (!dep)
                    break;
            }
            if (a1 + 1 < n && s[a1 + 1] == '{') {
                size_t b0 = a1 + 2, b1 = b0;
                for (int dep = 1; b1 < n; b1++) {
                    dep += s[b1] == '{';
                    dep -= s[b1] == '}';
                    if (!dep)
                        break;
                }
                if (b1 < n) {
                    w += sprintf(w, "(%.*s)/(%.*s)", (int)(a1 - a0), s + a0, (int)(b1 - b0),
                                 s + b0);
                    i = b1 + 1;
                    continue;
                }
            }
        }
        *w++ = s[i++];
    }
    *w = 0;
    return o;
}

/* Appends one form per slot: correct forms and near misses for gold g. */
typedef struct {
    char *form[8];
    int nform;
    char *miss[8];
    int nmiss;
} variants;

static void add(char **v, int *n, char *s)
{
    if (s && *n < 8)
        v[(*n)++] = s;
    else
        free(s);
}

static void integer_variants(const char *dec, variants *v)
{
    long long x = strtoll(dec, NULL, 10);
    /* leading zeros, an expanded sum, an unreduced \dfrac, and a power or
     * product where the value has one */
    add(v->form, &v->nform, x >= 0 ? fmt("00%lld", x) : fmt("-0%lld", -x));
    add(v->form, &v->nform, fmt("%lld + %lld", x - 7, 7LL));
    add(v->form, &v->nform, fmt("\\dfrac{%lld}{6}", 6 * x));
    long long r = 2;
    while (r * r < (x < 0 ? -x : x))
        r++;
    if (r * r == (x < 0 ? -x : x))
        add(v->form, &v->nform, fmt("%s%lld^2", x < 0 ? "-" : "", r));
    else
        add(v->form, &v->nform, fmt("%lld.000", x));
    add(v->miss, &v->nmiss, fmt("%lld", x + 1));
    add(v->miss, &v->nmiss, fmt("%lld", x - 1));
    add(v->miss, &v->nmiss, fmt("%lld.5", x));
    add(v->miss, &v->nmiss, fmt("%lld", -x - 1));
}

static void expression_variants(const char *g, const mx_expr *e, variants *v)
{
    char *slash = frac_to_slash(g);
    add(v->form, &v->nform, fmt("\\dfrac{2\\left(%s\\right)}{2}", g));      /* unreduced */
    add(v->form, &v->nform, slash);                                          /* \frac -> / */
    add(v->form, &v->nform, fmt("3 \\cdot (%s) - 2(%s)", g, g));             /* expanded */
    add(v->form, &v->nform, fmt("\\frac{(%s)^2}{%s}", g, g));                /* a power */
    char *canon = mx_canonical(e);
    if (canon && strchr(canon, 'e')) {
        /* irrational: a decimal approximation to 12 significant digits */
        double x = strtod(canon, NULL), ax = x < 0 ? -x : x;
        int before = ax >= 1 ? (int)log10(ax) + 1 : 0;
        int after = 12 - before > 0 ? 12 - before : 0;
        if (ax < 1 && ax > 0)
            after = 12 - (int)floor(log10(ax));
        add(v->miss, &v->nmiss, fmt("%.*f", after, x));
    }
    free(canon);
    add(v->miss, &v->nmiss, fmt("%s + \\frac{1}{1000}", g));
    add(v->miss, &v->nmiss, fmt("2(%s)", g));
}

static void dataset_golds(const char *file)
{
    ck_begin("%s: each gold right in three other forms, wrong against near misses", file);
    char rel[256];
    snprintf(rel, sizeof rel, "datasets/math/%s", file);
    size_t n;
    char *text = ck_slurp(ck_shared(rel), &n);
    CK(text != NULL, "cannot read %s", ck_shared(rel));
    int golds = 0, checked = 0;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        cJSON *o = cJSON_Parse(line);
        const char *g = cJSON_GetStringValue(cJSON_GetObjectItem(o, "answer"));
        int type = math_answer_type_parse(
            cJSON_GetStringValue(cJSON_GetObjectItem(o, "answer_type")));
        const cJSON *range = cJSON_GetObjectItem(o, "integer_range");
        CK(g && type >= 0, "line without answer/answer_type: %.80s", line);
        if (g && type >= 0) {
            math_gold_spec spec = {(math_answer_type)type, 0, 0, 0};
            if (cJSON_GetArraySize(range) == 2) {
                spec.has_range = 1;
                spec.range_lo = (long long)cJSON_GetArrayItem(range, 0)->valuedouble;
                spec.range_hi = (long long)cJSON_GetArrayItem(range, 1)->valuedouble;
            } else if (strncmp(file, "aime", 4) == 0) {
                spec = AIME; /* the AIME sets declare 0-999 (the registry says so) */
            }
            variants v = {0};
            char *norm = math_normalize(g, strlen(g), type == MA_LIST);
            char perr[256];
            mx_expr *e = type == MA_LIST ? NULL : mx_parse(norm, strlen(norm), perr, sizeof perr);
            char *dec = NULL;
            if (type == MA_LIST) {
                char **el;
                size_t ne;
                math_split(norm, 1, &el, &ne);
                /* reversed order, each element rewritten without \frac */
                char *rev = fmt("%s", ""), *sl = NULL;
                for (size_t i = ne; i-- > 0;) {
                    char *t = fmt("%s%s%s", rev, *rev ? ", " : "", el[i]);
                    free(rev);
                    rev = t;
                }
                sl = frac_to_slash(norm);
                add(v.form, &v.nform, rev);
                add(v.form, &v.nform, sl);
                add(v.form, &v.nform, fmt("\\left\\{%s\\right\\}", norm));
                add(v.miss, &v.nmiss, fmt("%s", el[0]));
                add(v.miss, &v.nmiss, fmt("%s, %s, 0", el[0], el[ne > 1 ? 1 : 0]));
                math_strings_free(el, ne);
            } else if (!e) {
                CK(0, "gold '%s' does not parse: %s", g, perr);
            } else if (type == MA_INTEGER || mx_integer(e, &dec) == 1) {
                char *d2 = NULL;
                if (!dec && mx_integer(e, &d2) == 1)
                    dec = d2;
                if (dec && strlen(dec) < 15)
                    integer_variants(dec, &v);
                else
                    expression_variants(norm, e, &v);
            } else {
                expression_variants(norm, e, &v);
            }
            free(dec);
            mx_free(e);
            free(norm);
            golds++;
            for (int i = 0; i < v.nform; i++) {
                char *resp = fmt("</think>\nSo the answer is $\\boxed{%s}$.", v.form[i]);
                math_verdict r;
                math_grade(resp, strlen(resp), g, &spec, &r);
                CK(r.correct, "gold %s: '%s' graded %s (%s)", g, v.form[i],
                   math_reason_name(r.reason), r.detail ? r.detail : "");
                checked++;
                math_verdict_free(&r);
                free(resp);
            }
            for (int i = 0; i < v.nmiss; i++) {
                char *resp = fmt("**Final Answer**\n\\[\n\\boxed{%s}\n\\]", v.miss[i]);
                math_verdict r;
                math_grade(resp, strlen(resp), g, &spec, &r);
                CK(!r.correct, "gold %s: near miss '%s' graded correct", g, v.miss[i]);
                checked++;
                math_verdict_free(&r);
                free(resp);
            }
            CK(v.nform >= 3 && v.nmiss >= 2, "gold %s: %d forms, %d misses", g, v.nform, v.nmiss);
            for (int i = 0; i < v.nform; i++)
                free(v.form[i]);
            for (int i = 0; i < v.nmiss; i++)
                free(v.miss[i]);
        }
        cJSON_Delete(o);
        line = nl ? nl + 1 : line + strlen(line);
    }
    CK(golds >= 15, "only %d golds", golds);
    printf("# %s: %d golds, %d gradings\n", file, golds, checked);
    free(text);
    ck_end();
}

int main(void)
{
    spec_table_rows();
    step4_examples();
    corpus();
    cli_errors();
    const char *sets[] = {"aime_2024.jsonl",     "aime_2025.jsonl",     "aime_2026.jsonl",
                          "hmmt_feb_2025.jsonl", "hmmt_feb_2026.jsonl", "hmmt_nov_2025.jsonl"};
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++)
        dataset_golds(sets[i]);
    return ck_status();
}
