/* SPDX-License-Identifier: MIT */
/*
 * One connection to the broker (link.h): Paho's callbacks, connecting and
 * reconnecting, the inbox drain, the publisher thread's Paho calls, stop.
 */
#include "mqtt/link.h"
#include "mqtt/nodelay.h"
#include "mqtt/paho.h"
#include "util/log.h"
#include "util/macros.h"

#include <MQTTAsync.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Paho's own bound on one connect attempt. */
#define LINK_CONNECT_TIMEOUT_S 10
/* Publications Paho holds before its thread writes them. Paho's default
 * for a client made with options is 100, far fewer than the burst after a
 * connect (a few topics per device, for up to 4096 devices); the
 * publisher's own bound is what limits them in practice. */
#define LINK_PAHO_BUFFERED_MAX (1 << 20)
/* Publications in Paho at once: handed over and not yet written (QoS 0)
 * or acknowledged (QoS 1). Paho keeps a copy of each with its own
 * bookkeeping, about three times what the publisher's queue holds for it:
 * the burst after a connect at 5,000 devices held about 9 MB in Paho,
 * the daemon's peak (massif). Beyond this many the publisher thread
 * waits, and the burst waits compactly in the publisher's bounded queue
 * instead (docs/performance.md). */
#define LINK_PAHO_INFLIGHT_MAX 256
/* How long the publisher thread waits for Paho to write one of them
 * before it hands over the next anyway: a callback Paho never made must
 * not stop publishing for good. */
#define LINK_PAHO_STALL_MS 2000

enum link_state {
	LINK_IDLE,       /* not started, or stopped */
	LINK_CONNECTING, /* a connect is outstanding in Paho */
	LINK_CONNECTED,
	LINK_WAITING, /* the retry timer runs */
};

struct sh_mqtt_link {
	struct ev_loop *loop;
	const struct sh_mqtt_link_ops *ops;
	void *ctx;
	const struct sh_mqtt_link *sibling;

	/* Copies of the options. */
	char *name, *url, *client_id, *username, *password;
	char *ca_file, *cert_file, *key_file, *will_topic;
	const char *will_payload;
	unsigned keepalive_s, max_packet_size, batch_max;
	struct sh_backoff reconnect;

	struct sh_paho paho; /* the Paho library in use (plain or TLS) */
	MQTTAsync client;
	MQTTAsync_willOptions will;
	MQTTAsync_SSLOptions ssl;
	enum link_state state;
	bool stopped;
	unsigned failures;      /* consecutive failed attempts */
	char last_failure[256]; /* logged once, then again only when it changes */
	/* OpenSSL's reason for the last failed TLS handshake, which Paho's
	 * failure message ("TCP/TLS connect failure") leaves out. Written and
	 * read on Paho's threads only, under tls_error_lock. */
	pthread_mutex_t tls_error_lock;
	char tls_error[128];
	struct sh_inbox *inbox;
	ev_async wake;
	ev_timer retry;
	/* Every Paho call but connect and stop's: the loop never waits for
	 * Paho's mutex (publisher.h). */
	struct sh_publisher *publisher;
	atomic_bool disconnected;
	/* The broker socket (nodelay.h), -1 while unknown: Paho's receive
	 * thread sets TCP_QUICKACK on it after each PUBACK (on_delivered). */
	atomic_int sock;
	/* MQTT 5 until a broker refuses it; then 3.1.1 until a restart (a
	 * Paho client that connected with 3.1.1 cannot go back to 5). Set on
	 * the loop before a connect, read by the publisher thread too. */
	atomic_bool mqtt5;
	/* Publications in Paho (LINK_PAHO_INFLIGHT_MAX): counted up by the
	 * thread handing one over, down by Paho's callbacks, reset when the
	 * connection goes; the publisher thread waits on `room`. */
	atomic_int in_paho;
	pthread_mutex_t room_lock;
	pthread_cond_t room;
	atomic_bool mqtt5_refused; /* set on Paho's thread with the refusal */
};

/* --- Paho's threads: copy and wake, nothing more ------------------------ */

static void push_event(struct sh_mqtt_link *l, enum sh_inbox_type type, const char *reason)
{
	sh_inbox_push_event(l->inbox, type, reason);
	ev_async_send(l->loop, &l->wake);
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
	struct sh_mqtt_link *l = ctx;
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
	pthread_mutex_lock(&l->tls_error_lock);
	/* The first error is the cause; later ones are consequences. */
	if (!l->tls_error[0])
		snprintf(l->tls_error, sizeof(l->tls_error), "%.*s", (int)(end - reason), reason);
	pthread_mutex_unlock(&l->tls_error_lock);
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
static void connect_failed(struct sh_mqtt_link *l, int code, const char *message, bool mqtt5)
{
	char reason[256], tls_error[sizeof(l->tls_error)];
	bool refused = message && strstr(message, "CONNACK") && connack_reason(code);

	pthread_mutex_lock(&l->tls_error_lock);
	snprintf(tls_error, sizeof(tls_error), "%s", l->tls_error);
	l->tls_error[0] = '\0';
	pthread_mutex_unlock(&l->tls_error_lock);
	if (refused)
		snprintf(reason, sizeof(reason), "refused by the broker: %s", connack_reason(code));
	else if (message)
		snprintf(reason, sizeof(reason), "%s", message);
	else
		snprintf(reason, sizeof(reason), "%s", l->paho.strerror(code));
	if (tls_error[0]) {
		size_t n = strlen(reason);
		snprintf(reason + n, sizeof(reason) - n, ": %s", tls_error);
	}
	if (mqtt5 && refused && (code == 1 || code == MQTTREASONCODE_UNSUPPORTED_PROTOCOL_VERSION))
		atomic_store(&l->mqtt5_refused, true);
	push_event(l, SH_INBOX_CONNECT_FAILED, reason);
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
	struct sh_mqtt_link *l = ctx;

	sh_mqtt_quickack(atomic_load(&l->sock));
}

static int on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *message)
{
	struct sh_mqtt_link *l = ctx;
	struct sh_inbox_reply reply = {0};
	MQTTProperty *p = NULL;

	/* An MQTT 5 request names where its response goes (bridge_api.c
	 * decides whether to answer there). */
	if (message->struct_version >= 1 && message->properties.count > 0)
		p = l->paho.properties_get(&message->properties, MQTTPROPERTY_CODE_RESPONSE_TOPIC);
	if (p) {
		reply.topic = p->value.data.data;
		reply.topic_len = p->value.data.len > 0 ? (size_t)p->value.data.len : 0;
		p = l->paho.properties_get(&message->properties,
					   MQTTPROPERTY_CODE_CORRELATION_DATA);
		if (p) {
			reply.correlation = p->value.data.data;
			reply.correlation_len =
				p->value.data.len > 0 ? (size_t)p->value.data.len : 0;
		}
	}
	sh_inbox_push_reply(l->inbox, topic, topic_len > 0 ? (size_t)topic_len : 0,
			    message->payload,
			    message->payloadlen > 0 ? (size_t)message->payloadlen : 0,
			    message->retained, reply.topic ? &reply : NULL);
	l->paho.free_message(&message);
	l->paho.free(topic);
	ev_async_send(l->loop, &l->wake);
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

/* MQTT 3.1.1 grants each filter a QoS or 0x80, a refusal; Paho says
 * how many only to whoever asked, so a subscribe of several filters is
 * taken as granted (MQTT 5 below tells them apart). */
static void on_subscribe_done_one(void *ctx, MQTTAsync_successData *response)
{
	if (response && response->alt.qos == 0x80)
		push_event(ctx, SH_INBOX_SUBSCRIBE_FAILED, "subscribe refused");
	else
		push_event(ctx, SH_INBOX_SUBSCRIBED, NULL);
}

static void on_subscribe_done_many(void *ctx, MQTTAsync_successData *response)
{
	push_event(ctx, SH_INBOX_SUBSCRIBED, NULL);
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
	else
		push_event(ctx, SH_INBOX_SUBSCRIBED, NULL);
}

static void on_disconnect_done(void *ctx, MQTTAsync_successData *response)
{
	struct sh_mqtt_link *l = ctx;

	atomic_store(&l->disconnected, true);
}

static void on_disconnect_failed(void *ctx, MQTTAsync_failureData *response)
{
	struct sh_mqtt_link *l = ctx;

	atomic_store(&l->disconnected, true);
}

/* --- the publisher thread's Paho calls ------------------------------------ */

/* Paho wrote (QoS 0) or delivered (QoS 1) one of ours, or gave up on it:
 * one more may go. The second exception to "copy and wake": a signal
 * under a lock that only the waiting publisher thread otherwise takes. */
static void written(struct sh_mqtt_link *l)
{
	if (atomic_fetch_sub(&l->in_paho, 1) <= LINK_PAHO_INFLIGHT_MAX) {
		pthread_mutex_lock(&l->room_lock);
		pthread_cond_signal(&l->room);
		pthread_mutex_unlock(&l->room_lock);
	}
}

static void on_sent(void *ctx, MQTTAsync_successData *response)
{
	written(ctx);
}

static void on_not_sent(void *ctx, MQTTAsync_failureData *response)
{
	written(ctx);
}

static void on_sent5(void *ctx, MQTTAsync_successData5 *response)
{
	written(ctx);
}

static void on_not_sent5(void *ctx, MQTTAsync_failureData5 *response)
{
	written(ctx);
}

/* CLOCK_MONOTONIC `ms` from now: the publisher's wait for room and the
 * shutdown's waits. */
static struct timespec deadline_in(unsigned ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

/* Waits while LINK_PAHO_INFLIGHT_MAX are in Paho, at most
 * LINK_PAHO_STALL_MS without one of them going out. Only the publisher
 * thread waits: the loop's direct path is taken only with Paho nearly
 * empty (receiving() below). */
static void wait_for_room(struct sh_mqtt_link *l)
{
	struct timespec deadline;

	if (atomic_load(&l->in_paho) < LINK_PAHO_INFLIGHT_MAX)
		return;
	deadline = deadline_in(LINK_PAHO_STALL_MS);
	pthread_mutex_lock(&l->room_lock);
	while (atomic_load(&l->in_paho) >= LINK_PAHO_INFLIGHT_MAX)
		if (pthread_cond_timedwait(&l->room, &l->room_lock, &deadline) == ETIMEDOUT) {
			sh_log_debug("%s: Paho wrote none of %d publications in %d ms; going on",
				     l->name, atomic_load(&l->in_paho), LINK_PAHO_STALL_MS);
			break;
		}
	pthread_mutex_unlock(&l->room_lock);
}

/* The connection went: Paho's callbacks for what it held may or may not
 * come, and nothing of it counts any more. */
static void forget_in_paho(struct sh_mqtt_link *l)
{
	pthread_mutex_lock(&l->room_lock);
	atomic_store(&l->in_paho, 0);
	pthread_cond_broadcast(&l->room);
	pthread_mutex_unlock(&l->room_lock);
}

/* The one place that hands a publication to Paho, on the publisher
 * thread (or the loop's, on its direct path). l->client and l->paho are
 * set before the thread starts and stay. */
static void send_now(void *ctx, const struct sh_publication *pub)
{
	struct sh_mqtt_link *l = ctx;
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	int rc;

	wait_for_room(l);
	/* Paho refuses the other version's callbacks. */
	if (atomic_load(&l->mqtt5)) {
		ro.onSuccess5 = on_sent5;
		ro.onFailure5 = on_not_sent5;
	} else {
		ro.onSuccess = on_sent;
		ro.onFailure = on_not_sent;
	}
	ro.context = l;
	atomic_fetch_add(&l->in_paho, 1);
	if (pub->reply) {
		MQTTAsync_message msg = MQTTAsync_message_initializer;
		MQTTProperties props = MQTTProperties_initializer;
		MQTTProperty data = {.identifier = MQTTPROPERTY_CODE_CORRELATION_DATA};

		data.value.data.data = (char *)pub->correlation;
		data.value.data.len = (int)pub->correlation_len;
		/* Without the property (no memory) the requester still gets an
		 * answer, only one it may not match. */
		if (pub->correlation)
			(void)l->paho.properties_add(&props, &data);
		msg.payload = (void *)pub->payload;
		msg.payloadlen = (int)pub->len;
		msg.qos = pub->qos;
		msg.retained = pub->retain;
		msg.properties = props;
		rc = l->paho.send_message(l->client, pub->topic, &msg, &ro);
		l->paho.properties_free(&props);
	} else {
		rc = l->paho.send(l->client, pub->topic, (int)pub->len, pub->payload, pub->qos,
				  pub->retain, &ro);
	}
	/* Most likely the connection just dropped and its callback is on its
	 * way; the next connect publishes everything again. */
	if (rc != MQTTASYNC_SUCCESS) {
		written(l);
		sh_log_debug("%s: publish %s: %s", l->name, pub->topic, l->paho.strerror(rc));
	}
}

/* A subscribe or an unsubscribe for the publisher thread: copies of the
 * filters, made on the loop. */
struct sub_job {
	struct sh_mqtt_link *link;
	bool unsubscribe;
	bool own;   /* the owner's own filters: the failure callbacks report */
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
	struct sh_mqtt_link *l = job->link;
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
	int rc;

	if (job->unsubscribe) {
		(void)l->paho.unsubscribe(l->client, job->filters[0], &opts);
		return;
	}
	if (job->own) {
		if (job->mqtt5) {
			opts.onSuccess5 = on_subscribe_done5;
			opts.onFailure5 = on_subscribe_failure5;
		} else {
			opts.onSuccess =
				job->n == 1 ? on_subscribe_done_one : on_subscribe_done_many;
			opts.onFailure = on_subscribe_failure;
		}
		opts.context = l;
	}
	rc = l->paho.subscribe_many(l->client, job->n, job->filters, job->qos, &opts);
	if (rc != MQTTASYNC_SUCCESS)
		sh_log_error("%s: %s subscribe %s%s: %s", l->name, job->who, job->filters[0],
			     job->n > 1 ? ", ..." : "", l->paho.strerror(rc));
}

/* Queues a (un)subscription of n filters (borrowed, copied). 0, -ENOMEM,
 * -ENOBUFS. */
static int queue_sub_job(struct sh_mqtt_link *l, const char *who, bool unsubscribe, bool own,
			 char *const *filters, const int *qos, int n)
{
	struct sub_job *job = calloc(1, sizeof(*job));
	size_t bytes = 0;

	if (!job)
		return -ENOMEM;
	job->link = l;
	job->unsubscribe = unsubscribe;
	job->own = own;
	job->mqtt5 = l->mqtt5;
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
	return sh_publisher_call(l->publisher, sub_job_run, job, sub_job_free, bytes);
}

/* --- the loop's side ------------------------------------------------------- */

/* For the publisher's direct path: Paho's receive thread has handed us
 * more than the loop took yet. That thread (and its mutex) is one for
 * every connection of the process, so a flood on the sibling link (the
 * requests') counts as much as one on ours. */
static bool receiving(void *ctx)
{
	struct sh_mqtt_link *l = ctx;
	const struct sh_mqtt_link *s = l->sibling;

	/* Also while Paho holds a few of ours: the direct path must never
	 * wait for room (wait_for_room). */
	return atomic_load(&l->in_paho) >= LINK_PAHO_INFLIGHT_MAX / 2 ||
	       sh_inbox_length(l->inbox) > 0 ||
	       (s && (sh_inbox_length(s->inbox) > 0 ||
		      (s->publisher && !sh_publisher_quiet(s->publisher))));
}

int sh_mqtt_link_publish(struct sh_mqtt_link *l, const struct sh_publication *pub)
{
	if (l->state != LINK_CONNECTED)
		return -ENOTCONN;
	return sh_publisher_push(l->publisher, pub);
}

size_t sh_mqtt_link_take_dropped(struct sh_mqtt_link *l)
{
	return sh_publisher_take_dropped(l->publisher);
}

int sh_mqtt_link_subscribe(struct sh_mqtt_link *l, const char *who, char *const *filters,
			   const int *qos, int n, bool own)
{
	int rc;

	if (l->state != LINK_CONNECTED)
		return -ENOTCONN;
	if (n <= 0)
		return 0;
	rc = queue_sub_job(l, who, false, own, filters, qos, n);
	if (rc < 0) {
		sh_log_error("%s: %s subscribe %s%s: %s", l->name, who, filters[0],
			     n > 1 ? ", ..." : "", strerror(-rc));
		return -EIO;
	}
	return 0;
}

void sh_mqtt_link_unsubscribe(struct sh_mqtt_link *l, const char *filter)
{
	char *const list[1] = {(char *)filter};

	if (l->state == LINK_CONNECTED)
		(void)queue_sub_job(l, "bridge", true, false, list, NULL, 1);
}

static void connection_down(struct sh_mqtt_link *l, const char *what, const char *reason)
{
	double delay;

	if (l->stopped)
		return;
	l->state = LINK_WAITING;
	atomic_store(&l->sock, -1);
	/* Paho would refuse them now, and the owner publishes its current
	 * state again on the next connect anyway. */
	sh_publisher_discard(l->publisher);
	forget_in_paho(l);
	l->failures++;
	delay = sh_backoff_delay_s(&l->reconnect, l->failures);
	/* Said once per distinct reason: a broker that stays down for a day
	 * must not fill the journal. */
	if (strcmp(l->last_failure, reason) != 0) {
		sh_log_warning("%s: %s %s: %s; retrying with backoff", l->name, what, l->url,
			       reason);
		snprintf(l->last_failure, sizeof(l->last_failure), "%s", reason);
	} else {
		sh_log_debug("%s: %s %s: %s; retry in %.1fs", l->name, what, l->url, reason, delay);
	}
	ev_timer_stop(l->loop, &l->retry);
	ev_timer_set(&l->retry, delay, 0.0);
	ev_timer_start(l->loop, &l->retry);
}

/* The broker socket Paho just connected: the one to the broker that is
 * not the sibling's. -1 when that is not certain (a driver's connection to
 * the same broker, or one being closed). */
static int own_socket(const struct sh_mqtt_link *l)
{
	int fds[SH_MQTT_BROKER_SOCKETS_MAX], n, mine = -1, other = -1;

	if (l->sibling && l->sibling->state == LINK_CONNECTED)
		other = atomic_load(&l->sibling->sock);
	n = sh_mqtt_broker_sockets(l->url, fds, SH_MQTT_BROKER_SOCKETS_MAX);
	for (int i = 0; i < n; i++) {
		if (fds[i] == other)
			continue;
		if (mine >= 0)
			return -1;
		mine = fds[i];
	}
	return mine;
}

static void connected(struct sh_mqtt_link *l)
{
	if (l->stopped || l->state != LINK_CONNECTING)
		return;
	l->state = LINK_CONNECTED;
	forget_in_paho(l);
	l->failures = 0;
	l->last_failure[0] = '\0';
	sh_log_notice("%s: connected to %s with MQTT %s", l->name, l->url,
		      l->mqtt5 ? "5" : "3.1.1");
	/* Before anything is published: see nodelay.h for why and how. */
	int n = sh_mqtt_nodelay(l->url);
	if (n <= 0)
		sh_log_debug("%s: TCP_NODELAY: %s", l->name,
			     n < 0 ? strerror(-n) : "no broker socket found");
	atomic_store(&l->sock, own_socket(l));
	l->ops->connected(l->ctx);
}

static void start_connect(struct sh_mqtt_link *l)
{
	MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer;
	MQTTAsync_connectOptions opts5 = MQTTAsync_connectOptions_initializer5;
	MQTTProperties props = MQTTProperties_initializer;
	int rc;

	if (l->mqtt5) {
		MQTTProperty max = {.identifier = MQTTPROPERTY_CODE_MAXIMUM_PACKET_SIZE,
				    .value.integer4 = l->max_packet_size};

		opts = opts5;
		opts.cleanstart = 1;
		opts.onSuccess5 = on_connect_success5;
		opts.onFailure5 = on_connect_failure5;
		/* Paho copies the properties; without the property (no memory)
		 * the connection still works, only unbounded. */
		if (l->max_packet_size && l->paho.properties_add(&props, &max) == 0)
			opts.connectProperties = &props;
	} else {
		opts.cleansession = 1;
		opts.MQTTVersion = MQTTVERSION_3_1_1;
		opts.onSuccess = on_connect_success;
		opts.onFailure = on_connect_failure;
	}
	opts.keepAliveInterval = (int)l->keepalive_s;
	opts.will = l->will_topic ? &l->will : NULL;
	opts.username = l->username;
	opts.password = l->password;
	opts.connectTimeout = LINK_CONNECT_TIMEOUT_S;
	opts.ssl = strncmp(l->url, "ssl://", 6) == 0 ? &l->ssl : NULL;
	opts.automaticReconnect = 0;
	opts.context = l;

	l->state = LINK_CONNECTING;
	atomic_store(&l->mqtt5_refused, false);
	sh_log_debug("%s: connecting to %s with MQTT %s (maximum packet size %u)", l->name, l->url,
		     l->mqtt5 ? "5" : "3.1.1", l->mqtt5 ? l->max_packet_size : 0);
	/* Paho answers every connect it accepts, by its own timeout at the
	 * latest; a second connect while one is pending would be dropped
	 * without an answer, so there is no timer of ours on top. */
	rc = sh_paho_connect(&l->paho, l->client, &opts);
	l->paho.properties_free(&props);
	if (rc != MQTTASYNC_SUCCESS)
		connection_down(l, "connect", l->paho.strerror(rc));
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sh_mqtt_link *l = w->data;

	if (!l->stopped && l->state == LINK_WAITING)
		start_connect(l);
}

static void handle(struct sh_mqtt_link *l, const struct sh_inbox_item *item)
{
	switch (item->type) {
	case SH_INBOX_MESSAGE:
		if (l->state == LINK_CONNECTED)
			l->ops->message(l->ctx, item);
		break;
	case SH_INBOX_CONNECTED:
		connected(l);
		break;
	case SH_INBOX_CONNECT_FAILED:
		if (l->state != LINK_CONNECTING)
			break;
		if (l->mqtt5 && atomic_exchange(&l->mqtt5_refused, false)) {
			/* Said once: the broker will not change its mind until
			 * it is upgraded, and the hub until it restarts. */
			sh_log_warning("%s: %s refused MQTT 5 (%s); falling back to MQTT 3.1.1, "
				       "where the broker cannot be told the hub's maximum packet "
				       "size (mqtt.max_payload) and requests get no response topic",
				       l->name, l->url, item->reason ? item->reason : "refused");
			l->mqtt5 = false;
			start_connect(l);
			break;
		}
		connection_down(l, "connect to", item->reason ? item->reason : "failed");
		break;
	case SH_INBOX_LOST:
		if (l->state == LINK_CONNECTED) {
			connection_down(l, "connection to", item->reason ? item->reason : "lost");
			l->ops->lost(l->ctx);
		}
		break;
	case SH_INBOX_SUBSCRIBE_FAILED:
		sh_log_error("%s: subscribe: %s", l->name, item->reason ? item->reason : "refused");
		l->ops->subscribe_failed(l->ctx, item->reason ? item->reason : "refused");
		break;
	case SH_INBOX_SUBSCRIBED:
		if (l->state == LINK_CONNECTED && l->ops->subscribed)
			l->ops->subscribed(l->ctx);
		break;
	}
}

static void on_wake(struct ev_loop *loop, ev_async *w, int revents)
{
	struct sh_mqtt_link *l = w->data;
	struct sh_inbox_item *item;
	size_t dropped;
	unsigned n;

	/* A bounded batch; ev_async coalesces wake-ups, so when more waits
	 * we wake ourselves again, behind whatever else the loop has. */
	for (n = 0; n < l->batch_max; n++) {
		item = sh_inbox_pop(l->inbox);
		if (!item)
			break;
		handle(l, item);
		sh_inbox_item_free(item);
	}
	sh_publisher_note_incoming(l->publisher, n);
	if (sh_inbox_length(l->inbox))
		ev_async_send(l->loop, &l->wake);
	dropped = sh_inbox_take_dropped(l->inbox);
	if (dropped)
		l->ops->dropped(l->ctx, dropped);
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

int sh_mqtt_link_new(struct ev_loop *loop, const struct sh_mqtt_link_options *o,
		     const struct sh_mqtt_link_ops *ops, void *ctx, struct sh_mqtt_link **out)
{
	struct sh_mqtt_link *l = calloc(1, sizeof(*l));
	MQTTAsync_createOptions create = MQTTAsync_createOptions_initializer5;
	char reason[256];
	int r = -ENOMEM;

	if (!l)
		return -ENOMEM;
	pthread_mutex_init(&l->tls_error_lock, NULL);
	pthread_mutex_init(&l->room_lock, NULL);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&l->room, &attr);
	pthread_condattr_destroy(&attr);
	atomic_init(&l->sock, -1);
	l->loop = loop;
	l->ops = ops;
	l->ctx = ctx;
	if (dup_opt(&l->name, o->name) || dup_opt(&l->url, o->url) ||
	    dup_opt(&l->client_id, o->client_id) || dup_opt(&l->username, o->username) ||
	    dup_opt(&l->password, o->password) || dup_opt(&l->ca_file, o->ca_file) ||
	    dup_opt(&l->cert_file, o->cert_file) || dup_opt(&l->key_file, o->key_file) ||
	    dup_opt(&l->will_topic, o->will_topic))
		goto err;
	l->will_payload = o->will_payload;
	l->keepalive_s = o->keepalive_s;
	l->max_packet_size = o->max_packet_size;
	l->batch_max = o->batch_max ? o->batch_max : 1;
	l->reconnect = o->reconnect;
	/* A zero delay would reconnect in a tight loop. */
	if (!l->reconnect.initial_ms)
		l->reconnect.initial_ms = 1;
	if (l->reconnect.max_ms < l->reconnect.initial_ms)
		l->reconnect.max_ms = l->reconnect.initial_ms;
	l->mqtt5 = true;

	r = sh_inbox_new(o->inbox_limit, o->inbox_bytes, o->max_payload, &l->inbox);
	if (r < 0)
		goto err;

	l->will = (MQTTAsync_willOptions)MQTTAsync_willOptions_initializer;
	l->will.topicName = l->will_topic;
	l->will.message = l->will_payload;
	l->will.retained = 1;
	l->will.qos = 1;
	l->ssl = (MQTTAsync_SSLOptions)MQTTAsync_SSLOptions_initializer;
	l->ssl.trustStore = l->ca_file;
	l->ssl.keyStore = l->cert_file;
	l->ssl.privateKey = l->key_file;
	l->ssl.enableServerCertAuth = 1;
	l->ssl.verify = 1;
	l->ssl.ssl_error_cb = on_tls_error;
	l->ssl.ssl_error_context = l;

	ev_async_init(&l->wake, on_wake);
	l->wake.data = l;
	ev_timer_init(&l->retry, on_retry, 0.0, 0.0);
	l->retry.data = l;

	r = sh_paho_open(&l->paho, strncmp(l->url, "ssl://", 6) == 0, reason, sizeof(reason));
	if (r < 0) {
		sh_log_error("%s: %s", l->name, reason);
		goto err;
	}
	create.maxBufferedMessages = LINK_PAHO_BUFFERED_MAX;
	r = l->paho.create(&l->client, l->url, l->client_id, MQTTCLIENT_PERSISTENCE_NONE, NULL,
			   &create);
	if (r != MQTTASYNC_SUCCESS) {
		sh_log_error("%s: %s: %s", l->name, l->url, l->paho.strerror(r));
		l->client = NULL;
		r = -EINVAL;
		goto err;
	}
	r = l->paho.set_callbacks(l->client, l, on_connection_lost, on_message, on_delivered);
	if (r != MQTTASYNC_SUCCESS) {
		r = -EINVAL;
		goto err;
	}
	r = sh_publisher_new(o->publish_items_max, o->publish_bytes_max, send_now, l,
			     &l->publisher);
	if (r < 0)
		goto err;
	sh_publisher_set_direct(l->publisher, receiving, l);
	*out = l;
	return 0;

err:
	sh_mqtt_link_free(l);
	return r;
}

void sh_mqtt_link_set_sibling(struct sh_mqtt_link *l, const struct sh_mqtt_link *sibling)
{
	l->sibling = sibling;
}

int sh_mqtt_link_start(struct sh_mqtt_link *l)
{
	if (l->state != LINK_IDLE || l->stopped)
		return -EALREADY;
	ev_async_start(l->loop, &l->wake);
	start_connect(l);
	return 0;
}

bool sh_mqtt_link_connected(const struct sh_mqtt_link *l)
{
	return l && l->state == LINK_CONNECTED;
}

bool sh_mqtt_link_mqtt5(const struct sh_mqtt_link *l)
{
	return l->mqtt5;
}

struct sh_inbox *sh_mqtt_link_inbox(struct sh_mqtt_link *l)
{
	return l->inbox;
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

void sh_mqtt_link_stop(struct sh_mqtt_link *l, unsigned timeout_ms)
{
	struct timespec deadline;

	if (!l || l->stopped)
		return;
	deadline = deadline_in(timeout_ms);
	ev_timer_stop(l->loop, &l->retry);
	ev_async_stop(l->loop, &l->wake);

	/* What the loop published last (a device's final state) goes out
	 * before the will's payload and the disconnect; then the thread ends,
	 * and the rest of the shutdown calls Paho here. */
	if (l->state == LINK_CONNECTED && !sh_publisher_drain(l->publisher, &deadline))
		sh_log_warning("%s: %zu publications not sent before the shutdown timeout", l->name,
			       sh_publisher_length(l->publisher));
	sh_publisher_free(l->publisher);
	l->publisher = NULL;

	if (l->state == LINK_CONNECTED) {
		MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
		MQTTAsync_disconnectOptions dopts = MQTTAsync_disconnectOptions_initializer;

		/* The loop has stopped: waiting here blocks no one, and this is
		 * not a Paho callback, so waitForCompletion is allowed. */
		if (l->will_topic) {
			MQTTAsync_message will = MQTTAsync_message_initializer;

			will.payload = (void *)l->will_payload;
			will.payloadlen = (int)strlen(l->will_payload);
			will.qos = 1;
			will.retained = 1;
			if (l->paho.send_message(l->client, l->will_topic, &will, &ro) ==
			    MQTTASYNC_SUCCESS)
				l->paho.wait_for_completion(l->client, ro.token, timeout_ms);
		}
		atomic_store(&l->disconnected, false);
		dopts.timeout = (int)(timeout_ms / 2);
		dopts.onSuccess = on_disconnect_done;
		dopts.onFailure = on_disconnect_failed;
		dopts.context = l;
		if (l->paho.disconnect(l->client, &dopts) == MQTTASYNC_SUCCESS)
			wait_flag(&l->disconnected, deadline);
		sh_log_info("%s: disconnected", l->name);
	}
	l->stopped = true;
	l->state = LINK_IDLE;
}

void sh_mqtt_link_free(struct sh_mqtt_link *l)
{
	if (!l)
		return;
	if (l->loop) {
		ev_timer_stop(l->loop, &l->retry);
		ev_async_stop(l->loop, &l->wake);
	}
	/* Before the client it sends on. */
	sh_publisher_free(l->publisher);
	/* No Paho thread calls us after this returns, so the inbox can go. */
	if (l->client)
		l->paho.destroy(&l->client);
	if (l->paho.handle)
		sh_paho_close(&l->paho);
	sh_inbox_free(l->inbox);
	if (l->password) {
		/* Not left in freed memory; memset before free may be optimised
		 * away, explicit_bzero may not. */
		explicit_bzero(l->password, strlen(l->password));
		free(l->password);
	}
	free(l->name);
	free(l->url);
	free(l->client_id);
	free(l->username);
	free(l->ca_file);
	free(l->cert_file);
	free(l->key_file);
	free(l->will_topic);
	pthread_mutex_destroy(&l->tls_error_lock);
	pthread_mutex_destroy(&l->room_lock);
	pthread_cond_destroy(&l->room);
	free(l);
}
