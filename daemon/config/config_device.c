/* SPDX-License-Identifier: MIT */
/*
 * The devices: section: each device's common keys (driver, kind, name,
 * timeouts, queue, backoff, what a sensor reads), its kind's options
 * (config_kind.c), and the rest set apart as its driver's options, which
 * the driver checks when the hub creates it. Then depends_on: unknown
 * devices and cycles, once every device is known.
 *
 * Owns nothing: devices and their option maps live in the node document's
 * arena.
 */
#include "config/config_internal.h"
#include "kinds/kind.h"
#include "util/suggest.h"

#include <stdlib.h>
#include <string.h>

static const char *const device_keys[] = {"driver",
					  "kind",
					  "name",
					  "depends_on",
					  "connect_timeout",
					  "command_timeout",
					  "min_interval",
					  "queue_limit",
					  "queue_while_offline",
					  "backoff",
					  "unit",
					  "device_class",
					  "state_class",
					  NULL};

const char *sh_config_suggest_device_key(const char *key)
{
	return sh_suggest(key, device_keys, NULL);
}

static bool is_device_key(const char *key)
{
	for (size_t i = 0; device_keys[i]; i++) {
		if (!strcmp(key, device_keys[i]))
			return true;
	}
	return sh_config_is_kind_key(key);
}

/* A plugin name becomes part of a file path: keep it to a plain word. */
static bool driver_name_valid(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++) {
		if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') ||
		      ('0' <= *s && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	}
	return true;
}

static void kinds_list(char *buf, size_t size)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; sh_kinds[i] && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? ", " : "", sh_kinds[i]);
}

/* Where each depends_on entry was written, for errors found later. */
struct dep_nodes {
	const struct sh_node **nodes;
};

static void load_depends_on(struct sh_loader *ld, struct sh_device_config *d,
			    const struct sh_node *n, const char *prefix, struct dep_nodes *dn)
{
	const struct sh_node *const *entries;
	size_t count;
	if (!sh_node_one_or_list(&n, &entries, &count)) {
		sh_loader_error(ld, n, "%s.depends_on must be a device id or a list of them",
				prefix);
		return;
	}
	if (!count)
		return;
	d->depends_on = sh_node_doc_alloc(ld->doc, count * sizeof(*d->depends_on));
	dn->nodes = sh_node_doc_alloc(ld->doc, count * sizeof(*dn->nodes));
	if (!d->depends_on || !dn->nodes) {
		ld->nomem = true;
		return;
	}
	for (size_t i = 0; i < count; i++) {
		if (entries[i]->type != SH_NODE_SCALAR) {
			sh_loader_error(ld, entries[i], "%s.depends_on entries must be device ids",
					prefix);
			continue;
		}
		dn->nodes[d->n_depends_on] = entries[i];
		d->depends_on[d->n_depends_on++] = (char *)entries[i]->value;
	}
}

static void load_device(struct sh_loader *ld, struct sh_device_config *d,
			const struct sh_node *node, struct dep_nodes *dn)
{
	char prefix[SH_CONFIG_NAME_MAX], name[SH_CONFIG_NAME_MAX];
	const char *id = node->key;

	snprintf(prefix, sizeof(prefix), "devices.%.60s", id);
	d->id = (char *)id;
	d->name = (char *)id;
	d->node = node;
	d->connect_timeout_ms = 10000;
	d->command_timeout_ms = 10000;
	d->min_interval_ms = 0;
	d->queue_limit = 16;
	d->backoff = (struct sh_backoff){1000, 60000, 2.0, 0.2};

	if (!sh_topic_level_valid(id))
		sh_loader_key_error(ld, node,
				    "device id '%.60s' cannot be an MQTT topic level (no '/', '+', "
				    "'#', not empty)",
				    id);
	else if (strlen(id) > SH_CONFIG_ID_MAX)
		sh_loader_key_error(ld, node, "device id '%.60s...' is longer than %u bytes", id,
				    SH_CONFIG_ID_MAX);
	else if (!strcmp(id, "bridge") || !strcmp(id, "scene") || !strcmp(id, "automation"))
		sh_loader_key_error(ld, node,
				    "device id '%s' is reserved (smarthub/%s/... is the hub's own "
				    "topic)",
				    id, id);

	if (node->type != SH_NODE_MAP) {
		sh_loader_error(ld, node, "%s must be a mapping (driver, kind, ...)", prefix);
		return;
	}

	/* Every key that is not common to all devices is the driver's. */
	size_t n_options = 0;
	struct sh_node **options = malloc((node->n_items ? node->n_items : 1) * sizeof(*options));
	if (!options) {
		ld->nomem = true;
		return;
	}
	for (size_t i = 0; i < node->n_items; i++) {
		if (!is_device_key(node->items[i]->key))
			options[n_options++] = node->items[i];
	}
	d->options = sh_node_doc_new_map(ld->doc, node, options, n_options);
	free(options);
	if (!d->options)
		ld->nomem = true;

	const struct sh_node *drv = sh_node_get(node, "driver");
	sh_loader_get_string(ld, node, prefix, "driver", &d->driver);
	if (!drv || sh_node_is_null(drv))
		sh_loader_key_error(ld, node, "missing key 'driver' in %s", prefix);
	else if (d->driver && !driver_name_valid(d->driver)) {
		sh_loader_error(ld, drv,
				"%s.driver must be a plugin name (letters, digits, '_', '-')",
				prefix);
		d->driver = NULL; /* no plugin to look for */
	}

	const struct sh_node *kind = sh_node_get(node, "kind");
	sh_loader_get_string(ld, node, prefix, "kind", &d->kind);
	if (!kind || sh_node_is_null(kind)) {
		sh_loader_key_error(ld, node, "missing key 'kind' in %s", prefix);
	} else if (d->kind && !sh_kind_known(d->kind)) {
		char kinds[128], quoted[64];
		kinds_list(kinds, sizeof(kinds));
		sh_loader_error(ld, kind, "%s.kind %s is not a device kind (%s)", prefix,
				sh_node_quote(kind, quoted, sizeof(quoted)), kinds);
		d->kind = NULL; /* nothing can be checked against it */
	}
	sh_config_load_kind(ld, d, node, prefix);

	sh_loader_get_string(ld, node, prefix, "name", &d->name);
	load_depends_on(ld, d, sh_node_get(node, "depends_on"), prefix, dn);
	sh_loader_get_duration(ld, node, prefix, "connect_timeout", &d->connect_timeout_ms);
	sh_loader_get_duration(ld, node, prefix, "command_timeout", &d->command_timeout_ms);
	sh_loader_get_duration(ld, node, prefix, "min_interval", &d->min_interval_ms);
	sh_loader_get_size(ld, node, prefix, "queue_limit", 1, SH_QUEUE_LIMIT_MAX, &d->queue_limit);
	sh_loader_get_bool(ld, node, prefix, "queue_while_offline", &d->queue_while_offline);
	/* What a sensor's value is (discovery shows it; any driver). */
	sh_loader_get_string(ld, node, prefix, "unit", &d->unit);
	sh_loader_get_string(ld, node, prefix, "device_class", &d->device_class);
	sh_loader_get_string(ld, node, prefix, "state_class", &d->state_class);
	sh_loader_name(name, sizeof(name), "%s.backoff", prefix);
	sh_loader_backoff(ld, sh_node_get(node, "backoff"), name, &d->backoff);
}

/* Where device `at`'s depends_on entry `i` was written. The nodes are
 * allocated with the entries, so a device with entries has them; the
 * device's own node stands in should that ever not hold. */
static const struct sh_node *dep_node(const struct sh_config *c, const struct dep_nodes *dn,
				      size_t at, size_t i)
{
	return dn[at].nodes ? dn[at].nodes[i] : c->devices[at].node;
}

/* Depth-first search for depends_on cycles; `state` 0 new, 1 on the
 * stack, 2 done. Each back edge is one cycle, reported at the entry that
 * closes it. */
static void device_cycles(struct sh_loader *ld, const struct dep_nodes *dn, size_t at,
			  unsigned char *state, size_t *stack, size_t depth)
{
	struct sh_config *c = ld->config;
	const struct sh_device_config *d = &c->devices[at];

	state[at] = 1;
	stack[depth] = at;
	for (size_t i = 0; i < d->n_depends_on; i++) {
		const struct sh_device_config *to = sh_config_find_device(c, d->depends_on[i]);
		if (!to)
			continue;
		size_t j = (size_t)(to - c->devices);
		if (state[j] == 0) {
			device_cycles(ld, dn, j, state, stack, depth + 1);
		} else if (state[j] == 1) {
			char text[1024];
			size_t off = (size_t)snprintf(text, sizeof(text), "depends_on cycle: ");
			size_t k = depth;
			while (stack[k] != j)
				k--;
			for (; k <= depth && off < sizeof(text); k++)
				off += (size_t)snprintf(text + off, sizeof(text) - off, "%s -> ",
							c->devices[stack[k]].id);
			if (off < sizeof(text))
				snprintf(text + off, sizeof(text) - off, "%s", to->id);
			sh_loader_error(ld, dep_node(c, dn, at, i), "%s", text);
		}
	}
	state[at] = 2;
}

static void check_depends_on(struct sh_loader *ld, const struct dep_nodes *dn)
{
	struct sh_config *c = ld->config;

	for (size_t i = 0; i < c->n_devices; i++) {
		const struct sh_device_config *d = &c->devices[i];
		for (size_t k = 0; k < d->n_depends_on; k++) {
			if (!sh_config_find_device(c, d->depends_on[k])) {
				char quoted[64];
				const struct sh_node *at = dep_node(c, dn, i, k);
				sh_loader_error(ld, at,
						"devices.%.60s.depends_on: unknown device %s",
						d->id, sh_node_quote(at, quoted, sizeof(quoted)));
			}
		}
	}
	unsigned char *state = calloc(c->n_devices ? c->n_devices : 1, 1);
	size_t *stack = calloc(c->n_devices ? c->n_devices : 1, sizeof(*stack));
	if (state && stack) {
		for (size_t i = 0; i < c->n_devices; i++) {
			if (!state[i])
				device_cycles(ld, dn, i, state, stack, 0);
		}
	} else {
		ld->nomem = true;
	}
	free(state);
	free(stack);
}

void sh_config_load_devices(struct sh_loader *ld, const struct sh_node *map)
{
	struct sh_config *c = ld->config;

	if (!sh_loader_expect_map(ld, map, "devices"))
		return;
	if (map->n_items > SH_CONFIG_DEVICES_MAX) {
		sh_loader_error(ld, map, "more than %u devices", SH_CONFIG_DEVICES_MAX);
		return;
	}
	c->devices = sh_node_doc_alloc(ld->doc, map->n_items * sizeof(*c->devices) + 1);
	struct dep_nodes *dn = calloc(map->n_items + 1, sizeof(*dn));
	if (!c->devices || !dn) {
		free(dn);
		ld->nomem = true;
		return;
	}
	/* devices[i] and dn[i] are filled in step: check_depends_on reads both. */
	c->n_devices = 0;
	for (size_t i = 0; i < map->n_items; i++) {
		struct sh_device_config *d = &c->devices[c->n_devices++];
		load_device(ld, d, map->items[i], &dn[i]);
		d->fingerprint = sh_loader_fingerprint(ld, map->items[i]);
	}
	check_depends_on(ld, dn);
	free(dn);
}
