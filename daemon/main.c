// SPDX-License-Identifier: MIT
/*
 * smarthubd: options, start-up, signals, systemd notification and
 * shutdown. Everything else lives in the hub (devices, scenes) and the
 * bridge (MQTT); this file wires them to one libev loop and to systemd.
 */
#include "mqtt/bridge.h"
#include "automations/automation_hub.h"
#include "automations/explain.h"
#include "automations/replay.h"
#include "config/config.h"
#include "core/hub.h"
#include "util/log.h"
#include "util/notify.h"
#include "scenes/scene.h"

#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct daemon {
	struct ev_loop *loop;
	struct sh_hub *hub;
	struct sh_scene_engine *scenes;
	struct sh_bridge *bridge;
	struct sh_automation_host *automations;
	const char *config_path;
	bool level_given; /* --log-level wins over the file's, reloads too */
	ev_signal sigterm, sigint, sighup;
	ev_timer watchdog;
	ev_prepare status_refresh;
	char last_status[256];
	bool status_connected; /* what last_status says, when not empty */
	size_t status_online, status_count;
	bool stopping;
};

/* Frees what was made, listeners before the hub they listen to. */
static void daemon_free(struct daemon *d)
{
	sh_bridge_free(d->bridge);
	sh_automation_host_free(d->automations);
	sh_scenes_free(d->scenes);
	sh_hub_free(d->hub);
	d->bridge = NULL;
	d->automations = NULL;
	d->scenes = NULL;
	d->hub = NULL;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: smarthubd [OPTIONS]\n"
		"A home-automation hub: devices from YAML, scenes, and an MQTT bridge.\n\n"
		"  -c, --config FILE      configuration file (default %s)\n"
		"      --check-config     validate the configuration (and its plugins),\n"
		"                         print a summary, exit 0 or 78\n"
		"      --explain NAME     with --check-config: print the scene or automation\n"
		"                         (triggers, conditions, steps) as a tree\n"
		"      --graph NAME       with --check-config: the same as Graphviz dot\n"
		"      --replay FILE      dry run: feed the automations a recording (see\n"
		"                         docs/automations.md) on a virtual clock and print\n"
		"                         what they would run; connects to nothing\n"
		"      --plugin-dir DIR   load driver plugins from DIR (overrides plugins.dir;\n"
		"                         default %s, or the build tree's\n"
		"                         plugins-out when run from it)\n"
		"      --hue-pair HOST    pair with a Hue bridge (press its button), print the "
		"key;\n"
		"                         with --hue-ca FILE (its CA) and --hue-bridge-id ID\n"
		"      --state-dir DIR    keep automation state there (default $STATE_DIRECTORY)\n"
		"      --log-level LEVEL  error, warning, notice, info or debug\n"
		"  -v, --verbose          same as --log-level debug\n"
		"      --version          print the version and exit\n"
		"  -h, --help             print this help and exit\n\n"
		"Signals: SIGHUP reloads the configuration, SIGTERM/SIGINT stop.\n",
		SMARTHUB_DEFAULT_CONFIG, SMARTHUB_DEFAULT_PLUGIN_DIR);
}

/* --- systemd status ---------------------------------------------------------- */

/* Runs before the loop sleeps: the status words are rebuilt and sent only
 * when they changed, so a burst of availability changes costs one
 * datagram, not one each. */
static void refresh_status(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct daemon *d = w->data;
	char status[256];
	bool connected = d->bridge && sh_bridge_connected(d->bridge);
	size_t online = sh_hub_devices_online(d->hub), count = sh_hub_device_count(d->hub);
	/* This runs once or twice per command: formatting the words each
	 * time cost ~3 % of the loop's time in the round-trip benchmark. A
	 * reload empties last_status to send them again. */
	if (d->last_status[0] && connected == d->status_connected && online == d->status_online &&
	    count == d->status_count)
		return;
	d->status_connected = connected;
	d->status_online = online;
	d->status_count = count;
	snprintf(status, sizeof(status), "mqtt %s, %zu/%zu devices online",
		 connected ? "connected" : "disconnected", online, count);
	if (strcmp(status, d->last_status) == 0)
		return;
	memcpy(d->last_status, status, sizeof(status));
	sh_notifyf("STATUS=%s", status);
}

static void watchdog_ping(struct ev_loop *loop, ev_timer *w, int revents)
{
	/* This runs only when the loop turns, so a stuck loop stops the
	 * pings and systemd restarts us. */
	sh_notify("WATCHDOG=1");
}

/* --- configuration ----------------------------------------------------------- */

static const char *build_tree_plugins(const struct sh_config *config);

/* `bare`: --check-config prints plain "file:line:column: message" lines,
 * without the log's prefix, for editors and CI to parse. A file with
 * errors has its devices' driver options checked too, so that one run
 * shows every error, in file order. */
static int load_config(const char *path, const char *plugin_dir, struct sh_config **out, bool bare)
{
	struct sh_diag diag = {0};
	int r = sh_config_load_all(path, out, &diag);
	if (r < 0 && *out) {
		struct sh_hub *hub = NULL;
		if (sh_hub_new(ev_default_loop(EVFLAG_AUTO), &hub) == 0) {
			const char *dir = plugin_dir ? plugin_dir : build_tree_plugins(*out);
			if (dir)
				sh_hub_set_plugin_dir(hub, dir);
			sh_hub_check(hub, *out, &diag);
			sh_diag_sort(&diag, 0, (*out)->path);
		}
		sh_hub_free(hub);
		sh_config_free(*out);
		*out = NULL;
	}
	if (r < 0) {
		if (bare)
			sh_diag_print(&diag, stderr);
		else
			sh_diag_log(&diag);
		if (sh_diag_errors(&diag) == 0)
			sh_log_error("%s: cannot load: %s", path, strerror(-r));
	}
	sh_diag_clear(&diag);
	return r;
}

static int reload(struct daemon *d, char *reason, size_t reason_len)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sh_notifyf("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading %s",
		   (unsigned long long)ts.tv_sec * 1000000ULL +
			   (unsigned long long)ts.tv_nsec / 1000,
		   d->config_path);
	d->last_status[0] = '\0';

	struct sh_config *config = NULL;
	struct sh_diag diag = {0};
	int r = sh_config_load_all(d->config_path, &config, &diag);
	if (r == 0)
		r = sh_hub_apply(d->hub, config, false, &diag);
	else if (config)
		/* Refused either way; the drivers' options are checked too, so
		 * the log has every error of the file. Changes nothing. */
		sh_hub_check(d->hub, config, &diag);
	if (r < 0) {
		sh_diag_sort(&diag, 0, d->config_path);
		sh_diag_log(&diag);
		/* The reason goes out on bridge/response/reload too: a position and
		 * a class, never the file's text (which may hold a value from the
		 * environment); the messages themselves are in the log above. */
		char summary[768];
		snprintf(reason, reason_len, "%s; the running configuration stays",
			 sh_diag_summary(&diag, r, summary, sizeof(summary)));
		sh_log_error("reload: %s", reason);
		sh_config_free(config);
	} else {
		sh_log_notice("reload: %s is in force", d->config_path);
		if (!d->level_given)
			sh_log_set_level(sh_hub_config(d->hub)->log_level);
	}
	sh_diag_clear(&diag);
	sh_notify("READY=1");
	return r;
}

static int reload_request(void *ctx, char *reason, size_t reason_len)
{
	return reload(ctx, reason, reason_len);
}

/* --- signals -------------------------------------------------------------------- */

static void on_stop_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;
	if (d->stopping)
		return;
	d->stopping = true;
	sh_log_notice("signal %d: stopping", w->signum);
	sh_notify("STOPPING=1");
	ev_break(loop, EVBREAK_ALL);
}

static void on_sighup(struct ev_loop *loop, ev_signal *w, int revents)
{
	char reason[512];
	reload(w->data, reason, sizeof(reason));
}

/* --- main ------------------------------------------------------------------------- */

enum {
	OPT_CHECK = 256,
	OPT_PLUGIN_DIR,
	OPT_LOG_LEVEL,
	OPT_VERSION,
	OPT_EXPLAIN,
	OPT_GRAPH,
	OPT_HUE_PAIR,
	OPT_HUE_CA,
	OPT_HUE_BRIDGE_ID,
	OPT_STATE_DIR,
	OPT_REPLAY,
};

struct options {
	const char *config_path;
	const char *plugin_dir;
	const char *explain;
	const char *graph;
	const char *hue_pair, *hue_ca, *hue_bridge_id;
	const char *state_dir;
	const char *replay;
	bool check_only;
	bool level_given;
	enum sh_log_level level;
};

/* Returns -1 to go on, or the exit status. */
static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, OPT_CHECK},
		{"explain", required_argument, NULL, OPT_EXPLAIN},
		{"graph", required_argument, NULL, OPT_GRAPH},
		{"plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR},
		{"state-dir", required_argument, NULL, OPT_STATE_DIR},
		{"replay", required_argument, NULL, OPT_REPLAY},
		{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, OPT_VERSION},
		{"help", no_argument, NULL, 'h'},
		{"hue-pair", required_argument, NULL, OPT_HUE_PAIR},
		{"hue-ca", required_argument, NULL, OPT_HUE_CA},
		{"hue-bridge-id", required_argument, NULL, OPT_HUE_BRIDGE_ID},
		{NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config_path = optarg;
			break;
		case OPT_CHECK:
			o->check_only = true;
			break;
		case OPT_EXPLAIN:
			o->explain = optarg;
			break;
		case OPT_GRAPH:
			o->graph = optarg;
			break;
		case OPT_PLUGIN_DIR:
			o->plugin_dir = optarg;
			break;
		case OPT_HUE_PAIR:
			o->hue_pair = optarg;
			break;
		case OPT_HUE_CA:
			o->hue_ca = optarg;
			break;
		case OPT_HUE_BRIDGE_ID:
			o->hue_bridge_id = optarg;
			break;
		case OPT_STATE_DIR:
			o->state_dir = optarg;
			break;
		case OPT_REPLAY:
			o->replay = optarg;
			break;
		case OPT_LOG_LEVEL:
			if (sh_log_level_parse(optarg, &o->level) < 0) {
				fprintf(stderr, "smarthubd: unknown log level '%s'\n", optarg);
				return 2;
			}
			o->level_given = true;
			break;
		case 'v':
			o->level = SH_LOG_DEBUG;
			o->level_given = true;
			break;
		case OPT_VERSION:
			printf("smarthubd %s (plugin ABI %u)\n", SMARTHUB_VERSION,
			       SH_PLUGIN_ABI_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "smarthubd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if ((o->explain || o->graph) && !o->check_only) {
		fprintf(stderr, "smarthubd: --explain and --graph go with --check-config\n");
		return 2;
	}
	return -1;
}

/* --hue-pair: the hue plugin does it (the daemon does not link libcurl);
 * sh_hue_pair is declared in plugins/hue/hue_pair.h. */
static int hue_pair(const struct options *o)
{
	typedef int (*pair_fn)(const char *, const char *, const char *, FILE *, FILE *);
	char path[4096];
	snprintf(path, sizeof(path), "%s/hue.so",
		 o->plugin_dir ? o->plugin_dir : SMARTHUB_DEFAULT_PLUGIN_DIR);
	void *so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	pair_fn pair = so ? (pair_fn)dlsym(so, "sh_hue_pair") : NULL;
	if (!pair) {
		fprintf(stderr, "smarthubd: --hue-pair needs the hue plugin: %s\n", dlerror());
		if (so)
			dlclose(so);
		return EXIT_FAILURE;
	}
	int status = pair(o->hue_pair, o->hue_ca, o->hue_bridge_id, stdout, stderr);
	dlclose(so);
	return status;
}

/* A binary run from its build tree (build/daemon/smarthubd) uses the
 * plugins built beside it (build/plugins-out), unless plugins.dir or
 * --plugin-dir says otherwise: the README's first command then works
 * before anything is installed. NULL when not in a build tree. */
static const char *build_tree_plugins(const struct sh_config *config)
{
	static char dir[4096];
	char exe[4000];
	struct stat st;

	if (strcmp(config->plugin_dir, SMARTHUB_DEFAULT_PLUGIN_DIR) != 0)
		return NULL;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	snprintf(dir, sizeof(dir), "%s/../plugins-out", exe);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return NULL;
	return dir;
}

/* "'a', 'b', 'c'": the scenes and automations --explain knows. */
static void print_names(const struct sh_config *config, FILE *out)
{
	for (size_t i = 0; i < config->n_scenes; i++)
		fprintf(out, "%s'%s'", i ? ", " : "", config->scenes[i].name);
	if (!config->n_scenes)
		fprintf(out, "none");
}

/* --check-config: the file, its plugins and the drivers' options. */
static int check_config(struct sh_hub *hub, struct sh_config *config, const struct options *o)
{
	struct sh_diag diag = {0};
	int r = sh_hub_check(hub, config, &diag);
	if (r < 0) {
		sh_diag_sort(&diag, 0, config->path);
		sh_diag_print(&diag, stderr);
		sh_diag_clear(&diag);
		return SH_EX_CONFIG;
	}
	sh_diag_clear(&diag);
	if (o->explain && sh_scene_explain(config, o->explain, stdout) < 0 &&
	    sh_automation_explain(config, o->explain, stdout) < 0) {
		fprintf(stderr, "smarthubd: no scene or automation '%s'; the scenes are ",
			o->explain);
		print_names(config, stderr);
		fprintf(stderr, "\n");
		return SH_EX_CONFIG;
	}
	if (o->graph && sh_scene_graph(config, o->graph, stdout) < 0 &&
	    sh_automation_graph(config, o->graph, stdout) < 0) {
		fprintf(stderr, "smarthubd: no scene or automation '%s'; the scenes are ",
			o->graph);
		print_names(config, stderr);
		fprintf(stderr, "\n");
		return SH_EX_CONFIG;
	}
	if (!o->explain && !o->graph)
		sh_config_print_summary(config, stdout);
	return 0;
}

static void start_watchers(struct daemon *d)
{
	ev_signal_init(&d->sigterm, on_stop_signal, SIGTERM);
	ev_signal_init(&d->sigint, on_stop_signal, SIGINT);
	ev_signal_init(&d->sighup, on_sighup, SIGHUP);
	d->sigterm.data = d->sigint.data = d->sighup.data = d;
	ev_signal_start(d->loop, &d->sigterm);
	ev_signal_start(d->loop, &d->sigint);
	ev_signal_start(d->loop, &d->sighup);

	ev_prepare_init(&d->status_refresh, refresh_status);
	d->status_refresh.data = d;
	ev_prepare_start(d->loop, &d->status_refresh);

	uint64_t wd_usec = sh_notify_watchdog_usec();
	if (wd_usec) {
		double period = (double)wd_usec / 2e6;
		ev_timer_init(&d->watchdog, watchdog_ping, period, period);
		ev_timer_start(d->loop, &d->watchdog);
	}
}

/* --- automations and the bridge ---------------------------------------------------- */

/* --state-dir, else systemd's StateDirectory= ($STATE_DIRECTORY, the first
 * of a colon-separated list), else none. */
static const char *state_dir(const struct options *o)
{
	static char dir[4096];
	const char *env = getenv("STATE_DIRECTORY");

	if (o->state_dir)
		return o->state_dir;
	if (!env || !*env)
		return NULL;
	snprintf(dir, sizeof(dir), "%.*s", (int)strcspn(env, ":"), env);
	return dir;
}

static size_t autos_count(void *ctx)
{
	return sh_automations_count(sh_automation_host_engine(ctx));
}

static const char *autos_name(void *ctx, size_t i)
{
	return sh_automations_name(sh_automation_host_engine(ctx), i);
}

static cJSON *autos_status(void *ctx, const char *name)
{
	return sh_automations_status(sh_automation_host_engine(ctx), name);
}

static cJSON *autos_trace(void *ctx, const char *name)
{
	return sh_automations_trace(sh_automation_host_engine(ctx), name);
}

static const char *const *autos_filters(void *ctx)
{
	return sh_automations_mqtt_filters(sh_automation_host_engine(ctx));
}

static int autos_command(void *ctx, const char *name, const char *payload, size_t len, char *reason,
			 size_t reason_len)
{
	return sh_automation_host_command(ctx, name, payload, len, reason, reason_len);
}

static void autos_message(void *ctx, const char *topic, const char *payload, size_t len)
{
	sh_automation_host_mqtt(ctx, topic, payload, len);
}

static void autos_changed(void *ctx, const char *name)
{
	struct daemon *d = ctx;
	if (d->bridge)
		sh_bridge_automation_changed(d->bridge, name);
}

static void connect_automations(struct daemon *d)
{
	struct sh_bridge_automation_ops ops = {
		.ctx = d->automations,
		.count = autos_count,
		.name = autos_name,
		.status = autos_status,
		.trace = autos_trace,
		.command = autos_command,
		.filters = autos_filters,
		.message = autos_message,
	};
	sh_bridge_set_automations(d->bridge, &ops);
	sh_automation_host_set_observer(d->automations, autos_changed, d);
}

/* --replay: the recording against the configuration, nothing else. */
static int replay(const struct sh_config *config, const char *path)
{
	FILE *in = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!in) {
		fprintf(stderr, "smarthubd: %s: %s\n", path, strerror(errno));
		return EXIT_FAILURE;
	}
	int r = sh_automation_replay(config, in, path, stdout, stderr);
	if (in != stdin)
		fclose(in);
	return r < 0 ? EXIT_FAILURE : 0;
}

int main(int argc, char **argv)
{
	struct options o = {.config_path = SMARTHUB_DEFAULT_CONFIG, .level = SH_LOG_INFO};
	int status = parse_options(argc, argv, &o);
	if (status >= 0)
		return status;
	if (o.hue_pair)
		return hue_pair(&o);
	sh_log_init(o.level);
	signal(SIGPIPE, SIG_IGN);

	struct sh_config *config = NULL;
	if (load_config(o.config_path, o.plugin_dir, &config, o.check_only) < 0)
		return SH_EX_CONFIG;
	if (!o.plugin_dir)
		o.plugin_dir = build_tree_plugins(config);
	if (!o.level_given)
		sh_log_set_level(config->log_level);
	if (o.replay) {
		status = replay(config, o.replay);
		sh_config_free(config);
		return status;
	}

	struct daemon d = {.config_path = o.config_path, .level_given = o.level_given};
	d.loop = ev_default_loop(EVFLAG_AUTO);
	if (!d.loop || sh_hub_new(d.loop, &d.hub) < 0) {
		sh_log_error("cannot create the event loop");
		sh_config_free(config);
		return EXIT_FAILURE;
	}
	if (o.plugin_dir)
		sh_hub_set_plugin_dir(d.hub, o.plugin_dir);

	if (o.check_only) {
		/* So the summary shows the directory in use; the config's
		 * strings live in its arena, argv outlives it. */
		if (o.plugin_dir)
			config->plugin_dir = (char *)o.plugin_dir;
		status = check_config(d.hub, config, &o);
		sh_config_free(config);
		sh_hub_free(d.hub);
		return status;
	}

	/* The hub's listeners, before the first apply so they see every
	 * device's first report; the scene engine first, since the
	 * automations and the bridge ask it for scenes. */
	if (sh_scenes_new(d.hub, &d.scenes) < 0 ||
	    sh_automation_host_new(d.hub, d.scenes, state_dir(&o), &d.automations) < 0) {
		sh_log_error("out of memory");
		sh_config_free(config);
		daemon_free(&d);
		return EXIT_FAILURE;
	}
	struct sh_diag diag = {0};
	if (sh_hub_apply(d.hub, config, false, &diag) < 0) {
		sh_diag_sort(&diag, 0, config->path);
		sh_diag_log(&diag);
		sh_diag_clear(&diag);
		sh_config_free(config);
		daemon_free(&d);
		return SH_EX_CONFIG;
	}
	sh_diag_clear(&diag);

	int r = sh_bridge_new(d.hub, d.scenes, &d.bridge);
	if (r < 0) {
		sh_log_error("mqtt: %s", strerror(-r));
		daemon_free(&d);
		return SH_EX_CONFIG;
	}
	sh_bridge_set_reload_handler(d.bridge, reload_request, &d);
	connect_automations(&d);
	sh_bridge_start(d.bridge);
	start_watchers(&d);

	/* READY as soon as the loop runs: devices and the broker connect in
	 * the background and never hold up start-up. */
	sh_log_notice("smarthubd %s: %zu devices, running", SMARTHUB_VERSION,
		      sh_hub_device_count(d.hub));
	sh_notify("READY=1");
	ev_run(d.loop, 0);

	/* Orderly shutdown: the broker hears we are offline, devices are
	 * disconnected, then everything is freed. */
	sh_bridge_stop(d.bridge, 1500);
	sh_automation_host_stop(d.automations);
	sh_scenes_stop(d.scenes);
	sh_hub_stop(d.hub);
	sh_automation_host_set_observer(d.automations, NULL, NULL);
	daemon_free(&d);
	ev_loop_destroy(d.loop);
	sh_log_notice("stopped");
	return 0;
}
