/* SPDX-License-Identifier: MIT */
/*
 * The automation engine's core (see automation.h): trigger state per
 * automation, schedules, the decision to run (enabled, conditions,
 * max_per_minute, loop protection, mode single), status and trace.
 *
 * Reload: automations are matched by name and fingerprint; a match keeps
 * its struct automation (trigger states, timers, status, trace) and only
 * its cfg pointer moves to the new configuration. Everything kept across
 * applies is owned here, never borrowed from a configuration.
 */
#include "automations/automation_internal.h"
#include "automations/clock.h"
#include "automations/condition.h"
#include "automations/sun.h"
#include "util/log.h"
#include "util/topic.h"

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

/* --- trace and status --------------------------------------------------------- */

static void trace_add(struct automation *a, uint64_t now, int trigger, const char *result,
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

static bool waiting(const struct automation *a)
{
	for (size_t i = 0; a->cfg && i < a->cfg->n_triggers; i++)
		if (a->ts[i].pending || a->resume[i].set)
			return true;
	return false;
}

static unsigned active_runs(const struct sh_automations *e, const struct automation *a)
{
	return e->env.active ? e->env.active(e->env.ctx, a->name) : 0;
}

/* Tells the environment when what a status shows may have changed. */
static void status_changed(struct sh_automations *e, struct automation *a)
{
	if (e->env.status_changed)
		e->env.status_changed(e->env.ctx, a->name);
}

/* for: timers went or came: the status' state and the state file. */
static void pending_changed(struct sh_automations *e, struct automation *a, size_t trigger)
{
	bool w = waiting(a);
	if (w != a->was_waiting) {
		a->was_waiting = w;
		status_changed(e, a);
	}
	if (a->cfg->triggers[trigger].for_ms >= SH_AUTOMATION_PERSIST_FOR_MS)
		sh_automations_mark_dirty(e);
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

/* --- schedules: time, interval, sun, elevation ------------------------------------ */

static uint64_t sun_next(struct automation *a, const struct sh_location *loc,
			 const struct sh_trigger *t, uint64_t now)
{
	time_t day = (time_t)(now / 1000);
	char note[160] = "";

	for (int d = -1; d <= 2; d++) {
		time_t at;
		time_t which = day + (time_t)d * 86400;
		enum sh_sun_result r =
			sh_sun_event(loc->latitude, loc->longitude, which, t->sun, &at);
		if (r != SH_SUN_OK) {
			char date[32];
			struct tm tm;
			gmtime_r(&which, &tm);
			strftime(date, sizeof(date), "%Y-%m-%d", &tm);
			snprintf(note, sizeof(note), "no %s on %s at %.2f,%.2f (%s): does not fire",
				 t->sun == SH_SUN_SUNRISE ? "sunrise" : "sunset", date,
				 loc->latitude, loc->longitude,
				 r == SH_SUN_POLAR_DAY ? "polar day" : "polar night");
			continue;
		}
		int64_t ms = (int64_t)at * 1000 + t->offset_ms;
		if (ms > (int64_t)now) {
			free(a->polar_note);
			a->polar_note = *note ? strdup(note) : NULL;
			return (uint64_t)ms;
		}
	}
	/* Nothing in the next days: look again tomorrow, and say why. */
	free(a->polar_note);
	a->polar_note = *note ? strdup(note) : NULL;
	return (now / 86400000 + 1) * 86400000 + 1000;
}

static uint64_t schedule(struct sh_automations *e, struct automation *a, size_t i, uint64_t now)
{
	const struct sh_trigger *t = &a->cfg->triggers[i];

	switch (t->type) {
	case SH_TRIGGER_TIME: {
		time_t next = sh_clock_next((time_t)(now / 1000), t->at_s, t->weekdays);
		return next == (time_t)-1 ? 0 : (uint64_t)next * 1000;
	}
	case SH_TRIGGER_INTERVAL:
		return now + t->every_ms;
	case SH_TRIGGER_SUN:
		return sun_next(a, &e->config->location, t, now);
	case SH_TRIGGER_ELEVATION:
		return (now / SH_AUTOMATION_ELEVATION_EVERY_MS + 1) *
		       SH_AUTOMATION_ELEVATION_EVERY_MS;
	default:
		return 0;
	}
}

/* --- running ---------------------------------------------------------------------- */

static const cJSON *env_state(void *ctx, const char *device)
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
static void fire(struct sh_automations *e, struct automation *a, int trigger, const char *event,
		 cJSON *info, const char *device, bool skip_conditions, uint64_t now)
{
	const struct sh_automation_config *cfg = a->cfg;
	char reason[320];

	if (!a->enabled) {
		trace_add(a, now, trigger, "disabled", event, "the automation is disabled");
		cJSON_Delete(info);
		return;
	}
	struct sh_condition_env cenv = {.state = env_state,
					.ctx = e,
					.now = (time_t)(now / 1000),
					.location = &e->config->location};
	if (!skip_conditions && !sh_conditions_hold(cfg->conditions, cfg->n_conditions, &cenv,
						    reason, sizeof(reason))) {
		trace_add(a, now, trigger, "not run", event, reason);
		cJSON_Delete(info);
		return;
	}

	/* Loop protection: a report of a device this automation commands,
	 * while it runs or just after, is its own effect. */
	unsigned active = active_runs(e, a);
	bool own = device && commands_device(cfg->run.root, device) &&
		   (active > 0 ||
		    (a->last_end_ms && now - a->last_end_ms <= SH_AUTOMATION_EFFECT_WINDOW_MS));
	a->streak = own ? a->streak + 1 : 0;
	if (a->streak > SH_AUTOMATION_LOOP_LIMIT) {
		snprintf(reason, sizeof(reason),
			 "disabled: re-triggered by its own run's effects %u times in a row (a "
			 "loop?)",
			 a->streak);
		trace_add(a, now, trigger, "disabled", event, reason);
		sh_log_error("automation %s: %s", a->name, reason);
		a->enabled = false;
		a->streak = 0;
		free(a->error);
		a->error = strdup(reason);
		if (e->env.error)
			e->env.error(e->env.ctx, a->name, reason);
		sh_automations_mark_dirty(e);
		status_changed(e, a);
		cJSON_Delete(info);
		return;
	}

	if (fires_last_minute(a, now) >= cfg->max_per_minute) {
		snprintf(reason, sizeof(reason), "skipped: max_per_minute (%u) reached",
			 cfg->max_per_minute);
		trace_add(a, now, trigger, "skipped", event, reason);
		a->last_result = "skipped";
		status_changed(e, a);
		cJSON_Delete(info);
		return;
	}
	if (cfg->run.mode == SH_SCENE_SINGLE && active > 0) {
		trace_add(a, now, trigger, "skipped", event,
			  "skipped: already running (mode single)");
		a->last_result = "skipped";
		status_changed(e, a);
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
		trace_add(a, now, trigger, "skipped", event, text);
		a->last_result = "skipped";
	} else {
		trace_add(a, now, trigger, "ran", event,
			  skip_conditions     ? "steps started (conditions skipped)"
			  : cfg->n_conditions ? "conditions met: steps started"
					      : "steps started");
		sh_log_info("automation %s: triggered (%s)", a->name, event ? event : "");
	}
	status_changed(e, a);
}

/* The last_trigger object of a device trigger. */
static cJSON *device_info(size_t index, const struct sh_trigger *t, const cJSON *value)
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
static void handle_result(struct sh_automations *e, struct automation *a, size_t i,
			  enum sh_trig_result r, const char *why, const cJSON *value,
			  const char *device, uint64_t now)
{
	const struct sh_trigger *t = &a->cfg->triggers[i];

	switch (r) {
	case SH_TRIG_FIRE:
		fire(e, a, (int)i, why, device_info(i, t, value), device, false, now);
		break;
	case SH_TRIG_PENDING:
		trace_add(a, now, (int)i, "waiting", why, "for: started");
		pending_changed(e, a, i);
		break;
	case SH_TRIG_CANCELLED:
		trace_add(a, now, (int)i, "not run", why, "");
		pending_changed(e, a, i);
		break;
	case SH_TRIG_NONE:
		trace_add(a, now, (int)i, "not fired", why, "");
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

static void report(struct sh_automations *e, struct automation *a, size_t i, const cJSON *value,
		   const char *device, uint64_t now)
{
	char why[320];

	if (a->resume[i].set) {
		bool ok = resume_pending(a, i, value, now, why, sizeof(why));
		trace_add(a, now, (int)i, ok ? "waiting" : "not fired", why, "");
		pending_changed(e, a, i);
		if (ok || !value)
			return;
	}
	enum sh_trig_result r =
		sh_trigger_report(&a->cfg->triggers[i], &a->ts[i], value, now, why, sizeof(why));
	handle_result(e, a, i, r, why, value, device, now);
}

/* --- inputs ------------------------------------------------------------------------ */

void sh_automations_device_state(struct sh_automations *e, const char *device, const cJSON *state,
				 uint64_t now)
{
	sh_automations_tick(e, now);
	for (size_t k = 0; k < e->n; k++) {
		struct automation *a = e->list[k];
		for (size_t i = 0; i < a->cfg->n_triggers; i++) {
			const struct sh_trigger *t = &a->cfg->triggers[i];
			if ((t->type != SH_TRIGGER_STATE && t->type != SH_TRIGGER_NUMERIC) ||
			    !t->device || strcmp(t->device, device))
				continue;
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(state, t->property);
			if (!v)
				continue; /* a report of other properties */
			/* The same value again says nothing new. */
			struct sh_trigger_state *s = &a->ts[i];
			double x;
			if (s->known && !a->resume[i].set &&
			    ((t->type == SH_TRIGGER_STATE && s->value &&
			      cJSON_Compare(s->value, v, true)) ||
			     (t->type == SH_TRIGGER_NUMERIC && sh_trigger_number(v, &x) &&
			      x == s->last)))
				continue;
			report(e, a, i, v, device, now);
		}
	}
}

void sh_automations_device_availability(struct sh_automations *e, const char *device, bool online,
					uint64_t now)
{
	cJSON *v = cJSON_CreateString(online ? "online" : "offline");

	sh_automations_tick(e, now);
	for (size_t k = 0; v && k < e->n; k++) {
		struct automation *a = e->list[k];
		for (size_t i = 0; i < a->cfg->n_triggers; i++) {
			const struct sh_trigger *t = &a->cfg->triggers[i];
			if (!t->device || strcmp(t->device, device))
				continue;
			if (t->type == SH_TRIGGER_AVAILABILITY)
				report(e, a, i, v, device, now);
			else if (!online &&
				 (t->type == SH_TRIGGER_STATE || t->type == SH_TRIGGER_NUMERIC) &&
				 a->ts[i].pending)
				report(e, a, i, NULL, device, now);
		}
	}
	cJSON_Delete(v);
}

void sh_automations_device_event(struct sh_automations *e, const char *device, const char *event,
				 uint64_t now)
{
	sh_automations_tick(e, now);
	for (size_t k = 0; k < e->n; k++) {
		struct automation *a = e->list[k];
		for (size_t i = 0; i < a->cfg->n_triggers; i++) {
			const struct sh_trigger *t = &a->cfg->triggers[i];
			if (t->type != SH_TRIGGER_EVENT || !t->device || strcmp(t->device, device))
				continue;
			char why[200];
			if (strcmp(t->event, event)) {
				snprintf(why, sizeof(why), "event '%s' is not '%s'", event,
					 t->event);
				trace_add(a, now, (int)i, "not fired", why, "");
				continue;
			}
			snprintf(why, sizeof(why), "fired: %s sent event '%s'", device, event);
			cJSON *ev = cJSON_CreateString(event);
			fire(e, a, (int)i, why, device_info(i, t, ev), NULL, false, now);
			cJSON_Delete(ev);
		}
	}
}

/* The value at a dotted path ("a.b.0") of a JSON document. */
static const cJSON *json_path(const cJSON *root, const char *path)
{
	char part[128];
	const cJSON *at = root;

	while (at && *path) {
		size_t n = strcspn(path, ".");
		snprintf(part, sizeof(part), "%.*s", (int)n, path);
		path += n + (path[n] == '.');
		if (cJSON_IsArray(at)) {
			char *end;
			long idx = strtol(part, &end, 10);
			at = *end ? NULL : cJSON_GetArrayItem(at, (int)idx);
		} else {
			at = cJSON_GetObjectItemCaseSensitive(at, part);
		}
	}
	return at;
}

void sh_automations_mqtt(struct sh_automations *e, const char *topic, const char *payload,
			 size_t len, uint64_t now)
{
	sh_automations_tick(e, now);
	for (size_t k = 0; k < e->n; k++) {
		struct automation *a = e->list[k];
		for (size_t i = 0; i < a->cfg->n_triggers; i++) {
			const struct sh_trigger *t = &a->cfg->triggers[i];
			char why[300];
			if (t->type != SH_TRIGGER_MQTT || !sh_topic_matches(t->topic, topic))
				continue;
			if (t->payload &&
			    (strlen(t->payload) != len || memcmp(t->payload, payload, len))) {
				snprintf(why, sizeof(why), "%s: payload '%.*s' is not '%s'", topic,
					 (int)(len > 64 ? 64 : len), payload, t->payload);
				trace_add(a, now, (int)i, "not fired", why, "");
				continue;
			}
			cJSON *doc = NULL;
			const cJSON *v = NULL;
			if (t->path) {
				doc = cJSON_ParseWithLength(payload, len);
				v = json_path(doc, t->path);
				if (!v || (t->equals && !cJSON_Compare(v, t->equals, true))) {
					snprintf(why, sizeof(why), "%s: %s %s", topic, t->path,
						 !v ? "is not in the payload" : "does not equal");
					trace_add(a, now, (int)i, "not fired", why, "");
					cJSON_Delete(doc);
					continue;
				}
			}
			snprintf(why, sizeof(why), "fired: message on %s", topic);
			cJSON *info = cJSON_CreateObject();
			cJSON_AddNumberToObject(info, "index", (double)i);
			cJSON_AddStringToObject(info, "type", "mqtt");
			cJSON_AddStringToObject(info, "topic", topic);
			if (v)
				cJSON_AddItemToObject(info, "value", cJSON_Duplicate(v, true));
			else
				cJSON_AddStringToObject(info, "payload",
							len < 256 ? payload : "(long)");
			cJSON_Delete(doc);
			fire(e, a, (int)i, why, info, NULL, false, now);
		}
	}
}

/* The earliest due item: for: deadlines, schedules, saving. */
static bool next_due(const struct sh_automations *e, uint64_t *at, size_t *ai, size_t *ti,
		     bool *deadline)
{
	bool found = false;
	for (size_t k = 0; k < e->n; k++) {
		const struct automation *a = e->list[k];
		for (size_t i = 0; i < a->cfg->n_triggers; i++) {
			uint64_t when = 0;
			bool dl = false;
			if (a->ts[i].pending) {
				when = a->ts[i].deadline_ms;
				dl = true;
			} else if (a->next_ms[i]) {
				when = a->next_ms[i];
			}
			if (!when || (found && when >= *at))
				continue;
			found = true;
			*at = when;
			*ai = k;
			*ti = i;
			*deadline = dl;
		}
	}
	return found;
}

uint64_t sh_automations_next_wake(const struct sh_automations *e)
{
	uint64_t at = 0, save = sh_automations_save_due(e);
	size_t ai, ti;
	bool dl;
	if (!next_due(e, &at, &ai, &ti, &dl))
		at = 0;
	if (save && (!at || save < at))
		at = save;
	return at;
}

static void scheduled(struct sh_automations *e, struct automation *a, size_t i, uint64_t due)
{
	const struct sh_trigger *t = &a->cfg->triggers[i];
	char why[300], when[16];
	uint64_t at = a->next_ms[i];

	a->next_ms[i] = schedule(e, a, i, due);
	switch (t->type) {
	case SH_TRIGGER_TIME:
	case SH_TRIGGER_INTERVAL:
	case SH_TRIGGER_SUN: {
		if (t->type == SH_TRIGGER_SUN && a->polar_note && at % 1000 == 0 &&
		    at % 86400000 == 1000) {
			trace_add(a, due, (int)i, "not fired", a->polar_note, "");
			return;
		}
		if (t->type == SH_TRIGGER_TIME)
			snprintf(why, sizeof(why), "fired: it is %s",
				 sh_trigger_time(at, when, sizeof(when)));
		else if (t->type == SH_TRIGGER_INTERVAL)
			snprintf(why, sizeof(why), "fired: every %llu ms",
				 (unsigned long long)t->every_ms);
		else
			snprintf(why, sizeof(why), "fired: %s%s at %s",
				 t->sun == SH_SUN_SUNRISE ? "sunrise" : "sunset",
				 t->offset_ms ? " (with offset)" : "",
				 sh_trigger_time(at, when, sizeof(when)));
		cJSON *info = cJSON_CreateObject();
		cJSON_AddNumberToObject(info, "index", (double)i);
		cJSON_AddStringToObject(info, "type", sh_trigger_type_name(t->type));
		fire(e, a, (int)i, why, info, NULL, false, due);
		break;
	}
	case SH_TRIGGER_ELEVATION: {
		double el = sh_sun_elevation(e->config->location.latitude,
					     e->config->location.longitude, (time_t)(due / 1000));
		cJSON *v = cJSON_CreateNumber(((double)(long long)(el * 100)) / 100);
		enum sh_trig_result r = sh_trigger_report(t, &a->ts[i], v, due, why, sizeof(why));
		/* Samples that decide nothing would flood the trace. */
		if (r != SH_TRIG_NONE || strstr(why, "first report"))
			handle_result(e, a, i, r, why, v, NULL, due);
		cJSON_Delete(v);
		break;
	}
	default:
		break;
	}
}

void sh_automations_tick(struct sh_automations *e, uint64_t now)
{
	uint64_t at = 0;
	size_t ai = 0, ti = 0;
	bool deadline = false;

	/* Bounded: each round consumes one due item or moves it past now. */
	for (unsigned round = 0; round < 10000; round++) {
		if (!next_due(e, &at, &ai, &ti, &deadline) || at > now)
			break;
		struct automation *a = e->list[ai];
		if (deadline) {
			char why[300];
			enum sh_trig_result r = sh_trigger_due(&a->cfg->triggers[ti], &a->ts[ti],
							       at, why, sizeof(why));
			pending_changed(e, a, ti);
			if (r == SH_TRIG_FIRE) {
				const struct sh_trigger *t = &a->cfg->triggers[ti];
				cJSON *v = NULL;
				if (t->type == SH_TRIGGER_NUMERIC)
					v = cJSON_CreateNumber(a->ts[ti].last);
				else if (t->type == SH_TRIGGER_STATE && a->ts[ti].value)
					v = cJSON_Duplicate(a->ts[ti].value, true);
				fire(e, a, (int)ti, why, device_info(ti, t, v), NULL, false, at);
				cJSON_Delete(v);
			}
		} else {
			scheduled(e, a, ti, at);
		}
	}
	uint64_t save = sh_automations_save_due(e);
	if (save && save <= now)
		sh_automations_save(e, now, false);
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
	status_changed(e, a);
}

/* --- apply ------------------------------------------------------------------------- */

static void seed(struct sh_automations *e, struct automation *a, uint64_t now)
{
	char why[300];

	for (size_t i = 0; i < a->cfg->n_triggers; i++) {
		const struct sh_trigger *t = &a->cfg->triggers[i];
		a->next_ms[i] = schedule(e, a, i, now);
		if (t->type == SH_TRIGGER_SUN && a->polar_note)
			trace_add(a, now, (int)i, "not fired", a->polar_note, "");
		if (t->type != SH_TRIGGER_STATE && t->type != SH_TRIGGER_NUMERIC)
			continue;
		const cJSON *state = env_state(e, t->device);
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(state, t->property);
		if (v && !a->resume[i].set) {
			sh_trigger_report(t, &a->ts[i], v, now, why, sizeof(why));
			trace_add(a, now, (int)i, "not fired", why, "armed from the current state");
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
			a->was_waiting = waiting(a);
		}
		status_changed(e, a);
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
			fire(e, a, (int)i, "fired: the hub started", info, NULL, false, now);
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
		trace_add(a, now, -1, enabled ? "enabled" : "disabled",
			  enabled ? "enabled by command" : "disabled by command", "");
		sh_log_info("automation %s: %s", name, enabled ? "enabled" : "disabled");
		sh_automations_mark_dirty(e);
	}
	status_changed(e, a);
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
	fire(e, a, -1,
	     skip_conditions ? "triggered by command (conditions skipped)" : "triggered by command",
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
				active_runs(e, a) ? "running"
				: waiting(a)      ? "waiting"
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
