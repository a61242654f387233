/* SPDX-License-Identifier: MIT */
/* Keeping asynchronous signals on the loop thread.
 *
 * The daemon handles its signals (SIGCHLD, SIGTERM, SIGHUP, ...) on the
 * libev loop in the main thread. The kernel may deliver a process signal
 * to any thread that does not block it, and under valgrind to whichever
 * thread sits in a system call: a thread that is not the loop then sees
 * EINTR in its own blocking calls. Paho's receive thread loses completed
 * TCP connects that way, so every thread the daemon starts (its own
 * workers, Paho's) starts with the asynchronous signals blocked. Signals
 * of faults stay deliverable, so that a crash on any thread is still
 * reported (ASan's handler) instead of killing the process silently. */
#ifndef SH_UTIL_SIGNALS_H
#define SH_UTIL_SIGNALS_H

#include <signal.h>

/* Blocks every asynchronous signal in the calling thread and stores the
 * previous mask in `old`. Threads created before sh_signals_restore()
 * inherit the blocking mask. */
void sh_signals_block_async(sigset_t *old);

/* Puts back the mask sh_signals_block_async() saved. */
void sh_signals_restore(const sigset_t *old);

#endif
