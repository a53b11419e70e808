/* SPDX-License-Identifier: MIT */
/*
 * Helpers private to the sandbox library: systemd-style cleanup attributes
 * and the raw syscalls glibc 2.36 has no wrappers for.
 */
#pragma once

#include <errno.h>
#include <linux/audit.h>
#include <stdlib.h>
#include <unistd.h>

static inline void ph__sb_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;

		close(*fd);
		errno = saved;
	}
}
#define _cleanup_close_ __attribute__((cleanup(ph__sb_closep)))

static inline void ph__sb_freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ __attribute__((cleanup(ph__sb_freep)))

static inline int ph__sb_take_fd(int *fd)
{
	int r = *fd;

	*fd = -1;
	return r;
}
#define TAKE_FD(fd) ph__sb_take_fd(&(fd))

#define PH_ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The seccomp policy and the notification decoder speak for one
 * architecture. Any other arch seen at run time (i386 through int 0x80,
 * x32) is refused, never interpreted with the wrong syscall table.
 */
#if defined(__x86_64__)
#define PH_AUDIT_ARCH_NATIVE AUDIT_ARCH_X86_64
#define PH_X32_SYSCALL_BIT   0x40000000U
#else
#error "plughost's sandbox supports x86_64 only"
#endif
