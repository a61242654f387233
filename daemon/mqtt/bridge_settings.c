/* SPDX-License-Identifier: MIT */
/*
 * The bridge's settings (see bridge_settings.h): copies of the resolved
 * configuration, so a reload that frees the old configuration leaves the
 * bridge's topics intact. Every default was resolved by the configuration
 * (config.c's set_defaults): nothing here repeats one.
 */
#include "mqtt/bridge_settings.h"
#include "config/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

int sh_bridge_settings_init(struct sh_bridge_settings *s, const struct sh_config *config)
{
	const struct sh_mqtt_config *m = &config->mqtt;
	const struct sh_homeassistant_config *ha = &config->homeassistant;

	memset(s, 0, sizeof(*s));
	s->qos = m->qos;
	s->retain = m->retain;
	s->max_payload = m->max_payload;
	s->discovery = ha->discovery;
	if (dup_opt(&s->base, m->base_topic) < 0 || dup_opt(&s->ha_prefix, ha->prefix) < 0 ||
	    dup_opt(&s->ha_status_topic, ha->status_topic) < 0) {
		sh_bridge_settings_free(s);
		return -ENOMEM;
	}
	return 0;
}

bool sh_bridge_settings_apply(struct sh_bridge_settings *s, const struct sh_config *config)
{
	const struct sh_homeassistant_config *ha = &config->homeassistant;
	bool was_discovery = s->discovery;

	s->discovery = ha->discovery;
	if (ha->prefix && (!s->ha_prefix || strcmp(ha->prefix, s->ha_prefix) != 0)) {
		char *prefix = strdup(ha->prefix);

		if (prefix) {
			free(s->ha_prefix);
			s->ha_prefix = prefix;
		}
	}
	return s->discovery && !was_discovery;
}

void sh_bridge_settings_free(struct sh_bridge_settings *s)
{
	free(s->base);
	free(s->ha_prefix);
	free(s->ha_status_topic);
	s->base = s->ha_prefix = s->ha_status_topic = NULL;
}

const char *sh_bridge_topic(const struct sh_bridge_settings *s, char *buf, size_t len,
			    const char *a, const char *sub)
{
	snprintf(buf, len, "%s/%s%s%s", s->base, a, sub ? "/" : "", sub ? sub : "");
	return buf;
}
