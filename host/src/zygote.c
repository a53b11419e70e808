/* SPDX-License-Identifier: MIT */
/*
 * Zygotes (ph_plugin_config.zygote): one sandboxed runner per plugin file
 * and sandbox shape, started once like a cold instance but stopping short
 * of seccomp and the plugin, which then forks instances on request. An
 * instance costs a fork, its own seccomp filter and the plugin's load,
 * instead of an exec, the namespaces, the filesystem view and Landlock.
 *
 * A zygote is keyed by everything that shapes the sandbox: the plugin
 * file (its identity, not only its path), the policy, the required
 * layers, the kill mode, the limits fixed at spawn (the rlimits made
 * from memory_bytes, max_fds, max_threads) and the file grants (each
 * path inside and the identity of what it shows). Instances with different keys
 * never share one. Zygotes live as long as the host.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "procstat.h"

#define CHILD_TIMEOUT_MS 10000

struct ph_zygote {
	struct ph_zygote *next;
	/* The key. */
	char *path;
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	struct ph_policy *policy;
	uint32_t require;
	int kill_mode;
	uint64_t memory_bytes;
	uint64_t max_fds, max_threads;
	/* The zygote, an instance that stopped at ZYGOTE_READY. */
	struct ph_plugin *z;
};

static int same_key(const struct ph_zygote *zg, const struct ph_plugin *p, const struct stat *st)
{
	const struct ph_plugin_config *c = &p->cfg;

	return strcmp(zg->path, p->path) == 0 && zg->dev == st->st_dev && zg->ino == st->st_ino &&
	       zg->mtime.tv_sec == st->st_mtim.tv_sec && zg->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       ph__policy_equal(zg->policy, c->policy) && zg->require == c->require &&
	       zg->kill_mode == !!c->seccomp_kill_mode &&
	       zg->memory_bytes == c->limits.memory_bytes && zg->max_fds == c->limits.max_fds &&
	       zg->max_threads == c->limits.max_threads &&
	       /* The grants live in the zygote's mount namespace and Landlock
		* domain: as the zygote opened them, and as p's start did. */
	       ph__grants_same(&zg->z->grants, &p->grants);
}

static void zygote_free(struct ph_zygote *zg)
{
	if (!zg)
		return;
	ph__plugin_free_internal(zg->z);
	ph_policy_free(zg->policy);
	free(zg->path);
	free(zg);
}

void ph__zygotes_free(struct ph_host *h)
{
	while (h->zygotes) {
		struct ph_zygote *zg = h->zygotes;

		h->zygotes = zg->next;
		zygote_free(zg);
	}
}

PH_EXPORT void ph_host_drop_zygotes(struct ph_host *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->zygote_lock);
	ph__zygotes_free(h);
	pthread_mutex_unlock(&h->zygote_lock);
}

/* Is the zygote still there to fork? (It dies only if killed.) */
static int zygote_alive(const struct ph_zygote *zg)
{
	struct pollfd pfd = {.fd = zg->z->pidfd, .events = POLLIN};

	return zg->z->state == PH_STATE_IDLE && zg->z->sock >= 0 && zg->z->pidfd >= 0 &&
	       poll(&pfd, 1, 0) == 0;
}

/* Start a zygote for p's key. Returns it, or NULL with *fail set. */
static struct ph_zygote *zygote_new(struct ph_plugin *p, const struct stat *st,
				    struct ph_result *fail)
{
	struct ph_zygote *zg = calloc(1, sizeof(*zg));
	struct ph_plugin *z = calloc(1, sizeof(*z));
	int r;

	if (z)
		z->intr_fd = -1; /* a zygote takes no calls to interrupt */
	if (!zg || !z || !(zg->path = strdup(p->path)) || !(z->path = strdup(p->path)) ||
	    ph__policy_dup(p->cfg.policy, &zg->policy) < 0 ||
	    ph__policy_dup(p->cfg.policy, &z->policy) < 0 ||
	    ph__allow_read_dup(p->cfg.allow_read, p->cfg.n_allow_read, &z->allow_read) < 0) {
		ph__result_setup(fail, PH_STEP_SPAWN, ENOMEM, "cannot allocate a zygote");
		goto fail;
	}
	zg->dev = st->st_dev;
	zg->ino = st->st_ino;
	zg->mtime = st->st_mtim;
	zg->require = p->cfg.require;
	zg->kill_mode = !!p->cfg.seccomp_kill_mode;
	zg->memory_bytes = p->cfg.limits.memory_bytes;
	zg->max_fds = p->cfg.limits.max_fds;
	zg->max_threads = p->cfg.limits.max_threads;
	z->host = p->host;
	z->cfg = p->cfg;
	z->cfg.policy = z->policy;
	/* Its own copy of the grants' paths: it outlives p. */
	z->cfg.allow_read = (const char *const *)z->allow_read;
	z->cfg.zygote = 0;
	z->cfg.ring_size = PH_RING_MIN_CAPACITY; /* its own ring is never used */
	z->limits = z->cfg.limits;
	z->is_zygote = 1;
	r = ph__plugin_start(z, fail);
	if (r < 0)
		goto fail;
	zg->z = z;
	return zg;
fail:
	if (zg) {
		ph_policy_free(zg->policy);
		free(zg->path);
		free(zg);
	}
	if (z && z->allow_read && !z->cfg.n_allow_read) {
		/* Copied before z->cfg said how many. */
		ph__allow_read_free(z->allow_read, p->cfg.n_allow_read);
		z->allow_read = NULL;
	}
	ph__plugin_free_internal(z);
	return NULL;
}

/* Send FORK and take CHILD: p's control and supervisor sockets, its pid
 * and pidfd. Returns 0, or a negative errno with *fail set. */
static int fork_instance(struct ph_zygote *zg, struct ph_plugin *p, uint64_t capacity, int ring_fd,
			 int wake_wr, struct ph_result *fail)
{
	struct ph_msg_fork f = {.ring_capacity = capacity};
	int ctl[2] = {-1, -1}, sup[2] = {-1, -1}, fds[6], r;
	const char *why = NULL;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sup) < 0) {
		r = -errno;
		ph__result_setup(fail, PH_STEP_SPAWN, -r, "cannot make the instance's sockets");
		goto out;
	}
	fds[0] = ctl[1];
	fds[1] = sup[1];
	fds[2] = ring_fd;
	fds[3] = wake_wr;
	/* The instance's own stdout and stderr (plugin.c made them). */
	fds[4] = p->stdio_wr[0];
	fds[5] = p->stdio_wr[1];
	p->fork_sent_ns = ph__now_ns();
	r = ph__msg_send(zg->z->sock, PH_MSG_FORK, 0, &f, sizeof(f), fds, 6);
	if (r < 0) {
		ph__result_setup(fail, PH_STEP_SPAWN, -r, "cannot ask the zygote to fork");
		goto out;
	}
	p->sock = TAKE_FD(ctl[0]);
	p->sup = TAKE_FD(sup[0]);
	/* The zygote names the instance on its supervisor socket; it is
	 * trusted, and the pidfd is checked like init's. */
	r = ph__take_child(p, CHILD_TIMEOUT_MS, &why);
	if (r < 0) {
		ph__result_setup(fail, PH_STEP_SPAWN, r == -ETIMEDOUT ? 0 : -r,
				 "the zygote did not start the instance: %s", why);
		goto out;
	}
	/* ph_plugin_pid() is the instance's init, as for a cold one: here
	 * the zygote, which all its siblings share. The host watches, kills
	 * and waits for the instance itself through its own pidfd. */
	p->pid = zg->z->pid;
	p->pidfd = fcntl(p->plugin_pidfd, F_DUPFD_CLOEXEC, 3);
	if (ph__proc_pidfd_pid(p->plugin_pidfd) <= 0 || p->pidfd < 0) {
		r = p->pidfd < 0 ? -errno : -ESRCH;
		ph__result_setup(fail, PH_STEP_SPAWN, -r, "the zygote's instance is gone");
		goto out;
	}
	p->parent_pid = zg->z->pid;
	r = 0;
out:
	safe_close(ctl[0]);
	safe_close(ctl[1]);
	safe_close(sup[0]);
	safe_close(sup[1]);
	return r;
}

int ph__zygote_fork(struct ph_plugin *p, uint64_t capacity, int ring_fd, int wake_wr,
		    struct ph_result *fail)
{
	struct ph_host *h = p->host;
	struct ph_zygote **link, *zg = NULL;
	struct stat st;
	int r;

	if (stat(p->path, &st) < 0) {
		r = -errno;
		ph__result_setup(fail, PH_STEP_LOAD, -r, "cannot look at the plugin file");
		return r;
	}
	pthread_mutex_lock(&h->zygote_lock);
	for (int attempt = 0;; attempt++) {
		for (link = &h->zygotes; *link; link = &(*link)->next)
			if (same_key(*link, p, &st))
				break;
		if (*link && !zygote_alive(*link)) {
			/* Killed from outside: its instances died with it. */
			zg = *link;
			*link = zg->next;
			zygote_free(zg);
		}
		zg = *link;
		if (!zg) {
			zg = zygote_new(p, &st, fail);
			if (zg) {
				zg->next = h->zygotes;
				h->zygotes = zg;
			}
		}
		r = zg ? fork_instance(zg, p, capacity, ring_fd, wake_wr, fail) : -EPROTO;
		/* A zygote dying as we asked (its pidfd not readable yet):
		 * once more, with a new one. */
		if ((r != -EPIPE && r != -ECONNRESET) || attempt > 0)
			break;
		zg->z->state = PH_STATE_DEAD;
	}
	pthread_mutex_unlock(&h->zygote_lock);
	if (r == 0)
		p->times.zygote = 1;
	return r;
}
