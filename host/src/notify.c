/* SPDX-License-Identifier: MIT */
/*
 * Seccomp user notifications: the kernel's own account of a syscall the
 * filter refused. While the plugin loads, the loader's syscalls go on;
 * anything else is a violation, named from the kernel's data, and kills.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "sandbox.h"

/* Let the notified call go on. Returns 1 when sent or no longer pending
 * (ENOENT: the task died, or a signal cut the call short and it comes
 * back as a new notification), 0 when the answer failed. */
static int send_continue(struct ph_plugin *p, const struct seccomp_notif *n)
{
	struct seccomp_notif_resp *resp =
	    (struct seccomp_notif_resp *)((char *)p->notif_buf + p->notif_size);

	memset(resp, 0, p->resp_size);
	resp->id = n->id;
	resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	return ioctl(p->listener, SECCOMP_IOCTL_NOTIF_SEND, resp) == 0 || errno == ENOENT;
}

/* The most bytes read at one pointer argument: a path longer than this
 * is shown cut ("..."), and a pointer into garbage costs one short read. */
#define MEM_READ_MAX 256u

/*
 * Read what the refused call's pointer arguments point at (paths, socket
 * addresses), for the report only: nothing is decided on these bytes,
 * which the plugin may change at any moment (another thread) and which
 * the kernel itself has not looked at yet. The read goes through
 * /proc/PID/mem with pread(): read-only, at most MEM_READ_MAX bytes per
 * argument into our own buffer, and an unmapped address is an error
 * (EIO), never a fault of ours. Then the notification must still be
 * pending (SECCOMP_IOCTL_NOTIF_ID_VALID): the task is the one that made
 * the call, and its pid was not reused for another process whose memory
 * we just read; if not, everything read is dropped. Fails quietly: what
 * cannot be read is shown as <unreadable>, and the report goes on.
 */
static void read_mem_args(struct ph_plugin *p, const struct seccomp_notif *n,
			  struct ph__sc_mem *mem, char bufs[6][MEM_READ_MAX])
{
	enum ph_sc_mem_kind kinds[6];
	char path[64];
	int fd, any = 0;

	memset(mem, 0, sizeof(*mem));
	if (ph__syscall_mem_args(n->data.arch, n->data.nr, kinds) == 0)
		return;
	snprintf(path, sizeof(path), "/proc/%u/mem", n->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	for (int i = 0; i < 6; i++) {
		struct ph__sc_mem_arg *a = &mem->arg[i];
		const uint64_t addr = n->data.args[i];
		size_t want = MEM_READ_MAX;
		ssize_t got;

		if (kinds[i] == PH_SC_MEM_KIND_NONE || addr == 0)
			continue;
		/* A socket address is as long as the next argument says. */
		if (kinds[i] == PH_SC_MEM_KIND_SOCKADDR && i < 5 && n->data.args[i + 1] < want)
			want = (size_t)n->data.args[i + 1];
		a->state = PH_SC_MEM_UNREADABLE;
		if (fd < 0 || addr > INT64_MAX)
			continue;
		do
			got = pread(fd, bufs[i], want, (off_t)addr);
		while (got < 0 && errno == EINTR);
		if (got <= 0)
			continue;
		a->bytes = bufs[i];
		if (kinds[i] == PH_SC_MEM_KIND_PATH) {
			const char *nul = memchr(bufs[i], '\0', (size_t)got);

			/* No NUL within what could be read: cut, and said so. */
			a->len = nul ? (size_t)(nul - bufs[i]) : (size_t)got;
			a->state = nul ? PH_SC_MEM_READ : PH_SC_MEM_TRUNCATED;
		} else {
			a->len = (size_t)got;
			a->state = PH_SC_MEM_READ;
		}
		any = 1;
	}
	safe_close(fd);
	if (any && ioctl(p->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &n->id) < 0)
		for (int i = 0; i < 6; i++)
			if (mem->arg[i].state != PH_SC_MEM_NONE)
				mem->arg[i] =
				    (struct ph__sc_mem_arg){.state = PH_SC_MEM_UNREADABLE};
}

void ph__notif_handle(struct ph_plugin *p)
{
	char bufs[6][MEM_READ_MAX];
	struct ph__sc_mem mem;
	struct seccomp_notif *n = p->notif_buf;
	struct seccomp_notif_resp *resp;
	struct ph_result r;

	memset(n, 0, p->notif_size);
	if (ioctl(p->listener, SECCOMP_IOCTL_NOTIF_RECV, n) < 0)
		return; /* ENOENT: the task died meanwhile; EINTR: poll again */

	/* Stage 1: while the plugin loads, the loader's own syscalls go on.
	 * CONTINUE is only safe because these are allowed anyway in this
	 * phase; the decision never depends on pointed-to memory. */
	if (p->state == PH_STATE_LOADING &&
	    ph__policy_loader_allows(n->data.arch, n->data.nr, (const uint64_t *)n->data.args)) {
		resp = (struct seccomp_notif_resp *)((char *)p->notif_buf + p->notif_size);
		memset(resp, 0, p->resp_size);
		resp->id = n->id;
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		/* ENOENT: no longer pending (the task died, or a signal cut
		 * the syscall short and it will come back as a new
		 * notification). Either way nothing was refused. */
		if (ioctl(p->listener, SECCOMP_IOCTL_NOTIF_SEND, resp) == 0 || errno == ENOENT)
			return;
	}

	/* Learning mode: a call beyond the policy that learning may grant is
	 * recorded and goes on; the rest (never allowed) kills as always. */
	if (p->cfg.learn && ph__learn_notif(p, n) && send_continue(p, n))
		return;

	/* Anything else: the kernel tells us what was refused; kill. */
	ph__result_init(&r, PH_RESULT_VIOLATION);
	r.violation.nr = n->data.nr;
	r.violation.arch = n->data.arch;
	memcpy(r.violation.args, n->data.args, sizeof(r.violation.args));
	read_mem_args(p, n, &mem, bufs);
	ph__syscall_describe_mem(n->data.arch, n->data.nr, r.violation.args, &mem, r.violation.name,
				 sizeof(r.violation.name), r.message, sizeof(r.message));
	ph__plugin_kill(p, &r);
}

void ph__notif_drop(struct ph_plugin *p)
{
	if (p->epfd >= 0)
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, p->listener, NULL);
	p->listener = safe_close(p->listener);
}

int ph__notif_setup(struct ph_plugin *p)
{
	struct seccomp_notif_sizes sizes;

	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
		return -errno;
	/* The kernel's structs may be larger than our headers' ones. */
	p->notif_size = sizes.seccomp_notif > sizeof(struct seccomp_notif)
			    ? sizes.seccomp_notif
			    : sizeof(struct seccomp_notif);
	p->resp_size = sizes.seccomp_notif_resp > sizeof(struct seccomp_notif_resp)
			   ? sizes.seccomp_notif_resp
			   : sizeof(struct seccomp_notif_resp);
	p->notif_buf = calloc(1, p->notif_size + p->resp_size);
	return p->notif_buf ? 0 : -ENOMEM;
}
