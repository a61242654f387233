// SPDX-License-Identifier: MIT
/*
 * The worker pool: a few threads that run blocking jobs, so the loop never
 * waits. One mutex guards the queue of waiting jobs and the list of
 * finished ones; finished jobs wake the loop through an ev_async, which
 * coalesces wake-ups, so the loop takes the whole list at once.
 */
#include "util/worker.h"
#include "util/list.h"
#include "util/signals.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct job {
	struct sh_list link; /* in waiting, running or finished */
	sh_worker_fn work;
	sh_worker_done_fn done;
	const void *owner; /* NULL once forgotten */
	void *arg;
};

struct sh_worker_pool {
	struct ev_loop *loop;
	ev_async wake;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct sh_list waiting;
	struct sh_list running;
	struct sh_list finished;
	size_t n_waiting;
	size_t queue_limit;
	bool stopping;
	unsigned n_threads;
	pthread_t threads[SH_WORKER_THREADS_MAX];
};

static struct job *job_of(struct sh_list *link)
{
	return sh_list_entry(link, struct job, link);
}

static void *worker_main(void *data)
{
	struct sh_worker_pool *pool = data;
	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while (!pool->stopping && sh_list_empty(&pool->waiting))
			pthread_cond_wait(&pool->cond, &pool->lock);
		if (pool->stopping)
			break;
		struct job *j = job_of(sh_list_first(&pool->waiting));
		sh_list_remove(&j->link);
		pool->n_waiting--;
		sh_list_append(&pool->running, &j->link);
		pthread_mutex_unlock(&pool->lock);

		j->work(j->arg);

		pthread_mutex_lock(&pool->lock);
		sh_list_remove(&j->link);
		sh_list_append(&pool->finished, &j->link);
		ev_async_send(pool->loop, &pool->wake);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

static void deliver_finished(struct ev_loop *loop, ev_async *w, int revents)
{
	struct sh_worker_pool *pool = w->data;
	/* One job at a time, each taken under the lock: a done may destroy an
	 * owner and call sh_worker_forget, which must still reach the jobs
	 * not delivered yet. */
	for (;;) {
		pthread_mutex_lock(&pool->lock);
		struct sh_list *pos = sh_list_first(&pool->finished);
		if (pos)
			sh_list_remove(pos);
		pthread_mutex_unlock(&pool->lock);
		if (!pos)
			break;
		struct job *j = job_of(pos);
		void *owner = (void *)j->owner;
		j->done(owner, j->arg);
		free(j);
	}
}

int sh_worker_pool_new(struct ev_loop *loop, unsigned threads, size_t queue_limit,
		       struct sh_worker_pool **out)
{
	struct sh_worker_pool *pool = calloc(1, sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	if (threads == 0)
		threads = 1;
	if (threads > SH_WORKER_THREADS_MAX)
		threads = SH_WORKER_THREADS_MAX;
	pool->loop = loop;
	pool->queue_limit = queue_limit;
	sh_list_init(&pool->waiting);
	sh_list_init(&pool->running);
	sh_list_init(&pool->finished);
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->cond, NULL);
	ev_async_init(&pool->wake, deliver_finished);
	pool->wake.data = pool;
	ev_async_start(loop, &pool->wake);
	/* The pool must not keep the loop alive on its own. */
	ev_unref(loop);
	/* The workers leave the loop's signals to the loop (util/signals.h). */
	sigset_t old;
	sh_signals_block_async(&old);
	int r = 0;
	for (unsigned i = 0; i < threads && r == 0; i++) {
		r = pthread_create(&pool->threads[i], NULL, worker_main, pool);
		if (r == 0)
			pool->n_threads++;
	}
	sh_signals_restore(&old);
	if (r != 0) {
		sh_worker_pool_free(pool);
		return -r;
	}
	*out = pool;
	return 0;
}

int sh_worker_submit(struct sh_worker_pool *pool, sh_worker_fn work, sh_worker_done_fn done,
		     void *owner, void *arg)
{
	struct job *j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	*j = (struct job){.work = work, .done = done, .owner = owner, .arg = arg};
	pthread_mutex_lock(&pool->lock);
	if (pool->n_waiting >= pool->queue_limit) {
		pthread_mutex_unlock(&pool->lock);
		free(j);
		return -EAGAIN;
	}
	sh_list_append(&pool->waiting, &j->link);
	pool->n_waiting++;
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	return 0;
}

static void forget_in(struct sh_list *l, const void *owner)
{
	struct sh_list *pos;
	sh_list_for_each(pos, l)
	{
		if (job_of(pos)->owner == owner)
			job_of(pos)->owner = NULL;
	}
}

void sh_worker_forget(struct sh_worker_pool *pool, const void *owner)
{
	if (!pool || !owner)
		return;
	pthread_mutex_lock(&pool->lock);
	forget_in(&pool->waiting, owner);
	forget_in(&pool->running, owner);
	forget_in(&pool->finished, owner);
	pthread_mutex_unlock(&pool->lock);
}

void sh_worker_pool_free(struct sh_worker_pool *pool)
{
	if (!pool)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	for (unsigned i = 0; i < pool->n_threads; i++)
		pthread_join(pool->threads[i], NULL);

	/* Nothing runs now: hand back every job's arg so its owner's
	 * done can free it. */
	struct sh_list *lists[] = {&pool->waiting, &pool->finished};
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		struct sh_list *pos;
		while ((pos = sh_list_first(lists[i]))) {
			struct job *j = job_of(pos);
			sh_list_remove(pos);
			j->done(NULL, j->arg);
			free(j);
		}
	}
	ev_ref(pool->loop);
	ev_async_stop(pool->loop, &pool->wake);
	pthread_cond_destroy(&pool->cond);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}
