// SPDX-License-Identifier: MIT
/*
 * Retry delays: one formula for every reconnecting thing, so devices and
 * the broker connection back off alike.
 */
#include "core/backoff.h"

#include <stdlib.h>

#define BACKOFF_MIN_MS 10.0

double sh_backoff_delay_s(const struct sh_backoff *b, unsigned failures)
{
	double ms = (double)b->initial_ms;
	double factor = b->factor > 1.0 ? b->factor : 1.0;
	for (unsigned i = 1; i < failures && ms < (double)b->max_ms; i++)
		ms *= factor;
	if (ms > (double)b->max_ms)
		ms = (double)b->max_ms;
	if (b->jitter > 0)
		ms *= 1.0 + b->jitter * (2.0 * drand48() - 1.0);
	if (ms < BACKOFF_MIN_MS)
		ms = BACKOFF_MIN_MS;
	return ms / 1000.0;
}
