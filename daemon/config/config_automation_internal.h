/* SPDX-License-Identifier: MIT */
/*
 * What the files of the automations: section share while one automation
 * is checked: config_automation.c (the section, each automation, location)
 * calls config_trigger.c and config_condition.c for each trigger and
 * condition, and those read their fields through config_automation_read.c
 * and config_automation_props.c (which properties a device reports). Not
 * used outside the configuration module.
 *
 * Every reader reports its own mistakes through the loader, at the node
 * they concern, prefixed with `where`; strings it returns live in the
 * document's arena, cJSON values are the caller's (freed with the
 * configuration by sh_config_free_automations()).
 */
#ifndef SMARTHUB_CONFIG_AUTOMATION_INTERNAL_H
#define SMARTHUB_CONFIG_AUTOMATION_INTERNAL_H

#include "config/config_internal.h"

/* One trigger or condition being read. */
struct sh_auto_ctx {
	struct sh_loader *ld;
	const char *where; /* "automations.x.triggers[0]" */
	bool has_location;
};

/* Fills a trigger (config_trigger.c) or a condition, nested ones with it
 * (config_condition.c), from its node. */
void sh_auto_load_trigger(struct sh_auto_ctx *a, struct sh_trigger *t, const struct sh_node *n);
void sh_auto_load_condition(struct sh_auto_ctx *a, struct sh_condition *c, const struct sh_node *n);

/* The device `n` names; NULL (reported) when it names none. */
const struct sh_device_config *sh_auto_read_device(struct sh_auto_ctx *a, const struct sh_node *n);
/* The property named by `n` (default "state" when n is NULL) of device
 * `d` (may be NULL: not checked); reports an unknown one, and a
 * non-numeric one when `numeric`, at `n` or else `at`
 * (config_automation_props.c). */
char *sh_auto_read_property(struct sh_auto_ctx *a, const struct sh_device_config *d,
			    const struct sh_node *n, bool numeric, const struct sh_node *at);
/* A number at <where>.<key>; false (reported) when it is none. */
bool sh_auto_read_number(struct sh_auto_ctx *a, const struct sh_node *n, const char *key,
			 double *out);
/* above/below of `map` (and the empty band) into has_above/above... */
void sh_auto_read_band(struct sh_auto_ctx *a, const struct sh_node *map, bool *has_above,
		       double *above, bool *has_below, double *below);
/* for: into *ms; nothing when n is absent or null. */
void sh_auto_read_for(struct sh_auto_ctx *a, const struct sh_node *n, uint64_t *ms);
/* "07:30", "7:30" or "07:30:15" into seconds after midnight. */
bool sh_auto_read_clock(struct sh_auto_ctx *a, const struct sh_node *n, const char *key,
			unsigned *out);
/* weekdays: as a mask of SH_WEEKDAYS_* bits; all when absent. */
unsigned sh_auto_read_weekdays(struct sh_auto_ctx *a, const struct sh_node *n);
/* sunrise or sunset. */
bool sh_auto_read_sun_event(struct sh_auto_ctx *a, const struct sh_node *n, const char *key,
			    enum sh_sun_event *out);
/* Reports at `at` that the sun needs location: when there is none. */
void sh_auto_need_location(struct sh_auto_ctx *a, const struct sh_node *at);
/* The node as JSON, the caller's; NULL only when out of memory. */
cJSON *sh_auto_to_json(struct sh_auto_ctx *a, const struct sh_node *n);

#endif
