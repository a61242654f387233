/* SPDX-License-Identifier: MIT */
/*
 * Automations as a user reads them back: each trigger and condition as a
 * sentence-like line, then the steps as the scene engine's explain and
 * graph show them.
 */
#include "automations/explain.h"
#include "automations/clock.h"
#include "scenes/scene.h"
#include "util/duration.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static void append(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;
	if (n >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

static void json(char *buf, size_t len, const cJSON *v)
{
	char *t = cJSON_PrintUnformatted(v);
	append(buf, len, "%s", t ? t : "?");
	cJSON_free(t);
}

static void weekdays(char *buf, size_t len, unsigned mask)
{
	if (mask == SH_WEEKDAYS_ALL)
		return;
	append(buf, len, " on");
	for (int d = 1; d <= 7; d++)
		if (mask & (1u << (d % 7)))
			append(buf, len, " %s", days[d % 7]);
}

static void band(char *buf, size_t len, bool ha, double a, bool hb, double b)
{
	if (ha && hb)
		append(buf, len, " between %g and %g", a, b);
	else if (ha)
		append(buf, len, " above %g", a);
	else if (hb)
		append(buf, len, " below %g", b);
}

void sh_trigger_text(const struct sh_trigger *t, char *buf, size_t len)
{
	char d[32];

	buf[0] = '\0';
	switch (t->type) {
	case SH_TRIGGER_STATE:
		append(buf, len, "%s.%s changes", t->device, t->property);
		if (t->from) {
			append(buf, len, " from ");
			json(buf, len, t->from);
		}
		if (t->to) {
			append(buf, len, " to ");
			json(buf, len, t->to);
		}
		break;
	case SH_TRIGGER_NUMERIC:
		append(buf, len, "%s.%s crosses", t->device, t->property);
		band(buf, len, t->has_above, t->above, t->has_below, t->below);
		if (t->hysteresis > 0)
			append(buf, len, " (hysteresis %g)", t->hysteresis);
		break;
	case SH_TRIGGER_AVAILABILITY:
		append(buf, len, "%s goes %s", t->device, t->online ? "online" : "offline");
		break;
	case SH_TRIGGER_MQTT:
		append(buf, len, "message on %s", t->topic);
		if (t->payload)
			append(buf, len, " with payload '%s'", t->payload);
		if (t->path) {
			append(buf, len, " where %s", t->path);
			if (t->equals) {
				append(buf, len, " = ");
				json(buf, len, t->equals);
			}
		}
		break;
	case SH_TRIGGER_TIME:
		append(buf, len, "at %s", sh_clock_format(t->at_s, d, sizeof(d)));
		weekdays(buf, len, t->weekdays);
		break;
	case SH_TRIGGER_INTERVAL:
		append(buf, len, "every %s", sh_duration_format(t->every_ms, d, sizeof(d)));
		break;
	case SH_TRIGGER_SUN:
		append(buf, len, "%s", t->sun == SH_SUN_SUNRISE ? "sunrise" : "sunset");
		if (t->offset_ms)
			append(buf, len, " %s %s", t->offset_ms < 0 ? "-" : "+",
			       sh_duration_format((uint64_t)llabs(t->offset_ms), d, sizeof(d)));
		break;
	case SH_TRIGGER_ELEVATION:
		append(buf, len, "sun elevation crosses");
		band(buf, len, t->has_above, t->above, t->has_below, t->below);
		break;
	case SH_TRIGGER_START:
		append(buf, len, "the hub starts");
		break;
	case SH_TRIGGER_EVENT:
		append(buf, len, "%s sends event '%s'", t->device, t->event);
		break;
	}
	if (t->for_ms)
		append(buf, len, " for %s", sh_duration_format(t->for_ms, d, sizeof(d)));
}

void sh_condition_text(const struct sh_condition *c, char *buf, size_t len)
{
	char a[16], b[16];

	buf[0] = '\0';
	switch (c->type) {
	case SH_CONDITION_DEVICE:
		append(buf, len, "%s.%s", c->device, c->property);
		if (c->is) {
			append(buf, len, " is ");
			json(buf, len, c->is);
		}
		band(buf, len, c->has_above, c->above, c->has_below, c->below);
		break;
	case SH_CONDITION_TIME:
		append(buf, len, "time");
		if (c->has_after)
			append(buf, len, " after %s", sh_clock_format(c->after_s, a, sizeof(a)));
		if (c->has_before)
			append(buf, len, " before %s", sh_clock_format(c->before_s, b, sizeof(b)));
		weekdays(buf, len, c->weekdays);
		break;
	case SH_CONDITION_SUN:
		append(buf, len, "sun");
		if (c->has_after)
			append(buf, len, " after %s",
			       c->sun_after == SH_SUN_SUNRISE ? "sunrise" : "sunset");
		if (c->has_before)
			append(buf, len, " before %s",
			       c->sun_before == SH_SUN_SUNRISE ? "sunrise" : "sunset");
		break;
	case SH_CONDITION_ANY:
	case SH_CONDITION_NOT:
		append(buf, len, "%s(", c->type == SH_CONDITION_ANY ? "any" : "not");
		for (size_t i = 0; i < c->n_children; i++) {
			char inner[256];
			sh_condition_text(&c->children[i], inner, sizeof(inner));
			append(buf, len, "%s%s", i ? "; " : "", inner);
		}
		append(buf, len, ")");
		break;
	}
}

int sh_automation_explain(const struct sh_config *config, const char *name, FILE *out)
{
	const struct sh_automation_config *a = sh_config_find_automation(config, name);
	char text[512];

	if (!a)
		return -ENOENT;
	fprintf(out, "automation %s%s: max_per_minute %u\n", a->name,
		a->enabled ? "" : " (disabled)", a->max_per_minute);
	for (size_t i = 0; i < a->n_triggers; i++) {
		sh_trigger_text(&a->triggers[i], text, sizeof(text));
		fprintf(out, "  trigger %zu: %s\n", i, text);
	}
	for (size_t i = 0; i < a->n_conditions; i++) {
		sh_condition_text(&a->conditions[i], text, sizeof(text));
		fprintf(out, "  condition %zu: %s\n", i, text);
	}
	sh_scene_explain_config(&a->run, "steps of", out);
	return 0;
}

int sh_automation_graph(const struct sh_config *config, const char *name, FILE *out)
{
	const struct sh_automation_config *a = sh_config_find_automation(config, name);
	if (!a)
		return -ENOENT;
	char **labels = calloc(a->n_triggers + 1, sizeof(*labels));
	char gate[1024] = "";
	if (!labels)
		return -ENOMEM;
	for (size_t i = 0; i < a->n_triggers; i++) {
		labels[i] = malloc(512);
		if (labels[i])
			sh_trigger_text(&a->triggers[i], labels[i], 512);
	}
	for (size_t i = 0; i < a->n_conditions; i++) {
		char text[512];
		sh_condition_text(&a->conditions[i], text, sizeof(text));
		append(gate, sizeof(gate), "%s%s", i ? "\nand " : "if ", text);
	}
	sh_scene_graph_config(&a->run, (const char *const *)labels, a->n_triggers,
			      a->n_conditions ? gate : NULL, out);
	for (size_t i = 0; i < a->n_triggers; i++)
		free(labels[i]);
	free(labels);
	return 0;
}
