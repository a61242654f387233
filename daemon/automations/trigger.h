/* SPDX-License-Identifier: MIT */
/*
 * Trigger evaluation: what one device report means for one state,
 * numeric, availability or elevation trigger. Pure functions on a
 * virtual clock (milliseconds); the engine owns the state and the timers.
 *
 * The rules:
 *   - the first valid report after start (or after the automation was
 *     (re)created) never fires: it only says where the value is;
 *   - an unavailable or unknown value (NULL, JSON null, the string
 *     "unavailable"/"unknown", a non-number for a numeric trigger) neither
 *     arms nor fires, and cancels a running for: (the value is not known to
 *     have stayed);
 *   - a numeric trigger fires on a crossing: a valid reading outside the
 *     range, then a valid one inside. A value that stays inside never
 *     fires again; with hysteresis h it re-arms only at above - h (below +
 *     h) or further out;
 *   - with for:, the value must stay inside (at `to`) for the whole time:
 *     the report starts a timer (SH_TRIG_PENDING with the deadline in the
 *     state), leaving cancels it, sh_trigger_due() fires it.
 *
 * Every call writes one sentence about its decision into `why`, for the
 * automation's trace.
 */
#ifndef SMARTHUB_TRIGGER_H
#define SMARTHUB_TRIGGER_H

#include "config/config.h"
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

enum sh_trig_result {
	SH_TRIG_NONE,      /* nothing happens */
	SH_TRIG_FIRE,      /* fire now */
	SH_TRIG_PENDING,   /* a for: timer started: fire at state->deadline_ms */
	SH_TRIG_CANCELLED, /* a running for: timer was cancelled */
};

struct sh_trigger_state {
	bool known;           /* a valid value was seen since start */
	bool armed;           /* numeric: the last valid value was out (re-armed) */
	bool pending;         /* a for: timer runs */
	uint64_t deadline_ms; /* when pending */
	uint64_t since_ms;    /* numeric: when it was disarmed; pending: since when */
	double last;          /* numeric: the last valid value */
	cJSON *value;         /* state: the last valid value (owned) */
	bool online;          /* availability: the last known availability */
};

/* Frees what the state owns and zeroes it. */
void sh_trigger_state_reset(struct sh_trigger_state *s);

/*
 * A report of the trigger's property (or, for an availability trigger,
 * of the device's availability: `value` a JSON string "online" or
 * "offline"; for an elevation trigger, the elevation as a number). `value`
 * is borrowed; NULL means unavailable. `now_ms` on the engine's clock;
 * `clock` formats times for `why` (may be NULL: times in ms).
 */
enum sh_trig_result sh_trigger_report(const struct sh_trigger *t, struct sh_trigger_state *s,
				      const cJSON *value, uint64_t now_ms, char *why,
				      size_t why_len);

/* A pending for: timer reached its deadline: SH_TRIG_FIRE (and no longer
 * pending), or SH_TRIG_NONE when nothing was due. */
enum sh_trig_result sh_trigger_due(const struct sh_trigger *t, struct sh_trigger_state *s,
				   uint64_t now_ms, char *why, size_t why_len);

/* Whether `value` (borrowed) is a valid reading for a numeric comparison,
 * and the number. */
bool sh_trigger_number(const cJSON *value, double *out);
/* Whether `value` is inside t's above/below range. */
bool sh_trigger_inside(const struct sh_trigger *t, double v);

/* Formats an epoch-ms instant as local "HH:MM" (or HH:MM:SS), for reasons. */
const char *sh_trigger_time(uint64_t ms, char *buf, size_t len);

#endif
