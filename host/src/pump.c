/* SPDX-License-Identifier: MIT */
/*
 * The event pump: poll the control socket, the pidfd, the seccomp listener
 * and the timer, drain the ring into the call's output callback, feed a
 * stream input from its source into the input ring (stream.c), and handle
 * the control socket's EOF without ever blocking the caller.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define EOF_GRACE_MS 1000
/* One round of the pump drains at most this long, in passes of at most
 * this many ring bytes, and feeds a stream at most this long, before it
 * looks at its other fds (and, in ph_plugin_process(), returns): a plugin
 * that keeps the ring busy, or a source that always has more, must not
 * keep the host from its deadline, the socket or the caller. */
#define ROUND_NS	 200000
#define ROUND_PASS_BYTES (64u << 10)

/* Output sink: hand to the caller's callback, and count what it took. */
static int deliver(void *userdata, const void *buf, size_t len)
{
	struct ph_plugin *p = userdata;
	const uint64_t quota = p->limits.output_bytes;
	int r = 0;

	/* The caller refused output: it hears nothing more of this call,
	 * and output_bytes says what it did take. */
	if (p->call.abandoned)
		return 0;
	/* Deliver up to the quota, never a byte past it. */
	if (quota && p->call.received + len > quota) {
		len = (size_t)(quota - p->call.received);
		p->call.quota_hit = 1;
	}
	if (p->call.fn && len) {
		p->in_callback++;
		r = p->call.fn(p->call.userdata, buf, len);
		p->in_callback--;
	}
	if (r < 0)
		return r;
	p->call.received += len;
	if (p->call.quota_hit)
		r = -EDQUOT;
	return r;
}

/* Drain the ring for the current call. Returns 0 or negative when the
 * instance was killed (protocol) or the sink refused. */
static int drain(struct ph_plugin *p, uint64_t limit)
{
	const char *why = NULL;
	int64_t n;

	n = ph__ring_consume(&p->ring, p->call.id, deliver, p, limit, &why);
	if (n == -EPROTO) {
		ph__plugin_kill_protocol(p, why);
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
		p->call.abandoned = 1;
		ph__result_init(&r, PH_RESULT_OUTPUT_FAILED);
		r.code = (int)-n;
		snprintf(r.message, sizeof(r.message),
			 "killed by the host: the output callback failed (%s)", strerror((int)-n));
		ph__plugin_kill(p, &r);
		return (int)n;
	}
	return 0;
}

int ph__drain_ring(struct ph_plugin *p)
{
	return drain(p, UINT64_MAX);
}

int64_t ph__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * One round's share of draining: until the ring is empty (returns 0), or
 * the round's time is up, or the call's deadline has passed (returns 1:
 * output is still waiting). Negative when the instance ended meanwhile.
 */
static int drain_round(struct ph_plugin *p)
{
	int64_t start;

	/* Nothing published: nothing to time (the common case between the
	 * calls of a spinning host). */
	if (__atomic_load_n(&p->ring.shared->head, __ATOMIC_RELAXED) == p->ring.tail)
		return 0;
	start = ph__now_ns();
	for (;;) {
		int r = drain(p, ROUND_PASS_BYTES);

		if (r < 0)
			return r;
		if (__atomic_load_n(&p->ring.shared->head, __ATOMIC_RELAXED) == p->ring.tail)
			return 0;
		if (ph__now_ns() - start >= ROUND_NS)
			return 1;
		/* Past the deadline: the timer is readable, and the poll that
		 * follows ends the call. */
		if (p->call.deadline_ms && ph__now_ms() >= p->call.deadline_ms)
			return 1;
	}
}

/* Anything to act on in shared memory: a completion, ring data, or room
 * in the input ring the host waits for. */
static int any_news(const struct ph_plugin *p)
{
	return ph__slot_news(p) || ph__stream_news(p);
}

/*
 * Spin on the shared words for up to budget_ns: returns 1 as soon as the
 * runner posted a completion or ring data, 0 when the budget ran out. No
 * syscall: a call that ends within it costs the host none.
 */
static int spin_for_news(const struct ph_plugin *p, int64_t budget_ns)
{
	const int64_t until = ph__now_ns() + budget_ns;

	do {
		for (int i = 0; i < 32; i++) {
			if (any_news(p))
				return 1;
			__builtin_ia32_pause();
		}
	} while (ph__now_ns() < until);
	return 0;
}

/*
 * Before sleeping: ask the runner for a byte on the wake pipe at its next
 * publish or completion. Returns 1 when there is news already (do not
 * sleep), 0 when it is safe to sleep.
 */
static int want_wake(struct ph_plugin *p)
{
	struct ph_ring_shared *s = p->ring_map;

	__atomic_store_n(&s->consumer_sleeping, 1, __ATOMIC_RELAXED);
	/* Pairs with the runner's fence between its stores and reading
	 * consumer_sleeping: either it sees our flag or we see its news. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (any_news(p)) {
		__atomic_store_n(&s->consumer_sleeping, 0, __ATOMIC_RELAXED);
		return 1;
	}
	return 0;
}

static void no_wake(struct ph_plugin *p)
{
	__atomic_store_n(&((struct ph_ring_shared *)p->ring_map)->consumer_sleeping, 0,
			 __ATOMIC_RELAXED);
}

static void drop_wake(struct ph_plugin *p)
{
	if (p->epfd >= 0)
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, p->wake_rd, NULL);
	p->wake_rd = safe_close(p->wake_rd);
}

/* Empty the wake pipe: its bytes are hints, and the plugin may write as
 * many as it likes. */
static void drain_wake(struct ph_plugin *p)
{
	char buf[256];

	for (int i = 0; i < 16 && read(p->wake_rd, buf, sizeof(buf)) == (ssize_t)sizeof(buf); i++)
		;
}

/* The child died mid-call: hand over what it managed to publish. */
void ph__deliver_leftovers(struct ph_plugin *p)
{
	ph__ring_consume(&p->ring, p->call.id, deliver, p, UINT64_MAX, NULL);
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
	p->sock = safe_close(p->sock);
	p->eof_deadline_ms = ph__now_ms() + EOF_GRACE_MS;
	ph__plugin_arm_timer(p);
}

/* How long one spin lasts in PH_WAIT_SPIN before the pump looks at the
 * kernel's side (seccomp, the pidfd, the socket, the timer). */
#define SPIN_ROUND_NS 50000

int ph__plugin_pump(struct ph_plugin *p, enum ph_plugin_state while_state, int timeout_ms)
{
	const int64_t deadline = timeout_ms < 0 ? INT64_MAX : ph__now_ms() + timeout_ms;
	const int spin_mode = p->cfg.wait == PH_WAIT_SPIN && timeout_ms != 0;
	/* A blocking call spins once, briefly, before it first sleeps. */
	int64_t spin_ns = timeout_ms != 0 ? PH_WAIT_SPIN_NS : 0;

	while (p->state == while_state) {
		struct pollfd pfd[9];
		int wait_ms, r, more = 0, news = 0, feed = PH_FEED_IDLE;

		if (p->state == PH_STATE_IN_CALL) {
			const uint64_t tail0 = p->ring.tail;

			more = drain_round(p);
			if (more < 0)
				break;
			/* Output is streaming: the producer is at work, and a
			 * short spin usually finds its next batch without
			 * either side sleeping. */
			if (p->ring.tail != tail0 && timeout_ms != 0 && spin_ns == 0)
				spin_ns = PH_WAIT_SPIN_NS;
			r = ph__slot_take_done(p);
			if (r != 0 || p->state != PH_STATE_IN_CALL)
				break;
			feed = ph__stream_feed(p, ROUND_NS);
			if (feed < 0)
				break;
			/* Fed bytes still waiting count as output waiting. */
			more |= feed == PH_FEED_MORE;
			if (!more && spin_ns > 0) {
				news = spin_for_news(p, spin_ns);
				if (!spin_mode)
					spin_ns = 0;
				if (news)
					continue;
			}
		}

		/* poll() skips the negative fds: no listener, no source. */
		enum { SOCK, PIDFD, TIMER, WAKE, LISTENER, SOURCE, INTR, OUT, ERR };
		pfd[SOCK] = (struct pollfd){.fd = p->sock, .events = POLLIN};
		pfd[PIDFD] = (struct pollfd){.fd = p->pidfd, .events = POLLIN};
		pfd[TIMER] = (struct pollfd){.fd = p->timerfd, .events = POLLIN};
		pfd[WAKE] = (struct pollfd){.fd = p->wake_rd, .events = POLLIN};
		pfd[LISTENER] = (struct pollfd){.fd = p->listener, .events = POLLIN};
		/* Only while the input ring has room: a source we cannot take
		 * from would read as ready for ever. */
		pfd[SOURCE] = (struct pollfd){
		    .fd = feed == PH_FEED_SOURCE ? ph__stream_source_fd(p) : -1, .events = POLLIN};
		pfd[INTR] = (struct pollfd){.fd = p->intr_fd, .events = POLLIN};
		/* The plugin's stdout and stderr (stdio.c). */
		pfd[OUT] = (struct pollfd){.fd = p->stdio_rd[0], .events = POLLIN};
		pfd[ERR] = (struct pollfd){.fd = p->stdio_rd[1], .events = POLLIN};

		/* Output still waiting, or spinning: look at the other fds
		 * without sleeping. */
		if (more || spin_mode || news)
			wait_ms = 0;
		else if (deadline == INT64_MAX)
			wait_ms = -1;
		else {
			int64_t left = deadline - ph__now_ms();
			wait_ms = left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
		}
		/* Going to sleep (or back to the caller's event loop), or
		 * busy with a source that may never run dry: the timer must
		 * stand for the deadline and the watchdog, and the runner must
		 * know to wake us. */
		if (feed == PH_FEED_MORE && !p->timer_armed)
			ph__plugin_arm_timer(p);
		if (wait_ms != 0 || timeout_ms == 0 || spin_mode) {
			/* Once: re-arming each round would push a deadline
			 * that has passed 1 ms further every time. */
			if (!p->timer_armed)
				ph__plugin_arm_timer(p);
			if (p->state == PH_STATE_IN_CALL && !spin_mode && want_wake(p)) {
				if (timeout_ms != 0)
					continue;
				wait_ms = 0;
			}
		}
		r = poll(pfd, ELEMENTSOF(pfd), wait_ms);
		p->call.polled = 1;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		/* Nothing yet: the wake request stays up, so that a caller
		 * sleeping in its own event loop is woken by new output. */
		if (r == 0 && !more && !spin_mode && !news)
			return -ETIMEDOUT;
		if (p->state == PH_STATE_IN_CALL && timeout_ms != 0)
			no_wake(p);
		if (pfd[WAKE].revents & POLLIN)
			drain_wake(p);
		else if (pfd[WAKE].revents & (POLLHUP | POLLERR))
			/* Every writer is gone, so the instance is: stop
			 * watching a pipe that would read as ready forever;
			 * the pidfd tells the rest. */
			drop_wake(p);

		/* Seccomp first: a refused syscall blocks the plugin, and the
		 * kernel's word on it beats anything the plugin says. */
		if (pfd[LISTENER].revents & POLLIN)
			ph__notif_handle(p);
		else if (pfd[LISTENER].revents & (POLLHUP | POLLERR))
			/* Every task under the filter is gone: it can never
			 * notify again, and a hung-up fd would keep the
			 * instance's epoll fd readable for nothing. */
			ph__notif_drop(p);
		if (p->state == PH_STATE_DEAD)
			break;
		/* ph_plugin_interrupt(): after the kernel's word on a refused
		 * syscall, before anything the plugin says. */
		if ((pfd[INTR].revents & POLLIN) && ph__interrupt_take(p))
			break;
		/* A bounded pass: a flood is read (and dropped past the
		 * budget) a pass at a time, between the other fds. */
		if ((pfd[OUT].revents | pfd[ERR].revents) & (POLLIN | POLLHUP | POLLERR))
			ph__stdio_read(p, 0);
		if (pfd[SOCK].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (ph__read_messages(p) && p->state != PH_STATE_DEAD)
				on_eof(p);
		}
		if (p->state == PH_STATE_DEAD)
			break;
		/* Only if it is still the process we polled: INIT, just read,
		 * replaces the runner (which exits then) with the plugin's init. */
		if ((pfd[PIDFD].revents & POLLIN) && pfd[PIDFD].fd == p->pidfd) {
			/* Dead: messages it sent before dying still count, and
			 * so does a completion it posted. */
			if (ph__read_messages(p) == 0 && p->state == PH_STATE_DEAD)
				break;
			if (p->state == PH_STATE_IN_CALL && ph__slot_take_done(p) != 0)
				break;
			ph__plugin_reap(p);
			break;
		}
		if (pfd[TIMER].revents & POLLIN)
			ph__plugin_on_timer(p);
		/* Without a wait, one round only: a plugin that always has
		 * something to say must not keep ph_plugin_process() here. */
		if (timeout_ms == 0 ||
		    ((more || spin_mode) && deadline != INT64_MAX && ph__now_ms() >= deadline)) {
			if (p->state == PH_STATE_IN_CALL && timeout_ms == 0) {
				/* Take what arrived during this round, then ask
				 * for a wake before going back to the loop; if
				 * news slipped in, make the fd readable now. */
				if (ph__slot_take_done(p) != 0 || p->state != PH_STATE_IN_CALL)
					return 0;
				if (more || want_wake(p)) {
					no_wake(p);
					ph__plugin_wake(p);
				}
			}
			return timeout_ms == 0 ? 0 : -ETIMEDOUT;
		}
		if (spin_mode)
			spin_ns = SPIN_ROUND_NS;
	}
	return 0;
}
