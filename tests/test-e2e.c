/* SPDX-License-Identifier: MIT */
/*
 * End-to-end tests: real plugins in real child processes through the public
 * API. Each test checks the exact result, and that the host is left as it
 * was: no fd, child or mapping leaked.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <errno.h>
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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <plughost/host.h>

#include "wire.h" /* PH_WIRE_ABI, for the version-mismatch message */

#include "testhost.h"

static struct ph_plugin *spawn_ring(const char *name, size_t ring)
{
	struct ph_plugin_config cfg;

	ph_plugin_config_init(&cfg);
	cfg.ring_size = ring;
	return tu_spawn_ok(name, &cfg);
}

static struct ph_plugin *spawn(const char *name)
{
	return spawn_ring(name, 0);
}

static struct ph_blob *blob_of(const void *data, size_t len)
{
	struct ph_blob *b;

	assert_int_equal(ph_blob_new_from_bytes(data, len, &b), 0);
	return b;
}

static void call_ok(struct ph_plugin *p, const char *method, struct ph_blob **in, size_t n,
		    void **out, size_t *out_len)
{
	struct ph_result res;

	assert_int_equal(ph_plugin_call_collect(p, method, in, n, out, out_len, &res), 0);
	if (res.kind != PH_RESULT_OK) {
		char line[512];
		ph_result_describe(&res, line, sizeof(line));
		fail_msg("%s: %s", method, line);
	}
	assert_int_equal(res.output_bytes, *out_len);
}

/* ------------------------------------------------------------------ tests */

static void test_upper_empty_and_one_byte(void **state)
{
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin *p = spawn("upper.so");
	struct ph_blob *empty = blob_of(NULL, 0), *one = blob_of("q", 1);
	void *out;
	size_t len;
	(void)state;

	call_ok(p, "upper", &empty, 1, &out, &len);
	assert_int_equal(len, 0);
	free(out);
	call_ok(p, "upper", &one, 1, &out, &len);
	assert_int_equal(len, 1);
	assert_memory_equal(out, "Q", 1);
	free(out);
	/* No inputs at all is fine too. */
	call_ok(p, "upper", NULL, 0, &out, &len);
	assert_int_equal(len, 0);
	free(out);

	ph_plugin_free(p);
	ph_blob_free(empty);
	ph_blob_free(one);
	tu_assert_unchanged(&before);
}

static void test_sha256_empty_and_one_byte(void **state)
{
	struct ph_plugin *p = spawn("sha256.so");
	struct ph_blob *empty = blob_of(NULL, 0), *one = blob_of("a", 1);
	void *out;
	size_t len;
	(void)state;

	call_ok(p, "sha256", &empty, 1, &out, &len);
	assert_string_equal(
	    out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  -\n");
	free(out);
	call_ok(p, "sha256", &one, 1, &out, &len);
	assert_string_equal(
	    out, "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb  -\n");
	free(out);
	ph_plugin_free(p);
	ph_blob_free(empty);
	ph_blob_free(one);
}

/* The C++ sample: PH_PLUGIN() exported its descriptor from C++, and the
 * standard library (a hash map, strings, sort) works in the sandbox. */
static void test_cxx_plugin(void **state)
{
	static const char text[] = "The cat and the hat; THE end. Cat!";
	struct ph_plugin *p = spawn("wordfreq.so");
	struct ph_blob *in = blob_of(text, sizeof(text) - 1), *two[2];
	void *out;
	size_t len;
	(void)state;

	assert_string_equal(ph_plugin_name(p), "wordfreq");
	call_ok(p, "top", &in, 1, &out, &len);
	assert_string_equal(out, "3 the\n2 cat\n1 and\n1 end\n1 hat\n");
	free(out);
	/* Two inputs are two texts: a word does not run across them. */
	two[0] = blob_of("ab", 2);
	two[1] = blob_of("c ab", 4);
	call_ok(p, "top", two, 2, &out, &len);
	assert_string_equal(out, "2 ab\n1 c\n");
	free(out);
	ph_plugin_free(p);
	ph_blob_free(in);
	ph_blob_free(two[0]);
	ph_blob_free(two[1]);
}

/* 100 MiB through upper, filled in place (no extra copy), checked
 * byte-for-byte as it streams back. */
static void test_upper_100mib(void **state)
{
	const size_t size = 100u << 20;
	struct ph_plugin *p = spawn("upper.so");
	struct ph_blob *blob;
	struct ph_result res;
	struct tu_upper_check chk = {0};
	uint8_t *data, *copy;
	uint32_t x = 12345;
	(void)state;

	assert_int_equal(ph_blob_new(size, &blob), 0);
	data = ph_blob_data(blob);
	assert_non_null(data);
	for (size_t i = 0; i < size; i++) {
		x = x * 1103515245u + 12345u;
		data[i] = (uint8_t)(x >> 16);
	}
	copy = malloc(size);
	assert_non_null(copy);
	memcpy(copy, data, size);
	assert_int_equal(ph_blob_seal(blob), 0);
	assert_null(ph_blob_data(blob));
	chk.in = copy;

	assert_int_equal(ph_plugin_call(p, "upper", &blob, 1, tu_check_upper, &chk, &res), 0);
	assert_int_equal(res.kind, PH_RESULT_OK);
	assert_int_equal(chk.bad, 0);
	assert_int_equal(chk.pos, size);
	assert_int_equal(res.output_bytes, size);

	free(copy);
	ph_blob_free(blob);
	ph_plugin_free(p);
}

/* Output 2,500 times the ring: back-pressure must hold it, in order. */
static void test_output_larger_than_ring(void **state)
{
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin *p = spawn_ring("echo.so", 4096);
	struct ph_blob *n = blob_of("10240000", 8);
	struct ph_result res;
	size_t pos = 0;
	(void)state;

	assert_int_equal(ph_plugin_call(p, "flood", &n, 1, tu_check_pattern, &pos, &res), 0);
	assert_int_equal(res.kind, PH_RESULT_OK);
	assert_int_equal(pos, 10240000);
	assert_int_equal(res.output_bytes, 10240000);
	ph_plugin_free(p);
	ph_blob_free(n);
	tu_assert_unchanged(&before);
}

static int refuse_output(void *userdata, const void *buf, size_t len)
{
	(void)buf;
	(void)len;
	++*(int *)userdata;
	return -ECANCELED;
}

/* A callback that refuses output abandons the call: the plugin is killed
 * and the result says why. */
static void test_output_callback_abandons(void **state)
{
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin *p = spawn("echo.so");
	struct ph_blob *n = blob_of("100000", 6);
	struct ph_result res;
	int calls = 0;
	(void)state;

	assert_int_equal(ph_plugin_call(p, "flood", &n, 1, refuse_output, &calls, &res), 0);
	assert_int_equal(calls, 1);
	/* The host's failure, not the plugin's: no crash is reported. */
	assert_int_equal(res.kind, PH_RESULT_OUTPUT_FAILED);
	assert_int_equal(res.code, ECANCELED);
	assert_non_null(strstr(res.message, "output callback failed"));
	assert_false(ph_plugin_alive(p));
	ph_plugin_free(p);
	ph_blob_free(n);
	tu_assert_unchanged(&before);
}

struct accept_first {
	size_t accepted;
	int calls;
};

static int accept_first(void *userdata, const void *buf, size_t len)
{
	struct accept_first *a = userdata;

	(void)buf;
	if (a->calls++ > 0)
		return -ECANCELED;
	a->accepted += len;
	return 0;
}

/* output_bytes counts what the callback accepted: not the chunk it
 * refused, nor what the dying plugin left in the ring after that (it once
 * counted both). */
static void test_output_bytes_counts_only_accepted(void **state)
{
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin *p = spawn("echo.so");
	struct ph_blob *n = blob_of("100000", 6);
	struct accept_first a = {0};
	struct ph_result res;
	(void)state;

	assert_int_equal(ph_plugin_call(p, "flood", &n, 1, accept_first, &a, &res), 0);
	assert_int_equal(a.calls, 2);
	assert_true(a.accepted > 0);
	assert_int_equal(res.kind, PH_RESULT_OUTPUT_FAILED);
	assert_non_null(strstr(res.message, "output callback failed"));
	assert_int_equal(res.output_bytes, a.accepted);
	ph_plugin_free(p);
	ph_blob_free(n);
	tu_assert_unchanged(&before);
}

static void test_thousand_calls(void **state)
{
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin *p = spawn("echo.so");
	(void)state;

	for (int i = 0; i < 1000; i++) {
		char text[32];
		int n = snprintf(text, sizeof(text), "call %d", i);
		struct ph_blob *b = blob_of(text, (size_t)n);
		void *out;
		size_t len;

		call_ok(p, "echo", &b, 1, &out, &len);
		assert_int_equal(len, (size_t)n);
		assert_memory_equal(out, text, len);
		free(out);
		ph_blob_free(b);
	}
	assert_true(ph_plugin_alive(p));
	ph_plugin_free(p);
	tu_assert_unchanged(&before);
}

static void test_many_inputs(void **state)
{
	struct ph_plugin *p = spawn("echo.so");
	struct ph_blob *in[3] = {blob_of("hello", 5), blob_of(NULL, 0), blob_of("xy", 2)};
	void *out;
	size_t len;
	(void)state;

	call_ok(p, "count", in, 3, &out, &len);
	assert_string_equal(out, "n=3 5 0 2\n");
	free(out);
	call_ok(p, "echo", in, 3, &out, &len);
	assert_string_equal(out, "helloxy");
	free(out);
	for (int i = 0; i < 3; i++)
		ph_blob_free(in[i]);
	ph_plugin_free(p);
}

/* A big blob passed to several calls is mapped once and kept: the runner
 * still holds A's mapping when B arrives, so B lands elsewhere, and A's
 * second call finds the very mapping of its first. Small inputs travel
 * inline, so a mix of the two reaches the plugin intact. */
static void test_inputs_kept_mapped(void **state)
{
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin *p = spawn("echo.so");
	const size_t big = 1u << 20;
	char *bytes = malloc(big);
	struct ph_blob *a, *b, *small[2];
	char addr_a1[64], addr_a2[64], addr_b[64];
	void *out;
	size_t len;
	(void)state;

	assert_non_null(bytes);
	memset(bytes, 'a', big);
	a = blob_of(bytes, big);
	memset(bytes, 'b', big);
	b = blob_of(bytes, big);
	call_ok(p, "addr", &a, 1, &out, &len);
	snprintf(addr_a1, sizeof(addr_a1), "%s", (char *)out);
	free(out);
	call_ok(p, "addr", &b, 1, &out, &len);
	snprintf(addr_b, sizeof(addr_b), "%s", (char *)out);
	free(out);
	call_ok(p, "addr", &a, 1, &out, &len);
	snprintf(addr_a2, sizeof(addr_a2), "%s", (char *)out);
	free(out);
	print_message("  a: %s, b: %s, a again: %s\n", addr_a1, addr_b, addr_a2);
	assert_string_equal(addr_a1, addr_a2);
	assert_string_not_equal(addr_a1, addr_b);
	/* The checksums say the bytes are each blob's own. */
	assert_non_null(strstr(addr_a1, " 24832"));
	assert_non_null(strstr(addr_b, " 25088"));

	/* Freed on the host, still mapped in the instance until dropped. */
	ph_blob_free(a);
	ph_blob_free(b);
	assert_int_equal(ph_plugin_drop_inputs(p), 0);
	assert_int_equal(ph_plugin_drop_inputs(NULL), -EINVAL);
	small[0] = blob_of("tiny", 4);
	small[1] = blob_of(bytes, big);
	call_ok(p, "echo", small, 2, &out, &len);
	assert_int_equal(len, 4 + big);
	assert_memory_equal(out, "tinybbbb", 8);
	free(out);
	ph_blob_free(small[0]);
	ph_blob_free(small[1]);
	free(bytes);
	ph_plugin_free(p);
	tu_assert_unchanged(&before);
}

/* Instances forked from a zygote: each its own process with its own
 * sandbox report, the same layers as a cold one, its steps timed from the
 * fork; siblings of one zygote, separate zygotes for separate shapes, and
 * nothing left behind once freed. */
static void test_zygote_instances(void **state)
{
	struct tu_snapshot before = tu_snapshot();
	struct ph_host *h;
	struct ph_plugin_config cfg;
	struct ph_plugin *cold, *w[3], *other;
	struct ph_spawn_times t;
	struct ph_result res;
	char *path = tu_plugin_path("echo.so");
	void *out;
	size_t len;
	(void)state;

	/* A host of its own: its zygotes go with it. */
	assert_int_equal(ph_host_new(NULL, &h), 0);
	ph_plugin_config_init(&cfg);
	assert_int_equal((ph_plugin_spawn)(h, path, &cfg, &cold, &res), 0);
	assert_int_equal(ph_plugin_spawn_times(cold, &t), 0);
	assert_int_equal(t.zygote, 0);
	cfg.zygote = 1;
	for (int i = 0; i < 3; i++) {
		assert_int_equal((ph_plugin_spawn)(h, path, &cfg, &w[i], &res), 0);
		assert_int_equal(ph_plugin_spawn_times(w[i], &t), 0);
		if (!(ph_plugin_layers(cold) & PH_LAYER_PIDNS)) {
			/* No pid namespace (a profile without one): no zygote,
			 * and the spawn is a cold one. */
			assert_int_equal(t.zygote, 0);
			continue;
		}
		assert_int_equal(t.zygote, 1);
		assert_true(t.step_ns[PH_SPAWN_FORK] > 0 && t.step_ns[PH_SPAWN_LOAD] > 0);
		assert_int_equal(t.step_ns[PH_SPAWN_MOUNTS], 0);
		print_message("  warm spawn %d: %.0f us (fork %.0f, seccomp %.0f, load %.0f)\n", i,
			      t.total_ns / 1e3, t.step_ns[PH_SPAWN_FORK] / 1e3,
			      t.step_ns[PH_SPAWN_SECCOMP] / 1e3, t.step_ns[PH_SPAWN_LOAD] / 1e3);
		/* The same sandbox as a cold instance, and a process of its own. */
		assert_int_equal(ph_plugin_layers(w[i]), ph_plugin_layers(cold));
		assert_true(ph_plugin_process_pid(w[i]) > 0);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(ph_plugin_process_pid(w[i]),
					     ph_plugin_process_pid(w[j]));
	}
	for (int i = 0; i < 3; i++) {
		call_ok(w[i], "echo", NULL, 0, &out, &len);
		free(out);
	}
	/* One dies: its siblings go on. */
	assert_int_equal(ph_plugin_call_collect(w[1], "crash", NULL, 0, &out, &len, &res), 0);
	free(out);
	assert_int_equal(res.kind, PH_RESULT_CRASHED);
	assert_int_equal(res.crash.signo, SIGSEGV);
	call_ok(w[0], "echo", NULL, 0, &out, &len);
	free(out);
	call_ok(w[2], "echo", NULL, 0, &out, &len);
	free(out);
	/* Restart forks again. */
	assert_int_equal(ph_plugin_restart(w[1], &res), 0);
	call_ok(w[1], "echo", NULL, 0, &out, &len);
	free(out);
	/* Another shape: another zygote, not the first one's. */
	cfg.limits.max_fds = 32;
	assert_int_equal((ph_plugin_spawn)(h, path, &cfg, &other, &res), 0);
	call_ok(other, "echo", NULL, 0, &out, &len);
	free(out);
	ph_plugin_free(other);
	for (int i = 0; i < 3; i++)
		ph_plugin_free(w[i]);
	ph_plugin_free(cold);
	ph_host_free(h);
	free(path);
	tu_assert_unchanged(&before);
}

static void test_crash_mid_call(void **state)
{
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin *p = spawn("echo.so");
	struct ph_result res;
	void *out;
	size_t len;
	(void)state;

	assert_int_equal(ph_plugin_call_collect(p, "crash", NULL, 0, &out, &len, &res), 0);
	assert_int_equal(res.kind, PH_RESULT_CRASHED);
	assert_int_equal(res.crash.signo, SIGSEGV);
	/* The kernel's own account of the fault, through the plugin's init.
	 * Without a pid namespace (docker-default; no-userns as nobody)
	 * there is no init to hear it: the host then knows the signal only,
	 * and says nothing about the fault rather than guess. */
	if (ph_plugin_layers(p) & PH_LAYER_PIDNS) {
		assert_int_equal(res.crash.si_code, SEGV_MAPERR);
		assert_int_equal(res.crash.addr, 0x40);
	} else {
		const char *profile = getenv("PH_CONFINE_PROFILE");

		assert_non_null(profile);
		assert_true(!strcmp(profile, "docker-default") ||
			    (!strcmp(profile, "no-userns") && geteuid() != 0));
		assert_int_equal(res.crash.si_code, 0);
		assert_int_equal(res.crash.addr, 0);
	}
	/* What it published before dying still arrives, intact. */
	assert_true(len <= 1000);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(((char *)out)[i], 'a' + (char)(i % 26));
	free(out);
	assert_false(ph_plugin_alive(p));

	/* A dead instance answers with how it died, and takes no call. */
	assert_int_equal(ph_plugin_call(p, "echo", NULL, 0, NULL, NULL, &res), 0);
	assert_int_equal(res.kind, PH_RESULT_CRASHED);
	ph_plugin_free(p);
	tu_assert_unchanged(&before);

	/* The host is healthy: a new instance works. */
	p = spawn("echo.so");
	{
		struct ph_blob *b = blob_of("still fine", 10);
		call_ok(p, "echo", &b, 1, &out, &len);
		assert_string_equal(out, "still fine");
		free(out);
		ph_blob_free(b);
	}
	ph_plugin_free(p);
	tu_assert_unchanged(&before);
}

static void test_exit_and_abort(void **state)
{
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin *p = spawn("echo.so");
	struct ph_result res;
	(void)state;

	assert_int_equal(ph_plugin_call(p, "exit", NULL, 0, NULL, NULL, &res), 0);
	assert_int_equal(res.kind, PH_RESULT_EXITED);
	assert_int_equal(res.code, 3);
	ph_plugin_free(p);

	p = spawn("echo.so");
	assert_int_equal(ph_plugin_call(p, "abort", NULL, 0, NULL, NULL, &res), 0);
	assert_int_equal(res.kind, PH_RESULT_CRASHED);
	assert_int_equal(res.crash.signo, SIGABRT);
	/* abort() is a signal it sent itself, not a fault: no address. */
	assert_int_equal(res.crash.si_code, 0);
	assert_int_equal(res.crash.addr, 0);
	ph_plugin_free(p);
	tu_assert_unchanged(&before);
}

static void test_plugin_error(void **state)
{
	struct ph_plugin *p = spawn("echo.so");
	struct ph_result res;
	char line[256];
	(void)state;

	assert_int_equal(ph_plugin_call(p, "fail", NULL, 0, NULL, NULL, &res), 0);
	assert_int_equal(res.kind, PH_RESULT_PLUGIN_ERROR);
	assert_int_equal(res.code, 42);
	assert_string_equal(res.message, "asked to fail");
	ph_result_describe(&res, line, sizeof(line));
	assert_string_equal(line, "returned error 42: asked to fail");
	/* An error is not a death: the instance goes on. */
	assert_true(ph_plugin_alive(p));
	assert_int_equal(ph_plugin_call(p, "echo", NULL, 0, NULL, NULL, &res), 0);
	assert_int_equal(res.kind, PH_RESULT_OK);
	ph_plugin_free(p);
}

struct logged {
	int lines;
	char last[256];
};

static void on_log(void *userdata, const struct ph_plugin *instance, enum ph_level sev,
		   const char *line)
{
	struct logged *l = userdata;

	/* The host's own debug notes (the clone fallback, say) are not the
	 * plugin's lines. */
	if (!instance && sev == PH_DEBUG)
		return;
	assert_non_null(instance);
	assert_int_equal(sev, PH_INFO);
	l->lines++;
	snprintf(l->last, sizeof(l->last), "%s", line);
}

static void test_log(void **state)
{
	struct ph_host_config cfg;
	struct ph_host *h;
	struct ph_plugin *p;
	struct ph_result res;
	struct logged l = {0};
	char *path = tu_plugin_path("echo.so");
	(void)state;

	ph_host_config_init(&cfg);
	cfg.log_fn = on_log;
	cfg.log_userdata = &l;
	assert_int_equal(ph_host_new(&cfg, &h), 0);
	assert_int_equal(ph_plugin_spawn(h, path, NULL, &p, &res), 0);
	assert_int_equal(ph_plugin_call(p, "log", NULL, 0, NULL, NULL, &res), 0);
	assert_int_equal(res.kind, PH_RESULT_OK);
	assert_int_equal(l.lines, 1);
	assert_string_equal(l.last, "hello log");
	ph_plugin_free(p);
	ph_host_free(h);
	free(path);
}

static void expect_spawn_failure(const char *file, int want_r, int want_step, const char *want)
{
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin *p = NULL;
	struct ph_result res;
	char *path = tu_plugin_path(file);

	assert_int_equal(ph_plugin_spawn(host, path, NULL, &p, &res), want_r);
	assert_null(p);
	assert_int_equal(res.kind, PH_RESULT_SETUP_FAILED);
	assert_int_equal(res.setup_step, want_step);
	if (!strstr(res.message, want))
		fail_msg("message '%s' lacks '%s'", res.message, want);
	free(path);
	tu_assert_unchanged(&before);
}

static void test_bad_plugins(void **state)
{
	(void)state;
	/* The runner finds these after SANDBOXED, where plugin code may
	 * already have run: the host reports them as the plugin's word. */
	expect_spawn_failure("nodesc.so", -EPROTO, 10 /* load */,
			     "the plugin failed to load (reported by the sandboxed process): "
			     "not a plughost plugin (missing descriptor");
	expect_spawn_failure("badabi.so", -EPROTO, 10,
			     "plugin ABI 999, newer than this runner's ABI 2");
	/* Built by plughost 0.1's SDK: refused, never served. */
	expect_spawn_failure("oldabi.so", -EPROTO, 10,
			     "plugin ABI 1 (it exports 'plughost_plugin_v1')");
	expect_spawn_failure("no-such-plugin.so", -ENOENT, 10 /* load */,
			     "No such file or directory");
	/* Not ELF at all. */
	expect_spawn_failure("/etc/passwd", -ENOEXEC, 10, "not an ELF file");
}

/* A runner from another build: the host names the mismatch and both
 * versions, instead of calling it a protocol violation. */
static void test_runner_version_mismatch(void **state)
{
	struct tu_snapshot before = tu_snapshot();
	struct ph_host *h;
	struct ph_plugin *p = NULL;
	struct ph_result res;
	char *path = tu_plugin_path("echo.so");
	(void)state;

	h = tu_host_with_runner("PH_FAKE_RUNNER");
	assert_int_equal(ph_plugin_spawn(h, path, NULL, &p, &res), -EPROTO);
	assert_null(p);
	assert_int_equal(res.kind, PH_RESULT_SETUP_FAILED);
	assert_int_equal(res.setup_step, PH_STEP_PROTOCOL);
	{
		char want[96];

		snprintf(want, sizeof(want), "speaks wire protocol 99, this libplughost speaks %u",
			 PH_WIRE_ABI);
		if (!strstr(res.message, want))
			fail_msg("message: %s", res.message);
	}
	ph_host_free(h);
	free(path);
	tu_assert_unchanged(&before);
}

static void test_constructor_crash(void **state)
{
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin *p = NULL;
	struct ph_result res;
	char *path = tu_plugin_path("ctor_crash.so");
	(void)state;

	assert_int_equal(ph_plugin_spawn(host, path, NULL, &p, &res), -EPROTO);
	assert_null(p);
	assert_int_equal(res.kind, PH_RESULT_CRASHED);
	assert_int_equal(res.crash.signo, SIGABRT);
	free(path);
	tu_assert_unchanged(&before);
}

static void test_api_misuse(void **state)
{
	struct ph_plugin *p = spawn("echo.so");
	struct ph_blob *unsealed, *b = blob_of("x", 1);
	struct ph_result res;
	char method[200];
	(void)state;

	assert_int_equal(ph_blob_new(10, &unsealed), 0);
	assert_int_equal(ph_plugin_call(p, "echo", &unsealed, 1, NULL, NULL, &res), -EINVAL);
	assert_int_equal(ph_plugin_call(p, "nope", &b, 1, NULL, NULL, &res), -ENOENT);
	assert_int_equal(ph_plugin_call(p, "", NULL, 0, NULL, NULL, &res), -EINVAL);
	memset(method, 'm', sizeof(method) - 1);
	method[sizeof(method) - 1] = '\0';
	assert_int_equal(ph_plugin_call(p, method, NULL, 0, NULL, NULL, &res), -EINVAL);
	assert_int_equal(ph_plugin_call(p, "echo", NULL, 17, NULL, NULL, &res), -EINVAL);
	assert_int_equal(ph_blob_seal(unsealed), 0);
	assert_int_equal(ph_blob_seal(unsealed), -EALREADY);
	assert_int_equal(ph_plugin_call(p, "echo", &unsealed, 1, NULL, NULL, &res), 0);
	assert_int_equal(res.kind, PH_RESULT_OK);
	assert_int_equal(res.output_bytes, 10);

	{
		struct ph_plugin_config cfg;
		struct ph_plugin *q = NULL;
		char *path = tu_plugin_path("echo.so");

		ph_plugin_config_init(&cfg);
		cfg.ring_size = 5000; /* not a power of two */
		assert_int_equal(ph_plugin_spawn(host, path, &cfg, &q, &res), -EINVAL);
		assert_null(q);
		free(path);
	}
	ph_plugin_free(NULL);
	ph_blob_free(NULL);
	ph_blob_free(unsealed);
	ph_blob_free(b);
	ph_plugin_free(p);
}

/* A failed spawn-like call left a setup failure in res naming what. The
 * result is poisoned first: a call that says nothing cannot pass. */
#define assert_setup_failure(call, err, text)                                                      \
	do {                                                                                       \
		memset(&res, 0x5a, sizeof(res));                                                   \
		assert_int_equal((call), (err));                                                   \
		assert_int_equal(res.kind, PH_RESULT_SETUP_FAILED);                                \
		assert_non_null(memchr(res.message, '\0', sizeof(res.message)));                   \
		if (!strstr(res.message, (text)))                                                  \
			fail_msg("message '%s' does not say '%s'", res.message, (text));           \
	} while (0)

static void count_log(void *userdata, const struct ph_plugin *instance, enum ph_level severity,
		      const char *line)
{
	(void)instance;
	if (severity == PH_ERROR && strstr(line, "ph_host_config.reserved[7]"))
		++*(int *)userdata;
}

/*
 * Holes 7 and 8: every early failure of spawn, restart and the pools says
 * what was wrong in ret_failure, and nonzero reserved fields are refused,
 * naming the field.
 */
static void test_spawn_failures_explained(void **state)
{
	struct tu_snapshot before = tu_snapshot();
	char *path = tu_plugin_path("echo.so");
	struct ph_plugin_config cfg;
	struct ph_host_config hcfg;
	struct ph_plugin *q = NULL, *p;
	struct ph_pool *pool = NULL;
	struct ph_host *h = NULL;
	struct ph_limits lim = {0};
	struct ph_result res;
	int logged = 0;
	(void)state;

	ph_plugin_config_init(&cfg);
	assert_setup_failure(ph_plugin_spawn(NULL, path, &cfg, &q, &res), -EINVAL, "a host");
	assert_setup_failure(ph_plugin_spawn(host, NULL, &cfg, &q, &res), -EINVAL, "a plugin path");
	assert_setup_failure(ph_plugin_spawn(host, path, &cfg, NULL, &res), -EINVAL, "ret_plugin");
	assert_setup_failure(ph_plugin_spawn(host, "/nonexistent/x.so", &cfg, &q, &res), -ENOENT,
			     "No such file");
	assert_string_equal(ph_setup_step_name(res.setup_step), "load");

	cfg.ring_size = 1000;
	assert_setup_failure(ph_plugin_spawn(host, path, &cfg, &q, &res), -EINVAL,
			     "ring_size 1000 is not a power of two between 4096 and 1073741824");
	assert_setup_failure(ph_pool_new(host, path, &cfg, 2, &pool, &res), -EINVAL,
			     "ring_size 1000");
	cfg.ring_size = 0;
	cfg.reserved[3] = 1;
	assert_setup_failure(ph_plugin_spawn(host, path, &cfg, &q, &res), -EINVAL,
			     "ph_plugin_config.reserved[3] is not zero");
	assert_setup_failure(ph_pool_new(host, path, &cfg, 2, &pool, &res), -EINVAL,
			     "ph_plugin_config.reserved[3]");
	cfg.reserved[3] = 0;
	cfg.limits.reserved[1] = 1;
	assert_setup_failure(ph_plugin_spawn(host, path, &cfg, &q, &res), -EINVAL,
			     "ph_plugin_config.limits.reserved[1] is not zero");
	cfg.limits.reserved[1] = 0;
	assert_null(q);

	assert_setup_failure(ph_plugin_restart(NULL, &res), -EINVAL, "a plugin");
	assert_setup_failure(ph_pool_new(NULL, path, &cfg, 2, &pool, &res), -EINVAL, "a host");
	assert_setup_failure(ph_pool_new(host, NULL, &cfg, 2, &pool, &res), -EINVAL,
			     "a plugin path");
	assert_setup_failure(ph_pool_new(host, path, &cfg, 2, NULL, &res), -EINVAL, "ret_pool");
	assert_setup_failure(ph_pool_new(host, path, &cfg, 0, &pool, &res), -EINVAL,
			     "the size must be 1 to 4096");
	assert_setup_failure(ph_pool_new(host, path, &cfg, 4097, &pool, &res), -EINVAL,
			     "the size must be 1 to 4096");
	assert_setup_failure(ph_pool_new(host, "/nonexistent/x.so", &cfg, 1, &pool, &res), -ENOENT,
			     "No such file");
	assert_null(pool);
	assert_setup_failure(ph_pool_take(NULL, &q, &res), -EINVAL, "a pool");
	assert_int_equal(ph_pool_new(host, path, &cfg, 1, &pool, &res), 0);
	assert_setup_failure(ph_pool_take(pool, NULL, &res), -EINVAL, "ret_plugin");
	ph_pool_free(pool);

	/* The host config has no result: the log callback hears the field. */
	ph_host_config_init(&hcfg);
	hcfg.log_fn = count_log;
	hcfg.log_userdata = &logged;
	hcfg.reserved[7] = 1;
	assert_int_equal(ph_host_new(&hcfg, &h), -EINVAL);
	assert_null(h);
	assert_int_equal(logged, 1);

	/* Limits changed later: the same rule. */
	p = spawn("echo.so");
	lim.reserved[2] = 1;
	assert_int_equal(ph_plugin_set_limits(p, &lim), -EINVAL);
	lim.reserved[2] = 0;
	assert_int_equal(ph_plugin_set_limits(p, &lim), 0);
	ph_plugin_free(p);
	free(path);
	tu_assert_unchanged(&before);
}

/* Issue 11: a max_fds the sandbox cannot start under is named as the
 * setting at fault; a runner that is not plughost's is named as the
 * problem; a runner not found says where it was looked for. */
static void runner_log(void *userdata, const struct ph_plugin *instance, enum ph_level severity,
		       const char *line)
{
	(void)instance;
	if (severity == PH_ERROR)
		snprintf(userdata, 512, "%s", line);
}

static void test_setup_blames_the_setting(void **state)
{
	struct tu_snapshot before = tu_snapshot();
	char *path = tu_plugin_path("echo.so");
	struct ph_plugin_config cfg;
	struct ph_host_config hcfg;
	struct ph_plugin *q = NULL;
	struct ph_host *h = NULL;
	struct ph_result res;
	char logged[512] = "";
	(void)state;

	ph_plugin_config_init(&cfg);
	cfg.limits.max_fds = PH_MAX_FDS_MIN - 1;
	assert_setup_failure(ph_plugin_spawn(host, path, &cfg, &q, &res), -EINVAL,
			     "limits.max_fds 10 is below the sandbox's minimum of 11");
	assert_null(q);
	/* The minimum is real: an instance starts and runs with it. */
	cfg.limits.max_fds = PH_MAX_FDS_MIN;
	q = tu_spawn_ok("echo.so", &cfg);
	ph_plugin_free(q);
	/* Forked from a zygote too. */
	cfg.zygote = 1;
	q = tu_spawn_ok("echo.so", &cfg);
	ph_plugin_free(q);
	ph_host_drop_zygotes(host);
	q = NULL;

	ph_host_config_init(&hcfg);
	hcfg.runner_path = "/bin/true";
	assert_int_equal(ph_host_new(&hcfg, &h), 0);
	assert_string_equal(ph_host_runner_path(h), "/bin/true");
	ph_plugin_config_init(&cfg);
	assert_setup_failure(ph_plugin_spawn(h, path, &cfg, &q, &res), -EPROTO,
			     "the runner '/bin/true' is not plughost's runner: it exited with "
			     "status 0 before saying hello");
	ph_host_free(h);
	h = NULL;

	hcfg.runner_path = "/nonexistent/plughost-runner";
	hcfg.log_fn = runner_log;
	hcfg.log_userdata = logged;
	assert_int_equal(ph_host_new(&hcfg, &h), -ENOENT);
	assert_null(h);
	assert_non_null(strstr(logged, "tried '/nonexistent/plughost-runner' "
				       "(ph_host_config.runner_path: no such file)"));
	assert_null(ph_host_runner_path(NULL));
	free(path);
	tu_assert_unchanged(&before);
}

static void *interrupt_later(void *arg)
{
	usleep(100 * 1000);
	ph_plugin_interrupt(arg);
	return NULL;
}

/* ph_plugin_interrupt(): from another thread during a blocking call,
 * before a call, and in an event loop, the call ends as INTERRUPTED and
 * the instance is dead. */
static void test_interrupt(void **state)
{
	struct tu_snapshot before = tu_snapshot();
	struct ph_blob *endless = blob_of("100000000000000", 15), *in = blob_of("x", 1);
	struct ph_plugin *p;
	struct ph_result res;
	pthread_t t;
	int r;
	(void)state;

	assert_int_equal(ph_plugin_interrupt(NULL), -EINVAL);

	p = spawn("echo.so");
	assert_int_equal(pthread_create(&t, NULL, interrupt_later, p), 0);
	assert_int_equal(ph_plugin_call(p, "flood", &endless, 1, NULL, NULL, &res), 0);
	pthread_join(t, NULL);
	assert_int_equal(res.kind, PH_RESULT_INTERRUPTED);
	assert_string_equal(ph_result_kind_name(res.kind), "interrupted");
	assert_false(ph_plugin_alive(p));
	ph_plugin_free(p);

	/* Before the call: it ends so at once, the plugin never runs it. */
	p = spawn("echo.so");
	assert_int_equal(ph_plugin_interrupt(p), 0);
	assert_true(ph_plugin_alive(p));
	assert_int_equal(ph_plugin_call(p, "echo", &in, 1, NULL, NULL, &res), 0);
	assert_int_equal(res.kind, PH_RESULT_INTERRUPTED);
	assert_int_equal(res.output_bytes, 0);
	assert_false(ph_plugin_alive(p));
	ph_plugin_free(p);

	/* One that no call took: a restart drops it with the old instance. */
	p = spawn("echo.so");
	assert_int_equal(ph_plugin_interrupt(p), 0);
	assert_int_equal(ph_plugin_restart(p, &res), 0);
	assert_int_equal(ph_plugin_call(p, "echo", &in, 1, NULL, NULL, &res), 0);
	assert_int_equal(res.kind, PH_RESULT_OK);
	assert_true(ph_plugin_alive(p));
	ph_plugin_free(p);

	/* An event loop: the instance's fd becomes readable. */
	p = spawn("echo.so");
	assert_int_equal(ph_plugin_submit(p, "flood", &endless, 1, NULL, NULL), 0);
	assert_int_equal(ph_plugin_interrupt(p), 0);
	for (int i = 0; i < 1000; i++) {
		struct pollfd pfd = {.fd = ph_plugin_fd(p), .events = POLLIN};

		assert_true(poll(&pfd, 1, 5000) == 1);
		r = ph_plugin_process(p, &res);
		assert_true(r >= 0);
		if (r == 1)
			break;
	}
	assert_int_equal(r, 1);
	assert_int_equal(res.kind, PH_RESULT_INTERRUPTED);
	assert_false(ph_plugin_alive(p));
	ph_plugin_free(p);
	ph_blob_free(endless);
	ph_blob_free(in);
	tu_assert_unchanged(&before);
}

/*
 * Hole 11: where clone3 is refused with ENOSYS (Docker, Podman, valgrind)
 * spawning must still work. Spawning never uses clone3 now (clone(2) with
 * CLONE_VM|CLONE_VFORK|CLONE_PIDFD, see spawn.c); meson runs this suite
 * once more under tests/confine --refuse-clone3, which exports
 * PH_CONFINE_PROFILE, and there the refusal is proven real first.
 */
static void test_clone3_refused(void **state)
{
	const char *profile = getenv("PH_CONFINE_PROFILE");
	char *path = tu_plugin_path("echo.so");
	struct ph_plugin *p = NULL;
	struct ph_blob *in = blob_of("hi", 2);
	struct ph_result res;
	char line[256];
	void *out;
	size_t len;
	(void)state;

	if (profile && !strcmp(profile, "refuse-clone3"))
		assert_true(syscall(SYS_clone3, NULL, 0) == -1 && errno == ENOSYS);
	if (ph_plugin_spawn(host, path, NULL, &p, &res) < 0) {
		ph_result_describe(&res, line, sizeof(line));
		fail_msg("spawn failed: %s", line);
	}
	assert_int_equal(ph_plugin_call_collect(p, "echo", &in, 1, &out, &len, &res), 0);
	assert_int_equal(res.kind, PH_RESULT_OK);
	assert_int_equal(len, 2);
	free(out);
	/* Restart spawns again the same way. */
	assert_int_equal(ph_plugin_restart(p, &res), 0);
	assert_int_equal(ph_plugin_call_collect(p, "echo", &in, 1, &out, &len, &res), 0);
	assert_int_equal(res.kind, PH_RESULT_OK);
	free(out);
	ph_plugin_free(p);
	ph_blob_free(in);
	free(path);
}

static int copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY | O_CLOEXEC), out;

	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			n = -1;
	close(in);
	close(out);
	return n < 0 ? -1 : 0;
}

/*
 * A plugin, and the runner, in a directory only the host can enter (a
 * build tree under /root, say). For a root host the sandbox runs as
 * nobody outside its namespace, who cannot traverse it: the host must
 * hand over both as open files, never as paths.
 */
static void test_private_directory(void **state)
{
	char dir[] = "/tmp/plughost-private-XXXXXX", plugin[128], runner[128], *src, *rsrc;
	struct ph_host_config hcfg;
	struct ph_host *h;
	struct ph_plugin *p;
	struct ph_result res;
	void *out;
	size_t len;
	Dl_info info;
	(void)state;

	assert_non_null(mkdtemp(dir)); /* mode 0700 */
	snprintf(plugin, sizeof(plugin), "%s/echo.so", dir);
	snprintf(runner, sizeof(runner), "%s/plughost-runner", dir);
	src = tu_plugin_path("echo.so");
	assert_int_equal(copy_file(src, plugin, 0755), 0);
	/* The runner sits beside libplughost.so in the build tree. */
	assert_true(dladdr((void *)ph_host_new, &info) && info.dli_fname);
	assert_true(asprintf(&rsrc, "%.*s/plughost-runner",
			     (int)(strrchr(info.dli_fname, '/') - info.dli_fname),
			     info.dli_fname) > 0);
	assert_int_equal(copy_file(rsrc, runner, 0755), 0);

	ph_host_config_init(&hcfg);
	hcfg.runner_path = runner;
	assert_int_equal(ph_host_new(&hcfg, &h), 0);
	if (ph_plugin_spawn(h, plugin, NULL, &p, &res) < 0) {
		char line[512];
		ph_result_describe(&res, line, sizeof(line));
		fail_msg("spawn from a private directory: %s", line);
	}
	{
		struct ph_blob *b = blob_of("private", 7);

		call_ok(p, "echo", &b, 1, &out, &len);
		assert_string_equal(out, "private");
		free(out);
		ph_blob_free(b);
	}
	ph_plugin_free(p);
	ph_host_free(h);
	unlink(plugin);
	unlink(runner);
	rmdir(dir);
	free(src);
	free(rsrc);
}

static void test_blob_from_file(void **state)
{
	char path[] = "/tmp/plughost-test-XXXXXX";
	int fd = mkstemp(path);
	struct ph_blob *b;
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "file contents\n", 14), 14);
	close(fd);
	assert_int_equal(ph_blob_new_from_file(path, &b), 0);
	assert_int_equal(ph_blob_size(b), 14);
	assert_true(ph_blob_sealed(b));
	ph_blob_free(b);
	unlink(path);
	assert_int_equal(ph_blob_new_from_file("/nonexistent/x", &b), -ENOENT);
	assert_int_equal(ph_blob_new_from_file("/", &b), -EISDIR);
}

/*
 * Hole 4: an endless input stops at the limit with -EFBIG, leaving no fd
 * or mapping behind; a file over it is refused before it is read; an
 * input of exactly the limit passes. The default is half the available
 * memory: something, and less than all of it.
 */
static void test_blob_input_limit(void **state)
{
	struct tu_snapshot before = tu_snapshot();
	char path[] = "/tmp/plughost-test-XXXXXX";
	struct ph_blob *b = NULL;
	char buf[100000] = {0};
	int fd;
	(void)state;

	fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ph_blob_new_from_fd_max(fd, 200000, &b), -EFBIG);
	assert_null(b);
	close(fd);
	assert_int_equal(ph_blob_new_from_file_max("/dev/zero", 4096, &b), -EFBIG);
	assert_null(b);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, sizeof(buf)), sizeof(buf));
	close(fd);
	assert_int_equal(ph_blob_new_from_file_max(path, sizeof(buf) - 1, &b), -EFBIG);
	assert_int_equal(ph_blob_new_from_file_max(path, sizeof(buf), &b), 0);
	assert_int_equal(ph_blob_size(b), sizeof(buf));
	ph_blob_free(b);
	/* Through a pipe, whose size is unknown until its end. */
	{
		int pfd[2];

		assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
		assert_int_equal(write(pfd[1], buf, 5000), 5000);
		close(pfd[1]);
		assert_int_equal(ph_blob_new_from_fd_max(pfd[0], 4999, &b), -EFBIG);
		close(pfd[0]);
		assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
		assert_int_equal(write(pfd[1], buf, 5000), 5000);
		close(pfd[1]);
		assert_int_equal(ph_blob_new_from_fd_max(pfd[0], 5000, &b), 0);
		assert_int_equal(ph_blob_size(b), 5000);
		ph_blob_free(b);
		close(pfd[0]);
	}
	unlink(path);
	assert_true(ph_blob_default_max() > 0);
	tu_assert_unchanged(&before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_upper_empty_and_one_byte),
	    cmocka_unit_test(test_sha256_empty_and_one_byte),
	    cmocka_unit_test(test_cxx_plugin),
	    cmocka_unit_test(test_upper_100mib),
	    cmocka_unit_test(test_output_larger_than_ring),
	    cmocka_unit_test(test_output_callback_abandons),
	    cmocka_unit_test(test_setup_blames_the_setting),
	    cmocka_unit_test(test_interrupt),
	    cmocka_unit_test(test_output_bytes_counts_only_accepted),
	    cmocka_unit_test(test_thousand_calls),
	    cmocka_unit_test(test_many_inputs),
	    cmocka_unit_test(test_inputs_kept_mapped),
	    cmocka_unit_test(test_zygote_instances),
	    cmocka_unit_test(test_crash_mid_call),
	    cmocka_unit_test(test_exit_and_abort),
	    cmocka_unit_test(test_plugin_error),
	    cmocka_unit_test(test_log),
	    cmocka_unit_test(test_bad_plugins),
	    cmocka_unit_test(test_runner_version_mismatch),
	    cmocka_unit_test(test_constructor_crash),
	    cmocka_unit_test(test_api_misuse),
	    cmocka_unit_test(test_spawn_failures_explained),
	    cmocka_unit_test(test_clone3_refused),
	    cmocka_unit_test(test_private_directory),
	    cmocka_unit_test(test_blob_from_file),
	    cmocka_unit_test(test_blob_input_limit),
	};

	return cmocka_run_group_tests(tests, tu_setup_host, tu_teardown_host);
}
