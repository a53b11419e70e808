/* SPDX-License-Identifier: MIT */
/*
 * Sending and receiving control messages, and parsing their payloads. The
 * receive side is written for a hostile peer: every field of the header is
 * range-checked against what actually arrived, fds arrive CLOEXEC, and a
 * message whose fds were truncated or miscounted is rejected with every fd
 * it brought already closed.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* A received message. Owns its fds until taken (set the slot to -1). */
struct ph_msg {
	struct ph_msg_hdr hdr;
	uint8_t payload[PH_MSG_MAX - sizeof(struct ph_msg_hdr)];
	int fds[PH_MSG_MAX_FDS];
	unsigned int nfds;
};

/* Close every fd msg still owns. */
void ph__msg_close_fds(struct ph_msg *msg);

/*
 * Send one message of the given type with len payload bytes and nfds fds
 * (nfds <= PH_MSG_MAX_FDS). MSG_NOSIGNAL: a dead peer gives -EPIPE, not
 * SIGPIPE. Returns 0 or a negative errno (-EMSGSIZE when too big).
 */
int ph__msg_send(int sock, uint16_t type, uint64_t call_id, const void *payload, size_t len,
		 const int *fds, unsigned int nfds);

/*
 * Like ph__msg_send() with the payload given as iovecs-worth of two parts
 * (head then tail), so callers need not assemble a buffer.
 */
int ph__msg_send2(int sock, uint16_t type, uint64_t call_id, const void *p1, size_t l1,
		  const void *p2, size_t l2, const int *fds, unsigned int nfds);

/*
 * Receive one message into *msg. flags: 0 to block, MSG_DONTWAIT to poll.
 * Returns 1 on a message, 0 on orderly EOF, -EAGAIN when nothing is
 * waiting (MSG_DONTWAIT), or -EBADMSG when the message broke a rule, with a
 * static string naming the rule in *ret_why. On every error no fd is left
 * open.
 */
int ph__msg_recv(int sock, struct ph_msg *msg, int flags, const char **ret_why);

/*
 * Check a message already received against the header rules: magic, ABI,
 * type range, len equal to the bytes received, nfds equal to the fds
 * received and within the type's allowance. Exposed for tests; recv calls it.
 * Returns 0 or -EBADMSG with *ret_why.
 */
int ph__msg_validate(const struct ph_msg_hdr *hdr, size_t received, unsigned int nfds_received,
		     const char **ret_why);

/*
 * Who sent a message: the side the receiver checks it against. Each pair
 * of peers has its own socket, so the receiver always knows.
 */
enum ph_msg_dir {
	PH_DIR_HOST_TO_RUNNER, /* control socket, read by the runner */
	PH_DIR_RUNNER_TO_HOST, /* control socket, read by the host */
	PH_DIR_INIT_TO_HOST,   /* supervisor socket, read by the host */
	PH_DIR_HOST_TO_INIT,   /* supervisor socket, read by init or the zygote */
	PH_DIR_COUNT,
};

/*
 * The instance's phase as the receiver sees it. What the runner says in
 * SPAWNING comes from trusted code; from LOADING on, plugin code may have
 * run in that process and everything it sends is the plugin's word.
 */
enum ph_msg_phase {
	PH_PHASE_SPAWNING, /* before SANDBOXED: only the runner has run */
	PH_PHASE_LOADING,  /* after SANDBOXED: plugin code may run */
	PH_PHASE_READY,	   /* loaded: idle or in a call */
	PH_PHASE_COUNT,
};

/* What one received fd must be. */
enum ph_fd_kind {
	PH_FD_NONE = 0,
	PH_FD_RING,	    /* memfd sealed SHRINK|GROW|SEAL, never WRITE */
	PH_FD_INPUT,	    /* memfd sealed WRITE|SHRINK|GROW|SEAL */
	PH_FD_SECCOMP_PROG, /* a compiled filter, sealed like an input */
	PH_FD_PLUGIN_FILE,  /* a regular file open for reading */
	PH_FD_LISTENER,	    /* a seccomp user-notification listener */
	PH_FD_WAKE,	    /* the write end of a pipe */
	PH_FD_SOCKET,	    /* a SOCK_SEQPACKET socket */
	PH_FD_PIDFD,	    /* a pidfd */
	PH_FD_GRANT,	    /* a regular file or directory, not open for writing */
	PH_FD_STDIO,	    /* the write end of a pipe: an instance's stdout or stderr */
	PH_FD_PROC_MEM,	    /* a process's /proc/PID/mem, open read-only */
};

/*
 * Check every fd of an already received message (ph__msg_recv() checked
 * its structure) against the one table of what may travel where: for this
 * direction, phase and message type, the exact number of fds and the kind
 * of each. A type the table does not list for (dir, phase) may carry no
 * fd at all. The kind is checked on the fd itself (fstat, seals, the
 * listener ioctl, the pidfd's inode name and fdinfo), never taken from the
 * sender's word.
 *
 * Returns 0, or -EBADMSG with a static string naming what was wrong in
 * *ret_why (when not NULL). Never closes anything: on failure the caller
 * closes every fd of m (ph__msg_close_fds()) and treats it as a protocol
 * violation.
 */
int ph__msg_check_fds(const struct ph_msg *m, enum ph_msg_dir dir, enum ph_msg_phase phase,
		      const char **ret_why);

/* The kind the table allows for fd index i of a message of this type sent
 * this way in this phase, or PH_FD_NONE when no fd may be there. For tests
 * and for error text. */
enum ph_fd_kind ph__msg_fd_kind(enum ph_msg_dir dir, enum ph_msg_phase phase, uint16_t type,
				unsigned int i);

/* Is fd a pidfd? Returns 0, or -EINVAL / -EBADF with *ret_why. The host
 * reads /proc/self for it; the runner never receives one. */
int ph__fd_is_pidfd(int fd, const char **ret_why);

/* Parsed views. Strings point into msg->payload and are NOT NUL-terminated. */
struct ph_str {
	const char *p;
	size_t len;
};

struct ph_loaded_view {
	struct ph_str name, version;
	uint32_t flags; /* PH_LOADED_* */
	uint32_t n_methods;
	struct ph_str methods[PH_METHODS_MAX];
};

struct ph_setup_view {
	struct ph_msg_setup fixed;
	struct ph_str path;
};

struct ph_grant_view {
	struct ph_msg_grant fixed;
	struct ph_str path;
};

struct ph_failed_view {
	struct ph_msg_setup_failed fixed;
	struct ph_str msg;
};

struct ph_log_view {
	uint32_t level;
	struct ph_str text;
};

/*
 * Payload parsers. Each checks every length against the end of the payload
 * and every count against its limit, and needs the header already
 * validated. Return 0, or -EBADMSG with *ret_why naming the rule.
 */
int ph__parse_call(const struct ph_msg *msg, struct ph_msg_call *out, const char **ret_why);
int ph__parse_fork(const struct ph_msg *msg, struct ph_msg_fork *out, const char **ret_why);
int ph__parse_loaded(const struct ph_msg *msg, struct ph_loaded_view *out, const char **ret_why);
int ph__parse_setup(const struct ph_msg *msg, struct ph_setup_view *out, const char **ret_why);
/* Is path (len bytes, no NUL needed) one a grant may have inside the
 * sandbox? lib: a bare file name in /plugin; else absolute, normalised
 * (no empty, '.' or '..' component, no trailing '/'), at most
 * PH_GRANT_PATH_MAX bytes, not the root, and neither covering nor inside
 * /plugin or the loader's files. Returns NULL, or a static reason. */
const char *ph__grant_path_check(const char *path, size_t len, int lib);
int ph__parse_grant(const struct ph_msg *msg, struct ph_grant_view *out, const char **ret_why);
int ph__parse_failed(const struct ph_msg *msg, struct ph_failed_view *out, const char **ret_why);
int ph__parse_log(const struct ph_msg *msg, struct ph_log_view *out, const char **ret_why);
int ph__parse_exit(const struct ph_msg *msg, struct ph_msg_exit *out, const char **ret_why);
/* MEM: its payload (no fields but reserved ones). */
int ph__parse_mem(const struct ph_msg *msg, const char **ret_why);
/* CRASH: the fixed part into *out; *ret_stack points at its stack_len
 * bytes inside msg. */
int ph__parse_crash(const struct ph_msg *msg, struct ph_msg_crash *out, const uint8_t **ret_stack,
		    const char **ret_why);
int ph__parse_sandboxed(const struct ph_msg *msg, struct ph_msg_sandboxed *out,
			const char **ret_why);

/*
 * Check a completion the host copied out of the call slot (the copy, never
 * the shared original) for the call in progress. Returns 0, or -EBADMSG
 * with a static string naming the broken rule.
 */
int ph__slot_done_check(const struct ph_slot_done *copy, uint64_t call_id, const char **ret_why);

/*
 * Check a request the runner copied out of the call slot: method, input
 * kinds, inline offsets and sizes, cache entries, the fd count. Returns 0,
 * or -EBADMSG with a static string naming the broken rule.
 */
int ph__slot_req_check(const struct ph_slot_req *copy, const char **ret_why);
