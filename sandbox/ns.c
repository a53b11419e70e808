/* SPDX-License-Identifier: MIT */
/*
 * Which namespaces a plugin gets, and the id maps that make the runner
 * root inside its user namespace while it is nobody (or the host's own
 * unprivileged user) outside.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sandbox.h"
#include "sb-internal.h"

int ph__ns_plan(const struct ph__features *f, uint32_t require, uint64_t *ret_clone_flags,
		const char **ret_missing)
{
	uint64_t flags = 0;
	const char *missing = NULL;

	if (!f || !ret_clone_flags)
		return -EINVAL;

	/*
	 * With a user namespace every other namespace usually comes for free,
	 * without privilege; without one only real root may create them (the
	 * runner then keeps uid 0, with every capability dropped, inside
	 * them). Either way only those the probe really made (a container's
	 * profile may refuse some or all): an exact plan, so the runner never
	 * fails for a namespace nobody required.
	 */
	flags = f->ns_flags;
	if (!f->userns)
		flags &= ~(uint64_t)CLONE_NEWUSER;

	for (uint32_t bit = 1; bit && !missing; bit <<= 1)
		if ((require & bit) && (ph__layer_clone_flags(bit) & ~flags))
			missing = ph__layer_name(bit);

	/* The other layers a caller can require depend on the kernel too, and
	 * refusing here gives one early, precise setup failure. */
	if (!missing && (require & PH_LAYER_SECCOMP) && !f->seccomp)
		missing = ph__layer_name(PH_LAYER_SECCOMP);
	if (!missing && (require & PH_LAYER_NOTIFY) && !(f->seccomp_notify && f->seccomp_continue))
		missing = ph__layer_name(PH_LAYER_NOTIFY);
	if (!missing && (require & PH_LAYER_LANDLOCK) && f->landlock_abi <= 0)
		missing = ph__layer_name(PH_LAYER_LANDLOCK);
	if (!missing && (require & PH_LAYER_LANDLOCK_NET) && f->landlock_abi < 4)
		missing = ph__layer_name(PH_LAYER_LANDLOCK_NET);
	if (!missing && (require & PH_LAYER_SPEC_CTRL) && !f->spec_ctrl)
		missing = ph__layer_name(PH_LAYER_SPEC_CTRL);
	if (!missing && (require & PH_LAYER_CORE_SCHED) && !f->core_sched)
		missing = ph__layer_name(PH_LAYER_CORE_SCHED);

	if (missing) {
		if (ret_missing)
			*ret_missing = missing;
		return -EPERM;
	}
	*ret_clone_flags = flags;
	return 0;
}

/* Write one short control file of another process, all at once. */
static int write_proc_file(pid_t pid, const char *name, const char *text, int missing_ok)
{
	char path[64];
	_cleanup_close_ int fd = -1;
	size_t len = strlen(text);
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return missing_ok && errno == ENOENT ? 0 : -errno;
	/* The kernel takes a map in one write() only; a short write is an
	 * error, never something to continue. */
	n = write(fd, text, len);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int ph__ns_write_maps(pid_t child)
{
	char map[64];
	unsigned int uid, gid;
	int r;

	if (child <= 0)
		return -EINVAL;

	/* A root host maps the plugin to nobody: if anything escapes the
	 * namespace it is the least privileged user there is. Otherwise the
	 * only id an unprivileged host may map is its own. */
	if (geteuid() == 0) {
		uid = PH_NOBODY_ID;
		gid = PH_NOBODY_ID;
	} else {
		uid = (unsigned int)geteuid();
		gid = (unsigned int)getegid();
	}

	/*
	 * An unprivileged host must deny setgroups() before the kernel takes
	 * its gid_map, and that is also what keeps the plugin from shedding a
	 * supplementary group that a "deny this group" permission relies on.
	 * A root host leaves it allowed on purpose: the child inherits root's
	 * supplementary groups (kgid 0 among them, still honoured by every
	 * permission check outside) and must drop them with setgroups(0, NULL)
	 * before exec, which "deny" would forbid. After exec the runner holds
	 * only ids mapped to nobody, and seccomp refuses setgroups anyway.
	 * ENOENT only on kernels older than 3.19.
	 */
	if (geteuid() != 0) {
		r = write_proc_file(child, "setgroups", "deny", 1);
		if (r < 0)
			return r;
	}
	snprintf(map, sizeof(map), "0 %u 1\n", uid);
	r = write_proc_file(child, "uid_map", map, 0);
	if (r < 0)
		return r;
	snprintf(map, sizeof(map), "0 %u 1\n", gid);
	return write_proc_file(child, "gid_map", map, 0);
}
