/* SPDX-License-Identifier: MIT */
/*
 * The configuration as a whole: loads a file into its node tree (node.c),
 * sets the defaults, has every section checked in turn (config_general.c,
 * config_device.c, config_scene.c, config_automation.c) and hands out the
 * struct sh_config, refused when anything was wrong. Also the lookups of a
 * device, scene or automation by name, and the names of the enums.
 *
 * Checking never stops at the first mistake: each one is reported at its
 * position and the rest of the file is still checked, so a user fixes a
 * file in one go. Cross references (depends_on, scenes, on_start) are
 * resolved once every device and scene has been read, so order in the
 * file does not matter; the errors are put in file order at the end.
 *
 * Owns the struct sh_config it returns; its strings and arrays live in the
 * node document's arena (freed together), only the cJSON objects of scene
 * steps and automations are freed one by one.
 */
#include "config/config_internal.h"
#include "util/log.h"
#include "util/macros.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SMARTHUB_DEFAULT_PLUGIN_DIR
#define SMARTHUB_DEFAULT_PLUGIN_DIR "/usr/local/lib/smarthub/plugins"
#endif

/* --- the whole file ------------------------------------------------------- */

/* "smarthub-<hostname>": a broker lets one client per id connect, and a
 * plain "smarthub" is an id any other client could take and so kick the hub
 * off (it would reconnect and kick the other off in turn, forever). */
static const char *default_client_id(struct sh_node_doc *doc)
{
	char host[256];
	if (gethostname(host, sizeof(host)) != 0 || !host[0])
		return "smarthub";
	host[sizeof(host) - 1] = '\0';
	char *id = sh_node_doc_alloc(doc, sizeof("smarthub-") + strlen(host));
	if (!id)
		return "smarthub";
	strcpy(id, "smarthub-");
	strcat(id, host);
	return id;
}

static void set_defaults(struct sh_config *c, struct sh_node_doc *doc)
{
	c->mqtt.url = "tcp://127.0.0.1:1883";
	c->mqtt.base_topic = "smarthub";
	c->mqtt.client_id = (char *)default_client_id(doc);
	c->mqtt.keepalive_s = 60;
	/* QoS 0 states, as Zigbee2MQTT and Home Assistant publish them: QoS 1
	 * costs ~40 ms a command on a stock broker (docs/performance.md). */
	c->mqtt.qos = 0;
	c->mqtt.retain = true;
	c->mqtt.max_payload = 65536;
	c->mqtt.inbox_limit = 1024;
	c->mqtt.inbox_bytes = 1 << 20;
	c->mqtt.events_per_second = 20;
	c->mqtt.requests_per_minute = 12;
	c->mqtt.requests_per_second = 20;
	c->mqtt.request_connection = true;
	c->mqtt.reconnect = (struct sh_backoff){1000, 30000, 2.0, 0.2};
	c->homeassistant.discovery = false;
	c->homeassistant.prefix = "homeassistant";
	c->hub.max_connecting = 0;
	c->hub.workers = 2;
	c->plugin_dir = SMARTHUB_DEFAULT_PLUGIN_DIR;
	c->log_level = SH_LOG_INFO;
}

static void load_root(struct sh_loader *ld, const struct sh_node *root)
{
	static const char *const sections[] = {"mqtt",     "homeassistant", "hub",    "plugins",
					       "log",      "devices",       "scenes", "on_start",
					       "location", "automations",   NULL};

	if (root->type != SH_NODE_MAP) {
		sh_loader_error(ld, root,
				"the configuration must be a mapping of sections (mqtt, devices, "
				"scenes, ...)");
		return;
	}
	sh_loader_check_keys(ld, root, "the configuration", sections);
	sh_config_load_mqtt(ld, sh_node_get(root, "mqtt"));
	sh_config_load_homeassistant(ld, sh_node_get(root, "homeassistant"));
	sh_config_load_hub(ld, sh_node_get(root, "hub"));
	sh_config_load_plugins(ld, sh_node_get(root, "plugins"));
	sh_config_load_log(ld, sh_node_get(root, "log"));
	sh_config_load_devices(ld, sh_node_get(root, "devices"));
	sh_config_load_scenes(ld, sh_node_get(root, "scenes"));
	sh_config_load_on_start(ld, sh_node_get(root, "on_start"));
	sh_config_load_location(ld, sh_node_get(root, "location"));
	sh_config_load_automations(ld, sh_node_get(root, "automations"));
}

static int config_load(const char *path, struct sh_config **out, struct sh_diag *diag,
		       bool keep_invalid);

int sh_config_load(const char *path, struct sh_config **out, struct sh_diag *diag)
{
	return config_load(path, out, diag, false);
}

int sh_config_load_all(const char *path, struct sh_config **out, struct sh_diag *diag)
{
	return config_load(path, out, diag, true);
}

static int config_load(const char *path, struct sh_config **out, struct sh_diag *diag,
		       bool keep_invalid)
{
	if (!diag) {
		/* Errors must be counted to be refused, even when nobody
		 * reads them. */
		struct sh_diag local = {0};
		int r = config_load(path, out, &local, keep_invalid);
		sh_diag_clear(&local);
		return r;
	}
	size_t messages_before = diag->count;
	size_t errors_before = sh_diag_errors(diag);
	struct sh_node_doc *doc;
	int err;

	*out = NULL;
	err = sh_node_doc_load(path, SH_NODE_SUBSTITUTE, &doc, diag);
	if (err)
		return err;

	struct sh_config_impl *impl = calloc(1, sizeof(*impl));
	if (impl)
		impl->refs = 1;
	if (!impl) {
		sh_node_doc_free(doc);
		return -ENOMEM;
	}
	impl->doc = doc;
	struct sh_config *c = &impl->pub;
	c->path = (char *)sh_node_doc_file(doc);
	c->root = sh_node_doc_root(doc);
	set_defaults(c, doc);

	struct sh_loader ld = {.config = c, .doc = doc, .diag = diag};
	load_root(&ld, c->root);
	free(ld.refs);

	if (ld.nomem) {
		sh_diag_add(diag, NULL, "%s: out of memory", path);
		sh_config_free(c);
		return -ENOMEM;
	}
	if (sh_diag_errors(diag) != errors_before) {
		/* The checks run section by section, and cross references
		 * last; a reader fixes a file top to bottom. */
		sh_diag_sort(diag, messages_before, path);
		if (keep_invalid)
			*out = c;
		else
			sh_config_free(c);
		return -EINVAL;
	}
	*out = c;
	return 0;
}

void sh_config_free(struct sh_config *config)
{
	if (!config)
		return;
	struct sh_config_impl *impl = (struct sh_config_impl *)config;
	if (--impl->refs > 0)
		return;
	for (size_t i = 0; i < config->n_scenes; i++)
		sh_config_free_step(config->scenes[i].root);
	sh_config_free_automations(config);
	sh_node_doc_free(impl->doc);
	free(impl);
}

struct sh_config *sh_config_hold(const struct sh_config *config)
{
	struct sh_config_impl *impl = (struct sh_config_impl *)config;
	impl->refs++;
	return &impl->pub;
}

/* --- lookups and names ----------------------------------------------------- */

/* The entry of an array of `n` structs of `size` bytes whose name (a
 * char * at `name_at`) is `name`, or NULL. */
static const void *find_named(const void *items, size_t n, size_t size, size_t name_at,
			      const char *name)
{
	for (size_t i = 0; items && name && i < n; i++) {
		const char *item = (const char *)items + i * size;
		const char *item_name = *(char *const *)(const void *)(item + name_at);
		if (item_name && !strcmp(item_name, name))
			return item;
	}
	return NULL;
}

const struct sh_device_config *sh_config_find_device(const struct sh_config *config, const char *id)
{
	return config ? find_named(config->devices, config->n_devices, sizeof(*config->devices),
				   offsetof(struct sh_device_config, id), id)
		      : NULL;
}

const struct sh_scene_config *sh_config_find_scene(const struct sh_config *config, const char *name)
{
	return config ? find_named(config->scenes, config->n_scenes, sizeof(*config->scenes),
				   offsetof(struct sh_scene_config, name), name)
		      : NULL;
}

const struct sh_automation_config *sh_config_find_automation(const struct sh_config *config,
							     const char *name)
{
	return config ? find_named(config->automations, config->n_automations,
				   sizeof(*config->automations),
				   offsetof(struct sh_automation_config, name), name)
		      : NULL;
}

/* names[value], or `fallback` for a value the table does not have. */
static const char *enum_name(const char *const *names, size_t n, unsigned value,
			     const char *fallback)
{
	return value < n && names[value] ? names[value] : fallback;
}

const char *sh_scene_mode_name(enum sh_scene_mode mode)
{
	static const char *const names[] = {
		[SH_SCENE_SINGLE] = "single",
		[SH_SCENE_RESTART] = "restart",
		[SH_SCENE_QUEUED] = "queued",
		[SH_SCENE_PARALLEL] = "parallel",
	};
	return enum_name(names, ARRAY_SIZE(names), mode, "single");
}

const char *sh_condition_type_name(enum sh_condition_type type)
{
	static const char *const names[] = {
		[SH_CONDITION_DEVICE] = "device", [SH_CONDITION_TIME] = "time",
		[SH_CONDITION_SUN] = "sun",       [SH_CONDITION_ANY] = "any",
		[SH_CONDITION_NOT] = "not",
	};
	return enum_name(names, ARRAY_SIZE(names), type, "?");
}

const char *sh_trigger_type_name(enum sh_trigger_type type)
{
	static const char *const names[] = {
		[SH_TRIGGER_STATE] = "state",
		[SH_TRIGGER_NUMERIC] = "numeric",
		[SH_TRIGGER_AVAILABILITY] = "availability",
		[SH_TRIGGER_MQTT] = "mqtt",
		[SH_TRIGGER_TIME] = "time",
		[SH_TRIGGER_INTERVAL] = "interval",
		[SH_TRIGGER_SUN] = "sun",
		[SH_TRIGGER_ELEVATION] = "elevation",
		[SH_TRIGGER_START] = "start",
		[SH_TRIGGER_EVENT] = "event",
	};
	return enum_name(names, ARRAY_SIZE(names), type, "?");
}
