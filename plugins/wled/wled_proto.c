/* SPDX-License-Identifier: MIT */
/*
 * WLED JSON API conversions; see wled_proto.h. Everything read from the
 * device is checked for type and range before it is used, and the command
 * body is built with cJSON from numbers only, so no text of a payload ever
 * reaches the device.
 */
#include "wled_proto.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static bool int_in(const cJSON *item, int min, int max, int *out)
{
	if (!cJSON_IsNumber(item) || isnan(item->valuedouble) || item->valuedouble < min ||
	    item->valuedouble > max)
		return false;
	*out = (int)item->valuedouble;
	return true;
}

static void read_color(const cJSON *state, struct wled_state *out)
{
	const cJSON *seg = cJSON_GetObjectItemCaseSensitive(state, "seg");
	const cJSON *s0 = cJSON_IsArray(seg) ? cJSON_GetArrayItem(seg, 0) : NULL;
	const cJSON *col = cJSON_GetObjectItemCaseSensitive(s0, "col");
	const cJSON *c0 = cJSON_IsArray(col) ? cJSON_GetArrayItem(col, 0) : NULL;
	int v[3];

	if (!cJSON_IsArray(c0) || cJSON_GetArraySize(c0) < 3)
		return;
	for (int i = 0; i < 3; i++)
		if (!int_in(cJSON_GetArrayItem(c0, i), 0, 255, &v[i]))
			return;
	out->has_color = true;
	out->r = v[0];
	out->g = v[1];
	out->b = v[2];
}

int wled_parse_state(const char *json, size_t len, struct wled_state *out)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *state = root;
	int err = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(root))
		goto out;
	if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "state")))
		state = cJSON_GetObjectItemCaseSensitive(root, "state");
	const cJSON *on = cJSON_GetObjectItemCaseSensitive(state, "on");
	if (!cJSON_IsBool(on) ||
	    !int_in(cJSON_GetObjectItemCaseSensitive(state, "bri"), 0, 255, &out->bri))
		goto out;
	out->on = cJSON_IsTrue(on);
	read_color(state, out);
	err = 0;
out:
	cJSON_Delete(root);
	return err;
}

static void copy_text(char *dst, const cJSON *item)
{
	if (cJSON_IsString(item))
		snprintf(dst, WLED_TEXT_MAX, "%s", item->valuestring);
}

int wled_parse_info(const char *json, size_t len, struct wled_info *out)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *info = cJSON_GetObjectItemCaseSensitive(root, "info");
	int err = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (cJSON_IsObject(info)) {
		copy_text(out->name, cJSON_GetObjectItemCaseSensitive(info, "name"));
		copy_text(out->version, cJSON_GetObjectItemCaseSensitive(info, "ver"));
		copy_text(out->product, cJSON_GetObjectItemCaseSensitive(info, "product"));
		err = 0;
	}
	cJSON_Delete(root);
	return err;
}

cJSON *wled_state_to_patch(const struct wled_state *s)
{
	cJSON *p = cJSON_CreateObject();
	if (!p)
		return NULL;
	bool ok = cJSON_AddStringToObject(p, "state", s->on && s->bri > 0 ? "ON" : "OFF") &&
		  cJSON_AddNumberToObject(p, "brightness", s->bri);
	if (ok && s->has_color) {
		cJSON *c = cJSON_AddObjectToObject(p, "color");
		ok = c && cJSON_AddNumberToObject(c, "r", s->r) &&
		     cJSON_AddNumberToObject(c, "g", s->g) &&
		     cJSON_AddNumberToObject(c, "b", s->b) &&
		     cJSON_AddStringToObject(p, "color_mode", "rgb");
	}
	if (!ok) {
		cJSON_Delete(p);
		return NULL;
	}
	return p;
}

char *wled_command_body(const cJSON *cmd)
{
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(cmd, "state");
	const cJSON *bri = cJSON_GetObjectItemCaseSensitive(cmd, "brightness");
	const cJSON *color = cJSON_GetObjectItemCaseSensitive(cmd, "color");
	const cJSON *tr = cJSON_GetObjectItemCaseSensitive(cmd, "transition");
	cJSON *body = cJSON_CreateObject();
	bool ok = body != NULL;
	int v;

	if (ok && cJSON_IsString(state)) {
		if (strcmp(state->valuestring, "TOGGLE") == 0)
			ok = cJSON_AddStringToObject(body, "on", "t") != NULL;
		else
			ok = cJSON_AddBoolToObject(body, "on",
						   strcmp(state->valuestring, "ON") == 0);
	}
	if (ok && int_in(bri, 0, 255, &v)) {
		if (v == 0) {
			cJSON_DeleteItemFromObjectCaseSensitive(body, "on");
			ok = cJSON_AddBoolToObject(body, "on", false) != NULL;
		} else {
			ok = cJSON_AddNumberToObject(body, "bri", v) != NULL;
			/* Brightness on a strip that is off turns it on, as
			 * Home Assistant expects of a light. */
			if (ok && !cJSON_IsString(state))
				ok = cJSON_AddBoolToObject(body, "on", true) != NULL;
		}
	}
	if (ok && cJSON_IsNumber(tr) && tr->valuedouble >= 0) {
		double units = floor(tr->valuedouble * 10.0 + 0.5);
		if (units > WLED_TRANSITION_MAX)
			units = WLED_TRANSITION_MAX;
		ok = cJSON_AddNumberToObject(body, "transition", units) != NULL;
	}
	if (ok && cJSON_IsObject(color)) {
		int rgb[3] = {0, 0, 0};
		const char *names[3] = {"r", "g", "b"};
		for (int i = 0; i < 3; i++)
			if (!int_in(cJSON_GetObjectItemCaseSensitive(color, names[i]), 0, 255,
				    &rgb[i]))
				rgb[i] = 0;
		cJSON *seg = cJSON_AddArrayToObject(body, "seg");
		cJSON *s0 = cJSON_CreateObject();
		cJSON *col = cJSON_CreateArray();
		cJSON *c0 = cJSON_CreateIntArray(rgb, 3);
		ok = seg && s0 && col && c0;
		if (ok) {
			cJSON_AddItemToArray(col, c0);
			cJSON_AddNumberToObject(s0, "id", 0);
			cJSON_AddItemToObject(s0, "col", col);
			cJSON_AddItemToArray(seg, s0);
		} else {
			cJSON_Delete(s0);
			cJSON_Delete(col);
			cJSON_Delete(c0);
		}
		if (ok && !cJSON_GetObjectItemCaseSensitive(body, "on"))
			ok = cJSON_AddBoolToObject(body, "on", true) != NULL;
	}
	if (ok)
		ok = cJSON_AddBoolToObject(body, "v", true) != NULL;
	char *text = ok ? cJSON_PrintUnformatted(body) : NULL;
	cJSON_Delete(body);
	return text;
}
