/* SPDX-License-Identifier: MIT */
/*
 * "Did you mean": the one rule by which every message of smarthub proposes
 * a name for a misspelt one (configuration keys and values, driver
 * options, drivers, properties), also offered to plugins as host->suggest.
 * Pure functions on borrowed strings; any thread.
 */
#ifndef SMARTHUB_SUGGEST_H
#define SMARTHUB_SUGGEST_H

#include <stdbool.h>

/*
 * The entry of `names` (NULL-terminated) nearest to `word` when it is a
 * near miss (fewer edits than about a third of the word's length), else
 * NULL. NULL too when `word` is one of them; then *known is true (`known`
 * may be NULL). Empty names and names longer than 32 bytes are never
 * proposed. Returns a pointer into `names`.
 */
const char *sh_suggest(const char *word, const char *const *names, bool *known);

#endif
