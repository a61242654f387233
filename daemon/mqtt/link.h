/* SPDX-License-Identifier: MIT */
/*
 * One MQTT connection of the hub to its broker: a Paho MQTTAsync client,
 * the inbox its callbacks fill, the publisher thread that makes its Paho
 * calls (publisher.h), and reconnection with backoff. It knows nothing of
 * topics: its owner (bridge.c) says what to subscribe to and what to do
 * with each message, through struct sh_mqtt_link_ops.
 *
 * Why a module of its own: the bridge holds two links. The main link
 * carries commands, states and the bridge's will; the request link only
 * reads <base>/bridge/request/#. A broker keeps one queue per client, and
 * a client flooding requests fills the hub's queue and socket buffers with
 * up to about 100,000 of them, which one link reads at about 40,000 a
 * second: a /set behind them waited seconds, or was dropped by the broker
 * (docs/performance.md, scenario 9). On a link of their own the requests
 * queue and drop by themselves, and Paho's receive thread takes one packet
 * from each ready socket in turn, so a command waits for at most one
 * request.
 *
 * Threads: Paho's callbacks copy into the inbox and wake the loop
 * (ev_async), nothing else. The loop drains the inbox in bounded batches
 * and runs every op. Publications and subscriptions go through the link's
 * publisher thread, so the loop never waits for Paho's mutex.
 *
 * The connection is MQTT 5, so that the hub can declare its Maximum Packet
 * Size: the broker then drops larger packets for the hub instead of
 * sending them. A broker that refuses MQTT 5 gets 3.1.1, with a warning,
 * until the next start. Reconnection is ours, not Paho's
 * automaticReconnect (which never retries a first connect that failed).
 */
#ifndef SMARTHUB_MQTT_LINK_H
#define SMARTHUB_MQTT_LINK_H

#include "core/backoff.h"
#include "mqtt/publisher.h"
#include "util/inbox.h"

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

/* What a link is made with; every string is copied. */
struct sh_mqtt_link_options {
	const char *name;                /* prefixes its log lines: "mqtt", "mqtt requests" */
	const char *url;                 /* as Paho takes it: tcp:// or ssl:// */
	const char *client_id;           /* unique per connection on the broker */
	const char *username, *password; /* may be NULL; the password is wiped when freed */
	const char *ca_file, *cert_file, *key_file; /* may be NULL */
	unsigned keepalive_s;
	struct sh_backoff reconnect;
	unsigned max_packet_size; /* declared with MQTT 5; 0: none */
	/* A retained QoS 1 will, also published by sh_mqtt_link_stop, since a
	 * clean disconnect suppresses it. NULL topic: no will. The payload
	 * must live as long as the link. */
	const char *will_topic;
	const char *will_payload;
	/* The inbox's bounds (util/inbox.h) and the messages one loop
	 * wake-up handles before the loop turns. */
	size_t inbox_limit, inbox_bytes, max_payload;
	unsigned batch_max;
	/* The publisher's bounds (publisher.h). */
	size_t publish_items_max, publish_bytes_max;
};

/* What the link tells its owner, on the loop thread. */
struct sh_mqtt_link_ops {
	/* Connected: subscribe and publish what a new session needs. */
	void (*connected)(void *ctx);
	/* An established connection was lost; the link reconnects itself. */
	void (*lost)(void *ctx);
	/* A message, while connected; borrowed for the call. */
	void (*message)(void *ctx, const struct sh_inbox_item *item);
	/* The broker refused some of the link's own subscriptions. */
	void (*subscribe_failed)(void *ctx, const char *reason);
	/* The broker granted all of an own subscription (may be NULL). */
	void (*subscribed)(void *ctx);
	/* The full inbox dropped n messages since the last call. */
	void (*dropped)(void *ctx, size_t n);
};

struct sh_mqtt_link;

/* Makes the link, idle. `ops` and `ctx` are borrowed for its life. 0,
 * -ENOMEM, -EINVAL (Paho refused the URL or the client id; logged), or
 * -ENOENT (no Paho library; logged). */
int sh_mqtt_link_new(struct ev_loop *loop, const struct sh_mqtt_link_options *options,
		     const struct sh_mqtt_link_ops *ops, void *ctx, struct sh_mqtt_link **out);
/* Another link of the hub to the same broker (borrowed, may be NULL):
 * its socket is not this link's when both are connected. */
void sh_mqtt_link_set_sibling(struct sh_mqtt_link *link, const struct sh_mqtt_link *sibling);
/* Starts connecting. Never blocks; retries by itself. -EALREADY when
 * started before. */
int sh_mqtt_link_start(struct sh_mqtt_link *link);
bool sh_mqtt_link_connected(const struct sh_mqtt_link *link);
/* Whether the link speaks MQTT 5 (false after the broker refused it). */
bool sh_mqtt_link_mqtt5(const struct sh_mqtt_link *link);

/* Queues a copy of `pub` for the publisher thread. 0, -ENOTCONN (nothing
 * is published while disconnected: the owner publishes its state again
 * on the next connect), -ENOBUFS (the queue was full; counted), -ENOMEM. */
int sh_mqtt_link_publish(struct sh_mqtt_link *link, const struct sh_publication *pub);
/* Publications the full queue dropped since the last call. */
size_t sh_mqtt_link_take_dropped(struct sh_mqtt_link *link);
/* Subscribes n filters (borrowed, copied) in order with the publications;
 * `who` names the subscriber in the log. With `own`, a refusal by the
 * broker reaches ops->subscribe_failed. 0, -ENOTCONN, or -EIO (logged). */
int sh_mqtt_link_subscribe(struct sh_mqtt_link *link, const char *who, char *const *filters,
			   const int *qos, int n, bool own);
/* Unsubscribes one filter when connected. */
void sh_mqtt_link_unsubscribe(struct sh_mqtt_link *link, const char *filter);

/* The link's inbox, for sh_bridge_inject (the fuzz target's way in). */
struct sh_inbox *sh_mqtt_link_inbox(struct sh_mqtt_link *link);

/* Sends what the publisher still holds, then the will's payload, and
 * disconnects, waiting at most `timeout_ms` in all. Only after the loop
 * stopped: it blocks. Nothing reaches the ops afterwards. */
void sh_mqtt_link_stop(struct sh_mqtt_link *link, unsigned timeout_ms);
/* Frees the link (stopping Paho's use of it first); NULL accepted. */
void sh_mqtt_link_free(struct sh_mqtt_link *link);

#endif
