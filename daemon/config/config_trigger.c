/* SPDX-License-Identifier: MIT */
/*
 * One trigger of an automation, checked into struct sh_trigger: its type
 * from the keys it has (device, mqtt, at, every, sun, start), only the
 * keys of that type, and every mistake the engine could only find at run
 * time (an unknown device or property, a non-numeric property under
 * above/below, a negative for:, a for: on a trigger that is a moment, a
 * bad topic filter, a sun trigger without location).
 */
#include "config/config_automation_internal.h"

#include <string.h>

static const char *const state_keys[] = {"device", "property", "to", "from", "for", NULL};
static const char *const numeric_keys[] = {"device",     "property", "above", "below",
					   "hysteresis", "for",      NULL};
static const char *const availability_keys[] = {"device", "availability", "for", NULL};
static const char *const mqtt_keys[] = {"mqtt", "payload", "path", "equals", "for", NULL};
static const char *const time_keys[] = {"at", "weekdays", "for", NULL};
static const char *const every_keys[] = {"every", "for", NULL};
static const char *const sun_keys[] = {"sun", "offset", "above", "below", "for", NULL};
static const char *const start_keys[] = {"start", "for", NULL};
static const char *const event_keys[] = {"device", "event", "for", NULL};

static bool mqtt_filter_valid(const char *t)
{
	if (!t || !*t)
		return false;
	for (const char *p = t; *p; p++) {
		if (*p == '+' && ((p != t && p[-1] != '/') || (p[1] && p[1] != '/')))
			return false;
		if (*p == '#' && ((p != t && p[-1] != '/') || p[1]))
			return false;
	}
	return true;
}

void sh_auto_load_trigger(struct sh_auto_ctx *a, struct sh_trigger *t, const struct sh_node *n)
{
	struct sh_loader *ld = a->ld;
	const struct sh_node *v;
	const char *const *keys;
	char name[SH_CONFIG_NAME_MAX];

	t->node = n;
	t->weekdays = SH_WEEKDAYS_ALL;
	if (n->type != SH_NODE_MAP) {
		sh_loader_error(ld, n,
				"%s must be a trigger: a mapping with device, mqtt, at, every, "
				"sun or start",
				a->where);
		return;
	}
	if (sh_node_get(n, "mqtt")) {
		t->type = SH_TRIGGER_MQTT;
		keys = mqtt_keys;
	} else if (sh_node_get(n, "at")) {
		t->type = SH_TRIGGER_TIME;
		keys = time_keys;
	} else if (sh_node_get(n, "every")) {
		t->type = SH_TRIGGER_INTERVAL;
		keys = every_keys;
	} else if ((v = sh_node_get(n, "sun"))) {
		t->type = v->type == SH_NODE_SCALAR && !strcmp(v->value, "elevation")
				  ? SH_TRIGGER_ELEVATION
				  : SH_TRIGGER_SUN;
		keys = sun_keys;
	} else if (sh_node_get(n, "start")) {
		t->type = SH_TRIGGER_START;
		keys = start_keys;
	} else if (sh_node_get(n, "device") && sh_node_get(n, "event")) {
		t->type = SH_TRIGGER_EVENT;
		keys = event_keys;
	} else if (sh_node_get(n, "device") && sh_node_get(n, "availability")) {
		t->type = SH_TRIGGER_AVAILABILITY;
		keys = availability_keys;
	} else if (sh_node_get(n, "device") &&
		   (sh_node_get(n, "above") || sh_node_get(n, "below"))) {
		t->type = SH_TRIGGER_NUMERIC;
		keys = numeric_keys;
	} else if (sh_node_get(n, "device")) {
		t->type = SH_TRIGGER_STATE;
		keys = state_keys;
	} else {
		sh_loader_error(ld, n,
				"%s needs one of device, mqtt, at, every, sun, start (what makes "
				"the automation run)",
				a->where);
		return;
	}
	sh_loader_check_keys(ld, n, a->where, keys);

	const struct sh_node *f = sh_node_get(n, "for");
	bool lasting = t->type == SH_TRIGGER_STATE || t->type == SH_TRIGGER_NUMERIC ||
		       t->type == SH_TRIGGER_AVAILABILITY;
	if (f && !lasting)
		sh_loader_key_error(ld, f,
				    "%s: a %s trigger takes no for: (it is a moment, not a state "
				    "that lasts)",
				    a->where, sh_trigger_type_name(t->type));
	else if (f)
		sh_auto_read_for(a, f, &t->for_ms);

	const struct sh_device_config *d = NULL;
	switch (t->type) {
	case SH_TRIGGER_STATE:
		d = sh_auto_read_device(a, sh_node_get(n, "device"));
		t->device = d ? d->id : NULL;
		t->property = sh_auto_read_property(a, d, sh_node_get(n, "property"), false, n);
		if ((v = sh_node_get(n, "to")))
			t->to = sh_auto_to_json(a, v);
		if ((v = sh_node_get(n, "from")))
			t->from = sh_auto_to_json(a, v);
		break;
	case SH_TRIGGER_NUMERIC:
		d = sh_auto_read_device(a, sh_node_get(n, "device"));
		t->device = d ? d->id : NULL;
		t->property = sh_auto_read_property(a, d, sh_node_get(n, "property"), true, n);
		sh_auto_read_band(a, n, &t->has_above, &t->above, &t->has_below, &t->below);
		if ((v = sh_node_get(n, "hysteresis")) &&
		    sh_auto_read_number(a, v, "hysteresis", &t->hysteresis) && t->hysteresis < 0) {
			sh_loader_error(ld, v, "%s.hysteresis must not be negative", a->where);
			t->hysteresis = 0;
		}
		break;
	case SH_TRIGGER_AVAILABILITY:
		d = sh_auto_read_device(a, sh_node_get(n, "device"));
		t->device = d ? d->id : NULL;
		v = sh_node_get(n, "availability");
		if (v->type == SH_NODE_SCALAR &&
		    (!strcmp(v->value, "online") || !strcmp(v->value, "offline")))
			t->online = !strcmp(v->value, "online");
		else
			sh_loader_error(ld, v, "%s.availability must be online or offline",
					a->where);
		break;
	case SH_TRIGGER_EVENT:
		d = sh_auto_read_device(a, sh_node_get(n, "device"));
		t->device = d ? d->id : NULL;
		sh_loader_name(name, sizeof(name), "%s.event", a->where);
		sh_loader_string(ld, sh_node_get(n, "event"), name, &t->event);
		if (!t->event || !*t->event)
			sh_loader_error(ld, sh_node_get(n, "event"),
					"%s.event must be an event name (single, double, long...)",
					a->where);
		break;
	case SH_TRIGGER_MQTT:
		sh_loader_name(name, sizeof(name), "%s.mqtt", a->where);
		sh_loader_string(ld, sh_node_get(n, "mqtt"), name, &t->topic);
		if (!mqtt_filter_valid(t->topic))
			sh_loader_error(ld, sh_node_get(n, "mqtt"),
					"%s.mqtt must be a topic filter (+ and # only as whole "
					"levels, # last)",
					a->where);
		sh_loader_name(name, sizeof(name), "%s.payload", a->where);
		sh_loader_string(ld, sh_node_get(n, "payload"), name, &t->payload);
		sh_loader_name(name, sizeof(name), "%s.path", a->where);
		sh_loader_string(ld, sh_node_get(n, "path"), name, &t->path);
		if ((v = sh_node_get(n, "equals")))
			t->equals = sh_auto_to_json(a, v);
		if (t->equals && !t->path)
			sh_loader_key_error(ld, v, "%s: equals needs a path into the JSON payload",
					    a->where);
		break;
	case SH_TRIGGER_TIME:
		sh_auto_read_clock(a, sh_node_get(n, "at"), "at", &t->at_s);
		t->weekdays = sh_auto_read_weekdays(a, sh_node_get(n, "weekdays"));
		break;
	case SH_TRIGGER_INTERVAL:
		sh_loader_name(name, sizeof(name), "%s.every", a->where);
		if (sh_node_read_duration(sh_node_get(n, "every"), name, ld->diag, &t->every_ms) ==
			    0 &&
		    t->every_ms < 1000)
			sh_loader_error(ld, sh_node_get(n, "every"), "%s.every must be at least 1s",
					a->where);
		break;
	case SH_TRIGGER_SUN:
		sh_auto_need_location(a, sh_node_get(n, "sun"));
		sh_auto_read_sun_event(a, sh_node_get(n, "sun"), "sun", &t->sun);
		if ((v = sh_node_get(n, "offset")) && !sh_node_is_null(v)) {
			bool negative = v->type == SH_NODE_SCALAR && v->value[0] == '-';
			uint64_t ms = 0;
			if (v->type != SH_NODE_SCALAR ||
			    sh_duration_parse(v->value + (negative || v->value[0] == '+'), &ms) < 0)
				sh_loader_error(ld, v,
						"%s.offset must be a duration, negative for "
						"before (e.g. -30min)",
						a->where);
			t->offset_ms = negative ? -(int64_t)ms : (int64_t)ms;
		}
		if (sh_node_get(n, "above") || sh_node_get(n, "below"))
			sh_loader_error(ld, n, "%s: above and below go with sun: elevation",
					a->where);
		break;
	case SH_TRIGGER_ELEVATION:
		sh_auto_need_location(a, sh_node_get(n, "sun"));
		sh_auto_read_band(a, n, &t->has_above, &t->above, &t->has_below, &t->below);
		if (!t->has_above && !t->has_below)
			sh_loader_error(ld, n, "%s: sun: elevation needs above or below (degrees)",
					a->where);
		if (sh_node_get(n, "offset"))
			sh_loader_key_error(ld, sh_node_get(n, "offset"),
					    "%s: offset goes with sunrise and sunset", a->where);
		break;
	case SH_TRIGGER_START:
		if ((v = sh_node_get(n, "start")) &&
		    (v->type != SH_NODE_SCALAR || strcmp(v->value, "true")))
			sh_loader_error(ld, v, "%s.start must be true", a->where);
		break;
	}
}
