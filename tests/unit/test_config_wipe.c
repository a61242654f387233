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
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

#define PASSWORD "zz-wipe-me-4f7a1c"

static volatile int watching;
static volatile int freed_with_password;

#ifndef SANITIZED
extern void __libc_free(void *ptr);

void free(void *ptr)
{
	if (ptr && watching) {
		size_t n = malloc_usable_size(ptr);
		if (memmem(ptr, n, PASSWORD, sizeof(PASSWORD) - 1))
			freed_with_password++;
	}
	__libc_free(ptr);
}
#endif

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
	freed_with_password = 0;
	watching = 1;
	int rc = sh_config_load(path, &c, &diag);
	int during_load = freed_with_password;
	if (c) {
		cr_expect_str_eq(c->mqtt.password, PASSWORD);
		sh_config_free(c);
	}
	watching = 0;
	sh_diag_clear(&diag);
	cr_assert_eq(rc, 0);
	cr_expect_eq(during_load, 0, "%d buffers with the password freed while loading",
		     during_load);
	cr_expect_eq(freed_with_password, 0, "%d buffers with the password freed unwiped",
		     freed_with_password);
	unlink(path);
	unlink(other_path);
	rmdir(dir);
}

Test(config_wipe, a_secret_is_wiped_from_every_buffer_freed)
{
#ifdef SANITIZED
	cr_skip_test("free() belongs to AddressSanitizer here");
#endif
	load_and_free("s.yaml", "mqtt:\n  password: !secret pw\n# ", "secrets.yaml",
		      "pw: " PASSWORD "\n");
}

Test(config_wipe, a_password_file_is_wiped_from_every_buffer_freed)
{
#ifdef SANITIZED
	cr_skip_test("free() belongs to AddressSanitizer here");
#endif
	load_and_free("p.yaml", "mqtt:\n  password_file: ", "mqtt.pass", PASSWORD "\n");
}
