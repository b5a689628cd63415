/*
 * fuzz_index.c — libFuzzer target for model.safetensors.index.json: the
 * input is the index of a checkpoint directory whose config.json is the
 * golden tiny one and which holds one small valid shard, a.safetensors;
 * eng_model_load must reject or accept it without a memory error.
 */
#define _POSIX_C_SOURCE 200809L
#include "../../engine/model.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[4096], ipath[4200];

static void put(const char *name, const void *p, size_t n)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(p, 1, n, f) != n))
        abort();
    fclose(f);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "%s/zeval-fuzz-idx-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    mkdir(dir, 0700);
    static const char cfg[] =
        "{\"model_type\":\"zaya\",\"num_hidden_layers\":2,\"hidden_size\":8,\"vocab_size\":16,"
        "\"num_attention_heads\":1,\"num_key_value_heads\":1,\"num_query_groups\":1,"
        "\"head_dim\":4,\"num_experts\":2,\"ffn_hidden_size\":8,\"zaya_mlp_expansion\":4,"
        "\"bos_token_id\":2,\"eos_token_id\":3,\"pad_token_id\":0}";
    put("config.json", cfg, sizeof cfg - 1);
    static const char hdr[] = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    uint8_t buf[8 + sizeof hdr - 1 + 8];
    uint64_t hl = sizeof hdr - 1;
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)(hl >> (8 * i));
    memcpy(buf + 8, hdr, hl);
    memset(buf + 8 + hl, 0, 8);
    put("a.safetensors", buf, sizeof buf);
    snprintf(ipath, sizeof ipath, "%s/model.safetensors.index.json", dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0])
        setup();
    put("model.safetensors.index.json", data, size);
    eng_model *m = NULL;
    char err[1024];
    if (eng_model_load(dir, ipath, &m, err, sizeof err) == 0)
        eng_model_free(m);
    return 0;
}
