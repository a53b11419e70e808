/* SPDX-License-Identifier: MIT */
/*
 * How an instance ends: kill it through its pidfd, reap it, and settle the
 * one result that says how it ended, with its usage. The first cause wins;
 * a plugin that dies after the host decided why it must die cannot change
 * the verdict.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "internal.h"
#include "procstat.h"

/* ------------------------------------------------------------ lifecycle */

static void set_end(struct ph_plugin *p, const struct ph_result *r)
{
	if (p->end_set)
		return;
	p->end = *r;
	p->end_set = 1;
}

static void usage_from(struct ph_result *r, const struct rusage *ru)
{
	r->usage.user_usec =
	    (uint64_t)ru->ru_utime.tv_sec * 1000000u + (uint64_t)ru->ru_utime.tv_usec;
	r->usage.sys_usec =
	    (uint64_t)ru->ru_stime.tv_sec * 1000000u + (uint64_t)ru->ru_stime.tv_usec;
	r->usage.max_rss_kib = (uint64_t)ru->ru_maxrss;
}

/* The plugin's CPU time and peak memory as /proc shows them now. */
static void sample_usage(struct ph_plugin *p, struct ph_result *r)
{
	struct ph__proc_status st;

	if (p->plugin_pid <= 0 || p->state == PH_STATE_DEAD)
		return;
	if (ph__proc_cpu_usec(p->plugin_pid, &p->stat_fd, &r->usage.user_usec, &r->usage.sys_usec) <
	    0)
		return;
	if (ph__proc_status(p->plugin_pid, &p->status_fd, &st) == 0)
		r->usage.max_rss_kib = st.hwm_kib;
	/* /proc counts clock ticks; the CPU-time clock is exact (and is what
	 * the CPU limit is measured by). Time /proc has not counted yet goes
	 * to user time, which is where a plugin spends it. */
	{
		const uint64_t exact = ph__proc_cpu_clock_usec(p->plugin_pid);

		if (exact > r->usage.user_usec + r->usage.sys_usec)
			r->usage.user_usec = exact - r->usage.sys_usec;
	}
	p->usage = r->usage;
	p->watch_last_ms = ph__now_ms();
}

/* Usage for a call's result: what the watchdog saw at its last look, if
 * that is recent (the CPU times /proc gives count clock ticks anyway),
 * else a fresh look. */
#define USAGE_FRESH_MS 10

/* How long the host waits for a zygote's instance to be gone after the
 * kill, and then for the zygote's EXIT. */
#define ZYGOTE_EXIT_WAIT_MS 2000

/* Take init's report of the plugin's end, if it sent one, in place of
 * init's own status. Init is trusted (it never runs plugin code, and the
 * plugin never holds this channel), but its message is parsed strictly. */
static int read_exit(struct ph_plugin *p, siginfo_t *si, struct rusage *ru,
		     struct ph_msg_exit *ret_fault)
{
	struct ph_msg *m = ph__msg_get();
	struct ph_msg_exit ex;
	struct ph_msg_crash crash;
	int got = 0, have_crash = 0;

	/* Init sends CHILD, then CRASH after a fault, then EXIT: a CHILD the
	 * handshake never read (the instance died first) may still be queued
	 * ahead of them. Init has exited by now, so nothing more can arrive. */
	for (int i = 0; m && i < 4 && !got; i++) {
		const uint8_t *stack;

		int r = ph__msg_recv(p->sup, m, MSG_DONTWAIT, NULL);

		/* Init closed its end with our MEM unread: the kernel says so
		 * once, and what init sent is still queued after it. */
		if (r == -ECONNRESET && i == 0)
			continue;
		/* A zygote, alive, sends EXIT right after CRASH: the CRASH
		 * that woke us may have come alone. */
		if (r == -EAGAIN && have_crash) {
			struct pollfd pfd = {.fd = p->sup, .events = POLLIN};

			if (poll(&pfd, 1, ZYGOTE_EXIT_WAIT_MS) == 1)
				r = ph__msg_recv(p->sup, m, MSG_DONTWAIT, NULL);
		}
		if (r != 1)
			break;
		if (m->hdr.type == PH_MSG_CRASH && !have_crash && m->nfds == 0 &&
		    ph__parse_crash(m, &crash, &stack, NULL) == 0) {
			/* The plugin's registers and stack: they label its own
			 * backtrace and decide nothing (symbols.c). */
			ph__symbols_backtrace(p, &crash, stack);
			have_crash = 1;
		}
		if (m->hdr.type == PH_MSG_EXIT && ph__parse_exit(m, &ex, NULL) == 0) {
			si->si_code = ex.how;
			si->si_status = ex.status;
			memset(ru, 0, sizeof(*ru));
			ru->ru_utime.tv_sec = (time_t)(ex.user_usec / 1000000u);
			ru->ru_utime.tv_usec = (suseconds_t)(ex.user_usec % 1000000u);
			ru->ru_stime.tv_sec = (time_t)(ex.sys_usec / 1000000u);
			ru->ru_stime.tv_usec = (suseconds_t)(ex.sys_usec % 1000000u);
			ru->ru_maxrss = (long)ex.max_rss_kib;
			*ret_fault = ex;
			got = 1;
			/* Only the fault that ended it has a backtrace. */
			if (have_crash && ex.fault_signo != crash.signo) {
				free(p->backtrace);
				p->backtrace = NULL;
			}
		}
		ph__msg_close_fds(m);
	}
	ph__msg_put(m);
	p->sup = safe_close(p->sup);
	return got;
}


/* Reap the child (blocking) and settle how the instance ended. */
void ph__plugin_reap(struct ph_plugin *p)
{
	siginfo_t si;
	struct rusage ru;
	struct ph_result r;
	long w;
	/* An end to count in the metrics: it died, or was killed for a
	 * cause, once it was ready; a host stopping it is no end. */
	int count_end;

	if (p->pidfd < 0)
		return;
	count_end = (p->state == PH_STATE_IDLE || p->state == PH_STATE_IN_CALL) &&
		    !(p->killed && !p->end_set);
	memset(&si, 0, sizeof(si));
	memset(&ru, 0, sizeof(ru));
	if (p->parent_pid && p->sup >= 0) {
		/* A zygote's instance is the zygote's child, not ours: wait for
		 * the process to be gone, then for the zygote's word on it,
		 * which follows at once (a zygote that died says nothing). */
		struct pollfd pfd[2] = {{.fd = p->pidfd, .events = POLLIN},
					{.fd = p->sup, .events = POLLIN}};

		poll(&pfd[0], 1, ZYGOTE_EXIT_WAIT_MS);
		poll(&pfd[1], 1, ZYGOTE_EXIT_WAIT_MS);
		si.si_code = CLD_KILLED;
		si.si_status = SIGKILL;
	} else {
		do
			w = syscall(SYS_waitid, P_PIDFD, p->pidfd, &si, WEXITED | __WALL, &ru);
		while (w < 0 && errno == EINTR);
	}

	/* With a pid namespace the child we reaped is the plugin's init; it
	 * told us on the supervisor channel how the plugin itself ended. */
	struct ph_msg_exit fault = {0};
	int reported = p->sup < 0 || read_exit(p, &si, &ru, &fault);

	if (p->cfg.limits.memory_bytes &&
	    (uint64_t)ru.ru_maxrss * 1024 > p->cfg.limits.memory_bytes) {
		/* Whatever it died of, it had gone over its memory limit: the
		 * watchdog missed it between looks, or the address-space
		 * backstop made an allocation fail. */
		ph__result_init(&r, PH_RESULT_MEMORY_LIMIT);
		snprintf(r.message, sizeof(r.message), "peak %llu KiB",
			 (unsigned long long)ru.ru_maxrss);
	} else if (si.si_code == CLD_EXITED) {
		ph__result_init(&r, PH_RESULT_EXITED);
		r.code = si.si_status;
	} else if (si.si_status == SIGSYS) {
		/* Killed by a seccomp kill action: only the fallback mode
		 * (no user notification) gets here, and the kernel did not
		 * say which syscall. */
		ph__result_init(&r, PH_RESULT_VIOLATION);
	} else {
		ph__result_init(&r, PH_RESULT_CRASHED);
		r.crash.signo = si.si_status;
		/* The fault behind it, as the kernel told the plugin's init. */
		if (fault.fault_signo == si.si_status) {
			r.crash.si_code = fault.fault_code;
			r.crash.addr = fault.fault_addr;
		}
	}
	set_end(p, &r);
	/* The plugin's own rusage, unless we killed it: then init died with
	 * it before it could say, and the end carries what /proc said just
	 * before the kill. */
	if (reported && !p->killed)
		usage_from(&p->end, &ru);
	ph__metrics_ended(p, count_end);

	p->pidfd = safe_close(p->pidfd);
	p->plugin_pid = -1;
	p->plugin_pidfd = safe_close(p->plugin_pidfd);
	p->stat_fd = safe_close(p->stat_fd);
	p->status_fd = safe_close(p->status_fd);
	if (p->state == PH_STATE_IN_CALL)
		ph__deliver_leftovers(p);
	p->call.deadline_ms = 0;
	ph__plugin_arm_timer(p);
	/* Its last words: what it printed before it died (stdio.c). */
	ph__stdio_read(p, 1);
	p->state = PH_STATE_DEAD;
	p->sock = safe_close(p->sock);
	p->listener = safe_close(p->listener);
	p->wake_rd = safe_close(p->wake_rd);
}

void ph__plugin_kill(struct ph_plugin *p, const struct ph_result *why)
{
	if (why) {
		struct ph_result r = *why;

		/* Killed, it can no longer tell its usage: take it now. */
		sample_usage(p, &r);
		set_end(p, &r);
	}
	if (p->pidfd < 0)
		return;
	/* Through the pidfd: the pid cannot have been recycled under us. */
	syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
	p->killed = 1;
	ph__plugin_reap(p);
}

void ph__plugin_kill_protocol(struct ph_plugin *p, const char *why)
{
	struct ph_result r;

	ph__result_protocol(&r, why);
	ph__plugin_kill(p, &r);
}
void ph__plugin_usage(struct ph_plugin *p, struct ph_result *r)
{
	if (p->state == PH_STATE_DEAD || p->plugin_pid <= 0)
		r->usage = p->end.usage;
	else if (p->watch_last_ms && ph__now_ms() - p->watch_last_ms < USAGE_FRESH_MS)
		r->usage = p->usage;
	else
		sample_usage(p, r);
}
