/* SPDX-License-Identifier: MIT */
/*
 * Diagnostics: the list of "file:line:column: message" errors found while
 * loading a configuration (and creating its devices), so that one run
 * reports every error, not just the first.
 *
 * A struct sh_diag owns its messages. Zero-initialise it; sh_diag_clear()
 * frees them. The list is bounded (SH_DIAG_LIMIT); further errors are
 * counted and summarised in one last line.
 */
#ifndef SMARTHUB_DIAG_H
#define SMARTHUB_DIAG_H

#include <smarthub/plugin.h>
#include <stdarg.h>
#include <stdio.h>

#define SH_DIAG_LIMIT 200

struct sh_diag {
	char **messages;
	size_t count;   /* messages held */
	size_t dropped; /* errors past SH_DIAG_LIMIT */
};

/* At a node's position; `at` NULL gives a message without position. */
void sh_diag_add(struct sh_diag *diag, const struct sh_node *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void sh_diag_addv(struct sh_diag *diag, const struct sh_node *at, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* At an explicit position (a YAML syntax error has no node). */
void sh_diag_add_at(struct sh_diag *diag, const char *file, unsigned line, unsigned column,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
size_t sh_diag_errors(const struct sh_diag *diag); /* count + dropped */
/* Puts the messages from index `from` on in file order: those of `file`
 * by line and column, after the others (no position, another file), which
 * keep their order. The sort is stable. */
void sh_diag_sort(struct sh_diag *diag, size_t from, const char *file);
/* Writes every message, one a line. */
void sh_diag_print(const struct sh_diag *diag, FILE *out);
/* Logs every message at error level. */
void sh_diag_log(const struct sh_diag *diag);
void sh_diag_clear(struct sh_diag *diag);
/*
 * One line for whoever asked for a load that failed with `err` (a reload
 * request over MQTT): the position of the first error, its class (from
 * err) and the count, e.g. "/etc/smarthub/smarthub.yaml:12:5: invalid
 * configuration (3 errors)". Never the messages themselves: they quote the
 * file, and a response goes to every reader of the topic. Returns buf.
 */
const char *sh_diag_summary(const struct sh_diag *diag, int err, char *buf, size_t size);

#endif
