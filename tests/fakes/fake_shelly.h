/* SPDX-License-Identifier: MIT */
/*
 * A fake Shelly relay for the tests, written to Shelly's public API docs:
 * a Gen1 device (GET /shelly with "type" and "auth", /status with relays[]
 * and meters[], /relay/<ch>?turn=on|off|toggle, HTTP basic auth) or a Gen2
 * device (GET /shelly with "gen":2 and "auth_en", the RPCs
 * Switch.GetStatus, Switch.Set and Switch.Toggle under /rpc/<Method>?..,
 * and real HTTP digest authentication with SHA-256 as Gen2 firmware does:
 * a 401 with a nonce, then the response hash checked). Served by
 * fake_http, so it can also be slow, drop connections, answer garbage or
 * vanish.
 */
#ifndef SMARTHUB_FAKE_SHELLY_H
#define SMARTHUB_FAKE_SHELLY_H

#include "fake_http.h"

#define FAKE_SHELLY_CHANNELS 2

struct fake_shelly_state {
	bool on[FAKE_SHELLY_CHANNELS];
	double power;          /* W, channel 0 while on */
	double voltage;        /* V */
	double energy_wh;      /* channel 0's total */
	unsigned commands;     /* switch requests that changed or set a relay */
	unsigned auth_ok;      /* requests that passed authentication */
	unsigned auth_refused; /* requests with wrong or missing credentials */
	unsigned challenges;   /* 401 answers sent */
	char last_path[1024];
};

struct fake_shelly;

/* A device of generation `gen` (1 or 2) with relays off, 230 V, 1234.5 Wh.
 * `password` NULL: no authentication. NULL on failure. */
struct fake_shelly *fake_shelly_start(int gen, const char *password);
struct fake_http *fake_shelly_http(struct fake_shelly *s);
/* Changes the state as the device's button or app would. */
void fake_shelly_set(struct fake_shelly *s, unsigned ch, bool on, double power);
/* A new nonce: clients holding the old one get a 401 with stale=true. */
void fake_shelly_new_nonce(struct fake_shelly *s);
void fake_shelly_get(struct fake_shelly *s, struct fake_shelly_state *out);
bool fake_shelly_wait(struct fake_shelly *s, bool (*pred)(const struct fake_shelly_state *, void *),
		      void *arg, int timeout_ms);
void fake_shelly_stop(struct fake_shelly *s);

#endif
