/* SPDX-License-Identifier: MIT */
/*
 * The anonymous-watchers variant of the example broker ACL
 * (systemd/mosquitto-acl.example; test_acl.c covers the main one), used
 * verbatim with a real mosquitto, a password file and the real hub logged
 * in as "smarthub": the hub works as usual, a trusted user commands
 * devices, and an anonymous client can watch but neither command a device
 * nor forge its state.
 */
#include "fixture.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Generous bounds for what normally takes milliseconds. */
#define WAIT_MS 10000

/* The fixture's broker and daemon; the two clients are this file's own
 * (the fixture's client is `trusted`, th_fx.mqtt). */
static struct {
	struct th_mqtt *trusted, *anonymous;
} t;

static void setup(void)
{
	/* Anonymous clients get in; the ACL decides what they may do. */
	const char *users[] = {"smarthub", "hub-secret", "homeassistant", "ha-secret", NULL};
	char *conf = th_strdupf("allow_anonymous true\nacl_file %s/systemd/mosquitto-acl.example\n",
				SMARTHUB_SOURCE_DIR);
	th_fixture_start_broker_users(users, conf);
	free(conf);

	char *pass = th_fixture_path("hub.pass");
	cr_assert_eq(th_write_file(pass, "hub-secret\n"), 0);
	free(pass);
	th_fixture_start_daemon("username: smarthub\n"
				"password_file: hub.pass\n",
				"homeassistant:\n"
				"  discovery: true\n"
				"devices:\n"
				"  lamp:\n"
				"    driver: virtual\n"
				"    kind: light\n",
				NULL, NULL);

	t.trusted = th_fx.mqtt = th_mqtt_connect_auth(th_fx.broker.port, "acl-trusted",
						      "homeassistant", "ha-secret");
	cr_assert_not_null(t.trusted);
	cr_assert_eq(th_mqtt_subscribe(t.trusted, "smarthub/#"), 0);
	cr_assert_eq(th_mqtt_subscribe(t.trusted, "homeassistant/#"), 0);
	t.anonymous = th_mqtt_connect(th_fx.broker.port, "acl-anonymous");
	cr_assert_not_null(t.anonymous);
	cr_assert_eq(th_mqtt_subscribe(t.anonymous, "smarthub/#"), 0);

	char *m = th_mqtt_wait_json(t.trusted, "smarthub/lamp/availability",
				    "{\"state\":\"online\"}", WAIT_MS);
	char *log = th_daemon_log(&th_fx.daemon);
	cr_assert_not_null(m, "the hub did not come online behind the ACL; log:\n%s", log);
	free(log);
	free(m);
}

static void teardown(void)
{
	th_mqtt_close(t.anonymous);
	th_fixture_teardown(); /* closes t.trusted */
	memset(&t, 0, sizeof(t));
}

TestSuite(broker_acl, .init = setup, .fini = teardown);

Test(broker_acl, the_hub_publishes_state_and_discovery)
{
	char *m = th_mqtt_wait_json(t.trusted, "smarthub/bridge/state", "{\"state\":\"online\"}",
				    WAIT_MS);
	cr_assert_not_null(m);
	free(m);
	m = th_mqtt_wait(t.trusted, "homeassistant/light/smarthub_lamp/light/config", "unique_id",
			 WAIT_MS);
	cr_assert_not_null(m, "no discovery: the hub may not write homeassistant/#");
	free(m);
	/* Anonymous watchers see the state too. */
	m = th_mqtt_wait(t.anonymous, "smarthub/lamp", "\"state\"", WAIT_MS);
	cr_assert_not_null(m);
	free(m);
}

Test(broker_acl, a_trusted_user_commands_devices)
{
	const char *cmd = "{\"state\":\"ON\",\"brightness\":77}";
	cr_assert_eq(th_mqtt_publish(t.trusted, "smarthub/lamp/set", cmd, strlen(cmd), false), 0);
	char *m = th_mqtt_wait_json(t.trusted, "smarthub/lamp", cmd, WAIT_MS);
	cr_assert_not_null(m, "the trusted user's command was not applied");
	free(m);
}

Test(broker_acl, an_anonymous_command_is_refused)
{
	/* The anonymous command first, then a trusted one: once the trusted
	 * one shows, the anonymous one would have shown before it. */
	const char *evil = "{\"state\":\"ON\",\"brightness\":1}";
	int r = th_mqtt_publish(t.anonymous, "smarthub/lamp/set", evil, strlen(evil), false);
	cr_assert(r == 0 || r == -EACCES, "publish: %s", strerror(-r));
	const char *good = "{\"brightness\":200}";
	cr_assert_eq(th_mqtt_publish(t.trusted, "smarthub/lamp/set", good, strlen(good), false), 0);
	char *m = th_mqtt_wait_json(t.trusted, "smarthub/lamp", good, WAIT_MS);
	cr_assert_not_null(m);
	free(m);
	cr_assert_null(th_mqtt_wait_json(t.trusted, "smarthub/lamp", "{\"brightness\":1}", 0),
		       "the anonymous command reached the lamp");
	cr_assert_null(th_mqtt_wait(t.trusted, "smarthub/lamp/set", "\"brightness\":1", 0),
		       "the broker forwarded the anonymous command");
}

Test(broker_acl, nobody_but_the_hub_writes_device_state)
{
	const char *forged = "{\"state\":\"FORGED\"}";
	int r = th_mqtt_publish(t.trusted, "smarthub/lamp", forged, strlen(forged), true);
	cr_assert(r == 0 || r == -EACCES, "publish: %s", strerror(-r));
	r = th_mqtt_publish(t.anonymous, "smarthub/lamp", forged, strlen(forged), true);
	cr_assert(r == 0 || r == -EACCES, "publish: %s", strerror(-r));

	/* A client arriving now gets the hub's retained state, not the forgery. */
	struct th_mqtt *late = th_mqtt_connect(th_fx.broker.port, "acl-late");
	cr_assert_not_null(late);
	cr_assert_eq(th_mqtt_subscribe(late, "smarthub/lamp"), 0);
	char *m = th_mqtt_wait(late, "smarthub/lamp", NULL, WAIT_MS);
	cr_assert_not_null(m);
	cr_assert_null(strstr(m, "FORGED"), "forged state retained: %s", m);
	free(m);
	th_mqtt_close(late);
}
