/*
 * fuzz_config.c — libFuzzer target for config.json parsing (both schemas).
 */
#include "../../engine/config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    eng_config c;
    char err[512];
    if (eng_config_parse(text, "config.json", &c, err, sizeof err) == 0) {
        /* What the loader relies on after a successful parse. */
        if (c.n_sub < 2 || c.n_sub % 2 || c.nq % c.nk || c.rot < 2 || c.rot > c.head_dim ||
            c.topk != 1 || c.inter < 1 || c.router < 1)
            abort();
    }
    free(text);
    return 0;
}
