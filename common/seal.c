/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <linux/magic.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "seal.h"
#include "util.h"

/* Seals a sealed memfd may carry beyond the required ones. F_SEAL_EXEC
 * comes with MFD_NOEXEC_SEAL; FUTURE_WRITE is redundant next to WRITE. */
#define PH_SEALS_INPUT_EXTRA (F_SEAL_EXEC | F_SEAL_FUTURE_WRITE)
#define PH_SEALS_RING_EXTRA  (F_SEAL_EXEC)

static int fail(const char **ret_why, const char *why, int err)
{
	if (ret_why)
		*ret_why = why;
	return -err;
}

/*
 * The test seam: test-seal compiles this file with PH_SEAL_TEST_SEAM and
 * records every call the check makes, in order. Nothing in the library.
 */
#ifdef PH_SEAL_TEST_SEAM
void ph__seal_test_seam(const char *call);
#define SEAM(call) ph__seal_test_seam(call)
#else
#define SEAM(call) ((void)0)
#endif

/* Why an fd without seals is refused, in the most useful words. Order
 * does not matter here: the fd is refused whatever changes. */
static int refuse_unsealable(int fd, const char **ret_why)
{
	struct stat st;
	struct statfs sfs;

	SEAM("fstat");
	if (fstat(fd, &st) < 0)
		return fail(ret_why, "not an open file descriptor", EBADF);
	/* A pipe, socket or device would block or lie about its size. */
	if (!S_ISREG(st.st_mode))
		return fail(ret_why, "not a regular file (a pipe, socket or device?)", EINVAL);
	SEAM("fstatfs");
	if (fstatfs(fd, &sfs) < 0 || sfs.f_type != TMPFS_MAGIC)
		return fail(ret_why, "not a memfd (the file is not on tmpfs)", EINVAL);
	return fail(ret_why, "not a memfd (the file does not support seals)", EINVAL);
}

int ph__seal_check(int fd, enum ph_seal_kind kind, uint64_t expected_size, uint64_t max_size,
		   uint64_t *ret_size, const char **ret_why)
{
	struct stat st;
	struct statfs sfs;
	int seals, required, allowed;

	if (fd < 0)
		return fail(ret_why, "not an open file descriptor", EBADF);
	/*
	 * The seals first, then type and size. Once GROW and SHRINK are set
	 * the size cannot change, so a size read after them is the size for
	 * good; read before, it could predate a resize the sender made just
	 * before sealing, and the mapping would SIGBUS.
	 */
	SEAM("F_GET_SEALS");
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return refuse_unsealable(fd, ret_why);
	/* memfds live on tmpfs (or hugetlbfs, which we never create). */
	SEAM("fstatfs");
	if (fstatfs(fd, &sfs) < 0 || sfs.f_type != TMPFS_MAGIC)
		return fail(ret_why, "not a memfd (the file is not on tmpfs)", EINVAL);
	SEAM("fstat");
	if (fstat(fd, &st) < 0)
		return fail(ret_why, "not an open file descriptor", EBADF);
	if (!S_ISREG(st.st_mode))
		return fail(ret_why, "not a regular file (a pipe, socket or device?)", EINVAL);

	required = kind == PH_SEAL_KIND_INPUT ? PH_SEALS_INPUT : PH_SEALS_RING;
	allowed =
	    required | (kind == PH_SEAL_KIND_INPUT ? PH_SEALS_INPUT_EXTRA : PH_SEALS_RING_EXTRA);
	/* A /dev/shm file reports F_SEAL_SEAL alone, so exact bits matter. */
	if ((seals & required) != required)
		return fail(
		    ret_why,
		    kind == PH_SEAL_KIND_INPUT
			? "memfd is not fully sealed (needs WRITE, SHRINK, GROW and SEAL)"
			: "ring memfd is not sealed against resizing (needs SHRINK, GROW and SEAL)",
		    EINVAL);
	/* On the ring, WRITE or FUTURE_WRITE would let one side stop the other
	 * from mapping it writable, or break writes already mapped. */
	if (seals & ~allowed)
		return fail(ret_why, "memfd carries seals it must not have (WRITE on a ring?)",
			    EINVAL);

	if (st.st_size < 0)
		return fail(ret_why, "negative file size", EFBIG);
	if (expected_size != UINT64_MAX && (uint64_t)st.st_size != expected_size)
		return fail(ret_why, "memfd size differs from the size announced", EFBIG);
	if ((uint64_t)st.st_size > max_size)
		return fail(ret_why, "memfd is larger than allowed", EFBIG);

	if (ret_size)
		*ret_size = (uint64_t)st.st_size;
	return 0;
}

static atomic_int noexec_state; /* 0 unknown, 1 supported, -1 not */

int ph__memfd_create(const char *name)
{
	int fd, state = atomic_load(&noexec_state);

	/* NOEXEC_SEAL: nobody can ever map this memory executable, whoever
	 * holds the fd. Kernels before 6.3 refuse the flag with EINVAL. */
	if (state >= 0) {
		fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);
		if (fd >= 0) {
			atomic_store(&noexec_state, 1);
			return fd;
		}
		if (errno != EINVAL)
			return -errno;
		atomic_store(&noexec_state, -1);
	}
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	return fd >= 0 ? fd : -errno;
}

int ph__memfd_noexec_supported(void)
{
	if (atomic_load(&noexec_state) == 0)
		safe_close(ph__memfd_create("ph-probe")); /* which sets noexec_state */
	return atomic_load(&noexec_state) > 0;
}
