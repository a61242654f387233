/* SPDX-License-Identifier: MIT */
/*
 * The fake Zigbee2MQTT bulb (see fake_z2m.h).
 */
#include "fake_z2m.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static void z2m_topic_of(const struct fake_z2m *z, char *buf, size_t len, const char *sub)
{
	snprintf(buf, len, "%s/%s%s%s", z->base, z->name, sub ? "/" : "", sub ? sub : "");
}

/* Caller holds the lock. */
static void z2m_publish_state(struct fake_z2m *z, bool on, int brightness)
{
	char t[FAKE_MQTT_TOPIC_MAX], p[96];

	z2m_topic_of(z, t, sizeof(t), NULL);
	snprintf(p, sizeof(p), "{\"state\":\"%s\",\"brightness\":%d,\"linkquality\":120}",
		 on ? "ON" : "OFF", brightness);
	fake_mqtt_publish(&z->m, t, p, false);
}

static void z2m_on_message(struct fake_mqtt *f, const char *topic, const char *payload, size_t len,
			   void *ctx)
{
	struct fake_z2m *z = ctx;
	char set[FAKE_MQTT_TOPIC_MAX];
	cJSON *cmd;

	z2m_topic_of(z, set, sizeof(set), "set");
	pthread_mutex_lock(&f->lock);
	if (strcmp(topic, set) != 0) {
		z->gets++;
		z2m_publish_state(z, z->on, z->brightness);
		pthread_mutex_unlock(&f->lock);
		return;
	}
	z->sets++;
	z->set_seq = fake_seq_next();
	snprintf(z->last_set, sizeof(z->last_set), "%s", payload);
	if (z->stale_echo)
		z2m_publish_state(z, z->on, z->brightness);
	pthread_mutex_unlock(&f->lock);
	if (z->delay_ms)
		fake_mqtt_sleep_ms(z->delay_ms);
	cmd = cJSON_ParseWithLength(payload, len);
	pthread_mutex_lock(&f->lock);
	if (!z->deaf) {
		const cJSON *state = cJSON_GetObjectItem(cmd, "state");
		const cJSON *bri = cJSON_GetObjectItem(cmd, "brightness");
		if (cJSON_IsString(state))
			z->on = strcmp(state->valuestring, "TOGGLE") == 0
					? !z->on
					: strcmp(state->valuestring, "ON") == 0;
		if (cJSON_IsNumber(bri)) {
			z->brightness = bri->valueint;
			z->on = true;
		}
	}
	z->state_seq = fake_seq_next();
	z2m_publish_state(z, z->on, z->brightness);
	pthread_mutex_unlock(&f->lock);
	cJSON_Delete(cmd);
}

static void z2m_birth(struct fake_mqtt *f, void *ctx)
{
	struct fake_z2m *z = ctx;
	char t[FAKE_MQTT_TOPIC_MAX];

	snprintf(t, sizeof(t), "%s/bridge/state", z->base);
	fake_mqtt_publish(f, t, z->legacy ? "online" : "{\"state\":\"online\"}", true);
	z2m_topic_of(z, t, sizeof(t), "availability");
	fake_mqtt_publish(f, t, z->legacy ? "online" : "{\"state\":\"online\"}", true);
	z2m_topic_of(z, t, sizeof(t), "set");
	fake_mqtt_subscribe(f, t);
	z2m_topic_of(z, t, sizeof(t), "get");
	fake_mqtt_subscribe(f, t);
}

int fake_z2m_start(struct fake_z2m *z, int port, const char *base, const char *name)
{
	char will[FAKE_MQTT_TOPIC_MAX], id[96];

	snprintf(z->base, sizeof(z->base), "%s", base);
	snprintf(z->name, sizeof(z->name), "%s", name);
	/* The bridge's will: Zigbee2MQTT going away takes its devices along. */
	snprintf(will, sizeof(will), "%s/bridge/state", base);
	snprintf(id, sizeof(id), "fake-z2m-%s", name);
	for (char *c = id; *c; c++)
		if (*c == '/')
			*c = '_';
	return fake_mqtt_start(&z->m, port, id, will,
			       z->legacy ? "offline" : "{\"state\":\"offline\"}", z2m_on_message,
			       z2m_birth, z);
}

void fake_z2m_change(struct fake_z2m *z, bool on, int brightness)
{
	pthread_mutex_lock(&z->m.lock);
	z->on = on;
	z->brightness = brightness;
	z2m_publish_state(z, on, brightness);
	pthread_mutex_unlock(&z->m.lock);
}

void fake_z2m_bridge(struct fake_z2m *z, bool online)
{
	char t[FAKE_MQTT_TOPIC_MAX];

	snprintf(t, sizeof(t), "%s/bridge/state", z->base);
	fake_mqtt_publish(&z->m, t, online ? "{\"state\":\"online\"}" : "{\"state\":\"offline\"}",
			  true);
}
