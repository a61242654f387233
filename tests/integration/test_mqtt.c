/* SPDX-License-Identifier: MIT */
/*
 * Integration tests of the MQTT bridge: the real smarthubd with virtual
 * devices, a private mosquitto on a free loopback port, and a test client
 * that drives the daemon as a user (or Home Assistant) does. Covers the
 * topic API (set, get, TOGGLE, requests with transactions), one event per
 * malformed-payload class with the daemon answering the next good command,
 * the rate limit on events, a broker restart with state changing during
 * the outage, a broker that is down at start-up, the last will on SIGKILL,
 * the offline state on SIGTERM, and Home Assistant discovery (payloads,
 * birth message, removal on reload).
 */
#include "fixture.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAIT_MS TH_WAIT_MS

TestSuite(mqtt, .fini = th_fixture_teardown);

/* The devices most tests use:
 *   lamp    a light, plug a switch
 *   climate a sensor reporting every 300 ms
 *   slow    a switch whose commands take a while and whose queue holds one
 *   dead    a switch that never answers (always offline) */
static const char devices_yaml[] = "devices:\n"
				   "  lamp: {driver: virtual, kind: light, name: Lamp}\n"
				   "  plug: {driver: virtual, kind: switch}\n"
				   "  climate:\n"
				   "    driver: virtual\n"
				   "    kind: sensor\n"
				   "    readings: [temperature, humidity, motion]\n"
				   "    interval: 300ms\n"
				   "    seed: 7\n"
				   "  slow: {driver: virtual, kind: switch, command_delay: 1500ms, "
				   "queue_limit: 1}\n"
				   "  dead: {driver: virtual, kind: switch, unreachable: true, "
				   "connect_timeout: 200ms}\n"
				   "scenes:\n"
				   "  evening:\n"
				   "    name: Evening\n"
				   "    steps:\n"
				   "      - {device: lamp, set: {state: \"ON\", brightness: 80}}\n"
				   "      - {delay: 100ms}\n"
				   "      - {device: plug, set: {state: \"ON\"}}\n"
				   "  broken:\n"
				   "    steps:\n"
				   "      - {device: dead, set: {state: \"ON\"}}\n";

/* The configuration's parts: fast reconnects and mqtt_extra under mqtt:,
 * discovery on and `devices` (NULL: the ones above). Caller frees both. */
static void config_parts(const char *mqtt_extra, const char *devices, char **extra, char **body)
{
	*extra = th_strdupf("reconnect: {initial: 100ms, max: 500ms}\n%s",
			    mqtt_extra ? mqtt_extra : "");
	*body = th_strdupf("homeassistant:\n  discovery: true\n%s",
			   devices ? devices : devices_yaml);
}

/* The whole file, for a test that rewrites it before a reload. */
static char *config_yaml(const char *mqtt_extra, const char *devices)
{
	char *extra, *body;
	config_parts(mqtt_extra, devices, &extra, &body);
	char *yaml = th_fixture_config(extra, body);
	free(body);
	free(extra);
	return yaml;
}

static void start_daemon(const char *mqtt_extra, const char *devices)
{
	char *extra, *body;
	config_parts(mqtt_extra, devices, &extra, &body);
	th_fixture_start_daemon(extra, body, NULL, NULL);
	free(body);
	free(extra);
}

static void start(const char *mqtt_extra, const char *devices)
{
	th_fixture_start_broker(NULL);
	start_daemon(mqtt_extra, devices);
}

static void pub(const char *topic, const char *payload)
{
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, topic, payload, strlen(payload), false), 0);
}

static void wait_online(const char *id)
{
	th_fixture_expect_online(id);
}

/* Sends `payload` to `topic` and waits for the error event naming that
 * topic whose message contains `reason`. */
static void expect_event(const char *topic, const char *payload, const char *reason)
{
	th_mqtt_clear(th_fx.mqtt);
	pub(topic, payload);
	char *msg = th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/event", reason, WAIT_MS);
	cr_assert_not_null(msg, "no event saying \"%s\" for %s on %s; daemon log:\n%s", reason,
			   payload, topic, th_daemon_log(&th_fx.daemon));
	cJSON *e = cJSON_Parse(msg);
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(e, "type");
	const cJSON *about = cJSON_GetObjectItemCaseSensitive(e, "topic");
	cr_assert(cJSON_IsString(type) && !strcmp(type->valuestring, "error"), "%s", msg);
	cr_assert(cJSON_IsString(about) && !strcmp(about->valuestring, topic),
		  "the event names another topic than %s: %s", topic, msg);
	cJSON_Delete(e);
	free(msg);
}

static cJSON *parse(const char *text)
{
	cJSON *json = cJSON_Parse(text);

	cr_assert_not_null(json, "not JSON: %s", text);
	return json;
}

static const char *rstatus(const cJSON *r)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(r, "status");

	return cJSON_IsString(s) ? s->valuestring : "";
}

/* ---- the topic API ------------------------------------------------------- */

Test(mqtt, set_reaches_the_device_and_state_is_retained)
{
	start(NULL, NULL);
	th_fixture_expect("smarthub/bridge/state", "{\"state\":\"online\"}");
	wait_online("lamp");
	pub("smarthub/lamp/set", "{\"state\":\"ON\",\"brightness\":120}");
	th_fixture_expect("smarthub/lamp", "{\"state\":\"ON\",\"brightness\":120}");

	/* Someone who subscribes later gets it from the broker. */
	struct th_mqtt *late = th_fixture_client("test-late");
	char *msg = th_mqtt_wait_json(late, "smarthub/lamp", "{\"brightness\":120}", WAIT_MS);
	cr_assert_not_null(msg);
	cr_assert(th_mqtt_last_retained(late, "smarthub/lamp"));
	free(msg);
	msg = th_mqtt_wait(late, "smarthub/bridge/state", "online", WAIT_MS);
	cr_assert_not_null(msg);
	cr_assert(th_mqtt_last_retained(late, "smarthub/bridge/state"));
	free(msg);
	msg = th_mqtt_wait(late, "smarthub/lamp/availability", "online", WAIT_MS);
	cr_assert_not_null(msg);
	cr_assert(th_mqtt_last_retained(late, "smarthub/lamp/availability"));
	free(msg);
	th_mqtt_close(late);
}

Test(mqtt, get_publishes_the_state_again)
{
	start(NULL, NULL);
	wait_online("lamp");
	th_fixture_expect("smarthub/lamp", "{\"state\":\"OFF\"}");
	th_mqtt_clear(th_fx.mqtt);
	pub("smarthub/lamp/get", "");
	th_fixture_expect("smarthub/lamp", "{\"state\":\"OFF\"}");
}

Test(mqtt, toggle_and_plain_payloads_for_switches)
{
	start(NULL, NULL);
	wait_online("plug");
	th_fixture_expect("smarthub/plug", "{\"state\":\"OFF\"}");
	th_mqtt_clear(th_fx.mqtt);
	pub("smarthub/plug/set", "TOGGLE");
	th_fixture_expect("smarthub/plug", "{\"state\":\"ON\"}");
	th_mqtt_clear(th_fx.mqtt);
	pub("smarthub/plug/set", "TOGGLE");
	th_fixture_expect("smarthub/plug", "{\"state\":\"OFF\"}");
	th_mqtt_clear(th_fx.mqtt);
	pub("smarthub/plug/set", "on");
	th_fixture_expect("smarthub/plug", "{\"state\":\"ON\"}");
	th_mqtt_clear(th_fx.mqtt);
	pub("smarthub/plug/set", "{\"state\":\"OFF\"}");
	th_fixture_expect("smarthub/plug", "{\"state\":\"OFF\"}");
}

Test(mqtt, requests_echo_their_transaction)
{
	start(NULL, NULL);
	wait_online("lamp");
	wait_online("plug");

	cJSON *r = th_fixture_request("health_check", "", "t1");
	cr_assert_str_eq(rstatus(r), "ok");
	const cJSON *data = cJSON_GetObjectItem(r, "data");
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(data, "healthy")));
	cr_assert_eq(cJSON_GetObjectItem(data, "devices")->valueint, 5);
	cr_assert_geq(cJSON_GetObjectItem(data, "devices_online")->valueint, 2);
	cr_assert(cJSON_HasObjectItem(data, "uptime_s"));
	cJSON_Delete(r);

	r = th_fixture_request("devices", "", "t2");
	cr_assert_str_eq(rstatus(r), "ok");
	data = cJSON_GetObjectItem(r, "data");
	cr_assert_eq(cJSON_GetArraySize(data), 5);
	const cJSON *lamp = cJSON_GetArrayItem(data, 0);
	cr_assert_str_eq(cJSON_GetObjectItem(lamp, "id")->valuestring, "lamp");
	cr_assert_str_eq(cJSON_GetObjectItem(lamp, "kind")->valuestring, "light");
	cr_assert_str_eq(cJSON_GetObjectItem(lamp, "driver")->valuestring, "virtual");
	cr_assert(cJSON_GetArraySize(cJSON_GetObjectItem(lamp, "properties")) > 1);
	cJSON_Delete(r);

	r = th_fixture_request("device/get", "\"id\":\"plug\"", "t3");
	cr_assert_str_eq(rstatus(r), "ok");
	data = cJSON_GetObjectItem(r, "data");
	cr_assert_str_eq(cJSON_GetObjectItem(data, "availability")->valuestring, "online");
	cr_assert_str_eq(
		cJSON_GetObjectItem(cJSON_GetObjectItem(data, "state"), "state")->valuestring,
		"OFF");
	cJSON_Delete(r);

	r = th_fixture_request("device/get", "\"id\":\"nope\"", "t4");
	cr_assert_str_eq(rstatus(r), "error");
	cr_assert(cJSON_IsString(cJSON_GetObjectItem(r, "error")));
	cJSON_Delete(r);

	r = th_fixture_request("frobnicate", "", "t5");
	cr_assert_str_eq(rstatus(r), "error");
	cr_assert(strstr(cJSON_GetObjectItem(r, "error")->valuestring, "frobnicate"));
	cJSON_Delete(r);

	/* The response to scene/run comes when the scene is done. */
	r = th_fixture_request("scene/run", "\"scene\":\"evening\"", "t6");
	cr_assert_str_eq(rstatus(r), "ok", "%s", cJSON_PrintUnformatted(r));
	data = cJSON_GetObjectItem(r, "data");
	cr_assert_str_eq(cJSON_GetObjectItem(data, "status")->valuestring, "ok");
	cr_assert(cJSON_HasObjectItem(data, "duration_ms"));
	cJSON_Delete(r);
	/* By then both steps took effect. */
	th_fixture_expect("smarthub/plug", "{\"state\":\"ON\"}");
	th_fixture_expect("smarthub/lamp", "{\"state\":\"ON\",\"brightness\":80}");

	r = th_fixture_request("scene/run", "\"scene\":\"broken\"", "t7");
	cr_assert_str_eq(rstatus(r), "error");
	data = cJSON_GetObjectItem(r, "data");
	cr_assert_str_eq(cJSON_GetObjectItem(data, "status")->valuestring, "failed");
	cr_assert(cJSON_HasObjectItem(data, "failed_step"));
	cJSON_Delete(r);

	r = th_fixture_request("scene/run", "\"scene\":\"nope\"", "t8");
	cr_assert_str_eq(rstatus(r), "error");
	cJSON_Delete(r);

	r = th_fixture_request("scene/cancel", "\"scene\":\"evening\"", "t9");
	cr_assert_str_eq(rstatus(r), "ok");
	cJSON_Delete(r);

	/* A numeric transaction comes back as it was sent. */
	th_mqtt_clear(th_fx.mqtt);
	pub("smarthub/bridge/request/health_check", "{\"transaction\":17}");
	th_fixture_expect("smarthub/bridge/response/health_check",
			  "{\"status\":\"ok\",\"transaction\":17}");
}

Test(mqtt, scene_set_topic_runs_a_scene)
{
	start(NULL, NULL);
	wait_online("lamp");
	wait_online("plug");
	pub("smarthub/scene/evening/set", "run");
	th_fixture_expect("smarthub/plug", "{\"state\":\"ON\"}");
	th_fixture_expect("smarthub/scene/evening", "{\"state\":\"idle\"}");
	expect_event("smarthub/scene/nope/set", "run", "nope");
	expect_event("smarthub/scene/evening/set", "dance", "run or cancel");
}

/* ---- malformed payloads ---------------------------------------------------- */

/* After each bad command, a good one still works. */
static void good_command(int brightness)
{
	char *payload = th_strdupf("{\"brightness\":%d}", brightness);
	char *want = th_strdupf("{\"brightness\":%d}", brightness);

	th_mqtt_clear(th_fx.mqtt);
	pub("smarthub/lamp/set", payload);
	th_fixture_expect("smarthub/lamp", want);
	free(want);
	free(payload);
}

Test(mqtt, every_malformed_payload_gives_an_event)
{
	start("max_payload: 1024\nevents_per_second: 1000\n", NULL);
	wait_online("lamp");
	wait_online("slow");
	th_fixture_expect("smarthub/dead/availability", "{\"state\":\"offline\"}");

	char big[2048];
	memset(big, ' ', sizeof(big) - 1);
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	big[sizeof(big) - 1] = '\0';
	expect_event("smarthub/lamp/set", big, "exceeds the limit of 1024");
	good_command(1);
	expect_event("smarthub/lamp/set", "garbage", "not valid JSON");
	good_command(2);
	expect_event("smarthub/lamp/set", "[1,2]", "JSON object");
	good_command(3);
	expect_event("smarthub/ghost/set", "{\"state\":\"ON\"}", "unknown device");
	good_command(4);
	expect_event("smarthub/lamp/set", "{\"sparkle\":true}", "sparkle");
	good_command(5);
	expect_event("smarthub/lamp/set", "{\"brightness\":\"high\"}", "brightness");
	good_command(6);
	expect_event("smarthub/lamp/set", "{\"brightness\":999}", "255");
	good_command(7);
	expect_event("smarthub/dead/set", "{\"state\":\"ON\"}", "offline");
	good_command(8);

	good_command(9);

	/* The queue holds one command; the first runs for a while. A TOGGLE
	 * cannot merge into the one waiting (ON and OFF would), so the third
	 * is refused. */
	th_mqtt_clear(th_fx.mqtt);
	for (int i = 0; i < 4; i++)
		pub("smarthub/slow/set", "TOGGLE");
	char *msg = th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/event", "queue full", WAIT_MS);
	cr_assert_not_null(msg, "no queue-full event; log:\n%s", th_daemon_log(&th_fx.daemon));
	cr_assert(strstr(msg, "\"device\":\"slow\""));
	free(msg);
	good_command(10);

	/* Requests with a payload that is not an object. */
	th_mqtt_clear(th_fx.mqtt);
	pub("smarthub/bridge/request/health_check", "nonsense");
	th_fixture_expect("smarthub/bridge/response/health_check", "{\"status\":\"error\"}");
	good_command(11);

	/* Still running after all of it. */
	cr_assert_eq(th_daemon_signal(&th_fx.daemon, 0), 0);
}

Test(mqtt, deeply_nested_payloads_are_refused)
{
	start("events_per_second: 1000\n", NULL);
	wait_online("lamp");
	/* 10,000 levels deep: refused by the parser, not by a crash. */
	char *deep = malloc(20001);
	memset(deep, '[', 10000);
	memset(deep + 10000, ']', 10000);
	deep[20000] = '\0';
	expect_event("smarthub/lamp/set", deep, "not valid JSON");
	free(deep);
	good_command(41);
	/* Valid JSON but for its depth: {"a":{"a":...1...}}. */
	deep = malloc(60002);
	for (int i = 0; i < 10000; i++)
		memcpy(deep + i * 5, "{\"a\":", 5);
	deep[50000] = '1';
	memset(deep + 50001, '}', 10000);
	deep[60001] = '\0';
	expect_event("smarthub/lamp/set", deep, "not valid JSON");
	free(deep);
	good_command(42);
}

Test(mqtt, a_flood_of_bad_commands_is_rate_limited)
{
	start("events_per_second: 2\n", NULL);
	wait_online("lamp");
	th_mqtt_clear(th_fx.mqtt);
	for (int i = 0; i < 60; i++)
		pub("smarthub/lamp/set", "garbage");
	/* The daemon answers a good command, so it has seen the whole flood. */
	good_command(77);
	cr_assert_lt(th_mqtt_count(th_fx.mqtt, "smarthub/bridge/event"), 60);

	/* The next event that goes out says how many were left out. */
	char *msg = NULL;
	for (int i = 0; i < 100 && !msg; i++) {
		pub("smarthub/lamp/set", "garbage");
		msg = th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/event", "suppressed", 300);
	}
	cr_assert_not_null(msg, "no event reported the suppressed ones");
	cJSON *ev = parse(msg);
	cr_assert_gt(cJSON_GetObjectItem(ev, "suppressed")->valueint, 0);
	cJSON_Delete(ev);
	free(msg);
}

/* ---- the connection ----------------------------------------------------------- */

Test(mqtt, broker_restart_loses_nothing)
{
	/* gate: a switch whose command runs until the test opens the FIFO,
	 * then leaves a file: a command that observably completes while the
	 * broker is down, without guessing how long anything takes. */
	char *fifo = th_fixture_path("gate.fifo");
	char *done = th_fixture_path("gate.done");
	char *tool = th_fixture_path("gate.sh");
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_assert_eq(th_write_file(tool, "#!/bin/sh\nread x < \"$GATE\"\necho ran >> \"$DONE\"\n"),
		     0);
	cr_assert_eq(chmod(tool, 0755), 0);
	char *devices = th_strdupf("%s"
				   "  gate:\n"
				   "    driver: exec\n"
				   "    kind: switch\n"
				   "    on: [%s]\n"
				   "    off: [%s]\n"
				   "    command_timeout: 60s\n"
				   "    env: { GATE: %s, DONE: %s }\n",
				   devices_yaml, tool, tool, fifo, done);
	/* The scenes stay last: devices_yaml ends with them. */
	char *scenes = strstr(devices, "scenes:\n");
	char *gate = strstr(devices, "  gate:\n");
	cr_assert(scenes && gate && scenes < gate);
	char *reordered = th_strdupf("%.*s%s%.*s", (int)(scenes - devices), devices, gate,
				     (int)(gate - scenes), scenes);
	start(NULL, reordered);
	free(reordered);
	free(devices);
	wait_online("lamp");
	wait_online("plug");
	wait_online("gate");
	th_fixture_expect("smarthub/climate", "{}");
	char *before = th_mqtt_last(th_fx.mqtt, "smarthub/climate");

	/* A command that completes while the broker is down. */
	pub("smarthub/gate/set", "{\"state\":\"ON\"}");
	cJSON *r = th_fixture_request("device/get", "\"id\":\"gate\"", "queued");
	cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "data"), "queue_length")->valueint,
		     1, "the command is running");
	cJSON_Delete(r);
	th_broker_stop(&th_fx.broker);
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "mqtt: connection to", WAIT_MS),
		  "the daemon did not notice; log:\n%s", th_daemon_log(&th_fx.daemon));
	/* Sensors go on reading meanwhile; the gated command finishes. */
	cr_assert_eq(th_write_file(fifo, "go\n"), 0);
	cr_assert(th_wait_file_line(done, "ran", NULL, WAIT_MS), "the gated command did not run");
	free(tool);
	free(done);
	free(fifo);

	th_mqtt_clear(th_fx.mqtt);
	cr_assert_eq(th_broker_start(&th_fx.broker, th_fx.broker.port), 0);
	th_fixture_expect("smarthub/bridge/state", "{\"state\":\"online\"}");

	/* Resubscribed by itself: a command works again. */
	wait_online("lamp");
	pub("smarthub/lamp/set", "{\"state\":\"ON\",\"brightness\":33}");
	th_fixture_expect("smarthub/lamp", "{\"state\":\"ON\",\"brightness\":33}");

	/* The broker's retained state is every device's latest. */
	struct th_mqtt *late = th_fixture_client("test-after-restart");
	char *gated = th_mqtt_wait_json(late, "smarthub/gate", "{\"state\":\"ON\"}", WAIT_MS);
	cr_assert_not_null(gated, "the command run during the outage shows");
	free(gated);
	const char *ids[] = {"lamp", "plug", "gate", "climate"};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char *topic = th_strdupf("smarthub/%s", ids[i]);
		char *body = th_strdupf("\"id\":\"%s\"", ids[i]);
		char *retained = th_mqtt_wait(late, topic, NULL, WAIT_MS);
		bool same = false;

		cr_assert_not_null(retained, "no retained state for %s", ids[i]);
		cr_assert(th_mqtt_last_retained(late, topic));
		free(retained);
		retained = NULL;
		/* The sensor reports every 300 ms and may do so between the two
		 * reads; then the next pair agrees. */
		for (int attempt = 0; attempt < 50 && !same; attempt++) {
			char *tr = th_strdupf("r-%s-%d", ids[i], attempt);
			cJSON *resp = th_fixture_request("device/get", body, tr);
			cJSON *state =
				cJSON_GetObjectItem(cJSON_GetObjectItem(resp, "data"), "state");

			/* The live publication of that state lands on `late`. */
			char *want = cJSON_PrintUnformatted(state);
			free(th_mqtt_wait_json(late, topic, want, WAIT_MS));
			free(want);
			free(retained);
			retained = th_mqtt_last(late, topic);
			cJSON *got = parse(retained);
			same = cJSON_Compare(got, state, true);
			cJSON_Delete(got);
			cJSON_Delete(resp);
			free(tr);
		}
		cr_assert(same, "%s: the broker retains %s, not the device's state", ids[i],
			  retained);
		free(retained);
		free(body);
		free(topic);
	}
	char *after = th_mqtt_last(late, "smarthub/climate");
	cr_assert_str_neq(before, after, "the sensor's readings during the outage were published");
	free(after);
	free(before);
	th_mqtt_close(late);
}

Test(mqtt, broker_down_at_startup_delays_nothing)
{
	th_fx.broker.port = th_free_port();
	cr_assert_gt(th_fx.broker.port, 0);
	start_daemon(NULL, NULL);
	/* Devices connect without the broker. */
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "device lamp: online", WAIT_MS), "log:\n%s",
		  th_daemon_log(&th_fx.daemon));
	th_fixture_start_broker(NULL);
	th_fixture_expect("smarthub/bridge/state", "{\"state\":\"online\"}");
	th_fixture_expect("smarthub/lamp/availability", "{\"state\":\"online\"}");
	pub("smarthub/lamp/set", "{\"state\":\"ON\"}");
	th_fixture_expect("smarthub/lamp", "{\"state\":\"ON\"}");
}

Test(mqtt, sigkill_leaves_the_last_will)
{
	start(NULL, NULL);
	th_fixture_expect("smarthub/bridge/state", "{\"state\":\"online\"}");
	th_mqtt_clear(th_fx.mqtt);
	cr_assert_eq(th_daemon_signal(&th_fx.daemon, SIGKILL), 0);
	th_daemon_wait(&th_fx.daemon, WAIT_MS, NULL);
	th_fixture_expect("smarthub/bridge/state", "{\"state\":\"offline\"}");
	struct th_mqtt *late = th_fixture_client("test-will");
	char *msg = th_mqtt_wait(late, "smarthub/bridge/state", "offline", WAIT_MS);
	cr_assert_not_null(msg, "the offline state is retained");
	cr_assert(th_mqtt_last_retained(late, "smarthub/bridge/state"));
	free(msg);
	th_mqtt_close(late);
}

Test(mqtt, sigterm_says_offline_before_leaving)
{
	int status;

	start(NULL, NULL);
	th_fixture_expect("smarthub/bridge/state", "{\"state\":\"online\"}");
	th_mqtt_clear(th_fx.mqtt);
	cr_assert_eq(th_daemon_signal(&th_fx.daemon, SIGTERM), 0);
	cr_assert_eq(th_daemon_wait(&th_fx.daemon, WAIT_MS, &status), 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	th_fixture_expect("smarthub/bridge/state", "{\"state\":\"offline\"}");
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "mqtt: disconnected", WAIT_MS));
}

/* ---- Home Assistant discovery ----------------------------------------------------- */

static cJSON *discovery(const char *topic)
{
	char *msg = th_mqtt_wait(th_fx.mqtt, topic, "unique_id", WAIT_MS);

	cr_assert_not_null(msg, "no discovery on %s; log:\n%s", topic,
			   th_daemon_log(&th_fx.daemon));
	cJSON *e = parse(msg);
	free(msg);
	cr_assert(cJSON_IsString(cJSON_GetObjectItem(e, "unique_id")));
	cr_assert(cJSON_IsObject(cJSON_GetObjectItem(e, "device")));
	return e;
}

static void has_string(const cJSON *e, const char *key, const char *value)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(e, key);

	cr_assert(cJSON_IsString(item), "no %s", key);
	if (value)
		cr_assert_str_eq(item->valuestring, value);
}

Test(mqtt, discovery_for_every_kind_and_again_on_birth)
{
	start(NULL, NULL);
	wait_online("plug");
	wait_online("lamp");
	cJSON *e = discovery("homeassistant/light/smarthub_lamp/light/config");
	has_string(e, "schema", "json");
	has_string(e, "command_topic", "smarthub/lamp/set");
	has_string(e, "state_topic", "smarthub/lamp");
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(e, "availability")), 2);
	has_string(e, "availability_mode", "all");
	cJSON_Delete(e);

	e = discovery("homeassistant/switch/smarthub_plug/switch/config");
	has_string(e, "command_topic", "smarthub/plug/set");
	has_string(e, "payload_on", "ON");
	cJSON_Delete(e);

	e = discovery("homeassistant/sensor/smarthub_climate/temperature/config");
	has_string(e, "device_class", "temperature");
	has_string(e, "unit_of_measurement", "°C");
	has_string(e, "state_class", "measurement");
	has_string(e, "value_template", "{{ value_json.temperature }}");
	cJSON_Delete(e);
	e = discovery("homeassistant/sensor/smarthub_climate/humidity/config");
	cJSON_Delete(e);
	e = discovery("homeassistant/binary_sensor/smarthub_climate/motion/config");
	has_string(e, "device_class", "motion");
	cJSON_Delete(e);

	e = discovery("homeassistant/scene/smarthub_bridge/evening/config");
	has_string(e, "command_topic", "smarthub/scene/evening/set");
	has_string(e, "payload_on", "run");
	has_string(e, "name", "Evening");
	cJSON_Delete(e);

	/* Retained, so Home Assistant finds them whenever it subscribes. */
	struct th_mqtt *late = th_fixture_client("test-discovery");
	char *msg = th_mqtt_wait(late, "homeassistant/light/smarthub_lamp/light/config",
				 "unique_id", WAIT_MS);
	cr_assert_not_null(msg);
	cr_assert(th_mqtt_last_retained(late, "homeassistant/light/smarthub_lamp/light/config"));
	free(msg);
	th_mqtt_close(late);

	/* Home Assistant restarts: its birth message brings everything back. */
	th_mqtt_clear(th_fx.mqtt);
	pub("homeassistant/status", "online");
	e = discovery("homeassistant/light/smarthub_lamp/light/config");
	cJSON_Delete(e);
	e = discovery("homeassistant/scene/smarthub_bridge/broken/config");
	cJSON_Delete(e);

	/* A scene's command topic works the way discovery says. */
	pub("smarthub/scene/evening/set", "run");
	th_fixture_expect("smarthub/plug", "{\"state\":\"ON\"}");
}

Test(mqtt, reload_removes_and_adds_topics)
{
	start(NULL, NULL);
	wait_online("plug");
	cJSON *e = discovery("homeassistant/switch/smarthub_plug/switch/config");
	cJSON_Delete(e);
	th_fixture_expect("smarthub/plug", "{\"state\":\"OFF\"}");

	/* A broken file leaves the running configuration in force. */
	cr_assert_eq(th_write_file(th_fx.daemon.config_path, "devices: [this is not a map\n"), 0);
	cJSON *r = th_fixture_request("reload", "", "bad");
	cr_assert_str_eq(rstatus(r), "error");
	cr_assert(cJSON_IsString(cJSON_GetObjectItem(r, "error")));
	cJSON_Delete(r);

	/* plug leaves, fan arrives. */
	char *devices = th_strdupf("devices:\n"
				   "  lamp: {driver: virtual, kind: light, name: Lamp}\n"
				   "  fan: {driver: virtual, kind: switch}\n");
	char *yaml = config_yaml(NULL, devices);
	cr_assert_eq(th_write_file(th_fx.daemon.config_path, yaml), 0);
	free(yaml);
	free(devices);
	th_mqtt_clear(th_fx.mqtt);
	r = th_fixture_request("reload", "", "good");
	cr_assert_str_eq(rstatus(r), "ok", "%s", cJSON_PrintUnformatted(r));
	cJSON_Delete(r);

	e = discovery("homeassistant/switch/smarthub_fan/switch/config");
	cJSON_Delete(e);
	th_fixture_expect("smarthub/fan/availability", "{\"state\":\"online\"}");
	char *msg = th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/devices", "fan", WAIT_MS);
	cr_assert_not_null(msg);
	cr_assert_null(strstr(msg, "\"plug\""));
	free(msg);

	/* Everything plug had on the broker is gone. */
	struct th_mqtt *late = th_fixture_client("test-after-reload");
	char *fan = th_mqtt_wait(late, "smarthub/fan/availability", NULL, WAIT_MS);
	cr_assert_not_null(fan);
	free(fan);
	cr_assert_eq(th_mqtt_count(late, "smarthub/plug"), 0);
	cr_assert_eq(th_mqtt_count(late, "smarthub/plug/availability"), 0);
	cr_assert_eq(th_mqtt_count(late, "homeassistant/switch/smarthub_plug/switch/config"), 0);
	cr_assert_eq(th_mqtt_count(late, "homeassistant/scene/smarthub_bridge/evening/config"), 0);
	th_mqtt_close(late);
}

Test(mqtt, turning_discovery_off_removes_it)
{
	start(NULL, NULL);
	cJSON *e = discovery("homeassistant/light/smarthub_lamp/light/config");
	cJSON_Delete(e);

	char *yaml = config_yaml(NULL, NULL);
	char *flag = strstr(yaml, "discovery: true");
	cr_assert_not_null(flag);
	memcpy(flag, "discovery: no  ", 15);
	cr_assert_eq(th_write_file(th_fx.daemon.config_path, yaml), 0);
	free(yaml);
	th_mqtt_clear(th_fx.mqtt);
	cJSON *r = th_fixture_request("reload", "", "off");
	cr_assert_str_eq(rstatus(r), "ok", "%s", cJSON_PrintUnformatted(r));
	cJSON_Delete(r);

	/* An empty retained payload deletes the entity in Home Assistant. */
	char *msg = th_mqtt_wait(th_fx.mqtt, "homeassistant/light/smarthub_lamp/light/config", NULL,
				 WAIT_MS);
	cr_assert_not_null(msg);
	cr_assert_str_eq(msg, "");
	free(msg);
	struct th_mqtt *late = th_fixture_client("test-no-discovery");
	msg = th_mqtt_wait(late, "smarthub/lamp/availability", NULL, WAIT_MS);
	cr_assert_not_null(msg);
	free(msg);
	cr_assert_eq(th_mqtt_count(late, "homeassistant/light/smarthub_lamp/light/config"), 0);
	th_mqtt_close(late);
}

Test(mqtt, a_command_the_device_fails_gives_an_event)
{
	start("events_per_second: 1000\n",
	      "devices:\n"
	      "  lamp: {driver: virtual, kind: light}\n"
	      "  flaky: {driver: virtual, kind: switch, flaky: 1.0}\n");
	wait_online("flaky");
	expect_event("smarthub/flaky/set", "ON", "simulated failure");
	char *msg = th_mqtt_last(th_fx.mqtt, "smarthub/bridge/event");
	cr_assert(strstr(msg, "\"device\":\"flaky\""), "%s", msg);
	free(msg);
	good_command(5);
}

Test(mqtt, state_is_not_retained_when_retain_is_off)
{
	start("retain: false\nqos: 0\n", NULL);
	wait_online("lamp");
	pub("smarthub/lamp/set", "{\"state\":\"ON\"}");
	th_fixture_expect("smarthub/lamp", "{\"state\":\"ON\"}");
	cr_assert_not(th_mqtt_last_retained(th_fx.mqtt, "smarthub/lamp"));

	/* Availability is always retained; state then is not. */
	struct th_mqtt *late = th_fixture_client("test-no-retain");
	char *msg = th_mqtt_wait(late, "smarthub/lamp/availability", "online", WAIT_MS);
	cr_assert_not_null(msg);
	free(msg);
	cr_assert_eq(th_mqtt_count(late, "smarthub/lamp"), 0);
	th_mqtt_close(late);
}
