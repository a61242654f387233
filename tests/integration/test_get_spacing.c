/* SPDX-License-Identifier: MIT */
/*
 * smarthub/<id>/get is spaced like commands (min_interval, at least a
 * second) and coalesced: a flood of /get costs a few driver refreshes, not
 * one exec spawn per message.
 */
#include "fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

TestSuite(get_spacing, .fini = th_fixture_teardown);

static size_t lines_of(const char *path)
{
	char *text = th_read_file(path);
	size_t n = 0;
	for (const char *p = text; p && *p; p++)
		n += *p == '\n';
	free(text);
	return n;
}

Test(get_spacing, a_flood_of_get_is_coalesced)
{
	char *runs = th_fixture_path("runs");
	/* Each run appends a line and reports how many runs there were. */
	char *script = th_strdupf("echo x >>%s\nprintf '{\"n\":%%d}' $(wc -l <%s)\n", runs, runs);
	char *tool = th_fixture_script("count", script);
	char *devices = th_strdupf("  meter: {driver: exec, kind: sensor, read: [%s]}\n", tool);
	th_fixture_start_devices(devices);
	free(devices);
	free(th_fixture_expect_json("smarthub/meter", "{\"n\":1}")); /* the connect */

	/* 30 /get at once: the first refreshes now, the rest join one that
	 * waits out the spacing. */
	for (int i = 0; i < 30; i++)
		cr_assert_eq(th_mqtt_publish(th_fx.mqtt, "smarthub/meter/get", "", 0, false), 0);
	free(th_fixture_expect_json("smarthub/meter", "{\"n\":3}"));
	/* One more, after the others: it is the fourth run, so none of the
	 * 30 ran on its own. */
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, "smarthub/meter/get", "", 0, false), 0);
	free(th_fixture_expect_json("smarthub/meter", "{\"n\":4}"));
	cr_expect_eq(lines_of(runs), 4, "the tool ran %zu times", lines_of(runs));
	free(script);
	free(tool);
	free(runs);
}
