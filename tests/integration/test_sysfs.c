/* SPDX-License-Identifier: MIT */
/*
 * Integration tests of the sysfs driver through the real smarthubd and a
 * private mosquitto, with a fake sysfs tree in a temporary directory: a
 * thermal zone, a hwmon input, a DS18B20 w1_slave whose CRC check fails for
 * a while, an IIO channel with its scale and offset files. Readings are
 * checked as a user sees them, over MQTT; the daemon log shows what the
 * driver decided about readings it did not publish.
 */
#include "fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAIT_MS TH_WAIT_MS

#define W1_YES(milli)                                                                              \
	"72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=" milli "\n"
/* 85000 is what a DS18B20 reports after a power-on reset: never a reading. */
#define W1_NO "50 05 4b 46 7f ff 0c 10 1c : crc=ff NO\n50 05 4b 46 7f ff 0c 10 1c t=85000\n"

TestSuite(sysfs, .fini = th_fixture_teardown);

/* Writes <dir>/<rel>, making its directory. Returns the full path. */
static char *put(const char *rel, const char *text)
{
	char *path = th_fixture_path(rel);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	mkdir(path, 0755);
	*slash = '/';
	cr_assert_eq(th_write_file(path, text), 0, "%s", path);
	return path;
}

static void expect_log(const char *needle)
{
	cr_assert(th_daemon_wait_log(&th_fx.daemon, needle, WAIT_MS), "no '%s' in the log:\n%s",
		  needle, th_daemon_log(&th_fx.daemon));
}

Test(sysfs, readings_of_each_sensor_type)
{
	char *thermal = put("thermal_zone0/temp", "48312\n");
	char *hwmon = put("hwmon0/temp1_input", "35000\n");
	char *w1 = put("28-000005e2fdc3/w1_slave", W1_YES("21437"));
	char *iio = put("iio:device0/in_voltage0_raw", "1000\n");
	free(put("iio:device0/in_voltage_scale", "0.5\n"));
	free(put("iio:device0/in_voltage0_offset", "10\n"));
	char *devices = th_strdupf("  cpu:\n    driver: sysfs\n    kind: sensor\n"
				   "    path: %s\n    device_class: temperature\n"
				   "    interval: 200ms\n"
				   "  board:\n    driver: sysfs\n    kind: sensor\n"
				   "    path: %s\n    interval: 200ms\n"
				   "  outdoor:\n    driver: sysfs\n    kind: sensor\n"
				   "    path: %s\n    device_class: temperature\n    unit: \"°C\"\n"
				   "    interval: 200ms\n"
				   "  adc:\n    driver: sysfs\n    kind: sensor\n"
				   "    path: %s\n    key: voltage\n    scale: 0.001\n"
				   "    precision: 3\n    interval: 200ms\n",
				   thermal, hwmon, w1, iio);
	th_fixture_start_devices(devices);

	/* Milli-degrees, rounded to 2 decimals. */
	th_fixture_expect("smarthub/cpu", "{\"temperature\":48.31}");
	th_fixture_expect("smarthub/board", "{\"value\":35}");
	th_fixture_expect("smarthub/outdoor", "{\"temperature\":21.44}");
	/* (1000 + 10) * 0.5 millivolts, then the user's scale to volts. */
	th_fixture_expect("smarthub/adc", "{\"voltage\":0.505}");
	th_fixture_expect("smarthub/cpu/availability", "{\"state\":\"online\"}");

	/* Readings follow the files. */
	cr_assert_eq(th_write_file(thermal, "50000\n"), 0);
	th_fixture_expect("smarthub/cpu", "{\"temperature\":50}");
	free(put("iio:device0/in_voltage_scale", "0.25\n"));
	th_fixture_expect("smarthub/adc", "{\"voltage\":0.253}");

	free(devices);
	free(thermal);
	free(hwmon);
	free(w1);
	free(iio);
}

Test(sysfs, crc_failure_is_logged_not_published)
{
	char *w1 = put("28-000005e2fdc3/w1_slave", W1_YES("21437"));
	char *devices = th_strdupf("  outdoor:\n    driver: sysfs\n    kind: sensor\n"
				   "    path: %s\n    device_class: temperature\n"
				   "    interval: 200ms\n",
				   w1);
	th_fixture_start_devices(devices);
	th_fixture_expect("smarthub/outdoor", "{\"temperature\":21.44}");

	cr_assert_eq(th_write_file(w1, W1_NO), 0);
	expect_log("outdoor: reading failed:");
	expect_log("CRC check failed");
	cr_assert_eq(th_write_file(w1, W1_YES("22500")), 0);
	th_fixture_expect("smarthub/outdoor", "{\"temperature\":22.5}");
	expect_log("outdoor: readings recovered");

	/* The failed reading (t=85000) was never published, the sensor never
	 * went offline, and the failure was logged once, not at every tick. */
	cr_expect_null(th_mqtt_wait(th_fx.mqtt, "smarthub/outdoor", "85", 0));
	char *avail = th_mqtt_last(th_fx.mqtt, "smarthub/outdoor/availability");
	cr_expect(avail && strstr(avail, "online"), "availability %s", avail);
	free(avail);
	char *log = th_daemon_log(&th_fx.daemon);
	const char *first = strstr(log, "CRC check failed");
	cr_expect(first && !strstr(first + 1, "CRC check failed"), "logged more than once:\n%s",
		  log);
	free(log);
	free(devices);
	free(w1);
}

Test(sysfs, vanished_file_takes_the_sensor_offline_until_it_returns)
{
	char *hwmon = put("hwmon0/temp1_input", "35000\n");
	char *devices = th_strdupf("  board:\n    driver: sysfs\n    kind: sensor\n"
				   "    path: %s\n    device_class: temperature\n"
				   "    interval: 200ms\n",
				   hwmon);
	th_fixture_start_devices(devices);
	th_fixture_expect("smarthub/board/availability", "{\"state\":\"online\"}");
	th_fixture_expect("smarthub/board", "{\"temperature\":35}");

	th_mqtt_clear(th_fx.mqtt);
	cr_assert_eq(unlink(hwmon), 0);
	th_fixture_expect("smarthub/board/availability", "{\"state\":\"offline\"}");

	/* Back with a new value: the daemon's retry finds it. */
	th_mqtt_clear(th_fx.mqtt);
	cr_assert_eq(th_write_file(hwmon, "36500\n"), 0);
	th_fixture_expect("smarthub/board/availability", "{\"state\":\"online\"}");
	th_fixture_expect("smarthub/board", "{\"temperature\":36.5}");
	free(devices);
	free(hwmon);
}

Test(sysfs, change_threshold_suppresses_small_changes)
{
	char *zone = put("thermal_zone1/temp", "20000\n");
	char *devices = th_strdupf("  room:\n    driver: sysfs\n    kind: sensor\n"
				   "    path: %s\n    device_class: temperature\n"
				   "    change_threshold: 1\n    interval: 200ms\n",
				   zone);
	th_fixture_start_devices(devices);
	th_fixture_expect("smarthub/room", "{\"temperature\":20}");

	/* 20.4 is read (the log says so) but not published... */
	cr_assert_eq(th_write_file(zone, "20400\n"), 0);
	expect_log("room: 20.4 within change_threshold of 20");
	/* ...while 21.5 is. */
	cr_assert_eq(th_write_file(zone, "21500\n"), 0);
	th_fixture_expect("smarthub/room", "{\"temperature\":21.5}");
	cr_expect_null(th_mqtt_wait(th_fx.mqtt, "smarthub/room", "20.4", 0),
		       "a change below the threshold was published");
	free(devices);
	free(zone);
}

Test(sysfs, configuration_errors_name_the_line)
{
	th_fixture_start_devices(
		"  bad:\n    driver: sysfs\n    kind: sensor\n    type: ds18b20\n");
	int status = 0;
	cr_assert_eq(th_daemon_wait(&th_fx.daemon, WAIT_MS, &status), 0);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 78, "status %d", status);
	char *log = th_daemon_log(&th_fx.daemon);
	cr_expect(strstr(log, "needs a path"), "log:\n%s", log);
	cr_expect(strstr(log, "type must be auto, raw, thermal, hwmon, w1 or iio, not 'ds18b20'"),
		  "log:\n%s", log);
	free(log);
}
