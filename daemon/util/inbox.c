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
 * Items form one singly linked FIFO so that connection events keep their
 * order relative to messages. Dropping the oldest message walks past at
 * most SH_INBOX_CONTROL_LIMIT connection events, so it stays cheap.
 */
#include "util/inbox.h"
#include "util/hash.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct sh_inbox {
	pthread_mutex_t lock;
	struct sh_inbox_item *head;
	struct sh_inbox_item *tail;
	size_t messages; /* message items in the list */
	size_t controls; /* connection events in the list */
	size_t bytes;    /* what the message items cost (item_cost) */
	size_t message_limit;
	size_t byte_limit;
	size_t max_payload;
	size_t dropped; /* since the last sh_inbox_take_dropped */
};

/* What `item` counts against byte_limit. */
static size_t item_cost(const struct sh_inbox_item *item)
{
	size_t n = SH_INBOX_ITEM_COST + (item->topic ? strlen(item->topic) + 1 : 0);

	return item->payload ? n + item->len + 1 : n;
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
	free(item->reason);
	free(item);
}

void sh_inbox_free(struct sh_inbox *inbox)
{
	if (!inbox)
		return;
	while (inbox->head) {
		struct sh_inbox_item *next = inbox->head->next;

		sh_inbox_item_free(inbox->head);
		inbox->head = next;
	}
	pthread_mutex_destroy(&inbox->lock);
	free(inbox);
}

/* Unlinks the first item of type `message` (true) or of a connection event
 * (false); the caller holds the lock. */
static struct sh_inbox_item *unlink_oldest(struct sh_inbox *inbox, bool message)
{
	struct sh_inbox_item *prev = NULL;

	for (struct sh_inbox_item *it = inbox->head; it; prev = it, it = it->next) {
		if ((it->type == SH_INBOX_MESSAGE) != message)
			continue;
		if (prev)
			prev->next = it->next;
		else
			inbox->head = it->next;
		if (inbox->tail == it)
			inbox->tail = prev;
		it->next = NULL;
		if (message) {
			inbox->messages--;
			inbox->bytes -= item_cost(it);
		} else {
			inbox->controls--;
		}
		return it;
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
	struct sh_inbox_item *prev = NULL, *it;

	while (cap < 2 * inbox->messages)
		cap *= 2;
	t = calloc(cap, sizeof(*t));
	if (!t)
		return NULL;
	mask = cap - 1;
	for (it = inbox->head; it; it = it->next) {
		size_t i;

		if (it->type != SH_INBOX_MESSAGE)
			continue;
		for (i = it->topic_hash & mask; t[i].n && t[i].h != it->topic_hash;)
			i = (i + 1) & mask;
		t[i].h = it->topic_hash;
		t[i].n++;
	}
	for (it = inbox->head; it; prev = it, it = it->next) {
		size_t i;

		if (it->type != SH_INBOX_MESSAGE)
			continue;
		for (i = it->topic_hash & mask; t[i].h != it->topic_hash;)
			i = (i + 1) & mask;
		if (t[i].n > 1)
			break;
	}
	free(t);
	if (!it)
		return NULL;
	if (prev)
		prev->next = it->next;
	else
		inbox->head = it->next;
	if (inbox->tail == it)
		inbox->tail = prev;
	it->next = NULL;
	inbox->messages--;
	inbox->bytes -= item_cost(it);
	return it;
}

/* Appends `item` making room first; the victims are returned as a list
 * so that they are freed after the lock is released. */
static struct sh_inbox_item *append(struct sh_inbox *inbox, struct sh_inbox_item *item)
{
	struct sh_inbox_item *victims = NULL;
	bool message = item->type == SH_INBOX_MESSAGE;
	size_t cost = message ? item_cost(item) : 0;

	if (message) {
		while (inbox->messages && (inbox->messages >= inbox->message_limit ||
					   inbox->bytes + cost > inbox->byte_limit)) {
			struct sh_inbox_item *victim = unlink_superseded(inbox);

			if (!victim)
				victim = unlink_oldest(inbox, true);

			victim->next = victims;
			victims = victim;
			inbox->dropped++;
		}
		inbox->bytes += cost;
	} else if (inbox->controls >= SH_INBOX_CONTROL_LIMIT) {
		victims = unlink_oldest(inbox, false);
	}
	if (inbox->tail)
		inbox->tail->next = item;
	else
		inbox->head = item;
	inbox->tail = item;
	if (message)
		inbox->messages++;
	else
		inbox->controls++;
	return victims;
}

static void free_list(struct sh_inbox_item *list)
{
	while (list) {
		struct sh_inbox_item *next = list->next;

		sh_inbox_item_free(list);
		list = next;
	}
}

int sh_inbox_push_message(struct sh_inbox *inbox, const char *topic, size_t topic_len,
			  const void *payload, size_t len, bool retained)
{
	struct sh_inbox_item *item = calloc(1, sizeof(*item));
	struct sh_inbox_item *victim;

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

	pthread_mutex_lock(&inbox->lock);
	victim = append(inbox, item);
	pthread_mutex_unlock(&inbox->lock);
	free_list(victim);
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
	struct sh_inbox_item *victim;

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
	pthread_mutex_lock(&inbox->lock);
	victim = append(inbox, item);
	pthread_mutex_unlock(&inbox->lock);
	free_list(victim);
	return 0;
}

struct sh_inbox_item *sh_inbox_pop(struct sh_inbox *inbox)
{
	struct sh_inbox_item *item;

	pthread_mutex_lock(&inbox->lock);
	item = inbox->head;
	if (item) {
		inbox->head = item->next;
		if (!inbox->head)
			inbox->tail = NULL;
		if (item->type == SH_INBOX_MESSAGE) {
			inbox->messages--;
			inbox->bytes -= item_cost(item);
		} else {
			inbox->controls--;
		}
		item->next = NULL;
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
