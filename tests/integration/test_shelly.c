/* SPDX-License-Identifier: MIT */
/*
 * The shelly driver end to end: the real smarthubd and mosquitto, and the
 * fake Shelly of tests/fakes, as a Gen1 device (basic auth) and as a Gen2
 * device (digest auth with SHA-256, checked for real). Commands must
 * reach the relay and come back as state, with the meter's readings; a
 * change at the device shows within a poll; a device that vanishes goes
 * offline and comes back re-read; a wrong password and malformed answers
 * are reported.
 */
#include "../fakes/fake_http.c"
#include "../fakes/fake_shelly.c"
#include "fixture.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define WAIT_MS 10000

/* Beyond the fixture: the fake Shelly. */
static struct {
	struct fake_shelly *dev;
} rig;

/* A Shelly of generation `gen` protected by "s3cret"; the hub is given
 * `password` through secrets.yaml, as a user would. */
static const char *rig_extra = ""; /* more YAML at the top level */

static void rig_start(int gen, const char *password)
{
	memset(&rig, 0, sizeof(rig));
	rig.dev = fake_shelly_start(gen, "s3cret");
	cr_assert_not_null(rig.dev);
	th_fixture_start_broker(NULL);
	char *secrets = th_fixture_path("secrets.yaml");
	char *text = th_strdupf("shelly: %s\n", password);
	cr_assert_eq(th_write_file(secrets, text), 0);
	free(secrets);
	free(text);
	char *body = th_strdupf(
		"%s"
		"devices:\n"
		"  relay: {driver: shelly, kind: switch, host: 127.0.0.1, port: %d, channel: 0,"
		" poll_interval: 300ms, password: !secret shelly,"
		" backoff: {initial: 100ms, max: 500ms}}\n",
		rig_extra, fake_http_port(fake_shelly_http(rig.dev)));
	th_fixture_start_daemon(NULL, body, NULL, NULL);
	free(body);
}

static void gen1_start(void)
{
	rig_start(1, "s3cret");
	th_fixture_expect_availability("relay", "online");
}

static void gen2_start(void)
{
	rig_start(2, "s3cret");
	th_fixture_expect_availability("relay", "online");
}

static void rig_stop(void)
{
	th_fixture_teardown();
	fake_shelly_stop(rig.dev);
}

TestSuite(shelly_gen1, .init = gen1_start, .fini = rig_stop, .timeout = 120);
TestSuite(shelly_gen2, .init = gen2_start, .fini = rig_stop, .timeout = 120);
TestSuite(shelly_auth, .fini = rig_stop, .timeout = 120);

static bool relay_is(const struct fake_shelly_state *s, void *arg)
{
	return s->on[0] == *(bool *)arg;
}

static void expect_relay(bool on)
{
	struct fake_shelly_state s;
	bool ok = fake_shelly_wait(rig.dev, relay_is, &on, WAIT_MS);
	fake_shelly_get(rig.dev, &s);
	cr_assert(ok, "relay is %d; last request %s", s.on[0], s.last_path);
}

/* The same story for both generations. */
static void set_confirm_and_readings(void)
{
	th_fixture_expect_state("relay", "{\"state\":\"OFF\",\"voltage\":230.1,\"energy\":1.235}");
	fake_shelly_set(rig.dev, 0, false, 60.0); /* the load draws 60 W when on */
	th_fixture_set("relay", "{\"state\":\"ON\"}");
	expect_relay(true);
	th_fixture_expect_state("relay", "{\"state\":\"ON\",\"power\":60}");
	th_fixture_set("relay", "OFF");
	expect_relay(false);
	th_fixture_expect_state("relay", "{\"state\":\"OFF\",\"power\":0}");
	th_fixture_set("relay", "{\"state\":\"TOGGLE\"}");
	expect_relay(true);
	th_fixture_expect_state("relay", "{\"state\":\"ON\"}");
}

static void change_at_the_device(void)
{
	th_mqtt_clear(th_fx.mqtt);
	fake_shelly_set(rig.dev, 0, true, 1500.0);
	th_fixture_expect_state("relay", "{\"state\":\"ON\",\"power\":1500}");
}

static void vanish_and_return(void)
{
	th_mqtt_clear(th_fx.mqtt);
	fake_http_set_down(fake_shelly_http(rig.dev), true);
	th_fixture_expect_availability("relay", "offline");
	fake_shelly_set(rig.dev, 0, true, 5.0);
	th_mqtt_clear(th_fx.mqtt);
	fake_http_set_down(fake_shelly_http(rig.dev), false);
	th_fixture_expect_availability("relay", "online");
	th_fixture_expect_state("relay", "{\"state\":\"ON\",\"power\":5}");
}

static void malformed_answers(void)
{
	th_fixture_expect_state("relay", "{\"state\":\"OFF\"}");
	th_mqtt_clear(th_fx.mqtt);
	fake_http_garbage_next(fake_shelly_http(rig.dev), 2, "{\"relays\":\"nope\",\"output\":7}");
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "not a Shelly's", WAIT_MS), "log:\n%s",
		  th_daemon_log(&th_fx.daemon));
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "readable again", WAIT_MS));
	cr_assert_eq(th_mqtt_count(th_fx.mqtt, "smarthub/relay/availability"), 0,
		     "a confused answer is not a vanished device");
	/* A dropped connection and a slow answer: the hub carries on. */
	/* Whatever request meets the drop (the command, or a poll, which then
	 * takes the device offline for a moment), the user's retry lands. */
	fake_http_drop_next(fake_shelly_http(rig.dev), 1);
	bool on = true, landed = false;
	for (int i = 0; i < 10 && !landed; i++) {
		th_fixture_set("relay", "ON");
		landed = fake_shelly_wait(rig.dev, relay_is, &on, 1000);
	}
	cr_assert(landed, "log:\n%s", th_daemon_log(&th_fx.daemon));
	fake_http_set_delay(fake_shelly_http(rig.dev), 300);
	th_fixture_set("relay", "OFF");
	expect_relay(false);
	th_fixture_expect_state("relay", "{\"state\":\"OFF\"}");
	fake_http_set_delay(fake_shelly_http(rig.dev), 0);
}

Test(shelly_gen1, set_and_confirm_with_readings)
{
	set_confirm_and_readings();
	struct fake_shelly_state s;
	fake_shelly_get(rig.dev, &s);
	cr_assert_gt(s.auth_ok, 0, "basic auth was used");
	cr_assert_eq(s.auth_refused, 0);
	cr_assert(strstr(s.last_path, "/status") || strstr(s.last_path, "/relay/0"), "%s",
		  s.last_path);
}

Test(shelly_gen1, change_at_the_device_is_seen_by_polling)
{
	change_at_the_device();
}

Test(shelly_gen1, vanishing_device_goes_offline_and_comes_back)
{
	vanish_and_return();
}

Test(shelly_gen1, malformed_answers_are_reported)
{
	malformed_answers();
}

Test(shelly_gen2, set_and_confirm_with_digest_auth)
{
	set_confirm_and_readings();
	struct fake_shelly_state s;
	fake_shelly_get(rig.dev, &s);
	cr_assert_gt(s.challenges, 0, "digest starts with a challenge");
	cr_assert_gt(s.auth_ok, 0, "and the response hash was right");
	cr_assert_eq(s.auth_refused, 0);
}

Test(shelly_gen2, a_new_nonce_is_followed)
{
	fake_shelly_new_nonce(rig.dev);
	th_fixture_set("relay", "ON");
	expect_relay(true);
	th_fixture_expect_state("relay", "{\"state\":\"ON\"}");
}

Test(shelly_gen2, change_at_the_device_is_seen_by_polling)
{
	change_at_the_device();
}

Test(shelly_gen2, vanishing_device_goes_offline_and_comes_back)
{
	vanish_and_return();
}

Test(shelly_gen2, malformed_answers_are_reported)
{
	malformed_answers();
}

Test(shelly_auth, wrong_password_is_an_offline_device_with_a_reason)
{
	rig_start(2, "wrong");
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "authentication failed", WAIT_MS), "log:\n%s",
		  th_daemon_log(&th_fx.daemon));
	char *avail = th_mqtt_last(th_fx.mqtt, "smarthub/relay/availability");
	cr_assert(!avail || strstr(avail, "offline"), "availability: %s", avail);
	free(avail);
	struct fake_shelly_state s;
	fake_shelly_get(rig.dev, &s);
	cr_assert_gt(s.auth_refused, 0);
	cr_assert_eq(s.commands, 0);
	char *log = th_daemon_log(&th_fx.daemon);
	cr_assert_null(strstr(log, "wrong"), "the password never reaches the log");
	free(log);
}

Test(shelly_auth, gen1_wrong_password)
{
	rig_start(1, "wrong");
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "authentication failed", WAIT_MS), "log:\n%s",
		  th_daemon_log(&th_fx.daemon));
	struct fake_shelly_state s;
	fake_shelly_get(rig.dev, &s);
	cr_assert_gt(s.auth_refused, 0);
}

/* Home Assistant sees the relay and its meters (declared by the driver). */
Test(shelly_auth, discovery_announces_the_meters)
{
	rig_extra = "homeassistant: {discovery: true}\n";
	rig_start(2, "s3cret");
	rig_extra = "";
	cr_assert_eq(th_mqtt_subscribe(th_fx.mqtt, "homeassistant/#"), 0);
	th_fixture_expect_availability("relay", "online");
	char *m = th_mqtt_wait(th_fx.mqtt, "homeassistant/switch/smarthub_relay/switch/config",
			       NULL, WAIT_MS);
	cr_assert_not_null(m, "log:\n%s", th_daemon_log(&th_fx.daemon));
	free(m);
	m = th_mqtt_wait(th_fx.mqtt, "homeassistant/sensor/smarthub_relay/power/config",
			 "\"device_class\":\"power\"", WAIT_MS);
	cr_assert_not_null(m, "the power meter is a sensor");
	cr_assert(strstr(m, "\"unit_of_measurement\":\"W\""), "%s", m);
	free(m);
	m = th_mqtt_wait(th_fx.mqtt, "homeassistant/sensor/smarthub_relay/energy/config",
			 "\"state_class\":\"total_increasing\"", WAIT_MS);
	cr_assert_not_null(m, "the energy meter is a sensor");
	free(m);
}
