/* SPDX-License-Identifier: MIT */
/*
 * Tests of the Home Assistant discovery payloads (daemon/mqtt/discovery.c): for
 * each kind, the topics, the keys Home Assistant requires and the values it
 * interprets (templates, payloads, units), checked without a broker.
 */
#include "mqtt/discovery.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static const struct sh_discovery_opts opts = {
	.prefix = "homeassistant",
	.base_topic = "smarthub",
	.version = "0.1.0",
};

static const char *str(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	cr_assert(cJSON_IsString(item), "%s is not a string", key);
	return item->valuestring;
}

static const cJSON *payload(const cJSON *all, const char *topic)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(all, topic);

	cr_assert_not_null(p, "no discovery payload on %s", topic);
	return p;
}

/* What every device entity must carry, and its payload must survive a
 * round trip through text (it is what goes on the wire). */
static void check_common(const cJSON *e, const char *id)
{
	char *text = cJSON_PrintUnformatted(e);
	cJSON *again = cJSON_Parse(text);
	char ident[128];

	cr_assert_not_null(again, "not valid JSON: %s", text);
	cJSON_Delete(again);
	cJSON_free(text);

	cr_assert(cJSON_HasObjectItem(e, "name"));
	cr_assert(strncmp(str(e, "unique_id"), "smarthub_", 9) == 0);
	/* object_id is deprecated since HA 2025.10 and ignored from 2026.4. */
	cr_assert_not(cJSON_HasObjectItem(e, "object_id"));
	cr_assert(strchr(str(e, "default_entity_id"), '.'));
	const cJSON *dev = cJSON_GetObjectItemCaseSensitive(e, "device");
	snprintf(ident, sizeof(ident), "smarthub_%s", id);
	cr_assert_str_eq(
		cJSON_GetArrayItem(cJSON_GetObjectItem(dev, "identifiers"), 0)->valuestring, ident);
	cr_assert_str_eq(str(dev, "manufacturer"), "smarthub");
	cr_assert_str_eq(str(dev, "via_device"), "smarthub_bridge");
	cr_assert(cJSON_HasObjectItem(dev, "model"));

	const cJSON *avail = cJSON_GetObjectItemCaseSensitive(e, "availability");
	cr_assert_eq(cJSON_GetArraySize(avail), 2);
	cr_assert_str_eq(str(cJSON_GetArrayItem(avail, 0), "topic"), "smarthub/bridge/state");
	char topic[128];
	snprintf(topic, sizeof(topic), "smarthub/%s/availability", id);
	cr_assert_str_eq(str(cJSON_GetArrayItem(avail, 1), "topic"), topic);
	cr_assert_str_eq(str(cJSON_GetArrayItem(avail, 1), "value_template"),
			 "{{ value_json.state }}");
	cr_assert_str_eq(str(e, "availability_mode"), "all");
}

Test(discovery, light_uses_the_json_schema)
{
	struct sh_discovery_device dev = {
		.id = "lamp", .name = "Lamp", .kind = "light", .driver = "virtual"};
	cJSON *all = sh_discovery_device(&opts, &dev);

	cr_assert_eq(cJSON_GetArraySize(all), 1);
	const cJSON *e = payload(all, "homeassistant/light/smarthub_lamp/light/config");
	check_common(e, "lamp");
	cr_assert_str_eq(str(e, "schema"), "json");
	cr_assert_str_eq(str(e, "command_topic"), "smarthub/lamp/set");
	cr_assert_str_eq(str(e, "state_topic"), "smarthub/lamp");
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(e, "brightness")));
	cr_assert_eq(cJSON_GetObjectItem(e, "brightness_scale")->valueint, 255);
	const cJSON *modes = cJSON_GetObjectItem(e, "supported_color_modes");
	cr_assert_str_eq(cJSON_GetArrayItem(modes, 0)->valuestring, "color_temp");
	cr_assert_str_eq(cJSON_GetArrayItem(modes, 1)->valuestring, "rgb");
	cr_assert_str_eq(str(cJSON_GetObjectItem(e, "device"), "name"), "Lamp");
	cr_assert_str_eq(str(cJSON_GetObjectItem(e, "device"), "model"), "virtual");
	cJSON_Delete(all);
}

Test(discovery, switch_maps_on_off)
{
	struct sh_discovery_device dev = {.id = "plug", .kind = "switch", .driver = "exec"};
	cJSON *all = sh_discovery_device(&opts, &dev);
	const cJSON *e = payload(all, "homeassistant/switch/smarthub_plug/switch/config");

	check_common(e, "plug");
	cr_assert_str_eq(str(e, "command_topic"), "smarthub/plug/set");
	cr_assert_str_eq(str(e, "state_topic"), "smarthub/plug");
	cr_assert_str_eq(str(e, "value_template"), "{{ value_json.state }}");
	cr_assert_str_eq(str(e, "payload_on"), "ON");
	cr_assert_str_eq(str(e, "payload_off"), "OFF");
	cr_assert_str_eq(str(cJSON_GetObjectItem(e, "device"), "name"), "plug",
			 "the id names a device without a friendly name");
	cJSON_Delete(all);
}

Test(discovery, speaker_is_power_volume_and_buttons)
{
	struct sh_discovery_device dev = {.id = "speaker", .kind = "speaker", .driver = "mpd"};
	cJSON *all = sh_discovery_device(&opts, &dev);
	const cJSON *e;

	cr_assert_eq(cJSON_GetArraySize(all), 8);
	e = payload(all, "homeassistant/switch/smarthub_speaker/power/config");
	check_common(e, "speaker");
	cr_assert_str_eq(str(e, "payload_on"), "ON");

	e = payload(all, "homeassistant/number/smarthub_speaker/volume/config");
	check_common(e, "speaker");
	cr_assert_str_eq(str(e, "command_template"), "{\"volume\": {{ value }} }");
	cr_assert_str_eq(str(e, "value_template"), "{{ value_json.volume }}");
	cr_assert_eq(cJSON_GetObjectItem(e, "min")->valueint, 0);
	cr_assert_eq(cJSON_GetObjectItem(e, "max")->valueint, 100);

	e = payload(all, "homeassistant/switch/smarthub_speaker/mute/config");
	check_common(e, "speaker");
	cr_assert_str_eq(str(e, "payload_on"), "{\"mute\": true}");
	cr_assert_str_eq(str(e, "value_template"), "{{ 'ON' if value_json.mute else 'OFF' }}");

	const char *buttons[] = {"play", "pause", "stop", "next", "previous"};
	for (size_t i = 0; i < 5; i++) {
		char topic[128];

		snprintf(topic, sizeof(topic), "homeassistant/button/smarthub_speaker/%s/config",
			 buttons[i]);
		e = payload(all, topic);
		check_common(e, "speaker");
		cr_assert_str_eq(str(e, "command_topic"), "smarthub/speaker/set");
		cJSON *press = cJSON_Parse(str(e, "payload_press"));
		cr_assert(cJSON_IsObject(press), "payload_press must be a JSON command");
		cr_assert(cJSON_HasObjectItem(press, buttons[i]));
		cJSON_Delete(press);
	}
	e = payload(all, "homeassistant/button/smarthub_speaker/pause/config");
	cr_assert_str_eq(str(e, "payload_press"), "{\"pause\":true}");
	cJSON_Delete(all);
}

Test(discovery, sensor_entity_per_reading)
{
	cJSON *state = cJSON_Parse("{\"temperature\":21.4,\"humidity\":45.0,\"motion\":false,"
				   "\"label\":\"kitchen\"}");
	struct sh_discovery_device dev = {
		.id = "climate", .kind = "sensor", .driver = "virtual", .state = state};
	cJSON *all = sh_discovery_device(&opts, &dev);
	const cJSON *e;

	cr_assert_eq(cJSON_GetArraySize(all), 3, "strings are not readings");
	e = payload(all, "homeassistant/sensor/smarthub_climate/temperature/config");
	check_common(e, "climate");
	cr_assert_str_eq(str(e, "state_topic"), "smarthub/climate");
	cr_assert_str_eq(str(e, "value_template"), "{{ value_json.temperature }}");
	cr_assert_str_eq(str(e, "device_class"), "temperature");
	cr_assert_str_eq(str(e, "unit_of_measurement"), "°C");
	cr_assert_str_eq(str(e, "state_class"), "measurement");
	cr_assert_str_eq(str(e, "unique_id"), "smarthub_climate_temperature");

	e = payload(all, "homeassistant/sensor/smarthub_climate/humidity/config");
	cr_assert_str_eq(str(e, "unit_of_measurement"), "%");

	e = payload(all, "homeassistant/binary_sensor/smarthub_climate/motion/config");
	check_common(e, "climate");
	cr_assert_str_eq(str(e, "device_class"), "motion");
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(e, "payload_on")));
	cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(e, "payload_off")));
	cr_assert_not(cJSON_HasObjectItem(e, "unit_of_measurement"));
	cJSON_Delete(all);
	cJSON_Delete(state);
}

/* A device's state keys come from outside (an exec tool's JSON): one that
 * is not a plain name never reaches a template or a topic. */
Test(discovery, a_reading_with_an_odd_name_is_not_announced)
{
	cJSON *state = cJSON_Parse("{\"power\":1.5,\"x'] }}{{ 7*7 }}\":2,\"a\\\\b\":3,"
				   "\"{% raw %}\":4,\"\":5,\"new\\nline\":6}");
	cr_assert_not_null(state);
	struct sh_discovery_device dev = {
		.id = "meter", .kind = "sensor", .driver = "exec", .state = state};
	cJSON *all = sh_discovery_device(&opts, &dev);
	cr_assert_eq(cJSON_GetArraySize(all), 1, "%s", cJSON_PrintUnformatted(all));
	const cJSON *e = payload(all, "homeassistant/sensor/smarthub_meter/power/config");
	cr_assert_str_eq(str(e, "value_template"), "{{ value_json.power }}");
	cJSON_Delete(all);
	cJSON_Delete(state);
}

Test(discovery, declared_readings_announce_before_the_first_report)
{
	/* As the virtual driver declares them with host->set_metadata. */
	cJSON *meta = cJSON_Parse("{\"readings\":{\"temperature\":{},\"motion\":{},"
				  "\"illuminance\":{\"unit\":\"lx\"},"
				  "\"level\":{\"unit\":\"cm\",\"device_class\":\"distance\"}}}");
	struct sh_discovery_device dev = {
		.id = "hall", .kind = "sensor", .driver = "virtual", .metadata = meta};
	cJSON *all = sh_discovery_device(&opts, &dev);

	cr_assert_eq(cJSON_GetArraySize(all), 4);
	payload(all, "homeassistant/sensor/smarthub_hall/temperature/config");
	payload(all, "homeassistant/binary_sensor/smarthub_hall/motion/config");
	const cJSON *e = payload(all, "homeassistant/sensor/smarthub_hall/illuminance/config");
	cr_assert_str_eq(str(e, "unit_of_measurement"), "lx");
	e = payload(all, "homeassistant/sensor/smarthub_hall/level/config");
	cr_assert_str_eq(str(e, "unit_of_measurement"), "cm");
	cr_assert_str_eq(str(e, "device_class"), "distance");
	cJSON_Delete(all);
	cJSON_Delete(meta);
}

Test(discovery, the_device_configuration_overrides_the_reading_name)
{
	cJSON *state = cJSON_Parse("{\"value\":47.5}");
	cJSON *meta = cJSON_Parse("{\"readings\":{\"value\":{}}}");
	struct sh_discovery_device dev = {.id = "cpu_temp",
					  .kind = "sensor",
					  .driver = "sysfs",
					  .state = state,
					  .device_class = "temperature",
					  .unit = "°C",
					  .metadata = meta};
	cJSON *all = sh_discovery_device(&opts, &dev);
	const cJSON *e = payload(all, "homeassistant/sensor/smarthub_cpu_temp/value/config");

	cr_assert_str_eq(str(e, "device_class"), "temperature");
	cr_assert_str_eq(str(e, "unit_of_measurement"), "°C");
	cJSON_Delete(all);
	cJSON_Delete(state);
	cJSON_Delete(meta);
}

Test(discovery, a_light_shows_what_its_driver_declared)
{
	cJSON *meta = cJSON_Parse("{\"color_modes\":[\"color_temp\"],\"supports_flash\":true,"
				  "\"max_transition\":60,\"model\":\"YLDP13YL\","
				  "\"manufacturer\":\"Yeelight\"}");
	struct sh_discovery_device dev = {
		.id = "desk", .kind = "light", .driver = "yeelight", .metadata = meta};
	cJSON *all = sh_discovery_device(&opts, &dev);
	const cJSON *e = payload(all, "homeassistant/light/smarthub_desk/light/config");
	const cJSON *modes = cJSON_GetObjectItem(e, "supported_color_modes");

	cr_assert_eq(cJSON_GetArraySize(modes), 1);
	cr_assert_str_eq(cJSON_GetArrayItem(modes, 0)->valuestring, "color_temp");
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(e, "flash")));
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(e, "transition")));
	cr_assert_str_eq(str(cJSON_GetObjectItem(e, "device"), "model"), "YLDP13YL");
	cr_assert_str_eq(str(cJSON_GetObjectItem(e, "device"), "manufacturer"), "Yeelight");
	cJSON_Delete(all);
	cJSON_Delete(meta);

	/* Without metadata: what every light of the kind takes. */
	dev.metadata = NULL;
	all = sh_discovery_device(&opts, &dev);
	e = payload(all, "homeassistant/light/smarthub_desk/light/config");
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(e, "supported_color_modes")), 2);
	/* HA offers flash unless told not to (issue 18 item 2). */
	cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(e, "flash")));
	cr_assert_str_eq(str(cJSON_GetObjectItem(e, "device"), "model"), "yeelight");
	cJSON_Delete(all);
}

Test(discovery, ids_are_slugged_in_topics_only)
{
	cJSON *state = cJSON_Parse("{\"co2 ppm\":400}");
	struct sh_discovery_device dev = {
		.id = "living.room lamp", .kind = "sensor", .driver = "virtual", .state = state};
	cJSON *all = sh_discovery_device(&opts, &dev);
	const cJSON *e =
		payload(all, "homeassistant/sensor/smarthub_living_room_lamp/co2_ppm/config");

	cr_assert_str_eq(str(e, "state_topic"), "smarthub/living.room lamp");
	cr_assert_str_eq(str(e, "value_template"), "{{ value_json['co2 ppm'] }}");
	cr_assert_str_eq(str(e, "default_entity_id"), "sensor.living_room_lamp_co2_ppm");
	cr_assert_str_eq(str(e, "unique_id"), "smarthub_living.room lamp_co2 ppm");
	cJSON_Delete(all);
	cJSON_Delete(state);

	char buf[8];
	cr_assert_str_eq(sh_discovery_slug("a/b+c#d_e-f", buf, sizeof(buf)), "a_b_c_d");
}

Test(discovery, unknown_kind_has_no_entities)
{
	struct sh_discovery_device dev = {.id = "x", .kind = "teapot", .driver = "virtual"};
	cJSON *all = sh_discovery_device(&opts, &dev);

	cr_assert(cJSON_IsObject(all));
	cr_assert_eq(cJSON_GetArraySize(all), 0);
	cJSON_Delete(all);
}

Test(discovery, scene_runs_through_its_set_topic)
{
	cJSON *all = sh_discovery_scene(&opts, "movie_night", "Movie night");
	const cJSON *e = payload(all, "homeassistant/scene/smarthub_bridge/movie_night/config");

	cr_assert_str_eq(str(e, "name"), "Movie night");
	cr_assert_str_eq(str(e, "command_topic"), "smarthub/scene/movie_night/set");
	cr_assert_str_eq(str(e, "payload_on"), "run");
	cr_assert_str_eq(str(e, "unique_id"), "smarthub_scene_movie_night");
	const cJSON *dev = cJSON_GetObjectItem(e, "device");
	cr_assert_str_eq(
		cJSON_GetArrayItem(cJSON_GetObjectItem(dev, "identifiers"), 0)->valuestring,
		"smarthub_bridge");
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(e, "availability")), 1);
	cJSON_Delete(all);
}

Test(discovery, bridge_device_exists_for_via_device)
{
	cJSON *all = sh_discovery_bridge(&opts);
	const cJSON *e =
		payload(all, "homeassistant/binary_sensor/smarthub_bridge/connection_state/config");

	cr_assert_str_eq(str(e, "state_topic"), "smarthub/bridge/state");
	cr_assert_str_eq(str(e, "payload_on"), "online");
	cr_assert_str_eq(str(e, "device_class"), "connectivity");
	cr_assert_str_eq(str(cJSON_GetObjectItem(e, "device"), "sw_version"), "0.1.0");
	cJSON_Delete(all);
}

/* --- against Home Assistant's schema (tests/ha-schema) ------------------- */

#include "config/config.h"
#include "ha_schema.h"

static cJSON *ha_schema(void)
{
	cJSON *schema = ha_schema_load(SMARTHUB_SOURCE_DIR "/tests/ha-schema/mqtt-discovery.json");
	cr_assert_not_null(schema, "the schema file loads");
	return schema;
}

/* Every payload of `all` passes; returns how many there were. */
static int expect_valid(const cJSON *schema, const cJSON *all)
{
	const cJSON *e;
	char why[512];
	int n = 0;

	cJSON_ArrayForEach(e, all)
	{
		char *text = cJSON_PrintUnformatted(e);
		cr_expect_eq(ha_schema_check(schema, e->string, e, why, sizeof(why)), 0,
			     "%s: %s\n%s", e->string, why, text);
		cJSON_free(text);
		n++;
	}
	return n;
}

/* Discovery of every device and scene of a configuration file, as the
 * bridge builds it (kind options, driver options; readings from the
 * state a virtual device starts with are announced from `readings`). */
static int expect_file_valid(const cJSON *schema, const char *path, const cJSON *metadata)
{
	struct sh_diag diag = {0};
	struct sh_config *c = NULL;
	int n = 0;

	cr_assert_eq(sh_config_load(path, &c, &diag), 0, "%s loads: %s", path,
		     diag.count ? diag.messages[0] : "");
	sh_diag_clear(&diag);
	for (size_t i = 0; i < c->n_devices; i++) {
		const struct sh_device_config *d = &c->devices[i];
		/* A sensor's readings as its driver declares them: the virtual
		 * driver its `readings`, sysfs one named after device_class. */
		cJSON *sensor_meta = NULL;
		if (!strcmp(d->kind, "sensor")) {
			sensor_meta = cJSON_CreateObject();
			cJSON *r = cJSON_AddObjectToObject(sensor_meta, "readings");
			const struct sh_node *list = sh_node_get(d->options, "readings");
			for (size_t k = 0; list && k < list->n_items; k++)
				cJSON_AddObjectToObject(r, list->items[k]->value);
			if (d->device_class)
				cJSON_AddObjectToObject(r, d->device_class);
		}
		struct sh_discovery_device dev = {.id = d->id,
						  .name = d->name,
						  .kind = d->kind,
						  .driver = d->driver,
						  .unit = d->unit,
						  .device_class = d->device_class,
						  .state_class = d->state_class,
						  .spec = &d->spec,
						  .metadata = sensor_meta ? sensor_meta : metadata};
		cJSON *all = sh_discovery_device(&opts, &dev);
		cJSON_Delete(sensor_meta);
		int k = expect_valid(schema, all);
		cr_expect_gt(k, 0, "%s has entities", d->id);
		n += k;
		cJSON_Delete(all);
	}
	for (size_t i = 0; i < c->n_scenes; i++) {
		cJSON *all =
			sh_discovery_scene(&opts, c->scenes[i].name, c->scenes[i].friendly_name);
		n += expect_valid(schema, all);
		cJSON_Delete(all);
	}
	cJSON *bridge = sh_discovery_bridge(&opts);
	n += expect_valid(schema, bridge);
	cJSON_Delete(bridge);
	sh_config_free(c);
	return n;
}

Test(discovery, every_kind_passes_home_assistants_schema)
{
	cJSON *schema = ha_schema();
	int n = expect_file_valid(schema, SMARTHUB_SOURCE_DIR "/tests/unit/configs/all-kinds.yaml",
				  NULL);
	cr_expect_geq(n, 25, "%d payloads", n);
	/* A driver that declares what its light can do. */
	cJSON *meta =
		cJSON_Parse("{\"color_modes\":[\"hs\",\"color_temp\"],\"supports_flash\":true,"
			    "\"max_transition\":0,\"min_mireds\":154,\"max_mireds\":370}");
	expect_file_valid(schema, SMARTHUB_SOURCE_DIR "/tests/unit/configs/all-kinds.yaml", meta);
	cJSON_Delete(meta);
	cJSON_Delete(schema);
}

Test(discovery, the_demo_passes_home_assistants_schema)
{
	cJSON *schema = ha_schema();
	int n = expect_file_valid(schema, SMARTHUB_SOURCE_DIR "/config/demo.yaml", NULL);
	cr_expect_geq(n, 10, "%d payloads", n);
	cJSON_Delete(schema);
}

Test(discovery, the_schema_check_refuses_what_home_assistant_refuses)
{
	cJSON *schema = ha_schema();
	char why[256];
	static const struct {
		const char *topic, *payload, *why;
	} bad[] = {
		{"homeassistant/switch/x/y/config",
		 "{\"command_topic\":\"a/set\",\"object_id\":\"x_y\"}", "unknown key 'object_id'"},
		{"homeassistant/sensor/x/t/config",
		 "{\"state_topic\":\"a\",\"device_class\":\"temperature\",\"unit_of_measurement\":"
		 "\"C\"}",
		 "does not fit device_class"},
		{"homeassistant/light/x/light/config",
		 "{\"schema\":\"json\",\"command_topic\":\"a/set\",\"supported_color_modes\":["
		 "\"onoff\",\"rgb\"]}",
		 "onoff must be the only mode"},
		{"homeassistant/event/x/e/config", "{\"state_topic\":\"a\",\"event_types\":[]}",
		 "event_types must not be empty"},
		{"homeassistant/number/x/n/config",
		 "{\"command_topic\":\"a/set\",\"min\":5,\"max\":5}", "min must be below max"},
		{"homeassistant/climate/x/c/config", "{\"modes\":[\"heat\",\"warm\"]}",
		 "'warm' is not accepted"},
		{"homeassistant/button/x/b/config", "{\"payload_press\":\"x\"}",
		 "missing required key 'command_topic'"},
		{"homeassistant/switch/x/y/config",
		 "{\"command_topic\":\"a/set\",\"device\":{\"name\":\"n\"}}",
		 "needs identifiers or connections"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *p = cJSON_Parse(bad[i].payload);
		cr_expect_eq(ha_schema_check(schema, bad[i].topic, p, why, sizeof(why)), -1, "%s",
			     bad[i].payload);
		cr_expect(strstr(why, bad[i].why), "'%s' should say '%s'", why, bad[i].why);
		cJSON_Delete(p);
	}
	cJSON_Delete(schema);
}
