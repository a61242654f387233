/* SPDX-License-Identifier: MIT */
/*
 * Device kinds and the properties a command may carry for each, so that a
 * command is checked once, here, before any driver sees it. The tables
 * (kind_tables.c, one per kind; docs/kinds.md shows them) follow
 * Zigbee2MQTT's and Home Assistant's vocabularies:
 *
 *   light:   state ON/OFF/TOGGLE, brightness 0-255, color_temp 153-500
 *            (mireds), color {r,g,b} 0-255 each, transition 0-6553 (s),
 *            flash (s)
 *   switch:  state ON/OFF/TOGGLE
 *   speaker: state ON/OFF/TOGGLE, volume 0-100 (rounded), play (string, or
 *            true to resume),
 *            pause, stop, next, previous (true), mute (bool)
 *   sensor:  no commands
 *   cover:   state OPEN/CLOSE/STOP, position 0-100 (100 = open), tilt 0-100
 *   lock:    state LOCK/UNLOCK
 *   climate: mode (from the device's `modes`), target_temperature (within
 *            min_temp..max_temp, in temperature_step steps)
 *   fan:     state ON/OFF/TOGGLE, percentage 0-100, preset (from `presets`)
 *   button:  no commands; its presses are events of its `event_types`
 *   custom:  the properties its configuration declares
 *
 * Some kinds are completed by options of the device (struct sh_kind_spec,
 * filled by the configuration loader): the property tables then take
 * their ranges and values from it.
 *
 * Enumerated values are accepted in any case ("on", "Open") and written
 * back in the table's spelling by sh_kind_normalize(), which also resolves
 * TOGGLE against the device's current state and rounds properties that
 * say so, before the command is queued.
 */
#ifndef SMARTHUB_KIND_H
#define SMARTHUB_KIND_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Bounds of what a device's configuration may declare. */
#define SH_KIND_PROPS_MAX 32  /* properties of a custom device */
#define SH_KIND_VALUES_MAX 32 /* values of one enum, modes, presets, event_types */

bool sh_kind_known(const char *kind);
/* "light", "switch", "speaker", "sensor", "cover", "lock", "climate", "fan",
 * "button", "custom", NULL-terminated. */
extern const char *const sh_kinds[];
/* Switch-like kinds accept the plain payloads ON, OFF and TOGGLE. */
bool sh_kind_switch_like(const char *kind);

enum sh_prop_type {
	SH_PROP_ENUM,    /* one of `values` (any case) */
	SH_PROP_NUMBER,  /* a number within [min, max], a multiple of step from min when step > 0 */
	SH_PROP_INTEGER, /* an integral number within [min, max] (rounded first if `round`) */
	SH_PROP_STRING,  /* a non-empty string (or true when `round`: speaker's play resumes) */
	SH_PROP_ACTION,  /* a momentary action: true (false is accepted and does nothing) */
	SH_PROP_BOOL,
	SH_PROP_COLOR, /* {"r","g","b"} each 0..255 */
};

/* One property a command may carry. Strings are borrowed (static tables,
 * or the configuration that declared them). */
struct sh_kind_prop {
	const char *name;
	enum sh_prop_type type;
	double min, max, step;
	const char *const *values; /* ENUM: NULL-terminated */
	const char *unit;          /* NUMBER/INTEGER of a custom device; may be NULL */
	bool round;                /* INTEGER: a fractional number is accepted and rounded */
};

/*
 * What a device's configuration adds to its kind. Plain data; the arrays
 * and strings are borrowed from whoever filled it (the configuration),
 * and every list is NULL-terminated. sh_kind_spec_init() sets the
 * defaults a device without these options gets.
 */
struct sh_kind_spec {
	const char *kind;
	const char *const *modes;         /* climate; default off, heat, cool, auto, fan_only */
	const char *const *presets;       /* fan; default none */
	double min_temp, max_temp;        /* climate; default 7 .. 35 */
	double temperature_step;          /* climate; default 0.5 */
	const char *const *event_types;   /* button; default single, double, hold */
	const struct sh_kind_prop *props; /* custom: the declared properties */
	size_t n_props;
};

/* The defaults of `kind` (borrowed; may be unknown or NULL). */
void sh_kind_spec_init(struct sh_kind_spec *spec, const char *kind);
/* True when a device of `spec` may report event `type`: a button only
 * its event_types, other kinds anything. */
bool sh_kind_event_declared(const struct sh_kind_spec *spec, const char *type);
/* The climate modes, fan presets... a kind knows at all: "off", "heat",
 * "cool", "auto", "fan_only", NULL-terminated. */
extern const char *const sh_kind_climate_modes[];

/*
 * The properties a command may carry for a device of `spec`: writes at most
 * `max` into `out` (custom devices have at most SH_KIND_PROPS_MAX; the
 * built-in kinds fewer than 10) and returns how many there are.
 */
size_t sh_kind_props(const struct sh_kind_spec *spec, struct sh_kind_prop *out, size_t max);

/*
 * Checks `command` (any JSON) for a device of `spec`. Returns 0, or
 * -EINVAL with a sentence in `reason` ("unknown property 'foo'",
 * "brightness must be a number from 0 to 255", ...).
 */
int sh_kind_check(const struct sh_kind_spec *spec, const cJSON *command, char *reason,
		  size_t reason_len);
/* sh_kind_check() with the defaults of `kind`. */
int sh_kind_validate(const char *kind, const cJSON *command, char *reason, size_t reason_len);

/* After a successful check: writes enumerated values in their canonical
 * spelling, resolves "state":"TOGGLE" by ON or OFF from `current` and
 * rounds what rounds. */
void sh_kind_normalize(const struct sh_kind_spec *spec, cJSON *command, const cJSON *current);
/* sh_kind_normalize() of the `state` property alone, for any kind. */
void sh_kind_resolve_toggle(cJSON *command, const cJSON *current);

/*
 * Whether a newer command may replace the values of `command` (already
 * checked) for a device of `spec`: true when every property sets a value
 * (state ON/OFF, brightness, color, volume, position...); false when one
 * is an action that happens each time it is sent (TOGGLE, STOP, play,
 * pause, next...).
 */
bool sh_kind_settable(const struct sh_kind_spec *spec, const cJSON *command);
/*
 * Merges the settable command `newer` into `older` (both checked, both
 * settable): each property of `newer` replaces the same one of `older`,
 * the others stay, and a light's color and color_temp exclude each other
 * (the newer one wins). Returns 0 or -ENOMEM (then `older` may hold part
 * of `newer`, still a valid command).
 */
int sh_kind_merge(const struct sh_kind_spec *spec, cJSON *older, const cJSON *newer);

/* The properties a command may carry for `spec`, as a JSON array of
 * {"name","type",("min","max"|"values")}, for bridge/devices. Caller owns. */
cJSON *sh_kind_spec_properties_json(const struct sh_kind_spec *spec);
/* The same with the defaults of `kind`. */
cJSON *sh_kind_properties_json(const char *kind);

/*
 * Home Assistant's sensor device classes and the units each accepts
 * (homeassistant/components/sensor/const.py, DEVICE_CLASS_UNITS), for a
 * check at load time: HA drops a sensor whose unit does not fit.
 * Returns 0 when the pair is accepted, -ENOENT for an unknown device
 * class, -EINVAL for a unit the class does not take (then `units` gets
 * the accepted ones, comma-separated). `unit` may be NULL (none).
 */
int sh_kind_sensor_unit_check(const char *device_class, const char *unit, char *units,
			      size_t units_len);
/* True for a device class of HA's binary_sensor platform (motion, ...). */
bool sh_kind_binary_sensor_class(const char *device_class);

#endif
