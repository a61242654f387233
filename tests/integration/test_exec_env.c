/* SPDX-License-Identifier: MIT */
/*
 * What an exec tool sees of the daemon's environment: PATH, LANG and HOME,
 * plus the device's `env:` option, and nothing else. The daemon's own
 * environment holds NOTIFY_SOCKET and WATCHDOG_* under systemd (a child
 * could speak for the service) and whatever a deployment passes for ${VAR}
 * substitution, such as a password.
 */
#include "fixture.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

TestSuite(exec_env, .fini = th_fixture_teardown);

Test(exec_env, a_tool_gets_a_clean_environment)
{
	char *tool = th_fixture_path("show-env");
	cr_assert_eq(th_write_file(tool,
				   "#!/bin/sh\n"
				   "printf '{\"leak\":\"%s\",\"watchdog\":\"%s\",\"lang\":\"%s\","
				   "\"home\":\"%s\",\"path\":\"%s\",\"extra\":\"%s\",\"count\":%d}' "
				   "\"$SH_TEST_SECRET\" \"$WATCHDOG_USEC\" \"$LANG\" \"$HOME\" "
				   "\"${PATH:+set}\" \"$EXTRA\" "
				   "\"$(env | grep -cv '^\\(PATH\\|LANG\\|HOME\\|EXTRA\\|PWD\\|SHLVL\\|_\\)=')\"\n"),
		     0);
	cr_assert_eq(chmod(tool, 0755), 0);
	char *body = th_strdupf("devices:\n"
				"  envs:\n"
				"    driver: exec\n"
				"    kind: sensor\n"
				"    read: [%s]\n"
				"    env:\n"
				"      EXTRA: from-the-option\n"
				"      HOME: /nonexistent-home\n",
				tool);
	/* WATCHDOG_USEC without NOTIFY_SOCKET: the daemon only passes it on. */
	const char *const env[] = {"SH_TEST_SECRET=zz-env-secret", "WATCHDOG_USEC=30000000",
				   "LANG=C.UTF-8", NULL};
	th_fixture_start_broker(NULL);
	th_fixture_start_daemon(NULL, body, NULL, env);
	free(th_fixture_expect_json("smarthub/envs",
				    "{\"leak\":\"\",\"watchdog\":\"\",\"lang\":\"C.UTF-8\","
				    "\"home\":\"/nonexistent-home\",\"path\":\"set\","
				    "\"extra\":\"from-the-option\",\"count\":0}"));
	free(body);
	free(tool);
}
