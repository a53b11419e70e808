/* SPDX-License-Identifier: MIT */
/*
 * plughost bench: what the sandbox costs on this machine.
 *
 * Every line is a figure (something plughost does) and a baseline (the
 * least the same work can cost here without plughost), measured in the
 * same run, interleaved figure, baseline, figure, baseline... for a number
 * of repetitions each, so that a machine that slows down or speeds up in
 * the middle (this kind of VM swings up to 3x between runs) moves both
 * sides alike. Each side is reported as its median with the interquartile
 * range (IQR, the 25th to the 75th percentile), plus the 99th percentile
 * for latencies, and the line's ratio is figure median / baseline median.
 *
 * It uses the public API only, like any application, and times with
 * CLOCK_MONOTONIC. A figure counts only for instances that had every
 * sandbox layer `plughost info` reports as available here: each line says
 * so when one was missing. The bench plugin (bench-plugin.c) and the
 * static helper (bench-helper.c) are found through $PLUGHOST_BENCH_PLUGIN
 * and $PLUGHOST_BENCH_HELPER, else beside this binary (a build tree), else
 * where they are installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/futex.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <plughost/host.h>

#include "bench-kernels.h"
#include "bench.h"
#include "ph-config.h"

extern char **environ;

/* The exit codes of plughost(1) that the bench uses. */
enum {
	BENCH_EXIT_OK = 0,
	BENCH_EXIT_FAILED = 1, /* a line failed: a call or a command did not succeed */
	BENCH_EXIT_USAGE = 2,
	BENCH_EXIT_SETUP = 3,
	BENCH_EXIT_INTERNAL = 70,
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)

/* The chunk the ring lines move, on both sides. */
#define RING_CHUNK (64 * KIB)
/* The ring of both sides: the instance's ring_size, and the raw one. */
#define RING_BYTES (4 * MIB)
#define RAW_SLOTS  (RING_BYTES / RING_CHUNK)
/* Request and response of call.small. */
#define SMALL_BYTES 64
/* Calls, and pipe passes, of input.many. */
#define INPUT_PASSES 4
/* The pieces a piping baseline reads and sums. */
#define PIPE_PIECE (64 * KIB)
/* Spins before a baseline's busy-wait lets the other side have the CPU. */
#define SPINS_BEFORE_YIELD (1u << 14)

static const char bench_usage_text[] =
    "Usage: plughost bench [--quick] [--json] [--only NAME[,NAME]...] [--reps N]\n"
    "\n"
    "Measure what the sandbox costs here: each figure next to a baseline measured\n"
    "in the same run, interleaved, as medians with the interquartile range (and the\n"
    "99th percentile for latencies). About 2 minutes; progress on standard error.\n"
    "\n"
    "  --quick          A few seconds: fewer repetitions, smaller data.\n"
    "  --json           One JSON document on standard output instead of the report.\n"
    "  --only NAMES     Run only these lines (comma-separated); a name without a\n"
    "                   dot, such as 'call', runs every line of that group.\n"
    "  --reps N         Repetitions of each side (default 20; 5 with --quick).\n"
    "\n"
    "Lines: call.blocking call.eventloop call.spin call.small spawn.warm spawn.cold\n"
    "       run.oneshot ring.output input.many input.once input.mapped e2e.upper\n"
    "       e2e.cpu input.stream\n"
    "\n"
    "Environment: PLUGHOST_BENCH_PLUGIN (the bench plugin), PLUGHOST_BENCH_HELPER\n"
    "(the static baseline helper), PLUGHOST_RUNNER, TMPDIR.\n";

/* ------------------------------------------------------------ cleanup */

/*
 * Temporary files live in one directory of ours. Their names sit in
 * static storage so that the signal handler can remove them with unlink()
 * and rmdir() alone, both async-signal-safe.
 */
enum { TMP_DATA, TMP_ERR, TMP_OUT_A, TMP_OUT_B, TMP_COUNT };
static char tmp_dir[PATH_MAX];
static char tmp_path[TMP_COUNT][PATH_MAX];

static void remove_tmp(void)
{
	for (size_t i = 0; i < TMP_COUNT; i++)
		if (tmp_path[i][0])
			unlink(tmp_path[i]);
	if (tmp_dir[0])
		rmdir(tmp_dir);
}

static void on_signal(int sig)
{
	remove_tmp();
	signal(sig, SIG_DFL);
	raise(sig);
}

static const int cleanup_signals[] = {SIGINT, SIGTERM, SIGHUP};

/* snprintf() for messages, which may be cut short: a path that fills
 * PATH_MAX makes a long line, never a wrong one. */
static void msg(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void msg(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ clocks */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rusage_usec(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
	       (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
}

/*
 * User plus system time of pid from /proc/PID/stat, in microseconds, or
 * -1. Ticks are coarse (10 ms at USER_HZ 100): only a delta over many
 * calls means anything.
 */
static int64_t proc_cpu_usec(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	long hz = sysconf(_SC_CLK_TCK);
	ssize_t n;
	int fd;

	if (pid <= 0 || hz <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* The command name may hold anything, ')' included: fields after
	 * the last one. utime and stime are fields 14 and 15. */
	p = strrchr(buf, ')');
	if (!p ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (int64_t)((ut + st) * 1000000u / (unsigned long long)hz);
}

/* ------------------------------------------------------------ samples */

struct samples {
	double *v;
	size_t n, cap;
};

static void samples_add(struct samples *s, double v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		double *grown = realloc(s->v, cap * sizeof(*grown));

		if (!grown) {
			fprintf(stderr, "plughost: bench: out of memory\n");
			exit(BENCH_EXIT_INTERNAL);
		}
		s->v = grown;
		s->cap = cap;
	}
	s->v[s->n++] = v;
}

struct summary {
	size_t n;
	double median, q1, q3, p99, mean;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The q-quantile of sorted v[0..n), interpolating between neighbours. */
static double quantile(const double *v, size_t n, double q)
{
	double pos = q * (double)(n - 1);
	size_t lo = (size_t)pos;
	double frac = pos - (double)lo;

	if (lo + 1 >= n)
		return v[n - 1];
	return v[lo] + frac * (v[lo + 1] - v[lo]);
}

static struct summary summarize(const struct samples *s)
{
	struct summary sum = {.n = s->n};
	double *v;

	if (s->n == 0)
		return sum;
	v = malloc(s->n * sizeof(*v));
	if (!v) {
		fprintf(stderr, "plughost: bench: out of memory\n");
		exit(BENCH_EXIT_INTERNAL);
	}
	memcpy(v, s->v, s->n * sizeof(*v));
	qsort(v, s->n, sizeof(*v), cmp_double);
	sum.median = quantile(v, s->n, 0.5);
	sum.q1 = quantile(v, s->n, 0.25);
	sum.q3 = quantile(v, s->n, 0.75);
	sum.p99 = quantile(v, s->n, 0.99);
	for (size_t i = 0; i < s->n; i++)
		sum.mean += v[i] / (double)s->n;
	free(v);
	return sum;
}

/* ------------------------------------------------------------ lines */

enum line_kind {
	KIND_LATENCY,	 /* samples in ns; lower is better */
	KIND_THROUGHPUT, /* samples in GB/s or calls/s; higher is better */
};

enum line_status {
	LINE_OK,
	LINE_UNAVAILABLE, /* the figure cannot be measured here: says why */
	LINE_FAILED,	  /* something that should work did not */
};

#define MAX_NOTES 8
#define MAX_EXTRA 24

struct bench;
struct line;

struct line_def {
	const char *name;
	enum line_kind kind;
	const char *unit; /* of the samples: "ns", "GB/s" or "calls/s" */
	const char *figure;
	const char *baseline;
	void (*run)(struct bench *b, struct line *l);
};

struct line {
	const struct line_def *def;
	enum line_status status;
	char why[512];
	char figure[256], baseline[256]; /* what each side measured */
	int baseline_missing;		 /* no baseline here: baseline_why */
	char baseline_why[512];
	/* Layers `plughost info` reports that one of the line's instances
	 * lacked: its figure does not count. */
	uint32_t missing_layers;
	uint32_t layers; /* the layers of the line's (last) instance */
	int has_layers;
	struct samples a, b;
	char brief[96]; /* a few words for the summary table */
	char notes[MAX_NOTES][512];
	size_t n_notes;
	struct {
		char key[48];
		double value;
	} extra[MAX_EXTRA];
	size_t n_extra;
	double seconds;
};

static void line_fail(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line_fail(struct line *l, const char *fmt, ...)
{
	va_list ap;

	if (l->status != LINE_OK)
		return; /* the first cause is the one to report */
	l->status = LINE_FAILED;
	va_start(ap, fmt);
	vsnprintf(l->why, sizeof(l->why), fmt, ap);
	va_end(ap);
}

static void line_unavailable(struct line *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void line_unavailable(struct line *l, const char *fmt, ...)
{
	va_list ap;

	if (l->status != LINE_OK)
		return;
	l->status = LINE_UNAVAILABLE;
	va_start(ap, fmt);
	vsnprintf(l->why, sizeof(l->why), fmt, ap);
	va_end(ap);
}

static void baseline_unavailable(struct line *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void baseline_unavailable(struct line *l, const char *fmt, ...)
{
	va_list ap;

	if (l->baseline_missing)
		return;
	l->baseline_missing = 1;
	va_start(ap, fmt);
	vsnprintf(l->baseline_why, sizeof(l->baseline_why), fmt, ap);
	va_end(ap);
}

static void line_note(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line_note(struct line *l, const char *fmt, ...)
{
	va_list ap;

	if (l->n_notes == MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(l->notes[l->n_notes++], sizeof(l->notes[0]), fmt, ap);
	va_end(ap);
}

/* A number for the JSON output, under a stable key. */
static void line_extra(struct line *l, const char *key, double value)
{
	if (l->n_extra == MAX_EXTRA)
		return;
	snprintf(l->extra[l->n_extra].key, sizeof(l->extra[0].key), "%s", key);
	l->extra[l->n_extra++].value = value;
}

/* ------------------------------------------------------------ context */

/* The data input.* lines share, made by the first of them. */
struct input_data {
	size_t size;
	unsigned char *src; /* the bytes, in our memory: what the baselines pipe */
	struct ph_blob *blob;
	int memfd; /* the same bytes, sealed: input.mapped's baseline maps it */
	uint64_t sum;
};

struct bench {
	int quick, json;
	unsigned int reps;
	/* Operations per batch: one batch of each side per repetition. */
	size_t call_batch, small_batch, spawn_batch, cmd_batch, cpu_batch;
	uint64_t ring_bytes, input_bytes, file_bytes, cpu_ms;

	struct ph_host *host;
	char plugin[PATH_MAX];
	char helper[PATH_MAX]; /* "" when missing: helper_why */
	char helper_why[PATH_MAX + 128];
	uint32_t avail;	  /* the layers `plughost info` reports */
	uint32_t require; /* what a default instance got: every spawn requires it */
	int devnull;

	int have_file; /* tmp_path[TMP_DATA] holds file_bytes bytes */
	struct input_data in;
	int have_input;
	double blocking_median; /* call.blocking's, for call.spin's note */
	size_t line_index, line_count;
};

static void layer_names(uint32_t layers, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (uint32_t bit = 1; bit && used < len; bit <<= 1) {
		const char *name = (layers & bit) ? ph_layer_name(bit) : NULL;
		int n;

		if (!name)
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? " " : "", name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	if (!buf[0])
		snprintf(buf, len, "none");
}

/* The PH_LAYER bit ph_layer_name() names name, or 0. */
static uint32_t layer_bit(const char *name)
{
	for (uint32_t bit = 1; bit; bit <<= 1)
		if (ph_layer_name(bit) && !strcmp(ph_layer_name(bit), name))
			return bit;
	return 0;
}

/*
 * The layers `plughost info` reports as available: its "layers:" line of
 * names, turned back into bits through ph_layer_name().
 */
static int probe_layers(uint32_t *ret)
{
	char *buf, *line, *save = NULL;
	uint32_t layers = 0;
	int n = ph_probe_report(NULL, 0), found = 0;

	if (n < 0)
		return n;
	buf = malloc((size_t)n + 1);
	if (!buf)
		return -ENOMEM;
	ph_probe_report(buf, (size_t)n + 1);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tok, *save2 = NULL;

		if (strncmp(line, "layers:", 7) != 0)
			continue;
		found = 1;
		for (tok = strtok_r(line + 7, " ", &save2); tok; tok = strtok_r(NULL, " ", &save2))
			layers |= layer_bit(tok);
	}
	free(buf);
	if (!found)
		return -ENODATA;
	*ret = layers;
	return 0;
}

/* Record p's layers for the line; one missing an available layer makes
 * the line's figure not count. */
static void check_layers(struct bench *b, struct line *l, const struct ph_plugin *p)
{
	uint32_t have = ph_plugin_layers(p);

	l->layers = have;
	l->has_layers = 1;
	l->missing_layers |= b->avail & ~have;
}

static void bench_log(void *userdata, const struct ph_plugin *instance, enum ph_level level,
		      const char *line)
{
	(void)userdata;
	if (level > PH_WARN)
		return;
	fprintf(stderr, "plughost: bench: [%s] %s\n", instance ? ph_plugin_name(instance) : "host",
		line);
}

/*
 * Spawn the bench plugin with cfg (NULL: the defaults), requiring the
 * layers a default instance got unless unsandboxed. Returns the instance,
 * or NULL after line_fail() says why.
 */
static struct ph_plugin *spawn_bench(struct bench *b, struct line *l,
				     const struct ph_plugin_config *cfg)
{
	struct ph_plugin_config c;
	struct ph_plugin *p;
	struct ph_result res;
	char text[512];
	int r;

	if (cfg)
		c = *cfg;
	else
		ph_plugin_config_init(&c);
	if (!c.unsandboxed)
		c.require |= b->require;
	r = ph_plugin_spawn(b->host, b->plugin, &c, &p, &res);
	if (r < 0) {
		ph_result_describe(&res, text, sizeof(text));
		line_fail(l, "cannot start '%s': %s (%s)", b->plugin, text, strerror(-r));
		return NULL;
	}
	if (!c.unsandboxed)
		check_layers(b, l, p);
	return p;
}

/* Returns 0 when a call returned OK, else -1 after line_fail(). */
static int check_call(struct line *l, const char *method, int r, const struct ph_result *res)
{
	char text[512];

	if (r < 0) {
		line_fail(l, "%s: %s", method, strerror(-r));
		return -1;
	}
	if (res->kind != PH_RESULT_OK) {
		ph_result_describe(res, text, sizeof(text));
		line_fail(l, "%s: %s", method, text);
		return -1;
	}
	return 0;
}

/* An output callback that keeps the first cap bytes and counts them all. */
struct sink {
	unsigned char *buf;
	size_t cap;
	uint64_t len;
};

static int sink_out(void *userdata, const void *buf, size_t len)
{
	struct sink *s = userdata;

	if (s->len < s->cap) {
		size_t n = len < s->cap - s->len ? len : (size_t)(s->cap - s->len);

		memcpy(s->buf + s->len, buf, n);
	}
	s->len += len;
	return 0;
}

/* ph_plugin_call() again, through the event-loop API: submit, then poll
 * the instance's fd and process until the call ends. */
static int call_eventloop(struct ph_plugin *p, const char *method, struct ph_blob *const *inputs,
			  size_t n, ph_output_fn out_fn, void *userdata, struct ph_result *res)
{
	struct pollfd pfd = {.fd = ph_plugin_fd(p), .events = POLLIN};
	int r = ph_plugin_submit(p, method, inputs, n, out_fn, userdata);

	if (r < 0)
		return r;
	for (;;) {
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return -errno;
		r = ph_plugin_process(p, res);
		if (r < 0)
			return r;
		if (r == 1)
			return 0;
	}
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#else
	__asm__ volatile("" ::: "memory");
#endif
}

/* ------------------------------------------------------------ processes */

/*
 * Fork a child that runs fn(arg) and exits with what it returns. The child
 * dies with us (PR_SET_PDEATHSIG), so that a spinning baseline never
 * outlives an interrupted bench, and does not run our signal handler.
 * Returns its pid, or -errno.
 */
static pid_t fork_child(int (*fn)(void *), void *arg)
{
	pid_t parent = getpid(), pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		for (size_t i = 0; i < ARRAY_SIZE(cleanup_signals); i++)
			signal(cleanup_signals[i], SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		_exit(fn(arg));
	}
	return pid;
}

/* Reap pid. Returns its wait status, or -errno. */
static int reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return status;
}

static void describe_status(int status, char *buf, size_t len)
{
	if (status < 0)
		snprintf(buf, len, "waitpid: %s", strerror(-status));
	else if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "wait status 0x%x", (unsigned int)status);
}

static int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read exactly len bytes; -EPIPE at an early end of file. */
static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Make a pipe whose ends are above the standard fds and the helper's fd,
 * so that a dup2() onto those never meets an end that is already there
 * (and would keep its close-on-exec flag).
 */
static int pipe_high(int fds[2])
{
	int raw[2];

	if (pipe2(raw, O_CLOEXEC) < 0)
		return -errno;
	for (int i = 0; i < 2; i++) {
		fds[i] = fcntl(raw[i], F_DUPFD_CLOEXEC, 10);
		close(raw[i]);
	}
	if (fds[0] < 0 || fds[1] < 0) {
		if (fds[0] >= 0)
			close(fds[0]);
		if (fds[1] >= 0)
			close(fds[1]);
		return -EMFILE;
	}
	return 0;
}

/*
 * Start a program (path; NULL: argv[0] found in PATH) with fds dup2()'d
 * onto 0, 1, 2 and PH_BENCH_HELPER_FD where not -1; everything else is
 * close-on-exec. posix_spawn() is a vfork and exec, the way the library
 * starts its runner: no copy of our (possibly large) memory. Returns the
 * pid, or -errno.
 */
static pid_t start_cmd(const char *path, char *const argv[], int in_fd, int out_fd, int err_fd,
		       int helper_fd)
{
	const int from[] = {in_fd, out_fd, err_fd, helper_fd};
	const int to[] = {0, 1, 2, PH_BENCH_HELPER_FD};
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int r;

	r = posix_spawn_file_actions_init(&fa);
	if (r)
		return -r;
	for (size_t i = 0; i < ARRAY_SIZE(from) && !r; i++)
		if (from[i] >= 0)
			r = posix_spawn_file_actions_adddup2(&fa, from[i], to[i]);
	if (!r)
		r = path ? posix_spawn(&pid, path, &fa, NULL, argv, environ)
			 : posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return r ? -r : pid;
}

/* The first line of the error file, for a line that says why a command failed. */
static void first_err_line(char *buf, size_t len)
{
	int fd = open(tmp_path[TMP_ERR], O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* The contents of a small file (a digest, a report), NUL-terminated. */
static void read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
}

/* A fresh, empty error file for the next command's stderr. */
static int open_err(void)
{
	return open(tmp_path[TMP_ERR], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

/*
 * Run a command to its end with stdin from in_fd, stdout to out_fd and
 * stderr into the error file; *ret_ns is from just before the spawn to
 * the reaping. Returns 0 when it exited 0, else -1 with why in why (its
 * first line of stderr, or how it ended).
 */
static int run_cmd(const char *path, char *const argv[], int in_fd, int out_fd, uint64_t *ret_ns,
		   char *why, size_t why_len)
{
	char line[400], how[128];
	int err = open_err(), status;
	uint64_t t0;
	pid_t pid;

	if (err < 0) {
		msg(why, why_len, "cannot create '%s': %s", tmp_path[TMP_ERR], strerror(errno));
		return -1;
	}
	t0 = now_ns();
	pid = start_cmd(path, argv, in_fd, out_fd, err, -1);
	if (pid < 0) {
		close(err);
		snprintf(why, why_len, "cannot start '%s': %s", argv[0], strerror((int)-pid));
		return -1;
	}
	status = reap(pid);
	*ret_ns = now_ns() - t0;
	close(err);
	if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	first_err_line(line, sizeof(line));
	describe_status(status, how, sizeof(how));
	snprintf(why, why_len, "%s", line[0] ? line : how);
	return -1;
}

/*
 * After a `plughost run -v` whose stderr is in the error file: record the
 * layers its instance had (the list after "sandbox:" in its report line),
 * as check_layers() does for the bench's own instances, so that a command
 * line counts only with every available layer too.
 */
static void cli_layers(struct bench *b, struct line *l)
{
	static const char mark[] = ", sandbox:";
	char buf[4096], *p, *tok, *save = NULL;
	uint32_t have = 0;

	read_small(tmp_path[TMP_ERR], buf, sizeof(buf));
	p = strstr(buf, mark);
	if (!p) {
		line_note(l, "plughost run -v did not name its sandbox layers");
		return;
	}
	p += sizeof(mark) - 1;
	p[strcspn(p, ";\n")] = '\0';
	for (tok = strtok_r(p, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		have |= layer_bit(tok);
	l->layers = have;
	l->has_layers = 1;
	l->missing_layers |= b->avail & ~have;
}

/* Whether prog is an executable in PATH (its path in buf). */
static int find_in_path(const char *prog, char *buf, size_t len)
{
	const char *path = getenv("PATH");

	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		int w = snprintf(buf, len, "%.*s/%s", (int)n, n ? path : ".", prog);

		if (w > 0 && (size_t)w < len && access(buf, X_OK) == 0)
			return 1;
		path += n;
		if (*path == ':')
			path++;
	}
	return 0;
}

/* ------------------------------------------------------------ the A/B loop */

/*
 * One side of a line: run one batch, adding its samples to out, or with
 * out NULL, a warm-up batch whose samples are dropped. Returns 0, or -1
 * after line_fail(). A baseline that cannot run here calls
 * baseline_unavailable() and returns 0: the line goes on without it.
 */
typedef int (*side_fn)(struct bench *b, struct line *l, void *ctx, struct samples *out);

/*
 * Warm both sides up (first calls fault in code, pages and caches), then
 * alternate: figure, baseline, figure, baseline, b->reps of each, so that
 * both sides see the machine in the same state.
 */
static void interleave(struct bench *b, struct line *l, void *ctx, side_fn figure, side_fn base)
{
	if (figure(b, l, ctx, NULL) < 0)
		return;
	if (!l->baseline_missing && base(b, l, ctx, NULL) < 0)
		return;
	for (unsigned int rep = 0; rep < b->reps; rep++) {
		if (figure(b, l, ctx, &l->a) < 0)
			return;
		if (!l->baseline_missing && base(b, l, ctx, &l->b) < 0)
			return;
	}
}

/* ------------------------------------------------------------ baselines */

/* A child that echoes size-byte messages on a pair of pipes until EOF. */
struct echo_peer {
	int down[2], up[2]; /* parent -> child, child -> parent */
	size_t size;
	pid_t pid;
};

static int echo_child(void *arg)
{
	struct echo_peer *e = arg;
	unsigned char buf[SMALL_BYTES];

	close(e->down[1]);
	close(e->up[0]);
	while (read_full(e->down[0], buf, e->size) == 0)
		if (write_full(e->up[1], buf, e->size) < 0)
			return 1;
	return 0;
}

static int echo_start(struct echo_peer *e, size_t size)
{
	int r;

	e->size = size;
	if ((r = pipe_high(e->down)) < 0)
		return r;
	if ((r = pipe_high(e->up)) < 0) {
		close(e->down[0]);
		close(e->down[1]);
		return r;
	}
	e->pid = fork_child(echo_child, e);
	close(e->down[0]);
	close(e->up[1]);
	if (e->pid < 0) {
		close(e->down[1]);
		close(e->up[0]);
		return (int)e->pid;
	}
	return 0;
}

static void echo_stop(struct echo_peer *e)
{
	close(e->down[1]);
	close(e->up[0]);
	reap(e->pid);
}

/*
 * Round trips of size-byte messages through a pipe pair to a child
 * process, n of them: as latencies (ns each) when as_rate is 0, else one
 * sample of round trips per second.
 */
static int pipe_rtt_side(struct line *l, size_t size, size_t n, int as_rate, struct samples *out)
{
	struct echo_peer e;
	unsigned char msg[SMALL_BYTES] = {0};
	uint64_t start;
	int r = echo_start(&e, size);

	if (r < 0) {
		line_fail(l, "baseline: cannot start the pipe peer: %s", strerror(-r));
		return -1;
	}
	start = now_ns();
	for (size_t i = 0; i < n && r == 0; i++) {
		uint64_t t0 = now_ns();

		msg[0] = (unsigned char)i;
		r = write_full(e.down[1], msg, size);
		if (r == 0)
			r = read_full(e.up[0], msg, size);
		if (out && !as_rate)
			samples_add(out, (double)(now_ns() - t0));
	}
	if (out && as_rate && r == 0)
		samples_add(out, (double)n * 1e9 / (double)(now_ns() - start));
	echo_stop(&e);
	if (r < 0) {
		line_fail(l, "baseline: pipe round trip: %s", strerror(-r));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ call.* */

struct call_ctx {
	struct ph_plugin *p;
	int eventloop;
	/* CPU over the recorded batches: the host's own, and the plugin's
	 * from its results and from /proc, from the end of the warm-up on. */
	uint64_t calls, host_usec;
	struct ph_result last;
	uint64_t usage0;
	int64_t proc0, init0, proc1, init1;
};

static uint64_t res_cpu(const struct ph_result *res)
{
	return res->usage.user_usec + res->usage.sys_usec;
}

static int call_side(struct bench *b, struct line *l, void *vctx, struct samples *out)
{
	struct call_ctx *c = vctx;
	struct ph_result res;
	uint64_t cpu0 = rusage_usec();

	for (size_t i = 0; i < b->call_batch; i++) {
		uint64_t t0 = now_ns();
		int r = c->eventloop ? call_eventloop(c->p, "nop", NULL, 0, NULL, NULL, &res)
				     : ph_plugin_call(c->p, "nop", NULL, 0, NULL, NULL, &res);
		uint64_t t1 = now_ns();

		if (check_call(l, "nop", r, &res) < 0)
			return -1;
		if (out)
			samples_add(out, (double)(t1 - t0));
	}
	if (out) {
		c->host_usec += rusage_usec() - cpu0;
		c->calls += b->call_batch;
		c->proc1 = proc_cpu_usec(ph_plugin_process_pid(c->p));
		c->init1 = proc_cpu_usec(ph_plugin_pid(c->p));
	} else {
		/* The plugin works only in our calls: from here to the last
		 * batch's end its CPU time is the recorded calls'. */
		c->usage0 = res_cpu(&res);
		c->proc0 = proc_cpu_usec(ph_plugin_process_pid(c->p));
		c->init0 = proc_cpu_usec(ph_plugin_pid(c->p));
	}
	c->last = res;
	return 0;
}

static int pipe1_side(struct bench *b, struct line *l, void *ctx, struct samples *out)
{
	(void)ctx;
	return pipe_rtt_side(l, 1, b->call_batch, 0, out);
}

/* Shared memory of the spin baseline: ping and pong on one cache line. */
struct spin_line {
	_Alignas(64) uint32_t ping;
	uint32_t pong;
	int child_cpu; /* -1: not pinned */
};
#define SPIN_STOP UINT32_MAX

/* Pin the calling process to cpu. */
static int pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) < 0 ? -errno : 0;
}

/*
 * Two CPUs we may run on, for the two sides of a spinning baseline: two
 * processes that spin on one CPU take turns by time slice, and measure
 * the scheduler. Returns 0, or -1 with only one CPU to use.
 */
static int two_cpus(const cpu_set_t *allowed, int *ret_a, int *ret_b)
{
	int found = 0;

	for (int cpu = 0; cpu < CPU_SETSIZE && found < 2; cpu++) {
		if (!CPU_ISSET(cpu, allowed))
			continue;
		if (found++ == 0)
			*ret_a = cpu;
		else
			*ret_b = cpu;
	}
	return found == 2 ? 0 : -1;
}

static int spin_child(void *arg)
{
	struct spin_line *s = arg;
	uint32_t seen = 0;

	if (s->child_cpu >= 0)
		pin_to(s->child_cpu);

	for (;;) {
		uint32_t v;
		unsigned int spins = 0;

		while ((v = __atomic_load_n(&s->ping, __ATOMIC_ACQUIRE)) == seen) {
			cpu_relax();
			if (++spins == SPINS_BEFORE_YIELD) {
				sched_yield();
				spins = 0;
			}
		}
		if (v == SPIN_STOP)
			return 0;
		__atomic_store_n(&s->pong, v, __ATOMIC_RELEASE);
		seen = v;
	}
}

static int spin_side(struct bench *b, struct line *l, void *ctx, struct samples *out)
{
	struct spin_line *s =
	    mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cpu_set_t allowed;
	int cpu_a, cpu_b, pinned = 0;
	pid_t pid;

	(void)ctx;
	if (s == MAP_FAILED) {
		line_fail(l, "baseline: mmap: %s", strerror(errno));
		return -1;
	}
	s->child_cpu = -1;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0 &&
	    two_cpus(&allowed, &cpu_a, &cpu_b) == 0 && pin_to(cpu_b) == 0) {
		s->child_cpu = cpu_a;
		pinned = 1;
		msg(l->baseline, sizeof(l->baseline),
		    "spin round trip on a shared cache line between two processes pinned to CPUs "
		    "%d and %d (MAP_SHARED, atomics)",
		    cpu_a, cpu_b);
	} else {
		msg(l->baseline, sizeof(l->baseline),
		    "spin round trip on a shared cache line between two processes on one CPU "
		    "(MAP_SHARED, atomics; they take turns)");
	}
	pid = fork_child(spin_child, s);
	if (pid < 0) {
		if (pinned)
			sched_setaffinity(0, sizeof(allowed), &allowed);
		munmap(s, sizeof(*s));
		line_fail(l, "baseline: fork: %s", strerror((int)-pid));
		return -1;
	}
	for (uint32_t i = 1; i <= b->call_batch; i++) {
		uint64_t t0 = now_ns();
		unsigned int spins = 0;

		__atomic_store_n(&s->ping, i, __ATOMIC_RELEASE);
		while (__atomic_load_n(&s->pong, __ATOMIC_ACQUIRE) != i) {
			cpu_relax();
			if (++spins == SPINS_BEFORE_YIELD) {
				sched_yield();
				spins = 0;
			}
		}
		if (out)
			samples_add(out, (double)(now_ns() - t0));
	}
	__atomic_store_n(&s->ping, SPIN_STOP, __ATOMIC_RELEASE);
	reap(pid);
	if (pinned)
		sched_setaffinity(0, sizeof(allowed), &allowed);
	munmap(s, sizeof(*s));
	return 0;
}

/*
 * CPU time per call, host and plugin, as a note and as extras. The
 * plugin's comes from /proc in clock ticks (10 ms at USER_HZ 100), which
 * the note says when there were too few of them to mean much.
 */
static void report_call_cpu(struct line *l, const struct call_ctx *c)
{
	long hz = sysconf(_SC_CLK_TCK);
	double host, plugin, ticks;
	char proc[160] = "", init[96] = "", coarse[96] = "";

	if (c->calls == 0)
		return;
	host = (double)c->host_usec / (double)c->calls;
	plugin = (double)(res_cpu(&c->last) - c->usage0) / (double)c->calls;
	ticks = hz > 0 ? (double)(res_cpu(&c->last) - c->usage0) * (double)hz / 1e6 : 0;
	line_extra(l, "host_cpu_us_per_call", host);
	line_extra(l, "plugin_cpu_us_per_call", plugin);
	snprintf(l->brief, sizeof(l->brief), "CPU/call: host %.1f us, plugin %.1f us", host,
		 plugin);
	if (c->proc0 >= 0 && c->proc1 >= 0) {
		double v = (double)(c->proc1 - c->proc0) / (double)c->calls;

		line_extra(l, "plugin_proc_cpu_us_per_call", v);
		snprintf(proc, sizeof(proc), ", %.1f us (/proc)", v);
	}
	if (c->init0 >= 0 && c->init1 >= 0 && ph_plugin_pid(c->p) != ph_plugin_process_pid(c->p)) {
		double v = (double)(c->init1 - c->init0) / (double)c->calls;

		line_extra(l, "init_cpu_us_per_call", v);
		snprintf(init, sizeof(init), ", its init %.1f us", v);
	}
	if (ticks < 10)
		snprintf(coarse, sizeof(coarse), "; only %.0f clock tick%s in all: coarse", ticks,
			 ticks >= 0.5 && ticks < 1.5 ? "" : "s");
	line_note(
	    l, "CPU per call: host %.1f us, plugin %.1f us (result usage)%s%s (over %llu calls%s)",
	    host, plugin, proc, init, (unsigned long long)c->calls, coarse);
}

static void run_call(struct bench *b, struct line *l, int eventloop, uint32_t wait, side_fn base)
{
	struct ph_plugin_config cfg;
	struct call_ctx c = {.eventloop = eventloop};

	ph_plugin_config_init(&cfg);
	cfg.wait = wait;
	c.p = spawn_bench(b, l, &cfg);
	if (!c.p)
		return;
	interleave(b, l, &c, call_side, base);
	report_call_cpu(l, &c);
	ph_plugin_free(c.p);
}

static void run_call_blocking(struct bench *b, struct line *l)
{
	run_call(b, l, 0, PH_WAIT_DEFAULT, pipe1_side);
	if (l->status == LINE_OK)
		b->blocking_median = summarize(&l->a).median;
}

static void run_call_eventloop(struct bench *b, struct line *l)
{
	run_call(b, l, 1, PH_WAIT_DEFAULT, pipe1_side);
}

static void run_call_spin(struct bench *b, struct line *l)
{
	double mean, busy = -1;

	run_call(b, l, 0, PH_WAIT_SPIN, spin_side);
	if (l->status != LINE_OK || !l->a.n)
		return;
	/*
	 * The library does not say whether it spun. A host that spins through
	 * the call uses a CPU all along: host CPU per call near the latency.
	 */
	mean = summarize(&l->a).mean;
	for (size_t i = 0; i < l->n_extra; i++)
		if (!strcmp(l->extra[i].key, "host_cpu_us_per_call"))
			busy = l->extra[i].value * 1e3 / mean;
	if (busy >= 0 && busy < 0.9)
		line_note(l,
			  "the host did not spin through the calls (its CPU per call is %.0f%% "
			  "of the mean latency): this build may ignore PH_WAIT_SPIN",
			  busy * 100);
	if (b->blocking_median > 0)
		line_note(l, "call.blocking's median in this run: %.1f us",
			  b->blocking_median / 1e3);
}

struct small_ctx {
	struct ph_plugin *p;
};

static int small_side(struct bench *b, struct line *l, void *vctx, struct samples *out)
{
	struct small_ctx *c = vctx;
	unsigned char msg[SMALL_BYTES] = {0}, got[SMALL_BYTES];
	uint64_t start = now_ns();

	for (size_t i = 0; i < b->small_batch; i++) {
		struct sink s = {.buf = got, .cap = sizeof(got)};
		struct ph_blob *in;
		struct ph_result res;
		int r;

		/* A fresh request each time, as a server would have. */
		memcpy(msg, &i, sizeof(i));
		r = ph_blob_new_from_bytes(msg, sizeof(msg), &in);
		if (r < 0) {
			line_fail(l, "ph_blob_new_from_bytes: %s", strerror(-r));
			return -1;
		}
		r = ph_plugin_call(c->p, "echo64", &in, 1, sink_out, &s, &res);
		ph_blob_free(in);
		if (check_call(l, "echo64", r, &res) < 0)
			return -1;
		if (s.len != SMALL_BYTES || memcmp(got, msg, SMALL_BYTES) != 0) {
			line_fail(l, "echo64: %llu bytes back, not the %d sent",
				  (unsigned long long)s.len, SMALL_BYTES);
			return -1;
		}
	}
	if (out)
		samples_add(out, (double)b->small_batch * 1e9 / (double)(now_ns() - start));
	return 0;
}

static int pipe64_side(struct bench *b, struct line *l, void *ctx, struct samples *out)
{
	(void)ctx;
	return pipe_rtt_side(l, SMALL_BYTES, b->small_batch, 1, out);
}

static void run_call_small(struct bench *b, struct line *l)
{
	struct small_ctx c;

	c.p = spawn_bench(b, l, NULL);
	if (!c.p)
		return;
	interleave(b, l, &c, small_side, pipe64_side);
	ph_plugin_free(c.p);
}

/* ------------------------------------------------------------ spawn.* */

struct spawn_ctx {
	int zygote;
	size_t spawned, from_zygote;
	struct samples ready;
	struct samples steps[PH_SPAWN_STEPS];
	struct samples total; /* ph_spawn_times().total_ns */
};

static int spawn_side(struct bench *b, struct line *l, void *vctx, struct samples *out)
{
	struct spawn_ctx *c = vctx;
	struct ph_plugin_config cfg;

	ph_plugin_config_init(&cfg);
	cfg.zygote = (uint32_t)c->zygote;
	for (size_t i = 0; i < b->spawn_batch; i++) {
		struct ph_spawn_times t = {0};
		struct ph_plugin *p;
		uint64_t t0 = now_ns(), t1, t2;

		p = spawn_bench(b, l, &cfg);
		t1 = now_ns();
		if (!p)
			return -1;
		ph_plugin_spawn_times(p, &t);
		ph_plugin_free(p);
		t2 = now_ns();
		if (!out)
			continue;
		samples_add(out, (double)(t2 - t0));
		samples_add(&c->ready, (double)(t1 - t0));
		if (t.total_ns)
			samples_add(&c->total, (double)t.total_ns);
		for (unsigned int s = 0; s < PH_SPAWN_STEPS; s++)
			if (t.step_ns[s])
				samples_add(&c->steps[s], (double)t.step_ns[s]);
		c->spawned++;
		c->from_zygote += t.zygote != 0;
	}
	return 0;
}

static int fork_side(struct bench *b, struct line *l, void *ctx, struct samples *out)
{
	(void)ctx;
	for (size_t i = 0; i < b->spawn_batch; i++) {
		uint64_t t0 = now_ns();
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		if (pid < 0) {
			line_fail(l, "baseline: fork: %s", strerror(errno));
			return -1;
		}
		reap(pid);
		if (out)
			samples_add(out, (double)(now_ns() - t0));
	}
	return 0;
}

static void helper_label(unsigned int got, char *buf, size_t len)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} parts[] = {
	    {PH_BENCH_HELPER_USERNS, "userns"},	  {PH_BENCH_HELPER_PIDNS, "pidns"},
	    {PH_BENCH_HELPER_NETNS, "netns"},	  {PH_BENCH_HELPER_MNTNS, "mntns"},
	    {PH_BENCH_HELPER_IPCNS, "ipcns"},	  {PH_BENCH_HELPER_NNP, "nnp"},
	    {PH_BENCH_HELPER_SECCOMP, "seccomp"},
	};
	char have[128] = "", lack[128] = "";

	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		char *dst = (got & parts[i].bit) ? have : lack;
		size_t used = strlen(dst);

		snprintf(dst + used, sizeof(have) - used, "%s%s", used ? " " : "", parts[i].name);
	}
	snprintf(buf, len,
		 "exec of the static helper: %s, one byte back on a pipe (posix_spawn to the "
		 "byte)%s%s",
		 have[0] ? have : "nothing", lack[0] ? "; refused here: " : "", lack);
}

static int helper_side(struct bench *b, struct line *l, void *ctx, struct samples *out)
{
	char *argv[] = {"plughost-bench-helper", NULL};

	(void)ctx;
	if (!b->helper[0]) {
		baseline_unavailable(l, "%s", b->helper_why);
		return 0;
	}
	for (size_t i = 0; i < b->spawn_batch; i++) {
		unsigned char got;
		char how[128];
		int fds[2], r, status;
		uint64_t t0, t1;
		pid_t pid;

		if ((r = pipe_high(fds)) < 0) {
			line_fail(l, "baseline: pipe: %s", strerror(-r));
			return -1;
		}
		t0 = now_ns();
		pid = start_cmd(b->helper, argv, b->devnull, -1, -1, fds[1]);
		close(fds[1]);
		if (pid < 0) {
			close(fds[0]);
			baseline_unavailable(l, "cannot start the helper '%s': %s", b->helper,
					     strerror((int)-pid));
			return 0;
		}
		r = read_full(fds[0], &got, 1);
		t1 = now_ns();
		close(fds[0]);
		status = reap(pid);
		if (r < 0 || status != 0) {
			describe_status(status, how, sizeof(how));
			baseline_unavailable(l, "the helper '%s' failed: %s", b->helper, how);
			return 0;
		}
		helper_label(got, l->baseline, sizeof(l->baseline));
		if (out)
			samples_add(out, (double)(t1 - t0));
	}
	return 0;
}

static void note_steps(struct line *l, struct spawn_ctx *c)
{
	char text[512];
	size_t used = 0;

	for (unsigned int s = 0; s < PH_SPAWN_STEPS && used < sizeof(text); s++) {
		struct summary sum;
		char key[48];
		int n;

		if (c->steps[s].n == 0)
			continue; /* a step that did not happen, or is not timed */
		sum = summarize(&c->steps[s]);
		snprintf(key, sizeof(key), "step_%s_ns", ph_spawn_step_name(s));
		line_extra(l, key, sum.median);
		n = snprintf(text + used, sizeof(text) - used, "%s%s %.0f us", used ? ", " : "",
			     ph_spawn_step_name(s), sum.median / 1e3);
		if (n > 0)
			used += (size_t)n;
	}
	if (used)
		line_note(l, "steps (median over %zu spawns): %s", c->spawned, text);
	else
		line_note(l, "steps: none timed (this build reports no step breakdown)");
	if (c->total.n)
		line_note(l, "ph_spawn_times() total: median %.2f ms",
			  summarize(&c->total).median / 1e6);
}

static void run_spawn(struct bench *b, struct line *l, int zygote, side_fn base)
{
	struct spawn_ctx c = {.zygote = zygote};
	char names[256];

	interleave(b, l, &c, spawn_side, base);
	if (c.ready.n) {
		struct summary ready = summarize(&c.ready);

		line_note(l, "ready (ph_plugin_spawn() returned): median %.2f ms, p99 %.2f ms",
			  ready.median / 1e6, ready.p99 / 1e6);
		line_extra(l, "ready_median_ns", ready.median);
	}
	if (zygote) {
		if (c.spawned && c.from_zygote == 0) {
			line_note(l, "zygote: not used (this build ignores it)");
			snprintf(l->brief, sizeof(l->brief), "zygote not used");
		} else if (c.spawned)
			line_note(l, "zygote: %zu of %zu instances forked from it", c.from_zygote,
				  c.spawned);
		line_extra(l, "from_zygote", (double)c.from_zygote);
	} else {
		note_steps(l, &c);
	}
	if (l->has_layers) {
		layer_names(l->layers, names, sizeof(names));
		line_note(l, "layers: %s", names);
	}
	free(c.ready.v);
	free(c.total.v);
	for (unsigned int s = 0; s < PH_SPAWN_STEPS; s++)
		free(c.steps[s].v);
}

static void run_spawn_warm(struct bench *b, struct line *l)
{
	run_spawn(b, l, 1, fork_side);
}

static void run_spawn_cold(struct bench *b, struct line *l)
{
	run_spawn(b, l, 0, helper_side);
}

/* ------------------------------------------------------------ run.oneshot */

/* One run of this plughost binary with argv, output discarded: a sample
 * of its wall time into out, or (a warm-up, out NULL) the layers its -v
 * names. Returns 0, or -1 with the line failed. */
static int run_cli_once(struct bench *b, struct line *l, char **argv, struct samples *out)
{
	char why[512];
	uint64_t ns;

	if (run_cmd("/proc/self/exe", argv, b->devnull, b->devnull, &ns, why, sizeof(why)) < 0) {
		line_fail(l, "plughost run: %s", why);
		return -1;
	}
	if (out)
		samples_add(out, (double)ns);
	else
		cli_layers(b, l);
	return 0;
}

static int oneshot_side(struct bench *b, struct line *l, void *ctx, struct samples *out)
{
	/* The warm-up runs with -v, which names the instance's layers. */
	char *argv[] = {"plughost", "run", b->plugin, "-m", "nop", out ? NULL : "-v", NULL};

	(void)ctx;
	for (size_t i = 0; i < b->cmd_batch; i++)
		if (run_cli_once(b, l, argv, out) < 0)
			return -1;
	return 0;
}

static int bwrap_side(struct bench *b, struct line *l, void *ctx, struct samples *out)
{
	char path[PATH_MAX], why[512];
	char *argv[] = {"bwrap", "--unshare-all", "--ro-bind", "/", "/", "true", NULL};

	(void)ctx;
	if (!find_in_path("bwrap", path, sizeof(path))) {
		baseline_unavailable(
		    l, "bwrap not found in PATH (Debian: apt-get install bubblewrap)");
		return 0;
	}
	for (size_t i = 0; i < b->cmd_batch; i++) {
		uint64_t ns;

		if (run_cmd(path, argv, b->devnull, b->devnull, &ns, why, sizeof(why)) < 0) {
			baseline_unavailable(l, "bwrap failed here: %s", why);
			return 0;
		}
		if (out)
			samples_add(out, (double)ns);
	}
	return 0;
}

static void run_oneshot(struct bench *b, struct line *l)
{
	interleave(b, l, NULL, oneshot_side, bwrap_side);
}

/* ------------------------------------------------------------ ring.output */

/*
 * The raw ring's header, on its own page of the memfd. Each index shares
 * a cache line with the flag its reader raises before it sleeps on it, so
 * that the writer, which owns that line, finds the flag for free.
 */
struct raw_ring_hdr {
	_Alignas(64) uint32_t head;  /* chunks produced */
	uint32_t head_waiter;	     /* the consumer sleeps on head */
	_Alignas(64) uint32_t tail;  /* chunks consumed */
	uint32_t tail_waiter;	     /* the producer sleeps on tail */
	_Alignas(64) uint32_t ready; /* the producer has touched every slot */
	uint32_t go, go_waiter;
};
#define RAW_HDR_BYTES 4096u
_Static_assert(sizeof(struct raw_ring_hdr) <= RAW_HDR_BYTES, "the header fits its page");
/* How long a raw ring side spins before it sleeps: the library's spin. */
#define RAW_SPIN_NS PH_WAIT_SPIN_NS

struct ring_ctx {
	struct ph_plugin *p;
	struct ph_blob *in;
	void *map;
	struct raw_ring_hdr *hdr;
	unsigned char *data, *src, *dst;
	uint32_t chunks;
};

static int ring_side(struct bench *b, struct line *l, void *vctx, struct samples *out)
{
	struct ring_ctx *c = vctx;
	struct sink s = {0}; /* counts, keeps nothing: the host discards */
	struct ph_result res;
	uint64_t t0 = now_ns(), t1;
	int r = ph_plugin_call(c->p, "produce", &c->in, 1, sink_out, &s, &res);

	t1 = now_ns();
	if (check_call(l, "produce", r, &res) < 0)
		return -1;
	if (s.len != b->ring_bytes) {
		line_fail(l, "produce: %llu bytes out, not %llu", (unsigned long long)s.len,
			  (unsigned long long)b->ring_bytes);
		return -1;
	}
	if (out)
		samples_add(out, (double)b->ring_bytes / (double)(t1 - t0));
	return 0;
}

static long futex(uint32_t *word, int op, uint32_t val)
{
	/* Not FUTEX_PRIVATE_FLAG: the word is shared between two processes. */
	return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

/*
 * Wait until *word > past: spin for RAW_SPIN_NS, then sleep on the futex
 * with *waiter raised. The raise and the check of the word are sequentially
 * consistent, as are the publisher's store and its look at the flag
 * (publish()): either the waiter sees the new value or the publisher sees
 * the flag, so no wakeup is lost, and the publisher makes a system call
 * only when someone sleeps. A plain spin would stall for a whole time slice
 * whenever both processes land on one CPU of this 2-CPU machine.
 */
static void wait_past(uint32_t *word, uint32_t past, uint32_t *waiter)
{
	uint64_t deadline = 0;

	for (unsigned int spins = 1;; spins++) {
		if (__atomic_load_n(word, __ATOMIC_ACQUIRE) > past)
			return;
		if (spins % 64 == 0) {
			uint64_t now = now_ns();

			if (!deadline)
				deadline = now + RAW_SPIN_NS;
			else if (now >= deadline)
				break;
		}
		cpu_relax();
	}
	for (;;) {
		uint32_t v;

		__atomic_store_n(waiter, 1, __ATOMIC_SEQ_CST);
		v = __atomic_load_n(word, __ATOMIC_SEQ_CST);
		if (v > past)
			break;
		futex(word, FUTEX_WAIT, v);
	}
	__atomic_store_n(waiter, 0, __ATOMIC_RELAXED);
}

static void publish(uint32_t *word, uint32_t v, uint32_t *waiter)
{
	__atomic_store_n(word, v, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(waiter, __ATOMIC_SEQ_CST))
		futex(word, FUTEX_WAKE, 1);
}

/* The raw ring's producer: copies its 64 KiB source into each free slot
 * and publishes it, waiting while the ring is full. */
static int ring_producer(void *arg)
{
	struct ring_ctx *c = arg;
	struct raw_ring_hdr *h = c->hdr;

	/* A fresh child faults the shared mapping in page by page; the
	 * plugin's ring was mapped long before its call. Touch it all first,
	 * outside the timing. */
	for (size_t off = 0; off < RING_BYTES; off += 4096)
		__atomic_store_n(&c->data[off], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&h->ready, 1, __ATOMIC_RELEASE);
	wait_past(&h->go, 0, &h->go_waiter);
	for (uint32_t n = 0; n < c->chunks; n++) {
		/* Full while tail <= n - RAW_SLOTS. */
		if (n >= RAW_SLOTS)
			wait_past(&h->tail, n - (uint32_t)RAW_SLOTS, &h->tail_waiter);
		memcpy(c->data + (n % RAW_SLOTS) * RING_CHUNK, c->src, RING_CHUNK);
		publish(&h->head, n + 1, &h->head_waiter);
	}
	return 0;
}

static int raw_ring_side(struct bench *b, struct line *l, void *vctx, struct samples *out)
{
	struct ring_ctx *c = vctx;
	struct raw_ring_hdr *h = c->hdr;
	uint64_t t0, t1;
	pid_t pid;
	int status;

	memset(h, 0, sizeof(*h));
	pid = fork_child(ring_producer, c);
	if (pid < 0) {
		line_fail(l, "baseline: fork: %s", strerror((int)-pid));
		return -1;
	}
	while (!__atomic_load_n(&h->ready, __ATOMIC_ACQUIRE))
		sched_yield();
	t0 = now_ns();
	publish(&h->go, 1, &h->go_waiter);
	for (uint32_t n = 0; n < c->chunks; n++) {
		wait_past(&h->head, n, &h->head_waiter);
		memcpy(c->dst, c->data + (n % RAW_SLOTS) * RING_CHUNK, RING_CHUNK);
		/* The copy is the consumer's work: keep the compiler from
		 * dropping it as dead. */
		__asm__ volatile("" : : "r"(c->dst) : "memory");
		publish(&h->tail, n + 1, &h->tail_waiter);
	}
	t1 = now_ns();
	status = reap(pid);
	if (status != 0) {
		char how[128];

		describe_status(status, how, sizeof(how));
		line_fail(l, "baseline: the ring producer ended with %s", how);
		return -1;
	}
	if (out)
		samples_add(out, (double)b->ring_bytes / (double)(t1 - t0));
	return 0;
}

static void run_ring(struct bench *b, struct line *l)
{
	struct ph_plugin_config cfg;
	struct ring_ctx c = {0};
	uint64_t arg[2] = {b->ring_bytes, RING_CHUNK};
	size_t map_len = RAW_HDR_BYTES + RING_BYTES;
	int fd, r;

	ph_plugin_config_init(&cfg);
	cfg.ring_size = RING_BYTES;
	c.chunks = (uint32_t)(b->ring_bytes / RING_CHUNK);
	r = ph_blob_new_from_bytes(arg, sizeof(arg), &c.in);
	if (r < 0) {
		line_fail(l, "ph_blob_new_from_bytes: %s", strerror(-r));
		return;
	}
	fd = memfd_create("plughost-bench-ring", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)map_len) < 0) {
		line_fail(l, "baseline: memfd: %s", strerror(errno));
		goto out;
	}
	c.map = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (c.map == MAP_FAILED) {
		c.map = NULL;
		line_fail(l, "baseline: mmap: %s", strerror(errno));
		goto out;
	}
	c.hdr = c.map;
	c.data = (unsigned char *)c.map + RAW_HDR_BYTES;
	c.src = malloc(RING_CHUNK);
	c.dst = malloc(RING_CHUNK);
	if (!c.src || !c.dst) {
		line_fail(l, "out of memory");
		goto out;
	}
	memset(c.src, 0x5a, RING_CHUNK);
	memset(c.dst, 0, RING_CHUNK);
	c.p = spawn_bench(b, l, &cfg);
	if (c.p)
		interleave(b, l, &c, ring_side, raw_ring_side);
out:
	ph_plugin_free(c.p);
	ph_blob_free(c.in);
	if (c.map)
		munmap(c.map, map_len);
	if (fd >= 0)
		close(fd);
	free(c.src);
	free(c.dst);
}

/* ------------------------------------------------------------ input.* */

static uint64_t xorshift(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

static void fill_random(unsigned char *buf, size_t len, uint64_t *state)
{
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t x = xorshift(state);

		memcpy(buf + i, &x, 8);
	}
	for (; i < len; i++)
		buf[i] = (unsigned char)xorshift(state);
}

static void free_input(struct bench *b)
{
	if (!b->have_input)
		return;
	munmap(b->in.src, b->in.size);
	ph_blob_free(b->in.blob);
	close(b->in.memfd);
	b->have_input = 0;
}

/*
 * The input.* lines' data, made once: input_bytes of pseudo-random bytes
 * in our memory, in a sealed blob, and in a sealed memfd of our own.
 * Returns 0, or -1 after line_fail().
 */
static int ensure_input(struct bench *b, struct line *l)
{
	struct input_data *in = &b->in;
	uint64_t state = UINT64_C(0x9e3779b97f4a7c15);
	void *data;
	int r;

	if (b->have_input)
		return 0;
	memset(in, 0, sizeof(*in));
	in->memfd = -1;
	in->size = (size_t)b->input_bytes;
	in->src = mmap(NULL, in->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (in->src == MAP_FAILED) {
		line_fail(l, "cannot map %zu bytes: %s", in->size, strerror(errno));
		return -1;
	}
	/* The baselines' children never touch it: keep fork() from copying
	 * its page tables, which would slow every fork of the bench. */
	madvise(in->src, in->size, MADV_DONTFORK);
	fill_random(in->src, in->size, &state);
	in->sum = bench_sum(in->src, in->size);

	r = ph_blob_new(in->size, &in->blob);
	if (r < 0 || !(data = ph_blob_data(in->blob))) {
		line_fail(l, "ph_blob_new(%zu): %s", in->size, strerror(r < 0 ? -r : EINVAL));
		goto fail;
	}
	memcpy(data, in->src, in->size);
	r = ph_blob_seal(in->blob);
	if (r < 0) {
		line_fail(l, "ph_blob_seal: %s", strerror(-r));
		goto fail;
	}

	in->memfd = memfd_create("plughost-bench-input", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	r = in->memfd < 0 ? -errno : write_full(in->memfd, in->src, in->size);
	if (r == 0 && fcntl(in->memfd, F_ADD_SEALS,
			    F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		r = -errno;
	if (r < 0) {
		line_fail(l, "baseline: sealed memfd: %s", strerror(-r));
		goto fail;
	}
	b->have_input = 1;
	return 0;
fail:
	munmap(in->src, in->size);
	ph_blob_free(in->blob);
	if (in->memfd >= 0)
		close(in->memfd);
	return -1;
}

struct input_ctx {
	struct ph_plugin *p;
	unsigned int passes;
	struct samples call_ns; /* input.mapped: the whole call, for the note */
};

/* Returns 0 when the call summed the blob right, else -1 after line_fail(). */
static int call_sum(struct bench *b, struct line *l, struct ph_plugin *p, const char *method,
		    uint64_t *v, size_t nv)
{
	struct sink s = {.buf = (unsigned char *)v, .cap = nv * sizeof(*v)};
	struct ph_result res;
	int r = ph_plugin_call(p, method, &b->in.blob, 1, sink_out, &s, &res);

	if (check_call(l, method, r, &res) < 0)
		return -1;
	if (s.len != nv * sizeof(*v) || v[0] != b->in.sum) {
		line_fail(l, "%s: wrong result (%llu bytes, sum %llx, want %llx)", method,
			  (unsigned long long)s.len, (unsigned long long)v[0],
			  (unsigned long long)b->in.sum);
		return -1;
	}
	return 0;
}

static int input_side(struct bench *b, struct line *l, void *vctx, struct samples *out)
{
	struct input_ctx *c = vctx;
	uint64_t t0 = now_ns(), v;

	for (unsigned int k = 0; k < c->passes; k++)
		if (call_sum(b, l, c->p, "sum", &v, 1) < 0)
			return -1;
	if (out)
		samples_add(out, (double)c->passes * (double)b->in.size / (double)(now_ns() - t0));
	return 0;
}

/* The child of the piping baseline: reads passes streams of size bytes
 * in PIPE_PIECE pieces, sums each, and answers each with its sum. */
struct sum_peer {
	int data[2], reply[2];
	size_t size;
	unsigned int passes;
};

static int sum_child(void *arg)
{
	struct sum_peer *s = arg;
	unsigned char *buf = malloc(PIPE_PIECE);

	close(s->data[1]);
	close(s->reply[0]);
	if (!buf)
		return 1;
	for (unsigned int pass = 0; pass < s->passes; pass++) {
		uint64_t sum = 0;

		for (size_t left = s->size; left > 0;) {
			size_t n = left < PIPE_PIECE ? left : PIPE_PIECE;

			if (read_full(s->data[0], buf, n) < 0)
				return 1;
			sum += bench_sum(buf, n);
			left -= n;
		}
		if (write_full(s->reply[1], &sum, sizeof(sum)) < 0)
			return 1;
	}
	return 0;
}

static int pipe_sum_side(struct bench *b, struct line *l, void *vctx, struct samples *out)
{
	struct input_ctx *c = vctx;
	struct sum_peer s = {.size = b->in.size, .passes = c->passes};
	uint64_t t0, t1, got = 0;
	int r = 0;
	pid_t pid;

	if ((r = pipe_high(s.data)) < 0) {
		line_fail(l, "baseline: pipe: %s", strerror(-r));
		return -1;
	}
	if ((r = pipe_high(s.reply)) < 0) {
		close(s.data[0]);
		close(s.data[1]);
		line_fail(l, "baseline: pipe: %s", strerror(-r));
		return -1;
	}
	pid = fork_child(sum_child, &s);
	close(s.data[0]);
	close(s.reply[1]);
	t0 = now_ns();
	for (unsigned int pass = 0; pid >= 0 && pass < c->passes && r == 0; pass++) {
		r = write_full(s.data[1], b->in.src, b->in.size);
		if (r == 0)
			r = read_full(s.reply[0], &got, sizeof(got));
		if (r == 0 && got != b->in.sum)
			r = -EBADMSG;
	}
	t1 = now_ns();
	close(s.data[1]);
	close(s.reply[0]);
	if (pid < 0 || r < 0) {
		if (pid >= 0)
			reap(pid);
		line_fail(l, "baseline: piping to the summing child: %s",
			  strerror(pid < 0 ? (int)-pid : -r));
		return -1;
	}
	reap(pid);
	if (out)
		samples_add(out, (double)c->passes * (double)b->in.size / (double)(t1 - t0));
	return 0;
}

static int mapped_side(struct bench *b, struct line *l, void *vctx, struct samples *out)
{
	struct input_ctx *c = vctx;
	uint64_t v[2], t0 = now_ns(), t1;

	if (call_sum(b, l, c->p, "sum_timed", v, 2) < 0)
		return -1;
	t1 = now_ns();
	if (out && v[1] > 0) {
		samples_add(out, (double)b->in.size / (double)v[1]);
		samples_add(&c->call_ns, (double)(t1 - t0));
	}
	return 0;
}

struct map_peer {
	int memfd, reply[2];
	size_t size;
};

/* The child of input.mapped's baseline: maps the sealed memfd afresh and
 * times one pass over it by its own clock, as the plugin does. */
static int map_child(void *arg)
{
	struct map_peer *m = arg;
	uint64_t v[2], t0;
	void *p;

	close(m->reply[0]);
	p = mmap(NULL, m->size, PROT_READ, MAP_SHARED, m->memfd, 0);
	if (p == MAP_FAILED)
		return 1;
	t0 = now_ns();
	v[0] = bench_sum(p, m->size);
	v[1] = now_ns() - t0;
	munmap(p, m->size);
	return write_full(m->reply[1], v, sizeof(v)) < 0;
}

static int map_side(struct bench *b, struct line *l, void *vctx, struct samples *out)
{
	struct map_peer m = {.memfd = b->in.memfd, .size = b->in.size};
	uint64_t v[2];
	pid_t pid;
	int r;

	(void)vctx;
	if (pipe_high(m.reply) < 0) {
		line_fail(l, "baseline: pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork_child(map_child, &m);
	close(m.reply[1]);
	r = pid < 0 ? (int)pid : read_full(m.reply[0], v, sizeof(v));
	close(m.reply[0]);
	if (pid >= 0)
		reap(pid);
	if (r < 0 || v[0] != b->in.sum) {
		line_fail(l, "baseline: the mapping child: %s", r < 0 ? strerror(-r) : "wrong sum");
		return -1;
	}
	if (out && v[1] > 0)
		samples_add(out, (double)b->in.size / (double)v[1]);
	return 0;
}

static void run_input(struct bench *b, struct line *l, unsigned int passes, side_fn figure,
		      side_fn base)
{
	struct input_ctx c = {.passes = passes};

	if (ensure_input(b, l) < 0)
		return;
	c.p = spawn_bench(b, l, NULL);
	if (!c.p)
		return;
	interleave(b, l, &c, figure, base);
	if (c.call_ns.n) {
		struct summary s = summarize(&c.call_ns);

		line_note(l, "the whole call (mapping, summing, the round trip): median %.2f ms",
			  s.median / 1e6);
		line_extra(l, "call_median_ns", s.median);
	}
	free(c.call_ns.v);
	ph_plugin_free(c.p);
}

static void run_input_many(struct bench *b, struct line *l)
{
	run_input(b, l, INPUT_PASSES, input_side, pipe_sum_side);
}

static void run_input_once(struct bench *b, struct line *l)
{
	run_input(b, l, 1, input_side, pipe_sum_side);
}

static void run_input_mapped(struct bench *b, struct line *l)
{
	run_input(b, l, 1, mapped_side, map_side);
}

/* ------------------------------------------------------------ e2e.* */

/* The file the command lines read: file_bytes pseudo-random bytes. */
static int ensure_file(struct bench *b, struct line *l)
{
	uint64_t state = UINT64_C(0x2545f4914f6cdd1d);
	unsigned char *buf;
	int fd, r = 0;

	if (b->have_file)
		return 0;
	buf = malloc(MIB);
	fd = open(tmp_path[TMP_DATA], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (!buf || fd < 0) {
		line_fail(l, "cannot create '%s': %s", tmp_path[TMP_DATA],
			  buf ? strerror(errno) : "out of memory");
		free(buf);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (uint64_t left = b->file_bytes; left > 0 && r == 0;) {
		size_t n = left < MIB ? (size_t)left : (size_t)MIB;

		fill_random(buf, n, &state);
		r = write_full(fd, buf, n);
		left -= n;
	}
	free(buf);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0) {
		line_fail(l, "cannot write '%s': %s", tmp_path[TMP_DATA], strerror(-r));
		return -1;
	}
	b->have_file = 1;
	return 0;
}

static int upper_side(struct bench *b, struct line *l, void *ctx, struct samples *out)
{
	char *argv[] = {"plughost", "run",     b->plugin,	   "-m",
			"upper",    "--input", tmp_path[TMP_DATA], out ? NULL : "-v",
			NULL};

	(void)ctx;
	return run_cli_once(b, l, argv, out);
}

static int tr_side(struct bench *b, struct line *l, void *ctx, struct samples *out)
{
	char *argv[] = {"tr", "a-z", "A-Z", NULL};
	char why[512];
	uint64_t ns;
	int fd = open(tmp_path[TMP_DATA], O_RDONLY | O_CLOEXEC), r;

	(void)ctx;
	if (fd < 0) {
		line_fail(l, "baseline: cannot open '%s': %s", tmp_path[TMP_DATA], strerror(errno));
		return -1;
	}
	r = run_cmd(NULL, argv, fd, b->devnull, &ns, why, sizeof(why));
	close(fd);
	if (r < 0) {
		baseline_unavailable(l, "tr: %s", why);
		return 0;
	}
	if (out)
		samples_add(out, (double)ns);
	return 0;
}

static void run_e2e_upper(struct bench *b, struct line *l)
{
	if (ensure_file(b, l) < 0)
		return;
	interleave(b, l, NULL, upper_side, tr_side);
	if (l->a.n)
		line_note(l, "plughost run: median %.0f MB/s of input",
			  (double)b->file_bytes / summarize(&l->a).median * 1e3);
}

struct cpu_ctx {
	struct ph_plugin *sandboxed, *plain;
	struct ph_blob *in;
	uint64_t iterations, expect;
};

/* One spin call on p: its result in *ret, its wall time in *ret_ns. */
static int spin_call(struct line *l, struct ph_plugin *p, struct ph_blob *in, uint64_t *ret,
		     uint64_t *ret_ns)
{
	struct sink s = {.buf = (unsigned char *)ret, .cap = sizeof(*ret)};
	struct ph_result res;
	uint64_t t0 = now_ns();
	int r = ph_plugin_call(p, "spin", &in, 1, sink_out, &s, &res);

	*ret_ns = now_ns() - t0;
	if (check_call(l, "spin", r, &res) < 0)
		return -1;
	if (s.len != sizeof(*ret)) {
		line_fail(l, "spin: %llu bytes out, not 8", (unsigned long long)s.len);
		return -1;
	}
	return 0;
}

static int cpu_run(struct bench *b, struct line *l, struct cpu_ctx *c, struct ph_plugin *p,
		   struct samples *out)
{
	for (size_t i = 0; i < b->cpu_batch; i++) {
		uint64_t x, ns;

		if (spin_call(l, p, c->in, &x, &ns) < 0)
			return -1;
		if (x != c->expect) {
			line_fail(l, "spin: the sandboxed and unsandboxed results differ");
			return -1;
		}
		if (out)
			samples_add(out, (double)ns);
	}
	return 0;
}

static int cpu_side(struct bench *b, struct line *l, void *vctx, struct samples *out)
{
	struct cpu_ctx *c = vctx;

	return cpu_run(b, l, c, c->sandboxed, out);
}

static int cpu_plain_side(struct bench *b, struct line *l, void *vctx, struct samples *out)
{
	struct cpu_ctx *c = vctx;

	return cpu_run(b, l, c, c->plain, out);
}

/* Make c->in hold an iteration count that takes about cpu_ms unsandboxed. */
static int calibrate_spin(struct bench *b, struct line *l, struct cpu_ctx *c)
{
	uint64_t iterations = UINT64_C(1) << 22, x, ns = 0;
	int r;

	for (int round = 0; round < 3; round++) {
		ph_blob_free(c->in);
		c->in = NULL;
		r = ph_blob_new_from_bytes(&iterations, sizeof(iterations), &c->in);
		if (r < 0) {
			line_fail(l, "ph_blob_new_from_bytes: %s", strerror(-r));
			return -1;
		}
		if (round == 2)
			break;
		/* The faster of two calls: a call the VM preempted would
		 * calibrate too few iterations. */
		for (int k = 0; k < 2; k++) {
			uint64_t t;

			if (spin_call(l, c->plain, c->in, &x, &t) < 0)
				return -1;
			ns = k == 0 || t < ns ? t : ns;
		}
		iterations = (uint64_t)((double)iterations * (double)b->cpu_ms * 1e6 /
					(double)(ns ? ns : 1));
		if (iterations == 0)
			iterations = 1;
	}
	c->iterations = iterations;
	return spin_call(l, c->plain, c->in, &c->expect, &ns);
}

static void run_e2e_cpu(struct bench *b, struct line *l)
{
	struct ph_plugin_config cfg;
	struct cpu_ctx c = {0};

	ph_plugin_config_init(&cfg);
	cfg.unsandboxed = 1;
	c.plain = spawn_bench(b, l, &cfg);
	if (c.plain)
		c.sandboxed = spawn_bench(b, l, NULL);
	if (c.sandboxed && calibrate_spin(b, l, &c) == 0) {
		line_note(l, "%llu iterations of bench_spin() per call",
			  (unsigned long long)c.iterations);
		line_extra(l, "iterations", (double)c.iterations);
		interleave(b, l, &c, cpu_side, cpu_plain_side);
	}
	ph_blob_free(c.in);
	ph_plugin_free(c.sandboxed);
	ph_plugin_free(c.plain);
}

/* ------------------------------------------------------------ input.stream */

static int stream_side(struct bench *b, struct line *l, void *ctx, struct samples *out)
{
	char *cat_argv[] = {"cat", tmp_path[TMP_DATA], NULL};
	char *run_argv[] = {"plughost", "run", b->plugin,	  "-m", "sha256",
			    "--input",	"-",   out ? NULL : "-v", NULL};
	char line[400], how[128];
	int fds[2], err, dst, st_run, st_cat, r;
	pid_t cat, run;
	uint64_t t0;

	(void)ctx;
	if ((r = pipe_high(fds)) < 0) {
		line_fail(l, "pipe: %s", strerror(-r));
		return -1;
	}
	err = open_err();
	dst = open(tmp_path[TMP_OUT_A], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	t0 = now_ns();
	cat = start_cmd(NULL, cat_argv, b->devnull, fds[1], err, -1);
	run = start_cmd("/proc/self/exe", run_argv, fds[0], dst, err, -1);
	close(fds[0]);
	close(fds[1]);
	st_run = run >= 0 ? reap(run) : run;
	st_cat = cat >= 0 ? reap(cat) : cat;
	if (out)
		samples_add(out, (double)(now_ns() - t0));
	if (err >= 0)
		close(err);
	if (dst >= 0)
		close(dst);
	if (err < 0 || dst < 0) {
		line_fail(l, "cannot create the output files in '%s'", tmp_dir);
		return -1;
	}
	if (st_run != 0) {
		first_err_line(line, sizeof(line));
		if (run < 0)
			msg(how, sizeof(how), "cannot start plughost: %s", strerror((int)-run));
		else
			describe_status(st_run, how, sizeof(how));
		/* Not there yet (an older plughost, or no stdin input) is
		 * not a failure of this build: say so and go on. */
		if (!out)
			line_unavailable(l, "%s", line[0] ? line : how);
		else
			line_fail(l, "plughost run --input -: %s", line[0] ? line : how);
		return -1;
	}
	if (st_cat != 0) {
		describe_status(st_cat, how, sizeof(how));
		line_fail(l, "cat: %s", how);
		return -1;
	}
	if (!out)
		cli_layers(b, l);
	return 0;
}

static int sha256sum_side(struct bench *b, struct line *l, void *ctx, struct samples *out)
{
	char *argv[] = {"sha256sum", NULL};
	char why[512], ours[256], theirs[256];
	uint64_t ns;
	int in = open(tmp_path[TMP_DATA], O_RDONLY | O_CLOEXEC), dst, r;

	(void)ctx;
	dst = open(tmp_path[TMP_OUT_B], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (in < 0 || dst < 0) {
		line_fail(l, "baseline: cannot open the files in '%s'", tmp_dir);
		if (in >= 0)
			close(in);
		if (dst >= 0)
			close(dst);
		return -1;
	}
	r = run_cmd(NULL, argv, in, dst, &ns, why, sizeof(why));
	close(in);
	close(dst);
	if (r < 0) {
		baseline_unavailable(l, "sha256sum: %s", why);
		return 0;
	}
	if (!out) {
		/* Once, after both warm-ups: the plugin hashed what it was sent. */
		read_small(tmp_path[TMP_OUT_A], ours, sizeof(ours));
		read_small(tmp_path[TMP_OUT_B], theirs, sizeof(theirs));
		if (strcmp(ours, theirs) != 0) {
			ours[strcspn(ours, "\n")] = '\0';
			theirs[strcspn(theirs, "\n")] = '\0';
			line_fail(l, "the digests differ: plughost '%s', sha256sum '%s'", ours,
				  theirs);
			return -1;
		}
		line_note(l, "digests agree with sha256sum");
	}
	if (out)
		samples_add(out, (double)ns);
	return 0;
}

static void run_stream(struct bench *b, struct line *l)
{
	if (ensure_file(b, l) < 0)
		return;
	interleave(b, l, NULL, stream_side, sha256sum_side);
}

/* ------------------------------------------------------------ the lines */

static const struct line_def line_defs[] = {
    {"call.blocking", KIND_LATENCY, "ns",
     "empty call round trip on a persistent sandboxed instance (ph_plugin_call, "
     "PH_WAIT_DEFAULT)",
     "pipe round trip between two processes, 1 byte each way", run_call_blocking},
    {"call.eventloop", KIND_LATENCY, "ns",
     "empty call through ph_plugin_submit + poll(ph_plugin_fd) + ph_plugin_process",
     "pipe round trip between two processes, 1 byte each way", run_call_eventloop},
    {"call.spin", KIND_LATENCY, "ns", "empty call with PH_WAIT_SPIN",
     "spin round trip on a shared cache line between two processes, each on a CPU of its own",
     run_call_spin},
    {"call.small", KIND_THROUGHPUT, "calls/s",
     "calls per second, 64 bytes in (a fresh ph_blob_new_from_bytes) and 64 bytes out "
     "(echo64)",
     "request/response loop of 64-byte messages on a pipe pair to a child", run_call_small},
    {"spawn.warm", KIND_LATENCY, "ns", "zygote spawn (cfg.zygote = 1) until ready + free",
     "fork() + _exit(0) + waitpid()", run_spawn_warm},
    {"spawn.cold", KIND_LATENCY, "ns", "full-sandbox spawn (cfg.zygote = 0) until ready + free",
     "exec of the static helper: namespaces, no_new_privs, seccomp, one byte back", run_spawn_cold},
    {"run.oneshot", KIND_LATENCY, "ns",
     "the whole command 'plughost run BENCH -m nop' (posix_spawn of this binary, stdout to "
     "/dev/null)",
     "bwrap --unshare-all --ro-bind / / true", run_oneshot},
    {"ring.output", KIND_THROUGHPUT, "GB/s",
     "output through the ring: produce writes 64 KiB chunks with ph_write, the host discards "
     "(4 MiB ring)",
     "raw two-process SPSC ring (memfd, 4 MiB, 64 KiB chunks, copy in and out, spinning)",
     run_ring},
    {"input.many", KIND_THROUGHPUT, "GB/s",
     "a sealed blob summed by 4 calls (sum), input bytes per second",
     "the same bytes piped 4 times to a child that sums them", run_input_many},
    {"input.once", KIND_THROUGHPUT, "GB/s", "a sealed blob summed by one call (sum)",
     "the same bytes piped once to a child that sums them", run_input_once},
    {"input.mapped", KIND_THROUGHPUT, "GB/s",
     "the plugin's own time to sum its mapped input (sum_timed, CLOCK_MONOTONIC in the plugin)",
     "a child's first pass over a fresh mapping of a sealed memfd, by its own clock",
     run_input_mapped},
    {"e2e.upper", KIND_LATENCY, "ns",
     "plughost run BENCH -m upper --input F > /dev/null (the loop of samples/upper.c)",
     "tr a-z A-Z < F > /dev/null", run_e2e_upper},
    {"e2e.cpu", KIND_LATENCY, "ns", "a CPU-bound call (bench_spin) in the full sandbox",
     "the same call on the same plugin with cfg.unsandboxed = 1", run_e2e_cpu},
    {"input.stream", KIND_LATENCY, "ns", "cat F | plughost run BENCH -m sha256 --input -",
     "sha256sum < F", run_stream},
};

#define N_LINES ARRAY_SIZE(line_defs)

/* ------------------------------------------------------------ output */

struct scale {
	double div;
	const char *name;
};

/* The unit to show v in: ns, us, ms or s for times, k for large rates. */
static struct scale pick_scale(const char *unit, double v)
{
	if (!strcmp(unit, "ns")) {
		if (v < 999.5)
			return (struct scale){1, "ns"};
		if (v < 999.5e3)
			return (struct scale){1e3, "us"};
		if (v < 999.5e6)
			return (struct scale){1e6, "ms"};
		return (struct scale){1e9, "s"};
	}
	if (!strcmp(unit, "calls/s") && v >= 999.5)
		return (struct scale){1e3, "k calls/s"};
	return (struct scale){1, unit};
}

/* Three significant digits or so, in scale s. */
static void fmt_scaled(char *buf, size_t len, double v, struct scale s)
{
	double x = v / s.div;
	int dec = x < 9.995 ? 2 : x < 99.95 ? 1 : 0;

	snprintf(buf, len, "%.*f", dec, x);
}

static void fmt_value(char *buf, size_t len, const char *unit, double v)
{
	struct scale s = pick_scale(unit, v);
	char num[32];

	fmt_scaled(num, sizeof(num), v, s);
	snprintf(buf, len, "%s %s", num, s.name);
}

static int line_counts(const struct line *l)
{
	return l->status == LINE_OK && !l->missing_layers;
}

static double line_ratio(const struct line *l)
{
	struct summary a = summarize(&l->a), b = summarize(&l->b);

	if (!a.n || !b.n || b.median <= 0)
		return NAN;
	return a.median / b.median;
}

static void print_side(const char *label, const struct line *l, const struct samples *s)
{
	struct summary sum = summarize(s);
	struct scale sc = pick_scale(l->def->unit, sum.median);
	char med[32], q1[32], q3[32], p99[32];

	fmt_scaled(med, sizeof(med), sum.median, sc);
	fmt_scaled(q1, sizeof(q1), sum.q1, sc);
	fmt_scaled(q3, sizeof(q3), sum.q3, sc);
	printf("  %-9s median %s %s  IQR %s-%s %s", label, med, sc.name, q1, q3, sc.name);
	if (l->def->kind == KIND_LATENCY) {
		fmt_value(p99, sizeof(p99), l->def->unit, sum.p99);
		printf("  p99 %s", p99);
	}
	printf("  (n=%zu)\n", sum.n);
}

static void print_line(const struct bench *b, const struct line *l)
{
	char names[256];
	double ratio;

	printf("\n%s: %s\n", l->def->name, l->figure);
	if (l->status == LINE_UNAVAILABLE) {
		printf("  unavailable: %s\n", l->why);
		return;
	}
	printf("  baseline: %s\n", l->baseline);
	if (l->status == LINE_FAILED)
		printf("  FAILED: %s\n", l->why);
	if (l->a.n)
		print_side("figure", l, &l->a);
	if (l->baseline_missing)
		printf("  baseline unavailable: %s\n", l->baseline_why);
	else if (l->b.n)
		print_side("baseline", l, &l->b);
	ratio = line_ratio(l);
	if (!isnan(ratio))
		printf("  ratio     %.2f (figure / baseline; %s)\n", ratio,
		       l->def->kind == KIND_LATENCY ? "above 1: slower than the baseline"
						    : "below 1: slower than the baseline");
	for (size_t i = 0; i < l->n_notes; i++)
		printf("  %s\n", l->notes[i]);
	if (l->missing_layers) {
		layer_names(l->missing_layers, names, sizeof(names));
		printf("  warning: an instance lacked layers plughost info reports available (%s): "
		       "this figure does not count\n",
		       names);
	} else if (l->has_layers && b->avail) {
		printf("  sandbox: every layer plughost info reports available\n");
	}
	fflush(stdout);
}

static void print_summary(const struct line *lines, size_t n)
{
	printf("\nSummary (medians; ratio = figure / baseline; latencies: lower is better, "
	       "throughputs: higher):\n");
	printf("  %-15s %-16s %-16s %-8s %s\n", "line", "figure", "baseline", "ratio", "note");
	for (size_t i = 0; i < n; i++) {
		const struct line *l = &lines[i];
		char fig[48] = "-", base[48] = "-", ratio[48] = "-";
		double r = line_ratio(l);

		if (l->status == LINE_UNAVAILABLE) {
			printf("  %-15s unavailable: %s\n", l->def->name, l->why);
			continue;
		}
		if (l->a.n)
			fmt_value(fig, sizeof(fig), l->def->unit, summarize(&l->a).median);
		if (l->b.n)
			fmt_value(base, sizeof(base), l->def->unit, summarize(&l->b).median);
		else if (l->baseline_missing)
			snprintf(base, sizeof(base), "unavailable");
		if (!isnan(r))
			snprintf(ratio, sizeof(ratio), "%.2f", r);
		printf("  %-15s %-16s %-16s %-8s %s\n", l->def->name, fig, base, ratio,
		       l->status == LINE_FAILED ? "FAILED"
		       : l->missing_layers	? "missing layers: does not count"
						: l->brief);
	}
}

/* A JSON string: quotes, backslashes and control bytes escaped. */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.6g", v);
	else
		fputs("null", f);
}

static void json_layers(FILE *f, uint32_t layers)
{
	int first = 1;

	fputc('[', f);
	for (uint32_t bit = 1; bit; bit <<= 1) {
		if (!(layers & bit) || !ph_layer_name(bit))
			continue;
		if (!first)
			fputc(',', f);
		json_str(f, ph_layer_name(bit));
		first = 0;
	}
	fputc(']', f);
}

static void json_side(FILE *f, const struct line *l, const char *what, const struct samples *s)
{
	struct summary sum = summarize(s);

	fprintf(f, "{\"what\":");
	json_str(f, what);
	fprintf(f, ",\"n\":%zu,\"median\":", sum.n);
	json_num(f, sum.median);
	fprintf(f, ",\"mean\":");
	json_num(f, sum.mean);
	fprintf(f, ",\"q1\":");
	json_num(f, sum.q1);
	fprintf(f, ",\"q3\":");
	json_num(f, sum.q3);
	fprintf(f, ",\"iqr\":");
	json_num(f, sum.q3 - sum.q1);
	if (l->def->kind == KIND_LATENCY) {
		fprintf(f, ",\"p99\":");
		json_num(f, sum.p99);
	}
	fputc('}', f);
}

static void print_json(const struct bench *b, const struct line *lines, size_t n)
{
	static const char *const status_names[] = {"ok", "unavailable", "failed"};
	struct utsname u;
	FILE *f = stdout;

	fprintf(f, "{\"plughost\":");
	json_str(f, PH_VERSION);
	fprintf(f, ",\"libplughost\":");
	json_str(f, ph_version());
	fprintf(f, ",\"kernel\":");
	json_str(f, uname(&u) == 0 ? u.release : "");
	fprintf(f, ",\"cpus\":%ld,\"mode\":\"%s\",\"reps\":%u,", sysconf(_SC_NPROCESSORS_ONLN),
		b->quick ? "quick" : "full", b->reps);
	fprintf(f, "\"layers_available\":");
	json_layers(f, b->avail);
	fprintf(f, ",\"layers_required\":");
	json_layers(f, b->require);
	fprintf(f, ",\"lines\":[");
	for (size_t i = 0; i < n; i++) {
		const struct line *l = &lines[i];

		fprintf(f, "%s\n{\"name\":", i ? "," : "");
		json_str(f, l->def->name);
		fprintf(f, ",\"kind\":\"%s\",\"unit\":",
			l->def->kind == KIND_LATENCY ? "latency" : "throughput");
		json_str(f, l->def->unit);
		fprintf(f, ",\"status\":\"%s\",\"reason\":", status_names[l->status]);
		if (l->status == LINE_OK)
			fputs("null", f);
		else
			json_str(f, l->why);
		fprintf(f, ",\"counts\":%s,\"figure\":", line_counts(l) ? "true" : "false");
		if (l->a.n)
			json_side(f, l, l->figure, &l->a);
		else
			fputs("null", f);
		fprintf(f, ",\"baseline\":");
		if (l->b.n)
			json_side(f, l, l->baseline, &l->b);
		else
			fputs("null", f);
		if (l->baseline_missing) {
			fprintf(f, ",\"baseline_unavailable\":");
			json_str(f, l->baseline_why);
		}
		fprintf(f, ",\"ratio\":");
		json_num(f, line_ratio(l));
		if (l->has_layers) {
			fprintf(f, ",\"layers\":");
			json_layers(f, l->layers);
		}
		fprintf(f, ",\"missing_layers\":");
		json_layers(f, l->missing_layers);
		fprintf(f, ",\"notes\":[");
		for (size_t k = 0; k < l->n_notes; k++) {
			if (k)
				fputc(',', f);
			json_str(f, l->notes[k]);
		}
		fprintf(f, "],\"extra\":{");
		for (size_t k = 0; k < l->n_extra; k++) {
			if (k)
				fputc(',', f);
			json_str(f, l->extra[k].key);
			fputc(':', f);
			json_num(f, l->extra[k].value);
		}
		fprintf(f, "},\"seconds\":");
		json_num(f, l->seconds);
		fputc('}', f);
	}
	fprintf(f, "\n]}\n");
	fflush(f);
}

/* ------------------------------------------------------------ setup */

static int bench_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bench_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "plughost: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'plughost bench --help')\n");
	return BENCH_EXIT_USAGE;
}

/*
 * Find a file of ours: $env when set (ignored in setuid programs, like
 * PLUGHOST_RUNNER), else beside this binary (a build tree keeps the CLI,
 * the runner, the helper and the bench plugin in one directory), else
 * where it is installed. Returns 0 with the path in buf, or -ENOENT with
 * what was tried in tried.
 */
static int find_ours(const char *env, const char *name, const char *installed, char *buf,
		     size_t len, char *tried, size_t tried_len)
{
	const char *e = secure_getenv(env);
	char exe[PATH_MAX], *slash;
	ssize_t n;

	if (e && *e) {
		snprintf(buf, len, "%s", e);
		snprintf(tried, tried_len, "$%s ('%s')", env, e);
		return access(buf, R_OK) == 0 ? 0 : -ENOENT;
	}
	tried[0] = '\0';
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			if (snprintf(buf, len, "%s/%s", exe, name) < (int)len &&
			    access(buf, R_OK) == 0)
				return 0;
			snprintf(tried, tried_len, "%s, ", buf);
		}
	}
	snprintf(buf, len, "%s", installed);
	if (access(buf, R_OK) == 0)
		return 0;
	n = (ssize_t)strlen(tried);
	snprintf(tried + n, tried_len - (size_t)n, "%s (set %s)", installed, env);
	return -ENOENT;
}

static int make_tmp(void)
{
	static const char *const names[TMP_COUNT] = {[TMP_DATA] = "input",
						     [TMP_ERR] = "stderr",
						     [TMP_OUT_A] = "out-a",
						     [TMP_OUT_B] = "out-b"};
	const char *base = getenv("TMPDIR");
	struct sigaction sa = {.sa_handler = on_signal};

	if (!base || !*base)
		base = "/tmp";
	snprintf(tmp_dir, sizeof(tmp_dir), "%s/plughost-bench.XXXXXX", base);
	if (!mkdtemp(tmp_dir)) {
		int r = -errno;

		tmp_dir[0] = '\0';
		return r;
	}
	for (size_t i = 0; i < TMP_COUNT; i++)
		if (snprintf(tmp_path[i], sizeof(tmp_path[i]), "%s/%s", tmp_dir, names[i]) >=
		    (int)sizeof(tmp_path[i]))
			return -ENAMETOOLONG;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(cleanup_signals); i++)
		sigaction(cleanup_signals[i], &sa, NULL);
	return 0;
}

/* Whether line name is selected by the --only list (NULL: all). */
static int selected(const char *only, const char *name)
{
	const char *p = only;

	if (!only)
		return 1;
	while (*p) {
		size_t n = strcspn(p, ",");

		if (strlen(name) == n && !strncmp(name, p, n))
			return 1;
		/* A group: "call" for call.*. */
		if (!memchr(p, '.', n) && !strncmp(name, p, n) && name[n] == '.')
			return 1;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* The first name in the --only list that selects no line, or NULL. */
static const char *unknown_name(const char *only, char *buf, size_t len)
{
	const char *p = only;

	while (*p) {
		size_t n = strcspn(p, ",");
		int found = 0;

		snprintf(buf, len, "%.*s", (int)n, p);
		for (size_t i = 0; i < N_LINES && n; i++)
			found |= selected(buf, line_defs[i].name);
		if (!found)
			return buf;
		p += n;
		if (*p == ',')
			p++;
	}
	return NULL;
}

static void set_sizes(struct bench *b)
{
	if (b->quick) {
		b->reps = b->reps ? b->reps : 5;
		b->call_batch = 100;
		b->small_batch = 200;
		b->spawn_batch = 2;
		b->cmd_batch = 1;
		b->cpu_batch = 1;
		b->ring_bytes = 64 * MIB;
		b->input_bytes = 16 * MIB;
		b->file_bytes = 8 * MIB;
		b->cpu_ms = 10;
	} else {
		b->reps = b->reps ? b->reps : 20;
		b->call_batch = 1000;
		b->small_batch = 1000;
		b->spawn_batch = 5;
		b->cmd_batch = 2;
		b->cpu_batch = 2;
		b->ring_bytes = 1 * GIB;
		b->input_bytes = 256 * MIB;
		b->file_bytes = 100 * MIB;
		b->cpu_ms = 50;
	}
}

/*
 * The layers every sandboxed spawn of the bench requires: those a default
 * instance gets. Returns 0, or -1 after saying on stderr why the bench
 * plugin cannot be started.
 */
static int probe_instance(struct bench *b)
{
	struct ph_plugin *p;
	struct ph_result res;
	char text[512], names[256];
	int r = ph_plugin_spawn(b->host, b->plugin, NULL, &p, &res);

	if (r < 0) {
		ph_result_describe(&res, text, sizeof(text));
		fprintf(stderr, "plughost: cannot start the bench plugin '%s': %s\n", b->plugin,
			text);
		return -1;
	}
	b->require = ph_plugin_layers(p);
	ph_plugin_free(p);
	if (b->avail & ~b->require) {
		layer_names(b->avail & ~b->require, names, sizeof(names));
		fprintf(stderr,
			"plughost: bench: warning: a default instance lacks layers plughost info "
			"reports available (%s): no sandboxed figure will count\n",
			names);
	}
	return 0;
}

static void print_header(const struct bench *b)
{
	struct utsname u;
	char names[256];

	printf("plughost bench %s (libplughost %s), %s mode: %u repetitions of each side, "
	       "interleaved figure/baseline\n",
	       PH_VERSION, ph_version(), b->quick ? "quick" : "full", b->reps);
	if (uname(&u) == 0)
		printf("kernel %s %s, %ld CPUs\n", u.release, u.machine,
		       sysconf(_SC_NPROCESSORS_ONLN));
	layer_names(b->avail, names, sizeof(names));
	printf("sandbox layers plughost info reports available: %s\n", names);
	layer_names(b->require, names, sizeof(names));
	printf("every sandboxed spawn requires: %s\n", names);
	printf("plugin %s\n", b->plugin);
	printf("each side: median and IQR (25th-75th percentile), p99 for latencies; ratio = "
	       "figure median / baseline median\n");
	fflush(stdout);
}

int ph_cli_bench(int argc, char **argv)
{
	enum { OPT_QUICK = 0x100, OPT_JSON, OPT_ONLY, OPT_REPS };
	static const struct option opts[] = {
	    {"quick", no_argument, NULL, OPT_QUICK},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"only", required_argument, NULL, OPT_ONLY},
	    {"reps", required_argument, NULL, OPT_REPS},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct bench b = {.devnull = -1};
	struct ph_host_config hcfg;
	struct line *lines = NULL;
	const char *only = NULL;
	char tried[2 * PATH_MAX + 64], name[64];
	size_t n_lines = 0;
	int c, r, code = BENCH_EXIT_OK;
	uint64_t start;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_QUICK:
			b.quick = 1;
			break;
		case OPT_JSON:
			b.json = 1;
			break;
		case OPT_ONLY:
			if (!*optarg)
				return bench_usage_error("%s", "--only needs line names");
			only = optarg;
			break;
		case OPT_REPS: {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] < '0' || optarg[0] > '9' ||
			    v < 1 || v > 1000)
				return bench_usage_error(
				    "invalid --reps '%s': expected a whole number from 1 to 1000",
				    optarg);
			b.reps = (unsigned int)v;
			break;
		}
		case 'h':
			fputs(bench_usage_text, stdout);
			return BENCH_EXIT_OK;
		default:
			if (optopt == 0)
				return bench_usage_error("unknown option '%s' for 'bench'",
							 argv[optind - 1]);
			if (optopt == OPT_ONLY || optopt == OPT_REPS)
				return bench_usage_error("option '%s' needs a value",
							 argv[optind - 1]);
			if (optopt == OPT_QUICK || optopt == OPT_JSON)
				return bench_usage_error("option '%s' takes no value",
							 argv[optind - 1]);
			return bench_usage_error("unknown option '-%c' for 'bench'", optopt);
		}
	}
	if (optind < argc)
		return bench_usage_error("unexpected argument '%s' for 'bench'", argv[optind]);
	if (only && unknown_name(only, name, sizeof(name)))
		return bench_usage_error("unknown bench line '%s'",
					 unknown_name(only, name, sizeof(name)));
	set_sizes(&b);

	if (find_ours("PLUGHOST_BENCH_PLUGIN", "plughost-bench.so", PH_BENCH_PLUGIN_INSTALLED,
		      b.plugin, sizeof(b.plugin), tried, sizeof(tried)) < 0) {
		fprintf(stderr, "plughost: cannot find the bench plugin: tried %s\n", tried);
		return BENCH_EXIT_SETUP;
	}
	if (find_ours("PLUGHOST_BENCH_HELPER", "plughost-bench-helper", PH_BENCH_HELPER_INSTALLED,
		      b.helper, sizeof(b.helper), tried, sizeof(tried)) < 0) {
		msg(b.helper_why, sizeof(b.helper_why),
		    "the static helper plughost-bench-helper is missing: tried %s", tried);
		b.helper[0] = '\0';
	}

	ph_host_config_init(&hcfg);
	hcfg.log_fn = bench_log;
	r = ph_host_new(&hcfg, &b.host);
	if (r < 0) {
		fprintf(stderr,
			"plughost: cannot find plughost-runner (%s): set PLUGHOST_RUNNER or "
			"reinstall plughost\n",
			strerror(-r));
		return BENCH_EXIT_SETUP;
	}
	r = probe_layers(&b.avail);
	if (r < 0)
		fprintf(stderr,
			"plughost: bench: warning: cannot read the layers plughost info reports "
			"(%s)\n",
			strerror(-r));
	if (probe_instance(&b) < 0) {
		ph_host_free(b.host);
		return BENCH_EXIT_SETUP;
	}
	b.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	r = b.devnull < 0 ? -errno : make_tmp();
	lines = calloc(N_LINES, sizeof(*lines));
	if (r < 0 || !lines) {
		fprintf(stderr, "plughost: bench: cannot set up: %s\n",
			strerror(r < 0 ? -r : ENOMEM));
		code = BENCH_EXIT_INTERNAL;
		goto out;
	}

	if (!b.json)
		print_header(&b);
	for (size_t i = 0; i < N_LINES; i++)
		b.line_count += selected(only, line_defs[i].name);
	start = now_ns();
	for (size_t i = 0; i < N_LINES; i++) {
		struct line *l = &lines[n_lines];
		uint64_t t0 = now_ns();

		if (!selected(only, line_defs[i].name))
			continue;
		n_lines++;
		l->def = &line_defs[i];
		snprintf(l->figure, sizeof(l->figure), "%s", l->def->figure);
		snprintf(l->baseline, sizeof(l->baseline), "%s", l->def->baseline);
		fprintf(stderr, "plughost bench: [%zu/%zu] %s\n", ++b.line_index, b.line_count,
			l->def->name);
		l->def->run(&b, l);
		l->seconds = (double)(now_ns() - t0) / 1e9;
		if (l->status == LINE_FAILED) {
			fprintf(stderr, "plughost bench: %s failed: %s\n", l->def->name, l->why);
			code = BENCH_EXIT_FAILED;
		}
		if (!b.json)
			print_line(&b, l);
	}
	free_input(&b);
	fprintf(stderr, "plughost bench: done in %.1f s\n", (double)(now_ns() - start) / 1e9);
	if (b.json) {
		print_json(&b, lines, n_lines);
	} else {
		print_summary(lines, n_lines);
		fflush(stdout);
	}

out:
	for (size_t i = 0; lines && i < n_lines; i++) {
		free(lines[i].a.v);
		free(lines[i].b.v);
	}
	free(lines);
	free_input(&b);
	if (b.devnull >= 0)
		close(b.devnull);
	ph_host_free(b.host);
	remove_tmp();
	return code;
}
