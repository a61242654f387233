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

typedef void (*sh_worker_fn)(void *arg);
typedef void (*sh_worker_done_fn)(void *ctx, void *arg);

/* `threads` workers, at most `queue_limit` jobs waiting. */
int sh_worker_pool_new(struct ev_loop *loop, unsigned threads, size_t queue_limit,
		       struct sh_worker_pool **out);
/* Runs work(arg) on a worker, then done(ctx, arg) on the loop thread.
 * -EAGAIN when the queue is full. */
int sh_worker_submit(struct sh_worker_pool *pool, sh_worker_fn work, sh_worker_done_fn done,
		     void *ctx, void *arg);
/* Calls `fn(ctx, arg, match)` instead of done for every job, queued or
 * finished, whose ctx equals `ctx`, so a device being destroyed can free
 * its jobs' args; a job that is running finishes first. */
void sh_worker_forget(struct sh_worker_pool *pool, void *ctx);
/* Joins the threads; pending jobs are dropped after their done with... */
void sh_worker_pool_free(struct sh_worker_pool *pool);

#endif
