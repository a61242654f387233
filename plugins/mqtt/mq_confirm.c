// SPDX-License-Identifier: MIT
/*
 * Command confirmation by reported state (see mq_confirm.h).
 */
#include "mq_confirm.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void mq_confirm_clear(struct mq_confirm *c)
{
	cJSON_Delete(c->want);
	cJSON_Delete(c->tol);
	memset(c, 0, sizeof(*c));
}

static const struct mq_prop *reader_of(const struct mq_codec *const *codecs, size_t n,
				       const char *name, bool *passthrough)
{
	*passthrough = false;
	for (size_t i = 0; i < n; i++) {
		const struct mq_prop *p = mq_codec_find(codecs[i], name);

		if (p && !p->no_read)
			return p;
		if (!p && codecs[i]->passthrough)
			*passthrough = true;
	}
	return NULL;
}

int mq_confirm_start(struct mq_confirm *c, uint64_t id, const cJSON *command,
		     const struct mq_codec *const *codecs, size_t n_codecs, const cJSON *observed)
{
	const cJSON *m;

	mq_confirm_clear(c);
	c->want = cJSON_CreateObject();
	c->tol = cJSON_CreateObject();
	if (!c->want || !c->tol) {
		mq_confirm_clear(c);
		return -ENOMEM;
	}
	c->active = true;
	c->id = id;
	cJSON_ArrayForEach(m, command)
	{
		bool passthrough;
		const struct mq_prop *p = reader_of(codecs, n_codecs, m->string, &passthrough);
		double tol = 0;

		if ((!p && !passthrough) || (p && p->no_confirm))
			continue;
		/* Actions (play, next) are momentary: nothing to see in a state. */
		if (cJSON_IsTrue(m) && !p)
			continue;
		if (strcmp(m->string, "state") == 0 && cJSON_IsString(m) &&
		    strcasecmp(m->valuestring, "TOGGLE") == 0) {
			const cJSON *now = cJSON_GetObjectItemCaseSensitive(observed, "state");
			if (cJSON_IsString(now) && strcasecmp(now->valuestring, "ON") == 0)
				cJSON_AddStringToObject(c->want, "state", "OFF");
			else if (cJSON_IsString(now) && strcasecmp(now->valuestring, "OFF") == 0)
				cJSON_AddStringToObject(c->want, "state", "ON");
			else
				c->toggle_any = true;
			if (cJSON_IsString(now))
				snprintf(c->before, sizeof(c->before), "%s", now->valuestring);
			continue;
		}
		/* One device step either way is rounding, not a different value. */
		if (p && p->scaled && p->dev_max != p->dev_min)
			tol = fabs((p->hub_max - p->hub_min) / (p->dev_max - p->dev_min));
		cJSON_AddItemToObject(c->want, m->string, cJSON_Duplicate(m, true));
		cJSON_AddNumberToObject(c->tol, m->string, tol + 1e-9);
	}
	return 0;
}

bool mq_confirm_nothing(const struct mq_confirm *c)
{
	return !c->toggle_any && cJSON_GetArraySize(c->want) == 0;
}

static bool number_near(const cJSON *a, const cJSON *b, double tol)
{
	return cJSON_IsNumber(a) && cJSON_IsNumber(b) &&
	       (a->valuedouble == b->valuedouble || fabs(a->valuedouble - b->valuedouble) <= tol);
}

static bool satisfies(const cJSON *want, const cJSON *got, double tol)
{
	if (!got)
		return false;
	if (cJSON_IsNumber(want))
		return number_near(want, got, tol);
	if (cJSON_IsString(want))
		return cJSON_IsString(got) && strcasecmp(want->valuestring, got->valuestring) == 0;
	if (cJSON_IsBool(want))
		return cJSON_IsBool(got) && cJSON_IsTrue(want) == cJSON_IsTrue(got);
	if (cJSON_IsObject(want)) {
		const cJSON *m;

		if (!cJSON_IsObject(got))
			return false;
		/* The same members in the same order (a key may repeat in what
		 * a device sent, so a look-up by name could pick the wrong one). */
		const cJSON *g = got->child;
		for (m = want->child; m && g; m = m->next, g = g->next)
			if (!m->string || !g->string || strcmp(m->string, g->string) != 0 ||
			    !satisfies(m, g, tol > 1.0 ? tol : 1.0))
				break;
		if (!m && !g)
			return true;
		/* A color: each channel within rounding. */
		cJSON_ArrayForEach(m, want)
		{
			if (!satisfies(m, cJSON_GetObjectItemCaseSensitive(got, m->string),
				       tol > 1.0 ? tol : 1.0))
				return false;
		}
		return true;
	}
	return cJSON_Compare(want, got, true);
}

bool mq_confirm_satisfied(const struct mq_confirm *c, const cJSON *observed)
{
	const cJSON *m;

	if (!c->active)
		return false;
	if (c->toggle_any) {
		const cJSON *now = cJSON_GetObjectItemCaseSensitive(observed, "state");
		if (!cJSON_IsString(now) || strcasecmp(now->valuestring, c->before) == 0)
			return false;
	}
	cJSON_ArrayForEach(m, c->want)
	{
		const cJSON *tol = cJSON_GetObjectItemCaseSensitive(c->tol, m->string);
		if (!satisfies(m, cJSON_GetObjectItemCaseSensitive(observed, m->string),
			       tol ? tol->valuedouble : 0))
			return false;
	}
	return true;
}

static void text(const cJSON *v, char *buf, size_t len)
{
	char *s = v ? cJSON_PrintUnformatted(v) : NULL;

	snprintf(buf, len, "%s", s ? s : "unknown");
	cJSON_free(s);
}

void mq_confirm_describe(const struct mq_confirm *c, const cJSON *observed, char *buf, size_t len)
{
	const cJSON *m;
	char got[96], want[96];

	if (c->toggle_any) {
		const cJSON *now = cJSON_GetObjectItemCaseSensitive(observed, "state");
		if (!cJSON_IsString(now) || strcasecmp(now->valuestring, c->before) == 0) {
			text(now, got, sizeof(got));
			snprintf(buf, len, "state is still %s after TOGGLE", got);
			return;
		}
	}
	cJSON_ArrayForEach(m, c->want)
	{
		const cJSON *tol = cJSON_GetObjectItemCaseSensitive(c->tol, m->string);
		const cJSON *now = cJSON_GetObjectItemCaseSensitive(observed, m->string);

		if (satisfies(m, now, tol ? tol->valuedouble : 0))
			continue;
		text(now, got, sizeof(got));
		text(m, want, sizeof(want));
		snprintf(buf, len, "%s is %s, wanted %s", m->string, got, want);
		return;
	}
	snprintf(buf, len, "satisfied");
}
