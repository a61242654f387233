// SPDX-License-Identifier: MIT
/* A plugin built for another ABI version: the daemon must refuse it before
 * reading anything past the version. */
#include <smarthub/plugin.h>

static const char *const kinds[] = {"light", NULL};

SH_DRIVER_EXPORT const struct sh_driver sh_driver_descriptor = {
	.abi_version = SH_PLUGIN_ABI_VERSION + 98,
	.name = "badabi",
	.kinds = kinds,
};
