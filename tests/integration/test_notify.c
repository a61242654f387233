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
#include "harness.h"

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
/* Generous bounds for events that normally take milliseconds. */
#define WAIT_MS 10000

struct notify_sock {
	int fd;
	char *dir;
	char *env; /* "NOTIFY_SOCKET=..." */
	char *datagrams[NOTIFY_MAX_DATAGRAMS];
	size_t count;
};

static void notify_open(struct notify_sock *n, bool abstract)
{
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
		n->dir = th_tempdir();
		cr_assert_not_null(n->dir);
		char *path = th_strdupf("%s/notify.sock", n->dir);
		cr_assert_lt(strlen(path), sizeof(sa.sun_path));
		strcpy(sa.sun_path, path);
		len = sizeof(sa);
		n->env = th_strdupf("NOTIFY_SOCKET=%s", path);
		free(path);
	}
	cr_assert_eq(bind(n->fd, (struct sockaddr *)&sa, len), 0, "bind: %s", strerror(errno));
}

static void notify_close(struct notify_sock *n)
{
	close(n->fd);
	for (size_t i = 0; i < n->count; i++)
		free(n->datagrams[i]);
	if (n->dir)
		th_rmtree(n->dir);
	free(n->dir);
	free(n->env);
}

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
static char *config_without_broker(void)
{
	int port = th_free_port();
	cr_assert_gt(port, 0);
	return th_strdupf("mqtt:\n"
			  "  url: tcp://127.0.0.1:%d\n"
			  "devices:\n"
			  "  lamp:\n"
			  "    driver: virtual\n"
			  "    kind: light\n",
			  port);
}

static void start(struct th_daemon *d, struct notify_sock *n, const char *extra_env)
{
	char *yaml = config_without_broker();
	const char *env[] = {n->env, extra_env, NULL};
	cr_assert_eq(th_daemon_start(d, yaml, NULL, env), 0);
	free(yaml);
}

static void expect_ready_then_clean_stop(bool abstract)
{
	struct notify_sock n;
	notify_open(&n, abstract);
	struct th_daemon d = {0};
	start(&d, &n, NULL);

	size_t at = 0;
	int ready = notify_wait(&n, "READY=1", &at, WAIT_MS);
	char *log = th_daemon_log(&d);
	cr_assert_geq(ready, 0, "no READY=1 without a broker; log:\n%s", log);
	free(log);
	size_t from = 0;
	cr_assert_geq(notify_wait(&n, "STATUS=", &from, WAIT_MS), 0, "no STATUS= line");

	cr_assert_eq(th_daemon_signal(&d, SIGTERM), 0);
	at = (size_t)ready + 1;
	cr_assert_geq(notify_wait(&n, "STOPPING=1", &at, WAIT_MS), 0,
		      "no STOPPING=1 after SIGTERM");
	int status = 0;
	cr_assert_eq(th_daemon_wait(&d, WAIT_MS, &status), 0, "smarthubd did not exit");
	log = th_daemon_log(&d);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %#x; log:\n%s",
		  status, log);
	free(log);
	th_daemon_stop(&d);
	notify_close(&n);
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
	struct notify_sock n;
	notify_open(&n, false);
	struct th_daemon d = {0};
	start(&d, &n, NULL);
	size_t at = 0;
	cr_assert_geq(notify_wait(&n, "READY=1", &at, WAIT_MS), 0, "no READY=1");

	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t before = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	cr_assert_eq(th_daemon_signal(&d, SIGHUP), 0);
	int reloading = notify_wait(&n, "RELOADING=1", &at, WAIT_MS);
	cr_assert_geq(reloading, 0, "no RELOADING=1 after SIGHUP");
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t after = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;

	/* systemd needs MONOTONIC_USEC in the same datagram, on CLOCK_MONOTONIC:
	 * so it lies between our readings around the signal. */
	const char *mono = has_line(n.datagrams[reloading], "MONOTONIC_USEC=");
	cr_assert_not_null(mono, "RELOADING=1 without MONOTONIC_USEC=: %s", n.datagrams[reloading]);
	uint64_t usec = strtoull(mono + strlen("MONOTONIC_USEC="), NULL, 10);
	cr_assert(usec >= before && usec <= after,
		  "MONOTONIC_USEC=%" PRIu64 " is not CLOCK_MONOTONIC (%" PRIu64 "..%" PRIu64 ")",
		  usec, before, after);

	cr_assert_geq(notify_wait(&n, "READY=1", &at, WAIT_MS), 0, "no READY=1 after the reload");
	th_daemon_stop(&d);
	notify_close(&n);
}

Test(notify, bad_reload_keeps_running_and_says_ready)
{
	struct notify_sock n;
	notify_open(&n, false);
	struct th_daemon d = {0};
	start(&d, &n, NULL);
	size_t at = 0;
	cr_assert_geq(notify_wait(&n, "READY=1", &at, WAIT_MS), 0, "no READY=1");

	cr_assert_eq(th_write_file(d.config_path, "devices: [this is not a mapping\n"), 0);
	cr_assert_eq(th_daemon_signal(&d, SIGHUP), 0);
	cr_assert_geq(notify_wait(&n, "RELOADING=1", &at, WAIT_MS), 0, "no RELOADING=1");
	cr_assert_geq(notify_wait(&n, "READY=1", &at, WAIT_MS), 0,
		      "no READY=1 after a failed reload");
	cr_assert_eq(th_daemon_wait(&d, 0, NULL), -ETIMEDOUT, "a bad reload stopped the daemon");

	cr_assert_eq(th_daemon_signal(&d, SIGTERM), 0);
	int status = 0;
	cr_assert_eq(th_daemon_wait(&d, WAIT_MS, &status), 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	th_daemon_stop(&d);
	notify_close(&n);
}

Test(notify, watchdog_pings_repeat)
{
	struct notify_sock n;
	notify_open(&n, true);
	struct th_daemon d = {0};
	start(&d, &n, "WATCHDOG_USEC=200000");
	size_t at = 0;
	cr_assert_geq(notify_wait(&n, "READY=1", &at, WAIT_MS), 0, "no READY=1");
	for (int i = 0; i < 3; i++) {
		char *seen = all_datagrams(&n);
		cr_assert_geq(notify_wait(&n, "WATCHDOG=1", &at, WAIT_MS), 0,
			      "WATCHDOG=1 number %d missing; got: %s", i + 1, seen);
		free(seen);
	}
	th_daemon_stop(&d);
	notify_close(&n);
}

Test(notify, no_watchdog_unless_asked)
{
	struct notify_sock n;
	notify_open(&n, false);
	struct th_daemon d = {0};
	start(&d, &n, NULL);
	size_t at = 0;
	cr_assert_geq(notify_wait(&n, "READY=1", &at, WAIT_MS), 0, "no READY=1");
	/* Stop and collect everything it sent: no WATCHDOG=1 among it. */
	cr_assert_eq(th_daemon_signal(&d, SIGTERM), 0);
	cr_assert_geq(notify_wait(&n, "STOPPING=1", &at, WAIT_MS), 0);
	cr_assert_eq(th_daemon_wait(&d, WAIT_MS, NULL), 0);
	size_t from = 0;
	cr_assert_lt(notify_wait(&n, "WATCHDOG=1", &from, 0), 0);
	th_daemon_stop(&d);
	notify_close(&n);
}

Test(notify, bad_configuration_is_never_ready)
{
	struct notify_sock n;
	notify_open(&n, false);
	struct th_daemon d = {0};
	const char *env[] = {n.env, NULL};
	cr_assert_eq(th_daemon_start(&d,
				     "devices:\n  lamp:\n    driver: virtual\n    kind: toaster\n"
				     "    no_such_key: 1\n",
				     NULL, env),
		     0);
	int status = 0;
	cr_assert_eq(th_daemon_wait(&d, WAIT_MS, &status), 0, "smarthubd kept running");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 78, "exit status %#x, not 78",
		  status);
	size_t at = 0;
	cr_assert_lt(notify_wait(&n, "READY=1", &at, 0), 0, "READY=1 for a bad configuration");
	th_daemon_stop(&d);
	notify_close(&n);
}
