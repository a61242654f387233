/* SPDX-License-Identifier: MIT */
/*
 * Scenes end to end, as a user drives them: the real smarthubd with
 * virtual devices and a private mosquitto. A scene is run and cancelled
 * through scene/<name>/set, run through bridge/request/scene/run with the
 * result in the response, and watched on its retained status topic.
 */
#include "harness.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* Generous bound for anything to happen: a guard, not a timing check. */
#define WAIT_MS 15000

struct rig {
	struct th_broker broker;
	struct th_daemon daemon;
	struct th_mqtt *mqtt;
};

static struct rig rig;

static void rig_start(void)
{
	memset(&rig, 0, sizeof(rig));
	cr_assert_eq(th_broker_start(&rig.broker, 0), 0);
	rig.mqtt = th_mqtt_connect(rig.broker.port, "test-scene");
	cr_assert_not_null(rig.mqtt);
	cr_assert_eq(th_mqtt_subscribe(rig.mqtt, "smarthub/#"), 0);

	char *yaml = th_strdupf(
		"mqtt:\n"
		"  url: tcp://127.0.0.1:%d\n"
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
		rig.broker.port);
	cr_assert_eq(th_daemon_start(&rig.daemon, yaml, NULL, NULL), 0);
	free(yaml);
	char *m = th_mqtt_wait_json(rig.mqtt, "smarthub/bridge/state", "{\"state\":\"online\"}",
				    WAIT_MS);
	cr_assert_not_null(m, "the bridge never came online; log:\n%s", th_daemon_log(&rig.daemon));
	free(m);
	m = th_mqtt_wait_json(rig.mqtt, "smarthub/light/availability", "{\"state\":\"online\"}",
			      WAIT_MS);
	cr_assert_not_null(m);
	free(m);
}

static void rig_stop(void)
{
	th_mqtt_close(rig.mqtt);
	th_daemon_stop(&rig.daemon);
	th_broker_stop(&rig.broker);
}

TestSuite(scene_mqtt, .init = rig_start, .fini = rig_stop, .timeout = 120);

static void publish(const char *topic, const char *payload)
{
	cr_assert_eq(th_mqtt_publish(rig.mqtt, topic, payload, strlen(payload), false), 0);
}

/* scene/<name>/set run: the status goes running, then idle, retained; the
 * speaker ends up playing. */
Test(scene_mqtt, run_over_mqtt)
{
	char *m = th_mqtt_wait_json(rig.mqtt, "smarthub/scene/movie", "{\"state\":\"idle\"}",
				    WAIT_MS);
	cr_assert_not_null(m, "the status is published at start");
	free(m);
	th_mqtt_clear(rig.mqtt);

	publish("smarthub/scene/movie/set", "run");
	m = th_mqtt_wait_json(rig.mqtt, "smarthub/scene/movie", "{\"state\":\"running\"}", WAIT_MS);
	cr_assert_not_null(m);
	free(m);
	m = th_mqtt_wait_json(rig.mqtt, "smarthub/scene/movie", "{\"state\":\"idle\"}", WAIT_MS);
	cr_assert_not_null(m, "the scene ends; log:\n%s", th_daemon_log(&rig.daemon));
	cr_expect(strstr(m, "\"duration_ms\""), "%s", m);
	cr_expect(strstr(m, "\"started_at\""), "%s", m);
	free(m);
	/* A client that subscribes later is told the status: it is retained. */
	struct th_mqtt *late = th_mqtt_connect(rig.broker.port, "test-scene-late");
	cr_assert_not_null(late);
	cr_assert_eq(th_mqtt_subscribe(late, "smarthub/scene/movie"), 0);
	m = th_mqtt_wait_json(late, "smarthub/scene/movie", "{\"state\":\"idle\"}", WAIT_MS);
	cr_expect_not_null(m);
	free(m);
	cr_expect(th_mqtt_last_retained(late, "smarthub/scene/movie"));
	th_mqtt_close(late);
	m = th_mqtt_last(rig.mqtt, "smarthub/speaker");
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
	char *m = th_mqtt_wait(rig.mqtt, "smarthub/bridge/response/scene/run", "t1", WAIT_MS);
	cr_assert_not_null(m, "log:\n%s", th_daemon_log(&rig.daemon));
	cr_expect(strstr(m, "\"status\":\"error\""), "%s", m);
	cr_expect(strstr(m, "steps[2]"), "%s", m);
	cr_expect(strstr(m, "timeout after 100ms"), "%s", m);
	free(m);
	m = th_mqtt_wait_json(rig.mqtt, "smarthub/scene/broken",
			      "{\"state\":\"failed\",\"failed_step\":\"steps[2]\"}", WAIT_MS);
	cr_assert_not_null(m);
	free(m);
}

/* scene/<name>/set cancel stops a run that would otherwise never end. */
Test(scene_mqtt, cancel_over_mqtt)
{
	publish("smarthub/scene/forever/set", "run");
	char *m = th_mqtt_wait_json(rig.mqtt, "smarthub/scene/forever", "{\"state\":\"running\"}",
				    WAIT_MS);
	cr_assert_not_null(m);
	free(m);
	publish("smarthub/scene/forever/set", "cancel");
	m = th_mqtt_wait_json(rig.mqtt, "smarthub/scene/forever",
			      "{\"state\":\"cancelled\",\"runs\":0}", WAIT_MS);
	cr_assert_not_null(m, "log:\n%s", th_daemon_log(&rig.daemon));
	free(m);
}

/* Mode single refuses a second run with an event on bridge/event. */
Test(scene_mqtt, single_refusal_is_an_event)
{
	publish("smarthub/scene/forever/set", "run");
	char *m = th_mqtt_wait_json(rig.mqtt, "smarthub/scene/forever", "{\"state\":\"running\"}",
				    WAIT_MS);
	cr_assert_not_null(m);
	free(m);
	publish("smarthub/scene/forever/set", "run");
	m = th_mqtt_wait(rig.mqtt, "smarthub/bridge/event", "already running", WAIT_MS);
	cr_assert_not_null(m, "log:\n%s", th_daemon_log(&rig.daemon));
	free(m);
}
