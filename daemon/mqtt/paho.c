// SPDX-License-Identifier: MIT
/*
 * Loading Paho MQTTAsync with dlopen (see paho.h for why). The SONAMEs are
 * those of Debian's libpaho-mqtt1.3 package.
 */
#include "mqtt/paho.h"
#include "util/signals.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define PAHO_PLAIN_LIBRARY "libpaho-mqtt3a.so.1"
#define PAHO_TLS_LIBRARY "libpaho-mqtt3as.so.1"

/* Resolves one symbol into a table slot; false (and says which) if absent. */
static bool bind(void *handle, const char *name, void *slot, char *reason, size_t len)
{
	void *sym = dlsym(handle, name);
	if (!sym) {
		snprintf(reason, len, "Paho library has no %s", name);
		return false;
	}
	/* POSIX guarantees function pointers and void * convert both ways. */
	memcpy(slot, &sym, sizeof(sym));
	return true;
}

int sh_paho_open(struct sh_paho *paho, bool tls, char *reason, size_t reason_len)
{
	const char *library = tls ? PAHO_TLS_LIBRARY : PAHO_PLAIN_LIBRARY;
	memset(paho, 0, sizeof(*paho));
	paho->handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
	if (!paho->handle) {
		snprintf(reason, reason_len, "cannot load %s (apt-get install libpaho-mqtt1.3): %s",
			 library, dlerror());
		return -ELIBACC;
	}
	const struct {
		const char *name;
		void *slot;
	} symbols[] = {
		{"MQTTAsync_createWithOptions", &paho->create},
		{"MQTTAsync_setCallbacks", &paho->set_callbacks},
		{"MQTTAsync_connect", &paho->connect},
		{"MQTTAsync_disconnect", &paho->disconnect},
		{"MQTTAsync_send", &paho->send},
		{"MQTTAsync_sendMessage", &paho->send_message},
		{"MQTTAsync_subscribeMany", &paho->subscribe_many},
		{"MQTTAsync_unsubscribe", &paho->unsubscribe},
		{"MQTTAsync_waitForCompletion", &paho->wait_for_completion},
		{"MQTTAsync_destroy", &paho->destroy},
		{"MQTTAsync_freeMessage", &paho->free_message},
		{"MQTTAsync_free", &paho->free},
		{"MQTTAsync_strerror", &paho->strerror},
		{"MQTTProperties_add", &paho->properties_add},
		{"MQTTProperties_free", &paho->properties_free},
		{"MQTTProperties_getProperty", &paho->properties_get},
	};
	for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		if (!bind(paho->handle, symbols[i].name, symbols[i].slot, reason, reason_len)) {
			sh_paho_close(paho);
			return -ELIBACC;
		}
	}
	return 0;
}

void sh_paho_close(struct sh_paho *paho)
{
	if (paho->handle)
		dlclose(paho->handle);
	memset(paho, 0, sizeof(*paho));
}

int sh_paho_connect(const struct sh_paho *paho, MQTTAsync client,
		    const MQTTAsync_connectOptions *options)
{
	/* Paho starts its threads here: they inherit a mask that keeps the
	 * loop's signals off them (util/signals.h says why). */
	sigset_t old;
	sh_signals_block_async(&old);
	int rc = paho->connect(client, options);
	sh_signals_restore(&old);
	return rc;
}
