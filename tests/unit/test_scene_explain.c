/* SPDX-License-Identifier: MIT */
/*
 * --explain shows each step's device with its kind (issue 19: the kinds
 * show everywhere), in the text plan and in the Graphviz one, for device
 * steps and for the conditions of a wait.
 */
#define _GNU_SOURCE /* open_memstream */
#include "config/config.h"
#include "scenes/scene.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char yaml[] = "devices:\n"
			   "  garage: {driver: virtual, kind: cover}\n"
			   "  remote: {driver: virtual, kind: button, event_types: [single]}\n"
			   "scenes:\n"
			   "  close_up:\n"
			   "    steps:\n"
			   "      - {device: garage, set: {position: 0}}\n"
			   "      - wait: {device: garage, state: {state: closed}}\n"
			   "      - wait: {device: remote, event: single}\n";

static struct sh_config *load(void)
{
	char path[] = "/tmp/sh-explain-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, yaml, sizeof(yaml) - 1), (ssize_t)(sizeof(yaml) - 1));
	close(fd);
	struct sh_config *config = NULL;
	struct sh_diag diag = {0};
	int rc = sh_config_load(path, &config, &diag);
	sh_diag_print(&diag, stderr);
	sh_diag_clear(&diag);
	unlink(path);
	cr_assert_eq(rc, 0);
	return config;
}

static char *capture(int (*fn)(const struct sh_config *, const char *, FILE *),
		     const struct sh_config *config)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	cr_assert_not_null(out);
	cr_assert_eq(fn(config, "close_up", out), 0);
	fclose(out);
	return text;
}

Test(scene_explain, steps_show_the_kind_of_their_device)
{
	struct sh_config *config = load();
	char *text = capture(sh_scene_explain, config);
	cr_expect(strstr(text, "device garage (cover) set {\"position\":0}"), "%s", text);
	cr_expect(strstr(text, "wait garage (cover) {\"state\":\"closed\"}"), "%s", text);
	cr_expect(strstr(text, "wait remote (button) event single"), "%s", text);
	free(text);
	text = capture(sh_scene_graph, config);
	cr_expect(strstr(text, "garage (cover)"), "%s", text);
	free(text);
	sh_config_free(config);
}
