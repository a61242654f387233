/* SPDX-License-Identifier: MIT */
/*
 * What the hub, the devices and the host API share and nobody else sees:
 * the device structure and the calls between the three. Modules outside
 * hub.c, device.c and host.c use device.h.
 */
#ifndef SMARTHUB_DEVICE_INTERNAL_H
#define SMARTHUB_DEVICE_INTERNAL_H

#include "core/device.h"
#include "core/hub.h"
#include "core/loader.h"
#include "util/log.h"
#include "util/worker.h"
#include <ev.h>

struct sh_command;
struct sh_host_resource;

/* A configuration shared by the devices created from it: a device keeps
 * the one it was created from alive (its driver may hold option strings),
 * even after a reload put a newer one in force. */
struct sh_config_ref {
	struct sh_config *config;
	unsigned refs;
};

struct sh_device {
	struct sh_hub *hub;
	struct sh_config_ref *config_ref;
	const struct sh_device_config *cfg; /* inside config_ref->config */
	const struct sh_plugin *plugin;
	void *priv;

	enum sh_device_conn conn;
	bool started;      /* the hub asked it to run */
	bool waiting_slot; /* waiting for a free connection slot */
	bool holds_slot;   /* counts against hub.max_connecting */
	unsigned failures; /* consecutive failed connection attempts */
	char *last_error;
	ev_timer conn_timer; /* connect timeout, or the backoff delay */
	uint64_t connect_started_ms;
	struct sh_ratelimit complain; /* repeated connection failures */

	cJSON *state;

	/* Commands: `queue` waits, `running` is with the driver. */
	struct sh_command *queue_head, *queue_tail;
	size_t queue_len;
	struct sh_command *running;
	struct sh_command *held_offline; /* queue_while_offline: the latest */
	uint64_t next_command_id;
	uint64_t last_start_ms; /* for min_interval */
	bool has_started_command;
	ev_timer command_timer; /* command_timeout */
	ev_timer spacing_timer; /* min_interval */
	bool dispatching;

	/* Timers, watchers and jobs the driver holds, freed with the device. */
	struct sh_host_resource *resources;
	/* Host services (host.c). */
	struct sh_ratelimit complaints[SH_COMPLAIN_SLOTS];
	bool complained[SH_COMPLAIN_SLOTS]; /* since the last complain_clear */
	cJSON *metadata;                    /* set_metadata: discovery facts */
	struct sh_timer *poll_timer;        /* poll_every */
	uint64_t poll_interval_ms;
	/* Option readers' state while create() runs; opt_err keeps the first. */
	int opt_err;
	struct sh_diag *create_diag;
	char **owned_strings; /* argv arrays handed to the driver */
	size_t n_owned_strings;
};

/* device.c */
int sh_device_create(struct sh_hub *hub, struct sh_config_ref *ref,
		     const struct sh_device_config *cfg, const struct sh_plugin *plugin,
		     struct sh_diag *diag, struct sh_device **out);
/* Starts connecting when every dependency is online, else waits. */
void sh_device_start(struct sh_device *dev);
/* A dependency came online or went offline. */
void sh_device_dependency_changed(struct sh_device *dev);
/* A connection slot became free (hub.max_connecting). */
void sh_device_slot_available(struct sh_device *dev);
/* Disconnects, fails its commands with -ECANCELED, frees. NULL ok. */
void sh_device_destroy(struct sh_device *dev);
/* Disconnects and marks offline without freeing (shutdown). */
void sh_device_stop(struct sh_device *dev);

/* Driver reports, called by host.c. */
void sh_device_on_connected(struct sh_device *dev);
void sh_device_on_connect_failed(struct sh_device *dev, const char *reason);
void sh_device_on_connection_lost(struct sh_device *dev, const char *reason);
void sh_device_on_state(struct sh_device *dev, const cJSON *patch);
void sh_device_on_command_done(struct sh_device *dev, uint64_t id, int err, const char *reason);

/* hub.c */
extern const struct sh_host sh_host_api;
struct sh_worker_pool *sh_hub_workers(const struct sh_hub *hub);
/* Connection slots for hub.max_connecting: take returns false when none
 * is free (the device is then called back with sh_device_slot_available). */
bool sh_hub_take_slot(struct sh_hub *hub, struct sh_device *dev);
void sh_hub_release_slot(struct sh_hub *hub, struct sh_device *dev);
/* A device's availability changed: its dependents are told. */
void sh_hub_availability_changed(struct sh_hub *hub, struct sh_device *dev);
uint64_t sh_hub_now_ms(const struct sh_hub *hub);

/* host.c: frees every timer, watcher and job the driver left behind. */
void sh_host_release_all(struct sh_device *dev);

#endif
