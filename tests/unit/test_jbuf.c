/* SPDX-License-Identifier: MIT */
/*
 * Tests of the JSON text buffer's printer (daemon/mqtt/jbuf.c): a tree
 * comes out as exactly the text cJSON_PrintUnformatted gives (states,
 * numbers of every kind, escapes, nesting), and what cJSON cannot print
 * is an error.
 */
#include "mqtt/jbuf.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Prints `item` both ways and compares. */
static void same_as_cjson(const cJSON *item)
{
	struct sh_jbuf j;
	char *want = cJSON_PrintUnformatted(item);

	cr_assert_not_null(want);
	sh_jbuf_init(&j, 0);
	sh_jbuf_json(&j, item);
	cr_assert_eq(sh_jbuf_error(&j), 0);
	cr_assert_str_eq(j.data, want);
	cr_assert_eq(j.len, strlen(want));
	sh_jbuf_free(&j);
	cJSON_free(want);
}

static void same_as_cjson_text(const char *text)
{
	cJSON *item = cJSON_Parse(text);

	cr_assert_not_null(item, "%s", text);
	same_as_cjson(item);
	cJSON_Delete(item);
}

Test(jbuf, a_state_prints_as_cjson_prints_it)
{
	same_as_cjson_text("{\"state\":\"ON\",\"brightness\":120,\"color_temp\":300,\"color_mode\":"
			   "\"color_temp\"}");
	same_as_cjson_text("{}");
	same_as_cjson_text("[]");
	same_as_cjson_text("{\"a\":[1,[2,{}],{\"b\":null}],\"t\":true,\"f\":false,\"n\":null}");
}

Test(jbuf, numbers_of_every_kind_print_as_cjson_prints_them)
{
	static const double numbers[] = {0,
					 -0.0,
					 1,
					 -1,
					 255,
					 -40,
					 21.5,
					 0.1,
					 1.0 / 3,
					 -2.5e-7,
					 123456789012345,
					 -123456789012345,
					 999999999999999,
					 1e15,
					 -1e15,
					 1e300,
					 4503599627370497.0,
					 9007199254740993.0,
					 NAN,
					 INFINITY,
					 -INFINITY};

	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		cJSON *n = cJSON_CreateNumber(numbers[i]);

		same_as_cjson(n);
		cJSON_Delete(n);
	}
}

Test(jbuf, strings_and_names_are_escaped_as_cjson_escapes_them)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "quote\"back\\slash", "tab\tnl\ncr\rff\fbs\b");
	cJSON_AddStringToObject(o, "ctl", "\x01\x1f end");
	cJSON_AddStringToObject(o, "utf8", "caf\xc3\xa9 / \xe2\x82\xac");
	cJSON_AddStringToObject(o, "", "");
	cJSON_AddRawToObject(o, "raw", "[1,2]");
	same_as_cjson(o);
	cJSON_Delete(o);
}

Test(jbuf, what_cjson_cannot_print_is_an_error)
{
	struct sh_jbuf j;
	cJSON invalid = {0};

	sh_jbuf_init(&j, 0);
	sh_jbuf_json(&j, NULL);
	cr_assert_eq(sh_jbuf_error(&j), -EINVAL);
	sh_jbuf_free(&j);

	cr_assert_null(cJSON_PrintUnformatted(&invalid));
	sh_jbuf_init(&j, 0);
	sh_jbuf_json(&j, &invalid);
	cr_assert_eq(sh_jbuf_error(&j), -EINVAL);
	sh_jbuf_free(&j);
}
