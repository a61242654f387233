/* SPDX-License-Identifier: MIT */
/*
 * A fake Tasmota plug, written from Tasmota's "Commands" and "MQTT" pages
 * with the default FullTopic %prefix%/%topic%/: it takes cmnd/<t>/POWER
 * (ON, OFF, TOGGLE; an empty payload is a query), answers on
 * stat/<t>/RESULT ({"POWER":"ON"}) and stat/<t>/POWER, sends telemetry on
 * tele/<t>/STATE, and keeps tele/<t>/LWT Online with Offline as its will.
 *
 * `delay_ms` makes it slow to switch (a relay behind a slow Wi-Fi).
 */
#ifndef SMARTHUB_FAKE_TASMOTA_H
#define SMARTHUB_FAKE_TASMOTA_H

#include "fake_mqtt_device.h"

struct fake_tasmota {
	struct fake_mqtt m;
	char topic[64];
	unsigned delay_ms;
	bool on;
	unsigned commands, queries;
	unsigned long command_seq; /* fake_seq when the last command came */
	unsigned long confirm_seq; /* ... and when it was confirmed */
};

/* Its button: fake_mqtt_switch(&t->m, &t->on, ...); stopped with
 * fake_mqtt_stop(&t->m). */
int fake_tasmota_start(struct fake_tasmota *t, int port, const char *topic);

#endif
