/*
 * cli_chat.c — `zeval chat-template`: a JSON conversation on stdin -> the
 * prompt text a chat template renders, on stdout, no newline added.
 *
 * The conversation is {"messages": [{"role": ..., "content": ...}, ...]}
 * or the bare array.  Without --chat-template the format is detected from
 * the checkpoint's (or the given) tokenizer_config.json; --detect prints
 * the chosen name and the reason instead of rendering.
 */
#include "args.h"
#include "cli.h"
#include "../engine/util.h"
#include "../engine/chat.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONV_MAX ((size_t)256 << 20)

static const char usage[] =
    "usage: zeval chat-template (--model DIR | --tokenizer-config FILE)\n"
    "                           [--chat-template NAME|FILE] [--no-generation-prompt]\n"
    "                           [--thinking on|off] [--detect] < conversation.json\n";

int cli_chat_opts(const char *thinking, chat_opts *o, char *err, size_t errlen)
{
    if (!thinking)
        return 0;
    if (strcmp(thinking, "on") == 0)
        o->thinking = 1;
    else if (strcmp(thinking, "off") == 0)
        o->thinking = 0;
    else {
        snprintf(err, errlen, "--thinking must be on or off, not '%s'", thinking);
        return -1;
    }
    return 0;
}

int cli_chat_open(const char *spec, const char *path, chat_template **t, char *why, size_t whylen,
                  char *err, size_t errlen)
{
    if (why && whylen)
        snprintf(why, whylen, "given with --chat-template");
    if (spec)
        return chat_load(spec, path, t, err, errlen);
    return chat_detect(path, t, why, whylen, err, errlen);
}

/* Fills msgs (malloc'd; strings borrowed from j) from the parsed stdin. */
static int conv_messages(const cJSON *j, chat_msg **msgs, size_t *n, char *err, size_t errlen)
{
    const cJSON *a = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "messages") : j;
    if (!cJSON_IsArray(a)) {
        snprintf(err, errlen, "stdin: expected {\"messages\": [...]} or a JSON array of messages");
        return -1;
    }
    size_t k = (size_t)cJSON_GetArraySize(a);
    *msgs = calloc(k ? k : 1, sizeof **msgs);
    if (!*msgs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(e, "role");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "content");
        if (!cJSON_IsString(r) || !cJSON_IsString(c)) {
            snprintf(err, errlen, "stdin: messages[%zu]: expected an object with string 'role' "
                     "and string 'content'", i);
            free(*msgs);
            *msgs = NULL;
            return -1;
        }
        (*msgs)[i].role = r->valuestring;
        (*msgs)[i].content = c->valuestring;
        i++;
    }
    *n = i;
    return 0;
}

int cli_chat_template(int argc, char **argv)
{
    args_opt o[] = {{"model", 1, NULL},         {"tokenizer-config", 1, NULL},
                    {"chat-template", 1, NULL}, {"no-generation-prompt", 0, NULL},
                    {"thinking", 1, NULL},      {"detect", 0, NULL},
                    {"help", 0, NULL}};
    int no = (int)(sizeof o / sizeof o[0]);
    char err[2048], why[1024];
    if (args_parse(argc, argv, o, no, err, sizeof err)) {
        fprintf(stderr, "zeval chat-template: %s\n%s", err, usage);
        return 2;
    }
    if (args_get(o, no, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    const char *dir = args_get(o, no, "model"), *cfg = args_get(o, no, "tokenizer-config");
    if (!dir == !cfg) {
        fprintf(stderr, "zeval chat-template: give exactly one of --model DIR and "
                        "--tokenizer-config FILE\n%s", usage);
        return 2;
    }
    chat_opts co = chat_default_opts();
    co.add_generation_prompt = args_get(o, no, "no-generation-prompt") == NULL;
    if (cli_chat_opts(args_get(o, no, "thinking"), &co, err, sizeof err)) {
        fprintf(stderr, "zeval chat-template: %s\n", err);
        return 2;
    }
    chat_template *t = NULL;
    if (cli_chat_open(args_get(o, no, "chat-template"), dir ? dir : cfg, &t, why, sizeof why, err,
                      sizeof err))
        return cli_fail(1, err);
    if (args_get(o, no, "detect")) {
        printf("%s\t%s\n", chat_name(t), why);
        chat_free(t);
        return fflush(stdout) == 0 ? 0 : cli_fail(1, "stdout: write failed");
    }
    int rc = 1;
    size_t n, nm = 0, len;
    char *in = ut_read_stream(stdin, CONV_MAX, &n), *text = NULL;
    cJSON *j = NULL;
    chat_msg *msgs = NULL;
    if (!in) {
        snprintf(err, sizeof err, "stdin: out of memory or larger than %zu MiB", CONV_MAX >> 20);
        goto done;
    }
    j = cJSON_ParseWithLength(in, n);
    if (!j) {
        snprintf(err, sizeof err, "stdin: malformed JSON");
        goto done;
    }
    if (conv_messages(j, &msgs, &nm, err, sizeof err) ||
        chat_render(t, msgs, nm, &co, &text, &len, err, sizeof err))
        goto done;
    if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
        snprintf(err, sizeof err, "stdout: write failed");
        goto done;
    }
    rc = 0;
done:
    if (rc)
        cli_fail(1, err);
    free(text);
    free(msgs);
    cJSON_Delete(j);
    free(in);
    chat_free(t);
    return rc;
}
