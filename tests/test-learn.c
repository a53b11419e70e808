/* SPDX-License-Identifier: MIT */
/*
 * Learning mode against the real kernel, no mocks:
 *  - learning on tests/plugins/learnme.so records what it does beyond the
 *    strict preset (one call in its constructor, the others after
 *    loading), the written file parses, the same run under it passes with
 *    byte-identical output, and under plain strict the run is a
 *    violation: the learning was needed;
 *  - a thread is learned as the threads preset;
 *  - every hostile attack of tests/plugins/hostile.c (their names read
 *    from its source, argv[1], so that a new attack is covered without
 *    editing this file; the input ring's with a stream) reaches its attack
 *    and ends exactly as under strict when run under the learned policy,
 *    and the constructor attacks too (ctor_attack, ctor_crash,
 *    ctor_forge; ctor_hang only sleeps, and costs the 10 s handshake
 *    timeout): learning gave nothing away;
 *  - a hostile plugin cannot use a learning run to escape: what no policy
 *    may allow (ptrace, unshare, mount, bpf, exec, kill, executable
 *    memory) and what learning never grants (sockets, ioctl, prctl) still
 *    kill and are reported, and none of it is learned;
 *  - learning needs the notify layer: without it, a clear setup failure.
 * Under a confine profile that removes notify, the learning tests assert
 * that setup failure instead (there is nothing to learn with).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <plughost/host.h>

#include "testconfine.h"
#include "testhost.h"

static const char *hostile_source;

/* The policy learned from learnme's "extras" (test_learn_extras). */
static struct ph_policy *learned;

static int notify_here(void)
{
	return !tc_removes(PH_LAYER_NOTIFY);
}

/* One call in a fresh instance; output collected. Spawn failures end up
 * in *res too (with *out NULL). */
static void run_once(const char *plugin, const struct ph_plugin_config *cfg, const char *method,
		     struct ph_blob **in, size_t n, char **out, size_t *len, struct ph_result *res)
{
	char *path = tu_plugin_path(plugin);
	struct ph_plugin *p = NULL;
	void *o = NULL;

	*out = NULL;
	*len = 0;
	if (ph_plugin_spawn(host, path, cfg, &p, res) == 0) {
		assert_int_equal(ph_plugin_call_collect(p, method, in, n, &o, len, res), 0);
		*out = o;
	}
	ph_plugin_free(p);
	free(path);
}

static char *learner_text(const struct ph_learner *l)
{
	int n = ph_learner_write(l, "test", NULL, 0);
	char *text;

	assert_true(n > 0);
	text = malloc((size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(ph_learner_write(l, "test", text, (size_t)n + 1), n);
	return text;
}

static int learned_has(const struct ph_learner *l, const char *name)
{
	struct ph_learned e;

	for (size_t i = 0; ph_learner_get(l, i, &e) == 0; i++)
		if (!strcmp(e.name, name))
			return 1;
	return 0;
}

static void test_learn_extras(void **state)
{
	struct ph_plugin_config cfg;
	struct ph_learner *l;
	struct ph_policy_error err;
	struct ph_result res;
	struct ph_learned e;
	char *out1, *out2, *out3, *text, line[512];
	size_t len1, len2, len3, rusage = 0;
	int seen_loading = 0;
	(void)state;

	assert_int_equal(ph_learner_new(&l), 0);
	ph_plugin_config_init(&cfg);
	cfg.learn = l;
	if (!notify_here()) {
		run_once("learnme.so", &cfg, "extras", NULL, 0, &out1, &len1, &res);
		assert_null(out1);
		assert_int_equal(res.kind, PH_RESULT_SETUP_FAILED);
		assert_non_null(strstr(res.message, "notify"));
		ph_learner_free(l);
		return;
	}
	run_once("learnme.so", &cfg, "extras", NULL, 0, &out1, &len1, &res);
	ph_result_describe(&res, line, sizeof(line));
	print_message("  learning run: %s\n%s", line, out1 ? out1 : "");
	assert_int_equal(res.kind, PH_RESULT_OK);
	assert_non_null(out1);
	/* Every call worked while learning (they went on). */
	assert_null(strstr(out1, "failed"));

	/* What was recorded: the constructor's call while loading, two
	 * shapes of getrusage (RUSAGE_SELF and RUSAGE_THREAD), pointers
	 * recorded as such and never as values. */
	for (size_t i = 0; ph_learner_get(l, i, &e) == 0; i++) {
		if (!strcmp(e.name, "sysinfo")) {
			assert_int_equal(e.stages, PH_LEARN_LOADING);
			assert_int_equal(e.kind[0], PH_LEARN_ARG_POINTER);
			assert_true(e.value[0] == 0);
			seen_loading = 1;
		} else {
			assert_int_equal(e.stages, PH_LEARN_RUNNING);
		}
		if (!strcmp(e.name, "getrusage")) {
			assert_int_equal(e.kind[0], PH_LEARN_ARG_VALUE);
			assert_int_equal(e.kind[1], PH_LEARN_ARG_POINTER);
			assert_true(e.value[1] == 0);
			rusage++;
		}
	}
	assert_true(seen_loading);
	assert_int_equal(rusage, 2);
	assert_int_equal(ph_learner_count(l), 8);
	assert_false(ph_learner_threads(l));
	assert_int_equal(ph_learner_get(l, 8, &e), -ENOENT);

	text = learner_text(l);
	print_message("%s", text);
	/* snprintf's contract: cut short, NUL-terminated, full length back. */
	{
		char small[10];

		assert_int_equal(ph_learner_write(l, "test", small, sizeof(small)),
				 (int)strlen(text));
		assert_string_equal(small, "plughost-");
	}
	assert_non_null(strstr(text, "base strict@1\n"));
	assert_non_null(strstr(text, "allow getrusage arg0 == RUSAGE_SELF\n"));
	assert_non_null(strstr(text, "allow fcntl arg1 == F_GETOWN\n"));
	assert_int_equal(ph_policy_parse(text, strlen(text), "learned", &learned, &err), 0);
	free(text);
	ph_learner_free(l);

	/* The same run under the learned policy: the same bytes. */
	ph_plugin_config_init(&cfg);
	cfg.policy = learned;
	run_once("learnme.so", &cfg, "extras", NULL, 0, &out2, &len2, &res);
	ph_result_describe(&res, line, sizeof(line));
	assert_int_equal(res.kind, PH_RESULT_OK);
	assert_int_equal(len2, len1);
	assert_memory_equal(out2, out1, len1);

	/* Under plain strict it is a violation, named as the constructor's
	 * sysinfo: the learning was needed. */
	run_once("learnme.so", NULL, "extras", NULL, 0, &out3, &len3, &res);
	ph_result_describe(&res, line, sizeof(line));
	print_message("  under strict: %s\n", line);
	assert_int_equal(res.kind, PH_RESULT_VIOLATION);
	assert_string_equal(res.violation.name, "sysinfo");
	assert_null(out3);
	free(out1);
	free(out2);
}

static void test_learn_threads(void **state)
{
	struct ph_plugin_config cfg;
	struct ph_policy *policy = NULL;
	struct ph_learner *l;
	struct ph_result res;
	char *out, *out2, *text;
	size_t len, len2;
	(void)state;

	if (!notify_here())
		skip();
	assert_int_equal(ph_learner_new(&l), 0);
	ph_plugin_config_init(&cfg);
	cfg.learn = l;
	run_once("learnme.so", &cfg, "threads", NULL, 0, &out, &len, &res);
	assert_int_equal(res.kind, PH_RESULT_OK);
	assert_string_equal(out, "thread ok\n");
	assert_true(ph_learner_threads(l));
	assert_false(learned_has(l, "clone"));
	text = learner_text(l);
	assert_non_null(strstr(text, "base threads@1\n"));
	assert_int_equal(ph_policy_parse(text, strlen(text), "learned", &policy, NULL), 0);
	cfg.learn = NULL;
	cfg.policy = policy;
	run_once("learnme.so", &cfg, "threads", NULL, 0, &out2, &len2, &res);
	assert_int_equal(res.kind, PH_RESULT_OK);
	assert_string_equal(out2, "thread ok\n");
	ph_policy_free(policy);
	ph_learner_free(l);
	free(text);
	free(out);
	free(out2);
}

/* More argument shapes than learning keeps apart: one line, any
 * arguments, counted in full. */
static void test_learn_many_shapes(void **state)
{
	struct ph_plugin_config cfg;
	struct ph_learner *l;
	struct ph_result res;
	struct ph_learned e;
	char *out, *text;
	size_t len;
	(void)state;

	if (!notify_here())
		skip();
	assert_int_equal(ph_learner_new(&l), 0);
	ph_plugin_config_init(&cfg);
	cfg.learn = l;
	run_once("learnme.so", &cfg, "shapes", NULL, 0, &out, &len, &res);
	assert_int_equal(res.kind, PH_RESULT_OK);
	assert_int_equal(ph_learner_count(l), 2); /* getpriority and sysinfo */
	assert_int_equal(ph_learner_get(l, 0, &e), 0);
	assert_string_equal(e.name, "sysinfo");
	assert_int_equal(ph_learner_get(l, 1, &e), 0);
	assert_string_equal(e.name, "getpriority");
	assert_true(e.any_shape);
	assert_int_equal(e.count, 10);
	text = learner_text(l);
	assert_non_null(strstr(text, "any arguments\nallow getpriority\n"));
	free(text);
	free(out);
	ph_learner_free(l);
}

/* ------------------------------------------------ hostile under learning */

/* Run one attack of hostile.so. Its second input is the host's pid, or
 * for the input ring's attacks (inring_tail_*) a stream: a pipe holding
 * 128 KiB whose write end stays open through the call. */
static void attack(const char *name, const struct ph_plugin_config *cfg, char **out, size_t *len,
		   struct ph_result *res)
{
	struct ph_blob *in[2];
	char pid[16];
	int pipefd[2] = {-1, -1};

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	assert_int_equal(ph_blob_new_from_bytes(name, strlen(name), &in[0]), 0);
	if (!strncmp(name, "inring_tail_", 12)) {
		static char fill[128 * 1024];

		/* All of it in the pipe at once: the attack waits for 64 KiB
		 * fed, and the host still. */
		assert_int_equal(pipe(pipefd), 0);
		assert_true(fcntl(pipefd[1], F_SETPIPE_SZ, 256 * 1024) >= (int)sizeof(fill));
		assert_int_equal(write(pipefd[1], fill, sizeof(fill)), (ssize_t)sizeof(fill));
		assert_int_equal(ph_blob_new_stream(pipefd[0], &in[1]), 0);
		close(pipefd[0]);
	} else {
		assert_int_equal(ph_blob_new_from_bytes(pid, strlen(pid), &in[1]), 0);
	}
	run_once("hostile.so", cfg, "attack", in, 2, out, len, res);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	ph_blob_free(in[0]);
	ph_blob_free(in[1]);
}

/* A learning run cannot be a way out: each of these is killed and named,
 * and not learned; an ordinary call beyond the base is let on. */
static void test_learning_refuses(void **state)
{
	static const struct {
		const char *attack, *syscall;
	} refused[] = {
	    {"ptrace", "ptrace"},
	    {"unshare", "unshare"},
	    {"setns", "setns"},
	    {"mount", "mount"},
	    {"bpf", "bpf"},
	    {"io_uring", "io_uring_setup"},
	    {"exec_shell", "execve"},
	    {"open_passwd", "openat"},
	    {"fork", "clone"},
	    {"clone_newuser", "clone"},
	    {"kill_host", "kill"},
	    {"tgkill_other", "tgkill"},
	    {"prlimit_init", "prlimit64"},
	    {"mmap_exec", "mmap"},
	    {"mprotect_exec", "mprotect"},
	    {"seccomp_loosen", "seccomp"},
	    {"socket_inet", "socket"},
	    {"connect_ctl", "connect"},
	    {"ioctl_tiocsti", "ioctl"},
	    {"prctl_dumpable", "prctl"},
	    {"prctl_seccomp", "prctl"},
	    {"keyctl", "keyctl"},
	};
	struct ph_plugin_config cfg;
	struct ph_learner *l;
	struct ph_result res;
	char *out, reached[80], line[512], *path;
	struct ph_plugin *p = NULL;
	size_t len;
	(void)state;

	if (!notify_here())
		skip();
	assert_int_equal(ph_learner_new(&l), 0);
	ph_plugin_config_init(&cfg);
	cfg.learn = l;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		attack(refused[i].attack, &cfg, &out, &len, &res);
		ph_result_describe(&res, line, sizeof(line));
		print_message("  learning, %-16s -> %s\n", refused[i].attack, line);
		snprintf(reached, sizeof(reached), "reached %s\n", refused[i].attack);
		/* The attack ran, and was stopped by the kernel's account. */
		assert_non_null(out);
		assert_string_equal(out, reached);
		if (res.kind != PH_RESULT_VIOLATION ||
		    strcmp(res.violation.name, refused[i].syscall) != 0)
			fail_msg("%s under learning: wanted a violation of %s, got: %s",
				 refused[i].attack, refused[i].syscall, line);
		free(out);
		assert_false(learned_has(l, refused[i].syscall));
	}
	assert_int_equal(ph_learner_count(l), 0);

	/* getppid is no escape: learning lets it on, and records it. */
	attack("getppid", &cfg, &out, &len, &res);
	assert_int_equal(res.kind, PH_RESULT_PLUGIN_ERROR);
	assert_int_equal(res.code, 1000);
	assert_true(learned_has(l, "getppid"));
	free(out);

	/* A constructor's socket, while loading: the spawn is a violation. */
	path = tu_plugin_path("ctor_attack.so");
	assert_int_equal(ph_plugin_spawn(host, path, &cfg, &p, &res), -EPROTO);
	assert_int_equal(res.kind, PH_RESULT_VIOLATION);
	assert_string_equal(res.violation.name, "socket");
	assert_false(learned_has(l, "socket"));
	free(path);
	ph_learner_free(l);
}

/* Names of every attack in hostile.c: IS("x"), strcmp(name, "x") and
 * the input ring's inring_tail_ + strcmp(how, "x"). */
static size_t attack_names(char names[][32], size_t max)
{
	static const char *const marks[] = {"IS(\"", "strcmp(name, \"", "strcmp(how, \""};
	static const char *const prefix[] = {"", "", "inring_tail_"};
	FILE *f = fopen(hostile_source, "re");
	char buf[1 << 17];
	size_t len, n = 0;

	if (!f)
		fail_msg("cannot read %s (argv[1]: tests/plugins/hostile.c)", hostile_source);
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	for (size_t m = 0; m < 3; m++)
		for (char *s = buf; (s = strstr(s, marks[m])) != NULL && n < max;) {
			char *e;

			s += strlen(marks[m]);
			e = strchr(s, '"');
			if (!e || e == s ||
			    snprintf(names[n], 32, "%s%.*s", prefix[m], (int)(e - s), s) >= 32)
				continue;
			n++;
		}
	return n;
}

static void same_end(const char *what, const struct ph_result *a, const char *out_a,
		     const struct ph_result *b, const char *out_b)
{
	char la[512], lb[512];

	ph_result_describe(a, la, sizeof(la));
	ph_result_describe(b, lb, sizeof(lb));
	print_message("  %-20s strict: %s\n  %-20s learned: %s\n", what, la, "", lb);
	if (a->kind != b->kind)
		fail_msg("%s: under the learned policy '%s', under strict '%s'", what, lb, la);
	if (a->kind == PH_RESULT_VIOLATION && strcmp(a->violation.name, b->violation.name) != 0)
		fail_msg("%s: violation %s under the learned policy, %s under strict", what,
			 b->violation.name, a->violation.name);
	if ((a->kind == PH_RESULT_PLUGIN_ERROR || a->kind == PH_RESULT_EXITED) &&
	    a->code != b->code)
		fail_msg("%s: code %d under the learned policy, %d under strict", what, b->code,
			 a->code);
	if ((out_a == NULL) != (out_b == NULL) || (out_a && strcmp(out_a, out_b) != 0))
		fail_msg("%s: output differs: '%s' under the learned policy, '%s' under strict",
			 what, out_b ? out_b : "(none)", out_a ? out_a : "(none)");
}

static void test_hostile_under_learned(void **state)
{
	static char names[128][32];
	static const char *const ctor_plugins[] = {"ctor_attack.so", "ctor_crash.so",
						   "ctor_forge.so"};
	struct ph_plugin_config strict, learn_cfg;
	struct ph_result a, b;
	char *out_a, *out_b;
	size_t len, n;
	(void)state;

	if (!learned)
		skip(); /* test_learn_extras learned nothing here (no notify) */
	n = attack_names(names, 128);
	assert_true(n >= 40); /* the source was read, not an empty file */
	ph_plugin_config_init(&strict);
	/* Floods and hangs end at a limit, quickly. */
	strict.limits.timeout_ms = 300;
	strict.limits.output_bytes = 1 << 16;
	learn_cfg = strict;
	learn_cfg.policy = learned;
	for (size_t i = 0; i < n; i++) {
		/* The input ring's lies are told after 100 ms of quiet. */
		strict.limits.timeout_ms = learn_cfg.limits.timeout_ms =
		    strncmp(names[i], "inring_tail_", 12) ? 300 : 3000;
		attack(names[i], &strict, &out_a, &len, &a);
		attack(names[i], &learn_cfg, &out_b, &len, &b);
		/* Both runs reached the attack: no vacuous sameness. */
		if (!out_a || !out_b || strncmp(out_a, "reached ", 8) ||
		    strncmp(out_b, "reached ", 8))
			fail_msg("%s did not reach its attack (outputs '%s' and '%s')", names[i],
				 out_a ? out_a : "(none)", out_b ? out_b : "(none)");
		/* A race by design, its kind included: each run ends in a
		 * protocol violation or a plugin error (test-sandbox.c's
		 * test_call_slot_double_fetch says why), whatever the policy. */
		if (!strcmp(names[i], "done_torn")) {
			if ((a.kind != PH_RESULT_PROTOCOL && a.kind != PH_RESULT_PLUGIN_ERROR) ||
			    (b.kind != PH_RESULT_PROTOCOL && b.kind != PH_RESULT_PLUGIN_ERROR))
				fail_msg("done_torn: ended as %s under strict, %s under the "
					 "learned policy",
					 ph_result_kind_name(a.kind), ph_result_kind_name(b.kind));
			free(out_a);
			free(out_b);
			continue;
		}
		/* A race by design: its message varies, its kind does not. */
		if (!strcmp(names[i], "ring_flood") || !strcmp(names[i], "log_flood") ||
		    !strcmp(names[i], "wake_flood")) {
			free(out_a);
			free(out_b);
			out_a = out_b = NULL;
		}
		same_end(names[i], &a, out_a, &b, out_b);
		free(out_a);
		free(out_b);
	}
	/* The constructors' attacks: the spawn ends the same way. */
	for (size_t i = 0; i < sizeof(ctor_plugins) / sizeof(ctor_plugins[0]); i++) {
		run_once(ctor_plugins[i], &strict, "never", NULL, 0, &out_a, &len, &a);
		run_once(ctor_plugins[i], &learn_cfg, "never", NULL, 0, &out_b, &len, &b);
		assert_null(out_a);
		same_end(ctor_plugins[i], &a, out_a, &b, out_b);
	}
}

static void test_learning_needs_notify(void **state)
{
	struct ph_plugin_config cfg;
	struct ph_policy *policy;
	struct ph_learner *l;
	struct ph_plugin *p = NULL;
	struct ph_result res;
	char *path = tu_plugin_path("learnme.so");
	(void)state;

	assert_int_equal(ph_learner_new(&l), 0);
	ph_plugin_config_init(&cfg);
	cfg.learn = l;
	cfg.seccomp_kill_mode = 1;
	assert_int_equal(ph_plugin_spawn(host, path, &cfg, &p, &res), -EOPNOTSUPP);
	assert_null(p);
	assert_int_equal(res.kind, PH_RESULT_SETUP_FAILED);
	assert_non_null(strstr(res.message, "learning needs seccomp user notification"));
	assert_non_null(strstr(res.message, "seccomp_kill_mode"));

	cfg.seccomp_kill_mode = 0;
	cfg.unsandboxed = 1;
	assert_int_equal(ph_plugin_spawn(host, path, &cfg, &p, &res), -EINVAL);
	assert_non_null(strstr(res.message, "learning needs the sandbox"));

	cfg.unsandboxed = 0;
	assert_int_equal(ph_policy_new(PH_POLICY_STRICT, &policy), 0);
	assert_int_equal(ph_policy_allow(policy, "getppid", NULL, 0), 0);
	cfg.policy = policy;
	assert_int_equal(ph_plugin_spawn(host, path, &cfg, &p, &res), -EINVAL);
	assert_non_null(strstr(res.message, "starts from a preset"));
	ph_policy_free(policy);
	ph_learner_free(l);
	free(path);

	assert_int_equal(ph_learner_new(NULL), -EINVAL);
	assert_int_equal(ph_learner_write(NULL, NULL, NULL, 0), -EINVAL);
	assert_int_equal(ph_learner_count(NULL), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_learn_extras),
	    cmocka_unit_test(test_learn_threads),
	    cmocka_unit_test(test_learn_many_shapes),
	    cmocka_unit_test(test_learning_refuses),
	    cmocka_unit_test(test_hostile_under_learned),
	    cmocka_unit_test(test_learning_needs_notify),
	};
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: %s tests/plugins/hostile.c\n", argv[0]);
		return 2;
	}
	hostile_source = argv[1];
	r = cmocka_run_group_tests(tests, tu_setup_host, tu_teardown_host);
	ph_policy_free(learned);
	return r;
}
