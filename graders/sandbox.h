/*
 * sandbox.h — run an untrusted Python program in an isolated, bounded
 * process tree (spec/grading.md B.4).
 *
 * One call of sbx_run() starts one sandbox and waits for it:
 *
 *   harness ── fork ─▶ C: setsid; unshare user, mount, PID, IPC, UTS and
 *                      network namespaces (each checked and named on failure);
 *                      the harness writes its uid/gid map (root → nobody)
 *                 └─ fork ─▶ init (PID 1 of the new namespace): new root on
 *                      a tmpfs with read-only binds of /usr and the /lib*
 *                      links, /dev/{null,zero,full,random,urandom}, a fresh
 *                      /proc, the caller's files under /sbx, an empty tmpfs
 *                      /tmp as the working dir; pivot_root, root remounted
 *                      read-only; then
 *                      └─ fork ─▶ python3: rlimits, cleared environment,
 *                           PR_SET_NO_NEW_PRIVS, seccomp filter, execve.
 *
 * init reaps everything; when python3 exits it SIGKILLs whatever is left in
 * the namespace, reports python's wait status on a pipe and exits — leaving
 * the namespace kills any straggler.  The harness enforces the wall-clock
 * limit by SIGKILL of init (the whole namespace dies with it) and of C, and
 * reaps both, so no process of a sandbox outlives sbx_run().
 *
 * A refused isolation step fails closed: sbx_run() returns SBX_ERROR with a
 * message naming the step.  cfg->unsafe (the CLI's --unsafe-no-sandbox)
 * skips namespaces, mounts and seccomp and runs python3 in a temp dir with
 * only rlimits, a process group and a cleared environment.
 *
 * Thread-safe: sbx_run() may run in many threads at once.  The first call
 * sets SIGPIPE to ignored process-wide (a dead warm server must not kill the
 * harness).
 */
#ifndef ZEVAL_SANDBOX_H
#define ZEVAL_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

#define SBX_DEFAULT_PYTHON "/usr/bin/python3"
#define SBX_OUT_CAP ((size_t)64 << 20)   /* stdout kept; beyond it: output_limit */
#define SBX_ERR_CAP ((size_t)8 << 10)    /* stderr kept (its last bytes) */

typedef struct {
    const char *name;     /* file name under /sbx (no '/') */
    const char *data;     /* borrowed */
    size_t len;
} sbx_file;

typedef struct {
    const char *python;      /* interpreter path; NULL: SBX_DEFAULT_PYTHON */
    int unsafe;              /* 1: no isolation beyond rlimits (explicit opt-in only) */
    double wall_s;           /* wall-clock limit of the whole run */
    double cpu_s;            /* RLIMIT_CPU soft limit (hard = soft + 1) */
    size_t as_bytes;         /* RLIMIT_AS; 0: 4 GiB (never above the hard limit) */
    size_t out_cap;          /* stdout cap; 0: SBX_OUT_CAP */
    const char *tag;         /* optional: exported as ZEVAL_SBX_TAG (tests find stragglers) */
} sbx_config;

typedef enum {
    SBX_EXITED = 0,    /* python exited; code in .code */
    SBX_SIGNALED,      /* python killed by signal .code */
    SBX_TIMEOUT,       /* wall limit reached, or killed for CPU time (SIGXCPU) */
    SBX_OUTPUT_LIMIT,  /* stdout exceeded the cap; the run was killed */
    SBX_ERROR          /* the sandbox could not be set up; .err_msg says why */
} sbx_outcome;

typedef struct {
    sbx_outcome outcome;
    int code;               /* exit code or signal number */
    char *out;              /* stdout (NUL-terminated, malloc'd), at most out_cap */
    size_t out_len;
    char *err;              /* last SBX_ERR_CAP bytes of stderr (malloc'd) */
    size_t err_len;
    double wall_ms;
} sbx_result;

/* A warm session: a sandboxed interpreter that serves many requests. */
typedef struct sbx_session sbx_session;

/* Runs `python3 argv[1..]` (argv[0] is ignored: the interpreter path) in a
 * new sandbox with the given files under /sbx (cwd /tmp, empty), stdin_data
 * as its stdin (a sealed memfd; NULL = empty) and returns its outcome in
 * *res (caller frees with sbx_result_free).  Returns 0, or -1 with a message
 * in err for failures of the harness itself (out of memory, no pipe); a
 * sandbox that cannot be set up is res->outcome == SBX_ERROR, not -1. */
int sbx_run(const sbx_config *cfg, const char *const argv[], const sbx_file *files, int nfiles,
            const void *stdin_data, size_t stdin_len, sbx_result *res, char *err, size_t errlen);

/* Starts a sandbox like sbx_run() whose python3 keeps running: the caller
 * writes requests with sbx_session_write() and reads replies with
 * sbx_session_read().  cfg->wall_s bounds the session until the first
 * sbx_session_deadline().  Returns 0 or
 * -1 with a message; on success *out owns the session (sbx_session_close). */
int sbx_session_open(const sbx_config *cfg, const char *const argv[], const sbx_file *files,
                     int nfiles, sbx_session **out, char *err, size_t errlen);
/* Sets the session deadline to wall_s seconds from now (a long-lived
 * server gets one per request; past it the whole tree is killed and reads
 * fail with the result's outcome SBX_TIMEOUT). */
void sbx_session_deadline(sbx_session *s, double wall_s);
/* Writes all of buf to the server's stdin; 0, or -1 if the server is gone or
 * the session deadline passed. */
int sbx_session_write(sbx_session *s, const void *buf, size_t len);
/* Reads exactly len bytes of the server's stdout into buf, waiting at most
 * until the session deadline; 0, or -1 (server gone, deadline, or EOF). */
int sbx_session_read(sbx_session *s, void *buf, size_t len);
/* Reads one '\n'-terminated line (at most cap-1 bytes, NUL-terminated);
 * 0 or -1 like sbx_session_read. */
int sbx_session_readline(sbx_session *s, char *buf, size_t cap);
/* Kills the session's whole tree, reaps it and frees s; when res is not
 * NULL it receives the last stderr bytes and the outcome (as sbx_run). */
void sbx_session_close(sbx_session *s, sbx_result *res);

void sbx_result_free(sbx_result *res);

/* Name of an outcome ("exited", "signaled", "timeout", "output_limit", "error"). */
const char *sbx_outcome_name(sbx_outcome o);

/* 1 if the kernel lets this process build the full sandbox (user, PID,
 * mount, IPC, UTS, net namespaces, mounts, seccomp): runs `python3 -c pass`
 * inside one.  0 otherwise, with the refused step in why. */
int sbx_probe(const char *python, char *why, size_t whylen);

#endif
