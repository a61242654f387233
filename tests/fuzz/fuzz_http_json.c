// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the HTTP drivers' response parsers: every input is a
 * body a WLED controller, a Shelly (Gen1 or Gen2+) or a Hue bridge (a
 * CLIP v2 answer, an event stream, a pairing answer) could send. Each
 * parser reads it; what a driver would publish is built and checked
 * against the light and switch kinds' ranges.
 */
#include "hue_proto.h"
#include "shelly_proto.h"
#include "wled_proto.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ID "3f1c2e6a-6d7e-4f5b-9a1b-2c3d4e5f6a7b"

static void check_number(const cJSON *patch, const char *key, double min, double max)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(patch, key);
	if (v && (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < min ||
		  v->valuedouble > max))
		abort();
}

static void check_light(cJSON *patch)
{
	if (!patch)
		return;
	check_number(patch, "brightness", 0, 255);
	check_number(patch, "color_temp", 153, 500);
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(patch, "color");
	if (c) {
		check_number(c, "r", 0, 255);
		check_number(c, "g", 0, 255);
		check_number(c, "b", 0, 255);
	}
	char *text = cJSON_PrintUnformatted(patch);
	free(text);
	cJSON_Delete(patch);
}

static void on_sse(void *ctx, const char *data, size_t len)
{
	struct hue_light l = {0};
	if (hue_parse_event(data, len, ID, &l) > 0)
		check_light(hue_light_to_patch(&l));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json = (const char *)data;

	struct wled_state ws;
	if (wled_parse_state(json, size, &ws) == 0)
		check_light(wled_state_to_patch(&ws));
	struct wled_info wi;
	(void)wled_parse_info(json, size, &wi);

	struct shelly_info si;
	(void)shelly_parse_info(json, size, &si);
	struct shelly_switch sw;
	for (unsigned ch = 0; ch < 2; ch++)
		if (shelly_parse_gen1_status(json, size, ch, &sw) == 0)
			cJSON_Delete(shelly_switch_to_patch(&sw));
	if (shelly_parse_gen1_relay(json, size, &sw) == 0)
		cJSON_Delete(shelly_switch_to_patch(&sw));
	if (shelly_parse_gen2_status(json, size, &sw) == 0) {
		cJSON *p = shelly_switch_to_patch(&sw);
		check_number(p, "power", -1e300, 1e300);
		cJSON_Delete(p);
	}
	char msg[128], key[128], id[HUE_ID_MAX];
	(void)shelly_parse_gen2_error(json, size, msg, sizeof(msg));

	if (hue_find_light(json, size, "Living lamp", id, sizeof(id)) == 0 &&
	    strlen(id) >= sizeof(id))
		abort();
	struct hue_light hl;
	if (hue_parse_light(json, size, ID, &hl) == 0)
		check_light(hue_light_to_patch(&hl));
	(void)hue_parse_errors(json, size, msg, sizeof(msg));
	if (hue_parse_pairing(json, size, key, sizeof(key), msg, sizeof(msg)) == 0 &&
	    strpbrk(key, "\r\n\"\\"))
		abort();
	static struct hue_sse sse;
	hue_sse_reset(&sse);
	hue_sse_feed(&sse, json, size, on_sse, NULL);
	return 0;
}
