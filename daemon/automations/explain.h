/* SPDX-License-Identifier: MIT */
/*
 * --explain and --graph for automations: their triggers, conditions and
 * steps as text (one line each) or as a Graphviz digraph.
 */
#ifndef SMARTHUB_AUTOMATION_EXPLAIN_H
#define SMARTHUB_AUTOMATION_EXPLAIN_H

#include "config/config.h"
#include <stdio.h>

/* One line of a trigger or condition ("temp.temperature above 30 for 1s"). */
void sh_trigger_text(const struct sh_trigger *t, char *buf, size_t len);
void sh_condition_text(const struct sh_condition *c, char *buf, size_t len);

/* 0, or -ENOENT (nothing written) when there is no automation `name`. */
int sh_automation_explain(const struct sh_config *config, const char *name, FILE *out);
int sh_automation_graph(const struct sh_config *config, const char *name, FILE *out);

#endif
