/* SPDX-License-Identifier: MIT */
/*
 * The mpd driver end to end: a real Music Player Daemon on a free loopback
 * port (null audio outputs, a temporary music directory of short tones made
 * with sox, a temporary database), the real smarthubd and mosquitto. Each
 * test drives the speaker over MQTT and checks mpd's own view through its
 * protocol, plus the other way round: a change made by another mpd client
 * shows up on MQTT. One test kills and restarts mpd mid-run.
 *
 * Two devices share the mpd: "speaker" switches the output "amp" with its
 * `state`, "radio" has no output configured, so its `state` plays/stops.
 * "radio" names its host "localhost", which is looked up on the worker
 * pool (and may be ::1 before 127.0.0.1, where mpd listens).
 */
#include "fixture.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

/* Generous bounds for things that take milliseconds on any machine. */
#define WAIT_MS 15000
/* mpd asks for it before anything but reading; the hub must send it, and
 * must never log it. */
#define MPD_PASSWORD "pw-4f9c2e"
/* Long enough that no song ends during a test. */
#define SONG_SECONDS "60"

/* The mpd server; the broker, daemon, client and the directory (music,
 * playlists, db, mpd.conf, mpd.log) are the fixture's. */
struct rig {
	int port;
	pid_t mpd;
};

static struct rig rig;

/*
 * One request to mpd on a fresh connection, the way any mpd client talks:
 * read the greeting, send `cmd`, read up to OK or ACK. Returns the
 * response (caller frees) or NULL when mpd cannot be reached.
 */
static char *mpd_ask(const char *cmd)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons((uint16_t)rig.port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval tv = {.tv_sec = 10};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return NULL;
	}
	FILE *f = fdopen(fd, "r+");
	char line[4096];
	size_t cap = 65536, len = 0;
	char *out = calloc(1, cap);
	if (!f || !out || !fgets(line, sizeof(line), f) || strncmp(line, "OK MPD ", 7)) {
		if (f)
			fclose(f);
		else
			close(fd);
		free(out);
		return NULL;
	}
	fprintf(f, "password " MPD_PASSWORD "\n");
	fflush(f);
	if (!fgets(line, sizeof(line), f) || strcmp(line, "OK\n")) {
		fclose(f);
		free(out);
		return NULL;
	}
	fprintf(f, "%s\n", cmd);
	fflush(f);
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);
		if (len + n + 1 < cap) {
			memcpy(out + len, line, n + 1);
			len += n;
		}
		if (!strcmp(line, "OK\n") || !strncmp(line, "ACK ", 4))
			break;
	}
	fclose(f);
	return out;
}

/* Whether mpd's answer to `cmd` contains `needle`, within WAIT_MS. */
static bool mpd_eventually(const char *cmd, const char *needle)
{
	for (int waited = 0; waited < WAIT_MS; waited += 50) {
		char *r = mpd_ask(cmd);
		bool ok = r && strstr(r, needle);
		free(r);
		if (ok)
			return true;
		usleep(50000);
	}
	return false;
}

static void expect_mpd(const char *cmd, const char *needle)
{
	bool ok = mpd_eventually(cmd, needle);
	char *r = mpd_ask(cmd);
	cr_assert(ok, "mpd's %s never showed '%s'; it says:\n%s", cmd, needle, r ? r : "(nothing)");
	free(r);
}

static void make_music(void)
{
	const char *names[] = {"a", "b", "c"};
	for (int i = 0; i < 3; i++) {
		char *path = th_strdupf("%s/music/%s.wav", th_fixture_dir(), names[i]);
		const char *argv[] = {"sox", "-n",    "-r",         "8000", "-c",  "1",
				      path,  "synth", SONG_SECONDS, "sine", "440", NULL};
		int status = -1;
		cr_assert_eq(th_run(argv, NULL, NULL, &status), 0);
		cr_assert_eq(status, 0, "sox failed");
		free(path);
	}
	char *m3u = th_strdupf("%s/playlists/movie-night.m3u", th_fixture_dir());
	cr_assert_eq(th_write_file(m3u, "a.wav\nb.wav\nc.wav\n"), 0);
	free(m3u);
}

static void rig_start(void)
{
	memset(&rig, 0, sizeof(rig));
	char *music = th_strdupf("%s/music", th_fixture_dir());
	char *lists = th_strdupf("%s/playlists", th_fixture_dir());
	cr_assert_eq(mkdir(music, 0755), 0);
	cr_assert_eq(mkdir(lists, 0755), 0);
	make_music();

	rig.port = th_free_port();
	cr_assert_gt(rig.port, 0);
	th_fixture_mpd_conf(rig.port, music, lists,
			    "password \"" MPD_PASSWORD "@read,add,control,admin\"\n"
			    "default_permissions \"read\"\n"
			    "audio_output {\n type \"null\"\n name \"amp\"\n"
			    " mixer_type \"software\"\n}\n");
	free(music);
	free(lists);
	rig.mpd = th_fixture_mpd_start(rig.port);
	char *r = mpd_ask("update");
	free(r);
	/* The database is ready when it counts our three songs. */
	expect_mpd("stats", "songs: 3\n");

	th_fixture_start_broker(NULL);
	char *yaml = th_strdupf("devices:\n"
				"  speaker:\n"
				"    driver: mpd\n"
				"    kind: speaker\n"
				"    port: %d\n"
				"    output: amp\n"
				"    password: " MPD_PASSWORD "\n"
				"    backoff: {initial: 100ms, max: 500ms}\n"
				"  radio:\n"
				"    driver: mpd\n"
				"    kind: speaker\n"
				"    host: localhost\n"
				"    password: " MPD_PASSWORD "\n"
				"    port: %d\n",
				rig.port, rig.port);
	th_fixture_start_daemon(NULL, yaml, NULL, NULL);
	free(yaml);
	th_fixture_expect_online("speaker");
	th_fixture_expect_online("radio");
}

static void rig_stop(void)
{
	/* The daemon first, so it does not see mpd go away. */
	th_fixture_stop_daemon();
	if (rig.mpd > 0)
		th_child_stop(rig.mpd, 5000);
	th_fixture_teardown();
}

TestSuite(mpd, .init = rig_start, .fini = rig_stop, .timeout = 180);

Test(mpd, volume)
{
	th_fixture_set("speaker", "{\"volume\":30}");
	expect_mpd("status", "volume: 30\n");
	th_fixture_expect_state("speaker", "{\"volume\":30,\"mute\":false}");
	/* Both devices watch the same mpd: the other one sees it too. */
	th_fixture_expect_state("radio", "{\"volume\":30}");
}

Test(mpd, play_a_playlist_then_next_previous_pause)
{
	th_fixture_set("speaker", "{\"play\":\"movie-night\"}");
	expect_mpd("status", "state: play\n");
	expect_mpd("currentsong", "file: a.wav\n");
	expect_mpd("status", "playlistlength: 3\n");
	th_fixture_expect_state("speaker", "{\"playing\":true,\"title\":\"a\"}");

	th_fixture_set("speaker", "{\"next\":true}");
	expect_mpd("currentsong", "file: b.wav\n");
	th_fixture_expect_state("speaker", "{\"playing\":true,\"title\":\"b\"}");

	th_fixture_set("speaker", "{\"previous\":true}");
	expect_mpd("currentsong", "file: a.wav\n");

	th_fixture_set("speaker", "{\"pause\":true}");
	expect_mpd("status", "state: pause\n");
	th_fixture_expect_state("speaker", "{\"playing\":false,\"title\":\"a\"}");

	th_fixture_set("speaker", "{\"stop\":true}");
	expect_mpd("status", "state: stop\n");
}

Test(mpd, play_a_single_file)
{
	th_fixture_set("speaker", "{\"play\":\"c.wav\"}");
	expect_mpd("currentsong", "file: c.wav\n");
	expect_mpd("status", "playlistlength: 1\n");
	th_fixture_expect_state("speaker", "{\"playing\":true,\"title\":\"c\"}");
}

Test(mpd, state_switches_the_configured_output)
{
	th_fixture_set("speaker", "{\"state\":\"OFF\"}");
	expect_mpd("outputs", "outputname: amp\nplugin: null\noutputenabled: 0\n");
	th_fixture_expect_state("speaker", "{\"state\":\"OFF\"}");
	/* The other output is not ours to switch. */
	expect_mpd("outputs", "outputname: null\nplugin: null\noutputenabled: 1\n");

	th_fixture_set("speaker", "{\"state\":\"ON\"}");
	expect_mpd("outputs", "outputname: amp\nplugin: null\noutputenabled: 1\n");
	th_fixture_expect_state("speaker", "{\"state\":\"ON\"}");
}

Test(mpd, state_without_output_plays_and_stops)
{
	char *r = mpd_ask("load movie-night");
	free(r);
	th_fixture_set("radio", "{\"state\":\"ON\"}");
	expect_mpd("status", "state: play\n");
	th_fixture_expect_state("radio", "{\"state\":\"ON\",\"playing\":true}");
	th_fixture_set("radio", "{\"state\":\"OFF\"}");
	expect_mpd("status", "state: stop\n");
	th_fixture_expect_state("radio", "{\"state\":\"OFF\",\"playing\":false}");
}

Test(mpd, change_by_another_client_is_pushed)
{
	th_fixture_set("speaker", "{\"volume\":60}");
	th_fixture_expect_state("speaker", "{\"volume\":60}");
	const char *argv[] = {"mpc", "-h", MPD_PASSWORD "@127.0.0.1", "-p", NULL, "volume",
			      "10",  NULL};
	char port[16];
	snprintf(port, sizeof(port), "%d", rig.port);
	argv[4] = port;
	int status = -1;
	cr_assert_eq(th_run(argv, NULL, NULL, &status), 0);
	cr_assert_eq(status, 0);
	th_fixture_expect_state("speaker", "{\"volume\":10}");

	/* A song started by another client. */
	char *r = mpd_ask("command_list_begin\nload movie-night\nplay 1\ncommand_list_end");
	free(r);
	th_fixture_expect_state("speaker", "{\"playing\":true,\"title\":\"b\"}");
}

Test(mpd, get_reads_mpd_again)
{
	th_fixture_set("speaker", "{\"volume\":45}");
	th_fixture_expect_state("speaker", "{\"volume\":45}");
	th_mqtt_clear(th_fx.mqtt);
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, "smarthub/speaker/get", "", 0, false), 0);
	th_fixture_expect_state("speaker", "{\"volume\":45,\"state\":\"ON\"}");
	/* And the connection is idle again: a change still arrives. */
	char *r = mpd_ask("setvol 46");
	free(r);
	th_fixture_expect_state("speaker", "{\"volume\":46}");
}

Test(mpd, several_properties_in_one_command)
{
	th_fixture_set("radio", "{\"state\":\"ON\",\"volume\":25,\"play\":\"movie-night\"}");
	expect_mpd("status", "volume: 25\n");
	expect_mpd("status", "state: play\n");
	expect_mpd("currentsong", "file: a.wav\n");
	th_fixture_expect_state(
		"radio", "{\"state\":\"ON\",\"volume\":25,\"playing\":true,\"title\":\"a\"}");

	/* mpd stops a list at its first error; what ran before stays done,
	 * and the published state says so. */
	th_fixture_set("radio", "{\"volume\":20,\"play\":\"no-such-list\"}");
	char *ev = th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/event", "No such playlist", WAIT_MS);
	cr_assert_not_null(ev);
	free(ev);
	expect_mpd("status", "volume: 20\n");
	th_fixture_expect_state("radio", "{\"volume\":20}");
}

Test(mpd, mute_remembers_the_volume)
{
	th_fixture_set("speaker", "{\"volume\":40}");
	expect_mpd("status", "volume: 40\n");
	th_fixture_expect_state("speaker", "{\"volume\":40}");
	th_fixture_set("speaker", "{\"mute\":true}");
	expect_mpd("status", "volume: 0\n");
	th_fixture_expect_state("speaker", "{\"volume\":0,\"mute\":true}");
	th_fixture_set("speaker", "{\"mute\":false}");
	expect_mpd("status", "volume: 40\n");
	th_fixture_expect_state("speaker", "{\"volume\":40,\"mute\":false}");
}

Test(mpd, mpd_error_becomes_an_event)
{
	th_fixture_set("speaker", "{\"play\":\"no-such-list\"}");
	char *ev = th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/event", "No such playlist", WAIT_MS);
	cr_assert_not_null(ev, "mpd's ACK must reach the user; log:\n%s",
			   th_daemon_log(&th_fx.daemon));
	free(ev);
	/* The device is still usable. */
	th_fixture_set("speaker", "{\"volume\":35}");
	expect_mpd("status", "volume: 35\n");
}

Test(mpd, restart_of_mpd_goes_offline_and_back)
{
	th_mqtt_clear(th_fx.mqtt);
	th_child_stop(rig.mpd, 5000);
	rig.mpd = 0;
	th_fixture_expect_availability("speaker", "offline");
	th_fixture_expect_availability("radio", "offline");

	rig.mpd = th_fixture_mpd_start(rig.port);
	th_fixture_expect_availability("speaker", "online");
	th_fixture_expect_availability("radio", "online");
	th_fixture_set("speaker", "{\"volume\":55}");
	expect_mpd("status", "volume: 55\n");
	th_fixture_expect_state("speaker", "{\"volume\":55}");
}

Test(mpd, wrong_password_is_refused_and_no_password_is_logged)
{
	/* A second hub on the same broker, under its own base topic. */
	struct th_daemon other = {0};
	char *yaml = th_strdupf("mqtt:\n"
				"  url: tcp://127.0.0.1:%d\n"
				"  base_topic: other\n"
				"  client_id: other\n"
				"devices:\n"
				"  intruder:\n"
				"    driver: mpd\n"
				"    kind: speaker\n"
				"    port: %d\n"
				"    password: not-the-password-123\n",
				th_fx.broker.port, rig.port);
	cr_assert_eq(th_daemon_start(&other, yaml, NULL, NULL), 0);
	free(yaml);
	bool refused = th_daemon_wait_log(&other, "incorrect password", WAIT_MS);
	char *log = th_daemon_log(&other);
	cr_assert(refused, "mpd's refusal must be told; log:\n%s", log);
	cr_assert_null(strstr(log, "not-the-password-123"), "log:\n%s", log);
	free(log);
	char *avail = th_mqtt_last(th_fx.mqtt, "other/intruder/availability");
	cr_assert(!avail || strstr(avail, "offline"), "availability: %s", avail);
	free(avail);
	th_daemon_stop(&other);

	/* The right password works (the rig's devices are online), and is
	 * not in the log either. */
	log = th_daemon_log(&th_fx.daemon);
	cr_assert_null(strstr(log, MPD_PASSWORD), "log:\n%s", log);
	free(log);
}

/* Mistakes in the driver's options are reported with their position
 * before anything connects, and the daemon refuses the file. */
Test(mpd_config, options_are_checked, .timeout = 60)
{
	const char *yaml = "devices:\n"
			   "  speaker:\n"
			   "    driver: mpd\n"
			   "    kind: speaker\n"
			   "    port: 0\n"
			   "    passwd: secret\n";
	char *log = th_fixture_refused_config(yaml);
	cr_assert(strstr(log, ":5:") && strstr(log, "port"), "log:\n%s", log);
	cr_assert(strstr(log, ":6:") && strstr(log, "passwd"), "unknown option; log:\n%s", log);
	cr_assert_null(strstr(log, "secret"), "an option's value may be a secret; log:\n%s", log);
	free(log);
}
