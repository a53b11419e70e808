/* SPDX-License-Identifier: MIT */
/*
 * Side channels between the plugin and whatever shares its CPU: the
 * plugin runs with speculative store bypass and indirect branch
 * speculation disabled (Spectre v4 and v2 against other tasks), and in a
 * core-scheduling group of its own, so that no other task's thread runs on
 * the sibling hyperthread of its core at the same time (MDS, L1TF and
 * friends). Both are the kernel's to give; each is a layer, reported as
 * active only when it is in force.
 */
#include <errno.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"
#include "sb-internal.h"

static const int spec_kinds[] = {PR_SPEC_STORE_BYPASS, PR_SPEC_INDIRECT_BRANCH};

/* In force for this task: the CPU is not affected, or it is disabled. */
static int spec_in_force(long v)
{
	return v == PR_SPEC_NOT_AFFECTED || (v & (PR_SPEC_DISABLE | PR_SPEC_FORCE_DISABLE));
}

int ph__sb_spec_ctrl_possible(void)
{
	for (size_t i = 0; i < ELEMENTSOF(spec_kinds); i++) {
		long v = prctl(PR_GET_SPECULATION_CTRL, spec_kinds[i], 0, 0, 0);

		/* Settable per task, or already in force for every task. */
		if (v < 0 || (!(v & PR_SPEC_PRCTL) && !spec_in_force(v)))
			return 0;
	}
	return 1;
}

int ph__sb_spec_ctrl(void)
{
	for (size_t i = 0; i < ELEMENTSOF(spec_kinds); i++) {
		long v = prctl(PR_GET_SPECULATION_CTRL, spec_kinds[i], 0, 0, 0);

		if (v < 0)
			return -errno;
		/* FORCE: the plugin can never enable it again. */
		if ((v & PR_SPEC_PRCTL) &&
		    prctl(PR_SET_SPECULATION_CTRL, spec_kinds[i], PR_SPEC_FORCE_DISABLE, 0, 0) < 0)
			return -errno;
		v = prctl(PR_GET_SPECULATION_CTRL, spec_kinds[i], 0, 0, 0);
		if (v < 0 || !spec_in_force(v))
			return -EOPNOTSUPP;
	}
	return 0;
}

int ph__sb_core_sched(void)
{
	/* A cookie of our own for our whole thread group, inherited by the
	 * plugin we fork. ENODEV without SMT, EINVAL without the kernel's
	 * CONFIG_SCHED_CORE. */
	if (prctl(PR_SCHED_CORE, PR_SCHED_CORE_CREATE, 0, PR_SCHED_CORE_SCOPE_THREAD_GROUP, 0) < 0)
		return -errno;
	return 0;
}

int ph__sb_core_sched_possible(void)
{
	/* Try it in a short-lived child: the cookie must not stick to the
	 * host. */
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return 0;
	if (pid == 0)
		_exit(ph__sb_core_sched() == 0 ? 0 : 1);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}
