/* SPDX-License-Identifier: MIT */
/*
 * The bridge's MQTT connection: Paho MQTTAsync driven from the hub's loop.
 * It owns the Paho client, the inbox its callbacks fill, the reconnect
 * timer and the copies of the mqtt settings, and it is the only place that
 * calls Paho.
 *
 * Threads: Paho runs its callbacks on its own threads. Each callback here
 * copies what it needs into the inbox and calls ev_async_send, nothing
 * else: no hub state, no Paho calls, no lock of ours held while calling
 * Paho. The loop thread drains the inbox in bounded batches (ev_async
 * coalesces wake-ups) and every connect. It publishes and subscribes only
 * through the publisher's bounded queue (publisher.h): one thread of ours
 * makes those Paho calls, which wait for Paho's client mutex for as long
 * as Paho's receive thread reads a flood, so the loop never does.
 *
 * The connection is MQTT 5, so that the hub can tell the broker its
 * Maximum Packet Size (max_payload plus BRIDGE_PACKET_HEADROOM): the broker
 * then drops larger packets for the hub instead of sending them, and Paho
 * never reads them into memory. A broker that refuses MQTT 5 gets 3.1.1,
 * with a warning, until the next start.
 *
 * Reconnection is ours, not Paho's automaticReconnect (which never retries
 * a first connect that failed): a failed attempt or a lost connection
 * starts an ev_timer with mqtt.reconnect's backoff, and the next attempt
 * starts when it fires. While disconnected nothing is published; every
 * retained topic is published again on connect from the hub's current
 * state, which is how changes during an outage are coalesced (latest wins,
 * bounded by the number of topics).
 */
#include "core/backoff.h"
#include "mqtt/bridge_internal.h"
#include "mqtt/driver_mqtt.h"
#include "mqtt/nodelay.h"
#include "mqtt/paho.h"
#include "mqtt/publisher.h"
#include "util/macros.h"

#include <MQTTAsync.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Paho's own bound on one connect attempt. */
#define BRIDGE_CONNECT_TIMEOUT_S 10
/* Inbox items handled per loop wake-up. Then the loop turns (timers,
 * device I/O, the watchdog) before the next batch: whatever arrives, no
 * flood holds the loop longer than this many messages. */
#define BRIDGE_BATCH_MAX 128
/* Publications after which the heap is trimmed, BRIDGE_TRIM_DELAY_S later
 * (malloc_trim costs about a millisecond; a steady stream of states pays
 * it at most once a second). */
#define BRIDGE_TRIM_AFTER 1000
#define BRIDGE_TRIM_DELAY_S 1.0
/* Subscriptions of every connection, under the base topic (plus the Home
 * Assistant status topic). */
#define BRIDGE_SUBSCRIPTIONS_MAX 5
/* What a packet to the hub holds besides its payload: the fixed header, the
 * topic (the hub's are at most SH_BRIDGE_TOPIC_MAX) and the properties a
 * client adds (a Response Topic, Correlation Data). A packet within it
 * whose payload is over max_payload still arrives and gets its event. */
#define BRIDGE_PACKET_HEADROOM 4096
/* MQTT's own bound on a packet (a four-byte remaining length). */
#define BRIDGE_PACKET_MAX 268435455u
/* Publications Paho holds before its thread writes them. Paho's default
 * for a client made with options is 100, far fewer than the burst after a
 * connect (a few topics per device, for up to 4096 devices). */
#define BRIDGE_PAHO_BUFFERED_MAX (1 << 20)
/* Publications waiting for the publisher thread (publisher.h), in number
 * and bytes: the burst after a connect (a few retained topics per device,
 * up to 4096 devices, and their discovery) fits; a flood of responses
 * that Paho cannot take fast enough is cut here. */
#define BRIDGE_PUBLISH_ITEMS_MAX (1u << 16)
#define BRIDGE_PUBLISH_BYTES_MAX (32u << 20)
/* Dropped publications are reported on bridge/event at most this often. */
#define BRIDGE_DROPS_REPORT_S 1.0

static const char bridge_online[] = "{\"state\":\"online\"}";
static const char bridge_offline[] = "{\"state\":\"offline\"}";

enum sh_bridge_conn {
	SH_BRIDGE_IDLE,       /* not started, or stopped */
	SH_BRIDGE_CONNECTING, /* a connect is outstanding in Paho */
	SH_BRIDGE_CONNECTED,
	SH_BRIDGE_WAITING, /* the retry timer runs */
};

/* The transport's state: no other file sees it (the pieces get `env`). */
struct sh_bridge {
	struct sh_hub *hub;
	struct ev_loop *loop;

	/* Settings copied from the first configuration: a reload does not move
	 * the bridge to another broker or base topic (that needs a restart).
	 * `set` is what the pieces share (bridge_settings.h). */
	struct sh_bridge_settings set;
	char *url; /* as Paho wants it: tcp:// or ssl:// */
	char *client_id;
	char *username;
	char *password;
	char *ca_file, *cert_file, *key_file;
	unsigned keepalive_s;
	struct sh_backoff reconnect;
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
	ev_timer sync;  /* coalesces device list changes into one publication */
	ev_timer trim;  /* gives the heap back after a burst of publications */
	ev_timer drops; /* reports publications the full queue dropped */
	/* Every publication goes through it: the loop never waits for
	 * Paho's mutex (publisher.h). */
	struct sh_publisher *publisher;
	size_t published; /* since the last trim */
	atomic_bool disconnected;
	/* The broker socket (nodelay.h), -1 while unknown: Paho's receive
	 * thread sets TCP_QUICKACK on it after each PUBACK (on_delivered). */
	atomic_int sock;
	/* MQTT 5 until a broker refuses it; then 3.1.1 until a restart (a
	 * Paho client that connected with 3.1.1 cannot go back to 5). */
	bool mqtt5;
	atomic_bool mqtt5_refused; /* set on Paho's thread with the refusal */

	/* The pieces, each with its own state: the retained table (retained.c),
	 * the topic API (bridge_api.c), automations and drivers' MQTT; `env`
	 * is what they are lent. */
	struct sh_bridge_env env;
	struct sh_retained retained;
	struct sh_bridge_api *api;
	struct sh_bridge_autos *autos;
	struct sh_mqtt_drivers *drivers; /* the drivers' MQTT (driver_mqtt.c) */
};

/* --- Paho's threads: copy and wake, nothing more ------------------------ */

static void wake(struct sh_bridge *b)
{
	ev_async_send(b->loop, &b->wake);
}

static void push_event(struct sh_bridge *b, enum sh_inbox_type type, const char *reason)
{
	sh_inbox_push_event(b->inbox, type, reason);
	wake(b);
}

static void on_connect_success(void *ctx, MQTTAsync_successData *response)
{
	push_event(ctx, SH_INBOX_CONNECTED, NULL);
}

static void on_connect_success5(void *ctx, MQTTAsync_successData5 *response)
{
	push_event(ctx, SH_INBOX_CONNECTED, NULL);
}

/* OpenSSL's error queue after a failed handshake, one line per call:
 * "<thread>:error:0A000086:SSL routines:<function>:certificate verify
 * failed:<file>:<line>:". Keeps the reason field, so the failure can say
 * why; Paho's own message is only "TCP/TLS connect failure". */
static int on_tls_error(const char *str, size_t len, void *ctx)
{
	struct sh_bridge *b = ctx;
	const char *end = str + len;
	const char *reason = str;
	int colons = 0;

	for (const char *p = str; p + 6 <= end; p++)
		if (memcmp(p, "error:", 6) == 0) {
			reason = p;
			break;
		}
	for (const char *p = reason; p < end && colons < 4; p++)
		if (*p == ':' && ++colons == 4)
			reason = p + 1;
	if (colons == 4) {
		const char *stop = memchr(reason, ':', (size_t)(end - reason));
		if (stop)
			end = stop;
	} else {
		reason = str;
	}
	while (end > reason && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	pthread_mutex_lock(&b->tls_error_lock);
	/* The first error is the cause; later ones are consequences. */
	if (!b->tls_error[0])
		snprintf(b->tls_error, sizeof(b->tls_error), "%.*s", (int)(end - reason), reason);
	pthread_mutex_unlock(&b->tls_error_lock);
	return 0;
}

/* CONNACK codes: MQTT 3.1.1's return codes 1-5 (which a broker without
 * MQTT 5 sends to an MQTT 5 client too) and MQTT 5's reason codes. Paho
 * reports a refusal as the code with the message "CONNACK return code",
 * which tells a user nothing. */
static const char *connack_reason(int rc)
{
	static const struct {
		int code;
		const char *reason;
	} reasons[] = {
		{1, "unacceptable protocol version"},
		{2, "client identifier rejected"},
		{3, "server unavailable"},
		{4, "bad user name or password"},
		{5, "not authorized"},
		{MQTTREASONCODE_UNSPECIFIED_ERROR, "unspecified error"},
		{MQTTREASONCODE_MALFORMED_PACKET, "malformed packet"},
		{MQTTREASONCODE_PROTOCOL_ERROR, "protocol error"},
		{MQTTREASONCODE_IMPLEMENTATION_SPECIFIC_ERROR, "implementation specific error"},
		{MQTTREASONCODE_UNSUPPORTED_PROTOCOL_VERSION, "unsupported protocol version"},
		{MQTTREASONCODE_CLIENT_IDENTIFIER_NOT_VALID, "client identifier rejected"},
		{MQTTREASONCODE_BAD_USER_NAME_OR_PASSWORD, "bad user name or password"},
		{MQTTREASONCODE_NOT_AUTHORIZED, "not authorized"},
		{MQTTREASONCODE_SERVER_UNAVAILABLE, "server unavailable"},
		{MQTTREASONCODE_SERVER_BUSY, "server busy"},
		{MQTTREASONCODE_BANNED, "banned"},
		{MQTTREASONCODE_BAD_AUTHENTICATION_METHOD, "bad authentication method"},
		{MQTTREASONCODE_PACKET_TOO_LARGE, "packet too large"},
		{MQTTREASONCODE_QUOTA_EXCEEDED, "quota exceeded"},
		{MQTTREASONCODE_USE_ANOTHER_SERVER, "use another server"},
		{MQTTREASONCODE_SERVER_MOVED, "server moved"},
		{MQTTREASONCODE_CONNECTION_RATE_EXCEEDED, "connection rate exceeded"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(reasons); i++)
		if (reasons[i].code == rc)
			return reasons[i].reason;
	return NULL;
}

/* Both connect failure callbacks: says why, and whether the broker refused
 * MQTT 5 itself (a 3.1.1 broker answers "unacceptable protocol version",
 * an MQTT 5 one that will not speak it "unsupported protocol version"). */
static void connect_failed(struct sh_bridge *b, int code, const char *message, bool mqtt5)
{
	char reason[256], tls_error[sizeof(b->tls_error)];
	bool refused = message && strstr(message, "CONNACK") && connack_reason(code);

	pthread_mutex_lock(&b->tls_error_lock);
	snprintf(tls_error, sizeof(tls_error), "%s", b->tls_error);
	b->tls_error[0] = '\0';
	pthread_mutex_unlock(&b->tls_error_lock);
	if (refused)
		snprintf(reason, sizeof(reason), "refused by the broker: %s", connack_reason(code));
	else if (message)
		snprintf(reason, sizeof(reason), "%s", message);
	else
		snprintf(reason, sizeof(reason), "%s", b->paho.strerror(code));
	if (tls_error[0]) {
		size_t n = strlen(reason);
		snprintf(reason + n, sizeof(reason) - n, ": %s", tls_error);
	}
	if (mqtt5 && refused && (code == 1 || code == MQTTREASONCODE_UNSUPPORTED_PROTOCOL_VERSION))
		atomic_store(&b->mqtt5_refused, true);
	push_event(b, SH_INBOX_CONNECT_FAILED, reason);
}

static void on_connect_failure(void *ctx, MQTTAsync_failureData *response)
{
	if (response)
		connect_failed(ctx, response->code, response->message, false);
	else
		connect_failed(ctx, MQTTASYNC_FAILURE, "connect failed", false);
}

static void on_connect_failure5(void *ctx, MQTTAsync_failureData5 *response)
{
	if (response)
		connect_failed(ctx, response->code, response->message, true);
	else
		connect_failed(ctx, MQTTASYNC_FAILURE, "connect failed", true);
}

static void on_connection_lost(void *ctx, char *cause)
{
	push_event(ctx, SH_INBOX_LOST, cause ? cause : "connection lost");
}

/*
 * A PUBACK of a QoS 1 publication of ours came (mqtt.qos: 1 states, the
 * bridge's own state). The one exception to "copy and wake": one
 * setsockopt, so that the TCP ACK of the PUBACK leaves now and a stock
 * broker's Nagle does not hold the next command for our delayed ACK
 * (30 ms p50 per command with mqtt.qos: 1; docs/performance.md).
 */
static void on_delivered(void *ctx, MQTTAsync_token token)
{
	struct sh_bridge *b = ctx;

	sh_mqtt_quickack(atomic_load(&b->sock));
}

static int on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *message)
{
	struct sh_bridge *b = ctx;
	struct sh_inbox_reply reply = {0};
	MQTTProperty *p = NULL;

	/* An MQTT 5 request names where its response goes (bridge_api.c
	 * decides whether to answer there). */
	if (message->struct_version >= 1 && message->properties.count > 0)
		p = b->paho.properties_get(&message->properties, MQTTPROPERTY_CODE_RESPONSE_TOPIC);
	if (p) {
		reply.topic = p->value.data.data;
		reply.topic_len = p->value.data.len > 0 ? (size_t)p->value.data.len : 0;
		p = b->paho.properties_get(&message->properties,
					   MQTTPROPERTY_CODE_CORRELATION_DATA);
		if (p) {
			reply.correlation = p->value.data.data;
			reply.correlation_len =
				p->value.data.len > 0 ? (size_t)p->value.data.len : 0;
		}
	}
	sh_inbox_push_reply(b->inbox, topic, topic_len > 0 ? (size_t)topic_len : 0,
			    message->payload,
			    message->payloadlen > 0 ? (size_t)message->payloadlen : 0,
			    message->retained, reply.topic ? &reply : NULL);
	b->paho.free_message(&message);
	b->paho.free(topic);
	wake(b);
	/* 1: the message is ours now (and dropped if the inbox could not take
	 * it); 0 would make Paho deliver it again and again. */
	return 1;
}

static void on_subscribe_failure(void *ctx, MQTTAsync_failureData *response)
{
	push_event(ctx, SH_INBOX_SUBSCRIBE_FAILED,
		   response && response->message ? response->message : "subscribe refused");
}

static void on_subscribe_failure5(void *ctx, MQTTAsync_failureData5 *response)
{
	push_event(ctx, SH_INBOX_SUBSCRIBE_FAILED,
		   response && response->message ? response->message : "subscribe refused");
}

/* MQTT 5 answers a SUBSCRIBE of several filters with a reason code each,
 * and Paho calls this even when the broker refused some or all of them. */
static void on_subscribe_done5(void *ctx, MQTTAsync_successData5 *response)
{
	int refused = 0;

	if (response->alt.sub.reasonCodeCount > 1 && response->alt.sub.reasonCodes) {
		for (int i = 0; i < response->alt.sub.reasonCodeCount; i++)
			refused += response->alt.sub.reasonCodes[i] >=
				   MQTTREASONCODE_UNSPECIFIED_ERROR;
	} else {
		refused = response->reasonCode >= MQTTREASONCODE_UNSPECIFIED_ERROR;
	}
	if (refused)
		push_event(ctx, SH_INBOX_SUBSCRIBE_FAILED, "subscribe refused");
}

static void on_disconnect_done(void *ctx, MQTTAsync_successData *response)
{
	struct sh_bridge *b = ctx;

	atomic_store(&b->disconnected, true);
}

static void on_disconnect_failed(void *ctx, MQTTAsync_failureData *response)
{
	struct sh_bridge *b = ctx;

	atomic_store(&b->disconnected, true);
}

/* --- publishing ---------------------------------------------------------- */

/* On the publisher thread: the one place that hands a publication to
 * Paho. b->client and b->paho are set before the thread starts and stay. */
static void send_now(void *ctx, const struct sh_publication *pub)
{
	struct sh_bridge *b = ctx;
	int rc;

	if (pub->reply) {
		MQTTAsync_message msg = MQTTAsync_message_initializer;
		MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
		MQTTProperties props = MQTTProperties_initializer;
		MQTTProperty data = {.identifier = MQTTPROPERTY_CODE_CORRELATION_DATA};

		data.value.data.data = (char *)pub->correlation;
		data.value.data.len = (int)pub->correlation_len;
		/* Without the property (no memory) the requester still gets an
		 * answer, only one it may not match. */
		if (pub->correlation)
			(void)b->paho.properties_add(&props, &data);
		msg.payload = (void *)pub->payload;
		msg.payloadlen = (int)pub->len;
		msg.qos = pub->qos;
		msg.retained = pub->retain;
		msg.properties = props;
		rc = b->paho.send_message(b->client, pub->topic, &msg, &ro);
		b->paho.properties_free(&props);
	} else {
		rc = b->paho.send(b->client, pub->topic, (int)pub->len, pub->payload, pub->qos,
				  pub->retain, NULL);
	}
	/* Most likely the connection just dropped and its callback is on its
	 * way; the next connect publishes everything again. */
	if (rc != MQTTASYNC_SUCCESS)
		sh_log_debug("mqtt: publish %s: %s", pub->topic, b->paho.strerror(rc));
}

/* Both ways out: into the publisher's queue, never into Paho. */
static int send_publication(struct sh_bridge *b, const struct sh_publication *pub)
{
	int rc;

	if (b->conn != SH_BRIDGE_CONNECTED)
		return -ENOTCONN;
	rc = sh_publisher_push(b->publisher, pub);
	if (rc == -ENOBUFS && !ev_is_active(&b->drops))
		ev_timer_start(b->loop, &b->drops);
	if (rc < 0)
		return rc;
	/* After a burst (thousands of devices coming online after the
	 * connect), once Paho's thread has written it out: the heap back. */
	if (++b->published >= BRIDGE_TRIM_AFTER && !ev_is_active(&b->trim))
		ev_timer_start(b->loop, &b->trim);
	return 0;
}

static void on_drops(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sh_bridge *b = w->data;
	size_t dropped = sh_publisher_take_dropped(b->publisher);
	char msg[128];

	if (!dropped)
		return;
	/* Itself a publication: when the queue is still full it is dropped
	 * too, counted, and the next report says so. */
	snprintf(msg, sizeof(msg), "publish queue full: dropped %zu outgoing publication%s",
		 dropped, dropped == 1 ? "" : "s");
	sh_log_warning("mqtt: %s", msg);
	sh_bridge_api_error(b->api, NULL, NULL, msg);
}

int sh_bridge_publish(struct sh_bridge *b, const char *topic, const void *payload, size_t len,
		      int qos, bool retain)
{
	return send_publication(b, &(struct sh_publication){.topic = topic,
							    .payload = payload,
							    .len = len,
							    .qos = qos,
							    .retain = retain});
}

int sh_bridge_publish_reply(struct sh_bridge *b, const char *topic, const void *payload, size_t len,
			    const void *correlation, size_t correlation_len)
{
	if (correlation_len > UINT16_MAX)
		return -EINVAL;
	/* Under 3.1.1 (the broker refused 5) there are no properties. */
	return send_publication(b, &(struct sh_publication){.topic = topic,
							    .payload = payload,
							    .len = len,
							    .qos = 1,
							    .reply = b->mqtt5,
							    .correlation = correlation,
							    .correlation_len = correlation_len});
}

/* The retained table's way out: retained, at mqtt.qos. */
static int publish_retained(void *ctx, const char *topic, const void *payload, size_t len)
{
	struct sh_bridge *b = ctx;

	return sh_bridge_publish(b, topic, payload, len, b->set.qos, true);
}

int sh_bridge_publish_json(struct sh_bridge *b, const char *topic, const cJSON *json, int qos,
			   bool retain)
{
	char *text;
	int rc;

	if (b->conn != SH_BRIDGE_CONNECTED)
		return -ENOTCONN;
	text = cJSON_PrintUnformatted(json);
	if (!text)
		return -ENOMEM;
	rc = sh_bridge_publish(b, topic, text, strlen(text), qos, retain);
	cJSON_free(text);
	return rc;
}

/* --- connecting ------------------------------------------------------------ */

static void start_connect(struct sh_bridge *b);

static void connection_down(struct sh_bridge *b, const char *what, const char *reason)
{
	double delay;

	if (b->stopped)
		return;
	b->conn = SH_BRIDGE_WAITING;
	atomic_store(&b->sock, -1);
	/* Paho would refuse them now, and the next connect publishes the
	 * current state of everything anyway. */
	sh_publisher_discard(b->publisher);
	b->failures++;
	delay = sh_backoff_delay_s(&b->reconnect, b->failures);
	/* Said once per distinct reason: a broker that stays down for a day
	 * must not fill the journal. */
	if (strcmp(b->last_failure, reason) != 0) {
		sh_log_warning("mqtt: %s %s: %s; retrying with backoff", what, b->url, reason);
		snprintf(b->last_failure, sizeof(b->last_failure), "%s", reason);
	} else {
		sh_log_debug("mqtt: %s %s: %s; retry in %.1fs", what, b->url, reason, delay);
	}
	ev_timer_stop(b->loop, &b->retry);
	ev_timer_set(&b->retry, delay, 0.0);
	ev_timer_start(b->loop, &b->retry);
}

/* A subscribe or an unsubscribe for the publisher thread: copies of the
 * filters, made on the loop. */
struct sub_job {
	struct sh_bridge *b;
	bool unsubscribe;
	bool own;   /* the bridge's own filters: the failure callbacks report */
	bool mqtt5; /* which callbacks, as the loop saw it when queueing */
	char who[32];
	int n;
	int *qos;
	char **filters;
};

static void sub_job_free(void *arg)
{
	struct sub_job *job = arg;

	for (int i = 0; job->filters && i < job->n; i++)
		free(job->filters[i]);
	free(job->filters);
	free(job->qos);
	free(job);
}

/* On the publisher thread, in order with the publications: the
 * subscriptions of a connect before its first state. */
static void sub_job_run(void *arg)
{
	struct sub_job *job = arg;
	struct sh_bridge *b = job->b;
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
	int rc;

	if (job->unsubscribe) {
		(void)b->paho.unsubscribe(b->client, job->filters[0], &opts);
		return;
	}
	if (job->own) {
		if (job->mqtt5) {
			opts.onSuccess5 = on_subscribe_done5;
			opts.onFailure5 = on_subscribe_failure5;
		} else {
			opts.onFailure = on_subscribe_failure;
		}
		opts.context = b;
	}
	rc = b->paho.subscribe_many(b->client, job->n, job->filters, job->qos, &opts);
	if (rc != MQTTASYNC_SUCCESS)
		sh_log_error("mqtt: %s subscribe %s%s: %s", job->who, job->filters[0],
			     job->n > 1 ? ", ..." : "", b->paho.strerror(rc));
}

/* Queues a (un)subscription of n filters (borrowed, copied). 0, -ENOMEM,
 * -ENOBUFS. */
static int queue_sub_job(struct sh_bridge *b, const char *who, bool unsubscribe, bool own,
			 char *const *filters, const int *qos, int n)
{
	struct sub_job *job = calloc(1, sizeof(*job));
	size_t bytes = 0;

	if (!job)
		return -ENOMEM;
	job->b = b;
	job->unsubscribe = unsubscribe;
	job->own = own;
	job->mqtt5 = b->mqtt5;
	snprintf(job->who, sizeof(job->who), "%s", who);
	job->filters = calloc((size_t)n, sizeof(*job->filters));
	job->qos = calloc((size_t)n, sizeof(*job->qos));
	if (!job->filters || !job->qos) {
		sub_job_free(job);
		return -ENOMEM;
	}
	for (; job->n < n; job->n++) {
		job->filters[job->n] = strdup(filters[job->n]);
		if (!job->filters[job->n]) {
			sub_job_free(job);
			return -ENOMEM;
		}
		job->qos[job->n] = qos ? qos[job->n] : 0;
		bytes += strlen(filters[job->n]);
	}
	return sh_publisher_call(b->publisher, sub_job_run, job, sub_job_free, bytes);
}

void sh_bridge_subscribe(struct sh_bridge *b)
{
	char topics[BRIDGE_SUBSCRIPTIONS_MAX][SH_BRIDGE_TOPIC_MAX];
	char *list[BRIDGE_SUBSCRIPTIONS_MAX];
	int qos[BRIDGE_SUBSCRIPTIONS_MAX];
	int n = 0;
	int rc;

	sh_bridge_topic(&b->set, topics[n++], SH_BRIDGE_TOPIC_MAX, "+", "set");
	sh_bridge_topic(&b->set, topics[n++], SH_BRIDGE_TOPIC_MAX, "+", "get");
	sh_bridge_topic(&b->set, topics[n++], SH_BRIDGE_TOPIC_MAX, "scene", "+/set");
	sh_bridge_topic(&b->set, topics[n++], SH_BRIDGE_TOPIC_MAX, "bridge", "request/#");
	if (b->set.discovery && b->set.ha_status_topic)
		snprintf(topics[n++], SH_BRIDGE_TOPIC_MAX, "%s", b->set.ha_status_topic);
	for (int i = 0; i < n; i++) {
		list[i] = topics[i];
		qos[i] = 1;
	}
	rc = queue_sub_job(b, "bridge", false, true, list, qos, n);
	if (rc < 0)
		sh_log_error("mqtt: subscribe: %s", strerror(-rc));
	sh_bridge_autos_subscribe(b->autos);
}

int sh_bridge_subscribe_filters(struct sh_bridge *b, const char *who, char *const *filters,
				const int *qos, int n)
{
	int rc;

	if (b->conn != SH_BRIDGE_CONNECTED)
		return -ENOTCONN;
	if (n <= 0)
		return 0;
	rc = queue_sub_job(b, who, false, false, filters, qos, n);
	if (rc < 0) {
		sh_log_error("mqtt: %s subscribe %s%s: %s", who, filters[0], n > 1 ? ", ..." : "",
			     strerror(-rc));
		return -EIO;
	}
	return 0;
}

void sh_bridge_unsubscribe_filter(struct sh_bridge *b, const char *filter)
{
	char *const list[1] = {(char *)filter};

	if (b->conn == SH_BRIDGE_CONNECTED)
		(void)queue_sub_job(b, "bridge", true, false, list, NULL, 1);
}

bool sh_bridge_stopped(const struct sh_bridge *b)
{
	return b->stopped;
}

static void connected(struct sh_bridge *b)
{
	if (b->stopped || b->conn != SH_BRIDGE_CONNECTING)
		return;
	b->conn = SH_BRIDGE_CONNECTED;
	b->failures = 0;
	b->last_failure[0] = '\0';
	sh_log_notice("mqtt: connected to %s with MQTT %s", b->url, b->mqtt5 ? "5" : "3.1.1");
	/* Before anything is published: see nodelay.h for why and how. */
	int n = sh_mqtt_nodelay(b->url);
	if (n <= 0)
		sh_log_debug("mqtt: TCP_NODELAY: %s",
			     n < 0 ? strerror(-n) : "no broker socket found");
	int fds[2] = {-1, -1};
	/* Only when it is certainly ours (two: a driver's connection to the
	 * same broker, or one being closed). */
	atomic_store(&b->sock, sh_mqtt_broker_sockets(b->url, fds, 2) == 1 ? fds[0] : -1);
	sh_bridge_subscribe(b);
	sh_mqtt_drivers_link(b->drivers, true);
	sh_bridge_publish(b, b->will_topic, bridge_online, strlen(bridge_online), 1, true);
	sh_bridge_api_publish_all(b->api);
	/* Publishing everything builds large transient JSON and Paho copies
	 * every publication until its thread wrote it; glibc keeps the freed
	 * memory below live allocations unless asked to give it back
	 * (docs/performance.md: 26 -> 15 MiB with 5,000 devices). */
	malloc_trim(0);
}

static void on_trim(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sh_bridge *b = w->data;

	b->published = 0;
	malloc_trim(0);
}

/* The Maximum Packet Size the hub declares. */
static unsigned max_packet_size(const struct sh_bridge *b)
{
	if (b->set.max_payload >= BRIDGE_PACKET_MAX - BRIDGE_PACKET_HEADROOM)
		return BRIDGE_PACKET_MAX;
	return (unsigned)b->set.max_payload + BRIDGE_PACKET_HEADROOM;
}

static void start_connect(struct sh_bridge *b)
{
	MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer;
	MQTTAsync_connectOptions opts5 = MQTTAsync_connectOptions_initializer5;
	MQTTProperties props = MQTTProperties_initializer;
	int rc;

	if (b->mqtt5) {
		MQTTProperty max = {.identifier = MQTTPROPERTY_CODE_MAXIMUM_PACKET_SIZE,
				    .value.integer4 = max_packet_size(b)};

		opts = opts5;
		opts.cleanstart = 1;
		opts.onSuccess5 = on_connect_success5;
		opts.onFailure5 = on_connect_failure5;
		/* Paho copies the properties; without the property (no memory)
		 * the connection still works, only unbounded. */
		if (b->paho.properties_add(&props, &max) == 0)
			opts.connectProperties = &props;
	} else {
		opts.cleansession = 1;
		opts.MQTTVersion = MQTTVERSION_3_1_1;
		opts.onSuccess = on_connect_success;
		opts.onFailure = on_connect_failure;
	}
	opts.keepAliveInterval = (int)b->keepalive_s;
	opts.will = &b->will;
	opts.username = b->username;
	opts.password = b->password;
	opts.connectTimeout = BRIDGE_CONNECT_TIMEOUT_S;
	opts.ssl = strncmp(b->url, "ssl://", 6) == 0 ? &b->ssl : NULL;
	opts.automaticReconnect = 0;
	opts.context = b;

	b->conn = SH_BRIDGE_CONNECTING;
	atomic_store(&b->mqtt5_refused, false);
	sh_log_debug("mqtt: connecting to %s with MQTT %s (maximum packet size %u)", b->url,
		     b->mqtt5 ? "5" : "3.1.1", b->mqtt5 ? max_packet_size(b) : 0);
	/* Paho answers every connect it accepts, by its own timeout at the
	 * latest; a second connect while one is pending would be dropped
	 * without an answer, so there is no timer of ours on top. */
	rc = sh_paho_connect(&b->paho, b->client, &opts);
	b->paho.properties_free(&props);
	if (rc != MQTTASYNC_SUCCESS)
		connection_down(b, "connect", b->paho.strerror(rc));
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sh_bridge *b = w->data;

	if (!b->stopped && b->conn == SH_BRIDGE_WAITING)
		start_connect(b);
}

static void on_sync(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sh_bridge *b = w->data;

	sh_bridge_api_sync(b->api);
}

void sh_bridge_schedule_sync(struct sh_bridge *b)
{
	if (!ev_is_active(&b->sync))
		ev_timer_start(b->loop, &b->sync);
}

/* --- the loop's side of the inbox ---------------------------------------- */

static void handle(struct sh_bridge *b, struct sh_inbox_item *item)
{
	switch (item->type) {
	case SH_INBOX_MESSAGE:
		if (b->conn != SH_BRIDGE_CONNECTED)
			break;
		sh_bridge_autos_feed(b->autos, item);
		if (!sh_mqtt_drivers_route(b->drivers, item) &&
		    !sh_bridge_autos_message(b->autos, item))
			sh_bridge_api_message(b->api, item);
		break;
	case SH_INBOX_CONNECTED:
		connected(b);
		break;
	case SH_INBOX_CONNECT_FAILED:
		if (b->conn != SH_BRIDGE_CONNECTING)
			break;
		if (b->mqtt5 && atomic_exchange(&b->mqtt5_refused, false)) {
			/* Said once: the broker will not change its mind until
			 * it is upgraded, and the hub until it restarts. */
			sh_log_warning("mqtt: %s refused MQTT 5 (%s); falling back to MQTT 3.1.1, "
				       "where the broker cannot be told the hub's maximum packet "
				       "size (mqtt.max_payload) and requests get no response topic",
				       b->url, item->reason ? item->reason : "refused");
			b->mqtt5 = false;
			start_connect(b);
			break;
		}
		connection_down(b, "connect to", item->reason ? item->reason : "failed");
		break;
	case SH_INBOX_LOST:
		if (b->conn == SH_BRIDGE_CONNECTED) {
			connection_down(b, "connection to", item->reason ? item->reason : "lost");
			sh_mqtt_drivers_link(b->drivers, false);
		}
		break;
	case SH_INBOX_SUBSCRIBE_FAILED:
		sh_log_error("mqtt: subscribe: %s", item->reason ? item->reason : "refused");
		sh_bridge_api_error(b->api, NULL, NULL,
				    "the broker refused the bridge's subscriptions");
		break;
	}
}

static void on_wake(struct ev_loop *loop, ev_async *w, int revents)
{
	struct sh_bridge *b = w->data;
	struct sh_inbox_item *item;
	size_t dropped;

	/* A bounded batch; ev_async coalesces wake-ups, so when more waits
	 * we wake ourselves again, behind whatever else the loop has. */
	for (size_t n = 0; n < BRIDGE_BATCH_MAX; n++) {
		item = sh_inbox_pop(b->inbox);
		if (!item)
			break;
		handle(b, item);
		sh_inbox_item_free(item);
	}
	if (sh_inbox_length(b->inbox))
		ev_async_send(b->loop, &b->wake);
	dropped = sh_inbox_take_dropped(b->inbox);
	if (dropped) {
		char msg[128];

		snprintf(msg, sizeof(msg), "inbox full: dropped %zu incoming message%s", dropped,
			 dropped == 1 ? "" : "s");
		sh_bridge_api_error(b->api, NULL, NULL, msg);
	}
}

/* --- lifecycle ------------------------------------------------------------- */

static int dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

/* Paho speaks tcp:// and ssl://; the configuration says mqtt:// and
 * mqtts:// too. */
static char *paho_url(const char *url)
{
	static const struct {
		const char *from, *to;
	} schemes[] = {{"mqtts://", "ssl://"}, {"mqtt://", "tcp://"}, {"tls://", "ssl://"}};

	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i].from);

		if (strncmp(url, schemes[i].from, n) == 0) {
			char *out = malloc(strlen(schemes[i].to) + strlen(url + n) + 1);

			if (out)
				sprintf(out, "%s%s", schemes[i].to, url + n);
			return out;
		}
	}
	return strdup(url);
}

int sh_bridge_new(struct sh_hub *hub, struct sh_scene_engine *scenes, struct sh_bridge **out)
{
	const struct sh_config *config = sh_hub_config(hub);
	const struct sh_mqtt_config *m;
	struct sh_bridge *b;
	char topic[SH_BRIDGE_TOPIC_MAX];
	int r;

	if (!config)
		return -EINVAL;
	m = &config->mqtt;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	pthread_mutex_init(&b->tls_error_lock, NULL);
	b->hub = hub;
	b->loop = sh_hub_loop(hub);
	sh_retained_init(&b->retained, publish_retained, b);
	b->env = (struct sh_bridge_env){.bridge = b,
					.hub = hub,
					.scenes = scenes,
					.loop = b->loop,
					.set = &b->set,
					.retained = &b->retained};
	/* Every default was resolved by the configuration (config.c's
	 * set_defaults): nothing here repeats one. */
	r = sh_bridge_settings_init(&b->set, config);
	if (r < 0)
		goto err_free;
	r = -ENOMEM;
	b->url = paho_url(m->url);
	if (!b->url)
		goto err_free;
	if (dup_opt(&b->client_id, m->client_id) || dup_opt(&b->username, m->username) ||
	    dup_opt(&b->password, m->password) || dup_opt(&b->ca_file, m->ca_file) ||
	    dup_opt(&b->cert_file, m->cert_file) || dup_opt(&b->key_file, m->key_file))
		goto err_free;
	b->keepalive_s = m->keepalive_s;
	b->reconnect = m->reconnect;
	/* A zero delay would reconnect in a tight loop. */
	if (!b->reconnect.initial_ms)
		b->reconnect.initial_ms = 1;
	if (b->reconnect.max_ms < b->reconnect.initial_ms)
		b->reconnect.max_ms = b->reconnect.initial_ms;
	if (dup_opt(&b->will_topic,
		    sh_bridge_topic(&b->set, topic, sizeof(topic), "bridge", "state")))
		goto err_free;

	r = sh_inbox_new(m->inbox_limit, m->inbox_bytes, b->set.max_payload, &b->inbox);
	if (r < 0)
		goto err_free;

	b->will = (MQTTAsync_willOptions)MQTTAsync_willOptions_initializer;
	b->will.topicName = b->will_topic;
	b->will.message = bridge_offline;
	b->will.retained = 1;
	b->will.qos = 1;
	b->ssl = (MQTTAsync_SSLOptions)MQTTAsync_SSLOptions_initializer;
	b->ssl.trustStore = b->ca_file;
	b->ssl.keyStore = b->cert_file;
	b->ssl.privateKey = b->key_file;
	b->ssl.enableServerCertAuth = 1;
	b->ssl.verify = 1;
	b->ssl.ssl_error_cb = on_tls_error;
	b->ssl.ssl_error_context = b;

	r = sh_bridge_api_new(&b->env, m->events_per_second, &b->api);
	if (r < 0)
		goto err_inbox;
	b->env.api = b->api;
	r = sh_bridge_autos_new(&b->env, &b->autos);
	if (r < 0)
		goto err_inbox;
	b->env.autos = b->autos;

	ev_async_init(&b->wake, on_wake);
	b->wake.data = b;
	ev_timer_init(&b->retry, on_retry, 0.0, 0.0);
	b->retry.data = b;
	ev_timer_init(&b->sync, on_sync, 0.0, 0.0);
	b->sync.data = b;
	ev_timer_init(&b->trim, on_trim, BRIDGE_TRIM_DELAY_S, 0.0);
	b->trim.data = b;
	ev_timer_init(&b->drops, on_drops, BRIDGE_DROPS_REPORT_S, 0.0);
	b->drops.data = b;

	char reason[256];
	r = sh_paho_open(&b->paho, strncmp(b->url, "ssl://", 6) == 0, reason, sizeof(reason));
	if (r < 0) {
		sh_log_error("mqtt: %s", reason);
		goto err_inbox;
	}
	MQTTAsync_createOptions create = MQTTAsync_createOptions_initializer5;
	create.maxBufferedMessages = BRIDGE_PAHO_BUFFERED_MAX;
	b->mqtt5 = true;
	r = b->paho.create(&b->client, b->url, b->client_id, MQTTCLIENT_PERSISTENCE_NONE, NULL,
			   &create);
	if (r != MQTTASYNC_SUCCESS) {
		sh_log_error("mqtt: %s: %s", b->url, b->paho.strerror(r));
		r = -EINVAL;
		goto err_inbox;
	}
	atomic_init(&b->sock, -1);
	r = b->paho.set_callbacks(b->client, b, on_connection_lost, on_message, on_delivered);
	if (r != MQTTASYNC_SUCCESS) {
		r = -EINVAL;
		goto err_client;
	}
	r = sh_publisher_new(BRIDGE_PUBLISH_ITEMS_MAX, BRIDGE_PUBLISH_BYTES_MAX, send_now, b,
			     &b->publisher);
	if (r < 0)
		goto err_client;
	r = sh_hub_listen(hub, sh_bridge_api_on_event, b->api);
	if (r < 0 || (r = sh_mqtt_drivers_new(&b->env, &b->drivers)) < 0)
		goto err_client;
	*out = b;
	return 0;

err_client:
	sh_publisher_free(b->publisher);
	b->publisher = NULL;
	b->paho.destroy(&b->client);
err_inbox:
	sh_inbox_free(b->inbox);
	b->inbox = NULL;
err_free:
	sh_bridge_free(b);
	return r;
}

void sh_bridge_config_applied(struct sh_bridge *b)
{
	const struct sh_config *config = sh_hub_config(b->hub);
	char *url;

	if (!config)
		return;
	/* Moving to another broker or base topic would strand every retained
	 * topic and subscription: that takes a restart, and we say so. */
	url = paho_url(config->mqtt.url);
	if ((url && strcmp(url, b->url) != 0) ||
	    strcmp(config->mqtt.base_topic, b->set.base) != 0 ||
	    strcmp(config->mqtt.client_id, b->client_id) != 0)
		sh_log_warning("mqtt: url, base_topic and client_id changes take effect after a "
			       "restart");
	free(url);

	/* Discovery follows the file: the next sync publishes what is new and
	 * clears what is no longer wanted (all of it when turned off). */
	if (sh_bridge_settings_apply(&b->set, config) && b->conn == SH_BRIDGE_CONNECTED)
		sh_bridge_subscribe(b);
}

void sh_bridge_set_reload_handler(struct sh_bridge *b, sh_reload_fn fn, void *ctx)
{
	sh_bridge_api_set_reload(b->api, fn, ctx);
}

void sh_bridge_set_automations(struct sh_bridge *b, const struct sh_bridge_automation_ops *ops)
{
	sh_bridge_autos_set(b->autos, ops);
}

void sh_bridge_automation_changed(struct sh_bridge *b, const char *name)
{
	sh_bridge_autos_changed(b->autos, name);
}

int sh_bridge_start(struct sh_bridge *b)
{
	if (b->conn != SH_BRIDGE_IDLE || b->stopped)
		return -EALREADY;
	ev_async_start(b->loop, &b->wake);
	start_connect(b);
	return 0;
}

bool sh_bridge_connected(const struct sh_bridge *b)
{
	return b && b->conn == SH_BRIDGE_CONNECTED;
}

/* Sleeps in small steps until `flag` or the deadline; used only at
 * shutdown, after the loop stopped, so nothing else waits on us. */
static void wait_flag(atomic_bool *flag, struct timespec deadline)
{
	const struct timespec step = {0, 5 * 1000 * 1000};
	struct timespec now;

	while (!atomic_load(flag)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > deadline.tv_sec ||
		    (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec))
			return;
		nanosleep(&step, NULL);
	}
}

void sh_bridge_stop(struct sh_bridge *b, unsigned timeout_ms)
{
	struct timespec deadline;

	if (!b || b->stopped)
		return;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	ev_timer_stop(b->loop, &b->retry);
	ev_timer_stop(b->loop, &b->sync);
	ev_timer_stop(b->loop, &b->trim);
	ev_timer_stop(b->loop, &b->drops);
	ev_async_stop(b->loop, &b->wake);

	/* What the loop published last (a device's final state) goes out
	 * before the offline state and the disconnect; then the thread ends,
	 * and the rest of the shutdown calls Paho here. */
	if (b->conn == SH_BRIDGE_CONNECTED && !sh_publisher_drain(b->publisher, &deadline))
		sh_log_warning("mqtt: %zu publications not sent before the shutdown timeout",
			       sh_publisher_length(b->publisher));
	sh_publisher_free(b->publisher);
	b->publisher = NULL;

	if (b->conn == SH_BRIDGE_CONNECTED) {
		MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
		MQTTAsync_disconnectOptions dopts = MQTTAsync_disconnectOptions_initializer;

		/* The loop has stopped: waiting here blocks no one, and this is
		 * not a Paho callback, so waitForCompletion is allowed. */
		if (b->paho.send_message(b->client, b->will_topic,
					 &(MQTTAsync_message){
						 .struct_id = {'M', 'Q', 'T', 'M'},
						 .payload = (void *)bridge_offline,
						 .payloadlen = (int)strlen(bridge_offline),
						 .qos = 1,
						 .retained = 1,
					 },
					 &ro) == MQTTASYNC_SUCCESS)
			b->paho.wait_for_completion(b->client, ro.token, timeout_ms);
		atomic_store(&b->disconnected, false);
		dopts.timeout = (int)(timeout_ms / 2);
		dopts.onSuccess = on_disconnect_done;
		dopts.onFailure = on_disconnect_failed;
		dopts.context = b;
		if (b->paho.disconnect(b->client, &dopts) == MQTTASYNC_SUCCESS)
			wait_flag(&b->disconnected, deadline);
		sh_log_info("mqtt: disconnected");
	}
	b->stopped = true;
	b->conn = SH_BRIDGE_IDLE;
}

void sh_bridge_free(struct sh_bridge *b)
{
	if (!b)
		return;
	if (b->api)
		sh_hub_unlisten(b->hub, sh_bridge_api_on_event, b->api);
	sh_mqtt_drivers_free(b->drivers);
	if (b->loop) {
		ev_timer_stop(b->loop, &b->retry);
		ev_timer_stop(b->loop, &b->sync);
		ev_timer_stop(b->loop, &b->trim);
		ev_timer_stop(b->loop, &b->drops);
		ev_async_stop(b->loop, &b->wake);
	}
	/* Before the client it sends on. */
	sh_publisher_free(b->publisher);
	/* No Paho thread calls us after this returns, so the inbox can go. */
	if (b->client)
		b->paho.destroy(&b->client);
	sh_paho_close(&b->paho);
	sh_bridge_api_free(b->api);
	sh_bridge_autos_free(b->autos);
	sh_retained_free(&b->retained);
	sh_inbox_free(b->inbox);
	free(b->url);
	free(b->client_id);
	free(b->username);
	if (b->password) {
		/* Not left in freed memory; memset before free may be optimised
		 * away, explicit_bzero may not. */
		explicit_bzero(b->password, strlen(b->password));
		free(b->password);
	}
	free(b->ca_file);
	free(b->cert_file);
	free(b->key_file);
	sh_bridge_settings_free(&b->set);
	free(b->will_topic);
	pthread_mutex_destroy(&b->tls_error_lock);
	free(b);
}

void sh_bridge_inject(struct sh_bridge *b, const char *topic, const void *payload, size_t len,
		      bool retained)
{
	struct sh_inbox_item *item;

	if (sh_inbox_push_message(b->inbox, topic, 0, payload, len, retained) < 0)
		return;
	while ((item = sh_inbox_pop(b->inbox))) {
		if (item->type == SH_INBOX_MESSAGE)
			sh_bridge_api_message(b->api, item);
		sh_inbox_item_free(item);
	}
	(void)sh_inbox_take_dropped(b->inbox);
}
