/* SPDX-License-Identifier: MIT */
/* The fake WLED controller (see fake_wled.h); included by its test. */
#include "fake_wled.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fake_wled {
	struct fake_http *http;
	struct fake_wled_state st; /* under the server's lock */
};

static cJSON *fw_state_json(const struct fake_wled *w)
{
	cJSON *st = cJSON_CreateObject();
	cJSON_AddBoolToObject(st, "on", w->st.on);
	cJSON_AddNumberToObject(st, "bri", w->st.bri);
	cJSON_AddNumberToObject(st, "transition", 7);
	cJSON_AddNumberToObject(st, "ps", -1);
	cJSON *seg = cJSON_AddArrayToObject(st, "seg");
	cJSON *s0 = cJSON_CreateObject();
	cJSON_AddNumberToObject(s0, "id", 0);
	cJSON *col = cJSON_AddArrayToObject(s0, "col");
	int black[3] = {0, 0, 0};
	cJSON_AddItemToArray(col, cJSON_CreateIntArray(w->st.col, 3));
	cJSON_AddItemToArray(col, cJSON_CreateIntArray(black, 3));
	cJSON_AddItemToArray(col, cJSON_CreateIntArray(black, 3));
	cJSON_AddItemToArray(seg, s0);
	return st;
}

static cJSON *fw_info_json(void)
{
	cJSON *info = cJSON_CreateObject();
	cJSON_AddStringToObject(info, "ver", "0.14.4");
	cJSON_AddStringToObject(info, "name", "WLED");
	cJSON_AddStringToObject(info, "product", "FOSS");
	cJSON *leds = cJSON_AddObjectToObject(info, "leds");
	cJSON_AddNumberToObject(leds, "count", 30);
	return info;
}

static char *fw_print(cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return s;
}

static void fw_error(struct fake_http_resp *resp, int status, int code)
{
	resp->status = status;
	resp->body = malloc(32);
	snprintf(resp->body, 32, "{\"error\":%d}", code);
}

static void fw_post(struct fake_wled *w, const struct fake_http_req *req,
		    struct fake_http_resp *resp)
{
	cJSON *b = cJSON_ParseWithLength(req->body, req->body_len);
	if (!cJSON_IsObject(b)) {
		cJSON_Delete(b);
		fw_error(resp, 400, 9);
		return;
	}
	w->st.posts++;
	snprintf(w->st.last_post, sizeof(w->st.last_post), "%s", req->body);
	const cJSON *on = cJSON_GetObjectItem(b, "on");
	if (cJSON_IsBool(on))
		w->st.on = cJSON_IsTrue(on);
	else if (cJSON_IsString(on) && strcmp(on->valuestring, "t") == 0)
		w->st.on = !w->st.on;
	const cJSON *bri = cJSON_GetObjectItem(b, "bri");
	if (cJSON_IsNumber(bri) && bri->valueint >= 0 && bri->valueint <= 255)
		w->st.bri = bri->valueint;
	const cJSON *tr = cJSON_GetObjectItem(b, "transition");
	w->st.transition = cJSON_IsNumber(tr) ? tr->valueint : -1;
	const cJSON *seg = cJSON_GetArrayItem(cJSON_GetObjectItem(b, "seg"), 0);
	const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(seg, "col"), 0);
	for (int i = 0; i < 3 && cJSON_GetArraySize(c0) >= 3; i++)
		w->st.col[i] = cJSON_GetArrayItem(c0, i)->valueint;
	if (cJSON_IsTrue(cJSON_GetObjectItem(b, "v")))
		resp->body = fw_print(fw_state_json(w));
	else
		resp->body = strdup("{\"success\":true}");
	cJSON_Delete(b);
}

static void fw_handle(void *ctx, const struct fake_http_req *req, struct fake_http_resp *resp)
{
	struct fake_wled *w = ctx;

	if (strcmp(req->method, "GET") == 0 && strcmp(req->path, "/json/state") == 0) {
		resp->body = fw_print(fw_state_json(w));
	} else if (strcmp(req->method, "GET") == 0 && strcmp(req->path, "/json/info") == 0) {
		resp->body = fw_print(fw_info_json());
	} else if (strcmp(req->method, "GET") == 0 && strcmp(req->path, "/json/si") == 0) {
		cJSON *si = cJSON_CreateObject();
		cJSON_AddItemToObject(si, "state", fw_state_json(w));
		cJSON_AddItemToObject(si, "info", fw_info_json());
		resp->body = fw_print(si);
	} else if (strcmp(req->method, "POST") == 0 &&
		   (strcmp(req->path, "/json/state") == 0 || strcmp(req->path, "/json") == 0)) {
		fw_post(w, req, resp);
	} else {
		fw_error(resp, 404, 4);
	}
}

struct fake_wled *fake_wled_start(void)
{
	struct fake_wled *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->st = (struct fake_wled_state){
		.on = false, .bri = 128, .col = {255, 160, 0}, .transition = -1};
	w->http = fake_http_start(fw_handle, w, NULL, NULL);
	if (!w->http) {
		free(w);
		return NULL;
	}
	return w;
}

struct fake_http *fake_wled_http(struct fake_wled *w)
{
	return w->http;
}

void fake_wled_set(struct fake_wled *w, bool on, int bri, int r, int g, int b)
{
	fake_http_lock(w->http);
	w->st.on = on;
	w->st.bri = bri;
	w->st.col[0] = r;
	w->st.col[1] = g;
	w->st.col[2] = b;
	fake_http_unlock(w->http);
}

void fake_wled_get(struct fake_wled *w, struct fake_wled_state *out)
{
	fake_http_lock(w->http);
	*out = w->st;
	fake_http_unlock(w->http);
}

/* fake_wled_wait's predicate on the state, under the lock. */
struct wled_wait {
	struct fake_wled *w;
	bool (*pred)(const struct fake_wled_state *, void *);
	void *arg;
};

static bool wled_state_holds(void *arg)
{
	const struct wled_wait *wait = arg;
	return wait->pred(&wait->w->st, wait->arg);
}

bool fake_wled_wait(struct fake_wled *w, bool (*pred)(const struct fake_wled_state *, void *),
		    void *arg, int timeout_ms)
{
	struct wled_wait wait = {w, pred, arg};
	return fake_http_wait(w->http, wled_state_holds, &wait, timeout_ms);
}

void fake_wled_stop(struct fake_wled *w)
{
	if (!w)
		return;
	fake_http_stop(w->http);
	free(w);
}
