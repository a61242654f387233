// SPDX-License-Identifier: MIT
/*
 * Simulated covers, locks, climates, fans, buttons and custom devices, and
 * the colour mode of a simulated light (see virtual_kinds.h):
 *
 *   cover:   starts open (position 100); moves at `speed` % per second
 *            (default 50), reporting opening/closing and the position on
 *            the way, then open, closed or stopped
 *   lock:    LOCK/UNLOCK become LOCKED/UNLOCKED at once
 *   climate: its current temperature drifts towards the target while the
 *            mode heats or cools; action says which
 *   fan:     keeps what it is told; a percentage above 0 turns it on
 *   button:  presses itself every `interval`, when set, with its first
 *            event type
 *   custom:  keeps every declared value; actions leave no state
 *   light:   reports color_mode (color_temp or rgb, whichever was set last)
 */
#include "virtual_kinds.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* How often a moving cover and a drifting climate report. */
#define VK_TICK_MS 200
/* The climate's change per tick while heating or cooling, in °C. */
#define VK_DRIFT_STEP 0.1

enum vk_kind { VK_LIGHT, VK_COVER, VK_LOCK, VK_CLIMATE, VK_FAN, VK_BUTTON, VK_CUSTOM };

struct vk {
	struct sh_device *dev;
	const struct sh_host *host;
	enum vk_kind kind;
	cJSON *state; /* virtual.c's */
	double speed; /* cover: % per second */
	double position, target;
	uint64_t interval_ms; /* button: 0 = never presses itself */
	const char *first_event;
	double min_temp, max_temp;
	struct sh_timer *tick, *press;
};

void vk_set(cJSON *obj, const char *key, cJSON *value)
{
	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, value);
	else
		cJSON_AddItemToObject(obj, key, value);
}

/* A command mostly repeats the state (a slider sends the same state and
 * colour with each brightness): a number changes in place and an equal
 * string or boolean stays, with no allocation on the command's way. */
void vk_set_copy(cJSON *obj, const char *key, const cJSON *src)
{
	cJSON *old = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (old && cJSON_IsNumber(old) && cJSON_IsNumber(src)) {
		cJSON_SetNumberValue(old, src->valuedouble);
		return;
	}
	if (old && cJSON_IsString(old) && cJSON_IsString(src) &&
	    strcmp(old->valuestring, src->valuestring) == 0)
		return;
	if (old && cJSON_IsBool(old) && cJSON_IsBool(src) && cJSON_IsTrue(old) == cJSON_IsTrue(src))
		return;
	vk_set(obj, key, cJSON_Duplicate(src, true));
}

void vk_set_string(cJSON *obj, const char *key, const char *value)
{
	const cJSON *old = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (cJSON_IsString(old) && strcmp(old->valuestring, value) == 0)
		return;
	vk_set(obj, key, cJSON_CreateString(value));
}

static double node_number(const struct sh_node *n, double def)
{
	char *end;
	if (!n || n->type != SH_NODE_SCALAR || !n->value)
		return def;
	double v = strtod(n->value, &end);
	return end != n->value && *end == '\0' ? v : def;
}

static int kind_of(const char *kind, enum vk_kind *out)
{
	static const struct {
		const char *name;
		enum vk_kind kind;
	} kinds[] = {{"light", VK_LIGHT},     {"cover", VK_COVER}, {"lock", VK_LOCK},
		     {"climate", VK_CLIMATE}, {"fan", VK_FAN},     {"button", VK_BUTTON},
		     {"custom", VK_CUSTOM}};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].name, kind) == 0) {
			*out = kinds[i].kind;
			return 0;
		}
	return -ENOENT;
}

/* What Home Assistant discovery may advertise of a simulated light. */
static void light_metadata(struct vk *k)
{
	cJSON *meta = cJSON_CreateObject();
	cJSON *modes = cJSON_AddArrayToObject(meta, "color_modes");
	cJSON_AddItemToArray(modes, cJSON_CreateString("color_temp"));
	cJSON_AddItemToArray(modes, cJSON_CreateString("rgb"));
	cJSON_AddNumberToObject(meta, "max_transition", 60);
	cJSON_AddBoolToObject(meta, "supports_flash", false);
	k->host->set_metadata(k->dev, meta);
	cJSON_Delete(meta);
}

int vk_create(struct sh_device *dev, const struct sh_host *host, uint64_t interval_ms,
	      bool interval_set, struct vk **out)
{
	enum vk_kind kind;
	*out = NULL;
	if (kind_of(host->device_kind(dev), &kind) < 0)
		return 0;
	struct vk *k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->dev = dev;
	k->host = host;
	k->kind = kind;
	int r = 0;
	if (kind == VK_COVER)
		r = host->opt_double(dev, "speed", 50.0, 0.1, 100.0, &k->speed);
	if (kind == VK_BUTTON) {
		const struct sh_node *types = host->device_option(dev, "event_types");
		k->first_event = types && types->type == SH_NODE_SEQ && types->n_items &&
						 types->items[0]->value
					 ? types->items[0]->value
					 : "single";
		k->interval_ms = interval_set ? interval_ms : 0;
	}
	if (kind == VK_CLIMATE) {
		k->min_temp = node_number(host->device_option(dev, "min_temp"), 7);
		k->max_temp = node_number(host->device_option(dev, "max_temp"), 35);
	}
	if (kind == VK_LIGHT)
		light_metadata(k);
	if (r < 0) {
		free(k);
		return r;
	}
	*out = k;
	return 0;
}

static double clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* A custom device starts at the first value of each enum, the minimum of
 * each number and false. */
static void custom_initial(struct vk *k)
{
	const struct sh_node *props = k->host->device_option(k->dev, "properties");
	for (size_t i = 0; props && props->type == SH_NODE_MAP && i < props->n_items; i++) {
		const struct sh_node *p = props->items[i];
		const struct sh_node *type = NULL, *values = NULL, *min = NULL;
		for (size_t j = 0; p->type == SH_NODE_MAP && j < p->n_items; j++) {
			if (!strcmp(p->items[j]->key, "type"))
				type = p->items[j];
			else if (!strcmp(p->items[j]->key, "values"))
				values = p->items[j];
			else if (!strcmp(p->items[j]->key, "min"))
				min = p->items[j];
		}
		if (!type || !type->value)
			continue;
		if (!strcmp(type->value, "enum") && values && values->type == SH_NODE_SEQ &&
		    values->n_items)
			cJSON_AddStringToObject(k->state, p->key, values->items[0]->value);
		else if (!strcmp(type->value, "number"))
			cJSON_AddNumberToObject(k->state, p->key, node_number(min, 0));
		else if (!strcmp(type->value, "bool"))
			cJSON_AddFalseToObject(k->state, p->key);
	}
}

void vk_initial_state(struct vk *k, cJSON *state)
{
	k->state = state;
	if (k->kind != VK_LIGHT)
		cJSON_DeleteItemFromObjectCaseSensitive(state, "state");
	switch (k->kind) {
	case VK_LIGHT:
		cJSON_AddStringToObject(state, "color_mode", "color_temp");
		break;
	case VK_COVER:
		k->position = k->target = 100;
		cJSON_AddStringToObject(state, "state", "open");
		cJSON_AddNumberToObject(state, "position", 100);
		cJSON_AddNumberToObject(state, "tilt", 100);
		break;
	case VK_LOCK:
		cJSON_AddStringToObject(state, "state", "UNLOCKED");
		break;
	case VK_CLIMATE: {
		const struct sh_node *modes = k->host->device_option(k->dev, "modes");
		const char *mode = modes && modes->type == SH_NODE_SEQ && modes->n_items
					   ? modes->items[0]->value
					   : "off";
		double target = clamp(20, k->min_temp, k->max_temp);
		cJSON_AddStringToObject(state, "mode", mode);
		cJSON_AddNumberToObject(state, "target_temperature", target);
		cJSON_AddNumberToObject(state, "current_temperature", clamp(18, k->min_temp, 99));
		cJSON_AddStringToObject(state, "action", "idle");
		break;
	}
	case VK_FAN:
		cJSON_AddStringToObject(state, "state", "OFF");
		cJSON_AddNumberToObject(state, "percentage", 0);
		break;
	case VK_BUTTON:
		break;
	case VK_CUSTOM:
		custom_initial(k);
		break;
	}
}

static void press(struct sh_device *dev, void *data)
{
	struct vk *k = data;
	cJSON *event = cJSON_CreateObject();
	if (!event)
		return;
	cJSON_AddStringToObject(event, "event", k->first_event);
	k->host->event(dev, event);
	cJSON_Delete(event);
}

static const char *number_string(const cJSON *obj, const char *key, const char *def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : def;
}

static double number_of(const cJSON *obj, const char *key, double def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

/* One step of a moving cover. */
static void cover_tick(struct vk *k)
{
	double step = k->speed * VK_TICK_MS / 1000.0;
	if (fabs(k->target - k->position) <= step) {
		k->position = k->target;
		k->host->timer_stop(k->tick);
		k->tick = NULL;
		vk_set(k->state, "state", cJSON_CreateString(k->position > 0 ? "open" : "closed"));
	} else {
		k->position += k->target > k->position ? step : -step;
	}
	vk_set(k->state, "position", cJSON_CreateNumber(round(k->position)));
}

/* One step of a climate: the room warms or cools by VK_DRIFT_STEP towards
 * the target while the mode allows it. */
static void climate_tick(struct vk *k)
{
	const char *mode = number_string(k->state, "mode", "off");
	double current = number_of(k->state, "current_temperature", 18);
	double target = number_of(k->state, "target_temperature", 20);
	bool heat = !strcmp(mode, "heat") || !strcmp(mode, "auto");
	bool cool = !strcmp(mode, "cool") || !strcmp(mode, "auto");
	const char *action = "idle";

	if (heat && current < target - VK_DRIFT_STEP / 2) {
		current += VK_DRIFT_STEP;
		action = "heating";
	} else if (cool && current > target + VK_DRIFT_STEP / 2) {
		current -= VK_DRIFT_STEP;
		action = "cooling";
	}
	vk_set(k->state, "current_temperature", cJSON_CreateNumber(round(current * 10) / 10));
	vk_set(k->state, "action", cJSON_CreateString(action));
}

static void tick(struct sh_device *dev, void *data)
{
	struct vk *k = data;
	if (k->kind == VK_COVER)
		cover_tick(k);
	else
		climate_tick(k);
	k->host->state_update(dev, k->state);
}

static void start_tick(struct vk *k)
{
	if (!k->tick)
		k->tick = k->host->timer_start(k->dev, VK_TICK_MS, VK_TICK_MS, tick, k);
}

void vk_connected(struct vk *k)
{
	if (!k)
		return;
	if (k->kind == VK_BUTTON && k->interval_ms && !k->press)
		k->press = k->host->timer_start(k->dev, k->interval_ms, k->interval_ms, press, k);
	if (k->kind == VK_CLIMATE || (k->kind == VK_COVER && k->position != k->target))
		start_tick(k);
}

static void cover_command(struct vk *k, const cJSON *cmd)
{
	const char *state = number_string(cmd, "state", NULL);
	const cJSON *position = cJSON_GetObjectItemCaseSensitive(cmd, "position");
	const cJSON *tilt = cJSON_GetObjectItemCaseSensitive(cmd, "tilt");

	if (tilt)
		vk_set(k->state, "tilt", cJSON_CreateNumber(tilt->valuedouble));
	if (state && !strcmp(state, "STOP")) {
		k->target = k->position;
		k->host->timer_stop(k->tick);
		k->tick = NULL;
		vk_set(k->state, "state", cJSON_CreateString("stopped"));
		vk_set(k->state, "position", cJSON_CreateNumber(round(k->position)));
		return;
	}
	if (state)
		k->target = !strcmp(state, "OPEN") ? 100 : 0;
	if (position)
		k->target = position->valuedouble;
	if (!state && !position)
		return;
	if (k->target == k->position) {
		vk_set(k->state, "state", cJSON_CreateString(k->position > 0 ? "open" : "closed"));
		return;
	}
	vk_set(k->state, "state",
	       cJSON_CreateString(k->target > k->position ? "opening" : "closing"));
	start_tick(k);
}

bool vk_command(struct vk *k, const cJSON *cmd)
{
	const cJSON *item;

	if (!k)
		return false;
	switch (k->kind) {
	case VK_LIGHT:
		/* The mode is whichever colour was set last; virtual.c stores
		 * the rest. */
		if (cJSON_GetObjectItemCaseSensitive(cmd, "color"))
			vk_set_string(k->state, "color_mode", "rgb");
		else if (cJSON_GetObjectItemCaseSensitive(cmd, "color_temp"))
			vk_set_string(k->state, "color_mode", "color_temp");
		return false;
	case VK_COVER:
		cover_command(k, cmd);
		return true;
	case VK_LOCK: {
		const char *state = number_string(cmd, "state", "UNLOCK");
		vk_set(k->state, "state",
		       cJSON_CreateString(!strcmp(state, "LOCK") ? "LOCKED" : "UNLOCKED"));
		return true;
	}
	case VK_FAN:
		cJSON_ArrayForEach(item, cmd) vk_set_copy(k->state, item->string, item);
		if (cJSON_GetObjectItemCaseSensitive(cmd, "percentage") &&
		    !cJSON_GetObjectItemCaseSensitive(cmd, "state"))
			vk_set(k->state, "state",
			       cJSON_CreateString(number_of(cmd, "percentage", 0) > 0 ? "ON"
										      : "OFF"));
		return true;
	case VK_CLIMATE:
	case VK_CUSTOM:
		cJSON_ArrayForEach(item, cmd)
		{
			/* An action is a moment, not a state. */
			if (cJSON_IsTrue(item) && k->kind == VK_CUSTOM &&
			    !cJSON_HasObjectItem(k->state, item->string))
				continue;
			vk_set_copy(k->state, item->string, item);
		}
		return true;
	case VK_BUTTON:
		return true;
	}
	return false;
}

void vk_disconnect(struct vk *k)
{
	if (!k)
		return;
	k->host->timer_stop(k->tick);
	k->host->timer_stop(k->press);
	k->tick = k->press = NULL;
}

void vk_destroy(struct vk *k)
{
	vk_disconnect(k);
	free(k);
}
