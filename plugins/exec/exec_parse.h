/* SPDX-License-Identifier: MIT */
/*
 * Pure parsers of what the exec driver's commands print: `state` prints
 * ON/OFF (1/0, true/false, any case) or a JSON object, `read` prints a
 * number or a JSON object. Nothing here does I/O, so unit tests and fuzz
 * targets can call it with any buffer.
 */
#ifndef SMARTHUB_EXEC_PARSE_H
#define SMARTHUB_EXEC_PARSE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * The output of a `state` command. On success returns 0 and a new JSON
 * object in *patch (the caller's): {"state":"ON"} for on/1/true,
 * {"state":"OFF"} for off/0/false, or the JSON object printed, whose
 * "state" member (if any) is normalised the same way. Returns -EINVAL when
 * the output is none of these (also for a "state" that is not on/off).
 */
int exec_parse_state(const char *buf, size_t len, cJSON **patch);

/*
 * The output of a `read` command: a JSON object (returned as it is) or one
 * number (returned as {key: number}). Returns 0 with a new object in
 * *patch, or -EINVAL.
 */
int exec_parse_read(const char *buf, size_t len, const char *key, cJSON **patch);

/* Longest state key a tool may print. */
#define EXEC_KEY_MAX 64

/*
 * Whether `key` may be a state key: 1 to EXEC_KEY_MAX characters of
 * [A-Za-z0-9_]. A tool's JSON keys become MQTT state members and Home
 * Assistant template and topic parts; anything else is refused.
 */
bool exec_parse_key_ok(const char *key);

#endif
