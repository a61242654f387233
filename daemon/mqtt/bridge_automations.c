/* SPDX-License-Identifier: MIT */
/*
 * The bridge's side of automations: smarthub/automation/<name> (retained
 * status), smarthub/automation/<name>/set (enable, disable, trigger),
 * bridge/request/automation/trace, the subscriptions of mqtt triggers on
 * the hub's connection, and a Home Assistant switch (enabled) and button
 * (trigger) per automation.
 *
 * The mqtt and automations folders do not know each other: main hands the
 * bridge a struct sh_bridge_automation_ops and tells it about changes
 * with sh_bridge_automation_changed().
 *
 * Owns the copies of the trigger filters it subscribed to, so that a
 * reload unsubscribes exactly what it no longer needs.
 */
#include "mqtt/bridge_internal.h"
#include "mqtt/discovery.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool have(const struct sh_bridge *b)
{
	return b->autos.ops.count != NULL;
}

void sh_bridge_set_automations(struct sh_bridge *b, const struct sh_bridge_automation_ops *ops)
{
	b->autos.ops = *ops;
	sh_bridge_automation_changed(b, NULL);
}

/* --- out: status and discovery ----------------------------------------------- */

static void publish_status(struct sh_bridge *b, const char *name, bool force)
{
	char topic[SH_BRIDGE_TOPIC_MAX], sub[SH_BRIDGE_TOPIC_MAX];
	cJSON *status = b->autos.ops.status(b->autos.ops.ctx, name);
	char *text = status ? cJSON_PrintUnformatted(status) : NULL;

	cJSON_Delete(status);
	if (!text)
		return;
	snprintf(sub, sizeof(sub), "%s", name);
	sh_bridge_topic(b, topic, sizeof(topic), "automation", sub);
	sh_retained_put(&b->retained, topic, NULL, text, force);
	cJSON_free(text);
}

static cJSON *bridge_device(void)
{
	cJSON *block = cJSON_CreateObject();
	cJSON *ids = cJSON_AddArrayToObject(block, "identifiers");
	cJSON_AddItemToArray(ids, cJSON_CreateString("smarthub_bridge"));
	cJSON_AddStringToObject(block, "name", "smarthub bridge");
	return block;
}

static void put_discovery(struct sh_bridge *b, const char *component, const char *name, cJSON *e,
			  bool force)
{
	char slug[SH_DISCOVERY_SLUG_MAX], topic[SH_BRIDGE_TOPIC_MAX], buf[SH_BRIDGE_TOPIC_MAX];
	char *text;

	sh_discovery_slug(name, slug, sizeof(slug));
	snprintf(topic, sizeof(topic), "%s/%s/smarthub_bridge/automation_%s/config", b->ha_prefix,
		 component, slug);
	snprintf(buf, sizeof(buf), "smarthub_automation_%s_%s", name, component);
	cJSON_AddStringToObject(e, "unique_id", buf);
	snprintf(buf, sizeof(buf), "smarthub_automation_%s", slug);
	cJSON_AddStringToObject(e, "object_id", buf);
	snprintf(buf, sizeof(buf), "%s/automation/%s/set", b->base, name);
	cJSON_AddStringToObject(e, "command_topic", buf);
	snprintf(buf, sizeof(buf), "%s/bridge/state", b->base);
	cJSON_AddStringToObject(e, "availability_topic", buf);
	cJSON_AddStringToObject(e, "availability_template", "{{ value_json.state }}");
	cJSON_AddItemToObject(e, "device", bridge_device());
	text = cJSON_PrintUnformatted(e);
	cJSON_Delete(e);
	if (text)
		sh_retained_put(&b->retained, topic, NULL, text, force);
	cJSON_free(text);
}

static void publish_discovery(struct sh_bridge *b, const char *name, bool force)
{
	char buf[SH_BRIDGE_TOPIC_MAX];
	cJSON *sw = cJSON_CreateObject();
	cJSON *button = cJSON_CreateObject();

	if (!sw || !button) {
		cJSON_Delete(sw);
		cJSON_Delete(button);
		return;
	}
	snprintf(buf, sizeof(buf), "Automation %s", name);
	cJSON_AddStringToObject(sw, "name", buf);
	snprintf(buf, sizeof(buf), "%s/automation/%s", b->base, name);
	cJSON_AddStringToObject(sw, "state_topic", buf);
	cJSON_AddStringToObject(sw, "value_template",
				"{{ 'ON' if value_json.enabled else 'OFF' }}");
	cJSON_AddStringToObject(sw, "payload_on", "enable");
	cJSON_AddStringToObject(sw, "payload_off", "disable");
	cJSON_AddStringToObject(sw, "state_on", "ON");
	cJSON_AddStringToObject(sw, "state_off", "OFF");
	put_discovery(b, "switch", name, sw, force);
	snprintf(buf, sizeof(buf), "Run automation %s", name);
	cJSON_AddStringToObject(button, "name", buf);
	cJSON_AddStringToObject(button, "payload_press", "trigger");
	put_discovery(b, "button", name, button, force);
}

void sh_bridge_autos_publish(struct sh_bridge *b, bool force)
{
	if (!have(b))
		return;
	size_t n = b->autos.ops.count(b->autos.ops.ctx);
	for (size_t i = 0; i < n; i++) {
		const char *name = b->autos.ops.name(b->autos.ops.ctx, i);
		publish_status(b, name, force);
		if (b->discovery)
			publish_discovery(b, name, force);
	}
}

/* --- subscriptions of the mqtt triggers ------------------------------------------ */

static bool subscribed(const struct sh_bridge *b, const char *filter)
{
	for (size_t i = 0; i < b->autos.n_filters; i++)
		if (!strcmp(b->autos.filters[i], filter))
			return true;
	return false;
}

static void subscribe_one(struct sh_bridge *b, const char *filter)
{
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
	char *list[1] = {(char *)filter};
	int qos[1] = {0};
	int rc = b->paho.subscribe_many(b->client, 1, list, qos, &opts);
	if (rc != MQTTASYNC_SUCCESS)
		sh_log_error("mqtt: automation trigger subscribe %s: %s", filter,
			     b->paho.strerror(rc));
}

void sh_bridge_autos_subscribe(struct sh_bridge *b)
{
	char topic[SH_BRIDGE_TOPIC_MAX];

	if (!have(b) || b->conn != SH_BRIDGE_CONNECTED)
		return;
	subscribe_one(b, sh_bridge_topic(b, topic, sizeof(topic), "automation", "+/set"));
	for (size_t i = 0; i < b->autos.n_filters; i++)
		subscribe_one(b, b->autos.filters[i]);
}

/* The filters of the configuration in force: subscribe the new ones,
 * unsubscribe the ones gone. */
static void update_filters(struct sh_bridge *b)
{
	const char *const *want = b->autos.ops.filters(b->autos.ops.ctx);
	size_t n = 0;

	while (want[n])
		n++;
	char **next = calloc(n + 1, sizeof(*next));
	if (!next)
		return;
	for (size_t i = 0; i < n; i++) {
		next[i] = strdup(want[i]);
		if (next[i] && !subscribed(b, want[i]) && b->conn == SH_BRIDGE_CONNECTED)
			subscribe_one(b, want[i]);
	}
	for (size_t i = 0; i < b->autos.n_filters; i++) {
		bool kept = false;
		for (size_t k = 0; k < n; k++)
			kept |= !strcmp(want[k], b->autos.filters[i]);
		if (!kept && b->conn == SH_BRIDGE_CONNECTED) {
			MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
			(void)b->paho.unsubscribe(b->client, b->autos.filters[i], &opts);
		}
		free(b->autos.filters[i]);
	}
	free(b->autos.filters);
	b->autos.filters = next;
	b->autos.n_filters = n;
}

void sh_bridge_automation_changed(struct sh_bridge *b, const char *name)
{
	if (!have(b))
		return;
	if (name) {
		publish_status(b, name, false);
		return;
	}
	update_filters(b);
	/* New automations appear, removed ones are cleared. */
	sh_bridge_schedule_sync(b);
}

/* --- in: commands, trace, triggers ----------------------------------------------- */

/* The hub's own command topics: never a trigger. */
static bool command_topic(const struct sh_bridge *b, const char *topic)
{
	size_t n = strlen(b->base);
	if (strncmp(topic, b->base, n) || topic[n] != '/')
		return false;
	const char *rest = topic + n + 1;
	const char *last = strrchr(rest, '/');
	return !strncmp(rest, "bridge/request/", 15) ||
	       (last && (!strcmp(last, "/set") || !strcmp(last, "/get")));
}

void sh_bridge_autos_feed(struct sh_bridge *b, const struct sh_inbox_item *item)
{
	if (!have(b) || !b->autos.n_filters || item->too_large || command_topic(b, item->topic))
		return;
	b->autos.ops.message(b->autos.ops.ctx, item->topic, item->payload, item->len);
}

static void trace_request(struct sh_bridge *b, const char *payload, size_t len)
{
	cJSON *req = cJSON_ParseWithLength(payload, len);
	const cJSON *transaction = cJSON_GetObjectItemCaseSensitive(req, "transaction");
	const char *name =
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(req, "automation"));
	char error[320];

	if (!name) {
		sh_bridge_respond(b, "automation/trace", "expected {\"automation\": \"<name>\"}",
				  NULL, transaction);
	} else {
		cJSON *trace = b->autos.ops.trace(b->autos.ops.ctx, name);
		if (!trace) {
			snprintf(error, sizeof(error), "unknown automation '%.200s'", name);
			sh_bridge_respond(b, "automation/trace", error, NULL, transaction);
		} else {
			sh_bridge_respond(b, "automation/trace", NULL, trace, transaction);
		}
	}
	cJSON_Delete(req);
}

bool sh_bridge_autos_message(struct sh_bridge *b, const struct sh_inbox_item *item)
{
	size_t n = strlen(b->base);
	const char *topic = item->topic;

	if (!have(b) || strncmp(topic, b->base, n) || topic[n] != '/')
		return false;
	const char *rest = topic + n + 1;
	if (!strcmp(rest, "bridge/request/automation/trace")) {
		if (!item->retained && !item->too_large)
			trace_request(b, item->payload, item->len);
		return true;
	}
	if (strncmp(rest, "automation/", 11))
		return false;
	const char *name = rest + 11;
	const char *slash = strchr(name, '/');
	if (!slash || strcmp(slash, "/set"))
		return true; /* our own status, or nothing we know */
	char id[SH_BRIDGE_TOPIC_MAX], reason[320];
	snprintf(id, sizeof(id), "%.*s", (int)(slash - name), name);
	if (item->retained || item->too_large) {
		sh_bridge_api_error(b, NULL, topic,
				    item->retained ? "retained commands are ignored; publish "
						     "without retain"
						   : "payload too large");
		return true;
	}
	reason[0] = '\0';
	if (b->autos.ops.command(b->autos.ops.ctx, id, item->payload, item->len, reason,
				 sizeof(reason)) < 0)
		sh_bridge_api_error(b, NULL, topic, reason);
	return true;
}

void sh_bridge_autos_free(struct sh_bridge *b)
{
	for (size_t i = 0; i < b->autos.n_filters; i++)
		free(b->autos.filters[i]);
	free(b->autos.filters);
	b->autos.filters = NULL;
	b->autos.n_filters = 0;
}
