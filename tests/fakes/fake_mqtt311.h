/* SPDX-License-Identifier: MIT */
/*
 * A broker that speaks only MQTT 3.1.1, for the hub's fallback from MQTT 5:
 * a front on a free 127.0.0.1 port before a real mosquitto. It reads each
 * connection's CONNECT; one asking for MQTT 5 gets what a 3.1.1 broker
 * answers (CONNACK return code 1, "unacceptable protocol version", MQTT
 * 3.1.1 section 3.1.2.2) and is closed; any other is passed to mosquitto
 * and relayed byte for byte both ways. mosquitto 2.0 has no setting that
 * refuses MQTT 5, hence the front.
 *
 * It runs on its own threads (one accepting, one per connection); every
 * function here is called from the test's thread.
 */
#ifndef SMARTHUB_FAKE_MQTT311_H
#define SMARTHUB_FAKE_MQTT311_H

/* Connections it relays at once; more are closed at once. */
#define FAKE_MQTT311_CONNECTIONS_MAX 8

struct fake_mqtt311;

/* Starts the front of the mosquitto on 127.0.0.1:broker_port. NULL on
 * failure. */
struct fake_mqtt311 *fake_mqtt311_start(int broker_port);
/* Refuses MQTT 5 the way an MQTT 5 broker that will not speak it does
 * instead: an MQTT 5 CONNACK with reason code 0x84, "unsupported protocol
 * version". Call before anything connects. */
void fake_mqtt311_refuse_as_mqtt5(struct fake_mqtt311 *f);
/* Refuses 3.1.1 CONNECTs whose client id ends with `suffix` (copied, up
 * to 63 bytes) with return code 2, "identifier rejected", as a broker
 * with client id rules does. Call before anything connects. */
void fake_mqtt311_refuse_client_suffix(struct fake_mqtt311 *f, const char *suffix);
/* CONNECTs refused for their client id so far. */
unsigned fake_mqtt311_refused_ids(const struct fake_mqtt311 *f);
int fake_mqtt311_port(const struct fake_mqtt311 *f);
/* MQTT 5 CONNECTs refused, and connections relayed, so far. */
unsigned fake_mqtt311_refused(const struct fake_mqtt311 *f);
unsigned fake_mqtt311_relayed(const struct fake_mqtt311 *f);
/* Closes every connection and frees; NULL accepted. */
void fake_mqtt311_stop(struct fake_mqtt311 *f);

#endif
