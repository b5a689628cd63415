/*
 * init.h — random ZAYA checkpoints (`zeval init-model`).
 *
 * Two steps: eng_init_config() turns a preset ("tiny", "zaya1-8b") or a
 * config.json file plus key=value overrides into config.json text in the
 * legacy schema (spec §2.1; the key set of the golden zaya-tiny file), and
 * eng_init_write() writes that config and random weights in the legacy
 * tensor layout (spec §3.1) into a directory, streaming: no tensor is ever
 * held in memory whole, so a 17.7 GB bf16 checkpoint is written in a few
 * MB of RAM.  Values come from a counter-based generator keyed by (seed,
 * tensor name, element index), so the bytes depend on nothing else (not on
 * the order tensors are written in, the sharding, or the thread count).
 * How the initial values are chosen is described in init.c.
 */
#ifndef ZEVAL_INIT_H
#define ZEVAL_INIT_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "safetensors.h"

/* Largest shard file written when no limit is given: 4 GB (decimal). */
#define ENG_INIT_SHARD_BYTES 4000000000ull

typedef struct {
    uint64_t seed;
    st_dtype dtype;         /* ST_F32 or ST_BF16 */
    uint64_t shard_bytes;   /* largest file; 0 = ENG_INIT_SHARD_BYTES */
    int threads;            /* generator threads; 0 = online CPUs */
    FILE *log;              /* progress lines, or NULL */
} eng_init_opts;

/*
 * Builds the config.json text.  source is "tiny" (the golden zaya-tiny
 * shape with vocab_size 262272, so the Gemma-3 tokenizer fits),
 * "zaya1-8b" (the ZAYA1-8B shape, spec §2.1) or a path to a config.json
 * (either schema).  sets are "key=value" overrides of integer, number and
 * boolean fields; an unknown key, a wrong type or a config that then fails
 * validation is an error.  *text is malloc'd; *cfg is the parsed result.
 */
int eng_init_config(const char *source, const char *const *sets, int nsets, st_dtype dtype,
                    char **text, eng_config *cfg, char *err, size_t errlen);

/* Sizes of the checkpoint eng_init_write would produce. */
typedef struct {
    int ntensors;
    uint64_t params;        /* elements */
    uint64_t data_bytes;    /* tensor bytes */
    int nfiles;             /* 1 = model.safetensors; more = shards + index */
} eng_init_plan;

int eng_init_plan_sizes(const eng_config *cfg, const eng_init_opts *o, eng_init_plan *plan,
                        char *err, size_t errlen);

/*
 * Writes config_text and the weights into dir, which must not exist or be
 * an empty directory.  Everything is written into a sibling staging
 * directory "DIR.tmp-PID" (each file itself under a temporary name first)
 * that is renamed to DIR only when complete, so an interrupted run never
 * leaves a DIR that looks like a checkpoint.  One model.safetensors when
 * the file fits the shard limit, else model-0000K-of-0000N.safetensors
 * shards (whole tensors, each file within the limit unless a single tensor
 * is larger) plus model.safetensors.index.json.
 */
int eng_init_write(const char *dir, const char *config_text, const eng_config *cfg,
                   const eng_init_opts *o, char *err, size_t errlen);

#endif
