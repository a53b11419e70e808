/* SPDX-License-Identifier: MIT */
/*
 * Test plugin "echo": one method per behaviour the host must handle.
 *
 *   echo   writes its inputs back, concatenated.
 *   count  writes "n=N S1 S2 ...\n": the number of inputs and their sizes.
 *   fail   returns ph_error(call, 42, "asked to fail").
 *   log    logs "hello log" at PH_INFO and writes nothing.
 *   flood  takes one input holding a decimal byte count N (digits only, an
 *          optional trailing newline) and writes N bytes where byte i is
 *          'a' + i % 26, in writes whose sizes cycle through flood_sizes[]
 *          below, so records get split, padded and wrapped in every way.
 *          A bad count: error 22 (EINVAL).
 *   crash  writes 1000 bytes of that same pattern, then stores through a
 *          NULL pointer: SIGSEGV at address 0, mid-call.
 *   exit   calls _exit(3) mid-call.
 *   abort  calls abort(): SIGABRT mid-call.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <plughost/plugin.h>

#define PATTERN_LEN 26u
#define UNUSED	    __attribute__((unused))

/*
 * Write sizes for "flood", cycled: tiny, odd, page-sized, just over the
 * largest record a 256 KiB ring takes, and just over the largest record the
 * default 1 MiB ring takes (ph_ring_max_payload() is a quarter of the ring
 * less a header), so one ph_write() must become several records.
 */
static const size_t flood_sizes[] = {1, 7, 4096, 65536 + 3, 333, 262144 + 13};
#define FLOOD_MAX_WRITE (262144u + 13u)

/* The pattern from offset 0, plus one period, so any write of up to
 * FLOOD_MAX_WRITE bytes starting at any offset is one slice of it. */
static char pattern[FLOOD_MAX_WRITE + PATTERN_LEN];

static void pattern_fill(void)
{
	if (pattern[0] != 0)
		return;
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (char)('a' + i % PATTERN_LEN);
}

/* Write len bytes of the pattern as it continues at stream offset off. */
static int pattern_write(struct ph_call *call, uint64_t off, size_t len)
{
	pattern_fill();
	return ph_write(call, pattern + off % PATTERN_LEN, len);
}

static int do_echo(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs)
{
	for (size_t i = 0; i < n_inputs; i++) {
		int r = ph_write(call, inputs[i].data, inputs[i].len);

		if (r < 0)
			return r;
	}
	return 0;
}

/* Where the first input is mapped, and a checksum of it: for the tests of
 * inputs kept mapped across calls. */
static int do_addr(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs)
{
	uint64_t sum = 0;

	if (n_inputs < 1)
		return ph_error(call, 1, "addr: want one input");
	for (size_t i = 0; i < inputs[0].len; i += 4096)
		sum += ((const uint8_t *)inputs[0].data)[i];
	return ph_printf(call, "%p %llu", inputs[0].data, (unsigned long long)sum);
}

static int do_count(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs)
{
	int r = ph_printf(call, "n=%zu", n_inputs);

	for (size_t i = 0; r == 0 && i < n_inputs; i++)
		r = ph_printf(call, " %zu", inputs[i].len);
	if (r == 0)
		r = ph_printf(call, "\n");
	return r;
}

static int do_fail(struct ph_call *call, UNUSED const struct ph_input *inputs,
		   UNUSED size_t n_inputs)
{
	return ph_error(call, 42, "asked to fail");
}

static int do_log(struct ph_call *call, UNUSED const struct ph_input *inputs,
		  UNUSED size_t n_inputs)
{
	ph_log(call, PH_INFO, "hello log");
	return 0;
}

/*
 * Parse a decimal count from the input. Only digits, then at most one
 * '\n'; at least one digit; no overflow. *ret is set only on success.
 */
static int parse_count(const struct ph_input *in, uint64_t *ret)
{
	const char *p = in->data;
	size_t len = in->len;
	uint64_t v = 0;

	if (len > 0 && p[len - 1] == '\n')
		len--;
	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned int d = (unsigned int)(p[i] - '0');

		if (d > 9)
			return -EINVAL;
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*ret = v;
	return 0;
}

static int do_flood(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs)
{
	uint64_t total, off = 0;
	size_t k = 0;

	if (n_inputs != 1 || parse_count(&inputs[0], &total) < 0)
		return ph_error(call, EINVAL, "flood: want one input holding a decimal byte count");

	while (off < total) {
		size_t n = flood_sizes[k];
		int r;

		k = (k + 1) % (sizeof(flood_sizes) / sizeof(flood_sizes[0]));
		if (n > total - off)
			n = (size_t)(total - off);
		r = pattern_write(call, off, n);
		if (r < 0)
			return r;
		off += n;
	}
	return 0;
}

static int do_crash(struct ph_call *call, UNUSED const struct ph_input *inputs,
		    UNUSED size_t n_inputs)
{
	/* Both volatile: the pointer so the compiler cannot prove where it
	 * points and turn the store into a trap (SIGILL), the target so it
	 * cannot drop the store. Address 0x40, not NULL: the fault must be a
	 * plain SIGSEGV in sanitizer builds too, where UBSan would otherwise
	 * stop to report a NULL store (and be refused the files it reads). */
	volatile int *volatile nowhere = (volatile int *)(uintptr_t)0x40;

	pattern_write(call, 0, 1000);
	*nowhere = 1;
	return ph_error(call, 1, "crash: still alive after a store to 0x40");
}

static int do_exit(struct ph_call *call, UNUSED const struct ph_input *inputs,
		   UNUSED size_t n_inputs)
{
	_exit(3);
	return ph_error(call, 1, "exit: still alive after _exit");
}

static int do_abort(struct ph_call *call, UNUSED const struct ph_input *inputs,
		    UNUSED size_t n_inputs)
{
	abort();
	return ph_error(call, 1, "abort: still alive after abort");
}

static const struct ph_method methods[] = {
    {"echo", do_echo}, {"count", do_count}, {"fail", do_fail},
    {"log", do_log},   {"flood", do_flood}, {"crash", do_crash},
    {"exit", do_exit}, {"abort", do_abort}, {"addr", do_addr},
};

PH_PLUGIN("echo", "1.0", methods);
