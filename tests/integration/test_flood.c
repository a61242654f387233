/* SPDX-License-Identifier: MIT */
/*
 * Loop starvation (issue 16 item 1): with 200 devices, four clients flood
 * bridge/request/devices as fast as their connections take it, while a
 * user sets lights. The hub must apply every /set and stay up; the
 * flood's excess requests are refused (rate limit), not worked on. With
 * the requests on the main connection, about one /set in eight was
 * dropped by the broker (its queue for the hub full of requests); on
 * their own connection (mqtt.request_connection) none is.
 *
 * How fast the /set is answered and how long the watchdog pings stop are
 * timing figures: tests/bench's scenario 9 measures them.
 */
#include "fixture.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FLOOD_CLIENTS 4
#define FLOOD_DEVICES 200
/* Requests per chunk a flooding client sends before it looks at `stop`. */
#define FLOOD_CHUNK 5000

TestSuite(flood, .fini = th_fixture_teardown, .timeout = 180);

static atomic_bool stop;
static atomic_uint chunks; /* sent by all clients together */

struct flooder {
	pthread_t thread;
	int index;
	int result;
};

static void *flood(void *arg)
{
	struct flooder *f = arg;
	char id[32];
	char *lines = malloc(FLOOD_CHUNK * 3 + 1);

	snprintf(id, sizeof(id), "flood-%d", f->index);
	struct th_mqtt *c = th_mqtt_connect(th_fx.broker.port, id);
	f->result = c && lines ? 0 : -ENOTCONN;
	if (lines) {
		for (int i = 0; i < FLOOD_CHUNK; i++)
			memcpy(lines + i * 3, "{}\n", 3);
		lines[FLOOD_CHUNK * 3] = '\0';
	}
	while (f->result == 0 && !atomic_load(&stop)) {
		f->result = th_mqtt_publish_lines(c, "smarthub/bridge/request/devices", lines);
		atomic_fetch_add(&chunks, 1);
	}
	th_mqtt_close(c);
	free(lines);
	return NULL;
}

/* A user's own client: the light's states and the flood's responses only
 * (the fixture's recording client gets every flooding request too). */
static struct th_mqtt *user;

static void set_and_expect(const char *device, int brightness)
{
	char *topic = th_strdupf("smarthub/%s/set", device);
	char *state = th_strdupf("smarthub/%s", device);
	char *payload = th_strdupf("{\"brightness\":%d}", brightness);

	cr_assert_eq(th_mqtt_publish(user, topic, payload, strlen(payload), false), 0);
	char *m = th_mqtt_wait_json(user, state, payload, 60000);
	cr_assert_not_null(m, "%s never showed %s; log:\n%s", device, payload,
			   th_daemon_log(&th_fx.daemon));
	free(m);
	free(payload);
	free(state);
	free(topic);
}

Test(flood, a_set_is_applied_during_a_flood_of_device_list_requests)
{
	char *devices = th_fixture_virtual_lights(FLOOD_DEVICES);
	th_fixture_start(devices);
	free(devices);
	th_fixture_expect_online("l0");
	th_fixture_expect_online("l199");
	user = th_mqtt_connect(th_fx.broker.port, "user");
	cr_assert_not_null(user);
	cr_assert_eq(th_mqtt_subscribe(user, "smarthub/+"), 0);
	cr_assert_eq(th_mqtt_subscribe(user, "smarthub/bridge/response/devices"), 0);

	struct flooder f[FLOOD_CLIENTS];
	for (int i = 0; i < FLOOD_CLIENTS; i++) {
		f[i] = (struct flooder){.index = i};
		cr_assert_eq(pthread_create(&f[i].thread, NULL, flood, &f[i]), 0);
	}
	/* The flood is on once every client has put a chunk on the wire: the
	 * /set then reaches the hub behind FLOOD_CLIENTS * FLOOD_CHUNK
	 * requests at least, with more still coming. */
	for (int i = 0; i < 60000 && atomic_load(&chunks) < FLOOD_CLIENTS; i++) {
		struct timespec ms = {.tv_nsec = 1000000};
		nanosleep(&ms, NULL);
	}
	cr_assert_geq(atomic_load(&chunks), FLOOD_CLIENTS, "the flooding clients sent nothing");
	/* One after another, each behind whatever the flood queued by then. */
	for (int i = 0; i < 10; i++) {
		char device[16];
		snprintf(device, sizeof(device), "l%d", i * 20);
		set_and_expect(device, 70 + i);
	}
	/* The requests beyond mqtt.requests_per_minute were refused. */
	char *refused =
		th_mqtt_wait(user, "smarthub/bridge/response/devices", "rate limited", 60000);
	cr_assert_not_null(refused, "no request was refused; log:\n%s",
			   th_daemon_log(&th_fx.daemon));
	free(refused);
	atomic_store(&stop, true);
	for (int i = 0; i < FLOOD_CLIENTS; i++) {
		pthread_join(f[i].thread, NULL);
		cr_assert_eq(f[i].result, 0, "flooding client %d: %s", i, strerror(-f[i].result));
	}
	cr_assert_eq(th_daemon_signal(&th_fx.daemon, 0), 0, "the daemon died in the flood");
	/* And it still works once the flood is over. */
	set_and_expect("l199", 33);
	th_mqtt_close(user);
}
