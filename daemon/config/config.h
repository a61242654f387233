/* SPDX-License-Identifier: MIT */
/*
 * The configuration: one YAML file read with libyaml into a tree of
 * struct sh_node (every node keeps file, line and column), then checked
 * against the schema into struct sh_config.
 *
 * Checking is strict and complete: unknown keys, wrong types, bad
 * durations, invalid device ids, unknown references, depends_on cycles,
 * scenes that call themselves, YAML syntax errors, missing secrets and
 * environment variables each add one "file:line:column: message" to the
 * caller's struct sh_diag, and loading goes on to find the rest.
 *
 * Substitution happens while reading: `!secret name` takes `name` from
 * secrets.yaml beside the file; `${VAR}` and `${VAR:-default}` inside any
 * scalar come from the environment. Secret values are marked on the node
 * (never printed by --check-config or logged).
 *
 * Driver options (every key of a device that is not common to all devices)
 * stay a node map, handed to the driver's create() through the host API.
 *
 * Ownership: a configuration is reference-counted. sh_config_load()
 * returns one reference, the caller's; every other holder (the hub, the
 * scene engine) takes its own with sh_config_hold() and drops it with
 * sh_config_free(), which frees on the last. Every string, node and step
 * inside belongs to the configuration. Loop thread only.
 */
#ifndef SMARTHUB_CONFIG_H
#define SMARTHUB_CONFIG_H

#include "config/diag.h"
#include "kinds/kind.h"

/* Bounds that keep every topic built from a name inside the bridge's
 * topic buffer (512 bytes): <base_topic>/<id>/availability and
 * <discovery prefix>/<component>/smarthub_<id>/<object>/config. Longer
 * names are refused at load; nothing is truncated later. */
#define SH_CONFIG_ID_MAX 64u     /* device ids, scene and automation names */
#define SH_CONFIG_TOPIC_MAX 128u /* base_topic, the discovery prefix */
#include <smarthub/plugin.h>
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#define SH_EX_CONFIG 78 /* sysexits.h EX_CONFIG */

struct sh_backoff {
	uint64_t initial_ms; /* first retry delay; default 1s */
	uint64_t max_ms;     /* cap; default 60s */
	double factor;       /* growth per failure; default 2.0 */
	double jitter;       /* +- fraction of the delay; default 0.2 */
};

struct sh_mqtt_config {
	char *url;        /* tcp://host:port or mqtts://host:port; default tcp://127.0.0.1:1883 */
	char *base_topic; /* default "smarthub" */
	char *client_id;  /* default "smarthub-<hostname>" */
	char *username;   /* NULL when absent */
	char *password; /* from password, password_file or !secret; NULL when absent. Never log. */
	char *ca_file;  /* TLS; NULL when absent */
	char *cert_file;
	char *key_file;
	unsigned keepalive_s;       /* default 60 */
	int qos;                    /* for state publications, 0 or 1; default 0 */
	bool retain;                /* retain state; default true */
	size_t max_payload;         /* bytes; larger inbound payloads are refused; default 65536 */
	size_t inbox_limit;         /* messages waiting for the loop; default 1024 */
	size_t inbox_bytes;         /* ... and the bytes they hold; default 1 MiB */
	unsigned events_per_second; /* bridge/event rate limit; default 20 */
	unsigned requests_per_minute; /* of each expensive request; default 12 */
	unsigned requests_per_second; /* of each other request kind; default 20 */
	/* bridge/request/# on a second connection, so a flood of requests
	 * cannot delay commands (mqtt/link.h); default true */
	bool request_connection;
	struct sh_backoff reconnect; /* default 1s .. 30s */
};

struct sh_homeassistant_config {
	bool discovery;     /* default false */
	char *prefix;       /* default "homeassistant" */
	char *status_topic; /* birth topic; default "<prefix>/status" */
};

struct sh_hub_config {
	unsigned max_connecting; /* simultaneous connection attempts; 0 = no cap */
	unsigned workers;        /* worker threads; default 2 */
};

struct sh_device_config {
	char *id;     /* the mapping key; a valid MQTT topic level */
	char *name;   /* friendly name; defaults to id */
	char *driver; /* plugin name */
	char *kind;   /* one of sh_kinds */
	/* What the device's options add to its kind (modes, presets,
	 * event_types, custom properties); borrows from the config. */
	struct sh_kind_spec spec;
	char **depends_on; /* device ids */
	size_t n_depends_on;
	uint64_t connect_timeout_ms; /* default 10s */
	uint64_t command_timeout_ms; /* default 10s */
	uint64_t min_interval_ms;    /* default 0 */
	size_t queue_limit;          /* default 16 */
	bool queue_while_offline;    /* keep the latest command for reconnect; default false */
	struct sh_backoff backoff;
	/* A sensor's value as Home Assistant should show it: common to every
	 * driver, so none has to read them as its own; NULL when absent. */
	char *unit;
	char *device_class;
	char *state_class;
	const struct sh_node *node; /* the device's mapping (for positions) */
	struct sh_node *options;    /* map of driver keys (possibly empty); owned by the config */
	/* Canonical text of everything above and the options: two configs
	 * describe the same device iff their fingerprints are equal. */
	char *fingerprint;
};

enum sh_step_type {
	SH_STEP_SEQUENCE,
	SH_STEP_PARALLEL,
	SH_STEP_DEVICE,
	SH_STEP_DELAY,
	SH_STEP_WAIT,
	SH_STEP_SCENE,
};

/* One condition of a wait: every field of `state` must equal the device's
 * state; the pseudo-field "availability" compares with "online"/"offline". */
struct sh_wait_condition {
	char *device;
	char *kind;   /* the device's kind, for plans (--explain); NULL if unknown */
	cJSON *state; /* object; NULL for an event condition */
	char *event;  /* met by the device's next event of this name ({"event":...}) */
	const struct sh_node *node;
};

struct sh_step {
	enum sh_step_type type;
	const struct sh_node *node;
	char *path;          /* e.g. "steps[2].parallel[1]" */
	uint64_t timeout_ms; /* 0: none (a wait defaults to none too) */
	unsigned retry;      /* extra attempts after a failure */
	bool continue_on_error;
	/* SEQUENCE, PARALLEL */
	struct sh_step **children;
	size_t n_children;
	/* DEVICE: command validated against the device kind at load */
	char *device;
	char *kind; /* the device's kind, for plans (--explain); NULL if unknown */
	cJSON *set; /* object */
	/* DELAY */
	uint64_t delay_ms;
	/* WAIT: any of these; a plain `wait: {device, state}` has one */
	struct sh_wait_condition *conditions;
	size_t n_conditions;
	/* SCENE */
	char *scene;
};

enum sh_scene_mode {
	SH_SCENE_SINGLE,
	SH_SCENE_RESTART,
	SH_SCENE_QUEUED,
	SH_SCENE_PARALLEL,
};

/* "single", "restart", "queued", "parallel" */
const char *sh_scene_mode_name(enum sh_scene_mode mode);

struct sh_scene_config {
	char *name;              /* the mapping key; a valid topic level */
	char *friendly_name;     /* `name:`; defaults to the key */
	enum sh_scene_mode mode; /* default single */
	unsigned max;            /* queued/parallel limit; default 10 */
	struct sh_step *root;    /* a SEQUENCE holding `steps`, path "steps" */
	const struct sh_node *node;
	char *fingerprint; /* as for devices */
};

/* --- automations (config_automation.c) ------------------------------------ */

/* location: for sun triggers and conditions; the time zone is the system's. */
struct sh_location {
	bool set;
	double latitude, longitude; /* degrees, north and east positive */
};

enum sh_trigger_type {
	SH_TRIGGER_STATE,        /* device, property, to?, from?, for? */
	SH_TRIGGER_NUMERIC,      /* device, property, above?, below?, hysteresis?, for? */
	SH_TRIGGER_AVAILABILITY, /* device, availability: online|offline, for? */
	SH_TRIGGER_MQTT,         /* mqtt: topic filter, payload?, path?, equals? */
	SH_TRIGGER_TIME,         /* at: "07:30", weekdays? */
	SH_TRIGGER_INTERVAL,     /* every: 10min */
	SH_TRIGGER_SUN,          /* sun: sunrise|sunset, offset? */
	SH_TRIGGER_ELEVATION,    /* sun: elevation, above|below: degrees */
	SH_TRIGGER_START,        /* start: true */
	SH_TRIGGER_EVENT,        /* device, event: a button's event name */
};

enum sh_sun_event {
	SH_SUN_SUNRISE,
	SH_SUN_SUNSET,
};

/* Weekday bits: bit 0 Sunday .. bit 6 Saturday (struct tm's tm_wday). */
#define SH_WEEKDAYS_ALL 0x7fu

struct sh_trigger {
	enum sh_trigger_type type;
	const struct sh_node *node;
	char *device, *property; /* STATE (property default "state"), NUMERIC, EVENT */
	cJSON *to, *from;        /* STATE; NULL when absent */
	bool has_above, has_below;
	double above, below; /* NUMERIC, ELEVATION */
	double hysteresis;   /* NUMERIC; 0 when absent */
	uint64_t for_ms;     /* STATE, NUMERIC, AVAILABILITY; 0 when absent */
	bool online;         /* AVAILABILITY */
	char *topic;         /* MQTT: a subscription filter (+ and # allowed) */
	char *payload;       /* MQTT: the exact payload, or NULL */
	char *path;          /* MQTT: a dotted path into a JSON payload, or NULL */
	cJSON *equals;       /* MQTT: the value at `path`, or NULL */
	unsigned at_s;       /* TIME: seconds after local midnight */
	unsigned weekdays;   /* TIME: SH_WEEKDAYS_ALL when absent */
	uint64_t every_ms;   /* INTERVAL */
	enum sh_sun_event sun;
	int64_t offset_ms; /* SUN: negative before the event */
	char *event;       /* EVENT */
};

enum sh_condition_type {
	SH_CONDITION_DEVICE, /* device, property, is | above | below */
	SH_CONDITION_TIME,   /* time: {after, before, weekdays} */
	SH_CONDITION_SUN,    /* sun: {after: sunset, before: sunrise} */
	SH_CONDITION_ANY,    /* any: [...] */
	SH_CONDITION_NOT,    /* not: a condition, or a list (none holds) */
};

struct sh_condition {
	enum sh_condition_type type;
	const struct sh_node *node;
	char *device, *property; /* DEVICE; property default "state" */
	cJSON *is;               /* DEVICE: NULL when absent */
	bool has_above, has_below;
	double above, below;
	bool has_after, has_before;    /* TIME, SUN */
	unsigned after_s, before_s;    /* TIME: seconds after local midnight */
	unsigned weekdays;             /* TIME */
	enum sh_sun_event sun_after;   /* SUN */
	enum sh_sun_event sun_before;  /* SUN */
	struct sh_condition *children; /* ANY, NOT */
	size_t n_children;
};

/* "device", "time", "sun", "any", "not": the names traces use. */
const char *sh_condition_type_name(enum sh_condition_type type);
/* "state", "numeric", "availability", "mqtt", "time", "interval", "sun",
 * "elevation", "start", "event". */
const char *sh_trigger_type_name(enum sh_trigger_type type);

struct sh_automation_config {
	char *name; /* the mapping key; a valid topic level */
	const struct sh_node *node;
	bool enabled;            /* `enabled:`, default true (the start value) */
	unsigned max_per_minute; /* default 30 */
	uint64_t max_gap_ms;     /* restart: longest downtime a for: resumes across; 5 min */
	struct sh_trigger *triggers;
	size_t n_triggers;
	struct sh_condition *conditions; /* all must hold */
	size_t n_conditions;
	/* The steps as the scene engine runs them: name, mode, max, root
	 * (path "steps"), and the automation's fingerprint. */
	struct sh_scene_config run;
	/* Canonical text of the whole automation: two configs describe the
	 * same automation iff their fingerprints are equal. */
	char *fingerprint;
};

struct sh_config {
	char *path;
	struct sh_node *root; /* owns the node tree */
	struct sh_mqtt_config mqtt;
	struct sh_homeassistant_config homeassistant;
	struct sh_hub_config hub;
	char *plugin_dir;            /* plugins.dir; default the build's install dir */
	enum sh_log_level log_level; /* log.level; default info */
	struct sh_device_config *devices;
	size_t n_devices;
	struct sh_scene_config *scenes;
	size_t n_scenes;
	char **on_start; /* scenes to run once the hub starts */
	size_t n_on_start;
	struct sh_location location;
	struct sh_automation_config *automations;
	size_t n_automations;
};

/*
 * Loads and checks `path`. Returns 0 and *out, or a negative errno with
 * every error added to `diag` and *out NULL (-EINVAL for an invalid file,
 * -ENOENT and the like when it cannot be read). `diag` may be NULL when
 * the caller wants no messages; the file is refused all the same.
 */
int sh_config_load(const char *path, struct sh_config **out, struct sh_diag *diag);
/*
 * As sh_config_load, but a file that was read and parsed yet breaks the
 * schema (-EINVAL) still gives *out: the configuration as far as it could
 * be read, so that a check can go on to the drivers' options and one run
 * reports every error of the file (--check-config, start-up). Its devices
 * whose driver or kind could not be read have them NULL. Never apply it;
 * the caller frees it with sh_config_free. `diag` may be NULL, as there.
 */
int sh_config_load_all(const char *path, struct sh_config **out, struct sh_diag *diag);
void sh_config_free(struct sh_config *config);
/* Another reference to `config` (returned, for the holder to keep). */
struct sh_config *sh_config_hold(const struct sh_config *config);

/* A human summary for --check-config: counts, devices, scenes, the broker
 * (never the password). */
void sh_config_print_summary(const struct sh_config *config, FILE *out);

const struct sh_device_config *sh_config_find_device(const struct sh_config *config,
						     const char *id);
const struct sh_scene_config *sh_config_find_scene(const struct sh_config *config,
						   const char *name);
const struct sh_automation_config *sh_config_find_automation(const struct sh_config *config,
							     const char *name);

/* "250ms", "2s", "1.5s", "5m", "1h", and a bare number of milliseconds.
 * Returns 0 or -EINVAL. */
int sh_duration_parse(const char *text, uint64_t *ms);

/* The key common to every device nearest to `key` ("conect_timeout" ->
 * "connect_timeout"), or NULL. */
const char *sh_config_suggest_device_key(const char *key);

/* True when `id` can be one MQTT topic level: not empty, no '+', '#', '/'. */
bool sh_topic_level_valid(const char *id);

/*
 * Node readers that name the value by the node's own key in messages
 * ("port must be ..."); each converts a scalar node, adding
 * "file:line:column: ..." to `diag` and returning -EINVAL when it cannot.
 * Only tests call them: the config loader and the host's opt_* functions
 * use node.h's sh_node_read_*, which take the full name
 * ("devices.lamp.port").
 */
int sh_node_to_bool(const struct sh_node *node, struct sh_diag *diag, bool *out);
int sh_node_to_ll(const struct sh_node *node, long long min, long long max, struct sh_diag *diag,
		  long long *out);
int sh_node_to_double(const struct sh_node *node, double min, double max, struct sh_diag *diag,
		      double *out);
int sh_node_to_duration(const struct sh_node *node, struct sh_diag *diag, uint64_t *ms);
/* The value of `key` in a map node, or NULL. Does not mark it used. */
struct sh_node *sh_node_get(const struct sh_node *map, const char *key);
/* A YAML value as JSON: quoted scalars are strings; unquoted true/false,
 * null/~ and numbers convert; maps and sequences recurse. Caller owns. */
cJSON *sh_node_to_json(const struct sh_node *node);

#endif
