/* SPDX-License-Identifier: MIT */
/*
 * The Shelly HTTP APIs as pure functions: the device's identity from
 * GET /shelly (Gen2+ says "gen": 2 or more, Gen1 has no "gen"), a Gen1
 * relay's state from GET /status or /relay/<ch>
 * (shelly-api-docs.shelly.cloud/gen1), and a Gen2+ switch's from the RPC
 * Switch.GetStatus (shelly-api-docs.shelly.cloud/gen2); plus the request
 * paths a switch command becomes. No I/O: the shelly driver, its unit
 * tests and the fuzz target link this.
 */
#ifndef SMARTHUB_SHELLY_PROTO_H
#define SMARTHUB_SHELLY_PROTO_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define SHELLY_TEXT_MAX 64
/* Channels a device may have (the Shelly Pro 4PM has four). */
#define SHELLY_CHANNEL_MAX 15
/* Longest request path we build. */
#define SHELLY_PATH_MAX 64

struct shelly_info {
	int gen;   /* 1, 2, 3, ... */
	bool auth; /* the device asks for a password */
	char model[SHELLY_TEXT_MAX];
	char version[SHELLY_TEXT_MAX];
};

/* One switch channel; the has_ flags say what the device reported. */
struct shelly_switch {
	bool on;
	bool has_power, has_voltage, has_current, has_energy;
	double power;   /* W */
	double voltage; /* V */
	double current; /* A */
	double energy;  /* kWh */
};

/* GET /shelly. 0, or -EINVAL when it is not a Shelly's answer. */
int shelly_parse_info(const char *json, size_t len, struct shelly_info *out);
/* Gen1 GET /status: relays[ch] and meters[ch] (emeters[ch] on the EM
 * models). 0, or -EINVAL when relays[ch].ison is not a boolean. */
int shelly_parse_gen1_status(const char *json, size_t len, unsigned ch, struct shelly_switch *out);
/* Gen1 GET /relay/<ch>[?turn=..]: {"ison":..}. 0 or -EINVAL. */
int shelly_parse_gen1_relay(const char *json, size_t len, struct shelly_switch *out);
/* Gen2+ Switch.GetStatus: "output", "apower", "voltage", "current",
 * "aenergy.total" (Wh). 0 or -EINVAL. */
int shelly_parse_gen2_status(const char *json, size_t len, struct shelly_switch *out);
/* A Gen2+ RPC error answer {"code":..,"message":..}: copies the message
 * and returns 0, or -EINVAL when the body is not one. */
int shelly_parse_gen2_error(const char *json, size_t len, char *msg, size_t size);

/* smarthub's switch state: {"state","power","voltage","current",
 * "energy"} with what the device reported. Caller frees; NULL on ENOMEM. */
cJSON *shelly_switch_to_patch(const struct shelly_switch *s);

/* The paths of a switch command (`on`: "ON", "OFF" or "TOGGLE", already
 * validated) and of a status read, for generation `gen` and channel `ch`.
 * 0, or -EINVAL for anything else. */
int shelly_command_path(int gen, unsigned ch, const char *on, char *out, size_t size);
int shelly_status_path(int gen, unsigned ch, char *out, size_t size);

#endif
