/*
 * pool.h — a small pthread pool for the engine's data-parallel loops.
 *
 * One process-wide pool, started on first use with N threads in all (the
 * caller counts as one): pool_set_threads(N) if called, else
 * $ZEVAL_THREADS, else the number of online CPUs.  pool_run() hands out
 * task indices 0..ntasks-1 to the workers and the caller and returns when
 * all are done; what a task computes must not depend on which thread runs
 * it.  Concurrent pool_run() callers never wait on each other: a caller
 * that finds the pool busy runs its tasks itself.  The workers are joined
 * at exit (in the process that started them).
 */
#ifndef ZEVAL_POOL_H
#define ZEVAL_POOL_H

#include <stddef.h>

typedef void (*pool_fn)(void *arg, int task, int ntasks);

/* Validates $ZEVAL_THREADS (once).  Returns 0, or -1 with a message. */
int pool_init(char *err, size_t errlen);

/* Sets the thread count (1..256) for the pool, restarting it if it is
 * running.  Must not race with pool_run().  Returns 0, or -1 with a message. */
int pool_set_threads(int n, char *err, size_t errlen);

/* Threads pool_run() would use (including the caller). */
int pool_threads(void);

/* Runs fn(arg, i, ntasks) for every i < ntasks, spread over the pool. */
void pool_run(pool_fn fn, void *arg, int ntasks);

#endif
