// SPDX-License-Identifier: MIT
/*
 * Retry delays: one formula for every reconnecting thing, so devices and
 * the broker connection back off alike.
 */
#include "core/backoff.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define BACKOFF_MIN_MS 10.0

double sh_backoff_delay_u(const struct sh_backoff *b, unsigned failures, double u)
{
	double ms = (double)b->initial_ms;
	double factor = b->factor > 1.0 ? b->factor : 1.0;
	for (unsigned i = 1; i < failures && ms < (double)b->max_ms; i++)
		ms *= factor;
	if (ms > (double)b->max_ms)
		ms = (double)b->max_ms;
	if (b->jitter > 0)
		ms *= 1.0 + b->jitter * (2.0 * u - 1.0);
	if (ms < BACKOFF_MIN_MS)
		ms = BACKOFF_MIN_MS;
	return ms / 1000.0;
}

double sh_backoff_delay_s(const struct sh_backoff *b, unsigned failures)
{
	/* A private state: two daemons started in the same second still
	 * differ by pid, and nothing else in the process draws from it. */
	static unsigned short state[3];
	static bool seeded;
	if (!seeded) {
		uint64_t t = (uint64_t)time(NULL), p = (uint64_t)getpid();
		state[0] = (unsigned short)(t ^ p);
		state[1] = (unsigned short)((t >> 16) ^ (p << 3));
		state[2] = (unsigned short)((t >> 32) ^ 0x330e);
		seeded = true;
	}
	return sh_backoff_delay_u(b, failures, erand48(state));
}
