/* SPDX-License-Identifier: MIT */
/*
 * Conditions: whether an automation that fired may run now. Pure
 * functions over what the caller says the world looks like (device state,
 * the time); the reason a condition does not hold is one sentence for the
 * trace ("23:14 is not before 23:00").
 */
#ifndef SMARTHUB_CONDITION_H
#define SMARTHUB_CONDITION_H

#include "config/config.h"
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <time.h>

struct sh_condition_env {
	/* The device's state object, NULL when unknown or unavailable. */
	const cJSON *(*state)(void *ctx, const char *device);
	void *ctx;
	time_t now;
	const struct sh_location *location;
};

/* Whether `c` holds; when it does not, why (`why` may be NULL). */
bool sh_condition_holds(const struct sh_condition *c, const struct sh_condition_env *env, char *why,
			size_t why_len);

/* Whether all of `conds` hold; the first that does not is reported as
 * "condition 0 (time) not met: ...". */
bool sh_conditions_hold(const struct sh_condition *conds, size_t n,
			const struct sh_condition_env *env, char *why, size_t why_len);

/* Whether local `now` lies in [after, before) (either bound optional; a
 * window with after > before crosses midnight) on one of `weekdays`. */
bool sh_condition_time_in(unsigned after, bool has_after, unsigned before, bool has_before,
			  unsigned weekdays, time_t now, char *why, size_t why_len);

#endif
