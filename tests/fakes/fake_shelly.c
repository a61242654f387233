/* SPDX-License-Identifier: MIT */
/* The fake Shelly (see fake_shelly.h); included by its test. */
#include "fake_shelly.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FS_DEVICE_ID "shellyplus1pm-a8032ab12345"

struct fake_shelly {
	struct fake_http *http;
	int gen;
	char password[64];
	bool auth;
	unsigned nonce;
	struct fake_shelly_state st; /* under the server's lock */
};

static void fs_sha256_hex(const char *text, char out[65])
{
	unsigned char md[32];
	unsigned len = 0;
	EVP_Digest(text, strlen(text), md, &len, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

/* The value of `name` in a Digest header: name="v" or name=v. */
static bool fs_param(const char *header, const char *name, char *out, size_t size)
{
	size_t n = strlen(name);
	for (const char *p = header; (p = strstr(p, name)) != NULL; p += n) {
		if ((p != header && p[-1] != ' ' && p[-1] != ',') || p[n] != '=')
			continue;
		const char *v = p + n + 1;
		bool quoted = *v == '"';
		if (quoted)
			v++;
		const char *end = quoted ? strchr(v, '"') : v + strcspn(v, ", ");
		if (!end)
			return false;
		size_t l = (size_t)(end - v);
		if (l >= size)
			return false;
		memcpy(out, v, l);
		out[l] = '\0';
		return true;
	}
	return false;
}

static void fs_challenge(struct fake_shelly *s, struct fake_http_resp *resp, bool stale)
{
	s->st.challenges++;
	resp->status = 401;
	if (s->gen == 1) {
		snprintf(resp->headers, sizeof(resp->headers),
			 "WWW-Authenticate: Basic realm=\"%s\"\r\n", "shelly1pm-123456");
		resp->body = strdup("401 Unauthorized");
		return;
	}
	snprintf(resp->headers, sizeof(resp->headers),
		 "WWW-Authenticate: Digest qop=\"auth\", realm=\"%s\", nonce=\"%08x\", "
		 "algorithm=SHA-256%s\r\n",
		 FS_DEVICE_ID, s->nonce, stale ? ", stale=true" : "");
	resp->body = strdup("{\"code\":401,\"message\":\"unauthorized\"}");
}

/* Whether the request carries the right credentials. */
static bool fs_authorized(struct fake_shelly *s, const struct fake_http_req *req, bool *stale)
{
	*stale = false;
	if (s->gen == 1) {
		char plain[128], expect[256];
		snprintf(plain, sizeof(plain), "admin:%s", s->password);
		unsigned char b64[200];
		EVP_EncodeBlock(b64, (const unsigned char *)plain, (int)strlen(plain));
		snprintf(expect, sizeof(expect), "Basic %s", b64);
		return strcmp(req->authorization, expect) == 0;
	}
	char user[64], realm[128], nonce[64], uri[1024], response[128], qop[16], nc[16],
		cnonce[128], algo[32];
	const char *h = req->authorization;
	if (strncmp(h, "Digest ", 7) != 0 || !fs_param(h, "username", user, sizeof(user)) ||
	    !fs_param(h, "realm", realm, sizeof(realm)) ||
	    !fs_param(h, "nonce", nonce, sizeof(nonce)) || !fs_param(h, "uri", uri, sizeof(uri)) ||
	    !fs_param(h, "response", response, sizeof(response)) ||
	    !fs_param(h, "qop", qop, sizeof(qop)) || !fs_param(h, "nc", nc, sizeof(nc)) ||
	    !fs_param(h, "cnonce", cnonce, sizeof(cnonce)) ||
	    !fs_param(h, "algorithm", algo, sizeof(algo)))
		return false;
	if (strcmp(user, "admin") != 0 || strcmp(realm, FS_DEVICE_ID) != 0 ||
	    strcmp(algo, "SHA-256") != 0 || strcmp(uri, req->path) != 0)
		return false;
	char cur[16];
	snprintf(cur, sizeof(cur), "%08x", s->nonce);
	if (strcmp(nonce, cur) != 0) {
		*stale = true;
		return false;
	}
	char buf[2048], ha1[65], ha2[65], want[65];
	snprintf(buf, sizeof(buf), "admin:%s:%s", FS_DEVICE_ID, s->password);
	fs_sha256_hex(buf, ha1);
	snprintf(buf, sizeof(buf), "%s:%s", req->method, uri);
	fs_sha256_hex(buf, ha2);
	snprintf(buf, sizeof(buf), "%s:%s:%s:%s:%s:%s", ha1, nonce, nc, cnonce, qop, ha2);
	fs_sha256_hex(buf, want);
	return strcmp(want, response) == 0;
}

static char *fs_print(cJSON *j)
{
	char *t = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return t;
}

static cJSON *fs_gen2_status(struct fake_shelly *s, unsigned ch)
{
	cJSON *st = cJSON_CreateObject();
	cJSON_AddNumberToObject(st, "id", ch);
	cJSON_AddStringToObject(st, "source", "HTTP_in");
	cJSON_AddBoolToObject(st, "output", s->st.on[ch]);
	cJSON_AddNumberToObject(st, "apower", ch == 0 && s->st.on[0] ? s->st.power : 0);
	cJSON_AddNumberToObject(st, "voltage", s->st.voltage);
	cJSON_AddNumberToObject(st, "current", ch == 0 && s->st.on[0] ? s->st.power / 230.0 : 0);
	cJSON *ae = cJSON_AddObjectToObject(st, "aenergy");
	cJSON_AddNumberToObject(ae, "total", ch == 0 ? s->st.energy_wh : 0);
	cJSON_AddItemToObject(ae, "by_minute", cJSON_CreateArray());
	cJSON *t = cJSON_AddObjectToObject(st, "temperature");
	cJSON_AddNumberToObject(t, "tC", 41.5);
	return st;
}

static cJSON *fs_gen1_status(struct fake_shelly *s)
{
	cJSON *st = cJSON_CreateObject();
	cJSON *relays = cJSON_AddArrayToObject(st, "relays");
	cJSON *meters = cJSON_AddArrayToObject(st, "meters");
	for (unsigned ch = 0; ch < FAKE_SHELLY_CHANNELS; ch++) {
		cJSON *r = cJSON_CreateObject();
		cJSON_AddBoolToObject(r, "ison", s->st.on[ch]);
		cJSON_AddBoolToObject(r, "has_timer", false);
		cJSON_AddItemToArray(relays, r);
		cJSON *m = cJSON_CreateObject();
		cJSON_AddNumberToObject(m, "power", ch == 0 && s->st.on[0] ? s->st.power : 0);
		cJSON_AddBoolToObject(m, "is_valid", true);
		/* watt-minutes */
		cJSON_AddNumberToObject(m, "total", ch == 0 ? s->st.energy_wh * 60.0 : 0);
		cJSON_AddItemToArray(meters, m);
	}
	cJSON_AddNumberToObject(st, "voltage", s->st.voltage);
	cJSON_AddBoolToObject(st, "has_update", false);
	return st;
}

static bool fs_query_uint(const char *path, const char *key, unsigned *out)
{
	const char *q = strchr(path, '?');
	size_t n = strlen(key);
	for (const char *p = q; p && *p; p = strchr(p + 1, '&')) {
		if (strncmp(p + 1, key, n) == 0 && p[1 + n] == '=') {
			char *end;
			unsigned long v = strtoul(p + 2 + n, &end, 10);
			if (end == p + 2 + n || (*end && *end != '&'))
				return false;
			*out = (unsigned)v;
			return true;
		}
	}
	return false;
}

static void fs_rpc_error(struct fake_http_resp *resp, int code, const char *msg)
{
	resp->status = code == -103 ? 400 : 500;
	resp->body = malloc(256);
	snprintf(resp->body, 256, "{\"code\":%d,\"message\":\"%s\"}", code, msg);
}

static void fs_gen2(struct fake_shelly *s, const struct fake_http_req *req,
		    struct fake_http_resp *resp)
{
	unsigned id = 0;
	bool has_id = fs_query_uint(req->path, "id", &id);
	if (strncmp(req->path, "/rpc/Switch.", 12) == 0 &&
	    (!has_id || id >= FAKE_SHELLY_CHANNELS)) {
		fs_rpc_error(resp, -105, "Argument 'id', value not found!");
		return;
	}
	if (strncmp(req->path, "/rpc/Switch.GetStatus?", 22) == 0) {
		resp->body = fs_print(fs_gen2_status(s, id));
	} else if (strncmp(req->path, "/rpc/Switch.Set?", 16) == 0) {
		const char *on = strstr(req->path, "&on=");
		if (!on || (strcmp(on + 4, "true") != 0 && strcmp(on + 4, "false") != 0)) {
			fs_rpc_error(resp, -103, "Invalid argument 'on'!");
			return;
		}
		bool was = s->st.on[id];
		s->st.on[id] = strcmp(on + 4, "true") == 0;
		s->st.commands++;
		resp->body = strdup(was ? "{\"was_on\":true}" : "{\"was_on\":false}");
	} else if (strncmp(req->path, "/rpc/Switch.Toggle?", 19) == 0) {
		bool was = s->st.on[id];
		s->st.on[id] = !was;
		s->st.commands++;
		resp->body = strdup(was ? "{\"was_on\":true}" : "{\"was_on\":false}");
	} else {
		resp->status = 404;
		resp->body = strdup("{\"code\":404,\"message\":\"No handler for the method\"}");
	}
}

static void fs_gen1(struct fake_shelly *s, const struct fake_http_req *req,
		    struct fake_http_resp *resp)
{
	unsigned ch = 0;
	if (strcmp(req->path, "/status") == 0) {
		resp->body = fs_print(fs_gen1_status(s));
	} else if (sscanf(req->path, "/relay/%u", &ch) == 1 && ch < FAKE_SHELLY_CHANNELS) {
		const char *turn = strstr(req->path, "?turn=");
		if (turn) {
			turn += 6;
			if (strcmp(turn, "on") == 0)
				s->st.on[ch] = true;
			else if (strcmp(turn, "off") == 0)
				s->st.on[ch] = false;
			else if (strcmp(turn, "toggle") == 0)
				s->st.on[ch] = !s->st.on[ch];
			else {
				resp->status = 400;
				resp->body = strdup("Bad turn!");
				return;
			}
			s->st.commands++;
		}
		cJSON *r = cJSON_CreateObject();
		cJSON_AddBoolToObject(r, "ison", s->st.on[ch]);
		cJSON_AddBoolToObject(r, "has_timer", false);
		cJSON_AddStringToObject(r, "source", "http");
		resp->body = fs_print(r);
	} else {
		resp->status = 404;
		resp->body = strdup("Not Found");
	}
}

static void fs_handle(void *ctx, const struct fake_http_req *req, struct fake_http_resp *resp)
{
	struct fake_shelly *s = ctx;

	snprintf(s->st.last_path, sizeof(s->st.last_path), "%s", req->path);
	if (strcmp(req->path, "/shelly") == 0) {
		/* Open to everyone, as on the real devices. */
		cJSON *j = cJSON_CreateObject();
		if (s->gen == 1) {
			cJSON_AddStringToObject(j, "type", "SHSW-PM");
			cJSON_AddStringToObject(j, "mac", "A8032AB12345");
			cJSON_AddBoolToObject(j, "auth", s->auth);
			cJSON_AddStringToObject(j, "fw", "20230913-112003/v1.14.0-gcb84623");
			cJSON_AddNumberToObject(j, "num_outputs", 1);
		} else {
			cJSON_AddNullToObject(j, "name");
			cJSON_AddStringToObject(j, "id", FS_DEVICE_ID);
			cJSON_AddStringToObject(j, "mac", "A8032AB12345");
			cJSON_AddStringToObject(j, "model", "SNSW-001P16EU");
			cJSON_AddNumberToObject(j, "gen", s->gen);
			cJSON_AddStringToObject(j, "fw_id", "20231107-164738/1.0.8-g8c7bb8d");
			cJSON_AddStringToObject(j, "ver", "1.0.8");
			cJSON_AddStringToObject(j, "app", "Plus1PM");
			cJSON_AddBoolToObject(j, "auth_en", s->auth);
			cJSON_AddStringToObject(j, "auth_domain", FS_DEVICE_ID);
		}
		resp->body = fs_print(j);
		return;
	}
	if (s->auth) {
		bool stale = false;
		if (!fs_authorized(s, req, &stale)) {
			if (req->authorization[0] && !stale)
				s->st.auth_refused++;
			fs_challenge(s, resp, stale);
			return;
		}
		s->st.auth_ok++;
	}
	if (s->gen == 1)
		fs_gen1(s, req, resp);
	else
		fs_gen2(s, req, resp);
}

struct fake_shelly *fake_shelly_start(int gen, const char *password)
{
	struct fake_shelly *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->gen = gen;
	s->auth = password != NULL;
	snprintf(s->password, sizeof(s->password), "%s", password ? password : "");
	s->nonce = 0x5eed0001u;
	s->st.power = 0;
	s->st.voltage = 230.1;
	s->st.energy_wh = 1234.5;
	s->http = fake_http_start(fs_handle, s, NULL, NULL);
	if (!s->http) {
		free(s);
		return NULL;
	}
	return s;
}

struct fake_http *fake_shelly_http(struct fake_shelly *s)
{
	return s->http;
}

void fake_shelly_set(struct fake_shelly *s, unsigned ch, bool on, double power)
{
	fake_http_lock(s->http);
	s->st.on[ch] = on;
	s->st.power = power;
	fake_http_unlock(s->http);
}

void fake_shelly_new_nonce(struct fake_shelly *s)
{
	fake_http_lock(s->http);
	s->nonce++;
	fake_http_unlock(s->http);
}

void fake_shelly_get(struct fake_shelly *s, struct fake_shelly_state *out)
{
	fake_http_lock(s->http);
	*out = s->st;
	fake_http_unlock(s->http);
}

/* fake_shelly_wait's predicate on the state, under the lock. */
struct shelly_wait {
	struct fake_shelly *s;
	bool (*pred)(const struct fake_shelly_state *, void *);
	void *arg;
};

static bool shelly_state_holds(void *arg)
{
	const struct shelly_wait *wait = arg;
	return wait->pred(&wait->s->st, wait->arg);
}

bool fake_shelly_wait(struct fake_shelly *s, bool (*pred)(const struct fake_shelly_state *, void *),
		      void *arg, int timeout_ms)
{
	struct shelly_wait wait = {s, pred, arg};
	return fake_http_wait(s->http, shelly_state_holds, &wait, timeout_ms);
}

void fake_shelly_stop(struct fake_shelly *s)
{
	if (!s)
		return;
	fake_http_stop(s->http);
	free(s);
}
