/* SPDX-License-Identifier: MIT */
/*
 * Tests of the bridge's publisher (daemon/mqtt/publisher.c): pushes return
 * while the sender is stuck (as it is in Paho's mutex during a flood), the
 * latest retained state of a topic wins in the older one's place, a full
 * queue evicts responses for states and drops the rest with a count, a
 * drain sends everything in order, a discard forgets it, calls (subscriptions)
 * keep their place and are never evicted; the direct path sends on the
 * pushing thread only when nothing queued could be overtaken, and never
 * for QoS 1, replies, a flood, or after a slow call.
 */
#include "mqtt/publisher.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SENT_MAX 64

/* The sender: records "topic=payload" and holds the first publication
 * until the test opens the gate, as a Paho call waiting for its mutex. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool entered, open;
	char sent[SENT_MAX][64];
	size_t n;
} s;

static void fake_send(void *ctx, const struct sh_publication *pub)
{
	pthread_mutex_lock(&s.lock);
	s.entered = true;
	pthread_cond_broadcast(&s.cond);
	while (!s.open)
		pthread_cond_wait(&s.cond, &s.lock);
	if (s.n < SENT_MAX)
		snprintf(s.sent[s.n++], sizeof(s.sent[0]), "%s=%.*s", pub->topic, (int)pub->len,
			 (const char *)pub->payload);
	pthread_mutex_unlock(&s.lock);
}

static void reset(void)
{
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cond, NULL);
	s.entered = s.open = false;
	s.n = 0;
}

/* Waits until the thread sits in the sender with the first publication. */
static void wait_entered(void)
{
	pthread_mutex_lock(&s.lock);
	while (!s.entered)
		pthread_cond_wait(&s.cond, &s.lock);
	pthread_mutex_unlock(&s.lock);
}

static void open_gate(void)
{
	pthread_mutex_lock(&s.lock);
	s.open = true;
	pthread_cond_broadcast(&s.cond);
	pthread_mutex_unlock(&s.lock);
}

static int push(struct sh_publisher *p, const char *topic, const char *payload, bool retain)
{
	return sh_publisher_push(p, &(struct sh_publication){.topic = topic,
							     .payload = payload,
							     .len = strlen(payload),
							     .qos = 1,
							     .retain = retain});
}

static void drain(struct sh_publisher *p)
{
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += 30;
	cr_assert(sh_publisher_drain(p, &deadline));
}

static void expect_sent(const char *const *want, size_t n)
{
	cr_assert_eq(s.n, n, "sent %zu, want %zu", s.n, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(s.sent[i], want[i]);
}

Test(publisher, pushes_return_while_the_sender_is_stuck_and_go_out_in_order)
{
	struct sh_publisher *p;

	reset();

	cr_assert_eq(sh_publisher_new(16, 1 << 20, fake_send, NULL, &p), 0);
	cr_assert_eq(push(p, "first", "0", false), 0);
	wait_entered();
	/* The sender holds "first": these only queue. */
	cr_assert_eq(push(p, "a/state", "1", true), 0);
	cr_assert_eq(push(p, "response", "r", false), 0);
	cr_assert_eq(push(p, "b/state", "2", true), 0);
	cr_assert_eq(sh_publisher_length(p), 3);
	open_gate();
	drain(p);
	expect_sent((const char *const[]){"first=0", "a/state=1", "response=r", "b/state=2"}, 4);
	cr_assert_eq(sh_publisher_take_dropped(p), 0);
	sh_publisher_free(p);
}

Test(publisher, the_latest_retained_state_of_a_topic_wins_in_its_place)
{
	struct sh_publisher *p;

	reset();

	cr_assert_eq(sh_publisher_new(16, 1 << 20, fake_send, NULL, &p), 0);
	cr_assert_eq(push(p, "first", "0", false), 0);
	wait_entered();
	cr_assert_eq(push(p, "a/state", "ON", true), 0);
	cr_assert_eq(push(p, "event", "e", false), 0);
	cr_assert_eq(push(p, "a/state", "OFF", true), 0);
	cr_assert_eq(push(p, "a/state", "ON-again", true), 0);
	/* Not retained: every one is its own message. */
	cr_assert_eq(push(p, "event", "f", false), 0);
	cr_assert_eq(sh_publisher_length(p), 3);
	open_gate();
	drain(p);
	expect_sent((const char *const[]){"first=0", "a/state=ON-again", "event=e", "event=f"}, 4);
	sh_publisher_free(p);
}

Test(publisher, a_full_queue_evicts_responses_for_states_and_counts_drops)
{
	struct sh_publisher *p;

	reset();

	cr_assert_eq(sh_publisher_new(3, 1 << 20, fake_send, NULL, &p), 0);
	cr_assert_eq(push(p, "first", "0", false), 0);
	wait_entered();
	cr_assert_eq(push(p, "response", "1", false), 0);
	cr_assert_eq(push(p, "response", "2", false), 0);
	cr_assert_eq(push(p, "a/state", "ON", true), 0);
	/* Full: a response is dropped, a state evicts the oldest response. */
	cr_assert_eq(push(p, "response", "3", false), -ENOBUFS);
	cr_assert_eq(push(p, "b/state", "ON", true), 0);
	cr_assert_eq(push(p, "c/state", "ON", true), 0);
	/* Only states left: a new state's topic has no room either. */
	cr_assert_eq(push(p, "d/state", "ON", true), -ENOBUFS);
	/* A queued state's topic still takes its latest value. */
	cr_assert_eq(push(p, "b/state", "OFF", true), 0);
	cr_assert_eq(sh_publisher_take_dropped(p), 4);
	cr_assert_eq(sh_publisher_take_dropped(p), 0);
	open_gate();
	drain(p);
	expect_sent((const char *const[]){"first=0", "a/state=ON", "b/state=OFF", "c/state=ON"}, 4);
	sh_publisher_free(p);
}

Test(publisher, bytes_are_bounded_too)
{
	struct sh_publisher *p;
	char big[101];

	reset();

	memset(big, 'x', 100);
	big[100] = '\0';
	/* Room for one topic of 8 with a payload of 100, not two. */
	cr_assert_eq(sh_publisher_new(16, 150, fake_send, NULL, &p), 0);
	cr_assert_eq(push(p, "first", "0", false), 0);
	wait_entered();
	cr_assert_eq(push(p, "response", big, false), 0);
	cr_assert_eq(push(p, "response", big, false), -ENOBUFS);
	cr_assert_eq(sh_publisher_take_dropped(p), 1);
	open_gate();
	drain(p);
	cr_assert_eq(s.n, 2);
	sh_publisher_free(p);
}

Test(publisher, a_discard_forgets_what_waits)
{
	struct sh_publisher *p;

	reset();

	cr_assert_eq(sh_publisher_new(16, 1 << 20, fake_send, NULL, &p), 0);
	cr_assert_eq(push(p, "first", "0", false), 0);
	wait_entered();
	cr_assert_eq(push(p, "a/state", "ON", true), 0);
	cr_assert_eq(push(p, "response", "r", false), 0);
	sh_publisher_discard(p);
	cr_assert_eq(sh_publisher_length(p), 0);
	/* The topic is no longer queued: a new state goes in on its own. */
	cr_assert_eq(push(p, "a/state", "OFF", true), 0);
	open_gate();
	drain(p);
	expect_sent((const char *const[]){"first=0", "a/state=OFF"}, 2);
	cr_assert_eq(sh_publisher_take_dropped(p), 0);
	sh_publisher_free(p);
}

Test(publisher, free_does_not_wait_for_a_drain)
{
	struct sh_publisher *p;

	reset();

	cr_assert_eq(sh_publisher_new(16, 1 << 20, fake_send, NULL, &p), 0);
	cr_assert_eq(push(p, "first", "0", false), 0);
	wait_entered();
	cr_assert_eq(push(p, "a/state", "ON", true), 0);
	open_gate();
	/* The publication in the sender finishes; what waits may be freed
	 * unsent. Either way nothing leaks (ASan) and free returns. */
	sh_publisher_free(p);
	cr_assert_geq(s.n, 1);
	cr_assert_str_eq(s.sent[0], "first=0");
}

static void record_call(void *arg)
{
	pthread_mutex_lock(&s.lock);
	if (s.n < SENT_MAX)
		snprintf(s.sent[s.n++], sizeof(s.sent[0]), "call %s", (const char *)arg);
	pthread_mutex_unlock(&s.lock);
}

Test(publisher, calls_run_in_order_and_are_never_evicted)
{
	struct sh_publisher *p;

	reset();
	cr_assert_eq(sh_publisher_new(3, 1 << 20, fake_send, NULL, &p), 0);
	cr_assert_eq(push(p, "first", "0", false), 0);
	wait_entered();
	cr_assert_eq(sh_publisher_call(p, record_call, strdup("subscribe"), free, 9), 0);
	cr_assert_eq(push(p, "response", "1", false), 0);
	cr_assert_eq(push(p, "a/state", "ON", true), 0);
	/* Full: the state evicts the response, not the call. */
	cr_assert_eq(push(p, "b/state", "ON", true), 0);
	/* Nothing left to evict. */
	cr_assert_eq(sh_publisher_call(p, record_call, strdup("late"), free, 4), -ENOBUFS);
	cr_assert_eq(sh_publisher_take_dropped(p), 2);
	open_gate();
	drain(p);
	expect_sent((const char *const[]){"first=0", "call subscribe", "a/state=ON", "b/state=ON"},
		    4);
	sh_publisher_free(p);
}

/* --- the direct path -------------------------------------------------------- */

/* Who made each call: the pushing thread (the direct path) or the
 * publisher thread. */
static pthread_t sender_of[SENT_MAX];
static bool busy_now;

static void fake_send_who(void *ctx, const struct sh_publication *pub)
{
	pthread_mutex_lock(&s.lock);
	if (s.n < SENT_MAX)
		sender_of[s.n] = pthread_self();
	pthread_mutex_unlock(&s.lock);
	fake_send(ctx, pub);
}

static bool fake_busy(void *ctx)
{
	return busy_now;
}

static int push0(struct sh_publisher *p, const char *topic, const char *payload)
{
	return sh_publisher_push(p, &(struct sh_publication){.topic = topic,
							     .payload = payload,
							     .len = strlen(payload),
							     .qos = 0,
							     .retain = true});
}

static bool sent_here(size_t i)
{
	return pthread_equal(sender_of[i], pthread_self());
}

Test(publisher, the_direct_path_keeps_the_order_with_the_queue)
{
	struct sh_publisher *p;

	reset();
	busy_now = false;
	cr_assert_eq(sh_publisher_new(16, 1 << 20, fake_send_who, NULL, &p), 0);
	sh_publisher_set_direct(p, fake_busy, NULL);
	open_gate();

	/* Idle and quiet: sent before push returns, on this thread. */
	cr_assert_eq(push0(p, "a/state", "1"), 0);
	cr_assert_eq(s.n, 1);
	cr_assert(sent_here(0));

	/* The receiving side is busy: the thread takes it, and stays stuck
	 * in the sender. */
	pthread_mutex_lock(&s.lock);
	s.open = false;
	s.entered = false;
	pthread_mutex_unlock(&s.lock);
	busy_now = true;
	cr_assert_eq(push0(p, "b/state", "2"), 0);
	wait_entered();
	/* Quiet again, but the thread is inside a call: these must queue
	 * behind it rather than overtake it. */
	busy_now = false;
	cr_assert_eq(push0(p, "c/state", "3"), 0);
	cr_assert_eq(push0(p, "d/state", "4"), 0);
	cr_assert_eq(sh_publisher_length(p), 2);
	open_gate();
	drain(p);
	expect_sent((const char *const[]){"a/state=1", "b/state=2", "c/state=3", "d/state=4"}, 4);
	for (size_t i = 1; i < 4; i++)
		cr_assert_not(sent_here(i), "publication %zu overtook the queue", i);

	/* Drained and idle: direct again. */
	cr_assert_eq(push0(p, "e/state", "5"), 0);
	cr_assert_eq(s.n, 5);
	cr_assert(sent_here(4));
	cr_assert_eq(sh_publisher_direct_count(p), 2);
	sh_publisher_free(p);
}

Test(publisher, the_direct_path_is_only_for_quiet_qos0_publications)
{
	struct sh_publisher *p;

	reset();
	busy_now = false;
	cr_assert_eq(sh_publisher_new(16, 1 << 20, fake_send_who, NULL, &p), 0);
	open_gate();

	/* Off until enabled. */
	cr_assert_eq(push0(p, "a/state", "1"), 0);
	drain(p);
	cr_assert_not(sent_here(0));

	sh_publisher_set_direct(p, fake_busy, NULL);
	/* A message id (QoS 1) and an MQTT 5 reply take Paho's busiest
	 * mutex: always through the thread. */
	cr_assert_eq(push(p, "b/state", "2", true), 0);
	drain(p);
	cr_assert_not(sent_here(1));
	cr_assert_eq(sh_publisher_push(p, &(struct sh_publication){.topic = "response",
								   .payload = "r",
								   .len = 1,
								   .reply = true}),
		     0);
	drain(p);
	cr_assert_not(sent_here(2));

	/* A flood coming in: through the thread, and a sibling connection
	 * asking sees it too. */
	cr_assert(sh_publisher_quiet(p));
	sh_publisher_note_incoming(p, 10 * SH_PUBLISHER_DIRECT_RATE_MAX);
	cr_assert_not(sh_publisher_quiet(p));
	cr_assert_eq(push0(p, "c/state", "3"), 0);
	drain(p);
	cr_assert_not(sent_here(3));
	cr_assert_eq(sh_publisher_direct_count(p), 0);
	expect_sent((const char *const[]){"a/state=1", "b/state=2", "response=r", "c/state=3"}, 4);
	sh_publisher_free(p);
}

Test(publisher, a_burst_of_pushes_goes_mostly_through_the_thread)
{
	struct sh_publisher *p;
	size_t burst = 10 * SH_PUBLISHER_DIRECT_RATE_MAX;

	reset();
	busy_now = false;
	cr_assert_eq(sh_publisher_new(16, 1 << 20, fake_send_who, NULL, &p), 0);
	sh_publisher_set_direct(p, fake_busy, NULL);
	open_gate();
	/* Every state after a connect, say: the first few go direct, the
	 * rest to the thread, which makes the calls while the caller goes on. */
	for (size_t i = 0; i < burst; i++) {
		char v[16];

		snprintf(v, sizeof(v), "%zu", i);
		cr_assert_eq(push0(p, "burst", v), 0);
	}
	drain(p);
	cr_assert_lt(sh_publisher_direct_count(p), burst / 2);
	cr_assert_eq(s.n, SENT_MAX); /* the record is full: the last is not in it */
	cr_assert_eq(sh_publisher_take_dropped(p), 0);
	sh_publisher_free(p);
}

/* A sender that takes long, as a Paho call waiting for its mutex does. */
static void slow_send(void *ctx, const struct sh_publication *pub)
{
	struct timespec ts = {.tv_nsec = 2 * SH_PUBLISHER_DIRECT_SLOW_MS * 1000000L};

	if (strcmp(pub->topic, "slow") == 0)
		nanosleep(&ts, NULL);
	fake_send_who(ctx, pub);
}

Test(publisher, a_slow_direct_call_hands_the_next_ones_to_the_thread)
{
	struct sh_publisher *p;

	reset();
	busy_now = false;
	cr_assert_eq(sh_publisher_new(16, 1 << 20, slow_send, NULL, &p), 0);
	sh_publisher_set_direct(p, fake_busy, NULL);
	open_gate();
	cr_assert_eq(push0(p, "slow", "1"), 0);
	cr_assert(sent_here(0));
	cr_assert_eq(push0(p, "a/state", "2"), 0);
	drain(p);
	cr_assert_not(sent_here(1));
	expect_sent((const char *const[]){"slow=1", "a/state=2"}, 2);
	sh_publisher_free(p);
}
