/* SPDX-License-Identifier: MIT */
/*
 * The MQTT bridge: Paho MQTTAsync driven from the hub's loop. It publishes
 * bridge state, device state and availability, the device and scene lists,
 * scene status, events and Home Assistant discovery, and routes commands
 * and requests that arrive into the hub.
 *
 * Paho's callbacks run on Paho's threads: they only copy messages into a
 * bounded inbox and wake the loop (ev_async); everything else happens on
 * the loop thread. Created by main after the first configuration is in
 * force; listens to the hub's events itself.
 */
#ifndef SMARTHUB_BRIDGE_H
#define SMARTHUB_BRIDGE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

struct sh_hub;
struct sh_bridge;
struct sh_scene_engine;

/* Asked for by bridge/request/reload: re-reads the configuration and
 * returns 0 or a negative errno with a reason. */
typedef int (*sh_reload_fn)(void *ctx, char *reason, size_t reason_len);

/* Reads the mqtt settings from the hub's configuration; runs and shows the
 * scenes of `scenes`. Both are borrowed and must outlive the bridge. */
int sh_bridge_new(struct sh_hub *hub, struct sh_scene_engine *scenes, struct sh_bridge **out);
void sh_bridge_set_reload_handler(struct sh_bridge *bridge, sh_reload_fn fn, void *ctx);
/* Starts connecting; never blocks, retries with backoff by itself. */
int sh_bridge_start(struct sh_bridge *bridge);
bool sh_bridge_connected(const struct sh_bridge *bridge);
/* Publishes the offline bridge state and disconnects, waiting at most
 * `timeout_ms` for the broker. */
void sh_bridge_stop(struct sh_bridge *bridge, unsigned timeout_ms);
void sh_bridge_free(struct sh_bridge *bridge);

/*
 * Automations (bridge_automations.c), through functions main hands over,
 * since mqtt and automations do not know each other: status and trace are
 * the caller's JSON; `command` takes smarthub/automation/<name>/set and
 * returns 0 or a negative errno with a reason; `filters` are the mqtt
 * triggers' (NULL-terminated, borrowed until the next change); `message`
 * gets every message matching them outside the hub's command topics.
 */
struct sh_bridge_automation_ops {
	void *ctx;
	size_t (*count)(void *ctx);
	const char *(*name)(void *ctx, size_t index);
	cJSON *(*status)(void *ctx, const char *name);
	cJSON *(*trace)(void *ctx, const char *name);
	int (*command)(void *ctx, const char *name, const char *payload, size_t len, char *reason,
		       size_t reason_len);
	const char *const *(*filters)(void *ctx);
	void (*message)(void *ctx, const char *topic, const char *payload, size_t len);
};
/* `ops` is copied. */
void sh_bridge_set_automations(struct sh_bridge *bridge,
			       const struct sh_bridge_automation_ops *ops);
/* An automation's status changed, or (name NULL) the set of automations. */
void sh_bridge_automation_changed(struct sh_bridge *bridge, const char *name);

#endif
