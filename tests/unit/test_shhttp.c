/* SPDX-License-Identifier: MIT */
/* The HTTP client's pure helpers (plugins/common/shhttp.c): escaping for
 * paths and queries, and the common timeouts handed to libcurl. Requests
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

/* The daemon's reading of the device's common keys, as a fake host gives
 * it (0: a device whose timeouts the daemon left at 0). */
static uint64_t connect_ms, command_ms;

static uint64_t fake_connect_timeout_ms(const struct sh_device *dev)
{
	return connect_ms;
}

static uint64_t fake_command_timeout_ms(const struct sh_device *dev)
{
	return command_ms;
}

Test(shhttp, timeouts_follow_the_devices_common_options)
{
	struct sh_host host = {.connect_timeout_ms = fake_connect_timeout_ms,
			       .command_timeout_ms = fake_command_timeout_ms};
	struct sh_http_config c = {0};
	connect_ms = 2000;
	command_ms = 90000;
	sh_http_device_timeouts(NULL, &host, &c);
	cr_assert_eq(c.connect_timeout_ms, 2000);
	cr_assert_eq(c.timeout_ms, 90000);
	connect_ms = command_ms = 0;
	sh_http_device_timeouts(NULL, &host, &c);
	cr_assert_eq(c.connect_timeout_ms, 10000, "libcurl never waits forever");
	cr_assert_eq(c.timeout_ms, 10000);
}
