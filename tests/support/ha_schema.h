/* SPDX-License-Identifier: MIT */
/*
 * A checker of Home Assistant MQTT discovery payloads against
 * tests/ha-schema/mqtt-discovery.json, the schema file written from Home
 * Assistant's own platform schemas: unknown keys (object_id among them),
 * missing required keys, wrong value types, values outside HA's
 * enumerations, and the cross-field checks HA's validators make (colour
 * modes, min below max, a sensor's unit for its device class, ...).
 */
#ifndef SMARTHUB_TEST_HA_SCHEMA_H
#define SMARTHUB_TEST_HA_SCHEMA_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* The schema file at `path`, parsed; NULL when unreadable. Caller frees
 * with cJSON_Delete. */
cJSON *ha_schema_load(const char *path);

/*
 * Checks `payload` published on discovery topic `topic`
 * (<prefix>/<component>/<node>/[<object>/]config). Returns 0, or -1 with
 * the first problem found in `why` ("light: unknown key 'object_id'").
 */
int ha_schema_check(const cJSON *schema, const char *topic, const cJSON *payload, char *why,
		    size_t why_len);

#endif
