/* SPDX-License-Identifier: MIT */
/*
 * The Yeelight LAN protocol ("Yeelight WiFi Light Inter-Operation
 * Specification"), as pure functions: one JSON message per line, requests
 * {"id":N,"method":..,"params":[..]}, answers {"id":N,"result":[..]} or
 * {"id":N,"error":{"code":..,"message":..}}, and notifications
 * {"method":"props","params":{..}}; plus the unit conversions between the
 * bulb's values and smarthub's light properties. No I/O: the yeelight
 * driver, its unit tests and fuzz targets link this.
 */
#ifndef SMARTHUB_YL_PROTO_H
#define SMARTHUB_YL_PROTO_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Values kept from one result array (get_prop asks for five). */
#define YL_RESULT_MAX 8
/* Longest result value or error message kept; longer ones are cut. */
#define YL_TEXT_MAX 128
/* Longest request line we format, "\r\n" included. */
#define YL_REQUEST_MAX 256
/* Ids run 1..YL_ID_MAX and wrap; 0 is never used. */
#define YL_ID_MAX 0x7fffffffu

/* The bulb's colour temperature range, in kelvin. */
#define YL_CT_MIN 1700
#define YL_CT_MAX 6500
/* smarthub's color_temp range (a light's kind), in mireds. */
#define YL_MIREDS_MIN 153
#define YL_MIREDS_MAX 500

/* The properties the driver follows, each with a has_ flag. */
struct yl_props {
	bool has_power, has_bright, has_ct, has_rgb, has_color_mode;
	bool power;     /* on */
	int bright;     /* 1-100 (percent) */
	int ct;         /* kelvin */
	long rgb;       /* 0xRRGGBB */
	int color_mode; /* 1 rgb, 2 color temperature, 3 hsv */
};

enum yl_msg_type {
	YL_MSG_RESULT,
	YL_MSG_ERROR,
	YL_MSG_PROPS,
};

struct yl_message {
	enum yl_msg_type type;
	long long id; /* -1 when the message has none (notifications) */
	size_t n_result;
	char result[YL_RESULT_MAX][YL_TEXT_MAX]; /* numbers as text */
	int error_code;
	char error_message[YL_TEXT_MAX];
	struct yl_props props; /* for YL_MSG_PROPS */
};

/* Parses one line (without "\r\n"; need not be NUL-terminated). Returns 0,
 * or -EPROTO for anything that is not one of the three message shapes. */
int yl_parse_message(const char *buf, size_t len, struct yl_message *msg);

/* Reads a get_prop result asked for as
 * ["power","bright","ct","rgb","color_mode"]; empty or unknown values are
 * left out. Returns 0, or -EPROTO when the result is not such a list. */
int yl_props_from_get_prop(const struct yl_message *msg, struct yl_props *props);

/* The state patch for `props`: state, brightness (0-255), color_temp
 * (mireds), color {r,g,b}, color_mode. Caller owns; NULL without memory. */
cJSON *yl_props_to_state(const struct yl_props *props);

/* Whether an error answer is the bulb's rate limit ("client quota
 * exceeded"). */
bool yl_error_is_quota(const struct yl_message *msg);

/* Formats {"id":id,"method":method,"params":params_json}\r\n into buf.
 * Returns its length, or -ENOBUFS. */
int yl_format_request(char *buf, size_t size, uint32_t id, const char *method,
		      const char *params_json);

/* The request id after `last`: 1..YL_ID_MAX, wrapping to 1. */
uint32_t yl_id_next(uint32_t last);

/* Conversions. Brightness: smarthub's 0-255 to the bulb's 1-100 (only for
 * b > 0; 0 means off) and back. Colour temperature: mireds to kelvin,
 * clamped to the bulb's range, and back,
 * clamped to smarthub's. */
int yl_bright_from_255(int b);
int yl_bright_to_255(int percent);
int yl_kelvin_from_mireds(int mireds);
int yl_mireds_from_kelvin(int kelvin);

#endif
