/* SPDX-License-Identifier: MIT */
/*
 * The scenes: section of the configuration: each scene's mode and limits,
 * and its steps, checked into the tree of struct sh_step the scene engine
 * runs. A device command is validated against its device's kind here, at
 * load time, so a typo in a scene is a configuration error with a position
 * and not a failure in the middle of a movie night.
 *
 * Scene references (`scene:` steps) are collected while reading and
 * resolved at the end, when every scene is known: unknown names and scenes
 * that call themselves, directly or through others, are errors.
 *
 * Owns nothing beyond the struct sh_config: steps live in the document's
 * arena, their cJSON commands and wait states are freed by
 * sh_config_free_step().
 */
#include "config/config_internal.h"
#include "kinds/kind.h"

#include <stdlib.h>
#include <string.h>

static const char *const step_actions[] = {"device",   "delay",    "wait", "scene",
					   "sequence", "parallel", NULL};

static const char *const step_keys[] = {
	"device",   "set",      "delay",   "wait",  "scene",
	"sequence", "parallel", "timeout", "retry", "continue_on_error",
	NULL};

/* The index of a step list that belongs to no scene (an automation's):
 * its scene references are checked by its owner. */
#define NO_SCENE ((size_t)-1)

struct scene_ctx {
	struct sh_loader *ld;
	size_t index;     /* of the scene in config->scenes, or NO_SCENE */
	const char *name; /* "scenes.<name>", the prefix of messages */
};

static void add_ref(struct sh_loader *ld, size_t from, const struct sh_node *node)
{
	if (ld->n_refs == ld->cap_refs) {
		size_t cap = ld->cap_refs ? ld->cap_refs * 2 : 16;
		struct sh_scene_ref *grown = realloc(ld->refs, cap * sizeof(*grown));
		if (!grown) {
			ld->nomem = true;
			return;
		}
		ld->refs = grown;
		ld->cap_refs = cap;
	}
	ld->refs[ld->n_refs++] = (struct sh_scene_ref){from, node->value, node};
}

/* The device a step or a wait names, or NULL after reporting why not. */
static const struct sh_device_config *step_device(struct scene_ctx *sc, const struct sh_node *n,
						  const char *where)
{
	char quoted[64];

	if (n->type != SH_NODE_SCALAR || sh_node_is_null(n)) {
		sh_loader_error(sc->ld, n, "%s.device must be a device id", where);
		return NULL;
	}
	const struct sh_device_config *d = sh_config_find_device(sc->ld->config, n->value);
	if (!d)
		sh_loader_error(sc->ld, n, "%s: unknown device %s", where,
				sh_node_quote(n, quoted, sizeof(quoted)));
	return d;
}

static void parse_device_step(struct scene_ctx *sc, struct sh_step *step,
			      const struct sh_node *node, const char *where)
{
	struct sh_loader *ld = sc->ld;
	const struct sh_node *dev = sh_node_get(node, "device");
	const struct sh_node *set = sh_node_get(node, "set");

	step->type = SH_STEP_DEVICE;
	if (!dev) {
		sh_loader_error(ld, node, "missing key 'device' in %s (set needs a device)", where);
		return;
	}
	if (!set) {
		sh_loader_error(ld, node, "missing key 'set' in %s (what to send to the device)",
				where);
		return;
	}
	const struct sh_device_config *d = step_device(sc, dev, where);
	if (d) {
		step->device = d->id;
		step->kind = d->kind;
	}
	if (set->type != SH_NODE_MAP) {
		sh_loader_error(ld, set,
				"%s.set must be a mapping of properties (e.g. { state: \"ON\" })",
				where);
		return;
	}
	step->set = sh_node_to_json(set);
	if (!step->set) {
		ld->nomem = true;
		return;
	}
	if (!d || !d->kind)
		return;
	if (!strcmp(d->kind, "sensor")) {
		sh_loader_error(ld, dev, "%s: device '%s' is a sensor and takes no commands", where,
				d->id);
		return;
	}
	char reason[256] = "";
	if (sh_kind_check(&d->spec, step->set, reason, sizeof(reason)) != 0)
		sh_loader_error(ld, set, "%s.set: %s", where,
				*reason ? reason : "not a valid command");
}

/* `wait: {device: remote, event: single}`: met by the device's next event
 * of that name (a button press), never by a state. */
static bool parse_event_condition(struct scene_ctx *sc, struct sh_wait_condition *cond,
				  const struct sh_node *dev, const struct sh_node *event,
				  const char *where)
{
	const struct sh_device_config *d = step_device(sc, dev, where);
	if (d) {
		cond->device = d->id;
		cond->kind = d->kind;
	}
	if (event->type != SH_NODE_SCALAR || !event->value[0]) {
		sh_loader_error(sc->ld, event, "%s.event must be an event name (single, double...)",
				where);
		return false;
	}
	cond->event = (char *)event->value;
	if (d && d->kind && !sh_kind_event_declared(&d->spec, cond->event))
		sh_loader_error(sc->ld, event, "%s.event: '%s' is not among %s's event_types",
				where, cond->event, d->id);
	return true;
}

static bool parse_condition(struct scene_ctx *sc, struct sh_wait_condition *cond,
			    const struct sh_node *node, const char *where)
{
	static const char *const keys[] = {"device", "state", "event", NULL};
	struct sh_loader *ld = sc->ld;
	char name[SH_CONFIG_NAME_MAX];

	cond->node = node;
	if (node->type != SH_NODE_MAP) {
		sh_loader_error(ld, node, "%s must be a mapping { device, state }", where);
		return false;
	}
	sh_loader_check_keys(ld, node, where, keys);
	const struct sh_node *dev = sh_node_get(node, "device");
	const struct sh_node *state = sh_node_get(node, "state");
	const struct sh_node *event = sh_node_get(node, "event");
	if (dev && event && !state)
		return parse_event_condition(sc, cond, dev, event, where);
	if (event) {
		sh_loader_key_error(ld, event, "%s takes either state or event, not both", where);
		return false;
	}
	if (!dev || !state) {
		sh_loader_error(ld, node, "missing key '%s' in %s", dev ? "state" : "device",
				where);
		return false;
	}
	const struct sh_device_config *d = step_device(sc, dev, where);
	if (d) {
		cond->device = d->id;
		cond->kind = d->kind;
	}
	sh_loader_name(name, sizeof(name), "%s.state", where);
	if (state->type != SH_NODE_MAP || state->n_items == 0) {
		sh_loader_error(ld, state,
				"%s must be a mapping of fields to values (e.g. { state: \"ON\" })",
				name);
		return false;
	}
	const struct sh_node *avail = sh_node_get(state, "availability");
	if (avail && (avail->type != SH_NODE_SCALAR ||
		      (strcmp(avail->value, "online") && strcmp(avail->value, "offline"))))
		sh_loader_error(ld, avail, "%s.availability must be online or offline", name);
	cond->state = sh_node_to_json(state);
	if (!cond->state)
		ld->nomem = true;
	return true;
}

static void parse_wait_step(struct scene_ctx *sc, struct sh_step *step, const struct sh_node *w,
			    const char *where)
{
	static const char *const keys[] = {"device", "state", "event", "any", NULL};
	struct sh_loader *ld = sc->ld;
	char name[SH_CONFIG_NAME_MAX];

	step->type = SH_STEP_WAIT;
	sh_loader_name(name, sizeof(name), "%s.wait", where);
	if (w->type != SH_NODE_MAP) {
		sh_loader_error(ld, w, "%s must be a mapping { device, state } or { any: [...] }",
				name);
		return;
	}
	sh_loader_check_keys(ld, w, name, keys);
	const struct sh_node *any = sh_node_get(w, "any");
	if (any && (sh_node_get(w, "device") || sh_node_get(w, "state"))) {
		sh_loader_key_error(ld, any, "%s takes either device and state, or any", name);
		return;
	}
	if (!any) {
		step->conditions = sh_node_doc_alloc(ld->doc, sizeof(*step->conditions));
		if (!step->conditions) {
			ld->nomem = true;
			return;
		}
		step->n_conditions = 1;
		parse_condition(sc, &step->conditions[0], w, name);
		return;
	}
	sh_loader_name(name, sizeof(name), "%s.wait.any", where);
	if (any->type != SH_NODE_SEQ || any->n_items == 0) {
		sh_loader_error(ld, any, "%s must be a list of { device, state } conditions", name);
		return;
	}
	step->conditions = sh_node_doc_alloc(ld->doc, any->n_items * sizeof(*step->conditions));
	if (!step->conditions) {
		ld->nomem = true;
		return;
	}
	step->n_conditions = any->n_items;
	for (size_t i = 0; i < any->n_items; i++) {
		char item[SH_CONFIG_NAME_MAX];
		sh_loader_name(item, sizeof(item), "%s[%zu]", name, i);
		parse_condition(sc, &step->conditions[i], any->items[i], item);
	}
}

static struct sh_step *parse_steps(struct scene_ctx *sc, const struct sh_node *list,
				   const char *path, const char *block, enum sh_step_type type);

static struct sh_step *parse_step(struct scene_ctx *sc, const struct sh_node *node,
				  const char *path)
{
	struct sh_loader *ld = sc->ld;
	char where[SH_CONFIG_NAME_MAX], name[SH_CONFIG_NAME_MAX];
	struct sh_step *step = sh_node_doc_alloc(ld->doc, sizeof(*step));

	if (!step) {
		ld->nomem = true;
		return NULL;
	}
	step->node = node;
	step->path = sh_node_doc_strdup(ld->doc, path);
	sh_loader_name(where, sizeof(where), "%s.%s", sc->name, path);
	if (node->type != SH_NODE_MAP) {
		sh_loader_error(ld, node,
				"%s must be a step: a mapping with one of device, delay, wait, "
				"scene, sequence, parallel",
				where);
		step->type = SH_STEP_SEQUENCE;
		return step;
	}
	sh_loader_check_keys(ld, node, where, step_keys);

	/* Exactly one action per step; `set` belongs to `device`. */
	const struct sh_node *action = NULL;
	for (size_t i = 0; i < node->n_items; i++) {
		const struct sh_node *item = node->items[i];
		bool is_action = !strcmp(item->key, "set");
		for (size_t k = 0; step_actions[k] && !is_action; k++)
			is_action = !strcmp(item->key, step_actions[k]);
		if (!is_action)
			continue;
		const char *kind = !strcmp(item->key, "set") ? "device" : item->key;
		const char *seen = action && !strcmp(action->key, "set") ? "device"
				   : action                              ? action->key
									 : NULL;
		if (!action) {
			action = item;
		} else if (strcmp(kind, seen)) {
			sh_loader_key_error(ld, item,
					    "%s has both '%s' and '%s' (one action per step; "
					    "combine steps with sequence or parallel)",
					    where, seen, kind);
		}
	}
	if (!action) {
		sh_loader_error(ld, node,
				"%s needs one of device, delay, wait, scene, sequence, parallel",
				where);
		step->type = SH_STEP_SEQUENCE;
		return step;
	}

	const char *key = action->key;
	if (!strcmp(key, "device") || !strcmp(key, "set")) {
		parse_device_step(sc, step, node, where);
	} else if (!strcmp(key, "delay")) {
		step->type = SH_STEP_DELAY;
		sh_loader_name(name, sizeof(name), "%s.delay", where);
		sh_node_read_duration(action, name, ld->diag, &step->delay_ms);
	} else if (!strcmp(key, "wait")) {
		parse_wait_step(sc, step, action, where);
	} else if (!strcmp(key, "scene")) {
		step->type = SH_STEP_SCENE;
		if (action->type != SH_NODE_SCALAR || sh_node_is_null(action)) {
			sh_loader_error(ld, action, "%s.scene must be a scene name", where);
		} else {
			step->scene = (char *)action->value;
			if (sc->index != NO_SCENE)
				add_ref(ld, sc->index, action);
		}
	} else {
		enum sh_step_type type =
			!strcmp(key, "sequence") ? SH_STEP_SEQUENCE : SH_STEP_PARALLEL;
		struct sh_step *block = parse_steps(sc, action, path, key, type);
		if (block) {
			step->type = type;
			step->children = block->children;
			step->n_children = block->n_children;
		}
	}

	const struct sh_node *n;
	if ((n = sh_node_get(node, "timeout")) && !sh_node_is_null(n)) {
		sh_loader_name(name, sizeof(name), "%s.timeout", where);
		sh_node_read_duration(n, name, ld->diag, &step->timeout_ms);
	}
	if ((n = sh_node_get(node, "retry")) && !sh_node_is_null(n)) {
		long long retry = 0;
		sh_loader_name(name, sizeof(name), "%s.retry", where);
		if (sh_node_read_ll(n, name, 0, SH_STEP_RETRY_MAX, ld->diag, &retry) == 0)
			step->retry = (unsigned)retry;
	}
	if ((n = sh_node_get(node, "continue_on_error")) && !sh_node_is_null(n)) {
		sh_loader_name(name, sizeof(name), "%s.continue_on_error", where);
		sh_node_read_bool(n, name, ld->diag, &step->continue_on_error);
	}
	return step;
}

/*
 * A list of steps as a block of `type`. `path` is the block's own path and
 * `block` its key: children of "steps[2]" with block "parallel" are
 * "steps[2].parallel[0]"...; the scene's root has path "steps" and block
 * NULL, so its children are "steps[0]"...
 */
static struct sh_step *parse_steps(struct scene_ctx *sc, const struct sh_node *list,
				   const char *path, const char *block, enum sh_step_type type)
{
	struct sh_loader *ld = sc->ld;
	char base[SH_CONFIG_NAME_MAX];

	if (block)
		sh_loader_name(base, sizeof(base), "%s.%s", path, block);
	else
		sh_loader_name(base, sizeof(base), "%s", path);
	if (list->type != SH_NODE_SEQ) {
		sh_loader_error(ld, list, "%s.%s must be a list of steps", sc->name, base);
		return NULL;
	}
	struct sh_step *step = sh_node_doc_alloc(ld->doc, sizeof(*step));
	if (!step) {
		ld->nomem = true;
		return NULL;
	}
	step->type = type;
	step->node = list;
	step->path = sh_node_doc_strdup(ld->doc, path);
	if (list->n_items) {
		step->children =
			sh_node_doc_alloc(ld->doc, list->n_items * sizeof(*step->children));
		if (!step->children) {
			ld->nomem = true;
			return NULL;
		}
	}
	for (size_t i = 0; i < list->n_items; i++) {
		char child[SH_CONFIG_NAME_MAX];
		sh_loader_name(child, sizeof(child), "%s[%zu]", base, i);
		struct sh_step *c = parse_step(sc, list->items[i], child);
		if (c)
			step->children[step->n_children++] = c;
	}
	return step;
}

static void load_scene(struct sh_loader *ld, struct sh_scene_config *s, size_t index,
		       const struct sh_node *node)
{
	static const char *const keys[] = {"name", "mode", "max", "steps", NULL};
	char prefix[SH_CONFIG_NAME_MAX], name[SH_CONFIG_NAME_MAX];

	s->name = (char *)node->key;
	s->friendly_name = s->name;
	s->mode = SH_SCENE_SINGLE;
	s->max = 10;
	s->node = node;
	sh_loader_name(prefix, sizeof(prefix), "scenes.%.60s", s->name);
	if (!sh_topic_level_valid(s->name))
		sh_loader_key_error(ld, node,
				    "scene name '%.60s' cannot be an MQTT topic level (no '/', "
				    "'+', '#', not empty)",
				    s->name);
	else if (strlen(s->name) > SH_CONFIG_ID_MAX)
		sh_loader_key_error(ld, node, "scene name '%.60s...' is longer than %u bytes",
				    s->name, SH_CONFIG_ID_MAX);
	if (node->type != SH_NODE_MAP) {
		sh_loader_error(ld, node, "%s must be a mapping (mode, steps, ...)", prefix);
		return;
	}
	sh_loader_check_keys(ld, node, prefix, keys);
	sh_loader_name(name, sizeof(name), "%s.name", prefix);
	sh_loader_string(ld, sh_node_get(node, "name"), name, &s->friendly_name);

	sh_loader_mode(ld, sh_node_get(node, "mode"), prefix, &s->mode);
	const struct sh_node *max = sh_node_get(node, "max");
	long long v;
	sh_loader_name(name, sizeof(name), "%s.max", prefix);
	if (max && !sh_node_is_null(max) &&
	    sh_node_read_ll(max, name, 1, SH_SCENE_MAX_MAX, ld->diag, &v) == 0)
		s->max = (unsigned)v;

	const struct sh_node *steps = sh_node_get(node, "steps");
	if (!steps || sh_node_is_null(steps)) {
		sh_loader_error(ld, node, "missing key 'steps' in %s", prefix);
		return;
	}
	struct scene_ctx sc = {.ld = ld, .index = index, .name = prefix};
	s->root = parse_steps(&sc, steps, "steps", NULL, SH_STEP_SEQUENCE);
}

/* Depth-first search over `scene:` references; as for depends_on, each
 * back edge is one cycle, reported where the closing reference is. */
static void scene_cycles(struct sh_loader *ld, size_t at, unsigned char *state, size_t *stack,
			 size_t depth)
{
	struct sh_config *c = ld->config;

	state[at] = 1;
	stack[depth] = at;
	for (size_t r = 0; r < ld->n_refs; r++) {
		if (ld->refs[r].from != at)
			continue;
		const struct sh_scene_config *to = sh_config_find_scene(c, ld->refs[r].to);
		if (!to)
			continue;
		size_t j = (size_t)(to - c->scenes);
		if (state[j] == 0) {
			scene_cycles(ld, j, state, stack, depth + 1);
		} else if (state[j] == 1) {
			char text[1024];
			size_t off = (size_t)snprintf(text, sizeof(text), "scene cycle: ");
			size_t k = depth;
			while (stack[k] != j)
				k--;
			for (; k <= depth && off < sizeof(text); k++)
				off += (size_t)snprintf(text + off, sizeof(text) - off, "%s -> ",
							c->scenes[stack[k]].name);
			if (off < sizeof(text))
				snprintf(text + off, sizeof(text) - off, "%s", to->name);
			sh_loader_error(ld, ld->refs[r].node, "%s", text);
		}
	}
	state[at] = 2;
}

void sh_config_load_scenes(struct sh_loader *ld, const struct sh_node *map)
{
	struct sh_config *c = ld->config;

	if (!sh_loader_expect_map(ld, map, "scenes"))
		return;
	if (map->n_items > SH_CONFIG_SCENES_MAX) {
		sh_loader_error(ld, map, "more than %u scenes", SH_CONFIG_SCENES_MAX);
		return;
	}
	c->scenes = sh_node_doc_alloc(ld->doc, map->n_items * sizeof(*c->scenes) + 1);
	if (!c->scenes) {
		ld->nomem = true;
		return;
	}
	for (size_t i = 0; i < map->n_items; i++) {
		struct sh_scene_config *s = &c->scenes[c->n_scenes++];
		load_scene(ld, s, i, map->items[i]);
		s->fingerprint = sh_loader_fingerprint(ld, map->items[i]);
	}

	for (size_t r = 0; r < ld->n_refs; r++) {
		char quoted[64];
		if (!sh_config_find_scene(c, ld->refs[r].to))
			sh_loader_error(ld, ld->refs[r].node, "scenes.%.60s: unknown scene %s",
					c->scenes[ld->refs[r].from].name,
					sh_node_quote(ld->refs[r].node, quoted, sizeof(quoted)));
	}
	unsigned char *state = calloc(c->n_scenes + 1, 1);
	size_t *stack = calloc(c->n_scenes + 1, sizeof(*stack));
	if (state && stack) {
		for (size_t i = 0; i < c->n_scenes; i++) {
			if (!state[i])
				scene_cycles(ld, i, state, stack, 0);
		}
	} else {
		ld->nomem = true;
	}
	free(state);
	free(stack);
}

struct sh_step *sh_config_load_steps(struct sh_loader *ld, const struct sh_node *list,
				     const char *prefix)
{
	struct scene_ctx sc = {.ld = ld, .index = NO_SCENE, .name = prefix};
	return parse_steps(&sc, list, "steps", NULL, SH_STEP_SEQUENCE);
}

void sh_config_free_step(struct sh_step *step)
{
	if (!step)
		return;
	for (size_t i = 0; i < step->n_children; i++)
		sh_config_free_step(step->children[i]);
	cJSON_Delete(step->set);
	for (size_t i = 0; i < step->n_conditions; i++)
		cJSON_Delete(step->conditions[i].state);
}

size_t sh_config_count_steps(const struct sh_step *step)
{
	size_t n = step ? 1 : 0;
	for (size_t i = 0; step && i < step->n_children; i++)
		n += sh_config_count_steps(step->children[i]);
	return n;
}
