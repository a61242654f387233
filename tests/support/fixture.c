// SPDX-License-Identifier: MIT
/*
 * The shared integration fixture (fixture.h): what every integration test
 * used to set up and tear down by hand.
 */
#include "fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

struct th_fixture th_fx;

void th_fixture_stop_daemon(void)
{
	/* th_daemon_stop removes the daemon's directory; when it is the
	 * test's own, that stays until the teardown. */
	if (th_fx.daemon.dir == th_fx.dir)
		th_fx.daemon.dir = NULL;
	th_daemon_stop(&th_fx.daemon);
}

void th_fixture_teardown(void)
{
	if (th_fx.watch > 0)
		th_child_stop(th_fx.watch, 2000);
	free(th_fx.watch_log);
	th_mqtt_close(th_fx.mqtt);
	th_fixture_stop_daemon();
	th_broker_stop(&th_fx.broker);
	if (th_fx.dir)
		th_rmtree(th_fx.dir);
	free(th_fx.dir);
	free(th_fx.url);
	memset(&th_fx, 0, sizeof(th_fx));
}

const char *th_fixture_dir(void)
{
	if (!th_fx.dir) {
		th_fx.dir = th_tempdir();
		cr_assert_not_null(th_fx.dir, "cannot make a temporary directory");
	}
	return th_fx.dir;
}

char *th_fixture_path(const char *name)
{
	return th_strdupf("%s/%s", th_fixture_dir(), name);
}

char *th_fixture_script(const char *name, const char *body)
{
	char *path = th_fixture_path(name);
	char *text = th_strdupf("#!/bin/sh\n%s", body);
	cr_assert_eq(th_write_file(path, text), 0);
	cr_assert_eq(chmod(path, 0755), 0);
	free(text);
	return path;
}

void th_fixture_start_broker(const char *extra_conf)
{
	int port = th_fx.broker.port;
	int r = extra_conf ? th_broker_start_conf(&th_fx.broker, port, extra_conf)
			   : th_broker_start(&th_fx.broker, port);
	cr_assert_eq(r, 0, "mosquitto did not start: %s", strerror(-r));
	th_fx.mqtt = th_fixture_client("test-fixture");
}

void th_fixture_start_broker_users(const char *const *users, const char *extra_conf)
{
	char *passwd = th_fixture_path("passwd");
	for (size_t i = 0; users[i] && users[i + 1]; i += 2) {
		const char *create[] = {"mosquitto_passwd", "-b",         "-c", passwd,
					users[i],           users[i + 1], NULL};
		const char *add[] = {"mosquitto_passwd", "-b",         passwd,
				     users[i],           users[i + 1], NULL};
		th_fixture_run_ok(i == 0 ? create : add);
	}
	char *conf = th_strdupf("allow_anonymous false\npassword_file %s\n%s", passwd,
				extra_conf ? extra_conf : "");
	int r = th_broker_start_conf(&th_fx.broker, th_fx.broker.port, conf);
	cr_assert_eq(r, 0, "mosquitto did not start: %s", strerror(-r));
	free(conf);
	free(passwd);
}

/* Room for a mosquitto client's arguments. */
#define TH_CLIENT_ARGS_MAX 32

/* A mosquitto client (`tool`) on the test broker as `user`: its argv in
 * `argv`, then `rest` up to its NULL. `port` holds the port's text. */
static void client_argv(const char **argv, char *port, size_t port_len, const char *tool,
			const char *user, const char *password, const char *const *rest)
{
	size_t n = 0;
	snprintf(port, port_len, "%d", th_fx.broker.port);
	const char *head[] = {tool, "-h", "127.0.0.1", "-p", port, "-u", user, "-P", password};
	for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
		argv[n++] = head[i];
	for (size_t i = 0; rest[i] && n + 1 < TH_CLIENT_ARGS_MAX; i++)
		argv[n++] = rest[i];
	argv[n] = NULL;
}

void th_fixture_watch(const char *user, const char *password, const char *client_id)
{
	char port[16];
	const char *argv[TH_CLIENT_ARGS_MAX];
	const char *rest[] = {"-i", client_id, "-t", "smarthub/#", "-v", NULL};
	client_argv(argv, port, sizeof(port), "mosquitto_sub", user, password, rest);
	cr_assert_eq(th_fx.watch, 0, "one watcher a test");
	th_fx.watch_log = th_fixture_path("watch.log");
	th_fx.watch = th_spawn(argv, NULL, th_fx.watch_log);
	cr_assert_gt(th_fx.watch, 0, "cannot start mosquitto_sub");
}

void th_fixture_expect_seen(const char *start, const char *needle)
{
	if (th_wait_file_line(th_fx.watch_log, start, needle, TH_WAIT_MS))
		return;
	char *text = th_read_file(th_fx.watch_log);
	cr_assert_fail("the broker never carried %s with %s; it carried:\n%s\ndaemon log:\n%s",
		       start, needle ? needle : "anything", text ? text : "",
		       th_daemon_log(&th_fx.daemon));
}

void th_fixture_publish_as(const char *user, const char *password, const char *topic,
			   const char *payload, bool retain)
{
	char port[16];
	const char *argv[TH_CLIENT_ARGS_MAX];
	const char *rest[] = {"-q", "1", "-t", topic, "-m", payload, retain ? "-r" : NULL, NULL};
	client_argv(argv, port, sizeof(port), "mosquitto_pub", user, password, rest);
	th_fixture_run_ok(argv);
}

char *th_fixture_retained_as(const char *user, const char *password, const char *topic)
{
	char port[16];
	const char *argv[TH_CLIENT_ARGS_MAX];
	const char *rest[] = {"-t", topic, "-C", "1", "-W", "5", "--retained-only", NULL};
	client_argv(argv, port, sizeof(port), "mosquitto_sub", user, password, rest);
	char *out = NULL;
	int status = -1;
	cr_assert_eq(th_run(argv, NULL, &out, &status), 0);
	return out ? out : strdup("");
}

struct th_mqtt *th_fixture_client(const char *client_id)
{
	struct th_mqtt *c = th_mqtt_connect(th_fx.broker.port, client_id);
	cr_assert_not_null(c, "cannot connect to the test broker");
	cr_assert_eq(th_mqtt_subscribe(c, "smarthub/#"), 0);
	cr_assert_eq(th_mqtt_subscribe(c, "homeassistant/#"), 0);
	return c;
}

/* Indents every line of `text` by two spaces (for lines under mqtt:). */
static char *indented(const char *text)
{
	size_t n = strlen(text), lines = 1;
	for (size_t i = 0; i < n; i++)
		lines += text[i] == '\n';
	char *out = malloc(n + 2 * lines + 2);
	cr_assert_not_null(out);
	char *o = out;
	bool line_start = true;
	for (const char *p = text; *p; p++) {
		if (line_start && *p != '\n') {
			*o++ = ' ';
			*o++ = ' ';
		}
		*o++ = *p;
		line_start = *p == '\n';
	}
	if (o > out && o[-1] != '\n')
		*o++ = '\n';
	*o = '\0';
	return out;
}

void th_fixture_start_daemon_yaml(const char *yaml, const char *const *extra_args,
				  const char *const *extra_env)
{
	if (!th_fx.daemon.dir)
		th_fx.daemon.dir = (char *)th_fixture_dir();
	int r = th_daemon_start(&th_fx.daemon, yaml, extra_args, extra_env);
	cr_assert_eq(r, 0, "smarthubd did not start: %s", strerror(-r));
}

void th_fixture_start_daemon(const char *mqtt_extra, const char *body,
			     const char *const *extra_args, const char *const *extra_env)
{
	cr_assert(th_fx.broker.port > 0, "start the broker (or choose its port) first");
	char *yaml = th_fixture_config(mqtt_extra, body);
	th_fixture_start_daemon_yaml(yaml, extra_args, extra_env);
	free(yaml);
}

char *th_fixture_config(const char *mqtt_extra, const char *body)
{
	char *extra = indented(mqtt_extra ? mqtt_extra : "");
	char *url = th_fx.url ? th_strdupf("%s", th_fx.url)
			      : th_strdupf("tcp://127.0.0.1:%d", th_fx.broker.port);
	char *yaml = th_strdupf("mqtt:\n  url: %s\n%slog:\n  level: debug\n%s", url, extra,
				body ? body : "");
	free(url);
	free(extra);
	return yaml;
}

void th_fixture_start(const char *body)
{
	th_fixture_start_broker(NULL);
	th_fixture_start_daemon(NULL, body, NULL, NULL);
}

void th_fixture_start_devices(const char *devices)
{
	char *body = th_strdupf("devices:\n%s", devices);
	th_fixture_start(body);
	free(body);
}

char *th_fixture_expect_json(const char *topic, const char *subset)
{
	char *msg = th_mqtt_wait_json(th_fx.mqtt, topic, subset, TH_WAIT_MS);
	if (!msg) {
		char *log = th_daemon_log(&th_fx.daemon);
		char *last = th_mqtt_last(th_fx.mqtt, topic);
		cr_assert_fail("no %s on %s (last: %s); daemon log:\n%s", subset, topic,
			       last ? last : "none", log ? log : "");
	}
	return msg;
}

cJSON *th_fixture_request(const char *what, const char *members, const char *transaction)
{
	char *topic = th_strdupf("smarthub/bridge/request/%s", what);
	char *rtopic = th_strdupf("smarthub/bridge/response/%s", what);
	char *payload = th_strdupf("{%s%s\"transaction\":\"%s\"}", members, members[0] ? "," : "",
				   transaction);
	char *want = th_strdupf("{\"transaction\":\"%s\"}", transaction);
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, topic, payload, strlen(payload), false), 0);
	char *msg = th_fixture_expect_json(rtopic, want);
	cJSON *r = cJSON_Parse(msg);
	cr_assert_not_null(r, "not JSON: %s", msg);
	free(msg);
	free(want);
	free(payload);
	free(rtopic);
	free(topic);
	return r;
}

void th_fixture_set(const char *device, const char *payload)
{
	char *topic = th_strdupf("smarthub/%s/set", device);
	th_mqtt_clear(th_fx.mqtt);
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, topic, payload, strlen(payload), false), 0);
	free(topic);
}

void th_fixture_expect_state(const char *device, const char *subset)
{
	char *topic = th_strdupf("smarthub/%s", device);
	free(th_fixture_expect_json(topic, subset));
	free(topic);
}

char *th_fixture_refused_config(const char *yaml)
{
	struct th_daemon d = {0};
	const char *args[] = {"--check-config", NULL};
	int status = 0;
	cr_assert_eq(th_daemon_start(&d, yaml, args, NULL), 0);
	cr_assert_eq(th_daemon_wait(&d, TH_WAIT_MS, &status), 0);
	char *log = th_daemon_log(&d);
	th_daemon_stop(&d);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 78, "status %d; log:\n%s", status,
		  log);
	return log;
}

void th_fixture_expect(const char *topic, const char *subset)
{
	free(th_fixture_expect_json(topic, subset));
}

void th_fixture_expect_availability(const char *device, const char *state)
{
	char *topic = th_strdupf("smarthub/%s/availability", device);
	char *subset = th_strdupf("{\"state\":\"%s\"}", state);
	free(th_fixture_expect_json(topic, subset));
	free(subset);
	free(topic);
}

void th_fixture_expect_online(const char *device)
{
	th_fixture_expect_availability(device, "online");
}

void th_fixture_mpd_conf(int port, const char *music, const char *playlists, const char *extra)
{
	char *path = th_fixture_path("mpd.conf");
	char *conf = th_strdupf("bind_to_address \"127.0.0.1\"\n"
				"port \"%d\"\n"
				"music_directory \"%s\"\n"
				"playlist_directory \"%s\"\n"
				"db_file \"%s/db\"\n"
				"log_file \"%s/mpd.log\"\n"
				"zeroconf_enabled \"no\"\n"
				"audio_output {\n type \"null\"\n name \"null\"\n"
				" mixer_type \"software\"\n}\n"
				"%s",
				port, music, playlists, th_fixture_dir(), th_fixture_dir(), extra);
	cr_assert_eq(th_write_file(path, conf), 0);
	free(conf);
	free(path);
}

pid_t th_fixture_mpd_start(int port)
{
	char *conf = th_fixture_path("mpd.conf");
	char *log = th_fixture_path("mpd.out");
	const char *argv[] = {"mpd", "--no-daemon", "--stderr", conf, NULL};
	pid_t pid = th_spawn(argv, NULL, log);
	cr_assert_gt(pid, 0, "cannot start mpd");
	free(log);
	free(conf);
	cr_assert(th_wait_port(port, TH_WAIT_MS), "mpd did not start");
	return pid;
}

void th_fixture_run_ok(const char *const *argv)
{
	char *out = NULL;
	int status = -1;
	cr_assert_eq(th_run(argv, NULL, &out, &status), 0, "%s did not run", argv[0]);
	cr_assert_eq(status, 0, "%s %s failed:\n%s", argv[0], argv[1] ? argv[1] : "",
		     out ? out : "");
	free(out);
}

/* <dir>/<name>.<ext>, malloc'd. */
static char *cert_file(const char *name, const char *ext)
{
	return th_strdupf("%s/%s.%s", th_fixture_dir(), name, ext);
}

void th_fixture_make_ca(const char *name)
{
	char *key = cert_file(name, "key");
	char *crt = cert_file(name, "crt");
	char *subj = th_strdupf("/CN=smarthub test %s", name);
	const char *argv[] = {"openssl",
			      "req",
			      "-x509",
			      "-newkey",
			      "ec",
			      "-pkeyopt",
			      "ec_paramgen_curve:prime256v1",
			      "-nodes",
			      "-keyout",
			      key,
			      "-out",
			      crt,
			      "-days",
			      "2",
			      "-subj",
			      subj,
			      "-addext",
			      "basicConstraints=critical,CA:TRUE",
			      "-addext",
			      "keyUsage=critical,keyCertSign,cRLSign",
			      NULL};
	th_fixture_run_ok(argv);
	free(subj);
	free(crt);
	free(key);
}

void th_fixture_make_cert(const char *name, const char *ca, const char *cn, const char *ext_text)
{
	char *key = cert_file(name, "key");
	char *csr = cert_file(name, "csr");
	char *crt = cert_file(name, "crt");
	char *ext = cert_file(name, "ext");
	char *ca_crt = cert_file(ca, "crt");
	char *ca_key = cert_file(ca, "key");
	char *subj = th_strdupf("/CN=%s", cn);
	cr_assert_eq(th_write_file(ext, ext_text), 0);
	const char *req[] = {
		"openssl", "req",     "-newkey", "ec",   "-pkeyopt", "ec_paramgen_curve:prime256v1",
		"-nodes",  "-keyout", key,       "-out", csr,        "-subj",
		subj,      NULL};
	th_fixture_run_ok(req);
	const char *sign[] = {"openssl", "x509", "-req",   "-in",  csr,
			      "-CA",     ca_crt, "-CAkey", ca_key, "-CAcreateserial",
			      "-out",    crt,    "-days",  "2",    "-extfile",
			      ext,       NULL};
	th_fixture_run_ok(sign);
	free(subj);
	free(ca_key);
	free(ca_crt);
	free(ext);
	free(crt);
	free(csr);
	free(key);
}

char *th_fixture_virtual_lights(int n)
{
	char *devices = th_strdupf("devices:\n");

	for (int i = 0; i < n; i++) {
		char *next = th_strdupf("%s  l%d: {driver: virtual, kind: light}\n", devices, i);
		free(devices);
		devices = next;
	}
	return devices;
}
