/* SPDX-License-Identifier: MIT */
/*
 * What the automations hear (automation_internal.h): device states,
 * availability and events, MQTT messages, and the clock. Each input finds
 * the triggers it concerns and hands them to the decision to run
 * (automation_run.c); the clock side keeps the schedules (time, interval,
 * sun, elevation) and the for: deadlines, and says when it next needs to
 * wake. Owns nothing of its own: the schedules live in the struct
 * automation that automation.c owns.
 */
#include "automations/automation_internal.h"
#include "automations/clock.h"
#include "automations/sun.h"
#include "util/topic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

uint64_t sh_automations__schedule(struct sh_automations *e, struct automation *a, size_t i,
				  uint64_t now)
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
			sh_automations__report(e, a, i, v, device, now);
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
				sh_automations__report(e, a, i, v, device, now);
			else if (!online &&
				 (t->type == SH_TRIGGER_STATE || t->type == SH_TRIGGER_NUMERIC) &&
				 a->ts[i].pending)
				sh_automations__report(e, a, i, NULL, device, now);
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
				sh_automations__trace_add(a, now, (int)i, "not fired", why, "");
				continue;
			}
			snprintf(why, sizeof(why), "fired: %s sent event '%s'", device, event);
			cJSON *ev = cJSON_CreateString(event);
			sh_automations__fire(e, a, (int)i, why,
					     sh_automations__device_info(i, t, ev), NULL, false,
					     now);
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
				sh_automations__trace_add(a, now, (int)i, "not fired", why, "");
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
					sh_automations__trace_add(a, now, (int)i, "not fired", why,
								  "");
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
			sh_automations__fire(e, a, (int)i, why, info, NULL, false, now);
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

	a->next_ms[i] = sh_automations__schedule(e, a, i, due);
	switch (t->type) {
	case SH_TRIGGER_TIME:
	case SH_TRIGGER_INTERVAL:
	case SH_TRIGGER_SUN: {
		if (t->type == SH_TRIGGER_SUN && a->polar_note && at % 1000 == 0 &&
		    at % 86400000 == 1000) {
			sh_automations__trace_add(a, due, (int)i, "not fired", a->polar_note, "");
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
		sh_automations__fire(e, a, (int)i, why, info, NULL, false, due);
		break;
	}
	case SH_TRIGGER_ELEVATION: {
		double el = sh_sun_elevation(e->config->location.latitude,
					     e->config->location.longitude, (time_t)(due / 1000));
		cJSON *v = cJSON_CreateNumber(((double)(long long)(el * 100)) / 100);
		enum sh_trig_result r = sh_trigger_report(t, &a->ts[i], v, due, why, sizeof(why));
		/* Samples that decide nothing would flood the trace. */
		if (r != SH_TRIG_NONE || strstr(why, "first report"))
			sh_automations__handle_result(e, a, i, r, why, v, NULL, due);
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
			sh_automations__pending_changed(e, a, ti);
			if (r == SH_TRIG_FIRE) {
				const struct sh_trigger *t = &a->cfg->triggers[ti];
				cJSON *v = NULL;
				if (t->type == SH_TRIGGER_NUMERIC)
					v = cJSON_CreateNumber(a->ts[ti].last);
				else if (t->type == SH_TRIGGER_STATE && a->ts[ti].value)
					v = cJSON_Duplicate(a->ts[ti].value, true);
				sh_automations__fire(e, a, (int)ti, why,
						     sh_automations__device_info(ti, t, v), NULL,
						     false, at);
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
