/* SPDX-License-Identifier: MIT */
/*
 * systemd notification, seen the way systemd sees it: the test binds its own
 * AF_UNIX datagram socket (a path, or an abstract "@name"), starts the real
 * smarthubd with NOTIFY_SOCKET pointing at it and no broker listening, and
 * records every datagram in order. READY=1 must come without a broker;
 * SIGTERM gives STOPPING=1 and exit 0; SIGHUP gives RELOADING=1 with
 * MONOTONIC_USEC= and then READY=1 again; WATCHDOG_USEC gives WATCHDOG=1,
 * repeatedly; a bad configuration never says READY=1 and exits 78.
 */
#include "fixture.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Datagrams a test keeps; far more than any test here receives. */
#define NOTIFY_MAX_DATAGRAMS 1024
#define WAIT_MS TH_WAIT_MS

struct notify_sock {
	int fd;
	char *env; /* "NOTIFY_SOCKET=..." */
	char *datagrams[NOTIFY_MAX_DATAGRAMS];
	size_t count;
};

/* The test's socket: one a test, closed by the teardown. */
static struct notify_sock sock = {.fd = -1};

static struct notify_sock *notify_open(bool abstract)
{
	struct notify_sock *n = &sock;
	memset(n, 0, sizeof(*n));
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(n->fd, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t len;
	if (abstract) {
		char name[80];
		snprintf(name, sizeof(name), "@smarthub-test-notify-%d-%ld", (int)getpid(),
			 (long)time(NULL));
		memcpy(sa.sun_path, name, strlen(name));
		sa.sun_path[0] = '\0';
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
		n->env = th_strdupf("NOTIFY_SOCKET=%s", name);
	} else {
		char *path = th_fixture_path("notify.sock");
		cr_assert_lt(strlen(path), sizeof(sa.sun_path));
		strcpy(sa.sun_path, path);
		len = sizeof(sa);
		n->env = th_strdupf("NOTIFY_SOCKET=%s", path);
		free(path);
	}
	cr_assert_eq(bind(n->fd, (struct sockaddr *)&sa, len), 0, "bind: %s", strerror(errno));
	return n;
}

static void teardown(void)
{
	th_fixture_teardown();
	if (sock.fd >= 0)
		close(sock.fd);
	for (size_t i = 0; i < sock.count; i++)
		free(sock.datagrams[i]);
	free(sock.env);
	memset(&sock, 0, sizeof(sock));
	sock.fd = -1;
}

TestSuite(notify, .fini = teardown);

/* Whether `datagram` has `line` as one of its lines ("READY=1"), or, when
 * line ends in '=', a line starting with it ("STATUS="). */
static const char *has_line(const char *datagram, const char *line)
{
	size_t len = strlen(line);
	bool prefix = len && line[len - 1] == '=';
	for (const char *p = datagram; p && *p;) {
		const char *end = strchr(p, '\n');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if ((prefix && n >= len && strncmp(p, line, len) == 0) ||
		    (!prefix && n == len && strncmp(p, line, len) == 0))
			return p;
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

/* Receives datagrams until one at index >= *from has `line`; returns its
 * index and sets *from past it, or -1 after timeout_ms. Everything
 * received stays recorded, in order. */
static int notify_wait(struct notify_sock *n, const char *line, size_t *from, int timeout_ms)
{
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		for (size_t i = *from; i < n->count; i++) {
			if (has_line(n->datagrams[i], line)) {
				*from = i + 1;
				return (int)i;
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		long elapsed = (now.tv_sec - start.tv_sec) * 1000 +
			       (now.tv_nsec - start.tv_nsec) / 1000000;
		if (elapsed >= timeout_ms)
			return -1;
		struct pollfd p = {.fd = n->fd, .events = POLLIN};
		if (poll(&p, 1, (int)(timeout_ms - elapsed)) <= 0)
			continue;
		char buf[4096];
		ssize_t got = recv(n->fd, buf, sizeof(buf) - 1, 0);
		if (got < 0)
			continue;
		buf[got] = '\0';
		cr_assert_lt(n->count, NOTIFY_MAX_DATAGRAMS, "too many datagrams");
		n->datagrams[n->count++] = strdup(buf);
	}
}

static char *all_datagrams(const struct notify_sock *n)
{
	size_t len = 1;
	for (size_t i = 0; i < n->count; i++)
		len += strlen(n->datagrams[i]) + 3;
	char *s = calloc(1, len);
	for (size_t i = 0; i < n->count; i++) {
		strcat(s, n->datagrams[i]);
		strcat(s, " | ");
	}
	return s;
}

/* A configuration whose broker is a free port nobody listens on, and one
 * simulated device. */
static void start(struct notify_sock *n, const char *extra_env)
{
	th_fx.broker.port = th_free_port();
	cr_assert_gt(th_fx.broker.port, 0);
	const char *env[] = {n->env, extra_env, NULL};
	th_fixture_start_daemon(NULL, "devices:\n  lamp: {driver: virtual, kind: light}\n", NULL,
				env);
}

static void expect_ready_then_clean_stop(bool abstract)
{
	struct notify_sock *n = notify_open(abstract);
	start(n, NULL);

	size_t at = 0;
	int ready = notify_wait(n, "READY=1", &at, WAIT_MS);
	char *log = th_daemon_log(&th_fx.daemon);
	cr_assert_geq(ready, 0, "no READY=1 without a broker; log:\n%s", log);
	free(log);
	size_t from = 0;
	cr_assert_geq(notify_wait(n, "STATUS=", &from, WAIT_MS), 0, "no STATUS= line");

	cr_assert_eq(th_daemon_signal(&th_fx.daemon, SIGTERM), 0);
	at = (size_t)ready + 1;
	cr_assert_geq(notify_wait(n, "STOPPING=1", &at, WAIT_MS), 0, "no STOPPING=1 after SIGTERM");
	int status = 0;
	cr_assert_eq(th_daemon_wait(&th_fx.daemon, WAIT_MS, &status), 0, "smarthubd did not exit");
	log = th_daemon_log(&th_fx.daemon);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %#x; log:\n%s",
		  status, log);
	free(log);
}

Test(notify, ready_and_stopping_on_a_path_socket)
{
	expect_ready_then_clean_stop(false);
}

Test(notify, ready_and_stopping_on_an_abstract_socket)
{
	expect_ready_then_clean_stop(true);
}

Test(notify, reload_says_reloading_then_ready)
{
	struct notify_sock *n = notify_open(false);
	start(n, NULL);
	size_t at = 0;
	cr_assert_geq(notify_wait(n, "READY=1", &at, WAIT_MS), 0, "no READY=1");

	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t before = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	cr_assert_eq(th_daemon_signal(&th_fx.daemon, SIGHUP), 0);
	int reloading = notify_wait(n, "RELOADING=1", &at, WAIT_MS);
	cr_assert_geq(reloading, 0, "no RELOADING=1 after SIGHUP");
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t after = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;

	/* systemd needs MONOTONIC_USEC in the same datagram, on CLOCK_MONOTONIC:
	 * so it lies between our readings around the signal. */
	const char *mono = has_line(n->datagrams[reloading], "MONOTONIC_USEC=");
	cr_assert_not_null(mono, "RELOADING=1 without MONOTONIC_USEC=: %s",
			   n->datagrams[reloading]);
	uint64_t usec = strtoull(mono + strlen("MONOTONIC_USEC="), NULL, 10);
	cr_assert(usec >= before && usec <= after,
		  "MONOTONIC_USEC=%" PRIu64 " is not CLOCK_MONOTONIC (%" PRIu64 "..%" PRIu64 ")",
		  usec, before, after);

	cr_assert_geq(notify_wait(n, "READY=1", &at, WAIT_MS), 0, "no READY=1 after the reload");
}

Test(notify, bad_reload_keeps_running_and_says_ready)
{
	struct notify_sock *n = notify_open(false);
	start(n, NULL);
	size_t at = 0;
	cr_assert_geq(notify_wait(n, "READY=1", &at, WAIT_MS), 0, "no READY=1");

	cr_assert_eq(th_write_file(th_fx.daemon.config_path, "devices: [this is not a mapping\n"),
		     0);
	cr_assert_eq(th_daemon_signal(&th_fx.daemon, SIGHUP), 0);
	cr_assert_geq(notify_wait(n, "RELOADING=1", &at, WAIT_MS), 0, "no RELOADING=1");
	cr_assert_geq(notify_wait(n, "READY=1", &at, WAIT_MS), 0,
		      "no READY=1 after a failed reload");
	cr_assert_eq(th_daemon_wait(&th_fx.daemon, 0, NULL), -ETIMEDOUT,
		     "a bad reload stopped the daemon");

	cr_assert_eq(th_daemon_signal(&th_fx.daemon, SIGTERM), 0);
	int status = 0;
	cr_assert_eq(th_daemon_wait(&th_fx.daemon, WAIT_MS, &status), 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

Test(notify, watchdog_pings_repeat)
{
	struct notify_sock *n = notify_open(true);
	start(n, "WATCHDOG_USEC=200000");
	size_t at = 0;
	cr_assert_geq(notify_wait(n, "READY=1", &at, WAIT_MS), 0, "no READY=1");
	for (int i = 0; i < 3; i++) {
		char *seen = all_datagrams(n);
		cr_assert_geq(notify_wait(n, "WATCHDOG=1", &at, WAIT_MS), 0,
			      "WATCHDOG=1 number %d missing; got: %s", i + 1, seen);
		free(seen);
	}
}

Test(notify, no_watchdog_unless_asked)
{
	struct notify_sock *n = notify_open(false);
	start(n, NULL);
	size_t at = 0;
	cr_assert_geq(notify_wait(n, "READY=1", &at, WAIT_MS), 0, "no READY=1");
	/* Stop and collect everything it sent: no WATCHDOG=1 among it. */
	cr_assert_eq(th_daemon_signal(&th_fx.daemon, SIGTERM), 0);
	cr_assert_geq(notify_wait(n, "STOPPING=1", &at, WAIT_MS), 0);
	cr_assert_eq(th_daemon_wait(&th_fx.daemon, WAIT_MS, NULL), 0);
	size_t from = 0;
	cr_assert_lt(notify_wait(n, "WATCHDOG=1", &from, 0), 0);
}

Test(notify, bad_configuration_is_never_ready)
{
	struct notify_sock *n = notify_open(false);
	const char *env[] = {n->env, NULL};
	th_fixture_start_daemon_yaml("devices:\n  lamp:\n    driver: virtual\n    kind: toaster\n"
				     "    no_such_key: 1\n",
				     NULL, env);
	int status = 0;
	cr_assert_eq(th_daemon_wait(&th_fx.daemon, WAIT_MS, &status), 0, "smarthubd kept running");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 78, "exit status %#x, not 78",
		  status);
	size_t at = 0;
	cr_assert_lt(notify_wait(n, "READY=1", &at, 0), 0, "READY=1 for a bad configuration");
}
