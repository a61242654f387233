/* SPDX-License-Identifier: MIT */
/*
 * Integration tests of the mqtt driver through the real smarthubd and a
 * private mosquitto, with one fake device per family (tests/fakes/fake_z2m,
 * fake_tasmota, fake_shelly_mqtt, fake_esphome) written from each family's
 * public topic documentation. Per preset: a command confirmed by the
 * device's report, a change made at the device, availability and the last
 * will, the start-up query. Then the awkward cases: a stale echo before the
 * real state, a device that never confirms, a broker restart, a scene that
 * must not command the bulb before the slow plug in front of it confirmed,
 * and one smarthub driving another's light with preset smarthub.
 */
#include "fixture.h"

#include "../fakes/fake_esphome.c"
#include "../fakes/fake_mqtt_device.c"
#include "../fakes/fake_shelly_mqtt.c"
#include "../fakes/fake_tasmota.c"
#include "../fakes/fake_z2m.c"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

/* Generous bounds for waits; they never fail a test on a slow machine. */
#define WAIT_MS 20000
/* Devices come back quickly after an LWT (the daemon's backoff). */
#define FAST "backoff: {initial: 100ms, max: 300ms}, connect_timeout: 3s"

/* Beyond the fixture: a second hub and the device fakes. */
static struct {
	struct th_daemon daemon2;
	struct fake_z2m z;
	struct fake_tasmota plug;
	struct fake_shelly shelly;
	struct fake_esphome esp;
	int transaction;
} t;

static void teardown(void)
{
	fake_mqtt_stop(&t.z.m);
	fake_mqtt_stop(&t.plug.m);
	fake_mqtt_stop(&t.shelly.m);
	fake_mqtt_stop(&t.esp.m);
	th_daemon_stop(&t.daemon2);
	th_fixture_teardown();
	memset(&t, 0, sizeof(t));
}

TestSuite(mqtt_driver, .fini = teardown);

static void start_broker(void)
{
	th_fixture_start_broker(NULL);
}

/* The daemon with `body` (devices: and scenes:, YAML). */
static void start_daemon(const char *body)
{
	th_fixture_start_daemon(NULL, body, NULL, NULL);
}

/* Forgets what was received, then does `what`: a wait after it sees only
 * what `what` caused. */
#define THEN(what)                                                                                 \
	do {                                                                                       \
		th_mqtt_clear(th_fx.mqtt);                                                         \
		what;                                                                              \
	} while (0)

/* Waits until *counter (guarded by lock) reaches at least `n`. */
static bool wait_count(pthread_mutex_t *lock, const unsigned *counter, unsigned n)
{
	for (int i = 0; i < WAIT_MS / 20; i++) {
		pthread_mutex_lock(lock);
		unsigned v = *counter;
		pthread_mutex_unlock(lock);
		if (v >= n)
			return true;
		fake_mqtt_sleep_ms(20);
	}
	return false;
}

/* Runs a scene through bridge/request/scene/run and returns its response
 * (the caller's). */
static cJSON *run_scene(const char *name)
{
	char tr[32], *payload, *want, *msg;
	cJSON *r;

	snprintf(tr, sizeof(tr), "tr-%d", ++t.transaction);
	payload = th_strdupf("{\"scene\":\"%s\",\"transaction\":\"%s\"}", name, tr);
	want = th_strdupf("{\"transaction\":\"%s\"}", tr);
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, "smarthub/bridge/request/scene/run", payload,
				     strlen(payload), false),
		     0);
	msg = th_mqtt_wait_json(th_fx.mqtt, "smarthub/bridge/response/scene/run", want, WAIT_MS);
	cr_assert_not_null(msg, "scene %s did not answer", name);
	r = cJSON_Parse(msg);
	cr_assert_not_null(r);
	free(msg);
	free(want);
	free(payload);
	return r;
}

static void scene_ok(const char *name)
{
	cJSON *r = run_scene(name);
	char *text = cJSON_PrintUnformatted(r);

	cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(r, "status")), "ok", "%s", text);
	free(text);
	cJSON_Delete(r);
}

/* --- per preset ------------------------------------------------------------ */

Test(mqtt_driver, zigbee2mqtt_bulb)
{
	start_broker();
	t.z.brightness = 100;
	cr_assert_eq(fake_z2m_start(&t.z, th_fx.broker.port, "zigbee2mqtt", "living/bulb1"), 0);
	start_daemon("devices:\n"
		     "  bulb: {driver: mqtt, kind: light, preset: zigbee2mqtt, topic: "
		     "living/bulb1, " FAST "}\n"
		     "scenes:\n"
		     "  dim: {steps: [{device: bulb, set: {state: \"ON\", brightness: 200}}]}\n");
	th_fixture_expect_availability("bulb", "online");
	/* The start-up /get, and its answer as the state (100 of 254). */
	cr_assert(wait_count(&t.z.m.lock, &t.z.gets, 1));
	th_fixture_expect("smarthub/bulb", "{\"state\":\"OFF\",\"brightness\":100}");

	scene_ok("dim");
	pthread_mutex_lock(&t.z.m.lock);
	cr_assert(t.z.on);
	cr_assert_eq(t.z.brightness, 199, "200 of 255 is 199 of 254, got %d", t.z.brightness);
	cr_assert(strstr(t.z.last_set, "\"brightness\":199"), "%s", t.z.last_set);
	pthread_mutex_unlock(&t.z.m.lock);
	th_fixture_expect("smarthub/bulb", "{\"state\":\"ON\",\"brightness\":200}");

	/* A change at the device. */
	fake_z2m_change(&t.z, false, 254);
	th_fixture_expect("smarthub/bulb", "{\"state\":\"OFF\",\"brightness\":255}");

	/* Zigbee2MQTT going away takes the bulb offline; back, online. */
	THEN(fake_z2m_bridge(&t.z, false));
	th_fixture_expect_availability("bulb", "offline");
	THEN(fake_z2m_bridge(&t.z, true));
	th_fixture_expect_availability("bulb", "online");
	/* And the bridge's own will does the same. */
	THEN(fake_mqtt_kill(&t.z.m, th_fx.broker.port));
	th_fixture_expect_availability("bulb", "offline");
}

Test(mqtt_driver, zigbee2mqtt_legacy_availability)
{
	start_broker();
	t.z.legacy = true;
	cr_assert_eq(fake_z2m_start(&t.z, th_fx.broker.port, "z2m", "desk"), 0);
	start_daemon("devices:\n"
		     "  desk: {driver: mqtt, kind: switch, preset: zigbee2mqtt, base: z2m, topic: "
		     "desk}\n");
	th_fixture_expect_availability("desk", "online");
	cr_assert(wait_count(&t.z.m.lock, &t.z.gets, 1));
}

Test(mqtt_driver, tasmota_plug)
{
	start_broker();
	cr_assert_eq(fake_tasmota_start(&t.plug, th_fx.broker.port, "plug1"), 0);
	start_daemon("devices:\n"
		     "  plug: {driver: mqtt, kind: switch, preset: tasmota, topic: plug1, " FAST
		     "}\n"
		     "scenes:\n"
		     "  on: {steps: [{device: plug, set: {state: \"ON\"}}]}\n");
	th_fixture_expect_availability("plug", "online");
	/* The start-up query is an empty cmnd/<t>/POWER. */
	cr_assert(wait_count(&t.plug.m.lock, &t.plug.queries, 1));
	th_fixture_expect("smarthub/plug", "{\"state\":\"OFF\"}");
	scene_ok("on");
	cr_assert(t.plug.on);
	th_fixture_expect("smarthub/plug", "{\"state\":\"ON\"}");
	/* The button on the plug. */
	fake_mqtt_switch(&t.plug.m, &t.plug.on, FAKE_MQTT_TOGGLE);
	th_fixture_expect("smarthub/plug", "{\"state\":\"OFF\"}");
	/* Power lost: the broker publishes Offline on tele/plug1/LWT. */
	THEN(fake_mqtt_kill(&t.plug.m, th_fx.broker.port));
	th_fixture_expect_availability("plug", "offline");
	THEN(cr_assert_eq(fake_tasmota_start(&t.plug, th_fx.broker.port, "plug1"), 0));
	th_fixture_expect_availability("plug", "online");
}

Test(mqtt_driver, shelly_gen2_relay)
{
	const char *prefix = "shellyplus1pm-a8032ab12345";

	start_broker();
	cr_assert_eq(fake_shelly_start(&t.shelly, th_fx.broker.port, prefix), 0);
	start_daemon("devices:\n"
		     "  relay: {driver: mqtt, kind: switch, preset: shelly_gen2, "
		     "topic: shellyplus1pm-a8032ab12345, channel: 0, " FAST "}\n"
		     "scenes:\n"
		     "  on: {steps: [{device: relay, set: {state: \"ON\"}}]}\n");
	th_fixture_expect_availability("relay", "online");
	/* The Switch.GetStatus snapshot taken at start, answered on <src>/rpc. */
	cr_assert(wait_count(&t.shelly.m.lock, &t.shelly.get_status, 1));
	th_fixture_expect("smarthub/relay", "{\"state\":\"OFF\"}");
	pthread_mutex_lock(&t.shelly.m.lock);
	cr_assert(strncmp(t.shelly.last_src, "smarthub-relay-", 15) == 0, "%s", t.shelly.last_src);
	pthread_mutex_unlock(&t.shelly.m.lock);

	scene_ok("on");
	cr_assert(t.shelly.on);
	cr_assert_eq(t.shelly.sets, 1);
	th_fixture_expect("smarthub/relay", "{\"state\":\"ON\"}");
	/* The button: NotifyStatus on <prefix>/events/rpc. */
	fake_mqtt_switch(&t.shelly.m, &t.shelly.on, FAKE_MQTT_TOGGLE);
	th_fixture_expect("smarthub/relay", "{\"state\":\"OFF\"}");
	THEN(fake_mqtt_kill(&t.shelly.m, th_fx.broker.port));
	th_fixture_expect_availability("relay", "offline");
}

Test(mqtt_driver, esphome_switch)
{
	start_broker();
	cr_assert_eq(fake_esphome_start(&t.esp, th_fx.broker.port, "livingroom", "fan"), 0);
	start_daemon("devices:\n"
		     "  fan: {driver: mqtt, kind: switch, preset: esphome, topic: livingroom, "
		     "component: switch, object_id: fan, " FAST "}\n"
		     "scenes:\n"
		     "  on: {steps: [{device: fan, set: {state: \"ON\"}}]}\n");
	th_fixture_expect_availability("fan", "online");
	/* No query: the retained state is the start-up state. */
	th_fixture_expect("smarthub/fan", "{\"state\":\"OFF\"}");
	scene_ok("on");
	cr_assert(t.esp.on);
	th_fixture_expect("smarthub/fan", "{\"state\":\"ON\"}");
	fake_mqtt_switch(&t.esp.m, &t.esp.on, FAKE_MQTT_OFF);
	th_fixture_expect("smarthub/fan", "{\"state\":\"OFF\"}");
	THEN(fake_mqtt_kill(&t.esp.m, th_fx.broker.port));
	th_fixture_expect_availability("fan", "offline");
}

/* --- confirmation ---------------------------------------------------------- */

/* Zigbee2MQTT first echoes the old state; the command is done only with
 * the real one: the plug after it in the sequence is commanded later. */
Test(mqtt_driver, stale_echo_is_not_confirmation)
{
	start_broker();
	t.z.brightness = 100;
	t.z.on = true;
	t.z.stale_echo = true;
	t.z.delay_ms = 700;
	cr_assert_eq(fake_z2m_start(&t.z, th_fx.broker.port, "zigbee2mqtt", "bulb"), 0);
	cr_assert_eq(fake_tasmota_start(&t.plug, th_fx.broker.port, "plug1"), 0);
	start_daemon("devices:\n"
		     "  bulb: {driver: mqtt, kind: light, preset: zigbee2mqtt, topic: bulb}\n"
		     "  plug: {driver: mqtt, kind: switch, preset: tasmota, topic: plug1}\n"
		     "scenes:\n"
		     "  s: {steps: [{device: bulb, set: {brightness: 200}},\n"
		     "              {device: plug, set: {state: \"ON\"}}]}\n");
	th_fixture_expect_availability("bulb", "online");
	th_fixture_expect("smarthub/bulb", "{\"brightness\":100}");
	th_fixture_expect_availability("plug", "online");
	scene_ok("s");
	pthread_mutex_lock(&t.z.m.lock);
	unsigned long real = t.z.state_seq;
	pthread_mutex_unlock(&t.z.m.lock);
	pthread_mutex_lock(&t.plug.m.lock);
	unsigned long plug = t.plug.command_seq;
	pthread_mutex_unlock(&t.plug.m.lock);
	cr_assert_gt(plug, real, "the plug's command (%lu) came before the bulb's real state (%lu)",
		     plug, real);
}

Test(mqtt_driver, confirmation_timeout_names_last_value)
{
	start_broker();
	t.z.brightness = 100;
	t.z.on = true;
	t.z.deaf = true;
	cr_assert_eq(fake_z2m_start(&t.z, th_fx.broker.port, "zigbee2mqtt", "bulb"), 0);
	start_daemon("devices:\n"
		     "  bulb: {driver: mqtt, kind: light, preset: zigbee2mqtt, topic: bulb, "
		     "command_timeout: 1500ms}\n"
		     "scenes:\n"
		     "  s: {steps: [{device: bulb, set: {brightness: 200}}]}\n");
	th_fixture_expect_availability("bulb", "online");
	th_fixture_expect("smarthub/bulb", "{\"brightness\":100}");
	cJSON *r = run_scene("s");
	char *text = cJSON_PrintUnformatted(r);
	cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(r, "status")), "error", "%s",
			 text);
	cr_assert(strstr(text, "brightness is 100, wanted 200"), "%s", text);
	/* The device answered (its stale state) every time: it stays online. */
	cr_assert_eq(t.z.sets, 1);
	free(text);
	cJSON_Delete(r);
}

/* --- the broker -------------------------------------------------------------- */

Test(mqtt_driver, broker_restart_resubscribes_and_queries_again)
{
	start_broker();
	cr_assert_eq(fake_z2m_start(&t.z, th_fx.broker.port, "zigbee2mqtt", "bulb"), 0);
	cr_assert_eq(fake_tasmota_start(&t.plug, th_fx.broker.port, "plug1"), 0);
	start_daemon(
		"devices:\n"
		"  bulb: {driver: mqtt, kind: light, preset: zigbee2mqtt, topic: bulb, " FAST "}\n"
		"  plug: {driver: mqtt, kind: switch, preset: tasmota, topic: plug1, " FAST "}\n"
		"scenes:\n"
		"  on: {steps: [{device: plug, set: {state: \"ON\"}}]}\n");
	th_fixture_expect_availability("bulb", "online");
	cr_assert(wait_count(&t.z.m.lock, &t.z.gets, 1));
	cr_assert(wait_count(&t.plug.m.lock, &t.plug.queries, 1));
	unsigned gets = t.z.gets, queries = t.plug.queries;

	th_broker_stop(&th_fx.broker);
	THEN(cr_assert_eq(th_broker_start(&th_fx.broker, th_fx.broker.port), 0));
	/* The fakes reconnect and say they are back (retained again); the
	 * hub resubscribes, sees that, and asks again. */
	cr_assert(wait_count(&t.z.m.lock, &t.z.gets, gets + 1));
	cr_assert(wait_count(&t.plug.m.lock, &t.plug.queries, queries + 1));
	th_fixture_expect_availability("plug", "online");
	scene_ok("on");
	cr_assert(t.plug.on);
}

/* --- scenes: the plug first, confirmed, then the bulb behind it -------------- */

Test(mqtt_driver, scene_sequences_slow_plug_before_bulb)
{
	start_broker();
	t.plug.delay_ms = 1500;
	cr_assert_eq(fake_tasmota_start(&t.plug, th_fx.broker.port, "lamp_plug"), 0);
	cr_assert_eq(fake_z2m_start(&t.z, th_fx.broker.port, "zigbee2mqtt", "lamp"), 0);
	start_daemon(
		"devices:\n"
		"  lamp_plug: {driver: mqtt, kind: switch, preset: tasmota, topic: lamp_plug}\n"
		"  lamp: {driver: mqtt, kind: light, preset: zigbee2mqtt, topic: lamp}\n"
		"scenes:\n"
		"  evening:\n"
		"    steps:\n"
		"      - {device: lamp_plug, set: {state: \"ON\"}}\n"
		"      - {device: lamp, set: {state: \"ON\", brightness: 128}}\n");
	th_fixture_expect_availability("lamp_plug", "online");
	th_fixture_expect_availability("lamp", "online");
	scene_ok("evening");
	pthread_mutex_lock(&t.plug.m.lock);
	unsigned long confirmed = t.plug.confirm_seq;
	pthread_mutex_unlock(&t.plug.m.lock);
	pthread_mutex_lock(&t.z.m.lock);
	unsigned long bulb = t.z.set_seq;
	cr_assert_eq(t.z.brightness, 127, "128 of 255 is 127 of 254");
	pthread_mutex_unlock(&t.z.m.lock);
	cr_assert_neq(confirmed, 0);
	cr_assert_gt(bulb, confirmed, "the bulb's /set (%lu) left before the plug confirmed (%lu)",
		     bulb, confirmed);
}

/* --- two smarthubs ---------------------------------------------------------------- */

Test(mqtt_driver, one_smarthub_drives_another)
{
	start_broker();
	cr_assert_eq(th_mqtt_subscribe(th_fx.mqtt, "upstairs/#"), 0);
	char *up = th_strdupf("mqtt:\n  url: tcp://127.0.0.1:%d\n  base_topic: upstairs\n"
			      "  client_id: smarthub-upstairs\n"
			      "devices:\n  lamp: {driver: virtual, kind: light}\n",
			      th_fx.broker.port);
	cr_assert_eq(th_daemon_start(&t.daemon2, up, NULL, NULL), 0);
	free(up);
	start_daemon("devices:\n"
		     "  far: {driver: mqtt, kind: light, preset: smarthub, base: upstairs, topic: "
		     "lamp}\n"
		     "scenes:\n"
		     "  s: {steps: [{device: far, set: {state: \"ON\", brightness: 120}}]}\n");
	th_fixture_expect_availability("far", "online");
	scene_ok("s");
	th_fixture_expect("upstairs/lamp", "{\"state\":\"ON\",\"brightness\":120}");
	th_fixture_expect("smarthub/far", "{\"state\":\"ON\",\"brightness\":120}");
	/* A change made on the other hub itself. */
	const char *set = "{\"brightness\":30}";
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, "upstairs/lamp/set", set, strlen(set), false), 0);
	th_fixture_expect("smarthub/far", "{\"state\":\"ON\",\"brightness\":30}");
	/* The other hub going away takes the remote light offline. */
	THEN(th_daemon_stop(&t.daemon2));
	th_fixture_expect_availability("far", "offline");
}

/* --- bad input ---------------------------------------------------------------------- */

Test(mqtt_driver, malformed_and_oversized_messages_change_nothing)
{
	start_broker();
	t.z.brightness = 100;
	cr_assert_eq(fake_z2m_start(&t.z, th_fx.broker.port, "zigbee2mqtt", "bulb"), 0);
	start_daemon("devices:\n"
		     "  bulb: {driver: mqtt, kind: light, preset: zigbee2mqtt, topic: bulb, "
		     "max_message: 256}\n");
	th_fixture_expect_availability("bulb", "online");
	th_fixture_expect("smarthub/bulb", "{\"brightness\":100}");
	th_mqtt_clear(th_fx.mqtt);
	for (int i = 0; i < 20; i++)
		cr_assert_eq(th_mqtt_publish(th_fx.mqtt, "zigbee2mqtt/bulb", "{\"brightness\":", 14,
					     false),
			     0);
	char big[1024];
	memset(big, ' ', sizeof(big));
	memcpy(big, "{\"brightness\":3", 15);
	big[sizeof(big) - 1] = '}';
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, "zigbee2mqtt/bulb", big, sizeof(big), false), 0);
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "malformed message ignored", WAIT_MS));
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "over max_message", WAIT_MS));
	/* Logged once, then rate-limited. */
	char *log = th_daemon_log(&th_fx.daemon);
	const char *first = strstr(log, "malformed message ignored");
	cr_assert_null(strstr(first + 1, "malformed message ignored"), "%s", log);
	free(log);
	/* Nothing changed, and the daemon still works. */
	fake_z2m_change(&t.z, true, 50);
	th_fixture_expect("smarthub/bulb", "{\"state\":\"ON\",\"brightness\":50}");
	cr_assert_eq(th_mqtt_count(th_fx.mqtt, "smarthub/bulb"), 1);
}

static char *check_config(const char *devices, int *status)
{
	char *path = th_fixture_path("smarthub.yaml");
	char *out = NULL;

	cr_assert_eq(th_write_file(path, devices), 0);
	const char *const argv[] = {SMARTHUBD_PATH, "--check-config",          "-c", path,
				    "--plugin-dir", SMARTHUB_PLUGIN_BUILD_DIR, NULL};
	cr_assert_eq(th_run(argv, NULL, &out, status), 0);
	free(path);
	return out;
}

Test(mqtt_driver, bad_options_have_positions_and_suggestions)
{
	int status;
	char *out = check_config(
		"devices:\n"
		"  a: {driver: mqtt, kind: light, preset: zigbe2mqtt, topic: x}\n"
		"  b: {driver: mqtt, kind: switch, state_topic: x/s,\n"
		"      command_topic: x/s}\n"
		"  c: {driver: mqtt, kind: light, state_topic: c/s, command_topic: c/c,\n"
		"      mapping: {brightnes: {path: dim}}}\n"
		"  d: {driver: mqtt, kind: switch, preset: tasmota, topic: p,\n"
		"      full_topic: \"%topic%/\"}\n"
		"  e: {driver: mqtt, kind: switch, command_topic: e/c}\n"
		"  f: {driver: mqtt, kind: switch, preset: esphome, topic: x,\n"
		"      object_id: y, optimistc: true}\n",
		&status);

	cr_assert_eq(status, 78, "%s", out);
	cr_assert(strstr(out, "smarthub.yaml:2:42:") && strstr(out, "did you mean 'zigbee2mqtt'"),
		  "%s", out);
	cr_assert(strstr(out, "smarthub.yaml:4:22:") && strstr(out, "echo loop"), "%s", out);
	cr_assert(strstr(out, "smarthub.yaml:6:28:") && strstr(out, "did you mean 'brightness'"),
		  "%s", out);
	cr_assert(strstr(out, "smarthub.yaml:8:19:") && strstr(out, "full_topic"), "%s", out);
	cr_assert(strstr(out, "optimistic: true"), "%s", out);
	cr_assert(strstr(out, "smarthub.yaml:11:21:") && strstr(out, "did you mean 'optimistic'"),
		  "%s", out);
	free(out);
}

Test(mqtt_driver, homeassistant_discovery_off_unless_asked)
{
	start_broker();
	cr_assert_eq(th_mqtt_subscribe(th_fx.mqtt, "homeassistant/#"), 0);
	start_daemon("homeassistant:\n  discovery: true\n"
		     "devices:\n"
		     "  bulb: {driver: mqtt, kind: light, preset: zigbee2mqtt, topic: bulb}\n"
		     "  other: {driver: mqtt, kind: light, preset: zigbee2mqtt, topic: other,\n"
		     "          homeassistant: true}\n");
	char *msg = th_mqtt_wait(th_fx.mqtt, "homeassistant/light/smarthub_other/light/config",
				 NULL, WAIT_MS);
	cr_assert_not_null(msg);
	free(msg);
	/* Published together: the bulb's would be here by now. */
	cr_assert_eq(th_mqtt_count(th_fx.mqtt, "homeassistant/light/smarthub_bulb/light/config"),
		     0);
}

Test(mqtt_driver, optimistic_device_without_state_topic)
{
	start_broker();
	cr_assert_eq(th_mqtt_subscribe(th_fx.mqtt, "x/#"), 0);
	start_daemon("devices:\n"
		     "  heater: {driver: mqtt, kind: switch, command_topic: x/cmd, format: plain,\n"
		     "           optimistic: true, availability_topic: x/status}\n"
		     "scenes:\n"
		     "  on: {steps: [{device: heater, set: {state: \"ON\"}}]}\n");
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, "x/status", "online", 6, true), 0);
	th_fixture_expect_availability("heater", "online");
	cJSON *r = run_scene("on");
	char *text = cJSON_PrintUnformatted(r);
	cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(r, "status")), "ok", "%s", text);
	cr_assert(strstr(text, "\"unconfirmed_steps\":["), "%s", text);
	free(text);
	cJSON_Delete(r);
	char *cmd = th_mqtt_wait(th_fx.mqtt, "x/cmd", "ON", WAIT_MS);
	cr_assert_not_null(cmd);
	cr_assert_not(th_mqtt_last_retained(th_fx.mqtt, "x/cmd"), "commands are never retained");
	free(cmd);
	th_fixture_expect("smarthub/heater", "{\"state\":\"ON\"}");
}

/* A driver may not read or write under the hub's own base topic. */
Test(mqtt_driver, own_base_topic_is_refused)
{
	start_broker();
	start_daemon("devices:\n"
		     "  self: {driver: mqtt, kind: light, preset: smarthub, topic: lamp}\n");
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "under the hub's own base topic", WAIT_MS));
	th_fixture_expect_availability("self", "offline");
}

/* A Zigbee2MQTT remote: {"action":"single"} is an event, not state. */
Test(mqtt_driver, zigbee2mqtt_remote_action_is_an_event)
{
	start_broker();
	start_daemon(
		"devices:\n"
		"  remote: {driver: mqtt, kind: button, preset: zigbee2mqtt, topic: remote}\n");
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, "zigbee2mqtt/bridge/state", "online", 6, true), 0);
	cr_assert_eq(
		th_mqtt_publish(th_fx.mqtt, "zigbee2mqtt/remote/availability", "online", 6, true),
		0);
	th_fixture_expect_availability("remote", "online");
	const char *press = "{\"action\":\"single\",\"battery\":90}";
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, "zigbee2mqtt/remote", press, strlen(press), false),
		     0);
	th_fixture_expect("smarthub/remote/event", "{\"event\":\"single\"}");
	th_fixture_expect("smarthub/remote", "{\"battery\":90}");
	char *state = th_mqtt_last(th_fx.mqtt, "smarthub/remote");
	cr_assert(state && !strstr(state, "action") && !strstr(state, "single"), "%s", state);
	free(state);
}

/* A device that announced itself once, before the broker restarted without
 * persistence: the availability last heard stands, and it comes back. */
Test(mqtt_driver, broker_restart_keeps_last_availability)
{
	start_broker();
	start_daemon("devices:\n"
		     "  heater: {driver: mqtt, kind: switch, state_topic: x/state, command_topic: "
		     "x/cmd,\n"
		     "           format: plain, availability_topic: x/status, " FAST "}\n");
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, "x/status", "online", 6, true), 0);
	th_fixture_expect_availability("heater", "online");
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, "x/state", "ON", 2, false), 0);
	th_fixture_expect("smarthub/heater", "{\"state\":\"ON\"}");
	th_broker_stop(&th_fx.broker);
	THEN(cr_assert_eq(th_broker_start(&th_fx.broker, th_fx.broker.port), 0));
	th_fixture_expect_availability("heater", "online");
}
