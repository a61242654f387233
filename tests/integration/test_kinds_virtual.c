/* SPDX-License-Identifier: MIT */
/*
 * The kinds of issue 19 end to end with the virtual driver: a cover that
 * starts open and moves (opening/closing, then open/closed) and a scene
 * that closes it and waits until it reports closed; a lock; a climate
 * whose room warms towards the target; a fan with presets; a button that
 * presses itself, each press an unretained event, and a scene waiting for
 * one; a custom device with declared properties; a light's color_mode.
 */
#include "harness.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* Generous bound for anything to happen: a guard, not a timing check. */
#define WAIT_MS 15000

static struct th_broker broker;
static struct th_daemon daemon_;
static struct th_mqtt *mqtt;

static void start(void)
{
	memset(&broker, 0, sizeof(broker));
	memset(&daemon_, 0, sizeof(daemon_));
	cr_assert_eq(th_broker_start(&broker, 0), 0);
	mqtt = th_mqtt_connect(broker.port, "test-kinds");
	cr_assert_not_null(mqtt);
	cr_assert_eq(th_mqtt_subscribe(mqtt, "smarthub/#"), 0);
	char *yaml =
		th_strdupf("mqtt:\n"
			   "  url: tcp://127.0.0.1:%d\n"
			   "devices:\n"
			   "  blind: {driver: virtual, kind: cover, speed: 100}\n"
			   "  door: {driver: virtual, kind: lock}\n"
			   "  heating:\n"
			   "    driver: virtual\n"
			   "    kind: climate\n"
			   "    modes: [off, heat]\n"
			   "    min_temp: 10\n"
			   "    max_temp: 25\n"
			   "  fan: {driver: virtual, kind: fan, presets: [breeze, sleep]}\n"
			   "  remote:\n"
			   "    driver: virtual\n"
			   "    kind: button\n"
			   "    event_types: [double, single]\n"
			   "    interval: 300ms\n"
			   "  toilet:\n"
			   "    driver: virtual\n"
			   "    kind: custom\n"
			   "    properties:\n"
			   "      flush: {type: action}\n"
			   "      seat: {type: enum, values: [up, down]}\n"
			   "      water_temp: {type: number, min: 10, max: 40, unit: \"°C\"}\n"
			   "  lamp: {driver: virtual, kind: light}\n"
			   "scenes:\n"
			   "  close_blind:\n"
			   "    steps:\n"
			   "      - {device: blind, set: {state: CLOSE}}\n"
			   "      - {wait: {device: blind, state: {state: closed}}, timeout: 10s}\n"
			   "  on_double:\n"
			   "    steps:\n"
			   "      - {wait: {device: remote, event: double}, timeout: 10s}\n"
			   "      - {device: lamp, set: {state: \"ON\"}}\n",
			   broker.port);
	cr_assert_eq(th_daemon_start(&daemon_, yaml, NULL, NULL), 0);
	free(yaml);
	char *m = th_mqtt_wait_json(mqtt, "smarthub/lamp/availability", "{\"state\":\"online\"}",
				    WAIT_MS);
	cr_assert_not_null(m, "never online; log:\n%s", th_daemon_log(&daemon_));
	free(m);
}

static void stop(void)
{
	th_mqtt_close(mqtt);
	th_daemon_stop(&daemon_);
	th_broker_stop(&broker);
}

TestSuite(kinds_virtual, .init = start, .fini = stop, .timeout = 120);

static void expect_json(const char *topic, const char *subset)
{
	char *m = th_mqtt_wait_json(mqtt, topic, subset, WAIT_MS);
	cr_assert_not_null(m, "%s never had %s; last %s; log:\n%s", topic, subset,
			   th_mqtt_last(mqtt, topic), th_daemon_log(&daemon_));
	free(m);
}

static void set(const char *id, const char *payload)
{
	char *topic = th_strdupf("smarthub/%s/set", id);
	cr_assert_eq(th_mqtt_publish(mqtt, topic, payload, strlen(payload), false), 0);
	free(topic);
}

Test(kinds_virtual, scene_closes_the_cover_and_waits_until_closed)
{
	expect_json("smarthub/blind", "{\"state\":\"open\",\"position\":100}");
	cr_assert_eq(th_mqtt_publish(mqtt, "smarthub/scene/close_blind/set", "run", 3, false), 0);
	expect_json("smarthub/blind", "{\"state\":\"closing\"}");
	expect_json("smarthub/blind", "{\"state\":\"closed\",\"position\":0}");
	expect_json("smarthub/scene/close_blind", "{\"state\":\"running\"}");
	expect_json("smarthub/scene/close_blind", "{\"state\":\"idle\"}");
	set("blind", "{\"position\":50}");
	expect_json("smarthub/blind", "{\"state\":\"opening\"}");
	expect_json("smarthub/blind", "{\"state\":\"open\",\"position\":50}");
}

Test(kinds_virtual, lock_climate_fan_custom_and_light)
{
	set("door", "{\"state\":\"LOCK\"}");
	expect_json("smarthub/door", "{\"state\":\"LOCKED\"}");

	expect_json("smarthub/heating", "{\"mode\":\"off\",\"action\":\"idle\"}");
	set("heating", "{\"mode\":\"heat\",\"target_temperature\":19}");
	expect_json("smarthub/heating", "{\"action\":\"heating\"}");
	expect_json("smarthub/heating", "{\"current_temperature\":19,\"action\":\"idle\"}");
	set("heating", "{\"mode\":\"cool\"}");
	expect_json("smarthub/bridge/event", "{\"topic\":\"smarthub/heating/set\"}");

	set("fan", "{\"state\":\"on\",\"preset\":\"sleep\",\"percentage\":40}");
	expect_json("smarthub/fan", "{\"state\":\"ON\",\"preset\":\"sleep\",\"percentage\":40}");

	expect_json("smarthub/toilet", "{\"seat\":\"up\",\"water_temp\":10}");
	set("toilet", "{\"seat\":\"down\",\"flush\":true}");
	expect_json("smarthub/toilet", "{\"seat\":\"down\"}");
	char *last = th_mqtt_last(mqtt, "smarthub/toilet");
	cr_expect_null(strstr(last, "flush"), "an action is no state: %s", last);
	free(last);

	expect_json("smarthub/lamp", "{\"color_mode\":\"color_temp\"}");
	set("lamp", "{\"state\":\"ON\",\"color\":{\"r\":255,\"g\":0,\"b\":0}}");
	expect_json("smarthub/lamp", "{\"state\":\"ON\",\"color_mode\":\"rgb\"}");
}

Test(kinds_virtual, button_presses_are_unretained_events)
{
	expect_json("smarthub/remote/event", "{\"event\":\"double\"}");
	cr_expect_not(th_mqtt_last_retained(mqtt, "smarthub/remote/event"));
	/* Two identical presses are two events. */
	for (int i = 0; i < 200 && th_mqtt_count(mqtt, "smarthub/remote/event") < 2; i++)
		free(th_mqtt_wait(mqtt, "smarthub/nothing", NULL, 50));
	cr_expect_geq(th_mqtt_count(mqtt, "smarthub/remote/event"), 2);
	cr_assert_eq(th_mqtt_publish(mqtt, "smarthub/scene/on_double/set", "run", 3, false), 0);
	expect_json("smarthub/lamp", "{\"state\":\"ON\"}");
	expect_json("smarthub/scene/on_double", "{\"state\":\"idle\"}");
	char *m = th_mqtt_wait(mqtt, "smarthub/remote", NULL, 0);
	cr_expect_null(m, "a button has no retained state: %s", m);
	free(m);
}
