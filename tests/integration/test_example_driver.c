/* SPDX-License-Identifier: MIT */
/*
 * The out-of-tree driver of examples/driver, as its author would use it:
 * built by its own Makefile against a DESTDIR install of smarthub (the
 * ctest fixture integration/example_driver_build does that and names the
 * folder in SMARTHUB_EXAMPLE_DRIVER_DIR), loaded by the real smarthubd
 * with --plugin-dir, and driven over MQTT like any light.
 */
#include "fixture.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(example_driver, .fini = th_fixture_teardown, .timeout = 120);

static const char *driver_dir(void)
{
	const char *dir = getenv("SMARTHUB_EXAMPLE_DRIVER_DIR");
	cr_assert(dir && dir[0], "run through ctest: the fixture builds the example first");
	char *so = th_strdupf("%s/example.so", dir);
	cr_assert_eq(access(so, R_OK), 0, "%s was not built", so);
	free(so);
	return dir;
}

Test(example_driver, the_installed_example_drives_a_light)
{
	const char *const args[] = {"--plugin-dir", driver_dir(), NULL};
	th_fixture_start_broker(NULL);
	th_fixture_start_daemon(NULL,
				"devices:\n"
				"  desk: { driver: example, kind: light, delay: 50ms }\n",
				args, NULL);
	th_fixture_expect_online("desk");
	free(th_fixture_expect_json("smarthub/desk", "{\"state\":\"OFF\",\"brightness\":254}"));

	th_fixture_set("desk", "{\"state\":\"ON\"}");
	free(th_fixture_expect_json("smarthub/desk", "{\"state\":\"ON\",\"brightness\":254}"));

	th_fixture_set("desk", "{\"brightness\":40}");
	free(th_fixture_expect_json("smarthub/desk", "{\"state\":\"ON\",\"brightness\":40}"));

	th_fixture_set("desk", "{\"state\":\"OFF\"}");
	free(th_fixture_expect_json("smarthub/desk", "{\"state\":\"OFF\",\"brightness\":40}"));
}

Test(example_driver, its_options_are_checked_at_load)
{
	const char *const args[] = {"--plugin-dir", driver_dir(), NULL};
	th_fixture_start_broker(NULL);
	th_fixture_start_daemon(NULL,
				"devices:\n"
				"  desk: { driver: example, kind: light, delay: soon }\n",
				args, NULL);
	int status = 0;
	cr_assert_eq(th_daemon_wait(&th_fx.daemon, TH_WAIT_MS, &status), 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0);
	char *log = th_daemon_log(&th_fx.daemon);
	cr_expect(strstr(log, "devices.desk.delay"), "%s", log);
	free(log);
}
