/* SPDX-License-Identifier: MIT */
/*
 * What discovery.c (the entity frame, lights, switches, speakers, sensors,
 * scenes and the bridge) shares with discovery_kinds.c (covers, locks,
 * climates, fans, buttons and custom devices). Not used elsewhere.
 */
#ifndef SMARTHUB_DISCOVERY_INTERNAL_H
#define SMARTHUB_DISCOVERY_INTERNAL_H

#include "mqtt/discovery.h"

/*
 * Starts one entity of `dev` under `component`/`object`: its topic key in
 * `out` and the keys every entity carries (unique_id, default_entity_id,
 * device, availability, origin). `label` is the entity's own name; NULL
 * makes it the device's main entity, named after the device. Returns the
 * entity object (owned by `out`).
 */
cJSON *sh_discovery_entity(cJSON *out, const struct sh_discovery_opts *opts,
			   const struct sh_discovery_device *dev, const char *component,
			   const char *object, const char *label);
/* "<base>/<id>" as state_topic and "<base>/<id>/set" as command_topic. */
void sh_discovery_add_state_topic(cJSON *e, const struct sh_discovery_opts *opts, const char *id);
void sh_discovery_add_command_topic(cJSON *e, const struct sh_discovery_opts *opts, const char *id);
/* An entity that shows and sets the device's state: sh_discovery_entity
 * with the state and command topics. Owned by `out`. */
cJSON *sh_discovery_control(cJSON *out, const struct sh_discovery_opts *opts,
			    const struct sh_discovery_device *dev, const char *component,
			    const char *object, const char *label);
/* A switch: `value_template` gives "ON" or "OFF" from the device's state,
 * `payload_on` and `payload_off` are the commands it sends. All borrowed
 * (copied); the entity is owned by `out`. */
cJSON *sh_discovery_switch(cJSON *out, const struct sh_discovery_opts *opts,
			   const struct sh_discovery_device *dev, const char *object,
			   const char *label, const char *value_template, const char *payload_on,
			   const char *payload_off);
/* "{{ value_json.key }}" (or value_json['key'] for names Jinja cannot
 * reach as an attribute) into buf. */
void sh_discovery_value_template(char *buf, size_t len, const char *key);

/* The kinds of discovery_kinds.c. */
void sh_discovery_cover(cJSON *out, const struct sh_discovery_opts *opts,
			const struct sh_discovery_device *dev);
void sh_discovery_lock(cJSON *out, const struct sh_discovery_opts *opts,
		       const struct sh_discovery_device *dev);
void sh_discovery_climate(cJSON *out, const struct sh_discovery_opts *opts,
			  const struct sh_discovery_device *dev, const struct sh_kind_spec *spec);
void sh_discovery_fan(cJSON *out, const struct sh_discovery_opts *opts,
		      const struct sh_discovery_device *dev, const struct sh_kind_spec *spec);
void sh_discovery_button(cJSON *out, const struct sh_discovery_opts *opts,
			 const struct sh_discovery_device *dev, const struct sh_kind_spec *spec);
void sh_discovery_custom(cJSON *out, const struct sh_discovery_opts *opts,
			 const struct sh_discovery_device *dev, const struct sh_kind_spec *spec);

#endif
