/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sys/uio.h>
#include <unistd.h>

#include "proto.h"
#include "ring-layout.h"
#include "seal.h"
#include "util.h"

static int bad(const char **ret_why, const char *why)
{
	if (ret_why)
		*ret_why = why;
	return -EBADMSG;
}

static int fail_errno(const char **ret_why, const char *why, int err)
{
	if (ret_why)
		*ret_why = why;
	return err == EBADF || err == ENOENT ? -EBADF : -EINVAL;
}

void ph__msg_close_fds(struct ph_msg *msg)
{
	for (unsigned int i = 0; i < msg->nfds; i++) {
		msg->fds[i] = safe_close(msg->fds[i]);
	}
	msg->nfds = 0;
}

int ph__msg_send2(int sock, uint16_t type, uint64_t call_id, const void *p1, size_t l1,
		  const void *p2, size_t l2, const int *fds, unsigned int nfds)
{
	struct ph_msg_hdr hdr = {
	    .magic = PH_WIRE_MAGIC,
	    .abi = PH_WIRE_ABI,
	    .type = type,
	    .len = (uint32_t)(l1 + l2),
	    .nfds = nfds,
	    .call_id = call_id,
	};
	struct iovec iov[3] = {
	    {.iov_base = &hdr, .iov_len = sizeof(hdr)},
	    {.iov_base = (void *)p1, .iov_len = l1},
	    {.iov_base = (void *)p2, .iov_len = l2},
	};
	union {
		char buf[CMSG_SPACE(sizeof(int) * PH_MSG_MAX_FDS)];
		struct cmsghdr align;
	} control;
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 3};
	ssize_t n;

	if (nfds > PH_MSG_MAX_FDS || l1 > PH_MSG_MAX || l2 > PH_MSG_MAX ||
	    sizeof(hdr) + l1 + l2 > PH_MSG_MAX)
		return -EMSGSIZE;
	if (nfds > 0) {
		struct cmsghdr *cm;

		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* SEQPACKET sends whole records or fails; anything else is a bug. */
	if ((size_t)n != sizeof(hdr) + l1 + l2)
		return -EIO;
	return 0;
}

int ph__msg_send(int sock, uint16_t type, uint64_t call_id, const void *payload, size_t len,
		 const int *fds, unsigned int nfds)
{
	return ph__msg_send2(sock, type, call_id, payload, len, NULL, 0, fds, nfds);
}

/*
 * Every fd that may travel between host, runner and init, in one table:
 * by direction, phase and message type, how many fds and of what kind.
 * Whatever a row does not list may carry no fd. New features (the zygote,
 * sealed outputs) add rows here; nothing receives an fd without passing
 * ph__msg_check_fds() against this table.
 */
#define PHASE(x) (1u << PH_PHASE_##x)
static const struct fd_rule {
	uint8_t dir;	/* enum ph_msg_dir */
	uint8_t phases; /* PHASE() bits */
	uint16_t type;	/* enum ph_msg_type */
	uint8_t min, max;
	uint8_t nkinds;	 /* kinds listed; fd i has kind[min(i, nkinds - 1)] */
	uint8_t kind[5]; /* enum ph_fd_kind */
} fd_rules[] = {
    /* The ring, the plugin file, the wake pipe and, with
     * PH_SETUP_SECCOMP, the compiled filter (ph__parse_setup() ties the
     * count to the flag). */
    {PH_DIR_HOST_TO_RUNNER,
     PHASE(SPAWNING),
     PH_MSG_SETUP,
     3,
     4,
     4,
     {PH_FD_RING, PH_FD_PLUGIN_FILE, PH_FD_WAKE, PH_FD_SECCOMP_PROG}},
    /* One file grant each, right after SETUP (whose n_grants ties the
     * count of these messages): the granted object and, for a file
     * mounted on its own, the directory it is in. */
    {PH_DIR_HOST_TO_RUNNER, PHASE(SPAWNING), PH_MSG_GRANT, 1, 2, 1, {PH_FD_GRANT}},
    /* The sealed inputs of a request that travel as fds
     * (ph__parse_call() ties the count). */
    {PH_DIR_HOST_TO_RUNNER, PHASE(READY), PH_MSG_CALL, 1, PH_INPUTS_MAX, 1, {PH_FD_INPUT}},
    /* A zygote's instance: its control and supervisor sockets (the
     * zygote's ends), its ring, its wake pipe, and the write ends of its
     * stdout and stderr pipes. */
    {PH_DIR_HOST_TO_RUNNER,
     PHASE(READY),
     PH_MSG_FORK,
     6,
     6,
     5,
     {PH_FD_SOCKET, PH_FD_SOCKET, PH_FD_RING, PH_FD_WAKE, PH_FD_STDIO}},
    /* The listener, sent before any plugin code ran; never later, when
     * the plugin could have made one of its own. */
    {PH_DIR_RUNNER_TO_HOST, PHASE(SPAWNING), PH_MSG_SANDBOXED, 0, 1, 1, {PH_FD_LISTENER}},
    /* Init's pidfd of the plugin. Init is trusted in every phase; the
     * host reads it once, when the handshake is done. */
    {PH_DIR_INIT_TO_HOST,
     PHASE(SPAWNING) | PHASE(LOADING) | PHASE(READY),
     PH_MSG_CHILD,
     1,
     1,
     1,
     {PH_FD_PIDFD}},
    /* The plugin's memory, for init to read a fault's stack through: the
     * host opened it, where init could not. */
    {PH_DIR_HOST_TO_INIT, PHASE(READY), PH_MSG_MEM, 1, 1, 1, {PH_FD_PROC_MEM}},
    /* The runner's pidfd of the init it made with CLONE_PARENT: before
     * SANDBOXED, so before any plugin code exists. */
    {PH_DIR_RUNNER_TO_HOST, PHASE(SPAWNING), PH_MSG_INIT, 1, 1, 1, {PH_FD_PIDFD}},
};
#undef PHASE

static const struct fd_rule *fd_rule_find(enum ph_msg_dir dir, enum ph_msg_phase phase,
					  uint16_t type)
{
	for (size_t i = 0; i < ELEMENTSOF(fd_rules); i++) {
		const struct fd_rule *r = &fd_rules[i];

		if (r->dir == dir && r->type == type && (r->phases & (1u << phase)))
			return r;
	}
	return NULL;
}

enum ph_fd_kind ph__msg_fd_kind(enum ph_msg_dir dir, enum ph_msg_phase phase, uint16_t type,
				unsigned int i)
{
	const struct fd_rule *r;

	if ((unsigned)dir >= PH_DIR_COUNT || (unsigned)phase >= PH_PHASE_COUNT)
		return PH_FD_NONE;
	r = fd_rule_find(dir, phase, type);
	if (!r || i >= r->max)
		return PH_FD_NONE;
	return (enum ph_fd_kind)r->kind[i < r->nkinds ? i : r->nkinds - 1u];
}

/* The structural bound ph__msg_validate() applies before the direction
 * and phase are known: the loosest of the table's rows for the type. */
static void fd_bounds(uint16_t type, unsigned int *ret_min, unsigned int *ret_max)
{
	unsigned int lo = UINT_MAX, hi = 0;

	for (size_t i = 0; i < ELEMENTSOF(fd_rules); i++) {
		if (fd_rules[i].type != type)
			continue;
		lo = fd_rules[i].min < lo ? fd_rules[i].min : lo;
		hi = fd_rules[i].max > hi ? fd_rules[i].max : hi;
	}
	*ret_min = lo == UINT_MAX ? 0 : lo;
	*ret_max = hi;
}

int ph__fd_is_pidfd(int fd, const char **ret_why)
{
	char path[64], link[64], info[512];
	ssize_t n;
	int ifd;

	/* A pidfd is an anonymous inode of its own kind (pidfs keeps the name
	 * since 6.9); nothing else, and no file a plugin can open, has it. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return fail_errno(ret_why, "cannot look at the fd (is /proc mounted?)", errno);
	link[n] = '\0';
	if (strcmp(link, "anon_inode:[pidfd]") != 0)
		return fail_errno(ret_why, "fd is not a pidfd", EINVAL);
	/* And its fdinfo names a process, as only a pidfd's does. */
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	ifd = open(path, O_RDONLY | O_CLOEXEC);
	if (ifd < 0)
		return fail_errno(ret_why, "cannot read the fd's fdinfo", errno);
	n = read(ifd, info, sizeof(info) - 1);
	close(ifd);
	if (n < 0)
		return fail_errno(ret_why, "cannot read the fd's fdinfo", errno);
	info[n] = '\0';
	if (strncmp(info, "Pid:", 4) != 0 && !strstr(info, "\nPid:"))
		return fail_errno(ret_why, "fd is not a pidfd (its fdinfo has no Pid)", EINVAL);
	return 0;
}

/* Is fd what the table says it must be? Returns 0 or -EBADMSG. */
static int check_kind(int fd, enum ph_fd_kind kind, const char **ret_why)
{
	struct stat st;
	uint64_t id = 0;
	int fl;

	switch (kind) {
	case PH_FD_NONE:
		break;
	case PH_FD_RING:
		if (ph__seal_check(fd, PH_SEAL_KIND_RING, UINT64_MAX,
				   ph_ring_memfd_size(PH_RING_MAX_CAPACITY), NULL, NULL) < 0)
			return bad(ret_why, "fd is not a ring memfd sealed against resizing");
		return 0;
	case PH_FD_INPUT:
		if (ph__seal_check(fd, PH_SEAL_KIND_INPUT, UINT64_MAX, UINT64_MAX, NULL, NULL) < 0)
			return bad(ret_why, "fd is not a fully sealed input memfd");
		return 0;
	case PH_FD_SECCOMP_PROG:
		/* At most BPF_MAXINSNS instructions: the kernel loads no more. */
		if (ph__seal_check(fd, PH_SEAL_KIND_INPUT, UINT64_MAX,
				   BPF_MAXINSNS * sizeof(struct sock_filter), NULL, NULL) < 0)
			return bad(ret_why, "fd is not a sealed seccomp program memfd");
		return 0;
	case PH_FD_PLUGIN_FILE:
		/* Read, never written; an O_PATH fd cannot be read at all. */
		fl = fcntl(fd, F_GETFL);
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || fl < 0 || (fl & O_PATH) ||
		    (fl & O_ACCMODE) == O_WRONLY)
			return bad(ret_why, "fd is not a regular file open for reading");
		return 0;
	case PH_FD_WAKE:
	case PH_FD_STDIO:
		/* The write end of a pipe, and only that: the runner writes a
		 * byte to it (or the plugin its stdout and stderr), and must
		 * not be handed anything it could read. */
		fl = fcntl(fd, F_GETFL);
		if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode) || fl < 0 ||
		    (fl & O_ACCMODE) != O_WRONLY)
			return bad(ret_why, "fd is not the write end of a pipe");
		return 0;
	case PH_FD_SOCKET: {
		int type = 0;
		socklen_t tl = sizeof(type);

		if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) ||
		    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_SEQPACKET)
			return bad(ret_why, "fd is not a SOCK_SEQPACKET socket");
		return 0;
	}
	case PH_FD_LISTENER:
		/* Only a listener knows notification ids: an unknown one is
		 * ENOENT there, ENOTTY or EINVAL on anything else. */
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0 || errno != ENOENT)
			return bad(ret_why, "fd is not a seccomp listener");
		return 0;
	case PH_FD_PIDFD:
		if (ph__fd_is_pidfd(fd, NULL) < 0)
			return bad(ret_why, "fd is not a pidfd");
		return 0;
	case PH_FD_GRANT:
		/* What the sandbox may read: a file or a directory, never one
		 * open for writing (an O_PATH fd has no access mode at all). */
		fl = fcntl(fd, F_GETFL);
		if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) || fl < 0 ||
		    (!(fl & O_PATH) && (fl & O_ACCMODE) != O_RDONLY))
			return bad(ret_why, "fd is not a file or directory closed to writing");
		return 0;
	case PH_FD_PROC_MEM: {
		/* A file of procfs, open for reading only: never anything
		 * init could write through. */
		struct statfs sfs;

		fl = fcntl(fd, F_GETFL);
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || fstatfs(fd, &sfs) < 0 ||
		    sfs.f_type != PROC_SUPER_MAGIC || fl < 0 || (fl & O_ACCMODE) != O_RDONLY)
			return bad(ret_why, "fd is not a /proc file open read-only");
		return 0;
	}
	}
	return bad(ret_why, "fd of no allowed kind");
}

int ph__msg_check_fds(const struct ph_msg *m, enum ph_msg_dir dir, enum ph_msg_phase phase,
		      const char **ret_why)
{
	const struct fd_rule *r;

	if ((unsigned)dir >= PH_DIR_COUNT || (unsigned)phase >= PH_PHASE_COUNT)
		return bad(ret_why, "unknown direction or phase");
	if (m->nfds > PH_MSG_MAX_FDS)
		return bad(ret_why, "more fds than any message may carry");
	r = fd_rule_find(dir, phase, m->hdr.type);
	if (!r) {
		if (m->nfds)
			return bad(ret_why, "fds attached to a message that may carry none here");
		return 0;
	}
	if (m->nfds < r->min || m->nfds > r->max)
		return bad(ret_why, "wrong number of fds for this message here");
	for (unsigned int i = 0; i < m->nfds; i++) {
		int k = check_kind(m->fds[i], ph__msg_fd_kind(dir, phase, m->hdr.type, i), ret_why);

		if (k < 0)
			return k;
	}
	return 0;
}

int ph__msg_validate(const struct ph_msg_hdr *hdr, size_t received, unsigned int nfds_received,
		     const char **ret_why)
{
	unsigned int lo, hi;

	if (received < sizeof(*hdr))
		return bad(ret_why, "message shorter than its header");
	if (hdr->magic != PH_WIRE_MAGIC)
		return bad(ret_why, "bad magic in message header");
	if (hdr->abi != PH_WIRE_ABI)
		return bad(ret_why, "message is for another wire ABI version");
	if (hdr->type == 0 || hdr->type > PH_MSG_TYPE_MAX)
		return bad(ret_why, "unknown message type");
	if (hdr->len != received - sizeof(*hdr))
		return bad(ret_why, "message length field differs from the bytes received");
	if (hdr->nfds != nfds_received)
		return bad(ret_why, "fd count field differs from the fds received");
	fd_bounds(hdr->type, &lo, &hi);
	if (nfds_received < lo || nfds_received > hi)
		return bad(ret_why, "wrong number of fds for this message type");
	return 0;
}

int ph__msg_recv(int sock, struct ph_msg *msg, int flags, const char **ret_why)
{
	union {
		/* Room for one more than allowed, so excess is seen, not cut. */
		char buf[CMSG_SPACE(sizeof(int) * (PH_MSG_MAX_FDS + 1))];
		struct cmsghdr align;
	} control;
	struct iovec iov[2] = {
	    {.iov_base = &msg->hdr, .iov_len = sizeof(msg->hdr)},
	    {.iov_base = msg->payload, .iov_len = sizeof(msg->payload)},
	};
	struct msghdr mh = {
	    .msg_iov = iov,
	    .msg_iovlen = 2,
	    .msg_control = control.buf,
	    .msg_controllen = sizeof(control.buf),
	};
	ssize_t n;
	int r;

	msg->nfds = 0;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | flags);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;

	/* Take every fd that arrived first, whatever else is wrong, so that
	 * every error path below closes them all. */
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t k;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		/* Every fd the kernel installed: CMSG_SPACE padding can make
		 * room for more than PH_MSG_MAX_FDS + 1, and each must close. */
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			if (msg->nfds < PH_MSG_MAX_FDS)
				msg->fds[msg->nfds++] = fd;
			else {
				close(fd);
				mh.msg_flags |= MSG_CTRUNC; /* too many: treat as truncation */
			}
		}
	}

	if (n == 0 && msg->nfds == 0) {
		/* Linux SEQPACKET does queue zero-byte records: only a peer
		 * that has shut down makes this EOF. */
		struct pollfd pfd = {.fd = sock, .events = POLLRDHUP};

		if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLRDHUP | POLLHUP)))
			return 0;
		return bad(ret_why, "empty message");
	}

	if (mh.msg_flags & MSG_CTRUNC) {
		r = bad(ret_why, "fds were truncated (too many fds, or out of fds)");
		goto fail;
	}
	if (mh.msg_flags & MSG_TRUNC) {
		r = bad(ret_why, "message larger than the protocol maximum");
		goto fail;
	}
	r = ph__msg_validate(&msg->hdr, (size_t)n, msg->nfds, ret_why);
	if (r < 0)
		goto fail;
	return 1;
fail:
	ph__msg_close_fds(msg);
	return r;
}

/* A tiny bounds-checked reader over a payload. */
struct cursor {
	const uint8_t *p;
	size_t left;
};

static int take(struct cursor *c, void *out, size_t n)
{
	if (n > c->left)
		return -1;
	memcpy(out, c->p, n);
	c->p += n;
	c->left -= n;
	return 0;
}

static int take_str(struct cursor *c, size_t n, struct ph_str *out)
{
	if (n > c->left)
		return -1;
	out->p = (const char *)c->p;
	out->len = n;
	c->p += n;
	c->left -= n;
	return 0;
}

static struct cursor cursor_of(const struct ph_msg *msg)
{
	return (struct cursor){.p = msg->payload, .left = msg->hdr.len};
}

/*
 * Every reserved field must be zero, as clone3 and openat2 demand of
 * theirs: a later version can then give one a meaning, and a peer that
 * sends garbage there is caught now, not misread then.
 */
static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}
#define RESERVED_ZERO(field) all_zero(&(field), sizeof(field))

/* Names and text must be non-empty where required and free of NULs. */
static int str_clean(struct ph_str s)
{
	return memchr(s.p, '\0', s.len) == NULL;
}

int ph__parse_call(const struct ph_msg *msg, struct ph_msg_call *out, const char **ret_why)
{
	struct cursor c = cursor_of(msg);

	if (msg->hdr.type != PH_MSG_CALL || take(&c, out, sizeof(*out)) < 0)
		return bad(ret_why, "CALL message too short");
	if (!RESERVED_ZERO(out->reserved))
		return bad(ret_why, "CALL reserved field is not zero");
	if (out->n_fds == 0 || out->n_fds > PH_INPUTS_MAX)
		return bad(ret_why, "CALL carries no fds, or more than a call has inputs");
	if (out->n_fds != msg->nfds)
		return bad(ret_why, "CALL fd count differs from the fds attached");
	if (c.left != 0)
		return bad(ret_why, "CALL message has trailing bytes");
	return 0;
}

int ph__parse_fork(const struct ph_msg *msg, struct ph_msg_fork *out, const char **ret_why)
{
	struct cursor c = cursor_of(msg);

	if (msg->hdr.type != PH_MSG_FORK || take(&c, out, sizeof(*out)) < 0)
		return bad(ret_why, "FORK message too short");
	if (!RESERVED_ZERO(out->reserved))
		return bad(ret_why, "FORK reserved field is not zero");
	if (out->ring_capacity < PH_RING_MIN_CAPACITY ||
	    out->ring_capacity > PH_RING_MAX_CAPACITY ||
	    (out->ring_capacity & (out->ring_capacity - 1)))
		return bad(ret_why, "FORK ring capacity not a power of two in range");
	if (c.left != 0)
		return bad(ret_why, "FORK message has trailing bytes");
	return 0;
}

int ph__parse_loaded(const struct ph_msg *msg, struct ph_loaded_view *out, const char **ret_why)
{
	struct cursor c = cursor_of(msg);
	struct ph_msg_loaded fixed;

	if (msg->hdr.type != PH_MSG_LOADED || take(&c, &fixed, sizeof(fixed)) < 0)
		return bad(ret_why, "LOADED message too short");
	if (!RESERVED_ZERO(fixed.reserved))
		return bad(ret_why, "LOADED reserved field is not zero");
	if (fixed.flags & ~PH_LOADED_FLAGS)
		return bad(ret_why, "LOADED has unknown flags");
	if (fixed.n_methods > PH_METHODS_MAX)
		return bad(ret_why, "LOADED lists too many methods");
	if (fixed.name_len == 0 || fixed.name_len > PH_NAME_MAX || fixed.version_len > PH_NAME_MAX)
		return bad(ret_why, "LOADED name empty or name/version too long");
	if (take_str(&c, fixed.name_len, &out->name) < 0 ||
	    take_str(&c, fixed.version_len, &out->version) < 0)
		return bad(ret_why, "LOADED message shorter than its fields say");
	out->n_methods = fixed.n_methods;
	out->flags = fixed.flags;
	for (uint32_t i = 0; i < fixed.n_methods; i++) {
		uint16_t l;

		if (take(&c, &l, sizeof(l)) < 0 || take_str(&c, l, &out->methods[i]) < 0)
			return bad(ret_why, "LOADED method list shorter than its count says");
		if (l == 0 || l > PH_NAME_MAX || !str_clean(out->methods[i]))
			return bad(ret_why, "LOADED method name empty, too long or has NUL");
	}
	if (c.left != 0)
		return bad(ret_why, "LOADED message has trailing bytes");
	if (!str_clean(out->name) || !str_clean(out->version))
		return bad(ret_why, "LOADED name or version contains NUL");
	return 0;
}

int ph__slot_done_check(const struct ph_slot_done *d, uint64_t call_id, const char **ret_why)
{
	if (d->call_id != call_id)
		return bad(ret_why, "completion for a call that is not in progress");
	if (d->status > PH_DONE_BAD_INPUT)
		return bad(ret_why, "completion has an unknown status");
	if (d->msg_len > PH_TEXT_MAX)
		return bad(ret_why, "completion error text too long");
	if (d->status == PH_DONE_OK && (d->code != 0 || d->msg_len != 0))
		return bad(ret_why, "completion says ok but carries an error");
	return 0;
}

int ph__slot_req_check(const struct ph_slot_req *q, const char **ret_why)
{
	uint64_t inline_end = 0;
	uint32_t fds = 0, streams = 0;

	if (q->reserved)
		return bad(ret_why, "request reserved field is not zero");
	if (q->method_len == 0 || q->method_len > PH_NAME_MAX ||
	    memchr(q->method, '\0', q->method_len))
		return bad(ret_why, "request method name empty, too long or has NUL");
	if (q->n_inputs > PH_INPUTS_MAX)
		return bad(ret_why, "request has too many inputs");
	for (uint32_t i = 0; i < q->n_inputs; i++) {
		const struct ph_slot_input *in = &q->in[i];

		if (in->cache != PH_SLOT_NO_CACHE && in->cache >= PH_SLOT_CACHE_MAX)
			return bad(ret_why, "request input names a cache entry out of range");
		switch (in->how) {
		case PH_IN_INLINE:
			if (in->cache != PH_SLOT_NO_CACHE || in->offset > PH_SLOT_INLINE_MAX ||
			    in->size > PH_SLOT_INLINE_MAX - in->offset || in->offset < inline_end)
				return bad(ret_why, "request inline input out of place");
			inline_end = in->offset + in->size;
			break;
		case PH_IN_FD:
			fds++;
			break;
		case PH_IN_CACHED:
			if (in->cache == PH_SLOT_NO_CACHE)
				return bad(ret_why, "request cached input names no cache entry");
			break;
		case PH_IN_STREAM:
			/* Its bytes come through the one input ring: no size,
			 * no cache entry, no fd. */
			if (++streams > PH_SLOT_STREAMS_MAX)
				return bad(ret_why,
					   "request has more stream inputs than input rings");
			if (in->cache != PH_SLOT_NO_CACHE || in->size)
				return bad(ret_why,
					   "request stream input has a size or a cache entry");
			break;
		default:
			return bad(ret_why, "request input of unknown kind");
		}
		if (in->size > PH_BLOB_MAX_BYTES)
			return bad(ret_why, "request input larger than any blob");
	}
	if (fds != q->n_fds)
		return bad(ret_why, "request fd count differs from its fd inputs");
	return 0;
}

/* Is a ends exactly at a component boundary of b's prefix: a == b, or a
 * is an ancestor of b ("/usr" of "/usr/lib", not of "/usrx")? */
static bool path_covers(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen == 1 && a[0] == '/')
		return true;
	return alen <= blen && memcmp(a, b, alen) == 0 && (alen == blen || b[alen] == '/');
}

const char *ph__grant_path_check(const char *path, size_t len, int lib)
{
	/* What the sandbox itself puts in its root, which no grant may
	 * cover, hide or reach into: the plugin and the loader's files. */
	static const char *const reserved[] = {
	    "/plugin", "/usr", "/lib", "/lib64", "/lib32", "/libx32", "/etc/ld.so.cache",
	};

	if (!path || len == 0 || memchr(path, '\0', len))
		return "the path is empty or holds a NUL byte";
	if (lib) {
		/* A bare file name in /plugin, next to the plugin. */
		if (len > 255 || memchr(path, '/', len) || (len == 1 && path[0] == '.') ||
		    (len == 2 && path[0] == '.' && path[1] == '.'))
			return "a library's name must be a plain file name";
		return NULL;
	}
	if (len > PH_GRANT_PATH_MAX)
		return "the path is longer than the sandbox takes";
	if (path[0] != '/' || len == 1)
		return "the path is not absolute, or is the root itself";
	if (path[len - 1] == '/')
		return "the path is not normalised (a trailing '/')";
	for (size_t i = 0; i < len;) {
		size_t j = i + 1;

		while (j < len && path[j] != '/')
			j++;
		/* path[i] is '/', the component is path[i + 1 .. j). */
		if (j == i + 1 || (j == i + 2 && path[i + 1] == '.') ||
		    (j == i + 3 && path[i + 1] == '.' && path[i + 2] == '.'))
			return "the path is not normalised (an empty, '.' or '..' component)";
		i = j;
	}
	for (size_t i = 0; i < ELEMENTSOF(reserved); i++) {
		size_t rl = strlen(reserved[i]);

		if (path_covers(path, len, reserved[i], rl) ||
		    path_covers(reserved[i], rl, path, len))
			return "the path is, covers or lies inside /plugin or the loader's files, "
			       "which every sandbox shows read-only already";
	}
	return NULL;
}

int ph__parse_grant(const struct ph_msg *msg, struct ph_grant_view *out, const char **ret_why)
{
	struct cursor c = cursor_of(msg);
	const char *why;

	if (msg->hdr.type != PH_MSG_GRANT || take(&c, &out->fixed, sizeof(out->fixed)) < 0)
		return bad(ret_why, "GRANT message too short");
	if (out->fixed.reserved || (out->fixed.flags & ~PH_GRANT_LIB))
		return bad(ret_why, "GRANT has unknown flags or a nonzero reserved field");
	if (out->fixed.path_len == 0 || out->fixed.path_len > PH_GRANT_PATH_MAX ||
	    take_str(&c, out->fixed.path_len, &out->path) < 0)
		return bad(ret_why, "GRANT path empty, too long, or longer than the message");
	if (c.left != 0)
		return bad(ret_why, "GRANT message has trailing bytes");
	/* The host checked the path with the same function, and said what
	 * was wrong in its own words. */
	why = ph__grant_path_check(out->path.p, out->path.len, !!(out->fixed.flags & PH_GRANT_LIB));
	if (why)
		return bad(ret_why, "GRANT path is not one a grant may have");
	return 0;
}

int ph__parse_setup(const struct ph_msg *msg, struct ph_setup_view *out, const char **ret_why)
{
	struct cursor c = cursor_of(msg);
	uint64_t cap;

	if (msg->hdr.type != PH_MSG_SETUP || take(&c, &out->fixed, sizeof(out->fixed)) < 0)
		return bad(ret_why, "SETUP message too short");
	if (!RESERVED_ZERO(out->fixed.reserved))
		return bad(ret_why, "SETUP reserved field is not zero");
	cap = out->fixed.ring_capacity;
	if (cap < PH_RING_MIN_CAPACITY || cap > PH_RING_MAX_CAPACITY || (cap & (cap - 1)))
		return bad(ret_why, "SETUP ring capacity not a power of two in range");
	if (out->fixed.path_len == 0 || out->fixed.path_len > 4096)
		return bad(ret_why, "SETUP plugin path empty or too long");
	if (out->fixed.n_grants > PH_GRANTS_MAX || out->fixed.reserved32)
		return bad(ret_why, "SETUP announces too many grants, or reserved32 is not zero");
	if (take_str(&c, out->fixed.path_len, &out->path) < 0)
		return bad(ret_why, "SETUP message shorter than its path length says");
	if (c.left != 0)
		return bad(ret_why, "SETUP message has trailing bytes");
	if (!str_clean(out->path))
		return bad(ret_why, "SETUP path contains NUL");
	if (((out->fixed.flags & PH_SETUP_SECCOMP) ? 4u : 3u) != msg->nfds)
		return bad(ret_why, "SETUP fd count does not match its flags");
	return 0;
}

int ph__parse_failed(const struct ph_msg *msg, struct ph_failed_view *out, const char **ret_why)
{
	struct cursor c = cursor_of(msg);

	if (msg->hdr.type != PH_MSG_SETUP_FAILED || take(&c, &out->fixed, sizeof(out->fixed)) < 0)
		return bad(ret_why, "SETUP_FAILED message too short");
	if (!RESERVED_ZERO(out->fixed.reserved))
		return bad(ret_why, "SETUP_FAILED reserved field is not zero");
	if (out->fixed.step == 0 || out->fixed.step > PH_STEP_MAX)
		return bad(ret_why, "SETUP_FAILED names an unknown step");
	if (out->fixed.err < 0 || out->fixed.err > 4095)
		return bad(ret_why, "SETUP_FAILED errno out of range");
	if (out->fixed.msg_len > PH_TEXT_MAX || take_str(&c, out->fixed.msg_len, &out->msg) < 0)
		return bad(ret_why, "SETUP_FAILED text too long or shorter than it says");
	if (c.left != 0)
		return bad(ret_why, "SETUP_FAILED message has trailing bytes");
	return 0;
}

int ph__parse_log(const struct ph_msg *msg, struct ph_log_view *out, const char **ret_why)
{
	struct cursor c = cursor_of(msg);
	struct ph_msg_log fixed;

	if (msg->hdr.type != PH_MSG_LOG || take(&c, &fixed, sizeof(fixed)) < 0)
		return bad(ret_why, "LOG message too short");
	/* The levels are 0..PH_DEBUG with no gaps; a new one must move this. */
	_Static_assert(PH_DEBUG == 3 && PH_ERROR == 0, "LOG levels are 0..3");
	if (fixed.level > PH_DEBUG)
		return bad(ret_why, "LOG has an unknown level");
	if (fixed.len > PH_TEXT_MAX || take_str(&c, fixed.len, &out->text) < 0)
		return bad(ret_why, "LOG text too long or shorter than it says");
	if (c.left != 0)
		return bad(ret_why, "LOG message has trailing bytes");
	out->level = fixed.level;
	return 0;
}

int ph__parse_sandboxed(const struct ph_msg *msg, struct ph_msg_sandboxed *out,
			const char **ret_why)
{
	struct cursor c = cursor_of(msg);

	if ((msg->hdr.type != PH_MSG_SANDBOXED && msg->hdr.type != PH_MSG_ZYGOTE_READY) ||
	    take(&c, out, sizeof(*out)) < 0)
		return bad(ret_why, "SANDBOXED message too short");
	if (c.left != 0)
		return bad(ret_why, "SANDBOXED message has trailing bytes");
	if (!RESERVED_ZERO(out->reserved))
		return bad(ret_why, "SANDBOXED reserved field is not zero");
	/* A zygote loads no filter: each instance does, and sends its own
	 * listener. */
	if (msg->hdr.type == PH_MSG_ZYGOTE_READY &&
	    (msg->nfds || (out->layers & (PH_LAYER_SECCOMP | PH_LAYER_NOTIFY))))
		return bad(ret_why, "ZYGOTE_READY claims seccomp or carries fds");
	if (((out->layers & PH_LAYER_NOTIFY) ? 1u : 0u) != msg->nfds)
		return bad(ret_why, "SANDBOXED fd count does not match its layers");
	return 0;
}

int ph__parse_exit(const struct ph_msg *msg, struct ph_msg_exit *out, const char **ret_why)
{
	struct cursor c = cursor_of(msg);

	if (msg->hdr.type != PH_MSG_EXIT || take(&c, out, sizeof(*out)) < 0)
		return bad(ret_why, "EXIT message too short");
	if (c.left != 0)
		return bad(ret_why, "EXIT message has trailing bytes");
	if (!RESERVED_ZERO(out->reserved))
		return bad(ret_why, "EXIT reserved field is not zero");
	if (out->how != CLD_EXITED && out->how != CLD_KILLED && out->how != CLD_DUMPED)
		return bad(ret_why, "EXIT has an unknown si_code");
	if (out->status < 0 || out->status > 255)
		return bad(ret_why, "EXIT status out of range");
	if (out->fault_signo < 0 || out->fault_signo >= 65 ||
	    (!out->fault_signo && out->fault_code))
		return bad(ret_why, "EXIT fault signal out of range");
	return 0;
}

int ph__parse_crash(const struct ph_msg *msg, struct ph_msg_crash *out, const uint8_t **ret_stack,
		    const char **ret_why)
{
	struct cursor c = cursor_of(msg);

	if (msg->hdr.type != PH_MSG_CRASH || take(&c, out, sizeof(*out)) < 0)
		return bad(ret_why, "CRASH message too short");
	if (!RESERVED_ZERO(out->reserved))
		return bad(ret_why, "CRASH reserved field is not zero");
	if (out->signo <= 0 || out->signo >= 65)
		return bad(ret_why, "CRASH signal out of range");
	if (out->stack_len > PH_CRASH_STACK_MAX || out->stack_len % 8 != 0)
		return bad(ret_why, "CRASH stack longer than allowed or not in whole words");
	if (c.left != out->stack_len)
		return bad(ret_why, "CRASH message length differs from its stack length");
	*ret_stack = c.p;
	return 0;
}

int ph__parse_mem(const struct ph_msg *msg, const char **ret_why)
{
	struct cursor c = cursor_of(msg);
	struct ph_msg_mem m;

	if (msg->hdr.type != PH_MSG_MEM || take(&c, &m, sizeof(m)) < 0)
		return bad(ret_why, "MEM message too short");
	if (!RESERVED_ZERO(m.reserved))
		return bad(ret_why, "MEM reserved field is not zero");
	if (c.left != 0)
		return bad(ret_why, "MEM message has trailing bytes");
	if (msg->nfds != 1)
		return bad(ret_why, "MEM carries no fd, or more than one");
	return 0;
}
