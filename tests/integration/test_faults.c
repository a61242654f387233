/* SPDX-License-Identifier: MIT */
/*
 * Faults a hub meets in a home that nobody watches: the broker restarted
 * again and again while commands stream in, a device server (mpd) killed
 * and started again, bulbs that lose their power, the daemon itself killed
 * with SIGKILL in the middle of a scene and started again by its
 * supervisor, and a read-only filesystem.
 * Everything runs for real: smarthubd, mosquitto, mpd, the fake Yeelight
 * bulb and exec tools, driven over MQTT as a user would.
 *
 * The broker-restart test streams its commands with a Paho client of its
 * own (not the harness's), because it must know exactly which commands the
 * broker accepted (QoS 1 PUBACK): a command published while the broker is
 * down, or whose acknowledgement was lost with the connection, was never
 * accepted, and the hub owes it nothing.
 */
#include "../fakes/fake_yeelight.c"
#include "fixture.h"

#include <MQTTAsync.h>
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS TH_WAIT_MS

/* What these tests start beyond the fixture (th_fx). */
static struct {
	pid_t mpd;
	pid_t traced; /* the daemon under strace: strace's child, not ours */
	struct fake_bulb *bulb, *bulb2;
} t;

static void teardown(void)
{
	/* strace leaves its tracee running when it is stopped itself. */
	if (t.traced > 0)
		kill(t.traced, SIGKILL);
	th_fixture_teardown();
	if (t.mpd > 0)
		th_child_stop(t.mpd, 5000);
	fake_bulb_stop(t.bulb);
	fake_bulb_stop(t.bulb2);
	unsetenv("SMARTHUBD_PATH");
	memset(&t, 0, sizeof(t));
}

TestSuite(faults, .fini = teardown, .timeout = 240);

/* ---- helpers ------------------------------------------------------------- */

static void start_broker(void)
{
	th_fixture_start_broker(NULL);
}

static void start_daemon(const char *devices_and_scenes)
{
	/* device/get is how these tests watch a device, as often as they
	 * like: its rate limit stays out of their way. */
	th_fixture_start_daemon("reconnect: {initial: 100ms, max: 300ms}\n"
				"events_per_second: 1000\n"
				"requests_per_second: 1000\n",
				devices_and_scenes, NULL, NULL);
}

static char *expect_json(struct th_mqtt *c, const char *topic, const char *subset)
{
	char *msg = th_mqtt_wait_json(c, topic, subset, WAIT_MS);

	if (!msg) {
		char *last = th_mqtt_last(c, topic);

		cr_assert_fail("no %s on %s (last: %s); daemon log:\n%s", subset, topic,
			       last ? last : "none", th_daemon_log(&th_fx.daemon));
	}
	return msg;
}

static void pub(const char *topic, const char *payload)
{
	cr_assert_eq(th_mqtt_publish(th_fx.mqtt, topic, payload, strlen(payload), false), 0);
}

static const char *str_member(const cJSON *obj, const char *key)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(s) ? s->valuestring : "";
}

/* The device's state as the daemon reports it (bridge/request/device/get);
 * the caller deletes it. */
static cJSON *daemon_state(const char *id, const char *transaction)
{
	char *body = th_strdupf("\"id\":\"%s\"", id);
	cJSON *r = th_fixture_request("device/get", body, transaction);
	cJSON *state = cJSON_DetachItemFromObject(cJSON_GetObjectItem(r, "data"), "state");

	cr_assert_str_eq(str_member(r, "status"), "ok");
	cJSON_Delete(r);
	free(body);
	return state;
}

/* ---- a command stream that knows what the broker accepted ---------------- */

/* Lights that get a stream of distinct values, and the exec relay. */
#define STREAM_LIGHTS 4
#define STREAM_RELAY STREAM_LIGHTS
/* Every command sent is remembered; the run sends a few thousand. */
#define STREAM_SENT_MAX 40000
/* One command in this many goes to the relay (while it may). */
#define STREAM_RELAY_EVERY 10
/* About 200 commands a second, with the time a send takes. */
#define STREAM_PAUSE_US 2500

struct stream;

struct sent {
	struct stream *stream;
	int dev;   /* a light, or STREAM_RELAY */
	int value; /* a light's stream value; the relay's 1 ON, 0 OFF */
	atomic_int acked;
};

struct stream {
	int port;
	pthread_t thread;
	atomic_bool stop;
	/* The relay gets commands only while the test allows it: never while
	 * the broker is about to go, so no relay command is in flight then and
	 * its log must match the accepted ones exactly. */
	atomic_bool relay_enabled;
	atomic_int relay_pending;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	int connect_result; /* 0 pending, 1 connected, -1 failed */
	atomic_bool lost;
	unsigned connections;
	/* What the test waits on instead of guessing how long the stream
	 * needs (both under lock, with cond broadcast): commands the broker
	 * acknowledged, and connections the stream saw drop. */
	unsigned acks, losses;

	struct sent *sent;
	atomic_size_t n_sent;
	int next_value[STREAM_LIGHTS];
	unsigned relay_sends;

	/* What the stream's own subscription saw of the lights' states. */
	int last_seen[STREAM_LIGHTS];
	unsigned went_back;
	char went_back_what[256];
};

/* A light's value is carried by two properties, so that it never repeats
 * in a run: brightness 1-254 and color_temp from 153 up. */
static void light_props(int value, int *brightness, int *color_temp)
{
	*brightness = 1 + value % 254;
	*color_temp = 153 + value / 254;
}

static int light_value(const cJSON *state)
{
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(state, "brightness");
	const cJSON *ct = cJSON_GetObjectItemCaseSensitive(state, "color_temp");

	if (!cJSON_IsNumber(b) || !cJSON_IsNumber(ct))
		return -1;
	return (ct->valueint - 153) * 254 + (b->valueint - 1);
}

static void stream_on_lost(void *ctx, char *cause)
{
	struct stream *s = ctx;

	(void)cause;
	atomic_store(&s->lost, true);
	pthread_mutex_lock(&s->lock);
	s->losses++;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* Runs on Paho's thread: records the lights' states in arrival order. */
static int stream_on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *m)
{
	struct stream *s = ctx;
	int light;

	(void)topic_len;
	if (sscanf(topic, "smarthub/l%d", &light) == 1 && light >= 0 && light < STREAM_LIGHTS &&
	    strchr(topic + strlen("smarthub/"), '/') == NULL) {
		cJSON *state = cJSON_ParseWithLength(m->payload, (size_t)m->payloadlen);
		int v = light_value(state);

		pthread_mutex_lock(&s->lock);
		if (v >= 0 && v < s->last_seen[light]) {
			if (!s->went_back)
				snprintf(s->went_back_what, sizeof(s->went_back_what),
					 "l%d went from %d back to %d", light, s->last_seen[light],
					 v);
			s->went_back++;
		}
		if (v > s->last_seen[light])
			s->last_seen[light] = v;
		pthread_mutex_unlock(&s->lock);
		cJSON_Delete(state);
	}
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}

static void stream_connect_done(struct stream *s, int result)
{
	pthread_mutex_lock(&s->lock);
	s->connect_result = result;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static void stream_on_connect(void *ctx, MQTTAsync_successData *r)
{
	(void)r;
	stream_connect_done(ctx, 1);
}

static void stream_on_connect_failure(void *ctx, MQTTAsync_failureData *r)
{
	(void)r;
	stream_connect_done(ctx, -1);
}

static void stream_on_ack(void *ctx, MQTTAsync_successData *r)
{
	struct sent *m = ctx;

	(void)r;
	atomic_store(&m->acked, 1);
	pthread_mutex_lock(&m->stream->lock);
	m->stream->acks++;
	pthread_cond_broadcast(&m->stream->cond);
	pthread_mutex_unlock(&m->stream->lock);
}

static void stream_on_nack(void *ctx, MQTTAsync_failureData *r)
{
	struct sent *m = ctx;

	(void)r;
	atomic_store(&m->acked, -1);
}

/* A fresh client for every connection: whatever was in flight on the old
 * one is forgotten with it and counts as not accepted. */
static MQTTAsync stream_connect(struct stream *s)
{
	MQTTAsync client;
	char uri[64], id[64];

	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", s->port);
	snprintf(id, sizeof(id), "test-stream-%u", s->connections++);
	if (MQTTAsync_create(&client, uri, id, MQTTCLIENT_PERSISTENCE_NONE, NULL) !=
	    MQTTASYNC_SUCCESS)
		return NULL;
	MQTTAsync_setCallbacks(client, s, stream_on_lost, stream_on_message, NULL);
	MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer;
	opts.cleansession = 1;
	opts.keepAliveInterval = 20;
	opts.connectTimeout = 2;
	opts.onSuccess = stream_on_connect;
	opts.onFailure = stream_on_connect_failure;
	opts.context = s;
	pthread_mutex_lock(&s->lock);
	s->connect_result = 0;
	pthread_mutex_unlock(&s->lock);
	atomic_store(&s->lost, false);
	if (MQTTAsync_connect(client, &opts) != MQTTASYNC_SUCCESS) {
		MQTTAsync_destroy(&client);
		return NULL;
	}
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 3;
	pthread_mutex_lock(&s->lock);
	while (s->connect_result == 0 &&
	       pthread_cond_timedwait(&s->cond, &s->lock, &deadline) == 0) {
	}
	int result = s->connect_result;
	pthread_mutex_unlock(&s->lock);
	if (result != 1) {
		MQTTAsync_destroy(&client);
		return NULL;
	}
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	MQTTAsync_subscribe(client, "smarthub/+", 1, &ro);
	return client;
}

static void stream_send(struct stream *s, MQTTAsync client, int dev, int value)
{
	size_t i = atomic_load(&s->n_sent);
	char topic[64], payload[128];

	if (i >= STREAM_SENT_MAX)
		return;
	struct sent *m = &s->sent[i];
	m->stream = s;
	m->dev = dev;
	m->value = value;
	atomic_store(&m->acked, 0);
	if (dev == STREAM_RELAY) {
		snprintf(topic, sizeof(topic), "smarthub/relay/set");
		snprintf(payload, sizeof(payload), "%s", value ? "ON" : "OFF");
	} else {
		int brightness, color_temp;

		light_props(value, &brightness, &color_temp);
		snprintf(topic, sizeof(topic), "smarthub/l%d/set", dev);
		snprintf(payload, sizeof(payload),
			 "{\"state\":\"ON\",\"brightness\":%d,\"color_temp\":%d}", brightness,
			 color_temp);
	}
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	msg.payload = payload;
	msg.payloadlen = (int)strlen(payload);
	msg.qos = 1;
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	ro.onSuccess = stream_on_ack;
	ro.onFailure = stream_on_nack;
	ro.context = m;
	if (MQTTAsync_sendMessage(client, topic, &msg, &ro) != MQTTASYNC_SUCCESS)
		atomic_store(&m->acked, -1);
	atomic_store(&s->n_sent, i + 1);
}

static void *stream_thread(void *arg)
{
	struct stream *s = arg;
	MQTTAsync client = NULL;
	unsigned tick = 0;

	while (!atomic_load(&s->stop)) {
		if (client && atomic_load(&s->lost)) {
			MQTTAsync_destroy(&client);
			client = NULL;
		}
		if (!client) {
			client = stream_connect(s);
			if (!client) {
				usleep(50 * 1000);
				continue;
			}
		}
		tick++;
		if (tick % STREAM_RELAY_EVERY == 0 && atomic_load(&s->relay_enabled)) {
			atomic_fetch_add(&s->relay_pending, 1);
			stream_send(s, client, STREAM_RELAY, (int)(++s->relay_sends % 2));
		} else {
			int light = (int)(tick % STREAM_LIGHTS);

			stream_send(s, client, light, ++s->next_value[light]);
		}
		usleep(STREAM_PAUSE_US);
	}
	if (client) {
		MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
		d.timeout = 1000;
		MQTTAsync_disconnect(client, &d);
		usleep(200 * 1000);
		MQTTAsync_destroy(&client);
	}
	return NULL;
}

/* Waits until *counter (one of the stream's, under its lock) reaches n;
 * fails the test after WAIT_MS. */
static void stream_wait(struct stream *s, const unsigned *counter, unsigned n, const char *what)
{
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += WAIT_MS / 1000;
	pthread_mutex_lock(&s->lock);
	while (*counter < n && pthread_cond_timedwait(&s->cond, &s->lock, &deadline) == 0) {
	}
	unsigned got = *counter;
	pthread_mutex_unlock(&s->lock);
	cr_assert_geq(got, n, "the stream saw %u %s, not %u; daemon log:\n%s", got, what, n,
		      th_daemon_log(&th_fx.daemon));
}

static unsigned stream_get(struct stream *s, const unsigned *counter)
{
	pthread_mutex_lock(&s->lock);
	unsigned v = *counter;
	pthread_mutex_unlock(&s->lock);
	return v;
}

/* Lets the stream run until the broker accepted `n` more commands. */
static void stream_run(struct stream *s, unsigned n)
{
	stream_wait(s, &s->acks, stream_get(s, &s->acks) + n, "commands accepted");
}

/* Relay commands sent and not yet acknowledged (either way). */
static int relay_unresolved(struct stream *s)
{
	size_t n = atomic_load(&s->n_sent);
	int pending = 0;

	for (size_t i = 0; i < n; i++)
		if (s->sent[i].dev == STREAM_RELAY && atomic_load(&s->sent[i].acked) == 0)
			pending++;
	return pending;
}

/* The relay commands the broker accepted, in order, as the relay's tool
 * writes them: "ON\n" or "OFF\n" each. The caller frees. */
static char *relay_accepted(struct stream *s, size_t *count)
{
	size_t n = atomic_load(&s->n_sent);
	char *text = calloc(1, n * 4 + 1);
	size_t len = 0;

	cr_assert_not_null(text);
	*count = 0;
	for (size_t i = 0; i < n; i++) {
		if (s->sent[i].dev != STREAM_RELAY || atomic_load(&s->sent[i].acked) != 1)
			continue;
		len += (size_t)sprintf(text + len, "%s", s->sent[i].value ? "ON\n" : "OFF\n");
		(*count)++;
	}
	return text;
}

static size_t count_lines(const char *text)
{
	size_t n = 0;

	for (; text && *text; text++)
		n += *text == '\n';
	return n;
}

/* The last line of `text` ("" when none), as a pointer into it. */
static const char *last_line(const char *text)
{
	size_t n = text ? strlen(text) : 0;

	if (n && text[n - 1] == '\n')
		n--;
	while (n && text[n - 1] != '\n')
		n--;
	return text ? text + n : "";
}

/* Whether the lines of `ran` appear in `want` in the same order, each at
 * most once: commands may merge (the last one wins) but never repeat, go
 * back, or appear from nowhere. */
static bool lines_subsequence(const char *ran, const char *want)
{
	while (*ran) {
		size_t n = strcspn(ran, "\n") + 1;
		const char *w = want;

		while (*w && strncmp(w, ran, n) != 0)
			w += strcspn(w, "\n") + 1;
		if (!*w)
			return false;
		want = w + n;
		ran += n;
	}
	return true;
}

/* Stops relay commands, waits until every one sent was acknowledged by the
 * broker and the relay ran the last of them (earlier ones may have merged
 * into it while the relay was busy): the broker may hold an acknowledged
 * message in its queue for the hub for a moment, and a restart would lose
 * it (legitimately: the hub never had it). */
static void relay_quiesce(struct stream *s, const char *relay_log)
{
	atomic_store(&s->relay_enabled, false);
	usleep(2 * STREAM_PAUSE_US); /* a send under way finishes */
	for (int waited = 0; relay_unresolved(s) && waited < WAIT_MS; waited += 10)
		usleep(10 * 1000);
	cr_assert_eq(relay_unresolved(s), 0, "relay commands never acknowledged");
	size_t accepted;
	char *want = relay_accepted(s, &accepted);
	for (int waited = 0; accepted && waited < WAIT_MS; waited += 10) {
		char *ran = th_read_file(relay_log);
		bool done = ran && strcmp(last_line(ran), last_line(want)) == 0;

		free(ran);
		if (done) {
			static unsigned asked;
			char *tr = th_strdupf("quiesce-%u", ++asked);
			cJSON *r = th_fixture_request("device/get", "\"id\":\"relay\"", tr);
			const cJSON *len =
				cJSON_GetObjectItem(cJSON_GetObjectItem(r, "data"), "queue_length");

			done = cJSON_IsNumber(len) && len->valueint == 0;
			cJSON_Delete(r);
			free(tr);
			if (done)
				break;
		}
		usleep(10 * 1000);
	}
	free(want);
}

/* The last value of `dev` the broker accepted, -1 if none. */
static int last_accepted(struct stream *s, int dev)
{
	size_t n = atomic_load(&s->n_sent);

	for (size_t i = n; i-- > 0;)
		if (s->sent[i].dev == dev && atomic_load(&s->sent[i].acked) == 1)
			return s->sent[i].value;
	return -1;
}

/* Waits for the daemon's retained state of light `i` to show `value`. */
static void expect_light(struct th_mqtt *c, int i, int value)
{
	int brightness, color_temp;
	char *topic = th_strdupf("smarthub/l%d", i);

	light_props(value, &brightness, &color_temp);
	char *subset = th_strdupf("{\"brightness\":%d,\"color_temp\":%d}", brightness, color_temp);
	free(expect_json(c, topic, subset));
	free(subset);
	free(topic);
}

/*
 * The broker is restarted 5 times while about 200 commands a second go to
 * four virtual lights and, between restarts, to an exec relay whose
 * on/off tools append a line to a file. Afterwards:
 *  - each light's retained state is what the daemon reports and is the
 *    last command the broker accepted for it;
 *  - no light's published state ever went back to an older command (which
 *    a command executed twice would do);
 *  - the relay ran exactly the accepted relay commands, in order, each
 *    once.
 * The daemon's memory under this load is scripts/soak's to watch.
 */
Test(faults, broker_restarts_under_a_command_stream)
{
	char *relay_log = th_fixture_path("relay.log");
	char *tool = th_fixture_script("relay", "echo \"$1\" >> \"$RELAY_LOG\"\n");
	start_broker();
	char *devices = th_strdupf("devices:\n"
				   "  l0: {driver: virtual, kind: light}\n"
				   "  l1: {driver: virtual, kind: light}\n"
				   "  l2: {driver: virtual, kind: light}\n"
				   "  l3: {driver: virtual, kind: light}\n"
				   "  relay:\n"
				   "    driver: exec\n"
				   "    kind: switch\n"
				   "    on: [%s, \"ON\"]\n"
				   "    off: [%s, \"OFF\"]\n"
				   "    env: {RELAY_LOG: %s}\n"
				   /* A loaded machine spawns slowly: the queue must
				    * not refuse what the broker accepted. */
				   "    queue_limit: 1000\n",
				   tool, tool, relay_log);
	start_daemon(devices);
	free(devices);
	free(tool);
	th_fixture_expect("smarthub/bridge/state", "{\"state\":\"online\"}");
	for (int i = 0; i < STREAM_LIGHTS; i++) {
		char *id = th_strdupf("l%d", i);
		th_fixture_expect_availability(id, "online");
		free(id);
	}
	th_fixture_expect_availability("relay", "online");
	/* Every light starts at value 0, below everything the stream sends. */
	for (int i = 0; i < STREAM_LIGHTS; i++) {
		char *topic = th_strdupf("smarthub/l%d/set", i);
		pub(topic, "{\"state\":\"ON\",\"brightness\":1,\"color_temp\":153}");
		free(topic);
		expect_light(th_fx.mqtt, i, 0);
	}

	struct stream *s = calloc(1, sizeof(*s));
	cr_assert_not_null(s);
	s->sent = calloc(STREAM_SENT_MAX, sizeof(*s->sent));
	cr_assert_not_null(s->sent);
	s->port = th_fx.broker.port;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	atomic_store(&s->relay_enabled, true);
	struct timespec began, ended;
	clock_gettime(CLOCK_MONOTONIC, &began);
	cr_assert_eq(pthread_create(&s->thread, NULL, stream_thread, s), 0);

	/* Each round: the stream runs (about 0.7 s of commands), then the
	 * broker goes until the stream has seen its connection drop; commands
	 * meanwhile are not accepted. */
	stream_run(s, 200);
	for (int round = 0; round < 5; round++) {
		stream_run(s, 140);
		relay_quiesce(s, relay_log);
		th_mqtt_clear(th_fx.mqtt);
		unsigned losses = stream_get(s, &s->losses);
		th_broker_stop(&th_fx.broker);
		stream_wait(s, &s->losses, losses + 1, "connections lost");
		cr_assert_eq(th_broker_start(&th_fx.broker, th_fx.broker.port), 0);
		/* The daemon resubscribes before it says online, so from here on
		 * every accepted command reaches it. */
		th_fixture_expect("smarthub/bridge/state", "{\"state\":\"online\"}");
		atomic_store(&s->relay_enabled, true);
	}
	stream_run(s, 200);
	relay_quiesce(s, relay_log);
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	clock_gettime(CLOCK_MONOTONIC, &ended);
	cr_assert_eq(th_daemon_signal(&th_fx.daemon, 0), 0, "the daemon died");

	/* The last accepted command of each light is its retained state. */
	struct th_mqtt *fresh = th_mqtt_connect(th_fx.broker.port, "test-faults-fresh");
	cr_assert_not_null(fresh);
	cr_assert_eq(th_mqtt_subscribe(fresh, "smarthub/#"), 0);
	for (int i = 0; i < STREAM_LIGHTS; i++) {
		int last = last_accepted(s, i);
		char *topic = th_strdupf("smarthub/l%d", i);
		char *id = th_strdupf("l%d", i);
		char *tr = th_strdupf("get-l%d", i);

		cr_assert_gt(last, 0, "no command to l%d was accepted", i);
		expect_light(fresh, i, last);
		char *retained = th_mqtt_last(fresh, topic);
		cr_assert(th_mqtt_last_retained(fresh, topic));
		cJSON *broker_state = cJSON_Parse(retained);
		cJSON *device_state = daemon_state(id, tr);
		cr_assert(cJSON_Compare(broker_state, device_state, true),
			  "l%d: the broker retains %s, the daemon reports %s", i, retained,
			  cJSON_PrintUnformatted(device_state));
		cJSON_Delete(broker_state);
		cJSON_Delete(device_state);
		free(retained);
		free(tr);
		free(id);
		free(topic);
	}
	th_mqtt_close(fresh);
	pthread_mutex_lock(&s->lock);
	cr_expect_eq(s->went_back, 0, "a light's state went back to an older command: %s",
		     s->went_back_what);
	pthread_mutex_unlock(&s->lock);

	/* The relay ran accepted commands in order, none twice, and the last
	 * one last (older ones may merge into a newer one while it is busy). */
	size_t n = atomic_load(&s->n_sent), accepted = 0;
	char *want = relay_accepted(s, &accepted);
	cr_assert_gt(accepted, 10, "too few relay commands to tell");
	/* Anything still to come would be a duplicate: a round trip through
	 * the daemon gives it the chance to show. */
	cJSON_Delete(daemon_state("relay", "settle"));
	char *got = th_read_file(relay_log);
	cr_assert_not_null(got);
	cr_expect(lines_subsequence(got, want),
		  "the relay ran %zu commands that are not the %zu accepted, in order:\nran:      "
		  "%.80s\naccepted: %.80s",
		  count_lines(got), accepted, got, want);
	cr_expect_str_eq(last_line(got), last_line(want),
			 "the relay did not end at the last command");

	size_t refused = 0;
	for (size_t i = 0; i < n; i++)
		refused += atomic_load(&s->sent[i].acked) != 1;
	double seconds = (double)(ended.tv_sec - began.tv_sec) +
			 (double)(ended.tv_nsec - began.tv_nsec) / 1e9;
	cr_log_info("commands sent %zu in %.1f s (%zu not accepted), connections %u, relay "
		    "accepted %zu",
		    n, seconds, refused, s->connections, accepted);

	free(got);
	free(want);
	free(relay_log);
	free(s->sent);
	free(s);
}

/* ---- a device server killed and started again ------------------------------ */

/*
 * mpd is killed (SIGKILL) under a speaker: the speaker goes offline, a
 * command to it meanwhile is refused with an event, and a scene that needs
 * it fails at once naming the step, while a light in the same scene and the
 * rest of the hub carry on. mpd comes back: the speaker is online and obeys.
 */
Test(faults, device_server_killed_and_restarted)
{
	int mpd_port = th_free_port();
	cr_assert_gt(mpd_port, 0);
	char *music = th_fixture_path("music");
	cr_assert_eq(mkdir(music, 0755), 0);
	th_fixture_mpd_conf(mpd_port, music, music, "");
	free(music);
	t.mpd = th_fixture_mpd_start(mpd_port);

	start_broker();
	char *devices = th_strdupf("devices:\n"
				   "  lamp: {driver: virtual, kind: light}\n"
				   "  speaker:\n"
				   "    driver: mpd\n"
				   "    kind: speaker\n"
				   "    host: 127.0.0.1\n"
				   "    port: %d\n"
				   "    backoff: {initial: 100ms, max: 500ms}\n"
				   "scenes:\n"
				   "  party:\n"
				   "    steps:\n"
				   "      - {device: lamp, set: {state: \"ON\", brightness: 200}}\n"
				   "      - {device: speaker, set: {volume: 40}}\n"
				   "      - {device: lamp, set: {brightness: 100}}\n",
				   mpd_port);
	start_daemon(devices);
	free(devices);
	th_fixture_expect_availability("speaker", "online");
	th_fixture_expect_availability("lamp", "online");
	pub("smarthub/speaker/set", "{\"volume\":25}");
	th_fixture_expect("smarthub/speaker", "{\"volume\":25}");

	th_mqtt_clear(th_fx.mqtt);
	cr_assert_eq(kill(t.mpd, SIGKILL), 0);
	th_child_stop(t.mpd, 5000);
	t.mpd = 0;
	th_fixture_expect_availability("speaker", "offline");

	/* A command meanwhile is refused, with the reason. */
	th_mqtt_clear(th_fx.mqtt);
	pub("smarthub/speaker/set", "{\"volume\":30}");
	char *ev = expect_json(th_fx.mqtt, "smarthub/bridge/event",
			       "{\"type\":\"error\",\"device\":\"speaker\"}");
	cr_expect(strstr(ev, "offline"), "the event does not say the speaker is offline: %s", ev);
	free(ev);

	/* The scene fails at the speaker's step instead of waiting for it. */
	cJSON *r = th_fixture_request("scene/run", "\"scene\":\"party\"", "party-1");
	cr_assert_str_eq(str_member(r, "status"), "error", "%s", cJSON_PrintUnformatted(r));
	const cJSON *data = cJSON_GetObjectItem(r, "data");
	cr_expect_str_eq(str_member(data, "status"), "failed");
	cr_expect_str_eq(str_member(data, "failed_step"), "steps[1]", "%s",
			 cJSON_PrintUnformatted(r));
	cr_expect(strstr(str_member(data, "error"), "speaker"), "%s", cJSON_PrintUnformatted(r));
	cJSON_Delete(r);
	th_fixture_expect("smarthub/scene/party",
			  "{\"state\":\"failed\",\"failed_step\":\"steps[1]\"}");
	/* The steps before it took effect; the one after never ran. */
	th_fixture_expect("smarthub/lamp", "{\"state\":\"ON\",\"brightness\":200}");
	cJSON *lamp = daemon_state("lamp", "lamp-1");
	cr_expect_eq(cJSON_GetObjectItem(lamp, "brightness")->valueint, 200);
	cJSON_Delete(lamp);

	/* mpd comes back on the same port; so does the speaker. */
	th_mqtt_clear(th_fx.mqtt);
	t.mpd = th_fixture_mpd_start(mpd_port);
	th_fixture_expect_availability("speaker", "online");
	pub("smarthub/speaker/set", "{\"volume\":33}");
	th_fixture_expect("smarthub/speaker", "{\"volume\":33}");
	r = th_fixture_request("scene/run", "\"scene\":\"party\"", "party-2");
	cr_expect_str_eq(str_member(r, "status"), "ok", "%s", cJSON_PrintUnformatted(r));
	cJSON_Delete(r);
	th_fixture_expect("smarthub/speaker", "{\"volume\":40}");
	th_fixture_expect("smarthub/lamp", "{\"brightness\":100}");
}

static bool bulb_powered(const struct fake_bulb_state *st, void *arg)
{
	return st->power == *(const bool *)arg;
}

/*
 * Two Yeelight bulbs lose their power (the fake refuses connections and
 * drops the open ones) and get it back. Both show offline; a command to
 * "lamp" meanwhile is refused with an event and a scene that needs it fails
 * at its step, while "desk" (queue_while_offline) keeps its command and
 * applies it on reconnect. Both come back online; the refused command is
 * not applied late.
 */
Test(faults, bulbs_lose_power_and_come_back)
{
	t.bulb = fake_bulb_start();
	t.bulb2 = fake_bulb_start();
	cr_assert(t.bulb && t.bulb2);
	start_broker();
	char *devices = th_strdupf("devices:\n"
				   "  lamp:\n"
				   "    driver: yeelight\n"
				   "    kind: light\n"
				   "    host: 127.0.0.1\n"
				   "    port: %d\n"
				   "    backoff: {initial: 100ms, max: 300ms}\n"
				   "  desk:\n"
				   "    driver: yeelight\n"
				   "    kind: light\n"
				   "    host: 127.0.0.1\n"
				   "    port: %d\n"
				   "    queue_while_offline: true\n"
				   "    backoff: {initial: 100ms, max: 300ms}\n"
				   "scenes:\n"
				   "  wake:\n"
				   "    steps:\n"
				   "      - {device: lamp, set: {state: \"ON\", brightness: 128}}\n"
				   "      - {device: desk, set: {state: \"ON\"}}\n",
				   fake_bulb_port(t.bulb), fake_bulb_port(t.bulb2));
	start_daemon(devices);
	free(devices);
	th_fixture_expect_availability("lamp", "online");
	th_fixture_expect_availability("desk", "online");

	th_mqtt_clear(th_fx.mqtt);
	fake_bulb_refuse(t.bulb, true);
	fake_bulb_refuse(t.bulb2, true);
	fake_bulb_drop_all(t.bulb);
	fake_bulb_drop_all(t.bulb2);
	th_fixture_expect_availability("lamp", "offline");
	th_fixture_expect_availability("desk", "offline");

	th_mqtt_clear(th_fx.mqtt);
	pub("smarthub/lamp/set", "{\"state\":\"ON\"}");
	char *ev = expect_json(th_fx.mqtt, "smarthub/bridge/event",
			       "{\"type\":\"error\",\"device\":\"lamp\"}");
	cr_expect(strstr(ev, "offline"), "%s", ev);
	free(ev);
	pub("smarthub/desk/set", "{\"state\":\"ON\",\"brightness\":200}");

	cJSON *r = th_fixture_request("scene/run", "\"scene\":\"wake\"", "wake-1");
	cr_assert_str_eq(str_member(r, "status"), "error", "%s", cJSON_PrintUnformatted(r));
	const cJSON *data = cJSON_GetObjectItem(r, "data");
	cr_expect_str_eq(str_member(data, "failed_step"), "steps[0]", "%s",
			 cJSON_PrintUnformatted(r));
	cr_expect(strstr(str_member(data, "error"), "lamp"), "%s", cJSON_PrintUnformatted(r));
	cJSON_Delete(r);

	/* Power is back. */
	fake_bulb_refuse(t.bulb, false);
	fake_bulb_refuse(t.bulb2, false);
	th_fixture_expect_availability("lamp", "online");
	th_fixture_expect_availability("desk", "online");
	bool on = true;
	cr_expect(fake_bulb_wait(t.bulb2, bulb_powered, &on, WAIT_MS),
		  "desk's queued command was not applied on reconnect; log:\n%s",
		  th_daemon_log(&th_fx.daemon));
	th_fixture_expect("smarthub/desk", "{\"state\":\"ON\"}");
	/* A round trip, then the lamp's refused command has had every chance
	 * to be applied late: it was not. */
	cJSON_Delete(daemon_state("lamp", "lamp-after"));
	struct fake_bulb_state st;
	fake_bulb_get(t.bulb, &st);
	cr_expect_not(st.power, "a refused command was applied on reconnect");
	pub("smarthub/lamp/set", "{\"state\":\"ON\"}");
	on = true;
	cr_expect(fake_bulb_wait(t.bulb, bulb_powered, &on, WAIT_MS));
}

/* ---- the daemon killed mid-scene ----------------------------------------- */

/* A client that subscribes to everything now: what it is told first on a
 * topic is what the broker retains. */
static struct th_mqtt *fresh_client(void)
{
	struct th_mqtt *c = th_mqtt_connect(th_fx.broker.port, "test-faults-fresh");

	cr_assert_not_null(c);
	cr_assert_eq(th_mqtt_subscribe(c, "smarthub/#"), 0);
	return c;
}

/* The retained message on `topic` (caller frees). */
static char *retained(struct th_mqtt *c, const char *topic)
{
	char *msg = th_mqtt_wait(c, topic, NULL, WAIT_MS);

	cr_assert_not_null(msg, "nothing retained on %s", topic);
	cr_assert(th_mqtt_last_retained(c, topic));
	return msg;
}

static void expect_retained(struct th_mqtt *c, const char *topic, const char *subset)
{
	char *msg = retained(c, topic);
	cJSON *got = cJSON_Parse(msg);
	cJSON *want = cJSON_Parse(subset);

	cr_assert_not_null(got, "not JSON on %s: %s", topic, msg);
	for (const cJSON *w = want->child; w; w = w->next)
		cr_expect(cJSON_Compare(w, cJSON_GetObjectItemCaseSensitive(got, w->string), true),
			  "%s retains %s, not %s", topic, msg, subset);
	cJSON_Delete(want);
	cJSON_Delete(got);
	free(msg);
}

/*
 * SIGKILL in the middle of a scene, and the supervisor starts the daemon
 * again with the same configuration. In between the broker says the bridge
 * is offline (the will). Meanwhile the Yeelight bulb lost its power too.
 * After the restart the broker holds fresh state: bridge online, the
 * scene not "running", the bulb and the unreachable device offline, the
 * light's state the one the daemon reports.
 */
Test(faults, sigkill_mid_scene_and_supervisor_restart)
{
	t.bulb = fake_bulb_start();
	cr_assert_not_null(t.bulb);
	start_broker();
	char *devices =
		th_strdupf("devices:\n"
			   "  lamp: {driver: virtual, kind: light}\n"
			   "  plug: {driver: virtual, kind: switch}\n"
			   "  ghost: {driver: virtual, kind: switch, unreachable: true,"
			   " connect_timeout: 200ms}\n"
			   "  bulb:\n"
			   "    driver: yeelight\n"
			   "    kind: light\n"
			   "    host: 127.0.0.1\n"
			   "    port: %d\n"
			   "    backoff: {initial: 100ms, max: 500ms}\n"
			   "scenes:\n"
			   "  evening:\n"
			   "    steps:\n"
			   "      - parallel:\n"
			   "          - {device: lamp, set: {state: \"ON\", brightness: 90}}\n"
			   "          - {device: bulb, set: {state: \"ON\"}}\n"
			   "      - {delay: 60s}\n"
			   "      - {device: plug, set: {state: \"ON\"}}\n",
			   fake_bulb_port(t.bulb));
	start_daemon(devices);
	free(devices);
	th_fixture_expect("smarthub/bridge/state", "{\"state\":\"online\"}");
	th_fixture_expect_availability("lamp", "online");
	th_fixture_expect_availability("bulb", "online");
	th_fixture_expect_availability("ghost", "offline");

	pub("smarthub/scene/evening/set", "run");
	th_fixture_expect("smarthub/scene/evening", "{\"state\":\"running\"}");
	th_fixture_expect("smarthub/lamp", "{\"state\":\"ON\",\"brightness\":90}");
	th_fixture_expect("smarthub/bulb", "{\"state\":\"ON\"}");
	struct th_mqtt *fresh = fresh_client();
	expect_retained(fresh, "smarthub/bulb/availability", "{\"state\":\"online\"}");
	th_mqtt_close(fresh);

	th_mqtt_clear(th_fx.mqtt);
	cr_assert_eq(th_daemon_signal(&th_fx.daemon, SIGKILL), 0);
	int status;
	cr_assert_eq(th_daemon_wait(&th_fx.daemon, WAIT_MS, &status), 0);
	cr_assert(WIFSIGNALED(status));
	th_fixture_expect("smarthub/bridge/state", "{\"state\":\"offline\"}");
	fresh = fresh_client();
	expect_retained(fresh, "smarthub/bridge/state", "{\"state\":\"offline\"}");
	th_mqtt_close(fresh);
	/* The bulb goes while the hub is down. */
	fake_bulb_stop(t.bulb);
	t.bulb = NULL;

	/* The supervisor's restart: same directory, same configuration. */
	cr_assert_eq(th_daemon_start(&th_fx.daemon, NULL, NULL, NULL), 0);
	th_fixture_expect("smarthub/bridge/state", "{\"state\":\"online\"}");
	th_fixture_expect_availability("bulb", "offline");
	th_fixture_expect_availability("lamp", "online");
	th_fixture_expect("smarthub/scene/evening", "{}");

	fresh = fresh_client();
	expect_retained(fresh, "smarthub/bridge/state", "{\"state\":\"online\"}");
	expect_retained(fresh, "smarthub/bulb/availability", "{\"state\":\"offline\"}");
	expect_retained(fresh, "smarthub/ghost/availability", "{\"state\":\"offline\"}");
	expect_retained(fresh, "smarthub/lamp/availability", "{\"state\":\"online\"}");
	char *scene = retained(fresh, "smarthub/scene/evening");
	cr_expect_null(strstr(scene, "running"), "the killed run still shows: %s", scene);
	free(scene);
	/* The light's retained state is what the new daemon reports. */
	cJSON *lamp = daemon_state("lamp", "lamp-after");
	char *text = retained(fresh, "smarthub/lamp");
	cJSON *retained = cJSON_Parse(text);
	cr_expect(cJSON_Compare(lamp, retained, true), "the broker retains %s, the daemon says %s",
		  text, cJSON_PrintUnformatted(lamp));
	cJSON_Delete(retained);
	cJSON_Delete(lamp);
	free(text);
	th_mqtt_close(fresh);
	/* And it works. */
	pub("smarthub/plug/set", "ON");
	th_fixture_expect("smarthub/plug", "{\"state\":\"ON\"}");
}

/* ---- a read-only filesystem ----------------------------------------------- */

/* System calls that create, change or remove files. */
#define WRITE_SYSCALLS                                                                             \
	"open,openat,openat2,creat,mkdir,mkdirat,unlink,unlinkat,rename,renameat,renameat2,"       \
	"truncate,link,linkat,symlink,symlinkat,mknod,mknodat"

/* Whether a line of strace output is a write to the filesystem: an open
 * for writing or creating, or any of the other calls. Opening /dev/null
 * (a child's stdin and stdout) and the like is no write to the disk. */
static bool writes_a_file(const char *line)
{
	static const char *const harmless[] = {"\"/dev/null\"",    "\"/dev/tty\"",  "\"/dev/pts/",
					       "\"/dev/urandom\"", "\"/proc/self/", NULL};
	/* "<pid> <call>(...)"; strace pads the pid with spaces. */
	const char *call = line + strspn(line, "0123456789");

	call += strspn(call, " ");
	if (!*call || strstr(line, "resumed>") || !strncmp(call, "---", 3) ||
	    !strncmp(call, "+++", 3))
		return false;
	bool open_call = !strncmp(call, "open", 4) || !strncmp(call, "creat", 5);
	if (open_call && !strstr(line, "O_WRONLY") && !strstr(line, "O_RDWR") &&
	    !strstr(line, "O_CREAT") && strncmp(call, "creat", 5))
		return false;
	for (int i = 0; harmless[i]; i++)
		if (strstr(line, harmless[i]))
			return false;
	return true;
}

/* The daemon under strace is strace's child, once it has exec'd. */
static pid_t daemon_under(pid_t parent)
{
	char path[64], comm[64];
	pid_t pid = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)parent, (int)parent);
	for (int waited = 0; !pid && waited < WAIT_MS; waited += 20) {
		char *text = th_read_file(path);
		pid = text ? (pid_t)atoi(text) : 0;
		free(text);
		if (pid) {
			snprintf(comm, sizeof(comm), "/proc/%d/comm", (int)pid);
			text = th_read_file(comm);
			if (!text || strcmp(text, "smarthubd\n"))
				pid = 0;
			free(text);
		}
		if (!pid)
			usleep(20 * 1000);
	}
	return pid;
}

/*
 * The daemon writes nothing to the filesystem at run time, so a read-only
 * root (ProtectSystem=strict) or a full disk cannot stop it: through
 * start-up, commands (an exec tool among them), a scene, a reload and
 * shutdown, strace sees no file opened for writing, created, renamed or
 * removed by the daemon or its children.
 */
Test(faults, writes_nothing_to_the_filesystem)
{
	int status = -1;
	const char *probe[] = {"strace", "-f", "-o", "/dev/null", "true", NULL};
	/* A skip would pass in ctest's eyes: without strace (scripts/install-deps
	 * installs it) this test has nothing to stand on, so it fails. */
	char *probe_out = NULL;
	int probe_rc = th_run(probe, NULL, &probe_out, &status);
	cr_assert(probe_rc == 0 && status == 0,
		  "strace is missing or cannot trace here (rc %d, status %d): %s", probe_rc, status,
		  probe_out ? probe_out : "");
	free(probe_out);

	char *trace = th_fixture_path("trace");
	char *body = th_strdupf("exec strace -f -qq -e trace=" WRITE_SYSCALLS " -o %s %s \"$@\"\n",
				trace, SMARTHUBD_PATH);
	char *wrapper = th_fixture_script("smarthubd-traced", body);
	free(body);
	cr_assert_eq(setenv("SMARTHUBD_PATH", wrapper, 1), 0);
	/* LeakSanitizer cannot run under ptrace and would fail the exit. */
	if (TH_SANITIZED)
		cr_assert_eq(setenv("ASAN_OPTIONS", "detect_leaks=0", 1), 0);
	free(wrapper);

	start_broker();
	start_daemon("devices:\n"
		     "  lamp: {driver: virtual, kind: light}\n"
		     "  climate: {driver: virtual, kind: sensor, interval: 100ms}\n"
		     "  relay: {driver: exec, kind: switch, on: [true], off: [true],"
		     " state: [echo, \"OFF\"]}\n"
		     "scenes:\n"
		     "  evening:\n"
		     "    steps:\n"
		     "      - {device: lamp, set: {state: \"ON\", brightness: 10}}\n"
		     "      - {device: relay, set: {state: \"ON\"}}\n");
	pid_t daemon_pid = daemon_under(th_fx.daemon.pid);
	cr_assert_gt(daemon_pid, 0, "strace started no daemon");
	t.traced = daemon_pid;
	th_fixture_expect("smarthub/bridge/state", "{\"state\":\"online\"}");
	th_fixture_expect_availability("lamp", "online");
	th_fixture_expect_availability("relay", "online");

	pub("smarthub/lamp/set", "{\"state\":\"ON\",\"brightness\":50}");
	th_fixture_expect("smarthub/lamp", "{\"brightness\":50}");
	pub("smarthub/relay/set", "ON");
	th_fixture_expect("smarthub/relay", "{\"state\":\"ON\"}");
	pub("smarthub/relay/set", "OFF");
	th_fixture_expect("smarthub/relay", "{\"state\":\"OFF\"}");
	pub("smarthub/relay/get", "");
	cJSON *r = th_fixture_request("scene/run", "\"scene\":\"evening\"", "scene");
	cr_assert_str_eq(str_member(r, "status"), "ok", "%s", cJSON_PrintUnformatted(r));
	cJSON_Delete(r);
	r = th_fixture_request("reload", "", "reload");
	cr_assert_str_eq(str_member(r, "status"), "ok", "%s", cJSON_PrintUnformatted(r));
	cJSON_Delete(r);
	cr_assert_eq(kill(daemon_pid, SIGHUP), 0);
	cr_assert(th_daemon_wait_log(&th_fx.daemon, "reload:", WAIT_MS));
	pub("smarthub/lamp/set", "{\"brightness\":60}");
	th_fixture_expect("smarthub/lamp", "{\"brightness\":60}");

	cr_assert_eq(kill(daemon_pid, SIGTERM), 0);
	cr_assert_eq(th_daemon_wait(&th_fx.daemon, WAIT_MS, &status), 0);
	t.traced = 0;
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);

	char *text = th_read_file(trace);
	cr_assert_not_null(text);
	cr_assert(strstr(text, "smarthub.yaml"), "the trace saw nothing:\n%.2000s", text);
	size_t found = 0;
	char *report = calloc(1, 4096);
	cr_assert_not_null(report);
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (!writes_a_file(line))
			continue;
		if (strlen(report) + strlen(line) + 2 < 4096) {
			strcat(report, line);
			strcat(report, "\n");
		}
		found++;
	}
	cr_expect_eq(found, 0, "%zu writes to the filesystem:\n%s", found, report);
	free(report);
	free(text);
	free(trace);
}
