/* SPDX-License-Identifier: MIT */
/*
 * Test plugin "chatty": writes to its stdout and stderr the way plugins
 * do by habit, through stdio, which probes its fds with TCGETS first.
 *
 * Its constructor prints "chatty ctor: loading" to stdout.
 *
 *   print  printf()s "hello from stdout" and fprintf(stderr)s "hello from
 *          stderr", then "no newline" without one, fflush()es both, and
 *          writes "ring ok\n" to the ring: the output must come through
 *          intact beside the log lines.
 *   flood  takes one input: a decimal count of MiB; writes that many to
 *          stdout in 80-byte lines, fflush()es, then "flooded\n" to the
 *          ring. The host must bound what it logs and never hang.
 *   isatty writes "isatty(1)=N errno=E\n" to the ring: the TCGETS probe
 *          answered with an errno, not a kill.
 *   raw    write(1)s "raw to fd 1\n" past stdio, then "ring ok\n" to the
 *          ring: no stream tells the host, which must still log it, at
 *          the latest when the instance is freed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <plughost/plugin.h>

__attribute__((constructor)) static void ctor_print(void)
{
	printf("chatty ctor: loading\n");
	fflush(stdout);
}

static int do_print(struct ph_call *call, const struct ph_input *in, size_t n)
{
	printf("hello from stdout\n");
	fprintf(stderr, "hello from stderr\n");
	printf("no newline");
	if (fflush(stdout) != 0 || fflush(stderr) != 0)
		return ph_error(call, errno, "fflush failed: %s", strerror(errno));
	return ph_write(call, "ring ok\n", 8);
}

static int do_raw(struct ph_call *call, const struct ph_input *in, size_t n)
{
	static const char line[] = "raw to fd 1\n";

	if (write(STDOUT_FILENO, line, sizeof(line) - 1) != (ssize_t)sizeof(line) - 1)
		return ph_error(call, errno, "write(1) failed: %s", strerror(errno));
	return ph_write(call, "ring ok\n", 8);
}

static int do_flood(struct ph_call *call, const struct ph_input *in, size_t n)
{
	char line[81];
	long mib;

	if (n != 1 || in[0].len == 0 || in[0].len > 8)
		return ph_error(call, 22, "flood: want one input, a count of MiB");
	mib = strtol((const char *)in[0].data, NULL, 10);
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = '\0';
	for (long i = 0; i < mib * (1 << 20) / 80; i++)
		if (fputs(line, stdout) == EOF)
			return ph_error(call, errno, "fputs failed: %s", strerror(errno));
	if (fflush(stdout) != 0)
		return ph_error(call, errno, "fflush failed: %s", strerror(errno));
	return ph_write(call, "flooded\n", 8);
}

static int do_isatty(struct ph_call *call, const struct ph_input *in, size_t n)
{
	int t, e;

	errno = 0;
	t = isatty(1);
	e = errno;
	return ph_printf(call, "isatty(1)=%d errno=%d\n", t, e);
}

static const struct ph_method methods[] = {
    {"print", do_print},
    {"flood", do_flood},
    {"isatty", do_isatty},
    {"raw", do_raw},
};

PH_PLUGIN("chatty", "1.0", methods);
