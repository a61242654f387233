// SPDX-License-Identifier: MIT
/* A complete plugin whose descriptor names another driver than its file
 * (misnamed.so says "lamp"): the daemon must refuse it. */
#include <smarthub/plugin.h>

static const char *const kinds[] = {"light", NULL};

static int create(struct sh_device *dev, const struct sh_host *host, void **priv)
{
	*priv = (void *)host;
	return 0;
}

static int connect_(void *priv)
{
	return 0;
}

static int command(void *priv, uint64_t id, const cJSON *cmd)
{
	return 0;
}

static void disconnect(void *priv)
{
}

static void destroy(void *priv)
{
}

SH_DRIVER_EXPORT const struct sh_driver sh_driver_descriptor = {
	.abi_version = SH_PLUGIN_ABI_VERSION,
	.name = "lamp",
	.kinds = kinds,
	.create = create,
	.connect = connect_,
	.command = command,
	.disconnect = disconnect,
	.destroy = destroy,
};
