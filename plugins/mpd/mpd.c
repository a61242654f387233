/* SPDX-License-Identifier: MIT */
/*
 * The mpd driver: a speaker backed by a Music Player Daemon over TCP.
 *
 * One connection per device. State is pushed, not polled: between commands
 * the connection sits in `idle player mixer output playlist options`; when
 * that returns (something changed, here or from another client) the driver
 * reads `status`, `currentsong` and `outputs` in one command list,
 * publishes the state and goes idle again. A command interrupts the idle
 * with `noidle`, waits for the idle's answer, sends its own command list,
 * and reads the state back before it completes, so the state a scene sees
 * after a command already shows it.
 *
 * The driver owns its struct mpd (per device), its line connection and the
 * text of the command being run. Reconnecting, backoff, timeouts and the
 * command queue are the daemon's.
 */
#include "mpd_proto.h"
#include "tcpline.h"

#include <errno.h>
#include <stdarg.h>
#include <smarthub/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest command list we send (a play with a long URI fits easily). */
#define MPD_COMMAND_MAX 4096
/* Lines of one command list: enough for every speaker property at once. */
#define MPD_COMMAND_LINES_MAX 12

#define MPD_IDLE_LINE "idle player mixer output playlist options\n"
#define MPD_QUERY_LINES "command_list_ok_begin\nstatus\ncurrentsong\noutputs\ncommand_list_end\n"

/* What the one request in flight is; MPD answers strictly in order and we
 * never pipeline, so one is enough. */
enum mpd_phase {
	MPD_PHASE_NONE,     /* nothing in flight (between steps) */
	MPD_PHASE_GREETING, /* waiting for "OK MPD x.y.z" */
	MPD_PHASE_PASSWORD,
	MPD_PHASE_QUERY,  /* status + currentsong + outputs */
	MPD_PHASE_IDLE,   /* idle; a command or refresh sends noidle */
	MPD_PHASE_NOIDLE, /* noidle sent; waiting for the idle's answer */
	MPD_PHASE_COMMAND,
};

struct mpd {
	struct sh_device *dev;
	const struct sh_host *host;
	const char *hostname;
	unsigned port;
	const char *password; /* NULL when none; never logged */
	const char *output;   /* the output `state` switches, or NULL */

	struct sh_tcpline *conn;
	enum mpd_phase phase;
	struct mpd_response resp;
	bool ready; /* the handshake is done and host->connected was reported */

	/* The command being run: its text waits in `cmd_text` until the idle
	 * is interrupted; its result waits in cmd_err/cmd_reason until the
	 * state has been read back. */
	bool cmd_active;
	bool cmd_sent;
	bool refresh_wanted;
	uint64_t cmd_id;
	char cmd_text[MPD_COMMAND_MAX];
	int cmd_err;
	char cmd_reason[MPD_ACK_MESSAGE_MAX + 64];

	/* From the last status: volume (-1 unknown), the output's id (-1 when
	 * absent), and the volume to restore on unmute (-1 when not muted). */
	int volume;
	int output_id;
	int muted_volume;
	bool warned_no_output;
};

static void mpd_fail(struct mpd *m, const char *reason);

/* Sends one request and waits for its answer in `phase`. A request that
 * cannot be queued would leave us waiting forever, so it ends the
 * connection instead (the daemon reconnects). */
static void mpd_send(struct mpd *m, const char *text, enum mpd_phase phase)
{
	mpd_response_init(&m->resp);
	m->phase = phase;
	int err = sh_tcpline_send(m->conn, text, strlen(text));
	if (err < 0) {
		char reason[96];
		snprintf(reason, sizeof(reason), "cannot send to mpd: %s", strerror(-err));
		mpd_fail(m, reason);
	}
}

/* Reports a broken connection; the daemon knows whether it was a failed
 * attempt or a lost connection. */
static void mpd_fail(struct mpd *m, const char *reason)
{
	/* Closed here too, so nothing more arrives even if the daemon
	 * disconnects later; the daemon's disconnect is then a no-op. */
	sh_tcpline_close(m->conn);
	m->conn = NULL;
	m->phase = MPD_PHASE_NONE;
	m->ready = false;
	m->host->failed(m->dev, reason);
}

static void mpd_publish(struct mpd *m, const struct mpd_response *r)
{
	cJSON *patch = cJSON_CreateObject();
	if (!patch)
		return;

	m->output_id = m->output ? mpd_output_id(r, m->output) : -1;
	if (m->output && m->output_id < 0 && !m->warned_no_output) {
		m->host->log(m->dev, SH_LOG_WARNING, "mpd has no output named '%s'", m->output);
		m->warned_no_output = true;
	}
	bool on = m->output ? mpd_output_enabled(r, m->output_id) : r->state == MPD_STATE_PLAY;
	cJSON_AddStringToObject(patch, "state", on ? "ON" : "OFF");
	cJSON_AddBoolToObject(patch, "playing", r->state == MPD_STATE_PLAY);

	m->volume = r->volume;
	if (r->volume > 0)
		m->muted_volume = -1; /* someone turned it up: not muted any more */
	if (r->volume >= 0) {
		cJSON_AddNumberToObject(patch, "volume", r->volume);
		cJSON_AddBoolToObject(patch, "mute", r->volume == 0 && m->muted_volume > 0);
	}

	/* Songs without tags (a bare wav) are named by their file. */
	const char *title = r->title[0] ? r->title : r->name;
	char base[MPD_TEXT_MAX];
	if (!title[0] && r->file[0]) {
		const char *slash = strrchr(r->file, '/');
		snprintf(base, sizeof(base), "%s", slash ? slash + 1 : r->file);
		char *dot = strrchr(base, '.');
		if (dot && dot != base && !strstr(r->file, "://"))
			*dot = '\0';
		title = base;
	}
	if (r->has_song && title[0])
		cJSON_AddStringToObject(patch, "title", title);
	else
		cJSON_AddNullToObject(patch, "title");
	if (r->has_song && r->artist[0])
		cJSON_AddStringToObject(patch, "artist", r->artist);
	else
		cJSON_AddNullToObject(patch, "artist");
	if (r->has_elapsed && r->state != MPD_STATE_STOP)
		cJSON_AddNumberToObject(patch, "elapsed", (double)(long long)(r->elapsed + 0.5));
	else
		cJSON_AddNumberToObject(patch, "elapsed", 0);

	m->host->state_update(m->dev, patch);
	cJSON_Delete(patch);
}

/* Decides the next request once nothing is in flight: a waiting command,
 * a refresh, or back to idle. */
static void mpd_next(struct mpd *m)
{
	if (!m->conn || m->phase != MPD_PHASE_NONE)
		return;
	if (m->cmd_active && !m->cmd_sent) {
		m->cmd_sent = true;
		mpd_send(m, m->cmd_text, MPD_PHASE_COMMAND);
	} else if (m->refresh_wanted) {
		m->refresh_wanted = false;
		mpd_send(m, MPD_QUERY_LINES, MPD_PHASE_QUERY);
	} else {
		mpd_send(m, MPD_IDLE_LINE, MPD_PHASE_IDLE);
	}
}

static void mpd_query_done(struct mpd *m)
{
	if (m->resp.failed) {
		char reason[MPD_ACK_MESSAGE_MAX + 32];
		snprintf(reason, sizeof(reason), "mpd refused status: %s", m->resp.ack.message);
		mpd_fail(m, reason);
		return;
	}
	m->phase = MPD_PHASE_NONE;
	mpd_publish(m, &m->resp);
	if (!m->ready) {
		m->ready = true;
		/* The daemon may send a command from inside this call: it waits
		 * in cmd_text and mpd_next below sends it. */
		m->host->connected(m->dev);
	}
	if (m->cmd_active && m->cmd_sent) {
		m->cmd_active = false;
		m->cmd_sent = false;
		m->host->command_done(m->dev, m->cmd_id, m->cmd_err,
				      m->cmd_err ? m->cmd_reason : NULL);
	}
	if (m->conn)
		mpd_next(m);
}

static void mpd_response_done(struct mpd *m)
{
	switch (m->phase) {
	case MPD_PHASE_PASSWORD:
		if (m->resp.failed) {
			/* mpd's message, never the password itself */
			char reason[MPD_ACK_MESSAGE_MAX + 32];
			snprintf(reason, sizeof(reason), "password refused: %s",
				 m->resp.ack.message);
			mpd_fail(m, reason);
			return;
		}
		mpd_send(m, MPD_QUERY_LINES, MPD_PHASE_QUERY);
		break;
	case MPD_PHASE_QUERY:
		mpd_query_done(m);
		break;
	case MPD_PHASE_IDLE:
		/* Something changed (or a noidle raced with the change). */
		mpd_send(m, MPD_QUERY_LINES, MPD_PHASE_QUERY);
		break;
	case MPD_PHASE_NOIDLE:
		m->phase = MPD_PHASE_NONE;
		if (m->cmd_active && !m->cmd_sent) {
			mpd_next(m);
		} else {
			m->refresh_wanted = false;
			mpd_send(m, MPD_QUERY_LINES, MPD_PHASE_QUERY);
		}
		break;
	case MPD_PHASE_COMMAND:
		m->cmd_err = 0;
		if (m->resp.failed) {
			m->cmd_err = -EIO;
			snprintf(m->cmd_reason, sizeof(m->cmd_reason), "%s",
				 m->resp.ack.message[0] ? m->resp.ack.message : "mpd refused");
			m->host->log(m->dev, SH_LOG_DEBUG, "{%s} failed: %s", m->resp.ack.command,
				     m->resp.ack.message);
		}
		/* Read the state back before completing (even after an ACK: a
		 * list may have run partly). */
		mpd_send(m, MPD_QUERY_LINES, MPD_PHASE_QUERY);
		break;
	default:
		break;
	}
}

static void mpd_on_line(void *ctx, char *line, size_t len)
{
	struct mpd *m = ctx;

	if (m->phase == MPD_PHASE_GREETING) {
		unsigned major, minor, patch;
		if (mpd_parse_greeting(line, len, &major, &minor, &patch) < 0) {
			mpd_fail(m, "not an MPD server (no OK MPD greeting)");
			return;
		}
		m->host->log(m->dev, SH_LOG_INFO, "connected to MPD %u.%u.%u at %s:%u", major,
			     minor, patch, m->hostname, m->port);
		char version[48];
		snprintf(version, sizeof(version), "%u.%u.%u", major, minor, patch);
		cJSON *meta = cJSON_CreateObject();
		cJSON_AddStringToObject(meta, "sw_version", version);
		m->host->set_metadata(m->dev, meta);
		cJSON_Delete(meta);
		if (m->password) {
			char text[MPD_COMMAND_MAX] = "password";
			if (mpd_append_arg(text, sizeof(text) - 1, m->password) < 0) {
				mpd_fail(m, "password too long");
				return;
			}
			strcat(text, "\n");
			mpd_send(m, text, MPD_PHASE_PASSWORD);
		} else {
			mpd_send(m, MPD_QUERY_LINES, MPD_PHASE_QUERY);
		}
		return;
	}
	if (m->phase == MPD_PHASE_NONE) {
		mpd_fail(m, "mpd sent a line nobody asked for");
		return;
	}
	int ret = mpd_response_feed(&m->resp, line, len);
	if (ret < 0) {
		mpd_fail(m, "mpd sent a malformed line");
		return;
	}
	if (ret == 1)
		mpd_response_done(m);
}

static void mpd_on_connected(void *ctx)
{
	struct mpd *m = ctx;
	m->phase = MPD_PHASE_GREETING;
}

static void mpd_on_failed(void *ctx, bool was_connected, const char *reason)
{
	mpd_fail(ctx, reason);
}

static const struct sh_tcpline_ops mpd_tcp_ops = {
	.connected = mpd_on_connected,
	.line = mpd_on_line,
	.failed = mpd_on_failed,
};

/* Appends one command line to the list in `buf`; *n counts them. */
__attribute__((format(printf, 4, 5))) static int cmd_add(char *buf, size_t size, unsigned *n,
							 const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= size - len || *n >= MPD_COMMAND_LINES_MAX)
		return -ENOBUFS;
	(*n)++;
	return 0;
}

/*
 * Turns a validated speaker command into MPD command lines, in the order a
 * listener expects: switch the output on first, then volume, the new
 * music and transport, and switch off last. Returns 0 (possibly with no
 * line when nothing needs doing) or a negative errno with m->cmd_reason.
 */
static int mpd_build(struct mpd *m, const cJSON *cmd, char *buf, size_t size, unsigned *n)
{
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(cmd, "state");
	const cJSON *volume = cJSON_GetObjectItemCaseSensitive(cmd, "volume");
	const cJSON *mute = cJSON_GetObjectItemCaseSensitive(cmd, "mute");
	const cJSON *play = cJSON_GetObjectItemCaseSensitive(cmd, "play");
	bool on = cJSON_IsString(state) && strcmp(state->valuestring, "ON") == 0;
	bool off = cJSON_IsString(state) && strcmp(state->valuestring, "OFF") == 0;
	int err = 0;

	buf[0] = '\0';
	*n = 0;
	if ((on || off) && m->output && m->output_id < 0) {
		snprintf(m->cmd_reason, sizeof(m->cmd_reason), "mpd has no output named '%s'",
			 m->output);
		return -ENOENT;
	}
	if (on)
		err = m->output ? cmd_add(buf, size, n, "enableoutput %d\n", m->output_id)
				: cmd_add(buf, size, n, "play\n");
	if (!err && cJSON_IsNumber(volume)) {
		err = cmd_add(buf, size, n, "setvol %d\n", volume->valueint);
		m->muted_volume = -1;
	} else if (!err && cJSON_IsTrue(mute) && m->muted_volume < 0) {
		/* Remember the level so unmute restores it. */
		if (m->volume > 0) {
			m->muted_volume = m->volume;
			err = cmd_add(buf, size, n, "setvol 0\n");
		}
	} else if (!err && cJSON_IsFalse(mute) && m->muted_volume > 0) {
		err = cmd_add(buf, size, n, "setvol %d\n", m->muted_volume);
		m->muted_volume = -1;
	}
	if (!err && cJSON_IsString(play)) {
		char line[MPD_COMMAND_MAX];
		const char *what = mpd_is_uri(play->valuestring) ? "add" : "load";
		snprintf(line, sizeof(line), "%s", what);
		err = mpd_append_arg(line, sizeof(line) - 1, play->valuestring);
		if (err == -EINVAL) {
			snprintf(m->cmd_reason, sizeof(m->cmd_reason),
				 "play must not contain a line break");
			return err;
		}
		if (!err)
			err = cmd_add(buf, size, n, "clear\n");
		if (!err)
			err = cmd_add(buf, size, n, "%s\n", line);
		if (!err)
			err = cmd_add(buf, size, n, "play\n");
	}
	if (!err && cJSON_IsTrue(play)) /* resume what is loaded */
		err = cmd_add(buf, size, n, "play\n");
	if (!err && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cmd, "next")))
		err = cmd_add(buf, size, n, "next\n");
	if (!err && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cmd, "previous")))
		err = cmd_add(buf, size, n, "previous\n");
	if (!err && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cmd, "pause")))
		err = cmd_add(buf, size, n, "pause 1\n");
	if (!err && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cmd, "stop")))
		err = cmd_add(buf, size, n, "stop\n");
	if (!err && off)
		err = m->output ? cmd_add(buf, size, n, "disableoutput %d\n", m->output_id)
				: cmd_add(buf, size, n, "stop\n");
	if (err)
		snprintf(m->cmd_reason, sizeof(m->cmd_reason), "command too long for mpd");
	return err;
}

static int mpd_command(void *priv, uint64_t id, const cJSON *command)
{
	struct mpd *m = priv;
	char body[MPD_COMMAND_MAX - 64];
	unsigned n;

	int err = mpd_build(m, command, body, sizeof(body), &n);
	if (err < 0) {
		m->host->command_done(m->dev, id, err, m->cmd_reason);
		return 0;
	}
	if (n == 0) { /* e.g. unmute when not muted: already so */
		m->host->command_done(m->dev, id, 0, NULL);
		return 0;
	}
	if (n == 1)
		snprintf(m->cmd_text, sizeof(m->cmd_text), "%s", body);
	else
		snprintf(m->cmd_text, sizeof(m->cmd_text),
			 "command_list_ok_begin\n%scommand_list_end\n", body);
	m->cmd_active = true;
	m->cmd_sent = false;
	m->cmd_id = id;
	if (m->phase == MPD_PHASE_IDLE)
		mpd_send(m, "noidle\n", MPD_PHASE_NOIDLE);
	else
		mpd_next(m); /* sends now if nothing is in flight, else later */
	return 0;
}

static int mpd_refresh(void *priv)
{
	struct mpd *m = priv;

	if (m->phase == MPD_PHASE_IDLE) {
		mpd_send(m, "noidle\n", MPD_PHASE_NOIDLE);
	} else {
		m->refresh_wanted = true;
		mpd_next(m);
	}
	return 0;
}

static void mpd_disconnect(void *priv)
{
	struct mpd *m = priv;

	sh_tcpline_close(m->conn);
	m->conn = NULL;
	m->phase = MPD_PHASE_NONE;
	m->ready = false;
	m->cmd_active = false;
	m->cmd_sent = false;
	m->refresh_wanted = false;
}

static int mpd_connect(void *priv)
{
	struct mpd *m = priv;

	mpd_disconnect(m);
	m->phase = MPD_PHASE_NONE;
	m->volume = -1;
	return sh_tcpline_open(&m->conn, m->dev, m->host, m->hostname, m->port, &mpd_tcp_ops, m);
}

static int mpd_create(struct sh_device *dev, const struct sh_host *host, void **priv)
{
	struct mpd *m = calloc(1, sizeof(*m));
	long long port;
	if (!m)
		return -ENOMEM;
	m->dev = dev;
	m->host = host;
	m->volume = -1;
	m->output_id = -1;
	m->muted_volume = -1;
	host->opt_string(dev, "host", "127.0.0.1", &m->hostname);
	host->opt_int(dev, "port", 6600, 1, 65535, &port);
	host->opt_string(dev, "password", NULL, &m->password);
	host->opt_string(dev, "output", NULL, &m->output);
	if (m->hostname && m->hostname[0] == '\0')
		host->config_error(dev, host->opt_node(dev, "host"), "host must not be empty");
	int err = host->opt_status(dev);
	if (err < 0) {
		free(m);
		return err;
	}
	m->port = (unsigned)port;
	cJSON *meta = cJSON_Parse("{\"model\":\"MPD\",\"manufacturer\":\"Music Player Daemon\"}");
	host->set_metadata(dev, meta);
	cJSON_Delete(meta);
	*priv = m;
	return 0;
}

static void mpd_destroy(void *priv)
{
	if (!priv)
		return;
	mpd_disconnect(priv);
	free(priv);
}

static const char *const mpd_kinds[] = {"speaker", NULL};

SH_DRIVER_EXPORT const struct sh_driver sh_driver_descriptor = {
	.abi_version = SH_PLUGIN_ABI_VERSION,
	.name = "mpd",
	.kinds = mpd_kinds,
	.create = mpd_create,
	.connect = mpd_connect,
	.command = mpd_command,
	.refresh = mpd_refresh,
	.disconnect = mpd_disconnect,
	.destroy = mpd_destroy,
};
