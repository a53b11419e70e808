/* SPDX-License-Identifier: MIT */
/*
 * What a tests/confine profile should give. confine names its profile in
 * PH_CONFINE_PROFILE (unset: no profile); with the host's uid that says
 * which layers the sandbox must lose there, read from the profile and
 * never from plughost's own probe, so that a test can assert the layers
 * an instance really has (ph_plugin_layers()) against them. Assumes the
 * CI kernel (tests/run-all.sh): user namespaces, user notification and
 * Landlock ABI >= 4 where no profile removes them.
 *
 * Also tc_run_tests(), which leaves out the tests $PH_TEST_SKIP names:
 * the profile runs' long tests that are not about confinement
 * (tests/meson.build). Include after <cmocka.h>.
 */
#pragma once

#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <plughost/host.h>

#define TC_NS_LAYERS                                                                               \
	(PH_LAYER_USERNS | PH_LAYER_PIDNS | PH_LAYER_NETNS | PH_LAYER_IPCNS | PH_LAYER_MNTNS |     \
	 PH_LAYER_UTSNS | PH_LAYER_CGROUPNS)
#define TC_ALL_LAYERS ((1u << PH_LAYER_COUNT) - 1)

/* The profile this test runs under, "none" outside tests/confine. */
static inline const char *tc_profile(void)
{
	const char *p = getenv("PH_CONFINE_PROFILE");

	return p ? p : "none";
}

static inline int tc_is(const char *name)
{
	return strcmp(tc_profile(), name) == 0;
}

/*
 * The side-channel layers depend on this machine, not on the profile: the
 * kernel's speculation mitigation mode and CONFIG_SCHED_CORE with SMT.
 * Asked here directly, with prctl, never through plughost.
 */
static inline uint32_t tc_machine_missing(void)
{
	uint32_t missing = 0;
	int status;
	pid_t pid;

	for (int kind = PR_SPEC_STORE_BYPASS; kind <= PR_SPEC_INDIRECT_BRANCH; kind++) {
		long v = prctl(PR_GET_SPECULATION_CTRL, kind, 0, 0, 0);

		if (v < 0 || (!(v & PR_SPEC_PRCTL) && v != PR_SPEC_NOT_AFFECTED &&
			      !(v & (PR_SPEC_DISABLE | PR_SPEC_FORCE_DISABLE))))
			missing |= PH_LAYER_SPEC_CTRL;
	}
	pid = fork();
	if (pid == 0)
		_exit(prctl(PR_SCHED_CORE, PR_SCHED_CORE_CREATE, 0,
			    PR_SCHED_CORE_SCOPE_THREAD_GROUP, 0) == 0
			  ? 0
			  : 1);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		missing |= PH_LAYER_CORE_SCHED;
	return missing;
}

/* The layers this profile leaves missing, for this host's uid, on this
 * machine. */
static inline uint32_t tc_expected_missing(void)
{
	const uint32_t machine = tc_machine_missing();

	if (tc_is("docker-default"))
		return TC_NS_LAYERS | machine;
	if (tc_is("no-userns"))
		return (geteuid() == 0 ? PH_LAYER_USERNS : TC_NS_LAYERS) | machine;
	if (tc_is("no-landlock"))
		return PH_LAYER_LANDLOCK | PH_LAYER_LANDLOCK_NET | machine;
	if (tc_is("no-notify"))
		return PH_LAYER_NOTIFY | machine;
	/* none, refuse-clone3, old-kernel: no layer lost to the profile. */
	return machine;
}

/* Whether the profile removes any of layers. */
static inline int tc_removes(uint32_t layers)
{
	return (tc_expected_missing() & layers) != 0;
}

/*
 * A test whose very subject the profile removes: say so, and assert that
 * the layers it needs are really absent from what the instance got
 * (active, from ph_plugin_layers()), so that "not applicable" can never
 * hide a layer that came back or a profile that stopped removing it.
 */
#define tc_not_applicable(active, layers, why)                                                     \
	do {                                                                                       \
		assert_true(tc_removes(layers));                                                   \
		assert_int_equal((active) & (layers), 0);                                          \
		print_message("  not applicable under %s: %s\n", tc_profile(), (why));             \
	} while (0)

/*
 * Run tests[0..n) as cmocka_run_group_tests() would, leaving out those
 * whose name matches one of the comma-separated glob patterns in
 * $PH_TEST_SKIP (the profile runs' long tests that are not about
 * confinement, tests/meson.build), each named as left out. Not
 * cmocka_set_skip_filter(): it takes a single pattern.
 */
static inline int tc_run_group_tests(const char *group, const struct CMUnitTest *tests, size_t n,
				     CMFixtureFunction setup, CMFixtureFunction teardown)
{
	const char *skip = getenv("PH_TEST_SKIP");
	struct CMUnitTest *run = calloc(n ? n : 1, sizeof(*run));
	size_t kept = 0;
	int r;

	if (!run)
		abort();
	for (size_t i = 0; i < n; i++) {
		const char *list = skip;
		int left_out = 0;

		while (list && *list && !left_out) {
			size_t len = strcspn(list, ",");
			char pattern[128];

			snprintf(pattern, sizeof(pattern), "%.*s", (int)len, list);
			left_out = len > 0 && fnmatch(pattern, tests[i].name, 0) == 0;
			list += len + (list[len] == ',');
		}
		if (left_out)
			printf("[ LEFT OUT ] %s (PH_TEST_SKIP=%s)\n", tests[i].name, skip);
		else
			run[kept++] = tests[i];
	}
	r = _cmocka_run_group_tests(group, run, kept, setup, teardown);
	free(run);
	return r;
}

#define tc_run_tests(tests, setup, teardown)                                                       \
	tc_run_group_tests(#tests, (tests), sizeof(tests) / sizeof((tests)[0]), (setup), (teardown))
