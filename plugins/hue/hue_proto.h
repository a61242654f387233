/* SPDX-License-Identifier: MIT */
/*
 * The Philips Hue CLIP v2 API (developers.meethue.com, "CLIP API v2") as
 * pure functions: finding a light by id or name in GET
 * /clip/v2/resource/light, reading a light resource, cutting the event
 * stream (/eventstream/clip/v2, Server-Sent Events) into events and
 * reading the light updates in them, the PUT body of a light command, the
 * colour conversions (r,g,b <-> CIE xy, percent <-> 0-255), and the
 * link-button pairing answer of POST /api. No I/O: the hue driver, its
 * unit tests and the fuzz target link this.
 */
#ifndef SMARTHUB_HUE_PROTO_H
#define SMARTHUB_HUE_PROTO_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* A resource id is a UUID: 36 characters. */
#define HUE_ID_MAX 64
#define HUE_TEXT_MAX 128
/* The longest event (all its data: lines) kept; a longer one is skipped. */
#define HUE_SSE_EVENT_MAX (64 * 1024)

/* A light's state; the has_ flags say which parts a message carried. */
struct hue_light {
	bool has_on, has_brightness, has_mirek, has_xy;
	bool on;
	double brightness; /* percent, 0-100 */
	int mirek;         /* valid only when has_mirek (mirek_valid) */
	double x, y;
	/* From a full resource only. */
	int mirek_min, mirek_max; /* 0 when the light has no colour temperature */
	bool has_color;           /* it has a colour gamut */
	char name[HUE_TEXT_MAX];
};

/*
 * Looks `wanted` up in a GET /clip/v2/resource/light body: a resource id,
 * or else a light's metadata.name. Copies the id into id_out. 0,
 * -ENOENT (none), -EEXIST (several lights of that name), -EINVAL (not a
 * CLIP v2 answer).
 */
int hue_find_light(const char *json, size_t len, const char *wanted, char *id_out, size_t size);

/* Reads light `id` from a GET /clip/v2/resource/light[/<id>] body. 0,
 * -ENOENT, or -EINVAL. */
int hue_parse_light(const char *json, size_t len, const char *id, struct hue_light *out);

/* Reads the updates to light `id` from one event's data (a JSON array of
 * {"type":"update","data":[resources...]}), merging them into *out (the
 * has_ flags say what was seen). 1 when something concerned the light,
 * 0 when nothing did, -EINVAL when the data is not such an array. */
int hue_parse_event(const char *json, size_t len, const char *id, struct hue_light *out);

/* The CLIP v2 error texts of a failed request ({"errors":[{"description"}]})
 * joined into msg; 0, or -EINVAL when there are none. */
int hue_parse_errors(const char *json, size_t len, char *msg, size_t size);

/* smarthub's light state for what *l carries. NULL on out of memory. */
cJSON *hue_light_to_patch(const struct hue_light *l);

/*
 * The PUT /clip/v2/resource/light/<id> body for a validated light command:
 * "on", "dimming.brightness" (0-255 to percent; 0 turns off),
 * "color_temperature.mirek" (clamped to the light's range when known),
 * "color.xy" (from r,g,b), "dynamics.duration" (transition, ms) and
 * "alert" for flash. *patch (may be NULL) gets the state the light will
 * be in. malloc'd text, or NULL on out of memory.
 */
char *hue_command_body(const cJSON *command, const struct hue_light *caps, cJSON **patch);

/* Colour conversions (Philips' sRGB/wide-gamut formulas). */
void hue_rgb_to_xy(int r, int g, int b, double *x, double *y);
void hue_xy_to_rgb(double x, double y, int *r, int *g, int *b);
int hue_brightness_to_255(double percent);
double hue_brightness_from_255(int value);

/* The link-button answer of POST /api: 0 with the key copied, -EAGAIN
 * while the button was not pressed (error type 101), -EINVAL otherwise
 * (msg says why when it can). */
int hue_parse_pairing(const char *json, size_t len, char *key, size_t key_size, char *msg,
		      size_t msg_size);

/* Server-Sent Events framing: feed bytes as they arrive; every complete
 * event's data (its "data:" lines joined with "\n") goes to cb. An event
 * over HUE_SSE_EVENT_MAX is dropped whole. */
struct hue_sse {
	char line[HUE_SSE_EVENT_MAX];
	size_t line_len;
	char data[HUE_SSE_EVENT_MAX];
	size_t data_len;
	bool overflow;
};

typedef void (*hue_sse_cb)(void *ctx, const char *data, size_t len);

void hue_sse_reset(struct hue_sse *s);
void hue_sse_feed(struct hue_sse *s, const char *bytes, size_t len, hue_sse_cb cb, void *ctx);

#endif
