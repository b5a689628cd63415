/*
 * pool.c — the engine's thread pool (see pool.h).
 *
 * pool_run() publishes a job (fn, arg, ntasks) under a new generation
 * number, everyone including the caller claims task indices from an atomic
 * counter, and the caller waits until every worker has finished the
 * generation.  Waiting (workers for a job, the caller for the workers)
 * polls for a while, then sleeps on a condition variable; the generation
 * and the count of busy workers are atomics, and every sleep re-checks its
 * condition under mu, which every wake-up takes.  run_mu serialises jobs;
 * a caller that cannot take it at once runs its job inline.
 */
#include "pool.h"
#include "util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POOL_MAX 256

static pthread_mutex_t run_mu = PTHREAD_MUTEX_INITIALIZER; /* one job at a time */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;     /* guards the sleeps */
static pthread_cond_t cv_work = PTHREAD_COND_INITIALIZER, cv_done = PTHREAD_COND_INITIALIZER;
static pthread_t *workers;
static int nworkers, started, want = 0, exit_registered;
static atomic_int quit, active;
static atomic_ulong gen;
static unsigned long start_gen;
static pid_t owner;
static pool_fn job_fn;
static void *job_arg;
static int job_n;
static atomic_int job_next;

/* Rounds of polling (tens of microseconds) before sleeping on a condition
 * variable: waking a sleeping thread costs tens of microseconds on virtual
 * machines, and a decode step runs hundreds of jobs back to back.  Much
 * longer polls cost prefill about 10% (measured), the idle core no longer
 * idling through the caller's serial stretches. */
enum { SPIN = 1 << 11 };

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static char env_err[160];
static int env_rc, env_threads;

static void read_env(void)
{
    const char *e = getenv("ZEVAL_THREADS");
    if (e && *e) {
        char *end;
        long v = strtol(e, &end, 10);
        if (*end || v < 1 || v > POOL_MAX) {
            env_rc = ut_err(env_err, sizeof env_err,
                            "ZEVAL_THREADS=%s: expected a thread count in [1, %d]", e, POOL_MAX);
            return;
        }
        env_threads = (int)v;
        return;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    env_threads = n < 1 ? 1 : n > POOL_MAX ? POOL_MAX : (int)n;
}

int pool_init(char *err, size_t errlen)
{
    pthread_once(&env_once, read_env);
    if (env_rc)
        return ut_err(err, errlen, "%s", env_err);
    return 0;
}

int pool_threads(void)
{
    pthread_once(&env_once, read_env);
    if (want)
        return want;
    return env_rc ? 1 : env_threads;
}

static void do_tasks(pool_fn fn, void *arg, int n)
{
    for (;;) {
        int i = atomic_fetch_add(&job_next, 1);
        if (i >= n)
            break;
        fn(arg, i, n);
    }
}

static void *worker(void *unused)
{
    (void)unused;
    unsigned long seen = start_gen; /* jobs published after the start count */
    for (;;) {
        /* Wait for the next generation: poll, then sleep. */
        int spin = 0;
        while (atomic_load_explicit(&gen, memory_order_acquire) == seen && !atomic_load(&quit) &&
               spin < SPIN) {
            cpu_relax();
            spin++;
        }
        if (atomic_load_explicit(&gen, memory_order_acquire) == seen && !atomic_load(&quit)) {
            pthread_mutex_lock(&mu);
            while (!atomic_load(&quit) && atomic_load(&gen) == seen)
                pthread_cond_wait(&cv_work, &mu);
            pthread_mutex_unlock(&mu);
        }
        if (atomic_load(&quit))
            break;
        seen = atomic_load_explicit(&gen, memory_order_acquire);
        do_tasks(job_fn, job_arg, job_n);
        if (atomic_fetch_sub(&active, 1) == 1) { /* the last one wakes the caller */
            pthread_mutex_lock(&mu);
            pthread_cond_signal(&cv_done);
            pthread_mutex_unlock(&mu);
        }
    }
    return NULL;
}

/* Joins the workers; run_mu held (or at exit). */
static void stop_workers(void)
{
    if (!started)
        return;
    pthread_mutex_lock(&mu);
    atomic_store(&quit, 1);
    pthread_cond_broadcast(&cv_work);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < nworkers; i++)
        pthread_join(workers[i], NULL);
    free(workers);
    workers = NULL;
    nworkers = 0;
    started = 0;
    atomic_store(&quit, 0);
}

static void at_exit(void)
{
    if (started && owner == getpid()) /* a forked child has no workers to join */
        stop_workers();
}

/* Starts nt-1 workers; run_mu held.  On failure runs with what started. */
static void start_workers(int nt)
{
    started = 1;
    owner = getpid();
    if (!exit_registered)
        exit_registered = atexit(at_exit) == 0;
    workers = calloc((size_t)nt, sizeof *workers);
    if (!workers)
        return;
    start_gen = gen; /* stable: gen only moves under run_mu, which we hold */
    for (int i = 0; i < nt - 1; i++) {
        if (pthread_create(&workers[i], NULL, worker, NULL))
            break;
        nworkers++;
    }
}

int pool_set_threads(int n, char *err, size_t errlen)
{
    if (n < 1 || n > POOL_MAX)
        return ut_err(err, errlen, "thread count %d is outside [1, %d]", n, POOL_MAX);
    pthread_mutex_lock(&run_mu);
    if (started && nworkers + 1 != n)
        stop_workers();
    want = n;
    pthread_mutex_unlock(&run_mu);
    return 0;
}

void pool_run(pool_fn fn, void *arg, int ntasks)
{
    if (ntasks <= 0)
        return;
    if (ntasks == 1 || pool_threads() <= 1 || pthread_mutex_trylock(&run_mu) != 0) {
        for (int i = 0; i < ntasks; i++)
            fn(arg, i, ntasks);
        return;
    }
    if (started && owner != getpid()) { /* forked child: the workers stayed behind */
        free(workers);
        workers = NULL;
        nworkers = 0;
        started = 0;
    }
    if (!started)
        start_workers(pool_threads());
    /* Publish the job: its fields, then (release) the new generation. */
    job_fn = fn;
    job_arg = arg;
    job_n = ntasks;
    atomic_store(&job_next, 0);
    atomic_store(&active, nworkers);
    pthread_mutex_lock(&mu);
    atomic_fetch_add_explicit(&gen, 1, memory_order_release);
    pthread_cond_broadcast(&cv_work);
    pthread_mutex_unlock(&mu);
    do_tasks(fn, arg, ntasks);
    /* Wait for every worker: poll, then sleep. */
    for (int spin = 0; atomic_load(&active) > 0 && spin < SPIN; spin++)
        cpu_relax();
    if (atomic_load(&active) > 0) {
        pthread_mutex_lock(&mu);
        while (atomic_load(&active) > 0)
            pthread_cond_wait(&cv_done, &mu);
        pthread_mutex_unlock(&mu);
    }
    pthread_mutex_unlock(&run_mu);
}
