// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the mqtt driver's payload mapping (plugins/mqtt/mq_map.c)
 * through the presets' real codecs (mq_preset.c). The first byte picks a
 * (preset, kind) and one of its read topics; the rest is the payload a
 * device, or anyone able to publish on its topic, sent. Checked: decoding
 * never fails on anything but bad JSON, scaled numbers stay in smarthub's
 * range, plain text fails only with a NUL in it, the decoded state satisfies a command asking for itself, and it
 * encodes for every write topic and decodes again.
 */
#include "mq_confirm.h"
#include "mq_preset.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const struct mq_settings settings[] = {
	{.preset = MQ_PRESET_Z2M, .kind = "light", .topic = "bulb"},
	{.preset = MQ_PRESET_Z2M, .kind = "sensor", .topic = "th"},
	{.preset = MQ_PRESET_TASMOTA, .kind = "light", .topic = "dimmer", .channel = 2},
	{.preset = MQ_PRESET_SHELLY, .kind = "light", .topic = "shelly", .rpc_src = "hub"},
	{.preset = MQ_PRESET_ESPHOME, .kind = "light", .topic = "esp", .object_id = "l"},
	{.preset = MQ_PRESET_ESPHOME, .kind = "switch", .topic = "esp", .object_id = "s"},
	{.preset = MQ_PRESET_SMARTHUB, .kind = "light", .topic = "lamp", .base = "up"},
};

static void check_ranges(const struct mq_codec *c, const cJSON *patch)
{
	for (size_t i = 0; i < c->n_props; i++) {
		const struct mq_prop *p = &c->props[i];
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(patch, p->name);

		if (p->scaled && v &&
		    (!cJSON_IsNumber(v) || v->valuedouble < p->hub_min ||
		     v->valuedouble > p->hub_max))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mq_layout l;
	const struct mq_codec *readers[MQ_READERS_MAX];
	struct mq_confirm confirm = {0};
	const char *culprit;
	char err[256];
	cJSON *patch = NULL;

	if (size < 1)
		return 0;
	const struct mq_settings *s =
		&settings[(data[0] & 0x0f) % (sizeof(settings) / sizeof(settings[0]))];
	if (mq_preset_build(s, &l, err, sizeof(err), &culprit) != 0)
		abort(); /* every setting above is valid */
	const struct mq_codec *c = &l.readers[(data[0] >> 4) % l.n_readers].codec;
	int r = mq_decode(c, (const char *)data + 1, size - 1, &patch);

	/* Plain text is refused only with a NUL in it. */
	if (r == -EBADMSG && (c->format == MQ_JSON || memchr(data + 1, '\0', size - 1))) {
		mq_layout_clear(&l);
		return 0;
	}
	if (r != 0 || !cJSON_IsObject(patch))
		abort();
	check_ranges(c, patch);

	/* A state satisfies a command asking for exactly that state. */
	for (size_t i = 0; i < l.n_readers; i++)
		readers[i] = &l.readers[i].codec;
	if (mq_confirm_start(&confirm, 1, patch, readers, l.n_readers, patch) == 0 &&
	    !confirm.toggle_any && !mq_confirm_satisfied(&confirm, patch))
		abort();
	mq_confirm_clear(&confirm);

	/* Every write topic takes it, and its payload reads back. */
	for (size_t i = 0; i < l.n_writers; i++) {
		char *payload = NULL;
		cJSON *again = NULL;

		if (mq_encode(&l.writers[i].codec, patch, &payload) > 0 && payload) {
			if (mq_decode(&l.writers[i].codec, payload, strlen(payload), &again) == 0)
				cJSON_Delete(again);
			else if (l.writers[i].codec.format == MQ_PLAIN)
				abort();
		}
		free(payload);
	}
	cJSON_Delete(patch);
	mq_layout_clear(&l);
	return 0;
}
