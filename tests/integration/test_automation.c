/* SPDX-License-Identifier: MIT */
/*
 * Automations through the real smarthubd, a private mosquitto and a real
 * sensor driver (sysfs, reading a file the test writes) driving a virtual
 * fan: a crossing fires after its for:, a value that stays above does
 * not fire again and the trace says why, a drop re-arms, a disabled
 * automation does not run, conditions are checked, mqtt triggers fire on
 * the hub's connection, a reload keeps a running for: of an unchanged
 * automation, and a restart resumes a pending for: of a minute.
 */
#include "fixture.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WAIT_MS TH_WAIT_MS

static char *temp; /* the sensor file, in the fixture's directory */

static void teardown(void)
{
	th_fixture_teardown();
	free(temp);
	temp = NULL;
}

TestSuite(automation, .fini = teardown);

static char *config(const char *automations)
{
	char *body = th_strdupf("devices:\n"
				"  temp: {driver: sysfs, kind: sensor, path: %s, type: raw, key: "
				"temperature, interval: 100ms}\n"
				"  fan: {driver: virtual, kind: switch}\n"
				"automations:\n%s",
				temp, automations);
	char *yaml = th_fixture_config(NULL, body);
	free(body);
	return yaml;
}

static void start(const char *automations, const char *initial)
{
	temp = th_fixture_path("temp");
	cr_assert_eq(th_write_file(temp, initial), 0);
	th_fixture_start_broker(NULL);
	char *yaml = config(automations);
	const char *args[] = {"--state-dir", th_fixture_dir(), NULL};
	th_fixture_start_daemon_yaml(yaml, args, NULL);
	free(yaml);
}

static void publish(const char *topic, const char *payload)
{
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, topic, payload, strlen(payload), false), 0);
}

/* Asks for the trace until it holds `needle` (an evaluation is made on
 * the loop; the request may overtake it). Each request has its own
 * transaction, so no earlier response counts. */
static void expect_trace(const char *automation, const char *needle)
{
	static int transaction;
	char req[256], tag[64];
	char *r = NULL;
	for (int i = 0; i < WAIT_MS / 250; i++) {
		snprintf(req, sizeof(req), "{\"automation\":\"%s\",\"transaction\":%d}", automation,
			 ++transaction);
		snprintf(tag, sizeof(tag), "\"transaction\":%d}", transaction);
		publish("smarthub/bridge/request/automation/trace", req);
		free(r);
		r = th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/response/automation/trace", tag,
				 2000);
		if (r && strstr(r, needle)) {
			free(r);
			return;
		}
		usleep(250 * 1000);
	}
	cr_assert_fail("no '%s' in the trace: %s\nlog:\n%s", needle, r ? r : "(no response)",
		       th_daemon_log(&th_fx.daemon));
}

static void set_temp(const char *value)
{
	cr_assert_eq(th_write_file(temp, value), 0);
	char reading[64];
	snprintf(reading, sizeof(reading), "{\"temperature\":%s}", value);
	th_fixture_expect("smarthub/temp", reading);
}

#define FAN_WHEN_HOT                                                                               \
	"  fan_when_hot:\n"                                                                        \
	"    mode: single\n"                                                                       \
	"    triggers:\n"                                                                          \
	"      - {device: temp, property: temperature, above: 30, for: 1s}\n"                      \
	"    steps:\n"                                                                             \
	"      - {device: fan, set: {state: \"ON\"}}\n"

Test(automation, fires_after_for_not_again_while_above_rearms_below)
{
	start(FAN_WHEN_HOT, "25\n");
	th_fixture_expect("smarthub/automation/fan_when_hot",
			  "{\"enabled\":true,\"state\":\"idle\",\"runs\":0}");
	th_fixture_expect("smarthub/fan", "{\"state\":\"OFF\"}");
	expect_trace("fan_when_hot", "first report after start: 25 is not above 30");

	set_temp("31");
	th_fixture_expect("smarthub/automation/fan_when_hot", "{\"state\":\"waiting\"}");
	th_fixture_expect("smarthub/fan", "{\"state\":\"ON\"}");
	th_fixture_expect(
		"smarthub/automation/fan_when_hot",
		"{\"runs\":1,\"last_result\":\"ok\",\"last_trigger\":{\"index\":0,\"device\":"
		"\"temp\",\"property\":\"temperature\",\"value\":31}}");

	/* Still above: no second run, and the trace says why. */
	publish("smarthub/fan/set", "OFF");
	th_fixture_expect("smarthub/fan", "{\"state\":\"OFF\"}");
	set_temp("32");
	expect_trace("fan_when_hot", "was already above 30");
	/* Below re-arms; the next crossing runs again. */
	set_temp("29");
	expect_trace("fan_when_hot", "re-armed");
	set_temp("31");
	th_fixture_expect("smarthub/automation/fan_when_hot", "{\"runs\":2}");
	th_fixture_expect("smarthub/fan", "{\"state\":\"ON\"}");
}

Test(automation, crossing_shorter_than_for_does_not_fire)
{
	start("  hot:\n"
	      "    triggers: [{device: temp, property: temperature, above: 30, for: 3s}]\n"
	      "    steps: [{device: fan, set: {state: \"ON\"}}]\n",
	      "25\n");
	th_fixture_expect("smarthub/automation/hot", "{\"state\":\"idle\"}");
	set_temp("31");
	th_fixture_expect("smarthub/automation/hot", "{\"state\":\"waiting\"}");
	set_temp("20");
	expect_trace("hot", "for: cancelled");
	th_fixture_expect("smarthub/automation/hot", "{\"state\":\"idle\",\"runs\":0}");
}

Test(automation, disabled_does_not_run_and_conditions_are_traced)
{
	start(FAN_WHEN_HOT "  guarded:\n"
			   "    triggers: [{mqtt: \"test/+/go\", payload: \"yes\"}]\n"
			   "    conditions: [{device: fan, is: \"ON\"}]\n"
			   "    steps: [{device: fan, set: {state: \"OFF\"}}]\n",
	      "25\n");
	th_fixture_expect("smarthub/automation/fan_when_hot", "{\"enabled\":true}");
	th_fixture_expect("smarthub/fan", "{\"state\":\"OFF\"}");

	publish("smarthub/automation/fan_when_hot/set", "disable");
	th_fixture_expect("smarthub/automation/fan_when_hot", "{\"enabled\":false}");
	set_temp("31");
	expect_trace("fan_when_hot", "the automation is disabled");
	th_fixture_expect("smarthub/automation/fan_when_hot", "{\"runs\":0}");

	/* The mqtt trigger: the condition does not hold while the fan is off. */
	th_fixture_expect("smarthub/automation/guarded", "{\"enabled\":true}");
	publish("test/a/go", "yes");
	expect_trace("guarded",
		     "condition 0 (device) not met: fan.state is \\\"OFF\\\", not \\\"ON\\\"");

	/* By hand, skipping the conditions. */
	publish("smarthub/automation/fan_when_hot/set", "enable");
	publish("smarthub/automation/fan_when_hot/set",
		"{\"trigger\":true,\"skip_conditions\":true}");
	th_fixture_expect("smarthub/fan", "{\"state\":\"ON\"}");
	th_fixture_expect("smarthub/automation/fan_when_hot", "{\"enabled\":true,\"runs\":1}");
	/* Now the condition holds. */
	publish("test/b/go", "yes");
	th_fixture_expect("smarthub/automation/guarded", "{\"runs\":1,\"last_result\":\"ok\"}");
	th_fixture_expect("smarthub/fan", "{\"state\":\"OFF\"}");
	/* Not on the hub's own command topics, and not another payload. */
	publish("test/c/go", "no");
	expect_trace("guarded", "payload 'no' is not 'yes'");
}

Test(automation, reload_keeps_the_for_timer_of_an_unchanged_automation)
{
	start("  slow:\n"
	      "    triggers: [{device: temp, property: temperature, above: 30, for: 4s}]\n"
	      "    steps: [{device: fan, set: {state: \"ON\"}}]\n"
	      "  other:\n"
	      "    triggers: [{every: 1h}]\n"
	      "    steps: [{device: fan, set: {state: \"OFF\"}}]\n",
	      "25\n");
	th_fixture_expect("smarthub/automation/slow", "{\"state\":\"idle\"}");
	set_temp("31");
	th_fixture_expect("smarthub/automation/slow", "{\"state\":\"waiting\"}");
	/* Change only the other automation and reload. */
	char *yaml = config("  slow:\n"
			    "    triggers: [{device: temp, property: temperature, above: 30, for: "
			    "4s}]\n"
			    "    steps: [{device: fan, set: {state: \"ON\"}}]\n"
			    "  other:\n"
			    "    triggers: [{every: 2h}]\n"
			    "    steps: [{device: fan, set: {state: \"OFF\"}}]\n");
	cr_assert_eq(th_write_file(th_fx.daemon.config_path, yaml), 0);
	free(yaml);
	cr_assert_eq(th_daemon_signal(&th_fx.daemon, SIGHUP), 0);
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "is in force", WAIT_MS));
	/* The value stays at 31: only the kept timer can run the steps. */
	th_fixture_expect("smarthub/fan", "{\"state\":\"ON\"}");
	th_fixture_expect("smarthub/automation/slow", "{\"runs\":1,\"last_result\":\"ok\"}");
}

Test(automation, restart_resumes_a_pending_for_of_a_minute, .timeout = 180)
{
	start("  minute:\n"
	      "    triggers: [{device: temp, property: temperature, above: 30, for: 1min}]\n"
	      "    steps: [{device: fan, set: {state: \"ON\"}}]\n",
	      "25\n");
	th_fixture_expect("smarthub/automation/minute", "{\"state\":\"idle\"}");
	set_temp("31");
	th_fixture_expect("smarthub/automation/minute", "{\"state\":\"waiting\"}");
	char *state = th_fixture_path("automations.json");
	cr_assert(th_wait_file_line(state, "{", "\"deadline\"", WAIT_MS), "no pending for: in %s",
		  state);
	/* Stop and start again: the downtime is far under max_gap. */
	cr_assert_eq(th_daemon_signal(&th_fx.daemon, SIGTERM), 0);
	cr_assert_eq(th_daemon_wait(&th_fx.daemon, WAIT_MS, NULL), 0);
	th_mqtt_clear(th_fx.mqtt);
	const char *args[] = {"--state-dir", th_fixture_dir(), NULL};
	th_fixture_start_daemon_yaml(NULL, args, NULL);
	expect_trace("minute", "resumed the for: pending before the restart");
	th_fixture_expect("smarthub/automation/minute", "{\"state\":\"waiting\"}");
	char *msg = th_mqtt_wait_json(th_fx.mqtt, "smarthub/fan", "{\"state\":\"ON\"}", 90000);
	cr_assert_not_null(msg, "the resumed for: did not fire; log:\n%s",
			   th_daemon_log(&th_fx.daemon));
	free(msg);
	th_fixture_expect("smarthub/automation/minute", "{\"runs\":1}");
	free(state);
}
