/* SPDX-License-Identifier: MIT */
/*
 * The exec driver: a switch or a sensor driven by command-line tools.
 * `on` and `off` run for the switch's commands, `state` says whether it is
 * on, `read` prints a number or a JSON object for a sensor. Each is an
 * argument list from the configuration, started with posix_spawnp: never
 * through a shell, and nothing of an MQTT payload ever becomes an argument
 * (a command only chooses between `on` and `off`).
 *
 * It owns, per device, its running children ("runs"): each has a pipe for
 * stdout and one for stderr (non-blocking, watched on the loop, captured up
 * to a bound), a child watcher the daemon reaps with, and a timeout that
 * sends SIGTERM to the child's process group and SIGKILL a second later.
 * A run ends when its child has exited; the daemon's child watcher reaps it,
 * so no zombie is left, even after a timeout or a disconnect.
 */
/* pipe2, posix_spawn_file_actions_addchdir_np and _addclosefrom_np. */
#define _GNU_SOURCE
#include "exec_group.h"
#include "exec_parse.h"
#include "util/duration.h"

#include <smarthub/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* What we keep of a child's stdout; `read` output beyond it is an error. */
#define EXEC_STDOUT_MAX (64 * 1024)
/* What we keep of its stderr: enough for the first line in an error. */
#define EXEC_STDERR_MAX 4096
/* Children of one device alive at once, dying ones included. */
#define EXEC_RUNS_MAX 8
/* Between SIGTERM and SIGKILL for a child that overran its timeout. */
#define EXEC_KILL_GRACE_MS 1000
/* Distinct state keys one device's tools may report; later new ones are
 * refused. Each key is a member of the retained state and, with discovery,
 * a retained Home Assistant entity: without a bound a tool printing a new
 * key each time would grow both forever. */
#define EXEC_STATE_KEYS_MAX 32
/* Extra environment variables from the `env` option. */
#define EXEC_ENV_MAX 64
/* Reads of a pipe per wake-up: more than a pipe's default 64 KiB buffer,
 * so the reads after a child's exit get everything it wrote. */
#define EXEC_READS_PER_EVENT 32
/* Room for one error message. */
#define EXEC_MSG_MAX 256

enum run_purpose {
	RUN_COMMAND, /* on or off */
	RUN_STATE,
	RUN_READ,
};

static const char *const purpose_names[] = {"command", "state", "read"};

struct exec_dev;

struct exec_run {
	struct exec_dev *ed;
	struct exec_run *next;
	enum run_purpose purpose;
	bool probe;                /* part of connect(): its failure fails the connect */
	bool delivered;            /* its result was reported (or it was abandoned) */
	bool detached;             /* disconnect abandoned it; only the reaping is left */
	bool exited;               /* reaped: its pid may belong to someone else now */
	uint64_t command_id;       /* RUN_COMMAND */
	const char *command_state; /* RUN_COMMAND: "ON" or "OFF" */
	unsigned command_seq;      /* RUN_STATE: ed->command_seq when started */
	pid_t pid;
	int out_fd, err_fd;
	struct sh_io *out_io, *err_io;
	struct sh_timer *timeout, *kill_timer;
	char *out;
	size_t out_len;
	bool out_overflow;
	char err[EXEC_STDERR_MAX];
	size_t err_len;
};

struct exec_dev {
	struct sh_device *dev;
	const struct sh_host *host;

	/* Options, owned by the daemon until destroy (except env). */
	const char *const *argv_on, *const *argv_off, *const *argv_state, *const *argv_read;
	uint64_t interval_ms, timeout_ms;
	const char *cwd, *key;
	char *env[EXEC_ENV_MAX]; /* "NAME=value", ours */
	size_t n_env;
	char *keys[EXEC_STATE_KEYS_MAX]; /* state keys reported so far, ours */
	size_t n_keys;

	bool connecting;
	unsigned probes; /* connect() runs still to finish */
	bool state_busy, read_busy, command_busy;
	/* Bumped when a command starts: a `state` run started before it
	 * reports a state the command is about to change, and is dropped. */
	unsigned command_seq;
	struct sh_timer *poll;
	struct exec_run *runs;
	size_t n_runs;
};

static void msgf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void msgf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* --- runs ------------------------------------------------------------------- */

static void close_pipe(struct exec_run *run, int *fd, struct sh_io **io)
{
	run->ed->host->io_stop(*io);
	*io = NULL;
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Reads what the pipe holds now, keeping up to the bound and discarding
 * the rest (the child must never block on a full pipe). Closes at EOF.
 * At most EXEC_READS_PER_EVENT reads, so a child that writes without end
 * cannot hold the loop; the watcher calls again for the rest. */
static void drain(struct exec_run *run, bool is_out)
{
	int *fd = is_out ? &run->out_fd : &run->err_fd;
	struct sh_io **io = is_out ? &run->out_io : &run->err_io;
	char scratch[4096];

	for (int i = 0; i < EXEC_READS_PER_EVENT && *fd >= 0; i++) {
		char *dst = scratch;
		size_t room = sizeof(scratch);
		if (is_out && run->out_len < EXEC_STDOUT_MAX) {
			dst = run->out + run->out_len;
			room = EXEC_STDOUT_MAX - run->out_len;
		} else if (!is_out && run->err_len < sizeof(run->err) - 1) {
			dst = run->err + run->err_len;
			room = sizeof(run->err) - 1 - run->err_len;
		}
		ssize_t n = read(*fd, dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			close_pipe(run, fd, io);
			return;
		}
		if (dst == scratch) {
			if (is_out)
				run->out_overflow = true;
		} else if (is_out) {
			run->out_len += (size_t)n;
		} else {
			run->err_len += (size_t)n;
		}
	}
}

static void on_output(struct sh_device *dev, int fd, int revents, void *data)
{
	struct exec_run *run = data;
	drain(run, fd == run->out_fd);
}

/* Stops everything of a run but its child watcher. */
static void run_release(struct exec_run *run)
{
	const struct sh_host *host = run->ed->host;
	close_pipe(run, &run->out_fd, &run->out_io);
	close_pipe(run, &run->err_fd, &run->err_io);
	host->timer_stop(run->timeout);
	host->timer_stop(run->kill_timer);
	run->timeout = run->kill_timer = NULL;
}

/* Frees a run that is on no list. */
static void run_destroy(struct exec_run *run)
{
	run_release(run);
	free(run->out);
	free(run);
}

static void run_free(struct exec_run *run)
{
	struct exec_dev *ed = run->ed;
	for (struct exec_run **p = &ed->runs; *p; p = &(*p)->next) {
		if (*p == run) {
			*p = run->next;
			ed->n_runs--;
			break;
		}
	}
	run_destroy(run);
}

/* The first line of stderr, for error messages. */
static void first_err_line(struct exec_run *run, char *buf, size_t len)
{
	run->err[run->err_len] = '\0';
	const char *s = run->err;
	while (*s == '\n' || *s == '\r')
		s++;
	size_t n = strcspn(s, "\r\n");
	snprintf(buf, len, "%.*s", (int)(n > 200 ? 200 : n), s);
}

static void deliver(struct exec_run *run, int err, const char *reason);

/* Signals a run's process group, and only while it is the run's. */
static void signal_group(const struct exec_run *run, int sig)
{
	exec_group_signal(run->pid, run->exited, sig);
}

static void on_kill_timer(struct sh_device *dev, void *data)
{
	struct exec_run *run = data;
	/* The child overran its grace period; its whole group goes. */
	signal_group(run, SIGKILL);
}

static void on_timeout(struct sh_device *dev, void *data)
{
	struct exec_run *run = data;
	struct exec_dev *ed = run->ed;
	char d[SH_DURATION_BUF], reason[64];

	/* The group, so a script's own children (a `sleep`) go too. */
	signal_group(run, SIGTERM);
	run->kill_timer = ed->host->timer_start(dev, EXEC_KILL_GRACE_MS, 0, on_kill_timer, run);
	sh_duration_format(ed->timeout_ms, d, sizeof(d));
	snprintf(reason, sizeof(reason), "timed out after %s", d);
	deliver(run, -ETIMEDOUT, reason);
}

static void on_exit_status(struct sh_device *dev, pid_t pid, int status, void *data)
{
	struct exec_run *run = data;
	char line[256], reason[EXEC_MSG_MAX];

	run->exited = true;
	if (run->detached) {
		run_free(run);
		return;
	}
	/* Whatever the child wrote is in the pipes now; grandchildren that
	 * keep them open are not waited for. */
	drain(run, true);
	drain(run, false);
	if (run->delivered) {
		/* A timeout: stragglers of its group get no grace. */
		signal_group(run, SIGKILL);
		run_free(run);
		return;
	}
	first_err_line(run, line, sizeof(line));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		deliver(run, 0, NULL);
	} else {
		if (WIFEXITED(status))
			msgf(reason, sizeof(reason), "exit status %d", WEXITSTATUS(status));
		else
			msgf(reason, sizeof(reason), "killed by signal %d", WTERMSIG(status));
		if (line[0]) {
			size_t n = strlen(reason);
			msgf(reason + n, sizeof(reason) - n, ": %s", line);
		}
		deliver(run, -EIO, reason);
	}
	/* deliver() may have led to a disconnect, which detached the run. */
	if (run->detached)
		run_release(run);
	run_free(run);
}

/* What a child inherits of the daemon's environment. Nothing else: the
 * daemon's holds NOTIFY_SOCKET and WATCHDOG_* (a child could speak for the
 * service) and whatever a deployment passes for ${VAR} substitution. */
static const char *const inherited_env[] = {"PATH", "LANG", "HOME"};
#define EXEC_DEFAULT_PATH "PATH=/usr/local/bin:/usr/bin:/bin"

static bool env_overridden(const struct exec_dev *ed, const char *name)
{
	size_t len = strlen(name);
	for (size_t j = 0; j < ed->n_env; j++)
		if (strncmp(ed->env[j], name, len) == 0 && ed->env[j][len] == '=')
			return true;
	return false;
}

/* The environment of a child: PATH, LANG and HOME of the daemon's (PATH
 * has a default), then `env`, which may replace them. The array is ours to
 * free; the strings are borrowed. */
static char **child_env(struct exec_dev *ed)
{
	size_t n_inherited = sizeof(inherited_env) / sizeof(inherited_env[0]);
	char **envp = calloc(n_inherited + ed->n_env + 1, sizeof(*envp));
	if (!envp)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n_inherited; i++) {
		const char *name = inherited_env[i];
		size_t len = strlen(name);
		if (env_overridden(ed, name))
			continue;
		char *found = NULL;
		for (size_t e = 0; environ && environ[e] && !found; e++)
			if (strncmp(environ[e], name, len) == 0 && environ[e][len] == '=')
				found = environ[e];
		if (!found && strcmp(name, "PATH") == 0)
			found = (char *)EXEC_DEFAULT_PATH;
		if (found)
			envp[k++] = found;
	}
	for (size_t j = 0; j < ed->n_env; j++)
		envp[k++] = ed->env[j];
	return envp;
}

/* Starts argv as a child with stdin /dev/null and piped stdout/stderr, in
 * its own process group, with default signal handling. Returns the run
 * (owned by ed->runs), or NULL with *err a negative errno and `reason` set. */
static struct exec_run *spawn(struct exec_dev *ed, const char *const *argv,
			      enum run_purpose purpose, int *err, char *reason, size_t reason_len)
{
	int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char **envp = NULL;
	int r;

	if (ed->n_runs >= EXEC_RUNS_MAX) {
		msgf(reason, reason_len, "%zu children still running", ed->n_runs);
		*err = -EBUSY;
		return NULL;
	}
	struct exec_run *run = calloc(1, sizeof(*run));
	if (!run || !(run->out = malloc(EXEC_STDOUT_MAX + 1)))
		goto fail_alloc;
	run->ed = ed;
	run->purpose = purpose;
	run->out_fd = run->err_fd = -1;

	if (pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0) {
		r = -errno;
		msgf(reason, reason_len, "pipe: %s", strerror(errno));
		goto fail_pipes;
	}
	/* Only our ends are non-blocking: the child writes normally. */
	fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
	fcntl(err_pipe[0], F_SETFL, O_NONBLOCK);

	if (!(envp = child_env(ed)))
		goto fail_alloc_pipes;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
	if (ed->cwd)
		posix_spawn_file_actions_addchdir_np(&fa, ed->cwd);
	/* No descriptor of the daemon's (sockets, the broker's) leaks. */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);

	/* The daemon blocks and handles signals; the child starts clean, in
	 * its own group so a timeout can kill what it started too. */
	sigset_t none, dflt;
	sigemptyset(&none);
	sigemptyset(&dflt);
	const int reset[] = {SIGPIPE, SIGINT,  SIGTERM, SIGHUP, SIGQUIT,
			     SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM};
	for (size_t i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
		sigaddset(&dflt, reset[i]);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dflt);

	r = posix_spawnp(&run->pid, argv[0], &fa, &attr, (char *const *)argv, envp);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	free(envp);
	close(out_pipe[1]);
	close(err_pipe[1]);
	out_pipe[1] = err_pipe[1] = -1;
	if (r != 0) {
		msgf(reason, reason_len, "cannot run %s%s%s: %s", argv[0], ed->cwd ? " in " : "",
		     ed->cwd ? ed->cwd : "", strerror(r));
		r = -r;
		goto fail_pipes;
	}

	run->out_fd = out_pipe[0];
	run->err_fd = err_pipe[0];
	run->out_io = ed->host->io_start(ed->dev, run->out_fd, SH_IO_READ, on_output, run);
	run->err_io = ed->host->io_start(ed->dev, run->err_fd, SH_IO_READ, on_output, run);
	run->timeout = ed->host->timer_start(ed->dev, ed->timeout_ms, 0, on_timeout, run);
	run->next = ed->runs;
	ed->runs = run;
	ed->n_runs++;
	r = ed->host->child_watch(ed->dev, run->pid, on_exit_status, run);
	if (r < 0) {
		/* Cannot happen on the default loop; never leave the child. */
		kill(-run->pid, SIGKILL);
		waitpid(run->pid, NULL, 0);
		run_free(run);
		msgf(reason, reason_len, "cannot watch child: %s", strerror(-r));
		*err = r;
		return NULL;
	}
	return run;

fail_alloc_pipes:
	r = -ENOMEM;
	msgf(reason, reason_len, "out of memory");
fail_pipes:
	for (int i = 0; i < 2; i++) {
		if (out_pipe[i] >= 0)
			close(out_pipe[i]);
		if (err_pipe[i] >= 0)
			close(err_pipe[i]);
	}
	free(run->out);
	free(run);
	*err = r;
	return NULL;
fail_alloc:
	if (run)
		free(run);
	msgf(reason, reason_len, "out of memory");
	*err = -ENOMEM;
	return NULL;
}

/* --- results ---------------------------------------------------------------- */

/* A poll's failure goes to the host's complaint slot: logged the first
 * time, then at most once a minute, and once more when polls work again. */
#define COMPLAIN_POLL 0
#define COMPLAIN_KEYS 1

/* Drops the members of a tool's output that may not become state: keys
 * outside [A-Za-z0-9_]{1,64}, and new keys past EXEC_STATE_KEYS_MAX. Says
 * so through the complaint slot (the log, rate-limited). */
static void filter_keys(struct exec_dev *ed, cJSON *patch)
{
	size_t odd = 0, over = 0;
	char first[EXEC_KEY_MAX + 1] = "";
	cJSON *item = patch ? patch->child : NULL;
	while (item) {
		cJSON *next = item->next;
		bool keep = exec_parse_key_ok(item->string);
		if (!keep) {
			if (!odd++)
				snprintf(first, sizeof(first), "%s",
					 item->string ? item->string : "");
		} else {
			size_t i = 0;
			while (i < ed->n_keys && strcmp(ed->keys[i], item->string) != 0)
				i++;
			if (i == ed->n_keys) {
				if (ed->n_keys < EXEC_STATE_KEYS_MAX &&
				    (ed->keys[ed->n_keys] = strdup(item->string))) {
					ed->n_keys++;
				} else {
					keep = false;
					over++;
				}
			}
		}
		if (!keep)
			cJSON_Delete(cJSON_DetachItemViaPointer(patch, item));
		item = next;
	}
	/* One complaint for both, so the rate limit of the slot never hides
	 * one behind the other. */
	if (odd || over)
		ed->host->complain(
			ed->dev, COMPLAIN_KEYS, SH_LOG_WARNING,
			"output left out: %zu key(s) not [A-Za-z0-9_]{1,%d} (first '%s'), "
			"%zu new key(s) beyond the %d a device may report",
			odd, EXEC_KEY_MAX, first, over, EXEC_STATE_KEYS_MAX);
}

static void poll_failed(struct exec_dev *ed, const char *msg)
{
	ed->host->complain(ed->dev, COMPLAIN_POLL, SH_LOG_WARNING, "%s", msg);
}

static void start_poll_timer(struct exec_dev *ed);

/* A run's outcome: err 0 (exit status 0) or the reason it failed. */
static void deliver(struct exec_run *run, int err, const char *reason)
{
	struct exec_dev *ed = run->ed;
	char msg[EXEC_MSG_MAX];
	cJSON *patch = NULL;

	run->delivered = true;
	if (run->purpose == RUN_COMMAND) {
		ed->command_busy = false;
		if (err == 0) {
			patch = cJSON_CreateObject();
			if (patch && cJSON_AddStringToObject(patch, "state", run->command_state))
				ed->host->state_update(ed->dev, patch);
			cJSON_Delete(patch);
		}
		ed->host->command_done(ed->dev, run->command_id, err, reason);
		return;
	}

	if (run->purpose == RUN_STATE)
		ed->state_busy = false;
	else
		ed->read_busy = false;
	if (err == 0 && run->out_overflow) {
		err = -EMSGSIZE;
		reason = "output longer than 64 KiB";
	}
	if (err == 0) {
		run->out[run->out_len] = '\0';
		err = run->purpose == RUN_STATE
			      ? exec_parse_state(run->out, run->out_len, &patch)
			      : exec_parse_read(run->out, run->out_len, ed->key, &patch);
		if (err < 0) {
			size_t n = strcspn(run->out, "\r\n");
			msgf(msg, sizeof(msg), "output is not %s: '%.*s'",
			     run->purpose == RUN_STATE ? "ON, OFF or a JSON object"
						       : "a number or a JSON object",
			     (int)(n > 60 ? 60 : n), run->out);
			reason = msg;
		}
	}
	char full[EXEC_MSG_MAX + 16];
	if (err < 0)
		msgf(full, sizeof(full), "%s: %s", purpose_names[run->purpose], reason);

	if (run->probe) {
		if (err < 0) {
			ed->connecting = false;
			/* The daemon disconnects (killing the other probe) and
			 * retries with backoff. */
			ed->host->failed(ed->dev, full);
			return;
		}
		filter_keys(ed, patch);
		ed->host->state_update(ed->dev, patch);
		cJSON_Delete(patch);
		if (--ed->probes == 0) {
			ed->connecting = false;
			start_poll_timer(ed);
			ed->host->connected(ed->dev);
		}
		return;
	}

	if (err < 0) {
		poll_failed(ed, full);
		return;
	}
	if (run->purpose == RUN_STATE &&
	    (run->command_seq != ed->command_seq || ed->command_busy)) {
		/* A command ran meanwhile; this state may predate it. */
		cJSON_Delete(patch);
		return;
	}
	ed->host->complain_clear(ed->dev, COMPLAIN_POLL, "%s works again",
				 purpose_names[run->purpose]);
	filter_keys(ed, patch);
	ed->host->state_update(ed->dev, patch);
	cJSON_Delete(patch);
}

/* --- driver callbacks --------------------------------------------------------- */

/* Runs `state` and `read` (those configured and not already running). */
static void poll_now(struct exec_dev *ed, bool probe)
{
	char reason[EXEC_MSG_MAX];
	struct exec_run *run;
	int err;

	if (ed->argv_state && !ed->state_busy) {
		run = spawn(ed, ed->argv_state, RUN_STATE, &err, reason, sizeof(reason));
		if (run) {
			ed->state_busy = true;
			run->probe = probe;
			run->command_seq = ed->command_seq;
			ed->probes += probe;
		} else if (probe) {
			ed->host->failed(ed->dev, reason);
			return;
		} else {
			poll_failed(ed, reason);
		}
	}
	if (ed->argv_read && !ed->read_busy) {
		run = spawn(ed, ed->argv_read, RUN_READ, &err, reason, sizeof(reason));
		if (run) {
			ed->read_busy = true;
			run->probe = probe;
			ed->probes += probe;
		} else if (probe) {
			ed->host->failed(ed->dev, reason);
		} else {
			poll_failed(ed, reason);
		}
	}
}

static void on_poll(struct sh_device *dev, void *data)
{
	poll_now(data, false);
}

static void start_poll_timer(struct exec_dev *ed)
{
	if (ed->interval_ms && (ed->argv_state || ed->argv_read) && !ed->poll)
		ed->poll = ed->host->timer_start(ed->dev, ed->interval_ms, ed->interval_ms, on_poll,
						 ed);
}

static int exec_connect(void *priv)
{
	struct exec_dev *ed = priv;
	ed->probes = 0;
	ed->connecting = true;
	poll_now(ed, true);
	if (ed->connecting && ed->probes == 0) {
		/* Nothing to ask: the tools are assumed to work. */
		ed->connecting = false;
		start_poll_timer(ed);
		ed->host->connected(ed->dev);
	}
	return 0;
}

static int exec_command(void *priv, uint64_t id, const cJSON *command)
{
	struct exec_dev *ed = priv;
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(command, "state");
	char reason[EXEC_MSG_MAX];
	struct exec_run *run;
	int err;

	if (!cJSON_IsString(st)) {
		ed->host->command_done(ed->dev, id, 0, NULL); /* nothing to change */
		return 0;
	}
	bool on = strcmp(st->valuestring, "ON") == 0;
	/* The payload only chooses which configured argv runs. */
	run = spawn(ed, on ? ed->argv_on : ed->argv_off, RUN_COMMAND, &err, reason, sizeof(reason));
	if (!run) {
		ed->host->command_done(ed->dev, id, err, reason);
		return 0;
	}
	run->command_id = id;
	run->command_state = on ? "ON" : "OFF";
	ed->command_busy = true;
	ed->command_seq++;
	return 0;
}

static int exec_refresh(void *priv)
{
	poll_now(priv, false);
	return 0;
}

static void exec_disconnect(void *priv)
{
	struct exec_dev *ed = priv;
	if (!ed)
		return;
	ed->host->timer_stop(ed->poll);
	ed->poll = NULL;
	for (struct exec_run *run = ed->runs; run; run = run->next) {
		if (run->detached)
			continue;
		/* No grace: after disconnect we may hold no timer. The child
		 * watcher stays and frees the run once the daemon reaps it. */
		signal_group(run, SIGKILL);
		run_release(run);
		run->detached = true;
	}
	ed->connecting = false;
	ed->probes = 0;
	ed->state_busy = ed->read_busy = ed->command_busy = false;
}

static void exec_destroy(void *priv)
{
	struct exec_dev *ed = priv;
	if (!ed)
		return;
	exec_disconnect(ed);
	/* The daemon drops our child watchers after destroy (libev still
	 * reaps the children), so the runs are freed here. */
	while (ed->runs) {
		struct exec_run *run = ed->runs;
		ed->runs = run->next; /* pop the head */
		ed->n_runs--;
		run_destroy(run);
	}
	for (size_t i = 0; i < ed->n_env; i++)
		free(ed->env[i]);
	for (size_t i = 0; i < ed->n_keys; i++)
		free(ed->keys[i]);
	free(ed);
}

/* env: a map of NAME: value. */
static int read_env(struct exec_dev *ed)
{
	const struct sh_host *host = ed->host;
	const struct sh_node *env = host->opt_node(ed->dev, "env");
	if (!env)
		return 0;
	if (env->type != SH_NODE_MAP) {
		host->config_error(ed->dev, env, "env must be a map of NAME: value");
		return -EINVAL;
	}
	if (env->n_items > EXEC_ENV_MAX) {
		host->config_error(ed->dev, env, "env has more than %d variables", EXEC_ENV_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < env->n_items; i++) {
		const struct sh_node *n = env->items[i];
		if (n->type != SH_NODE_SCALAR || !n->key || !n->key[0] || strchr(n->key, '=')) {
			host->config_error(ed->dev, n,
					   "env: each variable needs a name without '=' and a "
					   "single value");
			return -EINVAL;
		}
		size_t len = strlen(n->key) + strlen(n->value) + 2;
		if (!(ed->env[ed->n_env] = malloc(len)))
			return -ENOMEM;
		snprintf(ed->env[ed->n_env++], len, "%s=%s", n->key, n->value);
	}
	return 0;
}

static int exec_create(struct sh_device *dev, const struct sh_host *host, void **priv)
{
	struct exec_dev *ed = calloc(1, sizeof(*ed));
	if (!ed)
		return -ENOMEM;
	ed->dev = dev;
	ed->host = host;
	bool is_switch = strcmp(host->device_kind(dev), "switch") == 0;
	/* Every option is read before giving up (the user sees all errors in
	 * one run); opt_status then has the first. A sensor has no on, off or
	 * state: left unread, the daemon reports them as unknown options. */
	if (is_switch) {
		host->opt_argv(dev, "on", &ed->argv_on);
		host->opt_argv(dev, "off", &ed->argv_off);
		host->opt_argv(dev, "state", &ed->argv_state);
	}
	host->opt_argv(dev, "read", &ed->argv_read);
	host->opt_duration_ms(dev, "interval", 0, &ed->interval_ms);
	host->opt_duration_ms(dev, "timeout", 10000, &ed->timeout_ms);
	host->opt_string(dev, "cwd", NULL, &ed->cwd);
	/* A plain number is named after the device's device_class (a key
	 * every device has; discovery reads it and `unit` itself). */
	const struct sh_node *cls = host->device_option(dev, "device_class");
	host->opt_string(dev, "key", cls && cls->value ? cls->value : "value", &ed->key);
	int bad = read_env(ed);
	if (bad == 0)
		bad = host->opt_status(dev);

	if (!bad && is_switch && (!ed->argv_on || !ed->argv_off)) {
		host->config_error(dev, NULL, "an exec switch needs both on and off");
		bad = -EINVAL;
	}
	if (!bad && !is_switch && !ed->argv_read) {
		host->config_error(dev, NULL, "an exec sensor needs read");
		bad = -EINVAL;
	}
	if (!bad && ed->timeout_ms == 0) {
		host->config_error(dev, host->opt_node(dev, "timeout"),
				   "timeout must be longer than 0");
		bad = -EINVAL;
	}
	if (!bad && !ed->key[0]) {
		host->config_error(dev, host->opt_node(dev, "key"), "key must not be empty");
		bad = -EINVAL;
	}
	if (bad < 0) {
		exec_destroy(ed);
		return bad;
	}
	if (!is_switch) {
		/* Discovery announces the reading before its first value. */
		cJSON *meta = cJSON_CreateObject();
		cJSON_AddObjectToObject(cJSON_AddObjectToObject(meta, "readings"), ed->key);
		host->set_metadata(dev, meta);
		cJSON_Delete(meta);
	}
	*priv = ed;
	return 0;
}

static const char *const exec_kinds[] = {"switch", "sensor", NULL};

SH_DRIVER_EXPORT const struct sh_driver sh_driver_descriptor = {
	.abi_version = SH_PLUGIN_ABI_VERSION,
	.name = "exec",
	.kinds = exec_kinds,
	.create = exec_create,
	.connect = exec_connect,
	.command = exec_command,
	.refresh = exec_refresh,
	.disconnect = exec_disconnect,
	.destroy = exec_destroy,
};
