/* SPDX-License-Identifier: MIT */
/*
 * The hue driver end to end: the real smarthubd and mosquitto, and the
 * fake Hue bridge of tests/fakes (CLIP v2 over HTTPS with a CA made here
 * by openssl, and its event stream). Commands must reach the lamp and come
 * back as state; a change made in the Hue app shows at once through the
 * stream (or within a poll without it); a stream that drops is reopened
 * and what was missed re-read; a bridge that vanishes makes the lamp
 * offline until it is back; a wrong key, a wrong CA and malformed answers
 * are reported; `smarthubd --hue-pair` pairs through the link button.
 */
#include "../fakes/fake_http.c"
#include "../fakes/fake_hue.c"
#include "fixture.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define WAIT_MS TH_WAIT_MS
#define BRIDGE_ID "001788fffe123456"

/* The fake bridge; the rest (broker, daemon, directory) is th_fx. */
static struct fake_hue *bridge;

/* The bridge with its certificates (a CA, another CA, and the bridge's,
 * for 127.0.0.1 and the bridge id as a bridge names itself), the broker
 * with the recording client, and the key in secrets.yaml. */
static void rig_setup(void)
{
	th_fixture_make_ca("ca");
	th_fixture_make_ca("other-ca");
	th_fixture_make_cert("bridge", "ca", BRIDGE_ID,
			     "subjectAltName=IP:127.0.0.1,DNS:" BRIDGE_ID "\n"
			     "extendedKeyUsage=serverAuth\n"
			     "basicConstraints=CA:FALSE\n");
	char *crt = th_fixture_path("bridge.crt");
	char *key = th_fixture_path("bridge.key");
	bridge = fake_hue_start(crt, key);
	cr_assert_not_null(bridge);
	free(crt);
	free(key);
	th_fixture_start_broker(NULL);
	char *secrets = th_fixture_path("secrets.yaml");
	cr_assert_eq(th_write_file(secrets, "hue_key: " FAKE_HUE_KEY "\n"), 0);
	free(secrets);
}

/* The daemon with one lamp: the syntax, then `extra` options. */
static void daemon_start(const char *light, const char *ca, const char *extra)
{
	char *body =
		th_strdupf("devices:\n"
			   "  lamp: {driver: hue, kind: light, host: 127.0.0.1, port: %d,"
			   " application_key: !secret hue_key, light: \"%s\", ca_file: %s/%s.crt,"
			   " backoff: {initial: 100ms, max: 500ms}%s%s}\n",
			   fake_http_port(fake_hue_http(bridge)), light, th_fixture_dir(), ca,
			   extra ? ", " : "", extra ? extra : "");
	th_fixture_start_daemon(NULL, body, NULL, NULL);
	free(body);
}

static void push_start(void)
{
	rig_setup();
	/* Polling once an hour: what arrives in a test came by the stream. */
	daemon_start("Living lamp", "ca", "poll_interval: 1h");
	th_fixture_expect_availability("lamp", "online");
	cr_assert(fake_http_wait_streams(fake_hue_http(bridge), 1, WAIT_MS),
		  "the event stream is opened; log:\n%s", th_daemon_log(&th_fx.daemon));
}

static void poll_start(void)
{
	rig_setup();
	daemon_start(FAKE_HUE_LAMP_ID, "ca", "event_stream: false, poll_interval: 300ms");
	th_fixture_expect_availability("lamp", "online");
}

static void rig_stop(void)
{
	th_fixture_teardown();
	fake_hue_stop(bridge);
	bridge = NULL;
}

TestSuite(hue, .init = push_start, .fini = rig_stop, .timeout = 120);
TestSuite(hue_poll, .init = poll_start, .fini = rig_stop, .timeout = 120);
TestSuite(hue_setup, .init = rig_setup, .fini = rig_stop, .timeout = 120);

static bool put_count_at_least(const struct fake_hue_state *s, void *arg)
{
	return s->puts >= *(unsigned *)arg;
}

static struct fake_hue_state after_puts(unsigned n)
{
	struct fake_hue_state s;
	bool ok = fake_hue_wait(bridge, put_count_at_least, &n, WAIT_MS);
	fake_hue_get(bridge, &s);
	cr_assert(ok, "%u PUTs expected, %u came; log:\n%s", n, s.puts,
		  th_daemon_log(&th_fx.daemon));
	return s;
}

Test(hue, state_is_read_at_connect)
{
	th_fixture_expect_state("lamp", "{\"state\":\"OFF\",\"brightness\":128,\"color_temp\":366,"
					"\"color_mode\":\"color_temp\"}");
}

Test(hue, set_and_confirm)
{
	th_fixture_set("lamp", "{\"state\":\"ON\",\"brightness\":255,\"transition\":2}");
	struct fake_hue_state s = after_puts(1);
	cr_assert(s.lamp.on && s.lamp.brightness == 100.0 && s.lamp.duration_ms == 2000, "%s",
		  s.last_put);
	th_fixture_expect_state("lamp", "{\"state\":\"ON\",\"brightness\":255}");

	th_fixture_set("lamp", "{\"color_temp\":250}");
	s = after_puts(2);
	cr_assert_eq(s.lamp.mirek, 250, "%s", s.last_put);
	th_fixture_expect_state("lamp", "{\"color_temp\":250,\"color_mode\":\"color_temp\"}");

	/* Beyond this lamp's range (its mirek_schema says 454): clamped. */
	th_fixture_set("lamp", "{\"color_temp\":500}");
	s = after_puts(3);
	cr_assert_eq(s.lamp.mirek, 454, "%s", s.last_put);

	th_fixture_set("lamp", "{\"color\":{\"r\":255,\"g\":0,\"b\":0}}");
	s = after_puts(4);
	cr_assert(s.lamp.mirek == 0 && s.lamp.x > 0.69 && s.lamp.x < 0.71 && s.lamp.y > 0.29 &&
			  s.lamp.y < 0.31,
		  "red is about x 0.70 y 0.30: %s", s.last_put);
	th_fixture_expect_state("lamp",
				"{\"color\":{\"r\":255,\"g\":0,\"b\":0},\"color_mode\":\"rgb\"}");
	/* The bridge's event for it does not turn red into another colour. */
	char *last = th_mqtt_last(th_fx.mqtt, "smarthub/lamp");
	cr_assert(strstr(last, "\"r\":255,\"g\":0,\"b\":0"), "%s", last);
	free(last);

	th_fixture_set("lamp", "{\"brightness\":0}");
	s = after_puts(5);
	cr_assert_not(s.lamp.on);
	th_fixture_expect_state("lamp", "{\"state\":\"OFF\"}");
}

Test(hue, change_in_the_app_is_pushed)
{
	th_mqtt_clear(th_fx.mqtt);
	fake_hue_change(bridge, true, 20.0, true);
	th_fixture_expect_state("lamp", "{\"state\":\"ON\",\"brightness\":51}");
}

Test(hue, dropped_stream_is_reopened_and_missed_changes_reread)
{
	fake_http_stream_close(fake_hue_http(bridge));
	fake_hue_change(bridge, true, 40.0, false); /* no one hears it */
	th_mqtt_clear(th_fx.mqtt);
	cr_assert(fake_http_wait_streams(fake_hue_http(bridge), 1, WAIT_MS));
	th_fixture_expect_state("lamp", "{\"state\":\"ON\",\"brightness\":102}");
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "event stream", WAIT_MS));
	/* And the new stream carries events. */
	th_mqtt_clear(th_fx.mqtt);
	fake_hue_change(bridge, false, 40.0, true);
	th_fixture_expect_state("lamp", "{\"state\":\"OFF\"}");
}

Test(hue, vanishing_bridge_makes_the_lamp_offline_until_it_is_back)
{
	th_mqtt_clear(th_fx.mqtt);
	fake_http_set_down(fake_hue_http(bridge), true);
	th_fixture_expect_availability("lamp", "offline");
	fake_hue_change(bridge, true, 60.0, false);
	th_mqtt_clear(th_fx.mqtt);
	fake_http_set_down(fake_hue_http(bridge), false);
	th_fixture_expect_availability("lamp", "online");
	th_fixture_expect_state("lamp", "{\"state\":\"ON\",\"brightness\":153}");
	cr_assert(fake_http_wait_streams(fake_hue_http(bridge), 1, WAIT_MS));
}

Test(hue, malformed_events_and_answers_are_reported)
{
	cr_assert_gt(fake_http_stream_send(fake_hue_http(bridge), "data: {not json\n\n"), 0);
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "not CLIP v2", WAIT_MS), "log:\n%s",
		  th_daemon_log(&th_fx.daemon));
	/* A read answered with garbage: a complaint, not an offline lamp. */
	fake_http_garbage_next(fake_hue_http(bridge), 1, "[1,2,3]");
	th_mqtt_clear(th_fx.mqtt);
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, "smarthub/lamp/get", "", 0, false), 0);
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "answer is not CLIP v2", WAIT_MS), "log:\n%s",
		  th_daemon_log(&th_fx.daemon));
	cr_assert_eq(th_mqtt_count(th_fx.mqtt, "smarthub/lamp/availability"), 0);
	/* Events still work. */
	fake_hue_change(bridge, true, 100.0, true);
	th_fixture_expect_state("lamp", "{\"state\":\"ON\",\"brightness\":255}");
}

Test(hue, slow_bridge_still_works)
{
	fake_http_set_delay(fake_hue_http(bridge), 400);
	/* Commands to one device run one after the other: the second PUT
	 * goes out only once the slow answer to the first came back. */
	th_fixture_set("lamp", "{\"state\":\"ON\"}");
	after_puts(1); /* the bridge has it and takes its time to answer */
	th_fixture_set("lamp", "{\"brightness\":10}");
	struct fake_hue_state s = after_puts(2);
	cr_assert(s.lamp.on && s.lamp.brightness > 3.9 && s.lamp.brightness < 4.0, "%s",
		  s.last_put);
	th_fixture_expect_state("lamp", "{\"state\":\"ON\",\"brightness\":10}");
	fake_http_set_delay(fake_hue_http(bridge), 0);
	char *ev = th_mqtt_last(th_fx.mqtt, "smarthub/bridge/event");
	cr_assert_null(ev, "no command failed: %s", ev);
}

/* The bridge's certificate changes under a running hub: the reconnect
 * fails verification, which is an error event and an offline lamp. */
Test(hue, changed_certificate_is_a_tls_error_event)
{
	char *ca = th_fixture_path("ca.crt");
	char *other = th_fixture_path("other-ca.crt");
	char *text = th_read_file(other);
	cr_assert_not_null(text);
	cr_assert_eq(th_write_file(ca, text), 0);
	th_mqtt_clear(th_fx.mqtt);
	fake_http_set_down(fake_hue_http(bridge), true);
	fake_http_set_down(fake_hue_http(bridge), false);
	th_fixture_expect_availability("lamp", "offline");
	char *ev = th_mqtt_wait(th_fx.mqtt, "smarthub/lamp/event", "TLS", WAIT_MS);
	cr_assert_not_null(ev, "a TLS failure is an error event; log:\n%s",
			   th_daemon_log(&th_fx.daemon));
	cr_assert(strstr(ev, "\"event\":\"error\""), "%s", ev);
	free(ev);
	free(text);
	free(other);
	free(ca);
}

/* The user removes the hub in the Hue app: the key is refused. */
Test(hue, revoked_key_is_an_error_event)
{
	fake_hue_revoke_key(bridge);
	th_mqtt_clear(th_fx.mqtt);
	fake_http_set_down(fake_hue_http(bridge), true);
	fake_http_set_down(fake_hue_http(bridge), false);
	th_fixture_expect_availability("lamp", "offline");
	char *ev = th_mqtt_wait(th_fx.mqtt, "smarthub/lamp/event", "application key", WAIT_MS);
	cr_assert_not_null(ev, "a refused key is an error event; log:\n%s",
			   th_daemon_log(&th_fx.daemon));
	free(ev);
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "unauthorized user", WAIT_MS));
}

Test(hue_poll, change_in_the_app_is_seen_by_polling)
{
	th_mqtt_clear(th_fx.mqtt);
	fake_hue_change(bridge, true, 20.0, false);
	th_fixture_expect_state("lamp", "{\"state\":\"ON\",\"brightness\":51}");
	struct fake_http_stats st;
	fake_http_stats(fake_hue_http(bridge), &st);
	cr_assert_eq(st.streams, 0, "event_stream: false opens none");
	th_fixture_set("lamp", "{\"state\":\"OFF\"}");
	th_fixture_expect_state("lamp", "{\"state\":\"OFF\"}");
}

Test(hue_setup, light_by_id_with_the_bridge_id_as_tls_name)
{
	daemon_start(FAKE_HUE_LAMP_ID, "ca", "bridge_id: " BRIDGE_ID);
	th_fixture_expect_availability("lamp", "online");
	th_fixture_expect_state("lamp", "{\"state\":\"OFF\"}");
}

Test(hue_setup, wrong_ca_is_a_tls_failure)
{
	daemon_start("Living lamp", "other-ca", NULL);
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "certificate", WAIT_MS), "log:\n%s",
		  th_daemon_log(&th_fx.daemon));
	struct fake_http_stats st;
	fake_http_stats(fake_hue_http(bridge), &st);
	cr_assert_gt(st.tls_failed, 0);
	cr_assert_eq(st.requests, 0, "nothing is sent to an unverified bridge");
}

Test(hue_setup, wrong_key_is_reported)
{
	char *secrets = th_fixture_path("secrets.yaml");
	cr_assert_eq(th_write_file(secrets, "hue_key: not-the-key\n"), 0);
	free(secrets);
	daemon_start("Living lamp", "ca", NULL);
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "refused the application key", WAIT_MS),
		  "log:\n%s", th_daemon_log(&th_fx.daemon));
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "unauthorized user", WAIT_MS));

	char *log = th_daemon_log(&th_fx.daemon);
	cr_assert_null(strstr(log, "not-the-key"), "the key never reaches the log");
	free(log);
}

Test(hue_setup, unknown_light_name_is_reported)
{
	daemon_start("Kitchen", "ca", NULL);
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "no light of that id or name", WAIT_MS),
		  "log:\n%s", th_daemon_log(&th_fx.daemon));
}

static bool asked_twice(const struct fake_hue_state *s, void *arg)
{
	return s->pair_attempts >= 2;
}

/* The user presses the button while smarthubd --hue-pair asks. */
static void *press_later(void *arg)
{
	if (fake_hue_wait(bridge, asked_twice, NULL, WAIT_MS))
		fake_hue_press_button(bridge);
	return NULL;
}

Test(hue_setup, pairing_prints_the_key_once_the_button_is_pressed)
{
	char *hostport = th_strdupf("127.0.0.1:%d", fake_http_port(fake_hue_http(bridge)));
	char *ca = th_fixture_path("ca.crt");
	const char *argv[] = {SMARTHUBD_PATH,
			      "--hue-pair",
			      hostport,
			      "--hue-ca",
			      ca,
			      "--plugin-dir",
			      SMARTHUB_PLUGIN_BUILD_DIR,
			      NULL};
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, press_later, NULL), 0);
	char *out = NULL;
	int status = -1;
	cr_assert_eq(th_run(argv, NULL, &out, &status), 0);
	pthread_join(t, NULL);
	cr_assert_eq(status, 0, "output:\n%s", out);
	cr_assert(strstr(out, "press the link button"), "%s", out);
	cr_assert(strstr(out, FAKE_HUE_KEY "\n"), "the key is printed:\n%s", out);
	free(out);

	/* Without the bridge's CA nothing is sent. */
	const char *argv2[] = {SMARTHUBD_PATH,
			       "--hue-pair",
			       hostport,
			       "--plugin-dir",
			       SMARTHUB_PLUGIN_BUILD_DIR,
			       NULL};
	cr_assert_eq(th_run(argv2, NULL, &out, &status), 0);
	cr_assert_neq(status, 0, "output:\n%s", out);
	cr_assert(strstr(out, "certificate"), "%s", out);
	free(out);
	free(ca);
	free(hostport);
}
