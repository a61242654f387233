/* SPDX-License-Identifier: MIT */
/*
 * Shelly API conversions; see shelly_proto.h. Readings are taken only when
 * they are finite numbers; the paths are built from a channel number and
 * fixed words, never from text a user sent.
 */
#include "shelly_proto.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static bool number(const cJSON *item, double *out)
{
	if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble))
		return false;
	*out = item->valuedouble;
	return true;
}

static void text(char *dst, const cJSON *item)
{
	if (cJSON_IsString(item))
		snprintf(dst, SHELLY_TEXT_MAX, "%s", item->valuestring);
}

/* Clears `out` (size bytes) and parses `json`: its root object (the
 * caller deletes it), or NULL when it is not one. */
static cJSON *parse_root(const char *json, size_t len, void *out, size_t size)
{
	cJSON *root = cJSON_ParseWithLength(json, len);

	memset(out, 0, size);
	if (cJSON_IsObject(root))
		return root;
	cJSON_Delete(root);
	return NULL;
}

int shelly_parse_info(const char *json, size_t len, struct shelly_info *out)
{
	cJSON *root = parse_root(json, len, out, sizeof(*out));
	int err = -EINVAL;
	double gen = 1;

	if (!root)
		goto out;
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(root, "gen");
	if (g && (!number(g, &gen) || gen < 1 || gen > 99))
		goto out;
	out->gen = (int)gen;
	if (out->gen == 1) {
		/* Gen1 names itself with "type" and says "auth". */
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
		if (!cJSON_IsString(type))
			goto out;
		text(out->model, type);
		text(out->version, cJSON_GetObjectItemCaseSensitive(root, "fw"));
		out->auth = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "auth"));
	} else {
		text(out->model, cJSON_GetObjectItemCaseSensitive(root, "model"));
		text(out->version, cJSON_GetObjectItemCaseSensitive(root, "ver"));
		out->auth = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "auth_en"));
	}
	err = 0;
out:
	cJSON_Delete(root);
	return err;
}

static int read_ison(const cJSON *relay, struct shelly_switch *out)
{
	const cJSON *ison = cJSON_GetObjectItemCaseSensitive(relay, "ison");
	if (!cJSON_IsBool(ison))
		return -EINVAL;
	out->on = cJSON_IsTrue(ison);
	return 0;
}

int shelly_parse_gen1_status(const char *json, size_t len, unsigned ch, struct shelly_switch *out)
{
	cJSON *root = parse_root(json, len, out, sizeof(*out));
	int err = -EINVAL;
	double v;

	if (!root)
		goto out;
	const cJSON *relays = cJSON_GetObjectItemCaseSensitive(root, "relays");
	if (!cJSON_IsArray(relays) || read_ison(cJSON_GetArrayItem(relays, (int)ch), out) < 0)
		goto out;
	const cJSON *meters = cJSON_GetObjectItemCaseSensitive(root, "meters");
	if (!cJSON_IsArray(meters))
		meters = cJSON_GetObjectItemCaseSensitive(root, "emeters");
	const cJSON *m = cJSON_IsArray(meters) ? cJSON_GetArrayItem(meters, (int)ch) : NULL;
	if (cJSON_IsObject(m) && !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(m, "is_valid"))) {
		if (number(cJSON_GetObjectItemCaseSensitive(m, "power"), &v)) {
			out->has_power = true;
			out->power = v;
		}
		/* meters[].total is in watt-minutes (emeters[] in Wh). */
		if (number(cJSON_GetObjectItemCaseSensitive(m, "total"), &v) && v >= 0) {
			out->has_energy = true;
			out->energy = meters == cJSON_GetObjectItemCaseSensitive(root, "emeters")
					      ? v / 1000.0
					      : v / 60000.0;
		}
		if (number(cJSON_GetObjectItemCaseSensitive(m, "voltage"), &v)) {
			out->has_voltage = true;
			out->voltage = v;
		}
	}
	/* The Shelly 2.5 reports one voltage for the device. */
	if (!out->has_voltage && number(cJSON_GetObjectItemCaseSensitive(root, "voltage"), &v)) {
		out->has_voltage = true;
		out->voltage = v;
	}
	err = 0;
out:
	cJSON_Delete(root);
	return err;
}

int shelly_parse_gen1_relay(const char *json, size_t len, struct shelly_switch *out)
{
	cJSON *root = parse_root(json, len, out, sizeof(*out));
	int err = root ? read_ison(root, out) : -EINVAL;
	cJSON_Delete(root);
	return err;
}

int shelly_parse_gen2_status(const char *json, size_t len, struct shelly_switch *out)
{
	cJSON *root = parse_root(json, len, out, sizeof(*out));
	int err = -EINVAL;
	double v;

	if (!root)
		goto out;
	const cJSON *output = cJSON_GetObjectItemCaseSensitive(root, "output");
	if (!cJSON_IsBool(output))
		goto out;
	out->on = cJSON_IsTrue(output);
	if ((out->has_power = number(cJSON_GetObjectItemCaseSensitive(root, "apower"), &v)))
		out->power = v;
	if ((out->has_voltage = number(cJSON_GetObjectItemCaseSensitive(root, "voltage"), &v)))
		out->voltage = v;
	if ((out->has_current = number(cJSON_GetObjectItemCaseSensitive(root, "current"), &v)))
		out->current = v;
	const cJSON *aenergy = cJSON_GetObjectItemCaseSensitive(root, "aenergy");
	if (number(cJSON_GetObjectItemCaseSensitive(aenergy, "total"), &v) && v >= 0) {
		out->has_energy = true;
		out->energy = v / 1000.0; /* Wh */
	}
	err = 0;
out:
	cJSON_Delete(root);
	return err;
}

int shelly_parse_gen2_error(const char *json, size_t len, char *msg, size_t size)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "message");
	int err = -EINVAL;

	if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(root, "code")) && cJSON_IsString(m)) {
		snprintf(msg, size, "%s", m->valuestring);
		err = 0;
	}
	cJSON_Delete(root);
	return err;
}

/* Rounds a reading so a meter's noise in the last digits does not publish
 * a new state on every poll. */
static double rounded(double v, double scale)
{
	return round(v * scale) / scale;
}

cJSON *shelly_switch_to_patch(const struct shelly_switch *s)
{
	cJSON *p = cJSON_CreateObject();
	bool ok = p && cJSON_AddStringToObject(p, "state", s->on ? "ON" : "OFF");

	if (ok && s->has_power)
		ok = cJSON_AddNumberToObject(p, "power", rounded(s->power, 10)) != NULL;
	if (ok && s->has_voltage)
		ok = cJSON_AddNumberToObject(p, "voltage", rounded(s->voltage, 10)) != NULL;
	if (ok && s->has_current)
		ok = cJSON_AddNumberToObject(p, "current", rounded(s->current, 1000)) != NULL;
	if (ok && s->has_energy)
		ok = cJSON_AddNumberToObject(p, "energy", rounded(s->energy, 1000)) != NULL;
	if (!ok) {
		cJSON_Delete(p);
		return NULL;
	}
	return p;
}

int shelly_command_path(int gen, unsigned ch, const char *on, char *out, size_t size)
{
	int n;

	if (ch > SHELLY_CHANNEL_MAX || !on)
		return -EINVAL;
	bool toggle = strcmp(on, "TOGGLE") == 0;
	if (!toggle && strcmp(on, "ON") != 0 && strcmp(on, "OFF") != 0)
		return -EINVAL;
	if (gen == 1)
		n = snprintf(out, size, "/relay/%u?turn=%s", ch,
			     toggle                  ? "toggle"
			     : strcmp(on, "ON") == 0 ? "on"
						     : "off");
	else if (toggle)
		n = snprintf(out, size, "/rpc/Switch.Toggle?id=%u", ch);
	else
		n = snprintf(out, size, "/rpc/Switch.Set?id=%u&on=%s", ch,
			     strcmp(on, "ON") == 0 ? "true" : "false");
	return n > 0 && (size_t)n < size ? 0 : -EINVAL;
}

int shelly_status_path(int gen, unsigned ch, char *out, size_t size)
{
	int n;

	if (ch > SHELLY_CHANNEL_MAX)
		return -EINVAL;
	if (gen == 1)
		n = snprintf(out, size, "/status");
	else
		n = snprintf(out, size, "/rpc/Switch.GetStatus?id=%u", ch);
	return n > 0 && (size_t)n < size ? 0 : -EINVAL;
}
