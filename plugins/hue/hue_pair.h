/* SPDX-License-Identifier: MIT */
/*
 * Link-button pairing with a Hue bridge, for `smarthubd --hue-pair HOST`.
 * The daemon does not link libcurl, so it loads hue.so and calls this by
 * name (SH_HUE_PAIR_SYMBOL); it blocks, which is fine for a one-shot
 * command and never runs on the daemon's loop.
 */
#ifndef SMARTHUB_HUE_PAIR_H
#define SMARTHUB_HUE_PAIR_H

#include <stdio.h>

#define SH_HUE_PAIR_SYMBOL "sh_hue_pair"
/* How long the user has to press the bridge's button, and how often we ask. */
#define SH_HUE_PAIR_WAIT_S 30
#define SH_HUE_PAIR_RETRY_S 1

/*
 * POSTs {"devicetype":"smarthub#<hostname>","generateclientkey":true} to
 * https://<host>/api (host may carry ":port"), verifying the bridge's
 * certificate against ca_file (NULL: the system's store) and, when
 * bridge_id is given, that the certificate names that bridge. Asks again
 * while the bridge says the link button was not pressed, up to
 * SH_HUE_PAIR_WAIT_S. On success prints the application key on `out` (one
 * line); messages go to `err`. Returns a process exit status: 0, 1
 * (failed), or 75 (EX_TEMPFAIL: the button was not pressed in time).
 */
typedef int (*sh_hue_pair_fn)(const char *host, const char *ca_file, const char *bridge_id,
			      FILE *out, FILE *err);
int sh_hue_pair(const char *host, const char *ca_file, const char *bridge_id, FILE *out, FILE *err);

#endif
