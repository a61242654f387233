// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the exec driver's output parsers (plugins/exec/
 * exec_parse.c): every input is what a `state` or `read` tool printed. A
 * result that is accepted must be a JSON object, and a `state` result's
 * state member, if any, must be "ON" or "OFF"; it is printed again, as the
 * driver does when it reports the state.
 */
#include "exec_parse.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check(cJSON *patch, int r, int state)
{
	if (r != 0) {
		if (patch)
			abort(); /* a refusal leaves nothing behind */
		return;
	}
	if (!cJSON_IsObject(patch))
		abort();
	if (state) {
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(patch, "state");
		if (s && !(cJSON_IsString(s) && (strcmp(s->valuestring, "ON") == 0 ||
						 strcmp(s->valuestring, "OFF") == 0)))
			abort();
	}
	free(cJSON_PrintUnformatted(patch));
	cJSON_Delete(patch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *patch = NULL;
	int r = exec_parse_state((const char *)data, size, &patch);
	check(patch, r, 1);
	patch = NULL;
	r = exec_parse_read((const char *)data, size, "value", &patch);
	check(patch, r, 0);
	return 0;
}
