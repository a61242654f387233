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
 * Every payload here is checked against tests/ha-schema, written from
 * Home Assistant's own platform schemas.
 */
#include "mqtt/discovery_internal.h"

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

static void topic_of(char *buf, size_t len, const struct sh_discovery_opts *opts, const char *id,
		     const char *leaf)
{
	snprintf(buf, len, "%s/%s%s%s", opts->base_topic, id, leaf ? "/" : "", leaf ? leaf : "");
}

void sh_discovery_cover(cJSON *out, const struct sh_discovery_opts *opts,
			const struct sh_discovery_device *dev)
{
	cJSON *e = sh_discovery_entity(out, opts, dev, "cover", "cover", NULL);
	char state[512], set[512];

	topic_of(state, sizeof(state), opts, dev->id, NULL);
	topic_of(set, sizeof(set), opts, dev->id, "set");
	add_string(e, "state_topic", state);
	add_string(e, "value_template", "{{ value_json.state }}");
	add_string(e, "state_open", "open");
	add_string(e, "state_opening", "opening");
	add_string(e, "state_closed", "closed");
	add_string(e, "state_closing", "closing");
	add_string(e, "state_stopped", "stopped");
	add_string(e, "command_topic", set);
	add_string(e, "payload_open", "{\"state\": \"OPEN\"}");
	add_string(e, "payload_close", "{\"state\": \"CLOSE\"}");
	add_string(e, "payload_stop", "{\"state\": \"STOP\"}");
	add_string(e, "position_topic", state);
	add_string(e, "position_template", "{{ value_json.position }}");
	add_string(e, "set_position_topic", set);
	number_command(e, "set_position_template", "position", "position");
	cJSON_AddNumberToObject(e, "position_open", 100);
	cJSON_AddNumberToObject(e, "position_closed", 0);
	add_string(e, "tilt_status_topic", state);
	add_string(e, "tilt_status_template", "{{ value_json.tilt }}");
	add_string(e, "tilt_command_topic", set);
	number_command(e, "tilt_command_template", "tilt", "tilt_position");
	cJSON_AddNumberToObject(e, "tilt_min", 0);
	cJSON_AddNumberToObject(e, "tilt_max", 100);
}

void sh_discovery_lock(cJSON *out, const struct sh_discovery_opts *opts,
		       const struct sh_discovery_device *dev)
{
	cJSON *e = sh_discovery_control(out, opts, dev, "lock", "lock", NULL);

	add_string(e, "value_template", "{{ value_json.state }}");
	add_string(e, "payload_lock", "{\"state\": \"LOCK\"}");
	add_string(e, "payload_unlock", "{\"state\": \"UNLOCK\"}");
	add_string(e, "state_locked", "LOCKED");
	add_string(e, "state_unlocked", "UNLOCKED");
	add_string(e, "state_jammed", "JAMMED");
}

static cJSON *string_list(const char *const *values)
{
	cJSON *list = cJSON_CreateArray();
	for (size_t i = 0; list && values && values[i]; i++)
		cJSON_AddItemToArray(list, cJSON_CreateString(values[i]));
	return list;
}

void sh_discovery_climate(cJSON *out, const struct sh_discovery_opts *opts,
			  const struct sh_discovery_device *dev, const struct sh_kind_spec *spec)
{
	cJSON *e = sh_discovery_entity(out, opts, dev, "climate", "climate", NULL);
	char state[512], set[512];

	topic_of(state, sizeof(state), opts, dev->id, NULL);
	topic_of(set, sizeof(set), opts, dev->id, "set");
	cJSON_AddItemToObject(e, "modes", string_list(spec->modes));
	add_string(e, "mode_state_topic", state);
	add_string(e, "mode_state_template", "{{ value_json.mode }}");
	add_string(e, "mode_command_topic", set);
	add_string(e, "mode_command_template", "{\"mode\": \"{{ value }}\"}");
	add_string(e, "temperature_state_topic", state);
	add_string(e, "temperature_state_template", "{{ value_json.target_temperature }}");
	add_string(e, "temperature_command_topic", set);
	number_command(e, "temperature_command_template", "target_temperature", "value");
	add_string(e, "current_temperature_topic", state);
	add_string(e, "current_temperature_template", "{{ value_json.current_temperature }}");
	add_string(e, "action_topic", state);
	add_string(e, "action_template", "{{ value_json.action }}");
	cJSON_AddNumberToObject(e, "min_temp", spec->min_temp);
	cJSON_AddNumberToObject(e, "max_temp", spec->max_temp);
	cJSON_AddNumberToObject(e, "temp_step", spec->temperature_step);
	add_string(e, "temperature_unit", "C");
	/* HA offers precision 0.1, 0.5 and 1 only. */
	cJSON_AddNumberToObject(e, "precision", 0.1);
}

void sh_discovery_fan(cJSON *out, const struct sh_discovery_opts *opts,
		      const struct sh_discovery_device *dev, const struct sh_kind_spec *spec)
{
	cJSON *e = sh_discovery_entity(out, opts, dev, "fan", "fan", NULL);
	char state[512], set[512];

	topic_of(state, sizeof(state), opts, dev->id, NULL);
	topic_of(set, sizeof(set), opts, dev->id, "set");
	add_string(e, "state_topic", state);
	add_string(e, "state_value_template", "{{ value_json.state }}");
	add_string(e, "command_topic", set);
	add_string(e, "command_template", "{\"state\": \"{{ value }}\"}");
	add_string(e, "payload_on", "ON");
	add_string(e, "payload_off", "OFF");
	add_string(e, "percentage_state_topic", state);
	add_string(e, "percentage_value_template", "{{ value_json.percentage }}");
	add_string(e, "percentage_command_topic", set);
	number_command(e, "percentage_command_template", "percentage", "value");
	cJSON_AddNumberToObject(e, "speed_range_min", 1);
	cJSON_AddNumberToObject(e, "speed_range_max", 100);
	if (spec->presets && spec->presets[0]) {
		cJSON_AddItemToObject(e, "preset_modes", string_list(spec->presets));
		add_string(e, "preset_mode_state_topic", state);
		add_string(e, "preset_mode_value_template", "{{ value_json.preset }}");
		add_string(e, "preset_mode_command_topic", set);
		add_string(e, "preset_mode_command_template", "{\"preset\": \"{{ value }}\"}");
	}
}

void sh_discovery_button(cJSON *out, const struct sh_discovery_opts *opts,
			 const struct sh_discovery_device *dev, const struct sh_kind_spec *spec)
{
	cJSON *e = sh_discovery_entity(out, opts, dev, "event", "event", NULL);
	char topic[512];

	/* HA's event entity reads {"event_type": ...}; ours say "event". */
	topic_of(topic, sizeof(topic), opts, dev->id, "event");
	add_string(e, "state_topic", topic);
	add_string(e, "value_template", "{ \"event_type\": \"{{ value_json.event }}\" }");
	cJSON_AddItemToObject(e, "event_types", string_list(spec->event_types));
	add_string(e, "device_class", "button");
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
