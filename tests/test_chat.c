/*
 * test_chat.c — chat templates (engine/chat.c, `zeval chat-template`).
 *
 * Gemma 3: conversations rendered by the real binary are compared byte for
 * byte with what jinja2 renders from the chat_template of
 * ../shared/tokenizer/gemma3/tokenizer_config.json (tests/render_jinja.py
 * under Debian's /usr/bin/python3; skipped when jinja2 is missing).
 * ChatML, the provisional ZAYA1 layout, raw and template FILEs: against
 * expected strings.  Detection on temporary checkpoint directories, FILE
 * syntax errors naming file and line, and `zeval generate --prompt`
 * through a template equal to generating from the rendered prompt's ids.
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "../engine/chat.h"
#include "../engine/util.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define PY "/usr/bin/python3"

static char tmp[600];
static char gcfg[1024]; /* the Gemma 3 tokenizer_config.json */

/* A printable, escaped copy of s[0..n) (at most ~300 chars); rotating
 * static buffers. */
static const char *esc(const char *s, size_t n)
{
    static char buf[4][1400];
    static int k;
    char *b = buf[k++ & 3];
    size_t o = 0;
    for (size_t i = 0; i < n && o < 1300; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            o += (size_t)snprintf(b + o, 8, "\\n");
        else if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(b + o, 8, "\\x%02x", c);
        else
            b[o++] = (char)c;
    }
    b[o] = 0;
    return b;
}

/* Runs `sh -c cmd`, stdout to tmp/out (returned in *out, malloc'd),
 * stderr into e. */
static int sh(const char *cmd, char **out, size_t *len, char *e, size_t elen)
{
    char op[700];
    snprintf(op, sizeof op, "%s/out", tmp);
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    int r = ck_run(argv, op, e, elen);
    if (out) {
        size_t l = 0;
        *out = ck_slurp(op, &l);
        if (len)
            *len = l;
    }
    return r;
}

/* Writes text to tmp/name; returns the path (static, rotating). */
static const char *put(const char *name, const char *text)
{
    static char buf[4][700];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, sizeof buf[0], "%s/%s", tmp, name);
    if (ck_write(p, text, strlen(text)) != 0) {
        fprintf(stderr, "cannot write %s\n", p);
        exit(1);
    }
    return p;
}

/* zeval chat-template ARGS < conv; returns the exit status. */
static int zrender(const char *args, const char *conv, char **out, size_t *len, char *e,
                   size_t elen)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' chat-template %s < '%s'", ck_zeval(), args,
             put("conv.json", conv));
    return sh(cmd, out, len, e, elen);
}

/* Checks that `zeval chat-template args` renders conv as want. */
static void expect(const char *args, const char *conv, const char *want)
{
    char *got = NULL, e[2048];
    size_t gl = 0;
    int r = zrender(args, conv, &got, &gl, e, sizeof e);
    CK(r == 0 && got && gl == strlen(want) && memcmp(got, want, gl) == 0,
       "exit %d, got '%s', want '%s' %s", r, got ? esc(got, gl) : "", esc(want, strlen(want)), e);
    free(got);
}

typedef struct {
    const char *name;
    const char *conv;
    int no_gen;
    int error; /* the template raises */
} jcase;

static const jcase jcases[] = {
    {"one user message", "[{\"role\":\"user\",\"content\":\"Hello!\"}]", 0, 0},
    {"system + user", "{\"messages\":[{\"role\":\"system\",\"content\":\"You are terse.\"},"
                      "{\"role\":\"user\",\"content\":\"What is 2+2?\"}]}", 0, 0},
    {"multi-turn", "[{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\",\"content\":"
                   "\"Hello! How can I help?\"},{\"role\":\"user\",\"content\":\"Add 2 and 3.\"},"
                   "{\"role\":\"assistant\",\"content\":\"5\"},{\"role\":\"user\",\"content\":"
                   "\"Thanks\"}]", 0, 0},
    {"multi-turn, no generation prompt",
     "[{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\",\"content\":\"Hello\"}]", 1, 0},
    {"system + multi-turn, no generation prompt",
     "[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":\"a\"},"
     "{\"role\":\"assistant\",\"content\":\"b\"},{\"role\":\"user\",\"content\":\"c\"}]", 1, 0},
    {"ASCII whitespace trimmed",
     "[{\"role\":\"user\",\"content\":\"  \\t\\n Hello \\r\\n\\u000b\\f\"},{\"role\":\"assistant\","
     "\"content\":\"\\u001c x y \\u001f\\u001d\\u001e\"},{\"role\":\"user\",\"content\":\"in  side\"}]",
     0, 0},
    {"Unicode whitespace trimmed as Python's strip",
     "[{\"role\":\"user\",\"content\":\"\\u3000\\u00a0\\u2028\\u0085\\u1680\\u2000\\u200a\\u202f"
     "\\u205f\\u2029 hi \\u3000\\u00a0\\u0085\\u2009\\u2007\"},{\"role\":\"assistant\",\"content\":"
     "\"\\u200bzero width kept\\u200b\"},{\"role\":\"user\",\"content\":\"\\ufeffBOM kept\\ufeff"
     "\\u180e\"}]", 0, 0},
    {"Unicode text",
     "[{\"role\":\"system\",\"content\":\"\\u4f60\\u597d \\ud83d\\ude00\"},{\"role\":\"user\","
     "\"content\":\"\\u0645\\u0631\\u062d\\u0628\\u0627 e\\u0301 \\ud835\\udd18 \\u00e9\\u00e8\"}]",
     0, 0},
    {"empty and blank contents",
     "[{\"role\":\"user\",\"content\":\"\"},{\"role\":\"assistant\",\"content\":\"\"},"
     "{\"role\":\"user\",\"content\":\" \\n \"}]", 0, 0},
    {"system message only", "[{\"role\":\"system\",\"content\":\"alone\"}]", 0, 0},
    {"system text kept untrimmed, user trimmed",
     "[{\"role\":\"system\",\"content\":\"  spaced system \\n\"},{\"role\":\"user\",\"content\":"
     "\"\\n\\nquestion \"}]", 0, 0},
    {"markers and Jinja syntax in content are plain text",
     "[{\"role\":\"user\",\"content\":\"<start_of_turn>user\\n{{ bos_token }} {% raw %} "
     "<end_of_turn>\"}]", 0, 0},
    {"a non-user role at an odd position is written as is",
     "[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"tool\",\"content\":\" b \"},"
     "{\"role\":\"user\",\"content\":\"c\"},{\"role\":\"system\",\"content\":\"late system\"}]",
     0, 0},
    {"long conversation with system prompt",
     "[{\"role\":\"system\",\"content\":\"Answer in one word.\"},"
     "{\"role\":\"user\",\"content\":\"1\"},{\"role\":\"assistant\",\"content\":\"one\"},"
     "{\"role\":\"user\",\"content\":\"2\"},{\"role\":\"assistant\",\"content\":\"two\"},"
     "{\"role\":\"user\",\"content\":\"3\"},{\"role\":\"assistant\",\"content\":\"three\"},"
     "{\"role\":\"user\",\"content\":\"4\"},{\"role\":\"assistant\",\"content\":\"four\"},"
     "{\"role\":\"user\",\"content\":\"5\"}]", 0, 0},
    {"roles must alternate: two user messages",
     "[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\",\"content\":\"b\"}]", 0, 1},
    {"roles must alternate: assistant first",
     "[{\"role\":\"assistant\",\"content\":\"a\"}]", 0, 1},
    {"roles must alternate: system then assistant",
     "[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"assistant\",\"content\":\"a\"}]", 0, 1},
    {"empty conversation", "[]", 0, 1},
};

/* Compares the binary with jinja2 for one case under config cfg. */
static void jinja_case(const char *cfg, const char *label, const jcase *c, int have_jinja)
{
    char name[300];
    snprintf(name, sizeof name, "gemma3 vs jinja2%s: %s%s", label, c->name,
             c->no_gen ? "" : " (+ generation prompt)");
    if (!have_jinja) {
        ck_skip(name, "Debian's /usr/bin/python3 has no jinja2 (apt-get install python3-jinja2)");
        return;
    }
    ck_begin("%s", name);
    char args[1200], cmd[4096], e1[2048], e2[2048];
    char *want = NULL, *got = NULL;
    size_t wl = 0, gl = 0;
    snprintf(args, sizeof args, "--tokenizer-config '%s'%s", cfg,
             c->no_gen ? " --no-generation-prompt" : "");
    int rz = zrender(args, c->conv, &got, &gl, e1, sizeof e1);
    snprintf(cmd, sizeof cmd, "%s tests/render_jinja.py '%s' '%s/conv.json'%s", PY, cfg, tmp,
             c->no_gen ? " --no-generation-prompt" : "");
    int rj = sh(cmd, &want, &wl, e2, sizeof e2);
    if (c->error) {
        CK(rj == 1, "jinja2 was expected to raise: exit %d %s", rj, e2);
        CK(rz == 1 && gl == 0, "zeval: exit %d, output '%s'", rz, got ? esc(got, gl) : "");
        CK(strstr(e1, "zeval: ") != NULL, "no error message: %s", e1);
        if (strstr(e2, "alternate"))
            CK(strstr(e1, "alternate") != NULL, "message does not say roles must alternate: %s",
               e1);
    } else {
        CK(rj == 0, "jinja2: exit %d %s", rj, e2);
        CK(rz == 0, "zeval: exit %d %s", rz, e1);
        size_t i = 0;
        while (got && want && i < gl && i < wl && got[i] == want[i])
            i++;
        CK(got && want && gl == wl && i == gl,
           "differs at byte %zu: zeval '%s', jinja2 '%s'", i, got ? esc(got, gl) : "",
           want ? esc(want, wl) : "");
    }
    free(want);
    free(got);
    ck_end();
}

/* A tokenizer_config.json with the Gemma 3 template and other bos/eos. */
static const char *gemma_cfg_custom_bos(void)
{
    size_t n;
    char *b = ck_slurp(gcfg, &n);
    cJSON *j = b ? cJSON_Parse(b) : NULL, *o = cJSON_CreateObject(), *bos = cJSON_CreateObject();
    const cJSON *t = cJSON_GetObjectItem(j, "chat_template");
    cJSON_AddStringToObject(bos, "content", "<s>");
    cJSON_AddItemToObject(o, "bos_token", bos);
    cJSON_AddStringToObject(o, "eos_token", "</s>");
    cJSON_AddStringToObject(o, "chat_template", cJSON_IsString(t) ? t->valuestring : "");
    char *txt = cJSON_Print(o);
    const char *p = put("custom_bos_config.json", txt ? txt : "");
    free(txt);
    cJSON_Delete(o);
    cJSON_Delete(j);
    free(b);
    return p;
}

/* Makes tmp/NAME/ with tokenizer_config.json holding text (if not NULL). */
static const char *mkdir_cfg(const char *name, const char *cfg_text)
{
    static char d[700];
    char cmd[1600];
    snprintf(d, sizeof d, "%s/%s", tmp, name);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", d);
    sh(cmd, NULL, NULL, NULL, 0);
    if (cfg_text) {
        char p[800];
        snprintf(p, sizeof p, "%s/tokenizer_config.json", d);
        ck_write(p, cfg_text, strlen(cfg_text));
    }
    return d;
}

/* `zeval chat-template --model dir --detect` -> "name\treason\n". */
static void expect_detect(const char *dir, const char *name, const char *reason_part)
{
    char cmd[2048], e[2048], *got = NULL;
    snprintf(cmd, sizeof cmd, "'%s' chat-template --model '%s' --detect", ck_zeval(), dir);
    int r = sh(cmd, &got, NULL, e, sizeof e);
    size_t nl = strlen(name);
    CK(r == 0 && got && strncmp(got, name, nl) == 0 && got[nl] == '\t' &&
           strstr(got, reason_part) != NULL,
       "exit %d, got '%s', want '%s\\t...%s...' %s", r, got ? esc(got, strlen(got)) : "", name,
       reason_part, e);
    free(got);
}

static const char chatml_cfg[] =
    "{\"bos_token\": null, \"eos_token\": \"<|im_end|>\", \"chat_template\": \"{%- for message in "
    "messages %}{{- '<|im_start|>' + message.role + '\\\\n' + message.content + '<|im_end|>\\\\n' "
    "}}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\\\n' }}{%- if "
    "enable_thinking is defined and enable_thinking is false %}{{- '<think>\\\\n\\\\n</think>"
    "\\\\n\\\\n' }}{%- endif %}{%- endif %}\"}";

static const char conv3[] =
    "[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\" Hi \"},"
    "{\"role\":\"assistant\",\"content\":\"Hello.\"},{\"role\":\"user\",\"content\":\"2+2?\"}]";

#define CHATML3                                                                      \
    "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n Hi <|im_end|>\n"    \
    "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n"

static void test_layouts(void)
{
    char args[2048];
    const char *cdir = mkdir_cfg("qwen", chatml_cfg);

    ck_begin("chatml: Qwen3 layout, generation prompt, thinking on (the default)");
    snprintf(args, sizeof args, "--model '%s' --chat-template chatml", cdir);
    expect(args, conv3, CHATML3 "<|im_start|>assistant\n");
    ck_end();

    ck_begin("chatml: thinking off adds an empty think block after the generation prompt");
    snprintf(args, sizeof args, "--model '%s' --chat-template chatml --thinking off", cdir);
    expect(args, conv3, CHATML3 "<|im_start|>assistant\n<think>\n\n</think>\n\n");
    snprintf(args, sizeof args, "--model '%s' --thinking=on", cdir);
    expect(args, conv3, CHATML3 "<|im_start|>assistant\n");
    ck_end();

    ck_begin("chatml: no generation prompt, content verbatim (no trim)");
    snprintf(args, sizeof args, "--model '%s' --no-generation-prompt --thinking off", cdir);
    expect(args, conv3, CHATML3);
    ck_end();

    ck_begin("zaya1 (provisional): bos from tokenizer_config + ChatML layout");
    snprintf(args, sizeof args, "--tokenizer-config '%s' --chat-template zaya1", gcfg);
    expect(args, conv3, "<bos>" CHATML3 "<|im_start|>assistant\n");
    ck_end();

    ck_begin("zaya1 (provisional): thinking off, and bos_token read from the config");
    snprintf(args, sizeof args, "--tokenizer-config '%s' --chat-template zaya1 --thinking off",
             gcfg);
    expect(args, "[{\"role\":\"user\",\"content\":\"hi\"}]",
           "<bos><|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
    const char *bdir = mkdir_cfg("zbos", "{\"bos_token\": {\"content\": \"<BOS>\"}}");
    snprintf(args, sizeof args, "--model '%s' --chat-template zaya1 --no-generation-prompt",
             bdir);
    expect(args, "[{\"role\":\"user\",\"content\":\"hi\"}]",
           "<BOS><|im_start|>user\nhi<|im_end|>\n");
    ck_end();

    ck_begin("chatml and zaya1 refuse a role they cannot write");
    {
        char *got = NULL, e[2048];
        snprintf(args, sizeof args, "--model '%s' --chat-template chatml", cdir);
        int r = zrender(args, "[{\"role\":\"tool\",\"content\":\"x\"}]", &got, NULL, e, sizeof e);
        CK(r == 1 && strstr(e, "messages[0]") && strstr(e, "'tool'"), "exit %d: %s", r, e);
        free(got);
    }
    ck_end();

    ck_begin("raw / none: contents concatenated, no markers, generation prompt ignored");
    snprintf(args, sizeof args, "--tokenizer-config '%s' --chat-template raw", gcfg);
    expect(args, conv3, "Be brief. Hi Hello.2+2?");
    snprintf(args, sizeof args, "--tokenizer-config '%s' --chat-template none --thinking off",
             gcfg);
    expect(args, "[{\"role\":\"user\",\"content\":\" x \"}]", " x ");
    ck_end();

    ck_begin("C API: encode flags, markers, gemma3 without a config uses <bos>");
    {
        char err[1024], *out = NULL;
        size_t len = 0;
        chat_template *t = NULL, *r = NULL;
        CK(chat_load("gemma3", NULL, &t, err, sizeof err) == 0, "%s", err);
        CK(chat_load("none", NULL, &r, err, sizeof err) == 0, "%s", err);
        if (t && r) {
            chat_msg m[] = {{"user", "  x  "}};
            chat_opts o = chat_default_opts();
            CK(chat_render(t, m, 1, &o, &out, &len, err, sizeof err) == 0 &&
                   strcmp(out, "<bos><start_of_turn>user\nx<end_of_turn>\n<start_of_turn>model\n") == 0,
               "got '%s'", out ? esc(out, len) : err);
            CK(chat_add_special(t) == 0 && chat_add_special(r) == 1, "add_special flags");
            CK(strcmp(chat_name(r), "raw") == 0, "name %s", chat_name(r));
            const char *const *mk;
            int n = chat_markers(t, &mk);
            CK(n == 3 && strcmp(mk[0], "<bos>") == 0 && strcmp(mk[1], "<start_of_turn>") == 0,
               "markers: %d", n);
            free(out);
            CK(chat_render(t, m, 0, &o, &out, &len, err, sizeof err) != 0 && out == NULL &&
                   strstr(err, "no messages"), "empty conversation: %s", err);
        }
        free(out);
        chat_free(t);
        chat_free(r);
    }
    ck_end();
}

static void test_detect(void)
{
    char cmd[4096], e[2048];
    ck_begin("detect: a checkpoint with Gemma 3's tokenizer_config.json -> gemma3 (exact)");
    {
        const char *d = mkdir_cfg("g3", NULL);
        snprintf(cmd, sizeof cmd, "cp '%s' '%s/'", gcfg, d);
        sh(cmd, NULL, NULL, e, sizeof e);
        expect_detect(d, "gemma3", "byte for byte");
        char args[1024];
        snprintf(args, sizeof args, "--model '%s'", d);
        expect(args, "[{\"role\":\"user\",\"content\":\"hi\"}]",
               "<bos><start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n");
    }
    ck_end();

    ck_begin("detect: a changed template with <start_of_turn> -> gemma3, flagged as not identical");
    expect_detect(mkdir_cfg("g3x", "{\"bos_token\": \"<bos>\", \"chat_template\": "
                                   "\"{{ bos_token }}<start_of_turn>x\"}"),
                  "gemma3", "not byte-identical");
    ck_end();

    ck_begin("detect: a ChatML (Qwen) template -> chatml");
    expect_detect(mkdir_cfg("qwen", chatml_cfg), "chatml", "<|im_start|>");
    ck_end();

    ck_begin("detect: <|im_start|> with zyphra markers, or a zaya config.json -> zaya1");
    expect_detect(mkdir_cfg("zy", "{\"chat_template\": \"<|im_start|>{% if tools %}"
                                  "<zyphra_tool_call>{% endif %}<think>\"}"),
                  "zaya1", "zyphra");
    {
        const char *d = mkdir_cfg("zy2", chatml_cfg);
        char p[800];
        snprintf(p, sizeof p, "%s/config.json", d);
        ck_write(p, "{\"model_type\": \"zaya\"}", 22);
        expect_detect(d, "zaya1", "zaya");
    }
    ck_end();

    ck_begin("detect: chat_template.jinja beside the config wins; list-form chat_template");
    {
        const char *d = mkdir_cfg("jin", NULL);
        snprintf(cmd, sizeof cmd, "cp '%s' '%s/' && printf '<|im_start|>' > '%s/chat_template.jinja'",
                 gcfg, d, d);
        sh(cmd, NULL, NULL, e, sizeof e);
        expect_detect(d, "chatml", "chat_template.jinja");
        expect_detect(mkdir_cfg("lst", "{\"chat_template\": [{\"name\": \"tool_use\", \"template\": "
                                       "\"<start_of_turn>\"}, {\"name\": \"default\", \"template\": "
                                       "\"<|im_start|>\"}]}"),
                      "chatml", "<|im_start|>");
    }
    ck_end();

    ck_begin("detect: falls back to raw with a stated reason");
    expect_detect(mkdir_cfg("empty", NULL), "raw", "no tokenizer_config.json");
    expect_detect(mkdir_cfg("notmpl", "{\"bos_token\": \"<bos>\"}"), "raw", "no chat_template");
    expect_detect(mkdir_cfg("unk", "{\"chat_template\": \"{{ messages }}\"}"), "raw",
                  "not one zeval knows");
    ck_end();

    ck_begin("detect: a malformed tokenizer_config.json is an error naming the file");
    {
        const char *d = mkdir_cfg("bad", "{\"chat_template\": ");
        snprintf(cmd, sizeof cmd, "'%s' chat-template --model '%s' --detect", ck_zeval(), d);
        int r = sh(cmd, NULL, NULL, e, sizeof e);
        CK(r == 1 && strstr(e, "tokenizer_config.json") && strstr(e, "malformed"), "exit %d: %s",
           r, e);
        snprintf(cmd, sizeof cmd, "'%s' chat-template --model '%s' --tokenizer-config x", ck_zeval(),
                 d);
        r = sh(cmd, NULL, NULL, e, sizeof e);
        CK(r == 2, "both --model and --tokenizer-config: exit %d", r);
        snprintf(cmd, sizeof cmd, "echo '{\"messages\": 3}' | '%s' chat-template --tokenizer-config "
                 "'%s'", ck_zeval(), gcfg);
        r = sh(cmd, NULL, NULL, e, sizeof e);
        CK(r == 1 && strstr(e, "messages"), "bad conversation: exit %d: %s", r, e);
        snprintf(cmd, sizeof cmd, "echo '[{\"role\": \"user\"}]' | '%s' chat-template "
                 "--tokenizer-config '%s'", ck_zeval(), gcfg);
        r = sh(cmd, NULL, NULL, e, sizeof e);
        CK(r == 1 && strstr(e, "messages[0]"), "message without content: exit %d: %s", r, e);
    }
    ck_end();
}

static const char tpl_good[] =
    "# a Mistral-like test template\n"
    "\n"
    "[bos]\n"
    "{bos}\n"
    "[system]\r\n"
    "\\[SYS] {content} \\[/SYS]\\n\r\n"
    "[user]\n"
    "\\[INST] {content}\n"
    "# a comment inside a section\n"
    " \\[/INST]\n"
    "[assistant]\n"
    "{content}{eos}\\n\n"
    "[generation]\n"
    "\\# reply:\\t\n"
    "[generation_nothink]\n"
    "\\# reply (no thinking):\\t\\\\ \\{x} }";

#define TPL_BODY                                                                     \
    "<bos>[SYS] Be brief. [/SYS]\n[INST]  Hi  [/INST]Hello.<end_of_turn>\n"          \
    "[INST] 2+2? [/INST]"

static void test_file(void)
{
    char args[2048];
    const char *tp = put("good.tpl", tpl_good);

    ck_begin("FILE template: sections, comments, escapes, {bos}/{eos}/{content}, CRLF");
    snprintf(args, sizeof args, "--tokenizer-config '%s' --chat-template '%s'", gcfg, tp);
    expect(args, conv3, TPL_BODY "# reply:\t");
    ck_end();

    ck_begin("FILE template: thinking off uses [generation_nothink]; no generation prompt");
    snprintf(args, sizeof args, "--tokenizer-config '%s' --chat-template '%s' --thinking off",
             gcfg, tp);
    expect(args, conv3, TPL_BODY "# reply (no thinking):\t\\ {x} }");
    snprintf(args, sizeof args, "--tokenizer-config '%s' --chat-template '%s' "
             "--no-generation-prompt", gcfg, tp);
    expect(args, conv3, TPL_BODY);
    ck_end();

    ck_begin("FILE template: a role without a section is a render error");
    {
        const char *p = put("nosys.tpl", "[user]\nU:{content}\n[assistant]\nA:{content}\n");
        snprintf(args, sizeof args, "--tokenizer-config '%s' --chat-template '%s'", gcfg, p);
        expect(args, "[{\"role\":\"user\",\"content\":\"q\"}]", "U:q");
        char *got = NULL, e[2048];
        int r = zrender(args, conv3, &got, NULL, e, sizeof e);
        CK(r == 1 && strstr(e, "'system'"), "exit %d: %s", r, e);
        free(got);
    }
    ck_end();

    static const struct {
        const char *what, *text, *want1, *want2;
    } bad[] = {
        {"unknown section", "[user]\n{content}\n[INST]\n", ":3:", "unknown section"},
        {"unknown placeholder", "[user]\n{content} {name}\n[assistant]\n{content}\n", ":2:",
         "unknown placeholder '{name}'"},
        {"no {content} in [user]", "# c\n[user]\nU:\n[assistant]\n{content}\n", ":2:",
         "no {content}"},
        {"two {content}", "[user]\n{content}\n{content}\n[assistant]\n{content}\n", ":3:",
         "second {content}"},
        {"{content} in [generation]", "[user]\n{content}\n[assistant]\n{content}\n"
                                      "[generation]\n{content}\n", ":6:", "only the system"},
        {"text before a section", "# c\ntext\n[user]\n{content}\n", ":2:", "before the first"},
        {"bad escape", "[user]\n{content}\n[assistant]\n{content}\\q\n", ":4:", "unknown escape"},
        {"section twice", "[user]\n{content}\n[user]\n{content}\n", ":3:", "first at line 1"},
        {"missing [assistant]", "[user]\n{content}\n", "", "no [assistant] section"},
        {"unclosed {", "[user]\n{content\n", ":2:", "unknown placeholder"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_begin("malformed FILE template (%s) is an error naming file and line", bad[i].what);
        const char *p = put("bad.tpl", bad[i].text);
        char err[2048], want[800];
        chat_template *t = NULL;
        snprintf(want, sizeof want, "%s%s", p, bad[i].want1);
        int r = chat_load(p, gcfg, &t, err, sizeof err);
        CK(r != 0 && t == NULL && strstr(err, want) && strstr(err, bad[i].want2),
           "want '%s' and '%s' in: %s", want, bad[i].want2, r ? err : "(loaded)");
        chat_free(t);
        ck_end();
    }

    ck_begin("malformed FILE template through the CLI: exit 1, file:line on stderr");
    {
        const char *p = put("bad.tpl", "[user]\n{content}\n[assistant]\n{bos}{content}\n");
        const char *d = mkdir_cfg("nobos", "{\"chat_template\": \"x\"}");
        snprintf(args, sizeof args, "--model '%s' --chat-template '%s'", d, p);
        char *got = NULL, e[2048], want[800];
        int r = zrender(args, "[]", &got, NULL, e, sizeof e);
        snprintf(want, sizeof want, "%s:4:", p);
        CK(r == 1 && strstr(e, want) && strstr(e, "no bos_token"), "exit %d: %s", r, e);
        free(got);
        snprintf(args, sizeof args, "--model '%s' --chat-template '%s/missing.tpl'", d, tmp);
        r = zrender(args, "[]", &got, NULL, e, sizeof e);
        CK(r == 1 && strstr(e, "missing.tpl"), "missing file: exit %d: %s", r, e);
        free(got);
    }
    ck_end();
}

/* generate --prompt through a template == generate --ids of the rendered,
 * encoded prompt, decoded (a random tiny checkpoint of the golden
 * zaya-tiny shape with the Gemma 3 tokenizer). */
static void test_generate(void)
{
    const char *tj = ck_shared("tokenizer/gemma3/tokenizer.json");
    char mdir[700], cmd[16384], e[4096];
    const char *z = ck_zeval();
    snprintf(mdir, sizeof mdir, "%s/m", tmp);
    snprintf(cmd, sizeof cmd,
             "'%s' init-model --config tiny --set num_hidden_layers=2 --dtype bf16 --seed 5 "
             "--out '%s' --quiet && cp '%s' '%s' '%s/'",
             z, mdir, tj, gcfg, mdir);
    int r = sh(cmd, NULL, NULL, e, sizeof e);
    if (r != 0) {
        ck_begin("generate --prompt with a chat template");
        CK(0, "making the checkpoint: exit %d %s", r, e);
        ck_end();
        return;
    }
    static const struct {
        const char *what, *flags, *conv;
    } cases[] = {
        {"auto-detected gemma3", "", "[{\"role\":\"user\",\"content\":\"Find x.\"}]"},
        {"--chat-template gemma3 --system", "--chat-template gemma3 --system 'Be brief.'",
         "[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":"
         "\"Find x.\"}]"},
        {"--chat-template zaya1 --thinking off", "--chat-template zaya1 --thinking off",
         "[{\"role\":\"user\",\"content\":\"Find x.\"}]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_begin("generate --prompt, %s: equals generate --ids of the rendered prompt",
                 cases[i].what);
        const char *conv = put("gconv.json", cases[i].conv);
        char ct[64] = "";
        if (strstr(cases[i].flags, "--chat-template"))
            snprintf(ct, sizeof ct, "--chat-template %s", strstr(cases[i].flags, "zaya1") ? "zaya1"
                                                                                       : "gemma3");
        snprintf(cmd, sizeof cmd,
                 "set -e; m='%s'; t='%s'; "
                 "'%s' generate --model \"$m\" --prompt 'Find x.' %s --max-tokens 5 "
                 "--temperature 1 --seed 9 --ignore-eos > \"$t/a\"; "
                 "ids=$('%s' chat-template --model \"$m\" %s %s < '%s' | "
                 "'%s' tokenize --model \"$m\" | tr ' ' ,); "
                 "'%s' generate --model \"$m\" --ids \"$ids\" --max-tokens 5 --temperature 1 "
                 "--seed 9 --ignore-eos | '%s' detokenize --model \"$m\" --skip-special > \"$t/b\"; "
                 "echo >> \"$t/b\"; cmp \"$t/a\" \"$t/b\"; test -s \"$t/a\"",
                 mdir, tmp, z, cases[i].flags, z, ct,
                 strstr(cases[i].flags, "thinking off") ? "--thinking off" : "", conv, z, z, z);
        r = sh(cmd, NULL, NULL, e, sizeof e);
        CK(r == 0, "exit %d: %s", r, e);
        if (i == 0)
            CK(strstr(e, "chat template gemma3") != NULL, "detection not reported: %s", e);
        if (i == 2)
            CK(strstr(e, "warning: '<|im_start|>'") != NULL,
               "no warning that <|im_start|> is not one Gemma 3 token: %s", e);
        ck_end();
    }

    ck_begin("generate --prompt --chat-template raw keeps the old encoding (<bos> + text)");
    snprintf(cmd, sizeof cmd,
             "set -e; m='%s'; t='%s'; "
             "'%s' generate --model \"$m\" --prompt 'Find x.' --chat-template raw "
             "--max-tokens 5 --temperature 1 --seed 9 --ignore-eos > \"$t/a\"; "
             "'%s' generate --model \"$m\" --ids 2,11823,1123,236761 --max-tokens 5 "
             "--temperature 1 --seed 9 --ignore-eos | '%s' detokenize --model \"$m\" "
             "--skip-special > \"$t/b\"; echo >> \"$t/b\"; cmp \"$t/a\" \"$t/b\"",
             mdir, tmp, z, z, z);
    r = sh(cmd, NULL, NULL, e, sizeof e);
    CK(r == 0, "exit %d: %s", r, e);
    snprintf(cmd, sizeof cmd, "'%s' generate --model '%s' --ids 2 --max-tokens 1 --system x", z,
             mdir);
    r = sh(cmd, NULL, NULL, e, sizeof e);
    CK(r == 2, "--system without --prompt: exit %d", r);
    snprintf(cmd, sizeof cmd, "'%s' generate --model '%s' --prompt x --max-tokens 1 "
             "--thinking maybe", z, mdir);
    r = sh(cmd, NULL, NULL, e, sizeof e);
    CK(r == 2 && strstr(e, "--thinking"), "--thinking maybe: exit %d %s", r, e);
    ck_end();
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "%s", ck_tmpdir());
    snprintf(gcfg, sizeof gcfg, "%s", ck_shared("tokenizer/gemma3/tokenizer_config.json"));
    if (!getenv("ZEVAL_CACHE_DIR"))
        setenv("ZEVAL_CACHE_DIR", tmp, 1);

    char e[1024];
    char *argv[] = {PY, "-c", "import jinja2.sandbox", NULL};
    int have_jinja = ck_run(argv, NULL, e, sizeof e) == 0;
    for (size_t i = 0; i < sizeof jcases / sizeof jcases[0]; i++)
        jinja_case(gcfg, "", &jcases[i], have_jinja);
    const char *cb = gemma_cfg_custom_bos();
    jinja_case(cb, " (bos_token <s> from the config)", &jcases[1], have_jinja);
    jinja_case(cb, " (bos_token <s> from the config)", &jcases[4], have_jinja);

    test_layouts();
    test_detect();
    test_file();
    test_generate();
    ck_rmtree(tmp);
    return ck_status();
}
