/* SPDX-License-Identifier: MIT */
/*
 * What the runner's parts share: the fixed fds it is started with, how it
 * reports a setup failure, its trusted init, and the request loop that
 * serves a loaded plugin.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <plughost/plugin.h>

#include "wire.h"

/* Report a setup failure to the host and exit. Never returns. */
_Noreturn void ph__runner_fail(enum ph_setup_step step, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Stay behind as the plugin's init (pid 1 of its pid namespace) and fork
 * the process that will load the plugin. Returns in that child; never
 * returns in init, which relays the plugin's end on the supervisor
 * channel and exits.
 */
void ph__runner_become_init(void);

/* Make stdio's stdout and stderr streams write to fds 1 and 2 as before,
 * and set the ring's stdio_written hint with each write (stdio.c). */
struct ph_ring_shared;
void ph__runner_stdio_hint(struct ph_ring_shared *shared);

/* A plugin process init (or the zygote) traces and reports on. */
struct ph_init_child {
	pid_t pid;
	int traced, configured;
	/* Its supervisor socket, and the host's MEM fd once taken (-1). */
	int sup, mem_fd;
	/* Nothing more to take from sup: MEM taken, or the host hung up or
	 * sent something else. */
	int sup_done;
	struct ph_msg_exit ex;
	/* The last fault's registers and stack, read at its stop (sent as
	 * CRASH when that fault is what killed it). */
	struct ph_msg_crash crash;
	uint64_t stack[PH_CRASH_STACK_MAX / 8];
};
struct rusage;
/* Handle one wait4() report of tid (the plugin or one of its threads):
 * returns 1 when the plugin has ended and c->ex says how. */
int ph__init_on_wait(struct ph_init_child *c, pid_t tid, int status, const struct rusage *ru,
		     pid_t *new_tid);
/* In the plugin process, first thing after the fork: be traced. */
void ph__init_child_start(void);
/* The plugin has ended (ph__init_on_wait() returned 1): send CRASH, if
 * it died of the fault init captured, then EXIT, on sup. */
void ph__init_send_end(int sup, struct ph_init_child *c);
/* sup is readable (revents from poll()): take the host's MEM at once.
 * An fd in an unread message stays charged to the host's user as in
 * flight, and past RLIMIT_NOFILE of them the kernel refuses that user's
 * next fd passing (ETOOMANYREFS): a plugin's listener among them. */
void ph__init_sup_ready(struct ph_init_child *c, short revents);
/* Send CHILD (a pidfd of child) on the supervisor channel sup. */
int ph__init_send_child(int sup, pid_t child);

/*
 * Be the zygote: pid 1 of the sandbox's pid namespace, with every layer
 * but seccomp in force and no plugin code loaded. Report ZYGOTE_READY on
 * the control socket, then fork one instance per FORK request until the
 * host hangs up. Returns in each instance, with its control socket on
 * fd 3 and its ring and wake pipe in *ret_ring_fd and *ret_wake_fd, as a
 * cold runner would have them after init's fork; never returns in the
 * zygote.
 */
void ph__runner_zygote(const struct ph_msg_sandboxed *ready, int *ret_ring_fd, int *ret_wake_fd,
		       uint64_t *ret_capacity, int *keep, unsigned int n_keep, uint32_t nofile);
/* The zygote's own RLIMIT_NOFILE: room for its instances' sockets. */
#define PH_ZYGOTE_NOFILE 1024u

/* The descriptor flags this runner knows, and the smallest input stride
 * it runs (struct ph_input before its flags: data and len). */
#define PH_RUNNER_PLUGIN_FLAGS PH_PLUGIN_READS_STREAMS
#define PH_RUNNER_INPUT_MIN    offsetof(struct ph_input, flags)

/* The i-th method, with the stride the plugin was compiled with. */
static inline const struct ph_method *ph__runner_method(const struct ph_plugin_descriptor *d,
							uint32_t i)
{
	return (const struct ph_method *)((const char *)d->methods + (size_t)i * d->method_size);
}

/*
 * Serve calls for a loaded, checked descriptor until the host hangs up.
 * ring_base maps ph_ring_memfd_size(ring_capacity) bytes read-write (the
 * output ring, the call slot and the input ring); wake_fd is the wake
 * pipe's write end.
 * Returns the process's exit status.
 */
int ph__runner_serve(const struct ph_plugin_descriptor *desc, int ctl_fd, int wake_fd,
		     void *ring_base, uint64_t ring_capacity);

/* When the runner passed each step (enum ph_runner_mark), sent in
 * SANDBOXED. */
extern uint64_t ph__runner_marks[PH_MARKS];
void ph__runner_mark(enum ph_runner_mark m);
