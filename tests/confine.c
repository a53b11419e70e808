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
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

/* Every CLONE_NEW* flag clone(2) and unshare(2) take. */
static const unsigned long ns_flags[] = {CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,   CLONE_NEWIPC,
					 CLONE_NEWNS,	CLONE_NEWUTS, CLONE_NEWCGROUP};

#define N_NS_FLAGS (sizeof(ns_flags) / sizeof(ns_flags[0]))

/* errno for syscall nr when argument arg has any bit of flag set (one rule
 * per bit: libseccomp ORs rules of the same syscall and action). */
static int refuse_bit(scmp_filter_ctx ctx, int err, int nr, unsigned int arg, uint64_t bit)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), nr, 1,
				(struct scmp_arg_cmp){arg, SCMP_CMP_MASKED_EQ, bit, bit});
}

static int refuse_all(scmp_filter_ctx ctx, int err, const int *nrs, size_t n)
{
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), nrs[i], 0);
	return r;
}

/* Docker's and Podman's default profiles, and valgrind: clone3 fails
 * with ENOSYS, which glibc and plughost must answer with clone(2). */
static int profile_refuse_clone3(scmp_filter_ctx ctx)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
}

/*
 * Docker's default seccomp profile for a container without CAP_SYS_ADMIN
 * (moby profiles/seccomp/default.json): clone3 ENOSYS; unshare, setns,
 * the mount family and namespace flags on clone EPERM; the key, BPF and
 * perf syscalls EPERM. A root host in such a container can make no
 * namespace at all.
 */
static int profile_docker_default(scmp_filter_ctx ctx)
{
	static const int eperm[] = {
	    SCMP_SYS(unshare),	  SCMP_SYS(setns),	     SCMP_SYS(mount),
	    SCMP_SYS(umount2),	  SCMP_SYS(pivot_root),	     SCMP_SYS(fsopen),
	    SCMP_SYS(fsconfig),	  SCMP_SYS(fsmount),	     SCMP_SYS(fspick),
	    SCMP_SYS(move_mount), SCMP_SYS(open_tree),	     SCMP_SYS(mount_setattr),
	    SCMP_SYS(keyctl),	  SCMP_SYS(add_key),	     SCMP_SYS(request_key),
	    SCMP_SYS(bpf),	  SCMP_SYS(perf_event_open),
	};
	int r = profile_refuse_clone3(ctx);

	if (r == 0)
		r = refuse_all(ctx, EPERM, eperm, sizeof(eperm) / sizeof(eperm[0]));
	for (size_t i = 0; i < N_NS_FLAGS && r == 0; i++)
		r = refuse_bit(ctx, EPERM, SCMP_SYS(clone), 0, ns_flags[i]);
	return r;
}

/*
 * Ubuntu 24.04's AppArmor restriction (or user.max_user_namespaces=0):
 * no user namespace, by clone or by unshare; every other namespace is
 * still there for root. clone3 gets ENOSYS too, since a filter cannot
 * read its flags (they are in memory), and the runtime's refusal must
 * not have a hole the tests would never see.
 */
static int profile_no_userns(scmp_filter_ctx ctx)
{
	int r = profile_refuse_clone3(ctx);

	if (r == 0)
		r = refuse_bit(ctx, EPERM, SCMP_SYS(clone), 0, CLONE_NEWUSER);
	if (r == 0)
		r = refuse_bit(ctx, EPERM, SCMP_SYS(unshare), 0, CLONE_NEWUSER);
	return r;
}

/* A kernel built without Landlock (or booted without it in lsm=). */
static int profile_no_landlock(scmp_filter_ctx ctx)
{
	static const int enosys[] = {SCMP_SYS(landlock_create_ruleset), SCMP_SYS(landlock_add_rule),
				     SCMP_SYS(landlock_restrict_self)};

	return refuse_all(ctx, ENOSYS, enosys, sizeof(enosys) / sizeof(enosys[0]));
}

/*
 * A kernel older than 5.0, which has no seccomp user notification, as it
 * answers: SECCOMP_GET_NOTIF_SIZES is an unknown operation and
 * SECCOMP_FILTER_FLAG_NEW_LISTENER an unknown flag, both EINVAL. Filters
 * without the flag still load, so plughost's kill-mode filters do.
 * (SECCOMP_GET_ACTION_AVAIL's action is read from memory, out of a
 * filter's reach: it still says yes; the sizes query is what fails.)
 */
static int profile_no_notify(scmp_filter_ctx ctx)
{
	int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EINVAL), SCMP_SYS(seccomp), 1,
				 SCMP_A0(SCMP_CMP_EQ, SECCOMP_GET_NOTIF_SIZES));

	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EINVAL), SCMP_SYS(seccomp), 2,
				     SCMP_A0(SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER),
				     SCMP_A1(SCMP_CMP_MASKED_EQ, SECCOMP_FILTER_FLAG_NEW_LISTENER,
					     SECCOMP_FILTER_FLAG_NEW_LISTENER));
	return r;
}

/*
 * Debian 12's kernel, 6.1, where a filter can say it: memfd_create's
 * MFD_NOEXEC_SEAL and MFD_EXEC and F_ADD_SEALS's F_SEAL_EXEC (all 6.3)
 * fail with EINVAL, as 6.1 fails them. Not simulated, since a filter can
 * only make a call fail, never return another value: Landlock's ABI
 * version (6.1 has ABI 2; this kernel's answer stands) and everything
 * that ABI adds (file truncation, ABI 3; network rules, ABI 4). See
 * docs/security.md, "When the kernel lacks something".
 */
static int profile_old_kernel(scmp_filter_ctx ctx)
{
	int r = refuse_bit(ctx, EINVAL, SCMP_SYS(memfd_create), 1, MFD_NOEXEC_SEAL);

	if (r == 0)
		r = refuse_bit(ctx, EINVAL, SCMP_SYS(memfd_create), 1, MFD_EXEC);
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EINVAL), SCMP_SYS(fcntl), 2,
				     SCMP_A1(SCMP_CMP_EQ, F_ADD_SEALS),
				     SCMP_A2(SCMP_CMP_MASKED_EQ, F_SEAL_EXEC, F_SEAL_EXEC));
	return r;
}

static const struct {
	const char *name;
	const char *what;
	int (*apply)(scmp_filter_ctx ctx);
} profiles[] = {
    {"refuse-clone3", "clone3 fails with ENOSYS (Docker, Podman, valgrind)", profile_refuse_clone3},
    {"docker-default",
     "Docker's default profile: clone3 ENOSYS; unshare, setns, mounts, namespace flags on clone, "
     "keyctl, bpf, perf_event_open EPERM",
     profile_docker_default},
    {"no-userns", "no user namespaces: CLONE_NEWUSER EPERM on clone and unshare (Ubuntu 24.04)",
     profile_no_userns},
    {"no-landlock", "landlock_* fail with ENOSYS (a kernel without Landlock)", profile_no_landlock},
    {"no-notify", "no seccomp user notification (a kernel older than 5.0)", profile_no_notify},
    {"old-kernel", "memfd and seal flags newer than 6.1 fail with EINVAL (Debian 12)",
     profile_old_kernel},
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
