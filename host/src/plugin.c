/* SPDX-License-Identifier: MIT */
/*
 * Starting and stopping plugin instances: the output ring, the sandbox
 * plan, the runner, the handshake, restart; and what an instance says
 * about itself once started (sanitised by dispatch.c).
 */
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <limits.h>
#include <sys/timerfd.h>

#include "internal.h"
#include "sandbox.h"
#include "seal.h"

#define HANDSHAKE_TIMEOUT_MS 10000
#define DEFAULT_MAX_FDS	     64
#define DEFAULT_MAX_THREADS  16
#define PH__STR2(x)	     #x
#define PH__STR(x)	     PH__STR2(x)

/* ------------------------------------------------------------- public API */

PH_EXPORT void ph_plugin_config_init(struct ph_plugin_config *cfg)
{
	if (cfg)
		memset(cfg, 0, sizeof(*cfg));
}

/* Kill and reap the child if alive and release everything of this run,
 * keeping what restart needs (host, path, configuration). */
static void plugin_stop(struct ph_plugin *p)
{
	if (p->pidfd >= 0)
		ph__plugin_kill(p, NULL);
	/* A call still feeding a stream (freed or restarted mid-call) lets
	 * go of it, with the epoll fd and the ring still there. */
	ph__stream_stop(p);
	p->reads_streams = 0;
	p->sock = safe_close(p->sock);
	p->listener = safe_close(p->listener);
	p->sup = safe_close(p->sup);
	p->pidfd = safe_close(p->pidfd);
	p->plugin_pidfd = safe_close(p->plugin_pidfd);
	p->epfd = safe_close(p->epfd);
	p->timerfd = safe_close(p->timerfd);
	p->timer_armed = 0;
	p->wake_rd = safe_close(p->wake_rd);
	ph__stdio_close(p);
	ph__symbols_free(p);
	p->stat_fd = safe_close(p->stat_fd);
	p->status_fd = safe_close(p->status_fd);
	if (p->ring_map)
		munmap(p->ring_map, p->ring_map_len);
	p->ring_map = NULL;
	ph__ring_consumer_fini(&p->ring);
	for (size_t i = 0; i < p->n_methods; i++)
		free(p->methods[i]);
	free(p->methods);
	free(p->name);
	free(p->version);
	free(p->notif_buf);
	p->methods = NULL;
	p->name = p->version = NULL;
	p->notif_buf = NULL;
	p->n_methods = 0;
	p->state = PH_STATE_DEAD;
}

void ph__plugin_free_internal(struct ph_plugin *p)
{
	if (!p)
		return;
	plugin_stop(p);
	ph__metrics_free(p);
	p->intr_fd = safe_close(p->intr_fd);
	free(p->prog[0].insns);
	free(p->prog[1].insns);
	ph_policy_free(p->policy);
	ph__grants_free(&p->grants);
	ph__allow_read_free(p->allow_read, p->cfg.n_allow_read);
	free(p->given_path);
	free(p->path);
	free(p);
}

int ph__refuse_in_callback(const struct ph_plugin *p, const char *fn)
{
	/* The log callback may itself try again: say it once per thread. */
	static __thread int refusing;

	if (!refusing) {
		refusing = 1;
		ph__log(p->host, NULL, PH_ERROR,
			"%s() called for plugin '%s' from its own output callback (or from "
			"one of a call further up this thread's stack): refused, the instance "
			"is left as it is",
			fn, p->name ? p->name : "?");
		refusing = 0;
	}
	return -EBUSY;
}

PH_EXPORT void ph_plugin_free(struct ph_plugin *plugin)
{
	/* Freeing it under its own call would leave that call running on
	 * freed memory: refused (docs/threads.md). */
	if (plugin && plugin->in_callback) {
		ph__refuse_in_callback(plugin, "ph_plugin_free");
		return;
	}
	ph__plugin_free_internal(plugin);
}

/* Create, size, map and seal the ring memfd: the output ring, the call
 * slot and the input ring. Returns the fd or -errno. */
static int ring_create(struct ph_plugin *p, uint64_t capacity)
{
	_cleanup_close_ int fd = ph__memfd_create("plughost-ring");
	const char *why;
	int r;

	if (fd < 0)
		return fd;
	p->ring_map_len = ph_ring_memfd_size(capacity);
	if (ftruncate(fd, (off_t)p->ring_map_len) < 0)
		return -errno;
	/* Memory the plugin writes stays out of the application's own
	 * fork()ed children too. */
	p->ring_map = ph__mmap_shared_nofork(fd, p->ring_map_len);
	if (!p->ring_map)
		return -errno;
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
	ph__inring_init(&p->in_ring, p->ring_map, capacity);
	return TAKE_FD(fd);
}

PH_EXPORT const char *ph_layer_name(uint32_t bit)
{
	return ph__layer_name(bit);
}

/* Decide the sandbox for this instance, or say why it cannot have it. */
static int plan_sandbox(const struct ph_plugin_config *cfg, uint64_t *ret_clone_flags,
			int *ret_seccomp, int *ret_notify, int *ret_assumed, struct ph_result *fail)
{
	const struct ph__features *f = ph__probe_assumed(ret_assumed);
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
				 "required layer '%s' is not available on this system ('plughost "
				 "info' says why; run where it is, or stop requiring it)",
				 missing);
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
		      uint64_t capacity, uint64_t clone_flags, int ring_fd, int plugin_fd,
		      int wake_wr, int prog_fd, int notify)
{
	struct ph_msg_setup s = {
	    .ring_capacity = capacity,
	    .path_len = (uint32_t)strlen(path),
	    .ns_flags = (uint32_t)clone_flags,
	    .require = cfg->require,
	    .n_grants = (uint32_t)p->grants.n,
	};
	int fds[4] = {ring_fd, plugin_fd, wake_wr, prog_fd};
	int r;

	/* Kernel-enforced backstops for the instance limits; the host's
	 * watchdog (watchdog.c) turns reaching them into a result. Init counts
	 * as one process. Memory: twice the limit plus room for the loader,
	 * so the watchdog sees resident memory cross the limit first. */
	s.rlimit_nofile = cfg->limits.max_fds;
	s.rlimit_nproc = cfg->limits.max_threads + 1;
	if (cfg->limits.memory_bytes)
		s.rlimit_as = cfg->limits.memory_bytes * 2 + (256u << 20);

	if (!cfg->unsandboxed)
		s.flags |= PH_SETUP_SANDBOX;
	if (p->sup >= 0)
		s.flags |= PH_SETUP_SUPERVISE;
	if (p->is_zygote) {
		s.flags |= PH_SETUP_ZYGOTE;
		/* RLIMIT_NPROC counts every process of the user namespace's
		 * uid, siblings included: the zygote's instances share one
		 * backstop, and the watchdog limits each one's threads. */
		s.rlimit_nproc = (cfg->limits.max_threads + 1) * PH_ZYGOTE_MAX_INSTANCES;
	}
	if (prog_fd >= 0)
		s.flags |= PH_SETUP_SECCOMP | (notify ? PH_SETUP_SECCOMP_LISTEN : 0);
	r = ph__msg_send2(p->sock, PH_MSG_SETUP, 0, &s, sizeof(s), path, s.path_len, fds,
			  prog_fd >= 0 ? 4 : 3);
	/* The grants right behind it, as SETUP announced. */
	if (r == 0)
		r = ph__grants_send(p->sock, &p->grants);
	return r;
}

/*
 * The stage 1 program of an instance with file grants: its policy (NULL:
 * the strict preset) with read-only opens kept after loading. Compiled
 * per start: grants are the instance's own, and a zygote compiles once
 * for all its instances.
 */
static int grants_prog(const struct ph_plugin_config *cfg, int notify)
{
	const struct ph__sb_policy *base = cfg->policy ? ph__policy_sb(cfg->policy) : NULL;
	struct ph__sb_policy sb = {0};

	if (base)
		sb = *base;
	sb.read_opens = 1;
	return ph__policy_compile(&sb, notify);
}

/*
 * A load error names the plugin by its path inside the sandbox
 * (/plugin/x.so, or /proc/self/fd/N without a view of its own): put the
 * path the caller gave in its place. The runner's text is untrusted: only
 * those exact forms are replaced, and the result is cut to fit.
 */
static void map_load_error(struct ph_plugin *p, struct ph_result *r)
{
	char inside[PATH_MAX], out[sizeof(r->message)];
	const char *name = strrchr(p->path, '/'), *m = r->message;
	size_t o = 0, il;

	if (r->kind != PH_RESULT_SETUP_FAILED ||
	    (r->setup_step != PH_STEP_LOAD && r->setup_step != PH_STEP_DESCRIPTOR) ||
	    !p->given_path)
		return;
	snprintf(inside, sizeof(inside), "/plugin/%s", name ? name + 1 : p->path);
	il = strlen(inside);
	while (*m && o + 1 < sizeof(out)) {
		size_t skip = 0;

		if (strncmp(m, inside, il) == 0)
			skip = il;
		else if (strncmp(m, "/proc/self/fd/", 14) == 0 && m[14] >= '0' && m[14] <= '9') {
			skip = 14;
			while (m[skip] >= '0' && m[skip] <= '9')
				skip++;
		}
		if (skip) {
			int n = snprintf(out + o, sizeof(out) - o, "%s", p->given_path);

			o = n < 0			   ? o
			    : o + (size_t)n >= sizeof(out) ? sizeof(out) - 1
							   : o + (size_t)n;
			m += skip;
		} else
			out[o++] = *m++;
	}
	out[o] = '\0';
	memcpy(r->message, out, sizeof(out));
}

/*
 * The steps of this start, from the runner's marks (trusted: sent before
 * plugin code ran) and our own clock. CLOCK_MONOTONIC is one clock for
 * every process on the machine. A step whose marks are missing or out of
 * order is left 0.
 */
static void spawn_times(struct ph_plugin *p, int64_t t_start)
{
	static const struct {
		uint8_t step, from, to;
	} by_mark[] = {
	    {PH_SPAWN_NAMESPACES, PH_MARK_MAIN, PH_MARK_NAMESPACES},
	    {PH_SPAWN_MOUNTS, PH_MARK_NAMESPACES, PH_MARK_MOUNTS},
	    {PH_SPAWN_LIMITS, PH_MARK_MOUNTS, PH_MARK_LIMITS},
	    {PH_SPAWN_LANDLOCK, PH_MARK_LIMITS, PH_MARK_LANDLOCK},
	    {PH_SPAWN_SIDE_CHANNELS, PH_MARK_LANDLOCK, PH_MARK_SIDE_CHANNELS},
	    {PH_SPAWN_FORK, PH_MARK_SIDE_CHANNELS, PH_MARK_FORKED},
	    {PH_SPAWN_SECCOMP, PH_MARK_FORKED, PH_MARK_SECCOMP},
	};
	const uint64_t *m = p->marks;
	const int64_t now = ph__now_ns();
	struct ph_spawn_times *t = &p->times;

	t->total_ns = (uint64_t)(now - t_start);
	if (m[PH_MARK_MAIN] > (uint64_t)t_start) {
		/* With a user namespace, main() is the re-exec'd runner's. */
		if (p->userns_ns > t_start && m[PH_MARK_MAIN] > (uint64_t)p->userns_ns) {
			t->step_ns[PH_SPAWN_EXEC] = (uint64_t)(p->userns_ns - t_start);
			t->step_ns[PH_SPAWN_USERNS] = m[PH_MARK_MAIN] - (uint64_t)p->userns_ns;
		} else
			t->step_ns[PH_SPAWN_EXEC] = m[PH_MARK_MAIN] - (uint64_t)t_start;
	}
	for (size_t i = 0; i < ELEMENTSOF(by_mark); i++) {
		uint64_t from = m[by_mark[i].from], to = m[by_mark[i].to];

		/* A step not taken (no mount namespace, say) has no mark:
		 * measure from the last mark before it. */
		for (int j = by_mark[i].from; !from && j > 0; j--)
			from = m[j - 1];
		if (from && to >= from)
			t->step_ns[by_mark[i].step] = to - from;
	}
	/* From a zygote: the fork is timed from our request. */
	if (p->fork_sent_ns && m[PH_MARK_FORKED] > (uint64_t)p->fork_sent_ns)
		t->step_ns[PH_SPAWN_FORK] = m[PH_MARK_FORKED] - (uint64_t)p->fork_sent_ns;
	if (p->loaded_ns > p->sandboxed_ns && p->sandboxed_ns)
		t->step_ns[PH_SPAWN_LOAD] = (uint64_t)(p->loaded_ns - p->sandboxed_ns);
	if (p->loaded_ns && now > p->loaded_ns)
		t->step_ns[PH_SPAWN_WATCH] = (uint64_t)(now - p->loaded_ns);
}

/* Wait out one handshake state; a silent runner is a setup failure. */
static void handshake(struct ph_plugin *p, enum ph_plugin_state st)
{
	struct ph_result r;

	if (p->state != st)
		return;
	if (ph__plugin_pump(p, st, HANDSHAKE_TIMEOUT_MS) == -ETIMEDOUT) {
		/* No errno: "Connection timed out" would mislead; the text says it. */
		if (st == PH_STATE_SPAWNING && !p->handshake && !p->sandboxed_ns && !p->parent_pid)
			/* Not a word yet: no plugin code has run to blame. */
			ph__result_setup(&r, PH_STEP_HANDSHAKE, 0,
					 "the runner '%s' said nothing within %d ms (is it "
					 "plughost's runner?)",
					 p->host->runner_path, HANDSHAKE_TIMEOUT_MS);
		else
			ph__result_setup(&r, PH_STEP_HANDSHAKE, 0,
					 "the plugin did not finish loading within %d ms (does a "
					 "constructor hang?)",
					 HANDSHAKE_TIMEOUT_MS);
		ph__plugin_kill(p, &r);
	}
}

/*
 * With a user namespace, the runner's first words are USERNS, before it
 * reads SETUP (it execs itself again once we wrote its maps, and a SETUP
 * read before that would be lost). Handle that request first. Returns 0,
 * or -EPROTO with the instance dead and its end saying why.
 */
static int await_userns(struct ph_plugin *p)
{
	const int64_t deadline = ph__now_ms() + HANDSHAKE_TIMEOUT_MS;
	struct ph_result r;

	while (p->state == PH_STATE_SPAWNING && !(p->handshake & PH_HS_USERNS)) {
		struct pollfd pfd[2] = {{.fd = p->sock, .events = POLLIN},
					{.fd = p->pidfd, .events = POLLIN}};
		const int64_t left = deadline - ph__now_ms();

		if (left <= 0) {
			ph__result_setup(&r, PH_STEP_HANDSHAKE, 0,
					 "the runner did not ask for its user namespace's maps "
					 "within %d ms",
					 HANDSHAKE_TIMEOUT_MS);
			ph__plugin_kill(p, &r);
			break;
		}
		if (poll(pfd, 2, (int)left) < 0 && errno != EINTR)
			continue;
		ph__plugin_pump(p, PH_STATE_SPAWNING, 0);
	}
	return p->state == PH_STATE_SPAWNING ? 0 : -EPROTO;
}

/*
 * The instance's end, for a start that failed. A runner that ended before
 * its first word (USERNS, SANDBOXED or SETUP_FAILED) is not plughost's
 * runner, or failed before it could say so: blame the runner, not the
 * plugin, which never ran.
 */
static void start_failure(const struct ph_plugin *p, int warm, struct ph_result *fail)
{
	const struct ph_result *e = &p->end;
	char how[64];

	*fail = *e;
	if (warm || p->handshake || p->sandboxed_ns ||
	    (e->kind != PH_RESULT_EXITED && e->kind != PH_RESULT_CRASHED))
		return;
	if (e->kind == PH_RESULT_EXITED)
		snprintf(how, sizeof(how), "exited with status %d", e->code);
	else
		snprintf(how, sizeof(how), "was killed by SIG%s",
			 sigabbrev_np(e->crash.signo) ?: "?");
	ph__result_setup(
	    fail, PH_STEP_HANDSHAKE, 0,
	    "the runner '%s' is not plughost's runner%s: it %s before saying hello "
	    "(point PLUGHOST_RUNNER at plughost-runner)",
	    p->host->runner_path,
	    e->kind == PH_RESULT_EXITED && e->code == 0 ? "" : ", or it failed at its start", how);
}

/* The one pollable fd: everything that can need the host's attention. */
static int make_epoll(struct ph_plugin *p)
{
	const int fds[] = {p->sock,	p->pidfd,   p->timerfd,	    p->wake_rd,
			   p->listener, p->intr_fd, p->stdio_rd[0], p->stdio_rd[1]};

	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p->epfd < 0)
		return -errno;
	for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = fds[i]};

		if (fds[i] >= 0 && epoll_ctl(p->epfd, EPOLL_CTL_ADD, fds[i], &ev) < 0)
			return -errno;
	}
	return 0;
}

/*
 * Start the child for p (whose host, path and cfg are set) and take it
 * through the handshake. Returns 0 with p idle, or a negative errno with
 * the reason in *fail and p stopped.
 */
static int plugin_start_once(struct ph_plugin *p, int *ret_assumed, struct ph_result *fail);

/*
 * Start p. Before this process probed the kernel, the sandbox is planned
 * on assumptions (every namespace, seccomp notification); if the runner
 * then fails to bring one up, the kernel is probed in full and p started
 * once more, planned on what is really there.
 */
int ph__plugin_start(struct ph_plugin *p, struct ph_result *fail)
{
	int assumed = 0;
	int r = plugin_start_once(p, &assumed, fail);

	/* Only a failure of the runner's own steps, before it announced
	 * plugin code: what an assumption can break. */
	if (r < 0 && assumed && fail->kind == PH_RESULT_SETUP_FAILED && !p->sandboxed_ns &&
	    (fail->setup_step == PH_STEP_USERNS || fail->setup_step == PH_STEP_MOUNTS ||
	     fail->setup_step == PH_STEP_SECCOMP || fail->setup_step == PH_STEP_SPAWN)) {
		ph__probe();
		r = plugin_start_once(p, &assumed, fail);
	}
	return r;
}

static int plugin_start_once(struct ph_plugin *p, int *ret_assumed, struct ph_result *fail)
{
	const struct ph_plugin_config *cfg = &p->cfg;
	const uint64_t capacity = cfg->ring_size ? cfg->ring_size : PH_RING_DEFAULT_CAPACITY;
	_cleanup_close_ int ring_fd = -1, prog_fd = -1, plugin_fd = -1, wake_wr = -1;
	const int64_t t_start = ph__now_ns();
	int warm = cfg->zygote && !cfg->unsandboxed && !p->is_zygote;
	uint64_t clone_flags;
	int r, seccomp, notify;

	memset(&p->times, 0, sizeof(p->times));
	memset(p->marks, 0, sizeof(p->marks));
	p->userns_ns = p->sandboxed_ns = p->loaded_ns = p->fork_sent_ns = 0;
	p->parent_pid = 0;
	p->sock = p->pidfd = p->listener = p->sup = p->epfd = p->timerfd = p->wake_rd = -1;
	p->stdio_rd[0] = p->stdio_rd[1] = p->stdio_wr[0] = p->stdio_wr[1] = -1;
	p->timer_armed = 0;
	p->done_seen = 0;
	p->watch_last_ms = 0;
	memset(&p->usage, 0, sizeof(p->usage));
	ph__slot_forget_cache(p);
	p->stat_fd = p->status_fd = -1;
	p->plugin_pid = -1;
	p->plugin_pidfd = -1;
	p->state = PH_STATE_SPAWNING;
	p->end_set = p->killed = 0;
	p->eof_deadline_ms = 0;
	memset(&p->call, 0, sizeof(p->call));
	ph__result_init(&p->end, PH_RESULT_OK);

	ring_fd = ring_create(p, capacity);
	if (ring_fd < 0) {
		r = ring_fd;
		ph__result_setup(fail, PH_STEP_RING, -r, "cannot create the output ring");
		goto out;
	}
	{
		int wake[2];

		/* The runner's way to wake us when we sleep: the write end is
		 * all it gets, and our read end is a file description of its
		 * own, so nothing it does can make our reads block. */
		if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) < 0) {
			r = -errno;
			ph__result_setup(fail, PH_STEP_SPAWN, -r, "cannot create the wake pipe");
			goto out;
		}
		p->wake_rd = wake[0];
		wake_wr = wake[1];
	}
	/* The plugin's printf() becomes log lines (a zygote runs no plugin
	 * code: its own stdio stays /dev/null). */
	if (!p->is_zygote && (r = ph__stdio_open(p)) < 0) {
		ph__result_setup(fail, PH_STEP_SPAWN, -r, "cannot create the stdio pipes");
		goto out;
	}
	p->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (p->timerfd < 0) {
		r = -errno;
		ph__result_setup(fail, PH_STEP_SPAWN, -r, "cannot create the limit timer");
		goto out;
	}
	r = plan_sandbox(cfg, &clone_flags, &seccomp, &notify, ret_assumed, fail);
	if (r == 0)
		r = ph__learn_check(cfg, notify, fail); /* learning needs notify */
	if (r < 0)
		goto out;
	if (notify && (r = ph__notif_setup(p)) < 0) {
		ph__result_setup(fail, PH_STEP_SECCOMP, -r, "cannot size seccomp notifications");
		goto out;
	}
	/* What the sandbox gets to read, opened now; a zygote is chosen by
	 * it too. Without a sandbox everything is readable anyway. */
	ph__grants_free(&p->grants);
	if (!cfg->unsandboxed) {
		r = ph__grants_build(p->path, cfg->allow_read, cfg->n_allow_read, &p->grants, fail);
		if (r < 0)
			goto out;
	}
	/* Libraries are copied beside the plugin in its own view: without
	 * one (the plugin is loaded through its fd) the loader's $ORIGIN
	 * would lead nowhere. Say so rather than let the loader fail. */
	for (size_t i = 0; i < p->grants.n && !(clone_flags & CLONE_NEWNS); i++) {
		if (!p->grants.v[i].is_lib)
			continue;
		ph__result_setup(fail, PH_STEP_MOUNTS, EOPNOTSUPP,
				 "the plugin needs '%s' from its own directory, which takes a "
				 "mount namespace, and this system gives the sandbox none "
				 "('plughost info' says why)",
				 p->grants.v[i].inside);
		r = -EOPNOTSUPP;
		goto out;
	}
	/* A zygote needs the init of a pid namespace to fork from. */
	if (warm && !(clone_flags & CLONE_NEWPID))
		warm = 0;
	p->ns_flags = (uint32_t)clone_flags;
	p->handshake = 0;
	if (warm) {
		r = ph__zygote_fork(p, capacity, ring_fd, wake_wr, fail);
		if (r < 0)
			goto out;
		goto handshake;
	}
	/* The runner gets the plugin as an open file, never as a path to
	 * resolve in its own (lesser) view: what it loads is what we open. */
	plugin_fd = open(p->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (plugin_fd < 0) {
		r = -errno;
		ph__result_setup(fail, PH_STEP_LOAD, -r, "cannot open the plugin file");
		goto out;
	}
	r = ph__spawn_runner(p, p->host->runner_fd, clone_flags, fail);
	if (r < 0)
		goto out;
	if (seccomp) {
		prog_fd = ph__grants_have_user(&p->grants)
			      ? grants_prog(cfg, notify)
			      : ph__host_prog(p->host, cfg->policy, notify, &p->prog[!!notify]);
		if (prog_fd < 0) {
			r = prog_fd;
			ph__result_setup(fail, PH_STEP_SECCOMP, -r,
					 "cannot compile the seccomp policy");
			goto out;
		}
	}
	if ((clone_flags & CLONE_NEWUSER) && await_userns(p) < 0) {
		start_failure(p, warm, fail);
		r = -EPROTO;
		goto out;
	}
	r = send_setup(p, p->path, cfg, capacity, clone_flags, ring_fd, plugin_fd, wake_wr, prog_fd,
		       notify);
	if (r < 0 && r != -EPIPE && r != -ECONNRESET) {
		ph__result_setup(fail, PH_STEP_HANDSHAKE, -r, "cannot send SETUP to the runner");
		goto out;
	}

handshake:
	/* The child has its own copies: ours would keep the pipes from ever
	 * reading EOF. */
	p->stdio_wr[0] = safe_close(p->stdio_wr[0]);
	p->stdio_wr[1] = safe_close(p->stdio_wr[1]);
	handshake(p, PH_STATE_SPAWNING);
	if (!p->is_zygote)
		handshake(p, PH_STATE_LOADING);
	/* What its constructors printed, a last partial line included. */
	ph__stdio_read(p, 1);
	if (p->state != PH_STATE_IDLE) {
		start_failure(p, warm, fail);
		map_load_error(p, fail);
		r = -EPROTO;
		goto out;
	}
	if (p->is_zygote) {
		/* Its instances load seccomp and the plugin, and are watched;
		 * the zygote itself is trusted code waiting for FORK. */
		uint32_t missing =
		    cfg->require & ~p->layers & ~(PH_LAYER_SECCOMP | PH_LAYER_NOTIFY);

		p->sup = safe_close(p->sup);
		if (missing) {
			ph__result_setup(fail, PH_STEP_SPAWN, EPERM,
					 "required layer '%s' did not come up",
					 ph_layer_name(missing & -missing) ?: "?");
			r = -EPROTO;
		} else
			spawn_times(p, t_start);
		goto out;
	}
	/* Before the layer check: any failure from here on must kill an
	 * instance whose limits nobody watches. */
	r = ph__watch_start(p, HANDSHAKE_TIMEOUT_MS, fail);
	if (r < 0) {
		r = -EPROTO; /* the reason is in *fail, as for every start failure */
		goto out;
	}
	/* Where it is loaded, from the kernel, for a crash's backtrace. */
	ph__symbols_note_load(p);
	ph__symbols_send_mem(p);
	if ((p->layers & cfg->require) != cfg->require) {
		uint32_t missing = cfg->require & ~p->layers;
		ph__result_setup(fail, PH_STEP_SPAWN, EPERM, "required layer '%s' did not come up",
				 ph_layer_name(missing & -missing) ?: "?");
		r = -EPROTO;
		goto out;
	}
	r = make_epoll(p);
	if (r < 0)
		ph__result_setup(fail, PH_STEP_SPAWN, -r, "cannot create the instance's epoll fd");
	if (r == 0)
		spawn_times(p, t_start);
out:
	/* Sent, or kept by the zygote's own start: the list stays for
	 * ph_plugin_grant_path(), the fds go. */
	ph__grants_close(&p->grants);
	if (r < 0)
		plugin_stop(p);
	return r;
}

int ph__plugin_config_check(const struct ph_plugin_config *cfg, struct ph_result *fail)
{
	uint64_t capacity;
	int i;

	if (!cfg)
		return 0;
	capacity = cfg->ring_size ? cfg->ring_size : PH_RING_DEFAULT_CAPACITY;
	if (capacity < PH_RING_MIN_CAPACITY || capacity > PH_RING_MAX_CAPACITY ||
	    (capacity & (capacity - 1))) {
		ph__result_setup(fail, PH_STEP_SPAWN, EINVAL,
				 "ring_size %zu is not a power of two between %llu and %llu",
				 cfg->ring_size, (unsigned long long)PH_RING_MIN_CAPACITY,
				 (unsigned long long)PH_RING_MAX_CAPACITY);
		return -EINVAL;
	}
	if ((i = PH_RESERVED_NONZERO(cfg->reserved)) >= 0) {
		ph__result_setup(fail, PH_STEP_SPAWN, EINVAL,
				 "ph_plugin_config.reserved[%d] is not zero (start from "
				 "ph_plugin_config_init() and set only named fields)",
				 i);
		return -EINVAL;
	}
	/* Below it, the runner fails in Landlock with EMFILE: say which
	 * setting is wrong instead. */
	if (cfg->limits.max_fds && cfg->limits.max_fds < PH_MAX_FDS_MIN) {
		ph__result_setup(fail, PH_STEP_SPAWN, EINVAL,
				 "limits.max_fds %u is below the sandbox's minimum of %u",
				 cfg->limits.max_fds, PH_MAX_FDS_MIN);
		return -EINVAL;
	}
	if (cfg->n_allow_read > PH_ALLOW_READ_MAX || (cfg->n_allow_read && !cfg->allow_read)) {
		ph__result_setup(fail, PH_STEP_SPAWN, EINVAL,
				 "ph_plugin_config.n_allow_read is %zu: %s", cfg->n_allow_read,
				 cfg->n_allow_read > PH_ALLOW_READ_MAX
				     ? "at most " PH__STR(
					   PH_ALLOW_READ_MAX) " paths can be granted "
							      "(grant a directory that holds them)"
				     : "but allow_read is NULL");
		return -EINVAL;
	}
	for (size_t k = 0; k < cfg->n_allow_read; k++) {
		if (!cfg->allow_read[k] || !cfg->allow_read[k][0]) {
			ph__result_setup(fail, PH_STEP_SPAWN, EINVAL,
					 "ph_plugin_config.allow_read[%zu] is %s", k,
					 cfg->allow_read[k] ? "empty" : "NULL");
			return -EINVAL;
		}
	}
	if ((i = PH_RESERVED_NONZERO(cfg->limits.reserved)) >= 0) {
		ph__result_setup(fail, PH_STEP_SPAWN, EINVAL,
				 "ph_plugin_config.limits.reserved[%d] is not zero (start from "
				 "ph_plugin_config_init() and set only named fields)",
				 i);
		return -EINVAL;
	}
	return 0;
}

PH_EXPORT int ph_plugin_spawn(struct ph_host *host, const char *path,
			      const struct ph_plugin_config *cfg, struct ph_plugin **ret_plugin,
			      struct ph_result *ret_failure)
{
	struct ph_result fail;
	struct ph_plugin *p;
	char why[128];
	int r;

	if (!host || !path || !ret_plugin) {
		ph__result_setup(&fail, PH_STEP_SPAWN, EINVAL, "ph_plugin_spawn() needs %s",
				 !host	 ? "a host"
				 : !path ? "a plugin path"
					 : "ret_plugin");
		r = -EINVAL;
		goto fail;
	}
	r = ph__plugin_config_check(cfg, &fail);
	if (r < 0)
		goto fail;

	r = ph__check_plugin_file(path, why, sizeof(why));
	if (r < 0) {
		/* The reason alone (it already names the errno): callers add
		 * which file, as the CLI does ("cannot load 'x.so': ..."). */
		ph__result_setup(&fail, PH_STEP_LOAD, 0, "%s", why);
		goto fail;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		r = -ENOMEM;
		ph__result_setup(&fail, PH_STEP_SPAWN, ENOMEM, "cannot allocate the instance");
		goto fail;
	}
	p->host = host;
	/* Before anything can fail: ph__plugin_free_internal() closes it. */
	p->intr_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->intr_fd < 0) {
		r = -errno;
		free(p);
		ph__result_setup(&fail, PH_STEP_SPAWN, -r, "cannot create the interrupt eventfd");
		goto fail;
	}
	p->path = realpath(path, NULL);
	if (!p->path) {
		r = -errno;
		close(p->intr_fd);
		free(p);
		ph__result_setup(&fail, PH_STEP_LOAD, -r, "cannot resolve its path");
		goto fail;
	}
	if (cfg)
		p->cfg = *cfg;
	/* Our own copy: restart compiles it again, long after the caller may
	 * have freed or changed its policy. */
	r = ph__policy_dup(p->cfg.policy, &p->policy);
	if (r < 0) {
		close(p->intr_fd);
		free(p->path);
		free(p);
		ph__result_setup(&fail, PH_STEP_SPAWN, -r, "cannot copy the seccomp policy");
		goto fail;
	}
	p->cfg.policy = p->policy;
	/* The grants too, and the name the caller knows the plugin by. */
	p->cfg.allow_read = NULL;
	if (ph__allow_read_dup(cfg ? cfg->allow_read : NULL, p->cfg.n_allow_read, &p->allow_read) <
		0 ||
	    !(p->given_path = strdup(path))) {
		/* Not started: nothing but these to free (its fds are not
		 * set yet, so not ph__plugin_free_internal()). */
		ph__allow_read_free(p->allow_read, p->cfg.n_allow_read);
		ph_policy_free(p->policy);
		free(p->given_path);
		free(p->path);
		free(p);
		r = -ENOMEM;
		ph__result_setup(&fail, PH_STEP_SPAWN, ENOMEM, "cannot copy the file grants");
		goto fail;
	}
	p->cfg.allow_read = (const char *const *)p->allow_read;
	if (!p->cfg.limits.max_fds)
		p->cfg.limits.max_fds = DEFAULT_MAX_FDS;
	if (!p->cfg.limits.max_threads)
		p->cfg.limits.max_threads = DEFAULT_MAX_THREADS;
	p->limits = p->cfg.limits;

	r = ph__plugin_start(p, &fail);
	ph__metrics_started(p, r == 0, 0);
	if (r < 0) {
		ph__plugin_free_internal(p);
		goto fail_counted;
	}
	*ret_plugin = p;
	return 0;
fail:
	if (host)
		ph__metrics_spawn_failed(host);
fail_counted:
	if (ret_failure)
		*ret_failure = fail;
	return r;
}

PH_EXPORT int ph_plugin_restart(struct ph_plugin *p, struct ph_result *ret_failure)
{
	struct ph_result fail;
	int r;

	if (!p) {
		ph__result_setup(&fail, PH_STEP_SPAWN, EINVAL,
				 "ph_plugin_restart() needs a plugin");
		r = -EINVAL;
	} else if (p->in_callback) {
		/* The caller hears -EBUSY; no log line is needed. */
		ph__result_setup(&fail, PH_STEP_SPAWN, EBUSY,
				 "ph_plugin_restart() called from the instance's own callback");
		r = -EBUSY;
	} else {
		uint64_t pending;

		plugin_stop(p);
		/* An interrupt no call took was meant for the instance that is
		 * gone: the fresh one starts without it. */
		__atomic_store_n(&p->intr_pending, 0, __ATOMIC_RELEASE);
		if (p->intr_fd >= 0 && read(p->intr_fd, &pending, sizeof(pending)) < 0 &&
		    errno != EAGAIN)
			ph__log(p->host, p, PH_DEBUG, "cannot clear the interrupt fd: %m");
		r = ph__plugin_start(p, &fail);
		ph__metrics_started(p, r == 0, 1);
	}
	if (r < 0 && ret_failure)
		*ret_failure = fail;
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

PH_EXPORT int ph_plugin_spawn_times(const struct ph_plugin *p, struct ph_spawn_times *ret)
{
	if (!p || !ret)
		return -EINVAL;
	*ret = p->times;
	return 0;
}

PH_EXPORT const char *ph_spawn_step_name(unsigned int step)
{
	static const char *const names[PH_SPAWN_STEPS] = {
	    [PH_SPAWN_EXEC] = "exec",
	    [PH_SPAWN_USERNS] = "userns",
	    [PH_SPAWN_NAMESPACES] = "namespaces",
	    [PH_SPAWN_MOUNTS] = "mounts",
	    [PH_SPAWN_LIMITS] = "limits+caps",
	    [PH_SPAWN_LANDLOCK] = "landlock",
	    [PH_SPAWN_SIDE_CHANNELS] = "side-channels",
	    [PH_SPAWN_FORK] = "fork",
	    [PH_SPAWN_SECCOMP] = "seccomp",
	    [PH_SPAWN_LOAD] = "load",
	    [PH_SPAWN_WATCH] = "watch",
	};

	return step < PH_SPAWN_STEPS ? names[step] : NULL;
}

PH_EXPORT uint32_t ph_plugin_layers(const struct ph_plugin *p)
{
	return p ? p->layers : 0;
}

PH_EXPORT size_t ph_plugin_grant_count(const struct ph_plugin *p)
{
	return p ? p->grants.n : 0;
}

PH_EXPORT const char *ph_plugin_grant_path(const struct ph_plugin *p, size_t i, int *ret_is_lib)
{
	if (!p || i >= p->grants.n)
		return NULL;
	if (ret_is_lib)
		*ret_is_lib = p->grants.v[i].is_lib;
	return p->grants.v[i].host_path;
}

PH_EXPORT int ph_plugin_pid(const struct ph_plugin *p)
{
	return p ? p->pid : -1;
}

PH_EXPORT int ph_plugin_process_pid(const struct ph_plugin *p)
{
	return p && p->state != PH_STATE_DEAD ? p->plugin_pid : -1;
}

PH_EXPORT int ph_plugin_fd(const struct ph_plugin *p)
{
	return p ? p->epfd : -1;
}

PH_EXPORT int ph_plugin_alive(const struct ph_plugin *p)
{
	return p && p->state != PH_STATE_DEAD;
}

PH_EXPORT int ph_plugin_reads_streams(const struct ph_plugin *p)
{
	return p ? p->reads_streams : 0;
}
