/* SPDX-License-Identifier: MIT */
/*
 * A growing text buffer for JSON written piece by piece: the bridge
 * streams bridge/devices into one instead of building a cJSON tree of
 * every device first (a tree of 5,000 devices is about ten times the
 * size of its text; docs/performance.md).
 *
 * Errors are sticky: after a failed allocation every append is a no-op
 * and sh_jbuf_error() says -ENOMEM, so a writer checks once at the end.
 * The caller owns the buffer and frees it with sh_jbuf_free().
 */
#ifndef SMARTHUB_MQTT_JBUF_H
#define SMARTHUB_MQTT_JBUF_H

#include <cjson/cJSON.h>
#include <stddef.h>

struct sh_jbuf {
	char *data; /* NUL-terminated while no error */
	size_t len, cap;
	int err;
};

/* An empty buffer with room for `reserve` bytes (a hint; 0 is fine). */
void sh_jbuf_init(struct sh_jbuf *j, size_t reserve);
void sh_jbuf_free(struct sh_jbuf *j);
void sh_jbuf_add(struct sh_jbuf *j, const char *text, size_t len);
void sh_jbuf_puts(struct sh_jbuf *j, const char *text);
/* `item` (borrowed) printed unformatted: the same text as
 * cJSON_PrintUnformatted. A NULL item, an invalid one or a raw one
 * without text is an error (-EINVAL), as cJSON fails to print them. */
void sh_jbuf_json(struct sh_jbuf *j, const cJSON *item);
/* 0, or the first error: -ENOMEM when an append failed, -EINVAL. */
int sh_jbuf_error(const struct sh_jbuf *j);

#endif
