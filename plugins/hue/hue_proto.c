/* SPDX-License-Identifier: MIT */
/*
 * Hue CLIP v2 conversions; see hue_proto.h. Everything read from the
 * bridge is checked for type and range; the command body is built with
 * cJSON from numbers and fixed words only.
 */
#include "hue_proto.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* The bridge's mirek range when a light does not say. */
#define HUE_MIREK_MIN 153
#define HUE_MIREK_MAX 500

static const cJSON *get(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

static bool num(const cJSON *item, double min, double max, double *out)
{
	if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble) || item->valuedouble < min ||
	    item->valuedouble > max)
		return false;
	*out = item->valuedouble;
	return true;
}

/* --- conversions --------------------------------------------------------------- */

static double gamma_in(double v)
{
	return v > 0.04045 ? pow((v + 0.055) / 1.055, 2.4) : v / 12.92;
}

static double gamma_out(double v)
{
	return v <= 0.0031308 ? 12.92 * v : 1.055 * pow(v, 1.0 / 2.4) - 0.055;
}

void hue_rgb_to_xy(int r, int g, int b, double *x, double *y)
{
	double R = gamma_in(r / 255.0), G = gamma_in(g / 255.0), B = gamma_in(b / 255.0);
	double X = R * 0.664511 + G * 0.154324 + B * 0.162028;
	double Y = R * 0.283881 + G * 0.668433 + B * 0.047685;
	double Z = R * 0.000088 + G * 0.072310 + B * 0.986039;
	double sum = X + Y + Z;

	if (sum <= 0) { /* black has no chromaticity: say white (D65) */
		*x = 0.3127;
		*y = 0.3290;
		return;
	}
	*x = round(X / sum * 10000.0) / 10000.0;
	*y = round(Y / sum * 10000.0) / 10000.0;
}

void hue_xy_to_rgb(double x, double y, int *r, int *g, int *b)
{
	if (y <= 0.0001)
		y = 0.0001;
	double Y = 1.0, X = Y / y * x, Z = Y / y * (1.0 - x - y);
	double c[3] = {
		X * 1.656492 - Y * 0.354851 - Z * 0.255038,
		-X * 0.707196 + Y * 1.655397 + Z * 0.036152,
		X * 0.051713 - Y * 0.121364 + Z * 1.011530,
	};
	double max = 0;
	for (int i = 0; i < 3; i++) {
		if (c[i] < 0 || !isfinite(c[i]))
			c[i] = 0;
		if (c[i] > max)
			max = c[i];
	}
	int out[3];
	for (int i = 0; i < 3; i++) {
		double v = max > 0 ? gamma_out(c[i] / max) : 0;
		out[i] = (int)lround(fmin(fmax(v, 0.0), 1.0) * 255.0);
	}
	*r = out[0];
	*g = out[1];
	*b = out[2];
}

int hue_brightness_to_255(double percent)
{
	long v = lround(percent * 2.55);
	return v < 0 ? 0 : v > 255 ? 255 : (int)v;
}

double hue_brightness_from_255(int value)
{
	return round(value / 2.55 * 100.0) / 100.0;
}

/* --- reading ------------------------------------------------------------------- */

/* Merges the parts of one light resource into *out. */
static void read_light(const cJSON *res, struct hue_light *out)
{
	double v, w;
	const cJSON *on = get(get(res, "on"), "on");
	if (cJSON_IsBool(on)) {
		out->has_on = true;
		out->on = cJSON_IsTrue(on);
	}
	if (num(get(get(res, "dimming"), "brightness"), 0, 100, &v)) {
		out->has_brightness = true;
		out->brightness = v;
	}
	const cJSON *ct = get(res, "color_temperature");
	if (cJSON_IsObject(ct)) {
		const cJSON *valid = get(ct, "mirek_valid");
		if (num(get(ct, "mirek"), 50, 1000, &v) && !cJSON_IsFalse(valid)) {
			out->has_mirek = true;
			out->mirek = (int)v;
		} else if (cJSON_IsFalse(valid) || cJSON_IsNull(get(ct, "mirek"))) {
			out->has_mirek = false;
		}
		const cJSON *schema = get(ct, "mirek_schema");
		if (num(get(schema, "mirek_minimum"), 50, 1000, &v) &&
		    num(get(schema, "mirek_maximum"), 50, 1000, &w) && v <= w) {
			out->mirek_min = (int)v;
			out->mirek_max = (int)w;
		}
	}
	const cJSON *color = get(res, "color");
	const cJSON *xy = get(color, "xy");
	if (num(get(xy, "x"), 0, 1, &v) && num(get(xy, "y"), 0, 1, &w)) {
		out->has_xy = true;
		out->x = v;
		out->y = w;
	}
	if (cJSON_IsObject(get(color, "gamut")) || cJSON_IsString(get(color, "gamut_type")))
		out->has_color = true;
	const cJSON *name = get(get(res, "metadata"), "name");
	if (cJSON_IsString(name))
		snprintf(out->name, sizeof(out->name), "%s", name->valuestring);
}

static bool is_light(const cJSON *res)
{
	const cJSON *type = get(res, "type");
	return cJSON_IsObject(res) && cJSON_IsString(type) &&
	       strcmp(type->valuestring, "light") == 0 && cJSON_IsString(get(res, "id"));
}

int hue_find_light(const char *json, size_t len, const char *wanted, char *id_out, size_t size)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *data = get(root, "data");
	const cJSON *res;
	int found = 0, err = -EINVAL;

	if (!cJSON_IsArray(data))
		goto out;
	cJSON_ArrayForEach(res, data)
	{
		if (is_light(res) && strcmp(get(res, "id")->valuestring, wanted) == 0) {
			snprintf(id_out, size, "%s", wanted);
			err = 0;
			goto out;
		}
	}
	cJSON_ArrayForEach(res, data)
	{
		const cJSON *name = get(get(res, "metadata"), "name");
		if (is_light(res) && cJSON_IsString(name) &&
		    strcmp(name->valuestring, wanted) == 0) {
			if (found++ == 0)
				snprintf(id_out, size, "%s", get(res, "id")->valuestring);
		}
	}
	err = found == 1 ? 0 : found ? -EEXIST : -ENOENT;
out:
	cJSON_Delete(root);
	return err;
}

int hue_parse_light(const char *json, size_t len, const char *id, struct hue_light *out)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *data = get(root, "data");
	const cJSON *res;
	int err = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsArray(data))
		goto out;
	err = -ENOENT;
	cJSON_ArrayForEach(res, data)
	{
		if (is_light(res) && strcmp(get(res, "id")->valuestring, id) == 0) {
			read_light(res, out);
			err = out->has_on ? 0 : -EINVAL;
			break;
		}
	}
out:
	cJSON_Delete(root);
	return err;
}

int hue_parse_event(const char *json, size_t len, const char *id, struct hue_light *out)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *ev, *res;
	int seen = 0;

	if (!cJSON_IsArray(root)) {
		cJSON_Delete(root);
		return -EINVAL;
	}
	cJSON_ArrayForEach(ev, root)
	{
		const cJSON *type = get(ev, "type");
		if (!cJSON_IsString(type) || strcmp(type->valuestring, "update") != 0)
			continue;
		cJSON_ArrayForEach(res, get(ev, "data"))
		{
			if (is_light(res) && strcmp(get(res, "id")->valuestring, id) == 0) {
				read_light(res, out);
				seen = 1;
			}
		}
	}
	cJSON_Delete(root);
	return seen;
}

int hue_parse_errors(const char *json, size_t len, char *msg, size_t size)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *e;
	size_t n = 0;

	if (size)
		msg[0] = '\0';
	cJSON_ArrayForEach(e, get(root, "errors"))
	{
		const cJSON *d = get(e, "description");
		if (cJSON_IsString(d) && n < size) {
			int k = snprintf(msg + n, size - n, "%s%s", n ? "; " : "", d->valuestring);
			n = k < 0 ? size : n + (size_t)k;
		}
	}
	cJSON_Delete(root);
	return n ? 0 : -EINVAL;
}

cJSON *hue_light_to_patch(const struct hue_light *l)
{
	cJSON *p = cJSON_CreateObject();
	bool ok = p != NULL;

	if (ok && l->has_on)
		ok = cJSON_AddStringToObject(p, "state", l->on ? "ON" : "OFF") != NULL;
	if (ok && l->has_brightness) {
		int b = hue_brightness_to_255(l->brightness);
		ok = cJSON_AddNumberToObject(p, "brightness", b < 1 ? 1 : b) != NULL;
	}
	if (ok && l->has_mirek) {
		int m = l->mirek < HUE_MIREK_MIN   ? HUE_MIREK_MIN
			: l->mirek > HUE_MIREK_MAX ? HUE_MIREK_MAX
						   : l->mirek;
		ok = cJSON_AddNumberToObject(p, "color_temp", m) &&
		     cJSON_AddStringToObject(p, "color_mode", "color_temp");
	} else if (ok && l->has_xy) {
		int rgb[3];
		hue_xy_to_rgb(l->x, l->y, &rgb[0], &rgb[1], &rgb[2]);
		cJSON *c = cJSON_AddObjectToObject(p, "color");
		ok = c && cJSON_AddNumberToObject(c, "r", rgb[0]) &&
		     cJSON_AddNumberToObject(c, "g", rgb[1]) &&
		     cJSON_AddNumberToObject(c, "b", rgb[2]) &&
		     cJSON_AddStringToObject(p, "color_mode", "rgb");
	}
	if (!ok) {
		cJSON_Delete(p);
		return NULL;
	}
	return p;
}

/* --- commands ------------------------------------------------------------------ */

char *hue_command_body(const cJSON *cmd, const struct hue_light *caps, cJSON **patch_out)
{
	const cJSON *state = get(cmd, "state");
	const cJSON *bri = get(cmd, "brightness");
	const cJSON *ct = get(cmd, "color_temp");
	const cJSON *color = get(cmd, "color");
	const cJSON *tr = get(cmd, "transition");
	const cJSON *flash = get(cmd, "flash");
	cJSON *body = cJSON_CreateObject();
	cJSON *patch = cJSON_CreateObject();
	bool ok = body && patch;
	int on = -1; /* -1: not said */
	double v;

	if (patch_out)
		*patch_out = NULL;
	if (cJSON_IsString(state))
		on = strcmp(state->valuestring, "OFF") != 0;
	if (ok && num(bri, 0, 255, &v)) {
		if (v < 1) {
			on = 0;
		} else {
			cJSON *d = cJSON_AddObjectToObject(body, "dimming");
			ok = d &&
			     cJSON_AddNumberToObject(d, "brightness",
						     hue_brightness_from_255((int)v)) &&
			     cJSON_AddNumberToObject(patch, "brightness", (int)v);
			if (on < 0)
				on = 1;
		}
	}
	if (ok && num(ct, 0, 1000, &v) && on != 0) {
		int lo = caps && caps->mirek_min ? caps->mirek_min : HUE_MIREK_MIN;
		int hi = caps && caps->mirek_max ? caps->mirek_max : HUE_MIREK_MAX;
		int m = (int)v < lo ? lo : (int)v > hi ? hi : (int)v;
		cJSON *c = cJSON_AddObjectToObject(body, "color_temperature");
		ok = c && cJSON_AddNumberToObject(c, "mirek", m) &&
		     cJSON_AddNumberToObject(patch, "color_temp", m) &&
		     cJSON_AddStringToObject(patch, "color_mode", "color_temp");
		if (on < 0)
			on = 1;
	} else if (ok && cJSON_IsObject(color) && on != 0) {
		int rgb[3];
		const char *names[3] = {"r", "g", "b"};
		for (int i = 0; i < 3; i++)
			rgb[i] = num(get(color, names[i]), 0, 255, &v) ? (int)v : 0;
		double x, y;
		hue_rgb_to_xy(rgb[0], rgb[1], rgb[2], &x, &y);
		cJSON *c = cJSON_AddObjectToObject(body, "color");
		cJSON *xy = c ? cJSON_AddObjectToObject(c, "xy") : NULL;
		cJSON *pc = cJSON_AddObjectToObject(patch, "color");
		ok = xy && pc && cJSON_AddNumberToObject(xy, "x", x) &&
		     cJSON_AddNumberToObject(xy, "y", y) &&
		     cJSON_AddNumberToObject(pc, "r", rgb[0]) &&
		     cJSON_AddNumberToObject(pc, "g", rgb[1]) &&
		     cJSON_AddNumberToObject(pc, "b", rgb[2]) &&
		     cJSON_AddStringToObject(patch, "color_mode", "rgb");
		if (on < 0)
			on = 1;
	}
	if (ok && on >= 0) {
		cJSON *o = cJSON_AddObjectToObject(body, "on");
		ok = o && cJSON_AddBoolToObject(o, "on", on == 1) &&
		     cJSON_AddStringToObject(patch, "state", on == 1 ? "ON" : "OFF");
	}
	if (ok && num(tr, 0, 6553.5, &v)) {
		cJSON *d = cJSON_AddObjectToObject(body, "dynamics");
		ok = d && cJSON_AddNumberToObject(d, "duration", round(v * 1000.0));
	}
	if (ok && num(flash, 0, 60, &v) && v > 0) {
		cJSON *a = cJSON_AddObjectToObject(body, "alert");
		ok = a && cJSON_AddStringToObject(a, "action", "breathe");
	}
	char *text = ok ? cJSON_PrintUnformatted(body) : NULL;
	cJSON_Delete(body);
	if (text && patch_out)
		*patch_out = patch;
	else
		cJSON_Delete(patch);
	return text;
}

/* --- pairing ------------------------------------------------------------------- */

int hue_parse_pairing(const char *json, size_t len, char *key, size_t key_size, char *msg,
		      size_t msg_size)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *first = cJSON_IsArray(root) ? cJSON_GetArrayItem(root, 0) : NULL;
	const cJSON *user = get(get(first, "success"), "username");
	const cJSON *error = get(first, "error");
	int err = -EINVAL;

	if (msg_size)
		msg[0] = '\0';
	if (cJSON_IsString(user) && user->valuestring[0] &&
	    strspn(user->valuestring,
		   "0123456789abcdefghijklmnopqrstuvwxyz"
		   "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_") == strlen(user->valuestring)) {
		snprintf(key, key_size, "%s", user->valuestring);
		err = 0;
	} else if (cJSON_IsObject(error)) {
		const cJSON *type = get(error, "type");
		const cJSON *desc = get(error, "description");
		if (cJSON_IsString(desc))
			snprintf(msg, msg_size, "%s", desc->valuestring);
		if (cJSON_IsNumber(type) && type->valueint == 101)
			err = -EAGAIN;
	} else {
		snprintf(msg, msg_size, "the answer is not the bridge's");
	}
	cJSON_Delete(root);
	return err;
}

/* --- Server-Sent Events ---------------------------------------------------------- */

void hue_sse_reset(struct hue_sse *s)
{
	s->line_len = 0;
	s->data_len = 0;
	s->overflow = false;
}

static void sse_line(struct hue_sse *s, hue_sse_cb cb, void *ctx)
{
	const char *l = s->line;
	size_t n = s->line_len;

	if (n && l[n - 1] == '\r')
		n--;
	if (n == 0) { /* the blank line ends an event */
		if (s->data_len && !s->overflow)
			cb(ctx, s->data, s->data_len);
		s->data_len = 0;
		s->overflow = false;
		return;
	}
	if (n < 5 || memcmp(l, "data:", 5) != 0)
		return; /* comments (":"), "id:", "event:", "retry:" */
	l += 5;
	n -= 5;
	if (n && *l == ' ')
		l++, n--;
	size_t need = n + (s->data_len ? 1 : 0);
	if (s->overflow || s->data_len + need + 1 > sizeof(s->data)) {
		s->overflow = true;
		return;
	}
	if (s->data_len)
		s->data[s->data_len++] = '\n';
	memcpy(s->data + s->data_len, l, n);
	s->data_len += n;
	s->data[s->data_len] = '\0';
}

void hue_sse_feed(struct hue_sse *s, const char *bytes, size_t len, hue_sse_cb cb, void *ctx)
{
	for (size_t i = 0; i < len; i++) {
		if (bytes[i] == '\n') {
			sse_line(s, cb, ctx);
			s->line_len = 0;
		} else if (s->line_len + 1 < sizeof(s->line)) {
			s->line[s->line_len++] = bytes[i];
		} else {
			s->overflow = true; /* an over-long line spoils its event */
		}
	}
}
