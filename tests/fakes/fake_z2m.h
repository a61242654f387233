/* SPDX-License-Identifier: MIT */
/*
 * A fake Zigbee2MQTT bulb, written from Zigbee2MQTT's "MQTT Topics and
 * Messages": state on <base>/<name> (JSON, brightness 0-254), commands on
 * <base>/<name>/set, reads on <base>/<name>/get, availability on
 * <base>/<name>/availability ({"state":"online"}, or the legacy plain
 * "online" when `legacy`) and the bridge's <base>/bridge/state.
 *
 * Awkward as the real one: with `stale_echo` it first publishes its old
 * state after a /set (Zigbee2MQTT does so when the device's report races
 * the command), and `delay_ms` makes it answer slowly; `deaf` makes it
 * take commands and never change.
 */
#ifndef SMARTHUB_FAKE_Z2M_H
#define SMARTHUB_FAKE_Z2M_H

#include "fake_mqtt_device.h"

struct fake_z2m {
	struct fake_mqtt m;
	char base[64], name[64];
	bool legacy, stale_echo, deaf;
	unsigned delay_ms;
	/* The device, under m.lock. */
	bool on;
	int brightness; /* 0-254 */
	unsigned sets, gets;
	unsigned long set_seq;   /* fake_seq when the last /set came */
	unsigned long state_seq; /* ... and when its real state went out */
	char last_set[256];
};

/* Connects and publishes the bridge and device availability. 0 or -1. */
int fake_z2m_start(struct fake_z2m *z, int port, const char *base, const char *name);
/* A change made at the device (the wall switch, the Hue app). */
void fake_z2m_change(struct fake_z2m *z, bool on, int brightness);
/* Zigbee2MQTT itself stops or starts: <base>/bridge/state. */
void fake_z2m_bridge(struct fake_z2m *z, bool online);
/* Stopped with fake_mqtt_stop(&z->m). */

#endif
