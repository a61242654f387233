/* SPDX-License-Identifier: MIT */
/*
 * What the engine's files share: the engine and the run-time state of one
 * automation, and the calls between the files. Not used outside this
 * folder.
 *
 *   automation.c        the engine: owns every struct automation (made,
 *                       matched on reload, freed), commands and queries
 *   automation_input.c  device states, availability, events, MQTT and
 *                       the clock (schedules, for: deadlines) to triggers
 *   automation_run.c    the decision to run, the trace, status changes
 *   persist.c           the state file (for: timers, enabled)
 */
#ifndef SMARTHUB_AUTOMATION_INTERNAL_H
#define SMARTHUB_AUTOMATION_INTERNAL_H

#include "automations/automation.h"
#include "automations/trigger.h"

struct trace_entry {
	uint64_t ms;
	int trigger; /* index, or -1 (by hand) */
	const char *result;
	char event[200];  /* what the trigger saw */
	char reason[256]; /* why it ran or did not */
};

/* A for: timer read from the state file, waiting for the first report. */
struct resume {
	bool set;
	uint64_t since_ms, deadline_ms;
};

struct automation {
	char *name, *fingerprint;
	const struct sh_automation_config *cfg; /* valid until the next apply */
	bool enabled;
	struct sh_trigger_state *ts; /* per trigger */
	uint64_t *next_ms;           /* per trigger: schedule (time, interval, sun); 0 none */
	struct resume *resume;       /* per trigger */
	char *polar_note;            /* why a sun trigger has no event (trace once) */
	uint64_t last_end_ms;        /* when a run last ended */
	unsigned streak;             /* runs in a row triggered by its own effects */
	uint64_t *fires;             /* ring of the last max_per_minute run times */
	unsigned n_fires, fires_next;
	/* status */
	uint64_t last_triggered_ms;
	cJSON *last_trigger;
	const char *last_result;
	char *error;
	unsigned runs;
	bool was_waiting, was_running; /* last published */
	struct trace_entry trace[SH_AUTOMATION_TRACE_MAX];
	unsigned trace_next, trace_count;
};

struct saved_automation {
	char *name, *fingerprint;
	bool enabled;
	size_t n_pending;
	struct {
		size_t trigger;
		uint64_t since_ms, deadline_ms;
	} pending[16];
};

struct sh_automations {
	struct sh_automation_env env;
	const struct sh_config *config;
	struct automation **list;
	size_t n;
	const char **filters; /* mqtt trigger filters, NULL-terminated */
	bool started;
	/* persistence */
	char *state_path;
	bool dirty;
	uint64_t last_save_ms;
	uint64_t saved_stop_ms; /* from the file: when the previous run last wrote it */
	struct saved_automation *saved;
	size_t n_saved;
};

/* automation_run.c: the trace and the status. */
/* Adds an evaluation to the trace ring; `event` and `reason` (may be NULL)
 * are copied, cut to the entry's fields; `result` must be static. */
void sh_automations__trace_add(struct automation *a, uint64_t now, int trigger, const char *result,
			       const char *event, const char *reason);
/* Whether a for: timer runs (or waits to resume) for one of its triggers. */
bool sh_automations__waiting(const struct automation *a);
/* Runs of `a` the environment has going now. */
unsigned sh_automations__active_runs(const struct sh_automations *e, const struct automation *a);
/* Tells the environment that what a status shows may have changed. */
void sh_automations__status_changed(struct sh_automations *e, struct automation *a);
/* for: timers went or came: the status' state and the state file. */
void sh_automations__pending_changed(struct sh_automations *e, struct automation *a,
				     size_t trigger);
/* A device's state as the environment has it (borrowed), or NULL; ctx is
 * the engine (a struct sh_condition_env's state callback). */
const cJSON *sh_automations__env_state(void *ctx, const char *device);

/* automation_run.c: the decision to run. */
/* A trigger fired (or the user triggered it, trigger -1): decides whether
 * the steps run, runs them, and records why in the trace. `device` is the
 * device whose report fired it (NULL otherwise), for loop protection;
 * `info` the last_trigger object (taken). */
void sh_automations__fire(struct sh_automations *e, struct automation *a, int trigger,
			  const char *event, cJSON *info, const char *device, bool skip_conditions,
			  uint64_t now);
/* The last_trigger object of a device trigger (the caller's); `value`
 * (borrowed, may be NULL) is copied. */
cJSON *sh_automations__device_info(size_t index, const struct sh_trigger *t, const cJSON *value);
/* One trigger's decision on a report, with its consequences. */
void sh_automations__handle_result(struct sh_automations *e, struct automation *a, size_t i,
				   enum sh_trig_result r, const char *why, const cJSON *value,
				   const char *device, uint64_t now);
/* A report (value borrowed; NULL: the device went offline) to trigger i,
 * resuming a for: timer from before a restart first. */
void sh_automations__report(struct sh_automations *e, struct automation *a, size_t i,
			    const cJSON *value, const char *device, uint64_t now);

/* automation_input.c */
/* When trigger i (a time, interval, sun or elevation trigger) is next
 * due after `now`, or 0 for none. */
uint64_t sh_automations__schedule(struct sh_automations *e, struct automation *a, size_t i,
				  uint64_t now);

/* persist.c */
void sh_automations_load_saved(struct sh_automations *e, uint64_t now_ms);
void sh_automations_free_saved(struct sh_automations *e);
/* The pending for: timers worth keeping changed: write the file soon. */
void sh_automations_mark_dirty(struct sh_automations *e);
/* When the next write is due, or 0. */
uint64_t sh_automations_save_due(const struct sh_automations *e);

#endif
