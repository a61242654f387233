/* SPDX-License-Identifier: MIT */
/*
 * Tests of daemon/kinds/kind.c's command validation where a count is not
 * enough: a colour needs r, g and b exactly once each.
 */
#include "kinds/kind.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>

static int validate(const char *json, char *reason, size_t len)
{
	cJSON *c = cJSON_Parse(json);
	cr_assert_not_null(c, "%s", json);
	int r = sh_kind_validate("light", c, reason, len);
	cJSON_Delete(c);
	return r;
}

Test(kind, color_needs_each_channel_exactly_once)
{
	char reason[256];
	cr_assert_eq(validate("{\"color\":{\"r\":0,\"g\":128,\"b\":255}}", reason, sizeof(reason)),
		     0, "%s", reason);
	cr_assert_eq(validate("{\"color\":{\"b\":1,\"r\":2,\"g\":3}}", reason, sizeof(reason)), 0,
		     "%s", reason);
	static const char *const bad[] = {
		"{\"color\":{\"r\":1,\"r\":2,\"r\":3}}",
		"{\"color\":{\"r\":1,\"g\":2,\"g\":3}}",
		"{\"color\":{\"r\":1,\"g\":2,\"b\":3,\"b\":4}}",
		"{\"color\":{\"r\":1,\"g\":2}}",
		"{\"color\":{\"r\":1,\"g\":2,\"x\":3}}",
		"{\"color\":{\"r\":1,\"g\":2,\"b\":256}}",
		"{\"color\":{\"r\":1,\"g\":2,\"b\":-1}}",
		"{\"color\":{\"r\":1,\"g\":2,\"b\":1.5}}",
		"{\"color\":{\"r\":1,\"g\":2,\"b\":\"3\"}}",
		"{\"color\":[1,2,3]}",
		"{\"color\":{}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reason[0] = '\0';
		cr_expect_eq(validate(bad[i], reason, sizeof(reason)), -EINVAL, "accepted %s",
			     bad[i]);
		cr_expect(reason[0], "no reason for %s", bad[i]);
	}
}
