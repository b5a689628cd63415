/*
 * cli.h — the zeval subcommands.  Each takes the arguments after its name
 * and returns the process exit status: 0 success, 1 failure (with a
 * message on stderr), 2 usage error.
 */
#ifndef ZEVAL_CLI_H
#define ZEVAL_CLI_H

int cli_logits(int argc, char **argv);
int cli_generate(int argc, char **argv);
int cli_tokenize(int argc, char **argv);
int cli_detokenize(int argc, char **argv);
int cli_init_model(int argc, char **argv);
int cli_bench(int argc, char **argv);

/* Prints "zeval: msg" to stderr and returns status. */
int cli_fail(int status, const char *msg);

#endif
