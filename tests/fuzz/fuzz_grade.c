/*
 * fuzz_grade.c — libFuzzer target for the math grader: the input is split
 * at its first NUL byte into a response and a gold; the first byte picks
 * the answer type and whether a 0-999 range is declared.  The grader must
 * never crash, leak or hang, and its verdict must be consistent.
 */
#include "../../graders/math_grade.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    math_gold_spec spec = {(math_answer_type)(data[0] % 3), (data[0] >> 2) & 1, 0, 999};
    data++, size--;
    char *text = malloc(size + 2);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    text[size + 1] = 0;
    size_t rlen = strlen(text);
    const char *gold = text + rlen + (rlen < size ? 1 : 0);
    math_verdict v;
    if (math_grade(text, rlen, gold, &spec, &v) == 0) {
        if (v.correct != (v.reason == MR_OK) || (v.reason == MR_OK && !v.extracted))
            abort();
        math_verdict_free(&v);
    }
    free(text);
    return 0;
}
