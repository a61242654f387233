/* SPDX-License-Identifier: MIT */
/*
 * The shelly driver: one relay channel of a Shelly, over its local HTTP
 * API, with the device's MQTT left off.
 *
 * connect asks GET /shelly which generation it is talking to (the answer
 * needs no password), then makes the HTTP client with the generation's
 * authentication (Gen1: HTTP basic, Gen2+: digest, as the device demands)
 * and reads the channel: Gen1 GET /status, Gen2+ the RPC
 * Switch.GetStatus. Only then is the device online. refresh (polling,
 * every poll_interval) reads the channel again; a command is Gen1
 * /relay/<ch>?turn=on|off|toggle or Gen2+ Switch.Set / Switch.Toggle,
 * followed by a read so power readings follow at once. Power, voltage,
 * current and energy (kWh) go into the switch's state beside "state".
 *
 * Owns its struct shelly (per device) and, while connected, one HTTP
 * client with at most one read and one command in flight.
 */
#include "shelly_proto.h"
#include "shhttp.h"

#include <errno.h>
#include <smarthub/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHELLY_POLL_DEFAULT_MS 30000u

enum { SHELLY_SLOT_ANSWER, SHELLY_SLOT_AUTH, SHELLY_SLOT_COMMAND };

struct shelly {
	struct sh_device *dev;
	const struct sh_host *host;
	struct sh_http_config http_config;
	const char *username, *password;
	unsigned channel;
	uint64_t poll_ms;

	struct sh_http *http;
	struct sh_http_req *read;
	struct sh_http_req *cmd;
	uint64_t cmd_id;
	char cmd_state[8]; /* "ON", "OFF", "TOGGLE" */
	struct shelly_info info;
	bool online;
	struct sh_http_trouble trouble;
};

static void shelly_fail(struct shelly *s, const char *what, const char *why)
{
	sh_http_failed(s->dev, s->host, &s->online, what, why);
}

/* The meters are declared at create, so discovery announces them from
 * the start; model and version follow once the device has told. */
static void shelly_metadata(struct shelly *s, bool readings_too)
{
	cJSON *meta = cJSON_CreateObject();
	static const struct {
		const char *key, *unit, *cls, *state_class;
	} readings[] = {
		{"power", "W", "power", "measurement"},
		{"voltage", "V", "voltage", "measurement"},
		{"current", "A", "current", "measurement"},
		{"energy", "kWh", "energy", "total_increasing"},
	};

	if (!meta)
		return;
	cJSON_AddStringToObject(meta, "manufacturer", "Shelly");
	if (s->info.model[0])
		cJSON_AddStringToObject(meta, "model", s->info.model);
	if (s->info.version[0])
		cJSON_AddStringToObject(meta, "sw_version", s->info.version);
	cJSON *r = readings_too ? cJSON_AddObjectToObject(meta, "readings") : NULL;
	for (size_t i = 0; r && i < sizeof(readings) / sizeof(readings[0]); i++) {
		cJSON *one = cJSON_AddObjectToObject(r, readings[i].key);
		if (!one)
			break;
		cJSON_AddStringToObject(one, "unit", readings[i].unit);
		cJSON_AddStringToObject(one, "device_class", readings[i].cls);
		cJSON_AddStringToObject(one, "state_class", readings[i].state_class);
	}
	s->host->set_metadata(s->dev, meta);
	cJSON_Delete(meta);
}

static void shelly_publish(struct shelly *s, const struct shelly_switch *sw)
{
	cJSON *patch = shelly_switch_to_patch(sw);
	if (patch)
		s->host->state_update(s->dev, patch);
	cJSON_Delete(patch);
}

/* The device's own words for an RPC error, else the HTTP client's. */
static void shelly_why(const struct sh_http_response *resp, char *out, size_t size)
{
	char msg[128];
	if (resp->body && shelly_parse_gen2_error(resp->body, resp->len, msg, sizeof(msg)) == 0)
		snprintf(out, size, "%s (%s)", resp->error, msg);
	else
		snprintf(out, size, "%s", resp->error);
}

static void shelly_on_read(void *ctx, const struct sh_http_response *resp)
{
	struct shelly *s = ctx;
	struct shelly_switch sw;
	char why[SH_HTTP_ERROR_MAX + 160];

	s->read = NULL;
	if (resp->err) {
		shelly_why(resp, why, sizeof(why));
		if (resp->err == -EACCES)
			sh_http_trouble(&s->trouble, s->dev, s->host, SHELLY_SLOT_AUTH,
					"the device refused our password: %s", why);
		sh_http_read_failed(&s->trouble, s->dev, s->host, SHELLY_SLOT_ANSWER, &s->online,
				    resp, why);
		return;
	}
	sh_http_trouble_clear(&s->trouble, s->dev, s->host, SHELLY_SLOT_AUTH, "logged in again");
	int err = s->info.gen == 1
			  ? shelly_parse_gen1_status(resp->body, resp->len, s->channel, &sw)
			  : shelly_parse_gen2_status(resp->body, resp->len, &sw);
	if (err) {
		if (!s->online) {
			shelly_fail(s, "connect", "the status is not a Shelly's (wrong channel?)");
			return;
		}
		sh_http_trouble(&s->trouble, s->dev, s->host, SHELLY_SLOT_ANSWER,
				"the status answer is not a Shelly's (HTTP %ld, %zu bytes)",
				resp->status, resp->len);
		return;
	}
	sh_http_trouble_clear(&s->trouble, s->dev, s->host, SHELLY_SLOT_ANSWER,
			      "answers are readable again");
	shelly_publish(s, &sw);
	if (!s->online) {
		s->online = true;
		shelly_metadata(s, false);
		s->host->connected(s->dev);
	}
}

static int shelly_read(struct shelly *s)
{
	char path[SHELLY_PATH_MAX];

	if (s->read)
		return 0;
	int err = shelly_status_path(s->info.gen, s->channel, path, sizeof(path));
	if (err)
		return err;
	struct sh_http_request req = {.path = path, .done = shelly_on_read, .ctx = s};
	return sh_http_request(s->http, &req, &s->read);
}

/* GET /shelly answered: now the generation and its login are known. */
static void shelly_on_info(void *ctx, const struct sh_http_response *resp)
{
	struct shelly *s = ctx;

	s->read = NULL;
	if (resp->err) {
		shelly_fail(s, "connect", resp->error);
		return;
	}
	if (shelly_parse_info(resp->body, resp->len, &s->info) < 0) {
		shelly_fail(s, "connect", "GET /shelly did not answer as a Shelly does");
		return;
	}
	if (s->info.auth && !s->password) {
		sh_http_trouble(&s->trouble, s->dev, s->host, SHELLY_SLOT_AUTH,
				"the device asks for a password: set 'password'");
		shelly_fail(s, "connect", "the device asks for a password");
		return;
	}
	struct sh_http_config cfg = s->http_config;
	if (s->password) {
		cfg.auth = s->info.gen == 1 ? SH_HTTP_AUTH_BASIC : SH_HTTP_AUTH_DIGEST;
		/* Gen2+ has one user, "admin". */
		cfg.username = s->info.gen == 1 ? s->username : "admin";
		cfg.password = s->password;
	}
	sh_http_free(s->http);
	s->http = NULL;
	int err = sh_http_new(&s->http, s->dev, s->host, &cfg);
	if (!err)
		err = shelly_read(s);
	if (err)
		shelly_fail(s, "connect", strerror(-err));
}

static void shelly_on_command(void *ctx, const struct sh_http_response *resp)
{
	struct shelly *s = ctx;
	char why[SH_HTTP_ERROR_MAX + 160];
	struct shelly_switch sw = {0};

	s->cmd = NULL;
	if (resp->err) {
		shelly_why(resp, why, sizeof(why));
		sh_http_trouble(&s->trouble, s->dev, s->host, SHELLY_SLOT_COMMAND,
				"command refused: %s", why);
		s->host->command_done(s->dev, s->cmd_id, resp->err, why);
		return;
	}
	sh_http_trouble_clear(&s->trouble, s->dev, s->host, SHELLY_SLOT_COMMAND,
			      "commands work again");
	if (s->info.gen == 1) {
		if (shelly_parse_gen1_relay(resp->body, resp->len, &sw) < 0) {
			s->host->command_done(s->dev, s->cmd_id, -EPROTO,
					      "the relay's answer is not a Shelly's");
			return;
		}
	} else {
		/* {"was_on":..}: the result is what was asked (or the flip). */
		cJSON *root = cJSON_ParseWithLength(resp->body, resp->len);
		const cJSON *was = cJSON_GetObjectItemCaseSensitive(root, "was_on");
		bool ok = cJSON_IsBool(was);
		sw.on = strcmp(s->cmd_state, "TOGGLE") == 0 ? !cJSON_IsTrue(was)
							    : strcmp(s->cmd_state, "ON") == 0;
		cJSON_Delete(root);
		if (!ok) {
			s->host->command_done(s->dev, s->cmd_id, -EPROTO,
					      "the switch's answer is not a Shelly's");
			return;
		}
	}
	cJSON *patch = cJSON_CreateObject();
	if (patch && cJSON_AddStringToObject(patch, "state", sw.on ? "ON" : "OFF"))
		s->host->state_update(s->dev, patch);
	cJSON_Delete(patch);
	s->host->command_done(s->dev, s->cmd_id, 0, NULL);
	/* The load changed: read the meter now rather than at the next poll. */
	(void)shelly_read(s);
}

static int shelly_command(void *priv, uint64_t id, const cJSON *command)
{
	struct shelly *s = priv;
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(command, "state");
	char path[SHELLY_PATH_MAX];

	sh_http_cancel(s->http, s->cmd);
	s->cmd = NULL;
	s->cmd_id = id;
	if (!cJSON_IsString(state)) { /* nothing a relay can do */
		s->host->command_done(s->dev, id, 0, NULL);
		return 0;
	}
	int err = shelly_command_path(s->info.gen, s->channel, state->valuestring, path,
				      sizeof(path));
	if (err)
		return err;
	snprintf(s->cmd_state, sizeof(s->cmd_state), "%s", state->valuestring);
	struct sh_http_request req = {.path = path, .done = shelly_on_command, .ctx = s};
	return sh_http_request(s->http, &req, &s->cmd);
}

static int shelly_refresh(void *priv)
{
	return shelly_read(priv);
}

static void shelly_disconnect(void *priv)
{
	struct shelly *s = priv;

	sh_http_free(s->http);
	s->http = NULL;
	s->read = s->cmd = NULL;
	s->online = false;
}

static int shelly_connect(void *priv)
{
	struct shelly *s = priv;

	shelly_disconnect(s);
	int err = sh_http_new(&s->http, s->dev, s->host, &s->http_config);
	if (err)
		return err;
	struct sh_http_request req = {.path = "/shelly", .done = shelly_on_info, .ctx = s};
	return sh_http_request(s->http, &req, &s->read);
}

static int shelly_create(struct sh_device *dev, const struct sh_host *host, void **priv)
{
	struct shelly *s = calloc(1, sizeof(*s));
	const char *hostname = NULL;
	long long port = 80, channel = 0;

	if (!s)
		return -ENOMEM;
	s->dev = dev;
	s->host = host;
	host->opt_string(dev, "host", NULL, &hostname);
	host->opt_int(dev, "port", 80, 1, 65535, &port);
	host->opt_int(dev, "channel", 0, 0, SHELLY_CHANNEL_MAX, &channel);
	host->opt_duration_ms(dev, "poll_interval", SHELLY_POLL_DEFAULT_MS, &s->poll_ms);
	host->opt_string(dev, "username", "admin", &s->username);
	host->opt_string(dev, "password", NULL, &s->password);
	if (!host->opt_node(dev, "host"))
		host->config_error(dev, NULL, "shelly needs the device's address in 'host'");
	int err = host->opt_status(dev);
	if (!err && !hostname)
		err = -EINVAL;
	if (!err && s->poll_ms == 0) {
		host->config_error(dev, host->opt_node(dev, "poll_interval"),
				   "poll_interval must be more than 0");
		err = -EINVAL;
	}
	if (!err)
		err = host->poll_every(dev, s->poll_ms);
	if (err) {
		free(s);
		return err;
	}
	s->channel = (unsigned)channel;
	shelly_metadata(s, true);
	s->http_config = (struct sh_http_config){.host = hostname, .port = (unsigned)port};
	sh_http_device_timeouts(dev, host, &s->http_config);
	*priv = s;
	return 0;
}

static void shelly_destroy(void *priv)
{
	if (!priv)
		return;
	shelly_disconnect(priv);
	free(priv);
}

static const char *const shelly_kinds[] = {"switch", NULL};

SH_DRIVER_EXPORT const struct sh_driver sh_driver_descriptor = {
	.abi_version = SH_PLUGIN_ABI_VERSION,
	.name = "shelly",
	.kinds = shelly_kinds,
	.create = shelly_create,
	.connect = shelly_connect,
	.command = shelly_command,
	.refresh = shelly_refresh,
	.disconnect = shelly_disconnect,
	.destroy = shelly_destroy,
};
