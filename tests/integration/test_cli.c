/* SPDX-License-Identifier: MIT */
/*
 * The command line as a new user meets it (issue 18 items 12-15): the
 * build tree's binary finds the build tree's plugins, --check-config
 * prints bare file:line:column lines with did-you-mean for driver options
 * and misspelt common keys, --help shows the default plugin directory and
 * --explain/--graph, and --explain of an unknown scene lists the scenes.
 * Nothing here runs the daemon or a broker: of the fixture, only the
 * temporary directory and its teardown are used.
 */
#include "fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(cli, .fini = th_fixture_teardown, .timeout = 60);

/* Runs smarthubd with `args` (NULL-terminated, at most 8); returns the
 * exit status and the output in *out. */
static int smarthubd(const char *const *args, char **out)
{
	const char *argv[12] = {SMARTHUBD_PATH};
	size_t n = 1;
	for (; args[n - 1] && n < 11; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	int status = -1;
	cr_assert_eq(th_run(argv, NULL, out, &status), 0);
	return status;
}

static char *config(const char *text)
{
	char *path = th_fixture_path("smarthub.yaml");
	cr_assert_eq(th_write_file(path, text), 0);
	return path;
}

Test(cli, check_config_bare_lines_and_did_you_mean)
{
	char *path = config("devices:\n"
			    "  lamp:\n"
			    "    driver: virtual\n"
			    "    kind: light\n"
			    "    conect_timeout: 5s\n"
			    "    conect_delay: 1s\n");
	const char *args[] = {"--check-config",          "-c", path, "--plugin-dir",
			      SMARTHUB_PLUGIN_BUILD_DIR, NULL};
	char *out = NULL;
	cr_expect_eq(smarthubd(args, &out), 78);
	char *want = th_strdupf("%s:5:5: device lamp: unknown key 'conect_timeout' (did you mean "
				"the common key 'connect_timeout'?)",
				path);
	cr_expect(th_text_has_line(out, want, NULL), "want %s in:\n%s", want, out);
	free(want);
	want = th_strdupf("%s:6:5: device lamp: unknown option 'conect_delay' for driver virtual "
			  "(did you mean 'connect_delay'?)",
			  path);
	cr_expect(th_text_has_line(out, want, NULL), "want %s in:\n%s", want, out);
	free(want);
	free(out);

	/* The loader's own errors are bare lines too. */
	config("mqtt:\n  keepalve: 5\n");
	cr_expect_eq(smarthubd(args, &out), 78);
	want = th_strdupf("%s:2:3: unknown key 'keepalve' in mqtt (did you mean 'keepalive'?)",
			  path);
	cr_expect(th_text_has_line(out, want, NULL), "want %s in:\n%s", want, out);
	free(want);
	free(out);
	free(path);
}

/* A general typo, a driver option typo and a misspelt common key, with the
 * general section last in the file: one run shows all three, as bare
 * lines in file order, and so does a plain start. */
Test(cli, every_error_in_one_run_in_file_order)
{
	char *path = config("devices:\n"
			    "  lamp:\n"
			    "    driver: virtual\n"
			    "    kind: light\n"
			    "    conect_delay: 1s\n"
			    "  plug:\n"
			    "    driver: virtual\n"
			    "    kind: switch\n"
			    "    comand_timeout: 2s\n"
			    "mqtt:\n"
			    "  keepalve: 5\n");
	const char *args[] = {"--check-config",          "-c", path, "--plugin-dir",
			      SMARTHUB_PLUGIN_BUILD_DIR, NULL};
	char *out = NULL;
	cr_expect_eq(smarthubd(args, &out), 78);
	char *want = th_strdupf(
		"%1$s:5:5: device lamp: unknown option 'conect_delay' for driver virtual (did you "
		"mean 'connect_delay'?)\n"
		"%1$s:9:5: device plug: unknown key 'comand_timeout' (did you mean the common key "
		"'command_timeout'?)\n"
		"%1$s:11:3: unknown key 'keepalve' in mqtt (did you mean 'keepalive'?)\n",
		path);
	cr_expect_str_eq(out, want);
	free(want);
	free(out);

	/* Starting with it logs the same three and refuses to run. */
	const char *start[] = {"-c", path, "--plugin-dir", SMARTHUB_PLUGIN_BUILD_DIR, NULL};
	cr_expect_eq(smarthubd(start, &out), 78);
	const char *a = strstr(out, "conect_delay");
	const char *b = a ? strstr(a, "comand_timeout") : NULL;
	cr_expect(b && strstr(b, "keepalve"), "all three, in file order:\n%s", out);
	free(out);
	free(path);
}

Test(cli, unknown_driver_lists_the_drivers_found)
{
	char *path = config("devices:\n  lamp: {driver: virtul, kind: light}\n");
	const char *args[] = {"--check-config",          "-c", path, "--plugin-dir",
			      SMARTHUB_PLUGIN_BUILD_DIR, NULL};
	char *out = NULL;
	cr_expect_eq(smarthubd(args, &out), 78);
	cr_expect(strstr(out, "drivers found: ") && strstr(out, "(did you mean 'virtual'?)"), "%s",
		  out);
	/* At the name to fix. */
	cr_expect(strstr(out, "smarthub.yaml:2:18: device lamp: driver 'virtul'"), "%s", out);
	/* Sorted, so a user finds a name in a long list. */
	const char *exec = strstr(out, "exec, ");
	const char *virt = strstr(out, "virtual, ");
	cr_expect(exec && virt && exec < virt, "%s", out);
	free(out);
	free(path);

	/* With no driver to ask, a misspelt common key is still reported in
	 * the same run (and nothing is said of the driver's options). */
	path = config("devices:\n"
		      "  lamp: {driver: virtul, kind: light, conect_timeout: 5s, port: 1}\n"
		      "  fan: {driver: virtual, kind: lamp, comand_timeout: 5s}\n");
	args[2] = path; /* the first file's path was freed */
	cr_expect_eq(smarthubd(args, &out), 78);
	cr_expect(strstr(out, "drivers found: "), "%s", out);
	cr_expect(strstr(out, "unknown key 'conect_timeout' (did you mean the common key "
			      "'connect_timeout'?)"),
		  "%s", out);
	cr_expect(strstr(out, "unknown key 'comand_timeout' (did you mean the common key "
			      "'command_timeout'?)"),
		  "%s", out);
	cr_expect_null(strstr(out, "'port'"), "%s", out);
	free(out);
	free(path);
}

/* A plugins.dir that does not exist is one error at its own position,
 * not one more per driver that then cannot be found in it; the devices'
 * common keys are still checked, and with --plugin-dir the same devices
 * load. */
Test(cli, a_missing_plugins_dir_is_one_error)
{
	char *path =
		config("plugins:\n"
		       "  dir: /nonexistent/smarthub-plugins\n"
		       "devices:\n"
		       "  lamp: {driver: virtual, kind: light}\n"
		       "  plug: {driver: exec, kind: switch, on: [/bin/true], off: [/bin/true]}\n"
		       "  fan: {driver: virtual, kind: light, comand_timeout: 5s}\n");
	const char *args[] = {"--check-config", "-c", path, NULL};
	char *out = NULL;
	cr_expect_eq(smarthubd(args, &out), 78);
	char *want = th_strdupf(
		"%1$s:2:8: plugins.dir: cannot load plugins from /nonexistent/smarthub-plugins: "
		"No such file or directory\n"
		"%1$s:6:39: device fan: unknown key 'comand_timeout' (did you mean the common key "
		"'command_timeout'?)\n",
		path);
	cr_expect_str_eq(out, want);
	free(want);
	free(out);

	/* Starting with it logs it once and refuses to run. */
	const char *start[] = {"-c", path, NULL};
	cr_expect_eq(smarthubd(start, &out), 78);
	const char *first = strstr(out, "plugins.dir: cannot load plugins");
	cr_expect(first && !strstr(first + 1, "plugins.dir: cannot load plugins"), "%s", out);
	cr_expect_null(strstr(out, "cannot open plugin"), "%s", out);
	free(out);

	/* The directory in force is --plugin-dir's: plugins.dir is not used. */
	config("plugins:\n"
	       "  dir: /nonexistent/smarthub-plugins\n"
	       "devices:\n"
	       "  lamp: {driver: virtual, kind: light}\n");
	const char *with_dir[] = {"--check-config",          "-c", path, "--plugin-dir",
				  SMARTHUB_PLUGIN_BUILD_DIR, NULL};
	cr_expect_eq(smarthubd(with_dir, &out), 0, "%s", out);
	free(out);
	free(path);
}

Test(cli, build_tree_binary_finds_its_plugins)
{
	char *path = config("devices:\n  lamp: {driver: virtual, kind: light}\n");
	const char *args[] = {"--check-config", "-c", path, NULL};
	char *out = NULL;
	cr_expect_eq(smarthubd(args, &out), 0, "%s", out);
	cr_expect(strstr(out, "plugins-out"), "%s", out);
	free(out);
	free(path);
}

Test(cli, help_and_explain)
{
	const char *help[] = {"--help", NULL};
	char *out = NULL;
	cr_expect_eq(smarthubd(help, &out), 0);
	cr_expect(strstr(out, "--explain") && strstr(out, "--graph"), "%s", out);
	cr_expect(strstr(out, "/smarthub/plugins"), "the default plugin dir: %s", out);
	free(out);

	char *path = config(
		"devices:\n  lamp: {driver: virtual, kind: light}\n"
		"scenes:\n  evening:\n    steps:\n      - {device: lamp, set: {state: \"ON\"}}\n");
	const char *args[] = {"--check-config", "-c", path, "--explain", "nope", NULL};
	cr_expect_eq(smarthubd(args, &out), 78);
	cr_expect(strstr(out, "no scene or automation 'nope'; the scenes are 'evening'"), "%s",
		  out);
	free(out);
	free(path);
}
