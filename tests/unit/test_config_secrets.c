/* SPDX-License-Identifier: MIT */
/*
 * Secrets in the configuration (daemon/config/node.c, config.c), beyond
 * test_config.c: masking has no cap on the number of secrets; values from
 * ${VAR} are masked like !secret values; a secrets file or password file
 * that group or others may read is warned about; the default client id is
 * not one any other client could take.
 */
#include "config/config.h"
#include "config/node.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static void setup(void)
{
	strcpy(dir, "/tmp/sh-secrets-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(config_secrets, .init = setup, .fini = teardown);

static char *path_in(const char *name)
{
	static char paths[4][128];
	static int slot;
	char *p = paths[slot++ % 4];
	snprintf(p, 128, "%s/%s", dir, name);
	return p;
}

static const char *put(const char *name, const char *text, mode_t mode)
{
	const char *p = path_in(name);
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	cr_assert_eq(chmod(p, mode), 0);
	return p;
}

/* Thousands of secrets: the last one is still known as one. */
Test(config_secrets, masking_has_no_cap)
{
	enum { N = 5000 };
	put("secrets.yaml", "pw: zz-the-secret\n", 0600);
	size_t cap = 32 + N * 16;
	char *text = malloc(cap);
	size_t len = (size_t)snprintf(text, cap, "list:\n");
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(text + len, cap - len, "  - !secret pw\n");
	struct sh_diag diag = {0};
	struct sh_node_doc *doc = NULL;
	cr_assert_eq(
		sh_node_doc_parse(path_in("many.yaml"), text, len, SH_NODE_SUBSTITUTE, &doc, &diag),
		0);
	const struct sh_node *list = sh_node_get(sh_node_doc_root(doc), "list");
	cr_assert_not_null(list);
	cr_assert_eq(list->n_items, N);
	for (size_t i = 0; i < N; i++) {
		cr_assert_str_eq(list->items[i]->value, "zz-the-secret");
		cr_assert(sh_node_is_secret(list->items[i]), "item %zu is not masked", i);
	}
	char buf[64];
	cr_assert_str_eq(sh_node_quote(list->items[N - 1], buf, sizeof(buf)), "(secret)");
	sh_node_doc_free(doc);
	sh_diag_clear(&diag);
	free(text);
}

/* A value from the environment is masked like a !secret: in the summary and
 * in error messages. One written in the file, or a default, is not. */
Test(config_secrets, environment_values_are_masked)
{
	setenv("SH_TEST_TOKEN", "zz-env-token", 1);
	unsetenv("SH_TEST_UNSET");
	const char *path = put("env.yaml",
			       "mqtt:\n"
			       "  username: ${SH_TEST_TOKEN}\n"
			       "  client_id: hub-${SH_TEST_UNSET:-plain}\n",
			       0600);
	struct sh_config *c = NULL;
	struct sh_diag diag = {0};
	cr_assert_eq(sh_config_load(path, &c, &diag), 0);
	cr_assert_str_eq(c->mqtt.username, "zz-env-token");
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	sh_config_print_summary(c, out);
	fclose(out);
	cr_expect_null(strstr(text, "zz-env"), "%s", text);
	cr_expect(strstr(text, "user (secret)"), "%s", text);
	free(text);
	const struct sh_node *mqtt = sh_node_get(c->root, "mqtt");
	cr_expect(sh_node_is_secret(sh_node_get(mqtt, "username")));
	cr_expect_str_eq(c->mqtt.client_id, "hub-plain");
	cr_expect_not(sh_node_is_secret(sh_node_get(mqtt, "client_id")), "a default is no secret");
	sh_config_free(c);

	path = put("bad.yaml",
		   "devices:\n  lamp:\n    driver: virtual\n    kind: light\n"
		   "    connect_timeout: ${SH_TEST_TOKEN}\n",
		   0600);
	cr_assert_eq(sh_config_load(path, &c, &diag), -EINVAL);
	cr_assert_gt(diag.count, 0);
	for (size_t i = 0; i < diag.count; i++)
		cr_expect_null(strstr(diag.messages[i], "zz-env"), "%s", diag.messages[i]);
	cr_expect(strstr(diag.messages[0], "(secret)"), "%s", diag.messages[0]);
	sh_diag_clear(&diag);
	unsetenv("SH_TEST_TOKEN");
}

/* Runs load with stderr captured; returns what was logged (caller frees). */
static char *load_logged(const char *path, int *rc)
{
	char *log_path = path_in("stderr.log");
	int fd = open(log_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	struct sh_config *c = NULL;
	struct sh_diag diag = {0};
	*rc = sh_config_load(path, &c, &diag);
	dup2(saved, STDERR_FILENO);
	close(saved);
	sh_config_free(c);
	sh_diag_clear(&diag);
	char *text = calloc(1, 4096);
	ssize_t n = pread(fd, text, 4095, 0);
	close(fd);
	cr_assert_geq(n, 0);
	return text;
}

Test(config_secrets, a_secrets_file_others_may_read_is_warned_about)
{
	const char *secrets = put("secrets.yaml", "pw: zz-pw\n", 0644);
	const char *path = put("s.yaml", "mqtt:\n  password: !secret pw\n", 0600);
	int rc;
	char *log = load_logged(path, &rc);
	cr_assert_eq(rc, 0);
	cr_expect(strstr(log, secrets) && strstr(log, "accessible to group or others"), "%s", log);
	free(log);

	cr_assert_eq(chmod(secrets, 0600), 0);
	log = load_logged(path, &rc);
	cr_assert_eq(rc, 0);
	cr_expect_null(strstr(log, "accessible"), "%s", log);
	free(log);
}

Test(config_secrets, a_password_file_others_may_read_is_warned_about)
{
	const char *pw = put("mqtt.pass", "zz-pw\n", 0640);
	char yaml[256];
	snprintf(yaml, sizeof(yaml), "mqtt:\n  password_file: %s\n", pw);
	const char *path = put("p.yaml", yaml, 0600);
	int rc;
	char *log = load_logged(path, &rc);
	cr_assert_eq(rc, 0);
	cr_expect(strstr(log, pw) && strstr(log, "accessible to group or others"), "%s", log);
	free(log);

	cr_assert_eq(chmod(pw, 0400), 0);
	log = load_logged(path, &rc);
	cr_assert_eq(rc, 0);
	cr_expect_null(strstr(log, "accessible"), "%s", log);
	free(log);
}

Test(config_secrets, default_client_id_names_the_host)
{
	char host[256] = "";
	cr_assert_eq(gethostname(host, sizeof(host)), 0);
	char want[300];
	snprintf(want, sizeof(want), "smarthub-%s", host);
	struct sh_config *c = NULL;
	struct sh_diag diag = {0};
	cr_assert_eq(sh_config_load(put("empty.yaml", "", 0600), &c, &diag), 0);
	cr_expect_str_eq(c->mqtt.client_id, want);
	sh_config_free(c);
}
