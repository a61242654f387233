/* SPDX-License-Identifier: MIT */
/*
 * The scene engine: runs scenes, trees of steps, on the hub's libev loop.
 *
 * It owns, per scene of the configuration in force, the scene's status and
 * its runs (running and queued), and per run a tree of executions that
 * mirrors the scene's step tree. Nothing polls: a device step completes in
 * the device's command completion, a delay and a timeout are ev_timers, and
 * a wait is re-checked only when the hub reports a state or availability
 * change of a device it names. A step's successor starts from the
 * completion that ended it, in the same loop iteration.
 *
 * Lifetime. A run is referenced by its scene's list (running or queued)
 * until it finishes, and by every entry point from outside (a timer, a
 * command completion, a hub event, the done of a nested run) for the
 * duration of the call, because finishing a step can finish the run and
 * everything above it on the same stack. A run is freed when it has
 * finished and nothing references it. After cancellation no callback can
 * reach a run: timers are stopped, waits unlinked, queued commands removed
 * with sh_device_cancel (which also mutes the completion of a running one)
 * and nested runs detached before they are cancelled.
 *
 * Reload. Executions point into the configuration's step tree, and the hub
 * frees the old configuration right after sh_scenes_apply returns. So apply
 * re-points the executions of every run whose scene kept its fingerprint at
 * the new, identical tree (checked node by node; a mismatch cancels the
 * run), and cancels the runs and queued triggers of scenes that changed or
 * went away. Re-pointing comes first and has no side effects; the
 * cancellations, which call done callbacks that may start steps, come after
 * it, while the old configuration is still alive.
 */
#include "scenes/scene.h"
#include "core/device.h"
#include "core/hub.h"
#include "util/list.h"
#include "util/log.h"
#include <errno.h>
#include <ev.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void exec_begin(struct exec *e);
static void exec_start(struct exec *e);
static void exec_stop(struct exec *e);
static void exec_complete(struct exec *e, const char *fail_path, const char *reason);
static void run_cancel(struct run *run);
static void scene_cancel_all(struct scene *sc);
static int scene_trigger(struct sh_scene_engine *engine, struct scene *sc, sh_scene_done_fn done,
			 void *ctx, struct run **out, char *reason, size_t reason_len);

/* --- small helpers ------------------------------------------------------ */

static long long elapsed_ms(const struct timespec *since)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(now.tv_sec - since->tv_sec) * 1000 +
	       (now.tv_nsec - since->tv_nsec) / 1000000;
}

static void iso8601_now(char *buf, size_t len)
{
	struct timespec now;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03uZ", base, (unsigned)(now.tv_nsec / 1000000) % 1000u);
}

static void replace_str(char **slot, const char *value)
{
	free(*slot);
	*slot = value ? strdup(value) : NULL;
}

/* A device's failure reason naming the device, once: the device module's
 * own reasons do ("device amp_plug is offline"), a driver's often do not
 * ("speaker is off"). */
static void device_reason(char *buf, size_t len, const char *device, const char *reason, int err)
{
	if (!reason || !*reason)
		reason = strerror(err < 0 ? -err : EIO);
	if (strstr(reason, device))
		snprintf(buf, len, "%s", reason);
	else
		snprintf(buf, len, "%s: %s", device, reason);
}

static struct scene *find_scene(const struct sh_scene_engine *engine, const char *name)
{
	for (size_t i = 0; i < engine->n_scenes; i++)
		if (strcmp(engine->scenes[i]->name, name) == 0)
			return engine->scenes[i];
	return NULL;
}

static void emit_state(struct sh_scene_engine *engine, struct scene *sc)
{
	if (sc->hidden)
		return;
	struct sh_event ev = {.type = SH_EV_SCENE_STATE, .scene = sc->name};
	sh_hub_emit(engine->hub, &ev);
}

/* --- runs: references and lists ----------------------------------------- */

static void exec_free(struct exec *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n_kids; i++)
		exec_free(e->kids[i]);
	free(e->kids);
	free(e);
}

static void run_ref(struct run *run)
{
	run->refs++;
}

static void run_unref(struct run *run)
{
	/* The analyzer cannot count references: on its paths a run that a
	 * caller still holds (run_cancel's own ref) looks freed. */
	// NOLINTNEXTLINE(clang-analyzer-unix.Malloc): every holder took a ref first
	if (--run->refs > 0)
		return;
	exec_free(run->root);
	cJSON_Delete(run->errors);
	cJSON_Delete(run->unconfirmed);
	free(run);
}

static struct run *run_of(struct sh_list *link)
{
	return link ? sh_list_entry(link, struct run, link) : NULL;
}

static void queue_unlink(struct scene *sc, struct run *run)
{
	sh_list_remove(&run->link);
	sc->n_queued--;
}

/* Builds the execution tree of `step`; NULL when out of memory. */
static struct exec *exec_build(struct run *run, struct exec *parent, const struct sh_step *step)
{
	struct exec *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->run = run;
	e->parent = parent;
	e->step = step;
	e->timeout.data = e;
	e->timer.data = e;
	if (step->n_children) {
		e->kids = calloc(step->n_children, sizeof(*e->kids));
		if (!e->kids)
			goto fail;
		for (size_t i = 0; i < step->n_children; i++) {
			e->kids[i] = exec_build(run, e, step->children[i]);
			if (!e->kids[i])
				goto fail;
			e->n_kids++;
		}
	}
	return e;
fail:
	exec_free(e);
	return NULL;
}

/* --- the end of a run --------------------------------------------------- */

static void run_start(struct run *run);

/*
 * Ends `run` once: takes it off its scene's list, updates and emits the
 * scene's status, starts the next queued run, and reports the result. The
 * execution tree must already be stopped.
 */
static void run_finish(struct run *run, const char *status, const char *fail_path,
		       const char *reason)
{
	struct sh_scene_engine *engine = run->engine;
	struct scene *sc = run->scene;
	bool was_running = run->state == RUN_RUNNING;
	long long duration = was_running ? elapsed_ms(&run->started) : 0;

	if (run->state == RUN_FINISHED)
		return;
	run_ref(run);
	if (was_running) {
		sh_list_remove(&run->link);
		sc->n_running--;
		sc->n_finished++;
	} else {
		queue_unlink(sc, run);
	}
	run->state = RUN_FINISHED;

	cJSON *result = cJSON_CreateObject();
	cJSON_AddStringToObject(result, "scene", sc->name);
	cJSON_AddStringToObject(result, "status", status);
	cJSON_AddNumberToObject(result, "duration_ms", (double)duration);
	if (fail_path)
		cJSON_AddStringToObject(result, "failed_step", fail_path);
	if (reason)
		cJSON_AddStringToObject(result, "error", reason);
	if (run->errors) {
		cJSON_AddItemToObject(result, "ignored_errors", run->errors);
		run->errors = NULL;
	}
	if (run->unconfirmed) {
		cJSON_AddItemToObject(result, "unconfirmed_steps", run->unconfirmed);
		run->unconfirmed = NULL;
	}

	if (was_running) {
		sc->duration_ms = duration;
		replace_str(&sc->failed_step, fail_path);
		replace_str(&sc->error, reason);
		if (strcmp(status, "ok") == 0)
			sc->state = "idle";
		else
			sc->state = strcmp(status, "failed") == 0 ? "failed" : "cancelled";
		if (sc->n_running > 0)
			sc->state = "running";
		if (strcmp(status, "failed") == 0)
			sh_log_warning("scene %s: failed at %s after %lldms: %s", sc->name,
				       fail_path ? fail_path : "?", duration, reason ? reason : "");
		else
			sh_log_info("scene %s: %s after %lldms", sc->name, status, duration);
		emit_state(engine, sc);
		/* The scene is free again: the oldest queued trigger runs now. */
		if (!sh_list_empty(&sc->queue) && sc->n_running == 0)
			run_start(run_of(sh_list_first(&sc->queue)));
	} else {
		emit_state(engine, sc); /* "queued" went down */
	}

	sh_scene_done_fn done = run->done;
	run->done = NULL;
	if (done)
		done(run->ctx, sc->name, result);
	cJSON_Delete(result);
	/* Ours and the list's go together (written so that the compiler
	 * sees a single release). */
	run->refs--;
	run_unref(run);
}

static void run_record_error(struct run *run, const char *path, const char *reason)
{
	cJSON *item;

	if (!run->errors)
		run->errors = cJSON_CreateArray();
	if (!run->errors || cJSON_GetArraySize(run->errors) >= SH_SCENE_MAX_RECORDED_ERRORS) {
		run->errors_dropped++;
		return;
	}
	item = cJSON_CreateObject();
	cJSON_AddStringToObject(item, "step", path ? path : "");
	cJSON_AddStringToObject(item, "error", reason ? reason : "");
	cJSON_AddItemToArray(run->errors, item);
}

/* --- waits --------------------------------------------------------------- */

static void waiter_link(struct sh_scene_engine *engine, struct exec *e)
{
	sh_list_prepend(&engine->waiters, &e->wait_link);
	e->waiting = true;
}

static void waiter_unlink(struct sh_scene_engine *engine, struct exec *e)
{
	if (!e->waiting)
		return;
	sh_list_remove(&e->wait_link);
	e->waiting = false;
}

/* Every member of the condition's state equals the device's; the pseudo
 * member "availability" is compared with the device's availability. */
static bool condition_met(struct sh_scene_engine *engine, const struct sh_wait_condition *c)
{
	struct sh_device *dev = sh_hub_find_device(engine->hub, c->device);
	const cJSON *want;

	if (!dev || c->event)
		return false;
	cJSON_ArrayForEach(want, c->state)
	{
		if (strcmp(want->string, "availability") == 0) {
			if (!cJSON_IsString(want) ||
			    strcmp(want->valuestring, sh_device_availability(dev)) != 0)
				return false;
			continue;
		}
		const cJSON *have =
			cJSON_GetObjectItemCaseSensitive(sh_device_state(dev), want->string);
		if (!have || !cJSON_Compare(want, have, true))
			return false;
	}
	return true;
}

static bool wait_met(struct sh_scene_engine *engine, const struct sh_step *step)
{
	for (size_t i = 0; i < step->n_conditions; i++)
		if (condition_met(engine, &step->conditions[i]))
			return true;
	return false;
}

static bool wait_names(const struct sh_step *step, const char *device)
{
	for (size_t i = 0; i < step->n_conditions; i++)
		if (strcmp(step->conditions[i].device, device) == 0)
			return true;
	return false;
}

/*
 * Completes every wait on `dev` whose conditions now hold. Completing one
 * may start, stop or complete others, so the scan starts over after each;
 * it ends because each round takes one waiter off the list.
 */
static void wake_waiters(struct sh_scene_engine *engine, struct sh_device *dev)
{
	const char *id = sh_device_id(dev);
	struct sh_list *pos;
again:
	sh_list_for_each(pos, &engine->waiters)
	{
		struct exec *e = sh_list_entry(pos, struct exec, wait_link);
		if (!wait_names(e->step, id) || !wait_met(engine, e->step))
			continue;
		struct run *run = e->run;
		run_ref(run);
		exec_complete(e, NULL, NULL);
		run_unref(run);
		goto again;
	}
}

/* Completes every wait for event `name` of `dev` (a button press): an
 * event is a moment, so only the waits already running see it. */
static void wake_event_waiters(struct sh_scene_engine *engine, struct sh_device *dev,
			       const cJSON *payload)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(payload, "event");
	const char *id = sh_device_id(dev);
	if (!cJSON_IsString(name))
		return;
	struct sh_list *pos;
again:
	sh_list_for_each(pos, &engine->waiters)
	{
		struct exec *e = sh_list_entry(pos, struct exec, wait_link);
		bool met = false;
		for (size_t i = 0; i < e->step->n_conditions && !met; i++) {
			const struct sh_wait_condition *c = &e->step->conditions[i];
			met = c->event && !strcmp(c->device, id) &&
			      !strcmp(c->event, name->valuestring);
		}
		if (!met)
			continue;
		struct run *run = e->run;
		run_ref(run);
		exec_complete(e, NULL, NULL);
		run_unref(run);
		goto again;
	}
}

/* Finds an execution of `tree` with a command pending at `dev`. */
static struct exec *find_command_at(struct exec *e, struct sh_device *dev)
{
	if (!e)
		return NULL;
	if (e->cmd_pending && e->dev == dev)
		return e;
	for (size_t i = 0; i < e->n_kids; i++) {
		struct exec *hit = find_command_at(e->kids[i], dev);
		if (hit)
			return hit;
	}
	return NULL;
}

/* A device is about to be freed: steps waiting for it, or for its
 * command, fail now rather than forever. */
static void device_removed(struct sh_scene_engine *engine, struct sh_device *dev)
{
	const char *id = sh_device_id(dev);
	char reason[SH_SCENE_REASON_LEN];

	snprintf(reason, sizeof(reason), "device %s was removed", id);
	struct sh_list *pos;
again:
	sh_list_for_each(pos, &engine->waiters)
	{
		struct exec *e = sh_list_entry(pos, struct exec, wait_link);
		if (!wait_names(e->step, id))
			continue;
		struct run *run = e->run;
		run_ref(run);
		exec_complete(e, e->step->path, reason);
		run_unref(run);
		goto again;
	}
	/* The scenes, then the runners: each a list of running runs. */
	struct sh_list *runner = &engine->runners;
	for (size_t i = 0; i < engine->n_scenes || runner->next != &engine->runners; i++) {
		struct scene *sc;
		if (i < engine->n_scenes) {
			sc = engine->scenes[i];
		} else {
			runner = runner->next;
			sc = sh_list_entry(runner, struct scene, runner_link);
		}
		sh_list_for_each(pos, &sc->running)
		{
			struct run *run = run_of(pos);
			// NOLINTNEXTLINE(clang-analyzer-unix.Malloc): a listed run holds a ref; none freed
			struct exec *e = find_command_at(run->root, dev);
			if (!e)
				continue;
			run_ref(run);
			exec_complete(e, e->step->path, reason);
			run_unref(run);
			goto again;
		}
	}
}

static void scenes_apply(struct sh_scene_engine *engine, const struct sh_config *config);
static void scenes_run_on_start(struct sh_scene_engine *engine);

/* The hub put a configuration in force: take it, keeping the previous one
 * alive until the runs that pointed into it were re-pointed or cancelled. */
static void config_applied(struct sh_scene_engine *engine)
{
	struct sh_config *previous = (struct sh_config *)engine->config;
	scenes_apply(engine, sh_config_hold(sh_hub_config(engine->hub)));
	sh_config_free(previous);
	if (!engine->started) {
		engine->started = true;
		scenes_run_on_start(engine);
	}
}

static void on_hub_event(void *ctx, const struct sh_event *ev)
{
	struct sh_scene_engine *engine = ctx;

	switch (ev->type) {
	case SH_EV_DEVICE_STATE:
	case SH_EV_DEVICE_AVAILABILITY:
		if (ev->device)
			wake_waiters(engine, ev->device);
		break;
	case SH_EV_DEVICE_REMOVED:
		if (ev->device)
			device_removed(engine, ev->device);
		break;
	case SH_EV_DEVICE_EVENT:
		if (ev->device)
			wake_event_waiters(engine, ev->device, ev->data);
		break;
	case SH_EV_CONFIG_APPLIED:
		config_applied(engine);
		break;
	default:
		break;
	}
}

/* --- executing steps ----------------------------------------------------- */

static void on_command_done(void *ctx, struct sh_device *dev, uint64_t id, int err,
			    const char *reason)
{
	struct exec *e = ctx;
	struct run *run = e->run;
	char text[SH_SCENE_REASON_LEN];

	/* Cancelled commands report nothing (sh_device_cancel), so this is a
	 * belt to those braces: only the command of the current attempt. */
	if (!e->cmd_pending || e->state != EX_ACTIVE || e->dev != dev || e->cmd_id != id)
		return;
	e->cmd_pending = false;
	run_ref(run);
	if (err < 0) {
		device_reason(text, sizeof(text), sh_device_id(dev), reason, err);
		exec_complete(e, e->step->path, text);
	} else {
		/* An optimistic driver (mqtt without a state topic) sent it but
		 * cannot know it happened: the result says so. */
		if (reason && strcmp(reason, "unconfirmed") == 0 && e->step->path &&
		    (run->unconfirmed || (run->unconfirmed = cJSON_CreateArray())) &&
		    cJSON_GetArraySize(run->unconfirmed) < SH_SCENE_MAX_RECORDED_ERRORS)
			cJSON_AddItemToArray(run->unconfirmed, cJSON_CreateString(e->step->path));
		exec_complete(e, NULL, NULL);
	}
	run_unref(run);
}

static void on_nested_done(void *ctx, const char *scene, const cJSON *result)
{
	struct exec *e = ctx;
	struct run *run = e->run;
	char text[SH_SCENE_REASON_LEN];
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(result, "status"));
	const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(result, "failed_step"));
	const char *error = cJSON_GetStringValue(cJSON_GetObjectItem(result, "error"));

	e->child = NULL;
	if (e->state != EX_ACTIVE)
		return;
	run_ref(run);
	if (status && strcmp(status, "ok") == 0) {
		exec_complete(e, NULL, NULL);
	} else if (status && strcmp(status, "failed") == 0) {
		snprintf(text, sizeof(text), "scene %s failed at %s: %s", scene, path ? path : "?",
			 error ? error : "");
		exec_complete(e, e->step->path, text);
	} else {
		snprintf(text, sizeof(text), "scene %s was cancelled", scene);
		exec_complete(e, e->step->path, text);
	}
	run_unref(run);
}

static void on_step_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct exec *e = w->data;
	struct run *run = e->run;
	char text[SH_SCENE_REASON_LEN];

	if (e->state != EX_ACTIVE)
		return;
	snprintf(text, sizeof(text), "timeout after %llums",
		 (unsigned long long)e->step->timeout_ms);
	run_ref(run);
	exec_complete(e, e->step->path, text);
	run_unref(run);
}

static void on_step_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct exec *e = w->data;
	struct run *run = e->run;

	run_ref(run);
	if (e->state == EX_BACKOFF)
		exec_start(e);
	else if (e->state == EX_ACTIVE && e->step->type == SH_STEP_DELAY)
		exec_complete(e, NULL, NULL);
	run_unref(run);
}

static void start_device(struct exec *e)
{
	struct sh_scene_engine *engine = e->run->engine;
	const struct sh_step *step = e->step;
	char reason[SH_SCENE_REASON_LEN / 2];
	char text[SH_SCENE_REASON_LEN];
	struct sh_device *dev = sh_hub_find_device(engine->hub, step->device);
	cJSON *command;
	int rc;

	if (!dev) {
		snprintf(text, sizeof(text), "device %s not found", step->device);
		exec_complete(e, step->path, text);
		return;
	}
	command = cJSON_Duplicate(step->set, 1);
	if (!command) {
		exec_complete(e, step->path, "out of memory");
		return;
	}
	/* The completion comes on a later loop iteration (the device API's
	 * contract), when cmd_id is known. */
	e->dev = dev;
	e->cmd_pending = true;
	reason[0] = '\0';
	rc = sh_device_submit(dev, command, on_command_done, e, &e->cmd_id, reason, sizeof(reason));
	if (rc < 0) {
		e->cmd_pending = false;
		device_reason(text, sizeof(text), step->device, reason, rc);
		exec_complete(e, step->path, text);
	}
}

static void start_wait(struct exec *e)
{
	struct sh_scene_engine *engine = e->run->engine;
	const struct sh_step *step = e->step;
	char text[SH_SCENE_REASON_LEN];

	for (size_t i = 0; i < step->n_conditions; i++) {
		if (!sh_hub_find_device(engine->hub, step->conditions[i].device)) {
			snprintf(text, sizeof(text), "device %s not found",
				 step->conditions[i].device);
			exec_complete(e, step->path, text);
			return;
		}
	}
	if (wait_met(engine, step)) {
		exec_complete(e, NULL, NULL);
		return;
	}
	waiter_link(engine, e);
}

static void start_scene(struct exec *e)
{
	struct sh_scene_engine *engine = e->run->engine;
	const struct sh_step *step = e->step;
	char reason[SH_SCENE_REASON_LEN / 2];
	char text[SH_SCENE_REASON_LEN];
	struct scene *sc = find_scene(engine, step->scene);
	int rc;

	if (!sc) {
		snprintf(text, sizeof(text), "scene %s not found", step->scene);
		exec_complete(e, step->path, text);
		return;
	}
	reason[0] = '\0';
	/* e->child is set before the nested run starts and cleared by its
	 * done, which may come before scene_trigger returns. */
	rc = scene_trigger(engine, sc, on_nested_done, e, &e->child, reason, sizeof(reason));
	if (rc < 0) {
		e->child = NULL;
		snprintf(text, sizeof(text), "scene %s: %s", step->scene,
			 reason[0] ? reason : strerror(-rc));
		exec_complete(e, step->path, text);
	}
}

/* Starts a step afresh (a block's child, or a root), with its full retry budget. */
static void exec_begin(struct exec *e)
{
	e->attempt = 0;
	exec_start(e);
}

/* Starts one attempt of `e`. */
static void exec_start(struct exec *e)
{
	struct ev_loop *loop = e->run->engine->loop;
	const struct sh_step *step = e->step;
	unsigned gen = ++e->gen;

	e->state = EX_ACTIVE;
	for (size_t i = 0; i < e->n_kids; i++)
		e->kids[i]->state = EX_IDLE;
	if (step->timeout_ms) {
		ev_timer_init(&e->timeout, on_step_timeout, step->timeout_ms / 1000.0, 0.);
		ev_timer_start(loop, &e->timeout);
	}
	if (e->attempt > 0)
		sh_log_info("scene %s: %s: attempt %u", e->run->scene->name, step->path,
			    e->attempt + 1);

	switch (step->type) {
	case SH_STEP_SEQUENCE:
		e->next = 0;
		if (e->n_kids == 0)
			exec_complete(e, NULL, NULL);
		else
			exec_begin(e->kids[0]);
		break;
	case SH_STEP_PARALLEL:
		e->n_finished = 0;
		if (e->n_kids == 0) {
			exec_complete(e, NULL, NULL);
			break;
		}
		/* A branch may fail at once, failing this block and stopping
		 * its siblings: then no further branch may start. */
		for (size_t i = 0; i < e->n_kids && e->state == EX_ACTIVE && e->gen == gen; i++)
			exec_begin(e->kids[i]);
		break;
	case SH_STEP_DEVICE:
		start_device(e);
		break;
	case SH_STEP_DELAY:
		ev_timer_init(&e->timer, on_step_timer, step->delay_ms / 1000.0, 0.);
		ev_timer_start(loop, &e->timer);
		break;
	case SH_STEP_WAIT:
		start_wait(e);
		break;
	case SH_STEP_SCENE:
		start_scene(e);
		break;
	}
}

/* Stops the current attempt of `e` and of everything under it. */
static void exec_stop(struct exec *e)
{
	struct sh_scene_engine *engine = e->run->engine;

	ev_timer_stop(engine->loop, &e->timeout);
	ev_timer_stop(engine->loop, &e->timer);
	if (e->cmd_pending) {
		e->cmd_pending = false;
		sh_device_cancel(e->dev, e->cmd_id);
	}
	e->dev = NULL;
	waiter_unlink(engine, e);
	if (e->child) {
		struct run *child = e->child;
		e->child = NULL;
		child->done = NULL; /* detached: its end is no longer ours */
		run_cancel(child);
	}
	for (size_t i = 0; i < e->n_kids; i++) {
		struct exec *kid = e->kids[i];
		if (kid->state == EX_ACTIVE || kid->state == EX_BACKOFF)
			exec_stop(kid);
		kid->state = EX_IDLE;
	}
}

/* A child of block `p` finished; `reason` NULL when it succeeded. */
static void child_done(struct exec *p, const char *fail_path, const char *reason)
{
	if (p->state != EX_ACTIVE)
		return;
	if (reason) {
		exec_complete(p, fail_path, reason);
		return;
	}
	if (p->step->type == SH_STEP_SEQUENCE) {
		if (++p->next < p->n_kids)
			exec_begin(p->kids[p->next]);
		else
			exec_complete(p, NULL, NULL);
	} else if (++p->n_finished == p->n_kids) {
		exec_complete(p, NULL, NULL);
	}
}

/*
 * Ends the current attempt of `e`: a success, or a failure at `fail_path`
 * (the deepest step that failed) with `reason`. A failure is retried while
 * the step has attempts left, then either tolerated (continue_on_error,
 * recorded in the run's result) or handed up.
 */
static void exec_complete(struct exec *e, const char *fail_path, const char *reason)
{
	struct run *run = e->run;
	const struct sh_step *step = e->step;

	exec_stop(e);
	if (reason && e->attempt < step->retry) {
		e->attempt++;
		sh_log_info("scene %s: %s failed (%s); retrying", run->scene->name, step->path,
			    reason);
		e->state = EX_BACKOFF;
		ev_timer_init(&e->timer, on_step_timer,
			      (double)SH_SCENE_RETRY_BACKOFF_MS * e->attempt / 1000.0, 0.);
		ev_timer_start(run->engine->loop, &e->timer);
		return;
	}
	e->state = EX_DONE;
	if (reason && step->continue_on_error) {
		sh_log_notice("scene %s: %s failed, continuing: %s", run->scene->name,
			      fail_path ? fail_path : step->path, reason);
		run_record_error(run, fail_path ? fail_path : step->path, reason);
		reason = NULL;
		fail_path = NULL;
	}
	if (e->parent)
		child_done(e->parent, fail_path, reason);
	else if (reason)
		run_finish(run, "failed", fail_path ? fail_path : step->path, reason);
	else
		run_finish(run, "ok", NULL, NULL);
}

/* --- starting, triggering and cancelling runs ---------------------------- */

static void run_start(struct run *run)
{
	struct sh_scene_engine *engine = run->engine;
	struct scene *sc = run->scene;

	if (run->state == RUN_QUEUED)
		queue_unlink(sc, run);
	run->state = RUN_RUNNING;
	sh_list_prepend(&sc->running, &run->link);
	sc->n_running++;
	clock_gettime(CLOCK_MONOTONIC, &run->started);
	iso8601_now(sc->started_at, sizeof(sc->started_at));
	sc->state = "running";
	replace_str(&sc->failed_step, NULL);
	replace_str(&sc->error, NULL);
	sh_log_info("scene %s: started", sc->name);

	run_ref(run);
	emit_state(engine, sc);
	run->root = exec_build(run, NULL, sc->cfg->root);
	if (!run->root)
		run_finish(run, "failed", "steps", "out of memory");
	else if (run->state == RUN_RUNNING)
		exec_begin(run->root);
	run_unref(run);
}

static void refuse(struct sh_scene_engine *engine, char *reason, size_t reason_len, const char *fmt,
		   ...) __attribute__((format(printf, 4, 5)));

static void refuse(struct sh_scene_engine *engine, char *reason, size_t reason_len, const char *fmt,
		   ...)
{
	char text[SH_SCENE_REASON_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (reason && reason_len)
		snprintf(reason, reason_len, "%s", text);
	sh_log_notice("%s", text);
	/* A caller that takes the reason reports it where it knows more (the
	 * bridge names the topic), so the refusal is one event, not two. */
	if (!reason || !reason_len)
		sh_hub_error(engine->hub, NULL, NULL, "%s", text);
}

/*
 * Triggers `sc` under its mode. On success *out (if given) names the run
 * before it starts, since a run can finish inside this call.
 */
static int scene_trigger(struct sh_scene_engine *engine, struct scene *sc, sh_scene_done_fn done,
			 void *ctx, struct run **out, char *reason, size_t reason_len)
{
	const struct sh_scene_config *cfg = sc->cfg;
	bool enqueue = false;
	struct run *run;

	switch (cfg->mode) {
	case SH_SCENE_SINGLE:
		if (sc->n_running > 0) {
			refuse(engine, reason, reason_len, "scene %s is already running", sc->name);
			return -EBUSY;
		}
		break;
	case SH_SCENE_RESTART:
		scene_cancel_all(sc);
		break;
	case SH_SCENE_QUEUED:
		if (sc->n_running > 0 || !sh_list_empty(&sc->queue)) {
			if (sc->n_queued >= cfg->max) {
				refuse(engine, reason, reason_len,
				       "scene %s is already running and %u runs are queued",
				       sc->name, sc->n_queued);
				return -EBUSY;
			}
			enqueue = true;
		}
		break;
	case SH_SCENE_PARALLEL:
		if (sc->n_running >= cfg->max) {
			refuse(engine, reason, reason_len,
			       "scene %s is already running %u times (max %u)", sc->name,
			       sc->n_running, cfg->max);
			return -EBUSY;
		}
		break;
	}

	run = calloc(1, sizeof(*run));
	if (!run) {
		if (reason && reason_len)
			snprintf(reason, reason_len, "out of memory");
		return -ENOMEM;
	}
	run->engine = engine;
	run->scene = sc;
	run->refs = 1; /* the scene's list */
	run->done = done;
	run->ctx = ctx;
	run->state = RUN_QUEUED;
	if (out)
		*out = run;
	/* Both paths start out in the queue, so run_start has one case. */
	sh_list_append(&sc->queue, &run->link);
	sc->n_queued++;
	if (enqueue) {
		sh_log_info("scene %s: queued (%u waiting)", sc->name, sc->n_queued);
		emit_state(engine, sc);
	} else {
		run_start(run);
	}
	return 0;
}

static void run_cancel(struct run *run)
{
	if (run->state == RUN_FINISHED)
		return;
	run_ref(run);
	if (run->state == RUN_RUNNING && run->root &&
	    (run->root->state == EX_ACTIVE || run->root->state == EX_BACKOFF)) {
		exec_stop(run->root);
		run->root->state = EX_DONE;
	}
	run_finish(run, "cancelled", NULL, "cancelled");
	// NOLINTNEXTLINE(clang-analyzer-unix.Malloc): our run_ref above keeps it alive
	run_unref(run);
}

/* Cancels the queued triggers first, so that cancelling the running runs
 * does not start them. Each run_cancel takes the run off sc's list (its
 * run->scene is sc), which the analyzer cannot tell. */
static void scene_cancel_all(struct scene *sc)
{
	struct sh_list *pos;
	/* Each run is taken off its list before it is cancelled (run_finish's
	 * own unlink is then a no-op), so the list never points at a run
	 * that cancelling may have freed. */
	while ((pos = sh_list_first(&sc->queue))) {
		sh_list_remove(pos);
		run_cancel(run_of(pos));
	}
	while ((pos = sh_list_first(&sc->running))) {
		sh_list_remove(pos);
		run_cancel(run_of(pos));
	}
}

/* --- the engine ---------------------------------------------------------- */

static struct scene *scene_new(const struct sh_scene_config *cfg)
{
	struct scene *sc = calloc(1, sizeof(*sc));
	if (!sc)
		return NULL;
	sc->name = strdup(cfg->name);
	if (!sc->name) {
		free(sc);
		return NULL;
	}
	sc->cfg = cfg;
	sc->state = "idle";
	sc->duration_ms = -1;
	sh_list_init(&sc->running);
	sh_list_init(&sc->queue);
	sh_list_init(&sc->runner_link);
	return sc;
}

static void scene_free(struct scene *sc)
{
	if (!sc)
		return;
	free(sc->name);
	free(sc->failed_step);
	free(sc->error);
	free(sc);
}

int sh_scenes_new(struct sh_hub *hub, struct sh_scene_engine **out)
{
	struct sh_scene_engine *engine = calloc(1, sizeof(*engine));
	int rc;

	*out = NULL;
	if (!engine)
		return -ENOMEM;
	engine->hub = hub;
	engine->loop = sh_hub_loop(hub);
	sh_list_init(&engine->waiters);
	sh_list_init(&engine->runners);
	rc = sh_hub_listen(hub, on_hub_event, engine);
	if (rc < 0) {
		free(engine);
		return rc;
	}
	*out = engine;
	return 0;
}

void sh_scenes_stop(struct sh_scene_engine *engine)
{
	if (!engine)
		return;
	for (size_t i = 0; i < engine->n_scenes; i++)
		scene_cancel_all(engine->scenes[i]);
	struct sh_list *pos;
	sh_list_for_each(pos, &engine->runners)
		scene_cancel_all(sh_list_entry(pos, struct scene, runner_link));
}

void sh_scenes_free(struct sh_scene_engine *engine)
{
	if (!engine)
		return;
	sh_scenes_stop(engine);
	sh_hub_unlisten(engine->hub, on_hub_event, engine);
	for (size_t i = 0; i < engine->n_scenes; i++)
		scene_free(engine->scenes[i]);
	free(engine->scenes);
	sh_config_free((struct sh_config *)engine->config);
	free(engine);
}

/* Points the executions of a run at the new, identical step tree. */
static bool exec_repoint(struct exec *e, const struct sh_step *step)
{
	if (e->step->type != step->type || e->n_kids != step->n_children)
		return false;
	e->step = step;
	for (size_t i = 0; i < e->n_kids; i++)
		if (!exec_repoint(e->kids[i], step->children[i]))
			return false;
	return true;
}

static bool same_fingerprint(const struct sh_scene_config *a, const struct sh_scene_config *b)
{
	return a->fingerprint && b->fingerprint && strcmp(a->fingerprint, b->fingerprint) == 0;
}

/* Puts the scenes of `config` in force. Runs of scenes that were removed or
 * whose definition changed are cancelled; others go on, re-pointed at the
 * new, identical step trees. */
static void scenes_apply(struct sh_scene_engine *engine, const struct sh_config *config)
{
	struct scene **old = engine->scenes;
	size_t n_old = engine->n_scenes;
	struct scene **now = calloc(config->n_scenes ? config->n_scenes : 1, sizeof(*now));
	bool *changed = calloc(n_old ? n_old : 1, sizeof(*changed));
	bool *kept = calloc(n_old ? n_old : 1, sizeof(*kept));
	size_t n_now = 0;

	if (!now || !changed || !kept) {
		/* Without memory the safe course is the one that keeps no
		 * pointer into the old configuration: cancel everything. */
		sh_log_error("scenes: out of memory applying the configuration");
		sh_scenes_stop(engine);
		free(changed);
		free(kept);
		for (size_t i = 0; i < n_old; i++)
			scene_free(old[i]);
		free(old);
		free(now);
		engine->scenes = NULL;
		engine->n_scenes = 0;
		engine->config = config;
		return;
	}

	/* 1. Match scenes by name; re-point runs of unchanged ones. */
	for (size_t i = 0; i < config->n_scenes; i++) {
		const struct sh_scene_config *cfg = &config->scenes[i];
		struct scene *sc = NULL;

		for (size_t j = 0; j < n_old; j++) {
			if (!kept[j] && strcmp(old[j]->name, cfg->name) == 0) {
				sc = old[j];
				kept[j] = true;
				changed[j] = !same_fingerprint(sc->cfg, cfg);
				if (!changed[j]) {
					struct sh_list *pos;
					sh_list_for_each(pos, &sc->running)
					{
						struct run *r = run_of(pos);
						if (r->root && !exec_repoint(r->root, cfg->root))
							changed[j] = true;
					}
				}
				break;
			}
		}
		if (!sc)
			sc = scene_new(cfg);
		if (!sc) {
			sh_log_error("scenes: out of memory for scene %s", cfg->name);
			continue;
		}
		sc->cfg = cfg;
		now[n_now++] = sc;
	}
	engine->scenes = now;
	engine->n_scenes = n_now;
	engine->config = config;

	/* 1b. Runners follow their automation of the same name and
	 * fingerprint; the others become orphans, cancelled below. */
	struct sh_list *rpos;
	sh_list_for_each(rpos, &engine->runners)
	{
		struct scene *r = sh_list_entry(rpos, struct scene, runner_link);
		const struct sh_automation_config *au =
			r->cfg ? sh_config_find_automation(config, r->name) : NULL;
		bool same = au && same_fingerprint(r->cfg, &au->run);
		struct sh_list *pos;
		sh_list_for_each(pos, &r->running)
		{
			struct run *run = run_of(pos);
			if (same && run->root && !exec_repoint(run->root, au->run.root))
				same = false;
		}
		if (same) {
			r->cfg = &au->run;
		} else if (r->cfg) {
			scene_cancel_all(r);
			r->cfg = NULL;
		}
	}

	/* 2. Cancel what cannot go on, while the old configuration lives. */
	for (size_t j = 0; j < n_old; j++) {
		if (kept[j] && !changed[j])
			continue;
		if (!sh_list_empty(&old[j]->running) || !sh_list_empty(&old[j]->queue))
			sh_log_info("scene %s: %s; cancelling its runs", old[j]->name,
				    kept[j] ? "changed" : "removed");
		scene_cancel_all(old[j]);
		if (!kept[j])
			scene_free(old[j]);
	}
	free(changed);
	free(kept);
	free(old);
}

static void on_start_done(void *ctx, const char *scene, const cJSON *result)
{
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(result, "status"));
	sh_log_info("scene %s (on_start): %s", scene, status ? status : "?");
}

static void scenes_run_on_start(struct sh_scene_engine *engine)
{
	const struct sh_config *config = engine->config;
	char reason[SH_SCENE_REASON_LEN];

	if (!config)
		return;
	for (size_t i = 0; i < config->n_on_start; i++) {
		if (sh_scene_run(engine, config->on_start[i], on_start_done, engine, reason,
				 sizeof(reason)) < 0)
			sh_log_warning("scene %s (on_start): %s", config->on_start[i], reason);
	}
}

int sh_scene_run(struct sh_scene_engine *engine, const char *name, sh_scene_done_fn done, void *ctx,
		 char *reason, size_t reason_len)
{
	struct scene *sc = find_scene(engine, name);

	if (!sc) {
		if (reason && reason_len)
			snprintf(reason, reason_len, "unknown scene %s", name);
		return -ENOENT;
	}
	return scene_trigger(engine, sc, done, ctx, NULL, reason, reason_len);
}

int sh_scene_cancel(struct sh_scene_engine *engine, const char *name)
{
	struct scene *sc = find_scene(engine, name);

	if (!sc)
		return -ENOENT;
	scene_cancel_all(sc);
	return 0;
}

cJSON *sh_scene_status(const struct sh_scene_engine *engine, const char *name)
{
	struct scene *sc = find_scene(engine, name);
	cJSON *status;

	if (!sc)
		return NULL;
	status = cJSON_CreateObject();
	if (!status)
		return NULL;
	cJSON_AddStringToObject(status, "state", sc->state);
	if (sc->started_at[0])
		cJSON_AddStringToObject(status, "started_at", sc->started_at);
	else
		cJSON_AddNullToObject(status, "started_at");
	if (sc->duration_ms >= 0)
		cJSON_AddNumberToObject(status, "duration_ms", (double)sc->duration_ms);
	else
		cJSON_AddNullToObject(status, "duration_ms");
	if (sc->failed_step)
		cJSON_AddStringToObject(status, "failed_step", sc->failed_step);
	if (sc->error)
		cJSON_AddStringToObject(status, "error", sc->error);
	/* "runs": 0 read like "never ran": the runs going on now and the
	 * ones that ended are two numbers. */
	cJSON_AddNumberToObject(status, "active", sc->n_running);
	cJSON_AddNumberToObject(status, "finished", (double)sc->n_finished);
	if (sc->n_queued)
		cJSON_AddNumberToObject(status, "queued", sc->n_queued);
	return status;
}

/* --- runners: step lists that are not scenes -------------------------------- */

int sh_scene_runner_new(struct sh_scene_engine *engine, const struct sh_scene_config *cfg,
			struct sh_scene_runner **out)
{
	struct scene *sc = scene_new(cfg);

	*out = NULL;
	if (!sc)
		return -ENOMEM;
	sc->hidden = true;
	sh_list_prepend(&engine->runners, &sc->runner_link);
	*out = (struct sh_scene_runner *)sc;
	return 0;
}

void sh_scene_runner_free(struct sh_scene_engine *engine, struct sh_scene_runner *runner)
{
	struct scene *sc = (struct scene *)runner;

	if (!sc)
		return;
	scene_cancel_all(sc);
	sh_list_remove(&sc->runner_link);
	scene_free(sc);
}

int sh_scene_runner_run(struct sh_scene_engine *engine, struct sh_scene_runner *runner,
			sh_scene_done_fn done, void *ctx, char *reason, size_t reason_len)
{
	struct scene *sc = (struct scene *)runner;

	if (!sc->cfg) {
		snprintf(reason, reason_len, "its steps changed with the configuration");
		return -ESTALE;
	}
	return scene_trigger(engine, sc, done, ctx, NULL, reason, reason_len);
}

void sh_scene_runner_cancel(struct sh_scene_runner *runner)
{
	scene_cancel_all((struct scene *)runner);
}

unsigned sh_scene_runner_active(const struct sh_scene_runner *runner)
{
	const struct scene *sc = (const struct scene *)runner;
	return sc->n_running + sc->n_queued;
}

bool sh_scene_runner_orphaned(const struct sh_scene_runner *runner)
{
	return ((const struct scene *)runner)->cfg == NULL;
}
