/* SPDX-License-Identifier: MIT */
/*
 * Hue link-button pairing (see hue_pair.h): blocking libcurl easy calls,
 * made only by the one-shot `smarthubd --hue-pair`.
 */
#include "hue_pair.h"
#include "hue_proto.h"

#include <curl/curl.h>
#include <errno.h>
#include <smarthub/plugin.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HUE_PAIR_BODY_MAX (64 * 1024)
/* The bridge keeps at most 19 characters of the device part. */
#define HUE_PAIR_DEVICE_MAX 19

struct pair_buf {
	char data[HUE_PAIR_BODY_MAX + 1];
	size_t len;
};

static size_t pair_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct pair_buf *b = userp;
	size_t n = size * nmemb;
	if (n > HUE_PAIR_BODY_MAX - b->len)
		return 0;
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* One POST /api; 0 with the key, -EAGAIN (button), or -EIO (said in err). */
static int pair_once(CURL *e, const char *url, const char *body, struct pair_buf *b, char *key,
		     size_t key_size, FILE *err)
{
	char errbuf[CURL_ERROR_SIZE] = "", msg[256];

	b->len = 0;
	b->data[0] = '\0';
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, pair_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, b);
	CURLcode code = curl_easy_perform(e);
	if (code != CURLE_OK) {
		fprintf(err, "smarthubd: hue pairing: %s\n",
			errbuf[0] ? errbuf : curl_easy_strerror(code));
		return -EIO;
	}
	long status = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	int r = hue_parse_pairing(b->data, b->len, key, key_size, msg, sizeof(msg));
	if (r == -EINVAL)
		fprintf(err, "smarthubd: hue pairing: HTTP %ld: %s\n", status,
			msg[0] ? msg : "unexpected answer");
	return r == -EINVAL ? -EIO : r;
}

SH_DRIVER_EXPORT int sh_hue_pair(const char *host, const char *ca_file, const char *bridge_id,
				 FILE *out, FILE *err)
{
	char name[64] = "hub", url[512], body[256], key[256];
	struct curl_slist *headers = NULL, *connect_to = NULL;
	struct pair_buf *b = calloc(1, sizeof(*b));
	int status = 1;

	if (!b || strpbrk(host, "/?#@ ") || (bridge_id && strpbrk(bridge_id, "/?#@ :"))) {
		fprintf(err, "smarthubd: --hue-pair: '%s' is not a host[:port]\n", host);
		free(b);
		return 1;
	}
	if (gethostname(name, sizeof(name)) != 0)
		snprintf(name, sizeof(name), "hub");
	name[HUE_PAIR_DEVICE_MAX] = '\0';
	for (char *p = name; *p; p++) /* only what needs no escaping in JSON */
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			*p = '-';
	snprintf(body, sizeof(body), "{\"devicetype\":\"smarthub#%s\",\"generateclientkey\":true}",
		 name);
	if (bridge_id) {
		/* Connect to host but verify the certificate against the id. */
		const char *colon = strrchr(host, ':');
		const char *port = colon && !strchr(colon, ']') ? colon + 1 : "443";
		char to[512];
		snprintf(to, sizeof(to), "%s:%s:%.*s:%s", bridge_id, port,
			 colon ? (int)(colon - host) : (int)strlen(host), host, port);
		connect_to = curl_slist_append(NULL, to);
		snprintf(url, sizeof(url), "https://%s:%s/api", bridge_id, port);
	} else {
		snprintf(url, sizeof(url), "https://%s/api", host);
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		free(b);
		return 1;
	}
	CURL *e = curl_easy_init();
	headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (!e || !headers || (bridge_id && !connect_to))
		goto out;
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
	if (ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, ca_file);
	if (connect_to)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, connect_to);
	bool told = false;
	for (int waited = 0;; waited += SH_HUE_PAIR_RETRY_S) {
		int r = pair_once(e, url, body, b, key, sizeof(key), err);
		if (r == 0) {
			fprintf(out, "%s\n", key);
			fflush(out);
			fprintf(err,
				"smarthubd: paired; put the key above in secrets.yaml "
				"(e.g. hue_key: <key>) and use application_key: !secret hue_key\n");
			status = 0;
			break;
		}
		if (r != -EAGAIN)
			break;
		if (waited >= SH_HUE_PAIR_WAIT_S) {
			fprintf(err, "smarthubd: the link button was not pressed within %d s\n",
				SH_HUE_PAIR_WAIT_S);
			status = 75;
			break;
		}
		if (!told) {
			fprintf(err,
				"smarthubd: press the link button on the bridge (waiting %d s)\n",
				SH_HUE_PAIR_WAIT_S);
			fflush(err);
			told = true;
		}
		sleep(SH_HUE_PAIR_RETRY_S);
	}
out:
	curl_slist_free_all(headers);
	curl_slist_free_all(connect_to);
	if (e)
		curl_easy_cleanup(e);
	curl_global_cleanup();
	memset(key, 0, sizeof(key));
	free(b);
	return status;
}
