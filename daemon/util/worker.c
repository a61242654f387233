// SPDX-License-Identifier: MIT
/*
 * The worker pool: a few threads that run blocking jobs, so the loop never
 * waits. One mutex guards the queue of waiting jobs and the list of
 * finished ones; finished jobs wake the loop through an ev_async, which
 * coalesces wake-ups, so the loop takes the whole list at once.
 */
#include "util/worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>


struct job {
	struct job *next;
	sh_worker_fn work;
	sh_worker_done_fn done;
	const void *owner; /* NULL once forgotten */
	void *arg;
};

struct job_list {
	struct job *head, *tail;
};

struct sh_worker_pool {
	struct ev_loop *loop;
	ev_async wake;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job_list waiting;
	struct job_list running;
	struct job_list finished;
	size_t n_waiting;
	size_t queue_limit;
	bool stopping;
	unsigned n_threads;
	pthread_t threads[SH_WORKER_THREADS_MAX];
};

static void list_push(struct job_list *l, struct job *j)
{
	j->next = NULL;
	if (l->tail)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
}

static struct job *list_pop(struct job_list *l)
{
	struct job *j = l->head;
	if (j) {
		l->head = j->next;
		if (!l->head)
			l->tail = NULL;
	}
	return j;
}

static void list_remove(struct job_list *l, struct job *j)
{
	struct job *prev = NULL;
	for (struct job *it = l->head; it; prev = it, it = it->next) {
		if (it != j)
			continue;
		if (prev)
			prev->next = it->next;
		else
			l->head = it->next;
		if (l->tail == it)
			l->tail = prev;
		return;
	}
}

static void *worker_main(void *data)
{
	struct sh_worker_pool *pool = data;
	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while (!pool->stopping && !pool->waiting.head)
			pthread_cond_wait(&pool->cond, &pool->lock);
		if (pool->stopping)
			break;
		struct job *j = list_pop(&pool->waiting);
		pool->n_waiting--;
		list_push(&pool->running, j);
		pthread_mutex_unlock(&pool->lock);

		j->work(j->arg);

		pthread_mutex_lock(&pool->lock);
		list_remove(&pool->running, j);
		list_push(&pool->finished, j);
		ev_async_send(pool->loop, &pool->wake);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

static void deliver_finished(struct ev_loop *loop, ev_async *w, int revents)
{
	struct sh_worker_pool *pool = w->data;
	pthread_mutex_lock(&pool->lock);
	struct job *j = pool->finished.head;
	pool->finished.head = pool->finished.tail = NULL;
	pthread_mutex_unlock(&pool->lock);
	while (j) {
		struct job *next = j->next;
		j->done((void *)j->owner, j->arg);
		free(j);
		j = next;
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
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->cond, NULL);
	ev_async_init(&pool->wake, deliver_finished);
	pool->wake.data = pool;
	ev_async_start(loop, &pool->wake);
	/* The pool must not keep the loop alive on its own. */
	ev_unref(loop);
	for (unsigned i = 0; i < threads; i++) {
		int r = pthread_create(&pool->threads[i], NULL, worker_main, pool);
		if (r != 0) {
			sh_worker_pool_free(pool);
			return -r;
		}
		pool->n_threads++;
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
	list_push(&pool->waiting, j);
	pool->n_waiting++;
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	return 0;
}

static void forget_in(struct job_list *l, const void *owner)
{
	for (struct job *j = l->head; j; j = j->next)
		if (j->owner == owner)
			j->owner = NULL;
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
	struct job_list lists[] = {pool->waiting, pool->finished};
	for (size_t i = 0; i < 2; i++) {
		struct job *j;
		while ((j = list_pop(&lists[i]))) {
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
