/* SPDX-License-Identifier: MIT */
/*
 * The bridge's outgoing publications, handed to Paho by a thread of their
 * own. Every Paho call takes Paho's one client mutex, which its receive
 * thread holds almost continuously while it reads a flood of messages
 * (four clients flooding bridge/request/devices kept the loop waiting in
 * MQTTAsync_send for up to 2 s at a time, and the watchdog with it). So
 * the loop only queues: sh_publisher_push copies the publication into a
 * bounded queue and returns at once, and the publisher thread takes the
 * publications in order and makes the Paho call, waiting for the mutex
 * instead of the loop. Only while the traffic is light does the loop make
 * the call itself (the direct path, below), which saves the thread's
 * wake-up on the way of every command's state.
 *
 * The queue is bounded in publications and bytes. What it does when full:
 *  - a retained publication replaces the queued one of the same topic in
 *    place (a state or an availability: the latest wins and keeps the
 *    older one's turn), which needs no room beyond the payload's growth;
 *  - a retained publication that still finds no room evicts the oldest
 *    queued non-retained ones (responses, events), which a flood produces;
 *  - otherwise the new publication is dropped.
 * Evicted and dropped publications are counted (sh_publisher_take_dropped)
 * for the bridge to report on bridge/event.
 *
 * Threads: push, call, discard, drain, take_dropped, set_direct,
 * note_incoming and free are for one thread (the loop); the send callback
 * runs on the publisher thread, or on the loop's inside sh_publisher_push
 * when the direct path (below) is on.
 */
#ifndef SMARTHUB_PUBLISHER_H
#define SMARTHUB_PUBLISHER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* One publication, all borrowed. `reply` marks an MQTT 5 response, sent
 * with its Correlation Data (may be NULL) as a property. */
struct sh_publication {
	const char *topic;
	const void *payload;
	size_t len;
	int qos;
	bool retain;
	bool reply;
	const void *correlation;
	size_t correlation_len;
};

/* Makes the call that hands `pub` (borrowed, valid during the call) to
 * the network; on the publisher thread, or on the pushing thread on the
 * direct path (sh_publisher_set_direct). Its result is not looked at: a
 * publication that failed (the connection just dropped) is gone, and the
 * next connect publishes every retained topic again. */
typedef void (*sh_publisher_send_fn)(void *ctx, const struct sh_publication *pub);

struct sh_publisher;

/* At most `items_max` publications and `bytes_max` bytes (topic, payload
 * and correlation data) waiting. `send` and `ctx` are borrowed for the
 * publisher's life. The thread starts with every asynchronous signal
 * blocked (util/signals.h). 0, -ENOMEM, or a negative errno from
 * pthread_create. */
int sh_publisher_new(size_t items_max, size_t bytes_max, sh_publisher_send_fn send, void *ctx,
		     struct sh_publisher **out);
/* Copies `pub` into the queue. 0; -ENOBUFS when it was dropped (counted);
 * -ENOMEM. */
int sh_publisher_push(struct sh_publisher *p, const struct sh_publication *pub);
/* Runs call(arg) on the publisher thread, in order with the publications
 * (a subscription: another Paho call that must not wait on the loop).
 * `arg` is taken: `arg_free` (may be NULL) frees it after the call, or
 * when it is discarded or freed unrun. It counts as one publication of
 * `bytes` and, when there is no room, evicts responses and events as a
 * retained publication does. 0, -ENOBUFS (arg freed, counted as a drop). */
typedef void (*sh_publisher_call_fn)(void *arg);
int sh_publisher_call(struct sh_publisher *p, sh_publisher_call_fn call, void *arg,
		      void (*arg_free)(void *arg), size_t bytes);
/*
 * The direct path. Handing a publication to the publisher thread costs a
 * wake-up of that thread: about 0.06 ms of the 0.15 ms by which the
 * daemon's round trip trailed the relay's at 200 commands/s (perf sched,
 * docs/performance.md). While the hub's MQTT traffic is light, Paho's
 * threads hold its mutexes for short moments only, and the loop can make
 * the call itself. Once enabled, sh_publisher_push makes the Paho call on
 * the calling thread when all of these hold:
 *  - the queue is empty and the thread is not inside `send`: the caller is
 *    the only producer, so nothing queued earlier can be overtaken;
 *  - the publication is QoS 0 and not an MQTT 5 reply (a message id or
 *    properties take the mutex Paho's receive thread holds for its whole
 *    cycle, the one a flood kept the loop waiting on for seconds);
 *  - `busy` (the receiving side: the inbox is not empty) says no;
 *  - at most SH_PUBLISHER_DIRECT_RATE_MAX incoming messages a second
 *    were noted (sh_publisher_note_incoming), and as many publications
 *    pushed, lately (in windows of 100 ms): under a flood, and for a burst
 *    of the caller's own (every state after a connect), everything goes
 *    through the thread, as before;
 *  - no direct call took longer than SH_PUBLISHER_DIRECT_SLOW_MS in the
 *    last SH_PUBLISHER_DIRECT_HOLD_S: it waited on a Paho mutex (or the
 *    machine is too busy to tell), so Paho is busier than the traffic
 *    showed; a wait shorter than that costs the watchdog nothing.
 * `busy` is called on the pushing thread, `ctx` is borrowed; NULL turns
 * the direct path off (the default).
 */
#define SH_PUBLISHER_DIRECT_RATE_MAX 2000
#define SH_PUBLISHER_DIRECT_SLOW_MS 10
#define SH_PUBLISHER_DIRECT_HOLD_S 1
typedef bool (*sh_publisher_busy_fn)(void *ctx);
void sh_publisher_set_direct(struct sh_publisher *p, sh_publisher_busy_fn busy, void *ctx);
/* `n` messages came in (the loop took them from its inbox): the traffic
 * the direct path looks at. For the pushing thread. */
void sh_publisher_note_incoming(struct sh_publisher *p, size_t n);
/* Whether the traffic noted lately (incoming messages, pushes) is light
 * by the direct path's measure. For the pushing thread; for a second
 * connection's direct path too, since Paho's receive thread serves every
 * connection of the process. */
bool sh_publisher_quiet(const struct sh_publisher *p);
/* Publications made by the direct path since the publisher was made. */
size_t sh_publisher_direct_count(const struct sh_publisher *p);
/* Publications evicted or dropped since the last call. */
size_t sh_publisher_take_dropped(struct sh_publisher *p);
/* Publications waiting (not counting one being sent). */
size_t sh_publisher_length(struct sh_publisher *p);
/* Forgets every waiting publication (the connection went down: the next
 * connect publishes the current state anyway). Not counted as dropped. */
void sh_publisher_discard(struct sh_publisher *p);
/* Waits until every publication pushed so far was handed to `send`, or
 * until `deadline` (CLOCK_MONOTONIC). For shutdown only: it blocks. true
 * when drained. */
bool sh_publisher_drain(struct sh_publisher *p, const struct timespec *deadline);
/* Stops the thread (after the publication being sent, if any) and frees
 * what still waits; NULL accepted. */
void sh_publisher_free(struct sh_publisher *p);

#endif
