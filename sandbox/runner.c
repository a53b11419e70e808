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
 *   5. checks the descriptor, reports LOADED, enters stage 2 and hands
 *      control to the SDK's request loop inside the plugin.
 *
 * Until step 4 everything here is trusted. After it, nothing this process
 * says can be believed, which is why the listener goes out first and why the
 * host checks every later message and ring byte.
 */
#include <dlfcn.h>
#include <sched.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <plughost/plugin.h>

#include "proto.h"
#include "sandbox.h"
#include "seal.h"

#define CTL_FD 3
#define SUP_FD 4 /* supervisor channel, held by init only */

static struct ph_msg msg;

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
static _Noreturn void fail(enum ph_setup_step step, int err, const char *fmt, ...)
{
	struct ph_msg_setup_failed f = {.step = step, .err = err > 0 ? err : 0};
	char text[PH_TEXT_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	f.msg_len = n < 0 ? 0 : (size_t)n < sizeof(text) ? (uint32_t)n : sizeof(text) - 1;
	ph__msg_send2(CTL_FD, PH_MSG_SETUP_FAILED, 0, &f, sizeof(f), text, f.msg_len, NULL, 0);
	_exit(1);
}

static void close_other_fds(void)
{
	/* The host already closed everything but fd 3 before exec; do it again
	 * so that a runner started some other way starts just as clean. */
	if (syscall(SYS_close_range, SUP_FD + 1, ~0U, 0) < 0)
		for (int fd = SUP_FD + 1; fd < 1024; fd++)
			close(fd);
}

/* The sandbox layers, in order. Returns the PH_LAYER_* bits now active. */
static uint32_t apply_sandbox(const struct ph_setup_view *s, const char *path, int plugin_fd,
			      const char **ret_path_inside, int *ret_landlock_abi)
{
	uint32_t layers = 0;
	const uint32_t ns = s->fixed.ns_flags;
	int r;

	static const struct {
		uint32_t clone_flag, layer;
	} ns_layers[] = {
	    {CLONE_NEWUSER, PH_LAYER_USERNS},	  {CLONE_NEWPID, PH_LAYER_PIDNS},
	    {CLONE_NEWNET, PH_LAYER_NETNS},	  {CLONE_NEWIPC, PH_LAYER_IPCNS},
	    {CLONE_NEWNS, PH_LAYER_MNTNS},	  {CLONE_NEWUTS, PH_LAYER_UTSNS},
	    {CLONE_NEWCGROUP, PH_LAYER_CGROUPNS},
	};
	for (size_t i = 0; i < sizeof(ns_layers) / sizeof(ns_layers[0]); i++)
		if (ns & ns_layers[i].clone_flag)
			layers |= ns_layers[i].layer;

	/* A new session: no controlling terminal to inject keystrokes into,
	 * and no signals from the host's terminal job control. */
	setsid();

	*ret_path_inside = path;
	if (ns & CLONE_NEWNS) {
		/* The filesystem view shrinks to what loading needs; done while
		 * we still hold CAP_SYS_ADMIN in our own user namespace. */
		r = ph__sb_mounts(plugin_fd, path, ret_path_inside);
		if (r < 0)
			fail(PH_STEP_MOUNTS, -r, "cannot build the plugin's filesystem view");
	}
	/* Limits before dropping capabilities: lowering needs none, and once
	 * CAP_SYS_RESOURCE is gone the plugin cannot raise them back. */
	r = ph__sb_rlimits(&s->fixed);
	if (r < 0)
		fail(PH_STEP_RLIMITS, -r, "cannot set resource limits");
	layers |= PH_LAYER_RLIMITS;

	r = ph__sb_caps_drop();
	if (r < 0)
		fail(PH_STEP_CAPS, -r, "cannot drop capabilities");
	layers |= PH_LAYER_CAPS;

	/* Required for Landlock and for loading seccomp without privilege,
	 * and it stops any setuid or file-capability gain through exec. */
	r = ph__sb_nnp();
	if (r < 0)
		fail(PH_STEP_NNP, -r, "cannot set no_new_privs");
	layers |= PH_LAYER_NNP;

	r = ph__sb_landlock(*ret_path_inside);
	if (r < 0)
		fail(PH_STEP_LANDLOCK, -r, "cannot restrict filesystem access with Landlock");
	if (r > 0) {
		layers |= PH_LAYER_LANDLOCK;
		if (r >= 4)
			layers |= PH_LAYER_LANDLOCK_NET;
	}
	*ret_landlock_abi = r;
	return layers;
}

/* Check the descriptor well enough to give a clear error; the host checks
 * everything it is told again, since the plugin's code has run by now. */
static const struct ph_plugin_descriptor *load_plugin(const char *path)
{
	const struct ph_plugin_descriptor *d;
	void *h;

	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		fail(PH_STEP_LOAD, 0, "%s", e ? e : "dlopen failed");
	}
	d = dlsym(h, PH_PLUGIN_SYMBOL);
	if (!d)
		fail(PH_STEP_DESCRIPTOR, 0,
		     "not a plughost plugin (missing descriptor '" PH_PLUGIN_SYMBOL "')");
	if (d->abi_version != PH_PLUGIN_ABI_VERSION)
		fail(PH_STEP_DESCRIPTOR, 0,
		     "plugin built for SDK ABI %u, this runner speaks ABI %u: rebuild it",
		     d->abi_version, PH_PLUGIN_ABI_VERSION);
	if (d->struct_size < sizeof(*d) || !d->name || !d->name[0] || !d->serve)
		fail(PH_STEP_DESCRIPTOR, 0, "plugin descriptor is malformed (size, name or entry)");
	if (!d->methods || d->n_methods == 0 || d->n_methods > PH_METHODS_MAX)
		fail(PH_STEP_DESCRIPTOR, 0, "plugin exports no methods, or more than %u",
		     PH_METHODS_MAX);
	return d;
}

static void send_loaded(const struct ph_plugin_descriptor *d)
{
	uint8_t buf[PH_MSG_MAX - sizeof(struct ph_msg_hdr)];
	struct ph_msg_loaded fixed = {.n_methods = (uint32_t)d->n_methods};
	const char *version = d->version ? d->version : "";
	size_t off = sizeof(fixed), nl = strnlen(d->name, PH_NAME_MAX + 1),
	       vl = strnlen(version, PH_NAME_MAX + 1);

	if (nl > PH_NAME_MAX || vl > PH_NAME_MAX)
		fail(PH_STEP_DESCRIPTOR, 0, "plugin name or version longer than %u bytes",
		     PH_NAME_MAX);
	fixed.name_len = (uint16_t)nl;
	fixed.version_len = (uint16_t)vl;
	memcpy(buf, &fixed, sizeof(fixed));
	memcpy(buf + off, d->name, nl);
	off += nl;
	memcpy(buf + off, version, vl);
	off += vl;
	for (size_t i = 0; i < d->n_methods; i++) {
		const char *m = d->methods[i].name;
		size_t ml = m ? strnlen(m, PH_NAME_MAX + 1) : 0;
		uint16_t l = (uint16_t)ml;

		if (ml == 0 || ml > PH_NAME_MAX || !d->methods[i].fn)
			fail(PH_STEP_DESCRIPTOR, 0,
			     "method %zu has no name, a name over %u bytes, or no handler", i,
			     PH_NAME_MAX);
		memcpy(buf + off, &l, sizeof(l));
		off += sizeof(l);
		memcpy(buf + off, m, ml);
		off += ml;
	}
	if (ph__msg_send(CTL_FD, PH_MSG_LOADED, 0, buf, off, NULL, 0) < 0)
		_exit(1);
}

/* Signals the kernel raises for a fault, whose siginfo names the cause
 * (si_code) and the faulting address. */
static int is_fault(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP;
}

/*
 * Stay behind as init (pid 1 of the plugin's pid namespace) and let the
 * plugin run as pid 2. A pid 1 is immune to its own default-action
 * signals, so a plugin that was pid 1 could not even abort(); and only
 * init, which never runs plugin code, can tell the host truthfully how the
 * plugin ended.
 *
 * Init is also the plugin's tracer (PTRACE_TRACEME, before any filter or
 * plugin code): at each signal-delivery-stop the kernel hands it the
 * signal's siginfo, so a crash is reported with its si_code and fault
 * address, which no wait status carries. Init only ever reads siginfo and
 * resumes: it never touches the plugin's memory or registers. Where
 * tracing is refused (Yama ptrace_scope 3), crashes are reported without
 * an address. Returns in the child; never returns in init.
 */
static void become_init(void)
{
	struct ph_msg_exit ex = {0};
	int traced = 0, configured = 0;
	pid_t child = fork();

	if (child < 0)
		fail(PH_STEP_SPAWN, errno, "cannot fork the plugin process");
	if (child == 0) {
		close(SUP_FD); /* the plugin never holds the supervisor channel */
		/* Stop once so init can set its options before going on. */
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0)
			raise(SIGSTOP);
		return;
	}
	int pfd = syscall(SYS_pidfd_open, child, 0);
	ph__msg_send(SUP_FD, PH_MSG_CHILD, 0, NULL, 0, &pfd, 1);
	close(pfd);

	/* Init needs nothing of the plugin's: not its control socket (the
	 * host must see EOF when the plugin dies), not the ring. */
	close(CTL_FD);
	for (;;) {
		struct rusage ru = {0};
		siginfo_t info;
		int status, sig;
		pid_t pid = wait4(-1, &status, __WALL, &ru);

		if (pid < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (WIFSTOPPED(status)) {
			traced = 1;
			sig = WSTOPSIG(status);
			if (!configured && pid == child) {
				/* The first stop: trace its threads too, and take
				 * the plugin along if init itself should die. */
				ptrace(PTRACE_SETOPTIONS, pid, NULL,
				       (void *)(long)(PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL));
				configured = 1;
				ptrace(PTRACE_CONT, pid, NULL, NULL);
				continue;
			}
			/* Clone events, new threads' first stop, group stops:
			 * resume without a signal. SIGSTOP is swallowed: a
			 * stopped plugin would only wait out its deadline. */
			if ((status >> 16) != 0 || sig == SIGSTOP ||
			    ptrace(PTRACE_GETSIGINFO, pid, NULL, &info) < 0) {
				ptrace(PTRACE_CONT, pid, NULL, NULL);
				continue;
			}
			if (is_fault(sig) && info.si_code > 0) {
				/* Raised by the kernel for a fault (si_code > 0;
				 * a signal the plugin sent itself has <= 0). */
				ex.fault_signo = sig;
				ex.fault_code = info.si_code;
				ex.fault_addr = (uint64_t)(uintptr_t)info.si_addr;
			}
			ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig);
			continue;
		}
		if (pid != child)
			continue; /* a thread or stray grandchild: nothing to say */
		if (WIFEXITED(status)) {
			ex.how = CLD_EXITED;
			ex.status = WEXITSTATUS(status);
		} else {
			ex.how = WCOREDUMP(status) ? CLD_DUMPED : CLD_KILLED;
			ex.status = WTERMSIG(status);
		}
		/* Only the fault that killed it counts. */
		if (ex.how == CLD_EXITED || ex.fault_signo != ex.status)
			ex.fault_signo = ex.fault_code = 0, ex.fault_addr = 0;
		ex.traced = (uint32_t)traced;
		ex.user_usec =
		    (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec;
		ex.sys_usec =
		    (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
		ex.max_rss_kib = (uint64_t)ru.ru_maxrss;
		ph__msg_send(SUP_FD, PH_MSG_EXIT, 0, &ex, sizeof(ex), NULL, 0);
		/* Leaving tears the namespace down: nothing of it survives. */
		_exit(0);
	}
}

int main(int argc, char **argv)
{
	struct ph_setup_view setup;
	struct ph_msg_sandboxed sb = {0};
	const struct ph_plugin_descriptor *desc;
	struct ph__runner_env env = {.abi = PH_WIRE_ABI, .size = sizeof(env), .ctl_fd = CTL_FD};
	char path[4097];
	const char *path_inside = path, *why;
	int ring_fd, plugin_fd, prog_fd = -1, stage2_fd = -1, listener = -1, notify, r;
	uint64_t ring_size;
	void *ring;

	(void)argc;
	(void)argv;
	/* Die with the host. Set before reading SETUP: if the host died before
	 * this line, the read below sees EOF and we exit anyway. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close_other_fds();

	r = ph__msg_recv(CTL_FD, &msg, 0, &why);
	if (r == 0)
		_exit(1); /* host gone before it said anything */
	if (r < 0)
		fail(PH_STEP_PROTOCOL, 0, "bad SETUP message: %s", why);
	if (msg.hdr.type != PH_MSG_SETUP || ph__parse_setup(&msg, &setup, &why) < 0)
		fail(PH_STEP_PROTOCOL, 0, "expected a SETUP message: %s",
		     msg.hdr.type != PH_MSG_SETUP ? "got another type" : why);
	memcpy(path, setup.path.p, setup.path.len);
	path[setup.path.len] = '\0';
	ring_fd = msg.fds[0];
	plugin_fd = msg.fds[1];
	if (setup.fixed.flags & PH_SETUP_SECCOMP)
		prog_fd = msg.fds[2];
	notify = !!(setup.fixed.flags & PH_SETUP_SECCOMP_LISTEN);

	r = ph__seal_check(ring_fd, PH_SEAL_KIND_RING, PH_RING_HDR_SIZE + setup.fixed.ring_capacity,
			   UINT64_MAX, &ring_size, &why);
	if (r < 0)
		fail(PH_STEP_RING, -r, "ring rejected: %s", why);
	ring = mmap(NULL, ring_size, PROT_READ | PROT_WRITE, MAP_SHARED, ring_fd, 0);
	if (ring == MAP_FAILED)
		fail(PH_STEP_RING, errno, "cannot map the ring");
	close(ring_fd);
	env.ring_base = ring;
	env.ring_capacity = setup.fixed.ring_capacity;

	/* Without a listener, stage 2 is a second, stricter filter. Build it
	 * now: once the rlimits are in force (FSIZE 0) its memfd cannot be
	 * written, and once stage 1 is loaded memfd_create is refused. */
	if (prog_fd >= 0 && !notify) {
		stage2_fd = ph__policy_compile_stage2();
		if (stage2_fd < 0)
			fail(PH_STEP_SECCOMP, -stage2_fd, "cannot build seccomp stage 2");
	}

#if defined(__SANITIZE_ADDRESS__)
	/* ASan reserves terabytes of shadow address space: an address-space
	 * limit would fail every later mapping. Sanitizer builds rely on the
	 * host's resident-memory watchdog alone. */
	setup.fixed.rlimit_as = 0;
#endif
	if (setup.fixed.flags & PH_SETUP_SANDBOX)
		sb.layers =
		    apply_sandbox(&setup, path, plugin_fd, &path_inside, (int *)&sb.landlock_abi);
	/* Copied into the sandbox's own view by now, or (without a mount
	 * namespace) loaded by its path below. */
	close(plugin_fd);
	if (setup.fixed.flags & PH_SETUP_SUPERVISE)
		become_init();
	else
		close(SUP_FD);

	if (prog_fd >= 0) {
		r = ph__sb_seccomp_load(prog_fd, notify, notify ? &listener : NULL);
		if (r < 0)
			fail(PH_STEP_SECCOMP, -r, "cannot load seccomp stage 1");
		close(prog_fd);
		sb.layers |= PH_LAYER_SECCOMP | (notify ? PH_LAYER_NOTIFY : 0);
	}

	/* The listener reaches the host before any plugin code runs, so the
	 * plugin can neither intercept it nor act unobserved. */
	if (ph__msg_send(CTL_FD, PH_MSG_SANDBOXED, 0, &sb, sizeof(sb), &listener,
			 listener >= 0 ? 1 : 0) < 0)
		_exit(1);
	if (listener >= 0)
		close(listener);

	/* From here on, untrusted code runs in this process. */
	desc = load_plugin(path_inside);
	send_loaded(desc);

	/* Stage 2. In notify mode the host stops allowing the loader's
	 * syscalls when it reads LOADED; otherwise stack the kill filter. */
	if (stage2_fd >= 0) {
		r = ph__sb_seccomp_load(stage2_fd, 0, NULL);
		if (r < 0)
			_exit(1);
		close(stage2_fd);
	}
	_exit(desc->serve(desc, &env));
}
