/* SPDX-License-Identifier: MIT */
/*
 * The fake Shelly Gen2 switch (see fake_shelly_mqtt.h).
 */
#include "fake_shelly_mqtt.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

/* Caller holds the lock. */
static void shelly_notify_status(struct fake_shelly *s)
{
	char topic[FAKE_MQTT_TOPIC_MAX], p[512];

	snprintf(topic, sizeof(topic), "%s/events/rpc", s->prefix);
	snprintf(p, sizeof(p),
		 "{\"src\":\"%s\",\"dst\":\"%s/events\",\"method\":\"NotifyStatus\","
		 "\"params\":{\"ts\":1700000000.5,\"switch:0\":{\"id\":0,\"output\":%s}}}",
		 s->prefix, s->prefix, s->on ? "true" : "false");
	fake_mqtt_publish(&s->m, topic, p, false);
}

static void shelly_on_message(struct fake_mqtt *f, const char *topic, const char *payload,
			      size_t len, void *ctx)
{
	struct fake_shelly *s = ctx;
	cJSON *req = cJSON_ParseWithLength(payload, len);
	const cJSON *id = cJSON_GetObjectItem(req, "id");
	const cJSON *src = cJSON_GetObjectItem(req, "src");
	const char *method = cJSON_GetStringValue(cJSON_GetObjectItem(req, "method"));
	const cJSON *on = cJSON_GetObjectItem(cJSON_GetObjectItem(req, "params"), "on");
	char answer[FAKE_MQTT_TOPIC_MAX], p[512];

	(void)topic;
	if (!cJSON_IsNumber(id) || !cJSON_IsString(src) || !method) {
		cJSON_Delete(req);
		return; /* the device ignores what is not JSON-RPC */
	}
	snprintf(answer, sizeof(answer), "%s/rpc", src->valuestring);
	pthread_mutex_lock(&f->lock);
	snprintf(s->last_src, sizeof(s->last_src), "%s", src->valuestring);
	if (strcmp(method, "Switch.Set") == 0 && cJSON_IsBool(on)) {
		bool was = s->on;
		s->sets++;
		s->on = cJSON_IsTrue(on);
		snprintf(p, sizeof(p),
			 "{\"id\":%d,\"src\":\"%s\",\"dst\":\"%s\",\"result\":{\"was_on\":%s}}",
			 id->valueint, s->prefix, src->valuestring, was ? "true" : "false");
		fake_mqtt_publish(f, answer, p, false);
		if (was != s->on)
			shelly_notify_status(s);
	} else if (strcmp(method, "Switch.GetStatus") == 0) {
		s->get_status++;
		snprintf(p, sizeof(p),
			 "{\"id\":%d,\"src\":\"%s\",\"dst\":\"%s\",\"result\":{\"id\":0,"
			 "\"source\":\"init\",\"output\":%s,\"apower\":0.0,\"voltage\":230.1}}",
			 id->valueint, s->prefix, src->valuestring, s->on ? "true" : "false");
		fake_mqtt_publish(f, answer, p, false);
	} else {
		snprintf(p, sizeof(p),
			 "{\"id\":%d,\"src\":\"%s\",\"dst\":\"%s\",\"error\":{\"code\":404,"
			 "\"message\":\"No handler for %s\"}}",
			 id->valueint, s->prefix, src->valuestring, method);
		fake_mqtt_publish(f, answer, p, false);
	}
	pthread_mutex_unlock(&f->lock);
	cJSON_Delete(req);
}

static void shelly_birth(struct fake_mqtt *f, void *ctx)
{
	struct fake_shelly *s = ctx;
	char topic[FAKE_MQTT_TOPIC_MAX];

	/* <prefix>/online is the one retained topic (the device's will). */
	fake_mqtt_publish(f, f->will_topic, "true", true);
	snprintf(topic, sizeof(topic), "%s/rpc", s->prefix);
	fake_mqtt_subscribe(f, topic);
}

int fake_shelly_start(struct fake_shelly *s, int port, const char *prefix)
{
	char will[FAKE_MQTT_TOPIC_MAX], id[128];

	snprintf(s->prefix, sizeof(s->prefix), "%s", prefix);
	snprintf(will, sizeof(will), "%s/online", prefix);
	snprintf(id, sizeof(id), "fake-%s", prefix);
	return fake_mqtt_start(&s->m, port, id, will, "false", shelly_on_message, shelly_birth, s);
}

void fake_shelly_press(struct fake_shelly *s)
{
	pthread_mutex_lock(&s->m.lock);
	s->on = !s->on;
	shelly_notify_status(s);
	pthread_mutex_unlock(&s->m.lock);
}

void fake_shelly_stop(struct fake_shelly *s)
{
	fake_mqtt_stop(&s->m);
}
