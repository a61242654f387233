/* SPDX-License-Identifier: MIT */
/*
 * The payload mapping of the mqtt driver: how one topic's payload becomes
 * a patch of smarthub state, and how a smarthub command becomes a payload.
 * A fixed vocabulary, no template language: each property has a dot path
 * into a JSON payload (or the whole payload for plain text), an optional
 * value map (smarthub "ON" <-> device true) and an optional numeric scale
 * (device 0-254 <-> smarthub 0-255).
 *
 * Pure functions over plain structs and cJSON: no host, no broker, so the
 * unit tests and the fuzz target (tests/fuzz/fuzz_mqtt_map.c) drive them
 * directly. A codec owns the cJSON values of its maps (mq_codec_clear).
 */
#ifndef SMARTHUB_MQ_MAP_H
#define SMARTHUB_MQ_MAP_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define MQ_PROPS_MAX 12 /* properties of one codec */
#define MQ_MAP_MAX 8    /* value-map entries of one property */
#define MQ_NAME_MAX 32  /* a property's name, a map's smarthub value */
#define MQ_PATH_MAX 96  /* a dot path */
#define MQ_PATH_DEPTH 6 /* levels of a dot path */

enum mq_format { MQ_JSON, MQ_PLAIN };

/* What a property's value is on the smarthub side, for scaling and
 * comparison. */
enum mq_value { MQ_ANY, MQ_INT, MQ_COLOR };

struct mq_map_entry {
	char hub[MQ_NAME_MAX]; /* the smarthub value, as text ("ON") */
	cJSON *dev;            /* the device's value (owned) */
};

struct mq_prop {
	char name[MQ_NAME_MAX]; /* the smarthub property */
	char path[MQ_PATH_MAX]; /* dot path in the payload; "" = the whole payload */
	enum mq_value type;
	struct mq_map_entry map[MQ_MAP_MAX];
	size_t n_map;
	bool scaled; /* dev_min..dev_max <-> hub_min..hub_max */
	double dev_min, dev_max, hub_min, hub_max;
	bool no_read;    /* commanded, never reported (transition) */
	bool no_write;   /* reported, never commanded */
	bool no_confirm; /* reported in another form (Zigbee2MQTT's xy color) */
	bool event;      /* a momentary event ("action"), never state */
};

struct mq_codec {
	enum mq_format format;
	struct mq_prop props[MQ_PROPS_MAX];
	size_t n_props;
	/* Top-level members no property names are copied as they are (a
	 * sensor's readings, another smarthub's state). */
	bool passthrough;
};

/* Frees the map values; the codec is empty afterwards. */
void mq_codec_clear(struct mq_codec *c);
/* Appends a property; NULL when the codec is full. */
struct mq_prop *mq_codec_add(struct mq_codec *c, const char *name, const char *path);
/* The property named `name`, or NULL. */
const struct mq_prop *mq_codec_find(const struct mq_codec *c, const char *name);
/* Adds a value-map entry (dev is taken over even on failure). 0 or -ENOSPC. */
int mq_prop_map(struct mq_prop *p, const char *hub, cJSON *dev);

/*
 * Decodes `payload` (len bytes, not NUL-terminated) into *patch, a new
 * object of smarthub properties (the caller's); an empty object means "no
 * update". A property whose path holds no value, or a value outside its
 * map, is left out. Returns 0, or -EBADMSG for a JSON codec and a payload
 * that is not a JSON object (*patch NULL), -ENOMEM.
 */
int mq_decode(const struct mq_codec *c, const char *payload, size_t len, cJSON **patch);

/*
 * Encodes the members of `command` this codec writes into a payload: a
 * JSON object (paths create nested objects) or, for a plain codec, the
 * text of its one property. *out is malloc'd and NUL-terminated (the
 * caller's), NULL when the command holds nothing for this codec. Returns
 * the number of properties encoded, or -ENOMEM.
 */
int mq_encode(const struct mq_codec *c, const cJSON *command, char **out);

/* Maps one smarthub value to the device's (a new item), or NULL when the
 * property's map has no entry for it. */
cJSON *mq_to_device(const struct mq_prop *p, const cJSON *hub);
/* Maps one device value to smarthub's (a new item), or NULL. */
cJSON *mq_to_hub(const struct mq_prop *p, const cJSON *dev);

/* The value at a dot path of `root` (borrowed), or NULL. "" is root. */
const cJSON *mq_path_get(const cJSON *root, const char *path);

#endif
