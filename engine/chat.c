/*
 * chat.c — chat templates (see chat.h for the formats and the FILE syntax).
 *
 * Design: Gemma 3's Jinja template has logic of its own (system folding,
 * trim, role alternation), so it is rendered by gemma3_render(), a direct
 * transcription of that template.  Every other format is a "layout": a
 * head ([bos]), a prefix and suffix around the content for each role, and
 * the generation prompt with and without thinking.  The built-in layouts
 * (chatml, zaya1) are written in the FILE placeholder syntax and go through
 * the same expander as template files, so there is one code path for both.
 */
#define _POSIX_C_SOURCE 200809L
#include "chat.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CHAT_OUT_MAX ((size_t)256 << 20)  /* rendered prompt */
#define CHAT_FILE_MAX ((size_t)1 << 20)   /* template FILE, chat_template.jinja */
#define CHAT_CONFIG_MAX ((size_t)64 << 20) /* tokenizer_config.json */
#define MAX_MARKERS 8

/* ---- built-in formats ------------------------------------------------ */

/* Gemma 3, transcribed from the chat_template of Google's
 * tokenizer_config.json (../shared/tokenizer/gemma3). */
static const struct {
    const char *start, *end, *model_role, *system_sep, *default_bos;
} gemma3_fmt = {"<start_of_turn>", "<end_of_turn>\n", "model", "\n\n", "<bos>"};

/* FNV-1a 64 of Gemma 3's chat_template (1,532 bytes): detection says
 * whether a checkpoint's template is exactly that one. */
#define GEMMA3_TEMPLATE_FNV 0xc90dea00b85c935dULL

/* A layout in the FILE placeholder syntax, without backslash escapes (C
 * already has them).  NULL: section absent. */
typedef struct {
    const char *name;
    const char *default_bos; /* when no tokenizer_config gives bos_token */
    const char *head, *system, *user, *assistant, *generation, *generation_nothink;
    const char *markers[MAX_MARKERS - 1]; /* besides bos; NULL-terminated */
} layout_src;

/* Qwen3 / ChatML (Qwen3's template with plain string messages, no tools). */
static const layout_src chatml_layout = {
    "chatml", NULL, "",
    "<|im_start|>system\n{content}<|im_end|>\n",
    "<|im_start|>user\n{content}<|im_end|>\n",
    "<|im_start|>assistant\n{content}<|im_end|>\n",
    "<|im_start|>assistant\n",
    "<|im_start|>assistant\n<think>\n\n</think>\n\n",
    {"<|im_start|>", "<|im_end|>", "<think>", "</think>", NULL}};

/*
 * ZAYA1-8B — PROVISIONAL, UNVERIFIED.  ZAYA1-8B ships its own
 * chat_template.jinja, which we could not retrieve; this is the ChatML-style
 * layout that third-party reports point to (../shared/tokenizer/gemma3/
 * README.md, "ZAYA1-8B: what differs"), with Qwen3's thinking switch.
 * To correct it: render a few conversations with the checkpoint's real
 * template (transformers apply_chat_template, enable_thinking on and off)
 * and change the strings below to match, or pass the real layout as a
 * template FILE (--chat-template FILE) without touching the code.  Nothing
 * else in zeval knows these strings.
 */
static const layout_src zaya1_layout = {
    "zaya1", "<bos>", "{bos}",
    "<|im_start|>system\n{content}<|im_end|>\n",
    "<|im_start|>user\n{content}<|im_end|>\n",
    "<|im_start|>assistant\n{content}<|im_end|>\n",
    "<|im_start|>assistant\n",
    "<|im_start|>assistant\n<think>\n\n</think>\n\n",
    {"<|im_start|>", "<|im_end|>", "<think>", "</think>", NULL}};

/* ---- the template object --------------------------------------------- */

enum { K_RAW, K_GEMMA3, K_LAYOUT };
enum { S_BOS, S_SYSTEM, S_USER, S_ASSISTANT, S_GEN, S_GEN_NOTHINK, NSECT };
static const char *const sect_names[NSECT] = {"bos",       "system",     "user",
                                              "assistant", "generation", "generation_nothink"};

typedef struct {
    char *p;
    size_t n, cap;
    int oom; /* sticky: allocation failed or the cap was passed */
} sbuf;

/* A section: text before {content}, text after it. */
typedef struct {
    sbuf pre, suf;
    int present, ncontent;
    long line; /* header line in a FILE */
} sect;

struct chat_template {
    int kind;
    const char *name;
    char *bos, *eos;   /* owned; NULL if unknown */
    sect s[NSECT];     /* K_LAYOUT */
    const char *markers[MAX_MARKERS];
    int nmarkers;
};

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (n > CHAT_OUT_MAX - b->n) {
        b->oom = 1;
        return;
    }
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* The buffer's text, "" when empty (borrowed). */
static const char *sb_str(const sbuf *b)
{
    return b->p ? b->p : "";
}

void chat_free(chat_template *t)
{
    if (!t)
        return;
    for (int i = 0; i < NSECT; i++) {
        free(t->s[i].pre.p);
        free(t->s[i].suf.p);
    }
    free(t->bos);
    free(t->eos);
    free(t);
}

chat_opts chat_default_opts(void)
{
    chat_opts o = {1, 1};
    return o;
}

const char *chat_name(const chat_template *t)
{
    return t->name;
}

int chat_add_special(const chat_template *t)
{
    return t->kind == K_RAW;
}

int chat_markers(const chat_template *t, const char *const **list)
{
    *list = t->markers;
    return t->nmarkers;
}

/* ---- the placeholder expander ---------------------------------------- */

/* Appends src[0..len) to section s, resolving {content}, {bos}, {eos} and,
 * with escapes, backslash escapes.  content_ok: {content} allowed here.
 * Returns 0 or -1 with a message (no file/line; the caller adds them). */
static int expand(chat_template *t, sect *s, const char *src, size_t len, int escapes,
                  int content_ok, char *err, size_t errlen)
{
    for (size_t i = 0; i < len;) {
        char c = src[i];
        if (c == '\\' && escapes) {
            char e = i + 1 < len ? src[i + 1] : 0;
            const char *rep = e == 'n' ? "\n" : e == 't' ? "\t" : e == '\\' ? "\\"
                            : e == '{' ? "{" : e == '#' ? "#" : e == '[' ? "[" : NULL;
            if (!rep)
                return ut_err(err, errlen, "unknown escape '\\%.1s' at column %zu (\\n \\t \\\\ "
                              "\\{ \\# \\[ are known)", i + 1 < len ? src + i + 1 : "", i + 1);
            sb_puts(s->ncontent ? &s->suf : &s->pre, rep);
            i += 2;
            continue;
        }
        if (c != '{') {
            size_t j = i;
            while (j < len && src[j] != '{' && !(escapes && src[j] == '\\'))
                j++;
            sb_put(s->ncontent ? &s->suf : &s->pre, src + i, j - i);
            i = j;
            continue;
        }
        const char *close = memchr(src + i, '}', len - i);
        size_t plen = close ? (size_t)(close - (src + i)) + 1 : 0;
        if (plen == 9 && memcmp(src + i, "{content}", 9) == 0) {
            if (!content_ok)
                return ut_err(err, errlen, "{content} at column %zu: only the system, user and "
                              "assistant sections take it", i + 1);
            if (s->ncontent++)
                return ut_err(err, errlen, "second {content} at column %zu (one per section)",
                              i + 1);
        } else if ((plen == 5 && memcmp(src + i, "{bos}", 5) == 0) ||
                   (plen == 5 && memcmp(src + i, "{eos}", 5) == 0)) {
            const char *v = src[i + 1] == 'b' ? t->bos : t->eos;
            if (!v)
                return ut_err(err, errlen, "%.5s at column %zu, but no %s_token is known (give a "
                              "tokenizer_config.json that has one)", src + i, i + 1,
                              src[i + 1] == 'b' ? "bos" : "eos");
            sb_puts(s->ncontent ? &s->suf : &s->pre, v);
        } else {
            return ut_err(err, errlen, "unknown placeholder '%.*s' at column %zu ({content}, "
                          "{bos}, {eos} are known; write \\{ for a literal '{')",
                          plen && plen < 40 ? (int)plen : 1, src + i, i + 1);
        }
        i += plen;
    }
    return 0;
}

static void add_marker(chat_template *t, const char *m)
{
    if (m && *m && t->nmarkers < MAX_MARKERS)
        t->markers[t->nmarkers++] = m;
}

static int sect_oom(const chat_template *t)
{
    for (int i = 0; i < NSECT; i++)
        if (t->s[i].pre.oom || t->s[i].suf.oom)
            return 1;
    return 0;
}

static chat_template *tmpl_new(int kind, const char *name, const char *bos, const char *eos)
{
    chat_template *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->kind = kind;
    t->name = name;
    if ((bos && !(t->bos = ut_strdup(bos))) || (eos && !(t->eos = ut_strdup(eos)))) {
        chat_free(t);
        return NULL;
    }
    return t;
}

static int build_layout(const layout_src *L, const char *bos, const char *eos,
                        chat_template **out, char *err, size_t errlen)
{
    chat_template *t = tmpl_new(K_LAYOUT, L->name, bos ? bos : L->default_bos, eos);
    if (!t)
        return ut_err(err, errlen, "out of memory");
    const char *src[NSECT] = {L->head,      L->system,     L->user,
                              L->assistant, L->generation, L->generation_nothink};
    for (int i = 0; i < NSECT; i++) {
        if (!src[i])
            continue;
        t->s[i].present = 1;
        int role = i == S_SYSTEM || i == S_USER || i == S_ASSISTANT;
        if (expand(t, &t->s[i], src[i], strlen(src[i]), 0, role, err, errlen)) {
            ut_err_prefix(err, errlen, "built-in template %s, section [%s]", L->name,
                          sect_names[i]);
            chat_free(t);
            return -1;
        }
    }
    if (sect_oom(t)) {
        chat_free(t);
        return ut_err(err, errlen, "out of memory");
    }
    if (L->head && strstr(L->head, "{bos}"))
        add_marker(t, t->bos);
    for (int i = 0; i < MAX_MARKERS - 1 && L->markers[i]; i++)
        add_marker(t, L->markers[i]);
    *out = t;
    return 0;
}

/* Builds a built-in format by name; 1 if name is not one. */
static int build_named(const char *name, const char *bos, const char *eos, chat_template **out,
                       char *err, size_t errlen)
{
    if (strcmp(name, "gemma3") == 0) {
        chat_template *t = tmpl_new(K_GEMMA3, "gemma3", bos ? bos : gemma3_fmt.default_bos, eos);
        if (!t)
            return ut_err(err, errlen, "out of memory");
        add_marker(t, t->bos);
        add_marker(t, gemma3_fmt.start);
        add_marker(t, "<end_of_turn>");
        *out = t;
        return 0;
    }
    if (strcmp(name, "chatml") == 0)
        return build_layout(&chatml_layout, bos, eos, out, err, errlen);
    if (strcmp(name, "zaya1") == 0)
        return build_layout(&zaya1_layout, bos, eos, out, err, errlen);
    if (strcmp(name, "raw") == 0 || strcmp(name, "none") == 0) {
        *out = tmpl_new(K_RAW, "raw", bos, eos);
        return *out ? 0 : ut_err(err, errlen, "out of memory");
    }
    return 1;
}

/* ---- template FILE parser --------------------------------------------- */

static int parse_file(const char *path, const char *bos, const char *eos, chat_template **out,
                      char *err, size_t errlen)
{
    char *buf = NULL;
    size_t n;
    if (ut_read_file(path, CHAT_FILE_MAX, &buf, &n, err, errlen))
        return -1;
    chat_template *t = tmpl_new(K_LAYOUT, "file", bos, eos);
    if (!t) {
        free(buf);
        return ut_err(err, errlen, "out of memory");
    }
    if (memchr(buf, 0, n)) {
        ut_err(err, errlen, "%s: contains a NUL byte (a template file is UTF-8 text)", path);
        goto fail;
    }
    sect *cur = NULL;
    long line = 0;
    for (char *p = buf, *e; p < buf + n; p = e + 1) {
        e = memchr(p, '\n', (size_t)(buf + n - p));
        if (!e)
            e = buf + n;
        line++;
        size_t len = (size_t)(e - p);
        if (len && p[len - 1] == '\r')
            len--;
        if (len == 0 || p[0] == '#')
            continue;
        if (p[0] == '[' && p[len - 1] == ']' && len >= 2) {
            int k = 0;
            while (k < NSECT && !(strlen(sect_names[k]) == len - 2 &&
                                  memcmp(sect_names[k], p + 1, len - 2) == 0))
                k++;
            if (k == NSECT) {
                ut_err(err, errlen, "%s:%ld: unknown section '%.*s' (bos, system, user, "
                       "assistant, generation, generation_nothink are known; write \\[ to start "
                       "a text line with '[')", path, line, len < 60 ? (int)len : 60, p);
                goto fail;
            }
            if (t->s[k].present) {
                ut_err(err, errlen, "%s:%ld: section [%s] given twice (first at line %ld)", path,
                       line, sect_names[k], t->s[k].line);
                goto fail;
            }
            cur = &t->s[k];
            cur->present = 1;
            cur->line = line;
            continue;
        }
        if (!cur) {
            ut_err(err, errlen, "%s:%ld: text before the first section (start one with a line "
                   "such as [user])", path, line);
            goto fail;
        }
        int k = (int)(cur - t->s);
        int role = k == S_SYSTEM || k == S_USER || k == S_ASSISTANT;
        if (expand(t, cur, p, len, 1, role, err, errlen)) {
            ut_err_prefix(err, errlen, "%s:%ld: section [%s]", path, line, sect_names[k]);
            goto fail;
        }
    }
    for (int k = S_SYSTEM; k <= S_ASSISTANT; k++) {
        if (!t->s[k].present && k != S_SYSTEM) {
            ut_err(err, errlen, "%s: no [%s] section (a template file needs [user] and "
                   "[assistant])", path, sect_names[k]);
            goto fail;
        }
        if (t->s[k].present && t->s[k].ncontent != 1) {
            ut_err(err, errlen, "%s:%ld: section [%s] has no {content} placeholder", path,
                   t->s[k].line, sect_names[k]);
            goto fail;
        }
    }
    if (sect_oom(t)) {
        ut_err(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    free(buf);
    *out = t;
    return 0;
fail:
    free(buf);
    chat_free(t);
    return -1;
}

/* ---- tokenizer_config.json --------------------------------------------- */

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A special token field: a string, an {"content": string} object or null. */
static int token_field(const cJSON *j, const char *key, const char *path, char **out, char *err,
                       size_t errlen)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, key);
    if (cJSON_IsObject(f))
        f = cJSON_GetObjectItemCaseSensitive(f, "content");
    if (!f || cJSON_IsNull(f))
        return 0;
    if (!cJSON_IsString(f))
        return ut_err(err, errlen, "%s: %s: expected a string, an object with a string "
                      "'content', or null", path, key);
    *out = ut_strdup(f->valuestring);
    return *out ? 0 : ut_err(err, errlen, "out of memory");
}

typedef struct {
    char *bos, *eos;
    char *tmpl;            /* chat_template text, NULL if none */
    char *tmpl_from;       /* the file it came from, NULL if none */
    char *cfg_path;        /* the tokenizer_config.json read, NULL if none */
    char *dir;             /* directory of the files */
} config_info;

static void config_clear(config_info *c)
{
    free(c->bos);
    free(c->eos);
    free(c->tmpl);
    free(c->tmpl_from);
    free(c->cfg_path);
    free(c->dir);
    memset(c, 0, sizeof *c);
}

/* Reads what path (a directory or a tokenizer_config.json file) offers.
 * A directory without the file is not an error; a named file that is
 * missing is.  want_tmpl: also read the template text. */
static int config_read(const char *path, int want_tmpl, config_info *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    char *buf = NULL;
    cJSON *j = NULL;
    if (is_dir(path)) {
        c->dir = ut_strdup(path);
        c->cfg_path = ut_path_join(path, "tokenizer_config.json");
        if (!c->dir || !c->cfg_path)
            goto oom;
        if (!exists(c->cfg_path)) {
            free(c->cfg_path);
            c->cfg_path = NULL;
        }
    } else {
        c->cfg_path = ut_strdup(path);
        const char *slash = strrchr(path, '/');
        c->dir = slash ? ut_strdup(path) : ut_strdup(".");
        if (!c->cfg_path || !c->dir)
            goto oom;
        if (slash)
            c->dir[slash == path ? 1 : slash - path] = 0;
    }
    if (c->cfg_path) {
        size_t n;
        if (ut_read_file(c->cfg_path, CHAT_CONFIG_MAX, &buf, &n, err, errlen))
            goto fail;
        j = cJSON_ParseWithLength(buf, n);
        if (!cJSON_IsObject(j)) {
            ut_err(err, errlen, "%s: malformed JSON (expected an object)", c->cfg_path);
            goto fail;
        }
        if (token_field(j, "bos_token", c->cfg_path, &c->bos, err, errlen) ||
            token_field(j, "eos_token", c->cfg_path, &c->eos, err, errlen))
            goto fail;
        const cJSON *ct = cJSON_GetObjectItemCaseSensitive(j, "chat_template");
        if (want_tmpl && cJSON_IsArray(ct)) {
            /* [{"name": "default", "template": ...}, {"name": "tool_use", ...}] */
            const cJSON *e, *pick = NULL;
            cJSON_ArrayForEach(e, ct) {
                const cJSON *nm = cJSON_GetObjectItemCaseSensitive(e, "name");
                if (cJSON_IsString(nm) && strcmp(nm->valuestring, "default") == 0)
                    pick = cJSON_GetObjectItemCaseSensitive(e, "template");
            }
            ct = pick;
        }
        if (want_tmpl && cJSON_IsString(ct)) {
            c->tmpl = ut_strdup(ct->valuestring);
            c->tmpl_from = ut_strdup(c->cfg_path);
            if (!c->tmpl || !c->tmpl_from)
                goto oom;
        }
    }
    char *jpath = want_tmpl ? ut_path_join(c->dir, "chat_template.jinja") : NULL;
    if (want_tmpl && !jpath)
        goto oom;
    if (jpath && exists(jpath)) {
        free(c->tmpl);
        free(c->tmpl_from);
        c->tmpl = NULL;
        c->tmpl_from = jpath;
        if (ut_read_file(jpath, CHAT_FILE_MAX, &c->tmpl, NULL, err, errlen))
            goto fail;
    } else {
        free(jpath);
    }
    cJSON_Delete(j);
    free(buf);
    return 0;
oom:
    ut_err(err, errlen, "out of memory");
fail:
    cJSON_Delete(j);
    free(buf);
    config_clear(c);
    return -1;
}

int chat_load(const char *spec, const char *config, chat_template **out, char *err,
              size_t errlen)
{
    *out = NULL;
    config_info c;
    memset(&c, 0, sizeof c);
    if (config && config_read(config, 0, &c, err, errlen))
        return -1;
    int r = build_named(spec, c.bos, c.eos, out, err, errlen);
    if (r == 1)
        r = parse_file(spec, c.bos, c.eos, out, err, errlen);
    config_clear(&c);
    return r;
}

/* Does config.json in dir say model_type "zaya"? */
static int dir_is_zaya(const char *dir)
{
    char *p = ut_path_join(dir, "config.json"), *buf = NULL;
    char e[8];
    int yes = 0;
    if (p && ut_read_file(p, CHAT_FILE_MAX, &buf, NULL, e, sizeof e) == 0) {
        cJSON *j = cJSON_Parse(buf);
        const cJSON *mt = cJSON_GetObjectItemCaseSensitive(j, "model_type");
        yes = cJSON_IsString(mt) && strcmp(mt->valuestring, "zaya") == 0;
        cJSON_Delete(j);
    }
    free(buf);
    free(p);
    return yes;
}

static int has_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t k = 0;
        while (k < n && hay[k] && tolower((unsigned char)hay[k]) == needle[k])
            k++;
        if (k == n)
            return 1;
    }
    return 0;
}

int chat_detect(const char *path, chat_template **out, char *why, size_t whylen, char *err,
                size_t errlen)
{
    *out = NULL;
    config_info c;
    char reason[1024];
    if (config_read(path, 1, &c, err, errlen))
        return -1;
    const char *name = "raw";
    const char *src = c.tmpl_from ? c.tmpl_from : "";
    if (!c.cfg_path && !c.tmpl) {
        snprintf(reason, sizeof reason, "no tokenizer_config.json or chat_template.jinja in %s",
                 c.dir);
    } else if (!c.tmpl) {
        snprintf(reason, sizeof reason, "%s has no chat_template", c.cfg_path);
    } else if (strstr(c.tmpl, "<start_of_turn>")) {
        name = "gemma3";
        uint64_t h = 0xcbf29ce484222325ULL;
        for (const unsigned char *q = (const unsigned char *)c.tmpl; *q; q++)
            h = (h ^ *q) * 0x100000001b3ULL;
        if (h == GEMMA3_TEMPLATE_FNV)
            snprintf(reason, sizeof reason, "the chat template in %s is Gemma 3's, byte for byte",
                     src);
        else
            snprintf(reason, sizeof reason, "the chat template in %s has <start_of_turn> (it is "
                     "not byte-identical to Gemma 3's: check the output)", src);
    } else if (strstr(c.tmpl, "<|im_start|>")) {
        if (has_ci(c.tmpl, "zyphra") || dir_is_zaya(c.dir)) {
            name = "zaya1";
            snprintf(reason, sizeof reason, "the chat template in %s has <|im_start|> and %s "
                     "(provisional ZAYA1 layout: check it against the template)", src,
                     has_ci(c.tmpl, "zyphra") ? "zyphra markers" : "config.json says zaya");
        } else {
            name = "chatml";
            snprintf(reason, sizeof reason, "the chat template in %s has <|im_start|>", src);
        }
    } else {
        snprintf(reason, sizeof reason, "the chat template in %s is not one zeval knows (no "
                 "<start_of_turn> or <|im_start|>)", src);
    }
    int r = build_named(name, c.bos, c.eos, out, err, errlen);
    if (r == 0 && why && whylen)
        snprintf(why, whylen, "%s", reason);
    config_clear(&c);
    return r;
}

/* ---- rendering ---------------------------------------------------------- */

/* Length of the Python whitespace character (str.isspace()) that is
 * exactly p[0..n), or 0. */
static size_t ws_len(const unsigned char *p, size_t n)
{
    if (n >= 1 && (p[0] == ' ' || (p[0] >= 9 && p[0] <= 13) || (p[0] >= 0x1c && p[0] <= 0x1f)))
        return 1;
    if (n >= 2 && p[0] == 0xC2 && (p[1] == 0x85 || p[1] == 0xA0))
        return 2;
    if (n >= 3) {
        if ((p[0] == 0xE1 && p[1] == 0x9A && p[2] == 0x80) ||             /* U+1680 */
            (p[0] == 0xE2 && p[1] == 0x80 &&
             ((p[2] >= 0x80 && p[2] <= 0x8A) ||                           /* U+2000-200A */
              p[2] == 0xA8 || p[2] == 0xA9 || p[2] == 0xAF)) ||           /* U+2028/9, 202F */
            (p[0] == 0xE2 && p[1] == 0x81 && p[2] == 0x9F) ||             /* U+205F */
            (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80))               /* U+3000 */
            return 3;
    }
    return 0;
}

/* Python's str.strip(): s[*b .. *b + *n) is s without leading and
 * trailing whitespace. */
static void py_strip(const char *s, size_t *b, size_t *n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t lo = 0, hi = strlen(s), k;
    while (lo < hi && (k = ws_len(u + lo, hi - lo)) > 0)
        lo += k;
    while (hi > lo) {
        if (ws_len(u + hi - 1, 1) == 1)
            hi -= 1;
        else if (hi - lo >= 2 && ws_len(u + hi - 2, 2) == 2)
            hi -= 2;
        else if (hi - lo >= 3 && ws_len(u + hi - 3, 3) == 3)
            hi -= 3;
        else
            break;
    }
    *b = lo;
    *n = hi - lo;
}

static int gemma3_render(const chat_template *t, const chat_msg *m, size_t n, const chat_opts *o,
                         sbuf *out, char *err, size_t errlen)
{
    if (t->bos)
        sb_puts(out, t->bos);
    const char *prefix = "";
    size_t first = 0;
    if (strcmp(m[0].role, "system") == 0) {
        prefix = m[0].content; /* untrimmed, as the template does */
        first = 1;
    }
    for (size_t i = first; i < n; i++) {
        size_t idx = i - first;
        if ((strcmp(m[i].role, "user") == 0) != (idx % 2 == 0))
            return ut_err(err, errlen, "messages[%zu]: role '%s': Conversation roles must "
                          "alternate user/assistant/user/assistant/...", i, m[i].role);
        const char *role = strcmp(m[i].role, "assistant") == 0 ? gemma3_fmt.model_role : m[i].role;
        sb_puts(out, gemma3_fmt.start);
        sb_puts(out, role);
        sb_puts(out, "\n");
        if (idx == 0 && first) {
            sb_puts(out, prefix);
            sb_puts(out, gemma3_fmt.system_sep);
        }
        size_t b, len;
        py_strip(m[i].content, &b, &len);
        sb_put(out, m[i].content + b, len);
        sb_puts(out, gemma3_fmt.end);
    }
    if (o->add_generation_prompt) {
        sb_puts(out, gemma3_fmt.start);
        sb_puts(out, gemma3_fmt.model_role);
        sb_puts(out, "\n");
    }
    return 0;
}

static int layout_render(const chat_template *t, const chat_msg *m, size_t n, const chat_opts *o,
                         sbuf *out, char *err, size_t errlen)
{
    sb_puts(out, sb_str(&t->s[S_BOS].pre));
    for (size_t i = 0; i < n; i++) {
        int k = strcmp(m[i].role, "system") == 0      ? S_SYSTEM
                : strcmp(m[i].role, "user") == 0      ? S_USER
                : strcmp(m[i].role, "assistant") == 0 ? S_ASSISTANT
                                                      : -1;
        if (k < 0 || !t->s[k].present)
            return ut_err(err, errlen, "messages[%zu]: the %s template has no role '%s' (%s)", i,
                          t->name, m[i].role,
                          k < 0 ? "system, user and assistant are known" : "no such section");
        sb_puts(out, sb_str(&t->s[k].pre));
        sb_puts(out, m[i].content);
        sb_puts(out, sb_str(&t->s[k].suf));
    }
    if (o->add_generation_prompt) {
        int k = !o->thinking && t->s[S_GEN_NOTHINK].present ? S_GEN_NOTHINK : S_GEN;
        sb_puts(out, sb_str(&t->s[k].pre));
    }
    return 0;
}

int chat_render(const chat_template *t, const chat_msg *msgs, size_t n, const chat_opts *o,
                char **out, size_t *len, char *err, size_t errlen)
{
    *out = NULL;
    *len = 0;
    if (n == 0)
        return ut_err(err, errlen, "the conversation has no messages");
    for (size_t i = 0; i < n; i++)
        if (!msgs[i].role || !msgs[i].content)
            return ut_err(err, errlen, "messages[%zu]: missing role or content", i);
    chat_opts dflt = chat_default_opts();
    if (!o)
        o = &dflt;
    sbuf b = {0};
    sb_puts(&b, ""); /* an empty render is still a string */
    int r = 0;
    if (t->kind == K_GEMMA3)
        r = gemma3_render(t, msgs, n, o, &b, err, errlen);
    else if (t->kind == K_LAYOUT)
        r = layout_render(t, msgs, n, o, &b, err, errlen);
    else
        for (size_t i = 0; i < n; i++)
            sb_puts(&b, msgs[i].content);
    if (r == 0 && b.oom)
        r = ut_err(err, errlen, "the rendered prompt is over %zu MiB or memory ran out",
                   CHAT_OUT_MAX >> 20);
    if (r) {
        free(b.p);
        return -1;
    }
    *out = b.p;
    *len = b.n;
    return 0;
}
