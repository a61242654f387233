/* SPDX-License-Identifier: MIT */
/*
 * The sysfs driver: a sensor read from one Linux sensor file (a thermal
 * zone, a hwmon input, a 1-wire DS18B20, an IIO channel) every `interval`
 * and published under one state key.
 *
 * It owns, per device, the reading timer and at most one read in flight on
 * the worker pool: reading a w1_slave makes the kernel talk to the sensor
 * for about 750 ms, so no read ever happens on the loop. The worker reads
 * and converts; the loop side decides what to publish or report. A file
 * that cannot be opened is a lost connection (the daemon retries with
 * backoff); a file that reads but holds no valid number (a DS18B20 CRC
 * failure) is a failed reading, logged on change and never published.
 *
 * value = type_conversion(file) * scale + offset, rounded to `precision`.
 */
#include "sysfs_parse.h"

#include <smarthub/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The most we read of a sensor file; w1_slave is about 75 bytes. */
#define SYSFS_READ_MAX 4096
/* Room for an error message of one reading. */
#define SYSFS_MSG_MAX 256

struct sysfs_dev {
	struct sh_device *dev;
	const struct sh_host *host;

	/* Options, owned by the daemon until destroy. */
	const char *path;
	enum sysfs_type type; /* never AUTO after create */
	uint64_t interval_ms;
	double scale, offset, threshold;
	unsigned precision;
	const char *key;
	/* IIO: the channel's own and the type's shared scale/offset files. */
	char iio_scale[2][PATH_MAX], iio_offset[2][PATH_MAX];

	/* Connection. `gen` changes at every connect and disconnect, so a read
	 * that comes back from an earlier connection is recognised and dropped
	 * (there is no way to cancel a job on the pool). */
	unsigned gen;
	bool connecting;
	bool busy;       /* a read of this generation is in flight */
	bool force_next; /* refresh: publish the next reading regardless */
	struct sh_timer *timer;

	bool have_last;
	double last; /* the last value published */
};

enum read_result {
	READ_OK,
	READ_GONE, /* the file could not be opened: connection lost */
	READ_BAD,  /* it was read, but held no valid reading */
};

/* One read: the worker fills in the result; it touches nothing else. */
struct sysfs_job {
	struct sysfs_dev *sd; /* valid only while done() gets a non-NULL dev */
	unsigned gen;
	bool force;
	enum sysfs_type type;
	double scale, offset;
	unsigned precision;
	char path[PATH_MAX];
	char iio_scale[2][PATH_MAX], iio_offset[2][PATH_MAX];

	enum read_result result;
	double value;
	char msg[SYSFS_MSG_MAX];
};

/* Says why a reading failed; long paths are cut, which is fine in a log. */
__attribute__((format(printf, 2, 3))) static void job_msg(struct sysfs_job *job, const char *fmt,
							  ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(job->msg, sizeof(job->msg), fmt, ap);
	va_end(ap);
}

/* Reads the whole (small) file into buf; returns the length or -errno. */
static ssize_t read_file(const char *path, char *buf, size_t cap, bool *opened)
{
	*opened = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	*opened = true;
	size_t len = 0;
	while (len < cap) {
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;
			close(fd);
			return err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	return (ssize_t)len;
}

/* An IIO scale or offset: the channel's file, else the shared one, else
 * `def`. Returns 0 or -EINVAL with job->msg set. */
static int read_iio_factor(struct sysfs_job *job, char names[2][PATH_MAX], double def, double *out)
{
	char buf[128];
	bool opened;
	*out = def;
	for (int i = 0; i < 2; i++) {
		if (!names[i][0])
			continue;
		ssize_t n = read_file(names[i], buf, sizeof(buf), &opened);
		if (n == -ENOENT)
			continue;
		if (n < 0 || sysfs_parse_number(buf, (size_t)n, out) < 0) {
			job_msg(job, "%s: %s", names[i],
				n < 0 ? strerror((int)-n) : "not a number");
			return -EINVAL;
		}
		return 0;
	}
	return 0;
}

/* On a worker thread: read and convert, touching only the job. */
static void read_work(void *arg)
{
	struct sysfs_job *job = arg;
	char buf[SYSFS_READ_MAX];
	bool opened;
	double v;
	long milli;

	ssize_t n = read_file(job->path, buf, sizeof(buf), &opened);
	if (n < 0) {
		job->result = opened ? READ_BAD : READ_GONE;
		job_msg(job, "%s: %s", job->path, strerror((int)-n));
		return;
	}
	job->result = READ_BAD;
	switch (job->type) {
	case SYSFS_W1: {
		int r = sysfs_parse_w1(buf, (size_t)n, &milli);
		if (r == -EIO) {
			job_msg(job, "%s: CRC check failed", job->path);
			return;
		}
		if (r < 0) {
			job_msg(job, "%s: not a w1_slave reading", job->path);
			return;
		}
		v = (double)milli / 1000.0;
		break;
	}
	case SYSFS_IIO: {
		double scale, offset;
		if (sysfs_parse_number(buf, (size_t)n, &v) < 0) {
			job_msg(job, "%s: not a number", job->path);
			return;
		}
		if (read_iio_factor(job, job->iio_scale, 1.0, &scale) < 0 ||
		    read_iio_factor(job, job->iio_offset, 0.0, &offset) < 0)
			return;
		v = (v + offset) * scale;
		break;
	}
	default:
		if (sysfs_parse_number(buf, (size_t)n, &v) < 0) {
			job_msg(job, "%s: not a number", job->path);
			return;
		}
		if (job->type == SYSFS_THERMAL || job->type == SYSFS_HWMON)
			v /= 1000.0;
		break;
	}
	job->value = sysfs_round(v * job->scale + job->offset, job->precision);
	job->result = READ_OK;
}

static void read_done(struct sh_device *dev, void *arg);

/* Puts one read on the worker pool unless one is already in flight. */
static int start_read(struct sysfs_dev *sd)
{
	if (sd->busy)
		return 0;
	struct sysfs_job *job = calloc(1, sizeof(*job));
	if (!job)
		return -ENOMEM;
	job->sd = sd;
	job->gen = sd->gen;
	job->force = sd->force_next;
	job->type = sd->type;
	job->scale = sd->scale;
	job->offset = sd->offset;
	job->precision = sd->precision;
	snprintf(job->path, sizeof(job->path), "%s", sd->path);
	memcpy(job->iio_scale, sd->iio_scale, sizeof(job->iio_scale));
	memcpy(job->iio_offset, sd->iio_offset, sizeof(job->iio_offset));
	int r = sd->host->work_submit(sd->dev, read_work, read_done, job);
	if (r < 0) {
		free(job);
		return r;
	}
	sd->busy = true;
	sd->force_next = false;
	return 0;
}

static void tick(struct sh_device *dev, void *data)
{
	struct sysfs_dev *sd = data;
	int r = start_read(sd);
	if (r < 0)
		sd->host->log(dev, SH_LOG_DEBUG, "reading skipped: %s", strerror(-r));
}

/* The host's complaint slot for failed readings: logged the first time,
 * then at most once a minute, and once more when readings work again. */
#define COMPLAIN_READING 0

static void reading_failed(struct sysfs_dev *sd, const char *msg)
{
	sd->host->complain(sd->dev, COMPLAIN_READING, SH_LOG_WARNING, "reading failed: %s", msg);
}

static void publish(struct sysfs_dev *sd, double value, bool force)
{
	sd->host->complain_clear(sd->dev, COMPLAIN_READING, "readings recovered");
	if (!force && !sysfs_should_publish(sd->have_last, sd->last, value, sd->threshold)) {
		if (value != sd->last)
			sd->host->log(sd->dev, SH_LOG_DEBUG,
				      "%g within change_threshold of %g: not published", value,
				      sd->last);
		return;
	}
	cJSON *patch = cJSON_CreateObject();
	if (!patch || !cJSON_AddNumberToObject(patch, sd->key, value)) {
		cJSON_Delete(patch);
		return;
	}
	sd->host->state_update(sd->dev, patch);
	cJSON_Delete(patch);
	sd->have_last = true;
	sd->last = value;
}

static void read_done(struct sh_device *dev, void *arg)
{
	struct sysfs_job *job = arg;
	struct sysfs_dev *sd = job->sd;

	if (!dev || job->gen != sd->gen) {
		/* The device was destroyed or disconnected meanwhile. */
		free(job);
		return;
	}
	sd->busy = false;

	if (sd->connecting) {
		sd->connecting = false;
		if (job->result == READ_GONE) {
			sd->host->failed(dev, job->msg);
			free(job);
			return;
		}
		sd->timer = sd->host->timer_start(dev, sd->interval_ms, sd->interval_ms, tick, sd);
		sd->host->connected(dev);
	} else if (job->result == READ_GONE) {
		/* The daemon calls disconnect and reconnects with backoff. */
		sd->host->failed(dev, job->msg);
		free(job);
		return;
	}

	if (job->result == READ_OK)
		publish(sd, job->value, job->force);
	else
		reading_failed(sd, job->msg);
	free(job);
}

static int sysfs_connect(void *priv)
{
	struct sysfs_dev *sd = priv;
	sd->gen++;
	sd->busy = false;
	sd->connecting = true;
	sd->have_last = false;
	int r = start_read(sd);
	if (r < 0) {
		sd->connecting = false;
		sd->host->failed(sd->dev, "cannot queue a reading");
	}
	return 0;
}

static int sysfs_refresh(void *priv)
{
	struct sysfs_dev *sd = priv;
	sd->force_next = true;
	if (sd->busy)
		return 0; /* the reading in flight will do; see force_next */
	return start_read(sd);
}

static void sysfs_disconnect(void *priv)
{
	struct sysfs_dev *sd = priv;
	if (!sd)
		return;
	sd->gen++;
	sd->busy = false;
	sd->connecting = false;
	sd->force_next = false;
	sd->host->timer_stop(sd->timer);
	sd->timer = NULL;
}

static void sysfs_destroy(void *priv)
{
	if (!priv)
		return;
	sysfs_disconnect(priv);
	free(priv);
}

static int sysfs_create(struct sh_device *dev, const struct sh_host *host, void **priv)
{
	struct sysfs_dev *sd = calloc(1, sizeof(*sd));
	const char *type_name;
	long long precision;

	if (!sd)
		return -ENOMEM;
	sd->dev = dev;
	sd->host = host;

	host->opt_string(dev, "path", NULL, &sd->path);
	host->opt_string(dev, "type", "auto", &type_name);
	host->opt_duration_ms(dev, "interval", 30000, &sd->interval_ms);
	host->opt_double(dev, "scale", 1.0, -1e12, 1e12, &sd->scale);
	host->opt_double(dev, "offset", 0.0, -1e12, 1e12, &sd->offset);
	host->opt_double(dev, "change_threshold", 0.0, 0.0, 1e12, &sd->threshold);
	host->opt_int(dev, "precision", 2, 0, 9, &precision);
	/* The reading is named after the device's device_class (a key every
	 * device has; discovery reads it and `unit` from the configuration). */
	const struct sh_node *cls = host->device_option(dev, "device_class");
	host->opt_string(dev, "key", cls && cls->value ? cls->value : "value", &sd->key);
	sd->precision = (unsigned)precision;

	/* Each problem is reported, so one run of --check-config shows all. */
	if (!sd->path)
		host->config_error(dev, NULL, "sysfs needs a path (the sensor file)");
	if (type_name && sysfs_type_from_name(type_name, &sd->type) < 0)
		host->config_error(dev, host->opt_node(dev, "type"),
				   "type must be auto, raw, thermal, hwmon, w1 or iio, not '%s'",
				   type_name);
	if (sd->interval_ms == 0)
		host->config_error(dev, host->opt_node(dev, "interval"),
				   "interval must be longer than 0");
	if (sd->key && !sd->key[0])
		host->config_error(dev, host->opt_node(dev, "key"), "key must not be empty");
	int bad = host->opt_status(dev);
	if (!bad && sd->type == SYSFS_AUTO)
		sd->type = sysfs_detect_type(sd->path);
	if (!bad && sd->type == SYSFS_IIO &&
	    (sysfs_iio_siblings(sd->path, "scale", sd->iio_scale[0], PATH_MAX, sd->iio_scale[1],
				PATH_MAX) < 0 ||
	     sysfs_iio_siblings(sd->path, "offset", sd->iio_offset[0], PATH_MAX, sd->iio_offset[1],
				PATH_MAX) < 0)) {
		host->config_error(dev, host->opt_node(dev, "path"),
				   "an iio path must name an in_*_raw file");
		bad = host->opt_status(dev);
	}
	if (bad < 0) {
		free(sd);
		return bad;
	}
	/* Discovery announces the one reading before its first value. */
	cJSON *meta = cJSON_CreateObject();
	cJSON_AddObjectToObject(cJSON_AddObjectToObject(meta, "readings"), sd->key);
	host->set_metadata(dev, meta);
	cJSON_Delete(meta);
	host->log(dev, SH_LOG_DEBUG, "%s sensor %s, every %llu ms", sysfs_type_name(sd->type),
		  sd->path, (unsigned long long)sd->interval_ms);
	*priv = sd;
	return 0;
}

static const char *const sysfs_kinds[] = {"sensor", NULL};

SH_DRIVER_EXPORT const struct sh_driver sh_driver_descriptor = {
	.abi_version = SH_PLUGIN_ABI_VERSION,
	.name = "sysfs",
	.kinds = sysfs_kinds,
	.create = sysfs_create,
	.connect = sysfs_connect,
	.refresh = sysfs_refresh,
	.disconnect = sysfs_disconnect,
	.destroy = sysfs_destroy,
};
