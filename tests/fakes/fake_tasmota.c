/* SPDX-License-Identifier: MIT */
/*
 * The fake Tasmota plug (see fake_tasmota.h).
 */
#include "fake_tasmota.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Caller holds the lock. */
static void tas_report(struct fake_tasmota *t)
{
	char topic[FAKE_MQTT_TOPIC_MAX], p[64];
	const char *s = t->on ? "ON" : "OFF";

	snprintf(topic, sizeof(topic), "stat/%s/RESULT", t->topic);
	snprintf(p, sizeof(p), "{\"POWER\":\"%s\"}", s);
	fake_mqtt_publish(&t->m, topic, p, false);
	snprintf(topic, sizeof(topic), "stat/%s/POWER", t->topic);
	fake_mqtt_publish(&t->m, topic, s, false);
}

static void tas_on_message(struct fake_mqtt *f, const char *topic, const char *payload, size_t len,
			   void *ctx)
{
	struct fake_tasmota *t = ctx;

	(void)topic;
	if (len == 0) {
		pthread_mutex_lock(&f->lock);
		t->queries++;
		tas_report(t);
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
	if (strcasecmp(payload, "TOGGLE") == 0 || strcmp(payload, "2") == 0)
		t->on = !t->on;
	else
		t->on = strcasecmp(payload, "ON") == 0 || strcmp(payload, "1") == 0;
	t->confirm_seq = fake_seq_next();
	tas_report(t);
	pthread_mutex_unlock(&f->lock);
}

static void tas_birth(struct fake_mqtt *f, void *ctx)
{
	struct fake_tasmota *t = ctx;
	char topic[FAKE_MQTT_TOPIC_MAX], p[96];

	fake_mqtt_publish(f, f->will_topic, "Online", true);
	snprintf(topic, sizeof(topic), "cmnd/%s/POWER", t->topic);
	fake_mqtt_subscribe(f, topic);
	snprintf(topic, sizeof(topic), "tele/%s/STATE", t->topic);
	pthread_mutex_lock(&f->lock);
	snprintf(p, sizeof(p), "{\"Uptime\":\"0T00:00:01\",\"POWER\":\"%s\"}",
		 t->on ? "ON" : "OFF");
	pthread_mutex_unlock(&f->lock);
	fake_mqtt_publish(f, topic, p, false);
}

int fake_tasmota_start(struct fake_tasmota *t, int port, const char *topic)
{
	char will[FAKE_MQTT_TOPIC_MAX], id[96];

	snprintf(t->topic, sizeof(t->topic), "%s", topic);
	snprintf(will, sizeof(will), "tele/%s/LWT", topic);
	snprintf(id, sizeof(id), "fake-tasmota-%s", topic);
	return fake_mqtt_start(&t->m, port, id, will, "Offline", tas_on_message, tas_birth, t);
}

void fake_tasmota_press(struct fake_tasmota *t)
{
	pthread_mutex_lock(&t->m.lock);
	t->on = !t->on;
	tas_report(t);
	pthread_mutex_unlock(&t->m.lock);
}

void fake_tasmota_stop(struct fake_tasmota *t)
{
	fake_mqtt_stop(&t->m);
}
