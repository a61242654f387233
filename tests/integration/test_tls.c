/* SPDX-License-Identifier: MIT */
/*
 * TLS to the broker, with certificates made at test time by openssl: a test
 * CA, a server certificate for 127.0.0.1 and localhost signed by it, a
 * certificate for another host name, a client certificate, and a second CA
 * that signed nothing of the broker's. mosquitto gets a TLS listener beside
 * its plain one; the test watches over the plain one, the daemon connects
 * over TLS (th_fx.url).
 *
 * The daemon trusting the right CA connects and works, with a client
 * certificate too when the broker requires one; trusting the wrong CA, or
 * facing a certificate for another name, it is refused, says why in its
 * log, and keeps retrying without ever showing online.
 */
#include "fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MS TH_WAIT_MS

static int tls_port;

TestSuite(tls, .fini = th_fixture_teardown, .timeout = 120);

/* <dir>/<name>.<ext>, malloc'd. */
static char *file(const char *name, const char *ext)
{
	return th_strdupf("%s/%s.%s", th_fixture_dir(), name, ext);
}

/* A server certificate <name>.crt/.key signed by `ca`, for `san`. */
static void make_server(const char *name, const char *ca, const char *cn, const char *san)
{
	char *ext = th_strdupf("subjectAltName=%s\n"
			       "extendedKeyUsage=serverAuth\n"
			       "basicConstraints=CA:FALSE\n",
			       san);
	th_fixture_make_cert(name, ca, cn, ext);
	free(ext);
}

/* The broker with a TLS listener presenting <server>.crt, requiring a
 * client certificate signed by the CA if `require_client_cert`. */
static void start_broker(const char *server, bool require_client_cert)
{
	th_fixture_make_ca("ca");
	th_fixture_make_ca("wrong-ca");
	make_server("server", "ca", "localhost", "IP:127.0.0.1,DNS:localhost");
	make_server("elsewhere", "ca", "broker.example.org", "DNS:broker.example.org");
	th_fixture_make_cert("client", "ca", "smarthub-client",
			     "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n");

	tls_port = th_free_port();
	cr_assert_gt(tls_port, 0);
	const char *dir = th_fixture_dir();
	char *extra = th_strdupf("listener %d 127.0.0.1\n"
				 "cafile %s/ca.crt\n"
				 "certfile %s/%s.crt\n"
				 "keyfile %s/%s.key\n"
				 "require_certificate %s\n",
				 tls_port, dir, dir, server, dir, server,
				 require_client_cert ? "true" : "false");
	th_fixture_start_broker(extra);
	free(extra);
	cr_assert(th_wait_port(tls_port, WAIT_MS), "no TLS listener");
}

/* The daemon over TLS trusting <ca>.crt, presenting client.crt if asked. */
static void start_daemon(const char *ca, bool client_cert)
{
	const char *dir = th_fixture_dir();
	th_fx.url = th_strdupf("mqtts://127.0.0.1:%d", tls_port);
	char *cert = client_cert ? th_strdupf("cert_file: %s/client.crt\n"
					      "key_file: %s/client.key\n",
					      dir, dir)
				 : th_strdupf("%s", "");
	char *mqtt = th_strdupf("ca_file: %s/%s.crt\n"
				"reconnect: {initial: 100ms, max: 300ms}\n"
				"%s",
				dir, ca, cert);
	free(cert);
	th_fixture_start_daemon(mqtt, "devices:\n  lamp: {driver: virtual, kind: light}\n", NULL,
				NULL);
	free(mqtt);
}

static size_t occurrences(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Online over TLS, and the hub works over it both ways. */
static void expect_working_bridge(void)
{
	free(th_fixture_expect_json("smarthub/bridge/state", "{\"state\":\"online\"}"));
	char *log = th_daemon_log(&th_fx.daemon);
	cr_expect(strstr(log, "connected to ssl://127.0.0.1"), "log:\n%s", log);
	free(log);
	th_fixture_expect_online("lamp");
	const char cmd[] = "{\"state\":\"ON\",\"brightness\":77}";
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, "smarthub/lamp/set", cmd, strlen(cmd), false), 0);
	free(th_fixture_expect_json("smarthub/lamp", "{\"state\":\"ON\",\"brightness\":77}"));
}

Test(tls, connects_when_the_ca_is_right)
{
	start_broker("server", false);
	start_daemon("ca", false);
	expect_working_bridge();
}

Test(tls, presents_its_client_certificate)
{
	start_broker("server", true);
	start_daemon("ca", true);
	expect_working_bridge();
}

/* Refused: never online, a reason in the log, and retrying. */
static void expect_refused(const char *const *reasons)
{
	char *log = NULL;
	bool said = false;

	/* Retries show as repeated connection attempts in the debug log. */
	for (int waited = 0; waited < WAIT_MS; waited += 100) {
		free(log);
		log = th_daemon_log(&th_fx.daemon);
		said = false;
		for (int i = 0; reasons[i]; i++)
			said = said || strstr(log, reasons[i]);
		if (said && occurrences(log, "mqtt: connecting to") >= 4)
			break;
		th_mqtt_wait(th_fx.mqtt, "smarthub/bridge/state", NULL, 100);
	}
	cr_expect(said, "the log does not say why the broker was refused:\n%s", log);
	cr_expect(strstr(log, "mqtt: connect to ssl://127.0.0.1"),
		  "the log does not name the broker refused:\n%s", log);
	cr_expect_geq(occurrences(log, "mqtt: connecting to"), 4, "no retries:\n%s", log);
	cr_expect_null(strstr(log, "mqtt: connected"), "connected anyway:\n%s", log);
	free(log);
	cr_expect_eq(th_mqtt_count(th_fx.mqtt, "smarthub/bridge/state"), 0,
		     "the daemon published over an untrusted connection");
	cr_assert_eq(th_daemon_signal(&th_fx.daemon, 0), 0, "the daemon gave up and left");
}

Test(tls, wrong_ca_is_refused_with_a_clear_error)
{
	start_broker("server", false);
	start_daemon("wrong-ca", false);
	const char *const reasons[] = {"certificate verify failed", "unable to get local issuer",
				       "self-signed certificate", "self signed certificate", NULL};
	expect_refused(reasons);
}

/* Runs openssl s_client against the broker's TLS port, verifying against
 * ca.crt with `check` (e.g. "-verify_hostname", "localhost"). Returns its
 * exit status; *out gets what it printed (caller frees). */
static int s_client(const char *check, const char *name, char **out)
{
	char *connect = th_strdupf("127.0.0.1:%d", tls_port);
	char *ca = file("ca", "crt");
	const char *argv[] = {
		"openssl", "s_client", "-connect", connect, "-CAfile", ca, "-verify_return_error",
		check,     name,       NULL};
	int status = -1;
	cr_assert_eq(th_run(argv, NULL, out, &status), 0, "openssl did not run");
	free(ca);
	free(connect);
	return status;
}

Test(tls, certificate_for_another_host_is_refused)
{
	start_broker("elsewhere", false);
	start_daemon("ca", false);
	/* Paho checks the name after the handshake and reports only "TCP/TLS
	 * connect failure" (OpenSSL's error queue is empty then), so the log
	 * cannot say "name mismatch" by itself. What tells a name mismatch
	 * from any other failure: the chain verified (no "certificate verify
	 * failed"), and the same certificate is accepted for its own name and
	 * refused for the address the daemon connected to, by openssl against
	 * the same CA. So the name is the only thing the daemon can have
	 * refused. */
	const char *const reasons[] = {"TCP/TLS connect failure", NULL};
	expect_refused(reasons);
	char *log = th_daemon_log(&th_fx.daemon);
	cr_expect_null(strstr(log, "certificate verify failed"),
		       "the chain itself was refused, not the name:\n%s", log);
	free(log);

	char *out = NULL;
	cr_expect_eq(s_client("-verify_hostname", "broker.example.org", &out), 0,
		     "the certificate does not verify even for its own name:\n%s", out);
	free(out);
	out = NULL;
	cr_expect_neq(s_client("-verify_ip", "127.0.0.1", &out), 0,
		      "openssl accepts the certificate for 127.0.0.1:\n%s", out);
	cr_expect(out && strstr(out, "IP address mismatch"), "not a name mismatch:\n%s", out);
	free(out);
}
