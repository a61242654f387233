/* SPDX-License-Identifier: MIT */
/*
 * Tests of daemon/util/log.c: every control byte a message carries is
 * escaped, so one call writes exactly one line and text from outside can
 * never start a journal line with its own "<N>" priority; quoting of
 * untrusted strings.
 */
#include "util/log.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

Test(log, escape_writes_newlines_and_control_bytes_as_text)
{
	char out[64];
	static const char in[] = "a\nb\r\x1b[0m\x7f\tc\\";
	size_t n = sh_log_escape(out, sizeof(out), in, sizeof(in) - 1);
	cr_assert_str_eq(out, "a\\nb\\x0d\\x1b[0m\\x7f\\x09c\\");
	cr_assert_eq(n, strlen(out));
}

Test(log, escape_never_cuts_an_escape_in_half)
{
	char out[6];
	sh_log_escape(out, sizeof(out), "ab\n\n", 4);
	cr_assert_str_eq(out, "ab\\n");
	sh_log_escape(out, sizeof(out), "abc\x01", 4);
	cr_assert_str_eq(out, "abc");
}

Test(log, quote_escapes_quotes_and_control_bytes_and_cuts_long_text)
{
	char out[64 * 4 + 8];
	cr_assert_str_eq(sh_log_quote(out, sizeof(out), "x\n<0>it's", 64), "'x\\n<0>it\\'s'");
	cr_assert_str_eq(sh_log_quote(out, sizeof(out), "abcdef", 3), "'abc'...");
	cr_assert_str_eq(sh_log_quote(out, sizeof(out), NULL, 3), "''");
	char small[10];
	cr_assert_str_eq(sh_log_quote(small, sizeof(small), "abcdefgh", 64), "'abcd'...");
}

/* stderr becomes a file that JOURNAL_STREAM names, as under systemd. */
Test(log, one_call_is_one_journal_line_whatever_the_message_holds)
{
	char path[] = "/tmp/smarthub-test-log-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	int saved = dup(STDERR_FILENO);
	cr_assert_geq(dup2(fd, STDERR_FILENO), 0);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	char env[64];
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	sh_log_init(SH_LOG_DEBUG);
	sh_log_notice("unknown property '%s'", "x\n<0>FORGED-LINE");
	sh_log_error("%s", "two\r\nlines\n");
	dup2(saved, STDERR_FILENO);
	close(saved);
	unsetenv("JOURNAL_STREAM");

	char text[512] = "";
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
	close(fd);
	unlink(path);
	cr_assert_gt(n, 0);
	text[n] = '\0';
	cr_assert_str_eq(text, "<5>unknown property 'x\\n<0>FORGED-LINE'\n"
			       "<3>two\\x0d\\nlines\\n\n");
}
