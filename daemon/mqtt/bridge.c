/* SPDX-License-Identifier: MIT */
/*
 * The bridge's transport: its connections to the broker (link.h) and the
 * routing of what arrives on them to the piece it is for. The main link
 * carries commands, states and the bridge's will; the request link, when
 * mqtt.request_connection is on (the default), reads <base>/bridge/
 * request/# alone, so that a flood of requests queues behind itself and
 * never in front of a command (link.h says why). Responses go out on the
 * main link, with everything else.
 *
 * Threads: the links run Paho's callbacks on Paho's threads and hand the
 * loop what arrived; everything here runs on the loop thread. It never
 * calls Paho: publications and subscriptions are queued for the link's
 * publisher thread.
 *
 * While disconnected nothing is published; every retained topic is
 * published again on connect from the hub's current state, which is how
 * changes during an outage are coalesced (latest wins, bounded by the
 * number of topics).
 */
#include "mqtt/bridge_internal.h"
#include "mqtt/driver_mqtt.h"
#include "mqtt/link.h"
#include "mqtt/publisher.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Inbox items each link handles per loop wake-up. Then the loop turns
 * (timers, device I/O, the watchdog) before the next batch: whatever
 * arrives, no flood holds the loop longer than this many messages. The
 * request link's batch is smaller: a request costs more than a command,
 * and it is the link a flood arrives on. */
#define BRIDGE_BATCH_MAX 128
#define BRIDGE_REQUEST_BATCH_MAX 16
/* The request link's inbox: every request kind is rate-limited
 * (mqtt.requests_per_minute, mqtt.requests_per_second), so a few dozen
 * waiting is already a flood; the oldest go first, counted in an event. */
#define BRIDGE_REQUEST_INBOX_MAX 64
#define BRIDGE_REQUEST_INBOX_BYTES (256u << 10)
/* Publications after which the heap is trimmed, BRIDGE_TRIM_DELAY_S later
 * (malloc_trim costs about a millisecond; a steady stream of states pays
 * it at most once a second). */
#define BRIDGE_TRIM_AFTER 1000
#define BRIDGE_TRIM_DELAY_S 1.0
/* Subscriptions of every connection, under the base topic (plus the Home
 * Assistant status topic). */
#define BRIDGE_SUBSCRIPTIONS_MAX 5
/* Below <base>/bridge/: the request kinds that change what devices do
 * (scene/run, scene/cancel), read on the main link even with a request
 * link, so that they keep their order with the commands around them. */
#define BRIDGE_ORDERED_REQUESTS "request/scene/"
/* What a packet to the hub holds besides its payload: the fixed header, the
 * topic (the hub's are at most SH_BRIDGE_TOPIC_MAX) and the properties a
 * client adds (a Response Topic, Correlation Data). A packet within it
 * whose payload is over max_payload still arrives and gets its event. */
#define BRIDGE_PACKET_HEADROOM 4096
/* MQTT's own bound on a packet (a four-byte remaining length). */
#define BRIDGE_PACKET_MAX 268435455u
/* Publications waiting for the main link's publisher thread (publisher.h),
 * in number and bytes: the burst after a connect (a few retained topics
 * per device, up to 4096 devices, and their discovery) fits; a flood of
 * responses that Paho cannot take fast enough is cut here. The request
 * link publishes nothing: its queue only carries its subscription. */
#define BRIDGE_PUBLISH_ITEMS_MAX (1u << 16)
#define BRIDGE_PUBLISH_BYTES_MAX (32u << 20)
#define BRIDGE_REQUEST_PUBLISH_ITEMS_MAX 16
#define BRIDGE_REQUEST_PUBLISH_BYTES_MAX (64u << 10)
/* Dropped publications are reported on bridge/event at most this often. */
#define BRIDGE_DROPS_REPORT_S 1.0
/* How long the bridge's "online" waits for the request link's
 * subscription after the main link connected: "online" promises that
 * requests are answered, but a broker that refuses a second connection
 * must not keep the hub offline. */
#define BRIDGE_REQUESTS_WAIT_S 5.0
/* Appended to mqtt.client_id for the request link: a broker keeps one
 * session per client id. */
#define BRIDGE_REQUEST_CLIENT_SUFFIX "-requests"

static const char bridge_online[] = "{\"state\":\"online\"}";
static const char bridge_offline[] = "{\"state\":\"offline\"}";

/* The transport's state: no other file sees it (the pieces get `env`). */
struct sh_bridge {
	struct sh_hub *hub;
	struct ev_loop *loop;

	/* Settings copied from the first configuration: a reload does not move
	 * the bridge to another broker or base topic (that needs a restart).
	 * `set` is what the pieces share (bridge_settings.h). */
	struct sh_bridge_settings set;
	char *url;       /* as Paho wants it: tcp:// or ssl:// */
	char *client_id; /* the main link's */
	char *will_topic;
	bool stopped;

	struct sh_mqtt_link *main;     /* commands, states, the will */
	struct sh_mqtt_link *requests; /* bridge/request/#; NULL when off */
	bool requests_started;         /* after the main link's first connect */
	bool requests_ready;           /* the request link holds its subscription */
	bool online;                   /* "online" published on this main connection */
	ev_timer requests_wait;        /* BRIDGE_REQUESTS_WAIT_S for requests_ready */
	ev_timer sync;                 /* coalesces device list changes into one publication */
	ev_timer trim;                 /* gives the heap back after a burst of publications */
	ev_timer drops;                /* reports publications the full queue dropped */
	size_t published;              /* since the last trim */

	/* The pieces, each with its own state: the retained table (retained.c),
	 * the topic API (bridge_api.c), automations and drivers' MQTT; `env`
	 * is what they are lent. */
	struct sh_bridge_env env;
	struct sh_retained retained;
	struct sh_bridge_api *api;
	struct sh_bridge_autos *autos;
	struct sh_mqtt_drivers *drivers; /* the drivers' MQTT (driver_mqtt.c) */
};

/* --- publishing ---------------------------------------------------------- */

/* Every way out: into the main link's publisher queue, never into Paho. */
static int send_publication(struct sh_bridge *b, const struct sh_publication *pub)
{
	int rc = sh_mqtt_link_publish(b->main, pub);

	if (rc == -ENOBUFS && !ev_is_active(&b->drops))
		ev_timer_start(b->loop, &b->drops);
	if (rc < 0)
		return rc;
	/* After a burst (thousands of devices coming online after the
	 * connect), once Paho's thread has written it out: the heap back. */
	if (++b->published >= BRIDGE_TRIM_AFTER && !ev_is_active(&b->trim))
		ev_timer_start(b->loop, &b->trim);
	return 0;
}

static void on_drops(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sh_bridge *b = w->data;
	size_t dropped = sh_mqtt_link_take_dropped(b->main);
	char msg[128];

	if (!dropped)
		return;
	/* Itself a publication: when the queue is still full it is dropped
	 * too, counted, and the next report says so. */
	snprintf(msg, sizeof(msg), "publish queue full: dropped %zu outgoing publication%s",
		 dropped, dropped == 1 ? "" : "s");
	sh_log_warning("mqtt: %s", msg);
	sh_bridge_api_error(b->api, NULL, NULL, msg);
}

int sh_bridge_publish_external(struct sh_bridge *b, const char *topic, const void *payload,
			       size_t len, int qos, bool retain)
{
	return send_publication(b, &(struct sh_publication){.topic = topic,
							    .payload = payload,
							    .len = len,
							    .qos = qos,
							    .retain = retain});
}

int sh_bridge_publish(struct sh_bridge *b, const char *topic, const void *payload, size_t len,
		      int qos, bool retain)
{
	/* Before the announcement the retained table keeps what changed and
	 * announce() publishes it: a subscriber sees each topic once, after
	 * "online". */
	if (!b->online)
		return -ENOTCONN;
	return sh_bridge_publish_external(b, topic, payload, len, qos, retain);
}

int sh_bridge_publish_reply(struct sh_bridge *b, const char *topic, const void *payload, size_t len,
			    const void *correlation, size_t correlation_len)
{
	if (correlation_len > UINT16_MAX)
		return -EINVAL;
	/* Under 3.1.1 (the broker refused 5) there are no properties. */
	return send_publication(b, &(struct sh_publication){.topic = topic,
							    .payload = payload,
							    .len = len,
							    .qos = 1,
							    .reply = sh_mqtt_link_mqtt5(b->main),
							    .correlation = correlation,
							    .correlation_len = correlation_len});
}

/* The retained table's way out: retained, at mqtt.qos. */
static int publish_retained(void *ctx, const char *topic, const void *payload, size_t len)
{
	struct sh_bridge *b = ctx;

	return sh_bridge_publish(b, topic, payload, len, b->set.qos, true);
}

int sh_bridge_publish_json(struct sh_bridge *b, const char *topic, const cJSON *json, int qos,
			   bool retain)
{
	char *text;
	int rc;

	if (!b->online)
		return -ENOTCONN;
	text = cJSON_PrintUnformatted(json);
	if (!text)
		return -ENOMEM;
	rc = sh_bridge_publish(b, topic, text, strlen(text), qos, retain);
	cJSON_free(text);
	return rc;
}

/* --- subscribing ----------------------------------------------------------- */

/* The main link's own subscriptions (again after a reload turned
 * discovery on), then the automations'. */
static void subscribe_main(struct sh_bridge *b)
{
	char topics[BRIDGE_SUBSCRIPTIONS_MAX][SH_BRIDGE_TOPIC_MAX];
	char *list[BRIDGE_SUBSCRIPTIONS_MAX];
	int qos[BRIDGE_SUBSCRIPTIONS_MAX];
	int n = 0;

	sh_bridge_topic(&b->set, topics[n++], SH_BRIDGE_TOPIC_MAX, "+", "set");
	sh_bridge_topic(&b->set, topics[n++], SH_BRIDGE_TOPIC_MAX, "+", "get");
	sh_bridge_topic(&b->set, topics[n++], SH_BRIDGE_TOPIC_MAX, "scene", "+/set");
	/* With a request link, the requests that change what devices do stay
	 * here, in order with the commands a client sends before and after
	 * them (a scene run, then a /set: the /set wins); the request link
	 * drops its copy. */
	sh_bridge_topic(&b->set, topics[n++], SH_BRIDGE_TOPIC_MAX, "bridge",
			b->requests ? BRIDGE_ORDERED_REQUESTS "#" : "request/#");
	if (b->set.discovery && b->set.ha_status_topic)
		snprintf(topics[n++], SH_BRIDGE_TOPIC_MAX, "%s", b->set.ha_status_topic);
	for (int i = 0; i < n; i++) {
		list[i] = topics[i];
		qos[i] = 1;
	}
	(void)sh_mqtt_link_subscribe(b->main, "bridge", list, qos, n, true);
	sh_bridge_autos_subscribe(b->autos);
}

int sh_bridge_subscribe_filters(struct sh_bridge *b, const char *who, char *const *filters,
				const int *qos, int n)
{
	return sh_mqtt_link_subscribe(b->main, who, filters, qos, n, false);
}

void sh_bridge_unsubscribe_filter(struct sh_bridge *b, const char *filter)
{
	sh_mqtt_link_unsubscribe(b->main, filter);
}

bool sh_bridge_stopped(const struct sh_bridge *b)
{
	return b->stopped;
}

/* --- what the links report ------------------------------------------------ */

/* A message from either link: the drivers' topics, the automations', then
 * the topic API. */
static void on_link_message(void *ctx, const struct sh_inbox_item *item)
{
	struct sh_bridge *b = ctx;

	sh_bridge_autos_feed(b->autos, item);
	if (!sh_mqtt_drivers_route(b->drivers, item) && !sh_bridge_autos_message(b->autos, item))
		sh_bridge_api_message(b->api, item);
}

/* A message from the request link: all but the ordered kinds, which the
 * main link reads too (subscribe_main). */
static void on_request_message(void *ctx, const struct sh_inbox_item *item)
{
	struct sh_bridge *b = ctx;
	char ordered[SH_BRIDGE_TOPIC_MAX];
	size_t n;

	sh_bridge_topic(&b->set, ordered, sizeof(ordered), "bridge", BRIDGE_ORDERED_REQUESTS);
	n = strlen(ordered);
	if (strncmp(item->topic, ordered, n) != 0)
		on_link_message(ctx, item);
}

static void on_link_subscribe_failed(void *ctx, const char *reason)
{
	struct sh_bridge *b = ctx;

	sh_bridge_api_error(b->api, NULL, NULL, "the broker refused the bridge's subscriptions");
}

static void on_link_dropped(void *ctx, size_t dropped)
{
	struct sh_bridge *b = ctx;
	char msg[128];

	snprintf(msg, sizeof(msg), "inbox full: dropped %zu incoming message%s", dropped,
		 dropped == 1 ? "" : "s");
	sh_bridge_api_error(b->api, NULL, NULL, msg);
}

/* A new main connection is announced, "online" and every retained topic,
 * once per connection: "online" promises that requests are answered, so
 * with a request link it waits for that link's subscription. */
static void announce(struct sh_bridge *b)
{
	ev_timer_stop(b->loop, &b->requests_wait);
	if (b->online || !sh_mqtt_link_connected(b->main))
		return;
	b->online = true;
	sh_bridge_publish(b, b->will_topic, bridge_online, strlen(bridge_online), 1, true);
	sh_bridge_api_publish_all(b->api);
	/* Publishing everything builds large transient JSON and Paho copies
	 * every publication until its thread wrote it; glibc keeps the freed
	 * memory below live allocations unless asked to give it back
	 * (docs/performance.md: 26 -> 15 MiB with 5,000 devices). */
	malloc_trim(0);
}

static void on_requests_wait(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sh_bridge *b = w->data;

	sh_log_warning("mqtt requests: no subscription to %s/bridge/request/# after %.0f s; the "
		       "hub goes online, and requests are answered once the second connection is "
		       "up (or set mqtt.request_connection: false)",
		       b->set.base, BRIDGE_REQUESTS_WAIT_S);
	announce(b);
}

static void on_main_connected(void *ctx)
{
	struct sh_bridge *b = ctx;

	subscribe_main(b);
	sh_mqtt_drivers_link(b->drivers, true);
	b->online = false;
	if (!b->requests || b->requests_ready) {
		announce(b);
		return;
	}
	ev_timer_start(b->loop, &b->requests_wait);
	/* Second, not together: a broker that allows the hub's user one
	 * connection must give it to the main link. Then the request link
	 * reconnects by itself. */
	if (!b->requests_started) {
		b->requests_started = true;
		(void)sh_mqtt_link_start(b->requests);
	}
}

static void on_main_lost(void *ctx)
{
	struct sh_bridge *b = ctx;

	ev_timer_stop(b->loop, &b->requests_wait);
	b->online = false;
	sh_mqtt_drivers_link(b->drivers, false);
}

static void on_requests_connected(void *ctx)
{
	struct sh_bridge *b = ctx;
	char topic[SH_BRIDGE_TOPIC_MAX];
	char *list[1] = {topic};
	int qos[1] = {1};

	b->requests_ready = false;
	sh_bridge_topic(&b->set, topic, sizeof(topic), "bridge", "request/#");
	(void)sh_mqtt_link_subscribe(b->requests, "bridge", list, qos, 1, true);
}

static void on_requests_subscribed(void *ctx)
{
	struct sh_bridge *b = ctx;

	b->requests_ready = true;
	announce(b);
}

static void on_requests_lost(void *ctx)
{
	struct sh_bridge *b = ctx;

	b->requests_ready = false;
}

static const struct sh_mqtt_link_ops main_ops = {
	.connected = on_main_connected,
	.lost = on_main_lost,
	.message = on_link_message,
	.subscribe_failed = on_link_subscribe_failed,
	.dropped = on_link_dropped,
};

static const struct sh_mqtt_link_ops request_ops = {
	.connected = on_requests_connected,
	.lost = on_requests_lost,
	.message = on_request_message,
	.subscribe_failed = on_link_subscribe_failed,
	.subscribed = on_requests_subscribed,
	.dropped = on_link_dropped,
};

static void on_trim(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sh_bridge *b = w->data;

	b->published = 0;
	malloc_trim(0);
}

static void on_sync(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sh_bridge *b = w->data;

	sh_bridge_api_sync(b->api);
}

void sh_bridge_schedule_sync(struct sh_bridge *b)
{
	if (!ev_is_active(&b->sync))
		ev_timer_start(b->loop, &b->sync);
}

/* --- lifecycle ------------------------------------------------------------- */

/* Paho speaks tcp:// and ssl://; the configuration says mqtt:// and
 * mqtts:// too. */
static char *paho_url(const char *url)
{
	static const struct {
		const char *from, *to;
	} schemes[] = {{"mqtts://", "ssl://"}, {"mqtt://", "tcp://"}, {"tls://", "ssl://"}};

	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i].from);

		if (strncmp(url, schemes[i].from, n) == 0) {
			char *out = malloc(strlen(schemes[i].to) + strlen(url + n) + 1);

			if (out)
				sprintf(out, "%s%s", schemes[i].to, url + n);
			return out;
		}
	}
	return strdup(url);
}

/* The Maximum Packet Size the hub declares. */
static unsigned max_packet_size(size_t max_payload)
{
	if (max_payload >= BRIDGE_PACKET_MAX - BRIDGE_PACKET_HEADROOM)
		return BRIDGE_PACKET_MAX;
	return (unsigned)max_payload + BRIDGE_PACKET_HEADROOM;
}

/* The main link and, when on, the request link (its client id is the
 * main one's with BRIDGE_REQUEST_CLIENT_SUFFIX). */
static int make_links(struct sh_bridge *b, const struct sh_mqtt_config *m)
{
	struct sh_mqtt_link_options o = {
		.name = "mqtt",
		.url = b->url,
		.client_id = b->client_id,
		.username = m->username,
		.password = m->password,
		.ca_file = m->ca_file,
		.cert_file = m->cert_file,
		.key_file = m->key_file,
		.keepalive_s = m->keepalive_s,
		.reconnect = m->reconnect,
		.max_packet_size = max_packet_size(b->set.max_payload),
		.will_topic = b->will_topic,
		.will_payload = bridge_offline,
		.inbox_limit = m->inbox_limit,
		.inbox_bytes = m->inbox_bytes,
		.max_payload = b->set.max_payload,
		.batch_max = BRIDGE_BATCH_MAX,
		.publish_items_max = BRIDGE_PUBLISH_ITEMS_MAX,
		.publish_bytes_max = BRIDGE_PUBLISH_BYTES_MAX,
	};
	char *request_id;
	int r = sh_mqtt_link_new(b->loop, &o, &main_ops, b, &b->main);

	if (r < 0 || !m->request_connection)
		return r;
	request_id = malloc(strlen(b->client_id) + sizeof(BRIDGE_REQUEST_CLIENT_SUFFIX));
	if (!request_id)
		return -ENOMEM;
	sprintf(request_id, "%s%s", b->client_id, BRIDGE_REQUEST_CLIENT_SUFFIX);
	o.name = "mqtt requests";
	o.client_id = request_id;
	o.will_topic = NULL;
	o.will_payload = NULL;
	o.inbox_limit = BRIDGE_REQUEST_INBOX_MAX;
	o.inbox_bytes = BRIDGE_REQUEST_INBOX_BYTES;
	o.batch_max = BRIDGE_REQUEST_BATCH_MAX;
	o.publish_items_max = BRIDGE_REQUEST_PUBLISH_ITEMS_MAX;
	o.publish_bytes_max = BRIDGE_REQUEST_PUBLISH_BYTES_MAX;
	r = sh_mqtt_link_new(b->loop, &o, &request_ops, b, &b->requests);
	free(request_id);
	if (r < 0)
		return r;
	sh_mqtt_link_set_sibling(b->main, b->requests);
	sh_mqtt_link_set_sibling(b->requests, b->main);
	return 0;
}

int sh_bridge_new(struct sh_hub *hub, struct sh_scene_engine *scenes, struct sh_bridge **out)
{
	const struct sh_config *config = sh_hub_config(hub);
	const struct sh_mqtt_config *m;
	struct sh_bridge *b;
	char topic[SH_BRIDGE_TOPIC_MAX];
	int r;

	if (!config)
		return -EINVAL;
	m = &config->mqtt;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->hub = hub;
	b->loop = sh_hub_loop(hub);
	sh_retained_init(&b->retained, publish_retained, b);
	b->env = (struct sh_bridge_env){.bridge = b,
					.hub = hub,
					.scenes = scenes,
					.loop = b->loop,
					.set = &b->set,
					.retained = &b->retained};
	ev_timer_init(&b->sync, on_sync, 0.0, 0.0);
	b->sync.data = b;
	ev_timer_init(&b->trim, on_trim, BRIDGE_TRIM_DELAY_S, 0.0);
	b->trim.data = b;
	ev_timer_init(&b->drops, on_drops, BRIDGE_DROPS_REPORT_S, 0.0);
	b->drops.data = b;
	ev_timer_init(&b->requests_wait, on_requests_wait, BRIDGE_REQUESTS_WAIT_S, 0.0);
	b->requests_wait.data = b;
	/* Every default was resolved by the configuration (config.c's
	 * set_defaults): nothing here repeats one. */
	r = sh_bridge_settings_init(&b->set, config);
	if (r < 0)
		goto err;
	r = -ENOMEM;
	b->url = paho_url(m->url);
	b->client_id = strdup(m->client_id);
	b->will_topic = strdup(sh_bridge_topic(&b->set, topic, sizeof(topic), "bridge", "state"));
	if (!b->url || !b->client_id || !b->will_topic)
		goto err;
	r = sh_bridge_api_new(&b->env, m->events_per_second, &b->api);
	if (r < 0)
		goto err;
	b->env.api = b->api;
	r = sh_bridge_autos_new(&b->env, &b->autos);
	if (r < 0)
		goto err;
	b->env.autos = b->autos;
	r = make_links(b, m);
	if (r < 0)
		goto err;
	r = sh_hub_listen(hub, sh_bridge_api_on_event, b->api);
	if (r < 0 || (r = sh_mqtt_drivers_new(&b->env, &b->drivers)) < 0)
		goto err;
	*out = b;
	return 0;

err:
	sh_bridge_free(b);
	return r;
}

void sh_bridge_config_applied(struct sh_bridge *b)
{
	const struct sh_config *config = sh_hub_config(b->hub);
	char *url;

	if (!config)
		return;
	/* Moving to another broker or base topic would strand every retained
	 * topic and subscription: that takes a restart, and we say so. */
	url = paho_url(config->mqtt.url);
	if ((url && strcmp(url, b->url) != 0) ||
	    strcmp(config->mqtt.base_topic, b->set.base) != 0 ||
	    strcmp(config->mqtt.client_id, b->client_id) != 0 ||
	    config->mqtt.request_connection != (b->requests != NULL))
		sh_log_warning("mqtt: url, base_topic, client_id and request_connection changes "
			       "take effect after a restart");
	free(url);

	/* Discovery follows the file: the next sync publishes what is new and
	 * clears what is no longer wanted (all of it when turned off). */
	if (sh_bridge_settings_apply(&b->set, config) && sh_mqtt_link_connected(b->main))
		subscribe_main(b);
}

void sh_bridge_set_reload_handler(struct sh_bridge *b, sh_reload_fn fn, void *ctx)
{
	sh_bridge_api_set_reload(b->api, fn, ctx);
}

void sh_bridge_set_automations(struct sh_bridge *b, const struct sh_bridge_automation_ops *ops)
{
	sh_bridge_autos_set(b->autos, ops);
}

void sh_bridge_automation_changed(struct sh_bridge *b, const char *name)
{
	sh_bridge_autos_changed(b->autos, name);
}

int sh_bridge_start(struct sh_bridge *b)
{
	if (b->stopped)
		return -EALREADY;
	/* The request link follows the main link's first connect. */
	return sh_mqtt_link_start(b->main);
}

bool sh_bridge_connected(const struct sh_bridge *b)
{
	return b && sh_mqtt_link_connected(b->main);
}

void sh_bridge_stop(struct sh_bridge *b, unsigned timeout_ms)
{
	if (!b || b->stopped)
		return;
	ev_timer_stop(b->loop, &b->sync);
	ev_timer_stop(b->loop, &b->trim);
	ev_timer_stop(b->loop, &b->drops);
	ev_timer_stop(b->loop, &b->requests_wait);
	/* Requests first: nothing of theirs waits to go out. Then the main
	 * link sends what it holds, the offline state, and disconnects. */
	sh_mqtt_link_stop(b->requests, timeout_ms);
	sh_mqtt_link_stop(b->main, timeout_ms);
	b->stopped = true;
}

void sh_bridge_free(struct sh_bridge *b)
{
	if (!b)
		return;
	if (b->api)
		sh_hub_unlisten(b->hub, sh_bridge_api_on_event, b->api);
	sh_mqtt_drivers_free(b->drivers);
	ev_timer_stop(b->loop, &b->sync);
	ev_timer_stop(b->loop, &b->trim);
	ev_timer_stop(b->loop, &b->drops);
	ev_timer_stop(b->loop, &b->requests_wait);
	/* No Paho thread calls the pieces after these return. */
	sh_mqtt_link_free(b->requests);
	sh_mqtt_link_free(b->main);
	sh_bridge_api_free(b->api);
	sh_bridge_autos_free(b->autos);
	sh_retained_free(&b->retained);
	free(b->url);
	free(b->client_id);
	sh_bridge_settings_free(&b->set);
	free(b->will_topic);
	free(b);
}

void sh_bridge_inject(struct sh_bridge *b, const char *topic, const void *payload, size_t len,
		      bool retained)
{
	struct sh_inbox *inbox = sh_mqtt_link_inbox(b->main);
	struct sh_inbox_item *item;

	if (sh_inbox_push_message(inbox, topic, 0, payload, len, retained) < 0)
		return;
	while ((item = sh_inbox_pop(inbox))) {
		if (item->type == SH_INBOX_MESSAGE)
			sh_bridge_api_message(b->api, item);
		sh_inbox_item_free(item);
	}
	(void)sh_inbox_take_dropped(inbox);
}
