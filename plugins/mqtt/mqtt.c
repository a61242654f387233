// SPDX-License-Identifier: MIT
/*
 * The mqtt driver: devices that speak MQTT themselves (Zigbee2MQTT,
 * Tasmota, Shelly Gen2, ESPHome, another smarthub, or an explicit mapping)
 * on the hub's own broker connection (host->mqtt_*).
 *
 * A device is online once its availability says so (every source of it:
 * Zigbee2MQTT's device and bridge), or, with no availability topic, once
 * its first state arrives; offline on its LWT. Subscriptions are made on
 * the first connect and kept until the device is destroyed, so the
 * availability and state stay known across the daemon's reconnects and
 * the broker's (the last availability heard stands until a newer one).
 * The start-up queries go out whenever the device comes online and when
 * it announces itself again.
 *
 * A command is published (never retained) and done when the reported
 * state satisfies it (mq_confirm.c), or failed with the last observed
 * value when command_timeout is about to run out.
 *
 * Modules: mq_map (payloads), mq_preset (the families' topics and
 * property tables), mq_options (options), mq_confirm (confirmation).
 */
#include "mq_confirm.h"
#include "mq_options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Complaint slots (host->complain). */
enum { SLOT_MALFORMED = 1, SLOT_OVERSIZED, SLOT_PUBLISH };
/* Our confirmation timer runs out this much before the daemon's
 * command_timeout, so the failure names the last observed value. */
#define CONFIRM_MARGIN_MS 250

struct mq_dev {
	struct sh_device *dev;
	const struct sh_host *host;
	struct mq_options o;
	struct mq_layout l;
	const struct mq_codec *readers[MQ_READERS_MAX];

	int subs[MQ_READERS_MAX + MQ_AVAIL_MAX];
	size_t n_subs;
	bool watching, link_up;
	bool connecting, online;
	int avail[MQ_AVAIL_MAX]; /* -1 unknown, 0 offline, 1 online */
	bool got_state;
	cJSON *observed; /* the device's last reported state */

	struct mq_confirm pending;
	struct sh_timer *confirm_timer, *start_timer;
	long long rpc_next, rpc_set; /* Shelly request ids; the last Set's */
	unsigned long malformed, oversized;
};

/* --- publishing ------------------------------------------------------------- */

static int publish(struct mq_dev *m, const char *topic, const char *payload)
{
	/* Commands and queries are never retained: a retained command would
	 * run again whenever the device reconnects. */
	int r = m->host->mqtt_publish(m->dev, topic, payload, strlen(payload), m->l.qos, false);

	if (r < 0 && r != -ENOTCONN)
		m->host->complain(m->dev, SLOT_PUBLISH, SH_LOG_WARNING, "publish %s: %s", topic,
				  strerror(-r));
	return r;
}

/* Shelly's JSON-RPC envelope around `params` (taken over). */
static int publish_rpc(struct mq_dev *m, const char *topic, const char *method, cJSON *params,
		       long long *id)
{
	cJSON *req = cJSON_CreateObject();
	char *text;
	int r;

	if (!req || !params) {
		cJSON_Delete(req);
		cJSON_Delete(params);
		return -ENOMEM;
	}
	*id = ++m->rpc_next;
	cJSON_AddNumberToObject(params, "id", (double)m->l.rpc_id);
	cJSON_AddNumberToObject(req, "id", (double)*id);
	cJSON_AddStringToObject(req, "src", m->l.rpc_src);
	cJSON_AddStringToObject(req, "method", method);
	cJSON_AddItemToObject(req, "params", params);
	text = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (!text)
		return -ENOMEM;
	r = publish(m, topic, text);
	cJSON_free(text);
	return r;
}

/* The start-up (and refresh) queries: Zigbee2MQTT's /get, Tasmota's empty
 * commands, Shelly's GetStatus. Families with retained state have none. */
static void send_queries(struct mq_dev *m)
{
	for (size_t i = 0; i < m->l.n_queries; i++) {
		const struct mq_query *q = &m->l.queries[i];
		long long id;

		if (q->rpc_method[0])
			publish_rpc(m, q->topic, q->rpc_method, cJSON_CreateObject(), &id);
		else
			publish(m, q->topic, q->payload);
	}
}

/* --- availability ------------------------------------------------------------- */

static bool available(const struct mq_dev *m)
{
	if (m->l.n_avail == 0)
		return m->got_state;
	for (size_t i = 0; i < m->l.n_avail; i++)
		if (m->avail[i] != 1)
			return false;
	return true;
}

static void cancel_pending(struct mq_dev *m)
{
	m->host->timer_stop(m->confirm_timer);
	m->confirm_timer = NULL;
	mq_confirm_clear(&m->pending);
}

/* Reports what changed: online once every source agrees, offline on the
 * first that says so. */
static void availability_changed(struct mq_dev *m, const char *why)
{
	if (!m->connecting)
		return;
	if (!m->online && m->link_up && available(m)) {
		m->online = true;
		m->host->connected(m->dev);
		if (cJSON_GetArraySize(m->observed) > 0)
			m->host->state_update(m->dev, m->observed);
		/* Whatever changed while it was away: ask (start-up, after a
		 * broker restart, after the device's own restart). */
		send_queries(m);
		return;
	}
	if (m->online && !available(m)) {
		m->online = false;
		m->connecting = false;
		cancel_pending(m);
		m->host->failed(m->dev, why);
	}
}

/* "online", {"state":"online"}, Tasmota's "Online", Shelly's true. */
static int availability_value(const struct mq_avail *a, const char *payload, size_t len)
{
	char word[MQ_WORD_MAX];
	cJSON *json = cJSON_ParseWithLength(payload, len);
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(json, "state");
	int r = -1;

	if (cJSON_IsString(state))
		snprintf(word, sizeof(word), "%s", state->valuestring);
	else if (cJSON_IsBool(json))
		snprintf(word, sizeof(word), "%s", cJSON_IsTrue(json) ? "true" : "false");
	else
		snprintf(word, sizeof(word), "%.*s", (int)(len < sizeof(word) ? len : 0), payload);
	cJSON_Delete(json);
	if (strcasecmp(word, a->online) == 0)
		r = 1;
	else if (strcasecmp(word, a->offline) == 0)
		r = 0;
	return r;
}

/* --- state and confirmation ------------------------------------------------------ */

static void confirm_check(struct mq_dev *m)
{
	if (!m->pending.active || !mq_confirm_satisfied(&m->pending, m->observed))
		return;
	uint64_t id = m->pending.id;
	cancel_pending(m);
	m->host->command_done(m->dev, id, 0, NULL);
}

/* Events ("action" of a Zigbee2MQTT remote) leave the patch for
 * host->event; an empty one is the remote clearing its action. */
static void event_report(struct mq_dev *m, const struct mq_codec *c, cJSON *patch)
{
	for (size_t i = 0; i < c->n_props; i++) {
		cJSON *v;

		if (!c->props[i].event)
			continue;
		v = cJSON_DetachItemFromObjectCaseSensitive(patch, c->props[i].name);
		if (m->online && cJSON_IsString(v) && v->valuestring[0]) {
			cJSON *ev = cJSON_CreateObject();
			if (ev && cJSON_AddStringToObject(ev, "event", v->valuestring))
				m->host->event(m->dev, ev);
			cJSON_Delete(ev);
		}
		cJSON_Delete(v);
	}
}

static void state_report(struct mq_dev *m, cJSON *patch)
{
	const cJSON *v;

	if (cJSON_GetArraySize(patch) == 0)
		return; /* nothing at any path: no update */
	cJSON_ArrayForEach(v, patch)
	{
		cJSON_DeleteItemFromObjectCaseSensitive(m->observed, v->string);
		cJSON_AddItemToObject(m->observed, v->string, cJSON_Duplicate(v, true));
	}
	m->got_state = true;
	if (m->online)
		m->host->state_update(m->dev, patch);
	confirm_check(m);
	availability_changed(m, "state");
}

/* A Shelly answer to our Switch.Set says only was_on: ask for the status,
 * whose answer (not "the next message") confirms. */
static void rpc_answer(struct mq_dev *m, const char *payload, size_t len)
{
	cJSON *json = cJSON_ParseWithLength(payload, len);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(json, "id");

	if (cJSON_IsNumber(id) && (long long)id->valuedouble == m->rpc_set && m->rpc_set) {
		m->rpc_set = 0;
		send_queries(m);
	}
	cJSON_Delete(json);
}

static void on_message(struct sh_device *dev, const char *topic, const void *payload, size_t len,
		       bool retained, void *data)
{
	struct mq_dev *m = data;

	if ((long long)len > m->o.max_message || !payload) {
		m->oversized++;
		m->host->complain(dev, SLOT_OVERSIZED, SH_LOG_WARNING,
				  "%s: message of %zu bytes is over max_message (%lld); ignored "
				  "(%lu so far)",
				  topic, len, m->o.max_message, m->oversized);
		return;
	}
	for (size_t i = 0; i < m->l.n_avail; i++) {
		int v;

		if (strcmp(topic, m->l.avail[i].topic) != 0)
			continue;
		v = availability_value(&m->l.avail[i], payload, len);
		if (v < 0) {
			m->malformed++;
			m->host->complain(dev, SLOT_MALFORMED, SH_LOG_WARNING,
					  "%s: unknown availability '%.*s' (%lu malformed so far)",
					  topic, (int)(len < 40 ? len : 40), (const char *)payload,
					  m->malformed);
			continue;
		}
		/* "online" again: the device (or its bridge) restarted and
		 * announces itself; what it holds now is worth asking. */
		bool announce = m->avail[i] == 1 && v == 1;
		m->avail[i] = v;
		if (announce && m->online)
			send_queries(m);
		char why[MQ_TOPIC_MAX + 32];
		snprintf(why, sizeof(why), "%s says %s", topic, m->l.avail[i].offline);
		availability_changed(m, why);
	}
	for (size_t i = 0; i < m->l.n_readers; i++) {
		cJSON *patch;

		if (strcmp(topic, m->l.readers[i].topic) != 0)
			continue;
		if (mq_decode(&m->l.readers[i].codec, payload, len, &patch) < 0) {
			m->malformed++;
			m->host->complain(dev, SLOT_MALFORMED, SH_LOG_WARNING,
					  "%s: malformed message ignored (%lu so far)", topic,
					  m->malformed);
			continue;
		}
		if (m->l.readers[i].rpc_answer)
			rpc_answer(m, payload, len);
		/* A retained action is an old press, not one now. */
		if (!retained)
			event_report(m, &m->l.readers[i].codec, patch);
		else
			cJSON_DeleteItemFromObjectCaseSensitive(patch, "event");
		state_report(m, patch);
		cJSON_Delete(patch);
	}
}

/* --- the broker link and start-up ----------------------------------------------------- */

static void on_link(struct sh_device *dev, bool up, void *data)
{
	struct mq_dev *m = data;

	m->link_up = up;
	if (up) {
		/* The availability last heard stands until the restored
		 * subscriptions bring a newer one (a broker without persistence
		 * has forgotten the retained messages, and not every device
		 * announces itself again). */
		availability_changed(m, "broker connection back");
		return;
	}
	if (m->online) {
		m->online = false;
		m->connecting = false;
		cancel_pending(m);
		m->host->failed(dev, "the hub's MQTT broker connection was lost");
	}
}

static int subscribe_all(struct mq_dev *m)
{
	const char *topics[MQ_READERS_MAX + MQ_AVAIL_MAX];
	size_t n = 0;

	for (size_t i = 0; i < m->l.n_readers; i++)
		topics[n++] = m->l.readers[i].topic;
	for (size_t i = 0; i < m->l.n_avail; i++)
		topics[n++] = m->l.avail[i].topic;
	for (size_t i = 0; i < n; i++) {
		int id = m->host->mqtt_subscribe(m->dev, topics[i], 1, on_message, m);

		if (id < 0) {
			char reason[MQ_TOPIC_MAX + 96];
			snprintf(reason, sizeof(reason), "subscribe %s: %s", topics[i],
				 id == -EPERM    ? "under the hub's own base topic"
				 : id == -ENOSYS ? "the hub has no MQTT connection"
						 : strerror(-id));
			for (size_t k = 0; k < m->n_subs; k++)
				m->host->mqtt_unsubscribe(m->dev, m->subs[k]);
			m->n_subs = 0;
			m->host->failed(m->dev, reason);
			return id;
		}
		m->subs[m->n_subs++] = id;
	}
	return 0;
}

/* connect() defers to here: the bridge registers the MQTT service after
 * the devices of the first configuration were made. */
static void start(struct sh_device *dev, void *data)
{
	struct mq_dev *m = data;

	m->host->timer_stop(m->start_timer);
	m->start_timer = NULL;
	if (!m->connecting)
		return;
	if (!m->watching) {
		int r = m->host->mqtt_watch_link(dev, on_link, m);
		if (r < 0) {
			m->connecting = false;
			m->host->failed(dev, r == -ENOSYS ? "the hub has no MQTT connection"
							  : strerror(-r));
			return;
		}
		m->watching = true;
	}
	if (m->n_subs == 0 && subscribe_all(m) < 0) {
		m->connecting = false;
		return;
	}
	if (m->link_up)
		availability_changed(m, "start");
}

static int mq_connect(void *priv)
{
	struct mq_dev *m = priv;

	m->connecting = true;
	m->online = false;
	if (!m->start_timer)
		m->start_timer = m->host->timer_start(m->dev, 0, 0, start, m);
	return m->start_timer ? 0 : -ENOMEM;
}

static void mq_disconnect(void *priv)
{
	struct mq_dev *m = priv;

	m->connecting = false;
	m->online = false;
	m->host->timer_stop(m->start_timer);
	m->start_timer = NULL;
	cancel_pending(m);
}

static int mq_refresh(void *priv)
{
	send_queries(priv);
	return 0;
}

/* --- commands --------------------------------------------------------------------- */

static void confirm_timeout(struct sh_device *dev, void *data)
{
	struct mq_dev *m = data;
	char what[160], reason[256];
	uint64_t id = m->pending.id;

	mq_confirm_describe(&m->pending, m->observed, what, sizeof(what));
	snprintf(reason, sizeof(reason), "not confirmed within %llu ms: %s",
		 (unsigned long long)(m->o.command_timeout_ms > CONFIRM_MARGIN_MS * 2
					      ? m->o.command_timeout_ms - CONFIRM_MARGIN_MS
					      : m->o.command_timeout_ms / 2),
		 what);
	cancel_pending(m);
	m->host->command_done(dev, id, -ETIMEDOUT, reason);
}

/* Whether some writer takes every member of the command. */
static const char *unwritable(const struct mq_dev *m, const cJSON *command)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, command)
	{
		bool ok = false;
		for (size_t w = 0; w < m->l.n_writers && !ok; w++) {
			const struct mq_prop *p = mq_codec_find(&m->l.writers[w].codec, c->string);
			ok = (p && !p->no_write) || m->l.writers[w].codec.passthrough;
		}
		if (!ok)
			return c->string;
	}
	return NULL;
}

static int send_command(struct mq_dev *m, const cJSON *command)
{
	for (size_t w = 0; w < m->l.n_writers; w++) {
		const struct mq_writer *wr = &m->l.writers[w];
		char *payload;
		int r, n = mq_encode(&wr->codec, command, &payload);

		if (n < 0)
			return n;
		if (n == 0)
			continue;
		if (wr->rpc_method[0])
			r = publish_rpc(m, wr->topic, wr->rpc_method, cJSON_Parse(payload),
					&m->rpc_set);
		else
			r = publish(m, wr->topic, payload);
		cJSON_free(payload);
		if (r < 0)
			return r;
	}
	return 0;
}

static int mq_command(void *priv, uint64_t id, const cJSON *command)
{
	struct mq_dev *m = priv;
	const char *bad = unwritable(m, command);
	uint64_t wait_ms;
	char reason[160];
	int r;

	if (bad) {
		snprintf(reason, sizeof(reason), "this device's mapping has no command for '%s'",
			 bad);
		m->host->command_done(m->dev, id, -ENOTSUP, reason);
		return 0;
	}
	r = mq_confirm_start(&m->pending, id, command, m->readers, m->l.n_readers, m->observed);
	if (r == 0)
		r = send_command(m, command);
	if (r < 0) {
		cancel_pending(m);
		snprintf(reason, sizeof(reason), "publish: %s",
			 r == -ENOTCONN ? "the hub is not connected to its broker" : strerror(-r));
		m->host->command_done(m->dev, id, r, reason);
		return 0;
	}
	if (m->l.n_readers == 0 || mq_confirm_nothing(&m->pending)) {
		/* optimistic: true, or nothing a report could show. */
		cancel_pending(m);
		if (m->l.n_readers == 0)
			m->host->state_update(m->dev, command);
		m->host->command_done(m->dev, id, 0, "unconfirmed");
		return 0;
	}
	if (mq_confirm_satisfied(&m->pending, m->observed)) {
		/* The reported state already is what was asked. */
		cancel_pending(m);
		m->host->command_done(m->dev, id, 0, NULL);
		return 0;
	}
	wait_ms = m->o.command_timeout_ms > CONFIRM_MARGIN_MS * 2
			  ? m->o.command_timeout_ms - CONFIRM_MARGIN_MS
			  : m->o.command_timeout_ms / 2;
	m->confirm_timer = m->host->timer_start(m->dev, wait_ms, 0, confirm_timeout, m);
	return 0;
}

/* --- life ------------------------------------------------------------------------- */

static void mq_destroy(void *priv)
{
	struct mq_dev *m = priv;

	if (!m)
		return;
	mq_disconnect(m);
	for (size_t i = 0; i < m->n_subs; i++)
		m->host->mqtt_unsubscribe(m->dev, m->subs[i]);
	mq_layout_clear(&m->l);
	cJSON_Delete(m->observed);
	free(m);
}

/* Zigbee2MQTT, Tasmota, Shelly and ESPHome announce their devices to Home
 * Assistant themselves: the hub does too only when the device says
 * `homeassistant: true`. */
static int mq_declare_discovery(struct mq_dev *m)
{
	cJSON *meta = cJSON_CreateObject();
	int r = -ENOMEM;

	if (meta && cJSON_AddBoolToObject(meta, "discovery", m->o.homeassistant))
		r = m->host->set_metadata(m->dev, meta);
	cJSON_Delete(meta);
	return r;
}

static int mq_create(struct sh_device *dev, const struct sh_host *host, void **priv)
{
	struct mq_dev *m = calloc(1, sizeof(*m));
	int r;

	if (!m)
		return -ENOMEM;
	m->dev = dev;
	m->host = host;
	r = mq_options_read(dev, host, &m->o, &m->l);
	m->observed = cJSON_CreateObject();
	if (r == 0 && !m->observed)
		r = -ENOMEM;
	if (r == 0)
		r = mq_declare_discovery(m);
	if (r < 0) {
		mq_destroy(m);
		return r;
	}
	for (size_t i = 0; i < m->l.n_readers; i++)
		m->readers[i] = &m->l.readers[i].codec;
	for (size_t i = 0; i < MQ_AVAIL_MAX; i++)
		m->avail[i] = -1;
	*priv = m;
	return 0;
}

static const char *const mq_kinds[] = {"light",   "switch", "speaker", "sensor", "cover", "lock",
				       "climate", "fan",    "button",  "custom", NULL};

SH_DRIVER_EXPORT const struct sh_driver sh_driver_descriptor = {
	.abi_version = SH_PLUGIN_ABI_VERSION,
	.name = "mqtt",
	.kinds = mq_kinds,
	.create = mq_create,
	.connect = mq_connect,
	.command = mq_command,
	.refresh = mq_refresh,
	.disconnect = mq_disconnect,
	.destroy = mq_destroy,
};
