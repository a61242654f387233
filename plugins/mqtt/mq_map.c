// SPDX-License-Identifier: MIT
/*
 * The payload mapping (see mq_map.h): dot paths, value maps and scales
 * between a device's payloads and smarthub's state and commands.
 */
#include "mq_map.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void mq_codec_clear(struct mq_codec *c)
{
	for (size_t i = 0; i < c->n_props; i++)
		for (size_t j = 0; j < c->props[i].n_map; j++)
			cJSON_Delete(c->props[i].map[j].dev);
	memset(c, 0, sizeof(*c));
}

struct mq_prop *mq_codec_add(struct mq_codec *c, const char *name, const char *path)
{
	struct mq_prop *p;

	if (c->n_props >= MQ_PROPS_MAX || strlen(name) >= MQ_NAME_MAX ||
	    strlen(path) >= MQ_PATH_MAX)
		return NULL;
	p = &c->props[c->n_props++];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->path, sizeof(p->path), "%s", path);
	return p;
}

const struct mq_prop *mq_codec_find(const struct mq_codec *c, const char *name)
{
	for (size_t i = 0; i < c->n_props; i++)
		if (strcmp(c->props[i].name, name) == 0)
			return &c->props[i];
	return NULL;
}

int mq_prop_map(struct mq_prop *p, const char *hub, cJSON *dev)
{
	if (!dev || p->n_map >= MQ_MAP_MAX || strlen(hub) >= MQ_NAME_MAX) {
		cJSON_Delete(dev);
		return -ENOSPC;
	}
	snprintf(p->map[p->n_map].hub, MQ_NAME_MAX, "%s", hub);
	p->map[p->n_map++].dev = dev;
	return 0;
}

const cJSON *mq_path_get(const cJSON *root, const char *path)
{
	const cJSON *at = root;
	char key[MQ_PATH_MAX];

	while (at && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);

		if (!cJSON_IsObject(at) || n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		at = cJSON_GetObjectItemCaseSensitive(at, key);
		path = dot ? dot + 1 : path + n;
	}
	return at;
}

/* A scalar as text, for comparing a device's "1" with its 1. */
static const char *scalar_text(const cJSON *v, char *buf, size_t len)
{
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v) ? "true" : "false";
	if (cJSON_IsNumber(v)) {
		if (v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 1e15)
			snprintf(buf, len, "%.0f", v->valuedouble);
		else
			snprintf(buf, len, "%.17g", v->valuedouble);
		return buf;
	}
	return NULL;
}

static bool values_equal(const cJSON *a, const cJSON *b)
{
	char ba[64], bb[64];
	const char *ta = scalar_text(a, ba, sizeof(ba));
	const char *tb = scalar_text(b, bb, sizeof(bb));

	if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
		return a->valuedouble == b->valuedouble;
	/* Tasmota says "ON", a hand-written map may say "on". */
	return ta && tb && strcasecmp(ta, tb) == 0;
}

/* The smarthub side of a map entry: true/false and numbers are typed. */
static cJSON *hub_value(const char *text)
{
	char *end;
	double d;

	if (strcmp(text, "true") == 0)
		return cJSON_CreateTrue();
	if (strcmp(text, "false") == 0)
		return cJSON_CreateFalse();
	d = strtod(text, &end);
	if (*text && !*end && end != text)
		return cJSON_CreateNumber(d);
	return cJSON_CreateString(text);
}

static double clamp(double v, double lo, double hi)
{
	if (lo > hi) {
		double t = lo;
		lo = hi;
		hi = t;
	}
	return v < lo ? lo : v > hi ? hi : v;
}

static bool color_ok(const cJSON *v)
{
	static const char *const channels[] = {"r", "g", "b"};

	if (!cJSON_IsObject(v))
		return false;
	for (size_t i = 0; i < 3; i++)
		if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(v, channels[i])))
			return false;
	return true;
}

cJSON *mq_to_hub(const struct mq_prop *p, const cJSON *dev)
{
	if (!dev || cJSON_IsNull(dev))
		return NULL;
	if (p->n_map) {
		for (size_t i = 0; i < p->n_map; i++)
			if (values_equal(p->map[i].dev, dev))
				return hub_value(p->map[i].hub);
		return NULL;
	}
	if (p->type == MQ_COLOR)
		return color_ok(dev) ? cJSON_Duplicate(dev, true) : NULL;
	if (p->scaled || p->type == MQ_INT) {
		double v;

		if (!cJSON_IsNumber(dev) || !isfinite(dev->valuedouble))
			return NULL;
		v = dev->valuedouble;
		if (p->scaled && p->dev_max != p->dev_min)
			v = clamp(p->hub_min + (v - p->dev_min) * (p->hub_max - p->hub_min) /
						       (p->dev_max - p->dev_min),
				  p->hub_min, p->hub_max);
		return cJSON_CreateNumber(p->type == MQ_INT ? round(v) : v);
	}
	if (cJSON_IsObject(dev) || cJSON_IsArray(dev))
		return NULL; /* a scalar property never takes a structure */
	if (cJSON_IsNumber(dev) && !isfinite(dev->valuedouble))
		return NULL; /* 1e999: no number a state can hold */
	return cJSON_Duplicate(dev, true);
}

cJSON *mq_to_device(const struct mq_prop *p, const cJSON *hub)
{
	char buf[64];

	if (p->n_map) {
		const char *t = scalar_text(hub, buf, sizeof(buf));

		for (size_t i = 0; t && i < p->n_map; i++)
			if (strcasecmp(p->map[i].hub, t) == 0)
				return cJSON_Duplicate(p->map[i].dev, true);
		return NULL;
	}
	if (p->scaled && cJSON_IsNumber(hub) && p->hub_max != p->hub_min)
		return cJSON_CreateNumber(round(clamp(
			p->dev_min + (hub->valuedouble - p->hub_min) * (p->dev_max - p->dev_min) /
					     (p->hub_max - p->hub_min),
			p->dev_min, p->dev_max)));
	return cJSON_Duplicate(hub, true);
}

/* A plain payload's value: numbers and booleans typed, the rest text. */
static cJSON *plain_value(const char *payload, size_t len)
{
	char *text;
	cJSON *v;

	while (len && isspace((unsigned char)*payload)) {
		payload++;
		len--;
	}
	while (len && isspace((unsigned char)payload[len - 1]))
		len--;
	v = cJSON_ParseWithLength(payload, len);
	if (v && ((cJSON_IsNumber(v) && isfinite(v->valuedouble)) || cJSON_IsBool(v) ||
		  cJSON_IsObject(v)))
		return v;
	cJSON_Delete(v);
	if (memchr(payload, '\0', len))
		return NULL;
	text = malloc(len + 1);
	if (!text)
		return NULL;
	memcpy(text, payload, len);
	text[len] = '\0';
	v = cJSON_CreateString(text);
	free(text);
	return v;
}

/* Whether every number in `v`, at any depth, is finite: 1e999 parses as
 * infinity, which no state can hold and which never equals itself. */
static bool all_finite(const cJSON *v)
{
	const cJSON *m;

	if (cJSON_IsNumber(v))
		return isfinite(v->valuedouble);
	cJSON_ArrayForEach(m, v)
	{
		if (!all_finite(m))
			return false;
	}
	return true;
}

/* Whether a top-level key belongs to some property's path. */
static bool key_claimed(const struct mq_codec *c, const char *key)
{
	size_t n = strlen(key);

	for (size_t i = 0; i < c->n_props; i++) {
		const char *path = c->props[i].path;

		if (strcmp(c->props[i].name, key) == 0 ||
		    (strncmp(path, key, n) == 0 && (path[n] == '\0' || path[n] == '.')))
			return true;
	}
	return false;
}

int mq_decode(const struct mq_codec *c, const char *payload, size_t len, cJSON **patch)
{
	cJSON *root, *out;

	*patch = NULL;
	if (c->format == MQ_PLAIN) {
		root = plain_value(payload, len);
		if (!root)
			return -EBADMSG;
	} else {
		root = cJSON_ParseWithLength(payload, len);
		if (!cJSON_IsObject(root)) {
			cJSON_Delete(root);
			return -EBADMSG;
		}
	}
	out = cJSON_CreateObject();
	if (!out) {
		cJSON_Delete(root);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->n_props; i++) {
		const struct mq_prop *p = &c->props[i];
		const cJSON *at;
		cJSON *v;

		if (p->no_read)
			continue;
		at = c->format == MQ_PLAIN ? root : mq_path_get(root, p->path);
		v = mq_to_hub(p, at);
		if (v)
			cJSON_AddItemToObject(out, p->name, v);
	}
	if (c->passthrough && cJSON_IsObject(root)) {
		const cJSON *m;

		cJSON_ArrayForEach(m, root)
		{
			if (m->string && !key_claimed(c, m->string) && all_finite(m) &&
			    !cJSON_GetObjectItemCaseSensitive(out, m->string))
				cJSON_AddItemToObject(out, m->string, cJSON_Duplicate(m, true));
		}
	}
	cJSON_Delete(root);
	*patch = out;
	return 0;
}

/* Puts `v` (taken over) at a dot path, making the objects on the way. */
static int path_set(cJSON *root, const char *path, cJSON *v)
{
	char key[MQ_PATH_MAX];
	cJSON *at = root;
	int depth = 0;

	if (!path) {
		cJSON_Delete(v);
		return -EINVAL;
	}
	for (;;) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		cJSON *next;

		if (n == 0 || n >= sizeof(key) || ++depth > MQ_PATH_DEPTH) {
			cJSON_Delete(v);
			return -EINVAL;
		}
		memcpy(key, path, n);
		key[n] = '\0';
		if (!dot) {
			cJSON_DeleteItemFromObjectCaseSensitive(at, key);
			cJSON_AddItemToObject(at, key, v);
			return 0;
		}
		next = cJSON_GetObjectItemCaseSensitive(at, key);
		if (!cJSON_IsObject(next)) {
			cJSON_DeleteItemFromObjectCaseSensitive(at, key);
			next = cJSON_AddObjectToObject(at, key);
			if (!next) {
				cJSON_Delete(v);
				return -ENOMEM;
			}
		}
		at = next;
		path = dot + 1;
	}
}

static char *plain_text(const cJSON *v)
{
	char buf[64];
	const char *t = scalar_text(v, buf, sizeof(buf));

	return t ? strdup(t) : cJSON_PrintUnformatted(v);
}

int mq_encode(const struct mq_codec *c, const cJSON *command, char **out)
{
	cJSON *root = NULL;
	const cJSON *m;
	int n = 0;

	*out = NULL;
	cJSON_ArrayForEach(m, command)
	{
		const struct mq_prop *p = m->string ? mq_codec_find(c, m->string) : NULL;
		cJSON *v;

		if (p ? p->no_write : !c->passthrough)
			continue;
		v = p ? mq_to_device(p, m) : cJSON_Duplicate(m, true);
		if (!v)
			continue;
		if (c->format == MQ_PLAIN) {
			*out = plain_text(v);
			cJSON_Delete(v);
			cJSON_Delete(root);
			return *out ? 1 : -ENOMEM;
		}
		if (!root && !(root = cJSON_CreateObject())) {
			cJSON_Delete(v);
			return -ENOMEM;
		}
		if (path_set(root, p && p->path[0] ? p->path : m->string, v) == 0)
			n++;
	}
	if (n > 0) {
		*out = cJSON_PrintUnformatted(root);
		if (!*out)
			n = -ENOMEM;
	}
	cJSON_Delete(root);
	return n;
}
