/* SPDX-License-Identifier: MIT */
/*
 * The configuration loader's shared helpers (config_internal.h): how every
 * section reports a mistake (one positioned error, "unknown key" with
 * did-you-mean), reads a typed field by its "section.key" name, resolves a
 * path against the file, reads a backoff, a scene mode, and takes a
 * fingerprint. The section loaders (config_general.c, config_device.c,
 * config_scene.c, config_automation.c, config_kind.c) are built on these.
 *
 * Owns nothing: what it allocates lives in the node document's arena.
 */
#include "config/config_internal.h"
#include "util/macros.h"
#include "util/suggest.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* --- errors and plain values ------------------------------------------- */

void sh_loader_error(struct sh_loader *ld, const struct sh_node *node, const char *fmt, ...)
{
	va_list ap;

	if (node && sh_node_is_reported(node))
		return;
	va_start(ap, fmt);
	sh_diag_addv(ld->diag, node, fmt, ap);
	va_end(ap);
	sh_node_mark_reported(node);
}

void sh_loader_key_error(struct sh_loader *ld, const struct sh_node *node, const char *fmt, ...)
{
	char text[1024];
	unsigned line, column;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	sh_node_key_position(node, &line, &column);
	sh_diag_add_at(ld->diag, node->file, line, column, "%s", text);
}

void sh_loader_name(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

void sh_loader_check_keys(struct sh_loader *ld, const struct sh_node *map, const char *where,
			  const char *const *allowed)
{
	if (!map || map->type != SH_NODE_MAP)
		return;
	for (size_t i = 0; i < map->n_items; i++) {
		const struct sh_node *item = map->items[i];
		bool known;
		const char *best = sh_suggest(item->key, allowed, &known);
		if (known)
			continue;
		if (best)
			sh_loader_key_error(ld, item,
					    "unknown key '%.60s' in %s (did you mean '%s'?)",
					    item->key, where, best);
		else
			sh_loader_key_error(ld, item, "unknown key '%.60s' in %s", item->key,
					    where);
	}
}

bool sh_loader_expect_map(struct sh_loader *ld, const struct sh_node *node, const char *name)
{
	if (!node || sh_node_is_null(node))
		return false;
	if (node->type == SH_NODE_MAP)
		return true;
	if (node->type == SH_NODE_SEQ)
		sh_loader_error(ld, node,
				"%s must be a mapping, not a list: write 'key: value' lines "
				"(e.g. 'lamp: {driver: virtual, kind: light}'), not '- item' lines",
				name);
	else
		sh_loader_error(ld, node, "%s must be a mapping", name);
	return false;
}

bool sh_loader_string(struct sh_loader *ld, const struct sh_node *node, const char *name,
		      char **out)
{
	if (!node || sh_node_is_null(node))
		return true;
	if (node->type != SH_NODE_SCALAR) {
		sh_loader_error(ld, node, "%s must be a string", name);
		return false;
	}
	/* The tree's strings live as long as the config. */
	*out = (char *)node->value;
	return true;
}

/* --- typed fields of a section ------------------------------------------ */

/* "section.key" for messages. */
static const char *field_name(char *buf, size_t size, const char *section, const char *key)
{
	sh_loader_name(buf, size, "%s.%s", section, key);
	return buf;
}

void sh_loader_get_string(struct sh_loader *ld, const struct sh_node *map, const char *section,
			  const char *key, char **out)
{
	char name[SH_CONFIG_NAME_MAX];
	sh_loader_string(ld, sh_node_get(map, key), field_name(name, sizeof(name), section, key),
			 out);
}

void sh_loader_get_bool(struct sh_loader *ld, const struct sh_node *map, const char *section,
			const char *key, bool *out)
{
	char name[SH_CONFIG_NAME_MAX];
	const struct sh_node *n = sh_node_get(map, key);
	if (n && !sh_node_is_null(n))
		sh_node_read_bool(n, field_name(name, sizeof(name), section, key), ld->diag, out);
}

/* An integer field in min..max: true and *out when present and valid. */
static bool get_ll(struct sh_loader *ld, const struct sh_node *map, const char *section,
		   const char *key, long long min, long long max, long long *out)
{
	char name[SH_CONFIG_NAME_MAX];
	const struct sh_node *n = sh_node_get(map, key);
	return n && !sh_node_is_null(n) &&
	       sh_node_read_ll(n, field_name(name, sizeof(name), section, key), min, max, ld->diag,
			       out) == 0;
}

void sh_loader_get_uint(struct sh_loader *ld, const struct sh_node *map, const char *section,
			const char *key, long long min, long long max, unsigned *out)
{
	long long v;
	if (get_ll(ld, map, section, key, min, max, &v))
		*out = (unsigned)v;
}

void sh_loader_get_size(struct sh_loader *ld, const struct sh_node *map, const char *section,
			const char *key, long long min, long long max, size_t *out)
{
	long long v;
	if (get_ll(ld, map, section, key, min, max, &v))
		*out = (size_t)v;
}

void sh_loader_get_double(struct sh_loader *ld, const struct sh_node *map, const char *section,
			  const char *key, double min, double max, double *out)
{
	char name[SH_CONFIG_NAME_MAX];
	const struct sh_node *n = sh_node_get(map, key);
	if (n && !sh_node_is_null(n))
		sh_node_read_double(n, field_name(name, sizeof(name), section, key), min, max,
				    ld->diag, out);
}

void sh_loader_get_duration(struct sh_loader *ld, const struct sh_node *map, const char *section,
			    const char *key, uint64_t *out)
{
	char name[SH_CONFIG_NAME_MAX];
	const struct sh_node *n = sh_node_get(map, key);
	if (n && !sh_node_is_null(n))
		sh_node_read_duration(n, field_name(name, sizeof(name), section, key), ld->diag,
				      out);
}

/* Relative paths in the file are relative to the file, not to wherever the
 * daemon happens to be started (systemd starts it in /). */
char *sh_loader_resolve_path(struct sh_loader *ld, const char *path)
{
	const char *file = ld->config->path;
	const char *slash = strrchr(file, '/');

	if (!path || path[0] == '/' || !slash)
		return (char *)path;
	size_t dir_len = (size_t)(slash - file) + 1;
	char *out = sh_node_doc_alloc(ld->doc, dir_len + strlen(path) + 1);
	if (!out) {
		ld->nomem = true;
		return (char *)path;
	}
	memcpy(out, file, dir_len);
	strcpy(out + dir_len, path);
	return out;
}

void sh_loader_backoff(struct sh_loader *ld, const struct sh_node *node, const char *name,
		       struct sh_backoff *b)
{
	static const char *const keys[] = {"initial", "max", "factor", "jitter", NULL};

	if (!sh_loader_expect_map(ld, node, name))
		return;
	sh_loader_check_keys(ld, node, name, keys);
	sh_loader_get_duration(ld, node, name, "initial", &b->initial_ms);
	sh_loader_get_duration(ld, node, name, "max", &b->max_ms);
	sh_loader_get_double(ld, node, name, "factor", 1.0, 10.0, &b->factor);
	sh_loader_get_double(ld, node, name, "jitter", 0.0, 1.0, &b->jitter);
	if (b->initial_ms > b->max_ms)
		sh_loader_error(ld, node, "%s.initial must not be longer than %s.max", name, name);
}

/* --- shared by several sections ----------------------------------------------- */

/* Canonical text of a node: equal texts, equal configurations. */
char *sh_loader_fingerprint(struct sh_loader *ld, const struct sh_node *node)
{
	cJSON *json = sh_node_to_json(node);
	char *text = json ? cJSON_PrintUnformatted(json) : NULL;
	char *out = text ? sh_node_doc_strdup(ld->doc, text) : NULL;

	cJSON_Delete(json);
	free(text);
	if (!out)
		ld->nomem = true;
	return out;
}

bool sh_loader_mode(struct sh_loader *ld, const struct sh_node *node, const char *prefix,
		    enum sh_scene_mode *out)
{
	static const enum sh_scene_mode modes[] = {SH_SCENE_SINGLE, SH_SCENE_RESTART,
						   SH_SCENE_QUEUED, SH_SCENE_PARALLEL};

	if (!node || sh_node_is_null(node))
		return true;
	for (size_t m = 0; node->type == SH_NODE_SCALAR && m < ARRAY_SIZE(modes); m++) {
		if (!strcmp(node->value, sh_scene_mode_name(modes[m]))) {
			*out = modes[m];
			return true;
		}
	}
	sh_loader_error(ld, node, "%s.mode must be one of single, restart, queued, parallel",
			prefix);
	return false;
}
