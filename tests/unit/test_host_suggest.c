/* SPDX-License-Identifier: MIT */
/*
 * ABI 2.1: host->suggest (did-you-mean by the daemon's own rule) and
 * host->command_timeout_ms are in the host a plugin gets (SH_HOST_HAS); a
 * 2.0 plugin still loads (test_device's abi20 covers the loading; the
 * mqtt driver's confirmation timeout uses command_timeout_ms).
 */
#include "core/device_internal.h"

#include <criterion/criterion.h>

Test(host_suggest, offered_from_abi_2_1)
{
	static const char *const formats[] = {"json", "plain", NULL};
	const struct sh_host *host = &sh_host_api;

	cr_expect_eq(SH_PLUGIN_ABI_MAJOR_OF(host->abi_version), 2);
	cr_expect_geq(SH_PLUGIN_ABI_MINOR_OF(host->abi_version), 1);
	cr_assert(SH_HOST_HAS(host, suggest));
	cr_assert(SH_HOST_HAS(host, command_timeout_ms));
	cr_assert(SH_HOST_HAS(host, connect_timeout_ms));
	cr_expect_str_eq(host->suggest("jsonn", formats), "json");
	cr_expect_null(host->suggest("json", formats));
	cr_expect_null(host->suggest("yaml", formats));
	cr_expect_null(host->suggest(NULL, formats));
}
