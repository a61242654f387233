// SPDX-License-Identifier: MIT
/*
 * The completion contract of plugin.h: a report a driver makes while the
 * daemon is inside one of its sh_driver callbacks (create, connect,
 * command, refresh, disconnect, destroy) waits here and is delivered on a
 * later loop iteration, in the order it was made. So no caller of the
 * device API ever sees its completion inside the call that started the
 * work, and neither the scene engine nor the MQTT bridge needs a
 * re-entrancy flag.
 *
 * One queue per hub, bounded by SH_REPORTS_LIMIT; each report is also on
 * its device's list, so a device that goes away drops its own reports and
 * a report made from a timer while the device still has reports waiting
 * goes behind them instead of overtaking them. Delivery is an ev_idle
 * watcher of the highest priority: it keeps the loop from blocking while
 * reports wait and runs before the next iteration's other callbacks.
 */
#include "core/device_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One "queue full" line per minute at most: a driver in a loop would
 * otherwise flood the log too. */
#define REPORTS_COMPLAIN_MS 60000u

struct sh_reports {
	struct ev_loop *loop;
	ev_idle idle;
	struct sh_list queue; /* struct sh_report.link, oldest first */
	size_t length;
	unsigned depth; /* nesting of driver callbacks now running */
	struct sh_ratelimit full;
};

static void report_free(struct sh_report *r)
{
	free(r->text);
	cJSON_Delete(r->json);
	free(r);
}

static void unlink_report(struct sh_reports *q, struct sh_report *r)
{
	sh_list_remove(&r->link);
	sh_list_remove(&r->dev_link);
	q->length--;
}

static void deliver_due(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct sh_reports *q = w->data;
	/* Only what waits now: reports a delivery causes (a driver called
	 * back from it) wait for the next iteration, so the loop turns. */
	size_t due = q->length;
	while (due-- && !sh_list_empty(&q->queue)) {
		struct sh_report *r =
			sh_list_entry(sh_list_first(&q->queue), struct sh_report, link);
		unlink_report(q, r);
		sh_host_deliver(r);
		report_free(r);
	}
	if (sh_list_empty(&q->queue))
		ev_idle_stop(loop, w);
}

int sh_reports_new(struct ev_loop *loop, struct sh_reports **out)
{
	struct sh_reports *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->loop = loop;
	sh_list_init(&q->queue);
	ev_idle_init(&q->idle, deliver_due);
	ev_set_priority(&q->idle, EV_MAXPRI);
	q->idle.data = q;
	q->full = (struct sh_ratelimit){.interval_ms = REPORTS_COMPLAIN_MS, .burst = 1};
	*out = q;
	return 0;
}

void sh_reports_free(struct sh_reports *q)
{
	if (!q)
		return;
	ev_idle_stop(q->loop, &q->idle);
	struct sh_list *pos, *tmp;
	sh_list_for_each_safe(pos, tmp, &q->queue)
	{
		struct sh_report *r = sh_list_entry(pos, struct sh_report, link);
		unlink_report(q, r);
		report_free(r);
	}
	free(q);
}

void sh_reports_enter(struct sh_reports *q)
{
	q->depth++;
}

void sh_reports_leave(struct sh_reports *q)
{
	if (q->depth)
		q->depth--;
}

bool sh_reports_must_defer(const struct sh_device *dev)
{
	const struct sh_reports *q = sh_hub_reports(dev->hub);
	return q->depth > 0 || !sh_list_empty(&dev->reports);
}

int sh_reports_push(struct sh_device *dev, enum sh_report_type type, uint64_t id, int err,
		    const char *text, const cJSON *json, void *target)
{
	struct sh_reports *q = sh_hub_reports(dev->hub);
	if (q->length >= SH_REPORTS_LIMIT) {
		unsigned suppressed = 0;
		if (sh_ratelimit_allow(&q->full, sh_hub_now_ms(dev->hub), &suppressed))
			sh_log_error("device %s: %d reports wait for delivery; dropping one "
				     "(a driver reports in a loop?)%s",
				     sh_device_id(dev), SH_REPORTS_LIMIT,
				     suppressed ? " (more dropped before)" : "");
		return -ENOBUFS;
	}
	struct sh_report *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	*r = (struct sh_report){.dev = dev,
				.type = type,
				.epoch = dev->conn_epoch,
				.id = id,
				.err = err,
				.target = target};
	if ((text && !(r->text = strdup(text))) ||
	    (json && !(r->json = cJSON_Duplicate(json, true)))) {
		report_free(r);
		return -ENOMEM;
	}
	sh_list_append(&q->queue, &r->link);
	sh_list_append(&dev->reports, &r->dev_link);
	q->length++;
	ev_idle_start(q->loop, &q->idle);
	return 0;
}

void sh_reports_drop(struct sh_device *dev, const void *target)
{
	struct sh_reports *q = sh_hub_reports(dev->hub);
	struct sh_list *pos, *tmp;
	sh_list_for_each_safe(pos, tmp, &dev->reports)
	{
		struct sh_report *r = sh_list_entry(pos, struct sh_report, dev_link);
		if (target && r->target != target)
			continue;
		unlink_report(q, r);
		report_free(r);
	}
	if (sh_list_empty(&q->queue))
		ev_idle_stop(q->loop, &q->idle);
}
