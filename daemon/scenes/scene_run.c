/* SPDX-License-Identifier: MIT */
/*
 * A run's life (scene_internal.h): a trigger under the scene's mode
 * (single, restart, queued, parallel), the queue, the start that builds
 * the execution tree, the end that updates and announces the scene's
 * status and starts the next queued run, cancellation, and the references
 * that keep a run alive while a call may end it.
 *
 * A run is referenced by its scene's list (running or queued) until it
 * finishes, and by every entry point from outside (a timer, a command
 * completion, a hub event, the done of a nested run) for the duration of
 * the call, because finishing a step can finish the run and everything
 * above it on the same stack. A run is freed when it has finished and
 * nothing references it. Owns the runs and their execution trees.
 */
#include "scenes/scene_internal.h"
#include "core/hub.h"
#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void sh_scene__run_ref(struct run *run)
{
	run->refs++;
}

void sh_scene__run_unref(struct run *run)
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

struct run *sh_scene__run_of(struct sh_list *link)
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
void sh_scene__run_finish(struct run *run, const char *status, const char *fail_path,
			  const char *reason)
{
	struct sh_scene_engine *engine = run->engine;
	struct scene *sc = run->scene;
	bool was_running = run->state == RUN_RUNNING;
	long long duration = was_running ? elapsed_ms(&run->started) : 0;

	if (run->state == RUN_FINISHED)
		return;
	sh_scene__run_ref(run);
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
			run_start(sh_scene__run_of(sh_list_first(&sc->queue)));
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
	sh_scene__run_unref(run);
}

void sh_scene__run_record_error(struct run *run, const char *path, const char *reason)
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

	sh_scene__run_ref(run);
	emit_state(engine, sc);
	run->root = exec_build(run, NULL, sc->cfg->root);
	if (!run->root)
		sh_scene__run_finish(run, "failed", "steps", "out of memory");
	else if (run->state == RUN_RUNNING)
		sh_scene__exec_begin(run->root);
	// NOLINTNEXTLINE(clang-analyzer-unix.Malloc): our run_ref above keeps it alive
	sh_scene__run_unref(run);
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
int sh_scene__trigger(struct sh_scene_engine *engine, struct scene *sc, sh_scene_done_fn done,
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
		sh_scene__cancel_all(sc);
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

void sh_scene__run_cancel(struct run *run)
{
	if (run->state == RUN_FINISHED)
		return;
	sh_scene__run_ref(run);
	if (run->state == RUN_RUNNING && run->root &&
	    (run->root->state == EX_ACTIVE || run->root->state == EX_BACKOFF)) {
		sh_scene__exec_stop(run->root);
		run->root->state = EX_DONE;
	}
	sh_scene__run_finish(run, "cancelled", NULL, "cancelled");
	// NOLINTNEXTLINE(clang-analyzer-unix.Malloc): our run_ref above keeps it alive
	sh_scene__run_unref(run);
}

/* Cancels the queued triggers first, so that cancelling the running runs
 * does not start them. Each run_cancel takes the run off sc's list (its
 * run->scene is sc), which the analyzer cannot tell. */
void sh_scene__cancel_all(struct scene *sc)
{
	struct sh_list *pos;
	/* Each run is taken off its list before it is cancelled (run_finish's
	 * own unlink is then a no-op), so the list never points at a run
	 * that cancelling may have freed. */
	while ((pos = sh_list_first(&sc->queue))) {
		sh_list_remove(pos);
		sh_scene__run_cancel(sh_scene__run_of(pos));
	}
	while ((pos = sh_list_first(&sc->running))) {
		sh_list_remove(pos);
		sh_scene__run_cancel(sh_scene__run_of(pos));
	}
}
