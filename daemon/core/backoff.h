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
 */
double sh_backoff_delay_s(const struct sh_backoff *backoff, unsigned failures);

#endif
