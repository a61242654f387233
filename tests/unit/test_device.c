// SPDX-License-Identifier: MIT
/*
 * Devices and drivers, driven through the real hub and loop with the
 * virtual driver: concurrent connection, dependencies, backoff, per-device
 * command queues, the plugin loader's refusals, and reload.
 *
 * Order is checked through the recorded hub events, never by timing.
 */
#include "hub_fixture.h"
#include "harness.h"
#include "kinds/kind.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD_MS 15000

static struct hf f;

static void teardown(void)
{
	hf_stop(&f);
}

TestSuite(device, .fini = teardown, .timeout = 60);

static char *many_devices_yaml(int n, const char *options)
{
	size_t cap = 256 + (size_t)n * 160;
	char *yaml = malloc(cap);
	size_t len = (size_t)snprintf(yaml, cap, "mqtt:\n  url: tcp://127.0.0.1:1\ndevices:\n");
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(yaml + len, cap - len,
					"  lamp%03d: { driver: virtual, kind: light%s%s }\n", i,
					options ? ", " : "", options ? options : "");
	return yaml;
}

static uint64_t submit(const char *id, const char *json, char *reason, size_t len, int *err)
{
	uint64_t cmd_id = 0;
	*err = sh_device_submit(hf_device(&f, id), cJSON_Parse(json), NULL, NULL, &cmd_id, reason,
				len);
	return cmd_id;
}

/* Submits a command the device must accept; its id. */
static uint64_t submit_ok(const char *id, const char *json)
{
	char reason[256];
	int err;
	uint64_t cmd_id = submit(id, json, reason, sizeof(reason), &err);
	cr_assert_eq(err, 0, "%s: %s refused: %s", id, json, reason);
	return cmd_id;
}

/* The hub on `yaml`, every device of it online. */
static void start_online(const char *yaml)
{
	cr_assert_eq(hf_start(&f, yaml), 0);
	cr_assert(hf_wait_all_online(&f, GUARD_MS));
}

Test(device, all_devices_start_connecting_before_the_first_is_online)
{
	char *yaml = many_devices_yaml(100, "connect_delay: 300ms");
	cr_assert_eq(hf_start(&f, yaml), 0);
	free(yaml);
	cr_assert(hf_wait_all_online(&f, GUARD_MS));

	long first_online = hf_find_availability(&f, NULL, true, 0);
	cr_assert_geq(first_online, 0);
	cr_assert_eq(hf_count(&f, SH_EV_DEVICE_CONNECTING, NULL), 100);
	/* Every one of the 100 attempts began before any device came online. */
	for (size_t i = (size_t)first_online; i < f.n_events; i++)
		cr_assert_neq(f.events[i].type, SH_EV_DEVICE_CONNECTING,
			      "device %s began connecting only after another was online",
			      f.events[i].device);
}

Test(device, an_unreachable_device_does_not_delay_the_others)
{
	cr_assert_eq(hf_start(&f, "devices:\n"
				  "  dead: { driver: virtual, kind: light, unreachable: true,\n"
				  "          connect_timeout: 5s }\n"
				  "  a: { driver: virtual, kind: light, connect_delay: 50ms }\n"
				  "  b: { driver: virtual, kind: switch, connect_delay: 20ms }\n"),
		     0);
	cr_assert(hf_wait_online(&f, "a", GUARD_MS));
	cr_assert(hf_wait_online(&f, "b", GUARD_MS));
	/* dead is still trying: its timeout has not even come. */
	cr_assert_eq(sh_device_conn(hf_device(&f, "dead")), SH_CONN_CONNECTING);
	cr_assert_eq(hf_count(&f, SH_EV_DEVICE_AVAILABILITY, "dead"), 0);
}

Test(device, connect_timeout_then_backoff_retries)
{
	cr_assert_eq(hf_start(&f, "devices:\n"
				  "  dead: { driver: virtual, kind: light, unreachable: true,\n"
				  "          connect_timeout: 50ms,\n"
				  "          backoff: { initial: 20ms, max: 40ms } }\n"),
		     0);
	hf_run_for(&f, 600);
	struct sh_device *dead = hf_device(&f, "dead");
	cr_assert_geq(hf_count(&f, SH_EV_DEVICE_CONNECTING, "dead"), 3);
	cr_assert_not(sh_device_online(dead));
	cr_assert(strstr(sh_device_last_error(dead), "connect timed out"), "last error: %s",
		  sh_device_last_error(dead));
}

Test(device, failed_connects_are_retried_until_online)
{
	cr_assert_eq(hf_start(&f, "devices:\n"
				  "  shy: { driver: virtual, kind: switch, fail_connects: 2,\n"
				  "         backoff: { initial: 10ms, max: 50ms, jitter: 0 } }\n"),
		     0);
	cr_assert(hf_wait_online(&f, "shy", GUARD_MS));
	cr_assert_eq(hf_count(&f, SH_EV_DEVICE_CONNECTING, "shy"), 3);
	cr_assert_eq(hf_count(&f, SH_EV_DEVICE_AVAILABILITY, "shy"), 1);
}

struct speaker_back_arg {
	size_t mark;
};

/* The speaker reported online again after `mark`. */
static bool speaker_back(struct hf *fixture, void *p)
{
	const struct speaker_back_arg *arg = p;
	return hf_find_availability(fixture, "speaker", true, arg->mark) >= 0;
}

Test(device, depends_on_orders_connection_and_recovers)
{
	/* amp answers commands in 5 s but the hub waits 100 ms: the timed-out
	 * command takes amp offline, which must take speaker down with it. */
	start_online("devices:\n"
		     "  speaker: { driver: virtual, kind: speaker, depends_on: [amp] }\n"
		     "  amp: { driver: virtual, kind: switch, connect_delay: 100ms,\n"
		     "         command_delay: 5s, command_timeout: 100ms,\n"
		     "         backoff: { initial: 50ms, max: 50ms, jitter: 0 } }\n"
		     "  lamp: { driver: virtual, kind: light }\n");
	long amp_online = hf_find_availability(&f, "amp", true, 0);
	long speaker_connecting = hf_find(&f, SH_EV_DEVICE_CONNECTING, "speaker", 0);
	cr_assert_gt(speaker_connecting, amp_online,
		     "speaker began connecting before amp was online");

	size_t mark = f.n_events;
	submit_ok("amp", "{\"state\":\"ON\"}");
	/* amp goes offline (timeout), speaker follows, both come back in order. */
	struct speaker_back_arg arg = {.mark = mark};
	cr_assert(hf_run_until(&f, speaker_back, &arg, GUARD_MS), "speaker never came back");
	long amp_off = hf_find_availability(&f, "amp", false, mark);
	long speaker_off = hf_find_availability(&f, "speaker", false, mark);
	long amp_on = hf_find_availability(&f, "amp", true, mark);
	long speaker_on = hf_find_availability(&f, "speaker", true, mark);
	cr_assert(amp_off >= 0 && speaker_off > amp_off, "speaker did not go offline with amp");
	cr_assert(amp_on > speaker_off && speaker_on > amp_on, "wrong recovery order");
	/* lamp depends on nothing and never blinked. */
	cr_assert_eq(hf_count(&f, SH_EV_DEVICE_AVAILABILITY, "lamp"), 1);
}

Test(device, a_device_that_never_connects_holds_up_only_its_dependents)
{
	cr_assert_eq(hf_start(&f,
			      "devices:\n"
			      "  dead: { driver: virtual, kind: switch, unreachable: true }\n"
			      "  child: { driver: virtual, kind: speaker, depends_on: dead }\n"
			      "  other: { driver: virtual, kind: light, connect_delay: 30ms }\n"),
		     0);
	cr_assert(hf_wait_online(&f, "other", GUARD_MS));
	hf_run_for(&f, 100);
	cr_assert_eq(hf_count(&f, SH_EV_DEVICE_CONNECTING, "child"), 0);
	cr_assert(strstr(sh_device_last_error(hf_device(&f, "child")), "waiting for dead"));
}

struct order_check {
	const char *id;
	size_t expected_done;
};

static bool commands_done(struct hf *fx, void *arg)
{
	struct order_check *c = arg;
	return hf_count(fx, SH_EV_COMMAND_DONE, c->id) >= c->expected_done;
}

Test(device, commands_to_one_device_run_one_at_a_time_in_order)
{
	start_online("devices:\n"
		     "  a: { driver: virtual, kind: light, command_delay: 20ms }\n");
	uint64_t ids[5];
	for (int i = 0; i < 5; i++) {
		char json[64];
		snprintf(json, sizeof(json), "{\"brightness\":%d}", 10 * (i + 1));
		ids[i] = submit_ok("a", json);
	}
	struct order_check c = {"a", 5};
	cr_assert(hf_run_until(&f, commands_done, &c, GUARD_MS));
	/* started(1) done(1) started(2) done(2) ...: never two at once. */
	int running = 0, next = 0;
	for (size_t i = 0; i < f.n_events; i++) {
		struct hf_event *e = &f.events[i];
		if (e->type == SH_EV_COMMAND_STARTED) {
			cr_assert_eq(running, 0, "two commands ran at once");
			cr_assert_eq(e->command_id, ids[next], "commands ran out of order");
			running = 1;
		} else if (e->type == SH_EV_COMMAND_DONE) {
			cr_assert_eq(e->command_id, ids[next]);
			cr_assert_eq(e->err, 0);
			running = 0;
			next++;
		}
	}
	cr_assert_eq(next, 5);
	const cJSON *b = cJSON_GetObjectItem(sh_device_state(hf_device(&f, "a")), "brightness");
	cr_assert_eq(b->valueint, 50, "the last command must win");
}

Test(device, commands_to_two_devices_overlap)
{
	start_online("devices:\n"
		     "  a: { driver: virtual, kind: light, command_delay: 200ms }\n"
		     "  b: { driver: virtual, kind: switch, command_delay: 200ms }\n");
	submit_ok("a", "{\"state\":\"ON\"}");
	submit_ok("b", "{\"state\":\"ON\"}");
	struct order_check c = {"b", 1};
	cr_assert(hf_run_until(&f, commands_done, &c, GUARD_MS));
	long b_started = hf_find(&f, SH_EV_COMMAND_STARTED, "b", 0);
	long a_done = hf_find(&f, SH_EV_COMMAND_DONE, "a", 0);
	cr_assert(a_done < 0 || b_started < a_done, "b waited for a");
}

Test(device, min_interval_spaces_commands)
{
	start_online("devices:\n"
		     "  a: { driver: virtual, kind: light, min_interval: 150ms }\n");
	for (int i = 0; i < 3; i++) {
		submit_ok("a", "{\"state\":\"TOGGLE\"}");
	}
	struct order_check c = {"a", 3};
	cr_assert(hf_run_until(&f, commands_done, &c, GUARD_MS));
	double last = -1;
	for (size_t i = 0; i < f.n_events; i++) {
		if (f.events[i].type != SH_EV_COMMAND_STARTED)
			continue;
		/* A lower bound: a slow machine only widens the gaps. */
		if (last >= 0)
			cr_assert_geq(f.events[i].at - last, 0.149, "gap %.3f s",
				      f.events[i].at - last);
		last = f.events[i].at;
	}
}

Test(device, full_queue_and_offline_device_are_refused_with_reasons)
{
	cr_assert_eq(hf_start(&f, "devices:\n"
				  "  slow: { driver: virtual, kind: switch, command_delay: 2s,\n"
				  "          queue_limit: 2 }\n"
				  "  dead: { driver: virtual, kind: switch, unreachable: true }\n"),
		     0);
	cr_assert(hf_wait_online(&f, "slow", GUARD_MS));
	char reason[256];
	int err;
	for (int i = 0; i < 3; i++) { /* one running, two waiting */
		submit_ok("slow", "{\"state\":\"ON\"}");
	}
	submit("slow", "{\"state\":\"OFF\"}", reason, sizeof(reason), &err);
	cr_assert_eq(err, -ENOBUFS);
	cr_assert(strstr(reason, "queue full"), "%s", reason);

	submit("dead", "{\"state\":\"ON\"}", reason, sizeof(reason), &err);
	cr_assert_eq(err, -ENOTCONN);
	cr_assert(strstr(reason, "offline"), "%s", reason);

	submit("slow", "{\"brightness\":3}", reason, sizeof(reason), &err);
	cr_assert_eq(err, -EINVAL);
	cr_assert(strstr(reason, "unknown property 'brightness'"), "%s", reason);
}

Test(device, queue_while_offline_applies_the_latest_command_on_reconnect)
{
	cr_assert_eq(hf_start(&f, "devices:\n"
				  "  late: { driver: virtual, kind: light, connect_delay: 200ms,\n"
				  "          queue_while_offline: true }\n"),
		     0);
	submit_ok("late", "{\"brightness\":10}");
	submit_ok("late", "{\"brightness\":99}");
	struct order_check c = {"late", 2}; /* the superseded one and the applied one */
	cr_assert(hf_run_until(&f, commands_done, &c, GUARD_MS));
	cr_assert_eq(hf_count(&f, SH_EV_COMMAND_STARTED, "late"), 1);
	const cJSON *b = cJSON_GetObjectItem(sh_device_state(hf_device(&f, "late")), "brightness");
	cr_assert_eq(b->valueint, 99);
}

Test(device, toggle_is_resolved_against_the_state)
{
	start_online("devices:\n  s: { driver: virtual, kind: switch }\n");
	char reason[256];
	int err;
	submit("s", "{\"state\":\"TOGGLE\"}", reason, sizeof(reason), &err);
	struct order_check c = {"s", 1};
	cr_assert(hf_run_until(&f, commands_done, &c, GUARD_MS));
	cr_assert_str_eq(
		cJSON_GetObjectItem(sh_device_state(hf_device(&f, "s")), "state")->valuestring,
		"ON");
	submit("s", "{\"state\":\"TOGGLE\"}", reason, sizeof(reason), &err);
	c.expected_done = 2;
	cr_assert(hf_run_until(&f, commands_done, &c, GUARD_MS));
	cr_assert_str_eq(
		cJSON_GetObjectItem(sh_device_state(hf_device(&f, "s")), "state")->valuestring,
		"OFF");
}

Test(device, max_connecting_caps_simultaneous_attempts)
{
	start_online("hub: { max_connecting: 2 }\n"
		     "devices:\n"
		     "  a: { driver: virtual, kind: light, connect_delay: 30ms }\n"
		     "  b: { driver: virtual, kind: light, connect_delay: 30ms }\n"
		     "  c: { driver: virtual, kind: light, connect_delay: 30ms }\n"
		     "  d: { driver: virtual, kind: light, connect_delay: 30ms }\n"
		     "  e: { driver: virtual, kind: light, connect_delay: 30ms }\n");
	int connecting = 0;
	for (size_t i = 0; i < f.n_events; i++) {
		if (f.events[i].type == SH_EV_DEVICE_CONNECTING)
			connecting++;
		else if (f.events[i].type == SH_EV_DEVICE_AVAILABILITY)
			connecting--;
		cr_assert_leq(connecting, 2, "more than 2 attempts at once");
	}
}

struct avail_wait {
	const char *id;
	bool online;
	size_t from;
};

static bool availability_seen(struct hf *fx, void *arg)
{
	struct avail_wait *w = arg;
	return hf_find_availability(fx, w->id, w->online, w->from) >= 0;
}

/* Who depends on whom is kept in a table built from the device list: a
 * reload that recreates the dependency and adds a dependent must reach
 * both dependents when the new dependency goes offline. */
Test(device, dependents_follow_a_reload)
{
	start_online("devices:\n"
		     "  speaker: { driver: virtual, kind: speaker, depends_on: [amp] }\n"
		     "  amp: { driver: virtual, kind: switch }\n");
	struct sh_device *amp = hf_device(&f, "amp");
	cr_assert_eq(hf_reload(&f,
			       "devices:\n"
			       "  speaker: { driver: virtual, kind: speaker, depends_on: [amp] }\n"
			       "  amp: { driver: virtual, kind: switch, command_delay: 5s,\n"
			       "         command_timeout: 100ms,\n"
			       "         backoff: { initial: 50ms, max: 50ms, jitter: 0 } }\n"
			       "  radio: { driver: virtual, kind: speaker, depends_on: amp }\n",
			       NULL),
		     0);
	cr_assert(hf_wait_all_online(&f, GUARD_MS));
	cr_assert_neq(hf_device(&f, "amp"), amp, "amp was kept, not recreated");

	/* The timed-out command takes the new amp offline. */
	size_t mark = f.n_events;
	submit_ok("amp", "{\"state\":\"ON\"}");
	struct avail_wait speaker = {"speaker", false, mark}, radio = {"radio", false, mark};
	cr_assert(hf_run_until(&f, availability_seen, &speaker, GUARD_MS),
		  "speaker did not go offline with the new amp");
	cr_assert(hf_run_until(&f, availability_seen, &radio, GUARD_MS),
		  "radio did not go offline with amp");
}

Test(device, the_speaker_needs_its_plug)
{
	cr_assert_eq(hf_start(&f, "devices:\n"
				  "  plug: { driver: virtual, kind: switch }\n"
				  "  spk: { driver: virtual, kind: speaker, needs_power: plug,\n"
				  "         backoff: { initial: 20ms, max: 20ms } }\n"),
		     0);
	cr_assert(hf_wait_online(&f, "plug", GUARD_MS));
	hf_run_for(&f, 200);
	cr_assert_not(sh_device_online(hf_device(&f, "spk")));
	cr_assert(strstr(sh_device_last_error(hf_device(&f, "spk")), "no power"));
	char reason[256];
	int err;
	submit("plug", "{\"state\":\"ON\"}", reason, sizeof(reason), &err);
	cr_assert(hf_wait_online(&f, "spk", GUARD_MS));
	/* A speaker that is off refuses to play. */
	uint64_t id = submit("spk", "{\"play\":\"jazz\"}", reason, sizeof(reason), &err);
	cr_assert_eq(err, 0);
	struct order_check c = {"spk", 1};
	cr_assert(hf_run_until(&f, commands_done, &c, GUARD_MS));
	long done = hf_find(&f, SH_EV_COMMAND_DONE, "spk", 0);
	cr_assert_eq(f.events[done].command_id, id);
	cr_assert_neq(f.events[done].err, 0);
	cr_assert_str_eq(f.events[done].reason, "speaker is off");

	/* The plug goes off: the speaker hears it through watch_peer and
	 * loses its power at once, with no polling. */
	size_t before = f.n_events;
	submit_ok("plug", "{\"state\":\"OFF\"}");
	struct avail_wait w = {"spk", false, before};
	cr_assert(hf_run_until(&f, availability_seen, &w, GUARD_MS));
	cr_assert(strstr(sh_device_last_error(hf_device(&f, "spk")), "lost power"), "%s",
		  sh_device_last_error(hf_device(&f, "spk")));
}

Test(device, a_speaker_whose_plug_is_removed_by_a_reload_loses_power)
{
	const char *both = "devices:\n"
			   "  plug: { driver: virtual, kind: switch }\n"
			   "  spk: { driver: virtual, kind: speaker, needs_power: plug,\n"
			   "         backoff: { initial: 20ms, max: 20ms } }\n";
	cr_assert_eq(hf_start(&f, both), 0);
	cr_assert(hf_wait_online(&f, "plug", GUARD_MS));
	char reason[256];
	int err;
	submit("plug", "{\"state\":\"ON\"}", reason, sizeof(reason), &err);
	cr_assert(hf_wait_online(&f, "spk", GUARD_MS));
	/* The plug is gone from the file; the speaker is kept (its own entry
	 * did not change), and its watch hears that the peer is gone. */
	size_t before = f.n_events;
	cr_assert_eq(hf_reload(&f,
			       "devices:\n"
			       "  spk: { driver: virtual, kind: speaker, needs_power: plug,\n"
			       "         backoff: { initial: 20ms, max: 20ms } }\n",
			       NULL),
		     0);
	struct avail_wait w = {"spk", false, before};
	cr_assert(hf_run_until(&f, availability_seen, &w, GUARD_MS));
	cr_assert(strstr(sh_device_last_error(hf_device(&f, "spk")), "power"), "%s",
		  sh_device_last_error(hf_device(&f, "spk")));
}

Test(device, needs_power_must_name_a_device)
{
	struct sh_diag diag = {0};
	cr_assert_eq(hf_init(&f, SMARTHUB_PLUGIN_BUILD_DIR), 0);
	int r = hf_reload(&f,
			  "devices:\n"
			  "  spk: { driver: virtual, kind: speaker, needs_power: nosuch }\n",
			  &diag);
	cr_assert_lt(r, 0);
	cr_assert_eq(diag.count, 1);
	cr_assert(strstr(diag.messages[0], "needs_power: no device nosuch"), "%s",
		  diag.messages[0]);
	sh_diag_clear(&diag);
}

Test(device, sensors_report_readings)
{
	start_online("devices:\n"
		     "  climate: { driver: virtual, kind: sensor, interval: 50ms,\n"
		     "             readings: [temperature, humidity, motion] }\n");
	hf_run_for(&f, 300);
	const cJSON *state = sh_device_state(hf_device(&f, "climate"));
	cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(state, "temperature")));
	cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(state, "humidity")));
	cr_assert(cJSON_IsBool(cJSON_GetObjectItem(state, "motion")));
	cr_assert_geq(hf_count(&f, SH_EV_DEVICE_STATE, "climate"), 2);
}

static void expect_refused(const char *driver, const char *message)
{
	struct sh_diag diag = {0};
	char *yaml = th_strdupf("plugins: { dir: %s }\n"
				"devices:\n"
				"  ok: { driver: virtual, kind: light }\n"
				"  bad: { driver: %s, kind: light }\n",
				SMARTHUB_TEST_PLUGIN_DIR, driver);
	cr_assert_eq(hf_init(&f, NULL), 0);
	int r = hf_reload(&f, yaml, &diag);
	free(yaml);
	cr_assert_lt(r, 0);
	cr_assert_geq(diag.count, 1);
	bool found = false;
	for (size_t i = 0; i < diag.count; i++) {
		/* file:line:column of the device that asked for it */
		if (strstr(diag.messages[i], message) && strstr(diag.messages[i], ".yaml:4:"))
			found = true;
	}
	cr_assert(found, "no '%s' at the device's position in: %s", message, diag.messages[0]);
	cr_assert_eq(sh_hub_device_count(f.hub), 0, "a bad configuration must change nothing");
	sh_diag_clear(&diag);
}

Test(device, plugin_of_another_abi_version_is_refused)
{
	char expect[64];
	snprintf(expect, sizeof(expect), "built for ABI %u.%u", SH_PLUGIN_ABI_MAJOR,
		 SH_PLUGIN_ABI_MINOR + 98);
	expect_refused("badabi", expect);
}

Test(device, plugin_without_descriptor_is_refused)
{
	expect_refused("nodesc", "exports no 'sh_driver_descriptor' descriptor");
}

Test(device, plugin_of_a_newer_minor_is_refused)
{
	char expect[64];
	snprintf(expect, sizeof(expect), "built for ABI %u.%u", SH_PLUGIN_ABI_MAJOR,
		 SH_PLUGIN_ABI_MINOR + 1);
	expect_refused("future", expect);
}

Test(device, plugin_whose_name_is_not_its_file_is_refused)
{
	expect_refused("misnamed", "calls itself 'lamp'; its file must be named lamp.so");
}

/* What a submitter sees of its command: when done ran, relative to the
 * sh_device_submit call. */
struct completion {
	bool submitting;
	int calls, calls_inside;
	int err;
};

static void on_done(void *ctx, struct sh_device *dev, uint64_t id, int err, const char *reason)
{
	struct completion *c = ctx;
	c->calls++;
	c->calls_inside += c->submitting;
	c->err = err;
}

static bool completed(struct hf *fx, void *arg)
{
	return ((struct completion *)arg)->calls > 0;
}

static void submit_watched(const char *id, const char *json, struct completion *c)
{
	char reason[256];
	c->submitting = true;
	int err = sh_device_submit(hf_device(&f, id), cJSON_Parse(json), on_done, c, NULL, reason,
				   sizeof(reason));
	c->submitting = false;
	cr_assert_eq(err, 0, "%s", reason);
}

/* Submits `json` to `id` and checks the contract: the completion comes
 * once, on a later loop iteration, never inside sh_device_submit, and
 * without an error. */
static void expect_completed_later(const char *id, const char *json, struct completion *c)
{
	submit_watched(id, json, c);
	cr_assert_eq(c->calls, 0);
	cr_assert(hf_run_until(&f, completed, c, GUARD_MS));
	cr_assert_eq(c->calls, 1);
	cr_assert_eq(c->calls_inside, 0);
	cr_assert_eq(c->err, 0);
}

/* A lamp, then by a reload `old`, a light of the abi20 test plugin (built
 * for ABI 2.0; its connected() and command_done() come from inside the
 * call). Not waited for. */
static void start_with_old_plugin(void)
{
	cr_assert_eq(hf_start(&f, "devices:\n  lamp: { driver: virtual, kind: light }\n"), 0);
	/* The virtual plugin stays loaded; abi20 comes from the test folder. */
	sh_hub_set_plugin_dir(f.hub, SMARTHUB_TEST_PLUGIN_DIR);
	cr_assert_eq(hf_reload(&f,
			       "devices:\n"
			       "  lamp: { driver: virtual, kind: light }\n"
			       "  old: { driver: abi20, kind: light }\n",
			       NULL),
		     0);
}

Test(device, a_plugin_built_for_2_0_loads_and_its_reports_come_later)
{
	start_with_old_plugin();
	/* connected() came from inside connect(): not yet delivered. */
	cr_assert_not(sh_device_online(hf_device(&f, "old")));
	cr_assert(hf_wait_online(&f, "old", GUARD_MS));

	/* command_done() inside command(): the submitter hears of it later. */
	struct completion c = {0};
	expect_completed_later("old", "{\"state\":\"ON\"}", &c);
	/* In order: the state the command reported before its completion. */
	long state = hf_find(&f, SH_EV_DEVICE_STATE, "old", 0);
	long done = hf_find(&f, SH_EV_COMMAND_DONE, "old", 0);
	cr_assert(state >= 0 && done > state);
	const cJSON *on = cJSON_GetObjectItem(sh_device_state(hf_device(&f, "old")), "state");
	cr_assert_str_eq(cJSON_GetStringValue(on), "ON");
}

static int state_number(const char *id, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(sh_device_state(hf_device(&f, id)), key);
	return cJSON_IsNumber(v) ? v->valueint : -1;
}

struct polls_wait {
	int at_least;
};

static bool polled(struct hf *fx, void *arg)
{
	return state_number("old", "polls") >= ((struct polls_wait *)arg)->at_least;
}

Test(device, polls_wait_for_a_running_command_and_report_events)
{
	start_with_old_plugin();
	cr_assert(hf_wait_online(&f, "old", GUARD_MS));
	struct polls_wait w = {2};
	cr_assert(hf_run_until(&f, polled, &w, GUARD_MS));
	cr_assert_geq(hf_count(&f, SH_EV_DEVICE_EVENT, "old"), 2);

	/* A 150ms command spans several 20ms polls: none may run meanwhile,
	 * and the one missed runs when the command ends. */
	struct completion c = {0};
	submit_watched("old", "{\"brightness\":100}", &c);
	cr_assert(hf_run_until(&f, completed, &c, GUARD_MS));
	int polls_at_done = state_number("old", "polls");
	w.at_least = polls_at_done + 1;
	cr_assert(hf_run_until(&f, polled, &w, GUARD_MS));
	cr_assert_eq(state_number("old", "bad_polls"), 0);
	cr_assert_eq(state_number("old", "brightness"), 100);
}

Test(device, reports_of_a_device_removed_before_delivery_are_dropped)
{
	start_with_old_plugin();
	cr_assert(hf_wait_online(&f, "old", GUARD_MS));
	/* The state and the completion wait in the queue; the reload removes
	 * the device before the loop turns. */
	struct completion c = {0};
	submit_watched("old", "{\"state\":\"ON\"}", &c);
	cr_assert_eq(hf_reload(&f, "devices:\n  lamp: { driver: virtual, kind: light }\n", NULL),
		     0);
	cr_assert_eq(c.calls, 1, "the removal fails the command once");
	cr_assert_neq(c.err, 0);
	size_t states = hf_count(&f, SH_EV_DEVICE_STATE, "old");
	hf_run_for(&f, 100);
	cr_assert_eq(c.calls, 1);
	cr_assert_eq(hf_count(&f, SH_EV_DEVICE_STATE, "old"), states);
}

Test(device, a_refused_command_completes_later_too)
{
	/* The virtual driver completes at once when command_delay is 0, from
	 * inside command(): the same contract. */
	cr_assert_eq(hf_start(&f, "devices:\n  lamp: { driver: virtual, kind: light }\n"), 0);
	cr_assert(hf_wait_online(&f, "lamp", GUARD_MS));
	struct completion c = {0};
	expect_completed_later("lamp", "{\"brightness\":10}", &c);
}

Test(device, missing_plugin_is_refused)
{
	expect_refused("nosuchdriver", "cannot open plugin");
}

Test(device, unknown_driver_option_is_reported_with_its_position)
{
	struct sh_diag diag = {0};
	cr_assert_eq(hf_init(&f, SMARTHUB_PLUGIN_BUILD_DIR), 0);
	int r = hf_reload(&f,
			  "devices:\n"
			  "  a: { driver: virtual, kind: light,\n"
			  "       colour: red, connect_delay: soon }\n",
			  &diag);
	cr_assert_lt(r, 0);
	cr_assert_eq(diag.count, 2, "got %zu errors", diag.count);
	bool unknown = false, duration = false;
	for (size_t i = 0; i < diag.count; i++) {
		unknown |=
			strstr(diag.messages[i], ":3:8: device a: unknown option 'colour'") != NULL;
		duration |= strstr(diag.messages[i], ":3:36:") != NULL;
	}
	cr_assert(unknown && duration, "%s | %s", diag.messages[0], diag.messages[1]);
	sh_diag_clear(&diag);
}

Test(device, reload_keeps_unchanged_devices_connected)
{
	start_online("devices:\n"
		     "  keep: { driver: virtual, kind: light }\n"
		     "  change: { driver: virtual, kind: light }\n"
		     "  drop: { driver: virtual, kind: switch }\n");
	struct sh_device *keep = hf_device(&f, "keep");
	char reason[256];
	int err;
	submit("keep", "{\"brightness\":42}", reason, sizeof(reason), &err);
	struct order_check c = {"keep", 1};
	cr_assert(hf_run_until(&f, commands_done, &c, GUARD_MS));

	size_t mark = f.n_events;
	cr_assert_eq(hf_reload(&f,
			       "devices:\n"
			       "  keep: { driver: virtual, kind: light }\n"
			       "  change: { driver: virtual, kind: light, connect_delay: 10ms }\n"
			       "  added: { driver: virtual, kind: sensor }\n",
			       NULL),
		     0);
	cr_assert(hf_wait_all_online(&f, GUARD_MS));
	cr_assert_eq(hf_device(&f, "keep"), keep, "keep was recreated");
	cr_assert(sh_device_online(keep));
	cr_assert_eq(hf_find(&f, SH_EV_DEVICE_CONNECTING, "keep", mark), -1);
	cr_assert_eq(hf_find_availability(&f, "keep", false, mark), -1);
	cr_assert_eq(cJSON_GetObjectItem(sh_device_state(keep), "brightness")->valueint, 42);
	cr_assert_geq(hf_find(&f, SH_EV_DEVICE_CONNECTING, "change", mark), 0);
	cr_assert_geq(hf_find(&f, SH_EV_DEVICE_REMOVED, "drop", mark), 0);
	cr_assert_null(hf_device(&f, "drop"));
	cr_assert_geq(hf_find(&f, SH_EV_DEVICE_ADDED, "added", mark), 0);
	cr_assert_eq(sh_hub_device_count(f.hub), 3);
}

Test(device, a_bad_reload_changes_nothing)
{
	start_online("devices:\n  a: { driver: virtual, kind: light }\n");
	struct sh_diag diag = {0};
	cr_assert_lt(hf_reload(&f, "devices:\n  a: { driver: virtual, kind: toaster }\n", &diag),
		     0);
	sh_diag_clear(&diag);
	cr_assert(sh_device_online(hf_device(&f, "a")));
	cr_assert_eq(hf_count(&f, SH_EV_DEVICE_REMOVED, NULL), 0);
}

Test(device, kind_validation)
{
	char reason[256];
	cJSON *c = cJSON_Parse("{\"brightness\":256}");
	cr_assert_eq(sh_kind_validate("light", c, reason, sizeof(reason)), -EINVAL);
	cr_assert_str_eq(reason, "brightness must be an integer from 0 to 255");
	cJSON_Delete(c);
	c = cJSON_Parse("{\"color\":{\"r\":1,\"g\":2,\"b\":3},\"transition\":1.5}");
	cr_assert_eq(sh_kind_validate("light", c, reason, sizeof(reason)), 0);
	cJSON_Delete(c);
	c = cJSON_Parse("{\"volume\":\"loud\"}");
	cr_assert_eq(sh_kind_validate("speaker", c, reason, sizeof(reason)), -EINVAL);
	cJSON_Delete(c);
	c = cJSON_Parse("{\"state\":\"ON\"}");
	cr_assert_eq(sh_kind_validate("sensor", c, reason, sizeof(reason)), -EINVAL);
	cr_assert_str_eq(reason, "a sensor takes no commands");
	cJSON_Delete(c);
	c = cJSON_Parse("[1]");
	cr_assert_eq(sh_kind_validate("switch", c, reason, sizeof(reason)), -EINVAL);
	cJSON_Delete(c);
}
