// SPDX-License-Identifier: MIT
/*
 * The hub: owns the configuration in force, the loaded plugins, the worker
 * pool and every device, and fans events out to listeners (the scene
 * engine, the automations, the MQTT bridge), of which it knows none. Applying a configuration is a two-phase affair: first every
 * device of the new file is created (plugins loaded, options validated, no
 * I/O) so that a bad file changes nothing; then the difference is put in
 * force.
 */
#include "core/device_internal.h"
#include "config/node.h"
#include "util/hash.h"
#include "util/suggest.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Listeners: the bridge, the scene engine, main's status, tests. */
#define HUB_LISTENERS_MAX 16

struct listener {
	sh_listener_fn fn;
	void *ctx;
};

/* One `depends_on` entry: `dependent` depends on `on`. */
struct dep_edge {
	const struct sh_device *on;
	struct sh_device *dependent;
	size_t order; /* the dependent's position in the configuration */
};

struct sh_hub {
	struct ev_loop *loop;
	struct sh_config_ref *current;
	char *plugin_dir_override;
	struct sh_plugin **plugins;
	size_t n_plugins;
	struct sh_worker_pool *workers;
	const struct sh_mqtt_service *mqtt; /* the bridge's, for drivers */
	struct sh_reports *reports;         /* made inside driver callbacks; reports.c */
	struct sh_list peer_watches;        /* host.c's watch_peer subscriptions */

	struct sh_device **devices; /* in configuration order */
	size_t n_devices;
	struct sh_device **index; /* by id; see rebuild_index */
	size_t index_cap;
	struct dep_edge *deps; /* who depends on whom; see dependents_of */
	size_t n_deps;
	bool deps_stale; /* the device list changed since deps was built */

	struct listener listeners[HUB_LISTENERS_MAX];
	size_t n_listeners;

	unsigned slots_taken;
	bool slot_refused; /* a device may be waiting for a slot; see release_slot */
	size_t n_online;   /* kept by sh_hub_availability_changed: asked every loop turn */
};

static void config_unref(struct sh_config_ref *ref)
{
	if (ref && --ref->refs == 0) {
		sh_config_free(ref->config);
		free(ref);
	}
}

int sh_hub_new(struct ev_loop *loop, struct sh_hub **out)
{
	struct sh_hub *hub = calloc(1, sizeof(*hub));
	if (!hub)
		return -ENOMEM;
	hub->loop = loop;
	sh_list_init(&hub->peer_watches);
	int r = sh_reports_new(loop, &hub->reports);
	if (r < 0) {
		free(hub);
		return r;
	}
	*out = hub;
	return 0;
}

struct ev_loop *sh_hub_loop(const struct sh_hub *hub)
{
	return hub->loop;
}

const struct sh_config *sh_hub_config(const struct sh_hub *hub)
{
	return hub->current ? hub->current->config : NULL;
}

void sh_hub_set_plugin_dir(struct sh_hub *hub, const char *dir)
{
	free(hub->plugin_dir_override);
	hub->plugin_dir_override = dir ? strdup(dir) : NULL;
}

struct sh_worker_pool *sh_hub_workers(const struct sh_hub *hub)
{
	return hub->workers;
}

struct sh_reports *sh_hub_reports(const struct sh_hub *hub)
{
	return hub->reports;
}

struct sh_list *sh_hub_peer_watches(struct sh_hub *hub)
{
	return &hub->peer_watches;
}

void sh_hub_set_mqtt_service(struct sh_hub *hub, const struct sh_mqtt_service *service)
{
	hub->mqtt = service;
}

const struct sh_mqtt_service *sh_hub_mqtt_service(const struct sh_hub *hub)
{
	return hub->mqtt;
}

uint64_t sh_hub_now_ms(const struct sh_hub *hub)
{
	return (uint64_t)(ev_now(hub->loop) * 1000.0);
}

size_t sh_hub_device_count(const struct sh_hub *hub)
{
	return hub->n_devices;
}

struct sh_device *sh_hub_device_at(const struct sh_hub *hub, size_t index)
{
	return index < hub->n_devices ? hub->devices[index] : NULL;
}

/* An open-addressing table over `devices`, rebuilt whenever the list
 * changes: every /set and every dependency check looks a device up by id,
 * and a hub may hold thousands. */
static void rebuild_index(struct sh_hub *hub)
{
	size_t cap = 16;
	while (cap < hub->n_devices * 2)
		cap *= 2;
	struct sh_device **index = calloc(cap, sizeof(*index));
	free(hub->index);
	hub->index = index;
	hub->index_cap = index ? cap : 0;
	for (size_t i = 0; index && i < hub->n_devices; i++) {
		size_t slot = (size_t)sh_hash_str(sh_device_id(hub->devices[i])) & (cap - 1);
		while (index[slot])
			slot = (slot + 1) & (cap - 1);
		index[slot] = hub->devices[i];
	}
	hub->deps_stale = true;
}

struct sh_device *sh_hub_find_device(const struct sh_hub *hub, const char *id)
{
	if (!hub->index_cap) { /* no table (out of memory): search the list */
		for (size_t i = 0; i < hub->n_devices; i++)
			if (strcmp(sh_device_id(hub->devices[i]), id) == 0)
				return hub->devices[i];
		return NULL;
	}
	size_t mask = hub->index_cap - 1;
	for (size_t slot = (size_t)sh_hash_str(id) & mask; hub->index[slot];
	     slot = (slot + 1) & mask)
		if (strcmp(sh_device_id(hub->index[slot]), id) == 0)
			return hub->index[slot];
	return NULL;
}

size_t sh_hub_devices_online(const struct sh_hub *hub)
{
	return hub->n_online;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Appends to `buf` the drivers `dir` holds and the nearest to `want`
 * ("; drivers found: exec, mpd, virtual (did you mean 'virtual'?)"), for a
 * driver whose plugin is not there. At most 64 names are listed. */
static void drivers_found(const char *dir, const char *want, char *buf, size_t len)
{
	char names[64][64];
	const char *list[65];
	size_t n = 0, off = strlen(buf);
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && n < 64 && (e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l > 3 && l < sizeof(names[0]) + 3 && !strcmp(e->d_name + l - 3, ".so")) {
			snprintf(names[n], sizeof(names[n]), "%.*s", (int)(l - 3), e->d_name);
			list[n] = names[n];
			n++;
		}
	}
	if (d)
		closedir(d);
	qsort(list, n, sizeof(list[0]), name_cmp); /* readdir's order is the disk's */
	list[n] = NULL;
	off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "; drivers found: ");
	for (size_t i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", list[i]);
	if (!n && off < len)
		off += (size_t)snprintf(buf + off, len - off, "none");
	const char *near = sh_suggest(want, list, NULL);
	if (near && off < len)
		snprintf(buf + off, len - off, " (did you mean '%s'?)", near);
}

/* --- events ---------------------------------------------------------------- */

int sh_hub_listen(struct sh_hub *hub, sh_listener_fn fn, void *ctx)
{
	if (hub->n_listeners >= HUB_LISTENERS_MAX)
		return -ENOSPC;
	hub->listeners[hub->n_listeners++] = (struct listener){fn, ctx};
	return 0;
}

void sh_hub_unlisten(struct sh_hub *hub, sh_listener_fn fn, void *ctx)
{
	for (size_t i = 0; i < hub->n_listeners; i++) {
		if (hub->listeners[i].fn != fn || hub->listeners[i].ctx != ctx)
			continue;
		memmove(&hub->listeners[i], &hub->listeners[i + 1],
			(hub->n_listeners - i - 1) * sizeof(hub->listeners[0]));
		hub->n_listeners--;
		return;
	}
}

void sh_hub_emit(struct sh_hub *hub, const struct sh_event *event)
{
	/* A listener may unlisten itself while being called. */
	struct listener copy[HUB_LISTENERS_MAX];
	size_t n = hub->n_listeners;
	memcpy(copy, hub->listeners, n * sizeof(copy[0]));
	for (size_t i = 0; i < n; i++)
		copy[i].fn(copy[i].ctx, event);
}

void sh_hub_error(struct sh_hub *hub, struct sh_device *dev, const char *topic, const char *fmt,
		  ...)
{
	char reason[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	struct sh_event ev = {.type = SH_EV_ERROR, .device = dev, .topic = topic, .reason = reason};
	sh_hub_emit(hub, &ev);
}

/* --- connection slots and dependencies ------------------------------------- */

bool sh_hub_take_slot(struct sh_hub *hub, struct sh_device *dev)
{
	unsigned cap = hub->current ? hub->current->config->hub.max_connecting : 0;
	if (cap && hub->slots_taken >= cap) {
		hub->slot_refused = true;
		return false;
	}
	hub->slots_taken++;
	return true;
}

void sh_hub_release_slot(struct sh_hub *hub, struct sh_device *dev)
{
	if (hub->slots_taken)
		hub->slots_taken--;
	/* Only a device refused a slot waits for one: with no refusal since
	 * the last scan that found no one waiting, there is nothing to scan.
	 * Each of 5,000 devices coming online releases a slot, and a scan of
	 * them all each time made start-up quadratic. */
	if (!hub->slot_refused)
		return;
	/* Hand the slot to the first device waiting for one. */
	for (size_t i = 0; i < hub->n_devices; i++) {
		if (sh_device_waiting_slot(hub->devices[i])) {
			sh_device_slot_available(hub->devices[i]);
			return;
		}
	}
	hub->slot_refused = false;
}

static bool depends_on(const struct sh_device *dev, const char *id)
{
	const struct sh_device_config *cfg = sh_device_config(dev);
	for (size_t i = 0; i < cfg->n_depends_on; i++)
		if (strcmp(cfg->depends_on[i], id) == 0)
			return true;
	return false;
}

static int edge_cmp(const void *a, const void *b)
{
	const struct dep_edge *x = a, *y = b;
	if (x->on != y->on)
		return (uintptr_t)x->on < (uintptr_t)y->on ? -1 : 1;
	return (x->order > y->order) - (x->order < y->order);
}

/* The edges of every device's depends_on, sorted by dependency and then
 * in configuration order, each pair once; -ENOMEM leaves the old table
 * stale and unused. */
static int build_deps(struct sh_hub *hub)
{
	size_t n = 0, k = 0;
	for (size_t i = 0; i < hub->n_devices; i++)
		n += sh_device_config(hub->devices[i])->n_depends_on;
	struct dep_edge *edges = malloc((n ? n : 1) * sizeof(*edges));
	if (!edges)
		return -ENOMEM;
	for (size_t i = 0; i < hub->n_devices; i++) {
		const struct sh_device_config *cfg = sh_device_config(hub->devices[i]);
		for (size_t j = 0; j < cfg->n_depends_on; j++) {
			const struct sh_device *on = sh_hub_find_device(hub, cfg->depends_on[j]);
			if (on)
				edges[k++] = (struct dep_edge){on, hub->devices[i], i};
		}
	}
	qsort(edges, k, sizeof(*edges), edge_cmp);
	n = 0; /* a device listing one dependency twice hears of it once */
	for (size_t i = 0; i < k; i++)
		if (!n || edges[n - 1].on != edges[i].on ||
		    edges[n - 1].dependent != edges[i].dependent)
			edges[n++] = edges[i];
	free(hub->deps);
	hub->deps = edges;
	hub->n_deps = n;
	hub->deps_stale = false;
	return 0;
}

/* The first of the edges whose dependency is `dev` (their count in `n`),
 * or NULL when the table cannot be built. Built at the first availability
 * change after the device list changed, not on every change: a scan of
 * every device for each of 5,000 devices coming online made start-up
 * quadratic. */
static const struct dep_edge *dependents_of(struct sh_hub *hub, const struct sh_device *dev,
					    size_t *n)
{
	*n = 0;
	if (hub->deps_stale && build_deps(hub) < 0)
		return NULL;
	size_t lo = 0, hi = hub->n_deps;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((uintptr_t)hub->deps[mid].on < (uintptr_t)dev)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo + *n < hub->n_deps && hub->deps[lo + *n].on == dev)
		(*n)++;
	return hub->deps + lo;
}

void sh_hub_availability_changed(struct sh_hub *hub, struct sh_device *dev)
{
	const char *id = sh_device_id(dev);
	if (sh_device_online(dev))
		hub->n_online++;
	else if (hub->n_online)
		hub->n_online--;
	size_t n;
	const struct dep_edge *edges = dependents_of(hub, dev, &n);
	if (!edges) { /* out of memory: the scan the table saves */
		for (size_t i = 0; i < hub->n_devices; i++)
			if (depends_on(hub->devices[i], id))
				sh_device_dependency_changed(hub->devices[i]);
		return;
	}
	/* The table is not rebuilt while this runs: only a new device list
	 * makes it stale, and dependents going offline do not change that. */
	for (size_t i = 0; i < n; i++)
		sh_device_dependency_changed(edges[i].dependent);
}

/* --- plugins ---------------------------------------------------------------- */

static const struct sh_plugin *find_plugin(struct sh_plugin **plugins, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(plugins[i]->name, name) == 0)
			return plugins[i];
	return NULL;
}

/* A plugin directory that cannot be searched is one error, at plugins.dir
 * when the file set it (at the first driver that needed it when the
 * default is in force; a --plugin-dir has no position), not one per
 * driver that then cannot be found in it. */
static void report_plugin_dir(const struct sh_hub *hub, const struct sh_config *config,
			      const struct sh_device_config *first, const char *dir, int err,
			      struct sh_diag *diag)
{
	const struct sh_node *set = sh_node_get(sh_node_get(config->root, "plugins"), "dir");
	if (hub->plugin_dir_override)
		sh_diag_add(diag, NULL, "--plugin-dir %s: cannot load plugins from it: %s", dir,
			    strerror(-err));
	else if (set)
		sh_diag_add(diag, set, "plugins.dir: cannot load plugins from %s: %s", dir,
			    strerror(-err));
	else
		sh_diag_add(diag, sh_node_get(first->node, "driver"),
			    "plugins.dir (default %s): cannot load plugins from it: %s", dir,
			    strerror(-err));
}

/* Makes sure every driver the configuration names is loaded; errors carry
 * the position of the first device that asked for the missing one. */
static int load_plugins(struct sh_hub *hub, const struct sh_config *config, struct sh_diag *diag)
{
	const char *dir = hub->plugin_dir_override ? hub->plugin_dir_override : config->plugin_dir;
	int result = 0;
	bool dir_reported = false;
	for (size_t i = 0; i < config->n_devices; i++) {
		const struct sh_device_config *dc = &config->devices[i];
		/* No driver: a configuration with errors, being checked. */
		if (!dc->driver || find_plugin(hub->plugins, hub->n_plugins, dc->driver))
			continue;
		bool reported = false;
		for (size_t j = 0; j < i; j++)
			if (config->devices[j].driver &&
			    strcmp(config->devices[j].driver, dc->driver) == 0)
				reported = true;
		if (reported)
			continue;
		struct sh_plugin *p;
		char reason[768];
		int r = sh_plugin_open(dir, dc->driver, &p, reason, sizeof(reason));
		if (r < 0) {
			result = r;
			if (dir_reported)
				continue;
			int dir_err = sh_plugin_dir_check(dir);
			if (dir_err < 0) {
				report_plugin_dir(hub, config, dc, dir, dir_err, diag);
				dir_reported = true;
				continue;
			}
			/* Every message about the plugin names the driver, which
			 * must not show when it came from a secret. */
			if (sh_node_is_secret(sh_node_get(dc->node, "driver")))
				snprintf(reason, sizeof(reason),
					 "driver (secret): cannot load its plugin");
			else if (r == -ENOENT)
				drivers_found(dir, dc->driver, reason, sizeof(reason));
			/* At the driver's name, the word to fix. */
			const struct sh_node *at = sh_node_get(dc->node, "driver");
			sh_diag_add(diag, at ? at : dc->node, "device %s: %s", dc->id, reason);
			continue;
		}
		struct sh_plugin **grown =
			realloc(hub->plugins, (hub->n_plugins + 1) * sizeof(*grown));
		if (!grown) {
			sh_plugin_close(p);
			return -ENOMEM;
		}
		hub->plugins = grown;
		hub->plugins[hub->n_plugins++] = p;
	}
	return result;
}

/* --- applying a configuration --------------------------------------------- */

static const struct sh_device_config *find_device_config(const struct sh_config *config,
							 const char *id)
{
	for (size_t i = 0; i < config->n_devices; i++)
		if (strcmp(config->devices[i].id, id) == 0)
			return &config->devices[i];
	return NULL;
}

static void destroy_device(struct sh_device *dev)
{
	struct sh_config_ref *ref = sh_device_config_ref(dev);
	sh_device_destroy(dev);
	config_unref(ref);
}

/*
 * Phase one: a device for every entry of `config` that is new or changed
 * (unchanged ones are NULL in `made`: the running device is kept). Nothing
 * is connected and the hub's devices are untouched.
 */
static int create_devices(struct sh_hub *hub, struct sh_config_ref *ref, struct sh_diag *diag,
			  struct sh_device **made)
{
	const struct sh_config *config = ref->config;
	int result = 0;
	for (size_t i = 0; i < config->n_devices; i++) {
		const struct sh_device_config *dc = &config->devices[i];
		if (!dc->driver || !dc->kind) {
			result = -EINVAL;                        /* the configuration said why */
			sh_device_report_unused(dc, NULL, diag); /* no driver to ask */
			continue;
		}
		struct sh_device *old = sh_hub_find_device(hub, dc->id);
		if (old && sh_device_config(old)->fingerprint && dc->fingerprint &&
		    strcmp(sh_device_config(old)->fingerprint, dc->fingerprint) == 0)
			continue;
		const struct sh_plugin *plugin =
			find_plugin(hub->plugins, hub->n_plugins, dc->driver);
		if (!plugin) {
			result = -EINVAL;                        /* reported by load_plugins */
			sh_device_report_unused(dc, NULL, diag); /* no driver to ask */
			continue;
		}
		if (!sh_plugin_drives(plugin, dc->kind)) {
			sh_diag_add(diag, dc->node, "device %s: driver %s cannot drive a %s",
				    dc->id, dc->driver, dc->kind);
			sh_device_report_unused(dc, NULL, diag); /* no driver to ask */
			result = -EINVAL;
			continue;
		}
		int r = sh_device_create(hub, ref, dc, plugin, diag, &made[i]);
		if (r < 0)
			result = r;
	}
	return result;
}

int sh_hub_apply(struct sh_hub *hub, struct sh_config *config, bool check_only,
		 struct sh_diag *diag)
{
	if (!hub->workers) {
		unsigned threads = config->hub.workers ? config->hub.workers : 2;
		int r = sh_worker_pool_new(hub->loop, threads, SH_WORK_QUEUE_LIMIT, &hub->workers);
		if (r < 0)
			return r;
	}
	struct sh_config_ref *ref = calloc(1, sizeof(*ref));
	struct sh_device **made = calloc(config->n_devices + 1, sizeof(*made));
	if (!ref || !made) {
		free(ref);
		free(made);
		return -ENOMEM;
	}
	ref->config = config;
	ref->refs = 1; /* ours while applying */

	int r = load_plugins(hub, config, diag);
	int r2 = create_devices(hub, ref, diag, made);
	if (r == 0)
		r = r2;
	if (r < 0 || sh_diag_errors(diag) || check_only) {
		for (size_t i = 0; i < config->n_devices; i++)
			if (made[i])
				destroy_device(made[i]);
		free(made);
		/* The caller keeps the configuration. */
		ref->config = NULL;
		free(ref);
		return r < 0 ? r : (sh_diag_errors(diag) ? -EINVAL : 0);
	}

	/* Phase two: the new set of devices in configuration order. Removed
	 * devices go first so their topics are cleared before new ones appear. */
	struct sh_device **next = calloc(config->n_devices + 1, sizeof(*next));
	if (!next) {
		for (size_t i = 0; i < config->n_devices; i++)
			destroy_device(made[i]);
		free(made);
		ref->config = NULL;
		free(ref);
		return -ENOMEM;
	}
	for (size_t i = 0; i < hub->n_devices;) {
		struct sh_device *old = hub->devices[i];
		const struct sh_device_config *dc = find_device_config(config, sh_device_id(old));
		bool kept = dc && !made[dc - config->devices];
		if (kept) {
			i++;
			continue;
		}
		/* Offline first, while dependents can still see it, then gone:
		 * listeners clear its topics after its last availability. */
		sh_device_stop(old);
		struct sh_event ev = {.type = SH_EV_DEVICE_REMOVED, .device = old};
		sh_hub_emit(hub, &ev);
		memmove(&hub->devices[i], &hub->devices[i + 1],
			(hub->n_devices - i - 1) * sizeof(hub->devices[0]));
		hub->n_devices--;
		rebuild_index(hub);
		destroy_device(old);
	}
	for (size_t i = 0; i < config->n_devices; i++) {
		if (made[i]) {
			next[i] = made[i];
			continue;
		}
		next[i] = sh_hub_find_device(hub, config->devices[i].id);
	}
	/* Kept devices now point at the new configuration's identical entry,
	 * but keep a reference to the one their driver was created from. */
	free(hub->devices);
	hub->devices = next;
	hub->n_devices = config->n_devices;
	rebuild_index(hub);
	free(made);

	struct sh_config_ref *previous = hub->current;
	hub->current = ref; /* the hub's reference from now on */
	/* Listeners that point into the old configuration (the scene engine)
	 * hold a reference of their own until SH_EV_CONFIG_APPLIED. */
	config_unref(previous);

	for (size_t i = 0; i < hub->n_devices; i++) {
		struct sh_device *dev = hub->devices[i];
		if (sh_device_config_ref(dev) == ref && !sh_device_started(dev)) {
			struct sh_event ev = {.type = SH_EV_DEVICE_ADDED, .device = dev};
			sh_hub_emit(hub, &ev);
		}
	}
	/* Start (or re-check the dependencies of) every device only now,
	 * when all of them exist, so depends_on sees the whole set. */
	for (size_t i = 0; i < hub->n_devices; i++) {
		struct sh_device *dev = hub->devices[i];
		if (!sh_device_started(dev))
			sh_device_start(dev);
		else
			sh_device_dependency_changed(dev);
	}
	sh_host_peers_applied(hub);
	struct sh_event applied = {.type = SH_EV_CONFIG_APPLIED};
	sh_hub_emit(hub, &applied);
	return 0;
}

int sh_hub_check(struct sh_hub *hub, struct sh_config *config, struct sh_diag *diag)
{
	return sh_hub_apply(hub, config, true, diag);
}

void sh_hub_stop(struct sh_hub *hub)
{
	for (size_t i = 0; i < hub->n_devices; i++)
		sh_device_stop(hub->devices[i]);
}

void sh_hub_free(struct sh_hub *hub)
{
	if (!hub)
		return;
	/* Everything offline first, so that no device is told about a
	 * dependency that was already freed. */
	sh_hub_stop(hub);
	for (size_t i = 0; i < hub->n_devices; i++)
		destroy_device(hub->devices[i]);
	free(hub->devices);
	free(hub->index);
	free(hub->deps);
	hub->n_devices = 0;
	sh_reports_free(hub->reports);
	/* Jobs still running may belong to drivers: join before unloading. */
	sh_worker_pool_free(hub->workers);
	for (size_t i = 0; i < hub->n_plugins; i++)
		sh_plugin_close(hub->plugins[i]);
	free(hub->plugins);
	config_unref(hub->current);
	free(hub->plugin_dir_override);
	free(hub);
}
