/* SPDX-License-Identifier: MIT */
/*
 * Which properties a device reports, so that a trigger or condition on a
 * property no device of its kind has is an error with a suggestion: the
 * command properties of its kind, the usual sensor readings, and the
 * values of its own options (a sysfs `key`, a virtual sensor's
 * `readings`). Devices of the drivers that relay foreign devices (mqtt)
 * report whatever the remote device does, so any property is accepted for
 * them.
 */
#include "config/config_automation_internal.h"
#include "kinds/kind.h"
#include "util/suggest.h"

#include <stdio.h>
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

/* The property named by `n` (default "state" when n is NULL) of device
 * `d`; reports an unknown one, and a non-numeric one when `numeric`. */
char *sh_auto_read_property(struct sh_auto_ctx *a, const struct sh_device_config *d,
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
