/*
 * fuzz_safetensors.c — libFuzzer target for the safetensors reader: the
 * input is written as a file and opened with st_open (the mmap path the
 * engine uses); every tensor handed out is then read end to end so an
 * out-of-range span would be caught by ASan.
 */
#define _POSIX_C_SOURCE 200809L
#include "../../engine/safetensors.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char path[4200];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0])
        snprintf(path, sizeof path, "%s/zeval-fuzz-st-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    st_file *st = NULL;
    char err[512];
    if (st_open(path, &st, err, sizeof err) == 0) {
        volatile uint8_t acc = 0;
        for (int i = 0; i < st->ntensors; i++) {
            const uint8_t *p = st->tensors[i].data;
            for (size_t k = 0; k < st->tensors[i].nbytes; k++)
                acc ^= p[k];
            if (st_find(st, st->tensors[i].name) != &st->tensors[i])
                abort();
        }
        (void)acc;
        st_close(st);
    }
    return 0;
}
