/* SPDX-License-Identifier: MIT */
/*
 * The driver ABI: the one header a smarthub plugin includes.
 *
 * A plugin is a shared object in the plugin directory that exports one
 * symbol, `sh_driver_descriptor` (see SH_DRIVER_EXPORT), a `struct sh_driver`
 * whose first field is the ABI version it was built for. The daemon reads
 * that field before anything else and refuses a plugin of another version.
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
 * host->connect_failed later (or the daemon's connect_timeout fires and it
 * calls disconnect). After disconnect returns, the driver holds no timers,
 * watchers or sockets, and reports nothing until the next connect.
 *
 * JSON is cJSON (libcjson); plugins link it themselves.
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

/* Bumped on any incompatible change of struct sh_driver or struct sh_host. */
#define SH_PLUGIN_ABI_VERSION 1u

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

/*
 * What the daemon offers a driver. The pointer handed to create() stays
 * valid for the whole life of the plugin.
 */
struct sh_host {
	uint32_t abi_version;

	/* --- identity and state ------------------------------------------- */
	const char *(*device_id)(const struct sh_device *dev);
	/* "light", "switch", "speaker", "sensor" */
	const char *(*device_kind)(const struct sh_device *dev);
	/* The device's current state object; borrowed, valid until the next
	 * call into the host. */
	const cJSON *(*device_state)(const struct sh_device *dev);

	/* --- logging: lines are prefixed with the device id ---------------- */
	void (*log)(struct sh_device *dev, enum sh_log_level level, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));

	/* --- options (only during create) -----------------------------------
	 * Each reader looks up `key` in the device's driver options, marks the
	 * node used, converts it and stores it in *out. A missing key leaves
	 * *out at `def` and returns 0. A value of the wrong type or out of range
	 * is recorded as a configuration error with its position and returns
	 * -EINVAL. After create(), every option no reader asked for is reported
	 * as unknown, so read every option before giving up on the first bad
	 * one: the user then sees all errors in one run. Strings and argv stay owned by the daemon until destroy. */
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

	/* --- reports ---------------------------------------------------------
	 * connected: the connect started by connect() succeeded.
	 * connect_failed: it failed; the daemon calls disconnect() and retries
	 *   with backoff. `reason` is copied.
	 * connection_lost: an online device lost its connection; the same. */
	void (*connected)(struct sh_device *dev);
	void (*connect_failed)(struct sh_device *dev, const char *reason);
	void (*connection_lost)(struct sh_device *dev, const char *reason);
	/* Merges the members of `patch` (an object; borrowed) into the device's
	 * state and publishes it if anything changed. */
	void (*state_update)(struct sh_device *dev, const cJSON *patch);
	/* Completes command `id` (from command()). err is 0 or a negative errno;
	 * `reason` (copied, may be NULL on success) says why it failed. A
	 * completion for a command that timed out is ignored. */
	void (*command_done)(struct sh_device *dev, uint64_t id, int err, const char *reason);

	/* --- peers -------------------------------------------------------------
	 * The state of another device of the hub (borrowed, valid until the
	 * next call into the host), or NULL when there is none by that id.
	 * For drivers that model a physical link, such as a speaker powered
	 * through a smart plug. */
	const cJSON *(*peer_state)(struct sh_device *dev, const char *peer_id);
};

/*
 * What a plugin exports. Callbacks that return int return 0 or a negative
 * errno. `priv` is the driver's per-device state, made by create.
 */
struct sh_driver {
	uint32_t abi_version;     /* SH_PLUGIN_ABI_VERSION; must stay first */
	const char *name;         /* the plugin file's name without ".so" */
	const char *const *kinds; /* device kinds it drives, NULL-terminated */

	/* Reads and validates the device's options through host->opt_*, keeps
	 * `host` and `dev` in its state, does no I/O. On success *priv is the
	 * driver's. On failure it has recorded errors via host->config_error
	 * (or returns one with a message logged) and frees what it made. */
	int (*create)(struct sh_device *dev, const struct sh_host *host, void **priv);
	/* Starts connecting; reports later through host->connected or
	 * host->connect_failed, possibly before returning. */
	int (*connect)(void *priv);
	/* Starts command `id`: a JSON object already validated against the
	 * device kind's properties (borrowed: copy what outlives the call).
	 * Completes later through host->command_done, possibly before
	 * returning. Called only while online, one command at a time. May be
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
