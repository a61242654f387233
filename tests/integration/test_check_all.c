/* SPDX-License-Identifier: MIT */
/*
 * Every error of a file in one go, driver options included (issue 18 item
 * 12), on a reload too: a file with a general typo and a driver option
 * typo is refused as a whole, the response counts both, the log has both
 * in file order, and the running configuration stays.
 */
#include "fixture.h"
#include "harness.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

TestSuite(check_all, .fini = th_fixture_teardown, .timeout = 60);

Test(check_all, reload_reports_general_and_driver_errors_together)
{
	th_fixture_start("devices:\n  lamp: {driver: virtual, kind: light}\n");
	th_fixture_expect_online("lamp");

	char *yaml = th_fixture_config("keepalve: 5", "devices:\n"
						      "  lamp:\n"
						      "    driver: virtual\n"
						      "    kind: light\n"
						      "    conect_delay: 1s\n");
	cr_assert_eq(th_write_file(th_fx.daemon.config_path, yaml), 0);
	free(yaml);
	th_mqtt_clear(th_fx.mqtt);
	const char *req = "{\"transaction\":\"t1\"}";
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, "smarthub/bridge/request/reload", req, strlen(req),
				     false),
		     0);
	char *msg = th_fixture_expect_json("smarthub/bridge/response/reload",
					   "{\"status\":\"error\",\"transaction\":\"t1\"}");
	cr_expect(strstr(msg, "(2 errors"), "%s", msg);
	free(msg);

	char *log = th_daemon_log(&th_fx.daemon);
	const char *general = strstr(log, "unknown key 'keepalve' in mqtt");
	const char *driver = general ? strstr(general, "unknown option 'conect_delay'") : NULL;
	cr_expect(driver, "both, in file order, in the log:\n%s", log);
	free(log);

	/* Nothing changed: lamp still takes commands. */
	th_fixture_set("lamp", "{\"state\":\"ON\"}");
	th_fixture_expect_state("lamp", "{\"state\":\"ON\"}");
}
