/* SPDX-License-Identifier: MIT */
/*
 * The fake ESPHome switch (see fake_esphome.h).
 */
#include "fake_esphome.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Caller holds the lock. */
static void esp_publish_state(struct fake_mqtt *f, void *ctx)
{
	struct fake_esphome *e = ctx;
	char topic[FAKE_MQTT_TOPIC_MAX];

	snprintf(topic, sizeof(topic), "%s/switch/%s/state", e->prefix, e->object_id);
	fake_mqtt_publish(f, topic, e->on ? "ON" : "OFF", true);
}

static void esp_on_message(struct fake_mqtt *f, const char *topic, const char *payload, size_t len,
			   void *ctx)
{
	struct fake_esphome *e = ctx;

	(void)topic;
	(void)len;
	pthread_mutex_lock(&f->lock);
	e->commands++;
	e->on = fake_mqtt_switched(e->on, payload);
	esp_publish_state(f, e);
	pthread_mutex_unlock(&f->lock);
}

/* After <prefix>/status online: the state, and the command topic. */
static void esp_birth(struct fake_mqtt *f, void *ctx)
{
	struct fake_esphome *e = ctx;
	char topic[FAKE_MQTT_TOPIC_MAX];

	pthread_mutex_lock(&f->lock);
	esp_publish_state(f, e);
	pthread_mutex_unlock(&f->lock);
	snprintf(topic, sizeof(topic), "%s/switch/%s/command", e->prefix, e->object_id);
	fake_mqtt_subscribe(f, topic);
}

static const struct fake_mqtt_kind esphome_kind = {
	.client_prefix = "fake-esphome-",
	.will_prefix = "",
	.will_suffix = "/status",
	.will_payload = "offline",
	.birth_payload = "online",
	.on_message = esp_on_message,
	.birth = esp_birth,
	.report = esp_publish_state,
};

int fake_esphome_start(struct fake_esphome *e, int port, const char *prefix, const char *object_id)
{
	snprintf(e->prefix, sizeof(e->prefix), "%s", prefix);
	snprintf(e->object_id, sizeof(e->object_id), "%s", object_id);
	return fake_mqtt_start_kind(&e->m, port, &esphome_kind, prefix, e);
}
