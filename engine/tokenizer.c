/*
 * tokenizer.c — see tokenizer.h.
 *
 * Encode: (1) split the raw text on added tokens, leftmost-longest, with a
 * byte trie; (2) in the other segments replace the normalizer's pattern
 * (" ") with its content ("▁"); (3) each segment is one BPE word: one
 * symbol per code point (a byte of invalid UTF-8 is its own symbol), then
 * merges by rank through a min-heap keyed (rank, position) with lazy
 * invalidation, so a long word costs O(n log n); (4) symbols that are not
 * pieces fall back to their bytes' <0xNN> pieces.
 * Decode: pieces concatenated with the replacement undone; maximal runs of
 * byte pieces are emitted as their bytes when the whole run is valid
 * UTF-8, else as one U+FFFD per byte (the Hugging Face rule).
 *
 * Loading: parsing the 33 MB Gemma file takes ~0.5 s, so the parsed
 * tables are also written to a binary cache ($ZEVAL_CACHE_DIR, else
 * $XDG_CACHE_HOME/zeval, else ~/.cache/zeval) keyed by a 64-bit hash of
 * the source bytes and its size.  A cache whose key, magic or lengths do
 * not check out is ignored and rewritten; the source stays authoritative.
 */
#define _POSIX_C_SOURCE 200809L
#include "tokenizer.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOK_MAX_FILE (512u << 20)

enum { K_NORMAL = 0, K_ADDED = 1, K_SPECIAL = 2, K_BYTE = 4 };

typedef struct {
    uint64_t key;
    int32_t a, b;   /* piece map: id; pair map: rank, merged id */
} hslot;

typedef struct {
    hslot *s;
    size_t cap;     /* power of two */
} hmap;

typedef struct {
    int32_t child, sibling, id;
    uint8_t byte;
} tnode;

struct tok_tokenizer {
    int nvocab;
    char **piece;           /* [nvocab] (NULL for holes) */
    uint32_t *plen;
    uint8_t *kind;
    int byte_id[256];       /* -1 if absent */
    int byte_val_of_unk;
    int unk_id;
    hmap pieces;            /* hash(piece bytes) -> id (chained by probing, verified) */
    hmap pairs;             /* (left << 32 | right) -> rank, merged */
    tnode *trie;
    int ntrie, captrie;
    char *repl_from, *repl_to;   /* normalizer Replace */
    size_t repl_from_len, repl_to_len;
    int32_t *pre, *post;    /* post-processor template */
    int npre, npost;
    char *blob;             /* from a cache: every piece lives here, not malloc'd one by one */
};

/* ------------------------------------------------------------ hashing */

static uint64_t fnv(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h | 1; /* 0 marks an empty slot */
}

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (z ^ (z >> 31)) | 1;
}

static int hmap_init(hmap *m, size_t n)
{
    m->cap = 16;
    while (m->cap < 2 * n)
        m->cap <<= 1;
    m->s = calloc(m->cap, sizeof *m->s);
    return m->s ? 0 : -1;
}

int32_t tok_piece_id(const tok_tokenizer *t, const char *s, size_t len)
{
    uint64_t h = fnv(s, len);
    for (size_t i = h & (t->pieces.cap - 1);; i = (i + 1) & (t->pieces.cap - 1)) {
        const hslot *e = &t->pieces.s[i];
        if (!e->key)
            return -1;
        if (e->key == h && t->plen[e->a] == len && memcmp(t->piece[e->a], s, len) == 0)
            return e->a;
    }
}

static void piece_put(tok_tokenizer *t, int32_t id)
{
    uint64_t h = fnv(t->piece[id], t->plen[id]);
    for (size_t i = h & (t->pieces.cap - 1);; i = (i + 1) & (t->pieces.cap - 1)) {
        hslot *e = &t->pieces.s[i];
        if (!e->key) {
            e->key = h;
            e->a = id;
            return;
        }
        if (e->key == h && t->plen[e->a] == t->plen[id] &&
            memcmp(t->piece[e->a], t->piece[id], t->plen[id]) == 0)
            return; /* first id wins */
    }
}

static const hslot *pair_get(const tok_tokenizer *t, int32_t l, int32_t r)
{
    uint64_t key = mix(((uint64_t)(uint32_t)l << 32) | (uint32_t)r);
    uint64_t want = ((uint64_t)(uint32_t)l << 32) | (uint32_t)r;
    for (size_t i = key & (t->pairs.cap - 1);; i = (i + 1) & (t->pairs.cap - 1)) {
        const hslot *e = &t->pairs.s[i];
        if (!e->key)
            return NULL;
        if (e->key == want + 1)
            return e;
    }
}

static void pair_put(tok_tokenizer *t, int32_t l, int32_t r, int32_t rank, int32_t merged)
{
    uint64_t want = ((uint64_t)(uint32_t)l << 32) | (uint32_t)r;
    uint64_t key = mix(want);
    for (size_t i = key & (t->pairs.cap - 1);; i = (i + 1) & (t->pairs.cap - 1)) {
        hslot *e = &t->pairs.s[i];
        if (!e->key) {
            e->key = want + 1; /* never 0: ids are < 2^31 */
            e->a = rank;
            e->b = merged;
            return;
        }
        if (e->key == want + 1)
            return; /* the lower rank (first seen) wins */
    }
}

/* ------------------------------------------------------------ loading */

static int trie_add(tok_tokenizer *t, const char *s, size_t n, int32_t id)
{
    int32_t node = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = (uint8_t)s[i];
        int32_t c = t->trie[node].child;
        while (c >= 0 && t->trie[c].byte != b)
            c = t->trie[c].sibling;
        if (c < 0) {
            if (t->ntrie == t->captrie) {
                int nc = 2 * t->captrie;
                tnode *nt = realloc(t->trie, (size_t)nc * sizeof *nt);
                if (!nt)
                    return -1;
                t->trie = nt;
                t->captrie = nc;
            }
            c = t->ntrie++;
            t->trie[c] = (tnode){-1, t->trie[node].child, -1, b};
            t->trie[node].child = c;
        }
        node = c;
    }
    if (t->trie[node].id < 0) /* the lowest-listed token of a string wins */
        t->trie[node].id = id;
    return 0;
}

static int set_piece(tok_tokenizer *t, int id, const char *s)
{
    if (t->piece[id])
        return 0;
    t->plen[id] = (uint32_t)strlen(s);
    t->piece[id] = ut_strdup(s);
    return t->piece[id] ? 0 : -1;
}

static int parse_byte_piece(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    if (strlen(s) != 6 || strncmp(s, "<0x", 3) != 0 || s[5] != '>')
        return -1;
    const char *a = strchr(hex, s[3]), *b = strchr(hex, s[4]);
    if (!a || !b || !s[3] || !s[4])
        return -1;
    return (int)((a - hex) * 16 + (b - hex));
}

static int read_normalizer(tok_tokenizer *t, const cJSON *n, const char *path, char *err,
                           size_t errlen)
{
    if (!n || cJSON_IsNull(n))
        return 0;
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(n, "type");
    if (!cJSON_IsString(ty))
        return ut_err(err, errlen, "%s: normalizer has no type", path);
    if (strcmp(ty->valuestring, "Sequence") == 0) {
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(n, "normalizers"))
        if (read_normalizer(t, e, path, err, errlen))
            return -1;
        return 0;
    }
    if (strcmp(ty->valuestring, "Replace") != 0)
        return ut_err(err, errlen, "%s: normalizer '%s' is not supported", path, ty->valuestring);
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(n, "pattern");
    const cJSON *str = pat ? cJSON_GetObjectItemCaseSensitive(pat, "String") : NULL;
    const cJSON *con = cJSON_GetObjectItemCaseSensitive(n, "content");
    if (!cJSON_IsString(str) || !cJSON_IsString(con) || !*str->valuestring)
        return ut_err(err, errlen, "%s: normalizer Replace needs a String pattern and content", path);
    if (t->repl_from)
        return ut_err(err, errlen, "%s: more than one Replace normalizer is not supported", path);
    t->repl_from = ut_strdup(str->valuestring);
    t->repl_to = ut_strdup(con->valuestring);
    if (!t->repl_from || !t->repl_to)
        return ut_err(err, errlen, "out of memory");
    t->repl_from_len = strlen(t->repl_from);
    t->repl_to_len = strlen(t->repl_to);
    return 0;
}

static int read_post(tok_tokenizer *t, const cJSON *pp, const char *path, char *err, size_t errlen)
{
    if (!pp || cJSON_IsNull(pp))
        return 0;
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(pp, "type");
    if (!cJSON_IsString(ty) || strcmp(ty->valuestring, "TemplateProcessing") != 0)
        return 0; /* other post-processors add nothing we model */
    const cJSON *single = cJSON_GetObjectItemCaseSensitive(pp, "single");
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(pp, "special_tokens");
    int n = cJSON_GetArraySize(single), seen_seq = 0;
    t->pre = calloc((size_t)n + 1, sizeof(int32_t) * 8);
    t->post = calloc((size_t)n + 1, sizeof(int32_t) * 8);
    if (!t->pre || !t->post)
        return ut_err(err, errlen, "out of memory");
    const cJSON *e;
    cJSON_ArrayForEach(e, single)
    {
        if (cJSON_GetObjectItemCaseSensitive(e, "Sequence")) {
            seen_seq = 1;
            continue;
        }
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "SpecialToken");
        const cJSON *id = st ? cJSON_GetObjectItemCaseSensitive(st, "id") : NULL;
        const cJSON *def = cJSON_IsString(id) ? cJSON_GetObjectItemCaseSensitive(sp, id->valuestring) : NULL;
        const cJSON *ids = def ? cJSON_GetObjectItemCaseSensitive(def, "ids") : NULL;
        if (!cJSON_IsArray(ids) || cJSON_GetArraySize(ids) > 8)
            return ut_err(err, errlen, "%s: post_processor template names an unknown special token", path);
        const cJSON *x;
        cJSON_ArrayForEach(x, ids)
        {
            if (!cJSON_IsNumber(x) || x->valuedouble < 0 || x->valuedouble >= t->nvocab)
                return ut_err(err, errlen, "%s: post_processor special token id out of range", path);
            if (seen_seq)
                t->post[t->npost++] = (int32_t)x->valuedouble;
            else
                t->pre[t->npre++] = (int32_t)x->valuedouble;
        }
    }
    return 0;
}

static int load_json(tok_tokenizer *t, cJSON *root, const char *path, char *err, size_t errlen)
{
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *type = model ? cJSON_GetObjectItemCaseSensitive(model, "type") : NULL;
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "BPE") != 0)
        return ut_err(err, errlen, "%s: field 'model.type': only BPE tokenizers are supported", path);
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    if (!cJSON_IsObject(vocab))
        return ut_err(err, errlen, "%s: field 'model.vocab': missing or not an object", path);
    if (!cJSON_IsArray(merges))
        return ut_err(err, errlen, "%s: field 'model.merges': missing or not a list", path);
    if (added && !cJSON_IsArray(added))
        return ut_err(err, errlen, "%s: field 'added_tokens': not a list", path);
    double maxid = -1;
    const cJSON *e;
    cJSON_ArrayForEach(e, vocab)
    {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble >= (1 << 24) ||
            e->valuedouble != (int)e->valuedouble)
            return ut_err(err, errlen, "%s: model.vocab['%.40s']: id must be an integer in [0, 2^24)",
                          path, e->string);
        if (e->valuedouble > maxid)
            maxid = e->valuedouble;
    }
    cJSON_ArrayForEach(e, added)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "content");
        if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble >= (1 << 24) ||
            !cJSON_IsString(c) || !*c->valuestring)
            return ut_err(err, errlen, "%s: added_tokens: each entry needs an integer 'id' and a "
                          "non-empty 'content'", path);
        if (id->valuedouble > maxid)
            maxid = id->valuedouble;
    }
    t->nvocab = (int)maxid + 1;
    t->piece = calloc((size_t)t->nvocab + 1, sizeof *t->piece);
    t->plen = calloc((size_t)t->nvocab + 1, sizeof *t->plen);
    t->kind = calloc((size_t)t->nvocab + 1, 1);
    if (!t->piece || !t->plen || !t->kind || hmap_init(&t->pieces, (size_t)t->nvocab) ||
        hmap_init(&t->pairs, (size_t)cJSON_GetArraySize(merges)))
        return ut_err(err, errlen, "out of memory");
    for (int i = 0; i < 256; i++)
        t->byte_id[i] = -1;
    cJSON_ArrayForEach(e, vocab)
    {
        int id = (int)e->valuedouble;
        if (set_piece(t, id, e->string))
            return ut_err(err, errlen, "out of memory");
        int bv = parse_byte_piece(e->string);
        if (bv >= 0) {
            t->kind[id] |= K_BYTE;
            t->byte_id[bv] = id;
        }
    }
    t->captrie = 1024;
    t->trie = malloc((size_t)t->captrie * sizeof *t->trie);
    if (!t->trie)
        return ut_err(err, errlen, "out of memory");
    t->trie[0] = (tnode){-1, -1, -1, 0};
    t->ntrie = 1;
    cJSON_ArrayForEach(e, added)
    {
        int id = (int)cJSON_GetObjectItemCaseSensitive(e, "id")->valuedouble;
        const char *c = cJSON_GetObjectItemCaseSensitive(e, "content")->valuestring;
        if (set_piece(t, id, c) || trie_add(t, c, strlen(c), id))
            return ut_err(err, errlen, "out of memory");
        t->kind[id] |= K_ADDED;
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "special")))
            t->kind[id] |= K_SPECIAL;
        t->kind[id] &= (uint8_t)~K_BYTE;
    }
    for (int id = 0; id < t->nvocab; id++)
        if (t->piece[id])
            piece_put(t, id);
    /* Merges: [left, right] pairs or "left right" strings, in rank order. */
    int rank = 0;
    char buf[1024];
    cJSON_ArrayForEach(e, merges)
    {
        const char *l, *r;
        if (cJSON_IsArray(e) && cJSON_GetArraySize(e) == 2 &&
            cJSON_IsString(e->child) && cJSON_IsString(e->child->next)) {
            l = e->child->valuestring;
            r = e->child->next->valuestring;
        } else if (cJSON_IsString(e) && strchr(e->valuestring, ' ') &&
                   strlen(e->valuestring) < sizeof buf) {
            strcpy(buf, e->valuestring);
            char *sp = strchr(buf, ' ');
            *sp = 0;
            l = buf;
            r = sp + 1;
        } else {
            return ut_err(err, errlen, "%s: model.merges[%d] is neither [left, right] nor \"left right\"",
                          path, rank);
        }
        size_t ll = strlen(l), rl = strlen(r);
        int32_t li = tok_piece_id(t, l, ll), ri = tok_piece_id(t, r, rl);
        char *cat = malloc(ll + rl + 1);
        if (!cat)
            return ut_err(err, errlen, "out of memory");
        memcpy(cat, l, ll);
        memcpy(cat + ll, r, rl + 1);
        int32_t mi = tok_piece_id(t, cat, ll + rl);
        free(cat);
        if (li < 0 || ri < 0 || mi < 0)
            return ut_err(err, errlen, "%s: model.merges[%d] ('%.30s', '%.30s') names a piece "
                          "missing from the vocabulary", path, rank, l, r);
        pair_put(t, li, ri, rank, mi);
        rank++;
    }
    const cJSON *unk = cJSON_GetObjectItemCaseSensitive(model, "unk_token");
    t->unk_id = cJSON_IsString(unk) ? tok_piece_id(t, unk->valuestring, strlen(unk->valuestring)) : -1;
    if (read_normalizer(t, cJSON_GetObjectItemCaseSensitive(root, "normalizer"), path, err, errlen) ||
        read_post(t, cJSON_GetObjectItemCaseSensitive(root, "post_processor"), path, err, errlen))
        return -1;
    return 0;
}

/* ------------------------------------------------------------ cache */

#define CACHE_MAGIC "ZTOKC004"

static uint64_t src_hash(const char *b, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    for (; i < n; i++)
        h = (h ^ (uint8_t)b[i]) * 0x100000001b3ull;
    return mix(h);
}

static char *cache_path(uint64_t key)
{
    const char *d = getenv("ZEVAL_CACHE_DIR"), *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
    char dir[2048];
    if (d && *d)
        snprintf(dir, sizeof dir, "%s", d);
    else if (x && *x)
        snprintf(dir, sizeof dir, "%s/zeval", x);
    else if (h && *h)
        snprintf(dir, sizeof dir, "%s/.cache/zeval", h);
    else
        return NULL;
    char *p = malloc(strlen(dir) + 64);
    if (!p)
        return NULL;
    /* create the directory chain, best effort */
    for (char *q = dir + 1; *q; q++)
        if (*q == '/') {
            *q = 0;
            mkdir(dir, 0755);
            *q = '/';
        }
    mkdir(dir, 0755);
    sprintf(p, "%s/tok-%016llx.bin", dir, (unsigned long long)key);
    return p;
}

typedef struct {
    FILE *f;
    int ok;
    uint64_t sum;   /* FNV-1a of every byte written: the cache's own checksum */
} wr;

static uint64_t fnv_more(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static void w(wr *o, const void *p, size_t n)
{
    o->sum = fnv_more(o->sum, p, n);
    if (o->ok && n && fwrite(p, 1, n, o->f) != n)
        o->ok = 0;
}

/* Writes the cache; failures are silent (the cache is an optimisation). */
static void cache_save(const tok_tokenizer *t, const char *path, uint64_t key, uint64_t size)
{
    char *tmp = malloc(strlen(path) + 32);
    if (!tmp)
        return;
    sprintf(tmp, "%s.%ld.tmp", path, (long)getpid());
    wr o = {fopen(tmp, "wb"), 1, 1469598103934665603ull};
    if (!o.f) {
        free(tmp);
        return;
    }
    uint64_t blob = 0;
    for (int i = 0; i < t->nvocab; i++)
        blob += t->piece[i] ? t->plen[i] + 1 : 0; /* pieces stay NUL-terminated */
    int64_t hdr[12] = {(int64_t)key, (int64_t)size, t->nvocab, (int64_t)blob,
                       (int64_t)t->pieces.cap, (int64_t)t->pairs.cap, t->ntrie, t->unk_id,
                       t->repl_from ? (int64_t)t->repl_from_len : -1,
                       t->repl_to ? (int64_t)t->repl_to_len : -1, t->npre, t->npost};
    w(&o, CACHE_MAGIC, 8);
    w(&o, hdr, sizeof hdr);
    for (int i = 0; i < t->nvocab; i++) {
        uint32_t l = t->piece[i] ? t->plen[i] : 0xffffffffu;
        w(&o, &l, 4);
    }
    w(&o, t->kind, (size_t)t->nvocab);
    for (int i = 0; i < t->nvocab; i++)
        if (t->piece[i])
            w(&o, t->piece[i], t->plen[i] + 1);
    w(&o, t->byte_id, sizeof t->byte_id);
    w(&o, t->pieces.s, t->pieces.cap * sizeof(hslot));
    w(&o, t->pairs.s, t->pairs.cap * sizeof(hslot));
    w(&o, t->trie, (size_t)t->ntrie * sizeof(tnode));
    if (t->repl_from) {
        w(&o, t->repl_from, t->repl_from_len);
        w(&o, t->repl_to, t->repl_to_len);
    }
    w(&o, t->pre, (size_t)t->npre * sizeof(int32_t));
    w(&o, t->post, (size_t)t->npost * sizeof(int32_t));
    w(&o, CACHE_MAGIC, 8);
    uint64_t sum = o.sum;
    w(&o, &sum, 8);
    int ok = (fclose(o.f) == 0) && o.ok;
    if (!ok || rename(tmp, path) != 0)
        unlink(tmp);
    free(tmp);
}

typedef struct {
    const char *p, *end;
} rd;

static int r(rd *i, void *dst, size_t n)
{
    if ((size_t)(i->end - i->p) < n)
        return -1;
    memcpy(dst, i->p, n);
    i->p += n;
    return 0;
}

static void *r_alloc(rd *i, size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p && r(i, p, n)) {
        free(p);
        return NULL;
    }
    return p;
}

/* Loads a cache written for (key, size); 0 on success, -1 if unusable. */
static int cache_load(tok_tokenizer *t, const char *path, uint64_t key, uint64_t size)
{
    char *buf = NULL;
    size_t n = 0;
    if (ut_read_file(path, TOK_MAX_FILE, &buf, &n, NULL, 0))
        return -1;
    uint64_t sum;
    if (n < 16)
        goto bad;
    memcpy(&sum, buf + n - 8, 8);
    if (fnv_more(1469598103934665603ull, buf, n - 8) != sum)
        goto bad; /* torn or corrupted: rebuild */
    n -= 8;
    rd in = {buf, buf + n};
    char magic[8];
    int64_t h[12];
    int rc = -1;
    if (r(&in, magic, 8) || memcmp(magic, CACHE_MAGIC, 8) || r(&in, h, sizeof h) ||
        (uint64_t)h[0] != key || (uint64_t)h[1] != size || h[2] <= 0 || h[2] > (1 << 24) ||
        h[3] < 0 || h[4] <= 0 || (h[4] & (h[4] - 1)) || h[5] <= 0 || (h[5] & (h[5] - 1)) ||
        h[6] <= 0 || h[10] < 0 || h[10] > 64 || h[11] < 0 || h[11] > 64 || h[8] > 64 || h[9] > 64)
        goto done;
    t->nvocab = (int)h[2];
    uint32_t *lens = r_alloc(&in, (size_t)t->nvocab * 4);
    t->plen = calloc((size_t)t->nvocab + 1, sizeof *t->plen);
    t->piece = calloc((size_t)t->nvocab + 1, sizeof *t->piece);
    t->kind = r_alloc(&in, (size_t)t->nvocab);
    t->blob = r_alloc(&in, (size_t)h[3]);
    if (!lens || !t->plen || !t->piece || !t->kind || !t->blob) {
        free(lens);
        goto done;
    }
    uint64_t off = 0;
    for (int i = 0; i < t->nvocab; i++) {
        if (lens[i] == 0xffffffffu)
            continue;
        if (off + lens[i] + 1 > (uint64_t)h[3] || t->blob[off + lens[i]] != 0) {
            free(lens);
            goto done;
        }
        t->piece[i] = t->blob + off;
        t->plen[i] = lens[i];
        off += lens[i] + 1;
    }
    free(lens);
    t->pieces.cap = (size_t)h[4];
    t->pairs.cap = (size_t)h[5];
    t->ntrie = t->captrie = (int)h[6];
    t->unk_id = (int)h[7];
    if (off != (uint64_t)h[3] || r(&in, t->byte_id, sizeof t->byte_id) ||
        !(t->pieces.s = r_alloc(&in, t->pieces.cap * sizeof(hslot))) ||
        !(t->pairs.s = r_alloc(&in, t->pairs.cap * sizeof(hslot))) ||
        !(t->trie = r_alloc(&in, (size_t)t->ntrie * sizeof(tnode))))
        goto done;
    if (h[8] >= 0) {
        t->repl_from_len = (size_t)h[8];
        t->repl_to_len = (size_t)h[9];
        if (!(t->repl_from = calloc(t->repl_from_len + 1, 1)) ||
            !(t->repl_to = calloc(t->repl_to_len + 1, 1)) ||
            r(&in, t->repl_from, t->repl_from_len) || r(&in, t->repl_to, t->repl_to_len))
            goto done;
    }
    t->npre = (int)h[10];
    t->npost = (int)h[11];
    t->pre = calloc((size_t)t->npre + 1, sizeof(int32_t));
    t->post = calloc((size_t)t->npost + 1, sizeof(int32_t));
    if (!t->pre || !t->post || r(&in, t->pre, (size_t)t->npre * 4) ||
        r(&in, t->post, (size_t)t->npost * 4) || r(&in, magic, 8) || memcmp(magic, CACHE_MAGIC, 8) ||
        in.p != in.end)
        goto done;
    /* Every id the tables hand out must be in range. */
    for (size_t i = 0; i < t->pieces.cap; i++)
        if (t->pieces.s[i].key && (t->pieces.s[i].a < 0 || t->pieces.s[i].a >= t->nvocab ||
                                   !t->piece[t->pieces.s[i].a]))
            goto done;
    for (size_t i = 0; i < t->pairs.cap; i++)
        if (t->pairs.s[i].key && (t->pairs.s[i].b < 0 || t->pairs.s[i].b >= t->nvocab))
            goto done;
    for (int i = 0; i < t->ntrie; i++)
        if (t->trie[i].child >= t->ntrie || t->trie[i].sibling >= t->ntrie ||
            t->trie[i].id >= t->nvocab)
            goto done;
    for (int i = 0; i < 256; i++)
        if (t->byte_id[i] >= t->nvocab)
            goto done;
    for (int i = 0; i < t->npre; i++)
        if (t->pre[i] < 0 || t->pre[i] >= t->nvocab)
            goto done;
    for (int i = 0; i < t->npost; i++)
        if (t->post[i] < 0 || t->post[i] >= t->nvocab)
            goto done;
    if (t->unk_id >= t->nvocab)
        goto done;
    rc = 0;
done:
    free(buf);
    return rc;
bad:
    free(buf);
    return -1;
}

/* Empties t after a failed cache load so a parse can start afresh. */
static void reset(tok_tokenizer *t)
{
    free(t->piece);
    free(t->plen);
    free(t->kind);
    free(t->blob);
    free(t->pieces.s);
    free(t->pairs.s);
    free(t->trie);
    free(t->repl_from);
    free(t->repl_to);
    free(t->pre);
    free(t->post);
    memset(t, 0, sizeof *t);
}

int tok_load(const char *path, tok_tokenizer **out, char *err, size_t errlen)
{
    *out = NULL;
    struct stat st;
    char *file = (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) ? ut_path_join(path, "tokenizer.json")
                                                              : ut_strdup(path);
    if (!file)
        return ut_err(err, errlen, "out of memory");
    char *text = NULL;
    cJSON *root = NULL;
    tok_tokenizer *t = calloc(1, sizeof *t);
    int rc = -1;
    if (!t) {
        ut_err(err, errlen, "out of memory");
        goto done;
    }
    size_t tlen = 0;
    if (ut_read_file(file, TOK_MAX_FILE, &text, &tlen, err, errlen))
        goto done;
    uint64_t key = src_hash(text, tlen);
    char *cpath = getenv("ZEVAL_NO_TOKCACHE") ? NULL : cache_path(key);
    if (cpath && cache_load(t, cpath, key, tlen) == 0) {
        free(cpath);
        rc = 0;
        goto done;
    }
    reset(t);
    root = cJSON_Parse(text);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        ut_err(err, errlen, "%s: malformed JSON near byte %zu", file,
               at && at >= text ? (size_t)(at - text) : (size_t)0);
        free(cpath);
        goto done;
    }
    free(text);
    text = NULL;
    if (load_json(t, root, file, err, errlen)) {
        free(cpath);
        goto done;
    }
    if (cpath)
        cache_save(t, cpath, key, tlen);
    free(cpath);
    rc = 0;
done:
    cJSON_Delete(root);
    free(text);
    free(file);
    if (rc)
        tok_free(t);
    else
        *out = t;
    return rc;
}

void tok_free(tok_tokenizer *t)
{
    if (!t)
        return;
    for (int i = 0; t->piece && !t->blob && i < t->nvocab; i++)
        free(t->piece[i]);
    reset(t);
    free(t);
}

int tok_vocab_size(const tok_tokenizer *t)
{
    return t->nvocab;
}

/* ------------------------------------------------------------ encoding */

typedef struct {
    int32_t *v;
    size_t n, cap;
    int oom;
} ibuf;

static void push(ibuf *b, int32_t x)
{
    if (b->n == b->cap) {
        size_t nc = b->cap ? 2 * b->cap : 256;
        int32_t *nv = realloc(b->v, nc * sizeof *nv);
        if (!nv) {
            b->oom = 1;
            return;
        }
        b->v = nv;
        b->cap = nc;
    }
    b->v[b->n++] = x;
}

/* Length of the valid UTF-8 character at s (strict, as Rust's from_utf8),
 * or 0 if the bytes there are not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

typedef struct {
    uint32_t rank, pos;
    int32_t left, right;
} hentry;

static int hless(const hentry *a, const hentry *b)
{
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void hpush(hentry *h, size_t *n, hentry e)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!hless(&e, &h[p]))
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = e;
}

static hentry hpop(hentry *h, size_t *n)
{
    hentry top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && hless(&h[c + 1], &h[c]))
            c++;
        if (!hless(&h[c], &last))
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n)
        h[i] = last;
    return top;
}

/* BPE over one normalised word w[0..n); appends ids to out. */
static int bpe_word(const tok_tokenizer *t, const char *w, size_t n, ibuf *out)
{
    size_t ns = 0;
    int32_t *id = malloc(n * sizeof *id), *prev = malloc(n * sizeof *prev), *next = malloc(n * sizeof *next);
    uint32_t *start = malloc(n * sizeof *start), *len = malloc(n * sizeof *len);
    hentry *heap = malloc((2 * n + 1) * sizeof *heap);
    int rc = -1;
    if (!id || !prev || !next || !start || !len || !heap)
        goto done;
    for (size_t i = 0; i < n;) {
        size_t l = utf8_len((const unsigned char *)w + i, n - i);
        if (!l)
            l = 1; /* an invalid byte: its own symbol, never a piece */
        start[ns] = (uint32_t)i;
        len[ns] = (uint32_t)l;
        id[ns] = utf8_len((const unsigned char *)w + i, n - i) ? tok_piece_id(t, w + i, l) : -1;
        prev[ns] = (int32_t)ns - 1;
        next[ns] = (int32_t)ns + 1;
        ns++;
        i += l;
    }
    if (ns)
        next[ns - 1] = -1;
    size_t hn = 0;
    for (size_t i = 0; i + 1 < ns; i++) {
        const hslot *p = id[i] >= 0 && id[i + 1] >= 0 ? pair_get(t, id[i], id[i + 1]) : NULL;
        if (p)
            hpush(heap, &hn, (hentry){(uint32_t)p->a, start[i], (int32_t)i, (int32_t)i + 1});
    }
    while (hn) {
        hentry e = hpop(heap, &hn);
        int32_t l = e.left, r = e.right;
        if (len[l] == 0 || len[r] == 0 || next[l] != r)
            continue;
        const hslot *p = id[l] >= 0 && id[r] >= 0 ? pair_get(t, id[l], id[r]) : NULL;
        if (!p || (uint32_t)p->a != e.rank)
            continue;
        id[l] = p->b;
        len[l] += len[r];
        len[r] = 0;
        next[l] = next[r];
        if (next[r] >= 0)
            prev[next[r]] = l;
        if (prev[l] >= 0) {
            int32_t q = prev[l];
            const hslot *pp = id[q] >= 0 ? pair_get(t, id[q], id[l]) : NULL;
            if (pp)
                hpush(heap, &hn, (hentry){(uint32_t)pp->a, start[q], q, l});
        }
        if (next[l] >= 0) {
            int32_t q = next[l];
            const hslot *pp = id[q] >= 0 ? pair_get(t, id[l], id[q]) : NULL;
            if (pp)
                hpush(heap, &hn, (hentry){(uint32_t)pp->a, start[l], l, q});
        }
    }
    for (int32_t i = ns ? 0 : -1; i >= 0; i = next[i]) {
        if (id[i] >= 0) {
            push(out, id[i]);
            continue;
        }
        for (uint32_t k = 0; k < len[i]; k++) {
            int b = (uint8_t)w[start[i] + k];
            push(out, t->byte_id[b] >= 0 ? t->byte_id[b] : t->unk_id);
        }
    }
    rc = out->oom ? -1 : 0;
done:
    free(id);
    free(prev);
    free(next);
    free(start);
    free(len);
    free(heap);
    return rc;
}

/* Normalises seg (replace) and runs BPE on it. */
static int encode_segment(const tok_tokenizer *t, const char *s, size_t n, ibuf *out)
{
    if (!n)
        return 0;
    if (!t->repl_from)
        return bpe_word(t, s, n, out);
    size_t cnt = 0;
    for (size_t i = 0; i + t->repl_from_len <= n;)
        if (memcmp(s + i, t->repl_from, t->repl_from_len) == 0) {
            cnt++;
            i += t->repl_from_len;
        } else
            i++;
    size_t nn = n + cnt * t->repl_to_len;
    char *w = malloc(nn ? nn : 1);
    if (!w)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        if (i + t->repl_from_len <= n && memcmp(s + i, t->repl_from, t->repl_from_len) == 0) {
            memcpy(w + k, t->repl_to, t->repl_to_len);
            k += t->repl_to_len;
            i += t->repl_from_len;
        } else
            w[k++] = s[i++];
    }
    int rc = bpe_word(t, w, k, out);
    free(w);
    return rc;
}

int tok_encode(const tok_tokenizer *t, const char *text, size_t n, int add_special, int32_t **ids,
               size_t *nids, char *err, size_t errlen)
{
    ibuf out = {0};
    if (add_special)
        for (int i = 0; i < t->npre; i++)
            push(&out, t->pre[i]);
    size_t seg = 0, i = 0;
    while (i < n) {
        /* Longest added token starting at i. */
        int32_t node = 0, best = -1;
        size_t bestlen = 0;
        for (size_t k = i; k < n; k++) {
            int32_t c = t->trie[node].child;
            while (c >= 0 && t->trie[c].byte != (uint8_t)text[k])
                c = t->trie[c].sibling;
            if (c < 0)
                break;
            node = c;
            if (t->trie[node].id >= 0) {
                best = t->trie[node].id;
                bestlen = k - i + 1;
            }
        }
        if (best >= 0) {
            if (encode_segment(t, text + seg, i - seg, &out))
                goto oom;
            push(&out, best);
            i += bestlen;
            seg = i;
            continue;
        }
        size_t l = utf8_len((const unsigned char *)text + i, n - i);
        i += l ? l : 1;
    }
    if (encode_segment(t, text + seg, n - seg, &out))
        goto oom;
    if (add_special)
        for (int k = 0; k < t->npost; k++)
            push(&out, t->post[k]);
    if (out.oom)
        goto oom;
    *ids = out.v ? out.v : malloc(sizeof(int32_t));
    *nids = out.n;
    return 0;
oom:
    free(out.v);
    return ut_err(err, errlen, "out of memory encoding %zu bytes", n);
}

/* ------------------------------------------------------------ decoding */

typedef struct {
    char *s;
    size_t n, cap;
    int oom;
} sbuf;

static void put(sbuf *b, const char *p, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->n + n + 1)
            nc *= 2;
        char *ns = realloc(b->s, nc);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->n, p, n);
    b->n += n;
    b->s[b->n] = 0;
}

static int run_valid(const unsigned char *r, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t l = utf8_len(r + i, n - i);
        if (!l)
            return 0;
        i += l;
    }
    return 1;
}

static void flush_bytes(sbuf *o, unsigned char *run, size_t *nrun)
{
    if (run_valid(run, *nrun))
        put(o, (const char *)run, *nrun);
    else
        for (size_t i = 0; i < *nrun; i++)
            put(o, "\xEF\xBF\xBD", 3);
    *nrun = 0;
}

int tok_decode(const tok_tokenizer *t, const int32_t *ids, size_t n, int skip_special, char **text,
               size_t *len, char *err, size_t errlen)
{
    sbuf o = {0};
    unsigned char *run = malloc(n ? n : 1);
    size_t nrun = 0;
    if (!run)
        return ut_err(err, errlen, "out of memory");
    put(&o, "", 0);
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= t->nvocab || !t->piece[id])
            continue;
        if (skip_special && (t->kind[id] & K_SPECIAL))
            continue;
        if (t->kind[id] & K_BYTE) {
            run[nrun++] = (unsigned char)parse_byte_piece(t->piece[id]);
            continue;
        }
        if (nrun)
            flush_bytes(&o, run, &nrun);
        const char *p = t->piece[id];
        size_t pl = t->plen[id];
        if (!t->repl_to) {
            put(&o, p, pl);
            continue;
        }
        for (size_t k = 0; k < pl;) {
            if (k + t->repl_to_len <= pl && memcmp(p + k, t->repl_to, t->repl_to_len) == 0) {
                put(&o, t->repl_from, t->repl_from_len);
                k += t->repl_to_len;
            } else {
                put(&o, p + k, 1);
                k++;
            }
        }
    }
    if (nrun)
        flush_bytes(&o, run, &nrun);
    free(run);
    if (o.oom) {
        free(o.s);
        return ut_err(err, errlen, "out of memory decoding %zu ids", n);
    }
    *text = o.s;
    *len = o.n;
    return 0;
}
