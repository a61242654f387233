// SPDX-License-Identifier: MIT
/*
 * The host API drivers call (struct sh_host in plugin.h): option readers,
 * timers, fd and child watchers on the loop, the worker pool, logging, and
 * the reports that feed the device state machine in device.c.
 *
 * Every timer, watcher and job a driver makes is also linked to its device,
 * so that destroying a device frees whatever its driver forgot.
 */
#include "config/config.h"
#include "core/device_internal.h"
#include "config/node.h"
#include "core/mqtt_service.h"
#include "util/hash.h"
#include "util/suggest.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum resource_type { RES_TIMER, RES_IO, RES_CHILD, RES_PEER };

/* What every driver-held resource starts with: its place in
 * dev->resources, so the device frees what its driver forgot. */
struct host_resource {
	struct sh_list link;
	struct sh_device *dev;
	enum resource_type type;
};

struct sh_timer {
	struct host_resource res;
	ev_timer w;
	sh_timer_cb cb;
	void *data;
};

struct sh_io {
	struct host_resource res;
	ev_io w;
	sh_io_cb cb;
	void *data;
};

struct host_child {
	struct host_resource res;
	ev_child w;
	sh_child_cb cb;
	void *data;
};

/* A watch_peer subscription. Watches find their peer by id (and its hash,
 * to compare fast), not by pointer: a reload may recreate the peer. */
struct host_peer {
	struct host_resource res;
	struct sh_list hub_link; /* in the hub's list of watches (peer_watches) */
	char *peer_id;
	uint64_t peer_hash;
	bool gone; /* the final call (peer removed) was made */
	sh_peer_cb cb;
	void *data;
};

struct host_job {
	sh_work_fn work;
	sh_work_done_cb done;
	void *arg;
};

static struct ev_loop *dev_loop(const struct sh_device *dev)
{
	return sh_hub_loop(dev->hub);
}

static void res_link(struct sh_device *dev, struct host_resource *r, enum resource_type type)
{
	r->dev = dev;
	r->type = type;
	sh_list_append(&dev->resources, &r->link);
}

static void res_unlink(struct host_resource *r)
{
	sh_list_remove(&r->link);
}

/* --- identity, logging --------------------------------------------------- */

static const char *host_device_id(const struct sh_device *dev)
{
	return sh_device_id(dev);
}

static const char *host_device_kind(const struct sh_device *dev)
{
	return sh_device_kind(dev);
}

static const char *host_device_name(const struct sh_device *dev)
{
	return sh_device_name(dev);
}

static const cJSON *host_device_state(const struct sh_device *dev)
{
	return sh_device_state(dev);
}

__attribute__((format(printf, 3, 4))) static void
host_log(struct sh_device *dev, enum sh_log_level level, const char *fmt, ...)
{
	if (level > sh_log_get_level())
		return;
	char msg[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sh_log(level, "%s %s: %s", sh_device_driver(dev), sh_device_id(dev), msg);
}

/* One minute between repeats of a complaint, as for connection failures. */
#define COMPLAIN_INTERVAL_MS 60000u

/* A device's complain() slots (dev->complaints). */
struct sh_complaints {
	struct sh_ratelimit limit[SH_COMPLAIN_SLOTS];
	bool since_clear[SH_COMPLAIN_SLOTS]; /* complained since the last clear */
};

__attribute__((format(printf, 4, 5))) static void
host_complain(struct sh_device *dev, unsigned slot, enum sh_log_level level, const char *fmt, ...)
{
	if (slot >= SH_COMPLAIN_SLOTS)
		slot = SH_COMPLAIN_SLOTS - 1;
	/* Out of memory: the complaint is dropped rather than logged
	 * without its limit. */
	if (!dev->complaints && !(dev->complaints = calloc(1, sizeof(*dev->complaints))))
		return;
	struct sh_ratelimit *rl = &dev->complaints->limit[slot];
	unsigned suppressed = 0;
	if (!dev->complaints->since_clear[slot]) {
		*rl = (struct sh_ratelimit){.interval_ms = COMPLAIN_INTERVAL_MS, .burst = 1};
		dev->complaints->since_clear[slot] = true;
	}
	if (!sh_ratelimit_allow(rl, sh_hub_now_ms(dev->hub), &suppressed))
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (suppressed)
		sh_log(level, "%s %s: %s (%u more since the last report)", sh_device_driver(dev),
		       sh_device_id(dev), msg, suppressed);
	else
		sh_log(level, "%s %s: %s", sh_device_driver(dev), sh_device_id(dev), msg);
}

__attribute__((format(printf, 3, 4))) static void
host_complain_clear(struct sh_device *dev, unsigned slot, const char *fmt, ...)
{
	if (slot >= SH_COMPLAIN_SLOTS)
		slot = SH_COMPLAIN_SLOTS - 1;
	if (!dev->complaints || !dev->complaints->since_clear[slot])
		return;
	dev->complaints->since_clear[slot] = false;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sh_log_notice("%s %s: %s", sh_device_driver(dev), sh_device_id(dev), msg);
}

/* --- options ------------------------------------------------------------- */

/* Keeps the first error of the option readers for opt_status. */
static int opt_result(struct sh_device *dev, int r)
{
	if (r < 0 && dev->opt_err == 0)
		dev->opt_err = r;
	return r;
}

__attribute__((format(printf, 3, 4))) static void
host_config_error(struct sh_device *dev, const struct sh_node *at, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct sh_diag *diag = dev->create_diag;
	opt_result(dev, -EINVAL);
	if (diag)
		sh_diag_add(diag, at ? at : dev->cfg->node, "device %s: %s", sh_device_id(dev),
			    msg);
	else
		sh_log_error("%s %s: %s", sh_device_driver(dev), sh_device_id(dev), msg);
}

static const struct sh_node *host_opt_node(struct sh_device *dev, const char *key)
{
	struct sh_node *n = dev->cfg->options ? sh_node_get(dev->cfg->options, key) : NULL;
	size_t len = strlen(key) + 1;
	if (n)
		n->used = true;
	if (dev->asked_keys && dev->asked_len + len <= SH_DEVICE_ASKED_BYTES) {
		memcpy(dev->asked_keys + dev->asked_len, key, len);
		dev->asked_len += len;
	}
	return n;
}

/* Messages name an option as the configuration does: devices.<id>.<key>. */
static const char *option_name(const struct sh_device *dev, const char *key, char *buf, size_t len)
{
	snprintf(buf, len, "devices.%s.%s", sh_device_id(dev), key);
	return buf;
}

/* Readers share this: a scalar's errors say which device it belongs to. */
static const struct sh_node *opt_scalar(struct sh_device *dev, const char *key)
{
	const struct sh_node *n = host_opt_node(dev, key);
	if (n && n->type != SH_NODE_SCALAR) {
		host_config_error(dev, n, "%s must be a single value", key);
		return NULL;
	}
	return n;
}

static int host_opt_string(struct sh_device *dev, const char *key, const char *def,
			   const char **out)
{
	const struct sh_node *n = host_opt_node(dev, key);
	*out = def;
	if (!n)
		return 0;
	if (n->type != SH_NODE_SCALAR) {
		host_config_error(dev, n, "%s must be a string", key);
		return -EINVAL;
	}
	*out = n->value;
	return 0;
}

static int host_opt_int(struct sh_device *dev, const char *key, long long def, long long min,
			long long max, long long *out)
{
	*out = def;
	const struct sh_node *n = opt_scalar(dev, key);
	if (!n)
		return host_opt_node(dev, key) ? -EINVAL : 0;
	char name[256];
	return opt_result(dev, sh_node_read_ll(n, option_name(dev, key, name, sizeof(name)), min,
					       max, dev->create_diag, out));
}

static int host_opt_double(struct sh_device *dev, const char *key, double def, double min,
			   double max, double *out)
{
	*out = def;
	const struct sh_node *n = opt_scalar(dev, key);
	if (!n)
		return host_opt_node(dev, key) ? -EINVAL : 0;
	char name[256];
	return opt_result(dev, sh_node_read_double(n, option_name(dev, key, name, sizeof(name)),
						   min, max, dev->create_diag, out));
}

static int host_opt_bool(struct sh_device *dev, const char *key, bool def, bool *out)
{
	*out = def;
	const struct sh_node *n = opt_scalar(dev, key);
	if (!n)
		return host_opt_node(dev, key) ? -EINVAL : 0;
	char name[256];
	return opt_result(dev, sh_node_read_bool(n, option_name(dev, key, name, sizeof(name)),
						 dev->create_diag, out));
}

static int host_opt_duration_ms(struct sh_device *dev, const char *key, uint64_t def, uint64_t *out)
{
	*out = def;
	const struct sh_node *n = opt_scalar(dev, key);
	if (!n)
		return host_opt_node(dev, key) ? -EINVAL : 0;
	char name[256];
	return opt_result(dev, sh_node_read_duration(n, option_name(dev, key, name, sizeof(name)),
						     dev->create_diag, out));
}

static int host_opt_argv(struct sh_device *dev, const char *key, const char *const **out)
{
	*out = NULL;
	const struct sh_node *n = host_opt_node(dev, key);
	if (!n)
		return 0;
	if (n->type != SH_NODE_SEQ || n->n_items == 0) {
		host_config_error(dev, n, "%s must be a non-empty list of arguments", key);
		return -EINVAL;
	}
	for (size_t i = 0; i < n->n_items; i++)
		if (n->items[i]->type != SH_NODE_SCALAR) {
			host_config_error(dev, n->items[i], "%s: every argument must be a string",
					  key);
			return -EINVAL;
		}
	char **argv = calloc(n->n_items + 1, sizeof(*argv));
	char **owned = realloc(dev->owned_strings, (dev->n_owned_strings + 1) * sizeof(*owned));
	if (!argv || !owned) {
		free(argv);
		if (owned)
			dev->owned_strings = owned;
		return opt_result(dev, -ENOMEM);
	}
	dev->owned_strings = owned;
	/* The strings stay in the node tree; only the array is ours. */
	for (size_t i = 0; i < n->n_items; i++)
		argv[i] = (char *)n->items[i]->value;
	dev->owned_strings[dev->n_owned_strings++] = (char *)argv;
	*out = (const char *const *)argv;
	return 0;
}

static int host_opt_status(struct sh_device *dev)
{
	return dev->opt_err;
}

/* Keys common to every device live in the device's own mapping. */
static const struct sh_node *host_device_option(const struct sh_device *dev, const char *key)
{
	const struct sh_node *map = dev->cfg->node;
	if (!map || map->type != SH_NODE_MAP)
		return NULL;
	for (size_t i = 0; i < map->n_items; i++)
		if (map->items[i]->key && strcmp(map->items[i]->key, key) == 0)
			return map->items[i];
	return NULL;
}

static int host_set_metadata(struct sh_device *dev, const cJSON *meta)
{
	if (!cJSON_IsObject(meta))
		return -EINVAL;
	if (!dev->metadata && !(dev->metadata = cJSON_CreateObject()))
		return -ENOMEM;
	for (const cJSON *m = meta->child; m; m = m->next) {
		cJSON *copy = cJSON_Duplicate(m, true);
		if (!copy)
			return -ENOMEM;
		cJSON_DeleteItemFromObjectCaseSensitive(dev->metadata, m->string);
		cJSON_AddItemToObject(dev->metadata, m->string, copy);
	}
	return 0;
}

/* --- timers -------------------------------------------------------------- */

static void timer_fired(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sh_timer *t = w->data;
	t->cb(t->res.dev, t->data);
}

static struct sh_timer *host_timer_start(struct sh_device *dev, uint64_t after_ms,
					 uint64_t repeat_ms, sh_timer_cb cb, void *data)
{
	struct sh_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cb = cb;
	t->data = data;
	ev_timer_init(&t->w, timer_fired, (double)after_ms / 1000.0, (double)repeat_ms / 1000.0);
	t->w.data = t;
	ev_timer_start(dev_loop(dev), &t->w);
	res_link(dev, &t->res, RES_TIMER);
	return t;
}

static void host_timer_stop(struct sh_timer *t)
{
	if (!t)
		return;
	ev_timer_stop(dev_loop(t->res.dev), &t->w);
	res_unlink(&t->res);
	free(t);
}

/* --- fd watchers ----------------------------------------------------------- */

static void io_ready(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sh_io *io = w->data;
	int events = (revents & EV_READ ? SH_IO_READ : 0) | (revents & EV_WRITE ? SH_IO_WRITE : 0);
	io->cb(io->res.dev, io->w.fd, events, io->data);
}

static int to_ev_events(int events)
{
	return (events & SH_IO_READ ? EV_READ : 0) | (events & SH_IO_WRITE ? EV_WRITE : 0);
}

static struct sh_io *host_io_start(struct sh_device *dev, int fd, int events, sh_io_cb cb,
				   void *data)
{
	struct sh_io *io = calloc(1, sizeof(*io));
	if (!io)
		return NULL;
	io->cb = cb;
	io->data = data;
	ev_io_init(&io->w, io_ready, fd, to_ev_events(events));
	io->w.data = io;
	if (events)
		ev_io_start(dev_loop(dev), &io->w);
	res_link(dev, &io->res, RES_IO);
	return io;
}

static void host_io_set(struct sh_io *io, int events)
{
	struct ev_loop *loop = dev_loop(io->res.dev);
	ev_io_stop(loop, &io->w);
	ev_io_set(&io->w, io->w.fd, to_ev_events(events));
	if (events)
		ev_io_start(loop, &io->w);
}

static void host_io_stop(struct sh_io *io)
{
	if (!io)
		return;
	ev_io_stop(dev_loop(io->res.dev), &io->w);
	res_unlink(&io->res);
	free(io);
}

/* --- children -------------------------------------------------------------- */

static void child_exited(struct ev_loop *loop, ev_child *w, int revents)
{
	struct host_child *c = w->data;
	ev_child_stop(loop, w);
	res_unlink(&c->res);
	sh_child_cb cb = c->cb;
	void *data = c->data;
	struct sh_device *dev = c->res.dev;
	pid_t pid = w->rpid;
	int status = w->rstatus;
	free(c);
	cb(dev, pid, status, data);
}

static int host_child_watch(struct sh_device *dev, pid_t pid, sh_child_cb cb, void *data)
{
	/* libev reaps children only on the default loop. */
	if (!ev_is_default_loop(dev_loop(dev)))
		return -EOPNOTSUPP;
	struct host_child *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cb = cb;
	c->data = data;
	ev_child_init(&c->w, child_exited, pid, 0);
	c->w.data = c;
	ev_child_start(dev_loop(dev), &c->w);
	res_link(dev, &c->res, RES_CHILD);
	return 0;
}

static uint64_t host_now_ms(struct sh_device *dev)
{
	return sh_hub_now_ms(dev->hub);
}

/* --- worker pool ------------------------------------------------------------ */

static void job_run(void *arg)
{
	struct host_job *job = arg;
	job->work(job->arg);
}

static void job_done(void *owner, void *arg)
{
	struct host_job *job = arg;
	job->done(owner, job->arg);
	free(job);
}

static int host_work_submit(struct sh_device *dev, sh_work_fn work, sh_work_done_cb done, void *arg)
{
	struct host_job *job = malloc(sizeof(*job));
	if (!job)
		return -ENOMEM;
	*job = (struct host_job){.work = work, .done = done, .arg = arg};
	int r = sh_worker_submit(sh_hub_workers(dev->hub), job_run, job_done, dev, job);
	if (r < 0)
		free(job);
	return r;
}

/* --- reports ----------------------------------------------------------------
 * Each report is delivered at once, or queued when plugin.h's completion
 * contract says it must wait (reports.c); sh_host_deliver does the
 * delivery in both cases. */

static void report(struct sh_device *dev, enum sh_report_type type, uint64_t id, int err,
		   const char *text, const cJSON *json)
{
	struct sh_report r = {.dev = dev,
			      .type = type,
			      .epoch = dev->conn_epoch,
			      .id = id,
			      .err = err,
			      .text = (char *)text,
			      .json = (cJSON *)json};
	if (sh_reports_must_defer(dev)) {
		if (sh_reports_push(dev, type, id, err, text, json, NULL) == -ENOMEM)
			sh_log_error("device %s: out of memory: a report is lost",
				     sh_device_id(dev));
		return;
	}
	sh_host_deliver(&r);
}

static void peer_call(struct host_peer *w);

void sh_host_deliver(struct sh_report *r)
{
	struct sh_device *dev = r->dev;
	switch (r->type) {
	case SH_REPORT_CONNECTED:
		/* Made for an attempt the daemon has since ended. */
		if (r->epoch == dev->conn_epoch)
			sh_device_on_connected(dev);
		break;
	case SH_REPORT_FAILED:
		/* The host, not the driver, knows whether the device was online. */
		if (r->epoch != dev->conn_epoch)
			break;
		if (sh_device_online(dev))
			sh_device_on_connection_lost(dev, r->text);
		else
			sh_device_on_connect_failed(dev, r->text);
		break;
	case SH_REPORT_STATE:
		sh_device_on_state(dev, r->json);
		break;
	case SH_REPORT_COMMAND_DONE:
		sh_device_on_command_done(dev, r->id, r->err, r->text);
		break;
	case SH_REPORT_EVENT:
		sh_device_on_event(dev, r->json);
		break;
	case SH_REPORT_PEER_FIRST:
		peer_call(r->target);
		break;
	}
}

static void host_connected(struct sh_device *dev)
{
	report(dev, SH_REPORT_CONNECTED, 0, 0, NULL, NULL);
}

static void host_failed(struct sh_device *dev, const char *reason)
{
	report(dev, SH_REPORT_FAILED, 0, 0, reason, NULL);
}

static void host_state_update(struct sh_device *dev, const cJSON *patch)
{
	if (cJSON_IsObject(patch))
		report(dev, SH_REPORT_STATE, 0, 0, NULL, patch);
}

static void host_command_done(struct sh_device *dev, uint64_t id, int err, const char *reason)
{
	report(dev, SH_REPORT_COMMAND_DONE, id, err, reason, NULL);
}

static void host_event(struct sh_device *dev, const cJSON *event)
{
	if (event)
		report(dev, SH_REPORT_EVENT, 0, 0, NULL, event);
}

/* --- polling ------------------------------------------------------------------
 * The poll timer is the device's own (not a driver resource): it repeats
 * every interval, so polls never queue up behind a slow device, and a poll
 * that comes due while a command runs waits for the command's end
 * (sh_host_command_ended), since the driver handles one thing at a time
 * best and the command usually reports the state anyway. */

static void poll_due(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sh_device *dev = w->data;
	if (!sh_device_online(dev))
		return;
	if (sh_device_queue_length(dev) > dev->queue_len) { /* a command runs */
		dev->poll_missed = true;
		return;
	}
	(void)sh_device_refresh(dev);
}

void sh_host_command_ended(struct sh_device *dev)
{
	if (!dev->poll_missed)
		return;
	dev->poll_missed = false;
	if (sh_device_online(dev) && ev_is_active(&dev->poll_timer))
		(void)sh_device_refresh(dev);
}

static int host_poll_every(struct sh_device *dev, uint64_t interval_ms)
{
	ev_timer_stop(dev_loop(dev), &dev->poll_timer);
	dev->poll_missed = false;
	if (interval_ms == 0)
		return 0;
	if (!dev->plugin->driver->refresh)
		return -EOPNOTSUPP;
	ev_timer_init(&dev->poll_timer, poll_due, (double)interval_ms / 1000.0,
		      (double)interval_ms / 1000.0);
	dev->poll_timer.data = dev;
	ev_timer_start(dev_loop(dev), &dev->poll_timer);
	return 0;
}

/* --- peers ---------------------------------------------------------------------- */

static const cJSON *host_peer_state(struct sh_device *dev, const char *peer_id)
{
	struct sh_device *peer = sh_hub_find_device(dev->hub, peer_id);
	return peer ? sh_device_state(peer) : NULL;
}

/* Calls the watch with its peer's current state, or its final call when
 * the peer is gone. */
static void peer_call(struct host_peer *w)
{
	struct sh_device *peer = sh_hub_find_device(w->res.dev->hub, w->peer_id);
	if (!peer) {
		if (w->gone)
			return;
		w->gone = true;
		w->cb(w->res.dev, w->peer_id, NULL, false, w->data);
		return;
	}
	w->gone = false;
	w->cb(w->res.dev, w->peer_id, sh_device_state(peer), sh_device_online(peer), w->data);
}

/* A peer may be a device of the configuration being applied, which the
 * hub does not hold yet while drivers are created. */
static bool peer_known(const struct sh_device *dev, const char *peer_id)
{
	if (sh_hub_find_device(dev->hub, peer_id))
		return true;
	return dev->config_ref && sh_config_find_device(dev->config_ref->config, peer_id);
}

static int host_watch_peer(struct sh_device *dev, const char *peer_id, sh_peer_cb cb, void *data)
{
	if (!peer_id || !cb)
		return -EINVAL;
	if (!peer_known(dev, peer_id))
		return -ENOENT;
	struct host_peer *w = calloc(1, sizeof(*w));
	if (!w || !(w->peer_id = strdup(peer_id))) {
		free(w);
		return -ENOMEM;
	}
	w->peer_hash = sh_hash_str(peer_id);
	w->cb = cb;
	w->data = data;
	/* The first call, with the peer's state then, on a later iteration. */
	int r = sh_reports_push(dev, SH_REPORT_PEER_FIRST, 0, 0, NULL, NULL, w);
	if (r < 0) {
		free(w->peer_id);
		free(w);
		return r;
	}
	res_link(dev, &w->res, RES_PEER);
	sh_list_append(sh_hub_peer_watches(dev->hub), &w->hub_link);
	return 0;
}

/* --- MQTT: dispatched to the bridge's service (core/mqtt_service.h) --------- */
void sh_host_peer_changed(struct sh_device *peer)
{
	const char *id = sh_device_id(peer);
	uint64_t hash = sh_hash_str(id);
	struct sh_list *watches = sh_hub_peer_watches(peer->hub);
	struct sh_list *pos, *tmp;
	/* A callback may end its own watch (the device's driver cannot end
	 * another device's), hence the safe walk. */
	sh_list_for_each_safe(pos, tmp, watches)
	{
		struct host_peer *w = sh_list_entry(pos, struct host_peer, hub_link);
		if (w->peer_hash != hash || strcmp(w->peer_id, id) != 0 || w->res.dev == peer)
			continue;
		w->gone = false;
		w->cb(w->res.dev, w->peer_id, sh_device_state(peer), sh_device_online(peer),
		      w->data);
	}
}

void sh_host_peers_applied(struct sh_hub *hub)
{
	struct sh_list *watches = sh_hub_peer_watches(hub);
	struct sh_list *pos, *tmp;
	sh_list_for_each_safe(pos, tmp, watches)
	{
		struct host_peer *w = sh_list_entry(pos, struct host_peer, hub_link);
		if (!w->gone && !sh_hub_find_device(hub, w->peer_id))
			peer_call(w);
	}
}

static void peer_free(struct host_peer *w)
{
	sh_list_remove(&w->hub_link);
	sh_reports_drop(w->res.dev, w);
	free(w->peer_id);
	free(w);
}

/* --- MQTT (host_mqtt.c's area) ------------------------------------------------------ */

static int host_mqtt_subscribe(struct sh_device *dev, const char *filter, int qos,
			       sh_mqtt_message_cb cb, void *data)
{
	const struct sh_mqtt_service *m = sh_hub_mqtt_service(dev->hub);
	if (!filter || !cb)
		return -EINVAL;
	return m ? m->subscribe(m->ctx, dev, filter, qos, cb, data) : -ENOSYS;
}

static void host_mqtt_unsubscribe(struct sh_device *dev, int subscription)
{
	const struct sh_mqtt_service *m = sh_hub_mqtt_service(dev->hub);
	if (m)
		m->unsubscribe(m->ctx, dev, subscription);
}

static int host_mqtt_publish(struct sh_device *dev, const char *topic, const void *payload,
			     size_t len, int qos, bool retain)
{
	const struct sh_mqtt_service *m = sh_hub_mqtt_service(dev->hub);
	if (!topic || (len && !payload))
		return -EINVAL;
	return m ? m->publish(m->ctx, dev, topic, payload, len, qos, retain) : -ENOSYS;
}

static int host_mqtt_watch_link(struct sh_device *dev, sh_mqtt_link_cb cb, void *data)
{
	const struct sh_mqtt_service *m = sh_hub_mqtt_service(dev->hub);
	if (!cb)
		return -EINVAL;
	return m ? m->watch_link(m->ctx, dev, cb, data) : -ENOSYS;
}

/* --- release ------------------------------------------------------------------------ */

void sh_host_release_all(struct sh_device *dev)
{
	struct ev_loop *loop = dev_loop(dev);
	ev_timer_stop(loop, &dev->poll_timer);
	dev->poll_missed = false;
	sh_reports_drop(dev, NULL);
	struct sh_list *pos, *tmp;
	sh_list_for_each_safe(pos, tmp, &dev->resources)
	{
		struct host_resource *r = sh_list_entry(pos, struct host_resource, link);
		sh_list_remove(&r->link);
		switch (r->type) {
		case RES_TIMER:
			ev_timer_stop(loop, &((struct sh_timer *)r)->w);
			break;
		case RES_IO:
			ev_io_stop(loop, &((struct sh_io *)r)->w);
			break;
		case RES_CHILD:
			/* libev's SIGCHLD handler still reaps it: no zombie. */
			ev_child_stop(loop, &((struct host_child *)r)->w);
			break;
		case RES_PEER:
			peer_free((struct host_peer *)r);
			continue;
		}
		free(r);
	}
	sh_worker_forget(sh_hub_workers(dev->hub), dev);
	const struct sh_mqtt_service *m = sh_hub_mqtt_service(dev->hub);
	if (m)
		m->release(m->ctx, dev);
	free(dev->complaints);
	dev->complaints = NULL;
}

/* 2.1: the rule of the daemon's own messages (util/suggest.c). */
static const char *host_suggest(const char *word, const char *const *names)
{
	return word ? sh_suggest(word, names, NULL) : NULL;
}

static uint64_t host_command_timeout_ms(const struct sh_device *dev)
{
	return dev->cfg->command_timeout_ms;
}

static uint64_t host_connect_timeout_ms(const struct sh_device *dev)
{
	return dev->cfg->connect_timeout_ms;
}

const struct sh_host sh_host_api = {
	.abi_version = SH_PLUGIN_ABI_VERSION,
	.size = sizeof(struct sh_host),
	.device_id = host_device_id,
	.device_kind = host_device_kind,
	.device_name = host_device_name,
	.device_state = host_device_state,
	.log = host_log,
	.complain = host_complain,
	.complain_clear = host_complain_clear,
	.opt_node = host_opt_node,
	.opt_string = host_opt_string,
	.opt_int = host_opt_int,
	.opt_double = host_opt_double,
	.opt_bool = host_opt_bool,
	.opt_duration_ms = host_opt_duration_ms,
	.opt_argv = host_opt_argv,
	.config_error = host_config_error,
	.opt_status = host_opt_status,
	.device_option = host_device_option,
	.set_metadata = host_set_metadata,
	.timer_start = host_timer_start,
	.timer_stop = host_timer_stop,
	.io_start = host_io_start,
	.io_set = host_io_set,
	.io_stop = host_io_stop,
	.child_watch = host_child_watch,
	.now_ms = host_now_ms,
	.work_submit = host_work_submit,
	.poll_every = host_poll_every,
	.peer_state = host_peer_state,
	.watch_peer = host_watch_peer,
	.mqtt_subscribe = host_mqtt_subscribe,
	.mqtt_unsubscribe = host_mqtt_unsubscribe,
	.mqtt_publish = host_mqtt_publish,
	.mqtt_watch_link = host_mqtt_watch_link,
	.connected = host_connected,
	.failed = host_failed,
	.state_update = host_state_update,
	.command_done = host_command_done,
	.event = host_event,
	.suggest = host_suggest,
	.command_timeout_ms = host_command_timeout_ms,
	.connect_timeout_ms = host_connect_timeout_ms,
};
