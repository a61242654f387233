/* SPDX-License-Identifier: MIT */
/*
 * The options of an mqtt device: a preset and its few keys, or the
 * explicit mapping (state_topic, command_topic, availability_topic, format,
 * properties with path/map/scale). Errors go through host->config_error at
 * the offending node, so they read file:line:column, with did-you-mean for
 * misspelt values and property keys.
 */
#ifndef SMARTHUB_MQ_OPTIONS_H
#define SMARTHUB_MQ_OPTIONS_H

#include "mq_preset.h"

#include <smarthub/plugin.h>

struct mq_options {
	enum mq_preset preset;
	bool optimistic;    /* commands are done when sent (no state topic) */
	bool homeassistant; /* announce it here too: metadata "discovery" */
	long long max_message;
	uint64_t command_timeout_ms; /* the device's, for our own earlier timer */
};

/* Reads every option of `dev` into `o` and `l` (l's codecs are then the
 * caller's to clear). 0, or the first error after all were reported. */
int mq_options_read(struct sh_device *dev, const struct sh_host *host, struct mq_options *o,
		    struct mq_layout *l);

#endif
