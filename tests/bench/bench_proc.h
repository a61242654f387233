/* SPDX-License-Identifier: MIT */
/*
 * The processes smarthub-bench runs and what it reads about them: a
 * private mosquitto on a free loopback port, smarthubd (or the reference
 * relay) as a child with its own environment, a NOTIFY_SOCKET to time
 * READY=1, and the kernel's accounting in /proc (resident memory, context
 * switches and CPU time of every thread).
 *
 * Every child is started with PR_SET_PDEATHSIG so a benchmark that dies
 * leaves nothing behind; bench_child_stop() reaps it. Functions that fail
 * return 0 or a negative errno.
 */
#ifndef SMARTHUB_BENCH_PROC_H
#define SMARTHUB_BENCH_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Threads of one process we account for; a daemon has a handful. */
#define BENCH_THREADS_MAX 64

/* A TCP port on 127.0.0.1 that was free a moment ago, or -errno. */
int bench_free_port(void);
/* True once something accepts TCP connections on 127.0.0.1:port. */
bool bench_port_open(int port);
/* Writes text to path (created or truncated). */
int bench_write_file(const char *path, const char *text);
/* Removes a directory and the files directly in it. */
void bench_rmdir(const char *dir);

struct bench_child {
	pid_t pid;          /* 0 when not running */
	int status;         /* wait status once reaped (valid when pid is 0) */
	uint64_t exec_ns;   /* monotonic time just before fork() */
	char log_path[512]; /* stdout and stderr of the child */
};

/* Runs argv[0] (a path) with argv, stdout and stderr appended to log_path,
 * and `env_extra` (NAME=value strings, NULL-terminated, may be NULL) added
 * to our environment. */
int bench_child_start(struct bench_child *c, char *const argv[], const char *log_path,
		      char *const env_extra[]);
/* SIGTERM, then SIGKILL after timeout_ms; reaps. Accepts a stopped child. */
void bench_child_stop(struct bench_child *c, unsigned timeout_ms);
/* True while the child has not exited (reaps it if it has). */
bool bench_child_alive(struct bench_child *c);

/* mosquitto on 127.0.0.1 with a configuration file in dir: stock settings
 * (what a user's Debian broker has), plus `set_tcp_nodelay true` when
 * `nodelay`. */
int bench_broker_start(struct bench_child *c, const char *dir, bool nodelay, int *port);

/* The systemd notification socket: a datagram socket bound at `path`. */
int bench_notify_open(const char *path);
/* Waits up to timeout_ms for a datagram; returns 1 and sets *t_ns to its
 * arrival when it has the line `want` (READY=1, WATCHDOG=1), 0 when
 * another one or none came, or -errno. */
int bench_notify_poll(int fd, unsigned timeout_ms, const char *want, uint64_t *t_ns);

/* VmRSS and VmHWM of pid in KiB. */
int bench_proc_memory(pid_t pid, long *rss_kib, long *hwm_kib);
/* RssFile of pid in KiB: the resident pages of mapped files (the
 * executable and its shared libraries), shared with other processes. */
long bench_proc_rss_file(pid_t pid);

struct bench_thread_sample {
	pid_t tid;
	char comm[32];
	unsigned long long ctxsw;  /* voluntary + nonvoluntary context switches */
	unsigned long long cpu_ns; /* on-CPU time from /proc/.../schedstat */
};

struct bench_proc_sample {
	size_t n_threads;
	struct bench_thread_sample threads[BENCH_THREADS_MAX];
	unsigned long long ctxsw;  /* sum over threads */
	unsigned long long cpu_ns; /* sum over threads (schedstat, ns) */
	unsigned long long ticks;  /* utime + stime from /proc/PID/stat, clock ticks */
};

/* Reads every thread of pid. */
int bench_proc_sample(pid_t pid, struct bench_proc_sample *s);

#endif
