/* SPDX-License-Identifier: MIT */
/*
 * What the bridge's pieces share: the transport (struct sh_bridge) and the
 * calls between the pieces. Each piece keeps its own state in its own
 * struct:
 *
 *   bridge.c          the transport, struct sh_bridge: the Paho connection,
 *                     connect and reconnect with backoff, TCP_NODELAY
 *                     (nodelay.c), the inbox drain in bounded batches, the
 *                     routing of each message to the piece it is for,
 *                     subscriptions, publishing, stop
 *   retained.c        struct sh_retained: the retained topics the bridge
 *                     owns, published only when they changed and cleared
 *                     when nothing owns them any more; it publishes through
 *                     a callback and knows nothing of the bridge
 *   bridge_api.c      struct sh_bridge_api: the topic API, hub events out,
 *                     commands and requests in, the lists (streamed, jbuf.c),
 *                     discovery and error events
 *   bridge_automations.c, driver_mqtt.c  automation topics and the drivers'
 *                     MQTT, on the same connection
 *
 * Commands the API submits report back through their `done` callback,
 * which the hub runs on a later loop iteration: no piece needs
 * re-entrancy flags. Everything here runs on the loop thread except the
 * Paho callbacks in bridge.c, which touch only the inbox and the ev_async.
 */
#ifndef SMARTHUB_BRIDGE_INTERNAL_H
#define SMARTHUB_BRIDGE_INTERNAL_H

#include "mqtt/bridge.h"
#include "config/config.h"
#include "core/hub.h"
#include "util/inbox.h"
#include "util/log.h"

#include "mqtt/paho.h"
#include "mqtt/retained.h"
#include <MQTTAsync.h>
#include <cjson/cJSON.h>
#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* scene/run requests waiting for their scene to finish. */
#define SH_BRIDGE_PENDING_RUNS_MAX 64
/* Longest topic the bridge builds. */
#define SH_BRIDGE_TOPIC_MAX 512

enum sh_bridge_conn {
	SH_BRIDGE_IDLE,       /* not started, or stopped */
	SH_BRIDGE_CONNECTING, /* a connect is outstanding in Paho */
	SH_BRIDGE_CONNECTED,
	SH_BRIDGE_WAITING, /* the retry timer runs */
};

struct sh_bridge_api;

/* bridge_automations.c's state. */
struct sh_bridge_autos {
	struct sh_bridge_automation_ops ops; /* count NULL: none */
	char **filters;                      /* subscribed for mqtt triggers */
	size_t n_filters;
};

struct sh_bridge {
	struct sh_hub *hub;
	struct sh_scene_engine *scenes; /* borrowed from main */
	struct ev_loop *loop;

	/* Settings copied from the first configuration: a reload does not move
	 * the bridge to another broker or base topic (that needs a restart). */
	char *url; /* as Paho wants it: tcp:// or ssl:// */
	char *client_id;
	char *username;
	char *password;
	char *ca_file, *cert_file, *key_file;
	char *base;
	unsigned keepalive_s;
	int qos;
	bool retain;
	size_t max_payload;
	struct sh_backoff reconnect;
	bool discovery;
	char *ha_prefix;
	char *ha_status_topic;
	char *will_topic;

	MQTTAsync client;
	MQTTAsync_willOptions will;
	MQTTAsync_SSLOptions ssl;
	enum sh_bridge_conn conn;
	bool stopped;
	unsigned failures;      /* consecutive failed attempts */
	char last_failure[256]; /* logged once, then again only when it changes */
	struct sh_paho paho;    /* the Paho library in use (plain or TLS) */
	/* OpenSSL's reason for the last failed TLS handshake, which Paho's
	 * failure message ("TCP/TLS connect failure") leaves out. Written and
	 * read on Paho's threads only, under tls_error_lock. */
	pthread_mutex_t tls_error_lock;
	char tls_error[128];
	struct sh_inbox *inbox;
	ev_async wake;
	ev_timer retry;
	ev_timer sync;    /* coalesces device list changes into one publication */
	ev_timer trim;    /* gives the heap back after a burst of publications */
	size_t published; /* since the last trim */
	atomic_bool disconnected;

	/* The pieces, each with its own state: the retained table (retained.c),
	 * the topic API (bridge_api.c), automations and drivers' MQTT. */
	struct sh_retained retained;
	struct sh_bridge_api *api;
	struct sh_bridge_autos autos;
	struct sh_mqtt_drivers *drivers; /* the drivers' MQTT (driver_mqtt.c) */
};

/* --- bridge.c ------------------------------------------------------------ */

/* Publishes when connected; a no-op returning -ENOTCONN otherwise (the
 * state stays in the hub and goes out on the next connect). */
int sh_bridge_publish(struct sh_bridge *b, const char *topic, const void *payload, size_t len,
		      int qos, bool retain);
/* Prints `json` (borrowed) and publishes it. */
int sh_bridge_publish_json(struct sh_bridge *b, const char *topic, const cJSON *json, int qos,
			   bool retain);
/* bridge_api.c: publishes {"status","data","error","transaction"} on
 * <base>/bridge/response/<what>; `data` is taken, `transaction` borrowed. */
void sh_bridge_respond(struct sh_bridge *b, const char *what, const char *error, cJSON *data,
		       const cJSON *transaction);
/* Builds "<base>/<a>[/<b>]" into buf. */
const char *sh_bridge_topic(const struct sh_bridge *b, char *buf, size_t len, const char *a,
			    const char *sub);
/* Subscribes to every topic the bridge listens to (again). */
void sh_bridge_subscribe(struct sh_bridge *b);
/* A configuration was put in force: picks up what can change without a
 * reconnect (discovery on/off and its prefix) and warns about the rest. */
void sh_bridge_config_applied(struct sh_bridge *b);
/* Runs sh_bridge_api_sync soon, once however often it is asked. */
void sh_bridge_schedule_sync(struct sh_bridge *b);
uint64_t sh_bridge_now_ms(const struct sh_bridge *b);

/* --- bridge_api.c ---------------------------------------------------------- */

/* The hub listener. */
void sh_bridge_api_on_event(void *ctx, const struct sh_event *event);
/* One inbound message from the inbox. */
void sh_bridge_api_message(struct sh_bridge *b, const struct sh_inbox_item *item);
/* After a (re)connect: every retained topic again. */
void sh_bridge_api_publish_all(struct sh_bridge *b);
/* Publishes what changed in the lists and discovery, clears what left. */
void sh_bridge_api_sync(struct sh_bridge *b);
/* An error event on bridge/event, rate-limited. dev and topic may be NULL. */
void sh_bridge_api_error(struct sh_bridge *b, struct sh_device *dev, const char *topic,
			 const char *message);
/* Creates b->api: events rate-limited to events_per_second, uptime counted
 * from now. 0 or -ENOMEM. */
int sh_bridge_api_new(struct sh_bridge *b, unsigned events_per_second);
/* Who answers bridge/request/reload. */
void sh_bridge_api_set_reload(struct sh_bridge *b, sh_reload_fn fn, void *ctx);
/* Detaches pending scene/run requests (the scene engine may still end
 * them; they are then only freed) and frees b->api; NULL accepted. */
void sh_bridge_api_free(struct sh_bridge *b);

/* --- bridge_automations.c ---------------------------------------------------- */

/* Every automation's retained status (and discovery), in a sync. */
void sh_bridge_autos_publish(struct sh_bridge *b, bool force);
/* Subscribes automation/+/set and the triggers' filters (on connect). */
void sh_bridge_autos_subscribe(struct sh_bridge *b);
/* Hands a message to the mqtt triggers (unless a command topic). */
void sh_bridge_autos_feed(struct sh_bridge *b, const struct sh_inbox_item *item);
/* automation/<name>/set and bridge/request/automation/trace: true when
 * the message was one of them. */
bool sh_bridge_autos_message(struct sh_bridge *b, const struct sh_inbox_item *item);
void sh_bridge_autos_free(struct sh_bridge *b);

#endif
