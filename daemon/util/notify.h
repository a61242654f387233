/* SPDX-License-Identifier: MIT */
/*
 * systemd's notification protocol without libsystemd: datagrams to the
 * socket named by NOTIFY_SOCKET (a path, or an abstract name starting with
 * '@'). Without NOTIFY_SOCKET every call is a no-op.
 */
#ifndef SMARTHUB_NOTIFY_H
#define SMARTHUB_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* Sends `text` ("READY=1\nSTATUS=...") as one datagram. 0 or -errno. */
int sh_notify(const char *text);
int sh_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The watchdog period from WATCHDOG_USEC (checking WATCHDOG_PID), in
 * microseconds; 0 when the watchdog is off. */
uint64_t sh_notify_watchdog_usec(void);

#endif
