/* SPDX-License-Identifier: MIT */
/*
 * A small HTTP/1.1 server for the fakes of HTTP devices (WLED, Shelly,
 * Hue): one thread, poll() over a listening socket and up to
 * FAKE_HTTP_CLIENTS_MAX keep-alive connections, optionally TLS (OpenSSL,
 * with a certificate the test made). Requests with a Content-Length body
 * are parsed and handed to the device's handler, which fills the answer
 * under the server's lock (the same lock the device's test functions take
 * with fake_http_lock).
 *
 * It can be awkward on purpose: answer slowly, drop the connection instead
 * of answering, answer with a garbage body, disappear (the port closed,
 * every connection dropped) and come back on the same port. An answer may
 * also turn its connection into a stream (Server-Sent Events) that
 * fake_http_stream_send writes to later.
 */
#ifndef SMARTHUB_FAKE_HTTP_H
#define SMARTHUB_FAKE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define FAKE_HTTP_CLIENTS_MAX 16
/* Requests (head and body) larger than this drop the connection. */
#define FAKE_HTTP_REQUEST_MAX (64 * 1024)

struct fake_http_req {
	char method[16];
	char path[1024]; /* with its query, as sent */
	char authorization[1024];
	char accept[128];
	char app_key[256]; /* hue-application-key */
	char content_type[128];
	const char *body; /* NUL-terminated */
	size_t body_len;
};

struct fake_http_resp {
	int status;            /* 200 unless the handler says otherwise */
	char content_type[64]; /* "application/json" unless set */
	char headers[512];     /* extra header lines, each ending "\r\n" */
	char *body;            /* malloc'd by the handler (freed by the server); NULL: empty */
	bool stream;           /* keep the connection as an event stream */
};

typedef void (*fake_http_handler)(void *ctx, const struct fake_http_req *req,
				  struct fake_http_resp *resp);

struct fake_http_stats {
	unsigned requests;    /* answered, ever */
	unsigned accepted;    /* connections taken, ever */
	unsigned connections; /* open now */
	unsigned streams;     /* of them, event streams */
	unsigned tls_failed;  /* handshakes that failed */
};

struct fake_http;

/* Starts on a free 127.0.0.1 port; TLS when cert_file and key_file (PEM)
 * are given. NULL on failure. */
struct fake_http *fake_http_start(fake_http_handler handler, void *ctx, const char *cert_file,
				  const char *key_file);
int fake_http_port(const struct fake_http *s);
/* The handler runs with this lock held; a device's test functions take it
 * around its state. */
void fake_http_lock(struct fake_http *s);
/* Lets go of the lock, waking fake_http_wait (a change was made). */
void fake_http_unlock(struct fake_http *s);
/* Waits at most timeout_ms until done(arg) holds: it runs under the lock,
 * now and after each pass of the server's thread (every request handled)
 * and each fake_http_unlock. Whether it held. */
bool fake_http_wait(struct fake_http *s, bool (*done)(void *arg), void *arg, int timeout_ms);
/* down: the port is closed and every connection dropped; up again: it
 * listens on the same port. Returns when done. */
void fake_http_set_down(struct fake_http *s, bool down);
/* Every answer waits this long first (0: none). */
void fake_http_set_delay(struct fake_http *s, int ms);
/* The next n requests get their connection closed instead of an answer. */
void fake_http_drop_next(struct fake_http *s, unsigned n);
/* The next n requests other than streams get "200" with this body. */
void fake_http_garbage_next(struct fake_http *s, unsigned n, const char *body);
/* The next n requests other than streams get "200" with a valid JSON
 * array of `bytes` bytes (to pass a client's size cap). */
void fake_http_huge_next(struct fake_http *s, unsigned n, size_t bytes);
/* Writes text to every event stream; returns how many got it. */
unsigned fake_http_stream_send(struct fake_http *s, const char *text);
/* The same from inside a handler (the lock is held). */
unsigned fake_http_stream_send_locked(struct fake_http *s, const char *text);
/* Closes every event stream. */
void fake_http_stream_close(struct fake_http *s);
void fake_http_stats(struct fake_http *s, struct fake_http_stats *out);
/* Waits at most timeout_ms until at least n event streams are open. */
bool fake_http_wait_streams(struct fake_http *s, unsigned n, int timeout_ms);
/* ... until at least n requests were answered in all. */
bool fake_http_wait_requests(struct fake_http *s, unsigned n, int timeout_ms);
/* Stops the thread, closes everything, frees. NULL accepted. */
void fake_http_stop(struct fake_http *s);

#endif
