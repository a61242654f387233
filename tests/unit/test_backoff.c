// SPDX-License-Identifier: MIT
/*
 * Unit tests of the retry delays (core/backoff.c) with the random draw
 * chosen by the test: growth, the cap, the jitter's bounds, the floor.
 */
#include "core/backoff.h"

#include <criterion/criterion.h>
#include <math.h>

static const struct sh_backoff plain = {1000, 60000, 2.0, 0.0};
static const struct sh_backoff jittered = {1000, 30000, 2.0, 0.2};

static void near(double got, double want)
{
	cr_assert(fabs(got - want) < 1e-9, "got %.6f s, want %.6f s", got, want);
}

Test(backoff, grows_by_the_factor_up_to_the_cap)
{
	near(sh_backoff_delay_u(&plain, 1, 0.3), 1.0);
	near(sh_backoff_delay_u(&plain, 2, 0.3), 2.0);
	near(sh_backoff_delay_u(&plain, 3, 0.3), 4.0);
	near(sh_backoff_delay_u(&plain, 6, 0.3), 32.0);
	near(sh_backoff_delay_u(&plain, 7, 0.3), 60.0);
	near(sh_backoff_delay_u(&plain, 1000000, 0.3), 60.0);
}

Test(backoff, zero_failures_is_the_first_delay)
{
	near(sh_backoff_delay_u(&plain, 0, 0.5), 1.0);
}

Test(backoff, jitter_spreads_around_the_delay_within_its_bounds)
{
	near(sh_backoff_delay_u(&jittered, 1, 0.5), 1.0);
	near(sh_backoff_delay_u(&jittered, 1, 0.0), 0.8);
	near(sh_backoff_delay_u(&jittered, 1, 0.75), 1.1);
	/* At the cap the jitter still applies: peers capped together
	 * must not retry together. */
	near(sh_backoff_delay_u(&jittered, 20, 0.0), 24.0);
	cr_assert_lt(sh_backoff_delay_u(&jittered, 20, 0.999999), 36.0);
	cr_assert_gt(sh_backoff_delay_u(&jittered, 20, 0.999999), 35.99);
}

Test(backoff, a_factor_below_one_does_not_shrink)
{
	const struct sh_backoff b = {500, 10000, 0.5, 0.0};
	near(sh_backoff_delay_u(&b, 1, 0.5), 0.5);
	near(sh_backoff_delay_u(&b, 9, 0.5), 0.5);
}

Test(backoff, never_below_ten_milliseconds)
{
	const struct sh_backoff zero = {0, 0, 2.0, 0.0};
	near(sh_backoff_delay_u(&zero, 5, 0.5), 0.010);
	const struct sh_backoff tiny = {10, 1000, 2.0, 0.5};
	near(sh_backoff_delay_u(&tiny, 1, 0.0), 0.010);
}

Test(backoff, the_default_source_stays_within_the_jitter)
{
	double lo = 1e9, hi = 0;
	for (int i = 0; i < 2000; i++) {
		double d = sh_backoff_delay_s(&jittered, 1);
		cr_assert(d >= 0.8 - 1e-9 && d <= 1.2 + 1e-9, "%.6f s outside 0.8..1.2", d);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	/* It does draw: 2,000 uniform draws cover most of the range. */
	cr_assert_lt(lo, 0.85);
	cr_assert_gt(hi, 1.15);
}
