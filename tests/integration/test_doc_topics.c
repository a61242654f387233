/* SPDX-License-Identifier: MIT */
/*
 * The docs tell the truth about topics (issue 18 item 17): every topic
 * pattern the README, docs/mqtt.md, docs/configuration.md and the example
 * configuration name for what the hub publishes matches a topic a running
 * daemon really publishes (discovery included). Patterns of topics the
 * hub only listens to (/set, /get, bridge/request/, Home Assistant's
 * status) are left out: nothing is published there.
 */
#include "fixture.h"

#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Whether one of `topics` (one a line) matches the pattern. */
static bool published(const char *topics, const char *pattern)
{
	char re[512];
	regex_t rx;
	to_regex(pattern, re, sizeof(re));
	cr_assert_eq(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0, "%s", re);
	bool hit = false;
	for (const char *line = topics; line && *line && !hit;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char topic[512];
		snprintf(topic, sizeof(topic), "%.*s", (int)len, line);
		hit = regexec(&rx, topic, 0, NULL, 0) == 0;
		line = nl ? nl + 1 : NULL;
	}
	regfree(&rx);
	return hit;
}

TestSuite(doc_topics, .fini = th_fixture_teardown);

/* Waits for a message on a topic matching `filter`. */
static void expect_topic(const char *filter)
{
	char *m = th_mqtt_wait_filter(th_fx.mqtt, filter, TH_WAIT_MS);
	cr_assert_not_null(m, "nothing on %s; daemon log:\n%s", filter,
			   th_daemon_log(&th_fx.daemon));
	free(m);
}

static void pub(const char *topic, const char *payload)
{
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, topic, payload, strlen(payload), false), 0);
}

Test(doc_topics, every_published_topic_pattern_in_the_docs_is_real, .timeout = 120)
{
	/* The recording client sees everything under smarthub/# and
	 * homeassistant/# from before the daemon starts. */
	th_fixture_start_broker(NULL);
	th_fixture_start_daemon(NULL,
				"homeassistant:\n  discovery: true\n"
				"devices:\n"
				"  lamp: {driver: virtual, kind: light}\n"
				"  remote: {driver: virtual, kind: button, interval: 200ms}\n"
				"scenes:\n  evening:\n    steps:\n"
				"      - {device: lamp, set: {state: \"ON\"}}\n",
				NULL, NULL);
	expect_topic("smarthub/lamp");
	expect_topic("smarthub/remote/event");
	/* A response, an error event and a scene status. */
	pub("smarthub/bridge/request/health_check", "{}");
	pub("smarthub/lamp/set", "{\"nope\":1}");
	pub("smarthub/scene/evening/set", "run");
	expect_topic("smarthub/bridge/response/#");
	expect_topic("smarthub/bridge/event");
	expect_topic("smarthub/scene/evening");
	expect_topic("homeassistant/event/#");

	char *topics = th_mqtt_topics(th_fx.mqtt);
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
			cr_expect(published(topics, pattern),
				  "%s names %s; the daemon published no such topic", files[f],
				  pattern);
			checked++;
		}
		free(text);
		free(path);
	}
	cr_expect_geq(checked, 15, "%d patterns checked", checked);
	free(topics);
}
