/* SPDX-License-Identifier: MIT */
/*
 * The runner's two requests while it makes its own namespaces, before any
 * plugin code exists (the SPAWNING phase, the only one in which the host
 * believes what the instance says; see runner.c's enter_namespaces()):
 *
 *  - USERNS: it has unshared its user namespace; write its uid/gid maps,
 *    which a root host maps to nobody and only a process outside may do;
 *  - INIT: it made the plugin's init in a new pid namespace, with
 *    CLONE_PARENT so that init is our own child, and hands us its pidfd.
 *    From then on the instance is init: we reap the runner and watch init.
 *
 * Each may come at most once, and only when the plan asked for that
 * namespace. The pidfd is checked on the kernel's word: a pidfd, of a
 * process whose parent is this process.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "procstat.h"
#include "sandbox.h"

#define RUNNER_EXIT_WAIT_MS 1000

int ph__on_userns(struct ph_plugin *p, struct ph_msg *m)
{
	struct ph_result r;
	int e;

	if (m->hdr.len != 0 || !(p->ns_flags & CLONE_NEWUSER) || (p->handshake & PH_HS_USERNS)) {
		ph__plugin_kill_protocol(
		    p, "USERNS out of place (unasked, repeated or with a payload)");
		return -EPROTO;
	}
	p->handshake |= PH_HS_USERNS;
	p->userns_ns = ph__now_ns();
	e = ph__ns_write_maps(p->pid);
	if (e < 0) {
		ph__result_setup(&r, PH_STEP_USERNS, -e, "cannot write the plugin's uid/gid maps");
		ph__plugin_kill(p, &r);
		return -EPROTO;
	}
	e = ph__msg_send(p->sock, PH_MSG_USERNS_MAPPED, 0, NULL, 0, NULL, 0);
	/* A runner gone meanwhile is seen by the pump; anything else is ours. */
	if (e < 0 && e != -EPIPE && e != -ECONNRESET) {
		ph__result_setup(&r, PH_STEP_HANDSHAKE, -e, "cannot answer the runner");
		ph__plugin_kill(p, &r);
		return -EPROTO;
	}
	return 0;
}

int ph__on_init(struct ph_plugin *p, struct ph_msg *m)
{
	struct pollfd pfd = {.fd = p->pidfd, .events = POLLIN};
	struct ph__proc_status st;
	siginfo_t si = {0};
	int pidfd;
	pid_t pid;

	if (m->hdr.len != 0 || m->nfds != 1 || !(p->ns_flags & CLONE_NEWPID) ||
	    (p->handshake & PH_HS_INIT)) {
		ph__plugin_kill_protocol(p,
					 "INIT out of place (unasked, repeated or with a payload)");
		return -EPROTO;
	}
	p->handshake |= PH_HS_INIT;
	pidfd = m->fds[0];
	m->fds[0] = -1;
	/* Init must be our own child (CLONE_PARENT), or we could neither
	 * reap it nor trust its pidfd to be the instance. */
	pid = ph__proc_pidfd_pid(pidfd);
	if (pid <= 0 || ph__proc_status(pid, NULL, &st) < 0 || st.ppid != getpid()) {
		close(pidfd);
		ph__plugin_kill_protocol(p, "INIT's pidfd is not of a child of the host");
		return -EPROTO;
	}
	/* The runner leaves right after sending it: reap it, never block
	 * for long on it. */
	if (poll(&pfd, 1, RUNNER_EXIT_WAIT_MS) != 1 ||
	    syscall(SYS_waitid, P_PIDFD, p->pidfd, &si, WEXITED | __WALL | WNOHANG, NULL) < 0 ||
	    si.si_code != CLD_EXITED || si.si_status != 0) {
		/* Whatever went wrong, init is ours now and must die too. */
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		syscall(SYS_waitid, P_PIDFD, pidfd, &si, WEXITED | __WALL, NULL);
		close(pidfd);
		ph__plugin_kill_protocol(p, "the runner did not exit cleanly after starting init");
		return -EPROTO;
	}
	close(p->pidfd);
	p->pidfd = pidfd;
	p->pid = pid;
	return 0;
}
