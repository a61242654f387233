/* SPDX-License-Identifier: MIT */
/*
 * A small pool of threads for work that blocks (a 1-wire read, a DNS
 * look-up). Jobs wait in a bounded queue; each job's `done` runs back on
 * the loop thread, delivered through a bounded outbox and an ev_async.
 */
#ifndef SMARTHUB_WORKER_H
#define SMARTHUB_WORKER_H

#include <ev.h>
#include <stddef.h>

struct sh_worker_pool;

/* The most threads a pool has; hub.workers is bounded by it at load. */
#define SH_WORKER_THREADS_MAX 16u

typedef void (*sh_worker_fn)(void *arg);
/* On the loop thread after the work ran; `owner` is NULL when the owner
 * was forgotten meanwhile (then free `arg` and touch nothing else). */
typedef void (*sh_worker_done_fn)(void *owner, void *arg);

/* `threads` workers, at most `queue_limit` jobs waiting. */
int sh_worker_pool_new(struct ev_loop *loop, unsigned threads, size_t queue_limit,
		       struct sh_worker_pool **out);
/* Runs work(arg) on a worker, then done(owner, arg) on the loop thread.
 * -EAGAIN when `queue_limit` jobs are already waiting. */
int sh_worker_submit(struct sh_worker_pool *pool, sh_worker_fn work, sh_worker_done_fn done,
		     void *owner, void *arg);
/* Every job of `owner`, waiting, running or finished, will see a NULL
 * owner in its done: for an owner that is going away. */
void sh_worker_forget(struct sh_worker_pool *pool, const void *owner);
/* Stops and joins the threads (a running job finishes first); jobs that
 * never ran and results not yet delivered get done(NULL, arg). NULL ok. */
void sh_worker_pool_free(struct sh_worker_pool *pool);

#endif
