/* SPDX-License-Identifier: MIT */
/*
 * Integration tests of the bridge over TLS: a private mosquitto with a TLS
 * listener whose certificates the test makes with openssl (a CA, a server
 * certificate for 127.0.0.1, a client certificate), and the real smarthubd
 * configured with an mqtts:// URL. Checks that the daemon connects and
 * works when it trusts the CA (with and without a client certificate the
 * broker requires), and that it refuses a broker it cannot verify.
 */
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MS 15000

static struct {
	char *dir;
	struct th_broker broker;
	struct th_daemon daemon;
	struct th_mqtt *mqtt;
	int tls_port;
} t;

static void teardown(void)
{
	th_mqtt_close(t.mqtt);
	th_daemon_stop(&t.daemon);
	th_broker_stop(&t.broker);
	if (t.dir)
		th_rmtree(t.dir);
	free(t.dir);
	memset(&t, 0, sizeof(t));
}

TestSuite(mqtt_tls, .fini = teardown);

static void run(const char *const *argv)
{
	char *out = NULL;
	int status = -1;

	cr_assert_eq(th_run(argv, NULL, &out, &status), 0);
	cr_assert_eq(status, 0, "%s failed:\n%s", argv[0], out ? out : "");
	free(out);
}

/* A CA named `ca`, and `name`.crt/.key signed by it for 127.0.0.1. */
static void make_ca(const char *ca)
{
	char *key = th_strdupf("%s/%s.key", t.dir, ca), *crt = th_strdupf("%s/%s.crt", t.dir, ca);
	char *subj = th_strdupf("/CN=smarthub test %s", ca);
	const char *argv[] = {"openssl", "req",   "-x509", "-newkey", "rsa:2048",
			      "-nodes",  "-days", "2",     "-subj",   subj,
			      "-keyout", key,     "-out",  crt,       NULL};

	run(argv);
	free(subj);
	free(crt);
	free(key);
}

static void make_cert(const char *ca, const char *name, bool server)
{
	char *key = th_strdupf("%s/%s.key", t.dir, name),
	     *csr = th_strdupf("%s/%s.csr", t.dir, name);
	char *crt = th_strdupf("%s/%s.crt", t.dir, name),
	     *ext = th_strdupf("%s/%s.ext", t.dir, name);
	char *ca_key = th_strdupf("%s/%s.key", t.dir, ca),
	     *ca_crt = th_strdupf("%s/%s.crt", t.dir, ca);
	char *subj = th_strdupf("/CN=%s", server ? "127.0.0.1" : name);

	cr_assert_eq(th_write_file(ext, server ? "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
					       : "extendedKeyUsage=clientAuth\n"),
		     0);
	const char *req[] = {"openssl", "req",     "-newkey", "rsa:2048", "-nodes", "-subj",
			     subj,      "-keyout", key,       "-out",     csr,      NULL};
	run(req);
	const char *sign[] = {"openssl", "x509", "-req",     "-in",  csr,
			      "-CA",     ca_crt, "-CAkey",   ca_key, "-CAcreateserial",
			      "-days",   "2",    "-extfile", ext,    "-out",
			      crt,       NULL};
	run(sign);
	free(subj);
	free(ca_crt);
	free(ca_key);
	free(ext);
	free(crt);
	free(csr);
	free(key);
}

/* A broker with a plain listener (for the test client) and a TLS one. */
static void start_broker(bool require_client_cert)
{
	t.dir = th_tempdir();
	cr_assert_not_null(t.dir);
	make_ca("ca");
	make_cert("ca", "server", true);
	make_cert("ca", "client", false);
	make_ca("other");
	t.tls_port = th_free_port();
	cr_assert_gt(t.tls_port, 0);
	char *conf =
		th_strdupf("listener %d 127.0.0.1\n"
			   "cafile %s/ca.crt\n"
			   "certfile %s/server.crt\n"
			   "keyfile %s/server.key\n"
			   "require_certificate %s\n",
			   t.tls_port, t.dir, t.dir, t.dir, require_client_cert ? "true" : "false");
	cr_assert_eq(th_broker_start_conf(&t.broker, 0, conf), 0);
	free(conf);
	t.mqtt = th_mqtt_connect(t.broker.port, "test-tls");
	cr_assert_not_null(t.mqtt);
	cr_assert_eq(th_mqtt_subscribe(t.mqtt, "smarthub/#"), 0);
}

static void start_daemon(const char *ca, bool client_cert)
{
	char *ca_file = th_strdupf("%s/%s.crt", t.dir, ca);
	char *cert = client_cert ? th_strdupf("  cert_file: %s/client.crt\n"
					      "  key_file: %s/client.key\n",
					      t.dir, t.dir)
				 : th_strdupf("%s", "");
	char *yaml = th_strdupf("mqtt:\n"
				"  url: mqtts://127.0.0.1:%d\n"
				"  ca_file: %s\n"
				"%s"
				"  reconnect: {initial: 200ms, max: 1s}\n"
				"devices:\n"
				"  lamp: {driver: virtual, kind: light}\n",
				t.tls_port, ca_file, cert);
	cr_assert_eq(th_daemon_start(&t.daemon, yaml, NULL, NULL), 0);
	free(yaml);
	free(cert);
	free(ca_file);
}

static void expect_working_bridge(void)
{
	char *msg = th_mqtt_wait(t.mqtt, "smarthub/bridge/state", "online", WAIT_MS);

	cr_assert_not_null(msg, "no connection over TLS; log:\n%s", th_daemon_log(&t.daemon));
	free(msg);
	msg = th_mqtt_wait(t.mqtt, "smarthub/lamp/availability", "online", WAIT_MS);
	cr_assert_not_null(msg);
	free(msg);
	cr_assert_eq(th_mqtt_publish(t.mqtt, "smarthub/lamp/set", "ON", 2, false), 0);
	msg = th_mqtt_wait_json(t.mqtt, "smarthub/lamp", "{\"state\":\"ON\"}", WAIT_MS);
	cr_assert_not_null(msg, "log:\n%s", th_daemon_log(&t.daemon));
	free(msg);
}

Test(mqtt_tls, connects_when_it_trusts_the_broker)
{
	start_broker(false);
	start_daemon("ca", false);
	expect_working_bridge();
}

Test(mqtt_tls, presents_its_client_certificate)
{
	start_broker(true);
	start_daemon("ca", true);
	expect_working_bridge();
}

Test(mqtt_tls, refuses_a_broker_it_cannot_verify)
{
	start_broker(false);
	start_daemon("other", false);
	cr_assert(th_daemon_wait_log(&t.daemon, "mqtt: connect to ssl://127.0.0.1", WAIT_MS),
		  "log:\n%s", th_daemon_log(&t.daemon));
	cr_assert_eq(th_mqtt_count(t.mqtt, "smarthub/bridge/state"), 0);
	/* It keeps running and retrying. */
	cr_assert_eq(th_daemon_signal(&t.daemon, 0), 0);
}
