// SPDX-License-Identifier: MIT
/* A plugin built against a newer minor of ABI 2 than this daemon's: it may
 * call host functions the daemon lacks, so the daemon must refuse it. */
#include <smarthub/plugin.h>

static const char *const kinds[] = {"light", NULL};

SH_DRIVER_EXPORT const struct sh_driver sh_driver_descriptor = {
	.abi_version = SH_PLUGIN_ABI_VERSION + 1,
	.name = "future",
	.kinds = kinds,
};
