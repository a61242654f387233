/* SPDX-License-Identifier: MIT */
/*
 * The last command wins (issue 12): the real smarthubd with virtual lights
 * and a private mosquitto, driven by bursts of QoS 0 commands (as
 * mosquitto_pub -l sends a file) as a user's scripts or a dashboard
 * slider would.
 *
 *   - a burst from ten parallel publishers: every light ends at its last
 *     command, with the default configuration;
 *   - a slider on a slow light (command_delay 500ms): 200 commands end at
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
#include <errno.h>
#include <pthread.h>
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

/* Command k of a light: a (brightness, color_temp) pair that no other
 * command of the burst repeats, so the last one is recognisable. */
static void burst_value(int k, int *brightness, int *color_temp)
{
	*brightness = 1 + k % 200;
	*color_temp = 153 + k / 200;
}

static char *expect_light(struct th_mqtt *c, const char *id, int brightness, int color_temp)
{
	char *topic = th_strdupf("smarthub/%s", id);
	char *subset = th_strdupf("{\"brightness\":%d,\"color_temp\":%d}", brightness, color_temp);
	char *m = th_mqtt_wait_json(c, topic, subset, WAIT_MS);

	if (!m) {
		char *last = th_mqtt_last(c, topic);

		cr_assert_fail("%s never showed %s (last: %s); log:\n%s", id, subset,
			       last ? last : "nothing", th_daemon_log(&th_fx.daemon));
	}
	free(subset);
	free(topic);
	return m;
}

/* One of the burst's publishers: its own connection, its light's lines. */
struct burst_publisher {
	pthread_t thread;
	char topic[32];
	char *lines;
	int result;
};

static void *burst_publish(void *arg)
{
	struct burst_publisher *p = arg;
	char id[32];
	snprintf(id, sizeof(id), "burst-%s", p->topic + strlen("smarthub/"));
	*strchr(id, '/') = '\0';
	struct th_mqtt *c = th_mqtt_connect(th_fx.broker.port, id);
	p->result = c ? th_mqtt_publish_lines(c, p->topic, p->lines) : -ENOTCONN;
	th_mqtt_close(c);
	return NULL;
}

Test(coalesce, burst_loses_no_last_command)
{
	char *devices = th_fixture_virtual_lights(BURST_LIGHTS);
	/* The broker must not drop a QoS 0 message itself: by default it
	 * drops them for a subscriber with 1,000 waiting, which a loaded
	 * machine reaches, and then a light's last command may never reach
	 * the hub. What the hub does with the flood is what is tested. */
	th_fixture_start_broker("max_queued_messages 0\n");
	th_fixture_start_daemon(NULL, devices, NULL, NULL);
	free(devices);
	for (int i = 0; i < BURST_LIGHTS; i++) {
		char id[16];
		snprintf(id, sizeof(id), "l%d", i);
		wait_online(id);
	}
	/* Ten publishers at once, each sending its light's commands as fast
	 * as its connection takes them; each returns once its last command
	 * is on the wire. */
	struct burst_publisher pubs[BURST_LIGHTS];
	for (int i = 0; i < BURST_LIGHTS; i++) {
		size_t cap = BURST_PER_LIGHT * 64, len = 0;
		char *lines = malloc(cap);

		cr_assert_not_null(lines);
		for (int k = 0; k < BURST_PER_LIGHT; k++) {
			int b, ct;
			burst_value(k, &b, &ct);
			len += (size_t)snprintf(
				lines + len, cap - len,
				"{\"state\":\"ON\",\"brightness\":%d,\"color_temp\":%d}\n", b, ct);
		}
		pubs[i] = (struct burst_publisher){.lines = lines};
		snprintf(pubs[i].topic, sizeof(pubs[i].topic), "smarthub/l%d/set", i);
	}
	for (int i = 0; i < BURST_LIGHTS; i++)
		cr_assert_eq(pthread_create(&pubs[i].thread, NULL, burst_publish, &pubs[i]), 0);
	for (int i = 0; i < BURST_LIGHTS; i++) {
		pthread_join(pubs[i].thread, NULL);
		cr_assert_eq(pubs[i].result, 0, "publishing to %s: %s", pubs[i].topic,
			     strerror(-pubs[i].result));
		free(pubs[i].lines);
	}

	/* Where each light ends, as a client that comes now sees it: the
	 * retained state, then whatever the hub still publishes. (The
	 * recording client got the flood too and is not asked.) */
	struct th_mqtt *after = th_fixture_client("after-burst");
	int b, ct;
	burst_value(BURST_PER_LIGHT - 1, &b, &ct);
	for (int i = 0; i < BURST_LIGHTS; i++) {
		char id[16];
		snprintf(id, sizeof(id), "l%d", i);
		free(expect_light(after, id, b, ct));
	}
	th_mqtt_close(after);
	/* On a slow machine (a sanitizer build) the inbox may fill: it then
	 * drops superseded commands first, so the last ones above survived. */
	cr_assert_eq(th_daemon_signal(&th_fx.daemon, 0), 0, "the daemon died");
}

static void pub(const char *topic, const char *payload)
{
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, topic, payload, strlen(payload), false), 0);
}

Test(coalesce, slider_on_a_slow_light_ends_at_its_last_value)
{
	/* Each applied command takes 500 ms: the bound below holds as long
	 * as the 200 commands reach the hub within 10 s, which a loaded
	 * machine does too. */
	start("devices:\n  slider: {driver: virtual, kind: light, command_delay: 500ms}\n");
	wait_online("slider");
	char lines[SLIDER_COMMANDS * 24];
	size_t len = 0;
	for (int k = 1; k <= SLIDER_COMMANDS; k++)
		len += (size_t)snprintf(lines + len, sizeof(lines) - len, "{\"brightness\":%d}\n",
					k);
	th_mqtt_clear(th_fx.mqtt);
	cr_assert_eq(th_mqtt_publish_lines(th_fx.mqtt, "smarthub/slider/set", lines), 0);

	char *want = th_strdupf("{\"brightness\":%d}", SLIDER_COMMANDS);
	char *m = th_mqtt_wait_json(th_fx.mqtt, "smarthub/slider", want, WAIT_MS);
	cr_assert_not_null(m, "the slider never reached %s; log:\n%s", want,
			   th_daemon_log(&th_fx.daemon));
	free(m);
	free(want);
	/* It got there through a few merged commands, not through 200, and
	 * nothing is left to move it elsewhere afterwards. */
	cJSON *r = th_fixture_request("device/get", "\"id\":\"slider\"", "after");
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
	cJSON *r = th_fixture_request("device/get", "\"id\":\"lamp\"", "end");
	cJSON *state = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "data"), "state");
	cr_expect_eq(cJSON_GetObjectItem(state, "brightness")->valueint, 60);
	cJSON_Delete(r);
}
