/* SPDX-License-Identifier: MIT */
/*
 * The plugin's init: with a pid namespace the runner stays behind as pid 1
 * and the plugin runs as pid 2. Init never runs plugin code, holds the
 * supervisor channel the plugin never sees, and is the only one whose word
 * on how the plugin ended the host believes.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto.h"
#include "runner.h"

/* Signals the kernel raises for a fault, whose siginfo names the cause
 * (si_code) and the faulting address. */
static int is_fault(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP;
}

/*
 * One wait4() report about a traced plugin process (or one of its
 * threads, tid), for init and the zygote alike. Resumes stops (clone
 * events, new threads, group stops; SIGSTOP is swallowed: a stopped plugin
 * would only wait out its deadline), notes a fault the kernel raised, and
 * when the plugin itself has ended fills c->ex and returns 1. *new_tid is
 * set to a thread the plugin just created, or 0.
 */
int ph__init_on_wait(struct ph_init_child *c, pid_t tid, int status, const struct rusage *ru,
		     pid_t *new_tid)
{
	siginfo_t info;
	int sig;

	*new_tid = 0;
	if (WIFSTOPPED(status)) {
		c->traced = 1;
		sig = WSTOPSIG(status);
		if (!c->configured && tid == c->pid) {
			/* The first stop: trace its threads too, and take the
			 * plugin along if init itself should die. */
			ptrace(PTRACE_SETOPTIONS, tid, NULL,
			       (void *)(long)(PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL));
			c->configured = 1;
			ptrace(PTRACE_CONT, tid, NULL, NULL);
			return 0;
		}
		if ((status >> 16) == PTRACE_EVENT_CLONE) {
			unsigned long t = 0;

			if (ptrace(PTRACE_GETEVENTMSG, tid, NULL, &t) == 0)
				*new_tid = (pid_t)t;
		}
		if ((status >> 16) != 0 || sig == SIGSTOP ||
		    ptrace(PTRACE_GETSIGINFO, tid, NULL, &info) < 0) {
			ptrace(PTRACE_CONT, tid, NULL, NULL);
			return 0;
		}
		if (is_fault(sig) && info.si_code > 0) {
			/* Raised by the kernel for a fault (si_code > 0; a
			 * signal the plugin sent itself has <= 0). */
			c->ex.fault_signo = sig;
			c->ex.fault_code = info.si_code;
			c->ex.fault_addr = (uint64_t)(uintptr_t)info.si_addr;
		}
		ptrace(PTRACE_CONT, tid, NULL, (void *)(long)sig);
		return 0;
	}
	if (tid != c->pid)
		return 0; /* a thread or stray grandchild: nothing to say */
	if (WIFEXITED(status)) {
		c->ex.how = CLD_EXITED;
		c->ex.status = WEXITSTATUS(status);
	} else {
		c->ex.how = WCOREDUMP(status) ? CLD_DUMPED : CLD_KILLED;
		c->ex.status = WTERMSIG(status);
	}
	/* Only the fault that killed it counts. */
	if (c->ex.how == CLD_EXITED || c->ex.fault_signo != c->ex.status)
		c->ex.fault_signo = c->ex.fault_code = 0, c->ex.fault_addr = 0;
	c->ex.traced = (uint32_t)c->traced;
	c->ex.user_usec = (uint64_t)ru->ru_utime.tv_sec * 1000000u + (uint64_t)ru->ru_utime.tv_usec;
	c->ex.sys_usec = (uint64_t)ru->ru_stime.tv_sec * 1000000u + (uint64_t)ru->ru_stime.tv_usec;
	c->ex.max_rss_kib = (uint64_t)ru->ru_maxrss;
	return 1;
}

void ph__init_child_start(void)
{
	/* Stop once so init can set its options before going on. */
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0)
		raise(SIGSTOP);
}

int ph__init_send_child(int sup, pid_t child)
{
	/* The host learns the process it watches from the kernel: a pidfd
	 * of the plugin, sent before any plugin code runs. */
#ifdef PH_TEST_CHILD_LIE
	/* Test build only (tests/meson.build): name the wrong process, so
	 * that the host's check of what it watches is exercised. */
	int pfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	(void)child;
#else
	int pfd = (int)syscall(SYS_pidfd_open, child, 0);
#endif
	int r;

	if (pfd < 0)
		return -errno;
	r = ph__msg_send(sup, PH_MSG_CHILD, 0, NULL, 0, &pfd, 1);
	close(pfd);
	return r;
}

/*
 * Stay behind as init (pid 1 of the plugin's pid namespace) and let the
 * plugin run as pid 2. A pid 1 is immune to its own default-action
 * signals, so a plugin that was pid 1 could not even abort(); and only
 * init, which never runs plugin code, can tell the host truthfully how the
 * plugin ended.
 *
 * Init is also the plugin's tracer (PTRACE_TRACEME, before any filter or
 * plugin code): at each signal-delivery-stop the kernel hands it the
 * signal's siginfo, so a crash is reported with its si_code and fault
 * address, which no wait status carries. Init only ever reads siginfo and
 * resumes: it never touches the plugin's memory or registers. Where
 * tracing is refused (Yama ptrace_scope 3), crashes are reported without
 * an address. Returns in the child; never returns in init.
 */
void ph__runner_become_init(void)
{
	struct ph_init_child c = {0};
	pid_t child = fork();

	if (child < 0)
		ph__runner_fail(PH_STEP_SPAWN, errno, "cannot fork the plugin process");
	if (child == 0) {
		close(PH_FD_SUPERVISOR); /* the plugin never holds the supervisor channel */
		ph__init_child_start();
		return;
	}
	c.pid = child;
	ph__init_send_child(PH_FD_SUPERVISOR, child);

	/* Init needs nothing of the plugin's: not its control socket (the
	 * host must see EOF when the plugin dies), not the ring. */
	close(PH_FD_CONTROL);
	for (;;) {
		struct rusage ru = {0};
		int status;
		pid_t pid = wait4(-1, &status, __WALL, &ru), new_tid;

		if (pid < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (ph__init_on_wait(&c, pid, status, &ru, &new_tid) == 0)
			continue;
		ph__msg_send(PH_FD_SUPERVISOR, PH_MSG_EXIT, 0, &c.ex, sizeof(c.ex), NULL, 0);
		/* Leaving tears the namespace down: nothing of it survives. */
		_exit(0);
	}
}
