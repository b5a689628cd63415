/*
 * cli_generate.c — `zeval generate`: run the built-in engine through the
 * backend interface and print the generated ids (or text, once a
 * tokenizer is available).
 *
 * With --num-seqs K, K requests run concurrently with seeds S, S+1, ...,
 * one output line each, in request order.  When the checkpoint has a
 * tokenizer.json, ids past the tokenizer's vocabulary (padding rows) are
 * never sampled; --prompt makes the text a user message (after an optional
 * --system message), renders it with a chat template (--chat-template, or
 * the one detected from the checkpoint's tokenizer_config.json), encodes
 * that without the post-processor's tokens (the template writes <bos>) —
 * or, for the raw template, the text itself with them, as before templates
 * existed — and prints decoded text instead of ids.
 */
#define _POSIX_C_SOURCE 200809L
#include "args.h"
#include "cli.h"
#include "../engine/backend.h"
#include "../engine/chat.h"
#include "../engine/model.h"
#include "../engine/tokenizer.h"
#include "../engine/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: zeval generate --model DIR [--weights FILE] (--ids 2,17,... | --prompt TEXT)\n"
    "                      --max-tokens N [--temperature X] [--top-p X] [--top-k N]\n"
    "                      [--min-p X] [--seed S] [--num-seqs K] [--ignore-eos]\n"
    "                      [--skip-output scaled-input|zero]\n"
    "                      [--chat-template NAME|FILE] [--system TEXT] [--thinking on|off]\n"
    "                      [--threads N] [--backend auto|cpu|gpu]\n";

typedef struct {
    int32_t *ids;
    int n;
    eng_finish finish;
    int done;
} result;

int cli_generate(int argc, char **argv)
{
    args_opt o[] = {{"model", 1, NULL},       {"weights", 1, NULL},   {"ids", 1, NULL},
                    {"prompt", 1, NULL},      {"max-tokens", 1, NULL}, {"temperature", 1, NULL},
                    {"top-p", 1, NULL},       {"top-k", 1, NULL},     {"min-p", 1, NULL},
                    {"seed", 1, NULL},        {"num-seqs", 1, NULL},  {"ignore-eos", 0, NULL},
                    {"skip-output", 1, NULL}, {"chat-template", 1, NULL}, {"system", 1, NULL},
                    {"thinking", 1, NULL},    {"threads", 1, NULL},   {"help", 0, NULL},
                    {"backend", 1, NULL}};
    int no = (int)(sizeof o / sizeof o[0]);
    char err[2048];
    if (args_parse(argc, argv, o, no, err, sizeof err)) {
        fprintf(stderr, "zeval generate: %s\n%s", err, usage);
        return 2;
    }
    if (args_get(o, no, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    const char *dir = args_get(o, no, "model"), *ids_s = args_get(o, no, "ids");
    const char *mt = args_get(o, no, "max-tokens");
    if (!dir || !mt || (!ids_s && !args_get(o, no, "prompt"))) {
        fprintf(stderr, "zeval generate: --model, --max-tokens and --ids or --prompt are "
                        "required\n%s", usage);
        return 2;
    }
    if (cli_threads(args_get(o, no, "threads"), err, sizeof err)) {
        fprintf(stderr, "zeval generate: %s\n", err);
        return 2;
    }
    const char *prompt_text = args_get(o, no, "prompt");
    if (ids_s && prompt_text) {
        fprintf(stderr, "zeval generate: give --ids or --prompt, not both\n");
        return 2;
    }
    const char *ct_spec = args_get(o, no, "chat-template"), *sys_text = args_get(o, no, "system");
    chat_opts co = chat_default_opts();
    if (!prompt_text && (ct_spec || sys_text || args_get(o, no, "thinking"))) {
        fprintf(stderr, "zeval generate: --chat-template, --system and --thinking go with "
                        "--prompt\n");
        return 2;
    }
    if (cli_chat_opts(args_get(o, no, "thinking"), &co, err, sizeof err)) {
        fprintf(stderr, "zeval generate: %s\n", err);
        return 2;
    }
    smp_params sp = smp_greedy();
    long maxtok = 0, topk = 0, nseq = 1;
    double x;
    unsigned long long seed = 0;
    const char *v;
    if (args_count(mt, "--max-tokens", &maxtok, err, sizeof err) ||
        ((v = args_get(o, no, "num-seqs")) && args_count(v, "--num-seqs", &nseq, err, sizeof err)) ||
        ((v = args_get(o, no, "top-k")) && args_count(v, "--top-k", &topk, err, sizeof err)) ||
        ((v = args_get(o, no, "seed")) && args_u64(v, "--seed", &seed, err, sizeof err))) {
        fprintf(stderr, "zeval generate: %s\n", err);
        return 2;
    }
    if (maxtok < 1 || maxtok > (1 << 24) || nseq < 1 || nseq > 4096 || topk > (1 << 24)) {
        fprintf(stderr, "zeval generate: --max-tokens must be 1..16777216 and --num-seqs 1..4096\n");
        return 2;
    }
    sp.top_k = (int)topk;
    struct { const char *name; float *dst; } fl[] = {
        {"temperature", &sp.temperature}, {"top-p", &sp.top_p}, {"min-p", &sp.min_p}};
    for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++) {
        if (!(v = args_get(o, no, fl[i].name)))
            continue;
        char what[32];
        snprintf(what, sizeof what, "--%s", fl[i].name);
        if (args_float(v, what, &x, err, sizeof err)) {
            fprintf(stderr, "zeval generate: %s\n", err);
            return 2;
        }
        *fl[i].dst = (float)x;
    }
    if (smp_validate(&sp, err, sizeof err)) {
        fprintf(stderr, "zeval generate: %s\n", err);
        return 2;
    }
    const char *skip = args_get(o, no, "skip-output");
    if (skip && strcmp(skip, "zero") != 0 && strcmp(skip, "scaled-input") != 0) {
        fprintf(stderr, "zeval generate: --skip-output must be scaled-input or zero\n");
        return 2;
    }
    int *ids = NULL, n = 0;
    if (ids_s && args_ids(ids_s, &ids, &n, err, sizeof err)) {
        fprintf(stderr, "zeval generate: %s\n", err);
        return 2;
    }

    int status = 1;
    eng_model *m = NULL;
    eng_backend *b = NULL;
    result *res = calloc((size_t)nseq, sizeof *res);
    int32_t *prompt = NULL;
    tok_tokenizer *tk = NULL;
    chat_template *ctm = NULL;
    eng_event ev[256];
    if (!res) {
        snprintf(err, sizeof err, "out of memory");
        goto done;
    }
    if (eng_model_load(dir, args_get(o, no, "weights"), &m, err, sizeof err))
        goto done;
    char *tpath = ut_path_join(dir, "tokenizer.json");
    FILE *tf = tpath ? fopen(tpath, "rb") : NULL;
    if (tf) {
        fclose(tf);
        if (tok_load(tpath, &tk, err, sizeof err)) {
            free(tpath);
            goto done;
        }
    }
    free(tpath);
    if (prompt_text) {
        if (!tk) {
            snprintf(err, sizeof err, "%s: --prompt needs the checkpoint's tokenizer.json", dir);
            goto done;
        }
        char why[1024];
        if (cli_chat_open(ct_spec, dir, &ctm, why, sizeof why, err, sizeof err))
            goto done;
        if (!ct_spec)
            fprintf(stderr, "zeval generate: chat template %s (%s)\n", chat_name(ctm), why);
        const char *const *mk;
        int nmk = chat_markers(ctm, &mk);
        for (int i = 0; i < nmk; i++)
            if (tok_piece_id(tk, mk[i], strlen(mk[i])) < 0)
                fprintf(stderr, "zeval generate: warning: '%s' of the %s chat template is not one "
                                "token of %s/tokenizer.json; it is encoded as ordinary text\n",
                        mk[i], chat_name(ctm), dir);
        chat_msg msgs[2];
        size_t nm = 0, np, tl;
        if (sys_text)
            msgs[nm++] = (chat_msg){"system", sys_text};
        msgs[nm++] = (chat_msg){"user", prompt_text};
        char *text = NULL;
        if (chat_render(ctm, msgs, nm, &co, &text, &tl, err, sizeof err))
            goto done;
        int r = tok_encode(tk, text, tl, chat_add_special(ctm), &prompt, &np, err, sizeof err);
        free(text);
        if (r)
            goto done;
        n = (int)np;
        if (n == 0) {
            snprintf(err, sizeof err, "--prompt: the text encodes to no tokens");
            goto done;
        }
    } else {
        prompt = malloc((size_t)n * sizeof *prompt);
        if (!prompt) {
            snprintf(err, sizeof err, "out of memory");
            goto done;
        }
        for (int i = 0; i < n; i++)
            prompt[i] = ids[i];
    }
    if (skip && strcmp(skip, "zero") == 0)
        m->skip_mode = ENG_SKIP_ZERO;
    char note[600];
    int kind = eng_backend_pick(args_get(o, no, "backend"), note, sizeof note, err, sizeof err);
    if (kind < 0)
        goto done;
    if (note[0])
        fprintf(stderr, "zeval generate: %s\n", note);
    if (kind == ENG_BE_GPU) {
        if (!(b = eng_backend_gpu(m, err, sizeof err)))
            goto done;
    } else if (!(b = eng_backend_cpu(m, 0))) {
        snprintf(err, sizeof err, "out of memory");
        goto done;
    }
    int32_t eos = m->cfg.eos_id;
    for (long i = 0; i < nseq; i++) {
        eng_request r = {prompt, n, (int)maxtok, sp, seed + (uint64_t)i,
                         &eos, args_get(o, no, "ignore-eos") ? 0 : 1,
                         tk ? tok_vocab_size(tk) : 0, &res[i]};
        if (b->submit(b, &r, err, sizeof err))
            goto done;
    }
    while (b->pending(b) > 0) {
        int nev;
        if (b->pump(b, ev, (int)(sizeof ev / sizeof ev[0]), &nev, err, sizeof err))
            goto done;
        for (int i = 0; i < nev; i++) {
            if (ev[i].kind != ENG_EV_FINISHED)
                continue;
            result *r = ev[i].user;
            r->ids = malloc((size_t)ev[i].n_ids * sizeof(int32_t));
            if (!r->ids) {
                snprintf(err, sizeof err, "out of memory");
                goto done;
            }
            memcpy(r->ids, ev[i].ids, (size_t)ev[i].n_ids * sizeof(int32_t));
            r->n = ev[i].n_ids;
            r->finish = ev[i].finish;
            r->done = 1;
        }
    }
    for (long i = 0; i < nseq; i++) {
        if (prompt_text) {
            char *text = NULL;
            size_t tl;
            if (tok_decode(tk, res[i].ids, (size_t)res[i].n, 1, &text, &tl, err, sizeof err))
                goto done;
            fwrite(text, 1, tl, stdout);
            free(text);
        } else {
            for (int k = 0; k < res[i].n; k++)
                printf("%s%d", k ? " " : "", res[i].ids[k]);
        }
        printf("\n");
    }
    if (fflush(stdout) != 0) {
        snprintf(err, sizeof err, "stdout: write failed");
        goto done;
    }
    status = 0;
done:
    if (status)
        cli_fail(1, err);
    if (res)
        for (long i = 0; i < nseq; i++)
            free(res[i].ids);
    free(res);
    if (b)
        b->free(b);
    eng_model_free(m);
    tok_free(tk);
    chat_free(ctm);
    free(prompt);
    free(ids);
    return status;
}
