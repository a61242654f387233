/* SPDX-License-Identifier: MIT */
/*
 * The automation engine's core: for every automation of the configuration
 * in force, the state of its triggers, its for: timers and schedules, its
 * status, its trace of the last evaluations, and the decision to run its
 * steps. It is deterministic: it reads no clock and no device itself.
 * Every input comes with the time it happened (epoch milliseconds), and
 * the world is seen through a struct sh_automation_env, so the daemon
 * (automation_hub.c: the hub's events, the scene engine, libev timers) and
 * the dry run (replay.c: a recording on a virtual clock) drive the very
 * same code, and the same inputs in the same order give the same runs.
 *
 * One total order: inputs are handled in the order they are given; before
 * each, everything that fell due up to its time (for: timers, time, sun
 * and interval schedules, in order of time, then automation, then
 * trigger) is handled first; the caller calls sh_automations_tick() when
 * sh_automations_next_wake() comes.
 *
 * Ownership: the engine borrows the configuration given to
 * sh_automations_apply() until the next apply or free, and copies what it
 * keeps across them (names and fingerprints). Returned JSON is the
 * caller's.
 */
#ifndef SMARTHUB_AUTOMATION_H
#define SMARTHUB_AUTOMATION_H

#include "config/config.h"
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

/* Evaluations each automation's trace keeps. */
#define SH_AUTOMATION_TRACE_MAX 50
/* A run re-triggered by its own effects more times in a row than this
 * disables the automation. */
#define SH_AUTOMATION_LOOP_LIMIT 5
/* A device report this soon after a run ended still counts as its effect. */
#define SH_AUTOMATION_EFFECT_WINDOW_MS 2000
/* for: timers at least this long are written to the state file. */
#define SH_AUTOMATION_PERSIST_FOR_MS 60000
/* The state file is written at most this often. */
#define SH_AUTOMATION_PERSIST_EVERY_MS 10000
/* How often an elevation trigger samples the sun. */
#define SH_AUTOMATION_ELEVATION_EVERY_MS 60000

struct sh_automations;

struct sh_automation_env {
	void *ctx;
	/* The device's state, NULL when unknown or the device is offline. */
	const cJSON *(*state)(void *ctx, const char *device);
	/* Runs `cfg`'s steps under its mode. Returns 0 when started or queued
	 * (then sh_automations_run_done() follows once, never inside this
	 * call), or a negative errno with a reason. */
	int (*run)(void *ctx, const struct sh_automation_config *cfg, char *reason,
		   size_t reason_len);
	/* Runs of `name` still running or queued. */
	unsigned (*active)(void *ctx, const char *name);
	/* The status of `name` changed (publish it). */
	void (*status_changed)(void *ctx, const char *name);
	/* Something a user should see (an error event). */
	void (*error)(void *ctx, const char *name, const char *message);
};

/* `env` is copied. */
int sh_automations_new(const struct sh_automation_env *env, struct sh_automations **out);
void sh_automations_free(struct sh_automations *e);

/*
 * Where enabled/disabled and pending for: timers survive restarts (a
 * JSON file, written atomically); NULL for none. Call before the first
 * apply: what the file holds is applied to the automations of that
 * configuration. A file that cannot be read is logged and ignored.
 */
void sh_automations_set_state_file(struct sh_automations *e, const char *path, uint64_t now_ms);
/* Writes the state file now if it is due or `force` (shutdown). */
void sh_automations_save(struct sh_automations *e, uint64_t now_ms, bool force);

/*
 * Puts the automations of `config` in force. Automations whose
 * fingerprint did not change keep their armed state, for: timers,
 * schedules, status and trace; others start fresh, their triggers seeded
 * (never fired) from the devices' current states.
 */
void sh_automations_apply(struct sh_automations *e, const struct sh_config *config,
			  uint64_t now_ms);
/* Fires the start triggers; once, after the first apply. */
void sh_automations_started(struct sh_automations *e, uint64_t now_ms);

/* Inputs. `state` is the device's whole state object (borrowed). */
void sh_automations_device_state(struct sh_automations *e, const char *device, const cJSON *state,
				 uint64_t now_ms);
void sh_automations_device_availability(struct sh_automations *e, const char *device, bool online,
					uint64_t now_ms);
void sh_automations_device_event(struct sh_automations *e, const char *device, const char *event,
				 uint64_t now_ms);
void sh_automations_mqtt(struct sh_automations *e, const char *topic, const char *payload,
			 size_t len, uint64_t now_ms);
/* Handles everything due up to `now_ms`. */
void sh_automations_tick(struct sh_automations *e, uint64_t now_ms);
/* When the next thing falls due (epoch ms), or 0 when nothing is scheduled. */
uint64_t sh_automations_next_wake(const struct sh_automations *e);
/* A run started by env->run ended: status "ok", "failed" or "cancelled". */
void sh_automations_run_done(struct sh_automations *e, const char *name, const char *status,
			     const char *error, uint64_t now_ms);

/* MQTT topic filters of the mqtt triggers in force (NULL-terminated,
 * borrowed until the next apply). */
const char *const *sh_automations_mqtt_filters(const struct sh_automations *e);

/* The commands of smarthub/automation/<name>/set. -ENOENT when unknown. */
int sh_automations_set_enabled(struct sh_automations *e, const char *name, bool enabled,
			       uint64_t now_ms);
/* Fires `name` by hand; conditions are checked unless skip_conditions.
 * Returns 0 (fired or not: see the trace), -ENOENT. */
int sh_automations_trigger(struct sh_automations *e, const char *name, bool skip_conditions,
			   uint64_t now_ms);

/* {"enabled","state","last_triggered","last_trigger","last_result","error","runs"}
 * or NULL when unknown. */
cJSON *sh_automations_status(const struct sh_automations *e, const char *name);
/* {"automation","evaluations":[{"time","trigger","result","reason",...}]}, oldest
 * first, or NULL when unknown. */
cJSON *sh_automations_trace(const struct sh_automations *e, const char *name);
/* Names of the automations in force. */
size_t sh_automations_count(const struct sh_automations *e);
const char *sh_automations_name(const struct sh_automations *e, size_t index);

/* "2026-03-29T01:00:00.000Z" */
const char *sh_automations_iso(uint64_t ms, char *buf, size_t len);

#endif
