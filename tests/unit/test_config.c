/* SPDX-License-Identifier: MIT */
/*
 * The configuration loader as a user meets it: the shipped demo and example
 * files load; every class of mistake gives exactly one
 * "file:line:column: message" line, all of them in one run; secrets and
 * environment variables are substituted (and missing ones are errors with
 * their position); durations parse as documented.
 *
 * Files are written to a private temporary directory per test (removed
 * afterwards) or read from tests/unit/configs/.
 */
#define _GNU_SOURCE /* nftw */
#include "config/config.h"
#include "config/node.h"
#include "hub_fixture.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIXTURES SMARTHUB_SOURCE_DIR "/tests/unit/configs"

static char tmpdir[64];

static void setup(void)
{
	strcpy(tmpdir, "/tmp/sh-config-test-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	unsetenv("SMARTHUB_DEMO_PORT");
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void teardown(void)
{
	nftw(tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(config, .init = setup, .fini = teardown);

/* Writes `text` to <tmpdir>/<name> and returns the path (static storage,
 * one per slot so two files can be alive at once). */
static const char *write_file(const char *name, const char *text)
{
	static char paths[4][PATH_MAX];
	static int slot;
	char *path = paths[slot++ % 4];

	snprintf(path, PATH_MAX, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "write %s", path);
	fputs(text, f);
	fclose(f);
	return path;
}

/* Loads `path`; the errors come back as "\n"-framed lines, so a whole line
 * can be looked for with strstr("\n<line>\n"). */
static int load(const char *path, struct sh_config **config, char **errors)
{
	struct sh_diag diag = {0};
	int rc = sh_config_load(path, config, &diag);
	*errors = hf_diag_lines(&diag);
	return rc;
}

static size_t count_lines(const char *errors)
{
	size_t n = 0;
	for (const char *p = errors + 1; *p; p++)
		n += *p == '\n';
	return n;
}

/* Asserts the text `path:line:column: message` is one of the error lines. */
static void expect_error(const char *errors, const char *path, unsigned line, unsigned column,
			 const char *message)
{
	char want[2048];
	snprintf(want, sizeof(want), "\n%s:%u:%u: %s\n", path, line, column, message);
	cr_expect(strstr(errors, want), "expected error:%swithin:%s", want, errors);
}

/* Loads text that must fail with exactly the one error given. */
static void expect_only_error(const char *text, unsigned line, unsigned column, const char *message)
{
	const char *path = write_file("bad.yaml", text);
	struct sh_config *config = (void *)1;
	char *errors;
	int rc = load(path, &config, &errors);

	cr_expect_eq(rc, -EINVAL, "rc %d for:\n%s", rc, text);
	cr_expect_null(config);
	expect_error(errors, path, line, column, message);
	cr_expect_eq(count_lines(errors), 1, "one error only:%s", errors);
	free(errors);
}

static struct sh_config *load_ok(const char *path)
{
	struct sh_config *config = NULL;
	char *errors;
	int rc = load(path, &config, &errors);

	cr_assert_eq(rc, 0, "%s loads, but:%s", path, errors);
	cr_assert_not_null(config);
	free(errors);
	return config;
}

/* --- the shipped files ----------------------------------------------------- */

Test(config, demo_loads)
{
	struct sh_config *c = load_ok(SMARTHUB_SOURCE_DIR "/config/demo.yaml");

	cr_expect_str_eq(c->mqtt.url, "tcp://127.0.0.1:1883");
	cr_expect(c->homeassistant.discovery);
	cr_expect_eq(c->n_devices, 8);
	cr_expect_eq(c->n_scenes, 3);

	const struct sh_device_config *speaker = sh_config_find_device(c, "living_speaker");
	cr_assert_not_null(speaker);
	cr_expect_str_eq(speaker->kind, "speaker");
	cr_expect_str_eq(speaker->driver, "virtual");
	cr_assert_eq(speaker->n_depends_on, 1);
	cr_expect_str_eq(speaker->depends_on[0], "amp_plug");
	/* Driver keys, and only those, are the options, positions intact. */
	cr_assert_not_null(speaker->options);
	const struct sh_node *power = sh_node_get(speaker->options, "needs_power");
	cr_assert_not_null(power);
	cr_expect_str_eq(power->value, "amp_plug");
	cr_expect_str_eq(power->file, c->path);
	cr_expect_gt(power->line, 1);
	cr_expect_null(sh_node_get(speaker->options, "driver"));
	cr_expect_null(sh_node_get(speaker->options, "depends_on"));
	cr_expect_not_null(sh_node_get(speaker->options, "connect_delay"));

	const struct sh_device_config *garage = sh_config_find_device(c, "garage_door");
	cr_assert_not_null(garage);
	cr_expect_str_eq(sh_node_get(garage->options, "unreachable")->value, "true");

	const struct sh_scene_config *movie = sh_config_find_scene(c, "movie_night");
	cr_assert_not_null(movie);
	cr_expect_eq(movie->mode, SH_SCENE_RESTART);
	cr_assert_not_null(movie->root);
	cr_expect_str_eq(movie->root->path, "steps");
	cr_assert_eq(movie->root->n_children, 6);
	const struct sh_step *par = movie->root->children[0];
	cr_expect_eq(par->type, SH_STEP_PARALLEL);
	cr_assert_eq(par->n_children, 2);
	cr_expect_str_eq(par->children[1]->path, "steps[0].parallel[1]");
	cr_expect_str_eq(par->children[1]->device, "amp_plug");
	const struct sh_step *wait = movie->root->children[1];
	cr_expect_eq(wait->type, SH_STEP_WAIT);
	cr_expect_eq(wait->timeout_ms, 10000);
	cr_assert_eq(wait->n_conditions, 1);
	cr_expect_str_eq(
		cJSON_GetObjectItem(wait->conditions[0].state, "availability")->valuestring,
		"online");
	const struct sh_step *on = movie->root->children[2];
	cr_expect_eq(on->retry, 2);
	cr_expect_eq(cJSON_GetObjectItem(on->set, "volume")->valuedouble, 30);
	cr_expect_eq(movie->root->children[4]->delay_ms, 2000);
	cr_expect_eq(movie->root->children[5]->type, SH_STEP_SCENE);
	cr_expect(movie->root->children[5]->continue_on_error);
	sh_config_free(c);
}

Test(config, demo_port_from_environment)
{
	setenv("SMARTHUB_DEMO_PORT", "18831", 1);
	struct sh_config *c = load_ok(SMARTHUB_SOURCE_DIR "/config/demo.yaml");
	cr_expect_str_eq(c->mqtt.url, "tcp://127.0.0.1:18831");
	sh_config_free(c);
}

Test(config, example_loads)
{
	struct sh_config *c = load_ok(SMARTHUB_SOURCE_DIR "/config/smarthub.yaml");

	cr_expect_eq(c->n_devices, 4);
	cr_expect_str_eq(c->plugin_dir, SMARTHUB_DEFAULT_PLUGIN_DIR);
	const struct sh_device_config *plug = sh_config_find_device(c, "amp_plug");
	cr_assert_not_null(plug);
	const struct sh_node *on = sh_node_get(plug->options, "on");
	cr_assert_not_null(on);
	cr_expect_eq(on->type, SH_NODE_SEQ);
	cr_expect_eq(sh_config_find_device(c, "living_speaker")->min_interval_ms, 200);
	/* The installed configuration keeps the unique default client id: a
	 * fixed "smarthub" would let any client of that id kick the hub off. */
	cr_expect(!strncmp(c->mqtt.client_id, "smarthub-", 9), "%s", c->mqtt.client_id);
	cr_expect(c->mqtt.request_connection);
	sh_config_free(c);
}

Test(config, empty_file_gives_defaults)
{
	struct sh_config *c = load_ok(write_file("empty.yaml", "# nothing yet\n"));

	cr_expect_str_eq(c->mqtt.url, "tcp://127.0.0.1:1883");
	cr_expect_str_eq(c->mqtt.base_topic, "smarthub");
	cr_expect(!strncmp(c->mqtt.client_id, "smarthub-", 9), "%s", c->mqtt.client_id);
	cr_expect_null(c->mqtt.password);
	cr_expect_eq(c->mqtt.keepalive_s, 60);
	cr_expect_eq(c->mqtt.qos, 0);
	cr_expect(c->mqtt.retain);
	cr_expect(c->mqtt.request_connection);
	cr_expect_eq(c->mqtt.requests_per_minute, 12);
	cr_expect_eq(c->mqtt.requests_per_second, 20);
	cr_expect_eq(c->mqtt.reconnect.initial_ms, 1000);
	cr_expect_eq(c->mqtt.reconnect.max_ms, 30000);
	cr_expect_str_eq(c->homeassistant.prefix, "homeassistant");
	cr_expect_str_eq(c->homeassistant.status_topic, "homeassistant/status");
	cr_expect_str_eq(c->plugin_dir, SMARTHUB_DEFAULT_PLUGIN_DIR);
	cr_expect_eq(c->log_level, SH_LOG_INFO);
	cr_expect_eq(c->hub.workers, 2);
	cr_expect_eq(c->n_devices, 0);
	sh_config_free(c);
}

Test(config, device_defaults_and_common_keys)
{
	struct sh_config *c =
		load_ok(write_file("d.yaml", "devices:\n"
					     "  lamp: { driver: virtual, kind: light }\n"
					     "  plug:\n"
					     "    driver: virtual\n"
					     "    kind: switch\n"
					     "    name: The plug\n"
					     "    depends_on: lamp\n"
					     "    connect_timeout: 1.5s\n"
					     "    command_timeout: 1m\n"
					     "    min_interval: 250\n"
					     "    queue_limit: 3\n"
					     "    queue_while_offline: true\n"
					     "    backoff: { initial: 2s, max: 5m, factor: 1.5, "
					     "jitter: 0 }\n"));
	const struct sh_device_config *lamp = sh_config_find_device(c, "lamp");
	cr_expect_str_eq(lamp->name, "lamp");
	cr_expect_eq(lamp->connect_timeout_ms, 10000);
	cr_expect_eq(lamp->queue_limit, 16);
	cr_expect_eq(lamp->backoff.max_ms, 60000);
	cr_expect_eq(lamp->options->n_items, 0);
	const struct sh_device_config *plug = sh_config_find_device(c, "plug");
	cr_expect_str_eq(plug->name, "The plug");
	cr_assert_eq(plug->n_depends_on, 1);
	cr_expect_str_eq(plug->depends_on[0], "lamp");
	cr_expect_eq(plug->connect_timeout_ms, 1500);
	cr_expect_eq(plug->command_timeout_ms, 60000);
	cr_expect_eq(plug->min_interval_ms, 250);
	cr_expect_eq(plug->queue_limit, 3);
	cr_expect(plug->queue_while_offline);
	cr_expect_eq(plug->backoff.initial_ms, 2000);
	cr_expect_eq(plug->backoff.max_ms, 300000);
	cr_expect_eq(plug->backoff.factor, 1.5);
	cr_expect_eq(plug->backoff.jitter, 0);
	sh_config_free(c);
}

Test(config, fingerprints_follow_changes)
{
	const char *a = write_file("a.yaml", "devices:\n"
					     "  lamp: { driver: virtual, kind: light, seed: 1 }\n"
					     "  plug: { driver: virtual, kind: switch }\n");
	const char *b = write_file("b.yaml", "devices:\n"
					     "  plug:   { driver: virtual,   kind: switch }\n"
					     "  lamp: { driver: virtual, kind: light, seed: 2 }\n");
	struct sh_config *ca = load_ok(a), *cb = load_ok(b);

	/* Layout and order do not matter; a changed option does. */
	cr_expect_str_eq(sh_config_find_device(ca, "plug")->fingerprint,
			 sh_config_find_device(cb, "plug")->fingerprint);
	cr_expect_str_neq(sh_config_find_device(ca, "lamp")->fingerprint,
			  sh_config_find_device(cb, "lamp")->fingerprint);
	sh_config_free(ca);
	sh_config_free(cb);
}

Test(config, summary_never_shows_the_password)
{
	struct sh_config *c = load_ok(FIXTURES "/secrets/smarthub.yaml");
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	sh_config_print_summary(c, out);
	fclose(out);
	cr_expect(strstr(text, "is valid\n"), "%s", text);
	cr_expect(strstr(text, "user hub, password set"), "%s", text);
	cr_expect(strstr(text, "devices: 1 (light 1)\n"), "%s", text);
	cr_expect(strstr(text, "  lamp  light  virtual\n"), "%s", text);
	cr_expect_null(strstr(text, "hunter2"), "%s", text);
	free(text);
	sh_config_free(c);
}

Test(config, summary_hides_any_secret_value)
{
	write_file("secrets.yaml", "topic: zz-secret-topic\ndrv: zzsecretdrv\n");
	struct sh_config *c = load_ok(
		write_file("s.yaml", "mqtt:\n  base_topic: !secret topic\n"
				     "devices:\n  lamp: { driver: !secret drv, kind: light }\n"));
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	cr_expect_str_eq(c->mqtt.base_topic, "zz-secret-topic");
	sh_config_print_summary(c, out);
	fclose(out);
	cr_expect(strstr(text, "base topic (secret)"), "%s", text);
	cr_expect_null(strstr(text, "zz"), "%s", text);
	free(text);
	sh_config_free(c);

	/* Nor does an error message quote one. */
	write_file("secrets.yaml", "dep: zz-secret-dep\nt: zz-secret-t\n");
	const char *path = write_file("e.yaml", "devices:\n  lamp:\n    driver: virtual\n"
						"    kind: light\n    depends_on: !secret dep\n"
						"    connect_timeout: !secret t\n");
	char *errors;
	cr_expect_eq(load(path, &c, &errors), -EINVAL);
	expect_error(errors, path, 5, 17, "devices.lamp.depends_on: unknown device (secret)");
	expect_error(errors, path, 6, 22,
		     "bad duration (secret) for devices.lamp.connect_timeout (use e.g. 250ms, 2s, "
		     "5m)");
	cr_expect_null(strstr(errors, "zz"), "%s", errors);
	free(errors);
}

/* --- substitution ------------------------------------------------------------ */

Test(config, secrets_are_substituted)
{
	struct sh_config *c = load_ok(FIXTURES "/secrets/smarthub.yaml");
	cr_expect_str_eq(c->mqtt.password, "hunter2-secret");
	const struct sh_node *token =
		sh_node_get(sh_config_find_device(c, "lamp")->options, "token");
	cr_assert_not_null(token);
	cr_expect_str_eq(token->value, "abc123");
	cr_expect(sh_node_is_secret(token));
	sh_config_free(c);
}

Test(config, missing_secret_is_an_error_at_its_position)
{
	struct sh_config *c;
	char *errors;
	int rc = load(FIXTURES "/secrets/missing_key.yaml", &c, &errors);

	cr_expect_eq(rc, -EINVAL);
	expect_error(errors, FIXTURES "/secrets/missing_key.yaml", 2, 13,
		     "secret 'no_such_secret' is not in " FIXTURES "/secrets/secrets.yaml");
	cr_expect_eq(count_lines(errors), 1, "%s", errors);
	free(errors);
}

Test(config, missing_secrets_file_is_an_error)
{
	char want[PATH_MAX + 128];
	snprintf(want, sizeof(want),
		 "secret 'pw': cannot read %s/secrets.yaml: No such file or directory", tmpdir);
	expect_only_error("mqtt:\n  password: !secret pw\n", 2, 13, want);
}

Test(config, environment_variables)
{
	setenv("SH_TEST_HOST", "10.0.0.7", 1);
	setenv("SH_TEST_EMPTY", "", 1);
	unsetenv("SH_TEST_UNSET");
	struct sh_config *c = load_ok(
		write_file("env.yaml", "mqtt:\n"
				       "  url: tcp://${SH_TEST_HOST}:${SH_TEST_UNSET:-1884}\n"
				       "  client_id: hub-${SH_TEST_EMPTY:-x}-$${literal}\n"
				       "  username: \"${SH_TEST_HOST}\"\n"));
	cr_expect_str_eq(c->mqtt.url, "tcp://10.0.0.7:1884");
	cr_expect_str_eq(c->mqtt.client_id, "hub-x-${literal}");
	cr_expect_str_eq(c->mqtt.username, "10.0.0.7");
	sh_config_free(c);
}

Test(config, missing_variable_is_an_error_at_its_position)
{
	unsetenv("SH_TEST_UNSET");
	expect_only_error("mqtt:\n  url: tcp://${SH_TEST_UNSET}:1883\n", 2, 8,
			  "environment variable 'SH_TEST_UNSET' is not set (or write "
			  "${SH_TEST_UNSET:-default})");
}

Test(config, password_file)
{
	write_file("mqtt.pass", "from-a-file\n");
	struct sh_config *c = load_ok(write_file("pf.yaml", "mqtt:\n  password_file: mqtt.pass\n"));
	cr_expect_str_eq(c->mqtt.password, "from-a-file");
	sh_config_free(c);

	char want[PATH_MAX + 128];
	snprintf(want, sizeof(want),
		 "mqtt.password_file: cannot read '%s/nope.pass': No such file or directory",
		 tmpdir);
	expect_only_error("mqtt:\n  password_file: nope.pass\n", 2, 18, want);
}

/* --- one line per mistake ---------------------------------------------------- */

Test(config, unknown_keys)
{
	expect_only_error("mqtt:\n  url: tcp://127.0.0.1:1883\n  foo: 1\n", 3, 3,
			  "unknown key 'foo' in mqtt");
	expect_only_error("mqtt:\n  keepalve: 30\n", 2, 3,
			  "unknown key 'keepalve' in mqtt (did you mean 'keepalive'?)");
	expect_only_error("devicez: {}\n", 1, 1,
			  "unknown key 'devicez' in the configuration (did you mean 'devices'?)");
	expect_only_error("scenes:\n  s:\n    steps:\n      - { delay: 1s, colour: red }\n", 4, 22,
			  "unknown key 'colour' in scenes.s.steps[0]");
}

Test(config, wrong_types)
{
	expect_only_error("mqtt:\n  keepalive: often\n", 2, 14,
			  "mqtt.keepalive must be an integer from 0 to 65535");
	expect_only_error("mqtt:\n  retain: perhaps\n", 2, 11, "mqtt.retain must be true or false");
	expect_only_error("mqtt: [a, b]\n", 1, 7,
			  "mqtt must be a mapping, not a list: write 'key: value' lines (e.g. "
			  "'lamp: {driver: virtual, kind: light}'), not '- item' lines");
	expect_only_error("mqtt:\n  url: { host: x }\n", 2, 8, "mqtt.url must be a string");
	expect_only_error("devices:\n  lamp: { driver: virtual, kind: light, queue_limit: 0 }\n", 2,
			  54, "devices.lamp.queue_limit must be an integer from 1 to 1000");
	expect_only_error("log:\n  level: loud\n", 2, 10,
			  "log.level must be one of err, warning, notice, info, debug");
}

Test(config, request_limits_are_range_checked)
{
	expect_only_error("mqtt:\n  requests_per_second: 0\n", 2, 24,
			  "mqtt.requests_per_second must be an integer from 1 to 10000");
	expect_only_error("mqtt:\n  requests_per_minute: 10001\n", 2, 24,
			  "mqtt.requests_per_minute must be an integer from 1 to 10000");

	struct sh_config *c =
		load_ok(write_file("limits.yaml", "mqtt:\n  requests_per_second: 5\n"));
	cr_expect_eq(c->mqtt.requests_per_second, 5);
	sh_config_free(c);
}

Test(config, bad_duration)
{
	expect_only_error("devices:\n  lamp:\n    driver: virtual\n    kind: light\n"
			  "    connect_timeout: 2 seconds\n",
			  5, 22,
			  "bad duration '2 seconds' for devices.lamp.connect_timeout (use e.g. "
			  "250ms, 2s, 5m)");
}

Test(config, device_ids)
{
	expect_only_error("devices:\n  a/b: { driver: virtual, kind: light }\n", 2, 3,
			  "device id 'a/b' cannot be an MQTT topic level (no '/', '+', '#', not "
			  "empty)");
	expect_only_error("devices:\n  bridge: { driver: virtual, kind: light }\n", 2, 3,
			  "device id 'bridge' is reserved (smarthub/bridge/... is the hub's own "
			  "topic)");
	expect_only_error("devices:\n  lamp: { kind: light }\n", 2, 3,
			  "missing key 'driver' in devices.lamp");
	expect_only_error("devices:\n  lamp: { driver: virtual, kind: lamp }\n", 2, 34,
			  "devices.lamp.kind 'lamp' is not a device kind (light, switch, speaker, "
			  "sensor, cover, lock, climate, fan, button, custom)");
	expect_only_error("devices:\n  lamp: { driver: ../evil, kind: light }\n", 2, 19,
			  "devices.lamp.driver must be a plugin name (letters, digits, '_', '-')");
}

Test(config, names_are_bounded_so_no_topic_is_truncated)
{
	char text[512];
	char id[SH_CONFIG_ID_MAX + 2];
	memset(id, 'x', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	snprintf(text, sizeof(text), "devices:\n  %s: { driver: virtual, kind: light }\n", id);
	char message[160];
	snprintf(message, sizeof(message), "device id '%.60s...' is longer than %u bytes", id,
		 SH_CONFIG_ID_MAX);
	expect_only_error(text, 2, 3, message);
	id[SH_CONFIG_ID_MAX] = '\0'; /* exactly the bound: fine */
	snprintf(text, sizeof(text), "devices:\n  %s: { driver: virtual, kind: light }\n", id);
	struct sh_config *c = load_ok(write_file("ok.yaml", text));
	sh_config_free(c);
}

Test(config, what_the_runtime_cannot_honour_is_refused_at_load)
{
	expect_only_error("mqtt:\n  url: wss://broker:443\n", 2, 8,
			  "mqtt.url: wss:// (MQTT over TLS WebSockets) is not supported; use "
			  "mqtts://host:8883, or ws:// on a trusted network");
	expect_only_error("hub:\n  workers: 17\n", 2, 12,
			  "hub.workers must be an integer from 1 to 16");
}

Test(config, duplicate_key)
{
	expect_only_error("devices:\n  lamp: { driver: virtual, kind: light }\n"
			  "  lamp: { driver: virtual, kind: switch }\n",
			  3, 3, "duplicate key 'lamp' (first at line 2)");
}

Test(config, dangling_depends_on)
{
	expect_only_error("devices:\n  speaker:\n    driver: virtual\n    kind: speaker\n"
			  "    depends_on: [amp]\n",
			  5, 18, "devices.speaker.depends_on: unknown device 'amp'");
}

Test(config, depends_on_cycle)
{
	expect_only_error("devices:\n"
			  "  a: { driver: virtual, kind: switch, depends_on: [b] }\n"
			  "  b: { driver: virtual, kind: switch, depends_on: c }\n"
			  "  c: { driver: virtual, kind: switch, depends_on: [a] }\n",
			  4, 52, "depends_on cycle: a -> b -> c -> a");
	expect_only_error("devices:\n  a: { driver: virtual, kind: switch, depends_on: a }\n", 2,
			  51, "depends_on cycle: a -> a");
}

static const char *const scene_devices = "devices:\n"
					 "  lamp: { driver: virtual, kind: light }\n"
					 "  temp: { driver: virtual, kind: sensor }\n";

static void expect_scene_error(const char *scenes, unsigned line, unsigned column,
			       const char *message)
{
	char text[4096];
	snprintf(text, sizeof(text), "%s%s", scene_devices, scenes);
	/* Lines are counted in the whole file: the devices take 3. */
	expect_only_error(text, line + 3, column, message);
}

Test(config, scene_errors)
{
	expect_scene_error(
		"scenes:\n  s:\n    steps:\n      - { device: lampe, set: { state: ON } }\n", 4, 19,
		"scenes.s.steps[0]: unknown device 'lampe'");
	expect_scene_error(
		"scenes:\n  s:\n    steps:\n      - { device: temp, set: { state: ON } }\n", 4, 19,
		"scenes.s.steps[0]: device 'temp' is a sensor and takes no commands");
	expect_scene_error(
		"scenes:\n  s:\n    steps:\n      - { device: lamp, set: { brightness: 999 } }\n",
		4, 30, "scenes.s.steps[0].set: brightness must be an integer from 0 to 255");
	expect_scene_error("scenes:\n  s:\n    steps:\n      - { scene: nope }\n", 4, 18,
			   "scenes.s: unknown scene 'nope'");
	expect_scene_error("scenes:\n  s:\n    mode: sometimes\n    steps: []\n", 3, 11,
			   "scenes.s.mode must be one of single, restart, queued, parallel");
	expect_scene_error("scenes:\n  s:\n    steps:\n      - { retry: 1 }\n", 4, 9,
			   "scenes.s.steps[0] needs one of device, delay, wait, scene, sequence, "
			   "parallel");
	expect_scene_error("scenes:\n  s:\n    steps:\n      - { delay: 1s, scene: s2 }\n"
			   "  s2: { steps: [] }\n",
			   4, 22,
			   "scenes.s.steps[0] has both 'delay' and 'scene' (one action per step; "
			   "combine steps with sequence or parallel)");
	expect_scene_error("scenes:\n  s:\n    steps:\n      - sequence:\n"
			   "          - parallel:\n              - { delay: 1s, retry: 11 }\n",
			   6, 37,
			   "scenes.s.steps[0].sequence[0].parallel[0].retry must be an integer "
			   "from 0 to 10");
	expect_scene_error("scenes:\n  s:\n    steps:\n      - wait: { device: lamp, state: "
			   "{ availability: maybe } }\n",
			   4, 54,
			   "scenes.s.steps[0].wait.state.availability must be online or offline");
	expect_scene_error("scenes:\n  s: { mode: single }\n", 2, 6,
			   "missing key 'steps' in scenes.s");
	expect_scene_error("on_start: [s, t]\nscenes:\n  s: { steps: [] }\n", 1, 15,
			   "on_start: unknown scene 't'");
}

Test(config, scene_calls_itself)
{
	expect_scene_error("scenes:\n  s:\n    steps:\n      - { scene: s }\n", 4, 18,
			   "scene cycle: s -> s");
	expect_scene_error("scenes:\n"
			   "  a: { steps: [ { scene: b } ] }\n"
			   "  b: { steps: [ { parallel: [ { delay: 1s }, { scene: a } ] } ] }\n",
			   3, 55, "scene cycle: a -> b -> a");
}

Test(config, wait_any_and_paths)
{
	char text[4096];
	snprintf(text, sizeof(text),
		 "%sscenes:\n"
		 "  s:\n"
		 "    mode: queued\n"
		 "    max: 3\n"
		 "    steps:\n"
		 "      - wait:\n"
		 "          any:\n"
		 "            - { device: lamp, state: { state: \"ON\" } }\n"
		 "            - { device: temp, state: { temperature: 21.5 } }\n"
		 "        timeout: 500ms\n"
		 "      - sequence:\n"
		 "          - { delay: 1s }\n"
		 "          - parallel:\n"
		 "              - { device: lamp, set: { state: \"OFF\" }, continue_on_error: yes "
		 "}\n",
		 scene_devices);
	struct sh_config *c = load_ok(write_file("w.yaml", text));
	const struct sh_scene_config *s = sh_config_find_scene(c, "s");
	cr_expect_eq(s->mode, SH_SCENE_QUEUED);
	cr_expect_eq(s->max, 3);
	const struct sh_step *wait = s->root->children[0];
	cr_expect_str_eq(wait->path, "steps[0]");
	cr_assert_eq(wait->n_conditions, 2);
	cr_expect_str_eq(wait->conditions[1].device, "temp");
	cr_expect_eq(cJSON_GetObjectItem(wait->conditions[1].state, "temperature")->valuedouble,
		     21.5);
	cr_expect_eq(wait->timeout_ms, 500);
	const struct sh_step *leaf = s->root->children[1]->children[1]->children[0];
	cr_expect_str_eq(leaf->path, "steps[1].sequence[1].parallel[0]");
	cr_expect(leaf->continue_on_error);
	cr_expect_str_eq(cJSON_GetObjectItem(leaf->set, "state")->valuestring, "OFF");
	sh_config_free(c);
}

Test(config, yaml_syntax_error_position)
{
	struct sh_config *c;
	char *errors;
	const char *path = FIXTURES "/syntax_error.yaml";
	int rc = load(path, &c, &errors);

	cr_expect_eq(rc, -EINVAL);
	expect_error(errors, path, 7, 1,
		     "YAML syntax error: did not find expected ',' or ']' (while parsing a flow "
		     "sequence at line 6, column 11)");
	cr_expect_eq(count_lines(errors), 1, "%s", errors);
	free(errors);

	expect_only_error("mqtt:\n  url: x\n bad indent: 1\n", 3, 2,
			  "YAML syntax error: did not find expected key (while parsing a block "
			  "mapping at line 1, column 1): check the indentation of the line above");
	expect_only_error("mqtt:\n\turl: x\n", 2, 1,
			  "YAML syntax error: found character that cannot start any token (while "
			  "scanning for the next token at line 2, column 1): a tab? tabs cannot "
			  "indent YAML; use spaces");
}

Test(config, several_errors_in_one_run)
{
	struct sh_config *c;
	char *errors;
	const char *path = FIXTURES "/many_errors.yaml";
	int rc = load(path, &c, &errors);

	cr_expect_eq(rc, -EINVAL);
	cr_expect_null(c);
	expect_error(errors, path, 3, 14, "mqtt.keepalive must be an integer from 0 to 65535");
	expect_error(errors, path, 4, 3, "unknown key 'colour' in mqtt");
	expect_error(errors, path, 9, 22,
		     "bad duration '2 seconds' for devices.lamp.connect_timeout (use e.g. 250ms, "
		     "2s, 5m)");
	expect_error(errors, path, 10, 3,
		     "device id 'a/b' cannot be an MQTT topic level (no '/', '+', '#', not empty)");
	expect_error(errors, path, 16, 18, "devices.speaker.depends_on: unknown device 'amp'");
	expect_error(errors, path, 21, 18,
		     "bad duration 'soon' for scenes.evening.steps[1].delay (use e.g. 250ms, 2s, "
		     "5m)");
	cr_expect_eq(count_lines(errors), 6, "%s", errors);
	/* In file order, although cross references are checked last. */
	cr_expect_lt(strstr(errors, ":3:14: "), strstr(errors, ":4:3: "), "%s", errors);
	cr_expect_lt(strstr(errors, ":16:18: "), strstr(errors, ":21:18: "), "%s", errors);
	free(errors);
}

Test(config, unreadable_file)
{
	struct sh_config *c;
	char *errors;
	int rc = load("/nonexistent/smarthub.yaml", &c, &errors);

	cr_expect_eq(rc, -ENOENT);
	cr_expect_str_eq(errors,
			 "\ncannot read /nonexistent/smarthub.yaml: No such file or directory\n");
	free(errors);
}

Test(config, unsupported_yaml)
{
	expect_only_error("log: &x { level: info }\n", 1, 6, "anchors (&x) are not supported");
	expect_only_error("log: *x\n", 1, 6, "aliases (*x) are not supported");
	expect_only_error("devices:\n  lamp: { driver: !include x, kind: light }\n", 2, 19,
			  "unsupported tag '!include' (only !secret is known)");
	expect_only_error("mqtt: {}\n---\nmqtt: {}\n", 2, 1,
			  "only one YAML document is allowed in a file");
}

/* --- pure functions -------------------------------------------------------- */

Test(config, durations)
{
	static const struct {
		const char *text;
		uint64_t ms;
	} good[] = {
		{"250ms", 250},  {"2s", 2000},   {"1.5s", 1500},         {"5m", 300000},
		{"1h", 3600000}, {"0", 0},       {"750", 750},           {"1m30s", 90000},
		{"0.5ms", 1},    {"0.25s", 250}, {"1h1m1s1ms", 3661001},
	};
	static const char *const bad[] = {"",     "s",     "2 s", "-1s", "1.s",   "1d",
					  "2sec", "1e3ms", "ms",  "1.5", "0x10s", NULL};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint64_t ms = 12345;
		cr_expect_eq(sh_duration_parse(good[i].text, &ms), 0, "%s", good[i].text);
		cr_expect_eq(ms, good[i].ms, "%s -> %llu", good[i].text, (unsigned long long)ms);
	}
	for (size_t i = 0; bad[i]; i++) {
		uint64_t ms;
		cr_expect_eq(sh_duration_parse(bad[i], &ms), -EINVAL, "'%s' is refused", bad[i]);
	}
	uint64_t ms;
	cr_expect_eq(sh_duration_parse("99999999999999999999s", &ms), -EINVAL);
	cr_expect_eq(sh_duration_parse("99999999999999999999", &ms), -EINVAL);
}

Test(config, topic_levels)
{
	cr_expect(sh_topic_level_valid("living_light"));
	cr_expect(sh_topic_level_valid("Küche-1"));
	cr_expect_not(sh_topic_level_valid(""));
	cr_expect_not(sh_topic_level_valid(NULL));
	cr_expect_not(sh_topic_level_valid("a/b"));
	cr_expect_not(sh_topic_level_valid("a+"));
	cr_expect_not(sh_topic_level_valid("#"));
}

Test(config, yaml_to_json)
{
	struct sh_node_doc *doc;
	struct sh_diag diag = {0};
	const char *text = "{ a: 1, b: \"1\", c: true, d: ON, e: ~, f: [1.5, x], g: 'null' }";
	cr_assert_eq(sh_node_doc_parse("t.yaml", text, strlen(text), 0, &doc, &diag), 0);
	cJSON *json = sh_node_to_json(sh_node_doc_root(doc));
	char *out = cJSON_PrintUnformatted(json);
	cr_expect_str_eq(
		out, "{\"a\":1,\"b\":\"1\",\"c\":true,\"d\":\"ON\",\"e\":null,\"f\":[1.5,\"x\"],"
		     "\"g\":\"null\"}");
	free(out);
	cJSON_Delete(json);

	/* Positions are 1-based, from the start of each value. */
	const struct sh_node *f = sh_node_get(sh_node_doc_root(doc), "f");
	cr_expect_eq(f->line, 1);
	cr_expect_eq(f->column, 42);
	cr_expect_eq(f->items[1]->column, 48);
	sh_node_doc_free(doc);
	sh_diag_clear(&diag);
}

Test(config, readers_report_positions)
{
	struct sh_node_doc *doc;
	struct sh_diag diag = {0};
	const char *text = "n: 7\nbig: 70000\nflag: maybe\nd: 3 weeks\nx: 0.5\n";
	cr_assert_eq(sh_node_doc_parse("r.yaml", text, strlen(text), 0, &doc, &diag), 0);
	const struct sh_node *root = sh_node_doc_root(doc);
	long long v;
	bool b;
	uint64_t ms;
	double x;

	cr_expect_eq(sh_node_to_ll(sh_node_get(root, "n"), 0, 10, &diag, &v), 0);
	cr_expect_eq(v, 7);
	cr_expect_eq(sh_node_to_ll(sh_node_get(root, "big"), 0, 65535, &diag, &v), -EINVAL);
	cr_expect_eq(sh_node_to_bool(sh_node_get(root, "flag"), &diag, &b), -EINVAL);
	cr_expect_eq(sh_node_to_duration(sh_node_get(root, "d"), &diag, &ms), -EINVAL);
	cr_expect_eq(sh_node_to_double(sh_node_get(root, "x"), 0, 1, &diag, &x), 0);
	cr_expect_eq(x, 0.5);
	cr_assert_eq(diag.count, 3);
	cr_expect_str_eq(diag.messages[0], "r.yaml:2:6: big must be an integer from 0 to 65535");
	cr_expect_str_eq(diag.messages[1], "r.yaml:3:7: flag must be true or false");
	cr_expect_str_eq(diag.messages[2],
			 "r.yaml:4:4: bad duration '3 weeks' for d (use e.g. 250ms, 2s, 5m)");
	sh_node_doc_free(doc);
	sh_diag_clear(&diag);
}

Test(config, diag_is_bounded)
{
	struct sh_diag diag = {0};
	for (int i = 0; i < SH_DIAG_LIMIT + 5; i++)
		sh_diag_add_at(&diag, "f.yaml", 1, 1, "error %d\nwith a newline", i);
	cr_expect_eq(diag.count, SH_DIAG_LIMIT);
	cr_expect_eq(sh_diag_errors(&diag), SH_DIAG_LIMIT + 5);
	cr_expect_str_eq(diag.messages[0], "f.yaml:1:1: error 0?with a newline");
	sh_diag_clear(&diag);
	cr_expect_eq(sh_diag_errors(&diag), 0);
}

/* sh_config_load_all keeps a file with errors as far as it could be read,
 * for the check of the drivers' options that follows; devices whose
 * driver or kind could not be read have none. */
Test(config, load_all_keeps_an_invalid_file_for_the_driver_check)
{
	const char *path =
		write_file("all.yaml", "devices:\n"
				       "  lamp: {driver: virtual, kind: light, port: 1}\n"
				       "  odd: {driver: 'a/b', kind: light}\n"
				       "  weird: {driver: virtual, kind: lamp}\n"
				       "mqtt: {keepalve: 5}\n");
	struct sh_config *config = NULL;
	struct sh_diag diag = {0};
	cr_assert_eq(sh_config_load_all(path, &config, &diag), -EINVAL);
	cr_assert_not_null(config);
	cr_expect_eq(diag.count, 3);
	const struct sh_device_config *d = sh_config_find_device(config, "lamp");
	cr_assert_not_null(d);
	cr_expect_str_eq(d->driver, "virtual");
	cr_expect_str_eq(d->kind, "light");
	cr_expect_not_null(sh_node_get(d->options, "port"));
	cr_expect_null(sh_config_find_device(config, "odd")->driver);
	cr_expect_null(sh_config_find_device(config, "weird")->kind);
	/* In file order: the mqtt section comes last. */
	cr_expect(strstr(diag.messages[2], "keepalve"), "%s", diag.messages[2]);
	sh_diag_clear(&diag);
	sh_config_free(config);

	/* Without a diag the errors are counted all the same. */
	cr_expect_eq(sh_config_load_all(path, &config, NULL), -EINVAL);
	cr_expect_not_null(config);
	sh_config_free(config);

	/* sh_config_load refuses the same file outright. */
	cr_expect_eq(sh_config_load(path, &config, NULL), -EINVAL);
	cr_expect_null(config);
}
