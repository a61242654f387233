/* SPDX-License-Identifier: MIT */
/*
 * The mqtt and homeassistant settings every piece of the bridge reads
 * (transport, topic API, automations, drivers' MQTT), copied from the
 * configuration in force when the bridge was made. This module owns the
 * copies and the rule of what a reload may change: discovery and its
 * prefix follow the file; the base topic (and with it every topic the
 * bridge owns) stays until a restart. The transport holds the one
 * instance and lends it read-only to the pieces (struct sh_bridge_env).
 */
#ifndef SMARTHUB_BRIDGE_SETTINGS_H
#define SMARTHUB_BRIDGE_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

struct sh_config;

struct sh_bridge_settings {
	char *base; /* mqtt.base_topic */
	int qos;    /* mqtt.qos, of states and retained topics */
	bool retain;
	size_t max_payload;    /* mqtt.max_payload: larger messages are refused */
	bool discovery;        /* homeassistant.discovery */
	char *ha_prefix;       /* homeassistant.prefix */
	char *ha_status_topic; /* homeassistant.status_topic; may be NULL */
};

/* Copies what `config` (borrowed) resolved. 0 or -ENOMEM, after which `s`
 * holds nothing to free. */
int sh_bridge_settings_init(struct sh_bridge_settings *s, const struct sh_config *config);
/* A new configuration is in force: takes discovery and its prefix (the
 * old prefix stays if the copy fails). Returns true when discovery was
 * turned on by it. */
bool sh_bridge_settings_apply(struct sh_bridge_settings *s, const struct sh_config *config);
/* Frees the copies; a zeroed `s` is accepted. */
void sh_bridge_settings_free(struct sh_bridge_settings *s);
/* Builds "<base>/<a>[/<sub>]" into buf (len bytes; topics are bounded at
 * load, see config.c) and returns buf. */
const char *sh_bridge_topic(const struct sh_bridge_settings *s, char *buf, size_t len,
			    const char *a, const char *sub);

#endif
