/* SPDX-License-Identifier: MIT */
/* Hue CLIP v2 conversions (plugins/hue/hue_proto.c). */
#include "hue_proto.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEN(s) (s), strlen(s)
#define ID_A "3f1c2e6a-6d7e-4f5b-9a1b-2c3d4e5f6a7b"
#define ID_B "9b8a7c6d-1e2f-4a3b-8c7d-6e5f4a3b2c1d"
#define ID_C "00000000-1e2f-4a3b-8c7d-6e5f4a3b2c1d"

static const char *lights =
	"{\"errors\":[],\"data\":["
	"{\"id\":\"" ID_A "\",\"type\":\"light\",\"metadata\":{\"name\":\"Living lamp\"},"
	"\"on\":{\"on\":true},\"dimming\":{\"brightness\":50.2},"
	"\"color_temperature\":{\"mirek\":366,\"mirek_valid\":true,"
	"\"mirek_schema\":{\"mirek_minimum\":153,\"mirek_maximum\":454}},"
	"\"color\":{\"xy\":{\"x\":0.4573,\"y\":0.41},\"gamut_type\":\"C\"}},"
	"{\"id\":\"" ID_B
	"\",\"type\":\"light\",\"metadata\":{\"name\":\"Hall\"},\"on\":{\"on\":false}},"
	"{\"id\":\"" ID_C
	"\",\"type\":\"light\",\"metadata\":{\"name\":\"Hall\"},\"on\":{\"on\":false}}"
	"]}";

Test(hue_proto, finds_a_light_by_id_or_name)
{
	char id[HUE_ID_MAX];
	cr_assert_eq(hue_find_light(LEN(lights), "Living lamp", id, sizeof(id)), 0);
	cr_assert_str_eq(id, ID_A);
	cr_assert_eq(hue_find_light(LEN(lights), ID_B, id, sizeof(id)), 0);
	cr_assert_str_eq(id, ID_B);
	cr_assert_eq(hue_find_light(LEN(lights), "Hall", id, sizeof(id)), -EEXIST);
	cr_assert_eq(hue_find_light(LEN(lights), "Kitchen", id, sizeof(id)), -ENOENT);
	cr_assert_eq(hue_find_light(LEN("{\"data\":{}}"), "x", id, sizeof(id)), -EINVAL);
}

Test(hue_proto, reads_a_light)
{
	struct hue_light l;
	cr_assert_eq(hue_parse_light(LEN(lights), ID_A, &l), 0);
	cr_assert(l.on && l.brightness == 50.2 && l.has_mirek && l.mirek == 366);
	cr_assert(l.mirek_min == 153 && l.mirek_max == 454 && l.has_color);
	cr_assert_str_eq(l.name, "Living lamp");
	cJSON *p = hue_light_to_patch(&l);
	char *t = cJSON_PrintUnformatted(p);
	cr_assert_str_eq(t, "{\"state\":\"ON\",\"brightness\":128,\"color_temp\":366,"
			    "\"color_mode\":\"color_temp\"}");
	free(t);
	cJSON_Delete(p);
	cr_assert_eq(hue_parse_light(LEN(lights), "nope", &l), -ENOENT);
	cr_assert_eq(hue_parse_light(LEN("[]"), ID_A, &l), -EINVAL);
}

Test(hue_proto, reads_update_events_for_one_light)
{
	const char *ev =
		"[{\"type\":\"update\",\"data\":["
		"{\"id\":\"" ID_B "\",\"type\":\"light\",\"on\":{\"on\":true}},"
		"{\"id\":\"" ID_A "\",\"type\":\"light\",\"dimming\":{\"brightness\":20}},"
		"{\"id\":\"" ID_A "\",\"type\":\"grouped_light\",\"on\":{\"on\":false}}]}]";
	struct hue_light l = {0};
	cr_assert_eq(hue_parse_event(LEN(ev), ID_A, &l), 1);
	cr_assert(l.has_brightness && l.brightness == 20 && !l.has_on);
	l = (struct hue_light){0};
	cr_assert_eq(hue_parse_event(LEN(ev), ID_C, &l), 0);
	cr_assert_eq(hue_parse_event(LEN("{\"type\":\"update\"}"), ID_A, &l), -EINVAL);
}

Test(hue_proto, colour_and_brightness_conversions)
{
	double x, y;
	hue_rgb_to_xy(255, 0, 0, &x, &y);
	cr_assert(fabs(x - 0.7006) < 0.002 && fabs(y - 0.2993) < 0.002, "%f %f", x, y);
	int r, g, b;
	hue_xy_to_rgb(x, y, &r, &g, &b);
	cr_assert(r == 255 && g < 20 && b < 20, "%d %d %d", r, g, b);
	for (int v = 1; v <= 255; v++)
		cr_assert_eq(hue_brightness_to_255(hue_brightness_from_255(v)), v, "%d", v);
	cr_assert_eq(hue_brightness_to_255(100), 255);
}

static char *body(const char *cmd, cJSON **patch)
{
	struct hue_light caps = {.mirek_min = 153, .mirek_max = 454};
	cJSON *c = cJSON_Parse(cmd);
	char *t = hue_command_body(c, &caps, patch);
	cJSON_Delete(c);
	return t;
}

Test(hue_proto, command_bodies)
{
	cJSON *patch;
	char *t = body("{\"state\":\"ON\",\"brightness\":128,\"transition\":0.4}", &patch);
	cr_assert_str_eq(t, "{\"dimming\":{\"brightness\":50.2},\"on\":{\"on\":true},"
			    "\"dynamics\":{\"duration\":400}}");
	char *p = cJSON_PrintUnformatted(patch);
	cr_assert_str_eq(p, "{\"brightness\":128,\"state\":\"ON\"}");
	free(p);
	free(t);
	cJSON_Delete(patch);
	t = body("{\"color_temp\":500}", NULL);
	cr_assert_str_eq(t, "{\"color_temperature\":{\"mirek\":454},\"on\":{\"on\":true}}");
	free(t);
	t = body("{\"brightness\":0}", NULL);
	cr_assert_str_eq(t, "{\"on\":{\"on\":false}}");
	free(t);
	t = body("{\"color\":{\"r\":0,\"g\":0,\"b\":255},\"flash\":2}", NULL);
	cr_assert(strstr(t, "\"color\":{\"xy\":{\"x\":0.1") && strstr(t, "\"alert\""), "%s", t);
	free(t);
}

Test(hue_proto, pairing_answers)
{
	char key[64], msg[64];
	cr_assert_eq(hue_parse_pairing(LEN("[{\"success\":{\"username\":\"abc-DEF_1\","
					   "\"clientkey\":\"00\"}}]"),
				       key, sizeof(key), msg, sizeof(msg)),
		     0);
	cr_assert_str_eq(key, "abc-DEF_1");
	cr_assert_eq(hue_parse_pairing(LEN("[{\"error\":{\"type\":101,\"description\":"
					   "\"link button not pressed\"}}]"),
				       key, sizeof(key), msg, sizeof(msg)),
		     -EAGAIN);
	cr_assert_str_eq(msg, "link button not pressed");
	cr_assert_eq(hue_parse_pairing(LEN("[{\"success\":{\"username\":\"a\\nb\"}}]"), key,
				       sizeof(key), msg, sizeof(msg)),
		     -EINVAL, "a key that could forge a line is refused");
}

static char seen[4][256];
static int n_seen;

static void on_event(void *ctx, const char *data, size_t len)
{
	if (n_seen < 4)
		snprintf(seen[n_seen++], sizeof(seen[0]), "%.*s", (int)len, data);
}

Test(hue_proto, sse_framing)
{
	struct hue_sse *s = calloc(1, sizeof(*s));
	const char *stream = ": hi\n\nid: 1:0\ndata: [1,\ndata: 2]\n\nda";
	n_seen = 0;
	hue_sse_feed(s, stream, strlen(stream), on_event, NULL);
	cr_assert_eq(n_seen, 1);
	cr_assert_str_eq(seen[0], "[1,\n2]");
	hue_sse_feed(s, LEN("ta:[3]\r\n\r\n"), on_event, NULL);
	cr_assert_eq(n_seen, 2);
	cr_assert_str_eq(seen[1], "[3]");
	free(s);
}
