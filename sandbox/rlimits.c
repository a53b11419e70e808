/* SPDX-License-Identifier: MIT */
/*
 * Resource limits, set soft and hard alike so the plugin cannot raise
 * them: raising a hard limit needs CAP_SYS_RESOURCE in the initial user
 * namespace, which no plugin ever has. Limits are only ever lowered here;
 * a request above the current hard limit is clamped to it.
 */
#include <errno.h>
#include <sys/resource.h>

#include "sandbox.h"

/* fds: ctl socket, listener, ring, a few inputs in flight, the plugin's own. */
#define PH_DEFAULT_NOFILE 64u
/*
 * Processes and threads. Strict plugins cannot clone at all; this bounds
 * the THREADS preset. Since 5.14 the count is kept per user namespace (a
 * fresh one per plugin), so it counts the plugin's own threads; on older
 * kernels, or without a user namespace, it counts every process of the
 * uid the plugin runs as, and real root (the no-userns case) is exempt.
 */
#define PH_DEFAULT_NPROC 16u

static int set_limit(int resource, rlim_t want, rlim_t hard_extra)
{
	struct rlimit cur, rl;

	if (getrlimit(resource, &cur) < 0)
		return -errno;
	/* Never raise: that would fail, and would not be ours to give. */
	if (cur.rlim_max != RLIM_INFINITY && want > cur.rlim_max)
		want = cur.rlim_max;
	rl.rlim_cur = want;
	rl.rlim_max = want;
	if (hard_extra && (cur.rlim_max == RLIM_INFINITY || want + hard_extra <= cur.rlim_max))
		rl.rlim_max = want + hard_extra;
	if (setrlimit(resource, &rl) < 0)
		return -errno;
	return 0;
}

int ph__sb_rlimits(const struct ph_msg_setup *setup)
{
	int r;

	if (!setup)
		return -EINVAL;

	/* No core dumps: a dump would write the plugin's memory (inputs from
	 * the host among it) somewhere the host does not control. */
	r = set_limit(RLIMIT_CORE, 0, 0);
	/* No file growth: the plugin has no business writing files, and a
	 * write through some fd it was given must not fill a disk. */
	if (r == 0)
		r = set_limit(RLIMIT_FSIZE, 0, 0);
	/* No locked memory: mlock would let it pin host RAM outside cgroup
	 * reclaim, and io_uring/BPF-style users of it are refused anyway. */
	if (r == 0)
		r = set_limit(RLIMIT_MEMLOCK, 0, 0);
	if (r == 0)
		r = set_limit(RLIMIT_NOFILE,
			      setup->rlimit_nofile ? setup->rlimit_nofile : PH_DEFAULT_NOFILE, 0);
	if (r == 0)
		r = set_limit(RLIMIT_NPROC,
			      setup->rlimit_nproc ? setup->rlimit_nproc : PH_DEFAULT_NPROC, 0);
	if (r == 0 && setup->rlimit_as)
		r = set_limit(RLIMIT_AS, setup->rlimit_as, 0);
	/*
	 * CPU: the soft limit sends SIGXCPU, which tells the host "CPU limit"
	 * apart from any other death; the hard limit one second later is
	 * SIGKILL for a plugin that catches SIGXCPU. With soft == hard the
	 * kernel would send SIGKILL straight away, indistinguishable from a
	 * kill by anyone else. The plugin can raise its soft limit by that
	 * one second at most.
	 */
	if (r == 0 && setup->rlimit_cpu)
		r = set_limit(RLIMIT_CPU, setup->rlimit_cpu, 1);
	/* RLIMIT_STACK stays: the stack is already mapped, and lowering it
	 * only affects the main thread's growth and new threads' defaults. */
	return r;
}
