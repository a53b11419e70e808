/* SPDX-License-Identifier: MIT */
/*
 * The control messages between the host and the runner, one of the two
 * halves of their private contract (ring-layout.h is the other). Both
 * sides include this one header, so they can never disagree; plugins never
 * see it. docs/protocol.md describes it for people; keep the two in step.
 *
 * Everything here crosses a trust boundary. The host treats every message
 * the instance sends as hostile once plugin code may have run; the runner
 * treats the host as trusted but still checks what it receives.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <plughost/host.h>

#include "ring-layout.h"

/* ---- control messages (AF_UNIX SOCK_SEQPACKET) ---- */

/* The fds the runner is started with, and nothing else: the control
 * socket and, with a pid namespace, init's supervisor channel. */
#define PH_FD_CONTROL	 3
#define PH_FD_SUPERVISOR 4
/* With a user namespace to make: the runner's own executable (O_PATH),
 * for its one re-exec inside that namespace, and the argument that asks
 * for it. The re-exec'd runner closes it. */
#define PH_FD_RUNNER_EXE	5
#define PH_RUNNER_ARG_USERNS	"--userns"
#define PH_RUNNER_ARG_IN_USERNS "--in-userns"
/* A root host: make the user namespace, and go on without the re-exec
 * (which only an unprivileged host needs, to read the plugin's /proc). */
#define PH_RUNNER_ARG_USERNS_STAY "--userns-stay"

#define PH_WIRE_MAGIC  0x31474850u /* "PHG1" in little-endian byte order */
#define PH_WIRE_ABI    4u
#define PH_MSG_MAX     65536u /* largest message, header included */
#define PH_MSG_MAX_FDS 16u    /* most fds one message may carry */
#define PH_NAME_MAX    128u   /* method, plugin name and version strings */
#define PH_TEXT_MAX    1024u  /* error and log text */
#define PH_METHODS_MAX 64u    /* methods one plugin may export */
/* A CALL carries one fd per input; PH_INPUTS_MAX is host.h's. */
_Static_assert(PH_INPUTS_MAX <= PH_MSG_MAX_FDS, "a CALL cannot carry PH_INPUTS_MAX fds");
_Static_assert(PH_STREAM_RING_BYTES == PH_INRING_CAPACITY,
	       "host.h names the input ring's size the ring layout gives it");
_Static_assert(PH_NAME_MAX == PH_SLOT_METHOD_MAX && PH_INPUTS_MAX == PH_SLOT_INPUTS_MAX &&
		   PH_TEXT_MAX == PH_SLOT_TEXT_MAX,
	       "the call slot and the wire agree on their limits");

enum ph_msg_type {
	/* host -> runner, once: ring fd, plugin file fd [+ seccomp program fd]. */
	PH_MSG_SETUP = 1,
	/* runner -> host, once, before plugin code runs: [seccomp listener fd]. */
	PH_MSG_SANDBOXED = 2,
	/* runner -> host, once: the plugin loaded and its descriptor is sound. */
	PH_MSG_LOADED = 3,
	/* runner -> host, once, instead of SANDBOXED or LOADED: setup failed. */
	PH_MSG_SETUP_FAILED = 4,
	/* host -> runner: the fds of the request in the call slot (its inputs
	 * that travel as sealed memfds), sent before the request is posted.
	 * Calls with no such input send no message at all. */
	PH_MSG_CALL = 5,
	/* 6 (DONE) and 8 (DOORBELL) are retired since wire ABI 2: a call's
	 * completion is in the call slot, and wakeups go through the wake
	 * pipe. 9 is retired (it was SHUTDOWN, which nothing ever sent).
	 * Never reuse them, so that an old peer cannot take a new message
	 * for one. */
	/* plugin -> host: one log line. */
	PH_MSG_LOG = 7,
	/* init -> host, on the supervisor channel only: how the plugin ended. */
	PH_MSG_EXIT = 10,
	/* init -> host, on the supervisor channel only, once, right after it
	 * forked the plugin: one fd, a pidfd of the plugin process. The host
	 * learns the pid it watches from the kernel (the pidfd's fdinfo) and
	 * checks that the process is init's child; nothing the plugin says
	 * names it. */
	PH_MSG_CHILD = 11,
	/* runner -> host, at most once, before SANDBOXED: the runner has
	 * unshared its user namespace; write its uid/gid maps. */
	PH_MSG_USERNS = 12,
	/* host -> runner, the answer to USERNS: the maps are written. */
	PH_MSG_USERNS_MAPPED = 13,
	/* runner -> host, at most once, before SANDBOXED: one fd, a pidfd of
	 * the init the runner made in the new pid namespace with
	 * CLONE_PARENT, so that it is the host's own child. The runner then
	 * exits, and the host waits on init from here on. */
	PH_MSG_INIT = 14,
	/* runner -> host, once, instead of SANDBOXED when SETUP asked for a
	 * zygote (PH_SETUP_ZYGOTE): the zygote has every layer but seccomp
	 * in force, loaded no plugin code, and waits for FORK. */
	PH_MSG_ZYGOTE_READY = 15,
	/* host -> zygote: fork one instance. Six fds: the instance's control
	 * socket and supervisor socket (the zygote's ends), its ring, the
	 * write end of its wake pipe, and the write ends of the pipes that
	 * become its stdout and stderr (fds 1 and 2). The instance then talks on its own
	 * control socket from SANDBOXED on, as a cold one does, and the
	 * zygote reports CHILD and EXIT on its supervisor socket. */
	PH_MSG_FORK = 16,
	/* host -> runner, right after SETUP, once per file grant (SETUP's
	 * n_grants of them): the granted file or directory as the host
	 * opened it (and, for a file that is not a library, the directory
	 * it is in), and the path it gets inside the sandbox. The runner
	 * mounts it from the fds and never resolves a host path. */
	PH_MSG_GRANT = 17,
	/* init (or the zygote) -> host, on the supervisor channel only, at
	 * most once, right before EXIT, when the plugin died of a fault: the
	 * faulting thread's registers and the top of its stack, read at the
	 * fault by init, which traces the plugin. Init is trusted, but the
	 * bytes are the plugin's (its registers and memory): they label its
	 * own backtrace and decide nothing. */
	PH_MSG_CRASH = 18,
	/* host -> init (or the zygote), on the supervisor channel only, at
	 * most once, when the host has found the plugin process: one fd,
	 * the plugin's /proc/PID/mem, opened read-only by the host. The
	 * plugin is not dumpable, so init (which holds no capability) may
	 * not read its memory, where the host may; the kernel checks that at
	 * open. Init reads a fault's stack through it, and nothing else. */
	PH_MSG_MEM = 19,
	PH_MSG_TYPE_MAX = 19,
};

/* Every message starts with this header; len counts the payload after it. */
struct ph_msg_hdr {
	uint32_t magic;
	uint16_t abi;
	uint16_t type;
	uint32_t len;
	uint32_t nfds; /* how many fds the sender attached (SCM_RIGHTS) */
	uint64_t call_id;
};
_Static_assert(sizeof(struct ph_msg_hdr) == 24, "wire header is 24 bytes");

/* PH_MSG_SETUP payload, followed by path_len bytes of plugin path (no NUL).
 * Its fds: the ring, the plugin file, the write end of the wake pipe, and
 * with PH_SETUP_SECCOMP the seccomp program. */
struct ph_msg_setup {
	uint64_t ring_capacity; /* data bytes, a power of two */
	uint32_t flags;		/* PH_SETUP_* */
	uint32_t path_len;
	/* Sandbox parameters the runner applies (see sandbox/sandbox.h). */
	uint32_t ns_flags;  /* namespaces the runner creates (CLONE_NEW*) */
	uint32_t require;   /* PH_LAYER_* the caller requires */
	uint64_t rlimit_as; /* bytes, 0 = leave */
	uint32_t rlimit_nofile;
	uint32_t rlimit_nproc;
	uint32_t n_grants; /* PH_MSG_GRANT messages that follow, <= PH_GRANTS_MAX */
	uint32_t reserved32;
	uint64_t reserved[4];
};

#define PH_SETUP_SECCOMP	0x1u  /* fd[3] holds a seccomp program */
#define PH_SETUP_SECCOMP_LISTEN 0x2u  /* load it with a user-notify listener */
#define PH_SETUP_SANDBOX	0x4u  /* apply the sandbox layers at all */
#define PH_SETUP_SUPERVISE	0x8u  /* fd 4 is the supervisor channel: run an init */
#define PH_SETUP_ZYGOTE		0x10u /* be a zygote (needs CLONE_NEWPID): init forks on FORK */

/* Sandbox layers (PH_LAYER_* in <plughost/host.h>): which are active is
 * reported in PH_MSG_SANDBOXED. */

/* When the runner passed each step (CLOCK_MONOTONIC ns; 0: not done), for
 * ph_plugin_spawn_times(). Trusted: sent before any plugin code ran. */
enum ph_runner_mark {
	PH_MARK_MAIN = 0,      /* main() of the image that reads SETUP */
	PH_MARK_NAMESPACES,    /* the namespaces made, init running */
	PH_MARK_MOUNTS,	       /* the filesystem view built */
	PH_MARK_LIMITS,	       /* rlimits, capabilities, no_new_privs */
	PH_MARK_LANDLOCK,      /* Landlock in force */
	PH_MARK_SIDE_CHANNELS, /* speculation control, core scheduling */
	PH_MARK_FORKED,	       /* the plugin process runs (after init's fork) */
	PH_MARK_SECCOMP,       /* stage 1 loaded */
	PH_MARKS,
};

/* PH_MSG_SANDBOXED payload. */
struct ph_msg_sandboxed {
	uint32_t layers; /* PH_LAYER_* actually active */
	uint32_t landlock_abi;
	uint64_t mark_ns[PH_MARKS];
	uint64_t reserved[2];
};

/* PH_MSG_SETUP_FAILED payload, followed by msg_len bytes of text. */
struct ph_msg_setup_failed {
	uint32_t step; /* PH_STEP_* */
	int32_t err;   /* positive errno, 0 if none */
	uint32_t msg_len;
	uint32_t reserved;
};

/* step: enum ph_setup_step, public in <plughost/host.h>. */

/*
 * PH_MSG_LOADED payload: the fixed part, then name_len bytes of name,
 * version_len bytes of version, then n_methods entries each made of a
 * uint16_t length and that many bytes. No NULs anywhere.
 */
struct ph_msg_loaded {
	uint32_t n_methods;
	uint16_t name_len;
	uint16_t version_len;
	uint32_t flags; /* PH_LOADED_*: what the plugin's descriptor declares */
	uint32_t reserved;
};

/* LOADED flags. The plugin's word, like all of LOADED: it only decides
 * what the host offers the plugin, never what the host trusts. */
#define PH_LOADED_READS_STREAMS 0x1u /* PH_PLUGIN_READS_STREAMS: takes stream inputs */
#define PH_LOADED_FLAGS		(PH_LOADED_READS_STREAMS)

/*
 * PH_MSG_CALL payload. The message carries n_fds fds, the inputs of the
 * request with the same call id whose how is PH_IN_FD, in order; their
 * sizes and identities are in the request.
 */
struct ph_msg_call {
	uint32_t n_fds;
	uint32_t reserved;
};

/* PH_MSG_FORK payload. */
struct ph_msg_fork {
	uint64_t ring_capacity; /* the instance ring's data bytes */
	uint64_t reserved[3];
};

/*
 * PH_MSG_EXIT payload. In a pid namespace the runner stays behind as its
 * init (pid 1) and forks the plugin as pid 2: a pid 1 cannot be killed by
 * its own default-action signals (abort() would end in SIGSEGV), and init
 * relays the plugin's true end over a channel the plugin never holds.
 */
struct ph_msg_exit {
	int32_t how;	/* CLD_EXITED, CLD_KILLED or CLD_DUMPED */
	int32_t status; /* exit status or signal number */
	uint64_t user_usec;
	uint64_t sys_usec;
	uint64_t max_rss_kib;
	/* The fault that killed it, from the kernel's siginfo (init traces
	 * the plugin): 0 when it did not die of a fault, or was not traced. */
	int32_t fault_signo;
	int32_t fault_code; /* SEGV_MAPERR, BUS_ADRALN, ... */
	uint64_t fault_addr;
	uint32_t traced;
	uint32_t reserved;
};

/*
 * PH_MSG_GRANT payload, followed by path_len bytes of the path inside the
 * sandbox (absolute, normalised, no NUL). The fd is a regular file or a
 * directory, never open for writing. PH_GRANT_LIB: a library the plugin
 * needs, copied next to it into /plugin (path is then its bare name),
 * so its fd is open for reading; otherwise a read-only view mounted at
 * path.
 */
struct ph_msg_grant {
	uint32_t flags; /* PH_GRANT_* */
	uint32_t path_len;
	uint64_t reserved;
};
#define PH_GRANT_LIB	  0x1u
#define PH_GRANTS_MAX	  96u	/* user grants (32) and libraries (64) */
#define PH_GRANT_PATH_MAX 1024u /* bytes of one path inside */

/* PH_MSG_CRASH payload, followed by stack_len bytes: the faulting
 * thread's stack from rsp up, as far as it could be read. */
#define PH_CRASH_STACK_MAX 1024u
#define PH_CRASH_REGS	   17u /* rip, rsp, rbp, then the rest, as named below */
struct ph_msg_crash {
	int32_t signo; /* the fault's signal, as in EXIT's fault_signo */
	int32_t tid;   /* the faulting thread, in the plugin's pid namespace */
	/* rip, rsp, rbp, rax, rbx, rcx, rdx, rsi, rdi, r8-r15, in this order */
	uint64_t regs[PH_CRASH_REGS];
	uint64_t eflags;
	uint32_t stack_len; /* bytes that follow: a multiple of 8, <= PH_CRASH_STACK_MAX */
	uint32_t reserved;
};

/* PH_MSG_MEM payload. */
struct ph_msg_mem {
	uint64_t reserved;
};

/* PH_MSG_LOG payload, followed by len bytes of text. */
struct ph_msg_log {
	uint32_t level; /* enum ph_level of <plughost/level.h> */
	uint32_t len;
};

/* The layouts are the wire format between host and runner: pinned. */
_Static_assert(sizeof(struct ph_msg_setup) == 80 && sizeof(struct ph_msg_sandboxed) == 88 &&
		   sizeof(struct ph_msg_setup_failed) == 16 && sizeof(struct ph_msg_loaded) == 16 &&
		   sizeof(struct ph_msg_call) == 8 && sizeof(struct ph_msg_exit) == 56 &&
		   sizeof(struct ph_msg_log) == 8 && sizeof(struct ph_msg_fork) == 32 &&
		   sizeof(struct ph_msg_grant) == 16 && sizeof(struct ph_msg_crash) == 160 &&
		   sizeof(struct ph_msg_mem) == 8,
	       "wire message layouts are fixed");
