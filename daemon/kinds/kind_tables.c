// SPDX-License-Identifier: MIT
/*
 * One table per device kind: every property a command may carry, its type
 * and its range. Validation, normalisation, bridge/devices and Home
 * Assistant discovery all read these, so adding a property is one line.
 * The options of a device (struct sh_kind_spec) fill in what a table
 * leaves to the device: climate modes and temperatures, fan presets, and
 * the whole table of a custom device.
 */
#include "kinds/kind.h"

#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *const on_off_toggle[] = {"ON", "OFF", "TOGGLE", NULL};
static const char *const cover_states[] = {"OPEN", "CLOSE", "STOP", NULL};
static const char *const lock_states[] = {"LOCK", "UNLOCK", NULL};
const char *const sh_kind_climate_modes[] = {"off", "heat", "cool", "auto", "fan_only", NULL};
static const char *const no_values[] = {NULL};
static const char *const button_events[] = {"single", "double", "hold", NULL};

#define STATE(list)                                                                                \
	{                                                                                          \
		.name = "state", .type = SH_PROP_ENUM, .values = (list)                            \
	}

/* HA allows transitions up to 6553 s (a 16-bit count of tenths). */
static const struct sh_kind_prop light_props[] = {
	STATE(on_off_toggle),
	{.name = "brightness", .type = SH_PROP_INTEGER, .max = 255},
	{.name = "color_temp", .type = SH_PROP_INTEGER, .min = 153, .max = 500},
	{.name = "color", .type = SH_PROP_COLOR, .max = 255},
	{.name = "transition", .type = SH_PROP_NUMBER, .max = 6553},
	{.name = "flash", .type = SH_PROP_NUMBER, .max = 60},
};

static const struct sh_kind_prop switch_props[] = {
	STATE(on_off_toggle),
};

/* Home Assistant's number entity sends 30.5 as readily as 30. */
static const struct sh_kind_prop speaker_props[] = {
	STATE(on_off_toggle),
	{.name = "volume", .type = SH_PROP_INTEGER, .max = 100, .round = true},
	{.name = "play", .type = SH_PROP_STRING, .round = true}, /* true: resume */
	{.name = "pause", .type = SH_PROP_ACTION},
	{.name = "stop", .type = SH_PROP_ACTION},
	{.name = "next", .type = SH_PROP_ACTION},
	{.name = "previous", .type = SH_PROP_ACTION},
	{.name = "mute", .type = SH_PROP_BOOL},
};

static const struct sh_kind_prop cover_props[] = {
	STATE(cover_states),
	{.name = "position", .type = SH_PROP_INTEGER, .max = 100, .round = true},
	{.name = "tilt", .type = SH_PROP_INTEGER, .max = 100, .round = true},
};

static const struct sh_kind_prop lock_props[] = {
	STATE(lock_states),
};

/* mode's values and target_temperature's range come from the device. */
static const struct sh_kind_prop climate_props[] = {
	{.name = "mode", .type = SH_PROP_ENUM},
	{.name = "target_temperature", .type = SH_PROP_NUMBER},
};

/* preset's values come from the device. */
static const struct sh_kind_prop fan_props[] = {
	STATE(on_off_toggle),
	{.name = "percentage", .type = SH_PROP_INTEGER, .max = 100, .round = true},
	{.name = "preset", .type = SH_PROP_ENUM},
};

struct kind_table {
	const char *kind;
	const struct sh_kind_prop *props;
	size_t n_props;
	bool switch_like;
};

static const struct kind_table tables[] = {
	{"light", light_props, ARRAY_LEN(light_props), true},
	{"switch", switch_props, ARRAY_LEN(switch_props), true},
	{"speaker", speaker_props, ARRAY_LEN(speaker_props), true},
	{"sensor", NULL, 0, false},
	{"cover", cover_props, ARRAY_LEN(cover_props), false},
	{"lock", lock_props, ARRAY_LEN(lock_props), false},
	{"climate", climate_props, ARRAY_LEN(climate_props), false},
	{"fan", fan_props, ARRAY_LEN(fan_props), true},
	{"button", NULL, 0, false},
	{"custom", NULL, 0, false},
};

const char *const sh_kinds[] = {"light",   "switch", "speaker", "sensor", "cover", "lock",
				"climate", "fan",    "button",  "custom", NULL};

static const struct kind_table *table_of(const char *kind)
{
	for (size_t i = 0; kind && i < ARRAY_LEN(tables); i++)
		if (strcmp(tables[i].kind, kind) == 0)
			return &tables[i];
	return NULL;
}

bool sh_kind_known(const char *kind)
{
	return table_of(kind) != NULL;
}

bool sh_kind_switch_like(const char *kind)
{
	const struct kind_table *t = table_of(kind);
	return t && t->switch_like;
}

void sh_kind_spec_init(struct sh_kind_spec *spec, const char *kind)
{
	*spec = (struct sh_kind_spec){
		.kind = kind,
		.modes = sh_kind_climate_modes,
		.presets = no_values,
		.min_temp = 7,
		.max_temp = 35,
		.temperature_step = 0.5,
		.event_types = button_events,
	};
}

bool sh_kind_event_declared(const struct sh_kind_spec *spec, const char *type)
{
	if (!spec->kind || strcmp(spec->kind, "button") != 0)
		return true;
	for (size_t i = 0; spec->event_types && spec->event_types[i]; i++)
		if (strcmp(spec->event_types[i], type) == 0)
			return true;
	return false;
}

size_t sh_kind_props(const struct sh_kind_spec *spec, struct sh_kind_prop *out, size_t max)
{
	const struct kind_table *t = table_of(spec->kind);
	const struct sh_kind_prop *props = t ? t->props : NULL;
	size_t n = t ? t->n_props : 0;

	if (t && strcmp(t->kind, "custom") == 0) {
		props = spec->props;
		n = spec->n_props;
	}
	for (size_t i = 0; i < n && i < max; i++) {
		out[i] = props[i];
		bool climate = strcmp(t->kind, "climate") == 0;
		if (climate && strcmp(out[i].name, "mode") == 0) {
			out[i].values = spec->modes ? spec->modes : sh_kind_climate_modes;
		} else if (strcmp(t->kind, "fan") == 0 && strcmp(out[i].name, "preset") == 0) {
			out[i].values = spec->presets ? spec->presets : no_values;
		} else if (climate && strcmp(out[i].name, "target_temperature") == 0) {
			out[i].min = spec->min_temp;
			out[i].max = spec->max_temp;
			out[i].step = spec->temperature_step;
		}
	}
	return n;
}
