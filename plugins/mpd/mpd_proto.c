/* SPDX-License-Identifier: MIT */
/*
 * The MPD protocol parser and argument quoting (see mpd_proto.h). Pure
 * functions over caller-owned buffers; nothing here allocates or keeps
 * state between calls.
 */
#include "mpd_proto.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Copies at most size-1 bytes of a length-delimited value. */
static void copy_text(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static bool line_is(const char *line, size_t len, const char *word)
{
	size_t n = strlen(word);
	return len == n && memcmp(line, word, n) == 0;
}

static bool line_starts(const char *line, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && memcmp(line, prefix, n) == 0;
}

/* Reads a decimal integer from [*p, end); -EPROTO when none or too big. */
static int read_uint(const char **p, const char *end, unsigned *out)
{
	unsigned long v = 0;
	const char *s = *p;

	if (s >= end || *s < '0' || *s > '9')
		return -EPROTO;
	while (s < end && *s >= '0' && *s <= '9') {
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 1000000000ul)
			return -EPROTO;
		s++;
	}
	*p = s;
	*out = (unsigned)v;
	return 0;
}

int mpd_parse_greeting(const char *line, size_t len, unsigned *major, unsigned *minor,
		       unsigned *patch)
{
	const char *p = line + 7, *end = line + len;
	unsigned v[3] = {0, 0, 0};

	if (!line_starts(line, len, "OK MPD "))
		return -EPROTO;
	for (int i = 0; i < 3; i++) {
		if (read_uint(&p, end, &v[i]) < 0)
			return -EPROTO;
		if (i < 2) {
			if (p >= end || *p != '.') {
				/* "OK MPD 0.23" is fine too. */
				if (i == 1)
					break;
				return -EPROTO;
			}
			p++;
		}
	}
	if (major)
		*major = v[0];
	if (minor)
		*minor = v[1];
	if (patch)
		*patch = v[2];
	return 0;
}

int mpd_parse_ack(const char *line, size_t len, struct mpd_ack *ack)
{
	const char *p = line + 4, *end = line + len;
	unsigned code = 0, index = 0;

	memset(ack, 0, sizeof(*ack));
	ack->code = -1;
	ack->list_index = -1;
	if (!line_starts(line, len, "ACK "))
		return -EPROTO;
	/* Whatever follows, keep the text so the user sees mpd's words. */
	copy_text(ack->message, sizeof(ack->message), p, (size_t)(end - p));
	if (p >= end || *p++ != '[')
		return -EPROTO;
	if (read_uint(&p, end, &code) < 0 || p >= end || *p++ != '@')
		return -EPROTO;
	if (read_uint(&p, end, &index) < 0 || p >= end || *p++ != ']')
		return -EPROTO;
	if (p < end && *p == ' ')
		p++;
	if (p >= end || *p++ != '{')
		return -EPROTO;
	const char *close = memchr(p, '}', (size_t)(end - p));
	if (!close)
		return -EPROTO;
	copy_text(ack->command, sizeof(ack->command), p, (size_t)(close - p));
	p = close + 1;
	if (p < end && *p == ' ')
		p++;
	copy_text(ack->message, sizeof(ack->message), p, (size_t)(end - p));
	ack->code = (int)code;
	ack->list_index = (int)index;
	return 0;
}

void mpd_response_init(struct mpd_response *r)
{
	memset(r, 0, sizeof(*r));
	r->volume = -1;
}

static unsigned idle_subsystem(const char *v, size_t n)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
		{"player", MPD_IDLE_PLAYER},   {"mixer", MPD_IDLE_MIXER},
		{"output", MPD_IDLE_OUTPUT},   {"playlist", MPD_IDLE_PLAYLIST},
		{"options", MPD_IDLE_OPTIONS},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (line_is(v, n, names[i].name))
			return names[i].bit;
	return MPD_IDLE_OTHER;
}

/* Parses a whole value as an int within [min, max]; false otherwise. */
static bool value_int(const char *v, size_t n, long min, long max, long *out)
{
	char tmp[24];
	char *end;

	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	errno = 0;
	long x = strtol(tmp, &end, 10);
	if (errno || *end || x < min || x > max)
		return false;
	*out = x;
	return true;
}

static void pair(struct mpd_response *r, const char *k, size_t kn, const char *v, size_t vn)
{
	long x;

	if (line_is(k, kn, "changed")) {
		r->changed |= idle_subsystem(v, vn);
	} else if (line_is(k, kn, "state")) {
		if (line_is(v, vn, "play"))
			r->state = MPD_STATE_PLAY;
		else if (line_is(v, vn, "pause"))
			r->state = MPD_STATE_PAUSE;
		else if (line_is(v, vn, "stop"))
			r->state = MPD_STATE_STOP;
	} else if (line_is(k, kn, "volume")) {
		if (value_int(v, vn, -1, 100, &x))
			r->volume = (int)x;
	} else if (line_is(k, kn, "elapsed")) {
		char tmp[32], *end;
		if (vn > 0 && vn < sizeof(tmp)) {
			memcpy(tmp, v, vn);
			tmp[vn] = '\0';
			double d = strtod(tmp, &end);
			/* NaN fails d >= 0; no song is longer than a year. */
			if (!*end && d >= 0 && d < 366.0 * 86400) {
				r->elapsed = d;
				r->has_elapsed = true;
			}
		}
	} else if (line_is(k, kn, "updating_db")) {
		r->updating_db = true;
	} else if (line_is(k, kn, "file")) {
		r->has_song = true;
		copy_text(r->file, sizeof(r->file), v, vn);
	} else if (line_is(k, kn, "Title")) {
		copy_text(r->title, sizeof(r->title), v, vn);
	} else if (line_is(k, kn, "Artist")) {
		copy_text(r->artist, sizeof(r->artist), v, vn);
	} else if (line_is(k, kn, "Name")) {
		copy_text(r->name, sizeof(r->name), v, vn);
	} else if (line_is(k, kn, "outputid")) {
		if (r->n_outputs < MPD_OUTPUTS_MAX && value_int(v, vn, 0, INT32_MAX, &x)) {
			struct mpd_output *o = &r->outputs[r->n_outputs++];
			memset(o, 0, sizeof(*o));
			o->id = (int)x;
		}
	} else if (line_is(k, kn, "outputname")) {
		if (r->n_outputs > 0)
			copy_text(r->outputs[r->n_outputs - 1].name, sizeof(r->outputs[0].name), v,
				  vn);
	} else if (line_is(k, kn, "outputenabled")) {
		if (r->n_outputs > 0)
			r->outputs[r->n_outputs - 1].enabled = line_is(v, vn, "1");
	}
	/* Every other key (bitrate, audio, Pos, plugin, ...) is not ours. */
}

int mpd_response_feed(struct mpd_response *r, const char *line, size_t len)
{
	if (r->complete)
		return -EPROTO;
	if (line_is(line, len, "OK")) {
		r->complete = true;
		return 1;
	}
	if (line_is(line, len, "list_OK")) {
		r->lists++;
		return 0;
	}
	if (line_starts(line, len, "ACK ")) {
		mpd_parse_ack(line, len, &r->ack); /* a malformed ACK is still an error */
		r->complete = true;
		r->failed = true;
		return 1;
	}
	const char *colon = memchr(line, ':', len);
	if (!colon || colon == line || (size_t)(colon - line) + 1 >= len || colon[1] != ' ')
		return -EPROTO;
	size_t kn = (size_t)(colon - line);
	pair(r, line, kn, colon + 2, len - kn - 2);
	return 0;
}

int mpd_parse_response(const char *buf, size_t len, struct mpd_response *r)
{
	size_t start = 0;

	mpd_response_init(r);
	while (start < len) {
		const char *nl = memchr(buf + start, '\n', len - start);
		if (!nl)
			return 0;
		size_t n = (size_t)(nl - (buf + start));
		if (n > 0 && buf[start + n - 1] == '\r')
			n--;
		int ret = mpd_response_feed(r, buf + start, n);
		start = (size_t)(nl - buf) + 1;
		if (ret < 0)
			return ret;
		if (ret == 1)
			return start > INT32_MAX ? -EPROTO : (int)start;
	}
	return 0;
}

int mpd_output_id(const struct mpd_response *r, const char *name)
{
	for (size_t i = 0; i < r->n_outputs; i++)
		if (strcmp(r->outputs[i].name, name) == 0)
			return r->outputs[i].id;
	return -1;
}

bool mpd_output_enabled(const struct mpd_response *r, int id)
{
	for (size_t i = 0; i < r->n_outputs; i++)
		if (r->outputs[i].id == id)
			return r->outputs[i].enabled;
	return false;
}

int mpd_append_arg(char *buf, size_t size, const char *arg)
{
	size_t len = strlen(buf), need = len + 3; /* space and two quotes */

	for (const char *s = arg; *s; s++) {
		if (*s == '\n' || *s == '\r')
			return -EINVAL;
		need += (*s == '"' || *s == '\\') ? 2 : 1;
	}
	if (need + 1 > size)
		return -ENOBUFS;
	char *o = buf + len;
	*o++ = ' ';
	*o++ = '"';
	for (const char *s = arg; *s; s++) {
		if (*s == '"' || *s == '\\')
			*o++ = '\\';
		*o++ = *s;
	}
	*o++ = '"';
	*o = '\0';
	return 0;
}

bool mpd_is_uri(const char *s)
{
	static const char *const audio_ext[] = {
		"mp3", "flac", "ogg",  "oga", "opus", "wav", "m4a", "aac", "wv",
		"mpc", "aif",  "aiff", "ape", "wma",  "mka", "dsf", "dff", NULL,
	};

	if (strstr(s, "://") || strchr(s, '/'))
		return true;
	const char *dot = strrchr(s, '.');
	if (!dot)
		return false;
	for (size_t i = 0; audio_ext[i]; i++)
		if (strcasecmp(dot + 1, audio_ext[i]) == 0)
			return true;
	return false;
}
