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

int ph__sb_rlimits(const struct ph__sb_limits *l)
{
	int r;

	if (!l)
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
	if (r == 0 && l->nofile)
		r = set_limit(RLIMIT_NOFILE, l->nofile, 0);
	/*
	 * Processes and threads. Strict plugins cannot clone at all; this
	 * bounds the THREADS preset. Since 5.14 the count is kept per user
	 * namespace (a fresh one per plugin), so it counts the plugin's own
	 * threads; on older kernels, or without a user namespace, it counts
	 * every process of the uid the plugin runs as, and real root (the
	 * no-userns case) is exempt.
	 */
	if (r == 0 && l->nproc)
		r = set_limit(RLIMIT_NPROC, l->nproc, 0);
	if (r == 0 && l->as_bytes)
		r = set_limit(RLIMIT_AS, l->as_bytes, 0);
	/* CPU time is limited per call by the host's watchdog, not here: an
	 * rlimit counts the instance's whole life. RLIMIT_STACK stays: the
	 * stack is already mapped, and lowering it only affects the main
	 * thread's growth and new threads' defaults. */
	return r;
}
