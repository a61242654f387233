/* SPDX-License-Identifier: MIT */
/*
 * Local time for time triggers and conditions, in the system's time zone
 * (TZ), with the daylight-saving rules users expect:
 *
 *   - a local time that does not exist on a day (02:30 on the spring
 *     forward day in Europe) happens once, at the transition (03:00 CEST);
 *   - a local time that happens twice (02:30 on the fall back day) happens
 *     once, at its first occurrence (02:30 CEST).
 *
 * Pure functions over Unix seconds; they read the time zone through
 * localtime_r, so a test sets TZ and calls tzset() first.
 */
#ifndef SMARTHUB_CLOCK_H
#define SMARTHUB_CLOCK_H

#include <stdbool.h>
#include <time.h>

/* The instant local time `sec` (seconds after midnight) of the local date
 * y-m-d happens, by the rules above. */
time_t sh_clock_local(int year, int month, int day, unsigned sec);

/* The first instant strictly after `after` at which local time `sec`
 * happens on one of `weekdays` (bit 0 Sunday), or (time_t)-1 if none
 * within 8 days (an empty mask). */
time_t sh_clock_next(time_t after, unsigned sec, unsigned weekdays);

/* Local seconds after midnight and weekday (0 Sunday) of `t`. */
unsigned sh_clock_seconds(time_t t, int *weekday);

/* "HH:MM" (or "HH:MM:SS" when seconds are not 0) of a time of day. */
const char *sh_clock_format(unsigned sec, char *buf, size_t len);

#endif
