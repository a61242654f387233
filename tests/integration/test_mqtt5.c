/* SPDX-License-Identifier: MIT */
/*
 * The bridge on MQTT 5 (issue 16, item 3), through the real smarthubd and a
 * private mosquitto 2.0: the Maximum Packet Size the hub declares makes
 * the broker drop packets over mqtt.max_payload (plus headroom for the
 * topic and properties) before they reach the hub, which still answers;
 * a broker that refuses MQTT 5 (a 3.1.1-only front, tests/fakes) gets
 * 3.1.1, with a warning, and everything works on it; and requests are
 * answered on their Response Topic with their Correlation Data, so that
 * the real mosquitto_rr works, while a 3.1.1 client still gets its
 * `transaction` on bridge/response/<what>.
 *
 * What the dropped packets cost the hub's memory is a figure, measured by
 * scripts/bench-oversized, not here.
 */
#include "../fakes/fake_mqtt311.c"
#include "fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MS TH_WAIT_MS

/* The payloads of issue 16: five of 8 MiB. */
#define HUGE_BYTES (8u << 20)
#define HUGE_COUNT 5

static struct fake_mqtt311 *front;

static void teardown(void)
{
	th_fixture_teardown();
	fake_mqtt311_stop(front);
	front = NULL;
}

TestSuite(mqtt5, .fini = teardown);

static const char lamp_yaml[] = "devices:\n  lamp: {driver: virtual, kind: light}\n"
				"scenes:\n  evening:\n    steps:\n"
				"      - {device: lamp, set: {state: \"ON\"}}\n";

static void publish(const char *topic, const char *payload, size_t len)
{
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, topic, payload, len, false), 0, "publish %s",
		     topic);
}

/* A /set the lamp must answer: its state shows the brightness. */
static void lamp_answers(int brightness)
{
	char *cmd = th_strdupf("{\"state\":\"ON\",\"brightness\":%d}", brightness);
	char *want = th_strdupf("{\"brightness\":%d}", brightness);

	publish("smarthub/lamp/set", cmd, strlen(cmd));
	free(th_fixture_expect_json("smarthub/lamp", want));
	free(want);
	free(cmd);
}

/* `len` bytes of a JSON object {"x":"aaa..."}; caller frees. */
static char *json_of(size_t len)
{
	char *p = malloc(len + 1);

	cr_assert(p);
	memset(p, 'a', len);
	memcpy(p, "{\"x\":\"", 6);
	memcpy(p + len - 2, "\"}", 2);
	p[len] = '\0';
	return p;
}

Test(mqtt5, the_broker_drops_packets_over_the_maximum_the_hub_declared)
{
	th_fixture_start(lamp_yaml);
	th_fixture_expect_online("lamp");
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "with MQTT 5", WAIT_MS));

	char *huge = json_of(HUGE_BYTES);
	for (int i = 0; i < HUGE_COUNT; i++)
		publish("smarthub/lamp/set", huge, HUGE_BYTES);
	free(huge);
	/* Over max_payload (64 KiB) but within the headroom: it still reaches
	 * the hub, which refuses it with an event. The broker delivers the
	 * hub's messages in order, so once this event is out, the huge ones
	 * before it were dealt with. */
	size_t over = 65536 + 100;
	char *big = json_of(over);
	publish("smarthub/lamp/set", big, over);
	free(big);
	char *ev = th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/event", "exceeds the limit", WAIT_MS);
	cr_assert(ev, "no event for a payload over max_payload");
	cr_assert(strstr(ev, "65636 bytes"), "%s", ev);
	free(ev);

	/* The huge ones never reached the hub: none has an event (the
	 * hub would have said "payload of 8388608 bytes exceeds ..."). */
	char *seen = th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/event", "8388608", 0);
	cr_assert_null(seen, "the hub received a packet over its maximum: %s", seen);
	lamp_answers(42);
}

/* The hub on a broker that refuses MQTT 5 (with an MQTT 5 reason code when
 * v5_reason, else as a 3.1.1 broker does), through the
 * 3.1.1-only front: falls back, says why, and everything works. */
static void falls_back(bool v5_reason, const char *why)
{
	th_fixture_start_broker(NULL);
	front = fake_mqtt311_start(th_fx.broker.port);
	cr_assert(front);
	if (v5_reason)
		fake_mqtt311_refuse_as_mqtt5(front);
	th_fx.url = th_strdupf("tcp://127.0.0.1:%d", fake_mqtt311_port(front));
	th_fixture_start_daemon(NULL, lamp_yaml, NULL, NULL);

	th_fixture_expect_online("lamp");
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "with MQTT 3.1.1", WAIT_MS));
	char *log = th_daemon_log(&th_fx.daemon);
	char *want = th_strdupf("refused MQTT 5 (refused by the broker: %s); falling back to "
				"MQTT 3.1.1",
				why);
	cr_assert(strstr(log, want), "%s", log);
	free(want);
	free(log);
	/* Once per connection: the main one and the request one
	 * (mqtt.request_connection), each falling back by itself. */
	cr_assert_eq(fake_mqtt311_refused(front), 2);
	cr_assert_geq(fake_mqtt311_relayed(front), 2);

	/* Everything works on 3.1.1: retained states, commands, requests
	 * with a transaction. */
	free(th_fixture_expect_json("smarthub/bridge/state", "{\"state\":\"online\"}"));
	cr_assert(th_mqtt_last_retained(th_fx.mqtt, "smarthub/bridge/state"));
	lamp_answers(17);
	cr_assert(th_mqtt_last_retained(th_fx.mqtt, "smarthub/lamp"));
	publish("smarthub/bridge/request/health_check", "{\"transaction\":\"t311\"}", 23);
	free(th_fixture_expect_json("smarthub/bridge/response/health_check",
				    "{\"status\":\"ok\",\"transaction\":\"t311\"}"));
}

Test(mqtt5, a_broker_that_refuses_mqtt5_gets_3_1_1_with_a_warning)
{
	/* What a 3.1.1 broker answers to a protocol level it does not know. */
	falls_back(false, "unacceptable protocol version");
}

Test(mqtt5, a_broker_that_refuses_mqtt5_in_mqtt5_terms_gets_3_1_1_too)
{
	falls_back(true, "unsupported protocol version");
}

/* Runs a mosquitto client (mosquitto_rr, mosquitto_pub) against the
 * fixture's broker with `args` (NULL-terminated); its output, which must
 * come with exit status 0. Caller frees. */
static char *run_client(const char *program, const char *const *args)
{
	const char *argv[32] = {program, "-h", "127.0.0.1", "-p"};
	char port[16];
	size_t n = 4;
	char *out = NULL;
	int status = -1;

	snprintf(port, sizeof(port), "%d", th_fx.broker.port);
	argv[n++] = port;
	for (; *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	cr_assert_eq(th_run(argv, NULL, &out, &status), 0);
	cr_assert_eq(status, 0, "%s exited with %d: %s", program, status, out);
	return out;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

Test(mqtt5, mosquitto_rr_gets_the_answer_on_its_response_topic)
{
	th_fixture_start(lamp_yaml);
	th_fixture_expect_online("lamp");

	/* The device list, answered with the request's Correlation Data. */
	char *out = run_client("mosquitto_rr",
			       (const char *const[]){"-V", "5", "-W", "15", "-t",
						     "smarthub/bridge/request/devices", "-e",
						     "smarthub/bridge/response/devices/rr-1", "-m",
						     "", "-D", "publish", "correlation-data",
						     "corr-42", "-F", "%D %p", NULL});
	cr_assert(starts_with(out, "corr-42 {\"status\":\"ok\""), "%s", out);
	cr_assert(strstr(out, "\"id\":\"lamp\""), "%s", out);
	free(out);

	/* A scene run answers when the scene ends: the address is kept. */
	out = run_client("mosquitto_rr",
			 (const char *const[]){
				 "-V", "5", "-W", "15", "-t", "smarthub/bridge/request/scene/run",
				 "-e", "smarthub/bridge/response/scene/rr-2", "-m",
				 "{\"scene\":\"evening\",\"transaction\":\"t-2\"}", "-D", "publish",
				 "correlation-data", "c2", "-F", "%D %p", NULL});
	cr_assert(starts_with(out, "c2 {\"status\":\"ok\""), "%s", out);
	cr_assert(strstr(out, "\"transaction\":\"t-2\""), "%s", out);
	free(out);

	/* Not on the shared topic as well: only the requester gets it. */
	cr_assert_eq(th_mqtt_count(th_fx.mqtt, "smarthub/bridge/response/devices"), 0);
	cr_assert_eq(th_mqtt_count(th_fx.mqtt, "smarthub/bridge/response/scene/run"), 0);
}

Test(mqtt5, a_3_1_1_client_still_matches_its_response_by_transaction)
{
	th_fixture_start(lamp_yaml);
	th_fixture_expect_online("lamp");
	free(run_client("mosquitto_pub",
			(const char *const[]){"-V", "mqttv311", "-t",
					      "smarthub/bridge/request/health_check", "-m",
					      "{\"transaction\":\"old-1\"}", NULL}));
	free(th_fixture_expect_json("smarthub/bridge/response/health_check",
				    "{\"status\":\"ok\",\"transaction\":\"old-1\"}"));
}

Test(mqtt5, a_response_topic_elsewhere_is_refused_with_an_event)
{
	th_fixture_start(lamp_yaml);
	th_fixture_expect_online("lamp");
	struct th_mqtt *watch = th_fixture_client("watch-elsewhere");
	cr_assert_eq(th_mqtt_subscribe(watch, "elsewhere/#"), 0);

	/* A device's command topic of another system, which the requester
	 * might not be allowed to publish to itself. */
	free(run_client("mosquitto_pub",
			(const char *const[]){"-V", "5", "-t",
					      "smarthub/bridge/request/health_check", "-D",
					      "publish", "response-topic", "elsewhere/plug/set",
					      "-m", "{\"transaction\":\"t-3\"}", NULL}));
	free(th_fixture_expect_json("smarthub/bridge/response/health_check",
				    "{\"status\":\"ok\",\"transaction\":\"t-3\"}"));
	char *ev = th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/event", "response topic", WAIT_MS);
	cr_assert(ev && strstr(ev, "elsewhere/plug/set") && strstr(ev, "refused"), "%s", ev);
	free(ev);
	cr_assert_eq(th_mqtt_count(watch, "elsewhere/plug/set"), 0);

	/* A wildcard, which the broker would take as a protocol error from
	 * the hub: refused the same way, and the hub stays connected. */
	th_mqtt_clear(th_fx.mqtt);
	free(run_client(
		"mosquitto_pub",
		(const char *const[]){"-V", "5", "-t", "smarthub/bridge/request/health_check", "-D",
				      "publish", "response-topic", "smarthub/bridge/response/#",
				      "-m", "{\"transaction\":\"t-4\"}", NULL}));
	free(th_fixture_expect_json("smarthub/bridge/response/health_check",
				    "{\"transaction\":\"t-4\"}"));
	ev = th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/event", "response/#", WAIT_MS);
	cr_assert(ev && strstr(ev, "refused"), "%s", ev);
	free(ev);
	lamp_answers(99);
	char *log = th_daemon_log(&th_fx.daemon);
	cr_assert_null(strstr(log, "connection lost"), "%s", log);
	free(log);
	th_mqtt_close(watch);
}
