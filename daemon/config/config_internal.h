/* SPDX-License-Identifier: MIT */
/*
 * What the files of the configuration module share while one file is
 * being checked: the loader state, the helpers of config_loader.c that
 * turn "this node is wrong" into one positioned error and read typed
 * fields, and each section's loader, called by config.c in turn. Not used
 * outside the configuration module.
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

/* Typed fields of a section (config_loader.c): `section.key` of `map`,
 * converted into *out when present and not null, else *out is left alone;
 * a wrong value is reported under the name "section.key". */
void sh_loader_get_string(struct sh_loader *ld, const struct sh_node *map, const char *section,
			  const char *key, char **out);
void sh_loader_get_bool(struct sh_loader *ld, const struct sh_node *map, const char *section,
			const char *key, bool *out);
void sh_loader_get_uint(struct sh_loader *ld, const struct sh_node *map, const char *section,
			const char *key, long long min, long long max, unsigned *out);
void sh_loader_get_size(struct sh_loader *ld, const struct sh_node *map, const char *section,
			const char *key, long long min, long long max, size_t *out);
void sh_loader_get_double(struct sh_loader *ld, const struct sh_node *map, const char *section,
			  const char *key, double min, double max, double *out);
void sh_loader_get_duration(struct sh_loader *ld, const struct sh_node *map, const char *section,
			    const char *key, uint64_t *out);
/* `path` relative to the file's directory unless absolute (in the arena;
 * `path` itself when absolute, NULL, or out of memory, then ld->nomem). */
char *sh_loader_resolve_path(struct sh_loader *ld, const char *path);
/* A backoff mapping (initial, max, factor, jitter) named `name` into *b. */
void sh_loader_backoff(struct sh_loader *ld, const struct sh_node *node, const char *name,
		       struct sh_backoff *b);
/* A scene or automation `mode:` (absent or null leaves *out); false after
 * reporting a mode that is none of sh_scene_mode_name's. */
bool sh_loader_mode(struct sh_loader *ld, const struct sh_node *node, const char *prefix,
		    enum sh_scene_mode *out);
/* The canonical text of `node` in the arena, what two configurations
 * compare to tell an unchanged device, scene or automation; NULL and
 * ld->nomem when out of memory. */
char *sh_loader_fingerprint(struct sh_loader *ld, const struct sh_node *node);

/* config_general.c: the general sections, each a mapping (or absent). */
void sh_config_load_mqtt(struct sh_loader *ld, const struct sh_node *map);
void sh_config_load_homeassistant(struct sh_loader *ld, const struct sh_node *map);
void sh_config_load_hub(struct sh_loader *ld, const struct sh_node *map);
void sh_config_load_plugins(struct sh_loader *ld, const struct sh_node *map);
void sh_config_load_log(struct sh_loader *ld, const struct sh_node *map);
/* on_start: scene names, checked against the scenes (read before it). */
void sh_config_load_on_start(struct sh_loader *ld, const struct sh_node *n);

/* config_device.c: devices:, then their depends_on. */
void sh_config_load_devices(struct sh_loader *ld, const struct sh_node *map);

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
