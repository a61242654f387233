// SPDX-License-Identifier: MIT
/*
 * A driver as built against ABI 2.0, whatever the headers' minor is now:
 * the daemon must load it. It also reports the way the completion
 * contract allows: connected() inside connect() and command_done() inside
 * command(), which the daemon delivers on a later loop iteration.
 *
 * It also polls with host->poll_every (every 20ms) and tells on each poll
 * whether a command was running then ("bad_polls" must stay 0): a command
 * with `brightness` takes 150ms, one without completes at once. Each poll
 * reports an event too.
 */
#include <smarthub/plugin.h>
#include <errno.h>
#include <stdlib.h>

struct abi20 {
	struct sh_device *dev;
	const struct sh_host *host;
	struct sh_timer *slow; /* the slow command in flight */
	uint64_t slow_id;
	cJSON *slow_cmd;
	int polls, bad_polls;
};

static const char *const kinds[] = {"light", NULL};

static int create(struct sh_device *dev, const struct sh_host *host, void **priv)
{
	/* 2.0 had every function this driver calls. */
	if (!SH_HOST_HAS(host, event))
		return -ENOSYS;
	struct abi20 *a = calloc(1, sizeof(*a));
	if (!a)
		return -1;
	a->dev = dev;
	a->host = host;
	*priv = a;
	return 0;
}

static int connect_(void *priv)
{
	struct abi20 *a = priv;
	a->host->connected(a->dev);
	return a->host->poll_every(a->dev, 20);
}

static void slow_done(struct sh_device *dev, void *data)
{
	struct abi20 *a = data;
	a->host->timer_stop(a->slow);
	a->slow = NULL;
	a->host->state_update(dev, a->slow_cmd);
	cJSON_Delete(a->slow_cmd);
	a->slow_cmd = NULL;
	a->host->command_done(dev, a->slow_id, 0, NULL);
}

static int refresh(void *priv)
{
	struct abi20 *a = priv;
	a->polls++;
	if (a->slow)
		a->bad_polls++;
	cJSON *state = cJSON_CreateObject();
	cJSON_AddNumberToObject(state, "polls", a->polls);
	cJSON_AddNumberToObject(state, "bad_polls", a->bad_polls);
	a->host->state_update(a->dev, state);
	cJSON_Delete(state);
	cJSON *ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "event", "polled");
	a->host->event(a->dev, ev);
	cJSON_Delete(ev);
	return 0;
}

static int command(void *priv, uint64_t id, const cJSON *cmd)
{
	struct abi20 *a = priv;
	if (cJSON_GetObjectItemCaseSensitive(cmd, "brightness")) {
		a->slow_cmd = cJSON_Duplicate(cmd, 1);
		a->slow_id = id;
		a->slow = a->host->timer_start(a->dev, 150, 0, slow_done, a);
		return a->slow ? 0 : -ENOMEM;
	}
	a->host->state_update(a->dev, cmd);
	a->host->command_done(a->dev, id, 0, NULL);
	return 0;
}

static void disconnect(void *priv)
{
	struct abi20 *a = priv;
	a->host->timer_stop(a->slow);
	a->slow = NULL;
	cJSON_Delete(a->slow_cmd);
	a->slow_cmd = NULL;
}

static void destroy(void *priv)
{
	if (priv)
		disconnect(priv);
	free(priv);
}

SH_DRIVER_EXPORT const struct sh_driver sh_driver_descriptor = {
	.abi_version = (2u << 16) | 0u,
	.name = "abi20",
	.kinds = kinds,
	.create = create,
	.connect = connect_,
	.command = command,
	.refresh = refresh,
	.disconnect = disconnect,
	.destroy = destroy,
};
