/* SPDX-License-Identifier: MIT */
/*
 * Tests of the bridge's inbox (daemon/util/inbox.c): order, the oldest message
 * making room for a new one, connection events surviving a flood,
 * oversized payloads never copied, a request's reply address kept and
 * counted, and many threads pushing at once.
 */
#include "util/inbox.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static void push(struct sh_inbox *inbox, const char *topic, const char *payload)
{
	cr_assert_eq(sh_inbox_push_message(inbox, topic, 0, payload, strlen(payload), false), 0);
}

static void expect_message(struct sh_inbox *inbox, const char *topic, const char *payload)
{
	struct sh_inbox_item *item = sh_inbox_pop(inbox);

	cr_assert_not_null(item);
	cr_assert_eq(item->type, SH_INBOX_MESSAGE);
	cr_assert_str_eq(item->topic, topic);
	cr_assert_str_eq(item->payload, payload);
	cr_assert_eq(item->len, strlen(payload));
	sh_inbox_item_free(item);
}

Test(inbox, keeps_arrival_order_with_events)
{
	struct sh_inbox *inbox;

	cr_assert_eq(sh_inbox_new(8, 1 << 20, 100, &inbox), 0);
	push(inbox, "a/set", "1");
	cr_assert_eq(sh_inbox_push_event(inbox, SH_INBOX_CONNECTED, NULL), 0);
	push(inbox, "b/set", "2");
	cr_assert_eq(sh_inbox_length(inbox), 3);

	expect_message(inbox, "a/set", "1");
	struct sh_inbox_item *ev = sh_inbox_pop(inbox);
	cr_assert_eq(ev->type, SH_INBOX_CONNECTED);
	cr_assert_null(ev->reason);
	sh_inbox_item_free(ev);
	expect_message(inbox, "b/set", "2");
	cr_assert_null(sh_inbox_pop(inbox));
	cr_assert_eq(sh_inbox_take_dropped(inbox), 0);
	sh_inbox_free(inbox);
}

Test(inbox, full_drops_oldest_message_and_counts)
{
	struct sh_inbox *inbox;
	char payload[16];

	cr_assert_eq(sh_inbox_new(3, 1 << 20, 100, &inbox), 0);
	for (int i = 0; i < 5; i++) {
		snprintf(payload, sizeof(payload), "%d", i);
		push(inbox, "t", payload);
	}
	cr_assert_eq(sh_inbox_length(inbox), 3);
	cr_assert_eq(sh_inbox_take_dropped(inbox), 2);
	cr_assert_eq(sh_inbox_take_dropped(inbox), 0, "the counter restarts");
	expect_message(inbox, "t", "2");
	expect_message(inbox, "t", "3");
	expect_message(inbox, "t", "4");
	sh_inbox_free(inbox);
}

Test(inbox, a_full_inbox_drops_superseded_messages_first)
{
	struct sh_inbox *inbox;

	cr_assert_eq(sh_inbox_new(3, 1 << 20, 100, &inbox), 0);
	push(inbox, "a/set", "1");
	push(inbox, "b/set", "1");
	push(inbox, "a/set", "2");
	/* Full: a/set 1 has a newer a/set waiting, so it goes, not b/set. */
	push(inbox, "c/set", "1");
	cr_assert_eq(sh_inbox_take_dropped(inbox), 1);
	/* Every topic waits once now: the oldest goes. */
	push(inbox, "d/set", "1");
	cr_assert_eq(sh_inbox_take_dropped(inbox), 1);
	expect_message(inbox, "a/set", "2");
	expect_message(inbox, "c/set", "1");
	expect_message(inbox, "d/set", "1");
	cr_assert_null(sh_inbox_pop(inbox));
	sh_inbox_free(inbox);
}

Test(inbox, bytes_are_bounded_too)
{
	struct sh_inbox *inbox;
	char big[1000];
	/* Room for two such messages, not three. */
	size_t one = SH_INBOX_ITEM_COST + sizeof("t") + sizeof(big);

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(sh_inbox_new(100, 2 * one + one / 20, 4096, &inbox), 0);
	push(inbox, "t", "small");
	push(inbox, "t", big);
	cr_assert_eq(sh_inbox_take_dropped(inbox), 0);
	push(inbox, "t", big);
	cr_assert_eq(sh_inbox_take_dropped(inbox), 1, "the oldest made room");
	cr_assert_leq(sh_inbox_bytes(inbox), 2 * one + one / 20);
	push(inbox, "t", big);
	cr_assert_eq(sh_inbox_take_dropped(inbox), 1);
	cr_assert_eq(sh_inbox_length(inbox), 2);
	expect_message(inbox, "t", big);
	expect_message(inbox, "t", big);
	cr_assert_eq(sh_inbox_bytes(inbox), 0, "popping gives the bytes back");
	sh_inbox_free(inbox);
}

Test(inbox, one_message_over_the_byte_limit_still_gets_in)
{
	struct sh_inbox *inbox;
	char big[600];

	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(sh_inbox_new(100, 256, 4096, &inbox), 0);
	push(inbox, "t", big);
	cr_assert_eq(sh_inbox_length(inbox), 1);
	push(inbox, "t", big);
	cr_assert_eq(sh_inbox_take_dropped(inbox), 1);
	expect_message(inbox, "t", big);
	cr_assert_null(sh_inbox_pop(inbox));
	sh_inbox_free(inbox);
}

Test(inbox, connection_events_survive_a_message_flood)
{
	struct sh_inbox *inbox;

	cr_assert_eq(sh_inbox_new(2, 1 << 20, 100, &inbox), 0);
	cr_assert_eq(sh_inbox_push_event(inbox, SH_INBOX_LOST, "broker went away"), 0);
	for (int i = 0; i < 10; i++)
		push(inbox, "t", "x");
	struct sh_inbox_item *ev = sh_inbox_pop(inbox);
	cr_assert_eq(ev->type, SH_INBOX_LOST);
	cr_assert_str_eq(ev->reason, "broker went away");
	sh_inbox_item_free(ev);
	cr_assert_eq(sh_inbox_length(inbox), 2);
	cr_assert_eq(sh_inbox_take_dropped(inbox), 8);
	sh_inbox_free(inbox);
}

Test(inbox, oversized_payload_keeps_only_its_length)
{
	struct sh_inbox *inbox;
	static char big[4096];

	memset(big, 'x', sizeof(big));
	cr_assert_eq(sh_inbox_new(4, 1 << 20, 1024, &inbox), 0);
	cr_assert_eq(sh_inbox_push_message(inbox, "dev/set/junk", 7, big, sizeof(big), true), 0);
	struct sh_inbox_item *item = sh_inbox_pop(inbox);
	cr_assert_str_eq(item->topic, "dev/set", "topic_len is honoured");
	cr_assert(item->too_large);
	cr_assert_null(item->payload);
	cr_assert_eq(item->len, sizeof(big));
	cr_assert(item->retained);
	sh_inbox_item_free(item);

	/* Exactly at the limit is fine, and binary payloads keep their bytes. */
	cr_assert_eq(sh_inbox_push_message(inbox, "t", 0, big, 1024, false), 0);
	item = sh_inbox_pop(inbox);
	cr_assert_not(item->too_large);
	cr_assert_eq(item->len, 1024);
	cr_assert_eq(item->payload[1024], '\0');
	sh_inbox_item_free(item);
	sh_inbox_free(inbox);
}

Test(inbox, empty_payload)
{
	struct sh_inbox *inbox;

	cr_assert_eq(sh_inbox_new(4, 1 << 20, 16, &inbox), 0);
	cr_assert_eq(sh_inbox_push_message(inbox, "t", 0, NULL, 0, false), 0);
	expect_message(inbox, "t", "");
	sh_inbox_free(inbox);
}

#define PRODUCERS 4
#define PER_PRODUCER 5000
#define LIMIT 64

static void *producer(void *arg)
{
	struct sh_inbox *inbox = arg;

	for (int i = 0; i < PER_PRODUCER; i++)
		sh_inbox_push_message(inbox, "t", 0, "payload", 7, false);
	return NULL;
}

/* Producers race a consumer: nothing is lost without being counted and the
 * inbox never holds more than its limit. */
Test(inbox, concurrent_producers_are_counted_exactly)
{
	struct sh_inbox *inbox;
	pthread_t threads[PRODUCERS];
	size_t received = 0, dropped = 0;

	cr_assert_eq(sh_inbox_new(LIMIT, 1 << 20, 64, &inbox), 0);
	for (int i = 0; i < PRODUCERS; i++)
		cr_assert_eq(pthread_create(&threads[i], NULL, producer, inbox), 0);
	for (int round = 0; round < 1000; round++) {
		struct sh_inbox_item *item;

		cr_assert_leq(sh_inbox_length(inbox), LIMIT);
		while ((item = sh_inbox_pop(inbox))) {
			received++;
			sh_inbox_item_free(item);
		}
		dropped += sh_inbox_take_dropped(inbox);
	}
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(threads[i], NULL);
	for (struct sh_inbox_item *item; (item = sh_inbox_pop(inbox));) {
		received++;
		sh_inbox_item_free(item);
	}
	dropped += sh_inbox_take_dropped(inbox);
	cr_assert_eq(received + dropped, (size_t)PRODUCERS * PER_PRODUCER);
	sh_inbox_free(inbox);
}

Test(inbox, keeps_a_requests_reply_address_and_counts_it)
{
	struct sh_inbox *inbox;
	const unsigned char corr[] = {0, 1, 2, 0xff};
	const struct sh_inbox_reply reply = {"r/topic/junk", 7, corr, sizeof(corr)};

	cr_assert_eq(sh_inbox_new(8, 1 << 20, 100, &inbox), 0);
	cr_assert_eq(sh_inbox_push_reply(inbox, "t", 0, "{}", 2, false, &reply), 0);
	cr_assert_eq(sh_inbox_bytes(inbox), SH_INBOX_ITEM_COST + sizeof("t") + 3 + 16 +
						    sizeof("r/topic") + 16 + sizeof(corr));
	push(inbox, "u", "{}");

	struct sh_inbox_item *item = sh_inbox_pop(inbox);
	cr_assert_str_eq(item->response_topic, "r/topic");
	cr_assert_eq(item->correlation_len, sizeof(corr));
	cr_assert_arr_eq(item->correlation, corr, sizeof(corr));
	sh_inbox_item_free(item);
	item = sh_inbox_pop(inbox);
	cr_assert_null(item->response_topic);
	cr_assert_null(item->correlation);
	sh_inbox_item_free(item);
	cr_assert_eq(sh_inbox_bytes(inbox), 0);
	sh_inbox_free(inbox);
}
