// SPDX-License-Identifier: MIT
/*
 * Device kinds and their command properties. One table describes every
 * property a command may carry; validation, TOGGLE resolution and the
 * property lists published on bridge/devices all read it, so adding a
 * property is one line here.
 */
#include "kinds/kind.h"

#include "util/log.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

const char *const sh_kinds[] = {"light", "switch", "speaker", "sensor", NULL};

enum prop_type {
	PROP_STATE,   /* "ON", "OFF", "TOGGLE" */
	PROP_NUMBER,  /* a number within [min, max] */
	PROP_INTEGER, /* an integral number within [min, max] */
	PROP_STRING,  /* a non-empty string */
	PROP_TRUE,    /* an action: true (false is accepted and does nothing) */
	PROP_BOOL,
	PROP_COLOR, /* {"r","g","b"} each 0..255 */
};

struct prop {
	const char *name;
	enum prop_type type;
	double min, max;
};

#define STATE_PROP                                                                                 \
	{                                                                                          \
		"state", PROP_STATE, 0, 0                                                          \
	}

static const struct prop light_props[] = {
	STATE_PROP,
	{"brightness", PROP_INTEGER, 0, 255},
	{"color_temp", PROP_INTEGER, 153, 500},
	{"color", PROP_COLOR, 0, 255},
	{"transition", PROP_NUMBER, 0, 60},
	{NULL, 0, 0, 0},
};

static const struct prop switch_props[] = {
	STATE_PROP,
	{NULL, 0, 0, 0},
};

static const struct prop speaker_props[] = {
	STATE_PROP,
	{"volume", PROP_INTEGER, 0, 100},
	{"play", PROP_STRING, 0, 0},
	{"pause", PROP_TRUE, 0, 0},
	{"stop", PROP_TRUE, 0, 0},
	{"next", PROP_TRUE, 0, 0},
	{"previous", PROP_TRUE, 0, 0},
	{"mute", PROP_BOOL, 0, 0},
	{NULL, 0, 0, 0},
};

static const struct prop sensor_props[] = {
	{NULL, 0, 0, 0},
};

static const struct prop *kind_props(const char *kind)
{
	if (!kind)
		return NULL;
	if (strcmp(kind, "light") == 0)
		return light_props;
	if (strcmp(kind, "switch") == 0)
		return switch_props;
	if (strcmp(kind, "speaker") == 0)
		return speaker_props;
	if (strcmp(kind, "sensor") == 0)
		return sensor_props;
	return NULL;
}

bool sh_kind_known(const char *kind)
{
	return kind_props(kind) != NULL;
}

bool sh_kind_switch_like(const char *kind)
{
	const struct prop *p = kind_props(kind);
	return p && p[0].name && p[0].type == PROP_STATE;
}

static const struct prop *find_prop(const struct prop *props, const char *name)
{
	for (; props->name; props++)
		if (strcmp(props->name, name) == 0)
			return props;
	return NULL;
}

static bool in_range(const cJSON *item, double min, double max, bool integral)
{
	if (!cJSON_IsNumber(item))
		return false;
	double v = item->valuedouble;
	if (isnan(v) || v < min || v > max)
		return false;
	return !integral || floor(v) == v;
}

static bool color_valid(const cJSON *item)
{
	static const char *const channels[] = {"r", "g", "b"};
	if (!cJSON_IsObject(item))
		return false;
	int seen = 0;
	const cJSON *member;
	cJSON_ArrayForEach(member, item)
	{
		bool known = false;
		for (int i = 0; i < 3; i++)
			if (member->string && strcmp(member->string, channels[i]) == 0)
				known = true;
		if (!known || !in_range(member, 0, 255, true))
			return false;
		seen++;
	}
	return seen == 3;
}

static int check_prop(const struct prop *p, const cJSON *item, char *reason, size_t len)
{
	switch (p->type) {
	case PROP_STATE:
		if (cJSON_IsString(item) && (strcmp(item->valuestring, "ON") == 0 ||
					     strcmp(item->valuestring, "OFF") == 0 ||
					     strcmp(item->valuestring, "TOGGLE") == 0))
			return 0;
		snprintf(reason, len, "state must be \"ON\", \"OFF\" or \"TOGGLE\"");
		return -EINVAL;
	case PROP_NUMBER:
	case PROP_INTEGER:
		if (in_range(item, p->min, p->max, p->type == PROP_INTEGER))
			return 0;
		snprintf(reason, len, "%s must be %s from %g to %g", p->name,
			 p->type == PROP_INTEGER ? "an integer" : "a number", p->min, p->max);
		return -EINVAL;
	case PROP_STRING:
		if (cJSON_IsString(item) && item->valuestring[0])
			return 0;
		snprintf(reason, len, "%s must be a non-empty string", p->name);
		return -EINVAL;
	case PROP_TRUE:
	case PROP_BOOL:
		if (cJSON_IsBool(item))
			return 0;
		snprintf(reason, len, "%s must be true or false", p->name);
		return -EINVAL;
	case PROP_COLOR:
		if (color_valid(item))
			return 0;
		snprintf(reason, len,
			 "color must be {\"r\",\"g\",\"b\"} with integers from 0 to 255");
		return -EINVAL;
	}
	return -EINVAL;
}

int sh_kind_validate(const char *kind, const cJSON *command, char *reason, size_t reason_len)
{
	const struct prop *props = kind_props(kind);
	if (!props) {
		snprintf(reason, reason_len, "unknown device kind '%s'", kind ? kind : "");
		return -EINVAL;
	}
	if (!props[0].name) {
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
		const struct prop *p = item->string ? find_prop(props, item->string) : NULL;
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

void sh_kind_resolve_toggle(cJSON *command, const cJSON *current)
{
	cJSON *state = cJSON_GetObjectItemCaseSensitive(command, "state");
	if (!cJSON_IsString(state) || strcmp(state->valuestring, "TOGGLE") != 0)
		return;
	const cJSON *now = cJSON_GetObjectItemCaseSensitive(current, "state");
	bool on = cJSON_IsString(now) && strcmp(now->valuestring, "ON") == 0;
	cJSON_ReplaceItemInObjectCaseSensitive(command, "state",
					       cJSON_CreateString(on ? "OFF" : "ON"));
}

static const char *prop_type_name(enum prop_type type)
{
	switch (type) {
	case PROP_STATE:
		return "enum";
	case PROP_NUMBER:
		return "number";
	case PROP_INTEGER:
		return "integer";
	case PROP_STRING:
		return "string";
	case PROP_TRUE:
		return "action";
	case PROP_BOOL:
		return "boolean";
	case PROP_COLOR:
		return "color";
	}
	return "unknown";
}

cJSON *sh_kind_properties_json(const char *kind)
{
	const struct prop *props = kind_props(kind);
	cJSON *list = cJSON_CreateArray();
	if (!list || !props)
		return list;
	for (const struct prop *p = props; p->name; p++) {
		cJSON *o = cJSON_CreateObject();
		if (!o)
			break;
		cJSON_AddStringToObject(o, "name", p->name);
		cJSON_AddStringToObject(o, "type", prop_type_name(p->type));
		if (p->type == PROP_NUMBER || p->type == PROP_INTEGER || p->type == PROP_COLOR) {
			cJSON_AddNumberToObject(o, "min", p->min);
			cJSON_AddNumberToObject(o, "max", p->max);
		} else if (p->type == PROP_STATE) {
			const char *values[] = {"ON", "OFF", "TOGGLE"};
			cJSON_AddItemToObject(o, "values", cJSON_CreateStringArray(values, 3));
		}
		cJSON_AddItemToArray(list, o);
	}
	return list;
}
