/* SPDX-License-Identifier: MIT */
/*
 * The wled driver: a light running WLED, through its JSON API over HTTP.
 *
 * connect reads GET /json/si (state and info) and reports the device
 * online with its state; refresh (the host's polling, every
 * poll_interval) reads GET /json/state; a command is one POST /json/state
 * with "v":true, whose answer is the resulting state, published as it is.
 * A poll or connect that gets no answer reports the device failed, so the
 * daemon marks it offline and reconnects with backoff; an answer that
 * cannot be read is a rate-limited complaint and an error event.
 *
 * Owns its struct wled (per device) and, while connected, one HTTP client
 * (shhttp) with at most one poll and one command in flight.
 */
#include "shhttp.h"
#include "wled_proto.h"

#include <errno.h>
#include <smarthub/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WLED_POLL_DEFAULT_MS 30000u

enum { WLED_SLOT_ANSWER, WLED_SLOT_HTTP };

struct wled {
	struct sh_device *dev;
	const struct sh_host *host;
	struct sh_http_config http_config;
	uint64_t poll_ms;

	struct sh_http *http;
	struct sh_http_req *poll;
	struct sh_http_req *cmd;
	uint64_t cmd_id;
	bool online;
	struct sh_http_trouble trouble;
};

static bool wled_publish(struct wled *w, const struct sh_http_response *resp)
{
	struct wled_state st;

	if (wled_parse_state(resp->body, resp->len, &st) < 0) {
		sh_http_trouble(&w->trouble, w->dev, w->host, WLED_SLOT_ANSWER,
				"the answer is not a WLED state (HTTP %ld, %zu bytes)",
				resp->status, resp->len);
		return false;
	}
	sh_http_trouble_clear(&w->trouble, w->dev, w->host, WLED_SLOT_ANSWER,
			      "answers are readable again");
	cJSON *patch = wled_state_to_patch(&st);
	if (patch)
		w->host->state_update(w->dev, patch);
	cJSON_Delete(patch);
	return true;
}

/* What every WLED can do is declared at create (resp NULL), so
 * discovery has it from the start; model and version once it told. */
static void wled_metadata(struct wled *w, const struct sh_http_response *resp)
{
	struct wled_info info;
	cJSON *meta = cJSON_CreateObject();

	if (!meta)
		return;
	if (!resp) {
		cJSON *modes = cJSON_AddArrayToObject(meta, "color_modes");
		if (modes)
			cJSON_AddItemToArray(modes, cJSON_CreateString("rgb"));
		cJSON_AddNumberToObject(meta, "max_transition", WLED_TRANSITION_MAX / 10.0);
		cJSON_AddStringToObject(meta, "manufacturer", "WLED");
	} else if (wled_parse_info(resp->body, resp->len, &info) == 0) {
		if (info.product[0])
			cJSON_AddStringToObject(meta, "model", info.product);
		if (info.version[0])
			cJSON_AddStringToObject(meta, "sw_version", info.version);
	}
	w->host->set_metadata(w->dev, meta);
	cJSON_Delete(meta);
}

/* Why a connect fails whose answer cannot be read (not JSON, or over the
 * cap): whatever answers, it is not a WLED we can drive. */
#define WLED_NOT_A_STATE "the answer is not a WLED state"

static void wled_on_read(void *ctx, const struct sh_http_response *resp)
{
	struct wled *w = ctx;

	w->poll = NULL;
	if (resp->err) {
		/* An answer over the cap is one that cannot be read. */
		sh_http_read_failed(&w->trouble, w->dev, w->host, WLED_SLOT_ANSWER, &w->online,
				    resp, resp->err == -EFBIG ? WLED_NOT_A_STATE : resp->error);
		return;
	}
	if (!wled_publish(w, resp)) {
		if (!w->online) /* nothing readable: not a WLED we can drive */
			sh_http_failed(w->dev, w->host, &w->online, "connect", WLED_NOT_A_STATE);
		return;
	}
	if (!w->online) {
		w->online = true;
		wled_metadata(w, resp);
		w->host->connected(w->dev);
	}
}

static int wled_read(struct wled *w, const char *path)
{
	if (w->poll) /* one in flight is enough */
		return 0;
	struct sh_http_request req = {
		.method = "GET", .path = path, .done = wled_on_read, .ctx = w};
	return sh_http_request(w->http, &req, &w->poll);
}

static void wled_on_command(void *ctx, const struct sh_http_response *resp)
{
	struct wled *w = ctx;
	char reason[SH_HTTP_ERROR_MAX + 32];

	w->cmd = NULL;
	if (resp->err) {
		snprintf(reason, sizeof(reason), "WLED: %s", resp->error);
		if (resp->err != -ETIMEDOUT && resp->err != -ECONNREFUSED)
			sh_http_trouble(&w->trouble, w->dev, w->host, WLED_SLOT_HTTP,
					"command refused: %s", resp->error);
		w->host->command_done(w->dev, w->cmd_id, resp->err, reason);
		return;
	}
	sh_http_trouble_clear(&w->trouble, w->dev, w->host, WLED_SLOT_HTTP, "commands work again");
	if (!wled_publish(w, resp)) {
		w->host->command_done(w->dev, w->cmd_id, -EPROTO,
				      "WLED answered with something that is not its state");
		return;
	}
	w->host->command_done(w->dev, w->cmd_id, 0, NULL);
}

static int wled_command(void *priv, uint64_t id, const cJSON *command)
{
	struct wled *w = priv;
	char *body = wled_command_body(command);

	if (!body)
		return -ENOMEM;
	/* A command the daemon gave up on (its timeout) is not waited for. */
	sh_http_cancel(w->http, w->cmd);
	w->cmd = NULL;
	w->cmd_id = id;
	struct sh_http_request req = {.method = "POST",
				      .path = "/json/state",
				      .body = body,
				      .body_len = strlen(body),
				      .done = wled_on_command,
				      .ctx = w};
	int err = sh_http_request(w->http, &req, &w->cmd);
	cJSON_free(body);
	return err;
}

static int wled_refresh(void *priv)
{
	return wled_read(priv, "/json/state");
}

static void wled_disconnect(void *priv)
{
	struct wled *w = priv;

	sh_http_free(w->http);
	w->http = NULL;
	w->poll = w->cmd = NULL;
	w->online = false;
}

static int wled_connect(void *priv)
{
	struct wled *w = priv;

	wled_disconnect(w);
	int err = sh_http_new(&w->http, w->dev, w->host, &w->http_config);
	if (err)
		return err;
	/* /json/si: the state and, once, the info for discovery. */
	return wled_read(w, "/json/si");
}

static int wled_create(struct sh_device *dev, const struct sh_host *host, void **priv)
{
	struct wled *w = calloc(1, sizeof(*w));
	const char *hostname = NULL;
	long long port = 80;

	if (!w)
		return -ENOMEM;
	w->dev = dev;
	w->host = host;
	host->opt_string(dev, "host", NULL, &hostname);
	host->opt_int(dev, "port", 80, 1, 65535, &port);
	host->opt_duration_ms(dev, "poll_interval", WLED_POLL_DEFAULT_MS, &w->poll_ms);
	if (!host->opt_node(dev, "host"))
		host->config_error(dev, NULL, "wled needs the controller's address in 'host'");
	int err = host->opt_status(dev);
	if (!err && !hostname)
		err = -EINVAL;
	if (err) {
		free(w);
		return err;
	}
	w->http_config = (struct sh_http_config){.host = hostname, .port = (unsigned)port};
	sh_http_device_timeouts(dev, host, &w->http_config);
	err = host->poll_every(dev, w->poll_ms);
	if (err) {
		free(w);
		return err;
	}
	wled_metadata(w, NULL);
	*priv = w;
	return 0;
}

static void wled_destroy(void *priv)
{
	if (!priv)
		return;
	wled_disconnect(priv);
	free(priv);
}

static const char *const wled_kinds[] = {"light", NULL};

SH_DRIVER_EXPORT const struct sh_driver sh_driver_descriptor = {
	.abi_version = SH_PLUGIN_ABI_VERSION,
	.name = "wled",
	.kinds = wled_kinds,
	.create = wled_create,
	.connect = wled_connect,
	.command = wled_command,
	.refresh = wled_refresh,
	.disconnect = wled_disconnect,
	.destroy = wled_destroy,
};
