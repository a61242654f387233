/* SPDX-License-Identifier: MIT */
/*
 * The automation core on a virtual clock with a fake world: loop
 * protection, max_per_minute, one total order (the same inputs give the
 * same runs), a reload that keeps the for: timer of an unchanged
 * automation and starts a changed one fresh, time triggers across a DST
 * day, a polar day in the trace, start triggers, the status object.
 */
#include "automations/automation.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct world {
	cJSON *states;
	char log[8192];
	char pending[16][64]; /* runs to report done */
	size_t n_pending;
};

static const cJSON *w_state(void *ctx, const char *device)
{
	struct world *w = ctx;
	return cJSON_GetObjectItemCaseSensitive(w->states, device);
}

static int w_run(void *ctx, const struct sh_automation_config *cfg, char *reason, size_t len)
{
	struct world *w = ctx;
	size_t n = strlen(w->log);
	snprintf(w->log + n, sizeof(w->log) - n, "%s;", cfg->name);
	if (w->n_pending < 16)
		snprintf(w->pending[w->n_pending++], 64, "%s", cfg->name);
	return 0;
}

static struct sh_config *load(const char *text)
{
	char path[] = "/tmp/sh-auto-engine-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	struct sh_diag diag = {0};
	struct sh_config *c = NULL;
	int r = sh_config_load(path, &c, &diag);
	cr_assert_eq(r, 0, "%s", diag.count ? diag.messages[0] : "?");
	sh_diag_clear(&diag);
	unlink(path);
	return c;
}

/* An engine on a fake world, and the configuration it runs (owned). */
struct rig {
	struct world w;
	struct sh_automations *e;
	struct sh_config *c;
};

/* The engine alone: no configuration applied yet. */
static void rig_new(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	struct sh_automation_env env = {.ctx = &r->w, .state = w_state, .run = w_run};
	r->w.states = cJSON_CreateObject();
	cr_assert_eq(sh_automations_new(&env, &r->e), 0);
}

/* The engine with `text` loaded and applied at `now`. */
static void rig_start(struct rig *r, const char *text, uint64_t now)
{
	rig_new(r);
	r->c = load(text);
	sh_automations_apply(r->e, r->c, now);
}

static void rig_stop(struct rig *r)
{
	sh_automations_free(r->e);
	sh_config_free(r->c);
	cJSON_Delete(r->w.states);
	memset(r, 0, sizeof(*r));
}

static void report(struct rig *r, const char *device, const char *state, uint64_t now)
{
	cJSON_DeleteItemFromObject(r->w.states, device);
	cJSON_AddItemToObject(r->w.states, device, cJSON_Parse(state));
	sh_automations_device_state(r->e, device, cJSON_GetObjectItem(r->w.states, device), now);
}

static void finish_runs(struct rig *r, uint64_t now)
{
	for (size_t i = 0; i < r->w.n_pending; i++)
		sh_automations_run_done(r->e, r->w.pending[i], "ok", NULL, now);
	r->w.n_pending = 0;
}

static char *status_text(struct sh_automations *e, const char *name)
{
	cJSON *s = sh_automations_status(e, name);
	char *t = cJSON_PrintUnformatted(s);
	cJSON_Delete(s);
	return t;
}

static char *trace_text(struct sh_automations *e, const char *name)
{
	cJSON *s = sh_automations_trace(e, name);
	char *t = cJSON_PrintUnformatted(s);
	cJSON_Delete(s);
	return t;
}

#define DEVICES                                                                                    \
	"devices:\n"                                                                               \
	"  temp: {driver: virtual, kind: sensor}\n"                                                \
	"  fan: {driver: virtual, kind: switch}\n"

Test(automation_engine, loop_protection_disables_after_five_own_retriggers)
{
	struct rig r;
	uint64_t t = 1000000;
	rig_start(&r,
		  DEVICES "automations:\n"
			  "  flip:\n"
			  "    triggers: [{device: fan, property: state}]\n"
			  "    steps: [{device: fan, set: {state: TOGGLE}}]\n",
		  t);
	report(&r, "fan", "{\"state\":\"OFF\"}", t);
	for (int i = 1; i <= 10; i++) {
		t += 100;
		report(&r, "fan", i % 2 ? "{\"state\":\"ON\"}" : "{\"state\":\"OFF\"}", t);
		finish_runs(&r, t + 10);
	}
	char *s = status_text(r.e, "flip");
	cr_assert(strstr(s, "\"enabled\":false"), "%s", s);
	cr_assert(strstr(s, "re-triggered by its own run's effects 6 times in a row"), "%s", s);
	cr_assert(strstr(s, "\"runs\":6"), "%s", s);
	free(s);
	rig_stop(&r);
}

Test(automation_engine, max_per_minute_caps_runs)
{
	struct rig r;
	uint64_t t = 5000000;
	rig_start(&r,
		  DEVICES "automations:\n"
			  "  often:\n"
			  "    max_per_minute: 3\n"
			  "    mode: parallel\n"
			  "    triggers: [{mqtt: \"x/+\"}]\n"
			  "    steps: [{device: fan, set: {state: \"ON\"}}]\n",
		  t);
	for (int i = 0; i < 5; i++)
		sh_automations_mqtt(r.e, "x/a", "1", 1, t + (uint64_t)i * 1000);
	cr_assert_str_eq(r.w.log, "often;often;often;");
	char *tr = trace_text(r.e, "often");
	cr_assert(strstr(tr, "skipped: max_per_minute (3) reached"), "%s", tr);
	free(tr);
	sh_automations_mqtt(r.e, "x/b", "1", 1, t + 61000);
	cr_assert_str_eq(r.w.log, "often;often;often;often;");
	rig_stop(&r);
}

static const char *play(const char *cfg_text)
{
	static char out[8192];
	struct rig r;
	uint64_t t = 1780308000000ull;
	rig_start(&r, cfg_text, t);
	const char *values[] = {"25", "31", "29", "35", "20", "33", "34", "10", "31"};
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		char state[64];
		snprintf(state, sizeof(state), "{\"temperature\":%s}", values[i]);
		report(&r, "temp", state, t + i * 700);
		sh_automations_tick(r.e, t + i * 700 + 300);
	}
	sh_automations_tick(r.e, t + 60000);
	snprintf(out, sizeof(out), "%s", r.w.log);
	rig_stop(&r);
	return out;
}

Test(automation_engine, same_inputs_same_runs)
{
	static const char cfg[] =
		DEVICES "automations:\n"
			"  a:\n"
			"    triggers: [{device: temp, property: temperature, above: 30, "
			"for: 1s}]\n"
			"    steps: [{device: fan, set: {state: \"ON\"}}]\n"
			"  b:\n"
			"    triggers: [{device: temp, property: temperature, above: 30}]\n"
			"    steps: [{device: fan, set: {state: \"OFF\"}}]\n";
	char first[8192];
	snprintf(first, sizeof(first), "%s", play(cfg));
	/* b fires at each crossing (31, 35, 33, 31); a when 33, 34 held 1s,
	 * and when the last 31 holds. */
	cr_assert_str_eq(first, "b;b;b;a;b;a;");
	cr_assert_str_eq(play(cfg), first);
}

Test(automation_engine, reload_keeps_unchanged_timers_and_restarts_changed)
{
	/* Two versions that differ only in change's for:. */
#define RELOAD_CFG(change_for)                                                                     \
	DEVICES "automations:\n"                                                                   \
		"  keep:\n"                                                                        \
		"    triggers: [{device: temp, property: temperature, above: 30, for: 10s}]\n"     \
		"    steps: [{device: fan, set: {state: \"ON\"}}]\n"                               \
		"  change:\n"                                                                      \
		"    triggers: [{device: temp, property: temperature, above: 30, for: " change_for \
		"}]\n"                                                                             \
		"    steps: [{device: fan, set: {state: \"OFF\"}}]\n"
	static const char v1[] = RELOAD_CFG("10s");
	static const char v2[] = RELOAD_CFG("5s");
#undef RELOAD_CFG
	struct rig r;
	uint64_t t = 1780308000000ull;
	rig_start(&r, v1, t);
	report(&r, "temp", "{\"temperature\":25}", t);
	report(&r, "temp", "{\"temperature\":31}", t + 1000);
	struct sh_config *c2 = load(v2);
	sh_automations_apply(r.e, c2, t + 2000);
	sh_config_free(r.c); /* as the hub does: the old one goes at once */
	r.c = c2;
	sh_automations_tick(r.e, t + 20000);
	/* keep's timer ran on; change started fresh from 31 (a first report:
	 * not armed), so it does not run. */
	cr_assert_str_eq(r.w.log, "keep;");
	char *tr = trace_text(r.e, "change");
	cr_assert(strstr(tr, "first report"), "%s", tr);
	free(tr);
	rig_stop(&r);
}

Test(automation_engine, time_trigger_on_the_spring_forward_day)
{
	setenv("TZ", "Europe/Amsterdam", 1);
	tzset();
	struct rig r;
	uint64_t t = 1774738800000ull; /* 2026-03-28 23:00 UTC */
	rig_start(&r,
		  DEVICES "automations:\n"
			  "  early:\n"
			  "    triggers: [{at: \"02:30\"}]\n"
			  "    steps: [{device: fan, set: {state: \"ON\"}}]\n",
		  t);
	cr_assert_eq(sh_automations_next_wake(r.e), 1774746000000ull, "03:00 CEST, the transition");
	sh_automations_tick(r.e, 1774746000000ull);
	cr_assert_str_eq(r.w.log, "early;");
	cr_assert_eq(sh_automations_next_wake(r.e), 1774830600000ull, "02:30 CEST the next day");
	rig_stop(&r);
}

Test(automation_engine, polar_day_has_no_sunrise_and_says_so)
{
	struct rig r;
	rig_start(&r,
		  "location: {latitude: 78.22, longitude: 15.65}\n" DEVICES "automations:\n"
		  "  dawn:\n"
		  "    triggers: [{sun: sunrise}]\n"
		  "    steps: [{device: fan, set: {state: \"ON\"}}]\n",
		  1782043200000ull); /* 2026-06-21 12:00 UTC */
	char *tr = trace_text(r.e, "dawn");
	cr_assert(strstr(tr, "no sunrise on 2026-06-") && strstr(tr, "polar day"), "%s", tr);
	free(tr);
	sh_automations_tick(r.e, 1782043200000ull + 3 * 86400000ull);
	cr_assert_str_eq(r.w.log, "");
	rig_stop(&r);
}

Test(automation_engine, start_trigger_and_status)
{
	struct rig r;
	rig_start(&r,
		  DEVICES "automations:\n"
			  "  boot:\n"
			  "    triggers: [{start: true}]\n"
			  "    steps: [{device: fan, set: {state: \"OFF\"}}]\n",
		  1780308000000ull);
	sh_automations_started(r.e, 1780308000000ull);
	sh_automations_started(r.e, 1780308001000ull);
	cr_assert_str_eq(r.w.log, "boot;");
	finish_runs(&r, 1780308000500ull);
	char *s = status_text(r.e, "boot");
	cr_assert_str_eq(s,
			 "{\"enabled\":true,\"state\":\"idle\",\"last_triggered\":\"2026-06-01T10:"
			 "00:00.000Z\",\"last_trigger\":{\"index\":0,\"type\":\"start\"},"
			 "\"last_result\":\"ok\",\"error\":null,\"runs\":1}");
	free(s);
	rig_stop(&r);
}

/* enabled/disabled and a pending for: of a minute survive a restart
 * (through the state file); a downtime over max_gap drops the timer. */
Test(automation_engine, state_file_survives_restart_within_max_gap)
{
	static const char cfg[] =
		DEVICES "automations:\n"
			"  slow:\n"
			"    max_gap: 1min\n"
			"    triggers: [{device: temp, property: temperature, above: 30, "
			"for: 2min}]\n"
			"    steps: [{device: fan, set: {state: \"ON\"}}]\n"
			"  off:\n"
			"    triggers: [{every: 1h}]\n"
			"    steps: [{device: fan, set: {state: \"OFF\"}}]\n";
	char dir[] = "/tmp/sh-auto-state-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/automations.json", dir);
	uint64_t t = 1780308000000ull;

	for (int gap_s = 30; gap_s <= 90; gap_s += 60) {
		unlink(path);
		/* One configuration for both runs, as a restart reads the same
		 * file: the rigs borrow it. */
		struct sh_config *c = load(cfg);
		struct rig r;
		rig_new(&r);
		sh_automations_set_state_file(r.e, path, t);
		sh_automations_apply(r.e, c, t);
		sh_automations_started(r.e, t);
		report(&r, "temp", "{\"temperature\":20}", t);
		report(&r, "temp", "{\"temperature\":31}", t + 1000);
		cr_assert_eq(sh_automations_set_enabled(r.e, "off", false, t + 2000), 0);
		sh_automations_tick(r.e, t + 15000);       /* the throttled write */
		sh_automations_save(r.e, t + 20000, true); /* shutdown */
		rig_stop(&r);

		/* The restart, gap_s after the shutdown. */
		rig_new(&r);
		uint64_t back = t + 20000 + (uint64_t)gap_s * 1000;
		sh_automations_set_state_file(r.e, path, back);
		sh_automations_apply(r.e, c, back);
		sh_automations_started(r.e, back);
		char *s = status_text(r.e, "off");
		cr_assert(strstr(s, "\"enabled\":false"), "%s", s);
		free(s);
		report(&r, "temp", "{\"temperature\":32}", back + 1000);
		sh_automations_tick(r.e, t + 1000 + 120000);
		if (gap_s < 60) {
			cr_assert_str_eq(r.w.log, "slow;", "resumed with its deadline (gap %d s)",
					 gap_s);
		} else {
			cr_assert_str_eq(r.w.log, "", "gap %d s is over max_gap", gap_s);
			char *tr = trace_text(r.e, "slow");
			cr_assert(strstr(tr, "first report after start"), "%s", tr);
			free(tr);
		}
		rig_stop(&r);
		sh_config_free(c);
	}
	unlink(path);
	rmdir(dir);
}
