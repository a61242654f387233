/* SPDX-License-Identifier: MIT */
/*
 * Home Assistant discovery payloads (see discovery.h). This module decides
 * how smarthub's kinds map onto Home Assistant's MQTT platforms:
 *
 *   light   -> one `light` (JSON schema: brightness 0-255 and the colour
 *              modes the driver declares, default color_temp and rgb;
 *              flash and transition only as the driver declares them)
 *   switch  -> one `switch`
 *   speaker -> a `switch` for power, a `number` for the volume, a `switch`
 *              for mute, and a `button` each for play, pause, stop, next
 *              and previous
 *   sensor  -> one `sensor` per numeric reading and one `binary_sensor`
 *              per boolean reading (motion, occupancy, ...)
 *   scene   -> one `scene` on the bridge device
 *   cover, lock, climate, fan, button, custom: discovery_kinds.c
 *
 * Entities carry `default_entity_id` (<component>.<id>_<object>):
 * `object_id` is deprecated since HA 2025.10 and ignored from 2026.4.
 *
 * It owns nothing beyond the objects it returns.
 */
#include "mqtt/discovery_internal.h"
#include "util/macros.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* What a reading's name tells Home Assistant. */
struct reading_info {
	const char *key;
	const char *device_class;
	const char *unit; /* NULL for binary readings */
	const char *state_class;
	bool binary;
};

static const struct reading_info readings[] = {
	{"temperature", "temperature", "°C", "measurement", false},
	{"humidity", "humidity", "%", "measurement", false},
	{"illuminance", "illuminance", "lx", "measurement", false},
	{"pressure", "pressure", "hPa", "measurement", false},
	{"battery", "battery", "%", "measurement", false},
	{"power", "power", "W", "measurement", false},
	{"energy", "energy", "kWh", "total_increasing", false},
	{"voltage", "voltage", "V", "measurement", false},
	{"current", "current", "A", "measurement", false},
	{"co2", "carbon_dioxide", "ppm", "measurement", false},
	{"pm25", "pm25", "µg/m³", "measurement", false},
	{"motion", "motion", NULL, NULL, true},
	{"occupancy", "occupancy", NULL, NULL, true},
	{"presence", "presence", NULL, NULL, true},
	{"smoke", "smoke", NULL, NULL, true},
	{"water_leak", "moisture", NULL, NULL, true},
};

static const struct reading_info *reading_lookup(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(readings); i++)
		if (strcmp(readings[i].key, key) == 0)
			return &readings[i];
	return NULL;
}

char *sh_discovery_slug(const char *in, char *out, size_t len)
{
	size_t n = 0;

	if (!len)
		return out;
	for (; in && in[n] && n + 1 < len; n++) {
		unsigned char c = (unsigned char)in[n];

		out[n] = (isascii(c) && (isalnum(c) || c == '_' || c == '-')) ? (char)c : '_';
	}
	out[n] = '\0';
	return out;
}

/* Jinja reaches a key as value_json.key only when it is an identifier. */
void sh_discovery_value_template(char *buf, size_t len, const char *key)
{
	bool ident = isalpha((unsigned char)key[0]) || key[0] == '_';

	for (const char *p = key; *p && ident; p++)
		ident = isalnum((unsigned char)*p) || *p == '_';
	if (ident)
		snprintf(buf, len, "{{ value_json.%s }}", key);
	else
		snprintf(buf, len, "{{ value_json['%s'] }}", key);
}

static void add_topic(cJSON *obj, const char *name, const char *a, const char *b, const char *c)
{
	char topic[512];

	snprintf(topic, sizeof(topic), "%s%s%s%s%s", a, b ? "/" : "", b ? b : "", c ? "/" : "",
		 c ? c : "");
	cJSON_AddStringToObject(obj, name, topic);
}

static cJSON *availability(const struct sh_discovery_opts *opts, const char *id)
{
	cJSON *list = cJSON_CreateArray();
	cJSON *bridge = cJSON_CreateObject();

	add_topic(bridge, "topic", opts->base_topic, "bridge", "state");
	cJSON_AddStringToObject(bridge, "value_template", "{{ value_json.state }}");
	cJSON_AddItemToArray(list, bridge);
	if (id) {
		cJSON *dev = cJSON_CreateObject();

		add_topic(dev, "topic", opts->base_topic, id, "availability");
		cJSON_AddStringToObject(dev, "value_template", "{{ value_json.state }}");
		cJSON_AddItemToArray(list, dev);
	}
	return list;
}

static cJSON *bridge_device_block(const struct sh_discovery_opts *opts)
{
	cJSON *block = cJSON_CreateObject();
	cJSON *ids = cJSON_AddArrayToObject(block, "identifiers");

	cJSON_AddItemToArray(ids, cJSON_CreateString("smarthub_bridge"));
	cJSON_AddStringToObject(block, "name", "smarthub bridge");
	cJSON_AddStringToObject(block, "model", "smarthub");
	cJSON_AddStringToObject(block, "manufacturer", "smarthub");
	if (opts->version)
		cJSON_AddStringToObject(block, "sw_version", opts->version);
	return block;
}

static cJSON *device_block(const struct sh_discovery_device *dev)
{
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(dev->metadata, "model");
	const cJSON *maker = cJSON_GetObjectItemCaseSensitive(dev->metadata, "manufacturer");
	const cJSON *sw = cJSON_GetObjectItemCaseSensitive(dev->metadata, "sw_version");
	cJSON *block = cJSON_CreateObject();
	cJSON *ids = cJSON_AddArrayToObject(block, "identifiers");
	char ident[512];

	snprintf(ident, sizeof(ident), "smarthub_%s", dev->id);
	cJSON_AddItemToArray(ids, cJSON_CreateString(ident));
	cJSON_AddStringToObject(block, "name", dev->name ? dev->name : dev->id);
	cJSON_AddStringToObject(block, "model",
				cJSON_IsString(model) ? model->valuestring
						      : (dev->driver ? dev->driver : "unknown"));
	cJSON_AddStringToObject(block, "manufacturer",
				cJSON_IsString(maker) ? maker->valuestring : "smarthub");
	if (cJSON_IsString(sw))
		cJSON_AddStringToObject(block, "sw_version", sw->valuestring);
	cJSON_AddStringToObject(block, "via_device", "smarthub_bridge");
	return block;
}

/*
 * Starts one entity of `dev`: its topic key in `out` and the keys every
 * entity carries. `label` is the entity's own name; NULL makes it the
 * device's main entity, which Home Assistant then names after the device.
 */
/* "<component>.<id>_<object>", lower case: the entity id HA suggests. */
static void default_entity_id(char *buf, size_t len, const char *component, const char *a,
			      const char *b)
{
	snprintf(buf, len, "%s.%s%s%s", component, a, b ? "_" : "", b ? b : "");
	for (char *c = buf; *c; c++)
		*c = (char)tolower((unsigned char)*c);
}

cJSON *sh_discovery_entity(cJSON *out, const struct sh_discovery_opts *opts,
			   const struct sh_discovery_device *dev, const char *component,
			   const char *object, const char *label)
{
	char id_slug[SH_DISCOVERY_SLUG_MAX], obj_slug[SH_DISCOVERY_SLUG_MAX];
	char topic[3 * SH_DISCOVERY_SLUG_MAX + 256], buf[512];
	cJSON *e = cJSON_CreateObject();

	sh_discovery_slug(dev->id, id_slug, sizeof(id_slug));
	sh_discovery_slug(object, obj_slug, sizeof(obj_slug));
	snprintf(topic, sizeof(topic), "%s/%s/smarthub_%s/%s/config", opts->prefix, component,
		 id_slug, obj_slug);

	if (label)
		cJSON_AddStringToObject(e, "name", label);
	else
		cJSON_AddNullToObject(e, "name");
	snprintf(buf, sizeof(buf), "smarthub_%s_%s", dev->id, object);
	cJSON_AddStringToObject(e, "unique_id", buf);
	default_entity_id(buf, sizeof(buf), component, id_slug, obj_slug);
	cJSON_AddStringToObject(e, "default_entity_id", buf);
	cJSON_AddItemToObject(e, "device", device_block(dev));
	cJSON_AddItemToObject(e, "availability", availability(opts, dev->id));
	cJSON_AddStringToObject(e, "availability_mode", "all");
	cJSON *origin = cJSON_AddObjectToObject(e, "origin");
	cJSON_AddStringToObject(origin, "name", "smarthub");
	if (opts->version)
		cJSON_AddStringToObject(origin, "sw_version", opts->version);
	/* Replace an entry of an earlier reading with the same slug. */
	cJSON_DeleteItemFromObjectCaseSensitive(out, topic);
	cJSON_AddItemToObject(out, topic, e);
	return e;
}

void sh_discovery_add_state_topic(cJSON *e, const struct sh_discovery_opts *opts, const char *id)
{
	add_topic(e, "state_topic", opts->base_topic, id, NULL);
}

void sh_discovery_add_command_topic(cJSON *e, const struct sh_discovery_opts *opts, const char *id)
{
	add_topic(e, "command_topic", opts->base_topic, id, "set");
}

cJSON *sh_discovery_control(cJSON *out, const struct sh_discovery_opts *opts,
			    const struct sh_discovery_device *dev, const char *component,
			    const char *object, const char *label)
{
	cJSON *e = sh_discovery_entity(out, opts, dev, component, object, label);

	sh_discovery_add_state_topic(e, opts, dev->id);
	sh_discovery_add_command_topic(e, opts, dev->id);
	return e;
}

cJSON *sh_discovery_switch(cJSON *out, const struct sh_discovery_opts *opts,
			   const struct sh_discovery_device *dev, const char *object,
			   const char *label, const char *value_template, const char *payload_on,
			   const char *payload_off)
{
	cJSON *e = sh_discovery_control(out, opts, dev, "switch", object, label);

	cJSON_AddStringToObject(e, "value_template", value_template);
	cJSON_AddStringToObject(e, "payload_on", payload_on);
	cJSON_AddStringToObject(e, "payload_off", payload_off);
	cJSON_AddStringToObject(e, "state_on", "ON");
	cJSON_AddStringToObject(e, "state_off", "OFF");
	return e;
}

/* The colour modes HA knows (homeassistant/components/light, ColorMode). */
static bool color_mode_known(const char *mode)
{
	static const char *const modes[] = {"onoff", "brightness", "color_temp", "hs",   "xy",
					    "rgb",   "rgbw",       "rgbww",      "white"};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(modes[i], mode) == 0)
			return true;
	return false;
}

/* The light's supported_color_modes: what the driver declared (modes HA
 * does not know are left out), else color_temp and rgb, what kinds.h
 * accepts. HA wants onoff and brightness alone. */
static cJSON *color_modes(const struct sh_discovery_device *dev, bool *dimmable)
{
	const cJSON *declared = cJSON_GetObjectItemCaseSensitive(dev->metadata, "color_modes");
	cJSON *modes = cJSON_CreateArray();
	const cJSON *m;

	*dimmable = true;
	for (m = cJSON_IsArray(declared) ? declared->child : NULL; m; m = m->next) {
		if (!cJSON_IsString(m) || !color_mode_known(m->valuestring))
			continue;
		if (!strcmp(m->valuestring, "onoff") || !strcmp(m->valuestring, "brightness")) {
			cJSON_Delete(modes);
			modes = cJSON_CreateArray();
			cJSON_AddItemToArray(modes, cJSON_CreateString(m->valuestring));
			*dimmable = strcmp(m->valuestring, "onoff") != 0;
			return modes;
		}
		cJSON_AddItemToArray(modes, cJSON_CreateString(m->valuestring));
	}
	if (cJSON_GetArraySize(modes) == 0) {
		cJSON_AddItemToArray(modes, cJSON_CreateString("color_temp"));
		cJSON_AddItemToArray(modes, cJSON_CreateString("rgb"));
	}
	return modes;
}

static double meta_number(const struct sh_discovery_device *dev, const char *key, double def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(dev->metadata, key);
	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static void light(cJSON *out, const struct sh_discovery_opts *opts,
		  const struct sh_discovery_device *dev)
{
	cJSON *e = sh_discovery_entity(out, opts, dev, "light", "light", NULL);
	bool dimmable;
	cJSON *modes = color_modes(dev, &dimmable);
	bool has_ct = false;
	const cJSON *m;

	cJSON_AddStringToObject(e, "schema", "json");
	sh_discovery_add_state_topic(e, opts, dev->id);
	sh_discovery_add_command_topic(e, opts, dev->id);
	cJSON_AddBoolToObject(e, "brightness", dimmable);
	if (dimmable)
		cJSON_AddNumberToObject(e, "brightness_scale", 255);
	cJSON_ArrayForEach(m, modes) has_ct |= strcmp(m->valuestring, "color_temp") == 0;
	cJSON_AddItemToObject(e, "supported_color_modes", modes);
	if (has_ct) {
		/* kind.h's color_temp range unless the driver knows better, in
		 * mireds like the commands. */
		cJSON_AddNumberToObject(e, "min_mireds", meta_number(dev, "min_mireds", 153));
		cJSON_AddNumberToObject(e, "max_mireds", meta_number(dev, "max_mireds", 500));
	}
	/* HA offers flash and transitions unless told otherwise: advertise
	 * what the driver declared, nothing more. */
	const cJSON *flash = cJSON_GetObjectItemCaseSensitive(dev->metadata, "supports_flash");
	cJSON_AddBoolToObject(e, "flash", cJSON_IsTrue(flash));
	cJSON_AddBoolToObject(e, "transition", meta_number(dev, "max_transition", 6553) > 0);
	const cJSON *effects = cJSON_GetObjectItemCaseSensitive(dev->metadata, "effects");
	if (cJSON_IsArray(effects) && cJSON_GetArraySize(effects) > 0) {
		cJSON_AddTrueToObject(e, "effect");
		cJSON_AddItemToObject(e, "effect_list", cJSON_Duplicate(effects, true));
	}
}

/* An ON/OFF switch on the device's `state`. */
static void power_switch(cJSON *out, const struct sh_discovery_opts *opts,
			 const struct sh_discovery_device *dev, const char *object,
			 const char *label)
{
	sh_discovery_switch(out, opts, dev, object, label, "{{ value_json.state }}", "ON", "OFF");
}

static void speaker(cJSON *out, const struct sh_discovery_opts *opts,
		    const struct sh_discovery_device *dev)
{
	/* The speaker's transport actions (kind.h). "play" takes a playlist
	 * name, which a button cannot ask for, so it has none. */
	static const struct {
		const char *object, *label, *payload;
	} buttons[] = {
		{"play", "Play", "{\"play\":true}"},
		{"pause", "Pause", "{\"pause\":true}"},
		{"stop", "Stop", "{\"stop\":true}"},
		{"next", "Next", "{\"next\":true}"},
		{"previous", "Previous", "{\"previous\":true}"},
	};
	cJSON *e;

	power_switch(out, opts, dev, "power", "Power");

	e = sh_discovery_control(out, opts, dev, "number", "volume", "Volume");
	cJSON_AddStringToObject(e, "value_template", "{{ value_json.volume }}");
	cJSON_AddStringToObject(e, "command_template", "{\"volume\": {{ value }} }");
	cJSON_AddNumberToObject(e, "min", 0);
	cJSON_AddNumberToObject(e, "max", 100);
	cJSON_AddNumberToObject(e, "step", 1);
	cJSON_AddStringToObject(e, "mode", "slider");
	cJSON_AddStringToObject(e, "icon", "mdi:volume-high");

	e = sh_discovery_switch(out, opts, dev, "mute", "Mute",
				"{{ 'ON' if value_json.mute else 'OFF' }}", "{\"mute\": true}",
				"{\"mute\": false}");
	cJSON_AddStringToObject(e, "icon", "mdi:volume-off");

	for (size_t i = 0; i < ARRAY_SIZE(buttons); i++) {
		e = sh_discovery_entity(out, opts, dev, "button", buttons[i].object,
					buttons[i].label);
		sh_discovery_add_command_topic(e, opts, dev->id);
		cJSON_AddStringToObject(e, "payload_press", buttons[i].payload);
	}
}

/* "battery_low" -> "Battery low" */
static void label_of(const char *key, char *buf, size_t len)
{
	size_t n = 0;

	for (; key[n] && n + 1 < len; n++)
		buf[n] = key[n] == '_' ? ' ' : key[n];
	buf[n] = '\0';
	if (n)
		buf[0] = (char)toupper((unsigned char)buf[0]);
}

/* One reading entity. `value` is the reading's current value (NULL when
 * only configured): a boolean or a known binary name makes a binary_sensor. */
static void reading(cJSON *out, const struct sh_discovery_opts *opts,
		    const struct sh_discovery_device *dev, const char *key, const cJSON *value)
{
	/* A reading's name goes into a Jinja template ('...' in
	 * value_json['co2 ppm']) and comes from a device (an exec tool's
	 * JSON): one that could leave the string or start Jinja syntax (a
	 * quote, a backslash, a brace, %, #) or holds a control byte is not
	 * announced at all. */
	size_t n = 0;
	for (; key[n]; n++)
		if ((unsigned char)key[n] < 0x20 || key[n] == 0x7f || strchr("'\"\\{}%#", key[n]))
			return;
	if (n == 0 || n > 64)
		return;
	const struct reading_info *info = reading_lookup(key);
	const cJSON *declared = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(dev->metadata, "readings"), key);
	const char *device_class = dev->device_class;
	const char *unit = dev->unit;
	const char *state_class = dev->state_class;
	char label[SH_DISCOVERY_SLUG_MAX], tmpl[SH_DISCOVERY_SLUG_MAX + 32];
	cJSON *e;

	/* The user's configuration says most, then the driver, which knows
	 * its device, then the reading's name. */
	if (!device_class)
		device_class = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(declared, "device_class"));
	if (!unit)
		unit = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(declared, "unit"));
	if (!state_class)
		state_class = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(declared, "state_class"));
	if (!device_class && info)
		device_class = info->device_class;
	if (!unit && info)
		unit = info->unit;
	if (!state_class && info)
		state_class = info->state_class;
	/* Without a value yet, a reading with a unit is a number. */
	bool binary = value ? cJSON_IsBool(value) : (info && info->binary && !unit);

	label_of(key, label, sizeof(label));
	sh_discovery_value_template(tmpl, sizeof(tmpl), key);
	e = sh_discovery_entity(out, opts, dev, binary ? "binary_sensor" : "sensor", key, label);
	sh_discovery_add_state_topic(e, opts, dev->id);
	cJSON_AddStringToObject(e, "value_template", tmpl);
	if (device_class)
		cJSON_AddStringToObject(e, "device_class", device_class);
	if (binary) {
		/* Home Assistant renders a JSON boolean as True/False and compares
		 * it with the payloads as strings; a string reading compares as
		 * the ON/OFF the drivers use for switches. */
		if (value && cJSON_IsString(value)) {
			cJSON_AddStringToObject(e, "payload_on", "ON");
			cJSON_AddStringToObject(e, "payload_off", "OFF");
		} else {
			cJSON_AddTrueToObject(e, "payload_on");
			cJSON_AddFalseToObject(e, "payload_off");
		}
		return;
	}
	if (unit)
		cJSON_AddStringToObject(e, "unit_of_measurement", unit);
	cJSON_AddStringToObject(e, "state_class", state_class ? state_class : "measurement");
}

/* The readings a driver declared for a kind whose own entity is not a
 * sensor: a metering plug's power and energy (the shelly driver's). */
static void declared_readings(cJSON *out, const struct sh_discovery_opts *opts,
			      const struct sh_discovery_device *dev)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(dev->metadata, "readings"))
	{
		if (item->string && item->string[0])
			reading(out, opts, dev, item->string,
				cJSON_GetObjectItemCaseSensitive(dev->state, item->string));
	}
}

static void sensor(cJSON *out, const struct sh_discovery_opts *opts,
		   const struct sh_discovery_device *dev)
{
	const cJSON *declared = cJSON_GetObjectItemCaseSensitive(dev->metadata, "readings");
	const cJSON *item;

	/* Declared readings first, so a sensor is announced before its first
	 * report; what it reports then refines the entity (boolean or not). */
	cJSON_ArrayForEach(item, declared)
	{
		if (item->string && item->string[0] &&
		    !cJSON_HasObjectItem(dev->state, item->string))
			reading(out, opts, dev, item->string, NULL);
	}
	cJSON_ArrayForEach(item, dev->state)
	{
		const struct reading_info *info = reading_lookup(item->string);

		/* Numbers and booleans are readings; a string is one only when
		 * its name says binary (motion: "ON"). */
		if (cJSON_IsNumber(item) || cJSON_IsBool(item) ||
		    (cJSON_IsString(item) && info && info->binary))
			reading(out, opts, dev, item->string, item);
	}
}

/* A device its driver declares announced elsewhere (a Zigbee2MQTT bulb, a
 * Tasmota plug: their own bridge or firmware does it) would show twice in
 * Home Assistant if announced here too. */
static bool announced_elsewhere(const struct sh_discovery_device *dev)
{
	return cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(dev->metadata, "discovery"));
}

cJSON *sh_discovery_device(const struct sh_discovery_opts *opts,
			   const struct sh_discovery_device *dev)
{
	cJSON *out = cJSON_CreateObject();

	struct sh_kind_spec defaults;
	const struct sh_kind_spec *spec = dev->spec;

	if (!out || !dev->kind || announced_elsewhere(dev))
		return out;
	if (!spec) {
		sh_kind_spec_init(&defaults, dev->kind);
		spec = &defaults;
	}
	if (strcmp(dev->kind, "light") == 0)
		light(out, opts, dev);
	else if (strcmp(dev->kind, "switch") == 0) {
		power_switch(out, opts, dev, "switch", NULL);
		declared_readings(out, opts, dev);
	} else if (strcmp(dev->kind, "speaker") == 0)
		speaker(out, opts, dev);
	else if (strcmp(dev->kind, "sensor") == 0)
		sensor(out, opts, dev);
	else if (strcmp(dev->kind, "cover") == 0)
		sh_discovery_cover(out, opts, dev);
	else if (strcmp(dev->kind, "lock") == 0)
		sh_discovery_lock(out, opts, dev);
	else if (strcmp(dev->kind, "climate") == 0)
		sh_discovery_climate(out, opts, dev, spec);
	else if (strcmp(dev->kind, "fan") == 0)
		sh_discovery_fan(out, opts, dev, spec);
	else if (strcmp(dev->kind, "button") == 0)
		sh_discovery_button(out, opts, dev, spec);
	else if (strcmp(dev->kind, "custom") == 0)
		sh_discovery_custom(out, opts, dev, spec);
	return out;
}

cJSON *sh_discovery_scene(const struct sh_discovery_opts *opts, const char *name,
			  const char *friendly_name)
{
	char slug[SH_DISCOVERY_SLUG_MAX], topic[SH_DISCOVERY_SLUG_MAX + 256], buf[512];
	cJSON *out = cJSON_CreateObject();
	cJSON *e = cJSON_CreateObject();

	sh_discovery_slug(name, slug, sizeof(slug));
	snprintf(topic, sizeof(topic), "%s/scene/smarthub_bridge/%s/config", opts->prefix, slug);
	cJSON_AddStringToObject(e, "name", friendly_name ? friendly_name : name);
	snprintf(buf, sizeof(buf), "smarthub_scene_%s", name);
	cJSON_AddStringToObject(e, "unique_id", buf);
	default_entity_id(buf, sizeof(buf), "scene", "smarthub", slug);
	cJSON_AddStringToObject(e, "default_entity_id", buf);
	snprintf(buf, sizeof(buf), "%s/scene/%s/set", opts->base_topic, name);
	cJSON_AddStringToObject(e, "command_topic", buf);
	cJSON_AddStringToObject(e, "payload_on", "run");
	cJSON_AddItemToObject(e, "device", bridge_device_block(opts));
	cJSON_AddItemToObject(e, "availability", availability(opts, NULL));
	cJSON_AddStringToObject(e, "availability_mode", "all");
	cJSON_AddItemToObject(out, topic, e);
	return out;
}

cJSON *sh_discovery_bridge(const struct sh_discovery_opts *opts)
{
	char topic[256];
	cJSON *out = cJSON_CreateObject();
	cJSON *e = cJSON_CreateObject();

	snprintf(topic, sizeof(topic), "%s/binary_sensor/smarthub_bridge/connection_state/config",
		 opts->prefix);
	cJSON_AddStringToObject(e, "name", "Connection state");
	cJSON_AddStringToObject(e, "unique_id", "smarthub_bridge_connection_state");
	cJSON_AddStringToObject(e, "default_entity_id",
				"binary_sensor.smarthub_bridge_connection_state");
	add_topic(e, "state_topic", opts->base_topic, "bridge", "state");
	cJSON_AddStringToObject(e, "value_template", "{{ value_json.state }}");
	cJSON_AddStringToObject(e, "payload_on", "online");
	cJSON_AddStringToObject(e, "payload_off", "offline");
	cJSON_AddStringToObject(e, "device_class", "connectivity");
	cJSON_AddStringToObject(e, "entity_category", "diagnostic");
	cJSON_AddItemToObject(e, "device", bridge_device_block(opts));
	cJSON_AddItemToObject(out, topic, e);
	return out;
}
