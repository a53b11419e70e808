/* SPDX-License-Identifier: MIT */
/*
 * The SDK's request loop. It runs inside the plugin's own process, entered
 * from the runner through the descriptor's serve pointer: receive a CALL,
 * check and map its inputs read-only, run the handler, publish its output,
 * answer DONE. The host is trusted here, but inputs are still checked: a
 * handler must never see memory that can change or shrink under it.
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
#include "seal.h"

/* Inputs larger than this are refused (the host never sends them). */
#define INPUT_MAX ((uint64_t)1 << 40)

struct ph_call {
	uint64_t id;
	int ctl_fd;
	struct ph_ring_producer *ring;
	char method[PH_NAME_MAX + 1];
	uint64_t written;
	int broken; /* the host went away: further writes fail fast */
	int err_set;
	char err[PH_TEXT_MAX];
};

int ph_write(struct ph_call *call, const void *data, size_t len)
{
	int r;

	if (!call || (!data && len))
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

int ph_flush(struct ph_call *call)
{
	int r;

	if (!call)
		return -EINVAL;
	if (call->broken)
		return -EPIPE;
	r = ph__ring_publish(call->ring);
	if (r < 0)
		call->broken = 1;
	return r;
}

int ph_printf(struct ph_call *call, const char *fmt, ...)
{
	char small[1024];
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n < sizeof(small))
		return ph_write(call, small, (size_t)n);

	char *big = malloc((size_t)n + 1);
	if (!big)
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	r = ph_write(call, big, (size_t)n);
	free(big);
	return r;
}

void ph_log(struct ph_call *call, enum ph_level level, const char *fmt, ...)
{
	char text[PH_TEXT_MAX];
	struct ph_msg_log hdr;
	va_list ap;
	int n;

	if (!call || !fmt || call->broken)
		return;
	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	hdr.level = level > PH_DEBUG ? PH_DEBUG : (uint32_t)level;
	hdr.len = (size_t)n < sizeof(text) ? (uint32_t)n : sizeof(text) - 1;
	if (ph__msg_send2(call->ctl_fd, PH_MSG_LOG, call->id, &hdr, sizeof(hdr), text, hdr.len,
			  NULL, 0) < 0)
		call->broken = 1;
}

int ph_error(struct ph_call *call, int code, const char *fmt, ...)
{
	va_list ap;

	if (call && fmt) {
		va_start(ap, fmt);
		vsnprintf(call->err, sizeof(call->err), fmt, ap);
		va_end(ap);
		call->err_set = 1;
	}
	return code;
}

const char *ph_call_method(const struct ph_call *call)
{
	return call ? call->method : NULL;
}

struct mapped_input {
	void *addr;
	size_t len;
};

static int send_done(struct ph_call *call, uint32_t status, int code, const char *text)
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
	for (size_t i = 0; i < d->n_methods; i++) {
		const char *m = d->methods[i].name;

		if (m && strlen(m) == name.len && memcmp(m, name.p, name.len) == 0)
			return &d->methods[i];
	}
	return NULL;
}

/* Handle one CALL. Returns 0 to go on, negative when the host is gone. */
static int handle_call(const struct ph_plugin_descriptor *desc, struct ph_ring_producer *ring,
		       int ctl_fd, struct ph_msg *msg)
{
	struct mapped_input maps[PH_INPUTS_MAX] = {0};
	struct ph_input inputs[PH_INPUTS_MAX] = {0};
	struct ph_call call = {.id = msg->hdr.call_id, .ctl_fd = ctl_fd, .ring = ring};
	struct ph_call_view view;
	const struct ph_method *m;
	const char *why;
	char text[PH_TEXT_MAX];
	int r, code;

	if (ph__parse_call(msg, &view, &why) < 0) {
		ph__msg_close_fds(msg);
		return send_done(&call, PH_DONE_BAD_INPUT, 0, why);
	}
	memcpy(call.method, view.method.p, view.method.len);
	call.method[view.method.len] = '\0';

	for (uint32_t i = 0; i < view.n_inputs; i++) {
		uint64_t size;

		/* Map only what cannot change or shrink under the handler. */
		r = ph__seal_check(msg->fds[i], PH_SEAL_KIND_INPUT, view.sizes[i], INPUT_MAX, &size,
				   &why);
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
		}
		inputs[i] = (struct ph_input){maps[i].addr, size};
	}
	ph__msg_close_fds(msg); /* the mappings keep the memory alive */

	m = find_method(desc, view.method);
	if (!m || !m->fn) {
		snprintf(text, sizeof(text), "plugin '%s' has no method '%s'", desc->name,
			 call.method);
		r = send_done(&call, PH_DONE_NO_METHOD, 0, text);
		goto out;
	}

	code = m->fn(&call, inputs, view.n_inputs);
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

int ph__sdk_serve(const struct ph_plugin_descriptor *desc, const struct ph__runner_env *env)
{
	/* One message at a time, and big: keep it off the stack. */
	static struct ph_msg msg;
	struct ph_ring_producer ring;

	if (!desc || !env || env->abi != PH_WIRE_ABI || env->size < sizeof(*env))
		return 70;
	ph__ring_producer_init(&ring, env->ring_base, env->ring_capacity, env->ctl_fd);

	for (;;) {
		const char *why;
		int r = ph__msg_recv(env->ctl_fd, &msg, 0, &why);

		if (r == 0)
			return 0; /* the host closed the channel: we are done */
		if (r < 0)
			return 71;
		switch (msg.hdr.type) {
		case PH_MSG_CALL:
			if (handle_call(desc, &ring, env->ctl_fd, &msg) < 0)
				return 0; /* host gone mid-call */
			break;
		case PH_MSG_SHUTDOWN:
			return 0;
		default:
			ph__msg_close_fds(&msg);
			return 72;
		}
	}
}
