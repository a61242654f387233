/* SPDX-License-Identifier: MIT */
/*
 * Home Assistant MQTT discovery: the retained config payloads that make a
 * device, each of its entities, each scene and the bridge itself appear in
 * Home Assistant. Pure functions: plain inputs in, a cJSON object out, no
 * broker, no hub, so tests can check every payload directly.
 *
 * Topics are `<prefix>/<component>/smarthub_<id>/<object>/config`, always
 * with the <object> level so a device with several entities (a speaker, a
 * multi-reading sensor) needs no special case. Home Assistant allows only
 * [a-zA-Z0-9_-] in those two levels, so ids are slugged for the topic
 * (identifiers and unique_ids keep the real id).
 *
 * Every builder returns an object mapping each discovery topic to its
 * payload: {"homeassistant/light/smarthub_lamp/light/config": {...}}. The
 * caller owns it. An unknown kind gives an empty object.
 */
#ifndef SMARTHUB_DISCOVERY_H
#define SMARTHUB_DISCOVERY_H

#include "kinds/kind.h"
#include <cjson/cJSON.h>
#include <smarthub/plugin.h>
#include <stddef.h>

/* Longest topic level or object id we build; longer ids are truncated in
 * the topic (unique_id keeps them whole). */
#define SH_DISCOVERY_SLUG_MAX 128

struct sh_discovery_opts {
	const char *prefix;     /* homeassistant.prefix, e.g. "homeassistant" */
	const char *base_topic; /* mqtt.base_topic, e.g. "smarthub" */
	const char *version;    /* the daemon's version, for the bridge device */
};

/* What discovery needs to know of a device; all borrowed. */
struct sh_discovery_device {
	const char *id;
	const char *name;   /* friendly name; NULL: the id */
	const char *kind;   /* one of sh_kinds */
	const char *driver; /* becomes the device's model */
	const cJSON *state; /* current state (reading keys); may be NULL */
	/* The device's own configuration (common keys; NULL when absent):
	 * they override what the driver and the reading's name suggest. */
	const char *unit, *device_class, *state_class;
	/* What the driver declared (host->set_metadata; may be NULL):
	 * "readings" announces readings before the device reported any, with
	 * their unit/device_class/state_class; a light's "color_modes",
	 * "supports_flash", "max_transition", "min_mireds"/"max_mireds",
	 * "effects"; "model", "manufacturer", "sw_version"; "discovery"
	 * false: announced by its own firmware or bridge, so none here. */
	const cJSON *metadata;
	/* The device's kind options (modes, presets, event_types, custom
	 * properties); NULL: the kind's defaults. */
	const struct sh_kind_spec *spec;
};

/* The entities of one device. NULL only when out of memory. */
cJSON *sh_discovery_device(const struct sh_discovery_opts *opts,
			   const struct sh_discovery_device *dev);
/* A scene as a `scene` entity of the bridge device. */
cJSON *sh_discovery_scene(const struct sh_discovery_opts *opts, const char *name,
			  const char *friendly_name);
/* The bridge device itself: a connectivity binary_sensor on bridge/state,
 * so that via_device "smarthub_bridge" names a real device. */
cJSON *sh_discovery_bridge(const struct sh_discovery_opts *opts);

/* Writes `in` with every character outside [a-zA-Z0-9_-] replaced by '_'
 * into `out` (at most len - 1 characters). Returns `out`. */
char *sh_discovery_slug(const char *in, char *out, size_t len);

#endif
