/* SPDX-License-Identifier: MIT */
/*
 * The wled driver end to end: the real smarthubd and mosquitto, and the
 * fake WLED controller of tests/fakes (WLED's JSON API over HTTP). A
 * user's commands over MQTT must reach the strip and come back as its
 * resulting state; changes made at the strip must show within a poll
 * interval; a strip that vanishes goes offline and comes back with its
 * state re-read; answers that make no sense are reported, not believed.
 */
#include "../fakes/fake_http.c"
#include "../fakes/fake_wled.c"
#include "fixture.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define WAIT_MS 10000

/* Beyond the fixture: the fake strip. */
static struct {
	struct fake_wled *strip;
} rig;

static void rig_start(void)
{
	memset(&rig, 0, sizeof(rig));
	rig.strip = fake_wled_start();
	cr_assert_not_null(rig.strip);
	th_fixture_start_broker(NULL);
	/* The syntax, with a short poll and backoff for the test. */
	char *body = th_strdupf("devices:\n"
				"  strip: {driver: wled, kind: light, host: 127.0.0.1, port: %d, "
				"poll_interval: 300ms,"
				" command_timeout: 3s, backoff: {initial: 100ms, max: 500ms}}\n",
				fake_http_port(fake_wled_http(rig.strip)));
	th_fixture_start_daemon(NULL, body, NULL, NULL);
	free(body);
	th_fixture_expect_online("strip");
}

static void rig_stop(void)
{
	th_fixture_teardown();
	fake_wled_stop(rig.strip);
}

TestSuite(wled, .init = rig_start, .fini = rig_stop, .timeout = 120);

static bool strip_is(const struct fake_wled_state *s, void *arg)
{
	const int *want = arg; /* on, bri, r, g, b, transition (-2: any) */
	return s->on == want[0] && s->bri == want[1] &&
	       (want[2] < 0 ||
		(s->col[0] == want[2] && s->col[1] == want[3] && s->col[2] == want[4])) &&
	       (want[5] == -2 || s->transition == want[5]);
}

static void expect_strip(int on, int bri, int r, int g, int b, int transition)
{
	int want[6] = {on, bri, r, g, b, transition};
	struct fake_wled_state s;
	bool ok = fake_wled_wait(rig.strip, strip_is, want, WAIT_MS);
	fake_wled_get(rig.strip, &s);
	cr_assert(ok, "strip is on %d bri %d col %d,%d,%d transition %d; last POST %s", s.on, s.bri,
		  s.col[0], s.col[1], s.col[2], s.transition, s.last_post);
}

Test(wled, state_is_read_at_connect)
{
	th_fixture_expect_state("strip", "{\"state\":\"OFF\",\"brightness\":128,"
					 "\"color\":{\"r\":255,\"g\":160,\"b\":0}}");
}

Test(wled, set_and_confirm)
{
	th_fixture_set("strip", "{\"state\":\"ON\",\"brightness\":200,\"transition\":1.5}");
	expect_strip(1, 200, -1, 0, 0, 15);
	th_fixture_expect_state("strip", "{\"state\":\"ON\",\"brightness\":200}");

	th_fixture_set("strip", "{\"color\":{\"r\":10,\"g\":20,\"b\":30}}");
	expect_strip(1, 200, 10, 20, 30, -2);
	th_fixture_expect_state("strip",
				"{\"color\":{\"r\":10,\"g\":20,\"b\":30},\"color_mode\":\"rgb\"}");

	th_fixture_set("strip", "{\"brightness\":0}");
	expect_strip(0, 200, -1, 0, 0, -2);
	th_fixture_expect_state("strip", "{\"state\":\"OFF\"}");

	struct fake_wled_state s;
	fake_wled_get(rig.strip, &s);
	cr_assert(strstr(s.last_post, "\"v\":true"), "the answer is asked for: %s", s.last_post);
}

Test(wled, change_at_the_strip_is_seen_by_polling)
{
	th_mqtt_clear(th_fx.mqtt);
	fake_wled_set(rig.strip, true, 42, 0, 0, 255);
	th_fixture_expect_state(
		"strip",
		"{\"state\":\"ON\",\"brightness\":42,\"color\":{\"r\":0,\"g\":0,\"b\":255}}");
}

Test(wled, polls_reuse_one_connection)
{
	struct fake_http_stats before, after;
	fake_http_stats(fake_wled_http(rig.strip), &before);
	/* A few polls (300 ms apart). */
	cr_assert(fake_http_wait_requests(fake_wled_http(rig.strip), before.requests + 4, WAIT_MS),
		  "polling happens");
	fake_http_stats(fake_wled_http(rig.strip), &after);
	cr_assert_leq(after.accepted, before.accepted + 1,
		      "keep-alive: %u connections for %u requests",
		      after.accepted - before.accepted, after.requests - before.requests);
}

Test(wled, vanishing_strip_goes_offline_and_comes_back_reread)
{
	th_mqtt_clear(th_fx.mqtt);
	fake_http_set_down(fake_wled_http(rig.strip), true);
	th_fixture_expect_availability("strip", "offline");
	/* Changed while the hub could not see it. */
	fake_wled_set(rig.strip, true, 77, 1, 2, 3);
	th_mqtt_clear(th_fx.mqtt);
	fake_http_set_down(fake_wled_http(rig.strip), false);
	th_fixture_expect_availability("strip", "online");
	th_fixture_expect_state(
		"strip",
		"{\"state\":\"ON\",\"brightness\":77,\"color\":{\"r\":1,\"g\":2,\"b\":3}}");

	th_fixture_set("strip", "{\"state\":\"OFF\"}");
	expect_strip(0, 77, -1, 0, 0, -2);
}

Test(wled, malformed_answers_are_reported_not_believed)
{
	th_fixture_expect_state("strip", "{\"state\":\"OFF\"}");
	th_mqtt_clear(th_fx.mqtt);
	fake_http_garbage_next(fake_wled_http(rig.strip), 3, "<html>captive portal</html>");
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "not a WLED state", WAIT_MS),
		  "the complaint is logged; log:\n%s", th_daemon_log(&th_fx.daemon));
	/* A readable answer clears it and the strip was never offline. */
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "readable again", WAIT_MS));
	cr_assert_eq(th_mqtt_count(th_fx.mqtt, "smarthub/strip/availability"), 0);
	char *event = th_mqtt_wait(th_fx.mqtt, "smarthub/strip/event", "not a WLED state", WAIT_MS);
	cr_assert_not_null(event, "the condition is an error event");
	cr_assert(strstr(event, "\"event\":\"error\""), "%s", event);
	free(event);
	/* One event per condition, however often it repeats (3 polls). */
	cr_assert_eq(th_mqtt_count(th_fx.mqtt, "smarthub/strip/event"), 1);

	/* An answer over the 256 KiB cap is refused whole, never parsed. */
	fake_http_huge_next(fake_wled_http(rig.strip), 2, 300 * 1024);
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "larger than 262144 bytes", WAIT_MS),
		  "log:\n%s", th_daemon_log(&th_fx.daemon));
	cr_assert_eq(th_mqtt_count(th_fx.mqtt, "smarthub/strip/availability"), 0);

	/* A command answered with garbage fails with the reason. */
	fake_http_garbage_next(fake_wled_http(rig.strip), 1, "{\"on\":\"maybe\"}");
	th_fixture_set("strip", "{\"state\":\"ON\"}");
	char *ev = th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/event", "strip", WAIT_MS);
	cr_assert_not_null(ev, "the failed command is an error event; log:\n%s",
			   th_daemon_log(&th_fx.daemon));
	free(ev);
	/* The next command works. */
	th_fixture_set("strip", "{\"state\":\"ON\",\"brightness\":9}");
	expect_strip(1, 9, -1, 0, 0, -2);
	th_fixture_expect_state("strip", "{\"state\":\"ON\",\"brightness\":9}");
}

Test(wled, slow_and_dropped_answers)
{
	/* Slow but within command_timeout: it works. */
	fake_http_set_delay(fake_wled_http(rig.strip), 500);
	th_fixture_set("strip", "{\"state\":\"ON\",\"brightness\":100}");
	th_fixture_expect_state("strip", "{\"state\":\"ON\",\"brightness\":100}");
	fake_http_set_delay(fake_wled_http(rig.strip), 0);

	/* A dropped connection fails that request only; the hub recovers. */
	/* Whatever request meets the drop (the command, or a poll, which then
	 * takes the strip offline for a moment), the user's retry lands. */
	fake_http_drop_next(fake_wled_http(rig.strip), 1);
	int want[6] = {1, 60, -1, 0, 0, -2};
	bool landed = false;
	const char *cmd = "{\"brightness\":60}";
	th_mqtt_clear(th_fx.mqtt);
	for (int i = 0; i < 10 && !landed; i++) {
		cr_assert_eq(
			th_mqtt_publish(th_fx.mqtt, "smarthub/strip/set", cmd, strlen(cmd), false),
			0);
		landed = fake_wled_wait(rig.strip, strip_is, want, 1000);
	}
	cr_assert(landed, "log:\n%s", th_daemon_log(&th_fx.daemon));
	th_fixture_expect_state("strip", "{\"brightness\":60}");
}

Test(wled_config, options_are_checked, .timeout = 60)
{
	const char *yaml = "devices:\n"
			   "  strip: {driver: wled, kind: light, host: 192.0.2.1, port: 0}\n"
			   "  nohost: {driver: wled, kind: light}\n";
	char *log = th_fixture_refused_config(yaml);
	cr_assert(strstr(log, "port") && strstr(log, "'host'"), "log:\n%s", log);
	free(log);
}
