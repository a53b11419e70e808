/* SPDX-License-Identifier: MIT */
/*
 * The request loop and the operations table of the plugin ABI. The runner
 * enters it once the plugin is loaded and stage 2 is in force: wait for a
 * request in the call slot (spin briefly, then sleep on its futex), take
 * its inputs (inline bytes, sealed memfds from the control socket, or
 * mappings kept from earlier calls), run the handler, publish its output,
 * post the completion, and wake the host only if it said it sleeps. Plugin
 * code reaches the rings and the control socket only through the ops below
 * (see <plughost/plugin.h>), so it holds no protocol of its own. The host
 * is trusted here, but inputs are still checked: a handler must never see
 * memory that can change or shrink under it.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <plughost/plugin.h>

#include "inring_consumer.h"
#include "proto.h"
#include "ring_producer.h"
#include "runner.h"
#include "seal.h"
#include "wakeup.h"

/* One input as ph_read() sees it: a whole one read from its memory with
 * a cursor, or the stream in the input ring. */
struct call_input {
	const uint8_t *data;
	uint64_t len, pos;
	int stream;
};

/* The runner's side of a call; the plugin holds a pointer to pub.
 * (tests/plugins/hostile.c mirrors its head, up to written.) */
struct call {
	struct ph_call pub; /* first: the plugin's view */
	uint64_t id;
	int ctl_fd;
	struct ph_ring_producer *ring;
	char method[PH_NAME_MAX + 1];
	uint64_t written;
	uint32_t log_msgs; /* LOG messages sent for this call */
	int broken;	   /* the host went away: further writes and reads fail fast */
	int err_set;
	char err[PH_TEXT_MAX];
	struct ph_inring_consumer *in_ring;
	uint32_t n_inputs;
	struct call_input in[PH_INPUTS_MAX];
};

static struct call *call_of(struct ph_call *pub)
{
	return (struct call *)pub;
}

static int op_write(struct ph_call *pub, const void *data, size_t len)
{
	struct call *call = call_of(pub);
	int r;

	if (!data && len)
		return -EINVAL;
	if (call->broken)
		return -EPIPE;
	if (len == 0)
		return 0;
	r = ph__ring_write(call->ring, call->id, data, len);
	if (r < 0) {
		call->broken = 1;
		return r;
	}
	call->written += len;
	return 0;
}

static int op_flush(struct ph_call *pub)
{
	struct call *call = call_of(pub);
	int r;

	if (call->broken)
		return -EPIPE;
	r = ph__ring_publish(call->ring);
	if (r < 0)
		call->broken = 1;
	return r;
}

static int op_vprintf(struct ph_call *pub, const char *fmt, va_list ap)
{
	char small[1024], *big;
	va_list again;
	int n, r;

	va_copy(again, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n < 0) {
		va_end(again);
		return -EINVAL;
	}
	if ((size_t)n < sizeof(small)) {
		va_end(again);
		return op_write(pub, small, (size_t)n);
	}
	big = malloc((size_t)n + 1);
	if (!big) {
		va_end(again);
		return -ENOMEM;
	}
	vsnprintf(big, (size_t)n + 1, fmt, again);
	va_end(again);
	r = op_write(pub, big, (size_t)n);
	free(big);
	return r;
}

static void op_vlog(struct ph_call *pub, enum ph_level level, const char *fmt, va_list ap)
{
	struct call *call = call_of(pub);
	char text[PH_TEXT_MAX];
	struct ph_msg_log hdr;
	int n;

	if (call->broken)
		return;
	n = vsnprintf(text, sizeof(text), fmt, ap);
	if (n < 0)
		return;
	hdr.level = (uint32_t)level > PH_DEBUG ? PH_DEBUG : (uint32_t)level;
	hdr.len = (size_t)n < sizeof(text) ? (uint32_t)n : sizeof(text) - 1;
	if (ph__msg_send2(call->ctl_fd, PH_MSG_LOG, call->id, &hdr, sizeof(hdr), text, hdr.len,
			  NULL, 0) < 0)
		call->broken = 1;
	else
		call->log_msgs++;
}

static int op_verror(struct ph_call *pub, int code, const char *fmt, va_list ap)
{
	struct call *call = call_of(pub);

	vsnprintf(call->err, sizeof(call->err), fmt, ap);
	call->err_set = 1;
	return code;
}

static const char *op_method(const struct ph_call *pub)
{
	return ((const struct call *)pub)->method;
}

static ssize_t op_read(struct ph_call *pub, size_t input, void *buf, size_t len)
{
	struct call *call = call_of(pub);
	struct call_input *in;
	ssize_t n;

	if (input >= call->n_inputs || (!buf && len))
		return -EINVAL;
	if (len == 0)
		return 0;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	in = &call->in[input];
	if (!in->stream) {
		n = in->len - in->pos < len ? (ssize_t)(in->len - in->pos) : (ssize_t)len;
		/* An empty input has no data pointer at all. */
		if (n == 0)
			return 0;
		memcpy(buf, in->data + in->pos, (size_t)n);
		in->pos += (uint64_t)n;
		return n;
	}
	if (call->broken)
		return -EPIPE;
	n = ph__inring_read(call->in_ring, buf, len);
	if (n == -EPIPE)
		call->broken = 1;
	return n;
}

static const struct ph_call_ops call_ops = {
    .version = PH_CALL_OPS_VERSION,
    .size = sizeof(struct ph_call_ops),
    .write = op_write,
    .flush = op_flush,
    .vprintf = op_vprintf,
    .vlog = op_vlog,
    .verror = op_verror,
    .method = op_method,
    .read = op_read,
};

/* Mapped inputs kept across calls, at the entries the host names. Each
 * holds its memfd's identity, so that a later request naming the entry
 * finds the very file it was made from (an inode number cannot be reused
 * while the mapping keeps the file alive). */
static struct cache_entry {
	void *addr;
	uint64_t size, dev, ino;
} cache[PH_SLOT_CACHE_MAX];

static void cache_drop(uint32_t i)
{
	if (cache[i].addr)
		munmap(cache[i].addr, cache[i].size);
	cache[i] = (struct cache_entry){0};
}

/* The runner's private copy of the request (the shared one may change). */
static struct ph_slot_req req;
/* Inline inputs, copied out of the slot before the handler sees them. */
static _Alignas(16) uint8_t inline_copy[PH_SLOT_INLINE_MAX];

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct request_wait {
	struct ph_ring_shared *s;
	uint32_t seen;
};

static int has_request(void *ud)
{
	const struct request_wait *w = ud;

	return __atomic_load_n(&w->s->req_seq, __ATOMIC_ACQUIRE) != w->seen;
}

/*
 * Wait until the host posts a request after the one numbered seen: spin
 * for spin_ns (the host asks for it; calls that follow each other closely
 * then cost no syscall at all), then sleep on the futex, asking for a wake.
 * Returns 0, or -EPIPE when the host hung up.
 */
static int wait_request(struct ph_ring_shared *s, uint32_t seen, uint32_t spin_ns, int ctl_fd)
{
	struct request_wait w = {s, seen};

	if (has_request(&w))
		return 0;
	if (spin_ns) {
		const int64_t until = now_ns() + (spin_ns > 1000000 ? 1000000 : spin_ns);

		do {
			for (int i = 0; i < 64; i++) {
				if (has_request(&w))
					return 0;
				__builtin_ia32_pause();
			}
		} while (now_ns() < until);
	}
	return ph__wait_host(&s->req_seq, &s->runner_sleeping, has_request, &w, 0, ctl_fd);
}

/* Write the completion, make the ring's head visible first, bump
 * done_seq and wake the host if it sleeps. Returns 0 or -EPIPE. */
static int post_done(struct call *call, uint32_t status, int code, const char *text)
{
	struct ph_ring_shared *s = call->ring->shared;
	struct ph_slot_done *d = ph_slot_done_of(s);
	size_t len = text ? strnlen(text, PH_TEXT_MAX) : 0;
	int r;

	/* The head must be visible before the completion: the host reads the
	 * ring to the end when it sees it and checks output_bytes against it. */
	r = ph__ring_publish(call->ring);
	if (r < 0)
		return r;
	d->call_id = call->id;
	d->status = status;
	d->code = status == PH_DONE_OK ? 0 : code;
	d->output_bytes = call->written;
	d->log_msgs = call->log_msgs;
	d->msg_len = status == PH_DONE_OK ? 0 : (uint32_t)len;
	if (d->msg_len)
		memcpy(d->msg, text, len);
	__atomic_fetch_add(&s->done_seq, 1, __ATOMIC_RELEASE);
	ph__ring_wake_host(call->ring);
	return 0;
}

static const struct ph_method *find_method(const struct ph_plugin_descriptor *d, const char *name,
					   size_t len)
{
	for (uint32_t i = 0; i < d->n_methods; i++) {
		const struct ph_method *m = ph__runner_method(d, i);

		if (m->name && strlen(m->name) == len && memcmp(m->name, name, len) == 0)
			return m;
	}
	return NULL;
}

/* The inputs as the handler indexes them: struct ph_input at the stride
 * the plugin was compiled with, zero past the fields this runner knows. */
static _Alignas(16) uint8_t input_area[PH_INPUTS_MAX * 1024];

/* Receive the CALL message that carries the request's fds. Returns 0, or
 * a negative errno with the reason in text. */
static int take_fds(int ctl_fd, struct ph_msg *msg, uint64_t call_id, char *text, size_t text_len)
{
	struct ph_msg_call fixed;
	const char *why = "the host hung up";
	int r = ph__msg_recv(ctl_fd, msg, 0, &why);

	if (r <= 0) {
		snprintf(text, text_len, "cannot receive the call's inputs: %s", why);
		return r == 0 ? -EPIPE : r;
	}
	if (ph__parse_call(msg, &fixed, &why) < 0 ||
	    ph__msg_check_fds(msg, PH_DIR_HOST_TO_RUNNER, PH_PHASE_READY, &why) < 0 ||
	    fixed.n_fds != req.n_fds || msg->hdr.call_id != call_id) {
		snprintf(text, text_len, "the call's CALL message is wrong: %s",
			 msg->hdr.call_id != call_id ? "for another call" : why);
		ph__msg_close_fds(msg);
		return -EBADMSG;
	}
	return 0;
}

/* Map input fd (sealed, checked) of size bytes. Returns the mapping, or
 * NULL with the reason in text. Prefaulted: the pages are all in memory
 * already (a memfd), and one populate costs far less than a fault each. */
static void *map_input(int fd, uint32_t i, uint64_t size, char *text, size_t text_len)
{
	const char *why;
	uint64_t got;
	void *a;

	if (ph__seal_check(fd, PH_SEAL_KIND_INPUT, size, PH_BLOB_MAX_BYTES, &got, &why) < 0) {
		snprintf(text, text_len, "input %u rejected: %s", i, why);
		return NULL;
	}
	a = mmap(NULL, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (a == MAP_FAILED) {
		snprintf(text, text_len, "input %u: cannot map %llu bytes: %s", i,
			 (unsigned long long)size, strerror(errno));
		return NULL;
	}
	return a;
}

/*
 * Handle the request in req (already copied and checked). Returns 0 to go
 * on, negative when the host is gone.
 */
static int handle_call(const struct ph_plugin_descriptor *desc, struct ph_ring_producer *ring,
		       struct ph_inring_consumer *in_ring, int ctl_fd, struct ph_msg *msg)
{
	void *maps[PH_INPUTS_MAX] = {0}; /* mappings to drop after the call */
	struct call call = {
	    .pub = {.size = sizeof(call), .ops = &call_ops},
	    .id = req.call_id,
	    .ctl_fd = ctl_fd,
	    .ring = ring,
	    .in_ring = in_ring,
	    .n_inputs = req.n_inputs,
	};
	/* What this runner writes of each struct ph_input: no more than the
	 * stride the plugin indexes with, which is shorter in a plugin built
	 * before the flags field. */
	const size_t pin_size =
	    desc->input_size < sizeof(struct ph_input) ? desc->input_size : sizeof(struct ph_input);
	const struct ph_method *m;
	char text[PH_TEXT_MAX];
	unsigned int next_fd = 0;
	int r, code;

	msg->nfds = 0;
	memcpy(call.method, req.method, req.method_len);
	call.method[req.method_len] = '\0';
	memset(input_area, 0, (size_t)req.n_inputs * desc->input_size);
	if (req.n_fds && (r = take_fds(ctl_fd, msg, req.call_id, text, sizeof(text))) < 0) {
		if (r == -EPIPE)
			return r;
		r = post_done(&call, PH_DONE_BAD_INPUT, 0, text);
		goto out;
	}

	for (uint32_t i = 0; i < req.n_inputs; i++) {
		const struct ph_slot_input *in = &req.in[i];
		struct ph_input pin = {0};

		if (in->how == PH_IN_INLINE) {
			pin =
			    (struct ph_input){in->size ? inline_copy + in->offset : NULL, in->size};
		} else if (in->how == PH_IN_STREAM) {
			/* Only a plugin that says it reads streams gets one: any
			 * other would see an empty input, and answer for it. */
			if (!(desc->flags & PH_PLUGIN_READS_STREAMS)) {
				snprintf(text, sizeof(text),
					 "input %u is a stream, and plugin '%s' does not declare "
					 "that it reads streams (PH_PLUGIN_READS_STREAMS)",
					 i, desc->name);
				r = post_done(&call, PH_DONE_BAD_INPUT, 0, text);
				goto out;
			}
			ph__inring_consumer_reset(in_ring);
			call.in[i].stream = 1;
			pin = (struct ph_input){.data = NULL, .len = 0, .flags = PH_INPUT_STREAM};
		} else if (in->how == PH_IN_CACHED) {
			const struct cache_entry *e = &cache[in->cache];

			if (!e->addr || e->size != in->size || e->dev != in->dev ||
			    e->ino != in->ino) {
				snprintf(text, sizeof(text),
					 "input %u: the runner holds no such cached input", i);
				r = post_done(&call, PH_DONE_BAD_INPUT, 0, text);
				goto out;
			}
			pin = (struct ph_input){e->addr, e->size};
		} else {
			const int fd = msg->fds[next_fd++];
			struct stat st;
			void *a = NULL;

			if (in->size > 0 && !(a = map_input(fd, i, in->size, text, sizeof(text)))) {
				r = post_done(&call, PH_DONE_BAD_INPUT, 0, text);
				goto out;
			}
			if (in->cache != PH_SLOT_NO_CACHE && a && fstat(fd, &st) == 0 &&
			    (uint64_t)st.st_dev == in->dev && (uint64_t)st.st_ino == in->ino) {
				cache_drop(in->cache);
				cache[in->cache] =
				    (struct cache_entry){a, in->size, in->dev, in->ino};
			} else
				maps[i] = a;
			pin = (struct ph_input){a, in->size};
		}
		if (!call.in[i].stream)
			call.in[i] = (struct call_input){pin.data, pin.len, 0, 0};
		memcpy(input_area + (size_t)i * desc->input_size, &pin, pin_size);
	}
	ph__msg_close_fds(msg); /* the mappings keep the memory alive */

	m = find_method(desc, req.method, req.method_len);
	if (!m || !m->fn) {
		snprintf(text, sizeof(text), "plugin '%s' has no method '%s'", desc->name,
			 call.method);
		r = post_done(&call, PH_DONE_NO_METHOD, 0, text);
		goto out;
	}

	code = m->fn(&call.pub, (const struct ph_input *)input_area, req.n_inputs);
	if (call.broken) {
		r = -EPIPE;
		goto out;
	}
	if (code == 0)
		r = post_done(&call, PH_DONE_OK, 0, NULL);
	else
		r = post_done(&call, PH_DONE_ERROR, code, call.err_set ? call.err : "");
out:
	ph__msg_close_fds(msg);
	for (uint32_t i = 0; i < PH_INPUTS_MAX; i++)
		if (maps[i])
			munmap(maps[i], req.in[i].size);
	return r;
}

/* Copy the posted request out of the slot and check it. */
static int take_request(struct ph_ring_shared *s, char *text, size_t text_len)
{
	const struct ph_slot_req *shared = ph_slot_req_of(s);
	const char *why;
	uint64_t inline_len = 0;

	/* The fixed part, then as many inputs as its copy says. */
	memcpy(&req, shared, offsetof(struct ph_slot_req, in));
	memcpy(req.in, shared->in,
	       (req.n_inputs < PH_SLOT_INPUTS_MAX ? req.n_inputs : PH_SLOT_INPUTS_MAX) *
		   sizeof(req.in[0]));
	if (ph__slot_req_check(&req, &why) < 0) {
		snprintf(text, text_len, "bad request in the call slot: %s", why);
		return -EBADMSG;
	}
	for (uint32_t i = 0; i < req.n_inputs; i++)
		if (req.in[i].how == PH_IN_INLINE && req.in[i].offset + req.in[i].size > inline_len)
			inline_len = req.in[i].offset + req.in[i].size;
	memcpy(inline_copy, shared->inline_data, inline_len);
	return 0;
}

int ph__runner_serve(const struct ph_plugin_descriptor *desc, int ctl_fd, int wake_fd,
		     void *ring_base, uint64_t ring_capacity)
{
	/* One message at a time, and big: keep it off the stack. */
	static struct ph_msg msg;
	struct ph_ring_producer ring;
	struct ph_inring_consumer in_ring;
	struct ph_ring_shared *s = ring_base;
	uint32_t seen = 0;

	ph__ring_producer_init(&ring, ring_base, ring_capacity, ctl_fd);
	ring.wake_fd = wake_fd;
	ph__inring_consumer_init(&in_ring, ring_base, ring_capacity, ctl_fd, wake_fd);
	for (;;) {
		char text[PH_TEXT_MAX];
		int r = wait_request(s, seen, req.spin_ns, ctl_fd);

		if (r < 0)
			return 0; /* the host hung up: we are done */
		seen = __atomic_load_n(&s->req_seq, __ATOMIC_ACQUIRE);
		r = take_request(s, text, sizeof(text));
		if (r == 0) {
			for (uint32_t i = 0; i < PH_SLOT_CACHE_MAX; i++)
				if (req.evict & (1u << i))
					cache_drop(i);
			r = handle_call(desc, &ring, &in_ring, ctl_fd, &msg);
		} else {
			struct call bad = {
			    .id = ((const struct ph_slot_req *)ph_slot_req_of(s))->call_id,
			    .ring = &ring};

			req.spin_ns = 0;
			r = post_done(&bad, PH_DONE_BAD_INPUT, 0, text);
		}
		if (r < 0)
			return 0; /* host gone mid-call */
	}
}
