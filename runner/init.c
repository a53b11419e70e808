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
	struct ph_msg_exit ex = {0};
	int traced = 0, configured = 0;
	pid_t child = fork();

	if (child < 0)
		ph__runner_fail(PH_STEP_SPAWN, errno, "cannot fork the plugin process");
	if (child == 0) {
		close(PH_FD_SUPERVISOR); /* the plugin never holds the supervisor channel */
		/* Stop once so init can set its options before going on. */
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0)
			raise(SIGSTOP);
		return;
	}
	/* The host learns the process it watches from the kernel: a pidfd
	 * of the plugin, sent before any plugin code runs. */
	{
#ifdef PH_TEST_CHILD_LIE
		/* Test build only (tests/meson.build): name the wrong process,
		 * so that the host's check of what it watches is exercised. */
		int pfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
#else
		int pfd = (int)syscall(SYS_pidfd_open, child, 0);
#endif

		if (pfd >= 0) {
			ph__msg_send(PH_FD_SUPERVISOR, PH_MSG_CHILD, 0, NULL, 0, &pfd, 1);
			close(pfd);
		}
	}

	/* Init needs nothing of the plugin's: not its control socket (the
	 * host must see EOF when the plugin dies), not the ring. */
	close(PH_FD_CONTROL);
	for (;;) {
		struct rusage ru = {0};
		siginfo_t info;
		int status, sig;
		pid_t pid = wait4(-1, &status, __WALL, &ru);

		if (pid < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (WIFSTOPPED(status)) {
			traced = 1;
			sig = WSTOPSIG(status);
			if (!configured && pid == child) {
				/* The first stop: trace its threads too, and take
				 * the plugin along if init itself should die. */
				ptrace(PTRACE_SETOPTIONS, pid, NULL,
				       (void *)(long)(PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL));
				configured = 1;
				ptrace(PTRACE_CONT, pid, NULL, NULL);
				continue;
			}
			/* Clone events, new threads' first stop, group stops:
			 * resume without a signal. SIGSTOP is swallowed: a
			 * stopped plugin would only wait out its deadline. */
			if ((status >> 16) != 0 || sig == SIGSTOP ||
			    ptrace(PTRACE_GETSIGINFO, pid, NULL, &info) < 0) {
				ptrace(PTRACE_CONT, pid, NULL, NULL);
				continue;
			}
			if (is_fault(sig) && info.si_code > 0) {
				/* Raised by the kernel for a fault (si_code > 0;
				 * a signal the plugin sent itself has <= 0). */
				ex.fault_signo = sig;
				ex.fault_code = info.si_code;
				ex.fault_addr = (uint64_t)(uintptr_t)info.si_addr;
			}
			ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig);
			continue;
		}
		if (pid != child)
			continue; /* a thread or stray grandchild: nothing to say */
		if (WIFEXITED(status)) {
			ex.how = CLD_EXITED;
			ex.status = WEXITSTATUS(status);
		} else {
			ex.how = WCOREDUMP(status) ? CLD_DUMPED : CLD_KILLED;
			ex.status = WTERMSIG(status);
		}
		/* Only the fault that killed it counts. */
		if (ex.how == CLD_EXITED || ex.fault_signo != ex.status)
			ex.fault_signo = ex.fault_code = 0, ex.fault_addr = 0;
		ex.traced = (uint32_t)traced;
		ex.user_usec =
		    (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec;
		ex.sys_usec =
		    (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
		ex.max_rss_kib = (uint64_t)ru.ru_maxrss;
		ph__msg_send(PH_FD_SUPERVISOR, PH_MSG_EXIT, 0, &ex, sizeof(ex), NULL, 0);
		/* Leaving tears the namespace down: nothing of it survives. */
		_exit(0);
	}
}
