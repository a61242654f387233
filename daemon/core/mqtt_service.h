/* SPDX-License-Identifier: MIT */
/*
 * The MQTT service drivers reach through host->mqtt_* (plugin.h): an
 * interface the hub holds and the MQTT bridge provides, so that core never
 * depends on the mqtt folder. The bridge registers its implementation with
 * sh_hub_set_mqtt_service() once its client exists and unregisters it
 * (NULL) before it is freed; while none is registered (--check-config, or
 * before the bridge is made) host.c answers -ENOSYS.
 *
 * Every function runs on the loop thread. The table and `ctx` stay the
 * provider's; the hub only borrows them while registered.
 */
#ifndef SMARTHUB_MQTT_SERVICE_H
#define SMARTHUB_MQTT_SERVICE_H

#include <smarthub/plugin.h>

struct sh_mqtt_service {
	void *ctx;
	/* host->mqtt_subscribe: a subscription id (> 0) or a negative errno
	 * (-EPERM under the hub's base topic, -EINVAL malformed, -ENOSPC when
	 * the bounded table is full). */
	int (*subscribe)(void *ctx, struct sh_device *dev, const char *filter, int qos,
			 sh_mqtt_message_cb cb, void *data);
	/* host->mqtt_unsubscribe: ignores ids that are not `dev`'s. */
	void (*unsubscribe)(void *ctx, struct sh_device *dev, int subscription);
	/* host->mqtt_publish: 0, -ENOTCONN, -EPERM or -EINVAL. */
	int (*publish)(void *ctx, struct sh_device *dev, const char *topic, const void *payload,
		       size_t len, int qos, bool retain);
	/* host->mqtt_watch_link: 0 or -ENOSPC/-ENOMEM. */
	int (*watch_link)(void *ctx, struct sh_device *dev, sh_mqtt_link_cb cb, void *data);
	/* The device goes: forgets its subscriptions and link watches. */
	void (*release)(void *ctx, struct sh_device *dev);
};

#endif
