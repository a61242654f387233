/* SPDX-License-Identifier: MIT */
/*
 * The location: and automations: sections: the issue's example loads into
 * triggers, conditions and steps; every load error of the issue's list
 * comes out with file:line:column, all of them in one run.
 */
#define _GNU_SOURCE
#include "config/config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[64];

static void write_config(const char *text)
{
	strcpy(path, "/tmp/sh-auto-config-XXXXXX");
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
}

static void teardown(void)
{
	unlink(path);
}

TestSuite(automation_config, .fini = teardown);

/* Loads; the errors come back "\n"-framed, one a line. */
static int load(const char *text, struct sh_config **config, char *errors, size_t size)
{
	struct sh_diag diag = {0};
	write_config(text);
	int rc = sh_config_load(path, config, &diag);
	snprintf(errors, size, "\n");
	for (size_t i = 0; i < diag.count; i++) {
		strncat(errors, diag.messages[i], size - strlen(errors) - 2);
		strncat(errors, "\n", size - strlen(errors) - 1);
	}
	sh_diag_clear(&diag);
	return rc;
}

#define DEVICES                                                                                    \
	"devices:\n"                                                                               \
	"  temp: {driver: virtual, kind: sensor, readings: [temperature, motion]}\n"               \
	"  fan: {driver: virtual, kind: switch}\n"                                                 \
	"  remote: {driver: virtual, kind: switch}\n"

Test(automation_config, issue_example_loads)
{
	char errors[4096];
	struct sh_config *c = NULL;
	int rc = load("location: {latitude: 52.37, longitude: 4.89}\n" DEVICES "automations:\n"
		      "  fan_when_hot:\n"
		      "    mode: single\n"
		      "    triggers:\n"
		      "      - {device: temp, property: temperature, above: 30, for: 1s}\n"
		      "      - {sun: sunset, offset: -30min}\n"
		      "      - {every: 10min}\n"
		      "      - {device: remote, event: single}\n"
		      "    conditions:\n"
		      "      - {time: {after: \"08:00\", before: \"23:00\", weekdays: [mon, tue, "
		      "wed, thu, fri]}}\n"
		      "      - {any: [{device: fan, is: \"OFF\"}, {not: {sun: {after: sunset, "
		      "before: sunrise}}}]}\n"
		      "    steps:\n"
		      "      - {device: fan, set: {state: \"ON\"}}\n",
		      &c, errors, sizeof(errors));
	cr_assert_eq(rc, 0, "%s", errors);
	cr_assert_eq(c->n_automations, 1);
	const struct sh_automation_config *a = &c->automations[0];
	cr_assert_str_eq(a->name, "fan_when_hot");
	cr_assert(a->enabled);
	cr_assert_eq(a->max_per_minute, 30);
	cr_assert_eq(a->n_triggers, 4);
	cr_assert_eq(a->triggers[0].type, SH_TRIGGER_NUMERIC);
	cr_assert(a->triggers[0].has_above && !a->triggers[0].has_below);
	cr_assert_eq(a->triggers[0].above, 30);
	cr_assert_eq(a->triggers[0].for_ms, 1000);
	cr_assert_eq(a->triggers[1].type, SH_TRIGGER_SUN);
	cr_assert_eq(a->triggers[1].offset_ms, -30 * 60 * 1000);
	cr_assert_eq(a->triggers[2].every_ms, 600000);
	cr_assert_eq(a->triggers[3].type, SH_TRIGGER_EVENT);
	cr_assert_eq(a->n_conditions, 2);
	cr_assert_eq(a->conditions[0].type, SH_CONDITION_TIME);
	cr_assert_eq(a->conditions[0].after_s, 8 * 3600);
	cr_assert_eq(a->conditions[0].before_s, 23 * 3600);
	cr_assert_eq(a->conditions[0].weekdays, 0x3e);
	cr_assert_eq(a->conditions[1].type, SH_CONDITION_ANY);
	cr_assert_eq(a->conditions[1].children[1].type, SH_CONDITION_NOT);
	cr_assert_eq(a->run.root->n_children, 1);
	cr_assert_str_eq(a->run.root->children[0]->device, "fan");
	sh_config_free(c);
}

Test(automation_config, every_error_with_position_in_one_run)
{
	char errors[8192];
	struct sh_config *c = NULL;
	int rc =
		load(DEVICES "automations:\n"
			     "  a:\n"
			     "    triggers:\n"
			     "      - {device: tmp, property: temperature, above: 30}\n"
			     "      - {device: temp, property: temprature, above: 30}\n"
			     "      - {device: temp, property: motion, above: 1}\n"
			     "      - {device: temp, property: temperature, above: 30, below: 20}\n"
			     "      - {device: temp, property: temperature, above: 30, for: -1s}\n"
			     "      - {sun: sunset}\n"
			     "      - {at: \"25:00\"}\n"
			     "      - {at: \"07:30\", weekdays: [mon, fr]}\n"
			     "      - {mqtt: \"a/+/b\", for: 1s}\n"
			     "    steps:\n"
			     "      - {device: fan, set: {state: \"ON\"}}\n",
		     &c, errors, sizeof(errors));
	cr_assert_eq(rc, -EINVAL);
	cr_assert_null(c);
	const char *want[] = {
		":8:18: automations.a.triggers[0]: unknown device 'tmp'",
		(":9:34: automations.a.triggers[1]: device 'temp' has no property 'temprature' "
		 "(did "
		 "you mean 'temperature'?)"),
		":10:34: automations.a.triggers[2]: property 'motion' of device 'temp' is not "
		"numeric",
		":11:54: automations.a.triggers[3]: empty band",
		":12:63: automations.a.triggers[4].for must not be negative",
		":13:15: automations.a.triggers[5]: the sun needs a location",
		":14:14: automations.a.triggers[6].at: bad time '25:00'",
		":15:39: automations.a.triggers[7].weekdays: bad weekday 'fr' (did you mean "
		"'fri'?)",
		":16:25: automations.a.triggers[8]: a mqtt trigger takes no for:",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char line[300];
		snprintf(line, sizeof(line), "\n%s%s", path, want[i]);
		cr_expect(strstr(errors, line), "missing %s in:%s", want[i], errors);
	}
}

Test(automation_config, conditions_errors)
{
	char errors[4096];
	struct sh_config *c = NULL;
	int rc = load(DEVICES "automations:\n"
			      "  a:\n"
			      "    triggers: [{start: true}]\n"
			      "    conditions:\n"
			      "      - {time: {after: \"8h\"}}\n"
			      "      - {device: fan, property: state, above: 3}\n"
			      "      - {sun: {after: sunset}}\n"
			      "    steps: [{scene: nope}]\n",
		      &c, errors, sizeof(errors));
	cr_assert_eq(rc, -EINVAL);
	cr_expect(strstr(errors, ":9:24: automations.a.conditions[0].time.after: bad time '8h'"),
		  "%s", errors);
	cr_expect(strstr(errors, "conditions[1]: property 'state' of device 'fan' is not numeric"),
		  "%s", errors);
	cr_expect(strstr(errors, "conditions[2].sun: the sun needs a location"), "%s", errors);
	cr_expect(strstr(errors, ":12:21: automations.a.steps[0]: unknown scene 'nope'"), "%s",
		  errors);
}
