/* SPDX-License-Identifier: MIT */
/*
 * The dry run: `smarthubd --replay FILE -c CONFIG` on a recording in both
 * of its forms (mosquitto_sub -F '%U %t %p' lines and JSON lines) prints
 * exactly which automations would run, when, and their commands, with the
 * conditions evaluated in the recording's local time (TZ), and it
 * connects to nothing (the configuration names a broker that is not
 * there).
 */
#include "fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(automation_replay, .fini = th_fixture_teardown);

static const char config[] =
	"mqtt: {url: \"tcp://127.0.0.1:1\"}\n"
	"location: {latitude: 52.37, longitude: 4.89}\n"
	"devices:\n"
	"  temp: {driver: sysfs, kind: sensor, path: /nonexistent, key: temperature}\n"
	"  fan: {driver: virtual, kind: switch}\n"
	"  lamp: {driver: virtual, kind: light}\n"
	"automations:\n"
	"  fan_when_hot:\n"
	"    mode: single\n"
	"    triggers:\n"
	"      - {device: temp, property: temperature, above: 30, for: 1s}\n"
	"    conditions:\n"
	"      - {time: {after: \"08:00\", before: \"23:00\", weekdays: [mon, tue, wed, thu, "
	"fri]}}\n"
	"    steps:\n"
	"      - {device: fan, set: {state: \"ON\"}}\n"
	"      - {delay: 2s}\n"
	"      - parallel:\n"
	"        - {device: lamp, set: {state: \"ON\", brightness: 40}}\n"
	"        - {device: fan, set: {state: \"OFF\"}}\n"
	"  on_button:\n"
	"    triggers: [{mqtt: \"zigbee2mqtt/remote\", path: action, equals: \"single\"}]\n"
	"    steps: [{device: lamp, set: {state: \"TOGGLE\"}}]\n"
	"  night_light:\n"
	"    triggers: [{at: \"23:30\"}]\n"
	"    steps: [{device: lamp, set: {state: \"OFF\"}}]\n";

/* Monday 2026-06-01; 10:00 UTC is 12:00 CEST. */
static const char recording[] =
	"# a recording\n"
	"1780308000.000 smarthub/temp {\"temperature\":25}\n"
	"1780308005.500 smarthub/temp {\"temperature\":31}\n"
	"1780308006.000 smarthub/temp {\"temperature\":32}\n"
	"1780308010.000 smarthub/temp {\"temperature\":29}\n"
	"{\"time\":\"2026-06-01T10:00:11Z\",\"device\":\"temp\",\"state\":{\"temperature\":30.5}}\n"
	"{\"time\":\"2026-06-01T10:00:11.200Z\",\"device\":\"temp\",\"state\":{\"temperature\":20}}"
	"\n"
	"1780308020 zigbee2mqtt/remote {\"action\":\"single\"}\n"
	"1780308021 zigbee2mqtt/remote {\"action\":\"double\"}\n"
	"1780308022 smarthub/automation/on_button/set trigger\n"
	"{\"time\":\"2026-06-01T21:40:00Z\",\"device\":\"temp\",\"state\":{\"temperature\":10}}\n"
	/* 23:50 CEST: the time condition does not hold. */
	"{\"time\":\"2026-06-01T21:50:00Z\",\"device\":\"temp\",\"state\":{\"temperature\":35}}\n"
	"{\"time\":\"2026-06-01T21:55:00Z\",\"device\":\"temp\",\"state\":{\"temperature\":36}}\n";

static const char expected[] = "2026-06-01T10:00:06.500Z fan_when_hot runs\n"
			       "  +0ms fan <- {\"state\":\"ON\"}\n"
			       "  +2s lamp <- {\"state\":\"ON\",\"brightness\":40}\n"
			       "  +2s fan <- {\"state\":\"OFF\"}\n"
			       "2026-06-01T10:00:20.000Z on_button runs\n"
			       "  +0ms lamp <- {\"state\":\"TOGGLE\"}\n"
			       "2026-06-01T21:30:00.000Z night_light runs\n"
			       "  +0ms lamp <- {\"state\":\"OFF\"}\n"
			       "3 runs\n";

Test(automation_replay, prints_runs_and_commands)
{
	char *cfg = th_fixture_path("smarthub.yaml");
	char *rec = th_fixture_path("recording.txt");
	cr_assert_eq(th_write_file(cfg, config), 0);
	cr_assert_eq(th_write_file(rec, recording), 0);
	const char *bin = getenv("SMARTHUBD_PATH") ? getenv("SMARTHUBD_PATH") : SMARTHUBD_PATH;
	const char *argv[] = {bin, "--replay", rec, "-c", cfg, "--log-level", "error", NULL};
	const char *env[] = {"TZ=Europe/Amsterdam", NULL};
	char *output = NULL;
	int status = -1;
	cr_assert_eq(th_run(argv, env, &output, &status), 0);
	cr_assert_eq(status, 0, "%s", output);
	cr_assert_str_eq(output, expected);
	free(output);

	/* A line out of time order is an error with its number. */
	char *bad = th_fixture_path("bad.txt");
	cr_assert_eq(th_write_file(bad, "1780308010 smarthub/temp {\"temperature\":1}\n"
					"1780308000 smarthub/temp {\"temperature\":2}\n"),
		     0);
	argv[2] = bad;
	cr_assert_eq(th_run(argv, env, &output, &status), 0);
	cr_assert_neq(status, 0);
	cr_assert(strstr(output, "bad.txt:2: time goes backwards"), "%s", output);
	free(output);
	free(bad);
	free(cfg);
	free(rec);
}
