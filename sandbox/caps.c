/* SPDX-License-Identifier: MIT */
/*
 * Giving up privilege: every capability, from all five sets, then
 * no_new_privs so that none can come back. Inside its own user
 * namespace the runner starts with a full set there: enough to mount, to
 * create device-less sockets of every kind and to ptrace its own
 * namespace, all of which the plugin must never have.
 */
#include <errno.h>
#include <linux/capability.h>
#include <sys/capability.h>
#include <grp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "sandbox.h"
#include "sb-internal.h"

/* Highest capability number the running kernel knows, which may be newer
 * than our headers' CAP_LAST_CAP. */
static int last_cap(void)
{
	int n = (int)cap_max_bits();

	return n > 0 ? n - 1 : CAP_LAST_CAP;
}

static int all_clear(void)
{
	cap_t caps = cap_get_proc();
	cap_t empty = cap_init();
	int r = -EPERM;

	if (!caps || !empty) {
		r = -errno;
		goto out;
	}
	if (cap_compare(caps, empty) == 0)
		r = 0;
out:
	cap_free(caps);
	cap_free(empty);
	return r;
}

/*
 * Empty the bounding set, which caps what any later execve could grant
 * from file capabilities or setuid root. Go past the kernel's last
 * capability until EINVAL, in case libcap's maximum is older than the
 * kernel. *ret_kept is set when the set cannot be touched at all.
 */
static int drop_bounding(int last, int *ret_kept)
{
	*ret_kept = 0;
	for (int cap = 0;; cap++) {
		int err;

		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0)
			continue;
		err = errno;
		if (err == EINVAL && cap > last)
			return 0;
		/*
		 * EPERM without any capability: an unprivileged runner without a
		 * user namespace, whose bounding set nobody can empty. It only
		 * matters across execve, and no_new_privs makes every execve
		 * grant nothing; set it now rather than rely on the caller.
		 */
		if (err == EPERM && cap == 0 && all_clear() == 0) {
			if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
				return -errno;
			*ret_kept = 1;
			return 0;
		}
		return -err;
	}
}

int ph__sb_become_nobody(void)
{
	int r, kept;

	/* The bounding set while CAP_SETPCAP is still ours: the uid change
	 * clears the other sets, not this one. */
	r = drop_bounding(last_cap(), &kept);
	if (r < 0)
		return r;
	/* Root's supplementary groups (gid 0 among them) first, then the
	 * gid and the uid, all three of each. */
	if (setgroups(0, NULL) < 0 || setresgid(PH_NOBODY_ID, PH_NOBODY_ID, PH_NOBODY_ID) < 0 ||
	    setresuid(PH_NOBODY_ID, PH_NOBODY_ID, PH_NOBODY_ID) < 0)
		return -errno;
	if (getuid() != PH_NOBODY_ID || geteuid() != PH_NOBODY_ID || getegid() != PH_NOBODY_ID)
		return -EPERM;
	return 0;
}

int ph__sb_caps_drop(void)
{
	const int last = last_cap();
	cap_t caps;
	int r, bounding_kept;

	/* Bounding set first, while CAP_SETPCAP is still ours. */
	r = drop_bounding(last, &bounding_kept);
	if (r < 0)
		return r;

	/* Ambient capabilities survive execve for unprivileged programs.
	 * EINVAL: a kernel older than 4.3, which has none. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;

	/* Effective, permitted and inheritable, in one capset(). */
	caps = cap_init();
	if (!caps)
		return -errno;
	r = cap_clear(caps) < 0 || cap_set_proc(caps) < 0 ? -errno : 0;
	cap_free(caps);
	if (r < 0)
		return r;

	/* Trust nothing: a capability still set anywhere is a setup failure,
	 * never a weaker sandbox. */
	r = all_clear();
	if (r < 0)
		return r;
	for (int cap = 0; cap <= last; cap++) {
		int bound = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
		int ambient = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0);

		if ((bound != 0 && !bounding_kept) || ambient > 0)
			return -EPERM;
	}
	return 0;
}

int ph__sb_nnp(void)
{
	/* no_new_privs: no execve can ever grant privilege again (setuid
	 * bits, file capabilities), and it lets an unprivileged process load
	 * seccomp filters and Landlock rulesets. It can never be unset. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	/* Not dumpable: no core file, and no other process of the same uid
	 * may ptrace it or open its /proc files (mem, environ, fds). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return -EPERM;
	return 0;
}
