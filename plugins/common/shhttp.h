/* SPDX-License-Identifier: MIT */
/*
 * An HTTP client for drivers, on the daemon's loop: libcurl's multi-socket
 * API (curl_multi_socket_action) driven by the host's fd watchers and
 * timers, so no call blocks the loop. One struct sh_http per device holds
 * one curl multi handle, so keep-alive connections are reused per device
 * and nothing is shared between devices (no mutable globals).
 *
 * Every request goes to the one server the client was made for
 * (scheme://host:port); the driver gives only the path, which it builds
 * from validated values (sh_http_escape for anything that is text).
 * Redirects are never followed; proxies from the environment are not
 * used; names are resolved by libcurl's threaded resolver (Debian's
 * libcurl has AsynchDNS), so a slow DNS never blocks the loop; TLS is
 * verified (a CA file may replace the system's store); bodies are capped (SH_HTTP_BODY_MAX by default, larger
 * answers fail with -EFBIG); basic or digest authentication and extra
 * headers come from the client's configuration.
 *
 * Completion is asynchronous by contract: a request's callback runs on
 * the loop thread from a watcher or timer callback, never inside
 * sh_http_request. Callbacks may start new requests, cancel others or
 * free the whole client.
 *
 * Compiled into each HTTP driver (a static library) and installed with
 * this header for drivers built out of tree; it links libcurl, so the
 * daemon pays for libcurl only when an HTTP driver is loaded.
 */
#ifndef SMARTHUB_PLUGIN_SHHTTP_H
#define SMARTHUB_PLUGIN_SHHTTP_H

#include <smarthub/plugin.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The default cap on a response body. */
#define SH_HTTP_BODY_MAX (256u * 1024u)
/* Extra headers a client or a request may carry. */
#define SH_HTTP_HEADERS_MAX 8
/* Requests one client may have in flight; sh_http_request says -EBUSY
 * beyond (a driver has a command, a poll and a stream at most). */
#define SH_HTTP_REQUESTS_MAX 8
/* The longest message in struct sh_http_response.error. */
#define SH_HTTP_ERROR_MAX 256

enum sh_http_auth {
	SH_HTTP_AUTH_NONE,
	SH_HTTP_AUTH_BASIC,
	SH_HTTP_AUTH_DIGEST,
};

/* What a client is made with; every string is copied. */
struct sh_http_config {
	bool https;
	const char *host; /* a name or an address (IPv6 without brackets) */
	unsigned port;
	const char *ca_file; /* PEM bundle to verify against; NULL: the system's */
	/* The name the server's certificate must carry when it is not `host`
	 * (a Hue bridge's certificate names its bridge id, not its address):
	 * the URL names tls_name and the connection goes to host. NULL: host. */
	const char *tls_name;
	uint64_t connect_timeout_ms; /* 0: libcurl's default (300 s) */
	uint64_t timeout_ms;         /* whole request; 0: none (streams never have one) */
	size_t body_max;             /* 0: SH_HTTP_BODY_MAX */
	enum sh_http_auth auth;
	const char *username, *password;          /* with auth */
	const char *headers[SH_HTTP_HEADERS_MAX]; /* "Name: value", NULL-terminated if fewer */
};

/* The outcome of one request, borrowed for the callback. */
struct sh_http_response {
	/* 0, or a negative errno: -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH,
	 * -ECONNRESET (dropped), -EPROTO (TLS or a malformed answer), -EFBIG
	 * (body over the cap), -EACCES (HTTP 401/403), -EIO (another HTTP
	 * status >= 400), -ENOMEM, -ECANCELED (never seen: cancelled requests
	 * get no callback). */
	int err;
	long status; /* the HTTP status, 0 when none arrived */
	/* The body, NUL-terminated (not counted in len); NULL for streams. */
	const char *body;
	size_t len;
	/* Says what went wrong, for a log line; "" on success. */
	const char *error;
};

struct sh_http;
struct sh_http_req;

typedef void (*sh_http_done_cb)(void *ctx, const struct sh_http_response *resp);
/* A piece of a streamed body as it arrives (streams only); borrowed.
 * Return false to abort the stream (then done() says -ECONNABORTED). */
typedef bool (*sh_http_chunk_cb)(void *ctx, const char *data, size_t len);

struct sh_http_request {
	const char *method; /* "GET", "POST", "PUT" */
	const char *path;   /* "/json/state", already escaped; copied */
	const char *body;   /* copied; NULL for none */
	size_t body_len;
	const char *content_type;                 /* with a body; default "application/json" */
	const char *headers[SH_HTTP_HEADERS_MAX]; /* extra, like the client's */
	/* Streams (Server-Sent Events): no total timeout, chunk() gets the
	 * body as it arrives, done() when it ends. */
	sh_http_chunk_cb chunk;
	sh_http_done_cb done;
	void *ctx;
};

/*
 * Makes a client for `dev`. Returns 0 with *out set, or -ENOMEM /
 * -EINVAL (no host) with *out NULL. `host` must outlive the client.
 */
int sh_http_new(struct sh_http **out, struct sh_device *dev, const struct sh_host *host,
		const struct sh_http_config *config);

/*
 * Starts a request. Returns 0 (and *handle, if given, identifies it for
 * sh_http_cancel until its done() runs), or -ENOMEM, -EBUSY (too many in
 * flight), -EINVAL (a path that does not start with '/' or holds a
 * control character or a space). done() runs later, exactly once, unless
 * the request is cancelled or the client freed first.
 */
int sh_http_request(struct sh_http *c, const struct sh_http_request *req,
		    struct sh_http_req **handle);

/* Forgets a request in flight: its callbacks are not called. A handle
 * whose done() already ran must not be passed. NULL accepted. */
void sh_http_cancel(struct sh_http *c, struct sh_http_req *req);

/* Cancels everything, closes the connections and frees the client; may be
 * called from inside any of its callbacks. NULL accepted. */
void sh_http_free(struct sh_http *c);

/*
 * Percent-escapes `text` for a URL path segment or query value (RFC 3986
 * unreserved characters stay). Returns the length written, or -ENOSPC
 * when `out` (of `size` bytes, NUL included) is too small.
 */
int sh_http_escape(char *out, size_t size, const char *text);

/*
 * For drivers: reads the device's common `connect_timeout` and
 * `command_timeout` into config (the daemon's defaults when absent), so
 * libcurl gives up no later than the daemon would; the figures are the
 * daemon's own (host->connect_timeout_ms, command_timeout_ms, ABI 2.1).
 */
void sh_http_device_timeouts(struct sh_device *dev, const struct sh_host *host,
			     struct sh_http_config *config);

/*
 * Trouble a driver reports about its device (a malformed or oversized
 * answer, a refused login, a TLS failure): logged through host->complain
 * in `slot` (rate-limited there), and sent as a device event
 * {"event":"error","message":..} when the condition starts and then at
 * most once per SH_HTTP_TROUBLE_REPEAT_MS while it lasts (so one that
 * began before the hub's broker connection is still seen).
 * sh_http_trouble_clear ends it (logged once at NOTICE). The struct lives
 * in the driver's per-device state, zeroed.
 */
#define SH_HTTP_TROUBLE_REPEAT_MS 60000u

struct sh_http_trouble {
	bool active[SH_COMPLAIN_SLOTS];
	uint64_t last_event_ms[SH_COMPLAIN_SLOTS];
};

void sh_http_trouble(struct sh_http_trouble *t, struct sh_device *dev, const struct sh_host *host,
		     unsigned slot, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void sh_http_trouble_clear(struct sh_http_trouble *t, struct sh_device *dev,
			   const struct sh_host *host, unsigned slot, const char *what);

/*
 * A device that gave no usable answer: host->failed with "<what>: <why>"
 * (`what` is "connect", "poll", ...; `why` is cut to SH_HTTP_ERROR_MAX), so
 * the daemon marks it offline and reconnects with backoff; *online turns
 * false. Both strings are borrowed.
 */
void sh_http_failed(struct sh_device *dev, const struct sh_host *host, bool *online,
		    const char *what, const char *why);

/*
 * A read (a connect's or a poll's) that failed (resp->err set), as the
 * HTTP drivers report it: an answer over the body cap while the device is
 * online is trouble in `slot` with resp->error (the device is there, it
 * only said too much); anything else is sh_http_failed with "poll" when
 * *online, else "connect", and `why` (resp->error, or that with the
 * device's own words). Checks of its own (a refused password, TLS) the
 * driver reports before calling this.
 */
void sh_http_read_failed(struct sh_http_trouble *t, struct sh_device *dev,
			 const struct sh_host *host, unsigned slot, bool *online,
			 const struct sh_http_response *resp, const char *why);

#endif
