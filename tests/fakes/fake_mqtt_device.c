/* SPDX-License-Identifier: MIT */
/*
 * The MQTT client under every device fake (see fake_mqtt_device.h).
 */
#include "fake_mqtt_device.h"
#include "harness.h"

#include <signal.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static atomic_ulong fake_seq;

unsigned long fake_seq_next(void)
{
	return atomic_fetch_add(&fake_seq, 1) + 1;
}

void fake_mqtt_sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int fm_on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *m)
{
	struct fake_mqtt *f = ctx;
	char *t = strndup(topic, topic_len > 0 ? (size_t)topic_len : strlen(topic));
	char *p = malloc((size_t)m->payloadlen + 1);

	if (t && p) {
		memcpy(p, m->payload, (size_t)m->payloadlen);
		p[m->payloadlen] = '\0';
		f->handler(f, t, p, (size_t)m->payloadlen, f->ctx);
	}
	free(t);
	free(p);
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}

/* Paho calls this after the first connect and after every automatic
 * reconnect: a clean session, so birth and subscriptions again. */
static void fm_on_connected(void *ctx, char *cause)
{
	struct fake_mqtt *f = ctx;

	(void)cause;
	f->birth(f, f->ctx);
	pthread_mutex_lock(&f->lock);
	f->up = true;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

static void fm_on_lost(void *ctx, char *cause)
{
	(void)ctx;
	(void)cause;
}

int fake_mqtt_start(struct fake_mqtt *f, int port, const char *client_id, const char *will_topic,
		    const char *will_payload, fake_mqtt_handler handler, fake_mqtt_birth birth_cb,
		    void *ctx)
{
	MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer;
	MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
	char uri[64];
	struct timespec deadline;
	int r = 0;

	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->handler = handler;
	f->birth = birth_cb;
	f->ctx = ctx;
	f->up = false;
	snprintf(f->will_topic, sizeof(f->will_topic), "%s", will_topic);
	snprintf(f->will_payload, sizeof(f->will_payload), "%s", will_payload);
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", port);
	if (MQTTAsync_create(&f->client, uri, client_id, MQTTCLIENT_PERSISTENCE_NONE, NULL) !=
	    MQTTASYNC_SUCCESS)
		return -1;
	MQTTAsync_setCallbacks(f->client, f, fm_on_lost, fm_on_message, NULL);
	MQTTAsync_setConnected(f->client, f, fm_on_connected);
	will.topicName = f->will_topic;
	will.message = f->will_payload;
	will.retained = 1;
	will.qos = 1;
	opts.will = &will;
	opts.keepAliveInterval = 2; /* a killed fake's will comes within seconds */
	opts.cleansession = 1;
	opts.automaticReconnect = 1;
	opts.minRetryInterval = 1;
	opts.maxRetryInterval = 2;
	opts.connectTimeout = 5;
	if (MQTTAsync_connect(f->client, &opts) != MQTTASYNC_SUCCESS)
		return -1;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	pthread_mutex_lock(&f->lock);
	while (!f->up && r == 0)
		r = pthread_cond_timedwait(&f->cond, &f->lock, &deadline);
	pthread_mutex_unlock(&f->lock);
	return f->up ? 0 : -1;
}

/* A kind's birth: online on the will topic, then the rest. */
static void fm_kind_birth(struct fake_mqtt *f, void *ctx)
{
	fake_mqtt_publish(f, f->will_topic, f->kind->birth_payload, true);
	if (f->kind->birth)
		f->kind->birth(f, ctx);
}

int fake_mqtt_start_kind(struct fake_mqtt *f, int port, const struct fake_mqtt_kind *kind,
			 const char *name, void *ctx)
{
	char id[160], will[FAKE_MQTT_TOPIC_MAX];

	snprintf(id, sizeof(id), "%s%s", kind->client_prefix, name);
	snprintf(will, sizeof(will), "%s%s%s", kind->will_prefix, name, kind->will_suffix);
	f->kind = kind;
	return fake_mqtt_start(f, port, id, will, kind->will_payload, kind->on_message,
			       fm_kind_birth, ctx);
}

void fake_mqtt_switch(struct fake_mqtt *f, bool *on, enum fake_mqtt_switch to)
{
	pthread_mutex_lock(&f->lock);
	*on = to == FAKE_MQTT_TOGGLE ? !*on : to == FAKE_MQTT_ON;
	f->kind->report(f, f->ctx);
	pthread_mutex_unlock(&f->lock);
}

bool fake_mqtt_switched(bool on, const char *payload)
{
	if (strcasecmp(payload, "TOGGLE") == 0 || strcmp(payload, "2") == 0)
		return !on;
	return strcasecmp(payload, "ON") == 0 || strcmp(payload, "1") == 0;
}

void fake_mqtt_subscribe(struct fake_mqtt *f, const char *filter)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;

	MQTTAsync_subscribe(f->client, filter, 1, &ro);
}

void fake_mqtt_publish(struct fake_mqtt *f, const char *topic, const char *payload, bool retained)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;

	MQTTAsync_send(f->client, topic, (int)strlen(payload), payload, 1, retained, &ro);
}

void fake_mqtt_kill(struct fake_mqtt *f, int port)
{
	char p[16];
	pid_t pid;

	/* Paho always says goodbye (DISCONNECT: no will) when destroyed, so
	 * the will is left with a mosquitto_sub that is then SIGKILLed: the
	 * broker sees the socket drop and publishes it, as for a device that
	 * lost power. */
	char *dir = th_tempdir();
	char *log = dir ? th_strdupf("%s/will.log", dir) : NULL;

	if (!log)
		return;
	fake_mqtt_publish(f, "fake/will-ready", "1", true);
	fake_mqtt_stop(f);
	snprintf(p, sizeof(p), "%d", port);
	const char *const argv[] = {"mosquitto_sub",
				    "-h",
				    "127.0.0.1",
				    "-p",
				    p,
				    "-v",
				    "-t",
				    "fake/will-ready",
				    "-q",
				    "1",
				    "--will-topic",
				    f->will_topic,
				    "--will-payload",
				    f->will_payload,
				    "--will-retain",
				    "--will-qos",
				    "1",
				    NULL};
	pid = th_spawn(argv, NULL, log);
	/* Connected and subscribed once the retained marker arrived. */
	if (pid > 0)
		th_wait_file_line(log, "fake/will-ready", NULL, 10000);
	th_rmtree(dir);
	free(dir);
	free(log);
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	th_child_stop(pid, 1000);
}

void fake_mqtt_stop(struct fake_mqtt *f)
{
	MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;

	if (!f->client)
		return;
	d.timeout = 1000;
	MQTTAsync_disconnect(f->client, &d);
	fake_mqtt_sleep_ms(50);
	MQTTAsync_destroy(&f->client);
	f->client = NULL;
}
