/*
 * test_corrupt.c — hostile checkpoints.  Each case copies the golden tiny
 * checkpoint into a temporary directory, breaks one thing, runs the real
 * `zeval logits` on it and requires exit status 1 with a message that
 * names the file and the problem.  Cases are data: a setup function plus
 * the expected substrings.
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char gdir[4000];
static char *st_bytes;          /* golden model.safetensors */
static size_t st_len;
static char *hdr;               /* its header text (NUL-terminated copy) */
static size_t hdr_len;
static char *cfg_text;

typedef struct {
    const char *name;
    int (*setup)(const char *dir, const void *arg);
    const void *arg;
    const char *want;           /* substring of stderr naming the problem */
    const char *file;           /* substring naming the file */
} ccase;

static char *path_in(const char *dir, const char *name)
{
    static char buf[4][1024];
    static int k;
    char *b = buf[k++ & 3];
    snprintf(b, sizeof buf[0], "%s/%s", dir, name);
    return b;
}

/* Writes a safetensors file: 8-byte length (hl), header text, data. */
static int write_st(const char *path, uint64_t hl, const char *h, size_t hn, const char *data,
                    size_t dn)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    unsigned char lb[8];
    for (int i = 0; i < 8; i++)
        lb[i] = (unsigned char)(hl >> (8 * i));
    fwrite(lb, 1, 8, f);
    fwrite(h, 1, hn, f);
    fwrite(data, 1, dn, f);
    return fclose(f);
}

static const char *data_region(void)
{
    return st_bytes + 8 + hdr_len;
}

static size_t data_len(void)
{
    return st_len - 8 - hdr_len;
}

/* Copies config.json unless skip, and writes a header edited by replacing
 * the first occurrence of from with to. */
static int with_header_edit(const char *dir, const char *from, const char *to)
{
    if (ck_write(path_in(dir, "config.json"), cfg_text, strlen(cfg_text)))
        return -1;
    const char *at = strstr(hdr, from);
    if (!at) {
        fprintf(stderr, "test setup: '%s' not in header\n", from);
        return -1;
    }
    size_t a = (size_t)(at - hdr), fl = strlen(from), tl = strlen(to);
    size_t nn = hdr_len - fl + tl;
    char *nh = malloc(nn + 1);
    memcpy(nh, hdr, a);
    memcpy(nh + a, to, tl);
    memcpy(nh + a + tl, at + fl, hdr_len - a - fl);
    int r = write_st(path_in(dir, "model.safetensors"), nn, nh, nn, data_region(), data_len());
    free(nh);
    return r;
}

static int with_config_edit(const char *dir, const char *from, const char *to)
{
    if (ck_write(path_in(dir, "model.safetensors"), st_bytes, st_len))
        return -1;
    const char *at = strstr(cfg_text, from);
    if (!at)
        return -1;
    size_t a = (size_t)(at - cfg_text), fl = strlen(from), tl = strlen(to), n = strlen(cfg_text);
    char *nc = malloc(n - fl + tl + 1);
    memcpy(nc, cfg_text, a);
    memcpy(nc + a, to, tl);
    memcpy(nc + a + tl, at + fl, n - a - fl + 1);
    int r = ck_write(path_in(dir, "config.json"), nc, strlen(nc));
    free(nc);
    return r;
}

/* ------------------------------------------------------------- setups */

typedef struct {
    const char *from, *to;
} edit;

static int s_header(const char *dir, const void *arg)
{
    const edit *e = arg;
    return with_header_edit(dir, e->from, e->to);
}

static int s_config(const char *dir, const void *arg)
{
    const edit *e = arg;
    return with_config_edit(dir, e->from, e->to);
}

static int s_no_weights(const char *dir, const void *arg)
{
    return ck_write(path_in(dir, "config.json"), cfg_text, strlen(cfg_text));
}

static int s_no_config(const char *dir, const void *arg)
{
    return ck_write(path_in(dir, "model.safetensors"), st_bytes, st_len);
}

/* Keeps the first *arg bytes of the file. */
static int s_truncate(const char *dir, const void *arg)
{
    size_t keep = *(const size_t *)arg;
    if (keep == 0) /* 0 = cut half the data region */
        keep = 8 + hdr_len + data_len() / 2;
    if (ck_write(path_in(dir, "config.json"), cfg_text, strlen(cfg_text)))
        return -1;
    return ck_write(path_in(dir, "model.safetensors"), st_bytes, keep);
}

/* Header length field set to *arg, rest unchanged. */
static int s_hlen(const char *dir, const void *arg)
{
    if (ck_write(path_in(dir, "config.json"), cfg_text, strlen(cfg_text)))
        return -1;
    return write_st(path_in(dir, "model.safetensors"), *(const uint64_t *)arg, hdr, hdr_len,
                    data_region(), data_len());
}

static int s_nul(const char *dir, const void *arg)
{
    if (ck_write(path_in(dir, "config.json"), cfg_text, strlen(cfg_text)))
        return -1;
    char *nh = malloc(hdr_len);
    memcpy(nh, hdr, hdr_len);
    nh[hdr_len / 2] = 0;
    int r = write_st(path_in(dir, "model.safetensors"), hdr_len, nh, hdr_len, data_region(),
                     data_len());
    free(nh);
    return r;
}

/* Sharded: the golden file as the only shard, with an index whose
 * weight_map is the golden tensor list, edited per case. */
typedef struct {
    const char *shard_name;     /* where the shard is written */
    const char *map_file;       /* what the index names for every tensor */
    const char *odd_tensor;     /* if set: this tensor maps to odd_file (NULL file: omitted) */
    const char *odd_file;
    int twice;                  /* list odd_tensor a second time */
} shard_case;

static int s_index(const char *dir, const void *arg)
{
    const shard_case *sc = arg;
    if (ck_write(path_in(dir, "config.json"), cfg_text, strlen(cfg_text)) ||
        ck_write(path_in(dir, sc->shard_name), st_bytes, st_len))
        return -1;
    static const char small[] = "{\"dummy\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    if (write_st(path_in(dir, "other.safetensors"), sizeof small - 1, small, sizeof small - 1,
                 "\0\0\0\0", 4))
        return -1;
    /* Collect tensor names from the header: keys at depth 1. */
    size_t cap = hdr_len * 2 + 1024, n = 0;
    char *out = malloc(cap);
    n += (size_t)snprintf(out + n, cap - n, "{\"metadata\": {}, \"weight_map\": {");
    int depth = 0, first = 1;
    for (size_t i = 0; i < hdr_len; i++) {
        char c = hdr[i];
        if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']')
            depth--;
        else if (c == '"' && depth == 1) {
            size_t j = i + 1;
            while (hdr[j] != '"')
                j++;
            char name[300];
            snprintf(name, sizeof name, "%.*s", (int)(j - i - 1), hdr + i + 1);
            i = j;
            if (strcmp(name, "__metadata__") == 0)
                continue;
            const char *file = sc->map_file;
            if (sc->odd_tensor && strcmp(name, sc->odd_tensor) == 0) {
                if (!sc->odd_file)
                    continue;
                file = sc->odd_file;
            }
            n += (size_t)snprintf(out + n, cap - n, "%s\"%s\": \"%s\"", first ? "" : ", ", name,
                                  file);
            if (sc->twice && sc->odd_tensor && strcmp(name, sc->odd_tensor) == 0)
                n += (size_t)snprintf(out + n, cap - n, ", \"%s\": \"%s\"", name, file);
            first = 0;
        }
    }
    n += (size_t)snprintf(out + n, cap - n, "}}");
    int r = ck_write(path_in(dir, "model.safetensors.index.json"), out, n);
    free(out);
    return r;
}

/* ------------------------------------------------------------- cases */

static const size_t cut4 = 4, cut_half = 0;
static uint64_t hlen_past, hlen_tiny = 1;

static const edit e_brace = {"\"dtype\":", "\"dtype\"::"};
static const edit e_dtype = {"\"F32\"", "\"F33\""};
static const edit e_range = {"\"data_offsets\":[0,393216]", "\"data_offsets\":[0,99999996]"};
static const edit e_order = {"\"data_offsets\":[0,393216]", "\"data_offsets\":[393216,0]"};
static const edit e_temp_span = {"\"shape\":[2],\"data_offsets\":[786432,786440]",
                                 "\"shape\":[3],\"data_offsets\":[786432,786440]"};
static const edit e_overlap = {"\"data_offsets\":[786432,786440]", "\"data_offsets\":[786428,786436]"};
static const edit e_hidden_overlap = {"\"data_offsets\":[786432,786440]",
                                      "\"data_offsets\":[786428,786436]},\"model.zz\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[786420,786420]"};
static const edit e_dup = {"\"model.layers.0.self_attn.qkv.temp\"", "\"model.embed_tokens.weight\""};
static const edit e_missing = {"\"model.layers.0.self_attn.qkv.temp\"", "\"model.layers.0.self_attn.qkv.tmp\""};
static const edit e_extra = {"{\"model.embed_tokens.weight\"", "{\"model.extra.weight\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},\"model.embed_tokens.weight\""};
static const edit e_shape = {"\"model.final_norm.weight\":{\"dtype\":\"F32\",\"shape\":[192]",
                             "\"model.final_norm.weight\":{\"dtype\":\"F32\",\"shape\":[96,2]"};
static const edit e_i32 = {"\"model.final_norm.weight\":{\"dtype\":\"F32\"",
                           "\"model.final_norm.weight\":{\"dtype\":\"I32\""};
static const edit e_shape_str = {"\"shape\":[2]", "\"shape\":[\"2\"]"};

static const edit c_layers = {"\"num_hidden_layers\": 8", "\"num_hidden_layers\": 7"};
static const edit c_hidden_str = {"\"hidden_size\": 192", "\"hidden_size\": \"192\""};
static const edit c_hidden_val = {"\"hidden_size\": 192", "\"hidden_size\": 256"};
static const edit c_ffn = {"\"ffn_hidden_size\": 128,", ""};
static const edit c_groups = {"\"num_query_groups\": 2", "\"num_query_groups\": 1"};
static const edit c_topk = {"\"moe_router_topk\": 1", "\"moe_router_topk\": 2"};
static const edit c_json = {"\"model_type\": \"zaya\",", "\"model_type\": \"zaya\",,"};
static const edit c_vocab = {"\"vocab_size\": 512", "\"vocab_size\": 513"};
static const edit c_eos = {"\"eos_token_id\": 106", "\"eos_token_id\": 1e12"};
static const edit c_eps = {"\"norm_epsilon\": 1e-05", "\"norm_epsilon\": -1"};

static const shard_case i_missing = {"model-00001-of-00001.safetensors", "model-00002-of-00002.safetensors", NULL, NULL, 0};
static const shard_case i_wrong = {"model-00001-of-00001.safetensors", "model-00001-of-00001.safetensors", "model.final_norm.weight", "other.safetensors", 0};
static const shard_case i_unlisted = {"model-00001-of-00001.safetensors", "model-00001-of-00001.safetensors", "model.final_norm.weight", NULL, 0};
static const shard_case i_twice = {"model-00001-of-00001.safetensors", "model-00001-of-00001.safetensors", "model.final_norm.weight", "model-00001-of-00001.safetensors", 1};
static const shard_case i_traversal = {"model-00001-of-00001.safetensors", "../model-00001-of-00001.safetensors", NULL, NULL, 0};

static const ccase cases[] = {
    {"no weights file", s_no_weights, NULL, "no weights", "zeval-test"},
    {"no config.json", s_no_config, NULL, "cannot open", "config.json"},
    {"file truncated to 4 bytes", s_truncate, &cut4, "too short", "model.safetensors"},
    {"file truncated in the data region", s_truncate, &cut_half, "out of range", "model.safetensors"},
    {"header length past end of file", s_hlen, &hlen_past, "header length", "model.safetensors"},
    {"header length too small for JSON", s_hlen, &hlen_tiny, "too small", "model.safetensors"},
    {"malformed header JSON", s_header, &e_brace, "malformed header JSON", "model.safetensors"},
    {"NUL byte inside the header", s_nul, NULL, "NUL byte", "model.safetensors"},
    {"unknown dtype", s_header, &e_dtype, "unknown dtype 'F33'", "model.safetensors"},
    {"data_offsets out of range", s_header, &e_range, "out of range", "model.safetensors"},
    {"data_offsets end before begin", s_header, &e_order, "end before begin", "model.safetensors"},
    {"data span does not match shape", s_header, &e_temp_span, "needs 12", "model.safetensors"},
    {"overlapping tensors", s_header, &e_overlap, "overlap", "model.safetensors"},
    {"overlap hidden behind an empty tensor", s_header, &e_hidden_overlap, "overlap", "model.safetensors"},
    {"duplicate tensor name", s_header, &e_dup, "appears twice", "model.safetensors"},
    {"missing tensor", s_header, &e_missing, "missing tensor 'model.layers.0.self_attn.qkv.temp'", "model.safetensors"},
    {"extra tensor", s_header, &e_extra, "unexpected tensor 'model.extra.weight'", "model.safetensors"},
    {"wrong tensor shape", s_header, &e_shape, "has shape [96, 2], the config implies [192]", "model.safetensors"},
    {"integer dtype for a weight", s_header, &e_i32, "dtype I32", "model.safetensors"},
    {"shape entry not an integer", s_header, &e_shape_str, "shape[0] is not a non-negative integer", "model.safetensors"},
    {"odd num_hidden_layers", s_config, &c_layers, "field 'num_hidden_layers'", "config.json"},
    {"hidden_size as a string", s_config, &c_hidden_str, "field 'hidden_size': expected an integer", "config.json"},
    {"hidden_size disagreeing with the weights", s_config, &c_hidden_val, "the config implies", "model.safetensors"},
    {"ffn_hidden_size missing", s_config, &c_ffn, "ffn_hidden_size", "config.json"},
    {"num_query_groups != num_key_value_heads", s_config, &c_groups, "field 'num_query_groups'", "config.json"},
    {"top-2 routing", s_config, &c_topk, "only top-1", "config.json"},
    {"config.json malformed JSON", s_config, &c_json, "malformed JSON", "config.json"},
    {"vocab_size disagreeing with the embedding", s_config, &c_vocab, "model.embed_tokens.weight", "model.safetensors"},
    {"eos_token_id past the integer range", s_config, &c_eos, "field 'eos_token_id'", "config.json"},
    {"negative norm_epsilon", s_config, &c_eps, "field 'norm_epsilon'", "config.json"},
    {"index names a missing shard", s_index, &i_missing, "cannot open", "model-00002-of-00002.safetensors"},
    {"index puts a tensor in the wrong file", s_index, &i_wrong, "weight_map puts tensor 'model.final_norm.weight'", "index.json"},
    {"index omits a stored tensor", s_index, &i_unlisted, "is not listed in the weight_map", "index.json"},
    {"index lists a tensor twice", s_index, &i_twice, "more than once", "index.json"},
    {"index path traversal", s_index, &i_traversal, "not a plain file name", "index.json"},
};

int main(void)
{
    snprintf(gdir, sizeof gdir, "%s", ck_shared("golden/zaya-tiny"));
    char p[4100];
    snprintf(p, sizeof p, "%s/model.safetensors", gdir);
    st_bytes = ck_slurp(p, &st_len);
    snprintf(p, sizeof p, "%s/config.json", gdir);
    cfg_text = ck_slurp(p, NULL);
    if (!st_bytes || !cfg_text || st_len < 8) {
        printf("FAIL setup: cannot read the golden checkpoint in %s\n", gdir);
        return 1;
    }
    for (int i = 7; i >= 0; i--)
        hdr_len = (hdr_len << 8) | (unsigned char)st_bytes[i];
    hdr = malloc(hdr_len + 1);
    memcpy(hdr, st_bytes + 8, hdr_len);
    hdr[hdr_len] = 0;
    hlen_past = st_len; /* more than the file holds after the length field */

    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const ccase *c = &cases[k];
        ck_begin("%s", c->name);
        const char *tmp = ck_tmpdir();
        char dir[600];
        snprintf(dir, sizeof dir, "%s", tmp);
        int ok = c->setup(dir, c->arg) == 0;
        CK(ok, "setup failed");
        if (ok) {
            char err[8192];
            char *argv[] = {(char *)ck_zeval(), "logits", "--model", dir, "--ids", "2,5,7",
                            "--out", path_in(dir, "out.bin"), NULL};
            int rc = ck_run(argv, NULL, err, sizeof err);
            CK(rc == 1, "exit status %d, expected 1; stderr: %s", rc, err);
            CK(strstr(err, c->want) != NULL, "message lacks '%s': %s", c->want, err);
            CK(strstr(err, c->file) != NULL, "message does not name '%s': %s", c->file, err);
            CK(strstr(err, "AddressSanitizer") == NULL && strstr(err, "runtime error") == NULL,
               "sanitizer report: %s", err);
            CK(access(path_in(dir, "out.bin"), F_OK) != 0, "output written despite the error");
        }
        ck_end();
        ck_rmtree(dir);
    }
    free(hdr);
    free(st_bytes);
    free(cfg_text);
    return ck_status();
}
