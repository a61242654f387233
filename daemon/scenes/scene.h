/* SPDX-License-Identifier: MIT */
/*
 * The scene engine: runs the step trees of the configuration's scenes on
 * the hub's loop (sequence, parallel, device commands, delays, waits,
 * nested scenes; timeouts, retries, continue_on_error; the run modes;
 * cancellation) and keeps each scene's status.
 *
 * A listener of the hub, made and freed by main (the hub knows nothing of
 * it). It takes every configuration the hub puts in force on
 * SH_EV_CONFIG_APPLIED, holding its own reference until the next one (so
 * runs may point into it while the hub has moved on), runs the on_start
 * scenes after the first, wakes waits on device state, availability and
 * events, and reports status changes as SH_EV_SCENE_STATE events. Create
 * it before the listeners that ask it for scenes (the bridge, the
 * automations): listeners are called in registration order.
 */
#ifndef SMARTHUB_SCENE_H
#define SMARTHUB_SCENE_H

#include "config/config.h"
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct sh_hub;
struct sh_scene_engine;

/* Makes the engine and registers it as a listener of `hub` (borrowed; must
 * outlive the engine). */
int sh_scenes_new(struct sh_hub *hub, struct sh_scene_engine **out);
/* Cancels every run, stops listening, drops its configuration and frees
 * the engine; NULL accepted. */
void sh_scenes_free(struct sh_scene_engine *engine);
/* Cancels every run (shutdown, before sh_hub_stop). */
void sh_scenes_stop(struct sh_scene_engine *engine);

/*
 * The end of one run: `result` (borrowed) is
 * {"scene","status":"ok"|"failed"|"cancelled","duration_ms",
 *  "failed_step"?,"error"?}.
 */
typedef void (*sh_scene_done_fn)(void *ctx, const char *scene, const cJSON *result);

/*
 * Triggers scene `name` under its mode. Returns 0 (started, queued, or
 * restarted; `done` will be called once), or a negative errno with a
 * reason: -ENOENT unknown scene, -EBUSY refused by mode single or by `max`.
 */
int sh_scene_run(struct sh_scene_engine *engine, const char *name, sh_scene_done_fn done, void *ctx,
		 char *reason, size_t reason_len);
/* Cancels every run (and queued trigger) of `name`. -ENOENT if unknown. */
int sh_scene_cancel(struct sh_scene_engine *engine, const char *name);
/* The retained status of `name`: {"state":"idle"|"running"|"failed"|
 * "cancelled","started_at","duration_ms","failed_step","error","active",
 * "finished"}: active is the number of runs going on, finished of those that
 * ended since the configuration was loaded.
 * Caller owns; NULL if unknown. */
cJSON *sh_scene_status(const struct sh_scene_engine *engine, const char *name);

/*
 * For `smarthubd --check-config --explain <scene>`: writes scene `name` of
 * `config` (borrowed) to `out` as an indented tree, one step a line with
 * its path, device, command, delay or condition, and its limits (timeout,
 * retry, continue_on_error). Returns 0, or -ENOENT (nothing written) when
 * the configuration has no such scene.
 */
int sh_scene_explain(const struct sh_config *config, const char *name, FILE *out);
/*
 * For `--graph <scene>`: writes scene `name` as a Graphviz dot digraph:
 * sequences as chains of arrows, each parallel block as a cluster whose
 * branches fork from one node and join at another (so they sit side by
 * side). Returns 0 or -ENOENT.
 */
int sh_scene_graph(const struct sh_config *config, const char *name, FILE *out);

/*
 * Runners: a step list run under its own mode that is not one of the
 * configuration's scenes (an automation's steps). A runner is not listed
 * (sh_scene_run cannot reach it) and emits no SH_EV_SCENE_STATE. `cfg` is
 * borrowed: sh_scenes_apply re-points it at the automation of the same
 * name and fingerprint in the new configuration, or cancels its runs and
 * makes it an orphan (sh_scene_runner_orphaned), which runs nothing more.
 * The owner frees it before the engine.
 */
struct sh_scene_runner;
int sh_scene_runner_new(struct sh_scene_engine *engine, const struct sh_scene_config *cfg,
			struct sh_scene_runner **out);
/* Cancels its runs (their done is called) and frees it; NULL accepted. */
void sh_scene_runner_free(struct sh_scene_engine *engine, struct sh_scene_runner *runner);
/* As sh_scene_run; -ESTALE for an orphan. */
int sh_scene_runner_run(struct sh_scene_engine *engine, struct sh_scene_runner *runner,
			sh_scene_done_fn done, void *ctx, char *reason, size_t reason_len);
void sh_scene_runner_cancel(struct sh_scene_runner *runner);
/* Runs running or queued. */
unsigned sh_scene_runner_active(const struct sh_scene_runner *runner);
bool sh_scene_runner_orphaned(const struct sh_scene_runner *runner);

/* The bodies of sh_scene_explain and sh_scene_graph for any step list
 * with a mode (an automation's): `what` names it in the header ("scene");
 * `sources` (triggers) lead into the start, through `gate` (conditions)
 * when not NULL. */
void sh_scene_explain_config(const struct sh_scene_config *scene, const char *what, FILE *out);
void sh_scene_graph_config(const struct sh_scene_config *scene, const char *const *sources,
			   size_t n_sources, const char *gate, FILE *out);

#endif
