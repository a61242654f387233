// SPDX-License-Identifier: MIT
/*
 * The discovery payload checker of ha_schema.h. The schema file names the
 * type of each key; the checks here are what those type names mean in
 * Home Assistant's validators (cv.string, cv.positive_int,
 * valid_publish_topic, valid_supported_color_modes, ...).
 */
#include "ha_schema.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctx {
	const cJSON *schema;
	char *why;
	size_t len;
};

static int fail(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->why, c->len, fmt, ap);
	va_end(ap);
	return -1;
}

cJSON *ha_schema_load(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *text = NULL;
	size_t size = 0, used = 0, n;
	char buf[4096];
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (used + n + 1 > size) {
			size = (used + n + 1) * 2;
			char *bigger = realloc(text, size);
			if (!bigger) {
				free(text);
				fclose(f);
				return NULL;
			}
			text = bigger;
		}
		memcpy(text + used, buf, n);
		used += n;
	}
	fclose(f);
	cJSON *schema = text ? cJSON_ParseWithLength(text, used) : NULL;
	free(text);
	return schema;
}

static bool is_scalar(const cJSON *v)
{
	return cJSON_IsString(v) || cJSON_IsNumber(v) || cJSON_IsBool(v);
}

static bool in_enum(const cJSON *list, const cJSON *v)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, list)
	{
		if (cJSON_IsString(e) && cJSON_IsString(v) &&
		    !strcmp(e->valuestring, v->valuestring))
			return true;
		if (cJSON_IsNumber(e) && cJSON_IsNumber(v) &&
		    fabs(e->valuedouble - v->valuedouble) < 1e-9)
			return true;
	}
	return false;
}

static int check_block(struct ctx *c, const char *what, const cJSON *spec, const cJSON *obj,
		       const cJSON *abbreviations);

static int check_color_modes(struct ctx *c, const char *key, const cJSON *v)
{
	const cJSON *known = cJSON_GetObjectItemCaseSensitive(c->schema, "color_modes");
	const cJSON *m, *o;
	int n = cJSON_GetArraySize(v);
	bool white = false;

	if (!cJSON_IsArray(v) || n == 0)
		return fail(c, "%s must be a non-empty list", key);
	cJSON_ArrayForEach(m, v)
	{
		if (!cJSON_IsString(m) || !in_enum(known, m))
			return fail(c, "%s: '%s' is not a colour mode", key,
				    cJSON_IsString(m) ? m->valuestring : "?");
		for (o = m->next; o; o = o->next)
			if (cJSON_IsString(o) && !strcmp(o->valuestring, m->valuestring))
				return fail(c, "%s: '%s' listed twice", key, m->valuestring);
		if ((!strcmp(m->valuestring, "onoff") || !strcmp(m->valuestring, "brightness")) &&
		    n > 1)
			return fail(c, "%s: %s must be the only mode", key, m->valuestring);
		white |= !strcmp(m->valuestring, "white");
	}
	if (white && n == 1)
		return fail(c, "%s: white needs another colour mode", key);
	return 0;
}

/* Checks one value against a type name or {enum}/{enum_list}. */
static int check_type(struct ctx *c, const char *key, const cJSON *type, const cJSON *v)
{
	if (cJSON_IsObject(type)) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(type, "enum");
		const cJSON *l = cJSON_GetObjectItemCaseSensitive(type, "enum_list");
		if (e && !in_enum(e, v))
			return fail(c, "%s: value not among Home Assistant's", key);
		if (l) {
			const cJSON *item;
			if (!cJSON_IsArray(v))
				return fail(c, "%s must be a list", key);
			cJSON_ArrayForEach(item, v) if (!in_enum(l, item)) return fail(
				c, "%s: '%s' is not accepted", key,
				cJSON_IsString(item) ? item->valuestring : "?");
		}
		return 0;
	}
	const char *t = type->valuestring;
	if (!strcmp(t, "string"))
		return is_scalar(v) ? 0 : fail(c, "%s must be a string", key);
	if (!strcmp(t, "name"))
		return is_scalar(v) || cJSON_IsNull(v) ? 0 : fail(c, "%s must be a string", key);
	if (!strcmp(t, "boolean"))
		return cJSON_IsBool(v) ? 0 : fail(c, "%s must be true or false", key);
	if (!strcmp(t, "number"))
		return cJSON_IsNumber(v) ? 0 : fail(c, "%s must be a number", key);
	if (!strcmp(t, "step"))
		return cJSON_IsNumber(v) && v->valuedouble >= 0.001
			       ? 0
			       : fail(c, "%s must be a number >= 0.001", key);
	if (!strcmp(t, "integer") || !strcmp(t, "positive_int")) {
		if (!cJSON_IsNumber(v) || floor(v->valuedouble) != v->valuedouble)
			return fail(c, "%s must be an integer", key);
		if (t[0] == 'p' && v->valuedouble < 0)
			return fail(c, "%s must be positive", key);
		return 0;
	}
	if (!strcmp(t, "template"))
		return cJSON_IsString(v) ? 0 : fail(c, "%s must be a template", key);
	if (!strcmp(t, "subscribe_topic") || !strcmp(t, "publish_topic")) {
		if (!cJSON_IsString(v) || !v->valuestring[0])
			return fail(c, "%s must be a topic", key);
		if (t[0] == 'p' && strpbrk(v->valuestring, "+#"))
			return fail(c, "%s: a publish topic has no wildcards", key);
		return 0;
	}
	if (!strcmp(t, "string_list") || !strcmp(t, "string_or_list")) {
		const cJSON *item;
		if (t[10] == 'o' && is_scalar(v))
			return 0;
		if (!cJSON_IsArray(v))
			return fail(c, "%s must be a list of strings", key);
		cJSON_ArrayForEach(item, v) if (!is_scalar(item)) return fail(
			c, "%s must be a list of strings", key);
		return 0;
	}
	if (!strcmp(t, "connections")) {
		const cJSON *item;
		if (!cJSON_IsArray(v))
			return fail(c, "%s must be a list of pairs", key);
		cJSON_ArrayForEach(item, v) if (cJSON_GetArraySize(item) != 2) return fail(
			c, "%s must be a list of pairs", key);
		return 0;
	}
	if (!strcmp(t, "icon"))
		return cJSON_IsString(v) && strchr(v->valuestring, ':')
			       ? 0
			       : fail(c, "%s must be an icon like mdi:name", key);
	if (!strcmp(t, "color_modes"))
		return check_color_modes(c, key, v);
	if (!strcmp(t, "device") || !strcmp(t, "origin")) {
		const cJSON *spec = cJSON_GetObjectItemCaseSensitive(c->schema, t);
		const cJSON *abbr =
			cJSON_GetObjectItemCaseSensitive(c->schema, "device_abbreviations");
		if (!cJSON_IsObject(v))
			return fail(c, "%s must be a mapping", key);
		return check_block(c, t, spec, v, abbr);
	}
	if (!strcmp(t, "availability")) {
		const cJSON *spec =
			cJSON_GetObjectItemCaseSensitive(c->schema, "availability_item");
		const cJSON *item;
		if (!cJSON_IsArray(v))
			return fail(c, "%s must be a list", key);
		cJSON_ArrayForEach(item,
				   v) if (!cJSON_IsObject(item) ||
					  check_block(c, "availability", spec, item, NULL) < 0)
		{
			if (!cJSON_IsObject(item))
				return fail(c, "%s entries must be mappings", key);
			return -1;
		}
		return 0;
	}
	return fail(c, "schema: unknown type '%s' for %s", t, key);
}

/* The key as Home Assistant reads it: abbreviations expanded. */
static const char *full_key(const cJSON *abbreviations, const char *key)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(abbreviations, key);
	return cJSON_IsString(a) ? a->valuestring : key;
}

static const cJSON *get(const cJSON *abbreviations, const cJSON *obj, const char *key)
{
	const cJSON *item;
	cJSON_ArrayForEach(
		item, obj) if (!strcmp(full_key(abbreviations, item->string), key)) return item;
	return NULL;
}

static int run_check(struct ctx *c, const char *what, const char *check, const cJSON *obj,
		     const cJSON *abbr)
{
	char buf[128], *a, *b;
	snprintf(buf, sizeof(buf), "%s", check);
	a = strchr(buf, ':');
	if (a)
		*a++ = '\0';
	b = a ? strchr(a, ':') : NULL;
	if (b)
		*b++ = '\0';
	const cJSON *x = a ? get(abbr, obj, a) : NULL;
	const cJSON *y = b ? get(abbr, obj, b) : NULL;

	if (!strcmp(buf, "min_lt_max")) {
		if (cJSON_IsNumber(x) && cJSON_IsNumber(y) && !(x->valuedouble < y->valuedouble))
			return fail(c, "%s: %s must be below %s", what, a, b);
	} else if (!strcmp(buf, "requires")) {
		if (x && !y)
			return fail(c, "%s: %s needs %s", what, a, b);
	} else if (!strcmp(buf, "differ")) {
		if (x && y && cJSON_Compare(x, y, true))
			return fail(c, "%s: %s and %s must differ", what, a, b);
	} else if (!strcmp(buf, "positive")) {
		if (cJSON_IsNumber(x) && x->valuedouble <= 0)
			return fail(c, "%s: %s must be above 0", what, a);
	} else if (!strcmp(buf, "nonempty")) {
		if (x && cJSON_GetArraySize(x) == 0)
			return fail(c, "%s: %s must not be empty", what, a);
	} else if (!strcmp(buf, "one_of")) {
		if (cJSON_GetArraySize(x) == 0 && !(x && cJSON_IsString(x)) &&
		    cJSON_GetArraySize(y) == 0)
			return fail(c, "%s: needs %s or %s", what, a, b);
	} else if (!strcmp(buf, "light_color_modes")) {
		/* The type check covers it. */
	} else if (!strcmp(buf, "sensor_unit")) {
		const cJSON *dc = get(abbr, obj, "device_class");
		const cJSON *unit = get(abbr, obj, "unit_of_measurement");
		const cJSON *table = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(c->schema, "sensor_device_class_units"),
			cJSON_IsString(dc) ? dc->valuestring : "");
		const cJSON *u;
		if (!table)
			return 0;
		cJSON_ArrayForEach(u, table)
		{
			if (cJSON_IsNull(u) && !unit)
				return 0;
			if (cJSON_IsString(u) &&
			    (!strcmp(u->valuestring, "*") ||
			     (cJSON_IsString(unit) && !strcmp(u->valuestring, unit->valuestring))))
				return 0;
		}
		return fail(c, "%s: unit %s does not fit device_class %s", what,
			    cJSON_IsString(unit) ? unit->valuestring : "(none)", dc->valuestring);
	} else {
		return fail(c, "schema: unknown check '%s'", check);
	}
	return 0;
}

static int check_block(struct ctx *c, const char *what, const cJSON *spec, const cJSON *obj,
		       const cJSON *abbr)
{
	const cJSON *keys = cJSON_GetObjectItemCaseSensitive(spec, "keys");
	const cJSON *common =
		strcmp(what, "device") && strcmp(what, "origin") && strcmp(what, "availability")
			? cJSON_GetObjectItemCaseSensitive(c->schema, "common")
			: NULL;
	const cJSON *item;

	cJSON_ArrayForEach(item, obj)
	{
		const char *key = full_key(abbr, item->string);
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(keys, key);
		if (!type)
			type = cJSON_GetObjectItemCaseSensitive(common, key);
		if (!type)
			return fail(c, "%s: unknown key '%s'", what, key);
		if (check_type(c, key, type, item) < 0) {
			char inner[512];
			snprintf(inner, sizeof(inner), "%s", c->why);
			return fail(c, "%s: %s", what, inner);
		}
	}
	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(spec, "required"))
	{
		if (!get(abbr, obj, item->valuestring))
			return fail(c, "%s: missing required key '%s'", what, item->valuestring);
	}
	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(spec, "checks"))
	{
		if (run_check(c, what, item->valuestring, obj, abbr) < 0)
			return -1;
	}
	return 0;
}

int ha_schema_check(const cJSON *schema, const char *topic, const cJSON *payload, char *why,
		    size_t why_len)
{
	struct ctx c = {.schema = schema, .why = why, .len = why_len};
	char component[64] = "";
	const char *slash = strchr(topic, '/');
	const char *end = slash ? strchr(slash + 1, '/') : NULL;
	size_t levels = 0;

	for (const char *p = topic; *p; p++)
		levels += *p == '/';
	if (!slash || !end || (size_t)(end - slash - 1) >= sizeof(component))
		return fail(&c, "%s: not a discovery topic", topic);
	memcpy(component, slash + 1, (size_t)(end - slash - 1));
	if ((levels != 3 && levels != 4) || strcmp(strrchr(topic, '/'), "/config") != 0)
		return fail(&c, "%s: not <prefix>/<component>/<node>/[<object>/]config", topic);
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(schema, "components"), component);
	if (!spec)
		return fail(&c, "%s: component '%s' unknown to the schema", topic, component);
	if (!cJSON_IsObject(payload))
		return fail(&c, "%s: the payload must be a JSON object", topic);
	return check_block(&c, component, spec, payload,
			   cJSON_GetObjectItemCaseSensitive(schema, "abbreviations"));
}
