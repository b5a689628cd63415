/*
 * tokenizer.c — see tokenizer.h.
 *
 * Encode: (1) split the raw text on added tokens, leftmost-longest, with a
 * byte trie; (2) in the other segments replace the normalizer's pattern
 * (" ") with its content ("▁"), while reading the symbols when that is
 * equivalent; (3) each segment is one BPE word: one symbol per code point
 * (a byte of invalid UTF-8 is its own symbol), then merges by rank through
 * a min-heap keyed (rank, position) with lazy invalidation, so a long word
 * costs O(n log n) time and ~12 bytes per character (see "Symbols");
 * where no piece can span a boundary (before a space, derive()) the word
 * is cut into sub-words, and short ones are cached per call; (4) symbols
 * that are not pieces fall back to their bytes' <0xNN> pieces.
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
    /* Derived after loading (derive()), never cached: */
    int32_t *cp_id;         /* [CP_TAB] id of the piece that is exactly code point cp, or -1 */
    int32_t root[256];      /* trie child of the root for a first byte, or -1 */
    int32_t repl_sym[8];    /* the symbols of repl_to */
    int nrepl_sym;
    int stream_norm;        /* the Replace can be applied while reading symbols */
    int can_cut;            /* words may be cut before a replaced space (see derive()) */
    uint32_t sep_cp;        /* the code point of repl_to when can_cut */
    uint32_t pred_cp[16];   /* code points that precede sep_cp inside some piece */
    int npred;
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
    (void)ut_mkdirs(dir, NULL, 0); /* best effort: without it there is no cache */
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

static int derive(tok_tokenizer *t);

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
    free(t->cp_id);
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
        if (derive(t))
            ut_err(err, errlen, "out of memory");
        else
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
    if (derive(t)) {
        ut_err(err, errlen, "out of memory");
        goto done;
    }
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

/*
 * Symbols.  A BPE word is an array of int32 symbols, one per code point: a
 * piece id (>= 0); for a code point that is not a piece, -(1 + cp); for a
 * byte that is not valid UTF-8, -(0x110001 + byte).  Negative symbols never
 * merge and fall back to <0xNN> pieces.  A symbol merged into its left
 * neighbour becomes DEAD, so a token is a live symbol followed by DEAD ones
 * and neighbours are found by skipping DEAD entries (at most the longest
 * piece's length).  A word costs 4 bytes per code point plus one 8-byte
 * heap entry per candidate pair, with the heap compacted when full: a
 * 100 MB word stays near 13x its size.
 */
#define CP_TAB 0x20000
#define DEAD INT32_MIN
#define SYM_BAD_BYTE(b) (-(int32_t)(0x110001 + (b)))
#define SYM_UNK_CP(cp) (-(int32_t)(cp) - 1)
#define WORD_MAX ((size_t)UINT32_MAX - 64)

typedef struct {
    int32_t *v;
    size_t n, cap;
    int oom;
} ibuf;

/* Grows *p (cap elements of elem bytes) to hold at least need; 0 or -1. */
static int reserve(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 256;
    while (nc < need)
        nc *= 2;
    void *np = realloc(*p, nc * elem);
    if (!np)
        return -1;
    *p = np;
    *cap = nc;
    return 0;
}

static void push(ibuf *b, int32_t x)
{
    if (b->n == b->cap && reserve((void **)&b->v, &b->cap, b->n + 1, sizeof *b->v)) {
        b->oom = 1;
        return;
    }
    b->v[b->n++] = x;
}

static void push_n(ibuf *b, const int32_t *x, size_t n)
{
    if (reserve((void **)&b->v, &b->cap, b->n + n, sizeof *b->v)) {
        b->oom = 1;
        return;
    }
    memcpy(b->v + b->n, x, n * sizeof *x);
    b->n += n;
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

/* The code point of the valid l-byte character at s. */
static uint32_t utf8_cp(const unsigned char *s, size_t l)
{
    if (l == 1)
        return s[0];
    uint32_t c = s[0] & (0x7Fu >> l);
    for (size_t i = 1; i < l; i++)
        c = (c << 6) | (s[i] & 0x3Fu);
    return c;
}

/* Writes code point c (< 0x110000) as UTF-8; returns the length. */
static size_t utf8_put(unsigned char *o, uint32_t c)
{
    if (c < 0x80) {
        o[0] = (unsigned char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (unsigned char)(0xC0 | (c >> 6));
        o[1] = (unsigned char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (c >> 12));
        o[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (c >> 18));
    o[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (c & 0x3F));
    return 4;
}

/* The symbol of the character at w: l is its valid length, 0 if the byte
 * at w is not valid UTF-8. */
static int32_t sym_of(const tok_tokenizer *t, const char *w, size_t l)
{
    if (!l)
        return SYM_BAD_BYTE((uint8_t)w[0]);
    uint32_t cp = utf8_cp((const unsigned char *)w, l);
    int32_t id = cp < CP_TAB ? t->cp_id[cp] : tok_piece_id(t, w, l);
    return id >= 0 ? id : SYM_UNK_CP(cp);
}

/*
 * Tables derived from the loaded ones (both load paths): the code point ->
 * id table, the root of the added-token trie by first byte, and whether a
 * BPE word may be cut into independent sub-words.
 *
 * Cutting: a merge produces a piece whose text is its two halves' texts
 * joined, so no merge ever crosses a boundary between characters x and y
 * unless some piece contains x immediately followed by y.  When the
 * normalizer turns one ASCII byte (" ") into one code point ("▁"), a word
 * is cut before each replaced space whose preceding character is neither
 * another replaced space/"▁" nor one of the (few) characters that precede
 * "▁" inside a piece (Gemma 3: only ">", from ">▁</").  BPE on the pieces
 * then equals BPE on the whole word, and the short pieces are cached.
 */
static int derive(tok_tokenizer *t)
{
    t->cp_id = malloc(CP_TAB * sizeof *t->cp_id);
    if (!t->cp_id)
        return -1;
    for (size_t i = 0; i < CP_TAB; i++)
        t->cp_id[i] = -1;
    for (int id = 0; id < t->nvocab; id++) {
        const unsigned char *p = (const unsigned char *)t->piece[id];
        if (!p || !t->plen[id] || utf8_len(p, t->plen[id]) != t->plen[id])
            continue;
        uint32_t cp = utf8_cp(p, t->plen[id]);
        if (cp < CP_TAB && t->cp_id[cp] < 0)
            t->cp_id[cp] = tok_piece_id(t, t->piece[id], t->plen[id]);
    }
    for (int b = 0; b < 256; b++)
        t->root[b] = -1;
    for (int32_t c = t->trie[0].child; c >= 0; c = t->trie[c].sibling)
        t->root[t->trie[c].byte] = c;
    t->stream_norm = t->can_cut = 0;
    t->nrepl_sym = t->npred = 0;
    if (!t->repl_from)
        return 0;
    const unsigned char *f = (const unsigned char *)t->repl_from;
    const unsigned char *to = (const unsigned char *)t->repl_to;
    /* Replacing while reading characters equals replacing first when
     * neither string can start inside a UTF-8 sequence. */
    int ok = t->repl_to_len > 0 && (f[0] & 0xC0) != 0x80 && (to[0] & 0xC0) != 0x80;
    for (size_t i = 0; ok && i < t->repl_to_len;) {
        size_t l = utf8_len(to + i, t->repl_to_len - i);
        if (!l || t->nrepl_sym == 8)
            ok = 0;
        else
            t->repl_sym[t->nrepl_sym++] = sym_of(t, t->repl_to + i, l);
        i += l;
    }
    t->stream_norm = ok;
    if (!ok || t->repl_from_len != 1 || f[0] >= 0x80 || t->nrepl_sym != 1)
        return 0;
    t->sep_cp = utf8_cp(to, t->repl_to_len);
    t->can_cut = 1;
    for (int id = 0; id < t->nvocab && t->can_cut; id++) {
        const unsigned char *p = (const unsigned char *)t->piece[id];
        size_t n = p ? t->plen[id] : 0;
        uint32_t prev = t->sep_cp;
        for (size_t i = 0; i < n;) {
            size_t l = utf8_len(p + i, n - i);
            uint32_t cp = l ? utf8_cp(p + i, l) : 0xFFFFFFFFu;
            if (cp == t->sep_cp && prev != t->sep_cp) {
                int k = 0;
                while (k < t->npred && t->pred_cp[k] != prev)
                    k++;
                if (prev == 0xFFFFFFFFu || k == 16)
                    t->can_cut = 0; /* too many: never cut */
                else if (k == t->npred)
                    t->pred_cp[t->npred++] = prev;
            }
            prev = cp;
            i += l ? l : 1;
        }
    }
    return 0;
}

/* May a word of segment s be cut before the replaced space at s[i] (i > 0)? */
static int cut_before(const tok_tokenizer *t, const char *s, size_t i)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char b = u[i - 1];
    if (b == (unsigned char)t->repl_from[0])
        return 0; /* a run of spaces is one sub-word */
    uint32_t cp = b;
    if (b >= 0x80) {
        size_t j = i - 1;
        while (j > 0 && i - j < 4 && (u[j] & 0xC0) == 0x80)
            j--;
        if (utf8_len(u + j, i - j) != i - j)
            return 1; /* an invalid byte: it never merges */
        cp = utf8_cp(u + j, i - j);
    }
    if (cp == t->sep_cp)
        return 0;
    for (int k = 0; k < t->npred; k++)
        if (t->pred_cp[k] == cp)
            return 0;
    return 1;
}

/* HA-ary min-heap of (rank << 32 | position) keys: a node's children share
 * one or two cache lines. */
#define HA 8
static void h_up(uint64_t *h, size_t i)
{
    uint64_t e = h[i];
    while (i) {
        size_t p = (i - 1) / HA;
        if (h[p] <= e)
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = e;
}

static void h_down(uint64_t *h, size_t n, size_t i)
{
    uint64_t e = h[i];
    for (;;) {
        size_t c = HA * i + 1, m = c;
        if (c >= n)
            break;
        size_t end = c + HA < n ? c + HA : n;
        for (size_t k = c + 1; k < end; k++)
            if (h[k] < h[m])
                m = k;
        if (h[m] >= e)
            break;
        h[i] = h[m];
        i = m;
    }
    h[i] = e;
}

static void h_make(uint64_t *h, size_t n)
{
    for (size_t i = n > 1 ? (n - 2) / HA + 1 : 0; i-- > 0;)
        h_down(h, n, i);
}

static size_t nxt(const int32_t *s, size_t n, size_t a)
{
    size_t b = a + 1;
    while (b < n && s[b] == DEAD)
        b++;
    return b;
}

/* The live symbol before a > 0 (s[0] is always live). */
static size_t prv(const int32_t *s, size_t a)
{
    size_t b = a - 1;
    while (s[b] == DEAD)
        b--;
    return b;
}

/* The merge a heap entry stands for, if the pair now at its position still
 * has its rank (a stale entry otherwise); *pb gets the right symbol. */
static const hslot *entry_pair(const tok_tokenizer *t, const int32_t *s, size_t n, uint64_t e,
                               size_t *pb)
{
    size_t a = (uint32_t)e;
    if (s[a] < 0)
        return NULL;
    size_t b = nxt(s, n, a);
    if (b >= n || s[b] < 0)
        return NULL;
    const hslot *p = pair_get(t, s[a], s[b]);
    if (!p || (uint32_t)p->a != (uint32_t)(e >> 32))
        return NULL;
    *pb = b;
    return p;
}

static uint64_t hkey(const hslot *p, size_t pos)
{
    return (uint64_t)(uint32_t)p->a << 32 | (uint64_t)pos;
}

/*
 * BPE over symbols s[0..n) in place: repeatedly merge the adjacent pair of
 * lowest rank, leftmost first.  h has room for cap >= n + 2 entries.
 * Stale entries are skipped when popped; when the heap fills up, they are
 * dropped all at once.  Each compaction leaves room for more merges than
 * have happened so far, so there are O(log n) of them.
 */
static void bpe(const tok_tokenizer *t, int32_t *s, size_t n, uint64_t *h, size_t cap)
{
    size_t hn = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] < 0 || s[i + 1] < 0)
            continue;
        const hslot *p = pair_get(t, s[i], s[i + 1]);
        if (p)
            h[hn++] = hkey(p, i);
    }
    h_make(h, hn);
    while (hn) {
        uint64_t e = h[0];
        h[0] = h[--hn];
        h_down(h, hn, 0);
        size_t a = (uint32_t)e, b;
        const hslot *p = entry_pair(t, s, n, e, &b);
        if (!p)
            continue;
        s[a] = p->b;
        s[b] = DEAD;
        uint64_t add[2];
        int na = 0;
        if (a > 0) {
            size_t q = prv(s, a);
            if (s[q] >= 0 && (p = pair_get(t, s[q], s[a])))
                add[na++] = hkey(p, q);
        }
        b = nxt(s, n, a);
        if (b < n && s[b] >= 0 && (p = pair_get(t, s[a], s[b])))
            add[na++] = hkey(p, a);
        if (hn + (size_t)na > cap) {
            size_t k = 0, pb;
            for (size_t i = 0; i < hn; i++)
                if (entry_pair(t, s, n, h[i], &pb))
                    h[k++] = h[i];
            hn = k;
            h_make(h, hn);
        }
        for (int k = 0; k < na; k++) {
            h[hn] = add[k];
            h_up(h, hn++);
        }
    }
}

/* Appends the ids of the live symbols, unknown ones as their bytes. */
static void emit(const tok_tokenizer *t, const int32_t *s, size_t n, ibuf *out)
{
    for (size_t i = 0; i < n; i++) {
        int32_t v = s[i];
        if (v >= 0) {
            push(out, v);
            continue;
        }
        if (v == DEAD)
            continue;
        unsigned char u[4];
        size_t k = 1;
        if (v <= SYM_BAD_BYTE(0))
            u[0] = (unsigned char)(-(int64_t)v - 0x110001);
        else
            k = utf8_put(u, (uint32_t)(-(int64_t)v - 1));
        for (size_t j = 0; j < k; j++) {
            int32_t id = t->byte_id[u[j]] >= 0 ? t->byte_id[u[j]] : t->unk_id;
            if (id >= 0)
                push(out, id);
        }
    }
}

/* A per-call cache of short sub-words -> ids, bounded: when half full it
 * starts over. */
#define WC_SLOTS (1u << 15)
#define WC_KEY 64

typedef struct {
    uint64_t h;
    uint32_t koff, ioff;
    uint16_t klen, nid;
} wslot;

typedef struct {
    const tok_tokenizer *t;
    int32_t *sym;           /* the current word's symbols */
    size_t capsym;
    uint64_t *heap;
    size_t caph;
    char *norm;             /* a word with the Replace applied (when not streamed) */
    size_t capnorm;
    wslot *wc;              /* NULL: no cache */
    size_t wc_used, nkeys, nwids;
    char *keys;             /* [WC_SLOTS / 2 * WC_KEY] */
    int32_t *wids;          /* [WC_SLOTS / 2 * WC_KEY] */
    int too_long;
} enc;

static uint64_t whash(const char *s, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n, x;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&x, s + i, 8);
        h = (h ^ x) * 0xff51afd7ed558ccdull;
        h ^= h >> 29;
    }
    x = 0;
    memcpy(&x, s + i, n - i);
    return mix(h ^ x);
}

static void enc_free(enc *c)
{
    free(c->sym);
    free(c->heap);
    free(c->norm);
    free(c->wc);
    free(c->keys);
    free(c->wids);
}

/* BPE of one word w[0..n); rep: apply the normalizer's Replace while
 * reading it.  Short words go through the cache when there is one. */
static int encode_word(enc *c, const char *w, size_t n, int rep, ibuf *out)
{
    const tok_tokenizer *t = c->t;
    uint64_t h = 0;
    size_t mask = WC_SLOTS - 1, slot = 0;
    if (c->wc && n <= WC_KEY && n) {
        h = whash(w, n);
        for (slot = h & mask; c->wc[slot].h; slot = (slot + 1) & mask) {
            const wslot *e = &c->wc[slot];
            if (e->h == h && e->klen == n && memcmp(c->keys + e->koff, w, n) == 0) {
                push_n(out, c->wids + e->ioff, e->nid);
                return out->oom ? -1 : 0;
            }
        }
    }
    size_t per = rep && t->nrepl_sym > 1 ? (size_t)t->nrepl_sym : 1;
    if (n > WORD_MAX / per) {
        c->too_long = 1;
        return -1;
    }
    if (reserve((void **)&c->sym, &c->capsym, n * per + 1, sizeof *c->sym))
        return -1;
    int32_t *s = c->sym;
    size_t ns = 0;
    const unsigned char *u = (const unsigned char *)w;
    unsigned char f0 = rep ? (unsigned char)t->repl_from[0] : 0;
    for (size_t i = 0; i < n;) {
        if (rep && u[i] == f0 && i + t->repl_from_len <= n &&
            memcmp(w + i, t->repl_from, t->repl_from_len) == 0) {
            for (int k = 0; k < t->nrepl_sym; k++)
                s[ns++] = t->repl_sym[k];
            i += t->repl_from_len;
        } else if (u[i] < 0x80) {
            int32_t id = t->cp_id[u[i]];
            s[ns++] = id >= 0 ? id : SYM_UNK_CP(u[i]);
            i++;
        } else {
            size_t l = utf8_len(u + i, n - i);
            s[ns++] = sym_of(t, w + i, l);
            i += l ? l : 1;
        }
    }
    if (ns > 1) {
        if (reserve((void **)&c->heap, &c->caph, ns + 16, sizeof *c->heap))
            return -1;
        bpe(t, s, ns, c->heap, c->caph);
    }
    size_t before = out->n;
    emit(t, s, ns, out);
    if (out->oom)
        return -1;
    if (h) {
        size_t nid = out->n - before;
        if (nid > WC_KEY)
            return 0;
        if (c->wc_used >= WC_SLOTS / 2) { /* full: start over */
            memset(c->wc, 0, WC_SLOTS * sizeof *c->wc);
            c->wc_used = c->nkeys = c->nwids = 0;
            for (slot = h & mask; c->wc[slot].h; slot = (slot + 1) & mask)
                ;
        }
        wslot *e = &c->wc[slot];
        *e = (wslot){h, (uint32_t)c->nkeys, (uint32_t)c->nwids, (uint16_t)n, (uint16_t)nid};
        memcpy(c->keys + c->nkeys, w, n);
        memcpy(c->wids + c->nwids, out->v + before, nid * sizeof *out->v);
        c->nkeys += n;
        c->nwids += nid;
        c->wc_used++;
    }
    return 0;
}

/* Normalises a segment (text between added tokens) and runs BPE on it,
 * as sub-words where the word may be cut. */
static int encode_segment(enc *c, const char *s, size_t n, ibuf *out)
{
    const tok_tokenizer *t = c->t;
    if (!n)
        return 0;
    if (t->can_cut) {
        unsigned char sp = (unsigned char)t->repl_from[0];
        size_t ws = 0;
        for (size_t i = 0; i < n; i++) {
            const char *q = memchr(s + i, sp, n - i);
            if (!q)
                break;
            i = (size_t)(q - s);
            if (i > ws && cut_before(t, s, i)) {
                if (encode_word(c, s + ws, i - ws, 1, out))
                    return -1;
                ws = i;
            }
        }
        return encode_word(c, s + ws, n - ws, 1, out);
    }
    if (!t->repl_from || t->stream_norm)
        return encode_word(c, s, n, t->repl_from != NULL, out);
    /* Replace first, then read the characters of the result. */
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t need = k + (t->repl_to_len > t->repl_from_len ? t->repl_to_len : 1) + 1;
        if (reserve((void **)&c->norm, &c->capnorm, need, 1))
            return -1;
        if (i + t->repl_from_len <= n && memcmp(s + i, t->repl_from, t->repl_from_len) == 0) {
            memcpy(c->norm + k, t->repl_to, t->repl_to_len);
            k += t->repl_to_len;
            i += t->repl_from_len;
        } else
            c->norm[k++] = s[i++];
    }
    wslot *wc = c->wc;
    c->wc = NULL; /* the cache is keyed by raw text */
    int rc = encode_word(c, c->norm, k, 0, out);
    c->wc = wc;
    return rc;
}

int tok_encode(const tok_tokenizer *t, const char *text, size_t n, int add_special, int32_t **ids,
               size_t *nids, char *err, size_t errlen)
{
    ibuf out = {0};
    enc c = {0};
    c.t = t;
    if (n >= 4096) { /* worth a cache; without one (no memory) it is only slower */
        c.wc = calloc(WC_SLOTS, sizeof *c.wc);
        c.keys = malloc(WC_SLOTS / 2 * WC_KEY);
        c.wids = malloc(WC_SLOTS / 2 * WC_KEY * sizeof *c.wids);
        if (!c.wc || !c.keys || !c.wids) {
            free(c.wc);
            c.wc = NULL;
        }
    }
    if (add_special)
        for (int i = 0; i < t->npre; i++)
            push(&out, t->pre[i]);
    const unsigned char *u = (const unsigned char *)text;
    size_t seg = 0, i = 0;
    while (i < n) {
        int32_t node = t->root[u[i]];
        if (node < 0) {
            size_t l = u[i] < 0x80 ? 1 : utf8_len(u + i, n - i);
            i += l ? l : 1;
            continue;
        }
        /* Longest added token starting at i. */
        int32_t best = t->trie[node].id;
        size_t bestlen = 1;
        for (size_t k = i + 1; k < n; k++) {
            int32_t ch = t->trie[node].child;
            while (ch >= 0 && t->trie[ch].byte != u[k])
                ch = t->trie[ch].sibling;
            if (ch < 0)
                break;
            node = ch;
            if (t->trie[node].id >= 0) {
                best = t->trie[node].id;
                bestlen = k - i + 1;
            }
        }
        if (best >= 0) {
            if (encode_segment(&c, text + seg, i - seg, &out))
                goto fail;
            push(&out, best);
            i += bestlen;
            seg = i;
            continue;
        }
        size_t l = utf8_len(u + i, n - i);
        i += l ? l : 1;
    }
    if (encode_segment(&c, text + seg, n - seg, &out))
        goto fail;
    if (add_special)
        for (int k = 0; k < t->npost; k++)
            push(&out, t->post[k]);
    if (out.oom)
        goto fail;
    enc_free(&c);
    *ids = out.v ? out.v : malloc(sizeof(int32_t));
    *nids = out.n;
    return 0;
fail:
    free(out.v);
    enc_free(&c);
    if (c.too_long)
        return ut_err(err, errlen, "a word of more than %zu characters cannot be encoded",
                      (size_t)WORD_MAX);
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

/* Appends piece id with the normalizer's replacement undone. */
static void put_piece(const tok_tokenizer *t, sbuf *o, int32_t id)
{
    const char *p = t->piece[id];
    size_t pl = t->plen[id];
    if (!t->repl_to || !t->repl_to_len) {
        put(o, p, pl);
        return;
    }
    size_t k = 0, from = 0;
    while (k + t->repl_to_len <= pl) {
        if (memcmp(p + k, t->repl_to, t->repl_to_len) == 0) {
            put(o, p + from, k - from);
            put(o, t->repl_from, t->repl_from_len);
            k += t->repl_to_len;
            from = k;
        } else
            k++;
    }
    put(o, p + from, pl - from);
}

/* What an id contributes: 0 nothing, 1 a byte (*byte), 2 its piece. */
static int id_role(const tok_tokenizer *t, int32_t id, int skip_special, unsigned char *byte)
{
    if (id < 0 || id >= t->nvocab || !t->piece[id])
        return 0;
    if (skip_special && (t->kind[id] & K_SPECIAL))
        return 0;
    if (t->kind[id] & K_BYTE) {
        *byte = (unsigned char)parse_byte_piece(t->piece[id]);
        return 1;
    }
    return 2;
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
        unsigned char byte;
        int role = id_role(t, ids[i], skip_special, &byte);
        if (role == 1)
            run[nrun++] = byte;
        if (role != 2)
            continue;
        if (nrun)
            flush_bytes(&o, run, &nrun);
        put_piece(t, &o, ids[i]);
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

/* ------------------------------------------------------------ streaming decode */

struct tok_stream {
    const tok_tokenizer *t;
    int skip_special;
    unsigned char *run;     /* the pending run of byte pieces */
    size_t nrun, caprun;
    sbuf o;                 /* the text handed out by the last call */
};

tok_stream *tok_stream_new(const tok_tokenizer *t, int skip_special)
{
    tok_stream *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->t = t;
    st->skip_special = skip_special;
    put(&st->o, "", 0);
    if (st->o.oom) {
        free(st);
        return NULL;
    }
    return st;
}

int tok_stream_push(tok_stream *st, int32_t id, const char **out, size_t *outlen)
{
    unsigned char byte;
    int role = id_role(st->t, id, st->skip_special, &byte);
    st->o.n = 0;
    st->o.s[0] = 0;
    if (role == 1) {
        if (reserve((void **)&st->run, &st->caprun, st->nrun + 1, 1))
            return -1;
        st->run[st->nrun++] = byte;
    } else if (role == 2) {
        if (st->nrun)
            flush_bytes(&st->o, st->run, &st->nrun);
        put_piece(st->t, &st->o, id);
    }
    if (st->o.oom)
        return -1;
    *out = st->o.s;
    *outlen = st->o.n;
    return 0;
}

int tok_stream_finish(tok_stream *st, const char **out, size_t *outlen)
{
    st->o.n = 0;
    st->o.s[0] = 0;
    if (st->nrun)
        flush_bytes(&st->o, st->run, &st->nrun);
    if (st->o.oom)
        return -1;
    *out = st->o.s;
    *outlen = st->o.n;
    return 0;
}

void tok_stream_free(tok_stream *st)
{
    if (!st)
        return;
    free(st->run);
    free(st->o.s);
    free(st);
}
