/* SPDX-License-Identifier: MIT */
/*
 * The fake Tasmota plug (see fake_tasmota.h).
 */
#include "fake_tasmota.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Caller holds the lock. */
static void tas_report(struct fake_mqtt *f, void *ctx)
{
	struct fake_tasmota *t = ctx;
	char topic[FAKE_MQTT_TOPIC_MAX], p[64];
	const char *s = t->on ? "ON" : "OFF";

	snprintf(topic, sizeof(topic), "stat/%s/RESULT", t->topic);
	snprintf(p, sizeof(p), "{\"POWER\":\"%s\"}", s);
	fake_mqtt_publish(f, topic, p, false);
	snprintf(topic, sizeof(topic), "stat/%s/POWER", t->topic);
	fake_mqtt_publish(f, topic, s, false);
}

static void tas_on_message(struct fake_mqtt *f, const char *topic, const char *payload, size_t len,
			   void *ctx)
{
	struct fake_tasmota *t = ctx;

	(void)topic;
	if (len == 0) {
		pthread_mutex_lock(&f->lock);
		t->queries++;
		tas_report(f, t);
		pthread_mutex_unlock(&f->lock);
		return;
	}
	pthread_mutex_lock(&f->lock);
	t->commands++;
	t->command_seq = fake_seq_next();
	pthread_mutex_unlock(&f->lock);
	if (t->delay_ms)
		fake_mqtt_sleep_ms(t->delay_ms);
	pthread_mutex_lock(&f->lock);
	t->on = fake_mqtt_switched(t->on, payload);
	t->confirm_seq = fake_seq_next();
	tas_report(f, t);
	pthread_mutex_unlock(&f->lock);
}

/* After the LWT Online: the command topic, and telemetry. */
static void tas_birth(struct fake_mqtt *f, void *ctx)
{
	struct fake_tasmota *t = ctx;
	char topic[FAKE_MQTT_TOPIC_MAX], p[96];

	snprintf(topic, sizeof(topic), "cmnd/%s/POWER", t->topic);
	fake_mqtt_subscribe(f, topic);
	snprintf(topic, sizeof(topic), "tele/%s/STATE", t->topic);
	pthread_mutex_lock(&f->lock);
	snprintf(p, sizeof(p), "{\"Uptime\":\"0T00:00:01\",\"POWER\":\"%s\"}",
		 t->on ? "ON" : "OFF");
	pthread_mutex_unlock(&f->lock);
	fake_mqtt_publish(f, topic, p, false);
}

static const struct fake_mqtt_kind tasmota_kind = {
	.client_prefix = "fake-tasmota-",
	.will_prefix = "tele/",
	.will_suffix = "/LWT",
	.will_payload = "Offline",
	.birth_payload = "Online",
	.on_message = tas_on_message,
	.birth = tas_birth,
	.report = tas_report,
};

int fake_tasmota_start(struct fake_tasmota *t, int port, const char *topic)
{
	snprintf(t->topic, sizeof(t->topic), "%s", topic);
	return fake_mqtt_start_kind(&t->m, port, &tasmota_kind, topic, t);
}
