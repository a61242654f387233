/* SPDX-License-Identifier: MIT */
/*
 * The general sections of the configuration: mqtt (with its password file
 * and TLS files), homeassistant, hub, plugins, log and on_start. Each
 * checks its keys and fills in its part of struct sh_config over the
 * defaults config.c set.
 *
 * Owns nothing: strings stay in the node document's arena (a password
 * read from mqtt.password_file too, which is wiped when the config is
 * freed).
 */
#include "config/config_internal.h"
#include "util/log.h"
#include "util/worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A password file is a line of text, not a document. */
#define SH_PASSWORD_FILE_MAX 4096u

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
	*path = sh_loader_resolve_path(ld, *path);
	if (access(*path, R_OK) != 0)
		sh_loader_error(ld, sh_node_get(map, key), "mqtt.%s: cannot read '%s': %s", key,
				*path, strerror(errno));
}

void sh_config_load_mqtt(struct sh_loader *ld, const struct sh_node *map)
{
	static const char *const keys[] = {
		"url",
		"base_topic",
		"client_id",
		"username",
		"password",
		"password_file",
		"ca_file",
		"cert_file",
		"key_file",
		"keepalive",
		"qos",
		"retain",
		"max_payload",
		"inbox_limit",
		"inbox_bytes",
		"events_per_second",
		"reconnect",
		"requests_per_minute",
		"requests_per_second",
		"request_connection",
		NULL,
	};
	struct sh_mqtt_config *m = &ld->config->mqtt;

	if (!sh_loader_expect_map(ld, map, "mqtt"))
		return;
	sh_loader_check_keys(ld, map, "mqtt", keys);
	sh_loader_get_string(ld, map, "mqtt", "url", &m->url);
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
	sh_loader_get_string(ld, map, "mqtt", "base_topic", &m->base_topic);
	check_topic(ld, map, "mqtt", "base_topic", m->base_topic);
	sh_loader_get_string(ld, map, "mqtt", "client_id", &m->client_id);
	if (!*m->client_id)
		sh_loader_error(ld, sh_node_get(map, "client_id"),
				"mqtt.client_id must not be empty");
	sh_loader_get_string(ld, map, "mqtt", "username", &m->username);
	sh_loader_get_string(ld, map, "mqtt", "password", &m->password);

	const struct sh_node *pf = sh_node_get(map, "password_file");
	char *pf_path = NULL;
	sh_loader_get_string(ld, map, "mqtt", "password_file", &pf_path);
	if (pf_path && m->password) {
		sh_loader_key_error(ld, pf,
				    "mqtt.password and mqtt.password_file cannot both be given");
	} else if (pf_path) {
		pf_path = sh_loader_resolve_path(ld, pf_path);
		int err = read_password_file(pf_path, &m->password, ld->doc);
		if (err == -EFBIG)
			sh_loader_error(ld, pf, "mqtt.password_file: '%s' is larger than %u bytes",
					pf_path, SH_PASSWORD_FILE_MAX);
		else if (err)
			sh_loader_error(ld, pf, "mqtt.password_file: cannot read '%s': %s", pf_path,
					strerror(-err));
	}

	sh_loader_get_string(ld, map, "mqtt", "ca_file", &m->ca_file);
	sh_loader_get_string(ld, map, "mqtt", "cert_file", &m->cert_file);
	sh_loader_get_string(ld, map, "mqtt", "key_file", &m->key_file);
	check_readable(ld, map, "ca_file", &m->ca_file);
	check_readable(ld, map, "cert_file", &m->cert_file);
	check_readable(ld, map, "key_file", &m->key_file);
	if (!m->cert_file != !m->key_file)
		sh_loader_key_error(ld, sh_node_get(map, m->cert_file ? "cert_file" : "key_file"),
				    "mqtt.cert_file and mqtt.key_file must be given together");

	sh_loader_get_uint(ld, map, "mqtt", "keepalive", 0, 65535, &m->keepalive_s);
	unsigned qos = (unsigned)m->qos;
	sh_loader_get_uint(ld, map, "mqtt", "qos", 0, 1, &qos);
	m->qos = (int)qos;
	sh_loader_get_bool(ld, map, "mqtt", "retain", &m->retain);
	sh_loader_get_size(ld, map, "mqtt", "max_payload", 256, 16 << 20, &m->max_payload);
	sh_loader_get_size(ld, map, "mqtt", "inbox_limit", 16, 1 << 20, &m->inbox_limit);
	sh_loader_get_size(ld, map, "mqtt", "inbox_bytes", 64 << 10, 1 << 30, &m->inbox_bytes);
	sh_loader_get_uint(ld, map, "mqtt", "events_per_second", 1, 10000, &m->events_per_second);
	sh_loader_get_uint(ld, map, "mqtt", "requests_per_minute", 1, 10000,
			   &m->requests_per_minute);
	sh_loader_get_uint(ld, map, "mqtt", "requests_per_second", 1, 10000,
			   &m->requests_per_second);
	sh_loader_get_bool(ld, map, "mqtt", "request_connection", &m->request_connection);
	sh_loader_backoff(ld, sh_node_get(map, "reconnect"), "mqtt.reconnect", &m->reconnect);
}

/* --- homeassistant, hub, plugins, log ----------------------------------- */

void sh_config_load_homeassistant(struct sh_loader *ld, const struct sh_node *map)
{
	static const char *const keys[] = {"discovery", "prefix", "status_topic", NULL};
	struct sh_homeassistant_config *ha = &ld->config->homeassistant;

	if (sh_loader_expect_map(ld, map, "homeassistant")) {
		sh_loader_check_keys(ld, map, "homeassistant", keys);
		sh_loader_get_bool(ld, map, "homeassistant", "discovery", &ha->discovery);
		sh_loader_get_string(ld, map, "homeassistant", "prefix", &ha->prefix);
		check_topic(ld, map, "homeassistant", "prefix", ha->prefix);
		sh_loader_get_string(ld, map, "homeassistant", "status_topic", &ha->status_topic);
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

void sh_config_load_hub(struct sh_loader *ld, const struct sh_node *map)
{
	static const char *const keys[] = {"max_connecting", "workers", NULL};

	if (!sh_loader_expect_map(ld, map, "hub"))
		return;
	sh_loader_check_keys(ld, map, "hub", keys);
	sh_loader_get_uint(ld, map, "hub", "max_connecting", 0, 10000,
			   &ld->config->hub.max_connecting);
	sh_loader_get_uint(ld, map, "hub", "workers", 1, SH_WORKER_THREADS_MAX,
			   &ld->config->hub.workers);
}

void sh_config_load_plugins(struct sh_loader *ld, const struct sh_node *map)
{
	static const char *const keys[] = {"dir", NULL};

	if (!sh_loader_expect_map(ld, map, "plugins"))
		return;
	sh_loader_check_keys(ld, map, "plugins", keys);
	char *dir = NULL;
	sh_loader_get_string(ld, map, "plugins", "dir", &dir);
	if (dir)
		ld->config->plugin_dir = sh_loader_resolve_path(ld, dir);
}

void sh_config_load_log(struct sh_loader *ld, const struct sh_node *map)
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

/* --- on_start ------------------------------------------------------------- */

void sh_config_load_on_start(struct sh_loader *ld, const struct sh_node *n)
{
	struct sh_config *c = ld->config;

	const struct sh_node *const *entries;
	size_t count;
	if (!sh_node_one_or_list(&n, &entries, &count)) {
		sh_loader_error(ld, n, "on_start must be a list of scene names");
		return;
	}
	if (!count)
		return;
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
