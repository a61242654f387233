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
#include "util/list.h"
#include "util/log.h"
#include "util/worker.h"
#include <ev.h>

/* Room for the option names a driver asks for during create(). */
#define SH_DEVICE_ASKED_BYTES 1024

struct sh_command;
struct sh_reports;
struct sh_complaints;

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
	struct sh_list queue; /* struct sh_command.link, in arrival order */
	size_t queue_len;
	struct sh_command *running;
	struct sh_command *held_offline; /* queue_while_offline: the latest */
	uint64_t next_command_id;
	uint64_t last_start_ms; /* for min_interval */
	bool has_started_command;
	ev_timer command_timer; /* command_timeout */
	ev_timer spacing_timer; /* min_interval */
	/* Refreshes (/get) are spaced like commands and coalesced: one
	 * waits in refresh_timer, the rest join it. */
	ev_timer refresh_timer;
	uint64_t last_refresh_ms;
	bool has_refreshed;
	bool dispatching;

	/* Timers, watchers, child watches and peer watches the driver holds
	 * (host.c's struct host_resource.link), freed with the device. */
	struct sh_list resources;
	/* Reports made inside a driver callback, not delivered yet
	 * (reports.c's struct sh_report.dev_link), in order. */
	struct sh_list reports;
	/* Bumped each time the daemon calls disconnect(): a connected/failed
	 * report queued before it belongs to an attempt that is over. */
	unsigned conn_epoch;
	/* Host services (host.c). */
	/* complain(): allocated at the first complaint, since most devices
	 * never make one (9 x 40 bytes each at thousands of devices). */
	struct sh_complaints *complaints;
	cJSON *metadata;     /* set_metadata: discovery facts */
	ev_timer poll_timer; /* poll_every; inactive when 0 */
	bool poll_missed;    /* a poll came due while a command ran */
	/* Option readers' state while create() runs; opt_err keeps the first. */
	int opt_err;
	struct sh_diag *create_diag;
	/* Every key the driver asked for, NUL-separated (bounded), so an
	 * unknown option can be answered with "did you mean". Only while
	 * create() runs (NULL otherwise): a kilobyte a device kept for good
	 * was 5 MB of 5,000 devices. */
	char *asked_keys;
	size_t asked_len;
	char **owned_strings; /* argv arrays handed to the driver */
	size_t n_owned_strings;
};

/* device.c */
int sh_device_create(struct sh_hub *hub, struct sh_config_ref *ref,
		     const struct sh_device_config *cfg, const struct sh_plugin *plugin,
		     struct sh_diag *diag, struct sh_device **out);
/* Reports the driver options of `cfg` no driver read: a near miss of a
 * common key (conect_timeout) as that, the rest as unknown options of the
 * driver with did-you-mean among the keys it asked for. `dev` is the device
 * whose create() just ran; NULL when no driver could be asked (not found,
 * or kind unknown): then only the common-key typos are reported. */
void sh_device_report_unused(const struct sh_device_config *cfg, const struct sh_device *dev,
			     struct sh_diag *diag);
/* Starts connecting when every dependency is online, else waits. */
void sh_device_start(struct sh_device *dev);
/* A dependency came online or went offline. */
void sh_device_dependency_changed(struct sh_device *dev);
/* A connection slot became free (hub.max_connecting). */
void sh_device_slot_available(struct sh_device *dev);
/* What the hub asks of a device it holds (hub.c reads no field itself):
 * whether it waits for a connection slot, whether the hub started it, and
 * the configuration it was created from. */
bool sh_device_waiting_slot(const struct sh_device *dev);
bool sh_device_started(const struct sh_device *dev);
struct sh_config_ref *sh_device_config_ref(const struct sh_device *dev);
/* Disconnects, fails its commands with -ECANCELED, frees. NULL ok. */
void sh_device_destroy(struct sh_device *dev);
/* Disconnects and marks offline without freeing (shutdown). */
void sh_device_stop(struct sh_device *dev);

/* Driver reports, called by host.c (directly or from the report queue). */
void sh_device_on_connected(struct sh_device *dev);
void sh_device_on_connect_failed(struct sh_device *dev, const char *reason);
void sh_device_on_connection_lost(struct sh_device *dev, const char *reason);
void sh_device_on_state(struct sh_device *dev, const cJSON *patch);
void sh_device_on_command_done(struct sh_device *dev, uint64_t id, int err, const char *reason);
void sh_device_on_event(struct sh_device *dev, const cJSON *event);

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
struct sh_reports *sh_hub_reports(const struct sh_hub *hub);
/* host.c's watch_peer subscriptions, all devices' (struct host_peer). */
struct sh_list *sh_hub_peer_watches(struct sh_hub *hub);

/* host.c: frees every timer, watcher, peer watch and job the driver left
 * behind, stops its poll timer, drops its undelivered reports and forgets
 * its complaints. */
void sh_host_release_all(struct sh_device *dev);
/* host.c: device `dev`'s state or availability changed: its watchers are
 * told (watch_peer). */
void sh_host_peer_changed(struct sh_device *dev);
/* host.c: a configuration was put in force: watches of a peer that is
 * gone get their final call (state NULL, offline). */
void sh_host_peers_applied(struct sh_hub *hub);
/* host.c: a command ended; a poll that came due meanwhile runs now. */
void sh_host_command_ended(struct sh_device *dev);

/*
 * reports.c: the hub's queue of reports made while the daemon is inside a
 * driver callback (plugin.h's completion contract). Bounded by
 * SH_REPORTS_LIMIT per hub; delivered in order by an idle watcher of the
 * highest priority, so on the next loop iteration, before other I/O.
 */
#define SH_REPORTS_LIMIT 65536

enum sh_report_type {
	SH_REPORT_CONNECTED,
	SH_REPORT_FAILED,       /* text: the reason or NULL */
	SH_REPORT_STATE,        /* json: the patch */
	SH_REPORT_COMMAND_DONE, /* id, err, text: the reason or NULL */
	SH_REPORT_EVENT,        /* json: the event */
	SH_REPORT_PEER_FIRST,   /* target: the struct host_peer (host.c) */
};

struct sh_report {
	struct sh_list link;     /* in the hub's queue */
	struct sh_list dev_link; /* in dev->reports */
	struct sh_device *dev;
	enum sh_report_type type;
	unsigned epoch; /* dev->conn_epoch when it was made */
	uint64_t id;
	int err;
	char *text;
	cJSON *json;
	void *target;
};

int sh_reports_new(struct ev_loop *loop, struct sh_reports **out);
/* Drops whatever is queued. NULL accepted. */
void sh_reports_free(struct sh_reports *q);
/* Around every call into a driver's sh_driver callbacks. */
void sh_reports_enter(struct sh_reports *q);
void sh_reports_leave(struct sh_reports *q);
/* Whether a report of `dev` must wait: the daemon is inside a driver
 * callback, or `dev` has reports waiting that it must not overtake. */
bool sh_reports_must_defer(const struct sh_device *dev);
/* Queues a report of `dev` (copies text and json). 0, -ENOMEM, or
 * -ENOBUFS when SH_REPORTS_LIMIT reports wait (logged: the report is lost). */
int sh_reports_push(struct sh_device *dev, enum sh_report_type type, uint64_t id, int err,
		    const char *text, const cJSON *json, void *target);
/* Drops `dev`'s waiting reports (the device is going away); those whose
 * target is `target` only, when target is non-NULL. */
void sh_reports_drop(struct sh_device *dev, const void *target);
/* Delivers one report (host.c). */
void sh_host_deliver(struct sh_report *r);

#endif
