/* SPDX-License-Identifier: MIT */
/*
 * For the tests that no secret is freed unwiped: free() interposed, so that
 * while `free_watch_on` is set every block going back to the allocator is
 * searched for FREE_WATCH_SECRET (which the test defines before including
 * this) and counted in `free_watch_hits`. Include it in one file of a test
 * binary only: it defines free().
 *
 * Under AddressSanitizer free() belongs to the sanitizer and cannot be
 * interposed: FREE_WATCH_SANITIZED is 1 and such a test skips.
 */
#ifndef SMARTHUB_TEST_FREE_WATCH_H
#define SMARTHUB_TEST_FREE_WATCH_H

#include <malloc.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define FREE_WATCH_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FREE_WATCH_SANITIZED 1
#endif
#endif
#ifndef FREE_WATCH_SANITIZED
#define FREE_WATCH_SANITIZED 0
#endif

static volatile int free_watch_on;
static volatile int free_watch_hits;

#if !FREE_WATCH_SANITIZED
extern void __libc_free(void *ptr);

void free(void *ptr)
{
	if (ptr && free_watch_on) {
		size_t n = malloc_usable_size(ptr);
		if (memmem(ptr, n, FREE_WATCH_SECRET, sizeof(FREE_WATCH_SECRET) - 1))
			free_watch_hits++;
	}
	__libc_free(ptr);
}
#endif

#endif
