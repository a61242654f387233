/* SPDX-License-Identifier: MIT */
/*
 * Confirmation of one command of the mqtt driver: a command is done when
 * the device's reported state satisfies every value it set (equal, or
 * within one device step for scaled numbers), never because "a message
 * came". Stale and intermediate reports simply do not satisfy it; the
 * driver's timer then fails the command with what was last observed.
 *
 * Pure functions over cJSON; the caller owns the struct.
 */
#ifndef SMARTHUB_MQ_CONFIRM_H
#define SMARTHUB_MQ_CONFIRM_H

#include "mq_map.h"

#include <stdint.h>

struct mq_confirm {
	bool active;
	uint64_t id;
	cJSON *want; /* {prop: value}: what must be reported (owned) */
	cJSON *tol;  /* {prop: number}: how far a number may be off (owned) */
	/* TOGGLE against an unknown state: any state other than `before`. */
	bool toggle_any;
	char before[16];
};

/*
 * Starts waiting for `command` (borrowed) with command id `id`. Each
 * member is compared through the first of `codecs` that reads it; members
 * none reads, or reads in another form, are not compared. `observed` is
 * the device's last reported state (TOGGLE is resolved against it).
 * 0 or -ENOMEM.
 */
int mq_confirm_start(struct mq_confirm *c, uint64_t id, const cJSON *command,
		     const struct mq_codec *const *codecs, size_t n_codecs, const cJSON *observed);
/* True when there is nothing to compare (done as soon as it is sent). */
bool mq_confirm_nothing(const struct mq_confirm *c);
/* Whether `observed` satisfies the command. */
bool mq_confirm_satisfied(const struct mq_confirm *c, const cJSON *observed);
/* "brightness is 100, wanted 200" for the first unsatisfied value. */
void mq_confirm_describe(const struct mq_confirm *c, const cJSON *observed, char *buf, size_t len);
/* Forgets the command; accepts an inactive one. */
void mq_confirm_clear(struct mq_confirm *c);

#endif
