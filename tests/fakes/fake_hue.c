/* SPDX-License-Identifier: MIT */
/* The fake Hue bridge (see fake_hue.h); included by its test. */
#include "fake_hue.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fake_hue {
	struct fake_http *http;
	struct fake_hue_state st; /* under the server's lock */
	bool button;
	bool revoked;
	unsigned event_seq;
};

static cJSON *fhue_light_json(const struct fake_hue_light *l, const char *id, const char *name,
			      bool full)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "id", id);
	cJSON_AddStringToObject(r, "id_v1", "/lights/1");
	cJSON_AddStringToObject(r, "type", "light");
	if (full) {
		cJSON *meta = cJSON_AddObjectToObject(r, "metadata");
		cJSON_AddStringToObject(meta, "name", name);
		cJSON_AddStringToObject(meta, "archetype", "sultan_bulb");
	}
	cJSON *on = cJSON_AddObjectToObject(r, "on");
	cJSON_AddBoolToObject(on, "on", l->on);
	cJSON *dim = cJSON_AddObjectToObject(r, "dimming");
	cJSON_AddNumberToObject(dim, "brightness", l->brightness);
	if (full)
		cJSON_AddNumberToObject(dim, "min_dim_level", 0.2);
	cJSON *ct = cJSON_AddObjectToObject(r, "color_temperature");
	if (l->mirek)
		cJSON_AddNumberToObject(ct, "mirek", l->mirek);
	else
		cJSON_AddNullToObject(ct, "mirek");
	cJSON_AddBoolToObject(ct, "mirek_valid", l->mirek != 0);
	if (full) {
		cJSON *schema = cJSON_AddObjectToObject(ct, "mirek_schema");
		cJSON_AddNumberToObject(schema, "mirek_minimum", 153);
		cJSON_AddNumberToObject(schema, "mirek_maximum", 454);
	}
	cJSON *color = cJSON_AddObjectToObject(r, "color");
	cJSON *xy = cJSON_AddObjectToObject(color, "xy");
	cJSON_AddNumberToObject(xy, "x", l->x);
	cJSON_AddNumberToObject(xy, "y", l->y);
	if (full)
		cJSON_AddStringToObject(color, "gamut_type", "C");
	return r;
}

static struct fake_hue_light fhue_desk = {
	.on = true, .brightness = 80, .mirek = 300, .x = 0.45, .y = 0.41};

static char *fhue_print(cJSON *j)
{
	char *t = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return t;
}

static void fhue_error(struct fake_http_resp *resp, int status, const char *desc)
{
	cJSON *j = cJSON_CreateObject();
	cJSON *errs = cJSON_AddArrayToObject(j, "errors");
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "description", desc);
	cJSON_AddItemToArray(errs, e);
	cJSON_AddArrayToObject(j, "data");
	resp->status = status;
	resp->body = fhue_print(j);
}

/* An update event for the lamp, to every stream (the lock is held). */
static void fhue_push(struct fake_hue *h)
{
	char head[64];
	cJSON *arr = cJSON_CreateArray();
	cJSON *ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "creationtime", "2026-11-30T05:00:00Z");
	cJSON *data = cJSON_AddArrayToObject(ev, "data");
	cJSON_AddItemToArray(data, fhue_light_json(&h->st.lamp, FAKE_HUE_LAMP_ID, NULL, false));
	/* Another light's update in the same event, which the hub ignores. */
	cJSON_AddItemToArray(data, fhue_light_json(&fhue_desk, FAKE_HUE_DESK_ID, NULL, false));
	cJSON_AddStringToObject(ev, "id", "b5bd9f4c-0000-4000-8000-000000000001");
	cJSON_AddStringToObject(ev, "type", "update");
	cJSON_AddItemToArray(arr, ev);
	char *text = fhue_print(arr);
	snprintf(head, sizeof(head), "id: 1764478800:%u\n", h->event_seq++);
	char *msg = malloc(strlen(head) + strlen(text) + 16);
	sprintf(msg, "%sdata: %s\n\n", head, text);
	fake_http_stream_send_locked(h->http, msg);
	free(msg);
	free(text);
}

static void fhue_put(struct fake_hue *h, const struct fake_http_req *req,
		     struct fake_http_resp *resp)
{
	cJSON *b = cJSON_ParseWithLength(req->body, req->body_len);
	if (!cJSON_IsObject(b)) {
		cJSON_Delete(b);
		fhue_error(resp, 400, "Parser error: invalid json");
		return;
	}
	struct fake_hue_light *l = &h->st.lamp;
	h->st.puts++;
	snprintf(h->st.last_put, sizeof(h->st.last_put), "%s", req->body);
	const cJSON *on = cJSON_GetObjectItem(cJSON_GetObjectItem(b, "on"), "on");
	if (cJSON_IsBool(on))
		l->on = cJSON_IsTrue(on);
	const cJSON *bri = cJSON_GetObjectItem(cJSON_GetObjectItem(b, "dimming"), "brightness");
	if (cJSON_IsNumber(bri)) {
		if (bri->valuedouble < 0 || bri->valuedouble > 100) {
			cJSON_Delete(b);
			fhue_error(resp, 400, "invalid value for brightness");
			return;
		}
		l->brightness = bri->valuedouble;
	}
	const cJSON *mirek =
		cJSON_GetObjectItem(cJSON_GetObjectItem(b, "color_temperature"), "mirek");
	if (cJSON_IsNumber(mirek)) {
		if (mirek->valueint < 153 || mirek->valueint > 454) {
			cJSON_Delete(b);
			fhue_error(resp, 400, "invalid value for mirek");
			return;
		}
		l->mirek = mirek->valueint;
	}
	const cJSON *xy = cJSON_GetObjectItem(cJSON_GetObjectItem(b, "color"), "xy");
	if (cJSON_IsObject(xy)) {
		l->x = cJSON_GetObjectItem(xy, "x")->valuedouble;
		l->y = cJSON_GetObjectItem(xy, "y")->valuedouble;
		l->mirek = 0;
	}
	const cJSON *dur = cJSON_GetObjectItem(cJSON_GetObjectItem(b, "dynamics"), "duration");
	l->duration_ms = cJSON_IsNumber(dur) ? dur->valueint : -1;
	cJSON_Delete(b);
	resp->body = malloc(256);
	snprintf(resp->body, 256, "{\"data\":[{\"rid\":\"%s\",\"rtype\":\"light\"}],\"errors\":[]}",
		 FAKE_HUE_LAMP_ID);
	fhue_push(h);
}

static void fhue_handle(void *ctx, const struct fake_http_req *req, struct fake_http_resp *resp)
{
	struct fake_hue *h = ctx;
	const char *light = "/clip/v2/resource/light";

	if (strcmp(req->method, "POST") == 0 && strcmp(req->path, "/api") == 0) {
		h->st.pair_attempts++;
		cJSON *b = cJSON_ParseWithLength(req->body, req->body_len);
		const cJSON *dt = cJSON_GetObjectItem(b, "devicetype");
		bool ok = cJSON_IsString(dt) && strncmp(dt->valuestring, "smarthub#", 9) == 0;
		cJSON_Delete(b);
		if (!ok)
			resp->body =
				strdup("[{\"error\":{\"type\":5,\"address\":\"/\","
				       "\"description\":\"invalid/missing parameters in body\"}}]");
		else if (!h->button)
			resp->body = strdup("[{\"error\":{\"type\":101,\"address\":\"\","
					    "\"description\":\"link button not pressed\"}}]");
		else
			resp->body =
				strdup("[{\"success\":{\"username\":\"" FAKE_HUE_KEY
				       "\",\"clientkey\":\"0123456789ABCDEF0123456789ABCDEF\"}}]");
		return;
	}
	if (h->revoked || strcmp(req->app_key, FAKE_HUE_KEY) != 0) {
		h->st.refused++;
		fhue_error(resp, 403, "unauthorized user");
		return;
	}
	if (strcmp(req->method, "GET") == 0 && strcmp(req->path, "/eventstream/clip/v2") == 0) {
		resp->stream = true;
		resp->body = strdup(": hi\n\n");
	} else if (strcmp(req->method, "GET") == 0 && strcmp(req->path, light) == 0) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddArrayToObject(j, "errors");
		cJSON *data = cJSON_AddArrayToObject(j, "data");
		cJSON_AddItemToArray(data,
				     fhue_light_json(&fhue_desk, FAKE_HUE_DESK_ID, "Desk", true));
		cJSON_AddItemToArray(
			data, fhue_light_json(&h->st.lamp, FAKE_HUE_LAMP_ID, "Living lamp", true));
		resp->body = fhue_print(j);
	} else if (strncmp(req->path, light, strlen(light)) == 0 &&
		   req->path[strlen(light)] == '/') {
		const char *id = req->path + strlen(light) + 1;
		if (strcmp(id, FAKE_HUE_LAMP_ID) != 0) {
			fhue_error(resp, 404, "Not Found");
		} else if (strcmp(req->method, "GET") == 0) {
			cJSON *j = cJSON_CreateObject();
			cJSON_AddArrayToObject(j, "errors");
			cJSON *data = cJSON_AddArrayToObject(j, "data");
			cJSON_AddItemToArray(data, fhue_light_json(&h->st.lamp, FAKE_HUE_LAMP_ID,
								   "Living lamp", true));
			resp->body = fhue_print(j);
		} else if (strcmp(req->method, "PUT") == 0) {
			fhue_put(h, req, resp);
		} else {
			fhue_error(resp, 405, "method not allowed");
		}
	} else {
		fhue_error(resp, 404, "Not Found");
	}
}

struct fake_hue *fake_hue_start(const char *cert_file, const char *key_file)
{
	struct fake_hue *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->st.lamp = (struct fake_hue_light){.on = false,
					     .brightness = 50.2,
					     .mirek = 366,
					     .x = 0.4573,
					     .y = 0.41,
					     .duration_ms = -1};
	h->http = fake_http_start(fhue_handle, h, cert_file, key_file);
	if (!h->http) {
		free(h);
		return NULL;
	}
	return h;
}

struct fake_http *fake_hue_http(struct fake_hue *h)
{
	return h->http;
}

void fake_hue_change(struct fake_hue *h, bool on, double brightness, bool push)
{
	fake_http_lock(h->http);
	h->st.lamp.on = on;
	h->st.lamp.brightness = brightness;
	if (push)
		fhue_push(h);
	fake_http_unlock(h->http);
}

void fake_hue_revoke_key(struct fake_hue *h)
{
	fake_http_lock(h->http);
	h->revoked = true;
	fake_http_unlock(h->http);
}

void fake_hue_press_button(struct fake_hue *h)
{
	fake_http_lock(h->http);
	h->button = true;
	fake_http_unlock(h->http);
}

void fake_hue_get(struct fake_hue *h, struct fake_hue_state *out)
{
	fake_http_lock(h->http);
	*out = h->st;
	fake_http_unlock(h->http);
}

/* fake_hue_wait's predicate on the state, under the lock. */
struct hue_wait {
	struct fake_hue *h;
	bool (*pred)(const struct fake_hue_state *, void *);
	void *arg;
};

static bool hue_state_holds(void *arg)
{
	const struct hue_wait *wait = arg;
	return wait->pred(&wait->h->st, wait->arg);
}

bool fake_hue_wait(struct fake_hue *h, bool (*pred)(const struct fake_hue_state *, void *),
		   void *arg, int timeout_ms)
{
	struct hue_wait wait = {h, pred, arg};
	return fake_http_wait(h->http, hue_state_holds, &wait, timeout_ms);
}

void fake_hue_stop(struct fake_hue *h)
{
	if (!h)
		return;
	fake_http_stop(h->http);
	free(h);
}
