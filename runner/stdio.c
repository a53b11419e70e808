/* SPDX-License-Identifier: MIT */
/*
 * The plugin's stdio streams, for the host's sake. fds 1 and 2 are pipes
 * the host reads as log lines (host/src/stdio.c); reading them costs the
 * host a syscall each, too much to pay at the end of every call when a
 * call costs a few hundred nanoseconds. So stdout and stderr become
 * streams of our own (fopencookie) that write to the same fds and then
 * set a word in the ring's header: the host reads the pipes at a call's
 * end only when it is set, or when it slept in the kernel during the call
 * anyway. A plugin's printf(), puts(), perror() and fprintf(stderr) all
 * go through these streams; a direct write(1, ...) is read when the host
 * next sleeps, and a plugin that keeps writing so fills the pipe and waits
 * for exactly that. The word is a hint the plugin can also set by hand,
 * which only costs itself the host's reads.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "ring-layout.h"
#include "runner.h"

static struct ph_ring_shared *hint;

static ssize_t stream_write(void *cookie, const char *buf, size_t size)
{
	const int fd = (int)(intptr_t)cookie;
	size_t done = 0;

	while (done < size) {
		ssize_t n = write(fd, buf + done, size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	/* After the bytes are in the pipe: the host that sees the word finds
	 * them there (the completion that follows is a release). */
	if (done > 0 && hint && !__atomic_load_n(&hint->stdio_written, __ATOMIC_RELAXED))
		__atomic_store_n(&hint->stdio_written, 1, __ATOMIC_RELEASE);
	return done > 0 || size == 0 ? (ssize_t)done : -1;
}

static FILE *stream_on(int fd, int mode)
{
	static const cookie_io_functions_t io = {.write = stream_write};
	FILE *f = fopencookie((void *)(intptr_t)fd, "w", io);

	/* As glibc's own: stdout fully buffered to a pipe, stderr not at all. */
	if (f && setvbuf(f, NULL, mode, mode == _IONBF ? 0 : BUFSIZ) != 0) {
		fclose(f);
		return NULL;
	}
	return f;
}

void ph__runner_stdio_hint(struct ph_ring_shared *shared)
{
	FILE *out = stream_on(STDOUT_FILENO, _IOFBF), *err = stream_on(STDERR_FILENO, _IONBF);

	hint = shared;
	/* Without memory for them the old streams stay: the host still reads
	 * the pipes whenever it sleeps. The old FILEs are left as they are
	 * (nothing was written through them yet). */
	if (out) {
		fflush(stdout);
		stdout = out;
	}
	if (err)
		stderr = err;
}
