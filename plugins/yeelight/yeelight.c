/* SPDX-License-Identifier: MIT */
/*
 * The yeelight driver: a light speaking Yeelight's LAN protocol (JSON lines
 * over TCP port 55443, LAN control enabled in the Yeelight app).
 *
 * One connection per device (the bulb allows four in all). At connect the
 * driver reads the state with get_prop and only then reports the device
 * online; afterwards the bulb pushes "props" notifications, for changes
 * made by anyone, and they update the state. A command becomes a few
 * requests (set_power, set_ct_abx, set_rgb, set_bright) sent one after the
 * other, each waiting for its answer, so the bulb's rate limit is not hit
 * by our own bursts. When the bulb answers that its quota is exceeded, the
 * command fails with the bulb's words and the next requests are spaced out
 * (growing up to YL_QUOTA_BACKOFF_MAX_MS) until one succeeds again.
 *
 * The driver owns its struct yeelight (per device), the line connection
 * and one spacing timer. Reconnecting, command queueing and timeouts are
 * the daemon's.
 */
#include "tcpline.h"
#include "yl_proto.h"

#include <errno.h>
#include <smarthub/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest transition a bulb accepts from us. */
#define YL_TRANSITION_MAX_MS 60000

/* Requests one command may become: power, ct, rgb, bright. */
#define YL_COMMAND_REQUESTS_MAX 4
/* The first pause after a quota error, and the most it grows to. */
#define YL_QUOTA_BACKOFF_MS 1000
#define YL_QUOTA_BACKOFF_MAX_MS 16000
/* The bulb ignores a "smooth" duration below this, so shorter is sudden. */
#define YL_SMOOTH_MIN_MS 30

struct yl_request {
	char method[16];
	char params[96];
};

struct yeelight {
	struct sh_device *dev;
	const struct sh_host *host;
	const char *hostname;
	unsigned port;
	uint64_t transition_ms; /* default for commands without `transition` */

	struct sh_tcpline *conn;
	bool ready; /* the first get_prop answered and host->connected was reported */
	uint32_t last_id;
	uint32_t pending_id; /* 0 when nothing is in flight */
	bool pending_get_prop;
	bool refresh_wanted;

	bool cmd_active;
	uint64_t cmd_id;
	struct yl_request reqs[YL_COMMAND_REQUESTS_MAX];
	size_t n_reqs, next_req;
	cJSON *cmd_patch; /* the state the command leads to, published on success */

	uint64_t quiet_until; /* now_ms before which nothing is sent */
	unsigned quota_backoff_ms;
	struct sh_timer *space_timer;
};

/* The daemon knows whether this was a failed attempt or a lost connection. */
static void yl_fail(struct yeelight *y, const char *reason)
{
	/* Closed here, so nothing more arrives whenever the daemon gets to
	 * its disconnect. */
	sh_tcpline_close(y->conn);
	y->conn = NULL;
	y->ready = false;
	y->pending_id = 0;
	y->host->failed(y->dev, reason);
}

static void yl_send(struct yeelight *y, const char *method, const char *params)
{
	char line[YL_REQUEST_MAX];
	uint32_t id = y->last_id = yl_id_next(y->last_id);
	int n = yl_format_request(line, sizeof(line), id, method, params);

	if (n < 0 || sh_tcpline_send(y->conn, line, (size_t)n) < 0) {
		yl_fail(y, "cannot send to the bulb");
		return;
	}
	y->pending_id = id;
}

static void yl_send_get_prop(struct yeelight *y)
{
	y->pending_get_prop = true;
	yl_send(y, "get_prop", "[\"power\",\"bright\",\"ct\",\"rgb\",\"color_mode\"]");
}

static void yl_publish_props(struct yeelight *y, const struct yl_props *props)
{
	cJSON *patch = yl_props_to_state(props);
	if (patch && cJSON_GetArraySize(patch) > 0)
		y->host->state_update(y->dev, patch);
	cJSON_Delete(patch);
}

static void yl_pump(struct yeelight *y);

static void yl_space_cb(struct sh_device *dev, void *data)
{
	struct yeelight *y = data;

	y->host->timer_stop(y->space_timer);
	y->space_timer = NULL;
	yl_pump(y);
}

/* Sends the next request of the running command, or a wanted refresh,
 * once nothing is in flight and the quota pause is over. */
static void yl_pump(struct yeelight *y)
{
	if (!y->conn || y->pending_id || y->space_timer)
		return;
	if (y->cmd_active && y->next_req < y->n_reqs) {
		uint64_t now = y->host->now_ms(y->dev);
		if (now < y->quiet_until) {
			y->space_timer = y->host->timer_start(y->dev, y->quiet_until - now, 0,
							      yl_space_cb, y);
			return;
		}
		const struct yl_request *r = &y->reqs[y->next_req];
		yl_send(y, r->method, r->params);
	} else if (y->refresh_wanted && !y->cmd_active) {
		y->refresh_wanted = false;
		yl_send_get_prop(y);
	}
}

static void yl_command_finish(struct yeelight *y, int err, const char *reason)
{
	cJSON *patch = y->cmd_patch;

	y->cmd_active = false;
	y->cmd_patch = NULL;
	if (!err && patch)
		y->host->state_update(y->dev, patch);
	cJSON_Delete(patch);
	/* May start the next command from inside. */
	y->host->command_done(y->dev, y->cmd_id, err, reason);
}

static void yl_answer(struct yeelight *y, const struct yl_message *msg)
{
	y->pending_id = 0;
	if (y->pending_get_prop) {
		y->pending_get_prop = false;
		struct yl_props props;
		if (msg->type == YL_MSG_ERROR || yl_props_from_get_prop(msg, &props) < 0) {
			char reason[YL_TEXT_MAX + 32];
			snprintf(reason, sizeof(reason), "get_prop failed: %s",
				 msg->type == YL_MSG_ERROR ? msg->error_message : "bad answer");
			if (!y->ready) {
				yl_fail(y, reason);
				return;
			}
			y->host->log(y->dev, SH_LOG_WARNING, "%s", reason);
		} else {
			yl_publish_props(y, &props);
			if (!y->ready) {
				y->ready = true;
				y->host->connected(y->dev);
			}
		}
	} else if (y->cmd_active && msg->type == YL_MSG_ERROR) {
		if (yl_error_is_quota(msg)) {
			/* The bulb throttles: give it room before the next request. */
			y->quota_backoff_ms =
				y->quota_backoff_ms ? y->quota_backoff_ms * 2 : YL_QUOTA_BACKOFF_MS;
			if (y->quota_backoff_ms > YL_QUOTA_BACKOFF_MAX_MS)
				y->quota_backoff_ms = YL_QUOTA_BACKOFF_MAX_MS;
			y->quiet_until = y->host->now_ms(y->dev) + y->quota_backoff_ms;
			y->host->log(y->dev, SH_LOG_WARNING,
				     "bulb quota exceeded; spacing requests by %u ms",
				     y->quota_backoff_ms);
			yl_command_finish(y, -EBUSY, msg->error_message);
		} else {
			yl_command_finish(y, -EIO, msg->error_message);
		}
	} else if (y->cmd_active) {
		y->quota_backoff_ms = 0;
		if (++y->next_req >= y->n_reqs)
			yl_command_finish(y, 0, NULL);
	}
	yl_pump(y);
}

static void yl_on_line(void *ctx, char *line, size_t len)
{
	struct yeelight *y = ctx;
	struct yl_message msg;

	if (len == 0)
		return;
	if (yl_parse_message(line, len, &msg) < 0) {
		/* A bulb that speaks something else is not one we can drive. */
		yl_fail(y, "the bulb sent a malformed message");
		return;
	}
	if (msg.type == YL_MSG_PROPS) {
		if (y->ready)
			yl_publish_props(y, &msg.props);
		return;
	}
	if (y->pending_id && msg.id == (long long)y->pending_id)
		yl_answer(y, &msg);
	else
		y->host->log(y->dev, SH_LOG_DEBUG, "ignoring answer %lld", msg.id);
}

static void yl_on_connected(void *ctx)
{
	yl_send_get_prop(ctx);
}

static void yl_on_failed(void *ctx, bool was_connected, const char *reason)
{
	yl_fail(ctx, reason);
}

static const struct sh_tcpline_ops yl_tcp_ops = {
	.connected = yl_on_connected,
	.line = yl_on_line,
	.failed = yl_on_failed,
};

static void yl_add(struct yeelight *y, const char *method, const char *params)
{
	struct yl_request *r = &y->reqs[y->n_reqs++];
	snprintf(r->method, sizeof(r->method), "%s", method);
	snprintf(r->params, sizeof(r->params), "%s", params);
}

/*
 * Plans the requests for a validated light command: power on first when
 * anything is to be shown on a bulb that is off (the bulb refuses set_*
 * while off), then colour temperature or colour, then brightness; or only
 * power off when the command turns the light off (state OFF or
 * brightness 0), since the bulb takes nothing else while off. Fills
 * y->cmd_patch with the state that results.
 */
static void yl_plan(struct yeelight *y, const cJSON *cmd)
{
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(cmd, "state");
	const cJSON *bright = cJSON_GetObjectItemCaseSensitive(cmd, "brightness");
	const cJSON *ct = cJSON_GetObjectItemCaseSensitive(cmd, "color_temp");
	const cJSON *color = cJSON_GetObjectItemCaseSensitive(cmd, "color");
	const cJSON *transition = cJSON_GetObjectItemCaseSensitive(cmd, "transition");
	const cJSON *cur = cJSON_GetObjectItemCaseSensitive(y->host->device_state(y->dev), "state");
	bool is_on = cJSON_IsString(cur) && strcmp(cur->valuestring, "ON") == 0;
	char effect[32], params[96];
	uint64_t ms = y->transition_ms;

	if (cJSON_IsNumber(transition))
		ms = (uint64_t)(transition->valuedouble * 1000.0 + 0.5);
	if (ms < YL_SMOOTH_MIN_MS)
		snprintf(effect, sizeof(effect), "\"sudden\",0");
	else
		snprintf(effect, sizeof(effect), "\"smooth\",%llu", (unsigned long long)ms);

	y->n_reqs = 0;
	y->next_req = 0;
	y->cmd_patch = cJSON_CreateObject();
	bool want_off = (cJSON_IsString(state) && strcmp(state->valuestring, "OFF") == 0) ||
			(cJSON_IsNumber(bright) && bright->valueint == 0);
	if (want_off) {
		snprintf(params, sizeof(params), "[\"off\",%s]", effect);
		yl_add(y, "set_power", params);
		cJSON_AddStringToObject(y->cmd_patch, "state", "OFF");
		return;
	}
	bool shows = cJSON_IsNumber(bright) || cJSON_IsNumber(ct) || cJSON_IsObject(color);
	if (cJSON_IsString(state) || (shows && !is_on)) {
		snprintf(params, sizeof(params), "[\"on\",%s]", effect);
		yl_add(y, "set_power", params);
		cJSON_AddStringToObject(y->cmd_patch, "state", "ON");
	}
	if (cJSON_IsNumber(ct)) {
		int k = yl_kelvin_from_mireds(ct->valueint);
		snprintf(params, sizeof(params), "[%d,%s]", k, effect);
		yl_add(y, "set_ct_abx", params);
		cJSON_AddNumberToObject(y->cmd_patch, "color_temp", yl_mireds_from_kelvin(k));
		cJSON_AddStringToObject(y->cmd_patch, "color_mode", "color_temp");
	}
	if (cJSON_IsObject(color)) {
		int c[3];
		const char *names[3] = {"r", "g", "b"};
		for (int i = 0; i < 3; i++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(color, names[i]);
			c[i] = cJSON_IsNumber(v) ? v->valueint : 0;
		}
		long rgb = (long)c[0] * 65536 + c[1] * 256 + c[2];
		snprintf(params, sizeof(params), "[%ld,%s]", rgb, effect);
		yl_add(y, "set_rgb", params);
		cJSON *o = cJSON_AddObjectToObject(y->cmd_patch, "color");
		for (int i = 0; o && i < 3; i++)
			cJSON_AddNumberToObject(o, names[i], c[i]);
		cJSON_AddStringToObject(y->cmd_patch, "color_mode", "rgb");
	}
	if (cJSON_IsNumber(bright)) {
		int pct = yl_bright_from_255(bright->valueint);
		snprintf(params, sizeof(params), "[%d,%s]", pct, effect);
		yl_add(y, "set_bright", params);
		cJSON_AddNumberToObject(y->cmd_patch, "brightness", yl_bright_to_255(pct));
	}
}

static int yl_command(void *priv, uint64_t id, const cJSON *command)
{
	struct yeelight *y = priv;

	cJSON_Delete(y->cmd_patch);
	y->cmd_patch = NULL;
	yl_plan(y, command);
	y->cmd_id = id;
	y->cmd_active = true;
	if (y->n_reqs == 0) { /* only a transition: nothing to change */
		yl_command_finish(y, 0, NULL);
		return 0;
	}
	yl_pump(y);
	return 0;
}

static int yl_refresh(void *priv)
{
	struct yeelight *y = priv;

	y->refresh_wanted = true;
	yl_pump(y);
	return 0;
}

static void yl_disconnect(void *priv)
{
	struct yeelight *y = priv;

	sh_tcpline_close(y->conn);
	y->conn = NULL;
	y->host->timer_stop(y->space_timer);
	y->space_timer = NULL;
	y->ready = false;
	y->pending_id = 0;
	y->pending_get_prop = false;
	y->refresh_wanted = false;
	y->cmd_active = false;
	cJSON_Delete(y->cmd_patch);
	y->cmd_patch = NULL;
}

static int yl_connect(void *priv)
{
	struct yeelight *y = priv;

	yl_disconnect(y);
	return sh_tcpline_open(&y->conn, y->dev, y->host, y->hostname, y->port, &yl_tcp_ops, y);
}

static int yl_create(struct sh_device *dev, const struct sh_host *host, void **priv)
{
	struct yeelight *y = calloc(1, sizeof(*y));
	long long port;

	if (!y)
		return -ENOMEM;
	y->dev = dev;
	y->host = host;
	/* Every option is read and checked, so the user sees all errors at
	 * once; opt_status then has the first. */
	int host_err = host->opt_string(dev, "host", NULL, &y->hostname);
	host->opt_int(dev, "port", 55443, 1, 65535, &port);
	host->opt_duration_ms(dev, "transition", 300, &y->transition_ms);
	if (!host_err && (!y->hostname || !y->hostname[0]))
		host->config_error(dev, host->opt_node(dev, "host"),
				   "yeelight needs the bulb's address in 'host'");
	if (y->transition_ms > YL_TRANSITION_MAX_MS)
		host->config_error(dev, host->opt_node(dev, "transition"),
				   "transition must be at most 60s");
	int err = host->opt_status(dev);
	if (err < 0) {
		free(y);
		return err;
	}
	/* What a Yeelight bulb can do, for discovery: color temperature and
	 * RGB, smooth transitions up to a minute, no flash command here. */
	cJSON *meta = cJSON_Parse("{\"color_modes\":[\"color_temp\",\"rgb\"],"
				  "\"supports_flash\":false,\"manufacturer\":\"Yeelight\"}");
	if (meta) {
		cJSON_AddNumberToObject(meta, "max_transition", YL_TRANSITION_MAX_MS / 1000.0);
		host->set_metadata(dev, meta);
		cJSON_Delete(meta);
	}
	y->port = (unsigned)port;
	*priv = y;
	return 0;
}

static void yl_destroy(void *priv)
{
	if (!priv)
		return;
	yl_disconnect(priv);
	free(priv);
}

static const char *const yl_kinds[] = {"light", NULL};

SH_DRIVER_EXPORT const struct sh_driver sh_driver_descriptor = {
	.abi_version = SH_PLUGIN_ABI_VERSION,
	.name = "yeelight",
	.kinds = yl_kinds,
	.create = yl_create,
	.connect = yl_connect,
	.command = yl_command,
	.refresh = yl_refresh,
	.disconnect = yl_disconnect,
	.destroy = yl_destroy,
};
