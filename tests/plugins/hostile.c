/* SPDX-License-Identifier: MIT */
/*
 * hostile: one attack per sandbox class, chosen by name.
 *
 * Method "attack" takes one input naming the attack (e.g. "open_passwd")
 * and, for some, a second input holding an argument (the host's pid for
 * "kill_host"). It writes "reached NAME\n" before the attack, so a test can
 * tell an attack that was stopped from one that never ran. If the syscall
 * comes back, the method returns its errno as a plugin error code (1000 if
 * it succeeded), so a test can assert the exact errno too.
 *
 * Method "ctor_report" prints what the constructor's own attack got (see
 * ctor_attack.c for the constructor that gets killed outright).
 *
 * It declares PH_PLUGIN_READS_STREAMS, for the attacks on the input ring
 * (inring_tail_*), whose stream is input 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <plughost/plugin.h>

#include "ring-layout.h"
#include "wire.h"

static int ctor_open_errno = -1;

/* Runs while the plugin loads, under stage 1: the loader's syscalls are
 * still allowed, but the filesystem view holds nothing to steal. */
__attribute__((constructor)) static void ctor_probe(void)
{
	int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);

	ctor_open_errno = fd >= 0 ? 0 : errno;
	if (fd >= 0)
		close(fd);
}

static long x32_getpid(void)
{
	return syscall(0x40000000L | SYS_getpid);
}

/* int 0x80 with eax = 20 (getpid in the i386 table). */
static long int80_getpid(void)
{
	long ret = 20;

	__asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
	return ret;
}

static void *thread_fn(void *arg)
{
	return arg;
}

static long try_thread(void)
{
	pthread_t t;
	int r = pthread_create(&t, NULL, thread_fn, NULL);

	if (r != 0) {
		errno = r;
		return -1;
	}
	pthread_join(t, NULL);
	return 0;
}

static long loosen_seccomp(void)
{
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = {.len = 1, .filter = &allow};

	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

static long raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	rl.rlim_cur = rl.rlim_max = rl.rlim_max + 1;
	return setrlimit(RLIMIT_NOFILE, &rl);
}

static long connect_abstract(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	memcpy(sa.sun_path, "\0plughost-test", 14);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	return connect(fd, (struct sockaddr *)&sa, sizeof(sa.sun_family) + 14);
}

static long exec_mapping(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? -1 : 0;
}

static long exec_mprotect(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	return mprotect(p, 4096, PROT_READ | PROT_EXEC);
}

/* Protocol attacks: raw messages on the control socket (fd 3), built by
 * hand so they can break any rule. */
static long send_raw_fds(const void *buf, size_t len, const int *fds, unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} control;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (nfds > 16) {
		errno = EINVAL;
		return -1;
	}
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
	if (sendmsg(3, &mh, MSG_NOSIGNAL) < 0)
		return -1;
	/* The host acts on it at once; wait for that in an allowed syscall
	 * (pause() is not on the list, and its violation would win). */
	for (;;)
		sleep(1);
}

static long send_raw(const void *buf, size_t len, int fd_to_pass)
{
	return send_raw_fds(buf, len, &fd_to_pass, fd_to_pass >= 0 ? 1 : 0);
}

struct raw_hdr {
	uint32_t magic;
	uint16_t abi, type;
	uint32_t len, nfds;
	uint64_t call_id;
};

/*
 * The head of the runner's private struct call (runner/serve.c), which the
 * plugin's struct ph_call pointer really points at, and of its ring
 * producer: an attacker who read the source finds the call slot and the
 * wake pipe this way. If the runner's layout drifts, these attacks stop
 * reaching their target and their tests fail (they check the result).
 */
struct runner_ring {
	struct ph_ring_shared *shared;
	uint8_t *data;
	uint64_t capacity, head, published;
	int ctl_fd, wake_fd;
};
struct runner_call {
	struct ph_call pub;
	uint64_t id;
	int ctl_fd;
	struct runner_ring *ring;
	char method[PH_NAME_MAX + 1];
	uint64_t written; /* payload bytes the call wrote to the ring */
};

static struct runner_call *cur_call;

static void hang_around(void)
{
	/* Wait in an allowed syscall (pause() is not on the list, and its
	 * violation would win). */
	for (;;)
		sleep(1);
}

/* A completion for a call that never was, posted in the call slot. */
static long forge_done(void)
{
	struct ph_ring_shared *s = cur_call->ring->shared;
	struct ph_slot_done *d = ph_slot_done_of(s);

	d->call_id = 999999;
	d->status = PH_DONE_OK;
	__atomic_fetch_add(&s->done_seq, 1, __ATOMIC_RELEASE);
	if (write(cur_call->ring->wake_fd, "w", 1) < 0)
		return -1;
	hang_around();
	return 0;
}

/* A completion that counts log lines it never sent. */
static long done_lies_logs(void)
{
	struct ph_ring_shared *s = cur_call->ring->shared;
	struct ph_slot_done *d = ph_slot_done_of(s);

	d->call_id = cur_call->id;
	d->status = PH_DONE_OK;
	d->code = 0;
	d->msg_len = 0;
	d->output_bytes = 0;
	d->log_msgs = 1000;
	__atomic_fetch_add(&s->done_seq, 1, __ATOMIC_RELEASE);
	if (write(cur_call->ring->wake_fd, "w", 1) < 0)
		return -1;
	hang_around();
	return 0;
}

/* A completion whose fields keep changing while the host reads it, with
 * done_seq bumped over and over: whatever the host copies, it must act on
 * its copy alone, and end the call one way or another without crashing.
 * Some of the states it writes are sound completions (this call's id, an
 * error status, 20 bytes of text, the output size the ring delivered), so
 * that a copy can pass every check and be acted on too. */
static long done_torn(void)
{
	struct ph_ring_shared *s = cur_call->ring->shared;
	struct ph_slot_done *d = ph_slot_done_of(s);
	const uint64_t id = cur_call->id;

	for (uint32_t i = 0;; i++) {
		d->call_id = (i & 1) ? id : id + 1;
		d->status = i % 7;
		d->code = (int32_t)i;
		d->msg_len = (i & 2) ? 20 : 0x7fffffffu;
		memset(d->msg, (i & 4) ? 'A' : '\n', 32);
		d->output_bytes = cur_call->written + (i & 8);
		d->log_msgs = 0;
		__atomic_fetch_add(&s->done_seq, 1, __ATOMIC_RELEASE);
		if ((i & 1023) == 0 && write(cur_call->ring->wake_fd, "w", 1) < 0)
			sched_yield();
	}
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/*
 * Lie about the input ring's consumer index (in_tail, which the runner
 * alone writes for the plugin), the ways a buggy or hostile consumer
 * could: past the host's head by less than a ring ("ahead"), far past it
 * ("far"), to a huge value ("huge", which wrap-safe arithmetic reads as
 * behind), or back below a tail the host already accepted ("backwards").
 * Then a byte on the wake pipe, for a host that waits for room, and wait
 * for the host to look: it must end the instance as a protocol violation
 * naming the rule. The test writes a fixed amount into the stream's
 * source and keeps it open: the host has fed it all, with room to spare,
 * when the lie is told, so that "ahead" lies between the head and a ring
 * past the last tail the host accepted.
 */
static long inring_tail(const char *how)
{
	struct ph_ring_shared *s = cur_call->ring->shared;
	uint64_t head = 0;

	/* Wait for the host to feed everything (its head still for 100 ms),
	 * so that the lies are about a live ring and a head that stays. */
	for (int i = 0, still = 0; i < 5000 && still < 100; i++) {
		const uint64_t h = __atomic_load_n(&s->in_head, __ATOMIC_ACQUIRE);

		still = h == head && h >= 64 * 1024 ? still + 1 : 0;
		head = h;
		sleep_ms(1);
	}
	if (head < 64 * 1024) {
		errno = ENODATA;
		return -1;
	}
	if (strcmp(how, "ahead") == 0) {
		__atomic_store_n(&s->in_tail, head + 4096, __ATOMIC_RELEASE);
	} else if (strcmp(how, "far") == 0) {
		__atomic_store_n(&s->in_tail, head + (1ull << 40), __ATOMIC_RELEASE);
	} else if (strcmp(how, "huge") == 0) {
		__atomic_store_n(&s->in_tail, UINT64_MAX - 7, __ATOMIC_RELEASE);
	} else if (strcmp(how, "backwards") == 0) {
		/* Everything fed so far taken, honestly, and time for the host
		 * to accept it (and refill); then a tail below it. */
		__atomic_store_n(&s->in_tail, head, __ATOMIC_RELEASE);
		if (write(cur_call->ring->wake_fd, "w", 1) < 0)
			return -1;
		sleep_ms(200);
		__atomic_store_n(&s->in_tail, head - 16, __ATOMIC_RELEASE);
	} else {
		errno = EINVAL;
		return -2;
	}
	if (write(cur_call->ring->wake_fd, "w", 1) < 0)
		return -1;
	hang_around();
	return 0;
}

static long log_with_fd(void)
{
	struct {
		struct raw_hdr h;
		uint32_t level, len;
	} m = {{PH_WIRE_MAGIC, PH_WIRE_ABI, PH_MSG_LOG, 8, 1, 0}, 2, 0};

	return send_raw(&m, sizeof(m), 0);
}

/* A well-formed CALL, a type only the host may send, with all 16 fds a
 * message may carry (fd 0 sixteen times: each arrives as its own fd). The
 * host must close every one of them, however it ends the instance. */
static long call_with_fds(void)
{
	struct {
		struct raw_hdr h;
		struct ph_msg_call c;
	} m = {{PH_WIRE_MAGIC, PH_WIRE_ABI, PH_MSG_CALL, 8, 16, 0}, {16, 0}};
	int fds[16];

	for (int i = 0; i < 16; i++)
		fds[i] = 0;
	return send_raw_fds(&m, sizeof(m), fds, 16);
}

/*
 * openat() of paths the host reads back for its report (test-diag):
 * "unmapped", a pointer to a page that was just unmapped; "unterminated",
 * 100 bytes of 'A' that end where the mapping does, no NUL; "long", 4 KiB
 * of 'A' then a NUL, far past the host's cap; "escape", quotes, a
 * backslash, a newline and a terminal escape.
 */
static long open_odd_path(const char *how)
{
	char *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	const char *path = NULL;

	if (page == MAP_FAILED)
		return -1;
	if (munmap(page + 4096, 4096) < 0)
		return -1;
	memset(page, 'A', 4096);
	if (strcmp(how, "unmapped") == 0)
		path = page + 4096;
	else if (strcmp(how, "unterminated") == 0)
		path = page + 4096 - 100;
	else if (strcmp(how, "long") == 0) {
		page[4095] = '\0';
		path = page;
	} else if (strcmp(how, "escape") == 0) {
		strcpy(page, "/tmp/\"q\"\\\n\033[31m");
		path = page;
	}
	return syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
}

static long run_attack(const char *name, long arg)
{
	char buf[64];

#define IS(s) (strcmp(name, s) == 0)
	if (IS("open_passwd"))
		return open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	if (strncmp(name, "open_path_", 10) == 0)
		return open_odd_path(name + 10);
	if (IS("proc_environ"))
		return open("/proc/1/environ", O_RDONLY | O_CLOEXEC);
	if (IS("exec_shell"))
		return execl("/bin/sh", "sh", "-c", "true", (char *)NULL);
	if (IS("socket_inet"))
		return socket(AF_INET, SOCK_STREAM, 0);
	if (IS("connect_abstract"))
		return connect_abstract();
	if (IS("connect_ctl"))
		return connect(3, (struct sockaddr *)&(struct sockaddr_un){.sun_family = AF_UNIX},
			       sizeof(sa_family_t));
	if (IS("ioctl_tiocsti"))
		/* The command with high bits set: a filter comparing only the
		 * low 32 bits would see TIOCSTI (CVE-2019-10063). */
		return syscall(SYS_ioctl, 0, (unsigned long)TIOCSTI | (1UL << 32), "x");
	if (IS("clone3"))
		return syscall(SYS_clone3, NULL, 0);
	if (IS("clone_newuser"))
		return syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
	if (IS("fork"))
		return fork();
	if (IS("thread"))
		return try_thread();
	if (IS("unshare"))
		return unshare(CLONE_NEWUSER);
	if (IS("setns"))
		return setns(0, CLONE_NEWNET);
	if (IS("mount"))
		return syscall(SYS_mount, "none", "/", "tmpfs", 0, NULL);
	if (IS("umount"))
		return syscall(SYS_umount2, "/", MNT_DETACH);
	if (IS("pivot_root"))
		return syscall(SYS_pivot_root, "/", "/");
	if (IS("fsopen"))
		return syscall(SYS_fsopen, "tmpfs", 0);
	if (IS("open_tree"))
		return syscall(SYS_open_tree, -100, "/", 0);
	if (IS("io_uring"))
		return syscall(SYS_io_uring_setup, 8, buf);
	if (IS("ptrace"))
		return syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0);
	if (IS("process_vm"))
		return syscall(SYS_process_vm_readv, 1, NULL, 0, NULL, 0, 0);
	if (IS("bpf"))
		return syscall(SYS_bpf, 0, NULL, 0);
	if (IS("perf_event_open"))
		return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
	if (IS("userfaultfd"))
		return syscall(SYS_userfaultfd, 0);
	if (IS("keyctl"))
		return syscall(SYS_keyctl, 0, 0, 0, 0, 0);
	if (IS("add_key"))
		return syscall(SYS_add_key, "user", "k", "v", 1, -1);
	if (IS("personality"))
		return syscall(SYS_personality, 0x0008 /* READ_IMPLIES_EXEC... */);
	if (IS("kexec_load"))
		return syscall(SYS_kexec_load, 0, 0, NULL, 0);
	if (IS("init_module"))
		return syscall(SYS_init_module, NULL, 0, "");
	if (IS("finit_module"))
		return syscall(SYS_finit_module, 0, "", 0);
	if (IS("kill_host"))
		return kill((pid_t)arg, SIGTERM);
	if (IS("kill_init"))
		return kill(1, SIGKILL);
	if (IS("kill_all"))
		return kill(-1, SIGKILL);
	if (IS("tgkill_other"))
		return syscall(SYS_tgkill, 1, 1, SIGKILL);
	if (IS("prlimit_init")) {
		/* Lower init's fd limit to nothing: another process's settings
		 * (a sibling's, under a zygote), never the plugin's own. */
		struct rlimit none = {0, 0};

		return syscall(SYS_prlimit64, 1, RLIMIT_NOFILE, &none, NULL);
	}
	if (IS("kill_self_ok"))
		return kill(getpid(), 0); /* signal 0 to itself: allowed */
	if (IS("prctl_dumpable"))
		return prctl(PR_SET_DUMPABLE, 1);
	if (IS("prctl_name_ok"))
		return prctl(PR_SET_NAME, "hostile");
	if (IS("spec_store_bypass"))
		/* Not an attack: its own speculation state, for the spec-ctrl
		 * layer's test (arg selects the kind). */
		return prctl(PR_GET_SPECULATION_CTRL, arg, 0, 0, 0);
	if (IS("spec_set_enable"))
		/* Undoing the layer: refused by seccomp like every prctl set. */
		return prctl(PR_SET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS, PR_SPEC_ENABLE, 0, 0);
	if (IS("prctl_seccomp"))
		return prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT);
	if (IS("seccomp_loosen"))
		return loosen_seccomp();
	if (IS("raise_rlimit"))
		return raise_nofile();
	if (IS("mmap_exec"))
		return exec_mapping();
	if (IS("mprotect_exec"))
		return exec_mprotect();
	if (IS("x32"))
		return x32_getpid();
	if (IS("int80"))
		return int80_getpid();
	if (IS("getppid"))
		return getppid();
	if (IS("forge_done"))
		return forge_done();
	if (IS("done_lies_logs"))
		return done_lies_logs();
	if (IS("done_torn"))
		return done_torn();
	if (strncmp(name, "inring_tail_", 12) == 0)
		return inring_tail(name + 12);
	if (IS("runt_message"))
		return send_raw("PHG1", 4, -1);
	if (IS("empty_message"))
		return send_raw("", 0, -1);
	if (IS("log_with_fd"))
		return log_with_fd();
	if (IS("call_with_fds"))
		return call_with_fds();
	if (IS("log_flood")) {
		/* Well-formed log lines as fast as the socket takes them, for
		 * ever (the host drops most of them: rate limits). */
		struct {
			struct raw_hdr h;
			uint32_t level, len;
			char text[4];
		} __attribute__((packed))
		m = {{PH_WIRE_MAGIC, PH_WIRE_ABI, PH_MSG_LOG, 12, 0, cur_call->id}, 2, 4, "x!x!"};

		for (;;)
			send(3, &m, sizeof(m), MSG_NOSIGNAL);
	}
	if (IS("wake_flood")) {
		/* Wake bytes as fast as the pipe takes them, for ever. */
		const int fd = cur_call->ring->wake_fd;
		char bytes[4096] = {0};

		for (;;)
			if (write(fd, bytes, sizeof(bytes)) < 0)
				sched_yield();
	}
	if (IS("hang_up")) {
		/* Hang up on the host and keep running ("reached" is already
		 * flushed). */
		close(3);
		for (;;)
			sleep(1);
	}
#undef IS
	errno = EINVAL;
	return -2;
}

static int attack(struct ph_call *call, const struct ph_input *in, size_t n)
{
	char name[64], argtext[32];
	long arg = 0, r;

	if (n < 1 || in[0].len == 0 || in[0].len >= sizeof(name))
		return ph_error(call, 9999, "attack: want one input naming the attack");
	memcpy(name, in[0].data, in[0].len);
	name[in[0].len] = '\0';
	cur_call = (struct runner_call *)call;
	/* A stream (inring_tail_*) is no argument: its data is NULL. */
	if (n > 1 && in[1].len < sizeof(argtext) && !(in[1].flags & PH_INPUT_STREAM)) {
		memcpy(argtext, in[1].data, in[1].len);
		argtext[in[1].len] = '\0';
		arg = strtol(argtext, NULL, 10);
	}

	/* Prove the attack was reached, and make sure the line is published
	 * before the syscall: a killed plugin publishes nothing afterwards. */
	ph_printf(call, "reached %s\n", name);
	ph_flush(call);

	if (strcmp(name, "ring_flood") == 0) {
		/* Keep the ring's head ahead of its tail for ever: one-byte
		 * records (the most records, and so the most work, per byte
		 * of ring), published every few, so the host always finds
		 * more after each batch. */
		for (unsigned int i = 0;; i++) {
			ph_write(call, "x", 1);
			if (i % 64 == 0)
				ph_flush(call);
		}
	}

	errno = 0;
	r = run_attack(name, arg);
	if (r == -2)
		return ph_error(call, 9999, "attack: unknown attack '%s'", name);
	if (r < 0)
		return ph_error(call, errno, "%s: refused with errno %d (%s)", name, errno,
				strerror(errno));
	return ph_error(call, 1000, "%s: succeeded (returned %ld)", name, r);
}

static int ctor_report(struct ph_call *call, const struct ph_input *in, size_t n)
{
	return ph_printf(call, "ctor open errno=%d\n", ctor_open_errno);
}

static const struct ph_method methods[] = {
    {"attack", attack},
    {"ctor_report", ctor_report},
};

PH_PLUGIN_FLAGS("hostile", "1.0", methods, PH_PLUGIN_READS_STREAMS);
