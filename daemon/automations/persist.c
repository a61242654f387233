/* SPDX-License-Identifier: MIT */
/*
 * What survives a restart: each automation's enabled flag and its pending
 * for: timers of SH_AUTOMATION_PERSIST_FOR_MS or longer, as one JSON file
 * in the state directory:
 *
 *   {"saved_at": ms, "automations": {"<name>": {"fingerprint": "...",
 *     "enabled": true, "pending": [{"trigger": 0, "since": ms, "deadline": ms}]}}}
 *
 * Written atomically (a temporary file renamed over the old one), only
 * when something in it changed, and at most every
 * SH_AUTOMATION_PERSIST_EVERY_MS; on shutdown once more, so saved_at is
 * when the hub stopped and the downtime is known.
 */
#include "automations/automation_internal.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A state file larger than this is not ours. */
#define SH_AUTOMATION_STATE_MAX (1u << 20)

void sh_automations_mark_dirty(struct sh_automations *e)
{
	if (e->state_path)
		e->dirty = true;
}

uint64_t sh_automations_save_due(const struct sh_automations *e)
{
	if (!e->state_path || !e->dirty)
		return 0;
	return e->last_save_ms ? e->last_save_ms + SH_AUTOMATION_PERSIST_EVERY_MS : 1;
}

static cJSON *state_json(const struct sh_automations *e, uint64_t now)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *map = cJSON_CreateObject();
	if (!root || !map) {
		cJSON_Delete(root);
		cJSON_Delete(map);
		return NULL;
	}
	cJSON_AddNumberToObject(root, "saved_at", (double)now);
	cJSON_AddItemToObject(root, "automations", map);
	for (size_t k = 0; k < e->n; k++) {
		const struct automation *a = e->list[k];
		cJSON *o = cJSON_CreateObject();
		cJSON *pending = cJSON_CreateArray();
		if (!o || !pending) {
			cJSON_Delete(o);
			cJSON_Delete(pending);
			continue;
		}
		cJSON_AddStringToObject(o, "fingerprint", a->fingerprint);
		cJSON_AddBoolToObject(o, "enabled", a->enabled);
		for (size_t i = 0; i < a->cfg->n_triggers; i++) {
			const struct sh_trigger_state *s = &a->ts[i];
			uint64_t since = s->since_ms, deadline = s->deadline_ms;
			if (a->resume[i].set) {
				since = a->resume[i].since_ms;
				deadline = a->resume[i].deadline_ms;
			} else if (!s->pending) {
				continue;
			}
			if (a->cfg->triggers[i].for_ms < SH_AUTOMATION_PERSIST_FOR_MS)
				continue;
			cJSON *p = cJSON_CreateObject();
			cJSON_AddNumberToObject(p, "trigger", (double)i);
			cJSON_AddNumberToObject(p, "since", (double)since);
			cJSON_AddNumberToObject(p, "deadline", (double)deadline);
			cJSON_AddItemToArray(pending, p);
		}
		cJSON_AddItemToObject(o, "pending", pending);
		cJSON_AddItemToObject(map, a->name, o);
	}
	return root;
}

void sh_automations_save(struct sh_automations *e, uint64_t now, bool force)
{
	if (!e->state_path || (!force && !e->dirty))
		return;
	cJSON *root = state_json(e, now);
	char *text = root ? cJSON_PrintUnformatted(root) : NULL;
	cJSON_Delete(root);
	if (!text) {
		sh_log_error("automations: out of memory writing %s", e->state_path);
		return;
	}
	size_t n = strlen(e->state_path) + 8;
	char *tmp = malloc(n);
	int err = 0;
	if (!tmp) {
		free(text);
		return;
	}
	snprintf(tmp, n, "%s.tmp", e->state_path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
	} else {
		size_t len = strlen(text), off = 0;
		while (off < len && !err) {
			ssize_t w = write(fd, text + off, len - off);
			if (w < 0 && errno != EINTR)
				err = -errno;
			else if (w > 0)
				off += (size_t)w;
		}
		if (!err && fsync(fd) < 0)
			err = -errno;
		if (close(fd) < 0 && !err)
			err = -errno;
		if (!err && rename(tmp, e->state_path) < 0)
			err = -errno;
		if (err)
			unlink(tmp);
	}
	if (err)
		sh_log_error("automations: cannot write %s: %s", e->state_path, strerror(-err));
	else
		e->dirty = false;
	/* A failing disk is retried at the same pace, not in a loop. */
	e->last_save_ms = now;
	free(tmp);
	free(text);
}

void sh_automations_free_saved(struct sh_automations *e)
{
	for (size_t i = 0; i < e->n_saved; i++) {
		free(e->saved[i].name);
		free(e->saved[i].fingerprint);
	}
	free(e->saved);
	e->saved = NULL;
	e->n_saved = 0;
}

static char *read_file(const char *path, int *err)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		*err = -errno;
		return NULL;
	}
	char *buf = malloc(SH_AUTOMATION_STATE_MAX + 1);
	size_t n = buf ? fread(buf, 1, SH_AUTOMATION_STATE_MAX + 1, f) : 0;
	fclose(f);
	if (!buf || n > SH_AUTOMATION_STATE_MAX) {
		*err = buf ? -EFBIG : -ENOMEM;
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

void sh_automations_load_saved(struct sh_automations *e, uint64_t now)
{
	int err = 0;
	char *text = read_file(e->state_path, &err);
	if (!text) {
		if (err != -ENOENT)
			sh_log_warning("automations: cannot read %s: %s", e->state_path,
				       strerror(-err));
		return;
	}
	cJSON *root = cJSON_Parse(text);
	free(text);
	const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "automations");
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(root, "saved_at");
	if (!cJSON_IsObject(map) || !cJSON_IsNumber(at)) {
		sh_log_warning("automations: %s is not a state file; ignored", e->state_path);
		cJSON_Delete(root);
		return;
	}
	e->saved_stop_ms = (uint64_t)at->valuedouble;
	size_t count = (size_t)cJSON_GetArraySize(map);
	e->saved = calloc(count + 1, sizeof(*e->saved));
	const cJSON *item;
	cJSON_ArrayForEach(item, map)
	{
		if (!e->saved)
			break;
		struct saved_automation *sv = &e->saved[e->n_saved];
		const char *fp = cJSON_GetStringValue(cJSON_GetObjectItem(item, "fingerprint"));
		sv->name = strdup(item->string);
		sv->fingerprint = strdup(fp ? fp : "");
		sv->enabled = !cJSON_IsFalse(cJSON_GetObjectItem(item, "enabled"));
		if (!sv->name || !sv->fingerprint) {
			free(sv->name);
			free(sv->fingerprint);
			continue;
		}
		const cJSON *p;
		cJSON_ArrayForEach(p, cJSON_GetObjectItem(item, "pending"))
		{
			const cJSON *tr = cJSON_GetObjectItem(p, "trigger");
			const cJSON *since = cJSON_GetObjectItem(p, "since");
			const cJSON *dl = cJSON_GetObjectItem(p, "deadline");
			if (sv->n_pending >= sizeof(sv->pending) / sizeof(sv->pending[0]) ||
			    !cJSON_IsNumber(tr) || !cJSON_IsNumber(since) || !cJSON_IsNumber(dl))
				continue;
			sv->pending[sv->n_pending].trigger = (size_t)tr->valuedouble;
			sv->pending[sv->n_pending].since_ms = (uint64_t)since->valuedouble;
			sv->pending[sv->n_pending].deadline_ms = (uint64_t)dl->valuedouble;
			sv->n_pending++;
		}
		e->n_saved++;
	}
	cJSON_Delete(root);
	sh_log_info(
		"automations: read %s (%zu automations, written %llu s ago)", e->state_path,
		e->n_saved,
		(unsigned long long)(now > e->saved_stop_ms ? (now - e->saved_stop_ms) / 1000 : 0));
}

void sh_automations_set_state_file(struct sh_automations *e, const char *path, uint64_t now)
{
	free(e->state_path);
	e->state_path = path ? strdup(path) : NULL;
	if (e->state_path)
		sh_automations_load_saved(e, now);
}
