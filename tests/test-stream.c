/* SPDX-License-Identifier: MIT */
/*
 * Stream inputs end to end: real plugins in real sandboxes, fed from
 * pipes, sockets, files, ttys and /dev/zero through the input ring
 * (ph_blob_new_stream()). Each test checks the exact result and that the
 * host is left as it was; the big one, that the host's memory does not
 * grow with the stream.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <plughost/host.h>

#include "testhost.h"

#define MIB	     (1024u * 1024u)
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  -\n"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct ph_plugin *spawn_cfg(const char *name, const struct ph_plugin_config *cfg)
{
	return tu_spawn_ok(name, cfg);
}

static struct ph_plugin *spawn(const char *name)
{
	return tu_spawn_ok(name, NULL);
}

static struct ph_blob *stream_of(int fd)
{
	struct ph_blob *b = NULL;

	assert_int_equal(ph_blob_new_stream(fd, &b), 0);
	assert_non_null(b);
	return b;
}

static struct ph_stream_status status_of(const struct ph_blob *b)
{
	struct ph_stream_status st;

	assert_int_equal(ph_blob_stream_status(b, &st), 0);
	return st;
}

static void describe_fail(const struct ph_result *res, const char *what)
{
	char line[512];

	ph_result_describe(res, line, sizeof(line));
	fail_msg("%s: %s", what, line);
}

/* Call method with inputs and collect its output; the result must be ok. */
static char *call_ok(struct ph_plugin *p, const char *method, struct ph_blob **in, size_t n)
{
	struct ph_result res;
	void *out = NULL;
	size_t len = 0;

	assert_int_equal(ph_plugin_call_collect(p, method, in, n, &out, &len, &res), 0);
	if (res.kind != PH_RESULT_OK)
		describe_fail(&res, method);
	assert_int_equal(res.output_bytes, len);
	return out;
}

/* ------------------------------------------------------------ writers */

/* The test's bytes: a position-dependent pseudo-random stream. */
static void fill(uint8_t *buf, size_t len, uint64_t *state)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = tu_rng_next(state);

		memcpy(buf + i, &v, len - i < 8 ? len - i : 8);
	}
}

/* A thread writing total bytes (UINT64_MAX: until the reader goes) into
 * fd, then, unless keep_open, closing it; tee (>= 0) gets a copy. */
struct writer {
	pthread_t thread;
	int fd, tee;
	uint64_t total, written, sum;
	int keep_open;
	int release; /* atomic: keep_open's wait is over */
	int err;     /* errno of the write that ended it (EPIPE: the reader went) */
};

static void write_all(int fd, const uint8_t *p, size_t len, int *err)
{
	while (len > 0 && !*err) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*err = errno;
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

/* How the writer makes its bytes: fill() from this seed, in chunks of
 * this size (the last one shorter). */
#define WRITER_SEED  0x5EED5EED5EEDull
#define WRITER_CHUNK (64u * 1024u)

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	static __thread uint8_t buf[WRITER_CHUNK];
	uint64_t state = WRITER_SEED;

	while (w->written < w->total && !w->err) {
		size_t n = w->total - w->written < sizeof(buf) ? (size_t)(w->total - w->written)
							       : sizeof(buf);

		fill(buf, n, &state);
		if (w->tee >= 0)
			write_all(w->tee, buf, n, &w->err);
		write_all(w->fd, buf, n, &w->err);
		if (w->err)
			break;
		for (size_t i = 0; i < n; i++)
			w->sum += buf[i];
		__atomic_store_n(&w->written, w->written + n, __ATOMIC_RELEASE);
	}
	while (w->keep_open && !__atomic_load_n(&w->release, __ATOMIC_ACQUIRE))
		usleep(1000);
	close(w->fd);
	if (w->tee >= 0)
		close(w->tee);
	return NULL;
}

/* A pipe whose write end a writer thread feeds: returns the read end. */
static int writer_start(struct writer *w, uint64_t total, int tee, int keep_open)
{
	int fds[2];

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	*w = (struct writer){.fd = fds[1], .tee = tee, .total = total, .keep_open = keep_open};
	assert_int_equal(pthread_create(&w->thread, NULL, writer_main, w), 0);
	return fds[0];
}

static void writer_join(struct writer *w)
{
	__atomic_store_n(&w->release, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(w->thread, NULL), 0);
}

/* sha256sum in a child, reading a pipe: *ret_in is where to write; the
 * digest line comes from sha256sum_end(). */
struct sha256sum {
	pid_t pid;
	int out;
};

static struct sha256sum sha256sum_start(int *ret_in)
{
	int in[2], out[2];
	struct sha256sum s;

	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	s.pid = fork();
	assert_true(s.pid >= 0);
	if (s.pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execlp("sha256sum", "sha256sum", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	*ret_in = in[1];
	s.out = out[0];
	return s;
}

static void sha256sum_end(struct sha256sum *s, char *line, size_t size)
{
	ssize_t n, got = 0;
	int status;

	while ((n = read(s->out, line + got, size - 1 - (size_t)got)) > 0)
		got += n;
	line[got] = '\0';
	close(s->out);
	assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Samples our own resident memory until told to stop: the peak. */
struct rss_watch {
	pthread_t thread;
	int stop;
	long peak_kib;
};

static void *rss_main(void *arg)
{
	struct rss_watch *w = arg;

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		long kib = tu_self_rss_kib();

		if (kib > w->peak_kib)
			w->peak_kib = kib;
		usleep(5000);
	}
	return NULL;
}

/* ------------------------------------------------------------------ tests */

/*
 * 256 MiB through a pipe into sha256.so: the digest is sha256sum's (fed
 * the same bytes), and the host's memory stays flat, however long the
 * stream: it holds the input ring (1 MiB) and a read's worth, never the
 * input.
 */
static void test_stream_256mib(void **state)
{
	const uint64_t size = 256ull * MIB;
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin *p = spawn("sha256.so");
	struct rss_watch rss = {0};
	struct sha256sum ref;
	struct writer w;
	struct ph_blob *in;
	struct ph_stream_status st;
	char want[128], *out;
	long rss0;
	int tee, fd;
	(void)state;

	rss0 = tu_self_rss_kib();
	assert_true(rss0 > 0);
	rss.peak_kib = rss0;
	ref = sha256sum_start(&tee);
	fd = writer_start(&w, size, tee, 0);
	in = stream_of(fd);
	close(fd); /* the blob has its own */
	assert_int_equal(pthread_create(&rss.thread, NULL, rss_main, &rss), 0);
	out = call_ok(p, "sha256", &in, 1);
	__atomic_store_n(&rss.stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(rss.thread, NULL), 0);
	writer_join(&w);
	sha256sum_end(&ref, want, sizeof(want));
	assert_int_equal(w.err, 0);
	assert_string_equal(out, want);
	st = status_of(in);
	assert_int_equal(st.bytes, size);
	assert_true(st.eof && st.used);
	assert_int_equal(st.error, 0);
	print_message("  256 MiB streamed: host RSS %ld KiB before, %ld KiB at the peak\n", rss0,
		      rss.peak_kib);
	assert_true(rss.peak_kib - rss0 < 64 * 1024);
	free(out);
	ph_blob_free(in);
	ph_plugin_free(p);
	tu_assert_unchanged(&before);
}

/* Input and output at once: 32 MiB streamed through upper.so with a small
 * output ring, so that both rings fill and wait on each other's side,
 * and every byte comes back turned, in order. */
static void test_stream_through_upper(void **state)
{
	const uint64_t size = 32ull * MIB;
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin_config cfg;
	struct ph_plugin *p;
	struct tu_upper_check chk = {0};
	uint8_t *bytes = malloc(size);
	uint64_t seed = WRITER_SEED;
	struct ph_result res;
	struct ph_blob *in;
	struct writer w;
	int fd;
	(void)state;

	/* The writer's bytes, made the way it makes them: 64 KiB at a time. */
	assert_non_null(bytes);
	for (uint64_t off = 0; off < size; off += WRITER_CHUNK)
		fill(bytes + off, WRITER_CHUNK, &seed);
	chk.in = bytes;
	ph_plugin_config_init(&cfg);
	cfg.ring_size = 64 * 1024;
	p = spawn_cfg("upper.so", &cfg);
	fd = writer_start(&w, size, -1, 0);
	in = stream_of(fd);
	close(fd);
	assert_int_equal(ph_plugin_call(p, "upper", &in, 1, tu_check_upper, &chk, &res), 0);
	if (res.kind != PH_RESULT_OK)
		describe_fail(&res, "upper");
	writer_join(&w);
	assert_int_equal(chk.bad, 0);
	assert_int_equal(chk.pos, size);
	assert_int_equal(res.output_bytes, size);
	free(bytes);
	ph_blob_free(in);
	ph_plugin_free(p);
	tu_assert_unchanged(&before);
}

/* An empty stream is an empty input; an end stays an end. */
static void test_stream_empty(void **state)
{
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin *p = spawn("sha256.so"), *q = spawn("stream.so");
	struct ph_blob *in;
	char *out;
	int fds[2];
	(void)state;

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	close(fds[1]);
	in = stream_of(fds[0]);
	out = call_ok(p, "sha256", &in, 1);
	assert_string_equal(out, EMPTY_SHA256);
	free(out);
	assert_int_equal(status_of(in).bytes, 0);
	assert_true(status_of(in).eof);
	ph_blob_free(in);
	in = stream_of(fds[0]);
	out = call_ok(q, "twice", &in, 1);
	assert_string_equal(out, "0 ok\n");
	free(out);
	ph_blob_free(in);
	close(fds[0]);
	ph_plugin_free(p);
	ph_plugin_free(q);
	tu_assert_unchanged(&before);
}

/* The writer dies mid-way (SIGKILL, after an odd number of bytes): the
 * plugin gets every byte it wrote, then the end. */
static void test_stream_writer_dies(void **state)
{
	const size_t size = 3 * MIB + 123;
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin *p = spawn("stream.so");
	uint8_t *bytes = malloc(size);
	uint64_t seed = 42, sum = 0;
	struct ph_blob *in;
	char want[64], *out;
	int fds[2], status;
	pid_t child;
	(void)state;

	assert_non_null(bytes);
	fill(bytes, size, &seed);
	for (size_t i = 0; i < size; i++)
		sum += bytes[i];
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		int err = 0;

		close(fds[0]);
		write_all(fds[1], bytes, size, &err);
		raise(SIGKILL);
		_exit(1);
	}
	close(fds[1]);
	in = stream_of(fds[0]);
	close(fds[0]);
	out = call_ok(p, "count", &in, 1);
	snprintf(want, sizeof(want), "%zu %llu\n", size, (unsigned long long)sum);
	assert_string_equal(out, want);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_true(status_of(in).eof);
	free(out);
	free(bytes);
	ph_blob_free(in);
	ph_plugin_free(p);
	tu_assert_unchanged(&before);
}

struct log_capture {
	char line[512];
	int warnings;
};

static void capture_log(void *userdata, const struct ph_plugin *instance, enum ph_level level,
			const char *line)
{
	struct log_capture *c = userdata;

	(void)instance;
	if (level == PH_WARN) {
		c->warnings++;
		snprintf(c->line, sizeof(c->line), "%s", line);
	}
}

/*
 * The source fails mid-stream: a Unix stream socket whose peer closed with
 * bytes of ours unread reads ECONNRESET after the bytes it was sent. The
 * plugin reads every byte, then that error (and says so); the host logs
 * it and the stream's status names it.
 */
static void test_stream_read_error(void **state)
{
	const size_t size = 100000;
	struct tu_snapshot before = tu_snapshot();
	struct ph_host_config hcfg;
	struct log_capture cap = {0};
	struct ph_host *shared = host;
	struct ph_plugin *p, *q;
	uint8_t *bytes = malloc(size);
	uint64_t seed = 7;
	struct ph_blob *in;
	struct ph_stream_status st;
	struct ph_result res;
	void *out;
	size_t len;
	int sv[2];
	(void)state;

	ph_host_config_init(&hcfg);
	hcfg.log_fn = capture_log;
	hcfg.log_userdata = &cap;
	assert_int_equal(ph_host_new(&hcfg, &host), 0);
	p = spawn("stream.so");
	q = spawn("sha256.so");
	assert_non_null(bytes);
	fill(bytes, size, &seed);
	for (int round = 0; round < 2; round++) {
		int err = 0;

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		write_all(sv[1], bytes, size, &err);
		assert_int_equal(err, 0);
		/* Unread by the peer when it closes: a reset, not an end. */
		assert_int_equal(write(sv[0], "x", 1), 1);
		close(sv[1]);
		in = stream_of(sv[0]);
		close(sv[0]);
		assert_int_equal(ph_plugin_call_collect(round ? q : p, round ? "sha256" : "count",
							&in, 1, &out, &len, &res),
				 0);
		assert_int_equal(res.kind, PH_RESULT_PLUGIN_ERROR);
		if (round == 0) {
			assert_int_equal(res.code, ECONNRESET);
			assert_string_equal(res.message, "read: Connection reset by peer");
		} else {
			assert_int_equal(res.code, 1);
			assert_string_equal(res.message, "input 0: Connection reset by peer");
		}
		free(out);
		st = status_of(in);
		assert_int_equal(st.error, ECONNRESET);
		assert_int_equal(st.bytes, size);
		assert_false(st.eof);
		ph_blob_free(in);
	}
	assert_int_equal(cap.warnings, 2);
	assert_non_null(strstr(cap.line, "reading its stream input failed after 100000 bytes: "
					 "Connection reset by peer"));
	/* Both instances live on. */
	assert_true(ph_plugin_alive(p) && ph_plugin_alive(q));
	free(bytes);
	ph_plugin_free(p);
	ph_plugin_free(q);
	ph_host_free(host);
	host = shared;
	tu_assert_unchanged(&before);
}

/*
 * A plugin that never reads its stream: the call ends as the plugin says,
 * the host stops reading at once (what it read is at most a ring), and the
 * stream is spent; the writer learns the reader went when the blob goes.
 */
static void test_stream_not_read(void **state)
{
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin *p = spawn("stream.so");
	struct ph_blob *in, *whole;
	struct ph_stream_status st;
	struct ph_result res;
	struct writer w;
	char *out;
	int fd;
	(void)state;

	fd = writer_start(&w, UINT64_MAX, -1, 0);
	in = stream_of(fd);
	close(fd);
	out = call_ok(p, "ignore", &in, 1);
	free(out);
	st = status_of(in);
	assert_true(st.used);
	assert_false(st.eof);
	assert_int_equal(st.error, 0);
	assert_true(st.bytes <= PH_STREAM_RING_BYTES);
	usleep(50 * 1000);
	assert_int_equal(status_of(in).bytes, st.bytes);
	/* One call consumed it. */
	assert_int_equal(ph_plugin_call(p, "count", &in, 1, NULL, NULL, &res), -EALREADY);
	ph_blob_free(in);
	writer_join(&w);
	assert_int_equal(w.err, EPIPE);
	/* The instance is as good as new: whole inputs, through ph_read(). */
	assert_int_equal(ph_blob_new_from_bytes("\x01\x02\x03", 3, &whole), 0);
	out = call_ok(p, "count", &whole, 1);
	assert_string_equal(out, "3 6\n");
	free(out);
	ph_blob_free(whole);
	ph_plugin_free(p);
	tu_assert_unchanged(&before);
}

/* The progress method's output: the bytes it has read so far, as uint64s
 * that may arrive split across callbacks. */
struct progress {
	uint8_t part[8];
	size_t have;
	uint64_t consumed;
};

static int on_progress(void *userdata, const void *buf, size_t len)
{
	struct progress *pr = userdata;
	const uint8_t *b = buf;

	for (size_t i = 0; i < len; i++) {
		pr->part[pr->have++] = b[i];
		if (pr->have == 8) {
			memcpy(&pr->consumed, pr->part, 8);
			pr->have = 0;
		}
	}
	return 0;
}

/*
 * A plugin that reads slowly (16 KiB a millisecond) from a writer that is
 * far faster: back-pressure. At every return of ph_plugin_process() the
 * host has read at most a ring (and the little the plugin took since it
 * last said) beyond what the plugin has taken, and its memory stays flat;
 * the event loop (ph_plugin_fd()) is woken for the source, and no round
 * takes long.
 */
static void test_stream_back_pressure(void **state)
{
	const uint64_t size = 8ull * MIB;
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin *p = spawn("stream.so");
	struct progress pr = {0};
	struct ph_result res;
	struct writer w;
	struct ph_blob *in;
	int64_t longest = 0;
	uint64_t most_ahead = 0;
	long rss0 = tu_self_rss_kib(), peak = rss0;
	int fd, r, rounds = 0;
	(void)state;

	fd = writer_start(&w, size, -1, 0);
	in = stream_of(fd);
	close(fd);
	assert_int_equal(ph_plugin_submit(p, "progress", &in, 1, on_progress, &pr), 0);
	for (;;) {
		struct pollfd pfd = {.fd = ph_plugin_fd(p), .events = POLLIN};
		int64_t t0;
		uint64_t fed;

		assert_true(poll(&pfd, 1, 5000) == 1);
		t0 = now_ms();
		r = ph_plugin_process(p, &res);
		assert_true(r >= 0);
		if (now_ms() - t0 > longest)
			longest = now_ms() - t0;
		rounds++;
		if (r == 1)
			break;
		fed = status_of(in).bytes;
		assert_true(fed >= pr.consumed);
		if (fed - pr.consumed > most_ahead)
			most_ahead = fed - pr.consumed;
		if (tu_self_rss_kib() > peak)
			peak = tu_self_rss_kib();
	}
	if (res.kind != PH_RESULT_OK)
		describe_fail(&res, "progress");
	writer_join(&w);
	print_message("  %d rounds, the longest %lld ms; the host at most %llu KiB ahead of the "
		      "plugin; RSS +%ld KiB\n",
		      rounds, (long long)longest, (unsigned long long)most_ahead / 1024,
		      peak - rss0);
	assert_int_equal(pr.consumed, size);
	assert_int_equal(status_of(in).bytes, size);
	assert_true(most_ahead <= PH_STREAM_RING_BYTES + 64 * 1024);
	/* It was ahead, by more than a pipe holds: the ring was used. */
	assert_true(most_ahead > 128 * 1024);
	assert_true(peak - rss0 < 16 * 1024);
	assert_true(longest < 200);
	ph_blob_free(in);
	ph_plugin_free(p);
	tu_assert_unchanged(&before);
}

/*
 * The deadline holds while the host feeds: a plugin that never reads from
 * an endless writer, and one that reads as fast as it can from /dev/zero
 * (a source that always has more), both end as timeouts on time; under
 * the event loop no ph_plugin_process() takes long meanwhile.
 */
static void test_stream_timeout(void **state)
{
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin_config cfg;
	struct ph_plugin *p, *q;
	struct ph_blob *in;
	struct ph_result res;
	struct writer w;
	int64_t t0, ms, longest = 0;
	int fd, r;
	(void)state;

	ph_plugin_config_init(&cfg);
	cfg.limits.timeout_ms = 300;
	p = spawn_cfg("stream.so", &cfg);
	fd = writer_start(&w, UINT64_MAX, -1, 0);
	in = stream_of(fd);
	close(fd);
	t0 = now_ms();
	assert_int_equal(ph_plugin_call(p, "hang", &in, 1, NULL, NULL, &res), 0);
	ms = now_ms() - t0;
	assert_int_equal(res.kind, PH_RESULT_TIMEOUT);
	assert_true(ms >= 300 && ms < 3000);
	ph_blob_free(in);
	writer_join(&w);
	ph_plugin_free(p);

	q = spawn_cfg("sha256.so", &cfg);
	fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	in = stream_of(fd);
	t0 = now_ms();
	assert_int_equal(ph_plugin_call(q, "sha256", &in, 1, NULL, NULL, &res), 0);
	ms = now_ms() - t0;
	assert_int_equal(res.kind, PH_RESULT_TIMEOUT);
	assert_true(ms >= 300 && ms < 3000);
	assert_true(status_of(in).bytes > 0);
	ph_blob_free(in);
	assert_int_equal(ph_plugin_restart(q, NULL), 0);
	in = stream_of(fd);
	assert_int_equal(ph_plugin_submit(q, "sha256", &in, 1, NULL, NULL), 0);
	t0 = now_ms();
	do {
		struct pollfd pfd = {.fd = ph_plugin_fd(q), .events = POLLIN};
		int64_t t1;

		assert_true(poll(&pfd, 1, 5000) == 1);
		t1 = now_ms();
		r = ph_plugin_process(q, &res);
		if (now_ms() - t1 > longest)
			longest = now_ms() - t1;
	} while (r == 0);
	ms = now_ms() - t0;
	assert_int_equal(r, 1);
	assert_int_equal(res.kind, PH_RESULT_TIMEOUT);
	assert_true(ms >= 250 && ms < 3000);
	print_message("  /dev/zero under the event loop: %llu MiB fed, the longest "
		      "ph_plugin_process() %lld ms\n",
		      (unsigned long long)status_of(in).bytes / MIB, (long long)longest);
	assert_true(longest < 100);
	ph_blob_free(in);
	close(fd);
	ph_plugin_free(q);
	tu_assert_unchanged(&before);
}

/* Freed mid-call, while the host feeds: nothing waits, nothing leaks. */
static void test_stream_free_mid_call(void **state)
{
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin *p = spawn("stream.so");
	struct ph_result res;
	struct ph_blob *in;
	struct writer w;
	int fd;
	(void)state;

	fd = writer_start(&w, UINT64_MAX, -1, 0);
	in = stream_of(fd);
	close(fd);
	assert_int_equal(ph_plugin_submit(p, "progress", &in, 1, NULL, NULL), 0);
	/* The blob may go at once: the call keeps the source. */
	ph_blob_free(in);
	for (int i = 0; i < 20; i++) {
		struct pollfd pfd = {.fd = ph_plugin_fd(p), .events = POLLIN};

		poll(&pfd, 1, 10);
		assert_int_equal(ph_plugin_process(p, &res), 0);
	}
	ph_plugin_free(p);
	writer_join(&w);
	assert_int_equal(w.err, EPIPE);
	tu_assert_unchanged(&before);
}

/*
 * A hostile plugin lies about the input ring's consumer index: past the
 * head (by less than a ring, and by far), a huge value, and back below a
 * tail the host accepted. Each is a protocol violation naming the rule,
 * and the host is left as it was.
 */
static void test_stream_hostile_tail(void **state)
{
	static const struct {
		const char *attack, *rule;
	} cases[] = {
	    {"inring_tail_ahead", "input ring tail is ahead of the head"},
	    {"inring_tail_far", "input ring tail is ahead of the head"},
	    {"inring_tail_huge", "input ring tail moved backwards"},
	    {"inring_tail_backwards", "input ring tail moved backwards"},
	};
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin_config cfg;
	(void)state;

	/* A host that missed the lie would wait for ever: time it out. */
	ph_plugin_config_init(&cfg);
	cfg.limits.timeout_ms = 10000;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ph_plugin *p = spawn_cfg("hostile.so", &cfg);
		struct ph_blob *in[2];
		struct ph_result res;
		struct writer w;
		char reached[64];
		void *out;
		size_t len;
		int fd;

		/* 256 KiB, and the source kept open: all of it fed, with
		 * room to spare, and the host still watching. */
		fd = writer_start(&w, 256 * 1024, -1, 1);
		assert_int_equal(
		    ph_blob_new_from_bytes(cases[i].attack, strlen(cases[i].attack), &in[0]), 0);
		in[1] = stream_of(fd);
		close(fd);
		assert_int_equal(ph_plugin_call_collect(p, "attack", in, 2, &out, &len, &res), 0);
		snprintf(reached, sizeof(reached), "reached %s\n", cases[i].attack);
		print_message("  %s -> %s: %s\n", cases[i].attack, ph_result_kind_name(res.kind),
			      res.message);
		assert_string_equal(out, reached);
		assert_int_equal(res.kind, PH_RESULT_PROTOCOL);
		assert_string_equal(res.message, cases[i].rule);
		assert_false(ph_plugin_alive(p));
		free(out);
		ph_blob_free(in[0]);
		ph_blob_free(in[1]);
		writer_join(&w);
		ph_plugin_free(p);
	}
	tu_assert_unchanged(&before);
}

/* Sources of every kind: a regular file (read plainly), a socket
 * (RWF_NOWAIT) and a tty (which knows no RWF_NOWAIT: poll, then read). */
static void test_stream_sources(void **state)
{
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin *p = spawn("stream.so");
	char path[] = "/tmp/plughost-stream-XXXXXX", *out;
	struct ph_blob *in;
	struct ph_result res;
	int fd, sv[2], m, s, r;
	(void)state;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\x01\x02\x03\x04", 4), 4);
	assert_int_equal(lseek(fd, 1, SEEK_SET), 1); /* from the file's offset on */
	in = stream_of(fd);
	out = call_ok(p, "count", &in, 1);
	assert_string_equal(out, "3 9\n");
	free(out);
	ph_blob_free(in);
	close(fd);
	unlink(path);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(write(sv[1], "\x10\x20", 2), 2);
	shutdown(sv[1], SHUT_WR);
	in = stream_of(sv[0]);
	out = call_ok(p, "count", &in, 1);
	assert_string_equal(out, "2 48\n");
	free(out);
	ph_blob_free(in);
	close(sv[0]);
	close(sv[1]);

	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(m >= 0);
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	s = open(ptsname(m), O_RDONLY | O_NOCTTY | O_CLOEXEC);
	assert_true(s >= 0);
	assert_int_equal(write(m, "abc\n", 4), 4);
	in = stream_of(s);
	close(s);
	assert_int_equal(ph_plugin_submit(p, "count", &in, 1, NULL, NULL), 0);
	/* A tty drops what is unread when its master goes: hang up only once
	 * the host has it all. */
	while (status_of(in).bytes < 4) {
		struct pollfd pfd = {.fd = ph_plugin_fd(p), .events = POLLIN};

		poll(&pfd, 1, 10);
		assert_int_equal(ph_plugin_process(p, &res), 0);
	}
	close(m);
	do {
		struct pollfd pfd = {.fd = ph_plugin_fd(p), .events = POLLIN};

		assert_true(poll(&pfd, 1, 5000) == 1);
		r = ph_plugin_process(p, &res);
	} while (r == 0);
	assert_int_equal(r, 1);
	if (res.kind != PH_RESULT_OK)
		describe_fail(&res, "count from a tty");
	assert_true(status_of(in).eof);
	ph_blob_free(in);
	ph_plugin_free(p);
	tu_assert_unchanged(&before);
}

/* The API's edges: what a stream blob is and is not, who may take one,
 * how often, and what ph_read() says to a bad question. */
static void test_stream_api(void **state)
{
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin *echo = spawn("echo.so"), *p = spawn("stream.so");
	struct ph_blob *in, *two[2], *mixed[2], *whole;
	struct ph_stream_status st;
	struct ph_result res;
	int fds[2], dir, opath;
	char *out;
	(void)state;

	assert_int_equal(ph_blob_new_stream(-1, &in), -EINVAL);
	assert_int_equal(ph_blob_new_stream(0, NULL), -EINVAL);
	dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(ph_blob_new_stream(dir, &in), -EISDIR);
	close(dir);
	opath = open("/dev/null", O_PATH | O_CLOEXEC);
	assert_int_equal(ph_blob_new_stream(opath, &in), -EBADF);
	close(opath);
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	assert_int_equal(ph_blob_new_stream(fds[1], &in), -EBADF);
	close(fds[1]);

	in = stream_of(fds[0]);
	assert_int_equal(ph_blob_size(in), 0);
	assert_int_equal(ph_blob_sealed(in), 0);
	assert_null(ph_blob_data(in));
	assert_int_equal(ph_blob_seal(in), -EINVAL);
	st = status_of(in);
	assert_true(!st.used && !st.eof && !st.error && !st.bytes);
	assert_int_equal(ph_blob_stream_status(NULL, &st), -EINVAL);
	assert_int_equal(ph_blob_stream_status(in, NULL), -EINVAL);
	assert_int_equal(ph_blob_new_from_bytes("abc", 3, &whole), 0);
	assert_int_equal(ph_blob_stream_status(whole, &st), -EINVAL);

	/* Only a plugin that says it reads streams takes one; refused, the
	 * stream is left unread for another. */
	assert_int_equal(ph_plugin_reads_streams(echo), 0);
	assert_int_equal(ph_plugin_reads_streams(p), 1);
	assert_int_equal(ph_plugin_reads_streams(NULL), 0);
	assert_int_equal(ph_plugin_call(echo, "echo", &in, 1, NULL, NULL, &res), -EOPNOTSUPP);
	assert_int_equal(ph_plugin_submit(echo, "echo", &in, 1, NULL, NULL), -EOPNOTSUPP);
	assert_false(status_of(in).used);
	two[0] = two[1] = in;
	assert_int_equal(ph_plugin_call(p, "count", two, 2, NULL, NULL, &res), -EINVAL);
	assert_int_equal(ph_plugin_call(p, "nope", &in, 1, NULL, NULL, &res), -ENOENT);
	assert_false(status_of(in).used);

	/* What the plugin sees: flags per input, and ph_read() refusing a
	 * missing input and a NULL buffer. */
	mixed[0] = whole;
	mixed[1] = in;
	out = call_ok(p, "flags", mixed, 2);
	assert_string_equal(out, "0 1 -EINVAL -EINVAL\n");
	free(out);
	assert_true(status_of(in).used);
	assert_int_equal(ph_plugin_call(p, "flags", mixed, 2, NULL, NULL, &res), -EALREADY);

	/* ph_read() of whole inputs: inline, empty, and as a memfd. */
	out = call_ok(p, "count", &whole, 1);
	assert_string_equal(out, "3 294\n");
	free(out);
	ph_blob_free(whole);
	assert_int_equal(ph_blob_new_from_bytes(NULL, 0, &whole), 0);
	out = call_ok(p, "count", &whole, 1);
	assert_string_equal(out, "0 0\n");
	free(out);
	ph_blob_free(whole);
	{
		const size_t big = 100000;
		uint8_t *bytes = malloc(big);
		uint64_t sum = 0;
		char want[64];

		assert_non_null(bytes);
		for (size_t i = 0; i < big; i++)
			sum += bytes[i] = (uint8_t)(i * 7);
		assert_int_equal(ph_blob_new_from_bytes(bytes, big, &whole), 0);
		out = call_ok(p, "count", &whole, 1);
		snprintf(want, sizeof(want), "%zu %llu\n", big, (unsigned long long)sum);
		assert_string_equal(out, want);
		free(out);
		free(bytes);
		ph_blob_free(whole);
	}
	ph_blob_free(in);
	close(fds[0]);
	ph_plugin_free(echo);
	ph_plugin_free(p);
	tu_assert_unchanged(&before);
}

/*
 * A plugin built before struct ph_input had flags (its stride is 16
 * bytes): every input reaches it where it looks, whole ones inline and as
 * memfds alike, and a stream never does.
 */
static void test_stream_old_stride(void **state)
{
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin *p = spawn("stride16.so");
	static uint8_t big[100000];
	struct ph_blob *in[4], *s;
	struct ph_result res;
	char *out;
	int fds[2];
	(void)state;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = 1;
	assert_int_equal(ph_blob_new_from_bytes("ab", 2, &in[0]), 0);
	assert_int_equal(ph_blob_new_from_bytes(NULL, 0, &in[1]), 0);
	assert_int_equal(ph_blob_new_from_bytes(big, sizeof(big), &in[2]), 0);
	assert_int_equal(ph_blob_new_from_bytes("\x03", 1, &in[3]), 0);
	out = call_ok(p, "lens", in, 4);
	assert_string_equal(out, "n=4 2:195 0:0 100000:100000 1:3\n");
	free(out);
	assert_int_equal(ph_plugin_reads_streams(p), 0);
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	s = stream_of(fds[0]);
	ph_blob_free(in[1]);
	in[1] = s;
	assert_int_equal(ph_plugin_call(p, "lens", in, 2, NULL, NULL, &res), -EOPNOTSUPP);
	assert_false(status_of(s).used);
	ph_blob_free(s);
	close(fds[0]);
	close(fds[1]);
	ph_blob_free(in[0]);
	ph_blob_free(in[2]);
	ph_blob_free(in[3]);
	ph_plugin_free(p);
	tu_assert_unchanged(&before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stream_api),
	    cmocka_unit_test(test_stream_old_stride),
	    cmocka_unit_test(test_stream_256mib),
	    cmocka_unit_test(test_stream_through_upper),
	    cmocka_unit_test(test_stream_empty),
	    cmocka_unit_test(test_stream_writer_dies),
	    cmocka_unit_test(test_stream_read_error),
	    cmocka_unit_test(test_stream_not_read),
	    cmocka_unit_test(test_stream_back_pressure),
	    cmocka_unit_test(test_stream_timeout),
	    cmocka_unit_test(test_stream_free_mid_call),
	    cmocka_unit_test(test_stream_hostile_tail),
	    cmocka_unit_test(test_stream_sources),
	};

	/* A writer whose reader went must see EPIPE, not die of it. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, tu_setup_host, tu_teardown_host);
}
