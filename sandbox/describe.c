/* SPDX-License-Identifier: MIT */
/*
 * Naming a refused syscall from what the kernel reported (arch, number,
 * raw argument registers), e.g. "openat(AT_FDCWD, 0x7ffd1234, O_RDONLY)".
 * This file never reads another process's memory: where the caller (the
 * host's notify.c) read a path or a socket address a pointer argument
 * points at, it hands the bytes in (struct ph__sc_mem) and they are
 * shown quoted and escaped in place of the pointer. Those bytes are the
 * plugin's and may have changed since the kernel looked: the line says
 * they are as read at the time of the call, and nothing decides on them.
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
#include <sys/un.h>
#include <sys/ioctl.h>
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
	ARG_PATH,     /* pointer to a NUL-terminated path: shown if the caller read it */
	ARG_SOCKADDR, /* pointer to a socket address of the next argument's length */
	ARG_CLONE,    /* CLONE_* flags, the exit signal in the low byte */
	ARG_NSFLAGS,  /* CLONE_NEW* flags (unshare, setns) */
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
    {__NR_open, 3, {ARG_PATH, ARG_OFLAGS, ARG_MODE}},
    {__NR_openat, 4, {ARG_DIRFD, ARG_PATH, ARG_OFLAGS, ARG_MODE}},
    {__NR_openat2, 4, {ARG_DIRFD, ARG_PATH, ARG_PTR, ARG_UINT}},
    {__NR_creat, 2, {ARG_PATH, ARG_MODE}},
    {__NR_close, 1, {ARG_FD}},
    {__NR_stat, 2, {ARG_PATH, ARG_PTR}},
    {__NR_lstat, 2, {ARG_PATH, ARG_PTR}},
    {__NR_newfstatat, 4, {ARG_DIRFD, ARG_PATH, ARG_PTR, ARG_HEX}},
    {__NR_statx, 5, {ARG_DIRFD, ARG_PATH, ARG_HEX, ARG_HEX, ARG_PTR}},
    {__NR_access, 2, {ARG_PATH, ARG_INT}},
    {__NR_faccessat, 3, {ARG_DIRFD, ARG_PATH, ARG_INT}},
    {__NR_faccessat2, 4, {ARG_DIRFD, ARG_PATH, ARG_INT, ARG_HEX}},
    {__NR_readlink, 3, {ARG_PATH, ARG_PTR, ARG_UINT}},
    {__NR_readlinkat, 4, {ARG_DIRFD, ARG_PATH, ARG_PTR, ARG_UINT}},
    {__NR_unlink, 1, {ARG_PATH}},
    {__NR_unlinkat, 3, {ARG_DIRFD, ARG_PATH, ARG_HEX}},
    {__NR_mkdir, 2, {ARG_PATH, ARG_MODE}},
    {__NR_mkdirat, 3, {ARG_DIRFD, ARG_PATH, ARG_MODE}},
    {__NR_rmdir, 1, {ARG_PATH}},
    {__NR_rename, 2, {ARG_PATH, ARG_PATH}},
    {__NR_renameat, 4, {ARG_DIRFD, ARG_PATH, ARG_DIRFD, ARG_PATH}},
    {__NR_renameat2, 5, {ARG_DIRFD, ARG_PATH, ARG_DIRFD, ARG_PATH, ARG_HEX}},
    {__NR_chdir, 1, {ARG_PATH}},
    {__NR_chroot, 1, {ARG_PATH}},
    {__NR_getdents64, 3, {ARG_FD, ARG_PTR, ARG_UINT}},
    {__NR_mmap, 6, {ARG_PTR, ARG_HEX, ARG_PROT, ARG_MAPFLAGS, ARG_FD, ARG_HEX}},
    {__NR_mprotect, 3, {ARG_PTR, ARG_HEX, ARG_PROT}},
    {__NR_pkey_mprotect, 4, {ARG_PTR, ARG_HEX, ARG_PROT, ARG_INT}},
    {__NR_socket, 3, {ARG_AF, ARG_SOCKTYPE, ARG_INT}},
    {__NR_socketpair, 4, {ARG_AF, ARG_SOCKTYPE, ARG_INT, ARG_PTR}},
    {__NR_connect, 3, {ARG_FD, ARG_SOCKADDR, ARG_UINT}},
    {__NR_bind, 3, {ARG_FD, ARG_SOCKADDR, ARG_UINT}},
    {__NR_ioctl, 3, {ARG_FD, ARG_IOCTL, ARG_HEX}},
    {__NR_fcntl, 3, {ARG_FD, ARG_INT, ARG_HEX}},
    {__NR_kill, 2, {ARG_INT, ARG_SIG}},
    {__NR_tkill, 2, {ARG_INT, ARG_SIG}},
    {__NR_tgkill, 3, {ARG_INT, ARG_INT, ARG_SIG}},
    {__NR_clone, 5, {ARG_CLONE, ARG_PTR, ARG_PTR, ARG_PTR, ARG_HEX}},
    {__NR_clone3, 2, {ARG_PTR, ARG_UINT}},
    {__NR_fork, 0, {0}},
    {__NR_vfork, 0, {0}},
    {__NR_execve, 3, {ARG_PATH, ARG_PTR, ARG_PTR}},
    {__NR_execveat, 5, {ARG_DIRFD, ARG_PATH, ARG_PTR, ARG_PTR, ARG_HEX}},
    {__NR_unshare, 1, {ARG_NSFLAGS}},
    {__NR_setns, 2, {ARG_FD, ARG_NSFLAGS}},
    {__NR_ptrace, 4, {ARG_INT, ARG_INT, ARG_PTR, ARG_PTR}},
    {__NR_prctl, 5, {ARG_INT, ARG_HEX, ARG_HEX, ARG_HEX, ARG_HEX}},
    {__NR_personality, 1, {ARG_HEX}},
    {__NR_getppid, 0, {0}},
    {__NR_bpf, 3, {ARG_INT, ARG_PTR, ARG_UINT}},
    {__NR_io_uring_setup, 2, {ARG_UINT, ARG_PTR}},
    {__NR_mount, 5, {ARG_PATH, ARG_PATH, ARG_PATH, ARG_HEX, ARG_PTR}},
    {__NR_umount2, 2, {ARG_PATH, ARG_HEX}},
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

static const struct flag_name clone_flags[] = {
    {CLONE_VM, "CLONE_VM"},
    {CLONE_FS, "CLONE_FS"},
    {CLONE_FILES, "CLONE_FILES"},
    {CLONE_SIGHAND, "CLONE_SIGHAND"},
    {CLONE_PIDFD, "CLONE_PIDFD"},
    {CLONE_PTRACE, "CLONE_PTRACE"},
    {CLONE_VFORK, "CLONE_VFORK"},
    {CLONE_PARENT, "CLONE_PARENT"},
    {CLONE_THREAD, "CLONE_THREAD"},
    {CLONE_NEWNS, "CLONE_NEWNS"},
    {CLONE_SYSVSEM, "CLONE_SYSVSEM"},
    {CLONE_SETTLS, "CLONE_SETTLS"},
    {CLONE_PARENT_SETTID, "CLONE_PARENT_SETTID"},
    {CLONE_CHILD_CLEARTID, "CLONE_CHILD_CLEARTID"},
    {CLONE_UNTRACED, "CLONE_UNTRACED"},
    {CLONE_CHILD_SETTID, "CLONE_CHILD_SETTID"},
    {CLONE_NEWCGROUP, "CLONE_NEWCGROUP"},
    {CLONE_NEWUTS, "CLONE_NEWUTS"},
    {CLONE_NEWIPC, "CLONE_NEWIPC"},
    {CLONE_NEWUSER, "CLONE_NEWUSER"},
    {CLONE_NEWPID, "CLONE_NEWPID"},
    {CLONE_NEWNET, "CLONE_NEWNET"},
    {CLONE_IO, "CLONE_IO"},
};

/* The ioctls plugins make by habit (stdio, terminals, non-blocking I/O)
 * and the ones attacks use (TIOCSTI, TIOCLINUX). */
static const struct {
	uint32_t req;
	const char *name;
} ioctl_names[] = {
    {TCGETS, "TCGETS"},		{TCSETS, "TCSETS"},	    {TCSETSW, "TCSETSW"},
    {TCSETSF, "TCSETSF"},	{TCGETA, "TCGETA"},	    {TCSETA, "TCSETA"},
    {TIOCGWINSZ, "TIOCGWINSZ"}, {TIOCSWINSZ, "TIOCSWINSZ"}, {TIOCSTI, "TIOCSTI"},
    {TIOCLINUX, "TIOCLINUX"},	{TIOCGPGRP, "TIOCGPGRP"},   {TIOCSPGRP, "TIOCSPGRP"},
    {TIOCSCTTY, "TIOCSCTTY"},	{TIOCNOTTY, "TIOCNOTTY"},   {TIOCGPTN, "TIOCGPTN"},
    {TIOCSPTLCK, "TIOCSPTLCK"}, {TIOCEXCL, "TIOCEXCL"},	    {FIONREAD, "FIONREAD"},
    {FIONBIO, "FIONBIO"},	{FIOCLEX, "FIOCLEX"},	    {FIONCLEX, "FIONCLEX"},
    {FIOASYNC, "FIOASYNC"},
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
	case ARG_CLONE: {
		const char *abbrev = (v & 0xff) ? sigabbrev_np((int)(v & 0xff)) : NULL;

		/* The low byte is the exit signal, not a flag. */
		out_flags(o, v & ~(uint64_t)0xff, clone_flags, ELEMENTSOF(clone_flags), NULL);
		if (abbrev)
			ph__strbuf_printf(o, "|SIG%s", abbrev);
		else if (v & 0xff)
			ph__strbuf_printf(o, "|%" PRIu64, v & 0xff);
		break;
	}
	case ARG_NSFLAGS:
		out_flags(o, v, clone_flags, ELEMENTSOF(clone_flags), NULL);
		break;
	case ARG_IOCTL: {
		const char *req = NULL;

		for (size_t i = 0; i < ELEMENTSOF(ioctl_names) && !req; i++)
			if (ioctl_names[i].req == (uint32_t)v)
				req = ioctl_names[i].name;
		/* The kernel reads the low 32 bits; high bits beside a known
		 * request are the CVE-2019-10063 trick, so show them. */
		if (req && (v >> 32))
			ph__strbuf_printf(o, "%s|0x%" PRIx64, req, v & ~(uint64_t)UINT32_MAX);
		else if (req)
			ph__strbuf_printf(o, "%s", req);
		else
			ph__strbuf_printf(o, "0x%" PRIx64, v);
		break;
	}
	case ARG_PATH:
	case ARG_SOCKADDR:
		ph__strbuf_printf(o, v ? "0x%" PRIx64 : "NULL", v);
		break;
	case ARG_HEX:
	default:
		ph__strbuf_printf(o, "0x%" PRIx64, v);
		break;
	}
}

/* Bytes of the plugin's memory as a C string literal: printable ASCII as
 * is, quotes and backslashes escaped, everything else \xNN; at most max
 * bytes of text inside the quotes, then "..." if cut or truncated. */
static void out_quoted(struct ph_strbuf *o, const char *b, size_t n, bool truncated, size_t max)
{
	size_t used = 0;

	ph__strbuf_putc(o, '"');
	for (size_t i = 0; i < n; i++) {
		const unsigned char c = (unsigned char)b[i];
		char esc[5];

		if (c == '"' || c == '\\')
			snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c == '\n')
			snprintf(esc, sizeof(esc), "\\n");
		else if (c >= 0x20 && c < 0x7f)
			snprintf(esc, sizeof(esc), "%c", c);
		else
			snprintf(esc, sizeof(esc), "\\x%02x", c);
		if (used + strlen(esc) > max) {
			truncated = true;
			break;
		}
		ph__strbuf_printf(o, "%s", esc);
		used += strlen(esc);
	}
	ph__strbuf_putc(o, '"');
	if (truncated)
		ph__strbuf_printf(o, "...");
}

/* What the caller read for argument i, shown in place of the pointer. */
static void out_mem(struct ph_strbuf *o, enum arg_kind kind, const struct ph__sc_mem_arg *m,
		    uint64_t v, size_t max)
{
	if (m->state == PH_SC_MEM_UNREADABLE) {
		ph__strbuf_printf(o, v ? "0x%" PRIx64 " <unreadable>" : "NULL", v);
		return;
	}
	if (kind == ARG_PATH) {
		out_quoted(o, m->bytes, m->len, m->state == PH_SC_MEM_TRUNCATED, max);
		return;
	}
	/* A socket address: the family, and for AF_UNIX its path (abstract
	 * names, which start with a NUL, as '@'). */
	if (m->len >= sizeof(sa_family_t)) {
		sa_family_t fam;

		memcpy(&fam, m->bytes, sizeof(fam));
		ph__strbuf_printf(o, "{");
		out_name(o, families, ELEMENTSOF(families), fam);
		if (fam == AF_UNIX && m->len > sizeof(fam)) {
			const char *p = m->bytes + sizeof(fam);
			size_t n = m->len - sizeof(fam);
			const bool abstract = p[0] == '\0';
			const char *nul = abstract ? NULL : memchr(p, '\0', n);

			if (abstract)
				p++, n--;
			ph__strbuf_printf(o, ", %s", abstract ? "@" : "");
			out_quoted(o, p, nul ? (size_t)(nul - p) : n, false, max);
		}
		ph__strbuf_printf(o, "}");
		return;
	}
	ph__strbuf_printf(o, "0x%" PRIx64, v);
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

/* The description proper, pointed-to bytes shown at most max each. */
static void describe(uint32_t arch, int nr, const uint64_t args[6], const struct ph__sc_mem *mem,
		     size_t max, char *name, size_t name_len, char *line, size_t line_len)
{
	struct ph_strbuf o;
	const struct syscall_fmt *fmt;
	char *resolved = NULL;

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
		if (fmt && mem && mem->arg[i].state != PH_SC_MEM_NONE &&
		    (fmt->kinds[i] == ARG_PATH || fmt->kinds[i] == ARG_SOCKADDR))
			out_mem(&o, fmt->kinds[i], &mem->arg[i], args[i], max);
		else
			out_arg(&o, fmt ? fmt->kinds[i] : ARG_HEX, args[i]);
	}
	ph__strbuf_printf(&o, ")");
}

void ph__syscall_describe(uint32_t arch, int nr, const uint64_t args[6], char *name,
			  size_t name_len, char *line, size_t line_len)
{
	static const uint64_t no_args[6];

	describe(arch, nr, args ? args : no_args, NULL, 0, name, name ? name_len : 0, line,
		 line_len);
}

int ph__syscall_mem_args(uint32_t arch, int nr, enum ph_sc_mem_kind kinds[6])
{
	const struct syscall_fmt *fmt;
	int n = 0;

	for (int i = 0; i < 6; i++)
		kinds[i] = PH_SC_MEM_KIND_NONE;
	if (arch != PH_AUDIT_ARCH_NATIVE || ((uint32_t)nr & PH_X32_SYSCALL_BIT) ||
	    !(fmt = find_format(nr)))
		return 0;
	for (unsigned int i = 0; i < fmt->nargs; i++) {
		if (fmt->kinds[i] == ARG_PATH)
			kinds[i] = PH_SC_MEM_KIND_PATH, n++;
		else if (fmt->kinds[i] == ARG_SOCKADDR)
			kinds[i] = PH_SC_MEM_KIND_SOCKADDR, n++;
	}
	return n;
}

/*
 * What would allow a refused call, where something would: one table,
 * first match wins. arg < 0 matches any arguments; else the row holds
 * when (args[arg] & mask) == want. Syscalls no row names get the policy
 * file's hint unless ph_policy_allow() refuses them outright.
 */
static const struct hint {
	int nr;
	int arg;
	uint64_t mask, want;
	const char *text;
} hints[] = {
    {__NR_clone, 0, CLONE_THREAD, CLONE_THREAD, "threads need --threads (PH_POLICY_THREADS)"},
    {__NR_clone, -1, 0, 0, "a plugin cannot start processes"},
    {__NR_fork, -1, 0, 0, "a plugin cannot start processes"},
    {__NR_vfork, -1, 0, 0, "a plugin cannot start processes"},
    {__NR_execve, -1, 0, 0, "a plugin cannot run programs"},
    {__NR_execveat, -1, 0, 0, "a plugin cannot run programs"},
    {__NR_open, -1, 0, 0, "files are granted with --allow-read PATH"},
    {__NR_openat, -1, 0, 0, "files are granted with --allow-read PATH"},
    {__NR_openat2, -1, 0, 0, "files are granted with --allow-read PATH"},
    {__NR_creat, -1, 0, 0, "the sandbox's files are read-only: write results with ph_write()"},
    {__NR_stat, -1, 0, 0, "files are granted with --allow-read PATH"},
    {__NR_lstat, -1, 0, 0, "files are granted with --allow-read PATH"},
    {__NR_newfstatat, -1, 0, 0, "files are granted with --allow-read PATH"},
    {__NR_statx, -1, 0, 0, "files are granted with --allow-read PATH"},
    {__NR_access, -1, 0, 0, "files are granted with --allow-read PATH"},
    {__NR_faccessat, -1, 0, 0, "files are granted with --allow-read PATH"},
    {__NR_faccessat2, -1, 0, 0, "files are granted with --allow-read PATH"},
    {__NR_readlink, -1, 0, 0, "files are granted with --allow-read PATH"},
    {__NR_readlinkat, -1, 0, 0, "files are granted with --allow-read PATH"},
    {__NR_unlink, -1, 0, 0, "the sandbox's files are read-only"},
    {__NR_unlinkat, -1, 0, 0, "the sandbox's files are read-only"},
    {__NR_mkdir, -1, 0, 0, "the sandbox's files are read-only"},
    {__NR_mkdirat, -1, 0, 0, "the sandbox's files are read-only"},
    {__NR_rmdir, -1, 0, 0, "the sandbox's files are read-only"},
    {__NR_rename, -1, 0, 0, "the sandbox's files are read-only"},
    {__NR_renameat, -1, 0, 0, "the sandbox's files are read-only"},
    {__NR_renameat2, -1, 0, 0, "the sandbox's files are read-only"},
    {__NR_socket, -1, 0, 0, "the sandbox has no network"},
    {__NR_socketpair, -1, 0, 0, "the sandbox has no network"},
    {__NR_connect, -1, 0, 0, "the sandbox has no network"},
    {__NR_bind, -1, 0, 0, "the sandbox has no network"},
    {__NR_listen, -1, 0, 0, "the sandbox has no network"},
    {__NR_accept, -1, 0, 0, "the sandbox has no network"},
    {__NR_accept4, -1, 0, 0, "the sandbox has no network"},
    {__NR_ioctl, -1, 0, 0, "no ioctl is allowed; stdio's TCGETS/TIOCGWINSZ get ENOTTY"},
    {__NR_mmap, 2, PROT_EXEC, PROT_EXEC, "no executable memory after loading (no JIT)"},
    {__NR_mprotect, 2, PROT_EXEC, PROT_EXEC, "no executable memory after loading (no JIT)"},
    {__NR_pkey_mprotect, 2, PROT_EXEC, PROT_EXEC, "no executable memory after loading (no JIT)"},
};

const char *ph__syscall_hint(uint32_t arch, int nr, const uint64_t args[6])
{
	char *name;

	if (arch != PH_AUDIT_ARCH_NATIVE || nr < 0 || ((uint32_t)nr & PH_X32_SYSCALL_BIT))
		return NULL;
	for (size_t i = 0; i < ELEMENTSOF(hints); i++) {
		const struct hint *h = &hints[i];

		if (h->nr == nr && (h->arg < 0 || (args && (args[h->arg] & h->mask) == h->want)))
			return h->text;
	}
	if (!ph__policy_never_allowed(nr) &&
	    (name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr)) != NULL) {
		free(name);
		return "a policy file could allow it: see plughost-policy(5), plughost policy "
		       "learn";
	}
	return NULL;
}
/* The label of pointed-to bytes: they are the plugin's, as they were
 * when the host read them, which may not be what the kernel saw. */
#define MEM_LABEL " (as read at the time of the call)"

void ph__syscall_describe_mem(uint32_t arch, int nr, const uint64_t args[6],
			      const struct ph__sc_mem *mem, char *name, size_t name_len, char *line,
			      size_t line_len)
{
	static const uint64_t no_args[6];
	const char *hint;
	char desc[1024];
	bool shown = false;
	size_t max = 200, n_mem = 0, tail;

	if (!args)
		args = no_args;
	if (!name)
		name_len = 0;
	hint = ph__syscall_hint(arch, nr, args);
	for (int i = 0; mem && i < 6; i++)
		if (mem->arg[i].state == PH_SC_MEM_READ || mem->arg[i].state == PH_SC_MEM_TRUNCATED)
			shown = true, n_mem++;
	tail = (shown ? strlen(MEM_LABEL) : 0) + (hint ? strlen("; hint: ") + strlen(hint) : 0);
	/* Shorten the shown bytes until the whole line fits: the syscall,
	 * its other arguments and the hint matter more than a long path's
	 * tail. */
	for (;;) {
		size_t need, cut;

		describe(arch, nr, args, mem, max, name, name_len, desc, sizeof(desc));
		need = strlen(desc) + tail;
		if (!n_mem || need < line_len || max <= 16)
			break;
		cut = (need - line_len) / n_mem + 4;
		max = max > cut + 16 ? max - cut : 16;
	}
	/* Still too long (a clone with every flag): the hint outranks the
	 * last arguments. */
	if (strlen(desc) + tail >= line_len && line_len > tail + 8)
		snprintf(desc + line_len - tail - 8, 8, "...)");
	snprintf(line, line_len, "%s%s%s%s", desc, shown ? MEM_LABEL : "", hint ? "; hint: " : "",
		 hint ? hint : "");
}
