/* SPDX-License-Identifier: MIT */
/*
 * Local wall time to instants. Time zone offsets are looked up half a
 * day either side of the wanted wall time: transitions are months apart,
 * so those two are the only offsets in play. A wall time valid under
 * either offset is a real instant (the earlier one wins, which is the
 * first occurrence on a fall back day); valid under neither means it
 * fell into the spring forward gap, and the transition itself is found
 * by bisection.
 */
#include "automations/clock.h"

#include <stdio.h>

static long offset_at(time_t t)
{
	struct tm tm;
	localtime_r(&t, &tm);
	return tm.tm_gmtoff;
}

time_t sh_clock_local(int year, int month, int day, unsigned sec)
{
	struct tm tm = {.tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day};
	time_t naive = timegm(&tm) + (time_t)sec; /* the wall time read as UTC */
	long before = offset_at(naive - 43200), after = offset_at(naive + 43200);
	time_t best = (time_t)-1;
	long offs[2] = {before, after};

	for (int i = 0; i < 2; i++) {
		time_t t = naive - offs[i];
		if (offset_at(t) == offs[i] && (best == (time_t)-1 || t < best))
			best = t;
	}
	if (best != (time_t)-1)
		return best;
	/* The gap: the wall clock jumps over `sec`; the transition is between
	 * the two readings of it. */
	time_t lo = naive - (before > after ? before : after);
	time_t hi = naive - (before > after ? after : before);
	while (hi - lo > 1) {
		time_t mid = lo + (hi - lo) / 2;
		if (offset_at(mid) == after)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

time_t sh_clock_next(time_t after, unsigned sec, unsigned weekdays)
{
	struct tm tm;
	time_t start = after - 86400;

	localtime_r(&start, &tm);
	for (int i = 0; i < 10; i++) {
		struct tm d = {.tm_year = tm.tm_year,
			       .tm_mon = tm.tm_mon,
			       .tm_mday = tm.tm_mday + i,
			       .tm_hour = 12};
		/* Normalise the date (and find its weekday) at noon UTC. */
		time_t noon = timegm(&d);
		struct tm n;
		gmtime_r(&noon, &n);
		if (!(weekdays & (1u << n.tm_wday)))
			continue;
		time_t t = sh_clock_local(n.tm_year + 1900, n.tm_mon + 1, n.tm_mday, sec);
		if (t > after)
			return t;
	}
	return (time_t)-1;
}

unsigned sh_clock_seconds(time_t t, int *weekday)
{
	struct tm tm;
	localtime_r(&t, &tm);
	if (weekday)
		*weekday = tm.tm_wday;
	return (unsigned)(tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
}

const char *sh_clock_format(unsigned sec, char *buf, size_t len)
{
	if (sec % 60)
		snprintf(buf, len, "%02u:%02u:%02u", sec / 3600, sec / 60 % 60, sec % 60);
	else
		snprintf(buf, len, "%02u:%02u", sec / 3600, sec / 60 % 60);
	return buf;
}
