/* SPDX-License-Identifier: MIT */
/*
 * A fake Philips Hue bridge for the tests, written to the CLIP v2 docs:
 * HTTPS only (the test makes its CA and certificate with openssl), every
 * request but pairing needs the hue-application-key header (else 403 with
 * a CLIP error), GET /clip/v2/resource/light[/<id>], PUT
 * /clip/v2/resource/light/<id> (on, dimming, color_temperature, color.xy,
 * dynamics), the event stream /eventstream/clip/v2 (Server-Sent Events;
 * every change, the hub's or the "app's", is pushed as an update event),
 * and POST /api link-button pairing. Served by fake_http, so it can also
 * be slow, drop connections, answer garbage or vanish.
 */
#ifndef SMARTHUB_FAKE_HUE_H
#define SMARTHUB_FAKE_HUE_H

#include "fake_http.h"

#define FAKE_HUE_KEY "Tk2-fake-application-key-0123456789abcdef"
#define FAKE_HUE_LAMP_ID "3f1c2e6a-6d7e-4f5b-9a1b-2c3d4e5f6a7b"
#define FAKE_HUE_DESK_ID "9b8a7c6d-1e2f-4a3b-8c7d-6e5f4a3b2c1d"

struct fake_hue_light {
	bool on;
	double brightness; /* percent */
	int mirek;         /* 0 while in xy mode */
	double x, y;
	int duration_ms; /* of the last PUT; -1 none */
};

struct fake_hue_state {
	struct fake_hue_light lamp; /* "Living lamp" */
	unsigned puts;
	unsigned refused; /* requests with a wrong or missing key */
	unsigned pair_attempts;
	char last_put[512];
};

struct fake_hue;

/* NULL on failure. */
struct fake_hue *fake_hue_start(const char *cert_file, const char *key_file);
struct fake_http *fake_hue_http(struct fake_hue *h);
/* Changes the lamp as the Hue app would, with an event (push) or quietly. */
void fake_hue_change(struct fake_hue *h, bool on, double brightness, bool push);
/* Forgets the application key (as when the user removes the app in the
 * Hue app): every request is refused with 403 from now on. */
void fake_hue_revoke_key(struct fake_hue *h);
/* Presses the link button: the next POST /api succeeds. */
void fake_hue_press_button(struct fake_hue *h);
void fake_hue_get(struct fake_hue *h, struct fake_hue_state *out);
bool fake_hue_wait(struct fake_hue *h, bool (*pred)(const struct fake_hue_state *, void *),
		   void *arg, int timeout_ms);
void fake_hue_stop(struct fake_hue *h);

#endif
