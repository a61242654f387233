// SPDX-License-Identifier: MIT
/*
 * Home Assistant's table of sensor device classes and the units each
 * accepts, written from homeassistant/components/sensor/const.py
 * (DEVICE_CLASS_UNITS) and the UnitOf* enums of homeassistant/const.py.
 * HA's MQTT sensor refuses an entity whose unit does not fit its device
 * class, so the configuration is checked against this at load time.
 */
#include "kinds/kind.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* "" in a list means "no unit" is accepted; ANY_UNIT, that any is. */
#define ANY_UNIT "*"

#define PRESSURE "Pa", "hPa", "kPa", "bar", "cbar", "mbar", "mmHg", "inHg", "inH₂O", "psi"
#define ENERGY                                                                                     \
	"J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "cal", "kcal", "Mcal",     \
		"Gcal"
#define FLUX "in/d", "in/h", "mm/d", "mm/h"
#define SPEED "Beaufort", "ft/s", "in/s", "km/h", "kn", "m/s", "mph", "mm/s"
#define VOLUME "L", "mL", "gal", "fl. oz.", "m³", "ft³", "CCF", "MCF"
#define UG_M3 "µg/m³"
#define TEMPERATURE "°C", "°F", "K"

struct unit_class {
	const char *device_class;
	const char *units[24];
};

static const struct unit_class classes[] = {
	{"apparent_power", {"mVA", "VA", "kVA"}},
	{"aqi", {""}},
	{"area", {"m²", "cm²", "km²", "mm²", "in²", "ft²", "yd²", "mi²", "ac", "ha"}},
	{"atmospheric_pressure", {PRESSURE}},
	{"battery", {"%"}},
	{"blood_glucose_concentration", {"mg/dL", "mmol/L"}},
	{"carbon_monoxide", {"ppm", "mg/m³", UG_M3}},
	{"carbon_dioxide", {"ppm"}},
	{"conductivity", {"S/cm", "mS/cm", "µS/cm"}},
	{"current", {"A", "mA"}},
	{"data_rate",
	 {"bit/s", "kbit/s", "Mbit/s", "Gbit/s", "B/s", "kB/s", "MB/s", "GB/s", "KiB/s", "MiB/s",
	  "GiB/s"}},
	{"data_size", {"bit", "kbit", "Mbit", "Gbit", "B",   "kB",  "MB",  "GB",  "TB",  "PB", "EB",
		       "ZB",  "YB",   "KiB",  "MiB",  "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"}},
	{"date", {""}},
	{"distance", {"km", "m", "cm", "mm", "mi", "nmi", "yd", "ft", "in"}},
	{"duration", {"d", "h", "min", "s", "ms", "µs"}},
	{"energy", {ENERGY}},
	{"energy_distance", {"kWh/100km", "Wh/km", "mi/kWh", "km/kWh"}},
	{"energy_storage", {ENERGY}},
	{"enum", {""}},
	{"frequency", {"Hz", "kHz", "MHz", "GHz"}},
	{"gas", {"m³", "ft³", "CCF", "MCF", "L"}},
	{"humidity", {"%"}},
	{"illuminance", {"lx"}},
	{"irradiance", {"W/m²", "BTU/(h⋅ft²)"}},
	{"moisture", {"%"}},
	{"monetary", {ANY_UNIT}},
	{"nitrogen_dioxide", {UG_M3, "ppb", "ppm"}},
	{"nitrogen_monoxide", {UG_M3, "ppb"}},
	{"nitrous_oxide", {UG_M3}},
	{"ozone", {UG_M3, "ppb", "ppm"}},
	{"ph", {""}},
	{"pm1", {UG_M3}},
	{"pm10", {UG_M3}},
	{"pm25", {UG_M3}},
	{"pm4", {UG_M3}},
	{"power_factor", {"%", ""}},
	{"power", {"mW", "W", "kW", "MW", "GW", "TW", "BTU/h"}},
	{"precipitation", {"cm", "in", "mm"}},
	{"precipitation_intensity", {FLUX}},
	{"pressure", {PRESSURE}},
	{"reactive_energy", {"varh", "kvarh"}},
	{"reactive_power", {"mvar", "var", "kvar"}},
	{"signal_strength", {"dB", "dBm"}},
	{"sound_pressure", {"dB", "dBA"}},
	{"speed", {SPEED, FLUX}},
	{"sulphur_dioxide", {UG_M3, "ppb"}},
	{"temperature", {TEMPERATURE}},
	{"temperature_delta", {TEMPERATURE}},
	{"timestamp", {""}},
	{"volatile_organic_compounds", {UG_M3, "mg/m³"}},
	{"volatile_organic_compounds_parts", {"ppb", "ppm"}},
	{"voltage", {"µV", "mV", "V", "kV", "MV"}},
	{"volume", {VOLUME}},
	{"volume_flow_rate",
	 {"m³/h", "m³/min", "m³/s", "ft³/min", "L/h", "L/min", "L/s", "gal/h", "gal/min", "gal/d",
	  "mL/s"}},
	{"volume_storage", {VOLUME}},
	{"water", {"L", "gal", "m³", "ft³", "CCF", "MCF"}},
	{"weight", {"kg", "g", "mg", "µg", "oz", "lb", "st"}},
	{"wind_direction", {"°"}},
	{"wind_speed", {SPEED}},
};

/* homeassistant/components/binary_sensor/__init__.py, BinarySensorDeviceClass */
static const char *const binary_classes[] = {
	"battery",
	"battery_charging",
	"carbon_monoxide",
	"cold",
	"connectivity",
	"door",
	"garage_door",
	"gas",
	"heat",
	"light",
	"lock",
	"moisture",
	"motion",
	"moving",
	"occupancy",
	"opening",
	"plug",
	"power",
	"presence",
	"problem",
	"running",
	"safety",
	"smoke",
	"sound",
	"tamper",
	"update",
	"vibration",
	"window",
};

bool sh_kind_binary_sensor_class(const char *device_class)
{
	for (size_t i = 0; device_class && i < ARRAY_LEN(binary_classes); i++)
		if (strcmp(binary_classes[i], device_class) == 0)
			return true;
	return false;
}

int sh_kind_sensor_unit_check(const char *device_class, const char *unit, char *units,
			      size_t units_len)
{
	const struct unit_class *c = NULL;

	for (size_t i = 0; i < ARRAY_LEN(classes); i++)
		if (strcmp(classes[i].device_class, device_class) == 0)
			c = &classes[i];
	if (!c)
		return -ENOENT;
	if (!unit)
		unit = "";
	size_t off = 0;
	if (units_len)
		units[0] = '\0';
	for (size_t i = 0; i < ARRAY_LEN(c->units) && c->units[i]; i++) {
		if (strcmp(c->units[i], ANY_UNIT) == 0 || strcmp(c->units[i], unit) == 0)
			return 0;
		if (off < units_len)
			off += (size_t)snprintf(units + off, units_len - off, "%s%s",
						off ? ", " : "",
						c->units[i][0] ? c->units[i] : "(none)");
	}
	return -EINVAL;
}
