/* SPDX-License-Identifier: MIT */
/*
 * The hub: the devices and what drives them, on one libev loop. It owns the
 * configuration in force, the loaded plugins, the worker pool and the
 * devices, and tells listeners (the scene engine, the automations, the MQTT
 * bridge, tests, the systemd status) what happens through events. It knows
 * none of its listeners: they hold their own reference to the
 * configuration (sh_config_hold) and switch on SH_EV_CONFIG_APPLIED.
 *
 * All of it lives on the loop thread.
 */
#ifndef SMARTHUB_HUB_H
#define SMARTHUB_HUB_H

#include "config/config.h"
#include "core/device.h"
#include <ev.h>

struct sh_mqtt_service;

enum sh_event_type {
	SH_EV_DEVICE_ADDED,        /* device */
	SH_EV_DEVICE_REMOVED,      /* device, about to be freed */
	SH_EV_DEVICE_CONNECTING,   /* device: a connection attempt starts */
	SH_EV_DEVICE_AVAILABILITY, /* device: online/offline changed; reason when offline */
	SH_EV_DEVICE_STATE,        /* device: its state object changed */
	SH_EV_COMMAND_STARTED,     /* device, command_id, command: handed to the driver */
	SH_EV_COMMAND_DONE,        /* device, command_id, err, reason */
	SH_EV_DEVICE_EVENT,        /* device, data: the event object (host->event) */
	SH_EV_SCENE_STATE,         /* scene: its status changed */
	SH_EV_ERROR,               /* something a user should see on bridge/event:
				      device (may be NULL), topic (may be NULL), reason */
	SH_EV_CONFIG_APPLIED,      /* a configuration (first or reloaded) is in force:
				      sh_hub_config() gives it; hold it to keep it */
};

struct sh_event {
	enum sh_event_type type;
	struct sh_device *device;
	const char *scene;
	uint64_t command_id;
	const cJSON *command;
	int err;
	const char *reason;
	const char *topic;
	const cJSON *data; /* SH_EV_DEVICE_EVENT; borrowed for the call */
};

/* Listeners are called synchronously, in registration order, on the loop
 * thread. They must not remove devices. */
typedef void (*sh_listener_fn)(void *ctx, const struct sh_event *event);

struct sh_hub;

/* Creates a hub on `loop` (borrowed; must outlive the hub). */
int sh_hub_new(struct ev_loop *loop, struct sh_hub **out);
/*
 * Loads the plugins of `config` and creates its devices (driver create(), no
 * I/O), adding every error to `diag`. With `check_only` it stops there and
 * frees what it made. Otherwise it puts `config` in force: on the first
 * call every device starts connecting; on a later call (reload) only the
 * difference is applied: unchanged devices keep their connection and
 * state, changed ones are recreated, removed ones are disconnected (with a
 * SH_EV_DEVICE_REMOVED), new ones connect.
 * Ownership of `config` passes to the hub on success (not with check_only);
 * on failure it stays the caller's and the running configuration is
 * untouched.
 */
int sh_hub_apply(struct sh_hub *hub, struct sh_config *config, bool check_only,
		 struct sh_diag *diag);
/* Validates a configuration with its plugins without touching the hub's
 * devices: sh_hub_apply(..., true, ...). */
int sh_hub_check(struct sh_hub *hub, struct sh_config *config, struct sh_diag *diag);
/* Disconnects every device (for shutdown; stop the listeners' work first). */
void sh_hub_stop(struct sh_hub *hub);
void sh_hub_free(struct sh_hub *hub);

struct ev_loop *sh_hub_loop(const struct sh_hub *hub);
const struct sh_config *sh_hub_config(const struct sh_hub *hub);
/* Overrides plugins.dir (the --plugin-dir option); copied. */
void sh_hub_set_plugin_dir(struct sh_hub *hub, const char *dir);

size_t sh_hub_device_count(const struct sh_hub *hub);
struct sh_device *sh_hub_device_at(const struct sh_hub *hub, size_t index);
struct sh_device *sh_hub_find_device(const struct sh_hub *hub, const char *id);
size_t sh_hub_devices_online(const struct sh_hub *hub);

/* The MQTT service for drivers (core/mqtt_service.h), borrowed while set;
 * NULL unregisters. sh_hub_mqtt_service is NULL while none is set. */
void sh_hub_set_mqtt_service(struct sh_hub *hub, const struct sh_mqtt_service *service);
const struct sh_mqtt_service *sh_hub_mqtt_service(const struct sh_hub *hub);

int sh_hub_listen(struct sh_hub *hub, sh_listener_fn fn, void *ctx);
void sh_hub_unlisten(struct sh_hub *hub, sh_listener_fn fn, void *ctx);
/* Delivers `event` to every listener. */
void sh_hub_emit(struct sh_hub *hub, const struct sh_event *event);
/* Emits SH_EV_ERROR with a formatted reason. */
void sh_hub_error(struct sh_hub *hub, struct sh_device *dev, const char *topic, const char *fmt,
		  ...) __attribute__((format(printf, 4, 5)));

#endif
