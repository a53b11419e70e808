/* SPDX-License-Identifier: MIT */
/*
 * The plugin `plughost bench` measures with: one method per figure, each
 * doing exactly the work its baseline does, and nothing the default
 * strict policy refuses (no threads, no files, static buffers only).
 * Numbers in and out are native-endian uint64 (host and plugin share the
 * machine).
 *
 *   nop        returns 0: the empty call.
 *   echo64     writes its inputs back (the 64-byte request and response).
 *   sum        the sum of its inputs (bench_sum(), each input summed on its
 *              own): 8 bytes.
 *   sum_timed  the same, and how long summing took by the plugin's own
 *              CLOCK_MONOTONIC: 16 bytes, the sum, then nanoseconds.
 *   produce    one input of 16 bytes, total then chunk: writes total
 *              bytes in ph_write()s of chunk bytes (1 byte to 1 MiB).
 *   spin       one input of 8 bytes, an iteration count: bench_spin()
 *              that many times; writes the 8-byte result.
 *   upper      as samples/upper.c: its inputs with a-z made A-Z, written
 *              in 64 KiB chunks.
 *   sha256     as samples/sha256.c: the digest of its inputs the way
 *              `sha256sum` prints it, hashed by nettle as there; a stream
 *              input (input.stream's `cat F | plughost run ... --input -`)
 *              read with ph_read().
 *
 * It declares PH_PLUGIN_READS_STREAMS for sha256; the other methods refuse
 * a stream input with EINVAL (nop ignores its inputs).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <nettle/sha2.h>

#include <plughost/plugin.h>

#include "bench-kernels.h"

#define UNUSED	      __attribute__((unused))
#define UPPER_CHUNK   (64u * 1024u)
#define PRODUCE_CHUNK (1024u * 1024u)

/* One call at a time: static buffers keep them off the stack. */
static unsigned char upper_buf[UPPER_CHUNK];
static unsigned char produce_buf[PRODUCE_CHUNK];

/* For the methods that read whole inputs only: 0, or the error. */
static int no_streams(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs)
{
	for (size_t i = 0; i < n_inputs; i++)
		if (inputs[i].flags & PH_INPUT_STREAM)
			return ph_error(call, EINVAL,
					"%s: input %zu is a stream; it takes whole inputs",
					ph_call_method(call), i);
	return 0;
}

static int do_nop(UNUSED struct ph_call *call, UNUSED const struct ph_input *inputs,
		  UNUSED size_t n_inputs)
{
	return 0;
}

static int do_echo64(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs)
{
	if (no_streams(call, inputs, n_inputs))
		return EINVAL;
	for (size_t i = 0; i < n_inputs; i++) {
		int r = ph_write(call, inputs[i].data, inputs[i].len);

		if (r < 0)
			return r;
	}
	return 0;
}

static uint64_t sum_inputs(const struct ph_input *inputs, size_t n_inputs)
{
	uint64_t s = 0;

	for (size_t i = 0; i < n_inputs; i++)
		s += bench_sum(inputs[i].data, inputs[i].len);
	return s;
}

static int do_sum(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs)
{
	uint64_t s;

	if (no_streams(call, inputs, n_inputs))
		return EINVAL;
	s = sum_inputs(inputs, n_inputs);
	return ph_write(call, &s, sizeof(s));
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int do_sum_timed(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs)
{
	uint64_t out[2], t0;

	if (no_streams(call, inputs, n_inputs))
		return EINVAL;
	/* Only the summing: the runner mapped the inputs before the call,
	 * so the first touch of each page (a fault) is in here too, as in
	 * the baseline's first pass over its own mapping. */
	t0 = now_ns();
	out[0] = sum_inputs(inputs, n_inputs);
	out[1] = now_ns() - t0;
	return ph_write(call, out, sizeof(out));
}

/* Read the one input of n native-endian uint64 values into v. */
static int read_u64s(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs,
		     uint64_t *v, size_t n)
{
	if (n_inputs != 1 || inputs[0].len != n * sizeof(uint64_t))
		return ph_error(call, EINVAL, "%s: want one input of %zu bytes",
				ph_call_method(call), n * sizeof(uint64_t));
	memcpy(v, inputs[0].data, n * sizeof(uint64_t));
	return 0;
}

static int do_produce(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs)
{
	uint64_t v[2];
	int r = read_u64s(call, inputs, n_inputs, v, 2);

	if (r)
		return r;
	if (v[1] == 0 || v[1] > PRODUCE_CHUNK)
		return ph_error(call, EINVAL, "produce: chunk must be 1 to %u bytes",
				PRODUCE_CHUNK);
	/* Written once: the bytes are not the point, moving them is. */
	if (produce_buf[0] == 0)
		memset(produce_buf, 0x5a, sizeof(produce_buf));
	for (uint64_t left = v[0]; left > 0;) {
		size_t n = left < v[1] ? (size_t)left : (size_t)v[1];

		r = ph_write(call, produce_buf, n);
		if (r < 0)
			return r;
		left -= n;
	}
	return 0;
}

static int do_spin(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs)
{
	uint64_t iterations, x;
	int r = read_u64s(call, inputs, n_inputs, &iterations, 1);

	if (r)
		return r;
	x = bench_spin(iterations);
	return ph_write(call, &x, sizeof(x));
}

static int do_upper(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs)
{
	if (no_streams(call, inputs, n_inputs))
		return EINVAL;
	for (size_t i = 0; i < n_inputs; i++) {
		const unsigned char *p = inputs[i].data;

		for (size_t left = inputs[i].len; left > 0;) {
			size_t n = left < UPPER_CHUNK ? left : UPPER_CHUNK;
			int r;

			for (size_t j = 0; j < n; j++) {
				unsigned char c = p[j];

				upper_buf[j] =
				    (c >= 'a' && c <= 'z') ? (unsigned char)(c - 'a' + 'A') : c;
			}
			r = ph_write(call, upper_buf, n);
			if (r < 0)
				return r;
			p += n;
			left -= n;
		}
	}
	return 0;
}

static int do_sha256(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs)
{
	static const char hex[] = "0123456789abcdef";
	struct sha256_ctx ctx;
	uint8_t digest[SHA256_DIGEST_SIZE];
	char text[2 * SHA256_DIGEST_SIZE + 1];

	sha256_init(&ctx);
	for (size_t i = 0; i < n_inputs; i++) {
		ssize_t n;

		if (!(inputs[i].flags & PH_INPUT_STREAM)) {
			sha256_update(&ctx, inputs[i].len, inputs[i].data);
			continue;
		}
		/* The copy out of the input ring is part of what the line
		 * measures, as sha256sum's read() is of the baseline. */
		while ((n = ph_read(call, i, upper_buf, sizeof(upper_buf))) > 0)
			sha256_update(&ctx, (size_t)n, upper_buf);
		if (n < 0)
			return ph_error(call, EIO, "sha256: input %zu: %s", i, strerror((int)-n));
	}
	sha256_digest(&ctx, sizeof(digest), digest);
	for (size_t i = 0; i < SHA256_DIGEST_SIZE; i++) {
		text[2 * i] = hex[digest[i] >> 4];
		text[2 * i + 1] = hex[digest[i] & 0xf];
	}
	text[sizeof(text) - 1] = '\0';
	return ph_printf(call, "%s  -\n", text);
}

static const struct ph_method methods[] = {
    {"nop", do_nop},	     {"echo64", do_echo64},
    {"sum", do_sum},	     {"sum_timed", do_sum_timed},
    {"produce", do_produce}, {"spin", do_spin},
    {"upper", do_upper},     {"sha256", do_sha256},
};

PH_PLUGIN_FLAGS("bench", "1.1", methods, PH_PLUGIN_READS_STREAMS);
