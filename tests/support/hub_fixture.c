// SPDX-License-Identifier: MIT
/*
 * The hub fixture (see hub_fixture.h): the real hub, driven by the test on
 * libev's default loop, with every event recorded.
 */
#include "hub_fixture.h"
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void record(void *ctx, const struct sh_event *ev)
{
	struct hf *f = ctx;
	if (f->n_events == f->cap_events) {
		f->cap_events = f->cap_events ? f->cap_events * 2 : 256;
		f->events = realloc(f->events, f->cap_events * sizeof(*f->events));
		if (!f->events)
			abort();
	}
	struct hf_event *e = &f->events[f->n_events++];
	*e = (struct hf_event){
		.type = ev->type,
		.device = ev->device ? strdup(sh_device_id(ev->device)) : NULL,
		.scene = dup_or_null(ev->scene),
		.command_id = ev->command_id,
		.err = ev->err,
		.reason = dup_or_null(ev->reason),
		.at = ev_now(f->loop),
	};
	/* Availability events carry the new state in err: 1 online, 0 offline. */
	if (ev->type == SH_EV_DEVICE_AVAILABILITY)
		e->err = ev->device && sh_device_online(ev->device);
}

static int load(struct hf *f, const char *yaml, struct sh_config **config, struct sh_diag *diag)
{
	char *path = th_strdupf("%s/smarthub-%zu.yaml", f->dir, f->n_events);
	int r = th_write_file(path, yaml);
	if (r == 0)
		r = sh_config_load(path, config, diag);
	free(path);
	return r;
}

int hf_reload(struct hf *f, const char *yaml, struct sh_diag *diag_out)
{
	struct sh_diag local = {0};
	struct sh_diag *diag = diag_out ? diag_out : &local;
	struct sh_config *config = NULL;
	int r = load(f, yaml, &config, diag);
	if (r == 0) {
		r = sh_hub_apply(f->hub, config, false, diag);
		if (r < 0)
			sh_config_free(config);
	}
	if (!diag_out) {
		sh_diag_print(&local, stderr);
		sh_diag_clear(&local);
	}
	return r;
}

char *hf_diag_lines(struct sh_diag *diag)
{
	size_t len = 2;
	for (size_t i = 0; i < diag->count; i++)
		len += strlen(diag->messages[i]) + 1;
	char *text = calloc(1, len);
	if (!text)
		abort();
	strcpy(text, "\n");
	for (size_t i = 0; i < diag->count; i++) {
		strcat(text, diag->messages[i]);
		strcat(text, "\n");
	}
	sh_diag_clear(diag);
	return text;
}

int hf_init(struct hf *f, const char *plugin_dir)
{
	memset(f, 0, sizeof(*f));
	f->loop = ev_default_loop(0);
	f->dir = th_tempdir();
	if (!f->loop || !f->dir)
		return -ENOMEM;
	int r = sh_hub_new(f->loop, &f->hub);
	if (r < 0)
		return r;
	if (plugin_dir)
		sh_hub_set_plugin_dir(f->hub, plugin_dir);
	return 0;
}

int hf_start(struct hf *f, const char *yaml)
{
	int r = hf_init(f, SMARTHUB_PLUGIN_BUILD_DIR);
	if (r < 0)
		return r;
	r = sh_scenes_new(f->hub, &f->scenes);
	if (r < 0)
		return r;
	sh_hub_listen(f->hub, record, f);
	return hf_reload(f, yaml, NULL);
}

static void guard_fired(struct ev_loop *loop, ev_timer *w, int revents)
{
	*(bool *)w->data = true;
}

bool hf_run_until(struct hf *f, bool (*pred)(struct hf *f, void *arg), void *arg, int timeout_ms)
{
	bool expired = false;
	ev_timer guard;
	ev_timer_init(&guard, guard_fired, timeout_ms / 1000.0, 0.0);
	guard.data = &expired;
	ev_timer_start(f->loop, &guard);
	bool done = pred && pred(f, arg);
	while (!done && !expired) {
		ev_run(f->loop, EVRUN_ONCE);
		done = pred && pred(f, arg);
	}
	ev_timer_stop(f->loop, &guard);
	return done;
}

void hf_run_for(struct hf *f, int ms)
{
	hf_run_until(f, NULL, NULL, ms);
}

static bool all_online(struct hf *f, void *arg)
{
	return sh_hub_devices_online(f->hub) == sh_hub_device_count(f->hub);
}

bool hf_wait_all_online(struct hf *f, int timeout_ms)
{
	return hf_run_until(f, all_online, NULL, timeout_ms);
}

static bool one_online(struct hf *f, void *arg)
{
	struct sh_device *dev = sh_hub_find_device(f->hub, arg);
	return dev && sh_device_online(dev);
}

bool hf_wait_online(struct hf *f, const char *id, int timeout_ms)
{
	return hf_run_until(f, one_online, (void *)id, timeout_ms);
}

static bool matches(const struct hf_event *e, enum sh_event_type type, const char *id)
{
	return e->type == type && (!id || (e->device && strcmp(e->device, id) == 0));
}

size_t hf_count(const struct hf *f, enum sh_event_type type, const char *id)
{
	size_t n = 0;
	for (size_t i = 0; i < f->n_events; i++)
		n += matches(&f->events[i], type, id);
	return n;
}

long hf_find(const struct hf *f, enum sh_event_type type, const char *id, size_t from)
{
	for (size_t i = from; i < f->n_events; i++)
		if (matches(&f->events[i], type, id))
			return (long)i;
	return -1;
}

long hf_find_availability(const struct hf *f, const char *id, bool online, size_t from)
{
	for (size_t i = from; i < f->n_events; i++)
		if (matches(&f->events[i], SH_EV_DEVICE_AVAILABILITY, id) &&
		    f->events[i].err == (online ? 1 : 0))
			return (long)i;
	return -1;
}

struct sh_device *hf_device(const struct hf *f, const char *id)
{
	return sh_hub_find_device(f->hub, id);
}

void hf_stop(struct hf *f)
{
	if (f->hub) {
		sh_hub_unlisten(f->hub, record, f);
		sh_scenes_stop(f->scenes);
		sh_hub_stop(f->hub);
		sh_scenes_free(f->scenes);
		sh_hub_free(f->hub);
	}
	for (size_t i = 0; i < f->n_events; i++) {
		free(f->events[i].device);
		free(f->events[i].scene);
		free(f->events[i].reason);
	}
	free(f->events);
	if (f->dir) {
		th_rmtree(f->dir);
		free(f->dir);
	}
	memset(f, 0, sizeof(*f));
}
