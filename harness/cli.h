/*
 * cli.h — the zeval subcommands.  Each takes the arguments after its name
 * and returns the process exit status: 0 success, 1 failure (with a
 * message on stderr), 2 usage error.
 */
#ifndef ZEVAL_CLI_H
#define ZEVAL_CLI_H

#include "../engine/chat.h"
#include "../engine/config.h"

#include <stddef.h>
#include <stdint.h>

int cli_logits(int argc, char **argv);
int cli_generate(int argc, char **argv);
int cli_tokenize(int argc, char **argv);
int cli_detokenize(int argc, char **argv);
int cli_init_model(int argc, char **argv);
int cli_bench(int argc, char **argv);
int cli_grade(int argc, char **argv);
int cli_grade_code(int argc, char **argv);
int cli_fetch(int argc, char **argv);
int cli_datasets(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_runs(int argc, char **argv);
int cli_delete(int argc, char **argv);
int cli_export(int argc, char **argv);
int cli_show(int argc, char **argv);
int cli_regrade(int argc, char **argv);
int cli_presets(int argc, char **argv);
int cli_report(int argc, char **argv);
int cli_compare(int argc, char **argv);
int cli_chat_template(int argc, char **argv);
int cli_gpu_selftest(int argc, char **argv);
int cli_gpu_bench(int argc, char **argv);   /* zeval bench gpu */
int cli_gpu_batch_bench(int argc, char **argv); /* zeval bench gpu-batch */
/* The batched GPU engine against the CPU backend and itself (printing
 * PASS/FAIL lines); returns the failed checks. */
struct eng_model;
int gpu_batch_selftest(const struct eng_model *m, long L, long N, unsigned long long seed);
/* sqrt(sum (got-ref)^2 / sum ref^2); infinite when got has a NaN or Inf. */
double cli_relerr(const float *got, const float *ref, size_t n);
/* The routing histogram [n_sub/2][E+1] as each slot's share over all MoE
 * sub-layers, one line on stdout. */
void cli_print_routing(const uint64_t *rc, const eng_config *c);

/* Shared by chat-template and generate (cli_chat.c).  cli_chat_open: the
 * template named by spec (a name or FILE; bos/eos from path, a checkpoint
 * directory or tokenizer_config.json), or the one detected from path when
 * spec is NULL; why gets the reason.  cli_chat_opts: applies --thinking
 * on|off (NULL: unchanged).  Both return 0 or -1 with a message. */
int cli_chat_open(const char *spec, const char *path, chat_template **t, char *why, size_t whylen,
                  char *err, size_t errlen);
int cli_chat_opts(const char *thinking, chat_opts *o, char *err, size_t errlen);

/* Applies --threads V (NULL: leave the default, $ZEVAL_THREADS or every
 * online CPU) to the engine's pool.  Returns 0, or -1 with a message. */
int cli_threads(const char *v, char *err, size_t errlen);

/* Opens the existing database at path (a missing file is an error, not a
 * new database).  0 or -1 with a message. */
struct store;
int cli_db_open(const char *path, struct store **db, char *err, size_t errlen);
/* --by FIELD of `zeval show` and `zeval report`: for problems pids[0..n)
 * of stored run `run`, the value of FIELD (a key, or keys joined by dots)
 * in each one's dataset record (labels[i] malloc'd, NULL where absent) and
 * the record's index (order[i]).  The records are those of `records` (a file
 * or a registry name), or, NULL, those the run was made with; either must hold
 * the run's records (its dataset digest).  0, or -1 with a message. */
int cli_field_labels(struct store *db, const char *run, const char *field, const char *records,
                     const char *const *pids, size_t n, char **labels, int *order, char *err,
                     size_t errlen);
/* 1 when FIELD is a key or keys joined by dots. */
int cli_field_ok(const char *field);
/* The runs NAME selects (NAME itself and NAME/...) into *names
 * (store_names_free); none is an error that says how to list them. */
int cli_run_names(struct store *db, const char *name, char ***names, size_t *n, char *err,
                  size_t errlen);

/* Prints "zeval: msg" to stderr and returns status. */
int cli_fail(int status, const char *msg);

#endif
