/* SPDX-License-Identifier: MIT */
/*
 * Small macros every module may use. Header-only, no dependencies.
 */
#ifndef SMARTHUB_MACROS_H
#define SMARTHUB_MACROS_H

#include <stddef.h>

/* The number of elements of an array (not of a pointer: GCC and clang
 * refuse a pointer argument at compile time). */
#define ARRAY_SIZE(a)                                                                              \
	(sizeof(a) / sizeof((a)[0]) +                                                              \
	 0 * sizeof(struct {                                                                       \
		 int not_an_array                                                                  \
		     : __builtin_types_compatible_p(__typeof__(a), __typeof__(&(a)[0]))            \
		       ? -1                                                                        \
		       : 1;                                                                        \
	 }))

/* The struct that holds `ptr` as its member `member`. */
#define sh_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#endif
