/* SPDX-License-Identifier: MIT */
/*
 * A non-blocking, line-oriented TCP client on the daemon's loop, shared by
 * the mpd and yeelight drivers (see tcpline.h). It owns one socket, one fd
 * watcher, a bounded input buffer (one line at most SH_TCPLINE_LINE_MAX) and
 * a bounded output queue (SH_TCPLINE_SEND_MAX).
 *
 * Callbacks may close the connection, so every call out is bracketed by a
 * `busy` count and the struct is freed only once no callback is running.
 */
#include "tcpline.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Bytes read per read(2); the input buffer grows to the line limit. */
#define TCPLINE_READ_CHUNK 4096
/* read(2) calls per wake-up of the watcher. */
#define TCPLINE_READS_PER_WAKEUP 16
/* Addresses of one name tried in turn ("localhost" is often ::1, then
 * 127.0.0.1, and a server may listen on only one of them). */
#define TCPLINE_ADDRS_MAX 4

struct tcpline_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* A look-up on the worker pool. It outlives the connection when the driver
 * closes meanwhile, so it is a separate allocation: `conn` is cleared then
 * and the done callback only frees it. */
struct tcpline_resolve {
	struct sh_tcpline *conn;
	char *hostname;
	char port[8];
	int gai_err;
	struct tcpline_addr addrs[TCPLINE_ADDRS_MAX];
	size_t n_addrs;
};

struct sh_tcpline {
	struct sh_device *dev;
	const struct sh_host *host;
	const struct sh_tcpline_ops *ops;
	void *ctx;
	char *hostname;
	unsigned port;

	int fd;
	struct sh_io *io;
	struct sh_timer *defer; /* reports an immediate failure from the loop */
	struct tcpline_resolve *resolve;
	struct tcpline_addr addrs[TCPLINE_ADDRS_MAX];
	size_t n_addrs, next_addr;
	char defer_reason[160];

	bool connected; /* the TCP handshake completed */
	bool failed;    /* `failed` was reported; nothing more is */
	bool closed;    /* sh_tcpline_close ran; free once !busy */
	unsigned busy;  /* callbacks running */

	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_cap;
};

/* Not inlined: GCC's -Wuse-after-free cannot follow the `busy` count that
 * makes the frees in nested callbacks safe, and warns at -O2. */
__attribute__((noinline)) static void tcpline_free(struct sh_tcpline *c)
{
	free(c->in);
	free(c->out);
	free(c->hostname);
	free(c);
}

/* Calls out and says whether `c` is still usable afterwards. */
static bool tcpline_alive_after(struct sh_tcpline *c)
{
	c->busy--;
	if (c->closed) {
		if (c->busy == 0)
			tcpline_free(c);
		return false;
	}
	return true;
}

static void tcpline_stop_io(struct sh_tcpline *c)
{
	c->host->io_stop(c->io);
	c->io = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void tcpline_fail(struct sh_tcpline *c, const char *reason)
{
	if (c->failed)
		return;
	c->failed = true;
	tcpline_stop_io(c);
	c->busy++;
	c->ops->failed(c->ctx, c->connected, reason);
	tcpline_alive_after(c);
}

static void tcpline_defer_cb(struct sh_device *dev, void *data)
{
	struct sh_tcpline *c = data;

	c->host->timer_stop(c->defer);
	c->defer = NULL;
	tcpline_fail(c, c->defer_reason);
}

/* Fails from the loop rather than from inside sh_tcpline_open, so the
 * driver has its handle before it hears anything. */
static void tcpline_fail_later(struct sh_tcpline *c, const char *reason)
{
	snprintf(c->defer_reason, sizeof(c->defer_reason), "%s", reason);
	tcpline_stop_io(c);
	if (!c->defer)
		c->defer = c->host->timer_start(c->dev, 0, 0, tcpline_defer_cb, c);
}

static void tcpline_flush(struct sh_tcpline *c)
{
	while (c->out_len > 0) {
		ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			char reason[128];
			snprintf(reason, sizeof(reason), "send: %s", strerror(errno));
			tcpline_fail(c, reason);
			return;
		}
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
	c->host->io_set(c->io, SH_IO_READ | (c->out_len ? SH_IO_WRITE : 0));
}

/* Hands every complete line in the input buffer to the driver. Returns
 * false when the connection was closed by a callback. */
static bool tcpline_deliver(struct sh_tcpline *c)
{
	size_t start = 0;

	for (;;) {
		char *nl = memchr(c->in + start, '\n', c->in_len - start);
		if (!nl)
			break;
		size_t len = (size_t)(nl - (c->in + start));
		if (len > 0 && c->in[start + len - 1] == '\r')
			len--;
		c->in[start + len] = '\0';
		c->busy++;
		c->ops->line(c->ctx, c->in + start, len);
		if (!tcpline_alive_after(c))
			return false;
		if (c->failed)
			return false;
		start = (size_t)(nl - c->in) + 1;
	}
	memmove(c->in, c->in + start, c->in_len - start);
	c->in_len -= start;
	if (c->in_len > SH_TCPLINE_LINE_MAX) {
		tcpline_fail(c, "line too long");
		return false;
	}
	return true;
}

static void tcpline_read(struct sh_tcpline *c)
{
	/* Bounded, so a chatty peer cannot starve the rest of the loop; the
	 * watcher is level-triggered and calls again for the rest. */
	for (int i = 0; i < TCPLINE_READS_PER_WAKEUP; i++) {
		if (c->in_cap - c->in_len < TCPLINE_READ_CHUNK + 1) {
			size_t cap = c->in_cap ? c->in_cap * 2 : 2 * TCPLINE_READ_CHUNK;
			char *in = realloc(c->in, cap);
			if (!in) {
				tcpline_fail(c, "out of memory");
				return;
			}
			c->in = in;
			c->in_cap = cap;
		}
		ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			char reason[128];
			snprintf(reason, sizeof(reason), "read: %s", strerror(errno));
			tcpline_fail(c, reason);
			return;
		}
		if (n == 0) {
			tcpline_fail(c, "connection closed by peer");
			return;
		}
		c->in_len += (size_t)n;
		if (!tcpline_deliver(c))
			return;
	}
}

static void tcpline_try_next(struct sh_tcpline *c, const char *reason);

static void tcpline_io_cb(struct sh_device *dev, int fd, int revents, void *data)
{
	struct sh_tcpline *c = data;

	if (!c->connected) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			char reason[160];
			snprintf(reason, sizeof(reason), "connect to %s:%u: %s", c->hostname,
				 c->port, strerror(err));
			tcpline_stop_io(c);
			tcpline_try_next(c, reason);
			return;
		}
		c->connected = true;
		c->host->io_set(c->io, SH_IO_READ | (c->out_len ? SH_IO_WRITE : 0));
		c->busy++;
		c->ops->connected(c->ctx);
		if (!tcpline_alive_after(c) || c->failed)
			return;
		revents |= SH_IO_WRITE; /* the driver may have queued its first line */
	}
	if (revents & SH_IO_READ) {
		c->busy++;
		tcpline_read(c);
		// NOLINTNEXTLINE(clang-analyzer-unix.Malloc): busy > 0 kept c alive in tcpline_read
		if (!tcpline_alive_after(c) || c->failed)
			return;
	}
	if ((revents & SH_IO_WRITE) || c->out_len)
		tcpline_flush(c);
}

/*
 * Connects to the next address not yet tried; when none is left, fails
 * with `reason`, why the last one failed. Failures are reported from the
 * loop, never from inside sh_tcpline_open.
 */
static void tcpline_try_next(struct sh_tcpline *c, const char *reason)
{
	char why[160];

	snprintf(why, sizeof(why), "%s", reason);
	while (c->next_addr < c->n_addrs) {
		const struct tcpline_addr *a = &c->addrs[c->next_addr++];
		c->fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0) {
			snprintf(why, sizeof(why), "socket: %s", strerror(errno));
			continue;
		}
		int one = 1;
		/* Commands are small and latency matters more than packet count. */
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(c->fd, (const struct sockaddr *)&a->ss, a->len) < 0 &&
		    errno != EINPROGRESS) {
			snprintf(why, sizeof(why), "connect to %s:%u: %s", c->hostname, c->port,
				 strerror(errno));
			close(c->fd);
			c->fd = -1;
			continue;
		}
		c->io = c->host->io_start(c->dev, c->fd, SH_IO_WRITE, tcpline_io_cb, c);
		if (c->io)
			return;
		snprintf(why, sizeof(why), "cannot watch the socket");
		close(c->fd);
		c->fd = -1;
	}
	tcpline_fail_later(c, why);
}

/* Worker thread: only the job is touched. */
static void tcpline_resolve_work(void *arg)
{
	struct tcpline_resolve *r = arg;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;

	r->gai_err = getaddrinfo(r->hostname, r->port, &hints, &res);
	for (struct addrinfo *ai = res; ai && r->n_addrs < TCPLINE_ADDRS_MAX; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(r->addrs[0].ss))
			continue;
		memcpy(&r->addrs[r->n_addrs].ss, ai->ai_addr, ai->ai_addrlen);
		r->addrs[r->n_addrs++].len = ai->ai_addrlen;
	}
	if (res)
		freeaddrinfo(res);
}

static void tcpline_resolve_free(struct tcpline_resolve *r)
{
	free(r->hostname);
	free(r);
}

static void tcpline_resolve_done(struct sh_device *dev, void *arg)
{
	struct tcpline_resolve *r = arg;
	struct sh_tcpline *c = r->conn;

	if (!dev || !c) { /* closed or destroyed meanwhile */
		tcpline_resolve_free(r);
		return;
	}
	c->resolve = NULL;
	if (r->gai_err) {
		char reason[256];
		snprintf(reason, sizeof(reason), "resolve %s: %s", c->hostname,
			 gai_strerror(r->gai_err));
		tcpline_resolve_free(r);
		tcpline_fail(c, reason);
		return;
	}
	memcpy(c->addrs, r->addrs, sizeof(c->addrs));
	c->n_addrs = r->n_addrs;
	tcpline_resolve_free(r);
	tcpline_try_next(c, "no address");
}

int sh_tcpline_open(struct sh_tcpline **out, struct sh_device *dev, const struct sh_host *host,
		    const char *hostname, unsigned port, const struct sh_tcpline_ops *ops,
		    void *ctx)
{
	struct sh_tcpline *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->dev = dev;
	c->host = host;
	c->ops = ops;
	c->ctx = ctx;
	c->port = port;
	c->fd = -1;
	c->hostname = strdup(hostname);
	if (!c->hostname) {
		free(c);
		return -ENOMEM;
	}

	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, hostname, &sin.sin_addr) == 1) {
		memcpy(&c->addrs[0].ss, &sin, sizeof(sin));
		c->addrs[0].len = sizeof(sin);
		c->n_addrs = 1;
		tcpline_try_next(c, "no address");
	} else if (inet_pton(AF_INET6, hostname, &sin6.sin6_addr) == 1) {
		memcpy(&c->addrs[0].ss, &sin6, sizeof(sin6));
		c->addrs[0].len = sizeof(sin6);
		c->n_addrs = 1;
		tcpline_try_next(c, "no address");
	} else {
		/* A name: getaddrinfo may block for seconds, so not on the loop. */
		struct tcpline_resolve *r = calloc(1, sizeof(*r));
		if (!r || !(r->hostname = strdup(hostname))) {
			free(r);
			tcpline_free(c);
			return -ENOMEM;
		}
		r->conn = c;
		snprintf(r->port, sizeof(r->port), "%u", port);
		int err = host->work_submit(dev, tcpline_resolve_work, tcpline_resolve_done, r);
		if (err < 0) {
			tcpline_resolve_free(r);
			tcpline_fail_later(c, "resolve: worker pool busy");
		} else {
			c->resolve = r;
		}
	}
	*out = c;
	return 0;
}

int sh_tcpline_send(struct sh_tcpline *c, const char *data, size_t len)
{
	if (!c || !c->connected || c->failed || c->closed)
		return -ENOTCONN;
	if (c->out_len + len > SH_TCPLINE_SEND_MAX)
		return -ENOBUFS;
	if (c->out_cap < c->out_len + len) {
		size_t cap = c->out_cap ? c->out_cap : 1024;
		while (cap < c->out_len + len)
			cap *= 2;
		char *o = realloc(c->out, cap);
		if (!o)
			return -ENOMEM;
		c->out = o;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	/* Written from the watcher, so a send from inside a callback never
	 * re-enters the driver. */
	c->host->io_set(c->io, SH_IO_READ | SH_IO_WRITE);
	return 0;
}

void sh_tcpline_close(struct sh_tcpline *c)
{
	if (!c || c->closed)
		return;
	c->closed = true;
	c->failed = true;
	tcpline_stop_io(c);
	c->host->timer_stop(c->defer);
	c->defer = NULL;
	if (c->resolve) {
		c->resolve->conn = NULL; /* its done callback frees it */
		c->resolve = NULL;
	}
	if (c->busy == 0)
		tcpline_free(c);
}
