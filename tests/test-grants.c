/* SPDX-License-Identifier: MIT */
/*
 * Read-only file grants and the plugin's own libraries, against the real
 * sandbox (tests/plugins/files.c, needs_helper.c, undef.c, pie_exe.c):
 *
 *  - a granted file and a file in a granted directory read back
 *    byte-identical, a granted directory lists;
 *  - every way out is stopped, each attack proving it ran: opening for
 *    writing, creating, truncating (seccomp: a violation naming openat),
 *    reading outside the grants directly, through '..' or through a
 *    symlink in a granted directory (the mount namespace: ENOENT; Landlock
 *    alone would say EACCES), openat2 (ENOSYS);
 *  - without grants, open stays a violation after loading;
 *  - kill mode, restart, pools and zygotes keep the grants (and zygotes
 *    with other grants are other zygotes);
 *  - bad grants are refused with the path named;
 *  - a plugin with a library beside it (RUNPATH $ORIGIN) runs; without
 *    the library, or with a hostile RUNPATH, DT_NEEDED name or symlink,
 *    it is refused with a message naming the library and where plughost
 *    looked;
 *  - load errors name the file as the caller gave it, a PIE renamed .so
 *    gets the -shared hint.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <plughost/host.h>

#include "testhost.h"

static char work[64];	 /* a fresh directory of test files */
static char f_path[128]; /* work/f.bin: granted on its own */
static char d_path[128]; /* work/d: granted as a directory */
static char x_path[128]; /* work/d/sub/x.txt */
static char secret[128]; /* work/secret: never granted */
static uint8_t f_bytes[70000];

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void *read_file(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	char *buf = malloc(1 << 22);
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, 1 << 22, f);
	fclose(f);
	*ret_len = n;
	return buf;
}

static int setup(void **state)
{
	char path[192];
	uint64_t seed = 7;

	if (tu_setup_host(state) < 0)
		return -1;
	snprintf(work, sizeof(work), "/tmp/ph-grants-XXXXXX");
	if (!mkdtemp(work))
		return -1;
	/* Readable by the sandbox's user whoever runs the test. */
	chmod(work, 0755);
	snprintf(f_path, sizeof(f_path), "%s/f.bin", work);
	snprintf(d_path, sizeof(d_path), "%s/d", work);
	snprintf(x_path, sizeof(x_path), "%s/d/sub/x.txt", work);
	snprintf(secret, sizeof(secret), "%s/secret", work);
	for (size_t i = 0; i < sizeof(f_bytes); i++)
		f_bytes[i] = (uint8_t)tu_rng_next(&seed); /* every byte value, NULs too */
	write_file(f_path, f_bytes, sizeof(f_bytes));
	mkdir(d_path, 0755);
	snprintf(path, sizeof(path), "%s/sub", d_path);
	mkdir(path, 0755);
	write_file(x_path, "inside the directory\n", 21);
	write_file(secret, "the secret\n", 11);
	/* A symlink in the granted directory pointing out of it. */
	snprintf(path, sizeof(path), "%s/link", d_path);
	if (symlink(secret, path) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
	if (system(cmd) != 0)
		return -1;
	return tu_teardown_host(state);
}

static struct ph_blob *blob_str(const char *s)
{
	struct ph_blob *b;

	assert_int_equal(ph_blob_new_from_bytes(s, strlen(s), &b), 0);
	return b;
}

/* Call method with string inputs; returns the output (malloc'd). */
static void *call(struct ph_plugin *p, const char *method, const char *a, const char *b,
		  size_t *ret_len, struct ph_result *res)
{
	struct ph_blob *in[2] = {blob_str(a), b ? blob_str(b) : NULL};
	void *out = NULL;

	assert_int_equal(ph_plugin_call_collect(p, method, in, b ? 2 : 1, &out, ret_len, res), 0);
	ph_blob_free(in[0]);
	ph_blob_free(in[1]);
	return out;
}

static struct ph_plugin *spawn_files(const char *const *grants, size_t n, int kill_mode)
{
	struct ph_plugin_config cfg;

	ph_plugin_config_init(&cfg);
	cfg.allow_read = grants;
	cfg.n_allow_read = n;
	cfg.seccomp_kill_mode = kill_mode;
	return tu_spawn_ok("files.so", &cfg);
}

static void expect_cat(struct ph_plugin *p, const char *path, const void *want, size_t want_len)
{
	struct ph_result res;
	size_t len;
	void *out = call(p, "cat", path, NULL, &len, &res);
	char line[512];

	ph_result_describe(&res, line, sizeof(line));
	if (res.kind != PH_RESULT_OK)
		fail_msg("cat %s: %s", path, line);
	assert_int_equal(len, want_len);
	assert_memory_equal(out, want, want_len);
	free(out);
}

static void test_read_granted(void **state)
{
	const char *grants[] = {f_path, d_path};
	struct tu_snapshot before = tu_snapshot();
	struct ph_plugin *p = spawn_files(grants, 2, 0);
	struct ph_result res;
	size_t len;
	void *out;
	int lib = -1;

	(void)state;
	expect_cat(p, f_path, f_bytes, sizeof(f_bytes));
	expect_cat(p, x_path, "inside the directory\n", 21);
	out = call(p, "ls", d_path, NULL, &len, &res);
	assert_int_equal(res.kind, PH_RESULT_OK);
	assert_int_equal(len, 9);
	assert_memory_equal(out, "link\nsub\n", 9);
	free(out);
	/* What was granted, as -v lists it: sorted by path. */
	assert_int_equal(ph_plugin_grant_count(p), 2);
	assert_string_equal(ph_plugin_grant_path(p, 0, &lib), d_path);
	assert_int_equal(lib, 0);
	assert_string_equal(ph_plugin_grant_path(p, 1, NULL), f_path);
	assert_null(ph_plugin_grant_path(p, 2, NULL));
	ph_plugin_free(p);
	tu_assert_unchanged(&before);
}

enum want { VIOLATION, NO_ENTRY, ERRNO };

static void attack(const char *name, const char *path, enum want want, int value)
{
	const char *grants[] = {f_path, d_path};
	struct ph_plugin *p = spawn_files(grants, 2, 0);
	const int notify = !!(ph_plugin_layers(p) & PH_LAYER_NOTIFY);
	struct ph_result res;
	char reached[80], line[512];
	size_t len;
	char *out = call(p, "attack", name, path, &len, &res);

	ph_result_describe(&res, line, sizeof(line));
	print_message("  %-10s %s -> %s\n", name, path, line);
	snprintf(reached, sizeof(reached), "reached %s\n", name);
	if (!out || len != strlen(reached) || memcmp(out, reached, len) != 0)
		fail_msg("%s: the attack did not prove it ran", name);
	switch (want) {
	case VIOLATION:
		if (res.kind != PH_RESULT_VIOLATION)
			fail_msg("%s: wanted a violation, got: %s", name, line);
		if (notify)
			assert_string_equal(res.violation.name, "openat");
		break;
	case NO_ENTRY:
		/* The mount namespace shows nothing there (ENOENT); where only
		 * Landlock confines the plugin, it refuses (EACCES). */
		if (res.kind != PH_RESULT_PLUGIN_ERROR ||
		    (res.code != ENOENT && res.code != EACCES))
			fail_msg("%s: wanted ENOENT or EACCES, got: %s", name, line);
		if (ph_plugin_layers(p) & PH_LAYER_MNTNS)
			assert_int_equal(res.code, ENOENT);
		break;
	case ERRNO:
		if (res.kind != PH_RESULT_PLUGIN_ERROR || res.code != value)
			fail_msg("%s: wanted error %d, got: %s", name, value, line);
		break;
	}
	free(out);
	ph_plugin_free(p);
}

static void test_attacks(void **state)
{
	char path[256];
	struct stat st;

	(void)state;
	attack("open_write", f_path, VIOLATION, 0);
	attack("open_rdwr", x_path, VIOLATION, 0);
	snprintf(path, sizeof(path), "%s/new", d_path);
	attack("create", path, VIOLATION, 0);
	assert_int_equal(stat(path, &st), -1);
	attack("trunc", f_path, VIOLATION, 0);
	/* Outside every grant, directly, through '..' and through a
	 * symlink in a granted directory. */
	attack("open_read", secret, NO_ENTRY, 0);
	snprintf(path, sizeof(path), "%s/sub/../../secret", d_path);
	attack("open_read", path, NO_ENTRY, 0);
	snprintf(path, sizeof(path), "%s/link", d_path);
	attack("open_read", path, NO_ENTRY, 0);
	attack("open_read", "/etc/passwd", NO_ENTRY, 0);
	/* Its flags are behind a pointer: ENOSYS, so libraries fall back. */
	attack("openat2", f_path, ERRNO, ENOSYS);
	/* And the granted file really opens: the attacks above were not
	 * stopped by something that stops everything. */
	attack("open_read", f_path, ERRNO, 1000);
	{
		size_t len;
		void *data = read_file(f_path, &len);

		assert_int_equal(len, sizeof(f_bytes));
		assert_memory_equal(data, f_bytes, len);
		free(data);
	}
}

static void test_no_grants_no_open(void **state)
{
	struct ph_plugin *p = spawn_files(NULL, 0, 0);
	struct ph_result res;
	size_t len;
	void *out = call(p, "cat", f_path, NULL, &len, &res);

	(void)state;
	assert_int_equal(res.kind, PH_RESULT_VIOLATION);
	if (ph_plugin_layers(p) & PH_LAYER_NOTIFY)
		assert_string_equal(res.violation.name, "openat");
	free(out);
	ph_plugin_free(p);
}

static void test_kill_mode(void **state)
{
	const char *grants[] = {f_path};
	struct ph_plugin *p = spawn_files(grants, 1, 1);
	struct ph_result res;
	size_t len;
	char *out;

	(void)state;
	assert_false(ph_plugin_layers(p) & PH_LAYER_NOTIFY);
	expect_cat(p, f_path, f_bytes, sizeof(f_bytes));
	out = call(p, "attack", "open_write", f_path, &len, &res);
	assert_int_equal(res.kind, PH_RESULT_VIOLATION);
	assert_int_equal(len, strlen("reached open_write\n"));
	free(out);
	ph_plugin_free(p);
}

/* The caller's strings may go right after the spawn: restart and pools
 * work from their own copies. */
static void test_copies(void **state)
{
	char *own = strdup(f_path);
	const char *grants[] = {own};
	struct ph_plugin_config cfg;
	struct ph_result res;
	struct ph_plugin *p;
	struct ph_pool *pool;

	(void)state;
	ph_plugin_config_init(&cfg);
	cfg.allow_read = grants;
	cfg.n_allow_read = 1;
	p = tu_spawn_ok("files.so", &cfg);
	{
		char *path = tu_plugin_path("files.so");

		assert_int_equal(ph_pool_new(host, path, &cfg, 1, &pool, &res), 0);
		free(path);
	}
	memset(own, 'x', strlen(own));
	free(own);
	assert_int_equal(ph_plugin_restart(p, &res), 0);
	expect_cat(p, f_path, f_bytes, sizeof(f_bytes));
	ph_plugin_free(p);
	assert_int_equal(ph_pool_take(pool, &p, &res), 0);
	expect_cat(p, f_path, f_bytes, sizeof(f_bytes));
	ph_plugin_free(p);
	ph_pool_free(pool);
}

/* A zygote's mount namespace holds its grants: other grants, another one. */
static void test_zygote_key(void **state)
{
	const char *a[] = {f_path}, *b[] = {d_path};
	struct ph_plugin_config cfg;
	struct ph_plugin *p, *q;
	struct ph_result res;
	size_t len;
	void *out;

	(void)state;
	ph_plugin_config_init(&cfg);
	cfg.zygote = 1;
	cfg.allow_read = a;
	cfg.n_allow_read = 1;
	p = tu_spawn_ok("files.so", &cfg);
	cfg.allow_read = b;
	q = tu_spawn_ok("files.so", &cfg);
	expect_cat(p, f_path, f_bytes, sizeof(f_bytes));
	expect_cat(q, x_path, "inside the directory\n", 21);
	out = call(q, "cat", f_path, NULL, &len, &res);
	assert_int_equal(res.kind, PH_RESULT_PLUGIN_ERROR);
	assert_true(res.code == ENOENT || res.code == EACCES);
	free(out);
	out = call(p, "cat", x_path, NULL, &len, &res);
	assert_int_equal(res.kind, PH_RESULT_PLUGIN_ERROR);
	free(out);
	ph_plugin_free(p);
	ph_plugin_free(q);
}

/* A spawn that must fail with r and a message holding want. */
static void expect_refused(const char *plugin, const struct ph_plugin_config *cfg, int r,
			   const char *want)
{
	struct ph_plugin *p = NULL;
	struct ph_result res;
	int got = ph_plugin_spawn(host, plugin, cfg, &p, &res);

	print_message("  -> %d: %s\n", got, res.message);
	assert_int_equal(got, r);
	assert_null(p);
	assert_int_equal(res.kind, PH_RESULT_SETUP_FAILED);
	if (!strstr(res.message, want))
		fail_msg("message '%s' does not say '%s'", res.message, want);
}

static void test_bad_grants(void **state)
{
	const char *many[PH_ALLOW_READ_MAX + 1], *one[1], *null_one[1] = {NULL};
	char *plugin = tu_plugin_path("files.so"), fifo[160], missing[160];
	struct ph_plugin_config cfg;

	(void)state;
	ph_plugin_config_init(&cfg);
	for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++)
		many[i] = f_path;
	cfg.allow_read = many;
	cfg.n_allow_read = PH_ALLOW_READ_MAX + 1;
	expect_refused(plugin, &cfg, -EINVAL, "at most 32");
	cfg.allow_read = null_one;
	cfg.n_allow_read = 1;
	expect_refused(plugin, &cfg, -EINVAL, "allow_read[0] is NULL");
	cfg.allow_read = one;
	snprintf(missing, sizeof(missing), "%s/missing", work);
	one[0] = missing;
	expect_refused(plugin, &cfg, -ENOENT, missing);
	{
		struct ph_plugin *p = NULL;
		struct ph_result res;

		assert_int_equal(ph_plugin_spawn(host, plugin, &cfg, &p, &res), -ENOENT);
		assert_int_equal(res.code, ENOENT);
	}
	snprintf(fifo, sizeof(fifo), "%s/fifo", work);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	one[0] = fifo;
	expect_refused(plugin, &cfg, -EINVAL, "only a regular file or a directory");
	unlink(fifo);
	one[0] = "/usr/share";
	expect_refused(plugin, &cfg, -EINVAL, "loader");
	one[0] = "/";
	expect_refused(plugin, &cfg, -EINVAL, "root");
	free(plugin);
}

static void copy_file(const char *from, const char *to, const char *find, const char *repl)
{
	size_t len;
	char *data = read_file(from, &len);

	if (find) {
		size_t fl = strlen(find);
		int hits = 0;

		assert_int_equal(fl, strlen(repl));
		for (char *p = data; (p = memmem(p, len - (size_t)(p - data), find, fl)); p += fl) {
			memcpy(p, repl, fl);
			hits++;
		}
		assert_true(hits > 0);
	}
	write_file(to, data, len);
	chmod(to, 0755);
	free(data);
}

static void test_libs(void **state)
{
	char *plugin = tu_plugin_path("needs_helper.so"), *helper = tu_plugin_path("libphhelper.so"),
	     *helper2 = tu_plugin_path("libphhelper2.so");
	char dir[160], lone[192], lib[192], other[192];
	struct ph_plugin_config cfg;
	struct ph_result res;
	struct ph_plugin *p;
	const char *g;
	size_t len;
	void *out;
	int is_lib = 0;

	(void)state;
	ph_plugin_config_init(&cfg);
	/* Libraries are copied into the plugin's own view: without a mount
	 * namespace (tests/confine's docker-default) the spawn says so. */
	p = tu_spawn_ok("files.so", NULL);
	if (!(ph_plugin_layers(p) & PH_LAYER_MNTNS)) {
		ph_plugin_free(p);
		expect_refused(plugin, &cfg, -EOPNOTSUPP, "takes a mount namespace");
		free(plugin);
		free(helper);
		free(helper2);
		return;
	}
	ph_plugin_free(p);
	p = tu_spawn_ok("needs_helper.so", NULL);
	out = call(p, "greet", "", NULL, &len, &res);
	assert_int_equal(res.kind, PH_RESULT_OK);
	assert_int_equal(len, 23);
	assert_memory_equal(out, "hello from libphhelper\n", 23);
	free(out);
	/* The library, and what it needs in turn. */
	assert_int_equal(ph_plugin_grant_count(p), 2);
	g = ph_plugin_grant_path(p, 0, &is_lib);
	assert_int_equal(is_lib, 1);
	assert_non_null(strstr(g, "/libphhelper.so"));
	g = ph_plugin_grant_path(p, 1, &is_lib);
	assert_int_equal(is_lib, 1);
	assert_non_null(strstr(g, "/libphhelper2.so"));
	ph_plugin_free(p);

	/* The plugin alone in a directory of its own. */
	snprintf(dir, sizeof(dir), "%s/lone", work);
	mkdir(dir, 0755);
	snprintf(lone, sizeof(lone), "%s/needs_helper.so", dir);
	snprintf(lib, sizeof(lib), "%s/libphhelper.so", dir);
	copy_file(plugin, lone, NULL, NULL);
	expect_refused(lone, &cfg, -ENOENT, "needs 'libphhelper.so', which is neither in");
	expect_refused(lone, &cfg, -ENOENT, dir);
	expect_refused(lone, &cfg, -ENOENT, "system's library directories");

	/* A "library" that is no ELF file. */
	write_file(lib, "not a library\n", 14);
	expect_refused(lone, &cfg, -ENOEXEC, "not an ELF file");
	/* A symlink leading out of the plugin's directory. */
	unlink(lib);
	snprintf(other, sizeof(other), "%s/libphhelper.so", work);
	copy_file(helper, other, NULL, NULL);
	assert_int_equal(symlink(other, lib), 0);
	expect_refused(lone, &cfg, -EXDEV, "symlink leading out");
	unlink(lib);
	/* With the library beside it, but not what that one needs. */
	copy_file(helper, lib, NULL, NULL);
	expect_refused(lone, &cfg, -ENOENT, "libphhelper.so needs 'libphhelper2.so', which is");
	/* With both: runs. */
	snprintf(other, sizeof(other), "%s/libphhelper2.so", dir);
	copy_file(helper2, other, NULL, NULL);
	p = tu_spawn_ok(lone, NULL);
	out = call(p, "greet", "", NULL, &len, &res);
	assert_int_equal(res.kind, PH_RESULT_OK);
	free(out);
	ph_plugin_free(p);
	/* A search path other than $ORIGIN, and a name with '/' in it. */
	copy_file(plugin, lone, "$ORIGIN/:$ORIGIN", "/opt/aa/:$ORIGIN");
	expect_refused(lone, &cfg, -ENOEXEC, "DT_RUNPATH entry '/opt/aa/'");
	copy_file(plugin, lone, "libphhelper.so", "../phhelper.so");
	expect_refused(lone, &cfg, -ENOEXEC, "'../phhelper.so', a name with '/'");
	unlink(lone);
	unlink(lib);
	unlink(other);
	rmdir(dir);
	free(plugin);
	free(helper);
	free(helper2);
}

static void test_load_errors(void **state)
{
	char *undef = tu_plugin_path("undef.so"), *pie = tu_plugin_path("pie_exe"), as_so[160];
	struct ph_plugin_config cfg;

	(void)state;
	ph_plugin_config_init(&cfg);
	/* The loader's own message, about the file as we named it. */
	expect_refused(undef, &cfg, -EPROTO, undef);
	expect_refused(undef, &cfg, -EPROTO, "undefined symbol: ph_test_symbol_nobody_defines");
	{
		struct ph_plugin *p = NULL;
		struct ph_result res;

		assert_true(ph_plugin_spawn(host, undef, &cfg, &p, &res) < 0);
		assert_null(strstr(res.message, "/plugin/"));
	}
	snprintf(as_so, sizeof(as_so), "%s/program.so", work);
	copy_file(pie, as_so, NULL, NULL);
	expect_refused(as_so, &cfg, -ENOEXEC, "position-independent executable");
	expect_refused(as_so, &cfg, -ENOEXEC, "-shared");
	unlink(as_so);
	free(undef);
	free(pie);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read_granted),
	    cmocka_unit_test(test_attacks),
	    cmocka_unit_test(test_no_grants_no_open),
	    cmocka_unit_test(test_kill_mode),
	    cmocka_unit_test(test_copies),
	    cmocka_unit_test(test_zygote_key),
	    cmocka_unit_test(test_bad_grants),
	    cmocka_unit_test(test_libs),
	    cmocka_unit_test(test_load_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
