/* SPDX-License-Identifier: MIT */
/*
 * The worker pool (util/worker.c): work runs on a worker thread and its
 * done on the loop thread, the queue is bounded, forgotten owners read as
 * NULL, and freeing the pool hands back every job that never ran.
 * Synchronisation is by semaphores and loop iterations, never by sleeps.
 */
#include "util/worker.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>

struct job {
	pthread_t worker;
	sem_t *started; /* posted when the work begins, when set */
	sem_t *gate;    /* the work waits on it when set */
	bool done;
	void *owner_seen;
	pthread_t done_on;
	sigset_t mask; /* the worker thread's signal mask */
};

static void work(void *arg)
{
	struct job *j = arg;
	j->worker = pthread_self();
	pthread_sigmask(SIG_BLOCK, NULL, &j->mask);
	if (j->started)
		sem_post(j->started);
	if (j->gate)
		sem_wait(j->gate);
}

static void done(void *owner, void *arg)
{
	struct job *j = arg;
	j->done = true;
	j->owner_seen = owner;
	j->done_on = pthread_self();
}

/* Runs the loop until every job of `jobs` is done (a guard of 20000
 * iterations against a hang; each blocks until the pool wakes the loop). */
static bool run_until_done(struct ev_loop *loop, struct job *jobs, size_t n)
{
	for (int guard = 0; guard < 20000; guard++) {
		size_t finished = 0;
		for (size_t i = 0; i < n; i++)
			finished += jobs[i].done;
		if (finished == n)
			return true;
		ev_run(loop, EVRUN_ONCE);
	}
	return false;
}

/* The pool unrefs its watcher; a repeating timer keeps ev_run from
 * returning at once while nothing else is active. */
static void tick(struct ev_loop *loop, ev_timer *w, int revents)
{
}

/* The ticking timer of kept_loop. */
static ev_timer keep;

/* A loop of its own with `keep` ticking on it (see tick). */
static struct ev_loop *kept_loop(void)
{
	struct ev_loop *loop = ev_loop_new(0);
	cr_assert_not_null(loop);
	ev_timer_init(&keep, tick, 0.01, 0.01);
	ev_timer_start(loop, &keep);
	return loop;
}

static void kept_loop_free(struct ev_loop *loop)
{
	ev_timer_stop(loop, &keep);
	ev_loop_destroy(loop);
}

Test(worker, work_runs_on_a_worker_and_done_on_the_loop)
{
	struct ev_loop *loop = kept_loop();
	struct sh_worker_pool *pool;
	cr_assert_eq(sh_worker_pool_new(loop, 2, 8, &pool), 0);
	int owner;
	struct job jobs[4] = {0};
	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(sh_worker_submit(pool, work, done, &owner, &jobs[i]), 0);
	cr_assert(run_until_done(loop, jobs, 4));
	for (size_t i = 0; i < 4; i++) {
		cr_assert_not(pthread_equal(jobs[i].worker, pthread_self()));
		cr_assert(pthread_equal(jobs[i].done_on, pthread_self()));
		cr_assert_eq(jobs[i].owner_seen, &owner);
	}
	sh_worker_pool_free(pool);
	kept_loop_free(loop);
}

Test(worker, the_queue_is_bounded_and_forgotten_owners_read_null)
{
	struct ev_loop *loop = kept_loop();
	sem_t gate, started;
	sem_init(&gate, 0, 0);
	sem_init(&started, 0, 0);
	struct sh_worker_pool *pool;
	cr_assert_eq(sh_worker_pool_new(loop, 1, 2, &pool), 0);
	int a, b;
	/* The one thread is held by `blocker`, so two more jobs fill the
	 * queue and a third is refused. */
	struct job blocker = {.started = &started, .gate = &gate}, queued[2] = {0}, refused = {0};
	cr_assert_eq(sh_worker_submit(pool, work, done, &a, &blocker), 0);
	sem_wait(&started); /* off the queue, on the thread */
	cr_assert_eq(sh_worker_submit(pool, work, done, &b, &queued[0]), 0);
	cr_assert_eq(sh_worker_submit(pool, work, done, &b, &queued[1]), 0);
	cr_assert_eq(sh_worker_submit(pool, work, done, &b, &refused), -EAGAIN);
	sh_worker_forget(pool, &b);
	sem_post(&gate);
	struct job *wait_for[] = {&blocker, &queued[0], &queued[1]};
	for (int guard = 0; guard < 20000; guard++) {
		if (wait_for[0]->done && wait_for[1]->done && wait_for[2]->done)
			break;
		ev_run(loop, EVRUN_ONCE);
	}
	cr_assert(blocker.done && queued[0].done && queued[1].done);
	cr_assert_eq(blocker.owner_seen, &a);
	cr_assert_null(queued[0].owner_seen);
	cr_assert_null(queued[1].owner_seen);
	cr_assert_not(refused.done);
	sh_worker_pool_free(pool);
	sem_destroy(&gate);
	sem_destroy(&started);
	kept_loop_free(loop);
}

Test(worker, freeing_the_pool_hands_back_jobs_that_never_ran)
{
	struct ev_loop *loop = ev_loop_new(0);
	sem_t gate;
	sem_init(&gate, 0, 0);
	struct sh_worker_pool *pool;
	/* More threads than the pool's real limit: capped, not refused. */
	cr_assert_eq(sh_worker_pool_new(loop, SH_WORKER_THREADS_MAX + 48, 64, &pool), 0);
	sh_worker_pool_free(pool);

	cr_assert_eq(sh_worker_pool_new(loop, 1, 4, &pool), 0);
	int owner;
	struct job blocker = {.gate = &gate}, never[3] = {0};
	cr_assert_eq(sh_worker_submit(pool, work, done, &owner, &blocker), 0);
	for (size_t i = 0; i < 3; i++)
		cr_assert_eq(sh_worker_submit(pool, work, done, &owner, &never[i]), 0);
	/* Free joins the worker, which finishes the blocker first. */
	sem_post(&gate);
	sh_worker_pool_free(pool);
	cr_assert(blocker.done);
	cr_assert_null(blocker.owner_seen);
	for (size_t i = 0; i < 3; i++) {
		/* Either run before the stop or handed back unrun: done always. */
		cr_assert(never[i].done);
		cr_assert_null(never[i].owner_seen);
	}
	sem_destroy(&gate);
	ev_loop_destroy(loop);
}

/* SIGCHLD and the other loop signals go to the loop's thread: a worker that
 * took them would see EINTR in its blocking calls. Faults stay deliverable
 * there, so a crash in a job is still reported. The creating thread's own
 * mask is left as it was. */
Test(worker, workers_leave_the_loops_signals_to_the_loop)
{
	struct ev_loop *loop = kept_loop();
	struct sh_worker_pool *pool;
	cr_assert_eq(sh_worker_pool_new(loop, 2, 8, &pool), 0);
	struct job jobs[2] = {0};
	for (size_t i = 0; i < 2; i++)
		cr_assert_eq(sh_worker_submit(pool, work, done, NULL, &jobs[i]), 0);
	cr_assert(run_until_done(loop, jobs, 2));
	for (size_t i = 0; i < 2; i++) {
		cr_assert(sigismember(&jobs[i].mask, SIGCHLD));
		cr_assert(sigismember(&jobs[i].mask, SIGTERM));
		cr_assert(sigismember(&jobs[i].mask, SIGHUP));
		cr_assert_not(sigismember(&jobs[i].mask, SIGSEGV));
	}
	sigset_t mine;
	pthread_sigmask(SIG_BLOCK, NULL, &mine);
	cr_assert_not(sigismember(&mine, SIGCHLD));
	sh_worker_pool_free(pool);
	kept_loop_free(loop);
}
