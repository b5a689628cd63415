/*
 * fuzz_dataset.c — libFuzzer target for the dataset loaders: the first
 * byte picks the normalized JSONL loader (0) or a registry entry whose
 * source mapper reads the rest as its source files (every one of them the
 * same file).  Neither may crash or leak, and whatever loads must survive a
 * round trip: written as JSONL (ds_write_jsonl) it loads again as
 * normalized records with the same count and the same records digest.
 */
#define _GNU_SOURCE
#include "../../datasets/registry.h"
#include "fuzz_file.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void round_trip(const ds_set *s)
{
    char path[64], err[512], a[65], b[65];
    int fd = fuzz_mem_file(NULL, 0, path);
    if (fd < 0)
        return;
    FILE *f = fopen(path, "w");
    if (!f) {
        close(fd);
        return;
    }
    int w = ds_write_jsonl(s, f);
    if (fclose(f) != 0 || w != 0) {
        close(fd);
        return; /* out of memory or space: not a finding */
    }
    ds_set back;
    if (ds_load_normalized(path, &back, err, sizeof err) != 0) {
        fprintf(stderr, "written records do not load back: %s\n", err);
        abort();
    }
    ds_records_sha256(s, a);
    ds_records_sha256(&back, b);
    if (back.n != s->n || strcmp(a, b)) {
        fprintf(stderr, "round trip changed the records: %zu -> %zu, %s -> %s\n", s->n, back.n,
                a, b);
        abort();
    }
    ds_set_free(&back);
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t nreg;
    const ds_entry *reg = ds_registry(&nreg);
    unsigned pick = data[0];
    char path[64], err[512] = "";
    int fd = fuzz_mem_file(data + 1, size - 1, path);
    if (fd < 0)
        return 0;
    ds_set s;
    int rc;
    if (pick == 0) {
        rc = ds_load_normalized(path, &s, err, sizeof err);
    } else {
        const ds_entry *e = &reg[(pick - 1) % nreg];
        char **paths, **files;
        size_t np = 0;
        if (ds_source_paths(e, &paths, &np) != 0) {
            close(fd);
            return 0;
        }
        ds_paths_free(paths, np);
        if (!(files = malloc((np ? np : 1) * sizeof *files))) {
            close(fd);
            return 0;
        }
        for (size_t i = 0; i < np; i++)
            files[i] = path; /* every file of the source (the TeX sets': CSV and problems) */
        rc = ds_load_source(e, files, np, &s, err, sizeof err);
        free(files);
        if (rc == 0) /* every mapped record has a prompt */
            for (size_t i = 0; i < s.n; i++) {
                char *p = ds_prompt(e, s.rec[i]);
                if (!p)
                    abort();
                free(p);
            }
    }
    if (rc == 0) {
        round_trip(&s);
        ds_set_free(&s);
    } else if (!err[0]) {
        fprintf(stderr, "%s: a failure without a message\n",
                pick ? reg[(pick - 1) % nreg].name : "normalized");
        abort(); /* a failure must say why */
    }
    close(fd);
    return 0;
}
