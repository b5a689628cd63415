/*
 * fuzz_index.c — libFuzzer target for model.safetensors.index.json: the
 * input (NUL-terminated copy) goes through eng_index_parse, the check the
 * loader runs before opening any shard; an accepted index must satisfy
 * what open_index relies on.
 */
#include "../../engine/model.h"

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
    char **names = NULL, **files = NULL;
    int n = -1;
    char err[1024];
    if (eng_index_parse(text, "model.safetensors.index.json", &names, &files, &n, err,
                        sizeof err) == 0) {
        if (n < 1 || !names || !files)
            abort();
        for (int i = 0; i < n; i++) {
            if (!names[i] || !files[i] || !files[i][0] || strchr(files[i], '/') ||
                strcmp(files[i], "..") == 0)
                abort();
            for (int j = 0; j < i; j++)
                if (strcmp(names[i], names[j]) == 0)
                    abort();
        }
        eng_index_free(names, files, n);
    } else if (names || files || n != 0 || !err[0]) {
        abort();
    }
    free(text);
    return 0;
}
