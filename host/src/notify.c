/* SPDX-License-Identifier: MIT */
/*
 * Seccomp user notifications: the kernel's own account of a syscall the
 * filter refused. While the plugin loads, the loader's syscalls go on;
 * anything else is a violation, named from the kernel's data, and kills.
 */
#include <errno.h>
#include <linux/seccomp.h>
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

void ph__notif_handle(struct ph_plugin *p)
{
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
	ph__syscall_describe(n->data.arch, n->data.nr, r.violation.args, r.violation.name,
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
