/* SPDX-License-Identifier: MIT */
/*
 * The growing JSON text buffer (jbuf.h). It grows by half again, not by
 * doubling, so a list of a few megabytes overshoots by less.
 *
 * sh_jbuf_json writes a cJSON tree itself, the same text as
 * cJSON_PrintUnformatted, because Debian's cJSON (1.7.15) prints every
 * number with sprintf("%1.15g") and reads it back with sscanf to check
 * it: 15 us of the 75 us the loop spends on a command before its state
 * goes out (docs/performance.md), where the states' numbers are nearly
 * all integers.
 */
#include "mqtt/jbuf.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Integers below this in magnitude print the same with %1.15g as with
 * %lld; from 1e15 on %1.15g switches to an exponent. */
#define JBUF_INT_MAX 1e15

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

/* A number as cJSON prints it: null for NaN and infinities, 15
 * significant digits when they read back the same, else 17. */
static void add_number(struct sh_jbuf *j, double d)
{
	char text[32];
	double back;
	int len;

	if (isnan(d) || isinf(d)) {
		sh_jbuf_add(j, "null", 4);
		return;
	}
	if (d == floor(d) && fabs(d) < JBUF_INT_MAX && !(d == 0 && signbit(d))) {
		long long v = (long long)d;
		unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
		char *p = text + sizeof(text);

		do {
			*--p = (char)('0' + u % 10);
			u /= 10;
		} while (u);
		if (v < 0)
			*--p = '-';
		sh_jbuf_add(j, p, (size_t)(text + sizeof(text) - p));
		return;
	}
	len = snprintf(text, sizeof(text), "%1.15g", d);
	/* cJSON's test of "reads back the same" (compare_double). */
	back = strtod(text, NULL);
	if (!(fabs(back - d) <= fmax(fabs(back), fabs(d)) * DBL_EPSILON))
		len = snprintf(text, sizeof(text), "%1.17g", d);
	if (len > 0 && (size_t)len < sizeof(text))
		sh_jbuf_add(j, text, (size_t)len);
	else
		j->err = -EINVAL;
}

/* A JSON string: what cJSON escapes, escaped the way it does; NULL is
 * "" as in cJSON. */
static void add_string(struct sh_jbuf *j, const char *s)
{
	const char *run;

	if (!s) {
		sh_jbuf_add(j, "\"\"", 2);
		return;
	}
	run = s;

	sh_jbuf_add(j, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		size_t n = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		sh_jbuf_add(j, run, (size_t)(s - run));
		run = s + 1;
		esc[0] = '\\';
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			n = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", c);
			break;
		}
		sh_jbuf_add(j, esc, n);
	}
	sh_jbuf_add(j, run, (size_t)(s - run));
	sh_jbuf_add(j, "\"", 1);
}

void sh_jbuf_json(struct sh_jbuf *j, const cJSON *item)
{
	const cJSON *child;
	bool object;

	if (!item) {
		j->err = j->err ? j->err : -EINVAL;
		return;
	}
	switch (item->type & 0xff) {
	case cJSON_False:
		sh_jbuf_add(j, "false", 5);
		return;
	case cJSON_True:
		sh_jbuf_add(j, "true", 4);
		return;
	case cJSON_NULL:
		sh_jbuf_add(j, "null", 4);
		return;
	case cJSON_Number:
		add_number(j, item->valuedouble);
		return;
	case cJSON_String:
		add_string(j, item->valuestring);
		return;
	case cJSON_Raw:
		if (item->valuestring)
			sh_jbuf_puts(j, item->valuestring);
		else
			j->err = j->err ? j->err : -EINVAL;
		return;
	case cJSON_Array:
	case cJSON_Object:
		break;
	default:
		j->err = j->err ? j->err : -EINVAL;
		return;
	}
	object = cJSON_IsObject(item);
	sh_jbuf_add(j, object ? "{" : "[", 1);
	for (child = item->child; child; child = child->next) {
		if (child != item->child)
			sh_jbuf_add(j, ",", 1);
		if (object) {
			add_string(j, child->string);
			sh_jbuf_add(j, ":", 1);
		}
		sh_jbuf_json(j, child);
	}
	sh_jbuf_add(j, object ? "}" : "]", 1);
}

int sh_jbuf_error(const struct sh_jbuf *j)
{
	return j->err;
}
