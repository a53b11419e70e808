/* SPDX-License-Identifier: MIT */
/*
 * confine: run a program under a parent seccomp filter that imitates a
 * hostile or restricted environment, to test that plughost still works
 * there (or fails clearly).
 *
 *	confine --PROFILE PROGRAM [ARG]...
 *	confine --list
 *
 * The filter is installed with no_new_privs and survives exec, so the
 * program, the runner it spawns and every plugin run under it, as under
 * a container runtime's profile; PH_CONFINE_PROFILE names the profile in
 * the program's environment. Every profile allows everything it does
 * not name, on every architecture (i386 and x32 included), so that the
 * sandbox's own refusals are what the tests under it see.
 *
 * To add an environment, add a function and a row to profiles[].
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

/* Docker's and Podman's default profiles, and valgrind: clone3 fails
 * with ENOSYS, which glibc and plughost must answer with clone(2). */
static int profile_refuse_clone3(scmp_filter_ctx ctx)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
}

static const struct {
	const char *name;
	const char *what;
	int (*apply)(scmp_filter_ctx ctx);
} profiles[] = {
    {"refuse-clone3", "clone3 fails with ENOSYS (Docker, Podman, valgrind)", profile_refuse_clone3},
};

#define N_PROFILES (sizeof(profiles) / sizeof(profiles[0]))

static int usage(void)
{
	fprintf(stderr, "usage: confine --PROFILE PROGRAM [ARG]...   (confine --list)\n");
	return 2;
}

int main(int argc, char **argv)
{
	scmp_filter_ctx ctx;
	size_t i;
	int r;

	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (i = 0; i < N_PROFILES; i++)
			printf("--%s\t%s\n", profiles[i].name, profiles[i].what);
		return 0;
	}
	if (argc < 3 || strncmp(argv[1], "--", 2) != 0)
		return usage();
	for (i = 0; i < N_PROFILES; i++)
		if (!strcmp(argv[1] + 2, profiles[i].name))
			break;
	if (i == N_PROFILES) {
		fprintf(stderr, "confine: unknown profile '%s' (see confine --list)\n", argv[1]);
		return 2;
	}

	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		fprintf(stderr, "confine: seccomp_init failed\n");
		return 1;
	}
	/* Other arches allowed too: this filter only imitates an environment,
	 * and must not take the sandbox's own arch checks' place. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
	if (r == 0)
		r = profiles[i].apply(ctx);
	/* Unprivileged filters need it; a container runtime sets it too. */
	if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		r = -errno;
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0) {
		fprintf(stderr, "confine: cannot install profile '%s': %s\n", profiles[i].name,
			strerror(-r));
		return 1;
	}
	/* Tests under it can tell which environment they are in. */
	if (setenv("PH_CONFINE_PROFILE", profiles[i].name, 1) < 0) {
		fprintf(stderr, "confine: cannot set PH_CONFINE_PROFILE: %s\n", strerror(errno));
		return 1;
	}
	execvp(argv[2], argv + 2);
	fprintf(stderr, "confine: cannot run '%s': %s\n", argv[2], strerror(errno));
	return 127;
}
