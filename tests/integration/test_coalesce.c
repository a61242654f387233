/* SPDX-License-Identifier: MIT */
/*
 * The last command wins (issue 12): the real smarthubd with virtual lights
 * and a private mosquitto, driven by mosquitto_pub -l as a user's scripts
 * or a dashboard slider would.
 *
 *   - a burst from ten parallel publishers: every light ends at its last
 *     command, with the default configuration;
 *   - a slider on a slow light (command_delay 100ms): 200 commands end at
 *     the last value after a handful of applied commands, not 200;
 *   - a scene's own command on a busy light is never merged away: the
 *     scene completes and the light passes through the scene's value.
 *
 * Timing goals (how fast) are in tests/bench; these assert what a user
 * sees: where each light ends and what happened on the way.
 */
#include "fixture.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MS 30000
#define BURST_LIGHTS 10
#define BURST_PER_LIGHT 1000
#define SLIDER_COMMANDS 200

TestSuite(coalesce, .fini = th_fixture_teardown, .timeout = 180);

/* Broker, recording client and the daemon with `devices` (YAML), every
 * other setting the default. */
static void start(const char *devices)
{
	th_fixture_start(devices);
}

static void wait_online(const char *id)
{
	char *topic = th_strdupf("smarthub/%s/availability", id);
	char *m = th_mqtt_wait(th_fx.mqtt, topic, "online", WAIT_MS);

	cr_assert_not_null(m, "%s never came online; log:\n%s", id, th_daemon_log(&th_fx.daemon));
	free(m);
	free(topic);
}

/* Writes one command a line into <dir>/<name> and returns the shell
 * command that publishes them with mosquitto_pub -l (QoS 0) to `topic`. */
static char *publisher(const char *name, const char *topic, const char *lines)
{
	char *path = th_fixture_path(name);
	char *cmd;

	cr_assert_eq(th_write_file(path, lines), 0);
	/* mosquitto_pub -l has been seen to sit at the end of its input
	 * (once in several runs on a loaded machine) after sending every
	 * line: it gets 30 s, and what counts is what the hub then shows. */
	cmd = th_strdupf("timeout 30 mosquitto_pub -h 127.0.0.1 -p %d -q 0 -t %s -l < %s; "
			 "s=$?; [ $s -eq 0 ] || [ $s -eq 124 ]",
			 th_fx.broker.port, topic, path);
	free(path);
	return cmd;
}

/* Runs `script` with sh -c to completion. */
static void run_shell(const char *script)
{
	const char *argv[] = {"sh", "-c", script, NULL};
	char *out = NULL;
	int status = -1;

	cr_assert_eq(th_run(argv, NULL, &out, &status), 0);
	cr_assert_eq(status, 0, "%s: %s", script, out ? out : "");
	free(out);
}

/* Command k of a light: a (brightness, color_temp) pair that no other
 * command of the burst repeats, so the last one is recognisable. */
static void burst_value(int k, int *brightness, int *color_temp)
{
	*brightness = 1 + k % 200;
	*color_temp = 153 + k / 200;
}

static char *expect_light(const char *id, int brightness, int color_temp)
{
	char *topic = th_strdupf("smarthub/%s", id);
	char *subset = th_strdupf("{\"brightness\":%d,\"color_temp\":%d}", brightness, color_temp);
	char *m = th_mqtt_wait_json(th_fx.mqtt, topic, subset, WAIT_MS);

	if (!m) {
		char *last = th_mqtt_last(th_fx.mqtt, topic);

		cr_assert_fail("%s never showed %s (last: %s); log:\n%s", id, subset,
			       last ? last : "nothing", th_daemon_log(&th_fx.daemon));
	}
	free(subset);
	free(topic);
	return m;
}

Test(coalesce, burst_loses_no_last_command)
{
	char *devices = th_strdupf("devices:\n");
	char *script = th_strdupf("%s", "");

	for (int i = 0; i < BURST_LIGHTS; i++) {
		char *next = th_strdupf("%s  l%d: {driver: virtual, kind: light}\n", devices, i);
		free(devices);
		devices = next;
	}
	start(devices);
	free(devices);
	for (int i = 0; i < BURST_LIGHTS; i++) {
		char id[16];
		snprintf(id, sizeof(id), "l%d", i);
		wait_online(id);
	}
	for (int i = 0; i < BURST_LIGHTS; i++) {
		size_t cap = BURST_PER_LIGHT * 64, len = 0;
		char *lines = malloc(cap);
		char name[16], topic[32];

		cr_assert_not_null(lines);
		for (int k = 0; k < BURST_PER_LIGHT; k++) {
			int b, ct;
			burst_value(k, &b, &ct);
			len += (size_t)snprintf(
				lines + len, cap - len,
				"{\"state\":\"ON\",\"brightness\":%d,\"color_temp\":%d}\n", b, ct);
		}
		snprintf(name, sizeof(name), "l%d.txt", i);
		snprintf(topic, sizeof(topic), "smarthub/l%d/set", i);
		char *cmd = publisher(name, topic, lines);
		char *next = th_strdupf("%s%s & ", script, cmd);
		free(script);
		free(cmd);
		free(lines);
		script = next;
	}
	char *all = th_strdupf("%swait", script);
	free(script);
	run_shell(all);
	free(all);

	int b, ct;
	burst_value(BURST_PER_LIGHT - 1, &b, &ct);
	for (int i = 0; i < BURST_LIGHTS; i++) {
		char id[16];
		snprintf(id, sizeof(id), "l%d", i);
		free(expect_light(id, b, ct));
	}
	/* On a slow machine (a sanitizer build) the inbox may fill: it then
	 * drops superseded commands first, so the last ones above survived. */
	cr_assert_eq(th_daemon_signal(&th_fx.daemon, 0), 0, "the daemon died");
}

/* bridge/request/<what> with `members` and a transaction; the response. */
static cJSON *request(const char *what, const char *members, const char *transaction)
{
	char *topic = th_strdupf("smarthub/bridge/request/%s", what);
	char *rtopic = th_strdupf("smarthub/bridge/response/%s", what);
	char *payload = th_strdupf("{%s,\"transaction\":\"%s\"}", members, transaction);
	char *want = th_strdupf("\"transaction\":\"%s\"", transaction);

	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, topic, payload, strlen(payload), false), 0);
	char *m = th_mqtt_wait(th_fx.mqtt, rtopic, want, WAIT_MS);
	cr_assert_not_null(m, "no response to %s; log:\n%s", payload, th_daemon_log(&th_fx.daemon));
	cJSON *r = cJSON_Parse(m);
	cr_assert_not_null(r);
	free(m);
	free(want);
	free(payload);
	free(rtopic);
	free(topic);
	return r;
}

static void pub(const char *topic, const char *payload)
{
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, topic, payload, strlen(payload), false), 0);
}

Test(coalesce, slider_on_a_slow_light_ends_at_its_last_value)
{
	start("devices:\n  slider: {driver: virtual, kind: light, command_delay: 100ms}\n");
	wait_online("slider");
	char lines[SLIDER_COMMANDS * 24];
	size_t len = 0;
	for (int k = 1; k <= SLIDER_COMMANDS; k++)
		len += (size_t)snprintf(lines + len, sizeof(lines) - len, "{\"brightness\":%d}\n",
					k);
	th_mqtt_clear(th_fx.mqtt);
	char *cmd = publisher("slider.txt", "smarthub/slider/set", lines);
	run_shell(cmd);
	free(cmd);

	char *want = th_strdupf("{\"brightness\":%d}", SLIDER_COMMANDS);
	char *m = th_mqtt_wait_json(th_fx.mqtt, "smarthub/slider", want, WAIT_MS);
	cr_assert_not_null(m, "the slider never reached %s; log:\n%s", want,
			   th_daemon_log(&th_fx.daemon));
	free(m);
	free(want);
	/* It got there through a few merged commands, not through 200, and
	 * nothing is left to move it elsewhere afterwards. */
	cJSON *r = request("device/get", "\"id\":\"slider\"", "after");
	cJSON *data = cJSON_GetObjectItem(r, "data");
	cr_expect_eq(cJSON_GetObjectItem(data, "queue_length")->valueint, 0);
	cr_expect_eq(
		cJSON_GetObjectItem(cJSON_GetObjectItem(data, "state"), "brightness")->valueint,
		SLIDER_COMMANDS);
	cJSON_Delete(r);
	size_t applied = th_mqtt_count(th_fx.mqtt, "smarthub/slider");
	cr_expect_leq(applied, SLIDER_COMMANDS / 10, "%zu states for %d commands", applied,
		      SLIDER_COMMANDS);
}

Test(coalesce, a_scene_command_is_never_merged_away)
{
	start("devices:\n"
	      "  lamp: {driver: virtual, kind: light, command_delay: 300ms}\n"
	      "scenes:\n"
	      "  dim:\n"
	      "    steps:\n"
	      "      - {device: lamp, set: {brightness: 10}}\n");
	wait_online("lamp");
	th_mqtt_clear(th_fx.mqtt);
	/* The lamp is busy with the first; the scene's command waits behind
	 * it, and the two after it must not merge into it. */
	pub("smarthub/lamp/set", "{\"brightness\":100}");
	pub("smarthub/bridge/request/scene/run", "{\"scene\":\"dim\",\"transaction\":\"s1\"}");
	pub("smarthub/lamp/set", "{\"brightness\":50}");
	pub("smarthub/lamp/set", "{\"brightness\":60}");

	char *m = th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/response/scene/run", "s1", WAIT_MS);
	cr_assert_not_null(m, "the scene never answered; log:\n%s", th_daemon_log(&th_fx.daemon));
	cr_expect(strstr(m, "\"status\":\"ok\""), "%s", m);
	free(m);
	m = th_mqtt_wait_json(th_fx.mqtt, "smarthub/lamp", "{\"brightness\":10}", WAIT_MS);
	cr_expect_not_null(m, "the scene's value was never applied; log:\n%s",
			   th_daemon_log(&th_fx.daemon));
	free(m);
	/* The later commands still win in the end. */
	m = th_mqtt_wait_json(th_fx.mqtt, "smarthub/lamp", "{\"brightness\":60}", WAIT_MS);
	cr_assert_not_null(m);
	free(m);
	cJSON *r = request("device/get", "\"id\":\"lamp\"", "end");
	cJSON *state = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "data"), "state");
	cr_expect_eq(cJSON_GetObjectItem(state, "brightness")->valueint, 60);
	cJSON_Delete(r);
}
