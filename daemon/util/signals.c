/* SPDX-License-Identifier: MIT */
#include "util/signals.h"

#include <pthread.h>

void sh_signals_block_async(sigset_t *old)
{
	/* A thread that faults with its signal blocked is killed without any
	 * handler saying where. */
	static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS};
	sigset_t all;

	sigfillset(&all);
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		sigdelset(&all, faults[i]);
	pthread_sigmask(SIG_BLOCK, &all, old);
}

void sh_signals_restore(const sigset_t *old)
{
	pthread_sigmask(SIG_SETMASK, old, NULL);
}
