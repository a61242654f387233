// SPDX-License-Identifier: MIT
/*
 * MQTT topic filters (MQTT 3.1.1 section 4.7): one matcher for the bridge's
 * driver subscriptions and the automations' mqtt triggers.
 */
#include "util/topic.h"

#include <string.h>

bool sh_topic_level_matches(const char *filter, const char *topic, const char **fnext,
			    const char **tnext)
{
	const char *fe = strchr(filter, '/');
	const char *te = strchr(topic, '/');
	size_t fl = fe ? (size_t)(fe - filter) : strlen(filter);
	size_t tl = te ? (size_t)(te - topic) : strlen(topic);

	*fnext = fe ? fe + 1 : NULL;
	*tnext = te ? te + 1 : NULL;
	return (fl == 1 && filter[0] == '+') || (fl == tl && memcmp(filter, topic, fl) == 0);
}

bool sh_topic_matches(const char *filter, const char *topic)
{
	/* MQTT 4.7.2: wildcards at the first level do not match $-topics. */
	if (topic[0] == '$' && (filter[0] == '+' || filter[0] == '#'))
		return false;
	for (;;) {
		if (filter[0] == '#')
			return true; /* also matches the parent level itself */
		const char *fnext, *tnext;

		if (!sh_topic_level_matches(filter, topic, &fnext, &tnext))
			return false;
		if (!fnext && !tnext)
			return true;
		if (!tnext)
			/* "a/#" matches "a" */
			return fnext && strcmp(fnext, "#") == 0;
		if (!fnext)
			return false;
		filter = fnext;
		topic = tnext;
	}
}
