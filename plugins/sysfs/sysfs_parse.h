/* SPDX-License-Identifier: MIT */
/*
 * Pure parsers of Linux sensor files for the sysfs driver: which kind of
 * file a path is, the text of a thermal/hwmon/IIO value, the two lines of a
 * 1-wire DS18B20 `w1_slave`, and the rounding and change-threshold rules.
 * Nothing here does I/O or keeps state, so unit tests and fuzz targets can
 * call every function with a buffer.
 */
#ifndef SMARTHUB_SYSFS_PARSE_H
#define SMARTHUB_SYSFS_PARSE_H

#include <stdbool.h>
#include <stddef.h>

enum sysfs_type {
	SYSFS_AUTO,
	SYSFS_RAW,     /* a plain number, published as it is */
	SYSFS_THERMAL, /* thermal_zone*\/temp: milli-degrees Celsius */
	SYSFS_HWMON,   /* hwmon*\/temp*_input: milli-degrees Celsius */
	SYSFS_W1,      /* w1_slave of a DS18B20: CRC line, then t=milli-degrees */
	SYSFS_IIO,     /* in_*_raw: (raw + offset) * scale from the files beside it */
};

/* "auto", "raw", "thermal", "hwmon", "w1", "iio" -> the type; -EINVAL else. */
int sysfs_type_from_name(const char *name, enum sysfs_type *out);
const char *sysfs_type_name(enum sysfs_type type);

/*
 * What a path looks like: `.../thermal_zone<N>/temp` -> THERMAL,
 * `temp*_input` -> HWMON, `w1_slave` -> W1, `in_*_raw` -> IIO, anything else
 * -> RAW. Never returns AUTO.
 */
enum sysfs_type sysfs_detect_type(const char *path);

/*
 * One number, as sysfs prints it ("48312\n", "0.000805664", "-3"), with
 * optional surrounding white space and nothing else. Returns 0, or -EINVAL
 * for an empty, malformed or non-finite value.
 */
int sysfs_parse_number(const char *buf, size_t len, double *out);

/*
 * The w1_slave text of a DS18B20:
 *   72 01 4b 46 7f ff 0e 10 57 : crc=57 YES
 *   72 01 4b 46 7f ff 0e 10 57 t=23125
 * Returns 0 with *milli = 23125, -EIO when the first line ends in NO (the
 * sensor's CRC check failed: a failed reading, not a number), or -EINVAL
 * when the text has not that shape.
 */
int sysfs_parse_w1(const char *buf, size_t len, long *milli);

/*
 * The names of the IIO files beside `raw_path` (".../in_voltage0_raw"):
 * the channel's own (`in_voltage0_<suffix>`) and the one its type shares
 * (`in_voltage_<suffix>`, no index). `suffix` is "scale" or "offset".
 * Returns 0, -EINVAL when raw_path does not end in `_raw`, or -ENAMETOOLONG.
 * `shared` is set to "" when the channel has no index to drop.
 */
int sysfs_iio_siblings(const char *raw_path, const char *suffix, char *own, size_t own_len,
		       char *shared, size_t shared_len);

/* `value` rounded to `decimals` (0-9) decimal places, halves away from 0. */
double sysfs_round(double value, unsigned decimals);

/*
 * Whether a reading is published: always when nothing was published yet,
 * else when it differs from the last published value by at least
 * `threshold` (a threshold of 0 publishes every change).
 */
bool sysfs_should_publish(bool have_last, double last, double value, double threshold);

#endif
