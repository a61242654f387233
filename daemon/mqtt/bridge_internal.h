/* SPDX-License-Identifier: MIT */
/*
 * What the bridge's pieces share: what the transport lends them (struct
 * sh_bridge_env), the settings (bridge_settings.h) and the calls between
 * the pieces. Each piece keeps its own state in its own struct, private
 * to its file:
 *
 *   bridge_settings.c the settings the pieces share, and what a reload
 *                     may change of them
 *   bridge.c          the transport, struct sh_bridge: its connections
 *                     (the main link, and the request link for
 *                     bridge/request/#), when the hub announces itself
 *                     online, the routing of each message to the piece it
 *                     is for, subscriptions, publishing, stop
 *   link.c            one connection: the Paho client, connect and
 *                     reconnect with backoff, TCP_NODELAY (nodelay.c), the
 *                     inbox drain in bounded batches
 *   publisher.c       a link's bounded queue of outgoing publications and
 *                     the thread that hands them to Paho
 *   retained.c        struct sh_retained: the retained topics the bridge
 *                     owns, published only when they changed and cleared
 *                     when nothing owns them any more; it publishes through
 *                     a callback and knows nothing of the bridge
 *   bridge_api.c      struct sh_bridge_api: the topic API, hub events out,
 *                     commands and requests in, the lists (streamed, jbuf.c),
 *                     discovery and error events
 *   bridge_automations.c  struct sh_bridge_autos: automation topics and
 *                     the mqtt triggers' subscriptions
 *   driver_mqtt.c     struct sh_mqtt_drivers: the drivers' MQTT, on the
 *                     same connection
 *
 * Commands the API submits report back through their `done` callback,
 * which the hub runs on a later loop iteration: no piece needs
 * re-entrancy flags. Everything here runs on the loop thread except the
 * Paho callbacks in link.c, which touch only the inbox and the ev_async,
 * and the publisher thread, which touches only its queue and Paho.
 */
#ifndef SMARTHUB_BRIDGE_INTERNAL_H
#define SMARTHUB_BRIDGE_INTERNAL_H

#include "mqtt/bridge.h"
#include "config/config.h"
#include "core/hub.h"
#include "util/inbox.h"
#include "util/log.h"

#include "mqtt/bridge_settings.h"
#include "mqtt/retained.h"
#include <cjson/cJSON.h>
#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

/* scene/run requests waiting for their scene to finish. */
#define SH_BRIDGE_PENDING_RUNS_MAX 64
/* Longest topic the bridge builds. */
#define SH_BRIDGE_TOPIC_MAX 512

struct sh_bridge_api;
struct sh_bridge_autos;

/* What the transport lends each piece when it makes it: the pieces keep a
 * pointer to the transport's one instance and reach the transport only
 * through it and the functions below, never through struct sh_bridge
 * (private to bridge.c). Everything here lives from sh_bridge_new to
 * sh_bridge_free; api and autos are set once each piece exists. */
struct sh_bridge_env {
	struct sh_bridge *bridge; /* the transport: publishing, subscribing */
	struct sh_hub *hub;
	struct sh_scene_engine *scenes; /* borrowed from main */
	struct ev_loop *loop;
	const struct sh_bridge_settings *set; /* read-only; follows reloads */
	struct sh_retained *retained;         /* the retained table */
	struct sh_bridge_api *api;            /* error events and responses */
	struct sh_bridge_autos *autos;        /* automation topics */
};

static inline uint64_t sh_bridge_now_ms(const struct sh_bridge_env *env)
{
	return (uint64_t)(ev_now(env->loop) * 1000.0);
}

/* --- bridge.c: the transport ------------------------------------------------ */

/* The topic API's publications, once the hub announced itself on this
 * connection ("online", then every retained topic): queues a copy for the
 * publisher thread (publisher.h), never waiting for Paho. -ENOTCONN
 * before (the state stays in the hub and goes out with the announcement),
 * -ENOBUFS when the queue was full (counted and reported on
 * bridge/event), -ENOMEM. */
int sh_bridge_publish(struct sh_bridge *b, const char *topic, const void *payload, size_t len,
		      int qos, bool retain);
/* The same for topics outside the API (the drivers' devices), as soon as
 * the connection is up. */
int sh_bridge_publish_external(struct sh_bridge *b, const char *topic, const void *payload,
			       size_t len, int qos, bool retain);
/* A response on a requester's MQTT 5 Response Topic (checked by the
 * caller), at QoS 1, with its Correlation Data (may be NULL); everything
 * borrowed. 0, -ENOTCONN, -EINVAL (correlation over 64 KiB) or -EIO. */
int sh_bridge_publish_reply(struct sh_bridge *b, const char *topic, const void *payload, size_t len,
			    const void *correlation, size_t correlation_len);
/* Prints `json` (borrowed) and publishes it. */
int sh_bridge_publish_json(struct sh_bridge *b, const char *topic, const cJSON *json, int qos,
			   bool retain);
/* Subscribes to n filters (borrowed) for a piece (`who` names it in the
 * log) on the current connection. 0, -ENOTCONN when not connected (the
 * piece subscribes again on the next connect), or -EIO (logged). */
int sh_bridge_subscribe_filters(struct sh_bridge *b, const char *who, char *const *filters,
				const int *qos, int n);
/* Unsubscribes one filter when connected; a new session has none anyway. */
void sh_bridge_unsubscribe_filter(struct sh_bridge *b, const char *filter);
/* Whether sh_bridge_stop ran: nothing is published or logged for the
 * broker any more. */
bool sh_bridge_stopped(const struct sh_bridge *b);
/* A configuration was put in force: picks up what can change without a
 * reconnect (discovery on/off and its prefix) and warns about the rest. */
void sh_bridge_config_applied(struct sh_bridge *b);
/* Runs sh_bridge_api_sync soon, once however often it is asked. */
void sh_bridge_schedule_sync(struct sh_bridge *b);
/* For tests/fuzz/fuzz_router.c: one message (all borrowed) through the
 * real inbox to the topic API, as the loop would take it, whether or not
 * the bridge was started. */
void sh_bridge_inject(struct sh_bridge *b, const char *topic, const void *payload, size_t len,
		      bool retained);

/* --- bridge_api.c ---------------------------------------------------------- */

/* Makes the topic API: events rate-limited to events_per_second, uptime
 * counted from now. `env` is borrowed for the API's life. 0 or -ENOMEM. */
int sh_bridge_api_new(const struct sh_bridge_env *env, unsigned events_per_second,
		      struct sh_bridge_api **out);
/* The hub listener; ctx is the struct sh_bridge_api. */
void sh_bridge_api_on_event(void *ctx, const struct sh_event *event);
/* One inbound message from the inbox. */
void sh_bridge_api_message(struct sh_bridge_api *a, const struct sh_inbox_item *item);
/* After a (re)connect: every retained topic again. */
void sh_bridge_api_publish_all(struct sh_bridge_api *a);
/* Publishes what changed in the lists and discovery, clears what left. */
void sh_bridge_api_sync(struct sh_bridge_api *a);
/* An error event on bridge/event, rate-limited. dev and topic may be NULL. */
void sh_bridge_api_error(struct sh_bridge_api *a, struct sh_device *dev, const char *topic,
			 const char *message);
/* Where a response goes, all borrowed: the request's `transaction` (may be
 * NULL), echoed in the response, and for an MQTT 5 request its Response
 * Topic and Correlation Data (NULL when it gave none). */
struct sh_bridge_reply {
	const cJSON *transaction;
	const char *response_topic;
	const void *correlation;
	size_t correlation_len;
};

/* A request's reply address, borrowing from the inbox item. */
static inline struct sh_bridge_reply sh_bridge_reply_of(const struct sh_inbox_item *item,
							const cJSON *transaction)
{
	return (struct sh_bridge_reply){transaction, item->response_topic, item->correlation,
					item->correlation_len};
}

/* The one response writer: {"status","data","error","transaction"} on the
 * request's Response Topic with its Correlation Data when it is below
 * <base>/bridge/response/ (else an error event says why not), otherwise on
 * <base>/bridge/response/<what>. `data` is taken, `to` (may be NULL: no
 * transaction, the default topic) borrowed. */
void sh_bridge_respond(struct sh_bridge_api *a, const char *what, const char *error, cJSON *data,
		       const struct sh_bridge_reply *to);
/* The error response to a refused request (rate limited, not JSON, an
 * unknown <what>, a required member missing), within
 * SH_BRIDGE_REFUSALS_PER_SECOND for all of them together; beyond it none,
 * and the next one says how many went unanswered. `to` borrowed. */
void sh_bridge_refuse(struct sh_bridge_api *a, const char *what, const char *reason,
		      const struct sh_bridge_reply *to);
/* Whether a request of kind `what` (the <what> of bridge/request/<what>)
 * is within its kind's rate limit (mqtt.requests_per_minute for reload,
 * devices and scenes, mqtt.requests_per_second for the others); when it
 * is not, it was refused (sh_bridge_refuse) and must not be served. An
 * unknown `what` is allowed here: the caller refuses it. `to` borrowed. */
bool sh_bridge_request_allowed(struct sh_bridge_api *a, const char *what,
			       const struct sh_bridge_reply *to);
/* Who answers bridge/request/reload. */
void sh_bridge_api_set_reload(struct sh_bridge_api *a, sh_reload_fn fn, void *ctx);
/* Detaches pending scene/run requests (the scene engine may still end
 * them; they are then only freed) and frees the API; NULL accepted. */
void sh_bridge_api_free(struct sh_bridge_api *a);

/* --- bridge_automations.c ---------------------------------------------------- */

/* Makes the automation piece, with no automations until set. `env` is
 * borrowed for its life. 0 or -ENOMEM. */
int sh_bridge_autos_new(const struct sh_bridge_env *env, struct sh_bridge_autos **out);
/* sh_bridge_set_automations and sh_bridge_automation_changed (bridge.h). */
void sh_bridge_autos_set(struct sh_bridge_autos *au, const struct sh_bridge_automation_ops *ops);
void sh_bridge_autos_changed(struct sh_bridge_autos *au, const char *name);
/* Every automation's retained status (and discovery), in a sync. */
void sh_bridge_autos_publish(struct sh_bridge_autos *au, bool force);
/* Subscribes automation/+/set and the triggers' filters (on connect). */
void sh_bridge_autos_subscribe(struct sh_bridge_autos *au);
/* Hands a message to the mqtt triggers (unless a command topic). */
void sh_bridge_autos_feed(struct sh_bridge_autos *au, const struct sh_inbox_item *item);
/* automation/<name>/set and bridge/request/automation/trace: true when
 * the message was one of them. */
bool sh_bridge_autos_message(struct sh_bridge_autos *au, const struct sh_inbox_item *item);
/* Frees the piece and its filter copies; NULL accepted. */
void sh_bridge_autos_free(struct sh_bridge_autos *au);

#endif
