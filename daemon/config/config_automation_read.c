/* SPDX-License-Identifier: MIT */
/*
 * The small readers triggers and conditions share: a device, a number, an
 * above/below band, a for:, a time of day, weekdays, sunrise or sunset,
 * the location the sun needs, and a value as JSON. Each reports its own
 * mistake at its node.
 */
#include "config/config_automation_internal.h"
#include "util/suggest.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct sh_device_config *sh_auto_read_device(struct sh_auto_ctx *a, const struct sh_node *n)
{
	char quoted[64];

	if (!n || n->type != SH_NODE_SCALAR || sh_node_is_null(n)) {
		sh_loader_error(a->ld, n, "%s.device must be a device id", a->where);
		return NULL;
	}
	const struct sh_device_config *d = sh_config_find_device(a->ld->config, n->value);
	if (!d)
		sh_loader_error(a->ld, n, "%s: unknown device %s", a->where,
				sh_node_quote(n, quoted, sizeof(quoted)));
	return d;
}

bool sh_auto_read_number(struct sh_auto_ctx *a, const struct sh_node *n, const char *key,
			 double *out)
{
	char name[SH_CONFIG_NAME_MAX];

	sh_loader_name(name, sizeof(name), "%s.%s", a->where, key);
	return sh_node_read_double(n, name, -1e15, 1e15, a->ld->diag, out) == 0;
}

/* above/below (and the empty band) into has_above/above... */
void sh_auto_read_band(struct sh_auto_ctx *a, const struct sh_node *map, bool *has_above,
		       double *above, bool *has_below, double *below)
{
	const struct sh_node *na = sh_node_get(map, "above");
	const struct sh_node *nb = sh_node_get(map, "below");

	*has_above = na && sh_auto_read_number(a, na, "above", above);
	*has_below = nb && sh_auto_read_number(a, nb, "below", below);
	if (*has_above && *has_below && *above >= *below)
		sh_loader_error(a->ld, na,
				"%s: empty band: above (%g) must be less than below (%g)", a->where,
				*above, *below);
}

void sh_auto_read_for(struct sh_auto_ctx *a, const struct sh_node *n, uint64_t *ms)
{
	char name[SH_CONFIG_NAME_MAX];

	if (!n || sh_node_is_null(n))
		return;
	if (n->type == SH_NODE_SCALAR && n->value[0] == '-') {
		sh_loader_error(a->ld, n, "%s.for must not be negative", a->where);
		return;
	}
	sh_loader_name(name, sizeof(name), "%s.for", a->where);
	sh_node_read_duration(n, name, a->ld->diag, ms);
}

/* "07:30", "7:30" or "07:30:15" into seconds after midnight. */
static bool parse_clock(const char *text, unsigned *out)
{
	unsigned part[3] = {0, 0, 0};
	size_t n = 0;
	const char *p = text;

	if (!p)
		return false;
	for (;;) {
		size_t digits = strspn(p, "0123456789");
		if (digits < 1 || digits > 2 || (n > 0 && digits != 2) || n == 3)
			return false;
		part[n++] = (unsigned)strtoul(p, NULL, 10); /* 1 or 2 digits, checked */
		p += digits;
		if (*p == '\0')
			break;
		if (*p++ != ':')
			return false;
	}
	if (n < 2 || part[0] > 23 || part[1] > 59 || part[2] > 59)
		return false;
	*out = part[0] * 3600 + part[1] * 60 + part[2];
	return true;
}

bool sh_auto_read_clock(struct sh_auto_ctx *a, const struct sh_node *n, const char *key,
			unsigned *out)
{
	char quoted[64];

	if (n && n->type == SH_NODE_SCALAR && parse_clock(n->value, out))
		return true;
	sh_loader_error(a->ld, n, "%s.%s: bad time %s (HH:MM or HH:MM:SS, 00:00 to 23:59:59)",
			a->where, key, sh_node_quote(n, quoted, sizeof(quoted)));
	return false;
}

static const char *const weekday_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};
static const char *const weekday_long[] = {"sunday",   "monday", "tuesday",  "wednesday",
					   "thursday", "friday", "saturday", NULL};

unsigned sh_auto_read_weekdays(struct sh_auto_ctx *a, const struct sh_node *n)
{
	char quoted[64];
	unsigned mask = 0;

	if (!n || sh_node_is_null(n))
		return SH_WEEKDAYS_ALL;
	const struct sh_node *const *items = (const struct sh_node *const *)&n;
	size_t count = 1;
	if (n->type == SH_NODE_SEQ) {
		items = (const struct sh_node *const *)n->items;
		count = n->n_items;
	}
	if (n->type == SH_NODE_MAP || count == 0) {
		sh_loader_error(a->ld, n,
				"%s.weekdays must be a list of mon, tue, wed, thu, fri, "
				"sat, sun",
				a->where);
		return SH_WEEKDAYS_ALL;
	}
	for (size_t i = 0; i < count; i++) {
		const struct sh_node *d = items[i];
		unsigned bit = 7;
		for (unsigned k = 0; k < 7 && d->type == SH_NODE_SCALAR; k++)
			if (!strcasecmp(d->value, weekday_names[k]) ||
			    !strcasecmp(d->value, weekday_long[k]))
				bit = k;
		if (bit == 7) {
			bool known;
			const char *best = d->type == SH_NODE_SCALAR
						   ? sh_suggest(d->value, weekday_names, &known)
						   : NULL;
			sh_loader_error(a->ld, d, "%s.weekdays: bad weekday %s (%s%s%s)", a->where,
					sh_node_quote(d, quoted, sizeof(quoted)),
					best ? "did you mean '"
					     : "mon, tue, wed, thu, fri, sat, sun",
					best ? best : "", best ? "'?" : "");
			continue;
		}
		mask |= 1u << bit;
	}
	return mask ? mask : SH_WEEKDAYS_ALL;
}

bool sh_auto_read_sun_event(struct sh_auto_ctx *a, const struct sh_node *n, const char *key,
			    enum sh_sun_event *out)
{
	if (n && n->type == SH_NODE_SCALAR && !strcmp(n->value, "sunrise")) {
		*out = SH_SUN_SUNRISE;
		return true;
	}
	if (n && n->type == SH_NODE_SCALAR && !strcmp(n->value, "sunset")) {
		*out = SH_SUN_SUNSET;
		return true;
	}
	sh_loader_error(a->ld, n, "%s.%s must be sunrise or sunset", a->where, key);
	return false;
}

void sh_auto_need_location(struct sh_auto_ctx *a, const struct sh_node *at)
{
	if (!a->has_location)
		sh_loader_error(a->ld, at,
				"%s: the sun needs a location: add location: {latitude, "
				"longitude} to the configuration",
				a->where);
}

cJSON *sh_auto_to_json(struct sh_auto_ctx *a, const struct sh_node *n)
{
	cJSON *j = sh_node_to_json(n);
	if (!j)
		a->ld->nomem = true;
	return j;
}
