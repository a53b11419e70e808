/* SPDX-License-Identifier: MIT */
/*
 * The tests' own helpers, where a mistake would make other tests pass for
 * nothing: tu_skip_unless() must skip a test for a missing feature only
 * when $PH_TEST_REQUIRE does not require that feature, and fail it, naming
 * the feature, when it does. The end-to-end cases run a real cmocka group
 * in a child (this executable again) and look at how it ended.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

static int required(const char *env, const char *feature, char *bad, size_t size)
{
	if (env)
		assert_int_equal(setenv("PH_TEST_REQUIRE", env, 1), 0);
	else
		assert_int_equal(unsetenv("PH_TEST_REQUIRE"), 0);
	bad[0] = '\0';
	return tu_feature_required(feature, bad, size);
}

static void test_feature_required(void **state)
{
	char bad[16];

	(void)state;
	assert_int_equal(required(NULL, "userns", bad, sizeof(bad)), 0);
	assert_int_equal(required("", "userns", bad, sizeof(bad)), 0);
	assert_int_equal(required("userns,notify", "userns", bad, sizeof(bad)), 1);
	assert_int_equal(required("userns,notify", "notify", bad, sizeof(bad)), 1);
	assert_int_equal(required("userns,notify", "landlock", bad, sizeof(bad)), 0);
	assert_int_equal(required("all", "hugetlb", bad, sizeof(bad)), 1);
	assert_int_equal(required(",notify,,", "notify", bad, sizeof(bad)), 1);
	assert_string_equal(bad, "");

	/* A prefix or an extension of a name is not that name. */
	assert_int_equal(required("user", "userns", bad, sizeof(bad)), -1);
	assert_string_equal(bad, "user");
	assert_int_equal(required("notify,usernsx", "notify", bad, sizeof(bad)), -1);
	assert_string_equal(bad, "usernsx");
	assert_int_equal(required("alll", "notify", bad, sizeof(bad)), -1);
	assert_string_equal(bad, "alll");
	/* A misspelt entry is refused even after one that matched. */
	assert_int_equal(required("notify,bogus", "notify", bad, sizeof(bad)), -1);
	assert_string_equal(bad, "bogus");
	/* The test's own feature must be a known one too. */
	assert_int_equal(required("all", "ipv6", bad, sizeof(bad)), -1);
	assert_string_equal(bad, "ipv6");
	/* Truncated to the buffer, never past it. */
	assert_int_equal(required("a-very-long-feature-name", "notify", bad, 8), -1);
	assert_string_equal(bad, "a-very-");
	assert_int_equal(unsetenv("PH_TEST_REQUIRE"), 0);
}

/* ---------------------------------------------- the child's own group */

static int child_have;
static const char *child_feature;

static void child_test(void **state)
{
	(void)state;
	tu_skip_unless(child_have, child_feature);
	print_message("child: past the check\n");
}

static int child_main(int have, const char *feature)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(child_test)};

	child_have = have;
	child_feature = feature;
	return cmocka_run_group_tests_name("testutil-child", tests, NULL, NULL);
}

/* Run this executable as a child group with $PH_TEST_REQUIRE set to env
 * (NULL: unset); return its wait status, its output in out. */
static int run_child(const char *env, int have, const char *feature, char *out, size_t size)
{
	char have_s[4];
	size_t len = 0;
	ssize_t n;
	int p[2], st;
	pid_t pid;

	snprintf(have_s, sizeof(have_s), "%d", have);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (env)
			setenv("PH_TEST_REQUIRE", env, 1);
		else
			unsetenv("PH_TEST_REQUIRE");
		unsetenv("CMOCKA_MESSAGE_OUTPUT"); /* plain text, whatever meson set */
		dup2(p[1], 1);
		dup2(p[1], 2);
		execl("/proc/self/exe", "test-testutil", "--child", have_s, feature, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (len + 1 < size && (n = read(p[0], out + len, size - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void expect_child(const char *env, int have, const char *feature, int want_fail,
			 const char *want_text)
{
	char out[8192];
	int st = run_child(env, have, feature, out, sizeof(out));

	if (!WIFEXITED(st) || WEXITSTATUS(st) == 127)
		fail_msg("child did not run: status 0x%x, output: %s", st, out);
	if ((WEXITSTATUS(st) != 0) != want_fail)
		fail_msg("PH_TEST_REQUIRE=%s, %s %s: child exited %d, wanted %s; output:\n%s",
			 env ? env : "(unset)", feature, have ? "present" : "missing",
			 WEXITSTATUS(st), want_fail ? "a failure" : "success", out);
	if (!strstr(out, want_text))
		fail_msg("child output lacks '%s':\n%s", want_text, out);
}

static void test_skip_or_fail(void **state)
{
	(void)state;
	/* Missing and not required: skipped, and it says why. */
	expect_child(NULL, 0, "userns", 0, "skipped: 'userns' is missing on this machine");
	expect_child("notify", 0, "userns", 0, "skipped: 'userns' is missing");
	/* Missing and required: a failure that names the feature. */
	expect_child("userns,notify", 0, "userns", 1,
		     "'userns' is missing on this machine, and PH_TEST_REQUIRE requires it");
	expect_child("all", 0, "landlock", 1, "'landlock' is missing on this machine");
	/* A misspelt requirement fails rather than being ignored. */
	expect_child("usrns", 0, "userns", 1, "'usrns' is not a feature a test can skip for");
	/* Present: the test goes on, required or not. */
	expect_child("all", 1, "userns", 0, "child: past the check");
	expect_child(NULL, 1, "notify", 0, "child: past the check");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_feature_required),
	    cmocka_unit_test(test_skip_or_fail),
	};

	if (argc == 4 && strcmp(argv[1], "--child") == 0)
		return child_main(atoi(argv[2]), argv[3]);
	return cmocka_run_group_tests_name("testutil", tests, NULL, NULL);
}
