/* SPDX-License-Identifier: MIT */
/*
 * No buffer that held the broker password is freed without being wiped:
 * not the file's text, not the parser's copies, not the config's arena.
 * free() is interposed: every block freed while the test runs is searched
 * for the password before it goes back to the allocator.
 *
 * Under AddressSanitizer (scripts/test --sanitize) free belongs to the
 * sanitizer and cannot be interposed; the plain build runs the check.
 */
#define _GNU_SOURCE /* memmem */
#include "config/config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define PASSWORD "zz-wipe-me-4f7a1c"
#define FREE_WATCH_SECRET PASSWORD
#include "free_watch.h"

static void load_and_free(const char *yaml_name, const char *yaml, const char *other_name,
			  const char *other)
{
	char dir[] = "/tmp/sh-wipe-test-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[128], other_path[128];
	snprintf(other_path, sizeof(other_path), "%s/%s", dir, other_name);
	FILE *f = fopen(other_path, "w");
	cr_assert_not_null(f);
	fputs(other, f);
	fclose(f);
	chmod(other_path, 0600);
	snprintf(path, sizeof(path), "%s/%s", dir, yaml_name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "%s%s\n", yaml, other_path);
	fclose(f);

	struct sh_config *c = NULL;
	struct sh_diag diag = {0};
	free_watch_hits = 0;
	free_watch_on = 1;
	int rc = sh_config_load(path, &c, &diag);
	int during_load = free_watch_hits;
	if (c) {
		cr_expect_str_eq(c->mqtt.password, PASSWORD);
		sh_config_free(c);
	}
	free_watch_on = 0;
	sh_diag_clear(&diag);
	cr_assert_eq(rc, 0);
	cr_expect_eq(during_load, 0, "%d buffers with the password freed while loading",
		     during_load);
	cr_expect_eq(free_watch_hits, 0, "%d buffers with the password freed unwiped",
		     free_watch_hits);
	unlink(path);
	unlink(other_path);
	rmdir(dir);
}

Test(config_wipe, a_secret_is_wiped_from_every_buffer_freed)
{
#if FREE_WATCH_SANITIZED
	cr_skip_test("free() belongs to AddressSanitizer here");
#endif
	load_and_free("s.yaml", "mqtt:\n  password: !secret pw\n# ", "secrets.yaml",
		      "pw: " PASSWORD "\n");
}

Test(config_wipe, a_password_file_is_wiped_from_every_buffer_freed)
{
#if FREE_WATCH_SANITIZED
	cr_skip_test("free() belongs to AddressSanitizer here");
#endif
	load_and_free("p.yaml", "mqtt:\n  password_file: ", "mqtt.pass", PASSWORD "\n");
}
