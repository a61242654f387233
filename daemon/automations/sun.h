/* SPDX-License-Identifier: MIT */
/*
 * The sun, computed offline with NOAA's solar equations (the ones of
 * NOAA's solar calculator spreadsheet): sunrise and sunset of a day at a
 * place, and the sun's elevation at an instant. Accurate to well under a
 * minute between latitudes 72 N and 72 S; nearer the poles the events
 * themselves are ill-defined.
 *
 * Pure functions: no state, no allocation.
 */
#ifndef SMARTHUB_SUN_H
#define SMARTHUB_SUN_H

#include "config/config.h"
#include <time.h>

enum sh_sun_result {
	SH_SUN_OK,
	SH_SUN_POLAR_NIGHT, /* the sun stays below the horizon all day */
	SH_SUN_POLAR_DAY,   /* the sun stays above the horizon all day */
};

/*
 * The sunrise or sunset of the UTC date `day` (any instant of it) at
 * `latitude`/`longitude` (degrees, north and east positive), in *out.
 * The event is the one nearest that day's solar noon. Returns
 * SH_SUN_OK, or a polar result and *out untouched.
 */
enum sh_sun_result sh_sun_event(double latitude, double longitude, time_t day,
				enum sh_sun_event event, time_t *out);

/* The sun's elevation above the horizon in degrees at `t`, with the usual
 * atmospheric refraction correction. */
double sh_sun_elevation(double latitude, double longitude, time_t t);

#endif
