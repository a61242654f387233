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

struct sh_bridge_autos {
	const struct sh_bridge_env *env;     /* the transport's, borrowed */
	struct sh_bridge_automation_ops ops; /* count NULL: none */
	char **filters;                      /* subscribed for mqtt triggers */
	size_t n_filters;
};

int sh_bridge_autos_new(const struct sh_bridge_env *env, struct sh_bridge_autos **out)
{
	struct sh_bridge_autos *au = calloc(1, sizeof(*au));

	if (!au)
		return -ENOMEM;
	au->env = env;
	*out = au;
	return 0;
}

static bool have(const struct sh_bridge_autos *au)
{
	return au->ops.count != NULL;
}

void sh_bridge_autos_set(struct sh_bridge_autos *au, const struct sh_bridge_automation_ops *ops)
{
	au->ops = *ops;
	sh_bridge_autos_changed(au, NULL);
}

/* --- out: status and discovery ----------------------------------------------- */

static void publish_status(struct sh_bridge_autos *au, const char *name, bool force)
{
	char topic[SH_BRIDGE_TOPIC_MAX], sub[SH_BRIDGE_TOPIC_MAX];
	cJSON *status = au->ops.status(au->ops.ctx, name);
	char *text = status ? cJSON_PrintUnformatted(status) : NULL;

	cJSON_Delete(status);
	if (!text)
		return;
	snprintf(sub, sizeof(sub), "%s", name);
	sh_bridge_topic(au->env->set, topic, sizeof(topic), "automation", sub);
	sh_retained_put(au->env->retained, topic, NULL, text, force);
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

static void put_discovery(struct sh_bridge_autos *au, const char *component, const char *name,
			  cJSON *e, bool force)
{
	char slug[SH_DISCOVERY_SLUG_MAX], topic[SH_BRIDGE_TOPIC_MAX], buf[SH_BRIDGE_TOPIC_MAX];
	char *text;

	sh_discovery_slug(name, slug, sizeof(slug));
	snprintf(topic, sizeof(topic), "%s/%s/smarthub_bridge/automation_%s/config",
		 au->env->set->ha_prefix, component, slug);
	snprintf(buf, sizeof(buf), "smarthub_automation_%s_%s", name, component);
	cJSON_AddStringToObject(e, "unique_id", buf);
	snprintf(buf, sizeof(buf), "smarthub_automation_%s", slug);
	cJSON_AddStringToObject(e, "object_id", buf);
	snprintf(buf, sizeof(buf), "%s/automation/%s/set", au->env->set->base, name);
	cJSON_AddStringToObject(e, "command_topic", buf);
	snprintf(buf, sizeof(buf), "%s/bridge/state", au->env->set->base);
	cJSON_AddStringToObject(e, "availability_topic", buf);
	cJSON_AddStringToObject(e, "availability_template", "{{ value_json.state }}");
	cJSON_AddItemToObject(e, "device", bridge_device());
	text = cJSON_PrintUnformatted(e);
	cJSON_Delete(e);
	if (text)
		sh_retained_put(au->env->retained, topic, NULL, text, force);
	cJSON_free(text);
}

static void publish_discovery(struct sh_bridge_autos *au, const char *name, bool force)
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
	snprintf(buf, sizeof(buf), "%s/automation/%s", au->env->set->base, name);
	cJSON_AddStringToObject(sw, "state_topic", buf);
	cJSON_AddStringToObject(sw, "value_template",
				"{{ 'ON' if value_json.enabled else 'OFF' }}");
	cJSON_AddStringToObject(sw, "payload_on", "enable");
	cJSON_AddStringToObject(sw, "payload_off", "disable");
	cJSON_AddStringToObject(sw, "state_on", "ON");
	cJSON_AddStringToObject(sw, "state_off", "OFF");
	put_discovery(au, "switch", name, sw, force);
	snprintf(buf, sizeof(buf), "Run automation %s", name);
	cJSON_AddStringToObject(button, "name", buf);
	cJSON_AddStringToObject(button, "payload_press", "trigger");
	put_discovery(au, "button", name, button, force);
}

void sh_bridge_autos_publish(struct sh_bridge_autos *au, bool force)
{
	if (!have(au))
		return;
	size_t n = au->ops.count(au->ops.ctx);
	for (size_t i = 0; i < n; i++) {
		const char *name = au->ops.name(au->ops.ctx, i);
		publish_status(au, name, force);
		if (au->env->set->discovery)
			publish_discovery(au, name, force);
	}
}

/* --- subscriptions of the mqtt triggers ------------------------------------------ */

static bool subscribed(const struct sh_bridge_autos *au, const char *filter)
{
	for (size_t i = 0; i < au->n_filters; i++)
		if (!strcmp(au->filters[i], filter))
			return true;
	return false;
}

static void subscribe_one(struct sh_bridge_autos *au, const char *filter)
{
	char *list[1] = {(char *)filter};
	int qos[1] = {0};

	(void)sh_bridge_subscribe_filters(au->env->bridge, "automation trigger", list, qos, 1);
}

void sh_bridge_autos_subscribe(struct sh_bridge_autos *au)
{
	char topic[SH_BRIDGE_TOPIC_MAX];

	if (!have(au) || !sh_bridge_connected(au->env->bridge))
		return;
	subscribe_one(au,
		      sh_bridge_topic(au->env->set, topic, sizeof(topic), "automation", "+/set"));
	for (size_t i = 0; i < au->n_filters; i++)
		subscribe_one(au, au->filters[i]);
}

/* The filters of the configuration in force: subscribe the new ones,
 * unsubscribe the ones gone. */
static void update_filters(struct sh_bridge_autos *au)
{
	const char *const *want = au->ops.filters(au->ops.ctx);
	size_t n = 0;

	while (want[n])
		n++;
	char **next = calloc(n + 1, sizeof(*next));
	if (!next)
		return;
	for (size_t i = 0; i < n; i++) {
		next[i] = strdup(want[i]);
		if (next[i] && !subscribed(au, want[i]))
			subscribe_one(au, want[i]);
	}
	for (size_t i = 0; i < au->n_filters; i++) {
		bool kept = false;
		for (size_t k = 0; k < n; k++)
			kept |= !strcmp(want[k], au->filters[i]);
		if (!kept)
			sh_bridge_unsubscribe_filter(au->env->bridge, au->filters[i]);
		free(au->filters[i]);
	}
	free(au->filters);
	au->filters = next;
	au->n_filters = n;
}

void sh_bridge_autos_changed(struct sh_bridge_autos *au, const char *name)
{
	if (!have(au))
		return;
	if (name) {
		publish_status(au, name, false);
		return;
	}
	update_filters(au);
	/* New automations appear, removed ones are cleared. */
	sh_bridge_schedule_sync(au->env->bridge);
}

/* --- in: commands, trace, triggers ----------------------------------------------- */

/* The hub's own command topics: never a trigger. */
static bool command_topic(const struct sh_bridge_autos *au, const char *topic)
{
	size_t n = strlen(au->env->set->base);
	if (strncmp(topic, au->env->set->base, n) || topic[n] != '/')
		return false;
	const char *rest = topic + n + 1;
	const char *last = strrchr(rest, '/');
	return !strncmp(rest, "bridge/request/", 15) ||
	       (last && (!strcmp(last, "/set") || !strcmp(last, "/get")));
}

void sh_bridge_autos_feed(struct sh_bridge_autos *au, const struct sh_inbox_item *item)
{
	if (!have(au) || !au->n_filters || item->too_large || command_topic(au, item->topic))
		return;
	au->ops.message(au->ops.ctx, item->topic, item->payload, item->len);
}

static void trace_request(struct sh_bridge_autos *au, const struct sh_inbox_item *item)
{
	cJSON *req = cJSON_ParseWithLength(item->payload, item->len);
	const struct sh_bridge_reply to =
		sh_bridge_reply_of(item, cJSON_GetObjectItemCaseSensitive(req, "transaction"));
	const char *name =
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(req, "automation"));
	char error[320];

	/* A payload that is not an object is refused below, outside the
	 * limit, as request() refuses it. */
	if (cJSON_IsObject(req) &&
	    !sh_bridge_request_allowed(au->env->api, "automation/trace", &to)) {
		cJSON_Delete(req);
		return;
	}
	if (!name) {
		sh_bridge_refuse(au->env->api, "automation/trace",
				 "expected {\"automation\": \"<name>\"}", &to);
	} else {
		cJSON *trace = au->ops.trace(au->ops.ctx, name);
		if (!trace) {
			snprintf(error, sizeof(error), "unknown automation '%.200s'", name);
			sh_bridge_respond(au->env->api, "automation/trace", error, NULL, &to);
		} else {
			sh_bridge_respond(au->env->api, "automation/trace", NULL, trace, &to);
		}
	}
	cJSON_Delete(req);
}

bool sh_bridge_autos_message(struct sh_bridge_autos *au, const struct sh_inbox_item *item)
{
	size_t n = strlen(au->env->set->base);
	const char *topic = item->topic;

	if (!have(au) || strncmp(topic, au->env->set->base, n) || topic[n] != '/')
		return false;
	const char *rest = topic + n + 1;
	if (!strcmp(rest, "bridge/request/automation/trace")) {
		if (!item->retained && !item->too_large)
			trace_request(au, item);
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
		sh_bridge_api_error(au->env->api, NULL, topic,
				    item->retained ? "retained commands are ignored; publish "
						     "without retain"
						   : "payload too large");
		return true;
	}
	reason[0] = '\0';
	if (au->ops.command(au->ops.ctx, id, item->payload, item->len, reason, sizeof(reason)) < 0)
		sh_bridge_api_error(au->env->api, NULL, topic, reason);
	return true;
}

void sh_bridge_autos_free(struct sh_bridge_autos *au)
{
	if (!au)
		return;
	for (size_t i = 0; i < au->n_filters; i++)
		free(au->filters[i]);
	free(au->filters);
	free(au);
}
