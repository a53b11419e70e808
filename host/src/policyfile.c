/* SPDX-License-Identifier: MIT */
/*
 * Policy files (docs/policy.md, plughost-policy(5)): the text format, read
 * into a struct ph_policy through the same ph_policy_allow() an
 * application calls, plus what both the parser and learning know about
 * each syscall's arguments (which are pointers, which are 32-bit ints,
 * which constants name their values).
 *
 * A policy file is user input, possibly someone else's: every line is
 * length-checked, every number parsed strictly (no overflow, no junk, no
 * ambiguous leading zero), every name looked up in a table, and every
 * error names the file, line and column and what to write instead. Files
 * are bounded (1 MiB, lines of 4096 bytes) and so are includes (8 deep,
 * 64 files, no cycles).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "sandbox.h"

#define PF_MAX_LINE	4096u
#define PF_MAX_TEXT	(1u << 20)
#define PF_MAX_DEPTH	8u
#define PF_MAX_FILES	64u
#define PF_FORMAT	1u /* "plughost-policy 1" */
#define PF_DEFAULT_NAME "<policy>"

/* --------------------------------------------------------- named constants */

enum ph__const_group {
	G_NONE = 0,
	G_FCNTL,
	G_OPEN,
	G_PRCTL,
	G_RUSAGE,
	G_PRIO,
	G_CLOCK,
	G_TIMER,
	G_GRND,
	G_FUTEX,
	G_AT,
	G_EFD,
	G_TFD,
	G_MFD,
	G_EPOLL,
	G_EPOLL_CTL,
	G_RLIMIT,
	G_ITIMER,
	G_LOCK,
	G_ACCESS,
	G_MADV,
	G_SEEK,
	G_PROT,
	G_MAP,
	G_SCHED,
	G_CLONE,
	G_COUNT,
};

/* Groups whose values are bits to be or'ed, rather than one of a list. */
static const bool group_is_flags[G_COUNT] = {
    [G_OPEN] = true, [G_TIMER] = true, [G_GRND] = true,	 [G_AT] = true,	  [G_EFD] = true,
    [G_TFD] = true,  [G_MFD] = true,   [G_EPOLL] = true, [G_LOCK] = true, [G_ACCESS] = true,
    [G_PROT] = true, [G_MAP] = true,   [G_CLONE] = true,
};

struct pf_const {
	const char *name;
	uint64_t value; /* a negative int as the register holds it: sign-extended */
	unsigned int group;
};

/* clang-format off */
#define K(name, group) { #name, (uint64_t)(int64_t)(name), group }
static const struct pf_const consts[] = {
    K(F_DUPFD, G_FCNTL), K(F_GETFD, G_FCNTL), K(F_SETFD, G_FCNTL), K(F_GETFL, G_FCNTL),
    K(F_SETFL, G_FCNTL), K(F_GETLK, G_FCNTL), K(F_SETLK, G_FCNTL), K(F_SETLKW, G_FCNTL),
    K(F_SETOWN, G_FCNTL), K(F_GETOWN, G_FCNTL), K(F_SETSIG, G_FCNTL), K(F_GETSIG, G_FCNTL),
    K(F_SETOWN_EX, G_FCNTL), K(F_GETOWN_EX, G_FCNTL), K(F_OFD_GETLK, G_FCNTL),
    K(F_OFD_SETLK, G_FCNTL), K(F_OFD_SETLKW, G_FCNTL), K(F_SETLEASE, G_FCNTL),
    K(F_GETLEASE, G_FCNTL), K(F_NOTIFY, G_FCNTL), K(F_DUPFD_CLOEXEC, G_FCNTL),
    K(F_SETPIPE_SZ, G_FCNTL), K(F_GETPIPE_SZ, G_FCNTL), K(F_ADD_SEALS, G_FCNTL),
    K(F_GET_SEALS, G_FCNTL), K(FD_CLOEXEC, G_NONE),

    K(O_RDONLY, G_OPEN), K(O_WRONLY, G_OPEN), K(O_RDWR, G_OPEN), K(O_ACCMODE, G_NONE),
    K(O_CREAT, G_OPEN), K(O_EXCL, G_OPEN), K(O_NOCTTY, G_OPEN), K(O_TRUNC, G_OPEN),
    K(O_APPEND, G_OPEN), K(O_NONBLOCK, G_OPEN), K(O_DSYNC, G_OPEN), K(O_DIRECT, G_OPEN),
    K(O_LARGEFILE, G_OPEN), K(O_DIRECTORY, G_OPEN), K(O_NOFOLLOW, G_OPEN),
    K(O_NOATIME, G_OPEN), K(O_CLOEXEC, G_OPEN), K(O_PATH, G_OPEN),

    K(PR_SET_PDEATHSIG, G_PRCTL), K(PR_GET_PDEATHSIG, G_PRCTL), K(PR_GET_DUMPABLE, G_PRCTL),
    K(PR_SET_DUMPABLE, G_PRCTL), K(PR_GET_KEEPCAPS, G_PRCTL), K(PR_SET_KEEPCAPS, G_PRCTL),
    K(PR_GET_TIMING, G_PRCTL), K(PR_SET_NAME, G_PRCTL), K(PR_GET_NAME, G_PRCTL),
    K(PR_GET_SECCOMP, G_PRCTL), K(PR_SET_SECCOMP, G_PRCTL), K(PR_CAPBSET_READ, G_PRCTL),
    K(PR_GET_TSC, G_PRCTL), K(PR_GET_TIMERSLACK, G_PRCTL), K(PR_SET_TIMERSLACK, G_PRCTL),
    K(PR_MCE_KILL_GET, G_PRCTL), K(PR_SET_PTRACER, G_PRCTL),
    K(PR_GET_CHILD_SUBREAPER, G_PRCTL), K(PR_SET_NO_NEW_PRIVS, G_PRCTL),
    K(PR_GET_NO_NEW_PRIVS, G_PRCTL), K(PR_GET_THP_DISABLE, G_PRCTL),
    K(PR_SET_THP_DISABLE, G_PRCTL), K(PR_GET_SPECULATION_CTRL, G_PRCTL),
    K(PR_SET_SPECULATION_CTRL, G_PRCTL), K(PR_SET_VMA, G_PRCTL),

    K(RUSAGE_SELF, G_RUSAGE), K(RUSAGE_CHILDREN, G_RUSAGE), K(RUSAGE_THREAD, G_RUSAGE),
    K(PRIO_PROCESS, G_PRIO), K(PRIO_PGRP, G_PRIO), K(PRIO_USER, G_PRIO),

    K(CLOCK_REALTIME, G_CLOCK), K(CLOCK_MONOTONIC, G_CLOCK),
    K(CLOCK_PROCESS_CPUTIME_ID, G_CLOCK), K(CLOCK_THREAD_CPUTIME_ID, G_CLOCK),
    K(CLOCK_MONOTONIC_RAW, G_CLOCK), K(CLOCK_REALTIME_COARSE, G_CLOCK),
    K(CLOCK_MONOTONIC_COARSE, G_CLOCK), K(CLOCK_BOOTTIME, G_CLOCK), K(TIMER_ABSTIME, G_TIMER),

    K(GRND_NONBLOCK, G_GRND), K(GRND_RANDOM, G_GRND),

    K(FUTEX_WAIT, G_FUTEX), K(FUTEX_WAKE, G_FUTEX), K(FUTEX_REQUEUE, G_FUTEX),
    K(FUTEX_CMP_REQUEUE, G_FUTEX), K(FUTEX_WAKE_OP, G_FUTEX), K(FUTEX_LOCK_PI, G_FUTEX),
    K(FUTEX_UNLOCK_PI, G_FUTEX), K(FUTEX_TRYLOCK_PI, G_FUTEX), K(FUTEX_WAIT_BITSET, G_FUTEX),
    K(FUTEX_WAKE_BITSET, G_FUTEX), K(FUTEX_WAIT_PRIVATE, G_FUTEX),
    K(FUTEX_WAKE_PRIVATE, G_FUTEX), K(FUTEX_WAIT_BITSET_PRIVATE, G_FUTEX),
    K(FUTEX_WAKE_BITSET_PRIVATE, G_FUTEX), K(FUTEX_PRIVATE_FLAG, G_NONE),
    K(FUTEX_CLOCK_REALTIME, G_NONE),

    K(AT_FDCWD, G_NONE), K(AT_EMPTY_PATH, G_AT), K(AT_SYMLINK_NOFOLLOW, G_AT),
    K(AT_NO_AUTOMOUNT, G_AT), K(AT_EACCESS, G_NONE), K(AT_REMOVEDIR, G_NONE),

    K(EFD_CLOEXEC, G_EFD), K(EFD_NONBLOCK, G_EFD), K(EFD_SEMAPHORE, G_EFD),
    K(TFD_CLOEXEC, G_TFD), K(TFD_NONBLOCK, G_TFD), K(TFD_TIMER_ABSTIME, G_NONE),
    K(MFD_CLOEXEC, G_MFD), K(MFD_ALLOW_SEALING, G_MFD),
    K(EPOLL_CLOEXEC, G_EPOLL), K(EPOLL_CTL_ADD, G_EPOLL_CTL), K(EPOLL_CTL_DEL, G_EPOLL_CTL),
    K(EPOLL_CTL_MOD, G_EPOLL_CTL),

    K(RLIMIT_CPU, G_RLIMIT), K(RLIMIT_FSIZE, G_RLIMIT), K(RLIMIT_DATA, G_RLIMIT),
    K(RLIMIT_STACK, G_RLIMIT), K(RLIMIT_CORE, G_RLIMIT), K(RLIMIT_RSS, G_RLIMIT),
    K(RLIMIT_NPROC, G_RLIMIT), K(RLIMIT_NOFILE, G_RLIMIT), K(RLIMIT_MEMLOCK, G_RLIMIT),
    K(RLIMIT_AS, G_RLIMIT), K(RLIMIT_LOCKS, G_RLIMIT), K(RLIMIT_SIGPENDING, G_RLIMIT),
    K(RLIMIT_MSGQUEUE, G_RLIMIT), K(RLIMIT_NICE, G_RLIMIT), K(RLIMIT_RTPRIO, G_RLIMIT),
    K(RLIMIT_RTTIME, G_RLIMIT),

    K(ITIMER_REAL, G_ITIMER), K(ITIMER_VIRTUAL, G_ITIMER), K(ITIMER_PROF, G_ITIMER),
    K(LOCK_SH, G_LOCK), K(LOCK_EX, G_LOCK), K(LOCK_NB, G_LOCK), K(LOCK_UN, G_LOCK),
    K(F_OK, G_NONE), K(R_OK, G_ACCESS), K(W_OK, G_ACCESS), K(X_OK, G_ACCESS),

    K(MADV_NORMAL, G_MADV), K(MADV_RANDOM, G_MADV), K(MADV_SEQUENTIAL, G_MADV),
    K(MADV_WILLNEED, G_MADV), K(MADV_DONTNEED, G_MADV), K(MADV_FREE, G_MADV),
    K(MADV_DONTFORK, G_MADV), K(MADV_DOFORK, G_MADV), K(MADV_HUGEPAGE, G_MADV),
    K(MADV_NOHUGEPAGE, G_MADV), K(MADV_DONTDUMP, G_MADV), K(MADV_DODUMP, G_MADV),
    K(SEEK_SET, G_SEEK), K(SEEK_CUR, G_SEEK), K(SEEK_END, G_SEEK),
    K(PROT_NONE, G_NONE), K(PROT_READ, G_PROT), K(PROT_WRITE, G_PROT), K(PROT_EXEC, G_PROT),
    K(MAP_SHARED, G_MAP), K(MAP_PRIVATE, G_MAP), K(MAP_FIXED, G_MAP), K(MAP_ANONYMOUS, G_MAP),
    K(MAP_NORESERVE, G_MAP), K(MAP_POPULATE, G_MAP), K(MAP_STACK, G_MAP),
    K(SCHED_OTHER, G_SCHED), K(SCHED_FIFO, G_SCHED), K(SCHED_RR, G_SCHED),
    K(SCHED_BATCH, G_SCHED), K(SCHED_IDLE, G_SCHED),
    K(CLONE_VM, G_CLONE), K(CLONE_FS, G_CLONE), K(CLONE_FILES, G_CLONE),
    K(CLONE_SIGHAND, G_CLONE), K(CLONE_THREAD, G_CLONE), K(CLONE_SYSVSEM, G_CLONE),
    K(CLONE_SETTLS, G_CLONE), K(CLONE_PARENT_SETTID, G_CLONE), K(CLONE_CHILD_CLEARTID, G_CLONE),
    K(CLONE_CHILD_SETTID, G_CLONE),
};
#undef K
/* clang-format on */

static const struct pf_const *const_by_name(const char *name, size_t len)
{
	for (size_t i = 0; i < ELEMENTSOF(consts); i++)
		if (strlen(consts[i].name) == len && memcmp(consts[i].name, name, len) == 0)
			return &consts[i];
	return NULL;
}

void ph__const_format(unsigned int group, uint64_t value, char *buf, size_t len)
{
	char out[256] = "";
	size_t used = 0;
	uint64_t left = value;

	if (group != G_NONE && group < G_COUNT && !group_is_flags[group]) {
		for (size_t i = 0; i < ELEMENTSOF(consts); i++)
			if (consts[i].group == group && consts[i].value == value) {
				snprintf(buf, len, "%s", consts[i].name);
				return;
			}
	} else if (group != G_NONE && group < G_COUNT && value != 0) {
		/* Bits by name, largest first as the table lists them; only
		 * when every set bit has one, so the text means the value. */
		for (size_t i = 0; i < ELEMENTSOF(consts) && left; i++) {
			const uint64_t v = consts[i].value;
			int n;

			if (consts[i].group != group || v == 0 || (v & left) != v)
				continue;
			n = snprintf(out + used, sizeof(out) - used, "%s%s", used ? "|" : "",
				     consts[i].name);
			if (n < 0 || (size_t)n >= sizeof(out) - used)
				break;
			used += (size_t)n;
			left &= ~v;
		}
		if (!left) {
			snprintf(buf, len, "%s", out);
			return;
		}
	}
	if (value < 10)
		snprintf(buf, len, "%llu", (unsigned long long)value);
	else
		snprintf(buf, len, "0x%llx", (unsigned long long)value);
}

/* ------------------------------------------------------ syscall arguments */

enum {
	U = PH_LEARN_ARG_UNUSED,
	V = PH_LEARN_ARG_VALUE,
	P = PH_LEARN_ARG_POINTER,
	F = PH_LEARN_ARG_FD,
	N = PH_LEARN_ARG_NUMBER
};
#define I(n) (1u << (n))

/*
 * What each argument of a syscall is. V (a flag or a command, whose value
 * learning records and compares) only where the value is a constant the
 * program chose, never where it varies run to run (fds, sizes, pids,
 * times: F and N). P: a pointer, which learning records as such and a
 * condition may only test for NULL. int32: arguments the kernel reads as
 * 32-bit ints, on which !=, > and >= could be dodged with high bits set.
 */
/* clang-format off */
static const struct ph__sysargs sysargs[] = {
    {"read", {F, P, N}, I(0), {0}},
    {"write", {F, P, N}, I(0), {0}},
    {"pread64", {F, P, N, N}, I(0), {0}},
    {"pwrite64", {F, P, N, N}, I(0), {0}},
    {"readv", {F, P, N}, I(0) | I(2), {0}},
    {"writev", {F, P, N}, I(0) | I(2), {0}},
    {"preadv", {F, P, N, N, N}, I(0) | I(2), {0}},
    {"pwritev", {F, P, N, N, N}, I(0) | I(2), {0}},
    {"preadv2", {F, P, N, N, N, V}, I(0) | I(2) | I(5), {0}},
    {"pwritev2", {F, P, N, N, N, V}, I(0) | I(2) | I(5), {0}},
    {"close", {F}, I(0), {0}},
    {"dup", {F}, I(0), {0}},
    {"dup2", {F, F}, I(0) | I(1), {0}},
    {"dup3", {F, F, V}, I(0) | I(1) | I(2), {0, 0, G_OPEN}},
    {"lseek", {F, N, V}, I(0) | I(2), {0, 0, G_SEEK}},
    {"fstat", {F, P}, I(0), {0}},
    {"fstatfs", {F, P}, I(0), {0}},
    {"newfstatat", {F, P, P, V}, I(0) | I(3), {0, 0, 0, G_AT}},
    {"statx", {F, P, V, V, P}, I(0) | I(2) | I(3), {0, 0, G_AT}},
    {"stat", {P, P}, 0, {0}},
    {"lstat", {P, P}, 0, {0}},
    {"statfs", {P, P}, 0, {0}},
    {"access", {P, V}, I(1), {0, G_ACCESS}},
    {"faccessat", {F, P, V}, I(0) | I(2), {0, 0, G_ACCESS}},
    {"faccessat2", {F, P, V, V}, I(0) | I(2) | I(3), {0, 0, G_ACCESS, G_AT}},
    {"readlink", {P, P, N}, I(2), {0}},
    {"readlinkat", {F, P, P, N}, I(0) | I(3), {0}},
    {"getcwd", {P, N}, 0, {0}},
    {"chdir", {P}, 0, {0}},
    {"fchdir", {F}, I(0), {0}},
    {"getdents64", {F, P, N}, I(0) | I(2), {0}},
    {"getdents", {F, P, N}, I(0) | I(2), {0}},
    {"open", {P, V, V}, I(1) | I(2), {0, G_OPEN}},
    {"openat", {F, P, V, V}, I(0) | I(2) | I(3), {0, 0, G_OPEN}},
    {"ftruncate", {F, N}, I(0), {0}},
    {"fsync", {F}, I(0), {0}},
    {"fdatasync", {F}, I(0), {0}},
    {"fadvise64", {F, N, N, V}, I(0) | I(3), {0}},
    {"readahead", {F, N, N}, I(0), {0}},
    {"flock", {F, V}, I(0) | I(1), {0, G_LOCK}},
    {"fcntl", {F, V, N}, I(0) | I(1), {0, G_FCNTL}},
    {"ioctl", {F, V, P}, I(0) | I(1), {0}},
    {"sendfile", {F, F, P, N}, I(0) | I(1), {0}},
    {"splice", {F, P, F, P, N, V}, I(0) | I(2) | I(5), {0}},
    {"tee", {F, F, N, V}, I(0) | I(1) | I(3), {0}},
    {"copy_file_range", {F, P, F, P, N, V}, I(0) | I(2) | I(5), {0}},

    {"mmap", {P, N, V, V, F, N}, I(2) | I(3) | I(4), {0, 0, G_PROT, G_MAP}},
    {"mprotect", {P, N, V}, I(2), {0, 0, G_PROT}},
    {"munmap", {P, N}, 0, {0}},
    {"mremap", {P, N, N, V, P}, I(3), {0}},
    {"madvise", {P, N, V}, I(2), {0, 0, G_MADV}},
    {"mincore", {P, N, P}, 0, {0}},
    {"msync", {P, N, V}, I(2), {0}},
    {"mlock", {P, N}, 0, {0}},
    {"munlock", {P, N}, 0, {0}},
    {"brk", {P}, 0, {0}},
    {"membarrier", {V, V, N}, I(0) | I(1) | I(2), {0}},

    {"poll", {P, N, N}, I(2), {0}},
    {"ppoll", {P, N, P, P, N}, 0, {0}},
    {"select", {N, P, P, P, P}, I(0), {0}},
    {"pselect6", {N, P, P, P, P, P}, I(0), {0}},
    {"epoll_create", {N}, I(0), {0}},
    {"epoll_create1", {V}, I(0), {G_EPOLL}},
    {"epoll_ctl", {F, V, F, P}, I(0) | I(1) | I(2), {0, G_EPOLL_CTL}},
    {"epoll_wait", {F, P, N, N}, I(0) | I(2) | I(3), {0}},
    {"epoll_pwait", {F, P, N, N, P, N}, I(0) | I(2) | I(3), {0}},
    {"epoll_pwait2", {F, P, N, P, P, N}, I(0) | I(2), {0}},
    {"eventfd", {N}, I(0), {0}},
    {"eventfd2", {N, V}, I(0) | I(1), {0, G_EFD}},
    {"pipe", {P}, 0, {0}},
    {"pipe2", {P, V}, I(1), {0, G_OPEN}},
    {"memfd_create", {P, V}, I(1), {0, G_MFD}},
    {"timerfd_create", {V, V}, I(0) | I(1), {G_CLOCK, G_TFD}},
    {"timerfd_settime", {F, V, P, P}, I(0) | I(1), {0, G_TIMER}},
    {"timerfd_gettime", {F, P}, I(0), {0}},

    {"socket", {V, V, V}, I(0) | I(1) | I(2), {0}},
    {"socketpair", {V, V, V, P}, I(0) | I(1) | I(2), {0}},
    {"connect", {F, P, N}, I(0) | I(2), {0}},
    {"bind", {F, P, N}, I(0) | I(2), {0}},
    {"listen", {F, N}, I(0) | I(1), {0}},
    {"accept", {F, P, P}, I(0), {0}},
    {"accept4", {F, P, P, V}, I(0) | I(3), {0}},
    {"shutdown", {F, V}, I(0) | I(1), {0}},
    {"getsockopt", {F, V, V, P, P}, I(0) | I(1) | I(2), {0}},
    {"setsockopt", {F, V, V, P, N}, I(0) | I(1) | I(2) | I(4), {0}},
    {"getsockname", {F, P, P}, I(0), {0}},
    {"getpeername", {F, P, P}, I(0), {0}},
    {"sendmsg", {F, P, V}, I(0) | I(2), {0}},
    {"recvmsg", {F, P, V}, I(0) | I(2), {0}},
    {"sendto", {F, P, N, V, P, N}, I(0) | I(3) | I(5), {0}},
    {"recvfrom", {F, P, N, V, P, P}, I(0) | I(3), {0}},
    {"sendmmsg", {F, P, N, V}, I(0) | I(2) | I(3), {0}},
    {"recvmmsg", {F, P, N, V, P}, I(0) | I(2) | I(3), {0}},

    {"futex", {P, V, N, P, P, N}, I(1) | I(2) | I(5), {0, G_FUTEX}},
    {"set_robust_list", {P, N}, 0, {0}},
    {"get_robust_list", {N, P, P}, I(0), {0}},
    {"rseq", {P, N, V, N}, I(1) | I(2) | I(3), {0}},
    {"set_tid_address", {P}, 0, {0}},
    {"clone", {V, P, P, P, N}, 0, {G_CLONE}},
    {"arch_prctl", {V, N}, I(0), {0}},
    {"prctl", {V, N, N, N, N}, I(0), {G_PRCTL}},
    {"exit", {N}, I(0), {0}},
    {"exit_group", {N}, I(0), {0}},
    {"wait4", {N, P, V, P}, I(0) | I(2), {0}},
    {"waitid", {V, N, P, V, P}, I(0) | I(1) | I(3), {0}},
    {"kill", {N, V}, I(0) | I(1), {0}},
    {"tgkill", {N, N, V}, I(0) | I(1) | I(2), {0}},

    {"rt_sigaction", {V, P, P, N}, I(0), {0}},
    {"rt_sigprocmask", {V, P, P, N}, I(0), {0}},
    {"rt_sigreturn", {U}, 0, {0}},
    {"rt_sigtimedwait", {P, P, P, N}, 0, {0}},
    {"rt_sigsuspend", {P, N}, 0, {0}},
    {"rt_sigpending", {P, N}, 0, {0}},
    {"sigaltstack", {P, P}, 0, {0}},
    {"pause", {U}, 0, {0}},
    {"alarm", {N}, I(0), {0}},
    {"getitimer", {V, P}, I(0), {G_ITIMER}},
    {"setitimer", {V, P, P}, I(0), {G_ITIMER}},
    {"timer_create", {V, P, P}, I(0), {G_CLOCK}},
    {"timer_settime", {N, V, P, P}, I(0) | I(1), {0, G_TIMER}},
    {"timer_gettime", {N, P}, I(0), {0}},
    {"timer_getoverrun", {N}, I(0), {0}},
    {"timer_delete", {N}, I(0), {0}},

    {"clock_gettime", {V, P}, I(0), {G_CLOCK}},
    {"clock_getres", {V, P}, I(0), {G_CLOCK}},
    {"clock_nanosleep", {V, V, P, P}, I(0) | I(1), {G_CLOCK, G_TIMER}},
    {"nanosleep", {P, P}, 0, {0}},
    {"gettimeofday", {P, P}, 0, {0}},
    {"time", {P}, 0, {0}},
    {"times", {P}, 0, {0}},
    {"getrandom", {P, N, V}, I(2), {0, 0, G_GRND}},
    {"uname", {P}, 0, {0}},
    {"sysinfo", {P}, 0, {0}},
    {"getrusage", {V, P}, I(0), {G_RUSAGE}},
    {"getrlimit", {V, P}, I(0), {G_RLIMIT}},
    {"setrlimit", {V, P}, I(0), {G_RLIMIT}},
    /* The pid of a call that changes a process's settings is a V: learning
     * lets it on for the plugin itself (0) only, and the learned rule pins
     * that (learn.c, self_only[]), so that no learned file lets a plugin
     * lower the limits or priority of another process, such as a sibling
     * forked from the same zygote. */
    {"prlimit64", {V, V, P, P}, I(0) | I(1), {0, G_RLIMIT}},
    {"getpriority", {V, N}, I(0) | I(1), {G_PRIO}},
    {"setpriority", {V, V, N}, I(0) | I(1) | I(2), {G_PRIO}},
    {"umask", {V}, I(0), {0}},

    {"getpid", {U}, 0, {0}},
    {"gettid", {U}, 0, {0}},
    {"getppid", {U}, 0, {0}},
    {"getpgrp", {U}, 0, {0}},
    {"getpgid", {N}, I(0), {0}},
    {"getsid", {N}, I(0), {0}},
    {"getuid", {U}, 0, {0}},
    {"geteuid", {U}, 0, {0}},
    {"getgid", {U}, 0, {0}},
    {"getegid", {U}, 0, {0}},
    {"getresuid", {P, P, P}, 0, {0}},
    {"getresgid", {P, P, P}, 0, {0}},
    {"getgroups", {N, P}, I(0), {0}},
    {"capget", {P, P}, 0, {0}},
    {"getcpu", {P, P, P}, 0, {0}},
    {"sched_yield", {U}, 0, {0}},
    {"sched_getaffinity", {N, N, P}, I(0), {0}},
    {"sched_setaffinity", {V, N, P}, I(0), {0}},
    {"sched_getscheduler", {N}, I(0), {0}},
    {"sched_setscheduler", {V, V, P}, I(0) | I(1), {0, G_SCHED}},
    {"sched_getparam", {N, P}, I(0), {0}},
    {"sched_setparam", {V, P}, I(0), {0}},
    {"sched_get_priority_max", {V}, I(0), {G_SCHED}},
    {"sched_get_priority_min", {V}, I(0), {G_SCHED}},
    {"sched_rr_get_interval", {N, P}, I(0), {0}},
    {"sched_getattr", {N, P, N, V}, I(0) | I(2) | I(3), {0}},
    {"sched_setattr", {V, P, V}, I(0) | I(2), {0}},
    {"ioprio_set", {V, V, N}, I(0) | I(1) | I(2), {0}},
};
/* clang-format on */
#undef I

/* The rows by syscall number, made once: learning looks one up for every
 * call it sees. x86_64 numbers are below 512. */
#define SYSARGS_NR_MAX 512
static int16_t sysargs_by_nr[SYSARGS_NR_MAX];
static pthread_once_t sysargs_once = PTHREAD_ONCE_INIT;

static void sysargs_index(void)
{
	for (size_t i = 0; i < SYSARGS_NR_MAX; i++)
		sysargs_by_nr[i] = -1;
	for (size_t i = 0; i < ELEMENTSOF(sysargs); i++) {
		const int nr = ph__policy_syscall_nr(sysargs[i].name);

		if (nr >= 0 && nr < SYSARGS_NR_MAX)
			sysargs_by_nr[nr] = (int16_t)i;
	}
}

const struct ph__sysargs *ph__sysargs(int nr)
{
	if (nr < 0 || nr >= SYSARGS_NR_MAX)
		return NULL;
	pthread_once(&sysargs_once, sysargs_index);
	return sysargs_by_nr[nr] >= 0 ? &sysargs[sysargs_by_nr[nr]] : NULL;
}

/* How many arguments a table row says the syscall takes. */
static unsigned int sysargs_count(const struct ph__sysargs *a)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < PH__SB_ARGS_MAX; i++)
		if (a->kind[i] != U)
			n = i + 1;
	return n;
}

/* ------------------------------------------------------------------ parse */

struct pf_id {
	dev_t dev;
	ino_t ino;
};

struct pf_ctx {
	struct ph_policy *policy; /* made at the base line */
	struct ph_policy_error *err;
	bool files; /* includes may be read (ph_policy_load) */
	unsigned int base_version;
	unsigned int depth;
	size_t n_files;
	struct pf_id stack[PF_MAX_DEPTH + 1]; /* the files being read, outermost first */
	const char *stack_names[PF_MAX_DEPTH + 1];
	struct pf_id seen[PF_MAX_FILES]; /* every file read: each is read once */
};

/* Where the parser is: one line of one file. */
struct pf_line {
	const char *file; /* as named */
	unsigned int no;
	const char *s; /* the line, without its newline */
	size_t len;
	size_t pos; /* the next byte to look at */
};

__attribute__((format(printf, 5, 6))) static int
pf_fail(struct pf_ctx *ctx, int err, const struct pf_line *l, size_t col, const char *fmt, ...)
{
	struct ph_policy_error *e = ctx->err;
	va_list ap;

	if (e) {
		memset(e, 0, sizeof(*e));
		snprintf(e->file, sizeof(e->file), "%s", l && l->file ? l->file : PF_DEFAULT_NAME);
		if (l) {
			e->line = l->no;
			e->column = (unsigned int)col + 1;
		}
		va_start(ap, fmt);
		vsnprintf(e->message, sizeof(e->message), fmt, ap);
		va_end(ap);
	}
	return err;
}

static bool is_word_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_word_char(char c)
{
	return is_word_start(c) || (c >= '0' && c <= '9') || c == '-';
}

static void skip_space(struct pf_line *l)
{
	while (l->pos < l->len && (l->s[l->pos] == ' ' || l->s[l->pos] == '\t'))
		l->pos++;
}

/* At the end of the line's content (a comment counts as the end)? */
static bool at_end(struct pf_line *l)
{
	skip_space(l);
	return l->pos >= l->len || l->s[l->pos] == '#';
}

/* A word ([A-Za-z_][A-Za-z0-9_-]*) at pos, or length 0. */
static size_t word(struct pf_line *l, const char **ret)
{
	size_t start;

	skip_space(l);
	start = l->pos;
	if (l->pos < l->len && is_word_start(l->s[l->pos]))
		while (l->pos < l->len && is_word_char(l->s[l->pos]))
			l->pos++;
	*ret = l->s + start;
	return l->pos - start;
}

static bool word_is(const char *w, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(w, s, n) == 0;
}

/* The token at pos, for "expected X, found 'Y'" (at most 24 bytes). */
static int found_len(const struct pf_line *l)
{
	size_t n = 0;

	while (l->pos + n < l->len && n < 24 && l->s[l->pos + n] != ' ' && l->s[l->pos + n] != '\t')
		n++;
	return (int)n;
}

/* What is at pos, quoted, for "expected X, found Y". */
static const char *found(const struct pf_line *l, char buf[40])
{
	if (l->pos >= l->len || l->s[l->pos] == '#')
		return "the end of the line";
	snprintf(buf, 40, "'%.*s'", found_len(l), l->s + l->pos);
	return buf;
}

/*
 * An unsigned number at pos: decimal without a leading zero, 0x hex or 0o
 * octal, at most 64 bits, and not followed by a word character.
 */
static int number(struct pf_ctx *ctx, struct pf_line *l, uint64_t *ret)
{
	const size_t start = l->pos;
	unsigned int base = 10;
	uint64_t v = 0;
	size_t digits = 0;
	char fb[40];

	if (l->pos >= l->len || l->s[l->pos] < '0' || l->s[l->pos] > '9')
		return pf_fail(ctx, -EBADMSG, l, l->pos, "expected a number, found %s",
			       found(l, fb));
	if (l->s[l->pos] == '0' && l->pos + 1 < l->len &&
	    (l->s[l->pos + 1] == 'x' || l->s[l->pos + 1] == 'X')) {
		base = 16;
		l->pos += 2;
	} else if (l->s[l->pos] == '0' && l->pos + 1 < l->len &&
		   (l->s[l->pos + 1] == 'o' || l->s[l->pos + 1] == 'O')) {
		base = 8;
		l->pos += 2;
	} else if (l->s[l->pos] == '0' && l->pos + 1 < l->len && l->s[l->pos + 1] >= '0' &&
		   l->s[l->pos + 1] <= '9') {
		return pf_fail(ctx, -EBADMSG, l, start,
			       "a number with a leading zero is ambiguous: write octal as 0o%.*s "
			       "or decimal without the zero",
			       found_len(l) - 1, l->s + start + 1);
	}
	for (; l->pos < l->len; l->pos++) {
		const char c = l->s[l->pos];
		unsigned int d;

		if (c >= '0' && c <= '9')
			d = (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned int)(c - 'a') + 10;
		else if (c >= 'A' && c <= 'F')
			d = (unsigned int)(c - 'A') + 10;
		else
			break;
		if (d >= base)
			break;
		if (v > (UINT64_MAX - d) / base) {
			l->pos = start;
			return pf_fail(ctx, -EBADMSG, l, start,
				       "number '%.*s' does not fit in 64 bits", found_len(l),
				       l->s + start);
		}
		v = v * base + d;
		digits++;
	}
	if (!digits || (l->pos < l->len && is_word_char(l->s[l->pos]))) {
		l->pos = start;
		return pf_fail(ctx, -EBADMSG, l, start, "'%.*s' is not a number", found_len(l),
			       l->s + start);
	}
	*ret = v;
	return 0;
}

/* One term of a value: a number, -number, or a constant's name. */
static int term(struct pf_ctx *ctx, struct pf_line *l, uint64_t *ret)
{
	const char *w;
	size_t n, start;
	char fb[40];
	int r;

	skip_space(l);
	start = l->pos;
	if (l->pos < l->len && l->s[l->pos] == '-') {
		uint64_t v;

		l->pos++;
		r = number(ctx, l, &v);
		if (r < 0)
			return r;
		if (v > (UINT64_C(1) << 63))
			return pf_fail(ctx, -EBADMSG, l, start, "'%.*s' does not fit in 64 bits",
				       (int)(l->pos - start), l->s + start);
		*ret = (uint64_t)0 - v; /* two's complement, as the register holds it */
		return 0;
	}
	if (l->pos < l->len && l->s[l->pos] >= '0' && l->s[l->pos] <= '9')
		return number(ctx, l, ret);
	n = word(l, &w);
	if (!n)
		return pf_fail(ctx, -EBADMSG, l, start,
			       "expected a value (a number or a constant such as O_CLOEXEC), "
			       "found %s",
			       found(l, fb));
	{
		const struct pf_const *k = const_by_name(w, n);

		if (!k)
			return pf_fail(ctx, -EBADMSG, l, start,
				       "unknown constant '%.*s' (docs/policy.md lists the names; "
				       "or write the number)",
				       (int)n, w);
		*ret = k->value;
	}
	return 0;
}

/* A value: terms joined by '|'. */
static int value(struct pf_ctx *ctx, struct pf_line *l, uint64_t *ret)
{
	uint64_t v = 0, t;
	int r;

	for (;;) {
		r = term(ctx, l, &t);
		if (r < 0)
			return r;
		v |= t;
		skip_space(l);
		if (l->pos >= l->len || l->s[l->pos] != '|')
			break;
		l->pos++;
	}
	*ret = v;
	return 0;
}

/* A comparison operator at pos. */
static int op(struct pf_ctx *ctx, struct pf_line *l, enum ph_arg_op *ret)
{
	char fb[40];
	static const struct {
		const char *text;
		enum ph_arg_op op;
	} ops[] = {
	    {"==", PH_ARG_EQ}, {"!=", PH_ARG_NE}, {"<=", PH_ARG_LE},
	    {">=", PH_ARG_GE}, {"<", PH_ARG_LT},  {">", PH_ARG_GT},
	};

	skip_space(l);
	for (size_t i = 0; i < ELEMENTSOF(ops); i++) {
		const size_t n = strlen(ops[i].text);

		if (l->len - l->pos >= n && memcmp(l->s + l->pos, ops[i].text, n) == 0) {
			l->pos += n;
			*ret = ops[i].op;
			return 0;
		}
	}
	return pf_fail(ctx, -EBADMSG, l, l->pos,
		       "expected a comparison (==, !=, <, <=, >, >=, or '& MASK =='), found %s",
		       found(l, fb));
}

/* Why a syscall cannot be in a policy, when there is more to say than
 * "never allowed": the ones the base handles, and file access. */
static const char *never_hint(const char *name)
{
	static const struct {
		const char *name, *hint;
	} hints[] = {
	    {"open", "file access is not granted by a policy: seccomp sees only the "
		     "path's address, and checking the path before letting the call on is "
		     "a race (seccomp_unotify(2)); grant files with --allow-read PATH"},
	    {"openat", NULL},
	    {"openat2", NULL},
	    {"creat", NULL},
	    {"newfstatat", "fstat (AT_EMPTY_PATH) is in the base already; a path stat is "
			   "file access, granted with --allow-read PATH"},
	    {"clone", "threads come from the preset: write 'base threads@1' (or run with "
		      "--threads); new processes are never allowed"},
	    {"clone3", NULL},
	    {"fork", NULL},
	    {"vfork", NULL},
	    {"mmap", "mmap and mprotect without PROT_EXEC are in the base already; new "
		     "executable memory after loading is never allowed"},
	    {"mprotect", NULL},
	    {"kill", "signals to itself are in the base already; to any other process "
		     "never"},
	    {"tgkill", NULL},
	    {"tkill", NULL},
	};
	const char *hint = NULL;

	for (size_t i = 0; i < ELEMENTSOF(hints); i++) {
		if (hints[i].hint)
			hint = hints[i].hint;
		if (!strcmp(hints[i].name, name))
			return hint;
	}
	return NULL;
}

/* "allow NAME [argN OP VALUE | argN & MASK == VALUE] [, ...]" after the
 * directive. */
static int parse_allow(struct pf_ctx *ctx, struct pf_line *l)
{
	struct ph_arg_cond conds[PH__SB_ARGS_MAX];
	const struct ph__sysargs *a;
	unsigned int n = 0, seen = 0;
	char name[64], fb[40];
	const char *w;
	size_t wn, name_col;
	int nr, r;

	skip_space(l);
	name_col = l->pos;
	wn = word(l, &w);
	if (!wn)
		return pf_fail(ctx, -EBADMSG, l, name_col,
			       "expected a syscall name after 'allow', found %s", found(l, fb));
	if (wn >= sizeof(name))
		return pf_fail(ctx, -EBADMSG, l, name_col, "unknown syscall '%.*s'", 40, w);
	memcpy(name, w, wn);
	name[wn] = '\0';
	nr = ph__policy_syscall_nr(name);
	if (nr < 0)
		return pf_fail(ctx, -EBADMSG, l, name_col,
			       "unknown syscall '%s' (x86_64 names, as in syscalls(2))", name);
	if (ph__policy_never_allowed(nr)) {
		const char *hint = never_hint(name);

		return pf_fail(ctx, -EPERM, l, name_col, "'%s' is never allowed: %s", name,
			       hint ? hint
				    : "it would open a way out of the sandbox (docs/policy.md, "
				      "\"Never allowed\")");
	}
	a = ph__sysargs(nr);

	while (!at_end(l)) {
		const size_t col = l->pos;
		struct ph_arg_cond c = {0};
		unsigned int arg;

		if (n > 0) {
			if (l->s[l->pos] != ',')
				return pf_fail(ctx, -EBADMSG, l, col,
					       "expected ',' between conditions, found %s",
					       found(l, fb));
			l->pos++;
			skip_space(l);
		}
		{
			const size_t acol = l->pos;

			wn = word(l, &w);
			if (wn != 4 || memcmp(w, "arg", 3) != 0 || w[3] < '0' || w[3] > '5') {
				l->pos = acol;
				return pf_fail(ctx, -EBADMSG, l, acol,
					       "expected an argument arg0..arg5, found %s",
					       found(l, fb));
			}
			arg = (unsigned int)(w[3] - '0');
			if (a && sysargs_count(a) == 0)
				return pf_fail(ctx, -EBADMSG, l, acol,
					       "%s takes no arguments: drop the condition", name);
			if (a && arg >= sysargs_count(a))
				return pf_fail(ctx, -EBADMSG, l, acol,
					       "%s takes %u argument%s (arg0..arg%u): it has no "
					       "arg%u",
					       name, sysargs_count(a),
					       sysargs_count(a) == 1 ? "" : "s",
					       sysargs_count(a) - 1, arg);
			if (seen & (1u << arg))
				return pf_fail(
				    ctx, -EBADMSG, l, acol,
				    "arg%u has a condition already in this rule (one per "
				    "argument: write another allow line for an "
				    "alternative)",
				    arg);
			seen |= 1u << arg;
			c.arg = arg;
		}
		skip_space(l);
		if (l->pos < l->len && l->s[l->pos] == '&') {
			uint64_t mask;

			l->pos++;
			r = value(ctx, l, &mask);
			if (r < 0)
				return r;
			skip_space(l);
			if (l->len - l->pos < 2 || memcmp(l->s + l->pos, "==", 2) != 0)
				return pf_fail(ctx, -EBADMSG, l, l->pos,
					       "expected '==' after the mask, found %s",
					       found(l, fb));
			l->pos += 2;
			skip_space(l);
			{
				const size_t vcol = l->pos;

				r = value(ctx, l, &c.value);
				if (r < 0)
					return r;
				if (mask == 0)
					return pf_fail(ctx, -EBADMSG, l, col,
						       "a mask of 0 tests nothing: drop the "
						       "condition");
				if (c.value & ~mask)
					return pf_fail(ctx, -EBADMSG, l, vcol,
						       "value 0x%llx has bits outside the mask "
						       "0x%llx: the condition can never hold",
						       (unsigned long long)c.value,
						       (unsigned long long)mask);
			}
			c.op = PH_ARG_MASKED_EQ;
			c.mask = mask;
		} else {
			r = op(ctx, l, &c.op);
			if (r < 0)
				return r;
			r = value(ctx, l, &c.value);
			if (r < 0)
				return r;
		}
		if (a && a->kind[arg] == P && (c.op != PH_ARG_EQ || c.value != 0))
			return pf_fail(ctx, -EBADMSG, l, col,
				       "arg%u of %s is a pointer: a condition can only test it for "
				       "NULL (arg%u == 0), since seccomp sees the address, never "
				       "what it points to%s",
				       arg, name, arg,
				       strstr(name, "stat") || strstr(name, "access") ||
					       strstr(name, "readlink") || strstr(name, "chdir")
					   ? "; files are granted with --allow-read PATH"
					   : "");
		if (a && (a->int32 & (1u << arg)) &&
		    (c.op == PH_ARG_NE || c.op == PH_ARG_GT || c.op == PH_ARG_GE))
			return pf_fail(ctx, -EBADMSG, l, col,
				       "arg%u of %s is a 32-bit int: the kernel ignores the high "
				       "half that seccomp compares, so !=, > and >= could be "
				       "dodged; use ==, <, <= or '& MASK =='",
				       arg, name);
		if ((uint32_t)c.value == PH__SB_SELF_PID ||
		    (uint32_t)(c.value >> 32) == PH__SB_SELF_PID ||
		    (uint32_t)c.mask == PH__SB_SELF_PID ||
		    (uint32_t)(c.mask >> 32) == PH__SB_SELF_PID)
			return pf_fail(ctx, -EBADMSG, l, col,
				       "0x%x is reserved (it stands for the plugin's own pid in "
				       "the compiled program)",
				       PH__SB_SELF_PID);
		conds[n++] = c;
	}
	{
		struct ph_policy_info info;

		if (ph_policy_info(ctx->policy, &info) == 0 &&
		    info.n_rules >= PH__SB_MAX_USER_RULES)
			return pf_fail(ctx, -E2BIG, l, 0,
				       "more than %u rules: a seccomp program cannot hold them",
				       PH__SB_MAX_USER_RULES);
	}
	r = ph_policy_allow(ctx->policy, name, conds, n);
	if (r == -ENOMEM)
		return pf_fail(ctx, r, l, 0, "out of memory");
	if (r < 0)
		return pf_fail(ctx, -EBADMSG, l, name_col, "the rule for '%s' is refused (%s)",
			       name, strerror(-r));
	return 0;
}

/* "base PRESET@VERSION" after the directive. */
static int parse_base(struct pf_ctx *ctx, struct pf_line *l)
{
	enum ph_policy_preset preset;
	const char *w;
	size_t wn, col;
	uint64_t version;
	int r;

	skip_space(l);
	col = l->pos;
	wn = word(l, &w);
	if (word_is(w, wn, "strict"))
		preset = PH_POLICY_STRICT;
	else if (word_is(w, wn, "threads"))
		preset = PH_POLICY_THREADS;
	else
		return pf_fail(ctx, -EBADMSG, l, col,
			       "expected a preset, strict or threads, found '%.*s' (as in "
			       "'base strict@%u')",
			       wn ? (int)wn : found_len(l), l->s + col, PH__POLICY_BASE_VERSION);
	if (l->pos >= l->len || l->s[l->pos] != '@')
		return pf_fail(ctx, -EBADMSG, l, l->pos,
			       "expected '@' and the base version after the preset, as in "
			       "'base %.*s@%u'",
			       (int)wn, w, PH__POLICY_BASE_VERSION);
	l->pos++;
	col = l->pos;
	r = number(ctx, l, &version);
	if (r < 0)
		return r;
	if (version == 0)
		return pf_fail(ctx, -EBADMSG, l, col, "base versions start at 1");
	if (version > PH__POLICY_BASE_VERSION)
		return pf_fail(ctx, -EBADMSG, l, col,
			       "base version %llu is newer than this plughost knows (%u): use a "
			       "newer plughost, or learn the policy again with this one",
			       (unsigned long long)version, PH__POLICY_BASE_VERSION);
	r = ph_policy_new(preset, &ctx->policy);
	if (r < 0)
		return pf_fail(ctx, r, l, 0, "out of memory");
	ctx->base_version = (unsigned int)version;
	return 0;
}

static int parse_text(struct pf_ctx *ctx, const char *text, size_t len, const char *file);

/* Read a whole file: regular, at most PF_MAX_TEXT bytes. */
static int read_file(const char *path, char **ret_text, size_t *ret_len, struct pf_id *ret_id)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	char *buf;
	size_t got = 0;

	/* O_NONBLOCK: a FIFO must not hang us before fstat says what it is. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_size > (off_t)PF_MAX_TEXT)
		return -EFBIG;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = -errno;

			free(buf);
			return e;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		/* It grew as we read: more than it said, and maybe unbounded. */
		if (got > (size_t)st.st_size) {
			free(buf);
			return -EFBIG;
		}
	}
	*ret_text = buf;
	*ret_len = got;
	ret_id->dev = st.st_dev;
	ret_id->ino = st.st_ino;
	return 0;
}

static const char *read_error(int err)
{
	switch (err) {
	case -EFBIG:
		return "larger than 1 MiB, too large for a policy file";
	case -EINVAL:
		return "not a regular file";
	default:
		return strerror(-err);
	}
}

/* "include PATH" or "include \"PATH\"" after the directive. */
static int parse_include(struct pf_ctx *ctx, struct pf_line *l)
{
	char path[PATH_MAX], *text = NULL;
	const char *p;
	size_t plen, col, dlen = 0;
	struct pf_id id;
	size_t tlen;
	int r;

	skip_space(l);
	col = l->pos;
	if (l->pos < l->len && l->s[l->pos] == '"') {
		const char *end = memchr(l->s + l->pos + 1, '"', l->len - l->pos - 1);

		if (!end)
			return pf_fail(ctx, -EBADMSG, l, col,
				       "the quoted path has no closing '\"'");
		p = l->s + l->pos + 1;
		plen = (size_t)(end - p);
		l->pos = (size_t)(end - l->s) + 1;
	} else {
		p = l->s + l->pos;
		while (l->pos < l->len && l->s[l->pos] != ' ' && l->s[l->pos] != '\t' &&
		       l->s[l->pos] != '#')
			l->pos++;
		plen = (size_t)(l->s + l->pos - p);
	}
	if (plen == 0)
		return pf_fail(ctx, -EBADMSG, l, col, "'include' needs a file name");
	if (!at_end(l))
		return pf_fail(ctx, -EBADMSG, l, l->pos,
			       "unexpected '%.*s' after the file name (quote a name with spaces)",
			       found_len(l), l->s + l->pos);
	if (!ctx->files)
		return pf_fail(ctx, -EBADMSG, l, 0,
			       "'include' needs files: load the policy from a file "
			       "(ph_policy_load(), plughost --policy FILE)");
	/* Relative to the including file's directory, not the process's. */
	if (p[0] != '/') {
		const char *slash = strrchr(l->file, '/');

		dlen = slash ? (size_t)(slash - l->file) + 1 : 0;
	}
	if (dlen + plen >= sizeof(path))
		return pf_fail(ctx, -ENAMETOOLONG, l, col, "the included file's path is too long");
	memcpy(path, l->file, dlen);
	memcpy(path + dlen, p, plen);
	path[dlen + plen] = '\0';

	if (ctx->depth >= PF_MAX_DEPTH)
		return pf_fail(ctx, -ELOOP, l, col, "includes nest more than %u deep",
			       PF_MAX_DEPTH);
	r = read_file(path, &text, &tlen, &id);
	if (r < 0)
		return pf_fail(ctx, r, l, col, "cannot read included file '%s': %s", path,
			       read_error(r));
	for (unsigned int i = 0; i <= ctx->depth; i++)
		if (ctx->stack[i].dev == id.dev && ctx->stack[i].ino == id.ino) {
			free(text);
			return pf_fail(ctx, -ELOOP, l, col,
				       "include cycle: '%s' is '%s', which is being read", path,
				       ctx->stack_names[i]);
		}
	for (size_t i = 0; i < ctx->n_files; i++)
		if (ctx->seen[i].dev == id.dev && ctx->seen[i].ino == id.ino) {
			free(text); /* read once already: its rules are in */
			return 0;
		}
	if (ctx->n_files >= PF_MAX_FILES) {
		free(text);
		return pf_fail(ctx, -E2BIG, l, col, "more than %u files included", PF_MAX_FILES);
	}
	ctx->seen[ctx->n_files++] = id;
	ctx->depth++;
	ctx->stack[ctx->depth] = id;
	ctx->stack_names[ctx->depth] = path;
	r = parse_text(ctx, text, tlen, path);
	ctx->depth--;
	free(text);
	return r;
}

/* One line: the header, a directive, or nothing (blank or a comment). */
static int parse_line(struct pf_ctx *ctx, struct pf_line *l, bool *have_header)
{
	const char *w;
	size_t wn, col;
	int r;

	/* Bytes first: the rest of the parser may assume printable ASCII
	 * outside comments (UTF-8 in a comment is fine). */
	{
		bool comment = false, quoted = false;

		for (size_t i = 0; i < l->len; i++) {
			const unsigned char c = (unsigned char)l->s[i];

			if (c == '\0')
				return pf_fail(ctx, -EBADMSG, l, i, "NUL byte in the text");
			if (c == '\r' && i + 1 == l->len)
				continue; /* a CRLF line end */
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return pf_fail(ctx, -EBADMSG, l, i, "control character 0x%02x", c);
			if (c == '"')
				quoted = !quoted;
			if (c == '#' && !quoted)
				comment = true;
			if (c >= 0x80 && !comment)
				return pf_fail(ctx, -EBADMSG, l, i,
					       "non-ASCII byte 0x%02x outside a comment", c);
		}
		if (l->len && l->s[l->len - 1] == '\r')
			l->len--;
	}
	if (at_end(l))
		return 0;
	col = l->pos;
	if (!*have_header) {
		uint64_t version;
		static const char hdr[] = "plughost-policy";

		if (l->len - l->pos < sizeof(hdr) - 1 ||
		    memcmp(l->s + l->pos, hdr, sizeof(hdr) - 1) != 0 ||
		    (l->len - l->pos > sizeof(hdr) - 1 && l->s[l->pos + sizeof(hdr) - 1] != ' ' &&
		     l->s[l->pos + sizeof(hdr) - 1] != '\t'))
			return pf_fail(ctx, -EBADMSG, l, col,
				       "not a policy file: it must start with 'plughost-policy %u'",
				       PF_FORMAT);
		l->pos += sizeof(hdr) - 1;
		skip_space(l);
		col = l->pos;
		r = number(ctx, l, &version);
		if (r < 0)
			return r;
		if (version != PF_FORMAT)
			return pf_fail(ctx, -EBADMSG, l, col,
				       "format version %llu is not one this plughost reads (%u)",
				       (unsigned long long)version, PF_FORMAT);
		*have_header = true;
	} else {
		wn = word(l, &w);
		if (word_is(w, wn, "base")) {
			if (ctx->depth > 0)
				return pf_fail(ctx, -EBADMSG, l, col,
					       "'base' belongs in the top file, not in an "
					       "included one");
			if (ctx->policy)
				return pf_fail(ctx, -EBADMSG, l, col,
					       "a second 'base' line (a file has one)");
			r = parse_base(ctx, l);
		} else if (word_is(w, wn, "allow") || word_is(w, wn, "include")) {
			if (!ctx->policy)
				return pf_fail(ctx, -EBADMSG, l, col,
					       "'%.*s' before the 'base' line: the base comes "
					       "first, as in 'base strict@%u'",
					       (int)wn, w, PH__POLICY_BASE_VERSION);
			r = word_is(w, wn, "allow") ? parse_allow(ctx, l) : parse_include(ctx, l);
			if (r < 0 || word_is(w, wn, "include"))
				return r;
		} else {
			return pf_fail(ctx, -EBADMSG, l, col,
				       "unknown directive '%.*s' (expected allow, base or include)",
				       wn ? (int)wn : found_len(l), l->s + col);
		}
		if (r < 0)
			return r;
	}
	if (!at_end(l))
		return pf_fail(ctx, -EBADMSG, l, l->pos, "unexpected '%.*s' at the end of the line",
			       found_len(l), l->s + l->pos);
	return 0;
}

static int parse_text(struct pf_ctx *ctx, const char *text, size_t len, const char *file)
{
	struct pf_line l = {.file = file};
	bool have_header = false;
	size_t at = 0;
	int r;

	if (len > PF_MAX_TEXT)
		return pf_fail(ctx, -E2BIG, NULL, 0, "larger than 1 MiB, too large for a policy");
	while (at < len) {
		const char *nl = memchr(text + at, '\n', len - at);
		const size_t end = nl ? (size_t)(nl - text) : len;

		l.no++;
		l.s = text + at;
		l.len = end - at;
		l.pos = 0;
		if (l.len > PF_MAX_LINE)
			return pf_fail(ctx, -E2BIG, &l, PF_MAX_LINE, "line longer than %u bytes",
				       PF_MAX_LINE);
		r = parse_line(ctx, &l, &have_header);
		if (r < 0)
			return r;
		at = end + 1;
	}
	if (!have_header) {
		l = (struct pf_line){.file = file, .no = 1};
		return pf_fail(ctx, -EBADMSG, &l, 0,
			       "not a policy file: it must start with 'plughost-policy %u'",
			       PF_FORMAT);
	}
	return 0;
}

static int parse_top(struct pf_ctx *ctx, const char *text, size_t len, const char *name,
		     struct ph_policy **ret_policy)
{
	int r = parse_text(ctx, text, len, name);

	if (r == 0 && !ctx->policy) {
		struct pf_line l = {.file = name, .no = 1};

		r = pf_fail(ctx, -EBADMSG, &l, 0,
			    "no 'base' line: a policy names the base it extends, as in 'base "
			    "strict@%u'",
			    PH__POLICY_BASE_VERSION);
	}
	if (r == 0)
		r = ph__policy_set_base(ctx->policy, ctx->base_version, ctx->n_files);
	if (r < 0) {
		ph_policy_free(ctx->policy);
		return r;
	}
	*ret_policy = ctx->policy;
	return 0;
}

PH_EXPORT int ph_policy_parse(const char *text, size_t len, const char *name,
			      struct ph_policy **ret_policy, struct ph_policy_error *ret_error)
{
	struct pf_ctx ctx = {.err = ret_error, .n_files = 1};

	if (!ret_policy || (!text && len))
		return -EINVAL;
	if (ret_error)
		memset(ret_error, 0, sizeof(*ret_error));
	return parse_top(&ctx, text ? text : "", len, name ? name : PF_DEFAULT_NAME, ret_policy);
}

PH_EXPORT int ph_policy_load(const char *path, struct ph_policy **ret_policy,
			     struct ph_policy_error *ret_error)
{
	struct pf_ctx ctx = {.err = ret_error, .files = true};
	char *text = NULL;
	size_t len;
	int r;

	if (!path || !*path || !ret_policy)
		return -EINVAL;
	if (ret_error)
		memset(ret_error, 0, sizeof(*ret_error));
	r = read_file(path, &text, &len, &ctx.stack[0]);
	if (r < 0) {
		struct pf_line l = {.file = path};

		pf_fail(&ctx, r, &l, 0, "cannot read policy file: %s", read_error(r));
		if (ret_error)
			ret_error->line = ret_error->column = 0;
		return r;
	}
	ctx.seen[0] = ctx.stack[0];
	ctx.stack_names[0] = path;
	ctx.n_files = 1;
	r = parse_top(&ctx, text, len, path, ret_policy);
	free(text);
	return r;
}
