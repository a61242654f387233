// SPDX-License-Identifier: MIT
/*
 * "Did you mean" (see suggest.h): Levenshtein distance with one row, over
 * names short enough for a fixed buffer; owns nothing.
 */
#include "util/suggest.h"

#include <string.h>

/* Keys and names are short; longer ones are not compared at all. */
#define SUGGEST_NAME_MAX 32u

static unsigned edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned row[SUGGEST_NAME_MAX + 1];

	if (la > SUGGEST_NAME_MAX || lb > SUGGEST_NAME_MAX)
		return ~0u;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *sh_suggest(const char *word, const char *const *names, bool *known)
{
	const char *best = NULL;
	/* Only near misses: "keepalve", not "foo" for "qos". */
	size_t len = strlen(word);
	unsigned best_d = (unsigned)(len / 3 > 0 ? len / 3 : 1) + 1;

	if (known)
		*known = false;
	for (size_t k = 0; names && names[k]; k++) {
		if (!strcmp(word, names[k])) {
			if (known)
				*known = true;
			return NULL;
		}
		unsigned d = edit_distance(word, names[k]);
		if (names[k][0] && d < best_d) {
			best_d = d;
			best = names[k];
		}
	}
	return best;
}
