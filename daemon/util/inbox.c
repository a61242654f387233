/* SPDX-License-Identifier: MIT */
/*
 * The bridge's inbox: the one place where Paho's threads and the loop
 * thread meet. Paho callbacks copy messages and connection events in under
 * a mutex; the loop pops them. It owns the items until they are popped and
 * enforces the limits described in inbox.h: a superseded message (its
 * topic waits again later), else the oldest, makes room for a new one, and
 * oversized payloads are never copied. No payload is parsed here (this
 * runs on Paho's threads): "superseded" goes by the topic alone.
 *
 * Items form one FIFO (util/list.h) so that connection events keep their
 * order relative to messages. Dropping the oldest message walks past at
 * most SH_INBOX_CONTROL_LIMIT connection events, so it stays cheap.
 */
#include "util/inbox.h"
#include "util/hash.h"
#include "util/list.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct sh_inbox {
	pthread_mutex_t lock;
	struct sh_list items; /* struct sh_inbox_item, oldest first */
	size_t messages;      /* message items in the list */
	size_t controls;      /* connection events in the list */
	size_t bytes;         /* what the message items cost (item_cost) */
	size_t message_limit;
	size_t byte_limit;
	size_t max_payload;
	size_t dropped; /* since the last sh_inbox_take_dropped */
};

/* What `item` counts against byte_limit. */
static size_t item_cost(const struct sh_inbox_item *item)
{
	size_t n = SH_INBOX_ITEM_COST + (item->topic ? strlen(item->topic) + 1 : 0);

	if (item->response_topic)
		n += 16 + strlen(item->response_topic) + 1;
	if (item->correlation)
		n += 16 + item->correlation_len;
	return item->payload ? n + item->len + 1 : n;
}

static struct sh_inbox_item *item_of(struct sh_list *link)
{
	return sh_list_entry(link, struct sh_inbox_item, link);
}

int sh_inbox_new(size_t message_limit, size_t byte_limit, size_t max_payload, struct sh_inbox **out)
{
	struct sh_inbox *inbox = calloc(1, sizeof(*inbox));

	if (!inbox)
		return -ENOMEM;
	if (pthread_mutex_init(&inbox->lock, NULL) != 0) {
		free(inbox);
		return -ENOMEM;
	}
	sh_list_init(&inbox->items);
	inbox->message_limit = message_limit ? message_limit : 1;
	inbox->byte_limit = byte_limit;
	inbox->max_payload = max_payload;
	*out = inbox;
	return 0;
}

void sh_inbox_item_free(struct sh_inbox_item *item)
{
	if (!item)
		return;
	free(item->topic);
	free(item->payload);
	free(item->response_topic);
	free(item->correlation);
	free(item->reason);
	free(item);
}

/* Frees every item of `list` (the inbox's, or victims taken off it). */
static void free_list(struct sh_list *list)
{
	struct sh_list *link;

	while ((link = sh_list_first(list))) {
		sh_list_remove(link);
		sh_inbox_item_free(item_of(link));
	}
}

void sh_inbox_free(struct sh_inbox *inbox)
{
	if (!inbox)
		return;
	free_list(&inbox->items);
	pthread_mutex_destroy(&inbox->lock);
	free(inbox);
}

/* Unlinks `it` and takes it off the counts; the caller holds the lock. */
static void take(struct sh_inbox *inbox, struct sh_inbox_item *it)
{
	sh_list_remove(&it->link);
	if (it->type == SH_INBOX_MESSAGE) {
		inbox->messages--;
		inbox->bytes -= item_cost(it);
	} else {
		inbox->controls--;
	}
}

/* Unlinks the first item of type `message` (true) or of a connection event
 * (false); the caller holds the lock. */
static struct sh_inbox_item *unlink_oldest(struct sh_inbox *inbox, bool message)
{
	struct sh_list *link;

	sh_list_for_each(link, &inbox->items)
	{
		struct sh_inbox_item *it = item_of(link);

		if ((it->type == SH_INBOX_MESSAGE) == message) {
			take(inbox, it);
			return it;
		}
	}
	return NULL;
}

/* The oldest message whose topic has a newer message in the inbox,
 * unlinked, or NULL when every topic waits only once (or no memory for
 * the count). Two passes over the list with a table of topic hashes: O(n),
 * and only when the inbox is full. The caller holds the lock. */
static struct sh_inbox_item *unlink_superseded(struct sh_inbox *inbox)
{
	struct count {
		unsigned long long h;
		size_t n;
	} * t;
	size_t cap = 16, mask;
	struct sh_inbox_item *found = NULL;
	struct sh_list *link;

	while (cap < 2 * inbox->messages)
		cap *= 2;
	t = calloc(cap, sizeof(*t));
	if (!t)
		return NULL;
	mask = cap - 1;
	sh_list_for_each(link, &inbox->items)
	{
		const struct sh_inbox_item *it = item_of(link);
		size_t i;

		/* clang's analyzer loses the list's shape once a victim moved to
		 * the caller's list (list.h's note); every link here is an item's. */
		// NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult)
		if (it->type != SH_INBOX_MESSAGE)
			continue;
		for (i = it->topic_hash & mask; t[i].n && t[i].h != it->topic_hash;)
			i = (i + 1) & mask;
		t[i].h = it->topic_hash;
		t[i].n++;
	}
	sh_list_for_each(link, &inbox->items)
	{
		struct sh_inbox_item *it = item_of(link);
		size_t i;

		/* clang's analyzer loses the list's shape once a victim moved to
		 * the caller's list (list.h's note); every link here is an item's. */
		// NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult)
		if (it->type != SH_INBOX_MESSAGE)
			continue;
		for (i = it->topic_hash & mask; t[i].h != it->topic_hash;)
			i = (i + 1) & mask;
		if (t[i].n > 1) {
			found = it;
			break;
		}
	}
	free(t);
	if (found)
		take(inbox, found);
	return found;
}

/* How many of the oldest messages a full inbox looks at for one that the
 * arriving message replaces, before the whole scan of unlink_superseded. */
#define REPLACED_SCAN 16

/* The oldest of the first REPLACED_SCAN messages with the topic of `item`
 * (which arrives and so supersedes it), unlinked, or NULL. A flood repeats
 * one topic: this finds its victim at once, where unlink_superseded's two
 * passes and table for every arriving message slowed Paho's receive thread
 * and so everything queued behind the flood. The caller holds the lock. */
static struct sh_inbox_item *unlink_replaced(struct sh_inbox *inbox,
					     const struct sh_inbox_item *item)
{
	struct sh_list *link;
	size_t seen = 0;

	if (!item->topic)
		return NULL;
	sh_list_for_each(link, &inbox->items)
	{
		struct sh_inbox_item *it = item_of(link);

		/* clang's analyzer loses the list's shape once a victim moved to
		 * the caller's list (list.h's note); every link here is an item's. */
		// NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult)
		if (it->type != SH_INBOX_MESSAGE || !it->topic)
			continue;
		if (it->topic_hash == item->topic_hash && strcmp(it->topic, item->topic) == 0) {
			take(inbox, it);
			return it;
		}
		if (++seen == REPLACED_SCAN)
			break;
	}
	return NULL;
}

/* Appends `item` making room first; the victims go to `victims` so that
 * they are freed after the lock is released. */
static void append(struct sh_inbox *inbox, struct sh_inbox_item *item, struct sh_list *victims)
{
	bool message = item->type == SH_INBOX_MESSAGE;
	size_t cost = message ? item_cost(item) : 0;

	if (message) {
		while (inbox->messages && (inbox->messages >= inbox->message_limit ||
					   inbox->bytes + cost > inbox->byte_limit)) {
			struct sh_inbox_item *victim = unlink_replaced(inbox, item);

			if (!victim)
				victim = unlink_superseded(inbox);

			if (!victim)
				victim = unlink_oldest(inbox, true);
			if (!victim) /* cannot be: messages counts the list's */
				break;
			sh_list_append(victims, &victim->link);
			inbox->dropped++;
		}
		inbox->bytes += cost;
	} else if (inbox->controls >= SH_INBOX_CONTROL_LIMIT) {
		struct sh_inbox_item *victim = unlink_oldest(inbox, false);

		if (victim)
			sh_list_append(victims, &victim->link);
	}
	sh_list_append(&inbox->items, &item->link);
	if (message)
		inbox->messages++;
	else
		inbox->controls++;
}

/* Appends under the lock, then frees what made room. */
static void push(struct sh_inbox *inbox, struct sh_inbox_item *item)
{
	struct sh_list victims = SH_LIST_INIT(victims);

	pthread_mutex_lock(&inbox->lock);
	append(inbox, item, &victims);
	pthread_mutex_unlock(&inbox->lock);
	free_list(&victims);
}

/* Copies the reply address into `item`; false when out of memory. */
static bool copy_reply(struct sh_inbox_item *item, const struct sh_inbox_reply *reply)
{
	if (reply->topic) {
		item->response_topic = strndup(reply->topic, reply->topic_len);
		if (!item->response_topic)
			return false;
	}
	if (reply->correlation) {
		/* At least one byte, so that an empty one is still "given". */
		item->correlation = malloc(reply->correlation_len ? reply->correlation_len : 1);
		if (!item->correlation)
			return false;
		memcpy(item->correlation, reply->correlation, reply->correlation_len);
		item->correlation_len = reply->correlation_len;
	}
	return true;
}

int sh_inbox_push_message(struct sh_inbox *inbox, const char *topic, size_t topic_len,
			  const void *payload, size_t len, bool retained)
{
	return sh_inbox_push_reply(inbox, topic, topic_len, payload, len, retained, NULL);
}

int sh_inbox_push_reply(struct sh_inbox *inbox, const char *topic, size_t topic_len,
			const void *payload, size_t len, bool retained,
			const struct sh_inbox_reply *reply)
{
	struct sh_inbox_item *item = calloc(1, sizeof(*item));

	if (!topic_len)
		topic_len = strlen(topic);
	if (!item)
		goto err_count;
	item->type = SH_INBOX_MESSAGE;
	item->len = len;
	item->retained = retained;
	item->topic = strndup(topic, topic_len);
	if (!item->topic)
		goto err_item;
	item->topic_hash = sh_hash_str(item->topic);
	if (reply && !copy_reply(item, reply))
		goto err_item;
	if (len > inbox->max_payload) {
		/* Only the length travels: the loop reports it, nothing parses it. */
		item->too_large = true;
	} else {
		item->payload = malloc(len + 1);
		if (!item->payload)
			goto err_item;
		if (len)
			memcpy(item->payload, payload, len);
		item->payload[len] = '\0';
	}

	push(inbox, item);
	return 0;

err_item:
	sh_inbox_item_free(item);
err_count:
	pthread_mutex_lock(&inbox->lock);
	inbox->dropped++;
	pthread_mutex_unlock(&inbox->lock);
	return -ENOMEM;
}

int sh_inbox_push_event(struct sh_inbox *inbox, enum sh_inbox_type type, const char *reason)
{
	struct sh_inbox_item *item = calloc(1, sizeof(*item));

	if (!item)
		return -ENOMEM;
	item->type = type;
	if (reason) {
		item->reason = strdup(reason);
		if (!item->reason) {
			free(item);
			return -ENOMEM;
		}
	}
	push(inbox, item);
	return 0;
}

struct sh_inbox_item *sh_inbox_pop(struct sh_inbox *inbox)
{
	struct sh_inbox_item *item = NULL;
	struct sh_list *link;

	pthread_mutex_lock(&inbox->lock);
	link = sh_list_first(&inbox->items);
	if (link) {
		item = item_of(link);
		take(inbox, item);
	}
	pthread_mutex_unlock(&inbox->lock);
	return item;
}

size_t sh_inbox_take_dropped(struct sh_inbox *inbox)
{
	size_t n;

	pthread_mutex_lock(&inbox->lock);
	n = inbox->dropped;
	inbox->dropped = 0;
	pthread_mutex_unlock(&inbox->lock);
	return n;
}

size_t sh_inbox_length(struct sh_inbox *inbox)
{
	size_t n;

	pthread_mutex_lock(&inbox->lock);
	n = inbox->messages + inbox->controls;
	pthread_mutex_unlock(&inbox->lock);
	return n;
}

size_t sh_inbox_bytes(struct sh_inbox *inbox)
{
	size_t n;

	pthread_mutex_lock(&inbox->lock);
	n = inbox->bytes;
	pthread_mutex_unlock(&inbox->lock);
	return n;
}
