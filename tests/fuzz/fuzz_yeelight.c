// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the Yeelight protocol parser: every input is one line a
 * bulb (or anything answering on its port) could send. A parsed message is
 * read as a get_prop answer, turned into a state patch as the driver
 * publishes it, and checked for the quota error; the conversions get the
 * numbers the bulb reported.
 */
#include "yl_proto.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_state(const struct yl_props *props)
{
	cJSON *state = yl_props_to_state(props);
	if (!state)
		return;
	/* What the driver publishes must be within the light kind's ranges. */
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(state, "brightness");
	if (cJSON_IsNumber(b) && (b->valuedouble < 0 || b->valuedouble > 255))
		abort();
	const cJSON *ct = cJSON_GetObjectItemCaseSensitive(state, "color_temp");
	if (cJSON_IsNumber(ct) &&
	    (ct->valuedouble < YL_MIREDS_MIN || ct->valuedouble > YL_MIREDS_MAX))
		abort();
	char *text = cJSON_PrintUnformatted(state);
	free(text);
	cJSON_Delete(state);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yl_message msg;
	struct yl_props props;

	memset(&msg, 0, sizeof(msg));
	if (yl_parse_message((const char *)data, size, &msg) != 0)
		return 0;
	if (msg.n_result > YL_RESULT_MAX || !memchr(msg.error_message, '\0', YL_TEXT_MAX))
		abort();
	for (size_t i = 0; i < msg.n_result; i++)
		if (!memchr(msg.result[i], '\0', YL_TEXT_MAX))
			abort();
	(void)yl_error_is_quota(&msg);
	if (msg.type == YL_MSG_PROPS)
		check_state(&msg.props);
	memset(&props, 0, sizeof(props));
	if (yl_props_from_get_prop(&msg, &props) == 0) {
		check_state(&props);
		if (props.has_bright)
			(void)yl_bright_to_255(props.bright);
		if (props.has_ct)
			(void)yl_mireds_from_kelvin(props.ct);
	}
	/* The conversions' domains: a command's brightness and color_temp,
	 * already checked by the light kind (with some margin). */
	(void)yl_bright_from_255((int)((unsigned long long)msg.id % 256));
	(void)yl_kelvin_from_mireds((int)((unsigned long long)msg.id % 1000));

	/* A request whose method is the first result, as an echo would be. */
	char line[YL_REQUEST_MAX];
	int n = yl_format_request(line, sizeof(line), (uint32_t)msg.id,
				  msg.n_result ? msg.result[0] : "get_prop", "[]");
	if (n >= (int)sizeof(line))
		abort();
	return 0;
}
