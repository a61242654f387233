/* SPDX-License-Identifier: MIT */
/*
 * The one integration fixture: a private mosquitto, the real smarthubd, a
 * client that records everything the hub publishes, a temporary directory,
 * and a single teardown for all of them. Built on harness.h.
 *
 * Criterion runs each test in its own process, so the fixture is one
 * global, `th_fx`; a suite declares
 *     TestSuite(name, .fini = th_fixture_teardown);
 * and a test starts what it needs. Every th_fixture_* function asserts
 * (cr_assert) instead of returning an error: a fixture that cannot start is
 * a failed test, with the daemon's log in the message where it helps.
 */
#ifndef SMARTHUB_TEST_FIXTURE_H
#define SMARTHUB_TEST_FIXTURE_H

#include "harness.h"

#include <cjson/cJSON.h>

/* Generous bound for anything to happen: a guard, not a timing check. */
#define TH_WAIT_MS 15000

struct th_fixture {
	char *dir; /* the test's own files; the daemon's too unless it has one */
	struct th_broker broker;
	struct th_daemon daemon;
	struct th_mqtt *mqtt; /* subscribed to smarthub/# and homeassistant/# */
	char *url;            /* the daemon's mqtt.url if set (malloc'd, freed by
				 the teardown); else tcp://127.0.0.1:<port> */
	pid_t watch;          /* th_fixture_watch's mosquitto_sub, or 0 */
	char *watch_log;      /* ... and what it printed (malloc'd) */
};

extern struct th_fixture th_fx;

/* Stops the client, the daemon and the broker, removes the directory and
 * zeroes th_fx. Safe on a fixture that started nothing. */
void th_fixture_teardown(void);
/* Stops the daemon only (before a server the test stops itself), keeping
 * the directory. */
void th_fixture_stop_daemon(void);
/* The test's temporary directory, made on first use (owned by th_fx). */
const char *th_fixture_dir(void);
/* <dir>/<name>, malloc'd. */
char *th_fixture_path(const char *name);
/* An executable shell script <dir>/<name>: "#!/bin/sh\n" and `body`.
 * Its path; caller frees. */
char *th_fixture_script(const char *name, const char *body);
/* Starts the broker with extra mosquitto.conf lines (NULL: none) and the
 * recording client. On th_fx.broker.port when a test set it (the daemon
 * started first, against a broker that is not there yet), else on a free
 * port. */
void th_fixture_start_broker(const char *extra_conf);
/* A broker that lets in only `users` ({name, password, name, password,
 * ..., NULL}: written to <dir>/passwd with mosquitto_passwd), with extra
 * mosquitto.conf lines (NULL: none; they come last, so
 * "allow_anonymous true" there lets anonymous clients in too). No recording client: it would be
 * anonymous; th_fixture_watch watches as a user. */
void th_fixture_start_broker_users(const char *const *users, const char *extra_conf);
/* mosquitto_sub -v on smarthub/# as `user`, printing to <dir>/watch.log,
 * until the teardown. */
void th_fixture_watch(const char *user, const char *password, const char *client_id);
/* Waits until the watcher printed a line starting with `start` and
 * holding `needle` (NULL: anything); fails the test with what it printed
 * and the daemon's log if none comes. */
void th_fixture_expect_seen(const char *start, const char *needle);
/* mosquitto_pub of one message at QoS 1 as `user` (retained if asked);
 * fails the test unless it ran. A publish the broker's ACL denies still
 * succeeds for an MQTT 3.1.1 publisher: the broker drops it. */
void th_fixture_publish_as(const char *user, const char *password, const char *topic,
			   const char *payload, bool retain);
/* What a client of `user` that subscribes now gets, retained, on `topic`
 * (waiting 5 s at most): its payload, "" if none. Caller frees. */
char *th_fixture_retained_as(const char *user, const char *password, const char *topic);
/* Another recording client, subscribed to smarthub/# and homeassistant/#
 * (a late subscriber sees what is retained). Caller closes it. */
struct th_mqtt *th_fixture_client(const char *client_id);
/* The configuration th_fixture_start_daemon writes, for a test that
 * rewrites it before a reload. Caller frees. */
char *th_fixture_config(const char *mqtt_extra, const char *body);
/*
 * Starts the daemon (in th_fx.daemon.dir if the test set it, else in
 * th_fixture_dir()) with this configuration:
 *   mqtt:
 *     url: <th_fx.url, or tcp://127.0.0.1:<broker port>>
 *     <mqtt_extra: lines indented by two spaces, or NULL>
 *   log:
 *     level: debug
 *   <body: devices, scenes, ... or NULL>
 * extra_args and extra_env as for th_daemon_start (may be NULL). The broker
 * need not run yet if th_fx.broker.port is set.
 */
void th_fixture_start_daemon(const char *mqtt_extra, const char *body,
			     const char *const *extra_args, const char *const *extra_env);
/* The daemon on exactly `yaml` (from th_fixture_config, or written by the
 * test), in the same directory th_fixture_start_daemon uses. */
void th_fixture_start_daemon_yaml(const char *yaml, const char *const *extra_args,
				  const char *const *extra_env);
/* The broker, then the daemon with `body` and nothing else. */
void th_fixture_start(const char *body);
/* The same with `devices` (lines already indented under `devices:`). */
void th_fixture_start_devices(const char *devices);
/* "devices:" with `n` virtual lights l0 .. l<n-1>, for load tests.
 * Caller frees. */
char *th_fixture_virtual_lights(int n);
/* Waits for a message on `topic` holding the JSON members of `subset`;
 * fails the test with the daemon's log if none comes. Caller frees. */
char *th_fixture_expect_json(const char *topic, const char *subset);
/* A bridge request: {<members>,"transaction":"<transaction>"} (members:
 * JSON object members, "" for none) on smarthub/bridge/request/<what>.
 * Its response, parsed; fails the test if none comes. Caller frees. */
cJSON *th_fixture_request(const char *what, const char *members, const char *transaction);
/* The same, for a test that needs only to know it came. */
void th_fixture_expect(const char *topic, const char *subset);
/* Forgets what the recording client got so far, then publishes `payload`
 * to smarthub/<device>/set: what is expected after it is what it caused. */
void th_fixture_set(const char *device, const char *payload);
/* Waits for a state of `device` holding the JSON members of `subset`;
 * fails the test with the last state and the daemon's log if none comes. */
void th_fixture_expect_state(const char *device, const char *subset);
/* The same for a device's availability turning `state` (online,
 * offline), and online. */
void th_fixture_expect_availability(const char *device, const char *state);
void th_fixture_expect_online(const char *device);

/* smarthubd --check-config on `yaml` (its own directory): fails the test
 * unless it refuses it (exit 78); its output. Caller frees. */
char *th_fixture_refused_config(const char *yaml);
/* A real mpd's configuration, <dir>/mpd.conf: on 127.0.0.1:port, songs
 * in `music`, playlists in `playlists`, its database and log in the
 * directory, one null output, then the `extra` lines ("" for none). */
void th_fixture_mpd_conf(int port, const char *music, const char *playlists, const char *extra);
/* mpd on <dir>/mpd.conf, once it listens on `port` (its output in
 * <dir>/mpd.out); its pid, for th_child_stop. */
pid_t th_fixture_mpd_start(int port);
/* Runs argv to completion (th_run); fails the test with its output unless
 * it exits 0. */
void th_fixture_run_ok(const char *const *argv);
/* A self-signed EC test CA in th_fixture_dir(): <name>.crt and <name>.key. */
void th_fixture_make_ca(const char *name);
/* <name>.crt/.key for subject CN `cn`, signed by the CA <ca>, with the
 * openssl x509 extensions in ext_text (subjectAltName=..., and so on). */
void th_fixture_make_cert(const char *name, const char *ca, const char *cn, const char *ext_text);

#endif
