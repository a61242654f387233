/* SPDX-License-Identifier: MIT */
/*
 * Diagnostics: collects the "file:line:column: message" errors of one
 * configuration load (and of the device creation that follows it), so that
 * a user sees every mistake of a file in one run instead of fixing them one
 * restart at a time.
 *
 * Owns the formatted messages of a struct sh_diag. The list is bounded by
 * SH_DIAG_LIMIT: a file that is not YAML at all must not turn into an
 * unbounded list of complaints; errors past the limit are only counted.
 * Control characters in a message (a key written with "\n" in quotes, say)
 * are replaced, so one error is always one line of a terminal or journal.
 */
#include "config/diag.h"
#include "util/log.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest message kept; longer ones are cut (values echoed in messages
 * are short, so only a pathological key or path gets here). */
#define SH_DIAG_MESSAGE_MAX 1024

static void diag_push(struct sh_diag *diag, const char *prefix, const char *text)
{
	if (diag->count >= SH_DIAG_LIMIT) {
		diag->dropped++;
		return;
	}
	if (diag->count % 16 == 0) {
		char **grown = realloc(diag->messages, (diag->count + 16) * sizeof(*grown));
		if (!grown) {
			diag->dropped++;
			return;
		}
		diag->messages = grown;
	}
	size_t plen = strlen(prefix);
	size_t tlen = strlen(text);
	char *msg = malloc(plen + tlen + 1);
	if (!msg) {
		diag->dropped++;
		return;
	}
	memcpy(msg, prefix, plen);
	memcpy(msg + plen, text, tlen + 1);
	/* One error, one line, whatever the file contained. */
	for (char *c = msg; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	}
	diag->messages[diag->count++] = msg;
}

__attribute__((format(printf, 3, 0))) static void
diag_vpush(struct sh_diag *diag, const char *prefix, const char *fmt, va_list ap)
{
	char text[SH_DIAG_MESSAGE_MAX];

	vsnprintf(text, sizeof(text), fmt, ap);
	diag_push(diag, prefix, text);
}

void sh_diag_addv(struct sh_diag *diag, const struct sh_node *at, const char *fmt, va_list ap)
{
	char prefix[SH_DIAG_MESSAGE_MAX / 2] = "";

	if (!diag)
		return;
	if (at && at->file)
		snprintf(prefix, sizeof(prefix), "%s:%u:%u: ", at->file, at->line, at->column);
	diag_vpush(diag, prefix, fmt, ap);
}

void sh_diag_add(struct sh_diag *diag, const struct sh_node *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sh_diag_addv(diag, at, fmt, ap);
	va_end(ap);
}

void sh_diag_add_at(struct sh_diag *diag, const char *file, unsigned line, unsigned column,
		    const char *fmt, ...)
{
	char prefix[SH_DIAG_MESSAGE_MAX / 2] = "";
	va_list ap;

	if (!diag)
		return;
	if (file)
		snprintf(prefix, sizeof(prefix), "%s:%u:%u: ", file, line, column);
	va_start(ap, fmt);
	diag_vpush(diag, prefix, fmt, ap);
	va_end(ap);
}

size_t sh_diag_errors(const struct sh_diag *diag)
{
	return diag ? diag->count + diag->dropped : 0;
}

void sh_diag_print(const struct sh_diag *diag, FILE *out)
{
	if (!diag)
		return;
	for (size_t i = 0; i < diag->count; i++)
		fprintf(out, "%s\n", diag->messages[i]);
	if (diag->dropped)
		fprintf(out, "... and %zu more error%s\n", diag->dropped,
			diag->dropped == 1 ? "" : "s");
}

void sh_diag_log(const struct sh_diag *diag)
{
	if (!diag)
		return;
	for (size_t i = 0; i < diag->count; i++)
		sh_log_error("%s", diag->messages[i]);
	if (diag->dropped)
		sh_log_error("... and %zu more error%s", diag->dropped,
			     diag->dropped == 1 ? "" : "s");
}

void sh_diag_clear(struct sh_diag *diag)
{
	if (!diag)
		return;
	for (size_t i = 0; i < diag->count; i++)
		free(diag->messages[i]);
	free(diag->messages);
	diag->messages = NULL;
	diag->count = 0;
	diag->dropped = 0;
}

/* Whether `c` starts ":<line>:<column>: " with both numbers positive. */
static bool read_position(const char *c, unsigned long *line, unsigned long *column)
{
	char *end;
	if (c[0] != ':' || !isdigit((unsigned char)c[1]))
		return false;
	*line = strtoul(c + 1, &end, 10);
	if (end[0] != ':' || !isdigit((unsigned char)end[1]))
		return false;
	*column = strtoul(end + 1, &end, 10);
	return end[0] == ':' && end[1] == ' ' && *line > 0 && *column > 0;
}

/* The position of a message "<file>:<line>:<column>: ..." of `file` as one
 * number for sorting; other messages (no position, another file) are 0. */
static unsigned long long position_in(const char *msg, const char *file)
{
	size_t n = strlen(file);
	unsigned long line, column;

	if (strncmp(msg, file, n) != 0 || !read_position(msg + n, &line, &column))
		return 0;
	return (unsigned long long)(unsigned)line << 32 | (unsigned)column;
}

/* A stable insertion sort: SH_DIAG_LIMIT keeps the list small. */
void sh_diag_sort(struct sh_diag *diag, size_t from, const char *file)
{
	if (!diag || !file)
		return;
	for (size_t i = from + 1; i < diag->count; i++) {
		char *msg = diag->messages[i];
		unsigned long long pos = position_in(msg, file);
		size_t j = i;
		while (j > from && position_in(diag->messages[j - 1], file) > pos) {
			diag->messages[j] = diag->messages[j - 1];
			j--;
		}
		diag->messages[j] = msg;
	}
}

/* The "file:line:column" a message starts with, or "" (a message without a
 * position, such as "cannot read ..."). */
static void message_position(const char *msg, char *buf, size_t size)
{
	buf[0] = '\0';
	for (const char *c = strchr(msg, ':'); c; c = strchr(c + 1, ':')) {
		unsigned long line, column;
		if (read_position(c, &line, &column)) {
			snprintf(buf, size, "%.*s:%lu:%lu", (int)(c - msg), msg, line, column);
			return;
		}
	}
}

const char *sh_diag_summary(const struct sh_diag *diag, int err, char *buf, size_t size)
{
	char pos[512] = "";
	size_t errors = sh_diag_errors(diag);
	const char *class = err == -EINVAL   ? "invalid configuration"
			    : err == -EFBIG  ? "file too large"
			    : err == -ENOMEM ? "out of memory"
					     : strerror(-err);
	if (diag && diag->count)
		message_position(diag->messages[0], pos, sizeof(pos));
	snprintf(buf, size, "%s%s%s (%zu error%s; details in the log)", pos, pos[0] ? ": " : "",
		 class, errors, errors == 1 ? "" : "s");
	return buf;
}
