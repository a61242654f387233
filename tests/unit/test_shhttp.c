/* SPDX-License-Identifier: MIT */
/* The HTTP client's pure helpers (plugins/common/shhttp.c): escaping for
 * paths and queries, and the common timeouts read for libcurl. Requests
 * themselves are driven end to end by the wled, shelly and hue tests. */
#include "shhttp.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

Test(shhttp, escape_keeps_unreserved_and_escapes_the_rest)
{
	char out[64];
	cr_assert_eq(sh_http_escape(out, sizeof(out), "Living lamp/1?&=#%"), 32);
	cr_assert_str_eq(out, "Living%20lamp%2F1%3F%26%3D%23%25");
	cr_assert_eq(sh_http_escape(out, sizeof(out), "a-b.c_d~e"), 9);
	cr_assert_str_eq(out, "a-b.c_d~e");
	cr_assert_eq(sh_http_escape(out, sizeof(out), "\r\n\xc3\xa9"), 12);
	cr_assert_str_eq(out, "%0D%0A%C3%A9");
	cr_assert_eq(sh_http_escape(out, 4, "abcd"), -ENOSPC);
	cr_assert_eq(sh_http_escape(out, 3, " "), -ENOSPC, "no room for the NUL");
}

static struct sh_node connect_node = {.type = SH_NODE_SCALAR, .value = "2s"};
static struct sh_node command_node = {.type = SH_NODE_SCALAR, .value = "1m30s"};

static const struct sh_node *options(const struct sh_device *dev, const char *key)
{
	if (strcmp(key, "connect_timeout") == 0)
		return &connect_node;
	if (strcmp(key, "command_timeout") == 0)
		return &command_node;
	return NULL;
}

static const struct sh_node *no_options(const struct sh_device *dev, const char *key)
{
	return NULL;
}

Test(shhttp, timeouts_follow_the_devices_common_options)
{
	struct sh_host host = {.device_option = options};
	struct sh_http_config c = {0};
	sh_http_device_timeouts(NULL, &host, &c);
	cr_assert_eq(c.connect_timeout_ms, 2000);
	cr_assert_eq(c.timeout_ms, 90000);
	command_node.value = "250"; /* bare numbers are milliseconds */
	sh_http_device_timeouts(NULL, &host, &c);
	cr_assert_eq(c.timeout_ms, 250);
	host.device_option = no_options;
	sh_http_device_timeouts(NULL, &host, &c);
	cr_assert_eq(c.connect_timeout_ms, 10000, "the daemon's default");
	cr_assert_eq(c.timeout_ms, 10000);
}
