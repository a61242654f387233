/* SPDX-License-Identifier: MIT */
/*
 * Integration tests of the exec driver through the real smarthubd and a
 * private mosquitto: small shell scripts in a temporary directory play the
 * command-line tools (they write files the test then reads), and the test
 * drives the devices over MQTT as a user would. Covers on/off, a failing
 * tool, a tool that overruns its timeout (killed, reaped, no zombie), read
 * output as a number, as JSON and as garbage, and that configured
 * arguments reach the tool verbatim, never through a shell.
 */
#include "fixture.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAIT_MS TH_WAIT_MS

TestSuite(exec, .fini = th_fixture_teardown);

static void set(const char *device, const char *payload)
{
	char *topic = th_strdupf("smarthub/%s/set", device);
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, topic, payload, strlen(payload), false), 0);
	free(topic);
}

/* Whether /proc says `pid` is alive (running or sleeping, not a zombie). */
static char proc_state(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0; /* gone */
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* The number of zombie children of `parent`. */
static int zombies_of(pid_t parent)
{
	int count = 0;
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char path[300], buf[512];
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		const char *p = strrchr(buf, ')');
		char state;
		int ppid;
		if (p && sscanf(p + 1, " %c %d", &state, &ppid) == 2 && ppid == parent &&
		    state == 'Z')
			count++;
	}
	if (d)
		closedir(d);
	return count;
}

static pid_t read_pid(const char *path)
{
	char *text = th_read_file(path);
	pid_t pid = text ? (pid_t)atoi(text) : 0;
	free(text);
	return pid;
}

Test(exec, on_and_off_run_the_configured_commands_verbatim)
{
	char *power = th_fixture_path("power");
	char *pwned = th_fixture_path("pwned");
	/* The tool writes its arguments, one per line, to $OUT. */
	char *tool = th_fixture_script("amp-power", "printf '%s\\n' \"$@\" > \"$OUT\"\n");
	char *state =
		th_fixture_script("amp-state", "if grep -qx on \"$OUT\" 2>/dev/null; then echo ON;"
					       " else echo OFF; fi\n");
	char *devices = th_strdupf("  amp:\n"
				   "    driver: exec\n"
				   "    kind: switch\n"
				   "    on: [%s, \"on\", \"$(touch %s)\", \"a b;c|d\"]\n"
				   "    off: [%s, \"off\"]\n"
				   "    state: [%s]\n"
				   "    env: { OUT: %s }\n"
				   "    cwd: /\n",
				   tool, pwned, tool, state, power);
	th_fixture_start_devices(devices);

	/* connect ran `state` once. */
	th_fixture_expect("smarthub/amp/availability", "{\"state\":\"online\"}");
	th_fixture_expect("smarthub/amp", "{\"state\":\"OFF\"}");

	set("amp", "{\"state\":\"ON\"}");
	th_fixture_expect("smarthub/amp", "{\"state\":\"ON\"}");
	char *args = th_read_file(power);
	cr_assert_not_null(args);
	char *want = th_strdupf("on\n$(touch %s)\na b;c|d\n", pwned);
	cr_expect_str_eq(args, want, "the tool got its arguments changed");
	free(want);
	free(args);
	struct stat st;
	cr_expect_eq(stat(pwned, &st), -1, "an argument reached a shell");

	/* A payload is never more than ON or OFF to the driver: shell text
	 * in it is refused by the daemon and reaches no command. */
	char *payload = th_strdupf("{\"state\":\"$(touch %s)\"}", pwned);
	th_mqtt_clear(th_fx.mqtt);
	set("amp", payload);
	free(payload);
	char *ev = th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/event", "amp", WAIT_MS);
	cr_expect_not_null(ev, "the bad payload was not refused");
	free(ev);
	set("amp", "OFF");
	th_fixture_expect("smarthub/amp", "{\"state\":\"OFF\"}");
	args = th_read_file(power);
	cr_expect_str_eq(args, "off\n");
	free(args);
	cr_expect_eq(stat(pwned, &st), -1, "a payload reached a shell");

	cr_expect_eq(zombies_of(th_fx.daemon.pid), 0);
	free(devices);
	free(tool);
	free(state);
	free(power);
	free(pwned);
}

Test(exec, failing_command_is_an_error_and_leaves_the_state)
{
	char *bad = th_fixture_script("bad-tool", "echo 'amp not responding' >&2\n"
						  "echo 'second line' >&2\n"
						  "exit 3\n");
	char *off = th_fixture_script("off-tool", "exit 0\n");
	char *devices = th_strdupf("  amp:\n"
				   "    driver: exec\n"
				   "    kind: switch\n"
				   "    on: [%s]\n"
				   "    off: [%s]\n",
				   bad, off);
	th_fixture_start_devices(devices);
	th_fixture_expect("smarthub/amp/availability", "{\"state\":\"online\"}");

	set("amp", "OFF");
	th_fixture_expect("smarthub/amp", "{\"state\":\"OFF\"}");
	set("amp", "ON");
	char *ev = th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/event",
				"exit status 3: amp not responding", WAIT_MS);
	cr_assert_not_null(ev, "no error event; log:\n%s", th_daemon_log(&th_fx.daemon));
	cr_expect_null(strstr(ev, "second line"), "only stderr's first line: %s", ev);
	free(ev);
	/* Still OFF, still online. */
	char *last = th_mqtt_last(th_fx.mqtt, "smarthub/amp");
	cr_expect(last && strstr(last, "\"OFF\""), "state changed to %s", last);
	free(last);
	char *avail = th_mqtt_last(th_fx.mqtt, "smarthub/amp/availability");
	cr_expect(avail && strstr(avail, "online"), "availability %s", avail);
	free(avail);
	free(devices);
	free(bad);
	free(off);
}

Test(exec, command_that_overruns_its_timeout_is_killed_and_reaped)
{
	char *pidfile = th_fixture_path("slow.pid");
	char *kidfile = th_fixture_path("sleep.pid");
	/* The tool starts a child of its own and hangs. */
	char *slow = th_fixture_script("slow-tool", "echo $$ > \"$PIDFILE\"\n"
						    "sleep 60 &\n"
						    "echo $! > \"$KIDFILE\"\n"
						    "wait\n");
	char *off = th_fixture_script("off-tool", "exit 0\n");
	char *devices = th_strdupf("  amp:\n"
				   "    driver: exec\n"
				   "    kind: switch\n"
				   "    on: [%s]\n"
				   "    off: [%s]\n"
				   "    timeout: 1s\n"
				   "    command_timeout: 30s\n"
				   "    env: { PIDFILE: %s, KIDFILE: %s }\n",
				   slow, off, pidfile, kidfile);
	th_fixture_start_devices(devices);
	th_fixture_expect("smarthub/amp/availability", "{\"state\":\"online\"}");

	set("amp", "ON");
	char *ev = th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/event", "timed out after 1s", WAIT_MS);
	cr_assert_not_null(ev, "no timeout event; log:\n%s", th_daemon_log(&th_fx.daemon));
	free(ev);
	pid_t pid = read_pid(pidfile), kid = read_pid(kidfile);
	cr_assert_gt(pid, 0);
	cr_assert_gt(kid, 0);

	/* The tool and its own child are killed, and the tool (the daemon's
	 * child) is reaped: no /proc entry at all. Bounded polling, since the
	 * reaping happens on the daemon's loop. */
	char st = 0, kst = 0;
	for (int i = 0; i < 150; i++) {
		st = proc_state(pid);
		kst = proc_state(kid);
		/* The grandchild is reaped by whoever inherited it. */
		if (st == 0 && (kst == 0 || kst == 'Z'))
			break;
		usleep(100 * 1000);
	}
	cr_expect_eq(st, 0, "tool pid %d still in /proc (state %c)", (int)pid, st);
	cr_expect(kst == 0 || kst == 'Z', "the tool's child %d still runs (state %c)", (int)kid,
		  kst);
	cr_expect_eq(zombies_of(th_fx.daemon.pid), 0);
	char *last = th_mqtt_last(th_fx.mqtt, "smarthub/amp");
	cr_expect(!last || !strstr(last, "\"ON\""), "a timed-out command set the state: %s", last);
	free(last);

	/* The device still works. */
	set("amp", "OFF");
	th_fixture_expect("smarthub/amp", "{\"state\":\"OFF\"}");
	free(devices);
	free(slow);
	free(off);
	free(pidfile);
	free(kidfile);
}

Test(exec, read_output_number_json_and_garbage)
{
	char *reading = th_fixture_path("reading");
	cr_assert_eq(th_write_file(reading, "21.5\n"), 0);
	char *reader = th_fixture_script("reader", "cat \"$1\"\n");
	char *devices = th_strdupf("  meter:\n"
				   "    driver: exec\n"
				   "    kind: sensor\n"
				   "    read: [%s, %s]\n"
				   "    key: power\n"
				   "    unit: W\n"
				   "    interval: 200ms\n",
				   reader, reading);
	th_fixture_start_devices(devices);
	th_fixture_expect("smarthub/meter/availability", "{\"state\":\"online\"}");
	th_fixture_expect("smarthub/meter", "{\"power\":21.5}");

	/* A JSON object is merged into the state. */
	cr_assert_eq(th_write_file(reading, "{\"temperature\":20.5,\"humidity\":40}\n"), 0);
	th_fixture_expect("smarthub/meter",
			  "{\"power\":21.5,\"temperature\":20.5,\"humidity\":40}");

	/* Garbage is an error, logged once, and publishes nothing. */
	th_mqtt_clear(th_fx.mqtt);
	cr_assert_eq(th_write_file(reading, "garbage\n"), 0);
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "read: output is not a number or a JSON object",
				     WAIT_MS),
		  "log:\n%s", th_daemon_log(&th_fx.daemon));
	cr_assert_eq(th_write_file(reading, "7\n"), 0);
	th_fixture_expect("smarthub/meter", "{\"power\":7}");
	char *log = th_daemon_log(&th_fx.daemon);
	const char *first = strstr(log, "output is not a number");
	cr_expect(first && !strstr(first + 1, "output is not a number"),
		  "the failure was logged more than once:\n%s", log);
	cr_expect(strstr(log, "read works again"), "no recovery line:\n%s", log);
	free(log);
	cr_expect_eq(th_mqtt_count(th_fx.mqtt, "smarthub/meter/availability"), 0,
		     "garbage output must not take the sensor offline");
	free(devices);
	free(reader);
	free(reading);
}

Test(exec, missing_tool_fails_the_connect)
{
	char *devices = th_strdupf("  ghost:\n"
				   "    driver: exec\n"
				   "    kind: sensor\n"
				   "    read: [%s/no-such-tool]\n",
				   th_fixture_dir());
	th_fixture_start_devices(devices);
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "cannot run", WAIT_MS), "log:\n%s",
		  th_daemon_log(&th_fx.daemon));
	char *avail = th_mqtt_last(th_fx.mqtt, "smarthub/ghost/availability");
	cr_expect(!avail || strstr(avail, "offline"), "availability %s", avail);
	free(avail);
	free(devices);
}

Test(exec, disconnect_kills_a_running_command)
{
	char *pidfile = th_fixture_path("slow.pid");
	char *slow = th_fixture_script("slow-tool", "echo $$ > \"$1\"\nexec sleep 60\n");
	/* The daemon's command_timeout ends the command first: it reconnects
	 * the device, and the disconnect must take the child with it. */
	char *devices = th_strdupf("  amp:\n"
				   "    driver: exec\n"
				   "    kind: switch\n"
				   "    on: [%s, %s]\n"
				   "    off: [/bin/true]\n"
				   "    timeout: 60s\n"
				   "    command_timeout: 500ms\n",
				   slow, pidfile);
	th_fixture_start_devices(devices);
	th_fixture_expect("smarthub/amp/availability", "{\"state\":\"online\"}");
	set("amp", "ON");
	char *ev = th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/event", "timed out", WAIT_MS);
	cr_assert_not_null(ev, "log:\n%s", th_daemon_log(&th_fx.daemon));
	free(ev);
	pid_t pid = read_pid(pidfile);
	cr_assert_gt(pid, 0);
	char st = 0;
	for (int i = 0; i < 150 && (st = proc_state(pid)) != 0; i++)
		usleep(100 * 1000);
	cr_expect_eq(st, 0, "tool pid %d still in /proc (state %c)", (int)pid, st);
	cr_expect_eq(zombies_of(th_fx.daemon.pid), 0);
	free(devices);
	free(slow);
	free(pidfile);
}

Test(exec, state_is_polled_with_interval)
{
	char *relay = th_fixture_path("relay");
	cr_assert_eq(th_write_file(relay, "off\n"), 0);
	char *devices = th_strdupf("  amp:\n"
				   "    driver: exec\n"
				   "    kind: switch\n"
				   "    on: [/bin/true]\n"
				   "    off: [/bin/true]\n"
				   "    state: [cat, %s]\n"
				   "    interval: 200ms\n",
				   relay);
	th_fixture_start_devices(devices);
	th_fixture_expect("smarthub/amp", "{\"state\":\"OFF\"}");
	/* Someone switches the relay by hand: the next poll sees it. */
	cr_assert_eq(th_write_file(relay, "1\n"), 0);
	th_fixture_expect("smarthub/amp", "{\"state\":\"ON\"}");
	cr_assert_eq(th_write_file(relay, "{\"state\":false,\"power\":0.5}\n"), 0);
	th_fixture_expect("smarthub/amp", "{\"state\":\"OFF\",\"power\":0.5}");
	cr_expect_eq(zombies_of(th_fx.daemon.pid), 0);
	free(devices);
	free(relay);
}

Test(exec, output_beyond_the_bound_is_an_error)
{
	/* 100 KB of output, far beyond the 64 KiB kept. */
	th_fixture_start_devices("  flood:\n"
				 "    driver: exec\n"
				 "    kind: sensor\n"
				 "    read: [sh, -c, \"yes 1 | head -c 100000\"]\n");
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "read: output longer than 64 KiB", WAIT_MS),
		  "log:\n%s", th_daemon_log(&th_fx.daemon));
	char *avail = th_mqtt_last(th_fx.mqtt, "smarthub/flood/availability");
	cr_expect(!avail || strstr(avail, "offline"), "availability %s", avail);
	free(avail);
	cr_expect_eq(th_mqtt_count(th_fx.mqtt, "smarthub/flood"), 0);
}
