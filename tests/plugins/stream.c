/* SPDX-License-Identifier: MIT */
/*
 * Test plugin "stream": one method per way of treating a stream input (it
 * declares PH_PLUGIN_READS_STREAMS). Input 0 is the one it reads, stream
 * or whole; a bad read ends with the errno as the plugin error code and
 * "read: <strerror>" as the message.
 *
 *   count     reads input 0 to its end, 64 KiB at a time; writes
 *             "<bytes> <sum>\n", sum being the bytes added up mod 2^64.
 *   ignore    returns 0 at once, reading nothing.
 *   hang      reads nothing and never returns (sleeps).
 *   progress  reads input 0 to its end, 16 KiB at a time, sleeping 1 ms
 *             after each read; after each one it writes and flushes the
 *             bytes read so far as a native-endian uint64, so the host
 *             sees how far it got.
 *   twice     reads to the end, then reads again, twice: both must give
 *             0 (an end stays an end); writes "<bytes> ok\n".
 *   flags     writes "F0 F1 ...\n": input i's flags, then ph_read() of a
 *             missing input (n) and with a NULL buffer, as "-EINVAL"
 *             twice when refused.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <plughost/plugin.h>

#define UNUSED __attribute__((unused))

static unsigned char buf[64 * 1024];

static int read_error(struct ph_call *call, ssize_t n)
{
	return ph_error(call, (int)-n, "read: %s", strerror((int)-n));
}

static int do_count(struct ph_call *call, UNUSED const struct ph_input *inputs,
		    UNUSED size_t n_inputs)
{
	uint64_t bytes = 0, sum = 0;
	ssize_t n;

	while ((n = ph_read(call, 0, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			sum += buf[i];
		bytes += (uint64_t)n;
	}
	if (n < 0)
		return read_error(call, n);
	return ph_printf(call, "%" PRIu64 " %" PRIu64 "\n", bytes, sum);
}

static int do_ignore(UNUSED struct ph_call *call, UNUSED const struct ph_input *inputs,
		     UNUSED size_t n_inputs)
{
	return 0;
}

static int do_hang(UNUSED struct ph_call *call, UNUSED const struct ph_input *inputs,
		   UNUSED size_t n_inputs)
{
	for (;;) {
		struct timespec ts = {.tv_sec = 1};

		nanosleep(&ts, NULL);
	}
	return 0;
}

static int do_progress(struct ph_call *call, UNUSED const struct ph_input *inputs,
		       UNUSED size_t n_inputs)
{
	uint64_t bytes = 0;
	ssize_t n;

	while ((n = ph_read(call, 0, buf, 16 * 1024)) > 0) {
		struct timespec ts = {.tv_nsec = 1000 * 1000};
		int r;

		bytes += (uint64_t)n;
		r = ph_write(call, &bytes, sizeof(bytes));
		if (r == 0)
			r = ph_flush(call);
		if (r < 0)
			return r;
		nanosleep(&ts, NULL);
	}
	return n < 0 ? read_error(call, n) : 0;
}

static int do_twice(struct ph_call *call, UNUSED const struct ph_input *inputs,
		    UNUSED size_t n_inputs)
{
	uint64_t bytes = 0;
	ssize_t n;

	while ((n = ph_read(call, 0, buf, sizeof(buf))) > 0)
		bytes += (uint64_t)n;
	if (n < 0)
		return read_error(call, n);
	for (int i = 0; i < 2; i++)
		if ((n = ph_read(call, 0, buf, sizeof(buf))) != 0)
			return ph_error(call, 1, "read %d after the end gave %zd", i, n);
	return ph_printf(call, "%" PRIu64 " ok\n", bytes);
}

static int do_flags(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs)
{
	for (size_t i = 0; i < n_inputs; i++)
		ph_printf(call, "%" PRIu32 " ", inputs[i].flags);
	ph_printf(call, "%s ", ph_read(call, n_inputs, buf, 1) == -EINVAL ? "-EINVAL" : "?");
	return ph_printf(call, "%s\n", ph_read(call, 0, NULL, 1) == -EINVAL ? "-EINVAL" : "?");
}

static const struct ph_method methods[] = {
    {"count", do_count},       {"ignore", do_ignore}, {"hang", do_hang},
    {"progress", do_progress}, {"twice", do_twice},   {"flags", do_flags},
};

PH_PLUGIN_FLAGS("stream", "1.0", methods, PH_PLUGIN_READS_STREAMS);
