/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the Yeelight protocol module (plugins/yeelight/yl_proto.c):
 * answers, errors, props notifications, get_prop results, request lines
 * and the unit conversions between the bulb and smarthub's light.
 */
#include "yl_proto.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define PARSE(text, m) yl_parse_message(text, strlen(text), m)

static int num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	cr_assert(cJSON_IsNumber(v), "%s is a number", k);
	return v->valueint;
}

Test(yeelight_proto, result)
{
	struct yl_message m;
	cr_assert_eq(PARSE("{\"id\":7,\"result\":[\"ok\"]}", &m), 0);
	cr_assert_eq(m.type, YL_MSG_RESULT);
	cr_assert_eq(m.id, 7);
	cr_assert_eq(m.n_result, 1);
	cr_assert_str_eq(m.result[0], "ok");
}

Test(yeelight_proto, error_and_quota)
{
	struct yl_message m;
	cr_assert_eq(
		PARSE("{\"id\":3,\"error\":{\"code\":-1,\"message\":\"unsupported method\"}}", &m),
		0);
	cr_assert_eq(m.type, YL_MSG_ERROR);
	cr_assert_eq(m.id, 3);
	cr_assert_eq(m.error_code, -1);
	cr_assert_str_eq(m.error_message, "unsupported method");
	cr_assert_not(yl_error_is_quota(&m));
	cr_assert_eq(
		PARSE("{\"id\":4,\"error\":{\"code\":-1,\"message\":\"client quota exceeded\"}}",
		      &m),
		0);
	cr_assert(yl_error_is_quota(&m));
}

Test(yeelight_proto, props_notification)
{
	struct yl_message m;
	const char *line = "{\"method\":\"props\",\"params\":{\"power\":\"on\",\"bright\":\"50\","
			   "\"ct\":4000,\"rgb\":\"16711935\",\"color_mode\":\"1\",\"flowing\":0}}";
	cr_assert_eq(PARSE(line, &m), 0);
	cr_assert_eq(m.type, YL_MSG_PROPS);
	cr_assert_eq(m.id, -1);
	cJSON *s = yl_props_to_state(&m.props);
	cr_assert_str_eq(cJSON_GetObjectItem(s, "state")->valuestring, "ON");
	cr_assert_eq(num(s, "brightness"), 128);
	cr_assert_eq(num(s, "color_temp"), 250);
	cJSON *c = cJSON_GetObjectItem(s, "color");
	cr_assert(num(c, "r") == 255 && num(c, "g") == 0 && num(c, "b") == 255);
	cr_assert_str_eq(cJSON_GetObjectItem(s, "color_mode")->valuestring, "rgb");
	cJSON_Delete(s);
}

Test(yeelight_proto, partial_props_and_bad_values)
{
	struct yl_message m;
	cr_assert_eq(PARSE("{\"method\":\"props\",\"params\":{\"power\":\"maybe\",\"bright\":\"x\","
			   "\"ct\":\"99999\",\"rgb\":-5}}",
			   &m),
		     0);
	cJSON *s = yl_props_to_state(&m.props);
	cr_assert_eq(cJSON_GetArraySize(s), 0, "nothing usable, nothing published");
	cJSON_Delete(s);
}

Test(yeelight_proto, get_prop)
{
	struct yl_message m;
	struct yl_props p;
	cr_assert_eq(PARSE("{\"id\":1,\"result\":[\"off\",\"100\",\"2700\",\"255\",\"2\"]}", &m),
		     0);
	cr_assert_eq(yl_props_from_get_prop(&m, &p), 0);
	cr_assert(p.has_power && !p.power);
	cr_assert(p.has_bright && p.bright == 100);
	cr_assert(p.has_ct && p.ct == 2700);
	cr_assert(p.has_rgb && p.rgb == 255);
	cr_assert(p.has_color_mode && p.color_mode == 2);

	/* A white-only bulb answers "" for rgb. */
	cr_assert_eq(PARSE("{\"id\":1,\"result\":[\"on\",\"10\",\"4000\",\"\",\"2\"]}", &m), 0);
	cr_assert_eq(yl_props_from_get_prop(&m, &p), 0);
	cr_assert_not(p.has_rgb);

	cr_assert_eq(PARSE("{\"id\":1,\"result\":[\"ok\"]}", &m), 0);
	cr_assert_eq(yl_props_from_get_prop(&m, &p), -EPROTO);
}

Test(yeelight_proto, malformed)
{
	struct yl_message m;
	cr_assert_eq(PARSE("", &m), -EPROTO);
	cr_assert_eq(PARSE("{\"id\":1", &m), -EPROTO);
	cr_assert_eq(PARSE("[1,2]", &m), -EPROTO);
	cr_assert_eq(PARSE("{\"result\":[\"ok\"]}", &m), -EPROTO, "a result needs an id");
	cr_assert_eq(PARSE("{\"method\":\"props\",\"params\":[1]}", &m), -EPROTO);
	cr_assert_eq(PARSE("{\"id\":-4,\"result\":[]}", &m), -EPROTO);
}

Test(yeelight_proto, long_results_are_bounded)
{
	struct yl_message m;
	char line[4096] = "{\"id\":2,\"result\":[";
	for (int i = 0; i < 20; i++)
		strcat(line, i ? ",\"v\"" : "\"v\"");
	strcat(line, ",\"");
	memset(line + strlen(line), 'x', 1000);
	strcat(line, "\"]}");
	cr_assert_eq(PARSE(line, &m), 0);
	cr_assert_eq(m.n_result, YL_RESULT_MAX);
}

Test(yeelight_proto, request_line)
{
	char buf[YL_REQUEST_MAX];
	int n = yl_format_request(buf, sizeof(buf), 42, "set_power", "[\"on\",\"smooth\",500]");
	const char *want =
		"{\"id\":42,\"method\":\"set_power\",\"params\":[\"on\",\"smooth\",500]}\r\n";
	cr_assert_eq(n, (int)strlen(want));
	cr_assert_str_eq(buf, want);
	char small[16];
	cr_assert_eq(yl_format_request(small, sizeof(small), 1, "set_power", "[]"), -ENOBUFS);
}

Test(yeelight_proto, conversions)
{
	cr_assert_eq(yl_bright_from_255(255), 100);
	cr_assert_eq(yl_bright_from_255(1), 1, "the dimmest on is 1%%");
	cr_assert_eq(yl_bright_from_255(128), 50);
	cr_assert_eq(yl_bright_to_255(100), 255);
	cr_assert_eq(yl_bright_to_255(1), 3);
	/* A round trip is stable, so the state does not flap. */
	for (int b = 1; b <= 255; b++) {
		int once = yl_bright_to_255(yl_bright_from_255(b));
		cr_assert_eq(yl_bright_to_255(yl_bright_from_255(once)), once);
	}
	cr_assert_eq(yl_kelvin_from_mireds(153), 6500, "clamped to the bulb's coolest");
	cr_assert_eq(yl_kelvin_from_mireds(500), 2000);
	cr_assert_eq(yl_kelvin_from_mireds(250), 4000);
	cr_assert_eq(yl_mireds_from_kelvin(4000), 250);
	cr_assert_eq(yl_mireds_from_kelvin(1700), 500, "clamped to smarthub's range");
	cr_assert_eq(yl_mireds_from_kelvin(6500), 154);
}

Test(yeelight_proto, ids_wrap_and_skip_zero)
{
	cr_assert_eq(yl_id_next(0), 1);
	cr_assert_eq(yl_id_next(41), 42);
	cr_assert_eq(yl_id_next(YL_ID_MAX - 1), YL_ID_MAX);
	cr_assert_eq(yl_id_next(YL_ID_MAX), 1);
	/* An answer's id is read back the same for the largest id. */
	char line[64];
	struct yl_message m;
	snprintf(line, sizeof(line), "{\"id\":%u,\"result\":[\"ok\"]}", YL_ID_MAX);
	cr_assert_eq(PARSE(line, &m), 0);
	cr_assert_eq(m.id, (long long)YL_ID_MAX);
}

/* Issue 18: HSV mode (3) is reported as a colour mode discovery
 * advertises (rgb), never "hs". */
Test(yeelight_proto, hsv_mode_reports_an_advertised_color_mode)
{
	struct yl_message m;
	const char *line =
		"{\"method\":\"props\",\"params\":{\"rgb\":\"255\",\"color_mode\":\"3\"}}";
	cr_assert_eq(PARSE(line, &m), 0);
	cJSON *s = yl_props_to_state(&m.props);
	cr_assert_str_eq(cJSON_GetObjectItem(s, "color_mode")->valuestring, "rgb");
	cJSON_Delete(s);
}
