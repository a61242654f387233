/* SPDX-License-Identifier: MIT */
/*
 * The integration-test harness (see harness.h): processes, files, a private
 * mosquitto, the daemon as a child, and a recording MQTT client.
 *
 * It owns two registries, both bounded: the children it started and the
 * temporary directories it made. An atexit handler kills and reaps the
 * children still alive and removes the directories still present, so a
 * test that fails an assertion half-way leaves nothing behind. A test that
 * crashes runs no atexit handler: a handler for the crash signals does the
 * same with async-signal-safe calls, and children also get
 * PR_SET_PDEATHSIG, so they die with the test process whatever happens.
 *
 * The MQTT client (MQTT 5, retain-as-published) keeps received messages in
 * a bounded ring guarded by a mutex and a condition variable: Paho's thread
 * appends, test threads wait. Each subscribe or publish a caller waits for
 * has its own completion record.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <MQTTAsync.h>
#include <cjson/cJSON.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SMARTHUBD_PATH
#define SMARTHUBD_PATH "smarthubd"
#endif
#ifndef SMARTHUB_PLUGIN_BUILD_DIR
#define SMARTHUB_PLUGIN_BUILD_DIR "plugins-out"
#endif

/* Registries: a test rarely has more than a handful of each. */
#define TH_MAX_CHILDREN 64
#define TH_MAX_TEMPDIRS 64
/* How long a broker may take to accept connections. */
#define TH_BROKER_START_MS 10000
/* How often a freshly picked port may turn out taken before giving up. */
#define TH_BROKER_PORT_TRIES 5
/* th_run kills what runs longer, and keeps at most this much output. */
#define TH_RUN_TIMEOUT_MS 60000
#define TH_RUN_MAX_OUTPUT (16u << 20)
/* Paho round trips (CONNACK, SUBACK, PUBACK). */
#define TH_MQTT_OP_TIMEOUT_MS 10000
/* Filters resubscribed after a reconnect. */
#define TH_MQTT_MAX_FILTERS 64

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t children[TH_MAX_CHILDREN];
static char *tempdirs[TH_MAX_TEMPDIRS];
static pid_t registry_owner; /* the process whose atexit handler cleans up */
static pthread_once_t atexit_once = PTHREAD_ONCE_INIT;

static void fatal(const char *what)
{
	fprintf(stderr, "harness: %s\n", what);
	abort();
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

char *th_strdupf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("out of memory");
	return s;
}

/* ---- registries and the exit handler ---- */

static void reap_quietly(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static void cleanup_at_exit(void)
{
	/* A forked child that returns from main must not kill its siblings. */
	if (getpid() != registry_owner)
		return;
	for (size_t i = 0; i < TH_MAX_CHILDREN; i++) {
		pid_t pid = children[i];
		if (pid <= 0)
			continue;
		children[i] = 0;
		kill(-pid, SIGKILL); /* its process group: the daemon's own children too */
		kill(pid, SIGKILL);
		reap_quietly(pid);
	}
	for (size_t i = 0; i < TH_MAX_TEMPDIRS; i++) {
		if (!tempdirs[i])
			continue;
		char *dir = tempdirs[i];
		tempdirs[i] = NULL;
		th_rmtree(dir);
		free(dir);
	}
}

/* Signals that end a test abruptly (a crash, or the runner or a user
 * stopping it); see on_crash. */
static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGTERM, SIGINT};
#define TH_N_CRASH_SIGNALS (sizeof(crash_signals) / sizeof(crash_signals[0]))
static struct sigaction crash_saved[TH_N_CRASH_SIGNALS];

/*
 * A crashing test runs no atexit handler. Do what can be done with
 * async-signal-safe calls: kill the children, have /bin/rm remove the
 * directories, then let the previous handler (Criterion's default, or a
 * sanitizer's report) see the signal as if we had not been here.
 */
static void on_crash(int sig)
{
	if (getpid() == registry_owner) {
		const char *argv[TH_MAX_TEMPDIRS + 3];
		size_t n = 0;
		argv[n++] = "rm";
		argv[n++] = "-rf";
		for (size_t i = 0; i < TH_MAX_CHILDREN; i++) {
			if (children[i] > 0) {
				kill(-children[i], SIGKILL);
				kill(children[i], SIGKILL);
			}
		}
		for (size_t i = 0; i < TH_MAX_TEMPDIRS; i++)
			if (tempdirs[i])
				argv[n++] = tempdirs[i];
		argv[n] = NULL;
		if (n > 2) {
			pid_t pid = fork();
			if (pid == 0) {
				execv("/bin/rm", (char *const *)argv);
				_exit(127);
			}
			if (pid > 0)
				while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
					;
		}
	}
	for (size_t i = 0; i < TH_N_CRASH_SIGNALS; i++)
		if (crash_signals[i] == sig)
			sigaction(sig, &crash_saved[i], NULL);
	raise(sig);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* "smarthub-test-<pid>-XXXXXX": the pid of the test process that made it. */
#define TH_TEMPDIR_PREFIX "smarthub-test-"

/*
 * Nothing can clean up after a test process killed with SIGKILL (a ctest
 * timeout, say) but the next one: remove the directories whose maker no
 * longer exists. A directory whose pid was reused is kept, which is the
 * safe side.
 */
static void sweep_stale_tempdirs(const char *base)
{
	DIR *d = opendir(base);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, TH_TEMPDIR_PREFIX, strlen(TH_TEMPDIR_PREFIX)) != 0)
			continue;
		char *end;
		long pid = strtol(e->d_name + strlen(TH_TEMPDIR_PREFIX), &end, 10);
		if (pid <= 0 || *end != '-')
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue; /* its maker lives, or is not ours to judge */
		char *path = th_strdupf("%s/%s", base, e->d_name);
		nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		free(path);
	}
	closedir(d);
}

static const char *temp_base(void)
{
	const char *base = getenv("TMPDIR");
	return base && *base ? base : "/tmp";
}

static void install_once(void)
{
	registry_owner = getpid();
	sweep_stale_tempdirs(temp_base());
	atexit(cleanup_at_exit);
	struct sigaction sa = {.sa_handler = on_crash, .sa_flags = SA_NODEFER};
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < TH_N_CRASH_SIGNALS; i++)
		sigaction(crash_signals[i], &sa, &crash_saved[i]);
}

static void registry_init(void)
{
	pthread_once(&atexit_once, install_once);
	/* Criterion forks a worker per test: the worker inherits a copy of a
	 * registry that belongs to its parent. Start a fresh one. */
	if (registry_owner != getpid()) {
		pthread_mutex_lock(&registry_lock);
		memset(children, 0, sizeof(children));
		for (size_t i = 0; i < TH_MAX_TEMPDIRS; i++) {
			free(tempdirs[i]); /* our copy; the parent still has its own */
			tempdirs[i] = NULL;
		}
		registry_owner = getpid();
		pthread_mutex_unlock(&registry_lock);
		/* The crash handlers came along with fork; the atexit list too,
		 * but its entry checks the owner, so register one for us. */
		atexit(cleanup_at_exit);
	}
}

static void child_register(pid_t pid)
{
	registry_init();
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < TH_MAX_CHILDREN; i++) {
		if (children[i] == 0) {
			children[i] = pid;
			pthread_mutex_unlock(&registry_lock);
			return;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	fatal("too many children (TH_MAX_CHILDREN)");
}

static void child_unregister(pid_t pid)
{
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < TH_MAX_CHILDREN; i++)
		if (children[i] == pid)
			children[i] = 0;
	pthread_mutex_unlock(&registry_lock);
}

static void tempdir_register(const char *dir)
{
	registry_init();
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < TH_MAX_TEMPDIRS; i++) {
		if (!tempdirs[i]) {
			tempdirs[i] = strdup(dir);
			pthread_mutex_unlock(&registry_lock);
			return;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	fatal("too many temporary directories (TH_MAX_TEMPDIRS)");
}

static void tempdir_unregister(const char *dir)
{
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < TH_MAX_TEMPDIRS; i++) {
		if (tempdirs[i] && strcmp(tempdirs[i], dir) == 0) {
			free(tempdirs[i]);
			tempdirs[i] = NULL;
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

/* ---- ports and files ---- */

int th_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	close(fd);
	return ntohs(sa.sin_port);
}

bool th_wait_port(int port, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return false;
		struct sockaddr_in sa = {.sin_family = AF_INET,
					 .sin_port = htons((uint16_t)port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		close(fd);
		if (ok)
			return true;
		if (now_ms() >= deadline)
			return false;
		sleep_ms(20);
	}
}

char *th_tempdir(void)
{
	char *dir = th_strdupf("%s/" TH_TEMPDIR_PREFIX "%d-XXXXXX", temp_base(), (int)getpid());
	if (!mkdtemp(dir)) {
		free(dir);
		return NULL;
	}
	tempdir_register(dir);
	return dir;
}

void th_rmtree(const char *path)
{
	if (!path)
		return;
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	tempdir_unregister(path);
}

int th_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int r = -errno;
			close(fd);
			return r;
		}
		off += (size_t)n;
	}
	return close(fd) < 0 ? -errno : 0;
}

char *th_read_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		fatal("out of memory");
	for (;;) {
		if (len + 1 >= cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				fatal("out of memory");
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

bool th_text_has_line(const char *text, const char *start, const char *needle)
{
	size_t start_len = strlen(start);
	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (len >= start_len && !strncmp(line, start, start_len) &&
		    (!needle || memmem(line, len, needle, strlen(needle))))
			return true;
		line = end ? end + 1 : NULL;
	}
	return false;
}

bool th_wait_file_line(const char *path, const char *start, const char *needle, int timeout_ms)
{
	for (int waited = 0;; waited += 50) {
		char *text = th_read_file(path);
		bool found = text && th_text_has_line(text, start, needle);
		free(text);
		if (found)
			return true;
		if (waited >= timeout_ms)
			return false;
		usleep(50 * 1000);
	}
}

/* ---- children ---- */

/* Variables a surrounding systemd or journald would hand us: a child must
 * not notify our supervisor or change its log format because of them. And
 * Criterion's own (BoxFort's BXFI_MAP), which would make a Criterion
 * program run as a child take itself for a test worker. */
static const char *const scrubbed_env[] = {
	"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM",
	"LISTEN_FDS",    "LISTEN_PID",    "BXFI_MAP",     NULL,
};

/* Runs in the forked child: never returns. out_fd becomes stdout and
 * stderr; -1 means /dev/null. */
static void exec_child(pid_t parent, const char *path, const char *const *argv,
		       const char *const *extra_env, int out_fd, bool use_path)
{
	/* Die with the test process, even if it crashes. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	/* Own process group, so cleanup can kill what the child starts. */
	setpgid(0, 0);
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);

	int null_fd = open("/dev/null", O_RDWR);
	if (null_fd >= 0)
		dup2(null_fd, 0);
	int fd = out_fd >= 0 ? out_fd : null_fd;
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	for (const char *const *v = scrubbed_env; *v; v++)
		unsetenv(*v);
	for (const char *const *e = extra_env; e && *e; e++)
		putenv((char *)*e);
	if (use_path)
		execvp(path, (char *const *)argv);
	else
		execv(path, (char *const *)argv);
	dprintf(2, "harness: exec %s: %s\n", path, strerror(errno));
	_exit(127);
}

static int open_log(const char *log_path)
{
	if (!log_path)
		return -1;
	int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

static pid_t spawn(const char *path, const char *const *argv, const char *const *extra_env,
		   int out_fd, bool use_path)
{
	registry_init();
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		exec_child(parent, path, argv, extra_env, out_fd, use_path);
	setpgid(pid, pid); /* also here, so a kill right after fork finds the group */
	child_register(pid);
	return pid;
}

pid_t th_spawn(const char *const *argv, const char *const *extra_env, const char *log_path)
{
	int fd = -1;
	if (log_path) {
		fd = open_log(log_path);
		if (fd < 0)
			return fd;
	}
	pid_t pid = spawn(argv[0], argv, extra_env, fd, true);
	if (fd >= 0)
		close(fd);
	return pid;
}

/* Waits at most timeout_ms for pid; reaps it. 0 when it exited, -ETIMEDOUT,
 * or -errno. */
static int wait_child(pid_t pid, int timeout_ms, int *status)
{
	uint64_t deadline = now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	int delay = 1;
	for (;;) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid) {
			child_unregister(pid);
			if (status)
				*status = st;
			return 0;
		}
		if (r < 0 && errno != EINTR) {
			int e = -errno;
			child_unregister(pid);
			return e;
		}
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		sleep_ms(delay);
		if (delay < 20)
			delay *= 2;
	}
}

int th_child_stop(pid_t pid, int timeout_ms)
{
	if (pid <= 0)
		return -ECHILD;
	int status = 0;
	kill(pid, SIGTERM);
	int r = wait_child(pid, timeout_ms, &status);
	if (r == -ETIMEDOUT) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		r = wait_child(pid, 10000, &status);
	}
	/* Whatever the child left in its process group goes too. */
	kill(-pid, SIGKILL);
	return r < 0 ? r : status;
}

int th_run(const char *const *argv, const char *const *extra_env, char **output, int *exit_status)
{
	int fds[2];
	if (output)
		*output = NULL;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = spawn(argv[0], argv, extra_env, fds[1], true);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return pid;
	}
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		fatal("out of memory");
	uint64_t deadline = now_ms() + TH_RUN_TIMEOUT_MS;
	bool timed_out = false;
	for (;;) {
		uint64_t now = now_ms();
		if (now >= deadline) {
			timed_out = true;
			break;
		}
		struct pollfd p = {.fd = fds[0], .events = POLLIN};
		int n = poll(&p, 1, (int)(deadline - now));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			continue;
		if (len + 1 >= cap && cap < TH_RUN_MAX_OUTPUT + 1) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				fatal("out of memory");
		}
		char sink[4096];
		ssize_t got = len + 1 < cap
				      ? read(fds[0], buf + len, cap - len - 1)
				      : read(fds[0], sink, sizeof(sink)); /* over the cap: drop */
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (len + 1 < cap)
			len += (size_t)got;
	}
	close(fds[0]);
	buf[len] = '\0';
	int status = 0;
	int r;
	if (timed_out) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	r = wait_child(pid, timed_out ? 10000 : TH_RUN_TIMEOUT_MS, &status);
	if (r < 0) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		wait_child(pid, 10000, &status);
		free(buf);
		return r;
	}
	if (exit_status)
		*exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (output)
		*output = buf;
	else
		free(buf);
	return timed_out ? -ETIMEDOUT : 0;
}

/* ---- a private mosquitto ---- */

static int broker_try(struct th_broker *b, int port, const char *extra_conf)
{
	char *conf_path = th_strdupf("%s/mosquitto.conf", b->dir);
	char *log_path = th_strdupf("%s/mosquitto.log", b->dir);
	/* "user root" keeps a broker started by root from switching to the
	 * mosquitto user, who could not read the test's 0700 directory. The
	 * log leaves out per-packet debug lines, which slow a broker that a
	 * test floods. */
	char *conf =
		th_strdupf("listener %d 127.0.0.1\n"
			   "allow_anonymous true\n"
			   "persistence false\n"
			   "log_dest stderr\n"
			   "log_type error\nlog_type warning\nlog_type notice\n"
			   "log_type information\nlog_type subscribe\n"
			   "connection_messages true\n"
			   "user %s\n"
			   "%s\n",
			   port, geteuid() == 0 ? "root" : "nobody", extra_conf ? extra_conf : "");
	int r = th_write_file(conf_path, conf);
	free(conf);
	if (r < 0)
		goto out;
	int fd = open_log(log_path);
	if (fd < 0) {
		r = fd;
		goto out;
	}
	const char *argv[] = {"mosquitto", "-c", conf_path, NULL};
	pid_t pid = spawn("mosquitto", argv, NULL, fd, true);
	close(fd);
	if (pid < 0) {
		r = pid;
		goto out;
	}
	b->pid = pid;
	b->port = port;
	uint64_t deadline = now_ms() + TH_BROKER_START_MS;
	for (;;) {
		int status;
		if (wait_child(pid, 0, &status) == 0) {
			/* It exited: most likely the port was taken meanwhile. */
			b->pid = 0;
			r = -EADDRINUSE;
			goto out;
		}
		if (th_wait_port(port, 0)) {
			r = 0;
			goto out;
		}
		if (now_ms() >= deadline) {
			th_child_stop(pid, 1000);
			b->pid = 0;
			r = -ETIMEDOUT;
			goto out;
		}
		sleep_ms(10);
	}
out:
	free(conf_path);
	free(log_path);
	return r;
}

int th_broker_start_conf(struct th_broker *b, int port, const char *extra_conf)
{
	if (b->pid > 0)
		return -EBUSY;
	if (!b->dir) {
		b->dir = th_tempdir();
		if (!b->dir)
			return -errno;
	}
	int r = -EADDRINUSE;
	for (int i = 0; i < (port ? 1 : TH_BROKER_PORT_TRIES); i++) {
		int p = port ? port : th_free_port();
		if (p < 0)
			return p;
		r = broker_try(b, p, extra_conf);
		if (r != -EADDRINUSE)
			break;
	}
	if (r < 0) {
		/* Say why in the test's output: the directory goes with the broker. */
		char *path = th_strdupf("%s/mosquitto.log", b->dir);
		char *log = th_read_file(path);
		fprintf(stderr, "harness: mosquitto did not start (%s):\n%s\n", strerror(-r),
			log ? log : "(no log)");
		free(log);
		free(path);
	}
	return r;
}

int th_broker_start(struct th_broker *b, int port)
{
	return th_broker_start_conf(b, port, NULL);
}

static void broker_end(struct th_broker *b, int sig)
{
	if (b->pid > 0) {
		if (sig == SIGKILL) {
			kill(b->pid, SIGKILL);
			wait_child(b->pid, 10000, NULL);
		} else {
			th_child_stop(b->pid, 5000);
		}
		b->pid = 0;
	}
	if (b->dir) {
		th_rmtree(b->dir);
		free(b->dir);
		b->dir = NULL;
	}
}

void th_broker_stop(struct th_broker *b)
{
	broker_end(b, SIGTERM);
}

void th_broker_kill(struct th_broker *b)
{
	broker_end(b, SIGKILL);
}

/* ---- the daemon ---- */

#define TH_DAEMON_MAX_ARGS 64

int th_daemon_start(struct th_daemon *d, const char *yaml, const char *const *extra_args,
		    const char *const *extra_env)
{
	if (d->pid > 0)
		return -EBUSY;
	if (!d->dir) {
		d->dir = th_tempdir();
		if (!d->dir)
			return -errno;
	}
	if (!d->config_path)
		d->config_path = th_strdupf("%s/smarthub.yaml", d->dir);
	if (!d->log_path)
		d->log_path = th_strdupf("%s/smarthubd.log", d->dir);
	if (yaml) {
		int r = th_write_file(d->config_path, yaml);
		if (r < 0)
			return r;
	}
	const char *bin = getenv("SMARTHUBD_PATH");
	if (!bin || !*bin)
		bin = SMARTHUBD_PATH;
	const char *argv[TH_DAEMON_MAX_ARGS];
	size_t n = 0;
	argv[n++] = bin;
	argv[n++] = "-c";
	argv[n++] = d->config_path;
	argv[n++] = "--plugin-dir";
	argv[n++] = SMARTHUB_PLUGIN_BUILD_DIR;
	argv[n++] = "--log-level";
	argv[n++] = "debug";
	for (const char *const *a = extra_args; a && *a; a++) {
		if (n + 1 >= TH_DAEMON_MAX_ARGS)
			return -E2BIG;
		argv[n++] = *a;
	}
	argv[n] = NULL;
	int fd = open_log(d->log_path);
	if (fd < 0)
		return fd;
	pid_t pid = spawn(bin, argv, extra_env, fd, false);
	close(fd);
	if (pid < 0)
		return pid;
	d->pid = pid;
	return 0;
}

int th_daemon_signal(struct th_daemon *d, int sig)
{
	if (d->pid <= 0)
		return -ESRCH;
	return kill(d->pid, sig) < 0 ? -errno : 0;
}

int th_daemon_wait(struct th_daemon *d, int timeout_ms, int *wait_status)
{
	if (d->pid <= 0)
		return -ECHILD;
	int r = wait_child(d->pid, timeout_ms, wait_status);
	if (r != -ETIMEDOUT) {
		kill(-d->pid, SIGKILL); /* leftovers of its process group */
		d->pid = 0;
	}
	return r;
}

void th_daemon_stop(struct th_daemon *d)
{
	if (d->pid > 0)
		th_child_stop(d->pid, 5000);
	if (d->dir)
		th_rmtree(d->dir);
	free(d->dir);
	free(d->config_path);
	free(d->log_path);
	memset(d, 0, sizeof(*d));
}

char *th_daemon_log(const struct th_daemon *d)
{
	char *s = d->log_path ? th_read_file(d->log_path) : NULL;
	return s ? s : strdup("");
}

bool th_daemon_wait_log(const struct th_daemon *d, const char *needle, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		char *log = th_daemon_log(d);
		bool found = log && strstr(log, needle);
		free(log);
		if (found)
			return true;
		if (now_ms() >= deadline)
			return false;
		sleep_ms(20);
	}
}

/* ---- the MQTT client ---- */

struct th_msg {
	uint64_t seq;
	char *topic;
	char *payload; /* NUL-terminated copy */
	size_t len;
	bool retained;
};

struct th_mqtt {
	MQTTAsync client;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* ring of received messages: seq first_seq .. next_seq-1 */
	struct th_msg *ring;
	size_t head; /* index of the oldest */
	size_t count;
	size_t bytes;
	uint64_t next_seq;
	int connect_done;    /* the first CONNACK: 0 pending, 1 ok, -1 failed */
	bool connected_once; /* on_connected has seen the first connection */
	char *filters[TH_MQTT_MAX_FILTERS];
	size_t n_filters;
};

static void ring_drop_oldest(struct th_mqtt *c)
{
	struct th_msg *m = &c->ring[c->head];
	c->bytes -= m->len;
	free(m->topic);
	free(m->payload);
	memset(m, 0, sizeof(*m));
	c->head = (c->head + 1) % TH_MQTT_MAX_MESSAGES;
	c->count--;
}

static int on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *msg)
{
	struct th_mqtt *c = ctx;
	size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic);
	size_t plen = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
	char *t = strndup(topic, tlen);
	char *p = malloc(plen + 1);
	if (!t || !p)
		fatal("out of memory");
	if (plen)
		memcpy(p, msg->payload, plen);
	p[plen] = '\0';
	bool retained = msg->retained;
	MQTTAsync_freeMessage(&msg);
	MQTTAsync_free(topic);

	pthread_mutex_lock(&c->lock);
	while (c->count > 0 &&
	       (c->count >= TH_MQTT_MAX_MESSAGES || c->bytes + plen > TH_MQTT_MAX_BYTES))
		ring_drop_oldest(c);
	struct th_msg *m = &c->ring[(c->head + c->count) % TH_MQTT_MAX_MESSAGES];
	*m = (struct th_msg){
		.seq = c->next_seq++, .topic = t, .payload = p, .len = plen, .retained = retained};
	c->count++;
	c->bytes += plen;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return 1;
}

/*
 * One subscribe or publish the caller waits for. Each has its own record,
 * so callers on several threads, or a late callback for an operation that
 * timed out, never complete someone else's. Whoever comes second frees it:
 * the waiter once it saw the result, or the callback if the waiter gave up.
 */
struct th_op {
	struct th_mqtt *c;
	int done;  /* 0 pending, 1 ok, -1 failed */
	int error; /* when failed: -EACCES if the broker said not authorized */
	bool abandoned;
};

static void op_finish(struct th_op *op, int done, int error)
{
	struct th_mqtt *c = op->c;
	pthread_mutex_lock(&c->lock);
	if (op->abandoned) {
		free(op);
	} else {
		op->done = done;
		op->error = error;
		pthread_cond_broadcast(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
}

static void on_op_success(void *ctx, MQTTAsync_successData5 *resp)
{
	(void)resp;
	op_finish(ctx, 1, 0);
}

static void on_op_failure(void *ctx, MQTTAsync_failureData5 *resp)
{
	bool denied = resp && resp->reasonCode == MQTTREASONCODE_NOT_AUTHORIZED;
	op_finish(ctx, -1, denied ? -EACCES : -EIO);
}

/* The connect callbacks get the client itself: with automatic reconnect
 * Paho may call them again long after th_mqtt_connect returned. */
static void on_connect_result(struct th_mqtt *c, int done)
{
	pthread_mutex_lock(&c->lock);
	if (c->connect_done == 0)
		c->connect_done = done;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void on_connect_success(void *ctx, MQTTAsync_successData5 *resp)
{
	(void)resp;
	on_connect_result(ctx, 1);
}

static void on_connect_failure(void *ctx, MQTTAsync_failureData5 *resp)
{
	(void)resp;
	on_connect_result(ctx, -1);
}

/* MQTT 5 subscriptions with retain-as-published: the retain flag of a
 * message then says whether its publisher retained it, also for messages
 * forwarded live (MQTT 3.1.1 clears it on those), which is what a test of
 * "the hub publishes this retained" needs to see. */
static void subscribe_options(MQTTAsync_responseOptions *ro)
{
	ro->subscribeOptions.retainAsPublished = 1;
}

/* After an automatic reconnect the broker (clean start) has forgotten our
 * subscriptions: make them again. Fire and forget, from Paho's thread,
 * which Paho allows for subscribe. */
static void on_connected(void *ctx, char *cause)
{
	struct th_mqtt *c = ctx;
	(void)cause;
	pthread_mutex_lock(&c->lock);
	/* Paho calls this for the first connection too, right after the
	 * CONNACK callback that may already have let the test subscribe:
	 * subscribing twice would deliver retained messages twice. */
	bool first = !c->connected_once;
	c->connected_once = true;
	size_t n = first ? 0 : c->n_filters;
	char *filters[TH_MQTT_MAX_FILTERS];
	for (size_t i = 0; i < n; i++)
		filters[i] = strdup(c->filters[i]);
	pthread_mutex_unlock(&c->lock);
	for (size_t i = 0; i < n; i++) {
		if (!filters[i])
			continue;
		MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
		subscribe_options(&ro);
		MQTTAsync_subscribe(c->client, filters[i], 1, &ro);
		free(filters[i]);
	}
}

static void on_lost(void *ctx, char *cause)
{
	(void)ctx;
	(void)cause;
}

/* A record for one operation, wired into ro. */
static struct th_op *op_begin(struct th_mqtt *c, MQTTAsync_responseOptions *ro)
{
	struct th_op *op = calloc(1, sizeof(*op));
	if (!op)
		fatal("out of memory");
	op->c = c;
	ro->onSuccess5 = on_op_success;
	ro->onFailure5 = on_op_failure;
	ro->context = op;
	return op;
}

static void deadline_ts(struct timespec *ts, int timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Waits for the operation (bounded) and releases its record. */
static int op_wait(struct th_op *op)
{
	struct th_mqtt *c = op->c;
	struct timespec ts;
	deadline_ts(&ts, TH_MQTT_OP_TIMEOUT_MS);
	pthread_mutex_lock(&c->lock);
	int r = 0;
	while (op->done == 0 && r == 0)
		r = pthread_cond_timedwait(&c->cond, &c->lock, &ts);
	int done = op->done, error = op->error;
	if (done == 0)
		op->abandoned = true; /* the callback, if it ever comes, frees it */
	else
		free(op);
	pthread_mutex_unlock(&c->lock);
	if (done == 1)
		return 0;
	return done == 0 ? -ETIMEDOUT : error;
}

/* When Paho refused to start the operation, no callback will come. */
static int op_cancel(struct th_op *op, int r)
{
	free(op);
	return r;
}

static void mqtt_free(struct th_mqtt *c)
{
	if (c->client)
		MQTTAsync_destroy(&c->client);
	while (c->count)
		ring_drop_oldest(c);
	for (size_t i = 0; i < c->n_filters; i++)
		free(c->filters[i]);
	free(c->ring);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

struct th_mqtt *th_mqtt_connect(int port, const char *client_id)
{
	return th_mqtt_connect_auth(port, client_id, NULL, NULL);
}

struct th_mqtt *th_mqtt_connect_auth(int port, const char *client_id, const char *username,
				     const char *password)
{
	/* Paho writes to sockets the broker may have closed. */
	signal(SIGPIPE, SIG_IGN);
	struct th_mqtt *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->ring = calloc(TH_MQTT_MAX_MESSAGES, sizeof(*c->ring));
	if (!c->ring) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);

	char *uri = th_strdupf("tcp://127.0.0.1:%d", port);
	MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
	int rc = MQTTAsync_createWithOptions(&c->client, uri, client_id,
					     MQTTCLIENT_PERSISTENCE_NONE, NULL, &co);
	free(uri);
	if (rc != MQTTASYNC_SUCCESS) {
		c->client = NULL;
		mqtt_free(c);
		return NULL;
	}
	MQTTAsync_setCallbacks(c->client, c, on_lost, on_message, NULL);
	MQTTAsync_setConnected(c->client, c, on_connected);

	MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer5;
	opts.keepAliveInterval = 20;
	opts.cleanstart = 1;
	opts.automaticReconnect = 1;
	opts.minRetryInterval = 1;
	opts.maxRetryInterval = 2;
	opts.connectTimeout = 5;
	opts.username = username;
	opts.password = password;
	opts.onSuccess5 = on_connect_success;
	opts.onFailure5 = on_connect_failure;
	opts.context = c;
	if (MQTTAsync_connect(c->client, &opts) != MQTTASYNC_SUCCESS) {
		mqtt_free(c);
		return NULL;
	}
	struct timespec ts;
	deadline_ts(&ts, TH_MQTT_OP_TIMEOUT_MS);
	pthread_mutex_lock(&c->lock);
	int r = 0;
	while (c->connect_done == 0 && r == 0)
		r = pthread_cond_timedwait(&c->cond, &c->lock, &ts);
	int done = c->connect_done;
	pthread_mutex_unlock(&c->lock);
	if (done != 1) {
		mqtt_free(c);
		return NULL;
	}
	return c;
}

int th_mqtt_subscribe(struct th_mqtt *c, const char *filter)
{
	pthread_mutex_lock(&c->lock);
	if (c->n_filters >= TH_MQTT_MAX_FILTERS) {
		pthread_mutex_unlock(&c->lock);
		return -ENOSPC;
	}
	c->filters[c->n_filters++] = strdup(filter);
	pthread_mutex_unlock(&c->lock);

	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	subscribe_options(&ro);
	struct th_op *op = op_begin(c, &ro);
	if (MQTTAsync_subscribe(c->client, filter, 1, &ro) != MQTTASYNC_SUCCESS)
		return op_cancel(op, -EIO);
	return op_wait(op);
}

int th_mqtt_publish(struct th_mqtt *c, const char *topic, const char *payload, size_t len,
		    bool retained)
{
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	msg.payload = (void *)payload;
	msg.payloadlen = (int)len;
	msg.qos = 1;
	msg.retained = retained;
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	struct th_op *op = op_begin(c, &ro);
	int rc = MQTTAsync_sendMessage(c->client, topic, &msg, &ro);
	if (rc != MQTTASYNC_SUCCESS)
		return op_cancel(op, rc == MQTTASYNC_DISCONNECTED ? -ENOTCONN : -EIO);
	return op_wait(op);
}

/* QoS 0 messages queued at once by th_mqtt_publish_lines: below Paho's
 * default maxBufferedMessages (100), past which it refuses a send. */
#define TH_MQTT_BURST_WINDOW 64

int th_mqtt_publish_lines(struct th_mqtt *c, const char *topic, const char *lines)
{
	size_t queued = 0;
	for (const char *line = lines; *line;) {
		size_t len = strcspn(line, "\n");
		const char *next = line[len] ? line + len + 1 : line + len;
		MQTTAsync_message msg = MQTTAsync_message_initializer;
		msg.payload = (void *)line;
		msg.payloadlen = (int)len;
		msg.qos = 0;
		MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
		/* The last of each window, and the very last, is waited for:
		 * Paho calls back once a QoS 0 message is on the socket. */
		bool wait = ++queued == TH_MQTT_BURST_WINDOW || !*next;
		struct th_op *op = wait ? op_begin(c, &ro) : NULL;
		int rc = MQTTAsync_sendMessage(c->client, topic, &msg, &ro);
		if (rc != MQTTASYNC_SUCCESS) {
			int r = rc == MQTTASYNC_DISCONNECTED ? -ENOTCONN : -EIO;
			return op ? op_cancel(op, r) : r;
		}
		if (op) {
			int r = op_wait(op);
			if (r < 0)
				return r;
			queued = 0;
		}
		line = next;
	}
	return 0;
}

void th_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

bool th_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *lock, bool (*done)(void *arg),
			void *arg, int timeout_ms)
{
	struct timespec ts;
	deadline_ts(&ts, timeout_ms);
	bool ok = done(arg);
	while (!ok && pthread_cond_timedwait(cond, lock, &ts) == 0)
		ok = done(arg);
	return ok || done(arg); /* one last look at what came with the timeout */
}

typedef bool (*match_fn)(const struct th_msg *m, const void *arg);

static bool match_contains(const struct th_msg *m, const void *arg)
{
	const char *needle = arg;
	return !needle || memmem(m->payload, m->len, needle, strlen(needle)) != NULL;
}

static bool match_json(const struct th_msg *m, const void *arg)
{
	const cJSON *subset = arg;
	cJSON *doc = cJSON_ParseWithLength(m->payload, m->len);
	bool ok = cJSON_IsObject(doc);
	for (const cJSON *want = subset->child; ok && want; want = want->next) {
		const cJSON *got = cJSON_GetObjectItemCaseSensitive(doc, want->string);
		ok = got && cJSON_Compare(want, got, true);
	}
	cJSON_Delete(doc);
	return ok;
}

/* Whether `topic` matches the MQTT filter (`+` one level, a final `#` the
 * rest; a filter without them is the topic itself). */
static bool topic_matches(const char *filter, const char *topic)
{
	for (;;) {
		if (filter[0] == '#' && filter[1] == '\0')
			return true;
		size_t f = strcspn(filter, "/"), t = strcspn(topic, "/");
		if (!(f == 1 && filter[0] == '+') && (f != t || strncmp(filter, topic, f) != 0))
			return false;
		if (!filter[f] || !topic[t])
			return !filter[f] && !topic[t];
		filter += f + 1;
		topic += t + 1;
	}
}

/* The oldest message whose topic is `topic` (or, with `filter`, matches
 * it) and for which fn holds; its payload, malloc'd, or NULL on timeout. */
static char *wait_match(struct th_mqtt *c, const char *topic, bool filter, match_fn fn,
			const void *arg, int timeout_ms)
{
	struct timespec ts;
	deadline_ts(&ts, timeout_ms);
	char *found = NULL;
	uint64_t checked = 0; /* every seq below this has been looked at */
	pthread_mutex_lock(&c->lock);
	for (;;) {
		uint64_t first = c->next_seq - c->count;
		if (checked < first)
			checked = first;
		for (; checked < c->next_seq; checked++) {
			const struct th_msg *m =
				&c->ring[(c->head + (checked - first)) % TH_MQTT_MAX_MESSAGES];
			bool hit = filter ? topic_matches(topic, m->topic)
					  : strcmp(m->topic, topic) == 0;
			if (hit && fn(m, arg)) {
				found = strdup(m->payload);
				break;
			}
		}
		if (found)
			break;
		if (pthread_cond_timedwait(&c->cond, &c->lock, &ts) == ETIMEDOUT) {
			/* one last look at what arrived with the timeout */
			if (checked == c->next_seq)
				break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}

char *th_mqtt_wait(struct th_mqtt *c, const char *topic, const char *contains, int timeout_ms)
{
	return wait_match(c, topic, false, match_contains, contains, timeout_ms);
}

char *th_mqtt_wait_filter(struct th_mqtt *c, const char *filter, int timeout_ms)
{
	return wait_match(c, filter, true, match_contains, NULL, timeout_ms);
}

char *th_mqtt_wait_json(struct th_mqtt *c, const char *topic, const char *subset, int timeout_ms)
{
	cJSON *want = cJSON_Parse(subset);
	if (!cJSON_IsObject(want)) {
		fprintf(stderr, "harness: th_mqtt_wait_json: subset is not a JSON object: %s\n",
			subset);
		cJSON_Delete(want);
		return NULL;
	}
	char *r = wait_match(c, topic, false, match_json, want, timeout_ms);
	cJSON_Delete(want);
	return r;
}

/* The newest kept message on topic; call with the lock held. */
static const struct th_msg *latest(struct th_mqtt *c, const char *topic)
{
	for (size_t i = c->count; i-- > 0;) {
		const struct th_msg *m = &c->ring[(c->head + i) % TH_MQTT_MAX_MESSAGES];
		if (strcmp(m->topic, topic) == 0)
			return m;
	}
	return NULL;
}

char *th_mqtt_last(struct th_mqtt *c, const char *topic)
{
	pthread_mutex_lock(&c->lock);
	const struct th_msg *m = latest(c, topic);
	char *r = m ? strdup(m->payload) : NULL;
	pthread_mutex_unlock(&c->lock);
	return r;
}

bool th_mqtt_last_retained(struct th_mqtt *c, const char *topic)
{
	pthread_mutex_lock(&c->lock);
	const struct th_msg *m = latest(c, topic);
	bool r = m && m->retained;
	pthread_mutex_unlock(&c->lock);
	return r;
}

size_t th_mqtt_count(struct th_mqtt *c, const char *topic)
{
	size_t n = 0;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->count; i++)
		if (strcmp(c->ring[(c->head + i) % TH_MQTT_MAX_MESSAGES].topic, topic) == 0)
			n++;
	pthread_mutex_unlock(&c->lock);
	return n;
}

char *th_mqtt_topics(struct th_mqtt *c)
{
	pthread_mutex_lock(&c->lock);
	size_t len = 1;
	for (size_t i = 0; i < c->count; i++)
		len += strlen(c->ring[(c->head + i) % TH_MQTT_MAX_MESSAGES].topic) + 1;
	char *out = malloc(len), *o = out;
	if (!out)
		fatal("out of memory");
	for (size_t i = 0; i < c->count; i++)
		o += sprintf(o, "%s\n", c->ring[(c->head + i) % TH_MQTT_MAX_MESSAGES].topic);
	*o = '\0';
	pthread_mutex_unlock(&c->lock);
	return out;
}

void th_mqtt_clear(struct th_mqtt *c)
{
	pthread_mutex_lock(&c->lock);
	while (c->count)
		ring_drop_oldest(c);
	pthread_mutex_unlock(&c->lock);
}

void th_mqtt_close(struct th_mqtt *c)
{
	if (!c)
		return;
	MQTTAsync_disconnectOptions dopts = MQTTAsync_disconnectOptions_initializer5;
	dopts.timeout = 1000;
	if (MQTTAsync_isConnected(c->client))
		MQTTAsync_disconnect(c->client, &dopts);
	/* Give the DISCONNECT a moment to leave, bounded. */
	for (int i = 0; i < 50 && MQTTAsync_isConnected(c->client); i++)
		sleep_ms(10);
	mqtt_free(c);
}
