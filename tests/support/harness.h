/* SPDX-License-Identifier: MIT */
/*
 * The integration-test harness: what a test needs to drive smarthub the way
 * a user does. Free loopback ports and temporary directories; a private
 * mosquitto (the real broker) on 127.0.0.1; the real smarthubd as a child
 * process with its own configuration and log; any other server (mpd) as a
 * child; and an MQTT client that records every message it receives and
 * lets the test wait for the one it expects.
 *
 * Every child the harness starts is registered: it is killed when the test
 * process exits (atexit) and, through PR_SET_PDEATHSIG, when the test
 * process dies without exiting. Every temporary directory is registered the
 * same way and removed at exit if the test did not remove it. Children run
 * without the caller's NOTIFY_SOCKET, WATCHDOG_* and JOURNAL_STREAM, so a
 * suite run under systemd behaves like one run from a shell.
 *
 * Waits are bounded by the timeout the caller gives and never assert on
 * elapsed time. Functions that fail return 0 or a negative errno, or NULL
 * for pointers. Not thread-safe except th_mqtt_*, which may be called from
 * any thread while Paho delivers messages on its own.
 */
#ifndef SMARTHUB_TEST_HARNESS_H
#define SMARTHUB_TEST_HARNESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* 1 in the sanitizer build (scripts/test --sanitize, and CI): the daemon
 * and the tests run under AddressSanitizer, whose shadow memory and
 * quarantine make RSS figures meaningless and everything slower. A test of
 * memory growth skips that check when TH_SANITIZED. */
#if defined(__SANITIZE_ADDRESS__)
#define TH_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TH_SANITIZED 1
#endif
#endif
#ifndef TH_SANITIZED
#define TH_SANITIZED 0
#endif

/* ---- ports and files ---- */

/* A TCP port on 127.0.0.1 that was free a moment ago; -errno on failure. */
int th_free_port(void);
/* mkdtemp under $TMPDIR or /tmp ("smarthub-test-<pid>-XXXXXX"); the caller
 * frees the string and removes the directory with th_rmtree(). Directories
 * left by test processes that no longer exist (killed with SIGKILL) are
 * removed by the next test process that uses the harness. */
char *th_tempdir(void);
/* Removes path and everything below it (no error if absent). */
void th_rmtree(const char *path);
/* Creates or truncates path with text. 0 or -errno. */
int th_write_file(const char *path, const char *text);
/* The whole file, NUL-terminated; NULL if unreadable. Caller frees. */
char *th_read_file(const char *path);
/* Whether `text` has a line that starts with `start` and contains `needle`
 * (NULL: anything), e.g. the "topic payload" lines of mosquitto_sub -v. */
bool th_text_has_line(const char *text, const char *start, const char *needle);
/* Waits (at most timeout_ms) until the file at `path` has such a line. */
bool th_wait_file_line(const char *path, const char *start, const char *needle, int timeout_ms);
/* malloc'd printf; aborts on out of memory (tests only). Caller frees. */
char *th_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- a private mosquitto ---- */

struct th_broker {
	pid_t pid; /* 0 when not running */
	int port;
	char *dir; /* mosquitto.conf and mosquitto.log while running */
};

/* Starts mosquitto listening on 127.0.0.1:port (0 = pick a free one),
 * allow_anonymous true, persistence false, and waits (at most 10 s) until it
 * accepts connections. Zero-initialise *b first, or pass a stopped broker to
 * start it again on the same port. 0 or -errno. */
int th_broker_start(struct th_broker *b, int port);
/* The same with extra mosquitto.conf lines appended (a TLS listener, an
 * acl_file, ...). Relative paths in extra_conf resolve against b->dir only
 * if the caller writes them there; prefer absolute paths. */
int th_broker_start_conf(struct th_broker *b, int port, const char *extra_conf);
/* SIGTERM and reap; keeps b->port so th_broker_start(b, b->port) restarts
 * it on the same port. Removes b->dir. Accepts a stopped broker. */
void th_broker_stop(struct th_broker *b);
/* The same with SIGKILL: the broker gets no chance to say goodbye. */
void th_broker_kill(struct th_broker *b);

/* ---- the real smarthubd as a child process ---- */

struct th_daemon {
	pid_t pid;         /* 0 once it has been reaped */
	char *dir;         /* the daemon's own temporary directory */
	char *config_path; /* <dir>/smarthub.yaml */
	char *log_path;    /* <dir>/smarthubd.log: stdout and stderr, appended */
};

/*
 * Writes yaml to <dir>/smarthub.yaml and runs
 *   SMARTHUBD_PATH -c <config> --plugin-dir SMARTHUB_PLUGIN_BUILD_DIR
 *                  --log-level debug <extra_args...>
 * with extra_env ("K=V") added to the environment; both lists are
 * NULL-terminated and may be NULL. Returns as soon as the child is forked.
 *
 * Zero-initialise *d first. If d->dir is already set (a th_tempdir() where
 * the test put secrets.yaml and the like), that directory is used; if yaml
 * is NULL, an existing <dir>/smarthub.yaml is used as it is. Calling it
 * again after the daemon exited (th_daemon_wait) restarts it in the same
 * directory, appending to the same log. The environment variable
 * SMARTHUBD_PATH overrides the built binary. 0 or -errno.
 */
int th_daemon_start(struct th_daemon *d, const char *yaml, const char *const *extra_args,
		    const char *const *extra_env);
/* kill(2) to the daemon. 0 or -errno (-ESRCH when it is not running). */
int th_daemon_signal(struct th_daemon *d, int sig);
/* Waits at most timeout_ms for the daemon to exit and reaps it; *wait_status
 * (if given) gets the waitpid status (use WIFEXITED/WEXITSTATUS).
 * 0, -ETIMEDOUT if still running, -ECHILD if it was not running. */
int th_daemon_wait(struct th_daemon *d, int timeout_ms, int *wait_status);
/* SIGTERM, wait up to 5 s, then SIGKILL; removes d->dir and frees the
 * strings; *d is zeroed. Accepts a stopped or never-started daemon. */
void th_daemon_stop(struct th_daemon *d);
/* The log so far (NUL-terminated, "" if empty). Caller frees. */
char *th_daemon_log(const struct th_daemon *d);
/* Waits at most timeout_ms until the log contains needle. */
bool th_daemon_wait_log(const struct th_daemon *d, const char *needle, int timeout_ms);

/* ---- other programs ---- */

/* Runs argv (argv[0] looked up in PATH) to completion with extra_env added,
 * capturing stdout and stderr together into *output (NUL-terminated, caller
 * frees; may be NULL to discard). *exit_status gets the exit code, or
 * 128 + signal if it was killed. Killed after 60 s. 0 or -errno. */
int th_run(const char *const *argv, const char *const *extra_env, char **output, int *exit_status);
/* Starts argv as a registered child (killed at exit like the others) with
 * stdout and stderr appended to log_path (NULL = /dev/null). pid or -errno. */
pid_t th_spawn(const char *const *argv, const char *const *extra_env, const char *log_path);
/* SIGTERM, wait at most timeout_ms, then SIGKILL; reaps. The wait status,
 * or -errno. */
int th_child_stop(pid_t pid, int timeout_ms);
/* Waits at most timeout_ms until something accepts TCP connections on
 * 127.0.0.1:port. */
bool th_wait_port(int port, int timeout_ms);

/* ---- waiting on a fake's state ---- */

/* A condition variable on the monotonic clock, for th_cond_wait_until. */
void th_cond_init(pthread_cond_t *cond);
/* With `lock` held: waits on `cond` until done(arg) holds (checked now and
 * at every wake-up) or timeout_ms passed. Whether it held. */
bool th_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *lock, bool (*done)(void *arg),
			void *arg, int timeout_ms);

/* ---- an MQTT test client ---- */

/* At most this many messages are kept; beyond it the oldest are forgotten. */
#define TH_MQTT_MAX_MESSAGES 100000
/* ... and at most this many payload bytes in all. */
#define TH_MQTT_MAX_BYTES (256u << 20)

struct th_mqtt;

/* Connects to 127.0.0.1:port (MQTT 5, clean start, Paho MQTTAsync) and waits for
 * the CONNACK (at most 10 s). It reconnects by itself if the broker restarts
 * and subscribes again to every filter. NULL on failure. */
struct th_mqtt *th_mqtt_connect(int port, const char *client_id);
/* The same with a user name and password (either may be NULL). */
struct th_mqtt *th_mqtt_connect_auth(int port, const char *client_id, const char *username,
				     const char *password);
/* Subscribes with QoS 1 (retain-as-published) and waits for the SUBACK.
 * 0 or -errno. */
int th_mqtt_subscribe(struct th_mqtt *c, const char *filter);
/* Publishes with QoS 1 and waits until the broker has it. 0 or -errno:
 * -EACCES when the broker's ACL refuses it, -ENOTCONN while disconnected. */
int th_mqtt_publish(struct th_mqtt *c, const char *topic, const char *payload, size_t len,
		    bool retained);
/* Publishes each line of `lines` to `topic` at QoS 0, as mosquitto_pub -l
 * sends a file: a burst, as fast as the connection takes it. Returns once
 * the last line has been written to the socket (QoS 0 goes out in order,
 * so then every line has). 0 or -errno. */
int th_mqtt_publish_lines(struct th_mqtt *c, const char *topic, const char *lines);
/* Waits at most timeout_ms for a message on exactly `topic` whose payload
 * contains `contains` (NULL = any). Messages already received count too:
 * returns a copy of the oldest match, NUL-terminated, caller frees; NULL on
 * timeout. Nothing is consumed (th_mqtt_clear forgets). */
char *th_mqtt_wait(struct th_mqtt *c, const char *topic, const char *contains, int timeout_ms);
/* The same, matching when the payload is a JSON object holding every member
 * of the JSON object `subset`, each deeply equal. */
char *th_mqtt_wait_json(struct th_mqtt *c, const char *topic, const char *subset, int timeout_ms);
/* The same for a message of any payload on a topic matching the MQTT
 * filter (`+`, `#`); its payload, or NULL on timeout. */
char *th_mqtt_wait_filter(struct th_mqtt *c, const char *filter, int timeout_ms);
/* The latest payload received on exactly `topic`, or NULL. Caller frees. */
char *th_mqtt_last(struct th_mqtt *c, const char *topic);
/* Whether the latest message on `topic` was retained: subscriptions are
 * retain-as-published, so this holds for a message its publisher retained
 * whether it arrived live or as the stored message on subscribe. */
bool th_mqtt_last_retained(struct th_mqtt *c, const char *topic);
/* How many messages (still kept) arrived on exactly `topic`. */
size_t th_mqtt_count(struct th_mqtt *c, const char *topic);
/* The topic of every message kept, oldest first, one a line. Caller frees. */
char *th_mqtt_topics(struct th_mqtt *c);
/* Forgets everything received so far. */
void th_mqtt_clear(struct th_mqtt *c);
/* Disconnects and frees; accepts NULL. */
void th_mqtt_close(struct th_mqtt *c);

#endif
