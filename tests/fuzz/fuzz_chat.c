/*
 * fuzz_chat.c — libFuzzer target for chat template files: the input is
 * the template FILE (placeholder syntax, chat.h); a loaded template renders
 * a conversation with and without the generation prompt and thinking.
 * Neither may crash or leak; a rendering is NUL-terminated at its length,
 * and a failure says why.
 */
#define _GNU_SOURCE
#include "../../engine/chat.h"
#include "fuzz_file.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], err[512] = "";
    int fd = fuzz_mem_file(data, size, path);
    if (fd < 0)
        return 0;
    chat_template *t = NULL;
    if (chat_load(path, NULL, &t, err, sizeof err) != 0) {
        if (!err[0])
            abort();
        close(fd);
        return 0;
    }
    static const chat_msg msgs[] = {{"system", "Be brief."},
                                    {"user", "What is 2+2? {content} \\n"},
                                    {"assistant", "<think>add</think>4"},
                                    {"user", "And 3+3?"}};
    static const size_t counts[] = {1, 2, 4};
    for (int v = 0; v < 4; v++)
        for (size_t c = 0; c < 3; c++) {
            chat_opts o = {v & 1, v >> 1};
            size_t n = counts[c];
            char *out = NULL;
            size_t len = 0;
            err[0] = 0;
            if (chat_render(t, msgs + (n == 1 ? 1 : 0), n, &o, &out, &len, err, sizeof err) == 0) {
                if (!out || strlen(out) != len)
                    abort();
                free(out);
            } else if (!err[0]) {
                abort();
            }
        }
    const char *const *markers;
    int nm = chat_markers(t, &markers);
    for (int i = 0; i < nm; i++)
        if (!markers[i])
            abort();
    chat_free(t);
    close(fd);
    return 0;
}
