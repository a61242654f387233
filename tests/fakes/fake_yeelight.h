/* SPDX-License-Identifier: MIT */
/*
 * A fake Yeelight bulb for the tests, written to the "Yeelight WiFi Light
 * Inter-Operation Specification": it listens on a free 127.0.0.1 port, takes
 * at most four connections (a fifth is accepted and closed at once), keeps
 * power, bright, ct, rgb and color_mode, answers get_prop, set_power,
 * set_bright, set_ct_abx and set_rgb with {"id":..,"result":["ok"]} or an
 * error, and after every change sends a "props" notification to every
 * connection, as the bulb does.
 *
 * The test can make it refuse connections, drop every socket, answer
 * set_* requests with the rate-limit error, or change its state as the
 * Yeelight app would. It runs on its own thread; every function here is
 * called from the test's thread.
 */
#ifndef SMARTHUB_FAKE_YEELIGHT_H
#define SMARTHUB_FAKE_YEELIGHT_H

#include <stdbool.h>

/* A real bulb's connection limit. */
#define FAKE_BULB_CONNECTIONS_MAX 4
/* Requests remembered for the test to inspect; older ones are forgotten. */
#define FAKE_BULB_LOG_MAX 64

struct fake_bulb;

struct fake_bulb_state {
	bool power;
	int bright;                 /* 1-100 */
	int ct;                     /* kelvin */
	long rgb;                   /* 0xRRGGBB */
	int color_mode;             /* 1 rgb, 2 ct */
	unsigned connections;       /* open now */
	unsigned accepted;          /* connections taken, ever */
	unsigned turned_away;       /* closed at once: over the limit or refusing */
	unsigned requests;          /* requests answered, ever */
	char last_power_params[96]; /* params of the last set_power, as JSON */
};

/* Starts a bulb that is off, bright 100, ct 4000, rgb 0xffffff, mode 2.
 * NULL on failure. */
struct fake_bulb *fake_bulb_start(void);
int fake_bulb_port(const struct fake_bulb *b);
/* Refusing: every new connection is accepted and closed at once. */
void fake_bulb_refuse(struct fake_bulb *b, bool refuse);
/* Closes every client connection (the bulb lost its Wi-Fi). */
void fake_bulb_drop_all(struct fake_bulb *b);
/* Quota: every set_* request gets {"code":-1,"message":"client quota
 * exceeded"} and changes nothing. */
void fake_bulb_quota(struct fake_bulb *b, bool on);
/* Changes the state as someone else would ({"power":"on","bright":"20"}
 * with the bulb's own string values) and notifies every connection. */
void fake_bulb_push(struct fake_bulb *b, const char *props_json);
/* The same without the notification, as when a notification is lost: the
 * hub sees it only when it asks (get_prop). */
void fake_bulb_change_quietly(struct fake_bulb *b, const char *props_json);
/* Sends `text` as it is to every connection (a confused firmware). */
void fake_bulb_send_raw(struct fake_bulb *b, const char *text);
void fake_bulb_get(struct fake_bulb *b, struct fake_bulb_state *out);
/* Waits at most timeout_ms until pred(state, arg) holds. */
bool fake_bulb_wait(struct fake_bulb *b, bool (*pred)(const struct fake_bulb_state *, void *),
		    void *arg, int timeout_ms);
/* Stops the thread, closes everything, frees. NULL accepted. */
void fake_bulb_stop(struct fake_bulb *b);

#endif
