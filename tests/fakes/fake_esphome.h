/* SPDX-License-Identifier: MIT */
/*
 * A fake ESPHome switch, written from ESPHome's "MQTT Client Component":
 * state on <prefix>/switch/<object_id>/state (ON/OFF, retained), commands
 * on <prefix>/switch/<object_id>/command, birth and will on <prefix>/status
 * (online/offline, retained). No query: the retained state is the answer.
 */
#ifndef SMARTHUB_FAKE_ESPHOME_H
#define SMARTHUB_FAKE_ESPHOME_H

#include "fake_mqtt_device.h"

struct fake_esphome {
	struct fake_mqtt m;
	char prefix[64], object_id[64];
	bool on;
	unsigned commands;
};

/* A change at the device (its own automation, a button):
 * fake_mqtt_switch(&e->m, &e->on, ...); stopped with fake_mqtt_stop(&e->m). */
int fake_esphome_start(struct fake_esphome *e, int port, const char *prefix, const char *object_id);

#endif
