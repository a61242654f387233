// SPDX-License-Identifier: MIT
/*
 * Logging: one line per call on stderr, with a "<N>" syslog priority prefix
 * when stderr is the journal and a timestamp otherwise. Control bytes in a
 * message are escaped, so no message can start a line of its own. Holds only the level
 * and that one decision, both set at start-up.
 */
#include "util/log.h"
#include "util/macros.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static enum sh_log_level current_level = SH_LOG_INFO;
static bool to_journal;

/* JOURNAL_STREAM is "device:inode" of the journal's socket; stderr is the
 * journal only if it still is that very file (not redirected since). */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	/* An out-of-range number only makes the comparison below fail. */
	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2) // NOLINT(cert-err34-c)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void sh_log_init(enum sh_log_level level)
{
	current_level = level;
	to_journal = stderr_is_journal();
}

void sh_log_set_level(enum sh_log_level level)
{
	current_level = level;
}

enum sh_log_level sh_log_get_level(void)
{
	return current_level;
}

static const struct {
	const char *name;
	enum sh_log_level level;
} level_names[] = {
	{"err", SH_LOG_ERR},      {"error", SH_LOG_ERR},     {"warning", SH_LOG_WARNING},
	{"warn", SH_LOG_WARNING}, {"notice", SH_LOG_NOTICE}, {"info", SH_LOG_INFO},
	{"debug", SH_LOG_DEBUG},
};

int sh_log_level_parse(const char *name, enum sh_log_level *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++)
		if (strcmp(level_names[i].name, name) == 0) {
			*out = level_names[i].level;
			return 0;
		}
	return -EINVAL;
}

const char *sh_log_level_name(enum sh_log_level level)
{
	switch (level) {
	case SH_LOG_ERR:
		return "error";
	case SH_LOG_WARNING:
		return "warning";
	case SH_LOG_NOTICE:
		return "notice";
	case SH_LOG_INFO:
		return "info";
	case SH_LOG_DEBUG:
		return "debug";
	}
	return "info";
}

size_t sh_log_escape(char *dst, size_t cap, const char *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (cap == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];
		char esc[4];
		size_t n = 0;
		if (c == '\n') {
			esc[n++] = '\\';
			esc[n++] = 'n';
		} else if (c < 0x20 || c == 0x7f) {
			esc[n++] = '\\';
			esc[n++] = 'x';
			esc[n++] = hex[c >> 4];
			esc[n++] = hex[c & 0xf];
		} else {
			esc[n++] = (char)c;
		}
		/* Never cut an escape in half: a lone backslash at the end would
		 * read as the start of something else. */
		if (o + n > cap - 1)
			break;
		memcpy(dst + o, esc, n);
		o += n;
	}
	dst[o] = '\0';
	return o;
}

const char *sh_log_quote(char *buf, size_t size, const char *s, size_t max_chars)
{
	size_t o = 0;
	if (size < 8) {
		if (size)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '\'';
	size_t i = 0;
	for (; s && s[i] && i < max_chars; i++) {
		char one[8];
		size_t n;
		if (s[i] == '\'' || s[i] == '\\') {
			one[0] = '\\';
			one[1] = s[i];
			n = 2;
		} else {
			n = sh_log_escape(one, sizeof(one), s + i, 1);
		}
		/* room for this, a closing quote, "..." and the NUL */
		if (o + n + 5 > size)
			break;
		memcpy(buf + o, one, n);
		o += n;
	}
	if (s && s[i]) {
		memcpy(buf + o, "'...", 4);
		o += 4;
	} else {
		buf[o++] = '\'';
	}
	buf[o] = '\0';
	return buf;
}

void sh_logv(enum sh_log_level level, const char *fmt, va_list ap)
{
	if (level > current_level)
		return;
	/* Format into one buffer first so the line reaches stderr in one write
	 * and lines of different threads never interleave. */
	char msg[2048];
	char line[4096];
	int n;
	if (to_journal) {
		n = snprintf(line, sizeof(line), "<%d>", (int)level);
	} else {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		n = (int)strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S", &tm);
		n += snprintf(line + n, sizeof(line) - (size_t)n, ".%03ld %-7s ",
			      ts.tv_nsec / 1000000, sh_log_level_name(level));
	}
	int m = vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t mlen = m > 0 ? (size_t)m : 0;
	if (mlen > sizeof(msg) - 1)
		mlen = sizeof(msg) - 1;
	/* Every message may carry text from outside (a JSON key of a command,
	 * a device's error string): a newline in it would start a line of its
	 * own, and under journald a "<0>" there sets that line's priority. So
	 * every control byte is escaped and a call writes exactly one line. */
	size_t len = (size_t)n + sh_log_escape(line + n, sizeof(line) - 1 - (size_t)n, msg, mlen);
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w; /* nowhere left to report a failed log write */
}

void sh_log(enum sh_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sh_logv(level, fmt, ap);
	va_end(ap);
}

bool sh_ratelimit_allow(struct sh_ratelimit *rl, uint64_t now_ms, unsigned *suppressed)
{
	if (suppressed)
		*suppressed = 0;
	if (rl->window_start_ms == 0 || now_ms - rl->window_start_ms >= rl->interval_ms) {
		if (suppressed)
			*suppressed = rl->suppressed;
		rl->window_start_ms = now_ms ? now_ms : 1;
		rl->in_window = 0;
		rl->suppressed = 0;
	}
	if (rl->in_window < rl->burst) {
		rl->in_window++;
		return true;
	}
	rl->suppressed++;
	return false;
}
