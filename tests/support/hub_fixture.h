/* SPDX-License-Identifier: MIT */
/*
 * A hub fixture for unit tests: the real hub on libev's default loop with
 * plugins from the build tree, a configuration written from a string, and
 * a recording of every hub event with the loop time it happened at, so
 * tests can check order (never elapsed wall time).
 *
 * One fixture per test process (Criterion forks a process per test).
 */
#ifndef SMARTHUB_TEST_HUB_FIXTURE_H
#define SMARTHUB_TEST_HUB_FIXTURE_H

#include "core/hub.h"
#include "scenes/scene.h"
#include <stdbool.h>
#include <stddef.h>

struct hf_event {
	enum sh_event_type type;
	char *device; /* id, or NULL */
	char *scene;  /* or NULL */
	uint64_t command_id;
	int err;
	char *reason; /* or NULL */
	double at;    /* ev_now() when it happened */
};

struct hf {
	struct ev_loop *loop;
	struct sh_hub *hub;
	struct sh_scene_engine *scenes; /* a listener of the hub, as in main */
	char *dir;
	struct hf_event *events;
	size_t n_events, cap_events;
};

/* The hub alone, with no configuration yet, no scene engine and no
 * recording: for a test of a configuration the hub refuses (hf_reload with
 * a diag). Plugins from plugin_dir (NULL: the configuration says). 0 or
 * -errno. */
int hf_init(struct hf *f, const char *plugin_dir);
/* hf_init with the build tree's plugins, the scene engine and the
 * recording, then yaml written to a temp file, loaded and applied; 0 or
 * -errno with the diagnostics printed to stderr. */
int hf_start(struct hf *f, const char *yaml);
/* Loads yaml as a new configuration and applies it (a reload). Errors go to
 * `diag` if given, else stderr. */
int hf_reload(struct hf *f, const char *yaml, struct sh_diag *diag);
/* Runs the loop until pred(f, arg) is true (checked after every loop
 * iteration) or timeout_ms passed: a guard against hangs, not a timing
 * check. Returns pred's last value. */
bool hf_run_until(struct hf *f, bool (*pred)(struct hf *f, void *arg), void *arg, int timeout_ms);
/* Runs the loop for ms milliseconds of loop time. */
void hf_run_for(struct hf *f, int ms);
/* Waits until every device is online / device `id` is online. */
bool hf_wait_all_online(struct hf *f, int timeout_ms);
bool hf_wait_online(struct hf *f, const char *id, int timeout_ms);
/* Events of `type` for device `id` (NULL: any device). */
size_t hf_count(const struct hf *f, enum sh_event_type type, const char *id);
/* Index of the first such event at or after `from`, or -1. */
long hf_find(const struct hf *f, enum sh_event_type type, const char *id, size_t from);
/* Index of the first availability event saying `id` is online (offline when
 * !online) at or after `from`, or -1. */
long hf_find_availability(const struct hf *f, const char *id, bool online, size_t from);
struct sh_device *hf_device(const struct hf *f, const char *id);
/* The diagnostics as "\n"-framed lines ("\n<first>\n<second>\n"), so a
 * whole line can be looked for with strstr("\n<line>\n"); clears diag.
 * Caller frees. */
char *hf_diag_lines(struct sh_diag *diag);
/* Frees the hub and the recording, removes the temp dir. */
void hf_stop(struct hf *f);

#endif
