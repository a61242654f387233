/* SPDX-License-Identifier: MIT */
/*
 * What automation.c and persist.c share: the engine and the run-time
 * state of one automation. Not used outside this folder.
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

/* persist.c */
void sh_automations_load_saved(struct sh_automations *e, uint64_t now_ms);
void sh_automations_free_saved(struct sh_automations *e);
/* The pending for: timers worth keeping changed: write the file soon. */
void sh_automations_mark_dirty(struct sh_automations *e);
/* When the next write is due, or 0. */
uint64_t sh_automations_save_due(const struct sh_automations *e);

#endif
