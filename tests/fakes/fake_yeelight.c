/* SPDX-License-Identifier: MIT */
/*
 * The fake Yeelight bulb (see fake_yeelight.h): one thread polling a
 * listening socket, at most FAKE_BULB_CONNECTIONS_MAX clients and a wake-up
 * pipe. The state and the test's requests sit behind one mutex; requests
 * that touch sockets (drop, push) are carried out by the thread, and the
 * caller waits until they are done so a test sees their effect at once.
 * Included by the test that uses it (tests build one binary per file).
 */
#define _GNU_SOURCE /* accept4, pipe2 */
#include "fake_yeelight.h"
#include "harness.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A request line longer than this drops the client, as a bulb would. */
#define FAKE_BULB_LINE_MAX 4096

struct fake_client {
	int fd;
	char in[FAKE_BULB_LINE_MAX];
	size_t len;
};

struct fake_bulb {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed; /* after each pass of the thread */
	int listen_fd;
	int wake[2];
	int port;

	/* under lock */
	struct fake_bulb_state st;
	bool refuse, quota, stop, drop_pending;
	char push_pending[512];
	bool push_quiet;
	char raw_pending[512];
	struct fake_client clients[FAKE_BULB_CONNECTIONS_MAX];
};

static void client_send(int fd, const char *text)
{
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t n = send(fd, text + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			return; /* the client is gone; its read will say so */
		off += (size_t)n;
	}
}

static void send_json(int fd, cJSON *msg)
{
	char *text = cJSON_PrintUnformatted(msg);
	if (!text)
		return;
	size_t n = strlen(text);
	char *line = malloc(n + 3);
	if (line) {
		memcpy(line, text, n);
		memcpy(line + n, "\r\n", 3);
		client_send(fd, line);
		free(line);
	}
	free(text);
}

static void notify_all(struct fake_bulb *b, cJSON *params)
{
	cJSON *msg = cJSON_CreateObject();
	cJSON_AddStringToObject(msg, "method", "props");
	cJSON_AddItemToObject(msg, "params", params);
	for (int i = 0; i < FAKE_BULB_CONNECTIONS_MAX; i++)
		if (b->clients[i].fd >= 0)
			send_json(b->clients[i].fd, msg);
	cJSON_Delete(msg);
}

static void close_client(struct fake_bulb *b, struct fake_client *c)
{
	close(c->fd);
	c->fd = -1;
	c->len = 0;
	b->st.connections--;
}

static void send_error(int fd, double id, const char *message)
{
	cJSON *msg = cJSON_CreateObject();
	cJSON_AddNumberToObject(msg, "id", id);
	cJSON *err = cJSON_AddObjectToObject(msg, "error");
	cJSON_AddNumberToObject(err, "code", -1);
	cJSON_AddStringToObject(err, "message", message);
	send_json(fd, msg);
	cJSON_Delete(msg);
}

static bool param_int(const cJSON *params, int i, long min, long max, long *out)
{
	const cJSON *v = cJSON_GetArrayItem(params, i);
	if (!cJSON_IsNumber(v) || v->valuedouble < min || v->valuedouble > max)
		return false;
	*out = (long)v->valuedouble;
	return true;
}

/* The effect and duration every set_* takes: "sudden", or "smooth" with at
 * least 30 ms. */
static bool effect_ok(const cJSON *params, int i)
{
	const cJSON *e = cJSON_GetArrayItem(params, i);
	long ms;
	if (!cJSON_IsString(e))
		return false;
	if (strcmp(e->valuestring, "sudden") == 0)
		return true;
	return strcmp(e->valuestring, "smooth") == 0 && param_int(params, i + 1, 30, 1L << 30, &ms);
}

/* Answers one request line; called with the lock held. */
static void handle_line(struct fake_bulb *b, struct fake_client *c, const char *line, size_t len)
{
	cJSON *req = cJSON_ParseWithLength(line, len);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(req, "id");
	const cJSON *method = cJSON_GetObjectItemCaseSensitive(req, "method");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(req, "params");
	cJSON *changed = cJSON_CreateObject();
	long v;

	if (!cJSON_IsNumber(id) || !cJSON_IsString(method) || !cJSON_IsArray(params)) {
		send_error(c->fd, cJSON_IsNumber(id) ? id->valuedouble : 0, "invalid command");
		goto out;
	}
	b->st.requests++;
	const char *m = method->valuestring;
	bool is_set = strncmp(m, "set_", 4) == 0;
	if (is_set && b->quota) {
		send_error(c->fd, id->valuedouble, "client quota exceeded");
		goto out;
	}
	if (strcmp(m, "get_prop") == 0) {
		cJSON *res = cJSON_CreateArray();
		const cJSON *p;
		char text[32];
		cJSON_ArrayForEach(p, params)
		{
			const char *name = cJSON_IsString(p) ? p->valuestring : "";
			text[0] = '\0';
			if (!strcmp(name, "power"))
				snprintf(text, sizeof(text), "%s", b->st.power ? "on" : "off");
			else if (!strcmp(name, "bright"))
				snprintf(text, sizeof(text), "%d", b->st.bright);
			else if (!strcmp(name, "ct"))
				snprintf(text, sizeof(text), "%d", b->st.ct);
			else if (!strcmp(name, "rgb"))
				snprintf(text, sizeof(text), "%ld", b->st.rgb);
			else if (!strcmp(name, "color_mode"))
				snprintf(text, sizeof(text), "%d", b->st.color_mode);
			cJSON_AddItemToArray(res, cJSON_CreateString(text));
		}
		cJSON *msg = cJSON_CreateObject();
		cJSON_AddNumberToObject(msg, "id", id->valuedouble);
		cJSON_AddItemToObject(msg, "result", res);
		send_json(c->fd, msg);
		cJSON_Delete(msg);
		goto out;
	}
	if (strcmp(m, "set_power") == 0) {
		const cJSON *p0 = cJSON_GetArrayItem(params, 0);
		if (!cJSON_IsString(p0) ||
		    (strcmp(p0->valuestring, "on") && strcmp(p0->valuestring, "off")) ||
		    !effect_ok(params, 1)) {
			send_error(c->fd, id->valuedouble, "invalid params");
			goto out;
		}
		char *text = cJSON_PrintUnformatted(params);
		snprintf(b->st.last_power_params, sizeof(b->st.last_power_params), "%s", text);
		free(text);
		b->st.power = strcmp(p0->valuestring, "on") == 0;
		cJSON_AddStringToObject(changed, "power", b->st.power ? "on" : "off");
	} else if (is_set && !b->st.power) {
		/* The bulb takes no set_* but set_power while off. */
		send_error(c->fd, id->valuedouble, "method not supported while off");
		goto out;
	} else if (strcmp(m, "set_bright") == 0) {
		if (!param_int(params, 0, 1, 100, &v) || !effect_ok(params, 1)) {
			send_error(c->fd, id->valuedouble, "invalid params");
			goto out;
		}
		b->st.bright = (int)v;
		char text[16];
		snprintf(text, sizeof(text), "%ld", v);
		cJSON_AddStringToObject(changed, "bright", text);
	} else if (strcmp(m, "set_ct_abx") == 0) {
		if (!param_int(params, 0, 1700, 6500, &v) || !effect_ok(params, 1)) {
			send_error(c->fd, id->valuedouble, "invalid params");
			goto out;
		}
		b->st.ct = (int)v;
		b->st.color_mode = 2;
		cJSON_AddNumberToObject(changed, "ct", (double)v);
		cJSON_AddNumberToObject(changed, "color_mode", 2);
	} else if (strcmp(m, "set_rgb") == 0) {
		if (!param_int(params, 0, 0, 0xffffff, &v) || !effect_ok(params, 1)) {
			send_error(c->fd, id->valuedouble, "invalid params");
			goto out;
		}
		b->st.rgb = v;
		b->st.color_mode = 1;
		cJSON_AddNumberToObject(changed, "rgb", (double)v);
		cJSON_AddNumberToObject(changed, "color_mode", 1);
	} else {
		send_error(c->fd, id->valuedouble, "method not supported");
		goto out;
	}
	cJSON *ok = cJSON_CreateObject();
	cJSON_AddNumberToObject(ok, "id", id->valuedouble);
	cJSON *res = cJSON_AddArrayToObject(ok, "result");
	cJSON_AddItemToArray(res, cJSON_CreateString("ok"));
	send_json(c->fd, ok);
	cJSON_Delete(ok);
	/* The real bulb notifies every connection, the requester included. */
	notify_all(b, changed);
	changed = NULL;
out:
	cJSON_Delete(changed);
	cJSON_Delete(req);
}

static void client_read(struct fake_bulb *b, struct fake_client *c)
{
	ssize_t n = read(c->fd, c->in + c->len, sizeof(c->in) - c->len);
	if (n <= 0) {
		close_client(b, c);
		return;
	}
	c->len += (size_t)n;
	char *nl;
	while (c->fd >= 0 && (nl = memchr(c->in, '\n', c->len))) {
		size_t len = (size_t)(nl - c->in);
		handle_line(b, c, c->in, len > 0 && c->in[len - 1] == '\r' ? len - 1 : len);
		memmove(c->in, nl + 1, c->len - len - 1);
		c->len -= len + 1;
	}
	if (c->fd >= 0 && c->len == sizeof(c->in))
		close_client(b, c);
}

/* Applies a state change pushed by the test; lock held. */
static void apply_push(struct fake_bulb *b)
{
	cJSON *p = cJSON_Parse(b->push_pending);
	const cJSON *v;
	long x;

	b->push_pending[0] = '\0';
	if (!cJSON_IsObject(p)) {
		cJSON_Delete(p);
		return;
	}
	cJSON_ArrayForEach(v, p)
	{
		x = cJSON_IsString(v) ? strtol(v->valuestring, NULL, 10) : (long)v->valuedouble;
		if (!strcmp(v->string, "power"))
			b->st.power = cJSON_IsString(v) && !strcmp(v->valuestring, "on");
		else if (!strcmp(v->string, "bright"))
			b->st.bright = (int)x;
		else if (!strcmp(v->string, "ct"))
			b->st.ct = (int)x;
		else if (!strcmp(v->string, "rgb"))
			b->st.rgb = x;
		else if (!strcmp(v->string, "color_mode"))
			b->st.color_mode = (int)x;
	}
	if (b->push_quiet)
		cJSON_Delete(p);
	else
		notify_all(b, p);
}

static void *bulb_thread(void *arg)
{
	struct fake_bulb *b = arg;

	for (;;) {
		struct pollfd pfd[2 + FAKE_BULB_CONNECTIONS_MAX];
		int idx[FAKE_BULB_CONNECTIONS_MAX];
		nfds_t n = 0;

		pthread_mutex_lock(&b->lock);
		if (b->stop) {
			pthread_mutex_unlock(&b->lock);
			return NULL;
		}
		pfd[n++] = (struct pollfd){.fd = b->wake[0], .events = POLLIN};
		pfd[n++] = (struct pollfd){.fd = b->listen_fd, .events = POLLIN};
		for (int i = 0; i < FAKE_BULB_CONNECTIONS_MAX; i++) {
			if (b->clients[i].fd >= 0) {
				idx[n - 2] = i;
				pfd[n++] =
					(struct pollfd){.fd = b->clients[i].fd, .events = POLLIN};
			}
		}
		pthread_mutex_unlock(&b->lock);

		if (poll(pfd, n, -1) < 0 && errno != EINTR)
			return NULL;

		pthread_mutex_lock(&b->lock);
		if (pfd[0].revents) {
			char buf[64];
			while (read(b->wake[0], buf, sizeof(buf)) > 0)
				;
			if (b->drop_pending) {
				for (int i = 0; i < FAKE_BULB_CONNECTIONS_MAX; i++)
					if (b->clients[i].fd >= 0)
						close_client(b, &b->clients[i]);
				b->drop_pending = false;
			}
			if (b->push_pending[0])
				apply_push(b);
			if (b->raw_pending[0]) {
				for (int i = 0; i < FAKE_BULB_CONNECTIONS_MAX; i++)
					if (b->clients[i].fd >= 0)
						client_send(b->clients[i].fd, b->raw_pending);
				b->raw_pending[0] = '\0';
			}
		}
		if (pfd[1].revents & POLLIN) {
			int fd = accept4(b->listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0) {
				int slot = -1;
				for (int i = 0; i < FAKE_BULB_CONNECTIONS_MAX && !b->refuse; i++)
					if (b->clients[i].fd < 0 && slot < 0)
						slot = i;
				if (slot < 0) {
					close(fd); /* refusing, or a fifth connection */
					b->st.turned_away++;
				} else {
					b->clients[slot].fd = fd;
					b->clients[slot].len = 0;
					b->st.connections++;
					b->st.accepted++;
				}
			}
		}
		for (nfds_t k = 2; k < n; k++) {
			struct fake_client *c = &b->clients[idx[k - 2]];
			/* A client closed by the wake-up above is not read again. */
			if (pfd[k].revents && c->fd == pfd[k].fd)
				client_read(b, c);
		}
		pthread_cond_broadcast(&b->changed);
		pthread_mutex_unlock(&b->lock);
	}
}

struct fake_bulb *fake_bulb_start(void)
{
	struct fake_bulb *b = calloc(1, sizeof(*b));
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int one = 1;

	if (!b)
		return NULL;
	pthread_mutex_init(&b->lock, NULL);
	th_cond_init(&b->changed);
	for (int i = 0; i < FAKE_BULB_CONNECTIONS_MAX; i++)
		b->clients[i].fd = -1;
	b->st = (struct fake_bulb_state){
		.power = false, .bright = 100, .ct = 4000, .rgb = 0xffffff, .color_mode = 2};
	b->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (b->listen_fd < 0 || pipe2(b->wake, O_NONBLOCK | O_CLOEXEC) < 0)
		goto fail;
	setsockopt(b->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(b->listen_fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(b->listen_fd, 8) < 0 ||
	    getsockname(b->listen_fd, (struct sockaddr *)&sin, &len) < 0)
		goto fail;
	b->port = ntohs(sin.sin_port);
	if (pthread_create(&b->thread, NULL, bulb_thread, b) != 0)
		goto fail;
	return b;
fail:
	if (b->listen_fd >= 0)
		close(b->listen_fd);
	free(b);
	return NULL;
}

int fake_bulb_port(const struct fake_bulb *b)
{
	return b->port;
}

static void wake(struct fake_bulb *b)
{
	if (write(b->wake[1], "x", 1) < 0) {
		/* a full pipe wakes the thread anyway */
	}
}

/* How long a request to the bulb's thread is waited for. */
#define FAKE_BULB_APPLY_MS 5000

/* A wait on the bulb: `pending` (a socket request not carried out yet) or
 * `pred` on its state. Checked under the lock. */
struct bulb_wait {
	struct fake_bulb *b;
	bool (*pending)(struct fake_bulb *);
	bool (*pred)(const struct fake_bulb_state *, void *);
	void *arg;
};

static bool bulb_wait_done(void *arg)
{
	const struct bulb_wait *w = arg;
	return w->pending ? !w->pending(w->b) : w->pred(&w->b->st, w->arg);
}

/* Waits at most timeout_ms, checking after each pass of the bulb's thread. */
static bool bulb_wait(struct bulb_wait *w, int timeout_ms)
{
	pthread_mutex_lock(&w->b->lock);
	bool ok = th_cond_wait_until(&w->b->changed, &w->b->lock, bulb_wait_done, w, timeout_ms);
	pthread_mutex_unlock(&w->b->lock);
	return ok;
}

/* Waits (bounded) until the thread has carried out a socket request. */
static void wait_done(struct fake_bulb *b, bool (*pending)(struct fake_bulb *))
{
	struct bulb_wait w = {.b = b, .pending = pending};
	bulb_wait(&w, FAKE_BULB_APPLY_MS);
}

static bool drop_pending(struct fake_bulb *b)
{
	return b->drop_pending;
}

static bool push_pending(struct fake_bulb *b)
{
	return b->push_pending[0] != '\0';
}

void fake_bulb_refuse(struct fake_bulb *b, bool refuse)
{
	pthread_mutex_lock(&b->lock);
	b->refuse = refuse;
	pthread_mutex_unlock(&b->lock);
}

void fake_bulb_drop_all(struct fake_bulb *b)
{
	pthread_mutex_lock(&b->lock);
	b->drop_pending = true;
	pthread_mutex_unlock(&b->lock);
	wake(b);
	wait_done(b, drop_pending);
}

void fake_bulb_quota(struct fake_bulb *b, bool on)
{
	pthread_mutex_lock(&b->lock);
	b->quota = on;
	pthread_mutex_unlock(&b->lock);
}

static void change(struct fake_bulb *b, const char *props_json, bool quiet)
{
	pthread_mutex_lock(&b->lock);
	snprintf(b->push_pending, sizeof(b->push_pending), "%s", props_json);
	b->push_quiet = quiet;
	pthread_mutex_unlock(&b->lock);
	wake(b);
	wait_done(b, push_pending);
}

static bool raw_pending(struct fake_bulb *b)
{
	return b->raw_pending[0] != '\0';
}

void fake_bulb_send_raw(struct fake_bulb *b, const char *text)
{
	pthread_mutex_lock(&b->lock);
	snprintf(b->raw_pending, sizeof(b->raw_pending), "%s", text);
	pthread_mutex_unlock(&b->lock);
	wake(b);
	wait_done(b, raw_pending);
}

void fake_bulb_push(struct fake_bulb *b, const char *props_json)
{
	change(b, props_json, false);
}

void fake_bulb_change_quietly(struct fake_bulb *b, const char *props_json)
{
	change(b, props_json, true);
}

void fake_bulb_get(struct fake_bulb *b, struct fake_bulb_state *out)
{
	pthread_mutex_lock(&b->lock);
	*out = b->st;
	pthread_mutex_unlock(&b->lock);
}

bool fake_bulb_wait(struct fake_bulb *b, bool (*pred)(const struct fake_bulb_state *, void *),
		    void *arg, int timeout_ms)
{
	struct bulb_wait w = {.b = b, .pred = pred, .arg = arg};
	return bulb_wait(&w, timeout_ms);
}

void fake_bulb_stop(struct fake_bulb *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->lock);
	b->stop = true;
	pthread_mutex_unlock(&b->lock);
	wake(b);
	pthread_join(b->thread, NULL);
	for (int i = 0; i < FAKE_BULB_CONNECTIONS_MAX; i++)
		if (b->clients[i].fd >= 0)
			close(b->clients[i].fd);
	close(b->listen_fd);
	close(b->wake[0]);
	close(b->wake[1]);
	pthread_cond_destroy(&b->changed);
	pthread_mutex_destroy(&b->lock);
	free(b);
}
