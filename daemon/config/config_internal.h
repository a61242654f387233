/* SPDX-License-Identifier: MIT */
/*
 * What config.c and config_scene.c share while one file is being checked:
 * the loader state and the small helpers that turn "this node is wrong"
 * into one positioned error. Not used outside the configuration module.
 */
#ifndef SMARTHUB_CONFIG_INTERNAL_H
#define SMARTHUB_CONFIG_INTERNAL_H

#include "config/config.h"
#include "config/node.h"

/* Bounds of one configuration. */
#define SH_CONFIG_DEVICES_MAX 16384u
#define SH_CONFIG_SCENES_MAX 1024u
#define SH_CONFIG_AUTOMATIONS_MAX 1024u
#define SH_QUEUE_LIMIT_MAX 1000u /* devices.<id>.queue_limit */
#define SH_STEP_RETRY_MAX 10u    /* steps' retry */
#define SH_SCENE_MAX_MAX 100u    /* scenes.<name>.max */
#define SH_CONFIG_NAME_MAX 256u  /* "scenes.x.steps[2].parallel[1]" and the like */

/* The struct sh_config handed out, with the document that owns its memory. */
struct sh_config_impl {
	struct sh_config pub;
	struct sh_node_doc *doc;
	unsigned refs; /* sh_config_hold / sh_config_free */
};

/* A `scene:` step, resolved once every scene is known. */
struct sh_scene_ref {
	size_t from; /* index of the calling scene */
	const char *to;
	const struct sh_node *node;
};

struct sh_loader {
	struct sh_config *config;
	struct sh_node_doc *doc;
	struct sh_diag *diag;
	struct sh_scene_ref *refs;
	size_t n_refs, cap_refs;
	const struct sh_node *device_node; /* the device being read (config_kind.c) */
	bool nomem;
};

/* An error at `node` (unless one was reported there already). */
void sh_loader_error(struct sh_loader *ld, const struct sh_node *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* An error at the key of map value `node` ("unknown key", "is reserved"). */
void sh_loader_key_error(struct sh_loader *ld, const struct sh_node *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Reports every key of `map` that is not in `allowed` (NULL-terminated) as
 * "unknown key 'k' in <where>", with a suggestion when one is close. */
void sh_loader_check_keys(struct sh_loader *ld, const struct sh_node *map, const char *where,
			  const char *const *allowed);
/* True for a map; false and an error "<name> must be a mapping" otherwise
 * (silently false for an absent or null node). */
bool sh_loader_expect_map(struct sh_loader *ld, const struct sh_node *node, const char *name);
/* A scalar's text in *out (borrowed from the tree); absent or null leaves
 * *out alone. Returns false and reports when the node is not a scalar. */
bool sh_loader_string(struct sh_loader *ld, const struct sh_node *node, const char *name,
		      char **out);

/* Formats a name for messages ("scenes.x.steps[2].delay") into buf, cut
 * to size; names are only ever shown, so a cut one is harmless. */
void sh_loader_name(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The options of a device that complete its kind (modes, presets,
 * event_types, properties, ...: config_kind.c) into d->spec; d->kind is
 * already read (NULL when missing or unknown). */
void sh_config_load_kind(struct sh_loader *ld, struct sh_device_config *d,
			 const struct sh_node *node, const char *prefix);
/* True for those options' keys: they are not driver options. */
bool sh_config_is_kind_key(const char *key);

/* The scenes: section and every step in it, then scene references. */
void sh_config_load_scenes(struct sh_loader *ld, const struct sh_node *scenes);
void sh_config_free_step(struct sh_step *step);
/* Counts the steps of a tree (blocks and leaves). */
size_t sh_config_count_steps(const struct sh_step *step);
/*
 * A list of steps that is not a scene's (an automation's), as a SEQUENCE
 * with path "steps"; messages start with `prefix` ("automations.x").
 * `scene:` steps are not resolved here: the caller checks them, since the
 * scenes are known by then. NULL after reporting why.
 */
struct sh_step *sh_config_load_steps(struct sh_loader *ld, const struct sh_node *list,
				     const char *prefix);

/* config_automation.c: location: and automations: (after devices and
 * scenes, which they name). */
void sh_config_load_location(struct sh_loader *ld, const struct sh_node *map);
void sh_config_load_automations(struct sh_loader *ld, const struct sh_node *map);
void sh_config_free_automations(struct sh_config *config);

#endif
