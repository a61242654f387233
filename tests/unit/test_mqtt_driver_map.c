/* SPDX-License-Identifier: MIT */
/*
 * Tests of the mqtt driver's pure parts (plugins/mqtt): the payload
 * mapping (paths, value maps, scales, "no value is no update"), the
 * presets' topics, and confirmation by reported state.
 */
#include "../../plugins/mqtt/mq_confirm.c"
#include "../../plugins/mqtt/mq_map.c"
#include "../../plugins/mqtt/mq_preset.c"

#include <criterion/criterion.h>

static struct mq_layout build(struct mq_settings s)
{
	struct mq_layout l;
	const char *culprit;
	char err[256];

	cr_assert_eq(mq_preset_build(&s, &l, err, sizeof(err), &culprit), 0, "%s", err);
	return l;
}

static cJSON *decode(const struct mq_codec *c, const char *payload)
{
	cJSON *patch = NULL;

	cr_assert_eq(mq_decode(c, payload, strlen(payload), &patch), 0, "%s", payload);
	return patch;
}

static void expect_patch(const struct mq_codec *c, const char *payload, const char *want)
{
	cJSON *patch = decode(c, payload);
	cJSON *w = cJSON_Parse(want);
	char *got = cJSON_PrintUnformatted(patch);

	cr_assert(cJSON_Compare(patch, w, true), "%s -> %s, wanted %s", payload, got, want);
	free(got);
	cJSON_Delete(w);
	cJSON_Delete(patch);
}

static void expect_encode(const struct mq_codec *c, const char *command, const char *want)
{
	cJSON *cmd = cJSON_Parse(command);
	char *out = NULL;

	cr_assert_gt(mq_encode(c, cmd, &out), 0, "%s", command);
	cr_assert_str_eq(out, want);
	free(out);
	cJSON_Delete(cmd);
}

Test(mqtt_driver_map, zigbee2mqtt_topics_and_brightness_scale)
{
	struct mq_layout l = build((struct mq_settings){
		.preset = MQ_PRESET_Z2M, .kind = "light", .topic = "living/bulb1"});

	cr_assert_str_eq(l.readers[0].topic, "zigbee2mqtt/living/bulb1");
	cr_assert_str_eq(l.writers[0].topic, "zigbee2mqtt/living/bulb1/set");
	cr_assert_str_eq(l.avail[0].topic, "zigbee2mqtt/living/bulb1/availability");
	cr_assert_str_eq(l.avail[1].topic, "zigbee2mqtt/bridge/state");
	cr_assert_str_eq(l.queries[0].topic, "zigbee2mqtt/living/bulb1/get");
	cr_assert(strstr(l.queries[0].payload, "\"brightness\":\"\""));
	expect_patch(&l.readers[0].codec, "{\"state\":\"ON\",\"brightness\":254,\"linkquality\":9}",
		     "{\"state\":\"ON\",\"brightness\":255}");
	expect_patch(&l.readers[0].codec, "{\"linkquality\":9}", "{}");
	expect_encode(&l.writers[0].codec, "{\"brightness\":255,\"transition\":2}",
		      "{\"brightness\":254,\"transition\":2}");
	mq_layout_clear(&l);
}

Test(mqtt_driver_map, tasmota_channel_and_full_topic)
{
	struct mq_layout l = build((struct mq_settings){.preset = MQ_PRESET_TASMOTA,
							.kind = "switch",
							.topic = "plug1",
							.full_topic = "home/%topic%/%prefix%/",
							.channel = 2});

	cr_assert_str_eq(l.readers[0].topic, "home/plug1/stat/RESULT");
	cr_assert_str_eq(l.readers[2].topic, "home/plug1/stat/POWER2");
	cr_assert_str_eq(l.writers[0].topic, "home/plug1/cmnd/POWER2");
	cr_assert_str_eq(l.avail[0].topic, "home/plug1/tele/LWT");
	cr_assert_str_eq(l.queries[0].payload, "");
	expect_patch(&l.readers[0].codec, "{\"POWER2\":\"ON\",\"POWER1\":\"OFF\"}",
		     "{\"state\":\"ON\"}");
	expect_patch(&l.readers[2].codec, " OFF\n", "{\"state\":\"OFF\"}");
	expect_encode(&l.writers[0].codec, "{\"state\":\"TOGGLE\"}", "TOGGLE");
	mq_layout_clear(&l);
}

Test(mqtt_driver_map, shelly_notify_status_and_answers)
{
	struct mq_layout l = build((struct mq_settings){.preset = MQ_PRESET_SHELLY,
							.kind = "switch",
							.topic = "shelly1",
							.channel = 1,
							.rpc_src = "hub-1"});

	cr_assert_str_eq(l.readers[0].topic, "shelly1/events/rpc");
	cr_assert_str_eq(l.readers[1].topic, "hub-1/rpc");
	cr_assert_str_eq(l.writers[0].rpc_method, "Switch.Set");
	cr_assert_str_eq(l.queries[0].rpc_method, "Switch.GetStatus");
	cr_assert_eq(l.qos, 1);
	expect_patch(&l.readers[0].codec,
		     "{\"method\":\"NotifyStatus\",\"params\":{\"switch:1\":{\"output\":true}}}",
		     "{\"state\":\"ON\"}");
	/* Another channel's change, and NotifyEvent, are no update. */
	expect_patch(&l.readers[0].codec,
		     "{\"method\":\"NotifyStatus\",\"params\":{\"switch:0\":{\"output\":true}}}",
		     "{}");
	expect_patch(&l.readers[1].codec, "{\"id\":4,\"result\":{\"was_on\":false}}", "{}");
	expect_patch(&l.readers[1].codec, "{\"id\":5,\"result\":{\"output\":false}}",
		     "{\"state\":\"OFF\"}");
	expect_encode(&l.writers[0].codec, "{\"state\":\"ON\"}", "{\"on\":true}");
	mq_layout_clear(&l);
}

Test(mqtt_driver_map, esphome_and_smarthub)
{
	struct mq_layout e = build((struct mq_settings){.preset = MQ_PRESET_ESPHOME,
							.kind = "switch",
							.topic = "livingroom",
							.component = "switch",
							.object_id = "fan"});
	struct mq_layout s = build((struct mq_settings){.preset = MQ_PRESET_SMARTHUB,
							.kind = "light",
							.topic = "lamp",
							.base = "upstairs"});

	cr_assert_str_eq(e.readers[0].topic, "livingroom/switch/fan/state");
	cr_assert_str_eq(e.writers[0].topic, "livingroom/switch/fan/command");
	cr_assert_str_eq(e.avail[0].topic, "livingroom/status");
	cr_assert_eq(e.n_queries, 0);
	cr_assert_str_eq(s.readers[0].topic, "upstairs/lamp");
	cr_assert_eq(s.n_readers, 1, "only the other hub's state");
	cr_assert_str_eq(s.avail[1].topic, "upstairs/bridge/state");
	expect_patch(&s.readers[0].codec, "{\"state\":\"ON\",\"brightness\":3}",
		     "{\"state\":\"ON\",\"brightness\":3}");
	mq_layout_clear(&e);
	mq_layout_clear(&s);
}

Test(mqtt_driver_map, zigbee2mqtt_button_action)
{
	struct mq_layout l = build(
		(struct mq_settings){.preset = MQ_PRESET_Z2M, .kind = "button", .topic = "remote"});

	expect_patch(&l.readers[0].codec, "{\"action\":\"double\",\"battery\":80}",
		     "{\"event\":\"double\",\"battery\":80}");
	cr_assert_eq(l.n_queries, 0, "nothing to /get of a remote");
	mq_layout_clear(&l);
}

Test(mqtt_driver_map, explicit_paths_maps_and_scales)
{
	struct mq_codec c = {.format = MQ_JSON};
	struct mq_prop *p = mq_codec_add(&c, "state", "data.power");

	mq_prop_map(p, "ON", cJSON_CreateTrue());
	mq_prop_map(p, "OFF", cJSON_CreateFalse());
	p = mq_codec_add(&c, "brightness", "data.level");
	p->type = MQ_INT;
	p->scaled = true;
	p->dev_min = 0;
	p->dev_max = 100;
	p->hub_min = 0;
	p->hub_max = 255;
	expect_patch(&c, "{\"data\":{\"power\":true,\"level\":50}}",
		     "{\"state\":\"ON\",\"brightness\":128}");
	expect_patch(&c, "{\"data\":{\"power\":\"maybe\"}}", "{}");
	expect_patch(&c, "{\"data\":7}", "{}");
	expect_encode(&c, "{\"state\":\"OFF\",\"brightness\":255}",
		      "{\"data\":{\"power\":false,\"level\":100}}");
	cJSON *bad = NULL;
	cr_assert_eq(mq_decode(&c, "[1,2]", 5, &bad), -EBADMSG);
	cr_assert_eq(mq_decode(&c, "{\"data\":", 8, &bad), -EBADMSG);
	mq_codec_clear(&c);
}

Test(mqtt_driver_map, confirmation_by_reported_state)
{
	struct mq_layout l =
		build((struct mq_settings){.preset = MQ_PRESET_Z2M, .kind = "light", .topic = "b"});
	const struct mq_codec *readers[] = {&l.readers[0].codec};
	struct mq_confirm c = {0};
	cJSON *cmd = cJSON_Parse("{\"state\":\"ON\",\"brightness\":200,\"transition\":1}");
	cJSON *stale = cJSON_Parse("{\"state\":\"OFF\",\"brightness\":100}");
	cJSON *half = cJSON_Parse("{\"state\":\"ON\",\"brightness\":100}");
	cJSON *real = cJSON_Parse("{\"state\":\"ON\",\"brightness\":201}");
	char why[128];

	cr_assert_eq(mq_confirm_start(&c, 7, cmd, readers, 1, stale), 0);
	cr_assert_not(mq_confirm_nothing(&c));
	cr_assert_not(mq_confirm_satisfied(&c, stale));
	cr_assert_not(mq_confirm_satisfied(&c, half));
	mq_confirm_describe(&c, half, why, sizeof(why));
	cr_assert_str_eq(why, "brightness is 100, wanted 200");
	/* 201 is within one of Zigbee2MQTT's 254 steps of 200. */
	cr_assert(mq_confirm_satisfied(&c, real));
	mq_confirm_clear(&c);

	/* TOGGLE: the state must differ from the one before. */
	cJSON *toggle = cJSON_Parse("{\"state\":\"TOGGLE\"}");
	cr_assert_eq(mq_confirm_start(&c, 8, toggle, readers, 1, half), 0);
	cr_assert_not(mq_confirm_satisfied(&c, half));
	cr_assert(mq_confirm_satisfied(&c, stale));
	mq_confirm_clear(&c);
	cJSON *unknown = cJSON_CreateObject();
	cr_assert_eq(mq_confirm_start(&c, 9, toggle, readers, 1, unknown), 0);
	cr_assert(mq_confirm_satisfied(&c, stale));
	mq_confirm_clear(&c);

	/* Color is reported as xy: nothing to compare. */
	cJSON *color = cJSON_Parse("{\"color\":{\"r\":1,\"g\":2,\"b\":3}}");
	cr_assert_eq(mq_confirm_start(&c, 10, color, readers, 1, unknown), 0);
	cr_assert(mq_confirm_nothing(&c));
	mq_confirm_clear(&c);

	cJSON_Delete(color);
	cJSON_Delete(unknown);
	cJSON_Delete(toggle);
	cJSON_Delete(cmd);
	cJSON_Delete(stale);
	cJSON_Delete(half);
	cJSON_Delete(real);
	mq_layout_clear(&l);
}

Test(mqtt_driver_map, preset_errors)
{
	struct mq_layout l;
	const char *culprit;
	char err[256];

	cr_assert_eq(mq_preset_build(&(struct mq_settings){.preset = MQ_PRESET_ESPHOME,
							   .kind = "switch",
							   .topic = "x"},
				     &l, err, sizeof(err), &culprit),
		     -EINVAL);
	cr_assert_str_eq(culprit, "object_id");
	mq_layout_clear(&l);
	cr_assert_eq(mq_preset_build(&(struct mq_settings){.preset = MQ_PRESET_TASMOTA,
							   .kind = "switch",
							   .topic = "p",
							   .full_topic = "%topic%/%hostname%/"},
				     &l, err, sizeof(err), &culprit),
		     -EINVAL);
	cr_assert_str_eq(culprit, "full_topic");
	mq_layout_clear(&l);
	cr_assert_eq(mq_preset_build(&(struct mq_settings){.preset = MQ_PRESET_Z2M,
							   .kind = "light",
							   .topic = "a/+"},
				     &l, err, sizeof(err), &culprit),
		     -EINVAL);
	mq_layout_clear(&l);
}
