/* SPDX-License-Identifier: MIT */
/* WLED JSON API conversions (plugins/wled/wled_proto.c). */
#include "wled_proto.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int parse(const char *json, struct wled_state *s)
{
	return wled_parse_state(json, strlen(json), s);
}

Test(wled_proto, reads_a_state_and_segment_colour)
{
	struct wled_state s;
	cr_assert_eq(parse("{\"on\":true,\"bri\":128,\"transition\":7,\"seg\":[{\"id\":0,"
			   "\"col\":[[255,160,0],[0,0,0],[0,0,0]]}]}",
			   &s),
		     0);
	cr_assert(s.on && s.bri == 128 && s.has_color && s.r == 255 && s.g == 160 && s.b == 0);
	/* RGBW colours have a fourth value. */
	cr_assert_eq(parse("{\"on\":false,\"bri\":3,\"seg\":[{\"col\":[[1,2,3,4]]}]}", &s), 0);
	cr_assert(!s.on && s.bri == 3 && s.r == 1 && s.b == 3);
}

Test(wled_proto, reads_the_state_member_of_json_si)
{
	struct wled_state s;
	cr_assert_eq(parse("{\"state\":{\"on\":true,\"bri\":9},\"info\":{\"ver\":\"0.14.4\"}}", &s),
		     0);
	cr_assert(s.on && s.bri == 9 && !s.has_color);
	struct wled_info info;
	const char *si = "{\"state\":{},\"info\":{\"ver\":\"0.14.4\",\"product\":\"FOSS\"}}";
	cr_assert_eq(wled_parse_info(si, strlen(si), &info), 0);
	cr_assert_str_eq(info.version, "0.14.4");
	cr_assert_str_eq(info.product, "FOSS");
}

Test(wled_proto, refuses_what_is_not_a_state)
{
	struct wled_state s;
	const char *bad[] = {"",
			     "<html>",
			     "[]",
			     "{\"on\":\"yes\",\"bri\":1}",
			     "{\"on\":true}",
			     "{\"on\":true,\"bri\":256}",
			     "{\"on\":true,\"bri\":-1}",
			     "{\"on\":true,\"bri\":\"5\"}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(parse(bad[i], &s), -EINVAL, "%s", bad[i]);
	/* A colour out of range is ignored, not believed. */
	cr_assert_eq(parse("{\"on\":true,\"bri\":1,\"seg\":[{\"col\":[[300,0,0]]}]}", &s), 0);
	cr_assert_not(s.has_color);
}

Test(wled_proto, patch_is_smarthubs_light_state)
{
	struct wled_state s = {.on = true, .bri = 200, .has_color = true, .r = 1, .g = 2, .b = 3};
	cJSON *p = wled_state_to_patch(&s);
	char *t = cJSON_PrintUnformatted(p);
	cr_assert_str_eq(t, "{\"state\":\"ON\",\"brightness\":200,\"color\":{\"r\":1,\"g\":2,"
			    "\"b\":3},\"color_mode\":\"rgb\"}");
	free(t);
	cJSON_Delete(p);
	s = (struct wled_state){.on = true, .bri = 0};
	p = wled_state_to_patch(&s);
	cr_assert_str_eq(cJSON_GetObjectItem(p, "state")->valuestring, "OFF", "bri 0 is off");
	cJSON_Delete(p);
}

static char *body(const char *cmd)
{
	cJSON *c = cJSON_Parse(cmd);
	char *b = wled_command_body(c);
	cJSON_Delete(c);
	return b;
}

Test(wled_proto, command_bodies)
{
	char *b = body("{\"state\":\"ON\",\"brightness\":128,\"transition\":1.5}");
	cr_assert_str_eq(b, "{\"on\":true,\"bri\":128,\"transition\":15,\"v\":true}");
	free(b);
	b = body("{\"brightness\":0}");
	cr_assert_str_eq(b, "{\"on\":false,\"v\":true}");
	free(b);
	b = body("{\"color\":{\"r\":10,\"g\":20,\"b\":30}}");
	cr_assert_str_eq(b, "{\"seg\":[{\"id\":0,\"col\":[[10,20,30]]}],\"on\":true,\"v\":true}");
	free(b);
	b = body("{\"state\":\"TOGGLE\"}");
	cr_assert_str_eq(b, "{\"on\":\"t\",\"v\":true}");
	free(b);
	b = body("{\"state\":\"OFF\",\"transition\":6553}");
	cr_assert_str_eq(b, "{\"on\":false,\"transition\":65530,\"v\":true}");
	free(b);
}
