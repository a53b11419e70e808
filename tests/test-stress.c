/* SPDX-License-Identifier: MIT */
/*
 * The stress suite (issue 8): one ph_host shared by many threads at once,
 * as an application with a worker pool uses it.
 *
 *   mix      N worker threads (PH_STRESS_THREADS, at least 4) run the
 *            hostile endings of tests/testcases.h in fresh instances, make
 *            and seal blobs of random sizes (0 B to 4 MiB) from bytes and in
 *            place and prove their contents through a call, and chain two
 *            instances through an output callback, all at once, for
 *            PH_STRESS_SECONDS (default 15); one more thread keeps calling
 *            fork()+_exit() and system("true"), as applications do.
 *   loop     the four-thread loop of the issue: 4 threads, each spawn ->
 *            one call on a small ph_blob_new_from_bytes() blob -> free,
 *            PH_STRESS_LOOP_CALLS calls in all (default 800; 10,000 in the
 *            'slow' suite).
 *   nested   an output callback of instance A calls instance B on every
 *            chunk: both results, B's output and every error text stay
 *            right, also when B's call fails, or B dies, while A streams.
 *
 * Every call must end in its expected kind, and no API call may fail but
 * for real exhaustion (-EMFILE, -ENOMEM, -EAGAIN, counted and printed);
 * -EBUSY from sealing a blob is the bug of issue 8 and fails the test.
 * The host's fds, memfd mappings and children are the same after each test
 * as before it (the fork thread reaps its own children).
 *
 * The worker threads cannot use cmocka's assertions (they longjmp, which
 * only the thread running the test may do): they record what went wrong,
 * and the test's own thread fails with the first of it once all are joined.
 * PH_STRESS_SEED makes a run's choices repeatable; the seed is printed.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <plughost/host.h>

#include "testcases.h"
#include "testhost.h"

#define DEFAULT_SECONDS	   15
#define DEFAULT_THREADS	   4
#define MIN_THREADS	   4
#define MAX_THREADS	   64
#define DEFAULT_LOOP_CALLS 800
#define LOOP_THREADS	   4
#define BLOB_MAX_SIZE	   (4u << 20)
#define ECHO_CHECK_MAX	   (64u << 10) /* blobs up to this size are echoed back whole */
#define NEST_FLOOD	   "2000000"
#define NEST_FLOOD_BYTES   2000000u
#define MIX_NEST_FLOOD	   "300000"
#define MIX_NEST_BYTES	   300000u
#define TOLERATED_IN_A_ROW 1000

/* What the threads of one test share. */
struct stress {
	struct tc_world w;
	char *echo_path;
	atomic_int stop;
	/* The first failure, and how many there were. */
	pthread_mutex_t lock;
	char first[1024];
	atomic_uint failures;
	atomic_uint ebusy;
	/* Errors of real exhaustion, allowed under load. */
	atomic_uint tolerated;
	/* What the mix did, so that the test proves each part ran. */
	atomic_ulong kind_ok[TC_KIND_COUNT];
	atomic_ulong blobs_bytes, blobs_inplace, blobs_empty, blobs_big, blobs_checked;
	atomic_ulong nested, forks, systems;
	/* The loop. */
	atomic_ulong loop_done;
	unsigned long loop_calls;
	uint64_t seed;
};

__attribute__((format(printf, 2, 3))) static void fail_async(struct stress *s, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&s->lock);
	if (atomic_fetch_add(&s->failures, 1) == 0) {
		va_start(ap, fmt);
		vsnprintf(s->first, sizeof(s->first), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&s->lock);
	atomic_store(&s->stop, 1);
}

static int tolerated(int r)
{
	return r == -EMFILE || r == -ENOMEM || r == -EAGAIN;
}

/*
 * An API call failed with r: allowed (and counted) only for exhaustion.
 * -EBUSY is counted on its own: it is what issue 8 is about. Returns 0
 * when the caller may go on.
 */
static int api_error(struct stress *s, int r, const char *what)
{
	if (tolerated(r)) {
		atomic_fetch_add(&s->tolerated, 1);
		return 0;
	}
	if (r == -EBUSY)
		atomic_fetch_add(&s->ebusy, 1);
	fail_async(s, "%s failed: %s (%d)", what, strerror(-r), r);
	return -1;
}

static unsigned long env_number(const char *name, unsigned long dflt, unsigned long min,
				unsigned long max)
{
	const char *v = getenv(name);
	unsigned long n;
	char *end;

	if (!v)
		return dflt;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n < min || n > max)
		fail_msg("%s='%s' is not a number in %lu..%lu", name, v, min, max);
	return n;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t next_rand(uint64_t *x)
{
	/* xorshift64: each thread its own state, no shared rand(). */
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static int stress_setup(void **state)
{
	struct stress *s = calloc(1, sizeof(*s));

	if (!s)
		return -1;
	*state = s;
	pthread_mutex_init(&s->lock, NULL);
	s->echo_path = tu_plugin_path("echo.so");
	return tc_world_init(&s->w) == 0 ? 0 : -1;
}

static int stress_teardown(void **state)
{
	struct stress *s = *state;

	tc_world_fini(&s->w);
	free(s->echo_path);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return 0;
}

/* Fail the test with what the threads recorded, if anything. */
static void assert_no_failures(struct stress *s)
{
	unsigned int n = atomic_load(&s->failures);

	if (n)
		fail_msg("%u failure(s), %u of them EBUSY; the first: %s", n,
			 atomic_load(&s->ebusy), s->first);
	assert_int_equal(atomic_load(&s->ebusy), 0);
}

static struct ph_plugin *spawn_echo(struct stress *s, const char *what)
{
	struct ph_plugin *p = NULL;
	struct ph_result res;
	char line[512];
	int r;

	for (unsigned int i = 0; i < TOLERATED_IN_A_ROW; i++) {
		r = ph_plugin_spawn(host, s->echo_path, NULL, &p, &res);
		if (r == 0)
			return p;
		if (!tolerated(r))
			break;
		atomic_fetch_add(&s->tolerated, 1);
		if (atomic_load(&s->stop))
			return NULL;
	}
	ph_result_describe(&res, line, sizeof(line));
	if (r == -EBUSY)
		atomic_fetch_add(&s->ebusy, 1);
	fail_async(s, "%s: spawning echo.so failed: %s: %s", what, strerror(-r), line);
	return NULL;
}

/* ------------------------------------------------------------ nested calls */

/* A's output callback calls B on each chunk A streams. */
struct nest {
	struct ph_plugin *b;
	uint64_t a_pos;	 /* bytes of A's output seen so far */
	unsigned chunks; /* A's chunks: one B call each */
	/* On chunk fail_at, B runs fail_method instead of "echo", which
	 * must end in fail_kind; later chunks go on with "echo", ending in
	 * after_kind (B's own end again if B died). -1: never. */
	int fail_at;
	const char *fail_method;
	enum ph_result_kind fail_kind, after_kind;
	unsigned b_ok, b_failed;
	char why[512]; /* the first thing that went wrong, or "" */
};

__attribute__((format(printf, 2, 3))) static int nest_bad(struct nest *n, const char *fmt, ...)
{
	va_list ap;

	if (n->why[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(n->why, sizeof(n->why), fmt, ap);
		va_end(ap);
	}
	return 0; /* A's call goes on: the test reports what went wrong */
}

static int nest_cb(void *userdata, const void *buf, size_t len)
{
	struct nest *n = userdata;
	const char *b = buf;
	struct ph_blob *in = NULL;
	struct ph_result res;
	void *out = NULL;
	size_t out_len = 0;
	int failing = (int)n->chunks == n->fail_at;
	/* Before the failing chunk B echoes; after it, B ends in after_kind. */
	enum ph_result_kind want =
	    n->fail_at >= 0 && (int)n->chunks > n->fail_at ? n->after_kind : PH_RESULT_OK;
	int r;

	/* A's own output first: echo's pattern, byte i is 'a' + i % 26. */
	for (size_t i = 0; i < len; i++)
		if (b[i] != 'a' + (char)((n->a_pos + i) % 26))
			return nest_bad(n, "A's byte %llu is '%c'",
					(unsigned long long)(n->a_pos + i), b[i]);
	n->a_pos += len;
	n->chunks++;

	r = ph_blob_new_from_bytes(buf, len, &in);
	if (r < 0)
		return nest_bad(n, "chunk %u: blob: %s", n->chunks, strerror(-r));
	if (failing)
		r = ph_plugin_call_collect(n->b, n->fail_method, NULL, 0, &out, &out_len, &res);
	else
		r = ph_plugin_call_collect(n->b, "echo", &in, 1, &out, &out_len, &res);
	ph_blob_free(in);
	if (r < 0)
		return nest_bad(n, "chunk %u: B's call: %s", n->chunks, strerror(-r));

	if (failing) {
		n->b_failed++;
		if (res.kind != n->fail_kind)
			nest_bad(n, "chunk %u: B's %s ended as %s", n->chunks, n->fail_method,
				 ph_result_kind_name(res.kind));
		else if (res.kind == PH_RESULT_PLUGIN_ERROR &&
			 (res.code != 42 || strcmp(res.message, "asked to fail") != 0))
			nest_bad(n, "chunk %u: B's error is %d '%s'", n->chunks, res.code,
				 res.message);
		else if (res.kind == PH_RESULT_CRASHED && res.crash.signo != SIGSEGV)
			nest_bad(n, "chunk %u: B died of signal %d", n->chunks, res.crash.signo);
	} else if (res.kind != want) {
		nest_bad(n, "chunk %u: B's echo ended as %s ('%s'), wanted %s", n->chunks,
			 ph_result_kind_name(res.kind), res.message, ph_result_kind_name(want));
	} else if (res.kind == PH_RESULT_OK) {
		if (out_len != len || memcmp(out, buf, len) != 0)
			nest_bad(n, "chunk %u: B echoed %zu bytes of %zu, or others", n->chunks,
				 out_len, len);
		else if (res.message[0] != '\0')
			nest_bad(n, "chunk %u: B's OK result says '%s'", n->chunks, res.message);
		else
			n->b_ok++;
	}
	free(out);
	return 0;
}

/*
 * Call A's method (flooding count bytes of the pattern when count is not
 * NULL) with nest_cb on every chunk; *n is set up by the caller but for
 * the counters. Returns A's result through ret_res, 0 or a negative errno.
 */
static int nest_run(struct ph_plugin *a, const char *method, const char *count, struct nest *n,
		    struct ph_result *ret_res)
{
	struct ph_blob *in = NULL;
	int r;

	if (count && (r = ph_blob_new_from_bytes(count, strlen(count), &in)) < 0) {
		snprintf(n->why, sizeof(n->why), "A's input: ph_blob_new_from_bytes: %s",
			 strerror(-r));
		return r;
	}
	r = ph_plugin_call(a, method, count ? &in : NULL, count ? 1 : 0, nest_cb, n, ret_res);
	ph_blob_free(in);
	return r;
}

/* ---------------------------------------------------------------- the mix */

struct worker {
	struct stress *s;
	unsigned int id;
	uint64_t rand;
	struct ph_plugin *verifier; /* this thread's own long-lived echo instance */
	char *bytes;		    /* BLOB_MAX_SIZE bytes of the pattern */
};

static size_t random_size(struct worker *wk)
{
	uint64_t r = next_rand(&wk->rand);

	switch (r % 20) {
	case 0:
		return 0;
	case 1:
	case 2:
		return (size_t)(r >> 8) % (BLOB_MAX_SIZE + 1);
	case 3:
	case 4:
	case 5:
	case 6:
	case 7:
		return (size_t)(r >> 8) % (256u << 10);
	default:
		return (size_t)(r >> 8) % 4097;
	}
}

/*
 * Prove a sealed blob of size bytes holds what was put in: "count" reports
 * the size the plugin mapped; small blobs are echoed back whole and
 * compared with want (want_byte >= 0: every byte is that; else the pattern
 * from offset 0).
 */
static void verify_blob(struct worker *wk, struct ph_blob *b, size_t size, int want_byte)
{
	struct stress *s = wk->s;
	struct ph_result res;
	char expect[64];
	void *out = NULL;
	size_t len = 0;
	int r;

	if (ph_blob_size(b) != size || !ph_blob_sealed(b) || ph_blob_data(b) != NULL) {
		fail_async(s, "blob of %zu: size %zu, sealed %d, data %p", size, ph_blob_size(b),
			   ph_blob_sealed(b), ph_blob_data(b));
		return;
	}
	if (!wk->verifier)
		return;
	r = ph_plugin_call_collect(wk->verifier, size <= ECHO_CHECK_MAX ? "echo" : "count", &b, 1,
				   &out, &len, &res);
	if (r < 0) {
		api_error(s, r, "call on the verifier");
		return;
	}
	if (res.kind != PH_RESULT_OK) {
		fail_async(s, "verifier's call on a blob of %zu ended as %s: %s", size,
			   ph_result_kind_name(res.kind), res.message);
	} else if (size <= ECHO_CHECK_MAX) {
		int same = len == size;

		for (size_t i = 0; same && i < size; i++)
			same = ((const char *)out)[i] ==
			       (want_byte >= 0 ? (char)want_byte : (char)('a' + i % 26));
		if (!same)
			fail_async(s, "a blob of %zu came back as %zu other bytes", size, len);
		else
			atomic_fetch_add(&s->blobs_checked, 1);
	} else {
		snprintf(expect, sizeof(expect), "n=1 %zu\n", size);
		if (strcmp(out, expect) != 0)
			fail_async(s, "the plugin saw '%s' for a blob of %zu", (char *)out, size);
		else
			atomic_fetch_add(&s->blobs_checked, 1);
	}
	free(out);
}

static void op_blob_bytes(struct worker *wk)
{
	size_t size = random_size(wk);
	struct ph_blob *b = NULL;
	int r = ph_blob_new_from_bytes(wk->bytes, size, &b);

	if (r < 0) {
		api_error(wk->s, r, "ph_blob_new_from_bytes");
		return;
	}
	verify_blob(wk, b, size, -1);
	atomic_fetch_add(&wk->s->blobs_bytes, 1);
	if (size == 0)
		atomic_fetch_add(&wk->s->blobs_empty, 1);
	if (size > (1u << 20))
		atomic_fetch_add(&wk->s->blobs_big, 1);
	ph_blob_free(b);
}

static void op_blob_inplace(struct worker *wk)
{
	size_t size = random_size(wk);
	int byte = (int)('A' + next_rand(&wk->rand) % 26);
	struct ph_blob *b = NULL;
	void *data;
	int r = ph_blob_new(size, &b);

	if (r < 0) {
		api_error(wk->s, r, "ph_blob_new");
		return;
	}
	data = ph_blob_data(b);
	if ((data == NULL) != (size == 0)) {
		fail_async(wk->s, "ph_blob_data() of an unsealed blob of %zu is %p", size, data);
		ph_blob_free(b);
		return;
	}
	if (size)
		memset(data, byte, size);
	r = ph_blob_seal(b);
	if (r < 0) {
		api_error(wk->s, r, "ph_blob_seal");
		ph_blob_free(b);
		return;
	}
	verify_blob(wk, b, size, byte);
	atomic_fetch_add(&wk->s->blobs_inplace, 1);
	if (size == 0)
		atomic_fetch_add(&wk->s->blobs_empty, 1);
	if (size > (1u << 20))
		atomic_fetch_add(&wk->s->blobs_big, 1);
	ph_blob_free(b);
}

static void op_kind(struct worker *wk)
{
	size_t k = (size_t)(next_rand(&wk->rand) % TC_KIND_COUNT);
	char why[768];
	int r = tc_run(host, &wk->s->w, k, why, sizeof(why));

	if (r == 0)
		atomic_fetch_add(&wk->s->kind_ok[k], 1);
	else if (r < 0 && r != -1 && tolerated(r))
		atomic_fetch_add(&wk->s->tolerated, 1);
	else {
		if (r == -EBUSY)
			atomic_fetch_add(&wk->s->ebusy, 1);
		fail_async(wk->s, "%s: %s", tc_kind_name(&tc_kinds[k]), why);
	}
}

/* A (this thread's verifier) streams; its callback calls a fresh B. */
static void op_nested(struct worker *wk)
{
	struct nest n = {.fail_at = -1, .after_kind = PH_RESULT_OK};
	struct ph_result res;
	int r;

	if (!wk->verifier)
		return;
	n.b = spawn_echo(wk->s, "nested");
	if (!n.b)
		return;
	r = nest_run(wk->verifier, "flood", MIX_NEST_FLOOD, &n, &res);
	if (r < 0)
		api_error(wk->s, r, n.why[0] ? n.why : "nested: A's call");
	else if (res.kind != PH_RESULT_OK || n.a_pos != MIX_NEST_BYTES ||
		 res.output_bytes != MIX_NEST_BYTES || n.why[0] || n.b_ok != n.chunks)
		fail_async(wk->s, "nested: A ended as %s after %llu bytes, B %u/%u OK: %s",
			   ph_result_kind_name(res.kind), (unsigned long long)n.a_pos, n.b_ok,
			   n.chunks, n.why);
	else
		atomic_fetch_add(&wk->s->nested, 1);
	ph_plugin_free(n.b);
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;

	wk->bytes = malloc(BLOB_MAX_SIZE);
	if (!wk->bytes) {
		fail_async(wk->s, "worker %u: no memory", wk->id);
		return NULL;
	}
	for (size_t i = 0; i < BLOB_MAX_SIZE; i++)
		wk->bytes[i] = (char)('a' + i % 26);
	wk->verifier = spawn_echo(wk->s, "verifier");
	while (!atomic_load(&wk->s->stop)) {
		unsigned int op = (unsigned int)(next_rand(&wk->rand) % 20);

		if (op < 9)
			op_kind(wk);
		else if (op < 13)
			op_blob_bytes(wk);
		else if (op < 18)
			op_blob_inplace(wk);
		else
			op_nested(wk);
	}
	ph_plugin_free(wk->verifier);
	free(wk->bytes);
	return NULL;
}

/* The application's own children: fork()+_exit() and system("true"). */
static void *forker_main(void *arg)
{
	struct stress *s = arg;
	unsigned long i = 0;

	while (!atomic_load(&s->stop)) {
		if (i++ % 4 == 3) {
			int st = system("true");

			if (st == -1 && tolerated(-errno)) {
				atomic_fetch_add(&s->tolerated, 1);
				continue;
			}
			if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				fail_async(s, "system(\"true\") returned %d", st);
				break;
			}
			atomic_fetch_add(&s->systems, 1);
		} else {
			int st;
			pid_t pid = fork();

			if (pid == 0) {
				/* A child that does a little work before it exits (or
				 * execs), as applications' children do: it holds
				 * copies of the parent's mappings all that time. */
				struct timespec ts = {0, 1000000};

				nanosleep(&ts, NULL);
				_exit(0);
			}
			if (pid < 0) {
				if (tolerated(-errno)) {
					atomic_fetch_add(&s->tolerated, 1);
					continue;
				}
				fail_async(s, "fork: %s", strerror(errno));
				break;
			}
			/* Only our own child: a host that reaped it would
			 * have taken what is not its own (ECHILD here). */
			if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				fail_async(s, "waitpid(%d): %s, status %#x", (int)pid,
					   strerror(errno), st);
				break;
			}
			atomic_fetch_add(&s->forks, 1);
		}
	}
	return NULL;
}

static uint64_t stress_seed(void)
{
	const char *v = getenv("PH_STRESS_SEED");

	if (v)
		return env_number("PH_STRESS_SEED", 1, 1, ~0ul);
	return (uint64_t)now_ms() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ull;
}

static void test_mix(void **state)
{
	struct stress *s = *state;
	const unsigned long seconds = env_number("PH_STRESS_SECONDS", DEFAULT_SECONDS, 1, 86400);
	const unsigned long nthreads =
	    env_number("PH_STRESS_THREADS", DEFAULT_THREADS, MIN_THREADS, MAX_THREADS);
	struct worker workers[MAX_THREADS];
	pthread_t threads[MAX_THREADS], forker;
	struct tu_snapshot before;
	char why[768];
	int64_t t0;

	s->seed = stress_seed();
	print_message("  seed %llu (PH_STRESS_SEED), %lu threads, %lu s\n",
		      (unsigned long long)s->seed, nthreads, seconds);
	/* Warm up, single-threaded: every kind once, so caches are filled
	 * before the snapshot. */
	for (size_t k = 0; k < TC_KIND_COUNT; k++)
		if (tc_run(host, &s->w, k, why, sizeof(why)) != 0)
			fail_msg("warm-up %s: %s", tc_kind_name(&tc_kinds[k]), why);
	before = tu_snapshot();
	t0 = now_ms();

	for (unsigned long i = 0; i < nthreads; i++) {
		workers[i] = (struct worker){.s = s, .id = (unsigned)i};
		workers[i].rand = s->seed + (i + 1) * 0x2545f4914f6cdd1dull;
		assert_int_equal(pthread_create(&threads[i], NULL, worker_main, &workers[i]), 0);
	}
	assert_int_equal(pthread_create(&forker, NULL, forker_main, s), 0);
	while (!atomic_load(&s->stop) && now_ms() - t0 < (int64_t)seconds * 1000) {
		struct timespec ts = {0, 50000000};

		nanosleep(&ts, NULL);
	}
	atomic_store(&s->stop, 1);
	for (unsigned long i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	pthread_join(forker, NULL);

	print_message("  %lld ms: blobs %lu from bytes, %lu in place (%lu empty, %lu over 1 MiB, "
		      "%lu proven by a call), %lu nested, %lu fork, %lu system, %u tolerated "
		      "errors\n",
		      (long long)(now_ms() - t0), atomic_load(&s->blobs_bytes),
		      atomic_load(&s->blobs_inplace), atomic_load(&s->blobs_empty),
		      atomic_load(&s->blobs_big), atomic_load(&s->blobs_checked),
		      atomic_load(&s->nested), atomic_load(&s->forks), atomic_load(&s->systems),
		      atomic_load(&s->tolerated));
	for (size_t k = 0; k < TC_KIND_COUNT; k++)
		print_message("    %-14s x %lu\n", tc_kind_name(&tc_kinds[k]),
			      atomic_load(&s->kind_ok[k]));
	assert_no_failures(s);
	/* Every part ran, and ran while the others did. */
	for (size_t k = 0; k < TC_KIND_COUNT; k++)
		if (atomic_load(&s->kind_ok[k]) == 0)
			fail_msg("no run of %s ended as expected", tc_kind_name(&tc_kinds[k]));
	assert_true(atomic_load(&s->blobs_bytes) > 0);
	assert_true(atomic_load(&s->blobs_inplace) > 0);
	assert_true(atomic_load(&s->blobs_empty) > 0);
	assert_true(atomic_load(&s->blobs_big) > 0);
	assert_true(atomic_load(&s->blobs_checked) > 0);
	assert_true(atomic_load(&s->nested) > 0);
	assert_true(atomic_load(&s->forks) > 0);
	assert_true(atomic_load(&s->systems) > 0);
	tu_assert_unchanged(&before);
}

/* --------------------------------------------------------------- the loop */

static void *loop_main(void *arg)
{
	struct stress *s = arg;
	unsigned int tolerated_run = 0;

	while (!atomic_load(&s->stop)) {
		unsigned long n = atomic_fetch_add(&s->loop_done, 1);
		struct ph_plugin *p = NULL;
		struct ph_blob *in = NULL;
		struct ph_result res;
		char input[64], line[512] = "";
		const char *what = "spawn";
		void *out = NULL;
		size_t len = 0;
		int r;

		if (n >= s->loop_calls)
			break;
		snprintf(input, sizeof(input), "call %lu", n);
		r = ph_plugin_spawn(host, s->echo_path, NULL, &p, &res);
		if (r < 0)
			ph_result_describe(&res, line, sizeof(line));
		if (r == 0) {
			what = "ph_blob_new_from_bytes";
			r = ph_blob_new_from_bytes(input, strlen(input), &in);
		}
		if (r == 0) {
			what = "call";
			r = ph_plugin_call_collect(p, "echo", &in, 1, &out, &len, &res);
		}
		if (r < 0 && tolerated(r) && ++tolerated_run < TOLERATED_IN_A_ROW) {
			/* Real exhaustion: this call did not happen; do it again. */
			atomic_fetch_add(&s->tolerated, 1);
			atomic_fetch_sub(&s->loop_done, 1);
		} else if (r < 0) {
			if (r == -EBUSY)
				atomic_fetch_add(&s->ebusy, 1);
			fail_async(s, "call %lu: %s: %s %s", n, what, strerror(-r), line);
		} else if (res.kind != PH_RESULT_OK || len != strlen(input) ||
			   memcmp(out, input, len) != 0) {
			ph_result_describe(&res, line, sizeof(line));
			fail_async(s, "call %lu: '%.*s': %s", n, (int)len, (char *)out, line);
		} else {
			tolerated_run = 0;
		}
		free(out);
		ph_blob_free(in);
		ph_plugin_free(p);
	}
	return NULL;
}

static void test_loop(void **state)
{
	struct stress *s = *state;
	pthread_t threads[LOOP_THREADS];
	struct tu_snapshot before;
	int64_t t0;

	s->loop_calls = env_number("PH_STRESS_LOOP_CALLS", DEFAULT_LOOP_CALLS, 1, 100000000);
	before = tu_snapshot();
	t0 = now_ms();
	for (int i = 0; i < LOOP_THREADS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, loop_main, s), 0);
	for (int i = 0; i < LOOP_THREADS; i++)
		pthread_join(threads[i], NULL);
	print_message("  %lu calls on %d threads: %lld ms, %u EBUSY, %u tolerated errors\n",
		      s->loop_calls, LOOP_THREADS, (long long)(now_ms() - t0),
		      atomic_load(&s->ebusy), atomic_load(&s->tolerated));
	assert_no_failures(s);
	/* Every call was made (the counter passes the total once per thread). */
	assert_int_equal(atomic_load(&s->loop_done), s->loop_calls + LOOP_THREADS);
	tu_assert_unchanged(&before);
}

/* ------------------------------------------------------------- nested test */

static void spawn_two(struct stress *s, struct ph_plugin **a, struct ph_plugin **b)
{
	*a = spawn_echo(s, "A");
	*b = spawn_echo(s, "B");
	assert_no_failures(s);
	assert_non_null(*a);
	assert_non_null(*b);
}

/* B echoes every chunk A streams: both OK, B's output is A's. */
static void test_nested_ok(void **state)
{
	struct stress *s = *state;
	struct nest n = {.fail_at = -1, .after_kind = PH_RESULT_OK};
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin *a, *b;
	struct ph_result res;

	spawn_two(s, &a, &b);
	n.b = b;
	assert_int_equal(nest_run(a, "flood", NEST_FLOOD, &n, &res), 0);
	if (n.why[0])
		fail_msg("%s", n.why);
	assert_int_equal(res.kind, PH_RESULT_OK);
	assert_string_equal(res.message, "");
	assert_int_equal(res.output_bytes, NEST_FLOOD_BYTES);
	assert_int_equal(n.a_pos, NEST_FLOOD_BYTES);
	assert_true(n.chunks >= 3);
	assert_int_equal(n.b_ok, n.chunks);
	assert_true(ph_plugin_alive(a) && ph_plugin_alive(b));
	ph_plugin_free(a);
	ph_plugin_free(b);
	tu_assert_unchanged(&before);
}

/* B's call ends in a plugin error while A is mid-stream: B's message is
 * B's own, B goes on echoing, A's call still ends OK. */
static void test_nested_b_fails(void **state)
{
	struct stress *s = *state;
	struct nest n = {.fail_at = 1,
			 .fail_method = "fail",
			 .fail_kind = PH_RESULT_PLUGIN_ERROR,
			 .after_kind = PH_RESULT_OK};
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin *a, *b;
	struct ph_result res;

	spawn_two(s, &a, &b);
	n.b = b;
	assert_int_equal(nest_run(a, "flood", NEST_FLOOD, &n, &res), 0);
	if (n.why[0])
		fail_msg("%s", n.why);
	assert_int_equal(res.kind, PH_RESULT_OK);
	assert_string_equal(res.message, "");
	assert_int_equal(res.code, 0);
	assert_int_equal(res.output_bytes, NEST_FLOOD_BYTES);
	assert_int_equal(n.b_failed, 1);
	/* Chunks came after the failure, and B echoed all of them. */
	assert_true(n.chunks >= 3);
	assert_int_equal(n.b_ok, n.chunks - 1);
	assert_true(ph_plugin_alive(a) && ph_plugin_alive(b));
	ph_plugin_free(a);
	ph_plugin_free(b);
	tu_assert_unchanged(&before);
}

/* B dies mid-stream: B's later calls return its end again, A ends OK. */
static void test_nested_b_dies(void **state)
{
	struct stress *s = *state;
	struct nest n = {.fail_at = 1,
			 .fail_method = "crash",
			 .fail_kind = PH_RESULT_CRASHED,
			 .after_kind = PH_RESULT_CRASHED};
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin *a, *b;
	struct ph_result res;

	spawn_two(s, &a, &b);
	n.b = b;
	assert_int_equal(nest_run(a, "flood", NEST_FLOOD, &n, &res), 0);
	if (n.why[0])
		fail_msg("%s", n.why);
	assert_int_equal(res.kind, PH_RESULT_OK);
	assert_string_equal(res.message, "");
	assert_int_equal(res.output_bytes, NEST_FLOOD_BYTES);
	assert_int_equal(n.b_failed, 1);
	assert_true(n.chunks >= 3);
	assert_int_equal(n.b_ok, 1); /* chunk 0, before B died */
	assert_true(ph_plugin_alive(a));
	assert_false(ph_plugin_alive(b));
	ph_plugin_free(a);
	ph_plugin_free(b);
	tu_assert_unchanged(&before);
}

/* A's own call ends badly (limits.so's stream_crash: 5 MiB, flushed chunk
 * by chunk, then SIGSEGV) while B's calls go well: A's result is A's, B's
 * are B's. */
static void test_nested_a_crashes(void **state)
{
	struct stress *s = *state;
	struct nest n = {.fail_at = -1, .after_kind = PH_RESULT_OK};
	struct tu_snapshot before = tu_snapshot();
	char *limits_path = tu_plugin_path("limits.so");
	struct ph_plugin *a = NULL, *b;
	struct ph_result res;

	b = spawn_echo(s, "B");
	assert_no_failures(s);
	assert_non_null(b);
	assert_int_equal(ph_plugin_spawn(host, limits_path, NULL, &a, &res), 0);
	free(limits_path);
	n.b = b;
	assert_int_equal(nest_run(a, "stream_crash", NULL, &n, &res), 0);
	if (n.why[0])
		fail_msg("%s", n.why);
	assert_int_equal(res.kind, PH_RESULT_CRASHED);
	assert_int_equal(res.crash.signo, SIGSEGV);
	/* What reached the callback is what the result counts (the end of
	 * the stream may be lost with the plugin), and B echoed all of it. */
	assert_int_equal(res.output_bytes, n.a_pos);
	assert_true(n.a_pos > 0 && n.a_pos <= 5u << 20);
	assert_true(n.chunks >= 1);
	assert_int_equal(n.b_ok, n.chunks);
	assert_false(ph_plugin_alive(a));
	assert_true(ph_plugin_alive(b));
	ph_plugin_free(a);
	ph_plugin_free(b);
	tu_assert_unchanged(&before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_nested_ok, stress_setup, stress_teardown),
	    cmocka_unit_test_setup_teardown(test_nested_b_fails, stress_setup, stress_teardown),
	    cmocka_unit_test_setup_teardown(test_nested_b_dies, stress_setup, stress_teardown),
	    cmocka_unit_test_setup_teardown(test_nested_a_crashes, stress_setup, stress_teardown),
	    cmocka_unit_test_setup_teardown(test_loop, stress_setup, stress_teardown),
	    cmocka_unit_test_setup_teardown(test_mix, stress_setup, stress_teardown),
	};

	return cmocka_run_group_tests_name("stress", tests, tu_setup_host, tu_teardown_host);
}
