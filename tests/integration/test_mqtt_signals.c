/* SPDX-License-Identifier: MIT */
/*
 * The hub reconnects to a restarted broker while signals keep landing on
 * its threads other than the loop's.
 *
 * Paho 1.3.12's receive thread notices that a TCP connect completed only
 * after a whole poll() for reading returns normally; a signal handled on
 * that thread ends the poll with EINTR and the round is dropped. With a
 * signal there more often than once a second (libev's SIGCHLD handler and
 * exec devices polling every second), every connect ran into Paho's
 * connect timeout ("TCP connect timeout") for as long as the signals came.
 * The kernel gives a process signal to the main thread when it can, so it
 * was seen only under valgrind (scripts/valgrind-check), which hands it to
 * whichever thread sits in a blocking system call. This test does what
 * valgrind did, on purpose: tgkill(SIGCHLD) to every thread but the main
 * one, every 20 ms, across a broker restart. The daemon has libev's
 * SIGCHLD handler installed, so each one really interrupts; a stray
 * SIGCHLD only makes libev look for children it does not have.
 */
#include "fixture.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

TestSuite(mqtt_signals, .fini = th_fixture_teardown);

struct poker {
	pid_t pid;
	atomic_bool stop;
	atomic_uint sent; /* signals that reached a thread */
	pthread_t thread;
};

/* One round: SIGCHLD to each of the daemon's threads except the main one. */
static void poke_threads(struct poker *p)
{
	char path[64];
	struct dirent *e;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)p->pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((e = readdir(dir))) {
		long tid = strtol(e->d_name, NULL, 10);

		if (tid <= 0 || tid == p->pid)
			continue;
		if (syscall(SYS_tgkill, (long)p->pid, tid, (long)SIGCHLD) == 0)
			atomic_fetch_add(&p->sent, 1);
	}
	closedir(dir);
}

/* The stimulus, not a wait: a signal every 20 ms, far more often than the
 * one a second that was enough to stall every connect. */
static void *poker_main(void *arg)
{
	struct poker *p = arg;
	const struct timespec period = {0, 20 * 1000 * 1000};

	while (!atomic_load(&p->stop)) {
		poke_threads(p);
		nanosleep(&period, NULL);
	}
	return NULL;
}

Test(mqtt_signals, reconnects_after_a_broker_restart_while_threads_get_signals)
{
	struct poker p = {.pid = 0};

	th_fixture_start("devices:\n  lamp: { driver: virtual, kind: light }\n");
	free(th_fixture_expect_json("smarthub/bridge/state", "{\"state\":\"online\"}"));
	th_fixture_expect_online("lamp");

	p.pid = th_fx.daemon.pid;
	cr_assert_eq(pthread_create(&p.thread, NULL, poker_main, &p), 0);

	th_mqtt_clear(th_fx.mqtt);
	th_broker_stop(&th_fx.broker);
	cr_assert_eq(th_broker_start(&th_fx.broker, th_fx.broker.port), 0);
	/* The connect that follows the loss runs under the signals; with the
	 * old behaviour it timed out after 10 s and so did every retry. */
	char *online = th_mqtt_wait_json(th_fx.mqtt, "smarthub/bridge/state",
					 "{\"state\":\"online\"}", TH_WAIT_MS);

	atomic_store(&p.stop, true);
	pthread_join(p.thread, NULL);
	/* Paho's two threads at least were there to be signalled. */
	cr_assert_gt(atomic_load(&p.sent), 0, "no thread of the daemon was signalled");
	if (!online)
		cr_assert_fail("the hub did not reconnect after the broker restart while its "
			       "threads got signals; daemon log:\n%s",
			       th_daemon_log(&th_fx.daemon));
	free(online);
	/* Reconnected for real: a command goes through. */
	const char cmd[] = "{\"state\":\"ON\"}";
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, "smarthub/lamp/set", cmd, sizeof(cmd) - 1, false),
		     0);
	free(th_fixture_expect_json("smarthub/lamp", "{\"state\":\"ON\"}"));
}
