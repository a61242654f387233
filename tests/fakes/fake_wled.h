/* SPDX-License-Identifier: MIT */
/*
 * A fake WLED controller for the tests, written to WLED's JSON API
 * (kno.wled.ge/interfaces/json-api): GET /json/state, /json/info and
 * /json/si, and POST /json/state taking "on" (true, false or "t"), "bri",
 * "transition" and seg[0].col, answering with the resulting state when the
 * body has "v":true. Served by fake_http, so it can also be slow, drop
 * connections, answer garbage or vanish.
 */
#ifndef SMARTHUB_FAKE_WLED_H
#define SMARTHUB_FAKE_WLED_H

#include "fake_http.h"

struct fake_wled_state {
	bool on;
	int bri;
	int col[3];
	int transition;      /* of the last POST, in 100 ms units; -1 none */
	unsigned posts;      /* POST /json/state received */
	char last_post[512]; /* its body */
};

struct fake_wled;

/* Off, bri 128, colour 255,160,0. NULL on failure. */
struct fake_wled *fake_wled_start(void);
struct fake_http *fake_wled_http(struct fake_wled *w);
/* Changes the state as the WLED app or its button would. */
void fake_wled_set(struct fake_wled *w, bool on, int bri, int r, int g, int b);
void fake_wled_get(struct fake_wled *w, struct fake_wled_state *out);
bool fake_wled_wait(struct fake_wled *w, bool (*pred)(const struct fake_wled_state *, void *),
		    void *arg, int timeout_ms);
void fake_wled_stop(struct fake_wled *w);

#endif
