/* SPDX-License-Identifier: MIT */
/*
 * The location: and automations: sections: each automation's settings,
 * its triggers (config_trigger.c) and conditions (config_condition.c),
 * and its steps read by the scene step parser (config_scene.c), so an
 * automation runs exactly the grammar a scene does.
 *
 * Every mistake the automation engine could only find at run time is an
 * error here, with its position: an unknown device or property, a
 * property that is not numeric under above/below, an empty band, a
 * negative for:, a sun trigger without location, a bad time or weekday,
 * a for: on a trigger that has no duration (mqtt, time, sun...), a step
 * that runs an unknown scene.
 *
 * Owns nothing beyond the struct sh_config: everything lives in the
 * document's arena except the cJSON values (to, from, is, equals) and the
 * step commands, freed by sh_config_free_automations().
 */
#include "config/config_automation_internal.h"

#include <stdio.h>
#include <string.h>

static void check_scene_refs(struct sh_loader *ld, const struct sh_step *s, const char *prefix)
{
	char quoted[64];

	if (!s)
		return;
	if (s->type == SH_STEP_SCENE && s->scene && !sh_config_find_scene(ld->config, s->scene))
		sh_loader_error(
			ld, sh_node_get(s->node, "scene"), "%s.%s: unknown scene %s", prefix,
			s->path,
			sh_node_quote(sh_node_get(s->node, "scene"), quoted, sizeof(quoted)));
	for (size_t i = 0; i < s->n_children; i++)
		check_scene_refs(ld, s->children[i], prefix);
}

static bool uses_sun(const struct sh_automation_config *au)
{
	for (size_t i = 0; i < au->n_triggers; i++)
		if (au->triggers[i].type == SH_TRIGGER_SUN ||
		    au->triggers[i].type == SH_TRIGGER_ELEVATION)
			return true;
	/* Conditions nest; their text is enough to tell. */
	return au->fingerprint && strstr(au->fingerprint, "\"sun\"");
}

static void load_automation(struct sh_loader *ld, struct sh_automation_config *au,
			    const struct sh_node *node)
{
	static const char *const keys[] = {
		"name",  "mode",           "max",     "triggers", "conditions",
		"steps", "max_per_minute", "max_gap", "enabled",  NULL};
	char prefix[SH_CONFIG_NAME_MAX], where[SH_CONFIG_NAME_MAX], name[SH_CONFIG_NAME_MAX];
	const struct sh_node *v;
	long long ll;

	au->name = (char *)node->key;
	au->node = node;
	au->enabled = true;
	au->max_per_minute = 30;
	au->max_gap_ms = 5 * 60 * 1000;
	au->run.name = au->name;
	au->run.friendly_name = au->name;
	au->run.mode = SH_SCENE_SINGLE;
	au->run.max = 10;
	au->run.node = node;
	sh_loader_name(prefix, sizeof(prefix), "automations.%.60s", au->name);
	if (!sh_topic_level_valid(au->name))
		sh_loader_key_error(ld, node,
				    "automation name '%.60s' cannot be an MQTT topic level (no "
				    "'/', '+', '#', not empty)",
				    au->name);
	if (node->type != SH_NODE_MAP) {
		sh_loader_error(ld, node, "%s must be a mapping (triggers, conditions, steps)",
				prefix);
		return;
	}
	sh_loader_check_keys(ld, node, prefix, keys);
	sh_loader_name(name, sizeof(name), "%s.name", prefix);
	sh_loader_string(ld, sh_node_get(node, "name"), name, &au->run.friendly_name);
	sh_loader_mode(ld, sh_node_get(node, "mode"), prefix, &au->run.mode);
	sh_loader_name(name, sizeof(name), "%s.max", prefix);
	if ((v = sh_node_get(node, "max")) && !sh_node_is_null(v) &&
	    sh_node_read_ll(v, name, 1, SH_SCENE_MAX_MAX, ld->diag, &ll) == 0)
		au->run.max = (unsigned)ll;
	sh_loader_name(name, sizeof(name), "%s.max_per_minute", prefix);
	if ((v = sh_node_get(node, "max_per_minute")) && !sh_node_is_null(v) &&
	    sh_node_read_ll(v, name, 1, 6000, ld->diag, &ll) == 0)
		au->max_per_minute = (unsigned)ll;
	sh_loader_name(name, sizeof(name), "%s.max_gap", prefix);
	if ((v = sh_node_get(node, "max_gap")) && !sh_node_is_null(v))
		sh_node_read_duration(v, name, ld->diag, &au->max_gap_ms);
	sh_loader_name(name, sizeof(name), "%s.enabled", prefix);
	if ((v = sh_node_get(node, "enabled")) && !sh_node_is_null(v))
		sh_node_read_bool(v, name, ld->diag, &au->enabled);

	struct sh_auto_ctx a = {.ld = ld, .has_location = ld->config->location.set};
	const struct sh_node *list = sh_node_get(node, "triggers");
	if (!list || sh_node_is_null(list)) {
		sh_loader_key_error(ld, node, "missing key 'triggers' in %s", prefix);
	} else if (list->type != SH_NODE_SEQ || list->n_items == 0) {
		sh_loader_error(ld, list, "%s.triggers must be a list of triggers", prefix);
	} else {
		au->triggers = sh_node_doc_alloc(ld->doc, list->n_items * sizeof(*au->triggers));
		if (!au->triggers) {
			ld->nomem = true;
			return;
		}
		au->n_triggers = list->n_items;
		for (size_t i = 0; i < list->n_items; i++) {
			sh_loader_name(where, sizeof(where), "%s.triggers[%zu]", prefix, i);
			a.where = where;
			sh_auto_load_trigger(&a, &au->triggers[i], list->items[i]);
		}
	}
	list = sh_node_get(node, "conditions");
	if (list && !sh_node_is_null(list)) {
		if (list->type != SH_NODE_SEQ) {
			sh_loader_error(ld, list, "%s.conditions must be a list of conditions",
					prefix);
		} else if (list->n_items) {
			au->conditions =
				sh_node_doc_alloc(ld->doc, list->n_items * sizeof(*au->conditions));
			if (!au->conditions) {
				ld->nomem = true;
				return;
			}
			au->n_conditions = list->n_items;
			for (size_t i = 0; i < list->n_items; i++) {
				sh_loader_name(where, sizeof(where), "%s.conditions[%zu]", prefix,
					       i);
				a.where = where;
				sh_auto_load_condition(&a, &au->conditions[i], list->items[i]);
			}
		}
	}
	list = sh_node_get(node, "steps");
	if (!list || sh_node_is_null(list)) {
		sh_loader_key_error(ld, node, "missing key 'steps' in %s", prefix);
		return;
	}
	au->run.root = sh_config_load_steps(ld, list, prefix);
	check_scene_refs(ld, au->run.root, prefix);
}

void sh_config_load_location(struct sh_loader *ld, const struct sh_node *map)
{
	static const char *const keys[] = {"latitude", "longitude", NULL};
	struct sh_location *l = &ld->config->location;
	const struct sh_node *la, *lo;

	if (!sh_loader_expect_map(ld, map, "location"))
		return;
	sh_loader_check_keys(ld, map, "location", keys);
	la = sh_node_get(map, "latitude");
	lo = sh_node_get(map, "longitude");
	if (!la || !lo) {
		sh_loader_error(ld, map, "location needs latitude and longitude (degrees)");
		return;
	}
	int r1 = sh_node_read_double(la, "location.latitude", -90, 90, ld->diag, &l->latitude);
	int r2 = sh_node_read_double(lo, "location.longitude", -180, 180, ld->diag, &l->longitude);
	l->set = r1 == 0 && r2 == 0;
	/* A broken location is reported once, not again at every sun trigger. */
	if (!l->set)
		l->set = true, l->latitude = l->longitude = 0;
}

void sh_config_load_automations(struct sh_loader *ld, const struct sh_node *map)
{
	struct sh_config *c = ld->config;

	if (!sh_loader_expect_map(ld, map, "automations"))
		return;
	if (map->n_items > SH_CONFIG_AUTOMATIONS_MAX) {
		sh_loader_error(ld, map, "more than %u automations", SH_CONFIG_AUTOMATIONS_MAX);
		return;
	}
	c->automations = sh_node_doc_alloc(ld->doc, map->n_items * sizeof(*c->automations) + 1);
	if (!c->automations) {
		ld->nomem = true;
		return;
	}
	for (size_t i = 0; i < map->n_items; i++) {
		struct sh_automation_config *au = &c->automations[c->n_automations++];
		load_automation(ld, au, map->items[i]);
		au->fingerprint = sh_loader_fingerprint(ld, map->items[i]);
		/* A sun trigger moves with the location. */
		if (au->fingerprint && uses_sun(au) && c->location.set) {
			char text[96];
			snprintf(text, sizeof(text), "@%.6f,%.6f:", c->location.latitude,
				 c->location.longitude);
			char *joined = sh_node_doc_alloc(
				ld->doc, strlen(text) + strlen(au->fingerprint) + 1);
			if (!joined) {
				ld->nomem = true;
				continue;
			}
			strcpy(joined, text);
			strcat(joined, au->fingerprint);
			au->fingerprint = joined;
		}
		au->run.fingerprint = au->fingerprint;
	}
}

static void free_conditions(struct sh_condition *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++) {
		cJSON_Delete(c[i].is);
		free_conditions(c[i].children, c[i].n_children);
	}
}

void sh_config_free_automations(struct sh_config *config)
{
	for (size_t i = 0; i < config->n_automations; i++) {
		struct sh_automation_config *au = &config->automations[i];
		for (size_t k = 0; k < au->n_triggers; k++) {
			cJSON_Delete(au->triggers[k].to);
			cJSON_Delete(au->triggers[k].from);
			cJSON_Delete(au->triggers[k].equals);
		}
		free_conditions(au->conditions, au->n_conditions);
		sh_config_free_step(au->run.root);
	}
}
