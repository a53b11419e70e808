/* SPDX-License-Identifier: MIT */
/*
 * The limit watchdog and the instance's timer: the call's deadline, the
 * grace period after a hang-up, and periodic looks at the plugin's CPU
 * time, memory, fds and threads. Everything it concludes comes from the
 * kernel (/proc, timers), never from the plugin.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/param.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "internal.h"
#include "procstat.h"

/* How often the watchdog looks at memory, fds and threads during a call,
 * and at most how often it looks when calls end: calls that follow each
 * other faster share one look, so that its /proc reads are not paid per
 * call, yet an instance over a limit is still caught within a few ms. */
#define WATCH_INTERVAL_MS 10
#define WATCH_AT_END_MS	  1
#define FD_WATCH_MS	  100

/* ------------------------------------------------------------- limits */

static void kill_limit(struct ph_plugin *p, enum ph_result_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void kill_limit(struct ph_plugin *p, enum ph_result_kind kind, const char *fmt, ...)
{
	struct ph_result r;
	va_list ap;

	ph__result_init(&r, kind);
	va_start(ap, fmt);
	vsnprintf(r.message, sizeof(r.message), fmt, ap);
	va_end(ap);
	ph__plugin_kill(p, &r);
}

/*
 * The watchdog: look at the plugin's CPU time, memory, fds and threads as
 * the kernel reports them, and end the call at the first limit reached.
 * at_end: the call just finished (also check the peak, not just now).
 * Returns 0, or -EPROTO when it killed the plugin.
 */
int ph__check_limits(struct ph_plugin *p, int at_end)
{
	const struct ph_limits *l = &p->limits;
	const pid_t pid = p->plugin_pid;
	const int64_t now = ph__now_ms();
	uint64_t u, s;

	if (pid <= 0 || p->state == PH_STATE_DEAD)
		return 0;
	/* CPU from the process's clock: exact and one syscall, so every
	 * call's end looks at it. */
	if (l->cpu_ms) {
		const uint64_t cpu = ph__proc_cpu_clock_usec(pid);

		if (cpu && cpu - p->call.cpu0_usec >= l->cpu_ms * 1000) {
			kill_limit(p, PH_RESULT_CPU_LIMIT, "%llu ms of CPU (limit %llu ms)",
				   (unsigned long long)((cpu - p->call.cpu0_usec) / 1000),
				   (unsigned long long)l->cpu_ms);
			return -EPROTO;
		}
	}
	if (at_end && now - p->watch_last_ms < WATCH_AT_END_MS)
		return 0;
	p->watch_last_ms = now;
	if (ph__proc_cpu_usec(pid, &p->stat_fd, &u, &s) == 0) {
		p->usage.user_usec = u;
		p->usage.sys_usec = s;
	}
	{
		struct ph__proc_status st;

		if (ph__proc_status(pid, &p->status_fd, &st) == 0) {
			/* The peak, whenever we look: a call that went over its
			 * limit and came back under it between two looks is
			 * still caught. */
			uint64_t kib = st.hwm_kib > st.rss_kib ? st.hwm_kib : st.rss_kib;

			p->usage.max_rss_kib = st.hwm_kib;
			if (l->memory_bytes && kib * 1024 > l->memory_bytes) {
				kill_limit(p, PH_RESULT_MEMORY_LIMIT,
					   "%llu KiB resident (limit %llu KiB)",
					   (unsigned long long)kib,
					   (unsigned long long)(l->memory_bytes / 1024));
				return -EPROTO;
			}
			if (l->max_threads && st.threads >= l->max_threads) {
				kill_limit(p, PH_RESULT_THREAD_LIMIT, "%llu threads (limit %llu)",
					   (unsigned long long)st.threads,
					   (unsigned long long)l->max_threads);
				return -EPROTO;
			}
		}
	}
	/* Counting fds walks /proc/PID/fd, the dearest look: the kernel holds
	 * the plugin at RLIMIT_NOFILE anyway (a syscall fails with EMFILE),
	 * so a long call is looked at every FD_WATCH_MS, and every call at
	 * its end. */
	if (l->max_fds && (at_end || now - p->fds_last_ms >= FD_WATCH_MS)) {
		int n = ph__proc_count_fds(pid);

		p->fds_last_ms = now;

		/* At the limit means a syscall already failed with EMFILE. */
		if (n >= 0 && (unsigned)n >= l->max_fds) {
			kill_limit(p, PH_RESULT_FD_LIMIT, "%llu open fds (limit %llu)",
				   (unsigned long long)n, (unsigned long long)l->max_fds);
			return -EPROTO;
		}
	}
	return 0;
}

static int watching(const struct ph_plugin *p)
{
	const struct ph_limits *l = &p->limits;

	return l->cpu_ms || l->memory_bytes || l->max_fds || l->max_threads;
}

void ph__plugin_arm_timer(struct ph_plugin *p)
{
	struct itimerspec its = {0};

	if (p->timerfd < 0)
		return;
	int64_t wait = INT64_MAX;

	if (p->state == PH_STATE_IN_CALL) {
		if (watching(p)) {
			if (!p->call.watch_due_ms)
				p->call.watch_due_ms = ph__now_ms() + WATCH_INTERVAL_MS;
			wait = p->call.watch_due_ms - ph__now_ms();
		}
		if (p->call.deadline_ms)
			wait = MIN(wait, p->call.deadline_ms - ph__now_ms());
	}
	if (p->eof_deadline_ms && p->state != PH_STATE_DEAD)
		wait = MIN(wait, p->eof_deadline_ms - ph__now_ms());
	if (wait != INT64_MAX) {
		wait = wait < 1 ? 1 : wait;
		its.it_value.tv_sec = wait / 1000;
		its.it_value.tv_nsec = (wait % 1000) * 1000000;
	}
	if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) {
		uint64_t ticks;

		/* Nothing to arm, and nothing armed: no syscall (calls that
		 * end while the host spins never touch the timer). */
		if (!p->timer_armed)
			return;
		timerfd_settime(p->timerfd, 0, &its, NULL);
		p->timer_armed = 0;
		/* Disarmed: drop an expiry already counted, so the fd goes quiet. */
		if (read(p->timerfd, &ticks, sizeof(ticks)) < 0)
			(void)ticks;
		return;
	}
	timerfd_settime(p->timerfd, 0, &its, NULL);
	p->timer_armed = 1;
}

void ph__plugin_wake(struct ph_plugin *p)
{
	struct itimerspec its = {.it_value = {.tv_nsec = 1}};

	if (p->timerfd >= 0) {
		timerfd_settime(p->timerfd, 0, &its, NULL);
		p->timer_armed = 1;
	}
}

void ph__plugin_on_timer(struct ph_plugin *p)
{
	uint64_t ticks;

	if (read(p->timerfd, &ticks, sizeof(ticks)) < 0 || p->state == PH_STATE_DEAD)
		return;
	if (p->eof_deadline_ms && ph__now_ms() >= p->eof_deadline_ms) {
		ph__plugin_kill_protocol(p, "closed its control channel but did not exit");
		return;
	}
	if (p->state != PH_STATE_IN_CALL) {
		ph__plugin_arm_timer(p);
		return;
	}
	/* The deadline is the host's own clock: nothing the plugin does,
	 * spinning or blocked in a syscall, can move it. */
	if (p->call.deadline_ms && ph__now_ms() >= p->call.deadline_ms) {
		kill_limit(p, PH_RESULT_TIMEOUT, "%llu ms",
			   (unsigned long long)p->limits.timeout_ms);
		return;
	}
	/* The timer also fires to wake an event loop (ph__plugin_wake()):
	 * look at /proc only at the watch interval. */
	if (p->call.watch_due_ms && ph__now_ms() >= p->call.watch_due_ms) {
		p->call.watch_due_ms = ph__now_ms() + WATCH_INTERVAL_MS;
		if (ph__check_limits(p, 0) < 0)
			return;
	}
	ph__plugin_arm_timer(p);
}

/* Wait for init's CHILD message and take its pidfd of the plugin. Returns
 * 0, or a negative errno with what went wrong in *ret_why. */
int ph__take_child(struct ph_plugin *p, int timeout_ms, const char **ret_why)
{
	const int64_t deadline = ph__now_ms() + timeout_ms;
	struct pollfd pfd = {.fd = p->sup, .events = POLLIN};
	struct ph_msg *m;
	int r;

	for (;;) {
		int64_t left = deadline - ph__now_ms();

		r = poll(&pfd, 1, left <= 0 ? 0 : (int)MIN(left, INT_MAX));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*ret_why = "cannot poll the supervisor channel";
			return -errno;
		}
		if (r == 0) {
			*ret_why = "init did not name the plugin process in time";
			return -ETIMEDOUT;
		}
		break;
	}
	m = ph__msg_get();
	if (!m) {
		*ret_why = "out of memory";
		return -ENOMEM;
	}
	r = ph__msg_recv(p->sup, m, MSG_DONTWAIT, ret_why);
	if (r == 0 || r == -EAGAIN || r == -ECONNRESET) {
		*ret_why = "init hung up before naming the plugin process";
		r = -ESRCH;
	} else if (r < 0 && r != -EBADMSG) {
		*ret_why = "cannot read the supervisor channel";
	} else if (r == 1 && m->hdr.type != PH_MSG_CHILD) {
		*ret_why = "init sent another message where CHILD was due";
		r = -EPROTO;
	} else if (r == 1 && (r = ph__msg_check_fds(m, PH_DIR_INIT_TO_HOST, ph__plugin_phase(p),
						    ret_why)) == 0) {
		p->plugin_pidfd = m->fds[0];
		m->fds[0] = -1;
	}
	ph__msg_put(m);
	return r < 0 ? r : 0;
}

int ph__watch_start(struct ph_plugin *p, int timeout_ms, struct ph_result *fail)
{
	struct ph__proc_status st;
	const char *why = NULL;
	uint64_t u, s;
	pid_t pid;
	int r;

	if (p->sup < 0) {
		/* No pid namespace: the plugin is the child we cloned, and its
		 * pid came from clone itself. */
		pid = p->pid;
	} else {
		/*
		 * In its own pid namespace the plugin is init's child, which
		 * only init and the kernel can name: the pid comes from init's
		 * pidfd, as the kernel resolves it in our namespace. Nothing
		 * the plugin writes (it could fork, or lie on the control
		 * socket) decides which process the watchdog reads.
		 */
		/* A zygote's instance: taken when it was forked. */
		r = p->plugin_pidfd >= 0 ? 0 : ph__take_child(p, timeout_ms, &why);
		if (r < 0)
			goto fail;
		pid = ph__proc_pidfd_pid(p->plugin_pidfd);
		if (pid < 0) {
			r = pid;
			why = "init's pidfd names no live process";
			goto fail;
		}
	}

	/* Open the /proc files the watchdog keeps, and read each once: a
	 * limit that cannot be read is a limit that silently stops. */
	r = ph__proc_status(pid, &p->status_fd, &st);
	if (r < 0) {
		why = "cannot read its /proc status";
		goto fail;
	}
	r = ph__proc_cpu_usec(pid, &p->stat_fd, &u, &s);
	if (r < 0) {
		why = "cannot read its /proc stat";
		goto fail;
	}
	r = ph__proc_count_fds(pid);
	if (r < 0) {
		why = "cannot count its fds in /proc";
		goto fail;
	}
	if (p->sup >= 0) {
		/* The process those files show is init's child, and the pidfd
		 * still pins it after they were opened: the pid was not
		 * recycled in between, so the files are the plugin's. */
		if (st.ppid != (p->parent_pid ? p->parent_pid : p->pid)) {
			r = -ESRCH;
			why = "init's pidfd names a process that is not init's child";
			goto fail;
		}
		if (ph__proc_pidfd_pid(p->plugin_pidfd) != pid) {
			r = -ESRCH;
			why = "the plugin process exited while the host looked at it";
			goto fail;
		}
	}
	p->plugin_pid = pid;
	return 0;
fail:
	ph__result_setup(fail, PH_STEP_SPAWN, r == -EPROTO || r == -ETIMEDOUT ? 0 : -r,
			 "cannot watch the plugin's limits: %s", why);
	return r;
}
