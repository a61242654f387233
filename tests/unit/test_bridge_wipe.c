/* SPDX-License-Identifier: MIT */
/*
 * The bridge's copy of the broker password (it keeps one for every
 * reconnect) is wiped before it is freed (issue 16 item 9): free() is
 * interposed (free_watch.h) and every block sh_bridge_free gives back is
 * searched for the password.
 *
 * What this cannot cover: Paho strdup()s the password on every connect
 * and frees that copy, unwiped, on the next connect or when the client is
 * destroyed (MQTTAsync_connect, MQTTProtocol_freeClient); the test makes
 * no connect, so Paho holds none here. The configuration's own copy is
 * test_config_wipe.c's.
 */
#define _GNU_SOURCE /* memmem */
#include "hub_fixture.h"
#include "mqtt/bridge.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#define PASSWORD "zz-bridge-wipe-8d1e0b"
#define FREE_WATCH_SECRET PASSWORD
#include "free_watch.h"

Test(bridge_wipe, the_bridge_wipes_its_password_before_freeing_it)
{
#if FREE_WATCH_SANITIZED
	cr_skip_test("free() belongs to AddressSanitizer here");
#endif
	struct hf f;
	struct sh_bridge *b = NULL;

	/* Port 1: nothing listens, and the bridge is never started anyway. */
	cr_assert_eq(hf_start(&f, "mqtt:\n"
				  "  url: tcp://127.0.0.1:1\n"
				  "  username: hub\n"
				  "  password: " PASSWORD "\n"
				  "devices:\n"
				  "  lamp: {driver: virtual, kind: light}\n"),
		     0);
	cr_assert_eq(sh_bridge_new(f.hub, f.scenes, &b), 0);

	free_watch_hits = 0;
	free_watch_on = 1;
	sh_bridge_free(b);
	free_watch_on = 0;
	cr_expect_eq(free_watch_hits, 0, "%d blocks with the password freed unwiped",
		     free_watch_hits);
	hf_stop(&f);
}
