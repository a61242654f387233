// SPDX-License-Identifier: MIT
/*
 * The device options that describe what a device of a kind can do, common
 * to every driver of that kind (kinds/kind.h): `modes`, `min_temp`,
 * `max_temp` and `temperature_step` of a climate, `presets` of a fan,
 * `event_types` of a button and the `properties` a custom device declares.
 * They fill the device's struct sh_kind_spec; everything else in the
 * device's mapping is left to the driver. A sensor's `unit` and
 * `device_class` are checked here against Home
 * Assistant's table, since HA silently drops a sensor whose pair does not
 * fit.
 */
#include "config/config_internal.h"
#include "kinds/kind.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Which kind each of these options belongs to. */
static const struct {
	const char *key, *kind;
} kind_keys[] = {
	{"modes", "climate"},     {"min_temp", "climate"},
	{"max_temp", "climate"},  {"temperature_step", "climate"},
	{"presets", "fan"},       {"event_types", "button"},
	{"properties", "custom"},
};

bool sh_config_is_kind_key(const char *key)
{
	for (size_t i = 0; i < sizeof(kind_keys) / sizeof(kind_keys[0]); i++)
		if (!strcmp(kind_keys[i].key, key))
			return true;
	return false;
}

/* A word a topic, a template and HA's select can all carry. */
static bool value_name_valid(const char *s)
{
	if (!s || !*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') ||
		      ('0' <= *s && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	return true;
}

/* A sequence of words as a NULL-terminated array in the doc; `allowed`
 * (NULL: any word) limits them. Returns NULL after reporting. */
static const char *const *load_words(struct sh_loader *ld, const struct sh_node *n,
				     const char *name, const char *const *allowed)
{
	if (n->type != SH_NODE_SEQ || n->n_items == 0) {
		sh_loader_error(ld, n, "%s must be a non-empty list, e.g. [%s]", name,
				allowed ? "heat, off" : "a, b");
		return NULL;
	}
	if (n->n_items > SH_KIND_VALUES_MAX) {
		sh_loader_error(ld, n, "%s: more than %u values", name, SH_KIND_VALUES_MAX);
		return NULL;
	}
	const char **out = sh_node_doc_alloc(ld->doc, (n->n_items + 1) * sizeof(*out));
	if (!out) {
		ld->nomem = true;
		return NULL;
	}
	bool ok = true;
	for (size_t i = 0; i < n->n_items; i++) {
		const struct sh_node *item = n->items[i];
		const char *v = item->type == SH_NODE_SCALAR ? item->value : NULL;
		bool known = !allowed;
		for (size_t k = 0; allowed && v && allowed[k]; k++)
			known |= !strcmp(allowed[k], v);
		if (!v || !value_name_valid(v)) {
			sh_loader_error(ld, item,
					"%s entries must be words (letters, digits, '_', '-')",
					name);
			ok = false;
		} else if (!known) {
			char list[160] = "";
			size_t off = 0;
			for (size_t k = 0; allowed[k] && off < sizeof(list); k++)
				off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
							k ? ", " : "", allowed[k]);
			sh_loader_error(ld, item, "%s: '%s' is not one of %s", name, v, list);
			ok = false;
		} else {
			for (size_t k = 0; k < i; k++)
				if (out[k] && !strcmp(out[k], v)) {
					sh_loader_error(ld, item, "%s: '%s' is listed twice", name,
							v);
					ok = false;
				}
			out[i] = v;
		}
	}
	return ok ? out : NULL;
}

static void load_number(struct sh_loader *ld, const struct sh_node *map, const char *prefix,
			const char *key, double min, double max, double *out)
{
	char name[SH_CONFIG_NAME_MAX];
	const struct sh_node *n = sh_node_get(map, key);
	if (n && !sh_node_is_null(n)) {
		sh_loader_name(name, sizeof(name), "%s.%s", prefix, key);
		sh_node_read_double(n, name, min, max, ld->diag, out);
	}
}

/* One `name: {type: ..., ...}` of a custom device's properties. */
static bool load_property(struct sh_loader *ld, struct sh_kind_prop *p, const struct sh_node *n,
			  const char *prefix)
{
	static const char *const keys[] = {"type", "values", "min", "max", "step", "unit", NULL};
	char where[SH_CONFIG_NAME_MAX];

	sh_loader_name(where, sizeof(where), "%s.properties.%.60s", prefix, n->key);
	*p = (struct sh_kind_prop){.name = n->key, .max = 100};
	if (!value_name_valid(n->key)) {
		sh_loader_key_error(
			ld, n, "%s: a property name is a word (letters, digits, '_', '-')", where);
		return false;
	}
	if (n->type != SH_NODE_MAP) {
		sh_loader_error(ld, n,
				"%s must be a mapping, e.g. {type: enum, values: [up, down]}",
				where);
		return false;
	}
	sh_loader_check_keys(ld, n, where, keys);
	const struct sh_node *type = sh_node_get(n, "type");
	const char *t = type && type->type == SH_NODE_SCALAR ? type->value : NULL;
	if (!type) {
		sh_loader_key_error(ld, n, "missing key 'type' in %s (action, enum, number, bool)",
				    where);
		return false;
	}
	if (!t || (strcmp(t, "action") && strcmp(t, "enum") && strcmp(t, "number") &&
		   strcmp(t, "bool"))) {
		sh_loader_error(ld, type, "%s.type must be one of action, enum, number, bool",
				where);
		return false;
	}
	const struct sh_node *values = sh_node_get(n, "values");
	bool ok = true;
	if (!strcmp(t, "enum")) {
		p->type = SH_PROP_ENUM;
		char name[SH_CONFIG_NAME_MAX];
		sh_loader_name(name, sizeof(name), "%s.values", where);
		if (!values) {
			sh_loader_key_error(ld, n, "missing key 'values' in %s (an enum)", where);
			return false;
		}
		p->values = load_words(ld, values, name, NULL);
		ok = p->values != NULL;
	} else if (values) {
		sh_loader_key_error(ld, values, "%s.values applies to enum properties only", where);
		ok = false;
	}
	if (!strcmp(t, "number")) {
		p->type = SH_PROP_NUMBER;
		load_number(ld, n, where, "min", -1e9, 1e9, &p->min);
		load_number(ld, n, where, "max", -1e9, 1e9, &p->max);
		load_number(ld, n, where, "step", 0, 1e9, &p->step);
		if (p->min >= p->max) {
			sh_loader_error(ld, n, "%s: min must be below max", where);
			ok = false;
		}
		char *unit = NULL;
		sh_loader_string(ld, sh_node_get(n, "unit"), "unit", &unit);
		p->unit = unit;
	} else {
		for (size_t k = 2; keys[k]; k++) {
			const struct sh_node *extra = sh_node_get(n, keys[k]);
			if (extra) {
				sh_loader_key_error(ld, extra,
						    "%s.%s applies to number properties only",
						    where, keys[k]);
				ok = false;
			}
		}
		if (!strcmp(t, "action"))
			p->type = SH_PROP_ACTION;
		else if (!strcmp(t, "bool"))
			p->type = SH_PROP_BOOL;
	}
	return ok;
}

static void load_properties(struct sh_loader *ld, struct sh_kind_spec *spec,
			    const struct sh_node *n, const char *prefix)
{
	char name[SH_CONFIG_NAME_MAX];

	sh_loader_name(name, sizeof(name), "%s.properties", prefix);
	if (!n) {
		sh_loader_key_error(ld, ld->device_node,
				    "missing key 'properties' in %s: a custom device declares its "
				    "properties, e.g. seat: {type: enum, values: [up, down]}",
				    prefix);
		return;
	}
	if (n->type != SH_NODE_MAP || n->n_items == 0) {
		sh_loader_error(ld, n,
				"%s must be a mapping of property names, e.g. flush: {type: "
				"action}",
				name);
		return;
	}
	if (n->n_items > SH_KIND_PROPS_MAX) {
		sh_loader_error(ld, n, "%s: more than %u properties", name, SH_KIND_PROPS_MAX);
		return;
	}
	struct sh_kind_prop *props = sh_node_doc_alloc(ld->doc, n->n_items * sizeof(*props));
	if (!props) {
		ld->nomem = true;
		return;
	}
	size_t count = 0;
	for (size_t i = 0; i < n->n_items; i++)
		if (load_property(ld, &props[count], n->items[i], prefix))
			count++;
	spec->props = props;
	spec->n_props = count;
}

/* A sensor's unit and device_class against Home Assistant's table. */
static void check_sensor_class(struct sh_loader *ld, const struct sh_node *node, const char *prefix)
{
	const struct sh_node *dc = sh_node_get(node, "device_class");
	const struct sh_node *unit = sh_node_get(node, "unit");
	char units[512];

	if (!dc || dc->type != SH_NODE_SCALAR || sh_node_is_null(dc))
		return;
	const char *u = unit && unit->type == SH_NODE_SCALAR ? unit->value : NULL;
	int r = sh_kind_sensor_unit_check(dc->value, u, units, sizeof(units));
	if (r == -ENOENT) {
		if (sh_kind_binary_sensor_class(dc->value) && !u)
			return;
		sh_loader_error(ld, dc,
				"%s.device_class '%.60s' is not one of Home Assistant's sensor "
				"device classes (temperature, humidity, power, ...)%s",
				prefix, dc->value,
				sh_kind_binary_sensor_class(dc->value)
					? "; as a binary sensor class it takes no unit"
					: "");
	} else if (r < 0 && u) {
		/* Without a unit, discovery takes the reading's own (a sysfs
		 * temperature is in °C): only a unit given and wrong is refused. */
		sh_loader_error(ld, unit,
				"%s.unit '%.40s' does not fit device_class %s: Home "
				"Assistant accepts %s",
				prefix, u, dc->value, units);
	}
}

void sh_config_load_kind(struct sh_loader *ld, struct sh_device_config *d,
			 const struct sh_node *node, const char *prefix)
{
	struct sh_kind_spec *spec = &d->spec;
	char name[SH_CONFIG_NAME_MAX];

	sh_kind_spec_init(spec, d->kind);
	ld->device_node = node;
	for (size_t i = 0; i < sizeof(kind_keys) / sizeof(kind_keys[0]); i++) {
		const struct sh_node *n = sh_node_get(node, kind_keys[i].key);
		if (n && d->kind && strcmp(d->kind, kind_keys[i].kind) != 0)
			sh_loader_key_error(ld, n, "%s.%s applies to %s devices only", prefix,
					    kind_keys[i].key, kind_keys[i].kind);
	}
	if (!d->kind)
		return;
	if (!strcmp(d->kind, "climate")) {
		const struct sh_node *modes = sh_node_get(node, "modes");
		sh_loader_name(name, sizeof(name), "%s.modes", prefix);
		if (modes &&
		    (spec->modes = load_words(ld, modes, name, sh_kind_climate_modes)) == NULL)
			spec->modes = sh_kind_climate_modes;
		load_number(ld, node, prefix, "min_temp", -100, 1000, &spec->min_temp);
		load_number(ld, node, prefix, "max_temp", -100, 1000, &spec->max_temp);
		load_number(ld, node, prefix, "temperature_step", 0.01, 100,
			    &spec->temperature_step);
		if (spec->min_temp >= spec->max_temp) {
			const struct sh_node *at = sh_node_get(node, "max_temp");
			sh_loader_error(ld, at ? at : node, "%s: max_temp must be above min_temp",
					prefix);
		}
	} else if (!strcmp(d->kind, "fan")) {
		const struct sh_node *presets = sh_node_get(node, "presets");
		sh_loader_name(name, sizeof(name), "%s.presets", prefix);
		if (presets)
			spec->presets = load_words(ld, presets, name, NULL);
	} else if (!strcmp(d->kind, "button")) {
		const struct sh_node *types = sh_node_get(node, "event_types");
		sh_loader_name(name, sizeof(name), "%s.event_types", prefix);
		const char *const *t = types ? load_words(ld, types, name, NULL) : NULL;
		if (t)
			spec->event_types = t;
	} else if (!strcmp(d->kind, "custom")) {
		load_properties(ld, spec, sh_node_get(node, "properties"), prefix);
	} else if (!strcmp(d->kind, "sensor")) {
		check_sensor_class(ld, node, prefix);
	}
}
