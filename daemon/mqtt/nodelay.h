/* SPDX-License-Identifier: MIT */
/*
 * TCP_NODELAY for Paho's connection to the broker.
 *
 * Why: Paho MQTTAsync 1.3.12 leaves Nagle's algorithm on and has no option
 * to turn it off. With a QoS 1 command the bridge's PUBACK (sent by Paho's
 * thread) is still unacknowledged when the state publication follows a few
 * microseconds later, so the kernel holds the state until the broker's
 * delayed ACK, about 40 ms later (docs/performance.md). Every MQTT packet
 * is a complete message we want on the wire at once, so Nagle only hurts.
 *
 * How: after each connect the loop thread walks its own descriptors
 * (/proc/self/fd) and sets TCP_NODELAY on every connected TCP socket whose
 * peer is the broker's port (and, when the URL names a numeric address,
 * that address). Paho exposes no socket and its structures are private, so
 * this is the one way that does not depend on Paho's internals.
 *
 * Why it is safe: TCP_NODELAY changes only when the kernel sends, never
 * what is sent, on any TCP socket. Should the match also catch another TCP
 * connection to the same port (a driver talking to that broker), or should
 * Paho close the descriptor and the number be reused between the check and
 * the setsockopt, the worst outcome is an unbuffered small packet on that
 * other socket, or an ENOPROTOOPT on a non-TCP descriptor, which is ignored.
 */
#ifndef SMARTHUB_MQTT_NODELAY_H
#define SMARTHUB_MQTT_NODELAY_H

/*
 * Sets TCP_NODELAY on the connections to the broker of `url` (tcp://,
 * ssl:// as Paho takes it). Returns how many sockets it set (0 when none
 * was found), or a negative errno when the URL cannot be parsed or the
 * descriptors cannot be listed.
 */
int sh_mqtt_nodelay(const char *url);

/* More connections to one broker than a process of ours holds. */
#define SH_MQTT_BROKER_SOCKETS_MAX 16

/*
 * The descriptors of the connected TCP sockets whose peer is the broker of
 * `url`, as sh_mqtt_nodelay() matches them: up to `max` in fds[]. Returns
 * how many, or a negative errno. (The benchmark tells its own client's
 * socket from the others by what is new after a connect.)
 */
int sh_mqtt_broker_sockets(const char *url, int *fds, int max);

/*
 * Sends the TCP ACK that the kernel is delaying on `fd` now (TCP_QUICKACK;
 * nothing when none is pending, ignored when fd < 0 or not TCP). Called
 * right after a PUBACK was read: a stock broker's Nagle holds its next
 * small packet to us (the next command) until that PUBACK is acknowledged,
 * and Linux delays the ACK until we send something or 40 ms pass. The
 * option does not stay set, so it is set after every PUBACK.
 * Async-signal-safe and thread-safe (one setsockopt).
 */
void sh_mqtt_quickack(int fd);

#endif
