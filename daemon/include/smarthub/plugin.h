/* SPDX-License-Identifier: MIT */
/*
 * The driver ABI, version 2: the one header a smarthub plugin includes.
 *
 * A plugin is a shared object in the plugin directory that exports one
 * symbol, `sh_driver_descriptor` (see SH_DRIVER_EXPORT), a `struct sh_driver`
 * whose first field is the ABI version it was built for. The daemon reads
 * that field before anything else.
 *
 * Versioning (after mosquitto_plugin_version): a version is major.minor.
 * The daemon loads a plugin whose major equals its own and whose minor is
 * at most its own: a minor release only appends host functions at the end
 * of struct sh_host and optional callbacks at the end of struct sh_driver,
 * so a plugin built against 2.0 runs unchanged in a 2.5 daemon. A plugin
 * built against a newer minor (it may call functions this daemon lacks) or
 * another major is refused with a message naming both versions. A plugin
 * that wants to run on older 2.x daemons too checks SH_HOST_HAS() before
 * calling a function added after 2.0.
 *
 * Threading: every callback here runs on the daemon's loop thread, and every
 * host function must be called from it, except the `work` function given to
 * host->work_submit, which runs on a worker thread and may call nothing of
 * the host. Drivers never block the loop: sockets are non-blocking and
 * watched with host->io_start, blocking reads go to host->work_submit.
 *
 * Lifecycle of one device:
 *   create -> (connect -> [online: command*, refresh*] -> disconnect)* -> destroy
 * connect is asynchronous: the driver reports host->connected or
 * host->failed later (or the daemon's connect_timeout fires and it calls
 * disconnect). After disconnect returns, the driver holds no timers,
 * watchers or sockets, and reports nothing until the next connect.
 *
 * Completion is asynchronous by contract: a report (connected, failed,
 * state_update, command_done, event) made while the daemon is inside one of
 * the driver's sh_driver callbacks (create, connect, command, refresh,
 * disconnect) is queued and delivered, in order, on a later loop iteration.
 * A report made from a timer, I/O, child, work, MQTT or peer callback is
 * delivered at once. So no caller ever sees its completion inside the call
 * that started the work, and the daemon needs no re-entrancy flags.
 *
 * Errors: functions that can fail return 0 or a negative errno. Never
 * combine two of them with `|`: keep the first (see opt_status).
 *
 * JSON is cJSON (Debian's libcjson1, soname libcjson.so.1), and it is part
 * of this ABI in one way only: cJSON objects cross it borrowed, as
 * `const cJSON *`, never handed over. The plugin links libcjson itself;
 * memory one side allocates is never freed by the other, so the plugin may
 * use any cJSON 1.7.x.
 */
#ifndef SMARTHUB_PLUGIN_H
#define SMARTHUB_PLUGIN_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The major is bumped on an incompatible change of struct sh_driver or
 * struct sh_host, the minor when something is appended to either. */
#define SH_PLUGIN_ABI_MAJOR 2u
#define SH_PLUGIN_ABI_MINOR 1u
#define SH_PLUGIN_ABI_VERSION ((SH_PLUGIN_ABI_MAJOR << 16) | SH_PLUGIN_ABI_MINOR)
#define SH_PLUGIN_ABI_MAJOR_OF(v) ((uint32_t)(v) >> 16)
#define SH_PLUGIN_ABI_MINOR_OF(v) ((uint32_t)(v)&0xffffu)

/* True when `host` (a daemon of any 2.x) has the function `field`. */
#define SH_HOST_HAS(host, field)                                                                   \
	(offsetof(struct sh_host, field) + sizeof((host)->field) <= (host)->size)

/* A device as the daemon sees it; opaque to drivers. */
struct sh_device;
/* A timer, an fd watcher and a child watcher on the loop; opaque. */
struct sh_timer;
struct sh_io;

/*
 * A node of the configuration file, with the position it came from, so a
 * driver's own error messages can say file:line:column. Plain data, owned by
 * the daemon and alive from create until destroy.
 */
enum sh_node_type {
	SH_NODE_SCALAR,
	SH_NODE_MAP,
	SH_NODE_SEQ,
};

struct sh_node {
	enum sh_node_type type;
	const char *file;       /* path of the file the node came from */
	unsigned line;          /* 1-based */
	unsigned column;        /* 1-based */
	const char *key;        /* the key when the node is a mapping value, else NULL */
	const char *value;      /* scalars: the text after substitution; else NULL */
	bool quoted;            /* scalars: written in quotes (so "1" is a string) */
	bool used;              /* set by the host's opt_* readers; see create() */
	struct sh_node **items; /* maps: values in file order (their key set); seqs: items */
	size_t n_items;
};

/* Log levels, the syslog priorities. */
enum sh_log_level {
	SH_LOG_ERR = 3,
	SH_LOG_WARNING = 4,
	SH_LOG_NOTICE = 5,
	SH_LOG_INFO = 6,
	SH_LOG_DEBUG = 7,
};

/* Watcher events for io_start / io_set (the same bits as libev's). */
#define SH_IO_READ 0x01
#define SH_IO_WRITE 0x02

typedef void (*sh_timer_cb)(struct sh_device *dev, void *data);
typedef void (*sh_io_cb)(struct sh_device *dev, int fd, int revents, void *data);
typedef void (*sh_child_cb)(struct sh_device *dev, pid_t pid, int wait_status, void *data);
/* Runs on a worker thread: touch only `arg`. */
typedef void (*sh_work_fn)(void *arg);
/* Runs on the loop thread once `work` returned. `dev` is NULL when the
 * device was destroyed meanwhile: then free `arg` and touch nothing else. */
typedef void (*sh_work_done_cb)(struct sh_device *dev, void *arg);
/* A peer's state or availability changed (watch_peer). `state` is
 * borrowed for the call; `online` is the peer's availability. */
typedef void (*sh_peer_cb)(struct sh_device *dev, const char *peer_id, const cJSON *state,
			   bool online, void *data);
/* A message on a topic matching a driver's subscription. `payload` is not
 * NUL-terminated; both are borrowed for the call. `retained` is the
 * message's retain flag as the broker delivered it. */
typedef void (*sh_mqtt_message_cb)(struct sh_device *dev, const char *topic, const void *payload,
				   size_t len, bool retained, void *data);
/* The hub's broker connection came up (after its subscriptions, the
 * driver's included, are restored) or went down. */
typedef void (*sh_mqtt_link_cb)(struct sh_device *dev, bool up, void *data);

/* How many rate-limited complaint slots each device has (complain). */
#define SH_COMPLAIN_SLOTS 8u

/*
 * What the daemon offers a driver. The pointer handed to create() stays
 * valid for the whole life of the plugin.
 */
struct sh_host {
	uint32_t abi_version; /* the daemon's SH_PLUGIN_ABI_VERSION */
	uint32_t size;        /* sizeof(struct sh_host) in the daemon; see SH_HOST_HAS */

	/* --- identity and state ------------------------------------------- */
	const char *(*device_id)(const struct sh_device *dev);
	/* "light", "switch", "speaker", "sensor", ... */
	const char *(*device_kind)(const struct sh_device *dev);
	/* The friendly name (`name:`), or the id when there is none. */
	const char *(*device_name)(const struct sh_device *dev);
	/* The device's current state object; borrowed, valid until the next
	 * call into the host. */
	const cJSON *(*device_state)(const struct sh_device *dev);

	/* --- logging: lines are prefixed with the driver and device id ------
	 * Control characters in the message are escaped by the daemon. */
	void (*log)(struct sh_device *dev, enum sh_log_level level, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));
	/* A condition that may repeat (a device that stays unreachable, a
	 * malformed message every second), after collectd's c_complain: the
	 * first complaint in `slot` (0..SH_COMPLAIN_SLOTS-1) is logged at
	 * `level`, repeats are logged at most once a minute with the number
	 * suppressed meanwhile. */
	void (*complain)(struct sh_device *dev, unsigned slot, enum sh_log_level level,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
	/* The condition of `slot` cleared: logs `fmt` once at NOTICE if there
	 * was a complaint in it since the last clear, else nothing. */
	void (*complain_clear)(struct sh_device *dev, unsigned slot, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));

	/* --- options (only during create) -----------------------------------
	 * Each reader looks up `key` in the device's driver options, marks the
	 * node used, converts it and stores it in *out. A missing key leaves
	 * *out at `def` and returns 0. A value of the wrong type or out of range
	 * is recorded as a configuration error with its position and returns
	 * -EINVAL. After create(), every option no reader asked for is reported
	 * as unknown, so read every option before giving up on the first bad
	 * one: the user then sees all errors in one run, and end create() with
	 * opt_status. Strings and argv stay owned by the daemon until destroy. */
	const struct sh_node *(*opt_node)(struct sh_device *dev, const char *key);
	int (*opt_string)(struct sh_device *dev, const char *key, const char *def,
			  const char **out);
	int (*opt_int)(struct sh_device *dev, const char *key, long long def, long long min,
		       long long max, long long *out);
	int (*opt_double)(struct sh_device *dev, const char *key, double def, double min,
			  double max, double *out);
	int (*opt_bool)(struct sh_device *dev, const char *key, bool def, bool *out);
	/* "250ms", "2s", "5m", "1h" */
	int (*opt_duration_ms)(struct sh_device *dev, const char *key, uint64_t def, uint64_t *out);
	/* A sequence of scalars as a NULL-terminated argv; *out NULL when absent. */
	int (*opt_argv)(struct sh_device *dev, const char *key, const char *const **out);
	/* Records "file:line:column: device <id>: <message>" at `at` (or at the
	 * device when NULL) and makes the configuration invalid. */
	void (*config_error)(struct sh_device *dev, const struct sh_node *at, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));
	/* 0 when no option of this device was refused so far, else the first
	 * error (-EINVAL, -ENOMEM): the value create() returns after reading
	 * every option. */
	int (*opt_status)(struct sh_device *dev);
	/* The node of a key common to every device (`name`, `unit`,
	 * `min_temp`, ...), or NULL when the device's configuration has none.
	 * Reading it does not make it a driver option. */
	const struct sh_node *(*device_option)(const struct sh_device *dev, const char *key);

	/* --- discovery metadata ---------------------------------------------
	 * What the driver knows of the device that Home Assistant discovery and
	 * the bridge's device list show: a JSON object, copied, merged into
	 * what the device had (call it in create, or later once the device has
	 * told). Keys: "supports_flash" (bool), "max_transition" (seconds),
	 * "color_modes" (array of "onoff", "brightness", "color_temp", "rgb",
	 * "hs", "xy"), "min_mireds"/"max_mireds", "effects" (array), "readings"
	 * (object: state key -> {"unit","device_class","state_class"}),
	 * "model", "manufacturer", "sw_version", "discovery" (bool; false: the
	 * device is announced to Home Assistant elsewhere, by its own firmware
	 * or bridge, and the hub leaves it out). The daemon reads no driver
	 * option to learn these; discovery shows what was set when it next
	 * publishes (start-up, reconnect, reload). Returns 0, -EINVAL (not an
	 * object) or -ENOMEM. */
	int (*set_metadata)(struct sh_device *dev, const cJSON *meta);

	/* --- the loop --------------------------------------------------------
	 * Timers: fire once after `after_ms`, then every `repeat_ms` if non-zero.
	 * The returned handle is owned by the driver until timer_stop (which
	 * frees it; NULL is accepted). A one-shot timer stays allocated after it
	 * fired until timer_stop. */
	struct sh_timer *(*timer_start)(struct sh_device *dev, uint64_t after_ms,
					uint64_t repeat_ms, sh_timer_cb cb, void *data);
	void (*timer_stop)(struct sh_timer *timer);
	/* fd watchers: events are SH_IO_READ | SH_IO_WRITE. The fd stays the
	 * driver's; io_stop frees the watcher, not the fd (NULL accepted). */
	struct sh_io *(*io_start)(struct sh_device *dev, int fd, int events, sh_io_cb cb,
				  void *data);
	void (*io_set)(struct sh_io *io, int events);
	void (*io_stop)(struct sh_io *io);
	/* Calls cb once when child `pid` exits, with its wait status, and reaps
	 * it (no zombie). Returns 0 or a negative errno. */
	int (*child_watch)(struct sh_device *dev, pid_t pid, sh_child_cb cb, void *data);
	/* Milliseconds of the loop's monotonic clock. */
	uint64_t (*now_ms)(struct sh_device *dev);

	/* --- the worker pool -------------------------------------------------
	 * Runs work(arg) on a worker thread, then done(dev, arg) on the loop
	 * thread. `arg` stays the driver's. Returns 0, or -EAGAIN when the
	 * pool's queue is full (SH_WORK_QUEUE_LIMIT jobs). */
	int (*work_submit)(struct sh_device *dev, sh_work_fn work, sh_work_done_cb done, void *arg);

	/* --- polling -----------------------------------------------------------
	 * Makes the daemon call refresh() every `interval_ms` while the device
	 * is online (0 stops). A poll due while a command runs waits until it
	 * completes, and polls never queue up: a slow device is polled at most
	 * once per interval. Survives reconnects; ends with the device.
	 * -EOPNOTSUPP for a driver without refresh(). */
	int (*poll_every)(struct sh_device *dev, uint64_t interval_ms);

	/* --- peers -------------------------------------------------------------
	 * The state of another device of the hub (borrowed, valid until the
	 * next call into the host), or NULL when there is none by that id. */
	const cJSON *(*peer_state)(struct sh_device *dev, const char *peer_id);
	/* Calls cb whenever device `peer_id`'s state or availability changes,
	 * and once on a later loop iteration with its current one. For drivers
	 * that model a physical link, such as a speaker powered through a
	 * smart plug. -ENOENT when the configuration the device belongs to
	 * has no such device. Ends with the device (or a reload that removes
	 * the peer: cb is then called with state NULL and online false; a
	 * peer that comes back is watched again). */
	int (*watch_peer)(struct sh_device *dev, const char *peer_id, sh_peer_cb cb, void *data);

	/* --- MQTT on the hub's own connection ------------------------------------
	 * For devices that speak MQTT themselves (Zigbee2MQTT, Tasmota, ...).
	 * Subscribes to `filter` (MQTT wildcards allowed) at `qos`; messages
	 * arrive on the loop thread through cb. Returns a subscription id (> 0)
	 * or -EPERM for a filter that overlaps the hub's own base topic, -EINVAL
	 * for a malformed filter, -ENOSYS when the hub has no broker (a
	 * configuration check). Subscriptions are restored after every
	 * reconnect and released with the device. */
	int (*mqtt_subscribe)(struct sh_device *dev, const char *filter, int qos,
			      sh_mqtt_message_cb cb, void *data);
	void (*mqtt_unsubscribe)(struct sh_device *dev, int subscription);
	/* Publishes `len` bytes (copied). -ENOTCONN while the hub is not
	 * connected (nothing is queued: re-send on the link callback), -EPERM
	 * under the hub's base topic, -EINVAL for a topic with wildcards. */
	int (*mqtt_publish)(struct sh_device *dev, const char *topic, const void *payload,
			    size_t len, int qos, bool retain);
	/* Calls cb with up = true each time the hub's broker connection is
	 * (re)established, after subscriptions are restored, and up = false
	 * when it is lost; when already up, once on a later loop iteration. */
	int (*mqtt_watch_link)(struct sh_device *dev, sh_mqtt_link_cb cb, void *data);

	/* --- reports ---------------------------------------------------------
	 * connected: the connect started by connect() succeeded.
	 * failed: the connection attempt failed or an online connection was
	 *   lost; the daemon tells which, calls disconnect() and retries with
	 *   backoff. `reason` is copied. */
	void (*connected)(struct sh_device *dev);
	void (*failed)(struct sh_device *dev, const char *reason);
	/* Merges the members of `patch` (an object; borrowed) into the device's
	 * state and publishes it if anything changed. */
	void (*state_update)(struct sh_device *dev, const cJSON *patch);
	/* Completes command `id` (from command()). err is 0 or a negative errno;
	 * `reason` (copied, may be NULL on success) says why it failed. A
	 * completion for a command that timed out is ignored. */
	void (*command_done)(struct sh_device *dev, uint64_t id, int err, const char *reason);
	/* A momentary event of the device (a button press: {"event":"single"}),
	 * published unretained on <base>/<id>/event and seen by automations
	 * and scene waits. Borrowed. Every call is an event, repeats included. */
	void (*event)(struct sh_device *dev, const cJSON *event);

	/* --- 2.1 ---------------------------------------------------------------
	 * "Did you mean", by the daemon's own rule, so a driver's messages
	 * read like the configuration's: the entry of `names` (NULL-terminated)
	 * that `word` is a near miss of, or NULL (also when `word` is one of
	 * them). Returns a pointer into `names`. For option values and nested
	 * keys: an unknown top-level option gets its suggestion from the
	 * daemon, among the keys the driver asked for. Any time. */
	const char *(*suggest)(const char *word, const char *const *names);
	/* The device's command_timeout and connect_timeout in milliseconds,
	 * as the daemon parsed them (10 s when the file has none): the daemon
	 * gives up on a command or a connection attempt after them, so a
	 * driver that bounds its own requests uses the same figures without
	 * parsing the common keys itself. Any time. */
	uint64_t (*command_timeout_ms)(const struct sh_device *dev);
	uint64_t (*connect_timeout_ms)(const struct sh_device *dev);

	/* New functions of later 2.x minors are appended here. */
};

/*
 * What a plugin exports. Callbacks that return int return 0 or a negative
 * errno. `priv` is the driver's per-device state, made by create.
 */
struct sh_driver {
	uint32_t abi_version;     /* SH_PLUGIN_ABI_VERSION; must stay first */
	const char *name;         /* the plugin file's name without ".so"; the loader
				     refuses a plugin whose name differs */
	const char *const *kinds; /* device kinds it drives, NULL-terminated */

	/* Reads and validates the device's options through host->opt_*, keeps
	 * `host` and `dev` in its state, does no I/O. On success *priv is the
	 * driver's. On failure it has recorded errors via host->config_error
	 * (or returns one with a message logged) and frees what it made. */
	int (*create)(struct sh_device *dev, const struct sh_host *host, void **priv);
	/* Starts connecting; reports later through host->connected or
	 * host->failed. */
	int (*connect)(void *priv);
	/* Starts command `id`: a JSON object already validated against the
	 * device kind's properties (borrowed: copy what outlives the call).
	 * Completes later through host->command_done (a call made before
	 * command() returns is delivered after it). Called only while online,
	 * one command at a time. May be
	 * NULL for a driver whose kinds are all "sensor" (they take none). */
	int (*command)(void *priv, uint64_t id, const cJSON *command);
	/* Re-reads the state from the device and reports it with
	 * host->state_update. May be NULL. Called only while online. */
	int (*refresh)(void *priv);
	/* Drops the connection and every timer, watcher and pending work of
	 * the device; reports nothing. Safe to call when not connected. */
	void (*disconnect)(void *priv);
	/* Frees priv; the device is disconnected first. NULL accepted. */
	void (*destroy)(void *priv);

	/* Optional callbacks of later 2.x minors are appended here; the daemon
	 * reads them only from plugins built for that minor or later. */
};

/*
 * A plugin defines its descriptor as
 *   SH_DRIVER_EXPORT const struct sh_driver sh_driver_descriptor = {
 *           .abi_version = SH_PLUGIN_ABI_VERSION, .name = "mpd", ... };
 */
#define SH_DRIVER_SYMBOL "sh_driver_descriptor"
#define SH_DRIVER_EXPORT __attribute__((visibility("default")))

/* How many jobs may wait for a worker before work_submit says -EAGAIN. */
#define SH_WORK_QUEUE_LIMIT 256

#ifdef __cplusplus
}
#endif

#endif /* SMARTHUB_PLUGIN_H */
