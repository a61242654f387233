/* SPDX-License-Identifier: MIT */
/*
 * Pure parsers of the exec driver's command output (see exec_parse.h).
 * Buffers are taken with their length and need no terminating NUL; JSON is
 * parsed with cJSON_ParseWithLength for the same reason.
 */
#include "exec_parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest word or number we compare; anything longer is not one. */
#define EXEC_WORD_MAX 64

/* The output without leading and trailing white space: *start and length. */
static size_t trim(const char *buf, size_t len, const char **start)
{
	size_t a = 0, b = len;
	while (a < b && isspace((unsigned char)buf[a]))
		a++;
	while (b > a && isspace((unsigned char)buf[b - 1]))
		b--;
	*start = buf + a;
	return b - a;
}

/* A short output as a C string, when it can be a word or a number. */
static bool copy_word(const char *s, size_t n, char word[EXEC_WORD_MAX + 1])
{
	if (n == 0 || n > EXEC_WORD_MAX || memchr(s, '\0', n))
		return false;
	memcpy(word, s, n);
	word[n] = '\0';
	return true;
}

/* "ON"/"OFF" for the spellings a tool may print, else NULL. */
static const char *on_off(const char *word)
{
	static const char *const on[] = {"on", "1", "true", "yes"};
	static const char *const off[] = {"off", "0", "false", "no"};
	for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
		if (strcasecmp(word, on[i]) == 0)
			return "ON";
		if (strcasecmp(word, off[i]) == 0)
			return "OFF";
	}
	return NULL;
}

static cJSON *parse_object(const char *s, size_t n)
{
	if (n == 0 || s[0] != '{')
		return NULL;
	const char *end = NULL;
	cJSON *obj = cJSON_ParseWithLengthOpts(s, n, &end, false);
	if (!obj)
		return NULL;
	/* Only white space may follow the object (trim() removed it). */
	if (!cJSON_IsObject(obj) || end != s + n) {
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}

/* *patch = {key: value}; `value` is taken (NULL: out of memory). */
static int single(cJSON **patch, const char *key, cJSON *value)
{
	cJSON *obj = value ? cJSON_CreateObject() : NULL;

	if (!obj || !cJSON_AddItemToObject(obj, key, value)) {
		cJSON_Delete(obj);
		cJSON_Delete(value);
		return -ENOMEM;
	}
	*patch = obj;
	return 0;
}

int exec_parse_state(const char *buf, size_t len, cJSON **patch)
{
	const char *s;
	char word[EXEC_WORD_MAX + 1];
	size_t n = trim(buf, len, &s);

	if (copy_word(s, n, word)) {
		const char *v = on_off(word);
		if (v)
			return single(patch, "state", cJSON_CreateString(v));
	}

	cJSON *obj = parse_object(s, n);
	if (!obj)
		return -EINVAL;
	cJSON *st = cJSON_GetObjectItemCaseSensitive(obj, "state");
	if (st) {
		const char *v = NULL;
		if (cJSON_IsBool(st))
			v = cJSON_IsTrue(st) ? "ON" : "OFF";
		else if (cJSON_IsString(st) &&
			 copy_word(st->valuestring, strlen(st->valuestring), word))
			v = on_off(word);
		else if (cJSON_IsNumber(st) && (st->valuedouble == 0 || st->valuedouble == 1))
			v = st->valuedouble == 1 ? "ON" : "OFF";
		cJSON *norm = v ? cJSON_CreateString(v) : NULL;
		if (!norm || !cJSON_ReplaceItemInObjectCaseSensitive(obj, "state", norm)) {
			cJSON_Delete(norm);
			cJSON_Delete(obj);
			return -EINVAL;
		}
	}
	*patch = obj;
	return 0;
}

int exec_parse_read(const char *buf, size_t len, const char *key, cJSON **patch)
{
	const char *s;
	char word[EXEC_WORD_MAX + 1];
	size_t n = trim(buf, len, &s);

	if (copy_word(s, n, word)) {
		/* strtod would take "nan", "inf" and hex too; a reading is decimal. */
		bool plain = true;
		for (size_t i = 0; word[i]; i++)
			if (!isdigit((unsigned char)word[i]) && !strchr("+-.eE", word[i]))
				plain = false;
		char *end;
		double v = plain ? strtod(word, &end) : NAN;
		if (plain && end != word && *end == '\0' && isfinite(v))
			return single(patch, key, cJSON_CreateNumber(v));
	}
	cJSON *obj = parse_object(s, n);
	if (!obj)
		return -EINVAL;
	*patch = obj;
	return 0;
}

bool exec_parse_key_ok(const char *key)
{
	size_t n = 0;
	if (!key)
		return false;
	for (; key[n]; n++)
		if (!((key[n] >= 'a' && key[n] <= 'z') || (key[n] >= 'A' && key[n] <= 'Z') ||
		      (key[n] >= '0' && key[n] <= '9') || key[n] == '_'))
			return false;
	return n >= 1 && n <= EXEC_KEY_MAX;
}
