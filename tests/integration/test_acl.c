/* SPDX-License-Identifier: MIT */
/*
 * The example broker ACL (config/mosquitto-acl.example), as shipped, on a
 * mosquitto that lets nobody in without a password: the hub works through
 * it (state, availability, discovery, commands, requests), a trusted
 * controller (the `homeassistant` user) can command the hub, and a user
 * that may only watch (`dashboard`) can neither command a device nor
 * forge the hub's retained state or bridge state.
 *
 * The test talks through mosquitto_sub and mosquitto_pub with those users.
 */
#define _GNU_SOURCE /* memmem */
#include "fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WAIT_MS TH_WAIT_MS

#define HUB_PASSWORD "hub-pass-4e1"
#define HA_PASSWORD "ha-pass-9b2"
#define DASHBOARD_PASSWORD "dash-pass-7c3"

/* Beyond the fixture (whose directory holds passwd, the hub's password
 * file and the watcher's log; its client stays unused: the broker lets
 * nobody in anonymously). */
static struct {
	char *watch_log;
	pid_t watch;
} t;

static void teardown(void)
{
	if (t.watch > 0)
		th_child_stop(t.watch, 2000);
	th_fixture_teardown();
	free(t.watch_log);
	memset(&t, 0, sizeof(t));
}

TestSuite(acl, .fini = teardown, .timeout = 120);

static char *in_dir(const char *name)
{
	return th_fixture_path(name);
}

/* mosquitto_pub as `user`; a denied publish still succeeds for the
 * publisher (MQTT 3.1.1 has no way to say no), the broker drops it. */
static void publish(const char *user, const char *password, const char *topic, const char *payload,
		    bool retain)
{
	char port[16];
	snprintf(port, sizeof(port), "%d", th_fx.broker.port);
	const char *argv[] = {"mosquitto_pub",
			      "-h",
			      "127.0.0.1",
			      "-p",
			      port,
			      "-u",
			      user,
			      "-P",
			      password,
			      "-q",
			      "1",
			      "-t",
			      topic,
			      "-m",
			      payload,
			      retain ? "-r" : NULL,
			      NULL};
	th_fixture_run_ok(argv);
}

static void expect_seen(const char *start, const char *needle)
{
	char *text = NULL;

	if (th_wait_file_line(t.watch_log, start, needle, WAIT_MS))
		return;
	text = th_read_file(t.watch_log);
	cr_assert_fail("never carried %s with %s; carried:\n%s\ndaemon log:\n%s", start,
		       needle ? needle : "anything", text ? text : "",
		       th_daemon_log(&th_fx.daemon));
}

/* What a client of `user` that subscribes now gets, retained, on
 * `topic`. */
static char *retained_as(const char *user, const char *password, const char *topic)
{
	char port[16];
	snprintf(port, sizeof(port), "%d", th_fx.broker.port);
	const char *argv[] = {"mosquitto_sub",
			      "-h",
			      "127.0.0.1",
			      "-p",
			      port,
			      "-u",
			      user,
			      "-P",
			      password,
			      "-t",
			      topic,
			      "-C",
			      "1",
			      "-W",
			      "5",
			      "--retained-only",
			      NULL};
	char *out = NULL;
	int status = -1;
	cr_assert_eq(th_run(argv, NULL, &out, &status), 0);
	return out ? out : strdup("");
}

Test(acl, example_acl_lets_the_hub_work_and_only_trusted_users_command)
{
	char *passwd = in_dir("passwd");
	const char *hub[] = {"mosquitto_passwd", "-b",         "-c", passwd,
			     "smarthub",         HUB_PASSWORD, NULL};
	th_fixture_run_ok(hub);
	const char *ha[] = {"mosquitto_passwd", "-b", passwd, "homeassistant", HA_PASSWORD, NULL};
	th_fixture_run_ok(ha);
	const char *dash[] = {"mosquitto_passwd", "-b", passwd, "dashboard",
			      DASHBOARD_PASSWORD, NULL};
	th_fixture_run_ok(dash);
	char *extra = th_strdupf("allow_anonymous false\n"
				 "password_file %s\n"
				 "acl_file %s/config/mosquitto-acl.example\n",
				 passwd, SMARTHUB_SOURCE_DIR);
	cr_assert_eq(th_broker_start_conf(&th_fx.broker, 0, extra), 0);
	free(extra);
	free(passwd);

	t.watch_log = in_dir("watch.log");
	char port[16];
	snprintf(port, sizeof(port), "%d", th_fx.broker.port);
	const char *sub[] = {"mosquitto_sub",
			     "-h",
			     "127.0.0.1",
			     "-p",
			     port,
			     "-u",
			     "dashboard",
			     "-P",
			     DASHBOARD_PASSWORD,
			     "-i",
			     "test-acl-watch",
			     "-t",
			     "smarthub/#",
			     "-v",
			     NULL};
	t.watch = th_spawn(sub, NULL, t.watch_log);
	cr_assert_gt(t.watch, 0);

	char *pass_file = in_dir("mqtt.pass");
	cr_assert_eq(th_write_file(pass_file, HUB_PASSWORD "\n"), 0);
	char *mqtt = th_strdupf("username: smarthub\n"
				"password_file: %s\n"
				"reconnect: {initial: 100ms, max: 300ms}\n",
				pass_file);
	th_fixture_start_daemon(mqtt,
				"homeassistant:\n"
				"  discovery: true\n"
				"devices:\n"
				"  lamp: {driver: virtual, kind: light}\n"
				"scenes:\n"
				"  evening:\n"
				"    steps:\n"
				"      - {device: lamp, set: {state: \"ON\", brightness: 33}}\n",
				NULL, NULL);
	free(mqtt);
	free(pass_file);

	/* The hub publishes its topics. */
	expect_seen("smarthub/bridge/state ", "online");
	expect_seen("smarthub/lamp/availability ", "online");
	expect_seen("smarthub/lamp ", "\"state\"");
	char *disc = retained_as("homeassistant", HA_PASSWORD,
				 "homeassistant/light/smarthub_lamp/light/config");
	cr_expect(strstr(disc, "unique_id"), "discovery was not published: %s", disc);
	free(disc);

	/* The watcher may watch, not command or forge. */
	publish("dashboard", DASHBOARD_PASSWORD, "smarthub/lamp/set",
		"{\"state\":\"ON\",\"brightness\":11}", false);
	publish("dashboard", DASHBOARD_PASSWORD, "smarthub/scene/evening/set", "run", false);
	publish("dashboard", DASHBOARD_PASSWORD, "smarthub/lamp", "{\"state\":\"FORGED\"}", true);
	publish("dashboard", DASHBOARD_PASSWORD, "smarthub/bridge/state", "{\"state\":\"FORGED\"}",
		true);
	publish("dashboard", DASHBOARD_PASSWORD, "smarthub/bridge/request/health_check",
		"{\"transaction\":\"from-dashboard\"}", false);

	/* The trusted controller commands. */
	publish("homeassistant", HA_PASSWORD, "smarthub/lamp/set",
		"{\"state\":\"ON\",\"brightness\":22}", false);
	expect_seen("smarthub/lamp ", "\"brightness\":22");
	publish("homeassistant", HA_PASSWORD, "smarthub/bridge/request/health_check",
		"{\"transaction\":\"from-ha\"}", false);
	expect_seen("smarthub/bridge/response/health_check ", "from-ha");
	publish("homeassistant", HA_PASSWORD, "homeassistant/status", "online", false);
	publish("homeassistant", HA_PASSWORD, "smarthub/scene/evening/set", "run", false);
	expect_seen("smarthub/lamp ", "\"brightness\":33");

	/* Nothing the watcher sent had an effect. */
	char *text = th_read_file(t.watch_log);
	cr_assert_not_null(text);
	cr_expect(!strstr(text, "\"brightness\":11"), "the watcher commanded the lamp:\n%s", text);
	cr_expect(!strstr(text, "FORGED"), "the watcher forged a state:\n%s", text);
	cr_expect(!strstr(text, "from-dashboard"), "the watcher made a request:\n%s", text);
	free(text);
	char *state = retained_as("dashboard", DASHBOARD_PASSWORD, "smarthub/bridge/state");
	cr_expect(strstr(state, "online") && !strstr(state, "FORGED"), "bridge state: %s", state);
	free(state);
	state = retained_as("dashboard", DASHBOARD_PASSWORD, "smarthub/lamp");
	cr_expect(strstr(state, "\"brightness\":33") && !strstr(state, "FORGED"), "lamp: %s",
		  state);
	free(state);
	/* The scene ran once, for the trusted controller: the watcher's run
	 * came first and would have shown as a run before. */
	char *log = th_daemon_log(&th_fx.daemon);
	const char *first = strstr(log, "scene evening: started");
	cr_expect(first && !strstr(first + 1, "scene evening: started"),
		  "the scene did not run exactly once:\n%s", log);
	free(log);
}
