/* SPDX-License-Identifier: MIT */
/*
 * The automation engine (see automation.h): it owns every struct
 * automation, makes and frees them, matches them on reload, and answers
 * commands and queries. What the automations hear is automation_input.c's,
 * the decision to run and the trace automation_run.c's, the state file
 * persist.c's.
 *
 * Reload: automations are matched by name and fingerprint; a match keeps
 * its struct automation (trigger states, timers, status, trace) and only
 * its cfg pointer moves to the new configuration. Everything kept across
 * applies is owned here, never borrowed from a configuration.
 */
#include "automations/automation_internal.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *sh_automations_iso(uint64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	/* The modulos bound every field, so the compiler can see it fits. */
	snprintf(buf, len, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ",
		 (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
		 (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u,
		 (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u, (unsigned)(ms % 1000));
	return buf;
}

/* --- finding and making automations --------------------------------------------- */

static struct automation *find(const struct sh_automations *e, const char *name)
{
	for (size_t i = 0; i < e->n; i++)
		if (!strcmp(e->list[i]->name, name))
			return e->list[i];
	return NULL;
}

static void automation_free(struct automation *a)
{
	if (!a)
		return;
	for (size_t i = 0; a->cfg && a->ts && i < a->cfg->n_triggers; i++)
		sh_trigger_state_reset(&a->ts[i]);
	free(a->ts);
	free(a->next_ms);
	free(a->resume);
	free(a->fires);
	free(a->polar_note);
	free(a->name);
	free(a->fingerprint);
	cJSON_Delete(a->last_trigger);
	free(a->error);
	free(a);
}

static struct automation *automation_new(const struct sh_automation_config *cfg)
{
	struct automation *a = calloc(1, sizeof(*a));
	size_t n = cfg->n_triggers ? cfg->n_triggers : 1;

	if (!a)
		return NULL;
	a->name = strdup(cfg->name);
	a->fingerprint = strdup(cfg->fingerprint ? cfg->fingerprint : "");
	a->ts = calloc(n, sizeof(*a->ts));
	a->next_ms = calloc(n, sizeof(*a->next_ms));
	a->resume = calloc(n, sizeof(*a->resume));
	a->fires = calloc(cfg->max_per_minute ? cfg->max_per_minute : 1, sizeof(*a->fires));
	a->cfg = cfg;
	a->enabled = cfg->enabled;
	if (!a->name || !a->fingerprint || !a->ts || !a->next_ms || !a->resume || !a->fires) {
		automation_free(a);
		return NULL;
	}
	return a;
}

void sh_automations_run_done(struct sh_automations *e, const char *name, const char *status,
			     const char *error, uint64_t now)
{
	struct automation *a = find(e, name);
	if (!a)
		return;
	a->last_end_ms = now;
	a->last_result = !strcmp(status, "ok")       ? "ok"
			 : !strcmp(status, "failed") ? "failed"
						     : "cancelled";
	free(a->error);
	a->error = error ? strdup(error) : NULL;
	sh_automations__status_changed(e, a);
}

/* --- apply ------------------------------------------------------------------------- */

static void seed(struct sh_automations *e, struct automation *a, uint64_t now)
{
	char why[300];

	for (size_t i = 0; i < a->cfg->n_triggers; i++) {
		const struct sh_trigger *t = &a->cfg->triggers[i];
		a->next_ms[i] = sh_automations__schedule(e, a, i, now);
		if (t->type == SH_TRIGGER_SUN && a->polar_note)
			sh_automations__trace_add(a, now, (int)i, "not fired", a->polar_note, "");
		if (t->type != SH_TRIGGER_STATE && t->type != SH_TRIGGER_NUMERIC)
			continue;
		const cJSON *state = sh_automations__env_state(e, t->device);
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(state, t->property);
		if (v && !a->resume[i].set) {
			sh_trigger_report(t, &a->ts[i], v, now, why, sizeof(why));
			sh_automations__trace_add(a, now, (int)i, "not fired", why,
						  "armed from the current state");
		}
	}
}

static void rebuild_filters(struct sh_automations *e)
{
	size_t n = 0;
	free(e->filters);
	e->filters = NULL;
	for (size_t k = 0; k < e->n; k++)
		for (size_t i = 0; i < e->list[k]->cfg->n_triggers; i++)
			n += e->list[k]->cfg->triggers[i].type == SH_TRIGGER_MQTT;
	e->filters = calloc(n + 1, sizeof(*e->filters));
	if (!e->filters)
		return;
	n = 0;
	for (size_t k = 0; k < e->n; k++) {
		const struct sh_automation_config *c = e->list[k]->cfg;
		for (size_t i = 0; i < c->n_triggers; i++) {
			if (c->triggers[i].type != SH_TRIGGER_MQTT)
				continue;
			bool dup = false;
			for (size_t j = 0; j < n; j++)
				dup |= !strcmp(e->filters[j], c->triggers[i].topic);
			if (!dup)
				e->filters[n++] = c->triggers[i].topic;
		}
	}
}

/* What the state file says about a new automation. */
static void restore(struct sh_automations *e, struct automation *a, uint64_t now)
{
	for (size_t s = 0; s < e->n_saved; s++) {
		const struct saved_automation *sv = &e->saved[s];
		if (strcmp(sv->name, a->name))
			continue;
		a->enabled = sv->enabled;
		if (strcmp(sv->fingerprint, a->fingerprint) || !e->saved_stop_ms ||
		    now - e->saved_stop_ms >= a->cfg->max_gap_ms) {
			if (sv->n_pending)
				sh_log_notice("automation %s: not resuming %zu for: timer(s): %s",
					      a->name, sv->n_pending,
					      strcmp(sv->fingerprint, a->fingerprint)
						      ? "its configuration changed"
						      : "down longer than max_gap");
			return;
		}
		for (size_t p = 0; p < sv->n_pending; p++) {
			size_t i = sv->pending[p].trigger;
			if (i >= a->cfg->n_triggers)
				continue;
			a->resume[i] = (struct resume){true, sv->pending[p].since_ms,
						       sv->pending[p].deadline_ms};
		}
		return;
	}
}

void sh_automations_apply(struct sh_automations *e, const struct sh_config *config, uint64_t now)
{
	struct automation **old = e->list;
	size_t n_old = e->n;
	struct automation **now_list = calloc(config->n_automations + 1, sizeof(*now_list));
	bool *fresh = calloc(config->n_automations + 1, sizeof(*fresh));
	size_t n = 0;

	if (!now_list || !fresh) {
		free(now_list);
		free(fresh);
		sh_log_error("automations: out of memory applying the configuration");
		return;
	}
	e->config = config;
	for (size_t i = 0; i < config->n_automations; i++) {
		const struct sh_automation_config *cfg = &config->automations[i];
		struct automation *a = NULL;
		for (size_t j = 0; j < n_old; j++) {
			if (old[j] && !strcmp(old[j]->name, cfg->name) &&
			    !strcmp(old[j]->fingerprint,
				    cfg->fingerprint ? cfg->fingerprint : "")) {
				a = old[j];
				old[j] = NULL;
				break;
			}
		}
		if (a) {
			a->cfg = cfg; /* identical: trigger i is the same trigger */
			now_list[n++] = a;
			continue;
		}
		a = automation_new(cfg);
		if (!a) {
			sh_log_error("automation %s: out of memory", cfg->name);
			continue;
		}
		/* A changed automation keeps what the user set by hand. */
		for (size_t j = 0; j < n_old; j++)
			if (old[j] && !strcmp(old[j]->name, cfg->name)) {
				a->enabled = old[j]->enabled;
				a->runs = old[j]->runs;
			}
		if (!e->started)
			restore(e, a, now);
		fresh[n] = true;
		now_list[n++] = a;
	}
	for (size_t j = 0; j < n_old; j++) {
		if (!old[j])
			continue;
		/* Its cfg is the old configuration's: never read it again. */
		old[j]->cfg = NULL;
		automation_free(old[j]);
	}
	free(old);
	e->list = now_list;
	e->n = n;
	for (size_t k = 0; k < n; k++) {
		struct automation *a = e->list[k];
		if (fresh[k]) {
			seed(e, a, now);
			a->was_waiting = sh_automations__waiting(a);
		}
		sh_automations__status_changed(e, a);
	}
	free(fresh);
	rebuild_filters(e);
	sh_automations_mark_dirty(e);
}

void sh_automations_started(struct sh_automations *e, uint64_t now)
{
	if (e->started)
		return;
	e->started = true;
	sh_automations_free_saved(e);
	for (size_t k = 0; k < e->n; k++) {
		struct automation *a = e->list[k];
		for (size_t i = 0; i < a->cfg->n_triggers; i++) {
			if (a->cfg->triggers[i].type != SH_TRIGGER_START)
				continue;
			cJSON *info = cJSON_CreateObject();
			cJSON_AddNumberToObject(info, "index", (double)i);
			cJSON_AddStringToObject(info, "type", "start");
			sh_automations__fire(e, a, (int)i, "fired: the hub started", info, NULL,
					     false, now);
		}
	}
}

/* --- commands and queries ----------------------------------------------------------- */

int sh_automations_set_enabled(struct sh_automations *e, const char *name, bool enabled,
			       uint64_t now)
{
	struct automation *a = find(e, name);
	if (!a)
		return -ENOENT;
	sh_automations_tick(e, now);
	if (a->enabled != enabled) {
		a->enabled = enabled;
		a->streak = 0;
		sh_automations__trace_add(a, now, -1, enabled ? "enabled" : "disabled",
					  enabled ? "enabled by command" : "disabled by command",
					  "");
		sh_log_info("automation %s: %s", name, enabled ? "enabled" : "disabled");
		sh_automations_mark_dirty(e);
	}
	sh_automations__status_changed(e, a);
	return 0;
}

int sh_automations_trigger(struct sh_automations *e, const char *name, bool skip_conditions,
			   uint64_t now)
{
	struct automation *a = find(e, name);
	if (!a)
		return -ENOENT;
	sh_automations_tick(e, now);
	cJSON *info = cJSON_CreateObject();
	cJSON_AddNullToObject(info, "index");
	cJSON_AddStringToObject(info, "type", "manual");
	sh_automations__fire(e, a, -1,
			     skip_conditions ? "triggered by command (conditions skipped)"
					     : "triggered by command",
			     info, NULL, skip_conditions, now);
	return 0;
}

cJSON *sh_automations_status(const struct sh_automations *e, const char *name)
{
	const struct automation *a = find(e, name);
	char iso[40];
	if (!a)
		return NULL;
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddBoolToObject(o, "enabled", a->enabled);
	cJSON_AddStringToObject(o, "state",
				sh_automations__active_runs(e, a) ? "running"
				: sh_automations__waiting(a)      ? "waiting"
								  : "idle");
	if (a->last_triggered_ms)
		cJSON_AddStringToObject(o, "last_triggered",
					sh_automations_iso(a->last_triggered_ms, iso, sizeof(iso)));
	else
		cJSON_AddNullToObject(o, "last_triggered");
	if (a->last_trigger)
		cJSON_AddItemToObject(o, "last_trigger", cJSON_Duplicate(a->last_trigger, true));
	else
		cJSON_AddNullToObject(o, "last_trigger");
	if (a->last_result)
		cJSON_AddStringToObject(o, "last_result", a->last_result);
	else
		cJSON_AddNullToObject(o, "last_result");
	if (a->error)
		cJSON_AddStringToObject(o, "error", a->error);
	else
		cJSON_AddNullToObject(o, "error");
	cJSON_AddNumberToObject(o, "runs", a->runs);
	return o;
}

cJSON *sh_automations_trace(const struct sh_automations *e, const char *name)
{
	const struct automation *a = find(e, name);
	char iso[40];
	if (!a)
		return NULL;
	cJSON *o = cJSON_CreateObject();
	cJSON *list = cJSON_CreateArray();
	if (!o || !list) {
		cJSON_Delete(o);
		cJSON_Delete(list);
		return NULL;
	}
	cJSON_AddStringToObject(o, "automation", a->name);
	cJSON_AddBoolToObject(o, "enabled", a->enabled);
	unsigned first = (a->trace_next + SH_AUTOMATION_TRACE_MAX - a->trace_count) %
			 SH_AUTOMATION_TRACE_MAX;
	for (unsigned k = 0; k < a->trace_count; k++) {
		const struct trace_entry *t = &a->trace[(first + k) % SH_AUTOMATION_TRACE_MAX];
		cJSON *it = cJSON_CreateObject();
		if (!it)
			break;
		cJSON_AddStringToObject(it, "time", sh_automations_iso(t->ms, iso, sizeof(iso)));
		if (t->trigger >= 0)
			cJSON_AddNumberToObject(it, "trigger", t->trigger);
		else
			cJSON_AddNullToObject(it, "trigger");
		cJSON_AddStringToObject(it, "result", t->result);
		cJSON_AddStringToObject(it, "event", t->event);
		/* The sentence a user reads: why it ran or did not. */
		cJSON_AddStringToObject(it, "reason", *t->reason ? t->reason : t->event);
		cJSON_AddItemToArray(list, it);
	}
	cJSON_AddItemToObject(o, "evaluations", list);
	return o;
}

size_t sh_automations_count(const struct sh_automations *e)
{
	return e->n;
}

const char *sh_automations_name(const struct sh_automations *e, size_t index)
{
	return index < e->n ? e->list[index]->name : NULL;
}

const char *const *sh_automations_mqtt_filters(const struct sh_automations *e)
{
	static const char *const none[] = {NULL};
	return e->filters ? e->filters : none;
}

int sh_automations_new(const struct sh_automation_env *env, struct sh_automations **out)
{
	struct sh_automations *e = calloc(1, sizeof(*e));
	*out = NULL;
	if (!e)
		return -ENOMEM;
	e->env = *env;
	*out = e;
	return 0;
}

void sh_automations_free(struct sh_automations *e)
{
	if (!e)
		return;
	for (size_t k = 0; k < e->n; k++)
		automation_free(e->list[k]);
	free(e->list);
	free(e->filters);
	free(e->state_path);
	sh_automations_free_saved(e);
	free(e);
}
