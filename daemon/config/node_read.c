/* SPDX-License-Identifier: MIT */
/*
 * Reading the values of a YAML tree: map look-ups, the scalar readers
 * (booleans, integers, numbers, durations) shared by the config loader and
 * the drivers' option readers, each error at the node's position, and the
 * YAML-to-JSON conversion of commands and fingerprints.
 *
 * Owns nothing but the cJSON it returns (the caller's).
 */
#include "config/node.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* --- readers --------------------------------------------------------------- */

struct sh_node *sh_node_get(const struct sh_node *map, const char *key)
{
	if (!map || map->type != SH_NODE_MAP)
		return NULL;
	for (size_t i = 0; i < map->n_items; i++) {
		if (map->items[i]->key && !strcmp(map->items[i]->key, key))
			return map->items[i];
	}
	return NULL;
}

bool sh_node_one_or_list(const struct sh_node *const *node, const struct sh_node *const **entries,
			 size_t *count)
{
	const struct sh_node *n = *node;

	*entries = node;
	*count = 0;
	if (!n || sh_node_is_null(n))
		return true;
	if (n->type == SH_NODE_SEQ) {
		*entries = (const struct sh_node *const *)n->items;
		*count = n->n_items;
		return true;
	}
	*count = 1;
	return n->type == SH_NODE_SCALAR;
}

bool sh_node_is_null(const struct sh_node *node)
{
	if (!node || node->type != SH_NODE_SCALAR || node->quoted)
		return false;
	const char *v = node->value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

const char *sh_node_quote(const struct sh_node *node, char *buf, size_t size)
{
	if (!node || node->type != SH_NODE_SCALAR)
		snprintf(buf, size, "%s",
			 node && node->type == SH_NODE_MAP ? "a mapping" : "a list");
	else if (sh_node_is_secret(node))
		snprintf(buf, size, "(secret)");
	else if (strlen(node->value) > 40)
		snprintf(buf, size, "'%.37s...'", node->value);
	else
		snprintf(buf, size, "'%s'", node->value);
	return buf;
}

static const char *reader_name(const struct sh_node *node, const char *name)
{
	if (name)
		return name;
	return node && node->key ? node->key : "value";
}

/* Adds the error unless this node already has one. */
static int reader_error(const struct sh_node *node, struct sh_diag *diag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int reader_error(const struct sh_node *node, struct sh_diag *diag, const char *fmt, ...)
{
	va_list ap;

	if (sh_node_is_reported(node))
		return -EINVAL;
	va_start(ap, fmt);
	sh_diag_addv(diag, node, fmt, ap);
	va_end(ap);
	sh_node_mark_reported(node);
	return -EINVAL;
}

static bool parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", NULL};
	static const char *const no[] = {"false", "no", "off", NULL};

	for (size_t i = 0; yes[i]; i++) {
		if (!strcasecmp(v, yes[i])) {
			*out = true;
			return true;
		}
		if (!strcasecmp(v, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

int sh_node_read_bool(const struct sh_node *node, const char *name, struct sh_diag *diag, bool *out)
{
	if (node && node->type == SH_NODE_SCALAR && parse_bool(node->value, out))
		return 0;
	return reader_error(node, diag, "%s must be true or false", reader_name(node, name));
}

static bool parse_ll(const char *v, long long *out)
{
	const char *p = v;
	if (*p == '-' || *p == '+')
		p++;
	if (!isdigit((unsigned char)*p))
		return false;
	for (; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return false;
	}
	errno = 0;
	*out = strtoll(v, NULL, 10);
	return errno == 0;
}

int sh_node_read_ll(const struct sh_node *node, const char *name, long long min, long long max,
		    struct sh_diag *diag, long long *out)
{
	long long v;
	bool whole = min == LLONG_MIN && max == LLONG_MAX;

	if (node && node->type == SH_NODE_SCALAR && parse_ll(node->value, &v) && v >= min &&
	    v <= max) {
		*out = v;
		return 0;
	}
	if (whole)
		return reader_error(node, diag, "%s must be an integer", reader_name(node, name));
	return reader_error(node, diag, "%s must be an integer from %lld to %lld",
			    reader_name(node, name), min, max);
}

static bool parse_double(const char *v, double *out)
{
	/* Decimal notation only: strtod would also take "nan", "inf" and hex. */
	const char *p = v;
	bool digits = false;
	if (*p == '-' || *p == '+')
		p++;
	for (; *p; p++) {
		if (isdigit((unsigned char)*p))
			digits = true;
		else if (!strchr(".eE+-", *p))
			return false;
	}
	if (!digits)
		return false;
	char *end;
	errno = 0;
	*out = strtod(v, &end);
	return errno == 0 && *end == '\0' && isfinite(*out);
}

int sh_node_read_double(const struct sh_node *node, const char *name, double min, double max,
			struct sh_diag *diag, double *out)
{
	double v;

	if (node && node->type == SH_NODE_SCALAR && parse_double(node->value, &v) && v >= min &&
	    v <= max) {
		*out = v;
		return 0;
	}
	return reader_error(node, diag, "%s must be a number from %g to %g",
			    reader_name(node, name), min, max);
}

int sh_node_read_duration(const struct sh_node *node, const char *name, struct sh_diag *diag,
			  uint64_t *ms)
{
	char quoted[64];

	if (node && node->type == SH_NODE_SCALAR && sh_duration_parse(node->value, ms) == 0)
		return 0;
	if (!node || node->type != SH_NODE_SCALAR)
		return reader_error(node, diag, "%s must be a duration (use e.g. 250ms, 2s, 5m)",
				    reader_name(node, name));
	return reader_error(node, diag, "bad duration %s for %s (use e.g. 250ms, 2s, 5m)",
			    sh_node_quote(node, quoted, sizeof(quoted)), reader_name(node, name));
}

int sh_node_to_bool(const struct sh_node *node, struct sh_diag *diag, bool *out)
{
	return sh_node_read_bool(node, NULL, diag, out);
}

int sh_node_to_ll(const struct sh_node *node, long long min, long long max, struct sh_diag *diag,
		  long long *out)
{
	return sh_node_read_ll(node, NULL, min, max, diag, out);
}

int sh_node_to_double(const struct sh_node *node, double min, double max, struct sh_diag *diag,
		      double *out)
{
	return sh_node_read_double(node, NULL, min, max, diag, out);
}

int sh_node_to_duration(const struct sh_node *node, struct sh_diag *diag, uint64_t *ms)
{
	return sh_node_read_duration(node, NULL, diag, ms);
}

/*
 * A sequence of <number><unit> parts ("1m30s" works too); a bare integer is
 * milliseconds. Fractions are rounded to the millisecond.
 */
int sh_duration_parse(const char *text, uint64_t *ms)
{
	const char *p = text;
	uint64_t total = 0;

	if (!p || !*p)
		return -EINVAL;
	if (strspn(p, "0123456789") == strlen(p)) {
		errno = 0;
		unsigned long long v = strtoull(p, NULL, 10);
		if (errno)
			return -EINVAL;
		*ms = v;
		return 0;
	}
	while (*p) {
		uint64_t whole = 0;
		double frac = 0, scale = 0.1;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		for (; isdigit((unsigned char)*p); p++) {
			if (whole > (UINT64_MAX - 9) / 10)
				return -EINVAL;
			whole = whole * 10 + (uint64_t)(*p - '0');
		}
		if (*p == '.') {
			p++;
			if (!isdigit((unsigned char)*p))
				return -EINVAL;
			for (; isdigit((unsigned char)*p); p++) {
				frac += (*p - '0') * scale;
				scale /= 10;
			}
		}
		uint64_t unit;
		if (!strncmp(p, "ms", 2)) {
			unit = 1;
			p += 2;
		} else if (*p == 's') {
			unit = 1000;
			p++;
		} else if (!strncmp(p, "min", 3)) {
			unit = 60 * 1000;
			p += 3;
		} else if (*p == 'm') {
			unit = 60 * 1000;
			p++;
		} else if (*p == 'h') {
			unit = 3600 * 1000;
			p++;
		} else {
			return -EINVAL;
		}
		if (whole > UINT64_MAX / unit)
			return -EINVAL;
		uint64_t part = whole * unit + (uint64_t)llround(frac * (double)unit);
		if (part > UINT64_MAX - total)
			return -EINVAL;
		total += part;
	}
	*ms = total;
	return 0;
}

bool sh_topic_level_valid(const char *id)
{
	return id && *id && !strpbrk(id, "+#/");
}

/* --- YAML to JSON ------------------------------------------------------------- */

static bool looks_numeric(const char *v)
{
	const char *p = v;
	bool digits = false;

	if (*p == '-' || *p == '+')
		p++;
	while (isdigit((unsigned char)*p)) {
		p++;
		digits = true;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			p++;
			digits = true;
		}
	}
	if (!digits)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return *p == '\0';
}

cJSON *sh_node_to_json(const struct sh_node *node)
{
	if (!node)
		return cJSON_CreateNull();
	switch (node->type) {
	case SH_NODE_SCALAR: {
		const char *v = node->value;
		if (node->quoted)
			return cJSON_CreateString(v);
		if (sh_node_is_null(node))
			return cJSON_CreateNull();
		if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))
			return cJSON_CreateTrue();
		if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))
			return cJSON_CreateFalse();
		if (looks_numeric(v)) {
			double d = strtod(v, NULL);
			if (isfinite(d))
				return cJSON_CreateNumber(d);
		}
		return cJSON_CreateString(v);
	}
	case SH_NODE_MAP:
	case SH_NODE_SEQ: {
		bool map = node->type == SH_NODE_MAP;
		cJSON *out = map ? cJSON_CreateObject() : cJSON_CreateArray();
		if (!out)
			return NULL;
		for (size_t i = 0; i < node->n_items; i++) {
			cJSON *item = sh_node_to_json(node->items[i]);
			if (!item) {
				cJSON_Delete(out);
				return NULL;
			}
			if (map)
				cJSON_AddItemToObject(out, node->items[i]->key, item);
			else
				cJSON_AddItemToArray(out, item);
		}
		return out;
	}
	}
	return NULL;
}
