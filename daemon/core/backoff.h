/* SPDX-License-Identifier: MIT */
/*
 * Retry delays for anything that reconnects (devices, the broker): the
 * exponential backoff with jitter that struct sh_backoff describes.
 */
#ifndef SMARTHUB_BACKOFF_H
#define SMARTHUB_BACKOFF_H

#include "config/config.h"

/*
 * The delay in seconds before the retry that follows `failures`
 * consecutive failures (1 for the first): initial * factor^(failures-1),
 * capped at max, then spread by +-jitter so that peers that failed
 * together do not retry together. Never less than 10 ms.
 *
 * `u` is the random draw, uniform in [0, 1): 0 gives the shortest delay
 * (-jitter), 0.5 the unjittered one, values near 1 the longest (+jitter).
 * Pure, so a test chooses the draw.
 */
double sh_backoff_delay_u(const struct sh_backoff *backoff, unsigned failures, double u);

/*
 * sh_backoff_delay_u with the module's own generator (erand48 on a private
 * state seeded from the time and pid on first use), so no one has to seed
 * the process-wide drand48. Loop thread only.
 */
double sh_backoff_delay_s(const struct sh_backoff *backoff, unsigned failures);

#endif
