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

typedef struct {
    math_reason reason;   /* MR_OK, MR_NO_ANSWER, MR_TRUNCATED_BOX or MR_UNCLOSED_THINK */
    char *extracted;      /* the answer as written (for a list: box contents joined with ","), or NULL */
    char **line_boxes;    /* contents of every box on the final-answer line, in order (Step 1) */
    size_t n_line_boxes;
    int from_marker;      /* 1 when Step 2 (marker fallback) produced the answer */
} math_extraction;

/* Steps 0-2 on response[0..len).  list: the gold is list-typed.
 * Returns 0, or -1 only on allocation failure. */
int math_extract(const char *response, size_t len, int list, math_extraction *out);
void math_extraction_free(math_extraction *x);

/* Step 3 items 1-7 on s (the extracted answer or the gold); list disables
 * digit-group removal of commas.  Returns a malloc'd string. */
char *math_normalize(const char *s, size_t len, int list);

/* Items 9-10: splits a normalized answer into elements: one outer pair of
 * (), [] or \{\} is stripped, then top-level ",", "and", "or", ";" separate
 * elements, and "a \pm b" expands to "a+b", "a-b".  *elems is a malloc'd
 * array of malloc'd strings. */
int math_split(const char *s, int list, char ***elems, size_t *n);
void math_strings_free(char **v, size_t n);

#endif
