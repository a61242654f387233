/* SPDX-License-Identifier: MIT */
/*
 * Pure parsers of Linux sensor files for the sysfs driver (see
 * sysfs_parse.h). Every function takes a buffer and its length and never
 * reads past it, so the text need not be NUL-terminated: a fuzz target can
 * hand it anything.
 */
#include "sysfs_parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest number text we accept; sysfs values are a few characters. */
#define SYSFS_NUMBER_MAX 64

static const char *const type_names[] = {
	[SYSFS_AUTO] = "auto",   [SYSFS_RAW] = "raw", [SYSFS_THERMAL] = "thermal",
	[SYSFS_HWMON] = "hwmon", [SYSFS_W1] = "w1",   [SYSFS_IIO] = "iio",
};

int sysfs_type_from_name(const char *name, enum sysfs_type *out)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		if (strcmp(name, type_names[i]) == 0) {
			*out = (enum sysfs_type)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *sysfs_type_name(enum sysfs_type type)
{
	if ((size_t)type < sizeof(type_names) / sizeof(type_names[0]))
		return type_names[type];
	return "?";
}

static bool has_prefix(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && memcmp(s, prefix, n) == 0;
}

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

enum sysfs_type sysfs_detect_type(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t blen = strlen(base);

	if (strcmp(base, "w1_slave") == 0)
		return SYSFS_W1;
	if (has_prefix(base, blen, "temp") && has_suffix(base, blen, "_input"))
		return SYSFS_HWMON;
	if (has_prefix(base, blen, "in_") && has_suffix(base, blen, "_raw") && blen > 7)
		return SYSFS_IIO;
	if (strcmp(base, "temp") == 0 && base > path) {
		/* The directory holding it: thermal_zone<N>. */
		const char *end = base - 1, *dir = end;
		while (dir > path && dir[-1] != '/')
			dir--;
		if (has_prefix(dir, (size_t)(end - dir), "thermal_zone"))
			return SYSFS_THERMAL;
	}
	return SYSFS_RAW;
}

int sysfs_parse_number(const char *buf, size_t len, double *out)
{
	char text[SYSFS_NUMBER_MAX + 1];
	size_t a = 0, b = len;

	while (a < b && isspace((unsigned char)buf[a]))
		a++;
	while (b > a && isspace((unsigned char)buf[b - 1]))
		b--;
	if (a == b || b - a > SYSFS_NUMBER_MAX)
		return -EINVAL;
	memcpy(text, buf + a, b - a);
	text[b - a] = '\0';
	/* strtod would also take "inf", "nan" and hex; sysfs prints decimals. */
	for (size_t i = 0; text[i]; i++) {
		if (!isdigit((unsigned char)text[i]) && !strchr("+-.eE", text[i]))
			return -EINVAL;
	}
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (*end != '\0' || end == text || errno == ERANGE || !isfinite(v))
		return -EINVAL;
	*out = v;
	return 0;
}

/* The line starting at buf[*pos] (without its '\n'); advances *pos. */
static bool next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *n)
{
	if (*pos >= len)
		return false;
	const char *start = buf + *pos;
	const char *nl = memchr(start, '\n', len - *pos);
	*line = start;
	*n = nl ? (size_t)(nl - start) : len - *pos;
	*pos += *n + (nl ? 1 : 0);
	while (*n > 0 && isspace((unsigned char)start[*n - 1]))
		(*n)--;
	return true;
}

int sysfs_parse_w1(const char *buf, size_t len, long *milli)
{
	const char *line;
	size_t n, pos = 0;

	if (!next_line(buf, len, &pos, &line, &n))
		return -EINVAL;
	/* Line 1: "... : crc=57 YES" or "... crc=57 NO". */
	const char *crc = NULL;
	for (size_t i = 0; i + 4 <= n; i++) {
		if (memcmp(line + i, "crc=", 4) == 0)
			crc = line + i;
	}
	if (!crc)
		return -EINVAL;
	bool yes = has_suffix(line, n, " YES");
	if (!yes) {
		if (has_suffix(line, n, " NO"))
			return -EIO;
		return -EINVAL;
	}

	if (!next_line(buf, len, &pos, &line, &n))
		return -EINVAL;
	/* Line 2: "... t=23125", the last field. */
	const char *t = NULL;
	for (size_t i = 0; i + 2 <= n; i++) {
		if (line[i] == 't' && line[i + 1] == '=' && (i == 0 || line[i - 1] == ' '))
			t = line + i + 2;
	}
	if (!t)
		return -EINVAL;
	size_t tlen = (size_t)(line + n - t);
	if (tlen == 0 || tlen > 12)
		return -EINVAL;
	long v = 0;
	size_t i = 0;
	bool neg = false;
	if (t[0] == '-') {
		neg = true;
		i = 1;
		if (tlen == 1)
			return -EINVAL;
	}
	for (; i < tlen; i++) {
		if (!isdigit((unsigned char)t[i]))
			return -EINVAL;
		v = v * 10 + (t[i] - '0');
	}
	*milli = neg ? -v : v;
	return 0;
}

int sysfs_iio_siblings(const char *raw_path, const char *suffix, char *own, size_t own_len,
		       char *shared, size_t shared_len)
{
	size_t len = strlen(raw_path);
	if (!has_suffix(raw_path, len, "_raw"))
		return -EINVAL;
	size_t stem = len - 4; /* up to and without "_raw" */

	int w = snprintf(own, own_len, "%.*s_%s", (int)stem, raw_path, suffix);
	if (w < 0 || (size_t)w >= own_len)
		return -ENAMETOOLONG;

	/* in_voltage0 -> in_voltage: drop the channel index, if any. */
	size_t cut = stem;
	while (cut > 0 && isdigit((unsigned char)raw_path[cut - 1]))
		cut--;
	/* No index, or nothing but digits before "_raw" ("24_raw"): nothing
	 * to drop, and raw_path[cut - 1] is not to be read at cut 0. */
	if (cut == stem || cut == 0 || raw_path[cut - 1] == '/') {
		if (shared_len > 0)
			shared[0] = '\0';
		return 0;
	}
	w = snprintf(shared, shared_len, "%.*s_%s", (int)cut, raw_path, suffix);
	if (w < 0 || (size_t)w >= shared_len)
		return -ENAMETOOLONG;
	return 0;
}

double sysfs_round(double value, unsigned decimals)
{
	if (decimals > 9)
		decimals = 9;
	double f = pow(10.0, decimals);
	double r = round(value * f) / f;
	/* Beyond 2^53 the product is already an integer; keep the value. */
	return isfinite(r) ? r : value;
}

bool sysfs_should_publish(bool have_last, double last, double value, double threshold)
{
	if (!have_last)
		return true;
	if (threshold <= 0)
		return value != last;
	return fabs(value - last) >= threshold;
}
