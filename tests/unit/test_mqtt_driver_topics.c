/* SPDX-License-Identifier: MIT */
/*
 * Tests of the topic rules of the drivers' MQTT service
 * (daemon/mqtt/driver_mqtt.c): wildcard matching as MQTT 3.1.1 section 4.7
 * defines it, which filters are valid, and which overlap the hub's own base
 * topic (those a driver is refused with -EPERM).
 */
#include "util/topic.h"
#include "mqtt/driver_mqtt.h"

#include <criterion/criterion.h>

Test(mqtt_driver_topics, exact_and_wildcards)
{
	cr_assert(sh_topic_matches("zigbee2mqtt/bulb", "zigbee2mqtt/bulb"));
	cr_assert(!sh_topic_matches("zigbee2mqtt/bulb", "zigbee2mqtt/bulb/set"));
	cr_assert(!sh_topic_matches("zigbee2mqtt/bulb/set", "zigbee2mqtt/bulb"));
	cr_assert(sh_topic_matches("stat/+/POWER", "stat/plug1/POWER"));
	cr_assert(!sh_topic_matches("stat/+/POWER", "stat/a/b/POWER"));
	cr_assert(sh_topic_matches("tele/#", "tele/plug1/LWT"));
	cr_assert(sh_topic_matches("tele/#", "tele"));
	cr_assert(sh_topic_matches("#", "a/b"));
	cr_assert(!sh_topic_matches("#", "$SYS/broker/uptime"));
	cr_assert(!sh_topic_matches("+/broker/uptime", "$SYS/broker/uptime"));
	cr_assert(sh_topic_matches("$SYS/#", "$SYS/broker/uptime"));
	cr_assert(sh_topic_matches("a/+", "a/"));
	cr_assert(!sh_topic_matches("a/+", "a"));
	cr_assert(sh_topic_matches("a//b", "a//b"));
}

Test(mqtt_driver_topics, valid_filters)
{
	cr_assert(sh_mqtt_filter_valid("a/b"));
	cr_assert(sh_mqtt_filter_valid("a/+/c"));
	cr_assert(sh_mqtt_filter_valid("a/#"));
	cr_assert(sh_mqtt_filter_valid("+"));
	cr_assert(!sh_mqtt_filter_valid(""));
	cr_assert(!sh_mqtt_filter_valid("a/b+"));
	cr_assert(!sh_mqtt_filter_valid("a/#/c"));
	cr_assert(!sh_mqtt_filter_valid("a#"));
}

Test(mqtt_driver_topics, base_topic_overlap)
{
	cr_assert(sh_mqtt_filter_overlaps("smarthub/lamp/set", "smarthub"));
	cr_assert(sh_mqtt_filter_overlaps("smarthub", "smarthub"));
	cr_assert(sh_mqtt_filter_overlaps("+/lamp", "smarthub"));
	cr_assert(sh_mqtt_filter_overlaps("#", "smarthub"));
	cr_assert(sh_mqtt_filter_overlaps("home/#", "home/hub"));
	cr_assert(!sh_mqtt_filter_overlaps("upstairs/lamp", "smarthub"));
	cr_assert(!sh_mqtt_filter_overlaps("smarthub2/lamp", "smarthub"));
	cr_assert(!sh_mqtt_filter_overlaps("home/other", "home/hub"));
	cr_assert(!sh_mqtt_filter_overlaps("zigbee2mqtt/+", "smarthub"));
}
