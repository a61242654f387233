/* SPDX-License-Identifier: MIT */
/*
 * The Music Player Daemon protocol, as pure functions: the greeting, ACK
 * errors, the responses of `status`, `currentsong`, `outputs` and `idle`
 * (alone or in a command list), and quoting of command arguments. No I/O
 * and no daemon: the mpd driver, its unit tests and fuzz targets link this.
 *
 * A response is a run of lines ending with "OK" or "ACK ...". Feed it line
 * by line with mpd_response_feed, or hand a whole buffer to
 * mpd_parse_response. Everything is kept in fixed-size fields, so a
 * hostile server can make a response long but not make us allocate.
 */
#ifndef SMARTHUB_MPD_PROTO_H
#define SMARTHUB_MPD_PROTO_H

#include <stdbool.h>
#include <stddef.h>

/* Outputs remembered from one `outputs` response; later ones are ignored. */
#define MPD_OUTPUTS_MAX 16
/* Longest tag value kept (title, artist, ...); longer ones are cut. */
#define MPD_TEXT_MAX 256
/* Longest command name and message kept from an ACK line. */
#define MPD_ACK_COMMAND_MAX 64
#define MPD_ACK_MESSAGE_MAX 256

/* `idle` subsystems, as reported by "changed: <name>". */
#define MPD_IDLE_PLAYER 0x01u
#define MPD_IDLE_MIXER 0x02u
#define MPD_IDLE_OUTPUT 0x04u
#define MPD_IDLE_PLAYLIST 0x08u
#define MPD_IDLE_OPTIONS 0x10u
#define MPD_IDLE_OTHER 0x80u

enum mpd_play_state {
	MPD_STATE_UNKNOWN,
	MPD_STATE_STOP,
	MPD_STATE_PLAY,
	MPD_STATE_PAUSE,
};

/* "ACK [code@list_index] {command} message" */
struct mpd_ack {
	int code;
	int list_index;
	char command[MPD_ACK_COMMAND_MAX];
	char message[MPD_ACK_MESSAGE_MAX];
};

struct mpd_output {
	int id;
	char name[MPD_TEXT_MAX];
	bool enabled;
};

struct mpd_response {
	bool complete; /* the final OK or ACK was seen */
	bool failed;   /* it was an ACK; see `ack` */
	struct mpd_ack ack;
	unsigned lists;   /* "list_OK" lines (one per command of a list) */
	unsigned changed; /* MPD_IDLE_* from an idle response */

	/* status */
	enum mpd_play_state state;
	int volume; /* 0-100; -1 when absent or when mpd has no mixer */
	bool has_elapsed;
	double elapsed; /* seconds */
	bool updating_db;

	/* currentsong (empty strings when absent) */
	bool has_song;
	char file[MPD_TEXT_MAX];
	char title[MPD_TEXT_MAX];
	char artist[MPD_TEXT_MAX];
	char name[MPD_TEXT_MAX]; /* a stream's name */

	/* outputs */
	size_t n_outputs;
	struct mpd_output outputs[MPD_OUTPUTS_MAX];
};

/* Parses "OK MPD 0.23.5". Returns 0 and the version (any pointer may be
 * NULL), or -EPROTO. */
int mpd_parse_greeting(const char *line, size_t len, unsigned *major, unsigned *minor,
		       unsigned *patch);

/* Parses an "ACK [50@1] {load} No such playlist" line. Returns 0 or
 * -EPROTO (then *ack holds what could be read, message at least). */
int mpd_parse_ack(const char *line, size_t len, struct mpd_ack *ack);

/* Empties *r for a new response. */
void mpd_response_init(struct mpd_response *r);

/* Feeds one line without its "\n" (it need not be NUL-terminated). Returns
 * 1 when that line completed the response, 0 when more lines are needed,
 * -EPROTO for a line that is neither "key: value", "list_OK", "OK" nor
 * "ACK", or for a line after the response completed. */
int mpd_response_feed(struct mpd_response *r, const char *line, size_t len);

/* Parses the first response in `buf` (lines ending in "\n"; "\r\n" is
 * accepted). Returns the bytes it took (> 0) with *r filled, 0 when `buf`
 * holds no complete response yet, or -EPROTO. */
int mpd_parse_response(const char *buf, size_t len, struct mpd_response *r);

/* The id of the output called `name` in r, or -1. */
int mpd_output_id(const struct mpd_response *r, const char *name);
/* Whether that output is enabled (false when unknown). */
bool mpd_output_enabled(const struct mpd_response *r, int id);

/* Appends `arg` to the NUL-terminated string in `buf` as one quoted MPD
 * argument (a space, then "..." with " and \ escaped). Returns 0 or
 * -ENOBUFS (buf unchanged); -EINVAL for an argument with a newline, which
 * MPD cannot take. */
int mpd_append_arg(char *buf, size_t size, const char *arg);

/* Whether `play`'s text names a song or URI (added with `add`) rather than
 * a stored playlist (loaded with `load`): it has a scheme ("http://"), a
 * slash, or a file extension of an audio format. */
bool mpd_is_uri(const char *s);

#endif
