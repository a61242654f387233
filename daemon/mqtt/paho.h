/* SPDX-License-Identifier: MIT */
/*
 * Paho MQTTAsync, loaded at run time. The daemon links neither Paho
 * library: it opens libpaho-mqtt3a for tcp:// and libpaho-mqtt3as only for
 * ssl://, because the TLS variant pulls in OpenSSL, whose relocated pages
 * alone cost about 3 MiB of resident memory on every start (see
 * docs/performance.md), more than the rest of the daemon with 100 devices.
 *
 * The table holds the few calls the bridge makes; types and constants come
 * from MQTTAsync.h as usual. `create` is MQTTAsync_createWithOptions: the
 * client is made for MQTT 5 and may still connect with 3.1.1. Owned by the bridge, filled once before the
 * client is created and read-only afterwards (Paho's threads call
 * strerror through it too).
 */
#ifndef SMARTHUB_PAHO_H
#define SMARTHUB_PAHO_H

#include <MQTTAsync.h>
#include <stdbool.h>
#include <stddef.h>

struct sh_paho {
	void *handle;
	int (*create)(MQTTAsync *handle, const char *server_uri, const char *client_id,
		      int persistence_type, void *persistence_context,
		      MQTTAsync_createOptions *options);
	int (*set_callbacks)(MQTTAsync handle, void *context, MQTTAsync_connectionLost *cl,
			     MQTTAsync_messageArrived *ma, MQTTAsync_deliveryComplete *dc);
	int (*connect)(MQTTAsync handle, const MQTTAsync_connectOptions *options);
	int (*disconnect)(MQTTAsync handle, const MQTTAsync_disconnectOptions *options);
	int (*send)(MQTTAsync handle, const char *topic, int payloadlen, const void *payload,
		    int qos, int retained, MQTTAsync_responseOptions *response);
	int (*send_message)(MQTTAsync handle, const char *topic, const MQTTAsync_message *msg,
			    MQTTAsync_responseOptions *response);
	int (*subscribe_many)(MQTTAsync handle, int count, char *const *topic, const int *qos,
			      MQTTAsync_responseOptions *response);
	int (*unsubscribe)(MQTTAsync handle, const char *topic,
			   MQTTAsync_responseOptions *response);
	int (*wait_for_completion)(MQTTAsync handle, MQTTAsync_token token, unsigned long timeout);
	void (*destroy)(MQTTAsync *handle);
	void (*free_message)(MQTTAsync_message **msg);
	void (*free)(void *ptr);
	const char *(*strerror)(int code);
	/* MQTT 5 properties (MQTTProperties.h): the connect's, a response's,
	 * and a request's read back. */
	int (*properties_add)(MQTTProperties *props, const MQTTProperty *prop);
	void (*properties_free)(MQTTProperties *props);
	MQTTProperty *(*properties_get)(MQTTProperties *props, enum MQTTPropertyCodes id);
};

/* Opens the plain (tls false) or the TLS library. 0, or -ELIBACC with a
 * sentence in `reason` naming the library and the Debian package. */
int sh_paho_open(struct sh_paho *paho, bool tls, char *reason, size_t reason_len);
/* Unloads; the client must be destroyed first. Accepts an unopened table. */
void sh_paho_close(struct sh_paho *paho);
/*
 * MQTTAsync_connect with every asynchronous signal blocked in the calling
 * thread for the duration of the call, so that the send and receive
 * threads Paho starts inside it inherit a mask that blocks them all.
 *
 * Why: Paho 1.3.12's receive thread notices that a TCP connect completed
 * only after a whole poll() for reading (up to 1 s) returns normally; a
 * signal handled on that thread makes poll() fail with EINTR and the
 * round is dropped. A signal on that thread at least once a second (libev's
 * SIGCHLD handler, with exec devices polling every second) therefore stalls
 * every connect until Paho's connect timeout ("TCP connect timeout"), for
 * as long as the signals come. The kernel gives a process signal to the
 * main thread when it can, so this was seen only under valgrind, which
 * hands it to whichever thread sits in a blocking system call. With the
 * mask, signals reach only the loop thread, whose libev handles them.
 */
int sh_paho_connect(const struct sh_paho *paho, MQTTAsync client,
		    const MQTTAsync_connectOptions *options);

#endif
