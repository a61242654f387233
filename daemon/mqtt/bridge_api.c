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
 * it as the `done` context; if the bridge goes first, `api` becomes NULL
 * and the completion only frees it. */
struct sh_pending_run {
	struct sh_bridge_api *api;
	cJSON *transaction;   /* the request's, echoed; may be NULL */
	char *response_topic; /* the request's MQTT 5 reply address; may be NULL */
	void *correlation;
	size_t correlation_len;
	struct sh_list link; /* in api->runs */
};

/* Every kind of request has a rate limit of its own, so a client
 * repeating one cannot starve the loop, and one flooding one kind leaves
 * the others alone. The kinds that cost the loop in proportion to the
 * configuration (a whole reload, the whole device list, all of discovery)
 * follow mqtt.requests_per_minute; the others, cheap each but each
 * answered with a QoS 1 publication on the connection that carries the
 * device states, follow mqtt.requests_per_second. */
enum request_kind {
	REQUEST_RELOAD,
	REQUEST_DEVICES,
	REQUEST_SCENES,
	REQUEST_HA_BIRTH, /* Home Assistant's birth message, not a request topic */
	REQUEST_FIRST_CHEAP,
	REQUEST_HEALTH_CHECK = REQUEST_FIRST_CHEAP,
	REQUEST_DEVICE_GET,
	REQUEST_SCENE_RUN,
	REQUEST_SCENE_CANCEL,
	REQUEST_AUTOMATION_TRACE,
	REQUEST_KINDS,
};

/* The <what> of bridge/request/<what> for each kind. */
static const char *const request_names[REQUEST_KINDS] = {
	[REQUEST_RELOAD] = "reload",
	[REQUEST_DEVICES] = "devices",
	[REQUEST_SCENES] = "scenes",
	[REQUEST_HEALTH_CHECK] = "health_check",
	[REQUEST_DEVICE_GET] = "device/get",
	[REQUEST_SCENE_RUN] = "scene/run",
	[REQUEST_SCENE_CANCEL] = "scene/cancel",
	[REQUEST_AUTOMATION_TRACE] = "automation/trace",
};

/* Answers to refused requests per second, all kinds together. */
#define SH_BRIDGE_REFUSALS_PER_SECOND 10

/* The topic API's own state; the transport holds the pointer. */
struct sh_bridge_api {
	const struct sh_bridge_env *env;             /* the transport's, borrowed */
	struct sh_ratelimit events;                  /* bridge/event, mqtt.events_per_second */
	struct sh_ratelimit requests[REQUEST_KINDS]; /* one per kind */
	/* The answers to refused requests (sh_bridge_refuse): a flood of
	 * refused requests must not become a flood of QoS 1 answers, which
	 * kept the loop inside Paho for seconds (docs/performance.md,
	 * scenario 9). */
	struct sh_ratelimit refusals;
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

static void publish_lists(struct sh_bridge_api *a, bool force);

static void lists_due(struct ev_loop *loop, ev_timer *w, int revents)
{
	publish_lists(w->data, false);
}

/* A device's availability changed: the lists follow, coalesced. */
static void schedule_lists(struct sh_bridge_api *a)
{
	if (ev_is_active(&a->lists))
		return;
	ev_tstamp delay = a->lists_at + SH_BRIDGE_LISTS_INTERVAL - ev_now(a->env->loop);
	ev_timer_set(&a->lists, delay > 0 ? delay : 0, 0);
	ev_timer_start(a->env->loop, &a->lists);
}

int sh_bridge_api_new(const struct sh_bridge_env *env, unsigned events_per_second,
		      struct sh_bridge_api **out)
{
	struct sh_bridge_api *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	a->env = env;
	a->events.interval_ms = 1000;
	a->events.burst = events_per_second;
	for (size_t i = 0; i < REQUEST_KINDS; i++) {
		bool cheap = i >= REQUEST_FIRST_CHEAP;

		a->requests[i].interval_ms = cheap ? 1000 : 60000;
		a->requests[i].burst = cheap ? sh_hub_config(env->hub)->mqtt.requests_per_second
					     : sh_hub_config(env->hub)->mqtt.requests_per_minute;
	}
	a->refusals.interval_ms = 1000;
	a->refusals.burst = SH_BRIDGE_REFUSALS_PER_SECOND;
	a->started = ev_now(env->loop);
	sh_list_init(&a->runs);
	ev_timer_init(&a->lists, lists_due, 0, 0);
	a->lists.data = a;
	*out = a;
	return 0;
}

void sh_bridge_api_set_reload(struct sh_bridge_api *a, sh_reload_fn fn, void *ctx)
{
	a->reload = fn;
	a->reload_ctx = ctx;
}

/* --- events ------------------------------------------------------------ */

void sh_bridge_api_error(struct sh_bridge_api *a, struct sh_device *dev, const char *topic,
			 const char *message)
{
	unsigned suppressed = 0;
	char event_topic[SH_BRIDGE_TOPIC_MAX];
	cJSON *ev;

	/* A flood of bad commands must flood neither the log nor the broker:
	 * both follow mqtt.events_per_second, and the next event that goes out
	 * says how many were left out. */
	if (!sh_ratelimit_allow(&a->events, sh_bridge_now_ms(a->env), &suppressed))
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
		a->env->bridge,
		sh_bridge_topic(a->env->set, event_topic, sizeof(event_topic), "bridge", "event"),
		ev, a->env->set->qos, false);
	cJSON_Delete(ev);
}

static void errorf(struct sh_bridge_api *a, struct sh_device *dev, const char *topic,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void errorf(struct sh_bridge_api *a, struct sh_device *dev, const char *topic,
		   const char *fmt, ...)
{
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	sh_bridge_api_error(a, dev, topic, message);
}

/* --- commands the bridge submitted ------------------------------------------ */

/* The device ended a command from <id>/set (merged ones end together):
 * a failure becomes an event. Completion is asynchronous (a later loop
 * iteration), and sh_hub_stop ends every command before the bridge is
 * freed, so `a` is alive here. */
static void on_command_done(void *ctx, struct sh_device *dev, uint64_t id, int err,
			    const char *reason)
{
	struct sh_bridge_api *a = ctx;
	char topic[SH_BRIDGE_TOPIC_MAX];

	(void)id;
	if (!err || sh_bridge_stopped(a->env->bridge))
		return;
	errorf(a, dev, sh_bridge_topic(a->env->set, topic, sizeof(topic), sh_device_id(dev), "set"),
	       "command failed: %s", reason ? reason : strerror(-err));
}

/* --- retained publications -------------------------------------------------- */

static void publish_state(struct sh_bridge_api *a, struct sh_device *dev, bool force)
{
	const cJSON *state = sh_device_state(dev);
	char topic[SH_BRIDGE_TOPIC_MAX];
	struct sh_jbuf text;

	/* Nothing is known before the device first reports; an empty retained
	 * object would only tell subscribers something false. */
	if (!state || (!force && cJSON_GetArraySize(state) == 0))
		return;
	/* On every command's way: jbuf.c prints numbers faster than cJSON. */
	sh_jbuf_init(&text, 128);
	sh_jbuf_json(&text, state);
	if (sh_jbuf_error(&text) == 0) {
		sh_bridge_topic(a->env->set, topic, sizeof(topic), sh_device_id(dev), NULL);
		if (a->env->set->retain)
			sh_retained_put(a->env->retained, topic, sh_device_id(dev), text.data,
					force);
		else
			sh_bridge_publish(a->env->bridge, topic, text.data, text.len,
					  a->env->set->qos, false);
	}
	sh_jbuf_free(&text);
}

static void publish_availability(struct sh_bridge_api *a, struct sh_device *dev, bool force)
{
	char topic[SH_BRIDGE_TOPIC_MAX], payload[64];

	snprintf(payload, sizeof(payload), "{\"state\":\"%s\"}", sh_device_availability(dev));
	sh_bridge_topic(a->env->set, topic, sizeof(topic), sh_device_id(dev), "availability");
	sh_retained_put(a->env->retained, topic, sh_device_id(dev), payload, force);
}

static void put_json(struct sh_bridge_api *a, const char *topic, const char *owner,
		     const cJSON *json, bool force)
{
	char *text = cJSON_PrintUnformatted(json);

	if (text)
		sh_retained_put(a->env->retained, topic, owner, text, force);
	cJSON_free(text);
}

static void publish_scene(struct sh_bridge_api *a, const char *name, bool force)
{
	char topic[SH_BRIDGE_TOPIC_MAX];
	cJSON *status = sh_scene_status(a->env->scenes, name);

	if (!status)
		return;
	sh_bridge_topic(a->env->set, topic, sizeof(topic), "scene", name);
	put_json(a, topic, NULL, status, force);
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
static int devices_text(struct sh_bridge_api *a, struct sh_jbuf *out)
{
	size_t n = sh_hub_device_count(a->env->hub);

	sh_jbuf_init(out, a->devices_len + a->devices_len / 16);
	sh_jbuf_add(out, "[", 1);
	for (size_t i = 0; i < n && !sh_jbuf_error(out); i++) {
		cJSON *d = device_json(sh_hub_device_at(a->env->hub, i));

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
	a->devices_len = out->len;
	return 0;
}

static cJSON *scenes_json(struct sh_bridge_api *a)
{
	const struct sh_config *config = sh_hub_config(a->env->hub);
	cJSON *list = cJSON_CreateArray();

	for (size_t i = 0; config && i < config->n_scenes; i++) {
		const struct sh_scene_config *sc = &config->scenes[i];
		cJSON *s = cJSON_CreateObject();
		cJSON *status = sh_scene_status(a->env->scenes, sc->name);
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

static void publish_lists(struct sh_bridge_api *a, bool force)
{
	char topic[SH_BRIDGE_TOPIC_MAX];
	struct sh_jbuf devices;
	cJSON *list;

	a->lists_at = ev_now(a->env->loop);
	ev_timer_stop(a->env->loop, &a->lists);

	sh_bridge_topic(a->env->set, topic, sizeof(topic), "bridge", "devices");
	if (devices_text(a, &devices) == 0) {
		sh_retained_put_len(a->env->retained, topic, NULL, devices.data, devices.len,
				    force);
		sh_jbuf_free(&devices);
	} else {
		/* Out of memory: what the broker holds stays, and is kept. */
		sh_retained_keep(a->env->retained, topic);
	}
	list = scenes_json(a);
	put_json(a, sh_bridge_topic(a->env->set, topic, sizeof(topic), "bridge", "scenes"), NULL,
		 list, force);
	cJSON_Delete(list);
}

static struct sh_discovery_opts discovery_opts(const struct sh_bridge_api *a)
{
	return (struct sh_discovery_opts){.prefix = a->env->set->ha_prefix,
					  .base_topic = a->env->set->base,
					  .version = SMARTHUB_VERSION};
}

/* Puts every entry of a {topic: payload} object. */
static void put_discovery(struct sh_bridge_api *a, const char *owner, cJSON *all, bool force)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, all) put_json(a, e->string, owner, e, force);
	cJSON_Delete(all);
}

static void discovery_device(struct sh_bridge_api *a, struct sh_device *dev, bool force)
{
	struct sh_discovery_opts opts = discovery_opts(a);
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
		.spec = dc ? &dc->spec : NULL,
	};

	if (a->env->set->discovery)
		put_discovery(a, d.id, sh_discovery_device(&opts, &d), force);
}

static void discovery_all(struct sh_bridge_api *a, bool force)
{
	const struct sh_config *config = sh_hub_config(a->env->hub);
	struct sh_discovery_opts opts = discovery_opts(a);

	if (!a->env->set->discovery)
		return;
	put_discovery(a, NULL, sh_discovery_bridge(&opts), force);
	for (size_t i = 0; i < sh_hub_device_count(a->env->hub); i++)
		discovery_device(a, sh_hub_device_at(a->env->hub, i), force);
	for (size_t i = 0; config && i < config->n_scenes; i++)
		put_discovery(a, NULL,
			      sh_discovery_scene(&opts, config->scenes[i].name,
						 config->scenes[i].friendly_name),
			      force);
}

/* Everything retained the bridge owns, in the order a subscriber wants
 * it: availability before state, the lists, scene status, discovery. */
static void publish_everything(struct sh_bridge_api *a, bool force)
{
	const struct sh_config *config = sh_hub_config(a->env->hub);

	sh_retained_begin(a->env->retained);
	for (size_t i = 0; i < sh_hub_device_count(a->env->hub); i++) {
		struct sh_device *dev = sh_hub_device_at(a->env->hub, i);

		publish_availability(a, dev, force);
		publish_state(a, dev, false);
		/* A device's state topic stays its own while it exists, even
		 * before it reported, so the sync does not clear it. */
		if (a->env->set->retain) {
			char topic[SH_BRIDGE_TOPIC_MAX];

			sh_retained_keep(a->env->retained,
					 sh_bridge_topic(a->env->set, topic, sizeof(topic),
							 sh_device_id(dev), NULL));
		}
	}
	publish_lists(a, force);
	for (size_t i = 0; config && i < config->n_scenes; i++)
		publish_scene(a, config->scenes[i].name, force);
	discovery_all(a, force);
	sh_bridge_autos_publish(a->env->autos, force);
	sh_retained_end(a->env->retained);
}

void sh_bridge_api_publish_all(struct sh_bridge_api *a)
{
	/* A new session: the broker may have lost what it held (no
	 * persistence), so everything goes out again. */
	sh_retained_invalidate(a->env->retained);
	publish_everything(a, true);
}

void sh_bridge_api_sync(struct sh_bridge_api *a)
{
	publish_everything(a, false);
}

/* --- hub events ------------------------------------------------------------- */

void sh_bridge_api_on_event(void *ctx, const struct sh_event *ev)
{
	struct sh_bridge_api *a = ctx;

	switch (ev->type) {
	case SH_EV_DEVICE_STATE:
		publish_state(a, ev->device, false);
		/* A sensor's first report may name readings its discovery did
		 * not know yet; unchanged payloads are not sent again. */
		if (a->env->set->discovery && strcmp(sh_device_kind(ev->device), "sensor") == 0)
			discovery_device(a, ev->device, false);
		break;
	case SH_EV_DEVICE_AVAILABILITY:
		publish_availability(a, ev->device, false);
		schedule_lists(a);
		break;
	case SH_EV_DEVICE_ADDED:
		publish_availability(a, ev->device, false);
		publish_state(a, ev->device, false);
		sh_bridge_schedule_sync(a->env->bridge);
		break;
	case SH_EV_DEVICE_REMOVED:
		/* The device is about to be freed: clear its topics now. */
		sh_retained_clear_owner(a->env->retained, sh_device_id(ev->device));
		sh_bridge_schedule_sync(a->env->bridge);
		break;
	case SH_EV_CONFIG_APPLIED:
		sh_bridge_config_applied(a->env->bridge);
		sh_bridge_schedule_sync(a->env->bridge);
		break;
	case SH_EV_SCENE_STATE:
		if (ev->scene)
			publish_scene(a, ev->scene, false);
		break;
	case SH_EV_ERROR:
		sh_bridge_api_error(a, ev->device, ev->topic, ev->reason ? ev->reason : "error");
		break;
	case SH_EV_DEVICE_EVENT:
		/* A momentary event: unretained, so nobody replays a stale press. */
		if (ev->device && ev->data) {
			char topic[SH_BRIDGE_TOPIC_MAX];

			sh_bridge_publish_json(a->env->bridge,
					       sh_bridge_topic(a->env->set, topic, sizeof(topic),
							       sh_device_id(ev->device), "event"),
					       ev->data, a->env->set->qos, false);
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

static void device_set(struct sh_bridge_api *a, struct sh_device *dev, const char *topic,
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
			errorf(a, dev, topic, "payload is not valid JSON%s",
			       sh_kind_switch_like(sh_device_kind(dev)) ? " (nor ON, OFF or TOGGLE)"
									: "");
			return;
		}
		if (!cJSON_IsObject(cmd)) {
			cJSON_Delete(cmd);
			errorf(a, dev, topic, "payload must be a JSON object");
			return;
		}
	}
	/* Commands from MQTT are the last-value-wins kind (a slider, a
	 * dashboard): while the device is busy they merge, so it catches up
	 * with a burst at its last value (DESIGN.md, "Devices and drivers"). */
	rc = sh_device_submit_merge(dev, cmd, on_command_done, a, NULL, reason, sizeof(reason));
	if (rc < 0)
		errorf(a, dev, topic, "%s", reason[0] ? reason : strerror(-rc));
}

static void device_get(struct sh_bridge_api *a, struct sh_device *dev, const char *topic)
{
	int rc = sh_device_refresh(dev);
	bool known = cJSON_GetArraySize(sh_device_state(dev)) > 0;

	if (rc == -ENOTCONN)
		errorf(a, dev, topic,
		       known ? "device is offline; its last known state is published"
			     : "device is offline and has never reported a state");
	/* What the hub knows now; a refresh that changes it publishes again.
	 * A device that never reported has nothing to say (docs/mqtt.md). */
	if (known)
		publish_state(a, dev, true);
}

/* --- inbound: scenes --------------------------------------------------------- */

static void scene_set(struct sh_bridge_api *a, const char *name, const char *topic,
		      const char *payload, size_t len)
{
	struct sh_scene_engine *engine = a->env->scenes;
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
			errorf(a, NULL, topic, "%s", reason[0] ? reason : strerror(-rc));
	} else if (word_is(text, n, "cancel")) {
		rc = sh_scene_cancel(engine, name);
		if (rc < 0)
			errorf(a, NULL, topic, "unknown scene %s", name);
	} else {
		errorf(a, NULL, topic, "scene command must be run or cancel");
	}
}

/* --- inbound: requests -------------------------------------------------------- */

/* Whether the hub answers on a requester's Response Topic: only below
 * <base>/bridge/response/, so that a request cannot make the hub publish
 * where its requester may not (a device's command topic, discovery), and
 * with no wildcard, which the broker takes as a protocol error in a
 * PUBLISH and answers by disconnecting the hub. */
static bool response_topic_allowed(const struct sh_bridge_api *a, const char *topic)
{
	char prefix[SH_BRIDGE_TOPIC_MAX];
	size_t n;

	sh_bridge_topic(a->env->set, prefix, sizeof(prefix), "bridge", "response/");
	n = strlen(prefix);
	return strlen(topic) < SH_BRIDGE_TOPIC_MAX && strncmp(topic, prefix, n) == 0 && topic[n] &&
	       !strpbrk(topic, "+#");
}

/* The one way out for a response (`text`, len bytes): on the request's
 * Response Topic with its Correlation Data when it gave an allowed one,
 * else on <base>/bridge/response/<what>. */
static void deliver(struct sh_bridge_api *a, const char *what, const char *text, size_t len,
		    const struct sh_bridge_reply *to)
{
	char topic[SH_BRIDGE_TOPIC_MAX], sub[SH_BRIDGE_TOPIC_MAX];

	snprintf(sub, sizeof(sub), "response/%s", what);
	sh_bridge_topic(a->env->set, topic, sizeof(topic), "bridge", sub);
	if (to && to->response_topic) {
		char q[64 * 4 + 8];

		if (response_topic_allowed(a, to->response_topic)) {
			sh_bridge_publish_reply(a->env->bridge, to->response_topic, text, len,
						to->correlation, to->correlation_len);
			return;
		}
		errorf(a, NULL, topic,
		       "response topic %s refused: it must be below %s/bridge/response/ and have "
		       "no wildcard",
		       sh_log_quote(q, sizeof(q), to->response_topic, 64), a->env->set->base);
	}
	sh_bridge_publish(a->env->bridge, topic, text, len, 1, false);
}

void sh_bridge_respond(struct sh_bridge_api *a, const char *what, const char *error, cJSON *data,
		       const struct sh_bridge_reply *to)
{
	const cJSON *transaction = to ? to->transaction : NULL;
	cJSON *r = cJSON_CreateObject();
	char *text;

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
	text = cJSON_PrintUnformatted(r);
	if (text)
		deliver(a, what, text, strlen(text), to);
	cJSON_free(text);
	cJSON_Delete(r);
}

/* sh_bridge_respond() for a success whose data is JSON text already (the device
 * list): the response is written around it, not parsed into a tree. */
static void respond_text(struct sh_bridge_api *a, const char *what, const struct sh_jbuf *data,
			 const struct sh_bridge_reply *to)
{
	const cJSON *transaction = to->transaction;
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
	if (!sh_jbuf_error(&r))
		deliver(a, what, r.data, r.len, to);
	else
		sh_bridge_respond(a, what, "out of memory", NULL, to);
	sh_jbuf_free(&r);
}

static const char *string_member(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static void run_detach(struct sh_bridge_api *a, struct sh_pending_run *run)
{
	sh_list_remove(&run->link);
	a->n_runs--;
}

static void run_free(struct sh_pending_run *run)
{
	cJSON_Delete(run->transaction);
	free(run->response_topic);
	free(run->correlation);
	free(run);
}

/* The run's own copy of where its response goes; false when out of memory. */
static bool run_keep(struct sh_pending_run *run, const struct sh_bridge_reply *to)
{
	if (to->transaction && !(run->transaction = cJSON_Duplicate(to->transaction, true)))
		return false;
	if (to->response_topic && !(run->response_topic = strdup(to->response_topic)))
		return false;
	if (to->correlation) {
		run->correlation = malloc(to->correlation_len ? to->correlation_len : 1);
		if (!run->correlation)
			return false;
		memcpy(run->correlation, to->correlation, to->correlation_len);
		run->correlation_len = to->correlation_len;
	}
	return true;
}

static void on_scene_done(void *ctx, const char *scene, const cJSON *result)
{
	struct sh_pending_run *run = ctx;
	struct sh_bridge_api *a = run->api;

	if (a) {
		const char *status = string_member(result, "status");
		const char *error = string_member(result, "error");
		bool ok = status && strcmp(status, "ok") == 0;

		const struct sh_bridge_reply to = {
			.transaction = run->transaction,
			.response_topic = run->response_topic,
			.correlation = run->correlation,
			.correlation_len = run->correlation_len,
		};

		run_detach(a, run);
		sh_bridge_respond(a, "scene/run",
				  ok ? NULL
				     : (error    ? error
					: status ? status
						 : "failed"),
				  cJSON_Duplicate(result, true), &to);
	}
	run_free(run);
}

/* A flood of garbage must not become a flood of QoS 1 answers. */
void sh_bridge_refuse(struct sh_bridge_api *a, const char *what, const char *reason,
		      const struct sh_bridge_reply *to)
{
	unsigned unanswered = 0;
	char text[384];

	if (!sh_ratelimit_allow(&a->refusals, sh_bridge_now_ms(a->env), &unanswered))
		return;
	if (unanswered) {
		snprintf(text, sizeof(text), "%s; %u more refused without an answer", reason,
			 unanswered);
		reason = text;
	}
	sh_bridge_respond(a, what, reason, NULL, to);
}

bool sh_bridge_request_allowed(struct sh_bridge_api *a, const char *what,
			       const struct sh_bridge_reply *to)
{
	char reason[256];
	size_t k = 0;

	while (k < REQUEST_KINDS && !(request_names[k] && strcmp(what, request_names[k]) == 0))
		k++;
	if (k == REQUEST_KINDS ||
	    sh_ratelimit_allow(&a->requests[k], sh_bridge_now_ms(a->env), NULL))
		return true;
	bool cheap = k >= REQUEST_FIRST_CHEAP;
	snprintf(reason, sizeof(reason), "rate limited: at most %u %s requests a %s (%s)",
		 a->requests[k].burst, what, cheap ? "second" : "minute",
		 cheap ? "mqtt.requests_per_second" : "mqtt.requests_per_minute");
	sh_bridge_refuse(a, what, reason, to);
	return false;
}

static void request_scene_run(struct sh_bridge_api *a, const cJSON *req,
			      const struct sh_bridge_reply *to)
{
	const char *name = string_member(req, "scene");
	struct sh_pending_run *run;
	char reason[256] = "";
	int rc;

	if (!name) {
		sh_bridge_refuse(a, "scene/run", "scene (a string) is required", to);
		return;
	}
	if (a->n_runs >= SH_BRIDGE_PENDING_RUNS_MAX) {
		sh_bridge_respond(a, "scene/run",
				  "too many scene runs are waiting for their response", NULL, to);
		return;
	}
	run = calloc(1, sizeof(*run));
	if (!run || !run_keep(run, to)) {
		if (run)
			run_free(run);
		sh_bridge_respond(a, "scene/run", "out of memory", NULL, to);
		return;
	}
	run->api = a;
	sh_list_append(&a->runs, &run->link);
	a->n_runs++;
	rc = sh_scene_run(a->env->scenes, name, on_scene_done, run, reason, sizeof(reason));
	if (rc < 0) {
		run_detach(a, run);
		run_free(run);
		sh_bridge_respond(a, "scene/run", reason[0] ? reason : strerror(-rc), NULL, to);
	}
	/* Otherwise on_scene_done answers, however long the scene takes. */
}

static cJSON *health_json(struct sh_bridge_api *a)
{
	cJSON *d = cJSON_CreateObject();

	cJSON_AddTrueToObject(d, "healthy");
	cJSON_AddNumberToObject(d, "uptime_s",
				(double)(long long)(ev_now(a->env->loop) - a->started));
	cJSON_AddNumberToObject(d, "devices_online", (double)sh_hub_devices_online(a->env->hub));
	cJSON_AddNumberToObject(d, "devices", (double)sh_hub_device_count(a->env->hub));
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

static void request(struct sh_bridge_api *a, const char *what, const struct sh_inbox_item *item)
{
	const char *topic = item->topic;
	size_t n;
	const char *text = trim(item->payload, item->len, &n);
	cJSON *req = n ? cJSON_ParseWithLength(text, n) : cJSON_CreateObject();
	struct sh_bridge_reply to = sh_bridge_reply_of(item, NULL);
	char reason[256] = "";

	if (!cJSON_IsObject(req)) {
		/* No transaction to echo: say it on the event topic too, since
		 * the requester may not be able to match the response. */
		sh_bridge_refuse(a, what, "payload must be a JSON object", &to);
		errorf(a, NULL, topic, "request payload must be a JSON object");
		cJSON_Delete(req);
		return;
	}
	to.transaction = cJSON_GetObjectItemCaseSensitive(req, "transaction");

	if (!sh_bridge_request_allowed(a, what, &to)) {
		cJSON_Delete(req);
		return;
	}

	if (strcmp(what, "health_check") == 0) {
		sh_bridge_respond(a, what, NULL, health_json(a), &to);
	} else if (strcmp(what, "devices") == 0) {
		struct sh_jbuf list;

		if (devices_text(a, &list) == 0) {
			respond_text(a, what, &list, &to);
			sh_jbuf_free(&list);
		} else {
			sh_bridge_respond(a, what, "out of memory", NULL, &to);
		}
	} else if (strcmp(what, "scenes") == 0) {
		sh_bridge_respond(a, what, NULL, scenes_json(a), &to);
	} else if (strcmp(what, "device/get") == 0) {
		const char *id = string_member(req, "id");
		struct sh_device *dev = id ? sh_hub_find_device(a->env->hub, id) : NULL;

		if (!id)
			sh_bridge_refuse(a, what, "id (a string) is required", &to);
		else if (!dev)
			sh_bridge_respond(a, what, "unknown device", NULL, &to);
		else
			sh_bridge_respond(a, what, NULL, device_get_json(dev), &to);
	} else if (strcmp(what, "scene/run") == 0) {
		request_scene_run(a, req, &to);
	} else if (strcmp(what, "scene/cancel") == 0) {
		const char *name = string_member(req, "scene");

		if (!name)
			sh_bridge_refuse(a, what, "scene (a string) is required", &to);
		else if (sh_scene_cancel(a->env->scenes, name) < 0)
			sh_bridge_respond(a, what, "unknown scene", NULL, &to);
		else
			sh_bridge_respond(a, what, NULL, NULL, &to);
	} else if (strcmp(what, "reload") == 0) {
		int rc = a->reload ? a->reload(a->reload_ctx, reason, sizeof(reason)) : -ENOTSUP;

		if (rc < 0 && !reason[0])
			snprintf(reason, sizeof(reason), "%s",
				 a->reload ? strerror(-rc) : "reload is not available");
		sh_bridge_respond(a, what, rc < 0 ? reason : NULL, NULL, &to);
	} else {
		char q[64 * 4 + 8];
		snprintf(reason, sizeof(reason), "unknown request %s",
			 sh_log_quote(q, sizeof(q), what, 64));
		sh_bridge_refuse(a, what, reason, &to);
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

void sh_bridge_api_message(struct sh_bridge_api *a, const struct sh_inbox_item *item)
{
	const char *topic = item->topic;
	size_t base_len = strlen(a->env->set->base);
	const char *rest, *slash;
	char id[SH_BRIDGE_TOPIC_MAX];
	struct sh_device *dev;

	if (a->env->set->discovery && a->env->set->ha_status_topic &&
	    strcmp(topic, a->env->set->ha_status_topic) == 0) {
		/* Home Assistant (re)started and forgot its entities. */
		if (item->too_large || !is_birth(item->payload, item->len))
			return;
		if (!sh_ratelimit_allow(&a->requests[REQUEST_HA_BIRTH], sh_bridge_now_ms(a->env),
					NULL)) {
			sh_log_debug("mqtt: Home Assistant birth ignored: more than %u a minute",
				     a->requests[REQUEST_HA_BIRTH].burst);
			return;
		}
		sh_log_info("mqtt: Home Assistant is online; publishing discovery");
		discovery_all(a, true);
		return;
	}
	if (strncmp(topic, a->env->set->base, base_len) != 0 || topic[base_len] != '/')
		return;
	rest = topic + base_len + 1;

	/* A retained command would run again on every reconnect. */
	if (item->retained) {
		errorf(a, NULL, topic, "retained commands are ignored; publish without retain");
		return;
	}
	if (item->too_large) {
		errorf(a, NULL, topic, "payload of %zu bytes exceeds the limit of %zu", item->len,
		       a->env->set->max_payload);
		return;
	}
	if (strncmp(rest, "bridge/request/", 15) == 0) {
		request(a, rest + 15, item);
		return;
	}
	slash = strrchr(rest, '/');
	if (!slash || (size_t)(slash - rest) >= sizeof(id))
		return;
	memcpy(id, rest, (size_t)(slash - rest));
	id[slash - rest] = '\0';
	if (strncmp(id, "scene/", 6) == 0 && strcmp(slash, "/set") == 0 && !strchr(id + 6, '/')) {
		scene_set(a, id + 6, topic, item->payload, item->len);
		return;
	}
	if (strchr(id, '/') || (strcmp(slash, "/set") != 0 && strcmp(slash, "/get") != 0))
		return;
	dev = sh_hub_find_device(a->env->hub, id);
	if (!dev) {
		char q[64 * 4 + 8];
		errorf(a, NULL, topic, "unknown device %s", sh_log_quote(q, sizeof(q), id, 64));
		return;
	}
	if (strcmp(slash, "/set") == 0)
		device_set(a, dev, topic, item->payload, item->len);
	else
		device_get(a, dev, topic);
}

void sh_bridge_api_free(struct sh_bridge_api *a)
{
	struct sh_list *first;

	if (!a)
		return;
	/* The scene engine may still call on_scene_done; it then only frees. */
	while ((first = sh_list_first(&a->runs))) {
		struct sh_pending_run *run = sh_list_entry(first, struct sh_pending_run, link);

		run_detach(a, run);
		run->api = NULL;
	}
	ev_timer_stop(a->env->loop, &a->lists);
	free(a);
}
