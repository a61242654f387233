/* SPDX-License-Identifier: MIT */
/*
 * The Yeelight message parser, request formatter and unit conversions (see
 * yl_proto.h). Pure functions; the only allocations are cJSON's, freed
 * before returning (except the patch yl_props_to_state hands over).
 */
#define _GNU_SOURCE /* strcasestr */
#include "yl_proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void copy_text(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* A property value as the bulb sends it: mostly strings ("50"), some
 * firmware sends numbers. */
static bool value_long(const cJSON *v, long *out)
{
	if (cJSON_IsNumber(v)) {
		if (v->valuedouble < -2147483648.0 || v->valuedouble > 2147483647.0)
			return false;
		*out = (long)v->valuedouble;
		return true;
	}
	if (cJSON_IsString(v) && v->valuestring[0]) {
		char *end;
		errno = 0;
		long x = strtol(v->valuestring, &end, 10);
		if (errno || *end)
			return false;
		*out = x;
		return true;
	}
	return false;
}

/* Fills one property from its name and value; unknown names are ignored,
 * and so are values out of the bulb's range. */
static void prop_set(struct yl_props *p, const char *name, const cJSON *v)
{
	long x;

	if (strcmp(name, "power") == 0 && cJSON_IsString(v)) {
		if (strcmp(v->valuestring, "on") == 0 || strcmp(v->valuestring, "off") == 0) {
			p->has_power = true;
			p->power = strcmp(v->valuestring, "on") == 0;
		}
	} else if (strcmp(name, "bright") == 0 && value_long(v, &x) && x >= 0 && x <= 100) {
		p->has_bright = true;
		p->bright = (int)x;
	} else if (strcmp(name, "ct") == 0 && value_long(v, &x) && x >= 1000 && x <= 10000) {
		p->has_ct = true;
		p->ct = (int)x;
	} else if (strcmp(name, "rgb") == 0 && value_long(v, &x) && x >= 0 && x <= 0xffffff) {
		p->has_rgb = true;
		p->rgb = x;
	} else if (strcmp(name, "color_mode") == 0 && value_long(v, &x) && x >= 1 && x <= 3) {
		p->has_color_mode = true;
		p->color_mode = (int)x;
	}
}

int yl_parse_message(const char *buf, size_t len, struct yl_message *msg)
{
	int ret = -EPROTO;

	memset(msg, 0, sizeof(*msg));
	msg->id = -1;
	cJSON *root = cJSON_ParseWithLength(buf, len);
	if (!cJSON_IsObject(root))
		goto out;

	const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
	if (cJSON_IsNumber(id) && id->valuedouble >= 0 && id->valuedouble <= 4294967295.0)
		msg->id = (long long)id->valuedouble;

	const cJSON *method = cJSON_GetObjectItemCaseSensitive(root, "method");
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(root, "result");
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (cJSON_IsString(method) && strcmp(method->valuestring, "props") == 0) {
		const cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "params");
		if (!cJSON_IsObject(params))
			goto out;
		msg->type = YL_MSG_PROPS;
		const cJSON *item;
		cJSON_ArrayForEach(item, params)
		{
			if (item->string)
				prop_set(&msg->props, item->string, item);
		}
		ret = 0;
	} else if (cJSON_IsArray(result) && msg->id >= 0) {
		msg->type = YL_MSG_RESULT;
		const cJSON *item;
		cJSON_ArrayForEach(item, result)
		{
			if (msg->n_result >= YL_RESULT_MAX)
				break;
			char *text = msg->result[msg->n_result++];
			if (cJSON_IsString(item))
				copy_text(text, YL_TEXT_MAX, item->valuestring);
			else if (cJSON_IsNumber(item))
				snprintf(text, YL_TEXT_MAX, "%.0f", item->valuedouble);
			else
				text[0] = '\0';
		}
		ret = 0;
	} else if (cJSON_IsObject(error) && msg->id >= 0) {
		msg->type = YL_MSG_ERROR;
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(error, "code");
		const cJSON *message = cJSON_GetObjectItemCaseSensitive(error, "message");
		msg->error_code = cJSON_IsNumber(code) ? code->valueint : 0;
		copy_text(msg->error_message, sizeof(msg->error_message),
			  cJSON_IsString(message) ? message->valuestring : "bulb error");
		ret = 0;
	}
out:
	cJSON_Delete(root);
	return ret;
}

int yl_props_from_get_prop(const struct yl_message *msg, struct yl_props *props)
{
	static const char *const names[] = {"power", "bright", "ct", "rgb", "color_mode"};

	memset(props, 0, sizeof(*props));
	if (msg->type != YL_MSG_RESULT || msg->n_result < 5)
		return -EPROTO;
	for (size_t i = 0; i < 5; i++) {
		cJSON *v = cJSON_CreateString(msg->result[i]);
		if (!v)
			return -ENOMEM;
		prop_set(props, names[i], v);
		cJSON_Delete(v);
	}
	return 0;
}

cJSON *yl_props_to_state(const struct yl_props *p)
{
	cJSON *patch = cJSON_CreateObject();
	if (!patch)
		return NULL;
	if (p->has_power)
		cJSON_AddStringToObject(patch, "state", p->power ? "ON" : "OFF");
	if (p->has_bright && p->bright > 0)
		cJSON_AddNumberToObject(patch, "brightness", yl_bright_to_255(p->bright));
	if (p->has_ct)
		cJSON_AddNumberToObject(patch, "color_temp", yl_mireds_from_kelvin(p->ct));
	if (p->has_rgb) {
		cJSON *color = cJSON_AddObjectToObject(patch, "color");
		if (color) {
			cJSON_AddNumberToObject(color, "r", (p->rgb >> 16) & 0xff);
			cJSON_AddNumberToObject(color, "g", (p->rgb >> 8) & 0xff);
			cJSON_AddNumberToObject(color, "b", p->rgb & 0xff);
		}
	}
	if (p->has_color_mode) {
		/* Mode 3 (HSV) is reported as rgb, with the rgb property, since
		 * a light kind takes no hs commands and discovery advertises
		 * color_temp and rgb: an "hs" state would make HA log
		 * "Invalid color mode" and drop the colour. */
		static const char *const modes[] = {"", "rgb", "color_temp", "rgb"};
		cJSON_AddStringToObject(patch, "color_mode", modes[p->color_mode]);
	}
	return patch;
}

bool yl_error_is_quota(const struct yl_message *msg)
{
	return msg->type == YL_MSG_ERROR && strcasestr(msg->error_message, "quota") != NULL;
}

int yl_format_request(char *buf, size_t size, uint32_t id, const char *method,
		      const char *params_json)
{
	int n = snprintf(buf, size, "{\"id\":%u,\"method\":\"%s\",\"params\":%s}\r\n", id, method,
			 params_json);
	if (n < 0 || (size_t)n >= size)
		return -ENOBUFS;
	return n;
}

uint32_t yl_id_next(uint32_t last)
{
	return last >= YL_ID_MAX ? 1 : last + 1;
}

int yl_bright_from_255(int b)
{
	int pct = (b * 100 + 127) / 255;
	if (pct < 1)
		pct = 1;
	return pct > 100 ? 100 : pct;
}

int yl_bright_to_255(int percent)
{
	if (percent < 0)
		percent = 0;
	if (percent > 100)
		percent = 100;
	return (percent * 255 + 50) / 100;
}

int yl_kelvin_from_mireds(int mireds)
{
	if (mireds <= 0)
		return YL_CT_MAX;
	int k = (1000000 + mireds / 2) / mireds;
	if (k < YL_CT_MIN)
		k = YL_CT_MIN;
	return k > YL_CT_MAX ? YL_CT_MAX : k;
}

int yl_mireds_from_kelvin(int kelvin)
{
	if (kelvin <= 0)
		return YL_MIREDS_MAX;
	int m = (1000000 + kelvin / 2) / kelvin;
	if (m < YL_MIREDS_MIN)
		m = YL_MIREDS_MIN;
	return m > YL_MIREDS_MAX ? YL_MIREDS_MAX : m;
}
