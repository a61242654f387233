/* SPDX-License-Identifier: MIT */
/*
 * One condition of an automation, checked into struct sh_condition: a
 * device's state (is, or above/below), a time of day and weekdays, the
 * sun, and any/not around nested conditions, read here too.
 */
#include "config/config_automation_internal.h"

#include <string.h>

static void load_children(struct sh_auto_ctx *a, struct sh_condition *c, const struct sh_node *list,
			  const char *key)
{
	char where[SH_CONFIG_NAME_MAX];
	const char *outer = a->where;
	const struct sh_node *const *items = (const struct sh_node *const *)&list;
	size_t count = 1;

	if (list->type == SH_NODE_SEQ) {
		items = (const struct sh_node *const *)list->items;
		count = list->n_items;
	}
	if (count == 0 || (list->type != SH_NODE_SEQ && list->type != SH_NODE_MAP)) {
		sh_loader_error(a->ld, list, "%s.%s must be a list of conditions", outer, key);
		return;
	}
	c->children = sh_node_doc_alloc(a->ld->doc, count * sizeof(*c->children));
	if (!c->children) {
		a->ld->nomem = true;
		return;
	}
	c->n_children = count;
	for (size_t i = 0; i < count; i++) {
		if (list->type == SH_NODE_SEQ)
			sh_loader_name(where, sizeof(where), "%s.%s[%zu]", outer, key, i);
		else
			sh_loader_name(where, sizeof(where), "%s.%s", outer, key);
		a->where = where;
		sh_auto_load_condition(a, &c->children[i], items[i]);
		a->where = outer;
	}
}

void sh_auto_load_condition(struct sh_auto_ctx *a, struct sh_condition *c, const struct sh_node *n)
{
	static const char *const device_keys[] = {"device", "property", "is",
						  "above",  "below",    NULL};
	static const char *const when_keys[] = {"after", "before", "weekdays", NULL};
	static const char *const sun_when_keys[] = {"after", "before", NULL};
	struct sh_loader *ld = a->ld;
	const struct sh_node *v;
	char where[SH_CONFIG_NAME_MAX];
	const char *outer = a->where;

	c->node = n;
	c->weekdays = SH_WEEKDAYS_ALL;
	if (n->type != SH_NODE_MAP) {
		sh_loader_error(ld, n,
				"%s must be a condition: a mapping with device, time, sun, any or "
				"not",
				a->where);
		return;
	}
	if ((v = sh_node_get(n, "any")) || (v = sh_node_get(n, "not"))) {
		c->type = !strcmp(v->key, "any") ? SH_CONDITION_ANY : SH_CONDITION_NOT;
		if (n->n_items != 1)
			sh_loader_error(ld, n, "%s: %s stands alone in its condition", a->where,
					v->key);
		load_children(a, c, v, v->key);
		return;
	}
	if ((v = sh_node_get(n, "time"))) {
		c->type = SH_CONDITION_TIME;
		if (n->n_items != 1)
			sh_loader_error(ld, n, "%s: time stands alone in its condition", a->where);
		sh_loader_name(where, sizeof(where), "%s.time", outer);
		a->where = where;
		if (v->type != SH_NODE_MAP || v->n_items == 0) {
			sh_loader_error(ld, v, "%s must be a mapping {after, before, weekdays}",
					where);
		} else {
			sh_loader_check_keys(ld, v, where, when_keys);
			const struct sh_node *x;
			if ((x = sh_node_get(v, "after")))
				c->has_after = sh_auto_read_clock(a, x, "after", &c->after_s);
			if ((x = sh_node_get(v, "before")))
				c->has_before = sh_auto_read_clock(a, x, "before", &c->before_s);
			c->weekdays = sh_auto_read_weekdays(a, sh_node_get(v, "weekdays"));
		}
		a->where = outer;
		return;
	}
	if ((v = sh_node_get(n, "sun"))) {
		c->type = SH_CONDITION_SUN;
		sh_loader_name(where, sizeof(where), "%s.sun", outer);
		a->where = where;
		sh_auto_need_location(a, v);
		if (v->type != SH_NODE_MAP || v->n_items == 0) {
			sh_loader_error(ld, v, "%s must be a mapping {after, before}", where);
		} else {
			sh_loader_check_keys(ld, v, where, sun_when_keys);
			const struct sh_node *x;
			if ((x = sh_node_get(v, "after")))
				c->has_after = sh_auto_read_sun_event(a, x, "after", &c->sun_after);
			if ((x = sh_node_get(v, "before")))
				c->has_before =
					sh_auto_read_sun_event(a, x, "before", &c->sun_before);
		}
		a->where = outer;
		return;
	}
	if (!sh_node_get(n, "device")) {
		sh_loader_error(ld, n, "%s needs one of device, time, sun, any, not", a->where);
		return;
	}
	c->type = SH_CONDITION_DEVICE;
	sh_loader_check_keys(ld, n, a->where, device_keys);
	const struct sh_device_config *d = sh_auto_read_device(a, sh_node_get(n, "device"));
	c->device = d ? d->id : NULL;
	bool numeric = sh_node_get(n, "above") || sh_node_get(n, "below");
	c->property = sh_auto_read_property(a, d, sh_node_get(n, "property"), numeric, n);
	sh_auto_read_band(a, n, &c->has_above, &c->above, &c->has_below, &c->below);
	if ((v = sh_node_get(n, "is")))
		c->is = sh_auto_to_json(a, v);
	if (!c->is && !numeric)
		sh_loader_error(ld, n, "%s needs is, above or below", a->where);
	else if (c->is && numeric)
		sh_loader_error(ld, n, "%s takes is, or above/below, not both", a->where);
}
