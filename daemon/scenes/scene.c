/* SPDX-License-Identifier: MIT */
/*
 * The scene engine (see scene.h): a listener of the hub that owns, per
 * scene of the configuration in force, the scene's status and its runs,
 * answers the public calls and keeps the runners (automations' steps).
 * A run's life is scene_run.c's, the execution of its steps scene_exec.c's.
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
#include "scenes/scene_internal.h"
#include "core/hub.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct scene *sh_scene__find(const struct sh_scene_engine *engine, const char *name)
{
	for (size_t i = 0; i < engine->n_scenes; i++)
		if (strcmp(engine->scenes[i]->name, name) == 0)
			return engine->scenes[i];
	return NULL;
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
			sh_scene__wake_waiters(engine, ev->device);
		break;
	case SH_EV_DEVICE_REMOVED:
		if (ev->device)
			sh_scene__device_removed(engine, ev->device);
		break;
	case SH_EV_DEVICE_EVENT:
		if (ev->device)
			sh_scene__wake_event_waiters(engine, ev->device, ev->data);
		break;
	case SH_EV_CONFIG_APPLIED:
		config_applied(engine);
		break;
	default:
		break;
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
		sh_scene__cancel_all(engine->scenes[i]);
	struct sh_list *pos;
	sh_list_for_each(pos, &engine->runners)
		sh_scene__cancel_all(sh_list_entry(pos, struct scene, runner_link));
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
						struct run *r = sh_scene__run_of(pos);
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
			struct run *run = sh_scene__run_of(pos);
			if (same && run->root && !exec_repoint(run->root, au->run.root))
				same = false;
		}
		if (same) {
			r->cfg = &au->run;
		} else if (r->cfg) {
			sh_scene__cancel_all(r);
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
		sh_scene__cancel_all(old[j]);
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
	struct scene *sc = sh_scene__find(engine, name);

	if (!sc) {
		if (reason && reason_len)
			snprintf(reason, reason_len, "unknown scene %s", name);
		return -ENOENT;
	}
	return sh_scene__trigger(engine, sc, done, ctx, NULL, reason, reason_len);
}

int sh_scene_cancel(struct sh_scene_engine *engine, const char *name)
{
	struct scene *sc = sh_scene__find(engine, name);

	if (!sc)
		return -ENOENT;
	sh_scene__cancel_all(sc);
	return 0;
}

cJSON *sh_scene_status(const struct sh_scene_engine *engine, const char *name)
{
	struct scene *sc = sh_scene__find(engine, name);
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
	sh_scene__cancel_all(sc);
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
	return sh_scene__trigger(engine, sc, done, ctx, NULL, reason, reason_len);
}

void sh_scene_runner_cancel(struct sh_scene_runner *runner)
{
	sh_scene__cancel_all((struct scene *)runner);
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
