/* SPDX-License-Identifier: MIT */
/*
 * The retained topics the bridge owns: device state and availability,
 * scene status, the device and scene lists, and discovery. For each it
 * remembers a hash of what the broker holds, so that a configuration
 * reload or a sensor report republishes only what changed, and which
 * device it belongs to, so that a removed device's topics are cleared
 * (an empty retained payload deletes a retained message).
 *
 * A sync (begin, put everything that should exist, end) finds the topics
 * that nothing publishes any more and clears them. While disconnected,
 * clears wait for the next connect, so a device removed during a broker
 * outage does not leave its retained state behind.
 *
 * The table is bounded by what the configuration describes (devices times
 * their entities plus scenes); a linear search is plenty for a home.
 */
#include "mqtt/bridge_internal.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash_payload(const char *payload)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)payload; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h ? h : 1; /* 0 means "not published" */
}

static struct sh_retained_entry *find(struct sh_retained *r, const char *topic)
{
	for (size_t i = 0; i < r->count; i++)
		if (strcmp(r->entries[i].topic, topic) == 0)
			return &r->entries[i];
	return NULL;
}

static struct sh_retained_entry *add(struct sh_retained *r, const char *topic, const char *owner)
{
	struct sh_retained_entry *e;

	if (r->count == r->capacity) {
		size_t cap = r->capacity ? r->capacity * 2 : 32;
		struct sh_retained_entry *grown = realloc(r->entries, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		r->entries = grown;
		r->capacity = cap;
	}
	e = &r->entries[r->count];
	*e = (struct sh_retained_entry){.topic = strdup(topic),
					.owner = owner ? strdup(owner) : NULL};
	if (!e->topic || (owner && !e->owner)) {
		free(e->topic);
		free(e->owner);
		return NULL;
	}
	r->count++;
	return e;
}

static void remove_at(struct sh_retained *r, size_t i)
{
	free(r->entries[i].topic);
	free(r->entries[i].owner);
	r->count--;
	/* The last entry fills the hole; its old slot is past the end. */
	r->entries[i] = r->entries[r->count];
	r->entries[r->count] = (struct sh_retained_entry){0};
}

void sh_retained_free(struct sh_retained *r)
{
	while (r->count)
		remove_at(r, r->count - 1);
	free(r->entries);
	*r = (struct sh_retained){0};
}

void sh_retained_begin(struct sh_retained *r)
{
	for (size_t i = 0; i < r->count; i++)
		r->entries[i].live = false;
	r->syncing = true;
}

void sh_retained_put(struct sh_bridge *b, const char *topic, const char *owner, const char *payload,
		     bool force)
{
	struct sh_retained_entry *e = find(&b->retained, topic);
	uint64_t h = hash_payload(payload);

	if (!e)
		e = add(&b->retained, topic, owner);
	if (e)
		e->live = true;
	if (e && !force && e->hash == h)
		return;
	if (sh_bridge_publish(b, topic, payload, strlen(payload), b->qos, true) == 0) {
		if (e)
			e->hash = h;
	} else if (e) {
		e->hash = 0;
	}
}

void sh_retained_keep(struct sh_retained *r, const char *topic)
{
	struct sh_retained_entry *e = find(r, topic);

	if (e)
		e->live = true;
}

/* An empty retained payload; true when it went out. */
static bool clear(struct sh_bridge *b, const char *topic)
{
	return sh_bridge_publish(b, topic, "", 0, b->qos, true) == 0;
}

void sh_retained_end(struct sh_bridge *b)
{
	struct sh_retained *r = &b->retained;

	r->syncing = false;
	for (size_t i = 0; i < r->count;) {
		if (!r->entries[i].live && clear(b, r->entries[i].topic)) {
			remove_at(r, i);
			continue;
		}
		i++;
	}
}

void sh_retained_clear_owner(struct sh_bridge *b, const char *owner)
{
	struct sh_retained *r = &b->retained;

	for (size_t i = 0; i < r->count;) {
		struct sh_retained_entry *e = &r->entries[i];

		if (e->owner && strcmp(e->owner, owner) == 0) {
			if (clear(b, e->topic)) {
				remove_at(r, i);
				continue;
			}
			/* Disconnected: the next connect's sync clears it. */
			e->live = false;
			e->hash = 0;
		}
		i++;
	}
}

void sh_retained_invalidate(struct sh_retained *r)
{
	for (size_t i = 0; i < r->count; i++)
		r->entries[i].hash = 0;
}
