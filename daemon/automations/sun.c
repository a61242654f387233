/* SPDX-License-Identifier: MIT */
/*
 * NOAA's solar position equations (Meeus, as in NOAA's spreadsheet
 * "NOAA_Solar_Calculations_day.xls"). An event is computed twice: first
 * with the sun's position at solar noon, then again with the position at
 * the first estimate, which brings the error under a few seconds.
 */
#include "automations/sun.h"

#include <math.h>

#define DEG (M_PI / 180.0)
/* The sun's upper limb on the horizon, with standard refraction. */
#define ZENITH_EVENT 90.833

struct solar {
	double declination; /* degrees */
	double eq_time;     /* minutes */
};

static double julian_century(double unix_s)
{
	double jd = unix_s / 86400.0 + 2440587.5;
	return (jd - 2451545.0) / 36525.0;
}

static struct solar solar_at(double unix_s)
{
	double jc = julian_century(unix_s);
	double l0 = fmod(280.46646 + jc * (36000.76983 + jc * 0.0003032), 360.0);
	double m = 357.52911 + jc * (35999.05029 - 0.0001537 * jc);
	double e = 0.016708634 - jc * (0.000042037 + 0.0000001267 * jc);
	double c = sin(m * DEG) * (1.914602 - jc * (0.004817 + 0.000014 * jc)) +
		   sin(2 * m * DEG) * (0.019993 - 0.000101 * jc) + sin(3 * m * DEG) * 0.000289;
	double true_long = l0 + c;
	double omega = 125.04 - 1934.136 * jc;
	double app_long = true_long - 0.00569 - 0.00478 * sin(omega * DEG);
	double mean_obliq =
		23.0 +
		(26.0 + (21.448 - jc * (46.815 + jc * (0.00059 - jc * 0.001813))) / 60.0) / 60.0;
	double obliq = mean_obliq + 0.00256 * cos(omega * DEG);
	double y = tan(obliq / 2 * DEG);
	y *= y;
	struct solar s;
	s.declination = asin(sin(obliq * DEG) * sin(app_long * DEG)) / DEG;
	s.eq_time = 4.0 / DEG *
		    (y * sin(2 * l0 * DEG) - 2 * e * sin(m * DEG) +
		     4 * e * y * sin(m * DEG) * cos(2 * l0 * DEG) -
		     0.5 * y * y * sin(4 * l0 * DEG) - 1.25 * e * e * sin(2 * m * DEG));
	return s;
}

/* The hour angle of the event in degrees; NAN with *polar set when the
 * sun does not cross the horizon. */
static double hour_angle(double latitude, double declination, enum sh_sun_result *polar)
{
	double x = cos(ZENITH_EVENT * DEG) / (cos(latitude * DEG) * cos(declination * DEG)) -
		   tan(latitude * DEG) * tan(declination * DEG);
	if (x > 1.0) {
		*polar = SH_SUN_POLAR_NIGHT;
		return NAN;
	}
	if (x < -1.0) {
		*polar = SH_SUN_POLAR_DAY;
		return NAN;
	}
	return acos(x) / DEG;
}

enum sh_sun_result sh_sun_event(double latitude, double longitude, time_t day,
				enum sh_sun_event event, time_t *out)
{
	double midnight = floor((double)day / 86400.0) * 86400.0;
	double sign = event == SH_SUN_SUNRISE ? -1.0 : 1.0;
	enum sh_sun_result r = SH_SUN_OK;

	/* First estimate from the sun at (mean) solar noon. */
	double noon_guess = midnight + (720.0 - 4.0 * longitude) * 60.0;
	struct solar s = solar_at(noon_guess);
	double ha = hour_angle(latitude, s.declination, &r);
	if (r != SH_SUN_OK)
		return r;
	double t = midnight + (720.0 - 4.0 * longitude - s.eq_time + sign * 4.0 * ha) * 60.0;
	for (int i = 0; i < 2; i++) {
		s = solar_at(t);
		ha = hour_angle(latitude, s.declination, &r);
		if (r != SH_SUN_OK)
			return r;
		t = midnight + (720.0 - 4.0 * longitude - s.eq_time + sign * 4.0 * ha) * 60.0;
	}
	*out = (time_t)llround(t);
	return SH_SUN_OK;
}

double sh_sun_elevation(double latitude, double longitude, time_t t)
{
	struct solar s = solar_at((double)t);
	double minutes = fmod((double)t, 86400.0) / 60.0;
	double tst = fmod(minutes + s.eq_time + 4.0 * longitude, 1440.0);
	if (tst < 0)
		tst += 1440.0;
	double ha = tst / 4.0 < 0 ? tst / 4.0 + 180.0 : tst / 4.0 - 180.0;
	double cz = sin(latitude * DEG) * sin(s.declination * DEG) +
		    cos(latitude * DEG) * cos(s.declination * DEG) * cos(ha * DEG);
	cz = cz > 1 ? 1 : cz < -1 ? -1 : cz;
	double elevation = 90.0 - acos(cz) / DEG;
	/* NOAA's refraction approximation. */
	double refraction = 0;
	double te = tan(elevation * DEG);
	if (elevation > 85.0)
		refraction = 0;
	else if (elevation > 5.0)
		refraction = 58.1 / te - 0.07 / (te * te * te) + 0.000086 / pow(te, 5);
	else if (elevation > -0.575)
		refraction =
			1735.0 +
			elevation *
				(-518.2 +
				 elevation * (103.4 + elevation * (-12.79 + elevation * 0.711)));
	else
		refraction = -20.772 / te;
	return elevation + refraction / 3600.0;
}
