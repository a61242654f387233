/* SPDX-License-Identifier: MIT */
/*
 * Expensive requests are rate-limited (mqtt.requests_per_minute, each kind
 * on its own): a client repeating bridge/request/devices or reload gets
 * error responses beyond the limit instead of work, and other kinds of
 * request are still answered. The answers to refused requests (rate
 * limited, not JSON, an unknown kind) are limited too, all together.
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

/* `n` payloads that are not JSON, one a line. Caller frees. */
static char *garbage_lines(int n)
{
	size_t cap = (size_t)n * 24 + 1, len = 0;
	char *lines = malloc(cap);
	cr_assert_not_null(lines);
	lines[0] = '\0';
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(lines + len, cap - len, "not json %d\n", i);
	return lines;
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
	char *lines = garbage_lines(FLOOD);
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
	char *report = NULL;
	int probes = 0;
	while (!report && probes < 60) {
		const char *probe = "probe";
		cr_assert_eq(th_mqtt_publish(th_fx.mqtt, "smarthub/bridge/request/health_check",
					     probe, strlen(probe), false),
			     0);
		probes++;
		report = th_mqtt_wait(th_fx.mqtt, health, "more refused without an answer", 500);
	}
	cr_assert_not_null(report, "no answer counted the unanswered; log:\n%s",
			   th_daemon_log(&th_fx.daemon));
	const char *count = strstr(report, "; ");
	unsigned unanswered = 0;
	cr_assert(count && sscanf(count, "; %u more refused", &unanswered) == 1, "%s", report);
	size_t answered = th_mqtt_count(th_fx.mqtt, health) + th_mqtt_count(th_fx.mqtt, unknown);
	cr_expect_gt(unanswered, 0, "%s", report);
	cr_expect_lt(answered, FLOOD / 2, "%zu answers to %d refused requests", answered,
		     2 * FLOOD + probes);
	cr_expect_leq(answered + unanswered, 2 * FLOOD + probes, "%zu answered, %u counted",
		      answered, unanswered);
	free(report);
}
