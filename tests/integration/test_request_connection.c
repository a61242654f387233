/* SPDX-License-Identifier: MIT */
/*
 * The request link (mqtt.request_connection, daemon/mqtt/link.h): the hub
 * reads bridge/request/# on a second connection, so a flood of requests
 * cannot delay or drop commands (test_flood.c floods it). What a user
 * relies on around it:
 *  - "online" means requests are answered: a request sent the moment the
 *    bridge says online gets its response;
 *  - turned off, requests are answered on the one connection;
 *  - a broker that refuses the second connection still gets the hub
 *    online and commanded, with a warning that names the option.
 */
#include "../fakes/fake_mqtt311.c"
#include "fixture.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static struct fake_mqtt311 *front;

static void teardown(void)
{
	th_fixture_teardown();
	fake_mqtt311_stop(front);
	front = NULL;
}

TestSuite(request_connection, .fini = teardown, .timeout = 120);

static const char lamp[] = "devices:\n  lamp: {driver: virtual, kind: light}\n";

static void expect_devices_answer(const char *transaction)
{
	cJSON *r = th_fixture_request("devices", "", transaction);
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(r, "status");

	cr_assert(cJSON_IsString(status) && strcmp(status->valuestring, "ok") == 0);
	cJSON_Delete(r);
}

Test(request_connection, a_request_sent_when_the_bridge_says_online_is_answered)
{
	th_fixture_start_broker(NULL);
	th_fixture_start_daemon(NULL, lamp, NULL, NULL);
	/* No waiting for devices or anything else: "online" is the promise. */
	free(th_fixture_expect_json("smarthub/bridge/state", "{\"state\":\"online\"}"));
	expect_devices_answer("right-away");
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "mqtt requests: connected", 0));
}

Test(request_connection, turned_off_the_requests_share_the_one_connection)
{
	th_fixture_start_broker(NULL);
	th_fixture_start_daemon("request_connection: false", lamp, NULL, NULL);
	free(th_fixture_expect_json("smarthub/bridge/state", "{\"state\":\"online\"}"));
	expect_devices_answer("one-connection");
	char *log = th_daemon_log(&th_fx.daemon);
	cr_assert_null(strstr(log, "mqtt requests:"), "%s", log);
	free(log);
	th_fixture_set("lamp", "{\"brightness\":12}");
	th_fixture_expect_state("lamp", "{\"brightness\":12}");
}

Test(request_connection, a_broker_that_refuses_the_second_connection_still_gets_the_hub)
{
	/* A 3.1.1 front that rejects the request link's client id, as a
	 * broker with client id rules would. */
	th_fixture_start_broker(NULL);
	front = fake_mqtt311_start(th_fx.broker.port);
	cr_assert(front);
	fake_mqtt311_refuse_client_suffix(front, "-requests");
	th_fx.url = th_strdupf("tcp://127.0.0.1:%d", fake_mqtt311_port(front));
	th_fixture_start_daemon(NULL, lamp, NULL, NULL);
	free(th_fixture_expect_json("smarthub/bridge/state", "{\"state\":\"online\"}"));
	cr_assert_geq(fake_mqtt311_refused_ids(front), 1);
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "mqtt.request_connection: false", 0),
		  "no warning; log:\n%s", th_daemon_log(&th_fx.daemon));
	th_fixture_expect_online("lamp");
	th_fixture_set("lamp", "{\"brightness\":34}");
	th_fixture_expect_state("lamp", "{\"brightness\":34}");
}
