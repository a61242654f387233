/* SPDX-License-Identifier: MIT */
/*
 * The fake ESPHome switch (see fake_esphome.h).
 */
#include "fake_esphome.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Caller holds the lock. */
static void esp_publish_state(struct fake_esphome *e)
{
	char topic[FAKE_MQTT_TOPIC_MAX];

	snprintf(topic, sizeof(topic), "%s/switch/%s/state", e->prefix, e->object_id);
	fake_mqtt_publish(&e->m, topic, e->on ? "ON" : "OFF", true);
}

static void esp_on_message(struct fake_mqtt *f, const char *topic, const char *payload, size_t len,
			   void *ctx)
{
	struct fake_esphome *e = ctx;

	(void)topic;
	(void)len;
	pthread_mutex_lock(&f->lock);
	e->commands++;
	if (strcasecmp(payload, "TOGGLE") == 0)
		e->on = !e->on;
	else
		e->on = strcasecmp(payload, "ON") == 0;
	esp_publish_state(e);
	pthread_mutex_unlock(&f->lock);
}

static void esp_birth(struct fake_mqtt *f, void *ctx)
{
	struct fake_esphome *e = ctx;
	char topic[FAKE_MQTT_TOPIC_MAX];

	fake_mqtt_publish(f, f->will_topic, "online", true);
	pthread_mutex_lock(&f->lock);
	esp_publish_state(e);
	pthread_mutex_unlock(&f->lock);
	snprintf(topic, sizeof(topic), "%s/switch/%s/command", e->prefix, e->object_id);
	fake_mqtt_subscribe(f, topic);
}

int fake_esphome_start(struct fake_esphome *e, int port, const char *prefix, const char *object_id)
{
	char will[FAKE_MQTT_TOPIC_MAX], id[160];

	snprintf(e->prefix, sizeof(e->prefix), "%s", prefix);
	snprintf(e->object_id, sizeof(e->object_id), "%s", object_id);
	snprintf(will, sizeof(will), "%s/status", prefix);
	snprintf(id, sizeof(id), "fake-esphome-%s", prefix);
	return fake_mqtt_start(&e->m, port, id, will, "offline", esp_on_message, esp_birth, e);
}

void fake_esphome_set(struct fake_esphome *e, bool on)
{
	pthread_mutex_lock(&e->m.lock);
	e->on = on;
	esp_publish_state(e);
	pthread_mutex_unlock(&e->m.lock);
}

void fake_esphome_stop(struct fake_esphome *e)
{
	fake_mqtt_stop(&e->m);
}
