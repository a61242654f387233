/* SPDX-License-Identifier: MIT */
/*
 * The topics and payload mappings of one device of the mqtt driver: what
 * it reads (state topics and their codecs), what it writes (command
 * topics), how it tells availability, and what it asks on start-up. The
 * presets (Zigbee2MQTT, Tasmota, Shelly Gen2, ESPHome, another smarthub)
 * fill it from a few options; the explicit mapping fills it from the
 * options directly (mq_options.c).
 *
 * Each preset's properties are rows of a table per family, one row per
 * (kind, property): adding a kind (cover, lock, ...) to a preset is adding
 * its rows. Pure data and functions; no host.
 */
#ifndef SMARTHUB_MQ_PRESET_H
#define SMARTHUB_MQ_PRESET_H

#include "mq_map.h"

#define MQ_TOPIC_MAX 256
#define MQ_READERS_MAX 4
#define MQ_WRITERS_MAX 6
#define MQ_AVAIL_MAX 2
#define MQ_QUERIES_MAX 4
#define MQ_WORD_MAX 32

enum mq_preset {
	MQ_PRESET_NONE, /* the explicit mapping */
	MQ_PRESET_Z2M,
	MQ_PRESET_TASMOTA,
	MQ_PRESET_SHELLY,
	MQ_PRESET_ESPHOME,
	MQ_PRESET_SMARTHUB,
};

/* "zigbee2mqtt", ... by enum mq_preset, NULL-terminated (index 0 unused). */
extern const char *const mq_preset_names[];

/* The options a preset is built from (borrowed strings). */
struct mq_settings {
	enum mq_preset preset;
	const char *kind;
	const char *topic;      /* the device's name or prefix in its family */
	const char *base;       /* Zigbee2MQTT's and smarthub's base topic */
	const char *full_topic; /* Tasmota's FullTopic */
	const char *component;  /* ESPHome */
	const char *object_id;  /* ESPHome */
	long long channel;      /* Tasmota relay (0: POWER), Shelly component id */
	const char *rpc_src;    /* Shelly: where answers come (<src>/rpc) */
};

struct mq_reader {
	char topic[MQ_TOPIC_MAX];
	struct mq_codec codec;
	bool rpc_answer; /* Shelly: answers to our requests */
};

struct mq_writer {
	char topic[MQ_TOPIC_MAX];
	struct mq_codec codec;
	char rpc_method[MQ_WORD_MAX]; /* Shelly: the RPC method; "" otherwise */
};

/* A source of availability: a payload equal to `online` (or a JSON object
 * whose "state" is) says online, `offline` says offline. */
struct mq_avail {
	char topic[MQ_TOPIC_MAX];
	char online[MQ_WORD_MAX], offline[MQ_WORD_MAX];
};

struct mq_query {
	char topic[MQ_TOPIC_MAX];
	char payload[MQ_TOPIC_MAX];   /* sent as is (may be empty) */
	char rpc_method[MQ_WORD_MAX]; /* Shelly: payload is the RPC's params */
};

struct mq_layout {
	struct mq_reader readers[MQ_READERS_MAX];
	size_t n_readers;
	struct mq_writer writers[MQ_WRITERS_MAX];
	size_t n_writers;
	struct mq_avail avail[MQ_AVAIL_MAX];
	size_t n_avail;
	struct mq_query queries[MQ_QUERIES_MAX];
	size_t n_queries;
	int qos;                    /* for commands and queries */
	char rpc_src[MQ_TOPIC_MAX]; /* Shelly */
	long long rpc_id;           /* Shelly: the component id in params */
};

/* The preset of that name, MQ_PRESET_NONE when unknown. */
enum mq_preset mq_preset_find(const char *name);
/* Frees the codecs' maps. */
void mq_layout_clear(struct mq_layout *l);

/*
 * Fills `l` for settings `s` with a preset. Returns 0, or -EINVAL with a
 * sentence in `err` and in *culprit the option to blame ("topic",
 * "full_topic", ...).
 */
int mq_preset_build(const struct mq_settings *s, struct mq_layout *l, char *err, size_t len,
		    const char **culprit);

/* The range smarthub gives a numeric property (brightness 0-255), for
 * scales; false when it has none. */
bool mq_hub_range(const char *prop, double *min, double *max);
/* Whether `prop` is one a command for `kind` may carry, and the names
 * there are (NULL-terminated) for did-you-mean. Sensors take any name. */
bool mq_kind_prop(const char *kind, const char *prop);
const char *const *mq_kind_props(const char *kind);

/* Appends a reader, writer, availability source or query; NULL when full. */
struct mq_reader *mq_layout_reader(struct mq_layout *l, const char *topic, enum mq_format f);
struct mq_writer *mq_layout_writer(struct mq_layout *l, const char *topic, enum mq_format f);
struct mq_avail *mq_layout_avail(struct mq_layout *l, const char *topic, const char *online,
				 const char *offline);

#endif
