/* SPDX-License-Identifier: MIT */
/*
 * Metrics (docs/metrics.md): the counters of an instance and of a host,
 * against real plugins whose every byte and ending the test knows: calls
 * by result kind, bytes in (inline, memfd and stream inputs) and out, CPU
 * after a spin, limits, violations, crashes, restarts, spawns and spawn
 * failures; the host's totals over freed and pooled instances, and under
 * threads calling at once; the size protocol of struct ph_metrics.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testhost.h"

static struct ph_metrics plugin_metrics(const struct ph_plugin *p)
{
	struct ph_metrics m = {.size = sizeof(m)};

	assert_int_equal(ph_plugin_metrics(p, &m), 0);
	assert_int_equal(m.size, sizeof(m));
	return m;
}

static struct ph_metrics host_metrics(struct ph_host *h)
{
	struct ph_metrics m = {.size = sizeof(m)};

	assert_int_equal(ph_host_metrics(h, &m), 0);
	return m;
}

static struct ph_blob *blob_of(const char *bytes, size_t len)
{
	struct ph_blob *b = NULL;

	assert_int_equal(ph_blob_new_from_bytes(bytes, len, &b), 0);
	return b;
}

/* Call method with inputs, collecting the output; returns its length. */
static size_t call(struct ph_plugin *p, const char *method, struct ph_blob *const *in, size_t n,
		   enum ph_result_kind want)
{
	struct ph_result res;
	void *out = NULL;
	size_t len = 0;

	assert_int_equal(ph_plugin_call_collect(p, method, in, n, &out, &len, &res), 0);
	if (res.kind != want) {
		char line[512];

		ph_result_describe(&res, line, sizeof(line));
		print_error("%s: %s, wanted %s\n", method, line, ph_result_kind_name(want));
	}
	assert_int_equal(res.kind, want);
	assert_int_equal(res.output_bytes, len);
	free(out);
	return len;
}

/* Ok calls and a plugin error: calls by kind, bytes in and out exact for
 * an inline input, a memfd one (above the inline size) and a stream. */
static void test_calls_and_bytes(void **state)
{
	struct ph_plugin *p = tu_spawn_ok("echo.so", NULL);
	char big[3000];
	struct ph_blob *in[2];
	struct ph_metrics m;
	size_t out = 0;

	(void)state;
	m = plugin_metrics(p);
	assert_int_equal(m.calls, 0);
	assert_int_equal(m.spawns, 1);
	assert_int_equal(m.bytes_in, 0);

	memset(big, 'x', sizeof(big));
	in[0] = blob_of("hello", 5);
	in[1] = blob_of(big, sizeof(big));
	out += call(p, "echo", in, 1, PH_RESULT_OK);
	out += call(p, "echo", in, 2, PH_RESULT_OK);
	out += call(p, "fail", NULL, 0, PH_RESULT_PLUGIN_ERROR);
	assert_int_equal(out, 5 + 5 + sizeof(big));

	m = plugin_metrics(p);
	assert_int_equal(m.calls, 3);
	assert_int_equal(m.results[PH_RESULT_OK], 2);
	assert_int_equal(m.results[PH_RESULT_PLUGIN_ERROR], 1);
	assert_int_equal(m.bytes_in, 5 + 5 + sizeof(big));
	assert_int_equal(m.bytes_out, out);
	/* A plugin error is the plugin's answer, not an end. */
	for (int k = 0; k < PH_METRICS_KINDS; k++)
		assert_int_equal(m.ends[k], 0);
	assert_int_equal(m.limits_hit + m.violations + m.crashes + m.restarts, 0);

	/* The event-loop API counts the same, once the result is taken. */
	{
		struct ph_result res;
		int r = 0;

		assert_int_equal(ph_plugin_submit(p, "echo", in, 1, NULL, NULL), 0);
		for (int i = 0; i < 1000 && r == 0; i++) {
			struct pollfd pfd = {.fd = ph_plugin_fd(p), .events = POLLIN};

			poll(&pfd, 1, 10);
			r = ph_plugin_process(p, &res);
		}
		assert_int_equal(r, 1);
		assert_int_equal(res.kind, PH_RESULT_OK);
		m = plugin_metrics(p);
		assert_int_equal(m.calls, 4);
		assert_int_equal(m.results[PH_RESULT_OK], 3);
		assert_int_equal(m.bytes_in, 5 + 5 + sizeof(big) + 5);
		assert_int_equal(m.bytes_out, out + 5);
	}
	ph_blob_free(in[0]);
	ph_blob_free(in[1]);
	ph_plugin_free(p);

	/* A stream: what the host fed, counted as it fed it. */
	{
		char path[] = "/tmp/ph-metrics-XXXXXX";
		int fd = mkstemp(path);
		struct ph_blob *s = NULL;
		static char data[300000];

		assert_true(fd >= 0);
		unlink(path);
		memset(data, 'y', sizeof(data));
		assert_int_equal(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
		assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
		p = tu_spawn_ok("stream.so", NULL);
		assert_int_equal(ph_blob_new_stream(fd, &s), 0);
		close(fd);
		out = call(p, "count", &s, 1, PH_RESULT_OK);
		m = plugin_metrics(p);
		assert_int_equal(m.bytes_in, sizeof(data));
		assert_int_equal(m.bytes_out, out);
		ph_blob_free(s);
		ph_plugin_free(p);
	}
}

/* A CPU limit and a timeout: each ends the instance once (its later
 * calls return the same end and count as calls of that kind), the CPU
 * the spin burnt is counted, and restarts are. */
static void test_limits_and_restart(void **state)
{
	struct ph_plugin_config cfg;
	struct ph_plugin *p;
	struct ph_metrics m;
	struct ph_limits lim;

	(void)state;
	ph_plugin_config_init(&cfg);
	cfg.limits.cpu_ms = 150;
	p = tu_spawn_ok("limits.so", &cfg);
	call(p, "spin", NULL, 0, PH_RESULT_CPU_LIMIT);
	call(p, "ok", NULL, 0, PH_RESULT_CPU_LIMIT); /* dead: its end again */
	m = plugin_metrics(p);
	assert_int_equal(m.calls, 2);
	assert_int_equal(m.results[PH_RESULT_CPU_LIMIT], 2);
	assert_int_equal(m.ends[PH_RESULT_CPU_LIMIT], 1);
	assert_int_equal(m.limits_hit, 1);
	/* It was killed at 150 ms of CPU: most of that is in the count. */
	assert_true(m.cpu_usec >= 100000);

	assert_int_equal(ph_plugin_restart(p, NULL), 0);
	lim = cfg.limits;
	lim.cpu_ms = 0;
	lim.timeout_ms = 100;
	assert_int_equal(ph_plugin_set_limits(p, &lim), 0);
	call(p, "ok", NULL, 0, PH_RESULT_OK);
	call(p, "sleep", NULL, 0, PH_RESULT_TIMEOUT);
	m = plugin_metrics(p);
	assert_int_equal(m.spawns, 2);
	assert_int_equal(m.restarts, 1);
	assert_int_equal(m.calls, 4);
	assert_int_equal(m.results[PH_RESULT_OK], 1);
	assert_int_equal(m.ends[PH_RESULT_TIMEOUT], 1);
	assert_int_equal(m.limits_hit, 2);
	/* The first process's CPU stays counted across the restart. */
	assert_true(m.cpu_usec >= 100000);
	ph_plugin_free(p);
}

/* A violation, a crash and a plugin that exits: one end each; the host
 * restarting or freeing an instance is no end. */
static void test_violation_crash_exit(void **state)
{
	struct ph_plugin *p = tu_spawn_ok("hostile.so", NULL);
	struct ph_blob *in = blob_of("open_passwd", 11);
	struct ph_metrics m;
	size_t out;

	(void)state;
	call(p, "attack", &in, 1, PH_RESULT_VIOLATION);
	m = plugin_metrics(p);
	assert_int_equal(m.violations, 1);
	assert_int_equal(m.ends[PH_RESULT_VIOLATION], 1);
	assert_int_equal(m.crashes + m.limits_hit, 0);
	ph_blob_free(in);
	ph_plugin_free(p);

	p = tu_spawn_ok("echo.so", NULL);
	/* What of its output reached the host before the crash, if any. */
	out = call(p, "crash", NULL, 0, PH_RESULT_CRASHED);
	assert_int_equal(ph_plugin_restart(p, NULL), 0);
	out += call(p, "exit", NULL, 0, PH_RESULT_EXITED);
	assert_int_equal(ph_plugin_restart(p, NULL), 0);
	/* A live instance restarted: the host killed it, which is no end. */
	assert_int_equal(ph_plugin_restart(p, NULL), 0);
	out += call(p, "echo", NULL, 0, PH_RESULT_OK);
	m = plugin_metrics(p);
	assert_int_equal(m.crashes, 1);
	assert_int_equal(m.ends[PH_RESULT_CRASHED], 1);
	assert_int_equal(m.ends[PH_RESULT_EXITED], 1);
	assert_int_equal(m.violations, 0);
	assert_int_equal(m.restarts, 3);
	assert_int_equal(m.spawns, 4);
	assert_int_equal(m.calls, 3);
	assert_int_equal(m.bytes_out, out);
	ph_plugin_free(p);
}

/* The host's totals: live and freed instances, a pool's, and spawns that
 * failed with and without an instance. A host of its own, so that the
 * totals are this test's alone. */
static void test_host_totals(void **state)
{
	struct ph_host *h;
	struct ph_plugin *a, *b, *c;
	struct ph_blob *in = blob_of("abc", 3);
	struct ph_pool *pool;
	struct ph_metrics m, ma;
	char *echo = tu_plugin_path("echo.so"), *ctor_crash = tu_plugin_path("ctor_crash.so");
	struct ph_result res;
	size_t out;

	(void)state;
	assert_int_equal(ph_host_new(NULL, &h), 0);
	m = host_metrics(h);
	assert_int_equal(m.spawns + m.calls + m.spawn_failures, 0);

	assert_int_equal(ph_plugin_spawn(h, echo, NULL, &a, &res), 0);
	assert_int_equal(ph_plugin_spawn(h, echo, NULL, &b, &res), 0);
	call(a, "echo", &in, 1, PH_RESULT_OK);
	call(b, "echo", &in, 1, PH_RESULT_OK);
	out = call(b, "crash", NULL, 0, PH_RESULT_CRASHED);
	ma = plugin_metrics(a);
	ph_plugin_free(b); /* its counters stay in the host's */
	assert_int_equal(ph_plugin_spawn(h, "/nonexistent/x.so", NULL, &c, &res), -ENOENT);
	assert_true(ph_plugin_spawn(h, ctor_crash, NULL, &c, &res) < 0);

	m = host_metrics(h);
	assert_int_equal(m.spawns, 2);
	assert_int_equal(m.spawn_failures, 2);
	assert_int_equal(m.calls, 3);
	assert_int_equal(m.bytes_in, 6);
	assert_int_equal(m.bytes_out, 6 + out);
	assert_int_equal(m.crashes, 1);
	assert_int_equal(m.results[PH_RESULT_OK], 2);
	assert_true(m.cpu_usec >= ma.cpu_usec);

	/* A pool's instances are the host's too, taken or ready. */
	assert_int_equal(ph_pool_new(h, echo, NULL, 2, &pool, &res), 0);
	assert_int_equal(ph_pool_take(pool, &c, &res), 0);
	call(c, "echo", &in, 1, PH_RESULT_OK);
	/* Kept for the next taker, then killed from outside while it waits:
	 * the next take throws it away for a fresh one, a restart. */
	assert_int_equal(ph_pool_set_reuse(pool, 1), 0);
	ph_pool_put(pool, c);
	assert_true(ph_plugin_process_pid(c) > 0);
	assert_int_equal(kill(ph_plugin_process_pid(c), SIGKILL), 0);
	for (int i = 0; i < 100 && ph_plugin_alive(c); i++) {
		struct pollfd pfd = {.fd = ph_plugin_fd(c), .events = POLLIN};

		poll(&pfd, 1, 50);
		assert_true(ph_plugin_process(c, &res) >= 0);
	}
	assert_false(ph_plugin_alive(c));
	assert_int_equal(ph_pool_take(pool, &c, &res), 0);
	assert_true(ph_plugin_alive(c));
	ph_pool_put(pool, c);
	m = host_metrics(h);
	assert_int_equal(m.spawns, 4);
	assert_int_equal(m.restarts, 1);
	assert_int_equal(m.crashes, 2);
	assert_int_equal(m.calls, 4);
	assert_int_equal(m.bytes_in, 9);
	ph_pool_free(pool);
	ph_plugin_free(a);
	m = host_metrics(h);
	assert_int_equal(m.spawns, 4);
	assert_int_equal(m.calls, 4);
	ph_host_free(h);
	ph_blob_free(in);
	free(echo);
	free(ctor_crash);
}

#define THREADS		  4
#define CALLS_PER_THREAD  40
#define THREAD_INPUT_BASE 100

struct worker {
	struct ph_host *h;
	const char *path;
	int id;
	struct ph_metrics m; /* its instance's, just before its free */
};

static void *worker(void *arg)
{
	struct worker *w = arg;
	const size_t len = THREAD_INPUT_BASE + (size_t)w->id;
	char *buf = calloc(1, len);
	struct ph_plugin *p;
	struct ph_blob *in;
	struct ph_result res;

	if (!buf || ph_plugin_spawn(w->h, w->path, NULL, &p, &res) < 0)
		return (void *)1;
	if (ph_blob_new_from_bytes(buf, len, &in) < 0)
		return (void *)1;
	for (int i = 0; i < CALLS_PER_THREAD; i++)
		if (ph_plugin_call(p, "echo", &in, 1, NULL, NULL, &res) < 0 ||
		    res.kind != PH_RESULT_OK)
			return (void *)1;
	w->m.size = sizeof(w->m);
	if (ph_plugin_metrics(p, &w->m) < 0)
		return (void *)1;
	ph_plugin_free(p);
	ph_blob_free(in);
	free(buf);
	return NULL;
}

/* Threads calling at once on one host while another reads its totals:
 * the totals are the sum of what each instance counted (and, under
 * ThreadSanitizer, no read races a write). */
static void test_threads(void **state)
{
	struct worker w[THREADS];
	pthread_t t[THREADS];
	struct ph_host *h;
	struct ph_metrics m;
	char *echo = tu_plugin_path("echo.so");
	uint64_t bytes = 0;

	(void)state;
	assert_int_equal(ph_host_new(NULL, &h), 0);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){.h = h, .path = echo, .id = i};
		assert_int_equal(pthread_create(&t[i], NULL, worker, &w[i]), 0);
	}
	/* Read while they run: every figure only grows. */
	for (uint64_t last = 0, i = 0; i < 200; i++) {
		m = host_metrics(h);
		assert_true(m.calls >= last);
		last = m.calls;
		usleep(500);
	}
	for (int i = 0; i < THREADS; i++) {
		void *ret;

		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_null(ret);
		assert_int_equal(w[i].m.calls, CALLS_PER_THREAD);
		assert_int_equal(w[i].m.bytes_in,
				 CALLS_PER_THREAD * (uint64_t)(THREAD_INPUT_BASE + i));
		bytes += w[i].m.bytes_in;
	}
	m = host_metrics(h);
	assert_int_equal(m.calls, THREADS * CALLS_PER_THREAD);
	assert_int_equal(m.results[PH_RESULT_OK], THREADS * CALLS_PER_THREAD);
	assert_int_equal(m.bytes_in, bytes);
	assert_int_equal(m.bytes_out, bytes);
	assert_int_equal(m.spawns, THREADS);
	ph_host_free(h);
	free(echo);
}

/* The size protocol: a smaller struct gets a prefix, a larger one its
 * tail zeroed; bad sizes and NULLs are refused; the JSON names them. */
static void test_size_and_args(void **state)
{
	struct ph_plugin *p = tu_spawn_ok("echo.so", NULL);
	struct ph_blob *in = blob_of("abcd", 4);
	struct {
		struct ph_metrics m;
		uint64_t newer[8];
	} big;
	struct ph_metrics m;
	char json[4096];
	int n;

	(void)state;
	call(p, "echo", &in, 1, PH_RESULT_OK);

	/* Only size and calls: nothing past them is written. */
	memset(&m, 0xaa, sizeof(m));
	m.size = offsetof(struct ph_metrics, calls) + sizeof(m.calls);
	assert_int_equal(ph_plugin_metrics(p, &m), 0);
	assert_int_equal(m.size, 16);
	assert_int_equal(m.calls, 1);
	assert_int_equal(m.bytes_in, 0xaaaaaaaaaaaaaaaaull);

	memset(&m, 0xaa, sizeof(m));
	m.size = offsetof(struct ph_metrics, bytes_out) + sizeof(m.bytes_out);
	assert_int_equal(ph_host_metrics(host, &m), 0);
	assert_int_equal(m.size, offsetof(struct ph_metrics, cpu_usec));
	assert_true(m.bytes_out >= 4);
	assert_int_equal(m.cpu_usec, 0xaaaaaaaaaaaaaaaaull);

	/* A newer caller's larger struct: ours filled, the rest zeroed. */
	memset(&big, 0xaa, sizeof(big));
	big.m.size = sizeof(big);
	assert_int_equal(ph_plugin_metrics(p, &big.m), 0);
	assert_int_equal(big.m.size, sizeof(struct ph_metrics));
	assert_int_equal(big.m.bytes_in, 4);
	assert_int_equal(big.m.reserved0, 0);
	for (size_t i = 0; i < 8; i++) {
		assert_int_equal(big.m.reserved[i], 0);
		assert_int_equal(big.newer[i], 0);
	}

	for (uint32_t bad_size = 0; bad_size <= 24; bad_size++) {
		if (bad_size == 16 || bad_size == 24)
			continue;
		m.size = bad_size;
		assert_int_equal(ph_plugin_metrics(p, &m), -EINVAL);
		assert_int_equal(ph_host_metrics(host, &m), -EINVAL);
	}
	m.size = 8192;
	assert_int_equal(ph_plugin_metrics(p, &m), -EINVAL);
	m.size = sizeof(m);
	assert_int_equal(ph_plugin_metrics(NULL, &m), -EINVAL);
	assert_int_equal(ph_plugin_metrics(p, NULL), -EINVAL);
	assert_int_equal(ph_host_metrics(NULL, &m), -EINVAL);
	assert_int_equal(ph_host_metrics(host, NULL), -EINVAL);

	m = plugin_metrics(p);
	n = ph_metrics_to_json(&m, json, sizeof(json));
	assert_true(n > 0 && (size_t)n < sizeof(json));
	assert_int_equal(ph_metrics_to_json(&m, NULL, 0), n); /* snprintf-like */
	assert_non_null(strstr(json, "{\"calls\":1,\"bytes_in\":4,\"bytes_out\":4,"));
	assert_non_null(strstr(json, "\"results\":{\"ok\":1,\"plugin-error\":0,"));
	assert_non_null(strstr(json, "\"ends\":{\"ok\":0,"));
	assert_int_equal(json[n - 1], '}');
	assert_int_equal(ph_metrics_to_json(NULL, json, sizeof(json)), -EINVAL);
	assert_int_equal(ph_metrics_to_json(&m, NULL, 10), -EINVAL);
	m.size = 16; /* a prefix has no counters to print */
	assert_int_equal(ph_metrics_to_json(&m, json, sizeof(json)), -EINVAL);
	ph_blob_free(in);
	ph_plugin_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_calls_and_bytes),
	    cmocka_unit_test(test_limits_and_restart),
	    cmocka_unit_test(test_violation_crash_exit),
	    cmocka_unit_test(test_host_totals),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_size_and_args),
	};

	return cmocka_run_group_tests(tests, tu_setup_host, tu_teardown_host);
}
