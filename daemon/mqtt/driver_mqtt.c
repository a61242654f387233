// SPDX-License-Identifier: MIT
/*
 * The MQTT service for drivers on the bridge's connection (see
 * driver_mqtt.h). It owns two bounded tables: the drivers' subscriptions
 * (filter, QoS, callback, device) and their link watches. Both are plain
 * arrays scanned linearly: a home has hundreds of such devices, each with
 * a handful of exact topics, and a scan of that costs less than the JSON
 * parse the message then gets.
 *
 * Entries are removed by clearing their device and compacted only when no
 * callback is running, so a driver may subscribe or unsubscribe from
 * inside its own message or link callback. Two devices may share a filter
 * (every Zigbee2MQTT device watches <base>/bridge/state): the broker is
 * told to unsubscribe only when the last one goes.
 *
 * The hub's own base topic is the bridge's: a driver may neither subscribe
 * to nor publish under it (-EPERM), so no driver can see or forge the
 * hub's commands, and no message is claimed by both.
 */
#include "mqtt/driver_mqtt.h"
#include "util/topic.h"
#include "core/mqtt_service.h"
#include "mqtt/bridge_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Longest filter or topic a driver may use (MQTT allows 65535; nothing of
 * a home needs more than a few hundred). */
#define DRIVER_TOPIC_MAX 1024
/* Filters per SUBSCRIBE packet when everything is restored. */
#define RESTORE_BATCH 64

struct driver_sub {
	int id;
	struct sh_device *dev; /* NULL: removed, awaiting compaction */
	char *filter;
	int qos;
	sh_mqtt_message_cb cb;
	void *data;
};

struct driver_watch {
	struct sh_device *dev; /* NULL: removed */
	sh_mqtt_link_cb cb;
	void *data;
	bool pending; /* owes an "up" on the next loop iteration */
};

struct sh_mqtt_drivers {
	const struct sh_bridge_env *env; /* the transport's, borrowed */
	struct sh_mqtt_service service;
	struct driver_sub *subs;
	size_t n_subs, cap_subs;
	struct driver_watch *watches;
	size_t n_watches, cap_watches;
	int next_id;
	unsigned busy;    /* callbacks running: no compaction meanwhile */
	bool dirty;       /* entries were removed */
	ev_timer pending; /* delivers owed "up" notifications */
	struct sh_ratelimit oversized;
};

/* --- topics --------------------------------------------------------------- */

bool sh_mqtt_filter_valid(const char *filter)
{
	size_t len = filter ? strlen(filter) : 0;

	if (len == 0 || len > DRIVER_TOPIC_MAX)
		return false;
	for (const char *p = filter; *p; p++) {
		bool level_start = p == filter || p[-1] == '/';
		bool level_end = p[1] == '\0' || p[1] == '/';

		if (*p == '+' && !(level_start && level_end))
			return false;
		if (*p == '#' && !(level_start && p[1] == '\0'))
			return false;
	}
	return true;
}

static bool topic_valid(const char *topic)
{
	size_t len = topic ? strlen(topic) : 0;

	return len > 0 && len <= DRIVER_TOPIC_MAX && !strpbrk(topic, "+#");
}

bool sh_mqtt_filter_overlaps(const char *filter, const char *base)
{
	/* Walks the base's levels: the filter overlaps when each of them is
	 * matched (by itself or +) or a # comes first. */
	for (;;) {
		if (filter[0] == '#')
			return true;
		const char *fnext, *bnext;

		if (!sh_topic_level_matches(filter, base, &fnext, &bnext))
			return false;
		if (!bnext)
			return true; /* the base itself or anything below it */
		if (!fnext)
			return false;
		filter = fnext;
		base = bnext;
	}
}

/* --- the broker side ---------------------------------------------------------- */

static bool connected(const struct sh_mqtt_drivers *d)
{
	return sh_bridge_connected(d->env->bridge);
}

static bool filter_in_use(const struct sh_mqtt_drivers *d, const char *filter, size_t skip)
{
	for (size_t i = 0; i < d->n_subs; i++)
		if (i != skip && d->subs[i].dev && strcmp(d->subs[i].filter, filter) == 0)
			return true;
	return false;
}

static void broker_subscribe(struct sh_mqtt_drivers *d, char **filters, int *qos, int n)
{
	(void)sh_bridge_subscribe_filters(d->env->bridge, "driver", filters, qos, n);
}

static void broker_unsubscribe(struct sh_mqtt_drivers *d, const char *filter)
{
	sh_bridge_unsubscribe_filter(d->env->bridge, filter);
}

/* Every distinct filter again, in batches; a new session has none. */
static void restore(struct sh_mqtt_drivers *d)
{
	char *filters[RESTORE_BATCH];
	int qos[RESTORE_BATCH];
	int n = 0;

	for (size_t i = 0; i < d->n_subs; i++) {
		struct driver_sub *s = &d->subs[i];
		bool seen = false;

		if (!s->dev)
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = d->subs[j].dev && strcmp(d->subs[j].filter, s->filter) == 0;
		if (seen)
			continue;
		filters[n] = s->filter;
		qos[n] = s->qos;
		for (size_t j = i + 1; j < d->n_subs; j++)
			if (d->subs[j].dev && strcmp(d->subs[j].filter, s->filter) == 0 &&
			    d->subs[j].qos > qos[n])
				qos[n] = d->subs[j].qos;
		if (++n == RESTORE_BATCH) {
			broker_subscribe(d, filters, qos, n);
			n = 0;
		}
	}
	broker_subscribe(d, filters, qos, n);
}

/* --- table upkeep ------------------------------------------------------------- */

static void compact(struct sh_mqtt_drivers *d)
{
	size_t j = 0;

	if (d->busy || !d->dirty)
		return;
	for (size_t i = 0; i < d->n_subs; i++) {
		if (d->subs[i].dev)
			d->subs[j++] = d->subs[i];
		else
			free(d->subs[i].filter);
	}
	d->n_subs = j;
	j = 0;
	for (size_t i = 0; i < d->n_watches; i++)
		if (d->watches[i].dev)
			d->watches[j++] = d->watches[i];
	d->n_watches = j;
	d->dirty = false;
}

static void remove_sub(struct sh_mqtt_drivers *d, size_t i)
{
	struct driver_sub *s = &d->subs[i];

	if (!filter_in_use(d, s->filter, i))
		broker_unsubscribe(d, s->filter);
	s->dev = NULL;
	d->dirty = true;
}

static int grow(void **array, size_t *cap, size_t n, size_t size, size_t limit)
{
	size_t want;
	void *p;

	if (n < *cap)
		return 0;
	if (n >= limit)
		return -ENOSPC;
	want = *cap ? *cap * 2 : 16;
	if (want > limit)
		want = limit;
	p = realloc(*array, want * size);
	if (!p)
		return -ENOMEM;
	*array = p;
	*cap = want;
	return 0;
}

/* --- the service -------------------------------------------------------------- */

static int svc_subscribe(void *ctx, struct sh_device *dev, const char *filter, int qos,
			 sh_mqtt_message_cb cb, void *data)
{
	struct sh_mqtt_drivers *d = ctx;
	size_t mine = 0;
	struct driver_sub *s;
	int r;

	if (!sh_mqtt_filter_valid(filter) || qos < 0 || qos > 2)
		return -EINVAL;
	if (sh_mqtt_filter_overlaps(filter, d->env->set->base))
		return -EPERM;
	compact(d);
	for (size_t i = 0; i < d->n_subs; i++)
		mine += d->subs[i].dev == dev;
	if (mine >= SH_MQTT_DEVICE_SUBS_MAX)
		return -ENOSPC;
	r = grow((void **)&d->subs, &d->cap_subs, d->n_subs, sizeof(*d->subs), SH_MQTT_SUBS_MAX);
	if (r < 0)
		return r;
	s = &d->subs[d->n_subs];
	*s = (struct driver_sub){.dev = dev, .qos = qos, .cb = cb, .data = data};
	s->filter = strdup(filter);
	if (!s->filter)
		return -ENOMEM;
	if (d->next_id == INT32_MAX)
		d->next_id = 0;
	s->id = ++d->next_id;
	d->n_subs++;
	broker_subscribe(d, &s->filter, &s->qos, 1);
	return s->id;
}

static void svc_unsubscribe(void *ctx, struct sh_device *dev, int id)
{
	struct sh_mqtt_drivers *d = ctx;

	for (size_t i = 0; i < d->n_subs; i++)
		if (d->subs[i].id == id && d->subs[i].dev == dev) {
			remove_sub(d, i);
			break;
		}
	compact(d);
}

static int svc_publish(void *ctx, struct sh_device *dev, const char *topic, const void *payload,
		       size_t len, int qos, bool retain)
{
	struct sh_mqtt_drivers *d = ctx;

	if (!topic_valid(topic) || qos < 0 || qos > 2)
		return -EINVAL;
	if (sh_mqtt_filter_overlaps(topic, d->env->set->base))
		return -EPERM;
	if (!connected(d))
		return -ENOTCONN;
	return sh_bridge_publish_external(d->env->bridge, topic, payload ? payload : "", len, qos,
					  retain);
}

static int svc_watch_link(void *ctx, struct sh_device *dev, sh_mqtt_link_cb cb, void *data)
{
	struct sh_mqtt_drivers *d = ctx;
	int r;

	compact(d);
	r = grow((void **)&d->watches, &d->cap_watches, d->n_watches, sizeof(*d->watches),
		 SH_MQTT_WATCHES_MAX);
	if (r < 0)
		return r;
	d->watches[d->n_watches++] =
		(struct driver_watch){.dev = dev, .cb = cb, .data = data, .pending = connected(d)};
	/* Never inside the caller's call: on a later loop iteration. */
	if (connected(d) && !ev_is_active(&d->pending))
		ev_timer_start(d->env->loop, &d->pending);
	return 0;
}

static void svc_release(void *ctx, struct sh_device *dev)
{
	struct sh_mqtt_drivers *d = ctx;

	for (size_t i = 0; i < d->n_subs; i++)
		if (d->subs[i].dev == dev)
			remove_sub(d, i);
	for (size_t i = 0; i < d->n_watches; i++)
		if (d->watches[i].dev == dev) {
			d->watches[i].dev = NULL;
			d->dirty = true;
		}
	compact(d);
}

/* --- link and messages ---------------------------------------------------------- */

static void notify(struct sh_mqtt_drivers *d, bool up, bool only_pending)
{
	/* Watches added by a callback are told by their own pending timer. */
	size_t n = d->n_watches;

	d->busy++;
	for (size_t i = 0; i < n; i++) {
		struct driver_watch *w = &d->watches[i];

		if (!w->dev || (only_pending && !w->pending))
			continue;
		w->pending = false;
		w->cb(w->dev, up, w->data);
	}
	d->busy--;
	compact(d);
}

static void on_pending(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct sh_mqtt_drivers *d = t->data;

	if (connected(d))
		notify(d, true, true);
}

void sh_mqtt_drivers_link(struct sh_mqtt_drivers *d, bool up)
{
	if (!d)
		return;
	ev_timer_stop(d->env->loop, &d->pending);
	for (size_t i = 0; i < d->n_watches; i++)
		d->watches[i].pending = false;
	if (up)
		/* MQTT keeps a session's packets in order: the broker has these
		 * subscriptions before anything the watchers publish now. */
		restore(d);
	notify(d, up, false);
}

bool sh_mqtt_drivers_route(struct sh_mqtt_drivers *d, const struct sh_inbox_item *item)
{
	/* Subscriptions made by a callback wait for the next message. */
	size_t n = d ? d->n_subs : 0;
	bool matched = false;

	if (!d)
		return false;
	d->busy++;
	for (size_t i = 0; i < n; i++) {
		struct driver_sub *s = &d->subs[i];

		if (!s->dev || !sh_topic_matches(s->filter, item->topic))
			continue;
		matched = true;
		if (item->too_large) {
			unsigned suppressed = 0;

			if (sh_ratelimit_allow(&d->oversized, sh_bridge_now_ms(d->env),
					       &suppressed))
				sh_log_warning(
					"mqtt: %s: payload of %zu bytes exceeds mqtt.max_payload "
					"(%zu); dropped (%u more since the last report)",
					item->topic, item->len, d->env->set->max_payload,
					suppressed);
			break;
		}
		s->cb(s->dev, item->topic, item->payload, item->len, item->retained, s->data);
	}
	d->busy--;
	compact(d);
	return matched;
}

/* --- lifecycle ------------------------------------------------------------------ */

int sh_mqtt_drivers_new(const struct sh_bridge_env *env, struct sh_mqtt_drivers **out)
{
	struct sh_mqtt_drivers *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->env = env;
	d->service = (struct sh_mqtt_service){
		.ctx = d,
		.subscribe = svc_subscribe,
		.unsubscribe = svc_unsubscribe,
		.publish = svc_publish,
		.watch_link = svc_watch_link,
		.release = svc_release,
	};
	d->oversized = (struct sh_ratelimit){.interval_ms = 60000, .burst = 1};
	ev_timer_init(&d->pending, on_pending, 0.0, 0.0);
	d->pending.data = d;
	sh_hub_set_mqtt_service(env->hub, &d->service);
	*out = d;
	return 0;
}

void sh_mqtt_drivers_free(struct sh_mqtt_drivers *d)
{
	if (!d)
		return;
	if (sh_hub_mqtt_service(d->env->hub) == &d->service)
		sh_hub_set_mqtt_service(d->env->hub, NULL);
	ev_timer_stop(d->env->loop, &d->pending);
	for (size_t i = 0; i < d->n_subs; i++)
		free(d->subs[i].filter);
	free(d->subs);
	free(d->watches);
	free(d);
}
