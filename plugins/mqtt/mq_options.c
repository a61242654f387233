// SPDX-License-Identifier: MIT
/*
 * Reading an mqtt device's options (see mq_options.h). Every option is
 * read before the first error is acted on, so one run shows them all.
 */
#include "mq_options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MESSAGE_DEFAULT 65536

/* Keys of the explicit mapping, and of the presets. */
static const char *const explicit_keys[] = {"state_topic",
					    "command_topic",
					    "availability_topic",
					    "payload_available",
					    "payload_not_available",
					    "format",
					    "mapping",
					    NULL};
static const char *const preset_keys[] = {"topic",     "base",      "full_topic", "channel",
					  "component", "object_id", NULL};
static const char *const prop_keys[] = {"path", "map", "scale", NULL};
static const char *const formats[] = {"json", "plain", NULL};

/* "unknown X 'y' (did you mean 'z'?)" at the node. */
static void unknown(struct sh_device *dev, const struct sh_host *h, const struct sh_node *at,
		    const char *what, const char *word, const char *const *names)
{
	const char *near = h->suggest(word, names);

	if (near)
		h->config_error(dev, at, "unknown %s '%s' (did you mean '%s'?)", what, word, near);
	else
		h->config_error(dev, at, "unknown %s '%s'", what, word);
}

static const struct sh_node *item(const struct sh_node *map, const char *key)
{
	for (size_t i = 0; map && map->type == SH_NODE_MAP && i < map->n_items; i++)
		if (map->items[i]->key && strcmp(map->items[i]->key, key) == 0)
			return map->items[i];
	return NULL;
}

/* A map value written in YAML as the device's JSON: quoted is a string,
 * true/false are booleans, numbers are numbers. */
static cJSON *device_value(const struct sh_node *n)
{
	char *end;
	double d;

	if (n->quoted)
		return cJSON_CreateString(n->value);
	if (strcmp(n->value, "true") == 0)
		return cJSON_CreateTrue();
	if (strcmp(n->value, "false") == 0)
		return cJSON_CreateFalse();
	d = strtod(n->value, &end);
	if (*n->value && !*end)
		return cJSON_CreateNumber(d);
	return cJSON_CreateString(n->value);
}

static enum mq_value value_type(const char *prop)
{
	if (strcmp(prop, "color") == 0)
		return MQ_COLOR;
	if (strcmp(prop, "brightness") == 0 || strcmp(prop, "color_temp") == 0 ||
	    strcmp(prop, "volume") == 0)
		return MQ_INT;
	return MQ_ANY;
}

/* One entry of `properties:` into both codecs. */
static int read_property(struct sh_device *dev, const struct sh_host *h, const char *kind,
			 const struct sh_node *n, struct mq_codec *rd, struct mq_codec *wr)
{
	const struct sh_node *path, *map, *scale;
	struct mq_prop *p[2];
	int r = 0;

	if (!mq_kind_prop(kind, n->key)) {
		unknown(dev, h, n, "property", n->key, mq_kind_props(kind));
		return -EINVAL;
	}
	if (n->type != SH_NODE_MAP) {
		h->config_error(dev, n, "%s must be a mapping of path, map and scale", n->key);
		return -EINVAL;
	}
	for (size_t i = 0; i < n->n_items; i++) {
		const char *key = n->items[i]->key ? n->items[i]->key : "";
		bool known = false;
		for (size_t k = 0; prop_keys[k]; k++)
			known = known || strcmp(prop_keys[k], key) == 0;
		if (!known) {
			unknown(dev, h, n->items[i], "key", key, prop_keys);
			r = -EINVAL;
		}
	}
	path = item(n, "path");
	map = item(n, "map");
	scale = item(n, "scale");
	if (path && (path->type != SH_NODE_SCALAR || strlen(path->value) >= MQ_PATH_MAX)) {
		h->config_error(dev, path, "path must be a dot path such as state or data.power");
		return -EINVAL;
	}
	p[0] = mq_codec_add(rd, n->key, path ? path->value : n->key);
	p[1] = mq_codec_add(wr, n->key, path ? path->value : n->key);
	if (!p[0] || !p[1]) {
		h->config_error(dev, n, "too many properties (at most %d)", MQ_PROPS_MAX);
		return -EINVAL;
	}
	for (int k = 0; k < 2; k++)
		p[k]->type = value_type(n->key);
	if (strcmp(n->key, "transition") == 0)
		p[0]->no_read = true;
	/* A button's press is an event, never state nor a command. */
	p[0]->event = p[1]->no_write = strcmp(n->key, "event") == 0;
	if (map) {
		if (map->type != SH_NODE_MAP || map->n_items == 0) {
			h->config_error(dev, map,
					"map must be a mapping of smarthub values to the "
					"device's, such as {ON: true, OFF: false}");
			return -EINVAL;
		}
		for (size_t i = 0; i < map->n_items; i++) {
			const struct sh_node *e = map->items[i];
			if (e->type != SH_NODE_SCALAR) {
				h->config_error(dev, e, "map values must be single values");
				return -EINVAL;
			}
			for (int k = 0; k < 2; k++)
				if (mq_prop_map(p[k], e->key, device_value(e)) < 0) {
					h->config_error(dev, e, "map holds at most %d entries",
							MQ_MAP_MAX);
					return -EINVAL;
				}
		}
	}
	if (scale) {
		double lo, hi, hub_lo, hub_hi;
		char *e1, *e2;

		if (scale->type != SH_NODE_SEQ || scale->n_items != 2 ||
		    scale->items[0]->type != SH_NODE_SCALAR ||
		    scale->items[1]->type != SH_NODE_SCALAR) {
			h->config_error(dev, scale,
					"scale must be the device's range, such as "
					"[0, 100]");
			return -EINVAL;
		}
		lo = strtod(scale->items[0]->value, &e1);
		hi = strtod(scale->items[1]->value, &e2);
		if (*e1 || *e2 || lo == hi) {
			h->config_error(dev, scale,
					"scale must be two different numbers, such as "
					"[0, 100]");
			return -EINVAL;
		}
		if (!mq_hub_range(n->key, &hub_lo, &hub_hi)) {
			h->config_error(dev, scale, "%s is not a number smarthub scales", n->key);
			return -EINVAL;
		}
		for (int k = 0; k < 2; k++) {
			p[k]->scaled = true;
			p[k]->dev_min = lo;
			p[k]->dev_max = hi;
			p[k]->hub_min = hub_lo;
			p[k]->hub_max = hub_hi;
		}
	}
	return r;
}

/* The explicit mapping's default properties: the kind's own, as named. */
static void default_properties(const char *kind, struct mq_codec *rd, struct mq_codec *wr)
{
	const char *const *props = mq_kind_props(kind);

	if (strcmp(kind, "sensor") == 0) {
		if (rd->format == MQ_PLAIN)
			mq_codec_add(rd, "value", "");
		rd->passthrough = true;
		return;
	}
	for (size_t i = 0; props[i]; i++) {
		if (rd->format == MQ_PLAIN && strcmp(props[i], "state") != 0)
			continue;
		struct mq_prop *p =
			mq_codec_add(rd, props[i], rd->format == MQ_PLAIN ? "" : props[i]);
		struct mq_prop *q =
			mq_codec_add(wr, props[i], wr->format == MQ_PLAIN ? "" : props[i]);
		if (p && q) {
			p->type = q->type = value_type(props[i]);
			p->no_read = strcmp(props[i], "transition") == 0;
		}
	}
}

static int read_explicit(struct sh_device *dev, const struct sh_host *h, const char *kind,
			 struct mq_options *o, struct mq_layout *l)
{
	const char *state, *command, *avail, *on, *off, *format;
	const struct sh_node *props = h->opt_node(dev, "mapping");
	const struct sh_node *fmt_node = h->opt_node(dev, "format");
	enum mq_format f = MQ_JSON;
	struct mq_codec rd = {0}, wr = {0};
	int r = 0;

	h->opt_string(dev, "state_topic", NULL, &state);
	h->opt_string(dev, "command_topic", NULL, &command);
	h->opt_string(dev, "availability_topic", NULL, &avail);
	h->opt_string(dev, "payload_available", "online", &on);
	h->opt_string(dev, "payload_not_available", "offline", &off);
	h->opt_string(dev, "format", "json", &format);
	if (strcmp(format, "plain") == 0) {
		f = MQ_PLAIN;
	} else if (strcmp(format, "json") != 0) {
		unknown(dev, h, fmt_node, "format", format, formats);
		r = -EINVAL;
	}
	rd.format = wr.format = f;
	if (props && props->type != SH_NODE_MAP) {
		h->config_error(dev, props, "mapping must be a mapping of property names");
		r = -EINVAL;
	} else {
		/* mapping: {brightness: {...}}, or each property as a key of
		 * its own (brightness: {path: dim, scale: [0, 100]}). */
		const char *const *names = mq_kind_props(kind);
		for (size_t i = 0; props && i < props->n_items; i++)
			if (read_property(dev, h, kind, props->items[i], &rd, &wr) < 0)
				r = -EINVAL;
		for (size_t i = 0; names[i]; i++) {
			const struct sh_node *n = h->opt_node(dev, names[i]);
			if (n && read_property(dev, h, kind, n, &rd, &wr) < 0)
				r = -EINVAL;
		}
		if (f == MQ_PLAIN && rd.n_props > 1) {
			h->config_error(dev, props,
					"format plain carries one property; use "
					"format json for more");
			r = -EINVAL;
		}
		if (rd.n_props == 0)
			default_properties(kind, &rd, &wr);
	}
	if (!state && !command) {
		h->config_error(dev, NULL,
				"driver mqtt needs a preset (%s, %s, %s, %s or %s) or "
				"state_topic/command_topic",
				mq_preset_names[1], mq_preset_names[2], mq_preset_names[3],
				mq_preset_names[4], mq_preset_names[5]);
		r = -EINVAL;
	}
	if (!state && strcmp(kind, "sensor") != 0 && !o->optimistic) {
		h->config_error(dev, NULL,
				"without state_topic nothing confirms a command: set "
				"state_topic, or optimistic: true");
		r = -EINVAL;
	}
	if (state && command && strcmp(state, command) == 0) {
		h->config_error(dev, h->opt_node(dev, "command_topic"),
				"command_topic equals state_topic: the device's commands would "
				"read back as its state (an echo loop)");
		r = -EINVAL;
	}
	if (avail && command && strcmp(avail, command) == 0) {
		h->config_error(dev, h->opt_node(dev, "availability_topic"),
				"availability_topic equals command_topic (an echo loop)");
		r = -EINVAL;
	}
	if (r == 0) {
		struct mq_reader *rr = state ? mq_layout_reader(l, state, f) : NULL;
		struct mq_writer *ww = command ? mq_layout_writer(l, command, f) : NULL;
		if ((state && !rr) || (command && !ww) ||
		    (avail && !mq_layout_avail(l, avail, on, off))) {
			h->config_error(dev, NULL, "a topic is longer than %d characters",
					MQ_TOPIC_MAX - 1);
			r = -EINVAL;
		}
		if (rr) {
			rr->codec = rd;
			memset(&rd, 0, sizeof(rd));
		}
		if (ww && r == 0) {
			ww->codec = wr;
			memset(&wr, 0, sizeof(wr));
		}
	}
	mq_codec_clear(&rd);
	mq_codec_clear(&wr);
	return r;
}

/* No read topic of a preset may be one of its write topics. */
static int check_echo(struct sh_device *dev, const struct sh_host *h, const struct mq_layout *l,
		      const char *culprit)
{
	for (size_t w = 0; w < l->n_writers; w++) {
		for (size_t r = 0; r < l->n_readers; r++)
			if (strcmp(l->writers[w].topic, l->readers[r].topic) == 0) {
				h->config_error(
					dev, h->opt_node(dev, culprit),
					"%s is both read and written: the device's commands "
					"would read back as its state (an echo loop)",
					l->writers[w].topic);
				return -EINVAL;
			}
		for (size_t a = 0; a < l->n_avail; a++)
			if (strcmp(l->writers[w].topic, l->avail[a].topic) == 0) {
				h->config_error(dev, h->opt_node(dev, culprit),
						"%s is both availability and a command topic",
						l->writers[w].topic);
				return -EINVAL;
			}
	}
	return 0;
}

int mq_options_read(struct sh_device *dev, const struct sh_host *h, struct mq_options *o,
		    struct mq_layout *l)
{
	const char *kind = h->device_kind(dev);
	const char *preset_name;
	const struct sh_node *preset_node = h->opt_node(dev, "preset");
	struct mq_settings s = {.kind = kind};
	int r = 0;

	memset(l, 0, sizeof(*l));
	memset(o, 0, sizeof(*o));
	h->opt_string(dev, "preset", NULL, &preset_name);
	h->opt_bool(dev, "optimistic", false, &o->optimistic);
	h->opt_bool(dev, "homeassistant", false, &o->homeassistant);
	h->opt_int(dev, "max_message", MAX_MESSAGE_DEFAULT, 16, 16 << 20, &o->max_message);
	o->command_timeout_ms = h->command_timeout_ms(dev);

	if (preset_name) {
		o->preset = mq_preset_find(preset_name);
		if (o->preset == MQ_PRESET_NONE) {
			unknown(dev, h, preset_node, "preset", preset_name, mq_preset_names + 1);
			r = -EINVAL;
		}
		for (size_t i = 0; explicit_keys[i]; i++) {
			const struct sh_node *n = h->opt_node(dev, explicit_keys[i]);
			if (n) {
				h->config_error(dev, n,
						"%s is not used with a preset: give either "
						"preset or the explicit mapping",
						explicit_keys[i]);
				r = -EINVAL;
			}
		}
		h->opt_string(dev, "topic", NULL, &s.topic);
		h->opt_string(dev, "base", NULL, &s.base);
		h->opt_string(dev, "full_topic", NULL, &s.full_topic);
		h->opt_string(dev, "component", NULL, &s.component);
		h->opt_string(dev, "object_id", NULL, &s.object_id);
		h->opt_int(dev, "channel", 0, 0, 255, &s.channel);
		if (r == 0) {
			char err[256], src[160];
			const char *culprit;

			/* Answers come to <src>/rpc: one per device and process. */
			snprintf(src, sizeof(src), "smarthub-%s-%x", h->device_id(dev),
				 (unsigned)(((uintptr_t)dev >> 4) ^ (h->now_ms(dev) & 0xffffff)));
			for (char *c = src; *c; c++)
				if (*c == '/' || *c == '+' || *c == '#')
					*c = '_';
			s.preset = o->preset;
			s.rpc_src = src;
			if (mq_preset_build(&s, l, err, sizeof(err), &culprit) < 0) {
				const struct sh_node *at = h->opt_node(dev, culprit);
				h->config_error(dev, at ? at : preset_node, "%s", err);
				r = -EINVAL;
			} else if (check_echo(dev, h, l, s.full_topic ? "full_topic" : "topic") <
				   0) {
				r = -EINVAL;
			}
		}
	} else {
		for (size_t i = 0; preset_keys[i]; i++) {
			const struct sh_node *n = h->opt_node(dev, preset_keys[i]);
			if (n) {
				h->config_error(dev, n, "%s goes with a preset (preset: %s, ...)",
						preset_keys[i], mq_preset_names[1]);
				r = -EINVAL;
			}
		}
		if (read_explicit(dev, h, kind, o, l) < 0)
			r = -EINVAL;
	}
	if (o->preset == MQ_PRESET_NONE && l->n_readers == 0 && strcmp(kind, "sensor") == 0 &&
	    r == 0) {
		h->config_error(dev, NULL, "a sensor needs state_topic");
		r = -EINVAL;
	}
	return r < 0 ? r : h->opt_status(dev);
}
