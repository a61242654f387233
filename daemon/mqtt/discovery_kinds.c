// SPDX-License-Identifier: MIT
/*
 * Home Assistant discovery of the kinds of issue 19 (see kinds/kind.h):
 *
 *   cover   -> one `cover`: state, position and tilt read from the JSON
 *              state, commands as JSON on <id>/set
 *   lock    -> one `lock`
 *   climate -> one `climate`: mode, target and current temperature, action
 *   fan     -> one `fan`: on/off, percentage, preset modes
 *   button  -> one `event` (HA's MQTT event platform) with event_types,
 *              reading the unretained <id>/event
 *   custom  -> per declared property: action -> `button`, enum ->
 *              `select`, number -> `number`, bool -> `switch`
 *
 * Each kind but custom is a table of its payload's members, in the order
 * they go out (tests/unit/test_discovery_kinds.c pins the text). Every
 * payload here is checked against tests/ha-schema, written from Home
 * Assistant's own platform schemas.
 */
#include "mqtt/discovery_internal.h"
#include "util/macros.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static void add_string(cJSON *e, const char *key, const char *value)
{
	cJSON_AddStringToObject(e, key, value);
}

/* `{"<key>": {{ <var> }} }`: a number HA fills into a JSON command. */
static void number_command(cJSON *e, const char *field, const char *key, const char *var)
{
	char buf[160];
	snprintf(buf, sizeof(buf), "{\"%s\": {{ %s }} }", key, var);
	add_string(e, field, buf);
}

static cJSON *string_list(const char *const *values)
{
	cJSON *list = cJSON_CreateArray();
	for (size_t i = 0; list && values && values[i]; i++)
		cJSON_AddItemToArray(list, cJSON_CreateString(values[i]));
	return list;
}

/*
 * The payloads of the kinds but custom are tables of members, added in
 * order: a fixed text or number, one of the device's topics (its state
 * topic, or <id>/<leaf>), or a number or list of the kind's options (a
 * table with those needs a spec).
 */
enum member_type {
	MEMBER_TEXT,        /* text */
	MEMBER_TOPIC,       /* <base>/<id>, or <base>/<id>/<text> */
	MEMBER_NUMBER,      /* number */
	MEMBER_SPEC_NUMBER, /* the double at `spec` + offset */
	MEMBER_SPEC_LIST,   /* the NULL-terminated strings at `spec` + offset */
};

struct member {
	const char *key;
	enum member_type type;
	const char *text;
	double number;
	size_t offset;
};

/* A member's initializer, inside the braces of a table's entry. */
#define TEXT(k, v) .key = (k), .type = MEMBER_TEXT, .text = (v)
#define TOPIC(k, leaf) .key = (k), .type = MEMBER_TOPIC, .text = (leaf)
#define STATE_TOPIC(k) TOPIC(k, NULL)
#define SET_TOPIC(k) TOPIC(k, "set")
#define NUMBER(k, n) .key = (k), .type = MEMBER_NUMBER, .number = (n)
#define SPEC_NUMBER(k, field)                                                                      \
	.key = (k), .type = MEMBER_SPEC_NUMBER, .offset = offsetof(struct sh_kind_spec, field)
#define SPEC_LIST(k, field)                                                                        \
	.key = (k), .type = MEMBER_SPEC_LIST, .offset = offsetof(struct sh_kind_spec, field)

static void add_members(cJSON *e, const struct sh_discovery_opts *opts,
			const struct sh_discovery_device *dev, const struct sh_kind_spec *spec,
			const struct member *members, size_t n)
{
	char topic[512];

	for (size_t i = 0; i < n; i++) {
		const struct member *m = &members[i];

		switch (m->type) {
		case MEMBER_TEXT:
			add_string(e, m->key, m->text);
			break;
		case MEMBER_TOPIC:
			snprintf(topic, sizeof(topic), "%s/%s%s%s", opts->base_topic, dev->id,
				 m->text ? "/" : "", m->text ? m->text : "");
			add_string(e, m->key, topic);
			break;
		case MEMBER_NUMBER:
			cJSON_AddNumberToObject(e, m->key, m->number);
			break;
		case MEMBER_SPEC_NUMBER: {
			const double *number = (const void *)((const char *)spec + m->offset);
			cJSON_AddNumberToObject(e, m->key, *number);
			break;
		}
		case MEMBER_SPEC_LIST: {
			const char *const *const *list =
				(const void *)((const char *)spec + m->offset);
			cJSON_AddItemToObject(e, m->key, string_list(*list));
			break;
		}
		}
	}
}

static const struct member cover_members[] = {
	{STATE_TOPIC("state_topic")},
	{TEXT("value_template", "{{ value_json.state }}")},
	{TEXT("state_open", "open")},
	{TEXT("state_opening", "opening")},
	{TEXT("state_closed", "closed")},
	{TEXT("state_closing", "closing")},
	{TEXT("state_stopped", "stopped")},
	{SET_TOPIC("command_topic")},
	{TEXT("payload_open", "{\"state\": \"OPEN\"}")},
	{TEXT("payload_close", "{\"state\": \"CLOSE\"}")},
	{TEXT("payload_stop", "{\"state\": \"STOP\"}")},
	{STATE_TOPIC("position_topic")},
	{TEXT("position_template", "{{ value_json.position }}")},
	{SET_TOPIC("set_position_topic")},
	{TEXT("set_position_template", "{\"position\": {{ position }} }")},
	{NUMBER("position_open", 100)},
	{NUMBER("position_closed", 0)},
	{STATE_TOPIC("tilt_status_topic")},
	{TEXT("tilt_status_template", "{{ value_json.tilt }}")},
	{SET_TOPIC("tilt_command_topic")},
	{TEXT("tilt_command_template", "{\"tilt\": {{ tilt_position }} }")},
	{NUMBER("tilt_min", 0)},
	{NUMBER("tilt_max", 100)},
};

/* After the state and command topics of sh_discovery_control. */
static const struct member lock_members[] = {
	{TEXT("value_template", "{{ value_json.state }}")},
	{TEXT("payload_lock", "{\"state\": \"LOCK\"}")},
	{TEXT("payload_unlock", "{\"state\": \"UNLOCK\"}")},
	{TEXT("state_locked", "LOCKED")},
	{TEXT("state_unlocked", "UNLOCKED")},
	{TEXT("state_jammed", "JAMMED")},
};

static const struct member climate_members[] = {
	{SPEC_LIST("modes", modes)},
	{STATE_TOPIC("mode_state_topic")},
	{TEXT("mode_state_template", "{{ value_json.mode }}")},
	{SET_TOPIC("mode_command_topic")},
	{TEXT("mode_command_template", "{\"mode\": \"{{ value }}\"}")},
	{STATE_TOPIC("temperature_state_topic")},
	{TEXT("temperature_state_template", "{{ value_json.target_temperature }}")},
	{SET_TOPIC("temperature_command_topic")},
	{TEXT("temperature_command_template", "{\"target_temperature\": {{ value }} }")},
	{STATE_TOPIC("current_temperature_topic")},
	{TEXT("current_temperature_template", "{{ value_json.current_temperature }}")},
	{STATE_TOPIC("action_topic")},
	{TEXT("action_template", "{{ value_json.action }}")},
	{SPEC_NUMBER("min_temp", min_temp)},
	{SPEC_NUMBER("max_temp", max_temp)},
	{SPEC_NUMBER("temp_step", temperature_step)},
	{TEXT("temperature_unit", "C")},
	/* HA offers precision 0.1, 0.5 and 1 only. */
	{NUMBER("precision", 0.1)},
};

static const struct member fan_members[] = {
	{STATE_TOPIC("state_topic")},
	{TEXT("state_value_template", "{{ value_json.state }}")},
	{SET_TOPIC("command_topic")},
	{TEXT("command_template", "{\"state\": \"{{ value }}\"}")},
	{TEXT("payload_on", "ON")},
	{TEXT("payload_off", "OFF")},
	{STATE_TOPIC("percentage_state_topic")},
	{TEXT("percentage_value_template", "{{ value_json.percentage }}")},
	{SET_TOPIC("percentage_command_topic")},
	{TEXT("percentage_command_template", "{\"percentage\": {{ value }} }")},
	{NUMBER("speed_range_min", 1)},
	{NUMBER("speed_range_max", 100)},
};

/* Only for a fan with presets: HA refuses an empty preset_modes. */
static const struct member fan_preset_members[] = {
	{SPEC_LIST("preset_modes", presets)},
	{STATE_TOPIC("preset_mode_state_topic")},
	{TEXT("preset_mode_value_template", "{{ value_json.preset }}")},
	{SET_TOPIC("preset_mode_command_topic")},
	{TEXT("preset_mode_command_template", "{\"preset\": \"{{ value }}\"}")},
};

/* HA's event entity reads {"event_type": ...}; ours say "event". */
static const struct member button_members[] = {
	{TOPIC("state_topic", "event")},
	{TEXT("value_template", "{ \"event_type\": \"{{ value_json.event }}\" }")},
	{SPEC_LIST("event_types", event_types)},
	{TEXT("device_class", "button")},
};

void sh_discovery_cover(cJSON *out, const struct sh_discovery_opts *opts,
			const struct sh_discovery_device *dev)
{
	add_members(sh_discovery_entity(out, opts, dev, "cover", "cover", NULL), opts, dev, NULL,
		    cover_members, ARRAY_SIZE(cover_members));
}

void sh_discovery_lock(cJSON *out, const struct sh_discovery_opts *opts,
		       const struct sh_discovery_device *dev)
{
	add_members(sh_discovery_control(out, opts, dev, "lock", "lock", NULL), opts, dev, NULL,
		    lock_members, ARRAY_SIZE(lock_members));
}

void sh_discovery_climate(cJSON *out, const struct sh_discovery_opts *opts,
			  const struct sh_discovery_device *dev, const struct sh_kind_spec *spec)
{
	add_members(sh_discovery_entity(out, opts, dev, "climate", "climate", NULL), opts, dev,
		    spec, climate_members, ARRAY_SIZE(climate_members));
}

void sh_discovery_fan(cJSON *out, const struct sh_discovery_opts *opts,
		      const struct sh_discovery_device *dev, const struct sh_kind_spec *spec)
{
	cJSON *e = sh_discovery_entity(out, opts, dev, "fan", "fan", NULL);

	add_members(e, opts, dev, spec, fan_members, ARRAY_SIZE(fan_members));
	if (spec->presets && spec->presets[0])
		add_members(e, opts, dev, spec, fan_preset_members, ARRAY_SIZE(fan_preset_members));
}

void sh_discovery_button(cJSON *out, const struct sh_discovery_opts *opts,
			 const struct sh_discovery_device *dev, const struct sh_kind_spec *spec)
{
	add_members(sh_discovery_entity(out, opts, dev, "event", "event", NULL), opts, dev, spec,
		    button_members, ARRAY_SIZE(button_members));
}

/* One entity per declared property of a custom device. */
void sh_discovery_custom(cJSON *out, const struct sh_discovery_opts *opts,
			 const struct sh_discovery_device *dev, const struct sh_kind_spec *spec)
{
	for (size_t i = 0; i < spec->n_props; i++) {
		const struct sh_kind_prop *p = &spec->props[i];
		char label[128], tmpl[256], cmd[256], off[256];
		cJSON *e;

		snprintf(label, sizeof(label), "%s", p->name);
		for (char *c = label; *c; c++)
			*c = *c == '_' ? ' ' : *c;
		if (label[0] >= 'a' && label[0] <= 'z')
			label[0] = (char)(label[0] - 'a' + 'A');
		sh_discovery_value_template(tmpl, sizeof(tmpl), p->name);
		switch (p->type) {
		case SH_PROP_ACTION:
			e = sh_discovery_entity(out, opts, dev, "button", p->name, label);
			sh_discovery_add_command_topic(e, opts, dev->id);
			snprintf(cmd, sizeof(cmd), "{\"%s\": true}", p->name);
			add_string(e, "payload_press", cmd);
			break;
		case SH_PROP_ENUM:
			e = sh_discovery_control(out, opts, dev, "select", p->name, label);
			add_string(e, "value_template", tmpl);
			snprintf(cmd, sizeof(cmd), "{\"%s\": \"{{ value }}\"}", p->name);
			add_string(e, "command_template", cmd);
			cJSON_AddItemToObject(e, "options", string_list(p->values));
			break;
		case SH_PROP_NUMBER:
		case SH_PROP_INTEGER:
			e = sh_discovery_control(out, opts, dev, "number", p->name, label);
			add_string(e, "value_template", tmpl);
			number_command(e, "command_template", p->name, "value");
			cJSON_AddNumberToObject(e, "min", p->min);
			cJSON_AddNumberToObject(e, "max", p->max);
			cJSON_AddNumberToObject(e, "step", p->step > 0 ? p->step : 1);
			if (p->unit)
				add_string(e, "unit_of_measurement", p->unit);
			break;
		case SH_PROP_BOOL:
			snprintf(tmpl, sizeof(tmpl), "{{ 'ON' if value_json['%s'] else 'OFF' }}",
				 p->name);
			snprintf(cmd, sizeof(cmd), "{\"%s\": true}", p->name);
			snprintf(off, sizeof(off), "{\"%s\": false}", p->name);
			sh_discovery_switch(out, opts, dev, p->name, label, tmpl, cmd, off);
			break;
		case SH_PROP_STRING:
		case SH_PROP_COLOR:
			break;
		}
	}
}
