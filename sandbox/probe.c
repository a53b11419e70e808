/* SPDX-License-Identifier: MIT */
/*
 * What the kernel offers the sandbox, found by trying each thing once at
 * run time. Version numbers are never trusted: distributions backport
 * features, and LSMs or sysctls switch them off on kernels that have them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/magic.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"
#include "sb-internal.h"
#include "seal.h"
#include "strbuf.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static struct ph__features features, optimistic;
static pthread_once_t probe_once = PTHREAD_ONCE_INIT, cheap_once = PTHREAD_ONCE_INIT;
static int probed;

static int probe_seccomp(void)
{
	uint32_t action = SECCOMP_RET_KILL_PROCESS;

	/* EINVAL here means a kernel built without seccomp. */
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0)
		return 0;
	/* The policy's default action is kill-process; asking for it also
	 * proves the seccomp() syscall is there and not filtered away. */
	return syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

static int probe_seccomp_notify(void)
{
	uint32_t action = SECCOMP_RET_USER_NOTIF;
	struct seccomp_notif_sizes sizes;

	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) < 0)
		return 0;
	/* The host needs the structure sizes to read notifications. */
	return syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0;
}

/*
 * SECCOMP_USER_NOTIF_FLAG_CONTINUE (5.5) has no feature query, and the
 * kernel version proves nothing, so try it: a short-lived thread installs
 * a filter that notifies on getppid() and calls it, and this thread
 * answers CONTINUE. A filter and no_new_privs set without TSYNC belong to
 * that one thread only, and die with it, so the calling process (a host
 * application) is left exactly as it was.
 *
 * The same try tells whether a listener can be had at all: a chain may
 * hold one listener only, so a host already under a filter with one (some
 * container runtimes) passes that limit on to every runner it starts.
 */
struct continue_probe {
	sem_t ready;
	int listener;
	long result;
};

static void *continue_probe_thread(void *arg)
{
	struct continue_probe *cp = arg;
	struct sock_filter insns[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PH_AUDIT_ARCH_NATIVE, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = ELEMENTSOF(insns), .filter = insns};

	cp->listener = -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
		cp->listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
					    SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	sem_post(&cp->ready);
	if (cp->listener < 0)
		return NULL;
	cp->result = syscall(SYS_getppid);
	return NULL;
}

static int probe_seccomp_continue(int *ret_listener_ok)
{
	struct continue_probe cp = {.listener = -1, .result = -1};
	struct seccomp_notif_sizes sizes;
	struct seccomp_notif *req = NULL;
	struct seccomp_notif_resp *resp = NULL;
	struct pollfd pfd;
	pthread_t thread;
	int ok = 0;

	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
		return 0;
	/* The kernel may know a larger structure than our header does. */
	req = calloc(1, sizes.seccomp_notif > sizeof(*req) ? sizes.seccomp_notif : sizeof(*req));
	resp = calloc(1, sizes.seccomp_notif_resp > sizeof(*resp) ? sizes.seccomp_notif_resp
								  : sizeof(*resp));
	if (!req || !resp || sem_init(&cp.ready, 0, 0) < 0)
		goto out_free;
	if (pthread_create(&thread, NULL, continue_probe_thread, &cp) != 0)
		goto out_sem;
	while (sem_wait(&cp.ready) < 0 && errno == EINTR)
		;
	if (cp.listener < 0)
		goto out_join;
	*ret_listener_ok = 1;

	/* Bounded wait: a kernel that never delivers must not hang a host. */
	pfd = (struct pollfd){.fd = cp.listener, .events = POLLIN};
	if (poll(&pfd, 1, 2000) != 1 || ioctl(cp.listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0)
		goto out_close;
	resp->id = req->id;
	resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	if (ioctl(cp.listener, SECCOMP_IOCTL_NOTIF_SEND, resp) == 0)
		ok = 1;
	/* On failure, closing the listener below fails the pending call with
	 * ENOSYS, which unblocks the thread. */
out_close:
	close(cp.listener);
out_join:
	pthread_join(thread, NULL);
	/* CONTINUE really ran the syscall only if it returned our parent. */
	ok = ok && cp.result == (long)getppid();
out_sem:
	sem_destroy(&cp.ready);
out_free:
	free(req);
	free(resp);
	return ok;
}

/*
 * Real tries, in a short-lived child each: which namespaces this host can
 * make, the way the runner makes them. With CLONE_NEWUSER the child is
 * made in a new user namespace (as the runner unshares its own) and tries
 * the others inside it; without, it tries them with the host's own
 * privilege (root's, or none). Each namespace is unshared on its own, and
 * the mount namespace counts only if the child can also remount "/"
 * private in it (the first mount the runner makes). Sysctls, AppArmor's
 * userns restriction and container seccomp profiles each break one of
 * these steps on kernels that have every namespace.
 *
 * Raw clone(), exit signal 0: no pthread_atfork handlers run (the host
 * may be threaded), only raw syscalls follow in the child, and an
 * application reaping with waitpid(-1) cannot steal the child (only
 * __WALL waits see it). The child's exit status carries one bit per entry
 * of ns_tried[]. Returns the CLONE_NEW* flags that worked (CLONE_NEWUSER
 * among them when asked for and made), or 0 when no child could be made.
 */
static const unsigned long ns_tried[] = {CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC,
					 CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWCGROUP};

static uint64_t probe_namespaces(unsigned long userns)
{
	uint64_t flags = userns;
	pid_t pid;
	int status;

	pid = (pid_t)syscall(SYS_clone, userns, NULL, NULL, NULL, NULL);
	if (pid < 0)
		return 0;
	if (pid == 0) {
		int bits = 0;

		for (size_t i = 0; i < ELEMENTSOF(ns_tried); i++) {
			if (syscall(SYS_unshare, ns_tried[i]) < 0)
				continue;
			if (ns_tried[i] == CLONE_NEWNS &&
			    syscall(SYS_mount, NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
				continue;
			bits |= 1 << i;
		}
		syscall(SYS_exit_group, bits);
		__builtin_unreachable();
	}
	while (waitpid(pid, &status, __WALL) < 0)
		if (errno != EINTR)
			return 0;
	if (!WIFEXITED(status))
		return 0;
	for (size_t i = 0; i < ELEMENTSOF(ns_tried); i++)
		if (WEXITSTATUS(status) & (1 << i))
			flags |= ns_tried[i];
	return flags;
}

static int probe_landlock(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	/* ENOSYS: not built; EOPNOTSUPP: built but not enabled at boot. */
	return abi > 0 ? (int)abi : 0;
}

static int probe_pidfd(void)
{
	int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

static int probe_close_range(void)
{
	/* Closing the highest possible fd closes nothing but proves the call. */
	return syscall(SYS_close_range, ~0U, ~0U, 0) == 0;
}

/* Our own cgroup v2 path, from the "0::" line of /proc/self/cgroup. */
static int own_cgroup(char *rel, size_t len)
{
	char line[512];
	FILE *f;
	int r = -ENOENT;

	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		size_t n;

		if (strncmp(line, "0::", 3) != 0)
			continue;
		n = strcspn(line + 3, "\n");
		if (n == 0 || n >= len || line[3] != '/') {
			r = -ENAMETOOLONG;
			break;
		}
		memcpy(rel, line + 3, n);
		rel[n] = '\0';
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

static void probe_cgroup2(struct ph__features *f)
{
	static const char *const mounts[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
	const char *base = NULL;
	char rel[sizeof(f->cgroup2_path)], path[sizeof(f->cgroup2_path)], file[512];
	struct statfs sfs;
	int n;

	/* Pure v2 mounts it at /sys/fs/cgroup, hybrid setups at .../unified. */
	for (size_t i = 0; i < ELEMENTSOF(mounts); i++)
		if (statfs(mounts[i], &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC) {
			base = mounts[i];
			break;
		}
	if (!base)
		return;
	f->cgroup2 = 1;

	if (own_cgroup(rel, sizeof(rel)) < 0)
		return;
	n = snprintf(path, sizeof(path), "%s%s", base, strcmp(rel, "/") == 0 ? "" : rel);
	if (n < 0 || (size_t)n >= sizeof(path))
		return;
	memcpy(f->cgroup2_path, path, (size_t)n + 1);

	/* Delegated: we may create child groups here and write their control
	 * files. Without write access to subtree_control no controller could
	 * be enabled for the plugins' groups. */
	if (access(path, W_OK) < 0)
		return;
	n = snprintf(file, sizeof(file), "%s/cgroup.subtree_control", path);
	if (n < 0 || (size_t)n >= sizeof(file) || access(file, W_OK) < 0)
		return;
	n = snprintf(file, sizeof(file), "%s/cgroup.procs", path);
	if (n < 0 || (size_t)n >= sizeof(file) || access(file, W_OK) < 0)
		return;
	f->cgroup2_delegated = 1;
}

static void probe_all(void)
{
	struct ph__features *f = &features;

	f->seccomp = probe_seccomp();
	if (f->seccomp && probe_seccomp_notify()) {
		int listener_ok = 0;

		f->seccomp_continue = probe_seccomp_continue(&listener_ok);
		f->seccomp_notify = listener_ok;
	}
	f->landlock_abi = probe_landlock();
	f->spec_ctrl = ph__sb_spec_ctrl_possible();
	f->core_sched = ph__sb_core_sched_possible();
	/* A user namespace counts when the runner could also make its mount
	 * namespace in it (it needs both to build the plugin's view). Without
	 * one, only the namespaces the host's own privilege gives. */
	f->ns_flags = probe_namespaces(CLONE_NEWUSER);
	f->userns = (f->ns_flags & (CLONE_NEWUSER | CLONE_NEWNS)) == (CLONE_NEWUSER | CLONE_NEWNS);
	if (!f->userns)
		f->ns_flags = geteuid() == 0 ? probe_namespaces(0) : 0;
	f->memfd_noexec = ph__memfd_noexec_supported();
	f->pidfd = probe_pidfd();
	f->close_range = probe_close_range();
	probe_cgroup2(f);
}

const struct ph__features *ph__probe(void)
{
	int saved = errno;

	pthread_once(&probe_once, probe_all);
	__atomic_store_n(&probed, 1, __ATOMIC_RELEASE);
	errno = saved;
	return &features;
}

/*
 * What a spawn may try before anything was probed: the cheap facts
 * probed (Landlock, speculation control, memfd flags), and every namespace
 * and seccomp feature assumed. Creating a network namespace alone costs
 * about a millisecond, and the full probe makes one: a process that spawns
 * once ('plughost run') would pay it twice. The runner reports every
 * layer it really brought up, and a spawn that fails on an assumption is
 * made again after the full probe (host/src/plugin.c), so nothing is ever
 * claimed that is not there.
 */
static void probe_cheap(void)
{
	struct ph__features *f = &optimistic;

	f->seccomp = f->seccomp_notify = f->seccomp_continue = 1;
	f->landlock_abi = probe_landlock();
	f->spec_ctrl = ph__sb_spec_ctrl_possible();
	f->core_sched = ph__sb_core_sched_possible();
	f->userns = 1;
	f->ns_flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWNS |
		      CLONE_NEWUTS | CLONE_NEWCGROUP;
	f->memfd_noexec = ph__memfd_noexec_supported();
	f->pidfd = f->close_range = 1;
}

const struct ph__features *ph__probe_assumed(int *ret_assumed)
{
	int saved = errno;

	if (__atomic_load_n(&probed, __ATOMIC_ACQUIRE)) {
		*ret_assumed = 0;
		return &features;
	}
	pthread_once(&cheap_once, probe_cheap);
	errno = saved;
	*ret_assumed = 1;
	return &optimistic;
}

/* ------------------------------------------------------------- report */

uint32_t ph__probe_layers(void)
{
	const struct ph__features *f = ph__probe();
	uint64_t flags = 0;
	uint32_t layers = PH_LAYER_CAPS | PH_LAYER_NNP | PH_LAYER_RLIMITS;

	if (ph__ns_plan(f, 0, &flags, NULL) == 0)
		layers |= ph__layers_of_clone_flags(flags);
	if (f->seccomp)
		layers |= PH_LAYER_SECCOMP;
	if (f->seccomp && f->seccomp_notify && f->seccomp_continue)
		layers |= PH_LAYER_NOTIFY;
	if (f->landlock_abi > 0)
		layers |= PH_LAYER_LANDLOCK;
	if (f->landlock_abi >= 4)
		layers |= PH_LAYER_LANDLOCK_NET;
	if (f->spec_ctrl)
		layers |= PH_LAYER_SPEC_CTRL;
	if (f->core_sched)
		layers |= PH_LAYER_CORE_SCHED;
	return layers;
}

/* Every layer a new instance gets here, every one it does not, and what
 * that means when no namespace at all is left. */
static void report_layers(struct ph_strbuf *r, const struct ph__features *f)
{
	const uint32_t layers = ph__probe_layers();
	const uint32_t all = (1u << PH_LAYER_COUNT) - 1;

	ph__strbuf_printf(r, "layers:");
	for (uint32_t bit = 1; bit & all; bit <<= 1)
		if (layers & bit)
			ph__strbuf_printf(r, " %s", ph__layer_name(bit));
	ph__strbuf_printf(r, "\nmissing layers:");
	for (uint32_t bit = 1; bit & all; bit <<= 1)
		if (!(layers & bit))
			ph__strbuf_printf(r, " %s", ph__layer_name(bit));
	ph__strbuf_printf(r, "%s\n", (layers & all) == all ? " none" : "");
	if (!(layers & (PH_LAYER_MNTNS | PH_LAYER_PIDNS | PH_LAYER_NETNS)))
		ph__strbuf_printf(
		    r,
		    "sandbox: degraded: no mount, pid or network namespace, so a plugin sees "
		    "the host's filesystem, network and processes as far as the layers left "
		    "let it: seccomp%s (no new files after loading, no sockets, no signals or "
		    "tracing of other processes), no_new_privs, %srlimits and the host's "
		    "watchdog. Run where user namespaces are allowed (or as root outside a "
		    "container) for the full sandbox.\n",
		    f->seccomp ? "" : " (none here!)",
		    f->landlock_abi > 0 ? "Landlock (read-only access to the loader's files), "
					: "");
	else if ((layers & all) != all)
		ph__strbuf_printf(r, "sandbox: partial (see missing layers)\n");
	else
		ph__strbuf_printf(r, "sandbox: full\n");
}

int ph__probe_report(char *buf, size_t len)
{
	const struct ph__features *f = ph__probe();
	struct ph_strbuf r;
	struct utsname u;
	const uid_t euid = geteuid();

	if (!buf && len > 0)
		return -EINVAL;
	ph__strbuf_init(&r, buf, len);

	if (uname(&u) == 0)
		ph__strbuf_printf(&r, "kernel: %s %s\n", u.release, u.machine);
	else
		ph__strbuf_printf(&r, "kernel: unknown (uname failed)\n");
	ph__strbuf_printf(&r, "root: %s (euid %u)\n", euid == 0 ? "yes" : "no", (unsigned int)euid);

	ph__strbuf_printf(&r, "seccomp: %s\n",
			  f->seccomp ? "yes" : "no (plugins run without any syscall filter)");
	ph__strbuf_printf(&r, "seccomp user notification: %s\n",
			  f->seccomp_notify ? "yes (the host names every refused syscall)"
					    : "no (a refused syscall kills the plugin unnamed)");
	ph__strbuf_printf(&r, "seccomp notify continue: %s\n",
			  f->seccomp_continue
			      ? "yes"
			      : "no (loading runs under a second, kill-only filter instead of "
				"host decisions; violations are not named)");
	if (f->landlock_abi > 0)
		ph__strbuf_printf(&r, "landlock: yes (ABI %d)\n", f->landlock_abi);
	else
		ph__strbuf_printf(
		    &r, "landlock: unavailable (plugins run without Landlock file rules)\n");
	ph__strbuf_printf(&r, "landlock network: %s\n",
			  f->landlock_abi >= 4
			      ? "yes"
			      : "no (plugins run without Landlock TCP rules; the "
				"network namespace still isolates them where available)");
	if (f->userns)
		ph__strbuf_printf(&r, "user namespaces: yes\n");
	else if (f->ns_flags)
		ph__strbuf_printf(&r, "user namespaces: no (running as root: plugins get the other "
				      "namespaces below, without a user namespace)\n");
	else if (euid == 0)
		ph__strbuf_printf(&r, "user namespaces: no (and this root host may make no other "
				      "namespace either: a container's profile refuses them)\n");
	else
		ph__strbuf_printf(
		    &r, "user namespaces: no (plugins run without any namespace: no private "
			"filesystem view, network or pid space)\n");
	ph__strbuf_printf(&r, "namespaces:");
	for (uint32_t bit = 1; bit < 1u << PH_LAYER_COUNT; bit <<= 1)
		if (ph__layer_clone_flags(bit) &&
		    (ph__layer_clone_flags(bit) &
		     (f->userns ? f->ns_flags : f->ns_flags & ~(uint64_t)CLONE_NEWUSER)))
			ph__strbuf_printf(&r, " %s", ph__layer_name(bit));
	ph__strbuf_printf(&r, "%s (each one tried at startup)\n", f->ns_flags ? "" : " none");
	ph__strbuf_printf(&r, "memfd noexec seal: %s\n",
			  f->memfd_noexec ? "yes"
					  : "no (input memfds are not sealed against exec)");
	ph__strbuf_printf(&r, "pidfd: %s\n",
			  f->pidfd ? "yes"
				   : "no (plugins are signalled by pid, which can be reused)");
	ph__strbuf_printf(&r, "close_range: %s\n",
			  f->close_range ? "yes"
					 : "no (the runner closes inherited fds one by one)");
	if (f->cgroup2)
		ph__strbuf_printf(&r, "cgroup v2: yes (%s)\n",
				  f->cgroup2_path[0] ? f->cgroup2_path : "own cgroup unknown");
	else
		ph__strbuf_printf(&r,
				  "cgroup v2: no (plugins run without cgroup memory, pids and CPU "
				  "limits; rlimits still apply)\n");
	if (f->cgroup2_delegated)
		ph__strbuf_printf(&r, "cgroup v2 delegated: yes (%s)\n", f->cgroup2_path);
	else
		ph__strbuf_printf(&r, "cgroup v2 delegated: no\n");
	{
		char controllers[256] = "";
		int have_memory_pids = 0;

		if (f->cgroup2 && f->cgroup2_path[0]) {
			char file[512];
			FILE *cf;

			snprintf(file, sizeof(file), "%s/cgroup.controllers", f->cgroup2_path);
			cf = fopen(file, "re");
			if (cf) {
				if (!fgets(controllers, sizeof(controllers), cf))
					controllers[0] = '\0';
				fclose(cf);
				controllers[strcspn(controllers, "\n")] = '\0';
			}
			have_memory_pids =
			    strstr(controllers, "memory") && strstr(controllers, "pids");
		}
		if (f->cgroup2)
			ph__strbuf_printf(&r, "cgroup v2 controllers: %s\n",
					  controllers[0] ? controllers : "none");
		/* Say plainly what enforces the limits today. */
		ph__strbuf_printf(
		    &r,
		    "cgroup limits: %s; memory, fds and threads are limited by "
		    "rlimits and the host's /proc watchdog\n",
		    have_memory_pids && f->cgroup2_delegated
			? "not used (memory and pids controllers are available, but "
			  "plughost does not use cgroups yet)"
			: "unavailable (no delegated cgroup v2 with the memory and pids "
			  "controllers)");
	}

	report_layers(&r, f);

	if (r.want > INT32_MAX)
		return -EOVERFLOW;
	return (int)r.want;
}
