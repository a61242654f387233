/* SPDX-License-Identifier: MIT */
/*
 * The dry run (replay.h): the automation core with an environment of its
 * own. Device states are what the recording says; a run prints the
 * commands of its steps (with the offset delays put between them) and
 * ends at once, since nothing is really sent. The core reads no clock, so
 * the recording's times are the only time there is: the same recording
 * gives the same output on any machine, at any time.
 */
#define _GNU_SOURCE /* strptime */
#include "automations/replay.h"
#include "automations/automation.h"
#include "util/duration.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The longest line of a recording. */
#define REPLAY_LINE_MAX 65536

struct replay {
	const struct sh_config *config;
	FILE *out;
	cJSON *states;  /* device id -> merged state, while online */
	cJSON *offline; /* device id -> true */
	uint64_t now;
	unsigned runs;
};

static const cJSON *replay_state(void *ctx, const char *device)
{
	struct replay *r = ctx;
	if (cJSON_GetObjectItemCaseSensitive(r->offline, device))
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(r->states, device);
}

/* Prints the device commands of `s`, starting `at` ms into the run;
 * returns when the step would end (delays counted, waits and commands
 * taken as instant). */
static uint64_t print_steps(struct replay *r, const struct sh_step *s, uint64_t at, int depth)
{
	char dur[32];
	uint64_t end = at;

	if (!s || depth > 16)
		return at;
	switch (s->type) {
	case SH_STEP_SEQUENCE:
		for (size_t i = 0; i < s->n_children; i++)
			at = print_steps(r, s->children[i], at, depth + 1);
		return at;
	case SH_STEP_PARALLEL:
		for (size_t i = 0; i < s->n_children; i++) {
			uint64_t e = print_steps(r, s->children[i], at, depth + 1);
			end = e > end ? e : end;
		}
		return end;
	case SH_STEP_DEVICE: {
		char *cmd = cJSON_PrintUnformatted(s->set);
		fprintf(r->out, "  +%s %s <- %s\n", sh_duration_format(at, dur, sizeof(dur)),
			s->device ? s->device : "?", cmd ? cmd : "?");
		cJSON_free(cmd);
		return at;
	}
	case SH_STEP_DELAY:
		return at + s->delay_ms;
	case SH_STEP_WAIT:
		fprintf(r->out, "  +%s (%s: waits for a device state)\n",
			sh_duration_format(at, dur, sizeof(dur)), s->path);
		return at;
	case SH_STEP_SCENE: {
		const struct sh_scene_config *sc = sh_config_find_scene(r->config, s->scene);
		fprintf(r->out, "  +%s (scene %s)\n", sh_duration_format(at, dur, sizeof(dur)),
			s->scene);
		return sc ? print_steps(r, sc->root, at, depth + 1) : at;
	}
	}
	return at;
}

static int replay_run(void *ctx, const struct sh_automation_config *cfg, char *reason, size_t len)
{
	struct replay *r = ctx;
	char iso[40];
	(void)reason;
	(void)len;
	r->runs++;
	fprintf(r->out, "%s %s runs\n", sh_automations_iso(r->now, iso, sizeof(iso)), cfg->name);
	print_steps(r, cfg->run.root, 0, 0);
	return 0;
}

/* "2026-06-01T12:00:00Z", "2026-06-01T12:00:00.250Z" */
static bool parse_iso(const char *s, uint64_t *ms)
{
	struct tm tm = {0};
	unsigned frac = 0;
	const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		return false;
	s = rest;
	if (*s == '.') {
		unsigned scale = 100;
		for (s++; *s >= '0' && *s <= '9'; s++) {
			frac += (unsigned)(*s - '0') * scale;
			scale /= 10;
		}
	}
	if (strcmp(s, "Z") && strcmp(s, "+00:00"))
		return false;
	*ms = (uint64_t)timegm(&tm) * 1000 + frac;
	return true;
}

struct input {
	uint64_t time;
	const char *device;
	const cJSON *state;
	int online; /* -1 none */
	const char *event;
	const char *topic;
	const char *payload;
	size_t len;
};

/* A "<seconds> <topic> <payload>" line into `in`, by the base topic. */
static bool parse_sub_line(const struct sh_config *config, char *line, struct input *in,
			   cJSON **doc)
{
	char *end;
	double secs = strtod(line, &end);
	if (end == line || *end != ' ')
		return false;
	in->time = (uint64_t)(secs * 1000.0 + 0.5);
	char *topic = end + 1;
	char *sp = strchr(topic, ' ');
	char *payload = sp ? sp + 1 : topic + strlen(topic);
	if (sp)
		*sp = '\0';
	in->topic = topic;
	in->payload = payload;
	in->len = strlen(payload);
	size_t blen = strlen(config->mqtt.base_topic);
	if (strncmp(topic, config->mqtt.base_topic, blen) || topic[blen] != '/')
		return true;
	char *rest = topic + blen + 1;
	char *slash = strchr(rest, '/');
	char id[256];
	snprintf(id, sizeof(id), "%.*s", (int)(slash ? (size_t)(slash - rest) : strlen(rest)),
		 rest);
	const struct sh_device_config *d = sh_config_find_device(config, id);
	if (!d)
		return true;
	if (!slash) {
		*doc = cJSON_Parse(payload);
		if (cJSON_IsObject(*doc)) {
			in->device = d->id;
			in->state = *doc;
		}
	} else if (!strcmp(slash, "/availability")) {
		*doc = cJSON_Parse(payload);
		const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(*doc, "state"));
		if (!s)
			s = payload;
		in->device = d->id;
		in->online = !strcmp(s, "online");
	} else if (!strcmp(slash, "/event")) {
		*doc = cJSON_Parse(payload);
		const char *e = cJSON_GetStringValue(cJSON_GetObjectItem(*doc, "event"));
		in->device = d->id;
		in->event = e ? e : payload;
	}
	return true;
}

static bool parse_json_line(const char *line, struct input *in, cJSON **doc)
{
	*doc = cJSON_Parse(line);
	const cJSON *t = cJSON_GetObjectItem(*doc, "time");
	if (cJSON_IsNumber(t))
		in->time = (uint64_t)t->valuedouble;
	else if (!cJSON_IsString(t) || !parse_iso(t->valuestring, &in->time))
		return false;
	in->device = cJSON_GetStringValue(cJSON_GetObjectItem(*doc, "device"));
	in->state = cJSON_GetObjectItem(*doc, "state");
	const char *a = cJSON_GetStringValue(cJSON_GetObjectItem(*doc, "availability"));
	if (a)
		in->online = !strcmp(a, "online");
	in->event = cJSON_GetStringValue(cJSON_GetObjectItem(*doc, "event"));
	in->topic = cJSON_GetStringValue(cJSON_GetObjectItem(*doc, "topic"));
	const cJSON *p = cJSON_GetObjectItem(*doc, "payload");
	char *printed = NULL;
	if (cJSON_IsString(p)) {
		in->payload = p->valuestring;
	} else if (p) {
		/* A JSON payload written as JSON: kept alive in the doc. */
		printed = cJSON_PrintUnformatted(p);
		cJSON_AddItemToObject(*doc, "\x01printed",
				      cJSON_CreateString(printed ? printed : ""));
		cJSON_free(printed);
		in->payload = cJSON_GetStringValue(cJSON_GetObjectItem(*doc, "\x01printed"));
	}
	in->len = in->payload ? strlen(in->payload) : 0;
	if (in->state && !cJSON_IsObject(in->state))
		return false;
	return (in->device && (in->state || in->online >= 0 || in->event)) ||
	       (in->topic && in->payload);
}

static void merge_state(struct replay *r, const char *device, const cJSON *patch)
{
	cJSON *cur = cJSON_GetObjectItemCaseSensitive(r->states, device);
	if (!cur)
		cur = cJSON_AddObjectToObject(r->states, device);
	const cJSON *item;
	cJSON_ArrayForEach(item, patch)
	{
		if (cJSON_GetObjectItemCaseSensitive(cur, item->string))
			cJSON_ReplaceItemInObjectCaseSensitive(cur, item->string,
							       cJSON_Duplicate(item, true));
		else
			cJSON_AddItemToObject(cur, item->string, cJSON_Duplicate(item, true));
	}
}

static void feed(struct replay *r, struct sh_automations *e, const struct input *in)
{
	if (in->device && in->state) {
		merge_state(r, in->device, in->state);
		sh_automations_device_state(e, in->device,
					    cJSON_GetObjectItemCaseSensitive(r->states, in->device),
					    in->time);
	} else if (in->device && in->online >= 0) {
		cJSON_DeleteItemFromObjectCaseSensitive(r->offline, in->device);
		if (!in->online)
			cJSON_AddTrueToObject(r->offline, in->device);
		sh_automations_device_availability(e, in->device, in->online, in->time);
	} else if (in->device && in->event) {
		sh_automations_device_event(e, in->device, in->event, in->time);
	} else if (in->topic && in->payload) {
		/* Never the hub's own command topics. */
		size_t blen = strlen(r->config->mqtt.base_topic);
		const char *last = strrchr(in->topic, '/');
		bool own = !strncmp(in->topic, r->config->mqtt.base_topic, blen) &&
			   in->topic[blen] == '/' &&
			   (strstr(in->topic, "/bridge/request/") ||
			    (last && (!strcmp(last, "/set") || !strcmp(last, "/get"))));
		if (!own)
			sh_automations_mqtt(e, in->topic, in->payload, in->len, in->time);
	}
}

int sh_automation_replay(const struct sh_config *config, FILE *in, const char *name, FILE *out,
			 FILE *err)
{
	struct replay r = {.config = config, .out = out};
	struct sh_automations *e = NULL;
	char *line = malloc(REPLAY_LINE_MAX);
	int rc = 0;
	unsigned lineno = 0;
	bool applied = false;

	r.states = cJSON_CreateObject();
	r.offline = cJSON_CreateObject();
	struct sh_automation_env env = {.ctx = &r, .state = replay_state, .run = replay_run};
	if (!line || !r.states || !r.offline || sh_automations_new(&env, &e) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	while (fgets(line, REPLAY_LINE_MAX, in)) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		struct input input = {.online = -1};
		cJSON *doc = NULL;
		bool ok = line[0] == '{' ? parse_json_line(line, &input, &doc)
					 : parse_sub_line(config, line, &input, &doc);
		if (!ok || (applied && input.time < r.now)) {
			fprintf(err, "%s:%u: %s\n", name, lineno,
				!ok ? "not a recording line (\"<seconds> <topic> <payload>\" or a "
				      "JSON object with time)"
				    : "time goes backwards");
			cJSON_Delete(doc);
			rc = -EINVAL;
			break;
		}
		if (!applied) {
			sh_automations_apply(e, config, input.time);
			sh_automations_started(e, input.time);
			applied = true;
		}
		/* Timers due before this input fire at their own times. */
		for (uint64_t at; (at = sh_automations_next_wake(e)) && at <= input.time;) {
			r.now = at;
			sh_automations_tick(e, at);
		}
		r.now = input.time;
		feed(&r, e, &input);
		cJSON_Delete(doc);
	}
	fprintf(out, "%u run%s\n", r.runs, r.runs == 1 ? "" : "s");
out:
	sh_automations_free(e);
	cJSON_Delete(r.states);
	cJSON_Delete(r.offline);
	free(line);
	return rc;
}
