/* SPDX-License-Identifier: MIT */
/*
 * What an exec tool sees of the daemon's environment: PATH, LANG and HOME,
 * plus the device's `env:` option, and nothing else. The daemon's own
 * environment holds NOTIFY_SOCKET and WATCHDOG_* under systemd (a child
 * could speak for the service) and whatever a deployment passes for ${VAR}
 * substitution, such as a password.
 */
#include "fixture.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

TestSuite(exec_env, .fini = th_fixture_teardown);

Test(exec_env, a_tool_gets_a_clean_environment)
{
	char *tool = th_fixture_script(
		"show-env", "printf '{\"leak\":\"%s\",\"watchdog\":\"%s\",\"lang\":\"%s\","
			    "\"home\":\"%s\",\"path\":\"%s\",\"extra\":\"%s\",\"count\":%d}' "
			    "\"$SH_TEST_SECRET\" \"$WATCHDOG_USEC\" \"$LANG\" \"$HOME\" "
			    "\"${PATH:+set}\" \"$EXTRA\" "
			    "\"$(env | grep -cv "
			    "'^\\(PATH\\|LANG\\|HOME\\|EXTRA\\|PWD\\|SHLVL\\|_\\)=')\"\n");
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

/* A tool's JSON keys become state members, retained, and with discovery
 * Home Assistant templates and topics: only [A-Za-z0-9_] names are kept,
 * and a device reports at most 32 distinct keys. */
Test(exec_env, odd_keys_and_too_many_keys_are_left_out)
{
	/* power first, an odd key, then k00..k39: 41 plain keys in all. */
	char *tool = th_fixture_script("many-keys",
				       "printf '{\"power\":1,\"x\\047] }}{{ 7*7 }}\":2'\n"
				       "i=0\n"
				       "while [ $i -lt 40 ]; do printf ',\"k%02d\":%d' $i $i; "
				       "i=$((i+1)); done\n"
				       "printf '}'\n");
	char *devices = th_strdupf("  meter: {driver: exec, kind: sensor, read: [%s]}\n", tool);
	th_fixture_start_devices(devices);
	free(devices);
	char *m = th_fixture_expect_json("smarthub/meter", "{\"power\":1,\"k30\":30}");
	cJSON *state = cJSON_Parse(m);
	cr_assert_not_null(state, "%s", m);
	cr_expect_eq(cJSON_GetArraySize(state), 32, "%s", m);
	cr_expect_not(cJSON_HasObjectItem(state, "k31"), "%s", m);
	cr_expect_null(strstr(m, "7*7"), "%s", m);
	cJSON_Delete(state);
	free(m);
	cr_expect(th_daemon_wait_log(&th_fx.daemon, "not [A-Za-z0-9_]", TH_WAIT_MS));
	cr_expect(th_daemon_wait_log(&th_fx.daemon, "beyond the 32", TH_WAIT_MS));
	free(tool);
}
