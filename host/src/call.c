/* SPDX-License-Identifier: MIT */
/*
 * Calls: submit one (send CALL with the sealed input fds), let the event
 * pump run it (pump.c), and settle its one result. The blocking call is
 * submit plus a pump that waits; the event-loop API is submit plus a pump
 * that never waits.
 */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "procstat.h"

static int has_method(const struct ph_plugin *p, const char *method)
{
	for (size_t i = 0; i < p->n_methods; i++)
		if (strcmp(p->methods[i], method) == 0)
			return 1;
	return 0;
}

/*
 * Start a call: check the arguments, post the request in the call slot.
 * for_loop: the caller goes back to its event loop, so the timer must be
 * armed now; a blocking caller arms it only if it ever has to sleep.
 */
static int submit(struct ph_plugin *p, const char *method, struct ph_blob *const *inputs, size_t n,
		  ph_output_fn out_fn, void *userdata, int for_loop)
{
	size_t mlen, streams = 0;
	uint64_t bytes = 0;
	int r;

	if (!p || !method || (!inputs && n) || n > PH_INPUTS_MAX)
		return -EINVAL;
	mlen = strlen(method);
	if (mlen == 0 || mlen > PH_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!inputs[i] || (!inputs[i]->sealed && !inputs[i]->stream))
			return -EINVAL;
		if (inputs[i]->stream && ++streams > PH_SLOT_STREAMS_MAX)
			return -EINVAL;
		bytes += inputs[i]->size; /* a stream's count as it is fed */
	}
	if (p->call.finished || (p->state != PH_STATE_IDLE && p->state != PH_STATE_DEAD))
		return -EBUSY;
	/* Interrupted before the call: it ends so, at once. The flag spares
	 * every other call a read() of the eventfd. */
	if (p->state == PH_STATE_IDLE && __atomic_load_n(&p->intr_pending, __ATOMIC_ACQUIRE))
		ph__interrupt_take(p);
	if (p->state == PH_STATE_DEAD) {
		/* Completes at once with how the instance ended; fire the
		 * timer so that the caller's event loop hears of it. */
		p->call.result = p->end;
		p->call.result.output_bytes = 0;
		p->call.finished = 1;
		ph__plugin_wake(p);
		return 0;
	}
	if (!has_method(p, method))
		return -ENOENT;
	r = ph__stream_claim(p, inputs, n, for_loop);
	if (r < 0)
		return r;

	memset(&p->call, 0, sizeof(p->call));
	p->call.id = ++p->next_call_id;
	p->call.fn = out_fn;
	p->call.userdata = userdata;
	ph__result_init(&p->call.result, PH_RESULT_OK);
	if (p->limits.timeout_ms)
		p->call.deadline_ms = ph__now_ms() + (int64_t)p->limits.timeout_ms;
	/* The CPU clock of the plugin process: one cheap syscall, and only
	 * for a call with a CPU limit. */
	if (p->limits.cpu_ms && p->plugin_pid > 0)
		p->call.cpu0_usec = ph__proc_cpu_clock_usec(p->plugin_pid);

	/* Back to its event loop, the caller sleeps until the fd is readable:
	 * ask the runner for a wake at the completion (or the first output)
	 * before it can happen. */
	if (for_loop)
		__atomic_store_n(&((struct ph_ring_shared *)p->ring_map)->consumer_sleeping, 1,
				 __ATOMIC_SEQ_CST);
	/* A hung-up socket (sock < 0) or EPIPE: the child is dying or about to
	 * be killed for it, and the pump learns which. */
	r = p->sock < 0 ? -EPIPE : ph__slot_post(p, method, mlen, inputs, n);
	if (r < 0 && r != -EPIPE && r != -ECONNRESET) {
		ph__stream_unclaim(p);
		return r;
	}
	PH__COUNT(p->metrics.bytes_in, bytes);
	p->state = PH_STATE_IN_CALL;
	if (for_loop)
		ph__plugin_arm_timer(p);
	/* A stream is fed from ph_plugin_process(): the first one must come
	 * now, not at the first output (a plugin waiting for its input has
	 * none to give). */
	if (for_loop && p->feed.s)
		ph__plugin_wake(p);
	return 0;
}

PH_EXPORT int ph_plugin_interrupt(struct ph_plugin *p)
{
	const uint64_t one = 1;

	if (!p)
		return -EINVAL;
	/* Nothing else: this may run in a signal handler, on any thread
	 * (an atomic store is async-signal-safe). */
	__atomic_store_n(&p->intr_pending, 1, __ATOMIC_RELEASE);
	if (write(p->intr_fd, &one, sizeof(one)) < 0)
		return -errno;
	return 0;
}

int ph__interrupt_take(struct ph_plugin *p)
{
	struct ph_result r;
	uint64_t n;

	/* Cleared before the read: an interrupt after it sets both again. */
	__atomic_store_n(&p->intr_pending, 0, __ATOMIC_RELEASE);
	if (p->intr_fd < 0 || read(p->intr_fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return 0;
	if (p->state == PH_STATE_DEAD)
		return 0;
	ph__result_init(&r, PH_RESULT_INTERRUPTED);
	snprintf(r.message, sizeof(r.message), "ph_plugin_interrupt()");
	ph__plugin_kill(p, &r);
	return 1;
}

PH_EXPORT int ph_plugin_submit(struct ph_plugin *p, const char *method,
			       struct ph_blob *const *inputs, size_t n, ph_output_fn out_fn,
			       void *userdata)
{
	return submit(p, method, inputs, n, out_fn, userdata, 1);
}

/* The call is over (completed, or the instance died): settle its result. */
static void finish(struct ph_plugin *p)
{
	/* The instance's end decides when it died before answering, or when
	 * the host killed it even though it answered (a limit reached by the
	 * end of the call outranks the plugin's own account of it). */
	if (p->state == PH_STATE_DEAD && (!p->call.done || p->killed))
		p->call.result = p->end;
	p->call.result.output_bytes = p->call.received;
	p->call.deadline_ms = 0;
	ph__stream_stop(p);
	ph__plugin_arm_timer(p);
	ph__plugin_usage(p, &p->call.result);
	/* A dead instance's CPU was counted in full when it was reaped. */
	if (p->state != PH_STATE_DEAD)
		ph__metrics_cpu(p, &p->call.result);
	p->call.finished = 1;
}

/* Hand the settled result out and make the instance ready for a call. */
static void take_result(struct ph_plugin *p, struct ph_result *ret_result)
{
	*ret_result = p->call.result;
	ph__metrics_call(p, ret_result);
	p->call.finished = 0;
	p->call.id = 0;
}

PH_EXPORT int ph_plugin_process(struct ph_plugin *p, struct ph_result *ret_result)
{
	int r;

	if (!p || !ret_result)
		return -EINVAL;
	if (!p->call.finished) {
		r = ph__plugin_pump(p, p->state, 0);
		if (r < 0 && r != -ETIMEDOUT)
			return r;
		/* No call, or still running: nothing to hand out yet. */
		if (!p->call.id || p->state == PH_STATE_IN_CALL)
			return 0;
		finish(p);
	}
	ph__plugin_arm_timer(p); /* quiet the fd again if ph__plugin_wake() fired it */
	take_result(p, ret_result);
	return 1;
}

PH_EXPORT int ph_plugin_call(struct ph_plugin *p, const char *method, struct ph_blob *const *inputs,
			     size_t n, ph_output_fn out_fn, void *userdata,
			     struct ph_result *ret_result)
{
	int r;

	if (!ret_result)
		return -EINVAL;
	r = submit(p, method, inputs, n, out_fn, userdata, 0);
	if (r < 0)
		return r;
	if (!p->call.finished) {
		r = ph__plugin_pump(p, PH_STATE_IN_CALL, -1);
		if (r < 0)
			return r;
		finish(p);
	}
	take_result(p, ret_result);
	return 0;
}

PH_EXPORT int ph_plugin_set_limits(struct ph_plugin *p, const struct ph_limits *limits)
{
	if (!p || !limits || PH_RESERVED_NONZERO(limits->reserved) >= 0)
		return -EINVAL;
	if (p->state == PH_STATE_IN_CALL || p->call.finished)
		return -EBUSY;
	p->limits.timeout_ms = limits->timeout_ms;
	p->limits.cpu_ms = limits->cpu_ms;
	p->limits.output_bytes = limits->output_bytes;
	p->limits.collect_bytes = limits->collect_bytes;
	return 0;
}

struct collect {
	char *buf;
	size_t len, cap;
	size_t max; /* the output quota never lets len pass it */
};

static int collect_sink(void *userdata, const void *buf, size_t len)
{
	struct collect *c = userdata;

	if (c->len + len + 1 > c->cap) {
		size_t ncap = c->cap ? c->cap : 4096;
		char *nb;

		while (ncap < c->len + len + 1)
			ncap *= 2;
		/* Doubling must not overshoot the bound it is meant to keep. */
		if (ncap > c->max + 1)
			ncap = c->max + 1;
		nb = realloc(c->buf, ncap);
		if (!nb)
			return -ENOMEM;
		c->buf = nb;
		c->cap = ncap;
	}
	memcpy(c->buf + c->len, buf, len);
	c->len += len;
	return 0;
}

PH_EXPORT int ph_plugin_call_collect(struct ph_plugin *p, const char *method,
				     struct ph_blob *const *inputs, size_t n, void **ret_buf,
				     size_t *ret_len, struct ph_result *ret_result)
{
	struct collect c = {0};
	uint64_t quota, bound;
	int by_collect, r;

	if (!p || !ret_buf || !ret_len)
		return -EINVAL;
	/*
	 * Whatever the plugin writes lands in host memory here, so the call
	 * runs under the tighter of its output quota and the collect bound,
	 * and the quota machinery kills the plugin at the bound.
	 */
	quota = p->limits.output_bytes;
	bound = p->limits.collect_bytes ? p->limits.collect_bytes : ph__mem_available() / 2;
	if (!bound || bound > SIZE_MAX - 1)
		bound = SIZE_MAX - 1;
	by_collect = !quota || bound < quota;
	if (by_collect)
		p->limits.output_bytes = bound;
	c.max = (size_t)(by_collect ? bound : quota);
	r = ph_plugin_call(p, method, inputs, n, collect_sink, &c, ret_result);
	p->limits.output_bytes = quota;
	if (r < 0) {
		free(c.buf);
		return r;
	}
	if (by_collect && ret_result->kind == PH_RESULT_OUTPUT_QUOTA)
		snprintf(ret_result->message, sizeof(ret_result->message),
			 "%llu bytes, ph_plugin_call_collect()'s buffer limit: %s",
			 (unsigned long long)bound,
			 p->limits.collect_bytes
			     ? "limits.collect_bytes"
			     : "half the available memory, see limits.collect_bytes");
	if (!c.buf && !(c.buf = malloc(1))) {
		return -ENOMEM;
	}
	c.buf[c.len] = '\0';
	*ret_buf = c.buf;
	*ret_len = c.len;
	return 0;
}
