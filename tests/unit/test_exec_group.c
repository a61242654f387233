/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of how the exec driver signals a child's process group
 * (plugins/exec/exec_group.c), with real processes: the group of a child
 * that is still ours goes, stragglers of a reaped child go, and a group
 * whose number now belongs to another process (the child was reaped and
 * its pid taken, say by another device's child, which exec also makes a
 * group leader) is left alone (issue 16 item 8).
 *
 * Whether a process got a signal is asked of the process itself, with no
 * sleep: each stand-in answers a byte on a pipe for every byte it reads.
 * A signal sent before the question is pending by the time it reads it
 * (SIGKILL ends it, and the answer is end of file), so the answer says
 * whether the signal came.
 */
/* Compiled into the test: it needs nothing but libc. */
#include "../../plugins/exec/exec_group.c"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

/* A process that answers every byte on `ask` with one on `answer`. */
struct stand_in {
	pid_t pid;
	int ask, answer; /* our ends */
};

static void serve(int ask, int answer)
{
	char c;
	while (read(ask, &c, 1) == 1)
		if (write(answer, &c, 1) != 1)
			break;
	_exit(0);
}

/* A child of ours leading its own group, as exec starts them. */
static struct stand_in group_leader(void)
{
	int ask[2], answer[2];
	cr_assert_eq(pipe(ask), 0);
	cr_assert_eq(pipe(answer), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		setpgid(0, 0);
		close(ask[1]);
		close(answer[0]);
		serve(ask[0], answer[1]);
	}
	setpgid(pid, pid); /* both sides set it: no race with the kill */
	close(ask[0]);
	close(answer[1]);
	return (struct stand_in){pid, ask[1], answer[0]};
}

/* Asks whether it is still there; false once a SIGKILL reached it. */
static bool answers(const struct stand_in *s)
{
	char c = '?';
	if (write(s->ask, &c, 1) != 1)
		return false;
	return read(s->answer, &c, 1) == 1;
}

/* Ends it (if a test left it running) and reaps it. */
static int finish(struct stand_in *s)
{
	int status = 0;
	kill(s->pid, SIGKILL);
	cr_assert_eq(waitpid(s->pid, &status, 0), s->pid);
	close(s->ask);
	close(s->answer);
	return status;
}

static bool killed(int status)
{
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

/*
 * A child of ours leading its own group with one more member, a
 * grandchild, whose pid comes back in *straggler. With `leader_exits` the
 * leader exits at once and the grandchild is left. The test process is
 * a subreaper, so the grandchild becomes our child when its parent dies
 * and the test can reap it.
 */
static pid_t group_with_straggler(bool leader_exits, struct stand_in *straggler)
{
	int ask[2], answer[2], report[2];
	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	cr_assert_eq(pipe(ask), 0);
	cr_assert_eq(pipe(answer), 0);
	cr_assert_eq(pipe(report), 0);
	pid_t leader = fork();
	cr_assert_geq(leader, 0);
	if (leader == 0) {
		setpgid(0, 0);
		pid_t g = fork();
		if (g == 0) {
			close(ask[1]);
			close(answer[0]);
			close(report[0]);
			close(report[1]);
			serve(ask[0], answer[1]);
		}
		/* Only the grandchild answers: its end of file is its death. */
		close(ask[0]);
		close(ask[1]);
		close(answer[0]);
		close(answer[1]);
		if (write(report[1], &g, sizeof(g)) != sizeof(g) || leader_exits)
			_exit(0);
		for (;;)
			pause();
	}
	setpgid(leader, leader);
	close(ask[0]);
	close(answer[1]);
	close(report[1]);
	pid_t g = 0;
	cr_assert_eq(read(report[0], &g, sizeof(g)), (ssize_t)sizeof(g));
	close(report[0]);
	cr_assert_gt(g, 0);
	*straggler = (struct stand_in){g, ask[1], answer[0]};
	cr_assert(answers(straggler), "the grandchild runs");
	return leader;
}

/* A question to a stand-in that died must not kill the test. */
static void ignore_sigpipe(void)
{
	signal(SIGPIPE, SIG_IGN);
}

TestSuite(exec_group, .init = ignore_sigpipe, .timeout = 30);

Test(exec_group, running_child_and_its_group_are_signalled)
{
	struct stand_in g;
	pid_t leader = group_with_straggler(false, &g);
	cr_assert_eq(exec_group_signal(leader, false, SIGKILL), 0);
	int status = 0;
	cr_assert_eq(waitpid(leader, &status, 0), leader);
	cr_expect(killed(status), "the child is killed");
	cr_expect_not(answers(&g), "its group's other member too");
	cr_expect(killed(finish(&g)));
}

/* The child exited right at its timeout and is a zombie nobody reaped
 * yet: its number is still ours and its group still goes. */
Test(exec_group, exited_unreaped_child_still_owns_its_group)
{
	struct stand_in g;
	pid_t leader = group_with_straggler(true, &g);
	siginfo_t info = {0};
	cr_assert_eq(waitid(P_PID, (id_t)leader, &info, WEXITED | WNOWAIT), 0);
	cr_assert_eq(exec_group_signal(leader, false, SIGKILL), 0);
	cr_expect_not(answers(&g), "the straggler is killed");
	cr_expect(killed(finish(&g)));
	cr_assert_eq(waitpid(leader, NULL, 0), leader);
}

/* The child was reaped; its group lives on in a straggler, which keeps
 * the number from being anyone's pid, so the straggler is signalled. */
Test(exec_group, stragglers_of_a_reaped_child_are_signalled)
{
	struct stand_in g;
	pid_t leader = group_with_straggler(true, &g);
	cr_assert_eq(waitpid(leader, NULL, 0), leader);
	cr_assert_eq(exec_group_signal(leader, true, SIGKILL), 0);
	cr_expect_not(answers(&g), "the straggler is killed");
	cr_expect(killed(finish(&g)));
}

/* The same with the child reaped behind the caller's back (libev's child
 * watcher runs before the driver hears of the exit). */
Test(exec_group, stragglers_of_a_child_reaped_elsewhere_are_signalled)
{
	struct stand_in g;
	pid_t leader = group_with_straggler(true, &g);
	cr_assert_eq(waitpid(leader, NULL, 0), leader);
	cr_assert_eq(exec_group_signal(leader, false, SIGKILL), 0);
	cr_expect_not(answers(&g), "the straggler is killed");
	cr_expect(killed(finish(&g)));
}

/* The child was reaped and its number now leads another group (it is
 * `other` here, as when another device's child took the pid). */
Test(exec_group, reaped_childs_number_taken_by_another_group_is_left_alone)
{
	struct stand_in other = group_leader();
	cr_assert(answers(&other));
	int r = exec_group_signal(other.pid, true, SIGKILL);
	cr_expect(answers(&other), "a group that is not the child's got the signal");
	cr_expect_eq(r, -ESRCH, "nothing is sent");
	cr_expect(killed(finish(&other)));
}

/* The same when the caller has not seen the reaping: the number is not
 * our child's (waitid says so), and a process has it. The call is made
 * from a process whose child `other` is not, as the daemon's child is
 * not the process that took its number. */
Test(exec_group, number_of_a_child_reaped_elsewhere_taken_by_another_group_is_left_alone)
{
	struct stand_in other = group_leader();
	cr_assert(answers(&other));
	pid_t caller = fork();
	cr_assert_geq(caller, 0);
	if (caller == 0)
		_exit(exec_group_signal(other.pid, false, SIGKILL) == -ESRCH ? 0 : 1);
	int status = -1;
	cr_assert_eq(waitpid(caller, &status, 0), caller);
	cr_expect(answers(&other), "a group that is not the child's got the signal");
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "nothing is sent");
	cr_expect(killed(finish(&other)));
}
