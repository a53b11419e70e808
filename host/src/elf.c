/* SPDX-License-Identifier: MIT */
/*
 * The host's ELF reader: what a plugin (or a library it needs) says about
 * its dependencies, DT_NEEDED, DT_RUNPATH and DT_RPATH, and whether it is
 * an executable rather than a shared object.
 *
 * The file is hostile input: the plugin's author wrote every byte. So it
 * is read with pread() into buffers of our own (no mapping that could
 * change or shrink under us), every offset and size is checked against
 * the file's size before it is used, every count and string has a cap,
 * and anything that does not make sense (another class or byte order,
 * overlapping tables, a string without its NUL, two dynamic segments) is
 * refused with a reason rather than guessed at.
 */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define ELF_FILE_MAX	(1ull << 30) /* 1 GiB: no plugin or library is bigger */
#define ELF_PHNUM_MAX	256u
#define ELF_DYNAMIC_MAX 4096u	   /* dynamic entries */
#define ELF_STRTAB_MAX	(1u << 20) /* bytes of the dynamic string table */

static int refuse(char *why, size_t why_len, const char *what)
{
	snprintf(why, why_len, "%s", what);
	return -ENOEXEC;
}

/* Read exactly len bytes at off, which the caller checked lie within the
 * file. A short read means the file changed under us: refused. */
static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* Does [off, off + len) lie within size bytes? (No overflow.) */
static bool within(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* The file offset of virtual address vaddr, for len bytes that must lie
 * within one PT_LOAD segment's file bytes. */
static int vaddr_to_off(const Elf64_Phdr *ph, size_t n, uint64_t vaddr, uint64_t len,
			uint64_t *ret_off)
{
	for (size_t i = 0; i < n; i++) {
		if (ph[i].p_type != PT_LOAD || vaddr < ph[i].p_vaddr)
			continue;
		if (vaddr - ph[i].p_vaddr > ph[i].p_filesz ||
		    len > ph[i].p_filesz - (vaddr - ph[i].p_vaddr))
			continue;
		*ret_off = ph[i].p_offset + (vaddr - ph[i].p_vaddr);
		return 0;
	}
	return -ENOENT;
}

/* Take the NUL-terminated string at off of strtab (len bytes) into a new
 * allocation, at most max bytes long. */
static int take_string(const char *strtab, uint64_t len, uint64_t off, size_t max, char **ret)
{
	const char *s, *end;

	if (off >= len)
		return -EBADMSG;
	s = strtab + off;
	end = memchr(s, '\0', (size_t)(len - off));
	if (!end || (size_t)(end - s) > max)
		return -EBADMSG;
	*ret = strndup(s, (size_t)(end - s));
	return *ret ? 0 : -ENOMEM;
}

void ph__elf_info_free(struct ph__elf_info *info)
{
	if (!info)
		return;
	for (size_t i = 0; i < info->n_needed; i++)
		free(info->needed[i]);
	free(info->runpath);
	free(info->rpath);
	memset(info, 0, sizeof(*info));
}

int ph__elf_read(int fd, struct ph__elf_info *out, char *why, size_t why_len)
{
	_cleanup_free_ Elf64_Phdr *ph = NULL;
	_cleanup_free_ Elf64_Dyn *dyn = NULL;
	_cleanup_free_ char *strtab = NULL;
	struct ph__elf_info info = {0};
	uint64_t size, strtab_addr = 0, strsz = 0, strtab_off, dyn_n = 0;
	const Elf64_Phdr *dynamic = NULL;
	bool have_strtab = false, have_strsz = false;
	Elf64_Ehdr eh;
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return refuse(why, why_len, "not a regular file");
	size = (uint64_t)st.st_size;
	if (size > ELF_FILE_MAX)
		return refuse(why, why_len, "larger than any shared object plughost loads (1 GiB)");
	if (size < sizeof(eh))
		return refuse(why, why_len, "not an ELF file (too short)");
	r = read_at(fd, &eh, sizeof(eh), 0);
	if (r < 0)
		return r;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		return refuse(why, why_len, "not an ELF file");
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_X86_64)
		return refuse(why, why_len,
			      "built for another architecture (this host runs x86_64, 64-bit "
			      "little-endian)");
	if (eh.e_ident[EI_VERSION] != EV_CURRENT || eh.e_version != EV_CURRENT ||
	    eh.e_ehsize != sizeof(eh))
		return refuse(why, why_len, "a malformed ELF header");
	if (eh.e_type != ET_DYN)
		return refuse(why, why_len, "not a shared object (build it with -shared)");
	if (eh.e_phnum == 0 || eh.e_phnum > ELF_PHNUM_MAX || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    !within(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), size))
		return refuse(why, why_len, "a malformed program header table");

	ph = calloc(eh.e_phnum, sizeof(*ph));
	if (!ph)
		return -ENOMEM;
	r = read_at(fd, ph, (size_t)eh.e_phnum * sizeof(*ph), eh.e_phoff);
	if (r < 0)
		return r;
	for (size_t i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD || ph[i].p_type == PT_DYNAMIC) {
			if (!within(ph[i].p_offset, ph[i].p_filesz, size))
				return refuse(why, why_len,
					      "a segment lies beyond the end of the file");
		}
		if (ph[i].p_type == PT_INTERP)
			info.has_interp = 1;
		if (ph[i].p_type == PT_DYNAMIC) {
			if (dynamic)
				return refuse(why, why_len, "two dynamic segments");
			dynamic = &ph[i];
		}
	}
	if (!dynamic) {
		/* A static PIE has none: nothing needed, nothing to resolve. */
		*out = info;
		return 0;
	}
	if (dynamic->p_filesz % sizeof(Elf64_Dyn) ||
	    dynamic->p_filesz / sizeof(Elf64_Dyn) > ELF_DYNAMIC_MAX)
		return refuse(why, why_len, "a malformed dynamic segment");
	dyn_n = dynamic->p_filesz / sizeof(Elf64_Dyn);
	dyn = calloc(dyn_n ? dyn_n : 1, sizeof(*dyn));
	if (!dyn)
		return -ENOMEM;
	r = read_at(fd, dyn, (size_t)dyn_n * sizeof(*dyn), dynamic->p_offset);
	if (r < 0)
		return r;

	/* First pass: the string table and the flags. */
	for (uint64_t i = 0; i < dyn_n && dyn[i].d_tag != DT_NULL; i++) {
		switch (dyn[i].d_tag) {
		case DT_STRTAB:
			if (have_strtab)
				return refuse(why, why_len, "two dynamic string tables");
			have_strtab = true;
			strtab_addr = dyn[i].d_un.d_ptr;
			break;
		case DT_STRSZ:
			if (have_strsz)
				return refuse(why, why_len, "two dynamic string table sizes");
			have_strsz = true;
			strsz = dyn[i].d_un.d_val;
			break;
		case DT_FLAGS_1:
			if (dyn[i].d_un.d_val & DF_1_PIE)
				info.is_pie = 1;
			break;
		default:
			break;
		}
	}
	for (uint64_t i = 0; i < dyn_n && dyn[i].d_tag != DT_NULL; i++) {
		const int64_t tag = dyn[i].d_tag;

		if (tag == DT_NEEDED || tag == DT_RUNPATH || tag == DT_RPATH) {
			if (!have_strtab || !have_strsz)
				return refuse(why, why_len,
					      "dependencies named without a dynamic string table");
			break;
		}
	}
	if (have_strtab && have_strsz) {
		if (strsz == 0 || strsz > ELF_STRTAB_MAX)
			return refuse(why, why_len, "a dynamic string table of an absurd size");
		if (vaddr_to_off(ph, eh.e_phnum, strtab_addr, strsz, &strtab_off) < 0)
			return refuse(why, why_len,
				      "the dynamic string table lies outside the file's segments");
		strtab = malloc((size_t)strsz);
		if (!strtab)
			return -ENOMEM;
		r = read_at(fd, strtab, (size_t)strsz, strtab_off);
		if (r < 0)
			return r;
	}

	/* Second pass: the names, each checked against the table's end. */
	for (uint64_t i = 0; i < dyn_n && dyn[i].d_tag != DT_NULL; i++) {
		const int64_t tag = dyn[i].d_tag;
		char **slot;
		size_t max = PH_ELF_PATH_MAX;

		if (tag == DT_NEEDED) {
			if (info.n_needed >= PH_ELF_NEEDED_MAX) {
				ph__elf_info_free(&info);
				snprintf(why, why_len,
					 "more than %u DT_NEEDED entries (the most plughost "
					 "resolves)",
					 PH_ELF_NEEDED_MAX);
				return -E2BIG;
			}
			slot = &info.needed[info.n_needed];
			max = PH_ELF_NAME_MAX;
		} else if (tag == DT_RUNPATH) {
			slot = &info.runpath;
		} else if (tag == DT_RPATH) {
			slot = &info.rpath;
		} else
			continue;
		if (*slot) {
			ph__elf_info_free(&info);
			return refuse(why, why_len, "two DT_RUNPATH or DT_RPATH entries");
		}
		r = take_string(strtab, strsz, dyn[i].d_un.d_val, max, slot);
		if (r < 0) {
			ph__elf_info_free(&info);
			if (r == -ENOMEM)
				return r;
			return refuse(why, why_len,
				      "a dependency name outside its string table, without its "
				      "end, or too long");
		}
		if (tag == DT_NEEDED)
			info.n_needed++;
	}
	*out = info;
	return 0;
}
