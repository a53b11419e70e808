/* SPDX-License-Identifier: MIT */
/*
 * Starting the runner, Chrome-style: clone3 (with a pidfd, in the new
 * namespaces) and an immediate exec of the trusted runner binary. The child
 * between clone and exec runs in a copy of the host's memory, possibly of a
 * threaded host, so it makes only raw, async-signal-safe syscalls.
 *
 * Where clone3 is refused with ENOSYS (Docker's and Podman's default
 * seccomp profiles, valgrind), the same child comes from clone(2) with
 * CLONE_PIDFD: the same flags, pidfd and exit signal, in the older form.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "sandbox.h"

int ph__check_plugin_file(const char *path, char *why, size_t why_len)
{
	Elf64_Ehdr eh;
	struct stat st;
	ssize_t n;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		snprintf(why, why_len, "%s", strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, why_len, "not a regular file");
		r = -ENOEXEC;
		goto out;
	}
	n = pread(fd, &eh, sizeof(eh), 0);
	if (n != (ssize_t)sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
		snprintf(why, why_len, "not an ELF file");
		r = -ENOEXEC;
	} else if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64) {
		snprintf(why, why_len, "built for another architecture (this host runs x86_64)");
		r = -ENOEXEC;
	} else if (eh.e_type != ET_DYN) {
		snprintf(why, why_len, "not a shared object (build it with -shared)");
		r = -ENOEXEC;
	}
out:
	close(fd);
	return r;
}

/* In the child, before exec. Raw syscalls only; no malloc, no locks. */
static _Noreturn void child_exec(int runner, int ctl, int sup, int devnull, int sync_rd, int userns,
				 char *const argv[])
{
	static char *const envp[] = {NULL};
	struct sigaction sa = {.sa_handler = SIG_DFL};
	sigset_t none;
	char go;

	/* Signal dispositions the host ignored would survive exec: reset all,
	 * and unblock everything the host thread had blocked. */
	for (int sig = 1; sig < _NSIG; sig++)
		sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	/* Wait until the host has written our uid/gid maps: exec recomputes
	 * capabilities from our uid, which must be mapped by then. */
	if (read(sync_rd, &go, 1) != 1)
		_exit(127);

	if (userns) {
		/* Writing the maps did not change our own ids: become the
		 * namespace's root (nobody outside, or the host's own uid) so
		 * exec keeps the namespace capabilities the runner needs for
		 * its mounts. A root host first sheds its supplementary groups
		 * (gid 0 among them); an unprivileged host cannot (setgroups is
		 * denied) and keeps only its own. Raw syscalls: glibc's set*id
		 * would try to signal threads this child does not have. */
		syscall(SYS_setgroups, 0, NULL);
		if (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0)
			_exit(127);
	}

	/* Every fd we keep moves above the numbers we are about to fill
	 * (0-4) first: any of them may sit at 0-4 in the host, and a dup2
	 * onto it would silently swap it for something else. The runner's
	 * fd stays close-on-exec (an ELF binary exec'd by fd needs it only
	 * until the exec). */
	runner = fcntl(runner, F_DUPFD_CLOEXEC, 10);
	ctl = fcntl(ctl, F_DUPFD, 10);
	devnull = fcntl(devnull, F_DUPFD, 10);
	if (sup >= 0)
		sup = fcntl(sup, F_DUPFD, 10);
	if (runner < 0 || ctl < 0 || devnull < 0 || (sup < 0 && sup != -1))
		_exit(127);

	/* Standard fds point at /dev/null, never at the host's terminal or
	 * pipes: a stray printf in a plugin goes nowhere, and no fd the plugin
	 * opens could be mistaken for stdout. Then only the control socket
	 * (fd 3) and, with a pid namespace, the supervisor channel (fd 4)
	 * cross over. */
	for (int fd = 0; fd < 3; fd++)
		if (dup2(devnull, fd) < 0)
			_exit(127);
	if (dup2(ctl, PH_FD_CONTROL) < 0 || (sup >= 0 && dup2(sup, PH_FD_SUPERVISOR) < 0))
		_exit(127);
	{
		const unsigned first = sup >= 0 ? PH_FD_SUPERVISOR + 1 : PH_FD_CONTROL + 1;

		if (syscall(SYS_close_range, first, (unsigned)runner - 1, 0) < 0 ||
		    syscall(SYS_close_range, (unsigned)runner + 1, ~0U, 0) < 0)
			for (int fd = (int)first; fd < 65536; fd++)
				if (fd != runner)
					close(fd);
	}
	syscall(SYS_execveat, runner, "", argv, envp, AT_EMPTY_PATH);
	_exit(127);
}

/*
 * clone(2) as a fallback for clone3, fork-like (no CLONE_VM, the child
 * runs on a copy of our stack). x86_64's raw argument order is flags,
 * stack, parent_tid, child_tid, tls; with CLONE_PIDFD the kernel stores
 * the pidfd through parent_tid. The exit signal lives in the low byte of
 * the flags, and clone3-only flags (above 32 bits, or CLONE_NEWTIME in
 * that low byte) have no place here: refused rather than misread.
 */
static long clone_fallback(uint64_t flags, int *ret_pidfd)
{
	if (flags & (CSIGNAL | ~(uint64_t)UINT32_MAX)) {
		errno = EINVAL;
		return -1;
	}
	return syscall(SYS_clone, (unsigned long)flags, NULL, ret_pidfd, NULL, NULL);
}

int ph__spawn_runner(struct ph_plugin *p, int runner, uint64_t clone_flags, struct ph_result *fail)
{
	char *argv[] = {(char *)"plughost-runner", NULL};
	int sv[2] = {-1, -1}, sup[2] = {-1, -1}, sync[2] = {-1, -1}, pidfd = -1, r;
	_cleanup_close_ int devnull = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
	struct clone_args ca = {0};
	long pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
	    ((clone_flags & CLONE_NEWPID) &&
	     socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sup) < 0) ||
	    pipe2(sync, O_CLOEXEC) < 0 || devnull < 0) {
		r = -errno;
		ph__result_setup(fail, PH_STEP_SPAWN, -r, "cannot create the control socket");
		goto out;
	}

	ca.flags = CLONE_PIDFD | clone_flags;
	ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
	/* No SIGCHLD: an application's own waitpid(-1) must not reap our
	 * children; we wait on the pidfd with __WALL instead. */
	ca.exit_signal = 0;
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0 && errno == ENOSYS) {
		ph__log(p->host, NULL, PH_SEV_DEBUG, "clone3 unavailable (ENOSYS): using clone");
		pid = clone_fallback(CLONE_PIDFD | clone_flags, &pidfd);
		if (pid < 0) {
			r = -errno;
			ph__result_setup(fail, PH_STEP_SPAWN, -r,
					 "clone3 is refused here (ENOSYS) and clone failed");
			goto out;
		}
	} else if (pid < 0) {
		r = -errno;
		ph__result_setup(fail, PH_STEP_SPAWN, -r, "clone3 failed");
		goto out;
	}
	if (pid == 0)
		child_exec(runner, sv[1], sup[1], devnull, sync[0], !!(clone_flags & CLONE_NEWUSER),
			   argv);

	p->pid = (pid_t)pid;
	p->pidfd = pidfd;
	close(sync[0]);
	sync[0] = -1;
	if (clone_flags & CLONE_NEWUSER) {
		r = ph__ns_write_maps(p->pid);
		if (r < 0) {
			ph__result_setup(fail, PH_STEP_USERNS, -r,
					 "cannot write the plugin's uid/gid maps");
			goto out; /* closing sync[1] makes the child exit */
		}
	}
	if (write(sync[1], "g", 1) != 1) {
		r = -errno;
		ph__result_setup(fail, PH_STEP_SPAWN, -r, "cannot release the child");
		goto out;
	}
	p->sock = sv[0];
	sv[0] = -1;
	p->sup = sup[0];
	sup[0] = -1;
	r = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0)
			close(sv[i]);
		if (sup[i] >= 0)
			close(sup[i]);
		if (sync[i] >= 0)
			close(sync[i]);
	}
	return r;
}
