/* SPDX-License-Identifier: MIT */
/*
 * The bridge's retained table (retained.h): a dense array of entries and
 * an open-addressing index over it, keyed by the topic's FNV-1a hash
 * (util/hash.h). Linear probing with backward-shift deletion keeps the
 * index free of tombstones, so lookups stay short however many devices
 * come and go; the index is at most half full.
 *
 * A payload is remembered by its hash only: the broker holds the payload,
 * we only need to know whether a new one differs.
 */
#include "mqtt/retained.h"
#include "util/hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Index slots of an empty table's first growth. */
#define RETAINED_SLOTS_MIN 64

struct sh_retained_entry {
	char *topic;
	char *owner;         /* the device id whose removal clears it, or NULL */
	uint64_t topic_hash; /* sh_hash_str(topic) */
	uint64_t hash;       /* of the payload the broker holds; 0 = not published */
	bool live;           /* put or kept in the current sync */
};

void sh_retained_init(struct sh_retained *r, sh_retained_publish_fn publish, void *ctx)
{
	*r = (struct sh_retained){.publish = publish, .ctx = ctx};
}

/* The payload's hash; never 0, which means "not published". */
static uint64_t payload_hash(const char *payload, size_t len)
{
	uint64_t h = sh_hash_bytes(payload, len);

	return h ? h : 1;
}

/* --- the index --------------------------------------------------------------- */

/* The slot holding entry `index`, or of `topic` when index is SIZE_MAX;
 * returns the slot's position, or the empty slot ending the probe. */
static size_t probe(const struct sh_retained *r, uint64_t h, const char *topic, size_t index)
{
	size_t mask = r->n_slots - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		uint32_t s = r->slots[i];

		if (!s)
			return i;
		/* By topic when there is one, else by entry index. */
		if (topic ? r->entries[s - 1].topic_hash == h &&
				    strcmp(r->entries[s - 1].topic, topic) == 0
			  : s - 1 == index)
			return i;
	}
}

static int index_grow(struct sh_retained *r, size_t want)
{
	size_t n = r->n_slots ? r->n_slots : RETAINED_SLOTS_MIN;
	uint32_t *slots;

	while (n < 2 * want)
		n *= 2;
	if (n == r->n_slots)
		return 0;
	slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	free(r->slots);
	r->slots = slots;
	r->n_slots = n;
	for (size_t k = 0; k < r->count; k++)
		r->slots[probe(r, r->entries[k].topic_hash, NULL, k)] = (uint32_t)(k + 1);
	return 0;
}

/* Empties slot `i` and moves later entries of its probe run back, so no
 * lookup ever stops early at the hole. */
static void index_delete(struct sh_retained *r, size_t i)
{
	size_t mask = r->n_slots - 1;

	for (size_t j = (i + 1) & mask; r->slots[j]; j = (j + 1) & mask) {
		size_t home = r->entries[r->slots[j] - 1].topic_hash & mask;

		/* The entry at j may fill the hole at i unless its home lies
		 * cyclically in (i, j]. */
		if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
			r->slots[i] = r->slots[j];
			i = j;
		}
	}
	r->slots[i] = 0;
}

static struct sh_retained_entry *find(const struct sh_retained *r, const char *topic)
{
	uint32_t s;

	if (!r->n_slots)
		return NULL;
	s = r->slots[probe(r, sh_hash_str(topic), topic, SIZE_MAX)];
	return s ? &r->entries[s - 1] : NULL;
}

/* --- entries ------------------------------------------------------------------ */

static struct sh_retained_entry *add(struct sh_retained *r, const char *topic, const char *owner)
{
	struct sh_retained_entry *e;
	uint64_t h = sh_hash_str(topic);

	if (r->count + 1 >= UINT32_MAX || index_grow(r, r->count + 1) < 0)
		return NULL;
	if (r->count == r->capacity) {
		size_t cap = r->capacity ? r->capacity * 2 : 32;
		struct sh_retained_entry *grown = realloc(r->entries, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		r->entries = grown;
		r->capacity = cap;
	}
	e = &r->entries[r->count];
	*e = (struct sh_retained_entry){
		.topic = strdup(topic), .owner = owner ? strdup(owner) : NULL, .topic_hash = h};
	if (!e->topic || (owner && !e->owner)) {
		free(e->topic);
		free(e->owner);
		return NULL;
	}
	r->slots[probe(r, h, topic, SIZE_MAX)] = (uint32_t)(r->count + 1);
	r->count++;
	return e;
}

static void remove_at(struct sh_retained *r, size_t k)
{
	size_t last = r->count - 1;

	index_delete(r, probe(r, r->entries[k].topic_hash, NULL, k));
	free(r->entries[k].topic);
	free(r->entries[k].owner);
	if (k != last) {
		/* The last entry fills the hole; its slot follows it. */
		r->slots[probe(r, r->entries[last].topic_hash, NULL, last)] = (uint32_t)(k + 1);
		r->entries[k] = r->entries[last];
	}
	/* Nothing past count points at freed or moved strings. */
	r->entries[last] = (struct sh_retained_entry){0};
	r->count--;
}

void sh_retained_free(struct sh_retained *r)
{
	for (size_t k = 0; k < r->count; k++) {
		free(r->entries[k].topic);
		free(r->entries[k].owner);
	}
	free(r->entries);
	free(r->slots);
	sh_retained_init(r, r->publish, r->ctx);
}

size_t sh_retained_count(const struct sh_retained *r)
{
	return r->count;
}

void sh_retained_begin(struct sh_retained *r)
{
	for (size_t k = 0; k < r->count; k++)
		r->entries[k].live = false;
}

int sh_retained_put_len(struct sh_retained *r, const char *topic, const char *owner,
			const char *payload, size_t len, bool force)
{
	struct sh_retained_entry *e = find(r, topic);
	uint64_t h = payload_hash(payload, len);
	int rc;

	if (!e)
		e = add(r, topic, owner);
	if (e) {
		e->live = true;
		if (!force && e->hash == h)
			return 0;
	}
	/* An empty payload would delete the topic: a put always says something. */
	rc = r->publish(r->ctx, topic, payload, len);
	if (!e)
		return -ENOMEM;
	e->hash = rc == 0 ? h : 0;
	return 0;
}

int sh_retained_put(struct sh_retained *r, const char *topic, const char *owner,
		    const char *payload, bool force)
{
	return sh_retained_put_len(r, topic, owner, payload, strlen(payload), force);
}

void sh_retained_keep(struct sh_retained *r, const char *topic)
{
	struct sh_retained_entry *e = find(r, topic);

	if (e)
		e->live = true;
}

/* An empty retained payload; true when it went out. */
static bool clear(struct sh_retained *r, const char *topic)
{
	return r->publish(r->ctx, topic, "", 0) == 0;
}

void sh_retained_end(struct sh_retained *r)
{
	for (size_t k = 0; k < r->count;) {
		if (!r->entries[k].live && clear(r, r->entries[k].topic)) {
			remove_at(r, k);
			continue;
		}
		k++;
	}
}

void sh_retained_clear_owner(struct sh_retained *r, const char *owner)
{
	for (size_t k = 0; k < r->count;) {
		struct sh_retained_entry *e = &r->entries[k];

		if (e->owner && strcmp(e->owner, owner) == 0) {
			if (clear(r, e->topic)) {
				remove_at(r, k);
				continue;
			}
			/* Disconnected: the next connect's sync clears it. */
			e->live = false;
			e->hash = 0;
		}
		k++;
	}
}

void sh_retained_invalidate(struct sh_retained *r)
{
	for (size_t k = 0; k < r->count; k++)
		r->entries[k].hash = 0;
}
