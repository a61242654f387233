// SPDX-License-Identifier: MIT
/*
 * Child processes and /proc accounting for smarthub-bench: the broker, the
 * daemon and the relay run as children of the benchmark, and what the
 * kernel counts for them (memory, context switches, CPU time per thread) is
 * read from /proc, which is what `ps` and `top` show a user as well.
 */
#define _GNU_SOURCE /* close_range */
#include "bench_proc.h"
#include "bench_stats.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Bounds of the child's environment (ours plus a few extra variables). */
#define BENCH_ENV_MAX 512
/* How long mosquitto may take to accept connections. */
#define BENCH_BROKER_START_MS 10000

int bench_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int r = 0;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		r = -errno;
	close(fd);
	return r < 0 ? r : ntohs(a.sin_port);
}

bool bench_port_open(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

int bench_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	size_t len = strlen(text);
	int r = fwrite(text, 1, len, f) == len ? 0 : -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	return r;
}

void bench_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		char path[1024];
		while ((e = readdir(d))) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

int bench_child_start(struct bench_child *c, char *const argv[], const char *log_path,
		      char *const env_extra[])
{
	/* Built before fork: the child only calls async-signal-safe functions. */
	char *envp[BENCH_ENV_MAX];
	size_t n = 0;
	for (size_t i = 0; env_extra && env_extra[i] && n < BENCH_ENV_MAX - 1; i++)
		envp[n++] = env_extra[i];
	for (char **e = environ; *e && n < BENCH_ENV_MAX - 1; e++) {
		/* The caller's NOTIFY_SOCKET (a benchmark run under systemd)
		 * must not reach the daemon unless we set our own. */
		if (strncmp(*e, "NOTIFY_SOCKET=", 14) == 0 || strncmp(*e, "WATCHDOG_", 9) == 0)
			continue;
		envp[n++] = *e;
	}
	envp[n] = NULL;

	snprintf(c->log_path, sizeof(c->log_path), "%s", log_path);
	int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (log_fd < 0)
		return -errno;
	pid_t parent = getpid();
	c->exec_ns = bench_now_ns();
	pid_t pid = fork();
	if (pid < 0) {
		int r = -errno;
		close(log_fd);
		return r;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		int null_fd = open("/dev/null", O_RDONLY);
		if (null_fd >= 0)
			dup2(null_fd, 0);
		dup2(log_fd, 1);
		dup2(log_fd, 2);
		/* Nothing else of ours: Paho's sockets are not close-on-exec,
		 * and a daemon or relay that inherited the driver's connection
		 * to the same broker set TCP_NODELAY on it (nodelay.c matches
		 * by peer), and could not tell its own socket from it. */
		close_range(3, ~0U, 0);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	close(log_fd);
	c->pid = pid;
	c->status = 0;
	return 0;
}

bool bench_child_alive(struct bench_child *c)
{
	if (c->pid <= 0)
		return false;
	int status;
	if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
		c->pid = 0;
		c->status = status;
		return false;
	}
	return true;
}

void bench_child_stop(struct bench_child *c, unsigned timeout_ms)
{
	if (c->pid <= 0)
		return;
	kill(c->pid, SIGTERM);
	uint64_t deadline = bench_now_ns() + (uint64_t)timeout_ms * 1000000ULL;
	int status;
	while (waitpid(c->pid, &status, WNOHANG) == 0) {
		if (bench_now_ns() > deadline) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, &status, 0);
			break;
		}
		bench_sleep_ms(5);
	}
	c->pid = 0;
	c->status = status;
}

int bench_broker_start(struct bench_child *c, const char *dir, bool nodelay, int *port)
{
	char conf[512], log[512], text[512];
	int p = bench_free_port();
	if (p < 0)
		return p;
	snprintf(conf, sizeof(conf), "%s/mosquitto-%d.conf", dir, p);
	snprintf(log, sizeof(log), "%s/mosquitto-%d.log", dir, p);
	/* A stock broker: what users run (issue 12). Its limits on queued
	 * messages concern QoS 1 and 2 only; the commands and states that
	 * could pile up are QoS 0, which it never drops for a connected
	 * client. */
	snprintf(text, sizeof(text), "listener %d 127.0.0.1\nallow_anonymous true\n%s", p,
		 nodelay ? "set_tcp_nodelay true\n" : "");
	int r = bench_write_file(conf, text);
	if (r < 0)
		return r;
	char *argv[] = {"/usr/sbin/mosquitto", "-c", conf, NULL};
	if (access(argv[0], X_OK) != 0)
		argv[0] = "/usr/bin/mosquitto";
	r = bench_child_start(c, argv, log, NULL);
	if (r < 0)
		return r;
	uint64_t deadline = bench_now_ns() + BENCH_BROKER_START_MS * 1000000ULL;
	while (!bench_port_open(p)) {
		if (!bench_child_alive(c) || bench_now_ns() > deadline) {
			bench_child_stop(c, 1000);
			return -ECONNREFUSED;
		}
		bench_sleep_ms(10);
	}
	*port = p;
	return 0;
}

int bench_notify_open(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int bench_notify_poll(int fd, unsigned timeout_ms, const char *want, uint64_t *t_ns)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n = poll(&p, 1, (int)timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (n == 0)
		return 0;
	uint64_t now = bench_now_ns();
	char buf[4096];
	ssize_t len = recv(fd, buf, sizeof(buf) - 1, 0);
	if (len < 0)
		return -errno;
	buf[len] = '\0';
	/* READY=1 may share a datagram with STATUS=...: look at every line. */
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strcmp(line, want) == 0) {
			*t_ns = now;
			return 1;
		}
	}
	return 0;
}

static char *read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

static long status_field(const char *status, const char *name)
{
	const char *p = strstr(status, name);
	return p ? strtol(p + strlen(name), NULL, 10) : -1;
}

int bench_proc_memory(pid_t pid, long *rss_kib, long *hwm_kib)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!read_small(path, buf, sizeof(buf)))
		return -errno;
	*rss_kib = status_field(buf, "VmRSS:");
	*hwm_kib = status_field(buf, "VmHWM:");
	return *rss_kib < 0 ? -EIO : 0;
}

long bench_proc_rss_file(pid_t pid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!read_small(path, buf, sizeof(buf)))
		return -1;
	return status_field(buf, "RssFile:");
}

int bench_proc_sample(pid_t pid, struct bench_proc_sample *s)
{
	char path[512], buf[4096];
	memset(s, 0, sizeof(*s));

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!read_small(path, buf, sizeof(buf)))
		return -errno;
	/* Fields 14 and 15 (utime, stime) follow the ")" that ends comm:
	 * the 12th and 13th words after it. */
	char *p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	for (int space = 0; space < 12 && p; space++)
		p = strchr(p + 1, ' ');
	if (!p)
		return -EIO;
	char *end;
	unsigned long long utime = strtoull(p + 1, &end, 10);
	if (end == p + 1 || *end != ' ')
		return -EIO;
	s->ticks = utime + strtoull(end + 1, NULL, 10);

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	struct dirent *e;
	while ((e = readdir(d)) && s->n_threads < BENCH_THREADS_MAX) {
		if (e->d_name[0] == '.')
			continue;
		struct bench_thread_sample *t = &s->threads[s->n_threads];
		t->tid = (pid_t)strtol(e->d_name, NULL, 10);
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid, e->d_name);
		if (read_small(path, buf, sizeof(buf))) {
			size_t len = strcspn(buf, "\n");
			if (len >= sizeof(t->comm))
				len = sizeof(t->comm) - 1;
			memcpy(t->comm, buf, len);
			t->comm[len] = '\0';
		}
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid, e->d_name);
		if (!read_small(path, buf, sizeof(buf)))
			continue; /* the thread ended meanwhile */
		long vol = status_field(buf, "voluntary_ctxt_switches:");
		long invol = status_field(buf, "nonvoluntary_ctxt_switches:");
		t->ctxsw = (unsigned long long)(vol > 0 ? vol : 0) +
			   (unsigned long long)(invol > 0 ? invol : 0);
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
		if (read_small(path, buf, sizeof(buf)))
			t->cpu_ns = strtoull(buf, NULL, 10);
		s->ctxsw += t->ctxsw;
		s->cpu_ns += t->cpu_ns;
		s->n_threads++;
	}
	closedir(d);
	return 0;
}
