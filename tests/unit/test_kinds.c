/* SPDX-License-Identifier: MIT */
/*
 * The device kinds of issue 19 (cover, lock, climate, fan, button, custom)
 * as a command meets them: what each accepts and refuses, with the
 * device's own options (modes, presets, temperatures, declared
 * properties) read from a real configuration file, and the load-time
 * errors of those options and of a sensor's unit/device_class pair.
 */
#include "config/config.h"
#include "hub_fixture.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[64];

static void setup(void)
{
	strcpy(path, "/tmp/sh-kinds-test-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
}

static void teardown(void)
{
	unlink(path);
}

TestSuite(kinds, .init = setup, .fini = teardown);

/* Loads `text`; returns the config (NULL on errors) and the errors joined
 * as "\n"-framed lines in *errors (caller frees). */
static struct sh_config *load_text(const char *text, char **errors)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	struct sh_diag diag = {0};
	struct sh_config *c = NULL;
	sh_config_load(path, &c, &diag);
	*errors = hf_diag_lines(&diag);
	return c;
}

static void expect_error(const char *text, unsigned line, unsigned column, const char *message)
{
	char *errors, want[1024];
	struct sh_config *c = load_text(text, &errors);
	snprintf(want, sizeof(want), "\n%s:%u:%u: %s\n", path, line, column, message);
	cr_expect_null(c);
	cr_expect(strstr(errors, want), "expected:%swithin:%s", want, errors);
	free(errors);
	sh_config_free(c);
}

/* sh_kind_check of `json` for device `id` of `c`; the reason in `reason`. */
static int check(const struct sh_config *c, const char *id, const char *json, char *reason)
{
	const struct sh_device_config *d = sh_config_find_device(c, id);
	cr_assert_not_null(d, "device %s", id);
	cJSON *cmd = cJSON_Parse(json);
	cr_assert_not_null(cmd, "%s", json);
	reason[0] = '\0';
	int r = sh_kind_check(&d->spec, cmd, reason, 256);
	cJSON_Delete(cmd);
	return r;
}

static const char *const home =
	"devices:\n"
	"  blind: {driver: virtual, kind: cover}\n"
	"  door: {driver: virtual, kind: lock}\n"
	"  heating:\n"
	"    driver: virtual\n"
	"    kind: climate\n"
	"    modes: [off, heat]\n"
	"    min_temp: 10\n"
	"    max_temp: 25\n"
	"    temperature_step: 0.5\n"
	"  ceiling_fan: {driver: virtual, kind: fan, presets: [breeze, sleep]}\n"
	"  remote: {driver: virtual, kind: button, event_types: [single, long]}\n"
	"  toilet:\n"
	"    driver: virtual\n"
	"    kind: custom\n"
	"    properties:\n"
	"      flush: {type: action}\n"
	"      seat:  {type: enum, values: [up, down]}\n"
	"      water_temp: {type: number, min: 10, max: 40, unit: \"°C\"}\n"
	"      heated: {type: bool}\n";

Test(kinds, every_kind_checks_its_commands)
{
	char *errors, reason[256];
	struct sh_config *c = load_text(home, &errors);
	cr_assert_not_null(c, "loads:%s", errors);
	free(errors);

	cr_expect_eq(check(c, "blind", "{\"state\":\"CLOSE\"}", reason), 0, "%s", reason);
	cr_expect_eq(check(c, "blind", "{\"position\":40,\"tilt\":100}", reason), 0, "%s", reason);
	cr_expect_eq(check(c, "blind", "{\"position\":101}", reason), -EINVAL);
	cr_expect_str_eq(reason, "position must be an integer from 0 to 100");
	cr_expect_eq(check(c, "blind", "{\"state\":\"ON\"}", reason), -EINVAL);
	cr_expect_str_eq(reason, "state must be \"OPEN\", \"CLOSE\" or \"STOP\"");

	cr_expect_eq(check(c, "door", "{\"state\":\"LOCK\"}", reason), 0, "%s", reason);
	cr_expect_eq(check(c, "door", "{\"state\":\"unlock\"}", reason), 0, "%s", reason);
	cr_expect_eq(check(c, "door", "{\"state\":\"JAMMED\"}", reason), -EINVAL);

	cr_expect_eq(check(c, "heating", "{\"mode\":\"heat\",\"target_temperature\":21.5}", reason),
		     0, "%s", reason);
	cr_expect_eq(check(c, "heating", "{\"mode\":\"cool\"}", reason), -EINVAL);
	cr_expect_str_eq(reason, "mode must be \"off\" or \"heat\"");
	cr_expect_eq(check(c, "heating", "{\"target_temperature\":26}", reason), -EINVAL);
	cr_expect_eq(check(c, "heating", "{\"target_temperature\":21.3}", reason), -EINVAL);
	cr_expect_str_eq(reason,
			 "target_temperature must be a number from 10 to 25 in steps of 0.5");

	cr_expect_eq(check(c, "ceiling_fan",
			   "{\"state\":\"ON\",\"percentage\":30,\"preset\":\"sleep\"}", reason),
		     0, "%s", reason);
	cr_expect_eq(check(c, "ceiling_fan", "{\"preset\":\"turbo\"}", reason), -EINVAL);
	cr_expect_str_eq(reason, "preset must be \"breeze\" or \"sleep\"");

	cr_expect_eq(check(c, "remote", "{\"event\":\"single\"}", reason), -EINVAL);
	cr_expect_str_eq(reason, "a button takes no commands (its presses are events)");
	const struct sh_device_config *remote = sh_config_find_device(c, "remote");
	cr_expect_str_eq(remote->spec.event_types[1], "long");
	cr_expect_null(remote->spec.event_types[2]);

	cr_expect_eq(check(c, "toilet", "{\"flush\":true}", reason), 0, "%s", reason);
	cr_expect_eq(check(c, "toilet", "{\"seat\":\"down\",\"water_temp\":35,\"heated\":false}",
			   reason),
		     0, "%s", reason);
	cr_expect_eq(check(c, "toilet", "{\"seat\":\"sideways\"}", reason), -EINVAL);
	cr_expect_str_eq(reason, "seat must be \"up\" or \"down\"");
	cr_expect_eq(check(c, "toilet", "{\"water_temp\":41}", reason), -EINVAL);
	cr_expect_eq(check(c, "toilet", "{\"brightness\":4}", reason), -EINVAL);
	cr_expect_str_eq(reason, "unknown property 'brightness' for a custom");
	sh_config_free(c);
}

Test(kinds, normalize_case_toggle_and_rounding)
{
	struct sh_kind_spec spec;
	sh_kind_spec_init(&spec, "speaker");
	cJSON *cmd = cJSON_Parse("{\"state\":\"on\",\"volume\":30.5}");
	char reason[256];
	cr_assert_eq(sh_kind_check(&spec, cmd, reason, sizeof(reason)), 0, "%s", reason);
	sh_kind_normalize(&spec, cmd, NULL);
	cr_expect_str_eq(cJSON_GetObjectItem(cmd, "state")->valuestring, "ON");
	cr_expect_eq(cJSON_GetObjectItem(cmd, "volume")->valuedouble, 31);
	cJSON_Delete(cmd);

	sh_kind_spec_init(&spec, "fan");
	cmd = cJSON_Parse("{\"state\":\"Toggle\"}");
	cJSON *now = cJSON_Parse("{\"state\":\"ON\"}");
	cr_assert_eq(sh_kind_check(&spec, cmd, reason, sizeof(reason)), 0, "%s", reason);
	sh_kind_normalize(&spec, cmd, now);
	cr_expect_str_eq(cJSON_GetObjectItem(cmd, "state")->valuestring, "OFF");
	cJSON_Delete(cmd);
	cJSON_Delete(now);

	cr_expect(sh_kind_switch_like("fan"));
	cr_expect_not(sh_kind_switch_like("cover"));
	cmd = cJSON_Parse("{\"transition\":600,\"flash\":2}");
	cr_expect_eq(sh_kind_validate("light", cmd, reason, sizeof(reason)), 0, "%s", reason);
	cJSON_Delete(cmd);
}

Test(kinds, option_errors_have_positions)
{
	expect_error("devices:\n  lamp: {driver: virtual, kind: light, modes: [heat]}\n", 2, 40,
		     "devices.lamp.modes applies to climate devices only");
	expect_error(
		"devices:\n  t:\n    driver: virtual\n    kind: climate\n    modes: [heat, dry]\n",
		5, 19, "devices.t.modes: 'dry' is not one of off, heat, cool, auto, fan_only");
	expect_error("devices:\n  t:\n    driver: virtual\n    kind: climate\n    min_temp: 30\n"
		     "    max_temp: 20\n",
		     6, 15, "devices.t: max_temp must be above min_temp");
	expect_error("devices:\n  wc:\n    driver: virtual\n    kind: custom\n", 2, 3,
		     "missing key 'properties' in devices.wc: a custom device declares its "
		     "properties, e.g. seat: {type: enum, values: [up, down]}");
	expect_error("devices:\n  wc:\n    driver: virtual\n    kind: custom\n    properties:\n"
		     "      seat: {type: enum}\n",
		     6, 7, "missing key 'values' in devices.wc.properties.seat (an enum)");
	expect_error("devices:\n  wc:\n    driver: virtual\n    kind: custom\n    properties:\n"
		     "      seat: {type: list}\n",
		     6, 20,
		     "devices.wc.properties.seat.type must be one of action, enum, number, bool");
	expect_error(
		"devices:\n  r:\n    driver: virtual\n    kind: button\n    event_types: single\n",
		5, 18, "devices.r.event_types must be a non-empty list, e.g. [a, b]");
}

Test(kinds, sensor_unit_must_fit_device_class)
{
	expect_error("devices:\n  t:\n    driver: virtual\n    kind: sensor\n"
		     "    device_class: temperature\n    unit: \"C\"\n",
		     6, 11,
		     "devices.t.unit 'C' does not fit device_class temperature: Home Assistant "
		     "accepts °C, °F, K");
	expect_error("devices:\n  t:\n    driver: virtual\n    kind: sensor\n"
		     "    device_class: temprature\n",
		     5, 19,
		     "devices.t.device_class 'temprature' is not one of Home Assistant's sensor "
		     "device classes (temperature, humidity, power, ...)");
	char *errors;
	struct sh_config *c = load_text("devices:\n  t:\n    driver: virtual\n    kind: sensor\n"
					"    device_class: temperature\n    unit: \"°C\"\n",
					&errors);
	cr_expect_not_null(c, "%s", errors);
	free(errors);
	sh_config_free(c);
	char units[128];
	cr_expect_eq(sh_kind_sensor_unit_check("humidity", "%", units, sizeof(units)), 0);
	cr_expect_eq(sh_kind_sensor_unit_check("aqi", NULL, units, sizeof(units)), 0);
	cr_expect_eq(sh_kind_sensor_unit_check("motion", NULL, units, sizeof(units)), -ENOENT);
	cr_expect(sh_kind_binary_sensor_class("motion"));
}
