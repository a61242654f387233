/* SPDX-License-Identifier: MIT */
/*
 * util's containers and formatters: the intrusive list, the FNV-1a hash,
 * the duration formatter, ARRAY_SIZE, the log rate limiter and "did you
 * mean".
 */
#include "util/duration.h"
#include "util/hash.h"
#include "util/list.h"
#include "util/log.h"
#include "util/macros.h"
#include "util/suggest.h"

#include <criterion/criterion.h>
#include <string.h>

struct item {
	int value;
	struct sh_list link;
};

static int values(struct sh_list *head, int *out, int max)
{
	int n = 0;
	struct sh_list *pos;
	sh_list_for_each(pos, head)
	{
		if (n < max)
			out[n] = sh_list_entry(pos, struct item, link)->value;
		n++;
	}
	return n;
}

Test(list, append_prepend_remove_keep_order)
{
	struct sh_list head;
	sh_list_init(&head);
	cr_assert(sh_list_empty(&head));
	cr_assert_null(sh_list_first(&head));

	struct item a = {1}, b = {2}, c = {3};
	sh_list_init(&b.link);
	cr_assert_not(sh_list_linked(&b.link));
	sh_list_append(&head, &b.link);
	sh_list_append(&head, &c.link);
	sh_list_prepend(&head, &a.link);
	cr_assert(sh_list_linked(&b.link));

	int v[4];
	cr_assert_eq(values(&head, v, 4), 3);
	cr_assert(v[0] == 1 && v[1] == 2 && v[2] == 3);
	cr_assert_eq(sh_list_length(&head), 3);
	cr_assert_eq(sh_list_entry(sh_list_first(&head), struct item, link), &a);

	sh_list_remove(&b.link);
	cr_assert_not(sh_list_linked(&b.link));
	sh_list_remove(&b.link); /* detached: harmless */
	cr_assert_eq(values(&head, v, 4), 2);
	cr_assert(v[0] == 1 && v[1] == 3);
}

Test(list, safe_iteration_allows_removal)
{
	struct sh_list head = SH_LIST_INIT(head);
	struct item it[6];
	for (int i = 0; i < 6; i++) {
		it[i].value = i;
		sh_list_append(&head, &it[i].link);
	}
	struct sh_list *pos, *tmp;
	sh_list_for_each_safe(pos, tmp, &head)
	{
		if (sh_list_entry(pos, struct item, link)->value % 2 == 0)
			sh_list_remove(pos);
	}
	int v[6];
	cr_assert_eq(values(&head, v, 6), 3);
	cr_assert(v[0] == 1 && v[1] == 3 && v[2] == 5);
	sh_list_for_each_safe(pos, tmp, &head) sh_list_remove(pos);
	cr_assert(sh_list_empty(&head));
}

Test(hash, fnv1a64_reference_vectors)
{
	/* The published FNV-1a 64 test vectors. */
	cr_assert_eq(sh_hash_str(""), 0xcbf29ce484222325ull);
	cr_assert_eq(sh_hash_str("a"), 0xaf63dc4c8601ec8cull);
	cr_assert_eq(sh_hash_str("foobar"), 0x85944171f73967e8ull);
	cr_assert_eq(sh_hash_bytes("foobar", 6), sh_hash_str("foobar"));
	cr_assert_neq(sh_hash_str("lamp1"), sh_hash_str("lamp2"));
}

Test(duration, formats_as_the_config_writes_it)
{
	static const struct {
		uint64_t ms;
		const char *text;
	} cases[] = {
		{0, "0ms"},     {1, "1ms"},       {250, "250ms"},  {1000, "1s"},
		{1500, "1.5s"}, {1050, "1050ms"}, {10000, "10s"},  {60000, "1m"},
		{90000, "90s"}, {3600000, "1h"},  {7200000, "2h"}, {3660000, "61m"},
	};
	char buf[SH_DURATION_BUF];
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		cr_expect_str_eq(sh_duration_format(cases[i].ms, buf, sizeof(buf)), cases[i].text,
				 "%llu ms", (unsigned long long)cases[i].ms);
	/* The largest value still fits the documented buffer. */
	sh_duration_format(UINT64_MAX - 1, buf, sizeof(buf));
	cr_expect_eq(strspn(buf, "0123456789.ms"), strlen(buf));
}

Test(ratelimit, burst_then_suppress_then_report_suppressed)
{
	struct sh_ratelimit rl = {.interval_ms = 1000, .burst = 2};
	unsigned suppressed = 99;
	cr_assert(sh_ratelimit_allow(&rl, 5000, &suppressed));
	cr_assert_eq(suppressed, 0);
	cr_assert(sh_ratelimit_allow(&rl, 5100, &suppressed));
	cr_assert_not(sh_ratelimit_allow(&rl, 5200, &suppressed));
	cr_assert_not(sh_ratelimit_allow(&rl, 5999, &suppressed));
	cr_assert_eq(suppressed, 0);
	/* A new window opens: the count of the last one is handed over once. */
	cr_assert(sh_ratelimit_allow(&rl, 6000, &suppressed));
	cr_assert_eq(suppressed, 2);
	cr_assert(sh_ratelimit_allow(&rl, 6001, &suppressed));
	cr_assert_eq(suppressed, 0);
}

Test(ratelimit, time_zero_still_opens_a_window)
{
	struct sh_ratelimit rl = {.interval_ms = 1000, .burst = 1};
	cr_assert(sh_ratelimit_allow(&rl, 0, NULL));
	cr_assert_not(sh_ratelimit_allow(&rl, 10, NULL));
}

Test(list, splice_moves_everything_in_order)
{
	struct sh_list a = SH_LIST_INIT(a), b = SH_LIST_INIT(b);
	struct item it[4] = {{1}, {2}, {3}, {4}};
	sh_list_append(&a, &it[0].link);
	sh_list_append(&b, &it[1].link);
	sh_list_append(&b, &it[2].link);
	sh_list_splice_tail(&a, &b);
	sh_list_splice_tail(&a, &b); /* empty: nothing */
	sh_list_append(&a, &it[3].link);
	cr_assert(sh_list_empty(&b));
	int v[4];
	cr_assert_eq(values(&a, v, 4), 4);
	cr_assert(v[0] == 1 && v[1] == 2 && v[2] == 3 && v[3] == 4);
}

Test(util, suggest_proposes_near_misses_only)
{
	static const char *const names[] = {"", "keepalive", "qos", "connect_timeout", NULL};
	bool known = true;

	cr_expect_str_eq(sh_suggest("keepalve", names, &known), "keepalive");
	cr_expect_not(known);
	cr_expect_str_eq(sh_suggest("conect_timeout", names, NULL), "connect_timeout");
	/* Far from everything: nothing, and never the empty name. */
	cr_expect_null(sh_suggest("foo", names, NULL));
	cr_expect_null(sh_suggest("q", names, NULL));
	cr_expect_null(sh_suggest("qos", names, &known));
	cr_expect(known);
	cr_expect_null(sh_suggest("anything", NULL, NULL));
}
