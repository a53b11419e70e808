/* SPDX-License-Identifier: MIT */
/*
 * The limit watchdog and the instance's timer: the call's deadline, the
 * grace period after a hang-up, and periodic looks at the plugin's CPU
 * time, memory, fds and threads. Everything it concludes comes from the
 * kernel (/proc, timers), never from the plugin.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/param.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "internal.h"
#include "procstat.h"

/* How often the watchdog looks at CPU, memory, fds and threads. */
#define WATCH_INTERVAL_MS 10

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

	if (pid <= 0 || p->state == PH_STATE_DEAD)
		return 0;
	if (l->cpu_ms) {
		uint64_t u, s;

		if (ph__proc_cpu_usec(pid, &p->stat_fd, &u, &s) == 0 &&
		    u + s - p->call.cpu0_usec >= l->cpu_ms * 1000) {
			kill_limit(p, PH_RESULT_CPU_LIMIT, "%llu ms of CPU (limit %llu ms)",
				   (unsigned long long)((u + s - p->call.cpu0_usec) / 1000),
				   (unsigned long long)l->cpu_ms);
			return -EPROTO;
		}
	}
	if (l->memory_bytes || l->max_threads) {
		struct ph__proc_status st;

		if (ph__proc_status(pid, &p->status_fd, &st) == 0) {
			uint64_t kib = at_end ? st.hwm_kib : st.rss_kib;

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
	if (l->max_fds) {
		int n = ph__proc_count_fds(pid);

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
		if (watching(p))
			wait = WATCH_INTERVAL_MS;
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
	timerfd_settime(p->timerfd, 0, &its, NULL);
	if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) {
		uint64_t ticks;

		/* Disarmed: drop an expiry already counted, so the fd goes quiet. */
		if (read(p->timerfd, &ticks, sizeof(ticks)) < 0)
			(void)ticks;
	}
}

void ph__plugin_wake(struct ph_plugin *p)
{
	struct itimerspec its = {.it_value = {.tv_nsec = 1}};

	if (p->timerfd >= 0)
		timerfd_settime(p->timerfd, 0, &its, NULL);
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
	if (ph__check_limits(p, 0) < 0)
		return;
	ph__plugin_arm_timer(p);
}
