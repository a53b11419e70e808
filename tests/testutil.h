/* SPDX-License-Identifier: MIT */
/*
 * Helpers every test may use: a deterministic PRNG, counting entries of
 * /proc directories (open fds), and skipping a test for a missing kernel
 * feature unless the environment requires it. testhost.h adds what tests
 * of real plugins need.
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

/*
 * Whether name (len bytes) is one of the features a test may skip for
 * (tu_skip_unless), by the names $PH_TEST_REQUIRE uses. One list, so a
 * misspelt requirement is an error rather than a requirement that silently
 * never applies.
 */
static inline int tu_feature_known(const char *name, size_t len)
{
	static const char *const features[] = {
	    "userns",	  /* user namespaces a host can create */
	    "notify",	  /* seccomp user notification */
	    "landlock",	  /* Landlock */
	    "dev-shm",	  /* a writable /dev/shm */
	    "hugetlb",	  /* hugetlbfs memfds with pages to back them */
	    "exec-memfd", /* executable memfds (vm.memfd_noexec < 2) */
	    "seal-exec",  /* F_SEAL_EXEC */
	};

	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
		if (strlen(features[i]) == len && strncmp(name, features[i], len) == 0)
			return 1;
	return 0;
}

/*
 * Whether $PH_TEST_REQUIRE, a comma-separated list of the names above or
 * "all", requires feature. Returns 1 or 0, or -1 when feature or an entry
 * of the list is not one of the names above (then written to *ret_bad, at
 * most size - 1 bytes).
 */
static inline int tu_feature_required(const char *feature, char *ret_bad, size_t size)
{
	const char *list = getenv("PH_TEST_REQUIRE");
	int required = 0;

	if (!tu_feature_known(feature, strlen(feature))) {
		snprintf(ret_bad, size, "%s", feature);
		return -1;
	}
	while (list && *list) {
		size_t len = strcspn(list, ",");

		if (len == 3 && strncmp(list, "all", 3) == 0) {
			required = 1;
		} else if (len > 0 && !tu_feature_known(list, len)) {
			snprintf(ret_bad, size, "%.*s", (int)len, list);
			return -1;
		} else if (len > 0 && strlen(feature) == len && strncmp(list, feature, len) == 0) {
			required = 1;
		}
		list += len + (list[len] == ',');
	}
	return required;
}

/*
 * In a cmocka test: unless have, skip the test for want of feature (one
 * tu_feature_known() knows), or fail it, naming the feature, when $PH_TEST_REQUIRE
 * requires it (tests/run-all.sh, and so CI, requires "userns,notify"). A
 * required feature that is missing is a broken test machine, not a pass.
 */
#define tu_skip_unless(have, feature)                                                              \
	do {                                                                                       \
		char bad_[64];                                                                     \
		int req_;                                                                          \
		if (have)                                                                          \
			break;                                                                     \
		req_ = tu_feature_required((feature), bad_, sizeof(bad_));                         \
		if (req_ < 0)                                                                      \
			fail_msg("'%s' is not a feature a test can skip for (PH_TEST_REQUIRE=%s)", \
				 bad_,                                                             \
				 getenv("PH_TEST_REQUIRE") ? getenv("PH_TEST_REQUIRE") : "");      \
		if (req_)                                                                          \
			fail_msg("'%s' is missing on this machine, and PH_TEST_REQUIRE "           \
				 "requires it",                                                    \
				 (feature));                                                       \
		print_message("skipped: '%s' is missing on this machine "                          \
			      "(PH_TEST_REQUIRE=%s would fail instead)\n",                         \
			      (feature), (feature));                                               \
		skip();                                                                            \
	} while (0)

/* This process's resident memory (VmRSS) in KiB, or -1. */
static inline long tu_self_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long kib = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}
