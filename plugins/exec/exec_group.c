/* SPDX-License-Identifier: MIT */
/*
 * Signalling an exec child's process group (see exec_group.h).
 */
#include "exec_group.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

int exec_group_signal(pid_t pid, bool reaped, int sig)
{
	/* Until the leader is reaped (running, or a zombie) its pid, and so
	 * the group id, are ours. WNOWAIT leaves a zombie for its watcher. */
	siginfo_t info;
	if (!reaped && waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0)
		return kill(-pid, sig) == 0 ? 0 : -errno;
	/* Reaped. Linux keeps the number taken while any process still has it
	 * as its group id, so while stragglers live no new process can have
	 * it and -pid reaches only them. When none is left the number may
	 * belong to a new process, which exists only then: nothing is sent.
	 * (A new process taking the number and making itself a group leader
	 * between this check and the kill is the one window left.) */
	if (kill(pid, 0) == 0 || errno != ESRCH)
		return -ESRCH;
	return kill(-pid, sig) == 0 ? 0 : -errno;
}
