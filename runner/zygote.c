/* SPDX-License-Identifier: MIT */
/*
 * The zygote: a runner that has made the sandbox's namespaces, built its
 * filesystem view and applied every layer but seccomp, and then forks one
 * instance per request instead of one plugin. It is pid 1 of the pid
 * namespace all its instances share, their init and tracer, and the only
 * one who tells the host how each of them ended.
 *
 * It forks before any plugin code exists, as Chromium's zygote does: each
 * instance loads the plugin itself, after its own seccomp filter and
 * listener are in force, so nothing a plugin's constructors do can be
 * inherited by a sibling. Only trusted code ever runs in here. What
 * siblings do share is in docs/security.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto.h"
#include "runner.h"
#include "util.h"

/* The most instances one zygote runs at a time; the host starts another
 * zygote, or a cold instance, beyond it. */
#define ZYGOTE_MAX 256 /* PH_ZYGOTE_MAX_INSTANCES in host/src/internal.h */
/* The zygote's own fd limit (each instance holds one supervisor socket
 * here), and where an instance's fds wait while the rest are closed. */
#define ZYGOTE_FD_HIGH 512u
/* Threads across all instances that the zygote tracks by tid. */
#define TIDS_MAX 4096

static struct instance {
	struct ph_init_child c;
	int sup; /* its supervisor socket; -1: the slot is free */
} inst[ZYGOTE_MAX];

static struct {
	pid_t tid;
	int16_t idx;
} tids[TIDS_MAX];

static int find_instance(pid_t tid)
{
	for (int i = 0; i < ZYGOTE_MAX; i++)
		if (inst[i].sup >= 0 && inst[i].c.pid == tid)
			return i;
	for (int i = 0; i < TIDS_MAX; i++)
		if (tids[i].tid == tid)
			return tids[i].idx;
	return -1;
}

static void remember_tid(pid_t tid, int idx)
{
	for (int i = 0; i < TIDS_MAX; i++)
		if (tids[i].tid == 0 || inst[tids[i].idx].sup < 0 || inst[tids[i].idx].c.pid == 0) {
			tids[i].tid = tid;
			tids[i].idx = (int16_t)idx;
			return;
		}
}

static void forget_tids(int idx)
{
	for (int i = 0; i < TIDS_MAX; i++)
		if (tids[i].tid && tids[i].idx == idx)
			tids[i].tid = 0;
}

/* Tell the instance on its control socket why it could not be made. */
static void fork_failed(int ctl, int err, const char *what)
{
	struct ph_msg_setup_failed f = {
	    .step = PH_STEP_SPAWN, .err = err, .msg_len = (uint32_t)strlen(what)};

	ph__msg_send2(ctl, PH_MSG_SETUP_FAILED, 0, &f, sizeof(f), what, f.msg_len, NULL, 0);
}

/*
 * In the new instance, right after the fork: its control socket becomes
 * fd 3, its ring and wake pipe and the fds in keep[] (the seccomp
 * programs, the plugin file) move to the lowest free numbers after it,
 * and every other fd the zygote holds (its own channel, the siblings'
 * supervisor sockets, the signalfd) is closed. Its stdout and stderr pipes
 * become fds 1 and 2 (the zygote's own are /dev/null). Then the instance's
 * own fd limit, below the zygote's, is set.
 */
static void become_instance(int ctl, int ring, int wake, int out, int err, int *ret_ring_fd,
			    int *ret_wake_fd, int *keep, unsigned int n_keep, uint32_t nofile)
{
	int fds[3 + 4];
	const unsigned int n = 3 + n_keep;

	if (n_keep > 4)
		_exit(1);
	fds[0] = ctl;
	fds[1] = ring;
	fds[2] = wake;
	for (unsigned int i = 0; i < n_keep; i++)
		fds[3 + i] = keep[i];
	/* Out of the way first, then everything else goes. */
	for (unsigned int i = 0; i < n; i++)
		if (fds[i] >= 0 && (fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, ZYGOTE_FD_HIGH)) < 0)
			_exit(1);
	/* The instance's own stdout and stderr, which the host reads as log
	 * lines: the plugin's printf() must reach its own host, never the
	 * zygote's /dev/null nor a sibling. dup2 clears close-on-exec. */
	if (dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
		_exit(1);
	syscall(SYS_close_range, (unsigned int)PH_FD_CONTROL, ZYGOTE_FD_HIGH - 1u, 0u);
	if (dup2(fds[0], PH_FD_CONTROL) < 0)
		_exit(1);
	for (unsigned int i = 1; i < n; i++)
		if (fds[i] >= 0 && (fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, PH_FD_CONTROL + 1)) < 0)
			_exit(1);
	syscall(SYS_close_range, ZYGOTE_FD_HIGH, ~0u, 0u);
	*ret_ring_fd = fds[1];
	*ret_wake_fd = fds[2];
	for (unsigned int i = 0; i < n_keep; i++)
		keep[i] = fds[3 + i];
	if (nofile) {
		struct rlimit rl = {nofile, nofile};

		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			_exit(1);
	}
}

void ph__runner_zygote(const struct ph_msg_sandboxed *ready, int *ret_ring_fd, int *ret_wake_fd,
		       uint64_t *ret_capacity, int *keep, unsigned int n_keep, uint32_t nofile)
{
	static struct ph_msg msg;
	sigset_t chld;
	int sfd;

	for (int i = 0; i < ZYGOTE_MAX; i++)
		inst[i].sup = -1;
	/* SIGCHLD as a readable fd, so that one poll() serves both the host's
	 * requests and the instances' ends. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, NULL) < 0 ||
	    (sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		ph__runner_fail(PH_STEP_SPAWN, errno, "the zygote cannot watch its instances");
	/* The supervisor socket of a cold spawn has no use here. */
	close(PH_FD_SUPERVISOR);
	if (ph__msg_send(PH_FD_CONTROL, PH_MSG_ZYGOTE_READY, 0, ready, sizeof(*ready), NULL, 0) < 0)
		_exit(1);
	/* The parent-death signal follows the host thread that started us,
	 * and a zygote serves the whole host: it must outlive that thread.
	 * It goes when the host process does, as its channel then hangs up
	 * (below); its instances die with it (pid 1 of their namespace). */
	prctl(PR_SET_PDEATHSIG, 0);
	if (poll(&(struct pollfd){.fd = PH_FD_CONTROL, .events = 0}, 1, 0) == 1)
		_exit(0); /* the host went away meanwhile */

	for (;;) {
		/* The host's requests, the instances' ends, and each new
		 * instance's supervisor socket until the host's MEM is taken
		 * from it (ph__init_sup_ready()). */
		static struct pollfd pfd[2 + ZYGOTE_MAX];
		static int sup_of[ZYGOTE_MAX];
		nfds_t n = 2;

		pfd[0] = (struct pollfd){.fd = PH_FD_CONTROL, .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = sfd, .events = POLLIN};
		for (int i = 0; i < ZYGOTE_MAX; i++)
			if (inst[i].sup >= 0 && !inst[i].c.sup_done) {
				sup_of[n - 2] = i;
				pfd[n++] = (struct pollfd){.fd = inst[i].sup, .events = POLLIN};
			}
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		for (nfds_t k = 2; k < n; k++)
			if (pfd[k].revents)
				ph__init_sup_ready(&inst[sup_of[k - 2]].c, pfd[k].revents);
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			struct rusage ru;
			int status;
			pid_t tid, new_tid;

			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				;
			while ((tid = wait4(-1, &status, __WALL | WNOHANG, &ru)) > 0) {
				int i = find_instance(tid);

				if (i < 0) {
					/* Not one of ours to report on (cannot
					 * happen: nothing else runs here). */
					if (WIFSTOPPED(status))
						ptrace(PTRACE_CONT, tid, NULL, NULL);
					continue;
				}
				if (ph__init_on_wait(&inst[i].c, tid, status, &ru, &new_tid) == 0) {
					if (new_tid > 0)
						remember_tid(new_tid, i);
					continue;
				}
				ph__init_send_end(inst[i].sup, &inst[i].c);
				inst[i].c.mem_fd = safe_close(inst[i].c.mem_fd);
				inst[i].sup = safe_close(inst[i].sup);
				forget_tids(i);
			}
		}
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;

		const char *why;
		struct ph_msg_fork f;
		int r = ph__msg_recv(PH_FD_CONTROL, &msg, 0, &why), slot = -1;
		pid_t child;

		/* The host hung up: leaving tears the namespace down, every
		 * instance with it. */
		if (r <= 0)
			_exit(r == 0 ? 0 : 1);
		if (msg.hdr.type != PH_MSG_FORK || ph__parse_fork(&msg, &f, &why) < 0 ||
		    ph__msg_check_fds(&msg, PH_DIR_HOST_TO_RUNNER, PH_PHASE_READY, &why) < 0) {
			/* The host is trusted: anything else is a bug there. */
			ph__msg_close_fds(&msg);
			_exit(72);
		}
		for (int i = 0; i < ZYGOTE_MAX && slot < 0; i++)
			if (inst[i].sup < 0)
				slot = i;
		if (slot < 0) {
			fork_failed(msg.fds[0], EAGAIN,
				    "the zygote runs as many instances as it may");
			ph__msg_close_fds(&msg);
			continue;
		}
		child = fork();
		if (child == 0) {
			sigprocmask(SIG_UNBLOCK, &chld, NULL);
			/* Die with the zygote, and with it with the host. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			become_instance(msg.fds[0], msg.fds[2], msg.fds[3], msg.fds[4], msg.fds[5],
					ret_ring_fd, ret_wake_fd, keep, n_keep, nofile);
			*ret_capacity = f.ring_capacity;
			ph__init_child_start();
			return;
		}
		if (child < 0) {
			fork_failed(msg.fds[0], errno, "the zygote cannot fork");
			ph__msg_close_fds(&msg);
			continue;
		}
		memset(&inst[slot].c, 0, sizeof(inst[slot].c));
		inst[slot].c.pid = child;
		inst[slot].c.mem_fd = -1;
		inst[slot].sup = msg.fds[1];
		inst[slot].c.sup = inst[slot].sup;
		msg.fds[1] = -1;
		ph__msg_close_fds(&msg);
		if (ph__init_send_child(inst[slot].sup, child) < 0)
			/* The host will not watch it: it must not run. */
			kill(child, SIGKILL);
	}
}
