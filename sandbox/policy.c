/* SPDX-License-Identifier: MIT */
/*
 * The seccomp policy: which syscalls a plugin may make, compiled once in
 * the host into a classic BPF program that the runner loads from a sealed
 * memfd. x86_64 only; every other arch (i386 through int 0x80, x32) gets
 * the bad-arch action, which is the default action.
 *
 * Three classes of syscall:
 *  - always allowed (both stages): what the SDK and a plain C plugin need,
 *    most with argument conditions;
 *  - loader-only (open, openat, path stat, PROT_EXEC mmap/mprotect): in
 *    notify mode they go to the host, which answers CONTINUE while the
 *    plugin loads and kills afterwards (ph__policy_loader_allows); in
 *    kill mode this program allows them and ph__policy_compile_stage2()
 *    stacks a filter that kills them once loading is done. One table,
 *    loader_syscalls[], gives all three forms, so they cannot disagree;
 *  - everything else: the default action, notify (the host names the
 *    syscall and kills) or kill-process. No explicit rule ever allows
 *    socket, ioctl, connect, bind, execve, or the never-allowed list.
 *
 * Argument conditions and 64-bit registers: libseccomp compares all 64
 * bits, the kernel often only the low 32 (int arguments). Every condition
 * here is shaped so that stray high bits can only make an ALLOW fail to
 * match (falling to the default action), never make a refusal miss:
 * equality for allows, masks within the low 32 bits for flag tests.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"
#include "sb-internal.h"
#include "seal.h"

/* -------------------------------------------------------- the rule tables */

struct rule {
	const char *name;
	unsigned int n;
	struct scmp_arg_cmp cmp[2];
	bool hot;      /* checked first: the per-call and per-record path */
	bool optional; /* newer than some libseccomp: skip when unknown */
};

/* clang-format off */
#define CMP(a, o, x, y)  { .arg = (a), .op = (o), .datum_a = (x), .datum_b = (y) }
#define EQ(a, v)         CMP(a, SCMP_CMP_EQ, v, 0)
#define MASKED(a, m, v)  CMP(a, SCMP_CMP_MASKED_EQ, m, v)
#define R0(name)         { name, 0, { { 0 } }, false, false }
#define R0_HOT(name)     { name, 0, { { 0 } }, true, false }
#define R1(name, c)      { name, 1, { c }, false, false }
#define R1_HOT(name, c)  { name, 1, { c }, true, false }
#define R2(name, c1, c2) { name, 2, { c1, c2 }, false, false }
/* clang-format on */

/* The futex command without its PRIVATE and CLOCK_REALTIME modifiers. */
#define FUTEX_CMD_BITS 0xfffffe7fULL
/* Open flags that write, create or make something other than a plain
 * read-only open. O_TMPFILE includes O_DIRECTORY, which alone is fine. */
#define OPEN_WRITE_BITS                                                                            \
	((unsigned long long)(O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | O_PATH |                  \
			      (O_TMPFILE & ~O_DIRECTORY)))
#define NS_CLONE_FLAGS                                                                             \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |             \
	 CLONE_NEWPID | CLONE_NEWNET)
#define THREAD_CLONE_FLAGS (CLONE_THREAD | CLONE_VM | CLONE_SIGHAND)

/* Allowed in both stages, in both modes. */
static const struct rule base_rules[] = {
    /* The request loop and ring: syscalls per call or per record. */
    R0_HOT("read"),
    R0_HOT("write"),
    R0_HOT("recvmsg"),
    R0_HOT("sendmsg"),
    R0_HOT("ppoll"),
    R0_HOT("poll"),
    R0_HOT("clock_gettime"),
    R0_HOT("getpid"),
    R0_HOT("gettid"),
    /* Only the plain wait/wake family: the PI operations have been the
     * road to root more than once (CVE-2014-3153), and nothing we run
     * uses them. The ring's futex is shared, so PRIVATE is optional. */
    R1_HOT("futex", MASKED(1, FUTEX_CMD_BITS, FUTEX_WAIT)),
    R1_HOT("futex", MASKED(1, FUTEX_CMD_BITS, FUTEX_WAKE)),
    R1_HOT("futex", MASKED(1, FUTEX_CMD_BITS, FUTEX_WAIT_BITSET)),
    R1_HOT("futex", MASKED(1, FUTEX_CMD_BITS, FUTEX_WAKE_BITSET)),
    R1("futex", MASKED(1, FUTEX_CMD_BITS, FUTEX_REQUEUE)),
    R1("futex", MASKED(1, FUTEX_CMD_BITS, FUTEX_CMP_REQUEUE)),
    R1("futex", MASKED(1, FUTEX_CMD_BITS, FUTEX_WAKE_OP)),
    {"futex_waitv", 0, {{0}}, false, true},

    /* I/O on fds the plugin was given; it can create none of its own. */
    R0("readv"),
    R0("writev"),
    R0("pread64"),
    R0("pwrite64"),
    R0("lseek"),
    R0("sendto"),
    R0("recvfrom"),
    R0("close"),
    R0("close_range"),
    R0("dup"),
    R0("dup2"),
    R0("dup3"),
    /* Metadata of an fd it holds (the SDK's seal checks need all three).
     * glibc's fstat() is newfstatat(fd, "", AT_EMPTY_PATH). The residual:
     * AT_EMPTY_PATH with a non-empty path still stats that path, so a
     * plugin can learn whether a file exists and its size and times,
     * within its mount namespace (the loader's files only) where there is
     * one; Landlock does not cover stat. Contents stay out of reach. */
    R0("fstat"),
    R1("newfstatat", MASKED(3, AT_EMPTY_PATH, AT_EMPTY_PATH)),
    R0("fstatfs"),
    /* fcntl: read flags and seals, set close-on-exec, duplicate. Not
     * F_SETFL (O_ASYNC would send signals), locks, leases or F_SETOWN. */
    R1("fcntl", EQ(1, F_GETFD)),
    R1("fcntl", EQ(1, F_SETFD)),
    R1("fcntl", EQ(1, F_GETFL)),
    R1("fcntl", EQ(1, F_GET_SEALS)),
    R1("fcntl", EQ(1, F_DUPFD_CLOEXEC)),

    /* Memory. Never executable: a plugin cannot make new code after it
     * loaded (the loader's PROT_EXEC maps are loader-only, below). */
    R1("mmap", MASKED(2, PROT_EXEC, 0)),
    R1("mprotect", MASKED(2, PROT_EXEC, 0)),
    R0("munmap"),
    R0("mremap"),
    R0("madvise"),
    R0("brk"),

    /* Signals to itself only (kill/tgkill rules are added with the pid). */
    R0("rt_sigreturn"),
    R0("rt_sigprocmask"),
    R0("rt_sigaction"),
    R0("sigaltstack"),
    R0("restart_syscall"),

    /* Time, randomness, scheduling, identity: read-only or self-only. */
    R0("clock_getres"),
    R0("clock_nanosleep"),
    R0("nanosleep"),
    R0("gettimeofday"),
    R0("time"),
    R0("getrandom"),
    R0("sched_yield"),
    /* How many CPUs it may use: thread pools size themselves by it (glibc
     * get_nprocs, std::thread::hardware_concurrency, sanitizers). Any
     * pid's mask is readable, but a mask says nothing worth hiding. */
    R0("sched_getaffinity"),
    R0("getuid"),
    R0("geteuid"),
    R0("getgid"),
    R0("getegid"),
    R0("uname"),
    R0("getrlimit"),
    /* prlimit64 on itself, reading only: limits cannot be raised anyway
     * (hard == soft), but other processes' limits are not its business. */
    R2("prlimit64", EQ(0, 0), EQ(2, 0)),
    /* Thread bookkeeping glibc does in every thread (and at exit). */
    R0("set_robust_list"),
    R0("rseq"),
    R0("exit"),
    R0("exit_group"),
    /* prctl: naming itself and asking whether it is dumpable, nothing
     * that changes its security state. */
    R1("prctl", EQ(0, PR_SET_NAME)),
    R1("prctl", EQ(0, PR_GET_NAME)),
    R1("prctl", EQ(0, PR_GET_DUMPABLE)),
    /* Reading its own speculation state only: tests and careful plugins
     * can check the spec-ctrl layer from inside. Setting stays refused. */
    R1("prctl", EQ(0, PR_GET_SPECULATION_CTRL)),
};

/*
 * The base's history (sandbox.h, PH__POLICY_BASE_VERSION). A policy file
 * names the base it extends ("base strict@1"); compiling it adds, besides
 * base_rules, every rule that an older base had and the current one
 * dropped or narrowed, listed here with the newest version that still had
 * it. What a file was written (or learned) against then stays allowed, and
 * a plughost whose runner needs fewer syscalls does not break it. Version
 * 1 is the first base, so nothing is retired yet; a row with last_version
 * 0 ends the table (C has no empty arrays).
 */
static const struct retired_rule {
	unsigned int last_version; /* the newest base that had the rule */
	struct rule rule;
} retired_rules[] = {
    {0, R0(NULL)},
};

/*
 * The loader's syscalls, in one table that gives all three forms:
 *  - kill mode, stage 1: allowed while the plugin loads when `allow`
 *    holds (read-only opens, which Landlock and the mount namespace
 *    confine; path stat for the search path walk; W^X executable maps of
 *    files for the segments);
 *  - notify mode: the host's answer while loading, the same `allow`
 *    evaluated on the arguments the kernel reports
 *    (ph__policy_loader_allows);
 *  - kill mode, stage 2: killed when `kill` holds (n_kill 0: always),
 *    which covers every call stage 1 let through beyond the base rules.
 * Rows with allow == LOADER_NEVER are only there to be killed in stage 2
 * as well, belt and braces on top of stage 1's default action.
 */
enum loader_allow {
	LOADER_NEVER,
	LOADER_BOTH_MODES,
	/* The runner loading stage 2 itself, kill mode only (notify mode has
	 * no stage 2 filter). Another filter can only ever take rights away,
	 * whoever installs it. */
	LOADER_KILL_MODE,
};

struct loader_syscall {
	int nr;
	enum loader_allow allow_in;
	unsigned int n_allow;
	struct scmp_arg_cmp allow[2];
	unsigned int n_kill;
	struct scmp_arg_cmp kill[1];
};

/* clang-format off */
static const struct loader_syscall loader_syscalls[] = {
    {__NR_open, LOADER_BOTH_MODES, 1, {MASKED(1, OPEN_WRITE_BITS, 0)}, 0, {{0}}},
    {__NR_openat, LOADER_BOTH_MODES, 1, {MASKED(2, OPEN_WRITE_BITS, 0)}, 0, {{0}}},
    {__NR_openat2, LOADER_NEVER, 0, {{0}}, 0, {{0}}},
    {__NR_creat, LOADER_NEVER, 0, {{0}}, 0, {{0}}},
    {__NR_execve, LOADER_NEVER, 0, {{0}}, 0, {{0}}},
    {__NR_execveat, LOADER_NEVER, 0, {{0}}, 0, {{0}}},
    {__NR_seccomp, LOADER_KILL_MODE, 2, {EQ(0, SECCOMP_SET_MODE_FILTER), EQ(1, 0)}, 0, {{0}}},
    /* The base rules allow AT_EMPTY_PATH (fstat) in both stages. */
    {__NR_newfstatat, LOADER_BOTH_MODES, 0, {{0}}, 1, {MASKED(3, AT_EMPTY_PATH, 0)}},
    /* The base rules allow everything not executable in both stages. An
     * anonymous executable map is code made at run time; a shared one
     * could be rewritten through another mapping. */
    {__NR_mmap, LOADER_BOTH_MODES, 2,
     {MASKED(2, PROT_WRITE, 0), MASKED(3, MAP_ANONYMOUS | MAP_TYPE, MAP_PRIVATE)},
     1, {MASKED(2, PROT_EXEC, PROT_EXEC)}},
    /* R-X back after text relocations; writable and executable never. */
    {__NR_mprotect, LOADER_BOTH_MODES, 1, {MASKED(2, PROT_WRITE, 0)},
     1, {MASKED(2, PROT_EXEC, PROT_EXEC)}},
};
/* clang-format on */

/*
 * ph_policy_allow() refuses these: the sandbox's own walls (namespaces,
 * mounts, seccomp, kernel attack surface it never needs), other processes
 * (ptrace, process_vm_*, pidfds, signals beyond the self-only rules), and
 * what the base policy handles with conditions a user rule would undo
 * (clone flags, exec, PROT_EXEC, opens and path stat after loading).
 */
/* clang-format off */
static const char *const never_allowed[] = {
	/* other processes */
	"ptrace", "process_vm_readv", "process_vm_writev", "process_madvise",
	"process_mrelease", "pidfd_open", "pidfd_getfd", "pidfd_send_signal", "kcmp",
	"kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
	"migrate_pages", "move_pages",
	/* new processes, namespaces, programs */
	"clone", "clone3", "fork", "vfork", "execve", "execveat", "unshare", "setns",
	"uselib", "personality",
	/* mounts and the filesystem view */
	"mount", "umount2", "pivot_root", "chroot", "fsopen", "fsmount", "fsconfig",
	"move_mount", "open_tree", "fspick", "mount_setattr", "open_by_handle_at",
	"name_to_handle_at",
	/* loader-only after stage 2, or conditions a rule would undo */
	"open", "openat", "openat2", "creat", "newfstatat", "mmap", "mprotect",
	"pkey_mprotect", "remap_file_pages", "seccomp",
	/* executable memory by another door: shmat(SHM_EXEC) maps a SysV
	 * segment PROT_EXEC, which stage 2 refuses mmap and mprotect */
	"shmat",
	/* kernel attack surface no plugin needs */
	"bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
	"io_uring_setup", "io_uring_enter", "io_uring_register", "modify_ldt",
	"iopl", "ioperm", "vhangup", "lookup_dcookie",
	/* the machine */
	"kexec_load", "kexec_file_load", "init_module", "finit_module",
	"delete_module", "reboot", "swapon", "swapoff", "acct", "quotactl",
	"quotactl_fd",
};
/* clang-format on */

int ph__policy_never_allowed(int nr)
{
	for (size_t i = 0; i < ELEMENTSOF(never_allowed); i++)
		if (seccomp_syscall_resolve_name(never_allowed[i]) == nr)
			return 1;
	return 0;
}

int ph__policy_syscall_nr(const char *name)
{
	/* Native (x86_64) names only; pseudo-syscalls of other arches, such
	 * as socketcall, resolve to negative numbers. */
	int nr = name ? seccomp_syscall_resolve_name(name) : __NR_SCMP_ERROR;

	return nr < 0 ? -ENOENT : nr;
}

/* FNV-1a, 64 bits: a fingerprint of the base table, not a secret. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

uint64_t ph__policy_base_digest(void)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const uint64_t threads = THREAD_CLONE_FLAGS | NS_CLONE_FLAGS;

	for (size_t i = 0; i < ELEMENTSOF(base_rules); i++) {
		const struct rule *r = &base_rules[i];

		h = fnv(h, r->name, strlen(r->name) + 1);
		h = fnv(h, &r->n, sizeof(r->n));
		for (unsigned int j = 0; j < r->n; j++) {
			const uint64_t f[4] = {r->cmp[j].arg, r->cmp[j].op, r->cmp[j].datum_a,
					       r->cmp[j].datum_b};

			h = fnv(h, f, sizeof(f));
		}
	}
	return fnv(h, &threads, sizeof(threads));
}

int ph__policy_threads_allows(uint32_t arch, int nr, const uint64_t args[6])
{
	/* The same mask and value as the threads preset's rule below. */
	return arch == PH_AUDIT_ARCH_NATIVE && nr == __NR_clone && args &&
	       (args[0] & (THREAD_CLONE_FLAGS | NS_CLONE_FLAGS)) == THREAD_CLONE_FLAGS;
}

/*
 * With file grants: after loading, the plugin may still open for reading
 * (the access mode O_RDONLY, nothing that creates, truncates, appends or
 * makes an O_PATH or O_TMPFILE fd: a condition on the flags register,
 * never on the path, which the mount namespace and Landlock confine),
 * stat paths and list directories. openat2's flags are behind a pointer:
 * ENOSYS, so that a library falls back to openat.
 */
static const struct rule grant_rules[] = {
    R1("open", MASKED(1, OPEN_WRITE_BITS, 0)),
    R1("openat", MASKED(2, OPEN_WRITE_BITS, 0)),
    R0("newfstatat"),
    R0("statx"),
    R0("getdents64"),
};
/* Kill mode's stage 1 allows these already while loading (loader rules). */
static bool grant_rule_is_loader(const char *name)
{
	return strcmp(name, "open") == 0 || strcmp(name, "openat") == 0 ||
	       strcmp(name, "newfstatat") == 0;
}

/* Each flag of OPEN_WRITE_BITS alone, for stage 2's kill rules (a filter
 * can test a masked value for equality only). */
static const unsigned long long open_write_bits[] = {
    O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND, O_PATH, O_TMPFILE & ~O_DIRECTORY,
};

static int add_rules(scmp_filter_ctx ctx, uint32_t action, const struct rule *rules, size_t n);

static int add_grant_rules(scmp_filter_ctx ctx, int notify)
{
	int r;

	for (size_t i = 0; i < ELEMENTSOF(grant_rules); i++) {
		if (!notify && grant_rule_is_loader(grant_rules[i].name))
			continue;
		r = add_rules(ctx, SCMP_ACT_ALLOW, &grant_rules[i], 1);
		if (r < 0)
			return r;
	}
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0);
}

/* --------------------------------------------------------------- compile */

static void releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}
#define _cleanup_seccomp_ __attribute__((cleanup(releasep)))

static int add_rules(scmp_filter_ctx ctx, uint32_t action, const struct rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(rules[i].name), r;

		if (nr < 0) {
			if (rules[i].optional)
				continue;
			return -ENOSYS;
		}
		r = seccomp_rule_add_array(ctx, action, nr, rules[i].n, rules[i].cmp);
		if (r < 0)
			return r;
		if (rules[i].hot) {
			r = seccomp_syscall_priority(ctx, nr, 255);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* The host's API validated the rule already; checked again here because
 * this compiler is what stands between a rule and the kernel. */
static int add_user_rule(scmp_filter_ctx ctx, const struct ph__sb_user_rule *rule)
{
	struct scmp_arg_cmp cmp[PH__SB_ARGS_MAX];

	if (rule->n > PH__SB_ARGS_MAX || rule->nr < 0)
		return -EINVAL;
	if (ph__policy_never_allowed(rule->nr))
		return -EPERM;
	for (unsigned int i = 0; i < rule->n; i++) {
		const __typeof__(rule->conds[0]) *c = &rule->conds[i];

		if (c->arg >= PH__SB_ARGS_MAX)
			return -EINVAL;
		/* The loader patches every comparison with the placeholder:
		 * a user's constant must never look like it. */
		if ((uint32_t)c->value == PH__SB_SELF_PID ||
		    (uint32_t)(c->value >> 32) == PH__SB_SELF_PID ||
		    (uint32_t)c->mask == PH__SB_SELF_PID ||
		    (uint32_t)(c->mask >> 32) == PH__SB_SELF_PID)
			return -EINVAL;
		cmp[i] = (struct scmp_arg_cmp){.arg = c->arg, .datum_a = c->value};
		switch (c->op) {
		case PH__SB_ARG_EQ:
			cmp[i].op = SCMP_CMP_EQ;
			break;
		case PH__SB_ARG_NE:
			cmp[i].op = SCMP_CMP_NE;
			break;
		case PH__SB_ARG_LT:
			cmp[i].op = SCMP_CMP_LT;
			break;
		case PH__SB_ARG_LE:
			cmp[i].op = SCMP_CMP_LE;
			break;
		case PH__SB_ARG_GT:
			cmp[i].op = SCMP_CMP_GT;
			break;
		case PH__SB_ARG_GE:
			cmp[i].op = SCMP_CMP_GE;
			break;
		case PH__SB_ARG_MASKED_EQ:
			cmp[i].op = SCMP_CMP_MASKED_EQ;
			cmp[i].datum_a = c->mask;
			cmp[i].datum_b = c->value;
			break;
		default:
			return -EINVAL;
		}
	}
	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, rule->nr, rule->n, cmp);
}

/*
 * A filter context for x86_64 alone (the native arch: libseccomp adds the
 * arch check, and for x86_64 a check that sends x32 numbers, those with
 * bit 30 set, to the bad-arch action too). The bad-arch action is the
 * default action, so i386 and x32 calls are reported (notify) or kill.
 */
static scmp_filter_ctx new_filter(uint32_t def_action, uint32_t badarch_action)
{
	scmp_filter_ctx ctx = seccomp_init(def_action);

	if (!ctx)
		return NULL;
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, badarch_action) < 0 &&
	    seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) < 0) {
		/* libseccomp's own default would be kill-thread: not good enough
		 * for a multi-threaded plugin. */
		seccomp_release(ctx);
		return NULL;
	}
	/* A binary tree over syscall numbers: constant-ish cost per syscall
	 * instead of a linear walk (libseccomp#116). Only speed; a library
	 * without it still produces a correct filter. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	return ctx;
}

/* Export into a fresh memfd and seal it like an input: the runner checks
 * exactly those seals before it loads a byte. */
static int export_sealed(scmp_filter_ctx ctx)
{
	_cleanup_close_ int fd = -1;
	int r;

	fd = ph__memfd_create("plughost-seccomp");
	if (fd < 0)
		return fd;
	/* libseccomp 2.5 has no seccomp_export_bpf_mem(); writing through the
	 * fd also means no writable mapping exists, so F_SEAL_WRITE cannot
	 * fail with EBUSY. */
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return r;
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return -errno;
	/* The runner refuses programs over BPF_MAXINSNS; fail here, clearly. */
	r = ph__seal_check(fd, PH_SEAL_KIND_INPUT, UINT64_MAX,
			   (uint64_t)BPF_MAXINSNS * sizeof(struct sock_filter), NULL, NULL);
	if (r == -EFBIG)
		return -E2BIG;
	if (r < 0)
		return r;
	return TAKE_FD(fd);
}

/* Kill mode, stage 1: the loader's syscalls, allowed while it loads. */
static int add_loader_allows(scmp_filter_ctx ctx)
{
	for (size_t i = 0; i < ELEMENTSOF(loader_syscalls); i++) {
		const struct loader_syscall *l = &loader_syscalls[i];
		int r;

		if (l->allow_in == LOADER_NEVER)
			continue;
		r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, l->nr, l->n_allow, l->allow);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The terminal probes stdio makes: answered ENOTTY (below). */
static const scmp_datum_t tty_probes[] = {TCGETS, TIOCGWINSZ};

int ph__policy_compile(const struct ph__sb_policy *policy, int notify)
{
	const uint32_t def = notify ? SCMP_ACT_NOTIFY : SCMP_ACT_KILL_PROCESS;
	const bool threads = policy && policy->threads;
	/* kill(0) and kill(-1) reach process groups and everyone: the self
	 * rules need the real pid, which the loader writes in place of the
	 * placeholder (ph__sb_seccomp_load), so that one compiled program
	 * serves every instance, whatever its pid. */
	const scmp_datum_t self_pid = PH__SB_SELF_PID;
	_cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
	int r;

	if (policy &&
	    (policy->n_rules > PH__SB_MAX_USER_RULES || (policy->n_rules && !policy->rules) ||
	     policy->base_version > PH__POLICY_BASE_VERSION))
		return -EINVAL;

	ctx = new_filter(def, def);
	if (!ctx)
		return notify ? -EOPNOTSUPP : -ENOMEM;

	r = add_rules(ctx, SCMP_ACT_ALLOW, base_rules, ELEMENTSOF(base_rules));
	if (r < 0)
		return r;
	/* A policy written against an older base keeps what that base had. */
	for (size_t i = 0; policy && policy->base_version && retired_rules[i].last_version; i++) {
		if (retired_rules[i].last_version < policy->base_version)
			continue;
		r = add_rules(ctx, SCMP_ACT_ALLOW, &retired_rules[i].rule, 1);
		if (r < 0)
			return r;
	}

	/* Notify mode leaves the loader's syscalls to the default action: the
	 * host decides each one by phase. */
	if (!notify) {
		r = add_loader_allows(ctx);
		if (r < 0)
			return r;
	}

	/* ENOSYS, not a kill: glibc's pthread_create and posix_spawn try
	 * clone3 first and fall back to clone, whose flags (unlike clone3's,
	 * behind a pointer) the filter can see. */
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r < 0)
		return r;

	/* ENOTTY, not a kill, for the probes stdio makes of its fds (glibc
	 * asks TCGETS to decide on line buffering; isatty() and terminal
	 * size queries ask these two): a plugin's printf() must not end it.
	 * The answer is what a pipe gives anyway, and the request must match
	 * in all 64 bits, so that nothing with stray high bits slips by as
	 * one of them. Every other ioctl stays a violation. */
	for (size_t i = 0; i < ELEMENTSOF(tty_probes); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_EQ, tty_probes[i]));
		if (r < 0)
			return r;
	}

	/* Threads: clone that shares memory, signal handlers and thread group,
	 * and creates no namespace. A new process (fork) stays refused. */
	if (threads) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ,
					     THREAD_CLONE_FLAGS | NS_CLONE_FLAGS,
					     THREAD_CLONE_FLAGS));
		if (r < 0)
			return r;
	}

	/* Signals to itself only: raise() and abort() use tgkill(getpid(),
	 * gettid(), sig). Never to the host or another plugin. */
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
			     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)self_pid));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)self_pid));
	if (r < 0)
		return r;

	for (size_t i = 0; policy && i < policy->n_rules; i++) {
		r = add_user_rule(ctx, &policy->rules[i]);
		if (r < 0)
			return r;
	}
	if (policy && policy->read_opens) {
		r = add_grant_rules(ctx, notify);
		if (r < 0)
			return r;
	}
	return export_sealed(ctx);
}

int ph__policy_compile_stage2(int read_opens)
{
	_cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
	int r;

	/* Default allow: this filter only subtracts. Stage 1 still applies to
	 * every syscall, and across stacked filters the strictest wins. */
	ctx = new_filter(SCMP_ACT_ALLOW, SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -ENOMEM;
	for (size_t i = 0; i < ELEMENTSOF(loader_syscalls); i++) {
		const struct loader_syscall *l = &loader_syscalls[i];

		if (read_opens && (l->nr == __NR_open || l->nr == __NR_openat)) {
			/* Spare the read-only opens stage 1 allows: kill each
			 * open that sets any one of the writing flags. */
			const unsigned int arg = l->nr == __NR_open ? 1 : 2;

			for (size_t b = 0; b < ELEMENTSOF(open_write_bits); b++) {
				const struct scmp_arg_cmp c =
				    MASKED(arg, open_write_bits[b], open_write_bits[b]);

				r = seccomp_rule_add_array(ctx, SCMP_ACT_KILL_PROCESS, l->nr, 1,
							   &c);
				if (r < 0)
					return r;
			}
			continue;
		}
		/* Path stat stays allowed, openat2 stays ENOSYS (stage 1). */
		if (read_opens && (l->nr == __NR_newfstatat || l->nr == __NR_openat2))
			continue;
		r = seccomp_rule_add_array(ctx, SCMP_ACT_KILL_PROCESS, l->nr, l->n_kill, l->kill);
		if (r < 0)
			return r;
	}
	return export_sealed(ctx);
}

/* ------------------------------------------------------- loader decisions */

/* One libseccomp comparison, on the arguments the kernel reported. The
 * loader table uses only these two operators. */
static bool cmp_holds(const struct scmp_arg_cmp *c, const uint64_t args[6])
{
	const uint64_t a = args[c->arg];

	switch (c->op) {
	case SCMP_CMP_EQ:
		return a == c->datum_a;
	case SCMP_CMP_MASKED_EQ:
		return (a & c->datum_a) == c->datum_b;
	default:
		return false; /* refuse what this evaluator cannot judge */
	}
}

/*
 * Only calls the base rules do not allow reach the host (the executable
 * mmap/mprotect, opens, path stat): for those, the answer is exactly what
 * kill mode's stage 1 allows, read from the same row.
 */
int ph__policy_loader_allows(uint32_t arch, int nr, const uint64_t args[6])
{
	/* Only native calls: i386 and x32 numbers mean other syscalls. */
	if (arch != PH_AUDIT_ARCH_NATIVE || nr < 0 || ((uint32_t)nr & PH_X32_SYSCALL_BIT) || !args)
		return 0;

	for (size_t i = 0; i < ELEMENTSOF(loader_syscalls); i++) {
		const struct loader_syscall *l = &loader_syscalls[i];
		bool holds = true;

		if (l->nr != nr || l->allow_in != LOADER_BOTH_MODES)
			continue;
		for (unsigned int j = 0; j < l->n_allow && holds; j++)
			holds = cmp_holds(&l->allow[j], args);
		if (holds)
			return 1;
	}
	return 0;
}
