/* SPDX-License-Identifier: MIT */
/*
 * Logging for the daemon: levels, journald-friendly priority prefixes, and
 * a rate limiter for messages that repeat (collectd's c_complain).
 *
 * Lines go to stderr. When stderr is the journal (JOURNAL_STREAM names it),
 * each line starts with "<N>" (the syslog priority) and carries no
 * timestamp, since journald adds its own; otherwise lines carry a local
 * timestamp and the level's name. Each call formats its whole line (at
 * most 4 KiB, control characters escaped) into a buffer and writes it with
 * one write(2), so lines of different threads never interleave. The level
 * and the prefix choice are plain globals: set them (sh_log_init,
 * sh_log_set_level) from the loop thread before other threads log.
 */
#ifndef SMARTHUB_LOG_H
#define SMARTHUB_LOG_H

#include <smarthub/plugin.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decides prefixes from the environment; call once at start-up. */
void sh_log_init(enum sh_log_level level);
void sh_log_set_level(enum sh_log_level level);
enum sh_log_level sh_log_get_level(void);
/* "err", "warning", "notice", "info", "debug" (and "error", "warn"). */
int sh_log_level_parse(const char *name, enum sh_log_level *out);
const char *sh_log_level_name(enum sh_log_level level);

void sh_log(enum sh_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sh_logv(enum sh_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/*
 * Copies len bytes of src to dst (cap bytes, NUL-terminated), writing "\\n"
 * for a newline and "\\xNN" for every other byte below 0x20 and for 0x7f;
 * stops before an escape that would not fit whole. Returns the length
 * written. sh_logv passes every message through it.
 */
size_t sh_log_escape(char *dst, size_t cap, const char *src, size_t len);

/*
 * Writes s into buf in single quotes for a message that repeats text from
 * outside (a command's JSON key): a quote and a backslash get a backslash,
 * control bytes are escaped as in sh_log_escape, and text beyond max_chars
 * ends in "...". Returns buf. buf needs max_chars * 4 + 8 bytes.
 */
const char *sh_log_quote(char *buf, size_t size, const char *s, size_t max_chars);

#define sh_log_error(...) sh_log(SH_LOG_ERR, __VA_ARGS__)
#define sh_log_warning(...) sh_log(SH_LOG_WARNING, __VA_ARGS__)
#define sh_log_notice(...) sh_log(SH_LOG_NOTICE, __VA_ARGS__)
#define sh_log_info(...) sh_log(SH_LOG_INFO, __VA_ARGS__)
#define sh_log_debug(...) sh_log(SH_LOG_DEBUG, __VA_ARGS__)

/*
 * Allows `burst` messages per `interval_ms`; the rest are counted. When a
 * new interval opens, *suppressed (if given) says how many were dropped in
 * the last one so the caller can say so once. Zero-initialise, then set
 * interval_ms and burst.
 */
struct sh_ratelimit {
	uint64_t interval_ms;
	unsigned burst;
	uint64_t window_start_ms;
	unsigned in_window;
	unsigned suppressed;
};

bool sh_ratelimit_allow(struct sh_ratelimit *rl, uint64_t now_ms, unsigned *suppressed);

#endif
