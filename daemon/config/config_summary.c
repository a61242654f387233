/* SPDX-License-Identifier: MIT */
/*
 * The summary --check-config prints for a valid file: the broker (never a
 * password, nor any value written as a !secret), Home Assistant discovery,
 * the plugin directory, the devices by kind, the scenes, the automations
 * and what runs on start.
 *
 * Reads the configuration; owns nothing.
 */
#include "config/config_internal.h"
#include "kinds/kind.h"

#include <string.h>

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
