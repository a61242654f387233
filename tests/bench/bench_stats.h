/* SPDX-License-Identifier: MIT */
/*
 * Pure helpers of the benchmark: the monotonic clock in nanoseconds and
 * latency summaries (percentiles over a sample). Nothing here starts a
 * process or touches the network, so it can be reasoned about (and
 * tested) on its own.
 */
#ifndef SMARTHUB_BENCH_STATS_H
#define SMARTHUB_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);
/* Sleeps until the monotonic time `deadline_ns` (returns at once if past). */
void bench_sleep_until(uint64_t deadline_ns);
void bench_sleep_ms(unsigned ms);

struct bench_summary {
	size_t n;      /* samples summarised */
	double p50_ms; /* nearest-rank percentiles, in milliseconds */
	double p99_ms;
	double max_ms;
	double mean_ms;
};

/* Summarises n latencies given in nanoseconds. Sorts `ns` in place. With
 * n == 0 every figure is 0. */
void bench_summarise(uint64_t *ns, size_t n, struct bench_summary *out);
/* The nearest-rank percentile p (0..100) of a sorted array. */
uint64_t bench_percentile(const uint64_t *sorted, size_t n, double p);
/* The median of n doubles (sorted in place); 0 when n == 0. */
double bench_median(double *v, size_t n);

#endif
