/* SPDX-License-Identifier: MIT */
/*
 * Checks that an fd really is a sealed memfd of the expected kind and size,
 * run by both sides before they map anything. F_GET_SEALS alone proves
 * nothing (a /dev/shm file reports F_SEAL_SEAL), so this checks the file
 * type, the filesystem magic, the exact seal bits and the size.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>

/* Kernel constants newer than Debian 12's headers (probed at run time). */
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

/* An input: nothing about it may change once the host sealed it. */
#define PH_SEALS_INPUT (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
/* The ring: fixed size, but both sides must still write to it. */
#define PH_SEALS_RING (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

enum ph_seal_kind { PH_SEAL_KIND_INPUT, PH_SEAL_KIND_RING };

/*
 * Check fd against kind: S_ISREG, tmpfs f_type, every required seal set,
 * no seal outside the allowed set (the ring must never carry WRITE or
 * FUTURE_WRITE, which would let one side block the other's mapping), and a
 * size of exactly expected_size (or any size up to max_size when
 * expected_size is UINT64_MAX).
 *
 * Returns 0 and stores the size in *ret_size; or a negative errno with a
 * static string naming what was wrong in *ret_why (when not NULL):
 * -EBADF (not an open fd), -EINVAL (not a regular file, not tmpfs, seals
 * wrong), -EFBIG (size wrong or too large).
 */
int ph__seal_check(int fd, enum ph_seal_kind kind, uint64_t expected_size, uint64_t max_size,
		   uint64_t *ret_size, const char **ret_why);

/*
 * Create a memfd for an input or the ring (CLOEXEC, ALLOW_SEALING and,
 * where the kernel has it, NOEXEC_SEAL). Returns the fd or a negative errno.
 */
int ph__memfd_create(const char *name);

/* Nonzero when memfd_create() takes MFD_NOEXEC_SEAL on this kernel. */
int ph__memfd_noexec_supported(void);
