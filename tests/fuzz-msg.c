/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the control message codec (common/proto.c) over
 * hostile bytes, without a socket. The input's first byte is how many fds
 * came with the message (a count only: the parsers look at the count,
 * never at an fd); the rest is the message as received, header first.
 *
 * ph__msg_validate() judges the header as it came. Then every parser
 * reads the same payload under a header made valid for its own type, as
 * the host and the runner parse only validated messages: that way each
 * parser sees every payload, not only those whose header the fuzzer got
 * right. The payload's unused bytes are poisoned, so that ASan catches a
 * parser reading past the message, and whatever a parser accepts must
 * keep every promise of proto.h: lengths that add up to the payload,
 * strings inside it and free of NULs, counts within their limits,
 * reserved fields zero.
 *
 * Build: meson setup -Dfuzz=true with CC=clang (tests/meson.build).
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/asan_interface.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Big: off the stack. */
static struct ph_msg msg;
static struct ph_loaded_view loaded;

static int in_payload(struct ph_str s)
{
	const char *lo = (const char *)msg.payload, *hi = lo + msg.hdr.len;

	return s.p >= lo && s.p <= hi && s.len <= (size_t)(hi - s.p) && !memchr(s.p, 0, s.len);
}

static int all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

/* SANDBOXED and ZYGOTE_READY share ph__parse_sandboxed(). */
static int sandboxed_kind(uint16_t type)
{
	return type == PH_MSG_SANDBOXED || type == PH_MSG_ZYGOTE_READY;
}

/* Run type's parser on msg, whatever msg's own type; abort if it accepts
 * what it must not (another type's message among it). */
static void parse_as(uint16_t type, const char *prefix)
{
	const size_t len = msg.hdr.len;
	const char *why = NULL;
	int r = -1;

	switch (type) {
	case PH_MSG_CALL: {
		struct ph_msg_call v;

		r = ph__parse_call(&msg, &v, &why);
		if (r == 0 && (len != sizeof(v) || v.n_fds < 1 || v.n_fds > PH_INPUTS_MAX ||
			       v.n_fds != msg.nfds || v.reserved))
			abort();
		break;
	}
	case PH_MSG_GRANT: {
		struct ph_grant_view v;

		r = ph__parse_grant(&msg, &v, &why);
		if (r == 0 &&
		    (len != sizeof(v.fixed) + v.path.len || !in_payload(v.path) ||
		     v.path.len == 0 || v.path.len > PH_GRANT_PATH_MAX || v.fixed.reserved ||
		     (v.fixed.flags & ~PH_GRANT_LIB) ||
		     ph__grant_path_check(v.path.p, v.path.len, !!(v.fixed.flags & PH_GRANT_LIB))))
			abort();
		break;
	}
	case PH_MSG_FORK: {
		struct ph_msg_fork v;

		r = ph__parse_fork(&msg, &v, &why);
		if (r == 0 && (len != sizeof(v) || !all_zero(v.reserved, sizeof(v.reserved)) ||
			       v.ring_capacity < PH_RING_MIN_CAPACITY ||
			       v.ring_capacity > PH_RING_MAX_CAPACITY ||
			       (v.ring_capacity & (v.ring_capacity - 1))))
			abort();
		break;
	}
	case PH_MSG_LOADED: {
		size_t sum = sizeof(struct ph_msg_loaded);

		r = ph__parse_loaded(&msg, &loaded, &why);
		if (r != 0)
			break;
		if (loaded.name.len < 1 || loaded.name.len > PH_NAME_MAX ||
		    !in_payload(loaded.name) || loaded.version.len > PH_NAME_MAX ||
		    !in_payload(loaded.version) || loaded.n_methods > PH_METHODS_MAX ||
		    (loaded.flags & ~PH_LOADED_FLAGS))
			abort();
		sum += loaded.name.len + loaded.version.len;
		for (uint32_t i = 0; i < loaded.n_methods; i++) {
			if (loaded.methods[i].len < 1 || loaded.methods[i].len > PH_NAME_MAX ||
			    !in_payload(loaded.methods[i]))
				abort();
			sum += sizeof(uint16_t) + loaded.methods[i].len;
		}
		if (sum != len)
			abort();
		break;
	}
	case PH_MSG_SETUP: {
		struct ph_setup_view v;

		r = ph__parse_setup(&msg, &v, &why);
		if (r != 0)
			break;
		if (v.fixed.ring_capacity < PH_RING_MIN_CAPACITY ||
		    v.fixed.ring_capacity > PH_RING_MAX_CAPACITY ||
		    (v.fixed.ring_capacity & (v.fixed.ring_capacity - 1)) || v.path.len < 1 ||
		    v.path.len > 4096 || !in_payload(v.path) ||
		    sizeof(v.fixed) + v.path.len != len ||
		    msg.nfds != ((v.fixed.flags & PH_SETUP_SECCOMP) ? 4u : 3u) ||
		    !all_zero(v.fixed.reserved, sizeof(v.fixed.reserved)))
			abort();
		break;
	}
	case PH_MSG_SETUP_FAILED: {
		struct ph_failed_view v;

		r = ph__parse_failed(&msg, &v, &why);
		if (r == 0 && (v.fixed.step < 1 || v.fixed.step > PH_STEP_MAX || v.fixed.err < 0 ||
			       v.fixed.err > 4095 || v.msg.len > PH_TEXT_MAX ||
			       sizeof(v.fixed) + v.msg.len != len || v.fixed.reserved ||
			       v.msg.p != (const char *)msg.payload + sizeof(v.fixed)))
			abort();
		break;
	}
	case PH_MSG_LOG: {
		struct ph_log_view v;

		r = ph__parse_log(&msg, &v, &why);
		if (r == 0 && (v.level > PH_DEBUG || v.text.len > PH_TEXT_MAX ||
			       sizeof(struct ph_msg_log) + v.text.len != len ||
			       v.text.p != (const char *)msg.payload + sizeof(struct ph_msg_log)))
			abort();
		break;
	}
	case PH_MSG_SANDBOXED:
	case PH_MSG_ZYGOTE_READY: {
		struct ph_msg_sandboxed v;

		/* One parser for both: a zygote reports its layers as SANDBOXED
		 * does, but never seccomp, and brings no listener. */
		r = ph__parse_sandboxed(&msg, &v, &why);
		if (r == 0 && (len != sizeof(v) || !all_zero(v.reserved, sizeof(v.reserved)) ||
			       msg.nfds != ((v.layers & PH_LAYER_NOTIFY) ? 1u : 0u) ||
			       (msg.hdr.type == PH_MSG_ZYGOTE_READY &&
				(msg.nfds || (v.layers & (PH_LAYER_SECCOMP | PH_LAYER_NOTIFY))))))
			abort();
		break;
	}
	case PH_MSG_EXIT: {
		struct ph_msg_exit v;

		r = ph__parse_exit(&msg, &v, &why);
		if (r == 0 &&
		    (len != sizeof(v) || v.reserved ||
		     (v.how != CLD_EXITED && v.how != CLD_KILLED && v.how != CLD_DUMPED) ||
		     v.status < 0 || v.status > 255 || v.fault_signo < 0 || v.fault_signo >= 65 ||
		     (!v.fault_signo && v.fault_code)))
			abort();
		break;
	}
	case PH_MSG_CRASH: {
		struct ph_msg_crash v;
		const uint8_t *stack = NULL;

		r = ph__parse_crash(&msg, &v, &stack, &why);
		if (r == 0 && (v.reserved || v.signo <= 0 || v.signo >= 65 || v.stack_len % 8 ||
			       v.stack_len > PH_CRASH_STACK_MAX || len != sizeof(v) + v.stack_len ||
			       stack != msg.payload + sizeof(v)))
			abort();
		break;
	}
	case PH_MSG_MEM:
		r = ph__parse_mem(&msg, &why);
		if (r == 0 && (len != sizeof(struct ph_msg_mem) || msg.nfds != 1 ||
			       !all_zero(msg.payload, len)))
			abort();
		break;
	default:
		abort();
	}
	if (r == 0 && msg.hdr.type != type &&
	    !(sandboxed_kind(type) && sandboxed_kind(msg.hdr.type)))
		abort();
	/* A refusal is -EBADMSG naming a rule of this message type (the
	 * two that share a parser share their rules). */
	if (r != 0 && (r != -EBADMSG || !why ||
		       (strncmp(why, prefix, strlen(prefix)) != 0 &&
			!(sandboxed_kind(type) && (strncmp(why, "SANDBOXED ", 10) == 0 ||
						   strncmp(why, "ZYGOTE_READY ", 13) == 0)))))
		abort();
}

/* Every parser, by the type it parses. */
static const struct {
	uint16_t type;
	const char *prefix; /* every rule the parser names starts so */
} parsers[] = {
    {PH_MSG_CALL, "CALL "},
    {PH_MSG_FORK, "FORK "},
    {PH_MSG_GRANT, "GRANT "},
    {PH_MSG_LOADED, "LOADED "},
    {PH_MSG_SETUP, "SETUP "},
    {PH_MSG_SETUP_FAILED, "SETUP_FAILED "},
    {PH_MSG_LOG, "LOG "},
    {PH_MSG_SANDBOXED, "SANDBOXED "},
    {PH_MSG_ZYGOTE_READY, "ZYGOTE_READY "}, /* ph__parse_sandboxed() too */
    {PH_MSG_EXIT, "EXIT "},
    {PH_MSG_CRASH, "CRASH "},
    {PH_MSG_MEM, "MEM "},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	unsigned int nfds;
	size_t len;
	int r;

	if (size < 1 || size - 1 > PH_MSG_MAX)
		return 0; /* recv refuses a larger one before any rule */
	nfds = data[0] % (PH_MSG_MAX_FDS + 1);
	data++;
	size--;

	/* The header as it came; a runt one is zero past its end, as the
	 * receive buffer would be. */
	memset(&msg.hdr, 0, sizeof(msg.hdr));
	memcpy(&msg.hdr, data, size < sizeof(msg.hdr) ? size : sizeof(msg.hdr));
	len = size > sizeof(msg.hdr) ? size - sizeof(msg.hdr) : 0;
	ASAN_UNPOISON_MEMORY_REGION(msg.payload, sizeof(msg.payload));
	memcpy(msg.payload, data + (size - len), len);
	ASAN_POISON_MEMORY_REGION(msg.payload + len, sizeof(msg.payload) - len);
	msg.nfds = nfds;
	for (unsigned int i = 0; i < PH_MSG_MAX_FDS; i++)
		msg.fds[i] = -1;

	r = ph__msg_validate(&msg.hdr, size, nfds, &why);
	if (r != 0 && (r != -EBADMSG || !why))
		abort();
	if (r == 0 && (msg.hdr.magic != PH_WIRE_MAGIC || msg.hdr.abi != PH_WIRE_ABI ||
		       msg.hdr.type < 1 || msg.hdr.type > PH_MSG_TYPE_MAX || msg.hdr.len != len ||
		       msg.hdr.nfds != nfds || size < sizeof(msg.hdr)))
		abort();
	/* The message as it came, through every parser: only its own
	 * type's may accept it. */
	if (r == 0)
		for (size_t k = 0; k < sizeof(parsers) / sizeof(parsers[0]); k++)
			parse_as(parsers[k].type, parsers[k].prefix);

	/* Every parser over this payload, under a header valid for it. */
	for (size_t k = 0; k < sizeof(parsers) / sizeof(parsers[0]); k++) {
		msg.hdr = (struct ph_msg_hdr){.magic = PH_WIRE_MAGIC,
					      .abi = PH_WIRE_ABI,
					      .type = parsers[k].type,
					      .len = (uint32_t)len,
					      .nfds = nfds,
					      .call_id = msg.hdr.call_id};
		if (ph__msg_validate(&msg.hdr, len + sizeof(msg.hdr), nfds, &why) != 0)
			continue; /* an fd count no message of this type carries */
		parse_as(parsers[k].type, parsers[k].prefix);
	}
	ASAN_UNPOISON_MEMORY_REGION(msg.payload, sizeof(msg.payload));
	return 0;
}
