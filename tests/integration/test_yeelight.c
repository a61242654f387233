/* SPDX-License-Identifier: MIT */
/*
 * The yeelight driver end to end: the real smarthubd and mosquitto, and the
 * fake bulb of tests/fakes (the Yeelight LAN protocol, byte for byte). A
 * user's commands over MQTT must reach the bulb, the bulb's own changes
 * must reach MQTT, and a bulb that drops, refuses or throttles must show
 * as such without holding up anything else.
 */
#include "../fakes/fake_yeelight.c"
#include "fixture.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>

/* Generous bounds for things that take milliseconds on any machine. */
#define WAIT_MS 10000

/* The fake bulbs; the broker, daemon and client are the fixture's. */
struct rig {
	struct fake_bulb *bulb;  /* "lamp" */
	struct fake_bulb *other; /* "desk", for "the others keep working" */
};

static struct rig rig;

static void rig_start(void)
{
	memset(&rig, 0, sizeof(rig));
	rig.bulb = fake_bulb_start();
	rig.other = fake_bulb_start();
	cr_assert(rig.bulb && rig.other);
	th_fixture_start_broker(NULL);
	char *yaml = th_strdupf("devices:\n"
				"  lamp:\n"
				"    driver: yeelight\n"
				"    kind: light\n"
				"    host: 127.0.0.1\n"
				"    port: %d\n"
				"    backoff: {initial: 100ms, max: 500ms}\n"
				"  desk:\n"
				"    driver: yeelight\n"
				"    kind: light\n"
				"    host: 127.0.0.1\n"
				"    port: %d\n",
				fake_bulb_port(rig.bulb), fake_bulb_port(rig.other));
	th_fixture_start_daemon(NULL, yaml, NULL, NULL);
	free(yaml);
	th_fixture_expect_online("lamp");
	th_fixture_expect_online("desk");
}

static void rig_stop(void)
{
	th_fixture_teardown();
	fake_bulb_stop(rig.bulb);
	fake_bulb_stop(rig.other);
}

TestSuite(yeelight, .init = rig_start, .fini = rig_stop, .timeout = 120);

struct want {
	int power; /* -1 any */
	int bright, ct;
	long rgb;
	int mode;
};

static bool bulb_is(const struct fake_bulb_state *s, void *arg)
{
	const struct want *w = arg;
	return (w->power < 0 || s->power == (w->power == 1)) &&
	       (!w->bright || s->bright == w->bright) && (!w->ct || s->ct == w->ct) &&
	       (w->rgb < 0 || s->rgb == w->rgb) && (!w->mode || s->color_mode == w->mode);
}

static void expect_bulb(struct fake_bulb *b, struct want w)
{
	struct fake_bulb_state s;
	bool ok = fake_bulb_wait(b, bulb_is, &w, WAIT_MS);
	fake_bulb_get(b, &s);
	cr_assert(ok, "bulb is power %d bright %d ct %d rgb %06lx mode %d", s.power, s.bright, s.ct,
		  s.rgb, s.color_mode);
}

Test(yeelight, initial_state_is_read_at_connect)
{
	/* The fake starts off, bright 100, ct 4000 (250 mireds). */
	th_fixture_expect_state("lamp", "{\"state\":\"OFF\",\"brightness\":255,\"color_temp\":250,"
					"\"color_mode\":\"color_temp\"}");
	struct fake_bulb_state s;
	fake_bulb_get(rig.bulb, &s);
	cr_assert_eq(s.connections, 1, "one connection per device");
}

Test(yeelight, commands_reach_the_bulb)
{
	th_fixture_set("lamp", "{\"state\":\"ON\",\"brightness\":128}");
	expect_bulb(rig.bulb, (struct want){.power = 1, .bright = 50, .rgb = -1});
	th_fixture_expect_state("lamp", "{\"state\":\"ON\",\"brightness\":128}");

	th_fixture_set("lamp", "{\"color_temp\":370}");
	expect_bulb(rig.bulb, (struct want){.power = 1, .ct = 2703, .mode = 2, .rgb = -1});
	th_fixture_expect_state("lamp", "{\"color_temp\":370,\"color_mode\":\"color_temp\"}");

	th_fixture_set("lamp", "{\"color\":{\"r\":255,\"g\":0,\"b\":128}}");
	expect_bulb(rig.bulb, (struct want){.power = 1, .rgb = 0xff0080, .mode = 1});
	th_fixture_expect_state("lamp",
				"{\"color\":{\"r\":255,\"g\":0,\"b\":128},\"color_mode\":\"rgb\"}");

	th_fixture_set("lamp", "{\"state\":\"OFF\",\"transition\":2}");
	expect_bulb(rig.bulb, (struct want){.power = 0, .rgb = -1});
	th_fixture_expect_state("lamp", "{\"state\":\"OFF\"}");
	struct fake_bulb_state s;
	fake_bulb_get(rig.bulb, &s);
	cr_assert_str_eq(s.last_power_params, "[\"off\",\"smooth\",2000]");

	/* Brightness on a light that is off turns it on first (the bulb
	 * refuses set_bright while off); brightness 0 turns it off. */
	th_fixture_set("lamp", "{\"brightness\":255}");
	expect_bulb(rig.bulb, (struct want){.power = 1, .bright = 100, .rgb = -1});
	fake_bulb_get(rig.bulb, &s);
	cr_assert_str_eq(s.last_power_params, "[\"on\",\"smooth\",300]", "default transition");
	th_fixture_set("lamp", "{\"brightness\":0}");
	expect_bulb(rig.bulb, (struct want){.power = 0, .rgb = -1});
	th_fixture_expect_state("lamp", "{\"state\":\"OFF\"}");

	/* The other bulb was never touched. */
	struct fake_bulb_state o;
	fake_bulb_get(rig.other, &o);
	cr_assert_not(o.power);
}

Test(yeelight, changes_made_elsewhere_are_published)
{
	fake_bulb_push(rig.bulb, "{\"power\":\"on\",\"bright\":\"20\"}");
	th_fixture_expect_state("lamp", "{\"state\":\"ON\",\"brightness\":51}");
	fake_bulb_push(rig.bulb, "{\"rgb\":\"65280\",\"color_mode\":\"1\"}");
	th_fixture_expect_state("lamp",
				"{\"color\":{\"r\":0,\"g\":255,\"b\":0},\"color_mode\":\"rgb\"}");
}

Test(yeelight, get_reads_the_bulb_again)
{
	fake_bulb_change_quietly(rig.bulb, "{\"power\":\"on\",\"bright\":\"40\"}");
	th_mqtt_clear(th_fx.mqtt);
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, "smarthub/lamp/get", "", 0, false), 0);
	th_fixture_expect_state("lamp", "{\"state\":\"ON\",\"brightness\":102}");
}

Test(yeelight, dropped_connection_goes_offline_and_comes_back)
{
	th_mqtt_clear(th_fx.mqtt);
	fake_bulb_drop_all(rig.bulb);
	th_fixture_expect_availability("lamp", "offline");
	th_fixture_expect_availability("lamp", "online");

	th_fixture_set("lamp", "{\"state\":\"ON\"}");
	expect_bulb(rig.bulb, (struct want){.power = 1, .rgb = -1});
	struct fake_bulb_state s;
	fake_bulb_get(rig.bulb, &s);
	cr_assert_eq(s.connections, 1, "the old connection is not kept");
}

Test(yeelight, garbage_from_the_bulb_renews_the_connection)
{
	th_mqtt_clear(th_fx.mqtt);
	fake_bulb_send_raw(rig.bulb, "<html>not json</html>\r\n");
	th_fixture_expect_availability("lamp", "offline");
	th_fixture_expect_availability("lamp", "online");
	char *log = th_daemon_log(&th_fx.daemon);
	cr_assert(strstr(log, "malformed"), "the reason is logged:\n%s", log);
	free(log);
	th_fixture_set("lamp", "{\"state\":\"ON\"}");
	expect_bulb(rig.bulb, (struct want){.power = 1, .rgb = -1});
}

static bool turned_away_twice(const struct fake_bulb_state *s, void *arg)
{
	return s->turned_away >= 2;
}

Test(yeelight, refused_connections_retry_while_others_work)
{
	th_mqtt_clear(th_fx.mqtt);
	fake_bulb_refuse(rig.bulb, true);
	fake_bulb_drop_all(rig.bulb);
	th_fixture_expect_availability("lamp", "offline");
	/* The daemon keeps retrying (with backoff) ... */
	cr_assert(fake_bulb_wait(rig.bulb, turned_away_twice, NULL, WAIT_MS));
	/* ... a command to it fails at once rather than hanging ... */
	th_fixture_set("lamp", "{\"state\":\"ON\"}");
	char *ev = th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/event", "lamp", WAIT_MS);
	cr_assert_not_null(ev, "a command to an offline light must say why");
	free(ev);
	/* ... and the other light works meanwhile. */
	th_fixture_set("desk", "{\"state\":\"ON\",\"brightness\":255}");
	expect_bulb(rig.other, (struct want){.power = 1, .bright = 100, .rgb = -1});
	th_fixture_expect_state("desk", "{\"state\":\"ON\",\"brightness\":255}");

	fake_bulb_refuse(rig.bulb, false);
	th_fixture_expect_availability("lamp", "online");
	th_fixture_set("lamp", "{\"state\":\"ON\"}");
	expect_bulb(rig.bulb, (struct want){.power = 1, .rgb = -1});
}

Test(yeelight, quota_error_is_reported_and_later_commands_work)
{
	th_fixture_set("lamp", "{\"state\":\"ON\"}");
	expect_bulb(rig.bulb, (struct want){.power = 1, .rgb = -1});
	th_mqtt_clear(th_fx.mqtt);

	fake_bulb_quota(rig.bulb, true);
	th_fixture_set("lamp", "{\"brightness\":26}");
	char *ev = th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/event", "quota", WAIT_MS);
	cr_assert_not_null(ev, "the bulb's quota error must reach the user; log:\n%s",
			   th_daemon_log(&th_fx.daemon));
	free(ev);
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "quota", WAIT_MS));

	/* Throttled is not offline. */
	char *avail = th_mqtt_last(th_fx.mqtt, "smarthub/lamp/availability");
	cr_assert(!avail || strstr(avail, "online"), "availability: %s", avail);
	free(avail);

	fake_bulb_quota(rig.bulb, false);
	th_fixture_set("lamp", "{\"brightness\":26}");
	expect_bulb(rig.bulb, (struct want){.power = 1, .bright = 10, .rgb = -1});
	th_fixture_expect_state("lamp", "{\"brightness\":26}");
}

/* The driver's options are checked before anything connects, with the
 * position of the mistake, and the daemon refuses the file. */
Test(yeelight_config, options_are_checked, .timeout = 60)
{
	const char *yaml = "devices:\n"
			   "  no_host:\n"
			   "    driver: yeelight\n"
			   "    kind: light\n"
			   "  bad_values:\n"
			   "    driver: yeelight\n"
			   "    kind: light\n"
			   "    host: 192.0.2.1\n"
			   "    port: 70000\n"
			   "    transition: 5m\n";
	char *log = th_fixture_refused_config(yaml);
	cr_assert(strstr(log, "no_host") && strstr(log, "'host'"), "log:\n%s", log);
	cr_assert(strstr(log, ":9:") && strstr(log, "port"), "port's line; log:\n%s", log);
	cr_assert(strstr(log, ":10:") && strstr(log, "transition"), "log:\n%s", log);
	free(log);
}

static int raw_connect(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval tv = {.tv_sec = 10};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

static bool four_connections(const struct fake_bulb_state *s, void *arg)
{
	return s->connections == 4;
}

/* The hub is one of the bulb's four clients and shares it: other apps see
 * the hub's changes, and a fifth client is turned away. */
Test(yeelight, the_hub_uses_one_of_four_connections)
{
	int apps[3];
	for (int i = 0; i < 3; i++)
		apps[i] = raw_connect(fake_bulb_port(rig.bulb));
	cr_assert(fake_bulb_wait(rig.bulb, four_connections, NULL, WAIT_MS));

	int fifth = raw_connect(fake_bulb_port(rig.bulb));
	char buf[512];
	cr_assert_eq(recv(fifth, buf, sizeof(buf), 0), 0, "a fifth client is closed at once");
	close(fifth);

	th_fixture_set("lamp", "{\"state\":\"ON\"}");
	ssize_t n = recv(apps[0], buf, sizeof(buf) - 1, 0);
	cr_assert_gt(n, 0, "another app hears of the hub's change");
	buf[n] = '\0';
	cr_assert(strstr(buf, "\"method\":\"props\"") && strstr(buf, "\"power\":\"on\""), "got %s",
		  buf);
	cr_assert(strstr(buf, "\r\n"), "lines end in CR LF");
	th_fixture_expect_state("lamp", "{\"state\":\"ON\"}");
	for (int i = 0; i < 3; i++)
		close(apps[i]);
}
