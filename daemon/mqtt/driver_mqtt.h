/* SPDX-License-Identifier: MIT */
/*
 * The MQTT service for drivers (host->mqtt_*, core/mqtt_service.h) on the
 * bridge's own connection: a bounded table of the drivers' subscriptions
 * and link watches, restored after every reconnect, and the routing of
 * incoming messages that match a driver's filter to that driver.
 *
 * Owned by the bridge; everything runs on the loop thread.
 */
#ifndef SMARTHUB_DRIVER_MQTT_H
#define SMARTHUB_DRIVER_MQTT_H

#include <stdbool.h>

struct sh_bridge_env;
struct sh_inbox_item;
struct sh_mqtt_drivers;

/* Subscriptions of one device, and of all devices together. */
#define SH_MQTT_DEVICE_SUBS_MAX 32
#define SH_MQTT_SUBS_MAX 16384
/* Link watches of all devices together. */
#define SH_MQTT_WATCHES_MAX 8192

/* Makes the table and registers it with the hub; `env` is borrowed for
 * the table's life. 0 or -ENOMEM. */
int sh_mqtt_drivers_new(const struct sh_bridge_env *env, struct sh_mqtt_drivers **out);
/* Unregisters and frees; NULL accepted. */
void sh_mqtt_drivers_free(struct sh_mqtt_drivers *d);
/* The bridge's connection came up (subscribes everything again, then
 * tells the watchers) or went down (tells them). */
void sh_mqtt_drivers_link(struct sh_mqtt_drivers *d, bool up);
/* Hands a message to every driver whose filter matches its topic. Returns
 * false when none does (the bridge's own topic API then sees it). */
bool sh_mqtt_drivers_route(struct sh_mqtt_drivers *d, const struct sh_inbox_item *item);

/* Whether some topic matches both `filter` and `<base>` or `<base>/...`. */
bool sh_mqtt_filter_overlaps(const char *filter, const char *base);
/* A valid subscription filter: non-empty, + and # only as whole levels, #
 * last. */
bool sh_mqtt_filter_valid(const char *filter);

#endif
