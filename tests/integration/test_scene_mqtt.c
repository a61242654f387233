/* SPDX-License-Identifier: MIT */
/*
 * Scenes end to end, as a user drives them: the real smarthubd with
 * virtual devices and a private mosquitto. A scene is run and cancelled
 * through scene/<name>/set, run through bridge/request/scene/run with the
 * result in the response, and watched on its retained status topic.
 */
#include "fixture.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MS TH_WAIT_MS

static void rig_start(void)
{
	th_fixture_start_broker(NULL);
	th_fixture_start_daemon(
		NULL,
		"devices:\n"
		"  light: { driver: virtual, kind: light, command_delay: 50ms }\n"
		"  amp_plug: { driver: virtual, kind: switch, command_delay: 50ms }\n"
		"  speaker:\n"
		"    driver: virtual\n"
		"    kind: speaker\n"
		"    command_delay: 20ms\n"
		"    needs_power: amp_plug\n"
		"    depends_on: [amp_plug]\n"
		"    backoff: { initial: 50ms, max: 200ms }\n"
		"scenes:\n"
		"  movie:\n"
		"    mode: restart\n"
		"    steps:\n"
		"      - parallel:\n"
		"          - { device: light, set: { state: \"ON\", brightness: 40 } }\n"
		"          - { device: amp_plug, set: { state: \"ON\" } }\n"
		"      - { wait: { device: speaker, state: { availability: online } }, timeout: "
		"10s }\n"
		"      - { device: speaker, set: { state: \"ON\", volume: 30 }, retry: 2 }\n"
		"      - { device: speaker, set: { play: \"movie-night\" } }\n"
		"  broken:\n"
		"    steps:\n"
		"      - { delay: 10ms }\n"
		"      - { device: light, set: { state: \"ON\" } }\n"
		"      - { wait: { device: light, state: { brightness: 255 } }, timeout: 100ms }\n"
		"  forever:\n"
		"    steps:\n"
		"      - { wait: { device: light, state: { brightness: 3 } } }\n",
		NULL, NULL);
	free(th_fixture_expect_json("smarthub/bridge/state", "{\"state\":\"online\"}"));
	th_fixture_expect_online("light");
}

TestSuite(scene_mqtt, .init = rig_start, .fini = th_fixture_teardown, .timeout = 120);

static void publish(const char *topic, const char *payload)
{
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, topic, payload, strlen(payload), false), 0);
}

/* scene/<name>/set run: the status goes running, then idle, retained; the
 * speaker ends up playing. */
Test(scene_mqtt, run_over_mqtt)
{
	char *m = th_mqtt_wait_json(th_fx.mqtt, "smarthub/scene/movie", "{\"state\":\"idle\"}",
				    WAIT_MS);
	cr_assert_not_null(m, "the status is published at start");
	free(m);
	th_mqtt_clear(th_fx.mqtt);

	publish("smarthub/scene/movie/set", "run");
	m = th_mqtt_wait_json(th_fx.mqtt, "smarthub/scene/movie", "{\"state\":\"running\"}",
			      WAIT_MS);
	cr_assert_not_null(m);
	free(m);
	m = th_mqtt_wait_json(th_fx.mqtt, "smarthub/scene/movie", "{\"state\":\"idle\"}", WAIT_MS);
	cr_assert_not_null(m, "the scene ends; log:\n%s", th_daemon_log(&th_fx.daemon));
	cr_expect(strstr(m, "\"duration_ms\""), "%s", m);
	cr_expect(strstr(m, "\"started_at\""), "%s", m);
	free(m);
	/* A client that subscribes later is told the status: it is retained. */
	struct th_mqtt *late = th_mqtt_connect(th_fx.broker.port, "test-scene-late");
	cr_assert_not_null(late);
	cr_assert_eq(th_mqtt_subscribe(late, "smarthub/scene/movie"), 0);
	m = th_mqtt_wait_json(late, "smarthub/scene/movie", "{\"state\":\"idle\"}", WAIT_MS);
	cr_expect_not_null(m);
	free(m);
	cr_expect(th_mqtt_last_retained(late, "smarthub/scene/movie"));
	th_mqtt_close(late);
	m = th_mqtt_last(th_fx.mqtt, "smarthub/speaker");
	cr_assert_not_null(m);
	cr_expect(strstr(m, "movie-night") && strstr(m, "\"ON\""), "%s", m);
	free(m);
}

/* bridge/request/scene/run answers when the run ends, with the failed
 * step and the reason; the status topic says the same. */
Test(scene_mqtt, request_reports_failure)
{
	publish("smarthub/bridge/request/scene/run",
		"{\"scene\":\"broken\",\"transaction\":\"t1\"}");
	char *m = th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/response/scene/run", "t1", WAIT_MS);
	cr_assert_not_null(m, "log:\n%s", th_daemon_log(&th_fx.daemon));
	cr_expect(strstr(m, "\"status\":\"error\""), "%s", m);
	cr_expect(strstr(m, "steps[2]"), "%s", m);
	cr_expect(strstr(m, "timeout after 100ms"), "%s", m);
	free(m);
	m = th_mqtt_wait_json(th_fx.mqtt, "smarthub/scene/broken",
			      "{\"state\":\"failed\",\"failed_step\":\"steps[2]\"}", WAIT_MS);
	cr_assert_not_null(m);
	free(m);
}

/* scene/<name>/set cancel stops a run that would otherwise never end. */
Test(scene_mqtt, cancel_over_mqtt)
{
	publish("smarthub/scene/forever/set", "run");
	char *m = th_mqtt_wait_json(th_fx.mqtt, "smarthub/scene/forever", "{\"state\":\"running\"}",
				    WAIT_MS);
	cr_assert_not_null(m);
	free(m);
	publish("smarthub/scene/forever/set", "cancel");
	m = th_mqtt_wait_json(th_fx.mqtt, "smarthub/scene/forever",
			      "{\"state\":\"cancelled\",\"active\":0,\"finished\":1}", WAIT_MS);
	cr_assert_not_null(m, "log:\n%s", th_daemon_log(&th_fx.daemon));
	free(m);
}

/* Mode single refuses a second run with an event on bridge/event. */
Test(scene_mqtt, single_refusal_is_an_event)
{
	publish("smarthub/scene/forever/set", "run");
	char *m = th_mqtt_wait_json(th_fx.mqtt, "smarthub/scene/forever", "{\"state\":\"running\"}",
				    WAIT_MS);
	cr_assert_not_null(m);
	free(m);
	th_mqtt_clear(th_fx.mqtt);
	publish("smarthub/scene/forever/set", "run");
	m = th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/event", "already running", WAIT_MS);
	cr_assert_not_null(m, "log:\n%s", th_daemon_log(&th_fx.daemon));
	cr_expect(strstr(m, "\"topic\":\"smarthub/scene/forever/set\""), "%s", m);
	free(m);
	/* One event, not two (issue 18 item 10): a later refusal marks the
	 * end of what the first could have caused. */
	publish("smarthub/scene/nope/set", "run");
	m = th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/event", "nope", WAIT_MS);
	cr_assert_not_null(m);
	free(m);
	cr_expect_eq(th_mqtt_count(th_fx.mqtt, "smarthub/bridge/event"), 2);
}
