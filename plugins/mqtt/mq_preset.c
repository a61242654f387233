// SPDX-License-Identifier: MIT
/*
 * The presets of the mqtt driver (see mq_preset.h), written from each
 * family's public topic documentation:
 *
 *   Zigbee2MQTT  "MQTT Topics and Messages": state <base>/<name> (JSON),
 *                commands <base>/<name>/set, reads <base>/<name>/get,
 *                availability <base>/<name>/availability and the bridge's
 *                <base>/bridge/state, both {"state":"online"} or (legacy)
 *                plain online/offline. Brightness is 0-254.
 *   Tasmota      "Commands" and "MQTT": FullTopic %prefix%/%topic%/ with the
 *                prefixes cmnd, stat and tele; cmnd/<t>/POWER ON|OFF|TOGGLE,
 *                an empty payload queries; answers on stat/<t>/RESULT
 *                ({"POWER":"ON"}) and stat/<t>/POWER, telemetry on
 *                tele/<t>/STATE, LWT tele/<t>/LWT Online/Offline. Dimmer is
 *                0-100.
 *   Shelly Gen2  "MQTT" and "RPC": requests on <prefix>/rpc as
 *                {"id","src","method","params"}, answers on <src>/rpc,
 *                NotifyStatus on <prefix>/events/rpc, <prefix>/online
 *                true/false. Light brightness is 0-100.
 *   ESPHome      "MQTT Client Component": <prefix>/<component>/<object_id>/
 *                state and .../command (the light in its JSON schema, 0-255),
 *                birth and will on <prefix>/status online/offline; states
 *                are retained.
 *   smarthub     the topics of docs/DESIGN: <base>/<id> (JSON, retained),
 *                <base>/<id>/set, <base>/<id>/availability and
 *                <base>/bridge/state.
 */
#include "mq_preset.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *const mq_preset_names[] = {
	[MQ_PRESET_NONE] = "",
	[MQ_PRESET_Z2M] = "zigbee2mqtt",
	[MQ_PRESET_TASMOTA] = "tasmota",
	[MQ_PRESET_SHELLY] = "shelly_gen2",
	[MQ_PRESET_ESPHOME] = "esphome",
	[MQ_PRESET_SMARTHUB] = "smarthub",
	NULL,
};

enum row_flags {
	ROW_NO_READ = 1,    /* commanded, never reported */
	ROW_NO_CONFIRM = 2, /* reported in another form */
	ROW_EVENT = 4,      /* a momentary event (a button press), not state */
};

/* One property of one kind in one family. */
struct row {
	const char *kind, *prop;
	const char *key;         /* the device's name for it in its state */
	const char *set_key;     /* its name in commands when that differs; NULL: key */
	const char *map;         /* "ON=ON,OFF=OFF": smarthub=device pairs; NULL: as is */
	double dev_min, dev_max; /* scaled to smarthub's range when max > min */
	enum mq_value type;
	unsigned flags;
};

static const struct row z2m_rows[] = {
	{"light", "state", "state", NULL, NULL, 0, 0, MQ_ANY, 0},
	{"light", "brightness", "brightness", NULL, NULL, 0, 254, MQ_INT, 0},
	{"light", "color_temp", "color_temp", NULL, NULL, 0, 0, MQ_INT, 0},
	/* Set as {"r","g","b"}, reported as {"x","y"}: not compared. */
	{"light", "color", "color", NULL, NULL, 0, 0, MQ_COLOR, ROW_NO_CONFIRM},
	{"light", "transition", "transition", NULL, NULL, 0, 0, MQ_ANY, ROW_NO_READ},
	{"switch", "state", "state", NULL, NULL, 0, 0, MQ_ANY, 0},
	{"cover", "state", "state", NULL, NULL, 0, 0, MQ_ANY, ROW_NO_CONFIRM},
	{"cover", "position", "position", NULL, NULL, 0, 0, MQ_INT, 0},
	{"lock", "state", "state", NULL, NULL, 0, 0, MQ_ANY, 0},
	{"fan", "state", "state", NULL, NULL, 0, 0, MQ_ANY, 0},
	{"climate", "mode", "system_mode", NULL, NULL, 0, 0, MQ_ANY, 0},
	{"climate", "target_temperature", "current_heating_setpoint", NULL, NULL, 0, 0, MQ_ANY, 0},
	/* A remote's press: {"action":"single"} (then "" as the action clears). */
	{"button", "event", "action", NULL, NULL, 0, 0, MQ_ANY, ROW_EVENT},
	{NULL, NULL, NULL, NULL, NULL, 0, 0, MQ_ANY, 0},
};

/* Keys are Tasmota's command names; POWER gets the relay number. */
static const struct row tasmota_rows[] = {
	{"switch", "state", "POWER", NULL, NULL, 0, 0, MQ_ANY, 0},
	{"light", "state", "POWER", NULL, NULL, 0, 0, MQ_ANY, 0},
	{"light", "brightness", "Dimmer", NULL, NULL, 0, 100, MQ_INT, 0},
	{"light", "color_temp", "CT", NULL, NULL, 0, 0, MQ_INT, 0},
	{NULL, NULL, NULL, NULL, NULL, 0, 0, MQ_ANY, 0},
};

/* Keys are members of the component's status ("switch:0"). */
static const struct row shelly_rows[] = {
	{"switch", "state", "output", "on", "ON=true,OFF=false", 0, 0, MQ_ANY, 0},
	{"light", "state", "output", "on", "ON=true,OFF=false", 0, 0, MQ_ANY, 0},
	{"light", "brightness", "brightness", NULL, NULL, 0, 100, MQ_INT, 0},
	{NULL, NULL, NULL, NULL, NULL, 0, 0, MQ_ANY, 0},
};

/* The switch component is plain text (key ""), the light JSON. */
static const struct row esphome_rows[] = {
	{"switch", "state", "", NULL, NULL, 0, 0, MQ_ANY, 0},
	{"light", "state", "state", NULL, NULL, 0, 0, MQ_ANY, 0},
	{"light", "brightness", "brightness", NULL, NULL, 0, 0, MQ_INT, 0},
	{"light", "color_temp", "color_temp", NULL, NULL, 0, 0, MQ_INT, 0},
	{"light", "color", "color", NULL, NULL, 0, 0, MQ_COLOR, 0},
	{"light", "transition", "transition", NULL, NULL, 0, 0, MQ_ANY, ROW_NO_READ},
	{NULL, NULL, NULL, NULL, NULL, 0, 0, MQ_ANY, 0},
};

/* --- kinds ------------------------------------------------------------------ */

static const struct {
	const char *prop;
	double min, max;
} hub_ranges[] = {
	{"brightness", 0, 255},  {"color_temp", 153, 500}, {"volume", 0, 100},
	{"position", 0, 100},    {"tilt", 0, 100},         {"percentage", 0, 100},
	{"transition", 0, 6553},
};

bool mq_hub_range(const char *prop, double *min, double *max)
{
	for (size_t i = 0; i < sizeof(hub_ranges) / sizeof(hub_ranges[0]); i++)
		if (strcmp(hub_ranges[i].prop, prop) == 0) {
			*min = hub_ranges[i].min;
			*max = hub_ranges[i].max;
			return true;
		}
	return false;
}

static const char *const light_props[] = {"state", "brightness", "color_temp",
					  "color", "transition", NULL};
static const char *const switch_props[] = {"state", NULL};
static const char *const speaker_props[] = {"state", "volume",   "play", "pause", "stop",
					    "next",  "previous", "mute", NULL};
static const char *const cover_props[] = {"state", "position", "tilt", NULL};
static const char *const lock_props[] = {"state", NULL};
static const char *const climate_props[] = {"mode", "target_temperature", NULL};
static const char *const fan_props[] = {"state", "percentage", "preset", NULL};
static const char *const no_props[] = {NULL};

static const struct {
	const char *kind;
	const char *const *props;
} kind_props[] = {
	{"light", light_props}, {"switch", switch_props}, {"speaker", speaker_props},
	{"cover", cover_props}, {"lock", lock_props},     {"climate", climate_props},
	{"fan", fan_props},
};

const char *const *mq_kind_props(const char *kind)
{
	for (size_t i = 0; i < sizeof(kind_props) / sizeof(kind_props[0]); i++)
		if (strcmp(kind_props[i].kind, kind) == 0)
			return kind_props[i].props;
	return no_props;
}

bool mq_kind_prop(const char *kind, const char *prop)
{
	const char *const *props = mq_kind_props(kind);

	/* Sensors, buttons and custom devices name their own. */
	if (props == no_props)
		return true;
	for (size_t i = 0; props[i]; i++)
		if (strcmp(props[i], prop) == 0)
			return true;
	return false;
}

/* --- building ------------------------------------------------------------------ */

enum mq_preset mq_preset_find(const char *name)
{
	for (int p = MQ_PRESET_Z2M; mq_preset_names[p]; p++)
		if (strcmp(mq_preset_names[p], name) == 0)
			return (enum mq_preset)p;
	return MQ_PRESET_NONE;
}

void mq_layout_clear(struct mq_layout *l)
{
	for (size_t i = 0; i < l->n_readers; i++)
		mq_codec_clear(&l->readers[i].codec);
	for (size_t i = 0; i < l->n_writers; i++)
		mq_codec_clear(&l->writers[i].codec);
	memset(l, 0, sizeof(*l));
}

static bool fits(const char *topic)
{
	return strlen(topic) < MQ_TOPIC_MAX;
}

struct mq_reader *mq_layout_reader(struct mq_layout *l, const char *topic, enum mq_format f)
{
	struct mq_reader *r;

	if (l->n_readers >= MQ_READERS_MAX || !fits(topic))
		return NULL;
	r = &l->readers[l->n_readers++];
	memset(r, 0, sizeof(*r));
	snprintf(r->topic, sizeof(r->topic), "%s", topic);
	r->codec.format = f;
	return r;
}

struct mq_writer *mq_layout_writer(struct mq_layout *l, const char *topic, enum mq_format f)
{
	struct mq_writer *w;

	if (l->n_writers >= MQ_WRITERS_MAX || !fits(topic))
		return NULL;
	w = &l->writers[l->n_writers++];
	memset(w, 0, sizeof(*w));
	snprintf(w->topic, sizeof(w->topic), "%s", topic);
	w->codec.format = f;
	return w;
}

struct mq_avail *mq_layout_avail(struct mq_layout *l, const char *topic, const char *online,
				 const char *offline)
{
	struct mq_avail *a;

	if (l->n_avail >= MQ_AVAIL_MAX || !fits(topic))
		return NULL;
	a = &l->avail[l->n_avail++];
	snprintf(a->topic, sizeof(a->topic), "%s", topic);
	snprintf(a->online, sizeof(a->online), "%s", online);
	snprintf(a->offline, sizeof(a->offline), "%s", offline);
	return a;
}

static struct mq_query *query(struct mq_layout *l, const char *topic, const char *payload,
			      const char *rpc_method)
{
	struct mq_query *q;

	if (l->n_queries >= MQ_QUERIES_MAX || !fits(topic))
		return NULL;
	q = &l->queries[l->n_queries++];
	snprintf(q->topic, sizeof(q->topic), "%s", topic);
	snprintf(q->payload, sizeof(q->payload), "%s", payload);
	snprintf(q->rpc_method, sizeof(q->rpc_method), "%s", rpc_method ? rpc_method : "");
	return q;
}

/* Adds the row's property to a codec, its path being prefix + key. */
static int add_row(struct mq_codec *c, const struct row *r, const char *prefix, bool for_write)
{
	char path[MQ_PATH_MAX];
	const char *key = for_write && r->set_key ? r->set_key : r->key;
	struct mq_prop *p;

	snprintf(path, sizeof(path), "%s%s", prefix, key);
	p = mq_codec_add(c, r->prop, path);
	if (!p)
		return -ENOSPC;
	p->type = r->type;
	p->no_read = r->flags & ROW_NO_READ;
	p->no_confirm = r->flags & ROW_NO_CONFIRM;
	p->event = r->flags & ROW_EVENT;
	if (r->dev_max > r->dev_min && mq_hub_range(r->prop, &p->hub_min, &p->hub_max)) {
		p->scaled = true;
		p->dev_min = r->dev_min;
		p->dev_max = r->dev_max;
	}
	for (const char *m = r->map; m && *m;) {
		char hub[MQ_NAME_MAX], dev[MQ_NAME_MAX];
		const char *comma = strchr(m, ',');
		int n = comma ? (int)(comma - m) : (int)strlen(m);

		if (sscanf(m, "%31[^=]=%31[^,]", hub, dev) != 2)
			return -EINVAL;
		/* The device side of a preset's map is JSON (true, "ON"). */
		cJSON *v = cJSON_Parse(dev);
		if (mq_prop_map(p, hub, v ? v : cJSON_CreateString(dev)) < 0)
			return -ENOSPC;
		m += n + (comma ? 1 : 0);
	}
	return 0;
}

/* Every row of `kind` into `c`; the number added or -errno. */
static int add_rows(struct mq_codec *c, const struct row *rows, const char *kind,
		    const char *prefix, bool for_write)
{
	int n = 0;

	for (const struct row *r = rows; r->kind; r++) {
		if (strcmp(r->kind, kind) != 0)
			continue;
		int rc = add_row(c, r, prefix, for_write);
		if (rc < 0)
			return rc;
		n++;
	}
	return n;
}

#define FAIL(who, ...)                                                                             \
	do {                                                                                       \
		snprintf(err, len, __VA_ARGS__);                                                   \
		*culprit = who;                                                                    \
		return -EINVAL;                                                                    \
	} while (0)

static int zigbee2mqtt(const struct mq_settings *s, struct mq_layout *l, char *err, size_t len,
		       const char **culprit)
{
	char t[MQ_TOPIC_MAX * 2];
	const char *base = s->base ? s->base : "zigbee2mqtt";
	struct mq_reader *r;
	struct mq_writer *w;

	snprintf(t, sizeof(t), "%s/%s", base, s->topic);
	if (!(r = mq_layout_reader(l, t, MQ_JSON)))
		FAIL("topic", "topic is too long");
	/* A sensor's every reading; a button's battery and link quality. */
	if (add_rows(&r->codec, z2m_rows, s->kind, "", false) <= 0 ||
	    strcmp(s->kind, "button") == 0)
		r->codec.passthrough = true;
	snprintf(t, sizeof(t), "%s/%s/set", base, s->topic);
	if (!(w = mq_layout_writer(l, t, MQ_JSON)))
		FAIL("topic", "topic is too long");
	add_rows(&w->codec, z2m_rows, s->kind, "", true);
	snprintf(t, sizeof(t), "%s/%s/availability", base, s->topic);
	mq_layout_avail(l, t, "online", "offline");
	snprintf(t, sizeof(t), "%s/bridge/state", base);
	mq_layout_avail(l, t, "online", "offline");

	/* /get asks for the kind's properties: {"state":"","brightness":""}. */
	char payload[MQ_TOPIC_MAX] = "{";
	int asked = 0;
	for (size_t i = 0; i < r->codec.n_props; i++) {
		size_t n = strlen(payload);
		if (r->codec.props[i].no_read || r->codec.props[i].event)
			continue;
		snprintf(payload + n, sizeof(payload) - n, "%s\"%s\":\"\"", n > 1 ? "," : "",
			 r->codec.props[i].path);
		asked++;
	}
	strncat(payload, "}", sizeof(payload) - strlen(payload) - 1);
	snprintf(t, sizeof(t), "%s/%s/get", base, s->topic);
	if (asked && !query(l, t, payload, NULL))
		FAIL("topic", "topic is too long");
	return 0;
}

/* Tasmota's FullTopic with %prefix% and %topic% put in. */
static int full_topic(const struct mq_settings *s, const char *prefix, const char *command,
		      char *out, size_t n)
{
	const char *ft = s->full_topic ? s->full_topic : "%prefix%/%topic%/";
	size_t at = 0;

	for (const char *p = ft; *p;) {
		const char *add;
		size_t skip;

		if (strncmp(p, "%prefix%", 8) == 0) {
			add = prefix;
			skip = 8;
		} else if (strncmp(p, "%topic%", 7) == 0) {
			add = s->topic;
			skip = 7;
		} else if (*p == '%') {
			return -EINVAL;
		} else {
			/* A literal character of the FullTopic. */
			if (at + 1 >= n)
				return -ENAMETOOLONG;
			out[at++] = *p++;
			continue;
		}
		if (at + strlen(add) >= n)
			return -ENAMETOOLONG;
		memcpy(out + at, add, strlen(add));
		at += strlen(add);
		p += skip;
	}
	if (at > 0 && out[at - 1] != '/') {
		if (at + 1 >= n)
			return -ENAMETOOLONG;
		out[at++] = '/';
	}
	if (at + strlen(command) >= n)
		return -ENAMETOOLONG;
	memcpy(out + at, command, strlen(command) + 1);
	return 0;
}

static int tasmota(const struct mq_settings *s, struct mq_layout *l, char *err, size_t len,
		   const char **culprit)
{
	const char *blame = s->full_topic ? "full_topic" : "topic";
	char power[32], t[MQ_TOPIC_MAX];
	struct mq_reader *r;

	if (s->channel > 0)
		snprintf(power, sizeof(power), "POWER%lld", s->channel);
	else
		snprintf(power, sizeof(power), "POWER");
	if (s->full_topic && !strstr(s->full_topic, "%prefix%"))
		FAIL("full_topic", "full_topic needs %%prefix%%: without it commands and "
				   "answers share a topic");
	/* The two JSON answers and the plain POWER one. */
	static const char *const json_sources[][2] = {{"stat", "RESULT"}, {"tele", "STATE"}};
	for (size_t i = 0; i < 2; i++) {
		if (full_topic(s, json_sources[i][0], json_sources[i][1], t, sizeof(t)) < 0)
			FAIL(blame,
			     "full_topic supports only %%prefix%% and %%topic%%, and the "
			     "topics must stay under %d characters",
			     MQ_TOPIC_MAX);
		if (!(r = mq_layout_reader(l, t, MQ_JSON)))
			FAIL(blame, "topic is too long");
		for (const struct row *row = tasmota_rows; row->kind; row++) {
			struct row copy = *row;
			if (strcmp(row->kind, s->kind) != 0)
				continue;
			if (strcmp(row->key, "POWER") == 0)
				copy.key = power;
			if (add_row(&r->codec, &copy, "", false) < 0)
				FAIL(blame, "too many properties");
		}
	}
	if (full_topic(s, "stat", power, t, sizeof(t)) < 0 ||
	    !(r = mq_layout_reader(l, t, MQ_PLAIN)))
		FAIL(blame, "topic is too long");
	mq_codec_add(&r->codec, "state", "");
	/* One command topic per property, as Tasmota has one command each. */
	for (const struct row *row = tasmota_rows; row->kind; row++) {
		const char *key = strcmp(row->key, "POWER") == 0 ? power : row->key;
		struct row copy = *row;
		struct mq_writer *w;

		if (strcmp(row->kind, s->kind) != 0)
			continue;
		copy.key = "";
		if (full_topic(s, "cmnd", key, t, sizeof(t)) < 0 ||
		    !(w = mq_layout_writer(l, t, MQ_PLAIN)) ||
		    add_row(&w->codec, &copy, "", true) < 0)
			FAIL(blame, "topic is too long");
		/* An empty command is a query. */
		if (!query(l, t, "", NULL))
			FAIL(blame, "too many properties");
	}
	if (full_topic(s, "tele", "LWT", t, sizeof(t)) < 0)
		FAIL(blame, "topic is too long");
	mq_layout_avail(l, t, "Online", "Offline");
	return 0;
}

static int shelly(const struct mq_settings *s, struct mq_layout *l, char *err, size_t len,
		  const char **culprit)
{
	const char *component = strcmp(s->kind, "light") == 0 ? "light" : "switch";
	const char *method = strcmp(s->kind, "light") == 0 ? "Light" : "Switch";
	char t[MQ_TOPIC_MAX * 2], prefix[MQ_PATH_MAX], rpc[MQ_WORD_MAX];
	struct mq_reader *r;
	struct mq_writer *w;

	l->qos = 1;
	l->rpc_id = s->channel;
	snprintf(l->rpc_src, sizeof(l->rpc_src), "%s", s->rpc_src ? s->rpc_src : "smarthub");
	snprintf(t, sizeof(t), "%s/events/rpc", s->topic);
	if (!(r = mq_layout_reader(l, t, MQ_JSON)))
		FAIL("topic", "topic is too long");
	snprintf(prefix, sizeof(prefix), "params.%s:%lld.", component, s->channel);
	add_rows(&r->codec, shelly_rows, s->kind, prefix, false);
	snprintf(t, sizeof(t), "%s/rpc", l->rpc_src);
	if (!(r = mq_layout_reader(l, t, MQ_JSON)))
		FAIL("topic", "topic is too long");
	r->rpc_answer = true;
	add_rows(&r->codec, shelly_rows, s->kind, "result.", false);
	snprintf(t, sizeof(t), "%s/rpc", s->topic);
	if (!(w = mq_layout_writer(l, t, MQ_JSON)))
		FAIL("topic", "topic is too long");
	snprintf(w->rpc_method, sizeof(w->rpc_method), "%s.Set", method);
	add_rows(&w->codec, shelly_rows, s->kind, "", true);
	snprintf(rpc, sizeof(rpc), "%s.GetStatus", method);
	query(l, t, "", rpc);
	snprintf(t, sizeof(t), "%s/online", s->topic);
	mq_layout_avail(l, t, "true", "false");
	return 0;
}

static int esphome(const struct mq_settings *s, struct mq_layout *l, char *err, size_t len,
		   const char **culprit)
{
	const char *component = s->component ? s->component : s->kind;
	bool json = strcmp(component, "light") == 0;
	char t[MQ_TOPIC_MAX * 2];
	struct mq_reader *r;
	struct mq_writer *w;

	if (!s->object_id)
		FAIL("object_id", "preset esphome needs object_id (the entity's name in its "
				  "topics, e.g. fan for <topic>/switch/fan/state)");
	snprintf(t, sizeof(t), "%s/%s/%s/state", s->topic, component, s->object_id);
	if (!(r = mq_layout_reader(l, t, json ? MQ_JSON : MQ_PLAIN)))
		FAIL("topic", "topic is too long");
	if (add_rows(&r->codec, esphome_rows, json ? "light" : "switch", "", false) <= 0)
		FAIL("component", "no mapping for component %s", component);
	snprintf(t, sizeof(t), "%s/%s/%s/command", s->topic, component, s->object_id);
	if (!(w = mq_layout_writer(l, t, json ? MQ_JSON : MQ_PLAIN)))
		FAIL("topic", "topic is too long");
	add_rows(&w->codec, esphome_rows, json ? "light" : "switch", "", true);
	snprintf(t, sizeof(t), "%s/status", s->topic);
	mq_layout_avail(l, t, "online", "offline");
	return 0;
}

static int smarthub(const struct mq_settings *s, struct mq_layout *l, char *err, size_t len,
		    const char **culprit)
{
	const char *base = s->base ? s->base : "smarthub";
	char t[MQ_TOPIC_MAX * 2];
	struct mq_reader *r;
	struct mq_writer *w;

	/* The other hub's state and availability, nothing else. */
	snprintf(t, sizeof(t), "%s/%s", base, s->topic);
	if (!(r = mq_layout_reader(l, t, MQ_JSON)))
		FAIL("topic", "topic is too long");
	r->codec.passthrough = true;
	snprintf(t, sizeof(t), "%s/%s/set", base, s->topic);
	if (!(w = mq_layout_writer(l, t, MQ_JSON)))
		FAIL("topic", "topic is too long");
	w->codec.passthrough = true;
	snprintf(t, sizeof(t), "%s/%s/availability", base, s->topic);
	mq_layout_avail(l, t, "online", "offline");
	snprintf(t, sizeof(t), "%s/bridge/state", base);
	mq_layout_avail(l, t, "online", "offline");
	return 0;
}

int mq_preset_build(const struct mq_settings *s, struct mq_layout *l, char *err, size_t len,
		    const char **culprit)
{
	memset(l, 0, sizeof(*l));
	*culprit = "preset";
	if (!s->topic || !*s->topic)
		FAIL("preset", "preset %s needs topic", mq_preset_names[s->preset]);
	if (strpbrk(s->topic, "+#"))
		FAIL("topic", "topic must not contain MQTT wildcards (+ or #)");
	switch (s->preset) {
	case MQ_PRESET_Z2M:
		return zigbee2mqtt(s, l, err, len, culprit);
	case MQ_PRESET_TASMOTA:
		return tasmota(s, l, err, len, culprit);
	case MQ_PRESET_SHELLY:
		return shelly(s, l, err, len, culprit);
	case MQ_PRESET_ESPHOME:
		return esphome(s, l, err, len, culprit);
	case MQ_PRESET_SMARTHUB:
		return smarthub(s, l, err, len, culprit);
	case MQ_PRESET_NONE:
		break;
	}
	FAIL("preset", "no such preset");
}
