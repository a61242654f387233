/* SPDX-License-Identifier: MIT */
/*
 * The Home Assistant discovery payloads of the kinds of issue 19
 * (daemon/mqtt/discovery_kinds.c), member by member and in order, exactly
 * as they go on the wire: what each entity reads and sends, with the
 * kind's defaults (and a fan's presets). test_discovery.c checks the frame
 * every entity shares (name, ids, device, availability) and every payload
 * against Home Assistant's schema; this file pins the rest of the text, so
 * a rewrite of how the payloads are built cannot change them unseen.
 */
#include "kinds/kind.h"
#include "mqtt/discovery.h"

#include <criterion/criterion.h>
#include <stdlib.h>

static const struct sh_discovery_opts opts = {
	.prefix = "homeassistant",
	.base_topic = "smarthub",
	.version = "0.1.0",
};

/* The members sh_discovery_entity gives every entity. */
static const char *const frame[] = {
	"name",   "unique_id", "default_entity_id", "device", "availability", "availability_mode",
	"origin", NULL};

/* The one entity of device `id` of `kind` on `topic`, without the frame,
 * is exactly `want`. */
static void expect_payload(const char *id, const char *kind, const struct sh_kind_spec *spec,
			   const char *topic, const char *want)
{
	struct sh_discovery_device dev = {
		.id = id, .kind = kind, .driver = "virtual", .spec = spec};
	cJSON *all = sh_discovery_device(&opts, &dev);

	cr_assert_eq(cJSON_GetArraySize(all), 1, "%s: %d entities", id, cJSON_GetArraySize(all));
	cJSON *e = cJSON_GetObjectItemCaseSensitive(all, topic);
	cr_assert_not_null(e, "%s: no payload on %s", id, topic);
	for (size_t i = 0; frame[i]; i++) {
		cr_assert(cJSON_HasObjectItem(e, frame[i]), "%s: no %s", id, frame[i]);
		cJSON_DeleteItemFromObjectCaseSensitive(e, frame[i]);
	}
	char *text = cJSON_PrintUnformatted(e);
	cr_expect_str_eq(text, want);
	cJSON_free(text);
	cJSON_Delete(all);
}

Test(discovery_kinds, a_cover_opens_closes_stops_and_sets_position_and_tilt)
{
	struct sh_kind_spec spec;

	sh_kind_spec_init(&spec, "cover");
	expect_payload("blind", "cover", &spec, "homeassistant/cover/smarthub_blind/cover/config",
		       "{\"state_topic\":\"smarthub/blind\","
		       "\"value_template\":\"{{ value_json.state }}\","
		       "\"state_open\":\"open\","
		       "\"state_opening\":\"opening\","
		       "\"state_closed\":\"closed\","
		       "\"state_closing\":\"closing\","
		       "\"state_stopped\":\"stopped\","
		       "\"command_topic\":\"smarthub/blind/set\","
		       "\"payload_open\":\"{\\\"state\\\": \\\"OPEN\\\"}\","
		       "\"payload_close\":\"{\\\"state\\\": \\\"CLOSE\\\"}\","
		       "\"payload_stop\":\"{\\\"state\\\": \\\"STOP\\\"}\","
		       "\"position_topic\":\"smarthub/blind\","
		       "\"position_template\":\"{{ value_json.position }}\","
		       "\"set_position_topic\":\"smarthub/blind/set\","
		       "\"set_position_template\":\"{\\\"position\\\": {{ position }} }\","
		       "\"position_open\":100,"
		       "\"position_closed\":0,"
		       "\"tilt_status_topic\":\"smarthub/blind\","
		       "\"tilt_status_template\":\"{{ value_json.tilt }}\","
		       "\"tilt_command_topic\":\"smarthub/blind/set\","
		       "\"tilt_command_template\":\"{\\\"tilt\\\": {{ tilt_position }} }\","
		       "\"tilt_min\":0,"
		       "\"tilt_max\":100}");
}

Test(discovery_kinds, a_lock_locks_and_unlocks)
{
	struct sh_kind_spec spec;

	sh_kind_spec_init(&spec, "lock");
	expect_payload("door", "lock", &spec, "homeassistant/lock/smarthub_door/lock/config",
		       "{\"state_topic\":\"smarthub/door\","
		       "\"command_topic\":\"smarthub/door/set\","
		       "\"value_template\":\"{{ value_json.state }}\","
		       "\"payload_lock\":\"{\\\"state\\\": \\\"LOCK\\\"}\","
		       "\"payload_unlock\":\"{\\\"state\\\": \\\"UNLOCK\\\"}\","
		       "\"state_locked\":\"LOCKED\","
		       "\"state_unlocked\":\"UNLOCKED\","
		       "\"state_jammed\":\"JAMMED\"}");
}

Test(discovery_kinds, a_climate_has_modes_target_and_current_temperature)
{
	struct sh_kind_spec spec;

	sh_kind_spec_init(&spec, "climate");
	expect_payload(
		"heater", "climate", &spec, "homeassistant/climate/smarthub_heater/climate/config",
		"{\"modes\":[\"off\",\"heat\",\"cool\",\"auto\",\"fan_only\"],"
		"\"mode_state_topic\":\"smarthub/heater\","
		"\"mode_state_template\":\"{{ value_json.mode }}\","
		"\"mode_command_topic\":\"smarthub/heater/set\","
		"\"mode_command_template\":\"{\\\"mode\\\": \\\"{{ value }}\\\"}\","
		"\"temperature_state_topic\":\"smarthub/heater\","
		"\"temperature_state_template\":\"{{ value_json.target_temperature }}\","
		"\"temperature_command_topic\":\"smarthub/heater/set\","
		"\"temperature_command_template\":\"{\\\"target_temperature\\\": {{ value }} }\","
		"\"current_temperature_topic\":\"smarthub/heater\","
		"\"current_temperature_template\":\"{{ value_json.current_temperature }}\","
		"\"action_topic\":\"smarthub/heater\","
		"\"action_template\":\"{{ value_json.action }}\","
		"\"min_temp\":7,"
		"\"max_temp\":35,"
		"\"temp_step\":0.5,"
		"\"temperature_unit\":\"C\","
		"\"precision\":0.1}");
}

Test(discovery_kinds, a_fan_without_presets_has_no_preset_modes)
{
	struct sh_kind_spec spec;

	sh_kind_spec_init(&spec, "fan");
	expect_payload("plain_fan", "fan", &spec, "homeassistant/fan/smarthub_plain_fan/fan/config",
		       "{\"state_topic\":\"smarthub/plain_fan\","
		       "\"state_value_template\":\"{{ value_json.state }}\","
		       "\"command_topic\":\"smarthub/plain_fan/set\","
		       "\"command_template\":\"{\\\"state\\\": \\\"{{ value }}\\\"}\","
		       "\"payload_on\":\"ON\","
		       "\"payload_off\":\"OFF\","
		       "\"percentage_state_topic\":\"smarthub/plain_fan\","
		       "\"percentage_value_template\":\"{{ value_json.percentage }}\","
		       "\"percentage_command_topic\":\"smarthub/plain_fan/set\","
		       "\"percentage_command_template\":\"{\\\"percentage\\\": {{ value }} }\","
		       "\"speed_range_min\":1,"
		       "\"speed_range_max\":100}");
}

Test(discovery_kinds, a_fan_with_presets_offers_them)
{
	static const char *const presets[] = {"breeze", "sleep", NULL};
	struct sh_kind_spec spec;

	sh_kind_spec_init(&spec, "fan");
	spec.presets = presets;
	expect_payload(
		"fan", "fan", &spec, "homeassistant/fan/smarthub_fan/fan/config",
		"{\"state_topic\":\"smarthub/fan\","
		"\"state_value_template\":\"{{ value_json.state }}\","
		"\"command_topic\":\"smarthub/fan/set\","
		"\"command_template\":\"{\\\"state\\\": \\\"{{ value }}\\\"}\","
		"\"payload_on\":\"ON\","
		"\"payload_off\":\"OFF\","
		"\"percentage_state_topic\":\"smarthub/fan\","
		"\"percentage_value_template\":\"{{ value_json.percentage }}\","
		"\"percentage_command_topic\":\"smarthub/fan/set\","
		"\"percentage_command_template\":\"{\\\"percentage\\\": {{ value }} }\","
		"\"speed_range_min\":1,"
		"\"speed_range_max\":100,"
		"\"preset_modes\":[\"breeze\",\"sleep\"],"
		"\"preset_mode_state_topic\":\"smarthub/fan\","
		"\"preset_mode_value_template\":\"{{ value_json.preset }}\","
		"\"preset_mode_command_topic\":\"smarthub/fan/set\","
		"\"preset_mode_command_template\":\"{\\\"preset\\\": \\\"{{ value }}\\\"}\"}");
}

Test(discovery_kinds, a_button_is_an_event_entity)
{
	struct sh_kind_spec spec;

	sh_kind_spec_init(&spec, "button");
	expect_payload(
		"remote", "button", &spec, "homeassistant/event/smarthub_remote/event/config",
		"{\"state_topic\":\"smarthub/remote/event\","
		"\"value_template\":\"{ \\\"event_type\\\": \\\"{{ value_json.event }}\\\" }\","
		"\"event_types\":[\"single\",\"double\",\"hold\"],"
		"\"device_class\":\"button\"}");
}
