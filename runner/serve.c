/* SPDX-License-Identifier: MIT */
/*
 * The request loop and the operations table of the plugin ABI. The runner
 * enters it once the plugin is loaded and stage 2 is in force: receive a
 * CALL, check and map its inputs read-only, run the handler, publish its
 * output, answer DONE. Plugin code reaches the ring and the control socket
 * only through the ops below (see <plughost/plugin.h>), so it holds no
 * protocol of its own. The host is trusted here, but inputs are still
 * checked: a handler must never see memory that can change or shrink under
 * it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <plughost/plugin.h>

#include "proto.h"
#include "ring_producer.h"
#include "runner.h"
#include "seal.h"

/* The runner's side of a call; the plugin holds a pointer to pub. */
struct call {
	struct ph_call pub; /* first: the plugin's view */
	uint64_t id;
	int ctl_fd;
	struct ph_ring_producer *ring;
	char method[PH_NAME_MAX + 1];
	uint64_t written;
	int broken; /* the host went away: further writes fail fast */
	int err_set;
	char err[PH_TEXT_MAX];
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

static const struct ph_call_ops call_ops = {
    .version = PH_CALL_OPS_VERSION,
    .size = sizeof(struct ph_call_ops),
    .write = op_write,
    .flush = op_flush,
    .vprintf = op_vprintf,
    .vlog = op_vlog,
    .verror = op_verror,
    .method = op_method,
};

struct mapped_input {
	void *addr;
	size_t len;
};

static int send_done(struct call *call, uint32_t status, int code, const char *text)
{
	struct ph_msg_done done = {
	    .status = status,
	    .code = code,
	    .output_bytes = call->written,
	};
	size_t len = text ? strnlen(text, PH_TEXT_MAX) : 0;
	int r;

	/* The head must be visible before DONE: the host reads the ring to
	 * the end when DONE arrives and checks output_bytes against it. */
	r = ph__ring_publish(call->ring);
	if (r < 0)
		return r;
	done.msg_len = (uint32_t)len;
	return ph__msg_send2(call->ctl_fd, PH_MSG_DONE, call->id, &done, sizeof(done), text, len,
			     NULL, 0);
}

static const struct ph_method *find_method(const struct ph_plugin_descriptor *d, struct ph_str name)
{
	for (uint32_t i = 0; i < d->n_methods; i++) {
		const struct ph_method *m = ph__runner_method(d, i);

		if (m->name && strlen(m->name) == name.len &&
		    memcmp(m->name, name.p, name.len) == 0)
			return m;
	}
	return NULL;
}

/* The inputs as the handler indexes them: struct ph_input at the stride
 * the plugin was compiled with, zero past the fields this runner knows. */
static _Alignas(16) uint8_t input_area[PH_INPUTS_MAX * 1024];

/* Handle one CALL. Returns 0 to go on, negative when the host is gone. */
static int handle_call(const struct ph_plugin_descriptor *desc, struct ph_ring_producer *ring,
		       int ctl_fd, struct ph_msg *msg)
{
	struct mapped_input maps[PH_INPUTS_MAX] = {0};
	struct call call = {
	    .pub = {.size = sizeof(call), .ops = &call_ops},
	    .id = msg->hdr.call_id,
	    .ctl_fd = ctl_fd,
	    .ring = ring,
	};
	struct ph_call_view view;
	const struct ph_method *m;
	const char *why;
	char text[PH_TEXT_MAX];
	int r, code;

	if (ph__parse_call(msg, &view, &why) < 0 ||
	    ph__msg_check_fds(msg, PH_DIR_HOST_TO_RUNNER, PH_PHASE_READY, &why) < 0) {
		ph__msg_close_fds(msg);
		return send_done(&call, PH_DONE_BAD_INPUT, 0, why);
	}
	memcpy(call.method, view.method.p, view.method.len);
	call.method[view.method.len] = '\0';
	memset(input_area, 0, (size_t)view.n_inputs * desc->input_size);

	for (uint32_t i = 0; i < view.n_inputs; i++) {
		struct ph_input in = {0};
		uint64_t size;

		/* Map only what cannot change or shrink under the handler. */
		r = ph__seal_check(msg->fds[i], PH_SEAL_KIND_INPUT, view.sizes[i],
				   PH_BLOB_MAX_BYTES, &size, &why);
		if (r < 0) {
			snprintf(text, sizeof(text), "input %u rejected: %s", i, why);
			r = send_done(&call, PH_DONE_BAD_INPUT, 0, text);
			goto out;
		}
		if (size > 0) {
			void *a = mmap(NULL, size, PROT_READ, MAP_SHARED, msg->fds[i], 0);
			if (a == MAP_FAILED) {
				snprintf(text, sizeof(text), "input %u: cannot map %llu bytes: %s",
					 i, (unsigned long long)size, strerror(errno));
				r = send_done(&call, PH_DONE_BAD_INPUT, 0, text);
				goto out;
			}
			maps[i] = (struct mapped_input){a, size};
			in = (struct ph_input){a, size};
		}
		memcpy(input_area + (size_t)i * desc->input_size, &in, sizeof(in));
	}
	ph__msg_close_fds(msg); /* the mappings keep the memory alive */

	m = find_method(desc, view.method);
	if (!m || !m->fn) {
		snprintf(text, sizeof(text), "plugin '%s' has no method '%s'", desc->name,
			 call.method);
		r = send_done(&call, PH_DONE_NO_METHOD, 0, text);
		goto out;
	}

	code = m->fn(&call.pub, (const struct ph_input *)input_area, view.n_inputs);
	if (call.broken) {
		r = -EPIPE;
		goto out;
	}
	if (code == 0)
		r = send_done(&call, PH_DONE_OK, 0, NULL);
	else
		r = send_done(&call, PH_DONE_ERROR, code, call.err_set ? call.err : "");
out:
	ph__msg_close_fds(msg);
	for (uint32_t i = 0; i < PH_INPUTS_MAX; i++)
		if (maps[i].addr)
			munmap(maps[i].addr, maps[i].len);
	return r;
}

int ph__runner_serve(const struct ph_plugin_descriptor *desc, int ctl_fd, void *ring_base,
		     uint64_t ring_capacity)
{
	/* One message at a time, and big: keep it off the stack. */
	static struct ph_msg msg;
	struct ph_ring_producer ring;

	ph__ring_producer_init(&ring, ring_base, ring_capacity, ctl_fd);
	for (;;) {
		const char *why;
		int r = ph__msg_recv(ctl_fd, &msg, 0, &why);

		if (r == 0)
			return 0; /* the host closed the channel: we are done */
		if (r < 0)
			return 71;
		switch (msg.hdr.type) {
		case PH_MSG_CALL:
			if (handle_call(desc, &ring, ctl_fd, &msg) < 0)
				return 0; /* host gone mid-call */
			break;
		default:
			ph__msg_close_fds(&msg);
			return 72;
		}
	}
}
