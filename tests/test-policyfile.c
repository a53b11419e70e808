/* SPDX-License-Identifier: MIT */
/*
 * Policy files (host/src/policyfile.c) as hostile input: good files give
 * exactly the rules they say (and compile), every class of error names
 * its file, line and column, includes are bounded (depth, count, cycles)
 * and relative to the including file, and the base is versioned: its
 * table is pinned by a digest, so that no change to what every plugin may
 * do goes unnoticed (sandbox.h, PH__POLICY_BASE_VERSION).
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
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <plughost/host.h>

#include "internal.h" /* ph__policy_sb(): host/src/policy.c, compiled in */
#include "sandbox.h"

static struct ph_policy *parse_ok(const char *text)
{
	struct ph_policy_error err;
	struct ph_policy *p = NULL;
	int r = ph_policy_parse(text, strlen(text), "good.policy", &p, &err);

	if (r != 0)
		fail_msg("parse failed (%d): %s:%u:%u: %s\n--\n%s", r, err.file, err.line,
			 err.column, err.message, text);
	return p;
}

static void test_good_file(void **state)
{
	static const char text[] = "# a comment first\n"
				   "\n"
				   "plughost-policy 1   # the header\n"
				   "base strict@1\n"
				   "allow getppid\n"
				   "\tallow getrusage arg0 == RUSAGE_SELF # inline comment\n"
				   "allow fcntl arg1 == F_GETOWN\r\n"
				   "allow getpriority arg0 == PRIO_PROCESS, arg1 <= 0x10\n"
				   "allow eventfd2 arg1 & EFD_CLOEXEC|EFD_NONBLOCK == EFD_CLOEXEC\n"
				   "allow getrusage arg0 == -1\n"
				   "allow umask arg0 == 0o22\n"
				   "allow sysinfo arg0 == 0\n"
				   "allow prlimit64 arg0 == 0, arg1 == RLIMIT_NOFILE, arg2 == 0\n";
	struct ph_policy_info info;
	struct ph_policy *p = parse_ok(text);
	int fd;
	(void)state;

	assert_int_equal(ph_policy_info(p, &info), 0);
	assert_int_equal(info.preset, PH_POLICY_STRICT);
	assert_int_equal(info.base_version, 1);
	assert_int_equal(info.n_rules, 9);
	assert_int_equal(info.n_files, 1);
	/* What the parser made, the sandbox compiles. */
	fd = ph__policy_compile(ph__policy_sb(p), 0);
	assert_true(fd >= 0);
	close(fd);
	ph_policy_free(p);

	p = parse_ok("plughost-policy 1\nbase threads@1\n");
	assert_int_equal(ph_policy_info(p, &info), 0);
	assert_int_equal(info.preset, PH_POLICY_THREADS);
	assert_int_equal(info.n_rules, 0);
	ph_policy_free(p);
}

/* The text of one rule, compared through the rules the public API makes:
 * a file's rule is exactly ph_policy_allow()'s. */
static void test_rules_are_the_apis(void **state)
{
	struct ph_arg_cond c[1] = {{.arg = 0, .op = PH_ARG_EQ, .value = RUSAGE_SELF}};
	struct ph_policy *api, *file;
	(void)state;

	assert_int_equal(ph_policy_new(PH_POLICY_STRICT, &api), 0);
	assert_int_equal(ph_policy_allow(api, "getrusage", c, 1), 0);
	assert_int_equal(
	    ph_policy_allow(api, "flock",
			    (struct ph_arg_cond[]){
				{.arg = 1, .op = PH_ARG_MASKED_EQ, .mask = 0x3, .value = 0x1}},
			    1),
	    0);
	assert_int_equal(
	    ph_policy_allow(
		api, "getrusage",
		(struct ph_arg_cond[]){{.arg = 0, .op = PH_ARG_EQ, .value = (uint64_t)-1}}, 1),
	    0);
	file =
	    parse_ok("plughost-policy 1\nbase strict@1\nallow getrusage arg0 == 0\n"
		     "allow flock arg1 & 3 == LOCK_SH\nallow getrusage arg0 == RUSAGE_CHILDREN\n");
	/* A policy from the API names the current base, as the file does. */
	assert_true(ph__policy_sb(api)->base_version == ph__policy_sb(file)->base_version);
	assert_int_equal(ph__policy_sb(api)->n_rules, ph__policy_sb(file)->n_rules);
	assert_memory_equal(ph__policy_sb(api)->rules, ph__policy_sb(file)->rules,
			    ph__policy_sb(api)->n_rules * sizeof(*ph__policy_sb(api)->rules));
	ph_policy_free(api);
	ph_policy_free(file);
}

struct bad {
	const char *text;
	unsigned int line, column;
	int err;
	const char *says; /* in the message */
};

#define HDR "plughost-policy 1\nbase strict@1\n"

static const struct bad bad_files[] = {
    /* the header and the base */
    {"", 1, 1, -EBADMSG, "must start with 'plughost-policy 1'"},
    {"# only a comment\n", 1, 1, -EBADMSG, "must start with 'plughost-policy 1'"},
    {"allow getppid\n", 1, 1, -EBADMSG, "must start with 'plughost-policy 1'"},
    {"plughost-policy 2\n", 1, 17, -EBADMSG, "format version 2"},
    {"plughost-policyx 1\n", 1, 1, -EBADMSG, "not a policy file"},
    {"plughost-policy 1\n", 1, 1, -EBADMSG, "no 'base' line"},
    {"plughost-policy 1\nallow getppid\n", 2, 1, -EBADMSG, "before the 'base' line"},
    {"plughost-policy 1\nbase lax@1\n", 2, 6, -EBADMSG, "strict or threads"},
    {"plughost-policy 1\nbase strict\n", 2, 12, -EBADMSG, "expected '@'"},
    {"plughost-policy 1\nbase strict@2\n", 2, 13, -EBADMSG, "newer than this plughost"},
    {"plughost-policy 1\nbase strict@0\n", 2, 13, -EBADMSG, "start at 1"},
    {HDR "base strict@1\n", 3, 1, -EBADMSG, "second 'base'"},
    {HDR "base strict@1 x\n", 3, 1, -EBADMSG, "second 'base'"},
    {"plughost-policy 1\nbase strict@1 extra\n", 2, 15, -EBADMSG, "unexpected 'extra'"},
    /* directives and names */
    {HDR "deny ptrace\n", 3, 1, -EBADMSG, "unknown directive 'deny'"},
    {HDR "allow\n", 3, 6, -EBADMSG, "expected a syscall name"},
    {HDR "allow getppidd\n", 3, 7, -EBADMSG, "unknown syscall 'getppidd'"},
    {HDR "allow socketcall\n", 3, 7, -EBADMSG, "unknown syscall"},
    /* never allowed, with what to do instead */
    {HDR "allow ptrace\n", 3, 7, -EPERM, "'ptrace' is never allowed"},
    {HDR "  allow unshare\n", 3, 9, -EPERM, "'unshare' is never allowed"},
    {HDR "allow openat arg2 == O_RDONLY\n", 3, 7, -EPERM, "--allow-read"},
    {HDR "allow open\n", 3, 7, -EPERM, "--allow-read"},
    {HDR "allow clone\n", 3, 7, -EPERM, "base threads@1"},
    {HDR "allow mprotect\n", 3, 7, -EPERM, "PROT_EXEC"},
    {HDR "allow kill\n", 3, 7, -EPERM, "to itself"},
    /* conditions */
    {HDR "allow getrusage 0 == 1\n", 3, 17, -EBADMSG, "expected an argument arg0..arg5"},
    {HDR "allow getrusage arg6 == 1\n", 3, 17, -EBADMSG, "expected an argument"},
    {HDR "allow getrusage arg2 == 1\n", 3, 17, -EBADMSG, "no arg2"},
    {HDR "allow getppid arg0 == 1\n", 3, 15, -EBADMSG, "takes no arguments"},
    {HDR "allow getrusage arg0 == 1, arg0 == 2\n", 3, 28, -EBADMSG, "arg0 has a condition"},
    {HDR "allow getrusage arg0 = 1\n", 3, 22, -EBADMSG, "expected a comparison"},
    {HDR "allow getrusage arg0 == 1 arg1 == 0\n", 3, 27, -EBADMSG, "expected ','"},
    {HDR "allow getrusage arg0 ==\n", 3, 24, -EBADMSG, "expected a value"},
    {HDR "allow getrusage arg0 == RUSAGE_MINE\n", 3, 25, -EBADMSG, "unknown constant"},
    {HDR "allow getrusage arg0 == 12ab\n", 3, 25, -EBADMSG, "'12ab' is not a number"},
    {HDR "allow getrusage arg0 == 0x\n", 3, 25, -EBADMSG, "is not a number"},
    {HDR "allow getrusage arg0 == 0777\n", 3, 25, -EBADMSG, "leading zero"},
    {HDR "allow getrusage arg0 == 18446744073709551616\n", 3, 25, -EBADMSG,
     "does not fit in 64 bits"},
    {HDR "allow getrusage arg0 == 0x10000000000000000\n", 3, 25, -EBADMSG,
     "does not fit in 64 bits"},
    {HDR "allow getrusage arg0 == -9223372036854775809\n", 3, 25, -EBADMSG,
     "does not fit in 64 bits"},
    {HDR "allow getrusage arg0 == 1 |\n", 3, 28, -EBADMSG, "expected a value"},
    {HDR "allow eventfd2 arg1 & 0 == 0\n", 3, 16, -EBADMSG, "mask of 0"},
    {HDR "allow eventfd2 arg1 & 1 == 2\n", 3, 28, -EBADMSG, "outside the mask"},
    {HDR "allow eventfd2 arg1 & 1 = 1\n", 3, 25, -EBADMSG, "expected '=='"},
    {HDR "allow sysinfo arg0 == 0x1000\n", 3, 15, -EBADMSG, "is a pointer"},
    {HDR "allow stat arg0 != 0\n", 3, 12, -EBADMSG, "--allow-read"},
    {HDR "allow getrusage arg0 != 1\n", 3, 17, -EBADMSG, "32-bit int"},
    {HDR "allow fcntl arg1 > 3\n", 3, 13, -EBADMSG, "32-bit int"},
    {HDR "allow getrusage arg0 == 0x7ffffff1\n", 3, 17, -EBADMSG, "reserved"},
    /* bytes */
    {HDR "allow getppid\x01\n", 3, 14, -EBADMSG, "control character 0x01"},
    {HDR "allow get\xc3\xa9ppid\n", 3, 10, -EBADMSG, "non-ASCII"},
    {HDR "allow getppid \"\n", 3, 15, -EBADMSG, "expected an argument"},
    {HDR "allow getrusage \"\n", 3, 17, -EBADMSG, "expected an argument"},
    /* includes: files only */
    {HDR "include other.policy\n", 3, 1, -EBADMSG, "'include' needs files"},
    {HDR "include\n", 3, 8, -EBADMSG, "needs a file name"},
    {HDR "include \"a b\n", 3, 9, -EBADMSG, "no closing"},
    {HDR "include a b\n", 3, 11, -EBADMSG, "unexpected 'b'"},
};

static void test_errors_have_a_place(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		const struct bad *b = &bad_files[i];
		struct ph_policy_error err;
		struct ph_policy *p = (struct ph_policy *)0x1;
		int r = ph_policy_parse(b->text, strlen(b->text), "bad.policy", &p, &err);

		print_message("  %s:%u:%u: %s\n", err.file, err.line, err.column, err.message);
		if (r != b->err || err.line != b->line || err.column != b->column ||
		    !strstr(err.message, b->says) || strcmp(err.file, "bad.policy") != 0)
			fail_msg(
			    "case %zu: wanted %d at %u:%u saying '%s', got %d at %u:%u: %s\n%s", i,
			    b->err, b->line, b->column, b->says, r, err.line, err.column,
			    err.message, b->text);
		/* Untouched on failure. */
		assert_ptr_equal(p, (struct ph_policy *)0x1);
		assert_null(memchr(err.message, '\n', strlen(err.message)));
	}
}

static void test_bounds(void **state)
{
	struct ph_policy_error err;
	struct ph_policy *p = NULL;
	size_t len;
	char *text;
	(void)state;

	/* A line past 4096 bytes. */
	len = strlen(HDR) + 5000;
	text = malloc(len + 1);
	assert_non_null(text);
	memset(text, ' ', len);
	memcpy(text, HDR, strlen(HDR));
	text[len] = '\0';
	assert_int_equal(ph_policy_parse(text, len, NULL, &p, &err), -E2BIG);
	assert_int_equal(err.line, 3);
	assert_string_equal(err.file, "<policy>");
	assert_non_null(strstr(err.message, "longer than 4096"));
	free(text);

	/* A NUL byte, which a C string would have hidden. */
	assert_int_equal(
	    ph_policy_parse(HDR "allow getppid\0x\n", strlen(HDR) + 17, NULL, &p, &err), -EBADMSG);
	assert_int_equal(err.line, 3);
	assert_int_equal(err.column, 14);
	assert_non_null(strstr(err.message, "NUL"));

	/* More rules than a program holds. */
	{
		const size_t n = PH__SB_MAX_USER_RULES + 1;
		size_t at;

		text = malloc(strlen(HDR) + n * 32);
		assert_non_null(text);
		at = (size_t)sprintf(text, "%s", HDR);
		for (size_t i = 0; i < n; i++)
			at += (size_t)sprintf(text + at, "allow getrusage arg0 == %zu\n", i);
		assert_int_equal(ph_policy_parse(text, at, NULL, &p, &err), -E2BIG);
		assert_int_equal(err.line, 3 + PH__SB_MAX_USER_RULES);
		assert_non_null(strstr(err.message, "more than 256 rules"));
		free(text);
	}

	assert_int_equal(ph_policy_parse(NULL, 1, NULL, &p, &err), -EINVAL);
	assert_int_equal(ph_policy_parse("", 0, NULL, NULL, &err), -EINVAL);
	assert_int_equal(ph_policy_load(NULL, &p, &err), -EINVAL);
}

/* ------------------------------------------------------------- includes */

static char dir[64];

static void put_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int load(const char *name, struct ph_policy **p, struct ph_policy_error *err)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return ph_policy_load(path, p, err);
}

static void test_includes(void **state)
{
	struct ph_policy_error err;
	struct ph_policy_info info;
	struct ph_policy *p = NULL;
	char want[256];
	(void)state;

	snprintf(dir, sizeof(dir), "/tmp/ph-policyfile-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(mkdir(strcat(strcpy(want, dir), "/sub"), 0700), 0);

	/* Relative to the including file, read once each (a diamond). */
	put_file("top.policy", HDR "include sub/a.policy\ninclude \"sub/b.policy\"\n"
				   "allow getppid\n");
	put_file("sub/a.policy", "plughost-policy 1\ninclude c.policy\nallow times\n");
	put_file("sub/b.policy", "plughost-policy 1\ninclude c.policy\nallow sysinfo\n");
	put_file("sub/c.policy", "plughost-policy 1\nallow getrusage arg0 == RUSAGE_SELF\n");
	assert_int_equal(load("top.policy", &p, &err), 0);
	assert_int_equal(ph_policy_info(p, &info), 0);
	assert_int_equal(info.n_rules, 4);
	assert_int_equal(info.n_files, 4);
	ph_policy_free(p);

	/* An error in an include names the include, line and column. */
	put_file("sub/c.policy", "plughost-policy 1\n\nallow ptrace\n");
	assert_int_equal(load("top.policy", &p, &err), -EPERM);
	snprintf(want, sizeof(want), "%s/sub/c.policy", dir);
	assert_string_equal(err.file, want);
	assert_int_equal(err.line, 3);
	assert_int_equal(err.column, 7);

	/* base in an include; an include without a header. */
	put_file("sub/c.policy", "plughost-policy 1\nbase strict@1\n");
	assert_int_equal(load("top.policy", &p, &err), -EBADMSG);
	assert_non_null(strstr(err.message, "top file"));
	put_file("sub/c.policy", "allow getppid\n");
	assert_int_equal(load("top.policy", &p, &err), -EBADMSG);
	assert_non_null(strstr(err.message, "plughost-policy 1"));

	/* A cycle, found at the include that closes it. */
	put_file("sub/c.policy", "plughost-policy 1\ninclude ../top.policy\n");
	assert_int_equal(load("top.policy", &p, &err), -ELOOP);
	assert_int_equal(err.line, 2);
	assert_int_equal(err.column, 9);
	assert_non_null(strstr(err.message, "include cycle"));
	/* Including itself. */
	put_file("self.policy", HDR "include self.policy\n");
	assert_int_equal(load("self.policy", &p, &err), -ELOOP);

	/* Nine deep. */
	for (int i = 0; i < 10; i++) {
		char name[32], text[96];

		snprintf(name, sizeof(name), "d%d.policy", i);
		snprintf(text, sizeof(text), "plughost-policy 1\n%sinclude d%d.policy\n",
			 i == 0 ? "base strict@1\n" : "", i + 1);
		put_file(name, text);
	}
	assert_int_equal(load("d0.policy", &p, &err), -ELOOP);
	assert_non_null(strstr(err.message, "more than 8 deep"));

	/* Missing, a directory, a FIFO (must not hang), too large. */
	put_file("missing.policy", HDR "include nowhere.policy\n");
	assert_int_equal(load("missing.policy", &p, &err), -ENOENT);
	assert_int_equal(err.line, 3);
	assert_non_null(strstr(err.message, "nowhere.policy"));
	put_file("dir.policy", HDR "include sub\n");
	assert_int_equal(load("dir.policy", &p, &err), -EISDIR);
	snprintf(want, sizeof(want), "%s/fifo", dir);
	assert_int_equal(mkfifo(want, 0600), 0);
	put_file("fifo.policy", HDR "include fifo\n");
	assert_int_equal(load("fifo.policy", &p, &err), -EINVAL);
	assert_non_null(strstr(err.message, "not a regular file"));
	assert_int_equal(load("fifo", &p, &err), -EINVAL);
	assert_int_equal(err.line, 0);
	{
		char *big = malloc((1u << 20) + 2);

		assert_non_null(big);
		memset(big, '#', (1u << 20) + 1);
		big[(1u << 20) + 1] = '\0';
		put_file("big.policy", big);
		free(big);
		assert_int_equal(load("big.policy", &p, &err), -EFBIG);
		assert_non_null(strstr(err.message, "1 MiB"));
	}
	assert_int_equal(load("none.policy", &p, &err), -ENOENT);
	assert_int_equal(err.line, 0);

	snprintf(want, sizeof(want), "rm -rf '%s'", dir);
	assert_int_equal(system(want), 0);
}

/* ------------------------------------------------------------- the base */

static void test_base_is_versioned(void **state)
{
	struct ph__sb_policy sb = {.base_version = PH__POLICY_BASE_VERSION + 1};
	(void)state;

	/*
	 * The base as compiled in is the base this version number stands for.
	 * If this fails, base_rules (sandbox/policy.c) changed: if rules were
	 * only added, put the new digest in PH__POLICY_BASE_DIGEST; if any was
	 * removed or narrowed, bump PH__POLICY_BASE_VERSION too and move the
	 * old rows to retired_rules[], so that files written against the old
	 * base keep working (docs/policy.md, "The base").
	 */
	if (ph__policy_base_digest() != PH__POLICY_BASE_DIGEST)
		fail_msg("the base's digest is 0x%llx, sandbox.h pins 0x%llx",
			 (unsigned long long)ph__policy_base_digest(),
			 (unsigned long long)PH__POLICY_BASE_DIGEST);
	assert_int_equal(ph_policy_base_version(), PH__POLICY_BASE_VERSION);
	/* A base this library does not know never compiles. */
	assert_int_equal(ph__policy_compile(&sb, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_file),
	    cmocka_unit_test(test_rules_are_the_apis),
	    cmocka_unit_test(test_errors_have_a_place),
	    cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_includes),
	    cmocka_unit_test(test_base_is_versioned),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
