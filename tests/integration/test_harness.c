/* SPDX-License-Identifier: MIT */
/*
 * Tests of the test harness itself (tests/support): the private broker,
 * the recording MQTT client, child processes and their cleanup. Other
 * integration tests lean on these behaving exactly as harness.h says.
 */
#include "harness.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

Test(harness, files_and_tempdirs)
{
	char *dir = th_tempdir();
	cr_assert_not_null(dir);
	char *path = th_strdupf("%s/a.txt", dir);
	cr_assert_eq(th_write_file(path, "hello\n"), 0);
	char *text = th_read_file(path);
	cr_assert_str_eq(text, "hello\n");
	free(text);
	cr_assert_null(th_read_file("/nonexistent/smarthub"));
	th_rmtree(dir);
	struct stat st;
	cr_assert_eq(stat(dir, &st), -1, "th_rmtree left %s", dir);
	free(path);
	free(dir);
}

Test(harness, free_port_is_usable)
{
	int port = th_free_port();
	cr_assert_gt(port, 0);
	cr_assert_lt(port, 65536);
	cr_assert_not(th_wait_port(port, 0), "nothing should listen on a free port");
}

Test(harness, run_captures_output_and_status)
{
	const char *argv[] = {"sh", "-c", "echo out; echo err >&2; echo $TH_X; exit 3", NULL};
	const char *env[] = {"TH_X=from-env", NULL};
	char *out = NULL;
	int status = -1;
	cr_assert_eq(th_run(argv, env, &out, &status), 0);
	cr_assert_eq(status, 3);
	cr_assert(strstr(out, "out\n") && strstr(out, "err\n") && strstr(out, "from-env\n"),
		  "output: %s", out);
	free(out);
}

Test(harness, children_do_not_inherit_notify_socket)
{
	setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1);
	const char *argv[] = {"sh", "-c", "echo [${NOTIFY_SOCKET:-unset}]", NULL};
	char *out = NULL;
	int status = -1;
	cr_assert_eq(th_run(argv, NULL, &out, &status), 0);
	cr_assert_str_eq(out, "[unset]\n");
	free(out);
	unsetenv("NOTIFY_SOCKET");
}

Test(harness, spawn_and_stop)
{
	const char *argv[] = {"sleep", "60", NULL};
	pid_t pid = th_spawn(argv, NULL, NULL);
	cr_assert_gt(pid, 0);
	int status = th_child_stop(pid, 5000);
	cr_assert(status >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	cr_assert_eq(kill(pid, 0), -1, "the child must be reaped");
}

Test(harness, broker_roundtrip_and_wait)
{
	struct th_broker b = {0};
	cr_assert_eq(th_broker_start(&b, 0), 0);
	struct th_mqtt *c = th_mqtt_connect(b.port, "th-selftest");
	cr_assert_not_null(c);
	cr_assert_eq(th_mqtt_subscribe(c, "th/#"), 0);

	cr_assert_eq(th_mqtt_publish(c, "th/a", "{\"state\":\"ON\",\"b\":{\"x\":1}}", 27, false),
		     0);
	cr_assert_eq(th_mqtt_publish(c, "th/a", "second", 6, true), 0);
	char *m = th_mqtt_wait(c, "th/a", "second", 5000);
	cr_assert_str_eq(m, "second");
	free(m);
	/* Oldest match first, and earlier messages still count. */
	m = th_mqtt_wait(c, "th/a", NULL, 0);
	cr_assert_str_eq(m, "{\"state\":\"ON\",\"b\":{\"x\":1}}");
	free(m);
	m = th_mqtt_wait_json(c, "th/a", "{\"b\":{\"x\":1}}", 0);
	cr_assert_not_null(m);
	free(m);
	cr_assert_null(th_mqtt_wait_json(c, "th/a", "{\"b\":{\"x\":2}}", 50));
	cr_assert_null(th_mqtt_wait(c, "th/b", NULL, 50));
	cr_assert_eq(th_mqtt_count(c, "th/a"), 2);
	/* Retain-as-published: a live message keeps its publisher's flag. */
	cr_assert(th_mqtt_last_retained(c, "th/a"));
	cr_assert_eq(th_mqtt_publish(c, "th/c", "x", 1, false), 0);
	free(th_mqtt_wait(c, "th/c", NULL, 5000));
	cr_assert_not(th_mqtt_last_retained(c, "th/c"));
	m = th_mqtt_last(c, "th/a");
	cr_assert_str_eq(m, "second");
	free(m);

	/* A new subscriber sees the retained message with its flag. */
	struct th_mqtt *c2 = th_mqtt_connect(b.port, "th-selftest-2");
	cr_assert_eq(th_mqtt_subscribe(c2, "th/a"), 0);
	m = th_mqtt_wait(c2, "th/a", NULL, 5000);
	cr_assert_str_eq(m, "second");
	free(m);
	cr_assert(th_mqtt_last_retained(c2, "th/a"));

	th_mqtt_clear(c);
	cr_assert_eq(th_mqtt_count(c, "th/a"), 0);
	cr_assert_null(th_mqtt_last(c, "th/a"));
	th_mqtt_close(c2);
	th_mqtt_close(c);
	th_broker_stop(&b);
}

Test(harness, client_resubscribes_after_broker_restart)
{
	struct th_broker b = {0};
	cr_assert_eq(th_broker_start(&b, 0), 0);
	int port = b.port;
	struct th_mqtt *c = th_mqtt_connect(b.port, "th-restart");
	cr_assert_not_null(c);
	cr_assert_eq(th_mqtt_subscribe(c, "th/r"), 0);
	th_broker_kill(&b);
	cr_assert_eq(b.port, port);
	cr_assert_eq(th_broker_start(&b, b.port), 0);
	cr_assert_eq(b.port, port);

	/* Publish from a second client until the first, reconnected and
	 * subscribed again, receives one (bounded). */
	struct th_mqtt *p = th_mqtt_connect(b.port, "th-restart-pub");
	cr_assert_not_null(p);
	char *m = NULL;
	for (int i = 0; i < 100 && !m; i++) {
		th_mqtt_publish(p, "th/r", "back", 4, false);
		m = th_mqtt_wait(c, "th/r", "back", 100);
	}
	cr_assert_str_eq(m, "back");
	free(m);
	th_mqtt_close(p);
	th_mqtt_close(c);
	th_broker_stop(&b);
}

Test(harness, connect_to_nothing_fails)
{
	int port = th_free_port();
	cr_assert_null(th_mqtt_connect(port, "th-nothing"));
}

/* Run by cleanup_after_a_failed_assertion in a separate test process: it
 * starts a child and makes a directory, writes where they are to the
 * marker file, and fails. Without TH_MARKER it does nothing. */
Test(harness, helper_fails_leaving_things)
{
	const char *marker = getenv("TH_MARKER");
	if (!marker)
		return;
	const char *argv[] = {"sleep", "60", NULL};
	pid_t child = th_spawn(argv, NULL, NULL);
	char *dir = th_tempdir();
	char *text = th_strdupf("%d %s", (int)child, dir);
	th_write_file(marker, text);
	free(text);
	free(dir);
	cr_assert_fail("failing on purpose, with a child and a directory");
}

/* A test that fails an assertion half-way leaves no process and no
 * directory behind. */
Test(harness, cleanup_after_a_failed_assertion)
{
	char *marker_dir = th_tempdir();
	char *marker = th_strdupf("%s/left", marker_dir);
	char *env_marker = th_strdupf("TH_MARKER=%s", marker);
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	cr_assert_gt(n, 0);
	self[n] = '\0';
	const char *argv[] = {
		self, "--jobs", "1", "--filter", "harness/helper_fails_leaving_things", NULL};
	const char *env[] = {env_marker, NULL};
	char *out = NULL;
	int status = 0;
	cr_assert_eq(th_run(argv, env, &out, &status), 0);
	cr_assert_neq(status, 0, "the helper should have failed:\n%s", out);

	char *text = th_read_file(marker);
	cr_assert_not_null(text, "the helper did not run:\n%s", out);
	int child = 0;
	char dir[512] = "";
	cr_assert_eq(sscanf(text, "%d %511s", &child, dir), 2);
	cr_assert_gt(child, 0);
	cr_assert_eq(kill(child, 0), -1, "child %d still alive", child);
	struct stat st;
	cr_assert_eq(stat(dir, &st), -1, "%s still there", dir);
	free(text);
	free(out);
	free(env_marker);
	free(marker);
	th_rmtree(marker_dir);
	free(marker_dir);
}

/* A test process killed with SIGKILL cleans nothing; the next one removes
 * what it left. Here a directory "left" by a process that is gone. */
Test(harness, directories_of_dead_test_processes_are_swept)
{
	pid_t dead = fork();
	cr_assert_geq(dead, 0);
	if (dead == 0)
		_exit(0);
	cr_assert_eq(waitpid(dead, NULL, 0), dead);
	const char *base = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *stale = th_strdupf("%s/smarthub-test-%d-left", base, (int)dead);
	cr_assert_eq(mkdir(stale, 0700), 0);
	char *file = th_strdupf("%s/mosquitto.log", stale);
	cr_assert_eq(th_write_file(file, "x"), 0);

	/* Criterion runs each test in a process of its own, and this is the
	 * first call in it that makes a directory or a child: it sweeps. */
	char *fresh = th_tempdir();
	cr_assert_not_null(fresh);
	th_rmtree(fresh);
	free(fresh);
	struct stat st;
	cr_assert_eq(stat(stale, &st), -1, "%s was not swept", stale);
	free(file);
	free(stale);
}
