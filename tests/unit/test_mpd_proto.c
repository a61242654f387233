/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the MPD protocol parser (plugins/mpd/mpd_proto.c): the
 * greeting, ACK lines, status/currentsong/outputs/idle responses alone and
 * in command lists, malformed input, and argument quoting.
 */
#include "mpd_proto.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define PARSE(text, r) mpd_parse_response(text, strlen(text), r)

Test(mpd_proto, greeting)
{
	unsigned a, b, c;
	cr_assert_eq(mpd_parse_greeting("OK MPD 0.23.12", 14, &a, &b, &c), 0);
	cr_assert(a == 0 && b == 23 && c == 12);
	cr_assert_eq(mpd_parse_greeting("OK MPD 0.19", 11, &a, &b, &c), 0);
	cr_assert(a == 0 && b == 19 && c == 0);
	cr_assert_eq(mpd_parse_greeting("OK", 2, NULL, NULL, NULL), -EPROTO);
	cr_assert_eq(mpd_parse_greeting("OK MPD x", 8, NULL, NULL, NULL), -EPROTO);
	cr_assert_eq(mpd_parse_greeting("SSH-2.0-OpenSSH", 15, NULL, NULL, NULL), -EPROTO);
}

Test(mpd_proto, ack)
{
	struct mpd_ack ack;
	const char *line = "ACK [50@1] {load} No such playlist";
	cr_assert_eq(mpd_parse_ack(line, strlen(line), &ack), 0);
	cr_assert_eq(ack.code, 50);
	cr_assert_eq(ack.list_index, 1);
	cr_assert_str_eq(ack.command, "load");
	cr_assert_str_eq(ack.message, "No such playlist");

	line = "ACK garbage";
	cr_assert_eq(mpd_parse_ack(line, strlen(line), &ack), -EPROTO);
	cr_assert_str_eq(ack.message, "garbage");
}

Test(mpd_proto, status_song_outputs_in_a_list)
{
	struct mpd_response r;
	const char *text = "volume: 40\nrepeat: 0\nstate: play\nsong: 1\nelapsed: 12.600\n"
			   "list_OK\n"
			   "file: movie/theme.flac\nTitle: Theme\nArtist: Band\nPos: 1\n"
			   "list_OK\n"
			   "outputid: 0\noutputname: null\nplugin: null\noutputenabled: 1\n"
			   "outputid: 1\noutputname: amp\nplugin: null\noutputenabled: 0\n"
			   "attribute: x=y\nlist_OK\nOK\ntrailing";
	int n = PARSE(text, &r);
	cr_assert_eq(n, (int)(strstr(text, "trailing") - text));
	cr_assert(r.complete && !r.failed);
	cr_assert_eq(r.lists, 3);
	cr_assert_eq(r.state, MPD_STATE_PLAY);
	cr_assert_eq(r.volume, 40);
	cr_assert(r.has_elapsed && r.elapsed > 12.5 && r.elapsed < 12.7);
	cr_assert(r.has_song);
	cr_assert_str_eq(r.file, "movie/theme.flac");
	cr_assert_str_eq(r.title, "Theme");
	cr_assert_str_eq(r.artist, "Band");
	cr_assert_eq(r.n_outputs, 2);
	cr_assert_eq(mpd_output_id(&r, "amp"), 1);
	cr_assert_eq(mpd_output_id(&r, "nope"), -1);
	cr_assert(mpd_output_enabled(&r, 0));
	cr_assert_not(mpd_output_enabled(&r, 1));
}

Test(mpd_proto, no_mixer_and_no_song)
{
	struct mpd_response r;
	cr_assert_gt(PARSE("volume: -1\nstate: stop\nlist_OK\nlist_OK\nOK\n", &r), 0);
	cr_assert_eq(r.volume, -1);
	cr_assert_eq(r.state, MPD_STATE_STOP);
	cr_assert_not(r.has_song);
	cr_assert_not(r.has_elapsed);
}

Test(mpd_proto, idle_changes)
{
	struct mpd_response r;
	cr_assert_gt(PARSE("changed: player\nchanged: mixer\nchanged: sticker\nOK\n", &r), 0);
	cr_assert_eq(r.changed, MPD_IDLE_PLAYER | MPD_IDLE_MIXER | MPD_IDLE_OTHER);
	cr_assert_gt(PARSE("OK\n", &r), 0);
	cr_assert_eq(r.changed, 0);
}

Test(mpd_proto, ack_ends_a_list)
{
	struct mpd_response r;
	cr_assert_gt(PARSE("list_OK\r\nACK [50@1] {load} No such playlist\r\n", &r), 0);
	cr_assert(r.complete && r.failed);
	cr_assert_eq(r.lists, 1);
	cr_assert_str_eq(r.ack.command, "load");
	cr_assert_str_eq(r.ack.message, "No such playlist");
}

Test(mpd_proto, incomplete_and_malformed)
{
	struct mpd_response r;
	cr_assert_eq(PARSE("state: play\nvolume: 3", &r), 0);
	cr_assert_eq(PARSE("state: play\n", &r), 0);
	cr_assert_eq(PARSE("no colon here\nOK\n", &r), -EPROTO);
	cr_assert_eq(PARSE(":\nOK\n", &r), -EPROTO);
	const char *odd = "volume: 999\nelapsed: nan\nOK\n";
	cr_assert_eq(PARSE(odd, &r), (int)strlen(odd));
	cr_assert_eq(r.volume, -1, "out-of-range volume is ignored");
	cr_assert_not(r.has_elapsed, "NaN elapsed is ignored");

	mpd_response_init(&r);
	cr_assert_eq(mpd_response_feed(&r, "OK", 2), 1);
	cr_assert_eq(mpd_response_feed(&r, "OK", 2), -EPROTO, "nothing after the end");
}

Test(mpd_proto, long_values_are_cut)
{
	struct mpd_response r;
	char text[2000];
	strcpy(text, "Title: ");
	memset(text + 7, 'x', 1500);
	strcpy(text + 1507, "\nOK\n");
	cr_assert_gt(PARSE(text, &r), 0);
	cr_assert_eq(strlen(r.title), MPD_TEXT_MAX - 1);
}

Test(mpd_proto, many_outputs_are_bounded)
{
	struct mpd_response r;
	char text[4096] = "";
	for (int i = 0; i < MPD_OUTPUTS_MAX + 5; i++)
		sprintf(text + strlen(text), "outputid: %d\noutputname: o%d\n", i, i);
	strcat(text, "OK\n");
	cr_assert_gt(PARSE(text, &r), 0);
	cr_assert_eq(r.n_outputs, MPD_OUTPUTS_MAX);
}

Test(mpd_proto, quoting)
{
	char buf[64] = "load";
	cr_assert_eq(mpd_append_arg(buf, sizeof(buf), "movie night"), 0);
	cr_assert_str_eq(buf, "load \"movie night\"");
	strcpy(buf, "add");
	cr_assert_eq(mpd_append_arg(buf, sizeof(buf), "a\"b\\c"), 0);
	cr_assert_str_eq(buf, "add \"a\\\"b\\\\c\"");
	cr_assert_eq(mpd_append_arg(buf, sizeof(buf), "x\nclear"), -EINVAL);
	char small[8] = "add";
	cr_assert_eq(mpd_append_arg(small, sizeof(small), "abcd"), -ENOBUFS);
	cr_assert_str_eq(small, "add");
}

Test(mpd_proto, uri_or_playlist)
{
	cr_assert(mpd_is_uri("http://radio.example/stream"));
	cr_assert(mpd_is_uri("music/a.wav"));
	cr_assert(mpd_is_uri("song.FLAC"));
	cr_assert_not(mpd_is_uri("movie-night"));
	cr_assert_not(mpd_is_uri("Best of vol.2"));
}
