/* SPDX-License-Identifier: MIT */
/*
 * The bridge's inbox: a bounded, mutex-protected FIFO that Paho's threads
 * fill and the loop thread drains. Paho callbacks copy what they need into
 * an item (a message's topic and payload, or a connection event and its
 * reason) and push it; the loop pops items one at a time.
 *
 * Three bounds: at most `message_limit` messages wait, and they hold at
 * most `byte_limit` bytes together (each item counted with its topic, its
 * payload and the allocator's overhead, SH_INBOX_ITEM_COST); when a new
 * message would cross either, messages are dropped and counted until it
 * fits: first the oldest whose topic has a newer message waiting (a
 * command superseded by a later one to the same device, so the last
 * command to every topic survives a flood), then the oldest. A payload longer than `max_payload` is not copied at all:
 * the item keeps only its length and is flagged `too_large`, so a flood of
 * huge payloads costs no memory. Connection events are few (one or two
 * per connection attempt) and bounded separately by
 * SH_INBOX_CONTROL_LIMIT, since dropping a message is fine and losing a
 * "connected" is not.
 *
 * Thread-safety: every function may be called from any thread; none calls
 * out while holding the lock.
 */
#ifndef SMARTHUB_INBOX_H
#define SMARTHUB_INBOX_H

#include "util/list.h"

#include <stdbool.h>
#include <stddef.h>

/* Connection events waiting at once; far more than one connection attempt
 * produces, so hitting it means the loop is stuck, not a flood. */
#define SH_INBOX_CONTROL_LIMIT 64

enum sh_inbox_type {
	SH_INBOX_MESSAGE,          /* topic, payload, len, too_large, retained */
	SH_INBOX_CONNECTED,        /* a connect attempt succeeded */
	SH_INBOX_CONNECT_FAILED,   /* a connect attempt failed; reason */
	SH_INBOX_LOST,             /* an established connection was lost; reason */
	SH_INBOX_SUBSCRIBE_FAILED, /* reason */
	SH_INBOX_SUBSCRIBED,       /* the broker granted every filter of a subscribe */
};

struct sh_inbox_item {
	enum sh_inbox_type type;
	char *topic;   /* NUL-terminated; NULL for connection events */
	char *payload; /* NUL-terminated copy (len bytes + NUL); NULL when too_large */
	size_t len;    /* the payload's length as received */
	bool too_large;
	bool retained;
	unsigned long long topic_hash; /* messages: sh_hash_str(topic) */
	char *response_topic;          /* MQTT 5 Response Topic; NULL if none */
	void *correlation;             /* MQTT 5 Correlation Data; NULL if none */
	size_t correlation_len;
	char *reason;        /* connection events; may be NULL */
	struct sh_list link; /* in the inbox; detached once popped */
};

struct sh_inbox;

/* What one message costs against byte_limit beyond its topic and payload
 * bytes: the item and three allocations' headers (and one more header for
 * each of a Response Topic and Correlation Data, with their bytes). */
#define SH_INBOX_ITEM_COST (sizeof(struct sh_inbox_item) + 3 * 16)

/* An MQTT 5 request's reply address, as the message carried it. */
struct sh_inbox_reply {
	const char *topic; /* the Response Topic (topic_len bytes); NULL: none */
	size_t topic_len;
	const void *correlation; /* Correlation Data; NULL: none */
	size_t correlation_len;
};

/* Returns 0 or -ENOMEM. A `message_limit` of 0 is taken as 1; a message
 * larger than `byte_limit` on its own still gets in when the inbox holds
 * no other message (so the loop can report it). */
int sh_inbox_new(size_t message_limit, size_t byte_limit, size_t max_payload,
		 struct sh_inbox **out);
/* Frees the inbox and every item still in it; NULL accepted. */
void sh_inbox_free(struct sh_inbox *inbox);

/*
 * Copies a message into the inbox (topic_len 0: `topic` is NUL-terminated).
 * Returns 0, or -ENOMEM when nothing could be copied (the message is lost
 * and counted as dropped).
 */
int sh_inbox_push_message(struct sh_inbox *inbox, const char *topic, size_t topic_len,
			  const void *payload, size_t len, bool retained);
/* The same with the message's reply address (NULL: none), copied into the
 * item's response_topic and correlation (bounded by MQTT itself: 64 KiB
 * each, and by the packet size the bridge declares). */
int sh_inbox_push_reply(struct sh_inbox *inbox, const char *topic, size_t topic_len,
			const void *payload, size_t len, bool retained,
			const struct sh_inbox_reply *reply);
/* Queues a connection event; `reason` (may be NULL) is copied. 0 or -ENOMEM. */
int sh_inbox_push_event(struct sh_inbox *inbox, enum sh_inbox_type type, const char *reason);

/* The oldest item, removed from the inbox and now the caller's (free it
 * with sh_inbox_item_free), or NULL when empty. */
struct sh_inbox_item *sh_inbox_pop(struct sh_inbox *inbox);
void sh_inbox_item_free(struct sh_inbox_item *item);

/* Messages dropped since the last call (for the "inbox full" event); the
 * counter restarts at zero. */
size_t sh_inbox_take_dropped(struct sh_inbox *inbox);
/* Messages and connection events waiting. */
size_t sh_inbox_length(struct sh_inbox *inbox);
/* Bytes the waiting messages hold, as counted against byte_limit. */
size_t sh_inbox_bytes(struct sh_inbox *inbox);

#endif
