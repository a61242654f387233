/* SPDX-License-Identifier: MIT */
/*
 * The hue driver: one light of a Philips Hue bridge, through the bridge's
 * CLIP v2 API over HTTPS (the `hue-application-key` header carries the key
 * pairing gave; the certificate is verified against `ca_file`).
 *
 * connect finds the light (`light:` is its resource id, or a name looked
 * up in GET /clip/v2/resource/light), reads it and reports the device
 * online; then it opens the bridge's event stream (/eventstream/clip/v2,
 * Server-Sent Events), whose updates to the light are published at once.
 * A stream that ends is reopened after a growing pause (HUE_STREAM_RETRY_*)
 * and the light re-read, since events were missed meanwhile; polling every
 * poll_interval keeps the state right even without a stream. A command is
 * one PUT /clip/v2/resource/light/<id>.
 *
 * Also exports sh_hue_pair for `smarthubd --hue-pair`: the link-button
 * pairing as a blocking one-shot call (a command-line tool, not the loop).
 *
 * Owns its struct hue (per device) and, while connected, one HTTP client
 * (one curl multi handle) with a read, a command and the stream in flight
 * at most, and the stream's retry timer.
 */
#include "hue_proto.h"
#include "shhttp.h"

#include <curl/curl.h>
#include <errno.h>
#include <smarthub/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HUE_POLL_DEFAULT_MS 30000u
#define HUE_STREAM_RETRY_MIN_MS 1000u
#define HUE_STREAM_RETRY_MAX_MS 60000u
/* A commanded colour read back within this of what was sent is the same
 * colour: the bridge's xy is not converted back to slightly other r,g,b. */
#define HUE_XY_SAME 0.002

enum { HUE_SLOT_ANSWER, HUE_SLOT_STREAM, HUE_SLOT_COMMAND, HUE_SLOT_AUTH, HUE_SLOT_TLS };

struct hue {
	struct sh_device *dev;
	const struct sh_host *host;
	struct sh_http_config http_config;
	char key_header[256];
	const char *light;
	bool event_stream;
	uint64_t poll_ms;

	struct sh_http *http;
	char id[HUE_ID_MAX]; /* the light's resource id, once known */
	struct hue_light caps;
	struct sh_http_req *read, *cmd, *stream;
	uint64_t cmd_id;
	cJSON *cmd_patch;
	bool online;
	bool reread; /* re-read once the stream is back */
	struct hue_sse *sse;
	struct sh_timer *stream_timer;
	uint64_t stream_retry_ms;
	/* the last colour commanded, and the xy it became */
	bool has_last_color;
	int last_rgb[3];
	double last_x, last_y;
	struct sh_http_trouble trouble;
};

static bool hue_id_ok(const char *id)
{
	size_t n = strlen(id);
	return n > 0 && n < HUE_ID_MAX && strspn(id, "0123456789abcdefABCDEF-") == n;
}

static void hue_fail(struct hue *h, const char *what, const char *why)
{
	sh_http_failed(h->dev, h->host, &h->online, what, why);
}

/* The bridge's own words for a failed request, else the client's. */
static void hue_why(const struct sh_http_response *resp, char *out, size_t size)
{
	char msg[160];
	if (resp->body && hue_parse_errors(resp->body, resp->len, msg, sizeof(msg)) == 0)
		snprintf(out, size, "%s (%s)", resp->error, msg);
	else
		snprintf(out, size, "%s", resp->error);
}

static void hue_publish(struct hue *h, const struct hue_light *l)
{
	cJSON *patch = hue_light_to_patch(l);
	if (!patch)
		return;
	cJSON *color = cJSON_GetObjectItemCaseSensitive(patch, "color");
	if (color && h->has_last_color && !l->has_mirek && l->has_xy &&
	    (l->x - h->last_x) * (l->x - h->last_x) < HUE_XY_SAME * HUE_XY_SAME &&
	    (l->y - h->last_y) * (l->y - h->last_y) < HUE_XY_SAME * HUE_XY_SAME) {
		cJSON *c = cJSON_CreateObject();
		if (c && cJSON_AddNumberToObject(c, "r", h->last_rgb[0]) &&
		    cJSON_AddNumberToObject(c, "g", h->last_rgb[1]) &&
		    cJSON_AddNumberToObject(c, "b", h->last_rgb[2]))
			cJSON_ReplaceItemInObjectCaseSensitive(patch, "color", c);
		else
			cJSON_Delete(c);
	}
	h->host->state_update(h->dev, patch);
	cJSON_Delete(patch);
}

/* Declared at create as a colour light (most Hue lights are: discovery
 * has it from the start), then as the light says it is once read. */
static void hue_metadata(struct hue *h, bool known)
{
	cJSON *meta = cJSON_CreateObject();
	if (!meta)
		return;
	cJSON *modes = cJSON_AddArrayToObject(meta, "color_modes");
	if (!known) {
		h->caps.mirek_min = 153;
		h->caps.mirek_max = 500;
		h->caps.has_color = true;
	}
	if (h->caps.mirek_max)
		cJSON_AddItemToArray(modes, cJSON_CreateString("color_temp"));
	if (h->caps.has_color || h->caps.has_xy)
		cJSON_AddItemToArray(modes, cJSON_CreateString("rgb"));
	if (cJSON_GetArraySize(modes) == 0)
		cJSON_AddItemToArray(modes, cJSON_CreateString("brightness"));
	if (h->caps.mirek_max) {
		cJSON_AddNumberToObject(meta, "min_mireds", h->caps.mirek_min);
		cJSON_AddNumberToObject(meta, "max_mireds", h->caps.mirek_max);
	}
	cJSON_AddBoolToObject(meta, "supports_flash", true);
	cJSON_AddStringToObject(meta, "manufacturer", "Signify");
	h->host->set_metadata(h->dev, meta);
	cJSON_Delete(meta);
}

/* --- the event stream ------------------------------------------------------------ */

static void hue_stream_open(struct hue *h);

static void hue_on_event(void *ctx, const char *data, size_t len)
{
	struct hue *h = ctx;
	struct hue_light l = {0};

	int r = hue_parse_event(data, len, h->id, &l);
	if (r < 0) {
		sh_http_trouble(&h->trouble, h->dev, h->host, HUE_SLOT_STREAM,
				"an event of the stream is not CLIP v2 (%zu bytes)", len);
		return;
	}
	if (r > 0)
		hue_publish(h, &l);
}

static bool hue_on_stream_chunk(void *ctx, const char *data, size_t len)
{
	struct hue *h = ctx;

	if (h->stream_retry_ms) { /* the stream answers again */
		h->stream_retry_ms = 0;
		sh_http_trouble_clear(&h->trouble, h->dev, h->host, HUE_SLOT_STREAM,
				      "the event stream is back");
	}
	hue_sse_feed(h->sse, data, len, hue_on_event, h);
	return true;
}

static void hue_stream_retry_cb(struct sh_device *dev, void *data)
{
	struct hue *h = data;

	h->host->timer_stop(h->stream_timer);
	h->stream_timer = NULL;
	hue_stream_open(h);
}

static int hue_read(struct hue *h);

static void hue_on_stream_end(void *ctx, const struct sh_http_response *resp)
{
	struct hue *h = ctx;
	char why[SH_HTTP_ERROR_MAX + 160];

	h->stream = NULL;
	hue_why(resp, why, sizeof(why));
	/* No connection at all: the bridge is gone (or its certificate or
	 * our key no longer works), which makes the light offline. */
	if (resp->err == -ECONNREFUSED || resp->err == -EHOSTUNREACH || resp->err == -ETIMEDOUT ||
	    resp->err == -EPROTO || resp->err == -EACCES) {
		hue_fail(h, "event stream", why);
		return;
	}
	sh_http_trouble(&h->trouble, h->dev, h->host, HUE_SLOT_STREAM,
			"the event stream ended (%s); polling until it is back",
			resp->err ? why : "closed by the bridge");
	h->stream_retry_ms = h->stream_retry_ms ? h->stream_retry_ms * 2 : HUE_STREAM_RETRY_MIN_MS;
	if (h->stream_retry_ms > HUE_STREAM_RETRY_MAX_MS)
		h->stream_retry_ms = HUE_STREAM_RETRY_MAX_MS;
	h->stream_timer =
		h->host->timer_start(h->dev, h->stream_retry_ms, 0, hue_stream_retry_cb, h);
	h->reread = true;
}

static void hue_stream_open(struct hue *h)
{
	if (!h->event_stream || h->stream || !h->http)
		return;
	hue_sse_reset(h->sse);
	struct sh_http_request req = {.path = "/eventstream/clip/v2",
				      .chunk = hue_on_stream_chunk,
				      .done = hue_on_stream_end,
				      .ctx = h};
	if (sh_http_request(h->http, &req, &h->stream) < 0) {
		h->stream_timer = h->host->timer_start(h->dev, HUE_STREAM_RETRY_MAX_MS, 0,
						       hue_stream_retry_cb, h);
		return;
	}
	/* Events were missed while the stream was down. */
	if (h->reread) {
		h->reread = false;
		(void)hue_read(h);
	}
}

/* --- reading ---------------------------------------------------------------------- */

static void hue_on_read(void *ctx, const struct sh_http_response *resp)
{
	struct hue *h = ctx;
	struct hue_light l;
	char why[SH_HTTP_ERROR_MAX + 160];

	h->read = NULL;
	if (resp->err) {
		hue_why(resp, why, sizeof(why));
		if (resp->err == -EACCES)
			sh_http_trouble(&h->trouble, h->dev, h->host, HUE_SLOT_AUTH,
					"the bridge refused the application key: %s", why);
		if (resp->err == -EPROTO)
			sh_http_trouble(
				&h->trouble, h->dev, h->host, HUE_SLOT_TLS,
				"TLS with the bridge failed (check ca_file and bridge_id): %s",
				why);
		sh_http_read_failed(&h->trouble, h->dev, h->host, HUE_SLOT_ANSWER, &h->online, resp,
				    why);
		return;
	}
	sh_http_trouble_clear(&h->trouble, h->dev, h->host, HUE_SLOT_AUTH, "the key works again");
	sh_http_trouble_clear(&h->trouble, h->dev, h->host, HUE_SLOT_TLS, "TLS works again");
	if (!h->id[0]) {
		int err = hue_find_light(resp->body, resp->len, h->light, h->id, sizeof(h->id));
		if (err || !hue_id_ok(h->id)) {
			h->id[0] = '\0';
			const char *why_not = err == -ENOENT ? "no light of that id or name"
					      : err == -EEXIST
						      ? "several lights have that name: use its id"
						      : "the light list is not CLIP v2";
			sh_http_trouble(&h->trouble, h->dev, h->host, HUE_SLOT_ANSWER,
					"light \"%s\": %s", h->light, why_not);
			hue_fail(h, "connect", why_not);
			return;
		}
	}
	int err = hue_parse_light(resp->body, resp->len, h->id, &l);
	if (err) {
		if (!h->online) {
			hue_fail(h, "connect",
				 err == -ENOENT ? "the light is gone" : "the light is not CLIP v2");
			return;
		}
		sh_http_trouble(&h->trouble, h->dev, h->host, HUE_SLOT_ANSWER,
				"the light's answer is not CLIP v2 (HTTP %ld, %zu bytes)",
				resp->status, resp->len);
		return;
	}
	sh_http_trouble_clear(&h->trouble, h->dev, h->host, HUE_SLOT_ANSWER,
			      "answers are readable again");
	h->caps = l; /* a read is the full resource, its capabilities included */
	hue_publish(h, &l);
	if (!h->online) {
		h->online = true;
		hue_metadata(h, true);
		h->host->connected(h->dev);
		hue_stream_open(h);
	}
}

static int hue_read(struct hue *h)
{
	char path[128];

	if (h->read)
		return 0;
	if (h->id[0])
		snprintf(path, sizeof(path), "/clip/v2/resource/light/%s", h->id);
	else
		snprintf(path, sizeof(path), "/clip/v2/resource/light");
	struct sh_http_request req = {.path = path, .done = hue_on_read, .ctx = h};
	return sh_http_request(h->http, &req, &h->read);
}

/* --- commands ----------------------------------------------------------------------- */

static void hue_on_command(void *ctx, const struct sh_http_response *resp)
{
	struct hue *h = ctx;
	char why[SH_HTTP_ERROR_MAX + 160];
	cJSON *patch = h->cmd_patch;

	h->cmd = NULL;
	h->cmd_patch = NULL;
	if (resp->err) {
		hue_why(resp, why, sizeof(why));
		sh_http_trouble(&h->trouble, h->dev, h->host, HUE_SLOT_COMMAND,
				"command refused: %s", why);
		h->host->command_done(h->dev, h->cmd_id, resp->err, why);
	} else {
		sh_http_trouble_clear(&h->trouble, h->dev, h->host, HUE_SLOT_COMMAND,
				      "commands work again");
		if (patch && cJSON_GetArraySize(patch) > 0)
			h->host->state_update(h->dev, patch);
		h->host->command_done(h->dev, h->cmd_id, 0, NULL);
	}
	cJSON_Delete(patch);
}

static int hue_command(void *priv, uint64_t id, const cJSON *command)
{
	struct hue *h = priv;
	char path[128];
	cJSON *patch = NULL;

	sh_http_cancel(h->http, h->cmd);
	h->cmd = NULL;
	cJSON_Delete(h->cmd_patch);
	h->cmd_patch = NULL;
	char *body = hue_command_body(command, &h->caps, &patch);
	if (!body)
		return -ENOMEM;
	const cJSON *color = cJSON_GetObjectItemCaseSensitive(command, "color");
	if (cJSON_IsObject(color) && cJSON_GetObjectItemCaseSensitive(patch, "color")) {
		const char *names[3] = {"r", "g", "b"};
		for (int i = 0; i < 3; i++)
			h->last_rgb[i] =
				cJSON_GetObjectItemCaseSensitive(color, names[i])->valueint;
		hue_rgb_to_xy(h->last_rgb[0], h->last_rgb[1], h->last_rgb[2], &h->last_x,
			      &h->last_y);
		h->has_last_color = true;
	}
	snprintf(path, sizeof(path), "/clip/v2/resource/light/%s", h->id);
	h->cmd_id = id;
	h->cmd_patch = patch;
	struct sh_http_request req = {.method = "PUT",
				      .path = path,
				      .body = body,
				      .body_len = strlen(body),
				      .done = hue_on_command,
				      .ctx = h};
	int err = sh_http_request(h->http, &req, &h->cmd);
	cJSON_free(body);
	return err;
}

static int hue_refresh(void *priv)
{
	return hue_read(priv);
}

static void hue_disconnect(void *priv)
{
	struct hue *h = priv;

	sh_http_free(h->http);
	h->http = NULL;
	h->read = h->cmd = h->stream = NULL;
	h->host->timer_stop(h->stream_timer);
	h->stream_timer = NULL;
	cJSON_Delete(h->cmd_patch);
	h->cmd_patch = NULL;
	h->online = false;
	h->reread = false;
	h->stream_retry_ms = 0;
}

static int hue_connect(void *priv)
{
	struct hue *h = priv;

	hue_disconnect(h);
	/* A name is looked up again on every connect: the light may have
	 * been re-added under a new id. */
	if (hue_id_ok(h->light) && strlen(h->light) == 36)
		snprintf(h->id, sizeof(h->id), "%s", h->light);
	else
		h->id[0] = '\0';
	int err = sh_http_new(&h->http, h->dev, h->host, &h->http_config);
	if (err)
		return err;
	return hue_read(h);
}

static int hue_create(struct sh_device *dev, const struct sh_host *host, void **priv)
{
	struct hue *h = calloc(1, sizeof(*h));
	const char *hostname = NULL, *key = NULL, *ca_file = NULL, *bridge_id = NULL;
	long long port = 443;

	if (!h)
		return -ENOMEM;
	h->sse = calloc(1, sizeof(*h->sse));
	if (!h->sse) {
		free(h);
		return -ENOMEM;
	}
	h->dev = dev;
	h->host = host;
	host->opt_string(dev, "host", NULL, &hostname);
	host->opt_int(dev, "port", 443, 1, 65535, &port);
	host->opt_string(dev, "application_key", NULL, &key);
	host->opt_string(dev, "light", NULL, &h->light);
	host->opt_string(dev, "ca_file", NULL, &ca_file);
	host->opt_string(dev, "bridge_id", NULL, &bridge_id);
	host->opt_bool(dev, "event_stream", true, &h->event_stream);
	host->opt_duration_ms(dev, "poll_interval", HUE_POLL_DEFAULT_MS, &h->poll_ms);
	static const char *const required[] = {"host", "application_key", "light"};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!host->opt_node(dev, required[i]))
			host->config_error(dev, NULL, "hue needs '%s'", required[i]);
	if (key && (!key[0] || strpbrk(key, "\r\n") || strlen(key) > 200))
		host->config_error(dev, host->opt_node(dev, "application_key"),
				   "application_key must be the key --hue-pair printed");
	if (h->light && !h->light[0])
		host->config_error(dev, host->opt_node(dev, "light"),
				   "light must be a light's id or name");
	if (bridge_id &&
	    (!bridge_id[0] || strspn(bridge_id, "0123456789abcdefABCDEF") != strlen(bridge_id)))
		host->config_error(dev, host->opt_node(dev, "bridge_id"),
				   "bridge_id is the bridge's 16 hexadecimal digits");
	/* Not a configuration error: the file may be put in place later
	 * (and --check-config may run elsewhere); every connect says so. */
	if (ca_file && access(ca_file, R_OK) != 0)
		host->log(dev, SH_LOG_WARNING, "ca_file %s: %s", ca_file, strerror(errno));
	int err = host->opt_status(dev);
	if (!err && (!hostname || !key || !h->light))
		err = -EINVAL;
	if (!err && h->poll_ms == 0) {
		host->config_error(dev, host->opt_node(dev, "poll_interval"),
				   "poll_interval must be more than 0");
		err = -EINVAL;
	}
	if (!err)
		err = host->poll_every(dev, h->poll_ms);
	if (err) {
		free(h->sse);
		free(h);
		return err;
	}
	snprintf(h->key_header, sizeof(h->key_header), "hue-application-key: %s", key);
	h->http_config = (struct sh_http_config){
		.https = true,
		.host = hostname,
		.port = (unsigned)port,
		.ca_file = ca_file,
		.tls_name = bridge_id,
		.headers = {h->key_header},
	};
	sh_http_device_timeouts(dev, host, &h->http_config);
	hue_metadata(h, false);
	h->caps = (struct hue_light){0}; /* the light's own, once read */
	*priv = h;
	return 0;
}

static void hue_destroy(void *priv)
{
	struct hue *h = priv;
	if (!h)
		return;
	hue_disconnect(h);
	memset(h->key_header, 0, sizeof(h->key_header));
	free(h->sse);
	free(h);
}

static const char *const hue_kinds[] = {"light", NULL};

SH_DRIVER_EXPORT const struct sh_driver sh_driver_descriptor = {
	.abi_version = SH_PLUGIN_ABI_VERSION,
	.name = "hue",
	.kinds = hue_kinds,
	.create = hue_create,
	.connect = hue_connect,
	.command = hue_command,
	.refresh = hue_refresh,
	.disconnect = hue_disconnect,
	.destroy = hue_destroy,
};
