/* SPDX-License-Identifier: MIT */
/*
 * TLS to the broker, with certificates made at test time by openssl: a test
 * CA, a server certificate for 127.0.0.1 and localhost signed by it, a
 * certificate for another host name, and a second CA that signed nothing
 * of the broker's. mosquitto gets a TLS listener beside its plain one; the
 * test watches over the plain one, the daemon connects over TLS.
 *
 * The daemon trusting the right CA connects and works; trusting the wrong
 * CA, or facing a certificate for another name, it is refused, says why in
 * its log, and keeps retrying without ever showing online.
 */
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Generous bound for anything to happen: a guard, not a timing check. */
#define WAIT_MS 15000

static struct {
	struct th_broker broker;
	struct th_daemon daemon;
	struct th_mqtt *mqtt;
	char *dir; /* keys and certificates */
	int tls_port;
} t;

static void teardown(void)
{
	th_mqtt_close(t.mqtt);
	th_daemon_stop(&t.daemon);
	th_broker_stop(&t.broker);
	if (t.dir) {
		th_rmtree(t.dir);
		free(t.dir);
	}
	memset(&t, 0, sizeof(t));
}

TestSuite(tls, .fini = teardown, .timeout = 120);

static void openssl(const char *const *argv)
{
	char *out = NULL;
	int status = -1;

	cr_assert_eq(th_run(argv, NULL, &out, &status), 0, "openssl did not run");
	cr_assert_eq(status, 0, "%s failed:\n%s", argv[1], out ? out : "");
	free(out);
}

/* A self-signed CA: <name>.crt and <name>.key. */
static void make_ca(const char *name)
{
	char *key = th_strdupf("%s/%s.key", t.dir, name);
	char *crt = th_strdupf("%s/%s.crt", t.dir, name);
	char *subj = th_strdupf("/CN=smarthub test %s", name);
	const char *argv[] = {"openssl",
			      "req",
			      "-x509",
			      "-newkey",
			      "ec",
			      "-pkeyopt",
			      "ec_paramgen_curve:prime256v1",
			      "-nodes",
			      "-keyout",
			      key,
			      "-out",
			      crt,
			      "-days",
			      "2",
			      "-subj",
			      subj,
			      "-addext",
			      "basicConstraints=critical,CA:TRUE",
			      "-addext",
			      "keyUsage=critical,keyCertSign,cRLSign",
			      NULL};
	openssl(argv);
	free(subj);
	free(crt);
	free(key);
}

/* A server certificate <name>.crt/.key signed by `ca`, for `san`. */
static void make_server(const char *name, const char *ca, const char *cn, const char *san)
{
	char *key = th_strdupf("%s/%s.key", t.dir, name);
	char *csr = th_strdupf("%s/%s.csr", t.dir, name);
	char *crt = th_strdupf("%s/%s.crt", t.dir, name);
	char *ext = th_strdupf("%s/%s.ext", t.dir, name);
	char *ca_crt = th_strdupf("%s/%s.crt", t.dir, ca);
	char *ca_key = th_strdupf("%s/%s.key", t.dir, ca);
	char *subj = th_strdupf("/CN=%s", cn);
	char *ext_text = th_strdupf("subjectAltName=%s\n"
				    "extendedKeyUsage=serverAuth\n"
				    "basicConstraints=CA:FALSE\n",
				    san);
	cr_assert_eq(th_write_file(ext, ext_text), 0);
	const char *req[] = {
		"openssl", "req",     "-newkey", "ec",   "-pkeyopt", "ec_paramgen_curve:prime256v1",
		"-nodes",  "-keyout", key,       "-out", csr,        "-subj",
		subj,      NULL};
	openssl(req);
	const char *sign[] = {"openssl", "x509", "-req",   "-in",  csr,
			      "-CA",     ca_crt, "-CAkey", ca_key, "-CAcreateserial",
			      "-out",    crt,    "-days",  "2",    "-extfile",
			      ext,       NULL};
	openssl(sign);
	free(ext_text);
	free(subj);
	free(ca_key);
	free(ca_crt);
	free(ext);
	free(crt);
	free(csr);
	free(key);
}

/* The broker with a TLS listener presenting <server>.crt. */
static void start_broker(const char *server)
{
	t.dir = th_tempdir();
	cr_assert_not_null(t.dir);
	make_ca("ca");
	make_ca("wrong-ca");
	make_server("server", "ca", "localhost", "IP:127.0.0.1,DNS:localhost");
	make_server("elsewhere", "ca", "broker.example.org", "DNS:broker.example.org");

	t.tls_port = th_free_port();
	cr_assert_gt(t.tls_port, 0);
	char *extra = th_strdupf("listener %d 127.0.0.1\n"
				 "cafile %s/ca.crt\n"
				 "certfile %s/%s.crt\n"
				 "keyfile %s/%s.key\n",
				 t.tls_port, t.dir, t.dir, server, t.dir, server);
	cr_assert_eq(th_broker_start_conf(&t.broker, 0, extra), 0);
	free(extra);
	cr_assert(th_wait_port(t.tls_port, WAIT_MS), "no TLS listener");
	t.mqtt = th_mqtt_connect(t.broker.port, "test-tls");
	cr_assert_not_null(t.mqtt);
	cr_assert_eq(th_mqtt_subscribe(t.mqtt, "smarthub/#"), 0);
}

static void start_daemon(const char *ca)
{
	char *yaml = th_strdupf("mqtt:\n"
				"  url: mqtts://127.0.0.1:%d\n"
				"  ca_file: %s/%s.crt\n"
				"  reconnect: {initial: 100ms, max: 300ms}\n"
				"devices:\n"
				"  lamp: {driver: virtual, kind: light}\n",
				t.tls_port, t.dir, ca);
	cr_assert_eq(th_daemon_start(&t.daemon, yaml, NULL, NULL), 0);
	free(yaml);
}

static size_t occurrences(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

Test(tls, connects_when_the_ca_is_right)
{
	start_broker("server");
	start_daemon("ca");
	char *m = th_mqtt_wait_json(t.mqtt, "smarthub/bridge/state", "{\"state\":\"online\"}",
				    WAIT_MS);
	cr_assert_not_null(m, "no connection over TLS; log:\n%s", th_daemon_log(&t.daemon));
	free(m);
	char *log = th_daemon_log(&t.daemon);
	cr_expect(strstr(log, "connected to ssl://127.0.0.1"), "log:\n%s", log);
	free(log);

	/* And the hub works over it both ways. */
	const char cmd[] = "{\"state\":\"ON\",\"brightness\":77}";
	cr_assert_eq(th_mqtt_publish(t.mqtt, "smarthub/lamp/set", cmd, strlen(cmd), false), 0);
	m = th_mqtt_wait_json(t.mqtt, "smarthub/lamp", "{\"brightness\":77}", WAIT_MS);
	cr_assert_not_null(m, "log:\n%s", th_daemon_log(&t.daemon));
	free(m);
}

/* Refused: never online, a reason in the log, and retrying. */
static void expect_refused(const char *const *reasons)
{
	char *log = NULL;
	bool said = false;

	/* Retries show as repeated connection attempts in the debug log. */
	for (int waited = 0; waited < WAIT_MS; waited += 100) {
		free(log);
		log = th_daemon_log(&t.daemon);
		said = false;
		for (int i = 0; reasons[i]; i++)
			said = said || strstr(log, reasons[i]);
		if (said && occurrences(log, "mqtt: connecting to") >= 4)
			break;
		th_mqtt_wait(t.mqtt, "smarthub/bridge/state", NULL, 100);
	}
	cr_expect(said, "the log does not say why the broker was refused:\n%s", log);
	cr_expect_geq(occurrences(log, "mqtt: connecting to"), 4, "no retries:\n%s", log);
	cr_expect_null(strstr(log, "mqtt: connected"), "connected anyway:\n%s", log);
	free(log);
	cr_expect_eq(th_mqtt_count(t.mqtt, "smarthub/bridge/state"), 0,
		     "the daemon published over an untrusted connection");
	cr_assert_eq(th_daemon_signal(&t.daemon, 0), 0, "the daemon gave up and left");
}

Test(tls, wrong_ca_is_refused_with_a_clear_error)
{
	start_broker("server");
	start_daemon("wrong-ca");
	const char *const reasons[] = {"certificate verify failed", "unable to get local issuer",
				       "self-signed certificate", "self signed certificate", NULL};
	expect_refused(reasons);
}

/* Runs openssl s_client against the broker's TLS port, verifying against
 * ca.crt with `check` (e.g. "-verify_hostname", "localhost"). Returns its
 * exit status; *out gets what it printed (caller frees). */
static int s_client(const char *check, const char *name, char **out)
{
	char *connect = th_strdupf("127.0.0.1:%d", t.tls_port);
	char *ca = th_strdupf("%s/ca.crt", t.dir);
	const char *argv[] = {"openssl", "s_client", "-connect", connect, "-CAfile", ca,
			      "-verify_return_error", check, name, NULL};
	int status = -1;
	cr_assert_eq(th_run(argv, NULL, out, &status), 0, "openssl did not run");
	free(ca);
	free(connect);
	return status;
}

Test(tls, certificate_for_another_host_is_refused)
{
	start_broker("elsewhere");
	start_daemon("ca");
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
	char *log = th_daemon_log(&t.daemon);
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
