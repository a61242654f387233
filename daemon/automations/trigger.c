/* SPDX-License-Identifier: MIT */
/*
 * The per-trigger state machines of trigger.h. Each function is one
 * decision on one input; nothing here knows about devices, timers or
 * automations, so the unit tests drive it on a virtual clock.
 */
#include "automations/trigger.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void sh_trigger_state_reset(struct sh_trigger_state *s)
{
	cJSON_Delete(s->value);
	memset(s, 0, sizeof(*s));
}

const char *sh_trigger_time(uint64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	localtime_r(&t, &tm);
	if (tm.tm_sec)
		snprintf(buf, len, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
	else
		snprintf(buf, len, "%02d:%02d", tm.tm_hour, tm.tm_min);
	return buf;
}

static bool unavailable(const cJSON *v)
{
	return !v || cJSON_IsNull(v) ||
	       (cJSON_IsString(v) &&
		(!strcmp(v->valuestring, "unavailable") || !strcmp(v->valuestring, "unknown")));
}

bool sh_trigger_number(const cJSON *value, double *out)
{
	if (!cJSON_IsNumber(value) || !isfinite(value->valuedouble))
		return false;
	*out = value->valuedouble;
	return true;
}

bool sh_trigger_inside(const struct sh_trigger *t, double v)
{
	return (!t->has_above || v > t->above) && (!t->has_below || v < t->below);
}

/* Out far enough to re-arm: past the threshold by the hysteresis. */
static bool rearms(const struct sh_trigger *t, double v)
{
	bool out = false;
	if (t->has_above && v <= t->above - t->hysteresis)
		out = true;
	if (t->has_below && v >= t->below + t->hysteresis)
		out = true;
	return out;
}

/* "above 30", "below 10", "between 10 and 30" */
static void range_text(const struct sh_trigger *t, char *buf, size_t len)
{
	if (t->has_above && t->has_below)
		snprintf(buf, len, "between %g and %g", t->above, t->below);
	else if (t->has_above)
		snprintf(buf, len, "above %g", t->above);
	else
		snprintf(buf, len, "below %g", t->below);
}

static void value_text(const cJSON *v, char *buf, size_t len)
{
	char *text = v ? cJSON_PrintUnformatted(v) : NULL;
	snprintf(buf, len, "%s", text ? text : "nothing");
	cJSON_free(text);
}

static enum sh_trig_result cancel_pending(struct sh_trigger_state *s, char *why, size_t len,
					  const char *reason)
{
	if (!s->pending) {
		snprintf(why, len, "%s", reason);
		return SH_TRIG_NONE;
	}
	s->pending = false;
	snprintf(why, len, "for: cancelled: %s", reason);
	return SH_TRIG_CANCELLED;
}

static enum sh_trig_result start_or_fire(const struct sh_trigger *t, struct sh_trigger_state *s,
					 uint64_t now, char *why, size_t len, const char *what)
{
	if (t->for_ms == 0) {
		snprintf(why, len, "fired: %s", what);
		return SH_TRIG_FIRE;
	}
	s->pending = true;
	s->since_ms = now;
	s->deadline_ms = now + t->for_ms;
	char when[16];
	snprintf(why, len, "waiting until %s: %s",
		 sh_trigger_time(s->deadline_ms, when, sizeof(when)), what);
	return SH_TRIG_PENDING;
}

static enum sh_trig_result numeric_report(const struct sh_trigger *t, struct sh_trigger_state *s,
					  const cJSON *value, uint64_t now, char *why, size_t len)
{
	char range[64], text[160], when[16];
	double v;

	range_text(t, range, sizeof(range));
	if (unavailable(value) || !sh_trigger_number(value, &v)) {
		value_text(value, text, sizeof(text));
		char reason[256];
		snprintf(reason, sizeof(reason),
			 "%s is not a valid reading (neither arms nor fires)",
			 unavailable(value) ? "unavailable" : text);
		return cancel_pending(s, why, len, reason);
	}
	bool inside = sh_trigger_inside(t, v);
	bool first = !s->known;
	double previous = s->last;
	s->known = true;
	s->last = v;
	if (first) {
		s->armed = !inside;
		if (inside)
			s->since_ms = now;
		snprintf(why, len, "first report after start: %g is %s%s (never fires)", v,
			 inside ? "" : "not ", range);
		return SH_TRIG_NONE;
	}
	if (!inside) {
		enum sh_trig_result r = SH_TRIG_NONE;
		if (s->pending) {
			s->pending = false;
			r = SH_TRIG_CANCELLED;
		}
		if (!s->armed && rearms(t, v)) {
			s->armed = true;
			snprintf(why, len, "%s%g is not %s: re-armed",
				 r == SH_TRIG_CANCELLED ? "for: cancelled: " : "", v, range);
		} else if (!s->armed) {
			snprintf(why, len,
				 "%s%g is not %s, but within the hysteresis %g: not re-armed",
				 r == SH_TRIG_CANCELLED ? "for: cancelled: " : "", v, range,
				 t->hysteresis);
		} else {
			snprintf(why, len, "%s%g is not %s",
				 r == SH_TRIG_CANCELLED ? "for: cancelled: " : "", v, range);
		}
		return r;
	}
	if (s->pending) {
		snprintf(why, len, "still waiting until %s: %g is %s",
			 sh_trigger_time(s->deadline_ms, when, sizeof(when)), v, range);
		return SH_TRIG_NONE;
	}
	if (!s->armed) {
		snprintf(why, len, "not armed since %s: %g was already %s",
			 sh_trigger_time(s->since_ms, when, sizeof(when)), previous, range);
		return SH_TRIG_NONE;
	}
	s->armed = false;
	s->since_ms = now;
	snprintf(text, sizeof(text), "%g crossed %s", v, range);
	return start_or_fire(t, s, now, why, len, text);
}

static enum sh_trig_result state_report(const struct sh_trigger *t, struct sh_trigger_state *s,
					const cJSON *value, uint64_t now, char *why, size_t len)
{
	char was[64], now_text[64], text[320];

	value_text(value, now_text, sizeof(now_text));
	if (unavailable(value))
		return cancel_pending(s, why, len,
				      "unavailable is not a valid value (neither arms nor fires)");
	if (!s->known) {
		s->known = true;
		s->value = cJSON_Duplicate(value, true);
		snprintf(why, len, "first report after start: %s (never fires)", now_text);
		return SH_TRIG_NONE;
	}
	if (s->value && cJSON_Compare(s->value, value, true)) {
		snprintf(why, len, "%s did not change", now_text);
		return SH_TRIG_NONE;
	}
	value_text(s->value, was, sizeof(was));
	cJSON *previous = s->value;
	s->value = cJSON_Duplicate(value, true);
	bool from_ok = !t->from || (previous && cJSON_Compare(t->from, previous, true));
	bool to_ok = !t->to || cJSON_Compare(t->to, value, true);
	cJSON_Delete(previous);
	if (!from_ok || !to_ok) {
		char want[64];
		value_text(!to_ok ? t->to : t->from, want, sizeof(want));
		snprintf(text, sizeof(text), "%s -> %s: %s is not %s", was, now_text,
			 !to_ok ? "to" : "from", want);
		return cancel_pending(s, why, len, text);
	}
	/* A change while pending: with `to` the value is still `to` only if
	 * it did not change; without `to` the new value starts over. */
	s->pending = false;
	snprintf(text, sizeof(text), "%s -> %s", was, now_text);
	return start_or_fire(t, s, now, why, len, text);
}

static enum sh_trig_result availability_report(const struct sh_trigger *t,
					       struct sh_trigger_state *s, const cJSON *value,
					       uint64_t now, char *why, size_t len)
{
	if (!cJSON_IsString(value) ||
	    (strcmp(value->valuestring, "online") && strcmp(value->valuestring, "offline"))) {
		snprintf(why, len, "not an availability (online or offline): ignored");
		return SH_TRIG_NONE;
	}
	bool online = !strcmp(value->valuestring, "online");
	if (!s->known) {
		s->known = true;
		s->online = online;
		snprintf(why, len, "first report after start: %s (never fires)",
			 online ? "online" : "offline");
		return SH_TRIG_NONE;
	}
	if (s->online == online) {
		snprintf(why, len, "still %s", online ? "online" : "offline");
		return SH_TRIG_NONE;
	}
	s->online = online;
	if (online != t->online)
		return cancel_pending(s, why, len, online ? "online again" : "offline again");
	return start_or_fire(t, s, now, why, len, online ? "went online" : "went offline");
}

enum sh_trig_result sh_trigger_report(const struct sh_trigger *t, struct sh_trigger_state *s,
				      const cJSON *value, uint64_t now_ms, char *why,
				      size_t why_len)
{
	why[0] = '\0';
	switch (t->type) {
	case SH_TRIGGER_NUMERIC:
	case SH_TRIGGER_ELEVATION:
		return numeric_report(t, s, value, now_ms, why, why_len);
	case SH_TRIGGER_STATE:
		return state_report(t, s, value, now_ms, why, why_len);
	case SH_TRIGGER_AVAILABILITY:
		return availability_report(t, s, value, now_ms, why, why_len);
	default:
		return SH_TRIG_NONE;
	}
}

enum sh_trig_result sh_trigger_due(const struct sh_trigger *t, struct sh_trigger_state *s,
				   uint64_t now_ms, char *why, size_t why_len)
{
	char since[16];

	if (!s->pending || now_ms < s->deadline_ms)
		return SH_TRIG_NONE;
	s->pending = false;
	snprintf(why, why_len, "fired: held for %llu ms since %s", (unsigned long long)t->for_ms,
		 sh_trigger_time(s->since_ms, since, sizeof(since)));
	return SH_TRIG_FIRE;
}
