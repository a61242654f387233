/* SPDX-License-Identifier: MIT */
/*
 * Every kind of request is rate-limited on its own: the expensive ones
 * (reload, devices, scenes) by mqtt.requests_per_minute, the others
 * (health_check, device/get, scene/run, ...) by mqtt.requests_per_second.
 * A client repeating one gets error responses beyond the limit instead of
 * work, and other kinds of request are still answered. The answers to
 * refused requests (rate limited, not JSON, an unknown kind) are limited
 * too, all together.
 */
#include "fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(request_limits, .fini = th_fixture_teardown);

static void request(const char *what, const char *transaction)
{
	char *topic = th_strdupf("smarthub/bridge/request/%s", what);
	char *payload = th_strdupf("{\"transaction\":\"%s\"}", transaction);
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, topic, payload, strlen(payload), false), 0);
	free(payload);
	free(topic);
}

static char *response(const char *what, const char *transaction)
{
	char *topic = th_strdupf("smarthub/bridge/response/%s", what);
	char *want = th_strdupf("{\"transaction\":\"%s\"}", transaction);
	char *m = th_mqtt_wait_json(th_fx.mqtt, topic, want, TH_WAIT_MS);
	cr_assert_not_null(m, "no response to %s %s; log:\n%s", what, transaction,
			   th_daemon_log(&th_fx.daemon));
	free(want);
	free(topic);
	return m;
}

Test(request_limits, repeated_device_lists_and_reloads_are_refused_beyond_the_limit)
{
	th_fixture_start_broker(NULL);
	th_fixture_start_daemon("requests_per_minute: 3",
				"devices:\n  lamp: {driver: virtual, kind: light}\n", NULL, NULL);
	th_fixture_expect_online("lamp");

	/* Within one minute (the test takes seconds): 3 answered, then refused. */
	const char *const kinds[] = {"devices", "reload"};
	for (size_t k = 0; k < 2; k++) {
		char tr[32];
		for (int i = 1; i <= 5; i++) {
			snprintf(tr, sizeof(tr), "%s-%d", kinds[k], i);
			request(kinds[k], tr);
		}
		for (int i = 1; i <= 5; i++) {
			snprintf(tr, sizeof(tr), "%s-%d", kinds[k], i);
			char *m = response(kinds[k], tr);
			if (i <= 3)
				cr_expect(strstr(m, "\"status\":\"ok\""), "%s: %s", tr, m);
			else
				cr_expect(strstr(m, "\"status\":\"error\"") &&
						  strstr(m, "rate limited"),
					  "%s: %s", tr, m);
			free(m);
		}
	}
	/* A cheap request is still answered. */
	request("health_check", "h1");
	char *m = response("health_check", "h1");
	cr_expect(strstr(m, "\"status\":\"ok\""), "%s", m);
	free(m);
}

Test(request_limits, home_assistant_births_beyond_the_limit_are_ignored)
{
	const char *config = "homeassistant/light/smarthub_lamp/light/config";

	th_fixture_start_broker(NULL);
	th_fixture_start_daemon("requests_per_minute: 2",
				"homeassistant: {discovery: true}\n"
				"devices:\n  lamp: {driver: virtual, kind: light}\n",
				NULL, NULL);
	th_fixture_expect_online("lamp");
	char *first = th_mqtt_wait(th_fx.mqtt, config, "unique_id", TH_WAIT_MS);
	cr_assert_not_null(first, "no discovery; log:\n%s", th_daemon_log(&th_fx.daemon));
	free(first);
	th_mqtt_clear(th_fx.mqtt);

	/* Each birth within the limit republishes all discovery. */
	for (int i = 0; i < 6; i++)
		cr_assert_eq(
			th_mqtt_publish(th_fx.mqtt, "homeassistant/status", "online", 6, false), 0);
	/* Behind the births on the same connection: a command and its state.
	 * The republications themselves cannot be counted (a retained topic
	 * queued twice goes out once), so the log says what the hub did. */
	const char *on = "{\"state\":\"ON\"}";
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, "smarthub/lamp/set", on, strlen(on), false), 0);
	th_fixture_expect_state("lamp", on);
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "Home Assistant birth ignored", TH_WAIT_MS));
	char *log = th_daemon_log(&th_fx.daemon);
	size_t published = 0, ignored = 0;
	for (const char *p = log; (p = strstr(p, "Home Assistant is online; publishing discovery"));
	     p++)
		published++;
	for (const char *p = log; (p = strstr(p, "Home Assistant birth ignored")); p++)
		ignored++;
	cr_expect_eq(published, 2, "%s", log);
	cr_expect_eq(ignored, 4, "%s", log);
	free(log);
	cr_expect_geq(th_mqtt_count(th_fx.mqtt, config), 1, "no discovery after the births");
}

/* `n` lines, each `before`, its index, `after`. Caller frees. */
static char *request_lines(int n, const char *before, const char *after)
{
	size_t cap = (size_t)n * (strlen(before) + strlen(after) + 16) + 1, len = 0;
	char *lines = malloc(cap);
	cr_assert_not_null(lines);
	lines[0] = '\0';
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(lines + len, cap - len, "%s%d%s\n", before, i, after);
	return lines;
}

/* Publishes non-JSON requests (refused whatever the limits) until an
 * answer counts the refused requests that got none; returns that count
 * and adds the probes sent to *probes. */
static unsigned unanswered_count(const char *what, int *probes)
{
	char *topic = th_strdupf("smarthub/bridge/request/%s", what);
	char *rtopic = th_strdupf("smarthub/bridge/response/%s", what);
	char *report = NULL;

	while (!report && *probes < 60) {
		const char *probe = "probe";
		cr_assert_eq(th_mqtt_publish(th_fx.mqtt, topic, probe, strlen(probe), false), 0);
		++*probes;
		report = th_mqtt_wait(th_fx.mqtt, rtopic, "more refused without an answer", 500);
	}
	cr_assert_not_null(report, "no answer counted the unanswered; log:\n%s",
			   th_daemon_log(&th_fx.daemon));
	const char *count = strstr(report, "; ");
	unsigned unanswered = 0;
	cr_assert(count && sscanf(count, "; %u more refused", &unanswered) == 1, "%s", report);
	free(report);
	free(rtopic);
	free(topic);
	return unanswered;
}

Test(request_limits, a_flood_of_garbage_requests_gets_few_answers_and_a_count)
{
	enum { FLOOD = 200 };
	const char *health = "smarthub/bridge/response/health_check";
	const char *unknown = "smarthub/bridge/response/no_such_request";

	th_fixture_start_broker(NULL);
	th_fixture_start_daemon(NULL, "devices:\n  lamp: {driver: virtual, kind: light}\n", NULL,
				NULL);
	th_fixture_expect_online("lamp");
	th_mqtt_clear(th_fx.mqtt);

	/* Not JSON for a kind that is never rate limited, and JSON for a
	 * kind that does not exist: every one of them is refused. */
	char *lines = request_lines(FLOOD, "not json ", "");
	cr_assert_eq(
		th_mqtt_publish_lines(th_fx.mqtt, "smarthub/bridge/request/health_check", lines),
		0);
	free(lines);
	char *objects = malloc(FLOOD * 3 + 1);
	cr_assert_not_null(objects);
	for (int i = 0; i < FLOOD; i++)
		memcpy(objects + i * 3, "{}\n", 3);
	objects[FLOOD * 3] = '\0';
	cr_assert_eq(th_mqtt_publish_lines(th_fx.mqtt, "smarthub/bridge/request/no_such_request",
					   objects),
		     0);
	free(objects);

	/* The hub still takes commands. */
	const char *on = "{\"state\":\"ON\"}";
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, "smarthub/lamp/set", on, strlen(on), false), 0);
	th_fixture_expect_state("lamp", on);

	/* A later refusal is answered, and counts those that were not. */
	int probes = 0;
	unsigned unanswered = unanswered_count("health_check", &probes);
	size_t answered = th_mqtt_count(th_fx.mqtt, health) + th_mqtt_count(th_fx.mqtt, unknown);
	cr_expect_gt(unanswered, 0);
	cr_expect_lt(answered, FLOOD / 2, "%zu answers to %d refused requests", answered,
		     2 * FLOOD + probes);
	cr_expect_leq(answered + unanswered, (size_t)(2 * FLOOD + probes),
		      "%zu answered, %u counted", answered, unanswered);
}

Test(request_limits, a_flood_of_health_checks_gets_few_answers_and_commands_still_apply)
{
	enum { FLOOD = 500 };
	const char *health = "smarthub/bridge/response/health_check";

	th_fixture_start_broker(NULL);
	th_fixture_start_daemon(NULL, "devices:\n  lamp: {driver: virtual, kind: light}\n", NULL,
				NULL);
	th_fixture_expect_online("lamp");
	th_mqtt_clear(th_fx.mqtt);

	/* Valid requests, in two bursts with a /set between them. */
	char *lines = request_lines(FLOOD / 2, "{\"transaction\":\"f", "\"}");
	cr_assert_eq(
		th_mqtt_publish_lines(th_fx.mqtt, "smarthub/bridge/request/health_check", lines),
		0);
	const char *on = "{\"state\":\"ON\",\"brightness\":77}";
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, "smarthub/lamp/set", on, strlen(on), false), 0);
	cr_assert_eq(
		th_mqtt_publish_lines(th_fx.mqtt, "smarthub/bridge/request/health_check", lines),
		0);
	free(lines);
	/* Another kind right behind the flood is answered: its limit is its own. */
	for (int i = 0; i < 3; i++) {
		char tr[16];
		snprintf(tr, sizeof(tr), "get-%d", i);
		cJSON *r = th_fixture_request("device/get", "\"id\":\"lamp\"", tr);
		cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(r, "status")), "ok");
		cJSON_Delete(r);
	}
	th_fixture_expect_state("lamp", on);

	/* The first requests were answered, the excess refused. */
	char *m = th_mqtt_wait_json(th_fx.mqtt, health, "{\"status\":\"ok\"}", TH_WAIT_MS);
	cr_assert_not_null(m, "no health_check answered; log:\n%s", th_daemon_log(&th_fx.daemon));
	free(m);
	m = th_mqtt_wait(th_fx.mqtt, health,
			 "rate limited: at most 20 health_check requests a second "
			 "(mqtt.requests_per_second)",
			 TH_WAIT_MS);
	cr_assert_not_null(m, "no health_check was refused; log:\n%s",
			   th_daemon_log(&th_fx.daemon));
	free(m);

	int probes = 0;
	unsigned unanswered = unanswered_count("health_check", &probes);
	size_t answered = th_mqtt_count(th_fx.mqtt, health);
	cr_expect_gt(unanswered, 0);
	cr_expect_lt(answered, FLOOD / 2, "%zu answers to %d requests", answered, FLOOD + probes);
	cr_expect_leq(answered + unanswered, (size_t)FLOOD + (size_t)probes,
		      "%zu answered, %u counted", answered, unanswered);
	cr_assert_eq(th_daemon_signal(&th_fx.daemon, 0), 0, "the daemon died in the flood");
}

Test(request_limits, each_cheap_kind_is_limited_on_its_own)
{
	enum { FLOOD = 200 };

	th_fixture_start_broker(NULL);
	th_fixture_start_daemon(NULL, "devices:\n  lamp: {driver: virtual, kind: light}\n", NULL,
				NULL);
	th_fixture_expect_online("lamp");
	th_mqtt_clear(th_fx.mqtt);

	char *lines = request_lines(FLOOD, "{\"id\":\"lamp\",\"transaction\":\"d", "\"}");
	cr_assert_eq(th_mqtt_publish_lines(th_fx.mqtt, "smarthub/bridge/request/device/get", lines),
		     0);
	free(lines);
	/* Behind the flood: a health_check is answered in full. */
	cJSON *r = th_fixture_request("health_check", "", "h-after-flood");
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(r, "status")), "ok");
	cJSON_Delete(r);

	/* device/get: its first requests answered with the device, the excess
	 * refused. Nothing else was refused, so the first refusals are
	 * answered. (Which requests come first is the request inbox's to say:
	 * a burst overflows it, and it drops the oldest.) */
	char *m = th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/response/device/get",
			       "\"status\":\"ok\",\"data\":{\"id\":\"lamp\"", TH_WAIT_MS);
	cr_assert_not_null(m, "no device/get answered; log:\n%s", th_daemon_log(&th_fx.daemon));
	free(m);
	m = th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/response/device/get",
			 "rate limited: at most 20 device/get requests a second", TH_WAIT_MS);
	cr_assert_not_null(m, "no device/get was refused; log:\n%s", th_daemon_log(&th_fx.daemon));
	free(m);
	size_t answered = th_mqtt_count(th_fx.mqtt, "smarthub/bridge/response/device/get");
	cr_expect_lt(answered, FLOOD / 2, "%zu answers to %d requests", answered, FLOOD);
}

/* The requests a scene/run got: *ok answered by the run's end, *limited
 * refused at once; every transaction s0..s<n-1> gets exactly one of them. */
static void scene_run_answers(int n, int *ok, int *limited)
{
	*ok = *limited = 0;
	for (int i = 0; i < n; i++) {
		char tr[16];
		snprintf(tr, sizeof(tr), "s%d", i);
		char *m = response("scene/run", tr);
		if (strstr(m, "\"status\":\"ok\""))
			++*ok;
		else if (strstr(m, "rate limited: at most 2 scene/run requests a second"))
			++*limited;
		else
			cr_assert_fail("%s: %s", tr, m);
		free(m);
	}
}

Test(request_limits, a_refused_scene_run_is_not_started)
{
	enum { RUNS = 8 };

	th_fixture_start_broker(NULL);
	th_fixture_start_daemon("requests_per_second: 2",
				"devices:\n  lamp: {driver: virtual, kind: light}\n"
				"scenes:\n"
				"  bump:\n"
				"    mode: parallel\n"
				"    steps:\n"
				"      - { device: lamp, set: { state: \"ON\" } }\n",
				NULL, NULL);
	th_fixture_expect_online("lamp");
	free(th_fixture_expect_json("smarthub/scene/bump", "{\"finished\":0}"));

	char *lines = request_lines(RUNS, "{\"scene\":\"bump\",\"transaction\":\"s", "\"}");
	cr_assert_eq(th_mqtt_publish_lines(th_fx.mqtt, "smarthub/bridge/request/scene/run", lines),
		     0);
	free(lines);
	/* At most 6 refusals: all of them answered (10 a second). */
	int ok, limited;
	scene_run_answers(RUNS, &ok, &limited);
	cr_expect_gt(limited, 0, "no scene/run was refused");
	cr_expect_eq(ok + limited, RUNS);
	/* The scene ran once per ok answer, not once per request. */
	char *want = th_strdupf("{\"finished\":%d,\"active\":0}", ok);
	free(th_fixture_expect_json("smarthub/scene/bump", want));
	free(want);
	cJSON *r = th_fixture_request("health_check", "", "barrier");
	cJSON_Delete(r);
	char *last = th_mqtt_last(th_fx.mqtt, "smarthub/scene/bump");
	cJSON *status = cJSON_Parse(last);
	cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(status, "finished")), ok, "%s", last);
	cJSON_Delete(status);
	free(last);
}

/* Floods `what` with `n` requests, each `before` its index `after`: the
 * excess is refused with `refusal`, and far fewer than `n` are answered.
 * Nothing else was refused, so the first refusals are answered. */
static void expect_limited(const char *what, int n, const char *before, const char *after,
			   const char *refusal)
{
	char *topic = th_strdupf("smarthub/bridge/request/%s", what);
	char *rtopic = th_strdupf("smarthub/bridge/response/%s", what);
	char *lines = request_lines(n, before, after);
	cr_assert_eq(th_mqtt_publish_lines(th_fx.mqtt, topic, lines), 0);
	free(lines);
	char *m = th_mqtt_wait(th_fx.mqtt, rtopic, refusal, TH_WAIT_MS);
	cr_assert_not_null(m, "no %s request was refused; log:\n%s", what,
			   th_daemon_log(&th_fx.daemon));
	free(m);
	size_t answered = th_mqtt_count(th_fx.mqtt, rtopic);
	cr_expect_lt(answered, (size_t)n / 2, "%zu answers to %d %s requests", answered, n, what);
	free(rtopic);
	free(topic);
}

Test(request_limits, automation_traces_are_limited_too)
{
	th_fixture_start_broker(NULL);
	th_fixture_start_daemon(NULL,
				"devices:\n  lamp: {driver: virtual, kind: light}\n"
				"automations:\n"
				"  hourly:\n"
				"    triggers: [{every: 1h}]\n"
				"    steps: [{device: lamp, set: {state: \"ON\"}}]\n",
				NULL, NULL);
	th_fixture_expect("smarthub/automation/hourly", "{\"state\":\"idle\"}");
	th_mqtt_clear(th_fx.mqtt);

	expect_limited("automation/trace", 200, "{\"automation\":\"hourly\",\"transaction\":\"t",
		       "\"}", "rate limited: at most 20 automation/trace requests a second");
	char *m = th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/response/automation/trace",
			       "\"status\":\"ok\",\"data\":{\"automation\":\"hourly\"", TH_WAIT_MS);
	cr_assert_not_null(m, "no trace answered; log:\n%s", th_daemon_log(&th_fx.daemon));
	free(m);
}

static void start_with_lamp(void)
{
	th_fixture_start_broker(NULL);
	th_fixture_start_daemon(NULL, "devices:\n  lamp: {driver: virtual, kind: light}\n", NULL,
				NULL);
	th_fixture_expect_online("lamp");
	th_mqtt_clear(th_fx.mqtt);
}

Test(request_limits, scene_cancels_are_limited_too)
{
	start_with_lamp();
	expect_limited("scene/cancel", 200, "{\"scene\":\"nope\",\"transaction\":\"c", "\"}",
		       "rate limited: at most 20 scene/cancel requests a second");
}

Test(request_limits, scene_lists_are_limited_too)
{
	start_with_lamp();
	expect_limited(
		"scenes", 100, "{\"transaction\":\"l", "\"}",
		"rate limited: at most 12 scenes requests a minute (mqtt.requests_per_minute)");
}
