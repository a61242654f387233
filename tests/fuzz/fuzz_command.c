// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the command validator: every input is an MQTT /set
 * payload, parsed with an explicit length as the bridge does, then checked
 * against every device kind (and an unknown one). A command a kind accepts
 * also goes through TOGGLE resolution, against an ON, an OFF and an empty
 * current state, and is printed again, as it would be when queued and
 * published.
 */
#include "kinds/kind.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static cJSON *current_states[3];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	current_states[0] = cJSON_Parse("{\"state\":\"ON\",\"brightness\":12}");
	current_states[1] = cJSON_Parse("{\"state\":\"OFF\"}");
	current_states[2] = cJSON_CreateObject();
	for (size_t i = 0; i < 3; i++)
		if (!current_states[i])
			abort();
	return 0;
}

static void check_kind(const char *kind, const cJSON *command)
{
	char reason[256];

	memset(reason, 0, sizeof(reason));
	int r = sh_kind_validate(kind, command, reason, sizeof(reason));
	if (r != 0) {
		/* A refusal must say why: the reason goes to bridge/event. */
		if (reason[0] == '\0' || !memchr(reason, '\0', sizeof(reason)))
			abort();
		return;
	}
	for (size_t i = 0; i < 3; i++) {
		cJSON *copy = cJSON_Duplicate(command, 1);
		if (!copy)
			return;
		sh_kind_resolve_toggle(copy, current_states[i]);
		char *text = cJSON_PrintUnformatted(copy);
		free(text);
		cJSON_Delete(copy);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *command = cJSON_ParseWithLength((const char *)data, size);
	if (!command)
		return 0;
	for (size_t i = 0; sh_kinds[i]; i++)
		check_kind(sh_kinds[i], command);
	check_kind("toaster", command);
	cJSON_Delete(command);
	return 0;
}
