// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the sysfs driver's parsers (plugins/sysfs/sysfs_parse.c):
 * every input is the text of a sensor file, read as a plain number and as
 * a DS18B20 w1_slave; its first bytes also serve as a path for the type
 * detection and the IIO sibling names. An accepted number must be finite,
 * and rounding and the change threshold must not trip UBSan on any value.
 */
#include "sysfs_parse.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	double v;
	if (sysfs_parse_number(buf, size, &v) == 0) {
		if (!isfinite(v))
			abort();
		for (unsigned d = 0; d <= 9; d++)
			(void)sysfs_round(v, d);
		(void)sysfs_should_publish(true, v, v / 3, 0.5);
	}
	long milli;
	int r = sysfs_parse_w1(buf, size, &milli);
	if (r != 0 && r != -EIO && r != -EINVAL)
		abort();

	/* The input up to its first NUL, as a path. */
	char path[512];
	size_t n = strnlen(buf, size < sizeof(path) - 1 ? size : sizeof(path) - 1);
	memcpy(path, buf, n);
	path[n] = '\0';
	enum sysfs_type t = sysfs_detect_type(path);
	if (t == SYSFS_AUTO || !sysfs_type_name(t))
		abort();
	char own[256], shared[256];
	(void)sysfs_iio_siblings(path, "scale", own, sizeof(own), shared, sizeof(shared));
	enum sysfs_type named;
	(void)sysfs_type_from_name(path, &named);
	return 0;
}
