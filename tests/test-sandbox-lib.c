/* SPDX-License-Identifier: MIT */
/*
 * The sandbox library against the real kernel, no mocks. Every layer is
 * applied in a forked child, and the parent asserts exactly how that child
 * ended: an exit code that names the step that went wrong, or the signal
 * the sandbox must produce (SIGSYS from seccomp, SIGKILL from the host).
 * Runs as root and as an unprivileged user (user namespaces needed for
 * the mount, capability and Landlock tests).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testconfine.h"
#include "testutil.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/un.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <plughost/host.h>

#include "internal.h" /* ph__policy_sb(): host/src/policy.c, compiled in */
#include "sandbox.h"
#include "seal.h"

#define X32_BIT 0x40000000

/* A library no part of this test links: dlopen must really load it. */
#define TEST_LIB      "libz.so.1"
#define TEST_LIB_PATH "/usr/lib/x86_64-linux-gnu/libz.so.1"
#define TEST_LIB_SYM  "zlibVersion"

/* Exit codes a child uses to say which step failed (0 is success). */
enum {
	C_COMPILE = 101,
	C_STAGE2,
	C_NNP,
	C_LOAD,
	C_LOAD2,
	C_SEND,
	C_STEP, /* + step number */
};

static pid_t live_child = -1;
static pid_t parent_pid;
/* Freed by the teardown, so a failed assertion leaks nothing. */
static struct ph_policy *test_policy;

/* ----------------------------------------------------------- helpers */

static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		assert_int_equal(errno, EINTR);
	if (pid == live_child)
		live_child = -1;
	return status;
}

#define assert_exited(status, code)                                                                \
	do {                                                                                       \
		int st_ = (status);                                                                \
		if (!WIFEXITED(st_))                                                               \
			fail_msg("child killed by signal %d, expected exit %d",                    \
				 WIFSIGNALED(st_) ? WTERMSIG(st_) : -1, (code));                   \
		assert_int_equal(WEXITSTATUS(st_), (code));                                        \
	} while (0)

#define assert_signaled(status, sig)                                                               \
	do {                                                                                       \
		int st_ = (status);                                                                \
		if (!WIFSIGNALED(st_))                                                             \
			fail_msg("child exited %d, expected signal %d",                            \
				 WIFEXITED(st_) ? WEXITSTATUS(st_) : -1, (sig));                   \
		assert_int_equal(WTERMSIG(st_), (sig));                                            \
	} while (0)

typedef int (*child_fn)(void *arg);

/* cmocka catches SIGSEGV and friends to report a failed test; in a child
 * that handler would resume the test run there. Children die plainly. */
static void child_default_signals(void)
{
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS, SIGABRT};

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
}

/* Run fn in a forked child and return its wait status. */
static int run_child(child_fn fn, void *arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		child_default_signals();
		_exit(fn(arg));
	}
	live_child = pid;
	return wait_child(pid);
}

static int teardown_child(void **state)
{
	(void)state;
	ph_policy_free(test_policy);
	test_policy = NULL;
	if (live_child > 0) {
		kill(live_child, SIGKILL);
		waitpid(live_child, NULL, 0);
		live_child = -1;
	}
	return 0;
}

/* Does int 0x80 reach the kernel at all? (ia32_emulation=off: SIGSEGV) */
static int ia32_child(void *arg)
{
	long r;

	(void)arg;
	__asm__ volatile("int $0x80"
			 : "=a"(r)
			 : "a"(20L /* i386 getpid */)
			 : "memory", "r8", "r9", "r10", "r11");
	return r == getpid() ? 0 : 1;
}

static int ia32_works(void)
{
	int st = run_child(ia32_child, NULL);

	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 1;
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSEGV);
	return 0;
}

/* ------------------------------------------------- filtered children */

struct filtered {
	const struct ph_policy *policy;
	int stage2; /* also stack ph__policy_compile_stage2() */
	int (*action)(void);
};

/* The runner's order: compile (host), nnp, stage 1, [stage 2], action. */
static int filtered_child(void *arg)
{
	const struct filtered *f = arg;
	int s1, s2 = -1;

	s1 = ph__policy_compile(ph__policy_sb(f->policy), 0);
	if (s1 < 0)
		return C_COMPILE;
	if (f->stage2) {
		s2 = ph__policy_compile_stage2(0);
		if (s2 < 0)
			return C_STAGE2;
	}
	if (ph__sb_nnp() < 0)
		return C_NNP;
	if (ph__sb_seccomp_load(s1, 0, NULL) < 0)
		return C_LOAD;
	close(s1);
	/* Loaded under stage 1, exactly as the runner does after dlopen. */
	if (f->stage2 && ph__sb_seccomp_load(s2, 0, NULL) < 0)
		return C_LOAD2;
	if (s2 >= 0)
		close(s2);
	return f->action();
}

static int run_filtered(const struct ph_policy *policy, int stage2, int (*action)(void))
{
	struct filtered f = {.policy = policy, .stage2 = stage2, .action = action};

	return run_child(filtered_child, &f);
}

/* Everything the strict policy allows; each check has its own code. */
static int act_allowed(void)
{
	struct rlimit rl;
	char name[16];
	void *p;

	if (syscall(SYS_getpid) != getpid())
		return 1;
	if (syscall(SYS_kill, getpid(), 0) != 0)
		return 2;
	if (syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), 0) != 0)
		return 3;
	/* clone3 must say ENOSYS (the kernel itself would say EINVAL for
	 * these arguments, so ENOSYS can only come from the filter). */
	if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
		return 4;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p, 4096, PROT_READ) != 0 || munmap(p, 4096) != 0)
		return 5;
	if (fcntl(1, F_GETFD) < 0)
		return 6;
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0 ||
	    prctl(PR_SET_NAME, "ph-test", 0, 0, 0) != 0 || prctl(PR_GET_NAME, name, 0, 0, 0) != 0)
		return 7;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 8;
	return 0;
}

static int act_openat(void)
{
	syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY | O_CLOEXEC);
	return 0;
}

static int act_openat_ro_ok(void)
{
	/* Stage 1 of kill mode: a read-only open is the loader's business. */
	long fd = syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY | O_CLOEXEC);

	return fd >= 0 ? 0 : 1;
}

static int act_openat_write(void)
{
	syscall(SYS_openat, AT_FDCWD, "/tmp/ph-never-created", O_WRONLY | O_CREAT, 0600);
	return 0;
}

static int act_x32(void)
{
	syscall(X32_BIT | SYS_getpid);
	return 0;
}

static int act_int80(void)
{
	return ia32_child(NULL) == 0 ? 0 : 1;
}

static int act_kill_parent(void)
{
	syscall(SYS_kill, parent_pid, 0);
	return 0;
}

static int act_socket(void)
{
	syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	return 0;
}

static int act_ioctl_tiocsti(void)
{
	char c = 'x';

	/* TIOCSTI with high bits set: the request is 32-bit in the kernel, a
	 * 64-bit compare would miss it (CVE-2019-10063). No ioctl at all. */
	syscall(SYS_ioctl, 0, 0xffffffff00005412UL, &c);
	return 0;
}

static int act_mmap_exec_anon(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return 0;
}

static int act_mmap_exec_file(void)
{
	/* Loaded library pages are fine to map executable during stage 1. */
	int fd = open(TEST_LIB_PATH, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 1;
	return mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0) == MAP_FAILED ? 2 : 0;
}

static int act_mmap_wx_file(void)
{
	int fd = open(TEST_LIB_PATH, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 1;
	mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE, fd, 0);
	return 0;
}

static int act_dlopen(void)
{
	void *h = dlopen(TEST_LIB, RTLD_NOW | RTLD_LOCAL);

	return h && dlsym(h, TEST_LIB_SYM) ? 0 : 1;
}

static int act_execve(void)
{
	char *argv[] = {(char *)"true", NULL}, *envp[] = {NULL};

	syscall(SYS_execve, "/bin/true", argv, envp);
	return 0;
}

static int act_fork(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	return 0;
}

static int act_prctl_dumpable(void)
{
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	return 0;
}

static int act_fcntl_setfl(void)
{
	fcntl(1, F_SETFL, O_ASYNC);
	return 0;
}

static int act_futex_pi(void)
{
	static uint32_t word;

	syscall(SYS_futex, &word, FUTEX_LOCK_PI, 0, NULL, NULL, 0);
	return 0;
}

static int act_getppid(void)
{
	return syscall(SYS_getppid) == parent_pid ? 0 : 1;
}

static int act_umask_allowed(void)
{
	umask(022);
	return 0;
}

static int act_umask_refused(void)
{
	umask(077);
	return 0;
}

static void *thread_main(void *arg)
{
	return arg;
}

static int act_thread(void)
{
	pthread_t t;
	void *ret = NULL;

	if (pthread_create(&t, NULL, thread_main, (void *)0x1234) != 0)
		return 1;
	if (pthread_join(t, &ret) != 0 || ret != (void *)0x1234)
		return 2;
	return 0;
}

static int act_clone_newuser_thread(void)
{
	/* Thread flags plus a namespace: must not pass the THREADS rule. The
	 * kernel would refuse it anyway (EINVAL); the filter must kill first. */
	syscall(SYS_clone, CLONE_THREAD | CLONE_VM | CLONE_SIGHAND | CLONE_NEWUSER, NULL, NULL,
		NULL, 0);
	return 0;
}

/* --------------------------------------------------------------- tests */

/*
 * Under a profile that removes user namespaces (docker-default, no-userns;
 * tests/testconfine.h) the tests that make one themselves are not
 * applicable: say so, and assert it is really gone (the probe says no, and
 * the kernel refuses one). Returns 1 then.
 */
static int userns_removed(void)
{
	pid_t pid;
	int st;

	if (!tc_removes(PH_LAYER_USERNS))
		return 0;
	assert_int_equal(ph__probe()->userns, 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER) == -1 && errno == EPERM ? 0 : 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	print_message("  not applicable under %s: no user namespaces\n", tc_profile());
	return 1;
}

static void test_probe(void **state)
{
	const struct ph__features *f;
	char buf[4096], small[10], expect[64];
	int fds = tu_count_fds(), n;

	(void)state;
	f = ph__probe();
	assert_non_null(f);
	assert_ptr_equal(f, ph__probe());
	assert_int_equal(tu_count_fds(), fds);

	assert_in_range(f->seccomp, 0, 1);
	assert_in_range(f->seccomp_notify, 0, 1);
	assert_in_range(f->seccomp_continue, 0, 1);
	assert_in_range(f->userns, 0, 1);
	assert_in_range(f->memfd_noexec, 0, 1);
	assert_in_range(f->pidfd, 0, 1);
	assert_in_range(f->close_range, 0, 1);
	assert_in_range(f->cgroup2, 0, 1);
	assert_in_range(f->cgroup2_delegated, 0, f->cgroup2);
	assert_true(f->landlock_abi >= 0);
	/* Everything else in this file needs seccomp. */
	assert_int_equal(f->seccomp, 1);
	assert_true(!f->seccomp_continue || f->seccomp_notify);
	assert_int_equal(f->memfd_noexec, ph__memfd_noexec_supported());
	if (f->cgroup2)
		assert_int_equal(f->cgroup2_path[0], '/');

	n = ph__probe_report(buf, sizeof(buf));
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	assert_int_equal((size_t)n, strlen(buf));
	assert_non_null(strstr(buf, "\nseccomp: yes\n"));
	assert_non_null(strstr(buf, "seccomp user notification: "));
	assert_non_null(strstr(buf, "kernel: "));
	assert_non_null(strstr(buf, "user namespaces: "));
	assert_non_null(strstr(buf, "cgroup v2 delegated: "));
	assert_non_null(strstr(buf, geteuid() == 0 ? "root: yes" : "root: no"));
	if (f->landlock_abi > 0)
		snprintf(expect, sizeof(expect), "landlock: yes (ABI %d)\n", f->landlock_abi);
	else
		snprintf(expect, sizeof(expect), "landlock: unavailable");
	assert_non_null(strstr(buf, expect));
	print_message("%s", buf);

	/* snprintf semantics: the length wanted, whatever fits. */
	assert_int_equal(ph__probe_report(NULL, 0), n);
	assert_int_equal(ph__probe_report(small, sizeof(small)), n);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(ph__probe_report(NULL, 5), -EINVAL);
}

static int userns_try_child(void *arg)
{
	(void)arg;
	return unshare(CLONE_NEWUSER) == 0 && unshare(CLONE_NEWNS) == 0 ? 0 : 1;
}

static void test_probe_userns_agrees(void **state)
{
	int st = run_child(userns_try_child, NULL);

	(void)state;
	assert_true(WIFEXITED(st));
	assert_int_equal(ph__probe()->userns, WEXITSTATUS(st) == 0);
}

/* The plan is exactly what the probe made, never what privilege implies. */
static void test_ns_plan(void **state)
{
	const uint64_t all = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWNS |
			     CLONE_NEWUTS | CLONE_NEWCGROUP;
	struct ph__features f = {
	    .seccomp = 1, .userns = 1, .landlock_abi = 3, .ns_flags = all | CLONE_NEWUSER};
	const char *missing = NULL;
	uint64_t flags = 0;

	(void)state;
	assert_int_equal(
	    ph__ns_plan(&f, PH_LAYER_USERNS | PH_LAYER_PIDNS | PH_LAYER_MNTNS, &flags, &missing),
	    0);
	assert_int_equal(flags, all | CLONE_NEWUSER);

	/* Layers other than namespaces are checked against the features too. */
	assert_int_equal(ph__ns_plan(&f, PH_LAYER_LANDLOCK_NET, &flags, &missing), -EPERM);
	assert_string_equal(missing, "landlock-net");
	assert_int_equal(ph__ns_plan(&f, PH_LAYER_NOTIFY, &flags, &missing), -EPERM);
	assert_string_equal(missing, "notify");

	/* A root host where no user namespace could be made (no-userns). */
	f.userns = 0;
	f.ns_flags = all;
	flags = 12345;
	assert_int_equal(ph__ns_plan(&f, PH_LAYER_NETNS, &flags, &missing), 0);
	assert_int_equal(flags, all);
	assert_int_equal(ph__ns_plan(&f, PH_LAYER_USERNS, &flags, &missing), -EPERM);
	assert_string_equal(missing, "userns");

	/* Only some namespaces made (a profile refusing two): only those. */
	f.ns_flags = CLONE_NEWPID | CLONE_NEWIPC;
	assert_int_equal(ph__ns_plan(&f, PH_LAYER_PIDNS, &flags, &missing), 0);
	assert_int_equal(flags, CLONE_NEWPID | CLONE_NEWIPC);
	assert_int_equal(ph__ns_plan(&f, PH_LAYER_MNTNS, &flags, &missing), -EPERM);
	assert_string_equal(missing, "mntns");

	/* None at all (an unprivileged host without user namespaces, or any
	 * host under docker-default). */
	f.ns_flags = 0;
	assert_int_equal(ph__ns_plan(&f, 0, &flags, &missing), 0);
	assert_int_equal(flags, 0);
	flags = 12345;
	assert_int_equal(ph__ns_plan(&f, PH_LAYER_PIDNS, &flags, &missing), -EPERM);
	assert_string_equal(missing, "pidns");
	assert_int_equal(flags, 12345); /* untouched on failure */
	assert_int_equal(ph__ns_plan(NULL, 0, &flags, &missing), -EINVAL);
}

/* A child in a new user namespace, waiting for its maps, reports them. */
static void test_ns_write_maps(void **state)
{
	int go[2], back[2], st;
	unsigned int in = 1, out = 0, count = 0;
	char report[64] = "", sg[16] = "";
	ssize_t n;
	pid_t pid;

	(void)state;
	if (userns_removed())
		return;
	tu_skip_unless(ph__probe()->userns, "userns");
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	assert_int_equal(pipe2(back, O_CLOEXEC), 0);
	pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
	assert_true(pid >= 0);
	if (pid == 0) {
		char c, buf[64] = "";
		ssize_t m = 0, k;
		int fd;

		child_default_signals();
		close(go[1]);
		close(back[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (m = read(fd, buf, 40)) <= 0)
			_exit(2);
		close(fd);
		fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (k = read(fd, buf + m, 16)) <= 0)
			_exit(3);
		if (write(back[1], buf, (size_t)(m + k)) != m + k)
			_exit(4);
		_exit(0);
	}
	live_child = pid;
	close(go[0]);
	close(back[1]);
	assert_int_equal(ph__ns_write_maps(pid), 0);
	assert_int_equal(write(go[1], "g", 1), 1);
	close(go[1]);
	n = read(back[0], report, sizeof(report) - 1);
	close(back[0]);
	st = wait_child(pid);
	assert_exited(st, 0);
	assert_true(n > 0);
	assert_int_equal(sscanf(report, "%u %u %u %15s", &in, &out, &count, sg), 4);
	assert_int_equal(in, 0);
	assert_int_equal(count, 1);
	if (geteuid() == 0) {
		/* Root host: nobody outside; setgroups left for the child to
		 * clear root's supplementary groups before exec. */
		assert_int_equal(out, 65534);
		assert_string_equal(sg, "allow");
	} else {
		assert_int_equal(out, geteuid());
		assert_string_equal(sg, "deny");
	}
}

static void test_policy_api(void **state)
{
	struct ph_arg_cond c[7] = {{.arg = 0, .op = PH_ARG_EQ, .value = 1}};

	(void)state;
	assert_int_equal(ph_policy_new((enum ph_policy_preset)99, &test_policy), -EINVAL);
	assert_null(test_policy);
	assert_int_equal(ph_policy_new(PH_POLICY_STRICT, NULL), -EINVAL);
	assert_int_equal(ph_policy_new(PH_POLICY_STRICT, &test_policy), 0);
	assert_non_null(test_policy);

	assert_int_equal(ph_policy_allow(test_policy, "nosuchcall", NULL, 0), -ENOENT);
	assert_int_equal(ph_policy_allow(test_policy, "socketcall", NULL, 0),
			 -ENOENT); /* i386 only */
	assert_int_equal(ph_policy_allow(test_policy, "ptrace", NULL, 0), -EPERM);
	assert_int_equal(ph_policy_allow(test_policy, "io_uring_setup", NULL, 0), -EPERM);
	assert_int_equal(ph_policy_allow(test_policy, "clone", NULL, 0), -EPERM);
	assert_int_equal(ph_policy_allow(test_policy, "execve", NULL, 0), -EPERM);
	assert_int_equal(ph_policy_allow(test_policy, "kill", NULL, 0), -EPERM);
	assert_int_equal(ph_policy_allow(test_policy, "mprotect", NULL, 0), -EPERM);
	assert_int_equal(ph_policy_allow(test_policy, "openat", NULL, 0), -EPERM);

	assert_int_equal(ph_policy_allow(NULL, "getppid", NULL, 0), -EINVAL);
	assert_int_equal(ph_policy_allow(test_policy, NULL, NULL, 0), -EINVAL);
	assert_int_equal(ph_policy_allow(test_policy, "", NULL, 0), -EINVAL);
	assert_int_equal(ph_policy_allow(test_policy, "umask", NULL, 1), -EINVAL);
	assert_int_equal(ph_policy_allow(test_policy, "umask", c, 7), -EINVAL);
	c[0].arg = 6;
	assert_int_equal(ph_policy_allow(test_policy, "umask", c, 1), -EINVAL);
	c[0].arg = 0;
	c[0].op = (enum ph_arg_op)0;
	assert_int_equal(ph_policy_allow(test_policy, "umask", c, 1), -EINVAL);
	c[0].op = PH_ARG_EQ;
	c[1] = c[0]; /* two conditions on one argument */
	assert_int_equal(ph_policy_allow(test_policy, "umask", c, 2), -EINVAL);

	assert_int_equal(ph_policy_allow(test_policy, "getppid", NULL, 0), 0);
	ph_policy_free(NULL);
}

static void test_policy_compile_memfd(void **state)
{
	int fds = tu_count_fds(), fd;
	uint64_t size;
	const char *why = NULL;

	(void)state;
	/* Without notify (no-notify) the library refuses a notify program:
	 * only the kill-mode one is compiled there. */
	if (tc_removes(PH_LAYER_NOTIFY))
		assert_true(ph__policy_compile(NULL, 1) < 0);
	for (int notify = 0; notify <= !tc_removes(PH_LAYER_NOTIFY); notify++) {
		fd = ph__policy_compile(NULL, notify);
		assert_true(fd >= 0);
		/* Sealed like an input, a whole number of instructions. */
		assert_int_equal(
		    ph__seal_check(fd, PH_SEAL_KIND_INPUT, UINT64_MAX, 1 << 20, &size, &why), 0);
		assert_true(size > 0 && size % 8 == 0 && size / 8 <= 4096);
		assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		assert_int_equal(fcntl(fd, F_GET_SEALS) &
				     (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
				 F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
		close(fd);
	}
	fd = ph__policy_compile_stage2(0);
	assert_true(fd >= 0);
	close(fd);

	/* The loader refuses an fd that is not a sealed memfd. */
	fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ph__sb_seccomp_load(fd, 0, NULL), -EINVAL);
	close(fd);
	assert_int_equal(tu_count_fds(), fds);
}

static void test_strict_kill_mode(void **state)
{
	(void)state;
	/* What the plugin may do. */
	assert_exited(run_filtered(NULL, 0, act_allowed), 0);
	assert_exited(run_filtered(NULL, 1, act_allowed), 0);

	/* Stage 1 lets the loader work, within bounds... */
	assert_exited(run_filtered(NULL, 0, act_openat_ro_ok), 0);
	assert_exited(run_filtered(NULL, 0, act_mmap_exec_file), 0);
	assert_exited(run_filtered(NULL, 0, act_dlopen), 0);
	assert_signaled(run_filtered(NULL, 0, act_openat_write), SIGSYS);
	assert_signaled(run_filtered(NULL, 0, act_mmap_exec_anon), SIGSYS);
	assert_signaled(run_filtered(NULL, 0, act_mmap_wx_file), SIGSYS);

	/* ...and stage 2 ends that. */
	assert_signaled(run_filtered(NULL, 1, act_openat), SIGSYS);
	assert_signaled(run_filtered(NULL, 1, act_mmap_exec_file), SIGSYS);
	assert_signaled(run_filtered(NULL, 1, act_dlopen), SIGSYS);

	/* Never, in either stage. */
	for (int stage2 = 0; stage2 <= 1; stage2++) {
		assert_signaled(run_filtered(NULL, stage2, act_x32), SIGSYS);
		assert_signaled(run_filtered(NULL, stage2, act_kill_parent), SIGSYS);
		assert_signaled(run_filtered(NULL, stage2, act_socket), SIGSYS);
		assert_signaled(run_filtered(NULL, stage2, act_ioctl_tiocsti), SIGSYS);
		assert_signaled(run_filtered(NULL, stage2, act_execve), SIGSYS);
		assert_signaled(run_filtered(NULL, stage2, act_fork), SIGSYS);
		assert_signaled(run_filtered(NULL, stage2, act_thread), SIGSYS);
		assert_signaled(run_filtered(NULL, stage2, act_prctl_dumpable), SIGSYS);
		assert_signaled(run_filtered(NULL, stage2, act_fcntl_setfl), SIGSYS);
		assert_signaled(run_filtered(NULL, stage2, act_futex_pi), SIGSYS);
		assert_signaled(run_filtered(NULL, stage2, act_getppid), SIGSYS);
	}

	/* int 0x80: the bad-arch action, where the kernel runs it at all. */
	if (ia32_works())
		assert_signaled(run_filtered(NULL, 0, act_int80), SIGSYS);
	else
		print_message("int 0x80 disabled in this kernel (ia32_emulation=off): "
			      "i386 path not exercised\n");
}

static void test_threads_preset(void **state)
{
	(void)state;
	assert_int_equal(ph_policy_new(PH_POLICY_THREADS, &test_policy), 0);
	assert_exited(run_filtered(test_policy, 1, act_thread), 0);
	assert_exited(run_filtered(test_policy, 1, act_allowed), 0);
	assert_signaled(run_filtered(test_policy, 1, act_fork), SIGSYS);
	assert_signaled(run_filtered(test_policy, 1, act_clone_newuser_thread), SIGSYS);
}

static void test_policy_extra_rules(void **state)
{
	const struct ph_arg_cond only_022 = {.arg = 0, .op = PH_ARG_EQ, .value = 022};

	(void)state;
	assert_int_equal(ph_policy_new(PH_POLICY_STRICT, &test_policy), 0);
	assert_int_equal(ph_policy_allow(test_policy, "getppid", NULL, 0), 0);
	assert_int_equal(ph_policy_allow(test_policy, "umask", &only_022, 1), 0);
	assert_exited(run_filtered(test_policy, 1, act_getppid), 0);
	assert_exited(run_filtered(test_policy, 1, act_umask_allowed), 0);
	assert_signaled(run_filtered(test_policy, 1, act_umask_refused), SIGSYS);
	assert_signaled(run_filtered(NULL, 1, act_umask_allowed), SIGSYS);
}

/* ------------------------------------------- the program, interpreted */

/*
 * A classic BPF interpreter for seccomp programs, to check the generated
 * filters against inputs the kernel here cannot produce (int 0x80 needs
 * ia32 emulation, which may be off). Any instruction it does not know
 * fails the test rather than guessing.
 */
static uint32_t bpf_run(const struct sock_filter *insns, size_t n, const struct seccomp_data *d)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {0};

	for (size_t pc = 0; pc < n; pc++) {
		const struct sock_filter *i = &insns[pc];
		uint32_t src = BPF_SRC(i->code) == BPF_X ? x : i->k;

		switch (BPF_CLASS(i->code)) {
		case BPF_LD:
			if (i->code == (BPF_LD | BPF_W | BPF_ABS)) {
				assert_true(i->k % 4 == 0 && i->k + 4 <= sizeof(*d));
				memcpy(&a, (const char *)d + i->k, 4);
			} else if (i->code == (BPF_LD | BPF_IMM)) {
				a = i->k;
			} else if (i->code == (BPF_LD | BPF_MEM)) {
				assert_true(i->k < BPF_MEMWORDS);
				a = mem[i->k];
			} else {
				fail_msg("unknown BPF_LD 0x%x", i->code);
			}
			break;
		case BPF_LDX:
			if (i->code == (BPF_LDX | BPF_IMM))
				x = i->k;
			else if (i->code == (BPF_LDX | BPF_MEM) && i->k < BPF_MEMWORDS)
				x = mem[i->k];
			else
				fail_msg("unknown BPF_LDX 0x%x", i->code);
			break;
		case BPF_ST:
		case BPF_STX:
			assert_true(i->k < BPF_MEMWORDS);
			mem[i->k] = BPF_CLASS(i->code) == BPF_ST ? a : x;
			break;
		case BPF_ALU:
			switch (BPF_OP(i->code)) {
			case BPF_ADD:
				a += src;
				break;
			case BPF_SUB:
				a -= src;
				break;
			case BPF_MUL:
				a *= src;
				break;
			case BPF_OR:
				a |= src;
				break;
			case BPF_AND:
				a &= src;
				break;
			case BPF_XOR:
				a ^= src;
				break;
			case BPF_LSH:
				a = src < 32 ? a << src : 0;
				break;
			case BPF_RSH:
				a = src < 32 ? a >> src : 0;
				break;
			case BPF_NEG:
				a = -a;
				break;
			default:
				fail_msg("unknown BPF_ALU 0x%x", i->code);
			}
			break;
		case BPF_JMP: {
			int taken;

			if (BPF_OP(i->code) == BPF_JA) {
				pc += i->k;
				break;
			}
			switch (BPF_OP(i->code)) {
			case BPF_JEQ:
				taken = a == src;
				break;
			case BPF_JGT:
				taken = a > src;
				break;
			case BPF_JGE:
				taken = a >= src;
				break;
			case BPF_JSET:
				taken = (a & src) != 0;
				break;
			default:
				fail_msg("unknown BPF_JMP 0x%x", i->code);
				return 0;
			}
			pc += taken ? i->jt : i->jf;
			break;
		}
		case BPF_RET:
			return BPF_RVAL(i->code) == BPF_A ? a : i->k;
		case BPF_MISC:
			if (BPF_MISCOP(i->code) == BPF_TAX)
				x = a;
			else
				a = x;
			break;
		default:
			fail_msg("unknown BPF class 0x%x", i->code);
		}
	}
	fail_msg("BPF program ran off its end");
	return 0;
}

struct prog {
	struct sock_filter *insns;
	size_t n;
	unsigned int patched; /* placeholder comparisons given pid 7 */
};

static void prog_read(int fd, struct prog *p)
{
	struct stat st;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(st.st_size > 0 && st.st_size % sizeof(struct sock_filter) == 0);
	p->n = (size_t)st.st_size / sizeof(struct sock_filter);
	p->insns = malloc((size_t)st.st_size);
	assert_non_null(p->insns);
	assert_int_equal(pread(fd, p->insns, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	/* As the loader does: the self-only rules name pid 7 from here on. */
	p->patched = ph__sb_seccomp_patch_self(p->insns, (unsigned int)p->n, 7);
}

static uint32_t prog_eval(const struct prog *p, uint32_t arch, int nr, uint64_t a0, uint64_t a1,
			  uint64_t a2)
{
	struct seccomp_data d = {.nr = nr, .arch = arch, .args = {a0, a1, a2}};

	return bpf_run(p->insns, p->n, &d);
}

/* The strict preset compiled at build time is the very program a compile
 * here gives, in each mode this machine can compile. */
static void test_embedded_strict_program(void **state)
{
	(void)state;
	for (int notify = 0; notify <= 1; notify++) {
		const void *insns;
		const size_t len = ph__policy_strict_prog(notify, &insns);
		int fd = ph__policy_compile(NULL, notify);
		struct stat st;
		void *now;

		if (fd < 0) {
			/* Not compilable here (no notify on this kernel): the
			 * build machine may have had it; nothing to compare. */
			print_message("  mode %d: no program at run time here\n", notify);
			continue;
		}
		assert_int_equal(fstat(fd, &st), 0);
		assert_int_equal((size_t)st.st_size, len);
		now = malloc(len);
		assert_non_null(now);
		assert_int_equal(pread(fd, now, len, 0), (ssize_t)len);
		assert_memory_equal(now, insns, len);
		free(now);
		close(fd);
	}
}

static void test_program_semantics(void **state)
{
	struct prog kill, notify, stage2;
	const uint32_t x64 = AUDIT_ARCH_X86_64, i386 = AUDIT_ARCH_I386;

	(void)state;
	if (tc_removes(PH_LAYER_NOTIFY)) {
		/* Not applicable under no-notify: this reads the notify program
		 * beside the kill one, and the library refuses to compile it
		 * where the kernel has no notification. */
		int fd = ph__policy_compile(NULL, 0);

		assert_true(fd >= 0);
		close(fd);
		assert_true(ph__policy_compile(NULL, 1) < 0);
		print_message("  not applicable under %s: no notify program\n", tc_profile());
		return;
	}
	prog_read(ph__policy_compile(NULL, 0), &kill);
	prog_read(ph__policy_compile(NULL, 1), &notify);
	prog_read(ph__policy_compile_stage2(0), &stage2);
	/* In stage 1 only (libseccomp shares one comparison between the kill
	 * and tgkill rules); both then name pid 7, as the checks below show. */
	assert_true(kill.patched >= 1 && notify.patched >= 1);
	assert_int_equal(stage2.patched, 0);

	/* i386 (int 0x80), any number, even one that is allowed on x86_64:
	 * the bad-arch action, which equals the default action. */
	for (int nr = 0; nr < 450; nr += 7) {
		assert_int_equal(prog_eval(&kill, i386, nr, 0, 0, 0), SECCOMP_RET_KILL_PROCESS);
		assert_int_equal(prog_eval(&notify, i386, nr, 0, 0, 0), SECCOMP_RET_USER_NOTIF);
		assert_int_equal(prog_eval(&stage2, i386, nr, 0, 0, 0), SECCOMP_RET_KILL_PROCESS);
	}
	/* x32 numbers of allowed syscalls (read is 0, write 1). */
	assert_int_equal(prog_eval(&kill, x64, X32_BIT | 0, 0, 0, 0), SECCOMP_RET_KILL_PROCESS);
	assert_int_equal(prog_eval(&notify, x64, X32_BIT | 1, 0, 0, 0), SECCOMP_RET_USER_NOTIF);
	assert_int_equal(prog_eval(&notify, x64, X32_BIT | 520, 0, 0, 0), SECCOMP_RET_USER_NOTIF);

	/* Native. */
	assert_int_equal(prog_eval(&notify, x64, SYS_read, 0, 0, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(prog_eval(&notify, x64, SYS_openat, 0, 0, 0), SECCOMP_RET_USER_NOTIF);
	assert_int_equal(prog_eval(&kill, x64, SYS_openat, 0, 0, O_RDONLY), SECCOMP_RET_ALLOW);
	assert_int_equal(prog_eval(&stage2, x64, SYS_openat, 0, 0, O_RDONLY),
			 SECCOMP_RET_KILL_PROCESS);
	assert_int_equal(prog_eval(&kill, x64, SYS_clone3, 0, 0, 0), SECCOMP_RET_ERRNO | ENOSYS);
	assert_int_equal(prog_eval(&kill, x64, SYS_kill, 7, 0, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(prog_eval(&kill, x64, SYS_tgkill, 7, 7, 6), SECCOMP_RET_ALLOW);
	assert_int_equal(prog_eval(&kill, x64, SYS_tgkill, 8, 8, 6), SECCOMP_RET_KILL_PROCESS);
	assert_int_equal(prog_eval(&kill, x64, SYS_kill, PH__SB_SELF_PID, 0, 0),
			 SECCOMP_RET_KILL_PROCESS);
	assert_int_equal(prog_eval(&kill, x64, SYS_kill, 7 | (1ULL << 32), 0, 0),
			 SECCOMP_RET_KILL_PROCESS);
	assert_int_equal(prog_eval(&notify, x64, SYS_kill, 8, 0, 0), SECCOMP_RET_USER_NOTIF);
	assert_int_equal(prog_eval(&kill, x64, SYS_ioctl, 0, 0xffffffff00005412ULL, 0),
			 SECCOMP_RET_KILL_PROCESS);
	assert_int_equal(prog_eval(&kill, x64, SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE),
			 SECCOMP_RET_ALLOW);
	assert_int_equal(prog_eval(&notify, x64, SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC),
			 SECCOMP_RET_USER_NOTIF);
	assert_int_equal(prog_eval(&stage2, x64, SYS_getpid, 0, 0, 0), SECCOMP_RET_ALLOW);

	free(kill.insns);
	free(notify.insns);
	free(stage2.insns);
}

/* ------------------------------------------------------- notify mode */

static int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	char b = 'L';
	struct iovec iov = {.iov_base = &b, .iov_len = 1};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	char b;
	struct iovec iov = {.iov_base = &b, .iov_len = 1};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

static int notify_child(void *arg)
{
	const int sock = *(int *)arg;
	int prog, listener = -1;
	long fd;
	void *p;

	prog = ph__policy_compile(NULL, 1);
	if (prog < 0)
		return C_COMPILE;
	if (ph__sb_nnp() < 0)
		return C_NNP;
	if (ph__sb_seccomp_load(prog, 1, &listener) < 0 || listener < 0)
		return C_LOAD;
	if (send_fd(sock, listener) < 0)
		return C_SEND;
	close(listener);
	close(prog);

	/* 0: a whole dlopen, every syscall of it decided by the host. */
	if (act_dlopen() != 0 || write(sock, "D", 1) != 1)
		return C_STEP + 0;

	/* 1: the loader's open, which the host lets through (CONTINUE). */
	fd = syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || write(sock, "1", 1) != 1)
		return C_STEP + 1;
	/* 2: a socket, answered with an error this time. */
	if (syscall(SYS_socket, AF_INET, SOCK_STREAM, 0) != -1 || errno != EPERM ||
	    write(sock, "2", 1) != 1)
		return C_STEP + 2;
	/* 3: anonymous executable memory, refused with EACCES. */
	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED || errno != EACCES || write(sock, "3", 1) != 1)
		return C_STEP + 3;
	/* 4: an x32 call: the bad-arch action is notify too; the host kills. */
	syscall(X32_BIT | SYS_getpid);
	return C_STEP + 4;
}

struct notif_bufs {
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	size_t req_size, resp_size;
};

static void recv_notif(int listener, struct notif_bufs *b, pid_t pid)
{
	struct pollfd pfd = {.fd = listener, .events = POLLIN};

	assert_int_equal(poll(&pfd, 1, 5000), 1);
	memset(b->req, 0, b->req_size);
	assert_int_equal(ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, b->req), 0);
	/* The kernel, not the plugin, says who made which call. */
	assert_int_equal(b->req->pid, pid);
	memset(b->resp, 0, b->resp_size);
	b->resp->id = b->req->id;
}

static void expect_byte(int sock, char want)
{
	char got = 0;

	assert_int_equal(read(sock, &got, 1), 1);
	assert_int_equal(got, want);
}

/*
 * Play the host while the plugin loads: every notification must be one
 * ph__policy_loader_allows() lets through (CONTINUE), until the child
 * says it is done. Returns how many there were.
 */
static int serve_loading(int listener, int sock, struct notif_bufs *b, pid_t pid, char done)
{
	char name[32], line[256];
	int n = 0;

	for (;;) {
		struct pollfd pfd[2] = {{.fd = listener, .events = POLLIN},
					{.fd = sock, .events = POLLIN}};
		uint64_t args[6];

		assert_true(poll(pfd, 2, 5000) > 0);
		if (pfd[1].revents) {
			expect_byte(sock, done);
			return n;
		}
		recv_notif(listener, b, pid);
		memcpy(args, b->req->data.args, sizeof(args));
		if (!ph__policy_loader_allows(b->req->data.arch, b->req->data.nr, args)) {
			ph__syscall_describe(b->req->data.arch, b->req->data.nr, args, name,
					     sizeof(name), line, sizeof(line));
			fail_msg("the loader made a syscall the host would refuse: %s", line);
		}
		b->resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		assert_int_equal(ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, b->resp), 0);
		n++;
	}
}

static void test_notify_mode(void **state)
{
	struct seccomp_notif_sizes sizes;
	struct notif_bufs b;
	char name[32], line[256];
	int sv[2], listener, fds = tu_count_fds(), st, n;
	uint64_t args[6];
	pid_t pid;

	(void)state;
	if (tc_removes(PH_LAYER_NOTIFY)) {
		/* Not applicable: the profile removes notify. It is really
		 * gone: the probe says so, and the kernel refuses the sizes. */
		assert_int_equal(ph__probe()->seccomp_notify, 0);
		assert_true(syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == -1 &&
			    errno == EINVAL);
		print_message("  not applicable under %s: no user notification\n", tc_profile());
		return;
	}
	tu_skip_unless(ph__probe()->seccomp_notify, "notify");
	assert_int_equal(syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes), 0);
	b.req_size = sizes.seccomp_notif > sizeof(*b.req) ? sizes.seccomp_notif : sizeof(*b.req);
	b.resp_size =
	    sizes.seccomp_notif_resp > sizeof(*b.resp) ? sizes.seccomp_notif_resp : sizeof(*b.resp);
	b.req = calloc(1, b.req_size);
	b.resp = calloc(1, b.resp_size);
	assert_non_null(b.req);
	assert_non_null(b.resp);

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		child_default_signals();
		close(sv[0]);
		_exit(notify_child(&sv[1]));
	}
	live_child = pid;
	close(sv[1]);
	listener = recv_fd(sv[0]);
	assert_true(listener >= 0);
	assert_true(fcntl(listener, F_GETFD) & FD_CLOEXEC);

	/* 0: dlopen, through the host (at least its opens and exec maps). */
	n = serve_loading(listener, sv[0], &b, pid, 'D');
	assert_true(n >= 2);
	print_message("dlopen under notify: %d syscalls decided by the host\n", n);

	/* 1: openat, a loader syscall: CONTINUE. */
	recv_notif(listener, &b, pid);
	assert_int_equal(b.req->data.arch, AUDIT_ARCH_X86_64);
	assert_int_equal(b.req->data.nr, SYS_openat);
	memcpy(args, b.req->data.args, sizeof(args));
	assert_int_equal(ph__policy_loader_allows(b.req->data.arch, b.req->data.nr, args), 1);
	ph__syscall_describe(b.req->data.arch, b.req->data.nr, args, name, sizeof(name), line,
			     sizeof(line));
	assert_string_equal(name, "openat");
	assert_non_null(strstr(line, "openat(AT_FDCWD, 0x"));
	assert_non_null(strstr(line, "O_RDONLY|O_CLOEXEC"));
	b.resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	assert_int_equal(ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, b.resp), 0);
	expect_byte(sv[0], '1');
	/* CONTINUE just worked on this kernel: the probe must say so too. */
	assert_int_equal(ph__probe()->seccomp_continue, 1);

	/* 2: socket: not the loader's; refuse with an error. */
	recv_notif(listener, &b, pid);
	assert_int_equal(b.req->data.nr, SYS_socket);
	memcpy(args, b.req->data.args, sizeof(args));
	assert_int_equal(ph__policy_loader_allows(b.req->data.arch, b.req->data.nr, args), 0);
	ph__syscall_describe(b.req->data.arch, b.req->data.nr, args, name, sizeof(name), line,
			     sizeof(line));
	assert_string_equal(line, "socket(AF_INET, SOCK_STREAM, 0)");
	b.resp->error = -EPERM;
	assert_int_equal(ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, b.resp), 0);
	expect_byte(sv[0], '2');

	/* 3: anonymous PROT_EXEC: notified, and not what a loader does. */
	recv_notif(listener, &b, pid);
	assert_int_equal(b.req->data.nr, SYS_mmap);
	memcpy(args, b.req->data.args, sizeof(args));
	assert_int_equal(ph__policy_loader_allows(b.req->data.arch, b.req->data.nr, args), 0);
	b.resp->error = -EACCES;
	assert_int_equal(ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, b.resp), 0);
	expect_byte(sv[0], '3');

	/* 4: x32 reaches the host (bad-arch action = notify), which kills. */
	recv_notif(listener, &b, pid);
	assert_int_equal(b.req->data.arch, AUDIT_ARCH_X86_64);
	assert_int_equal((uint32_t)b.req->data.nr, X32_BIT | SYS_getpid);
	memcpy(args, b.req->data.args, sizeof(args));
	assert_int_equal(ph__policy_loader_allows(b.req->data.arch, b.req->data.nr, args), 0);
	ph__syscall_describe(b.req->data.arch, b.req->data.nr, args, name, sizeof(name), line,
			     sizeof(line));
	assert_non_null(strstr(line, "x32 syscall 0x40000027"));
	assert_int_equal(kill(pid, SIGKILL), 0);
	st = wait_child(pid);
	assert_signaled(st, SIGKILL);

	close(listener);
	close(sv[0]);
	free(b.req);
	free(b.resp);
	assert_int_equal(tu_count_fds(), fds);
}

static void test_loader_allows(void **state)
{
	const uint32_t x64 = AUDIT_ARCH_X86_64;
	uint64_t a[6] = {0};

	(void)state;
	a[0] = (uint64_t)AT_FDCWD;
	a[2] = O_RDONLY | O_CLOEXEC;
	assert_int_equal(ph__policy_loader_allows(x64, SYS_openat, a), 1);
	a[2] = O_WRONLY;
	assert_int_equal(ph__policy_loader_allows(x64, SYS_openat, a), 0);
	a[2] = O_RDONLY | O_CREAT;
	assert_int_equal(ph__policy_loader_allows(x64, SYS_openat, a), 0);
	a[2] = O_PATH;
	assert_int_equal(ph__policy_loader_allows(x64, SYS_openat, a), 0);
	a[2] = O_RDONLY;
	assert_int_equal(ph__policy_loader_allows(AUDIT_ARCH_I386, SYS_openat, a), 0);
	assert_int_equal(ph__policy_loader_allows(x64, X32_BIT | SYS_openat, a), 0);
	assert_int_equal(ph__policy_loader_allows(x64, SYS_openat, NULL), 0);
	memset(a, 0, sizeof(a));
	a[1] = O_RDONLY;
	assert_int_equal(ph__policy_loader_allows(x64, SYS_open, a), 1);

	/* mmap: file-backed, private, W^X. */
	a[2] = PROT_READ | PROT_EXEC;
	a[3] = MAP_PRIVATE | MAP_FIXED | MAP_DENYWRITE;
	a[4] = 3;
	assert_int_equal(ph__policy_loader_allows(x64, SYS_mmap, a), 1);
	a[3] = MAP_PRIVATE | MAP_ANONYMOUS;
	assert_int_equal(ph__policy_loader_allows(x64, SYS_mmap, a), 0);
	a[3] = MAP_SHARED;
	assert_int_equal(ph__policy_loader_allows(x64, SYS_mmap, a), 0);
	a[2] = PROT_READ | PROT_WRITE | PROT_EXEC;
	a[3] = MAP_PRIVATE;
	assert_int_equal(ph__policy_loader_allows(x64, SYS_mmap, a), 0);
	assert_int_equal(ph__policy_loader_allows(x64, SYS_mprotect, a), 0);
	a[2] = PROT_READ | PROT_EXEC;
	assert_int_equal(ph__policy_loader_allows(x64, SYS_mprotect, a), 1);

	memset(a, 0, sizeof(a));
	assert_int_equal(ph__policy_loader_allows(x64, SYS_newfstatat, a), 1);
	assert_int_equal(ph__policy_loader_allows(x64, SYS_socket, a), 0);
	assert_int_equal(ph__policy_loader_allows(x64, SYS_execve, a), 0);
	assert_int_equal(ph__policy_loader_allows(x64, SYS_ioctl, a), 0);
	assert_int_equal(ph__policy_loader_allows(x64, -1, a), 0);
}

static void describe(uint32_t arch, int nr, const uint64_t *args, char *name, char *line)
{
	ph__syscall_describe(arch, nr, args, name, 32, line, 256);
}

static void test_describe(void **state)
{
	char name[32], line[256], small[9];
	uint64_t a[6] = {(uint64_t)(int64_t)AT_FDCWD, 0x1234, O_RDONLY, 0, 0, 0};

	(void)state;
	describe(AUDIT_ARCH_X86_64, SYS_openat, a, name, line);
	assert_string_equal(name, "openat");
	assert_non_null(strstr(line, "openat(AT_FDCWD, 0x1234, O_RDONLY"));

	/* The full 64-bit ioctl request: its high bits are the attack. */
	memcpy(a, (uint64_t[6]){0, 0xffffffff00005412ULL, 0x7ffd0000}, sizeof(a));
	describe(AUDIT_ARCH_X86_64, SYS_ioctl, a, name, line);
	assert_string_equal(line, "ioctl(0, TIOCSTI|0xffffffff00000000, 0x7ffd0000)");
	memcpy(a, (uint64_t[6]){1, TCGETS, 0x7ffd0000}, sizeof(a));
	describe(AUDIT_ARCH_X86_64, SYS_ioctl, a, name, line);
	assert_string_equal(line, "ioctl(1, TCGETS, 0x7ffd0000)");
	memcpy(a, (uint64_t[6]){0, 0x5499, 0}, sizeof(a));
	describe(AUDIT_ARCH_X86_64, SYS_ioctl, a, name, line);
	assert_string_equal(line, "ioctl(0, 0x5499, 0x0)");

	memcpy(a, (uint64_t[6]){AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0}, sizeof(a));
	describe(AUDIT_ARCH_X86_64, SYS_socket, a, name, line);
	assert_string_equal(line, "socket(AF_UNIX, SOCK_SEQPACKET|SOCK_CLOEXEC, 0)");

	memcpy(a,
	       (uint64_t[6]){0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
			     (uint64_t)-1, 0},
	       sizeof(a));
	describe(AUDIT_ARCH_X86_64, SYS_mmap, a, name, line);
	assert_string_equal(line, "mmap(NULL, 0x1000, PROT_READ|PROT_EXEC, "
				  "MAP_PRIVATE|MAP_ANONYMOUS, -1, 0x0)");

	memcpy(a, (uint64_t[6]){1, SIGKILL}, sizeof(a));
	describe(AUDIT_ARCH_X86_64, SYS_kill, a, name, line);
	assert_string_equal(line, "kill(1, SIGKILL)");

	memcpy(a, (uint64_t[6]){CLONE_NEWUSER | CLONE_NEWNS}, sizeof(a));
	describe(AUDIT_ARCH_X86_64, SYS_unshare, a, name, line);
	assert_string_equal(line, "unshare(CLONE_NEWNS|CLONE_NEWUSER)");

	memcpy(a, (uint64_t[6]){CLONE_THREAD | CLONE_VM | CLONE_SIGHAND | 0x100000000ULL},
	       sizeof(a));
	describe(AUDIT_ARCH_X86_64, SYS_clone, a, name, line);
	assert_string_equal(
	    line, "clone(CLONE_VM|CLONE_SIGHAND|CLONE_THREAD|0x100000000, NULL, NULL, NULL, 0x0)");
	memcpy(a, (uint64_t[6]){CLONE_NEWUSER | SIGCHLD}, sizeof(a));
	describe(AUDIT_ARCH_X86_64, SYS_clone, a, name, line);
	assert_string_equal(line, "clone(CLONE_NEWUSER|SIGCHLD, NULL, NULL, NULL, 0x0)");

	memcpy(a, (uint64_t[6]){0x1000, 0x2000, 0x3000}, sizeof(a));
	describe(AUDIT_ARCH_X86_64, SYS_execve, a, name, line);
	assert_string_equal(line, "execve(0x1000, 0x2000, 0x3000)");

	describe(AUDIT_ARCH_X86_64, X32_BIT | SYS_getpid, a, name, line);
	assert_non_null(strstr(line, "x32 syscall 0x40000027"));

	describe(AUDIT_ARCH_I386, 5, a, name, line);
	assert_string_equal(name, "open");
	assert_string_equal(line, "i386 syscall open (int 0x80)");

	/* Unknown number: no name, six raw arguments. */
	memset(a, 0, sizeof(a));
	describe(AUDIT_ARCH_X86_64, 4000, a, name, line);
	assert_string_equal(name, "");
	assert_string_equal(line, "syscall_4000(0x0, 0x0, 0x0, 0x0, 0x0, 0x0)");

	/* Truncation: always terminated, never past the end. */
	memset(small, 'X', sizeof(small));
	ph__syscall_describe(AUDIT_ARCH_X86_64, SYS_openat, a, NULL, 0, small, sizeof(small) - 1);
	assert_int_equal(strlen(small), sizeof(small) - 2);
	assert_int_equal(small[sizeof(small) - 1], 'X');
}

/* What the host read at pointer arguments, shown in their place: quoted,
 * escaped, cut to fit with the hint kept, and labelled once. */
static void test_describe_mem(void **state)
{
	char name[32], line[256], longpath[300];
	uint64_t a[6] = {(uint64_t)(int64_t)AT_FDCWD, 0x1234, O_RDONLY, 0, 0, 0};
	struct ph__sc_mem mem;
	struct sockaddr_un sun = {.sun_family = AF_UNIX, .sun_path = "\0hidden"};
	enum ph_sc_mem_kind kinds[6];

	(void)state;
	assert_int_equal(ph__syscall_mem_args(AUDIT_ARCH_X86_64, SYS_openat, kinds), 1);
	assert_int_equal(kinds[1], PH_SC_MEM_KIND_PATH);
	assert_int_equal(ph__syscall_mem_args(AUDIT_ARCH_X86_64, SYS_renameat2, kinds), 2);
	assert_int_equal(ph__syscall_mem_args(AUDIT_ARCH_X86_64, SYS_connect, kinds), 1);
	assert_int_equal(kinds[1], PH_SC_MEM_KIND_SOCKADDR);
	assert_int_equal(ph__syscall_mem_args(AUDIT_ARCH_I386, 5, kinds), 0);

	memset(&mem, 0, sizeof(mem));
	mem.arg[1] = (struct ph__sc_mem_arg){PH_SC_MEM_READ, "/etc/\"x\"\n\x1b", 10};
	ph__syscall_describe_mem(AUDIT_ARCH_X86_64, SYS_openat, a, &mem, name, sizeof(name), line,
				 sizeof(line));
	assert_string_equal(line, "openat(AT_FDCWD, \"/etc/\\\"x\\\"\\n\\x1b\", O_RDONLY, 00) (as "
				  "read at the time of the call); hint: files are granted with "
				  "--allow-read PATH");

	mem.arg[1] = (struct ph__sc_mem_arg){PH_SC_MEM_UNREADABLE, NULL, 0};
	ph__syscall_describe_mem(AUDIT_ARCH_X86_64, SYS_openat, a, &mem, name, sizeof(name), line,
				 sizeof(line));
	assert_string_equal(line,
			    "openat(AT_FDCWD, 0x1234 <unreadable>, O_RDONLY, 00); hint: files "
			    "are granted with --allow-read PATH");

	/* No NUL within the cap: cut, marked, and still the whole line fits. */
	memset(longpath, 'A', sizeof(longpath));
	mem.arg[1] = (struct ph__sc_mem_arg){PH_SC_MEM_TRUNCATED, longpath, 256};
	ph__syscall_describe_mem(AUDIT_ARCH_X86_64, SYS_openat, a, &mem, name, sizeof(name), line,
				 sizeof(line));
	assert_non_null(strstr(line, "AAAA\"..., O_RDONLY, 00) (as read at the time of the call); "
				     "hint: files are granted with --allow-read PATH"));
	assert_true(strlen(line) < sizeof(line) - 1);

	/* An abstract AF_UNIX name. */
	memset(&mem, 0, sizeof(mem));
	memcpy(a, (uint64_t[6]){3, 0x5000, sizeof(sa_family_t) + 7}, sizeof(a));
	mem.arg[1] =
	    (struct ph__sc_mem_arg){PH_SC_MEM_READ, (const char *)&sun, sizeof(sa_family_t) + 7};
	ph__syscall_describe_mem(AUDIT_ARCH_X86_64, SYS_connect, a, &mem, name, sizeof(name), line,
				 sizeof(line));
	assert_string_equal(line, "connect(3, {AF_UNIX, @\"hidden\"}, 9) (as read at the time of "
				  "the call); hint: the sandbox has no network");

	/* Hints: threads, and a syscall a policy file could allow. */
	memcpy(a, (uint64_t[6]){CLONE_THREAD | CLONE_VM | CLONE_SIGHAND}, sizeof(a));
	assert_string_equal(ph__syscall_hint(AUDIT_ARCH_X86_64, SYS_clone, a),
			    "threads need --threads (PH_POLICY_THREADS)");
	assert_non_null(
	    strstr(ph__syscall_hint(AUDIT_ARCH_X86_64, SYS_flock, a), "plughost-policy(5)"));
	assert_null(ph__syscall_hint(AUDIT_ARCH_X86_64, SYS_ptrace, a));
	assert_null(ph__syscall_hint(AUDIT_ARCH_I386, 5, a));
}

/* ------------------------------------------------ runner-side layers */

/* Every capability set empty (the bounding set too, when with_bounding),
 * read back from the kernel's own report. */
static int caps_all_zero(int with_bounding)
{
	static const char *const keys[] = {"CapInh:", "CapPrm:", "CapEff:", "CapAmb:", "CapBnd:"};
	const size_t n = with_bounding ? 5 : 4;
	char line[256];
	size_t seen = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		for (size_t i = 0; i < n; i++)
			if (strncmp(line, keys[i], strlen(keys[i])) == 0) {
				if (strtoull(line + strlen(keys[i]), NULL, 16) != 0) {
					fclose(f);
					return 0;
				}
				seen++;
			}
	fclose(f);
	return seen == n;
}

/* No user namespace: root drops everything; an unprivileged process has
 * nothing to drop but a bounding set it cannot touch, which must not fail
 * the sandbox (no_new_privs makes it moot, and is then already set). */
static int caps_plain_child(void *arg)
{
	(void)arg;
	if (ph__sb_caps_drop() < 0)
		return 1;
	if (!caps_all_zero(geteuid() == 0))
		return 2;
	if (geteuid() != 0 && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 3;
	return 0;
}

static void test_caps_drop_plain(void **state)
{
	(void)state;
	assert_exited(run_child(caps_plain_child, NULL), 0);
}

static int layers_child(void *arg)
{
	struct ph__sb_limits setup = {.nofile = 32, .nproc = 16};
	struct rlimit rl;
	struct sockaddr_in sin = {
	    .sin_family = AF_INET, .sin_port = htons(1), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	char *argv[] = {(char *)"sh", (char *)"-c", (char *)"exit 99", NULL}, *envp[] = {NULL};
	int abi, fd;

	(void)arg;
	/* Root of a fresh user namespace: a full capability set to drop,
	 * whoever runs the test. */
	if (unshare(CLONE_NEWUSER) < 0)
		return 1;
	if (ph__sb_rlimits(&setup) < 0)
		return 2;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur != 32 || rl.rlim_max != 32)
		return 3;
	if (getrlimit(RLIMIT_CORE, &rl) < 0 || rl.rlim_cur != 0 || rl.rlim_max != 0)
		return 4;
	if (getrlimit(RLIMIT_NPROC, &rl) < 0 || rl.rlim_cur != rl.rlim_max || rl.rlim_cur > 16)
		return 5;

	if (caps_all_zero(1))
		return 6; /* nothing to drop would prove nothing */
	if (ph__sb_caps_drop() < 0)
		return 7;
	if (!caps_all_zero(1))
		return 8;
	/* The hard limit cannot go back up. */
	rl.rlim_cur = rl.rlim_max = 33;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0 || errno != EPERM)
		return 9;

	if (ph__sb_nnp() < 0)
		return 10;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 || prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return 11;

	abi = ph__sb_landlock("/nonexistent-ok", NULL, 0);
	if (abi < 0 || abi != ph__probe()->landlock_abi)
		return 12;
	if (abi == 0)
		return 77; /* reported by the parent */

	/* Outside the loader's files: refused. */
	if (open("/etc/passwd", O_RDONLY | O_CLOEXEC) >= 0 || errno != EACCES)
		return 13;
	/* Inside: readable, and a library loads without the EXECUTE right. */
	fd = open("/usr/lib/os-release", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 14;
	close(fd);
	if (open("/usr/lib/ph-new-file", O_WRONLY | O_CREAT | O_CLOEXEC, 0600) >= 0)
		return 15;
	if (act_dlopen() != 0)
		return 16;
	/* execve needs EXECUTE, which is handled and never granted (had it
	 * worked, the child would exit 99). */
	execve("/bin/sh", argv, envp);
	if (errno != EACCES)
		return 17;
	if (abi >= 4) {
		/* Landlock says EACCES before the network could refuse. */
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return 18;
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 || errno != EACCES)
			return 19;
		close(fd);
	}
	if (abi >= 6 && (kill(parent_pid, 0) == 0 || errno != EPERM))
		return 20; /* signals scoped to the sandbox */
	return 0;
}

static void test_layers(void **state)
{
	int st;

	(void)state;
	if (userns_removed())
		return;
	tu_skip_unless(ph__probe()->userns, "userns");
	st = run_child(layers_child, NULL);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
		/* The other layers held; Landlock's checks were not run. */
		assert_int_equal(ph__probe()->landlock_abi, 0);
		if (tc_removes(PH_LAYER_LANDLOCK)) {
			print_message("  Landlock not applicable under %s: it has none\n",
				      tc_profile());
			return;
		}
		tu_skip_unless(0, "landlock");
	}
	assert_exited(st, 0);
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Root of a new user and mount namespace, mapped to ourselves. */
static int enter_userns_mntns(void)
{
	char map[64];
	uid_t uid = getuid();
	gid_t gid = getgid();

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return -1;
	snprintf(map, sizeof(map), "0 %u 1", (unsigned int)uid);
	if (write_file("/proc/self/setgroups", "deny") < 0 ||
	    write_file("/proc/self/uid_map", map) < 0)
		return -1;
	snprintf(map, sizeof(map), "0 %u 1", (unsigned int)gid);
	return write_file("/proc/self/gid_map", map);
}

static int mounts_child(void *arg)
{
	const char *copy = arg, *inside = NULL, *base = strrchr(copy, '/') + 1;
	char expect[128], cwd[64];
	struct stat st;
	void *h;

	if (enter_userns_mntns() < 0)
		return 1;

	/* Refused before anything is mounted: a directory is no plugin. */
	{
		int dir = open("/usr", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dir < 0 || ph__sb_mounts(dir, "/usr", NULL, 0, &inside) != -EINVAL || inside)
			return 4;
		close(dir);
	}
	/* Not loaded before: the dlopen below must really map the file. */
	if (dlopen(copy, RTLD_NOW | RTLD_NOLOAD))
		return 5;

	/* The plugin arrives as an open fd, like the host passes it. */
	{
		int fd = open(copy, O_RDONLY | O_CLOEXEC);

		if (fd < 0 || ph__sb_mounts(fd, copy, NULL, 0, &inside) < 0 || !inside)
			return 6;
		close(fd);
	}
	snprintf(expect, sizeof(expect), "/plugin/%s", base);
	if (strcmp(inside, expect) != 0)
		return 7;
	if (stat(inside, &st) < 0 || !S_ISREG(st.st_mode))
		return 8;
	if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, "/") != 0)
		return 9;
	/* Gone: the host's files, /proc, /dev, /tmp (where the copy was). */
	if (access("/etc/passwd", F_OK) == 0 || errno != ENOENT)
		return 10;
	if (access("/proc/self", F_OK) == 0 || access("/dev/null", F_OK) == 0 ||
	    access("/tmp", F_OK) == 0 || access(copy, F_OK) == 0 || access("/.oldroot", F_OK) == 0)
		return 11;
	if (access("/etc/ld.so.cache", R_OK) < 0 || access("/usr/lib", R_OK) < 0)
		return 12;
	/* Read-only everywhere, even for root of this namespace. */
	if (mkdir("/x", 0700) == 0 || errno != EROFS)
		return 13;
	if (open("/usr/ph-new-file", O_WRONLY | O_CREAT | O_CLOEXEC, 0600) >= 0 || errno != EROFS)
		return 14;
	if (open(inside, O_WRONLY | O_CLOEXEC) >= 0 || errno != EROFS)
		return 15;

	h = dlopen(inside, RTLD_NOW | RTLD_LOCAL);
	if (!h || !dlsym(h, TEST_LIB_SYM))
		return 16;
	/* And the loader's own search through ld.so.cache works inside. */
	if (act_dlopen() != 0)
		return 17;
	return 0;
}

static int mounts_peer_child(void *arg)
{
	const char *inside = NULL;

	/* Same user namespace as the parent: our mounts are its peers. */
	if (unshare(CLONE_NEWNS) < 0)
		return 1;
	int fd = open(arg, O_RDONLY | O_CLOEXEC);

	return fd >= 0 && ph__sb_mounts(fd, arg, NULL, 0, &inside) == 0 ? 0 : 2;
}

/*
 * A namespace with shared mounts, as systemd sets up the host's, stands in
 * for the host: the runner's namespace is its peer, not its slave, when no
 * user namespace separates them (root hosts without userns). Nothing the
 * runner mounts may show up here.
 */
static int propagation_child(void *arg)
{
	struct stat before, after;
	int st;

	if (enter_userns_mntns() < 0)
		return 1;
	if (mount(NULL, "/", NULL, MS_REC | MS_SHARED, NULL) < 0)
		return 2;
	if (stat("/tmp", &before) < 0)
		return 3;
	st = run_child(mounts_peer_child, arg);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return 4;
	if (stat("/tmp", &after) < 0 || after.st_dev != before.st_dev ||
	    after.st_ino != before.st_ino)
		return 5;
	return 0;
}

static void test_mounts(void **state)
{
	char copy[] = "/tmp/ph-test-plugin-XXXXXX.so";
	int in, out, st;
	char buf[65536];
	ssize_t n;

	(void)state;
	if (userns_removed())
		return;
	tu_skip_unless(ph__probe()->userns, "userns");
	/* A private copy under /tmp: a new inode the process has never
	 * loaded, behind the very directory the new root is mounted over. */
	out = mkstemps(copy, 3);
	assert_true(out >= 0);
	in = open(TEST_LIB_PATH, O_RDONLY | O_CLOEXEC);
	assert_true(in >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	close(in);
	assert_int_equal(fchmod(out, 0644), 0);
	close(out);

	st = run_child(mounts_child, copy);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		st = run_child(propagation_child, copy);
	unlink(copy);
	assert_exited(st, 0);
}

/*
 * Landlock's half of the file grants on its own (no mount namespace):
 * rules made from fds, as the runner makes them from the host's. A
 * granted directory reads beneath it and nothing else: no write, no
 * create, no sibling, no way out through '..'; a granted file is itself
 * alone.
 */
static char grant_dir[64];

static int landlock_grants_child(void *arg)
{
	char path[160];
	struct ph__sb_grant g[2] = {
	    {.parent_fd = -1, .tree_fd = -1, .is_dir = 1, .inside = "/unused"},
	    {.parent_fd = -1, .tree_fd = -1, .is_dir = 0, .inside = "/unused-file"},
	};
	int abi, fd;

	(void)arg;
	snprintf(path, sizeof(path), "%s/d", grant_dir);
	g[0].fd = open(path, O_PATH | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/f", grant_dir);
	g[1].fd = open(path, O_PATH | O_CLOEXEC);
	if (g[0].fd < 0 || g[1].fd < 0)
		return 2;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return 3;
	abi = ph__sb_landlock("/nonexistent-ok", g, 2);
	if (abi < 0)
		return 4;
	if (abi == 0)
		return 77;
	close(g[0].fd);
	close(g[1].fd);
	/* Beneath the granted directory: reads. */
	snprintf(path, sizeof(path), "%s/d/in", grant_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 5;
	close(fd);
	snprintf(path, sizeof(path), "%s/d", grant_dir);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 6;
	close(fd);
	/* Never for writing, never a new file. */
	snprintf(path, sizeof(path), "%s/d/in", grant_dir);
	if (open(path, O_WRONLY | O_CLOEXEC) >= 0 || errno != EACCES)
		return 7;
	snprintf(path, sizeof(path), "%s/d/new", grant_dir);
	if (open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600) >= 0 || errno != EACCES)
		return 8;
	/* Not beside it, not through '..'. */
	snprintf(path, sizeof(path), "%s/secret", grant_dir);
	if (open(path, O_RDONLY | O_CLOEXEC) >= 0 || errno != EACCES)
		return 9;
	snprintf(path, sizeof(path), "%s/d/../secret", grant_dir);
	if (open(path, O_RDONLY | O_CLOEXEC) >= 0 || errno != EACCES)
		return 10;
	/* The granted file reads; its directory does not list. */
	snprintf(path, sizeof(path), "%s/f", grant_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 11;
	close(fd);
	if (open(grant_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) >= 0 || errno != EACCES)
		return 12;
	return 0;
}

static void test_landlock_grants(void **state)
{
	char path[160], cmd[96];
	int st, fd;

	(void)state;
	snprintf(grant_dir, sizeof(grant_dir), "/tmp/ph-llgrant-XXXXXX");
	assert_non_null(mkdtemp(grant_dir));
	snprintf(path, sizeof(path), "%s/d", grant_dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/d/in", grant_dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/f", grant_dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/secret", grant_dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	st = run_child(landlock_grants_child, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", grant_dir);
	assert_int_equal(system(cmd), 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
		assert_int_equal(ph__probe()->landlock_abi, 0);
		print_message("  no Landlock here: nothing to check\n");
		return;
	}
	assert_exited(st, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_probe, teardown_child),
	    cmocka_unit_test_teardown(test_probe_userns_agrees, teardown_child),
	    cmocka_unit_test(test_ns_plan),
	    cmocka_unit_test_teardown(test_ns_write_maps, teardown_child),
	    cmocka_unit_test_teardown(test_policy_api, teardown_child),
	    cmocka_unit_test(test_policy_compile_memfd),
	    cmocka_unit_test(test_embedded_strict_program),
	    cmocka_unit_test(test_program_semantics),
	    cmocka_unit_test_teardown(test_strict_kill_mode, teardown_child),
	    cmocka_unit_test_teardown(test_threads_preset, teardown_child),
	    cmocka_unit_test_teardown(test_policy_extra_rules, teardown_child),
	    cmocka_unit_test_teardown(test_notify_mode, teardown_child),
	    cmocka_unit_test(test_loader_allows),
	    cmocka_unit_test(test_describe),
	    cmocka_unit_test(test_describe_mem),
	    cmocka_unit_test_teardown(test_caps_drop_plain, teardown_child),
	    cmocka_unit_test_teardown(test_layers, teardown_child),
	    cmocka_unit_test_teardown(test_mounts, teardown_child),
	    cmocka_unit_test_teardown(test_landlock_grants, teardown_child),
	};

	parent_pid = getpid();
	return tc_run_group_tests("sandbox-lib", tests, sizeof(tests) / sizeof(tests[0]), NULL,
				  NULL);
}
