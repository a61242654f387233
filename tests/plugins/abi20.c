// SPDX-License-Identifier: MIT
/*
 * A driver as built against ABI 2.0, whatever the headers' minor is now:
 * the daemon must load it. It also reports the way the completion
 * contract allows: connected() inside connect() and command_done() inside
 * command(), which the daemon delivers on a later loop iteration.
 */
#include <smarthub/plugin.h>
#include <errno.h>
#include <stdlib.h>

struct abi20 {
	struct sh_device *dev;
	const struct sh_host *host;
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
	return 0;
}

static int command(void *priv, uint64_t id, const cJSON *cmd)
{
	struct abi20 *a = priv;
	a->host->state_update(a->dev, cmd);
	a->host->command_done(a->dev, id, 0, NULL);
	return 0;
}

static void disconnect(void *priv)
{
}

static void destroy(void *priv)
{
	free(priv);
}

SH_DRIVER_EXPORT const struct sh_driver sh_driver_descriptor = {
	.abi_version = (2u << 16) | 0u,
	.name = "abi20",
	.kinds = kinds,
	.create = create,
	.connect = connect_,
	.command = command,
	.disconnect = disconnect,
	.destroy = destroy,
};
