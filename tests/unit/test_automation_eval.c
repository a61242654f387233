/* SPDX-License-Identifier: MIT */
/*
 * Trigger evaluation, time and sun on a virtual clock: crossing,
 * hysteresis, for:, unavailable values, the first report after start;
 * time triggers across the Europe/Amsterdam transitions of 2026-03-29 and
 * 2026-10-25; sunrise and sunset against published tables (within one
 * minute) and polar days; conditions that cross midnight.
 */
#include "automations/clock.h"
#include "automations/condition.h"
#include "automations/sun.h"
#include "automations/trigger.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static void amsterdam(void)
{
	setenv("TZ", "Europe/Amsterdam", 1);
	tzset();
}

TestSuite(automation_eval, .init = amsterdam);

static char why[512];

static enum sh_trig_result feed(const struct sh_trigger *t, struct sh_trigger_state *s,
				const char *json, uint64_t now)
{
	cJSON *v = json ? cJSON_Parse(json) : NULL;
	enum sh_trig_result r = sh_trigger_report(t, s, v, now, why, sizeof(why));
	cJSON_Delete(v);
	return r;
}

Test(automation_eval, numeric_fires_on_crossing_only)
{
	struct sh_trigger t = {.type = SH_TRIGGER_NUMERIC, .has_above = true, .above = 30};
	struct sh_trigger_state s = {0};

	cr_assert_eq(feed(&t, &s, "31", 1000), SH_TRIG_NONE, "first report never fires");
	cr_assert(strstr(why, "first report"), "%s", why);
	cr_assert_eq(feed(&t, &s, "32", 2000), SH_TRIG_NONE, "stays inside");
	cr_assert(strstr(why, "not armed since"), "%s", why);
	cr_assert(strstr(why, "was already above 30"), "%s", why);
	cr_assert_eq(feed(&t, &s, "29", 3000), SH_TRIG_NONE);
	cr_assert_eq(feed(&t, &s, "31", 4000), SH_TRIG_FIRE, "%s", why);
	cr_assert_eq(feed(&t, &s, "35", 5000), SH_TRIG_NONE, "never again while inside");
	cr_assert_eq(feed(&t, &s, "30", 6000), SH_TRIG_NONE, "30 is not above 30: re-arms");
	cr_assert_eq(feed(&t, &s, "30.5", 7000), SH_TRIG_FIRE);
	sh_trigger_state_reset(&s);
}

Test(automation_eval, hysteresis_rearms_only_at_threshold_minus_h)
{
	struct sh_trigger t = {
		.type = SH_TRIGGER_NUMERIC, .has_above = true, .above = 30, .hysteresis = 2};
	struct sh_trigger_state s = {0};

	feed(&t, &s, "20", 0);
	cr_assert_eq(feed(&t, &s, "31", 1000), SH_TRIG_FIRE);
	cr_assert_eq(feed(&t, &s, "29", 2000), SH_TRIG_NONE);
	cr_assert(strstr(why, "hysteresis"), "%s", why);
	cr_assert_eq(feed(&t, &s, "31", 3000), SH_TRIG_NONE, "29 did not re-arm");
	cr_assert_eq(feed(&t, &s, "28", 4000), SH_TRIG_NONE);
	cr_assert(strstr(why, "re-armed"), "%s", why);
	cr_assert_eq(feed(&t, &s, "31", 5000), SH_TRIG_FIRE);

	struct sh_trigger b = {
		.type = SH_TRIGGER_NUMERIC, .has_below = true, .below = 10, .hysteresis = 1};
	struct sh_trigger_state sb = {0};
	feed(&b, &sb, "12", 0);
	cr_assert_eq(feed(&b, &sb, "9", 1), SH_TRIG_FIRE);
	cr_assert_eq(feed(&b, &sb, "10.5", 2), SH_TRIG_NONE);
	cr_assert_eq(feed(&b, &sb, "9", 3), SH_TRIG_NONE);
	cr_assert_eq(feed(&b, &sb, "11", 4), SH_TRIG_NONE);
	cr_assert_eq(feed(&b, &sb, "9", 5), SH_TRIG_FIRE);
}

Test(automation_eval, for_must_hold_the_whole_time)
{
	struct sh_trigger t = {
		.type = SH_TRIGGER_NUMERIC, .has_above = true, .above = 30, .for_ms = 60000};
	struct sh_trigger_state s = {0};

	feed(&t, &s, "25", 0);
	cr_assert_eq(feed(&t, &s, "31", 1000), SH_TRIG_PENDING);
	cr_assert_eq(s.deadline_ms, 61000);
	cr_assert_eq(sh_trigger_due(&t, &s, 60999, why, sizeof(why)), SH_TRIG_NONE);
	cr_assert_eq(feed(&t, &s, "29", 30000), SH_TRIG_CANCELLED, "left the range");
	cr_assert_eq(sh_trigger_due(&t, &s, 61000, why, sizeof(why)), SH_TRIG_NONE);
	cr_assert_eq(feed(&t, &s, "31", 70000), SH_TRIG_PENDING);
	cr_assert_eq(feed(&t, &s, "33", 100000), SH_TRIG_NONE, "still inside");
	cr_assert_eq(sh_trigger_due(&t, &s, 130000, why, sizeof(why)), SH_TRIG_FIRE);
	cr_assert_eq(feed(&t, &s, "34", 131000), SH_TRIG_NONE);
}

Test(automation_eval, unavailable_neither_arms_nor_fires)
{
	struct sh_trigger t = {.type = SH_TRIGGER_NUMERIC, .has_above = true, .above = 30};
	struct sh_trigger_state s = {0};

	feed(&t, &s, "25", 0);
	cr_assert_eq(feed(&t, &s, "31", 1), SH_TRIG_FIRE);
	/* Briefly unavailable, then the same value: no second fire. */
	cr_assert_eq(feed(&t, &s, NULL, 2), SH_TRIG_NONE);
	cr_assert_eq(feed(&t, &s, "\"unavailable\"", 3), SH_TRIG_NONE);
	cr_assert_eq(feed(&t, &s, "31", 4), SH_TRIG_NONE);
	/* An unavailable value does not arm either. */
	struct sh_trigger_state s2 = {0};
	cr_assert_eq(feed(&t, &s2, "null", 0), SH_TRIG_NONE);
	cr_assert_not(s2.known);
	cr_assert_eq(feed(&t, &s2, "31", 1), SH_TRIG_NONE, "first valid report");
	/* A pending for: is cancelled by unavailability. */
	struct sh_trigger f = {
		.type = SH_TRIGGER_NUMERIC, .has_above = true, .above = 30, .for_ms = 1000};
	struct sh_trigger_state s3 = {0};
	feed(&f, &s3, "20", 0);
	cr_assert_eq(feed(&f, &s3, "31", 1), SH_TRIG_PENDING);
	cr_assert_eq(feed(&f, &s3, "\"unknown\"", 2), SH_TRIG_CANCELLED);
	cr_assert_eq(sh_trigger_due(&f, &s3, 5000, why, sizeof(why)), SH_TRIG_NONE);
}

Test(automation_eval, state_trigger_to_from)
{
	cJSON *on = cJSON_CreateString("ON"), *off = cJSON_CreateString("OFF");
	struct sh_trigger t = {.type = SH_TRIGGER_STATE, .to = on, .from = off};
	struct sh_trigger_state s = {0};

	cr_assert_eq(feed(&t, &s, "\"ON\"", 0), SH_TRIG_NONE, "first report");
	cr_assert_eq(feed(&t, &s, "\"ON\"", 1), SH_TRIG_NONE);
	cr_assert_eq(feed(&t, &s, "\"OFF\"", 2), SH_TRIG_NONE);
	cr_assert_eq(feed(&t, &s, NULL, 3), SH_TRIG_NONE);
	cr_assert_eq(feed(&t, &s, "\"ON\"", 4), SH_TRIG_FIRE, "%s", why);
	sh_trigger_state_reset(&s);
	cJSON_Delete(on);
	cJSON_Delete(off);
}

/* 2026-03-29 02:30 does not exist in Amsterdam: once, at 03:00 CEST. */
Test(automation_eval, spring_forward_fires_once_at_the_transition)
{
	time_t before = 1774717200; /* 2026-03-28 17:00 UTC */
	time_t t = sh_clock_next(before, 2 * 3600 + 1800, SH_WEEKDAYS_ALL);
	cr_assert_eq(t, 1774746000, "got %lld", (long long)t); /* 2026-03-29 01:00 UTC */
	time_t next = sh_clock_next(t, 2 * 3600 + 1800, SH_WEEKDAYS_ALL);
	cr_assert_eq(next, 1774830600, "the next day, 00:30 UTC: %lld", (long long)next);
	/* 07:30 that day is an ordinary CEST 07:30 (05:30 UTC); 19:00 the
	 * day before is CET. */
	cr_assert_eq(sh_clock_next(before + 3 * 3600, 7 * 3600 + 1800, SH_WEEKDAYS_ALL),
		     1774762200);
	cr_assert_eq(sh_clock_next(before, 19 * 3600, SH_WEEKDAYS_ALL), 1774720800);
}

/* 2026-10-25 02:30 happens twice: once, at the first (CEST). */
Test(automation_eval, fall_back_fires_once_at_the_first_occurrence)
{
	time_t before = 1792872000; /* 2026-10-24 20:00 UTC */
	time_t t = sh_clock_next(before, 2 * 3600 + 1800, SH_WEEKDAYS_ALL);
	cr_assert_eq(t, 1792888200, "2026-10-25 00:30 UTC, got %lld", (long long)t);
	time_t next = sh_clock_next(t, 2 * 3600 + 1800, SH_WEEKDAYS_ALL);
	cr_assert_eq(next, 1792978200, "not at 01:30 UTC but the next day, 01:30 UTC: %lld",
		     (long long)next);
	/* Weekdays: the 25th is a Sunday; Monday only gives the 26th. */
	cr_assert_eq(sh_clock_next(before, 2 * 3600 + 1800, 1u << 1), 1792978200);
}

static void check_event(double lat, double lon, time_t day, enum sh_sun_event ev, time_t want)
{
	time_t got = 0;
	cr_assert_eq(sh_sun_event(lat, lon, day, ev, &got), SH_SUN_OK);
	long long diff = (long long)got - (long long)want;
	cr_expect(diff >= -60 && diff <= 60, "%s at %g,%g: got %lld want %lld (%+lld s)",
		  ev == SH_SUN_SUNRISE ? "sunrise" : "sunset", lat, lon, (long long)got,
		  (long long)want, diff);
}

/* The Dutch AIP (GEN 2.7, 2019) at 52N 5E, its "uniform daylight period"
 * minus its 15 minutes; Tokyo
 * 2012-06-21 (04:25 / 19:00 JST). */
Test(automation_eval, sunrise_sunset_against_published_tables)
{
	check_event(52.0, 5.0, 1546344000, SH_SUN_SUNRISE, 1546328880);     /* 2019-01-01 07:48 */
	check_event(52.0, 5.0, 1546344000, SH_SUN_SUNSET, 1546357140);      /* 15:39 */
	check_event(52.0, 5.0, 1553169600, SH_SUN_SUNRISE, 1553146860);     /* 2019-03-21 05:41 */
	check_event(52.0, 5.0, 1553169600, SH_SUN_SUNSET, 1553190840);      /* 17:54 */
	check_event(52.0, 5.0, 1561118400, SH_SUN_SUNRISE, 1561087200);     /* 2019-06-21 03:20 */
	check_event(52.0, 5.0, 1561118400, SH_SUN_SUNSET, 1561147440);      /* 20:04 */
	check_event(35.68, 139.69, 1340280000, SH_SUN_SUNRISE, 1340220300); /* 06-20 19:25 UTC */
	check_event(35.68, 139.69, 1340280000, SH_SUN_SUNSET, 1340272800);  /* 10:00 UTC */
}

Test(automation_eval, polar_day_and_night_have_no_events)
{
	time_t t;
	/* Tromsø, midsummer and midwinter 2026. */
	cr_assert_eq(sh_sun_event(69.65, 18.96, 1782043200, SH_SUN_SUNRISE, &t), SH_SUN_POLAR_DAY);
	cr_assert_eq(sh_sun_event(69.65, 18.96, 1797854400, SH_SUN_SUNSET, &t), SH_SUN_POLAR_NIGHT);
	cr_assert_gt(sh_sun_elevation(69.65, 18.96, 1782043200 + 11 * 3600), 0.0);
	cr_assert_lt(sh_sun_elevation(69.65, 18.96, 1797854400), 0.0);
}

Test(automation_eval, time_condition_crosses_midnight)
{
	/* 2026-06-03 (Wednesday) 23:14 CEST = 21:14 UTC */
	time_t t = 1780521240;
	cr_assert_not(sh_condition_time_in(8 * 3600, true, 23 * 3600, true, SH_WEEKDAYS_ALL, t, why,
					   sizeof(why)));
	cr_assert_str_eq(why, "23:14 is not before 23:00");
	cr_assert(sh_condition_time_in(22 * 3600, true, 6 * 3600, true, SH_WEEKDAYS_ALL, t, why,
				       sizeof(why)));
	cr_assert(sh_condition_time_in(22 * 3600, true, 6 * 3600, true, SH_WEEKDAYS_ALL,
				       t + 3 * 3600, why, sizeof(why)));
	cr_assert_not(sh_condition_time_in(22 * 3600, true, 6 * 3600, true, SH_WEEKDAYS_ALL,
					   t - 12 * 3600, why, sizeof(why)));
	cr_assert_not(sh_condition_time_in(0, false, 0, false, 1u << 1, t, why, sizeof(why)));
	cr_assert(strstr(why, "Wednesday"), "%s", why);
}
