/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the exec driver's output parsers (plugins/exec/exec_parse.c):
 * what `state` and `read` commands print, turned into state patches.
 */
/* The parser is compiled into the test itself, so the test needs no extra
 * target: it depends on cJSON only, which smarthub_core links. */
#include "../../plugins/exec/exec_parse.c"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

/* The patch printed compactly, for comparisons; "" when parsing failed. */
static char *state_of(const char *out, bool read)
{
	cJSON *patch = NULL;
	int r = read ? exec_parse_read(out, strlen(out), "value", &patch)
		     : exec_parse_state(out, strlen(out), &patch);
	if (r < 0)
		return strdup("");
	char *s = cJSON_PrintUnformatted(patch);
	cJSON_Delete(patch);
	return s;
}

static void expect_state(const char *out, const char *want)
{
	char *got = state_of(out, false);
	cr_expect_str_eq(got, want, "state output '%s'", out);
	free(got);
}

static void expect_read(const char *out, const char *want)
{
	char *got = state_of(out, true);
	cr_expect_str_eq(got, want, "read output '%s'", out);
	free(got);
}

Test(exec_parse, state_words)
{
	expect_state("ON\n", "{\"state\":\"ON\"}");
	expect_state("  on ", "{\"state\":\"ON\"}");
	expect_state("1", "{\"state\":\"ON\"}");
	expect_state("true\n", "{\"state\":\"ON\"}");
	expect_state("OFF\n", "{\"state\":\"OFF\"}");
	expect_state("0\n", "{\"state\":\"OFF\"}");
	expect_state("False", "{\"state\":\"OFF\"}");
}

Test(exec_parse, state_json_is_merged_and_normalised)
{
	expect_state("{\"state\":\"on\",\"power\":12.5}\n", "{\"state\":\"ON\",\"power\":12.5}");
	expect_state("{\"state\":false}", "{\"state\":\"OFF\"}");
	expect_state("{\"state\":1}", "{\"state\":\"ON\"}");
	expect_state("{\"power\":3}", "{\"power\":3}");
}

Test(exec_parse, state_garbage)
{
	const char *bad[] = {"",
			     "\n",
			     "maybe",
			     "ON OFF",
			     "2",
			     "[1]",
			     "\"ON\"",
			     "{\"state\":\"dim\"}",
			     "{\"state\":2}",
			     "{} junk",
			     "{\"a\":1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_state(bad[i], "");
}

Test(exec_parse, read_numbers)
{
	expect_read("21.5\n", "{\"value\":21.5}");
	expect_read("  -3 ", "{\"value\":-3}");
	expect_read("1e3", "{\"value\":1000}");
	cJSON *patch = NULL;
	cr_assert_eq(exec_parse_read("42", 2, "watts", &patch), 0);
	cr_expect_eq(cJSON_GetObjectItem(patch, "watts")->valuedouble, 42);
	cJSON_Delete(patch);
}

Test(exec_parse, read_json_object)
{
	expect_read("{\"temperature\":20.1,\"humidity\":40}\n",
		    "{\"temperature\":20.1,\"humidity\":40}");
}

Test(exec_parse, read_garbage)
{
	const char *bad[] = {"",     "abc",   "12 13", "nan", "inf",
			     "0x1f", "1e999", "[1,2]", "{",   "\"7\""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_read(bad[i], "");
}

Test(exec_parse, only_the_given_length_counts)
{
	cJSON *patch = NULL;
	/* "12" of "12abc": no NUL needed, the rest is beyond len. */
	cr_assert_eq(exec_parse_read("12abc", 2, "value", &patch), 0);
	cr_expect_eq(cJSON_GetObjectItem(patch, "value")->valuedouble, 12);
	cJSON_Delete(patch);
	cr_expect_eq(exec_parse_state("{\"state\":\"ON\"}xyz", 14, &patch), 0);
	cJSON_Delete(patch);
	/* A NUL inside the output is not a word. */
	cr_expect_eq(exec_parse_state("ON\0", 3, &patch), -EINVAL);
}
