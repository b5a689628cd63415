/*
 * main.c — the zeval command line: dispatches to the subcommands.
 */
#include "cli.h"
#include "version.h"

#include <stdio.h>
#include <string.h>

static void help(FILE *f)
{
    fprintf(f,
            "zeval %s — offline evaluation harness with a built-in ZAYA1 engine\n"
            "\n"
            "usage: zeval COMMAND [options]\n"
            "\n"
            "commands:\n"
            "  logits    raw float32 logits of the built-in engine for given token ids\n"
            "  tokenize    text on stdin -> token ids (Hugging Face tokenizer.json, exact)\n"
            "  detokenize  token ids on stdin -> text\n"
            "  chat-template  a JSON conversation on stdin -> the chat prompt text\n"
            "  generate  generate tokens with the built-in engine (greedy or sampled)\n"
            "  init-model  write a random ZAYA checkpoint (tiny, zaya1-8b or a config file)\n"
            "  grade     grade math responses (JSONL in, JSONL verdicts out)\n"
            "  grade-code  run code responses in the sandbox (JSONL in, JSONL verdicts out)\n"
            "  bench     decode/prefill throughput of the engine vs. measured memory bandwidth\n"
            "  fetch     download a dataset or model from Hugging Face / GitHub into the cache\n"
            "  datasets  list the known benchmark sets and whether they are cached\n"
            "  run       evaluate a model on benchmark sets with Markovian RSA into SQLite\n"
            "  show      print the metrics of a stored run\n"
            "  regrade   re-grade the stored samples of a run\n"
            "  presets   list the named RSA settings and their token cost\n"
            "  report    write a self-contained HTML report of stored runs\n"
            "  compare   paired comparison of two runs; exit 1 on a significant regression\n"
            "  gpu-selftest  check the GPU backend against the CPU backend (GPU builds)\n"
            "  version   print the version\n"
            "\n"
            "Run 'zeval COMMAND --help' for a command's options; README.md has the full reference.\n",
            ZEVAL_VERSION);
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
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("zeval %s\n", ZEVAL_VERSION);
        return 0;
    }
    if (strcmp(cmd, "logits") == 0)
        return cli_logits(argc - 2, argv + 2);
    if (strcmp(cmd, "tokenize") == 0)
        return cli_tokenize(argc - 2, argv + 2);
    if (strcmp(cmd, "detokenize") == 0)
        return cli_detokenize(argc - 2, argv + 2);
    if (strcmp(cmd, "chat-template") == 0)
        return cli_chat_template(argc - 2, argv + 2);
    if (strcmp(cmd, "generate") == 0)
        return cli_generate(argc - 2, argv + 2);
    if (strcmp(cmd, "init-model") == 0)
        return cli_init_model(argc - 2, argv + 2);
    if (strcmp(cmd, "grade") == 0)
        return cli_grade(argc - 2, argv + 2);
    if (strcmp(cmd, "grade-code") == 0)
        return cli_grade_code(argc - 2, argv + 2);
    if (strcmp(cmd, "bench") == 0)
        return cli_bench(argc - 2, argv + 2);
    if (strcmp(cmd, "fetch") == 0)
        return cli_fetch(argc - 2, argv + 2);
    if (strcmp(cmd, "datasets") == 0)
        return cli_datasets(argc - 2, argv + 2);
    if (strcmp(cmd, "run") == 0)
        return cli_run(argc - 2, argv + 2);
    if (strcmp(cmd, "show") == 0)
        return cli_show(argc - 2, argv + 2);
    if (strcmp(cmd, "regrade") == 0)
        return cli_regrade(argc - 2, argv + 2);
    if (strcmp(cmd, "presets") == 0)
        return cli_presets(argc - 2, argv + 2);
    if (strcmp(cmd, "report") == 0)
        return cli_report(argc - 2, argv + 2);
    if (strcmp(cmd, "compare") == 0)
        return cli_compare(argc - 2, argv + 2);
    if (strcmp(cmd, "gpu-selftest") == 0)
        return cli_gpu_selftest(argc - 2, argv + 2);
    fprintf(stderr, "zeval: unknown command '%s'\n", cmd);
    help(stderr);
    return 2;
}
