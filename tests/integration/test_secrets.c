/* SPDX-License-Identifier: MIT */
/*
 * The broker password: the daemon reads it from `!secret` (secrets.yaml
 * beside the configuration) or from `password_file`, authenticates to a
 * mosquitto that allows no anonymous client (password_file made with
 * mosquitto_passwd), and never shows it: not in its log at debug level,
 * not in --check-config output (also when the secret sits where it does
 * not belong and the check fails), not in any bridge/event or
 * bridge/response payload. A wrong password gives a log line saying the
 * broker refused it.
 *
 * The broker refuses anonymous clients, so the test watches and talks
 * through mosquitto_sub and mosquitto_pub with a user of its own.
 */
#define _GNU_SOURCE /* memmem */
#include "fixture.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAIT_MS TH_WAIT_MS

/* Distinctive, so that any appearance of it, whole, is found. */
#define PASSWORD "Zq7-hunter2-correct-horse-Vk9"
#define VIEWER_PASSWORD "viewer-pass"

TestSuite(secrets, .fini = th_fixture_teardown, .timeout = 120);

/* A broker that knows two users, the hub and the test's viewer, and lets
 * nobody else in; the viewer watches everything. */
static void start_broker(void)
{
	const char *users[] = {"hub", PASSWORD, "viewer", VIEWER_PASSWORD, NULL};
	th_fixture_start_broker_users(users, NULL);
	th_fixture_watch("viewer", VIEWER_PASSWORD, "test-secrets-viewer");
}

static void publish(const char *topic, const char *payload)
{
	th_fixture_publish_as("viewer", VIEWER_PASSWORD, topic, payload, false);
}

static char *config_yaml(const char *password_lines)
{
	char *mqtt = th_strdupf("username: hub\n"
				"%s"
				"reconnect: {initial: 100ms, max: 300ms}\n",
				password_lines);
	char *yaml =
		th_fixture_config(mqtt, "devices:\n"
					"  lamp: {driver: virtual, kind: light}\n"
					"  dead: {driver: virtual, kind: switch, unreachable: true,"
					" connect_timeout: 100ms}\n");
	free(mqtt);
	return yaml;
}

/* smarthubd --check-config on `yaml`: its output (caller frees). */
static char *check_config(const char *yaml, int *status)
{
	char *path = th_fixture_path("check.yaml");
	cr_assert_eq(th_write_file(path, yaml), 0);
	const char *bin = getenv("SMARTHUBD_PATH") ? getenv("SMARTHUBD_PATH") : SMARTHUBD_PATH;
	const char *argv[] = {
		bin, "--check-config", "-c", path, "--plugin-dir", SMARTHUB_PLUGIN_BUILD_DIR, NULL};
	char *out = NULL;
	cr_assert_eq(th_run(argv, NULL, &out, status), 0);
	free(path);
	return out ? out : strdup("");
}

static void expect_no_password(const char *where, const char *text)
{
	cr_expect_null(strstr(text, PASSWORD), "the password shows in %s:\n%s", where, text);
}

/* Connects with the password from `password_lines`, then makes the daemon
 * say as much as it can: requests, a reload, a failing reload, bad
 * commands, a stop. The password shows nowhere. */
static void never_shown(const char *password_lines)
{
	char *yaml = config_yaml(password_lines);
	int status = -1;
	char *out = check_config(yaml, &status);
	cr_expect_eq(status, 0, "--check-config refused it:\n%s", out);
	cr_expect(strstr(out, "password set"), "the summary does not say so:\n%s", out);
	expect_no_password("--check-config output", out);
	free(out);

	th_fixture_start_daemon_yaml(yaml, NULL, NULL);
	th_fixture_expect_seen("smarthub/bridge/state {\"state\":\"online\"}", NULL);
	th_fixture_expect_seen("smarthub/lamp/availability {\"state\":\"online\"}", NULL);

	publish("smarthub/bridge/request/health_check", "{\"transaction\":\"h1\"}");
	publish("smarthub/bridge/request/devices", "{\"transaction\":\"d1\"}");
	publish("smarthub/bridge/request/device/get", "{\"id\":\"lamp\",\"transaction\":\"g1\"}");
	publish("smarthub/bridge/request/reload", "{\"transaction\":\"r1\"}");
	th_fixture_expect_seen("smarthub/bridge/response/reload ", "\"r1\"");
	/* A reload that fails, next to the secret. */
	char *bad = th_strdupf("%s  keepalve: 5\n", yaml);
	cr_assert_eq(th_write_file(th_fx.daemon.config_path, bad), 0);
	free(bad);
	publish("smarthub/bridge/request/reload", "{\"transaction\":\"r2\"}");
	th_fixture_expect_seen("smarthub/bridge/response/reload ", "\"r2\"");
	cr_assert_eq(th_write_file(th_fx.daemon.config_path, yaml), 0);
	cr_assert_eq(th_daemon_signal(&th_fx.daemon, SIGHUP), 0);
	publish("smarthub/dead/set", "{\"state\":\"ON\"}");
	publish("smarthub/lamp/set", "{\"sparkle\":1}");
	publish("smarthub/lamp/set", "{\"state\":\"ON\",\"brightness\":42}");
	th_fixture_expect_seen("smarthub/lamp ", "\"brightness\":42");
	th_fixture_expect_seen("smarthub/bridge/event ", "sparkle");

	cr_assert_eq(th_daemon_signal(&th_fx.daemon, SIGTERM), 0);
	cr_assert_eq(th_daemon_wait(&th_fx.daemon, WAIT_MS, &status), 0);
	th_fixture_expect_seen("smarthub/bridge/state {\"state\":\"offline\"}", NULL);

	char *log = th_daemon_log(&th_fx.daemon);
	cr_expect(strstr(log, "mqtt: connected"), "log:\n%s", log);
	cr_expect(strstr(log, "keepalve"), "the failed reload is not in the log:\n%s", log);
	char *carried = th_read_file(th_fx.watch_log);
	cr_assert_not_null(carried);
	/* The response says where and what kind of error, but quotes nothing
	 * of the file: every reader of the topic sees it. */
	cr_expect(th_text_has_line(carried, "smarthub/bridge/response/reload ", "smarthub.yaml:") &&
			  th_text_has_line(carried, "smarthub/bridge/response/reload ",
					   "invalid configuration"),
		  "the failed reload's response does not say where and what:\n%s", carried);
	cr_expect_not(th_text_has_line(carried, "smarthub/bridge/response/reload ", "keepalve"),
		      "the failed reload's response quotes the file:\n%s", carried);
	expect_no_password("the daemon's log", log);
	free(log);
	expect_no_password("what the broker carried", carried);
	free(carried);
	free(yaml);
}

Test(secrets, secret_from_secrets_yaml_is_never_shown)
{
	start_broker();
	char *secrets = th_fixture_path("secrets.yaml");
	cr_assert_eq(th_write_file(secrets, "mqtt_password: \"" PASSWORD "\"\n"), 0);
	free(secrets);
	never_shown("password: !secret mqtt_password\n");
}

Test(secrets, password_file_is_never_shown)
{
	start_broker();
	char *file = th_fixture_path("mqtt.pass");
	cr_assert_eq(th_write_file(file, PASSWORD "\n"), 0);
	char *lines = th_strdupf("password_file: %s\n", file);
	never_shown(lines);
	free(lines);
	free(file);
}

/* A secret where it does not belong makes the check fail; the error
 * names the place, never the value. */
Test(secrets, misplaced_secret_is_not_shown_in_errors)
{
	char *secrets = th_fixture_path("secrets.yaml");
	cr_assert_eq(th_write_file(secrets, "mqtt_password: \"" PASSWORD "\"\n"), 0);
	free(secrets);
	const char *const yamls[] = {
		"mqtt:\n  keepalive: !secret mqtt_password\n",
		"mqtt:\n  url: !secret mqtt_password\n",
		"devices:\n  lamp: {driver: virtual, kind: !secret mqtt_password}\n",
		"devices:\n  lamp: {driver: !secret mqtt_password, kind: light}\n",
		"mqtt:\n  password: !secret mqtt_password\n  password_file: /nonexistent\n",
		NULL,
	};
	/* Valid, with the secret in an odd place: the summary hides it. */
	int status = -1;
	char *out = check_config("mqtt:\n  base_topic: !secret mqtt_password\n"
				 "  client_id: !secret mqtt_password\n",
				 &status);
	cr_expect_eq(status, 0, "%s", out);
	expect_no_password("the --check-config summary", out);
	free(out);
	for (int i = 0; yamls[i]; i++) {
		out = check_config(yamls[i], &status);
		cr_expect_eq(status, 78, "accepted:\n%s\n%s", yamls[i], out);
		expect_no_password("--check-config errors", out);
		free(out);
	}
}

Test(secrets, wrong_password_is_refused_with_a_clear_error)
{
	start_broker();
	char *file = th_fixture_path("mqtt.pass");
	cr_assert_eq(th_write_file(file, "not-the-password\n"), 0);
	char *lines = th_strdupf("password_file: %s\n", file);
	char *yaml = config_yaml(lines);
	th_fixture_start_daemon_yaml(yaml, NULL, NULL);
	/* The refusal is one line, "mqtt: connect to <url>: <reason>; ...". */
	th_daemon_wait_log(&th_fx.daemon, "mqtt: connect to", WAIT_MS);
	char *log = th_daemon_log(&th_fx.daemon);
	bool said = strstr(log, "not authori") || strstr(log, "bad user name or password") ||
		    strstr(log, "Bad user name or password");
	cr_expect(said, "the log does not say the broker refused the password:\n%s", log);
	cr_expect_null(strstr(log, "not-the-password"), "the wrong password shows:\n%s", log);
	free(log);
	cr_assert_eq(th_daemon_signal(&th_fx.daemon, 0), 0, "the daemon gave up");
	free(yaml);
	free(lines);
	free(file);
}
