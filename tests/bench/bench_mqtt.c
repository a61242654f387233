// SPDX-License-Identifier: MIT
/*
 * Paho MQTTAsync wrapped for the benchmark: blocking connect/subscribe
 * (a condition variable signalled from Paho's success/failure callbacks)
 * and a message callback stamped with the arrival time. The same code
 * measures the hub and the reference relay, so whatever it costs is
 * paid on both sides of every ratio.
 */
#include "bench_mqtt.h"
#include "mqtt/nodelay.h"
#include "bench_stats.h"

#include <MQTTAsync.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How long connect and subscribe wait for the broker. */
#define BENCH_MQTT_WAIT_MS 10000

struct bench_mqtt {
	MQTTAsync client;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int pending; /* 1 while an operation waits for the broker */
	int result;  /* 0 or -errno of the last operation */
	bench_mqtt_message_fn fn;
	void *ctx;
	int fd;               /* our socket to the broker, -1 when not known */
	atomic_bool quickack; /* TCP_QUICKACK after each PUBACK */
};

static void op_done(struct bench_mqtt *m, int result)
{
	pthread_mutex_lock(&m->lock);
	m->pending = 0;
	m->result = result;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

static void on_success(void *ctx, MQTTAsync_successData *data)
{
	op_done(ctx, 0);
}

static void on_failure(void *ctx, MQTTAsync_failureData *data)
{
	op_done(ctx, -ECONNREFUSED);
}

static void on_subscribe_success(void *ctx, MQTTAsync_successData *data)
{
	/* A SUBACK of 0x80 is a refusal that Paho reports as success. */
	op_done(ctx, data && data->alt.qos == 0x80 ? -EACCES : 0);
}

static int wait_op(struct bench_mqtt *m)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += BENCH_MQTT_WAIT_MS / 1000;
	pthread_mutex_lock(&m->lock);
	int r = 0;
	while (m->pending && r == 0)
		r = pthread_cond_timedwait(&m->cond, &m->lock, &ts);
	int result = m->pending ? -ETIMEDOUT : m->result;
	m->pending = 0;
	pthread_mutex_unlock(&m->lock);
	return result;
}

static int on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *msg)
{
	struct bench_mqtt *m = ctx;
	uint64_t t = bench_now_ns();
	bench_mqtt_message_fn fn;
	void *fn_ctx;

	pthread_mutex_lock(&m->lock);
	fn = m->fn;
	fn_ctx = m->ctx;
	pthread_mutex_unlock(&m->lock);
	if (fn)
		fn(fn_ctx, topic, msg->payload, (size_t)msg->payloadlen, msg->retained, t);
	MQTTAsync_freeMessage(&msg);
	MQTTAsync_free(topic);
	return 1;
}

static void on_lost(void *ctx, char *cause)
{
}

/*
 * A QoS 1 publication's PUBACK came (Paho's receive thread, right after it
 * read the packet). With quickack on, the kernel sends the TCP ACK of that
 * PUBACK now instead of delaying it until our next packet or its 40 ms
 * timer: the broker's Nagle, which holds whatever small packet it sends us
 * next while the PUBACK is unacknowledged, then has nothing to wait for.
 * Setting TCP_QUICKACK while an ACK is pending sends it at once (Linux's
 * __tcp_sock_set_quickack); the option does not stay set, hence every time.
 */
static void on_delivered(void *ctx, MQTTAsync_token token)
{
	struct bench_mqtt *m = ctx;

	if (atomic_load(&m->quickack))
		sh_mqtt_quickack(m->fd);
}

void bench_mqtt_set_quickack(struct bench_mqtt *m, bool on)
{
	atomic_store(&m->quickack, on);
}

/* Our socket: the broker connection that is new since `before`. */
static int new_broker_socket(const char *url, const int *before, int n_before)
{
	int now[SH_MQTT_BROKER_SOCKETS_MAX];
	int n = sh_mqtt_broker_sockets(url, now, SH_MQTT_BROKER_SOCKETS_MAX);
	int found = -1;

	for (int i = 0; i < n; i++) {
		bool old = false;
		for (int j = 0; j < n_before; j++)
			old |= now[i] == before[j];
		if (!old) {
			if (found >= 0)
				return -1; /* two new ones: we cannot tell */
			found = now[i];
		}
	}
	return found;
}

/* --client-nodelay: TCP_NODELAY on the benchmark's own clients too. */
static atomic_bool client_nodelay;

void bench_mqtt_set_nodelay(bool on)
{
	atomic_store(&client_nodelay, on);
}

int bench_mqtt_connect(struct bench_mqtt **out, const char *url, const char *client_id,
		       bench_mqtt_message_fn fn, void *ctx)
{
	struct bench_mqtt *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	m->fn = fn;
	m->ctx = ctx;
	m->fd = -1;
	int before[SH_MQTT_BROKER_SOCKETS_MAX];
	int n_before = sh_mqtt_broker_sockets(url, before, SH_MQTT_BROKER_SOCKETS_MAX);
	if (MQTTAsync_create(&m->client, url, client_id, MQTTCLIENT_PERSISTENCE_NONE, NULL) !=
	    MQTTASYNC_SUCCESS) {
		free(m);
		return -EINVAL;
	}
	MQTTAsync_setCallbacks(m->client, m, on_lost, on_message, on_delivered);
	MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer;
	opts.keepAliveInterval = 60;
	opts.cleansession = 1;
	opts.onSuccess = on_success;
	opts.onFailure = on_failure;
	opts.context = m;
	m->pending = 1;
	int r = MQTTAsync_connect(m->client, &opts) == MQTTASYNC_SUCCESS ? wait_op(m) : -EIO;
	if (r < 0) {
		bench_mqtt_free(m);
		return r;
	}
	m->fd = new_broker_socket(url, before, n_before < 0 ? 0 : n_before);
	if (atomic_load(&client_nodelay))
		sh_mqtt_nodelay(url);
	*out = m;
	return 0;
}

int bench_mqtt_subscribe(struct bench_mqtt *m, const char *filter, int qos)
{
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
	opts.onSuccess = on_subscribe_success;
	opts.onFailure = on_failure;
	opts.context = m;
	pthread_mutex_lock(&m->lock);
	m->pending = 1;
	pthread_mutex_unlock(&m->lock);
	if (MQTTAsync_subscribe(m->client, filter, qos, &opts) != MQTTASYNC_SUCCESS)
		return -EIO;
	return wait_op(m);
}

int bench_mqtt_publish(struct bench_mqtt *m, const char *topic, const void *payload, size_t len,
		       int qos, bool retain)
{
	int rc = MQTTAsync_send(m->client, topic, (int)len, payload, qos, retain, NULL);
	return rc == MQTTASYNC_SUCCESS ? 0 : -EIO;
}

void bench_mqtt_set_handler(struct bench_mqtt *m, bench_mqtt_message_fn fn, void *ctx)
{
	pthread_mutex_lock(&m->lock);
	m->fn = fn;
	m->ctx = ctx;
	pthread_mutex_unlock(&m->lock);
}

void bench_mqtt_free(struct bench_mqtt *m)
{
	if (!m)
		return;
	if (MQTTAsync_isConnected(m->client)) {
		MQTTAsync_disconnectOptions opts = MQTTAsync_disconnectOptions_initializer;
		opts.timeout = 1000;
		MQTTAsync_disconnect(m->client, &opts);
		/* Let the DISCONNECT go out before the client is destroyed. */
		for (int i = 0; i < 100 && MQTTAsync_isConnected(m->client); i++)
			bench_sleep_ms(10);
	}
	MQTTAsync_destroy(&m->client);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
