/* SPDX-License-Identifier: MIT */
/*
 * Starting the runner, Chrome-style, the way posix_spawn() does it:
 * clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD) and an immediate exec of the
 * trusted runner binary, which then makes its own namespaces (runner.c).
 *
 * Why this shape. A child made without CLONE_VM holds a copy of the whole
 * host, every thread's memory and secrets included, until it execs; and
 * its copy of another thread's writable shared mapping of a blob being
 * filled makes that thread's F_SEAL_WRITE fail with EBUSY. With CLONE_VM
 * nothing is copied, and CLONE_VFORK holds the calling thread (only it)
 * until the exec. The child then runs on its own small stack in the
 * host's memory, with the host's thread-local storage: it makes raw
 * syscalls only (no libc wrapper, which would write the calling thread's
 * errno or run a sanitizer's interceptors), and no sanitizer instruments
 * it. Nothing in it waits for the host, which is suspended: the uid/gid
 * maps the runner needs are written on its request, after the exec.
 *
 * clone(2), not clone3 (and by hand, not glibc's wrapper, see raw_clone_vm()):
 * everything needed is there, and container
 * runtimes' default seccomp profiles (and valgrind) refuse clone3.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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
	} else {
		/* ET_DYN is also what a position-independent executable is:
		 * the ELF reader tells them apart, and refuses what is
		 * malformed, with the same kind of hint. */
		struct ph__elf_info info = {0};

		r = ph__elf_read(fd, &info, why, why_len);
		if (r == 0 && (info.is_pie || info.has_interp)) {
			snprintf(why, why_len,
				 "a position-independent executable, not a shared object (build "
				 "it with -shared)");
			r = -ENOEXEC;
		} else if (r < 0 && r != -ENOEXEC && r != -E2BIG)
			snprintf(why, why_len, "cannot read it: %s", strerror(-r));
		ph__elf_info_free(&info); /* untouched (zero) unless it was read */
		if (r == -E2BIG)
			r = -ENOEXEC;
	}
out:
	close(fd);
	return r;
}

/* A syscall with no libc in between: no errno, no interceptor. */
__attribute__((always_inline)) static inline long raw_syscall(long nr, long a1, long a2, long a3,
							      long a4, long a5)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}

/* The kernel's struct sigaction, for rt_sigaction without libc. */
struct kernel_sigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

/* What the child needs, prepared by the host before the clone. */
struct child_args {
	int runner, ctl, sup, devnull;
	int out, errout; /* the plugin's stdout and stderr pipes (write ends), or -1 */
	int keep_exe;	 /* the runner's own file stays open as PH_FD_RUNNER_EXE */
	char *const *argv;
	char *const *envp;
	int err; /* written by the child when it cannot exec: a positive errno */
};

#define CHILD_STACK_SIZE (64 * 1024)

static _Noreturn void child_fail(struct child_args *a, long r)
{
	/* Shared memory: the host reads this once the vfork returns. */
	a->err = (int)-r;
	raw_syscall(SYS_exit, 127, 0, 0, 0, 0);
	__builtin_unreachable();
}

/*
 * In the child, between clone and exec, in the host's memory. Raw
 * syscalls only; every value it needs was computed by the host.
 */
__attribute__((noinline, no_sanitize_address, no_sanitize_thread, no_sanitize_undefined)) static int
child_main(void *arg)
{
	struct child_args *a = arg;
	const struct kernel_sigaction dfl = {0}; /* SIG_DFL */
	const uint64_t none = 0;
	long runner, ctl, devnull, sup = -1, out, err, r;

	/* Signal dispositions the host ignored would survive exec, and a
	 * handler of the host's must never run in this child: reset them
	 * all (the host blocked every signal around the clone), then take
	 * the empty mask exec will keep. */
	for (long sig = 1; sig < _NSIG; sig++)
		raw_syscall(SYS_rt_sigaction, sig, (long)&dfl, 0, sizeof(uint64_t), 0);
	raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&none, 0, sizeof(uint64_t), 0);

	/* Every fd we keep moves above the numbers we are about to fill
	 * (0-4) first: any of them may sit at 0-4 in the host, and a dup2
	 * onto it would silently swap it for something else. The runner's
	 * fd stays close-on-exec (an ELF binary exec'd by fd needs it only
	 * until the exec). */
	runner = raw_syscall(SYS_fcntl, a->runner, F_DUPFD_CLOEXEC, 10, 0, 0);
	ctl = raw_syscall(SYS_fcntl, a->ctl, F_DUPFD, 10, 0, 0);
	devnull = raw_syscall(SYS_fcntl, a->devnull, F_DUPFD, 10, 0, 0);
	if (a->sup >= 0)
		sup = raw_syscall(SYS_fcntl, a->sup, F_DUPFD, 10, 0, 0);
	if (runner < 0 || ctl < 0 || devnull < 0 || (a->sup >= 0 && sup < 0))
		child_fail(a, runner < 0 ? runner : ctl < 0 ? ctl : devnull < 0 ? devnull : sup);
	out = a->out >= 0 ? raw_syscall(SYS_fcntl, a->out, F_DUPFD, 10, 0, 0) : devnull;
	err = a->errout >= 0 ? raw_syscall(SYS_fcntl, a->errout, F_DUPFD, 10, 0, 0) : devnull;
	if (out < 0 || err < 0)
		child_fail(a, out < 0 ? out : err);

	/* Standard fds never point at the host's terminal or pipes: stdin
	 * is /dev/null, and no fd the plugin opens could be mistaken for
	 * it; stdout and stderr are pipes the host reads as log lines
	 * (stdio.c). Then only the control socket (fd 3) and, with a pid
	 * namespace, the supervisor channel (fd 4) cross over. */
	if ((r = raw_syscall(SYS_dup2, devnull, 0, 0, 0, 0)) < 0 ||
	    (r = raw_syscall(SYS_dup2, out, 1, 0, 0, 0)) < 0 ||
	    (r = raw_syscall(SYS_dup2, err, 2, 0, 0, 0)) < 0)
		child_fail(a, r);
	if ((r = raw_syscall(SYS_dup2, ctl, PH_FD_CONTROL, 0, 0, 0)) < 0)
		child_fail(a, r);
	if (sup >= 0 && (r = raw_syscall(SYS_dup2, sup, PH_FD_SUPERVISOR, 0, 0, 0)) < 0)
		child_fail(a, r);
	/* With a user namespace to make, the runner execs itself once more
	 * inside it (runner.c), from this very file. */
	if (a->keep_exe && (r = raw_syscall(SYS_dup2, runner, PH_FD_RUNNER_EXE, 0, 0, 0)) < 0)
		child_fail(a, r);
	{
		const long top = a->keep_exe ? PH_FD_RUNNER_EXE
				 : sup >= 0  ? PH_FD_SUPERVISOR
					     : PH_FD_CONTROL;

		if (sup < 0 && top > PH_FD_SUPERVISOR)
			raw_syscall(SYS_close, PH_FD_SUPERVISOR, 0, 0, 0, 0);
		if ((r = raw_syscall(SYS_close_range, top + 1, runner - 1, 0, 0, 0)) < 0 ||
		    (r = raw_syscall(SYS_close_range, runner + 1, ~0U, 0, 0, 0)) < 0)
			child_fail(a, r);
	}
	r = raw_syscall(SYS_execveat, runner, (long)"", (long)a->argv, (long)a->envp,
			AT_EMPTY_PATH);
	child_fail(a, r);
}

/*
 * clone(2) with a new stack, glibc's clone() done by hand: a sanitizer
 * intercepts that one, and ThreadSanitizer treats it as a fork, marking
 * the whole (shared!) address space as a child of a multi-threaded fork.
 * The child starts on stack_top with fn and arg popped from it, calls
 * fn(arg) and exits with its value (fn never returns here: it execs or
 * exits). x86_64: flags, stack, parent_tid (the pidfd), child_tid, tls.
 * Returns the child's pid or a negative errno.
 */
static long raw_clone_vm(unsigned long flags, void *stack_top, int *pidfd, int (*fn)(void *),
			 void *arg)
{
	void **sp = stack_top;
	register long r10 __asm__("r10") = 0;
	register long r8 __asm__("r8") = 0;
	long ret;

	*--sp = arg;
	*--sp = (void *)fn;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "xor %%ebp, %%ebp\n\t"
			 "pop %%rax\n\t"
			 "pop %%rdi\n\t"
			 "call *%%rax\n\t"
			 "mov %%eax, %%edi\n\t"
			 "mov $60, %%eax\n\t" /* SYS_exit */
			 "syscall\n\t"
			 "hlt\n\t"
			 "1:"
			 : "=a"(ret)
			 : "a"((long)SYS_clone), "D"(flags), "S"(sp), "d"(pidfd), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}
_Static_assert(SYS_exit == 60, "the trampoline's exit number");

int ph__spawn_runner(struct ph_plugin *p, int runner, uint64_t ns_flags, struct ph_result *fail)
{
	static char *const envp[] = {NULL};
	const int supervise = !!(ns_flags & CLONE_NEWPID), userns = !!(ns_flags & CLONE_NEWUSER);
	/* A root host can read the plugin's /proc files whoever owns its
	 * memory: its runner needs no re-exec inside the user namespace. */
	const int stay = userns && geteuid() == 0;
	/* The runner's first job, before it reads SETUP (runner.c). */
	char *argv[] = {(char *)"plughost-runner",
			!userns ? NULL
			: stay	? (char *)PH_RUNNER_ARG_USERNS_STAY
				: (char *)PH_RUNNER_ARG_USERNS,
			NULL};
	int sv[2] = {-1, -1}, sup[2] = {-1, -1}, pidfd = -1, r;
	_cleanup_close_ int devnull = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
	struct child_args args = {.runner = runner,
				  .keep_exe = userns && !stay,
				  .argv = argv,
				  .envp = envp,
				  .sup = -1,
				  .out = p->stdio_wr[0],
				  .errout = p->stdio_wr[1]};
	sigset_t all, old;
	void *stack;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
	    (supervise && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sup) < 0) ||
	    devnull < 0) {
		r = -errno;
		ph__result_setup(fail, PH_STEP_SPAWN, -r, "cannot create the control socket");
		goto out;
	}
	args.ctl = sv[1];
	args.sup = sup[1];
	args.devnull = devnull;

	/* The child's stack: ours is in use by this (suspended) thread. */
	stack = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED) {
		r = -errno;
		ph__result_setup(fail, PH_STEP_SPAWN, -r, "cannot map a stack for the child");
		goto out;
	}
	/* No handler of ours may run in the child before it has reset them
	 * all: block every signal around the clone (the child unblocks). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	/* Exit signal 0: an application's own waitpid(-1) must not reap our
	 * children; we wait on the pidfd with __WALL instead. */
	pid = (pid_t)raw_clone_vm(CLONE_VM | CLONE_VFORK | CLONE_PIDFD,
				  (char *)stack + CHILD_STACK_SIZE, &pidfd, child_main, &args);
	r = pid < 0 ? pid : 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	munmap(stack, CHILD_STACK_SIZE);
	if (r < 0) {
		ph__result_setup(fail, PH_STEP_SPAWN, -r, "clone failed");
		goto out;
	}
	if (args.err) {
		/* It never ran the runner: reap it here and say why. */
		siginfo_t si;

		r = -args.err;
		syscall(SYS_waitid, P_PIDFD, pidfd, &si, WEXITED | __WALL, NULL);
		close(pidfd);
		/* Named: it may not be plughost's (a script cannot be exec'd
		 * by fd, and says ENOENT then). */
		ph__result_setup(fail, PH_STEP_SPAWN, -r, "cannot exec the runner '%s'",
				 p->host->runner_path);
		goto out;
	}
	p->pid = pid;
	p->pidfd = pidfd;
	p->sock = sv[0];
	sv[0] = -1;
	p->sup = sup[0];
	sup[0] = -1;
	r = 0;
out:
	for (int i = 0; i < 2; i++) {
		safe_close(sv[i]);
		safe_close(sup[i]);
	}
	return r;
}
