/* SPDX-License-Identifier: MIT */
/*
 * The docs tell the truth about topics (issue 18 item 17): every topic
 * pattern the README, docs/mqtt.md, docs/configuration.md and the example
 * configuration name for what the hub publishes matches a topic a running
 * daemon really publishes (discovery included). Patterns of topics the
 * hub only listens to (/set, /get, bridge/request/, Home Assistant's
 * status) are left out: nothing is published there.
 */
#include "harness.h"

#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MS 15000

static const char *const files[] = {"README.md", "docs/mqtt.md", "docs/configuration.md",
				    "config/smarthub.yaml"};

static bool listened_only(const char *p)
{
	size_t n = strlen(p);
	return (n > 4 && (!strcmp(p + n - 4, "/set") || !strcmp(p + n - 4, "/get"))) ||
	       strstr(p, "/request/") || !strcmp(p, "homeassistant/status") ||
	       !strcmp(p, "<prefix>/status");
}

/* `smarthub/<device>/availability` as an anchored POSIX regex. */
static void to_regex(const char *pattern, char *re, size_t len)
{
	size_t o = 0;
	re[o++] = '^';
	for (const char *p = pattern; *p && o + 8 < len; p++) {
		if (*p == '<') {
			const char *end = strchr(p, '>');
			if (end && !strncmp(p, "<prefix>", 8)) {
				o += (size_t)snprintf(re + o, len - o, "homeassistant");
				p = end;
				continue;
			}
			if (end) {
				o += (size_t)snprintf(re + o, len - o, "[^/]+");
				p = end;
				continue;
			}
		}
		if (*p == '+') {
			o += (size_t)snprintf(re + o, len - o, "[^/]+");
		} else if (*p == '#') {
			o += (size_t)snprintf(re + o, len - o, ".*");
		} else {
			if (strchr(".[]()*?^$\\{}|", *p))
				re[o++] = '\\';
			re[o++] = *p;
		}
	}
	re[o++] = '$';
	re[o] = '\0';
}

/* Every published topic of the watch log, one per line. */
static bool published(const char *log, const char *pattern)
{
	char re[512];
	regex_t rx;
	to_regex(pattern, re, sizeof(re));
	cr_assert_eq(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0, "%s", re);
	bool hit = false;
	for (const char *line = log; line && *line && !hit;) {
		const char *space = strchr(line, ' ');
		const char *nl = strchr(line, '\n');
		size_t len = space && (!nl || space < nl) ? (size_t)(space - line)
			     : nl                         ? (size_t)(nl - line)
							  : strlen(line);
		char topic[512];
		snprintf(topic, sizeof(topic), "%.*s", (int)len, line);
		hit = regexec(&rx, topic, 0, NULL, 0) == 0;
		line = nl ? nl + 1 : NULL;
	}
	regfree(&rx);
	return hit;
}

Test(doc_topics, every_published_topic_pattern_in_the_docs_is_real, .timeout = 120)
{
	struct th_broker broker = {0};
	struct th_daemon daemon_ = {0};
	cr_assert_eq(th_broker_start(&broker, 0), 0);
	char *dir = th_tempdir();
	char *watch_log = th_strdupf("%s/watch.log", dir);
	char port[16];
	snprintf(port, sizeof(port), "%d", broker.port);
	const char *argv[] = {"mosquitto_sub",   "-h", "127.0.0.1",  "-p", port, "-v", "-t",
			      "homeassistant/#", "-t", "smarthub/#", NULL};
	pid_t watcher = th_spawn(argv, NULL, watch_log);
	cr_assert_gt(watcher, 0);
	struct th_mqtt *c = th_mqtt_connect(broker.port, "doc-topics");
	cr_assert_not_null(c);
	bool seen = false;
	for (int i = 0; i < 50 && !seen; i++) {
		cr_assert_eq(th_mqtt_publish(c, "smarthub/probe", "x", 1, false), 0);
		seen = th_wait_file_line(watch_log, "smarthub/probe", NULL, 200);
	}
	cr_assert(seen);

	char *yaml = th_strdupf("mqtt:\n  url: tcp://127.0.0.1:%d\n"
				"homeassistant:\n  discovery: true\n"
				"devices:\n"
				"  lamp: {driver: virtual, kind: light}\n"
				"  remote: {driver: virtual, kind: button, interval: 200ms}\n"
				"scenes:\n  evening:\n    steps:\n"
				"      - {device: lamp, set: {state: \"ON\"}}\n",
				broker.port);
	cr_assert_eq(th_daemon_start(&daemon_, yaml, NULL, NULL), 0);
	free(yaml);
	cr_assert(th_wait_file_line(watch_log, "smarthub/lamp ", NULL, WAIT_MS));
	cr_assert(th_wait_file_line(watch_log, "smarthub/remote/event ", NULL, WAIT_MS));
	/* A response, an error event and a scene status. */
	cr_assert_eq(th_mqtt_publish(c, "smarthub/bridge/request/health_check", "{}", 2, false), 0);
	cr_assert_eq(th_mqtt_publish(c, "smarthub/lamp/set", "{\"nope\":1}", 10, false), 0);
	cr_assert_eq(th_mqtt_publish(c, "smarthub/scene/evening/set", "run", 3, false), 0);
	cr_assert(th_wait_file_line(watch_log, "smarthub/bridge/response/", NULL, WAIT_MS));
	cr_assert(th_wait_file_line(watch_log, "smarthub/bridge/event ", NULL, WAIT_MS));
	cr_assert(th_wait_file_line(watch_log, "smarthub/scene/evening ", NULL, WAIT_MS));
	cr_assert(th_wait_file_line(watch_log, "homeassistant/event/", NULL, WAIT_MS));

	char *log = th_read_file(watch_log);
	int checked = 0;
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		char *path = th_strdupf("%s/%s", SMARTHUB_SOURCE_DIR, files[f]);
		char *text = th_read_file(path);
		cr_assert_not_null(text, "%s", path);
		/* Each `...` span (or YAML comment word) that is a topic pattern. */
		for (char *p = text; (p = strpbrk(p, "`#")) != NULL; p++) {
			char *start = p + 1;
			while (*p == '#' && *start == ' ')
				start++;
			size_t n =
				strspn(start, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					      "0123456789_-/<>+#.");
			if (n < 10 || (strncmp(start, "smarthub/", 9) &&
				       strncmp(start, "homeassistant/", 14) &&
				       strncmp(start, "<prefix>/", 9)))
				continue;
			char pattern[256];
			snprintf(pattern, sizeof(pattern), "%.*s", (int)n, start);
			while (strlen(pattern) && strchr(".,", pattern[strlen(pattern) - 1]))
				pattern[strlen(pattern) - 1] = '\0';
			/* Patterns, and the bridge's fixed topics; not examples
			 * such as smarthub/living_light, nor prefixes. */
			bool generic = strpbrk(pattern, "<+#") ||
				       !strncmp(pattern, "smarthub/bridge/", 16);
			if (!generic || pattern[strlen(pattern) - 1] == '/' ||
			    listened_only(pattern) || strstr(pattern, "..."))
				continue;
			cr_expect(published(log, pattern),
				  "%s names %s; the daemon published no such topic", files[f],
				  pattern);
			checked++;
		}
		free(text);
		free(path);
	}
	cr_expect_geq(checked, 15, "%d patterns checked", checked);
	free(log);
	th_mqtt_close(c);
	th_daemon_stop(&daemon_);
	th_child_stop(watcher, 2000);
	th_broker_stop(&broker);
	th_rmtree(dir);
	free(dir);
	free(watch_log);
}
