/* SPDX-License-Identifier: MIT */
/*
 * The kinds of issue 19 end to end with the virtual driver: a cover that
 * starts open and moves (opening/closing, then open/closed) and a scene
 * that closes it and waits until it reports closed; a lock; a climate
 * whose room warms towards the target; a fan with presets; a button that
 * presses itself, each press an unretained event, and a scene waiting for
 * one; a custom device with declared properties; a light's color_mode.
 */
#include "fixture.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MS TH_WAIT_MS

static void start(void)
{
	th_fixture_start("devices:\n"
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
			 "      - {device: lamp, set: {state: \"ON\"}}\n");
	th_fixture_expect_online("lamp");
}

TestSuite(kinds_virtual, .init = start, .fini = th_fixture_teardown, .timeout = 120);

static void set(const char *id, const char *payload)
{
	char *topic = th_strdupf("smarthub/%s/set", id);
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, topic, payload, strlen(payload), false), 0);
	free(topic);
}

Test(kinds_virtual, scene_closes_the_cover_and_waits_until_closed)
{
	th_fixture_expect("smarthub/blind", "{\"state\":\"open\",\"position\":100}");
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, "smarthub/scene/close_blind/set", "run", 3, false),
		     0);
	th_fixture_expect("smarthub/blind", "{\"state\":\"closing\"}");
	th_fixture_expect("smarthub/blind", "{\"state\":\"closed\",\"position\":0}");
	th_fixture_expect("smarthub/scene/close_blind", "{\"state\":\"running\"}");
	th_fixture_expect("smarthub/scene/close_blind", "{\"state\":\"idle\"}");
	set("blind", "{\"position\":50}");
	th_fixture_expect("smarthub/blind", "{\"state\":\"opening\"}");
	th_fixture_expect("smarthub/blind", "{\"state\":\"open\",\"position\":50}");
}

Test(kinds_virtual, lock_climate_fan_custom_and_light)
{
	set("door", "{\"state\":\"LOCK\"}");
	th_fixture_expect("smarthub/door", "{\"state\":\"LOCKED\"}");

	th_fixture_expect("smarthub/heating", "{\"mode\":\"off\",\"action\":\"idle\"}");
	set("heating", "{\"mode\":\"heat\",\"target_temperature\":19}");
	th_fixture_expect("smarthub/heating", "{\"action\":\"heating\"}");
	th_fixture_expect("smarthub/heating", "{\"current_temperature\":19,\"action\":\"idle\"}");
	set("heating", "{\"mode\":\"cool\"}");
	th_fixture_expect("smarthub/bridge/event", "{\"topic\":\"smarthub/heating/set\"}");

	set("fan", "{\"state\":\"on\",\"preset\":\"sleep\",\"percentage\":40}");
	th_fixture_expect("smarthub/fan",
			  "{\"state\":\"ON\",\"preset\":\"sleep\",\"percentage\":40}");

	th_fixture_expect("smarthub/toilet", "{\"seat\":\"up\",\"water_temp\":10}");
	set("toilet", "{\"seat\":\"down\",\"flush\":true}");
	th_fixture_expect("smarthub/toilet", "{\"seat\":\"down\"}");
	char *last = th_mqtt_last(th_fx.mqtt, "smarthub/toilet");
	cr_expect_null(strstr(last, "flush"), "an action is no state: %s", last);
	free(last);

	th_fixture_expect("smarthub/lamp", "{\"color_mode\":\"color_temp\"}");
	set("lamp", "{\"state\":\"ON\",\"color\":{\"r\":255,\"g\":0,\"b\":0}}");
	th_fixture_expect("smarthub/lamp", "{\"state\":\"ON\",\"color_mode\":\"rgb\"}");
}

Test(kinds_virtual, button_presses_are_unretained_events)
{
	th_fixture_expect("smarthub/remote/event", "{\"event\":\"double\"}");
	cr_expect_not(th_mqtt_last_retained(th_fx.mqtt, "smarthub/remote/event"));
	/* Two identical presses are two events. */
	for (int i = 0; i < 200 && th_mqtt_count(th_fx.mqtt, "smarthub/remote/event") < 2; i++)
		free(th_mqtt_wait(th_fx.mqtt, "smarthub/nothing", NULL, 50));
	cr_expect_geq(th_mqtt_count(th_fx.mqtt, "smarthub/remote/event"), 2);
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, "smarthub/scene/on_double/set", "run", 3, false),
		     0);
	th_fixture_expect("smarthub/lamp", "{\"state\":\"ON\"}");
	th_fixture_expect("smarthub/scene/on_double", "{\"state\":\"idle\"}");
	char *m = th_mqtt_wait(th_fx.mqtt, "smarthub/remote", NULL, 0);
	cr_expect_null(m, "a button has no retained state: %s", m);
	free(m);
}
