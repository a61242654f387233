/* SPDX-License-Identifier: MIT */
/*
 * The duration formatter (see duration.h).
 */
#include "util/duration.h"

#include <stdio.h>

const char *sh_duration_format(uint64_t ms, char *buf, size_t len)
{
	unsigned long long v = (unsigned long long)ms;
	if (ms == 0)
		snprintf(buf, len, "0ms");
	else if (ms % 3600000 == 0)
		snprintf(buf, len, "%lluh", v / 3600000);
	else if (ms % 60000 == 0)
		snprintf(buf, len, "%llum", v / 60000);
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%llus", v / 1000);
	else if (ms > 1000 && ms % 100 == 0)
		snprintf(buf, len, "%llu.%llus", v / 1000, v % 1000 / 100);
	else
		snprintf(buf, len, "%llums", v);
	return buf;
}
