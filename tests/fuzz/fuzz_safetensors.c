/*
 * fuzz_safetensors.c — libFuzzer target for the safetensors reader: the
 * input is validated in memory with st_parse (the code st_open runs on
 * its mapping); every tensor handed out is then read end to end, so a span
 * outside the input would be caught by ASan, and st_find must find it.
 */
#include "../../engine/safetensors.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_file *st = NULL;
    char err[512];
    if (st_parse(data, size, "fuzz.safetensors", &st, err, sizeof err) == 0) {
        volatile uint8_t acc = 0;
        for (int i = 0; i < st->ntensors; i++) {
            const st_tensor *t = &st->tensors[i];
            const uint8_t *p = t->data;
            if (p < data || t->nbytes > size || (size_t)(p - data) > size - t->nbytes)
                abort();
            for (size_t k = 0; k < t->nbytes; k++)
                acc ^= p[k];
            if ((uint64_t)st_numel(t) * st_dtype_size(t->dtype) != t->nbytes)
                abort();
            if (st_find(st, t->name) != t)
                abort();
        }
        (void)acc;
        st_close(st);   /* borrowed buffer: must not be unmapped */
    }
    return 0;
}
