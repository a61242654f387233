// SPDX-License-Identifier: MIT
/*
 * Checking and normalising commands against a device's property list
 * (kind_tables.c builds it from the kind's table and the device's
 * options), and the list as JSON for bridge/devices.
 */
#include "kinds/kind.h"

#include "util/log.h"
#include "util/macros.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Enough for every built-in table and the largest custom device. */
#define PROPS_BUF SH_KIND_PROPS_MAX

static const struct sh_kind_prop *find_prop(const struct sh_kind_prop *props, size_t n,
					    const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(props[i].name, name) == 0)
			return &props[i];
	return NULL;
}

/* The canonical spelling of `text` among `values` (any case), or NULL. */
static const char *enum_value(const char *const *values, const char *text)
{
	for (size_t i = 0; values && values[i]; i++)
		if (strcasecmp(values[i], text) == 0)
			return values[i];
	return NULL;
}

static bool in_range(const struct sh_kind_prop *p, const cJSON *item)
{
	if (!cJSON_IsNumber(item))
		return false;
	double v = item->valuedouble;
	if (isnan(v))
		return false;
	if (p->type == SH_PROP_INTEGER && p->round)
		v = round(v);
	if (v < p->min || v > p->max)
		return false;
	if (p->type == SH_PROP_INTEGER)
		return floor(v) == v;
	if (p->step > 0) {
		/* 21.5 in 0.5 steps from 7 is 29 steps; allow for binary
		 * fractions such as 0.1. */
		double steps = (v - p->min) / p->step;
		return fabs(steps - round(steps)) < 1e-6;
	}
	return true;
}

/* Each of r, g and b exactly once, and nothing else: cJSON keeps duplicate
 * keys, so counting members would let {"r":1,"r":2,"r":3} through and a
 * driver would then read a missing "g". */
static bool color_valid(const cJSON *item)
{
	static const char *const channels[] = {"r", "g", "b"};
	static const struct sh_kind_prop channel = {.type = SH_PROP_INTEGER, .max = 255};
	if (!cJSON_IsObject(item))
		return false;
	unsigned seen = 0;
	const cJSON *member;
	cJSON_ArrayForEach(member, item)
	{
		unsigned bit = 0;
		for (unsigned i = 0; i < 3; i++)
			if (member->string && strcmp(member->string, channels[i]) == 0)
				bit = 1u << i;
		if (!bit || (seen & bit) || !in_range(&channel, member))
			return false;
		seen |= bit;
	}
	return seen == 7;
}

/* "\"ON\", \"OFF\" or \"TOGGLE\"" */
static void values_text(const char *const *values, char *buf, size_t len)
{
	size_t off = 0, n = 0;
	buf[0] = '\0';
	while (values && values[n])
		n++;
	for (size_t i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s\"%s\"",
					i == 0       ? ""
					: i + 1 == n ? " or "
						     : ", ",
					values[i]);
}

static int check_prop(const struct sh_kind_prop *p, const cJSON *item, char *reason, size_t len)
{
	char values[256];

	switch (p->type) {
	case SH_PROP_ENUM:
		if (cJSON_IsString(item) && enum_value(p->values, item->valuestring))
			return 0;
		if (!p->values || !p->values[0]) {
			snprintf(reason, len, "%s: the device declares no values", p->name);
			return -EINVAL;
		}
		values_text(p->values, values, sizeof(values));
		snprintf(reason, len, "%s must be %s", p->name, values);
		return -EINVAL;
	case SH_PROP_NUMBER:
	case SH_PROP_INTEGER:
		if (in_range(p, item))
			return 0;
		if (p->step > 0)
			snprintf(reason, len, "%s must be a number from %g to %g in steps of %g",
				 p->name, p->min, p->max, p->step);
		else
			snprintf(reason, len, "%s must be %s from %g to %g", p->name,
				 p->type == SH_PROP_INTEGER ? "an integer" : "a number", p->min,
				 p->max);
		return -EINVAL;
	case SH_PROP_STRING:
		if (cJSON_IsString(item) && item->valuestring[0])
			return 0;
		if (p->round && cJSON_IsTrue(item))
			return 0;
		snprintf(reason, len, "%s must be a non-empty string%s", p->name,
			 p->round ? " (or true)" : "");
		return -EINVAL;
	case SH_PROP_ACTION:
	case SH_PROP_BOOL:
		if (cJSON_IsBool(item))
			return 0;
		snprintf(reason, len, "%s must be true or false", p->name);
		return -EINVAL;
	case SH_PROP_COLOR:
		if (color_valid(item))
			return 0;
		snprintf(reason, len,
			 "color must be {\"r\",\"g\",\"b\"}, each once, integers from 0 to 255");
		return -EINVAL;
	}
	return -EINVAL;
}

int sh_kind_check(const struct sh_kind_spec *spec, const cJSON *command, char *reason,
		  size_t reason_len)
{
	struct sh_kind_prop props[PROPS_BUF];
	const char *kind = spec->kind;

	if (!sh_kind_known(kind)) {
		snprintf(reason, reason_len, "unknown device kind '%s'", kind ? kind : "");
		return -EINVAL;
	}
	size_t n = sh_kind_props(spec, props, PROPS_BUF);
	if (n > PROPS_BUF)
		n = PROPS_BUF;
	if (n == 0) {
		if (strcmp(kind, "button") == 0)
			snprintf(reason, reason_len,
				 "a button takes no commands (its presses are events)");
		else
			snprintf(reason, reason_len, "a %s takes no commands", kind);
		return -EINVAL;
	}
	if (!cJSON_IsObject(command)) {
		snprintf(reason, reason_len, "a command must be a JSON object");
		return -EINVAL;
	}
	if (!command->child) {
		snprintf(reason, reason_len, "the command is empty");
		return -EINVAL;
	}
	const cJSON *item;
	cJSON_ArrayForEach(item, command)
	{
		const struct sh_kind_prop *p =
			item->string ? find_prop(props, n, item->string) : NULL;
		if (!p) {
			/* The key is the sender's: quoted and escaped, and cut short. */
			char key[64 * 4 + 8];
			snprintf(reason, reason_len, "unknown property %s for a %s",
				 sh_log_quote(key, sizeof(key), item->string, 64), kind);
			return -EINVAL;
		}
		int r = check_prop(p, item, reason, reason_len);
		if (r < 0)
			return r;
	}
	return 0;
}

int sh_kind_validate(const char *kind, const cJSON *command, char *reason, size_t reason_len)
{
	struct sh_kind_spec spec;
	sh_kind_spec_init(&spec, kind);
	return sh_kind_check(&spec, command, reason, reason_len);
}

void sh_kind_normalize(const struct sh_kind_spec *spec, cJSON *command, const cJSON *current)
{
	struct sh_kind_prop props[PROPS_BUF];
	size_t n = sh_kind_props(spec, props, PROPS_BUF);
	if (n > PROPS_BUF)
		n = PROPS_BUF;
	cJSON *item;
	cJSON_ArrayForEach(item, command)
	{
		const struct sh_kind_prop *p =
			item->string ? find_prop(props, n, item->string) : NULL;
		if (!p)
			continue;
		if (p->type == SH_PROP_ENUM && cJSON_IsString(item)) {
			const char *canon = enum_value(p->values, item->valuestring);
			if (canon && strcmp(canon, item->valuestring) != 0)
				cJSON_SetValuestring(item, canon);
		} else if (p->type == SH_PROP_INTEGER && p->round && cJSON_IsNumber(item)) {
			cJSON_SetNumberHelper(item, round(item->valuedouble));
		}
	}
	sh_kind_resolve_toggle(command, current);
}

void sh_kind_resolve_toggle(cJSON *command, const cJSON *current)
{
	cJSON *state = cJSON_GetObjectItemCaseSensitive(command, "state");
	if (!cJSON_IsString(state))
		return;
	if (strcasecmp(state->valuestring, "on") == 0 ||
	    strcasecmp(state->valuestring, "off") == 0) {
		bool on = strcasecmp(state->valuestring, "on") == 0;
		if (strcmp(state->valuestring, on ? "ON" : "OFF") != 0)
			cJSON_SetValuestring(state, on ? "ON" : "OFF");
		return;
	}
	if (strcasecmp(state->valuestring, "TOGGLE") != 0)
		return;
	const cJSON *now = cJSON_GetObjectItemCaseSensitive(current, "state");
	bool on = cJSON_IsString(now) && strcmp(now->valuestring, "ON") == 0;
	cJSON_ReplaceItemInObjectCaseSensitive(command, "state",
					       cJSON_CreateString(on ? "OFF" : "ON"));
}

/* An action happens each time it is sent: a true (pause, next...), a
 * string naming what to do (play), or an enum value that is a momentary
 * command rather than a state (TOGGLE, a cover's STOP). */
static bool is_action(const struct sh_kind_prop *p, const cJSON *item)
{
	if (p->type == SH_PROP_ACTION || p->type == SH_PROP_STRING)
		return true;
	return p->type == SH_PROP_ENUM && cJSON_IsString(item) &&
	       (strcasecmp(item->valuestring, "TOGGLE") == 0 ||
		strcasecmp(item->valuestring, "STOP") == 0);
}

bool sh_kind_settable(const struct sh_kind_spec *spec, const cJSON *command)
{
	struct sh_kind_prop props[PROPS_BUF];
	size_t n = sh_kind_props(spec, props, PROPS_BUF);
	const cJSON *item;

	if (n > PROPS_BUF)
		n = PROPS_BUF;
	if (!cJSON_IsObject(command))
		return false;
	cJSON_ArrayForEach(item, command)
	{
		const struct sh_kind_prop *p =
			item->string ? find_prop(props, n, item->string) : NULL;

		if (!p || is_action(p, item))
			return false;
	}
	return true;
}

/* Properties of which a command keeps only the newest: a light shows
 * either an RGB color or a white temperature. */
static const char *const exclusive_props[][2] = {
	{"color", "color_temp"},
};

int sh_kind_merge(const struct sh_kind_spec *spec, cJSON *older, const cJSON *newer)
{
	const cJSON *item;

	(void)spec; /* the exclusions hold for every kind that has the properties */
	cJSON_ArrayForEach(item, newer)
	{
		cJSON *copy;

		if (!item->string)
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(exclusive_props); i++)
			for (int k = 0; k < 2; k++)
				if (strcmp(item->string, exclusive_props[i][k]) == 0)
					cJSON_DeleteItemFromObjectCaseSensitive(
						older, exclusive_props[i][1 - k]);
		copy = cJSON_Duplicate(item, true);
		if (!copy)
			return -ENOMEM;
		if (cJSON_GetObjectItemCaseSensitive(older, item->string))
			cJSON_ReplaceItemInObjectCaseSensitive(older, item->string, copy);
		else
			cJSON_AddItemToObject(older, item->string, copy);
	}
	return 0;
}

static const char *prop_type_name(enum sh_prop_type type)
{
	switch (type) {
	case SH_PROP_ENUM:
		return "enum";
	case SH_PROP_NUMBER:
		return "number";
	case SH_PROP_INTEGER:
		return "integer";
	case SH_PROP_STRING:
		return "string";
	case SH_PROP_ACTION:
		return "action";
	case SH_PROP_BOOL:
		return "boolean";
	case SH_PROP_COLOR:
		return "color";
	}
	return "unknown";
}

cJSON *sh_kind_spec_properties_json(const struct sh_kind_spec *spec)
{
	struct sh_kind_prop props[PROPS_BUF];
	size_t n = sh_kind_props(spec, props, PROPS_BUF);
	cJSON *list = cJSON_CreateArray();
	if (!list)
		return NULL;
	for (size_t i = 0; i < n && i < PROPS_BUF; i++) {
		const struct sh_kind_prop *p = &props[i];
		cJSON *o = cJSON_CreateObject();
		if (!o)
			break;
		cJSON_AddStringToObject(o, "name", p->name);
		cJSON_AddStringToObject(o, "type", prop_type_name(p->type));
		if (p->type == SH_PROP_NUMBER || p->type == SH_PROP_INTEGER ||
		    p->type == SH_PROP_COLOR) {
			cJSON_AddNumberToObject(o, "min", p->min);
			cJSON_AddNumberToObject(o, "max", p->max);
			if (p->step > 0)
				cJSON_AddNumberToObject(o, "step", p->step);
			if (p->unit)
				cJSON_AddStringToObject(o, "unit", p->unit);
		} else if (p->type == SH_PROP_ENUM) {
			cJSON *values = cJSON_AddArrayToObject(o, "values");
			for (size_t k = 0; p->values && p->values[k]; k++)
				cJSON_AddItemToArray(values, cJSON_CreateString(p->values[k]));
		}
		cJSON_AddItemToArray(list, o);
	}
	return list;
}

cJSON *sh_kind_properties_json(const char *kind)
{
	struct sh_kind_spec spec;
	sh_kind_spec_init(&spec, kind);
	return sh_kind_spec_properties_json(&spec);
}
