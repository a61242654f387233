/* SPDX-License-Identifier: MIT */
/*
 * A non-blocking TCP connection that speaks in lines, for drivers whose
 * device protocol is line based (MPD, Yeelight). It resolves the host (a
 * numeric address at once, a name with getaddrinfo on the worker pool),
 * connects without blocking, splits what arrives into lines and queues what
 * is sent, all on the daemon's loop through the host API.
 *
 * It owns its socket, its watcher, its buffers and its pending look-up; the
 * driver owns the struct sh_tcpline from sh_tcpline_open until
 * sh_tcpline_close, which may be called from inside any of its callbacks.
 * Compiled into each driver that uses it (a static library), so it has no
 * globals and no exported symbols.
 */
#ifndef SMARTHUB_PLUGIN_TCPLINE_H
#define SMARTHUB_PLUGIN_TCPLINE_H

#include <smarthub/plugin.h>
#include <stdbool.h>
#include <stddef.h>

/* Longest line accepted from the peer, without its "\n"; a longer one is a
 * protocol error (MPD's own limit for a response line is lower). */
#define SH_TCPLINE_LINE_MAX (64 * 1024)
/* Most bytes queued for sending; sh_tcpline_send says -ENOBUFS beyond. */
#define SH_TCPLINE_SEND_MAX (64 * 1024)

struct sh_tcpline;

struct sh_tcpline_ops {
	/* The TCP connection is established; lines may be sent. */
	void (*connected)(void *ctx);
	/* One line, NUL-terminated, without its "\r\n" or "\n"; borrowed for
	 * the call. */
	void (*line)(void *ctx, char *line, size_t len);
	/* The connection failed (before `connected`) or was lost (after it):
	 * look-up or connect error, EOF, read or write error, an over-long
	 * line. Called at most once; nothing else is called afterwards. The
	 * driver still closes the connection. */
	void (*failed)(void *ctx, bool was_connected, const char *reason);
};

/*
 * Starts connecting to `hostname`:`port`. Returns 0 with *out set (results
 * come through `ops`, never before this returns), or a negative errno
 * (-ENOMEM) with *out NULL. `ops` and `ctx` must outlive the connection;
 * `hostname` is copied.
 */
int sh_tcpline_open(struct sh_tcpline **out, struct sh_device *dev, const struct sh_host *host,
		    const char *hostname, unsigned port, const struct sh_tcpline_ops *ops,
		    void *ctx);

/* Queues `len` bytes for sending. Returns 0, -ENOTCONN before `connected`,
 * after a failure or for a NULL connection, or -ENOBUFS when SH_TCPLINE_SEND_MAX would be passed. */
int sh_tcpline_send(struct sh_tcpline *c, const char *data, size_t len);

/* Closes the socket, stops the watcher and forgets any pending look-up;
 * reports nothing. NULL accepted. */
void sh_tcpline_close(struct sh_tcpline *c);

#endif
