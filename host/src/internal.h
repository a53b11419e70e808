/* SPDX-License-Identifier: MIT */
#pragma once

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

#include <plughost/host.h>

#include "inring.h"
#include "proto.h"
#include "ring.h"
#include "util.h"

/* Index of the first nonzero word of a reserved array, or -1. Reserved
 * fields are refused unless zero (as clone3 and openat2 do), so that a
 * later version can give them a meaning without old callers' garbage
 * being taken for it. */
static inline int ph__reserved_nonzero(const uint64_t *words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (words[i])
			return (int)i;
	return -1;
}
#define PH_RESERVED_NONZERO(arr) ph__reserved_nonzero((arr), ELEMENTSOF(arr))

/*
 * metrics.c: an instance's counters. Each is written by the one thread
 * using the instance at the time and may be read by any thread
 * (ph_host_metrics()): written with a relaxed atomic store of its own
 * value plus n, read with relaxed atomic loads. No read-modify-write, no
 * lock: on the call path that is a plain add and store.
 */
struct ph__counters {
	uint64_t calls, bytes_in, bytes_out;
	uint64_t cpu_done; /* CPU of the instance's processes that have ended */
	uint64_t cpu_cur;  /* of the live one, as of its latest call's end */
	uint64_t spawns, spawn_failures, restarts;
	uint64_t results[PH_METRICS_KINDS], ends[PH_METRICS_KINDS];
};
#define PH__COUNT(field, n) __atomic_store_n(&(field), (field) + (n), __ATOMIC_RELAXED)

struct ph_host {
	char *runner_path;
	int runner_fd; /* O_PATH: the child execs this file, never a path */
	ph_log_fn log_fn;
	void *log_userdata;
	pthread_mutex_t lock; /* for what follows */
	struct ph__prog {
		void *insns; /* a compiled seccomp program, or NULL */
		size_t len;
		int embedded;	     /* insns are libplughost's own (not to free) */
	} strict_prog[2];	     /* the strict preset, kill and notify mode */
	pthread_mutex_t zygote_lock; /* for zygotes (held while one starts) */
	struct ph_zygote *zygotes;   /* zygote.c */
	/* metrics.c: the instances alive (linked through metrics_next),
	 * and the counters of those freed and of failed spawns that left
	 * no instance, both under metrics_lock. */
	pthread_mutex_t metrics_lock;
	struct ph_plugin *metrics_live;
	struct ph__counters metrics_gone;
};

/* A sealed memfd of the seccomp program for policy (NULL: the strict
 * preset, cached in the host) in kill or notify mode, compiled on first
 * use into *cache (the caller's own, zeroed at first, for its own
 * policy; free its insns when done). Returns the fd, or a negative errno. */
struct ph_policy;
int ph__host_prog(struct ph_host *h, const struct ph_policy *policy, int notify,
		  struct ph__prog *cache);

void ph__log(const struct ph_host *host, const struct ph_plugin *p, enum ph_level sev,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

enum ph_plugin_state {
	PH_STATE_SPAWNING, /* waiting for SANDBOXED */
	PH_STATE_LOADING,  /* plugin code may run; waiting for LOADED */
	PH_STATE_IDLE,
	PH_STATE_IN_CALL,
	PH_STATE_DEAD,
};

/* stdio.c: the longest line of the plugin's stdout or stderr logged as
 * one (longer ones are cut), and how many lines and bytes one call (or the
 * load) may log before the rest is read and dropped. */
#define PH_STDIO_LINE_MAX  512u
#define PH_STDIO_LINES_MAX 200u
#define PH_STDIO_BYTES_MAX (64u << 10)

/* Inputs this small travel inline in the call slot (its whole inline
 * area holds a few of them). */
#define PH_BLOB_INLINE_MAX 1024u

/* stream.c: a stream blob's source, shared by the blob and the call
 * feeding it. */
struct ph_stream;

struct ph_blob {
	int fd;
	size_t size;
	void *map; /* writable mapping until sealed */
	int sealed;
	uint8_t *bytes; /* sealed and at most PH_BLOB_INLINE_MAX: a copy */
	/* fd is -1 for a small blob made from bytes: it has no memfd. */
	uint64_t dev, ino; /* sealed: the memfd's identity */
	/* A stream blob (ph_blob_new_stream()): fd -1, size 0, never sealed. */
	struct ph_stream *stream;
};

/* blob.c: a sealed memfd holding b's bytes, for a blob made without one
 * (fd -1: small, from bytes) that must travel as an fd. Returns the fd
 * (the caller's) or a negative errno. */
int ph__blob_memfd(const struct ph_blob *b);

/* A sealed memfd the runner keeps mapped (ph_slot_input.cache). */
struct ph_cached_input {
	uint64_t dev, ino, size;
	uint64_t last_call; /* the call that last used it; 0: the entry is free */
};

/* elf.c: what a plugin's or library's ELF file says of its dependencies. */
#define PH_ELF_NEEDED_MAX 64u	/* DT_NEEDED entries of one file */
#define PH_ELF_NAME_MAX	  255u	/* bytes of one DT_NEEDED name */
#define PH_ELF_PATH_MAX	  4096u /* bytes of DT_RUNPATH or DT_RPATH */
struct ph__elf_info {
	int is_pie;	/* DF_1_PIE: an executable, not a shared object */
	int has_interp; /* PT_INTERP: names a program interpreter */
	size_t n_needed;
	char *needed[PH_ELF_NEEDED_MAX];
	char *runpath, *rpath; /* NULL when absent */
};
/* Read fd (a hostile file: every offset, size and string checked) as an
 * x86_64 ELF shared object. Returns 0 with *out filled (free it with
 * ph__elf_info_free()), -ENOEXEC or -E2BIG with the reason in why, or
 * another negative errno. */
int ph__elf_read(int fd, struct ph__elf_info *out, char *why, size_t why_len);
void ph__elf_info_free(struct ph__elf_info *info);

/* grants.c: the instance's read-only file grants (its allow_read paths
 * and the libraries it needs from its own directory), as opened for one
 * start. */
#define PH_LIBS_MAX 64u /* libraries from the plugin's directory, all told */
struct ph__grant {
	char *host_path; /* the real path on the host */
	char *inside;	 /* its path in the sandbox; a library's bare name */
	int is_lib, is_dir;
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	int fd, parent_fd; /* what goes to the runner, until sent; else -1 */
};
struct ph__grants {
	struct ph__grant *v;
	size_t n;
};
/* Open allow (n paths) and find the libraries plugin_path needs from its
 * own directory. Returns 0, or a negative errno with *fail saying which
 * path or library and why. */
int ph__grants_build(const char *plugin_path, const char *const *allow, size_t n,
		     struct ph__grants *out, struct ph_result *fail);
/* Send each grant as a GRANT message on sock. Returns 0 or -errno. */
int ph__grants_send(int sock, const struct ph__grants *g);
/* Close the fds, keep the list (for ph_plugin_grant_path()). */
void ph__grants_close(struct ph__grants *g);
void ph__grants_free(struct ph__grants *g);
/* Do two lists make the same sandbox (the zygote's key)? */
int ph__grants_same(const struct ph__grants *a, const struct ph__grants *b);
/* Does any grant open files after loading (not a library)? */
int ph__grants_have_user(const struct ph__grants *g);
/* A private copy of an allow_read list (NULL for n 0). */
int ph__allow_read_dup(const char *const *src, size_t n, char ***ret);
void ph__allow_read_free(char **v, size_t n);

struct ph_plugin {
	struct ph_host *host;
	enum ph_plugin_state state;
	pid_t pid; /* the child we cloned (init, with a pid namespace) */
	int pidfd;
	pid_t plugin_pid;	/* the plugin process itself, for /proc reads */
	int plugin_pidfd;	/* with a pid namespace: init's pidfd of it, or -1 */
	int stat_fd, status_fd; /* its /proc stat and status, kept open */
	int sock;
	int sup;      /* supervisor channel from the plugin's init, or -1 */
	int listener; /* seccomp user-notify listener, or -1 */
	int epfd;     /* the one pollable fd: sock, pidfd, listener, timer, wake */
	int timerfd;  /* deadline and limit checks during a call */
	int timer_armed;
	int wake_rd; /* the wake pipe's read end: the runner writes when we sleep */
	/* The plugin's stdout and stderr (stdio.c): our read ends, and the
	 * write ends only while the instance starts (they go to the child). */
	int stdio_rd[2], stdio_wr[2];
	struct ph_stdio_line {
		char buf[PH_STDIO_LINE_MAX];
		size_t len;
	} stdio_line[2];
	uint64_t stdio_lines, stdio_bytes, stdio_dropped; /* since the call (or load) began */
	/* symbols.c: where the plugin was mapped when it loaded (from
	 * /proc/PID/maps), and the text of its crash's backtrace, or NULL. */
	struct ph__load_map *load_map;
	char *backtrace;
	uint32_t done_seen; /* the completions we took (done_seq as we know it) */
	/* What the runner keeps mapped, entry by entry, as we told it. */
	struct ph_cached_input cache[PH_SLOT_CACHE_MAX];
	uint32_t evict_pending;				  /* entries to drop at the next request */
	int64_t watch_last_ms;				  /* the watchdog's last look */
	int64_t fds_last_ms;				  /* and its last count of fds */
	__typeof__(((struct ph_result *)0)->usage) usage; /* what it saw then */
	void *ring_map;
	size_t ring_map_len;
	struct ph_ring_consumer ring;
	struct ph_inring in_ring; /* in the same memfd, after the output ring */
	int reads_streams;	  /* LOADED said PH_LOADED_READS_STREAMS */
	/* The current call's stream input, while the host feeds it. */
	struct {
		struct ph_stream *s; /* NULL: none */
		int for_loop;	     /* submitted for an event loop: watch s in epfd */
		int in_epoll;	     /* s's fd is in epfd now */
		int state;	     /* PH_FEED_*: what the last round left it waiting for */
		int ended;	     /* the source ended or failed: nothing more to feed */
	} feed;

	/* What it was spawned from, for ph_plugin_restart(). cfg.policy
	 * points at policy, the instance's own copy. */
	char *path;
	char *given_path; /* as the caller named it, for messages */
	struct ph_plugin_config cfg;
	struct ph_policy *policy;
	char **allow_read;	  /* cfg.allow_read points here: the instance's copy */
	struct ph__grants grants; /* as opened for the latest start */
	struct ph__prog prog[2];  /* policy compiled (kill, notify mode) */
	struct ph_limits limits;  /* per-call ones may change between calls */

	char *name, *version, **methods;
	size_t n_methods;
	uint32_t layers;
	uint32_t ns_flags;  /* the namespaces planned (CLONE_NEW*) */
	uint32_t handshake; /* PH_HS_*: the runner's requests seen */
	int is_zygote;	    /* this is a zygote: it stops at ZYGOTE_READY */
	/* The process whose child the plugin must be: init, or the zygote
	 * (0: pid, init). */
	pid_t parent_pid;
	int64_t fork_sent_ns;
	/* How many of this instance's callbacks (output, log) are running on
	 * the calling thread's stack right now: while one is, the instance
	 * must not be freed, restarted or pooled from under its own call. */
	unsigned int in_callback;

	uint64_t next_call_id;
	struct {
		uint64_t id;
		ph_output_fn fn;
		void *userdata;
		uint64_t received;
		int done;     /* DONE arrived: result holds the plugin's answer */
		int finished; /* ended, result final, not yet handed out */
		int quota_hit;
		int abandoned; /* the output callback refused: deliver no more */
		struct ph_result result;
		unsigned int log_lines;
		uint32_t log_msgs;    /* LOG messages received for this call */
		int64_t deadline_ms;  /* 0: none */
		int64_t watch_due_ms; /* next look at its limits; 0: not set */
		uint64_t cpu0_usec;   /* plugin CPU time when the call began */
		/* The host looked at the instance's fds in the kernel during
		 * the call (poll()): the stdio pipes are worth reading at its
		 * end (slot.c). A call that ended within the spin did not. */
		int polled;
	} call;

	/* The control socket hung up: reaped by then, or killed. 0 = no. */
	int64_t eof_deadline_ms;

	/* Log lines: at most LOG_LINES_PER_SEC per second per instance. */
	int64_t log_window_ms;
	unsigned int log_in_window;

	/* How long its latest start took, step by step: the runner's marks
	 * and our own clock at SANDBOXED and LOADED. */
	struct ph_spawn_times times;
	uint64_t marks[PH_MARKS];
	int64_t userns_ns, sandboxed_ns, loaded_ns;

	/* metrics.c: its counters, and its place in the host's list of
	 * live instances (metrics_linked: it is in it). */
	struct ph__counters metrics;
	struct ph_plugin *metrics_next, **metrics_prev;
	int metrics_linked;

	/* How the instance ended, once it has: the first cause wins. */
	struct ph_result end;
	int end_set;
	int killed; /* we sent SIGKILL ourselves */
	void *notif_buf;
	size_t notif_size, resp_size;
	/* ph_plugin_interrupt() writes here; an eventfd that lives as long as
	 * the struct (-1: none, as in a zygote). */
	int intr_fd;
	/* Set (atomically) with each write to intr_fd, cleared as it is read:
	 * a call starts without a syscall when nothing is pending. */
	int intr_pending;
};

/* call.c: if ph_plugin_interrupt() was called, kill p with
 * PH_RESULT_INTERRUPTED and return 1; else 0. */
int ph__interrupt_take(struct ph_plugin *p);

/*
 * Refuse fn ("ph_plugin_free", ...) on p because one of p's callbacks
 * is running on this thread: log one error line and return -EBUSY.
 */
int ph__refuse_in_callback(const struct ph_plugin *p, const char *fn);

/* blob.c: mmap(PROT_READ|PROT_WRITE, MAP_SHARED) of fd that no fork() of
 * the application copies (MADV_DONTFORK). NULL with errno on failure. */
void *ph__mmap_shared_nofork(int fd, size_t len);

/* handshake.c: the runner's USERNS and INIT requests (SPAWNING only). */
#define PH_HS_USERNS 0x1u
#define PH_HS_INIT   0x2u
int ph__on_userns(struct ph_plugin *p, struct ph_msg *m);
int ph__on_init(struct ph_plugin *p, struct ph_msg *m);

/* spawn.c: clone(CLONE_VM|CLONE_VFORK) + exec the runner, which makes the
 * namespaces in ns_flags (a supervisor channel with CLONE_NEWPID); fills
 * pid, pidfd, sock and sup. */
int ph__spawn_runner(struct ph_plugin *p, int runner_fd, uint64_t ns_flags, struct ph_result *fail);
/* spawn.c: is path a readable ELF shared object for this machine? */
int ph__check_plugin_file(const char *path, char *why, size_t why_len);

/* end.c: how an instance ends. */
/* Kill (through the pidfd) and reap; why, when not NULL, is the end unless
 * another cause was settled first. */
void ph__plugin_kill(struct ph_plugin *p, const struct ph_result *why);
/* The child died: reap it (blocking) and settle how the instance ended. */
void ph__plugin_reap(struct ph_plugin *p);
/* Kill as a protocol violation naming the broken rule. */
void ph__plugin_kill_protocol(struct ph_plugin *p, const char *why);
/* The plugin's usage now (from /proc while alive, else from its end). */
void ph__plugin_usage(struct ph_plugin *p, struct ph_result *r);

/* dispatch.c: messages from the instance, by state. */
/* A receive buffer (64 KiB) the caller owns until ph__msg_put(), which
 * closes every fd it still holds. Never one a caller up the stack still
 * uses. NULL when out of memory. */
struct ph_msg *ph__msg_get(void);
void ph__msg_put(struct ph_msg *m);
/* The phase the fd table knows the instance by. */
enum ph_msg_phase ph__plugin_phase(const struct ph_plugin *p);
/* Read and handle every waiting message (a bounded batch). Returns 1 on
 * EOF, 0 otherwise. */
int ph__read_messages(struct ph_plugin *p);

/* watchdog.c: the limit watchdog and the instance's timer. */
/* Look at CPU, memory, fds and threads; at_end: the call just finished
 * (check the peak too). Returns 0, or -EPROTO when it killed the plugin. */
int ph__check_limits(struct ph_plugin *p, int at_end);
/* Arm or disarm the timer for the current call's deadline and checks. */
void ph__plugin_arm_timer(struct ph_plugin *p);
/* Make ph_plugin_fd() readable now (the timer fires at once). */
void ph__plugin_wake(struct ph_plugin *p);
/* Find the process to watch from a source the plugin cannot forge (the
 * clone itself, or init's CHILD message, waiting up to timeout_ms for it)
 * and make sure its limits can be read. Returns 0, or a negative errno
 * with a setup failure in *fail: an instance it cannot watch must not run. */
int ph__watch_start(struct ph_plugin *p, int timeout_ms, struct ph_result *fail);
/* The timer fired: deadlines, then limits. */
void ph__plugin_on_timer(struct ph_plugin *p);

/* notify.c: seccomp user notifications. */
int ph__notif_setup(struct ph_plugin *p);
/* Handle one pending notification: continue a loader syscall, or kill. */
void ph__notif_handle(struct ph_plugin *p);
/* Stop watching a listener that can never notify again. */
void ph__notif_drop(struct ph_plugin *p);

/* pump.c: the event pump, the ring and EOF. */
/* Wait for and handle events until the state leaves `while_state` or the
 * instance dies; timeout_ms < 0 waits forever, 0 handles what is ready
 * and returns. Returns 0, or -ETIMEDOUT. */
int ph__plugin_pump(struct ph_plugin *p, enum ph_plugin_state while_state, int timeout_ms);
/* Drain the ring for the current call. Returns 0 or negative when the
 * instance was killed (protocol, quota) or the sink refused. */
int ph__drain_ring(struct ph_plugin *p);
/* The child died mid-call: hand over what it managed to publish. */
void ph__deliver_leftovers(struct ph_plugin *p);
int64_t ph__now_ms(void);
int64_t ph__now_ns(void);

/* dispatch.c: copy len bytes of hostile text into a printable,
 * NUL-terminated string of at most dst_len bytes. */
void ph__clean_copy(char *dst, size_t dst_len, const char *src, size_t len);

/* slot.c: the call slot. */
/* Post the request for the current call (p->call.id): inline inputs
 * copied, the others' fds sent first on the control socket; wake the
 * runner if it sleeps. Returns 0 or a negative errno from the send. */
int ph__slot_post(struct ph_plugin *p, const char *method, size_t mlen,
		  struct ph_blob *const *inputs, size_t n);
/* Is there anything to look at: a completion, or ring data? (Shared
 * memory only, no syscall: for spinning.) */
int ph__slot_news(const struct ph_plugin *p);
/* Take a posted completion, if there is one: check it, drain the ring,
 * settle the call's answer and make the instance idle. Returns 1 when it
 * took one, 0 when there is none, negative when it killed the instance. */
int ph__slot_take_done(struct ph_plugin *p);
/* A new runner keeps nothing mapped. */
void ph__slot_forget_cache(struct ph_plugin *p);

/* stream.c: stream inputs and feeding them. */
/* What a round of feeding left behind. */
enum {
	PH_FEED_IDLE = 0,   /* nothing to do until the plugin frees room (or ever) */
	PH_FEED_MORE = 1,   /* the round's time ran out with more to read: go on now */
	PH_FEED_SOURCE = 2, /* the ring has room, the source nothing: poll it */
};
/* Take the stream input among inputs (argument checks done), if any, for
 * the call about to be posted, and reset the input ring. Returns 0,
 * -EOPNOTSUPP (the plugin does not read streams) or -EALREADY (used). */
int ph__stream_claim(struct ph_plugin *p, struct ph_blob *const *inputs, size_t n, int for_loop);
/* The call could not be posted: give the stream back unread. */
void ph__stream_unclaim(struct ph_plugin *p);
/* The call ended, however: stop feeding, the stream stays consumed. */
void ph__stream_stop(struct ph_plugin *p);
/* One round of feeding, at most budget_ns long. Returns a PH_FEED_*, or
 * -EPROTO when the plugin broke the input ring's rules (killed). */
int ph__stream_feed(struct ph_plugin *p, int64_t budget_ns);
/* The source to poll for POLLIN (PH_FEED_SOURCE), or -1. */
int ph__stream_source_fd(const struct ph_plugin *p);
/* The plugin freed room we wait for (shared memory only: for spinning). */
int ph__stream_news(const struct ph_plugin *p);
/* ph_blob_free() of a stream blob. */
void ph__stream_blob_free(struct ph_blob *b);

/* stdio.c: the plugin's stdout and stderr as log lines. */
/* Make the two pipes (read ends ours, non-blocking; write ends blocking,
 * for the child). Returns 0 or a negative errno. */
int ph__stdio_open(struct ph_plugin *p);
/* Read what is waiting (a bounded pass) and log its whole lines; at_end
 * (the call or the load is over, or the instance died): also log a
 * partial last line and say how much was dropped, then start a new
 * budget. */
void ph__stdio_read(struct ph_plugin *p, int at_end);
/* Close everything (keeps nothing for later). */
void ph__stdio_close(struct ph_plugin *p);

/* symbols.c: backtraces of a crash. */
/* Right after the load: note where the plugin's file (and the other
 * executable files) are mapped, from the kernel's /proc/PID/maps. */
void ph__symbols_note_load(struct ph_plugin *p);
/* And hand init (or the zygote) the plugin's /proc/PID/mem, opened by us,
 * to read a fault's stack through (MEM). */
void ph__symbols_send_mem(struct ph_plugin *p);
/* init's CRASH (checked): make p->backtrace from it. */
void ph__symbols_backtrace(struct ph_plugin *p, const struct ph_msg_crash *c, const uint8_t *stack);
/* Forget both (restart, free). */
void ph__symbols_free(struct ph_plugin *p);

/* plugin.c: start p (host, path, cfg set) and take it through the
 * handshake; free an instance whatever its state. */
int ph__plugin_start(struct ph_plugin *p, struct ph_result *fail);
void ph__plugin_free_internal(struct ph_plugin *p);

/* The most instances one zygote runs at once (runner/zygote.c agrees). */
#define PH_ZYGOTE_MAX_INSTANCES 256

/* zygote.c: fork p from the zygote for its key (started on first use),
 * handing it its ring and wake pipe. Fills p's sockets, pid and pidfds;
 * p is then SPAWNING, waiting for SANDBOXED. Returns 0, or a negative
 * errno with *fail set. */
int ph__zygote_fork(struct ph_plugin *p, uint64_t capacity, int ring_fd, int wake_wr,
		    struct ph_result *fail);
void ph__zygotes_free(struct ph_host *h);

/* watchdog.c: wait for CHILD on p->sup and take its pidfd into
 * p->plugin_pidfd. */
int ph__take_child(struct ph_plugin *p, int timeout_ms, const char **ret_why);

/* policy.c: do two policies (NULL: the strict preset) allow the same? */
int ph__policy_equal(const struct ph_policy *a, const struct ph_policy *b);

/* policy.c: a private copy of policy (NULL stays NULL) for an instance or
 * a pool, so that the caller's may be freed after the call. */
int ph__policy_dup(const struct ph_policy *policy, struct ph_policy **ret_copy);
/* The plain form sandbox/ compiles (NULL for NULL: the strict preset). */
struct ph__sb_policy;
const struct ph__sb_policy *ph__policy_sb(const struct ph_policy *policy);

/* policy.c: set the base version a policy file named (1..current) and
 * how many files it came from. Returns 0 or -EINVAL. */
int ph__policy_set_base(struct ph_policy *policy, unsigned int version, size_t n_files);

/* learn.c: learning mode (cfg->learn). At spawn: can this instance learn
 * (notify on, a preset without rules)? Returns 0, or a negative errno with
 * a setup failure in *fail. */
int ph__learn_check(const struct ph_plugin_config *cfg, int notify, struct ph_result *fail);
/* notify.c's learning branch: record the notified call and let it go on,
 * returning 1; or 0 when learning never grants it (the caller kills). */
struct seccomp_notif;
int ph__learn_notif(struct ph_plugin *p, const struct seccomp_notif *n);

/* policyfile.c: what learning and the parser know of a syscall's
 * arguments (enum ph_learn_arg per argument, and which are 32-bit ints
 * and what names their values have). NULL for a syscall with no row. */
struct ph__sysargs {
	const char *name;
	uint8_t kind[6];  /* enum ph_learn_arg; PH_LEARN_ARG_UNUSED past the last */
	uint8_t int32;	  /* bit i: argument i is a 32-bit int (the kernel reads the low half) */
	uint8_t group[6]; /* enum ph__const_group of a VALUE argument's names */
};
const struct ph__sysargs *ph__sysargs(int nr);
/* Write value as the policy format spells it for a group: a name, names
 * joined with '|', or hex. */
void ph__const_format(unsigned int group, uint64_t value, char *buf, size_t len);

/* result.c */
void ph__result_init(struct ph_result *r, enum ph_result_kind kind);
void ph__result_setup(struct ph_result *r, int step, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void ph__result_protocol(struct ph_result *r, const char *why);

/* metrics.c: bookkeeping of the counters. */
/* p started (restart: by ph_plugin_restart()) or failed to; a ready
 * instance joins the host's live list. */
void ph__metrics_started(struct ph_plugin *p, int ok, int restart);
/* ph_plugin_spawn() failed before an instance existed. */
void ph__metrics_spawn_failed(struct ph_host *h);
/* The call's result is handed out (call.c). */
static inline void ph__metrics_call(struct ph_plugin *p, const struct ph_result *r)
{
	struct ph__counters *c = &p->metrics;

	PH__COUNT(c->calls, 1);
	PH__COUNT(c->bytes_out, r->output_bytes);
	PH__COUNT(c->results[(unsigned)r->kind < PH_METRICS_KINDS ? r->kind : PH_METRICS_KINDS - 1],
		  1);
}
/* The live process's CPU as a call's end saw it (not a new reading). */
static inline void ph__metrics_cpu(struct ph_plugin *p, const struct ph_result *r)
{
	__atomic_store_n(&p->metrics.cpu_cur, r->usage.user_usec + r->usage.sys_usec,
			 __ATOMIC_RELAXED);
}
/* The process is reaped: its CPU is final. count_end: it died, or was
 * killed for a cause, once ready (a host stopping it is no end). */
void ph__metrics_ended(struct ph_plugin *p, int count_end);
/* p is being freed: its counters join the host's freed totals. */
void ph__metrics_free(struct ph_plugin *p);

/* plugin.c: is cfg (NULL: the defaults) one ph_plugin_spawn() accepts?
 * Returns 0, or -EINVAL with the field and what is wrong in *fail. */
int ph__plugin_config_check(const struct ph_plugin_config *cfg, struct ph_result *fail);
