/* SPDX-License-Identifier: MIT */
/*
 * What the MQTT device fakes (fake_z2m, fake_tasmota, fake_shelly_mqtt,
 * fake_esphome) share: one Paho MQTTAsync client per fake device with its
 * last will, an automatic reconnect that publishes the birth message and
 * subscribes again (as the real firmware does after a broker restart), and
 * a handler called on Paho's thread for every message the device receives.
 *
 * A fake of a switch-like device describes its kind (struct
 * fake_mqtt_kind: how it names itself and its will, what it subscribes to,
 * how it reports its state) and is started with fake_mqtt_start_kind; its
 * own button is fake_mqtt_switch.
 *
 * A fake answers from that thread, as a device answers from its own loop;
 * a slow device sleeps there before answering. `fake_seq` orders events
 * across fakes (a command received, a confirmation sent), so a test can
 * prove that one device's command left only after another confirmed.
 */
#ifndef SMARTHUB_FAKE_MQTT_DEVICE_H
#define SMARTHUB_FAKE_MQTT_DEVICE_H

#include <MQTTAsync.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct fake_mqtt;
/* A message to the device: topic and payload NUL-terminated. */
typedef void (*fake_mqtt_handler)(struct fake_mqtt *f, const char *topic, const char *payload,
				  size_t len, void *ctx);
/* The connection came up (first or after a reconnect): publish the birth
 * message and subscribe. */
typedef void (*fake_mqtt_birth)(struct fake_mqtt *f, void *ctx);

#define FAKE_MQTT_TOPIC_MAX 256

/* One kind of fake device. Its client id is <client_prefix><name>, its
 * will topic <will_prefix><name><will_suffix>, for the name it is started
 * with. */
struct fake_mqtt_kind {
	const char *client_prefix;
	const char *will_prefix, *will_suffix;
	const char *will_payload;  /* the retained last will: "Offline" */
	const char *birth_payload; /* retained on the will topic at every
				      (re)connect: "Online" */
	fake_mqtt_handler on_message;
	fake_mqtt_birth birth;  /* the rest of a (re)connect: subscriptions,
				   telemetry; NULL for none */
	fake_mqtt_birth report; /* publishes the device's state, the lock held */
};

struct fake_mqtt {
	MQTTAsync client;
	char will_topic[FAKE_MQTT_TOPIC_MAX];
	char will_payload[64];
	fake_mqtt_handler handler;
	fake_mqtt_birth birth;
	void *ctx;
	const struct fake_mqtt_kind *kind; /* NULL when started without one */
	pthread_mutex_t lock;              /* guards the fake's own state, not Paho */
	pthread_cond_t cond;
	bool up;
};

/* The next number of the sequence shared by every fake. */
unsigned long fake_seq_next(void);

/* Connects to 127.0.0.1:port with a retained last will and waits (10 s)
 * until the birth callback ran. 0 or -1. */
int fake_mqtt_start(struct fake_mqtt *f, int port, const char *client_id, const char *will_topic,
		    const char *will_payload, fake_mqtt_handler handler, fake_mqtt_birth birth,
		    void *ctx);
/* The same for a device of `kind` named `name`; ctx goes to its callbacks
 * (the kind is borrowed: a static). 0 or -1. */
int fake_mqtt_start_kind(struct fake_mqtt *f, int port, const struct fake_mqtt_kind *kind,
			 const char *name, void *ctx);

enum fake_mqtt_switch { FAKE_MQTT_OFF, FAKE_MQTT_ON, FAKE_MQTT_TOGGLE };
/* A change made at the device itself (its button, its own automation):
 * under the lock, *on (the fake's own flag) is switched and the kind
 * reports it. */
void fake_mqtt_switch(struct fake_mqtt *f, bool *on, enum fake_mqtt_switch to);
/* What a command payload does to a switch that is `on`: ON, OFF and
 * TOGGLE in any case, and Tasmota's 1, 0 and 2. */
bool fake_mqtt_switched(bool on, const char *payload);
/* Subscribes at QoS 1 (fire and forget). */
void fake_mqtt_subscribe(struct fake_mqtt *f, const char *filter);
/* Publishes at QoS 1. */
void fake_mqtt_publish(struct fake_mqtt *f, const char *topic, const char *payload, bool retained);
/* Vanishes as a device losing power: the broker publishes its last will
 * (see the .c for how). Then stopped: start it again to come back. */
void fake_mqtt_kill(struct fake_mqtt *f, int port);
/* A clean goodbye (no will); frees the client. Accepts a stopped fake. */
void fake_mqtt_stop(struct fake_mqtt *f);
/* Sleeps ms milliseconds (a slow device). */
void fake_mqtt_sleep_ms(unsigned ms);

#endif
