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

static struct sh_automations *engine(struct world *w)
{
	struct sh_automation_env env = {.ctx = w, .state = w_state, .run = w_run};
	struct sh_automations *e = NULL;
	w->states = cJSON_CreateObject();
	cr_assert_eq(sh_automations_new(&env, &e), 0);
	return e;
}

static void report(struct sh_automations *e, struct world *w, const char *device, const char *state,
		   uint64_t now)
{
	cJSON_DeleteItemFromObject(w->states, device);
	cJSON_AddItemToObject(w->states, device, cJSON_Parse(state));
	sh_automations_device_state(e, device, cJSON_GetObjectItem(w->states, device), now);
}

static void finish_runs(struct sh_automations *e, struct world *w, uint64_t now)
{
	for (size_t i = 0; i < w->n_pending; i++)
		sh_automations_run_done(e, w->pending[i], "ok", NULL, now);
	w->n_pending = 0;
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
	struct world w = {0};
	struct sh_automations *e = engine(&w);
	struct sh_config *c = load(DEVICES "automations:\n"
					   "  flip:\n"
					   "    triggers: [{device: fan, property: state}]\n"
					   "    steps: [{device: fan, set: {state: TOGGLE}}]\n");
	uint64_t t = 1000000;
	sh_automations_apply(e, c, t);
	report(e, &w, "fan", "{\"state\":\"OFF\"}", t);
	for (int i = 1; i <= 10; i++) {
		t += 100;
		report(e, &w, "fan", i % 2 ? "{\"state\":\"ON\"}" : "{\"state\":\"OFF\"}", t);
		finish_runs(e, &w, t + 10);
	}
	char *s = status_text(e, "flip");
	cr_assert(strstr(s, "\"enabled\":false"), "%s", s);
	cr_assert(strstr(s, "re-triggered by its own run's effects 6 times in a row"), "%s", s);
	cr_assert(strstr(s, "\"runs\":6"), "%s", s);
	free(s);
	sh_automations_free(e);
	sh_config_free(c);
	cJSON_Delete(w.states);
}

Test(automation_engine, max_per_minute_caps_runs)
{
	struct world w = {0};
	struct sh_automations *e = engine(&w);
	struct sh_config *c = load(DEVICES "automations:\n"
					   "  often:\n"
					   "    max_per_minute: 3\n"
					   "    mode: parallel\n"
					   "    triggers: [{mqtt: \"x/+\"}]\n"
					   "    steps: [{device: fan, set: {state: \"ON\"}}]\n");
	uint64_t t = 5000000;
	sh_automations_apply(e, c, t);
	for (int i = 0; i < 5; i++)
		sh_automations_mqtt(e, "x/a", "1", 1, t + (uint64_t)i * 1000);
	cr_assert_str_eq(w.log, "often;often;often;");
	char *tr = trace_text(e, "often");
	cr_assert(strstr(tr, "skipped: max_per_minute (3) reached"), "%s", tr);
	free(tr);
	sh_automations_mqtt(e, "x/b", "1", 1, t + 61000);
	cr_assert_str_eq(w.log, "often;often;often;often;");
	sh_automations_free(e);
	sh_config_free(c);
	cJSON_Delete(w.states);
}

static const char *play(const char *cfg_text)
{
	static char out[8192];
	struct world w = {0};
	struct sh_automations *e = engine(&w);
	struct sh_config *c = load(cfg_text);
	uint64_t t = 1780308000000ull;
	sh_automations_apply(e, c, t);
	const char *values[] = {"25", "31", "29", "35", "20", "33", "34", "10", "31"};
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		char state[64];
		snprintf(state, sizeof(state), "{\"temperature\":%s}", values[i]);
		report(e, &w, "temp", state, t + i * 700);
		sh_automations_tick(e, t + i * 700 + 300);
	}
	sh_automations_tick(e, t + 60000);
	snprintf(out, sizeof(out), "%s", w.log);
	sh_automations_free(e);
	sh_config_free(c);
	cJSON_Delete(w.states);
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
	static const char v1[] =
		DEVICES "automations:\n"
			"  keep:\n"
			"    triggers: [{device: temp, property: temperature, above: 30, "
			"for: 10s}]\n"
			"    steps: [{device: fan, set: {state: \"ON\"}}]\n"
			"  change:\n"
			"    triggers: [{device: temp, property: temperature, above: 30, "
			"for: 10s}]\n"
			"    steps: [{device: fan, set: {state: \"OFF\"}}]\n";
	static const char v2[] =
		DEVICES "automations:\n"
			"  keep:\n"
			"    triggers: [{device: temp, property: temperature, above: 30, "
			"for: 10s}]\n"
			"    steps: [{device: fan, set: {state: \"ON\"}}]\n"
			"  change:\n"
			"    triggers: [{device: temp, property: temperature, above: 30, "
			"for: 5s}]\n"
			"    steps: [{device: fan, set: {state: \"OFF\"}}]\n";
	struct world w = {0};
	struct sh_automations *e = engine(&w);
	struct sh_config *c1 = load(v1);
	uint64_t t = 1780308000000ull;
	sh_automations_apply(e, c1, t);
	report(e, &w, "temp", "{\"temperature\":25}", t);
	report(e, &w, "temp", "{\"temperature\":31}", t + 1000);
	struct sh_config *c2 = load(v2);
	sh_automations_apply(e, c2, t + 2000);
	sh_config_free(c1); /* as the hub does: the old one goes at once */
	sh_automations_tick(e, t + 20000);
	/* keep's timer ran on; change started fresh from 31 (a first report:
	 * not armed), so it does not run. */
	cr_assert_str_eq(w.log, "keep;");
	char *tr = trace_text(e, "change");
	cr_assert(strstr(tr, "first report"), "%s", tr);
	free(tr);
	sh_automations_free(e);
	sh_config_free(c2);
	cJSON_Delete(w.states);
}

Test(automation_engine, time_trigger_on_the_spring_forward_day)
{
	setenv("TZ", "Europe/Amsterdam", 1);
	tzset();
	struct world w = {0};
	struct sh_automations *e = engine(&w);
	struct sh_config *c = load(DEVICES "automations:\n"
					   "  early:\n"
					   "    triggers: [{at: \"02:30\"}]\n"
					   "    steps: [{device: fan, set: {state: \"ON\"}}]\n");
	uint64_t t = 1774738800000ull; /* 2026-03-28 23:00 UTC */
	sh_automations_apply(e, c, t);
	cr_assert_eq(sh_automations_next_wake(e), 1774746000000ull, "03:00 CEST, the transition");
	sh_automations_tick(e, 1774746000000ull);
	cr_assert_str_eq(w.log, "early;");
	cr_assert_eq(sh_automations_next_wake(e), 1774830600000ull, "02:30 CEST the next day");
	sh_automations_free(e);
	sh_config_free(c);
	cJSON_Delete(w.states);
}

Test(automation_engine, polar_day_has_no_sunrise_and_says_so)
{
	struct world w = {0};
	struct sh_automations *e = engine(&w);
	struct sh_config *c =
		load("location: {latitude: 78.22, longitude: 15.65}\n" DEVICES "automations:\n"
		     "  dawn:\n"
		     "    triggers: [{sun: sunrise}]\n"
		     "    steps: [{device: fan, set: {state: \"ON\"}}]\n");
	sh_automations_apply(e, c, 1782043200000ull); /* 2026-06-21 12:00 UTC */
	char *tr = trace_text(e, "dawn");
	cr_assert(strstr(tr, "no sunrise on 2026-06-") && strstr(tr, "polar day"), "%s", tr);
	free(tr);
	sh_automations_tick(e, 1782043200000ull + 3 * 86400000ull);
	cr_assert_str_eq(w.log, "");
	sh_automations_free(e);
	sh_config_free(c);
	cJSON_Delete(w.states);
}

Test(automation_engine, start_trigger_and_status)
{
	struct world w = {0};
	struct sh_automations *e = engine(&w);
	struct sh_config *c = load(DEVICES "automations:\n"
					   "  boot:\n"
					   "    triggers: [{start: true}]\n"
					   "    steps: [{device: fan, set: {state: \"OFF\"}}]\n");
	sh_automations_apply(e, c, 1780308000000ull);
	sh_automations_started(e, 1780308000000ull);
	sh_automations_started(e, 1780308001000ull);
	cr_assert_str_eq(w.log, "boot;");
	finish_runs(e, &w, 1780308000500ull);
	char *s = status_text(e, "boot");
	cr_assert_str_eq(s,
			 "{\"enabled\":true,\"state\":\"idle\",\"last_triggered\":\"2026-06-01T10:"
			 "00:00.000Z\",\"last_trigger\":{\"index\":0,\"type\":\"start\"},"
			 "\"last_result\":\"ok\",\"error\":null,\"runs\":1}");
	free(s);
	sh_automations_free(e);
	sh_config_free(c);
	cJSON_Delete(w.states);
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
		struct world w = {0};
		struct sh_automations *e = engine(&w);
		struct sh_config *c = load(cfg);
		sh_automations_set_state_file(e, path, t);
		sh_automations_apply(e, c, t);
		sh_automations_started(e, t);
		report(e, &w, "temp", "{\"temperature\":20}", t);
		report(e, &w, "temp", "{\"temperature\":31}", t + 1000);
		cr_assert_eq(sh_automations_set_enabled(e, "off", false, t + 2000), 0);
		sh_automations_tick(e, t + 15000);       /* the throttled write */
		sh_automations_save(e, t + 20000, true); /* shutdown */
		sh_automations_free(e);
		cJSON_Delete(w.states);

		/* The restart, gap_s after the shutdown. */
		struct world w2 = {0};
		e = engine(&w2);
		uint64_t back = t + 20000 + (uint64_t)gap_s * 1000;
		sh_automations_set_state_file(e, path, back);
		sh_automations_apply(e, c, back);
		sh_automations_started(e, back);
		char *s = status_text(e, "off");
		cr_assert(strstr(s, "\"enabled\":false"), "%s", s);
		free(s);
		report(e, &w2, "temp", "{\"temperature\":32}", back + 1000);
		sh_automations_tick(e, t + 1000 + 120000);
		if (gap_s < 60) {
			cr_assert_str_eq(w2.log, "slow;", "resumed with its deadline (gap %d s)",
					 gap_s);
		} else {
			cr_assert_str_eq(w2.log, "", "gap %d s is over max_gap", gap_s);
			char *tr = trace_text(e, "slow");
			cr_assert(strstr(tr, "first report after start"), "%s", tr);
			free(tr);
		}
		sh_automations_free(e);
		sh_config_free(c);
		cJSON_Delete(w2.states);
	}
	unlink(path);
	rmdir(dir);
}
