/* SPDX-License-Identifier: MIT */
/*
 * The daemon side of the automation engine (automation_hub.h): hub events
 * in, scene runners and an ev_timer out. One runner per automation, made
 * on its first run; a runner the scene engine orphaned on a reload (its
 * automation changed) is freed here at the next catch-up.
 */
#include "automations/automation_hub.h"
#include "core/device.h"
#include "core/hub.h"
#include "scenes/scene.h"
#include "util/log.h"

#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The state file in the state directory. */
#define SH_AUTOMATION_STATE_FILE "automations.json"

struct runner_slot {
	char *name;
	struct sh_scene_runner *runner;
};

struct sh_automation_host {
	struct sh_hub *hub;
	struct sh_scene_engine *scenes; /* borrowed from main */
	struct ev_loop *loop;
	struct sh_automations *core;
	const struct sh_config *config; /* the one the core has */
	ev_timer wake;
	struct runner_slot *runners;
	size_t n_runners;
	sh_automation_observer_fn observer;
	void *observer_ctx;
	bool started;
	bool stopped;
};

uint64_t sh_automation_host_now(const struct sh_automation_host *h)
{
	return (uint64_t)(ev_now(h->loop) * 1000.0);
}

static void rearm(struct sh_automation_host *h)
{
	uint64_t at = sh_automations_next_wake(h->core);
	ev_timer_stop(h->loop, &h->wake);
	if (!at)
		return;
	uint64_t now = sh_automation_host_now(h);
	ev_timer_set(&h->wake, at > now ? (double)(at - now) / 1000.0 : 0.0, 0.0);
	ev_timer_start(h->loop, &h->wake);
}

static void free_orphans(struct sh_automation_host *h)
{
	struct sh_scene_engine *scenes = h->scenes;
	for (size_t i = 0; i < h->n_runners;) {
		struct runner_slot *s = &h->runners[i];
		if (!sh_scene_runner_orphaned(s->runner) &&
		    sh_config_find_automation(h->config, s->name)) {
			i++;
			continue;
		}
		sh_scene_runner_free(scenes, s->runner);
		free(s->name);
		h->runners[i] = h->runners[--h->n_runners];
	}
}

/* Catches up with the hub's configuration. */
static void sync_config(struct sh_automation_host *h)
{
	const struct sh_config *c = sh_hub_config(h->hub);
	if (!c || c == h->config)
		return;
	h->config = c;
	free_orphans(h);
	sh_automations_apply(h->core, c, sh_automation_host_now(h));
	if (h->observer)
		h->observer(h->observer_ctx, NULL);
	rearm(h);
}

struct sh_automations *sh_automation_host_engine(struct sh_automation_host *h)
{
	sync_config(h);
	return h->core;
}

/* --- the environment of the core ---------------------------------------------- */

static const cJSON *env_state(void *ctx, const char *device)
{
	struct sh_automation_host *h = ctx;
	struct sh_device *dev = sh_hub_find_device(h->hub, device);
	return dev && sh_device_online(dev) ? sh_device_state(dev) : NULL;
}

static struct runner_slot *find_runner(struct sh_automation_host *h, const char *name)
{
	for (size_t i = 0; i < h->n_runners; i++)
		if (!strcmp(h->runners[i].name, name))
			return &h->runners[i];
	return NULL;
}

static void on_run_done(void *ctx, const char *scene, const cJSON *result)
{
	struct sh_automation_host *h = ctx;
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(result, "status"));
	const char *error = cJSON_GetStringValue(cJSON_GetObjectItem(result, "error"));
	sh_automations_run_done(h->core, scene, status ? status : "failed",
				status && !strcmp(status, "ok") ? NULL : error,
				sh_automation_host_now(h));
	rearm(h);
}

static int env_run(void *ctx, const struct sh_automation_config *cfg, char *reason, size_t len)
{
	struct sh_automation_host *h = ctx;
	struct sh_scene_engine *scenes = h->scenes;
	struct runner_slot *s = find_runner(h, cfg->name);

	if (s && sh_scene_runner_orphaned(s->runner)) {
		sh_scene_runner_free(scenes, s->runner);
		free(s->name);
		*s = h->runners[--h->n_runners];
		s = NULL;
	}
	if (!s) {
		struct runner_slot *grown =
			realloc(h->runners, (h->n_runners + 1) * sizeof(*h->runners));
		if (!grown)
			return -ENOMEM;
		h->runners = grown;
		s = &h->runners[h->n_runners];
		s->name = strdup(cfg->name);
		if (!s->name || sh_scene_runner_new(scenes, &cfg->run, &s->runner) < 0) {
			free(s->name);
			snprintf(reason, len, "out of memory");
			return -ENOMEM;
		}
		h->n_runners++;
	}
	return sh_scene_runner_run(scenes, s->runner, on_run_done, h, reason, len);
}

static unsigned env_active(void *ctx, const char *name)
{
	struct runner_slot *s = find_runner(ctx, name);
	return s ? sh_scene_runner_active(s->runner) : 0;
}

static void env_status_changed(void *ctx, const char *name)
{
	struct sh_automation_host *h = ctx;
	if (h->observer)
		h->observer(h->observer_ctx, name);
}

static void env_error(void *ctx, const char *name, const char *message)
{
	struct sh_automation_host *h = ctx;
	sh_hub_error(h->hub, NULL, NULL, "automation %s: %s", name, message);
}

/* --- inputs ------------------------------------------------------------------------ */

static void on_wake(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sh_automation_host *h = w->data;
	sync_config(h);
	sh_automations_tick(h->core, sh_automation_host_now(h));
	rearm(h);
}

static void on_hub_event(void *ctx, const struct sh_event *ev)
{
	struct sh_automation_host *h = ctx;
	uint64_t now = sh_automation_host_now(h);

	sync_config(h);
	switch (ev->type) {
	case SH_EV_DEVICE_STATE:
		if (ev->device)
			sh_automations_device_state(h->core, sh_device_id(ev->device),
						    sh_device_state(ev->device), now);
		break;
	case SH_EV_DEVICE_AVAILABILITY:
		if (ev->device)
			sh_automations_device_availability(h->core, sh_device_id(ev->device),
							   sh_device_online(ev->device), now);
		break;
	case SH_EV_DEVICE_EVENT: {
		/* {"event":"single", ...}: a button's press, repeats included. */
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(ev->data, "event"));
		if (ev->device && name)
			sh_automations_device_event(h->core, sh_device_id(ev->device), name, now);
		break;
	}
	case SH_EV_CONFIG_APPLIED:
		if (!h->started && h->config) {
			h->started = true;
			sh_automations_started(h->core, now);
		}
		break;
	default:
		return;
	}
	rearm(h);
}

void sh_automation_host_mqtt(struct sh_automation_host *h, const char *topic, const char *payload,
			     size_t len)
{
	sync_config(h);
	sh_automations_mqtt(h->core, topic, payload, len, sh_automation_host_now(h));
	rearm(h);
}

static bool word(const char *p, size_t len, const char *w)
{
	while (len && (p[len - 1] == '\n' || p[len - 1] == ' ' || p[len - 1] == '\r'))
		len--;
	return strlen(w) == len && !strncasecmp(p, w, len);
}

int sh_automation_host_command(struct sh_automation_host *h, const char *name, const char *payload,
			       size_t len, char *reason, size_t reason_len)
{
	uint64_t now = sh_automation_host_now(h);
	int r = -EINVAL;

	sync_config(h);
	if (!sh_automations_status(h->core, name)) {
		snprintf(reason, reason_len, "unknown automation %s", name);
		return -ENOENT;
	}
	/* sh_automations_status allocated: only its existence mattered. */
	cJSON_Delete(sh_automations_status(h->core, name));
	if (word(payload, len, "enable") || word(payload, len, "ON")) {
		r = sh_automations_set_enabled(h->core, name, true, now);
	} else if (word(payload, len, "disable") || word(payload, len, "OFF")) {
		r = sh_automations_set_enabled(h->core, name, false, now);
	} else if (word(payload, len, "trigger")) {
		r = sh_automations_trigger(h->core, name, false, now);
	} else {
		cJSON *j = cJSON_ParseWithLength(payload, len);
		const cJSON *v;
		if (cJSON_IsTrue(cJSON_GetObjectItem(j, "trigger"))) {
			r = sh_automations_trigger(
				h->core, name,
				cJSON_IsTrue(cJSON_GetObjectItem(j, "skip_conditions")), now);
		} else if (cJSON_IsBool(v = cJSON_GetObjectItem(j, "enabled"))) {
			r = sh_automations_set_enabled(h->core, name, cJSON_IsTrue(v), now);
		} else if (cJSON_IsString(v = cJSON_GetObjectItem(j, "state")) &&
			   (!strcasecmp(v->valuestring, "ON") ||
			    !strcasecmp(v->valuestring, "OFF"))) {
			r = sh_automations_set_enabled(h->core, name,
						       !strcasecmp(v->valuestring, "ON"), now);
		} else {
			snprintf(reason, reason_len,
				 "expected enable, disable, trigger or {\"trigger\":true,"
				 "\"skip_conditions\":true}");
		}
		cJSON_Delete(j);
	}
	rearm(h);
	return r;
}

/* --- lifetime ---------------------------------------------------------------------- */

void sh_automation_host_set_observer(struct sh_automation_host *h, sh_automation_observer_fn fn,
				     void *ctx)
{
	h->observer = fn;
	h->observer_ctx = ctx;
}

int sh_automation_host_new(struct sh_hub *hub, struct sh_scene_engine *scenes,
			   const char *state_dir, struct sh_automation_host **out)
{
	struct sh_automation_host *h = calloc(1, sizeof(*h));
	int r;

	*out = NULL;
	if (!h)
		return -ENOMEM;
	h->hub = hub;
	h->scenes = scenes;
	h->loop = sh_hub_loop(hub);
	struct sh_automation_env env = {.ctx = h,
					.state = env_state,
					.run = env_run,
					.active = env_active,
					.status_changed = env_status_changed,
					.error = env_error};
	r = sh_automations_new(&env, &h->core);
	if (r < 0)
		goto fail;
	if (state_dir && *state_dir) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", state_dir, SH_AUTOMATION_STATE_FILE);
		sh_automations_set_state_file(h->core, path, sh_automation_host_now(h));
	}
	ev_timer_init(&h->wake, on_wake, 0.0, 0.0);
	h->wake.data = h;
	r = sh_hub_listen(hub, on_hub_event, h);
	if (r < 0)
		goto fail;
	sync_config(h);
	*out = h;
	return 0;
fail:
	sh_automations_free(h->core);
	free(h);
	return r;
}

void sh_automation_host_stop(struct sh_automation_host *h)
{
	if (!h || h->stopped)
		return;
	h->stopped = true;
	sh_hub_unlisten(h->hub, on_hub_event, h);
	ev_timer_stop(h->loop, &h->wake);
	sh_automations_save(h->core, sh_automation_host_now(h), true);
}

void sh_automation_host_free(struct sh_automation_host *h)
{
	if (!h)
		return;
	sh_automation_host_stop(h);
	struct sh_scene_engine *scenes = h->scenes;
	/* Cancelling a run reports to the core, so the core goes last. */
	for (size_t i = 0; i < h->n_runners; i++) {
		sh_scene_runner_free(scenes, h->runners[i].runner);
		free(h->runners[i].name);
	}
	free(h->runners);
	sh_automations_free(h->core);
	free(h);
}
