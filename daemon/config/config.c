/* SPDX-License-Identifier: MIT */
/*
 * The configuration loader: checks the node tree of the YAML file (see
 * node.c) against the schema of every section (mqtt, homeassistant, hub,
 * plugins, log, devices, on_start; scenes are in config_scene.c) and fills
 * in struct sh_config with the values or their defaults.
 *
 * Checking never stops at the first mistake: each one is reported at its
 * position and the rest of the file is still checked, so a user fixes a
 * file in one go. Cross references (depends_on, scenes, on_start) are
 * resolved once every device and scene has been read, so order in the
 * file does not matter.
 *
 * Owns the struct sh_config it returns; its strings and arrays live in the
 * node document's arena (freed together), only the cJSON objects of scene
 * steps are freed one by one.
 */
#include "config/config_internal.h"
#include "kinds/kind.h"
#include "util/log.h"
#include "util/suggest.h"
#include "util/worker.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SMARTHUB_DEFAULT_PLUGIN_DIR
#define SMARTHUB_DEFAULT_PLUGIN_DIR "/usr/local/lib/smarthub/plugins"
#endif

/* A password file is a line of text, not a document. */
#define SH_PASSWORD_FILE_MAX 4096u

/* --- helpers shared with config_scene.c --------------------------------- */

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

/* --- typed fields of a section ----------------------------------------- */

/* "section.key" for messages. */
static const char *field_name(char *buf, size_t size, const char *section, const char *key)
{
	sh_loader_name(buf, size, "%s.%s", section, key);
	return buf;
}

static void get_string(struct sh_loader *ld, const struct sh_node *map, const char *section,
		       const char *key, char **out)
{
	char name[SH_CONFIG_NAME_MAX];
	sh_loader_string(ld, sh_node_get(map, key), field_name(name, sizeof(name), section, key),
			 out);
}

static void get_bool(struct sh_loader *ld, const struct sh_node *map, const char *section,
		     const char *key, bool *out)
{
	char name[SH_CONFIG_NAME_MAX];
	const struct sh_node *n = sh_node_get(map, key);
	if (n && !sh_node_is_null(n))
		sh_node_read_bool(n, field_name(name, sizeof(name), section, key), ld->diag, out);
}

static void get_uint(struct sh_loader *ld, const struct sh_node *map, const char *section,
		     const char *key, long long min, long long max, unsigned *out)
{
	char name[SH_CONFIG_NAME_MAX];
	const struct sh_node *n = sh_node_get(map, key);
	long long v;
	if (n && !sh_node_is_null(n) &&
	    sh_node_read_ll(n, field_name(name, sizeof(name), section, key), min, max, ld->diag,
			    &v) == 0)
		*out = (unsigned)v;
}

static void get_size(struct sh_loader *ld, const struct sh_node *map, const char *section,
		     const char *key, long long min, long long max, size_t *out)
{
	char name[SH_CONFIG_NAME_MAX];
	const struct sh_node *n = sh_node_get(map, key);
	long long v;
	if (n && !sh_node_is_null(n) &&
	    sh_node_read_ll(n, field_name(name, sizeof(name), section, key), min, max, ld->diag,
			    &v) == 0)
		*out = (size_t)v;
}

static void get_double(struct sh_loader *ld, const struct sh_node *map, const char *section,
		       const char *key, double min, double max, double *out)
{
	char name[SH_CONFIG_NAME_MAX];
	const struct sh_node *n = sh_node_get(map, key);
	if (n && !sh_node_is_null(n))
		sh_node_read_double(n, field_name(name, sizeof(name), section, key), min, max,
				    ld->diag, out);
}

static void get_duration(struct sh_loader *ld, const struct sh_node *map, const char *section,
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
static char *resolve_path(struct sh_loader *ld, const char *path)
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

/* An MQTT topic (or prefix) we publish under: levels separated by '/',
 * none empty, no wildcards. */
static bool topic_valid(const char *t)
{
	if (!t || !*t || strpbrk(t, "+#") || t[0] == '/' || t[strlen(t) - 1] == '/')
		return false;
	return !strstr(t, "//");
}

static void check_topic(struct sh_loader *ld, const struct sh_node *map, const char *section,
			const char *key, const char *value)
{
	const struct sh_node *n = sh_node_get(map, key);
	if (n && value && !topic_valid(value))
		sh_loader_error(ld, n,
				"%s.%s must be an MQTT topic: levels separated by '/', none "
				"empty, no '+' or '#'",
				section, key);
	else if (n && value && strlen(value) > SH_CONFIG_TOPIC_MAX)
		sh_loader_error(ld, n, "%s.%s is longer than %u bytes", section, key,
				SH_CONFIG_TOPIC_MAX);
}

static void load_backoff(struct sh_loader *ld, const struct sh_node *node, const char *name,
			 struct sh_backoff *b)
{
	static const char *const keys[] = {"initial", "max", "factor", "jitter", NULL};

	if (!sh_loader_expect_map(ld, node, name))
		return;
	sh_loader_check_keys(ld, node, name, keys);
	get_duration(ld, node, name, "initial", &b->initial_ms);
	get_duration(ld, node, name, "max", &b->max_ms);
	get_double(ld, node, name, "factor", 1.0, 10.0, &b->factor);
	get_double(ld, node, name, "jitter", 0.0, 1.0, &b->jitter);
	if (b->initial_ms > b->max_ms)
		sh_loader_error(ld, node, "%s.initial must not be longer than %s.max", name, name);
}

/* --- mqtt ------------------------------------------------------------------- */

static bool url_valid(const char *url)
{
	static const char *const schemes[] = {"tcp://", "mqtt://", "ssl://", "mqtts://",
					      "ws://",  "wss://",  NULL};
	for (size_t i = 0; schemes[i]; i++) {
		size_t n = strlen(schemes[i]);
		if (!strncmp(url, schemes[i], n))
			return url[n] != '\0' && url[n] != ':' && url[n] != '/';
	}
	return false;
}

static int read_password_file(const char *path, char **out, struct sh_node_doc *doc)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	struct stat st;
	if (fstat(fileno(f), &st) == 0)
		sh_node_warn_if_exposed(path, st.st_mode);
	/* No stdio buffer: it would be freed with the password in it. The
	 * arena that holds it instead is wiped when the config is freed. */
	setvbuf(f, NULL, _IONBF, 0);
	char *buf = sh_node_doc_alloc(doc, SH_PASSWORD_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	size_t n = fread(buf, 1, SH_PASSWORD_FILE_MAX + 1, f);
	int err = ferror(f) ? -EIO : 0;
	fclose(f);
	if (err)
		return err;
	if (n > SH_PASSWORD_FILE_MAX)
		return -EFBIG;
	buf[n] = '\0';
	/* Files written with echo or an editor end in a newline that is not
	 * part of the password. */
	if (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n && buf[n - 1] == '\r')
		buf[--n] = '\0';
	*out = buf;
	return 0;
}

static void check_readable(struct sh_loader *ld, const struct sh_node *map, const char *key,
			   char **path)
{
	if (!*path)
		return;
	*path = resolve_path(ld, *path);
	if (access(*path, R_OK) != 0)
		sh_loader_error(ld, sh_node_get(map, key), "mqtt.%s: cannot read '%s': %s", key,
				*path, strerror(errno));
}

static void load_mqtt(struct sh_loader *ld, const struct sh_node *map)
{
	static const char *const keys[] = {
		"url",         "base_topic",          "client_id",   "username",
		"password",    "password_file",       "ca_file",     "cert_file",
		"key_file",    "keepalive",           "qos",         "retain",
		"max_payload", "inbox_limit",         "inbox_bytes", "events_per_second",
		"reconnect",   "requests_per_minute", NULL};
	struct sh_mqtt_config *m = &ld->config->mqtt;

	if (!sh_loader_expect_map(ld, map, "mqtt"))
		return;
	sh_loader_check_keys(ld, map, "mqtt", keys);
	get_string(ld, map, "mqtt", "url", &m->url);
	if (!url_valid(m->url))
		sh_loader_error(ld, sh_node_get(map, "url"),
				"mqtt.url must look like tcp://host:port (or mqtt://, ssl://, "
				"mqtts://, ws://)");
	else if (!strncmp(m->url, "wss://", 6))
		/* Paho's TLS options are applied to ssl:// only; refused here
		 * rather than failing at start. */
		sh_loader_error(ld, sh_node_get(map, "url"),
				"mqtt.url: wss:// (MQTT over TLS WebSockets) is not supported; "
				"use mqtts://host:8883, or ws:// on a trusted network");
	get_string(ld, map, "mqtt", "base_topic", &m->base_topic);
	check_topic(ld, map, "mqtt", "base_topic", m->base_topic);
	get_string(ld, map, "mqtt", "client_id", &m->client_id);
	if (!*m->client_id)
		sh_loader_error(ld, sh_node_get(map, "client_id"),
				"mqtt.client_id must not be empty");
	get_string(ld, map, "mqtt", "username", &m->username);
	get_string(ld, map, "mqtt", "password", &m->password);

	const struct sh_node *pf = sh_node_get(map, "password_file");
	char *pf_path = NULL;
	get_string(ld, map, "mqtt", "password_file", &pf_path);
	if (pf_path && m->password) {
		sh_loader_key_error(ld, pf,
				    "mqtt.password and mqtt.password_file cannot both be given");
	} else if (pf_path) {
		pf_path = resolve_path(ld, pf_path);
		int err = read_password_file(pf_path, &m->password, ld->doc);
		if (err == -EFBIG)
			sh_loader_error(ld, pf, "mqtt.password_file: '%s' is larger than %u bytes",
					pf_path, SH_PASSWORD_FILE_MAX);
		else if (err)
			sh_loader_error(ld, pf, "mqtt.password_file: cannot read '%s': %s", pf_path,
					strerror(-err));
	}

	get_string(ld, map, "mqtt", "ca_file", &m->ca_file);
	get_string(ld, map, "mqtt", "cert_file", &m->cert_file);
	get_string(ld, map, "mqtt", "key_file", &m->key_file);
	check_readable(ld, map, "ca_file", &m->ca_file);
	check_readable(ld, map, "cert_file", &m->cert_file);
	check_readable(ld, map, "key_file", &m->key_file);
	if (!m->cert_file != !m->key_file)
		sh_loader_key_error(ld, sh_node_get(map, m->cert_file ? "cert_file" : "key_file"),
				    "mqtt.cert_file and mqtt.key_file must be given together");

	get_uint(ld, map, "mqtt", "keepalive", 0, 65535, &m->keepalive_s);
	unsigned qos = (unsigned)m->qos;
	get_uint(ld, map, "mqtt", "qos", 0, 1, &qos);
	m->qos = (int)qos;
	get_bool(ld, map, "mqtt", "retain", &m->retain);
	get_size(ld, map, "mqtt", "max_payload", 256, 16 << 20, &m->max_payload);
	get_size(ld, map, "mqtt", "inbox_limit", 16, 1 << 20, &m->inbox_limit);
	get_size(ld, map, "mqtt", "inbox_bytes", 64 << 10, 1 << 30, &m->inbox_bytes);
	get_uint(ld, map, "mqtt", "events_per_second", 1, 10000, &m->events_per_second);
	get_uint(ld, map, "mqtt", "requests_per_minute", 1, 10000, &m->requests_per_minute);
	load_backoff(ld, sh_node_get(map, "reconnect"), "mqtt.reconnect", &m->reconnect);
}

/* --- homeassistant, hub, plugins, log ----------------------------------- */

static void load_homeassistant(struct sh_loader *ld, const struct sh_node *map)
{
	static const char *const keys[] = {"discovery", "prefix", "status_topic", NULL};
	struct sh_homeassistant_config *ha = &ld->config->homeassistant;

	if (sh_loader_expect_map(ld, map, "homeassistant")) {
		sh_loader_check_keys(ld, map, "homeassistant", keys);
		get_bool(ld, map, "homeassistant", "discovery", &ha->discovery);
		get_string(ld, map, "homeassistant", "prefix", &ha->prefix);
		check_topic(ld, map, "homeassistant", "prefix", ha->prefix);
		get_string(ld, map, "homeassistant", "status_topic", &ha->status_topic);
		check_topic(ld, map, "homeassistant", "status_topic", ha->status_topic);
	}
	if (!ha->status_topic) {
		size_t n = strlen(ha->prefix) + sizeof("/status");
		ha->status_topic = sh_node_doc_alloc(ld->doc, n);
		if (ha->status_topic)
			snprintf(ha->status_topic, n, "%s/status", ha->prefix);
		else
			ld->nomem = true;
	}
}

static void load_hub(struct sh_loader *ld, const struct sh_node *map)
{
	static const char *const keys[] = {"max_connecting", "workers", NULL};

	if (!sh_loader_expect_map(ld, map, "hub"))
		return;
	sh_loader_check_keys(ld, map, "hub", keys);
	get_uint(ld, map, "hub", "max_connecting", 0, 10000, &ld->config->hub.max_connecting);
	get_uint(ld, map, "hub", "workers", 1, SH_WORKER_THREADS_MAX, &ld->config->hub.workers);
}

static void load_plugins(struct sh_loader *ld, const struct sh_node *map)
{
	static const char *const keys[] = {"dir", NULL};

	if (!sh_loader_expect_map(ld, map, "plugins"))
		return;
	sh_loader_check_keys(ld, map, "plugins", keys);
	char *dir = NULL;
	get_string(ld, map, "plugins", "dir", &dir);
	if (dir)
		ld->config->plugin_dir = resolve_path(ld, dir);
}

static void load_log(struct sh_loader *ld, const struct sh_node *map)
{
	static const char *const keys[] = {"level", NULL};

	if (!sh_loader_expect_map(ld, map, "log"))
		return;
	sh_loader_check_keys(ld, map, "log", keys);
	const struct sh_node *n = sh_node_get(map, "level");
	char *level = NULL;
	if (!sh_loader_string(ld, n, "log.level", &level) || !level)
		return;
	if (sh_log_level_parse(level, &ld->config->log_level) != 0)
		sh_loader_error(ld, n,
				"log.level must be one of err, warning, notice, info, debug");
}

/* --- devices -------------------------------------------------------------- */

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
	if (!n || sh_node_is_null(n))
		return;
	const struct sh_node *const *entries = (const struct sh_node *const *)&n;
	size_t count = 1;
	if (n->type == SH_NODE_SEQ) {
		entries = (const struct sh_node *const *)n->items;
		count = n->n_items;
	} else if (n->type != SH_NODE_SCALAR) {
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
	get_string(ld, node, prefix, "driver", &d->driver);
	if (!drv || sh_node_is_null(drv))
		sh_loader_key_error(ld, node, "missing key 'driver' in %s", prefix);
	else if (d->driver && !driver_name_valid(d->driver)) {
		sh_loader_error(ld, drv,
				"%s.driver must be a plugin name (letters, digits, '_', '-')",
				prefix);
		d->driver = NULL; /* no plugin to look for */
	}

	const struct sh_node *kind = sh_node_get(node, "kind");
	get_string(ld, node, prefix, "kind", &d->kind);
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

	get_string(ld, node, prefix, "name", &d->name);
	load_depends_on(ld, d, sh_node_get(node, "depends_on"), prefix, dn);
	get_duration(ld, node, prefix, "connect_timeout", &d->connect_timeout_ms);
	get_duration(ld, node, prefix, "command_timeout", &d->command_timeout_ms);
	get_duration(ld, node, prefix, "min_interval", &d->min_interval_ms);
	get_size(ld, node, prefix, "queue_limit", 1, SH_QUEUE_LIMIT_MAX, &d->queue_limit);
	get_bool(ld, node, prefix, "queue_while_offline", &d->queue_while_offline);
	/* What a sensor's value is (discovery shows it; any driver). */
	get_string(ld, node, prefix, "unit", &d->unit);
	get_string(ld, node, prefix, "device_class", &d->device_class);
	get_string(ld, node, prefix, "state_class", &d->state_class);
	load_backoff(ld, sh_node_get(node, "backoff"),
		     field_name(name, sizeof(name), prefix, "backoff"), &d->backoff);
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
			sh_loader_error(ld, dn[at].nodes[i], "%s", text);
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
				sh_loader_error(
					ld, dn[i].nodes[k],
					"devices.%.60s.depends_on: unknown device %s", d->id,
					sh_node_quote(dn[i].nodes[k], quoted, sizeof(quoted)));
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

static char *fingerprint(struct sh_loader *ld, const struct sh_node *node)
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

static void load_devices(struct sh_loader *ld, const struct sh_node *map)
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
		d->fingerprint = fingerprint(ld, map->items[i]);
	}
	check_depends_on(ld, dn);
	free(dn);
}

/* --- on_start ------------------------------------------------------------- */

static void load_on_start(struct sh_loader *ld, const struct sh_node *n)
{
	struct sh_config *c = ld->config;

	if (!n || sh_node_is_null(n))
		return;
	const struct sh_node *const *entries = (const struct sh_node *const *)&n;
	size_t count = 1;
	if (n->type == SH_NODE_SEQ) {
		entries = (const struct sh_node *const *)n->items;
		count = n->n_items;
	} else if (n->type != SH_NODE_SCALAR) {
		sh_loader_error(ld, n, "on_start must be a list of scene names");
		return;
	}
	c->on_start = sh_node_doc_alloc(ld->doc, (count + 1) * sizeof(*c->on_start));
	if (!c->on_start) {
		ld->nomem = true;
		return;
	}
	for (size_t i = 0; i < count; i++) {
		const struct sh_node *e = entries[i];
		char quoted[64];
		if (e->type != SH_NODE_SCALAR)
			sh_loader_error(ld, e, "on_start entries must be scene names");
		else if (!sh_config_find_scene(c, e->value))
			sh_loader_error(ld, e, "on_start: unknown scene %s",
					sh_node_quote(e, quoted, sizeof(quoted)));
		else
			c->on_start[c->n_on_start++] = (char *)e->value;
	}
}

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
	load_mqtt(ld, sh_node_get(root, "mqtt"));
	load_homeassistant(ld, sh_node_get(root, "homeassistant"));
	load_hub(ld, sh_node_get(root, "hub"));
	load_plugins(ld, sh_node_get(root, "plugins"));
	load_log(ld, sh_node_get(root, "log"));
	load_devices(ld, sh_node_get(root, "devices"));
	sh_config_load_scenes(ld, sh_node_get(root, "scenes"));
	load_on_start(ld, sh_node_get(root, "on_start"));
	sh_config_load_location(ld, sh_node_get(root, "location"));
	sh_config_load_automations(ld, sh_node_get(root, "automations"));
}

static int config_load(const char *path, struct sh_config **out, struct sh_diag *diag,
		       bool keep_invalid);

int sh_config_load(const char *path, struct sh_config **out, struct sh_diag *diag)
{
	if (diag)
		return config_load(path, out, diag, false);
	/* Errors must be counted to be refused, even when nobody reads them. */
	struct sh_diag local = {0};
	int r = config_load(path, out, &local, false);
	sh_diag_clear(&local);
	return r;
}

int sh_config_load_all(const char *path, struct sh_config **out, struct sh_diag *diag)
{
	return config_load(path, out, diag, true);
}

static int config_load(const char *path, struct sh_config **out, struct sh_diag *diag,
		       bool keep_invalid)
{
	size_t messages_before = diag ? diag->count : 0;
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

const struct sh_device_config *sh_config_find_device(const struct sh_config *config, const char *id)
{
	for (size_t i = 0; config && id && i < config->n_devices; i++) {
		if (!strcmp(config->devices[i].id, id))
			return &config->devices[i];
	}
	return NULL;
}

const struct sh_scene_config *sh_config_find_scene(const struct sh_config *config, const char *name)
{
	for (size_t i = 0; config && name && i < config->n_scenes; i++) {
		if (!strcmp(config->scenes[i].name, name))
			return &config->scenes[i];
	}
	return NULL;
}

/* --- the summary of --check-config --------------------------------------- */

const char *sh_scene_mode_name(enum sh_scene_mode mode)
{
	switch (mode) {
	case SH_SCENE_SINGLE:
		return "single";
	case SH_SCENE_RESTART:
		return "restart";
	case SH_SCENE_QUEUED:
		return "queued";
	case SH_SCENE_PARALLEL:
		return "parallel";
	}
	return "single";
}

/* `value`, unless `section.key` of the file was written as a !secret:
 * anything may be a secret, and the summary is shown to whoever runs
 * --check-config. */
static const char *shown(const struct sh_node *section, const char *key, const char *value)
{
	return sh_node_is_secret(sh_node_get(section, key)) ? "(secret)" : value;
}

void sh_config_print_summary(const struct sh_config *c, FILE *out)
{
	const struct sh_node *mqtt = sh_node_get(c->root, "mqtt");
	const struct sh_node *ha = sh_node_get(c->root, "homeassistant");
	const struct sh_node *plugins = sh_node_get(c->root, "plugins");

	fprintf(out, "configuration %s is valid\n", c->path);
	fprintf(out, "mqtt: %s (base topic %s, ", shown(mqtt, "url", c->mqtt.url),
		shown(mqtt, "base_topic", c->mqtt.base_topic));
	if (c->mqtt.username)
		fprintf(out, "user %s, ", shown(mqtt, "username", c->mqtt.username));
	else
		fprintf(out, "no user, ");
	/* Whether there is a password, never what it is. */
	fprintf(out, "%s", c->mqtt.password ? "password set" : "no password");
	if (c->mqtt.ca_file || c->mqtt.cert_file)
		fprintf(out, ", TLS files set");
	fprintf(out, ")\n");
	if (c->homeassistant.discovery)
		fprintf(out, "homeassistant: discovery under %s\n",
			shown(ha, "prefix", c->homeassistant.prefix));
	else
		fprintf(out, "homeassistant: discovery off\n");
	fprintf(out, "plugins: %s\n", shown(plugins, "dir", c->plugin_dir));

	fprintf(out, "devices: %zu", c->n_devices);
	int id_w = 2, kind_w = 4;
	bool first = true;
	for (size_t k = 0; sh_kinds[k]; k++) {
		size_t n = 0;
		for (size_t i = 0; i < c->n_devices; i++)
			n += c->devices[i].kind && !strcmp(c->devices[i].kind, sh_kinds[k]);
		if (n) {
			fprintf(out, "%s%s %zu", first ? " (" : ", ", sh_kinds[k], n);
			first = false;
		}
	}
	fprintf(out, "%s\n", first ? "" : ")");
	for (size_t i = 0; i < c->n_devices; i++) {
		int w = (int)strlen(c->devices[i].id);
		id_w = w > id_w ? w : id_w;
		w = (int)strlen(c->devices[i].kind ? c->devices[i].kind : "?");
		kind_w = w > kind_w ? w : kind_w;
	}
	for (size_t i = 0; i < c->n_devices; i++) {
		const struct sh_device_config *d = &c->devices[i];
		fprintf(out, "  %-*s  %-*s  %s", id_w, d->id, kind_w, d->kind ? d->kind : "?",
			shown(d->node, "driver", d->driver ? d->driver : "?"));
		for (size_t k = 0; k < d->n_depends_on; k++)
			fprintf(out, "%s%s", k ? ", " : "  (depends on ", d->depends_on[k]);
		fprintf(out, "%s\n", d->n_depends_on ? ")" : "");
	}

	fprintf(out, "scenes: %zu\n", c->n_scenes);
	for (size_t i = 0; i < c->n_scenes; i++) {
		const struct sh_scene_config *s = &c->scenes[i];
		size_t steps = s->root ? s->root->n_children : 0;
		fprintf(out, "  %s (%s, %zu step%s)\n", s->name, sh_scene_mode_name(s->mode), steps,
			steps == 1 ? "" : "s");
	}
	if (c->n_automations)
		fprintf(out, "automations: %zu\n", c->n_automations);
	for (size_t i = 0; i < c->n_automations; i++) {
		const struct sh_automation_config *a = &c->automations[i];
		fprintf(out, "  %s (%s, %zu trigger%s, %zu condition%s)\n", a->name,
			sh_scene_mode_name(a->run.mode), a->n_triggers,
			a->n_triggers == 1 ? "" : "s", a->n_conditions,
			a->n_conditions == 1 ? "" : "s");
	}
	if (c->n_on_start) {
		fprintf(out, "on start:");
		for (size_t i = 0; i < c->n_on_start; i++)
			fprintf(out, "%s%s", i ? ", " : " ", c->on_start[i]);
		fprintf(out, "\n");
	}
}
