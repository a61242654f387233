// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the bridge's topic router with its inbox: every input is
 * one MQTT message as Paho would hand it over (a flags byte: bit 0
 * retained, bit 1 a topic outside the base topic; then the topic up to the
 * first newline; then the payload). It goes through the real inbox into
 * the topic router (sh_bridge_api_message) of a bridge over a real hub with
 * virtual devices of every kind, a scene and Home Assistant discovery, and
 * the loop runs until the command it caused has been handled. The bridge
 * never connects: what it would publish is refused by Paho, as when the
 * broker is away. Sanitizers and libFuzzer's leak check do the judging.
 */
#include "config/config.h"
#include "core/hub.h"
#include "mqtt/bridge.h"
#include "mqtt/bridge_internal.h"
#include "scenes/scene.h"
#include "util/inbox.h"
#include "util/log.h"

#include <ev.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct ev_loop *loop;
static struct sh_hub *hub;
static struct sh_scene_engine *scenes;
static struct sh_bridge *bridge;

static const char config_yaml[] =
	"mqtt:\n"
	"  url: tcp://127.0.0.1:9\n" /* the discard port: nothing answers */
	"  max_payload: 4096\n"
	"homeassistant:\n"
	"  discovery: true\n"
	"devices:\n"
	"  lamp: {driver: virtual, kind: light}\n"
	"  plug: {driver: virtual, kind: switch}\n"
	"  speaker: {driver: virtual, kind: speaker}\n"
	"  climate: {driver: virtual, kind: sensor}\n"
	"scenes:\n"
	"  evening:\n"
	"    steps:\n"
	"      - {device: lamp, set: {state: \"ON\", brightness: 10}}\n"
	"      - {device: plug, set: {state: \"OFF\"}}\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	sh_log_init(SH_LOG_ERR);
	sh_log_set_level((enum sh_log_level)0); /* nothing but a crash speaks */
	char dir[] = "/tmp/smarthub-fuzz-router-XXXXXX";
	if (!mkdtemp(dir))
		abort();
	char path[sizeof(dir) + 16];
	snprintf(path, sizeof(path), "%s/smarthub.yaml", dir);
	FILE *f = fopen(path, "w");
	if (!f || fputs(config_yaml, f) < 0 || fclose(f) != 0)
		abort();
	struct sh_config *config = NULL;
	struct sh_diag diag = {0};
	if (sh_config_load(path, &config, &diag) < 0)
		abort();
	unlink(path);
	rmdir(dir);
	loop = ev_default_loop(0);
	if (!loop || sh_hub_new(loop, &hub) < 0)
		abort();
	sh_hub_set_plugin_dir(hub, SMARTHUB_PLUGIN_BUILD_DIR);
	if (sh_scenes_new(hub, &scenes) < 0 || sh_hub_apply(hub, config, false, &diag) < 0 ||
	    sh_bridge_new(hub, scenes, &bridge) < 0)
		abort();
	sh_diag_clear(&diag);
	for (int i = 0; i < 1000 && sh_hub_devices_online(hub) < sh_hub_device_count(hub); i++)
		ev_run(loop, EVRUN_NOWAIT);
	if (sh_hub_devices_online(hub) < sh_hub_device_count(hub))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool retained = data[0] & 1;
	bool foreign = data[0] & 2;
	const char *rest = (const char *)data + 1;
	size_t n = size - 1;
	const char *nl = memchr(rest, '\n', n);
	size_t tlen = nl ? (size_t)(nl - rest) : n;
	/* Paho hands over topics without NUL (MQTT forbids it). */
	const char *nul = memchr(rest, '\0', tlen);
	if (nul)
		tlen = (size_t)(nul - rest);
	if (tlen > 512)
		tlen = 512;
	char topic[600];
	snprintf(topic, sizeof(topic), "%s%.*s", foreign ? "" : "smarthub/", (int)tlen, rest);
	const char *payload = nl ? nl + 1 : "";
	size_t plen = nl ? n - tlen - 1 : 0;
	if (nl && (size_t)(nl - rest) != tlen) /* the topic was cut at a NUL */
		plen = n - (size_t)(nl - rest) - 1;

	/* Through the inbox as Paho's thread would put it there, and out as
	 * the loop takes it (the bridge is not started, so its wake-up
	 * watcher is not either: the target takes the loop's part). */
	sh_bridge_inject(bridge, topic, payload, plen, retained);
	/* The command queues and the drivers' reports. */
	for (int i = 0; i < 8; i++)
		ev_run(loop, EVRUN_NOWAIT);
	return 0;
}
