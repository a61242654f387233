/* SPDX-License-Identifier: MIT */
/*
 * Device kinds and the properties a command may carry for each, so that a
 * command is checked once, here, before any driver sees it:
 *
 *   light:   state ON/OFF/TOGGLE, brightness 0-255, color_temp 153-500
 *            (mireds), color {r,g,b} 0-255 each, transition 0-60 (seconds)
 *   switch:  state ON/OFF/TOGGLE
 *   speaker: state ON/OFF/TOGGLE, volume 0-100, play (string), pause, stop,
 *            next, previous (true), mute (bool)
 *   sensor:  no commands
 *
 * TOGGLE is resolved against the device's current state by
 * sh_kind_resolve_toggle() before the command is queued.
 */
#ifndef SMARTHUB_KIND_H
#define SMARTHUB_KIND_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

bool sh_kind_known(const char *kind);
/* "light", "switch", "speaker", "sensor", NULL-terminated. */
extern const char *const sh_kinds[];
/* Switch-like kinds accept the plain payloads ON, OFF and TOGGLE. */
bool sh_kind_switch_like(const char *kind);

/*
 * Checks `command` (any JSON) for a device of `kind`. Returns 0, or
 * -EINVAL with a sentence in `reason` ("unknown property 'foo'",
 * "brightness must be a number from 0 to 255", ...).
 */
int sh_kind_validate(const char *kind, const cJSON *command, char *reason, size_t reason_len);

/* Replaces "state":"TOGGLE" in `command` by ON or OFF from `current`. */
void sh_kind_resolve_toggle(cJSON *command, const cJSON *current);

/* The properties a command may carry for `kind`, as a JSON array of
 * {"name","type",("min","max"|"values")}, for bridge/devices. Caller owns. */
cJSON *sh_kind_properties_json(const char *kind);

#endif
