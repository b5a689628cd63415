/*
 * test_math_extract.c — answer extraction and normalization for math
 * responses, case by case from ../shared/spec/grading.md Part A (A.2's
 * "our rule" column and every A.3 example), then hostile inputs: random
 * bytes, brace soup and megabytes of `\boxed{` finish quickly and cleanly.
 */
#include "check.h"
#include "../graders/math_extract.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU seconds of this process (not wall time: a loaded machine does not
 * move it). */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static const char *show(const char *s)
{
    return s ? s : "(null)";
}

/* Extraction of resp: reason, extracted (NULL: expect none). */
static void ext_case(const char *name, const char *resp, int list, math_reason want,
                     const char *want_text)
{
    ck_begin("%s", name);
    math_extraction x;
    int rc = math_extract(resp, strlen(resp), list, &x);
    CK(rc == 0, "math_extract returned %d", rc);
    CK(x.reason == want, "reason %s, want %s", math_reason_name(x.reason), math_reason_name(want));
    if (want_text)
        CK(x.extracted && strcmp(x.extracted, want_text) == 0, "extracted \"%s\", want \"%s\"",
           show(x.extracted), want_text);
    else
        CK(x.extracted == NULL, "extracted \"%s\", want none", show(x.extracted));
    math_extraction_free(&x);
    ck_end();
}

/* Line boxes of resp must be exactly the n given strings. */
static void boxes_case(const char *name, const char *resp, int list, const char *want_text,
                       size_t n, const char *const *want)
{
    ck_begin("%s", name);
    math_extraction x;
    math_extract(resp, strlen(resp), list, &x);
    CK(x.reason == MR_OK, "reason %s", math_reason_name(x.reason));
    CK(x.extracted && strcmp(x.extracted, want_text) == 0, "extracted \"%s\", want \"%s\"",
       show(x.extracted), want_text);
    CK(x.n_line_boxes == n, "%zu line boxes, want %zu", x.n_line_boxes, n);
    for (size_t i = 0; i < n && i < x.n_line_boxes; i++)
        CK(strcmp(x.line_boxes[i], want[i]) == 0, "box %zu \"%s\", want \"%s\"", i,
           x.line_boxes[i], want[i]);
    math_extraction_free(&x);
    ck_end();
}

static void norm_case(const char *name, const char *in, int list, const char *want)
{
    ck_begin("%s", name);
    char *s = math_normalize(in, strlen(in), list);
    CK(s && strcmp(s, want) == 0, "normalize(\"%s\") = \"%s\", want \"%s\"", in, show(s), want);
    free(s);
    ck_end();
}

/* Normalize, then split; want is n strings. */
static void split_case(const char *name, const char *in, int list, size_t n,
                       const char *const *want)
{
    ck_begin("%s", name);
    char *s = math_normalize(in, strlen(in), list);
    char **v = NULL;
    size_t k = 0;
    CK(s != NULL, "normalize failed");
    int rc = math_split(s, list, &v, &k);
    CK(rc == 0, "math_split returned %d", rc);
    CK(k == n, "\"%s\" -> %zu elements, want %zu", show(s), k, n);
    for (size_t i = 0; i < n && i < k; i++)
        CK(strcmp(v[i], want[i]) == 0, "element %zu \"%s\", want \"%s\"", i, v[i], want[i]);
    math_strings_free(v, k);
    free(s);
    ck_end();
}

#define L(...) ((const char *const[]){__VA_ARGS__})
#define NL(...) (sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)), L(__VA_ARGS__)

/* Exercises every entry point on s[0..n); must not crash. */
static void chew(const char *s, size_t n)
{
    for (int list = 0; list < 2; list++) {
        math_extraction x;
        if (math_extract(s, n, list, &x) == 0) {
            if (x.extracted) {
                char *z = math_normalize(x.extracted, strlen(x.extracted), list);
                char **v;
                size_t k;
                if (z && math_split(z, list, &v, &k) == 0)
                    math_strings_free(v, k);
                free(z);
            }
            math_extraction_free(&x);
        }
        char *z = math_normalize(s, n, list);
        char **v;
        size_t k;
        if (z && math_split(z, list, &v, &k) == 0)
            math_strings_free(v, k);
        free(z);
    }
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A big input: piece repeated to about n bytes (malloc'd). */
static char *repeat(const char *head, const char *piece, size_t n, const char *tail, size_t *len)
{
    size_t hp = strlen(head), pp = strlen(piece), tp = strlen(tail);
    size_t reps = n / pp;
    char *s = malloc(hp + reps * pp + tp + 1);
    memcpy(s, head, hp);
    for (size_t i = 0; i < reps; i++)
        memcpy(s + hp + i * pp, piece, pp);
    memcpy(s + hp + reps * pp, tail, tp + 1);
    *len = hp + reps * pp + tp;
    return s;
}

/* Extraction on a huge input: the given reason, and no blow-up.  The
 * bound is a hang guard, not a speed target (those live in bench/): work
 * quadratic in 1 MB would take hours, the linear scans take a fraction of
 * a second even under ASan. */
static void big_case(const char *name, const char *head, const char *piece, const char *tail,
                     math_reason want)
{
    ck_begin("%s", name);
    size_t n;
    char *s = repeat(head, piece, 1 << 20, tail, &n);
    double t0 = now();
    math_extraction x;
    CK(math_extract(s, n, 0, &x) == 0, "math_extract failed");
    CK(x.reason == want, "reason %s, want %s", math_reason_name(x.reason), math_reason_name(want));
    math_extraction_free(&x);
    math_extract(s, n, 1, &x);
    math_extraction_free(&x);
    char *z = math_normalize(s, n, 0);
    char **v;
    size_t k;
    if (z && math_split(z, 1, &v, &k) == 0)
        math_strings_free(v, k);
    free(z);
    z = math_normalize(s, n, 1);
    if (z && math_split(z, 1, &v, &k) == 0)
        math_strings_free(v, k);
    free(z);
    double dt = now() - t0;
    CK(dt < 60.0, "took %.2f CPU seconds on %zu bytes: a blow-up", dt, n);
    free(s);
    ck_end();
}

int main(void)
{
    /* ---- reason codes */
    ck_begin("reason codes are grading.md's: ok no_answer truncated_box unclosed_think hedge "
             "parse_error wrong");
    CK(!strcmp(math_reason_name(MR_OK), "ok"), "ok");
    CK(!strcmp(math_reason_name(MR_NO_ANSWER), "no_answer"), "no_answer");
    CK(!strcmp(math_reason_name(MR_TRUNCATED_BOX), "truncated_box"), "truncated_box");
    CK(!strcmp(math_reason_name(MR_UNCLOSED_THINK), "unclosed_think"), "unclosed_think");
    CK(!strcmp(math_reason_name(MR_HEDGE), "hedge"), "hedge");
    CK(!strcmp(math_reason_name(MR_PARSE_ERROR), "parse_error"), "parse_error");
    CK(!strcmp(math_reason_name(MR_WRONG), "wrong"), "wrong");
    ck_end();

    /* ---- Step 0 */
    ext_case("Step 0: grade only the text after the last </think>",
             "<think>maybe \\boxed{1}</think> hmm </think> so \\boxed{2}", 0, MR_OK, "2");
    ext_case("Step 0: a box inside the reasoning block is not graded",
             "<think>so \\boxed{7}</think>\nI am not sure.", 0, MR_NO_ANSWER, NULL);
    ext_case("Step 0: <think> but no </think> -> no answer (unclosed_think)",
             "<think>Let me compute... \\boxed{5}", 0, MR_UNCLOSED_THINK, NULL);
    ext_case("Step 0: responses without think tags are graded whole",
             "We compute.\nThus \\boxed{204}.", 0, MR_OK, "204");

    /* ---- Step 1 */
    ext_case("Step 1: the last \\boxed wins", "First \\boxed{12}.\nOn reflection \\boxed{13}.", 0,
             MR_OK, "13");
    ext_case("Step 1: \\fbox counts like \\boxed", "\\boxed{1}\nfinally \\fbox{3}", 0, MR_OK, "3");
    ext_case("A.2: last \\boxed{ unterminated (truncated) -> no answer, no earlier box",
             "So \\boxed{12}.\nWait, recheck: \\boxed{13", 0, MR_TRUNCATED_BOX, NULL);
    ext_case("Step 1: braces never close -> truncated_box",
             "\\boxed{\\frac{1}{2}", 0, MR_TRUNCATED_BOX, NULL);
    ext_case("Step 1: \\boxed at the very end is truncated", "the answer is \\boxed", 0,
             MR_TRUNCATED_BOX, NULL);
    ext_case("Step 1: nested braces are counted", "\\boxed{\\frac{1}{\\sqrt{2}}}", 0, MR_OK,
             "\\frac{1}{\\sqrt{2}}");
    ext_case("Step 1: escaped \\{ \\} do not count", "\\boxed{\\{1, 2\\}}", 1, MR_OK,
             "\\{1, 2\\}");
    ext_case("Step 1: an escaped \\} does not close the box", "\\boxed{a\\}", 0,
             MR_TRUNCATED_BOX, NULL);
    ext_case("Step 1: content empty -> no answer", "so \\boxed{}", 0, MR_NO_ANSWER, NULL);
    ext_case("Step 1: content only whitespace -> no answer", "so \\boxed{  \n }", 0,
             MR_NO_ANSWER, NULL);
    ext_case("Step 1: \\boxed 5 (space form): next token up to whitespace",
             "The answer is \\boxed 5 as shown", 0, MR_OK, "5");
    ext_case("Step 1: \\boxed 5 (space form): token ends at $", "so $\\boxed 42$.", 0, MR_OK,
             "42");
    ext_case("Step 1: \\boxed 5 (space form): token ends at end of line", "so \\boxed 17\nok", 0,
             MR_OK, "17");
    ext_case("Step 1: space form inside a box ends at the closing brace",
             "\\boxed{\\boxed 5}", 0, MR_OK, "5");
    ext_case("Step 1: space form keeps a braced token whole", "\\boxed \\frac{1}{2}$", 0, MR_OK,
             "\\frac{1}{2}");
    ext_case("Step 1: \\boxed then a line break and nothing on the line -> no answer",
             "\\boxed\nwhatever", 0, MR_NO_ANSWER, NULL);
    ext_case("Step 1: \\boxed {5} with a space is the brace form", "\\boxed {5 + 1}", 0, MR_OK,
             "5 + 1");
    ext_case("Step 1: \\boxed{\\boxed{5}} -> 5", "\\boxed{\\boxed{5}}", 0, MR_OK, "5");
    ext_case("Step 1: nested boxes inside the chosen box are unwrapped",
             "\\boxed{x = \\boxed{5}}", 0, MR_OK, "x = 5");
    ext_case("Step 1: an earlier unclosed box does not hide the last complete one",
             "\\boxed{ oops\nso \\boxed{5}", 0, MR_OK, "5");
    ext_case("Step 1: \\boxedfoo is another command, not a box",
             "\\boxed{3}\n\\boxedfoo{4}", 0, MR_OK, "3");
    ext_case("Step 2 runs only without any box: an empty box is no answer",
             "Put it in \\boxed{}.\nFinal answer: 5", 0, MR_NO_ANSWER, NULL);

    boxes_case("Step 1: list gold: join the contents of all boxes on the final line with commas",
               "The roots are \\boxed{1} and \\boxed{-2}.", 1, "1,-2", NL("1", "-2"));
    boxes_case("Step 1: single gold: extracted is the last box, all line boxes reported (hedge "
               "check)",
               "It is \\boxed{3} or maybe \\boxed{4}", 0, "4", NL("3", "4"));
    boxes_case("Step 1: identical repeats on the line are reported as such",
               "\\boxed{5} so \\boxed{5}", 0, "5", NL("5", "5"));
    boxes_case("Step 1: boxes on earlier lines are not on the final-answer line",
               "\\boxed{7}\nSo \\boxed{8}", 1, "8", NL("8"));
    boxes_case("Step 1: the final-answer line is where the chosen box starts (content may span "
               "lines)",
               "\\boxed{1}\nthus \\boxed{2} and \\boxed{3,\n4}", 1, "2,3,\n4",
               NL("2", "3,\n4"));
    boxes_case("Step 1: a box spanning an earlier line break is not on the final line",
               "\\boxed{1,\n2} and \\boxed{3}", 1, "3", NL("3"));
    boxes_case("Step 1: empty boxes on the line are not listed",
               "write \\boxed{} then \\boxed{9}", 0, "9", NL("9"));
    boxes_case("Step 1: nested box counts once, as its outer box",
               "\\boxed{1} \\boxed{\\boxed{2}}", 1, "1,2", NL("1", "2"));
    boxes_case("Step 1: space-form boxes on the line count", "\\boxed 1 and \\boxed 2", 1, "1,2",
               NL("1", "2"));

    /* ---- Step 2 */
    ext_case("A.2: no box, \"Final Answer: 70\" -> accept marker", "Some work.\nFinal Answer: 70",
             0, MR_OK, "70");
    ext_case("Step 2: final answer followed within 100 characters by is",
             "The final answer to this problem is 42.", 0, MR_OK, "42");
    ext_case("Step 2: final answer with is/: more than 100 characters later is not pattern 1",
             "final answer "
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx is 3",
             0, MR_NO_ANSWER, NULL);
    ext_case("Step 2: the answer is", "So the answer is $\\frac{1}{2}$.", 0, MR_OK,
             "\\frac{1}{2}");
    ext_case("Step 2: answer:", "answer: 12", 0, MR_OK, "12");
    ext_case("Step 2: **Answer:**", "Work.\n**Answer:** 12\n", 0, MR_OK, "12");
    ext_case("Step 2: ANSWER:", "ANSWER: 12", 0, MR_OK, "12");
    ext_case("Step 2: **Answer**: (markdown around the word only)", "**Answer**: 13", 0, MR_OK,
             "13");
    ext_case("Step 2: markers are case-insensitive", "THE ANSWER IS 9", 0, MR_OK, "9");
    ext_case("Step 2: the first pattern that matches wins, with its last match",
             "Answer: 1\nthe answer is 2\nAnswer: 3", 0, MR_OK, "2");
    ext_case("Step 2: a pattern's last match is used",
             "The answer is 3.\nNo wait, the answer is 4.", 0, MR_OK, "4");
    ext_case("Step 2: text runs to \". I hope\"",
             "Final Answer: The final answer is $25$. I hope it is correct.", 0, MR_OK, "25");
    ext_case("Step 2: text runs to the end of the line", "The answer is 6\nbecause 2*3.", 0,
             MR_OK, "6");
    ext_case("Step 2: surrounding \\( \\) removed", "The answer is \\(\\sqrt{2}\\).", 0, MR_OK,
             "\\sqrt{2}");
    ext_case("Step 2: surrounding \\[ \\] removed", "Final answer: \\[ 7 \\]", 0, MR_OK, "7");
    ext_case("Step 2: markdown ** removed", "**Final Answer:** **70**", 0, MR_OK, "70");
    ext_case("Step 2: a marker with nothing after it on the line -> no answer",
             "Final answer:\n", 0, MR_NO_ANSWER, NULL);
    ext_case("A.2: no box, no marker, number at the end -> no answer",
             "Adding these we get 70", 0, MR_NO_ANSWER, NULL);
    ext_case("Step 2: markers inside the reasoning block are not used",
             "<think>the answer is 5</think>\nDone.", 0, MR_NO_ANSWER, NULL);
    ck_begin("Step 2: from_marker is set, no line boxes");
    {
        math_extraction x;
        math_extract("The answer is 5", 15, 0, &x);
        CK(x.from_marker == 1 && x.n_line_boxes == 0, "from_marker %d, %zu boxes", x.from_marker,
           x.n_line_boxes);
        math_extraction_free(&x);
        math_extract("\\boxed{5}", 9, 0, &x);
        CK(x.from_marker == 0, "a box is not a marker");
        math_extraction_free(&x);
    }
    ck_end();

    /* ---- Step 3 */
    norm_case("item 1: unicode minus − -> -", "\xe2\x88\x92" "5", 0, "-5");
    norm_case("item 1: unicode en dash – -> -", "\xe2\x80\x93" "984", 0, "-984");
    norm_case("item 1: √ -> \\sqrt", "2\xe2\x88\x9a" "3", 0, "2\\sqrt{3}");
    norm_case("item 1: π -> \\pi (no command glued to the next letter)",
              "2\xcf\x80" "r", 0, "2\\pi r");
    norm_case("item 1: × -> \\cdot", "3\xc3\x97" "4", 0, "3\\cdot4");
    norm_case("item 1: · -> \\cdot", "3\xc2\xb7" "4", 0, "3\\cdot4");
    norm_case("item 1: ° deleted", "90\xc2\xb0", 0, "90");
    norm_case("item 1: no-break space -> space (then digit grouping)", "2\xc2\xa0" "304", 0,
              "2304");
    norm_case("item 1: narrow no-break and thin space -> space", "1\xe2\x80\xaf" "000\xe2\x80\x89"
              "000", 0, "1000000");
    norm_case("item 2: markdown ** removed", "**17**", 0, "17");
    norm_case("item 2: $ removed", "$17$", 0, "17");
    norm_case("item 2: \\( \\) \\[ \\] removed", "\\(\\[17\\]\\)", 0, "17");
    norm_case("item 2: \\displaystyle removed", "\\displaystyle\\frac{1}{2}", 0, "\\frac{1}{2}");
    norm_case("item 2: \\left \\right removed", "\\left(1, 2\\right)", 1, "(1, 2)");
    norm_case("item 2: \\left. null delimiter removed", "\\left.x\\right|", 0, "x|");
    norm_case("item 2: \\big* and \\Big* removed", "\\big(3\\Bigr)\\biggl[4\\Biggr]", 0, "(3)[4]");
    norm_case("item 2: \\bigcup is not \\big", "A\\bigcup B", 0, "A\\bigcup B");
    norm_case("item 2: \\! \\, \\; \\: \\  \\quad removed", "1\\!2\\,3", 0, "123");
    norm_case("item 2: \\quad and \\; are spaces", "x\\quad y\\;z\\:w\\ v", 1, "x  y z w v");
    norm_case("item 2: \\dfrac -> \\frac", "\\dfrac{3}{4}", 0, "\\frac{3}{4}");
    norm_case("item 2: \\tfrac -> \\frac", "\\tfrac{3}{4}", 0, "\\frac{3}{4}");
    norm_case("item 2: unwrap \\mathrm{}", "\\mathrm{e}^{2}", 0, "e^{2}");
    norm_case("item 2: unwrap \\mathbf{}", "\\mathbf{12}", 0, "12");
    norm_case("item 2: unwrap \\textbf{}", "\\textbf{12}", 0, "12");
    norm_case("item 2: unwrap \\boxed{}", "\\boxed{\\frac{1}{2}}", 0, "\\frac{1}{2}");
    norm_case("item 2: unwrapping keeps inner braces", "\\mathbf{\\frac{1}{2}}+1", 0,
              "\\frac{1}{2}+1");
    norm_case("A.2: \\text{204} -> kept", "\\text{204}", 0, "204");
    norm_case("item 3: \\text{ minutes} deleted", "12\\text{ minutes}", 0, "12");
    norm_case("item 3: \\text{cm}^2 deleted", "6\\text{cm}^2", 0, "6");
    norm_case("item 3: \\textrm and \\mbox follow \\text", "5\\textrm{ km} + \\mbox{7}", 0,
              "5 + 7");
    norm_case("item 3: text with a number keeps its content", "\\text{x = 3}", 0, "3");
    norm_case("item 3: trailing unit word after a number: units", "5 units", 0, "5");
    norm_case("item 3: trailing unit word after a number: square units", "12 square units", 0,
              "12");
    norm_case("item 3: trailing unit word after a number: degrees", "30 degrees", 0, "30");
    norm_case("item 3: trailing unit word after a number: minutes", "45 minutes.", 0, "45");
    norm_case("item 3: trailing unit word after a number: cm", "7cm", 0, "7");
    norm_case("item 3: trailing unit word after a number: m", "3 m", 0, "3");
    norm_case("item 3: trailing unit word after a number: \\mathrm{cm}^2",
              "8\\mathrm{cm}^2", 0, "8");
    norm_case("item 3: trailing unit word after a number: dollars", "10 dollars", 0, "10");
    norm_case("item 3: a unit word not after a number stays", "m", 0, "m");
    norm_case("item 3: \\$ (currency) removed", "\\$5", 0, "5");
    norm_case("item 4: ^\\circ deleted", "90^\\circ", 0, "90");
    norm_case("item 4: ^{\\circ} deleted", "90^{\\circ}", 0, "90");
    norm_case("item 4: trailing . deleted", "5.", 0, "5");
    norm_case("item 4: a decimal point is not trailing", "5.5", 0, "5.5");
    norm_case("item 5: \\approx keeps the part before it", "x = \\frac{1}{3} \\approx 0.333", 0,
              "\\frac{1}{3}");
    norm_case("item 5: only an approximation stays an approximation (value kept for Step 4)",
              "\\approx 0.3634", 0, "0.3634");
    norm_case("item 6: x = 16", "x = 16", 0, "16");
    norm_case("item 6: m+n=821", "m+n=821", 0, "821");
    norm_case("item 6: AD = 26", "AD = 26", 0, "26");
    norm_case("item 6: after the last =", "a = b = 7", 0, "7");
    norm_case("item 6: <= and >= are not =", "x \\le 5", 0, "x \\le 5");
    norm_case("item 7: 3,375", "3,375", 0, "3375");
    norm_case("item 7: 3\\,375", "3\\,375", 0, "3375");
    norm_case("item 7: 2 304", "2 304", 0, "2304");
    norm_case("item 7: {,} groups", "1{,}000{,}000", 0, "1000000");
    norm_case("item 7: several groups", "12,345,678", 0, "12345678");
    norm_case("item 7: groups need three digits", "1,23", 0, "1,23");
    norm_case("item 7: an irregular group is not joined", "1,234,56", 0, "1,234,56");
    norm_case("item 7: list gold: commas separate elements", "3,375", 1, "3,375");
    norm_case("item 7: list gold: 1, 2 untouched", "1, 2", 1, "1, 2");
    norm_case("item 8: 149\\frac{1}{3} is left for the parser", "149\\frac{1}{3}", 0,
              "149\\frac{1}{3}");
    norm_case("item 8: 2^{25}\\cdot 26! unchanged", "2^{25}\\cdot 26!", 0, "2^{25}\\cdot 26!");
    norm_case("gold 1-\\frac{2}{\\pi} unchanged", "1-\\frac{2}{\\pi}", 0, "1-\\frac{2}{\\pi}");
    norm_case("gold \\frac{9\\sqrt{23}}{23} unchanged", "\\frac{9\\sqrt{23}}{23}", 0,
              "\\frac{9\\sqrt{23}}{23}");
    norm_case("9/\\sqrt{23} unchanged", "9/\\sqrt{23}", 0, "9/\\sqrt{23}");
    norm_case("repair \\frac12 -> \\frac{1}{2}", "\\frac12", 0, "\\frac{1}{2}");
    norm_case("repair \\dfrac12 -> \\frac{1}{2}", "\\dfrac12", 0, "\\frac{1}{2}");
    norm_case("repair \\frac{1}2 and \\frac1{2}", "\\frac{1}2+\\frac1{2}", 0,
              "\\frac{1}{2}+\\frac{1}{2}");
    norm_case("repair \\sqrt2 -> \\sqrt{2}", "3\\sqrt2", 0, "3\\sqrt{2}");
    norm_case("repair \\sqrt[3]2 -> \\sqrt[3]{2}", "\\sqrt[3]2", 0, "\\sqrt[3]{2}");
    norm_case("repair \\frac\\pi2", "\\frac\\pi2", 0, "\\frac{\\pi}{2}");
    norm_case("repair inside braces: \\frac{\\sqrt3}{2}", "\\frac{\\sqrt3}{2}", 0,
              "\\frac{\\sqrt{3}}{2}");
    norm_case("\\% is deleted, with no percent scaling", "25\\%", 0, "25");
    norm_case("A.2: 0.25 stays 0.25 (no percent scaling; wrong for gold 25)", "0.25", 0, "0.25");
    norm_case("plain integer unchanged", "204", 0, "204");
    norm_case("leading zeros kept for the parser", "025", 0, "025");

    /* ---- items 9-10 */
    split_case("item 9: a \\pm b -> a+b, a-b", "1 \\pm \\sqrt{2}", 0,
               NL("1 + \\sqrt{2}", "1 - \\sqrt{2}"));
    split_case("item 9: \\pm inside a fraction", "\\frac{1\\pm\\sqrt{5}}{2}", 1,
               NL("\\frac{1+\\sqrt{5}}{2}", "\\frac{1-\\sqrt{5}}{2}"));
    split_case("item 9: a leading \\pm", "\\pm 3", 0, NL("3", "-3"));
    split_case("item 9: unicode ± is \\pm", "\xc2\xb1" "2", 0, NL("2", "-2"));
    split_case("single gold: no list splitting", "1, 2", 0, NL("1, 2"));
    split_case("item 10: strip outer ()", "(1, 2)", 1, NL("1", "2"));
    split_case("item 10: strip outer []", "[3,4]", 1, NL("3", "4"));
    split_case("item 10: strip outer \\{\\}", "\\{5, 6\\}", 1, NL("5", "6"));
    split_case("item 10: \\left\\{ ... \\right\\}", "\\left\\{5, 6\\right\\}", 1, NL("5", "6"));
    split_case("item 10: only one outer pair", "((1,2),(3,4))", 1, NL("(1,2)", "(3,4)"));
    split_case("item 10: (1),(2) is not one pair", "(1),(2)", 1, NL("(1)", "(2)"));
    split_case("item 10: split on and", "1 and 2", 1, NL("1", "2"));
    split_case("item 10: split on or", "1 or 2", 1, NL("1", "2"));
    split_case("item 10: split on ;", "1; 2", 1, NL("1", "2"));
    split_case("item 10: \\text{ and } separates", "1 \\text{ and } 2", 1, NL("1", "2"));
    split_case("item 10: commas inside braces do not split", "f(1,2), \\frac{1}{2}", 1,
               NL("f(1,2)", "\\frac{1}{2}"));
    split_case("item 10: x = 1, y = 2 -> each element after its =", "x = 1, y = 2", 1,
               NL("1", "2"));
    split_case("item 10: S = \\{1, 2\\}", "S = \\{1, 2\\}", 1, NL("1", "2"));
    split_case("item 10: x = 1, 2", "x = 1, 2", 1, NL("1", "2"));
    split_case("item 10: HMMT list with digit groups {,}", "1{,}000, 2", 1, NL("1000", "2"));
    split_case("item 10: land is not and", "a\\land b", 1, NL("a\\land b"));
    split_case("item 10: trailing separator gives no empty element", "1, 2,", 1, NL("1", "2"));

    ck_begin("extraction then normalization: 'Therefore, the final answer is: $\\boxed{3{,}375}$. "
             "I hope it is correct.'");
    {
        const char *r = "Therefore, the final answer is: $\\boxed{3{,}375}$. I hope it is correct.";
        math_extraction x;
        math_extract(r, strlen(r), 0, &x);
        char *z = x.extracted ? math_normalize(x.extracted, strlen(x.extracted), 0) : NULL;
        CK(z && !strcmp(z, "3375"), "got \"%s\"", show(z));
        free(z);
        math_extraction_free(&x);
    }
    ck_end();

    ck_begin("extraction then normalization: \\boxed{\\text{204}} -> 204, \\boxed{12\\text{ "
             "minutes}} -> 12");
    {
        static const char *const r[] = {"so \\boxed{\\text{204}}", "so \\boxed{12\\text{ minutes}}",
                                        "$\\boxed{x = 16}$", "\\boxed{3\\,375}"};
        static const char *const w[] = {"204", "12", "16", "3375"};
        for (int i = 0; i < 4; i++) {
            math_extraction x;
            math_extract(r[i], strlen(r[i]), 0, &x);
            char *z = x.extracted ? math_normalize(x.extracted, strlen(x.extracted), 0) : NULL;
            CK(z && !strcmp(z, w[i]), "%s -> \"%s\", want %s", r[i], show(z), w[i]);
            free(z);
            math_extraction_free(&x);
        }
    }
    ck_end();

    /* ---- robustness */
    ck_begin("random bytes: no crash");
    {
        char buf[4096];
        for (int it = 0; it < 3000; it++) {
            size_t n = next() % sizeof buf;
            for (size_t i = 0; i < n; i++)
                buf[i] = (char)next();
            chew(buf, n);
        }
    }
    ck_end();

    ck_begin("brace soup and LaTeX fragments: no crash");
    {
        static const char *const frag[] = {
            "{", "}", "\\", "\\boxed", "\\boxed{", "\\fbox", " ", "\n", "$", "1", "23", ",",
            "\\{", "\\}", "</think>", "<think>", "\\text{", "\\frac", "\\sqrt", "[", "]", "(",
            ")", "=", "\\approx", "\\pm", "final answer", " is ", "answer:", "**", ". I hope",
            "^\\circ", "^{", "\\left", "\\right.", "\\mathrm{", "\xe2\x88\x92", "\xcf", "\\dfrac",
            " and ", "or", ";", "cm", "\\%", ".", "\\,", "{,}", "\\\\", "\xc2\xb1",
        };
        char buf[8192];
        for (int it = 0; it < 3000; it++) {
            size_t n = 0, want = next() % 600;
            for (size_t k = 0; k < want; k++) {
                const char *f = frag[next() % (sizeof frag / sizeof frag[0])];
                size_t fl = strlen(f);
                if (n + fl >= sizeof buf)
                    break;
                memcpy(buf + n, f, fl);
                n += fl;
            }
            chew(buf, n);
        }
    }
    ck_end();

    big_case("1 MB of \\boxed{ -> truncated_box, in bounded time", "", "\\boxed{", "",
             MR_TRUNCATED_BOX);
    big_case("1 MB of \\boxed{ then a closed box -> that box, in bounded time", "", "\\boxed{",
             "\\boxed{5}", MR_OK);
    big_case("1 MB of \\boxed{ then 5, never closed -> truncated_box, in bounded time", "", "\\boxed{", "5",
             MR_TRUNCATED_BOX);
    big_case("1 MB of {, then a box, in bounded time", "", "{", "\\boxed{1}", MR_OK);
    big_case("1 MB of \\boxed{1} on one line, in bounded time", "", "\\boxed{1} ", "", MR_OK);
    big_case("1 MB of \\text{ (normalize), in bounded time", "", "\\text{", "", MR_NO_ANSWER);
    big_case("1 MB of \\frac (normalize), in bounded time", "", "\\frac", "", MR_NO_ANSWER);
    big_case("1 MB of 'final answer' without is, in bounded time", "", "final answer ", "",
             MR_NO_ANSWER);
    big_case("1 MB of 'answer' without a colon, in bounded time", "", "answer ", "",
             MR_NO_ANSWER);
    big_case("1 MB of digit groups (normalize), in bounded time", "", "1,000 ", "", MR_NO_ANSWER);
    big_case("1 MB of backslashes, in bounded time", "", "\\", "", MR_NO_ANSWER);
    big_case("1 MB of <think> without </think>", "<think>", "a", "", MR_UNCLOSED_THINK);
    {
        /* 1 MB of `\boxed{\boxed{...{5}...}}`, closed: the outermost box. */
        ck_begin("1 MB of nested closed boxes -> 5, in bounded time");
        size_t reps = (1 << 20) / 7, n = reps * 8 + 1;
        char *s = malloc(n + 1);
        for (size_t i = 0; i < reps; i++)
            memcpy(s + i * 7, "\\boxed{", 7);
        s[reps * 7] = '5';
        memset(s + reps * 7 + 1, '}', reps);
        s[n] = 0;
        double t0 = now();
        math_extraction x;
        math_extract(s, n, 0, &x);
        CK(x.reason == MR_OK && x.extracted && !strcmp(x.extracted, "5"), "reason %s, \"%s\"",
           math_reason_name(x.reason), show(x.extracted));
        math_extraction_free(&x);
        CK(now() - t0 < 60.0, "took %.2f CPU seconds: a blow-up", now() - t0);
        free(s);
        ck_end();
    }

    /* speed, for information only (the target is bench/grade.sh's) */
    {
        size_t n;
        char *s = repeat("<think>", "Let x = \\frac{a}{b}, so {x^2} + 3 = 12; thus x = 3.\n", 8000,
                         "</think>\nSo the sum is $\\boxed{204}$.", &n);
        int iters = 20000;
        double t0 = now();
        for (int i = 0; i < iters; i++) {
            math_extraction x;
            math_extract(s, n, 0, &x);
            char *z = math_normalize(x.extracted, strlen(x.extracted), 0);
            free(z);
            math_extraction_free(&x);
        }
        double us = (now() - t0) / iters * 1e6;
        /* no reasoning tags: the whole text is scanned for boxes */
        memcpy(s, "<thinx>", 7);
        memcpy(strstr(s, "</think>"), "</thinx>", 8);
        t0 = now();
        for (int i = 0; i < iters; i++) {
            math_extraction x;
            math_extract(s, n, 0, &x);
            math_extraction_free(&x);
        }
        double us2 = (now() - t0) / iters * 1e6;
        printf("# extract+normalize %.2f us, extract whole text %.2f us per 8 KB response (CPU "
               "time)\n", us, us2);
        free(s);
    }

    math_extract_cleanup();
    return ck_status();
}
