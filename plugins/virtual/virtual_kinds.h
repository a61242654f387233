/* SPDX-License-Identifier: MIT */
/*
 * The virtual driver's simulation of the kinds of issue 19 (cover, lock,
 * climate, fan, button, custom) and of a light's color_mode, kept apart
 * from virtual.c's connection and failure simulation. virtual.c owns the
 * device's state object; these functions change it in place and report
 * through the host.
 */
#ifndef SMARTHUB_VIRTUAL_KINDS_H
#define SMARTHUB_VIRTUAL_KINDS_H

#include <smarthub/plugin.h>

struct vk;

/* Reads the kind's driver options (`speed` of a cover) and the device's
 * kind options (event_types, properties, min_temp...). *out is NULL for a
 * kind simulated by virtual.c alone (switch, speaker, sensor). Returns 0
 * or -EINVAL (errors recorded) / -ENOMEM. */
int vk_create(struct sh_device *dev, const struct sh_host *host, uint64_t interval_ms,
	      bool interval_set, struct vk **out);
/* Fills the device's initial state into `state` (borrowed until
 * vk_destroy: timers update it). */
void vk_initial_state(struct vk *k, cJSON *state);
/* The device is online: starts a button's presses and a climate's drift. */
void vk_connected(struct vk *k);
/* Applies `cmd` (validated) to the state; true when this module handled
 * it (virtual.c then reports the state and completes the command). */
bool vk_command(struct vk *k, const cJSON *cmd);
void vk_disconnect(struct vk *k);
/* obj[key] = value (taken; NULL sets nothing). */
void vk_set(cJSON *obj, const char *key, cJSON *value);
/* obj[key] = a copy of src, or src's value in place (see the .c). */
void vk_set_copy(cJSON *obj, const char *key, const cJSON *src);
/* obj[key] = the string value, unless it is that already. */
void vk_set_string(cJSON *obj, const char *key, const char *value);
void vk_destroy(struct vk *k);

#endif
