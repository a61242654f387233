// SPDX-License-Identifier: MIT
/*
 * The MQTT 3.1.1-only broker front (see fake_mqtt311.h): an accepting
 * thread, and per connection a thread that reads the CONNECT, refuses MQTT
 * 5 or relays the rest to mosquitto. Threads poll with a short timeout so
 * that fake_mqtt311_stop ends them all.
 */
#define _GNU_SOURCE /* accept4 */
#include "fake_mqtt311.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* A CONNECT larger than this is not one the hub sends. */
#define FAKE_MQTT311_CONNECT_MAX 65536
#define FAKE_MQTT311_POLL_MS 100

struct fake_conn {
	struct fake_mqtt311 *f;
	int fd;
	pthread_t thread;
	atomic_bool done;
	bool used;
};

struct fake_mqtt311 {
	int listen_fd;
	int port;
	int broker_port;
	pthread_t thread;
	atomic_bool stop;
	atomic_bool as_mqtt5; /* refuse with an MQTT 5 CONNACK */
	atomic_uint refused;
	atomic_uint relayed;
	/* 3.1.1 CONNECTs whose client id ends with it are refused; set before
	 * anything connects. */
	char refused_suffix[64];
	atomic_uint refused_ids;
	struct fake_conn conns[FAKE_MQTT311_CONNECTIONS_MAX];
};

/* All `len` bytes read into (or, with `out`, written from) buf, through
 * EINTR; false at end of file or on an error. */
static bool io_all(int fd, unsigned char *buf, size_t len, bool out)
{
	while (len) {
		ssize_t n = out ? write(fd, buf, len) : read(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

static bool read_all(int fd, unsigned char *buf, size_t len)
{
	return io_all(fd, buf, len, false);
}

static bool write_all(int fd, const unsigned char *buf, size_t len)
{
	return io_all(fd, (unsigned char *)buf, len, true);
}

/* The whole CONNECT packet into buf (fixed header included); its length,
 * or 0 if it is not one. */
static size_t read_connect(int fd, unsigned char *buf, size_t cap)
{
	size_t len = 1, remaining = 0;
	unsigned shift = 0;

	if (!read_all(fd, buf, 1) || buf[0] != 0x10)
		return 0;
	do {
		if (len > 4 || !read_all(fd, buf + len, 1))
			return 0;
		remaining |= (size_t)(buf[len] & 0x7f) << shift;
		shift += 7;
	} while (buf[len++] & 0x80);
	if (remaining > cap - len || !read_all(fd, buf + len, remaining))
		return 0;
	return len + remaining;
}

/* The protocol level of a CONNECT: after the protocol name ("MQTT"). */
static int protocol_level(const unsigned char *pkt, size_t len)
{
	size_t at = 1;

	while (at < len && (pkt[at] & 0x80))
		at++;
	at++;
	if (at + 2 > len)
		return -1;
	at += 2 + ((size_t)pkt[at] << 8 | pkt[at + 1]);
	return at < len ? pkt[at] : -1;
}

/* Whether a 3.1.1 CONNECT's client id ends with `suffix` (non-empty):
 * after the protocol name, the level, the flags and the keep-alive. */
static bool client_id_ends_with(const unsigned char *pkt, size_t len, const char *suffix)
{
	size_t at = 1, n, id_len, suffix_len = strlen(suffix);

	if (!suffix_len)
		return false;
	while (at < len && (pkt[at] & 0x80))
		at++;
	at++;
	if (at + 2 > len)
		return false;
	at += 2 + ((size_t)pkt[at] << 8 | pkt[at + 1]) + 1 + 1 + 2;
	if (at + 2 > len)
		return false;
	id_len = (size_t)pkt[at] << 8 | pkt[at + 1];
	n = at + 2 + id_len;
	return n <= len && id_len >= suffix_len &&
	       memcmp(pkt + n - suffix_len, suffix, suffix_len) == 0;
}

static int connect_broker(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Copies whatever is readable on `from` to `to`; false at the end. */
static bool pump(int from, int to)
{
	unsigned char buf[65536];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n < 0 && errno == EINTR)
		return true;
	return n > 0 && write_all(to, buf, (size_t)n);
}

static void *conn_thread(void *arg)
{
	struct fake_conn *c = arg;
	struct fake_mqtt311 *f = c->f;
	static const unsigned char refuse[] = {0x20, 0x02, 0x00, 0x01};
	/* Flags, reason code 0x84, no properties. */
	static const unsigned char refuse5[] = {0x20, 0x03, 0x00, 0x84, 0x00};
	struct timeval tv = {.tv_sec = 5};
	unsigned char *pkt = malloc(FAKE_MQTT311_CONNECT_MAX);
	size_t len;
	int broker = -1;

	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	len = pkt ? read_connect(c->fd, pkt, FAKE_MQTT311_CONNECT_MAX) : 0;
	if (len && protocol_level(pkt, len) == 5) {
		if (atomic_load(&f->as_mqtt5))
			write_all(c->fd, refuse5, sizeof(refuse5));
		else
			write_all(c->fd, refuse, sizeof(refuse));
		atomic_fetch_add(&f->refused, 1);
	} else if (len && client_id_ends_with(pkt, len, f->refused_suffix)) {
		/* Return code 2, "identifier rejected". */
		static const unsigned char reject[] = {0x20, 0x02, 0x00, 0x02};

		write_all(c->fd, reject, sizeof(reject));
		atomic_fetch_add(&f->refused_ids, 1);
	} else if (len && (broker = connect_broker(f->broker_port)) >= 0 &&
		   write_all(broker, pkt, len)) {
		tv.tv_sec = 0;
		setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		atomic_fetch_add(&f->relayed, 1);
		while (!atomic_load(&f->stop)) {
			struct pollfd p[2] = {{.fd = c->fd, .events = POLLIN},
					      {.fd = broker, .events = POLLIN}};

			if (poll(p, 2, FAKE_MQTT311_POLL_MS) < 0 && errno != EINTR)
				break;
			if ((p[0].revents && !pump(c->fd, broker)) ||
			    (p[1].revents && !pump(broker, c->fd)))
				break;
		}
	}
	free(pkt);
	if (broker >= 0)
		close(broker);
	close(c->fd);
	atomic_store(&c->done, true);
	return NULL;
}

/* Joins finished connection threads; all of them when `all`. */
static void reap(struct fake_mqtt311 *f, bool all)
{
	for (size_t i = 0; i < FAKE_MQTT311_CONNECTIONS_MAX; i++) {
		struct fake_conn *c = &f->conns[i];

		if (c->used && (all || atomic_load(&c->done))) {
			pthread_join(c->thread, NULL);
			c->used = false;
		}
	}
}

static void *accept_thread(void *arg)
{
	struct fake_mqtt311 *f = arg;

	while (!atomic_load(&f->stop)) {
		struct pollfd p = {.fd = f->listen_fd, .events = POLLIN};
		struct fake_conn *slot = NULL;
		int fd;

		reap(f, false);
		if (poll(&p, 1, FAKE_MQTT311_POLL_MS) <= 0)
			continue;
		fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		for (size_t i = 0; i < FAKE_MQTT311_CONNECTIONS_MAX && !slot; i++)
			if (!f->conns[i].used)
				slot = &f->conns[i];
		if (!slot) {
			close(fd);
			continue;
		}
		slot->f = f;
		slot->fd = fd;
		atomic_store(&slot->done, false);
		slot->used = pthread_create(&slot->thread, NULL, conn_thread, slot) == 0;
		if (!slot->used)
			close(fd);
	}
	reap(f, true);
	return NULL;
}

struct fake_mqtt311 *fake_mqtt311_start(int broker_port)
{
	struct fake_mqtt311 *f = calloc(1, sizeof(*f));
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);

	if (!f)
		return NULL;
	f->broker_port = broker_port;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->listen_fd < 0 || bind(f->listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(f->listen_fd, 8) != 0 ||
	    getsockname(f->listen_fd, (struct sockaddr *)&a, &alen) != 0)
		goto err;
	f->port = ntohs(a.sin_port);
	if (pthread_create(&f->thread, NULL, accept_thread, f) != 0)
		goto err;
	return f;
err:
	if (f->listen_fd >= 0)
		close(f->listen_fd);
	free(f);
	return NULL;
}

void fake_mqtt311_refuse_as_mqtt5(struct fake_mqtt311 *f)
{
	atomic_store(&f->as_mqtt5, true);
}

void fake_mqtt311_refuse_client_suffix(struct fake_mqtt311 *f, const char *suffix)
{
	snprintf(f->refused_suffix, sizeof(f->refused_suffix), "%s", suffix);
}

unsigned fake_mqtt311_refused_ids(const struct fake_mqtt311 *f)
{
	return atomic_load(&f->refused_ids);
}

int fake_mqtt311_port(const struct fake_mqtt311 *f)
{
	return f->port;
}

unsigned fake_mqtt311_refused(const struct fake_mqtt311 *f)
{
	return atomic_load(&f->refused);
}

unsigned fake_mqtt311_relayed(const struct fake_mqtt311 *f)
{
	return atomic_load(&f->relayed);
}

void fake_mqtt311_stop(struct fake_mqtt311 *f)
{
	if (!f)
		return;
	atomic_store(&f->stop, true);
	pthread_join(f->thread, NULL);
	close(f->listen_fd);
	free(f);
}
