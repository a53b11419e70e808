/* SPDX-License-Identifier: MIT */
/*
 * The life of a running instance as the host sees it: the event pump over
 * the control socket, the pidfd, the seccomp listener, the ring and the
 * limit timer; message dispatch by state; the limit watchdog; and how the
 * instance ends. Everything the child says is checked against the state
 * it is in; anything out of place ends the instance as a protocol
 * violation. Everything the host concludes about limits comes from the
 * kernel (/proc, rusage, timers), never from the plugin.
 */
#include <errno.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/param.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>

#include "internal.h"
#include "procstat.h"
#include "sandbox.h"

#define EOF_GRACE_MS	   1000
#define LOG_LINES_PER_CALL 1000
#define LOG_LINES_PER_SEC  100
#define MESSAGES_PER_PASS  64
/* How often the watchdog looks at CPU, memory, fds and threads. */
#define WATCH_INTERVAL_MS 10

static pthread_key_t msg_key;
static pthread_once_t msg_key_once = PTHREAD_ONCE_INIT;

static void msg_key_create(void)
{
	/* free() runs at each thread's exit: a host calling us from many
	 * short-lived threads leaks nothing. */
	pthread_key_create(&msg_key, free);
}

/* The receive buffer: 64 KiB per message, so one per thread rather than
 * on the stack. NULL when out of memory. */
static struct ph_msg *msg_buf(void)
{
	struct ph_msg *m;

	pthread_once(&msg_key_once, msg_key_create);
	m = pthread_getspecific(msg_key);
	if (!m) {
		m = malloc(sizeof(*m));
		if (m && pthread_setspecific(msg_key, m) != 0) {
			free(m);
			m = NULL;
		}
	}
	return m;
}

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
}

static void deliver_leftovers(struct ph_plugin *p);
static int check_limits(struct ph_plugin *p, int at_end);

/* Take init's report of the plugin's end, if it sent one, in place of
 * init's own status. Init is trusted (it never runs plugin code, and the
 * plugin never holds this channel), but its message is parsed strictly. */
static int read_exit(struct ph_plugin *p, siginfo_t *si, struct rusage *ru,
		     struct ph_msg_exit *ret_fault)
{
	int got = 0;

	struct ph_msg *m = msg_buf();
	struct ph_msg_exit ex;

	if (m && ph__msg_recv(p->sup, m, MSG_DONTWAIT, NULL) == 1) {
		if (ph__parse_exit(m, &ex, NULL) == 0) {
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
		}
		ph__msg_close_fds(m);
	}
	close(p->sup);
	p->sup = -1;
	return got;
}

/* Reap the child (blocking) and settle how the instance ended. */
static void reap(struct ph_plugin *p)
{
	siginfo_t si;
	struct rusage ru;
	struct ph_result r;
	long w;

	if (p->pidfd < 0)
		return;
	memset(&si, 0, sizeof(si));
	memset(&ru, 0, sizeof(ru));
	do
		w = syscall(SYS_waitid, P_PIDFD, p->pidfd, &si, WEXITED | __WALL, &ru);
	while (w < 0 && errno == EINTR);

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

	close(p->pidfd);
	p->pidfd = -1;
	p->plugin_pid = -1;
	if (p->stat_fd >= 0)
		close(p->stat_fd);
	if (p->status_fd >= 0)
		close(p->status_fd);
	p->stat_fd = p->status_fd = -1;
	if (p->state == PH_STATE_IN_CALL)
		deliver_leftovers(p);
	p->call.deadline_ms = 0;
	ph__plugin_arm_timer(p);
	p->state = PH_STATE_DEAD;
	if (p->sock >= 0)
		close(p->sock);
	if (p->listener >= 0)
		close(p->listener);
	p->sock = p->listener = -1;
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
	reap(p);
}

static void kill_protocol(struct ph_plugin *p, const char *why)
{
	struct ph_result r;

	ph__result_protocol(&r, why);
	ph__plugin_kill(p, &r);
}

/* ------------------------------------------------------------- messages */

/* Copy hostile text into a printable, NUL-terminated host string. */
static char *clean_strdup(struct ph_str s)
{
	char *out = malloc(s.len + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < s.len; i++)
		out[i] = s.p[i] >= 0x20 && s.p[i] < 0x7f ? s.p[i] : '?';
	out[s.len] = '\0';
	return out;
}

static void clean_copy(char *dst, size_t dst_len, struct ph_str s)
{
	size_t n = s.len < dst_len - 1 ? s.len : dst_len - 1;

	for (size_t i = 0; i < n; i++)
		dst[i] = s.p[i] >= 0x20 && s.p[i] < 0x7f ? s.p[i] : '?';
	dst[n] = '\0';
}

static int on_sandboxed(struct ph_plugin *p, struct ph_msg *m)
{
	struct ph_msg_sandboxed sb;
	const char *why;

	if (ph__parse_sandboxed(m, &sb, &why) < 0) {
		kill_protocol(p, why);
		return -EPROTO;
	}
	if (m->nfds == 1) {
		/* The runner sent this before any plugin code ran, so the fd is
		 * the runner's; still make sure it is a seccomp listener (an
		 * unknown id is ENOENT there, ENOTTY or EINVAL elsewhere). */
		uint64_t id = 0;

		if (ioctl(m->fds[0], SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0 || errno != ENOENT) {
			kill_protocol(p, "SANDBOXED carried an fd that is not a seccomp listener");
			return -EPROTO;
		}
		p->listener = m->fds[0];
		m->fds[0] = -1;
	}
	p->layers = sb.layers;
	p->state = PH_STATE_LOADING;
	return 0;
}

static int on_loaded(struct ph_plugin *p, struct ph_msg *m)
{
	struct ph_loaded_view *v = malloc(sizeof(*v));
	const char *why;

	if (!v)
		return -ENOMEM;
	if (ph__parse_loaded(m, v, &why) < 0) {
		free(v);
		kill_protocol(p, why);
		return -EPROTO;
	}
	p->name = clean_strdup(v->name);
	p->version = clean_strdup(v->version);
	p->methods = calloc(v->n_methods ? v->n_methods : 1, sizeof(char *));
	if (!p->name || !p->version || !p->methods) {
		free(v);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < v->n_methods; i++) {
		p->methods[i] = clean_strdup(v->methods[i]);
		if (!p->methods[i]) {
			free(v);
			return -ENOMEM;
		}
		p->n_methods = i + 1;
	}
	free(v);
	/* The process to watch: with a pid namespace, init's only child. */
	p->plugin_pid = p->sup >= 0 ? ph__proc_first_child(p->pid) : p->pid;
	/* From now on the loader's syscalls are violations (stage 2). */
	p->state = PH_STATE_IDLE;
	return 0;
}

static int on_setup_failed(struct ph_plugin *p, struct ph_msg *m)
{
	struct ph_failed_view v;
	struct ph_result r;
	const char *why;
	char text[sizeof(r.message)];

	if (ph__parse_failed(m, &v, &why) < 0) {
		kill_protocol(p, why);
		return -EPROTO;
	}
	clean_copy(text, sizeof(text), v.msg);
	ph__result_setup(&r, (int)v.fixed.step, v.fixed.err, "%s", text);
	ph__plugin_kill(p, &r);
	return -EPROTO;
}

/* Output sink: count, then hand to the caller's callback. */
static int deliver(void *userdata, const void *buf, size_t len)
{
	struct ph_plugin *p = userdata;
	const uint64_t quota = p->limits.output_bytes;
	int r = 0;

	/* Deliver up to the quota, never a byte past it. */
	if (quota && p->call.received + len > quota) {
		len = (size_t)(quota - p->call.received);
		p->call.quota_hit = 1;
	}
	p->call.received += len;
	if (p->call.fn && len)
		r = p->call.fn(p->call.userdata, buf, len);
	if (r == 0 && p->call.quota_hit)
		r = -EDQUOT;
	return r;
}

/* Drain the ring for the current call. Returns 0 or negative when the
 * instance was killed (protocol) or the sink refused. */
static int drain_ring(struct ph_plugin *p)
{
	const char *why = NULL;
	int64_t n;

	n = ph__ring_consume(&p->ring, p->call.id, deliver, p, UINT64_MAX, &why);
	if (n == -EPROTO) {
		kill_protocol(p, why);
		return -EPROTO;
	}
	if (n == -EDQUOT && p->call.quota_hit) {
		struct ph_result r;

		ph__result_init(&r, PH_RESULT_OUTPUT_QUOTA);
		snprintf(r.message, sizeof(r.message), "%llu bytes",
			 (unsigned long long)p->limits.output_bytes);
		ph__plugin_kill(p, &r);
		return (int)n;
	}
	if (n < 0) {
		struct ph_result r;

		/* The caller said stop: it hears nothing more of this call,
		 * not even what is left in the ring when the plugin dies. */
		p->call.fn = NULL;
		ph__result_init(&r, PH_RESULT_CRASHED);
		r.crash.signo = SIGKILL;
		snprintf(r.message, sizeof(r.message),
			 "killed by the host: the output callback failed (%s)", strerror((int)-n));
		ph__plugin_kill(p, &r);
		return (int)n;
	}
	return 0;
}

/* The child died mid-call: hand over what it managed to publish. */
static void deliver_leftovers(struct ph_plugin *p)
{
	ph__ring_consume(&p->ring, p->call.id, deliver, p, UINT64_MAX, NULL);
}

static int on_done(struct ph_plugin *p, struct ph_msg *m)
{
	struct ph_done_view v;
	struct ph_result *r = &p->call.result;
	const char *why;
	int rr;

	if (ph__parse_done(m, &v, &why) < 0) {
		kill_protocol(p, why);
		return -EPROTO;
	}
	if (m->hdr.call_id != p->call.id) {
		kill_protocol(p, "DONE for a call that is not in progress");
		return -EPROTO;
	}
	/* The plugin published everything before DONE: take it all now. */
	rr = drain_ring(p);
	if (rr < 0)
		return rr;
	if (v.fixed.output_bytes != p->call.received) {
		kill_protocol(p, "DONE reports a different output size than the ring delivered");
		return -EPROTO;
	}
	switch (v.fixed.status) {
	case PH_DONE_OK:
		ph__result_init(r, PH_RESULT_OK);
		break;
	default:
		ph__result_init(r, PH_RESULT_PLUGIN_ERROR);
		r->code = v.fixed.status == PH_DONE_ERROR ? v.fixed.code : -1;
		clean_copy(r->message, sizeof(r->message), v.msg);
		break;
	}
	p->call.done = 1;
	p->state = PH_STATE_IDLE;
	/* A call that ends at a limit, or went over one between looks, ends
	 * as that limit. */
	return check_limits(p, 1);
}

static void on_log(struct ph_plugin *p, struct ph_msg *m)
{
	static const enum ph_log_severity sev[] = {PH_SEV_ERROR, PH_SEV_WARN, PH_SEV_INFO,
						   PH_SEV_DEBUG};
	struct ph_log_view v;
	const char *why;
	char text[PH_TEXT_MAX + 1];

	if (ph__parse_log(m, &v, &why) < 0) {
		kill_protocol(p, why);
		return;
	}
	if (m->hdr.call_id != p->call.id) {
		kill_protocol(p, "LOG for a call that is not in progress");
		return;
	}
	/* Bounded per second and per call: a chatty plugin cannot flood the
	 * host's log. */
	if (ph__now_ms() - p->log_window_ms >= 1000) {
		p->log_window_ms = ph__now_ms();
		p->log_in_window = 0;
	}
	if (++p->log_in_window > LOG_LINES_PER_SEC)
		return;
	if (++p->call.log_lines > LOG_LINES_PER_CALL) {
		if (p->call.log_lines == LOG_LINES_PER_CALL + 1)
			ph__log(
			    p->host, p, PH_SEV_WARN,
			    "plugin '%s': more than %d log lines in one call, dropping the rest",
			    p->name, LOG_LINES_PER_CALL);
		return;
	}
	clean_copy(text, sizeof(text), v.text);
	ph__log(p->host, p, sev[v.level], "%s", text);
}

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
static int check_limits(struct ph_plugin *p, int at_end)
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

static void on_timer(struct ph_plugin *p)
{
	uint64_t ticks;

	if (read(p->timerfd, &ticks, sizeof(ticks)) < 0 || p->state == PH_STATE_DEAD)
		return;
	if (p->eof_deadline_ms && ph__now_ms() >= p->eof_deadline_ms) {
		kill_protocol(p, "closed its control channel but did not exit");
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
	if (check_limits(p, 0) < 0)
		return;
	ph__plugin_arm_timer(p);
}

void ph__plugin_usage(struct ph_plugin *p, struct ph_result *r)
{
	if (p->state == PH_STATE_DEAD || p->plugin_pid <= 0)
		r->usage = p->end.usage;
	else
		sample_usage(p, r);
}

/* Handle one message in the current state. */
static int dispatch(struct ph_plugin *p, struct ph_msg *m)
{
	const uint16_t t = m->hdr.type;

	switch (p->state) {
	case PH_STATE_SPAWNING:
		if (t == PH_MSG_SANDBOXED)
			return on_sandboxed(p, m);
		if (t == PH_MSG_SETUP_FAILED)
			return on_setup_failed(p, m);
		break;
	case PH_STATE_LOADING:
		if (t == PH_MSG_LOADED)
			return on_loaded(p, m);
		if (t == PH_MSG_SETUP_FAILED)
			return on_setup_failed(p, m);
		break;
	case PH_STATE_IN_CALL:
		if (t == PH_MSG_DONE)
			return on_done(p, m);
		if (t == PH_MSG_LOG) {
			on_log(p, m);
			return 0;
		}
		if (t == PH_MSG_DOORBELL)
			return 0;
		break;
	case PH_STATE_IDLE:
		/* A doorbell can trail the last call; harmless. */
		if (t == PH_MSG_DOORBELL)
			return 0;
		break;
	case PH_STATE_DEAD:
		return 0;
	}
	kill_protocol(p, "unexpected message type for the instance's state");
	return -EPROTO;
}

/* Read every waiting message. Returns 1 on EOF, 0 otherwise. */
static int read_messages(struct ph_plugin *p)
{
	struct ph_msg *m = msg_buf();
	const char *why;

	if (!m)
		return 0;
	/* At most a batch per pass: a plugin sending messages as fast as we
	 * read them must not keep one pass (one ph_plugin_process()) going
	 * forever; the socket stays readable and the next pass goes on. */
	for (int batch = 0; p->sock >= 0 && batch < MESSAGES_PER_PASS; batch++) {
		int r = ph__msg_recv(p->sock, m, MSG_DONTWAIT, &why);

		if (r == -EAGAIN)
			return 0;
		if (r == 0)
			return 1;
		if (r == -EBADMSG) {
			kill_protocol(p, why);
			return 0;
		}
		if (r < 0)
			return 1; /* ECONNRESET and the like: treat as EOF */
		r = dispatch(p, m);
		ph__msg_close_fds(m);
		if (r < 0)
			return 0;
		/* Handshake messages change what comes next: let the caller
		 * look at the new state before reading on. */
		if (p->state != PH_STATE_IN_CALL)
			return 0;
	}
	return 0;
}

/* --------------------------------------------------- seccomp notifications */

static void handle_notification(struct ph_plugin *p)
{
	struct seccomp_notif *n = p->notif_buf;
	struct seccomp_notif_resp *resp;
	struct ph_result r;

	memset(n, 0, p->notif_size);
	if (ioctl(p->listener, SECCOMP_IOCTL_NOTIF_RECV, n) < 0)
		return; /* ENOENT: the task died meanwhile; EINTR: poll again */

	/* Stage 1: while the plugin loads, the loader's own syscalls go on.
	 * CONTINUE is only safe because these are allowed anyway in this
	 * phase; the decision never depends on pointed-to memory. */
	if (p->state == PH_STATE_LOADING &&
	    ph__policy_loader_allows(n->data.arch, n->data.nr, (const uint64_t *)n->data.args)) {
		resp = (struct seccomp_notif_resp *)((char *)p->notif_buf + p->notif_size);
		memset(resp, 0, p->resp_size);
		resp->id = n->id;
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		/* ENOENT: no longer pending (the task died, or a signal cut
		 * the syscall short and it will come back as a new
		 * notification). Either way nothing was refused. */
		if (ioctl(p->listener, SECCOMP_IOCTL_NOTIF_SEND, resp) == 0 || errno == ENOENT)
			return;
	}

	/* Anything else: the kernel tells us what was refused; kill. */
	ph__result_init(&r, PH_RESULT_VIOLATION);
	r.violation.nr = n->data.nr;
	r.violation.arch = n->data.arch;
	memcpy(r.violation.args, n->data.args, sizeof(r.violation.args));
	ph__syscall_describe(n->data.arch, n->data.nr, r.violation.args, r.violation.name,
			     sizeof(r.violation.name), r.message, sizeof(r.message));
	ph__plugin_kill(p, &r);
}

static void drop_listener(struct ph_plugin *p)
{
	if (p->epfd >= 0)
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, p->listener, NULL);
	close(p->listener);
	p->listener = -1;
}

int ph__notif_setup(struct ph_plugin *p)
{
	struct seccomp_notif_sizes sizes;

	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
		return -errno;
	/* The kernel's structs may be larger than our headers' ones. */
	p->notif_size = sizes.seccomp_notif > sizeof(struct seccomp_notif)
			    ? sizes.seccomp_notif
			    : sizeof(struct seccomp_notif);
	p->resp_size = sizes.seccomp_notif_resp > sizeof(struct seccomp_notif_resp)
			   ? sizes.seccomp_notif_resp
			   : sizeof(struct seccomp_notif_resp);
	p->notif_buf = calloc(1, p->notif_size + p->resp_size);
	return p->notif_buf ? 0 : -ENOMEM;
}

/* ------------------------------------------------------------------ pump */

int64_t ph__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The control socket closed: the child is dying, or it hung up on us and
 * keeps running. Stop watching the socket (a closed peer reads as ready
 * forever) and give the child EOF_GRACE_MS to be reaped; the timer kills
 * it after that. Never blocks: the caller's event loop goes on meanwhile.
 */
static void on_eof(struct ph_plugin *p)
{
	if (p->sock < 0)
		return;
	if (p->epfd >= 0)
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, p->sock, NULL);
	close(p->sock);
	p->sock = -1;
	p->eof_deadline_ms = ph__now_ms() + EOF_GRACE_MS;
	ph__plugin_arm_timer(p);
}

int ph__plugin_pump(struct ph_plugin *p, enum ph_plugin_state while_state, int timeout_ms)
{
	const int64_t deadline = timeout_ms < 0 ? INT64_MAX : ph__now_ms() + timeout_ms;

	while (p->state == while_state) {
		struct pollfd pfd[4];
		int nfds = 0, wait_ms, r;

		if (p->state == PH_STATE_IN_CALL) {
			if (drain_ring(p) < 0)
				break;
			/* Ask for a doorbell; if data slipped in, go round. */
			if (ph__ring_consumer_want_doorbell(&p->ring))
				continue;
		}

		enum { SOCK, PIDFD, TIMER, LISTENER };
		pfd[SOCK] = (struct pollfd){.fd = p->sock, .events = POLLIN};
		pfd[PIDFD] = (struct pollfd){.fd = p->pidfd, .events = POLLIN};
		pfd[TIMER] = (struct pollfd){.fd = p->timerfd, .events = POLLIN};
		pfd[LISTENER] = (struct pollfd){.fd = p->listener, .events = POLLIN};
		nfds = p->listener >= 0 ? 4 : 3;

		if (deadline == INT64_MAX)
			wait_ms = -1;
		else {
			int64_t left = deadline - ph__now_ms();
			wait_ms = left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
		}
		r = poll(pfd, (nfds_t)nfds, wait_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		/* Nothing yet: the doorbell request stays up, so that a caller
		 * sleeping in its own event loop is woken by new output. */
		if (r == 0)
			return -ETIMEDOUT;
		if (p->state == PH_STATE_IN_CALL)
			ph__ring_consumer_no_doorbell(&p->ring);

		/* Seccomp first: a refused syscall blocks the plugin, and the
		 * kernel's word on it beats anything the plugin says. */
		if (nfds == 4 && (pfd[LISTENER].revents & POLLIN))
			handle_notification(p);
		else if (nfds == 4 && (pfd[LISTENER].revents & (POLLHUP | POLLERR)))
			/* Every task under the filter is gone: it can never
			 * notify again, and a hung-up fd would keep the
			 * instance's epoll fd readable for nothing. */
			drop_listener(p);
		if (p->state == PH_STATE_DEAD)
			break;
		if (pfd[SOCK].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (read_messages(p) && p->state != PH_STATE_DEAD)
				on_eof(p);
		}
		if (p->state == PH_STATE_DEAD)
			break;
		if (pfd[PIDFD].revents & POLLIN) {
			/* Dead: messages it sent before dying still count. */
			if (read_messages(p) == 0 && p->state == PH_STATE_DEAD)
				break;
			reap(p);
			break;
		}
		if (pfd[TIMER].revents & POLLIN)
			on_timer(p);
		/* Without a wait, one round only: a plugin that always has
		 * something to say must not keep ph_plugin_process() here. */
		if (timeout_ms == 0)
			break;
	}
	return 0;
}
