/* SPDX-License-Identifier: MIT */
/*
 * libplughost: run untrusted native plugins in sandboxed child processes.
 *
 *	struct ph_host *host;
 *	struct ph_plugin *plugin;
 *	struct ph_blob *in;
 *	struct ph_result res;
 *
 *	ph_host_new(NULL, &host);
 *	ph_plugin_spawn(host, "upper.so", NULL, &plugin, &res);
 *	ph_blob_new_from_bytes("hello", 5, &in);
 *	ph_plugin_call(plugin, "upper", &in, 1, write_to_stdout, NULL, &res);
 *	if (res.kind != PH_RESULT_OK) { char line[512]; ph_result_describe(&res, line, sizeof line);
 *} ph_blob_free(in); ph_plugin_free(plugin); ph_host_free(host);
 *
 * Conventions: functions return >= 0 on success and a negative errno on
 * failure; ret_* output parameters are written only on success. Functions
 * ending in _free accept NULL. The library never prints; it reports
 * through return values, results and an optional log callback.
 *
 * Thread safety (docs/threads.md): a ph_host may be shared by any number
 * of threads once ph_host_new() has returned; free it only after every
 * instance is freed. A ph_plugin is used by one thread at a time;
 * different instances may be used from different threads at once. A
 * sealed ph_blob may be passed to calls on many threads at once; an
 * unsealed one belongs to the thread filling it; a stream blob is taken
 * by one call, from whichever thread. A ph_pool is used by one
 * thread at a time (or under the caller's own lock); a ph_policy is
 * read-only once built, and spawning copies it. No call fails because of
 * another thread: under load the only errors beyond a call's own are
 * -EMFILE, -ENOMEM and -EAGAIN. The library starts no threads.
 *
 * Callbacks: an output or log callback runs on the calling thread and may
 * call other instances. On its own instance, or on one whose call is
 * further up the same thread's stack, call, submit, set_limits and
 * restart return -EBUSY, and ph_plugin_free() and ph_pool_put() do nothing
 * but log a PH_ERROR line. Children of the application's own fork() never
 * hold writable blob mappings (MADV_DONTFORK), and spawning never copies
 * host memory into a child (CLONE_VM|CLONE_VFORK, exec first).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <plughost/level.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(PH_BUILDING_LIBRARY)
#define PH_EXPORT __attribute__((visibility("default")))
#else
#define PH_EXPORT
#endif

struct ph_host;
struct ph_plugin;
struct ph_blob;
struct ph_policy;

/* ------------------------------------------------------------------ results */

/* How a call, or an instance, ended. Exactly one per call. */
enum ph_result_kind {
	PH_RESULT_OK = 0,
	PH_RESULT_PLUGIN_ERROR, /* handler returned an error: code + message */
	PH_RESULT_TIMEOUT,	/* wall-clock deadline passed; plugin killed */
	PH_RESULT_CPU_LIMIT,	/* CPU time limit reached */
	PH_RESULT_MEMORY_LIMIT, /* memory limit reached */
	PH_RESULT_OUTPUT_QUOTA, /* output byte limit reached; plugin killed */
	PH_RESULT_VIOLATION,	/* refused syscall: see .violation */
	PH_RESULT_CRASHED,	/* killed by a signal: see .crash */
	PH_RESULT_EXITED,	/* exited by itself: .code is the status */
	PH_RESULT_PROTOCOL,	/* broke the wire or ring rules: .message */
	PH_RESULT_SETUP_FAILED, /* could not start: .setup_step, .code errno */
	PH_RESULT_FD_LIMIT,	/* reached its open-fd limit; plugin killed */
	PH_RESULT_THREAD_LIMIT, /* reached its thread limit; plugin killed */
	/* The host's output callback failed (.code: its errno), so the output
	 * had nowhere to go; plugin killed. The host's fault, not the plugin's. */
	PH_RESULT_OUTPUT_FAILED,
	/* ph_plugin_interrupt() ended the call; plugin killed. */
	PH_RESULT_INTERRUPTED,
	PH_RESULT_KIND_COUNT
};

/* Where starting an instance failed (PH_RESULT_SETUP_FAILED). */
enum ph_setup_step {
	PH_STEP_PROTOCOL = 1, /* the handshake messages themselves */
	PH_STEP_RING,	      /* creating, verifying or mapping the output ring */
	PH_STEP_USERNS,	      /* the user namespace or its id maps */
	PH_STEP_MOUNTS,	      /* the plugin's filesystem view */
	PH_STEP_CAPS,	      /* dropping capabilities */
	PH_STEP_NNP,	      /* no_new_privs */
	PH_STEP_LANDLOCK,
	PH_STEP_RLIMITS,
	PH_STEP_SECCOMP,    /* compiling or loading the seccomp filter */
	PH_STEP_LOAD,	    /* loading the plugin file (its code runs here) */
	PH_STEP_DESCRIPTOR, /* finding or checking the plugin's descriptor */
	PH_STEP_SPAWN,	    /* the host: configuration, clone, exec */
	PH_STEP_HANDSHAKE,  /* the host: the runner never answered in time */
	PH_STEP_MAX = PH_STEP_HANDSHAKE,
};

struct ph_result {
	enum ph_result_kind kind;
	/*
	 * PLUGIN_ERROR: the handler's code. EXITED: exit status.
	 * SETUP_FAILED: positive errno (0 if none applies).
	 */
	int code;
	/* SETUP_FAILED: which step, an enum ph_setup_step (see
	 * ph_setup_step_name()). */
	int setup_step;
	/* Human text: the plugin's error message, the protocol rule broken,
	 * or the setup failure's detail. Always NUL-terminated. */
	char message[256];
	struct {
		int nr;	       /* syscall number, -1 if unknown */
		uint32_t arch; /* AUDIT_ARCH_* value, 0 if unknown */
		uint64_t args[6];
		char name[32]; /* "openat", or "" if unknown */
	} violation;
	struct {
		int signo;
		/* For a fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP) raised
		 * by the kernel: its si_code (SEGV_MAPERR, ...) and the faulting
		 * address, as the kernel reported them to the plugin's tracer.
		 * 0 when it did not die of a fault or the cause is unknown. */
		int si_code;
		uint64_t addr;
	} crash;
	struct {
		uint64_t user_usec;
		uint64_t sys_usec;
		uint64_t max_rss_kib;
	} usage;	       /* of the instance so far */
	uint64_t output_bytes; /* payload bytes this call produced */
	uint64_t reserved[4];
};

/*
 * Write res as one JSON object (no newline) into buf, like snprintf:
 * {"kind":"violation","code":0,"message":"...","violation":{...},...}.
 * Returns the length wanted, or -EINVAL.
 */
PH_EXPORT int ph_result_to_json(const struct ph_result *res, char *buf, size_t len);

/* "ok", "plugin-error", "timeout", ... (stable, for JSON and scripts). */
PH_EXPORT const char *ph_result_kind_name(enum ph_result_kind kind);

/* "ring", "load", "descriptor", ... for PH_RESULT_SETUP_FAILED. */
PH_EXPORT const char *ph_setup_step_name(int step);

/*
 * Write a one-line description of res into buf (always NUL-terminated when
 * len > 0), e.g. "plugin crashed: SIGSEGV". Returns the length it wanted,
 * like snprintf, or -EINVAL.
 */
PH_EXPORT int ph_result_describe(const struct ph_result *res, char *buf, size_t len);

/*
 * The version of libplughost in use, e.g. "0.3.0" (the library's, which
 * may differ from the header the application was built with).
 */
PH_EXPORT const char *ph_version(void);

/* --------------------------------------------------------------------- host */

/* Older names of the log levels of <plughost/level.h>, kept so that
 * applications written against them still compile. */
#define PH_SEV_ERROR PH_ERROR
#define PH_SEV_WARN  PH_WARN
#define PH_SEV_INFO  PH_INFO
#define PH_SEV_DEBUG PH_DEBUG

/* Called with one line (no trailing newline); instance is NULL for the host.
 * A plugin's ph_log() arrives with the level the plugin gave it. */
typedef void (*ph_log_fn)(void *userdata, const struct ph_plugin *instance, enum ph_level level,
			  const char *line);

struct ph_host_config {
	/* Path of plughost-runner; NULL finds it (see ph_host_new()). */
	const char *runner_path;
	ph_log_fn log_fn;
	void *log_userdata;
	uint64_t reserved[8]; /* must be zero (ph_host_config_init()) */
};

PH_EXPORT void ph_host_config_init(struct ph_host_config *cfg);

/*
 * Create a host. cfg may be NULL for defaults. The runner is found at
 * cfg->runner_path, else $PLUGHOST_RUNNER (ignored in setuid programs),
 * else beside libplughost.so, else in the installed libexecdir.
 * Errors: -EINVAL (NULL ret_host, or a nonzero reserved field, which
 * cfg->log_fn is told about), -ENOMEM, -ENOENT (no runner found:
 * cfg->log_fn is told, in one PH_ERROR line, every path tried and whether
 * PLUGHOST_RUNNER was set).
 */
PH_EXPORT int ph_host_new(const struct ph_host_config *cfg, struct ph_host **ret_host);

/*
 * The path of the runner the host found (owned by the host, valid until
 * ph_host_free()), or NULL for a NULL host.
 */
PH_EXPORT const char *ph_host_runner_path(const struct ph_host *host);

/*
 * Stop the host's zygotes (ph_plugin_config.zygote), to give back their
 * memory and fds; the next such spawn starts a new one. Instances forked
 * from them die with them, so call it when none is in use. NULL is a
 * no-op.
 */
PH_EXPORT void ph_host_drop_zygotes(struct ph_host *host);

/* Free a host. Every plugin spawned from it must be freed first. */
PH_EXPORT void ph_host_free(struct ph_host *host);

/* ------------------------------------------------------------------- policy */

enum ph_policy_preset {
	PH_POLICY_STRICT = 0, /* default: single-threaded, no files, no network */
	PH_POLICY_THREADS,    /* STRICT plus thread creation */
};

/* Argument comparison for ph_policy_allow(). */
enum ph_arg_op {
	PH_ARG_EQ = 1,
	PH_ARG_NE,
	PH_ARG_LT,
	PH_ARG_LE,
	PH_ARG_GT,
	PH_ARG_GE,
	PH_ARG_MASKED_EQ
};

struct ph_arg_cond {
	unsigned int arg; /* 0..5 */
	enum ph_arg_op op;
	uint64_t value;
	uint64_t mask; /* PH_ARG_MASKED_EQ: (arg & mask) == value */
};

/* Create a policy from a preset. Errors: -EINVAL, -ENOMEM. */
PH_EXPORT int ph_policy_new(enum ph_policy_preset preset, struct ph_policy **ret_policy);

/*
 * Allow syscall `name` when all n conditions hold (n may be 0). Syscalls
 * the sandbox always refuses (ptrace, bpf, io_uring_*, ...) cannot be
 * allowed. Errors: -EINVAL (bad arguments), -ENOENT (unknown syscall name),
 * -EPERM (a syscall that is never allowed), -ENOMEM.
 */
PH_EXPORT int ph_policy_allow(struct ph_policy *policy, const char *name,
			      const struct ph_arg_cond *conds, unsigned int n);

PH_EXPORT void ph_policy_free(struct ph_policy *policy);

/*
 * Change a policy's preset, keeping its rules (the CLI's --threads on top
 * of a policy file that names the strict preset). Errors: -EINVAL.
 */
PH_EXPORT int ph_policy_set_preset(struct ph_policy *policy, enum ph_policy_preset preset);

/*
 * The version of the base this library compiles every policy on top of:
 * the syscalls the runner and the SDK make themselves, plus a plain C
 * plugin's. A policy file names the version it extends ("base strict@1");
 * every version this library knows stays available (docs/policy.md).
 */
PH_EXPORT unsigned int ph_policy_base_version(void);

/* What a policy holds, for a summary line (ph_policy_info()). */
struct ph_policy_info {
	enum ph_policy_preset preset;
	unsigned int base_version; /* the base its rules extend */
	size_t n_rules;		   /* rules beyond the base, includes' counted */
	size_t n_files;		   /* files read: 1 + includes (0: built by the API) */
	uint64_t reserved[4];
};

/* Fill *ret for policy. Errors: -EINVAL (NULL). */
PH_EXPORT int ph_policy_info(const struct ph_policy *policy, struct ph_policy_info *ret);

/*
 * Policy files (docs/policy.md, plughost-policy(5)): a text format of
 *
 *	plughost-policy 1
 *	base strict@1
 *	include "common.policy"
 *	allow getrusage arg0 == RUSAGE_SELF
 *	allow fcntl arg1 == F_GETPIPE_SZ
 *
 * A parse error is described in a struct ph_policy_error: which file (the
 * one given, or an include), the line and column (1-based) and what was
 * wrong in one line, e.g. "'ptrace' is never allowed: ...". File access is
 * not a policy matter (seccomp cannot see a path): use allow_read.
 */
struct ph_policy_error {
	char file[256];		   /* NUL-terminated, as named (cut short if long) */
	unsigned int line, column; /* 1-based; 0 when the error has no place */
	char message[256];	   /* NUL-terminated, no newline */
	uint64_t reserved[2];
};

/*
 * Parse a policy from len bytes of text (not NUL-terminated; a NUL byte
 * in it is an error), named name in errors (NULL: "<policy>"). Nothing is
 * read from the filesystem, so an include line is an error here: use
 * ph_policy_load(). Returns 0 and a new policy in *ret_policy (the
 * caller's, to ph_policy_free()); or -EINVAL (a NULL argument), -EBADMSG
 * (the text is not a valid policy: *ret_error, when not NULL, says where
 * and why), -EPERM (a rule allows a syscall that is never allowed, with
 * *ret_error set), -E2BIG (more rules than a program can hold, or a line
 * or text too long, with *ret_error set), -ENOMEM.
 */
PH_EXPORT int ph_policy_parse(const char *text, size_t len, const char *name,
			      struct ph_policy **ret_policy, struct ph_policy_error *ret_error);

/*
 * Load a policy file and the files it includes (relative to the including
 * file's directory; at most 8 deep and 64 files; a cycle is an error).
 * Each must be a regular file of at most 1 MiB. Returns 0 and a new policy
 * in *ret_policy; or what ph_policy_parse() returns, and -ENOENT, -EACCES,
 * -EISDIR, -EFBIG, -ELOOP (an include cycle, or too deep), -EINVAL (not a regular
 * file), -ENAMETOOLONG and read errors for a file that cannot be read,
 * each with *ret_error set (line 0 for the top file itself).
 */
PH_EXPORT int ph_policy_load(const char *path, struct ph_policy **ret_policy,
			     struct ph_policy_error *ret_error);

/* ----------------------------------------------------------------- learning */

/*
 * Learning mode: set ph_plugin_config.learn to a learner, and the seccomp
 * listener lets every syscall beyond the policy go on (CONTINUE) and
 * records it, instead of killing; ph_learner_write() then writes the
 * smallest policy file under which the same run passes. The calls that no
 * policy may allow (ptrace, unshare, mount, bpf, ...) and those learning
 * never grants (sockets, ioctl, prctl beyond the base's, futex's PI
 * operations, fcntl's signal and lease commands) still kill the plugin
 * and are reported as violations, so that a learning run is no way out of
 * the sandbox. Learning needs seccomp user notification
 * (PH_LAYER_NOTIFY): without it the spawn is a setup failure.
 *
 * Arguments are recorded by what they are (a table per syscall): a flag
 * or command as its value, which the written rule compares; a pointer
 * only as "a pointer", never read; fds, sizes and counts as such, never
 * compared. A learner may be shared by several instances (a pool) and
 * threads; it must outlive every instance spawned with it, which holds it
 * (the one pointer in a config that is borrowed past the spawn).
 */
struct ph_learner;

/* Create an empty learner. Errors: -EINVAL (NULL ret), -ENOMEM. */
PH_EXPORT int ph_learner_new(struct ph_learner **ret_learner);
PH_EXPORT void ph_learner_free(struct ph_learner *learner);

/* What one argument was, as learning recorded it. */
enum ph_learn_arg {
	PH_LEARN_ARG_UNUSED = 0, /* the syscall has no such argument */
	PH_LEARN_ARG_VALUE,	 /* a flag or command: value[] holds it */
	PH_LEARN_ARG_POINTER,	 /* an address: recorded as that, never read */
	PH_LEARN_ARG_FD,	 /* a file descriptor */
	PH_LEARN_ARG_NUMBER,	 /* a size, count, id or time */
	PH_LEARN_ARG_UNKNOWN,	 /* a syscall plughost has no table row for */
};

/* When a call was seen (struct ph_learned.stages). */
#define PH_LEARN_LOADING 0x1u /* while the plugin loaded (its constructors) */
#define PH_LEARN_RUNNING 0x2u /* after it loaded */

/* One syscall with one shape of its arguments, as seen. */
struct ph_learned {
	int nr;		    /* native syscall number */
	char name[32];	    /* its name */
	uint32_t stages;    /* PH_LEARN_* */
	uint64_t count;	    /* calls of this shape */
	uint8_t kind[6];    /* enum ph_learn_arg, per argument */
	uint16_t any_shape; /* nonzero: too many shapes to keep; any arguments */
	uint64_t value[6];  /* PH_LEARN_ARG_VALUE arguments; 0 for the others */
	uint64_t reserved[2];
};

/* How many shapes were learned. 0 for NULL. */
PH_EXPORT size_t ph_learner_count(const struct ph_learner *learner);

/*
 * The i-th shape learned (by syscall number, then first seen). Returns 0;
 * -EINVAL (NULL), -ENOENT (i out of range).
 */
PH_EXPORT int ph_learner_get(const struct ph_learner *learner, size_t i, struct ph_learned *ret);

/* Nonzero when the run created threads (the written base is threads). */
PH_EXPORT int ph_learner_threads(const struct ph_learner *learner);

/*
 * Write what was learned as a policy file into buf (NUL-terminated when
 * len > 0): the header, the base (the threads preset when threads were
 * created or the run had it), one allow line per shape, each with a
 * comment saying when it was seen, and comment, when not NULL, as comment
 * lines at the top (control characters dropped). ph_policy_parse() accepts
 * the result. Returns the length wanted, like snprintf (call with len 0 to
 * size buf), or -EINVAL (NULL learner, or buf NULL with len > 0).
 */
PH_EXPORT int ph_learner_write(const struct ph_learner *learner, const char *comment, char *buf,
			       size_t len);

/* ------------------------------------------------------------------ plugins */

/*
 * Sandbox layers: ph_plugin_layers() says which are active in an instance,
 * ph_layer_name() names each bit, and a caller may require any of them
 * (ph_plugin_config.require) to get a setup failure instead of a weaker
 * sandbox.
 */
#define PH_LAYER_USERNS	      0x0001u /* user namespace */
#define PH_LAYER_PIDNS	      0x0002u /* pid namespace, under a trusted init */
#define PH_LAYER_NETNS	      0x0004u /* network namespace: no interfaces */
#define PH_LAYER_IPCNS	      0x0008u
#define PH_LAYER_MNTNS	      0x0010u /* mount namespace: a minimal read-only view */
#define PH_LAYER_UTSNS	      0x0020u
#define PH_LAYER_CGROUPNS     0x0040u
#define PH_LAYER_CAPS	      0x0080u /* every capability dropped */
#define PH_LAYER_NNP	      0x0100u /* no_new_privs */
#define PH_LAYER_LANDLOCK     0x0200u /* Landlock filesystem rules */
#define PH_LAYER_RLIMITS      0x0400u
#define PH_LAYER_SECCOMP      0x0800u
#define PH_LAYER_NOTIFY	      0x1000u /* seccomp user notification: named violations */
#define PH_LAYER_LANDLOCK_NET 0x2000u /* Landlock network rules */
#define PH_LAYER_SPEC_CTRL                                                                         \
	0x4000u /* speculative store bypass and indirect branch                                    \
		   speculation disabled (or the CPU is immune) */
#define PH_LAYER_CORE_SCHED                                                                        \
	0x8000u /* a core-scheduling group of its own: no other                                    \
		   task on its core's sibling thread */
#define PH_LAYER_COUNT 16

/* The same bits, by the names older callers use. */
#define PH_REQUIRE_USERNS   PH_LAYER_USERNS
#define PH_REQUIRE_PIDNS    PH_LAYER_PIDNS
#define PH_REQUIRE_NETNS    PH_LAYER_NETNS
#define PH_REQUIRE_MNTNS    PH_LAYER_MNTNS
#define PH_REQUIRE_LANDLOCK PH_LAYER_LANDLOCK
#define PH_REQUIRE_SECCOMP  PH_LAYER_SECCOMP
#define PH_REQUIRE_NOTIFY   PH_LAYER_NOTIFY

/*
 * Resource limits. Zero means the default (in brackets) or none. Per-call
 * limits apply to every call and can be changed between calls with
 * ph_plugin_set_limits(); instance limits are fixed at spawn. Reaching any
 * of them kills the plugin and ends the call with that limit's result kind.
 */
struct ph_limits {
	uint64_t timeout_ms;   /* per call: wall clock [none] */
	uint64_t cpu_ms;       /* per call: CPU time, user + system [none] */
	uint64_t output_bytes; /* per call: output [none] */
	uint64_t memory_bytes; /* instance: resident memory [none] */
	uint32_t max_fds;      /* instance: open fds [64], at least PH_MAX_FDS_MIN */
	uint32_t max_threads;  /* instance: threads incl. the main one [16];
				  creating any needs PH_POLICY_THREADS */
	/* per call, ph_plugin_call_collect() only: bytes it may buffer in
	 * host memory [half the memory available when the call starts];
	 * reaching it ends the call as PH_RESULT_OUTPUT_QUOTA */
	uint64_t collect_bytes;
	uint64_t reserved[3]; /* must be zero */
};

/*
 * The fewest open fds (ph_limits.max_fds) an instance can start with: the
 * runner holds its control socket, ring, wake pipe, plugin file, seccomp
 * program and supervisor channel when it opens Landlock's ruleset and a
 * path under the limit (one more where the kernel has no seccomp user
 * notification). ph_plugin_spawn() refuses less as PH_RESULT_SETUP_FAILED.
 */
#define PH_MAX_FDS_MIN 11u

struct ph_plugin_config {
	/* Output ring data bytes: a power of two, 4 KiB..1 GiB; 0 = 1 MiB. */
	size_t ring_size;
	/* Seccomp policy; NULL = PH_POLICY_STRICT. Copied at spawn (and by
	 * ph_pool_new()): the caller may free or change it after the call. */
	const struct ph_policy *policy;
	/* PH_REQUIRE_* layers: spawning fails instead of running without one. */
	uint32_t require;
	/* Limits on each call and on the instance (see struct ph_limits). */
	struct ph_limits limits;
	/* Nonzero: run without any sandbox (tests and debugging only). */
	int unsandboxed;
	/*
	 * Nonzero: refused syscalls kill the plugin outright instead of being
	 * reported through seccomp user notification, as on kernels without
	 * it; the violation then names no syscall. For testing that path.
	 */
	int seccomp_kill_mode;
	/* How ph_plugin_call() waits for the plugin (enum ph_wait). */
	uint32_t wait;
	/*
	 * Nonzero: fork the instance from a zygote instead of starting the
	 * runner afresh. The host keeps one zygote per plugin file and
	 * sandbox shape (policy, required layers, kill mode, and the limits
	 * fixed at spawn: memory_bytes, max_fds, max_threads), made by the
	 * first such spawn and freed with the host. The zygote is sandboxed
	 * and forks before the plugin is loaded, so only trusted code is in
	 * it; each instance still loads the plugin itself and gets its own
	 * ring, control channel, seccomp listener, limits and pidfd. What
	 * siblings of one zygote share is in docs/security.md. Ignored with
	 * unsandboxed, and where the sandbox has no pid namespace.
	 */
	uint32_t zygote;
	/*
	 * Read-only file grants (plughost run --allow-read PATH): each of
	 * the n_allow_read paths (at most PH_ALLOW_READ_MAX) names a file or
	 * directory that becomes visible inside the sandbox at its real path
	 * (symlinks resolved), read-only, enforced by the mount namespace and
	 * by Landlock; after loading, the plugin may open files beneath its
	 * grants for reading, and nothing else (docs/security.md, "File
	 * grants"). Copied at spawn (and by ph_pool_new()): the caller may
	 * free them after the call. NULL with 0: no grants. Ignored with
	 * unsandboxed, where everything is readable anyway.
	 */
	const char *const *allow_read;
	size_t n_allow_read;
	/*
	 * Learning mode (see struct ph_learner): record the syscalls beyond
	 * the policy and let them go on, instead of killing. Borrowed: the
	 * learner must outlive the instance. The policy, if any, must be a
	 * preset without rules. NULL: off.
	 */
	struct ph_learner *learn;
	uint64_t reserved[4]; /* must be zero (ph_plugin_config_init()) */
};
/* The most paths one ph_plugin_config.allow_read may list. */
#define PH_ALLOW_READ_MAX 32

/* How a blocking call waits for its plugin (ph_plugin_config.wait). */
enum ph_wait {
	/* Spin for a few microseconds (PH_WAIT_SPIN_NS), then sleep in the
	 * kernel until the plugin, a limit or the kernel wakes the host. */
	PH_WAIT_DEFAULT = 0,
	/* Spin until the call ends, looking at the kernel's side (seccomp,
	 * the pidfd, limits) about every 50 microseconds: the lowest latency,
	 * for latency-bound callers that can spare a core while they wait. */
	PH_WAIT_SPIN = 1,
};
#define PH_WAIT_SPIN_NS 4000

PH_EXPORT void ph_plugin_config_init(struct ph_plugin_config *cfg);

/*
 * Start a plugin instance from the shared object at path. The runner is
 * exec'd fresh, sandboxes itself, loads the plugin and reports back.
 *
 * Returns 0 and a ready instance in *ret_plugin. On any failure, when
 * ret_failure is not NULL, *ret_failure says why: PH_RESULT_SETUP_FAILED
 * naming the step and what was wrong (a bad argument or config field
 * included), or how the plugin ended while loading (PH_RESULT_VIOLATION,
 * PH_RESULT_CRASHED, ...). Errors: -EPROTO (the plugin could not be
 * started), -EINVAL (a NULL argument, a ring_size out of range, a nonzero
 * reserved field, a bad allow_read list or path), -ENOMEM, -ENOENT (no
 * such plugin file, allow_read path or needed library), -ENOEXEC (not an
 * ELF shared object, or a library or search path plughost refuses),
 * -EXDEV (a needed library is a symlink out of the plugin's directory),
 * -EOPNOTSUPP (libraries beside the plugin, without a mount namespace),
 * -EPERM (a required layer is missing), and clone/exec errors.
 */
PH_EXPORT int ph_plugin_spawn(struct ph_host *host, const char *path,
			      const struct ph_plugin_config *cfg, struct ph_plugin **ret_plugin,
			      struct ph_result *ret_failure);

/* Kill the child (if alive), reap it, and free everything. Accepts NULL. */
PH_EXPORT void ph_plugin_free(struct ph_plugin *plugin);

/* The older name of ph_plugin_free(), kept so that old callers compile. */
#define ph_plugin_destroy ph_plugin_free

/*
 * Start a fresh instance of the same plugin, with the same configuration
 * (the policy as it was at spawn, from the instance's own copy), in place
 * of this one (which is killed first if still alive). Returns 0,
 * or what ph_plugin_spawn() returns, with the reason in *ret_failure; on
 * failure the instance stays dead and may be restarted again.
 */
PH_EXPORT int ph_plugin_restart(struct ph_plugin *plugin, struct ph_result *ret_failure);

/*
 * Change the per-call limits (timeout_ms, cpu_ms, output_bytes,
 * collect_bytes) for the next calls; the instance limits in *limits are ignored. -EBUSY during a
 * call, -EINVAL on NULL or a nonzero reserved field.
 */
PH_EXPORT int ph_plugin_set_limits(struct ph_plugin *plugin, const struct ph_limits *limits);

/* The plugin's self-declared name and version (sanitised, printable). */
PH_EXPORT const char *ph_plugin_name(const struct ph_plugin *plugin);
PH_EXPORT const char *ph_plugin_version(const struct ph_plugin *plugin);
/* Number of methods and the i-th method name; NULL when out of range. */
PH_EXPORT size_t ph_plugin_method_count(const struct ph_plugin *plugin);
PH_EXPORT const char *ph_plugin_method_name(const struct ph_plugin *plugin, size_t i);
/* PH_LAYER bits (see ph_layer_name()) active in this instance's sandbox. */
PH_EXPORT uint32_t ph_plugin_layers(const struct ph_plugin *plugin);

/*
 * What the instance's latest start made visible to it read-only: its
 * ph_plugin_config.allow_read grants, and the libraries the plugin needs
 * from its own directory (found through its ELF DT_NEEDED entries),
 * copied next to it. ph_plugin_grant_count() is how many (0 for NULL);
 * ph_plugin_grant_path() the i-th one's real path on the host, owned by
 * the instance and valid until it is restarted or freed, or NULL when i
 * is out of range. *ret_is_lib, when not NULL, is set to 1 for a library
 * and 0 for an allow_read grant.
 */
PH_EXPORT size_t ph_plugin_grant_count(const struct ph_plugin *plugin);
PH_EXPORT const char *ph_plugin_grant_path(const struct ph_plugin *plugin, size_t i,
					   int *ret_is_lib);
/* Name of one PH_LAYER_* bit, e.g. "userns", or NULL. */
PH_EXPORT const char *ph_layer_name(uint32_t bit);
/* The instance's process as the host sees it: the plugin itself, or with a
 * pid namespace its init (pid 1 inside), whose death ends everything. For
 * an instance forked from a zygote that is the zygote, which its siblings
 * share. */
PH_EXPORT int ph_plugin_pid(const struct ph_plugin *plugin);
/* The plugin process's own pid as the host sees it (the same as
 * ph_plugin_pid() without a pid namespace), or -1 once it is dead. */
PH_EXPORT int ph_plugin_process_pid(const struct ph_plugin *plugin);
/* Nonzero while the instance can take calls. */
PH_EXPORT int ph_plugin_alive(const struct ph_plugin *plugin);
/* Nonzero when the plugin declares that it reads stream inputs (built
 * with PH_PLUGIN_FLAGS(..., PH_PLUGIN_READS_STREAMS)): only such a plugin
 * may be given a stream blob. The plugin's own word: it decides what the
 * host offers, never what the host trusts. */
PH_EXPORT int ph_plugin_reads_streams(const struct ph_plugin *plugin);

/*
 * Inputs of 64 KiB and more stay mapped in the instance after a call (at
 * most 16 of them, and half its memory limit, or 1 GiB without one), so
 * that a blob passed to many calls is mapped and faulted in once; the
 * mapping keeps the blob's memory alive even after ph_blob_free(), and
 * counts toward the instance's memory. This drops them all before the
 * next call. Returns 0, -EINVAL for NULL, -EBUSY during a call.
 */
PH_EXPORT int ph_plugin_drop_inputs(struct ph_plugin *plugin);

/* Steps of starting an instance, timed by ph_plugin_spawn_times(). */
enum ph_spawn_step {
	PH_SPAWN_EXEC = 0,	/* clone and exec of the runner, until it runs */
	PH_SPAWN_USERNS,	/* user namespace: unshare, maps, re-exec */
	PH_SPAWN_NAMESPACES,	/* the other namespaces and the plugin's init */
	PH_SPAWN_MOUNTS,	/* the filesystem view */
	PH_SPAWN_LIMITS,	/* rlimits, capabilities, no_new_privs */
	PH_SPAWN_LANDLOCK,	/* Landlock */
	PH_SPAWN_SIDE_CHANNELS, /* speculation control, core scheduling */
	PH_SPAWN_FORK,		/* init (or the zygote) forks the plugin process */
	PH_SPAWN_SECCOMP,	/* seccomp stage 1 and its listener */
	PH_SPAWN_LOAD,		/* loading the plugin: its constructors run */
	PH_SPAWN_WATCH,		/* the host's watchdog and event setup */
	PH_SPAWN_STEPS,
};

struct ph_spawn_times {
	uint64_t total_ns;		  /* ph_plugin_spawn() (or restart) to ready */
	uint64_t step_ns[PH_SPAWN_STEPS]; /* 0: the step did not happen */
	uint32_t zygote;		  /* nonzero: forked from a zygote */
	uint32_t reserved;
};

/*
 * How long each step of the instance's latest start took, measured by the
 * host and by the runner before any plugin code ran (the steps of a
 * zygote's own start are in the spawn that made it). Returns 0, or
 * -EINVAL for NULL arguments.
 */
PH_EXPORT int ph_plugin_spawn_times(const struct ph_plugin *plugin, struct ph_spawn_times *ret);
/* The name of a step ("exec", "userns", ...), or NULL. */
PH_EXPORT const char *ph_spawn_step_name(unsigned int step);

/*
 * The backtrace of the instance's crash, as text (one line per frame,
 * each ending in a newline), or NULL when it has not crashed of a fault
 * or none could be taken. For example:
 *
 *	#0  0x00007f2c1d3e1139  crash_here+0x9 (crasher.so+0x1139)
 *	#1  0x00007f2c1d3e1154  crash_outer+0xd (crasher.so+0x1154)
 *
 * Frame #0 is the faulting instruction, the next follow the frame-pointer
 * chain while it looks sane, and "(stack scan)" marks candidates found
 * among the stack's words that point into the plugin's code. Function
 * names come from the plugin file's own symbol table (.symtab, else
 * .dynsym); addresses outside it name the file mapped there, if known, or
 * "??". Everything in it is the plugin's own state at the fault, which
 * it controls: it is for a person debugging, never for a decision. Needs
 * a pid namespace (the plugin's init captures it at the fault).
 *
 * The string belongs to the instance: it stays valid until
 * ph_plugin_restart() or ph_plugin_free(). NULL for a NULL plugin.
 */
PH_EXPORT const char *ph_plugin_backtrace(const struct ph_plugin *plugin);

/*
 * Receives output as it streams; buf is host memory valid for the call.
 * Return 0 to go on, or a negative errno to abandon the call: the plugin is
 * then killed (its output can no longer be accounted for), and the call
 * ends as PH_RESULT_OUTPUT_FAILED with .code the callback's errno
 * (positive: EPIPE for a closed pipe) and a message naming it.
 */
typedef int (*ph_output_fn)(void *userdata, const void *buf, size_t len);

/* The most input blobs one call takes: a call with more is refused with
 * -EINVAL. (Each input is one fd of the call's message.) */
#define PH_INPUTS_MAX 16u

/*
 * Run method with n sealed input blobs and wait for it to end. Output is
 * passed to out_fn as it arrives (out_fn may be NULL to discard it).
 *
 * At most one of the inputs may be a stream blob (ph_blob_new_stream()):
 * the host reads its source while the call runs and feeds it to the
 * plugin, which reads it with ph_read(). The call consumes the stream,
 * whatever the plugin reads of it.
 *
 * Returns 0 when *ret_result says how the call ended, whatever the kind; if
 * the plugin died, the instance is dead and later calls return its end
 * again. Errors: -EINVAL (bad arguments, unsealed blob, more than one
 * stream blob), -EBUSY (another call in progress), -ENOENT (no such
 * method), -EOPNOTSUPP (a stream blob, and the plugin does not declare
 * that it reads streams: see ph_plugin_reads_streams()), -EALREADY (a
 * stream blob an earlier call consumed), -ENOMEM. A stream blob that a
 * call refused with an error is left unread.
 */
PH_EXPORT int ph_plugin_call(struct ph_plugin *plugin, const char *method,
			     struct ph_blob *const *inputs, size_t n, ph_output_fn out_fn,
			     void *userdata, struct ph_result *ret_result);

/*
 * Like ph_plugin_call() but collects the whole output into a malloc'd
 * buffer (*ret_buf, freed by the caller; NUL-terminated for convenience,
 * the NUL not counted in *ret_len). The buffer is returned whatever the
 * result kind, holding what arrived.
 *
 * The buffer is bounded by limits.collect_bytes (default: half the memory
 * available when the call starts) as well as by limits.output_bytes: an
 * output that reaches it kills the plugin and ends the call as
 * PH_RESULT_OUTPUT_QUOTA, with a message naming the limit, and the buffer
 * holds exactly that many bytes.
 */
PH_EXPORT int ph_plugin_call_collect(struct ph_plugin *plugin, const char *method,
				     struct ph_blob *const *inputs, size_t n, void **ret_buf,
				     size_t *ret_len, struct ph_result *ret_result);

/*
 * Interrupt the instance: kill it, and end the call in progress, or else
 * the next call, as PH_RESULT_INTERRUPTED (the instance is dead then, as
 * after any kill; ph_plugin_restart() starts it again). The kill happens
 * as soon as the host notices: at once in a blocking ph_plugin_call() on
 * another thread, at the next ph_plugin_process() in an event loop (the
 * instance's fd becomes readable), else when the next call starts;
 * ph_plugin_restart() drops an interrupt that no call has taken yet.
 *
 * Async-signal-safe (one write() to an eventfd the instance owns), and
 * safe from any thread while the instance exists: meant for a SIGINT
 * handler. Returns 0, -EINVAL (NULL), or -errno from write().
 */
PH_EXPORT int ph_plugin_interrupt(struct ph_plugin *plugin);

/* ------------------------------------------------------------- event loops */

/*
 * One pollable fd per instance (an epoll fd over its control socket, pidfd,
 * seccomp listener and limit timer): when it is readable (POLLIN), call
 * ph_plugin_process(). Each call does a bounded round of work and may
 * leave the fd readable, so poll it level-triggered (poll(), or epoll
 * without EPOLLET). Owned by the instance; do not close or read it.
 */
PH_EXPORT int ph_plugin_fd(const struct ph_plugin *plugin);

/*
 * Start a call without waiting for it. Inputs are passed at once and may be
 * freed as soon as this returns (a stream blob's source is then read until
 * the call ends); out_fn is called from ph_plugin_process(). Errors as for
 * ph_plugin_call(); on a dead instance the call completes at the next
 * ph_plugin_process() with the instance's end (a stream blob stays unread).
 */
PH_EXPORT int ph_plugin_submit(struct ph_plugin *plugin, const char *method,
			       struct ph_blob *const *inputs, size_t n, ph_output_fn out_fn,
			       void *userdata);

/*
 * Handle whatever the instance has to say, without blocking. Returns 1 when
 * the submitted call has ended (its result in *ret_result), 0 when it is
 * still running or no call is in progress, or a negative errno.
 */
PH_EXPORT int ph_plugin_process(struct ph_plugin *plugin, struct ph_result *ret_result);

/* -------------------------------------------------------------------- pools */

struct ph_pool;

/*
 * A warm pool: n instances of one plugin spawned ahead of need, so that
 * taking one costs no spawn. The config is copied, its policy included
 * (path and policy may be freed after the call). Its instances are forked
 * from a zygote (cfg->zygote is implied), so refilling is cheap too.
 *
 * Trust domain: the instances of a pool are siblings of one zygote, and
 * share what docs/security.md lists (its address-space layout above all).
 * By default an instance taken from a pool has never run another caller's
 * calls: ph_pool_put() frees it. ph_pool_set_reuse() makes put keep it for
 * the next taker, which then shares whatever the plugin kept in memory
 * from the calls before. Returns 0, or as ph_plugin_spawn(), always with
 * the reason in *ret_failure when it is not NULL; -EINVAL also for n
 * outside 1..4096.
 */
PH_EXPORT int ph_pool_new(struct ph_host *host, const char *path,
			  const struct ph_plugin_config *cfg, size_t n, struct ph_pool **ret_pool,
			  struct ph_result *ret_failure);

/* Take a ready instance (spawning one if the pool is empty). The caller
 * owns it until ph_pool_put() or ph_plugin_free(). Errors as for
 * ph_plugin_spawn(), with the reason in *ret_failure when not NULL. */
PH_EXPORT int ph_pool_take(struct ph_pool *pool, struct ph_plugin **ret_plugin,
			   struct ph_result *ret_failure);

/* Give an instance back: freed, unless the pool reuses instances
 * (ph_pool_set_reuse()) and it is alive, idle and the pool has room. */
PH_EXPORT void ph_pool_put(struct ph_pool *pool, struct ph_plugin *plugin);

/* Nonzero: ph_pool_put() keeps instances for later takers, who then share
 * the state earlier callers' calls left in them. 0 (the default): every
 * taker gets an instance no one has called. Returns 0, or -EINVAL. */
PH_EXPORT int ph_pool_set_reuse(struct ph_pool *pool, int reuse);

/* Spawn instances until n are ready. Returns how many are ready, or the
 * spawn error (ready ones are kept). */
PH_EXPORT int ph_pool_refill(struct ph_pool *pool);

PH_EXPORT size_t ph_pool_ready(const struct ph_pool *pool);

/* Free every ready instance and the pool (taken ones are the caller's). */
PH_EXPORT void ph_pool_free(struct ph_pool *pool);

/* -------------------------------------------------------------------- blobs */

/*
 * Input blobs are memfds sealed against any change (WRITE, SHRINK, GROW,
 * SEAL) that the plugin maps read-only: zero copies on its side, and no way
 * for it to change what the host sent. A blob may be passed to many calls
 * and many plugins. A stream blob (below) is the other kind: a source fd
 * read while one call runs.
 */

/* The largest blob, in bytes (1 TiB), whatever input limit is asked for:
 * a larger one is refused with -EFBIG, and the runner refuses to map a
 * larger input. */
#define PH_BLOB_MAX_BYTES ((uint64_t)1 << 40)

/* Copy len bytes into a new sealed blob. Errors: -EINVAL, -ENOMEM, memfd errors. */
PH_EXPORT int ph_blob_new_from_bytes(const void *data, size_t len, struct ph_blob **ret_blob);

/*
 * The input limit ph_blob_new_from_fd() and ph_blob_new_from_file() apply,
 * in bytes: half of the memory the machine has available now
 * (MemAvailable), since a blob's pages are tmpfs pages that cannot be
 * swapped out on a machine without swap. Read afresh at every call.
 */
PH_EXPORT uint64_t ph_blob_default_max(void);

/*
 * Read fd to its end into a new sealed blob of at most max bytes (0: the
 * default, ph_blob_default_max()); fd stays open, the caller's. An input
 * that goes on past max (an endless pipe, /dev/zero) is refused with
 * -EFBIG once max bytes were read, a regular file larger than max before
 * any are. Errors: -EINVAL, -EISDIR, -EFBIG, -ENOMEM, read and memfd errors.
 */
PH_EXPORT int ph_blob_new_from_fd_max(int fd, uint64_t max, struct ph_blob **ret_blob);

/* ph_blob_new_from_fd_max() with the default limit. */
PH_EXPORT int ph_blob_new_from_fd(int fd, struct ph_blob **ret_blob);

/* Read a whole file (or "-" for stdin) into a new sealed blob of at most
 * max bytes (0: the default); errors as ph_blob_new_from_fd_max(), and
 * open errors. */
PH_EXPORT int ph_blob_new_from_file_max(const char *path, uint64_t max, struct ph_blob **ret_blob);

/* ph_blob_new_from_file_max() with the default limit. */
PH_EXPORT int ph_blob_new_from_file(const char *path, struct ph_blob **ret_blob);

/*
 * Create an unsealed blob of size bytes to fill in place through
 * ph_blob_data(), then ph_blob_seal() it before use.
 */
PH_EXPORT int ph_blob_new(size_t size, struct ph_blob **ret_blob);

/* Writable memory of an unsealed blob; NULL once sealed or if size is 0. */
PH_EXPORT void *ph_blob_data(struct ph_blob *blob);

/* Seal the blob: its writable mapping goes away and it can no longer
 * change. Errors: -EINVAL (NULL, or a stream blob), -EALREADY (already sealed), fcntl errors. */
PH_EXPORT int ph_blob_seal(struct ph_blob *blob);

/* A blob's size (0 for a stream), and whether it is sealed (0 for a
 * stream, which is never a memfd). */
PH_EXPORT size_t ph_blob_size(const struct ph_blob *blob);
PH_EXPORT int ph_blob_sealed(const struct ph_blob *blob);
/* Free a blob. A stream blob still being fed by a call keeps its fd until
 * that call ends. Accepts NULL. */
PH_EXPORT void ph_blob_free(struct ph_blob *blob);

/* ----------------------------------------------------------------- streams */

/*
 * A stream blob: an input whose bytes the host reads from fd while the
 * call that takes it runs, and feeds to the plugin through a shared input
 * ring of PH_STREAM_RING_BYTES (the plugin reads it with ph_read()). The
 * host reads only when the ring has room, so a slow plugin slows the
 * source down instead of growing the host's memory; it never blocks on
 * the source (ph_plugin_process() stays bounded, and ph_plugin_fd() is
 * readable when the source has bytes the ring can take). Use it for
 * inputs of unknown or unbounded size (a pipe, a socket); a whole input
 * that fits in memory is cheaper to the plugin as a sealed blob, mapped
 * with no copy.
 *
 * The blob holds its own duplicate of fd (F_DUPFD_CLOEXEC): the caller
 * keeps fd and may close it at once. Both share one open file (its offset
 * and flags); nothing else should read it while a call runs. fd may be a
 * pipe, a socket, a tty, a regular file or a device, open for reading; its
 * O_NONBLOCK flag is never changed.
 *
 * One call consumes the stream (ph_plugin_call() and ph_plugin_submit()
 * give -EALREADY for it afterwards), whatever it read of it: when the call
 * ends before the source's end (the plugin returned, died or hit a limit)
 * the host stops reading, and bytes it had read into the ring are lost.
 * At most one input of a call may be a stream, and only for a plugin that
 * declares it reads streams (ph_plugin_reads_streams()).
 *
 * A read error on fd ends the stream: the plugin's ph_read() returns that
 * errno, after every byte read before it, the host logs a PH_WARN line,
 * and ph_blob_stream_status() reports it.
 *
 * Errors: -EINVAL (fd < 0, NULL ret_blob), -EISDIR, -EBADF (fd not open
 * for reading), -EMFILE (no fd for the duplicate), -ENOMEM, fstat errors.
 */
PH_EXPORT int ph_blob_new_stream(int fd, struct ph_blob **ret_blob);

/* The input ring a stream travels through, in bytes. */
#define PH_STREAM_RING_BYTES (1u << 20)

/* What became of a stream blob, once the call that took it has ended. */
struct ph_stream_status {
	uint64_t bytes; /* read from the source and fed to the plugin */
	int32_t error;	/* 0, or the positive errno of the read that failed */
	uint32_t eof;	/* nonzero: the source ended and the plugin was told */
	uint32_t used;	/* nonzero: a call took it (it cannot be used again) */
	uint32_t reserved[3];
};

/* Fill *ret for a stream blob. Returns 0, or -EINVAL (NULL, or not a
 * stream blob). Read it after the call has ended, on the thread that ran
 * it or after synchronising with it. */
PH_EXPORT int ph_blob_stream_status(const struct ph_blob *blob, struct ph_stream_status *ret);

/* ------------------------------------------------------------------ metrics */

/*
 * Counters for operators (docs/metrics.md): what an instance, or a whole
 * host, has done since it was made. Every counter only grows.
 *
 * The caller sets .size to sizeof(struct ph_metrics) before asking; the
 * library fills that many bytes, or as many as it knows of (then .size
 * says how many), so that the struct can grow at its end without
 * breaking a caller built against an older header. Bytes the caller's
 * struct has beyond the library's are zeroed.
 */

/* Room in the per-kind arrays below: entry k counts enum ph_result_kind k.
 * More than PH_RESULT_KIND_COUNT, so that kinds added to the end of that
 * enum later get their entries without the struct changing. */
#define PH_METRICS_KINDS 24

struct ph_metrics {
	uint32_t size; /* in: sizeof(struct ph_metrics); out: bytes filled */
	uint32_t reserved0;
	uint64_t calls;		 /* calls that ended with a result handed out */
	uint64_t bytes_in;	 /* input bytes handed to calls: blobs, and stream
				    bytes the host fed */
	uint64_t bytes_out;	 /* output payload bytes calls delivered */
	uint64_t cpu_usec;	 /* CPU, user + system, of the plugin processes */
	uint64_t spawns;	 /* instances started (spawn, restart, pools) */
	uint64_t spawn_failures; /* starts that failed */
	uint64_t restarts;	 /* ph_plugin_restart() that succeeded; on the
				    host also dead pool instances replaced */
	uint64_t limits_hit;	 /* instances ended by a limit: the *_LIMIT kinds,
				    TIMEOUT and OUTPUT_QUOTA (by kind in ends[]) */
	uint64_t violations;	 /* instances ended by a refused syscall */
	uint64_t crashes;	 /* instances ended by a signal */
	/* Calls by the kind of their result (a call on a dead instance
	 * counts with the instance's end, which is what it returns). */
	uint64_t results[PH_METRICS_KINDS];
	/* Instances that died by themselves or were killed for a cause,
	 * by that cause: what an instance's end says. A host stopping an
	 * instance (free, restart) is not counted. */
	uint64_t ends[PH_METRICS_KINDS];
	uint64_t reserved[8]; /* written as zero */
};

/*
 * Fill *ret with plugin's counters: since it was spawned, over all of its
 * restarts. cpu_usec is as of the end of its latest call, or its end
 * (reading it costs no system call). The instance's thread only (as every
 * ph_plugin_* call). Returns 0, or -EINVAL (NULL arguments, or ret->size
 * smaller than 16, not a multiple of 8, or above 4096).
 */
PH_EXPORT int ph_plugin_metrics(const struct ph_plugin *plugin, struct ph_metrics *ret);

/*
 * Fill *ret with the host's totals: the sums over every instance spawned
 * from it, live or freed, pools' instances included, plus spawns that
 * failed before an instance existed. Safe from any thread at any time;
 * the figures of instances that are busy on other threads are as of their
 * latest step (each counter is exact once those threads have returned).
 * Zygotes are the host's own machinery and are not counted. Errors as
 * ph_plugin_metrics().
 */
PH_EXPORT int ph_host_metrics(struct ph_host *host, struct ph_metrics *ret);

/*
 * Write m as one JSON object (no newline) into buf, like snprintf:
 * {"calls":3,"results":{"ok":2,...},"bytes_in":...,"ends":{...}}, every
 * result kind this library knows named in both maps. Returns the length
 * wanted, or -EINVAL (NULL m, NULL buf with len, m->size below the
 * counters' end).
 */
PH_EXPORT int ph_metrics_to_json(const struct ph_metrics *m, char *buf, size_t len);

/* --------------------------------------------------------------------- info */

/*
 * What this kernel offers the sandbox, as lines of "name: value" text
 * written into buf (NUL-terminated). Returns the length wanted, like
 * snprintf, or a negative errno.
 */
PH_EXPORT int ph_probe_report(char *buf, size_t len);

/* The layouts are the ABI of this library: pinned, so that a change to
 * any of them is a decision, not an accident (x86_64). */
#ifdef __cplusplus
#define PH__HOST_ABI_ASSERT(c, m) static_assert(c, m)
#else
#define PH__HOST_ABI_ASSERT(c, m) _Static_assert(c, m)
#endif
#if defined(__x86_64__)
PH__HOST_ABI_ASSERT(sizeof(struct ph_result) == 440 && offsetof(struct ph_result, message) == 12 &&
			offsetof(struct ph_result, violation) == 272 &&
			offsetof(struct ph_result, crash) == 360 &&
			offsetof(struct ph_result, usage) == 376 &&
			offsetof(struct ph_result, output_bytes) == 400 &&
			offsetof(struct ph_result, reserved) == 408,
		    "struct ph_result is ABI");
PH__HOST_ABI_ASSERT(sizeof(struct ph_limits) == 72 &&
			offsetof(struct ph_limits, collect_bytes) == 40 &&
			offsetof(struct ph_limits, reserved) == 48,
		    "struct ph_limits is ABI");
PH__HOST_ABI_ASSERT(sizeof(struct ph_plugin_config) == 168 &&
			offsetof(struct ph_plugin_config, limits) == 24 &&
			offsetof(struct ph_plugin_config, unsandboxed) == 96 &&
			offsetof(struct ph_plugin_config, wait) == 104 &&
			offsetof(struct ph_plugin_config, zygote) == 108 &&
			offsetof(struct ph_plugin_config, allow_read) == 112 &&
			offsetof(struct ph_plugin_config, n_allow_read) == 120 &&
			offsetof(struct ph_plugin_config, learn) == 128 &&
			offsetof(struct ph_plugin_config, reserved) == 136,
		    "struct ph_plugin_config is ABI");
PH__HOST_ABI_ASSERT(sizeof(struct ph_host_config) == 88 &&
			offsetof(struct ph_host_config, reserved) == 24,
		    "struct ph_host_config is ABI");
PH__HOST_ABI_ASSERT(sizeof(struct ph_arg_cond) == 24, "struct ph_arg_cond is ABI");
PH__HOST_ABI_ASSERT(sizeof(struct ph_metrics) == 536 && offsetof(struct ph_metrics, calls) == 8 &&
			offsetof(struct ph_metrics, results) == 88 &&
			offsetof(struct ph_metrics, ends) == 280 &&
			offsetof(struct ph_metrics, reserved) == 472,
		    "struct ph_metrics is ABI");
PH__HOST_ABI_ASSERT(sizeof(struct ph_policy_info) == 56, "struct ph_policy_info is ABI");
PH__HOST_ABI_ASSERT(sizeof(struct ph_policy_error) == 536, "struct ph_policy_error is ABI");
PH__HOST_ABI_ASSERT(sizeof(struct ph_learned) == 120 && offsetof(struct ph_learned, value) == 56,
		    "struct ph_learned is ABI");
PH__HOST_ABI_ASSERT(sizeof(struct ph_stream_status) == 32 &&
			offsetof(struct ph_stream_status, error) == 8 &&
			offsetof(struct ph_stream_status, eof) == 12 &&
			offsetof(struct ph_stream_status, used) == 16 &&
			offsetof(struct ph_stream_status, reserved) == 20,
		    "struct ph_stream_status is ABI");
#endif

#ifdef __cplusplus
}
#endif
