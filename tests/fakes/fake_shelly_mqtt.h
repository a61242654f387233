/* SPDX-License-Identifier: MIT */
/*
 * A fake Shelly Plus 1 (Gen2), written from Shelly's Gen2 "MQTT" and "RPC"
 * documentation: JSON-RPC requests on <prefix>/rpc
 * ({"id","src","method","params"}), answers on <src>/rpc, NotifyStatus on
 * <prefix>/events/rpc when the output changes, and <prefix>/online
 * true/false (its will). Nothing it sends is retained, as on the device.
 * Methods: Switch.Set {"id","on"} and Switch.GetStatus {"id"}.
 */
#ifndef SMARTHUB_FAKE_SHELLY_MQTT_H
#define SMARTHUB_FAKE_SHELLY_MQTT_H

#include "fake_mqtt_device.h"

struct fake_shelly {
	struct fake_mqtt m;
	char prefix[96];
	bool on;
	unsigned sets, get_status;
	char last_src[128];
};

/* Its physical button: fake_mqtt_switch(&s->m, &s->on, ...), and
 * NotifyStatus goes out; stopped with fake_mqtt_stop(&s->m). */
int fake_shelly_start(struct fake_shelly *s, int port, const char *prefix);

#endif
