/* SPDX-License-Identifier: MIT */
/*
 * Helpers every test may use: a deterministic PRNG and counting entries of
 * /proc directories (open fds). testhost.h adds what tests of real plugins
 * need.
 */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static inline int tu_count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Open fds of this process (the directory's own fd not counted). */
static inline int tu_count_fds(void)
{
	return tu_count_dir("/proc/self/fd") - 1;
}

/* Deterministic PRNG (xorshift64*), so every run sees the same inputs. */
static inline uint64_t tu_rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}
