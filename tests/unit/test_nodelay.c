/* SPDX-License-Identifier: MIT */
/*
 * Tests of daemon/mqtt/nodelay.c: the broker's connection gets TCP_NODELAY,
 * other sockets keep Nagle, and URLs are parsed as Paho takes them.
 */
#include "mqtt/nodelay.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

/* A listening socket on a free loopback port; its port in *port. */
static int listen_loopback(unsigned *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fd, 4), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static int connect_loopback(unsigned port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static int nodelay_of(int fd)
{
	int v = -1;
	socklen_t len = sizeof(v);

	cr_assert_eq(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
	return v;
}

Test(nodelay, sets_it_on_the_broker_connection_only)
{
	unsigned broker_port, other_port;
	int broker = listen_loopback(&broker_port);
	int other = listen_loopback(&other_port);
	int to_broker = connect_loopback(broker_port);
	int to_other = connect_loopback(other_port);
	int accepted = accept(broker, NULL, NULL);
	char url[64];

	cr_assert_eq(nodelay_of(to_broker), 0);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", broker_port);
	cr_expect_eq(sh_mqtt_nodelay(url), 1);
	cr_expect_neq(nodelay_of(to_broker), 0);
	cr_expect_eq(nodelay_of(to_other), 0);
	/* The broker's side of it has a client port as its peer. */
	cr_expect_eq(nodelay_of(accepted), 0);

	/* A host name matches on the port alone. */
	close(to_broker);
	to_broker = connect_loopback(broker_port);
	snprintf(url, sizeof(url), "ssl://localhost:%u/", broker_port);
	cr_expect_eq(sh_mqtt_nodelay(url), 1);
	cr_expect_neq(nodelay_of(to_broker), 0);
	/* Another address on that port is not the broker. */
	snprintf(url, sizeof(url), "tcp://127.0.0.2:%u", other_port);
	cr_expect_eq(sh_mqtt_nodelay(url), 0);
	cr_expect_eq(nodelay_of(to_other), 0);
	close(accepted);
	close(to_broker);
	close(to_other);
	close(broker);
	close(other);
}

Test(nodelay, refuses_urls_it_cannot_read)
{
	cr_expect_eq(sh_mqtt_nodelay("127.0.0.1:1883"), -EINVAL);
	cr_expect_eq(sh_mqtt_nodelay("tcp://:1883"), -EINVAL);
	cr_expect_eq(sh_mqtt_nodelay("tcp://host:99999"), -EINVAL);
	cr_expect_eq(sh_mqtt_nodelay("tcp://[::1"), -EINVAL);
	cr_expect_geq(sh_mqtt_nodelay("tcp://[::1]:1"), 0);
	cr_expect_geq(sh_mqtt_nodelay("tcp://broker.example"), 0);
}
