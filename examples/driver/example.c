// SPDX-License-Identifier: MIT
/*
 * example: a complete smarthub light driver in one file, built out of tree
 * against the installed <smarthub/plugin.h> (see Makefile and
 * docs/drivers/writing.md). The "bulb" is simulated: it keeps its state in
 * memory, answers a command after `delay` (default 100ms) and reports the
 * result through the host, as a driver for a real network bulb would.
 */
#include <smarthub/plugin.h>

#include <errno.h>
#include <stdlib.h>

struct example {
	struct sh_device *dev;
	const struct sh_host *host;
	uint64_t delay_ms;
	bool on;
	int brightness;         /* 0..255 */
	struct sh_timer *timer; /* the command in flight, or NULL */
	uint64_t command_id;
};

static void report_state(struct example *e)
{
	cJSON *state = cJSON_CreateObject();
	cJSON_AddStringToObject(state, "state", e->on ? "ON" : "OFF");
	cJSON_AddNumberToObject(state, "brightness", e->brightness);
	e->host->state_update(e->dev, state); /* borrowed: we free it */
	cJSON_Delete(state);
}

static int example_create(struct sh_device *dev, const struct sh_host *host, void **priv)
{
	struct example *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->dev = dev;
	e->host = host;
	e->brightness = 254;
	/* Read every option, then return the first error (if any). */
	host->opt_duration_ms(dev, "delay", 100, &e->delay_ms);
	int r = host->opt_status(dev);
	if (r < 0) {
		free(e);
		return r;
	}
	cJSON *meta = cJSON_Parse("{\"color_modes\":[\"brightness\"],\"model\":\"example\"}");
	host->set_metadata(dev, meta);
	cJSON_Delete(meta);
	*priv = e;
	return 0;
}

static int example_connect(void *priv)
{
	struct example *e = priv;
	/* A real driver opens a socket here and reports later; reporting from
	 * inside connect() is fine too: the daemon delivers it afterwards. */
	e->host->connected(e->dev);
	report_state(e);
	return 0;
}

static void command_finished(struct sh_device *dev, void *data)
{
	struct example *e = data;
	e->host->timer_stop(e->timer);
	e->timer = NULL;
	report_state(e);
	e->host->command_done(dev, e->command_id, 0, NULL);
}

static int example_command(void *priv, uint64_t id, const cJSON *cmd)
{
	struct example *e = priv;
	/* Already validated against the light kind by the daemon. */
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(cmd, "state");
	const cJSON *brightness = cJSON_GetObjectItemCaseSensitive(cmd, "brightness");
	if (cJSON_IsString(state))
		e->on = state->valuestring[1] == 'N'; /* "ON" or "OFF" */
	if (cJSON_IsNumber(brightness)) {
		e->brightness = brightness->valueint;
		e->on = e->on || !state; /* setting a brightness turns it on */
	}
	e->command_id = id;
	e->timer = e->host->timer_start(e->dev, e->delay_ms, 0, command_finished, e);
	return e->timer ? 0 : -ENOMEM;
}

static void example_disconnect(void *priv)
{
	struct example *e = priv;
	e->host->timer_stop(e->timer); /* NULL is fine */
	e->timer = NULL;
}

static void example_destroy(void *priv)
{
	if (priv)
		example_disconnect(priv);
	free(priv);
}

static const char *const example_kinds[] = {"light", NULL};

SH_DRIVER_EXPORT const struct sh_driver sh_driver_descriptor = {
	.abi_version = SH_PLUGIN_ABI_VERSION,
	.name = "example", /* must match the file name, example.so */
	.kinds = example_kinds,
	.create = example_create,
	.connect = example_connect,
	.command = example_command,
	.disconnect = example_disconnect,
	.destroy = example_destroy,
};
