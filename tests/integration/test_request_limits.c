/* SPDX-License-Identifier: MIT */
/*
 * Expensive requests are rate-limited (mqtt.requests_per_minute, each kind
 * on its own): a client repeating bridge/request/devices or reload gets
 * error responses beyond the limit instead of work, and other kinds of
 * request are still answered.
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
