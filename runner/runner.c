/* SPDX-License-Identifier: MIT */
/*
 * plughost-runner: the trusted bootstrap of every plugin instance.
 *
 * The host execs this fresh for each instance (never a bare fork of the
 * host, which would copy the host's memory and secrets), with the control
 * socket on fd 3, nothing else open and an empty environment. It then:
 *
 *   1. reads SETUP (ring fd, seccomp program fd, plugin path, limits);
 *   2. applies the sandbox layers in the order sandbox.h explains;
 *   3. loads seccomp stage 1 and sends its listener fd to the host, so that
 *      every refused syscall from here on is reported by the kernel;
 *   4. loads the plugin: its constructors are the first untrusted code;
 *   5. checks the descriptor, reports LOADED, enters stage 2 and runs the
 *      request loop (serve.c), which calls the plugin's handlers and gives
 *      them the operations table of <plughost/plugin.h>.
 *
 * Until step 4 everything here is trusted. After it, nothing this process
 * says can be believed, which is why the listener goes out first and why the
 * host checks every later message and ring byte.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <plughost/plugin.h>

#include "proto.h"
#include "ring-layout.h"
#include "runner.h"
#include "sandbox.h"
#include "seal.h"
#include "util.h"

static struct ph_msg msg;
uint64_t ph__runner_marks[PH_MARKS];

void ph__runner_mark(enum ph_runner_mark m)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ph__runner_marks[m] = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Our parent when we started: the host (in its pid namespace). */
static pid_t host_pid;

#if defined(__SANITIZE_ADDRESS__)
/*
 * Sanitizer builds (CI runs one): the runner gets an empty environment, so
 * its options are compiled in. ASan's own fault handlers would read
 * /proc/self/exe to symbolize, a syscall the sandbox refuses; the host must
 * see the plugin's real signal instead. Leak checking at exit is the
 * plugin's business, and /proc is not there to do it anyway.
 */
__attribute__((visibility("default"), used)) const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0:handle_abort=0:"
	       "detect_leaks=0";
}
#endif

/* Report a setup failure to the host and exit. Never returns. */
_Noreturn void ph__runner_fail(enum ph_setup_step step, int err, const char *fmt, ...)
{
	struct ph_msg_setup_failed f = {.step = step, .err = err > 0 ? err : 0};
	char text[PH_TEXT_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	f.msg_len = n < 0 ? 0 : (size_t)n < sizeof(text) ? (uint32_t)n : sizeof(text) - 1;
	ph__msg_send2(PH_FD_CONTROL, PH_MSG_SETUP_FAILED, 0, &f, sizeof(f), text, f.msg_len, NULL,
		      0);
	_exit(1);
}

static void close_other_fds(void)
{
	/* The host already closed everything but fd 3 before exec; do it again
	 * so that a runner started some other way starts just as clean. */
	if (syscall(SYS_close_range, PH_FD_SUPERVISOR + 1, ~0U, 0) < 0)
		for (int fd = PH_FD_SUPERVISOR + 1; fd < 1024; fd++)
			close(fd);
}

/*
 * Wait for one message of the given type from the host, which is trusted:
 * anything else means the host is not the one that started us.
 */
static void expect_from_host(uint16_t type, const char *what)
{
	const char *why = "the host hung up";
	int r = ph__msg_recv(PH_FD_CONTROL, &msg, 0, &why);

	if (r == 0)
		_exit(1); /* host gone */
	if (r < 0 || msg.hdr.type != type || msg.nfds != 0 || msg.hdr.len != 0) {
		ph__msg_close_fds(&msg);
		ph__runner_fail(PH_STEP_PROTOCOL, 0, "expected %s from the host: %s", what,
				r < 0 ? why : "got another message");
	}
}

/*
 * The user namespace, the runner's first job when the host asks for one
 * (PH_RUNNER_ARG_USERNS): the host starts us with CLONE_VM|CLONE_VFORK and
 * nothing else (its threads' memory is never copied into a child, and it
 * cannot write maps while a vfork child waits), so we make it ourselves:
 *
 *  1. unshare it: we hold every capability inside;
 *  2. ask the host to write our uid/gid maps (a root host maps us to
 *     nobody, which only a process outside may do), then become the
 *     namespace's root, shedding a root host's supplementary groups
 *     first (gid 0 among them) where setgroups is not denied;
 *  3. exec ourselves again, from the file the host opened for us: an
 *     exec inside the namespace makes it our memory's owner. Without that
 *     the kernel would keep owning our (non-dumpable) process by the
 *     initial namespace's root, and an unprivileged host could not read
 *     the /proc files its watchdog needs. A root host can anyway, and
 *     asks for no re-exec (stay, PH_RUNNER_ARG_USERNS_STAY).
 * Returns only with stay; the re-exec'd runner starts afresh.
 */
static void enter_user_namespace(int stay)
{
	static char *const argv[] = {(char *)"plughost-runner", (char *)PH_RUNNER_ARG_IN_USERNS,
				     NULL};
	static char *const envp[] = {NULL};

	if (unshare(CLONE_NEWUSER) < 0)
		ph__runner_fail(PH_STEP_USERNS, errno, "cannot create the user namespace");
	if (ph__msg_send(PH_FD_CONTROL, PH_MSG_USERNS, 0, NULL, 0, NULL, 0) < 0)
		_exit(1);
	expect_from_host(PH_MSG_USERNS_MAPPED, "USERNS_MAPPED");
	/* EPERM where the host had to deny setgroups (an unprivileged host):
	 * it then has no groups of its own to shed. */
	(void)setgroups(0, NULL);
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		ph__runner_fail(PH_STEP_USERNS, errno, "cannot become root in the user namespace");
	/* A root host reads our /proc files with its own CAP_SYS_PTRACE, so
	 * the re-exec below only an unprivileged host needs: go on. The id
	 * change cleared the parent-death signal: set it again. */
	if (stay) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		return;
	}
	syscall(SYS_execveat, PH_FD_RUNNER_EXE, "", argv, envp, AT_EMPTY_PATH);
	ph__runner_fail(PH_STEP_USERNS, errno, "cannot exec the runner in its user namespace");
}

/*
 * The other namespaces, once SETUP has said which (the user namespace is
 * made by then, when asked for). A new pid namespace takes effect for our
 * next child, so we clone that child with CLONE_PARENT, making it the
 * host's own child and pid 1 of the namespace: it goes on as the runner
 * and later as the plugin's init. We hand its pidfd to the host and leave.
 * Returns in the process that goes on.
 */
static void enter_namespaces(uint32_t ns)
{
	if (ns && unshare((int)ns) < 0)
		ph__runner_fail(PH_STEP_USERNS, errno, "cannot create the namespaces (flags 0x%x)",
				ns);
	ph__runner_mark(PH_MARK_NAMESPACES);
	if (ns & CLONE_NEWPID) {
		int pidfd = -1, go[2];
		long pid;
		char byte = 0;

		/* Init waits for INIT to be on the socket before it says
		 * anything itself: the host must hear of init first. */
		if (pipe2(go, O_CLOEXEC) < 0)
			ph__runner_fail(PH_STEP_SPAWN, errno, "cannot make a pipe");
		pid = syscall(SYS_clone, (unsigned long)(CLONE_PARENT | CLONE_PIDFD), NULL, &pidfd,
			      NULL, NULL);
		if (pid < 0)
			ph__runner_fail(PH_STEP_SPAWN, errno, "cannot start the plugin's init");
		if (pid == 0) {
			close(go[1]);
			/* Die with the host, as we would have. (Its pid is not
			 * visible from in here: getppid() is 0.) */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			/* No byte: the runner could not tell the host about
			 * us, and the host will never wait for us. */
			if (read(go[0], &byte, 1) != 1)
				_exit(1);
			close(go[0]);
			ph__runner_mark(PH_MARK_NAMESPACES);
			return;
		}
		close(go[0]);
		if (ph__msg_send(PH_FD_CONTROL, PH_MSG_INIT, 0, NULL, 0, &pidfd, 1) < 0 ||
		    write(go[1], "g", 1) != 1)
			_exit(1);
		_exit(0);
	}
}

/* The instance's file grants (PH_MSG_GRANT), as received. */
static struct ph__sb_grant grants[PH_GRANTS_MAX];
static char grant_paths[PH_GRANTS_MAX][PH_GRANT_PATH_MAX + 1];
static size_t n_grants;
static int user_grants; /* grants that are not libraries */

/*
 * The n GRANT messages that follow SETUP, each checked like SETUP: its fds
 * against the table (on the fds themselves), its path by
 * ph__grant_path_check(), and the fds' shape against what it claims.
 */
static void receive_grants(uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct ph__sb_grant *g = &grants[i];
		struct ph_grant_view v;
		const char *why = "got another message";
		struct stat st;
		int r = ph__msg_recv(PH_FD_CONTROL, &msg, 0, &why), fl;

		if (r == 0)
			_exit(1);
		if (r < 0 || msg.hdr.type != PH_MSG_GRANT || ph__parse_grant(&msg, &v, &why) < 0 ||
		    ph__msg_check_fds(&msg, PH_DIR_HOST_TO_RUNNER, PH_PHASE_SPAWNING, &why) < 0) {
			ph__msg_close_fds(&msg);
			ph__runner_fail(PH_STEP_PROTOCOL, 0, "bad GRANT message: %s", why);
		}
		g->fd = msg.fds[0];
		g->parent_fd = msg.nfds > 1 ? msg.fds[1] : -1;
		g->tree_fd = -1;
		g->is_lib = !!(v.fixed.flags & PH_GRANT_LIB);
		msg.nfds = 0; /* taken */
		fl = fcntl(g->fd, F_GETFL);
		if (fstat(g->fd, &st) < 0 || fl < 0)
			ph__runner_fail(PH_STEP_PROTOCOL, errno, "cannot look at a granted fd");
		g->is_dir = S_ISDIR(st.st_mode);
		/* A library is read to be copied: a readable regular file, on
		 * its own. A directory comes alone; a file with its directory. */
		if (g->is_lib ? (g->is_dir || (fl & O_PATH) || g->parent_fd >= 0)
			      : (g->is_dir ? g->parent_fd >= 0
					   : (g->parent_fd < 0 || fstat(g->parent_fd, &st) < 0 ||
					      !S_ISDIR(st.st_mode))))
			ph__runner_fail(PH_STEP_PROTOCOL, 0,
					"GRANT fds do not match what it grants");
		memcpy(grant_paths[i], v.path.p, v.path.len);
		grant_paths[i][v.path.len] = '\0';
		g->inside = grant_paths[i];
		user_grants += !g->is_lib;
		n_grants = i + 1;
	}
}

/* Every fd of the grants, once the sandbox has what it needs of them:
 * none may reach plugin code, which could walk out of a grant through
 * an fd of the host's (openat(fd, "..")). */
static void close_grants(void)
{
	for (size_t i = 0; i < n_grants; i++) {
		grants[i].fd = safe_close(grants[i].fd);
		grants[i].parent_fd = safe_close(grants[i].parent_fd);
		grants[i].tree_fd = safe_close(grants[i].tree_fd);
	}
}

/* The sandbox layers, in order. Returns the PH_LAYER_* bits now active. */
static uint32_t apply_sandbox(const struct ph_setup_view *s, const char *path, int plugin_fd,
			      const char **ret_path_inside, int *ret_landlock_abi)
{
	uint32_t layers = 0;
	const uint32_t ns = s->fixed.ns_flags;
	/* The host's uid, before we may become nobody below. */
	const int host_is_root = geteuid() == 0;
	int r;

	layers |= ph__layers_of_clone_flags(ns);

	/* A new session: no controlling terminal to inject keystrokes into,
	 * and no signals from the host's terminal job control. */
	setsid();

	*ret_path_inside = path;
	if (!(ns & CLONE_NEWNS)) {
		/* No view of our own: load the very file the host opened,
		 * through its fd, never by a host path that the uid we run as
		 * (nobody, below) may not be able to reach. */
		static char by_fd[64];

		snprintf(by_fd, sizeof(by_fd), "/proc/self/fd/%d", plugin_fd);
		*ret_path_inside = by_fd;
	}
	if (ns & CLONE_NEWNS) {
		/* The filesystem view shrinks to what loading needs; done while
		 * we still hold CAP_SYS_ADMIN in our own user namespace. */
		r = ph__sb_mounts(plugin_fd, path, grants, n_grants, ret_path_inside);
		if (r < 0)
			ph__runner_fail(PH_STEP_MOUNTS, -r,
					n_grants ? "cannot build the plugin's filesystem view "
						   "with its file grants"
						 : "cannot build the plugin's filesystem view");
		ph__runner_mark(PH_MARK_MOUNTS);
	}
	/* Limits before dropping capabilities: lowering needs none, and once
	 * CAP_SYS_RESOURCE is gone the plugin cannot raise them back. */
	/* RLIMIT_NPROC counts per user namespace: in ours, the plugin's own
	 * threads. Without one it would count every process of the uid we
	 * run as (nobody, or the host's own), the host's among them, and fail
	 * the plugin's threads for them: there the host's watchdog alone
	 * limits threads. */
	r = ph__sb_rlimits(
	    &(struct ph__sb_limits){.as_bytes = s->fixed.rlimit_as,
				    .nofile = s->fixed.rlimit_nofile,
				    .nproc = (ns & CLONE_NEWUSER) ? s->fixed.rlimit_nproc : 0});
	if (r < 0)
		ph__runner_fail(PH_STEP_RLIMITS, -r, "cannot set resource limits");
	layers |= PH_LAYER_RLIMITS;

	/* A root host without a user namespace (inside a container, say)
	 * would leave us real root with no capabilities: still the owner of
	 * every root file the loader's opens and Landlock leave in reach.
	 * Become nobody instead, as a user namespace would have made us. */
	if (!(ns & CLONE_NEWUSER) && host_is_root) {
		r = ph__sb_become_nobody();
		if (r < 0)
			ph__runner_fail(PH_STEP_CAPS, -r, "cannot become nobody");
		/* A change of ids cleared the parent-death signal: set it
		 * again, and make sure the host did not die meanwhile (without
		 * a pid namespace our parent is still visible). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (!(ns & CLONE_NEWPID) && getppid() != host_pid)
			_exit(1);
	}
	r = ph__sb_caps_drop();
	if (r < 0)
		ph__runner_fail(PH_STEP_CAPS, -r, "cannot drop capabilities");
	layers |= PH_LAYER_CAPS;

	/* Required for Landlock and for loading seccomp without privilege,
	 * and it stops any setuid or file-capability gain through exec. */
	r = ph__sb_nnp();
	if (r < 0)
		ph__runner_fail(PH_STEP_NNP, -r, "cannot set no_new_privs");
	layers |= PH_LAYER_NNP;
	/* Not dumpable shuts /proc/<pid> to every process without
	 * CAP_SYS_PTRACE over us. Inside our own user namespace the host has
	 * that; a root host has it anyway; an unprivileged host without a
	 * user namespace (we then run as its own uid) would lose the /proc
	 * files its watchdog reads. There we stay dumpable: only processes of
	 * the host's own uid, which could ptrace the host itself, gain access
	 * (core files stay off: RLIMIT_CORE is 0). */
	if (!(ns & CLONE_NEWUSER) && !host_is_root && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		ph__runner_fail(PH_STEP_NNP, errno,
				"cannot keep the runner dumpable for the host's watchdog");
	ph__runner_mark(PH_MARK_LIMITS);

	r = ph__sb_landlock(*ret_path_inside, grants, n_grants);
	if (r < 0)
		ph__runner_fail(PH_STEP_LANDLOCK, -r,
				"cannot restrict filesystem access with Landlock");
	/* Grants open files after loading: one of the two layers that say
	 * which must be there, or a read-only open would reach every file
	 * the uid we run as can read. */
	if (user_grants && r == 0 && !(ns & CLONE_NEWNS))
		ph__runner_fail(PH_STEP_LANDLOCK, EOPNOTSUPP,
				"file grants need a mount namespace or Landlock, and this "
				"system gives the sandbox neither");
	close_grants();
	if (r > 0) {
		layers |= PH_LAYER_LANDLOCK;
		if (r >= 4)
			layers |= PH_LAYER_LANDLOCK_NET;
	}
	*ret_landlock_abi = r;
	ph__runner_mark(PH_MARK_LANDLOCK);

	/* Side channels, inherited by the plugin we fork next. Each is a layer
	 * where the kernel gives it; a caller who requires one and does not
	 * get it gets a setup failure from the host. */
	if (ph__sb_spec_ctrl() == 0)
		layers |= PH_LAYER_SPEC_CTRL;
	if (ph__sb_core_sched() == 0)
		layers |= PH_LAYER_CORE_SCHED;
	ph__runner_mark(PH_MARK_SIDE_CHANNELS);
	return layers;
}

/* Check and map the ring memfd (ph_ring_memfd_size(capacity) bytes: the
 * output ring, the call slot and the input ring), then close its fd: the
 * mapping is all we need. */
static void *map_ring(int fd, uint64_t capacity)
{
	const char *why;
	uint64_t size;
	void *ring;
	int r = ph__seal_check(fd, PH_SEAL_KIND_RING, ph_ring_memfd_size(capacity), UINT64_MAX,
			       &size, &why);

	if (r < 0)
		ph__runner_fail(PH_STEP_RING, -r, "ring rejected: %s", why);
	ring = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ring == MAP_FAILED)
		ph__runner_fail(PH_STEP_RING, errno, "cannot map the ring");
	close(fd);
	return ring;
}

/*
 * Siblings of one zygote inherit its address-space layout, so each would
 * load the plugin at the same address. A reservation of random size above
 * it, made just before the load and dropped right after, moves the plugin
 * (and whatever it maps while loading) by a random number of pages: 14
 * bits for each instance of its own.
 */
static void *shift_layout(size_t *ret_len)
{
	uint16_t pages = 0;
	void *gap;

	if (getrandom(&pages, sizeof(pages), 0) != sizeof(pages))
		pages = 0;
	*ret_len = ((size_t)(pages & 0x3fff) + 1) * 4096;
	gap = mmap(NULL, *ret_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return gap == MAP_FAILED ? NULL : gap;
}

/* The descriptor of plugin ABI 1, whose serve pointer ran the plugin's own
 * copy of the wire protocol. Only looked up to say what to do about it. */
#define PH_PLUGIN_SYMBOL_V1 "plughost_plugin_v1"

/* The size of the descriptor each plugin ABI version defined. */
static uint32_t descriptor_size(uint32_t abi)
{
	switch (abi) {
	case 2:
		return 80;
	default:
		return 0;
	}
}

/*
 * Load the plugin and check its descriptor well enough to give a clear
 * error. Plugin code has run by now (its constructors): the host checks
 * everything it is told again, and trusts nothing from here on.
 */
static const struct ph_plugin_descriptor *load_plugin(const char *path)
{
	const struct ph_plugin_descriptor *d;
	void *h;

	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		ph__runner_fail(PH_STEP_LOAD, 0, "%s", e ? e : "dlopen failed");
	}
	d = dlsym(h, PH_PLUGIN_SYMBOL);
	if (!d && dlsym(h, PH_PLUGIN_SYMBOL_V1))
		ph__runner_fail(PH_STEP_DESCRIPTOR, 0,
				"plugin built for plugin ABI 1 (it exports '" PH_PLUGIN_SYMBOL_V1
				"'), which this runner no longer runs: rebuild it against the "
				"current <plughost/plugin.h>, with no plughost library to link");
	if (!d)
		ph__runner_fail(PH_STEP_DESCRIPTOR, 0,
				"not a plughost plugin (missing descriptor '" PH_PLUGIN_SYMBOL
				"'; C++ plugins need PH_PLUGIN() at namespace scope)");
	if (d->abi_version > PH_PLUGIN_ABI_VERSION)
		ph__runner_fail(PH_STEP_DESCRIPTOR, 0,
				"plugin built for plugin ABI %u, newer than this runner's ABI %u: "
				"install a newer plughost, or rebuild the plugin against this "
				"one's header",
				d->abi_version, PH_PLUGIN_ABI_VERSION);
	if (d->abi_version < 2)
		ph__runner_fail(PH_STEP_DESCRIPTOR, 0,
				"plugin descriptor names plugin ABI %u, which never existed under "
				"'" PH_PLUGIN_SYMBOL "'",
				d->abi_version);
	if (d->struct_size != descriptor_size(d->abi_version))
		ph__runner_fail(PH_STEP_DESCRIPTOR, 0,
				"plugin descriptor is %u bytes, but plugin ABI %u defines %u",
				d->struct_size, d->abi_version, descriptor_size(d->abi_version));
	if (d->reserved[0] || d->reserved[1] || d->reserved[2] || d->reserved[3])
		ph__runner_fail(PH_STEP_DESCRIPTOR, 0,
				"plugin descriptor has nonzero reserved fields");
	if (d->flags & ~PH_RUNNER_PLUGIN_FLAGS)
		ph__runner_fail(PH_STEP_DESCRIPTOR, 0,
				"plugin descriptor has flags this runner does not know (0x%x): "
				"install a newer plughost",
				d->flags & ~PH_RUNNER_PLUGIN_FLAGS);
	/* The strides must hold at least what this runner reads, stay
	 * aligned for the pointers in them, and stay sane. A plugin built
	 * before struct ph_input had flags has the stride of its first two
	 * fields, and is still run: it is never given a stream, whose mark
	 * it could not see. */
	if (d->method_size < sizeof(struct ph_method) || d->method_size > 1024 ||
	    d->method_size % sizeof(void *) || d->input_size < PH_RUNNER_INPUT_MIN ||
	    d->input_size > 1024 || d->input_size % sizeof(void *) ||
	    ((d->flags & PH_PLUGIN_READS_STREAMS) && d->input_size < sizeof(struct ph_input)))
		ph__runner_fail(PH_STEP_DESCRIPTOR, 0,
				"plugin descriptor has bad method or input sizes (%u, %u)",
				d->method_size, d->input_size);
	if (!d->name || !d->name[0])
		ph__runner_fail(PH_STEP_DESCRIPTOR, 0, "plugin descriptor has no name");
	if (!d->methods || d->n_methods == 0 || d->n_methods > PH_METHODS_MAX)
		ph__runner_fail(PH_STEP_DESCRIPTOR, 0, "plugin exports no methods, or more than %u",
				PH_METHODS_MAX);
	return d;
}

static void send_loaded(const struct ph_plugin_descriptor *d)
{
	uint8_t buf[PH_MSG_MAX - sizeof(struct ph_msg_hdr)];
	struct ph_msg_loaded fixed = {
	    .n_methods = (uint32_t)d->n_methods,
	    .flags = (d->flags & PH_PLUGIN_READS_STREAMS) ? PH_LOADED_READS_STREAMS : 0};
	const char *version = d->version ? d->version : "";
	size_t off = sizeof(fixed), nl = strnlen(d->name, PH_NAME_MAX + 1),
	       vl = strnlen(version, PH_NAME_MAX + 1);

	if (nl > PH_NAME_MAX || vl > PH_NAME_MAX)
		ph__runner_fail(PH_STEP_DESCRIPTOR, 0,
				"plugin name or version longer than %u bytes", PH_NAME_MAX);
	fixed.name_len = (uint16_t)nl;
	fixed.version_len = (uint16_t)vl;
	memcpy(buf, &fixed, sizeof(fixed));
	memcpy(buf + off, d->name, nl);
	off += nl;
	memcpy(buf + off, version, vl);
	off += vl;
	for (uint32_t i = 0; i < d->n_methods; i++) {
		const struct ph_method *method = ph__runner_method(d, i);
		const char *m = method->name;
		size_t ml = m ? strnlen(m, PH_NAME_MAX + 1) : 0;
		uint16_t l = (uint16_t)ml;

		if (ml == 0 || ml > PH_NAME_MAX || !method->fn)
			ph__runner_fail(
			    PH_STEP_DESCRIPTOR, 0,
			    "method %u has no name, a name over %u bytes, or no handler", i,
			    PH_NAME_MAX);
		memcpy(buf + off, &l, sizeof(l));
		off += sizeof(l);
		memcpy(buf + off, m, ml);
		off += ml;
	}
	if (ph__msg_send(PH_FD_CONTROL, PH_MSG_LOADED, 0, buf, off, NULL, 0) < 0)
		_exit(1);
}

int main(int argc, char **argv)
{
	struct ph_setup_view setup;
	struct ph_msg_sandboxed sb = {0};
	const struct ph_plugin_descriptor *desc;
	char path[4097];
	const char *path_inside = path, *why;
	int ring_fd, plugin_fd, wake_fd, prog_fd = -1, stage2_fd = -1, listener = -1, notify,
					 in_userns, r;
	void *ring, *gap = NULL;
	size_t gap_len = 0;
	int zygote;
	uint32_t inst_nofile;

	/* Die with the host. Set before reading SETUP: if the host died before
	 * this line, the read below sees EOF and we exit anyway. (Set again
	 * after the re-exec: a change of ids clears it.) */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (argc == 2 && strcmp(argv[1], PH_RUNNER_ARG_USERNS) == 0)
		enter_user_namespace(0);
	in_userns = argc == 2 && strcmp(argv[1], PH_RUNNER_ARG_IN_USERNS) == 0;
	if (argc == 2 && strcmp(argv[1], PH_RUNNER_ARG_USERNS_STAY) == 0) {
		enter_user_namespace(1);
		in_userns = 1;
	}
	ph__runner_mark(PH_MARK_MAIN);
	close_other_fds();

	host_pid = getppid();
	r = ph__msg_recv(PH_FD_CONTROL, &msg, 0, &why);
	if (r == 0)
		_exit(1); /* host gone before it said anything */
	if (r < 0)
		ph__runner_fail(PH_STEP_PROTOCOL, 0, "bad SETUP message: %s", why);
	if (msg.hdr.type != PH_MSG_SETUP || ph__parse_setup(&msg, &setup, &why) < 0)
		ph__runner_fail(PH_STEP_PROTOCOL, 0, "expected a SETUP message: %s",
				msg.hdr.type != PH_MSG_SETUP ? "got another type" : why);
	/* Each fd is what the table says SETUP carries, checked on the fd. */
	if (ph__msg_check_fds(&msg, PH_DIR_HOST_TO_RUNNER, PH_PHASE_SPAWNING, &why) < 0)
		ph__runner_fail(PH_STEP_PROTOCOL, 0, "SETUP carries a wrong fd: %s", why);
	memcpy(path, setup.path.p, setup.path.len);
	path[setup.path.len] = '\0';
	ring_fd = msg.fds[0];
	plugin_fd = msg.fds[1];
	wake_fd = msg.fds[2];
	if (setup.fixed.flags & PH_SETUP_SECCOMP)
		prog_fd = msg.fds[3];
	notify = !!(setup.fixed.flags & PH_SETUP_SECCOMP_LISTEN);
	/* SETUP's fds are ours now: msg can take the grants. */
	msg.nfds = 0;
	receive_grants(setup.fixed.n_grants);

	ring = map_ring(ring_fd, setup.fixed.ring_capacity);

	/* Without a listener, stage 2 is a second, stricter filter. Build it
	 * now: once the rlimits are in force (FSIZE 0) its memfd cannot be
	 * written, and once stage 1 is loaded memfd_create is refused. */
	if (prog_fd >= 0 && !notify) {
		stage2_fd = ph__policy_compile_stage2(user_grants > 0);
		if (stage2_fd < 0)
			ph__runner_fail(PH_STEP_SECCOMP, -stage2_fd,
					"cannot build seccomp stage 2");
	}

#if defined(__SANITIZE_ADDRESS__)
	/* ASan reserves terabytes of shadow address space: an address-space
	 * limit would fail every later mapping. Sanitizer builds rely on the
	 * host's resident-memory watchdog alone. */
	setup.fixed.rlimit_as = 0;
#endif
	/* The host asked for the user namespace we are in, or for none. */
	if (!!(setup.fixed.ns_flags & CLONE_NEWUSER) != in_userns)
		ph__runner_fail(
		    PH_STEP_PROTOCOL, 0,
		    "SETUP and the runner's arguments disagree about the user namespace");
	/* A zygote holds a supervisor socket per instance: it runs with
	 * room for them, and each instance sets its own limit after the fork. */
	zygote = !!(setup.fixed.flags & PH_SETUP_ZYGOTE);
	inst_nofile = setup.fixed.rlimit_nofile;
	if (zygote && setup.fixed.rlimit_nofile)
		setup.fixed.rlimit_nofile = PH_ZYGOTE_NOFILE;
	/* The grants' mounts are cloned from the host's mount namespace,
	 * the only one their fds lead into, before we leave it. */
	if ((setup.fixed.flags & PH_SETUP_SANDBOX) && (setup.fixed.ns_flags & CLONE_NEWNS)) {
		size_t bad = 0;
		const char *what = "";

		r = ph__sb_grant_trees(grants, n_grants, &bad, &what);
		if (r < 0)
			ph__runner_fail(
			    PH_STEP_MOUNTS, -r, "cannot mount the file grant '%s': %s%s",
			    grants[bad].inside, what,
			    r == -ENOSYS ? " (this kernel has no open_tree(), 5.2)" : "");
	}
	if (setup.fixed.flags & PH_SETUP_SANDBOX)
		enter_namespaces(setup.fixed.ns_flags & ~(uint32_t)CLONE_NEWUSER);
	if (setup.fixed.flags & PH_SETUP_SANDBOX)
		sb.layers =
		    apply_sandbox(&setup, path, plugin_fd, &path_inside, (int *)&sb.landlock_abi);
	if (zygote) {
		/* Forks instances from here on; returns in each of them. */
		uint64_t capacity;
		int keep[3] = {prog_fd, stage2_fd, plugin_fd};

		if (!(setup.fixed.flags & PH_SETUP_SANDBOX) ||
		    !(setup.fixed.ns_flags & CLONE_NEWPID))
			ph__runner_fail(PH_STEP_PROTOCOL, 0, "a zygote needs a pid namespace");
		munmap(ring, ph_ring_memfd_size(setup.fixed.ring_capacity));
		close(wake_fd);
		memcpy(sb.mark_ns, ph__runner_marks, sizeof(sb.mark_ns));
		ph__runner_zygote(&sb, &ring_fd, &wake_fd, &capacity, keep, ELEMENTSOF(keep),
				  inst_nofile);
		prog_fd = keep[0];
		stage2_fd = keep[1];
		plugin_fd = keep[2];
		/* The instance's own timeline: its steps before the fork are
		 * the zygote's, paid once. */
		memset(ph__runner_marks, 0, sizeof(ph__runner_marks));
		setup.fixed.ring_capacity = capacity;
		ring = map_ring(ring_fd, capacity);
		if (!(setup.fixed.ns_flags & CLONE_NEWNS)) {
			/* Loaded through its fd, whose number moved. */
			static char by_fd[64];

			snprintf(by_fd, sizeof(by_fd), "/proc/self/fd/%d", plugin_fd);
			path_inside = by_fd;
		}
	} else if (setup.fixed.flags & PH_SETUP_SUPERVISE) {
		/* Without a supervisor channel fd 4 was never passed (the host
		 * closes it before exec), and may hold one of ours by now, such
		 * as the stage-2 program: nothing to close. */
		ph__runner_become_init();
	}
	ph__runner_mark(PH_MARK_FORKED);

	if (prog_fd >= 0) {
		r = ph__sb_seccomp_load(prog_fd, notify, notify ? &listener : NULL);
		if (r < 0)
			ph__runner_fail(PH_STEP_SECCOMP, -r, "cannot load seccomp stage 1");
		close(prog_fd);
		sb.layers |= PH_LAYER_SECCOMP | (notify ? PH_LAYER_NOTIFY : 0);
	}
	ph__runner_mark(PH_MARK_SECCOMP);
	memcpy(sb.mark_ns, ph__runner_marks, sizeof(sb.mark_ns));

	/* The listener reaches the host before any plugin code runs, so the
	 * plugin can neither intercept it nor act unobserved. */
	if (ph__msg_send(PH_FD_CONTROL, PH_MSG_SANDBOXED, 0, &sb, sizeof(sb), &listener,
			 listener >= 0 ? 1 : 0) < 0)
		_exit(1);
	safe_close(listener);

	/* No grant fd reaches plugin code (apply_sandbox() closed them
	 * where there is a sandbox; the host sends none without one). */
	close_grants();
	/* printf() and friends tell the host they wrote (stdio.c). */
	ph__runner_stdio_hint(ring);
	/* From here on, untrusted code runs in this process. */
	if (zygote)
		gap = shift_layout(&gap_len);
	desc = load_plugin(path_inside);
	if (gap)
		munmap(gap, gap_len);
	/* Copied into the sandbox's own view, or loaded through it. */
	close(plugin_fd);
	send_loaded(desc);

	/* Stage 2. In notify mode the host stops allowing the loader's
	 * syscalls when it reads LOADED; otherwise stack the kill filter. */
	if (stage2_fd >= 0) {
		r = ph__sb_seccomp_load(stage2_fd, 0, NULL);
		if (r < 0)
			_exit(1);
		close(stage2_fd);
	}
	_exit(ph__runner_serve(desc, PH_FD_CONTROL, wake_fd, ring, setup.fixed.ring_capacity));
}
