/* SPDX-License-Identifier: MIT */
/*
 * A plugin instance as the host sees it: the handshake, the event pump
 * (control socket, pidfd, seccomp listener, ring), calls, and the end of the
 * instance. Everything the child says is checked against the state it is
 * in; anything out of place ends the instance as a protocol violation.
 */
#include <errno.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "internal.h"
#include "sandbox.h"
#include "seal.h"

#define HANDSHAKE_TIMEOUT_MS 10000
#define EOF_GRACE_MS	     1000
#define LOG_LINES_PER_CALL   1000

static struct ph_msg *msg_buf(void)
{
	/* 64 KiB per message: one per thread, not on the stack. */
	static __thread struct ph_msg *m;

	if (!m)
		m = malloc(sizeof(*m));
	return m;
}

/* ------------------------------------------------------------ lifecycle */

void ph__plugin_set_end(struct ph_plugin *p, const struct ph_result *r)
{
	if (p->end_set)
		return;
	p->end = *r;
	p->end_set = 1;
}

static void usage_from(struct ph_result *r, const struct rusage *ru)
{
	r->usage.user_usec =
	    (uint64_t)ru->ru_utime.tv_sec * 1000000u + (uint64_t)ru->ru_utime.tv_usec;
	r->usage.sys_usec =
	    (uint64_t)ru->ru_stime.tv_sec * 1000000u + (uint64_t)ru->ru_stime.tv_usec;
	r->usage.max_rss_kib = (uint64_t)ru->ru_maxrss;
}

static void deliver_leftovers(struct ph_plugin *p);

/* Take init's report of the plugin's end, if it sent one, in place of
 * init's own status. Init is trusted (it never runs plugin code, and the
 * plugin never holds this channel), but its message is parsed strictly. */
static void read_exit(struct ph_plugin *p, siginfo_t *si, struct rusage *ru)
{
	struct ph_msg *m = msg_buf();
	struct ph_msg_exit ex;

	if (m && ph__msg_recv(p->sup, m, MSG_DONTWAIT, NULL) == 1) {
		if (ph__parse_exit(m, &ex, NULL) == 0) {
			si->si_code = ex.how;
			si->si_status = ex.status;
			memset(ru, 0, sizeof(*ru));
			ru->ru_utime.tv_sec = (time_t)(ex.user_usec / 1000000u);
			ru->ru_utime.tv_usec = (suseconds_t)(ex.user_usec % 1000000u);
			ru->ru_stime.tv_sec = (time_t)(ex.sys_usec / 1000000u);
			ru->ru_stime.tv_usec = (suseconds_t)(ex.sys_usec % 1000000u);
			ru->ru_maxrss = (long)ex.max_rss_kib;
		}
		ph__msg_close_fds(m);
	}
	close(p->sup);
	p->sup = -1;
}

/* Reap the child (blocking) and settle how the instance ended. */
static void reap(struct ph_plugin *p)
{
	siginfo_t si;
	struct rusage ru;
	struct ph_result r;
	long w;

	if (p->pidfd < 0)
		return;
	memset(&si, 0, sizeof(si));
	memset(&ru, 0, sizeof(ru));
	do
		w = syscall(SYS_waitid, P_PIDFD, p->pidfd, &si, WEXITED | __WALL, &ru);
	while (w < 0 && errno == EINTR);

	/* With a pid namespace the child we reaped is the plugin's init; it
	 * told us on the supervisor channel how the plugin itself ended. */
	if (p->sup >= 0)
		read_exit(p, &si, &ru);

	if (si.si_code == CLD_EXITED) {
		ph__result_init(&r, PH_RESULT_EXITED);
		r.code = si.si_status;
	} else if (si.si_status == SIGSYS) {
		/* Killed by a seccomp kill action: only the fallback mode
		 * (no user notification) gets here, and the kernel did not
		 * say which syscall. */
		ph__result_init(&r, PH_RESULT_VIOLATION);
	} else {
		ph__result_init(&r, PH_RESULT_CRASHED);
		r.crash.signo = si.si_status;
		r.crash.si_code = si.si_code;
	}
	ph__plugin_set_end(p, &r);
	usage_from(&p->end, &ru);

	close(p->pidfd);
	p->pidfd = -1;
	if (p->state == PH_STATE_IN_CALL)
		deliver_leftovers(p);
	p->state = PH_STATE_DEAD;
	if (p->sock >= 0)
		close(p->sock);
	if (p->listener >= 0)
		close(p->listener);
	p->sock = p->listener = -1;
}

void ph__plugin_kill(struct ph_plugin *p, const struct ph_result *why)
{
	if (why)
		ph__plugin_set_end(p, why);
	if (p->pidfd < 0)
		return;
	/* Through the pidfd: the pid cannot have been recycled under us. */
	syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
	p->killed = 1;
	reap(p);
}

static void kill_protocol(struct ph_plugin *p, const char *why)
{
	struct ph_result r;

	ph__result_protocol(&r, why);
	ph__plugin_kill(p, &r);
}

/* ------------------------------------------------------------- messages */

/* Copy hostile text into a printable, NUL-terminated host string. */
static char *clean_strdup(struct ph_str s)
{
	char *out = malloc(s.len + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < s.len; i++)
		out[i] = s.p[i] >= 0x20 && s.p[i] < 0x7f ? s.p[i] : '?';
	out[s.len] = '\0';
	return out;
}

static void clean_copy(char *dst, size_t dst_len, struct ph_str s)
{
	size_t n = s.len < dst_len - 1 ? s.len : dst_len - 1;

	for (size_t i = 0; i < n; i++)
		dst[i] = s.p[i] >= 0x20 && s.p[i] < 0x7f ? s.p[i] : '?';
	dst[n] = '\0';
}

static int on_sandboxed(struct ph_plugin *p, struct ph_msg *m)
{
	struct ph_msg_sandboxed sb;
	const char *why;

	if (ph__parse_sandboxed(m, &sb, &why) < 0) {
		kill_protocol(p, why);
		return -EPROTO;
	}
	if (m->nfds == 1) {
		/* The runner sent this before any plugin code ran, so the fd is
		 * the runner's; still make sure it is a seccomp listener (an
		 * unknown id is ENOENT there, ENOTTY or EINVAL elsewhere). */
		uint64_t id = 0;

		if (ioctl(m->fds[0], SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0 || errno != ENOENT) {
			kill_protocol(p, "SANDBOXED carried an fd that is not a seccomp listener");
			return -EPROTO;
		}
		p->listener = m->fds[0];
		m->fds[0] = -1;
	}
	p->layers = sb.layers;
	p->state = PH_STATE_LOADING;
	return 0;
}

static int on_loaded(struct ph_plugin *p, struct ph_msg *m)
{
	struct ph_loaded_view *v = malloc(sizeof(*v));
	const char *why;

	if (!v)
		return -ENOMEM;
	if (ph__parse_loaded(m, v, &why) < 0) {
		free(v);
		kill_protocol(p, why);
		return -EPROTO;
	}
	p->name = clean_strdup(v->name);
	p->version = clean_strdup(v->version);
	p->methods = calloc(v->n_methods ? v->n_methods : 1, sizeof(char *));
	if (!p->name || !p->version || !p->methods) {
		free(v);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < v->n_methods; i++) {
		p->methods[i] = clean_strdup(v->methods[i]);
		if (!p->methods[i]) {
			free(v);
			return -ENOMEM;
		}
		p->n_methods = i + 1;
	}
	free(v);
	/* From now on the loader's syscalls are violations (stage 2). */
	p->state = PH_STATE_IDLE;
	return 0;
}

static int on_setup_failed(struct ph_plugin *p, struct ph_msg *m)
{
	struct ph_failed_view v;
	struct ph_result r;
	const char *why;
	char text[sizeof(r.message)];

	if (ph__parse_failed(m, &v, &why) < 0) {
		kill_protocol(p, why);
		return -EPROTO;
	}
	clean_copy(text, sizeof(text), v.msg);
	ph__result_setup(&r, (int)v.fixed.step, v.fixed.err, "%s", text);
	ph__plugin_kill(p, &r);
	return -EPROTO;
}

/* Output sink: count, then hand to the caller's callback. */
static int deliver(void *userdata, const void *buf, size_t len)
{
	struct ph_plugin *p = userdata;

	p->call.received += len;
	if (p->call.fn)
		return p->call.fn(p->call.userdata, buf, len);
	return 0;
}

/* Drain the ring for the current call. Returns 0 or negative when the
 * instance was killed (protocol) or the sink refused. */
static int drain_ring(struct ph_plugin *p)
{
	const char *why = NULL;
	int64_t n;

	n = ph__ring_consume(&p->ring, p->call.id, deliver, p, UINT64_MAX, &why);
	if (n == -EPROTO) {
		kill_protocol(p, why);
		return -EPROTO;
	}
	if (n < 0) {
		struct ph_result r;

		ph__result_init(&r, PH_RESULT_CRASHED);
		r.crash.signo = SIGKILL;
		snprintf(r.message, sizeof(r.message),
			 "killed by the host: the output callback failed (%s)", strerror((int)-n));
		ph__plugin_kill(p, &r);
		return (int)n;
	}
	return 0;
}

/* The child died mid-call: hand over what it managed to publish. */
static void deliver_leftovers(struct ph_plugin *p)
{
	ph__ring_consume(&p->ring, p->call.id, deliver, p, UINT64_MAX, NULL);
}

static int on_done(struct ph_plugin *p, struct ph_msg *m)
{
	struct ph_done_view v;
	struct ph_result *r = &p->call.result;
	const char *why;
	int rr;

	if (ph__parse_done(m, &v, &why) < 0) {
		kill_protocol(p, why);
		return -EPROTO;
	}
	if (m->hdr.call_id != p->call.id) {
		kill_protocol(p, "DONE for a call that is not in progress");
		return -EPROTO;
	}
	/* The plugin published everything before DONE: take it all now. */
	rr = drain_ring(p);
	if (rr < 0)
		return rr;
	if (v.fixed.output_bytes != p->call.received) {
		kill_protocol(p, "DONE reports a different output size than the ring delivered");
		return -EPROTO;
	}
	switch (v.fixed.status) {
	case PH_DONE_OK:
		ph__result_init(r, PH_RESULT_OK);
		break;
	default:
		ph__result_init(r, PH_RESULT_PLUGIN_ERROR);
		r->code = v.fixed.status == PH_DONE_ERROR ? v.fixed.code : -1;
		clean_copy(r->message, sizeof(r->message), v.msg);
		break;
	}
	p->call.done = 1;
	p->state = PH_STATE_IDLE;
	return 0;
}

static void on_log(struct ph_plugin *p, struct ph_msg *m)
{
	static const enum ph_log_severity sev[] = {PH_SEV_ERROR, PH_SEV_WARN, PH_SEV_INFO,
						   PH_SEV_DEBUG};
	struct ph_log_view v;
	const char *why;
	char text[PH_TEXT_MAX + 1];

	if (ph__parse_log(m, &v, &why) < 0) {
		kill_protocol(p, why);
		return;
	}
	if (m->hdr.call_id != p->call.id) {
		kill_protocol(p, "LOG for a call that is not in progress");
		return;
	}
	/* Bounded per call: a chatty plugin cannot flood the host's log. */
	if (++p->call.log_lines > LOG_LINES_PER_CALL) {
		if (p->call.log_lines == LOG_LINES_PER_CALL + 1)
			ph__log(
			    p->host, p, PH_SEV_WARN,
			    "plugin '%s': more than %d log lines in one call, dropping the rest",
			    p->name, LOG_LINES_PER_CALL);
		return;
	}
	clean_copy(text, sizeof(text), v.text);
	ph__log(p->host, p, sev[v.level], "%s", text);
}

/* Handle one message in the current state. */
static int dispatch(struct ph_plugin *p, struct ph_msg *m)
{
	const uint16_t t = m->hdr.type;

	switch (p->state) {
	case PH_STATE_SPAWNING:
		if (t == PH_MSG_SANDBOXED)
			return on_sandboxed(p, m);
		if (t == PH_MSG_SETUP_FAILED)
			return on_setup_failed(p, m);
		break;
	case PH_STATE_LOADING:
		if (t == PH_MSG_LOADED)
			return on_loaded(p, m);
		if (t == PH_MSG_SETUP_FAILED)
			return on_setup_failed(p, m);
		break;
	case PH_STATE_IN_CALL:
		if (t == PH_MSG_DONE)
			return on_done(p, m);
		if (t == PH_MSG_LOG) {
			on_log(p, m);
			return 0;
		}
		if (t == PH_MSG_DOORBELL)
			return 0;
		break;
	case PH_STATE_IDLE:
		/* A doorbell can trail the last call; harmless. */
		if (t == PH_MSG_DOORBELL)
			return 0;
		break;
	case PH_STATE_DEAD:
		return 0;
	}
	kill_protocol(p, "unexpected message type for the instance's state");
	return -EPROTO;
}

/* Read every waiting message. Returns 1 on EOF, 0 otherwise. */
static int read_messages(struct ph_plugin *p)
{
	struct ph_msg *m = msg_buf();
	const char *why;

	if (!m)
		return 0;
	while (p->sock >= 0) {
		int r = ph__msg_recv(p->sock, m, MSG_DONTWAIT, &why);

		if (r == -EAGAIN)
			return 0;
		if (r == 0)
			return 1;
		if (r == -EBADMSG) {
			kill_protocol(p, why);
			return 0;
		}
		if (r < 0)
			return 1; /* ECONNRESET and the like: treat as EOF */
		r = dispatch(p, m);
		ph__msg_close_fds(m);
		if (r < 0)
			return 0;
		/* Handshake messages change what comes next: let the caller
		 * look at the new state before reading on. */
		if (p->state != PH_STATE_IN_CALL)
			return 0;
	}
	return 0;
}

/* --------------------------------------------------- seccomp notifications */

static void handle_notification(struct ph_plugin *p)
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
		if (ioctl(p->listener, SECCOMP_IOCTL_NOTIF_SEND, resp) == 0)
			return;
	}

	/* Anything else: the kernel tells us what was refused; kill. */
	ph__result_init(&r, PH_RESULT_VIOLATION);
	r.violation.nr = n->data.nr;
	r.violation.arch = n->data.arch;
	memcpy(r.violation.args, n->data.args, sizeof(r.violation.args));
	ph__syscall_describe(n->data.arch, n->data.nr, r.violation.args, r.violation.name,
			     sizeof(r.violation.name), r.message, sizeof(r.message));
	ph__plugin_kill(p, &r);
}

static int notif_setup(struct ph_plugin *p)
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

/* ------------------------------------------------------------------ pump */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The control socket closed: give the child a moment to finish dying,
 * then kill it, since it can take no more calls either way. */
static void on_eof(struct ph_plugin *p)
{
	struct pollfd pfd = {.fd = p->pidfd, .events = POLLIN};

	if (poll(&pfd, 1, EOF_GRACE_MS) == 1)
		reap(p);
	else
		kill_protocol(p, "closed its control channel but did not exit");
}

int ph__plugin_pump(struct ph_plugin *p, enum ph_plugin_state while_state, int timeout_ms)
{
	const int64_t deadline = timeout_ms < 0 ? INT64_MAX : now_ms() + timeout_ms;

	while (p->state == while_state) {
		struct pollfd pfd[3];
		int nfds = 0, wait_ms, r;

		if (p->state == PH_STATE_IN_CALL) {
			if (drain_ring(p) < 0)
				break;
			/* Ask for a doorbell; if data slipped in, go round. */
			if (ph__ring_consumer_want_doorbell(&p->ring))
				continue;
		}

		pfd[nfds++] = (struct pollfd){.fd = p->sock, .events = POLLIN};
		pfd[nfds++] = (struct pollfd){.fd = p->pidfd, .events = POLLIN};
		if (p->listener >= 0)
			pfd[nfds++] = (struct pollfd){.fd = p->listener, .events = POLLIN};

		if (deadline == INT64_MAX)
			wait_ms = -1;
		else {
			int64_t left = deadline - now_ms();
			wait_ms = left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
		}
		r = poll(pfd, (nfds_t)nfds, wait_ms);
		if (p->state == PH_STATE_IN_CALL)
			ph__ring_consumer_no_doorbell(&p->ring);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;

		/* Seccomp first: a refused syscall blocks the plugin, and the
		 * kernel's word on it beats anything the plugin says. */
		if (nfds == 3 && (pfd[2].revents & POLLIN))
			handle_notification(p);
		if (p->state == PH_STATE_DEAD)
			break;
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (read_messages(p) && p->state != PH_STATE_DEAD) {
				on_eof(p);
				break;
			}
		}
		if (p->state == PH_STATE_DEAD)
			break;
		if (pfd[1].revents & POLLIN) {
			/* Dead: messages it sent before dying still count. */
			if (read_messages(p) == 0 && p->state == PH_STATE_DEAD)
				break;
			reap(p);
		}
	}
	return 0;
}

/* ------------------------------------------------------------- public API */

PH_EXPORT void ph_plugin_config_init(struct ph_plugin_config *cfg)
{
	if (cfg)
		memset(cfg, 0, sizeof(*cfg));
}

static void plugin_free(struct ph_plugin *p)
{
	if (!p)
		return;
	if (p->pidfd >= 0)
		ph__plugin_kill(p, NULL);
	if (p->sock >= 0)
		close(p->sock);
	if (p->listener >= 0)
		close(p->listener);
	if (p->sup >= 0)
		close(p->sup);
	if (p->ring_map)
		munmap(p->ring_map, p->ring_map_len);
	ph__ring_consumer_fini(&p->ring);
	for (size_t i = 0; i < p->n_methods; i++)
		free(p->methods[i]);
	free(p->methods);
	free(p->name);
	free(p->version);
	free(p->notif_buf);
	free(p);
}

PH_EXPORT void ph_plugin_destroy(struct ph_plugin *plugin)
{
	plugin_free(plugin);
}

/* Create, size, map and seal the output ring. Returns the fd or -errno. */
static int ring_create(struct ph_plugin *p, uint64_t capacity)
{
	_cleanup_close_ int fd = ph__memfd_create("plughost-ring");
	const char *why;
	int r;

	if (fd < 0)
		return fd;
	p->ring_map_len = PH_RING_HDR_SIZE + capacity;
	if (ftruncate(fd, (off_t)p->ring_map_len) < 0)
		return -errno;
	p->ring_map = mmap(NULL, p->ring_map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p->ring_map == MAP_FAILED) {
		p->ring_map = NULL;
		return -errno;
	}
	/* Fixed size for good (a shrink would SIGBUS the host), but never
	 * WRITE-sealed: both sides must keep writing. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return -errno;
	r = ph__seal_check(fd, PH_SEAL_KIND_RING, p->ring_map_len, UINT64_MAX, NULL, &why);
	if (r < 0)
		return r;
	r = ph__ring_consumer_init(&p->ring, p->ring_map, capacity);
	if (r < 0)
		return r;
	return TAKE_FD(fd);
}

static const char *layer_names[] = {
    "userns", "pidns", "netns",	   "ipcns",   "mntns",	 "utsns",  "cgroupns",
    "caps",   "nnp",   "landlock", "rlimits", "seccomp", "notify", "landlock-net",
};

PH_EXPORT const char *ph_layer_name(uint32_t bit)
{
	if (!bit || (bit & (bit - 1)))
		return NULL;
	unsigned i = (unsigned)__builtin_ctz(bit);
	return i < sizeof(layer_names) / sizeof(layer_names[0]) ? layer_names[i] : NULL;
}

/* Decide the sandbox for this instance, or say why it cannot have it. */
static int plan_sandbox(const struct ph_plugin_config *cfg, uint64_t *ret_clone_flags,
			int *ret_seccomp, int *ret_notify, struct ph_result *fail)
{
	const struct ph__features *f = ph__probe();
	const char *missing = NULL;
	int r;

	*ret_clone_flags = 0;
	*ret_seccomp = *ret_notify = 0;
	if (cfg->unsandboxed) {
		if (cfg->require) {
			ph__result_setup(fail, PH_STEP_SPAWN, EINVAL,
					 "layers were required but the sandbox is off");
			return -EINVAL;
		}
		return 0;
	}
	r = ph__ns_plan(f, cfg->require, ret_clone_flags, &missing);
	if (r < 0) {
		ph__result_setup(fail, PH_STEP_USERNS, EPERM,
				 "required layer '%s' is not available on this system", missing);
		return r;
	}
	*ret_seccomp = f->seccomp;
	*ret_notify =
	    f->seccomp && f->seccomp_notify && f->seccomp_continue && !cfg->seccomp_kill_mode;
	if ((cfg->require & PH_REQUIRE_SECCOMP) && !*ret_seccomp) {
		ph__result_setup(fail, PH_STEP_SECCOMP, ENOSYS,
				 "required layer 'seccomp' is not available on this kernel");
		return -EPERM;
	}
	if ((cfg->require & PH_REQUIRE_NOTIFY) && !*ret_notify) {
		ph__result_setup(fail, PH_STEP_SECCOMP, ENOSYS,
				 "required layer 'notify' (seccomp user notification) is not "
				 "available on this kernel");
		return -EPERM;
	}
	return 0;
}

static int send_setup(struct ph_plugin *p, const char *path, const struct ph_plugin_config *cfg,
		      uint64_t capacity, uint64_t clone_flags, int ring_fd, int prog_fd, int notify)
{
	struct ph_msg_setup s = {
	    .ring_capacity = capacity,
	    .path_len = (uint32_t)strlen(path),
	    .ns_flags = (uint32_t)clone_flags,
	    .require = cfg->require,
	};
	int fds[2] = {ring_fd, prog_fd};

	if (!cfg->unsandboxed)
		s.flags |= PH_SETUP_SANDBOX;
	if (p->sup >= 0)
		s.flags |= PH_SETUP_SUPERVISE;
	if (prog_fd >= 0)
		s.flags |= PH_SETUP_SECCOMP | (notify ? PH_SETUP_SECCOMP_LISTEN : 0);
	return ph__msg_send2(p->sock, PH_MSG_SETUP, 0, &s, sizeof(s), path, s.path_len, fds,
			     prog_fd >= 0 ? 2 : 1);
}

/* Wait out one handshake state; a silent runner is a setup failure. */
static void handshake(struct ph_plugin *p, enum ph_plugin_state st)
{
	struct ph_result r;

	if (p->state != st)
		return;
	if (ph__plugin_pump(p, st, HANDSHAKE_TIMEOUT_MS) == -ETIMEDOUT) {
		ph__result_setup(&r, PH_STEP_HANDSHAKE, ETIMEDOUT,
				 "the runner did not answer within %d ms", HANDSHAKE_TIMEOUT_MS);
		ph__plugin_kill(p, &r);
	}
}

PH_EXPORT int ph_plugin_spawn(struct ph_host *host, const char *path,
			      const struct ph_plugin_config *cfg_in, struct ph_plugin **ret_plugin,
			      struct ph_result *ret_failure)
{
	struct ph_plugin_config cfg;
	struct ph_result fail;
	struct ph_plugin *p = NULL;
	_cleanup_close_ int ring_fd = -1, prog_fd = -1;
	uint64_t capacity, clone_flags;
	char why[128], *abs = NULL;
	int r, seccomp, notify;

	if (!host || !path || !ret_plugin)
		return -EINVAL;
	if (cfg_in)
		cfg = *cfg_in;
	else
		ph_plugin_config_init(&cfg);
	capacity = cfg.ring_size ? cfg.ring_size : PH_RING_DEFAULT_CAPACITY;
	if (capacity < PH_RING_MIN_CAPACITY || capacity > PH_RING_MAX_CAPACITY ||
	    (capacity & (capacity - 1)))
		return -EINVAL;

	ph__result_init(&fail, PH_RESULT_SETUP_FAILED);
	r = ph__check_plugin_file(path, why, sizeof(why));
	if (r < 0) {
		ph__result_setup(&fail, PH_STEP_LOAD, r == -ENOEXEC ? 0 : -r,
				 "cannot load '%s': %s", path, why);
		goto out;
	}
	abs = realpath(path, NULL);
	if (!abs) {
		r = -errno;
		ph__result_setup(&fail, PH_STEP_LOAD, -r, "cannot resolve '%s'", path);
		goto out;
	}

	p = calloc(1, sizeof(*p));
	if (!p) {
		r = -ENOMEM;
		goto out;
	}
	p->host = host;
	p->sock = p->pidfd = p->listener = p->sup = -1;
	p->state = PH_STATE_SPAWNING;

	ring_fd = ring_create(p, capacity);
	if (ring_fd < 0) {
		r = ring_fd;
		ph__result_setup(&fail, PH_STEP_RING, -r, "cannot create the output ring");
		goto out;
	}
	r = plan_sandbox(&cfg, &clone_flags, &seccomp, &notify, &fail);
	if (r < 0)
		goto out;
	if (notify && (r = notif_setup(p)) < 0) {
		ph__result_setup(&fail, PH_STEP_SECCOMP, -r, "cannot size seccomp notifications");
		goto out;
	}
	r = ph__spawn_runner(p, host->runner_path, clone_flags, &fail);
	if (r < 0)
		goto out;
	if (seccomp) {
		/* In its own pid namespace the plugin is pid 2, under init. */
		prog_fd = ph__policy_compile(cfg.policy, notify,
					     (clone_flags & CLONE_NEWPID) ? 2 : p->pid);
		if (prog_fd < 0) {
			r = prog_fd;
			ph__result_setup(&fail, PH_STEP_SECCOMP, -r,
					 "cannot compile the seccomp policy");
			goto out;
		}
	}
	r = send_setup(p, abs, &cfg, capacity, clone_flags, ring_fd, prog_fd, notify);
	if (r < 0 && r != -EPIPE && r != -ECONNRESET) {
		ph__result_setup(&fail, PH_STEP_HANDSHAKE, -r, "cannot send SETUP to the runner");
		goto out;
	}

	handshake(p, PH_STATE_SPAWNING);
	handshake(p, PH_STATE_LOADING);
	if (p->state != PH_STATE_IDLE) {
		fail = p->end;
		r = -EPROTO;
		goto out;
	}
	if ((p->layers & cfg.require) != cfg.require) {
		uint32_t missing = cfg.require & ~p->layers;
		ph__result_setup(&fail, PH_STEP_SPAWN, EPERM, "required layer '%s' did not come up",
				 ph_layer_name(missing & -missing) ?: "?");
		r = -EPROTO;
		goto out;
	}
	*ret_plugin = p;
	p = NULL;
	r = 0;
out:
	if (r < 0 && ret_failure)
		*ret_failure = fail;
	plugin_free(p);
	free(abs);
	return r;
}

PH_EXPORT const char *ph_plugin_name(const struct ph_plugin *p)
{
	return p ? p->name : NULL;
}

PH_EXPORT const char *ph_plugin_version(const struct ph_plugin *p)
{
	return p ? p->version : NULL;
}

PH_EXPORT size_t ph_plugin_method_count(const struct ph_plugin *p)
{
	return p ? p->n_methods : 0;
}

PH_EXPORT const char *ph_plugin_method_name(const struct ph_plugin *p, size_t i)
{
	return p && i < p->n_methods ? p->methods[i] : NULL;
}

PH_EXPORT uint32_t ph_plugin_layers(const struct ph_plugin *p)
{
	return p ? p->layers : 0;
}

PH_EXPORT int ph_plugin_pid(const struct ph_plugin *p)
{
	return p ? p->pid : -1;
}

PH_EXPORT int ph_plugin_alive(const struct ph_plugin *p)
{
	return p && p->state != PH_STATE_DEAD;
}

static int has_method(const struct ph_plugin *p, const char *method)
{
	for (size_t i = 0; i < p->n_methods; i++)
		if (strcmp(p->methods[i], method) == 0)
			return 1;
	return 0;
}

PH_EXPORT int ph_plugin_call(struct ph_plugin *p, const char *method, struct ph_blob *const *inputs,
			     size_t n, ph_output_fn out_fn, void *userdata,
			     struct ph_result *ret_result)
{
	uint8_t payload[sizeof(struct ph_msg_call) + sizeof(uint64_t) * PH_INPUTS_MAX];
	struct ph_msg_call fixed = {.n_inputs = (uint32_t)n};
	int fds[PH_INPUTS_MAX];
	size_t mlen, off = sizeof(fixed);
	int r;

	if (!p || !method || (!inputs && n) || n > PH_INPUTS_MAX || !ret_result)
		return -EINVAL;
	mlen = strlen(method);
	if (mlen == 0 || mlen > PH_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!inputs[i] || !inputs[i]->sealed)
			return -EINVAL;
		fds[i] = inputs[i]->fd;
		memcpy(payload + off, &(uint64_t){inputs[i]->size}, sizeof(uint64_t));
		off += sizeof(uint64_t);
	}
	if (p->state == PH_STATE_DEAD) {
		*ret_result = p->end;
		ret_result->output_bytes = 0;
		return 0;
	}
	if (p->state != PH_STATE_IDLE)
		return -EBUSY;
	if (!has_method(p, method))
		return -ENOENT;

	fixed.method_len = (uint16_t)mlen;
	memcpy(payload, &fixed, sizeof(fixed));
	p->call.id = ++p->next_call_id;
	p->call.fn = out_fn;
	p->call.userdata = userdata;
	p->call.received = 0;
	p->call.done = 0;
	p->call.log_lines = 0;
	ph__result_init(&p->call.result, PH_RESULT_OK);

	r = ph__msg_send2(p->sock, PH_MSG_CALL, p->call.id, payload, off, method, mlen, fds,
			  (unsigned)n);
	if (r < 0 && r != -EPIPE && r != -ECONNRESET)
		return r;
	/* On EPIPE the child is dying: the pump below learns how. */
	p->state = PH_STATE_IN_CALL;
	r = ph__plugin_pump(p, PH_STATE_IN_CALL, -1);
	if (r < 0)
		return r;
	if (p->state == PH_STATE_DEAD && !p->call.done)
		p->call.result = p->end;
	p->call.result.output_bytes = p->call.received;
	*ret_result = p->call.result;
	return 0;
}

struct collect {
	char *buf;
	size_t len, cap;
};

static int collect_sink(void *userdata, const void *buf, size_t len)
{
	struct collect *c = userdata;

	if (c->len + len + 1 > c->cap) {
		size_t ncap = c->cap ? c->cap : 4096;
		char *nb;

		while (ncap < c->len + len + 1)
			ncap *= 2;
		nb = realloc(c->buf, ncap);
		if (!nb)
			return -ENOMEM;
		c->buf = nb;
		c->cap = ncap;
	}
	memcpy(c->buf + c->len, buf, len);
	c->len += len;
	return 0;
}

PH_EXPORT int ph_plugin_call_collect(struct ph_plugin *p, const char *method,
				     struct ph_blob *const *inputs, size_t n, void **ret_buf,
				     size_t *ret_len, struct ph_result *ret_result)
{
	struct collect c = {0};
	int r;

	if (!ret_buf || !ret_len)
		return -EINVAL;
	r = ph_plugin_call(p, method, inputs, n, collect_sink, &c, ret_result);
	if (r < 0) {
		free(c.buf);
		return r;
	}
	if (!c.buf && !(c.buf = malloc(1))) {
		return -ENOMEM;
	}
	c.buf[c.len] = '\0';
	*ret_buf = c.buf;
	*ret_len = c.len;
	return 0;
}
