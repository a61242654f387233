/* SPDX-License-Identifier: MIT */
/*
 * A fresh start of the demo as Home Assistant sees it (issue 18): every
 * discovery payload the daemon publishes passes the schema written from
 * Home Assistant's source (tests/ha-schema), the bridge's own device comes
 * before any device that names it as via_device, and a light's state
 * carries a color_mode it advertised. The order is read from a
 * mosquitto_sub that was listening before the daemon started.
 */
#define _GNU_SOURCE /* memmem */
#include "fixture.h"
#include "ha_schema.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MS TH_WAIT_MS

static char *watch_log; /* in the fixture's directory */
static pid_t watcher;

static void start(void)
{
	th_fixture_start_broker(NULL);
	watch_log = th_fixture_path("watch.log");
	char port[16];
	snprintf(port, sizeof(port), "%d", th_fx.broker.port);
	const char *argv[] = {"mosquitto_sub",   "-h", "127.0.0.1",  "-p", port, "-v", "-t",
			      "homeassistant/#", "-t", "smarthub/#", NULL};
	watcher = th_spawn(argv, NULL, watch_log);
	cr_assert_gt(watcher, 0);
	/* The watcher listens once it sees a message published now. */
	struct th_mqtt *probe = th_fx.mqtt;
	bool seen = false;
	for (int i = 0; i < 50 && !seen; i++) {
		cr_assert_eq(th_mqtt_publish(probe, "homeassistant/probe", "x", 1, false), 0);
		seen = th_wait_file_line(watch_log, "homeassistant/probe", NULL, 200);
	}
	cr_assert(seen, "mosquitto_sub never listened");

	char *env = th_strdupf("SMARTHUB_DEMO_PORT=%d", th_fx.broker.port);
	const char *extra_env[] = {env, NULL};
	char *yaml = th_read_file(SMARTHUB_SOURCE_DIR "/config/demo.yaml");
	cr_assert_not_null(yaml);
	th_fixture_start_daemon_yaml(yaml, NULL, extra_env);
	free(yaml);
	free(env);
}

static void stop(void)
{
	th_fixture_stop_daemon();
	if (watcher > 0)
		th_child_stop(watcher, 2000);
	th_fixture_teardown();
	free(watch_log);
	watch_log = NULL;
	watcher = 0;
}

TestSuite(ha_discovery, .init = start, .fini = stop, .timeout = 120);

static void wait_line(const char *start, const char *needle)
{
	if (!th_wait_file_line(watch_log, start, needle, WAIT_MS))
		cr_assert_fail("no '%s' with '%s'; seen:\n%s\nlog:\n%s", start,
			       needle ? needle : "", th_read_file(watch_log),
			       th_daemon_log(&th_fx.daemon));
}

Test(ha_discovery, demo_payloads_pass_home_assistants_schema_in_order)
{
	wait_line("homeassistant/switch/smarthub_garage_door/switch/config", NULL);
	wait_line("homeassistant/scene/smarthub_bridge/dim_hallway/config", NULL);
	/* The ceiling light connects after 300 ms and reports its state. */
	wait_line("smarthub/living_light ", "color_mode");

	cJSON *schema = ha_schema_load(SMARTHUB_SOURCE_DIR "/tests/ha-schema/mqtt-discovery.json");
	cr_assert_not_null(schema);
	char *text = th_read_file(watch_log);
	int n = 0, bridge_at = -1, first_via = -1, line_no = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), line_no++) {
		char *space = strchr(line, ' ');
		if (!space || strncmp(line, "homeassistant/", 14) ||
		    !strcmp(line, "homeassistant/probe x"))
			continue;
		*space = '\0';
		cJSON *p = cJSON_Parse(space + 1);
		char why[512] = "";
		cr_expect_eq(ha_schema_check(schema, line, p, why, sizeof(why)), 0, "%s: %s\n%s",
			     line, why, space + 1);
		if (strstr(line, "/smarthub_bridge/connection_state/") && bridge_at < 0)
			bridge_at = line_no;
		if (strstr(space + 1, "\"via_device\"") && first_via < 0)
			first_via = line_no;
		cJSON_Delete(p);
		n++;
	}
	free(text);
	cJSON_Delete(schema);
	cr_expect_geq(n, 15, "%d discovery payloads", n);
	cr_expect_geq(bridge_at, 0, "the bridge is announced");
	cr_expect_lt(bridge_at, first_via, "the bridge device comes before the devices naming it");
}

/* The line number of the first line starting with `start` and holding
 * `needle`, or -1. */
static int first_line(const char *text, const char *start, const char *needle)
{
	int n = 0;
	for (const char *p = text; p && *p; n++) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (!strncmp(p, start, strlen(start)) &&
		    (!needle || memmem(p, len, needle, strlen(needle))))
			return n;
		p = end ? end + 1 : NULL;
	}
	return -1;
}

/* Issue 18 items 8 and 9: a device's availability comes before its first
 * state, and /get on a device that never connected publishes nothing. */
Test(ha_discovery, availability_first_and_no_state_before_the_first_report)
{
	wait_line("smarthub/living_light ", NULL); /* connects after 300 ms */
	char *text = th_read_file(watch_log);
	static const char *const ids[] = {"living_light", "living_lamp", "amp_plug",
					  "kitchen_light", "hallway_motion"};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char *avail = th_strdupf("smarthub/%s/availability ", ids[i]);
		char *state = th_strdupf("smarthub/%s ", ids[i]);
		int online = first_line(text, avail, "online");
		int first_state = first_line(text, state, NULL);
		cr_expect(online >= 0 && first_state > online,
			  "%s: online at line %d, first state at %d", ids[i], online, first_state);
		free(avail);
		free(state);
	}
	free(text);

	/* Item 7: the retained device list follows availability. */
	wait_line("smarthub/bridge/devices ",
		  "\"id\":\"living_light\",\"name\":\"Living room ceiling\",\"kind\":"
		  "\"light\",\"driver\":\"virtual\",\"availability\":\"online\"");

	struct th_mqtt *c = th_mqtt_connect(th_fx.broker.port, "getter");
	cr_assert_not_null(c);
	cr_assert_eq(th_mqtt_subscribe(c, "smarthub/#"), 0);
	cr_assert_eq(th_mqtt_publish(c, "smarthub/garage_door/get", "", 0, false), 0);
	char *m = th_mqtt_wait(c, "smarthub/bridge/event", "never reported", WAIT_MS);
	cr_assert_not_null(m, "log:\n%s", th_daemon_log(&th_fx.daemon));
	free(m);
	cr_expect_null(th_mqtt_last(c, "smarthub/garage_door"));
	text = th_read_file(watch_log);
	cr_expect_lt(first_line(text, "smarthub/garage_door ", NULL), 0, "%s", text);
	free(text);
	th_mqtt_close(c);
}
