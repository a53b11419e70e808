/* SPDX-License-Identifier: MIT */
/*
 * The plugin author's view of what went wrong (issue 11), with real
 * plugins in real sandboxes:
 *  - stdio: printf() and fprintf(stderr) reach the host's log callback as
 *    lines, bounded, and stdio's terminal probe gets ENOTTY, not a kill;
 *  - violation reports: path arguments read from the plugin's memory (and
 *    safely when the pointer is garbage), ioctls by name, and a hint;
 *  - crashes: a backtrace naming the plugin's own functions, and a short
 *    one (never a host crash) when the stack is garbage.
 * With PH_TEST_ZYGOTE set (diag-zygote), every instance is a warm one.
 */
#include <errno.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <plughost/host.h>

#include "testhost.h"

/* ------------------------------------------------------- the log we see */

#define LOG_MAX 4096
static struct {
	enum ph_level level;
	char *line;
} logged[LOG_MAX];
static size_t n_logged, log_bytes;

static void log_fn(void *userdata, const struct ph_plugin *instance, enum ph_level level,
		   const char *line)
{
	(void)userdata;
	(void)instance;
	log_bytes += strlen(line);
	if (n_logged < LOG_MAX) {
		logged[n_logged].level = level;
		logged[n_logged].line = strdup(line);
		n_logged++;
	}
}

static void log_clear(void)
{
	for (size_t i = 0; i < n_logged; i++)
		free(logged[i].line);
	n_logged = log_bytes = 0;
}

/* How many lines equal line at level (level < 0: any). */
static size_t log_count(int level, const char *line)
{
	size_t n = 0;

	for (size_t i = 0; i < n_logged; i++)
		if ((level < 0 || (int)logged[i].level == level) &&
		    strcmp(logged[i].line, line) == 0)
			n++;
	return n;
}

static size_t log_count_prefix(const char *prefix)
{
	size_t n = 0;

	for (size_t i = 0; i < n_logged; i++)
		if (strncmp(logged[i].line, prefix, strlen(prefix)) == 0)
			n++;
	return n;
}

static void log_dump(void)
{
	for (size_t i = 0; i < n_logged; i++)
		print_message("# log[%zu] %d: %s\n", i, (int)logged[i].level, logged[i].line);
}

static int setup(void **state)
{
	struct ph_host_config cfg;

	(void)state;
	ph_host_config_init(&cfg);
	cfg.log_fn = log_fn;
	return ph_host_new(&cfg, &host) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	ph_host_free(host);
	log_clear();
	return 0;
}

/* ------------------------------------------------------------- calling */

struct sink {
	char buf[65536];
	size_t len;
};

static int sink_fn(void *userdata, const void *buf, size_t len)
{
	struct sink *s = userdata;

	if (len > sizeof(s->buf) - 1 - s->len)
		len = sizeof(s->buf) - 1 - s->len;
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
	s->buf[s->len] = '\0';
	return 0;
}

/* Call method with one text input (NULL: none); the output in *out. */
static void call(struct ph_plugin *p, const char *method, const char *input, struct sink *out,
		 struct ph_result *res)
{
	struct ph_blob *b = NULL;
	int r;

	out->len = 0;
	out->buf[0] = '\0';
	if (input)
		assert_int_equal(ph_blob_new_from_bytes(input, strlen(input), &b), 0);
	r = ph_plugin_call(p, method, input ? &b : NULL, input ? 1 : 0, sink_fn, out, res);
	ph_blob_free(b);
	assert_int_equal(r, 0);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --------------------------------------------------------------- stdio */

/* printf() and fprintf(stderr) in a call: the call succeeds, the ring's
 * output is intact, and the host's log has the lines, labelled, at info
 * for stdout and warning for stderr; the constructor's line came too. */
static void test_stdio_lines(void **state)
{
	struct ph_plugin *p;
	struct ph_result res;
	struct sink out;

	(void)state;
	log_clear();
	p = tu_spawn_ok("chatty.so", NULL);
	assert_int_equal(log_count(PH_INFO, "stdout: chatty ctor: loading"), 1);
	call(p, "print", NULL, &out, &res);
	if (res.kind != PH_RESULT_OK || log_count(PH_INFO, "stdout: hello from stdout") != 1)
		log_dump();
	assert_int_equal(res.kind, PH_RESULT_OK);
	assert_string_equal(out.buf, "ring ok\n");
	assert_int_equal(log_count(PH_INFO, "stdout: hello from stdout"), 1);
	assert_int_equal(log_count(PH_WARN, "stderr: hello from stderr"), 1);
	/* A last line without its newline is still logged at the call's end. */
	assert_int_equal(log_count(PH_INFO, "stdout: no newline"), 1);
	assert_int_equal(log_count_prefix("stdout/stderr: dropped"), 0);

	/* And again: the second call's lines are its own. */
	log_clear();
	call(p, "print", NULL, &out, &res);
	assert_int_equal(res.kind, PH_RESULT_OK);
	assert_int_equal(log_count(PH_INFO, "stdout: hello from stdout"), 1);
	ph_plugin_free(p);
}

/*
 * A write to fd 1 past stdio's streams, which alone tell the host at the
 * call's end (runner/stdio.c): logged all the same, at the latest when the
 * instance is freed; and the calls after it are not held up.
 */
static void test_stdio_raw_write(void **state)
{
	struct ph_plugin *p;
	struct ph_result res;
	struct sink out;

	(void)state;
	p = tu_spawn_ok("chatty.so", NULL);
	log_clear();
	for (int i = 0; i < 3; i++) {
		call(p, "raw", NULL, &out, &res);
		assert_int_equal(res.kind, PH_RESULT_OK);
		assert_string_equal(out.buf, "ring ok\n");
	}
	ph_plugin_free(p);
	if (log_count(PH_INFO, "stdout: raw to fd 1") != 3)
		log_dump();
	assert_int_equal(log_count(PH_INFO, "stdout: raw to fd 1"), 3);
}

/* stdio's probe of fd 1 (TCGETS) is answered ENOTTY, as a pipe would. */
static void test_stdio_isatty(void **state)
{
	struct ph_plugin *p = tu_spawn_ok("chatty.so", NULL);
	struct ph_result res;
	struct sink out;

	(void)state;
	call(p, "isatty", NULL, &out, &res);
	assert_int_equal(res.kind, PH_RESULT_OK);
	assert_string_equal(out.buf, "isatty(1)=0 errno=25\n"); /* ENOTTY */
	ph_plugin_free(p);
}

/* 16 MiB to stdout: the call ends promptly, the ring's output is
 * intact, the log holds at most the budget and one note of the rest. */
static void test_stdio_flood_bounded(void **state)
{
	struct ph_plugin *p = tu_spawn_ok("chatty.so", NULL);
	struct ph_result res;
	struct sink out;
	int64_t t0;

	(void)state;
	log_clear();
	t0 = now_ms();
	call(p, "flood", "16", &out, &res);
	assert_int_equal(res.kind, PH_RESULT_OK);
	assert_string_equal(out.buf, "flooded\n");
	assert_true(now_ms() - t0 < 10000);
	if (log_count_prefix("stdout/stderr: dropped") != 1)
		log_dump();
	assert_int_equal(log_count_prefix("stdout/stderr: dropped"), 1);
	/* The budget: 200 lines of at most 512 bytes, 64 KiB in all, plus
	 * the labels and the note. */
	assert_true(n_logged <= 202);
	assert_true(log_bytes <= (64u << 10) + 202 * 64);
	assert_true(log_count_prefix("stdout: xxxx") >= 100);

	/* The next call starts a new budget, and the plugin still works. */
	log_clear();
	call(p, "print", NULL, &out, &res);
	assert_int_equal(res.kind, PH_RESULT_OK);
	assert_int_equal(log_count(PH_INFO, "stdout: hello from stdout"), 1);
	ph_plugin_free(p);
}

/* ----------------------------------------------------- violation reports */

/* Run hostile.so's attack name; it must have reached it ("reached NAME")
 * and been stopped as a violation whose message holds each of want[]. */
static void attack_says(const char *name, const char *const *want, size_t n_want)
{
	struct ph_plugin *p = tu_spawn_ok("hostile.so", NULL);
	struct ph_result res;
	struct sink out;
	char reached[96];

	const int notify = !!(ph_plugin_layers(p) & PH_LAYER_NOTIFY);

	/* The report comes from the seccomp notification. */
	if (!notify)
		ph_plugin_free(p);
	tu_skip_unless(notify, "notify");
	call(p, "attack", name, &out, &res);
	snprintf(reached, sizeof(reached), "reached %s\n", name);
	assert_string_equal(out.buf, reached);
	assert_int_equal(res.kind, PH_RESULT_VIOLATION);
	for (size_t i = 0; i < n_want; i++)
		if (!strstr(res.message, want[i]))
			fail_msg("%s: message lacks '%s': %s", name, want[i], res.message);
	ph_plugin_free(p);
}
#define ATTACK_SAYS(name, ...)                                                                     \
	do {                                                                                       \
		static const char *const w_[] = {__VA_ARGS__};                                     \
		attack_says(name, w_, sizeof(w_) / sizeof(w_[0]));                                 \
	} while (0)

/* A path is read from the plugin's memory and shown as a string, labelled
 * as read at the time of the call, with the hint that would allow it. */
static void test_violation_path(void **state)
{
	(void)state;
	ATTACK_SAYS("open_passwd", "openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC",
		    "(as read at the time of the call)",
		    "; hint: files are granted with --allow-read PATH");
	/* Quotes, backslash, newline and a terminal escape, escaped. */
	ATTACK_SAYS("open_path_escape",
		    "openat(AT_FDCWD, \"/tmp/\\\"q\\\"\\\\\\n\\x1b[31m\", O_RDONLY");
}

/* Garbage pointers: an unmapped one is <unreadable>, one with no NUL
 * before the mapping ends or within the cap is cut and marked; the host
 * neither faults nor reads past its cap, and the report stays one line
 * that fits with its hint. */
static void test_violation_garbage_pointers(void **state)
{
	(void)state;
	ATTACK_SAYS("open_path_unmapped", " <unreadable>, O_RDONLY",
		    "; hint: files are granted with --allow-read PATH");
	ATTACK_SAYS("open_path_unterminated",
		    "openat(AT_FDCWD, "
		    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"..., O_RDONLY",
		    "; hint: files are granted with --allow-read PATH");
	ATTACK_SAYS("open_path_long", "openat(AT_FDCWD, \"AAAAAAAAAAAAAAAA", "\"..., O_RDONLY",
		    "; hint: files are granted with --allow-read PATH");
}

/* ioctls by name (with the high bits of the CVE-2019-10063 trick shown),
 * clone flags decoded, and the hints that go with them. */
static void test_violation_decoded(void **state)
{
	(void)state;
	ATTACK_SAYS("ioctl_tiocsti", "ioctl(0, TIOCSTI|0x100000000, ",
		    "; hint: no ioctl is allowed");
	ATTACK_SAYS("thread", "clone(CLONE_VM|", "CLONE_THREAD",
		    "; hint: threads need --threads (PH_POLICY_THREADS)");
	ATTACK_SAYS("socket_inet",
		    "socket(AF_INET, SOCK_STREAM, 0); hint: the sandbox has no network");
	ATTACK_SAYS("exec_shell", "execve(\"/bin/sh\", ", "; hint: a plugin cannot run programs");
}

/* ------------------------------------------------------------ crashes */

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Spawn name; skip unless it has an init to capture a crash (a pid
 * namespace, which an unprivileged host makes in its user namespace). */
static struct ph_plugin *spawn_traced(const char *name)
{
	struct ph_plugin *p = tu_spawn_ok(name, NULL);
	const int pidns = !!(ph_plugin_layers(p) & PH_LAYER_PIDNS);

	if (!pidns)
		ph_plugin_free(p);
	tu_skip_unless(pidns, "userns");
	return p;
}

/* Call crasher.so's method on p: it must crash of SIGSEGV mid-call. */
static const char *crash(struct ph_plugin *p, const char *method)
{
	struct ph_result res;
	struct sink out;

	call(p, method, NULL, &out, &res);
	assert_string_equal(out.buf, "crashing\n");
	assert_int_equal(res.kind, PH_RESULT_CRASHED);
	assert_int_equal(res.crash.signo, SIGSEGV);
	return ph_plugin_backtrace(p);
}

/* A crash two calls down: #0 names the faulting function from the
 * plugin's own symbols, with its offset in the file, and its callers
 * follow (the leaf's return address at rsp, then the frame chain). */
static void test_backtrace_named(void **state)
{
	struct ph_plugin *p = spawn_traced("crasher.so");
	struct ph_result res;
	const char *bt;

	(void)state;
	assert_null(ph_plugin_backtrace(p)); /* no crash yet */
	bt = crash(p, "deep");
	assert_non_null(bt);
	print_message("%s", bt);
	if (!strstr(bt, "\n#0  0x") || !strstr(bt, "  crash_here+0x") ||
	    !strstr(bt, " (crasher.so+0x") || !strstr(bt, "  crash_outer+0x") ||
	    !strstr(bt, "  do_deep+0x"))
		fail_msg("backtrace lacks the plugin's frames:\n%s", bt);
	/* In call order: the faulting function first. */
	assert_true(strstr(bt, "crash_here+") < strstr(bt, "crash_outer+"));
	assert_true(strstr(bt, "crash_outer+") < strstr(bt, "do_deep+"));
	assert_true(count_lines(bt) <= 16 + 3);
	/* It stays until the restart, which forgets it. */
	assert_ptr_equal(ph_plugin_backtrace(p), bt);
	assert_int_equal(ph_plugin_restart(p, &res), 0);
	assert_null(ph_plugin_backtrace(p));
	ph_plugin_free(p);
	assert_null(ph_plugin_backtrace(NULL));
}

/* rsp and rbp set to garbage before the fault: nothing of the stack can
 * be read, and the host says so in a short backtrace (and lives). */
static void test_backtrace_garbage_stack(void **state)
{
	struct ph_plugin *p = spawn_traced("crasher.so");
	const char *bt;

	(void)state;
	bt = crash(p, "wild");
	assert_non_null(bt);
	print_message("%s", bt);
	if (!strstr(bt, "#0  0x") || !strstr(bt, "do_wild+0x") ||
	    !strstr(bt, "(the stack at rsp 0x10 could not be read)") || strstr(bt, "#1 "))
		fail_msg("unexpected backtrace:\n%s", bt);
	ph_plugin_free(p);
}

/* A fault in a second thread: the backtrace is that thread's. */
static void test_backtrace_of_a_thread(void **state)
{
	struct ph_plugin_config cfg;
	struct ph_policy *policy;
	struct ph_plugin *p;
	const char *bt;

	(void)state;
	assert_int_equal(ph_policy_new(PH_POLICY_THREADS, &policy), 0);
	ph_plugin_config_init(&cfg);
	cfg.policy = policy;
	p = tu_spawn_ok("crasher.so", &cfg);
	ph_policy_free(policy);
	if (!(ph_plugin_layers(p) & PH_LAYER_PIDNS)) {
		ph_plugin_free(p);
		tu_skip_unless(0, "userns");
	}
	bt = crash(p, "thread");
	assert_non_null(bt);
	print_message("%s", bt);
	/* Not the main thread (pid 2 in the plugin's namespace), and its
	 * own frames: crash_here called from crash_outer. */
	if (strstr(bt, "backtrace of thread 2 ") || !strstr(bt, "  crash_here+0x") ||
	    !strstr(bt, "  crash_outer+0x") || strstr(bt, "do_deep"))
		fail_msg("unexpected backtrace:\n%s", bt);
	ph_plugin_free(p);
}

/* Deaths that are no fault leave no backtrace. */
static void test_backtrace_only_for_faults(void **state)
{
	struct ph_plugin *p = tu_spawn_ok("echo.so", NULL);
	struct ph_result res;
	struct sink out;

	(void)state;
	call(p, "abort", NULL, &out, &res);
	assert_int_equal(res.kind, PH_RESULT_CRASHED);
	assert_int_equal(res.crash.signo, SIGABRT);
	assert_null(ph_plugin_backtrace(p));
	assert_int_equal(ph_plugin_restart(p, &res), 0);
	call(p, "exit", NULL, &out, &res);
	assert_int_equal(res.kind, PH_RESULT_EXITED);
	assert_null(ph_plugin_backtrace(p));
	ph_plugin_free(p);
}

/* The symbols come from the file the user named, read at the crash:
 * replaced meanwhile by garbage (ELF magic, then noise) or cut short,
 * the reader names nothing and the host neither crashes nor hangs. */
static void test_backtrace_hostile_elf(void **state)
{
	char dir[] = "/tmp/ph-diag-XXXXXX", path[64], cmd[256];
	char *src = tu_plugin_path("crasher.so");

	(void)state;
	ph_plugin_free(spawn_traced("crasher.so"));
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/crasher.so", dir);
	for (int round = 0; round < 6; round++) {
		struct ph_plugin *p = NULL;
		struct ph_result res;
		const char *bt;
		uint64_t seed = 0x5EED + (uint64_t)round;
		FILE *f;

		snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, path);
		assert_int_equal(system(cmd), 0);
		assert_int_equal(ph_plugin_spawn(host, path, NULL, &p, &res), 0);
		if (round == 0) {
			assert_int_equal(truncate(path, 100), 0);
		} else if (round >= 3) {
			/* The header's tables pointed past the end, or made
			 * to wrap around: e_shoff (40), e_phoff (32), e_shnum
			 * (60). */
			static const struct {
				long off;
				uint64_t value;
				int size;
			} lies[] = {
			    {40, UINT64_MAX - 8, 8}, {32, UINT64_MAX - 55, 8}, {60, 0xffff, 2}};
			const uint64_t v = lies[round - 3].value;

			f = fopen(path, "r+b");
			assert_non_null(f);
			fseek(f, lies[round - 3].off, SEEK_SET);
			assert_int_equal(fwrite(&v, (size_t)lies[round - 3].size, 1, f), 1);
			fclose(f);
		} else {
			/* Keep the ELF header's first 16 bytes; noise after. */
			long len;

			f = fopen(path, "r+b");
			assert_non_null(f);
			fseek(f, 0, SEEK_END);
			len = ftell(f);
			fseek(f, 16, SEEK_SET);
			for (long i = 16; i < len; i++)
				fputc((int)(tu_rng_next(&seed) & (round == 1 ? 0xff : 0x01)), f);
			fclose(f);
		}
		bt = crash(p, "deep");
		assert_non_null(bt);
		if (!strstr(bt, "#0  0x") || !strstr(bt, "?? (crasher.so+0x") ||
		    strstr(bt, "crash_here"))
			fail_msg("round %d: unexpected backtrace:\n%s", round, bt);
		ph_plugin_free(p);
	}
	unlink(path);
	rmdir(dir);
	free(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stdio_lines),
	    cmocka_unit_test(test_stdio_raw_write),
	    cmocka_unit_test(test_stdio_isatty),
	    cmocka_unit_test(test_stdio_flood_bounded),
	    cmocka_unit_test(test_violation_path),
	    cmocka_unit_test(test_violation_garbage_pointers),
	    cmocka_unit_test(test_violation_decoded),
	    cmocka_unit_test(test_backtrace_named),
	    cmocka_unit_test(test_backtrace_garbage_stack),
	    cmocka_unit_test(test_backtrace_of_a_thread),
	    cmocka_unit_test(test_backtrace_only_for_faults),
	    cmocka_unit_test(test_backtrace_hostile_elf),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
