/* SPDX-License-Identifier: MIT */
/*
 * --log-level on the command line wins over the file's log.level, at start
 * and after every reload: a daemon run at debug to find out why something
 * fails must not go quiet when the file is reloaded.
 */
#include "fixture.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

TestSuite(log_level, .fini = th_fixture_teardown);

/* The fixture's configuration with log.level `level` instead of debug. */
static char *config_at(const char *level)
{
	char *yaml = th_fixture_config(NULL, "devices:\n"
					     "  lamp: {driver: virtual, kind: switch}\n"
					     "automations:\n"
					     "  follow:\n"
					     "    triggers:\n"
					     "      - {device: lamp, property: state, to: \"ON\"}\n"
					     "    steps:\n"
					     "      - {delay: 10ms}\n");
	const char *at = strstr(yaml, "level: debug");
	cr_assert_not_null(at);
	char *out = th_strdupf("%.*slevel: %s%s", (int)(at - yaml), yaml, level,
			       at + strlen("level: debug"));
	free(yaml);
	return out;
}

/* Switches the lamp on and waits for the automation's debug line. */
static bool trigger_is_logged(const char *value)
{
	th_fixture_set("lamp", value);
	th_fixture_expect_state("lamp", value);
	return th_wait_file_line(th_fx.daemon.log_path, "", "automation follow: trigger",
				 TH_WAIT_MS);
}

Test(log_level, the_command_lines_level_outlives_a_reload)
{
	th_fixture_start_broker(NULL);
	char *yaml = config_at("warning");
	const char *args[] = {"--log-level", "debug", NULL};
	th_fixture_start_daemon_yaml(yaml, args, NULL);
	free(yaml);
	th_fixture_expect_online("lamp");
	cr_assert(trigger_is_logged("{\"state\":\"ON\"}"), "no debug line before the reload");

	const char *reload = "{\"transaction\":\"r1\"}";
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, "smarthub/bridge/request/reload", reload,
				     strlen(reload), false),
		     0);
	free(th_fixture_expect_json("smarthub/bridge/response/reload",
				    "{\"transaction\":\"r1\",\"status\":\"ok\"}"));
	th_fixture_set("lamp", "{\"state\":\"OFF\"}");
	th_fixture_expect_state("lamp", "{\"state\":\"OFF\"}");
	cr_assert_eq(th_write_file(th_fx.daemon.log_path, ""), 0);
	cr_assert(trigger_is_logged("{\"state\":\"ON\"}"), "the reload silenced --log-level debug");
}
