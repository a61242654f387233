/* SPDX-License-Identifier: MIT */
/*
 * The benchmark's MQTT client, a thin synchronous face over Paho's
 * MQTTAsync: connect, subscribe and publish block until the broker
 * answered (or a timeout passed), and every message that arrives is handed
 * with its arrival time to a callback, on Paho's receive thread.
 *
 * The callback must be quick and thread-safe: it runs while the
 * benchmark's main thread keeps publishing.
 */
#ifndef SMARTHUB_BENCH_MQTT_H
#define SMARTHUB_BENCH_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bench_mqtt;

/* Called on Paho's thread for every message: topic and payload are valid
 * only during the call (payload is not NUL-terminated). */
typedef void (*bench_mqtt_message_fn)(void *ctx, const char *topic, const char *payload, size_t len,
				      bool retained, uint64_t t_ns);

/* Connects to url (tcp://127.0.0.1:PORT) as client_id, clean session, and
 * waits up to 10 s for the CONNACK. *out is owned by the caller (free with
 * bench_mqtt_free). */
int bench_mqtt_connect(struct bench_mqtt **out, const char *url, const char *client_id,
		       bench_mqtt_message_fn fn, void *ctx);
/* Whether clients connected from now on set TCP_NODELAY on their socket
 * (as the relay always does). Off by default: a plain Paho client. */
void bench_mqtt_set_nodelay(bool on);
/* Whether this client sends the TCP ACK of each PUBACK it receives at once
 * (TCP_QUICKACK) instead of delaying it: the experiment of the rows "1d"
 * (docs/performance.md). Off by default. */
void bench_mqtt_set_quickack(struct bench_mqtt *m, bool on);
/* Subscribes and waits for the SUBACK. */
int bench_mqtt_subscribe(struct bench_mqtt *m, const char *filter, int qos);
/* Queues one publication; does not wait for the broker. */
int bench_mqtt_publish(struct bench_mqtt *m, const char *topic, const void *payload, size_t len,
		       int qos, bool retain);
/* Changes the message callback (both may be NULL to ignore messages). */
void bench_mqtt_set_handler(struct bench_mqtt *m, bench_mqtt_message_fn fn, void *ctx);
/* Disconnects and frees; accepts NULL. */
void bench_mqtt_free(struct bench_mqtt *m);

#endif
