/* SPDX-License-Identifier: MIT */
/*
 * The dry run, `smarthubd --replay FILE -c CONFIG`: the automations of a
 * configuration fed a recording on a virtual clock, printing which would
 * run, when, and the commands they would send. It connects to nothing,
 * loads no plugin and sends nothing.
 *
 * A recording is lines of text, either
 *   - what `mosquitto_sub -v -F '%U %t %p' -t '<base>/#' -t ...` prints:
 *     "<unix seconds[.fraction]> <topic> <payload>", where <base>/<device>
 *     is a device's state, <base>/<device>/availability its availability,
 *     <base>/<device>/event a button's event, and any other topic a message
 *     for the mqtt triggers; or
 *   - JSON objects: {"time": ms | "ISO-8601", "device": id, "state": {...}},
 *     {"time", "device", "availability": "online"|"offline"},
 *     {"time", "device", "event": "single"}, {"time", "topic", "payload"}.
 * Blank lines and lines starting with '#' are skipped. Lines must be in
 * time order; an earlier time is an error.
 */
#ifndef SMARTHUB_REPLAY_H
#define SMARTHUB_REPLAY_H

#include "config/config.h"
#include <stdio.h>

/* Replays `in` (named `name` in messages) against `config`, writing the
 * runs to `out` and problems to `err`. Returns 0, or -EINVAL after a line
 * it could not read (reported with its number). */
int sh_automation_replay(const struct sh_config *config, FILE *in, const char *name, FILE *out,
			 FILE *err);

#endif
