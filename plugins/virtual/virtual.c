// SPDX-License-Identifier: MIT
/*
 * The virtual driver: simulated lights, switches, speakers and sensors, so
 * the demo and the tests run without hardware. Its options make it behave
 * like real devices do at their worst: slow to connect, slow to answer,
 * failing the first attempts, never answering, failing commands at random,
 * and a speaker that has no power while its smart plug is off.
 *
 * The simulated device keeps its own state across reconnects, as a real
 * bulb remembers its brightness while the hub loses the connection.
 */
#include <smarthub/plugin.h>
#include "util/hash.h"
#include "virtual_kinds.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum reading {
	READ_TEMPERATURE,
	READ_HUMIDITY,
	READ_MOTION,
	READ_ILLUMINANCE,
	READ_PRESSURE,
	READ_BATTERY,
	READ_COUNT,
};

static const char *const reading_names[READ_COUNT] = {
	"temperature", "humidity", "motion", "illuminance", "pressure", "battery",
};

struct virtual_device {
	struct sh_device *dev;
	const struct sh_host *host;
	bool is_sensor, is_speaker;

	uint64_t connect_delay_ms, command_delay_ms, interval_ms;
	long long fail_connects;
	bool unreachable;
	double flaky;
	const char *needs_power;
	bool plug_on; /* needs_power: the plug's last reported state */
	bool linked;  /* connected: losing power is then a lost connection */
	bool readings[READ_COUNT];
	double values[READ_COUNT];
	unsigned seed;

	long long attempts;
	cJSON *state; /* what the simulated device believes */
	struct sh_timer *connect_timer, *command_timer, *sample_timer;
	uint64_t command_id;
	cJSON *command;
	struct vk *kinds; /* cover, lock, climate, fan, button, custom; a light's colour mode */
};

static double random_unit(struct virtual_device *v)
{
	return (double)rand_r(&v->seed) / (double)RAND_MAX;
}

static int read_readings(struct virtual_device *v)
{
	const struct sh_node *list = v->host->opt_node(v->dev, "readings");
	if (!list) {
		v->readings[READ_TEMPERATURE] = true;
		return 0;
	}
	if (list->type != SH_NODE_SEQ) {
		v->host->config_error(v->dev, list, "readings must be a list");
		return -EINVAL;
	}
	for (size_t i = 0; i < list->n_items; i++) {
		const struct sh_node *item = list->items[i];
		bool found = false;
		for (int r = 0; r < READ_COUNT && item->value; r++)
			if (strcmp(item->value, reading_names[r]) == 0)
				v->readings[r] = found = true;
		if (!found) {
			v->host->config_error(
				v->dev, item,
				"unknown reading '%s' (temperature, humidity, motion, "
				"illuminance, pressure, battery)",
				item->value ? item->value : "");
			return -EINVAL;
		}
	}
	return 0;
}

static void initial_state(struct virtual_device *v)
{
	static const double start[READ_COUNT] = {21.0, 45.0, 0, 300.0, 1013.0, 100.0};
	memcpy(v->values, start, sizeof(start));
	const char *kind = v->host->device_kind(v->dev);
	v->state = cJSON_CreateObject();
	if (!v->state || v->is_sensor)
		return;
	cJSON_AddStringToObject(v->state, "state", "OFF");
	if (strcmp(kind, "light") == 0) {
		cJSON_AddNumberToObject(v->state, "brightness", 254);
		cJSON_AddNumberToObject(v->state, "color_temp", 370);
	} else if (v->is_speaker) {
		cJSON_AddNumberToObject(v->state, "volume", 50);
		cJSON_AddBoolToObject(v->state, "playing", false);
		cJSON_AddBoolToObject(v->state, "mute", false);
	}
}

/* The plug's state, from watch_peer: as soon as it is off, a running
 * speaker has lost its power, as a real one would. */
static void on_plug(struct sh_device *dev, const char *peer_id, const cJSON *state, bool online,
		    void *data)
{
	struct virtual_device *v = data;
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(state, "state");
	v->plug_on = cJSON_IsString(s) && strcmp(s->valuestring, "ON") == 0;
	if (v->linked && !v->plug_on)
		v->host->failed(dev, "lost power (its plug is off)");
}

/* What discovery shows, declared once: the model, and each reading of a
 * sensor with its unit. */
static void declare_metadata(struct virtual_device *v)
{
	static const char *const units[READ_COUNT] = {"°C", "%", NULL, "lx", "hPa", "%"};
	static const char *const classes[READ_COUNT] = {"temperature", "humidity", "motion",
							"illuminance", "pressure", "battery"};
	cJSON *meta = cJSON_CreateObject();
	if (!meta)
		return;
	/* A light's capabilities are virtual_kinds.c's. */
	if (v->is_sensor) {
		cJSON *readings = cJSON_AddObjectToObject(meta, "readings");
		for (int r = 0; r < READ_COUNT; r++) {
			if (!v->readings[r])
				continue;
			cJSON *one = cJSON_AddObjectToObject(readings, reading_names[r]);
			if (units[r])
				cJSON_AddStringToObject(one, "unit", units[r]);
			cJSON_AddStringToObject(one, "device_class", classes[r]);
			if (r != READ_MOTION)
				cJSON_AddStringToObject(one, "state_class", "measurement");
		}
	}
	cJSON_AddStringToObject(meta, "model", "virtual");
	v->host->set_metadata(v->dev, meta);
	cJSON_Delete(meta);
}

static int virtual_create(struct sh_device *dev, const struct sh_host *host, void **priv)
{
	struct virtual_device *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->dev = dev;
	v->host = host;
	const char *kind = host->device_kind(dev);
	v->is_sensor = strcmp(kind, "sensor") == 0;
	v->is_speaker = strcmp(kind, "speaker") == 0;
	long long seed = 0;
	/* Every option is read before giving up, so the user sees every error
	 * at once; opt_status then has the first. */
	host->opt_duration_ms(dev, "connect_delay", 0, &v->connect_delay_ms);
	host->opt_duration_ms(dev, "command_delay", 0, &v->command_delay_ms);
	host->opt_duration_ms(dev, "interval", 10000, &v->interval_ms);
	host->opt_int(dev, "fail_connects", 0, 0, 1000000, &v->fail_connects);
	host->opt_bool(dev, "unreachable", false, &v->unreachable);
	host->opt_double(dev, "flaky", 0.0, 0.0, 1.0, &v->flaky);
	host->opt_string(dev, "needs_power", NULL, &v->needs_power);
	host->opt_int(dev, "seed", 0, 0, 0xffffffffLL, &seed);
	if (v->is_sensor)
		read_readings(v);
	if (v->needs_power && !v->is_speaker)
		host->config_error(dev, host->opt_node(dev, "needs_power"),
				   "needs_power applies to speakers only");
	if (v->interval_ms == 0)
		host->config_error(dev, host->opt_node(dev, "interval"), "interval must be > 0");
	int r = host->opt_status(dev);
	if (r == 0 && v->needs_power) {
		r = host->watch_peer(dev, v->needs_power, on_plug, v);
		if (r == -ENOENT)
			host->config_error(dev, host->opt_node(dev, "needs_power"),
					   "needs_power: no device %s", v->needs_power);
	}
	if (r == 0)
		r = vk_create(dev, host, v->interval_ms, host->opt_node(dev, "interval") != NULL,
			      &v->kinds);
	if (r < 0) {
		free(v);
		return r;
	}
	declare_metadata(v);
	v->seed = seed ? (unsigned)seed : (unsigned)sh_hash_str(host->device_id(dev));
	initial_state(v);
	if (v->state && v->kinds)
		vk_initial_state(v->kinds, v->state);
	if (!v->state) {
		vk_destroy(v->kinds);
		free(v);
		return -ENOMEM;
	}
	*priv = v;
	return 0;
}

static bool powered(struct virtual_device *v)
{
	return !v->needs_power || v->plug_on;
}

/* --- sensors ------------------------------------------------------------- */

static double drift(struct virtual_device *v, double value, double step, double lo, double hi)
{
	value += step * (2.0 * random_unit(v) - 1.0);
	return value < lo ? lo : value > hi ? hi : value;
}

static void sample(struct sh_device *dev, void *data)
{
	struct virtual_device *v = data;
	cJSON *patch = cJSON_CreateObject();
	if (!patch)
		return;
	double *x = v->values;
	x[READ_TEMPERATURE] = drift(v, x[READ_TEMPERATURE], 0.2, 15.0, 30.0);
	x[READ_HUMIDITY] = drift(v, x[READ_HUMIDITY], 1.0, 20.0, 80.0);
	x[READ_ILLUMINANCE] = drift(v, x[READ_ILLUMINANCE], 25.0, 0.0, 2000.0);
	x[READ_PRESSURE] = drift(v, x[READ_PRESSURE], 0.5, 950.0, 1050.0);
	x[READ_BATTERY] = x[READ_BATTERY] > 1.0 ? x[READ_BATTERY] - 0.01 : 100.0;
	for (int r = 0; r < READ_COUNT; r++) {
		if (!v->readings[r])
			continue;
		if (r == READ_MOTION)
			cJSON_AddBoolToObject(patch, "motion", random_unit(v) < 0.2);
		else
			cJSON_AddNumberToObject(patch, reading_names[r], round(x[r] * 10.0) / 10.0);
	}
	v->host->state_update(dev, patch);
	cJSON_Delete(patch);
}

/* --- connection -------------------------------------------------------------- */

static void connect_finished(struct sh_device *dev, void *data)
{
	struct virtual_device *v = data;
	v->host->timer_stop(v->connect_timer);
	v->connect_timer = NULL;
	v->attempts++;
	if (v->attempts <= v->fail_connects) {
		v->host->failed(dev, "connection refused (simulated)");
		return;
	}
	if (!powered(v)) {
		char reason[160];
		snprintf(reason, sizeof(reason), "no power: %s is off", v->needs_power);
		v->host->failed(dev, reason);
		return;
	}
	v->host->connected(dev);
	v->linked = true;
	if (v->is_sensor) {
		sample(dev, v);
		v->sample_timer =
			v->host->timer_start(dev, v->interval_ms, v->interval_ms, sample, v);
	} else {
		v->host->state_update(dev, v->state);
	}
	vk_connected(v->kinds);
}

static int virtual_connect(void *priv)
{
	struct virtual_device *v = priv;
	/* An unreachable device never answers: the daemon's connect_timeout
	 * is what ends the attempt, as with a host that drops packets. */
	if (v->unreachable)
		return 0;
	v->connect_timer =
		v->host->timer_start(v->dev, v->connect_delay_ms, 0, connect_finished, v);
	return v->connect_timer ? 0 : -ENOMEM;
}

static void virtual_disconnect(void *priv)
{
	struct virtual_device *v = priv;
	v->host->timer_stop(v->connect_timer);
	v->host->timer_stop(v->command_timer);
	v->host->timer_stop(v->sample_timer);
	v->connect_timer = v->command_timer = v->sample_timer = NULL;
	v->linked = false;
	vk_disconnect(v->kinds);
	cJSON_Delete(v->command);
	v->command = NULL;
}

/* --- commands ---------------------------------------------------------------- */

static bool is_on(const cJSON *state)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(state, "state");
	return cJSON_IsString(s) && strcmp(s->valuestring, "ON") == 0;
}

/* Applies a speaker action the way a player would: play starts media,
 * pause/stop halt it, next/previous move along the playlist. */
static void apply_speaker_action(struct virtual_device *v, const cJSON *item)
{
	const char *k = item->string;
	if (strcmp(k, "play") == 0) {
		if (!cJSON_IsString(item)) { /* play: true resumes */
			vk_set(v->state, "playing", cJSON_CreateBool(true));
			return;
		}
		vk_set(v->state, "media", cJSON_CreateString(item->valuestring));
		vk_set(v->state, "playing", cJSON_CreateBool(true));
		vk_set(v->state, "track", cJSON_CreateNumber(1));
	} else if (strcmp(k, "pause") == 0 || strcmp(k, "stop") == 0) {
		if (cJSON_IsTrue(item))
			vk_set(v->state, "playing", cJSON_CreateBool(false));
	} else if (strcmp(k, "next") == 0 || strcmp(k, "previous") == 0) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(v->state, "track");
		double track = cJSON_IsNumber(t) ? t->valuedouble : 1;
		track += strcmp(k, "next") == 0 ? 1 : (track > 1 ? -1 : 0);
		if (cJSON_IsTrue(item))
			vk_set(v->state, "track", cJSON_CreateNumber(track));
	} else {
		vk_set_copy(v->state, k, item);
	}
}

/* What the simulated device does with `cmd` (borrowed): the state it
 * ends in, reported, and the command's completion. */
static void apply_command(struct virtual_device *v, uint64_t id, const cJSON *cmd)
{
	struct sh_device *dev = v->dev;

	if (v->flaky > 0 && random_unit(v) < v->flaky) {
		v->host->command_done(dev, id, -EIO, "simulated failure (flaky device)");
		return;
	}
	const cJSON *state_item = cJSON_GetObjectItemCaseSensitive(cmd, "state");
	bool will_be_on = state_item ? strcmp(state_item->valuestring, "ON") == 0 : is_on(v->state);
	if (v->is_speaker && cJSON_GetObjectItemCaseSensitive(cmd, "play") && !will_be_on) {
		v->host->command_done(dev, id, -EPERM, "speaker is off");
		return;
	}
	const cJSON *item;
	bool handled = vk_command(v->kinds, cmd);
	for (item = handled ? NULL : cmd->child; item; item = item->next) {
		if (strcmp(item->string, "transition") == 0 || strcmp(item->string, "flash") == 0)
			continue;
		if (v->is_speaker)
			apply_speaker_action(v, item);
		else
			vk_set_copy(v->state, item->string, item);
	}
	if (v->is_speaker && !is_on(v->state))
		vk_set(v->state, "playing", cJSON_CreateBool(false));
	v->host->state_update(dev, v->state);
	v->host->command_done(dev, id, 0, NULL);
}

static void command_finished(struct sh_device *dev, void *data)
{
	struct virtual_device *v = data;
	cJSON *cmd = v->command;

	v->host->timer_stop(v->command_timer);
	v->command_timer = NULL;
	v->command = NULL;
	apply_command(v, v->command_id, cmd);
	cJSON_Delete(cmd);
}

static int virtual_command(void *priv, uint64_t id, const cJSON *command)
{
	struct virtual_device *v = priv;
	cJSON_Delete(v->command);
	v->command = NULL;
	v->command_id = id;
	/* Without a delay the command is applied inside this call, while
	 * `command` is still the daemon's: no copy on every command. */
	if (v->command_delay_ms == 0) {
		apply_command(v, id, command);
		return 0;
	}
	v->command = cJSON_Duplicate(command, true);
	if (!v->command)
		return -ENOMEM;
	v->command_timer =
		v->host->timer_start(v->dev, v->command_delay_ms, 0, command_finished, v);
	return v->command_timer ? 0 : -ENOMEM;
}

static int virtual_refresh(void *priv)
{
	struct virtual_device *v = priv;
	if (v->is_sensor)
		sample(v->dev, v);
	else
		v->host->state_update(v->dev, v->state);
	return 0;
}

static void virtual_destroy(void *priv)
{
	struct virtual_device *v = priv;
	if (!v)
		return;
	virtual_disconnect(v);
	cJSON_Delete(v->state);
	vk_destroy(v->kinds);
	free(v);
}

static const char *const virtual_kinds[] = {"light",  "switch", "speaker", "sensor",
					    "cover",  "lock",   "climate", "fan",
					    "button", "custom", NULL};

SH_DRIVER_EXPORT const struct sh_driver sh_driver_descriptor = {
	.abi_version = SH_PLUGIN_ABI_VERSION,
	.name = "virtual",
	.kinds = virtual_kinds,
	.create = virtual_create,
	.connect = virtual_connect,
	.command = virtual_command,
	.refresh = virtual_refresh,
	.disconnect = virtual_disconnect,
	.destroy = virtual_destroy,
};
