/* SPDX-License-Identifier: MIT */
/*
 * The automation engine in the daemon: a listener of the hub that feeds
 * the core (automation.h) with device states and availability as they
 * happen, runs automations' steps with the scene engine's runners (so
 * modes, timeouts and retries are the scenes'), wakes the core with one
 * libev timer at its next deadline, and keeps the state file in the state
 * directory. The hub knows nothing of it.
 *
 * Made by main after the hub; freed before it. Every function runs on the
 * loop thread and first catches up with the configuration the hub has in
 * force (the hub frees the old one right after applying the new).
 */
#ifndef SMARTHUB_AUTOMATION_HUB_H
#define SMARTHUB_AUTOMATION_HUB_H

#include "automations/automation.h"

struct sh_hub;
struct sh_automation_host;
struct sh_scene_engine;

/* Told when an automation's status changed (`name`), or, with NULL, when
 * the set of automations or of their MQTT filters did. */
typedef void (*sh_automation_observer_fn)(void *ctx, const char *name);

/* `state_dir` (may be NULL: nothing survives restarts) is copied. */
int sh_automation_host_new(struct sh_hub *hub, struct sh_scene_engine *scenes,
			   const char *state_dir, struct sh_automation_host **out);
/* Shutdown, before the hub stops its devices (their going offline must
 * not cancel the for: timers that are to survive): stops listening and
 * writes the state file one last time. */
void sh_automation_host_stop(struct sh_automation_host *h);
/* Stops (if not yet) and frees; NULL accepted. */
void sh_automation_host_free(struct sh_automation_host *h);
void sh_automation_host_set_observer(struct sh_automation_host *h, sh_automation_observer_fn fn,
				     void *ctx);

/* The core, after catching up with the configuration in force. */
struct sh_automations *sh_automation_host_engine(struct sh_automation_host *h);
/* The wall clock the core runs on (epoch ms, the loop's time). */
uint64_t sh_automation_host_now(const struct sh_automation_host *h);

/* A message for the mqtt triggers. */
void sh_automation_host_mqtt(struct sh_automation_host *h, const char *topic, const char *payload,
			     size_t len);
/* smarthub/automation/<name>/set: "enable", "disable", "trigger", or
 * {"state":"ON"|"OFF"}, {"enabled":bool}, {"trigger":true,"skip_conditions":bool}.
 * 0, -ENOENT (unknown automation) or -EINVAL with a reason. */
int sh_automation_host_command(struct sh_automation_host *h, const char *name, const char *payload,
			       size_t len, char *reason, size_t reason_len);

#endif
