/* SPDX-License-Identifier: MIT */
/*
 * WLED's JSON API (kno.wled.ge/interfaces/json-api) as pure functions: the
 * state object of GET /json/state (or the "state" member of GET /json/si)
 * read into a struct, the "info" object's identity for discovery, and the
 * body of POST /json/state built from a validated light command. No I/O:
 * the wled driver, its unit tests and the fuzz target link this.
 */
#ifndef SMARTHUB_WLED_PROTO_H
#define SMARTHUB_WLED_PROTO_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* WLED's longest transition, in its 100 ms units. */
#define WLED_TRANSITION_MAX 65535
/* Longest text kept from "info" (name, version). */
#define WLED_TEXT_MAX 64

struct wled_state {
	bool on;
	int bri; /* 0-255, the same scale as smarthub's brightness */
	bool has_color;
	int r, g, b; /* segment 0's primary colour */
};

struct wled_info {
	char name[WLED_TEXT_MAX];
	char version[WLED_TEXT_MAX];
	char product[WLED_TEXT_MAX];
};

/* Reads a state object: `json` is the body of /json/state, of a POST's
 * answer, or of /json/si (its "state" member is used). 0, or -EINVAL when
 * it is not JSON or lacks a boolean "on" and a "bri" from 0 to 255. */
int wled_parse_state(const char *json, size_t len, struct wled_state *out);

/* Reads the "info" member of a /json/si body; 0 or -EINVAL. Missing
 * fields are left empty. */
int wled_parse_info(const char *json, size_t len, struct wled_info *out);

/* smarthub's state for a WLED state: {"state","brightness","color",
 * "color_mode"}. NULL on out of memory; the caller frees. */
cJSON *wled_state_to_patch(const struct wled_state *s);

/*
 * The body of POST /json/state for a light command already validated
 * against the light kind (state, brightness, color, transition): "on"
 * ("t" for TOGGLE), "bri", "transition" (seconds to 100 ms units),
 * "seg":[{"id":0,"col":[[r,g,b]]}] and "v":true so the answer is the
 * resulting state. brightness 0 becomes "on":false. Returns a malloc'd
 * string (caller frees) or NULL on out of memory.
 */
char *wled_command_body(const cJSON *command);

#endif
