/* SPDX-License-Identifier: MIT */
/*
 * A device: its configuration, its driver instance, its connection state
 * machine, its JSON state and its command queue. Owned by the hub; other
 * modules hold pointers only while the hub says the device exists (a
 * SH_EV_DEVICE_REMOVED event ends that).
 *
 * Connection: idle (waiting for dependencies) -> connecting (bounded by
 * connect_timeout) -> online, or -> backoff (exponential, jitter, capped)
 * -> connecting... Availability is "online" only in the online state.
 *
 * Commands: one at a time per device, in arrival order, from a queue of at
 * most queue_limit, spaced by min_interval, each bounded by
 * command_timeout. Commands submitted with sh_device_submit_merge coalesce
 * while they wait, so the last one always wins. A command that times out fails and the device is
 * reconnected, since a device that stops answering has usually lost its
 * connection.
 */
#ifndef SMARTHUB_DEVICE_H
#define SMARTHUB_DEVICE_H

#include "config/config.h"
#include <cjson/cJSON.h>
#include <smarthub/plugin.h>
#include <stdbool.h>
#include <stdint.h>

struct sh_hub;

enum sh_device_conn {
	SH_CONN_IDLE, /* not started, or waiting for depends_on */
	SH_CONN_CONNECTING,
	SH_CONN_ONLINE,
	SH_CONN_BACKOFF,
};

const char *sh_device_id(const struct sh_device *dev);
const char *sh_device_name(const struct sh_device *dev);
const char *sh_device_kind(const struct sh_device *dev);
const char *sh_device_driver(const struct sh_device *dev);
const struct sh_device_config *sh_device_config(const struct sh_device *dev);
enum sh_device_conn sh_device_conn(const struct sh_device *dev);
bool sh_device_online(const struct sh_device *dev);
/* "online" or "offline" */
const char *sh_device_availability(const struct sh_device *dev);
/* The state object; borrowed, changes as the device reports. */
const cJSON *sh_device_state(const struct sh_device *dev);
/* Why the device is offline (last error), or NULL. */
const char *sh_device_last_error(const struct sh_device *dev);
/* What the driver declared with host->set_metadata (supports_flash,
 * color_modes, readings, ...): an object, borrowed, or NULL when the
 * driver declared nothing. */
const cJSON *sh_device_metadata(const struct sh_device *dev);
/* Commands queued and running. */
size_t sh_device_queue_length(const struct sh_device *dev);

/*
 * Completion of a submitted command, on the loop thread: err 0 or a
 * negative errno with a reason (-ETIMEDOUT, -ENOTCONN when the device went
 * offline before running it, -ECANCELED when the hub shut down, or the
 * driver's own).
 */
typedef void (*sh_command_done_fn)(void *ctx, struct sh_device *dev, uint64_t id, int err,
				   const char *reason);

/*
 * Queues `command` (a JSON object; ownership taken, also on failure).
 * It is validated against the kind and TOGGLE resolved first. Returns 0
 * and the command's id in *id (if non-NULL), or fails at once with reason:
 * -EINVAL (invalid command), -ENOTCONN (device offline, unless
 * queue_while_offline keeps it), -ENOBUFS (queue full). `done` may be NULL;
 * it is never called for a command that failed here.
 */
int sh_device_submit(struct sh_device *dev, cJSON *command, sh_command_done_fn done, void *ctx,
		     uint64_t *id, char *reason, size_t reason_len);
/*
 * Like sh_device_submit, for commands where only the newest value counts
 * (a slider, a dashboard): while an earlier such command still waits in
 * the queue (the device is busy) or is held for the reconnect, a settable
 * `command` (sh_kind_settable: no TOGGLE and no action) is merged into it
 * instead of queueing behind it, newer values per property winning, and
 * *id is that command's id. `done` is then called once when the merged
 * command ends (once per distinct done/ctx pair). Commands from
 * sh_device_submit (scene steps, automations) are never merged, neither
 * into nor from. A queue full of commands that cannot merge refuses with
 * -ENOBUFS as above.
 */
int sh_device_submit_merge(struct sh_device *dev, cJSON *command, sh_command_done_fn done,
			   void *ctx, uint64_t *id, char *reason, size_t reason_len);
/*
 * Forgets command `id` (for every submitter merged into it): a queued one is removed, a running one is left to
 * finish but its `done` is not called. Returns true when it was removed
 * before running.
 */
bool sh_device_cancel(struct sh_device *dev, uint64_t id);
/* Asks the driver to re-read the state. -ENOTCONN when offline,
 * -EOPNOTSUPP when the driver cannot. */
int sh_device_refresh(struct sh_device *dev);

#endif
