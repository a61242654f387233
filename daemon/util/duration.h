/* SPDX-License-Identifier: MIT */
/*
 * Durations as a user writes them in the configuration ("250ms", "10s",
 * "1.5s", "5m", "2h"): the one formatter for logs, events and --explain.
 * Plain C with no daemon dependency, so in-tree plugins compile it too.
 */
#ifndef SMARTHUB_DURATION_H
#define SMARTHUB_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Longest text sh_duration_format writes, NUL included. */
#define SH_DURATION_BUF 32

/*
 * Writes `ms` into buf (the largest whole unit that is exact: h, m, s;
 * tenths of a second above one second; else ms) and returns buf. Never
 * truncates with a buffer of SH_DURATION_BUF bytes.
 */
const char *sh_duration_format(uint64_t ms, char *buf, size_t len);

#endif
