/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the host's ELF reader (host/src/elf.c), which reads
 * the plugin's file, and the libraries beside it, to find what they need:
 * hostile bytes, every one of them the plugin author's. The input is the
 * whole file, written into a memfd (the reader takes an fd and pread()s
 * it, as it does a plugin). Whatever it accepts must keep every promise
 * of internal.h: at most PH_ELF_NEEDED_MAX names, each a NUL-terminated
 * string of at most PH_ELF_NAME_MAX bytes, search paths of at most
 * PH_ELF_PATH_MAX; whatever it refuses comes with a reason.
 *
 * Seeded from real shared objects of the build (tests/meson.build passes
 * them as -seed_inputs). Build: meson setup -Dfuzz=true with CC=clang.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct ph__elf_info info = {0};
	char why[160] = "";
	int r;

	if (fd < 0) {
		fd = memfd_create("fuzz-elf", MFD_CLOEXEC);
		if (fd < 0)
			abort();
	}
	if (ftruncate(fd, 0) < 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();

	r = ph__elf_read(fd, &info, why, sizeof(why));
	if (r < 0) {
		/* A refusal says why; nothing was handed out. */
		if ((r == -ENOEXEC || r == -E2BIG) && !why[0])
			abort();
		if (r != -ENOEXEC && r != -E2BIG && r != -ENOMEM && r != -EIO)
			abort();
		if (info.n_needed || info.runpath || info.rpath)
			abort();
		return 0;
	}
	if (info.n_needed > PH_ELF_NEEDED_MAX)
		abort();
	for (size_t i = 0; i < info.n_needed; i++)
		if (!info.needed[i] || strlen(info.needed[i]) > PH_ELF_NAME_MAX)
			abort();
	if ((info.runpath && strlen(info.runpath) > PH_ELF_PATH_MAX) ||
	    (info.rpath && strlen(info.rpath) > PH_ELF_PATH_MAX))
		abort();
	ph__elf_info_free(&info);
	return 0;
}
