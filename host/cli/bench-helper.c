/* SPDX-License-Identifier: MIT */
/*
 * plughost-bench-helper: the floor under `plughost bench`'s cold spawn.
 *
 * The bench execs this binary fresh and times it until one byte arrives
 * on fd PH_BENCH_HELPER_FD. In between it asks the kernel for what any
 * sandbox of this kind needs at the least: new user, pid, network, mount
 * and IPC namespaces in one unshare(), no_new_privs, and a small seccomp
 * filter, raw BPF loaded with the seccomp syscall. It is linked
 * statically (no loader, no libraries to map) and uses no libseccomp (no
 * filter to compile), so what it costs is the exec and those kernel
 * objects. What the runner does beyond that (id maps, a second exec in
 * its user namespace, a fresh root, Landlock, rlimits, its init, the
 * listener handshake, loading the plugin) is what the bench's ratio is
 * about.
 *
 * Where one unshare() of all five is refused (no user namespaces for an
 * unprivileged user, or a container's profile), it tries the user
 * namespace alone and then each of the others, and keeps whatever the
 * kernel grants: the byte says which (the PH_BENCH_HELPER_* bits of
 * bench.h). Exit status 0, or 1 when the byte could not be written.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	int flag;
	unsigned int bit;
} namespaces[] = {
    {CLONE_NEWUSER, PH_BENCH_HELPER_USERNS}, {CLONE_NEWPID, PH_BENCH_HELPER_PIDNS},
    {CLONE_NEWNET, PH_BENCH_HELPER_NETNS},   {CLONE_NEWNS, PH_BENCH_HELPER_MNTNS},
    {CLONE_NEWIPC, PH_BENCH_HELPER_IPCNS},
};

#if defined(__x86_64__)
#define HELPER_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define HELPER_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#define ALLOW(nr)                                                                                  \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1),                                           \
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

/*
 * Load a filter shaped like the sandbox's, if much shorter: the wrong
 * architecture and (on x86_64) x32 numbers are killed, the few syscalls
 * left to make (write, exit) allowed, everything else killed. Returns 0
 * or -errno; -ENOSYS on an architecture this file has no number for.
 */
static int load_filter(void)
{
#ifdef HELPER_AUDIT_ARCH
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, HELPER_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#if defined(__x86_64__)
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
#endif
		ALLOW(__NR_write),
		ALLOW(__NR_exit_group),
		ALLOW(__NR_exit),
		ALLOW(__NR_rt_sigreturn),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};
	struct sock_fprog prog = {.len = (unsigned short)ARRAY_SIZE(insns), .filter = insns};

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -errno;
	return 0;
#else
	return -ENOSYS;
#endif
}

int main(void)
{
	unsigned char got = 0;
	int all = 0;

	for (size_t i = 0; i < ARRAY_SIZE(namespaces); i++)
		all |= namespaces[i].flag;
	if (unshare(all) == 0) {
		for (size_t i = 0; i < ARRAY_SIZE(namespaces); i++)
			got |= (unsigned char)namespaces[i].bit;
	} else {
		/* The user namespace first: inside it the others need no
		 * privilege of ours. */
		for (size_t i = 0; i < ARRAY_SIZE(namespaces); i++)
			if (unshare(namespaces[i].flag) == 0)
				got |= (unsigned char)namespaces[i].bit;
	}
	/* Needed for an unprivileged filter, and what a sandbox sets anyway. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
		got |= PH_BENCH_HELPER_NNP;
	if (load_filter() == 0)
		got |= PH_BENCH_HELPER_SECCOMP;

	/* From here only write and exit are allowed: _exit(), not exit(),
	 * whose atexit and stdio work could need more. */
	if (write(PH_BENCH_HELPER_FD, &got, 1) != 1)
		_exit(1);
	_exit(0);
}
