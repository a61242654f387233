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
 * that nothing publishes any more and clears them. While disconnected
 * (the publish callback fails), clears wait for the next connect, so a
 * device removed during a broker outage does not leave its retained state
 * behind.
 *
 * The table knows nothing of MQTT: it publishes through the callback it
 * was given. It is bounded by what the configuration describes (devices
 * times their entities, plus scenes) and indexed by a hash of the topic,
 * since a start with thousands of devices looks up every topic. Loop
 * thread only.
 */
#ifndef SMARTHUB_MQTT_RETAINED_H
#define SMARTHUB_MQTT_RETAINED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Publishes `payload` (len bytes; 0 clears the topic) retained on
 * `topic`; returns 0 when it went out, a negative errno otherwise. */
typedef int (*sh_retained_publish_fn)(void *ctx, const char *topic, const void *payload,
				      size_t len);

struct sh_retained_entry;

struct sh_retained {
	sh_retained_publish_fn publish;
	void *ctx;
	struct sh_retained_entry *entries; /* dense; removal moves the last into the hole */
	size_t count, capacity;
	uint32_t *slots; /* open addressing: entry index + 1, 0 empty */
	size_t n_slots;  /* a power of two, at least twice count; 0 before the first put */
};

/* An empty table that publishes through `publish` (called with ctx). */
void sh_retained_init(struct sh_retained *r, sh_retained_publish_fn publish, void *ctx);
/* Frees every entry; the table is empty (and usable) afterwards. */
void sh_retained_free(struct sh_retained *r);
/* Marks every entry dead until put or kept again, so sh_retained_end can
 * clear what nothing publishes any more. */
void sh_retained_begin(struct sh_retained *r);
/*
 * Publishes `payload` (a string) retained on `topic`, owned by device
 * `owner` (may be NULL), unless the broker already holds exactly that and
 * `force` is false. Strings are copied. Returns 0, or -ENOMEM when the
 * topic could not be recorded (it was still published).
 */
int sh_retained_put(struct sh_retained *r, const char *topic, const char *owner,
		    const char *payload, bool force);
/* The same for `len` bytes that need not end in a NUL. */
int sh_retained_put_len(struct sh_retained *r, const char *topic, const char *owner,
			const char *payload, size_t len, bool force);
/* Marks `topic`, if known, as still wanted in the current sync without
 * publishing anything. */
void sh_retained_keep(struct sh_retained *r, const char *topic);
/* Clears (publishes empty) every entry not put or kept since
 * sh_retained_begin; those that cannot be cleared now wait for the next. */
void sh_retained_end(struct sh_retained *r);
/* Clears every topic owned by `owner` now. */
void sh_retained_clear_owner(struct sh_retained *r, const char *owner);
/* Forgets the published payloads so the next puts all publish (connect). */
void sh_retained_invalidate(struct sh_retained *r);
/* Topics in the table. */
size_t sh_retained_count(const struct sh_retained *r);

#endif
