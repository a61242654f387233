// SPDX-License-Identifier: MIT
/*
 * A device: the connection state machine around its driver and its command
 * queue. See device.h for the states and the rules; this file owns the
 * transitions, the backoff, the timeouts and the queue.
 *
 * The device tells the hub what happens through events (sh_hub_emit); it
 * never calls the MQTT bridge or the scene engine itself.
 */
#include "core/backoff.h"
#include "core/device_internal.h"
#include "kinds/kind.h"
#include "config/node.h"
#include "util/suggest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How often an unchanged connection failure is repeated in the log. */
#define COMPLAIN_INTERVAL_MS (10 * 60 * 1000)

/* Submitters besides the first whose commands were merged into one:
 * distinct (done, ctx) pairs only, so a burst from one submitter takes
 * one slot; a submitter that finds no slot free is queued separately. */
#define COMMAND_RIDERS_MAX 4

struct sh_command_rider {
	sh_command_done_fn done;
	void *ctx;
};

struct sh_command {
	struct sh_list link; /* in dev->queue */
	uint64_t id;
	cJSON *json;
	sh_command_done_fn done; /* NULL once cancelled */
	void *ctx;
	bool mergeable; /* submitted with sh_device_submit_merge, and settable */
	struct sh_command_rider riders[COMMAND_RIDERS_MAX];
	size_t n_riders;
};

static void dispatch(struct sh_device *dev);
static void go_offline(struct sh_device *dev, const char *reason, bool retry);

/* --- accessors ------------------------------------------------------------ */

const char *sh_device_id(const struct sh_device *dev)
{
	return dev->cfg->id;
}

const char *sh_device_name(const struct sh_device *dev)
{
	return dev->cfg->name ? dev->cfg->name : dev->cfg->id;
}

const char *sh_device_kind(const struct sh_device *dev)
{
	return dev->cfg->kind;
}

const char *sh_device_driver(const struct sh_device *dev)
{
	return dev->cfg->driver;
}

const struct sh_device_config *sh_device_config(const struct sh_device *dev)
{
	return dev->cfg;
}

enum sh_device_conn sh_device_conn(const struct sh_device *dev)
{
	return dev->conn;
}

bool sh_device_online(const struct sh_device *dev)
{
	return dev->conn == SH_CONN_ONLINE;
}

const char *sh_device_availability(const struct sh_device *dev)
{
	return sh_device_online(dev) ? "online" : "offline";
}

const cJSON *sh_device_state(const struct sh_device *dev)
{
	return dev->state;
}

const char *sh_device_last_error(const struct sh_device *dev)
{
	return dev->last_error;
}

bool sh_device_waiting_slot(const struct sh_device *dev)
{
	return dev->waiting_slot;
}

bool sh_device_started(const struct sh_device *dev)
{
	return dev->started;
}

struct sh_config_ref *sh_device_config_ref(const struct sh_device *dev)
{
	return dev->config_ref;
}

const cJSON *sh_device_metadata(const struct sh_device *dev)
{
	return dev->metadata;
}

size_t sh_device_queue_length(const struct sh_device *dev)
{
	return dev->queue_len + (dev->running ? 1 : 0);
}

static struct ev_loop *loop_of(const struct sh_device *dev)
{
	return sh_hub_loop(dev->hub);
}

static void set_last_error(struct sh_device *dev, const char *reason)
{
	free(dev->last_error);
	dev->last_error = reason ? strdup(reason) : NULL;
}

static void emit(struct sh_device *dev, enum sh_event_type type)
{
	struct sh_event ev = {.type = type, .device = dev, .reason = dev->last_error};
	sh_hub_emit(dev->hub, &ev);
	if (type == SH_EV_DEVICE_STATE || type == SH_EV_DEVICE_AVAILABILITY)
		sh_host_peer_changed(dev);
}

/* --- calls into the driver ---------------------------------------------------
 * Every sh_driver callback runs between sh_reports_enter and _leave: what
 * the driver reports meanwhile waits for a later loop iteration. */

static int drv_connect(struct sh_device *dev)
{
	sh_reports_enter(sh_hub_reports(dev->hub));
	int r = dev->plugin->driver->connect(dev->priv);
	sh_reports_leave(sh_hub_reports(dev->hub));
	return r;
}

static void drv_disconnect(struct sh_device *dev)
{
	/* Reports of the attempt that ends here are stale from now on. */
	dev->conn_epoch++;
	sh_reports_enter(sh_hub_reports(dev->hub));
	dev->plugin->driver->disconnect(dev->priv);
	sh_reports_leave(sh_hub_reports(dev->hub));
}

static void drv_destroy(struct sh_device *dev)
{
	dev->conn_epoch++;
	sh_reports_enter(sh_hub_reports(dev->hub));
	dev->plugin->driver->destroy(dev->priv);
	sh_reports_leave(sh_hub_reports(dev->hub));
}

/* --- commands ---------------------------------------------------------------- */

static void command_free(struct sh_command *c)
{
	if (c) {
		cJSON_Delete(c->json);
		free(c);
	}
}

/* Ends a command: tells the hub's listeners and the submitter, then frees. */
static void command_finish(struct sh_device *dev, struct sh_command *c, int err, const char *reason)
{
	struct sh_event ev = {.type = SH_EV_COMMAND_DONE,
			      .device = dev,
			      .command_id = c->id,
			      .command = c->json,
			      .err = err,
			      .reason = reason};
	sh_hub_emit(dev->hub, &ev);
	if (c->done)
		c->done(c->ctx, dev, c->id, err, reason);
	for (size_t i = 0; i < c->n_riders; i++)
		if (c->riders[i].done)
			c->riders[i].done(c->riders[i].ctx, dev, c->id, err, reason);
	command_free(c);
}

static struct sh_command *queue_pop(struct sh_device *dev)
{
	struct sh_list *first = sh_list_first(&dev->queue);
	if (!first)
		return NULL;
	sh_list_remove(first);
	dev->queue_len--;
	return sh_list_entry(first, struct sh_command, link);
}

/* The newest command waiting, or NULL. */
static struct sh_command *queue_last(struct sh_device *dev)
{
	if (sh_list_empty(&dev->queue))
		return NULL;
	return sh_list_entry(dev->queue.prev, struct sh_command, link);
}

static void queue_push(struct sh_device *dev, struct sh_command *c)
{
	sh_list_append(&dev->queue, &c->link);
	dev->queue_len++;
}

/* Fails everything queued and running, e.g. when the device goes offline. */
static void fail_all_commands(struct sh_device *dev, int err, const char *reason)
{
	ev_timer_stop(loop_of(dev), &dev->command_timer);
	ev_timer_stop(loop_of(dev), &dev->spacing_timer);
	ev_timer_stop(loop_of(dev), &dev->refresh_timer);
	struct sh_command *running = dev->running;
	dev->running = NULL;
	if (running)
		command_finish(dev, running, err, reason);
	struct sh_command *c;
	while ((c = queue_pop(dev)))
		command_finish(dev, c, err, reason);
}

static void command_timed_out(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sh_device *dev = w->data;
	struct sh_command *c = dev->running;
	if (!c)
		return;
	char reason[128];
	snprintf(reason, sizeof(reason), "command timed out after %llu ms",
		 (unsigned long long)dev->cfg->command_timeout_ms);
	dev->running = NULL;
	command_finish(dev, c, -ETIMEDOUT, reason);
	/* A device that stops answering has usually lost its connection;
	 * reconnecting also makes sure the driver drops the old command. */
	go_offline(dev, "not answering commands", true);
}

static void spacing_elapsed(struct ev_loop *loop, ev_timer *w, int revents)
{
	dispatch(w->data);
}

/* Starts queued commands while the device is online and free. A driver's
 * completion made inside command() arrives on a later iteration, but a
 * refusal (command() < 0) ends the command here; `dispatching` keeps
 * dispatch from running inside itself through a listener. */
static void dispatch(struct sh_device *dev)
{
	if (dev->dispatching)
		return;
	dev->dispatching = true;
	while (dev->conn == SH_CONN_ONLINE && !dev->running && !sh_list_empty(&dev->queue)) {
		uint64_t now = sh_hub_now_ms(dev->hub);
		uint64_t spacing = dev->cfg->min_interval_ms;
		if (spacing && dev->has_started_command && now < dev->last_start_ms + spacing) {
			if (!ev_is_active(&dev->spacing_timer)) {
				ev_timer_set(&dev->spacing_timer,
					     (double)(dev->last_start_ms + spacing - now) / 1000.0,
					     0.0);
				ev_timer_start(loop_of(dev), &dev->spacing_timer);
			}
			break;
		}
		struct sh_command *c = queue_pop(dev);
		dev->running = c;
		dev->last_start_ms = now;
		dev->has_started_command = true;
		if (dev->cfg->command_timeout_ms) {
			ev_timer_set(&dev->command_timer,
				     (double)dev->cfg->command_timeout_ms / 1000.0, 0.0);
			ev_timer_start(loop_of(dev), &dev->command_timer);
		}
		struct sh_event ev = {.type = SH_EV_COMMAND_STARTED,
				      .device = dev,
				      .command_id = c->id,
				      .command = c->json};
		sh_hub_emit(dev->hub, &ev);
		sh_reports_enter(sh_hub_reports(dev->hub));
		int r = dev->plugin->driver->command(dev->priv, c->id, c->json);
		if (r < 0 && dev->running == c) {
			/* Through the host, inside the call: the submitter hears
			 * of it on a later iteration, as of any completion. */
			char reason[128];
			snprintf(reason, sizeof(reason), "driver refused the command: %s",
				 strerror(-r));
			sh_host_api.command_done(dev, c->id, r, reason);
		}
		sh_reports_leave(sh_hub_reports(dev->hub));
	}
	dev->dispatching = false;
}

void sh_device_on_command_done(struct sh_device *dev, uint64_t id, int err, const char *reason)
{
	struct sh_command *c = dev->running;
	if (!c || c->id != id)
		return; /* timed out or failed already */
	ev_timer_stop(loop_of(dev), &dev->command_timer);
	dev->running = NULL;
	if (err < 0 && !reason)
		reason = strerror(-err);
	/* A success may carry a note (an optimistic driver's "unconfirmed"). */
	command_finish(dev, c, err, reason);
	sh_host_command_ended(dev);
	dispatch(dev);
}

void sh_device_on_event(struct sh_device *dev, const cJSON *event)
{
	/* A button's events must be among its event_types: Home Assistant's
	 * event entity ignores any other, and automations name them. */
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(event, "event");
	const char *name = cJSON_IsString(type) ? type->valuestring : "";
	if (!sh_kind_event_declared(&dev->cfg->spec, name)) {
		sh_log_warning("device %s: event '%.60s' dropped: not among its event_types",
			       sh_device_id(dev), name);
		return;
	}
	struct sh_event ev = {.type = SH_EV_DEVICE_EVENT, .device = dev, .data = event};
	sh_hub_emit(dev->hub, &ev);
}

/* --- coalescing: the last command wins ---------------------------------------- */

/* Whether `c` (queued, not yet with the driver) can take a newer settable
 * command from (done, ctx): both settable, and the submitter already rides
 * on it or a rider slot is free. */
static bool can_merge_into(const struct sh_command *c, sh_command_done_fn done, void *ctx)
{
	if (!c || !c->mergeable)
		return false;
	if (!done || (c->done == done && c->ctx == ctx))
		return true;
	for (size_t i = 0; i < c->n_riders; i++)
		if (c->riders[i].done == done && c->riders[i].ctx == ctx)
			return true;
	return c->n_riders < COMMAND_RIDERS_MAX;
}

/* Merges `command` (taken) into the waiting `c`: newer values per
 * property replace older ones, and (done, ctx) is told when `c` ends. */
static int merge_into(struct sh_device *dev, struct sh_command *c, cJSON *command,
		      sh_command_done_fn done, void *ctx, char *reason, size_t reason_len)
{
	int r = sh_kind_merge(&dev->cfg->spec, c->json, command);

	cJSON_Delete(command);
	if (r < 0) {
		snprintf(reason, reason_len, "out of memory");
		return r;
	}
	if (done && !(c->done == done && c->ctx == ctx)) {
		bool riding = false;

		for (size_t i = 0; i < c->n_riders; i++)
			riding |= c->riders[i].done == done && c->riders[i].ctx == ctx;
		if (!riding)
			c->riders[c->n_riders++] = (struct sh_command_rider){done, ctx};
	}
	return 0;
}

static int submit(struct sh_device *dev, cJSON *command, bool merge, sh_command_done_fn done,
		  void *ctx, uint64_t *id, char *reason, size_t reason_len)
{
	int r = sh_kind_check(&dev->cfg->spec, command, reason, reason_len);
	if (r < 0) {
		cJSON_Delete(command);
		return r;
	}
	/* Before TOGGLE is resolved: a toggle happens once each time. */
	bool mergeable = merge && sh_kind_settable(&dev->cfg->spec, command);
	sh_kind_normalize(&dev->cfg->spec, command, dev->state);
	bool online = dev->conn == SH_CONN_ONLINE;
	/* A command that waits (the device is busy, or offline and holding
	 * one) takes the newer values instead of queueing another: the
	 * device catches up with a burst in one command, at its last value. */
	struct sh_command *waiting = online ? queue_last(dev) : dev->held_offline;
	if (mergeable && (online || dev->cfg->queue_while_offline) &&
	    can_merge_into(waiting, done, ctx)) {
		r = merge_into(dev, waiting, command, done, ctx, reason, reason_len);
		if (r == 0 && id)
			*id = waiting->id;
		return r;
	}
	if (!online && !dev->cfg->queue_while_offline) {
		snprintf(reason, reason_len, "device %s is offline%s%s", sh_device_id(dev),
			 dev->last_error ? ": " : "", dev->last_error ? dev->last_error : "");
		cJSON_Delete(command);
		return -ENOTCONN;
	}
	if (online && dev->queue_len >= dev->cfg->queue_limit) {
		snprintf(reason, reason_len, "device %s: command queue full (%zu waiting)",
			 sh_device_id(dev), dev->queue_len);
		cJSON_Delete(command);
		return -ENOBUFS;
	}
	struct sh_command *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(reason, reason_len, "out of memory");
		cJSON_Delete(command);
		return -ENOMEM;
	}
	c->id = ++dev->next_command_id;
	c->json = command;
	c->done = done;
	c->ctx = ctx;
	c->mergeable = mergeable;
	if (id)
		*id = c->id;
	if (!online) {
		/* Only the latest command waits for the reconnect: an older one
		 * would be stale by then. */
		struct sh_command *old = dev->held_offline;
		dev->held_offline = c;
		if (old)
			command_finish(dev, old, -ECANCELED, "superseded by a newer command");
		return 0;
	}
	queue_push(dev, c);
	dispatch(dev);
	return 0;
}

int sh_device_submit(struct sh_device *dev, cJSON *command, sh_command_done_fn done, void *ctx,
		     uint64_t *id, char *reason, size_t reason_len)
{
	return submit(dev, command, false, done, ctx, id, reason, reason_len);
}

int sh_device_submit_merge(struct sh_device *dev, cJSON *command, sh_command_done_fn done,
			   void *ctx, uint64_t *id, char *reason, size_t reason_len)
{
	return submit(dev, command, true, done, ctx, id, reason, reason_len);
}

bool sh_device_cancel(struct sh_device *dev, uint64_t id)
{
	if (dev->running && dev->running->id == id) {
		dev->running->done = NULL;
		dev->running->n_riders = 0;
		return false;
	}
	if (dev->held_offline && dev->held_offline->id == id) {
		command_free(dev->held_offline);
		dev->held_offline = NULL;
		return true;
	}
	struct sh_list *pos;
	sh_list_for_each(pos, &dev->queue)
	{
		struct sh_command *c = sh_list_entry(pos, struct sh_command, link);
		if (c->id != id)
			continue;
		sh_list_remove(&c->link);
		dev->queue_len--;
		command_free(c);
		return true;
	}
	return false;
}

/* Spacing of refreshes when the device has no min_interval: a flood of
 * /get then costs one driver refresh (an exec spawn, a Yeelight request)
 * per this much, not one per message. */
#define SH_DEVICE_REFRESH_SPACING_MS 1000

static void refresh_now(struct sh_device *dev)
{
	dev->last_refresh_ms = sh_hub_now_ms(dev->hub);
	dev->has_refreshed = true;
	sh_reports_enter(sh_hub_reports(dev->hub));
	(void)dev->plugin->driver->refresh(dev->priv);
	sh_reports_leave(sh_hub_reports(dev->hub));
}

static void refresh_due(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sh_device *dev = w->data;
	if (dev->conn == SH_CONN_ONLINE && dev->plugin->driver->refresh)
		refresh_now(dev);
}

int sh_device_refresh(struct sh_device *dev)
{
	if (dev->conn != SH_CONN_ONLINE)
		return -ENOTCONN;
	if (!dev->plugin->driver->refresh)
		return -EOPNOTSUPP;
	/* One already waiting covers this one too. */
	if (ev_is_active(&dev->refresh_timer))
		return 0;
	uint64_t spacing = dev->cfg->min_interval_ms > SH_DEVICE_REFRESH_SPACING_MS
				   ? dev->cfg->min_interval_ms
				   : SH_DEVICE_REFRESH_SPACING_MS;
	uint64_t now = sh_hub_now_ms(dev->hub);
	if (dev->has_refreshed && now < dev->last_refresh_ms + spacing) {
		ev_timer_set(&dev->refresh_timer,
			     (double)(dev->last_refresh_ms + spacing - now) / 1000.0, 0.0);
		ev_timer_start(loop_of(dev), &dev->refresh_timer);
		return 0;
	}
	sh_reports_enter(sh_hub_reports(dev->hub));
	dev->last_refresh_ms = now;
	dev->has_refreshed = true;
	int r = dev->plugin->driver->refresh(dev->priv);
	sh_reports_leave(sh_hub_reports(dev->hub));
	return r;
}

/* --- state ---------------------------------------------------------------- */

void sh_device_on_state(struct sh_device *dev, const cJSON *patch)
{
	if (!cJSON_IsObject(patch))
		return;
	bool changed = false;
	const cJSON *item;
	cJSON_ArrayForEach(item, patch)
	{
		if (!item->string)
			continue;
		cJSON *old = cJSON_GetObjectItemCaseSensitive(dev->state, item->string);
		if (old && cJSON_Compare(old, item, true))
			continue;
		/* A light's brightness on every command: no allocation. */
		if (cJSON_IsNumber(old) && cJSON_IsNumber(item)) {
			cJSON_SetNumberValue(old, item->valuedouble);
			changed = true;
			continue;
		}
		cJSON *copy = cJSON_Duplicate(item, true);
		if (!copy)
			continue;
		if (old)
			cJSON_ReplaceItemInObjectCaseSensitive(dev->state, item->string, copy);
		else
			cJSON_AddItemToObject(dev->state, item->string, copy);
		changed = true;
	}
	if (changed)
		emit(dev, SH_EV_DEVICE_STATE);
}

/* --- connection ------------------------------------------------------------- */

static bool dependencies_online(const struct sh_device *dev)
{
	for (size_t i = 0; i < dev->cfg->n_depends_on; i++) {
		struct sh_device *dep = sh_hub_find_device(dev->hub, dev->cfg->depends_on[i]);
		if (!dep || !sh_device_online(dep))
			return false;
	}
	return true;
}

static const char *first_missing_dependency(const struct sh_device *dev)
{
	for (size_t i = 0; i < dev->cfg->n_depends_on; i++) {
		struct sh_device *dep = sh_hub_find_device(dev->hub, dev->cfg->depends_on[i]);
		if (!dep || !sh_device_online(dep))
			return dev->cfg->depends_on[i];
	}
	return NULL;
}

static void release_slot(struct sh_device *dev)
{
	if (dev->holds_slot) {
		dev->holds_slot = false;
		sh_hub_release_slot(dev->hub, dev);
	}
	dev->waiting_slot = false;
}

static void begin_connect(struct sh_device *dev)
{
	if (!sh_hub_take_slot(dev->hub, dev)) {
		dev->waiting_slot = true;
		dev->conn = SH_CONN_IDLE;
		return;
	}
	dev->waiting_slot = false;
	dev->holds_slot = true;
	dev->conn = SH_CONN_CONNECTING;
	dev->connect_started_ms = sh_hub_now_ms(dev->hub);
	ev_timer_stop(loop_of(dev), &dev->conn_timer);
	if (dev->cfg->connect_timeout_ms) {
		ev_timer_set(&dev->conn_timer, (double)dev->cfg->connect_timeout_ms / 1000.0, 0.0);
		ev_timer_start(loop_of(dev), &dev->conn_timer);
	}
	emit(dev, SH_EV_DEVICE_CONNECTING);
	int r = drv_connect(dev);
	if (r < 0 && dev->conn == SH_CONN_CONNECTING)
		sh_device_on_connect_failed(dev, strerror(-r));
}

static void schedule_retry(struct sh_device *dev)
{
	dev->conn = SH_CONN_BACKOFF;
	ev_timer_stop(loop_of(dev), &dev->conn_timer);
	ev_timer_set(&dev->conn_timer, sh_backoff_delay_s(&dev->cfg->backoff, dev->failures), 0.0);
	ev_timer_start(loop_of(dev), &dev->conn_timer);
}

/* Logs a connection failure when it is news: the first one, a new reason,
 * and then at most once per COMPLAIN_INTERVAL_MS (collectd's c_complain). */
static void complain(struct sh_device *dev, const char *reason)
{
	bool news = !dev->last_error || strcmp(dev->last_error, reason) != 0;
	unsigned suppressed = 0;
	if (news) {
		dev->complain =
			(struct sh_ratelimit){.interval_ms = COMPLAIN_INTERVAL_MS, .burst = 1};
		sh_ratelimit_allow(&dev->complain, sh_hub_now_ms(dev->hub), NULL);
	} else if (!sh_ratelimit_allow(&dev->complain, sh_hub_now_ms(dev->hub), &suppressed)) {
		sh_log_debug("device %s: still failing: %s", sh_device_id(dev), reason);
		return;
	}
	if (news || suppressed)
		sh_log_warning("device %s: %s (attempt %u; retrying with backoff)",
			       sh_device_id(dev), reason, dev->failures);
	else
		sh_log_warning("device %s: still failing: %s (attempt %u)", sh_device_id(dev),
			       reason, dev->failures);
}

static void conn_timer_fired(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sh_device *dev = w->data;
	if (dev->conn == SH_CONN_CONNECTING) {
		char reason[96];
		snprintf(reason, sizeof(reason), "connect timed out after %llu ms",
			 (unsigned long long)dev->cfg->connect_timeout_ms);
		sh_device_on_connect_failed(dev, reason);
	} else if (dev->conn == SH_CONN_BACKOFF) {
		if (dependencies_online(dev))
			begin_connect(dev);
		else
			dev->conn = SH_CONN_IDLE;
	}
}

void sh_device_on_connected(struct sh_device *dev)
{
	if (dev->conn != SH_CONN_CONNECTING)
		return;
	ev_timer_stop(loop_of(dev), &dev->conn_timer);
	if (dev->failures)
		sh_log_notice("device %s: online after %u failed attempts", sh_device_id(dev),
			      dev->failures);
	else
		sh_log_info("device %s: online", sh_device_id(dev));
	dev->failures = 0;
	set_last_error(dev, NULL);
	dev->conn = SH_CONN_ONLINE;
	emit(dev, SH_EV_DEVICE_AVAILABILITY);
	/* The slot goes to the next device only now, so no listener ever
	 * sees more than max_connecting attempts at once. */
	release_slot(dev);
	sh_hub_availability_changed(dev->hub, dev);
	if (dev->held_offline && dev->conn == SH_CONN_ONLINE) {
		struct sh_command *c = dev->held_offline;
		dev->held_offline = NULL;
		queue_push(dev, c);
	}
	dispatch(dev);
}

void sh_device_on_connect_failed(struct sh_device *dev, const char *reason)
{
	if (dev->conn != SH_CONN_CONNECTING)
		return;
	ev_timer_stop(loop_of(dev), &dev->conn_timer);
	drv_disconnect(dev);
	release_slot(dev);
	dev->failures++;
	if (!reason)
		reason = "connection failed";
	complain(dev, reason);
	set_last_error(dev, reason);
	schedule_retry(dev);
}

void sh_device_on_connection_lost(struct sh_device *dev, const char *reason)
{
	if (dev->conn == SH_CONN_CONNECTING) {
		sh_device_on_connect_failed(dev, reason);
		return;
	}
	if (dev->conn != SH_CONN_ONLINE)
		return;
	sh_log_warning("device %s: connection lost: %s", sh_device_id(dev),
		       reason ? reason : "unknown reason");
	go_offline(dev, reason ? reason : "connection lost", true);
}

/* Leaves the online state: drops the driver's connection, fails commands,
 * tells listeners and dependents, then retries or waits. */
static void go_offline(struct sh_device *dev, const char *reason, bool retry)
{
	bool was_online = dev->conn == SH_CONN_ONLINE;
	ev_timer_stop(loop_of(dev), &dev->conn_timer);
	if (dev->conn == SH_CONN_CONNECTING || was_online)
		drv_disconnect(dev);
	release_slot(dev);
	set_last_error(dev, reason);
	dev->conn = SH_CONN_IDLE;
	char why[256];
	snprintf(why, sizeof(why), "device %s went offline: %s", sh_device_id(dev), reason);
	fail_all_commands(dev, -ENOTCONN, why);
	if (was_online) {
		emit(dev, SH_EV_DEVICE_AVAILABILITY);
		sh_hub_availability_changed(dev->hub, dev);
	}
	if (retry && dev->started) {
		dev->failures++;
		if (dependencies_online(dev))
			schedule_retry(dev);
	}
}

void sh_device_start(struct sh_device *dev)
{
	dev->started = true;
	if (dev->conn != SH_CONN_IDLE || dev->waiting_slot)
		return;
	const char *missing = first_missing_dependency(dev);
	if (missing) {
		char reason[160];
		snprintf(reason, sizeof(reason), "waiting for %s", missing);
		set_last_error(dev, reason);
		return;
	}
	begin_connect(dev);
}

void sh_device_dependency_changed(struct sh_device *dev)
{
	if (!dev->started)
		return;
	const char *missing = first_missing_dependency(dev);
	if (!missing) {
		if (dev->conn == SH_CONN_IDLE && !dev->waiting_slot)
			begin_connect(dev);
		return;
	}
	if (dev->conn == SH_CONN_IDLE && !dev->waiting_slot)
		return;
	char reason[160];
	snprintf(reason, sizeof(reason), "waiting for %s", missing);
	if (dev->conn == SH_CONN_ONLINE)
		sh_log_notice("device %s: offline until %s is back", sh_device_id(dev), missing);
	go_offline(dev, reason, false);
	dev->failures = 0;
}

void sh_device_slot_available(struct sh_device *dev)
{
	if (dev->waiting_slot && dev->started && dependencies_online(dev))
		begin_connect(dev);
}

void sh_device_stop(struct sh_device *dev)
{
	if (!dev)
		return;
	dev->started = false;
	go_offline(dev, "stopped", false);
	if (dev->held_offline) {
		struct sh_command *c = dev->held_offline;
		dev->held_offline = NULL;
		command_finish(dev, c, -ECANCELED, "the hub is stopping");
	}
}

/* --- life --------------------------------------------------------------------- */

/* The option the driver asked for that `key` is a near miss of, or NULL. */
static const char *asked_near(const struct sh_device *dev, const char *key)
{
	const char *names[SH_DEVICE_ASKED_BYTES / 2 + 1];
	size_t n = 0;

	for (size_t at = 0; at < dev->asked_len; at += strlen(dev->asked_keys + at) + 1)
		names[n++] = dev->asked_keys + at;
	names[n] = NULL;
	return sh_suggest(key, names, NULL);
}

void sh_device_report_unused(const struct sh_device_config *cfg, const struct sh_device *dev,
			     struct sh_diag *diag)
{
	for (size_t i = 0; cfg->options && i < cfg->options->n_items; i++) {
		const struct sh_node *opt = cfg->options->items[i];
		if (opt->used)
			continue;
		unsigned line, column;
		const char *key = opt->key ? opt->key : "";
		/* A misspelt common key is that, not a driver option. */
		const char *common = sh_config_suggest_device_key(key);
		sh_node_key_position(opt, &line, &column);
		if (common) {
			sh_diag_add_at(diag, opt->file, line, column,
				       "device %s: unknown key '%s' (did you mean the "
				       "common key '%s'?)",
				       cfg->id, key, common);
		} else if (dev) {
			const char *near = asked_near(dev, key);
			sh_diag_add_at(diag, opt->file, line, column,
				       "device %s: unknown option '%s' for driver %s%s%s%s",
				       cfg->id, key, cfg->driver, near ? " (did you mean '" : "",
				       near ? near : "", near ? "'?)" : "");
		}
	}
}

int sh_device_create(struct sh_hub *hub, struct sh_config_ref *ref,
		     const struct sh_device_config *cfg, const struct sh_plugin *plugin,
		     struct sh_diag *diag, struct sh_device **out)
{
	*out = NULL;
	struct sh_device *dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->hub = hub;
	dev->cfg = cfg;
	dev->plugin = plugin;
	dev->state = cJSON_CreateObject();
	if (!dev->state) {
		free(dev);
		return -ENOMEM;
	}
	ev_timer_init(&dev->conn_timer, conn_timer_fired, 0.0, 0.0);
	dev->conn_timer.data = dev;
	ev_timer_init(&dev->command_timer, command_timed_out, 0.0, 0.0);
	dev->command_timer.data = dev;
	ev_timer_init(&dev->spacing_timer, spacing_elapsed, 0.0, 0.0);
	dev->spacing_timer.data = dev;
	ev_timer_init(&dev->refresh_timer, refresh_due, 0.0, 0.0);
	dev->refresh_timer.data = dev;
	ev_timer_init(&dev->poll_timer, NULL, 0.0, 0.0);
	sh_list_init(&dev->queue);
	sh_list_init(&dev->resources);
	sh_list_init(&dev->reports);
	/* Set before create so a driver may watch peers of this configuration;
	 * counted only once the device exists. */
	dev->config_ref = ref;

	size_t errors_before = sh_diag_errors(diag);
	dev->create_diag = diag;
	/* Without it only the "did you mean" of an unknown option is lost. */
	dev->asked_keys = malloc(SH_DEVICE_ASKED_BYTES);
	sh_reports_enter(sh_hub_reports(hub));
	int r = plugin->driver->create(dev, &sh_host_api, &dev->priv);
	sh_reports_leave(sh_hub_reports(hub));
	dev->create_diag = NULL;
	sh_device_report_unused(cfg, dev, diag);
	free(dev->asked_keys);
	dev->asked_keys = NULL;
	dev->asked_len = 0;
	if (r == 0 && sh_diag_errors(diag) > errors_before)
		r = -EINVAL;
	if (r < 0) {
		if (sh_diag_errors(diag) == errors_before)
			sh_diag_add(diag, cfg->node, "device %s: driver %s refused it: %s", cfg->id,
				    cfg->driver, strerror(-r));
		if (dev->priv)
			drv_destroy(dev);
		sh_host_release_all(dev);
		for (size_t i = 0; i < dev->n_owned_strings; i++)
			free(dev->owned_strings[i]);
		free(dev->owned_strings);
		cJSON_Delete(dev->state);
		cJSON_Delete(dev->metadata);
		free(dev);
		return r;
	}
	ref->refs++;
	*out = dev;
	return 0;
}

void sh_device_destroy(struct sh_device *dev)
{
	if (!dev)
		return;
	sh_device_stop(dev);
	drv_destroy(dev);
	sh_host_release_all(dev);
	ev_timer_stop(loop_of(dev), &dev->conn_timer);
	ev_timer_stop(loop_of(dev), &dev->command_timer);
	ev_timer_stop(loop_of(dev), &dev->spacing_timer);
	ev_timer_stop(loop_of(dev), &dev->refresh_timer);
	for (size_t i = 0; i < dev->n_owned_strings; i++)
		free(dev->owned_strings[i]);
	free(dev->owned_strings);
	free(dev->last_error);
	cJSON_Delete(dev->state);
	cJSON_Delete(dev->metadata);
	free(dev);
}
