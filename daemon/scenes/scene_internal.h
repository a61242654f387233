/* SPDX-License-Identifier: MIT */
/*
 * What the scene engine's files share: the engine, a scene, a run and the
 * execution of one step, and the calls between the files. Not used
 * outside this folder.
 *
 *   scene.c       the engine: the hub listener, the scenes of the
 *                 configuration in force (matched and re-pointed on
 *                 reload), the public calls and the runners
 *   scene_run.c   a run's life: triggered under its scene's mode, queued,
 *                 started, finished or cancelled, its references, and the
 *                 scene's status that follows
 *   scene_exec.c  the execution tree of one run: each step's attempts,
 *                 device commands, delays, waits, nested scenes, timeouts,
 *                 retries and continue_on_error
 *
 * Everything runs on the loop thread.
 */
#ifndef SMARTHUB_SCENE_INTERNAL_H
#define SMARTHUB_SCENE_INTERNAL_H

#include "scenes/scene.h"
#include "util/list.h"

#include <ev.h>
#include <stdbool.h>
#include <time.h>

/* A retried step waits this long times the attempt number before it runs
 * again: long enough for a device that just refused to settle, short enough
 * not to stretch the critical path much. */
#define SH_SCENE_RETRY_BACKOFF_MS 100
/* Failures tolerated by continue_on_error that one run's result lists;
 * further ones are counted only. */
#define SH_SCENE_MAX_RECORDED_ERRORS 16
/* Length of a step's failure reason. */
#define SH_SCENE_REASON_LEN 256

enum run_state {
	RUN_QUEUED,
	RUN_RUNNING,
	RUN_FINISHED,
};

enum exec_state {
	EX_IDLE,    /* not started in this attempt of its parent */
	EX_ACTIVE,  /* running */
	EX_BACKOFF, /* failed, waiting to be retried */
	EX_DONE,
};

struct run;

/* The execution of one step within one run. */
struct exec {
	struct run *run;
	struct exec *parent;
	const struct sh_step *step; /* into the configuration in force */
	enum exec_state state;
	unsigned attempt;   /* 0 for the first */
	unsigned gen;       /* bumped at every start: tells a stale loop it is stale */
	ev_timer timeout;   /* the step's `timeout` */
	ev_timer timer;     /* a delay, or the retry backoff */
	struct exec **kids; /* one per child step */
	size_t n_kids;
	size_t next;       /* sequence: index of the running child */
	size_t n_finished; /* parallel: children finished */
	/* device step: the command queued or running at the device */
	struct sh_device *dev;
	uint64_t cmd_id;
	bool cmd_pending;
	/* wait step: linked into the engine's waiters */
	bool waiting;
	struct sh_list wait_link;
	/* scene step: the nested run (not referenced; cleared by its done) */
	struct run *child;
};

struct scene;

struct run {
	struct sh_scene_engine *engine;
	struct scene *scene; /* not used after the run finished */
	enum run_state state;
	unsigned refs;
	struct exec *root; /* built when the run starts */
	sh_scene_done_fn done;
	void *ctx;
	struct timespec started; /* monotonic */
	cJSON *errors;           /* failures tolerated by continue_on_error */
	cJSON *unconfirmed;      /* paths of steps done without the device's confirmation */
	unsigned errors_dropped;
	struct sh_list link; /* in the scene's running list or queue */
};

struct scene {
	char *name;
	const struct sh_scene_config *cfg;
	struct sh_list running; /* struct run.link */
	unsigned n_running;
	unsigned long n_finished; /* runs that ended (any result) since load */
	struct sh_list queue;     /* struct run.link, oldest first */
	unsigned n_queued;
	/* status */
	const char *state; /* "idle", "running", "failed", "cancelled" */
	char started_at[40];
	long long duration_ms; /* -1 until a run finished */
	char *failed_step;
	char *error;
	/* A runner (sh_scene_runner_new): not listed, emits no events. */
	bool hidden;
	struct sh_list runner_link; /* in engine->runners */
};

struct sh_scene_engine {
	struct sh_hub *hub;
	struct ev_loop *loop;
	const struct sh_config *config; /* held: the last one applied */
	bool started;                   /* the on_start scenes ran */
	struct scene **scenes;
	size_t n_scenes;
	struct sh_list waiters; /* struct exec.wait_link: waits not met yet */
	struct sh_list runners; /* struct scene.runner_link: hidden scenes (automations' steps) */
};

/* --- scene.c ------------------------------------------------------------- */

/* The scene of the configuration in force named `name`, or NULL. */
struct scene *sh_scene__find(const struct sh_scene_engine *engine, const char *name);

/* --- scene_run.c ----------------------------------------------------------- */

/* A reference for the duration of a call that may end the run. */
void sh_scene__run_ref(struct run *run);
/* Drops one; the last frees the run and its execution tree. */
void sh_scene__run_unref(struct run *run);
/* The run of a scene's running or queue link, or NULL for NULL. */
struct run *sh_scene__run_of(struct sh_list *link);
/* Ends `run` once with `status` ("ok", "failed", "cancelled"): the scene's
 * status, the next queued run, the done callback. The execution tree must
 * already be stopped. `fail_path` and `reason` are borrowed. */
void sh_scene__run_finish(struct run *run, const char *status, const char *fail_path,
			  const char *reason);
/* A failure tolerated by continue_on_error, for the run's result
 * (bounded by SH_SCENE_MAX_RECORDED_ERRORS; borrowed strings). */
void sh_scene__run_record_error(struct run *run, const char *path, const char *reason);
/* Stops and ends a run ("cancelled"); a finished one is left alone. */
void sh_scene__run_cancel(struct run *run);
/* Cancels a scene's queued triggers, then its running runs. */
void sh_scene__cancel_all(struct scene *sc);
/* Triggers `sc` under its mode: 0, or -EBUSY / -ENOMEM with a reason. On
 * success *out (if given) names the run before it starts, since a run can
 * finish inside this call. */
int sh_scene__trigger(struct sh_scene_engine *engine, struct scene *sc, sh_scene_done_fn done,
		      void *ctx, struct run **out, char *reason, size_t reason_len);

/* --- scene_exec.c ----------------------------------------------------------- */

/* Starts a step afresh (a block's child, or a root), with its full retry
 * budget. */
void sh_scene__exec_begin(struct exec *e);
/* Stops the current attempt of `e` and of everything under it. */
void sh_scene__exec_stop(struct exec *e);
/* Ends the current attempt of `e`: a success (reason NULL) or a failure
 * at `fail_path` (the deepest step that failed); retried, tolerated or
 * handed up as the step says. */
void sh_scene__exec_complete(struct exec *e, const char *fail_path, const char *reason);
/* The hub's news for the waits: a device's state or availability changed,
 * a device sent an event (`payload` {"event": name}), a device goes away
 * (steps waiting for it or its command fail now). */
void sh_scene__wake_waiters(struct sh_scene_engine *engine, struct sh_device *dev);
void sh_scene__wake_event_waiters(struct sh_scene_engine *engine, struct sh_device *dev,
				  const cJSON *payload);
void sh_scene__device_removed(struct sh_scene_engine *engine, struct sh_device *dev);

#endif
