/* SPDX-License-Identifier: MIT */
/*
 * Naming a refused syscall from what the kernel reported (arch, number,
 * raw argument registers), e.g. "openat(AT_FDCWD, 0x7ffd1234, O_RDONLY)".
 * Only values are printed, never memory they point to: the plugin could
 * change it between the kernel's check and our read, and reading another
 * process's memory is not this function's business anyway.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/audit.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "sandbox.h"
#include "sb-internal.h"
#include "strbuf.h"

/* The kernel's O_LARGEFILE on x86_64; glibc defines it as 0 there. */
#define KERNEL_O_LARGEFILE 0100000
#ifndef PROT_SEM
#define PROT_SEM 0x8
#endif

enum arg_kind {
	ARG_HEX = 0, /* default: raw register */
	ARG_INT,     /* signed decimal (32-bit, as the kernel reads it) */
	ARG_UINT,    /* unsigned decimal */
	ARG_PTR,     /* 0x... pointer, never dereferenced */
	ARG_FD,	     /* decimal fd */
	ARG_DIRFD,   /* AT_FDCWD or an fd */
	ARG_OFLAGS,  /* O_* */
	ARG_MODE,    /* octal */
	ARG_PROT,    /* PROT_* */
	ARG_MAPFLAGS,
	ARG_AF,	      /* AF_* */
	ARG_SOCKTYPE, /* SOCK_* | SOCK_NONBLOCK | SOCK_CLOEXEC */
	ARG_SIG,      /* SIG* */
	ARG_IOCTL,    /* full 64-bit request: high bits matter (CVE-2019-10063) */
};

struct syscall_fmt {
	int nr;
	unsigned int nargs;
	enum arg_kind kinds[6];
};

/* The syscalls a refused plugin most often makes; others print raw. */
static const struct syscall_fmt formats[] = {
    {__NR_read, 3, {ARG_FD, ARG_PTR, ARG_UINT}},
    {__NR_write, 3, {ARG_FD, ARG_PTR, ARG_UINT}},
    {__NR_open, 3, {ARG_PTR, ARG_OFLAGS, ARG_MODE}},
    {__NR_openat, 4, {ARG_DIRFD, ARG_PTR, ARG_OFLAGS, ARG_MODE}},
    {__NR_openat2, 4, {ARG_DIRFD, ARG_PTR, ARG_PTR, ARG_UINT}},
    {__NR_creat, 2, {ARG_PTR, ARG_MODE}},
    {__NR_close, 1, {ARG_FD}},
    {__NR_newfstatat, 4, {ARG_DIRFD, ARG_PTR, ARG_PTR, ARG_HEX}},
    {__NR_access, 2, {ARG_PTR, ARG_INT}},
    {__NR_readlink, 3, {ARG_PTR, ARG_PTR, ARG_UINT}},
    {__NR_getdents64, 3, {ARG_FD, ARG_PTR, ARG_UINT}},
    {__NR_mmap, 6, {ARG_PTR, ARG_HEX, ARG_PROT, ARG_MAPFLAGS, ARG_FD, ARG_HEX}},
    {__NR_mprotect, 3, {ARG_PTR, ARG_HEX, ARG_PROT}},
    {__NR_pkey_mprotect, 4, {ARG_PTR, ARG_HEX, ARG_PROT, ARG_INT}},
    {__NR_socket, 3, {ARG_AF, ARG_SOCKTYPE, ARG_INT}},
    {__NR_socketpair, 4, {ARG_AF, ARG_SOCKTYPE, ARG_INT, ARG_PTR}},
    {__NR_connect, 3, {ARG_FD, ARG_PTR, ARG_UINT}},
    {__NR_bind, 3, {ARG_FD, ARG_PTR, ARG_UINT}},
    {__NR_ioctl, 3, {ARG_FD, ARG_IOCTL, ARG_HEX}},
    {__NR_fcntl, 3, {ARG_FD, ARG_INT, ARG_HEX}},
    {__NR_kill, 2, {ARG_INT, ARG_SIG}},
    {__NR_tkill, 2, {ARG_INT, ARG_SIG}},
    {__NR_tgkill, 3, {ARG_INT, ARG_INT, ARG_SIG}},
    {__NR_clone, 5, {ARG_HEX, ARG_PTR, ARG_PTR, ARG_PTR, ARG_HEX}},
    {__NR_clone3, 2, {ARG_PTR, ARG_UINT}},
    {__NR_fork, 0, {0}},
    {__NR_vfork, 0, {0}},
    {__NR_execve, 3, {ARG_PTR, ARG_PTR, ARG_PTR}},
    {__NR_execveat, 5, {ARG_DIRFD, ARG_PTR, ARG_PTR, ARG_PTR, ARG_HEX}},
    {__NR_unshare, 1, {ARG_HEX}},
    {__NR_setns, 2, {ARG_FD, ARG_HEX}},
    {__NR_ptrace, 4, {ARG_INT, ARG_INT, ARG_PTR, ARG_PTR}},
    {__NR_prctl, 5, {ARG_INT, ARG_HEX, ARG_HEX, ARG_HEX, ARG_HEX}},
    {__NR_personality, 1, {ARG_HEX}},
    {__NR_getppid, 0, {0}},
    {__NR_bpf, 3, {ARG_INT, ARG_PTR, ARG_UINT}},
    {__NR_io_uring_setup, 2, {ARG_UINT, ARG_PTR}},
    {__NR_mount, 5, {ARG_PTR, ARG_PTR, ARG_PTR, ARG_HEX, ARG_PTR}},
    {__NR_umask, 1, {ARG_MODE}},
};

struct flag_name {
	uint64_t bit;
	const char *name;
};

static const struct flag_name open_flags[] = {
    {O_CREAT, "O_CREAT"},
    {O_EXCL, "O_EXCL"},
    {O_NOCTTY, "O_NOCTTY"},
    {O_TRUNC, "O_TRUNC"},
    {O_APPEND, "O_APPEND"},
    {O_NONBLOCK, "O_NONBLOCK"},
    {O_DSYNC, "O_DSYNC"},
    {O_ASYNC, "O_ASYNC"},
    {O_DIRECT, "O_DIRECT"},
    {KERNEL_O_LARGEFILE, "O_LARGEFILE"},
    {O_DIRECTORY, "O_DIRECTORY"},
    {O_NOFOLLOW, "O_NOFOLLOW"},
    {O_NOATIME, "O_NOATIME"},
    {O_CLOEXEC, "O_CLOEXEC"},
    {O_SYNC & ~O_DSYNC, "__O_SYNC"},
    {O_PATH, "O_PATH"},
    {O_TMPFILE & ~O_DIRECTORY, "__O_TMPFILE"},
};

static const struct flag_name prot_flags[] = {
    {PROT_READ, "PROT_READ"}, {PROT_WRITE, "PROT_WRITE"},	  {PROT_EXEC, "PROT_EXEC"},
    {PROT_SEM, "PROT_SEM"},   {PROT_GROWSDOWN, "PROT_GROWSDOWN"}, {PROT_GROWSUP, "PROT_GROWSUP"},
};

static const struct flag_name map_flags[] = {
    {MAP_FIXED, "MAP_FIXED"},	      {MAP_ANONYMOUS, "MAP_ANONYMOUS"},
    {MAP_32BIT, "MAP_32BIT"},	      {MAP_GROWSDOWN, "MAP_GROWSDOWN"},
    {MAP_DENYWRITE, "MAP_DENYWRITE"}, {MAP_EXECUTABLE, "MAP_EXECUTABLE"},
    {MAP_LOCKED, "MAP_LOCKED"},	      {MAP_NORESERVE, "MAP_NORESERVE"},
    {MAP_POPULATE, "MAP_POPULATE"},   {MAP_NONBLOCK, "MAP_NONBLOCK"},
    {MAP_STACK, "MAP_STACK"},	      {MAP_HUGETLB, "MAP_HUGETLB"},
    {MAP_SYNC, "MAP_SYNC"},	      {MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE"},
};

static const struct flag_name sock_flags[] = {
    {SOCK_NONBLOCK, "SOCK_NONBLOCK"},
    {SOCK_CLOEXEC, "SOCK_CLOEXEC"},
};

static const char *const families[] = {
    [AF_UNSPEC] = "AF_UNSPEC",	 [AF_UNIX] = "AF_UNIX",	    [AF_INET] = "AF_INET",
    [AF_AX25] = "AF_AX25",	 [AF_IPX] = "AF_IPX",	    [AF_APPLETALK] = "AF_APPLETALK",
    [AF_X25] = "AF_X25",	 [AF_INET6] = "AF_INET6",   [AF_KEY] = "AF_KEY",
    [AF_NETLINK] = "AF_NETLINK", [AF_PACKET] = "AF_PACKET", [AF_RDS] = "AF_RDS",
    [AF_CAN] = "AF_CAN",	 [AF_TIPC] = "AF_TIPC",	    [AF_BLUETOOTH] = "AF_BLUETOOTH",
    [AF_ALG] = "AF_ALG",	 [AF_VSOCK] = "AF_VSOCK",   [AF_XDP] = "AF_XDP",
};

static const char *const sock_types[] = {
    [SOCK_STREAM] = "SOCK_STREAM",
    [SOCK_DGRAM] = "SOCK_DGRAM",
    [SOCK_RAW] = "SOCK_RAW",
    [SOCK_RDM] = "SOCK_RDM",
    [SOCK_SEQPACKET] = "SOCK_SEQPACKET",
    [SOCK_PACKET] = "SOCK_PACKET",
};

/* Symbolic flags joined by '|', leftover bits in hex; "0" when none. */
static void out_flags(struct ph_strbuf *o, uint64_t v, const struct flag_name *names, size_t n,
		      const char *base)
{
	bool any = false;

	if (base) {
		ph__strbuf_printf(o, "%s", base);
		any = true;
	}
	for (size_t i = 0; i < n; i++)
		if (names[i].bit && (v & names[i].bit) == names[i].bit) {
			ph__strbuf_printf(o, "%s%s", any ? "|" : "", names[i].name);
			v &= ~names[i].bit;
			any = true;
		}
	if (v || !any)
		ph__strbuf_printf(o, "%s0x%" PRIx64, any ? "|" : "", v);
}

static void out_name(struct ph_strbuf *o, const char *const *names, size_t n, uint64_t v)
{
	if (v < n && names[v])
		ph__strbuf_printf(o, "%s", names[v]);
	else
		ph__strbuf_printf(o, "%" PRIu64, v);
}

static void out_arg(struct ph_strbuf *o, enum arg_kind kind, uint64_t v)
{
	/* Most kernel arguments of these kinds are int: the low 32 bits. */
	const int32_t i32 = (int32_t)(uint32_t)v;

	switch (kind) {
	case ARG_INT:
	case ARG_FD:
		ph__strbuf_printf(o, "%" PRId32, i32);
		break;
	case ARG_UINT:
		ph__strbuf_printf(o, "%" PRIu64, v);
		break;
	case ARG_PTR:
		ph__strbuf_printf(o, v ? "0x%" PRIx64 : "NULL", v);
		break;
	case ARG_DIRFD:
		if (i32 == AT_FDCWD)
			ph__strbuf_printf(o, "AT_FDCWD");
		else
			ph__strbuf_printf(o, "%" PRId32, i32);
		break;
	case ARG_OFLAGS: {
		static const char *const acc[] = {"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"};
		uint32_t f = (uint32_t)v;

		out_flags(o, f & ~(uint32_t)O_ACCMODE, open_flags, ELEMENTSOF(open_flags),
			  acc[f & O_ACCMODE]);
		break;
	}
	case ARG_MODE:
		ph__strbuf_printf(o, "0%" PRIo64, v);
		break;
	case ARG_PROT:
		if (v == PROT_NONE)
			ph__strbuf_printf(o, "PROT_NONE");
		else
			out_flags(o, v, prot_flags, ELEMENTSOF(prot_flags), NULL);
		break;
	case ARG_MAPFLAGS: {
		static const char *const types[] = {[MAP_SHARED] = "MAP_SHARED",
						    [MAP_PRIVATE] = "MAP_PRIVATE",
						    [MAP_SHARED_VALIDATE] = "MAP_SHARED_VALIDATE"};
		uint64_t t = v & MAP_TYPE;

		if (t < ELEMENTSOF(types) && types[t])
			out_flags(o, v & ~(uint64_t)MAP_TYPE, map_flags, ELEMENTSOF(map_flags),
				  types[t]);
		else
			out_flags(o, v, map_flags, ELEMENTSOF(map_flags), NULL);
		break;
	}
	case ARG_AF:
		out_name(o, families, ELEMENTSOF(families), (uint32_t)v);
		break;
	case ARG_SOCKTYPE: {
		uint32_t t = (uint32_t)v & 0xf, rest = (uint32_t)v & ~0xfu;

		out_name(o, sock_types, ELEMENTSOF(sock_types), t);
		if (rest) {
			ph__strbuf_printf(o, "|");
			out_flags(o, rest, sock_flags, ELEMENTSOF(sock_flags), NULL);
		}
		break;
	}
	case ARG_SIG: {
		const char *abbrev = i32 > 0 ? sigabbrev_np(i32) : NULL;

		if (abbrev)
			ph__strbuf_printf(o, "SIG%s", abbrev);
		else
			ph__strbuf_printf(o, "%" PRId32, i32);
		break;
	}
	case ARG_IOCTL:
	case ARG_HEX:
	default:
		ph__strbuf_printf(o, "0x%" PRIx64, v);
		break;
	}
}

static const struct syscall_fmt *find_format(int nr)
{
	for (size_t i = 0; i < ELEMENTSOF(formats); i++)
		if (formats[i].nr == nr)
			return &formats[i];
	return NULL;
}

static void copy_name(char *dst, size_t len, const char *src)
{
	if (len == 0)
		return;
	snprintf(dst, len, "%s", src ? src : "");
}

void ph__syscall_describe(uint32_t arch, int nr, const uint64_t args[6], char *name,
			  size_t name_len, char *line, size_t line_len)
{
	static const uint64_t no_args[6];
	struct ph_strbuf o;
	const struct syscall_fmt *fmt;
	char *resolved = NULL;

	if (!args)
		args = no_args;
	if (!name)
		name_len = 0;
	ph__strbuf_init(&o, line, line_len);
	copy_name(name, name_len, "");

	if (arch == AUDIT_ARCH_I386) {
		/* A 64-bit process making 32-bit calls: only int 0x80 does that,
		 * and its numbers mean other syscalls. */
		resolved = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86, nr);
		copy_name(name, name_len, resolved);
		if (resolved)
			ph__strbuf_printf(&o, "i386 syscall %s (int 0x80)", resolved);
		else
			ph__strbuf_printf(&o, "i386 syscall %d (int 0x80)", nr);
		free(resolved);
		return;
	}
	if (arch != PH_AUDIT_ARCH_NATIVE) {
		ph__strbuf_printf(&o, "syscall %d of unknown arch 0x%08" PRIx32, nr, arch);
		return;
	}
	if ((uint32_t)nr & PH_X32_SYSCALL_BIT) {
		resolved = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X32, nr);
		copy_name(name, name_len, resolved);
		ph__strbuf_printf(&o, "x32 syscall 0x%" PRIx32, (uint32_t)nr);
		if (resolved)
			ph__strbuf_printf(&o, " (%s)", resolved);
		free(resolved);
		return;
	}

	resolved = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
	copy_name(name, name_len, resolved);
	if (resolved)
		ph__strbuf_printf(&o, "%s(", resolved);
	else
		ph__strbuf_printf(&o, "syscall_%d(", nr);
	free(resolved);

	fmt = find_format(nr);
	for (unsigned int i = 0; i < (fmt ? fmt->nargs : 6); i++) {
		if (i > 0)
			ph__strbuf_printf(&o, ", ");
		out_arg(&o, fmt ? fmt->kinds[i] : ARG_HEX, args[i]);
	}
	ph__strbuf_printf(&o, ")");
}
