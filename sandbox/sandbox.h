/* SPDX-License-Identifier: MIT */
/*
 * The sandbox: an internal library. The host links the parts that decide
 * and compile (probe, namespace plan, id maps, seccomp policy, violation
 * naming); the runner links the parts that apply (mounts, capabilities,
 * no_new_privs, Landlock, rlimits, loading the seccomp program).
 *
 * Order in the runner, and why (see runner.c):
 *   1. read SETUP while still fully privileged in the new user namespace;
 *   2. mounts (needs CAP_SYS_ADMIN in the userns);
 *   3. rlimits (lowering needs nothing; raising later needs CAP_SYS_RESOURCE,
 *      which step 4 removes);
 *   4. drop every capability, all five sets;
 *   5. no_new_privs (required by Landlock and unprivileged seccomp);
 *   6. Landlock: read-only access to the loader's files and the file
 *      grants, nothing else;
 *   7. seccomp stage 1 with the listener, sent to the host;
 *   8. load the plugin (its constructors run under all of the above);
 *   9. stage 2: the host stops allowing loader syscalls (notify mode), or
 *      the runner stacks a kill filter for them (fallback mode).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <plughost/host.h>

/* --------------------------------------------------------------- layers */

/* The name of one PH_LAYER_* bit ("userns"), or NULL. */
const char *ph__layer_name(uint32_t bit);
/* The CLONE_NEW* flags that make the namespace layers among layer_bits. */
uint64_t ph__layer_clone_flags(uint32_t layer_bits);
/* The PH_LAYER_* bits of the namespaces clone_flags create. */
uint32_t ph__layers_of_clone_flags(uint64_t clone_flags);

/* ------------------------------------------------------------ host side */

/* What the kernel offers, probed at run time (once; results cached). */
struct ph__features {
	int seccomp;	      /* seccomp filter mode */
	int seccomp_notify;   /* SECCOMP_RET_USER_NOTIF + NEW_LISTENER */
	int seccomp_continue; /* SECCOMP_USER_NOTIF_FLAG_CONTINUE */
	int landlock_abi;     /* 0 when unavailable */
	int spec_ctrl;	      /* speculation can be disabled (or need not be) */
	int core_sched;	      /* PR_SCHED_CORE_CREATE works */
	int userns;	      /* an unprivileged-capable user namespace can be made */
	uint64_t ns_flags;    /* the CLONE_NEW* flags the runner can use, tried */
	int memfd_noexec;     /* MFD_NOEXEC_SEAL */
	int pidfd;	      /* clone3 CLONE_PIDFD / pidfd_send_signal */
	int close_range;
	int cgroup2;	       /* cgroup v2 mounted */
	int cgroup2_delegated; /* a writable cgroup v2 subtree for us */
	char cgroup2_path[256];
};

/* Probe once per process (thread-safe); returns a pointer to the cache. */
const struct ph__features *ph__probe(void);
/* The full probe's result if it ran, else the cheap facts with every
 * namespace and seccomp feature assumed (*ret_assumed set): for a first
 * spawn, which is made again after ph__probe() if an assumption fails. */
const struct ph__features *ph__probe_assumed(int *ret_assumed);

/*
 * CLONE_NEW* flags for a new instance: every namespace the kernel lets
 * this host create. Returns 0, or -EPERM when a layer in require
 * (PH_LAYER_*) is not available, with *ret_missing naming it.
 */
int ph__ns_plan(const struct ph__features *f, uint32_t require, uint64_t *ret_clone_flags,
		const char **ret_missing);

/*
 * From the host, after clone: write the child's uid/gid maps so it is root
 * inside its user namespace and nobody (65534) outside when the host is
 * root, or the host's own uid/gid otherwise. setgroups is denied first.
 * Returns 0 or a negative errno.
 */
int ph__ns_write_maps(pid_t child);

/*
 * A user's policy in plain form: the host's public ph_policy_* API builds
 * it (host/src/policy.c); the sandbox only compiles it. The comparison
 * values are those of the public enum ph_arg_op (tied there by static
 * asserts), so no translation table can drift.
 */
#define PH__SB_MAX_USER_RULES 256u /* keeps the program under BPF_MAXINSNS */
#define PH__SB_ARGS_MAX	      6u

enum ph__sb_arg_op {
	PH__SB_ARG_EQ = 1,
	PH__SB_ARG_NE,
	PH__SB_ARG_LT,
	PH__SB_ARG_LE,
	PH__SB_ARG_GT,
	PH__SB_ARG_GE,
	PH__SB_ARG_MASKED_EQ,
};

struct ph__sb_user_rule {
	int nr;		/* native syscall number */
	unsigned int n; /* conditions used, 0..PH__SB_ARGS_MAX */
	struct {
		unsigned int arg; /* 0..5, at most one condition each */
		int op;		  /* enum ph__sb_arg_op */
		uint64_t value, mask;
	} conds[PH__SB_ARGS_MAX];
};

struct ph__sb_policy {
	int threads; /* allow clone() of threads (PH_POLICY_THREADS) */
	size_t n_rules;
	const struct ph__sb_user_rule *rules;
	/* The base the rules extend (a policy file's "base strict@N"): 0 or
	 * PH__POLICY_BASE_VERSION for the current one; an older one adds the
	 * rules that base had and the current one no longer has. */
	unsigned int base_version;
	/* The instance has file grants: read-only opens (and stat, directory
	 * listing) stay allowed after loading; the mount namespace and
	 * Landlock decide which paths. */
	int read_opens;
};

/*
 * The base: what every plugin may do whatever its policy (the runner's and
 * the SDK's own syscalls, and a plain C plugin's), versioned so that a
 * policy file, a delta over one version, keeps working when a later
 * plughost changes the base (docs/policy.md, "The base"). The digest is of
 * the base's rule table as compiled in (ph__policy_base_digest()); a unit
 * test pins it, so that no change to the table goes unnoticed: adding
 * rules only updates the digest, removing or narrowing one bumps the
 * version and keeps the old rows in sandbox/policy.c's retired_rules[].
 */
#define PH__POLICY_BASE_VERSION 1u
#define PH__POLICY_BASE_DIGEST	0xc7dcd430dbfc14f6ULL
uint64_t ph__policy_base_digest(void);

/*
 * Would the threads preset allow this call (a clone() of a thread, with no
 * namespace flag)? 1 yes, 0 no. For learning, which lets such a clone go
 * on and writes the threads preset into the policy it learns.
 */
int ph__policy_threads_allows(uint32_t arch, int nr, const uint64_t args[6]);

/* The native number of a syscall name, or -ENOENT (other arches' names,
 * such as socketcall, have none). */
int ph__policy_syscall_nr(const char *name);

/* Is nr one the sandbox never lets a user rule allow (its own walls,
 * other processes, kernel attack surface)? 1 yes, 0 no. */
int ph__policy_never_allowed(int nr);

/*
 * Compile policy (NULL = strict) into a classic BPF program in a sealed
 * memfd (sealed WRITE|SHRINK|GROW|SEAL, like an input). notify selects
 * SECCOMP_RET_USER_NOTIF for refused and loader-only syscalls (else
 * kill-process). self_pid is the child's pid as it sees itself (1 in a new
 * pid namespace), for kill/tgkill-to-self rules. Returns the fd or -errno
 * (-EINVAL for a malformed rule).
 */
int ph__policy_compile(const struct ph__sb_policy *policy, int notify);

/* The strict preset's program in kill or notify mode as compiled at build
 * time (strict-prog.c, made by gen-strict-prog.c): its length in bytes and
 * its instructions in *ret_insns, or 0 when the build could not compile
 * that mode (compile it at run time then). Same bytes as
 * ph__policy_compile(NULL, notify). */
size_t ph__policy_strict_prog(int notify, const void **ret_insns);

/* Stands for the loading process's own pid in a compiled program: no pid
 * is ever this big (PID_MAX_LIMIT is 2^22), and user rules may not use
 * it. ph__sb_seccomp_load() writes getpid() over it. */
#define PH__SB_SELF_PID 0x7ffffff1u

/* Write self over every comparison with PH__SB_SELF_PID in a program.
 * Returns how many it patched. */
struct sock_filter;
unsigned int ph__sb_seccomp_patch_self(struct sock_filter *insns, unsigned int n, pid_t self);

/*
 * Fallback stage 2 program (no user notification): kill-process on the
 * loader-only syscalls (open*, exec*, PROT_EXEC mmap/mprotect). With
 * read_opens (the instance has file grants) opens that only read, and
 * path stat, are spared, as ph__sb_policy.read_opens has stage 1 allow
 * them. Same memfd form. Returns the fd or -errno.
 */
int ph__policy_compile_stage2(int read_opens);

/*
 * In notify mode, a syscall that the policy sends to the host: may it go
 * on while the plugin is still loading (stage 1)? 1 yes, 0 no.
 */
int ph__policy_loader_allows(uint32_t arch, int nr, const uint64_t args[6]);

/*
 * Name a syscall and format it with decoded arguments, e.g.
 * "openat(AT_FDCWD, 0x7ffd1234, O_RDONLY)" or "x32 syscall 0x40000002".
 * name gets the bare name ("" if unknown). Both NUL-terminated.
 */
void ph__syscall_describe(uint32_t arch, int nr, const uint64_t args[6], char *name,
			  size_t name_len, char *line, size_t line_len);

/* Which arguments of a syscall point at memory worth showing: a path
 * (NUL-terminated) or a socket address (its length in the next
 * argument). kinds[i] for args[i]; returns how many there are. */
enum ph_sc_mem_kind {
	PH_SC_MEM_KIND_NONE = 0,
	PH_SC_MEM_KIND_PATH,
	PH_SC_MEM_KIND_SOCKADDR,
};
int ph__syscall_mem_args(uint32_t arch, int nr, enum ph_sc_mem_kind kinds[6]);

/* What the host read at a pointer argument, for ph__syscall_describe_mem().
 * bytes/len: a path without its NUL, or a socket address. */
enum ph_sc_mem_state {
	PH_SC_MEM_NONE = 0,   /* not read: the pointer is shown */
	PH_SC_MEM_READ,	      /* the whole path (or address) */
	PH_SC_MEM_TRUNCATED,  /* no NUL within the cap: shown with "..." */
	PH_SC_MEM_UNREADABLE, /* the memory could not be read */
};
struct ph__sc_mem {
	struct ph__sc_mem_arg {
		enum ph_sc_mem_state state;
		const char *bytes;
		size_t len;
	} arg[6];
};

/*
 * Like ph__syscall_describe(), with what mem holds shown in place of
 * the pointers (quoted, escaped, cut to fit line_len), labelled once as
 * read at the time of the call, and followed by "; hint: ..." where
 * ph__syscall_hint() has one. mem may be NULL.
 */
void ph__syscall_describe_mem(uint32_t arch, int nr, const uint64_t args[6],
			      const struct ph__sc_mem *mem, char *name, size_t name_len, char *line,
			      size_t line_len);

/* What would allow a refused call ("threads need --threads ..."), or NULL
 * when nothing would. A static string. */
const char *ph__syscall_hint(uint32_t arch, int nr, const uint64_t args[6]);

/* The PH_LAYER_* bits a new instance would get here (no requirements). */
uint32_t ph__probe_layers(void);

/* The "plughost info" report (see ph_probe_report() in host.h). */
int ph__probe_report(char *buf, size_t len);

/* ---------------------------------------------------------- runner side */

/*
 * A read-only file grant (PH_MSG_GRANT), as the runner holds it. fd is the
 * object the host opened (the Landlock rule's object; a library's bytes);
 * parent_fd, for a file that is not a library, the directory it is in
 * (also the host's); tree_fd a detached copy of its mount made by
 * ph__sb_grant_trees(), or -1. inside: its path in the sandbox, checked
 * by ph__grant_path_check() (a bare name in /plugin for a library).
 */
struct ph__sb_grant {
	int fd, parent_fd, tree_fd;
	int is_lib, is_dir;
	const char *inside;
};

/*
 * Make each grant's tree_fd, while the runner is still in the host's
 * mount namespace (after its user namespace, before CLONE_NEWNS). The
 * kernel clones a mount only from the caller's own mount namespace, and
 * the host's fds point into the host's: so for each grant a short-lived
 * child (sharing our fd table) enters the object through its fd
 * (fchdir(), or its parent's for a file), unshares a mount namespace of
 * its own, which carries that working directory over, and clones the
 * mount from there, by fd and one path component, never a host path.
 * The clone is checked to be the very inode the host opened. Returns 0,
 * or -errno with *ret_i the grant that failed and *ret_what the step.
 */
int ph__sb_grant_trees(struct ph__sb_grant *g, size_t n, size_t *ret_i, const char **ret_what);

/*
 * Build the plugin's filesystem view: a fresh tmpfs root holding read-only
 * binds of the dynamic loader's directories (/usr, /lib*, /etc's
 * ld.so.cache) and, in a tmpfs of its own, a read-only copy of the plugin
 * read from plugin_fd (opened by the host) at /plugin/<basename of
 * plugin_name>, with the library grants copied beside it; each other
 * grant's tree_fd mounted read-only, nosuid and nodev at its path; then
 * pivot_root into it and detach the old root. *ret_path gets the plugin's
 * path inside (static storage). Returns 0 or -errno.
 */
int ph__sb_mounts(int plugin_fd, const char *plugin_name, const struct ph__sb_grant *grants,
		  size_t n_grants, const char **ret_path);

/* Kernel-enforced instance limits; 0 leaves a limit as it is. */
struct ph__sb_limits {
	uint64_t as_bytes; /* RLIMIT_AS */
	uint32_t nofile;   /* RLIMIT_NOFILE */
	uint32_t nproc;	   /* RLIMIT_NPROC: threads, init included */
};

/* Set these rlimits (soft = hard), plus core 0, fsize 0 and memlock 0. */
int ph__sb_rlimits(const struct ph__sb_limits *limits);

/* Drop every capability from all five sets (libcap). */
int ph__sb_caps_drop(void);

/* PR_SET_NO_NEW_PRIVS, PR_SET_DUMPABLE 0. */
int ph__sb_nnp(void);

/*
 * For a root runner without a user namespace: empty the bounding set,
 * shed the supplementary groups and become nobody (65534), so the plugin
 * owns nothing. Then ph__sb_caps_drop() as always. Returns 0 or -errno.
 */
int ph__sb_become_nobody(void);

/*
 * Side channels (sidechannel.c): force-disable speculative store bypass
 * and indirect branch speculation for this task and its children, and put
 * it in a core-scheduling group of its own. Each returns 0 when in force,
 * or a negative errno (-EOPNOTSUPP: the kernel would not). The _possible
 * forms ask without changing the caller (a child tries core scheduling).
 */
int ph__sb_spec_ctrl(void);
int ph__sb_core_sched(void);
int ph__sb_spec_ctrl_possible(void);
int ph__sb_core_sched_possible(void);

/*
 * Landlock: read-only access beneath the loader's directories, the
 * plugin file and each grant (its rule made from the host's fd, never a
 * path), nothing else; network denied where the ABI has it. Returns
 * the ABI in force (> 0), 0 when the kernel has no Landlock, or -errno.
 */
int ph__sb_landlock(const char *plugin_path, const struct ph__sb_grant *grants, size_t n_grants);

/*
 * Load the BPF program held in prog_fd (verified sealed memfd). With
 * listen, load it with SECCOMP_FILTER_FLAG_NEW_LISTENER and return the
 * listener fd in *ret_listener. Returns 0 or -errno.
 */
int ph__sb_seccomp_load(int prog_fd, int listen, int *ret_listener);
