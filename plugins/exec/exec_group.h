/* SPDX-License-Identifier: MIT */
/*
 * Signalling an exec child's process group without reaching anyone else's.
 * Each child is started as the leader of its own group (its pgid is its
 * pid), so `kill(-pid)` reaches it and whatever it started; but once the
 * child has been reaped its number is free, and a blind `kill(-pid)` could
 * land on a new process, another device's child among them, that took it.
 * Its own file so a unit test can drive it with real processes.
 */
#ifndef SMARTHUB_EXEC_GROUP_H
#define SMARTHUB_EXEC_GROUP_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * Sends `sig` to the process group led by our child `pid`, but only while
 * that group can be the child's alone: before the child is reaped (running
 * or a zombie), or after it while stragglers of its group keep the number
 * taken and no process has it as its pid. `reaped` says the caller saw the
 * child reaped; a child reaped by someone else (libev's watcher, before our
 * callback ran) is found out here. Returns 0 when sent, -ESRCH when nothing
 * was sent because the group is gone or its number may be another's, or
 * the -errno of kill().
 */
int exec_group_signal(pid_t pid, bool reaped, int sig);

#endif
