// SPDX-License-Identifier: MIT
/*
 * Finding Paho's broker socket among our own descriptors and turning Nagle
 * off on it; see nodelay.h for why and why this is safe.
 */
#include "mqtt/nodelay.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Paho's default ports when the URL names none. */
#define MQTT_PORT 1883
#define MQTTS_PORT 8883

struct broker_addr {
	unsigned port;
	bool numeric; /* the host is an address literal: match it too */
	int family;
	unsigned char addr[16];
};

/* "scheme://host[:port][/path]" or "scheme://[v6][:port]"; 0 or -EINVAL. */
static int parse_url(const char *url, struct broker_addr *out)
{
	const char *p = strstr(url, "://");
	char host[256];
	const char *end;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!p)
		return -EINVAL;
	out->port = strncmp(url, "ssl://", 6) == 0 ? MQTTS_PORT : MQTT_PORT;
	p += 3;
	if (*p == '[') {
		end = strchr(++p, ']');
		if (!end)
			return -EINVAL;
		n = (size_t)(end - p);
		end++;
	} else {
		end = p + strcspn(p, ":/");
		n = (size_t)(end - p);
	}
	if (n == 0 || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, p, n);
	host[n] = '\0';
	if (*end == ':') {
		char *stop;
		unsigned long port = strtoul(end + 1, &stop, 10);

		if (port == 0 || port > 65535 || (*stop && *stop != '/'))
			return -EINVAL;
		out->port = (unsigned)port;
	}
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->numeric = true;
		out->family = AF_INET;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->numeric = true;
		out->family = AF_INET6;
	}
	return 0;
}

/* True when `fd` is a connected TCP socket whose peer is `b`. */
static bool is_broker_socket(int fd, const struct broker_addr *b)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	int type;
	socklen_t type_len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) < 0 || type != SOCK_STREAM)
		return false;
	if (getpeername(fd, (struct sockaddr *)&peer, &len) < 0)
		return false;
	if (peer.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&peer;

		if (ntohs(in->sin_port) != b->port)
			return false;
		return !b->numeric ||
		       (b->family == AF_INET && memcmp(&in->sin_addr, b->addr, 4) == 0);
	}
	if (peer.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&peer;

		if (ntohs(in6->sin6_port) != b->port)
			return false;
		if (!b->numeric)
			return true;
		if (b->family == AF_INET6)
			return memcmp(&in6->sin6_addr, b->addr, 16) == 0;
		/* An IPv4 broker reached through a v4-mapped address. */
		return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) &&
		       memcmp(&in6->sin6_addr.s6_addr[12], b->addr, 4) == 0;
	}
	return false;
}

int sh_mqtt_broker_sockets(const char *url, int *fds, int max)
{
	struct broker_addr b;
	struct dirent *e;
	DIR *dir;
	int n = 0;
	int r = parse_url(url, &b);

	if (r < 0)
		return r;
	dir = opendir("/proc/self/fd");
	if (!dir)
		return -errno;
	while ((e = readdir(dir)) && n < max) {
		char *stop;
		long fd = strtol(e->d_name, &stop, 10);

		if (*stop || stop == e->d_name || fd == dirfd(dir))
			continue;
		if (is_broker_socket((int)fd, &b))
			fds[n++] = (int)fd;
	}
	closedir(dir);
	return n;
}

int sh_mqtt_nodelay(const char *url)
{
	int fds[SH_MQTT_BROKER_SOCKETS_MAX] = {0};
	int set = 0;
	int n = sh_mqtt_broker_sockets(url, fds, SH_MQTT_BROKER_SOCKETS_MAX);

	for (int i = 0; i < n; i++) {
		int one = 1;

		if (setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0)
			set++;
	}
	return n < 0 ? n : set;
}

void sh_mqtt_quickack(int fd)
{
	int one = 1;

	/* Linux's __tcp_sock_set_quickack: with an ACK scheduled it is sent
	 * at once. A descriptor Paho closed and the number reused meanwhile
	 * gets an early ACK at worst. */
	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}
