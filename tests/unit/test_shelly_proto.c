/* SPDX-License-Identifier: MIT */
/* Shelly API conversions (plugins/shelly/shelly_proto.c). */
#include "shelly_proto.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LEN(s) (s), strlen(s)

Test(shelly_proto, generation_from_get_shelly)
{
	struct shelly_info i;
	cr_assert_eq(shelly_parse_info(LEN("{\"type\":\"SHSW-1\",\"mac\":\"x\",\"auth\":true,"
					   "\"fw\":\"20230913/v1.14.0\"}"),
				       &i),
		     0);
	cr_assert(i.gen == 1 && i.auth);
	cr_assert_str_eq(i.model, "SHSW-1");
	cr_assert_eq(
		shelly_parse_info(LEN("{\"id\":\"shellyplus1pm-a\",\"model\":\"SNSW-001P16EU\","
				      "\"gen\":2,\"ver\":\"1.0.8\",\"auth_en\":false}"),
				  &i),
		0);
	cr_assert(i.gen == 2 && !i.auth);
	cr_assert_str_eq(i.version, "1.0.8");
	cr_assert_eq(shelly_parse_info(LEN("{\"gen\":3,\"model\":\"S3SW\"}"), &i), 0);
	cr_assert_eq(i.gen, 3);
	cr_assert_eq(shelly_parse_info(LEN("{\"gen\":\"2\"}"), &i), -EINVAL);
	cr_assert_eq(shelly_parse_info(LEN("{\"mac\":\"no type, no gen\"}"), &i), -EINVAL);
	cr_assert_eq(shelly_parse_info(LEN("<html>"), &i), -EINVAL);
}

Test(shelly_proto, gen1_status_and_meters)
{
	struct shelly_switch s;
	const char *st = "{\"relays\":[{\"ison\":false},{\"ison\":true}],"
			 "\"meters\":[{\"power\":0,\"is_valid\":true,\"total\":60000},"
			 "{\"power\":42.5,\"is_valid\":true,\"total\":120000}],\"voltage\":231.2}";
	cr_assert_eq(shelly_parse_gen1_status(LEN(st), 1, &s), 0);
	cr_assert(s.on && s.has_power && s.power == 42.5);
	cr_assert(s.has_energy && fabs(s.energy - 2.0) < 1e-9, "watt-minutes to kWh: %f", s.energy);
	cr_assert(s.has_voltage && s.voltage == 231.2);
	cr_assert_eq(shelly_parse_gen1_status(LEN(st), 2, &s), -EINVAL, "no such channel");
	cr_assert_eq(shelly_parse_gen1_status(LEN("{\"relays\":[{\"ison\":1}]}"), 0, &s), -EINVAL);
	/* An invalid meter is not a reading. */
	cr_assert_eq(shelly_parse_gen1_status(LEN("{\"relays\":[{\"ison\":true}],\"meters\":[{"
						  "\"power\":9,\"is_valid\":false}]}"),
					      0, &s),
		     0);
	cr_assert_not(s.has_power);
	cr_assert_eq(shelly_parse_gen1_relay(LEN("{\"ison\":true,\"has_timer\":false}"), &s), 0);
	cr_assert(s.on);
}

Test(shelly_proto, gen2_switch_status)
{
	struct shelly_switch s;
	cr_assert_eq(shelly_parse_gen2_status(LEN("{\"id\":0,\"output\":true,\"apower\":60.4,"
						  "\"voltage\":230.1,\"current\":0.262,"
						  "\"aenergy\":{\"total\":1500.0}}"),
					      &s),
		     0);
	cr_assert(s.on && s.power == 60.4 && s.voltage == 230.1 && s.current == 0.262);
	cr_assert(s.has_energy && s.energy == 1.5, "Wh to kWh");
	cr_assert_eq(shelly_parse_gen2_status(LEN("{\"id\":0}"), &s), -EINVAL);
	cr_assert_eq(shelly_parse_gen2_status(LEN("{\"output\":true,\"apower\":\"x\"}"), &s), 0);
	cr_assert_not(s.has_power);
	char msg[64];
	cr_assert_eq(shelly_parse_gen2_error(LEN("{\"code\":-105,\"message\":\"no id\"}"), msg,
					     sizeof(msg)),
		     0);
	cr_assert_str_eq(msg, "no id");
}

Test(shelly_proto, patch_rounds_readings)
{
	struct shelly_switch s = {.on = true,
				  .has_power = true,
				  .power = 12.3456,
				  .has_energy = true,
				  .energy = 1.23456};
	cJSON *p = shelly_switch_to_patch(&s);
	char *t = cJSON_PrintUnformatted(p);
	cr_assert_str_eq(t, "{\"state\":\"ON\",\"power\":12.3,\"energy\":1.235}");
	free(t);
	cJSON_Delete(p);
}

Test(shelly_proto, paths)
{
	char p[SHELLY_PATH_MAX];
	cr_assert_eq(shelly_command_path(1, 0, "ON", p, sizeof(p)), 0);
	cr_assert_str_eq(p, "/relay/0?turn=on");
	cr_assert_eq(shelly_command_path(1, 2, "TOGGLE", p, sizeof(p)), 0);
	cr_assert_str_eq(p, "/relay/2?turn=toggle");
	cr_assert_eq(shelly_command_path(2, 1, "OFF", p, sizeof(p)), 0);
	cr_assert_str_eq(p, "/rpc/Switch.Set?id=1&on=false");
	cr_assert_eq(shelly_command_path(2, 0, "TOGGLE", p, sizeof(p)), 0);
	cr_assert_str_eq(p, "/rpc/Switch.Toggle?id=0");
	cr_assert_eq(shelly_command_path(2, 0, "on&id=1", p, sizeof(p)), -EINVAL);
	cr_assert_eq(shelly_command_path(2, 99, "ON", p, sizeof(p)), -EINVAL);
	cr_assert_eq(shelly_status_path(2, 3, p, sizeof(p)), 0);
	cr_assert_str_eq(p, "/rpc/Switch.GetStatus?id=3");
	cr_assert_eq(shelly_status_path(1, 3, p, sizeof(p)), 0);
	cr_assert_str_eq(p, "/status");
}
