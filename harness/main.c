/*
 * main.c — the zeval command line: dispatches to the subcommands.
 */
#include "cli.h"
#include "version.h"

#include <stdio.h>
#include <string.h>

static int version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("zeval %s\n", ZEVAL_VERSION);
    return 0;
}

/* Every command: its name, what `zeval help` says of it, what runs it. */
static const struct {
    const char *name, *what;
    int (*run)(int argc, char **argv);
} commands[] = {
    {"logits", "raw float32 logits of the built-in engine for given token ids", cli_logits},
    {"tokenize", "text on stdin -> token ids (Hugging Face tokenizer.json, exact)", cli_tokenize},
    {"detokenize", "token ids on stdin -> text", cli_detokenize},
    {"chat-template", "a JSON conversation on stdin -> the chat prompt text", cli_chat_template},
    {"generate", "generate tokens with the built-in engine (greedy or sampled)", cli_generate},
    {"init-model", "write a random ZAYA checkpoint (tiny, zaya1-8b or a config file)",
     cli_init_model},
    {"grade", "grade math responses (JSONL in, JSONL verdicts out)", cli_grade},
    {"grade-code", "run code responses in the sandbox (JSONL in, JSONL verdicts out)",
     cli_grade_code},
    {"bench", "decode/prefill throughput of the engine vs. measured memory bandwidth", cli_bench},
    {"fetch", "download a dataset or model from Hugging Face / GitHub into the cache", cli_fetch},
    {"datasets", "list the known benchmark sets and whether they are cached", cli_datasets},
    {"run", "evaluate a model on benchmark sets with Markovian RSA into SQLite", cli_run},
    {"runs", "list the runs stored in a database, with their state and score", cli_runs},
    {"show", "print the metrics of a stored run", cli_show},
    {"regrade", "re-grade the stored samples of a run", cli_regrade},
    {"export", "a stored run's samples as JSON Lines", cli_export},
    {"delete", "delete stored runs and their samples", cli_delete},
    {"presets", "list the named RSA settings and their token cost", cli_presets},
    {"report", "write a self-contained HTML report of stored runs", cli_report},
    {"compare", "paired comparison of two runs; exit 1 on a significant regression", cli_compare},
    {"gpu-selftest", "check the GPU backend against the CPU backend (GPU builds)",
     cli_gpu_selftest},
    {"version", "print the version", version},
};

static void help(FILE *f)
{
    fprintf(f, "zeval %s — offline evaluation harness with a built-in ZAYA1 engine\n\n"
               "usage: zeval COMMAND [options]\n\ncommands:\n", ZEVAL_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].what);
    fprintf(f, "\nRun 'zeval COMMAND --help' for a command's options; README.md has the full "
               "reference.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        help(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        help(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0)
        return version(0, NULL);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "zeval: unknown command '%s'\n", cmd);
    help(stderr);
    return 2;
}
