/* SPDX-License-Identifier: MIT */
/*
 * One intrusive, circular, doubly-linked list (the kernel's list_head).
 * A list is a `struct sh_list` head; an element embeds a `struct sh_list`
 * link and is found back with sh_list_entry. The list owns nothing: the
 * caller allocates and frees elements, and unlinks an element before
 * freeing it. Header-only; not thread-safe.
 *
 * A link that is not on any list is "detached" (points to itself) after
 * sh_list_init or sh_list_remove, so removing it twice is harmless.
 *
 * clang's analyzer loses track of a node's removal when an opaque call
 * (a callback) follows it, and then reports the head's next pointer as
 * freed memory in the loop "take the first, remove it, call out, free it".
 * The reads of head->next below carry a suppression for that false
 * positive; ASan runs of the unit tests cover the real thing.
 */
#ifndef SMARTHUB_LIST_H
#define SMARTHUB_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "util/macros.h"

struct sh_list {
	struct sh_list *prev, *next;
};

#define SH_LIST_INIT(name)                                                                         \
	{                                                                                          \
		&(name), &(name)                                                                   \
	}

static inline void sh_list_init(struct sh_list *l)
{
	l->prev = l->next = l;
}

static inline bool sh_list_empty(const struct sh_list *head)
{
	return head->next == head;
}

/* Whether `link` is on a list (false after init or remove). */
static inline bool sh_list_linked(const struct sh_list *link)
{
	return link->next && link->next != link;
}

static inline void sh_list__insert(struct sh_list *link, struct sh_list *prev, struct sh_list *next)
{
	link->prev = prev;
	link->next = next;
	prev->next = link;
	next->prev = link;
}

/* Adds `link` at the end (FIFO order with sh_list_first). */
static inline void sh_list_append(struct sh_list *head, struct sh_list *link)
{
	sh_list__insert(link, head->prev, head);
}

/* Adds `link` at the front. */
static inline void sh_list_prepend(struct sh_list *head, struct sh_list *link)
{
	// NOLINTNEXTLINE(clang-analyzer-unix.Malloc): see the note at the top
	sh_list__insert(link, head, head->next);
}

/* Unlinks `link` from whatever list holds it and detaches it. */
static inline void sh_list_remove(struct sh_list *link)
{
	link->prev->next = link->next;
	link->next->prev = link->prev;
	link->prev = link->next = link;
}

/* Moves every link of `src` to the end of `dst`, in order; `src` is left
 * empty. */
static inline void sh_list_splice_tail(struct sh_list *dst, struct sh_list *src)
{
	if (src->next == src)
		return;
	src->next->prev = dst->prev;
	dst->prev->next = src->next;
	src->prev->next = dst;
	dst->prev = src->prev;
	src->prev = src->next = src;
}

/* The first link, or NULL when empty. */
static inline struct sh_list *sh_list_first(const struct sh_list *head)
{
	// NOLINTNEXTLINE(clang-analyzer-unix.Malloc): see the note at the top
	return head->next == head ? NULL : head->next;
}

static inline size_t sh_list_length(const struct sh_list *head)
{
	size_t n = 0;
	for (const struct sh_list *l = head->next; l != head; l = l->next)
		n++;
	return n;
}

#define sh_list_entry(link, type, member) sh_container_of(link, type, member)

/* Iterates the links; `tmp` keeps the next one, so `pos` may be removed
 * (and freed) inside the body. */
#define sh_list_for_each_safe(pos, tmp, head)                                                      \
	for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head);                           \
	     (pos) = (tmp), (tmp) = (pos)->next)

#define sh_list_for_each(pos, head) for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)

#endif
