/* SPDX-License-Identifier: MIT */
/*
 * The execution tree of one run (scene_internal.h): each step's attempts,
 * with device commands, delays, waits, nested scenes, timeouts, retries
 * and continue_on_error, and a block's next child started from the
 * completion that ended the last, in the same loop iteration. Nothing
 * polls: a device step completes in the device's command completion, a
 * delay and a timeout are ev_timers, and a wait is re-checked only when
 * the hub reports a change of a device it names (the engine's waiters
 * list, which this file keeps). After a stop no callback reaches an
 * execution: timers are stopped, waits unlinked, commands cancelled with
 * sh_device_cancel and nested runs detached before they are cancelled.
 */
#include "scenes/scene_internal.h"
#include "core/device.h"
#include "core/hub.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void exec_start(struct exec *e);

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
 * Completes, one at a time, every wait that `match` picks: with success,
 * or when `reason` is given with that failure. Completing one may start,
 * stop or complete others, so the scan starts over after each; it ends
 * because each round takes one waiter off the list.
 */
static void complete_waits(struct sh_scene_engine *engine,
			   bool (*match)(const struct exec *e, const void *arg), const void *arg,
			   const char *reason)
{
	struct sh_list *pos;
again:
	sh_list_for_each(pos, &engine->waiters)
	{
		struct exec *e = sh_list_entry(pos, struct exec, wait_link);
		if (!match(e, arg))
			continue;
		struct run *run = e->run;
		sh_scene__run_ref(run);
		sh_scene__exec_complete(e, reason ? e->step->path : NULL, reason);
		sh_scene__run_unref(run);
		goto again;
	}
}

/* A wait naming device `arg` whose conditions now hold. */
static bool wait_now_met(const struct exec *e, const void *arg)
{
	return wait_names(e->step, arg) && wait_met(e->run->engine, e->step);
}

/* Completes every wait on `dev` whose conditions now hold. */
void sh_scene__wake_waiters(struct sh_scene_engine *engine, struct sh_device *dev)
{
	complete_waits(engine, wait_now_met, sh_device_id(dev), NULL);
}

struct device_event {
	const char *device, *event;
};

/* A wait for the event `arg` (a struct device_event). */
static bool waits_for_event(const struct exec *e, const void *arg)
{
	const struct device_event *ev = arg;

	for (size_t i = 0; i < e->step->n_conditions; i++) {
		const struct sh_wait_condition *c = &e->step->conditions[i];
		if (c->event && !strcmp(c->device, ev->device) && !strcmp(c->event, ev->event))
			return true;
	}
	return false;
}

/* Completes every wait for event `name` of `dev` (a button press): an
 * event is a moment, so only the waits already running see it. */
void sh_scene__wake_event_waiters(struct sh_scene_engine *engine, struct sh_device *dev,
				  const cJSON *payload)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(payload, "event");

	if (!cJSON_IsString(name))
		return;
	complete_waits(engine, waits_for_event,
		       &(struct device_event){sh_device_id(dev), name->valuestring}, NULL);
}

/* A wait naming device `arg`. */
static bool wait_on_device(const struct exec *e, const void *arg)
{
	return wait_names(e->step, arg);
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
void sh_scene__device_removed(struct sh_scene_engine *engine, struct sh_device *dev)
{
	const char *id = sh_device_id(dev);
	char reason[SH_SCENE_REASON_LEN];

	struct sh_list *pos;

	snprintf(reason, sizeof(reason), "device %s was removed", id);
again:
	complete_waits(engine, wait_on_device, id, reason);
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
			struct run *run = sh_scene__run_of(pos);
			// NOLINTNEXTLINE(clang-analyzer-unix.Malloc): a listed run holds a ref; none freed
			struct exec *e = find_command_at(run->root, dev);
			if (!e)
				continue;
			sh_scene__run_ref(run);
			sh_scene__exec_complete(e, e->step->path, reason);
			sh_scene__run_unref(run);
			goto again;
		}
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
	sh_scene__run_ref(run);
	if (err < 0) {
		device_reason(text, sizeof(text), sh_device_id(dev), reason, err);
		sh_scene__exec_complete(e, e->step->path, text);
	} else {
		/* An optimistic driver (mqtt without a state topic) sent it but
		 * cannot know it happened: the result says so. */
		if (reason && strcmp(reason, "unconfirmed") == 0 && e->step->path &&
		    (run->unconfirmed || (run->unconfirmed = cJSON_CreateArray())) &&
		    cJSON_GetArraySize(run->unconfirmed) < SH_SCENE_MAX_RECORDED_ERRORS)
			cJSON_AddItemToArray(run->unconfirmed, cJSON_CreateString(e->step->path));
		sh_scene__exec_complete(e, NULL, NULL);
	}
	sh_scene__run_unref(run);
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
	sh_scene__run_ref(run);
	if (status && strcmp(status, "ok") == 0) {
		sh_scene__exec_complete(e, NULL, NULL);
	} else if (status && strcmp(status, "failed") == 0) {
		snprintf(text, sizeof(text), "scene %s failed at %s: %s", scene, path ? path : "?",
			 error ? error : "");
		sh_scene__exec_complete(e, e->step->path, text);
	} else {
		snprintf(text, sizeof(text), "scene %s was cancelled", scene);
		sh_scene__exec_complete(e, e->step->path, text);
	}
	sh_scene__run_unref(run);
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
	sh_scene__run_ref(run);
	sh_scene__exec_complete(e, e->step->path, text);
	sh_scene__run_unref(run);
}

static void on_step_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct exec *e = w->data;
	struct run *run = e->run;

	sh_scene__run_ref(run);
	if (e->state == EX_BACKOFF)
		exec_start(e);
	else if (e->state == EX_ACTIVE && e->step->type == SH_STEP_DELAY)
		sh_scene__exec_complete(e, NULL, NULL);
	sh_scene__run_unref(run);
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
		sh_scene__exec_complete(e, step->path, text);
		return;
	}
	command = cJSON_Duplicate(step->set, 1);
	if (!command) {
		sh_scene__exec_complete(e, step->path, "out of memory");
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
		sh_scene__exec_complete(e, step->path, text);
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
			sh_scene__exec_complete(e, step->path, text);
			return;
		}
	}
	if (wait_met(engine, step)) {
		sh_scene__exec_complete(e, NULL, NULL);
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
	struct scene *sc = sh_scene__find(engine, step->scene);
	int rc;

	if (!sc) {
		snprintf(text, sizeof(text), "scene %s not found", step->scene);
		sh_scene__exec_complete(e, step->path, text);
		return;
	}
	reason[0] = '\0';
	/* e->child is set before the nested run starts and cleared by its
	 * done, which may come before scene_trigger returns. */
	rc = sh_scene__trigger(engine, sc, on_nested_done, e, &e->child, reason, sizeof(reason));
	if (rc < 0) {
		e->child = NULL;
		snprintf(text, sizeof(text), "scene %s: %s", step->scene,
			 reason[0] ? reason : strerror(-rc));
		sh_scene__exec_complete(e, step->path, text);
	}
}

/* Starts a step afresh (a block's child, or a root), with its full retry budget. */
void sh_scene__exec_begin(struct exec *e)
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
			sh_scene__exec_complete(e, NULL, NULL);
		else
			sh_scene__exec_begin(e->kids[0]);
		break;
	case SH_STEP_PARALLEL:
		e->n_finished = 0;
		if (e->n_kids == 0) {
			sh_scene__exec_complete(e, NULL, NULL);
			break;
		}
		/* A branch may fail at once, failing this block and stopping
		 * its siblings: then no further branch may start. */
		for (size_t i = 0; i < e->n_kids && e->state == EX_ACTIVE && e->gen == gen; i++)
			sh_scene__exec_begin(e->kids[i]);
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
void sh_scene__exec_stop(struct exec *e)
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
		sh_scene__run_cancel(child);
	}
	for (size_t i = 0; i < e->n_kids; i++) {
		struct exec *kid = e->kids[i];
		if (kid->state == EX_ACTIVE || kid->state == EX_BACKOFF)
			sh_scene__exec_stop(kid);
		kid->state = EX_IDLE;
	}
}

/* A child of block `p` finished; `reason` NULL when it succeeded. */
static void child_done(struct exec *p, const char *fail_path, const char *reason)
{
	if (p->state != EX_ACTIVE)
		return;
	if (reason) {
		sh_scene__exec_complete(p, fail_path, reason);
		return;
	}
	if (p->step->type == SH_STEP_SEQUENCE) {
		if (++p->next < p->n_kids)
			sh_scene__exec_begin(p->kids[p->next]);
		else
			sh_scene__exec_complete(p, NULL, NULL);
	} else if (++p->n_finished == p->n_kids) {
		sh_scene__exec_complete(p, NULL, NULL);
	}
}

/*
 * Ends the current attempt of `e`: a success, or a failure at `fail_path`
 * (the deepest step that failed) with `reason`. A failure is retried while
 * the step has attempts left, then either tolerated (continue_on_error,
 * recorded in the run's result) or handed up.
 */
void sh_scene__exec_complete(struct exec *e, const char *fail_path, const char *reason)
{
	struct run *run = e->run;
	const struct sh_step *step = e->step;

	sh_scene__exec_stop(e);
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
		sh_scene__run_record_error(run, fail_path ? fail_path : step->path, reason);
		reason = NULL;
		fail_path = NULL;
	}
	if (e->parent)
		child_done(e->parent, fail_path, reason);
	else if (reason)
		sh_scene__run_finish(run, "failed", fail_path ? fail_path : step->path, reason);
	else
		sh_scene__run_finish(run, "ok", NULL, NULL);
}
