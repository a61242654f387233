/* SPDX-License-Identifier: MIT */
/*
 * The HTTP client for drivers (see shhttp.h): one curl multi handle per
 * device, driven by the host's watchers and timers the way libcurl's
 * "multi-socket with libev" example (evhiperfifo.c) drives it. libcurl
 * tells us through the socket callback which fds to watch and through the
 * timer callback when to call it back; we call curl_multi_socket_action
 * from those watchers and then collect finished transfers.
 *
 * Re-entrancy: libcurl forbids adding or removing handles from inside its
 * own callbacks, and a driver may react to a completion or a stream chunk
 * by starting, cancelling or freeing anything. So while the client is
 * inside libcurl (`in_curl`) new requests wait on the list unadded, and
 * while it is anywhere in a dispatch (`depth`) cancelled requests and a
 * freed client are only marked; both are settled when the dispatch ends.
 */
#include "shhttp.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The daemon's own defaults for connect_timeout and command_timeout. */
#define SH_HTTP_DEFAULT_TIMEOUT_MS 10000u

struct sh_http_sock {
	struct sh_http *c;
	curl_socket_t fd;
	struct sh_io *io;
	struct sh_http_sock *next;
};

struct sh_http_req {
	struct sh_http *c;
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	char *buf; /* the response body (or a stream's error body) */
	size_t len, cap;
	sh_http_chunk_cb chunk;
	sh_http_done_cb done;
	void *ctx;
	bool added;     /* handed to the multi handle */
	bool cancelled; /* to be removed when the dispatch ends */
	bool too_big;
	bool aborted; /* chunk() said stop */
	char errbuf[CURL_ERROR_SIZE];
	struct sh_http_req *next;
};

struct sh_http {
	struct sh_device *dev;
	const struct sh_host *host;
	CURLM *multi;
	struct sh_timer *timer;
	struct sh_http_sock *socks;
	struct sh_http_req *reqs;
	unsigned n_reqs;
	unsigned depth;
	bool in_curl;
	bool dead;

	char *base; /* "http://host:port" */
	char *ca_file;
	struct curl_slist *connect_to; /* tls_name:port:host:port */
	char *username, *password;
	enum sh_http_auth auth;
	uint64_t connect_timeout_ms, timeout_ms;
	size_t body_max;
	char *headers[SH_HTTP_HEADERS_MAX];
};

/* --- errors ------------------------------------------------------------------ */

static int curl_to_errno(CURLcode code, const struct sh_http_req *r)
{
	switch (code) {
	case CURLE_OK:
		return 0;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_WRITE_ERROR:
		return r->too_big ? -EFBIG : r->aborted ? -ECONNABORTED : -EIO;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		return -ECONNRESET;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CIPHER:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_BAD_CONTENT_ENCODING:
		return -EPROTO;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_LOGIN_DENIED:
		return -EACCES;
	default:
		return -EIO;
	}
}

/* --- requests ------------------------------------------------------------------ */

static void req_free(struct sh_http_req *r)
{
	if (!r)
		return;
	if (r->easy) {
		if (r->added)
			curl_multi_remove_handle(r->c->multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->headers);
	free(r->body);
	free(r->buf);
	free(r);
}

static void req_unlink(struct sh_http *c, struct sh_http_req *r)
{
	for (struct sh_http_req **p = &c->reqs; *p; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			c->n_reqs--;
			return;
		}
	}
}

static bool buf_append(struct sh_http_req *r, const char *data, size_t n)
{
	size_t max = r->c->body_max;

	if (n > max - r->len) {
		r->too_big = true;
		return false;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 1024;
		while (cap < r->len + n + 1)
			cap *= 2;
		if (cap > max + 1)
			cap = max + 1;
		char *b = realloc(r->buf, cap);
		if (!b)
			return false;
		r->buf = b;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	r->buf[r->len] = '\0';
	return true;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct sh_http_req *r = userp;
	size_t n = size * nmemb;

	if (r->cancelled || r->c->dead)
		return 0;
	if (r->chunk) {
		long status = 0;
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200 && status < 300) {
			if (!r->chunk(r->ctx, data, n)) {
				r->aborted = true;
				return 0;
			}
			return n;
		}
		/* An error answer: keep it for done(). */
	}
	return buf_append(r, data, n) ? n : 0;
}

static void req_finish(struct sh_http *c, struct sh_http_req *r, CURLcode code)
{
	struct sh_http_response resp = {0};
	char error[SH_HTTP_ERROR_MAX] = "";

	req_unlink(c, r);
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &resp.status);
	resp.err = curl_to_errno(code, r);
	if (resp.err == -EFBIG)
		snprintf(error, sizeof(error), "the answer is larger than %zu bytes", c->body_max);
	else if (resp.err == -ECONNABORTED)
		snprintf(error, sizeof(error), "stream closed by the driver");
	else if (resp.err)
		snprintf(error, sizeof(error), "%s",
			 r->errbuf[0] ? r->errbuf : curl_easy_strerror(code));
	else if (resp.status == 401 || resp.status == 403) {
		resp.err = -EACCES;
		snprintf(error, sizeof(error), "HTTP %ld: authentication failed", resp.status);
	} else if (resp.status >= 400 || resp.status < 200) {
		resp.err = -EIO;
		snprintf(error, sizeof(error), "HTTP %ld", resp.status);
	}
	resp.error = error;
	if (!r->chunk || resp.status < 200 || resp.status >= 300) {
		resp.body = r->buf ? r->buf : "";
		resp.len = r->len;
	}
	if (!r->cancelled && !c->dead && r->done)
		r->done(r->ctx, &resp);
	req_free(r);
}

/* Adds the requests started while inside libcurl; only outside it. One
 * that cannot be added completes at once with the error (we are in a
 * dispatch, not in the call that started it). */
static void add_waiting(struct sh_http *c)
{
	for (;;) {
		struct sh_http_req *r = c->reqs;
		while (r && (r->added || r->cancelled))
			r = r->next;
		if (!r || c->dead)
			return;
		if (curl_multi_add_handle(c->multi, r->easy) == CURLM_OK)
			r->added = true;
		else
			req_finish(c, r, CURLE_OUT_OF_MEMORY);
	}
}

static void destroy(struct sh_http *c);

static void collect(struct sh_http *c)
{
	CURLMsg *msg;
	int left;

	while (!c->dead && (msg = curl_multi_info_read(c->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct sh_http_req *r = NULL;
		CURLcode code = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (r)
			req_finish(c, r, code);
	}
}

static void reap_cancelled(struct sh_http *c)
{
	struct sh_http_req **p = &c->reqs;
	while (*p) {
		struct sh_http_req *r = *p;
		if (r->cancelled) {
			*p = r->next;
			c->n_reqs--;
			req_free(r);
		} else {
			p = &r->next;
		}
	}
}

/* One turn: let libcurl act on fd (or its timeout), then settle. */
static void dispatch(struct sh_http *c, curl_socket_t fd, int flags)
{
	int running = 0;

	c->depth++;
	c->in_curl = true;
	curl_multi_socket_action(c->multi, fd, flags, &running);
	c->in_curl = false;
	collect(c);
	if (!c->dead) {
		reap_cancelled(c);
		add_waiting(c);
	}
	c->depth--;
	if (c->dead && c->depth == 0)
		destroy(c);
}

/* --- the loop side -------------------------------------------------------------- */

static void on_io(struct sh_device *dev, int fd, int revents, void *data)
{
	struct sh_http_sock *s = data;
	int flags = 0;

	if (revents & SH_IO_READ)
		flags |= CURL_CSELECT_IN;
	if (revents & SH_IO_WRITE)
		flags |= CURL_CSELECT_OUT;
	dispatch(s->c, fd, flags);
}

static void on_timer(struct sh_device *dev, void *data)
{
	struct sh_http *c = data;

	c->host->timer_stop(c->timer);
	c->timer = NULL;
	dispatch(c, CURL_SOCKET_TIMEOUT, 0);
}

static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct sh_http *c = userp;

	c->host->timer_stop(c->timer);
	c->timer = NULL;
	if (timeout_ms < 0)
		return 0;
	c->timer = c->host->timer_start(c->dev, (uint64_t)timeout_ms, 0, on_timer, c);
	return c->timer ? 0 : -1;
}

static void sock_drop(struct sh_http *c, struct sh_http_sock *s)
{
	for (struct sh_http_sock **p = &c->socks; *p; p = &(*p)->next) {
		if (*p == s) {
			*p = s->next;
			break;
		}
	}
	c->host->io_stop(s->io);
	free(s);
}

static int curl_sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct sh_http *c = userp;
	struct sh_http_sock *s = socketp;
	int events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (s)
			sock_drop(c, s);
		curl_multi_assign(c->multi, fd, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= SH_IO_READ;
	if (what & CURL_POLL_OUT)
		events |= SH_IO_WRITE;
	if (s) {
		if (events)
			c->host->io_set(s->io, events);
		return 0;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->c = c;
	s->fd = fd;
	s->io = c->host->io_start(c->dev, fd, events ? events : SH_IO_READ, on_io, s);
	if (!s->io) {
		free(s);
		return -1;
	}
	s->next = c->socks;
	c->socks = s;
	curl_multi_assign(c->multi, fd, s);
	return 0;
}

/* --- the client ----------------------------------------------------------------- */

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int sh_http_new(struct sh_http **out, struct sh_device *dev, const struct sh_host *host,
		const struct sh_http_config *config)
{
	*out = NULL;
	if (!config->host || !config->host[0] || strpbrk(config->host, "/?#@ []"))
		return -EINVAL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -ENOMEM;
	struct sh_http *c = calloc(1, sizeof(*c));
	int err = -ENOMEM;
	if (!c)
		goto fail_global;
	c->dev = dev;
	c->host = host;
	c->auth = config->auth;
	c->connect_timeout_ms = config->connect_timeout_ms;
	c->timeout_ms = config->timeout_ms;
	c->body_max = config->body_max ? config->body_max : SH_HTTP_BODY_MAX;
	bool v6 = strchr(config->host, ':') != NULL;
	const char *url_host = config->host;
	if (config->tls_name && config->tls_name[0]) {
		if (strpbrk(config->tls_name, "/?#@ []:")) {
			err = -EINVAL;
			goto fail_client;
		}
		url_host = config->tls_name;
		char to[512];
		snprintf(to, sizeof(to), "%s:%u:%s%s%s:%u", url_host, config->port, v6 ? "[" : "",
			 config->host, v6 ? "]" : "", config->port);
		if (!(c->connect_to = curl_slist_append(NULL, to)))
			goto fail_client;
		v6 = false;
	}
	size_t n = strlen(url_host) + 32;
	c->base = malloc(n);
	if (!c->base)
		goto fail_client;
	snprintf(c->base, n, "%s://%s%s%s:%u", config->https ? "https" : "http", v6 ? "[" : "",
		 url_host, v6 ? "]" : "", config->port);
	c->ca_file = dup_or_null(config->ca_file);
	c->username = dup_or_null(config->username);
	c->password = dup_or_null(config->password);
	if ((config->ca_file && !c->ca_file) || (config->username && !c->username) ||
	    (config->password && !c->password))
		goto fail_client;
	for (size_t i = 0; i < SH_HTTP_HEADERS_MAX && config->headers[i]; i++)
		if (!(c->headers[i] = strdup(config->headers[i])))
			goto fail_client;
	c->multi = curl_multi_init();
	if (!c->multi)
		goto fail_client;
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, curl_sock_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	*out = c;
	return 0;

fail_client:
	c->dead = true;
	destroy(c);
	return err;
fail_global:
	curl_global_cleanup();
	return -ENOMEM;
}

static bool path_ok(const char *path)
{
	if (!path || path[0] != '/')
		return false;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return false;
	return true;
}

static int add_header(struct curl_slist **list, const char *h)
{
	struct curl_slist *l = curl_slist_append(*list, h);
	if (!l)
		return -ENOMEM;
	*list = l;
	return 0;
}

static int req_setup(struct sh_http *c, struct sh_http_req *r, const struct sh_http_request *req)
{
	char url[2048];
	int err = 0;

	if ((size_t)snprintf(url, sizeof(url), "%s%s", c->base, req->path) >= sizeof(url))
		return -EINVAL;
	r->easy = curl_easy_init();
	if (!r->easy)
		return -ENOMEM;
	CURL *e = r->easy;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	/* Devices are on the LAN: an http_proxy in the environment must not
	 * send their traffic (and credentials) elsewhere. */
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	if (c->connect_timeout_ms)
		curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
	if (c->timeout_ms && !req->chunk)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
	if (req->chunk)
		curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	if (c->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	if (c->connect_to)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, c->connect_to);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->auth != SH_HTTP_AUTH_NONE && c->username) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH,
				 c->auth == SH_HTTP_AUTH_DIGEST ? CURLAUTH_DIGEST : CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, c->username);
		curl_easy_setopt(e, CURLOPT_PASSWORD, c->password ? c->password : "");
	}
	const char *method = req->method ? req->method : "GET";
	if (strcmp(method, "GET") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (req->body) {
		r->body = malloc(req->body_len + 1);
		if (!r->body)
			return -ENOMEM;
		memcpy(r->body, req->body, req->body_len);
		r->body[req->body_len] = '\0';
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
		char ct[128];
		snprintf(ct, sizeof(ct), "Content-Type: %s",
			 req->content_type ? req->content_type : "application/json");
		if (!err)
			err = add_header(&r->headers, ct);
		if (!err) /* no "100 continue" round trip for a few bytes */
			err = add_header(&r->headers, "Expect:");
	}
	if (!err)
		err = add_header(&r->headers, req->chunk ? "Accept: text/event-stream"
							 : "Accept: application/json");
	for (size_t i = 0; !err && i < SH_HTTP_HEADERS_MAX && c->headers[i]; i++)
		err = add_header(&r->headers, c->headers[i]);
	for (size_t i = 0; !err && i < SH_HTTP_HEADERS_MAX && req->headers[i]; i++)
		err = add_header(&r->headers, req->headers[i]);
	if (err)
		return err;
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	return 0;
}

int sh_http_request(struct sh_http *c, const struct sh_http_request *req,
		    struct sh_http_req **handle)
{
	if (handle)
		*handle = NULL;
	if (c->dead)
		return -ECANCELED;
	if (!path_ok(req->path))
		return -EINVAL;
	if (c->n_reqs >= SH_HTTP_REQUESTS_MAX)
		return -EBUSY;
	struct sh_http_req *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->c = c;
	r->chunk = req->chunk;
	r->done = req->done;
	r->ctx = req->ctx;
	int err = req_setup(c, r, req);
	if (err) {
		req_free(r);
		return err;
	}
	r->next = c->reqs;
	c->reqs = r;
	c->n_reqs++;
	/* curl_multi_add_handle only arms a timer: the transfer starts from
	 * it, on a later loop iteration. Inside libcurl it waits. */
	if (!c->in_curl) {
		if (curl_multi_add_handle(c->multi, r->easy) != CURLM_OK) {
			req_unlink(c, r);
			req_free(r);
			return -ENOMEM;
		}
		r->added = true;
	}
	if (handle)
		*handle = r;
	return 0;
}

void sh_http_cancel(struct sh_http *c, struct sh_http_req *req)
{
	if (!c || !req)
		return;
	req->cancelled = true;
	if (c->depth == 0) {
		req_unlink(c, req);
		req_free(req);
	}
}

static void destroy(struct sh_http *c)
{
	if (c->multi) {
		/* Our watchers go now, libcurl's sockets with the handle. */
		curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, NULL);
		curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, NULL);
	}
	while (c->reqs) {
		struct sh_http_req *r = c->reqs;
		c->reqs = r->next;
		req_free(r);
	}
	while (c->socks)
		sock_drop(c, c->socks);
	c->host->timer_stop(c->timer);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	free(c->base);
	free(c->ca_file);
	curl_slist_free_all(c->connect_to);
	free(c->username);
	if (c->password) {
		memset(c->password, 0, strlen(c->password));
		free(c->password);
	}
	for (size_t i = 0; i < SH_HTTP_HEADERS_MAX; i++)
		free(c->headers[i]);
	free(c);
	curl_global_cleanup();
}

void sh_http_free(struct sh_http *c)
{
	if (!c || c->dead)
		return;
	c->dead = true;
	for (struct sh_http_req *r = c->reqs; r; r = r->next)
		r->cancelled = true;
	if (c->depth == 0)
		destroy(c);
}

int sh_http_escape(char *out, size_t size, const char *text)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9') || strchr("-._~", *p);
		size_t need = plain ? 1 : 3;
		if (n + need + 1 > size)
			return -ENOSPC;
		if (plain) {
			out[n++] = (char)*p;
		} else {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	if (n + 1 > size)
		return -ENOSPC;
	out[n] = '\0';
	return (int)n;
}

void sh_http_device_timeouts(struct sh_device *dev, const struct sh_host *host,
			     struct sh_http_config *config)
{
	/* The daemon's own reading of the common keys (ABI 2.1). */
	uint64_t ms = host->connect_timeout_ms(dev);
	config->connect_timeout_ms = ms ? ms : SH_HTTP_DEFAULT_TIMEOUT_MS;
	ms = host->command_timeout_ms(dev);
	config->timeout_ms = ms ? ms : SH_HTTP_DEFAULT_TIMEOUT_MS;
}

void sh_http_trouble(struct sh_http_trouble *t, struct sh_device *dev, const struct sh_host *host,
		     unsigned slot, const char *fmt, ...)
{
	char msg[SH_HTTP_ERROR_MAX + 128];
	va_list ap;

	if (slot >= SH_COMPLAIN_SLOTS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	host->complain(dev, slot, SH_LOG_WARNING, "%s", msg);
	uint64_t now = host->now_ms(dev);
	if (t->active[slot] && now - t->last_event_ms[slot] < SH_HTTP_TROUBLE_REPEAT_MS)
		return;
	t->active[slot] = true;
	t->last_event_ms[slot] = now;
	if (!SH_HOST_HAS(host, event))
		return;
	cJSON *ev = cJSON_CreateObject();
	if (ev && cJSON_AddStringToObject(ev, "event", "error") &&
	    cJSON_AddStringToObject(ev, "message", msg))
		host->event(dev, ev);
	cJSON_Delete(ev);
}

void sh_http_trouble_clear(struct sh_http_trouble *t, struct sh_device *dev,
			   const struct sh_host *host, unsigned slot, const char *what)
{
	if (slot >= SH_COMPLAIN_SLOTS || !t->active[slot])
		return;
	t->active[slot] = false;
	host->complain_clear(dev, slot, "%s", what);
}

void sh_http_failed(struct sh_device *dev, const struct sh_host *host, bool *online,
		    const char *what, const char *why)
{
	char reason[SH_HTTP_ERROR_MAX + 160];

	snprintf(reason, sizeof(reason), "%.100s: %.*s", what, (int)SH_HTTP_ERROR_MAX, why);
	*online = false;
	host->failed(dev, reason);
}

void sh_http_read_failed(struct sh_http_trouble *t, struct sh_device *dev,
			 const struct sh_host *host, unsigned slot, bool *online,
			 const struct sh_http_response *resp, const char *why)
{
	if (resp->err == -EFBIG && *online) {
		sh_http_trouble(t, dev, host, slot, "%s", resp->error);
		return;
	}
	sh_http_failed(dev, host, online, *online ? "poll" : "connect", why);
}
