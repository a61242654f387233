/* SPDX-License-Identifier: MIT */
/*
 * Tests of the bridge's retained table (daemon/mqtt/retained.c): only
 * changes are published, a sync clears what nothing wants any more, a
 * removed device's topics go, clears wait while disconnected, and the hash
 * index finds every topic through thousands of additions and removals.
 */
#include "mqtt/retained.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A broker that records what it was sent, and can be "down". */
struct fake {
	bool down;
	size_t published, cleared;
	char last_topic[128], last_payload[128];
};

static int fake_publish(void *ctx, const char *topic, const void *payload, size_t len)
{
	struct fake *f = ctx;

	if (f->down)
		return -105; /* -ENOBUFS: anything negative */
	if (len)
		f->published++;
	else
		f->cleared++;
	snprintf(f->last_topic, sizeof(f->last_topic), "%s", topic);
	snprintf(f->last_payload, sizeof(f->last_payload), "%.*s", (int)len, (const char *)payload);
	return 0;
}

Test(retained, publishes_only_changes)
{
	struct fake f = {0};
	struct sh_retained r;

	sh_retained_init(&r, fake_publish, &f);
	cr_assert_eq(sh_retained_put(&r, "hub/lamp", "lamp", "{\"state\":\"ON\"}", false), 0);
	cr_assert_eq(f.published, 1);
	sh_retained_put(&r, "hub/lamp", "lamp", "{\"state\":\"ON\"}", false);
	cr_assert_eq(f.published, 1, "unchanged: not sent again");
	sh_retained_put(&r, "hub/lamp", "lamp", "{\"state\":\"ON\"}", true);
	cr_assert_eq(f.published, 2, "forced");
	sh_retained_put(&r, "hub/lamp", "lamp", "{\"state\":\"OFF\"}", false);
	cr_assert_eq(f.published, 3);
	cr_assert_str_eq(f.last_payload, "{\"state\":\"OFF\"}");
	sh_retained_invalidate(&r);
	sh_retained_put(&r, "hub/lamp", "lamp", "{\"state\":\"OFF\"}", false);
	cr_assert_eq(f.published, 4, "a new session publishes again");
	cr_assert_eq(sh_retained_count(&r), 1);
	sh_retained_free(&r);
}

Test(retained, sync_clears_what_nothing_wants)
{
	struct fake f = {0};
	struct sh_retained r;

	sh_retained_init(&r, fake_publish, &f);
	sh_retained_put(&r, "hub/a", "a", "1", false);
	sh_retained_put(&r, "hub/b", "b", "2", false);
	sh_retained_put(&r, "hub/c", NULL, "3", false);
	sh_retained_begin(&r);
	sh_retained_put(&r, "hub/a", "a", "1", false);
	sh_retained_keep(&r, "hub/c");
	sh_retained_end(&r);
	cr_assert_eq(f.cleared, 1);
	cr_assert_str_eq(f.last_topic, "hub/b");
	cr_assert_eq(sh_retained_count(&r), 2);

	/* While the broker is away the clear waits for the next sync. */
	f.down = true;
	sh_retained_clear_owner(&r, "a");
	cr_assert_eq(sh_retained_count(&r), 2);
	f.down = false;
	sh_retained_begin(&r);
	sh_retained_keep(&r, "hub/c");
	sh_retained_end(&r);
	cr_assert_eq(f.cleared, 2);
	cr_assert_str_eq(f.last_topic, "hub/a");
	cr_assert_eq(sh_retained_count(&r), 1);
	sh_retained_free(&r);
}

Test(retained, clear_owner_removes_every_topic_of_a_device)
{
	struct fake f = {0};
	struct sh_retained r;

	sh_retained_init(&r, fake_publish, &f);
	sh_retained_put(&r, "hub/lamp", "lamp", "{}", false);
	sh_retained_put(&r, "hub/lamp/availability", "lamp", "online", false);
	sh_retained_put(&r, "hub/plug", "plug", "{}", false);
	sh_retained_clear_owner(&r, "lamp");
	cr_assert_eq(f.cleared, 2);
	cr_assert_eq(sh_retained_count(&r), 1);
	/* The topic is new again: it is published. */
	size_t before = f.published;
	sh_retained_put(&r, "hub/lamp", "lamp", "{}", false);
	cr_assert_eq(f.published, before + 1);
	sh_retained_free(&r);
}

/* Thousands of topics, half removed in a scattered order, then added
 * back: every lookup must still find its entry (the index survives
 * growth, backward shifts and the moves of removal). */
Test(retained, index_survives_growth_and_removals)
{
	enum { N = 6000 };
	struct fake f = {0};
	struct sh_retained r;
	char topic[64], owner[32];

	sh_retained_init(&r, fake_publish, &f);
	for (int i = 0; i < N; i++) {
		snprintf(topic, sizeof(topic), "hub/d%05d", i);
		snprintf(owner, sizeof(owner), "d%05d", i);
		cr_assert_eq(sh_retained_put(&r, topic, owner, "x", false), 0);
	}
	cr_assert_eq(sh_retained_count(&r), N);
	for (int i = 0; i < N; i += 2) {
		snprintf(owner, sizeof(owner), "d%05d", (i * 7919) % N);
		sh_retained_clear_owner(&r, owner);
	}
	size_t left = sh_retained_count(&r);
	f.published = 0;
	/* Survivors are found (unchanged: nothing published); the removed are
	 * new (published once each). */
	for (int i = 0; i < N; i++) {
		snprintf(topic, sizeof(topic), "hub/d%05d", i);
		snprintf(owner, sizeof(owner), "d%05d", i);
		sh_retained_put(&r, topic, owner, "x", false);
	}
	cr_assert_eq(f.published, N - left);
	cr_assert_eq(sh_retained_count(&r), N);
	sh_retained_free(&r);
}
