/* SPDX-License-Identifier: MIT */
/*
 * Cleanup helpers shared by the host, the runner, the sandbox and common/
 * (systemd style). Internal: never installed, never seen by plugins.
 */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

/* Closes fd if it is one (>= 0) and returns -1, so that
 * `p->sock = safe_close(p->sock);` closes and forgets in one step. errno
 * is kept, so it can run on an error path before errno is read. */
static inline int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;

		close(fd);
		errno = saved;
	}
	return -1;
}

static inline void ph__closep(int *fd)
{
	safe_close(*fd);
}
#define _cleanup_close_ __attribute__((cleanup(ph__closep)))

static inline void ph__freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ __attribute__((cleanup(ph__freep)))

/* Hands an fd out of a _cleanup_close_ variable: returns it and leaves -1
 * behind, so that the cleanup no longer closes it. */
static inline int ph__take_fd(int *fd)
{
	int r = *fd;

	*fd = -1;
	return r;
}
#define TAKE_FD(fd) ph__take_fd(&(fd))

/* The number of elements of an array (not of a pointer). */
#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
