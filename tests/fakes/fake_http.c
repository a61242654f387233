/* SPDX-License-Identifier: MIT */
/*
 * The fakes' HTTP/1.1 server (see fake_http.h). One thread polls the
 * listening socket, the clients and a wake-up pipe; everything it shares
 * with the test's thread sits behind one mutex. Requests that close
 * sockets (down, stream close) are carried out by the thread and waited
 * for; stream writes are made by the caller under the lock. Included by
 * the test that uses it (tests build one binary per file).
 */
#define _GNU_SOURCE /* accept4, pipe2, strcasestr */
#include "fake_http.h"
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* How long fake_http_set_down and fake_http_stream_close wait for the
 * server's thread to apply them. */
#define FAKE_HTTP_APPLY_MS 5000

struct fake_http_client {
	int fd; /* -1: free */
	SSL *ssl;
	bool stream;
	bool dead; /* a write failed: closed by the thread */
	char in[FAKE_HTTP_REQUEST_MAX + 1];
	size_t len;
};

struct fake_http {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed; /* after each pass of the thread and fake_http_unlock */
	fake_http_handler handler;
	void *ctx;
	SSL_CTX *tls;
	int listen_fd;
	int wake[2];
	int port;

	/* under lock */
	bool stop, down, down_applied, close_streams;
	int delay_ms;
	unsigned drop_next, garbage_next, huge_next;
	size_t huge_bytes;
	char garbage[1024];
	struct fake_http_stats st;
	struct fake_http_client clients[FAKE_HTTP_CLIENTS_MAX];
};

static int fh_listen(struct fake_http *s, int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				  .sin_port = htons((uint16_t)port)};
	socklen_t len = sizeof(sin);
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		close(fd);
		return -1;
	}
	s->port = ntohs(sin.sin_port);
	return fd;
}

static void fh_close(struct fake_http *s, struct fake_http_client *c)
{
	if (c->fd < 0)
		return;
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	close(c->fd);
	c->fd = -1;
	c->len = 0;
	if (c->stream)
		s->st.streams--;
	c->stream = false;
	c->dead = false;
	s->st.connections--;
}

static bool fh_write(struct fake_http_client *c, const char *data, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = c->ssl ? SSL_write(c->ssl, data + off, (int)(len - off))
				   : send(c->fd, data + off, len - off, MSG_NOSIGNAL);
		if (n <= 0) {
			c->dead = true;
			return false;
		}
		off += (size_t)n;
	}
	return true;
}

static void header_value(const char *head, const char *name, char *out, size_t size)
{
	out[0] = '\0';
	for (const char *p = head; (p = strstr(p, "\r\n")) != NULL;) {
		p += 2;
		size_t n = strlen(name);
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;
			while (*v == ' ')
				v++;
			const char *end = strstr(v, "\r\n");
			size_t l = end ? (size_t)(end - v) : strlen(v);
			if (l >= size)
				l = size - 1;
			memcpy(out, v, l);
			out[l] = '\0';
			return;
		}
	}
}

static const char *reason_of(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Whatever";
	}
}

/* Answers every complete request in c->in; false when c was closed. */
static bool fh_serve(struct fake_http *s, struct fake_http_client *c)
{
	for (;;) {
		c->in[c->len] = '\0';
		char *end = strstr(c->in, "\r\n\r\n");
		if (!end)
			return true;
		size_t head_len = (size_t)(end - c->in) + 4;
		char clen[32];
		*end = '\0';
		header_value(c->in, "Content-Length", clen, sizeof(clen));
		size_t body_len = clen[0] ? strtoul(clen, NULL, 10) : 0;
		if (head_len + body_len > FAKE_HTTP_REQUEST_MAX) {
			fh_close(s, c);
			return false;
		}
		if (c->len < head_len + body_len) {
			*end = '\r';
			return true;
		}
		struct fake_http_req req = {0};
		if (sscanf(c->in, "%15s %1023s", req.method, req.path) != 2) {
			fh_close(s, c);
			return false;
		}
		header_value(c->in, "Authorization", req.authorization, sizeof(req.authorization));
		header_value(c->in, "Accept", req.accept, sizeof(req.accept));
		header_value(c->in, "hue-application-key", req.app_key, sizeof(req.app_key));
		header_value(c->in, "Content-Type", req.content_type, sizeof(req.content_type));
		char conn[32];
		header_value(c->in, "Connection", conn, sizeof(conn));
		bool close_after = strcasecmp(conn, "close") == 0;
		char *body = malloc(body_len + 1);
		if (!body) {
			fh_close(s, c);
			return false;
		}
		memcpy(body, c->in + head_len, body_len);
		body[body_len] = '\0';
		req.body = body;
		req.body_len = body_len;
		memmove(c->in, c->in + head_len + body_len, c->len - head_len - body_len);
		c->len -= head_len + body_len;

		if (s->drop_next) {
			s->drop_next--;
			free(body);
			fh_close(s, c);
			return false;
		}
		struct fake_http_resp resp = {.status = 200};
		snprintf(resp.content_type, sizeof(resp.content_type), "application/json");
		s->handler(s->ctx, &req, &resp);
		free(body);
		if (s->garbage_next && !resp.stream) {
			s->garbage_next--;
			free(resp.body);
			resp.body = strdup(s->garbage);
			resp.status = 200;
		}
		if (s->huge_next && !resp.stream && s->huge_bytes >= 2) {
			s->huge_next--;
			free(resp.body);
			resp.body = malloc(s->huge_bytes + 1);
			if (resp.body) {
				resp.body[0] = '[';
				for (size_t i = 1; i + 1 < s->huge_bytes; i++)
					resp.body[i] = (i % 2) ? '0' : ',';
				resp.body[s->huge_bytes - 1] = ']';
				if (resp.body[s->huge_bytes - 2] == ',')
					resp.body[s->huge_bytes - 2] = '0';
				resp.body[s->huge_bytes] = '\0';
			}
			resp.status = 200;
		}
		s->st.requests++;
		if (s->delay_ms) {
			/* Slow on purpose; the lock is let go meanwhile. */
			int fd = c->fd;
			pthread_mutex_unlock(&s->lock);
			usleep((useconds_t)s->delay_ms * 1000u);
			pthread_mutex_lock(&s->lock);
			if (c->fd != fd) {
				free(resp.body);
				return false;
			}
		}
		char head[1024];
		size_t blen = resp.body ? strlen(resp.body) : 0;
		if (resp.stream)
			snprintf(head, sizeof(head),
				 "HTTP/1.1 %d %s\r\nContent-Type: text/event-stream\r\n"
				 "Cache-Control: no-cache\r\n%s\r\n",
				 resp.status, reason_of(resp.status), resp.headers);
		else
			snprintf(head, sizeof(head),
				 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: "
				 "%zu\r\n%s%s\r\n",
				 resp.status, reason_of(resp.status), resp.content_type, blen,
				 resp.headers, close_after ? "Connection: close\r\n" : "");
		bool ok =
			fh_write(c, head, strlen(head)) && (!blen || fh_write(c, resp.body, blen));
		free(resp.body);
		if (!ok || close_after) {
			fh_close(s, c);
			return false;
		}
		if (resp.stream) {
			c->stream = true;
			s->st.streams++;
			return true;
		}
	}
}

static void fh_read(struct fake_http *s, struct fake_http_client *c)
{
	do {
		if (c->len >= FAKE_HTTP_REQUEST_MAX) {
			fh_close(s, c);
			return;
		}
		ssize_t n = c->ssl ? SSL_read(c->ssl, c->in + c->len,
					      (int)(FAKE_HTTP_REQUEST_MAX - c->len))
				   : recv(c->fd, c->in + c->len, FAKE_HTTP_REQUEST_MAX - c->len, 0);
		if (n <= 0) {
			fh_close(s, c);
			return;
		}
		c->len += (size_t)n;
		if (!fh_serve(s, c))
			return;
	} while (c->ssl && SSL_pending(c->ssl) > 0);
}

static void fh_accept(struct fake_http *s)
{
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	struct fake_http_client *c = NULL;

	if (fd < 0)
		return;
	for (int i = 0; i < FAKE_HTTP_CLIENTS_MAX && !c; i++)
		if (s->clients[i].fd < 0)
			c = &s->clients[i];
	if (!c) {
		close(fd);
		return;
	}
	/* Blocking with a bound: a client that stalls costs two seconds. */
	struct timeval tv = {.tv_sec = 2};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c->fd = fd;
	c->len = 0;
	c->stream = c->dead = false;
	s->st.accepted++;
	s->st.connections++;
	if (s->tls) {
		c->ssl = SSL_new(s->tls);
		if (!c->ssl || !SSL_set_fd(c->ssl, fd) || SSL_accept(c->ssl) != 1) {
			s->st.tls_failed++;
			ERR_clear_error();
			if (c->ssl)
				SSL_free(c->ssl);
			c->ssl = NULL;
			close(fd);
			c->fd = -1;
			s->st.connections--;
		}
	}
}

static void fh_apply(struct fake_http *s)
{
	if (s->down && !s->down_applied) {
		for (int i = 0; i < FAKE_HTTP_CLIENTS_MAX; i++)
			fh_close(s, &s->clients[i]);
		close(s->listen_fd);
		s->listen_fd = -1;
		s->down_applied = true;
	} else if (!s->down && s->down_applied) {
		s->listen_fd = fh_listen(s, s->port);
		s->down_applied = false;
	}
	if (s->close_streams) {
		for (int i = 0; i < FAKE_HTTP_CLIENTS_MAX; i++)
			if (s->clients[i].stream)
				fh_close(s, &s->clients[i]);
		s->close_streams = false;
	}
	for (int i = 0; i < FAKE_HTTP_CLIENTS_MAX; i++)
		if (s->clients[i].dead)
			fh_close(s, &s->clients[i]);
}

static void *fh_thread(void *arg)
{
	struct fake_http *s = arg;

	for (;;) {
		struct pollfd pfd[2 + FAKE_HTTP_CLIENTS_MAX];
		int idx[2 + FAKE_HTTP_CLIENTS_MAX];
		nfds_t n = 0;

		pthread_mutex_lock(&s->lock);
		if (s->stop) {
			pthread_mutex_unlock(&s->lock);
			return NULL;
		}
		pfd[n++] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
		pfd[n++] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
		for (int i = 0; i < FAKE_HTTP_CLIENTS_MAX; i++)
			if (s->clients[i].fd >= 0) {
				idx[n] = i;
				pfd[n++] =
					(struct pollfd){.fd = s->clients[i].fd, .events = POLLIN};
			}
		pthread_mutex_unlock(&s->lock);

		if (poll(pfd, n, 1000) < 0 && errno != EINTR)
			return NULL;

		pthread_mutex_lock(&s->lock);
		if (pfd[0].revents) {
			char buf[64];
			while (read(s->wake[0], buf, sizeof(buf)) > 0)
				;
		}
		fh_apply(s);
		if (pfd[1].fd >= 0 && pfd[1].fd == s->listen_fd && (pfd[1].revents & POLLIN))
			fh_accept(s);
		for (nfds_t k = 2; k < n; k++) {
			struct fake_http_client *c = &s->clients[idx[k]];
			if (pfd[k].revents && c->fd == pfd[k].fd)
				fh_read(s, c);
		}
		pthread_cond_broadcast(&s->changed);
		pthread_mutex_unlock(&s->lock);
	}
}

struct fake_http *fake_http_start(fake_http_handler handler, void *ctx, const char *cert_file,
				  const char *key_file)
{
	struct fake_http *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	signal(SIGPIPE, SIG_IGN); /* a client gone mid-answer is an error, not a death */
	pthread_mutex_init(&s->lock, NULL);
	th_cond_init(&s->changed);
	s->handler = handler;
	s->ctx = ctx;
	s->wake[0] = s->wake[1] = -1;
	for (int i = 0; i < FAKE_HTTP_CLIENTS_MAX; i++)
		s->clients[i].fd = -1;
	if (cert_file) {
		s->tls = SSL_CTX_new(TLS_server_method());
		if (!s->tls || SSL_CTX_use_certificate_chain_file(s->tls, cert_file) != 1 ||
		    SSL_CTX_use_PrivateKey_file(s->tls, key_file, SSL_FILETYPE_PEM) != 1)
			goto fail;
	}
	s->listen_fd = fh_listen(s, 0);
	if (s->listen_fd < 0 || pipe2(s->wake, O_NONBLOCK | O_CLOEXEC) < 0)
		goto fail;
	if (pthread_create(&s->thread, NULL, fh_thread, s) != 0)
		goto fail;
	return s;
fail:
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->tls)
		SSL_CTX_free(s->tls);
	free(s);
	return NULL;
}

int fake_http_port(const struct fake_http *s)
{
	return s->port;
}

void fake_http_lock(struct fake_http *s)
{
	pthread_mutex_lock(&s->lock);
}

void fake_http_unlock(struct fake_http *s)
{
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
}

bool fake_http_wait(struct fake_http *s, bool (*done)(void *arg), void *arg, int timeout_ms)
{
	pthread_mutex_lock(&s->lock);
	bool ok = th_cond_wait_until(&s->changed, &s->lock, done, arg, timeout_ms);
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static void fh_wake(struct fake_http *s)
{
	if (write(s->wake[1], "x", 1) < 0) {
		/* a full pipe wakes the thread anyway */
	}
}

/* The thread applied the last fake_http_set_down. Under the lock. */
static bool fh_down_applied(void *arg)
{
	struct fake_http *s = arg;
	return s->down_applied == s->down;
}

void fake_http_set_down(struct fake_http *s, bool down)
{
	pthread_mutex_lock(&s->lock);
	s->down = down;
	pthread_mutex_unlock(&s->lock);
	fh_wake(s);
	fake_http_wait(s, fh_down_applied, s, FAKE_HTTP_APPLY_MS);
}

void fake_http_set_delay(struct fake_http *s, int ms)
{
	pthread_mutex_lock(&s->lock);
	s->delay_ms = ms;
	pthread_mutex_unlock(&s->lock);
}

void fake_http_drop_next(struct fake_http *s, unsigned n)
{
	pthread_mutex_lock(&s->lock);
	s->drop_next = n;
	pthread_mutex_unlock(&s->lock);
}

void fake_http_garbage_next(struct fake_http *s, unsigned n, const char *body)
{
	pthread_mutex_lock(&s->lock);
	s->garbage_next = n;
	snprintf(s->garbage, sizeof(s->garbage), "%s", body);
	pthread_mutex_unlock(&s->lock);
}

void fake_http_huge_next(struct fake_http *s, unsigned n, size_t bytes)
{
	pthread_mutex_lock(&s->lock);
	s->huge_next = n;
	s->huge_bytes = bytes;
	pthread_mutex_unlock(&s->lock);
}

unsigned fake_http_stream_send_locked(struct fake_http *s, const char *text)
{
	unsigned sent = 0;

	for (int i = 0; i < FAKE_HTTP_CLIENTS_MAX; i++) {
		struct fake_http_client *c = &s->clients[i];
		if (c->fd >= 0 && c->stream && !c->dead && fh_write(c, text, strlen(text)))
			sent++;
	}
	fh_wake(s);
	return sent;
}

unsigned fake_http_stream_send(struct fake_http *s, const char *text)
{
	pthread_mutex_lock(&s->lock);
	unsigned sent = fake_http_stream_send_locked(s, text);
	pthread_mutex_unlock(&s->lock);
	return sent;
}

/* The thread closed the streams. Under the lock. */
static bool fh_streams_closed(void *arg)
{
	struct fake_http *s = arg;
	return !s->close_streams;
}

void fake_http_stream_close(struct fake_http *s)
{
	pthread_mutex_lock(&s->lock);
	s->close_streams = true;
	pthread_mutex_unlock(&s->lock);
	fh_wake(s);
	fake_http_wait(s, fh_streams_closed, s, FAKE_HTTP_APPLY_MS);
}

void fake_http_stats(struct fake_http *s, struct fake_http_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->st;
	pthread_mutex_unlock(&s->lock);
}

/* At least n of a counter of the stats. */
struct fh_count_wait {
	const unsigned *count;
	unsigned n;
};

static bool fh_counted(void *arg)
{
	const struct fh_count_wait *w = arg;
	return *w->count >= w->n;
}

bool fake_http_wait_streams(struct fake_http *s, unsigned n, int timeout_ms)
{
	struct fh_count_wait w = {&s->st.streams, n};
	return fake_http_wait(s, fh_counted, &w, timeout_ms);
}

bool fake_http_wait_requests(struct fake_http *s, unsigned n, int timeout_ms)
{
	struct fh_count_wait w = {&s->st.requests, n};
	return fake_http_wait(s, fh_counted, &w, timeout_ms);
}

void fake_http_stop(struct fake_http *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_mutex_unlock(&s->lock);
	fh_wake(s);
	pthread_join(s->thread, NULL);
	for (int i = 0; i < FAKE_HTTP_CLIENTS_MAX; i++)
		fh_close(s, &s->clients[i]);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	close(s->wake[0]);
	close(s->wake[1]);
	if (s->tls)
		SSL_CTX_free(s->tls);
	pthread_cond_destroy(&s->changed);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
