/* SPDX-License-Identifier: MIT */
/*
 * The decision to run (automation_internal.h): one trigger's report,
 * fired or not, becomes a run or a line in the trace that says why not
 * (disabled, conditions, loop protection, max_per_minute, mode single).
 * It also keeps each automation's trace ring and tells the environment
 * when a status may have changed. Owns nothing of its own: it works on
 * the struct automation that automation.c owns.
 */
#include "automations/automation_internal.h"
#include "automations/condition.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- trace and status --------------------------------------------------------- */

void sh_automations__trace_add(struct automation *a, uint64_t now, int trigger, const char *result,
			       const char *event, const char *reason)
{
	struct trace_entry *t = &a->trace[a->trace_next];
	a->trace_next = (a->trace_next + 1) % SH_AUTOMATION_TRACE_MAX;
	if (a->trace_count < SH_AUTOMATION_TRACE_MAX)
		a->trace_count++;
	t->ms = now;
	t->trigger = trigger;
	t->result = result;
	/* Cut to the trace's fields on purpose. */
	snprintf(t->event, sizeof(t->event), "%.*s", (int)sizeof(t->event) - 1, event ? event : "");
	snprintf(t->reason, sizeof(t->reason), "%.*s", (int)sizeof(t->reason) - 1,
		 reason ? reason : "");
	sh_log_debug("automation %s: trigger %d: %s: %s%s%s", a->name, trigger, result,
		     event ? event : "", reason && *reason ? "; " : "", reason ? reason : "");
}

bool sh_automations__waiting(const struct automation *a)
{
	for (size_t i = 0; a->cfg && i < a->cfg->n_triggers; i++)
		if (a->ts[i].pending || a->resume[i].set)
			return true;
	return false;
}

unsigned sh_automations__active_runs(const struct sh_automations *e, const struct automation *a)
{
	return e->env.active ? e->env.active(e->env.ctx, a->name) : 0;
}

/* Tells the environment when what a status shows may have changed. */
void sh_automations__status_changed(struct sh_automations *e, struct automation *a)
{
	if (e->env.status_changed)
		e->env.status_changed(e->env.ctx, a->name);
}

/* for: timers went or came: the status' state and the state file. */
void sh_automations__pending_changed(struct sh_automations *e, struct automation *a, size_t trigger)
{
	bool w = sh_automations__waiting(a);
	if (w != a->was_waiting) {
		a->was_waiting = w;
		sh_automations__status_changed(e, a);
	}
	if (a->cfg->triggers[trigger].for_ms >= SH_AUTOMATION_PERSIST_FOR_MS)
		sh_automations_mark_dirty(e);
}

/* --- running ---------------------------------------------------------------------- */

const cJSON *sh_automations__env_state(void *ctx, const char *device)
{
	struct sh_automations *e = ctx;
	return e->env.state ? e->env.state(e->env.ctx, device) : NULL;
}

/* Whether the device that fired is one this automation's steps command. */
static bool commands_device(const struct sh_step *s, const char *device)
{
	if (!s || !device)
		return false;
	if (s->type == SH_STEP_DEVICE && s->device && !strcmp(s->device, device))
		return true;
	for (size_t i = 0; i < s->n_children; i++)
		if (commands_device(s->children[i], device))
			return true;
	return false;
}

static unsigned fires_last_minute(const struct automation *a, uint64_t now)
{
	unsigned n = 0;
	for (unsigned i = 0; i < a->n_fires; i++)
		if (a->fires[i] + 60000 > now)
			n++;
	return n;
}

/*
 * A trigger fired (or the user triggered it): decides whether the steps
 * run, runs them, and records why in the trace. `device` is the device
 * whose report fired it (NULL otherwise), for loop protection; `info` the
 * last_trigger object (taken).
 */
void sh_automations__fire(struct sh_automations *e, struct automation *a, int trigger,
			  const char *event, cJSON *info, const char *device, bool skip_conditions,
			  uint64_t now)
{
	const struct sh_automation_config *cfg = a->cfg;
	char reason[320];

	if (!a->enabled) {
		sh_automations__trace_add(a, now, trigger, "disabled", event,
					  "the automation is disabled");
		cJSON_Delete(info);
		return;
	}
	struct sh_condition_env cenv = {.state = sh_automations__env_state,
					.ctx = e,
					.now = (time_t)(now / 1000),
					.location = &e->config->location};
	if (!skip_conditions && !sh_conditions_hold(cfg->conditions, cfg->n_conditions, &cenv,
						    reason, sizeof(reason))) {
		sh_automations__trace_add(a, now, trigger, "not run", event, reason);
		cJSON_Delete(info);
		return;
	}

	/* Loop protection: a report of a device this automation commands,
	 * while it runs or just after, is its own effect. */
	unsigned active = sh_automations__active_runs(e, a);
	bool own = device && commands_device(cfg->run.root, device) &&
		   (active > 0 ||
		    (a->last_end_ms && now - a->last_end_ms <= SH_AUTOMATION_EFFECT_WINDOW_MS));
	a->streak = own ? a->streak + 1 : 0;
	if (a->streak > SH_AUTOMATION_LOOP_LIMIT) {
		snprintf(reason, sizeof(reason),
			 "disabled: re-triggered by its own run's effects %u times in a row (a "
			 "loop?)",
			 a->streak);
		sh_automations__trace_add(a, now, trigger, "disabled", event, reason);
		sh_log_error("automation %s: %s", a->name, reason);
		a->enabled = false;
		a->streak = 0;
		free(a->error);
		a->error = strdup(reason);
		if (e->env.error)
			e->env.error(e->env.ctx, a->name, reason);
		sh_automations_mark_dirty(e);
		sh_automations__status_changed(e, a);
		cJSON_Delete(info);
		return;
	}

	if (fires_last_minute(a, now) >= cfg->max_per_minute) {
		snprintf(reason, sizeof(reason), "skipped: max_per_minute (%u) reached",
			 cfg->max_per_minute);
		sh_automations__trace_add(a, now, trigger, "skipped", event, reason);
		a->last_result = "skipped";
		sh_automations__status_changed(e, a);
		cJSON_Delete(info);
		return;
	}
	if (cfg->run.mode == SH_SCENE_SINGLE && active > 0) {
		sh_automations__trace_add(a, now, trigger, "skipped", event,
					  "skipped: already running (mode single)");
		a->last_result = "skipped";
		sh_automations__status_changed(e, a);
		cJSON_Delete(info);
		return;
	}

	cJSON_Delete(a->last_trigger);
	a->last_trigger = info;
	a->last_triggered_ms = now;
	a->fires[a->fires_next] = now;
	a->fires_next = (a->fires_next + 1) % cfg->max_per_minute;
	if (a->n_fires < cfg->max_per_minute)
		a->n_fires++;
	/* Counted first: a run may end before env.run returns. */
	a->runs++;
	int r = e->env.run ? e->env.run(e->env.ctx, cfg, reason, sizeof(reason)) : -ENOSYS;
	if (r < 0) {
		char text[400];
		a->runs--;
		snprintf(text, sizeof(text), "skipped: %s", reason);
		sh_automations__trace_add(a, now, trigger, "skipped", event, text);
		a->last_result = "skipped";
	} else {
		sh_automations__trace_add(a, now, trigger, "ran", event,
					  skip_conditions     ? "steps started (conditions skipped)"
					  : cfg->n_conditions ? "conditions met: steps started"
							      : "steps started");
		sh_log_info("automation %s: triggered (%s)", a->name, event ? event : "");
	}
	sh_automations__status_changed(e, a);
}

/* The last_trigger object of a device trigger. */
cJSON *sh_automations__device_info(size_t index, const struct sh_trigger *t, const cJSON *value)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "index", (double)index);
	if (t->device)
		cJSON_AddStringToObject(o, "device", t->device);
	if (t->property && t->type != SH_TRIGGER_AVAILABILITY && t->type != SH_TRIGGER_EVENT)
		cJSON_AddStringToObject(o, "property", t->property);
	if (value)
		cJSON_AddItemToObject(o, t->type == SH_TRIGGER_EVENT ? "event" : "value",
				      cJSON_Duplicate(value, true));
	return o;
}

/* One trigger's decision on a report, with its consequences. */
void sh_automations__handle_result(struct sh_automations *e, struct automation *a, size_t i,
				   enum sh_trig_result r, const char *why, const cJSON *value,
				   const char *device, uint64_t now)
{
	const struct sh_trigger *t = &a->cfg->triggers[i];

	switch (r) {
	case SH_TRIG_FIRE:
		sh_automations__fire(e, a, (int)i, why, sh_automations__device_info(i, t, value),
				     device, false, now);
		break;
	case SH_TRIG_PENDING:
		sh_automations__trace_add(a, now, (int)i, "waiting", why, "for: started");
		sh_automations__pending_changed(e, a, i);
		break;
	case SH_TRIG_CANCELLED:
		sh_automations__trace_add(a, now, (int)i, "not run", why, "");
		sh_automations__pending_changed(e, a, i);
		break;
	case SH_TRIG_NONE:
		sh_automations__trace_add(a, now, (int)i, "not fired", why, "");
		break;
	}
}

/* A for: timer from before a restart, on the trigger's first report. */
static bool resume_pending(struct automation *a, size_t i, const cJSON *value, uint64_t now,
			   char *why, size_t len)
{
	const struct sh_trigger *t = &a->cfg->triggers[i];
	struct sh_trigger_state *s = &a->ts[i];
	struct resume *rs = &a->resume[i];
	double v;
	bool holds = false;

	rs->set = false;
	if (t->type == SH_TRIGGER_NUMERIC)
		holds = sh_trigger_number(value, &v) && sh_trigger_inside(t, v);
	else if (t->type == SH_TRIGGER_STATE)
		holds = value && (!t->to || cJSON_Compare(t->to, value, true));
	else if (t->type == SH_TRIGGER_AVAILABILITY)
		holds = cJSON_IsString(value) && !strcmp(value->valuestring, "online") == t->online;
	if (!holds) {
		snprintf(why, len,
			 "the for: pending before the restart ends: the condition no "
			 "longer holds");
		return false;
	}
	/* Exactly as if the timer had run all along. */
	s->known = true;
	s->armed = false;
	s->pending = true;
	s->since_ms = rs->since_ms;
	s->deadline_ms = rs->deadline_ms;
	if (t->type == SH_TRIGGER_NUMERIC)
		s->last = v;
	else if (t->type == SH_TRIGGER_STATE)
		s->value = cJSON_Duplicate(value, true);
	else
		s->online = t->online;
	char when[16];
	snprintf(why, len, "resumed the for: pending before the restart (until %s)",
		 sh_trigger_time(s->deadline_ms, when, sizeof(when)));
	(void)now;
	return true;
}

void sh_automations__report(struct sh_automations *e, struct automation *a, size_t i,
			    const cJSON *value, const char *device, uint64_t now)
{
	char why[320];

	if (a->resume[i].set) {
		bool ok = resume_pending(a, i, value, now, why, sizeof(why));
		sh_automations__trace_add(a, now, (int)i, ok ? "waiting" : "not fired", why, "");
		sh_automations__pending_changed(e, a, i);
		if (ok || !value)
			return;
	}
	enum sh_trig_result r =
		sh_trigger_report(&a->cfg->triggers[i], &a->ts[i], value, now, why, sizeof(why));
	sh_automations__handle_result(e, a, i, r, why, value, device, now);
}
