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

#define HUB_PASSWORD "hub-pass-4e1"
#define HA_PASSWORD "ha-pass-9b2"
#define DASHBOARD_PASSWORD "dash-pass-7c3"

TestSuite(acl, .fini = th_fixture_teardown, .timeout = 120);

Test(acl, example_acl_lets_the_hub_work_and_only_trusted_users_command)
{
	const char *users[] = {"smarthub",  HUB_PASSWORD, "homeassistant",
			       HA_PASSWORD, "dashboard",  DASHBOARD_PASSWORD,
			       NULL};
	char *acl = th_strdupf("acl_file %s/config/mosquitto-acl.example\n", SMARTHUB_SOURCE_DIR);
	th_fixture_start_broker_users(users, acl);
	free(acl);
	th_fixture_watch("dashboard", DASHBOARD_PASSWORD, "test-acl-watch");

	char *pass_file = th_fixture_path("mqtt.pass");
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
	th_fixture_expect_seen("smarthub/bridge/state ", "online");
	th_fixture_expect_seen("smarthub/lamp/availability ", "online");
	th_fixture_expect_seen("smarthub/lamp ", "\"state\"");
	char *disc = th_fixture_retained_as("homeassistant", HA_PASSWORD,
					    "homeassistant/light/smarthub_lamp/light/config");
	cr_expect(strstr(disc, "unique_id"), "discovery was not published: %s", disc);
	free(disc);

	/* The watcher may watch, not command or forge. */
	th_fixture_publish_as("dashboard", DASHBOARD_PASSWORD, "smarthub/lamp/set",
			      "{\"state\":\"ON\",\"brightness\":11}", false);
	th_fixture_publish_as("dashboard", DASHBOARD_PASSWORD, "smarthub/scene/evening/set", "run",
			      false);
	th_fixture_publish_as("dashboard", DASHBOARD_PASSWORD, "smarthub/lamp",
			      "{\"state\":\"FORGED\"}", true);
	th_fixture_publish_as("dashboard", DASHBOARD_PASSWORD, "smarthub/bridge/state",
			      "{\"state\":\"FORGED\"}", true);
	th_fixture_publish_as("dashboard", DASHBOARD_PASSWORD,
			      "smarthub/bridge/request/health_check",
			      "{\"transaction\":\"from-dashboard\"}", false);

	/* The trusted controller commands. */
	th_fixture_publish_as("homeassistant", HA_PASSWORD, "smarthub/lamp/set",
			      "{\"state\":\"ON\",\"brightness\":22}", false);
	th_fixture_expect_seen("smarthub/lamp ", "\"brightness\":22");
	th_fixture_publish_as("homeassistant", HA_PASSWORD, "smarthub/bridge/request/health_check",
			      "{\"transaction\":\"from-ha\"}", false);
	th_fixture_expect_seen("smarthub/bridge/response/health_check ", "from-ha");
	th_fixture_publish_as("homeassistant", HA_PASSWORD, "homeassistant/status", "online",
			      false);
	th_fixture_publish_as("homeassistant", HA_PASSWORD, "smarthub/scene/evening/set", "run",
			      false);
	th_fixture_expect_seen("smarthub/lamp ", "\"brightness\":33");

	/* Nothing the watcher sent had an effect. */
	char *text = th_read_file(th_fx.watch_log);
	cr_assert_not_null(text);
	cr_expect(!strstr(text, "\"brightness\":11"), "the watcher commanded the lamp:\n%s", text);
	cr_expect(!strstr(text, "FORGED"), "the watcher forged a state:\n%s", text);
	cr_expect(!strstr(text, "from-dashboard"), "the watcher made a request:\n%s", text);
	free(text);
	char *state =
		th_fixture_retained_as("dashboard", DASHBOARD_PASSWORD, "smarthub/bridge/state");
	cr_expect(strstr(state, "online") && !strstr(state, "FORGED"), "bridge state: %s", state);
	free(state);
	state = th_fixture_retained_as("dashboard", DASHBOARD_PASSWORD, "smarthub/lamp");
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
