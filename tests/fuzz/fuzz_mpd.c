// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the MPD protocol parser: every input is what a hostile
 * or broken server could send. The first line goes to the greeting parser,
 * the whole buffer is read response after response as the driver reads its
 * socket, every line is also fed one at a time and to the ACK parser, and
 * the input's text is quoted as a command argument.
 */
#include "mpd_proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* More responses than this in one input add nothing but time. */
#define FUZZ_MPD_RESPONSES_MAX 64

static void check_response(const struct mpd_response *r)
{
	if (r->n_outputs > MPD_OUTPUTS_MAX)
		abort();
	/* Every text field must stay a string within its array. */
	if (!memchr(r->file, '\0', sizeof(r->file)) || !memchr(r->title, '\0', sizeof(r->title)) ||
	    !memchr(r->artist, '\0', sizeof(r->artist)) ||
	    !memchr(r->name, '\0', sizeof(r->name)) ||
	    !memchr(r->ack.command, '\0', sizeof(r->ack.command)) ||
	    !memchr(r->ack.message, '\0', sizeof(r->ack.message)))
		abort();
	for (size_t i = 0; i < r->n_outputs; i++) {
		if (!memchr(r->outputs[i].name, '\0', sizeof(r->outputs[i].name)))
			abort();
		if (mpd_output_id(r, r->outputs[i].name) < -1)
			abort();
		(void)mpd_output_enabled(r, r->outputs[i].id);
	}
}

static void parse_buffer(const char *buf, size_t len)
{
	struct mpd_response r;

	for (unsigned i = 0; i < FUZZ_MPD_RESPONSES_MAX && len > 0; i++) {
		int n = mpd_parse_response(buf, len, &r);
		if (n <= 0)
			return;
		if ((size_t)n > len || !r.complete)
			abort();
		check_response(&r);
		buf += n;
		len -= (size_t)n;
	}
}

static void feed_lines(const char *buf, size_t len)
{
	struct mpd_response r;
	struct mpd_ack ack;

	mpd_response_init(&r);
	while (len > 0) {
		const char *nl = memchr(buf, '\n', len);
		size_t line = nl ? (size_t)(nl - buf) : len;
		memset(&ack, 0, sizeof(ack));
		(void)mpd_parse_ack(buf, line, &ack);
		if (!memchr(ack.message, '\0', sizeof(ack.message)))
			abort();
		if (mpd_response_feed(&r, buf, line) != 0) {
			check_response(&r);
			mpd_response_init(&r);
		}
		if (!nl)
			break;
		buf += line + 1;
		len -= line + 1;
	}
	check_response(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	const char *nl = memchr(buf, '\n', size);
	unsigned major, minor, patch;

	(void)mpd_parse_greeting(buf, nl ? (size_t)(nl - buf) : size, &major, &minor, &patch);
	parse_buffer(buf, size);
	feed_lines(buf, size);

	/* The input as a NUL-terminated string, exactly sized so that a read
	 * past its end is caught. */
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	(void)mpd_is_uri(s);
	char cmd[128] = "add";
	if (mpd_append_arg(cmd, sizeof(cmd), s) == 0 && !memchr(cmd, '\0', sizeof(cmd)))
		abort();
	free(s);
	return 0;
}
