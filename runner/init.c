/* SPDX-License-Identifier: MIT */
/*
 * The plugin's init: with a pid namespace the runner stays behind as pid 1
 * and the plugin runs as pid 2. Init never runs plugin code, holds the
 * supervisor channel the plugin never sees, and is the only one whose word
 * on how the plugin ended the host believes.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/user.h>
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
 * At a fault's signal-delivery-stop: the faulting thread's registers and
 * as much of its stack from rsp up as can be read, for the host's
 * backtrace. The thread is stopped, so nothing moves while we read; what
 * we read is the plugin's own state, which it controls (a garbage rsp
 * reads nothing, and that is all). PTRACE_PEEKDATA, a word at a time,
 * stops at the first word that cannot be read.
 */
/* Take the host's MEM message, waiting on sup since it was sent (the host
 * is trusted; the fd is checked anyway). Never blocks. */
static void take_mem(struct ph_init_child *c)
{
	static struct ph_msg m;

	for (int i = 0; i < 4 && c->mem_fd < 0; i++) {
		const char *why;

		if (ph__msg_recv(c->sup, &m, MSG_DONTWAIT, &why) != 1)
			return;
		if (m.hdr.type == PH_MSG_MEM && ph__parse_mem(&m, &why) == 0 &&
		    ph__msg_check_fds(&m, PH_DIR_HOST_TO_INIT, PH_PHASE_READY, &why) == 0) {
			c->mem_fd = m.fds[0];
			m.fds[0] = -1;
		}
		ph__msg_close_fds(&m);
	}
}

static void capture_fault(struct ph_init_child *c, pid_t tid, int sig)
{
	struct user_regs_struct r;
	uint32_t n = 0;

	memset(&c->crash, 0, sizeof(c->crash));
	if (ptrace(PTRACE_GETREGS, tid, NULL, &r) < 0)
		return;
	c->crash.signo = sig;
	c->crash.tid = tid;
	{
		const uint64_t regs[PH_CRASH_REGS] = {r.rip, r.rsp, r.rbp, r.rax, r.rbx, r.rcx,
						      r.rdx, r.rsi, r.rdi, r.r8,  r.r9,	 r.r10,
						      r.r11, r.r12, r.r13, r.r14, r.r15};

		memcpy(c->crash.regs, regs, sizeof(regs));
	}
	c->crash.eflags = r.eflags;
	/* Through the host's /proc/PID/mem of the plugin: the plugin is not
	 * dumpable, and init, which holds no capability, may not read its
	 * memory with PTRACE_PEEKDATA. A short read is the stack's end. */
	if (c->mem_fd < 0 && c->sup >= 0)
		take_mem(c);
	if (c->mem_fd >= 0 && r.rsp % 8 == 0 && r.rsp <= INT64_MAX - PH_CRASH_STACK_MAX) {
		ssize_t got;

		do
			got = pread(c->mem_fd, c->stack, PH_CRASH_STACK_MAX, (off_t)r.rsp);
		while (got < 0 && errno == EINTR);
		n = got > 0 ? (uint32_t)got / 8 : 0;
		c->crash.stack_len = n * 8;
		if (n)
			return;
	}
	/* Else (no MEM, or it read nothing) word by word, where the kernel
	 * lets a tracer (a dumpable plugin). */
	while (n < PH_CRASH_STACK_MAX / 8 && r.rsp % 8 == 0 && r.rsp + 8 * (n + 1) > r.rsp) {
		long w;

		errno = 0;
		w = ptrace(PTRACE_PEEKDATA, tid, (void *)(uintptr_t)(r.rsp + 8 * n), NULL);
		if (w == -1 && errno)
			break;
		c->stack[n++] = (uint64_t)w;
	}
	c->crash.stack_len = n * 8;
}

void ph__init_sup_ready(struct ph_init_child *c, short revents)
{
	if (revents & POLLIN)
		take_mem(c);
	/* Taken, or never to come (the host sends MEM once, and nothing
	 * else): stop watching, or a hung-up or chatty socket would spin. */
	if (c->mem_fd >= 0 || (revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)))
		c->sup_done = 1;
}

void ph__init_send_end(int sup, struct ph_init_child *c)
{
	/* Take the host's MEM first, if it is still waiting: a socket closed
	 * with unread data makes the host's next read ECONNRESET. */
	if (c->mem_fd < 0 && c->sup >= 0)
		take_mem(c);
	/* Only the fault that killed it: ph__init_on_wait() cleared the
	 * fault when the plugin ended otherwise. */
	if (c->ex.fault_signo && c->crash.signo == c->ex.fault_signo)
		ph__msg_send2(sup, PH_MSG_CRASH, 0, &c->crash, sizeof(c->crash), c->stack,
			      c->crash.stack_len, NULL, 0);
	ph__msg_send(sup, PH_MSG_EXIT, 0, &c->ex, sizeof(c->ex), NULL, 0);
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
			capture_fault(c, tid, sig);
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
 * address, which no wait status carries. At a fault it also reads the
 * faulting thread's registers and the top of its stack (read only: it
 * never writes the plugin's memory or registers) for the host's
 * backtrace. Where
 * tracing is refused (Yama ptrace_scope 3), crashes are reported without
 * an address. Returns in the child; never returns in init.
 */
void ph__runner_become_init(void)
{
	static struct ph_init_child c = {.sup = PH_FD_SUPERVISOR, .mem_fd = -1};
	sigset_t chld, old;
	pid_t child;
	int sfd;

	/* SIGCHLD as a readable fd, so that one poll() serves both the
	 * plugin's news and the host's MEM, which must not wait unread
	 * (ph__init_sup_ready()). Blocked before the fork: none is lost. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, &old) < 0 ||
	    (sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		ph__runner_fail(PH_STEP_SPAWN, errno, "init cannot watch the plugin");
	child = fork();
	if (child < 0)
		ph__runner_fail(PH_STEP_SPAWN, errno, "cannot fork the plugin process");
	if (child == 0) {
		close(sfd);
		sigprocmask(SIG_SETMASK, &old, NULL);
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
		struct signalfd_siginfo si;
		int status;
		pid_t pid = wait4(-1, &status, __WALL | WNOHANG, &ru), new_tid;

		if (pid > 0) {
			if (ph__init_on_wait(&c, pid, status, &ru, &new_tid) == 0)
				continue;
			ph__init_send_end(PH_FD_SUPERVISOR, &c);
			/* Leaving tears the namespace down: nothing of it survives. */
			_exit(0);
		}
		if (pid < 0 && errno != EINTR)
			_exit(1);
		if (pid == 0) {
			struct pollfd pfd[2] = {
			    {.fd = sfd, .events = POLLIN},
			    {.fd = c.sup_done ? -1 : PH_FD_SUPERVISOR, .events = POLLIN},
			};

			if (poll(pfd, 2, -1) < 0 && errno != EINTR)
				_exit(1);
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				;
			if (pfd[1].revents)
				ph__init_sup_ready(&c, pfd[1].revents);
		}
	}
}
