// SPDX-License-Identifier: MIT
/*
 * Fuzz target for trigger evaluation (daemon/automations/trigger.c). The
 * first byte picks a trigger (numeric above / below / band with
 * hysteresis and for:, state to/from, availability); the rest is a
 * sequence of 3-byte inputs: what happens (a number, an unavailable
 * value, a string, a for: deadline check), a value and a time step.
 * Checked, after every input: the first valid report never fires or
 * starts a timer; unavailable values never fire or start one; a numeric
 * trigger fires only inside its range and never twice without leaving it;
 * a timer fires only once it is due.
 */
#include "automations/trigger.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	cJSON *on = cJSON_CreateString("ON"), *off = cJSON_CreateString("OFF");
	struct sh_trigger triggers[] = {
		{.type = SH_TRIGGER_NUMERIC, .has_above = true, .above = 100},
		{.type = SH_TRIGGER_NUMERIC, .has_below = true, .below = 50, .for_ms = 3000},
		{.type = SH_TRIGGER_NUMERIC,
		 .has_above = true,
		 .above = 60,
		 .has_below = true,
		 .below = 200,
		 .hysteresis = 10,
		 .for_ms = 1000},
		{.type = SH_TRIGGER_STATE, .to = on, .from = off, .for_ms = 2000},
		{.type = SH_TRIGGER_STATE},
		{.type = SH_TRIGGER_AVAILABILITY, .online = false, .for_ms = 500},
	};
	const struct sh_trigger *t = &triggers[data[0] % (sizeof(triggers) / sizeof(triggers[0]))];
	struct sh_trigger_state s = {0};
	uint64_t now = 1000000;
	bool fired_inside = false; /* numeric: fired, and not out since */
	char why[512];

	for (size_t i = 1; i + 3 <= size; i += 3) {
		uint8_t op = data[i] % 4, v = data[i + 1];
		now += (uint64_t)data[i + 2] * 37;
		cJSON *value = NULL;
		bool valid = false;
		switch (op) {
		case 0:
			value = t->type == SH_TRIGGER_AVAILABILITY
					? cJSON_CreateString(v & 1 ? "online" : "offline")
					: cJSON_CreateNumber((double)v);
			valid = true;
			break;
		case 1:
			value = v & 1 ? cJSON_CreateNull() : cJSON_CreateString("unavailable");
			break;
		case 2:
			value = cJSON_CreateString(v & 1 ? "ON" : "OFF");
			valid = t->type == SH_TRIGGER_STATE;
			break;
		case 3: {
			bool pending = s.pending;
			uint64_t deadline = s.deadline_ms;
			enum sh_trig_result r = sh_trigger_due(t, &s, now, why, sizeof(why));
			if (r == SH_TRIG_FIRE && (!pending || now < deadline))
				abort();
			if (r == SH_TRIG_FIRE && t->type == SH_TRIGGER_NUMERIC) {
				if (!sh_trigger_inside(t, s.last))
					abort();
				fired_inside = true;
			}
			continue;
		}
		}
		bool known = s.known;
		enum sh_trig_result r = sh_trigger_report(t, &s, value, now, why, sizeof(why));
		bool starts = r == SH_TRIG_FIRE || r == SH_TRIG_PENDING;
		if (starts && (!known || !valid))
			abort();
		if (t->type == SH_TRIGGER_NUMERIC && valid) {
			bool inside = sh_trigger_inside(t, (double)v);
			if (starts && !inside)
				abort();
			if (r == SH_TRIG_FIRE && fired_inside)
				abort();
			if (r == SH_TRIG_FIRE)
				fired_inside = true;
			if (!inside)
				fired_inside = false;
		}
		if (s.pending && s.deadline_ms != s.since_ms + t->for_ms)
			abort();
		cJSON_Delete(value);
	}
	sh_trigger_state_reset(&s);
	cJSON_Delete(on);
	cJSON_Delete(off);
	return 0;
}
