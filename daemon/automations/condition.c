/* SPDX-License-Identifier: MIT */
/*
 * The conditions of condition.h. Sun conditions use the events of the
 * local day; on a polar day or night, when there is no sunrise or sunset,
 * the sun's elevation decides (up: neither after sunset nor before
 * sunrise; down: both).
 */
#include "automations/condition.h"
#include "automations/clock.h"
#include "automations/sun.h"
#include "automations/trigger.h"

#include <stdio.h>
#include <string.h>

static const char *const day_names[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
					"Thursday", "Friday", "Saturday"};

bool sh_condition_time_in(unsigned after, bool has_after, unsigned before, bool has_before,
			  unsigned weekdays, time_t now, char *why, size_t len)
{
	int wday;
	unsigned s = sh_clock_seconds(now, &wday);
	char a[16], b[16], n[16];

	sh_clock_format(s, n, sizeof(n));
	if (!(weekdays & (1u << wday))) {
		snprintf(why, len, "%s is not one of the weekdays", day_names[wday]);
		return false;
	}
	bool ok_after = !has_after || s >= after;
	bool ok_before = !has_before || s < before;
	if (has_after && has_before && after > before) {
		if (ok_after || ok_before)
			return true;
		snprintf(why, len, "%s is not after %s nor before %s", n,
			 sh_clock_format(after, a, sizeof(a)),
			 sh_clock_format(before, b, sizeof(b)));
		return false;
	}
	if (!ok_after)
		snprintf(why, len, "%s is not after %s", n, sh_clock_format(after, a, sizeof(a)));
	else if (!ok_before)
		snprintf(why, len, "%s is not before %s", n, sh_clock_format(before, b, sizeof(b)));
	return ok_after && ok_before;
}

static const char *event_name(enum sh_sun_event e)
{
	return e == SH_SUN_SUNRISE ? "sunrise" : "sunset";
}

/* Whether `now` is after (or, with before, before) today's `event`. */
static bool sun_side(const struct sh_location *loc, enum sh_sun_event event, bool after, time_t now,
		     time_t *at)
{
	struct tm tm;
	localtime_r(&now, &tm);
	/* The UTC day of local noon holds the local day's events. */
	time_t noon = sh_clock_local(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, 12 * 3600);
	enum sh_sun_result r = sh_sun_event(loc->latitude, loc->longitude, noon, event, at);
	if (r != SH_SUN_OK) {
		*at = (time_t)-1;
		bool down = r == SH_SUN_POLAR_NIGHT;
		return down; /* down: after sunset and before sunrise both hold */
	}
	return after ? now >= *at : now < *at;
}

static bool sun_holds(const struct sh_condition *c, const struct sh_condition_env *env, char *why,
		      size_t len)
{
	time_t ta = (time_t)-1, tb = (time_t)-1;
	bool a = !c->has_after || sun_side(env->location, c->sun_after, true, env->now, &ta);
	bool b = !c->has_before || sun_side(env->location, c->sun_before, false, env->now, &tb);
	bool ok;
	/* after sunset, before sunrise: the night crosses midnight. */
	if (c->has_after && c->has_before && ta != (time_t)-1 && tb != (time_t)-1 && ta > tb)
		ok = a || b;
	else
		ok = a && b;
	if (!ok) {
		char n[16], x[16];
		sh_trigger_time((uint64_t)env->now * 1000, n, sizeof(n));
		if (c->has_after && !a)
			snprintf(why, len, "%s is not after %s (%s)", n, event_name(c->sun_after),
				 ta == (time_t)-1
					 ? "none today"
					 : sh_trigger_time((uint64_t)ta * 1000, x, sizeof(x)));
		else
			snprintf(why, len, "%s is not before %s (%s)", n, event_name(c->sun_before),
				 tb == (time_t)-1
					 ? "none today"
					 : sh_trigger_time((uint64_t)tb * 1000, x, sizeof(x)));
	}
	return ok;
}

static bool device_holds(const struct sh_condition *c, const struct sh_condition_env *env,
			 char *why, size_t len)
{
	const cJSON *state = env->state(env->ctx, c->device);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(state, c->property);
	char *text = v ? cJSON_PrintUnformatted(v) : NULL;
	bool ok;

	if (!state || !v || cJSON_IsNull(v)) {
		snprintf(why, len, "%s.%s is unknown", c->device, c->property);
		cJSON_free(text);
		return false;
	}
	if (c->is) {
		ok = cJSON_Compare(c->is, v, true);
		if (!ok) {
			char *want = cJSON_PrintUnformatted(c->is);
			snprintf(why, len, "%s.%s is %s, not %s", c->device, c->property, text,
				 want ? want : "?");
			cJSON_free(want);
		}
	} else {
		double x;
		ok = sh_trigger_number(v, &x) && (!c->has_above || x > c->above) &&
		     (!c->has_below || x < c->below);
		if (!ok && c->has_above && c->has_below)
			snprintf(why, len, "%s.%s is %s, not between %g and %g", c->device,
				 c->property, text, c->above, c->below);
		else if (!ok)
			snprintf(why, len, "%s.%s is %s, not %s %g", c->device, c->property, text,
				 c->has_above ? "above" : "below",
				 c->has_above ? c->above : c->below);
	}
	cJSON_free(text);
	return ok;
}

bool sh_condition_holds(const struct sh_condition *c, const struct sh_condition_env *env, char *why,
			size_t len)
{
	char scratch[256];
	if (!why) {
		why = scratch;
		len = sizeof(scratch);
	}
	why[0] = '\0';
	switch (c->type) {
	case SH_CONDITION_DEVICE:
		return device_holds(c, env, why, len);
	case SH_CONDITION_TIME:
		return sh_condition_time_in(c->after_s, c->has_after, c->before_s, c->has_before,
					    c->weekdays, env->now, why, len);
	case SH_CONDITION_SUN:
		return sun_holds(c, env, why, len);
	case SH_CONDITION_ANY: {
		char first[200] = "";
		for (size_t i = 0; i < c->n_children; i++) {
			char r[200];
			if (sh_condition_holds(&c->children[i], env, r, sizeof(r)))
				return true;
			if (i == 0)
				snprintf(first, sizeof(first), "%s", r);
		}
		snprintf(why, len, "none of %zu holds (%s%s)", c->n_children, first,
			 c->n_children > 1 ? ", ..." : "");
		return false;
	}
	case SH_CONDITION_NOT:
		for (size_t i = 0; i < c->n_children; i++) {
			if (sh_condition_holds(&c->children[i], env, NULL, 0)) {
				snprintf(why, len, "not: condition %zu (%s) holds", i,
					 sh_condition_type_name(c->children[i].type));
				return false;
			}
		}
		return true;
	}
	return false;
}

bool sh_conditions_hold(const struct sh_condition *conds, size_t n,
			const struct sh_condition_env *env, char *why, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		char r[256];
		if (!sh_condition_holds(&conds[i], env, r, sizeof(r))) {
			snprintf(why, len, "condition %zu (%s) not met: %s", i,
				 sh_condition_type_name(conds[i].type), r);
			return false;
		}
	}
	return true;
}
