/* SPDX-License-Identifier: MIT */
/*
 * Loading a seccomp program the host compiled (ph__policy_compile) and
 * handed over in a sealed memfd: the runner needs no libseccomp at run
 * time and never builds a filter itself, and the program it loads is
 * exactly the bytes the host sealed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"
#include "sb-internal.h"
#include "seal.h"

unsigned int ph__sb_seccomp_patch_self(struct sock_filter *insns, unsigned int n, pid_t self)
{
	unsigned int patched = 0;

	for (unsigned int i = 0; i < n; i++)
		if (insns[i].code == (BPF_JMP | BPF_JEQ | BPF_K) && insns[i].k == PH__SB_SELF_PID) {
			insns[i].k = (uint32_t)self;
			patched++;
		}
	return patched;
}

int ph__sb_seccomp_load(int prog_fd, int listen, int *ret_listener)
{
	const uint64_t max = (uint64_t)BPF_MAXINSNS * sizeof(struct sock_filter);
	struct sock_fprog prog;
	uint64_t size;
	void *map;
	int r, fd, flags;

	if (prog_fd < 0 || (listen && !ret_listener))
		return -EINVAL;

	/* Sealed against every change, so what we check below is what the
	 * kernel loads: nobody holding another fd can rewrite it meanwhile. */
	r = ph__seal_check(prog_fd, PH_SEAL_KIND_INPUT, UINT64_MAX, max, &size, NULL);
	if (r < 0)
		return r;
	if (size == 0 || size % sizeof(struct sock_filter) != 0)
		return -EINVAL;

	/* A private copy: the sealed memfd stays as the host made it. */
	map = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE, prog_fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	prog.len = (unsigned short)(size / sizeof(struct sock_filter));
	prog.filter = map;
	/* The self-only signal rules compare with a placeholder: make them
	 * name us. */
	ph__sb_seccomp_patch_self(prog.filter, prog.len, getpid());

	/*
	 * Raw seccomp(): libseccomp is not needed here. NEW_LISTENER hands
	 * back the notification fd; the kernel allows one listener per filter
	 * chain. This needs no_new_privs (or CAP_SYS_ADMIN), set before.
	 */
	fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			  listen ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0, &prog);
	r = fd < 0 ? -errno : 0;
	munmap(map, (size_t)size);
	if (r < 0)
		return r;
	if (!listen)
		return 0;

	/* The kernel creates the listener O_CLOEXEC; make sure, since a leak
	 * across an exec would hand the plugin's own verdicts to whoever ran
	 * next. F_GETFD and F_SETFD are both allowed by the policy. */
	flags = fcntl(fd, F_GETFD);
	if (flags < 0 || (!(flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)) {
		r = -errno;
		close(fd);
		return r;
	}
	*ret_listener = fd;
	return 0;
}
