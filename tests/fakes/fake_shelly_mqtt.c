/* SPDX-License-Identifier: MIT */
/*
 * The fake Shelly Gen2 switch (see fake_shelly_mqtt.h).
 */
#include "fake_shelly_mqtt.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

/* Caller holds the lock. */
static void shelly_notify_status(struct fake_mqtt *f, void *ctx)
{
	struct fake_shelly *s = ctx;
	char topic[FAKE_MQTT_TOPIC_MAX], p[512];

	snprintf(topic, sizeof(topic), "%s/events/rpc", s->prefix);
	snprintf(p, sizeof(p),
		 "{\"src\":\"%s\",\"dst\":\"%s/events\",\"method\":\"NotifyStatus\","
		 "\"params\":{\"ts\":1700000000.5,\"switch:0\":{\"id\":0,\"output\":%s}}}",
		 s->prefix, s->prefix, s->on ? "true" : "false");
	fake_mqtt_publish(f, topic, p, false);
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
			shelly_notify_status(f, s);
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

/* After <prefix>/online true (the one retained topic, the device's will):
 * its RPC topic. */
static void shelly_birth(struct fake_mqtt *f, void *ctx)
{
	struct fake_shelly *s = ctx;
	char topic[FAKE_MQTT_TOPIC_MAX];

	snprintf(topic, sizeof(topic), "%s/rpc", s->prefix);
	fake_mqtt_subscribe(f, topic);
}

static const struct fake_mqtt_kind shelly_kind = {
	.client_prefix = "fake-",
	.will_prefix = "",
	.will_suffix = "/online",
	.will_payload = "false",
	.birth_payload = "true",
	.on_message = shelly_on_message,
	.birth = shelly_birth,
	.report = shelly_notify_status,
};

int fake_shelly_start(struct fake_shelly *s, int port, const char *prefix)
{
	snprintf(s->prefix, sizeof(s->prefix), "%s", prefix);
	return fake_mqtt_start_kind(&s->m, port, &shelly_kind, prefix, s);
}
