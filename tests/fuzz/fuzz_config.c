// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the configuration loader: every input is a YAML file
 * handed to sh_config_load() exactly as the daemon would read it, then
 * summarised as --check-config would print it.
 *
 * sh_config_load() takes a path, so the input goes to a file in a private
 * directory under /dev/shm (tmpfs: no disk writes per run). That directory
 * also holds a secrets.yaml, so `!secret` lookups resolve, and the target
 * checks the one property of the loader a crash would not show: the secret
 * value never appears in the summary or in an error message.
 */
#define _GNU_SOURCE /* memmem, open_memstream */
#include "config/config.h"
#include "config/diag.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A value no configuration contains by accident; if the input itself
 * holds it, seeing it in the output proves nothing. */
#define FUZZ_SECRET "Zq7-fuzz-secret-Wx3"

static char dir[] = "/dev/shm/smarthub-fuzz-config-XXXXXX";
static char config_path[sizeof(dir) + 32];
static char secrets_path[sizeof(dir) + 32];

static void remove_dir(void)
{
	unlink(config_path);
	unlink(secrets_path);
	rmdir(dir);
}

static int write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	size_t n = fwrite(data, 1, len, f);
	if (fclose(f) != 0 || n != len)
		return -1;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char secrets[] = "mqtt_password: " FUZZ_SECRET "\n"
				      "mqtt_user: hub\n";

	if (!mkdtemp(dir)) {
		perror("fuzz_config: mkdtemp");
		abort();
	}
	snprintf(config_path, sizeof(config_path), "%s/smarthub.yaml", dir);
	snprintf(secrets_path, sizeof(secrets_path), "%s/secrets.yaml", dir);
	if (write_file(secrets_path, secrets, strlen(secrets)) < 0) {
		perror("fuzz_config: secrets.yaml");
		abort();
	}
	atexit(remove_dir);
	/* ${FUZZ_HOST} and ${FUZZ_PORT} resolve; other variables stay unset. */
	setenv("FUZZ_HOST", "127.0.0.1", 1);
	setenv("FUZZ_PORT", "1883", 1);
	return 0;
}

/* The summary and the error list, as --check-config would print them. */
static void check_output(const struct sh_config *config, const struct sh_diag *diag,
			 bool input_has_secret)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	if (!out)
		abort();
	if (config)
		sh_config_print_summary(config, out);
	sh_diag_print(diag, out);
	fclose(out);
	if (!input_has_secret && memmem(text, len, FUZZ_SECRET, strlen(FUZZ_SECRET))) {
		fprintf(stderr, "fuzz_config: the secret leaked into the output:\n%s\n", text);
		abort();
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sh_config *config = NULL;
	struct sh_diag diag = {0};

	if (write_file(config_path, data, size) < 0)
		abort();
	int r = sh_config_load(config_path, &config, &diag);
	if ((r == 0) != (config != NULL))
		abort(); /* the contract: *out is set exactly on success */
	if (config) {
		for (size_t i = 0; i < config->n_devices; i++)
			if (sh_config_find_device(config, config->devices[i].id) !=
			    &config->devices[i])
				abort();
		for (size_t i = 0; i < config->n_scenes; i++)
			if (!sh_config_find_scene(config, config->scenes[i].name))
				abort();
	}
	check_output(config, &diag, memmem(data, size, FUZZ_SECRET, strlen(FUZZ_SECRET)) != NULL);
	sh_config_free(config);
	sh_diag_clear(&diag);
	return 0;
}
