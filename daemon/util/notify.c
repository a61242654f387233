// SPDX-License-Identifier: MIT
/*
 * sd_notify without libsystemd: each call opens an AF_UNIX datagram socket,
 * sends one message to $NOTIFY_SOCKET and closes it. Notifications are rare
 * (start, reload, status changes, the watchdog every few seconds), so a
 * socket kept open would buy nothing.
 */
#include "util/notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int sh_notify(const char *text)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || !path[0])
		return 0;
	size_t path_len = strlen(path);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (path_len >= sizeof(addr.sun_path) || (path[0] != '/' && path[0] != '@'))
		return -EINVAL;
	memcpy(addr.sun_path, path, path_len);
	if (path[0] == '@')
		addr.sun_path[0] = '\0'; /* an abstract socket */
	socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len +
					 (path[0] == '@' ? 0 : 1));

	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ssize_t n =
		sendto(fd, text, strlen(text), MSG_NOSIGNAL, (struct sockaddr *)&addr, addr_len);
	int r = n < 0 ? -errno : 0;
	close(fd);
	return r;
}

int sh_notifyf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return sh_notify(buf);
}

uint64_t sh_notify_watchdog_usec(void)
{
	const char *usec = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	if (!usec)
		return 0;
	if (pid && strtol(pid, NULL, 10) != (long)getpid())
		return 0;
	char *end;
	unsigned long long v = strtoull(usec, &end, 10);
	return (*end == '\0') ? (uint64_t)v : 0;
}
