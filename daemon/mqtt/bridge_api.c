/* SPDX-License-Identifier: MIT */
/*
 * The bridge's topic API (DESIGN.md, "MQTT topics"): what the hub's events
 * become on the broker, and what messages on the broker become in the hub.
 *
 * Out: device state and availability, scene status, bridge/devices,
 * bridge/scenes and Home Assistant discovery (all retained, through
 * retained.c so only changes go out), error events on bridge/event
 * (rate-limited) and responses on bridge/response/<what>.
 *
 * In: <id>/set, <id>/get, scene/<name>/set, bridge/request/<what> and Home
 * Assistant's birth message. Every payload is checked here, on the loop
 * thread: too large, not JSON, not an object, unknown device and whatever
 * sh_device_submit refuses each end in one event naming the topic and the
 * reason, and the bridge goes on.
 *
 * It owns the scene/run requests waiting for their scene to finish; the
 * commands it submits report their failure through their `done` callback.
 */
#include "mqtt/bridge_internal.h"
#include "mqtt/discovery.h"
#include "mqtt/jbuf.h"
#include "util/list.h"
#include "kinds/kind.h"
#include "scenes/scene.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A scene/run request waiting for its scene's end. The scene engine holds
 * it as the `done` context; if the bridge goes first, `bridge` becomes NULL
 * and the completion only frees it. */
struct sh_pending_run {
	struct sh_bridge *bridge;
	cJSON *transaction;  /* the request's, echoed; may be NULL */
	struct sh_list link; /* in api->runs */
};

/* The topic API's own state; the transport (struct sh_bridge) holds it. */
/* Requests that cost the loop in proportion to the configuration (a whole
 * reload, the whole device list, all of discovery): each has its own
 * mqtt.requests_per_minute, so a client repeating one cannot starve the
 * loop, and one flooding one kind leaves the others alone. */
enum expensive_request {
	EXPENSIVE_RELOAD,
	EXPENSIVE_DEVICES,
	EXPENSIVE_SCENES,
	EXPENSIVE_HA_BIRTH,
	EXPENSIVE_COUNT,
};

struct sh_bridge_api {
	struct sh_ratelimit events; /* bridge/event, mqtt.events_per_second */
	struct sh_ratelimit expensive[EXPENSIVE_COUNT];
	ev_tstamp started;   /* for health_check's uptime */
	sh_reload_fn reload; /* bridge/request/reload; may be NULL */
	void *reload_ctx;
	size_t devices_len;  /* of the last device list, to size the next */
	struct sh_list runs; /* scene/run requests waiting for their scene */
	size_t n_runs;       /* at most SH_BRIDGE_PENDING_RUNS_MAX */
	/* bridge/devices shows availability, so a change republishes it, at
	 * most once per SH_BRIDGE_LISTS_INTERVAL: 5,000 devices coming
	 * online cost one list a second, not 5,000 lists. */
	ev_timer lists;
	ev_tstamp lists_at; /* when the lists were last published */
};

#define SH_BRIDGE_LISTS_INTERVAL 1.0 /* seconds */

static void publish_lists(struct sh_bridge *b, bool force);

static void lists_due(struct ev_loop *loop, ev_timer *w, int revents)
{
	publish_lists(w->data, false);
}

/* A device's availability changed: the lists follow, coalesced. */
static void schedule_lists(struct sh_bridge *b)
{
	struct sh_bridge_api *a = b->api;
	if (ev_is_active(&a->lists))
		return;
	ev_tstamp delay = a->lists_at + SH_BRIDGE_LISTS_INTERVAL - ev_now(b->loop);
	ev_timer_set(&a->lists, delay > 0 ? delay : 0, 0);
	ev_timer_start(b->loop, &a->lists);
}

int sh_bridge_api_new(struct sh_bridge *b, unsigned events_per_second)
{
	struct sh_bridge_api *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	a->events.interval_ms = 1000;
	a->events.burst = events_per_second;
	for (size_t i = 0; i < EXPENSIVE_COUNT; i++) {
		a->expensive[i].interval_ms = 60000;
		a->expensive[i].burst = sh_hub_config(b->hub)->mqtt.requests_per_minute;
	}
	a->started = ev_now(b->loop);
	sh_list_init(&a->runs);
	ev_timer_init(&a->lists, lists_due, 0, 0);
	a->lists.data = b;
	b->api = a;
	return 0;
}

void sh_bridge_api_set_reload(struct sh_bridge *b, sh_reload_fn fn, void *ctx)
{
	b->api->reload = fn;
	b->api->reload_ctx = ctx;
}

/* --- events ------------------------------------------------------------ */

void sh_bridge_api_error(struct sh_bridge *b, struct sh_device *dev, const char *topic,
			 const char *message)
{
	unsigned suppressed = 0;
	char event_topic[SH_BRIDGE_TOPIC_MAX];
	cJSON *ev;

	/* A flood of bad commands must flood neither the log nor the broker:
	 * both follow mqtt.events_per_second, and the next event that goes out
	 * says how many were left out. */
	if (!sh_ratelimit_allow(&b->api->events, sh_bridge_now_ms(b), &suppressed))
		return;
	sh_log_notice("mqtt: %s%s%s%s%s", dev ? sh_device_id(dev) : "", dev ? ": " : "", message,
		      topic ? " on " : "", topic ? topic : "");
	ev = cJSON_CreateObject();
	if (!ev)
		return;
	cJSON_AddStringToObject(ev, "type", "error");
	if (dev)
		cJSON_AddStringToObject(ev, "device", sh_device_id(dev));
	else
		cJSON_AddNullToObject(ev, "device");
	if (topic)
		cJSON_AddStringToObject(ev, "topic", topic);
	else
		cJSON_AddNullToObject(ev, "topic");
	cJSON_AddStringToObject(ev, "message", message);
	if (suppressed)
		cJSON_AddNumberToObject(ev, "suppressed", suppressed);
	sh_bridge_publish_json(
		b, sh_bridge_topic(b, event_topic, sizeof(event_topic), "bridge", "event"), ev,
		b->qos, false);
	cJSON_Delete(ev);
}

static void errorf(struct sh_bridge *b, struct sh_device *dev, const char *topic, const char *fmt,
		   ...) __attribute__((format(printf, 4, 5)));

static void errorf(struct sh_bridge *b, struct sh_device *dev, const char *topic, const char *fmt,
		   ...)
{
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	sh_bridge_api_error(b, dev, topic, message);
}

/* --- commands the bridge submitted ------------------------------------------ */

/* The device ended a command from <id>/set (merged ones end together):
 * a failure becomes an event. Completion is asynchronous (a later loop
 * iteration), and sh_hub_stop ends every command before the bridge is
 * freed, so `b` is alive here. */
static void on_command_done(void *ctx, struct sh_device *dev, uint64_t id, int err,
			    const char *reason)
{
	struct sh_bridge *b = ctx;
	char topic[SH_BRIDGE_TOPIC_MAX];

	(void)id;
	if (!err || b->stopped)
		return;
	errorf(b, dev, sh_bridge_topic(b, topic, sizeof(topic), sh_device_id(dev), "set"),
	       "command failed: %s", reason ? reason : strerror(-err));
}

/* --- retained publications -------------------------------------------------- */

static void publish_state(struct sh_bridge *b, struct sh_device *dev, bool force)
{
	const cJSON *state = sh_device_state(dev);
	char topic[SH_BRIDGE_TOPIC_MAX];
	char *text;

	/* Nothing is known before the device first reports; an empty retained
	 * object would only tell subscribers something false. */
	if (!state || (!force && cJSON_GetArraySize(state) == 0))
		return;
	text = cJSON_PrintUnformatted(state);
	if (!text)
		return;
	sh_bridge_topic(b, topic, sizeof(topic), sh_device_id(dev), NULL);
	if (b->retain)
		sh_retained_put(&b->retained, topic, sh_device_id(dev), text, force);
	else
		sh_bridge_publish(b, topic, text, strlen(text), b->qos, false);
	cJSON_free(text);
}

static void publish_availability(struct sh_bridge *b, struct sh_device *dev, bool force)
{
	char topic[SH_BRIDGE_TOPIC_MAX], payload[64];

	snprintf(payload, sizeof(payload), "{\"state\":\"%s\"}", sh_device_availability(dev));
	sh_bridge_topic(b, topic, sizeof(topic), sh_device_id(dev), "availability");
	sh_retained_put(&b->retained, topic, sh_device_id(dev), payload, force);
}

static void put_json(struct sh_bridge *b, const char *topic, const char *owner, const cJSON *json,
		     bool force)
{
	char *text = cJSON_PrintUnformatted(json);

	if (text)
		sh_retained_put(&b->retained, topic, owner, text, force);
	cJSON_free(text);
}

static void publish_scene(struct sh_bridge *b, const char *name, bool force)
{
	char topic[SH_BRIDGE_TOPIC_MAX];
	cJSON *status = sh_scene_status(b->scenes, name);

	if (!status)
		return;
	sh_bridge_topic(b, topic, sizeof(topic), "scene", name);
	put_json(b, topic, NULL, status, force);
	cJSON_Delete(status);
}

static cJSON *device_json(struct sh_device *dev)
{
	const struct sh_device_config *dc = sh_device_config(dev);
	cJSON *d = cJSON_CreateObject();
	cJSON *deps;

	cJSON_AddStringToObject(d, "id", sh_device_id(dev));
	cJSON_AddStringToObject(d, "name", sh_device_name(dev));
	cJSON_AddStringToObject(d, "kind", sh_device_kind(dev));
	cJSON_AddStringToObject(d, "driver", sh_device_driver(dev));
	cJSON_AddStringToObject(d, "availability", sh_device_availability(dev));
	deps = cJSON_AddArrayToObject(d, "depends_on");
	for (size_t i = 0; dc && i < dc->n_depends_on; i++)
		cJSON_AddItemToArray(deps, cJSON_CreateString(dc->depends_on[i]));
	cJSON_AddItemToObject(d, "properties",
			      sh_kind_spec_properties_json(&sh_device_config(dev)->spec));
	return d;
}

/*
 * The device list as JSON text, one device at a time: only one device's
 * small tree exists at once, never a tree of them all. The buffer starts
 * at the last list's size, so it rarely grows. 0 or -ENOMEM (nothing to
 * free then).
 */
static int devices_text(struct sh_bridge *b, struct sh_jbuf *out)
{
	size_t n = sh_hub_device_count(b->hub);

	sh_jbuf_init(out, b->api->devices_len + b->api->devices_len / 16);
	sh_jbuf_add(out, "[", 1);
	for (size_t i = 0; i < n && !sh_jbuf_error(out); i++) {
		cJSON *d = device_json(sh_hub_device_at(b->hub, i));

		if (i)
			sh_jbuf_add(out, ",", 1);
		sh_jbuf_json(out, d);
		cJSON_Delete(d);
	}
	sh_jbuf_add(out, "]", 1);
	if (sh_jbuf_error(out)) {
		sh_jbuf_free(out);
		return -ENOMEM;
	}
	b->api->devices_len = out->len;
	return 0;
}

static cJSON *scenes_json(struct sh_bridge *b)
{
	const struct sh_config *config = sh_hub_config(b->hub);
	cJSON *list = cJSON_CreateArray();

	for (size_t i = 0; config && i < config->n_scenes; i++) {
		const struct sh_scene_config *sc = &config->scenes[i];
		cJSON *s = cJSON_CreateObject();
		cJSON *status = sh_scene_status(b->scenes, sc->name);
		const cJSON *state = cJSON_GetObjectItemCaseSensitive(status, "state");

		cJSON_AddStringToObject(s, "name", sc->name);
		cJSON_AddStringToObject(s, "friendly_name",
					sc->friendly_name ? sc->friendly_name : sc->name);
		cJSON_AddStringToObject(s, "mode", sh_scene_mode_name(sc->mode));
		cJSON_AddStringToObject(s, "state",
					cJSON_IsString(state) ? state->valuestring : "idle");
		cJSON_AddItemToArray(list, s);
		cJSON_Delete(status);
	}
	return list;
}

static void publish_lists(struct sh_bridge *b, bool force)
{
	char topic[SH_BRIDGE_TOPIC_MAX];
	struct sh_jbuf devices;
	cJSON *list;

	b->api->lists_at = ev_now(b->loop);
	ev_timer_stop(b->loop, &b->api->lists);

	sh_bridge_topic(b, topic, sizeof(topic), "bridge", "devices");
	if (devices_text(b, &devices) == 0) {
		sh_retained_put_len(&b->retained, topic, NULL, devices.data, devices.len, force);
		sh_jbuf_free(&devices);
	} else {
		/* Out of memory: what the broker holds stays, and is kept. */
		sh_retained_keep(&b->retained, topic);
	}
	list = scenes_json(b);
	put_json(b, sh_bridge_topic(b, topic, sizeof(topic), "bridge", "scenes"), NULL, list,
		 force);
	cJSON_Delete(list);
}

static struct sh_discovery_opts discovery_opts(const struct sh_bridge *b)
{
	return (struct sh_discovery_opts){
		.prefix = b->ha_prefix, .base_topic = b->base, .version = SMARTHUB_VERSION};
}

/* Puts every entry of a {topic: payload} object. */
static void put_discovery(struct sh_bridge *b, const char *owner, cJSON *all, bool force)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, all) put_json(b, e->string, owner, e, force);
	cJSON_Delete(all);
}

static void discovery_device(struct sh_bridge *b, struct sh_device *dev, bool force)
{
	struct sh_discovery_opts opts = discovery_opts(b);
	const struct sh_device_config *dc = sh_device_config(dev);
	struct sh_discovery_device d = {
		.id = sh_device_id(dev),
		.name = sh_device_name(dev),
		.kind = sh_device_kind(dev),
		.driver = sh_device_driver(dev),
		.state = sh_device_state(dev),
		.unit = dc ? dc->unit : NULL,
		.device_class = dc ? dc->device_class : NULL,
		.state_class = dc ? dc->state_class : NULL,
		.metadata = sh_device_metadata(dev),
		.options = dc ? dc->options : NULL,
		.spec = dc ? &dc->spec : NULL,
	};

	if (b->discovery)
		put_discovery(b, d.id, sh_discovery_device(&opts, &d), force);
}

static void discovery_all(struct sh_bridge *b, bool force)
{
	const struct sh_config *config = sh_hub_config(b->hub);
	struct sh_discovery_opts opts = discovery_opts(b);

	if (!b->discovery)
		return;
	put_discovery(b, NULL, sh_discovery_bridge(&opts), force);
	for (size_t i = 0; i < sh_hub_device_count(b->hub); i++)
		discovery_device(b, sh_hub_device_at(b->hub, i), force);
	for (size_t i = 0; config && i < config->n_scenes; i++)
		put_discovery(b, NULL,
			      sh_discovery_scene(&opts, config->scenes[i].name,
						 config->scenes[i].friendly_name),
			      force);
}

/* Everything retained the bridge owns, in the order a subscriber wants
 * it: availability before state, the lists, scene status, discovery. */
static void publish_everything(struct sh_bridge *b, bool force)
{
	const struct sh_config *config = sh_hub_config(b->hub);

	sh_retained_begin(&b->retained);
	for (size_t i = 0; i < sh_hub_device_count(b->hub); i++) {
		struct sh_device *dev = sh_hub_device_at(b->hub, i);

		publish_availability(b, dev, force);
		publish_state(b, dev, false);
		/* A device's state topic stays its own while it exists, even
		 * before it reported, so the sync does not clear it. */
		if (b->retain) {
			char topic[SH_BRIDGE_TOPIC_MAX];

			sh_retained_keep(&b->retained, sh_bridge_topic(b, topic, sizeof(topic),
								       sh_device_id(dev), NULL));
		}
	}
	publish_lists(b, force);
	for (size_t i = 0; config && i < config->n_scenes; i++)
		publish_scene(b, config->scenes[i].name, force);
	discovery_all(b, force);
	sh_bridge_autos_publish(b, force);
	sh_retained_end(&b->retained);
}

void sh_bridge_api_publish_all(struct sh_bridge *b)
{
	/* A new session: the broker may have lost what it held (no
	 * persistence), so everything goes out again. */
	sh_retained_invalidate(&b->retained);
	publish_everything(b, true);
}

void sh_bridge_api_sync(struct sh_bridge *b)
{
	publish_everything(b, false);
}

/* --- hub events ------------------------------------------------------------- */

void sh_bridge_api_on_event(void *ctx, const struct sh_event *ev)
{
	struct sh_bridge *b = ctx;

	switch (ev->type) {
	case SH_EV_DEVICE_STATE:
		publish_state(b, ev->device, false);
		/* A sensor's first report may name readings its discovery did
		 * not know yet; unchanged payloads are not sent again. */
		if (b->discovery && strcmp(sh_device_kind(ev->device), "sensor") == 0)
			discovery_device(b, ev->device, false);
		break;
	case SH_EV_DEVICE_AVAILABILITY:
		publish_availability(b, ev->device, false);
		schedule_lists(b);
		break;
	case SH_EV_DEVICE_ADDED:
		publish_availability(b, ev->device, false);
		publish_state(b, ev->device, false);
		sh_bridge_schedule_sync(b);
		break;
	case SH_EV_DEVICE_REMOVED:
		/* The device is about to be freed: clear its topics now. */
		sh_retained_clear_owner(&b->retained, sh_device_id(ev->device));
		sh_bridge_schedule_sync(b);
		break;
	case SH_EV_CONFIG_APPLIED:
		sh_bridge_config_applied(b);
		sh_bridge_schedule_sync(b);
		break;
	case SH_EV_SCENE_STATE:
		if (ev->scene)
			publish_scene(b, ev->scene, false);
		break;
	case SH_EV_ERROR:
		sh_bridge_api_error(b, ev->device, ev->topic, ev->reason ? ev->reason : "error");
		break;
	case SH_EV_DEVICE_EVENT:
		/* A momentary event: unretained, so nobody replays a stale press. */
		if (ev->device && ev->data) {
			char topic[SH_BRIDGE_TOPIC_MAX];

			sh_bridge_publish_json(b,
					       sh_bridge_topic(b, topic, sizeof(topic),
							       sh_device_id(ev->device), "event"),
					       ev->data, b->qos, false);
		}
		break;
	case SH_EV_DEVICE_CONNECTING:
	case SH_EV_COMMAND_STARTED:
	case SH_EV_COMMAND_DONE:
		break;
	}
}

/* --- inbound: device commands -------------------------------------------------- */

/* The payload without surrounding white space, as (start, length). */
static const char *trim(const char *s, size_t len, size_t *out_len)
{
	while (len && isspace((unsigned char)s[0])) {
		s++;
		len--;
	}
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	*out_len = len;
	return s;
}

static bool word_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

/* "ON", "OFF", "TOGGLE" (any case, or as a JSON string) as {"state":..}. */
static cJSON *plain_state(const char *s, size_t len)
{
	static const char *const words[] = {"ON", "OFF", "TOGGLE"};

	if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
		s++;
		len -= 2;
	}
	for (size_t i = 0; i < 3; i++)
		if (word_is(s, len, words[i])) {
			cJSON *cmd = cJSON_CreateObject();

			cJSON_AddStringToObject(cmd, "state", words[i]);
			return cmd;
		}
	return NULL;
}

static void device_set(struct sh_bridge *b, struct sh_device *dev, const char *topic,
		       const char *payload, size_t len)
{
	char reason[256] = "";
	size_t n;
	const char *text = trim(payload, len, &n);
	cJSON *cmd = NULL;
	int rc;

	if (sh_kind_switch_like(sh_device_kind(dev)))
		cmd = plain_state(text, n);
	if (!cmd) {
		/* cJSON refuses nesting deeper than CJSON_NESTING_LIMIT, so a
		 * hostile payload fails here instead of exhausting the stack. */
		cmd = cJSON_ParseWithLength(text, n);
		if (!cmd) {
			errorf(b, dev, topic, "payload is not valid JSON%s",
			       sh_kind_switch_like(sh_device_kind(dev)) ? " (nor ON, OFF or TOGGLE)"
									: "");
			return;
		}
		if (!cJSON_IsObject(cmd)) {
			cJSON_Delete(cmd);
			errorf(b, dev, topic, "payload must be a JSON object");
			return;
		}
	}
	/* Commands from MQTT are the last-value-wins kind (a slider, a
	 * dashboard): while the device is busy they merge, so it catches up
	 * with a burst at its last value (DESIGN.md, "Devices and drivers"). */
	rc = sh_device_submit_merge(dev, cmd, on_command_done, b, NULL, reason, sizeof(reason));
	if (rc < 0)
		errorf(b, dev, topic, "%s", reason[0] ? reason : strerror(-rc));
}

static void device_get(struct sh_bridge *b, struct sh_device *dev, const char *topic)
{
	int rc = sh_device_refresh(dev);
	bool known = cJSON_GetArraySize(sh_device_state(dev)) > 0;

	if (rc == -ENOTCONN)
		errorf(b, dev, topic,
		       known ? "device is offline; its last known state is published"
			     : "device is offline and has never reported a state");
	/* What the hub knows now; a refresh that changes it publishes again.
	 * A device that never reported has nothing to say (docs/mqtt.md). */
	if (known)
		publish_state(b, dev, true);
}

/* --- inbound: scenes --------------------------------------------------------- */

static void scene_set(struct sh_bridge *b, const char *name, const char *topic, const char *payload,
		      size_t len)
{
	struct sh_scene_engine *engine = b->scenes;
	char reason[256] = "";
	size_t n;
	const char *text = trim(payload, len, &n);
	int rc;

	if (n >= 2 && text[0] == '"' && text[n - 1] == '"') {
		text++;
		n -= 2;
	}
	if (word_is(text, n, "run")) {
		rc = sh_scene_run(engine, name, NULL, NULL, reason, sizeof(reason));
		if (rc < 0)
			errorf(b, NULL, topic, "%s", reason[0] ? reason : strerror(-rc));
	} else if (word_is(text, n, "cancel")) {
		rc = sh_scene_cancel(engine, name);
		if (rc < 0)
			errorf(b, NULL, topic, "unknown scene %s", name);
	} else {
		errorf(b, NULL, topic, "scene command must be run or cancel");
	}
}

/* --- inbound: requests -------------------------------------------------------- */

void sh_bridge_respond(struct sh_bridge *b, const char *what, const char *error, cJSON *data,
		       const cJSON *transaction)
{
	char topic[SH_BRIDGE_TOPIC_MAX], sub[SH_BRIDGE_TOPIC_MAX];
	cJSON *r = cJSON_CreateObject();

	if (!r) {
		cJSON_Delete(data);
		return;
	}
	cJSON_AddStringToObject(r, "status", error ? "error" : "ok");
	cJSON_AddItemToObject(r, "data", data ? data : cJSON_CreateObject());
	if (error)
		cJSON_AddStringToObject(r, "error", error);
	else
		cJSON_AddNullToObject(r, "error");
	if (transaction)
		cJSON_AddItemToObject(r, "transaction", cJSON_Duplicate(transaction, true));
	snprintf(sub, sizeof(sub), "response/%s", what);
	sh_bridge_publish_json(b, sh_bridge_topic(b, topic, sizeof(topic), "bridge", sub), r, 1,
			       false);
	cJSON_Delete(r);
}

/* sh_bridge_respond() for a success whose data is JSON text already (the device
 * list): the response is written around it, not parsed into a tree. */
static void respond_text(struct sh_bridge *b, const char *what, const struct sh_jbuf *data,
			 const cJSON *transaction)
{
	char topic[SH_BRIDGE_TOPIC_MAX], sub[SH_BRIDGE_TOPIC_MAX];
	struct sh_jbuf r;

	sh_jbuf_init(&r, data->len + 128);
	sh_jbuf_puts(&r, "{\"status\":\"ok\",\"data\":");
	sh_jbuf_add(&r, data->data, data->len);
	sh_jbuf_puts(&r, ",\"error\":null");
	if (transaction) {
		sh_jbuf_puts(&r, ",\"transaction\":");
		sh_jbuf_json(&r, transaction);
	}
	sh_jbuf_puts(&r, "}");
	snprintf(sub, sizeof(sub), "response/%s", what);
	if (!sh_jbuf_error(&r))
		sh_bridge_publish(b, sh_bridge_topic(b, topic, sizeof(topic), "bridge", sub),
				  r.data, r.len, 1, false);
	else
		sh_bridge_respond(b, what, "out of memory", NULL, transaction);
	sh_jbuf_free(&r);
}

static const char *string_member(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static void run_detach(struct sh_bridge *b, struct sh_pending_run *run)
{
	sh_list_remove(&run->link);
	b->api->n_runs--;
}

static void on_scene_done(void *ctx, const char *scene, const cJSON *result)
{
	struct sh_pending_run *run = ctx;
	struct sh_bridge *b = run->bridge;

	if (b) {
		const char *status = string_member(result, "status");
		const char *error = string_member(result, "error");
		bool ok = status && strcmp(status, "ok") == 0;

		run_detach(b, run);
		sh_bridge_respond(b, "scene/run",
				  ok ? NULL
				     : (error    ? error
					: status ? status
						 : "failed"),
				  cJSON_Duplicate(result, true), run->transaction);
	}
	cJSON_Delete(run->transaction);
	free(run);
}

static void request_scene_run(struct sh_bridge *b, const cJSON *req, const cJSON *transaction)
{
	const char *name = string_member(req, "scene");
	struct sh_pending_run *run;
	char reason[256] = "";
	int rc;

	if (!name) {
		sh_bridge_respond(b, "scene/run", "scene (a string) is required", NULL,
				  transaction);
		return;
	}
	if (b->api->n_runs >= SH_BRIDGE_PENDING_RUNS_MAX) {
		sh_bridge_respond(b, "scene/run",
				  "too many scene runs are waiting for their response", NULL,
				  transaction);
		return;
	}
	run = calloc(1, sizeof(*run));
	if (!run) {
		sh_bridge_respond(b, "scene/run", "out of memory", NULL, transaction);
		return;
	}
	run->bridge = b;
	run->transaction = transaction ? cJSON_Duplicate(transaction, true) : NULL;
	sh_list_append(&b->api->runs, &run->link);
	b->api->n_runs++;
	rc = sh_scene_run(b->scenes, name, on_scene_done, run, reason, sizeof(reason));
	if (rc < 0) {
		run_detach(b, run);
		cJSON_Delete(run->transaction);
		free(run);
		sh_bridge_respond(b, "scene/run", reason[0] ? reason : strerror(-rc), NULL,
				  transaction);
	}
	/* Otherwise on_scene_done answers, however long the scene takes. */
}

static cJSON *health_json(struct sh_bridge *b)
{
	cJSON *d = cJSON_CreateObject();

	cJSON_AddTrueToObject(d, "healthy");
	cJSON_AddNumberToObject(d, "uptime_s",
				(double)(long long)(ev_now(b->loop) - b->api->started));
	cJSON_AddNumberToObject(d, "devices_online", (double)sh_hub_devices_online(b->hub));
	cJSON_AddNumberToObject(d, "devices", (double)sh_hub_device_count(b->hub));
	cJSON_AddStringToObject(d, "version", SMARTHUB_VERSION);
	return d;
}

static cJSON *device_get_json(struct sh_device *dev)
{
	cJSON *d = device_json(dev);
	const cJSON *state = sh_device_state(dev);
	const char *last_error = sh_device_last_error(dev);

	cJSON_AddItemToObject(d, "state",
			      state ? cJSON_Duplicate(state, true) : cJSON_CreateObject());
	if (last_error)
		cJSON_AddStringToObject(d, "last_error", last_error);
	else
		cJSON_AddNullToObject(d, "last_error");
	cJSON_AddNumberToObject(d, "queue_length", (double)sh_device_queue_length(dev));
	return d;
}

static void request(struct sh_bridge *b, const char *what, const char *topic, const char *payload,
		    size_t len)
{
	size_t n;
	const char *text = trim(payload, len, &n);
	cJSON *req = n ? cJSON_ParseWithLength(text, n) : cJSON_CreateObject();
	const cJSON *transaction;
	char reason[256] = "";

	if (!cJSON_IsObject(req)) {
		/* No transaction to echo: say it on the event topic too, since
		 * the requester may not be able to match the response. */
		sh_bridge_respond(b, what, "payload must be a JSON object", NULL, NULL);
		errorf(b, NULL, topic, "request payload must be a JSON object");
		cJSON_Delete(req);
		return;
	}
	transaction = cJSON_GetObjectItemCaseSensitive(req, "transaction");

	int kind = strcmp(what, "reload") == 0    ? EXPENSIVE_RELOAD
		   : strcmp(what, "devices") == 0 ? EXPENSIVE_DEVICES
		   : strcmp(what, "scenes") == 0  ? EXPENSIVE_SCENES
						  : -1;
	if (kind >= 0 && !sh_ratelimit_allow(&b->api->expensive[kind], sh_bridge_now_ms(b), NULL)) {
		snprintf(reason, sizeof(reason),
			 "rate limited: at most %u %s requests a minute (mqtt.requests_per_minute)",
			 b->api->expensive[kind].burst, what);
		sh_bridge_respond(b, what, reason, NULL, transaction);
		cJSON_Delete(req);
		return;
	}

	if (strcmp(what, "health_check") == 0) {
		sh_bridge_respond(b, what, NULL, health_json(b), transaction);
	} else if (strcmp(what, "devices") == 0) {
		struct sh_jbuf list;

		if (devices_text(b, &list) == 0) {
			respond_text(b, what, &list, transaction);
			sh_jbuf_free(&list);
		} else {
			sh_bridge_respond(b, what, "out of memory", NULL, transaction);
		}
	} else if (strcmp(what, "scenes") == 0) {
		sh_bridge_respond(b, what, NULL, scenes_json(b), transaction);
	} else if (strcmp(what, "device/get") == 0) {
		const char *id = string_member(req, "id");
		struct sh_device *dev = id ? sh_hub_find_device(b->hub, id) : NULL;

		if (!id)
			sh_bridge_respond(b, what, "id (a string) is required", NULL, transaction);
		else if (!dev)
			sh_bridge_respond(b, what, "unknown device", NULL, transaction);
		else
			sh_bridge_respond(b, what, NULL, device_get_json(dev), transaction);
	} else if (strcmp(what, "scene/run") == 0) {
		request_scene_run(b, req, transaction);
	} else if (strcmp(what, "scene/cancel") == 0) {
		const char *name = string_member(req, "scene");

		if (!name)
			sh_bridge_respond(b, what, "scene (a string) is required", NULL,
					  transaction);
		else if (sh_scene_cancel(b->scenes, name) < 0)
			sh_bridge_respond(b, what, "unknown scene", NULL, transaction);
		else
			sh_bridge_respond(b, what, NULL, NULL, transaction);
	} else if (strcmp(what, "reload") == 0) {
		int rc = b->api->reload ? b->api->reload(b->api->reload_ctx, reason, sizeof(reason))
					: -ENOTSUP;

		if (rc < 0 && !reason[0])
			snprintf(reason, sizeof(reason), "%s",
				 b->api->reload ? strerror(-rc) : "reload is not available");
		sh_bridge_respond(b, what, rc < 0 ? reason : NULL, NULL, transaction);
	} else {
		char q[64 * 4 + 8];
		snprintf(reason, sizeof(reason), "unknown request %s",
			 sh_log_quote(q, sizeof(q), what, 64));
		sh_bridge_respond(b, what, reason, NULL, transaction);
	}
	cJSON_Delete(req);
}

/* --- inbound: routing ---------------------------------------------------------- */

static bool is_birth(const char *payload, size_t len)
{
	size_t n;
	const char *text = trim(payload, len, &n);

	return word_is(text, n, "online");
}

void sh_bridge_api_message(struct sh_bridge *b, const struct sh_inbox_item *item)
{
	const char *topic = item->topic;
	size_t base_len = strlen(b->base);
	const char *rest, *slash;
	char id[SH_BRIDGE_TOPIC_MAX];
	struct sh_device *dev;

	if (b->discovery && b->ha_status_topic && strcmp(topic, b->ha_status_topic) == 0) {
		/* Home Assistant (re)started and forgot its entities. */
		if (item->too_large || !is_birth(item->payload, item->len))
			return;
		if (!sh_ratelimit_allow(&b->api->expensive[EXPENSIVE_HA_BIRTH], sh_bridge_now_ms(b),
					NULL)) {
			sh_log_debug("mqtt: Home Assistant birth ignored: more than %u a minute",
				     b->api->expensive[EXPENSIVE_HA_BIRTH].burst);
			return;
		}
		sh_log_info("mqtt: Home Assistant is online; publishing discovery");
		discovery_all(b, true);
		return;
	}
	if (strncmp(topic, b->base, base_len) != 0 || topic[base_len] != '/')
		return;
	rest = topic + base_len + 1;

	/* A retained command would run again on every reconnect. */
	if (item->retained) {
		errorf(b, NULL, topic, "retained commands are ignored; publish without retain");
		return;
	}
	if (item->too_large) {
		errorf(b, NULL, topic, "payload of %zu bytes exceeds the limit of %zu", item->len,
		       b->max_payload);
		return;
	}
	if (strncmp(rest, "bridge/request/", 15) == 0) {
		request(b, rest + 15, topic, item->payload, item->len);
		return;
	}
	slash = strrchr(rest, '/');
	if (!slash || (size_t)(slash - rest) >= sizeof(id))
		return;
	memcpy(id, rest, (size_t)(slash - rest));
	id[slash - rest] = '\0';
	if (strncmp(id, "scene/", 6) == 0 && strcmp(slash, "/set") == 0 && !strchr(id + 6, '/')) {
		scene_set(b, id + 6, topic, item->payload, item->len);
		return;
	}
	if (strchr(id, '/') || (strcmp(slash, "/set") != 0 && strcmp(slash, "/get") != 0))
		return;
	dev = sh_hub_find_device(b->hub, id);
	if (!dev) {
		char q[64 * 4 + 8];
		errorf(b, NULL, topic, "unknown device %s", sh_log_quote(q, sizeof(q), id, 64));
		return;
	}
	if (strcmp(slash, "/set") == 0)
		device_set(b, dev, topic, item->payload, item->len);
	else
		device_get(b, dev, topic);
}

void sh_bridge_api_free(struct sh_bridge *b)
{
	struct sh_list *first;

	if (!b->api)
		return;
	/* The scene engine may still call on_scene_done; it then only frees. */
	while ((first = sh_list_first(&b->api->runs))) {
		struct sh_pending_run *run = sh_list_entry(first, struct sh_pending_run, link);

		run_detach(b, run);
		run->bridge = NULL;
	}
	ev_timer_stop(b->loop, &b->api->lists);
	free(b->api);
	b->api = NULL;
}
