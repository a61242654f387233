/* SPDX-License-Identifier: MIT */
/*
 * The one string hash: 64-bit FNV-1a (offset basis 0xcbf29ce484222325,
 * prime 0x100000001b3, as published by Fowler, Noll and Vo). Fast and
 * well spread for short keys such as device ids and topics; not for
 * anything an attacker could exploit. Header-only, so plugins built in
 * tree can use it too.
 */
#ifndef SMARTHUB_HASH_H
#define SMARTHUB_HASH_H

#include <stddef.h>
#include <stdint.h>

#define SH_FNV1A64_OFFSET 0xcbf29ce484222325ull
#define SH_FNV1A64_PRIME 0x100000001b3ull

/* `len` bytes of `data`. */
static inline uint64_t sh_hash_bytes(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = SH_FNV1A64_OFFSET;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * SH_FNV1A64_PRIME;
	return h;
}

/* A NUL-terminated string (the NUL not included). */
static inline uint64_t sh_hash_str(const char *s)
{
	uint64_t h = SH_FNV1A64_OFFSET;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * SH_FNV1A64_PRIME;
	return h;
}

#endif
