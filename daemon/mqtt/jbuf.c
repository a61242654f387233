/* SPDX-License-Identifier: MIT */
/*
 * The growing JSON text buffer (jbuf.h). It grows by half again, not by
 * doubling, so a list of a few megabytes overshoots by less.
 */
#include "mqtt/jbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The smallest allocation, so short lists do not realloc per piece. */
#define JBUF_MIN 256

static int reserve(struct sh_jbuf *j, size_t more)
{
	size_t want = j->len + more + 1, cap = j->cap ? j->cap : JBUF_MIN;
	char *grown;

	if (j->err)
		return j->err;
	if (want <= j->cap)
		return 0;
	while (cap < want)
		cap += cap / 2;
	grown = realloc(j->data, cap);
	if (!grown) {
		j->err = -ENOMEM;
		return j->err;
	}
	j->data = grown;
	j->cap = cap;
	return 0;
}

void sh_jbuf_init(struct sh_jbuf *j, size_t hint)
{
	*j = (struct sh_jbuf){0};
	if (reserve(j, hint) == 0)
		j->data[0] = '\0';
}

void sh_jbuf_free(struct sh_jbuf *j)
{
	free(j->data);
	*j = (struct sh_jbuf){0};
}

void sh_jbuf_add(struct sh_jbuf *j, const char *text, size_t len)
{
	if (reserve(j, len) < 0)
		return;
	memcpy(j->data + j->len, text, len);
	j->len += len;
	j->data[j->len] = '\0';
}

void sh_jbuf_puts(struct sh_jbuf *j, const char *text)
{
	sh_jbuf_add(j, text, strlen(text));
}

void sh_jbuf_json(struct sh_jbuf *j, const cJSON *item)
{
	char *text = item ? cJSON_PrintUnformatted(item) : NULL;

	if (!text) {
		j->err = -ENOMEM;
		return;
	}
	sh_jbuf_puts(j, text);
	cJSON_free(text);
}

int sh_jbuf_error(const struct sh_jbuf *j)
{
	return j->err;
}
