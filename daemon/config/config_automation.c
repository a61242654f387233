/* SPDX-License-Identifier: MIT */
/*
 * The location: and automations: sections: each automation's triggers and
 * conditions checked into struct sh_trigger / struct sh_condition, and its
 * steps read by the scene step parser (config_scene.c), so an automation
 * runs exactly the grammar a scene does.
 *
 * Every mistake the automation engine could only find at run time is an
 * error here, with its position: an unknown device or property, a
 * property that is not numeric under above/below, an empty band, a
 * negative for:, a sun trigger without location, a bad time or weekday,
 * a for: on a trigger that has no duration (mqtt, time, sun...).
 *
 * Which properties a device reports: the command properties of its kind,
 * the usual sensor readings, and the values of its own options (a sysfs
 * `key`, a virtual sensor's `readings`). Devices of the drivers that relay
 * foreign devices (mqtt) report whatever the remote device does, so any
 * property is accepted for them.
 *
 * Owns nothing beyond the struct sh_config: everything lives in the
 * document's arena except the cJSON values (to, from, is, equals) and the
 * step commands, freed by sh_config_free_automations().
 */
#include "config/config_internal.h"
#include "kinds/kind.h"
#include "util/suggest.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Kinds whose reported properties are known here. */
static const char *const checked_kinds[] = {"light", "switch", "speaker", "sensor", NULL};

/* Drivers whose devices' properties are not known before they report. */
static const char *const open_drivers[] = {"mqtt", NULL};

/* Readings of sensors across drivers; `numeric` says whether above and
 * below can compare them. */
static const struct {
	const char *name;
	bool numeric;
} readings[] = {
	{"temperature", true}, {"humidity", true},    {"pressure", true},    {"illuminance", true},
	{"battery", true},     {"voltage", true},     {"current", true},     {"power", true},
	{"energy", true},      {"co2", true},         {"voc", true},         {"pm25", true},
	{"moisture", true},    {"linkquality", true}, {"value", true},       {"motion", false},
	{"occupancy", false},  {"contact", false},    {"water_leak", false}, {"smoke", false},
	{"tamper", false},     {"action", false},
};

/* State the non-sensor kinds report beyond their command properties. */
static const struct {
	const char *kind, *name;
	bool numeric;
} reported[] = {
	{"speaker", "playing", false},
	{"speaker", "media", false},
	{"speaker", "track", true},
	{"light", "color_mode", false},
};

#define PROPERTIES_MAX 64

enum prop_class {
	PROP_UNKNOWN,
	PROP_NUMERIC,
	PROP_OTHER,
	PROP_ANY, /* an open driver: anything, numeric or not */
};

struct props {
	const char *names[PROPERTIES_MAX + 1];
	bool numeric[PROPERTIES_MAX];
	size_t n;
	cJSON *kind_json; /* owns the kind's property names */
};

static void props_add(struct props *p, const char *name, bool numeric)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->names[i], name))
			return;
	if (p->n < PROPERTIES_MAX) {
		p->numeric[p->n] = numeric;
		p->names[p->n++] = name;
		p->names[p->n] = NULL;
	}
}

/* Names among the device's option values: `key: temp`, `readings: [..]`. */
static void props_add_options(struct props *p, const struct sh_node *n, unsigned depth)
{
	if (!n || depth > 2)
		return;
	if (n->type == SH_NODE_SCALAR) {
		if (n->value && *n->value && strlen(n->value) < 64 && !strchr(n->value, '/') &&
		    !sh_node_is_secret(n))
			props_add(p, n->value, true);
		return;
	}
	for (size_t i = 0; i < n->n_items; i++)
		props_add_options(p, n->items[i], depth + 1);
}

static void props_of(const struct sh_device_config *d, struct props *p)
{
	memset(p, 0, sizeof(*p));
	props_add(p, "state", false);
	if (d->kind && !strcmp(d->kind, "sensor")) {
		for (size_t i = 0; i < sizeof(readings) / sizeof(readings[0]); i++)
			props_add(p, readings[i].name, readings[i].numeric);
		props_add_options(p, d->options, 0);
		return;
	}
	p->kind_json = sh_kind_properties_json(d->kind);
	const cJSON *item;
	cJSON_ArrayForEach(item, p->kind_json)
	{
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(item, "name"));
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(item, "type"));
		if (name && type)
			props_add(p, name, !strcmp(type, "number") || !strcmp(type, "integer"));
	}
	for (size_t i = 0; i < sizeof(reported) / sizeof(reported[0]); i++)
		if (d->kind && !strcmp(d->kind, reported[i].kind))
			props_add(p, reported[i].name, reported[i].numeric);
}

static enum prop_class prop_class(const struct sh_device_config *d, const char *name,
				  const char **suggest)
{
	struct props p;
	bool known;

	*suggest = NULL;
	for (size_t i = 0; d->driver && open_drivers[i]; i++)
		if (!strcmp(d->driver, open_drivers[i]))
			return PROP_ANY;
	/* The other kinds report state their commands do not name
	 * (current_temperature, action...): not checked here. */
	for (size_t i = 0; d->kind && checked_kinds[i]; i++)
		if (!strcmp(d->kind, checked_kinds[i]))
			break;
		else if (!checked_kinds[i + 1])
			return PROP_ANY;
	props_of(d, &p);
	*suggest = sh_suggest(name, p.names, &known);
	enum prop_class c = PROP_UNKNOWN;
	for (size_t i = 0; known && i < p.n; i++)
		if (!strcmp(p.names[i], name))
			c = p.numeric[i] ? PROP_NUMERIC : PROP_OTHER;
	/* The suggestion points into the kind's JSON only for kind
	 * properties; keep a copy that outlives it. */
	static char kept[64];
	if (*suggest) {
		snprintf(kept, sizeof(kept), "%s", *suggest);
		*suggest = kept;
	}
	cJSON_Delete(p.kind_json);
	return c;
}

/* --- small readers ---------------------------------------------------------- */

struct actx {
	struct sh_loader *ld;
	const char *where; /* "automations.x.triggers[0]" */
	bool has_location;
};

static const struct sh_device_config *read_device(struct actx *a, const struct sh_node *n)
{
	char quoted[64];

	if (!n || n->type != SH_NODE_SCALAR || sh_node_is_null(n)) {
		sh_loader_error(a->ld, n, "%s.device must be a device id", a->where);
		return NULL;
	}
	const struct sh_device_config *d = sh_config_find_device(a->ld->config, n->value);
	if (!d)
		sh_loader_error(a->ld, n, "%s: unknown device %s", a->where,
				sh_node_quote(n, quoted, sizeof(quoted)));
	return d;
}

/* The property named by `n` (default "state" when n is NULL) of device
 * `d`; reports an unknown one, and a non-numeric one when `numeric`. */
static char *read_property(struct actx *a, const struct sh_device_config *d,
			   const struct sh_node *n, bool numeric, const struct sh_node *at)
{
	char quoted[64];
	const char *name = "state";

	if (n) {
		if (n->type != SH_NODE_SCALAR || sh_node_is_null(n) || !*n->value) {
			sh_loader_error(a->ld, n, "%s.property must be a property name", a->where);
			return NULL;
		}
		name = n->value;
	}
	if (!d)
		return (char *)name;
	const char *suggest;
	enum prop_class c = prop_class(d, name, &suggest);
	const struct sh_node *pos = n ? n : at;
	if (c == PROP_UNKNOWN) {
		if (suggest)
			sh_loader_error(a->ld, pos,
					"%s: device '%s' has no property %s (did you mean '%s'?)",
					a->where, d->id, sh_node_quote(pos, quoted, sizeof(quoted)),
					suggest);
		else
			sh_loader_error(a->ld, pos, "%s: device '%s' has no property '%s'",
					a->where, d->id, name);
	} else if (numeric && c == PROP_OTHER) {
		sh_loader_error(a->ld, pos,
				"%s: property '%s' of device '%s' is not numeric (above and "
				"below compare numbers; use to: or is:)",
				a->where, name, d->id);
	}
	return (char *)name;
}

static bool read_number(struct actx *a, const struct sh_node *n, const char *key, double *out)
{
	char name[SH_CONFIG_NAME_MAX];

	sh_loader_name(name, sizeof(name), "%s.%s", a->where, key);
	return sh_node_read_double(n, name, -1e15, 1e15, a->ld->diag, out) == 0;
}

/* above/below (and the empty band) into has_above/above... */
static void read_band(struct actx *a, const struct sh_node *map, bool *has_above, double *above,
		      bool *has_below, double *below)
{
	const struct sh_node *na = sh_node_get(map, "above");
	const struct sh_node *nb = sh_node_get(map, "below");

	*has_above = na && read_number(a, na, "above", above);
	*has_below = nb && read_number(a, nb, "below", below);
	if (*has_above && *has_below && *above >= *below)
		sh_loader_error(a->ld, na,
				"%s: empty band: above (%g) must be less than below (%g)", a->where,
				*above, *below);
}

static void read_for(struct actx *a, const struct sh_node *n, uint64_t *ms)
{
	char name[SH_CONFIG_NAME_MAX];

	if (!n || sh_node_is_null(n))
		return;
	if (n->type == SH_NODE_SCALAR && n->value[0] == '-') {
		sh_loader_error(a->ld, n, "%s.for must not be negative", a->where);
		return;
	}
	sh_loader_name(name, sizeof(name), "%s.for", a->where);
	sh_node_read_duration(n, name, a->ld->diag, ms);
}

/* "07:30", "7:30" or "07:30:15" into seconds after midnight. */
static bool parse_clock(const char *text, unsigned *out)
{
	unsigned part[3] = {0, 0, 0};
	size_t n = 0;
	const char *p = text;

	if (!p)
		return false;
	for (;;) {
		size_t digits = strspn(p, "0123456789");
		if (digits < 1 || digits > 2 || (n > 0 && digits != 2) || n == 3)
			return false;
		part[n++] = (unsigned)strtoul(p, NULL, 10); /* 1 or 2 digits, checked */
		p += digits;
		if (*p == '\0')
			break;
		if (*p++ != ':')
			return false;
	}
	if (n < 2 || part[0] > 23 || part[1] > 59 || part[2] > 59)
		return false;
	*out = part[0] * 3600 + part[1] * 60 + part[2];
	return true;
}

static bool read_clock(struct actx *a, const struct sh_node *n, const char *key, unsigned *out)
{
	char quoted[64];

	if (n && n->type == SH_NODE_SCALAR && parse_clock(n->value, out))
		return true;
	sh_loader_error(a->ld, n, "%s.%s: bad time %s (HH:MM or HH:MM:SS, 00:00 to 23:59:59)",
			a->where, key, sh_node_quote(n, quoted, sizeof(quoted)));
	return false;
}

static const char *const weekday_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};
static const char *const weekday_long[] = {"sunday",   "monday", "tuesday",  "wednesday",
					   "thursday", "friday", "saturday", NULL};

static unsigned read_weekdays(struct actx *a, const struct sh_node *n)
{
	char quoted[64];
	unsigned mask = 0;

	if (!n || sh_node_is_null(n))
		return SH_WEEKDAYS_ALL;
	const struct sh_node *const *items = (const struct sh_node *const *)&n;
	size_t count = 1;
	if (n->type == SH_NODE_SEQ) {
		items = (const struct sh_node *const *)n->items;
		count = n->n_items;
	}
	if (n->type == SH_NODE_MAP || count == 0) {
		sh_loader_error(a->ld, n,
				"%s.weekdays must be a list of mon, tue, wed, thu, fri, "
				"sat, sun",
				a->where);
		return SH_WEEKDAYS_ALL;
	}
	for (size_t i = 0; i < count; i++) {
		const struct sh_node *d = items[i];
		unsigned bit = 7;
		for (unsigned k = 0; k < 7 && d->type == SH_NODE_SCALAR; k++)
			if (!strcasecmp(d->value, weekday_names[k]) ||
			    !strcasecmp(d->value, weekday_long[k]))
				bit = k;
		if (bit == 7) {
			bool known;
			const char *best = d->type == SH_NODE_SCALAR
						   ? sh_suggest(d->value, weekday_names, &known)
						   : NULL;
			sh_loader_error(a->ld, d, "%s.weekdays: bad weekday %s (%s%s%s)", a->where,
					sh_node_quote(d, quoted, sizeof(quoted)),
					best ? "did you mean '"
					     : "mon, tue, wed, thu, fri, sat, sun",
					best ? best : "", best ? "'?" : "");
			continue;
		}
		mask |= 1u << bit;
	}
	return mask ? mask : SH_WEEKDAYS_ALL;
}

static bool read_sun_event(struct actx *a, const struct sh_node *n, const char *key,
			   enum sh_sun_event *out)
{
	if (n && n->type == SH_NODE_SCALAR && !strcmp(n->value, "sunrise")) {
		*out = SH_SUN_SUNRISE;
		return true;
	}
	if (n && n->type == SH_NODE_SCALAR && !strcmp(n->value, "sunset")) {
		*out = SH_SUN_SUNSET;
		return true;
	}
	sh_loader_error(a->ld, n, "%s.%s must be sunrise or sunset", a->where, key);
	return false;
}

static void need_location(struct actx *a, const struct sh_node *at)
{
	if (!a->has_location)
		sh_loader_error(a->ld, at,
				"%s: the sun needs a location: add location: {latitude, "
				"longitude} to the configuration",
				a->where);
}

static cJSON *to_json(struct actx *a, const struct sh_node *n)
{
	cJSON *j = sh_node_to_json(n);
	if (!j)
		a->ld->nomem = true;
	return j;
}

/* --- triggers ----------------------------------------------------------------- */

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

static void load_trigger(struct actx *a, struct sh_trigger *t, const struct sh_node *n)
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
		read_for(a, f, &t->for_ms);

	const struct sh_device_config *d = NULL;
	switch (t->type) {
	case SH_TRIGGER_STATE:
		d = read_device(a, sh_node_get(n, "device"));
		t->device = d ? d->id : NULL;
		t->property = read_property(a, d, sh_node_get(n, "property"), false, n);
		if ((v = sh_node_get(n, "to")))
			t->to = to_json(a, v);
		if ((v = sh_node_get(n, "from")))
			t->from = to_json(a, v);
		break;
	case SH_TRIGGER_NUMERIC:
		d = read_device(a, sh_node_get(n, "device"));
		t->device = d ? d->id : NULL;
		t->property = read_property(a, d, sh_node_get(n, "property"), true, n);
		read_band(a, n, &t->has_above, &t->above, &t->has_below, &t->below);
		if ((v = sh_node_get(n, "hysteresis")) &&
		    read_number(a, v, "hysteresis", &t->hysteresis) && t->hysteresis < 0) {
			sh_loader_error(ld, v, "%s.hysteresis must not be negative", a->where);
			t->hysteresis = 0;
		}
		break;
	case SH_TRIGGER_AVAILABILITY:
		d = read_device(a, sh_node_get(n, "device"));
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
		d = read_device(a, sh_node_get(n, "device"));
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
			t->equals = to_json(a, v);
		if (t->equals && !t->path)
			sh_loader_key_error(ld, v, "%s: equals needs a path into the JSON payload",
					    a->where);
		break;
	case SH_TRIGGER_TIME:
		read_clock(a, sh_node_get(n, "at"), "at", &t->at_s);
		t->weekdays = read_weekdays(a, sh_node_get(n, "weekdays"));
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
		need_location(a, sh_node_get(n, "sun"));
		read_sun_event(a, sh_node_get(n, "sun"), "sun", &t->sun);
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
		need_location(a, sh_node_get(n, "sun"));
		read_band(a, n, &t->has_above, &t->above, &t->has_below, &t->below);
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

/* --- conditions --------------------------------------------------------------- */

static void load_condition(struct actx *a, struct sh_condition *c, const struct sh_node *n);

static void load_children(struct actx *a, struct sh_condition *c, const struct sh_node *list,
			  const char *key)
{
	char where[SH_CONFIG_NAME_MAX];
	const char *outer = a->where;
	const struct sh_node *const *items = (const struct sh_node *const *)&list;
	size_t count = 1;

	if (list->type == SH_NODE_SEQ) {
		items = (const struct sh_node *const *)list->items;
		count = list->n_items;
	}
	if (count == 0 || (list->type != SH_NODE_SEQ && list->type != SH_NODE_MAP)) {
		sh_loader_error(a->ld, list, "%s.%s must be a list of conditions", outer, key);
		return;
	}
	c->children = sh_node_doc_alloc(a->ld->doc, count * sizeof(*c->children));
	if (!c->children) {
		a->ld->nomem = true;
		return;
	}
	c->n_children = count;
	for (size_t i = 0; i < count; i++) {
		if (list->type == SH_NODE_SEQ)
			sh_loader_name(where, sizeof(where), "%s.%s[%zu]", outer, key, i);
		else
			sh_loader_name(where, sizeof(where), "%s.%s", outer, key);
		a->where = where;
		load_condition(a, &c->children[i], items[i]);
		a->where = outer;
	}
}

static void load_condition(struct actx *a, struct sh_condition *c, const struct sh_node *n)
{
	static const char *const device_keys[] = {"device", "property", "is",
						  "above",  "below",    NULL};
	static const char *const when_keys[] = {"after", "before", "weekdays", NULL};
	static const char *const sun_when_keys[] = {"after", "before", NULL};
	struct sh_loader *ld = a->ld;
	const struct sh_node *v;
	char where[SH_CONFIG_NAME_MAX];
	const char *outer = a->where;

	c->node = n;
	c->weekdays = SH_WEEKDAYS_ALL;
	if (n->type != SH_NODE_MAP) {
		sh_loader_error(ld, n,
				"%s must be a condition: a mapping with device, time, sun, any or "
				"not",
				a->where);
		return;
	}
	if ((v = sh_node_get(n, "any")) || (v = sh_node_get(n, "not"))) {
		c->type = !strcmp(v->key, "any") ? SH_CONDITION_ANY : SH_CONDITION_NOT;
		if (n->n_items != 1)
			sh_loader_error(ld, n, "%s: %s stands alone in its condition", a->where,
					v->key);
		load_children(a, c, v, v->key);
		return;
	}
	if ((v = sh_node_get(n, "time"))) {
		c->type = SH_CONDITION_TIME;
		if (n->n_items != 1)
			sh_loader_error(ld, n, "%s: time stands alone in its condition", a->where);
		sh_loader_name(where, sizeof(where), "%s.time", outer);
		a->where = where;
		if (v->type != SH_NODE_MAP || v->n_items == 0) {
			sh_loader_error(ld, v, "%s must be a mapping {after, before, weekdays}",
					where);
		} else {
			sh_loader_check_keys(ld, v, where, when_keys);
			const struct sh_node *x;
			if ((x = sh_node_get(v, "after")))
				c->has_after = read_clock(a, x, "after", &c->after_s);
			if ((x = sh_node_get(v, "before")))
				c->has_before = read_clock(a, x, "before", &c->before_s);
			c->weekdays = read_weekdays(a, sh_node_get(v, "weekdays"));
		}
		a->where = outer;
		return;
	}
	if ((v = sh_node_get(n, "sun"))) {
		c->type = SH_CONDITION_SUN;
		sh_loader_name(where, sizeof(where), "%s.sun", outer);
		a->where = where;
		need_location(a, v);
		if (v->type != SH_NODE_MAP || v->n_items == 0) {
			sh_loader_error(ld, v, "%s must be a mapping {after, before}", where);
		} else {
			sh_loader_check_keys(ld, v, where, sun_when_keys);
			const struct sh_node *x;
			if ((x = sh_node_get(v, "after")))
				c->has_after = read_sun_event(a, x, "after", &c->sun_after);
			if ((x = sh_node_get(v, "before")))
				c->has_before = read_sun_event(a, x, "before", &c->sun_before);
		}
		a->where = outer;
		return;
	}
	if (!sh_node_get(n, "device")) {
		sh_loader_error(ld, n, "%s needs one of device, time, sun, any, not", a->where);
		return;
	}
	c->type = SH_CONDITION_DEVICE;
	sh_loader_check_keys(ld, n, a->where, device_keys);
	const struct sh_device_config *d = read_device(a, sh_node_get(n, "device"));
	c->device = d ? d->id : NULL;
	bool numeric = sh_node_get(n, "above") || sh_node_get(n, "below");
	c->property = read_property(a, d, sh_node_get(n, "property"), numeric, n);
	read_band(a, n, &c->has_above, &c->above, &c->has_below, &c->below);
	if ((v = sh_node_get(n, "is")))
		c->is = to_json(a, v);
	if (!c->is && !numeric)
		sh_loader_error(ld, n, "%s needs is, above or below", a->where);
	else if (c->is && numeric)
		sh_loader_error(ld, n, "%s takes is, or above/below, not both", a->where);
}

/* --- automations ---------------------------------------------------------------- */

static void check_scene_refs(struct sh_loader *ld, const struct sh_step *s, const char *prefix)
{
	char quoted[64];

	if (!s)
		return;
	if (s->type == SH_STEP_SCENE && s->scene && !sh_config_find_scene(ld->config, s->scene))
		sh_loader_error(
			ld, sh_node_get(s->node, "scene"), "%s.%s: unknown scene %s", prefix,
			s->path,
			sh_node_quote(sh_node_get(s->node, "scene"), quoted, sizeof(quoted)));
	for (size_t i = 0; i < s->n_children; i++)
		check_scene_refs(ld, s->children[i], prefix);
}

static bool uses_sun(const struct sh_automation_config *au)
{
	for (size_t i = 0; i < au->n_triggers; i++)
		if (au->triggers[i].type == SH_TRIGGER_SUN ||
		    au->triggers[i].type == SH_TRIGGER_ELEVATION)
			return true;
	/* Conditions nest; their text is enough to tell. */
	return au->fingerprint && strstr(au->fingerprint, "\"sun\"");
}

static void load_automation(struct sh_loader *ld, struct sh_automation_config *au,
			    const struct sh_node *node)
{
	static const char *const keys[] = {
		"name",  "mode",           "max",     "triggers", "conditions",
		"steps", "max_per_minute", "max_gap", "enabled",  NULL};
	char prefix[SH_CONFIG_NAME_MAX], where[SH_CONFIG_NAME_MAX], name[SH_CONFIG_NAME_MAX];
	const struct sh_node *v;
	long long ll;

	au->name = (char *)node->key;
	au->node = node;
	au->enabled = true;
	au->max_per_minute = 30;
	au->max_gap_ms = 5 * 60 * 1000;
	au->run.name = au->name;
	au->run.friendly_name = au->name;
	au->run.mode = SH_SCENE_SINGLE;
	au->run.max = 10;
	au->run.node = node;
	sh_loader_name(prefix, sizeof(prefix), "automations.%.60s", au->name);
	if (!sh_topic_level_valid(au->name))
		sh_loader_key_error(ld, node,
				    "automation name '%.60s' cannot be an MQTT topic level (no "
				    "'/', '+', '#', not empty)",
				    au->name);
	if (node->type != SH_NODE_MAP) {
		sh_loader_error(ld, node, "%s must be a mapping (triggers, conditions, steps)",
				prefix);
		return;
	}
	sh_loader_check_keys(ld, node, prefix, keys);
	sh_loader_name(name, sizeof(name), "%s.name", prefix);
	sh_loader_string(ld, sh_node_get(node, "name"), name, &au->run.friendly_name);
	sh_loader_mode(ld, sh_node_get(node, "mode"), prefix, &au->run.mode);
	sh_loader_name(name, sizeof(name), "%s.max", prefix);
	if ((v = sh_node_get(node, "max")) && !sh_node_is_null(v) &&
	    sh_node_read_ll(v, name, 1, SH_SCENE_MAX_MAX, ld->diag, &ll) == 0)
		au->run.max = (unsigned)ll;
	sh_loader_name(name, sizeof(name), "%s.max_per_minute", prefix);
	if ((v = sh_node_get(node, "max_per_minute")) && !sh_node_is_null(v) &&
	    sh_node_read_ll(v, name, 1, 6000, ld->diag, &ll) == 0)
		au->max_per_minute = (unsigned)ll;
	sh_loader_name(name, sizeof(name), "%s.max_gap", prefix);
	if ((v = sh_node_get(node, "max_gap")) && !sh_node_is_null(v))
		sh_node_read_duration(v, name, ld->diag, &au->max_gap_ms);
	sh_loader_name(name, sizeof(name), "%s.enabled", prefix);
	if ((v = sh_node_get(node, "enabled")) && !sh_node_is_null(v))
		sh_node_read_bool(v, name, ld->diag, &au->enabled);

	struct actx a = {.ld = ld, .has_location = ld->config->location.set};
	const struct sh_node *list = sh_node_get(node, "triggers");
	if (!list || sh_node_is_null(list)) {
		sh_loader_key_error(ld, node, "missing key 'triggers' in %s", prefix);
	} else if (list->type != SH_NODE_SEQ || list->n_items == 0) {
		sh_loader_error(ld, list, "%s.triggers must be a list of triggers", prefix);
	} else {
		au->triggers = sh_node_doc_alloc(ld->doc, list->n_items * sizeof(*au->triggers));
		if (!au->triggers) {
			ld->nomem = true;
			return;
		}
		au->n_triggers = list->n_items;
		for (size_t i = 0; i < list->n_items; i++) {
			sh_loader_name(where, sizeof(where), "%s.triggers[%zu]", prefix, i);
			a.where = where;
			load_trigger(&a, &au->triggers[i], list->items[i]);
		}
	}
	list = sh_node_get(node, "conditions");
	if (list && !sh_node_is_null(list)) {
		if (list->type != SH_NODE_SEQ) {
			sh_loader_error(ld, list, "%s.conditions must be a list of conditions",
					prefix);
		} else if (list->n_items) {
			au->conditions =
				sh_node_doc_alloc(ld->doc, list->n_items * sizeof(*au->conditions));
			if (!au->conditions) {
				ld->nomem = true;
				return;
			}
			au->n_conditions = list->n_items;
			for (size_t i = 0; i < list->n_items; i++) {
				sh_loader_name(where, sizeof(where), "%s.conditions[%zu]", prefix,
					       i);
				a.where = where;
				load_condition(&a, &au->conditions[i], list->items[i]);
			}
		}
	}
	list = sh_node_get(node, "steps");
	if (!list || sh_node_is_null(list)) {
		sh_loader_key_error(ld, node, "missing key 'steps' in %s", prefix);
		return;
	}
	au->run.root = sh_config_load_steps(ld, list, prefix);
	check_scene_refs(ld, au->run.root, prefix);
}

void sh_config_load_location(struct sh_loader *ld, const struct sh_node *map)
{
	static const char *const keys[] = {"latitude", "longitude", NULL};
	struct sh_location *l = &ld->config->location;
	const struct sh_node *la, *lo;

	if (!sh_loader_expect_map(ld, map, "location"))
		return;
	sh_loader_check_keys(ld, map, "location", keys);
	la = sh_node_get(map, "latitude");
	lo = sh_node_get(map, "longitude");
	if (!la || !lo) {
		sh_loader_error(ld, map, "location needs latitude and longitude (degrees)");
		return;
	}
	int r1 = sh_node_read_double(la, "location.latitude", -90, 90, ld->diag, &l->latitude);
	int r2 = sh_node_read_double(lo, "location.longitude", -180, 180, ld->diag, &l->longitude);
	l->set = r1 == 0 && r2 == 0;
	/* A broken location is reported once, not again at every sun trigger. */
	if (!l->set)
		l->set = true, l->latitude = l->longitude = 0;
}

void sh_config_load_automations(struct sh_loader *ld, const struct sh_node *map)
{
	struct sh_config *c = ld->config;

	if (!sh_loader_expect_map(ld, map, "automations"))
		return;
	if (map->n_items > SH_CONFIG_AUTOMATIONS_MAX) {
		sh_loader_error(ld, map, "more than %u automations", SH_CONFIG_AUTOMATIONS_MAX);
		return;
	}
	c->automations = sh_node_doc_alloc(ld->doc, map->n_items * sizeof(*c->automations) + 1);
	if (!c->automations) {
		ld->nomem = true;
		return;
	}
	for (size_t i = 0; i < map->n_items; i++) {
		struct sh_automation_config *au = &c->automations[c->n_automations++];
		load_automation(ld, au, map->items[i]);
		au->fingerprint = sh_loader_fingerprint(ld, map->items[i]);
		/* A sun trigger moves with the location. */
		if (au->fingerprint && uses_sun(au) && c->location.set) {
			char text[96];
			snprintf(text, sizeof(text), "@%.6f,%.6f:", c->location.latitude,
				 c->location.longitude);
			char *joined = sh_node_doc_alloc(
				ld->doc, strlen(text) + strlen(au->fingerprint) + 1);
			if (!joined) {
				ld->nomem = true;
				continue;
			}
			strcpy(joined, text);
			strcat(joined, au->fingerprint);
			au->fingerprint = joined;
		}
		au->run.fingerprint = au->fingerprint;
	}
}

static void free_conditions(struct sh_condition *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++) {
		cJSON_Delete(c[i].is);
		free_conditions(c[i].children, c[i].n_children);
	}
}

void sh_config_free_automations(struct sh_config *config)
{
	for (size_t i = 0; i < config->n_automations; i++) {
		struct sh_automation_config *au = &config->automations[i];
		for (size_t k = 0; k < au->n_triggers; k++) {
			cJSON_Delete(au->triggers[k].to);
			cJSON_Delete(au->triggers[k].from);
			cJSON_Delete(au->triggers[k].equals);
		}
		free_conditions(au->conditions, au->n_conditions);
		sh_config_free_step(au->run.root);
	}
}
