/*
 * math_extract.h — answer extraction and text normalization for math
 * responses, with PCRE2 (../shared/spec/grading.md, A.3 Steps 0-3 and the
 * list splitting of item 10; normative).
 */
#ifndef ZEVAL_MATH_EXTRACT_H
#define ZEVAL_MATH_EXTRACT_H

#include <stddef.h>

typedef enum {
    MR_OK,              /* an answer was extracted (or, after grading: correct) */
    MR_NO_ANSWER,       /* no box and no marker, or an empty box */
    MR_TRUNCATED_BOX,   /* the last \boxed{ never closes */
    MR_UNCLOSED_THINK,  /* <think> without </think> */
    MR_HEDGE,           /* different boxes on the final-answer line */
    MR_PARSE_ERROR,     /* the answer or the gold does not parse */
    MR_WRONG,           /* parsed, not equivalent */
} math_reason;

/* grading.md's reason code for r ("ok", "no_answer", ...). */
const char *math_reason_name(math_reason r);

/* How the open points of A.3 are settled here:
 * - The chosen box is the outermost complete box containing the last
 *   occurrence of `\boxed`/`\fbox` (`\boxed{\boxed{5}}` -> "5"; an earlier
 *   box that never closes does not hide a later complete one).
 * - The final-answer line is the physical line on which the chosen box
 *   starts; its boxes are the complete top-level boxes starting between
 *   that line's start and the chosen box, then the chosen box.  A box may
 *   span newlines; a box starting on an earlier line is not on the line.
 *   Empty boxes are not listed.
 * - `\boxed {5}` (whitespace, then a brace) is the brace form; `\boxed`
 *   followed by nothing but whitespace to the end of the text is truncated.
 * - `\%` and `%` are deleted like a unit (`25\%` is 25; no scaling).
 * - `\approx`: the part before it if non-empty, else the value after it,
 *   which Step 4 then judges exactly (so `\approx 0.3634` for
 *   `1-\frac{2}{\pi}` stays wrong, `\approx 0.5` for `\frac12` is right).
 * - `\text{and}`/`\text{or}` become " and "/" or " (list separators).
 * - For list gold, items 5-6 (`\approx`, `=`) apply to the whole answer
 *   only when it has no top-level separator (`S = \{1, 2\}`); otherwise
 *   math_split applies them to each element (`x = 1, y = 2`). */

typedef struct {
    math_reason reason;   /* MR_OK, MR_NO_ANSWER, MR_TRUNCATED_BOX or MR_UNCLOSED_THINK */
    char *extracted;      /* the answer as written (for a list: box contents joined with ","), or NULL */
    char **line_boxes;    /* contents of every non-empty box on the final-answer line, in
                             order, the chosen box last (Step 1); nested boxes unwrapped,
                             trimmed.  Empty when the answer came from a marker. */
    size_t n_line_boxes;
    int from_marker;      /* 1 when Step 2 (marker fallback) produced the answer */
} math_extraction;

/* Steps 0-2 on response[0..len).  list: the gold is list-typed.
 * Returns 0, or -1 only on allocation failure. */
int math_extract(const char *response, size_t len, int list, math_extraction *out);
void math_extraction_free(math_extraction *x);

/* Step 3 items 1-7 on s (the extracted answer or the gold); list disables
 * digit-group removal of commas (only `1{,}000` still joins) and applies
 * items 5-6 only when there is no top-level separator (see above).  Also
 * repairs `\frac12`, `\sqrt2`, `\binom52` into braced arguments.  Item 8
 * (mixed numbers) is the parser's.  Returns a malloc'd string, or NULL
 * when memory runs out. */
char *math_normalize(const char *s, size_t len, int list);

/* Items 9-10: splits a normalized answer into elements.  For list (list
 * != 0): one outer pair of (), [] or \{\} is stripped, then top-level ",",
 * ";", and the words "and", "or" separate elements (depth counts (), [],
 * {} and \{\}); each element gets items 5-6 and loses a trailing "."; empty
 * elements are dropped.  For both list and single, an element with \pm
 * (\mp) becomes two: every \pm replaced by "+", then by "-" (a leading "+"
 * dropped), so "a \pm b" gives "a + b", "a - b" and a single-valued answer
 * with \pm has two elements.  *elems is a malloc'd array of malloc'd
 * strings.  Returns 0, or -1 when memory runs out. */
int math_split(const char *s, int list, char ***elems, size_t *n);
void math_strings_free(char **v, size_t n);

/* Frees the compiled PCRE2 patterns (for leak-clean runs).  Call once at
 * exit, after every other call here has returned; nothing here may be
 * used afterwards. */
void math_extract_cleanup(void);

#endif
