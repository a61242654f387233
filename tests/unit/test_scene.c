/* SPDX-License-Identifier: MIT */
/*
 * Tests of the scene engine against the real hub and the virtual driver:
 * order of commands (a speaker is on before it plays; parallel branches
 * overlap, a sequence does not), waits woken by state changes, timeout,
 * retry and continue_on_error, the four modes under repeated triggers,
 * cancellation (no command left queued), failure paths, nested scenes,
 * reload, and the --explain / --graph output of the demo scene.
 *
 * Every check is about order or outcome; the loop bounds passed to
 * hf_run_until only guard against hangs.
 */
#define _GNU_SOURCE
#include "hub_fixture.h"
#include "scenes/scene.h"
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Generous bound for anything to happen: a guard, not a timing check. */
#define GUARD_MS 15000
/* Entries of the test's own log (commands with their JSON, run results). */
#define LOG_LIMIT 1024

/* The devices every test has. The speaker has no power until amp_plug is
 * ON (the virtual driver's needs_power); the radio is a speaker that is
 * always reachable. Commands take long enough to overlap. */
#define DEVICES                                                                                    \
	"devices:\n"                                                                               \
	"  light: { driver: virtual, kind: light, command_delay: 80ms }\n"                         \
	"  amp_plug: { driver: virtual, kind: switch, command_delay: 80ms }\n"                     \
	"  radio: { driver: virtual, kind: speaker, command_delay: 40ms }\n"                       \
	"  speaker:\n"                                                                             \
	"    driver: virtual\n"                                                                    \
	"    kind: speaker\n"                                                                      \
	"    command_delay: 40ms\n"                                                                \
	"    needs_power: amp_plug\n"                                                              \
	"    depends_on: [amp_plug]\n"                                                             \
	"    backoff: { initial: 50ms, max: 200ms }\n"

enum entry_kind {
	E_STARTED, /* a command handed to the driver */
	E_DONE,    /* a command's completion */
	E_STATE,   /* a device state change */
	E_RESULT,  /* a scene run ended */
	E_ERROR,   /* SH_EV_ERROR */
};

struct entry {
	enum entry_kind kind;
	char device[32];
	char text[256]; /* command JSON, result JSON or error reason */
	uint64_t command_id;
	int err;
	char light[128]; /* E_STARTED: the light's state at that moment */
};

static struct hf f;
static struct entry log_[LOG_LIMIT];
static size_t n_log;

static struct entry *add_entry(enum entry_kind kind, const char *device)
{
	cr_assert_lt(n_log, LOG_LIMIT, "test log full");
	struct entry *e = &log_[n_log++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	if (device)
		snprintf(e->device, sizeof(e->device), "%s", device);
	return e;
}

/* Command ids are per device: remember the command of each started id. */
static const char *command_of(const char *device, uint64_t id)
{
	for (size_t i = 0; i < n_log; i++)
		if (log_[i].kind == E_STARTED && log_[i].command_id == id &&
		    strcmp(log_[i].device, device) == 0)
			return log_[i].text;
	return "";
}

static void on_event(void *ctx, const struct sh_event *ev)
{
	const char *dev = ev->device ? sh_device_id(ev->device) : NULL;
	struct entry *e;
	char *text;

	switch (ev->type) {
	case SH_EV_COMMAND_STARTED:
		e = add_entry(E_STARTED, dev);
		e->command_id = ev->command_id;
		text = ev->command ? cJSON_PrintUnformatted(ev->command) : NULL;
		snprintf(e->text, sizeof(e->text), "%s", text ? text : "");
		free(text);
		text = cJSON_PrintUnformatted(sh_device_state(hf_device(&f, "light")));
		snprintf(e->light, sizeof(e->light), "%s", text ? text : "");
		free(text);
		break;
	case SH_EV_COMMAND_DONE:
		e = add_entry(E_DONE, dev);
		e->command_id = ev->command_id;
		e->err = ev->err;
		snprintf(e->text, sizeof(e->text), "%s", command_of(dev, ev->command_id));
		break;
	case SH_EV_DEVICE_STATE:
		e = add_entry(E_STATE, dev);
		text = cJSON_PrintUnformatted(sh_device_state(ev->device));
		snprintf(e->text, sizeof(e->text), "%s", text ? text : "");
		free(text);
		break;
	case SH_EV_ERROR:
		e = add_entry(E_ERROR, dev);
		snprintf(e->text, sizeof(e->text), "%s", ev->reason ? ev->reason : "");
		break;
	default:
		break;
	}
}

/* Results of runs, in the order they ended. */
#define RESULT_LIMIT 32
static cJSON *results[RESULT_LIMIT];
static size_t n_results;

static void on_done(void *ctx, const char *scene, const cJSON *result)
{
	cr_assert_lt(n_results, RESULT_LIMIT);
	results[n_results++] = cJSON_Duplicate(result, 1);
	struct entry *e = add_entry(E_RESULT, NULL);
	char *text = cJSON_PrintUnformatted(result);
	snprintf(e->text, sizeof(e->text), "%s", text);
	free(text);
}

static void start(const char *scenes_yaml)
{
	char *yaml;

	cr_assert(asprintf(&yaml, "%s%s", DEVICES, scenes_yaml) > 0);
	n_log = 0;
	n_results = 0;
	cr_assert_eq(hf_start(&f, yaml), 0, "the configuration loads");
	free(yaml);
	cr_assert_eq(sh_hub_listen(f.hub, on_event, NULL), 0);
	cr_assert(hf_wait_online(&f, "light", GUARD_MS));
	cr_assert(hf_wait_online(&f, "amp_plug", GUARD_MS));
	cr_assert(hf_wait_online(&f, "radio", GUARD_MS));
}

static void stop(void)
{
	hf_stop(&f);
	for (size_t i = 0; i < n_results; i++)
		cJSON_Delete(results[i]);
	n_results = 0;
}

static struct sh_scene_engine *engine(void)
{
	return f.scenes;
}

static int run(const char *scene)
{
	char reason[256] = "";
	return sh_scene_run(engine(), scene, on_done, NULL, reason, sizeof(reason));
}

static bool have_results(struct hf *fx, void *arg)
{
	return n_results >= *(size_t *)arg;
}

static void wait_results(size_t n)
{
	cr_assert(hf_run_until(&f, have_results, &n, GUARD_MS), "%zu runs end (have %zu)", n,
		  n_results);
}

static const char *str(const cJSON *obj, const char *key)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(obj, key));
	return s ? s : "";
}

/* Index of the first entry at or after `from` of `kind` for `device`
 * whose text contains `needle` (NULL: any), or -1. */
static long find(enum entry_kind kind, const char *device, const char *needle, size_t from)
{
	for (size_t i = from; i < n_log; i++) {
		const struct entry *e = &log_[i];
		if (e->kind != kind)
			continue;
		if (device && strcmp(e->device, device) != 0)
			continue;
		if (needle && !strstr(e->text, needle))
			continue;
		return (long)i;
	}
	return -1;
}

static size_t count(enum entry_kind kind, const char *device, const char *needle)
{
	size_t n = 0;
	for (long i = find(kind, device, needle, 0); i >= 0; i = find(kind, device, needle, i + 1))
		n++;
	return n;
}

static void submit(const char *device, const char *json)
{
	char reason[256] = "";
	cr_assert_eq(sh_device_submit(hf_device(&f, device), cJSON_Parse(json), NULL, NULL, NULL,
				      reason, sizeof(reason)),
		     0, "%s", reason);
}

static cJSON *status(const char *scene)
{
	cJSON *s = sh_scene_status(engine(), scene);
	cr_assert_not_null(s);
	return s;
}

TestSuite(scene, .fini = stop, .timeout = 120);

/* The movie night, run three times (queued): in every run the
 * speaker's state ON completes before its play starts, and the plug was
 * switched on before the speaker is touched. */
Test(scene, speaker_on_before_play_every_run)
{
	start("scenes:\n"
	      "  movie:\n"
	      "    mode: queued\n"
	      "    steps:\n"
	      "      - parallel:\n"
	      "          - { device: light, set: { state: \"ON\", brightness: 40 } }\n"
	      "          - { device: amp_plug, set: { state: \"ON\" } }\n"
	      "      - { wait: { device: speaker, state: { availability: online } }, timeout: 20s "
	      "}\n"
	      "      - { device: speaker, set: { state: \"ON\", volume: 30 }, retry: 2 }\n"
	      "      - { device: speaker, set: { play: \"movie-night\" } }\n"
	      "      - { device: speaker, set: { state: \"OFF\" } }\n");
	cr_assert_eq(run("movie"), 0);
	cr_assert_eq(run("movie"), 0);
	cr_assert_eq(run("movie"), 0);
	wait_results(3);

	for (size_t i = 0; i < 3; i++)
		cr_expect_str_eq(str(results[i], "status"), "ok", "run %zu: %s", i,
				 str(results[i], "error"));
	size_t plays = 0;
	long from = 0;
	for (long p = find(E_STARTED, "speaker", "\"play\"", 0); p >= 0;
	     p = find(E_STARTED, "speaker", "\"play\"", p + 1)) {
		long on = find(E_DONE, "speaker", "\"state\":\"ON\"", from);
		cr_expect(on >= 0 && on < p && log_[on].err == 0,
			  "play %zu comes after the speaker is switched on", plays);
		long plug = find(E_DONE, "amp_plug", "\"ON\"", 0);
		cr_expect(plug >= 0 && plug < on, "the plug is on before the speaker is");
		from = p + 1;
		plays++;
	}
	cr_expect_eq(plays, 3);
}

/* Play on a speaker that is off fails as the device would, at that step. */
Test(scene, play_on_off_speaker_fails)
{
	start("scenes:\n"
	      "  play:\n"
	      "    steps:\n"
	      "      - { device: radio, set: { play: \"x\" } }\n");
	cr_assert_eq(run("play"), 0);
	wait_results(1);
	cr_expect_str_eq(str(results[0], "status"), "failed");
	cr_expect_str_eq(str(results[0], "failed_step"), "steps[0]");
	cr_expect(strstr(str(results[0], "error"), "speaker is off"), "%s",
		  str(results[0], "error"));
	cJSON *s = status("play");
	cr_expect_str_eq(str(s, "state"), "failed");
	cr_expect_str_eq(str(s, "failed_step"), "steps[0]");
	cJSON_Delete(s);
}

/* Two parallel branches are both started before either is done; a
 * sequence starts its second command only after the first is done. */
Test(scene, parallel_overlaps_sequence_does_not)
{
	start("scenes:\n"
	      "  par:\n"
	      "    steps:\n"
	      "      - parallel:\n"
	      "          - { device: light, set: { state: \"ON\" } }\n"
	      "          - { device: amp_plug, set: { state: \"ON\" } }\n"
	      "  seq:\n"
	      "    steps:\n"
	      "      - { device: light, set: { state: \"OFF\" } }\n"
	      "      - { device: amp_plug, set: { state: \"OFF\" } }\n");
	cr_assert_eq(run("par"), 0);
	wait_results(1);
	cr_expect_str_eq(str(results[0], "status"), "ok");
	long l_start = find(E_STARTED, "light", NULL, 0);
	long a_start = find(E_STARTED, "amp_plug", NULL, 0);
	long first_done = find(E_DONE, NULL, NULL, 0);
	cr_expect(l_start >= 0 && a_start >= 0 && first_done > l_start && first_done > a_start,
		  "both branches start before either is done");

	size_t mark = n_log;
	cr_assert_eq(run("seq"), 0);
	wait_results(2);
	cr_expect_str_eq(str(results[1], "status"), "ok");
	long l_done = find(E_DONE, "light", NULL, mark);
	a_start = find(E_STARTED, "amp_plug", NULL, mark);
	cr_expect(l_done >= 0 && a_start > l_done, "the second step starts after the first");
}

/* A wait is woken by the state change that meets it, not before. */
Test(scene, wait_woken_by_state_change)
{
	start("scenes:\n"
	      "  w:\n"
	      "    steps:\n"
	      "      - { wait: { device: light, state: { state: \"ON\", brightness: 99 } } }\n"
	      "      - { device: amp_plug, set: { state: \"ON\" } }\n");
	cr_assert_eq(run("w"), 0);
	hf_run_for(&f, 200);
	cr_expect_eq(n_results, 0, "the wait holds");
	cJSON *s = status("w");
	cr_expect_str_eq(str(s, "state"), "running");
	cJSON_Delete(s);
	cr_expect_eq(find(E_STARTED, "amp_plug", NULL, 0), -1);

	size_t mark = n_log;
	submit("light", "{\"state\":\"ON\",\"brightness\":99}");
	wait_results(1);
	cr_expect_str_eq(str(results[0], "status"), "ok");
	/* The scene engine hears of the change before this test's listener
	 * does, so the order is read from the light's state when the next
	 * step started. */
	long next = find(E_STARTED, "amp_plug", NULL, mark);
	cr_assert_geq(next, 0);
	cr_expect(strstr(log_[next].light, "\"brightness\":99"),
		  "the next step starts once the light has changed: %s", log_[next].light);
}

/* `any`: the first condition met wins. */
Test(scene, wait_any)
{
	start("scenes:\n"
	      "  w:\n"
	      "    steps:\n"
	      "      - wait:\n"
	      "          any:\n"
	      "            - { device: light, state: { state: \"ON\" } }\n"
	      "            - { device: amp_plug, state: { state: \"ON\" } }\n");
	cr_assert_eq(run("w"), 0);
	hf_run_for(&f, 100);
	cr_expect_eq(n_results, 0);
	submit("amp_plug", "{\"state\":\"ON\"}");
	wait_results(1);
	cr_expect_str_eq(str(results[0], "status"), "ok");
}

Test(scene, timeout_fails_step)
{
	start("scenes:\n"
	      "  t:\n"
	      "    steps:\n"
	      "      - { delay: 10ms }\n"
	      "      - { wait: { device: light, state: { state: \"ON\" } }, timeout: 150ms }\n"
	      "      - { device: amp_plug, set: { state: \"ON\" } }\n");
	cr_assert_eq(run("t"), 0);
	wait_results(1);
	cr_expect_str_eq(str(results[0], "status"), "failed");
	cr_expect_str_eq(str(results[0], "failed_step"), "steps[1]");
	cr_expect_str_eq(str(results[0], "error"), "timeout after 150ms");
	cr_expect_eq(count(E_STARTED, "amp_plug", NULL), 0, "nothing runs after the failure");
}

/* retry re-runs a failed step: three attempts in all, then the failure. */
Test(scene, retry_then_fail)
{
	start("scenes:\n"
	      "  r:\n"
	      "    steps:\n"
	      "      - { device: radio, set: { play: \"x\" }, retry: 2 }\n");
	cr_assert_eq(run("r"), 0);
	wait_results(1);
	cr_expect_str_eq(str(results[0], "status"), "failed");
	cr_expect_eq(count(E_STARTED, "radio", "play"), 3);
}

/* A retry succeeds once the cause is gone: play fails while the radio is
 * off, the parallel branch switches it on, the second attempt plays. */
Test(scene, retry_then_succeed)
{
	start("scenes:\n"
	      "  r:\n"
	      "    steps:\n"
	      "      - parallel:\n"
	      "          - { device: radio, set: { play: \"x\" }, retry: 3 }\n"
	      "          - { device: radio, set: { state: \"ON\" } }\n");
	cr_assert_eq(run("r"), 0);
	wait_results(1);
	cr_expect_str_eq(str(results[0], "status"), "ok", "%s", str(results[0], "error"));
	cr_expect_eq(count(E_STARTED, "radio", "play"), 2);
}

/* continue_on_error: the failure is recorded, the scene goes on. */
Test(scene, continue_on_error)
{
	start("scenes:\n"
	      "  c:\n"
	      "    steps:\n"
	      "      - { device: radio, set: { play: \"x\" }, continue_on_error: true }\n"
	      "      - { device: light, set: { state: \"ON\" } }\n");
	cr_assert_eq(run("c"), 0);
	wait_results(1);
	cr_expect_str_eq(str(results[0], "status"), "ok");
	cJSON *ignored = cJSON_GetObjectItem(results[0], "ignored_errors");
	cr_assert_eq(cJSON_GetArraySize(ignored), 1);
	cr_expect_str_eq(str(cJSON_GetArrayItem(ignored, 0), "step"), "steps[0]");
	cr_expect_eq(count(E_DONE, "light", NULL), 1);
}

/* A failing branch fails a parallel block at its path and cancels the
 * other branch (a wait that would otherwise hold the run forever). */
Test(scene, failure_path_and_parallel_cancel)
{
	start("scenes:\n"
	      "  p:\n"
	      "    steps:\n"
	      "      - { delay: 10ms }\n"
	      "      - parallel:\n"
	      "          - { wait: { device: light, state: { brightness: 255 } } }\n"
	      "          - sequence:\n"
	      "              - { device: light, set: { state: \"ON\" } }\n"
	      "              - { device: radio, set: { play: \"x\" } }\n");
	cr_assert_eq(run("p"), 0);
	wait_results(1);
	cr_expect_str_eq(str(results[0], "status"), "failed");
	cr_expect_str_eq(str(results[0], "failed_step"), "steps[1].parallel[1].sequence[1]");
	cJSON *s = status("p");
	cr_expect_str_eq(str(s, "state"), "failed");
	cr_expect_str_eq(str(s, "failed_step"), "steps[1].parallel[1].sequence[1]");
	cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(s, "active")), 0);
	cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(s, "finished")), 1);
	cJSON_Delete(s);
}

/* Mode single: a second trigger is refused with an error event. */
Test(scene, mode_single)
{
	start("scenes:\n"
	      "  s:\n"
	      "    mode: single\n"
	      "    steps:\n"
	      "      - { device: light, set: { state: \"ON\" } }\n");
	char reason[256] = "";
	cr_assert_eq(run("s"), 0);
	cr_expect_eq(sh_scene_run(engine(), "s", on_done, NULL, reason, sizeof(reason)), -EBUSY);
	cr_expect_str_eq(reason, "scene s is already running");
	/* The caller that takes the reason reports it: no second event. */
	cr_expect_lt(find(E_ERROR, NULL, "scene s is already running", 0), 0);
	cr_expect_eq(sh_scene_run(engine(), "s", on_done, NULL, NULL, 0), -EBUSY);
	cr_expect_geq(find(E_ERROR, NULL, "scene s is already running", 0), 0);
	wait_results(1);
	hf_run_for(&f, 100);
	cr_expect_eq(n_results, 1);
	cr_expect_str_eq(str(results[0], "status"), "ok");
	cr_expect_eq(run("s"), 0, "it runs again once idle");
	wait_results(2);
}

/* Mode restart: each trigger cancels the running run; the last one
 * finishes, and the cancelled runs' queued commands are gone. */
Test(scene, mode_restart)
{
	start("scenes:\n"
	      "  r:\n"
	      "    mode: restart\n"
	      "    steps:\n"
	      "      - { device: light, set: { brightness: 10 } }\n"
	      "      - { device: light, set: { brightness: 20 } }\n");
	cr_assert_eq(run("r"), 0);
	cr_assert_eq(run("r"), 0);
	cr_assert_eq(run("r"), 0);
	wait_results(3);
	cr_expect_str_eq(str(results[0], "status"), "cancelled");
	cr_expect_str_eq(str(results[1], "status"), "cancelled");
	cr_expect_str_eq(str(results[2], "status"), "ok");
	hf_run_for(&f, 200);
	cr_expect_eq(sh_device_queue_length(hf_device(&f, "light")), 0);
	/* The first run's command was running and finished; the restarts'
	 * first commands were queued behind it and one of them was removed. */
	cr_expect_eq(count(E_STARTED, "light", "20"), 1, "only the last run's second step ran");
}

/* Mode queued: runs one after another, at most `max` waiting. */
Test(scene, mode_queued)
{
	start("scenes:\n"
	      "  q:\n"
	      "    mode: queued\n"
	      "    max: 1\n"
	      "    steps:\n"
	      "      - { device: light, set: { brightness: 10 } }\n"
	      "      - { delay: 20ms }\n"
	      "      - { device: amp_plug, set: { state: \"TOGGLE\" } }\n");
	cr_assert_eq(run("q"), 0);
	cr_assert_eq(run("q"), 0);
	cr_expect_eq(run("q"), -EBUSY, "the queue holds one");
	wait_results(2);
	cr_expect_str_eq(str(results[0], "status"), "ok");
	cr_expect_str_eq(str(results[1], "status"), "ok");
	long first_start = find(E_STARTED, "light", NULL, 0);
	long first_end = find(E_DONE, "amp_plug", NULL, 0);
	long second_start = find(E_STARTED, "light", NULL, (size_t)first_start + 1);
	cr_expect(first_end >= 0 && second_start > first_end,
		  "the second run starts after the first");
}

/* Mode parallel: up to `max` runs at once. */
Test(scene, mode_parallel)
{
	start("scenes:\n"
	      "  p:\n"
	      "    mode: parallel\n"
	      "    max: 2\n"
	      "    steps:\n"
	      "      - { delay: 100ms }\n"
	      "      - { device: light, set: { state: \"TOGGLE\" } }\n");
	cr_assert_eq(run("p"), 0);
	cr_assert_eq(run("p"), 0);
	cr_expect_eq(run("p"), -EBUSY);
	cJSON *s = status("p");
	cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(s, "active")), 2);
	cJSON_Delete(s);
	wait_results(2);
	cr_expect_str_eq(str(results[0], "status"), "ok");
	cr_expect_str_eq(str(results[1], "status"), "ok");
}

static bool light_started(struct hf *fx, void *arg)
{
	return find(E_STARTED, "light", NULL, 0) >= 0;
}

static bool light_idle(struct hf *fx, void *arg)
{
	return sh_device_queue_length(hf_device(&f, "light")) == 0;
}

/* Cancel mid-run: the running command finishes, the queued ones are
 * removed, nothing else runs, and the status says cancelled. */
Test(scene, cancel_leaves_no_queued_command)
{
	start("scenes:\n"
	      "  c:\n"
	      "    steps:\n"
	      "      - parallel:\n"
	      "          - { device: light, set: { brightness: 1 } }\n"
	      "          - { device: light, set: { brightness: 2 } }\n"
	      "          - { device: light, set: { brightness: 3 } }\n"
	      "      - { device: amp_plug, set: { state: \"ON\" } }\n");
	cr_assert_eq(run("c"), 0);
	cr_assert(hf_run_until(&f, light_started, NULL, GUARD_MS));
	cr_expect_eq(sh_device_queue_length(hf_device(&f, "light")), 3);
	cr_assert_eq(sh_scene_cancel(engine(), "c"), 0);
	wait_results(1);
	cr_expect_str_eq(str(results[0], "status"), "cancelled");
	cr_assert(hf_run_until(&f, light_idle, NULL, GUARD_MS));
	hf_run_for(&f, 200);
	cr_expect_eq(sh_device_queue_length(hf_device(&f, "light")), 0);
	cr_expect_eq(count(E_STARTED, "light", NULL), 1, "only the running command ran");
	cr_expect_eq(count(E_STARTED, "amp_plug", NULL), 0);
	cJSON *s = status("c");
	cr_expect_str_eq(str(s, "state"), "cancelled");
	cJSON_Delete(s);
	cr_expect_eq(sh_scene_cancel(engine(), "nope"), -ENOENT);
}

/* A scene step runs the other scene and waits for it; its failure is the
 * step's, and cancelling the outer run cancels the inner one. */
Test(scene, nested_scenes)
{
	start("scenes:\n"
	      "  inner:\n"
	      "    steps:\n"
	      "      - { device: light, set: { state: \"ON\" } }\n"
	      "  outer:\n"
	      "    steps:\n"
	      "      - { scene: inner }\n"
	      "      - { device: amp_plug, set: { state: \"ON\" } }\n"
	      "  bad_inner:\n"
	      "    steps:\n"
	      "      - { delay: 5ms }\n"
	      "      - { device: radio, set: { play: \"x\" } }\n"
	      "  bad_outer:\n"
	      "    steps:\n"
	      "      - { scene: bad_inner }\n"
	      "  slow_inner:\n"
	      "    steps:\n"
	      "      - { wait: { device: light, state: { brightness: 255 } } }\n"
	      "  slow_outer:\n"
	      "    steps:\n"
	      "      - { scene: slow_inner }\n");
	cr_assert_eq(run("outer"), 0);
	wait_results(1);
	cr_expect_str_eq(str(results[0], "status"), "ok");
	long l_done = find(E_DONE, "light", NULL, 0);
	long a_start = find(E_STARTED, "amp_plug", NULL, 0);
	cr_expect(l_done >= 0 && a_start > l_done, "the outer scene goes on after the inner");

	cr_assert_eq(run("bad_outer"), 0);
	wait_results(2);
	cr_expect_str_eq(str(results[1], "status"), "failed");
	cr_expect_str_eq(str(results[1], "failed_step"), "steps[0]");
	cr_expect(strstr(str(results[1], "error"), "scene bad_inner failed at steps[1]"), "%s",
		  str(results[1], "error"));

	cr_assert_eq(run("slow_outer"), 0);
	hf_run_for(&f, 50);
	cJSON *s = status("slow_inner");
	cr_expect_str_eq(str(s, "state"), "running");
	cJSON_Delete(s);
	cr_assert_eq(sh_scene_cancel(engine(), "slow_outer"), 0);
	wait_results(3);
	cr_expect_str_eq(str(results[2], "status"), "cancelled");
	s = status("slow_inner");
	cr_expect_str_eq(str(s, "state"), "cancelled");
	cJSON_Delete(s);
}

/* Reload: a run of an unchanged scene goes on; a run of a changed scene
 * is cancelled. */
Test(scene, reload_keeps_unchanged_cancels_changed)
{
	const char *scenes = "scenes:\n"
			     "  keep:\n"
			     "    steps:\n"
			     "      - { delay: 100ms }\n"
			     "      - { device: light, set: { state: \"ON\" } }\n"
			     "  change:\n"
			     "    steps:\n"
			     "      - { delay: 5s }\n";
	start(scenes);
	cr_assert_eq(run("keep"), 0);
	cr_assert_eq(run("change"), 0);
	hf_run_for(&f, 20);
	char *yaml;
	cr_assert(asprintf(&yaml, "%s%s", DEVICES,
			   "scenes:\n"
			   "  keep:\n"
			   "    steps:\n"
			   "      - { delay: 100ms }\n"
			   "      - { device: light, set: { state: \"ON\" } }\n"
			   "  change:\n"
			   "    steps:\n"
			   "      - { delay: 6s }\n") > 0);
	cr_assert_eq(hf_reload(&f, yaml, NULL), 0);
	free(yaml);
	wait_results(2);
	cr_expect_str_eq(str(results[0], "scene"), "change");
	cr_expect_str_eq(str(results[0], "status"), "cancelled");
	cr_expect_str_eq(str(results[1], "scene"), "keep");
	cr_expect_str_eq(str(results[1], "status"), "ok");
}

Test(scene, unknown_scene)
{
	start("scenes: {}\n");
	char reason[128] = "";
	cr_expect_eq(sh_scene_run(engine(), "nope", on_done, NULL, reason, sizeof(reason)),
		     -ENOENT);
	cr_expect_null(sh_scene_status(engine(), "nope"));
}

/* --- explain and graph of the demo scene (no hub needed) ------------------ */

static char *capture(int (*fn)(const struct sh_config *, const char *, FILE *),
		     const struct sh_config *config, const char *name, int *rc)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	cr_assert_not_null(out);
	*rc = fn(config, name, out);
	fclose(out);
	return text;
}

static struct sh_config *load_demo(void)
{
	struct sh_config *config = NULL;
	struct sh_diag diag = {0};
	int rc = sh_config_load(SMARTHUB_SOURCE_DIR "/config/demo.yaml", &config, &diag);
	sh_diag_print(&diag, stderr);
	sh_diag_clear(&diag);
	cr_assert_eq(rc, 0, "config/demo.yaml loads");
	return config;
}

/* The demo's movie_night scene (in *config, the caller frees it) through
 * fn, which must succeed: its output. Caller frees. */
static char *demo_movie_night(int (*fn)(const struct sh_config *, const char *, FILE *),
			      struct sh_config **config, const struct sh_scene_config **scene)
{
	*config = load_demo();
	*scene = sh_config_find_scene(*config, "movie_night");
	cr_assert_not_null(*scene);
	int rc;
	char *text = capture(fn, *config, "movie_night", &rc);
	cr_assert_eq(rc, 0);
	return text;
}

/* Counts the steps of a tree (blocks included). */
static size_t n_steps(const struct sh_step *step)
{
	size_t n = 1;
	for (size_t i = 0; i < step->n_children; i++)
		n += n_steps(step->children[i]);
	return n;
}

static void expect_paths(const struct sh_step *step, const char *text)
{
	char line[256];
	snprintf(line, sizeof(line), " %s: ", step->path);
	cr_expect(strstr(text, line), "the tree shows %s", step->path);
	for (size_t i = 0; i < step->n_children; i++)
		expect_paths(step->children[i], text);
}

Test(explain, demo_movie_night_tree)
{
	struct sh_config *config;
	const struct sh_scene_config *scene;
	char *text = demo_movie_night(sh_scene_explain, &config, &scene);
	cr_expect(strncmp(text, "scene movie_night", 17) == 0, "%s", text);
	/* One line for the scene and one per step, each under its parent. */
	size_t lines = 0;
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	cr_expect_eq(lines, 1 + n_steps(scene->root), "%s", text);
	expect_paths(scene->root, text);
	cr_expect(strstr(text, "  steps: sequence\n"), "%s", text);
	cr_expect(strstr(text, "device "), "%s", text);
	free(text);

	int rc;
	text = capture(sh_scene_explain, config, "no_such_scene", &rc);
	cr_expect_eq(rc, -ENOENT);
	cr_expect_str_eq(text, "");
	free(text);
	sh_config_free(config);
}

Test(explain, demo_movie_night_dot)
{
	struct sh_config *config;
	const struct sh_scene_config *scene;
	char *text = demo_movie_night(sh_scene_graph, &config, &scene);
	cr_expect(strncmp(text, "digraph \"movie_night\" {\n", 24) == 0, "%s", text);
	size_t parallels = 0, clusters = 0;
	for (const char *p = strstr(text, "subgraph cluster_"); p;
	     p = strstr(p + 1, "subgraph cluster_"))
		clusters++;
	for (size_t i = 0; i < scene->root->n_children; i++)
		parallels += scene->root->children[i]->type == SH_STEP_PARALLEL;
	cr_expect_geq(clusters, parallels, "each parallel block is a cluster");
	cr_expect(strstr(text, "label=\"start\""), "%s", text);
	cr_expect(strstr(text, "label=\"end\""), "%s", text);
	cr_expect(strstr(text, " -> "), "%s", text);
	size_t len = strlen(text);
	cr_expect(len > 2 && strcmp(text + len - 2, "}\n") == 0, "the graph is closed");
	free(text);
	sh_config_free(config);
}

/* A wait on a device that a reload replaces fails at once, naming it. */
Test(scene, wait_on_removed_device_fails)
{
	const char *scenes = "scenes:\n"
			     "  w:\n"
			     "    steps:\n"
			     "      - { wait: { device: light, state: { brightness: 3 } } }\n";
	start(scenes);
	cr_assert_eq(run("w"), 0);
	hf_run_for(&f, 50);
	cr_expect_eq(n_results, 0);
	/* The light's configuration changes, so the hub recreates it. */
	char *yaml;
	cr_assert(asprintf(&yaml, "%s%s", DEVICES, scenes) > 0);
	char *delay = strstr(yaml, "command_delay: 80ms");
	cr_assert_not_null(delay);
	memcpy(delay, "command_delay: 90ms", 19);
	cr_assert_eq(hf_reload(&f, yaml, NULL), 0);
	free(yaml);
	wait_results(1);
	cr_expect_str_eq(str(results[0], "status"), "failed");
	cr_expect_str_eq(str(results[0], "error"), "device light was removed");
}

/* on_start scenes run once the hub has started. */
static bool on_start_ran(struct hf *fx, void *arg)
{
	cJSON *s = sh_scene_status(fx->scenes, "boot");
	bool done = s && strcmp(str(s, "state"), "idle") == 0 &&
		    cJSON_IsNumber(cJSON_GetObjectItem(s, "duration_ms"));
	cJSON_Delete(s);
	return done;
}

Test(scene, on_start)
{
	start("on_start: [boot]\n"
	      "scenes:\n"
	      "  boot:\n"
	      "    steps:\n"
	      "      - { wait: { device: light, state: { availability: online } } }\n"
	      "      - { device: light, set: { state: \"ON\" } }\n");
	cr_assert(hf_run_until(&f, on_start_ran, NULL, GUARD_MS));
	cr_expect_str_eq(str(sh_device_state(hf_device(&f, "light")), "state"), "ON");
}
