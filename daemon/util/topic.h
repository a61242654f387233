/* SPDX-License-Identifier: MIT */
/*
 * MQTT topic filter matching, shared by every subsystem that subscribes.
 */
#ifndef SMARTHUB_TOPIC_H
#define SMARTHUB_TOPIC_H

#include <stdbool.h>

/* Whether `topic` (no wildcards) matches `filter` (+ and # allowed): "a/#"
 * also matches "a", and a wildcard at the first level never matches a
 * $-topic. Both NUL-terminated, borrowed. */
bool sh_topic_matches(const char *filter, const char *topic);
/* Compares the first level of `filter` with the first level of `topic`:
 * true when they match (equal, or the filter's is +). *fnext and *tnext
 * get the start of the next levels, NULL after the last. Borrowed,
 * NUL-terminated. */
bool sh_topic_level_matches(const char *filter, const char *topic, const char **fnext,
			    const char **tnext);

#endif
